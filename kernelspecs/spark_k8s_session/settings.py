"""The kernel's Spark properties, as spark-k8s wrote them for this kernel into
$SPARK_CONF_DIR/spark-defaults.conf, and the notebook's settings among them
(spark.k8s.notebook.*: read here, not by Spark)."""
import os

DEFAULTS_FILE = "spark-defaults.conf"


def parse_properties(lines):
    """LINES of a spark-defaults.conf (KEY VALUE, the way spark-k8s writes it) as a
    dict, java.util.Properties' escapes undone."""
    props = {}
    for line in lines:
        line = line.strip()
        if not line or line[0] in "#!":
            continue
        key, _, value = line.partition(" ")
        value = value.lstrip()
        out, i = [], 0
        while i < len(value):
            if value[i] == "\\" and i + 1 < len(value):
                i += 1
            out.append(value[i])
            i += 1
        props[key] = "".join(out)
    return props


def read_properties(conf_dir):
    """CONF_DIR's spark-defaults.conf as a dict; empty when there is none."""
    try:
        with open(os.path.join(conf_dir, DEFAULTS_FILE), encoding="utf-8") as f:
            return parse_properties(f)
    except OSError:
        return {}


class Settings:
    """What the kernel's properties say to the notebook: the progress display's
    defaults, the Spark Connect server, whether the warehouse is shared."""

    def __init__(self, conf_dir, props):
        self.conf_dir = conf_dir
        self.props = props
        self.progress_on = props.get("spark.k8s.notebook.progress", "true") == "true"
        try:
            self.progress_interval = max(0.1, int(props.get(
                "spark.k8s.notebook.progress.intervalMs", "500")) / 1000.0)
        except ValueError:
            self.progress_interval = 0.5

    @classmethod
    def from_environment(cls):
        """The settings of $SPARK_CONF_DIR (the kernel's own)."""
        conf_dir = os.environ.get("SPARK_CONF_DIR", "")
        return cls(conf_dir, read_properties(conf_dir))

    @property
    def spark_log(self):
        """The driver's log file (log4j2.properties' file appender, $SPARK_K8S_SPARK_LOG):
        spark.log in the kernel's SPARK_CONF_DIR unless the environment names another;
        None without either."""
        named = os.environ.get("SPARK_K8S_SPARK_LOG")
        if named:
            return named
        return os.path.join(self.conf_dir, "spark.log") if self.conf_dir else None

    @property
    def starts_connect_server(self):
        """Whether the session starts a Spark Connect server (spark.plugins names it)."""
        return "SparkConnectPlugin" in self.props.get("spark.plugins", "")

    def connect_url(self):
        """The sc:// address of the kernel's Spark Connect server with its token, or None."""
        if not self.starts_connect_server:
            return None
        port = self.props.get("spark.connect.grpc.binding.port", "15002")
        token = self.props.get("spark.connect.authenticate.token")
        url = "sc://localhost:%s" % port
        return url + ("/;token=%s" % token if token else "")

    @property
    def shared_warehouse(self):
        """False where spark-k8s said the executors cannot share the driver's warehouse."""
        return self.props.get("spark.k8s.notebook.sharedWarehouse") != "false"
