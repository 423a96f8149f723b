/* cmd_shim.c — placeholder until the 'shim' subcommand lands (see the open issues). */
#include <stdio.h>
#include "launcher/commands.h"

int cmd_shim(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "spark-k8s shim: not built yet\n");
    return 2;
}
