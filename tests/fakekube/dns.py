"""fakekube.dns: cluster DNS for fakekube's pods, as the /etc/hosts file of each pod.

A cluster answers `NAME.NS.svc.cluster.local` for a Service: a headless Service (clusterIP
None) with the IPs of the pods its selector picks (ready ones, or all that have an IP with
publishNotReadyAddresses), and `HOST.SUBDOMAIN.NS.svc.cluster.local` for a pod with hostname
and subdomain.  Pods run as local processes here, so their resolver is glibc reading
/etc/hosts: the kubelet writes each pod's hosts file with the kubelet's own lines plus these
records, under every name a pod's search path would try (NAME, NAME.NS, NAME.NS.svc and the
full name for its own namespace; NAME.NS and longer for others), and rewrites it in place when
Services or pods change (the file is bind-mounted, so its inode must stay).

Simplified: only headless Services resolve (a ClusterIP has no kube-proxy behind it here), no
SRV records, no negative caching."""

import os

CLUSTER_DOMAIN = "cluster.local"

HEADER = ("# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost "
          "ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\n"
          "fe00::2\tip6-allrouters\n")


def _names(name, ns, own_ns):
    full = "%s.%s.svc.%s" % (name, ns, CLUSTER_DOMAIN)
    names = [full, "%s.%s.svc" % (name, ns), "%s.%s" % (name, ns)]
    if ns == own_ns:
        names.append(name)
    return names


def _ready(pod):
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def records(pods, services, own_ns):
    """[(ip, [names])] for the Services and pod subdomains of a cluster holding PODS, SERVICES."""
    out = []
    for svc in services:
        spec = svc.get("spec") or {}
        sel = spec.get("selector") or {}
        if spec.get("clusterIP") != "None" or not sel:
            continue
        ns = svc["metadata"]["namespace"]
        for p in pods:
            labels = p["metadata"].get("labels") or {}
            ip = (p.get("status") or {}).get("podIP")
            if (p["metadata"]["namespace"] != ns or not ip or p["metadata"].get("deletionTimestamp")
                    or any(labels.get(k) != v for k, v in sel.items())):
                continue
            if _ready(p) or spec.get("publishNotReadyAddresses"):
                out.append((ip, _names(svc["metadata"]["name"], ns, own_ns)))
    for p in pods:
        spec, ip = p.get("spec") or {}, (p.get("status") or {}).get("podIP")
        if ip and spec.get("subdomain"):
            host = spec.get("hostname") or p["metadata"]["name"]
            out.append((ip, _names("%s.%s" % (host, spec["subdomain"]), p["metadata"]["namespace"], own_ns)))
    return sorted(out)


def hosts_file(pod, pod_ip, pods, services):
    """The hosts file of POD: the kubelet's lines, then the cluster's records."""
    spec = pod.get("spec") or {}
    ns = pod["metadata"]["namespace"]
    host = spec.get("hostname") or pod["metadata"]["name"]
    line = "%s\t%s" % (pod_ip, host)
    if spec.get("subdomain"):
        line = "%s\t%s.%s.%s.svc.%s\t%s" % (pod_ip, host, spec["subdomain"], ns, CLUSTER_DOMAIN, host)
    text = HEADER + line + "\n"
    for ip, names in records(pods, services, ns):
        text += "%s\t%s\n" % (ip, "\t".join(names))
    return text


def rewrite(path, text):
    """Replace the content of PATH in place (same inode: it is bind-mounted into the pod).  The
    new text is written over the old before the file is cut to length, so a reader never sees
    an empty file."""
    data = text.encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        os.pwrite(fd, data, 0)
        os.ftruncate(fd, len(data))
    finally:
        os.close(fd)
