/*
 * strait quarantine: objects partner nodes sent that broke an arrival rule,
 * kept in <home>/peers.db (federation/fedstate.h) until an operator drops
 * or releases them.
 */
#include "cli/cli.h"

#include "common/hash.h"
#include "common/json.h"
#include "common/time.h"
#include "federation/fedstate.h"
#include "federation/peers.h"
#include "ingest/ingest.h"
#include "policy/peer_policy.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char quarantine_usage[] =
    "usage: strait quarantine list [--json] [--peer NAME]\n"
    "       strait quarantine show QID [--json]\n"
    "       strait quarantine drop QID\n"
    "       strait quarantine release QID\n"
    "\n"
    "What partner nodes sent that broke an arrival rule (an attestation\n"
    "that does not verify, an object it does not list, ...) is kept here,\n"
    "never applied, until an operator decides (docs/FEDERATION.md).\n"
    "\n"
    "  list      one line per entry: number (QID), time, peer, id, version,\n"
    "            reason; oldest first\n"
    "  show      one entry, with the object and attestation as received\n"
    "  drop      deletes the entry\n"
    "  release   stores the object in the collection it was sent to, as\n"
    "            received from the peer (so it is never relayed beyond\n"
    "            TLP:CLEAR), then deletes the entry\n"
    "\n"
    "  --peer NAME   only what the peer NAME sent\n"
    "  --json        machine-readable output\n"
    "\n"
    "exit status: 0 done, 1 no such entry or the object was refused, 2 "
    "usage,\nconfiguration or I/O error.\n";

static const char list_usage[] =
    "usage: strait quarantine list [--json] [--peer NAME]\n"
    "\n"
    "Quarantined objects, oldest first: number (QID), time, peer, id,\n"
    "version, reason. With --json, an array of objects with those keys\n"
    "(qid, at, peer, id, version, reason, cid); id and version are null\n"
    "when the object had none readable.\n";

static const char show_usage[] =
    "usage: strait quarantine show QID [--json]\n"
    "\n"
    "One quarantined object: when and from which peer it came, why it was\n"
    "quarantined, the collection it was sent to, the object and the\n"
    "attestation that came with it, as received. --json adds them as JSON\n"
    "values (as strings when they are not JSON).\n";

static const char drop_usage[] =
    "usage: strait quarantine drop QID\n"
    "\n"
    "Deletes a quarantined object; it is not stored.\n";

static const char release_usage[] =
    "usage: strait quarantine release QID\n"
    "\n"
    "Stores a quarantined object in the collection it was sent to, through\n"
    "the same checks as an import. It is recorded first as received from\n"
    "the peer that sent it, with no known origin and no permission to relay\n"
    "it: it is never passed on to another partner beyond TLP:CLEAR. An\n"
    "unmarked object takes the peer policy's default_tlp, else the node's.\n"
    "The entry is deleted once the object is stored; when it is refused the\n"
    "entry stays and the reason is printed (exit status 1).\n";

/* The options of a subcommand: --json, --peer NAME, one QID. */
struct q_args {
	bool json;
	const char *peer;
	int64_t qid;
};

/* Parses argv (argv[0] the subcommand) as usage allows. CLI_OK, or -1
 * after --help, or CLI_USAGE. */
static int q_parse(int argc, char **argv, const char *usage, bool json_ok,
		   bool peer_ok, bool qid, struct q_args *a)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"peer", required_argument, NULL, 'p'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int opt;
	struct diag d;
	memset(a, 0, sizeof(*a));
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (opt == 'h') {
			fputs(usage, stdout);
			return -1;
		}
		if (opt == 'j' && json_ok) {
			a->json = true;
		} else if (opt == 'p' && peer_ok) {
			if (peer_name_check(optarg, &d) != ST_OK)
				return cli_fail(CLI_USAGE,
						"quarantine %s: --peer: %s",
						argv[0], d.msg);
			a->peer = optarg;
		} else {
			fputs(usage, stderr);
			return cli_fail(CLI_USAGE,
					"quarantine %s: unexpected option "
					"'%s'",
					argv[0], argv[optind - 1]);
		}
	}
	if (!qid) {
		if (optind != argc)
			return cli_fail(CLI_USAGE,
					"quarantine %s: unexpected '%s'",
					argv[0], argv[optind]);
		return CLI_OK;
	}
	if (optind != argc - 1) {
		fputs(usage, stderr);
		return cli_fail(CLI_USAGE, "quarantine %s: one QID expected",
				argv[0]);
	}
	const char *s = argv[optind];
	char *end = NULL;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 || v <= 0)
		return cli_fail(CLI_USAGE,
				"quarantine %s: '%.40s' is not a quarantine "
				"number (see 'strait quarantine list')",
				argv[0], s);
	a->qid = v;
	return CLI_OK;
}

