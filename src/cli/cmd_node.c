#include "cli/cli.h"

#include "common/json.h"
#include "common/time.h"
#include "federation/nodekey.h"

#include <stdio.h>
#include <string.h>

static const char node_usage[] =
    "usage: strait node show [--json]\n"
    "       strait node rotate-key\n"
    "\n"
    "show: the node's identity, its signing key (id and public key, the\n"
    "one partners verify attestations with, and the keys it retired) and\n"
    "a summary of what it holds: object versions by type, collections and\n"
    "the size of the store.\n"
    "\n"
    "rotate-key: retires the current signing key (its secret is wiped;\n"
    "its public key stays in the history, so what it signed can still be\n"
    "verified) and makes a new one. Give partners the new public key.\n"
    "A home made before node keys existed gets its first key this way.\n";

/* Prints one key of the history as text or JSON. */
static void print_key(struct jw *w, const struct nodekey_pub *p)
{
	char text[NODEKEY_PUB_TEXT], ts[TS_BUFSZ];
	nodekey_pub_text(p->pk, text);
	if (w == NULL) {
		ts_format(p->created * 1000000, ts);
		printf("  %s  %s  created %s%s\n", p->id, text, ts,
		       p->retired ? "  retired" : "  current");
		return;
	}
	jw_obj_open(w);
	jw_key(w, "key_id");
	jw_str(w, p->id);
	jw_key(w, "public_key");
	jw_str(w, text);
	jw_key(w, "created");
	ts_format(p->created * 1000000, ts);
	jw_str(w, ts);
	jw_key(w, "retired");
	if (p->retired) {
		ts_format(p->retired * 1000000, ts);
		jw_str(w, ts);
	} else {
		jw_null(w);
	}
	jw_obj_close(w);
}

static int cmd_rotate(struct cli *c)
{
	struct diag d;
	int rc = cli_open(c);
	if (rc != CLI_OK)
		return rc;
	int64_t now = time_now() / 1000000;
	struct nodekeys *k;
	rc = nodekeys_load(c->home, &k, &d);
	if (rc == ST_ENOTFOUND) {
		if (nodekeys_create(c->home, now, &d) != ST_OK ||
		    nodekeys_load(c->home, &k, &d) != ST_OK)
			return cli_fail(CLI_USAGE, "node rotate-key: %s",
					d.msg);
		printf("the node had no signing key: made one\n");
	} else if (rc != ST_OK) {
		return cli_fail(CLI_USAGE, "node rotate-key: %s", d.msg);
	} else {
		char old[NODEKEY_ID_LEN + 1];
		snprintf(old, sizeof(old), "%s", nodekeys_current(k)->id);
		if (nodekeys_rotate(k, now, &d) != ST_OK) {
			nodekeys_free(k);
			return cli_fail(CLI_USAGE, "node rotate-key: %s",
					d.msg);
		}
		printf("retired %s\n", old);
	}
	char text[NODEKEY_PUB_TEXT];
	nodekey_pub_text(nodekeys_current(k)->pk, text);
	printf("current %s %s\n", nodekeys_current(k)->id, text);
	cli_audit(c, "key.rotate", "current", nodekeys_current(k)->id, NULL);
	printf("give partners the new public key; what the retired keys "
	       "signed still verifies\n");
	nodekeys_free(k);
	return CLI_OK;
}

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
	if (argc == 2 && strcmp(argv[1], "rotate-key") == 0)
		return cmd_rotate(c);
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
	struct diag kd;
	struct nodekeys *keys = NULL;
	nodekeys_load(c->home, &keys, &kd);
	const struct nodekey_pub *hist = NULL;
	size_t nkeys = keys != NULL ? nodekeys_history(keys, &hist) : 0;
	const struct nodekey_pub *cur =
	    keys != NULL ? nodekeys_current(keys) : NULL;
	char cur_text[NODEKEY_PUB_TEXT] = "";
	if (cur != NULL)
		nodekey_pub_text(cur->pk, cur_text);
	if (!json) {
		printf("node         %s\n", c->cfg.node_name);
		printf("organisation %s\n", c->cfg.node_org);
		printf("country      %s\n",
		       c->cfg.node_country[0] ? c->cfg.node_country : "-");
		printf("identity     %s\n", c->cfg.node_identity);
		if (cur != NULL) {
			printf("key id       %s\n", cur->id);
			printf("public key   %s\n", cur_text);
		} else {
			printf("key          none: %s\n", kd.msg);
		}
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
		if (nkeys > 0)
			printf("signing keys (oldest first):\n");
		for (size_t i = 0; i < nkeys; i++)
			print_key(NULL, &hist[i]);
		nodekeys_free(keys);
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
	jw_key(&w, "key_id");
	if (cur != NULL)
		jw_str(&w, cur->id);
	else
		jw_null(&w);
	jw_key(&w, "public_key");
	if (cur != NULL)
		jw_str(&w, cur_text);
	else
		jw_null(&w);
	jw_key(&w, "keys");
	jw_arr_open(&w);
	for (size_t i = 0; i < nkeys; i++)
		print_key(&w, &hist[i]);
	jw_arr_close(&w);
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
	nodekeys_free(keys);
	return rc == ST_OK ? CLI_OK : cli_fail(CLI_USAGE, "node show: output");
}
