/* yaml_json.h — reads one YAML (or JSON) document into a jansson value.
 *
 * Used for kubeconfig files and admin pod templates. Plain scalars are typed the
 * way YAML 1.2's core schema types them (null, true/false, integers, floats);
 * quoted scalars and scalars tagged !!str stay strings. Mapping keys are always
 * strings. Anchors and aliases, complex keys and multi-document streams are
 * refused with an error naming the file and line: none of the files we read
 * needs them, and refusing is safer than guessing. */
#ifndef SPARK_K8S_YAML_JSON_H
#define SPARK_K8S_YAML_JSON_H

#include <jansson.h>
#include <stddef.h>

#include "launcher/sys/errmsg.h"

/* Parse BUF (LEN bytes) as one YAML document. NAME is used in messages only.
 * An empty document yields JSON null. On success *out is a new reference. */
int yaml_json_parse(const char *buf, size_t len, const char *name, json_t **out,
                    struct error *err);

/* Read and parse the file at PATH (at most 4 MiB). */
int yaml_json_load_file(const char *path, json_t **out, struct error *err);

#endif
