/*
 * strait: pulls of external feeds (private to src/cli; docs/FEEDS.md).
 *
 * A feed is a URL read on a schedule: a STIX bundle, a CSV file of
 * indicators, or a MISP feed (a directory with manifest.json and one
 * <uuid>.json per event). Definitions and what was learnt pulling them
 * live in feeds.db in the home (SQLite); `strait feed` edits it and pulls
 * by hand, `strait serve` pulls each feed when its interval has passed.
 *
 * Only what changed is read: every request for a whole document is
 * conditional (If-None-Match, If-Modified-Since; 304 ends the pull), and
 * of a MISP feed only the events whose manifest timestamp is newer than
 * the one last imported are fetched. Only loopback hosts and those of
 * feeds.allow_hosts in strait.yaml are contacted, redirects included.
 */
#ifndef STRAIT_CLI_FEED_H
#define STRAIT_CLI_FEED_H

#include "cli/cli.h"
#include "common/err.h"
#include "common/time.h"
#include "interop/import.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define FEED_NAME_MAX 64
#define FEED_URL_MAX 2048
/* Longest interval: 30 days. */
#define FEED_EVERY_MAX ((int64_t)30 * 86400)

/* One feed: its definition and its state. */
struct feed {
	char name[FEED_NAME_MAX + 1];
	char url[FEED_URL_MAX];
	enum ix_in_fmt format;
	int64_t every_s;	      /* 0: pulled by hand only */
	char collection[64];	      /* the collection's id */
	char collection_label[128];   /* its alias when it had one */
	char tlp[16];		      /* "": the node's default_tlp */
	char created_by[STIX_ID_MAX]; /* csv: creator of the rows' objects */
	st_time added;
	/* state */
	char etag[256], last_modified[64]; /* of the URL or the manifest */
	st_time last_pull, last_success, last_error_at, next_pull;
	st_time lease_until; /* a pull is running until then, */
	int64_t lease_pid;   /* in this process */
	char last_error[DIAG_MAX];
	char last_result[32]; /* "imported", "not modified", "failed", ... */
	char last_reject[256];
	int64_t failures; /* in a row */
	int64_t pulls, requests, bytes;
	int64_t stored, duplicate, rejected, conflicting; /* all pulls */
	int64_t last_stored, last_duplicate, last_rejected, last_conflicting;
	int64_t last_events, last_requests, last_bytes; /* the last pull */
	int64_t events_known; /* MISP events whose timestamp is recorded */
};

struct feed_db;

/* Opens (makes) <home>/feeds.db. */
int feed_db_open(const char *home, struct feed_db **out, struct diag *d);
/* feed_db_close(NULL) is a no-op. */
void feed_db_close(struct feed_db *db);
/* Adds a definition (its state empty: due at once). ST_EEXIST. */
int feed_db_add(struct feed_db *db, const struct feed *f, struct diag *d);
/* Removes a feed and what was recorded of it. ST_ENOTFOUND. */
int feed_db_remove(struct feed_db *db, const char *name, struct diag *d);
/* One feed, ST_ENOTFOUND. */
int feed_db_get(struct feed_db *db, const char *name, struct feed *f,
		struct diag *d);
/* All feeds by name into *out (malloc'd; the caller frees it). */
int feed_db_list(struct feed_db *db, struct feed **out, size_t *n,
		 struct diag *d);

/* Whether a live process is pulling f. */
bool feed_pulling(const struct feed *f, st_time now);
/* A feed name: 1 to 64 letters, digits, '.', '_' or '-', not starting
 * with '.' or '-'. */
bool feed_name_valid(const char *name);
/* "90s", "15m", "1h", "2d" (a bare number is seconds; "0" or "manual":
 * by hand only) into seconds, at most FEED_EVERY_MAX. */
int feed_every_parse(const char *s, int64_t *out);
/* The interval as feed_every_parse reads it ("manual" for 0). */
void feed_every_format(int64_t s, char *out, size_t cap);

/*
 * Whether url may be pulled: http or https, no user information, and a
 * host that is loopback (127.0.0.0/8, ::1, localhost) or matches allow
 * (a ", "-joined list of names, "*.suffix" patterns, addresses and CIDR
 * prefixes; feeds.allow_hosts). ST_OK, or ST_EINVAL / ST_EAUTH with d
 * saying why.
 */
int feed_url_check(const char *url, const char *allow, struct diag *d);

/* What a pull needs that is not in the feed. */
struct feed_env {
	const char *home;
	struct store *store;
	const char *allow_hosts; /* feeds.allow_hosts */
	size_t max_response;	 /* bytes (feeds.max_response_mb) */
	enum tlp node_tlp;	 /* default_tlp of strait.yaml */
	atomic_bool *stop;	 /* set: transfers end soon; NULL: never */
	bool verbose;		 /* progress and rejections on stderr */
};

/* Reads the feeds: settings of cfg into env (home, store, stop and
 * verbose are the caller's). CLI-style message in d. */
int feed_env_config(const struct config *cfg, struct feed_env *env,
		    struct diag *d);

/* What one pull did. */
struct feed_result {
	int rc; /* ST_OK; ST_EEXIST: another pull was running */
	char error[DIAG_MAX];
	const char *result; /* "imported", "not modified", ... */
	uint64_t stored, duplicate, rejected, conflicting, failed;
	uint64_t events_listed, events_changed, events_fetched;
	uint64_t events_failed;
	uint64_t requests, bytes;
	st_time next_pull; /* 0: by hand only */
};

/*
 * Pulls the feed name now, whatever its schedule, and records what
 * happened in db. Returns r->rc: ST_OK when the feed answered (even with
 * rejected objects); ST_ENOTFOUND; ST_EEXIST when another pull of it is
 * running; ST_ECLOSED when env->stop ended it; another error (r->error
 * says what) when it failed.
 */
int feed_pull(const struct feed_env *env, struct feed_db *db, const char *name,
	      struct feed_result *r);

/*
 * The puller inside `strait serve`: a thread that pulls every feed whose
 * interval has passed (up to four at once, each on its own thread, so a
 * slow or failing feed holds up no other) and reads feeds.db every second,
 * so feeds added or removed while serving are seen. env is copied (its
 * stop is ignored: stop with feed_service_stop).
 */
struct feed_service;
int feed_service_start(const struct feed_env *env, struct feed_service **out,
		       struct diag *d);
/* Ends transfers in flight, joins the threads; NULL is a no-op. */
void feed_service_stop(struct feed_service *s);

#endif