static int open_state(struct cli *c, const char *sub, struct fedstate **f)
{
	struct diag d;
	int rc = cli_load_config(c);
	if (rc != CLI_OK)
		return rc;
	if (fedstate_open(c->home, f, &d) != ST_OK)
		return cli_fail(CLI_USAGE, "quarantine %s: %s", sub, d.msg);
	return CLI_OK;
}

/* The entry qid into *q: CLI_OK, CLI_PARTIAL when there is none. */
static int get_entry(struct fedstate *f, const char *sub, int64_t qid,
		     struct fed_quarantined *q)
{
	struct diag d;
	int rc = fed_quarantine_get(f, qid, q, &d);
	if (rc == ST_ENOTFOUND)
		return cli_fail(CLI_PARTIAL,
				"quarantine %s: no quarantined object %lld "
				"(see 'strait quarantine list')",
				sub, (long long)qid);
	if (rc != ST_OK)
		return cli_fail(CLI_USAGE, "quarantine %s: %s", sub, d.msg);
	return CLI_OK;
}

static void json_str_or_null(struct jw *w, const char *s)
{
	if (s[0] != '\0')
		jw_str(w, s);
	else
		jw_null(w);
}

/* The entry's common members (inside an open JSON object). */
static void entry_json(struct jw *w, const struct fed_quarantined *q)
{
	char at[TS_BUFSZ];
	ts_format(q->at, at);
	jw_key(w, "qid");
	jw_int(w, q->qid);
	jw_key(w, "at");
	jw_str(w, at);
	jw_key(w, "peer");
	jw_str(w, q->peer);
	jw_key(w, "id");
	json_str_or_null(w, q->id);
	jw_key(w, "version");
	json_str_or_null(w, q->version);
	jw_key(w, "reason");
	jw_str(w, q->reason);
	jw_key(w, "cid");
	jw_int(w, q->cid);
}

struct list_ctx {
	const char *peer;
	struct jw *w;
	size_t n;
};

static int list_one(void *ctx, const struct fed_quarantined *q)
{
	struct list_ctx *l = ctx;
	if (l->peer != NULL && strcmp(l->peer, q->peer) != 0)
		return ST_OK;
	l->n++;
	if (l->w != NULL) {
		jw_obj_open(l->w);
		entry_json(l->w, q);
		jw_obj_close(l->w);
		return ST_OK;
	}
	char at[TS_BUFSZ];
	ts_format(q->at, at);
	printf("%lld  %s  %s  %s  %s  %s\n", (long long)q->qid, at, q->peer,
	       q->id[0] ? q->id : "-", q->version[0] ? q->version : "-",
	       q->reason);
	return ST_OK;
}

