/*
 * strait feed: external feeds pulled on a schedule (docs/FEEDS.md). The
 * definitions and their state are in feeds.db in the home; `strait serve`
 * reads it every second, so what is added or removed here reaches a
 * running node without a restart.
 */
#include "cli/cli.h"
#include "cli/feed.h"

#include "common/json.h"
#include "common/time.h"

#include <curl/curl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char feed_usage[] =
    "usage: strait feed add NAME --url URL --format misp|csv|stix\n"
    "                   [--every INTERVAL] [--collection ID] [--tlp LEVEL]\n"
    "                   [--created-by IDENTITY]\n"
    "       strait feed list [--json]\n"
    "       strait feed remove NAME\n"
    "       strait feed pull [NAME...] [--json] [--quiet]\n"
    "       strait feed status [NAME...] [--json]\n"
    "\n"
    "Feeds are URLs that strait reads on a schedule: a MISP feed (its\n"
    "manifest.json and the events it lists), a CSV file of indicators or a\n"
    "STIX 2.1 bundle. 'strait serve' pulls each feed when its interval has\n"
    "passed; 'strait feed pull' pulls now. Only what changed is read\n"
    "(conditional requests; of a MISP feed, the events whose timestamp is\n"
    "newer than the one imported). Only loopback hosts and the hosts of\n"
    "feeds.allow_hosts in strait.yaml are contacted (docs/FEEDS.md).\n"
    "\n"
    "'strait feed COMMAND --help' describes each command.\n";

static const char add_usage[] =
    "usage: strait feed add NAME --url URL --format misp|csv|stix\n"
    "                   [--every INTERVAL] [--collection ID] [--tlp LEVEL]\n"
    "                   [--created-by IDENTITY]\n"
    "\n"
    "Adds a feed. NAME: letters, digits, '.', '_' and '-'.\n"
    "\n"
    "  --url URL            http:// or https://; for a MISP feed, the folder\n"
    "                       that holds manifest.json (or the manifest's URL)\n"
    "  --format F           misp, csv or stix\n"
    "  --every INTERVAL     how often strait serve pulls it: 90s, 15m, 1h,\n"
    "                       1d (default 1h); 'manual': only by strait feed\n"
    "                       pull\n"
    "  --collection ID      collection id or alias the objects join\n"
    "                       (default: 'default')\n"
    "  --tlp LEVEL          marking that the feed's unmarked objects take\n"
    "                       (clear, green, amber, amber+strict, red;\n"
    "                       default: the node's default_tlp)\n"
    "  --created-by ID      csv only: the identity id that the indicators\n"
    "                       made from its rows name as created_by_ref (STIX\n"
    "                       and MISP objects name their own creator and are\n"
    "                       never changed)\n"
    "\n"
    "The URL's host must be loopback or listed in feeds.allow_hosts.\n";

static const char list_usage[] =
    "usage: strait feed list [--json]\n"
    "\n"
    "Lists the feeds: name, format, interval, collection and URL.\n";

static const char remove_usage[] =
    "usage: strait feed remove NAME\n"
    "\n"
    "Removes a feed and what was recorded about it. The objects it brought\n"
    "stay in the store.\n";

static const char pull_usage[] =
    "usage: strait feed pull [NAME...] [--json] [--quiet]\n"
    "\n"
    "Pulls the named feeds (all of them without a NAME) now, whatever their\n"
    "schedule, with progress on standard error; prints what each pull did.\n"
    "\n"
    "  --json    print the results as JSON (no progress)\n"
    "  --quiet   no progress and no rejection lines\n"
    "\n"
    "exit status: 0 every feed answered and nothing was rejected, 1 some\n"
    "objects were rejected or conflicting, 2 a feed could not be pulled.\n";

static const char status_usage[] =
    "usage: strait feed status [NAME...] [--json]\n"
    "\n"
    "What each feed's pulls did: the last pull, the last success, the last\n"
    "error, when the next pull is due, the objects stored, duplicate and\n"
    "rejected by the last pull and by all of them.\n";

