#include "cli/cli.h"

#include "auth/auth.h"
#include "common/json.h"
#include "common/uuid.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const char coll_usage[] =
    "usage: strait collection add TITLE [--id UUID] [--alias ALIAS]\n"
    "                                   [--description TEXT]\n"
    "       strait collection list [--json]\n"
    "       strait collection grant COLLECTION USER read|write|none\n"
    "\n"
    "Collections group object versions for TAXII clients and partners.\n"
    "An object version joins a collection when it is imported into it.\n"
    "\n"
    "grant gives an account (strait user) access to a collection (id or\n"
    "alias): 'read', 'write' (read and write) or 'none'. Admins read and\n"
    "write every collection without grants; auditors are never granted\n"
    "write. What a reader sees inside a collection is still decided by\n"
    "the release decision (TLP and role). A running node applies grants\n"
    "within a second.\n"
    "\n"
    "  --id UUID            the TAXII collection id (default: random)\n"
    "  --alias ALIAS        a short unique name usable instead of the id\n"
    "  --description TEXT   shown to TAXII clients\n"
    "  --json               machine-readable output\n";

static int copy_arg(char *dst, size_t cap, const char *src, const char *what)
{
	if (strlen(src) >= cap)
		return cli_fail(CLI_USAGE,
				"collection: %s longer than %zu bytes", what,
				cap - 1);
	memcpy(dst, src, strlen(src) + 1);
	return CLI_OK;
}

static bool valid_alias(const char *a)
{
	if (a[0] == '\0')
		return false;
	for (const char *p = a; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		      *p == '-' || *p == '_' || *p == '.'))
			return false;
	return true;
}

static int coll_add(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"id", required_argument, NULL, 'i'},
	    {"alias", required_argument, NULL, 'a'},
	    {"description", required_argument, NULL, 'd'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct store_collection coll;
	memset(&coll, 0, sizeof(coll));
	const char *id = NULL;
	int ch, rc;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'i':
			id = optarg;
			break;
		case 'a':
			if ((rc = copy_arg(coll.alias, sizeof(coll.alias),
					   optarg, "--alias")) != CLI_OK)
				return rc;
			if (!valid_alias(coll.alias))
				return cli_fail(CLI_USAGE,
						"collection: --alias may hold "
						"only a-z 0-9 - _ . (got '%s')",
						optarg);
			break;
		case 'd':
			if ((rc = copy_arg(coll.description,
					   sizeof(coll.description), optarg,
					   "--description")) != CLI_OK)
				return rc;
			break;
		case 'h':
			fputs(coll_usage, stdout);
			return CLI_OK;
		default:
			fputs(coll_usage, stderr);
			return CLI_USAGE;
		}
	}
	if (optind + 1 != argc) {
		fputs(coll_usage, stderr);
		return cli_fail(CLI_USAGE,
				"collection add: one TITLE expected");
	}
	if ((rc = copy_arg(coll.title, sizeof(coll.title), argv[optind],
			   "TITLE")) != CLI_OK)
		return rc;
	uint8_t u[16];
	if (id != NULL) {
		if (uuid_parse(id, strlen(id), false, u) != ST_OK)
			return cli_fail(CLI_USAGE,
					"collection: --id is not a UUID: '%s'",
					id);
	} else {
		uuid_v4(u);
	}
	uuid_format(u, coll.id);
	if ((rc = cli_open(c)) != CLI_OK)
		return rc;
	struct diag d;
	rc = store_collection_add(c->store, &coll, &d);
	if (rc != ST_OK)
		return cli_fail(rc == ST_EEXIST ? CLI_PARTIAL : CLI_USAGE,
				"collection add: %s", d.msg);
	printf("%s\n", coll.id);
	return CLI_OK;
}

struct list_ctx {
	bool json;
	struct jw *w;
	int n;
};

