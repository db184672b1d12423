/* strait match: our telemetry against the indicators we hold. */
#include "cli/cli.h"

#include "common/buf.h"
#include "common/json.h"
#include "common/time.h"
#include "ingest/ingest.h"
#include "lifecycle/lifecycle.h"
#include "pattern/warninglist.h"
#include "telemetry/match.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char match_usage[] =
    "usage: strait match [--collection C ...] [--zeek FILE|DIR ...]\n"
    "                    [--suricata FILE ...] [--emit-sightings]\n"
    "                    [--into C] [--window SECONDS] [--include-context]\n"
    "                    [--warninglists DIR ...] [--no-warninglists]\n"
    "                    [--json] [--quiet]\n"
    "\n"
    "Matches Zeek logs (JSON or TSV: conn, dns, http, ssl, files, x509) and\n"
    "Suricata EVE JSON against every active STIX indicator of the chosen\n"
    "collections (all by default), and aggregates the hits into sightings\n"
    "per indicator and time window.\n"
    "\n"
    "  --collection C       load the indicators of C (id or alias); repeat\n"
    "  --zeek FILE|DIR      Zeek logs; a directory is read whole; repeat\n"
    "  --suricata FILE      Suricata EVE JSON; repeat\n"
    "  --emit-sightings     store the sightings (with observed-data holding\n"
    "                       only each matched value) so they flow to\n"
    "                       partners under the indicator's markings\n"
    "  --into C             the collection they join (default 'default')\n"
    "  --window SECONDS     aggregation window (default 3600)\n"
    "  --include-context    put the whole record (our addresses too) into\n"
    "                       the observed-data: for a chosen audience only\n"
    "  --warninglists DIR   MISP warninglists to load (default: the shipped\n"
    "                       set and <home>/warninglists); repeat\n"
    "  --no-warninglists    load none\n"
    "  --json               print the summary (and, without\n"
    "                       --emit-sightings, the sightings) as JSON\n"
    "  --quiet              no progress, no per-indicator notes\n"
    "\n"
    "Refused indicators (over-broad, warninglisted) and malformed lines are\n"
    "reported with their reason. Indicators this node suppresses (marked\n"
    "with strait fp, an allow-listed value: strait allow, expired by the\n"
    "default validity of strait.yaml's lifecycle:) give no sightings and\n"
    "are counted as suppressed. Exit status 0, or 1 when some input line\n"
    "was malformed or some indicator refused, 2 on usage or I/O errors.\n";

#define MAX_INPUTS 256
#define MAX_CIDS 64
#define MAX_WL 16

struct input {
	const char *path;
	enum tel_format fmt;
};

struct run {
	bool quiet, json;
	uint64_t refused, malformed;
	uint64_t allow_listed; /* indicators refused for the allow-list */
	uint64_t suppressed;   /* sightings left out (lifecycle) */
	uint64_t suppressed_hits;
	struct progress *prog;
	const struct tel_reader *reader;
};

static void on_refusal(void *ctx, const char *id, const char *what,
		       const char *why)
{
	struct run *r = ctx;
	if (strstr(why, "'" LC_ALLOW_LIST_NAME) != NULL) {
		/* our own allow-list: suppressed, not refused */
		r->allow_listed++;
		if (!r->quiet)
			fprintf(stderr, "strait: %s: suppressed: %s\n", id,
				why);
		return;
	}
	r->refused++;
	if (r->quiet)
		return;
	if (strncmp(why, id, strlen(id)) == 0) /* the reason names it */
		fprintf(stderr, "strait: %s\n", why);
	else
		fprintf(stderr, "strait: %s: %s: %s\n", id, what, why);
}

static void on_tel_error(void *ctx, const char *source, uint64_t line, int err,
			 const char *msg)
{
	struct run *r = ctx;
	(void)err;
	r->malformed++;
	if (!r->quiet && r->malformed <= 20)
		fprintf(stderr, "strait: %s:%llu: %s\n", source,
			(unsigned long long)line, msg);
	else if (!r->quiet && r->malformed == 21)
		fprintf(stderr, "strait: more malformed lines: counted, not "
				"shown\n");
}

