#include "cli/cli.h"

#include "common/json.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const char get_usage[] =
    "usage: strait get ID [--version first|last|all|TIMESTAMP] [--json]\n"
    "\n"
    "Prints an object as stored. The latest version is the one with the\n"
    "greatest 'modified' (not the one that arrived last).\n"
    "\n"
    "  --version V   first, last (default), all, or a version timestamp\n"
    "  --json        JSON: {\"id\", \"versions\": [{\"version\", \"seq\",\n"
    "                \"tlp\", \"tlp_source\", \"warnings\", \"object\"}]}\n"
    "\n"
    "exit status: 0 found, 1 no such object or version, 2 usage error.\n";

struct get_ctx {
	bool json;
	struct jw *w;
	size_t n;
};

static const char *tlp_source(const struct store_row *row)
{
	if (row->flags & STORE_F_UNKNOWN_MARKING)
		return "unknown-marking";
	if (row->flags & STORE_F_DEFAULT_TLP)
		return "default";
	return "object";
}

static int print_row(void *ctx, const struct store_row *row)
{
	struct get_ctx *g = ctx;
	char ver[TS_BUFSZ];
	ts_format(row->version, ver);
	g->n++;
	if (!g->json) {
		printf("# version %s  seq %llu  TLP:%s (%s)\n", ver,
		       (unsigned long long)row->seq, tlp_name(row->tlp),
		       tlp_source(row));
		if (row->warnings != NULL)
			printf("# warnings %s\n", row->warnings);
		fwrite(row->body, 1, row->body_len, stdout);
		fputc('\n', stdout);
		return 0;
	}
	struct jw *w = g->w;
	jw_obj_open(w);
	jw_key(w, "version");
	jw_str(w, ver);
	jw_key(w, "seq");
	jw_int(w, (int64_t)row->seq);
	jw_key(w, "tlp");
	jw_str(w, tlp_name(row->tlp));
	jw_key(w, "tlp_source");
	jw_str(w, tlp_source(row));
	jw_key(w, "warnings");
	if (row->warnings != NULL)
		jw_raw(w, row->warnings, strlen(row->warnings));
	else {
		jw_arr_open(w);
		jw_arr_close(w);
	}
	jw_key(w, "object");
	jw_raw(w, row->body, row->body_len);
	jw_obj_close(w);
	return 0;
}

int cmd_get(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"version", required_argument, NULL, 'v'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct store_query q;
	memset(&q, 0, sizeof(q));
	q.vsel = STORE_V_LAST;
	bool json = false;
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'v':
			if (strcmp(optarg, "first") == 0)
				q.vsel = STORE_V_FIRST;
			else if (strcmp(optarg, "last") == 0)
				q.vsel = STORE_V_LAST;
			else if (strcmp(optarg, "all") == 0)
				q.vsel = STORE_V_ALL;
			else if (ts_parse(optarg, strlen(optarg), &q.at,
					  NULL) == ST_OK)
				q.vsel = STORE_V_AT;
			else
				return cli_fail(
				    CLI_USAGE,
				    "get: --version: expected first, "
				    "last, all or a timestamp, got "
				    "'%s'",
				    optarg);
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(get_usage, stdout);
			return CLI_OK;
		default:
			fputs(get_usage, stderr);
			return CLI_USAGE;
		}
	}
	if (optind + 1 != argc) {
		fputs(get_usage, stderr);
		return cli_fail(CLI_USAGE, "get: one ID expected");
	}
	const char *id = argv[optind];
	char type[STIX_TYPE_MAX];
	uint8_t uuid[16];
	if (stix_parse_id(id, strlen(id), type, uuid) != ST_OK)
		return cli_fail(CLI_USAGE,
				"get: '%s' is not a STIX id (type--uuid)", id);
	int rc = cli_open(c);
	if (rc != CLI_OK)
		return rc;
	q.id = id;
	struct buf out = BUF_INIT((size_t)1 << 30);
	struct jw w;
	jw_init(&w, &out);
	struct get_ctx g = {json, &w, 0};
	if (json) {
		jw_obj_open(&w);
		jw_key(&w, "id");
		jw_str(&w, id);
		jw_key(&w, "versions");
		jw_arr_open(&w);
	}
	struct diag d;
	rc = store_query(c->store, &q, print_row, &g, NULL, &d);
	if (rc < 0) {
		buf_free(&out);
		return cli_fail(CLI_USAGE, "get: %s", d.msg);
	}
	if (g.n == 0) {
		buf_free(&out);
		return cli_fail(CLI_PARTIAL, "get: no such %s: %s",
				q.vsel == STORE_V_AT ? "version" : "object",
				id);
	}
	if (json) {
		jw_arr_close(&w);
		jw_obj_close(&w);
		if (jw_finish(&w) != ST_OK) {
			buf_free(&out);
			return cli_fail(CLI_USAGE, "get: output too large");
		}
		printf("%s\n", out.data);
	}
	buf_free(&out);
	return CLI_OK;
}
