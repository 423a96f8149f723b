"""fakekube.api: the vocabulary of fakekube's API server: the resources it serves, Status
errors with the API server's codes, reasons and messages, label/field selectors, and the
validation of created objects (strict schemas, see schema.py, + the field checks the
schemas cannot express).  No I/O except reading the schemas."""

import base64
import datetime
import json
import os
import re
import threading

from .schema import SCHEMA_DIR


# resource -> (Kind, schema file or None, namespaced, API group); every group is served at v1
RESOURCES = {
    "pods": ("Pod", "pod-v1.json", True, ""),
    "services": ("Service", "service-v1.json", True, ""),
    "secrets": ("Secret", "secret-v1.json", True, ""),
    "configmaps": ("ConfigMap", "configmap-v1.json", True, ""),
    "serviceaccounts": ("ServiceAccount", "serviceaccount-v1.json", True, ""),
    "events": ("Event", None, True, ""),
    "persistentvolumeclaims": ("PersistentVolumeClaim", None, True, ""),
    "roles": ("Role", "role-rbac-v1.json", True, "rbac.authorization.k8s.io"),
    "rolebindings": ("RoleBinding", "rolebinding-rbac-v1.json", True, "rbac.authorization.k8s.io"),
    "networkpolicies": ("NetworkPolicy", "networkpolicy-networking-v1.json", True, "networking.k8s.io"),
}
KIND_TO_RESOURCE = {v[0]: k for k, v in RESOURCES.items()}
SHORT_NAMES = {"pods": ["po"], "services": ["svc"], "configmaps": ["cm"], "serviceaccounts": ["sa"],
               "events": ["ev"], "persistentvolumeclaims": ["pvc"], "networkpolicies": ["netpol"]}
SYSTEM_NAMES = {("configmaps", "kube-root-ca.crt"), ("serviceaccounts", "default")}
DEFAULT_UNSCHEDULABLE = "0/3 nodes are available: 3 Insufficient nvidia.com/gpu."


def api_version(resource):
    """"v1" for the core group, "GROUP/v1" otherwise."""
    group = RESOURCES[resource][3]
    return group + "/v1" if group else "v1"


def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def resource_of(kind_or_resource):
    k = kind_or_resource
    if k in RESOURCES:
        return k
    if k in KIND_TO_RESOURCE:
        return KIND_TO_RESOURCE[k]
    low = k.lower()
    for r, spec in RESOURCES.items():
        if low in (r, spec[0].lower(), r[:-1]):
            return r
    raise KeyError("fakekube: unknown resource or kind %r" % k)


# ---------------------------------------------------------------------------------------------
# Status errors


class ApiError(Exception):
    """An error the API answers with a Status object."""

    def __init__(self, code, reason, message, details=None):
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details

    def status(self):
        return status_object(self.code, self.reason, self.message, self.details)


def status_object(code, reason, message, details=None):
    st = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
          "message": message, "reason": reason, "code": code}
    if details is not None:
        st["details"] = details
    return st


def not_found(resource, name):
    return ApiError(404, "NotFound", '%s "%s" not found' % (resource, name),
                    {"name": name, "kind": resource})


def already_exists(resource, name):
    return ApiError(409, "AlreadyExists", '%s "%s" already exists' % (resource, name),
                    {"name": name, "kind": resource})


def conflict(resource, name):
    return ApiError(409, "Conflict", 'Operation cannot be fulfilled on %s "%s": the object has been '
                    'modified; please apply your changes to the latest version and try again'
                    % (resource, name), {"name": name, "kind": resource})


def bad_request(message):
    return ApiError(400, "BadRequest", message)


def gone(requested, oldest):
    return ApiError(410, "Expired", "too old resource version: %s (%s)" % (requested, oldest))


def internal_error(message):
    return ApiError(500, "InternalError", "Internal error occurred: %s" % message,
                    {"causes": [{"message": message}]})