/* Parses the options common to the small subcommands: --json, --quiet,
 * --help. -1: help was printed. */
static int simple_opts(int argc, char **argv, const char *usage, bool *json,
		       bool *quiet)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "hq", opts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			if (json == NULL)
				goto bad;
			*json = true;
			break;
		case 'q':
			if (quiet == NULL)
				goto bad;
			*quiet = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return -1;
		default:
			goto bad;
		}
	}
	return CLI_OK;
bad:
	fputs(usage, stderr);
	return CLI_USAGE;
}

static int open_db(struct cli *c, struct feed_db **db)
{
	struct diag d;
	if (feed_db_open(c->home, db, &d) != ST_OK)
		return cli_fail(CLI_USAGE, "feed: %s", d.msg);
	return CLI_OK;
}

static void ts_or(st_time t, const char *none, char *out, size_t cap)
{
	char ts[TS_BUFSZ];
	if (t <= 0) {
		snprintf(out, cap, "%s", none);
		return;
	}
	ts_format_ms(t, ts);
	snprintf(out, cap, "%s", ts);
}

static int feed_add(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"url", required_argument, NULL, 'u'},
	    {"format", required_argument, NULL, 'F'},
	    {"every", required_argument, NULL, 'e'},
	    {"collection", required_argument, NULL, 'c'},
	    {"tlp", required_argument, NULL, 't'},
	    {"created-by", required_argument, NULL, 'b'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *url = NULL, *fmt = NULL, *every = "1h", *coll = NULL;
	const char *tlp = NULL, *by = NULL;
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'u':
			url = optarg;
			break;
		case 'F':
			fmt = optarg;
			break;
		case 'e':
			every = optarg;
			break;
		case 'c':
			coll = optarg;
			break;
		case 't':
			tlp = optarg;
			break;
		case 'b':
			by = optarg;
			break;
		case 'h':
			fputs(add_usage, stdout);
			return CLI_OK;
		default:
			fputs(add_usage, stderr);
			return CLI_USAGE;
		}
	}
	if (optind + 1 != argc) {
		fputs(add_usage, stderr);
		return cli_fail(CLI_USAGE, "feed add: give one NAME");
	}
	struct feed f;
	memset(&f, 0, sizeof(f));
	const char *name = argv[optind];
	if (!feed_name_valid(name))
		return cli_fail(CLI_USAGE,
				"feed add: '%s' is not a feed name (1 to %d "
				"letters, digits, '.', '_' or '-')",
				name, FEED_NAME_MAX);
	snprintf(f.name, sizeof(f.name), "%s", name);
	if (url == NULL || fmt == NULL)
		return cli_fail(CLI_USAGE, "feed add: --url and --format are "
					   "needed");
	if (ix_in_fmt_parse(fmt, &f.format) != ST_OK)
		return cli_fail(CLI_USAGE,
				"feed add: --format: expected misp, csv or "
				"stix, got '%s'",
				fmt);
	if (feed_every_parse(every, &f.every_s) != ST_OK)
		return cli_fail(CLI_USAGE,
				"feed add: --every: expected an interval "
				"like 90s, 15m, 1h or 1d (at most 30d), or "
				"'manual', got '%s'",
				every);
	if (tlp != NULL) {
		enum tlp lv;
		if (tlp_parse(tlp, &lv) != ST_OK || lv == TLP_NONE)
			return cli_fail(CLI_USAGE,
					"feed add: --tlp: unknown level '%s' "
					"(clear, green, amber, amber+strict, "
					"red)",
					tlp);
		snprintf(f.tlp, sizeof(f.tlp), "%s", tlp_name(lv));
	}
	if (by != NULL) {
		char type[STIX_TYPE_MAX];
		uint8_t u[16];
		if (f.format != IX_IN_CSV)
			return cli_fail(CLI_USAGE,
					"feed add: --created-by applies to csv "
					"feeds only (STIX and MISP objects "
					"name their own creator, and are never "
					"changed)");
		if (strlen(by) >= sizeof(f.created_by) ||
		    stix_parse_id(by, strlen(by), type, u) != ST_OK ||
		    strcmp(type, "identity") != 0)
			return cli_fail(CLI_USAGE,
					"feed add: --created-by: '%s' is not "
					"an identity id (identity--UUID)",
					by);
		snprintf(f.created_by, sizeof(f.created_by), "%s", by);
	}
	if (strlen(url) >= sizeof(f.url))
		return cli_fail(CLI_USAGE,
				"feed add: --url: longer than %d bytes",
				FEED_URL_MAX - 1);
	snprintf(f.url, sizeof(f.url), "%s", url);
	int rc = cli_open(c);
	if (rc != CLI_OK)
		return rc;
	struct diag d;
	if (feed_url_check(url, c->cfg.feed_allow_hosts, &d) != ST_OK)
		return cli_fail(CLI_USAGE, "feed add: --url: %s", d.msg);
	struct store_collection sc;
	if ((rc = cli_collection(c, coll, &sc)) != CLI_OK)
		return rc;
	snprintf(f.collection, sizeof(f.collection), "%s", sc.id);
	snprintf(f.collection_label, sizeof(f.collection_label), "%s",
		 sc.alias[0] ? sc.alias : sc.id);
	f.added = time_now();
	struct feed_db *db = NULL;
	if ((rc = open_db(c, &db)) != CLI_OK)
		return rc;
	int err = feed_db_add(db, &f, &d);
	feed_db_close(db);
	if (err == ST_EEXIST)
		return cli_fail(CLI_USAGE,
				"feed add: a feed named '%s' exists ('strait "
				"feed remove %s' first)",
				name, name);
	if (err != ST_OK)
		return cli_fail(CLI_USAGE, "feed add: %s", d.msg);
	char ev[32];
	feed_every_format(f.every_s, ev, sizeof(ev));
	cli_audit(c, "feed.add", "feed", f.name, "url", f.url, "format",
		  ix_in_fmt_name(f.format), "every", ev, "collection",
		  f.collection, NULL);
	if (f.every_s > 0)
		printf("feed %s added: strait serve pulls it every %s ('strait "
		       "feed pull %s' pulls it now)\n",
		       f.name, ev, f.name);
	else
		printf("feed %s added: pulled only by 'strait feed pull %s'\n",
		       f.name, f.name);
	return CLI_OK;
}

