/* cmd_rbac.c — placeholder until the 'rbac' subcommand lands (see the open issues). */
#include <stdio.h>
#include "launcher/commands.h"

int cmd_rbac(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "spark-k8s rbac: not built yet\n");
    return 2;
}
