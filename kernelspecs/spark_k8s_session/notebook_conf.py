"""A notebook's own session settings: %%spark_conf (properties or JSON) and
spark_k8s.configure(...), given before the session starts, held to the admin's limits
and applied when it starts (or, on request, by restarting a running session).

The limits are the kernel's spark.k8s.notebook.limits.* properties, which spark-k8s
renders from the admin's limits.* settings (config file or SPARK_K8S_LIMIT_*): most
executors (instances and dynamic allocation's bounds), cores and memory per executor,
GPUs per executor, and properties a notebook may not set. They guard the magic, not
the cluster: code in a notebook can reach Spark's own API, so what must hold whatever a
notebook does belongs in Kubernetes (a namespace's ResourceQuota and LimitRange)."""
import json
import re

LIMITS = "spark.k8s.notebook.limits."

# What the runtime sets from facts it alone knows, or what the kernel's own process
# (its pod) was sized with: a notebook's session cannot move them.
RUNTIME_LOCKED = {
    "spark.master": "the runtime sets it",
    "spark.submit.deployMode": "the runtime sets it",
    "spark.driver.host": "the runtime sets it",
    "spark.driver.bindAddress": "the runtime sets it",
    "spark.driver.port": "the runtime sets it",
    "spark.blockManager.port": "the runtime sets it",
    "spark.driver.memory": "the kernel's process (its pod) is sized by the kernelspec",
    "spark.driver.cores": "the kernel's process (its pod) is sized by the kernelspec",
    "spark.driver.extraClassPath": "it holds the kernel variant's jars",
    "spark.kubernetes.*": "the runtime's Kubernetes settings come from the kernelspec",
    "spark.k8s.notebook.*": "spark-k8s's own settings come from the kernelspec",
    "spark.connect.*": "the kernel's Spark Connect server is set by the kernelspec",
}

COUNTS = ("spark.executor.instances", "spark.dynamicAllocation.maxExecutors",
          "spark.dynamicAllocation.minExecutors", "spark.dynamicAllocation.initialExecutors")

SHORTCUTS = {
    "executors": "spark.executor.instances",
    "min_executors": "spark.dynamicAllocation.minExecutors",
    "max_executors": "spark.dynamicAllocation.maxExecutors",
    "executor_cores": "spark.executor.cores",
    "executor_memory": "spark.executor.memory",
    "executor_gpus": "spark.executor.resource.gpu.amount",
}

KEY = re.compile(r"spark\.[A-Za-z0-9._\-\[\]]+\Z")
SIZE = re.compile(r"(\d+)\s*([kmgtp]?)b?\Z", re.I)
SIZE_MIB = {"k": 1.0 / 1024, "": 1, "m": 1, "g": 1024, "t": 1024 ** 2, "p": 1024 ** 3}


class SparkConfError(ValueError):
    """Settings a notebook may not have: every reason, one per line."""


def size_mib(text):
    """Spark's size format (512m, 4g; a bare number is MiB, as spark.executor.memory
    reads it) in MiB; None if it is not one."""
    m = SIZE.match(str(text).strip())
    return int(m.group(1)) * SIZE_MIB[m.group(2).lower()] if m else None


def parse_body(body):
    """A %%spark_conf cell's body: a JSON object, or lines of `key value` / `key=value`
    (comments start with #). Returns [(key, value)] in order."""
    text = body.strip()
    if text.startswith("{"):
        try:
            obj = json.loads(text)
        except ValueError as e:
            raise SparkConfError("%%spark_conf: the cell is not a JSON object: %s" % e) from None
        if not isinstance(obj, dict):
            raise SparkConfError("%%spark_conf: the cell is not a JSON object")
        return [(str(k), value_text(v)) for k, v in obj.items()]
    pairs, problems = [], []
    for n, raw in enumerate(body.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = re.match(r"([^\s=:]+)\s*(?:[=:]|\s)\s*(.*)\Z", line)
        if not m or not m.group(2).strip():
            problems.append("line %d: '%s' is not `property value` or `property=value`" % (n, line))
            continue
        pairs.append((m.group(1), m.group(2).strip()))
    if problems:
        raise SparkConfError("%%spark_conf: " + "\n".join(problems))
    return pairs


def value_text(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float, str)):
        return str(v)
    raise SparkConfError("%r is not a text, number or boolean" % (v,))


