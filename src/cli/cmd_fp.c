/*
 * strait fp: an analyst marks an indicator (or a sighting of one) as a
 * false positive. The mark is kept here (lifecycle.db) and suppresses
 * the indicator in matching and exports; an opinion object
 * ("strongly-disagree", the reason as its explanation) is stored through
 * the ingest pipeline so that the federation carries it to partners,
 * the indicator's maker among them, under the release decision.
 */
#include "cli/cli.h"

#include "common/buf.h"
#include "common/json.h"
#include "common/uuid.h"
#include "ingest/ingest.h"
#include "lifecycle/lifecycle.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char fp_usage[] =
    "usage: strait fp ID [--reason TEXT] [--collection C] [--json]\n"
    "       strait fp list [--json]\n"
    "       strait fp undo ID\n"
    "\n"
    "Marks an indicator, or a sighting, as a false positive. The mark\n"
    "suppresses the indicator here (strait match, exports); for a\n"
    "sighting it is the indicator the sighting is of that is suppressed.\n"
    "An opinion (strongly-disagree, the reason as its explanation, made\n"
    "by this node's identity) is stored in the indicator's collection, so\n"
    "partners, its maker among them, receive it under the release\n"
    "decision. Nobody's object is changed.\n"
    "\n"
    "  --reason TEXT    why (the opinion's explanation)\n"
    "  --collection C   where the opinion is stored (default: the first\n"
    "                   collection holding the indicator)\n"
    "  --json           the mark as JSON\n"
    "\n"
    "`undo` removes the mark and revokes the opinion (a new version with\n"
    "revoked: true, which reaches the same partners).\n"
    "\n"
    "exit status: 0 done, 1 not found or already marked, 2 usage or I/O "
    "error.\n";

int cli_lifecycle(struct cli *c, const char *cmd, struct lc **out)
{
	*out = NULL;
	struct lc_config cfg;
	struct diag d;
	if (lc_config_parse(c->cfg.lc_half_life, c->cfg.lc_default_confidence,
			    c->cfg.lc_valid_for, &cfg, &d) != ST_OK)
		return cli_fail(CLI_USAGE, "%s: strait.yaml: %s", cmd, d.msg);
	if (lc_open(c->home, c->store, &cfg, out, &d) != ST_OK)
		return cli_fail(CLI_USAGE, "%s: %s", cmd, d.msg);
	return CLI_OK;
}

/* The latest version of one object, copied. */
struct latest {
	bool got;
	struct store_row row;
	struct buf body;
	uint64_t seq;
};

static int on_latest(void *ctx, const struct store_row *row)
{
	struct latest *l = ctx;
	l->got = true;
	l->row = *row;
	l->seq = row->seq;
	buf_reset(&l->body);
	if (buf_add(&l->body, row->body, row->body_len) != ST_OK)
		l->got = false;
	l->row.body = NULL;
	l->row.id = NULL;
	l->row.prov = NULL;
	l->row.warnings = NULL;
	return 0;
}

static bool read_latest(struct cli *c, const char *id, struct latest *l)
{
	struct store_query q = {.id = id, .vsel = STORE_V_LAST};
	l->got = false;
	store_query(c->store, &q, on_latest, l, NULL, NULL);
	return l->got;
}

struct by_cid {
	int64_t cid;
	struct store_collection *out;
	bool found;
};

static int match_cid(void *ctx, const struct store_collection *sc)
{
	struct by_cid *b = ctx;
	if (sc->cid != b->cid)
		return 0;
	*b->out = *sc;
	b->found = true;
	return 1;
}

/* Where the opinion goes: --collection, else the first collection that
 * holds the version seq, else the default one. */