static int q_list(struct cli *c, int argc, char **argv)
{
	struct q_args a;
	int rc = q_parse(argc, argv, list_usage, true, true, false, &a);
	if (rc != CLI_OK)
		return rc < 0 ? CLI_OK : rc;
	struct fedstate *f = NULL;
	if ((rc = open_state(c, "list", &f)) != CLI_OK)
		return rc;
	struct buf out = BUF_INIT(1 << 26);
	struct jw w;
	struct list_ctx l = {a.peer, a.json ? &w : NULL, 0};
	struct diag d;
	if (a.json) {
		jw_init(&w, &out);
		jw_arr_open(&w);
	}
	rc = fed_quarantine_list(f, list_one, &l, &d);
	fedstate_close(f);
	if (rc == ST_OK && a.json) {
		jw_arr_close(&w);
		if ((rc = jw_finish(&w)) == ST_OK)
			printf("%s\n", out.data);
		else
			snprintf(d.msg, sizeof(d.msg), "%s", st_strerror(rc));
	}
	buf_free(&out);
	if (rc != ST_OK)
		return cli_fail(CLI_USAGE, "quarantine list: %s", d.msg);
	if (!a.json && l.n == 0)
		printf("no quarantined objects%s%s\n", a.peer ? " from " : "",
		       a.peer ? a.peer : "");
	return CLI_OK;
}

struct coll_find {
	int64_t cid;
	struct store_collection *out;
	bool found;
};

static int coll_match(void *ctx, const struct store_collection *sc)
{
	struct coll_find *cf = ctx;
	if (sc->cid != cf->cid)
		return 0;
	*cf->out = *sc;
	cf->found = true;
	return 1;
}

/* Our collection with internal id cid: true when it still exists. */
static bool coll_by_cid(struct cli *c, int64_t cid,
			struct store_collection *out)
{
	struct coll_find cf = {cid, out, false};
	memset(out, 0, sizeof(*out));
	if (cid > 0)
		store_collection_list(c->store, coll_match, &cf);
	return cf.found;
}

/* Writes a JSON text as received: as a value when it parses, else as a
 * string (it is shown, never trusted). */
static void raw_json(struct jw *w, const char *text, size_t len)
{
	struct json_doc *doc = json_doc_new();
	const struct json_val *root = NULL;
	if (doc != NULL &&
	    json_parse(doc, text, len, 0, NULL, &root, NULL) == ST_OK)
		jw_value(w, root);
	else
		jw_strn(w, text, len);
	json_doc_free(doc);
}

static int q_show(struct cli *c, int argc, char **argv)
{
	struct q_args a;
	int rc = q_parse(argc, argv, show_usage, true, false, true, &a);
	if (rc != CLI_OK)
		return rc < 0 ? CLI_OK : rc;
	struct fedstate *f = NULL;
	if ((rc = cli_open(c)) != CLI_OK ||
	    (rc = open_state(c, "show", &f)) != CLI_OK)
		return rc;
	struct fed_quarantined q;
	rc = get_entry(f, "show", a.qid, &q);
	fedstate_close(f);
	if (rc != CLI_OK)
		return rc;
	struct store_collection coll;
	bool have = coll_by_cid(c, q.cid, &coll);
	if (a.json) {
		struct buf out = BUF_INIT(1 << 26);
		struct jw w;
		jw_init(&w, &out);
		jw_obj_open(&w);
		entry_json(&w, &q);
		jw_key(&w, "collection");
		if (have)
			jw_str(&w, coll.id);
		else
			jw_null(&w);
		jw_key(&w, "object");
		raw_json(&w, q.object, q.object_len);
		jw_key(&w, "attestation");
		if (q.attestation != NULL)
			raw_json(&w, q.attestation, q.attestation_len);
		else
			jw_null(&w);
		jw_obj_close(&w);
		if ((rc = jw_finish(&w)) == ST_OK)
			printf("%s\n", out.data);
		else
			rc = cli_fail(CLI_USAGE, "quarantine show: %s",
				      st_strerror(rc));
		buf_free(&out);
		fed_quarantined_free(&q);
		return rc;
	}
	char at[TS_BUFSZ];
	ts_format(q.at, at);
	printf("quarantined object %lld\n", (long long)q.qid);
	printf("  time         %s\n", at);
	printf("  peer         %s\n", q.peer);
	printf("  id           %s\n", q.id[0] ? q.id : "(none readable)");
	printf("  version      %s\n",
	       q.version[0] ? q.version : "(none readable)");
	printf("  reason       %s\n", q.reason);
	if (have)
		printf("  collection   %s%s%s%s\n", coll.id,
		       coll.alias[0] ? " (" : "", coll.alias,
		       coll.alias[0] ? ")" : "");
	else
		printf("  collection   #%lld (no longer exists)\n",
		       (long long)q.cid);
	printf("object:\n%.*s\n", (int)q.object_len, q.object);
	if (q.attestation != NULL)
		printf("attestation:\n%.*s\n", (int)q.attestation_len,
		       q.attestation);
	else
		printf("attestation: none\n");
	fed_quarantined_free(&q);
	return CLI_OK;
}