static int print_coll(void *ctx, const struct store_collection *coll)
{
	struct list_ctx *l = ctx;
	l->n++;
	if (!l->json) {
		printf("%-36s  %-12s  %s\n", coll->id,
		       coll->alias[0] ? coll->alias : "-", coll->title);
		return 0;
	}
	struct jw *w = l->w;
	jw_obj_open(w);
	jw_key(w, "id");
	jw_str(w, coll->id);
	jw_key(w, "title");
	jw_str(w, coll->title);
	if (coll->description[0]) {
		jw_key(w, "description");
		jw_str(w, coll->description);
	}
	if (coll->alias[0]) {
		jw_key(w, "alias");
		jw_str(w, coll->alias);
	}
	jw_key(w, "media_types");
	jw_arr_open(w);
	jw_str(w, "application/stix+json;version=2.1");
	jw_arr_close(w);
	jw_obj_close(w);
	return 0;
}

static int coll_list(struct cli *c, int argc, char **argv)
{
	bool json = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (strcmp(argv[i], "--help") == 0) {
			fputs(coll_usage, stdout);
			return CLI_OK;
		} else {
			return cli_fail(CLI_USAGE,
					"collection list: unexpected '%s'",
					argv[i]);
		}
	}
	int rc = cli_open(c);
	if (rc != CLI_OK)
		return rc;
	struct buf out = BUF_INIT(1 << 26);
	struct jw w;
	jw_init(&w, &out);
	struct list_ctx l = {json, &w, 0};
	if (json)
		jw_arr_open(&w);
	else
		printf("%-36s  %-12s  %s\n", "ID", "ALIAS", "TITLE");
	store_collection_list(c->store, print_coll, &l);
	if (json) {
		jw_arr_close(&w);
		if (jw_finish(&w) != ST_OK) {
			buf_free(&out);
			return cli_fail(CLI_USAGE, "collection list: output "
						   "too large");
		}
		printf("%s\n", out.data);
	}
	buf_free(&out);
	return CLI_OK;
}

static int coll_grant(struct cli *c, int argc, char **argv)
{
	const char *pos[3];
	int npos = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			fputs(coll_usage, stdout);
			return CLI_OK;
		}
		if (npos == 3)
			return cli_fail(CLI_USAGE,
					"collection grant: unexpected '%s'",
					argv[i]);
		pos[npos++] = argv[i];
	}
	if (npos != 3)
		return cli_fail(CLI_USAGE, "collection grant: COLLECTION USER "
					   "read|write|none expected");
	enum auth_access access;
	if (auth_access_parse(pos[2], &access) != ST_OK)
		return cli_fail(CLI_USAGE,
				"collection grant: '%s' is not read, write or "
				"none",
				pos[2]);
	int rc = cli_open(c);
	if (rc != CLI_OK)
		return rc;
	struct store_collection coll;
	int err = store_collection_find(c->store, pos[0], &coll);
	if (err == ST_ENOTFOUND)
		return cli_fail(CLI_PARTIAL,
				"collection grant: no collection '%s' (see "
				"'strait collection list')",
				pos[0]);
	if (err != ST_OK)
		return cli_fail(CLI_USAGE, "collection grant: '%s': %s", pos[0],
				st_strerror(err));
	struct auth *a = NULL;
	rc = cli_auth_open(c, false, &a);
	if (rc == CLI_PARTIAL)
		return cli_fail(CLI_PARTIAL,
				"collection grant: no such user '%s' (no "
				"accounts yet)",
				pos[1]);
	if (rc != CLI_OK)
		return rc;
	struct diag d;
	err = auth_grant_set(a, pos[1], coll.id, access, &d);
	auth_close(a);
	if (err != ST_OK)
		return cli_fail(err == ST_ENOTFOUND ? CLI_PARTIAL : CLI_USAGE,
				"collection grant: %s", d.msg);
	printf("%s: %s on %s%s%s%s\n", pos[1], auth_access_name(access),
	       coll.id, coll.alias[0] ? " (" : "", coll.alias,
	       coll.alias[0] ? ")" : "");
	return CLI_OK;
}

int cmd_collection(struct cli *c, int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		fputs(coll_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_USAGE : CLI_OK;
	}
	if (strcmp(argv[1], "add") == 0)
		return coll_add(c, argc - 1, argv + 1);
	if (strcmp(argv[1], "list") == 0)
		return coll_list(c, argc - 1, argv + 1);
	if (strcmp(argv[1], "grant") == 0)
		return coll_grant(c, argc - 1, argv + 1);
	fputs(coll_usage, stderr);
	return cli_fail(CLI_USAGE, "collection: unknown subcommand '%s'",
			argv[1]);
}
