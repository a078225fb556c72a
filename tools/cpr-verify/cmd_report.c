#include "cli.h"
int cmd_report(struct cli *c, int argc, char **argv) { cli_err(c, "not yet"); return CPRV_EXIT_TOOL; }