static int collection_of(struct cli *c, const char *arg, uint64_t seq,
			 struct store_collection *out)
{
	if (arg == NULL && seq != 0) {
		int64_t cids[16];
		size_t n = 0;
		if (store_memberships(c->store, seq, cids, 16, &n, NULL) ==
			ST_OK &&
		    n > 0) {
			struct by_cid b = {cids[0], out, false};
			store_collection_list(c->store, match_cid, &b);
			if (b.found)
				return CLI_OK;
		}
	}
	return cli_collection(c, arg, out);
}

struct store_ev {
	char msg[512];
};

static void on_event(void *ctx, const struct ingest_event *ev)
{
	struct store_ev *s = ctx;
	if ((ev->kind == INGEST_REJECTED || ev->kind == INGEST_CONFLICT ||
	     ev->kind == INGEST_FAILED) &&
	    s->msg[0] == '\0')
		snprintf(s->msg, sizeof(s->msg), "%s", ev->msg ? ev->msg : "");
}

/* Stores one object of ours in collection cid. */
static int store_object(struct cli *c, int64_t cid, const struct buf *obj,
			char *err, size_t cap)
{
	struct ingest_options opt;
	memset(&opt, 0, sizeof(opt));
	opt.cid = cid;
	if (tlp_parse(c->cfg.default_tlp, &opt.default_tlp) != ST_OK)
		opt.default_tlp = TLP_AMBER;
	struct store_ev ev = {""};
	struct ingest *in = ingest_new(c->store, &opt, on_event, &ev);
	if (in == NULL) {
		snprintf(err, cap, "out of memory");
		return ST_ENOMEM;
	}
	int rc = ingest_object(in, obj->data, obj->len, 0, 0);
	if (rc == ST_OK)
		rc = ingest_finish(in);
	if (rc == ST_OK && ingest_stats(in)->stored != 1)
		rc = ST_ESTIX;
	if (rc != ST_OK)
		snprintf(err, cap, "%s", ev.msg[0] ? ev.msg : st_strerror(rc));
	ingest_free(in);
	return rc;
}

static void new_id(const char *type, char out[STIX_ID_MAX])
{
	uint8_t u[16];
	char us[UUID_STRLEN + 1];
	uuid_v4(u);
	uuid_format(u, us);
	snprintf(out, STIX_ID_MAX, "%s--%s", type, us);
}

/* The most restrictive TLP of the rows given (TLP_NONE when none). */
static enum tlp strictest(const struct latest *a, const struct latest *b)
{
	int t = -1;
	if (a != NULL && a->got && a->row.tlp <= TLP_RED)
		t = a->row.tlp;
	if (b != NULL && b->got && b->row.tlp <= TLP_RED && b->row.tlp > t)
		t = b->row.tlp;
	return t < 0 ? TLP_NONE : (enum tlp)t;
}

static int build_opinion(struct cli *c, const char *oid, const char *marked,
			 const char *indicator, const char *reason,
			 enum tlp tlp, struct buf *out)
{
	char now[TS_BUFSZ];
	ts_format_ms(time_now(), now);
	struct jw w;
	jw_init(&w, out);
	jw_obj_open(&w);
	jw_key(&w, "type");
	jw_str(&w, "opinion");
	jw_key(&w, "spec_version");
	jw_str(&w, "2.1");
	jw_key(&w, "id");
	jw_str(&w, oid);
	jw_key(&w, "created");
	jw_str(&w, now);
	jw_key(&w, "modified");
	jw_str(&w, now);
	if (c->cfg.node_identity[0]) {
		jw_key(&w, "created_by_ref");
		jw_str(&w, c->cfg.node_identity);
	}
	jw_key(&w, "opinion");
	jw_str(&w, "strongly-disagree");
	jw_key(&w, "explanation");
	jw_str(&w, reason != NULL && *reason ? reason
					     : "marked as a false positive");
	jw_key(&w, "object_refs");
	jw_arr_open(&w);
	jw_str(&w, marked);
	if (strcmp(marked, indicator) != 0)
		jw_str(&w, indicator);
	jw_arr_close(&w);
	if (tlp_marking_id(tlp) != NULL) {
		jw_key(&w, "object_marking_refs");
		jw_arr_open(&w);
		jw_str(&w, tlp_marking_id(tlp));
		jw_arr_close(&w);
	}
	jw_obj_close(&w);
	return jw_finish(&w);
}

