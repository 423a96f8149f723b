"""spark-k8s: the IPython startup file of every spark-k8s kernelspec
(--IPKernelApp.exec_files={resource_dir}/spark_session.py). The notebook's Spark
session is the package spark_k8s_session beside this file (IPython runs this file
with its folder on sys.path); its docstring says what the notebook gets."""
import spark_k8s_session as _spark_k8s_session
_spark_k8s_session.install()
del _spark_k8s_session