def forbidden(user, verb, resource, namespace, name=None, subresource=None):
    what = resource + ("/" + subresource if subresource else "")
    subject = '%s "%s"' % (resource, name) if name else resource
    scope = 'in the namespace "%s"' % namespace if namespace else "at the cluster scope"
    group = RESOURCES[resource][3] if resource in RESOURCES else ""
    msg = ('%s is forbidden: User "%s" cannot %s resource "%s" in API group "%s" %s'
           % (subject, user, verb, what, group, scope))
    details = {"kind": resource}
    if name:
        details = {"name": name, "kind": resource}
    return ApiError(403, "Forbidden", msg, details)


def quota_exceeded(resource, name, message):
    subject = '%s "%s"' % (resource, name) if name else resource
    return ApiError(403, "Forbidden", "%s is forbidden: %s" % (subject, message),
                    {"name": name or "", "kind": resource})


def invalid(kind, name, causes):
    """causes: list of (field, reason, message) -> 422 like apimachinery's NewInvalid."""
    parts = ["%s: %s" % (f, m) if f else m for f, _, m in causes]
    text = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    return ApiError(422, "Invalid", '%s "%s" is invalid: %s' % (kind, name, text),
                    {"name": name, "kind": kind,
                     "causes": [{"reason": r, "message": m, "field": f} for f, r, m in causes]})


# ---------------------------------------------------------------------------------------------
# Selectors

_LABEL_TERM = re.compile(r"^\s*(!?)\s*([A-Za-z0-9_./-]+)\s*(?:(==|=|!=)\s*([A-Za-z0-9_.-]*)|"
                         r"\s(in|notin)\s*\(([^)]*)\))?\s*$")


def parse_label_selector(text):
    """Equality- and set-based label selector -> list of predicates on a labels dict."""
    if not text:
        return []
    terms, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            terms.append(cur)
            cur = ""
        else:
            cur += ch
    terms.append(cur)
    preds = []
    for t in terms:
        m = _LABEL_TERM.match(t)
        if not m or (m.group(1) and m.group(3 or 5)):
            raise bad_request("unable to parse requirement: %r" % t)
        neg, key, op, val, setop, setvals = m.groups()
        if neg:
            if op or setop:
                raise bad_request("unable to parse requirement: %r" % t)
            preds.append(lambda ls, k=key: k not in ls)
        elif op in ("=", "=="):
            preds.append(lambda ls, k=key, v=val: ls.get(k) == v)
        elif op == "!=":
            preds.append(lambda ls, k=key, v=val: ls.get(k) != v)
        elif setop == "in":
            vals = {v.strip() for v in setvals.split(",")}
            preds.append(lambda ls, k=key, vs=vals: ls.get(k) in vs)
        elif setop == "notin":
            vals = {v.strip() for v in setvals.split(",")}
            preds.append(lambda ls, k=key, vs=vals: ls.get(k) not in vs)
        else:
            preds.append(lambda ls, k=key: k in ls)
    return preds


FIELD_LABELS = {
    "pods": ["spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
             "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName"],
    "events": ["involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
               "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
               "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type"],
    "secrets": ["type"],
}


def _field_value(obj, label):
    if label == "source":
        return obj.get("source", {}).get("component", "")
    cur = obj
    for part in label.split("."):
        cur = cur.get(part) if isinstance(cur, dict) else None
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return "" if cur is None else str(cur)


def parse_field_selector(resource, text):
    if not text:
        return []
    allowed = ["metadata.name", "metadata.namespace"] + FIELD_LABELS.get(resource, [])
    preds = []
    for term in text.split(","):
        m = re.match(r"^\s*([A-Za-z.]+)\s*(==|=|!=)\s*(.*?)\s*$", term)
        if not m:
            raise bad_request("invalid selector: '%s'; can't understand '%s'" % (text, term))
        label, op, val = m.groups()
        if label not in allowed:
            raise bad_request('field label not supported: %s' % label)
        if op == "!=":
            preds.append(lambda o, lb=label, v=val: _field_value(o, lb) != v)
        else:
            preds.append(lambda o, lb=label, v=val: _field_value(o, lb) == v)
    return preds


