"""fakekube.discovery: what clients such as kubectl read before they act, and what they print.

- /version, /api, /api/v1, /apis, /apis/GROUP, /apis/GROUP/v1: the legacy discovery documents
  (APIVersions, APIGroupList, APIGroup, APIResourceList) for the resources fakekube serves.
  Aggregated discovery (apidiscovery.k8s.io/v2) is not served: clients fall back to these
  documents, as they do with an older API server (kubectl does).
- /openapi/v3 and its group-version documents, reduced to what kubectl reads from them:
  that PATCH takes fieldValidation (so kubectl validates on the server).  No schemas.
- /openapi/v2 (protobuf, which is all client-go takes): a document with no definitions, so
  kubectl's client-side check (used for a v1 List) skips every kind and leaves validation to
  the server; fakekube validates every object against the strict schemas anyway.
- table(): server-side printing, the meta.k8s.io/v1 Table that `kubectl get` asks for with
  `Accept: application/json;as=Table;...`, with the columns kube-apiserver prints for pods,
  events, services and (NAME, AGE) for everything else.

No I/O."""

import datetime

from .api import RESOURCES, SHORT_NAMES

VERSION = {"major": "1", "minor": "32", "gitVersion": "v1.32.2-fakekube", "gitCommit": "0" * 40,
           "gitTreeState": "clean", "buildDate": "2025-02-12T21:19:07Z", "goVersion": "go1.23.6",
           "compiler": "gc", "platform": "linux/amd64"}
# gnostic's openapi_v2.Document with only `swagger: "2.0"` (field 1, length-delimited)
OPENAPI_V2_PROTOBUF = b"\x0a\x032.0"
VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
SUBRESOURCES = {"pods": [("log", "Pod", ["get"]), ("status", "Pod", ["get"])]}


def _groups():
    return sorted({spec[3] for spec in RESOURCES.values() if spec[3]})


def _resource_list(group):
    out = []
    for r, spec in sorted(RESOURCES.items()):
        if spec[3] != group:
            continue
        verbs = ["create", "delete", "deletecollection", "get", "list", "watch"] if r == "events" else VERBS
        entry = {"name": r, "singularName": spec[0].lower(), "namespaced": spec[2], "kind": spec[0],
                 "verbs": verbs}
        if r in SHORT_NAMES:
            entry["shortNames"] = SHORT_NAMES[r]
        if r in ("pods", "services", "persistentvolumeclaims"):
            entry["categories"] = ["all"]
        out.append(entry)
        for sub, kind, sverbs in SUBRESOURCES.get(r, []):
            out.append({"name": "%s/%s" % (r, sub), "singularName": "", "namespaced": True, "kind": kind,
                        "verbs": sverbs})
    if group == "":
        out.append({"name": "namespaces", "singularName": "namespace", "namespaced": False,
                    "kind": "Namespace", "verbs": ["get", "list"], "shortNames": ["ns"]})
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": (group + "/v1") if group else "v1",
            "resources": out}


def _group(name):
    gv = {"groupVersion": name + "/v1", "version": "v1"}
    return {"name": name, "versions": [gv], "preferredVersion": gv}


def document(path, port):
    """The discovery document at PATH, or None when PATH is not a discovery path."""
    path = path.rstrip("/")
    if path == "/api":
        return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:%d" % port}]}
    if path == "/api/v1":
        return _resource_list("")
    if path == "/apis":
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [_group(g) for g in _groups()]}
    for g in _groups():
        if path == "/apis/" + g:
            return dict(_group(g), kind="APIGroup", apiVersion="v1")
        if path == "/apis/%s/v1" % g:
            return _resource_list(g)
    if path == "/openapi/v3":
        return {"paths": {gv: {"serverRelativeURL": "/openapi/v3/%s?hash=%s" % (gv, "0" * 16)}
                          for gv in ["api/v1"] + ["apis/%s/v1" % g for g in _groups()]}}
    if path == "/openapi/v3/api/v1":
        return _openapi_gv("")
    for g in _groups():
        if path == "/openapi/v3/apis/%s/v1" % g:
            return _openapi_gv(g)
    return None


def _openapi_gv(group):
    """The OpenAPI v3 document of a group version, as far as clients read it here: one PATCH
    operation per kind that takes fieldValidation, which tells kubectl to leave validation to
    the server (fieldValidation=Strict; fakekube validates every object strictly anyway)."""
    paths = {}
    for r, spec in sorted(RESOURCES.items()):
        if spec[3] != group:
            continue
        base = "/api/v1" if not group else "/apis/%s/v1" % group
        gvk = {"group": group, "version": "v1", "kind": spec[0]}
        params = [{"name": n, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
                  for n in ("dryRun", "fieldManager", "fieldValidation", "force")]
        paths["%s/namespaces/{namespace}/%s/{name}" % (base, r)] = {"patch": {
            "operationId": "patch%s" % spec[0], "parameters": params,
            "x-kubernetes-action": "patch", "x-kubernetes-group-version-kind": gvk,
            "responses": {"200": {"description": "OK"}}}}
    if group == "":
        paths["/api/v1/namespaces/{name}"] = {"patch": {
            "operationId": "patchNamespace", "parameters": [{"name": "fieldValidation", "in": "query",
                                                             "schema": {"type": "string"}}],
            "x-kubernetes-action": "patch",
            "x-kubernetes-group-version-kind": {"group": "", "version": "v1", "kind": "Namespace"},
            "responses": {"200": {"description": "OK"}}}}
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.32.2-fakekube"},
            "paths": paths, "components": {"schemas": {}}}