class Limits:
    """The admin's limits among the kernel's properties PROPS."""

    def __init__(self, props):
        self.executors = self.count(props, "executors")
        self.executor_cores = self.count(props, "executorCores")
        self.executor_gpus = self.count(props, "executorGpus")
        memory = props.get(LIMITS + "executorMemory")
        self.executor_memory = memory
        self.executor_memory_mib = size_mib(memory) if memory else None
        locked = props.get(LIMITS + "lockedProperties", "")
        self.locked = [p.strip() for p in locked.split(",") if p.strip()]

    @staticmethod
    def count(props, name):
        try:
            return int(props[LIMITS + name])
        except (KeyError, ValueError):
            return None

    def describe(self):
        parts = []
        if self.executors is not None:
            parts.append("at most %d executors (limits.executors)" % self.executors)
        if self.executor_cores is not None:
            parts.append("%d cores per executor (limits.executor_cores)" % self.executor_cores)
        if self.executor_memory is not None:
            parts.append("%s per executor (limits.executor_memory)" % self.executor_memory)
        if self.executor_gpus is not None:
            parts.append("%d GPUs per executor (limits.executor_gpus)" % self.executor_gpus)
        if self.locked:
            parts.append("not settable: %s (limits.locked_properties)" % ", ".join(self.locked))
        return "; ".join(parts) if parts else "none"


def matches(pattern, key):
    return key.startswith(pattern[:-1]) if pattern.endswith("*") else key == pattern


def check(pairs, limits):
    """The problems of PAIRS ([(key, value)]) under LIMITS: one sentence each, naming
    the property, its value and the limit."""
    problems = []
    for key, value in pairs:
        if not KEY.match(key):
            problems.append("'%s' is not a Spark property name (spark.…: letters, digits and . _ - [ ])"
                            % key)
            continue
        if any(ord(c) < 0x20 for c in value):
            problems.append("%s: the value has a control character (a newline, a tab)" % key)
            continue
        why = next((w for p, w in RUNTIME_LOCKED.items() if matches(p, key)), None)
        if why:
            problems.append("%s cannot be set from a notebook: %s" % (key, why))
            continue
        if any(matches(p, key) for p in limits.locked):
            problems.append("%s cannot be set from a notebook: the admin locked it "
                            "(limits.locked_properties)" % key)
            continue
        problems.extend(over_limit(key, value, limits))
    return problems


# property -> (what it counts, the Limits attribute, how the limit reads, the setting)
COUNTED = dict(
    [(k, ("executors", "executors", "%d executors", "limits.executors")) for k in COUNTS] + [
        ("spark.executor.cores", ("cores", "executor_cores", "%d cores per executor",
                                  "limits.executor_cores")),
        ("spark.executor.resource.gpu.amount", ("GPUs", "executor_gpus", "%d GPUs per executor",
                                                "limits.executor_gpus"))])


def over_limit(key, value, limits):
    """What is wrong with KEY = VALUE under LIMITS: [] or [one sentence]."""
    if key == "spark.executor.memory":
        mib = size_mib(value)
        if mib is None:
            return ["%s = '%s': expected a size such as 4g or 512m" % (key, value)]
        if limits.executor_memory_mib is not None and mib > limits.executor_memory_mib:
            return ["%s = %s is more than the admin's limit of %s per executor "
                    "(limits.executor_memory)" % (key, value, limits.executor_memory)]
        return []
    if key not in COUNTED:
        return []
    what, attr, reads, setting = COUNTED[key]
    try:
        n = int(value)
    except ValueError:
        n = -1
    if n < 0:
        return ["%s = '%s': expected a whole number of %s" % (key, value, what)]
    limit = getattr(limits, attr)
    if limit is not None and n > limit:
        return ["%s = %d is more than the admin's limit of %s (%s)"
                % (key, n, reads % limit, setting)]
    return []


