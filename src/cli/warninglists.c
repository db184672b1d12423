/* strait: warninglists for the commands that match (match, serve). */
#include "cli/cli.h"

#include "pattern/warninglist.h"

#include <stdlib.h>
#include <sys/stat.h>

/* The shipped warninglists: STRAIT_SHARE overrides where they are. */
#ifndef STRAIT_SHARE_DIR
#define STRAIT_SHARE_DIR "/usr/share/strait"
#endif

static bool is_dir(const char *p)
{
	struct stat sb;
	return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

int cli_warninglists(struct cli *c, struct wl_set *wl, const char *const *dirs,
		     size_t n, bool quiet)
{
	struct diag d;
	if (n > 0) {
		for (size_t i = 0; i < n; i++)
			if (wl_set_load_dir(wl, dirs[i], &d) != ST_OK)
				return cli_fail(CLI_USAGE, "warninglists: %s",
						d.msg);
		return CLI_OK;
	}
	const char *share = getenv("STRAIT_SHARE");
	char path[4096];
	snprintf(path, sizeof(path), "%s/warninglists",
		 share != NULL ? share : STRAIT_SHARE_DIR);
	int rc = wl_set_load_dir(wl, path, &d);
	if (rc != ST_OK && rc != ST_ENOTFOUND)
		return cli_fail(CLI_USAGE, "warninglists: %s", d.msg);
	if (rc == ST_ENOTFOUND && !quiet)
		fprintf(stderr,
			"strait: no shipped warninglists at %s (set "
			"STRAIT_SHARE)\n",
			path);
	const char *own = cli_path(c, "warninglists");
	if (is_dir(own) && wl_set_load_dir(wl, own, &d) != ST_OK)
		return cli_fail(CLI_USAGE, "warninglists: %s", d.msg);
	return CLI_OK;
}
