/* cmd_kernel.c — placeholder until the kernel launcher lands. */
#include <stdio.h>
#include "launcher/commands.h"

int cmd_kernel(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "spark-k8s kernel: not built yet\n");
    return 2;
}
