/* cmd_kernelspec.c — placeholder until the 'kernelspec' subcommand lands (see the open issues). */
#include <stdio.h>
#include "launcher/commands.h"

int cmd_kernelspec(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "spark-k8s kernelspec: not built yet\n");
    return 2;
}
