"""fakekube.rbac: who makes a request and what they may do.

Identities: the fake's own token is the cluster admin (group system:masters: everything is
allowed, as for `kubectl` with an admin kubeconfig).  Every ServiceAccount gets a token of its
own (what the TokenRequest API hands the kubelet for a pod's projected token volume); a request
with it is user "system:serviceaccount:NS:NAME" in the groups system:serviceaccounts,
system:serviceaccounts:NS and system:authenticated.  A client certificate is its CN.

Authorization is kube-apiserver's RBAC authorizer over the Roles and RoleBindings in the store:
a request is allowed when a RoleBinding in the request's namespace names the user (or one of its
groups, or its ServiceAccount) and its Role has a rule whose apiGroups, resources (with
"resource/subresource" for subresources), verbs and resourceNames all match ("*" matches
anything).  ClusterRoles are not served: a binding to one grants nothing.  Discovery and other
non-resource paths are open to every authenticated user (the system:discovery ClusterRole).
No I/O: the store is read through the FakeKube object."""

import hashlib

ADMIN_GROUPS = ("system:masters", "system:authenticated")


class Identity:
    __slots__ = ("user", "groups", "service_account")

    def __init__(self, user, groups, service_account=None):
        self.user, self.groups, self.service_account = user, tuple(groups), service_account

    @property
    def admin(self):
        return "system:masters" in self.groups


class Authorizer:
    def __init__(self, fake):
        self.fake = fake

    def token_for(self, namespace, name):
        """The token of ServiceAccount NAMESPACE/NAME (stable for the life of this server)."""
        digest = hashlib.sha256(("%s\0%s\0%s" % (self.fake.token, namespace, name)).encode()).hexdigest()
        return "sa-%s" % digest

    def identity_of_token(self, token):
        if token == self.fake.token:
            return Identity(self.fake.user, ADMIN_GROUPS)
        if not token.startswith("sa-"):
            return None
        for ns in sorted(self.fake.namespaces):
            for sa in self.fake.store.list("serviceaccounts", ns)[0]:
                name = sa["metadata"]["name"]
                if self.token_for(ns, name) == token:
                    return Identity("system:serviceaccount:%s:%s" % (ns, name),
                                    ("system:serviceaccounts", "system:serviceaccounts:" + ns,
                                     "system:authenticated"), (ns, name))
        return None  # the account was deleted: its tokens stop working

    def allowed(self, ident, verb, group, resource, subresource, namespace, name):
        if ident.admin:
            return True
        if namespace is None:
            return False  # cluster-scoped reads need a ClusterRole, which is not served
        what = resource + ("/" + subresource if subresource else "")
        for rb in self.fake.store.list("rolebindings", namespace)[0]:
            if not self._binds(rb, ident, namespace):
                continue
            ref = rb.get("roleRef") or {}
            if ref.get("kind") != "Role":
                continue
            role = self.fake.store.get("roles", namespace, ref.get("name"))
            for rule in (role or {}).get("rules") or []:
                if (_has(rule.get("apiGroups"), group) and _has(rule.get("resources"), what)
                        and _has(rule.get("verbs"), verb)
                        and (not rule.get("resourceNames") or (name and name in rule["resourceNames"]))):
                    return True
        return False

    @staticmethod
    def _binds(rb, ident, namespace):
        for s in rb.get("subjects") or []:
            kind = s.get("kind")
            if kind == "ServiceAccount" and ident.service_account == (s.get("namespace") or namespace, s.get("name")):
                return True
            if kind == "User" and s.get("name") == ident.user:
                return True
            if kind == "Group" and s.get("name") in ident.groups:
                return True
        return False


def _has(values, wanted):
    values = values or []
    return "*" in values or wanted in values