static int q_drop(struct cli *c, int argc, char **argv)
{
	struct q_args a;
	int rc = q_parse(argc, argv, drop_usage, false, false, true, &a);
	if (rc != CLI_OK)
		return rc < 0 ? CLI_OK : rc;
	struct fedstate *f = NULL;
	if ((rc = open_state(c, "drop", &f)) != CLI_OK)
		return rc;
	struct fed_quarantined q;
	struct diag d;
	if ((rc = get_entry(f, "drop", a.qid, &q)) == CLI_OK) {
		int src = fed_quarantine_remove(f, a.qid, &d);
		if (src == ST_OK)
			printf("dropped quarantined object %lld: %s %s from "
			       "%s (%s)\n",
			       (long long)q.qid, q.id[0] ? q.id : "-",
			       q.version[0] ? q.version : "-", q.peer,
			       q.reason);
		else
			rc = cli_fail(src == ST_ENOTFOUND ? CLI_PARTIAL
							  : CLI_USAGE,
				      "quarantine drop: %s", d.msg);
		fed_quarantined_free(&q);
	}
	fedstate_close(f);
	return rc;
}

/* What the ingest said about the one object released. */
struct rel_ctx {
	bool accepted, stored;
	st_time version;
	enum ingest_event_kind refused; /* when !accepted */
	char why[1024];
};

static void on_event(void *ctx, const struct ingest_event *ev)
{
	struct rel_ctx *r = ctx;
	switch (ev->kind) {
	case INGEST_ACCEPTED:
		r->accepted = true;
		r->stored = ev->msg != NULL && strcmp(ev->msg, "stored") == 0;
		r->version = ev->version;
		break;
	case INGEST_REJECTED:
	case INGEST_CONFLICT:
	case INGEST_FAILED:
		r->refused = ev->kind;
		snprintf(r->why, sizeof(r->why), "%s",
			 ev->msg != NULL ? ev->msg : "");
		break;
	case INGEST_WARNING:
	case INGEST_COMMITTED:
		break;
	}
}

/* The marking unmarked objects from peer take: its policy's default_tlp,
 * else the node's. CLI_OK or CLI_USAGE after saying why. */
static int release_tlp(struct cli *c, const char *peer, enum tlp *out,
		       bool *declared)
{
	*declared = false;
	if (tlp_parse(c->cfg.default_tlp, out) != ST_OK || *out == TLP_NONE)
		return cli_fail(CLI_USAGE,
				"strait.yaml: default_tlp: unknown level '%s'",
				c->cfg.default_tlp);
	struct peers *p = NULL;
	struct diag d;
	char *text = NULL;
	if (peers_open(c->home, &p, &d) != ST_OK)
		return cli_fail(CLI_USAGE, "quarantine release: %s", d.msg);
	int rc = peers_policy(p, peer, &text, &d);
	peers_close(p);
	if (rc == ST_ENOTFOUND || (rc == ST_OK && text == NULL))
		return CLI_OK; /* no such peer any more, or no policy */
	if (rc != ST_OK)
		return cli_fail(CLI_USAGE, "quarantine release: %s", d.msg);
	struct peer_policy pol;
	rc = peer_policy_parse(text, strlen(text), &pol, &d);
	free(text);
	if (rc != ST_OK)
		return CLI_OK; /* a policy that no longer parses grants
				  nothing; the node's default applies */
	if (pol.has_default_tlp) {
		*out = pol.default_tlp;
		*declared = true;
	}
	peer_policy_free(&pol);
	return CLI_OK;
}