# ---------------------------------------------------------------------------------------------
# Tables


def _age(stamp):
    if not stamp:
        return "<unknown>"
    then = datetime.datetime.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
    s = max(0, int((datetime.datetime.now(datetime.timezone.utc) - then).total_seconds()))
    if s < 120:
        return "%ds" % s
    if s < 600:
        return "%dm%ds" % (s // 60, s % 60)
    if s < 3 * 3600:
        return "%dm" % (s // 60)
    if s < 48 * 3600:
        return "%dh" % (s // 3600)
    return "%dd" % (s // 86400)


def _pod_status(pod):
    """The STATUS column as kubectl prints it (printPod in kubernetes/pkg/printers)."""
    st = pod.get("status") or {}
    reason = st.get("reason") or st.get("phase") or "Unknown"
    for cs in st.get("containerStatuses") or []:
        state = cs.get("state") or {}
        if state.get("waiting", {}).get("reason"):
            reason = state["waiting"]["reason"]
        elif state.get("terminated"):
            t = state["terminated"]
            reason = t.get("reason") or ("Signal:%d" % t["signal"] if t.get("signal")
                                         else "ExitCode:%d" % t.get("exitCode", 0))
    if pod["metadata"].get("deletionTimestamp"):
        reason = "Terminating"
    return reason


def _columns(resource):
    name = {"name": "Name", "type": "string", "format": "name", "description": "Name must be unique within a "
            "namespace.", "priority": 0}
    age = {"name": "Age", "type": "string", "format": "", "description": "CreationTimestamp", "priority": 0}
    if resource == "pods":
        def col(n, t="string", prio=0):
            return {"name": n, "type": t, "format": "", "description": n, "priority": prio}
        return [name, col("Ready"), col("Status"), col("Restarts"), age, col("IP", prio=1), col("Node", prio=1)]
    if resource == "events":
        def col(n, prio=0):
            return {"name": n, "type": "string", "format": "", "description": n, "priority": prio}
        return [col("Last Seen"), col("Type"), col("Reason"), col("Object"), col("Message")]
    if resource == "services":
        def col(n, prio=0):
            return {"name": n, "type": "string", "format": "", "description": n, "priority": prio}
        return [name, col("Type"), col("Cluster-IP"), col("External-IP"), col("Port(s)"), age]
    return [name, age]


def _cells(resource, o):
    md = o["metadata"]
    age = _age(md.get("creationTimestamp"))
    if resource == "pods":
        cs = (o.get("status") or {}).get("containerStatuses") or []
        ready = "%d/%d" % (sum(1 for c in cs if c.get("ready")), len((o.get("spec") or {}).get("containers") or []))
        restarts = sum(c.get("restartCount", 0) for c in cs)
        st = o.get("status") or {}
        return [md["name"], ready, _pod_status(o), restarts, age, st.get("podIP") or "<none>",
                (o.get("spec") or {}).get("nodeName") or "<none>"]
    if resource == "events":
        inv = o.get("involvedObject") or {}
        last = o.get("lastTimestamp") or o.get("eventTime") or md.get("creationTimestamp")
        return [_age(last), o.get("type", ""), o.get("reason", ""),
                "%s/%s" % ((inv.get("kind") or "").lower(), inv.get("name", "")), o.get("message", "")]
    if resource == "services":
        spec = o.get("spec") or {}
        ports = ",".join("%s/%s" % (p.get("port"), p.get("protocol", "TCP")) for p in spec.get("ports") or [])
        return [md["name"], spec.get("type", "ClusterIP"), spec.get("clusterIP", ""), "<none>", ports or "<none>",
                age]
    return [md["name"], age]


def table(resource, obj, listing):
    items = obj["items"] if listing else [obj]
    rows = []
    for o in items:
        rows.append({"cells": _cells(resource, o), "object": {
            "kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o["metadata"]}})
    meta = {"resourceVersion": obj["metadata"].get("resourceVersion", "")} if listing else {}
    if listing and obj["metadata"].get("continue"):
        meta["continue"] = obj["metadata"]["continue"]
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta,
            "columnDefinitions": _columns(resource), "rows": rows}