static bool is_dir(const char *p)
{
	struct stat sb;
	return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static void print_summary(const struct match_stats *s, const struct run *r,
			  const struct tel_stats *ts, uint64_t stored,
			  bool emitted, double secs)
{
	if (r->json) {
		printf("{\"records\":%llu,\"malformed\":%llu,"
		       "\"indicators\":%llu,\"active\":%llu,"
		       "\"refused\":%llu,\"invalid\":%llu,\"disabled\":%llu,"
		       "\"hits\":%llu,\"indicators_hit\":%llu,"
		       "\"sightings\":%llu,\"stored\":%llu,"
		       "\"suppressed_indicators\":%llu,"
		       "\"suppressed_sightings\":%llu,"
		       "\"suppressed_hits\":%llu,"
		       "\"matcher_memory\":%zu,\"seconds\":%.3f}\n",
		       (unsigned long long)s->records,
		       (unsigned long long)ts->malformed,
		       (unsigned long long)s->indicators,
		       (unsigned long long)s->active,
		       (unsigned long long)(s->refused - r->allow_listed),
		       (unsigned long long)s->invalid,
		       (unsigned long long)s->disabled,
		       (unsigned long long)s->hits,
		       (unsigned long long)s->indicators_hit,
		       (unsigned long long)(s->sightings - r->suppressed),
		       (unsigned long long)stored,
		       (unsigned long long)r->allow_listed,
		       (unsigned long long)r->suppressed,
		       (unsigned long long)r->suppressed_hits,
		       s->matcher_memory, secs);
		return;
	}
	printf("records      %llu (%llu malformed lines)\n",
	       (unsigned long long)s->records,
	       (unsigned long long)ts->malformed);
	printf("indicators   %llu active of %llu versions offered; %llu "
	       "refused, %llu invalid, %llu disabled\n",
	       (unsigned long long)s->active, (unsigned long long)s->indicators,
	       (unsigned long long)(s->refused - r->allow_listed),
	       (unsigned long long)s->invalid, (unsigned long long)s->disabled);
	if (r->allow_listed > 0 || r->suppressed > 0)
		printf("suppressed   %llu indicators allow-listed; %llu "
		       "sightings (%llu hits) of indicators marked false "
		       "positive, allow-listed or expired\n",
		       (unsigned long long)r->allow_listed,
		       (unsigned long long)r->suppressed,
		       (unsigned long long)r->suppressed_hits);
	printf("hits         %llu, on %llu indicators\n",
	       (unsigned long long)s->hits,
	       (unsigned long long)s->indicators_hit);
	if (emitted)
		printf("sightings    %llu (%llu objects stored)\n",
		       (unsigned long long)(s->sightings - r->suppressed),
		       (unsigned long long)stored);
	else
		printf("sightings    %llu (not stored: --emit-sightings "
		       "stores them)\n",
		       (unsigned long long)(s->sightings + s->pending -
					    r->suppressed));
	printf("time         %.2f s, %.0f records/s; matcher %.1f MB\n", secs,
	       secs > 0 ? (double)s->records / secs : 0.0,
	       (double)s->matcher_memory / 1048576.0);
}

struct feed {
	struct match_engine *e;
	struct run *r;
};

/* ---- suppression (the lifecycle: strait fp, allow, default validity) */

/* What was decided for each indicator a sighting is of. */
struct verdict {
	char id[STIX_ID_MAX];
	bool suppressed;
};

struct filt {
	struct cli *c;
	struct lc *lc;
	struct run *r;
	struct verdict *v;
	size_t n, cap;
	st_time now;
};

struct copy {
	bool got;
	struct store_row row;
	struct buf body, prov;
};

static int on_copy(void *ctx, const struct store_row *row)
{
	struct copy *k = ctx;
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

static bool indicator_suppressed(struct filt *f, const char *id)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->v[i].id, id) == 0)
			return f->v[i].suppressed;
	struct copy k = {.body = BUF_INIT((size_t)64 << 20),
			 .prov = BUF_INIT((size_t)1 << 20)};
	struct store_query q = {.id = id, .vsel = STORE_V_LAST};
	bool sup = false;
	char why[LC_WHY_MAX];
	struct json_doc *doc = json_doc_new();
	const struct json_val *o;
	struct diag d;
	if (doc != NULL &&
	    store_query(f->c->store, &q, on_copy, &k, NULL, NULL) >= 0 &&
	    k.got &&
	    json_parse(doc, k.body.data, k.body.len, 0, NULL, &o, &d) ==
		ST_OK) {
		k.row.id = id;
		sup = lc_suppressed(f->lc, o, &k.row, f->now, why);
	}
	if (sup && !f->r->quiet)
		fprintf(stderr, "strait: %s: suppressed: %s\n", id, why);
	json_doc_free(doc);
	buf_free(&k.body);
	buf_free(&k.prov);
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 64;
		struct verdict *nv = realloc(f->v, cap * sizeof(*nv));
		if (nv == NULL)
			return sup;
		f->v = nv;
		f->cap = cap;
	}
	snprintf(f->v[f->n].id, sizeof(f->v[f->n].id), "%s", id);
	f->v[f->n++].suppressed = sup;
	return sup;
}

