/* commands.h — the subcommands of the `spark-k8s` binary, one file each, thin as git's
 * builtin commands: each parses the arguments after its own name (argv[0] is the
 * subcommand), calls one function of a layer below, and returns the process exit
 * status: 0 ok, or error_exit_status of the error that function returned, from the
 * table in launcher/sys/errmsg.h (2 for ERR_USAGE and ERR_INPUT, 1 for the others);
 * cmd_common.h says the error and returns that status in one call (cmd_fail).
 * The one other status is documented where it is made: `gpus` exits 3, 4 or 5 for a
 * missing CUDA library, driver or device. */
#ifndef SPARK_K8S_COMMANDS_H
#define SPARK_K8S_COMMANDS_H

int cmd_kernel(int argc, char **argv);     /* launcher/cmd/cmd_kernel.c */
int cmd_shim(int argc, char **argv);       /* launcher/cmd/cmd_shim.c */
int cmd_kernelspec(int argc, char **argv); /* launcher/cmd/cmd_kernelspec.c */
int cmd_render(int argc, char **argv);     /* launcher/cmd/cmd_render.c */
int cmd_gpus(int argc, char **argv);       /* launcher/cmd/cmd_gpus.c */
int cmd_rbac(int argc, char **argv);       /* launcher/cmd/cmd_rbac.c */
int cmd_images(int argc, char **argv);     /* launcher/cmd/cmd_images.c */
/* `spark-k8s images pin ...`, ARGV[0] "pin": 0 ok, 1 a download or checksum file was
 * refused (nothing written), 2 bad usage or an unreadable matrix. */
int cmd_images_pin(int argc, char **argv); /* launcher/cmd/cmd_images_pin.c */
int cmd_jars(int argc, char **argv);       /* launcher/cmd/cmd_jars.c */

#endif
