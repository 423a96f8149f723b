/* cmd_render.c — placeholder until the 'render' subcommand lands (see the open issues). */
#include <stdio.h>
#include "launcher/commands.h"

int cmd_render(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "spark-k8s render: not built yet\n");
    return 2;
}