def matches(obj, label_preds, field_preds):
    labels = obj.get("metadata", {}).get("labels") or {}
    return all(p(labels) for p in label_preds) and all(p(obj) for p in field_preds)


# ---------------------------------------------------------------------------------------------
# Validation

DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")

MSG_SUBDOMAIN = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
                 "'-' or '.', and must start and end with an alphanumeric character (e.g. "
                 "'example.com', regex used for validation is "
                 "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
MSG_DNS1123_LABEL = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters "
                     "or '-', and must start and end with an alphanumeric character (e.g. 'my-name',"
                     "  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
MSG_DNS1035 = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start "
               "with an alphabetic character, and end with an alphanumeric character (e.g. "
               "'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")
MSG_LABEL_VALUE = ("a valid label must be an empty string or consist of alphanumeric characters, "
                   "'-', '_' or '.', and must start and end with an alphanumeric character (e.g. "
                   "'MyValue',  or 'my_value',  or '12345', regex used for validation is "
                   "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")
MSG_ENV_NAME = ("a valid environment variable name must consist of alphabetic characters, digits, "
                "'_', '-', or '.', and must not start with a digit (e.g. 'my.env-name',  or "
                "'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation is "
                "'[-._a-zA-Z][-._a-zA-Z0-9]*')")


# What the API server accepts in a fieldRef (env) and in a downwardAPI volume item
# (pkg/apis/core/validation: validEnvDownwardAPIFieldPathExpressions, validVolumeDownwardAPIFieldPathExpressions)
ENV_FIELD_PATHS = ["metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName",
                   "spec.serviceAccountName", "status.hostIP", "status.hostIPs", "status.podIP",
                   "status.podIPs"]
VOLUME_FIELD_PATHS = ["metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace",
                      "metadata.uid"]
RESOURCE_FIELD_NAMES = ["limits.cpu", "limits.ephemeral-storage", "limits.memory", "requests.cpu",
                        "requests.ephemeral-storage", "requests.memory"]
_SUBSCRIPT = re.compile(r"^metadata\.(labels|annotations)\['[^']+'\]$")


def _ref_causes(base, ref, field_paths):
    """fieldRef / resourceFieldRef checks of an env valueFrom or a downwardAPI volume item."""
    c = []
    if "fieldRef" in ref:
        fp = (ref["fieldRef"] or {}).get("fieldPath", "")
        if fp not in field_paths and not _SUBSCRIPT.match(fp):
            c.append((base + ".fieldRef.fieldPath", "FieldValueNotSupported",
                      "Unsupported value: %s: supported values: %s"
                      % (_qv(fp), ", ".join(_qv(x) for x in field_paths))))
    if "resourceFieldRef" in ref:
        res = (ref["resourceFieldRef"] or {}).get("resource", "")
        if res not in RESOURCE_FIELD_NAMES and not res.startswith(("limits.hugepages-", "requests.hugepages-")):
            c.append((base + ".resourceFieldRef.resource", "FieldValueNotSupported",
                      "Unsupported value: %s: supported values: %s"
                      % (_qv(res), ", ".join(_qv(x) for x in RESOURCE_FIELD_NAMES))))
    return c