static int feed_list(struct cli *c, int argc, char **argv)
{
	bool json = false;
	int rc = simple_opts(argc, argv, list_usage, &json, NULL);
	if (rc != CLI_OK)
		return rc < 0 ? CLI_OK : rc;
	if (optind != argc)
		return cli_fail(CLI_USAGE, "feed list: unexpected '%s'",
				argv[optind]);
	if ((rc = cli_load_config(c)) != CLI_OK)
		return rc;
	struct feed_db *db = NULL;
	if ((rc = open_db(c, &db)) != CLI_OK)
		return rc;
	struct feed *v = NULL;
	size_t n = 0;
	struct diag d;
	int err = feed_db_list(db, &v, &n, &d);
	feed_db_close(db);
	if (err != ST_OK)
		return cli_fail(CLI_USAGE, "feed list: %s", d.msg);
	struct buf out = BUF_INIT((size_t)64 << 20);
	struct jw w;
	if (json) {
		jw_init(&w, &out);
		jw_arr_open(&w);
	} else if (n == 0) {
		printf("no feeds (add one with 'strait feed add')\n");
	} else {
		printf("%-20s %-6s %-8s %-20s %s\n", "NAME", "FORMAT", "EVERY",
		       "COLLECTION", "URL");
	}
	for (size_t i = 0; i < n; i++) {
		char ev[32];
		feed_every_format(v[i].every_s, ev, sizeof(ev));
		if (!json) {
			printf("%-20s %-6s %-8s %-20s %s\n", v[i].name,
			       ix_in_fmt_name(v[i].format), ev,
			       v[i].collection_label, v[i].url);
			continue;
		}
		jw_obj_open(&w);
		jw_key(&w, "name");
		jw_str(&w, v[i].name);
		jw_key(&w, "url");
		jw_str(&w, v[i].url);
		jw_key(&w, "format");
		jw_str(&w, ix_in_fmt_name(v[i].format));
		jw_key(&w, "every");
		jw_str(&w, ev);
		jw_key(&w, "every_seconds");
		jw_int(&w, v[i].every_s);
		jw_key(&w, "collection");
		jw_str(&w, v[i].collection);
		jw_key(&w, "collection_label");
		jw_str(&w, v[i].collection_label);
		jw_key(&w, "tlp");
		if (v[i].tlp[0])
			jw_str(&w, v[i].tlp);
		else
			jw_null(&w);
		jw_key(&w, "created_by");
		if (v[i].created_by[0])
			jw_str(&w, v[i].created_by);
		else
			jw_null(&w);
		jw_obj_close(&w);
	}
	if (json) {
		jw_arr_close(&w);
		if (jw_finish(&w) == ST_OK)
			printf("%s\n", out.data);
	}
	buf_free(&out);
	free(v);
	return CLI_OK;
}

