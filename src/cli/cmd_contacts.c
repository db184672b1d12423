/*
 * strait contacts: the partners' contact profiles (team, time zone,
 * languages, hours, contacts, hotline principals with their keys'
 * fingerprints and whether they are confirmed), as `strait serve` last
 * fetched them; --own: the profile this node publishes.
 */
#include "cli/cli.h"

#include "common/json.h"
#include "federation/peers.h"
#include "hotline/hotline.h"
#include "hotline/node.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char contacts_usage[] =
    "usage: strait contacts [--own] [--json]\n"
    "\n"
    "Each partner's contact profile as strait serve last fetched it (every\n"
    "30 s from GET /api/v1/contacts/ on the partner): its team (from its\n"
    "contacts.yaml: team, time_zone, languages, hours, email, phone, ...)\n"
    "and its hotline principals, each with the fingerprint of its keys\n"
    "and whether it is confirmed here (strait hotline trust).\n"
    "  --own    the profile this node publishes (contacts.yaml in the home\n"
    "           and the principals enrolled here)\n"
    "  --json   {\"partners\": [{\"partner\", \"fetched\", \"profile\"}]}\n";

struct show_ctx {
	struct hl_db *db;
	bool json;
	struct jw *w;
	size_t n;
};

static void text_value(const struct json_val *v)
{
	if (v->type == JSON_STRING) {
		printf("%s", v->u.str);
		return;
	}
	for (uint32_t i = 0; v->type == JSON_ARRAY && i < v->len; i++)
		if (v->u.items[i].type == JSON_STRING)
			printf("%s%s", i ? ", " : "", v->u.items[i].u.str);
}

static void show_text(struct hl_db *db, const char *peer,
		      const struct json_val *root, const char *fetched)
{
	const struct json_val *node = json_get(root, "node");
	const struct json_val *nm = node ? json_get(node, "name") : NULL;
	printf("%s%s%s%s\n", peer, nm && nm->type == JSON_STRING ? " (" : "",
	       nm && nm->type == JSON_STRING ? nm->u.str : "",
	       nm && nm->type == JSON_STRING ? ")" : "");
	if (fetched != NULL)
		printf("  fetched      %s\n", fetched);
	const struct json_val *team = json_get(root, "team");
	for (uint32_t i = 0;
	     team != NULL && team->type == JSON_OBJECT && i < team->len; i++) {
		printf("  %-12s ", team->u.members[i].key);
		text_value(&team->u.members[i].val);
		printf("\n");
	}
	const struct json_val *ps = json_get(root, "principals");
	for (uint32_t i = 0;
	     ps != NULL && ps->type == JSON_ARRAY && i < ps->len; i++) {
		const struct json_val *a = json_get(&ps->u.items[i], "address");
		const struct json_val *t = json_get(&ps->u.items[i], "title");
		const struct json_val *f =
		    json_get(&ps->u.items[i], "fingerprint");
		if (a == NULL || a->type != JSON_STRING)
			continue;
		struct hl_principal p;
		const char *trust = hl_principal_get(db, a->u.str, &p) == ST_OK
					? hl_trust_name(p.trust)
					: "unknown";
		const char *slash = strchr(a->u.str, '/');
		printf("  principal    %s%s%s%s  [%s]\n",
		       slash ? slash + 1 : a->u.str,
		       t && t->type == JSON_STRING && t->len ? " (" : "",
		       t && t->type == JSON_STRING ? t->u.str : "",
		       t && t->type == JSON_STRING && t->len ? ")" : "", trust);
		if (f != NULL && f->type == JSON_STRING)
			printf("               %s\n", f->u.str);
	}
}

static int show_one(void *ctx, const struct peer *peer)
{
	struct show_ctx *x = ctx;
	char *json = NULL;
	st_time fetched = 0;
	if (hl_profile_get(x->db, peer->name, &json, &fetched, NULL) != ST_OK) {
		if (!x->json)
			printf("%s: no profile yet (strait serve fetches it "
			       "once the partner is reachable)\n",
			       peer->name);
		return ST_OK;
	}
	char ts[TS_BUFSZ];
	ts_format(fetched, ts);
	struct json_doc *doc = json_doc_new();
	const struct json_val *root;
	if (doc != NULL && json_parse(doc, json, strlen(json), 0, NULL, &root,
				      NULL) == ST_OK) {
		if (x->json) {
			jw_obj_open(x->w);
			jw_key(x->w, "partner");
			jw_str(x->w, peer->name);
			jw_key(x->w, "fetched");
			jw_str(x->w, ts);
			jw_key(x->w, "profile");
			jw_value(x->w, root);
			jw_obj_close(x->w);
		} else {
			show_text(x->db, peer->name, root, ts);
		}
		x->n++;
	}
	json_doc_free(doc);
	free(json);
	return ST_OK;
}

int cmd_contacts(struct cli *c, int argc, char **argv)
{
	bool json = false, own = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (strcmp(argv[i], "--own") == 0)
			own = true;
		else if (strcmp(argv[i], "--help") == 0 ||
			 strcmp(argv[i], "-h") == 0) {
			fputs(contacts_usage, stdout);
			return CLI_OK;
		} else {
			fputs(contacts_usage, stderr);
			return cli_fail(CLI_USAGE, "contacts: unexpected '%s'",
					argv[i]);
		}
	}
	int rc = cli_load_config(c);
	if (rc != CLI_OK)
		return rc;
	struct diag d;
	struct hl_db *db = NULL;
	if (hl_db_open(c->home, &db, &d) != ST_OK)
		return cli_fail(CLI_USAGE, "contacts: %s", d.msg);
	struct buf out = BUF_INIT(64 << 20);
	if (own) {
		if (hl_profile_json(c->home, db, c->cfg.node_identity,
				    c->cfg.node_name, c->cfg.node_country, &out,
				    &d) != ST_OK) {
			rc = cli_fail(CLI_USAGE, "contacts: %s", d.msg);
		} else if (json) {
			printf("%s\n", out.data);
		} else {
			struct json_doc *doc = json_doc_new();
			const struct json_val *root;
			if (doc != NULL && json_parse(doc, out.data, out.len, 0,
						      NULL, &root, &d) == ST_OK)
				show_text(db, "this node", root, NULL);
			json_doc_free(doc);
		}
		buf_free(&out);
		hl_db_close(db);
		return rc;
	}
	struct jw w;
	jw_init(&w, &out);
	jw_obj_open(&w);
	jw_key(&w, "partners");
	jw_arr_open(&w);
	struct show_ctx x = {db, json, &w, 0};
	struct stat sb;
	if (stat(cli_path(c, "peers.db"), &sb) == 0) {
		struct peers *p = NULL;
		if (peers_open(c->home, &p, &d) != ST_OK) {
			rc = cli_fail(CLI_USAGE, "contacts: %s", d.msg);
		} else {
			peers_list(p, show_one, &x, &d);
			peers_close(p);
		}
	}
	jw_arr_close(&w);
	jw_obj_close(&w);
	if (rc == CLI_OK && json && jw_finish(&w) == ST_OK)
		printf("%s\n", out.data);
	else if (rc == CLI_OK && !json && x.n == 0)
		printf("no partner profile yet\n");
	buf_free(&out);
	hl_db_close(db);
	return rc;
}
