/*
 * strait lookup: "have we, or any partner, seen this value?"
 */
#include "cli/cli.h"

#include "common/buf.h"
#include "common/json.h"
#include "lifecycle/lifecycle.h"
#include "lookup/lookup.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char lookup_usage[] =
    "usage: strait lookup VALUE [--json] [--limit N] [--quiet]\n"
    "\n"
    "Everything this node holds about one value, across all collections:\n"
    "SCOs with that value, indicators whose pattern matches it (or names\n"
    "it), and the sightings, reports and observed-data that refer to them,\n"
    "each at its latest version, with where it came from: this node or a\n"
    "partner. Nothing is rewritten; partners' objects stay theirs.\n"
    "\n"
    "VALUE is an IPv4 or IPv6 address or CIDR prefix, a domain name, a URL\n"
    "(scheme://...), a file hash (MD5, SHA-1, SHA-256, SHA-512), an email\n"
    "address, a Bitcoin or Ethereum address, or an ATT&CK id (T1566.001,\n"
    "G0032, S0154, TA0001, M1017). A prefix also finds the addresses and\n"
    "narrower prefixes inside it.\n"
    "\n"
    "Each indicator also shows what this node thinks of it now\n"
    "(docs/LIFECYCLE.md): its confidence decayed by age, whether it has\n"
    "expired (valid_until, or the default validity of strait.yaml), whether\n"
    "it is suppressed here (strait fp, strait allow), and the opinions\n"
    "held about it: who disagreed, and why.\n"
    "\n"
    "The lookup index (lookup.db in the home) is brought up to date with\n"
    "the store first; `strait serve` keeps it up to date as objects arrive.\n"
    "\n"
    "  --json        the answer as JSON (the shape of GET /api/v1/lookup)\n"
    "  --limit N     at most N objects (default 1000)\n"
    "  --quiet       no progress while the index catches up\n"
    "\n"
    "exit status: 0 something found, 1 nothing found, 2 usage or I/O "
    "error.\n";

struct catch_ctx {
	struct progress *p;
	uint64_t start;
};

static void on_progress(void *ctx, uint64_t seq, uint64_t last)
{
	struct catch_ctx *c = ctx;
	if (c->p == NULL && last - c->start > 50000)
		c->p = progress_new(stderr,
				    "versions indexed for lookup and search",
				    last - c->start);
	if (c->p != NULL)
		progress_update(c->p, seq - c->start, seq - c->start, 0);
}

int cli_lookup_index(struct cli *c, const char *cmd, bool quiet,
		     struct lk_index **out)
{
	*out = NULL;
	int rc = cli_open(c);
	if (rc != CLI_OK)
		return rc;
	struct lk_index *x = NULL;
	struct diag d;
	if (lk_open(c->home, c->store, &x, &d) != ST_OK)
		return cli_fail(CLI_USAGE, "%s: %s", cmd, d.msg);
	struct catch_ctx cc = {.start = lk_indexed(x)};
	uint64_t added = 0;
	rc = lk_catch_up(x, quiet ? NULL : on_progress, &cc, &added, &d);
	progress_done(cc.p, added, added, 0);
	if (rc != ST_OK) {
		lk_close(x);
		return cli_fail(CLI_USAGE, "%s: indexing: %s", cmd, d.msg);
	}
	*out = x;
	return CLI_OK;
}

static int64_t int_of(const struct json_val *o, const char *key)
{
	const struct json_val *v = json_get(o, key);
	return v != NULL && v->type == JSON_NUMBER && v->u.num.is_int
		   ? v->u.num.i
		   : 0;
}

/* ---- the lifecycle's view, added to each object of the answer ---- */

struct copy {
	bool got;
	struct store_row row;
	struct buf body, prov;
};

static int on_copy(void *ctx, const struct store_row *row)
{
	struct copy *k = ctx;
	buf_reset(&k->body);
	buf_reset(&k->prov);
	k->row = *row;
	k->got = buf_add(&k->body, row->body, row->body_len) == ST_OK &&
		 (row->prov == NULL ||
		  buf_add(&k->prov, row->prov, row->prov_len) == ST_OK);
	k->row.body = k->body.data;
	k->row.prov = row->prov != NULL ? k->prov.data : NULL;
	k->row.id = NULL;
	k->row.warnings = NULL;
	return 1;
}