static int feed_remove(struct cli *c, int argc, char **argv)
{
	int rc = simple_opts(argc, argv, remove_usage, NULL, NULL);
	if (rc != CLI_OK)
		return rc < 0 ? CLI_OK : rc;
	if (optind + 1 != argc) {
		fputs(remove_usage, stderr);
		return cli_fail(CLI_USAGE, "feed remove: give one NAME");
	}
	const char *name = argv[optind];
	if ((rc = cli_load_config(c)) != CLI_OK)
		return rc;
	struct feed_db *db = NULL;
	if ((rc = open_db(c, &db)) != CLI_OK)
		return rc;
	struct diag d;
	int err = feed_db_remove(db, name, &d);
	feed_db_close(db);
	if (err == ST_ENOTFOUND)
		return cli_fail(CLI_USAGE,
				"feed remove: no feed '%s' (see 'strait feed "
				"list')",
				name);
	if (err != ST_OK)
		return cli_fail(CLI_USAGE, "feed remove: %s", d.msg);
	cli_audit(c, "feed.remove", "feed", name, NULL);
	printf("feed %s removed (the objects it brought stay in the store)\n",
	       name);
	return CLI_OK;
}

static void result_json(struct jw *w, const char *name,
			const struct feed_result *r)
{
	jw_obj_open(w);
	jw_key(w, "feed");
	jw_str(w, name);
	jw_key(w, "result");
	jw_str(w, r->result);
	jw_key(w, "stored");
	jw_int(w, (int64_t)r->stored);
	jw_key(w, "duplicate");
	jw_int(w, (int64_t)r->duplicate);
	jw_key(w, "rejected");
	jw_int(w, (int64_t)r->rejected);
	jw_key(w, "conflicting");
	jw_int(w, (int64_t)r->conflicting);
	jw_key(w, "events_listed");
	jw_int(w, (int64_t)r->events_listed);
	jw_key(w, "events_changed");
	jw_int(w, (int64_t)r->events_changed);
	jw_key(w, "events_fetched");
	jw_int(w, (int64_t)r->events_fetched);
	jw_key(w, "events_failed");
	jw_int(w, (int64_t)r->events_failed);
	jw_key(w, "requests");
	jw_int(w, (int64_t)r->requests);
	jw_key(w, "bytes");
	jw_int(w, (int64_t)r->bytes);
	jw_key(w, "error");
	if (r->rc != ST_OK)
		jw_str(w, r->error);
	else
		jw_null(w);
	jw_obj_close(w);
}

