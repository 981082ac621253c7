/* sleetbubble.c — the `sleetbubble` executable: everything is in the sb_cli library so
 * tests can call cli_main() directly. */
#include "cli.h"

int main(int argc, char **argv) { return cli_main(argc, argv); }
