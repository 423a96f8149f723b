"""fakekube.patch: the three PATCH bodies the API server takes, applied to a copy of an object.

- application/merge-patch+json (RFC 7386): objects merge, null removes, lists are replaced.
- application/strategic-merge-patch+json: as merge patch, except that the lists the core types
  mark with a patch merge key are merged item by item on that key (containers, volumes, env,
  volumeMounts, ports, ownerReferences, ...), and {"$patch": "delete"} in such an item removes it.
  Other directives ($retainKeys, $setElementOrder, $deleteFromPrimitiveList) are not served.
- application/json-patch+json (RFC 6902): add, remove, replace, move, copy, test.
- application/apply-patch+yaml (server-side apply) is refused with 415, as an API server
  without it would.

No I/O; PatchError carries the status code and message the API server would answer."""

import copy

MERGE_KEYS = {"containers": "name", "initContainers": "name", "ephemeralContainers": "name",
              "volumes": "name", "env": "name", "volumeMounts": "mountPath", "ports": "containerPort",
              "ownerReferences": "uid", "imagePullSecrets": "name", "hostAliases": "ip",
              "conditions": "type", "containerStatuses": "name"}

MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
APPLY = "application/apply-patch+yaml"


class PatchError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code, self.message = code, message


def apply(obj, content_type, patch):
    """The patched copy of OBJ."""
    ctype = (content_type or "").split(";")[0].strip()
    if ctype == JSON_PATCH:
        if not isinstance(patch, list):
            raise PatchError(400, "json: cannot unmarshal object into Go value of type jsonpatch.Patch")
        return _json_patch(copy.deepcopy(obj), patch)
    if ctype in (MERGE, STRATEGIC):
        if not isinstance(patch, dict):
            raise PatchError(400, "json: cannot unmarshal %s into Go value of type map[string]interface {}"
                             % type(patch).__name__)
        return _merge(copy.deepcopy(obj), patch, ctype == STRATEGIC)
    raise PatchError(415, "the body of the request was in an unknown format - accepted media types include: "
                     "application/json-patch+json, application/merge-patch+json, "
                     "application/strategic-merge-patch+json")


def _merge(target, patch, strategic, key=None):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if not isinstance(target, dict):
        target = {}
    for k, v in patch.items():
        if v is None:
            target.pop(k, None)
        elif strategic and k in MERGE_KEYS and isinstance(v, list) and isinstance(target.get(k), list):
            target[k] = _merge_list(target[k], v, MERGE_KEYS[k])
        elif isinstance(v, dict):
            target[k] = _merge(target.get(k), v, strategic, k)
        else:
            target[k] = copy.deepcopy(v)
    return target


def _merge_list(current, patch, mkey):
    out = copy.deepcopy(current)
    for item in patch:
        if not isinstance(item, dict) or mkey not in item:
            raise PatchError(400, "map: %s does not contain declared merge key: %s" % (item, mkey))
        pos = next((i for i, x in enumerate(out) if isinstance(x, dict) and x.get(mkey) == item[mkey]), None)
        if item.get("$patch") == "delete":
            if pos is not None:
                del out[pos]
        elif pos is None:
            out.append(copy.deepcopy(item))
        else:
            out[pos] = _merge(out[pos], item, True)
    return out


def _pointer(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(422, "the server rejected our request due to an error in our request: "
                         "JSON pointer must be empty or start with a \"/\"")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _walk(doc, parts):
    cur = doc
    for p in parts:
        if isinstance(cur, list):
            try:
                cur = cur[int(p)]
            except (ValueError, IndexError):
                return None, False
        elif isinstance(cur, dict) and p in cur:
            cur = cur[p]
        else:
            return None, False
    return cur, True


def _json_patch(doc, ops):
    for op in ops:
        name = op.get("op")
        parts = _pointer(op.get("path", ""))
        if name == "test":
            val, found = _walk(doc, parts)
            if not found or val != op.get("value"):
                raise PatchError(422, "the server rejected our request due to an error in our request: "
                                 "testing value %s failed" % op.get("path"))
            continue
        if name in ("move", "copy"):
            val, found = _walk(doc, _pointer(op.get("from", "")))
            if not found:
                raise PatchError(422, "the server rejected our request due to an error in our request: "
                                 "%s operation does not apply: doc is missing from path: %s" % (name, op.get("from")))
            if name == "move":
                doc = _remove(doc, _pointer(op["from"]))
            doc = _add(doc, parts, copy.deepcopy(val))
        elif name == "add":
            doc = _add(doc, parts, copy.deepcopy(op.get("value")))
        elif name == "remove":
            doc = _remove(doc, parts)
        elif name == "replace":
            doc = _remove(doc, parts)
            doc = _add(doc, parts, copy.deepcopy(op.get("value")))
        else:
            raise PatchError(422, "the server rejected our request due to an error in our request: "
                             "Unexpected kind: %s" % name)
    return doc


def _missing(parts):
    return PatchError(422, "the server rejected our request due to an error in our request: "
                      "doc is missing path: \"/%s\": missing value" % "/".join(parts))


def _add(doc, parts, value):
    if not parts:
        return value
    parent, found = _walk(doc, parts[:-1])
    if not found:
        raise _missing(parts)
    last = parts[-1]
    if isinstance(parent, list):
        if last == "-":
            parent.append(value)
        else:
            try:
                parent.insert(int(last), value)
            except ValueError:
                raise _missing(parts)
    elif isinstance(parent, dict):
        parent[last] = value
    else:
        raise _missing(parts)
    return doc


def _remove(doc, parts):
    parent, found = _walk(doc, parts[:-1])
    last = parts[-1] if parts else None
    if not found or last is None:
        raise _missing(parts)
    if isinstance(parent, list):
        try:
            del parent[int(last)]
        except (ValueError, IndexError):
            raise _missing(parts)
    elif isinstance(parent, dict) and last in parent:
        del parent[last]
    else:
        raise _missing(parts)
    return doc