static void result_text(const char *name, enum ix_in_fmt f,
			const struct feed_result *r)
{
	if (r->rc != ST_OK) {
		printf("%s: %s: %s\n", name, r->result, r->error);
		return;
	}
	printf("%s: %s: %llu stored, %llu duplicate, %llu rejected", name,
	       r->result, (unsigned long long)r->stored,
	       (unsigned long long)r->duplicate,
	       (unsigned long long)r->rejected);
	if (r->conflicting)
		printf(", %llu conflicting",
		       (unsigned long long)r->conflicting);
	if (f == IX_IN_MISP && r->events_listed)
		printf("; %llu of %llu events fetched",
		       (unsigned long long)r->events_fetched,
		       (unsigned long long)r->events_listed);
	printf("\n");
}

static int feed_pull_cmd(struct cli *c, int argc, char **argv)
{
	bool json = false, quiet = false;
	int rc = simple_opts(argc, argv, pull_usage, &json, &quiet);
	if (rc != CLI_OK)
		return rc < 0 ? CLI_OK : rc;
	if ((rc = cli_open(c)) != CLI_OK)
		return rc;
	struct feed_env env;
	struct diag d;
	memset(&env, 0, sizeof(env));
	if (feed_env_config(&c->cfg, &env, &d) != ST_OK)
		return cli_fail(CLI_USAGE, "%s", d.msg);
	env.home = c->home;
	env.store = c->store;
	env.verbose = !quiet && !json;
	struct feed_db *db = NULL;
	if ((rc = open_db(c, &db)) != CLI_OK)
		return rc;
	/* the feeds named, or all of them */
	struct feed *v = NULL;
	size_t n = 0;
	if (feed_db_list(db, &v, &n, &d) != ST_OK) {
		feed_db_close(db);
		return cli_fail(CLI_USAGE, "feed pull: %s", d.msg);
	}
	for (int i = optind; i < argc; i++) {
		bool known = false;
		for (size_t k = 0; k < n && !known; k++)
			known = strcmp(v[k].name, argv[i]) == 0;
		if (!known) {
			free(v);
			feed_db_close(db);
			return cli_fail(CLI_USAGE,
					"feed pull: no feed '%s' (see "
					"'strait feed list')",
					argv[i]);
		}
	}
	if (n == 0 && !json)
		printf("no feeds (add one with 'strait feed add')\n");
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		free(v);
		feed_db_close(db);
		return cli_fail(CLI_USAGE, "feed pull: cannot start libcurl");
	}
	struct buf out = BUF_INIT((size_t)64 << 20);
	struct jw w;
	jw_init(&w, &out);
	jw_arr_open(&w);
	int status = CLI_OK;
	for (size_t k = 0; k < n; k++) {
		bool wanted = optind == argc;
		for (int i = optind; i < argc && !wanted; i++)
			wanted = strcmp(v[k].name, argv[i]) == 0;
		if (!wanted)
			continue;
		struct feed_result r;
		feed_pull(&env, db, v[k].name, &r);
		if (json)
			result_json(&w, v[k].name, &r);
		else
			result_text(v[k].name, v[k].format, &r);
		fflush(stdout);
		if (r.rc != ST_OK)
			status = CLI_USAGE;
		else if ((r.rejected || r.conflicting) && status == CLI_OK)
			status = CLI_PARTIAL;
	}
	jw_arr_close(&w);
	if (json && jw_finish(&w) == ST_OK)
		printf("%s\n", out.data);
	buf_free(&out);
	curl_global_cleanup();
	free(v);
	feed_db_close(db);
	return status;
}

