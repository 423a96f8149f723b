"""test_session_settings.py — how the notebook's session reads the kernel's
spark-defaults.conf (kernelspecs/spark_k8s_session/settings.py, no Spark needed):
java.util.Properties' escapes undone as spark-k8s writes them, comments and blank
lines passed over, the progress display's settings with their bounds, the Spark
Connect address with its token, and whether the warehouse is shared; and the local
kernel's Spark UI registration, written whole or not at all."""
import io

from spark_k8s_session.settings import Settings, parse_properties, read_properties

CONF = r"""# written by spark-k8s
! also a comment

spark.master local[*]
spark.driver.extraJavaOptions -Dx=a\ b -Dy=c\\d
spark.app.name   padded
spark.k8s.notebook.progress false
"""


def test_escapes_comments_and_padding():
    props = parse_properties(io.StringIO(CONF))
    assert props == {"spark.master": "local[*]",
                     "spark.driver.extraJavaOptions": r"-Dx=a b -Dy=c\d",
                     "spark.app.name": "padded",
                     "spark.k8s.notebook.progress": "false"}


def test_a_missing_file_is_no_properties(tmp_path):
    assert read_properties(str(tmp_path / "nowhere")) == {}
    (tmp_path / "spark-defaults.conf").write_text(CONF)
    assert read_properties(str(tmp_path))["spark.master"] == "local[*]"


def test_progress_settings():
    assert (Settings("", {}).progress_on, Settings("", {}).progress_interval) == (True, 0.5)
    s = Settings("", {"spark.k8s.notebook.progress": "false",
                      "spark.k8s.notebook.progress.intervalMs": "20"})
    assert (s.progress_on, s.progress_interval) == (False, 0.1)
    assert Settings("", {"spark.k8s.notebook.progress.intervalMs": "soon"}).progress_interval == 0.5


def test_connect_url_and_warehouse():
    assert Settings("", {}).connect_url() is None
    s = Settings("", {"spark.plugins": "org.apache.spark.sql.connect.SparkConnectPlugin",
                      "spark.connect.grpc.binding.port": "15099",
                      "spark.connect.authenticate.token": "t0k"})
    assert s.starts_connect_server and s.connect_url() == "sc://localhost:15099/;token=t0k"
    assert Settings("", {}).shared_warehouse
    assert not Settings("", {"spark.k8s.notebook.sharedWarehouse": "false"}).shared_warehouse


def test_the_ui_registration_is_written_whole_or_not_at_all(tmp_path, monkeypatch, capsys):
    """publish_ui (session.py): the local kernel's UI address, for the Jupyter server's
    route; a write that fails says so in the cell and leaves no half-written file."""
    import json

    from spark_k8s_session.session import publish_ui

    spark = type("S", (), {"sparkContext": type("C", (), {"uiWebUrl": "http://192.0.2.2:4043"})()})()
    reg = tmp_path / "spark-k8s-ui-x.json"
    monkeypatch.setenv("SPARK_K8S_UI_REGISTRY", str(reg))
    monkeypatch.setenv("SPARK_K8S_UI_CONNECTION", "/run/kernel-x.json")
    publish_ui(spark)
    assert json.loads(reg.read_text()) == {"url": "http://127.0.0.1:4043",
                                           "connection_file": "/run/kernel-x.json"}
    assert oct(reg.stat().st_mode & 0o777) == "0o600"
    reg.unlink()
    reg.mkdir()  # the rename onto it fails after the new file was written
    publish_ui(spark)
    assert "the Spark UI cannot be reached through Jupyter" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spark-k8s-ui-x.json"]