class NotebookConf:
    """The settings this notebook asked for, for SESSION (session.py), whose kernel
    properties hold the limits."""

    def __init__(self, session):
        self.session = session
        self.pending = {}   # asked for, applied at the next start
        self.applied = {}   # what the running session started with

    @property
    def limits(self):
        return Limits(self.session.settings.props)

    def effective(self, key):
        """KEY as the next start will have it: asked for, else the kernel's own."""
        if key in self.pending:
            return self.pending[key]
        return self.session.settings.props.get(key)

    def set(self, pairs, restart=False):
        """Check PAIRS against the limits (all or nothing) and keep them for the next
        start; RESTART: restart a running session now. A sentence saying what happens."""
        limits = self.limits
        problems = check(pairs, limits)
        if len(problems) == 1:
            raise SparkConfError("spark-k8s: not applied: " + problems[0])
        if problems:
            raise SparkConfError("spark-k8s: not applied:\n  " + "\n  ".join(problems))
        asked = dict(pairs)
        # more executors than dynamic allocation's cap would fail Spark's start: the cap
        # follows (within the admin's limit, checked above for the instances)
        instances = asked.get("spark.executor.instances")
        if instances is not None and "spark.dynamicAllocation.maxExecutors" not in asked:
            cap = self.effective("spark.dynamicAllocation.maxExecutors")
            if cap is not None and cap.isdigit() and int(instances) > int(cap):
                asked["spark.dynamicAllocation.maxExecutors"] = instances
        self.pending.update(asked)
        shown = ", ".join("%s=%s" % kv for kv in asked.items()) or "nothing new"
        if self.session.spark is None:
            return "spark-k8s: the session will start with %s" % shown
        if not restart:
            return ("spark-k8s: the Spark session is running; %s apply when it restarts: "
                    "`%%%%spark_conf --restart` restarts it now (its cached data, temporary "
                    "views and jobs are lost)" % shown)
        self.session.restart()
        return "spark-k8s: the Spark session restarted with %s" % shown

    def builder_options(self):
        """The settings for the start that is about to happen."""
        self.applied = dict(self.pending)
        return dict(self.pending)

    def describe(self):
        lines = ["spark-k8s: settings this notebook asked for: %s" % (
            ", ".join("%s=%s" % kv for kv in self.pending.items()) or "none")]
        if self.session.spark is not None and self.applied != self.pending:
            lines.append("  (the running session started with %s: `%%%%spark_conf --restart` "
                         "applies the rest)" % (", ".join("%s=%s" % kv for kv in self.applied.items())
                                                 or "none of them"))
        lines.append("  admin's limits: %s" % self.limits.describe())
        return "\n".join(lines)


def spark_conf_magic(conf):
    """The %%spark_conf cell magic (and %spark_conf, which shows the settings)."""
    from IPython.core.error import UsageError

    def spark_conf(line, cell=None):
        """%%spark_conf [--restart]: Spark properties for this notebook's session, one
        `property value` (or property=value) a line, or a JSON object, checked against the
        admin's limits and applied when the session starts; --restart restarts a running
        session with them. %spark_conf alone shows them and the limits."""
        args = line.split()
        unknown = [a for a in args if a != "--restart"]
        if unknown:
            raise UsageError("%%spark_conf: unknown option %s (only --restart)" % " ".join(unknown))
        if cell is None:
            print(conf.describe())
            return
        try:
            print(conf.set(parse_body(cell), restart="--restart" in args))
        except SparkConfError as e:
            raise UsageError(str(e)) from None

    return spark_conf
