/* commands.h — the subcommands of the `spark-k8s` binary, one file each.
 * Each takes the arguments after its own name (argv[0] is the subcommand) and
 * returns the process exit status: 0 ok, 1 runtime failure, 2 bad usage or input. */
#ifndef SPARK_K8S_COMMANDS_H
#define SPARK_K8S_COMMANDS_H

int cmd_kernel(int argc, char **argv);     /* launcher/cmd/cmd_kernel.c */
int cmd_shim(int argc, char **argv);       /* launcher/cmd/cmd_shim.c */
int cmd_kernelspec(int argc, char **argv); /* launcher/cmd/cmd_kernelspec.c */
int cmd_render(int argc, char **argv);     /* launcher/cmd/cmd_render.c */
int cmd_gpus(int argc, char **argv);       /* launcher/cmd/cmd_gpus.c */
int cmd_rbac(int argc, char **argv);       /* launcher/cmd/cmd_rbac.c */
int cmd_images(int argc, char **argv);     /* launcher/cmd/cmd_images.c */
int cmd_jars(int argc, char **argv);       /* launcher/cmd/cmd_jars.c */

#endif