/* The name of the identity id: from the answer's sources, else the
 * store (the administrator sees every version); "" when unknown. */
static void identity_name(struct cli *c, const struct json_val *root,
			  const char *id, char *out, size_t cap)
{
	out[0] = '\0';
	const struct json_val *srcs = json_get(root, "sources");
	for (uint32_t i = 0; srcs != NULL && i < srcs->len; i++) {
		const struct json_val *s = &srcs->u.items[i];
		const char *o = json_get_str(s, "origin");
		const char *n = json_get_str(s, "name");
		if (o != NULL && n != NULL && *n && strcmp(o, id) == 0) {
			snprintf(out, cap, "%s", n);
			return;
		}
	}
	struct copy k = {.body = BUF_INIT((size_t)16 << 20),
			 .prov = BUF_INIT((size_t)1 << 20)};
	struct store_query q = {.id = id, .vsel = STORE_V_LAST};
	struct json_doc *doc = json_doc_new();
	const struct json_val *o;
	struct diag d;
	if (doc != NULL &&
	    store_query(c->store, &q, on_copy, &k, NULL, NULL) >= 0 && k.got &&
	    json_parse(doc, k.body.data, k.body.len, 0, NULL, &o, &d) ==
		ST_OK &&
	    json_get_str(o, "name") != NULL)
		snprintf(out, cap, "%s", json_get_str(o, "name"));
	json_doc_free(doc);
	buf_free(&k.body);
	buf_free(&k.prov);
}

/* "opinions": those of the answer about id (found through it). */
static void put_opinions(struct cli *c, const struct json_val *root,
			 const char *id, struct jw *w)
{
	const struct json_val *objs = json_get(root, "objects");
	bool open = false;
	for (uint32_t i = 0; objs != NULL && i < objs->len; i++) {
		const struct json_val *o = &objs->u.items[i];
		const char *via = json_get_str(o, "via");
		if (!json_str_eq(json_get(o, "type"), "opinion") ||
		    via == NULL || strcmp(via, id) != 0)
			continue;
		if (!open) {
			jw_key(w, "opinions");
			jw_arr_open(w);
			open = true;
		}
		const char *by = json_get_str(o, "created_by_ref");
		const struct json_val *src = json_get(o, "source");
		const struct json_val *local = json_get(src, "local");
		char name[256] = "";
		if (by != NULL)
			identity_name(c, root, by, name, sizeof(name));
		jw_obj_open(w);
		jw_key(w, "id");
		jw_str(w, json_get_str(o, "id"));
		jw_key(w, "by");
		if (by != NULL)
			jw_str(w, by);
		else
			jw_null(w);
		jw_key(w, "name");
		jw_str(w, name);
		jw_key(w, "local");
		jw_bool(w, local != NULL && local->type == JSON_TRUE);
		if (json_get_str(src, "from_peer") != NULL) {
			jw_key(w, "from_peer");
			jw_str(w, json_get_str(src, "from_peer"));
		}
		static const char *const keys[] = {"opinion", "explanation",
						   "version"};
		for (size_t k = 0; k < 3; k++) {
			jw_key(w, keys[k]);
			if (json_get_str(o, keys[k]) != NULL)
				jw_str(w, json_get_str(o, keys[k]));
			else
				jw_null(w);
		}
		jw_key(w, "revoked");
		jw_bool(w, json_get(o, "revoked") != NULL);
		jw_obj_close(w);
	}
	if (open)
		jw_arr_close(w);
}

/* What the lifecycle says of one object of the answer (o), appended to
 * it: its effective confidence, its validity, a suppression here. */
