/* strait: the MISP feed export of `strait export` (cmd_export_misp.c). */
#ifndef STRAIT_CLI_EXPORT_MISP_H
#define STRAIT_CLI_EXPORT_MISP_H

#include "cli/cli.h"

#include "federation/fedstate.h"

#include <stddef.h>
#include <stdint.h>

/* Records what an export --for peer gave it, as a push is recorded
 * (strait peer sent). CLI_OK, or a failure said on stderr. */
int cli_export_record(struct cli *c, const char *peer,
		      const struct fed_sent_item *items, size_t n);

/* Writes the MISP feed of collection cid into dir (created when absent);
 * with for_peer, only what the release decision gives that partner. */
int cli_export_misp(struct cli *c, int64_t cid, const char *dir,
		    const char *for_peer);

#endif