static int count_row(void *ctx, const struct store_row *row)
{
	(void)row;
	(*(size_t *)ctx)++;
	return 0;
}

/* Records that (id, version) came from q's peer, with no origin and no
 * relay permission. */
static int release_prov(struct fedstate *f, const struct fed_quarantined *q,
			const char *id, st_time version,
			const uint8_t sha256[32], struct diag *d)
{
	struct fed_prov p;
	memset(&p, 0, sizeof(p));
	snprintf(p.id, sizeof(p.id), "%s", id);
	p.version = version;
	snprintf(p.peer, sizeof(p.peer), "%s", q->peer);
	memcpy(p.sha256, sha256, 32);
	return fed_prov_put(f, &p, 1, NULL, 0, d);
}

/* Parses and validates q's object: its id and version into info, the
 * SHA-256 of its canonical form. CLI_OK, or CLI_PARTIAL after why. */
static int release_check(const struct fed_quarantined *q,
			 struct stix_info *info, uint8_t sha256[32])
{
	struct json_doc *doc = json_doc_new();
	const struct json_val *root = NULL;
	struct stix_report rep;
	struct buf canon = BUF_INIT(64u << 20);
	struct buf why = BUF_INIT(1 << 16);
	struct diag d;
	int rc = CLI_OK;
	stix_report_init(&rep);
	if (doc == NULL) {
		rc = cli_fail(CLI_USAGE, "quarantine release: out of memory");
		goto out;
	}
	if (json_parse(doc, q->object, q->object_len, 0, NULL, &root, &d) !=
	    ST_OK) {
		rc = cli_fail(CLI_PARTIAL,
			      "quarantine release: object %lld not released: "
			      "not JSON: %s",
			      (long long)q->qid, d.msg);
		goto out;
	}
	int src = stix_validate(root, info, &rep);
	if (src == ST_ESTIX) {
		stix_report_format(&rep, info->id, true, &why);
		while (why.len > 0 && why.data[why.len - 1] == '\n')
			why.data[--why.len] = '\0';
		rc = cli_fail(CLI_PARTIAL,
			      "quarantine release: object %lld not released: "
			      "not valid STIX 2.1:\n%s",
			      (long long)q->qid, why.data ? why.data : "");
		goto out;
	}
	if (src != ST_OK || json_canonical(root, &canon, &d) != ST_OK) {
		rc = cli_fail(CLI_PARTIAL,
			      "quarantine release: object %lld not released: "
			      "%s",
			      (long long)q->qid,
			      src != ST_OK ? st_strerror(src) : d.msg);
		goto out;
	}
	hash_sha256(canon.data, canon.len, sha256);
out:
	stix_report_free(&rep);
	buf_free(&canon);
	buf_free(&why);
	json_doc_free(doc);
	return rc;
}

