/*
 * strait search: full text over names, descriptions and translations.
 */
#include "cli/cli.h"

#include "common/json.h"
#include "lookup/lookup.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char search_usage[] =
    "usage: strait search TEXT [--json] [--limit N] [--quiet]\n"
    "\n"
    "Objects whose name, description, aliases, labels, note content or\n"
    "translations (language-content) hold TEXT, in any case, newest\n"
    "first, each at its latest version. Korean and Japanese are found\n"
    "without word segmentation (trigrams): '라자루스' or 'ラザルス' find\n"
    "the words inside longer text. TEXT of one or two characters is looked\n"
    "for by a scan, which is slower.\n"
    "\n"
    "  --json        the answer as JSON (the shape of GET /api/v1/search)\n"
    "  --limit N     at most N objects (default 20)\n"
    "  --quiet       no progress while the index catches up\n"
    "\n"
    "exit status: 0 something found, 1 nothing found, 2 usage or I/O "
    "error.\n";

int cmd_search(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"limit", required_argument, NULL, 'l'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	bool json = false, quiet = false;
	long limit = 20;
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			json = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 'l': {
			char *end;
			limit = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || limit < 1 ||
			    limit > 10000)
				return cli_fail(CLI_USAGE,
						"search: --limit: expected 1 "
						"to 10000, got '%s'",
						optarg);
			break;
		}
		case 'h':
			fputs(search_usage, stdout);
			return CLI_OK;
		default:
			fputs(search_usage, stderr);
			return CLI_USAGE;
		}
	}
	if (optind + 1 != argc) {
		fputs(search_usage, stderr);
		return cli_fail(CLI_USAGE, "search: one TEXT expected (quote "
					   "it when it has spaces)");
	}
	const char *q = argv[optind];
	struct diag d;
	if (lk_search_check(q, &d) != ST_OK)
		return cli_fail(CLI_USAGE, "search: %s", d.msg);
	struct lk_index *x = NULL;
	int rc = cli_lookup_index(c, "search", quiet, &x);
	if (rc != CLI_OK)
		return rc;
	struct buf out = BUF_INIT((size_t)1 << 30);
	struct jw w;
	jw_init(&w, &out);
	rc = lk_search_json(x, q, c->cfg.node_identity, NULL, NULL,
			    (size_t)limit, &w, &d);
	if (rc == ST_OK)
		rc = jw_finish(&w);
	lk_close(x);
	if (rc != ST_OK) {
		buf_free(&out);
		return cli_fail(CLI_USAGE, "search: %s",
				d.msg[0] ? d.msg : st_strerror(rc));
	}
	struct json_doc *doc = json_doc_new();
	const struct json_val *root = NULL, *objs = NULL;
	if (doc == NULL ||
	    json_parse(doc, out.data, out.len, 0, NULL, &root, &d) != ST_OK) {
		json_doc_free(doc);
		buf_free(&out);
		return cli_fail(CLI_USAGE, "search: out of memory");
	}
	objs = json_get(root, "objects");
	size_t n = objs != NULL ? objs->len : 0;
	if (json) {
		fwrite(out.data, 1, out.len, stdout);
		fputc('\n', stdout);
	} else {
		printf("\"%s\": %zu object%s%s\n", q, n, n == 1 ? "" : "s",
		       json_get(root, "more")->type == JSON_TRUE
			   ? " (more than --limit shows)"
			   : "");
		for (size_t i = 0; i < n; i++) {
			const struct json_val *o = &objs->u.items[i];
			const struct json_val *src = json_get(o, "source");
			const struct json_val *local = json_get(src, "local");
			const char *peer = json_get_str(src, "from_peer");
			printf("\n  %s  TLP:%s  %s%s%s\n",
			       json_get_str(o, "id"), json_get_str(o, "tlp"),
			       local != NULL && local->type == JSON_TRUE
				   ? "this node"
			       : peer ? "from peer "
				      : "origin unknown",
			       local != NULL && local->type == JSON_TRUE ? ""
			       : peer					 ? peer
									 : "",
			       json_get(o, "revoked") ? "  REVOKED" : "");
			if (json_get_str(o, "name") != NULL)
				printf("    %.200s\n", json_get_str(o, "name"));
			if (json_get_str(o, "translates") != NULL)
				printf("    a translation of %s\n",
				       json_get_str(o, "translates"));
			/* the snippet on one line */
			printf("    ");
			for (const char *s = json_get_str(o, "snippet");
			     s && *s; s++)
				putchar(*s == '\n' ? ' ' : *s);
			printf("\n");
		}
	}
	json_doc_free(doc);
	buf_free(&out);
	return n > 0 ? CLI_OK : CLI_PARTIAL;
}