static void put_lifecycle(struct cli *c, struct lc *lc,
			  const struct json_val *root, const struct json_val *o,
			  st_time now, struct jw *w)
{
	const char *id = json_get_str(o, "id");
	bool ind = json_str_eq(json_get(o, "type"), "indicator");
	if (id == NULL || (!ind && json_get(o, "confidence") == NULL))
		return;
	struct copy k = {.body = BUF_INIT((size_t)64 << 20),
			 .prov = BUF_INIT((size_t)1 << 20)};
	struct store_query q = {.id = id, .vsel = STORE_V_LAST};
	struct json_doc *doc = json_doc_new();
	const struct json_val *obj;
	struct diag d;
	if (doc == NULL ||
	    store_query(c->store, &q, on_copy, &k, NULL, NULL) < 0 || !k.got ||
	    json_parse(doc, k.body.data, k.body.len, 0, NULL, &obj, &d) !=
		ST_OK)
		goto out;
	k.row.id = id;
	int conf = lc_confidence(lc, obj, now);
	jw_key(w, "effective_confidence");
	if (conf >= 0)
		jw_int(w, conf);
	else
		jw_null(w);
	jw_key(w, "age_days");
	jw_int(w, lc_age(obj, now) / 86400);
	if (!ind)
		goto out;
	bool by_default;
	char rule[128], ts[TS_BUFSZ], why[LC_WHY_MAX];
	st_time until = lc_valid_until(lc, obj, &k.row, &by_default, rule);
	if (by_default) {
		ts_format(until, ts);
		jw_key(w, "valid_until_default");
		jw_str(w, ts);
		jw_key(w, "valid_until_rule");
		jw_str(w, rule);
	}
	jw_key(w, "expired");
	jw_bool(w, until != 0 && until <= now);
	struct lc_fp *fp = malloc(sizeof(*fp));
	if (fp != NULL && lc_fp_find(lc, id, fp)) {
		ts_format(fp->at, ts);
		jw_key(w, "false_positive");
		jw_obj_open(w);
		jw_key(w, "marked");
		jw_str(w, fp->id);
		jw_key(w, "reason");
		jw_str(w, fp->reason);
		jw_key(w, "at");
		jw_str(w, ts);
		jw_key(w, "opinion");
		jw_str(w, fp->opinion);
		jw_obj_close(w);
	}
	free(fp);
	if (lc_suppressed(lc, obj, &k.row, now, why)) {
		jw_key(w, "suppressed");
		jw_str(w, why);
	}
	put_opinions(c, root, id, w);
out:
	json_doc_free(doc);
	buf_free(&k.body);
	buf_free(&k.prov);
}

/* The answer root again, each object with what put_lifecycle adds. */
static int decorate(struct cli *c, struct lc *lc, const struct json_val *root,
		    struct buf *out)
{
	st_time now = time_now();
	struct jw w;
	jw_init(&w, out);
	jw_obj_open(&w);
	for (uint32_t i = 0; i < root->len; i++) {
		const char *key = root->u.members[i].key;
		const struct json_val *v = &root->u.members[i].val;
		jw_key(&w, key);
		if (strcmp(key, "objects") != 0 || v->type != JSON_ARRAY) {
			jw_value(&w, v);
			continue;
		}
		jw_arr_open(&w);
		for (uint32_t j = 0; j < v->len; j++) {
			const struct json_val *o = &v->u.items[j];
			jw_obj_open(&w);
			for (uint32_t m = 0; m < o->len; m++) {
				jw_key(&w, o->u.members[m].key);
				jw_value(&w, &o->u.members[m].val);
			}
			put_lifecycle(c, lc, root, o, now, &w);
			jw_obj_close(&w);
		}
		jw_arr_close(&w);
	}
	jw_obj_close(&w);
	return jw_finish(&w);
}

