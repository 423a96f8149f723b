/* kube_json.h — the small builders every Kubernetes object of the launcher is made
 * with (kube_objects.c: a kernel's objects; kube_rbac.c: a namespace's RBAC and
 * NetworkPolicies): set a member, append an item, wrap items in a v1 List.
 *
 * Each remembers a failure in *BAD instead of returning it (every failure here is
 * out of memory, and a NULL value, which a failed json_object() or json_string()
 * gives, counts as one): a builder checks once at the end, which keeps it readable.
 * The value is consumed (its reference taken) in every case. */
#ifndef SPARK_K8S_KUBE_JSON_H
#define SPARK_K8S_KUBE_JSON_H

#include <jansson.h>

/* json_object_set_new(OBJ, KEY, VALUE), a failure noted in *BAD. */
static inline void put(json_t *obj, const char *key, json_t *value, int *bad)
{
    if (!value || !obj || json_object_set_new(obj, key, value) < 0)
        *bad = 1;
}

/* json_array_append_new(ARRAY, VALUE), a failure noted in *BAD. */
static inline void push(json_t *array, json_t *value, int *bad)
{
    if (!value || !array || json_array_append_new(array, value) < 0)
        *bad = 1;
}

/* {"apiVersion": "v1", "kind": "List", "metadata": {}, "items": ITEMS}: what
 * `kubectl apply -f -` takes; ITEMS is consumed. */
static inline json_t *kube_json_list(json_t *items, int *bad)
{
    json_t *list = json_object();
    put(list, "apiVersion", json_string("v1"), bad);
    put(list, "kind", json_string("List"), bad);
    put(list, "metadata", json_object(), bad);
    put(list, "items", items, bad);
    if (!list)
        *bad = 1;
    return list;
}

#endif