static void status_json(struct jw *w, const struct feed *f, st_time now)
{
	char ev[32], ts[TS_BUFSZ];
	feed_every_format(f->every_s, ev, sizeof(ev));
	jw_obj_open(w);
	jw_key(w, "name");
	jw_str(w, f->name);
	jw_key(w, "url");
	jw_str(w, f->url);
	jw_key(w, "format");
	jw_str(w, ix_in_fmt_name(f->format));
	jw_key(w, "every");
	jw_str(w, ev);
	jw_key(w, "collection");
	jw_str(w, f->collection);
	jw_key(w, "state");
	jw_str(w, feed_pulling(f, now) ? "pulling"
		  : f->pulls == 0      ? "never pulled"
		  : f->failures > 0    ? "failing"
				       : "ok");
	jw_key(w, "failures_in_a_row");
	jw_int(w, f->failures);
	const struct {
		const char *key;
		st_time t;
	} times[] = {
	    {"last_pull", f->last_pull},
	    {"last_success", f->last_success},
	    {"last_error_at", f->last_error_at},
	    {"next_pull", f->every_s > 0 ? f->next_pull : 0},
	};
	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		jw_key(w, times[i].key);
		if (times[i].t > 0) {
			ts_format_ms(times[i].t, ts);
			jw_str(w, ts);
		} else {
			jw_null(w);
		}
	}
	const struct {
		const char *key;
		const char *s;
	} texts[] = {
	    {"last_result", f->last_result},	 {"last_error", f->last_error},
	    {"last_rejection", f->last_reject},	 {"etag", f->etag},
	    {"last_modified", f->last_modified},
	};
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		jw_key(w, texts[i].key);
		if (texts[i].s[0])
			jw_str(w, texts[i].s);
		else
			jw_null(w);
	}
	jw_key(w, "last");
	jw_obj_open(w);
	jw_key(w, "stored");
	jw_int(w, f->last_stored);
	jw_key(w, "duplicate");
	jw_int(w, f->last_duplicate);
	jw_key(w, "rejected");
	jw_int(w, f->last_rejected);
	jw_key(w, "conflicting");
	jw_int(w, f->last_conflicting);
	jw_key(w, "events_fetched");
	jw_int(w, f->last_events);
	jw_key(w, "requests");
	jw_int(w, f->last_requests);
	jw_key(w, "bytes");
	jw_int(w, f->last_bytes);
	jw_obj_close(w);
	jw_key(w, "total");
	jw_obj_open(w);
	jw_key(w, "pulls");
	jw_int(w, f->pulls);
	jw_key(w, "stored");
	jw_int(w, f->stored);
	jw_key(w, "duplicate");
	jw_int(w, f->duplicate);
	jw_key(w, "rejected");
	jw_int(w, f->rejected);
	jw_key(w, "conflicting");
	jw_int(w, f->conflicting);
	jw_key(w, "requests");
	jw_int(w, f->requests);
	jw_key(w, "bytes");
	jw_int(w, f->bytes);
	jw_obj_close(w);
	jw_key(w, "misp_events_known");
	jw_int(w, f->events_known);
	jw_obj_close(w);
}

static void status_text(const struct feed *f, st_time now)
{
	char ev[32], a[TS_BUFSZ + 8], b[TS_BUFSZ + 8];
	feed_every_format(f->every_s, ev, sizeof(ev));
	printf("feed %s (%s, every %s, into %s)\n", f->name,
	       ix_in_fmt_name(f->format), ev, f->collection_label);
	printf("  url           %s\n", f->url);
	if (feed_pulling(f, now))
		printf("  state         pulling now\n");
	else if (f->pulls == 0)
		printf("  state         never pulled\n");
	else if (f->failures > 0)
		printf("  state         failing (%lld failed pulls in a row)\n",
		       (long long)f->failures);
	else
		printf("  state         ok\n");
	ts_or(f->last_pull, "never", a, sizeof(a));
	printf("  last pull     %s%s%s%s\n", a, f->last_result[0] ? " (" : "",
	       f->last_result, f->last_result[0] ? ")" : "");
	ts_or(f->last_success, "never", a, sizeof(a));
	printf("  last success  %s\n", a);
	ts_or(f->last_error_at, "", b, sizeof(b));
	if (f->last_error[0])
		printf("  last error    %s: %s\n", b, f->last_error);
	else
		printf("  last error    none\n");
	if (f->every_s <= 0)
		snprintf(a, sizeof(a), "by hand only");
	else if (f->next_pull <= now)
		snprintf(a, sizeof(a), "due now");
	else
		ts_or(f->next_pull, "", a, sizeof(a));
	printf("  next pull     %s\n", a);
	printf("  last counts   %lld stored, %lld duplicate, %lld rejected, "
	       "%lld conflicting",
	       (long long)f->last_stored, (long long)f->last_duplicate,
	       (long long)f->last_rejected, (long long)f->last_conflicting);
	if (f->format == IX_IN_MISP)
		printf("; %lld events fetched", (long long)f->last_events);
	printf("; %lld requests, %lld bytes\n", (long long)f->last_requests,
	       (long long)f->last_bytes);
	printf("  all pulls     %lld pulls: %lld stored, %lld duplicate, "
	       "%lld rejected, %lld conflicting\n",
	       (long long)f->pulls, (long long)f->stored,
	       (long long)f->duplicate, (long long)f->rejected,
	       (long long)f->conflicting);
	if (f->last_reject[0])
		printf("  last rejected %s\n", f->last_reject);
	if (f->format == IX_IN_MISP)
		printf("  misp events   %lld imported\n",
		       (long long)f->events_known);
	if (f->etag[0] || f->last_modified[0])
		printf("  validators    %s%s%s\n", f->etag,
		       f->etag[0] && f->last_modified[0] ? ", " : "",
		       f->last_modified);
}

