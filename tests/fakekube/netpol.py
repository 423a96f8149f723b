"""fakekube.netpol: NetworkPolicy (networking.k8s.io/v1) semantics, for one connection.

fakekube's pods share the host's network, so nothing enforces a policy while they run; the
tests observe the connections a real query makes (podnet.py) and ask this module whether the
namespace's policies would have let each one through, as a CNI plugin decides:

- a pod is isolated for ingress (egress) when some policy of its namespace selects it and
  lists Ingress (Egress) in its policyTypes (default: Ingress, plus Egress when the policy has
  egress rules); an isolated pod accepts (makes) only connections some rule of those policies
  allows, and a connection needs both the source's egress and the destination's ingress;
- a rule allows a peer that one of its from/to entries matches (none: every peer) on a port
  one of its ports matches (none: every port); podSelector and namespaceSelector (labels,
  matchLabels and matchExpressions) pick pods, ipBlock picks addresses outside the pods
  (cidr minus except); a port is a number or a name of the destination's containerPorts,
  endPort makes a range, protocol defaults to TCP.

    allowed(policies, namespaces, src, dst, port, protocol="TCP") -> (bool, why)
src and dst are pod objects, or {"ip": "a.b.c.d"} for an endpoint that is no pod (the API
server); namespaces maps a namespace name to its labels."""

import ipaddress


def _selects(selector, labels):
    if selector is None:
        return False
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in selector.get("matchExpressions") or []:
        key, op, values = e.get("key"), e.get("operator"), e.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def _labels(obj):
    return (obj.get("metadata") or {}).get("labels") or {}


def _types(policy):
    spec = policy.get("spec") or {}
    return spec.get("policyTypes") or (["Ingress"] + (["Egress"] if "egress" in spec else []))


def _peer_matches(peer, policy_ns, other, namespaces):
    if "ipBlock" in peer:
        if "ip" not in other:
            return False  # ipBlock is for addresses outside the cluster's pods
        ip = ipaddress.ip_address(other["ip"])
        block = peer["ipBlock"]
        return ip in ipaddress.ip_network(block["cidr"], strict=False) and \
            not any(ip in ipaddress.ip_network(x, strict=False) for x in block.get("except") or [])
    if "ip" in other:
        return False
    other_ns = other["metadata"]["namespace"]
    if "namespaceSelector" in peer:
        if not _selects(peer["namespaceSelector"], namespaces.get(other_ns, {})):
            return False
    elif other_ns != policy_ns:
        return False
    return "podSelector" not in peer or _selects(peer["podSelector"], _labels(other))


def _port_matches(rule_port, port, protocol, dst):
    if rule_port.get("protocol", "TCP") != protocol:
        return False
    want = rule_port.get("port")
    if want is None:
        return True
    if isinstance(want, str) and not want.isdigit():
        named = [p.get("containerPort") for c in (dst.get("spec") or {}).get("containers", [])
                 for p in c.get("ports") or [] if p.get("name") == want]
        return port in named
    return int(want) <= port <= int(rule_port.get("endPort", want))


def _direction_allows(policies, pod, other, port, protocol, direction, namespaces, dst):
    """(allowed, why) for POD's side of the connection (direction Ingress or Egress)."""
    if "ip" in pod:
        return True, "not a pod"
    ns = pod["metadata"]["namespace"]
    mine = [p for p in policies if p["metadata"]["namespace"] == ns
            and _selects((p.get("spec") or {}).get("podSelector", {}), _labels(pod))
            and direction in _types(p)]
    if not mine:
        return True, "not isolated for %s" % direction.lower()
    key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    for p in mine:
        for rule in (p.get("spec") or {}).get(key) or []:
            peers = rule.get(peers_key)
            if peers and not any(_peer_matches(x, ns, other, namespaces) for x in peers):
                continue
            ports = rule.get("ports")
            if ports and not any(_port_matches(x, port, protocol, dst) for x in ports):
                continue
            return True, "%s rule of %s" % (key, p["metadata"]["name"])
    return False, "%s of %s isolated by %s, no rule allows it" % (
        direction.lower(), pod["metadata"]["name"], ", ".join(p["metadata"]["name"] for p in mine))


def allowed(policies, namespaces, src, dst, port, protocol="TCP"):
    ok, why = _direction_allows(policies, src, dst, port, protocol, "Egress", namespaces, dst)
    if not ok:
        return False, why
    ok, why_in = _direction_allows(policies, dst, src, port, protocol, "Ingress", namespaces, dst)
    return ok, why_in if not ok else "%s; %s" % (why, why_in)