QUANTITY = re.compile(r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$")
_QSUFFIX = {"": 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "Ki": 2 ** 10,
            "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40, "Pi": 2 ** 50}
IANA_SVC_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")


def quantity_value(q):
    """A resource.Quantity as a float (None when it is not one)."""
    m = QUANTITY.match(str(q))
    if not m:
        return None
    suffix = m.group(2)
    try:
        if suffix in _QSUFFIX:
            return float(m.group(1)) * _QSUFFIX[suffix]
        return float(str(q))  # decimal exponent, e.g. 1e3
    except ValueError:
        return None


def _container_port_causes(base, cp):
    c = []
    name = cp.get("name")
    if name is not None:
        if len(name) > 15:
            c.append((base + ".name", "FieldValueInvalid", "Invalid value: %s: must be no more than 15 characters" % _qv(name)))
        elif not IANA_SVC_NAME.match(name) or "--" in name or not re.search("[a-z]", name):
            c.append((base + ".name", "FieldValueInvalid", "Invalid value: %s: must contain only alpha-numeric "
                      "characters (a-z, 0-9), and hyphens (-), must contain at least one letter (a-z), must not "
                      "start or end with a hyphen, and hyphens must not be adjacent" % _qv(name)))
    port = cp.get("containerPort")
    if isinstance(port, int) and not 1 <= port <= 65535:
        c.append((base + ".containerPort", "FieldValueInvalid", "Invalid value: %d: must be between 1 and 65535, inclusive" % port))
    return c


def _resources_causes(base, res):
    """Quantities must parse (else 400, as the decoder answers) and requests <= limits (422)."""
    c = []
    for section in ("requests", "limits"):
        for k, v in (res.get(section) or {}).items():
            if quantity_value(v) is None:
                raise bad_request("Pod in version \"v1\" cannot be handled as a Pod: quantities must match the "
                                  "regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
    limits = res.get("limits") or {}
    for k, v in (res.get("requests") or {}).items():
        if k in limits and quantity_value(v) > quantity_value(limits[k]):
            c.append(("%s.requests" % base, "FieldValueInvalid",
                      "Invalid value: %s: must be less than or equal to %s limit of %s" % (_qv(str(v)), k, limits[k])))
    return c


def _qv(v):
    return json.dumps(v)


class Validator:
    """Schema (strict, from ../shared/k8s-schema) + the API server's own field checks."""

    def __init__(self):
        import jsonschema
        self._jsonschema = jsonschema
        self._validators = {}
        self._lock = threading.Lock()

    def _schema_validator(self, resource):
        with self._lock:
            if resource not in self._validators:
                fname = RESOURCES[resource][1]
                if fname is None:
                    self._validators[resource] = None
                else:
                    with open(os.path.join(SCHEMA_DIR, fname)) as f:
                        schema = json.load(f)
                    cls = self._jsonschema.validators.validator_for(
                        schema, default=self._jsonschema.Draft4Validator)
                    self._validators[resource] = cls(schema)
            return self._validators[resource]

    @staticmethod
    def _path(err_path):
        out = ""
        for p in err_path:
            if isinstance(p, int):
                out += "[%d]" % p
            else:
                out += ("." if out else "") + str(p)
        return out

    def schema_causes(self, resource, obj):
        v = self._schema_validator(resource)
        if v is None:
            return []
        causes = []
        for e in sorted(v.iter_errors(obj), key=lambda e: list(map(str, e.absolute_path))):
            field = self._path(e.absolute_path)
            if e.validator == "additionalProperties":
                extra = sorted(set(e.instance) - set(e.schema.get("properties", {})))
                for x in extra:
                    causes.append(((field + "." if field else "") + x, "FieldValueInvalid",
                                   'Invalid value: %s: unknown field "%s"' % ("{...}" if isinstance(e.instance[x], (dict, list)) else _qv(e.instance[x]), x)))
            elif e.validator == "required":
                m = re.search(r"'([^']+)' is a required property", e.message)
                causes.append(((field + "." if field else "") + (m.group(1) if m else ""),
                               "FieldValueRequired", "Required value"))
            else:
                shown = e.instance if not isinstance(e.instance, (dict, list)) else "{...}"
                causes.append((field, "FieldValueInvalid", "Invalid value: %s: %s"
                               % (_qv(shown) if shown != "{...}" else shown, e.message)))
        return causes

    def semantic_causes(self, resource, obj):
        c = []
        md = obj.get("metadata") or {}
        name = md.get("name")
        if not name and not md.get("generateName"):
            c.append(("metadata.name", "FieldValueRequired", "Required value: name or generateName is required"))
        elif name:
            if resource == "services":
                if not DNS1035_LABEL.match(name) or len(name) > 63:
                    c.append(("metadata.name", "FieldValueInvalid", "Invalid value: %s: %s" % (_qv(name), MSG_DNS1035)))
            elif resource != "events" and (not DNS1123_SUBDOMAIN.match(name) or len(name) > 253):
                c.append(("metadata.name", "FieldValueInvalid", "Invalid value: %s: %s" % (_qv(name), MSG_SUBDOMAIN)))
        for key, val in (md.get("labels") or {}).items():
            if not isinstance(val, str):
                continue
            if not QUALIFIED_NAME.match(key.split("/")[-1]) or len(key.split("/")[-1]) > 63:
                c.append(("metadata.labels", "FieldValueInvalid", "Invalid value: %s: name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character" % _qv(key)))
            if not LABEL_VALUE.match(val) or len(val) > 63:
                c.append(("metadata.labels", "FieldValueInvalid", "Invalid value: %s: %s" % (_qv(val), MSG_LABEL_VALUE)))
        for i, ref in enumerate(md.get("ownerReferences") or []):
            for f in ("apiVersion", "kind", "name", "uid"):
                if not ref.get(f):
                    c.append(("metadata.ownerReferences.%s" % f, "FieldValueInvalid",
                              'Invalid value: "": %s must not be empty' % f))
        if resource == "pods":
            c += self._pod_causes(obj.get("spec") or {})
        elif resource == "secrets":
            for k, v in (obj.get("data") or {}).items():
                if not CONFIG_KEY.match(k):
                    c.append(("data[%s]" % k, "FieldValueInvalid", "Invalid value: %s: a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')" % _qv(k)))
                try:
                    base64.b64decode(v or "", validate=True)
                except Exception:
                    raise bad_request("Secret in version \"v1\" cannot be handled as a Secret: illegal base64 data at input byte 0")
        elif resource == "services":
            spec = obj.get("spec") or {}
            ports = spec.get("ports") or []
            if not ports and spec.get("clusterIP") != "None":
                c.append(("spec.ports", "FieldValueRequired", "Required value"))
            for i, p in enumerate(ports):
                if len(ports) > 1 and not p.get("name"):
                    c.append(("spec.ports[%d].name" % i, "FieldValueRequired", "Required value"))
                elif p.get("name") and not DNS1123_LABEL.match(p["name"]):
                    c.append(("spec.ports[%d].name" % i, "FieldValueInvalid",
                              "Invalid value: %s: %s" % (_qv(p["name"]), MSG_DNS1123_LABEL)))
                port = p.get("port")
                if not isinstance(port, int) or not 1 <= port <= 65535:
                    c.append(("spec.ports[%d].port" % i, "FieldValueInvalid", "Invalid value: %s: must be between 1 and 65535, inclusive" % _qv(port)))
        return c

    def _pod_causes(self, spec):
        c = []
        vols = {}
        for i, v in enumerate(spec.get("volumes") or []):
            vols[v.get("name")] = v
            for src in ("secret", "configMap", "downwardAPI", "projected"):
                mode = (v.get(src) or {}).get("defaultMode")
                if mode is not None and not 0 <= mode <= 0o777:
                    c.append(("spec.volumes[%d].%s.defaultMode" % (i, src), "FieldValueInvalid",
                              "Invalid value: %d: must be a number between 0 and 0777 (octal), both inclusive" % mode))
                for j, it in enumerate((v.get(src) or {}).get("items") or []):
                    if src == "downwardAPI":
                        c += _ref_causes("spec.volumes[%d].downwardAPI.items[%d]" % (i, j), it, VOLUME_FIELD_PATHS)
                    m = it.get("mode")
                    if m is not None and not 0 <= m <= 0o777:
                        c.append(("spec.volumes[%d].%s.items[%d].mode" % (i, src, j), "FieldValueInvalid",
                                  "Invalid value: %d: must be a number between 0 and 0777 (octal), both inclusive" % m))
        names = set()
        for kind in ("containers", "initContainers"):
            for i, ctr in enumerate(spec.get(kind) or []):
                base = "spec.%s[%d]" % (kind, i)
                n = ctr.get("name") or ""
                if not n:
                    c.append((base + ".name", "FieldValueRequired", "Required value"))
                elif not DNS1123_LABEL.match(n):
                    c.append((base + ".name", "FieldValueInvalid", "Invalid value: %s: %s" % (_qv(n), MSG_DNS1123_LABEL)))
                elif n in names:
                    c.append((base + ".name", "FieldValueDuplicate", "Duplicate value: %s" % _qv(n)))
                names.add(n)
                if not ctr.get("image"):
                    c.append((base + ".image", "FieldValueRequired", "Required value"))
                for j, e in enumerate(ctr.get("env") or []):
                    en = e.get("name") or ""
                    if not ENV_NAME.match(en):
                        c.append(("%s.env[%d].name" % (base, j), "FieldValueInvalid", "Invalid value: %s: %s" % (_qv(en), MSG_ENV_NAME)))
                    vf = e.get("valueFrom")
                    if vf and e.get("value"):
                        c.append(("%s.env[%d].valueFrom" % (base, j), "FieldValueInvalid", "Invalid value: \"\": may not be specified when `value` is not empty"))
                    if vf:
                        c += _ref_causes("%s.env[%d].valueFrom" % (base, j), vf, ENV_FIELD_PATHS)
                for j, cp in enumerate(ctr.get("ports") or []):
                    c += _container_port_causes("%s.ports[%d]" % (base, j), cp)
                c += _resources_causes(base + ".resources", ctr.get("resources") or {})
                for j, vm in enumerate(ctr.get("volumeMounts") or []):
                    if vm.get("name") not in vols:
                        c.append(("%s.volumeMounts[%d].name" % (base, j), "FieldValueNotFound", "Not found: %s" % _qv(vm.get("name"))))
                    if not vm.get("mountPath"):
                        c.append(("%s.volumeMounts[%d].mountPath" % (base, j), "FieldValueRequired", "Required value"))
        for i, t in enumerate(spec.get("tolerations") or []):
            if t.get("operator") == "Exists" and t.get("value"):
                c.append(("spec.tolerations[%d].operator" % i, "FieldValueInvalid",
                          "Invalid value: %s: value must be empty when `operator` is 'Exists'" % _qv(t["value"])))
            if t.get("operator") not in (None, "Exists", "Equal"):
                c.append(("spec.tolerations[%d].operator" % i, "FieldValueNotSupported",
                          'Unsupported value: %s: supported values: "Equal", "Exists"' % _qv(t["operator"])))
        rp = spec.get("restartPolicy")
        if rp is not None and rp not in ("Always", "OnFailure", "Never"):
            c.append(("spec.restartPolicy", "FieldValueNotSupported", 'Unsupported value: %s: supported values: "Always", "OnFailure", "Never"' % _qv(rp)))
        return c

    def validate(self, resource, obj):
        """Raise the ApiError (422) the API server would answer for this object."""
        kind = RESOURCES[resource][0]
        name = (obj.get("metadata") or {}).get("name") or (obj.get("metadata") or {}).get("generateName") or ""
        causes = self.schema_causes(resource, obj) + self.semantic_causes(resource, obj)
        if causes:
            raise invalid(kind, name, causes)


class Request:
    """One recorded API request."""
    __slots__ = ("method", "path", "query", "body", "code", "verb", "resource", "namespace", "name",
                 "subresource", "user", "time", "fault")

    def __init__(self, **kw):
        for k in self.__slots__:
            setattr(self, k, kw.get(k))

    def as_dict(self):
        return {k: getattr(self, k) for k in self.__slots__}

    def __repr__(self):
        return "<%s %s -> %s>" % (self.method, self.path, self.code)