static void print_fp_json(const struct lc_fp *fp)
{
	struct buf b = BUF_INIT((size_t)1 << 20);
	struct jw w;
	char at[TS_BUFSZ];
	ts_format(fp->at, at);
	jw_init(&w, &b);
	jw_obj_open(&w);
	jw_key(&w, "id");
	jw_str(&w, fp->id);
	jw_key(&w, "indicator");
	jw_str(&w, fp->indicator);
	jw_key(&w, "reason");
	jw_str(&w, fp->reason);
	jw_key(&w, "opinion");
	if (fp->opinion[0])
		jw_str(&w, fp->opinion);
	else
		jw_null(&w);
	jw_key(&w, "collection");
	jw_str(&w, fp->collection);
	jw_key(&w, "at");
	jw_str(&w, at);
	jw_obj_close(&w);
	if (jw_finish(&w) == ST_OK)
		fwrite(b.data, 1, b.len, stdout);
	buf_free(&b);
}

static int fp_mark(struct cli *c, const char *id, const char *reason,
		   const char *coll, bool json)
{
	if (strncmp(id, "indicator--", 11) != 0 &&
	    strncmp(id, "sighting--", 10) != 0)
		return cli_fail(CLI_USAGE,
				"fp: '%s': an indicator or a sighting id "
				"expected",
				id);
	if (reason != NULL && strlen(reason) >= LC_REASON_MAX)
		return cli_fail(CLI_USAGE, "fp: --reason: at most %d bytes",
				LC_REASON_MAX - 1);
	int rc = cli_open(c);
	if (rc != CLI_OK)
		return rc;
	struct lc *lc = NULL;
	struct latest m = {.body = BUF_INIT((size_t)64 << 20)};
	struct latest ind = {.body = BUF_INIT((size_t)64 << 20)};
	struct json_doc *doc = json_doc_new();
	struct buf op = BUF_INIT((size_t)1 << 20);
	struct lc_fp *fp = calloc(1, sizeof(*fp));
	struct diag d;
	if (doc == NULL || fp == NULL) {
		rc = cli_fail(CLI_USAGE, "fp: out of memory");
		goto out;
	}
	if ((rc = cli_lifecycle(c, "fp", &lc)) != CLI_OK)
		goto out;
	if (!read_latest(c, id, &m)) {
		rc = cli_fail(CLI_PARTIAL, "fp: %s: not held here", id);
		goto out;
	}
	snprintf(fp->id, sizeof(fp->id), "%s", id);
	snprintf(fp->indicator, sizeof(fp->indicator), "%s", id);
	uint64_t seq = m.seq;
	if (strncmp(id, "sighting--", 10) == 0) {
		const struct json_val *o;
		const char *of;
		if (json_parse(doc, m.body.data, m.body.len, 0, NULL, &o, &d) !=
			ST_OK ||
		    (of = json_get_str(o, "sighting_of_ref")) == NULL ||
		    strncmp(of, "indicator--", 11) != 0) {
			rc = cli_fail(CLI_PARTIAL,
				      "fp: %s is not a sighting of an "
				      "indicator",
				      id);
			goto out;
		}
		snprintf(fp->indicator, sizeof(fp->indicator), "%s", of);
		if (read_latest(c, fp->indicator, &ind))
			seq = ind.seq; /* the opinion goes where it lives */
	}
	struct lc_fp old;
	if (lc_fp_remove(lc, id, &old, NULL) == ST_OK) {
		lc_fp_add(lc, &old, NULL); /* put back: nothing changes */
		rc = cli_fail(CLI_PARTIAL,
			      "fp: %s is marked already (opinion %s); "
			      "`strait fp undo %s` first",
			      id, old.opinion[0] ? old.opinion : "none", id);
		goto out;
	}
	struct store_collection sc;
	if ((rc = collection_of(c, coll, seq, &sc)) != CLI_OK)
		goto out;
	new_id("opinion", fp->opinion);
	if (build_opinion(c, fp->opinion, id, fp->indicator, reason,
			  strictest(&m, &ind), &op) != ST_OK) {
		rc = cli_fail(CLI_USAGE, "fp: out of memory");
		goto out;
	}
	char err[512];
	if (store_object(c, sc.cid, &op, err, sizeof(err)) != ST_OK) {
		rc = cli_fail(CLI_USAGE, "fp: the opinion was not stored: %s",
			      err);
		goto out;
	}
	snprintf(fp->reason, sizeof(fp->reason), "%s", reason ? reason : "");
	snprintf(fp->collection, sizeof(fp->collection), "%s",
		 sc.alias[0] ? sc.alias : sc.id);
	fp->at = time_now();
	if (lc_fp_add(lc, fp, &d) != ST_OK) {
		rc = cli_fail(CLI_USAGE, "fp: %s (opinion %s was stored)",
			      d.msg, fp->opinion);
		goto out;
	}
	cli_audit(c, "fp.add", "id", id, "indicator", fp->indicator, "opinion",
		  fp->opinion, NULL);
	if (json) {
		print_fp_json(fp);
		fputc('\n', stdout);
	} else {
		printf("%s marked as a false positive%s%s\n", fp->indicator,
		       strcmp(id, fp->indicator) ? " through " : "",
		       strcmp(id, fp->indicator) ? id : "");
		printf("opinion %s stored in collection %s: partners receive "
		       "it under the release decision\n",
		       fp->opinion, fp->collection);
	}
	rc = CLI_OK;
out:
	free(fp);
	buf_free(&op);
	json_doc_free(doc);
	buf_free(&m.body);
	buf_free(&ind.body);
	lc_close(lc);
	cli_close(c);
	return rc;
}

