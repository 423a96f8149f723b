/* merge_patch.c — RFC 7386 JSON merge patch over jansson values (see merge_patch.h). */
#include "launcher/kube/merge_patch.h"

/* A copy of PATCH with null object members removed, as merging it into
 * nothing would produce. */
static json_t *patch_value(const json_t *patch)
{
    if (!json_is_object(patch))
        return json_deep_copy(patch);
    json_t *result = NULL;
    if (merge_patch_apply(&result, patch) < 0) {
        json_decref(result);
        return NULL;
    }
    return result;
}

int merge_patch_apply(json_t **target, const json_t *patch)
{
    if (!json_is_object(patch)) {
        json_t *copy = json_deep_copy(patch);
        if (!copy)
            return -1;
        json_decref(*target);
        *target = copy;
        return 0;
    }
    if (!json_is_object(*target)) {
        json_t *fresh = json_object();
        if (!fresh)
            return -1;
        json_decref(*target);
        *target = fresh;
    }
    const char *name;
    json_t *value;
    /* jansson's iteration is not const-correct; the patch is not modified. */
    json_object_foreach((json_t *)patch, name, value) {
        if (json_is_null(value)) {
            json_object_del(*target, name);
            continue;
        }
        json_t *member = json_object_get(*target, name);
        if (member && json_is_object(value)) {
            json_incref(member);
            if (merge_patch_apply(&member, value) < 0) {
                json_decref(member);
                return -1;
            }
            if (json_object_set_new(*target, name, member) < 0)
                return -1;
            continue;
        }
        json_t *copy = patch_value(value);
        if (!copy || json_object_set_new(*target, name, copy) < 0)
            return -1;
    }
    return 0;
}
