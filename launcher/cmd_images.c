/* cmd_images.c — placeholder until the 'images' subcommand lands (see the open issues). */
#include <stdio.h>
#include "launcher/commands.h"

int cmd_images(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "spark-k8s images: not built yet\n");
    return 2;
}
