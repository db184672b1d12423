#include "cli/cli.h"

#include "common/json.h"
#include "common/uuid.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char export_usage[] =
    "usage: strait export [--collection ID] [--type T,...] [--added-after TS]\n"
    "                     [--all-versions] [-o FILE]\n"
    "\n"
    "Writes the objects of a collection as one STIX 2.1 bundle, in the\n"
    "order they were added, each object exactly as stored (RFC 8785\n"
    "canonical form). By default only the latest version of each object.\n"
    "\n"
    "  --collection ID    collection id or alias (default: 'default')\n"
    "  --type T,...       only these STIX types\n"
    "  --added-after TS   only versions added after this timestamp\n"
    "  --all-versions     every version, not only the latest\n"
    "  -o, --output FILE  write to FILE (atomically) instead of stdout\n";

#define PAGE 1000
#define MAX_TYPES 64

struct export_ctx {
	FILE *f;
	uint64_t n;
	st_time last_added;
	int err;
};

static int write_row(void *ctx, const struct store_row *row)
{
	struct export_ctx *x = ctx;
	if (x->n > 0 && fputc(',', x->f) == EOF)
		x->err = errno;
	if (fwrite(row->body, 1, row->body_len, x->f) != row->body_len)
		x->err = errno;
	x->n++;
	x->last_added = row->date_added;
	return x->err != 0;
}

int cmd_export(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"collection", required_argument, NULL, 'c'},
	    {"type", required_argument, NULL, 't'},
	    {"added-after", required_argument, NULL, 'a'},
	    {"all-versions", no_argument, NULL, 'A'},
	    {"output", required_argument, NULL, 'o'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *coll_arg = NULL, *out_path = NULL;
	char *types_arg = NULL;
	const char *types[MAX_TYPES + 1] = {NULL};
	struct store_query q;
	memset(&q, 0, sizeof(q));
	q.vsel = STORE_V_LAST;
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			coll_arg = optarg;
			break;
		case 't':
			types_arg = optarg;
			break;
		case 'a':
			if (ts_parse(optarg, strlen(optarg), &q.added_after,
				     NULL) != ST_OK)
				return cli_fail(CLI_USAGE,
						"export: --added-after: not a "
						"timestamp like "
						"2024-01-31T12:00:00.000000Z: "
						"'%s'",
						optarg);
			break;
		case 'A':
			q.vsel = STORE_V_ALL;
			break;
		case 'o':
			out_path = optarg;
			break;
		case 'h':
			fputs(export_usage, stdout);
			return CLI_OK;
		default:
			fputs(export_usage, stderr);
			return CLI_USAGE;
		}
	}
	if (optind != argc)
		return cli_fail(CLI_USAGE, "export: unexpected argument '%s'",
				argv[optind]);
	if (types_arg != NULL) {
		int n = 0;
		for (char *save = NULL, *t = strtok_r(types_arg, ",", &save);
		     t != NULL; t = strtok_r(NULL, ",", &save)) {
			if (n == MAX_TYPES)
				return cli_fail(CLI_USAGE,
						"export: more than %d types",
						MAX_TYPES);
			types[n++] = t;
		}
		types[n] = NULL;
		q.types = types;
	}
	int rc = cli_open(c);
	if (rc != CLI_OK)
		return rc;
	struct store_collection coll;
	if ((rc = cli_collection(c, coll_arg, &coll)) != CLI_OK)
		return rc;
	q.cid = coll.cid;
	q.limit = PAGE;

	char tmp[4200] = "";
	struct export_ctx x = {stdout, 0, 0, 0};
	if (out_path != NULL) {
		snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", out_path,
			 (long)getpid());
		x.f = fopen(tmp, "wb");
		if (x.f == NULL)
			return cli_fail(CLI_USAGE, "export: %s: %s", tmp,
					strerror(errno));
	}
	uint8_t u[16];
	char us[UUID_STRLEN + 1];
	uuid_v4(u);
	uuid_format(u, us);
	fprintf(x.f, "{\"type\":\"bundle\",\"id\":\"bundle--%s\",\"objects\":[",
		us);
	int status = CLI_OK;
	for (;;) {
		size_t got = 0;
		struct diag d;
		rc = store_query(c->store, &q, write_row, &x, &got, &d);
		if (rc < 0) {
			status = cli_fail(CLI_USAGE, "export: %s", d.msg);
			break;
		}
		if (x.err) {
			status = cli_fail(CLI_USAGE, "export: write: %s",
					  strerror(x.err));
			break;
		}
		if (got < PAGE)
			break;
		q.added_after = x.last_added;
	}
	fputs("]}\n", x.f);
	if (out_path != NULL) {
		if (fflush(x.f) != 0 || fsync(fileno(x.f)) != 0)
			status = cli_fail(CLI_USAGE, "export: %s: %s", tmp,
					  strerror(errno));
		if (fclose(x.f) != 0 && status == CLI_OK)
			status = cli_fail(CLI_USAGE, "export: %s: %s", tmp,
					  strerror(errno));
		if (status == CLI_OK && rename(tmp, out_path) != 0)
			status = cli_fail(CLI_USAGE, "export: %s: %s", out_path,
					  strerror(errno));
		if (status != CLI_OK)
			unlink(tmp);
		else
			fprintf(stderr, "exported %llu objects to %s\n",
				(unsigned long long)x.n, out_path);
	} else if (fflush(stdout) != 0) {
		status =
		    cli_fail(CLI_USAGE, "export: write: %s", strerror(errno));
	}
	return status;
}