/* The answer for a person: who knows the value, then each object. */
static void print_text(const struct json_val *r)
{
	const struct json_val *sum = json_get(r, "summary");
	const struct json_val *srcs = json_get(r, "sources");
	const struct json_val *objs = json_get(r, "objects");
	printf("%s (%s)\n", json_get_str(r, "value"), json_get_str(r, "kind"));
	if (objs == NULL || objs->len == 0) {
		printf("  not known here, nor from any partner\n");
		return;
	}
	int64_t partners = int_of(sum, "partners");
	const struct json_val *kh = json_get(sum, "known_here");
	bool here = kh != NULL && kh->type == JSON_TRUE;
	if (here && partners == 0)
		printf("  known here only\n");
	else if (here)
		printf("  known here and to %lld partner%s\n",
		       (long long)partners, partners == 1 ? "" : "s");
	else
		printf("  known to %lld partner%s, not made here\n",
		       (long long)partners, partners == 1 ? "" : "s");
	for (uint32_t i = 0; srcs != NULL && i < srcs->len; i++) {
		const struct json_val *s = &srcs->u.items[i];
		const char *name = json_get_str(s, "name");
		const char *peer = json_get_str(s, "from_peer");
		const struct json_val *local = json_get(s, "local");
		const char *who =
		    local != NULL && local->type == JSON_TRUE ? "this node"
		    : name != NULL && *name		      ? name
		    : json_get_str(s, "origin") && *json_get_str(s, "origin")
			? json_get_str(s, "origin")
			: "origin unknown";
		printf("    %4lld object%s  %s%s%s%s\n",
		       (long long)int_of(s, "objects"),
		       int_of(s, "objects") == 1 ? " " : "s", who,
		       peer ? " (peer " : "", peer ? peer : "",
		       peer ? ")" : "");
	}
	printf("  %lld object%s, %lld indicator%s, %lld sighting%s",
	       (long long)int_of(sum, "objects"),
	       int_of(sum, "objects") == 1 ? "" : "s",
	       (long long)int_of(sum, "indicators"),
	       int_of(sum, "indicators") == 1 ? "" : "s",
	       (long long)int_of(sum, "sightings"),
	       int_of(sum, "sightings") == 1 ? "" : "s");
	if (int_of(sum, "sightings") > 0)
		printf(" (seen %lld time%s, %s to %s)",
		       (long long)int_of(sum, "times_sighted"),
		       int_of(sum, "times_sighted") == 1 ? "" : "s",
		       json_get_str(sum, "first_seen")
			   ? json_get_str(sum, "first_seen")
			   : "?",
		       json_get_str(sum, "last_seen")
			   ? json_get_str(sum, "last_seen")
			   : "?");
	printf("\n\n");
	for (uint32_t i = 0; i < objs->len; i++) {
		const struct json_val *o = &objs->u.items[i];
		const char *label = json_get_str(o, "name");
		if (label == NULL)
			label = json_get_str(o, "value");
		if (label == NULL)
			label = json_get_str(o, "pattern");
		const struct json_val *src = json_get(o, "source");
		const struct json_val *local = json_get(src, "local");
		const char *peer = json_get_str(src, "from_peer");
		printf("  %-9s %s\n", json_get_str(o, "found"),
		       json_get_str(o, "id"));
		printf("            TLP:%s  %s%s%s", json_get_str(o, "tlp"),
		       local != NULL && local->type == JSON_TRUE ? "this node"
		       : peer					 ? "from peer "
			      : "origin unknown",
		       local != NULL && local->type == JSON_TRUE ? ""
		       : peer					 ? peer
								 : "",
		       json_get(o, "revoked") ? "  REVOKED" : "");
		if (json_get(o, "confidence") != NULL)
			printf("  confidence %lld",
			       (long long)int_of(o, "confidence"));
		const struct json_val *eff =
		    json_get(o, "effective_confidence");
		if (eff != NULL && eff->type == JSON_NUMBER)
			printf(" (now %lld, %lld days old)",
			       (long long)int_of(o, "effective_confidence"),
			       (long long)int_of(o, "age_days"));
		const struct json_val *exp = json_get(o, "expired");
		if (exp != NULL && exp->type == JSON_TRUE)
			printf("  EXPIRED");
		if (json_get(o, "count") != NULL)
			printf("  seen %lld time%s",
			       (long long)int_of(o, "count"),
			       int_of(o, "count") == 1 ? "" : "s");
		if (json_get_str(o, "valid_until") != NULL)
			printf("  valid until %s",
			       json_get_str(o, "valid_until"));
		else if (json_get_str(o, "valid_until_default") != NULL)
			printf("  valid until %s (default for %s)",
			       json_get_str(o, "valid_until_default"),
			       json_get_str(o, "valid_until_rule"));
		printf("\n");
		if (label != NULL)
			printf("            %.200s\n", label);
		if (json_get_str(o, "via") != NULL)
			printf("            refers to %s\n",
			       json_get_str(o, "via"));
		if (json_get_str(o, "opinion") != NULL)
			printf("            opinion: %s\n",
			       json_get_str(o, "opinion"));
		if (json_get_str(o, "suppressed") != NULL)
			printf("            suppressed here: %.200s\n",
			       json_get_str(o, "suppressed"));
		const struct json_val *ops = json_get(o, "opinions");
		for (uint32_t k = 0; ops != NULL && k < ops->len; k++) {
			const struct json_val *p = &ops->u.items[k];
			const struct json_val *loc = json_get(p, "local");
			const char *nm = json_get_str(p, "name");
			const char *by = json_get_str(p, "by");
			const struct json_val *rv = json_get(p, "revoked");
			printf("            %s%s by %s: %.200s\n",
			       rv != NULL && rv->type == JSON_TRUE
				   ? "(revoked) "
				   : "",
			       json_get_str(p, "opinion")
				   ? json_get_str(p, "opinion")
				   : "opinion",
			       nm != NULL && *nm ? nm
			       : loc != NULL && loc->type == JSON_TRUE
				   ? "this node"
			       : by != NULL ? by
					    : "?",
			       json_get_str(p, "explanation")
				   ? json_get_str(p, "explanation")
				   : "");
		}
	}
	const struct json_val *more = json_get(r, "more");
	if (more != NULL && more->type == JSON_TRUE)
		printf("\n  (more objects than --limit shows)\n");
}

