"""support — what the Python test suites share (pytest.ini puts tests/ on sys.path).

    paths.py              the repository, the matrix and its Spark lines, the build, the binary
    procs.py              processes: waiting with a deadline, finding, telling apart, environments
    cli.py                the spark-k8s binary run as a command, in a clean environment
    prefix.py             the installed prefix (SPARK_K8S_PREFIX, else a temporary `make install`)
    envs.py               the kernel environments, and views of them with jars folders of their own
    homes.py              private folders and environments for the kernels and servers a test starts
    kernels.py            kernels started through jupyter_client and the cells they run
    protocol.py           the protocol tests' kernelspecs, launchers and messages
    runtimes.py           where a protocol test's kernels run (local, kubernetes) and their processes
    protocol_fixtures.py  the protocol suites' fixtures, parametrised by runtime
    cluster.py            a fake cluster set up as the admin guide says (tests/fakekube)
    notebooks.py          kernels on that cluster, as Jupyter Server starts them, and their cells
    jupyterlab.py         `make run`, a Jupyter server's API and output, headless Chromium
    maven.py              a local Maven repository over HTTP
    factories.py          fixtures that make things for a test and close them all at its end

The fake API server is a package of its own (tests/fakekube, README.md there), as are the
lakehouse servers (tests/lakehouse).
"""
