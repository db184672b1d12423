/* strait match: our telemetry against the indicators we hold. */
#include "cli/cli.h"

#include "common/json.h"
#include "common/time.h"
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
    "reported with their reason. Exit status 0, or 1 when some input line\n"
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
	struct progress *prog;
	const struct tel_reader *reader;
};

static void on_refusal(void *ctx, const char *id, const char *what,
		       const char *why)
{
	struct run *r = ctx;
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
		       "\"matcher_memory\":%zu,\"seconds\":%.3f}\n",
		       (unsigned long long)s->records,
		       (unsigned long long)ts->malformed,
		       (unsigned long long)s->indicators,
		       (unsigned long long)s->active,
		       (unsigned long long)s->refused,
		       (unsigned long long)s->invalid,
		       (unsigned long long)s->disabled,
		       (unsigned long long)s->hits,
		       (unsigned long long)s->indicators_hit,
		       (unsigned long long)s->sightings,
		       (unsigned long long)stored, s->matcher_memory, secs);
		return;
	}
	printf("records      %llu (%llu malformed lines)\n",
	       (unsigned long long)s->records,
	       (unsigned long long)ts->malformed);
	printf("indicators   %llu active of %llu versions offered; %llu "
	       "refused, %llu invalid, %llu disabled\n",
	       (unsigned long long)s->active, (unsigned long long)s->indicators,
	       (unsigned long long)s->refused, (unsigned long long)s->invalid,
	       (unsigned long long)s->disabled);
	printf("hits         %llu, on %llu indicators\n",
	       (unsigned long long)s->hits,
	       (unsigned long long)s->indicators_hit);
	if (emitted)
		printf("sightings    %llu (%llu objects stored)\n",
		       (unsigned long long)s->sightings,
		       (unsigned long long)stored);
	else
		printf("sightings    %llu (not stored: --emit-sightings "
		       "stores them)\n",
		       (unsigned long long)(s->sightings + s->pending));
	printf("time         %.2f s, %.0f records/s; matcher %.1f MB\n", secs,
	       secs > 0 ? (double)s->records / secs : 0.0,
	       (double)s->matcher_memory / 1048576.0);
}

struct feed {
	struct match_engine *e;
	struct run *r;
};

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

	struct wl_set *wl = no_wl ? NULL : wl_set_new();
	if (!no_wl && wl == NULL) {
		rc = cli_fail(CLI_USAGE, "match: no memory");
		goto out_close;
	}
	if (wl != NULL &&
	    (rc = cli_warninglists(c, wl, wl_dirs, n_wl, r.quiet)) != CLI_OK)
		goto out_wl;

	double t0 = time_mono();
	struct match_options mo = {.cids = cids,
				   .n_cids = n_colls,
				   .identity = c->cfg.node_identity,
				   .window_s = window,
				   .include_context = context,
				   .warninglists = wl,
				   .on_refusal = on_refusal,
				   .ctx = &r};
	struct match_engine *e = NULL;
	struct diag d;
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
		if (match_engine_flush(e, dest.cid, def, &stored, &d) !=
		    ST_OK) {
			rc = cli_fail(CLI_USAGE, "match: %s", d.msg);
			goto out_engine;
		}
	} else if (r.json) {
		fputs("{\"sightings\":", stdout);
		if (match_engine_flush_json(e, stdout, &d) != ST_OK) {
			rc = cli_fail(CLI_USAGE, "match: %s", d.msg);
			goto out_engine;
		}
		fputs(",\"summary\":", stdout);
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
	cli_close(c);
	return rc;
}