/* A sorted set of borrowed strings. */
struct strset {
	const char **s;
	size_t n, cap;
};

static void set_add(struct strset *t, const struct json_val *v)
{
	if (v == NULL || v->type != JSON_STRING)
		return;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		const char **ns = realloc(t->s, cap * sizeof(*ns));
		if (ns == NULL)
			return;
		t->s = ns;
		t->cap = cap;
	}
	t->s[t->n++] = v->u.str;
}

static void set_add_refs(struct strset *t, const struct json_val *o,
			 const char *key)
{
	const struct json_val *a = json_get(o, key);
	for (uint32_t i = 0; a != NULL && a->type == JSON_ARRAY && i < a->len;
	     i++)
		set_add(t, &a->u.items[i]);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void set_sort(struct strset *t)
{
	if (t->n > 1)
		qsort(t->s, t->n, sizeof(*t->s), cmp_str);
}

static bool set_has(const struct strset *t, const char *s)
{
	return s != NULL && t->n > 0 &&
	       bsearch(&s, t->s, t->n, sizeof(*t->s), cmp_str) != NULL;
}

/* Drops objects referenced (refs of key) by dropped objects of type and
 * by no kept one of it. */
static void drop_orphans(const struct json_val *root, bool *drop,
			 const char *type, const char *key, const char *victims)
{
	struct strset kept = {0}, gone = {0};
	for (uint32_t i = 0; i < root->len; i++) {
		const struct json_val *o = &root->u.items[i];
		if (json_str_eq(json_get(o, "type"), type))
			set_add_refs(drop[i] ? &gone : &kept, o, key);
	}
	set_sort(&kept);
	set_sort(&gone);
	for (uint32_t i = 0; gone.n > 0 && i < root->len; i++) {
		const struct json_val *o = &root->u.items[i];
		const struct json_val *t = json_get(o, "type");
		bool victim = victims != NULL ? json_str_eq(t, victims)
					      : !json_str_eq(t, "sighting") &&
						    !json_str_eq(t, type);
		const char *id = json_get_str(o, "id");
		if (victim && set_has(&gone, id) && !set_has(&kept, id))
			drop[i] = true;
	}
	free(kept.s);
	free(gone.s);
}

static void on_ingest_event(void *ctx, const struct ingest_event *ev)
{
	struct run *r = ctx;
	if ((ev->kind == INGEST_REJECTED || ev->kind == INGEST_FAILED) &&
	    !r->quiet)
		fprintf(stderr, "strait: sighting object %s not stored: %s\n",
			ev->id, ev->msg);
}

/*
 * The engine's pending sightings (and their observed-data and SCOs),
 * less those of suppressed indicators: stored in cid when in is given,
 * else printed as a JSON array when print, else only counted.
 */
static int flush_kept(struct filt *f, struct match_engine *e, struct ingest *in,
		      bool print, struct diag *d)
{
	char *mem = NULL;
	size_t mlen = 0;
	FILE *ms = open_memstream(&mem, &mlen);
	if (ms == NULL)
		return diag_set(d, ST_ENOMEM, "match: no memory");
	int rc = match_engine_flush_json(e, ms, d);
	if (fclose(ms) != 0 && rc == ST_OK)
		rc = diag_set(d, ST_ENOMEM, "match: no memory");
	struct json_doc *doc = json_doc_new();
	const struct json_val *root = NULL;
	bool *drop = NULL;
	struct buf one = BUF_INIT((size_t)64 << 20);
	if (rc == ST_OK && doc == NULL)
		rc = diag_set(d, ST_ENOMEM, "match: no memory");
	if (rc == ST_OK)
		rc = json_parse(doc, mem, mlen, 0, NULL, &root, d);
	if (rc == ST_OK && (root->type != JSON_ARRAY ||
			    (drop = calloc(root->len + 1, 1)) == NULL))
		rc = diag_set(d, ST_ENOMEM, "match: no memory");
	for (uint32_t i = 0; rc == ST_OK && i < root->len; i++) {
		const struct json_val *o = &root->u.items[i];
		const char *of = json_get_str(o, "sighting_of_ref");
		if (!json_str_eq(json_get(o, "type"), "sighting") ||
		    of == NULL || !indicator_suppressed(f, of))
			continue;
		drop[i] = true;
		const struct json_val *cnt = json_get(o, "count");
		f->r->suppressed++;
		f->r->suppressed_hits +=
		    cnt != NULL && cnt->type == JSON_NUMBER &&
			    cnt->u.num.is_int && cnt->u.num.i > 0
			? (uint64_t)cnt->u.num.i
			: 1;
	}
	if (rc == ST_OK && f->r->suppressed > 0) {
		drop_orphans(root, drop, "sighting", "observed_data_refs",
			     "observed-data");
		drop_orphans(root, drop, "observed-data", "object_refs", NULL);
	}
	if (print)
		fputs("[", stdout);
	size_t printed = 0;
	for (uint32_t i = 0; rc == ST_OK && i < root->len; i++) {
		if (drop[i])
			continue;
		buf_reset(&one);
		struct jw w;
		jw_init(&w, &one);
		jw_value(&w, &root->u.items[i]);
		if ((rc = jw_finish(&w)) != ST_OK) {
			diag_set(d, rc, "match: no memory");
			break;
		}
		if (in != NULL) {
			rc = ingest_object(in, one.data, one.len, 0, i);
			if (rc != ST_OK)
				diag_set(d, rc,
					 "match: cannot store the "
					 "sightings");
		} else if (print) {
			fputs(printed++ ? ",\n" : "\n", stdout);
			fwrite(one.data, 1, one.len, stdout);
		}
	}
	if (print)
		fputs(printed ? "\n]\n" : "]\n", stdout);
	buf_free(&one);
	free(drop);
	json_doc_free(doc);
	free(mem);
	return rc;
}

static int feed_record(void *ctx, const struct tel_record *rec)
{
	struct feed *f = ctx;
	int rc = match_engine_record(f->e, rec);
	if (f->r->prog != NULL) {
		const struct tel_stats *ts = tel_reader_stats(f->r->reader);
		progress_update(f->r->prog, ts->records, ts->records,
				ts->bytes);
	}
	return rc;
}

int cmd_match(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"collection", required_argument, NULL, 'c'},
	    {"zeek", required_argument, NULL, 'z'},
	    {"suricata", required_argument, NULL, 's'},
	    {"emit-sightings", no_argument, NULL, 'e'},
	    {"into", required_argument, NULL, 'i'},
	    {"window", required_argument, NULL, 'w'},
	    {"include-context", no_argument, NULL, 'C'},
	    {"warninglists", required_argument, NULL, 'W'},
	    {"no-warninglists", no_argument, NULL, 'N'},
	    {"json", no_argument, NULL, 'j'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct input inputs[MAX_INPUTS];
	const char *colls[MAX_CIDS], *wl_dirs[MAX_WL];
	size_t n_inputs = 0, n_colls = 0, n_wl = 0;
	const char *into = NULL;
	bool emit = false, context = false, no_wl = false;
	long window = 3600;
	struct run r = {0};
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "hq", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			if (n_colls == MAX_CIDS)
				return cli_fail(CLI_USAGE,
						"match: at most %d collections",
						MAX_CIDS);
			colls[n_colls++] = optarg;
			break;
		case 'z':
		case 's':
			if (n_inputs == MAX_INPUTS)
				return cli_fail(CLI_USAGE,
						"match: at most %d inputs",
						MAX_INPUTS);
			inputs[n_inputs++] = (struct input){
			    optarg, ch == 's' ? TEL_FMT_EVE : TEL_FMT_AUTO};
			break;
		case 'e':
			emit = true;
			break;
		case 'i':
			into = optarg;
			break;
		case 'w': {
			char *end;
			errno = 0;
			window = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || window < 1 ||
			    window > 31 * 86400)
				return cli_fail(CLI_USAGE,
						"match: --window: expected "
						"seconds from 1 to 2678400, "
						"got '%s'",
						optarg);
			break;
		}
		case 'C':
			context = true;
			break;
		case 'W':
			if (n_wl == MAX_WL)
				return cli_fail(CLI_USAGE,
						"match: at most %d warninglist "
						"folders",
						MAX_WL);
			wl_dirs[n_wl++] = optarg;
			break;
		case 'N':
			no_wl = true;
			break;
		case 'j':
			r.json = true;
			break;
		case 'q':
			r.quiet = true;
			break;
		case 'h':
			fputs(match_usage, stdout);
			return CLI_OK;
		default:
			fputs(match_usage, stderr);
			return CLI_USAGE;
		}
	}
	if (optind < argc)
		return cli_fail(CLI_USAGE,
				"match: unexpected argument '%s' (inputs go "
				"after --zeek or --suricata)",
				argv[optind]);
	if (n_inputs == 0) {
		fputs(match_usage, stderr);
		return cli_fail(CLI_USAGE, "match: no --zeek or --suricata "
					   "input");
	}
	if (no_wl && n_wl > 0)
		return cli_fail(CLI_USAGE, "match: --warninglists and "
					   "--no-warninglists together");
	int rc = cli_open(c);
	if (rc != CLI_OK)
		return rc;
	struct lc *lc = NULL;
	struct filt flt = {.c = c, .r = &r, .now = time_now()};
	if ((rc = cli_lifecycle(c, "match", &lc)) != CLI_OK)
		goto out_close;
	flt.lc = lc;

	int64_t cids[MAX_CIDS];
	struct store_collection sc, dest;
	for (size_t i = 0; i < n_colls; i++) {
		if ((rc = cli_collection(c, colls[i], &sc)) != CLI_OK)
			goto out_close;
		cids[i] = sc.cid;
	}
	if (emit && (rc = cli_collection(c, into, &dest)) != CLI_OK)
		goto out_close;
	enum tlp def;
	if (tlp_parse(c->cfg.default_tlp, &def) != ST_OK)
		def = TLP_AMBER;

	/* The allow-list goes in as one more warninglist, also with
	 * --no-warninglists. */
	struct wl_set *wl = wl_set_new();
	struct diag d;
	if (wl == NULL) {
		rc = cli_fail(CLI_USAGE, "match: no memory");
		goto out_close;
	}
	if (!no_wl &&
	    (rc = cli_warninglists(c, wl, wl_dirs, n_wl, r.quiet)) != CLI_OK)
		goto out_wl;
	if (lc_allow_warninglist(lc, wl, &d) != ST_OK) {
		rc = cli_fail(CLI_USAGE, "match: allow-list: %s", d.msg);
		goto out_wl;
	}

	double t0 = time_mono();
	struct match_options mo = {.cids = cids,
				   .n_cids = n_colls,
				   .identity = c->cfg.node_identity,
				   .window_s = window,
				   .include_context = context,
				   .warninglists =
				       wl_set_lists(wl) > 0 ? wl : NULL,
				   .on_refusal = on_refusal,
				   .ctx = &r};
	struct match_engine *e = NULL;
	if (match_engine_new(c->store, &mo, &e, &d) != ST_OK) {
		rc = cli_fail(CLI_USAGE, "match: %s", d.msg);
		goto out_wl;
	}
	struct tel_options to = TEL_OPTIONS_DEFAULT;
	to.on_error = on_tel_error;
	to.error_ctx = &r;
	struct tel_reader *tr = NULL;
	struct feed f = {e, &r};
	for (size_t i = 0; i < n_inputs; i++) {
		to.format = inputs[i].fmt;
		tel_reader_free(tr);
		tr = NULL;
		if (tel_reader_new(&to, &tr, &d) != ST_OK) {
			rc = cli_fail(CLI_USAGE, "match: %s", d.msg);
			goto out_engine;
		}
		r.reader = tr;
		if (!r.quiet && !r.json && isatty(STDERR_FILENO))
			r.prog = progress_new(stderr, "records", 0);
		int trc =
		    is_dir(inputs[i].path)
			? tel_read_dir(tr, inputs[i].path, feed_record, &f, &d)
			: tel_read_file(tr, inputs[i].path, feed_record, &f,
					&d);
		const struct tel_stats *ts = tel_reader_stats(tr);
		progress_done(r.prog, ts->records, ts->records, ts->bytes);
		r.prog = NULL;
		if (trc != ST_OK) {
			rc = cli_fail(CLI_USAGE, "match: %s", d.msg);
			goto out_engine;
		}
	}
	uint64_t stored = 0;
	if (emit) {
		struct ingest_options io;
		memset(&io, 0, sizeof(io));
		io.cid = dest.cid;
		io.default_tlp = def;
		struct ingest *in =
		    ingest_new(c->store, &io, on_ingest_event, &r);
		int frc = in == NULL ? diag_set(&d, ST_ENOMEM, "no memory")
				     : flush_kept(&flt, e, in, false, &d);
		if (frc == ST_OK && (frc = ingest_finish(in)) != ST_OK)
			diag_set(&d, frc, "cannot store the sightings");
		if (in != NULL)
			stored = ingest_stats(in)->stored;
		ingest_free(in);
		if (frc != ST_OK) {
			rc = cli_fail(CLI_USAGE, "match: %s", d.msg);
			goto out_engine;
		}
	} else if (r.json) {
		fputs("{\"sightings\":", stdout);
		if (flush_kept(&flt, e, NULL, true, &d) != ST_OK) {
			rc = cli_fail(CLI_USAGE, "match: %s", d.msg);
			goto out_engine;
		}
		fputs(",\"summary\":", stdout);
	} else if (flush_kept(&flt, e, NULL, false, &d) != ST_OK) {
		rc = cli_fail(CLI_USAGE, "match: %s", d.msg);
		goto out_engine;
	}
	struct match_stats ms;
	match_engine_stats(e, &ms);
	struct tel_stats all = {0};
	all.malformed = r.malformed;
	if (emit || !r.json) {
		/* Without --json the pending sightings are counted only. */
		print_summary(&ms, &r, &all, stored, emit, time_mono() - t0);
	} else {
		print_summary(&ms, &r, &all, stored, emit, time_mono() - t0);
		fputs("}\n", stdout);
	}
	rc = r.malformed > 0 || r.refused > 0 ? CLI_PARTIAL : CLI_OK;
out_engine:
	tel_reader_free(tr);
	match_engine_free(e);
out_wl:
	wl_set_free(wl);
out_close:
	free(flt.v);
	lc_close(lc);
	cli_close(c);
	return rc;
}