/* A new version of our opinion with revoked: true. */
static int revoke_opinion(struct cli *c, const struct lc_fp *fp)
{
	struct latest l = {.body = BUF_INIT((size_t)64 << 20)};
	struct json_doc *doc = json_doc_new();
	struct buf nb = BUF_INIT((size_t)64 << 20);
	const struct json_val *o = NULL;
	struct diag d;
	int rc = CLI_OK;
	if (doc == NULL || !read_latest(c, fp->opinion, &l) ||
	    json_parse(doc, l.body.data, l.body.len, 0, NULL, &o, &d) !=
		ST_OK) {
		rc = cli_fail(CLI_PARTIAL,
			      "fp: opinion %s not held here: not revoked",
			      fp->opinion);
		goto out;
	}
	const struct json_val *rv = json_get(o, "revoked");
	if (rv != NULL && rv->type == JSON_TRUE)
		goto out;
	char now[TS_BUFSZ];
	ts_format_ms(time_now(), now);
	struct jw w;
	jw_init(&w, &nb);
	jw_obj_open(&w);
	for (uint32_t i = 0; i < o->len; i++) {
		const char *k = o->u.members[i].key;
		if (strcmp(k, "modified") == 0 || strcmp(k, "revoked") == 0)
			continue;
		jw_key(&w, k);
		jw_value(&w, &o->u.members[i].val);
	}
	jw_key(&w, "modified");
	jw_str(&w, now);
	jw_key(&w, "revoked");
	jw_bool(&w, true);
	jw_obj_close(&w);
	struct store_collection sc;
	char err[512];
	if (jw_finish(&w) != ST_OK) {
		rc = cli_fail(CLI_USAGE, "fp: out of memory");
	} else if ((rc = collection_of(c, NULL, l.seq, &sc)) != CLI_OK) {
		;
	} else if (store_object(c, sc.cid, &nb, err, sizeof(err)) != ST_OK) {
		rc = cli_fail(CLI_USAGE, "fp: opinion %s not revoked: %s",
			      fp->opinion, err);
	} else {
		printf("opinion %s revoked\n", fp->opinion);
	}
out:
	buf_free(&nb);
	buf_free(&l.body);
	json_doc_free(doc);
	return rc;
}

