#include "cli.h"
int cmd_run(struct cli *c, int argc, char **argv) { cli_err(c, "not yet"); return CPRV_EXIT_TOOL; }
