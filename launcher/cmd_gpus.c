/* cmd_gpus.c — placeholder until the 'gpus' subcommand lands (see the open issues). */
#include <stdio.h>
#include "launcher/commands.h"

int cmd_gpus(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "spark-k8s gpus: not built yet\n");
    return 2;
}
