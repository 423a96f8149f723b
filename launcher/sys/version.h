/* version.h — the version of spark-k8s itself. */
#ifndef SPARK_K8S_VERSION_H
#define SPARK_K8S_VERSION_H
#define SPARK_K8S_VERSION "0.1.0"
#endif
