#include "cli/cli.h"

#include "common/json.h"

#include <stdio.h>
#include <string.h>

static const char node_usage[] =
    "usage: strait node show [--json]\n"
    "\n"
    "Shows the node's identity and a summary of what it holds: object\n"
    "versions by type, collections and the size of the store.\n";

struct type_ctx {
	struct jw *w; /* NULL for text */
};

static int print_type(void *ctx, const char *type, uint64_t n)
{
	struct type_ctx *t = ctx;
	if (t->w == NULL) {
		printf("  %-24s %llu\n", type, (unsigned long long)n);
		return 0;
	}
	jw_key(t->w, type);
	jw_int(t->w, (int64_t)n);
	return 0;
}

static int print_coll(void *ctx, const struct store_collection *coll)
{
	struct type_ctx *t = ctx;
	if (t->w == NULL) {
		printf("  %s  %-10s %s\n", coll->id,
		       coll->alias[0] ? coll->alias : "-", coll->title);
		return 0;
	}
	jw_obj_open(t->w);
	jw_key(t->w, "id");
	jw_str(t->w, coll->id);
	jw_key(t->w, "alias");
	jw_str(t->w, coll->alias);
	jw_key(t->w, "title");
	jw_str(t->w, coll->title);
	jw_obj_close(t->w);
	return 0;
}

int cmd_node(struct cli *c, int argc, char **argv)
{
	bool json = false;
	if (argc < 2 || strcmp(argv[1], "show") != 0) {
		if (argc >= 2 && strcmp(argv[1], "--help") == 0) {
			fputs(node_usage, stdout);
			return CLI_OK;
		}
		fputs(node_usage, stderr);
		return CLI_USAGE;
	}
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (strcmp(argv[i], "--help") == 0) {
			fputs(node_usage, stdout);
			return CLI_OK;
		} else
			return cli_fail(CLI_USAGE, "node show: unexpected '%s'",
					argv[i]);
	}
	int rc = cli_open(c);
	if (rc != CLI_OK)
		return rc;
	struct store_stats st;
	if ((rc = store_stats(c->store, &st)) != ST_OK)
		return cli_fail(CLI_USAGE, "node show: %s", st_strerror(rc));
	if (!json) {
		printf("node         %s\n", c->cfg.node_name);
		printf("organisation %s\n", c->cfg.node_org);
		printf("country      %s\n",
		       c->cfg.node_country[0] ? c->cfg.node_country : "-");
		printf("identity     %s\n", c->cfg.node_identity);
		printf("incarnation  %s\n", store_incarnation(c->store));
		printf("home         %s\n", c->home);
		printf("store        %llu versions of %llu objects, %.1f MB\n",
		       (unsigned long long)st.versions,
		       (unsigned long long)st.objects,
		       (double)st.db_bytes / 1e6);
		printf("versions by type:\n");
		struct type_ctx t = {NULL};
		store_count_by_type(c->store, print_type, &t);
		printf("collections:\n");
		store_collection_list(c->store, print_coll, &t);
		return CLI_OK;
	}
	struct buf out = BUF_INIT(1 << 24);
	struct jw w;
	jw_init(&w, &out);
	struct type_ctx t = {&w};
	jw_obj_open(&w);
	jw_key(&w, "id");
	jw_str(&w, c->cfg.node_identity);
	jw_key(&w, "name");
	jw_str(&w, c->cfg.node_name);
	jw_key(&w, "org");
	jw_str(&w, c->cfg.node_org);
	jw_key(&w, "country");
	jw_str(&w, c->cfg.node_country);
	jw_key(&w, "incarnation");
	jw_str(&w, store_incarnation(c->store));
	jw_key(&w, "versions");
	jw_int(&w, (int64_t)st.versions);
	jw_key(&w, "objects");
	jw_int(&w, (int64_t)st.objects);
	jw_key(&w, "store_bytes");
	jw_int(&w, (int64_t)st.db_bytes);
	jw_key(&w, "types");
	jw_obj_open(&w);
	store_count_by_type(c->store, print_type, &t);
	jw_obj_close(&w);
	jw_key(&w, "collections");
	jw_arr_open(&w);
	store_collection_list(c->store, print_coll, &t);
	jw_arr_close(&w);
	jw_obj_close(&w);
	rc = jw_finish(&w);
	if (rc == ST_OK)
		printf("%s\n", out.data);
	buf_free(&out);
	return rc == ST_OK ? CLI_OK : cli_fail(CLI_USAGE, "node show: output");
}
