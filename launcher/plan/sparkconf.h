/* sparkconf.h — Spark properties with their provenance: an ordered list of
 * key/value pairs, each with the place it came from ("kernelspec ...",
 * "env SPARK_K8S_...", ...), the checks that keep spark-defaults.conf
 * well-formed, and writing that file. A leaf module (render.h turns a launch
 * plan into such a list).
 *
 * A struct sparkconf owns all its strings; sparkconf_free releases it. */
#ifndef SPARK_K8S_SPARKCONF_H
#define SPARK_K8S_SPARKCONF_H

#include <stddef.h>
#include <stdio.h>

#include "launcher/sys/errmsg.h"

struct sparkconf;

struct sparkconf *sparkconf_new(void); /* NULL when out of memory */
void sparkconf_free(struct sparkconf *conf);

/* A key must start with "spark." and use only letters, digits and ". _ - [ ]";
 * a value must be free of control characters (newlines above all). ORIGIN names
 * where the text came from in the message. 0 if acceptable, else -1. */
int sparkconf_check_key(const char *key, const char *origin, struct error *err);
int sparkconf_check_value(const char *key, const char *value, const char *origin, struct error *err);
/* 1 if KEY belongs to the runtime (spark.master, driver host and ports, ...) or to
 * the admin's limits (spark.k8s.notebook.limits.*, the settings limits.*): extra
 * properties may not set it. */
int sparkconf_reserved(const char *key);

/* Set KEY to VALUE (both checked); an existing key keeps its place and takes the
 * new value and SOURCE. */
int sparkconf_set(struct sparkconf *conf, const char *key, const char *value,
                  const char *source, struct error *err);

const char *sparkconf_get(const struct sparkconf *conf, const char *key); /* NULL if unset */
size_t sparkconf_count(const struct sparkconf *conf);
const char *sparkconf_key(const struct sparkconf *conf, size_t i);
const char *sparkconf_value(const struct sparkconf *conf, size_t i);
const char *sparkconf_source(const struct sparkconf *conf, size_t i);

/* The properties in spark-defaults.conf syntax (java.util.Properties, which
 * Spark reads): "key value" lines, backslashes and a leading '=' or ':' escaped.
 * HEADER (may be NULL) becomes a leading comment line. WITH_SOURCES puts a
 * "# from: SOURCE" comment above each property. */
int sparkconf_print(const struct sparkconf *conf, FILE *out, const char *header,
                    int with_sources);

/* Write DIR/spark-defaults.conf, mode 0600, through a temporary file renamed into place. */
int sparkconf_write(const struct sparkconf *conf, const char *dir, const char *header,
                    struct error *err);

#endif