static int feed_status(struct cli *c, int argc, char **argv)
{
	bool json = false;
	int rc = simple_opts(argc, argv, status_usage, &json, NULL);
	if (rc != CLI_OK)
		return rc < 0 ? CLI_OK : rc;
	if ((rc = cli_load_config(c)) != CLI_OK)
		return rc;
	struct feed_db *db = NULL;
	if ((rc = open_db(c, &db)) != CLI_OK)
		return rc;
	struct feed *v = NULL;
	size_t n = 0;
	struct diag d;
	int err = feed_db_list(db, &v, &n, &d);
	feed_db_close(db);
	if (err != ST_OK)
		return cli_fail(CLI_USAGE, "feed status: %s", d.msg);
	for (int i = optind; i < argc; i++) {
		bool known = false;
		for (size_t k = 0; k < n && !known; k++)
			known = strcmp(v[k].name, argv[i]) == 0;
		if (!known) {
			free(v);
			return cli_fail(CLI_USAGE,
					"feed status: no feed '%s' (see "
					"'strait feed list')",
					argv[i]);
		}
	}
	st_time now = time_now();
	struct buf out = BUF_INIT((size_t)64 << 20);
	struct jw w;
	jw_init(&w, &out);
	jw_arr_open(&w);
	if (n == 0 && !json)
		printf("no feeds (add one with 'strait feed add')\n");
	bool first = true;
	for (size_t k = 0; k < n; k++) {
		bool wanted = optind == argc;
		for (int i = optind; i < argc && !wanted; i++)
			wanted = strcmp(v[k].name, argv[i]) == 0;
		if (!wanted)
			continue;
		if (json) {
			status_json(&w, &v[k], now);
			continue;
		}
		if (!first)
			printf("\n");
		first = false;
		status_text(&v[k], now);
	}
	jw_arr_close(&w);
	if (json && jw_finish(&w) == ST_OK)
		printf("%s\n", out.data);
	buf_free(&out);
	free(v);
	return CLI_OK;
}

static const struct {
	const char *name;
	int (*run)(struct cli *c, int argc, char **argv);
} subcommands[] = {
    {"add", feed_add},	     {"list", feed_list},     {"remove", feed_remove},
    {"pull", feed_pull_cmd}, {"status", feed_status},
};

int cmd_feed(struct cli *c, int argc, char **argv)
{
	if (argc < 2) {
		fputs(feed_usage, stderr);
		return CLI_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(feed_usage, stdout);
		return CLI_OK;
	}
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]);
	     i++)
		if (strcmp(argv[1], subcommands[i].name) == 0)
			return subcommands[i].run(c, argc - 1, argv + 1);
	fputs(feed_usage, stderr);
	return cli_fail(CLI_USAGE, "feed: unknown command '%s'", argv[1]);
}