int cmd_lookup(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"limit", required_argument, NULL, 'l'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	bool json = false, quiet = false;
	long limit = 1000;
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
			    limit > 100000)
				return cli_fail(CLI_USAGE,
						"lookup: --limit: expected 1 "
						"to 100000, got '%s'",
						optarg);
			break;
		}
		case 'h':
			fputs(lookup_usage, stdout);
			return CLI_OK;
		default:
			fputs(lookup_usage, stderr);
			return CLI_USAGE;
		}
	}
	if (optind + 1 != argc) {
		fputs(lookup_usage, stderr);
		return cli_fail(CLI_USAGE, "lookup: one VALUE expected");
	}
	struct lk_value v;
	struct diag d;
	if (lk_value_parse(argv[optind], &v, &d) != ST_OK)
		return cli_fail(CLI_USAGE, "lookup: %s", d.msg);
	struct lk_index *x = NULL;
	int rc = cli_lookup_index(c, "lookup", quiet, &x);
	if (rc != CLI_OK)
		return rc;
	struct buf out = BUF_INIT((size_t)1 << 30);
	struct jw w;
	jw_init(&w, &out);
	rc = lk_report_json(x, c->store, &v, c->cfg.node_identity, NULL, NULL,
			    (size_t)limit, &w, &d);
	if (rc == ST_OK)
		rc = jw_finish(&w);
	lk_close(x);
	if (rc != ST_OK) {
		buf_free(&out);
		return cli_fail(CLI_USAGE, "lookup: %s",
				d.msg[0] ? d.msg : st_strerror(rc));
	}
	/* the lifecycle's view of what was found */
	struct lc *lc = NULL;
	if ((rc = cli_lifecycle(c, "lookup", &lc)) != CLI_OK) {
		buf_free(&out);
		return rc;
	}
	struct json_doc *doc = json_doc_new();
	const struct json_val *root = NULL;
	struct buf dec = BUF_INIT((size_t)1 << 30);
	rc = doc != NULL && json_parse(doc, out.data, out.len, 0, NULL, &root,
				       &d) == ST_OK
		 ? decorate(c, lc, root, &dec)
		 : ST_ENOMEM;
	lc_close(lc);
	json_doc_free(doc);
	buf_free(&out);
	out = dec;
	doc = rc == ST_OK ? json_doc_new() : NULL;
	int found = 0;
	if (doc != NULL &&
	    json_parse(doc, out.data, out.len, 0, NULL, &root, &d) == ST_OK) {
		const struct json_val *objs = json_get(root, "objects");
		found = objs != NULL && objs->len > 0;
		if (json) {
			fwrite(out.data, 1, out.len, stdout);
			fputc('\n', stdout);
		} else {
			print_text(root);
		}
	} else {
		rc = ST_ENOMEM;
	}
	json_doc_free(doc);
	buf_free(&out);
	if (rc != ST_OK)
		return cli_fail(CLI_USAGE, "lookup: out of memory");
	return found ? CLI_OK : CLI_PARTIAL;
}
