/* strait: the hotline commands' shared parts (private to src/cli). */
#ifndef STRAIT_CLI_HOTLINE_CLI_H
#define STRAIT_CLI_HOTLINE_CLI_H

#include "cli/cli.h"

/* Reads a passphrase: the first line of stdin, or asked on a terminal
 * with echo off. Its length, or -1 (none), -2 (longer than cap). */
long hotline_read_pass(const char *prompt, char *buf, size_t cap);

/* strait hotline enroll|chain|trust|send|inbox|show|ack|watch|status;
 * -1 for another subcommand. argv[0] is the subcommand. */
int hotline_msg_cmd(struct cli *c, int argc, char **argv);

#endif