static int q_release(struct cli *c, int argc, char **argv)
{
	struct q_args a;
	int rc = q_parse(argc, argv, release_usage, false, false, true, &a);
	if (rc != CLI_OK)
		return rc < 0 ? CLI_OK : rc;
	struct fedstate *f = NULL;
	if ((rc = cli_open(c)) != CLI_OK ||
	    (rc = open_state(c, "release", &f)) != CLI_OK)
		return rc;
	struct fed_quarantined q;
	struct store_collection coll;
	struct stix_info info;
	struct ingest *in = NULL;
	struct rel_ctx r;
	struct diag d;
	uint8_t sha[32];
	enum tlp def;
	bool declared;
	memset(&r, 0, sizeof(r));
	memset(&info, 0, sizeof(info));
	if ((rc = get_entry(f, "release", a.qid, &q)) != CLI_OK) {
		fedstate_close(f);
		return rc;
	}
	if (!coll_by_cid(c, q.cid, &coll)) {
		rc = cli_fail(CLI_USAGE,
			      "quarantine release: the collection object %lld "
			      "was sent to (#%lld) no longer exists; drop it "
			      "instead",
			      (long long)q.qid, (long long)q.cid);
		goto out;
	}
	if ((rc = release_tlp(c, q.peer, &def, &declared)) != CLI_OK ||
	    (rc = release_check(&q, &info, sha)) != CLI_OK)
		goto out;
	/* Provenance before the version: a crash between them leaves a
	 * record without a version, which is harmless. A version already
	 * held keeps what it has (its own provenance, or none: ours). */
	if (info.versioned) {
		size_t held = 0;
		struct store_query sq = {0};
		sq.id = info.id;
		sq.vsel = STORE_V_AT;
		sq.at = info.version;
		sq.limit = 1;
		if (store_query(c->store, &sq, count_row, &held, NULL, &d) !=
		    ST_OK) {
			rc = cli_fail(CLI_USAGE, "quarantine release: %s",
				      d.msg);
			goto out;
		}
		if (held == 0 && release_prov(f, &q, info.id, info.version, sha,
					      &d) != ST_OK) {
			rc = cli_fail(CLI_USAGE, "quarantine release: %s",
				      d.msg);
			goto out;
		}
	}
	struct ingest_options opt = {0};
	opt.cid = coll.cid;
	opt.default_tlp = def;
	opt.default_declared = declared;
	opt.flags = STORE_F_FOREIGN; /* received, whatever its record */
	opt.report_accepted = true;
	if ((in = ingest_new(c->store, &opt, on_event, &r)) == NULL) {
		rc = cli_fail(CLI_USAGE, "quarantine release: out of memory");
		goto out;
	}
	int src = ingest_object(in, q.object, q.object_len, 0, 0);
	int fin = ingest_finish(in);
	if (src == ST_OK)
		src = fin;
	if (src != ST_OK && !r.accepted) {
		rc = cli_fail(CLI_USAGE, "quarantine release: store: %s",
			      st_strerror(src));
		goto out;
	}
	if (!r.accepted) {
		size_t n = strlen(r.why);
		while (n > 0 && r.why[n - 1] == '\n')
			r.why[--n] = '\0';
		rc = cli_fail(r.refused == INGEST_FAILED ? CLI_USAGE
							 : CLI_PARTIAL,
			      "quarantine release: object %lld not released "
			      "(%s): %s",
			      (long long)q.qid,
			      r.refused == INGEST_CONFLICT ? "conflict"
			      : r.refused == INGEST_FAILED ? "store failed"
							   : "rejected",
			      r.why);
		goto out;
	}
	/* An SCO's version key is given by the store: its provenance can
	 * only follow it. */
	if (!info.versioned && r.stored &&
	    release_prov(f, &q, info.id, r.version, sha, &d) != ST_OK) {
		rc = cli_fail(CLI_USAGE,
			      "quarantine release: stored, but its "
			      "provenance was not recorded: %s",
			      d.msg);
		goto out;
	}
	char ver[TS_BUFSZ];
	ts_format(r.version, ver);
	if (fed_quarantine_remove(f, q.qid, &d) != ST_OK) {
		rc = cli_fail(CLI_USAGE,
			      "quarantine release: stored, but the entry "
			      "stays: %s",
			      d.msg);
		goto out;
	}
	printf("released quarantined object %lld: %s %s into collection %s "
	       "(%s)\n",
	       (long long)q.qid, info.id, ver,
	       coll.alias[0] ? coll.alias : coll.id,
	       r.stored ? "stored" : "already held");
out:
	ingest_free(in);
	fed_quarantined_free(&q);
	fedstate_close(f);
	return rc;
}

static const struct {
	const char *name;
	int (*run)(struct cli *c, int argc, char **argv);
} subcommands[] = {
    {"list", q_list},
    {"show", q_show},
    {"drop", q_drop},
    {"release", q_release},
};

int cmd_quarantine(struct cli *c, int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		fputs(quarantine_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_USAGE : CLI_OK;
	}
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]);
	     i++)
		if (strcmp(argv[1], subcommands[i].name) == 0)
			return subcommands[i].run(c, argc - 1, argv + 1);
	fputs(quarantine_usage, stderr);
	return cli_fail(CLI_USAGE, "quarantine: unknown subcommand '%.40s'",
			argv[1]);
}