static int fp_undo(struct cli *c, const char *id)
{
	int rc = cli_open(c);
	if (rc != CLI_OK)
		return rc;
	struct lc *lc = NULL;
	struct lc_fp *fp = calloc(1, sizeof(*fp));
	struct diag d;
	if (fp == NULL) {
		rc = cli_fail(CLI_USAGE, "fp: out of memory");
		goto out;
	}
	if ((rc = cli_lifecycle(c, "fp", &lc)) != CLI_OK)
		goto out;
	int r = lc_fp_remove(lc, id, fp, &d);
	if (r == ST_ENOTFOUND) {
		rc = cli_fail(CLI_PARTIAL, "fp: %s", d.msg);
		goto out;
	} else if (r != ST_OK) {
		rc = cli_fail(CLI_USAGE, "fp: %s", d.msg);
		goto out;
	}
	printf("%s is no longer marked as a false positive\n", id);
	cli_audit(c, "fp.undo", "id", id, "opinion", fp->opinion, NULL);
	rc = fp->opinion[0] ? revoke_opinion(c, fp) : CLI_OK;
out:
	free(fp);
	lc_close(lc);
	cli_close(c);
	return rc;
}

struct list_ctx {
	bool json;
	size_t n;
};

static int print_one(void *ctx, const struct lc_fp *fp)
{
	struct list_ctx *l = ctx;
	char at[TS_BUFSZ];
	ts_format(fp->at, at);
	if (l->json) {
		if (l->n)
			fputc(',', stdout);
		print_fp_json(fp);
	} else {
		printf("%s  %s", at, fp->indicator);
		if (strcmp(fp->id, fp->indicator) != 0)
			printf(" (through %s)", fp->id);
		printf("\n    opinion %s in %s\n",
		       fp->opinion[0] ? fp->opinion : "none", fp->collection);
		if (fp->reason[0])
			printf("    %s\n", fp->reason);
	}
	l->n++;
	return 0;
}

static int fp_list(struct cli *c, bool json)
{
	int rc = cli_load_config(c);
	if (rc != CLI_OK)
		return rc;
	struct lc *lc = NULL;
	if ((rc = cli_lifecycle(c, "fp", &lc)) != CLI_OK)
		return rc;
	struct list_ctx l = {json, 0};
	struct diag d;
	if (json)
		fputc('[', stdout);
	int r = lc_fp_list(lc, print_one, &l, &d);
	if (json)
		fputs("]\n", stdout);
	else if (l.n == 0 && r == ST_OK)
		printf("no false positives marked\n");
	lc_close(lc);
	if (r != ST_OK)
		return cli_fail(CLI_USAGE, "fp: %s", d.msg);
	return CLI_OK;
}

int cmd_fp(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"reason", required_argument, NULL, 'r'},
	    {"collection", required_argument, NULL, 'c'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *reason = NULL, *coll = NULL;
	bool json = false;
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			reason = optarg;
			break;
		case 'c':
			coll = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(fp_usage, stdout);
			return CLI_OK;
		default:
			fputs(fp_usage, stderr);
			return CLI_USAGE;
		}
	}
	int n = argc - optind;
	char **a = argv + optind;
	if (n == 1 && strcmp(a[0], "list") == 0)
		return fp_list(c, json);
	if (n == 2 && strcmp(a[0], "undo") == 0)
		return fp_undo(c, a[1]);
	if (n == 1 && strcmp(a[0], "undo") != 0)
		return fp_mark(c, a[0], reason, coll, json);
	fputs(fp_usage, stderr);
	return CLI_USAGE;
}
