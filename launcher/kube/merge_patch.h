/* merge_patch.h — RFC 7386 JSON merge patch.
 *
 * Objects merge member by member, a null member removes the target's member,
 * and anything else (arrays included) replaces the target outright. */
#ifndef SPARK_K8S_MERGE_PATCH_H
#define SPARK_K8S_MERGE_PATCH_H

#include <jansson.h>

/* Apply PATCH to *TARGET. *TARGET is owned by the caller before and after the
 * call and may be replaced (it may also be NULL, meaning "no value").
 * PATCH is only read; the result shares no values with it.
 * Returns 0, or -1 when out of memory (then *TARGET is unchanged or partly merged
 * but still valid and owned by the caller). */
int merge_patch_apply(json_t **target, const json_t *patch);

#endif
