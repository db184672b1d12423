/*
 * strait: pulls of external feeds; see feed.h and docs/FEEDS.md.
 */
#include "cli/feed.h"

#include "common/buf.h"
#include "common/ip.h"
#include "common/json.h"
#include "common/log.h"
#include "common/sqlschema.h"
#include "common/uuid.h"
#include "ingest/ingest.h"

#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#define CONNECT_TIMEOUT_MS 10000L
#define TRANSFER_TIMEOUT_MS 600000L /* one response, 10 minutes */
#define LOW_SPEED_S 60L		    /* below 1 byte/s this long: ends */
#define MAX_REDIRECTS 5
#define LEASE_US ((st_time)1800 * 1000000) /* a pull holds its feed */
#define BACKOFF_CAP_S ((int64_t)6 * 3600)  /* failing feeds: at most */
#define MISP_FLUSH 64			   /* events per durable step */
#define REJECT_LINES 100		   /* printed per pull */
#define SEC ((st_time)1000000)

/* ------------------------------------------------------------------ */
/* feeds.db                                                             */
/* ------------------------------------------------------------------ */

struct feed_db {
	sqlite3 *db;
	char path[PATH_MAX];
};

static const struct sql_migration migrations[] = {
    {1, "CREATE TABLE feeds(name TEXT PRIMARY KEY, url TEXT NOT NULL,"
	" format TEXT NOT NULL, every_s INTEGER NOT NULL,"
	" collection TEXT NOT NULL, collection_label TEXT NOT NULL,"
	" tlp TEXT NOT NULL, created_by TEXT NOT NULL,"
	" added INTEGER NOT NULL,"
	" etag TEXT NOT NULL DEFAULT '',"
	" last_modified TEXT NOT NULL DEFAULT '',"
	" last_pull INTEGER NOT NULL DEFAULT 0,"
	" last_success INTEGER NOT NULL DEFAULT 0,"
	" last_error TEXT NOT NULL DEFAULT '',"
	" last_error_at INTEGER NOT NULL DEFAULT 0,"
	" last_result TEXT NOT NULL DEFAULT '',"
	" last_reject TEXT NOT NULL DEFAULT '',"
	" failures INTEGER NOT NULL DEFAULT 0,"
	" next_pull INTEGER NOT NULL DEFAULT 0,"
	" lease_until INTEGER NOT NULL DEFAULT 0,"
	" lease_pid INTEGER NOT NULL DEFAULT 0,"
	" pulls INTEGER NOT NULL DEFAULT 0,"
	" requests INTEGER NOT NULL DEFAULT 0,"
	" bytes INTEGER NOT NULL DEFAULT 0,"
	" stored INTEGER NOT NULL DEFAULT 0,"
	" duplicate INTEGER NOT NULL DEFAULT 0,"
	" rejected INTEGER NOT NULL DEFAULT 0,"
	" conflicting INTEGER NOT NULL DEFAULT 0,"
	" last_stored INTEGER NOT NULL DEFAULT 0,"
	" last_duplicate INTEGER NOT NULL DEFAULT 0,"
	" last_rejected INTEGER NOT NULL DEFAULT 0,"
	" last_conflicting INTEGER NOT NULL DEFAULT 0,"
	" last_events INTEGER NOT NULL DEFAULT 0,"
	" last_requests INTEGER NOT NULL DEFAULT 0,"
	" last_bytes INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
	/* the MISP events imported, at the manifest timestamp they had */
	"CREATE TABLE misp_events(feed TEXT NOT NULL, uuid TEXT NOT NULL,"
	" timestamp INTEGER NOT NULL, PRIMARY KEY(feed, uuid))"
	" WITHOUT ROWID;"},
};

#define FEED_COLS                                                             \
	"name, url, format, every_s, collection, collection_label, tlp,"      \
	" created_by, added, etag, last_modified, last_pull, last_success,"   \
	" last_error, last_error_at, last_result, last_reject, failures,"     \
	" next_pull, lease_until, pulls, requests, bytes, stored, duplicate," \
	" rejected, conflicting, last_stored, last_duplicate, last_rejected," \
	" last_conflicting, last_events, last_requests, last_bytes,"          \
	" (SELECT count(*) FROM misp_events m WHERE m.feed = feeds.name),"    \
	" lease_pid"

int feed_db_open(const char *home, struct feed_db **out, struct diag *d)
{
	*out = NULL;
	struct feed_db *db = calloc(1, sizeof(*db));
	if (db == NULL)
		return diag_set(d, ST_ENOMEM, "out of memory");
	snprintf(db->path, sizeof(db->path), "%s/feeds.db", home);
	int rc = sql_open_private(db->path, "feeds database", migrations,
				  sizeof(migrations) / sizeof(migrations[0]),
				  &db->db, d);
	if (rc != ST_OK) {
		free(db);
		return rc;
	}
	*out = db;
	return ST_OK;
}

void feed_db_close(struct feed_db *db)
{
	if (db == NULL)
		return;
	sqlite3_close(db->db);
	free(db);
}

static void col_text(sqlite3_stmt *st, int i, char *out, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	snprintf(out, cap, "%s", t ? (const char *)t : "");
}

static void load_row(sqlite3_stmt *st, struct feed *f)
{
	char fmt[32];
	memset(f, 0, sizeof(*f));
	col_text(st, 0, f->name, sizeof(f->name));
	col_text(st, 1, f->url, sizeof(f->url));
	col_text(st, 2, fmt, sizeof(fmt));
	if (ix_in_fmt_parse(fmt, &f->format) != ST_OK)
		f->format = IX_IN_AUTO;
	f->every_s = sqlite3_column_int64(st, 3);
	col_text(st, 4, f->collection, sizeof(f->collection));
	col_text(st, 5, f->collection_label, sizeof(f->collection_label));
	col_text(st, 6, f->tlp, sizeof(f->tlp));
	col_text(st, 7, f->created_by, sizeof(f->created_by));
	f->added = sqlite3_column_int64(st, 8);
	col_text(st, 9, f->etag, sizeof(f->etag));
	col_text(st, 10, f->last_modified, sizeof(f->last_modified));
	f->last_pull = sqlite3_column_int64(st, 11);
	f->last_success = sqlite3_column_int64(st, 12);
	col_text(st, 13, f->last_error, sizeof(f->last_error));
	f->last_error_at = sqlite3_column_int64(st, 14);
	col_text(st, 15, f->last_result, sizeof(f->last_result));
	col_text(st, 16, f->last_reject, sizeof(f->last_reject));
	f->failures = sqlite3_column_int64(st, 17);
	f->next_pull = sqlite3_column_int64(st, 18);
	f->lease_until = sqlite3_column_int64(st, 19);
	int64_t *n[] = {
	    &f->pulls,	       &f->requests,	     &f->bytes,
	    &f->stored,	       &f->duplicate,	     &f->rejected,
	    &f->conflicting,   &f->last_stored,	     &f->last_duplicate,
	    &f->last_rejected, &f->last_conflicting, &f->last_events,
	    &f->last_requests, &f->last_bytes,	     &f->events_known};
	for (int i = 0; i < (int)(sizeof(n) / sizeof(n[0])); i++)
		*n[i] = sqlite3_column_int64(st, 20 + i);
	f->lease_pid = sqlite3_column_int64(st, 35);
}

static bool alive(int64_t pid)
{
	return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

bool feed_pulling(const struct feed *f, st_time now)
{
	return f->lease_until > now && alive(f->lease_pid);
}

int feed_db_add(struct feed_db *db, const struct feed *f, struct diag *d)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db->db,
			       "INSERT INTO feeds(name, url, format, every_s,"
			       " collection, collection_label, tlp,"
			       " created_by, added)"
			       " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
			       -1, &st, NULL) != SQLITE_OK)
		return sql_diag(db->db, d, db->path);
	sqlite3_bind_text(st, 1, f->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, f->url, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, ix_in_fmt_name(f->format), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, f->every_s);
	sqlite3_bind_text(st, 5, f->collection, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, f->collection_label, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, f->tlp, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, f->created_by, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 9, f->added);
	int src = sqlite3_step(st);
	int rc = ST_OK;
	if (src == SQLITE_CONSTRAINT)
		rc =
		    diag_set(d, ST_EEXIST, "a feed named '%s' exists", f->name);
	else if (src != SQLITE_DONE)
		rc = sql_diag(db->db, d, db->path);
	sqlite3_finalize(st);
	return rc;
}

int feed_db_remove(struct feed_db *db, const char *name, struct diag *d)
{
	sqlite3_stmt *a = NULL, *b = NULL;
	int rc = ST_OK;
	if (sqlite3_exec(db->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
		SQLITE_OK ||
	    sqlite3_prepare_v2(db->db, "DELETE FROM feeds WHERE name = ?1", -1,
			       &a, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db->db,
			       "DELETE FROM misp_events WHERE feed = ?1", -1,
			       &b, NULL) != SQLITE_OK) {
		rc = sql_diag(db->db, d, db->path);
		goto out;
	}
	sqlite3_bind_text(a, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(b, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(a) != SQLITE_DONE) {
		rc = sql_diag(db->db, d, db->path);
		goto out;
	}
	int removed = sqlite3_changes(db->db);
	if (sqlite3_step(b) != SQLITE_DONE) {
		rc = sql_diag(db->db, d, db->path);
		goto out;
	}
	if (removed == 0)
		rc = ST_ENOTFOUND;
out:
	sqlite3_finalize(a);
	sqlite3_finalize(b);
	if (rc == ST_OK &&
	    sqlite3_exec(db->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		rc = sql_diag(db->db, d, db->path);
	if (rc != ST_OK)
		sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
	if (rc == ST_ENOTFOUND)
		diag_set(d, rc, "no feed '%s'", name);
	return rc;
}

int feed_db_get(struct feed_db *db, const char *name, struct feed *f,
		struct diag *d)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(
		db->db, "SELECT " FEED_COLS " FROM feeds WHERE name = ?1", -1,
		&st, NULL) != SQLITE_OK)
		return sql_diag(db->db, d, db->path);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	int src = sqlite3_step(st);
	int rc = ST_OK;
	if (src == SQLITE_ROW)
		load_row(st, f);
	else if (src == SQLITE_DONE)
		rc = diag_set(d, ST_ENOTFOUND, "no feed '%s'", name);
	else
		rc = sql_diag(db->db, d, db->path);
	sqlite3_finalize(st);
	return rc;
}

int feed_db_list(struct feed_db *db, struct feed **out, size_t *n,
		 struct diag *d)
{
	*out = NULL;
	*n = 0;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db->db,
			       "SELECT " FEED_COLS " FROM feeds ORDER BY name",
			       -1, &st, NULL) != SQLITE_OK)
		return sql_diag(db->db, d, db->path);
	struct feed *v = NULL;
	size_t len = 0, cap = 0;
	int rc = ST_OK, src;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		if (len == cap) {
			size_t nc = cap ? cap * 2 : 8;
			struct feed *nv = realloc(v, nc * sizeof(*v));
			if (nv == NULL) {
				rc = diag_set(d, ST_ENOMEM, "out of memory");
				break;
			}
			v = nv;
			cap = nc;
		}
		load_row(st, &v[len++]);
	}
	if (rc == ST_OK && src != SQLITE_DONE)
		rc = sql_diag(db->db, d, db->path);
	sqlite3_finalize(st);
	if (rc != ST_OK) {
		free(v);
		return rc;
	}
	*out = v;
	*n = len;
	return ST_OK;
}

/* Takes the feed for a pull: ST_EEXIST while a live process holds it. A
 * lease left by a process that died is taken over. */
static int lease_take(struct feed_db *db, const char *name, st_time now,
		      struct diag *d)
{
	sqlite3_stmt *q = NULL, *u = NULL;
	int rc = ST_OK;
	if (sqlite3_exec(db->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK)
		return sql_diag(db->db, d, db->path);
	if (sqlite3_prepare_v2(db->db,
			       "SELECT lease_until, lease_pid FROM feeds"
			       " WHERE name = ?1",
			       -1, &q, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db->db,
			       "UPDATE feeds SET lease_until = ?2,"
			       " lease_pid = ?3 WHERE name = ?1",
			       -1, &u, NULL) != SQLITE_OK) {
		rc = sql_diag(db->db, d, db->path);
		goto out;
	}
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	int src = sqlite3_step(q);
	if (src == SQLITE_DONE) {
		rc = diag_set(d, ST_ENOTFOUND, "no feed '%s'", name);
		goto out;
	}
	if (src != SQLITE_ROW) {
		rc = sql_diag(db->db, d, db->path);
		goto out;
	}
	st_time until = sqlite3_column_int64(q, 0);
	pid_t pid = (pid_t)sqlite3_column_int64(q, 1);
	if (until > now && pid != getpid() && alive(pid)) {
		rc = diag_set(d, ST_EEXIST,
			      "feed '%s' is being pulled by process %d "
			      "(strait serve, or another strait feed pull)",
			      name, (int)pid);
		goto out;
	}
	sqlite3_bind_text(u, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(u, 2, now + LEASE_US);
	sqlite3_bind_int64(u, 3, (int64_t)getpid());
	if (sqlite3_step(u) != SQLITE_DONE)
		rc = sql_diag(db->db, d, db->path);
out:
	sqlite3_finalize(q);
	sqlite3_finalize(u);
	if (rc == ST_OK &&
	    sqlite3_exec(db->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		rc = sql_diag(db->db, d, db->path);
	if (rc != ST_OK)
		sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

static void lease_renew(struct feed_db *db, const char *name, st_time now)
{
	sqlite3_stmt *u;
	if (sqlite3_prepare_v2(db->db,
			       "UPDATE feeds SET lease_until = ?2"
			       " WHERE name = ?1 AND lease_pid = ?3",
			       -1, &u, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_text(u, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(u, 2, now + LEASE_US);
	sqlite3_bind_int64(u, 3, (int64_t)getpid());
	sqlite3_step(u);
	sqlite3_finalize(u);
}

/* Writes the state of f after a pull (and gives its lease back). */
static int state_save(struct feed_db *db, const struct feed *f, struct diag *d)
{
	sqlite3_stmt *u;
	if (sqlite3_prepare_v2(
		db->db,
		"UPDATE feeds SET etag = ?2, last_modified = ?3,"
		" last_pull = ?4, last_success = ?5, last_error = ?6,"
		" last_error_at = ?7, last_result = ?8, last_reject = ?9,"
		" failures = ?10, next_pull = ?11, lease_until = 0,"
		" lease_pid = 0, pulls = ?12, requests = ?13, bytes = ?14,"
		" stored = ?15, duplicate = ?16, rejected = ?17,"
		" conflicting = ?18, last_stored = ?19, last_duplicate = ?20,"
		" last_rejected = ?21, last_conflicting = ?22,"
		" last_events = ?23, last_requests = ?24, last_bytes = ?25"
		" WHERE name = ?1",
		-1, &u, NULL) != SQLITE_OK)
		return sql_diag(db->db, d, db->path);
	sqlite3_bind_text(u, 1, f->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(u, 2, f->etag, -1, SQLITE_STATIC);
	sqlite3_bind_text(u, 3, f->last_modified, -1, SQLITE_STATIC);
	sqlite3_bind_int64(u, 4, f->last_pull);
	sqlite3_bind_int64(u, 5, f->last_success);
	sqlite3_bind_text(u, 6, f->last_error, -1, SQLITE_STATIC);
	sqlite3_bind_int64(u, 7, f->last_error_at);
	sqlite3_bind_text(u, 8, f->last_result, -1, SQLITE_STATIC);
	sqlite3_bind_text(u, 9, f->last_reject, -1, SQLITE_STATIC);
	sqlite3_bind_int64(u, 10, f->failures);
	sqlite3_bind_int64(u, 11, f->next_pull);
	const int64_t n[] = {
	    f->pulls,	      f->requests,	   f->bytes,
	    f->stored,	      f->duplicate,	   f->rejected,
	    f->conflicting,   f->last_stored,	   f->last_duplicate,
	    f->last_rejected, f->last_conflicting, f->last_events,
	    f->last_requests, f->last_bytes};
	for (int i = 0; i < (int)(sizeof(n) / sizeof(n[0])); i++)
		sqlite3_bind_int64(u, 12 + i, n[i]);
	int rc = sqlite3_step(u) == SQLITE_DONE ? ST_OK
						: sql_diag(db->db, d, db->path);
	sqlite3_finalize(u);
	return rc;
}

/* The manifest timestamp of the event last imported, 0 when none. */
static int64_t misp_seen(struct feed_db *db, sqlite3_stmt **q, const char *feed,
			 const char *uuid)
{
	if (*q == NULL && sqlite3_prepare_v2(db->db,
					     "SELECT timestamp FROM misp_events"
					     " WHERE feed = ?1 AND uuid = ?2",
					     -1, q, NULL) != SQLITE_OK)
		return 0;
	sqlite3_reset(*q);
	sqlite3_bind_text(*q, 1, feed, -1, SQLITE_STATIC);
	sqlite3_bind_text(*q, 2, uuid, -1, SQLITE_STATIC);
	int64_t ts = 0;
	if (sqlite3_step(*q) == SQLITE_ROW)
		ts = sqlite3_column_int64(*q, 0);
	sqlite3_reset(*q);
	return ts;
}

/* ------------------------------------------------------------------ */
/* Names, intervals, hosts                                              */
/* ------------------------------------------------------------------ */

bool feed_name_valid(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > FEED_NAME_MAX || name[0] == '.' || name[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = name[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
		      ch == '-'))
			return false;
	}
	return true;
}

int feed_every_parse(const char *s, int64_t *out)
{
	if (strcmp(s, "manual") == 0) {
		*out = 0;
		return ST_OK;
	}
	char *end;
	errno = 0;
	if (s[0] < '0' || s[0] > '9')
		return ST_EINVAL;
	unsigned long long v = strtoull(s, &end, 10);
	int64_t mul = 1;
	if (*end == 's')
		mul = 1;
	else if (*end == 'm')
		mul = 60;
	else if (*end == 'h')
		mul = 3600;
	else if (*end == 'd')
		mul = 86400;
	else if (*end != '\0')
		return ST_EINVAL;
	if (*end != '\0' && end[1] != '\0')
		return ST_EINVAL;
	if (errno != 0 || v > (unsigned long long)FEED_EVERY_MAX ||
	    (int64_t)v * mul > FEED_EVERY_MAX)
		return ST_EINVAL;
	*out = (int64_t)v * mul;
	return ST_OK;
}

void feed_every_format(int64_t s, char *out, size_t cap)
{
	if (s <= 0)
		snprintf(out, cap, "manual");
	else if (s % 86400 == 0)
		snprintf(out, cap, "%lldd", (long long)(s / 86400));
	else if (s % 3600 == 0)
		snprintf(out, cap, "%lldh", (long long)(s / 3600));
	else if (s % 60 == 0)
		snprintf(out, cap, "%lldm", (long long)(s / 60));
	else
		snprintf(out, cap, "%llds", (long long)s);
}

static bool ip_of(const char *host, struct ip_prefix *ip)
{
	return ip_parse(host, strlen(host), ip);
}

static bool loopback(const char *host)
{
	struct ip_prefix ip, lo4, lo6;
	if (strcasecmp(host, "localhost") == 0 ||
	    strcasecmp(host, "localhost.") == 0)
		return true;
	if (!ip_of(host, &ip) || !ip_of("127.0.0.0/8", &lo4) ||
	    !ip_of("::1", &lo6))
		return false;
	return (!ip.v6 && ip_contains(&lo4, &ip)) ||
	       (ip.v6 && ip_contains(&lo6, &ip));
}

/* host against one entry of feeds.allow_hosts (n bytes at e). */
static bool host_matches(const char *host, const char *e, size_t n)
{
	char item[256];
	if (n == 0 || n >= sizeof(item))
		return false;
	memcpy(item, e, n);
	item[n] = '\0';
	if (item[n - 1] == '.')
		item[--n] = '\0';
	struct ip_prefix a, b;
	if (ip_of(item, &a))
		return ip_of(host, &b) && a.v6 == b.v6 && ip_contains(&a, &b);
	size_t hl = strlen(host);
	if (n > 2 && item[0] == '*' && item[1] == '.')
		return hl > n - 1 &&
		       strcasecmp(host + hl - (n - 1), item + 1) == 0;
	return strcasecmp(host, item) == 0;
}

static bool host_allowed(const char *host, const char *allow)
{
	if (loopback(host))
		return true;
	for (const char *p = allow; p != NULL && *p != '\0';) {
		size_t n = strcspn(p, ",");
		const char *a = p, *b = p + n;
		while (a < b && (*a == ' ' || *a == '\t'))
			a++;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
			b--;
		if (host_matches(host, a, (size_t)(b - a)))
			return true;
		p += n + (p[n] == ',');
	}
	return false;
}

int feed_url_check(const char *url, const char *allow, struct diag *d)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *user = NULL;
	int rc = ST_OK;
	if (u == NULL)
		return diag_set(d, ST_ENOMEM, "out of memory");
	if (strlen(url) >= FEED_URL_MAX) {
		rc = diag_set(d, ST_EINVAL,
			      "'%.80s...' is longer than %d "
			      "bytes",
			      url, FEED_URL_MAX - 1);
		goto out;
	}
	/* curl's own parser: the host checked is the host it connects to */
	CURLUcode uc = curl_url_set(u, CURLUPART_URL, url, 0);
	if (uc != CURLUE_OK) {
		rc = diag_set(d, ST_EINVAL, "'%.200s' is not a URL (%s)", url,
			      curl_url_strerror(uc));
		goto out;
	}
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
		rc = diag_set(d, ST_EINVAL,
			      "'%.200s': only http:// and https:// feeds are "
			      "pulled",
			      url);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) {
		rc = diag_set(d, ST_EINVAL,
			      "'%.200s': user information in a feed URL is "
			      "not accepted",
			      url);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    host[0] == '\0') {
		rc = diag_set(d, ST_EINVAL, "'%.200s' names no host", url);
		goto out;
	}
	char h[256];
	size_t hl = strlen(host);
	if (host[0] == '[' && hl >= 2 && host[hl - 1] == ']')
		snprintf(h, sizeof(h), "%.*s", (int)(hl - 2), host + 1);
	else
		snprintf(h, sizeof(h), "%s", host);
	if (!host_allowed(h, allow))
		rc = diag_set(d, ST_EAUTH,
			      "host '%s' is not loopback and not in "
			      "feeds.allow_hosts of strait.yaml",
			      h);
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(user);
	curl_url_cleanup(u);
	return rc;
}

int feed_env_config(const struct config *cfg, struct feed_env *env,
		    struct diag *d)
{
	char *end = NULL;
	const char *t = cfg->feed_max_response_mb;
	errno = 0;
	unsigned long long mb = strtoull(t, &end, 10);
	if (t[0] < '0' || t[0] > '9' || *end != '\0' || errno != 0 || mb < 1 ||
	    mb > 4096)
		return diag_set(d, ST_ECONFIG,
				"strait.yaml: feeds.max_response_mb: 1 to "
				"4096, not '%s'",
				t);
	env->max_response = (size_t)mb << 20;
	env->allow_hosts = cfg->feed_allow_hosts;
	if (tlp_parse(cfg->default_tlp, &env->node_tlp) != ST_OK ||
	    env->node_tlp == TLP_NONE)
		return diag_set(d, ST_ECONFIG,
				"strait.yaml: default_tlp: unknown level '%s'",
				cfg->default_tlp);
	return ST_OK;
}

/* ------------------------------------------------------------------ */
/* HTTP                                                                 */
/* ------------------------------------------------------------------ */

struct resp {
	long status;
	struct buf body;
	char etag[256], last_modified[64];
};

struct pull {
	const struct feed_env *env;
	struct feed_db *db;
	struct feed *f;
	struct feed_result *r;
	CURL *h;
	struct ingest *in;
	struct progress *prog;
	char where[64]; /* "event <uuid>" while one is read */
	uint64_t shown; /* rejection lines printed */
	char last_reject[256];
};

struct sink {
	struct buf *b;
	size_t max;
	bool over;
};

static size_t on_data(char *p, size_t size, size_t n, void *ctx)
{
	struct sink *s = ctx;
	size_t len = size * n;
	if (s->b->len + len > s->max) {
		s->over = true;
		return 0; /* ends the transfer */
	}
	return buf_add(s->b, p, len) == ST_OK ? len : 0;
}

static int on_xfer(void *ctx, curl_off_t dt, curl_off_t dn, curl_off_t ut,
		   curl_off_t un)
{
	const struct feed_env *env = ctx;
	(void)dt;
	(void)dn;
	(void)ut;
	(void)un;
	return env->stop != NULL && atomic_load(env->stop) ? 1 : 0;
}

static void header_copy(CURL *h, const char *name, char *out, size_t cap)
{
	struct curl_header *hd;
	out[0] = '\0';
	if (curl_easy_header(h, name, 0, CURLH_HEADER, -1, &hd) == CURLHE_OK &&
	    strlen(hd->value) < cap)
		snprintf(out, cap, "%s", hd->value);
}

/*
 * GET url into r, at most max bytes; with etag / lm (may be "") the
 * request is conditional. Redirects are followed by hand, up to
 * MAX_REDIRECTS, each target checked as the URL was. ST_OK for 200 and
 * 304; otherwise an error with d naming the URL.
 */
static int http_get(struct pull *p, const char *url, const char *etag,
		    const char *lm, size_t max, struct resp *r, struct diag *d)
{
	char cur[FEED_URL_MAX], errbuf[CURL_ERROR_SIZE];
	snprintf(cur, sizeof(cur), "%s", url);
	r->status = 0;
	r->etag[0] = r->last_modified[0] = '\0';
	for (int hop = 0;; hop++) {
		int rc = feed_url_check(cur, p->env->allow_hosts, d);
		if (rc != ST_OK) {
			if (hop > 0)
				diag_prefix(d, "redirect to %.300s refused",
					    cur);
			return rc;
		}
		buf_reset(&r->body);
		struct sink s = {&r->body, max, false};
		struct curl_slist *hdrs = NULL;
		char line[400];
		if (etag != NULL && etag[0] != '\0') {
			snprintf(line, sizeof(line), "If-None-Match: %s", etag);
			hdrs = curl_slist_append(hdrs, line);
		}
		if (lm != NULL && lm[0] != '\0') {
			snprintf(line, sizeof(line), "If-Modified-Since: %s",
				 lm);
			hdrs = curl_slist_append(hdrs, line);
		}
		CURL *h = p->h;
		curl_easy_reset(h);
		errbuf[0] = '\0';
		curl_easy_setopt(h, CURLOPT_URL, cur);
		curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
		curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
				 CONNECT_TIMEOUT_MS);
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, TRANSFER_TIMEOUT_MS);
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, LOW_SPEED_S);
		curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max);
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
		curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_xfer);
		curl_easy_setopt(h, CURLOPT_XFERINFODATA, p->env);
		curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
		curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
		curl_easy_setopt(h, CURLOPT_USERAGENT,
				 "strait/" STRAIT_VERSION);
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
		CURLcode cc = curl_easy_perform(h);
		curl_slist_free_all(hdrs);
		curl_off_t got = 0;
		curl_easy_getinfo(h, CURLINFO_SIZE_DOWNLOAD_T, &got);
		p->r->requests++;
		p->r->bytes += (uint64_t)(got > 0 ? got : 0);
		if (s.over || cc == CURLE_FILESIZE_EXCEEDED)
			return diag_set(d, ST_ELIMIT,
					"%.300s: the response is larger than "
					"%zu MiB (feeds.max_response_mb)",
					cur, max >> 20);
		if (cc == CURLE_ABORTED_BY_CALLBACK)
			return diag_set(d, ST_ECLOSED, "%.300s: stopped", cur);
		if (cc != CURLE_OK)
			return diag_set(d, ST_EIO, "%.300s: %s", cur,
					errbuf[0] ? errbuf
						  : curl_easy_strerror(cc));
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
		if (r->status == 301 || r->status == 302 || r->status == 303 ||
		    r->status == 307 || r->status == 308) {
			char *to = NULL;
			curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &to);
			if (to == NULL)
				return diag_set(d, ST_EIO,
						"%.300s: a redirect (%ld) "
						"without a usable Location",
						cur, r->status);
			if (hop + 1 > MAX_REDIRECTS)
				return diag_set(
				    d, ST_EIO, "%.300s: more than %d redirects",
				    url, MAX_REDIRECTS);
			snprintf(cur, sizeof(cur), "%s", to);
			continue;
		}
		if (r->status == 304)
			return ST_OK;
		if (r->status != 200)
			return diag_set(d, ST_EIO, "%.300s: HTTP %ld", cur,
					r->status);
		header_copy(h, "ETag", r->etag, sizeof(r->etag));
		header_copy(h, "Last-Modified", r->last_modified,
			    sizeof(r->last_modified));
		return ST_OK;
	}
}

/* ------------------------------------------------------------------ */
/* Pulling                                                              */
/* ------------------------------------------------------------------ */

static int trimmed_len(const char *msg)
{
	size_t n = strlen(msg);
	while (n > 0 && msg[n - 1] == '\n')
		n--;
	return (int)n;
}

static void on_event(void *ctx, const struct ingest_event *ev)
{
	struct pull *p = ctx;
	char where[96];
	switch (ev->kind) {
	case INGEST_REJECTED:
	case INGEST_CONFLICT:
	case INGEST_FAILED:
		if (ev->kind != INGEST_REJECTED)
			where[0] = '\0'; /* known at commit: the id says */
		else if (p->where[0] != '\0')
			snprintf(where, sizeof(where), "%s: ", p->where);
		else if (p->f->format == IX_IN_CSV &&
			 strncmp(ev->msg, "row ", 4) == 0)
			where[0] = '\0';
		else if (p->f->format == IX_IN_CSV)
			snprintf(where, sizeof(where),
				 "row %llu: ", (unsigned long long)ev->offset);
		else
			snprintf(where, sizeof(where),
				 "object %llu at byte %llu: ",
				 (unsigned long long)ev->index + 1,
				 (unsigned long long)ev->offset);
		snprintf(p->last_reject, sizeof(p->last_reject), "%s%s%s%.*s",
			 where, ev->id && ev->id[0] ? ev->id : "",
			 ev->id && ev->id[0] ? ": " : "", trimmed_len(ev->msg),
			 ev->msg);
		if (p->env->verbose && p->shown++ < REJECT_LINES)
			fprintf(stderr, "%s: feed %s: %s\n",
				ev->kind == INGEST_REJECTED   ? "rejected"
				: ev->kind == INGEST_CONFLICT ? "conflict"
							      : "failed",
				p->f->name, p->last_reject);
		break;
	case INGEST_COMMITTED:
		progress_update(p->prog, ev->stats->seen, ev->stats->stored,
				ev->stats->bytes);
		break;
	default:
		break;
	}
}

static void say(const struct pull *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void say(const struct pull *p, const char *fmt, ...)
{
	char msg[DIAG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->env->verbose)
		fprintf(stderr, "feed %s: %s\n", p->f->name, msg);
	else
		log_debug("feed", "%s: %s", p->f->name, msg);
}

/* A STIX bundle or CSV file: one conditional GET, then the import. */
static int pull_document(struct pull *p, struct diag *d)
{
	struct resp r = {0, BUF_INIT(p->env->max_response), "", ""};
	int rc = http_get(p, p->f->url, p->f->etag, p->f->last_modified,
			  p->env->max_response, &r, d);
	if (rc == ST_OK && r.status == 304) {
		p->r->result = "not modified";
		say(p, "not modified since the last pull");
	} else if (rc == ST_OK) {
		say(p, "read %zu bytes", r.body.len);
		struct ix_src src;
		ix_src_init_mem(&src, r.body.data ? r.body.data : "",
				r.body.len);
		struct ix_sink k;
		cli_ingest_sink(p->in, &k);
		k.now = time_now();
		if (p->f->created_by[0] != '\0')
			k.created_by = p->f->created_by;
		rc = ix_import(&src, p->f->format, &k, d);
		if (rc != ST_OK && rc != ST_EIO)
			diag_set(d, rc, "store: %s", st_strerror(rc));
		if (rc == ST_OK && (rc = ingest_finish(p->in)) != ST_OK)
			diag_set(d, rc, "store: %s", st_strerror(rc));
		if (rc == ST_OK) {
			p->r->result = "imported";
			snprintf(p->f->etag, sizeof(p->f->etag), "%s", r.etag);
			snprintf(p->f->last_modified,
				 sizeof(p->f->last_modified), "%s",
				 r.last_modified);
		}
	}
	buf_free(&r.body);
	return rc;
}

struct misp_ev {
	char uuid[UUID_STRLEN + 1];
	int64_t ts;
};

static int by_ts(const void *a, const void *b)
{
	const struct misp_ev *x = a, *y = b;
	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return strcmp(x->uuid, y->uuid);
}

/* A manifest timestamp: epoch seconds as a string or a number. */
static bool epoch_of(const struct json_val *v, int64_t *out)
{
	if (v == NULL)
		return false;
	if (v->type == JSON_NUMBER && v->u.num.is_int && v->u.num.i > 0) {
		*out = v->u.num.i;
		return true;
	}
	if (v->type != JSON_STRING || v->len == 0 || v->len > 18)
		return false;
	int64_t n = 0;
	for (uint32_t i = 0; i < v->len; i++) {
		if (v->u.str[i] < '0' || v->u.str[i] > '9')
			return false;
		n = n * 10 + (v->u.str[i] - '0');
	}
	*out = n;
	return n > 0;
}

/* Makes the events imported so far durable and records those of ev[0..n)
 * that were read (ts >= 0). */
static int misp_flush(struct pull *p, const struct misp_ev *ev, size_t n,
		      struct diag *d)
{
	int rc = ingest_finish(p->in);
	if (rc != ST_OK)
		return diag_set(d, rc, "store: %s", st_strerror(rc));
	if (n == 0)
		return ST_OK;
	sqlite3 *db = p->db->db;
	sqlite3_stmt *st = NULL;
	size_t ok = 0;
	for (size_t i = 0; i < n; i++)
		ok += ev[i].ts >= 0;
	if (ok == 0)
		return ST_OK;
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
		SQLITE_OK ||
	    sqlite3_prepare_v2(db,
			       "INSERT OR REPLACE INTO misp_events(feed, uuid,"
			       " timestamp) SELECT ?1, ?2, ?3 WHERE EXISTS"
			       " (SELECT 1 FROM feeds WHERE name = ?1)",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = sql_diag(db, d, p->db->path);
		goto out;
	}
	for (size_t i = 0; i < n && rc == ST_OK; i++) {
		if (ev[i].ts < 0)
			continue; /* could not be read */
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, p->f->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, ev[i].uuid, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, ev[i].ts);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = sql_diag(db, d, p->db->path);
	}
out:
	sqlite3_finalize(st);
	if (rc == ST_OK &&
	    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		rc = sql_diag(db, d, p->db->path);
	if (rc != ST_OK)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	else
		lease_renew(p->db, p->f->name, time_now());
	return rc;
}

/* The base of a MISP feed: its URL without "manifest.json" and '/'. */
static void misp_base(const char *url, char *out, size_t cap)
{
	size_t n = strlen(url);
	const char *m = "manifest.json";
	size_t ml = strlen(m);
	if (n > ml && strcmp(url + n - ml, m) == 0 && url[n - ml - 1] == '/')
		n -= ml;
	while (n > 0 && url[n - 1] == '/')
		n--;
	snprintf(out, cap, "%.*s", (int)n, url);
}

/* The manifest's events newer than those imported, oldest first, into
 * *out (malloc'd); entries that are not an event are rejections. */
static int misp_changed(struct pull *p, const struct json_val *root,
			struct misp_ev **out, size_t *n, struct diag *d)
{
	*out = NULL;
	*n = 0;
	struct misp_ev *v = calloc(root->len ? root->len : 1, sizeof(*v));
	if (v == NULL)
		return diag_set(d, ST_ENOMEM, "out of memory");
	sqlite3_stmt *q = NULL;
	size_t k = 0;
	snprintf(p->where, sizeof(p->where), "manifest.json");
	for (uint32_t i = 0; i < root->len; i++) {
		const struct json_member *m = &root->u.members[i];
		uint8_t u[16];
		int64_t ts = 0;
		char msg[256];
		if (m->klen != UUID_STRLEN ||
		    uuid_parse(m->key, m->klen, false, u) != ST_OK) {
			snprintf(msg, sizeof(msg),
				 "'%.60s' is not an event uuid", m->key);
			ingest_reject(p->in, 0, msg);
			continue;
		}
		if (m->val.type != JSON_OBJECT ||
		    !epoch_of(json_get(&m->val, "timestamp"), &ts)) {
			snprintf(msg, sizeof(msg),
				 "event %s: timestamp: missing or not epoch "
				 "seconds",
				 m->key);
			ingest_reject(p->in, 0, msg);
			continue;
		}
		/* the event's file is named by its uuid as written (MISP
		 * writes it lowercase) */
		memcpy(v[k].uuid, m->key, UUID_STRLEN);
		v[k].uuid[UUID_STRLEN] = '\0';
		v[k].ts = ts;
		if (ts > misp_seen(p->db, &q, p->f->name, v[k].uuid))
			k++;
	}
	sqlite3_finalize(q);
	p->where[0] = '\0';
	qsort(v, k, sizeof(*v), by_ts);
	*out = v;
	*n = k;
	return ST_OK;
}

/* A MISP feed: the manifest (conditional), then each changed event. */
static int pull_misp(struct pull *p, struct diag *d)
{
	char base[FEED_URL_MAX], url[FEED_URL_MAX + 64];
	misp_base(p->f->url, base, sizeof(base));
	snprintf(url, sizeof(url), "%s/manifest.json", base);
	size_t max = p->env->max_response < IX_MISP_MAX_BYTES
			 ? p->env->max_response
			 : IX_MISP_MAX_BYTES;
	struct resp r = {0, BUF_INIT(max + JSON_PADDING + 1), "", ""};
	struct json_doc *doc = NULL;
	struct misp_ev *ev = NULL;
	size_t nev = 0, done = 0;
	char first_err[DIAG_MAX] = "";
	int rc = http_get(p, url, p->f->etag, p->f->last_modified, max, &r, d);
	if (rc != ST_OK)
		goto out;
	if (r.status == 304) {
		p->r->result = "not modified";
		say(p, "manifest not modified since the last pull");
		goto out;
	}
	doc = json_doc_new();
	struct json_limits lim = JSON_LIMITS_DEFAULT;
	lim.max_bytes = max;
	lim.max_members = IX_MISP_MAX_MEMBERS;
	const struct json_val *root = NULL;
	if (doc == NULL) {
		rc = diag_set(d, ST_ENOMEM, "out of memory");
		goto out;
	}
	rc = json_parse(doc, r.body.data ? r.body.data : "", r.body.len, 0,
			&lim, &root, d);
	if (rc == ST_OK && root->type != JSON_OBJECT)
		rc = diag_set(d, ST_EJSON, "not a JSON object");
	if (rc != ST_OK) {
		diag_prefix(d, "%s: not a MISP feed manifest", url);
		goto out;
	}
	/* the manifest's validators, kept once every event is read */
	char etag[sizeof(r.etag)], lm[sizeof(r.last_modified)];
	memcpy(etag, r.etag, sizeof(etag));
	memcpy(lm, r.last_modified, sizeof(lm));
	p->r->events_listed = root->len;
	rc = misp_changed(p, root, &ev, &nev, d);
	if (rc != ST_OK)
		goto out;
	p->r->events_changed = nev;
	say(p, "manifest lists %u events, %zu new or changed", root->len, nev);
	/* the events: each failure is kept and the others go on */
	size_t pending = 0, i;
	for (i = 0; i < nev; i++) {
		if (p->env->stop != NULL && atomic_load(p->env->stop)) {
			rc = diag_set(d, ST_ECLOSED, "stopped");
			break;
		}
		snprintf(url, sizeof(url), "%s/%s.json", base, ev[i].uuid);
		struct diag ed;
		int erc = http_get(p, url, NULL, NULL, max, &r, &ed);
		if (erc == ST_ECLOSED) {
			rc = diag_set(d, erc, "%s", ed.msg);
			break;
		}
		if (erc != ST_OK) {
			p->r->events_failed++;
			if (first_err[0] == '\0')
				snprintf(first_err, sizeof(first_err), "%s",
					 ed.msg);
			say(p, "event %s: %s", ev[i].uuid, ed.msg);
			ev[i].ts = -1; /* not recorded: read again */
		} else {
			p->r->events_fetched++;
			snprintf(p->where, sizeof(p->where), "event %s",
				 ev[i].uuid);
			struct ix_src src;
			ix_src_init_mem(&src, r.body.data ? r.body.data : "",
					r.body.len);
			struct ix_sink k;
			cli_ingest_sink(p->in, &k);
			rc = ix_import(&src, IX_IN_MISP, &k, d);
			p->where[0] = '\0';
			if (rc != ST_OK) {
				diag_set(d, rc, "event %s: store: %s",
					 ev[i].uuid, st_strerror(rc));
				break;
			}
			pending++;
		}
		/* recorded once durable, MISP_FLUSH at a time */
		if (pending == MISP_FLUSH || i + 1 == nev) {
			rc = misp_flush(p, ev + done, i + 1 - done, d);
			done = i + 1;
			pending = 0;
			if (rc != ST_OK)
				break;
		}
	}
	if (rc == ST_ECLOSED && done < i) {
		/* stopped: what was read is kept and recorded */
		struct diag fd;
		if (misp_flush(p, ev + done, i - done, &fd) == ST_OK)
			done = i;
	}
	if (rc != ST_OK) {
		ingest_finish(p->in);
		goto out;
	}
	if (nev == 0 && (rc = ingest_finish(p->in)) != ST_OK) {
		diag_set(d, rc, "store: %s", st_strerror(rc));
		goto out; /* the manifest's rejections */
	}
	if (p->r->events_failed > 0) {
		rc = diag_set(d, ST_EIO,
			      "%llu of %zu events could not be read, the "
			      "first: %s",
			      (unsigned long long)p->r->events_failed, nev,
			      first_err);
		goto out;
	}
	p->r->result = nev ? "imported" : "no new events";
	snprintf(p->f->etag, sizeof(p->f->etag), "%s", etag);
	snprintf(p->f->last_modified, sizeof(p->f->last_modified), "%s", lm);
out:
	p->where[0] = '\0';
	free(ev);
	json_doc_free(doc);
	buf_free(&r.body);
	return rc;
}

/* When a feed is next due: its interval after a success; after failures,
 * the interval doubled for each failure past the first, at most
 * BACKOFF_CAP_S (or the interval when longer). */
static st_time next_due(const struct feed *f, st_time now)
{
	if (f->every_s <= 0)
		return 0;
	int64_t delay = f->every_s;
	int64_t cap = f->every_s > BACKOFF_CAP_S ? f->every_s : BACKOFF_CAP_S;
	for (int64_t i = 1; i < f->failures && delay < cap; i++)
		delay *= 2;
	if (delay > cap)
		delay = cap;
	return now + delay * SEC;
}

int feed_pull(const struct feed_env *env, struct feed_db *db, const char *name,
	      struct feed_result *r)
{
	struct feed f;
	struct diag d;
	memset(r, 0, sizeof(*r));
	r->result = "failed";
	d.msg[0] = '\0';
	int rc = feed_db_get(db, name, &f, &d);
	if (rc == ST_OK)
		rc = lease_take(db, name, time_now(), &d);
	if (rc != ST_OK) {
		r->rc = rc;
		snprintf(r->error, sizeof(r->error), "%s", d.msg);
		return rc;
	}
	struct pull p;
	memset(&p, 0, sizeof(p));
	p.env = env;
	p.db = db;
	p.f = &f;
	p.r = r;
	st_time started = time_now();
	/* the collection, the marking, the host: checked at each pull, as
	 * they may have changed since the feed was added */
	struct store_collection coll;
	enum tlp def = env->node_tlp;
	rc = store_collection_find(env->store, f.collection, &coll);
	if (rc != ST_OK)
		diag_set(&d, rc, "collection %s (%s): %s", f.collection_label,
			 f.collection, st_strerror(rc));
	if (rc == ST_OK && f.tlp[0] != '\0' &&
	    (tlp_parse(f.tlp, &def) != ST_OK || def == TLP_NONE))
		rc = diag_set(&d, ST_ECONFIG, "unknown TLP level '%s'", f.tlp);
	if (rc == ST_OK && f.format == IX_IN_AUTO)
		rc = diag_set(&d, ST_ECONFIG, "no format");
	if (rc == ST_OK)
		rc = feed_url_check(f.url, env->allow_hosts, &d);
	if (rc == ST_OK && (p.h = curl_easy_init()) == NULL)
		rc = diag_set(&d, ST_ENOMEM, "cannot start libcurl");
	if (rc == ST_OK) {
		struct ingest_options opt = {0};
		opt.cid = coll.cid;
		opt.default_tlp = def;
		opt.default_declared = f.tlp[0] != '\0';
		p.in = ingest_new(env->store, &opt, on_event, &p);
		if (p.in == NULL)
			rc = diag_set(&d, ST_ENOMEM, "out of memory");
	}
	if (rc == ST_OK) {
		if (env->verbose)
			p.prog = progress_new(stderr, "objects stored", 0);
		d.msg[0] = '\0';
		rc = f.format == IX_IN_MISP ? pull_misp(&p, &d)
					    : pull_document(&p, &d);
	}
	if (p.in != NULL) {
		int frc = ingest_finish(p.in); /* nothing, or the rest */
		if (rc == ST_OK && frc != ST_OK)
			rc = diag_set(&d, frc, "store: %s", st_strerror(frc));
		const struct ingest_stats *s = ingest_stats(p.in);
		r->stored = s->stored;
		r->duplicate = s->duplicate;
		r->rejected = s->rejected;
		r->conflicting = s->conflict;
		r->failed = s->failed;
		progress_done(p.prog, s->seen, s->stored, s->bytes);
		if (rc == ST_OK && s->failed > 0)
			rc = diag_set(&d, ST_ESTORE,
				      "%llu objects could not be stored",
				      (unsigned long long)s->failed);
	}
	ingest_free(p.in);
	if (p.h != NULL)
		curl_easy_cleanup(p.h);
	/* the state */
	st_time now = time_now();
	f.last_pull = started;
	f.pulls++;
	f.requests += (int64_t)r->requests;
	f.bytes += (int64_t)r->bytes;
	f.stored += (int64_t)r->stored;
	f.duplicate += (int64_t)r->duplicate;
	f.rejected += (int64_t)r->rejected;
	f.conflicting += (int64_t)r->conflicting;
	f.last_stored = (int64_t)r->stored;
	f.last_duplicate = (int64_t)r->duplicate;
	f.last_rejected = (int64_t)r->rejected;
	f.last_conflicting = (int64_t)r->conflicting;
	f.last_events = (int64_t)r->events_fetched;
	f.last_requests = (int64_t)r->requests;
	f.last_bytes = (int64_t)r->bytes;
	if (p.last_reject[0] != '\0')
		snprintf(f.last_reject, sizeof(f.last_reject), "%s",
			 p.last_reject);
	if (rc == ST_OK) {
		f.last_success = now;
		f.failures = 0;
		snprintf(f.last_result, sizeof(f.last_result), "%s", r->result);
	} else if (rc == ST_ECLOSED) {
		/* stopped, not failed: due again at the next start */
		r->result = "stopped";
		snprintf(f.last_result, sizeof(f.last_result), "stopped");
	} else {
		r->result = "failed";
		f.failures++;
		snprintf(f.last_error, sizeof(f.last_error), "%s", d.msg);
		f.last_error_at = now;
		snprintf(f.last_result, sizeof(f.last_result), "failed");
	}
	if (rc != ST_ECLOSED)
		f.next_pull = next_due(&f, now);
	r->next_pull = f.next_pull;
	struct diag sd;
	int src = state_save(db, &f, &sd);
	if (src != ST_OK)
		log_warn("feed", "%s: its state was not recorded: %s", name,
			 sd.msg);
	r->rc = rc;
	if (rc != ST_OK)
		snprintf(r->error, sizeof(r->error), "%s", d.msg);
	return rc;
}

/* ------------------------------------------------------------------ */
/* The puller in strait serve                                           */
/* ------------------------------------------------------------------ */

#define WORKERS 4
#define TICK_MS 1000

struct worker {
	struct feed_service *s;
	char name[FEED_NAME_MAX + 1];
	pthread_t th;
	bool running;	  /* joinable */
	atomic_bool done; /* finished: join it */
};

struct feed_service {
	struct feed_env env;
	char home[PATH_MAX];
	char allow[sizeof(((struct config *)0)->feed_allow_hosts)];
	atomic_bool stop;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t th;
	struct worker w[WORKERS];
};

static void log_result(const char *name, const struct feed_result *r)
{
	if (r->rc == ST_OK)
		log_info("feed",
			 "%s: %s: %llu stored, %llu duplicate, %llu rejected"
			 " (%llu of %llu events fetched, %llu requests)",
			 name, r->result, (unsigned long long)r->stored,
			 (unsigned long long)r->duplicate,
			 (unsigned long long)r->rejected,
			 (unsigned long long)r->events_fetched,
			 (unsigned long long)r->events_listed,
			 (unsigned long long)r->requests);
	else if (r->rc == ST_EEXIST || r->rc == ST_ECLOSED)
		log_debug("feed", "%s: %s", name, r->error);
	else
		log_warn("feed", "%s: pull failed: %s", name, r->error);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	prctl(PR_SET_NAME, "feed-pull", 0, 0, 0);
	struct feed_db *db = NULL;
	struct diag d;
	if (feed_db_open(w->s->env.home, &db, &d) != ST_OK) {
		log_warn("feed", "%s: %s", w->name, d.msg);
	} else {
		struct feed_result r;
		feed_pull(&w->s->env, db, w->name, &r);
		log_result(w->name, &r);
	}
	feed_db_close(db);
	atomic_store(&w->done, true);
	return NULL;
}

static void reap(struct feed_service *s, bool all)
{
	for (int i = 0; i < WORKERS; i++) {
		struct worker *w = &s->w[i];
		if (w->running && (all || atomic_load(&w->done))) {
			pthread_join(w->th, NULL);
			w->running = false;
		}
	}
}

static bool busy(const struct feed_service *s, const char *name)
{
	for (int i = 0; i < WORKERS; i++)
		if (s->w[i].running && strcmp(s->w[i].name, name) == 0)
			return true;
	return false;
}

static struct worker *free_slot(struct feed_service *s)
{
	for (int i = 0; i < WORKERS; i++)
		if (!s->w[i].running)
			return &s->w[i];
	return NULL;
}

static void *scheduler(void *arg)
{
	struct feed_service *s = arg;
	prctl(PR_SET_NAME, "feed-sched", 0, 0, 0);
	struct feed_db *db = NULL;
	bool failing = false;
	pthread_mutex_lock(&s->mu);
	while (!atomic_load(&s->stop)) {
		pthread_mutex_unlock(&s->mu);
		reap(s, false);
		struct diag d;
		struct feed *v = NULL;
		size_t n = 0;
		int rc =
		    db != NULL ? ST_OK : feed_db_open(s->env.home, &db, &d);
		if (rc == ST_OK)
			rc = feed_db_list(db, &v, &n, &d);
		if (rc != ST_OK && !failing)
			log_warn("feed", "%s (retried every second)", d.msg);
		failing = rc != ST_OK;
		st_time now = time_now();
		for (size_t i = 0; i < n && !atomic_load(&s->stop); i++) {
			struct feed *f = &v[i];
			if (f->every_s <= 0 || f->next_pull > now ||
			    feed_pulling(f, now) || busy(s, f->name))
				continue;
			struct worker *w = free_slot(s);
			if (w == NULL)
				break; /* the next tick */
			memset(w->name, 0, sizeof(w->name));
			snprintf(w->name, sizeof(w->name), "%s", f->name);
			w->s = s;
			atomic_store(&w->done, false);
			if (pthread_create(&w->th, NULL, worker_main, w) == 0)
				w->running = true;
		}
		free(v);
		pthread_mutex_lock(&s->mu);
		struct timespec dl;
		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_sec += TICK_MS / 1000;
		while (!atomic_load(&s->stop) &&
		       pthread_cond_timedwait(&s->cv, &s->mu, &dl) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&s->mu);
	reap(s, true);
	feed_db_close(db);
	return NULL;
}

int feed_service_start(const struct feed_env *env, struct feed_service **out,
		       struct diag *d)
{
	*out = NULL;
	struct feed_service *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return diag_set(d, ST_ENOMEM, "out of memory");
	s->env = *env;
	snprintf(s->home, sizeof(s->home), "%s", env->home);
	snprintf(s->allow, sizeof(s->allow), "%s",
		 env->allow_hosts ? env->allow_hosts : "");
	s->env.home = s->home;
	s->env.allow_hosts = s->allow;
	s->env.stop = &s->stop;
	s->env.verbose = false;
	atomic_init(&s->stop, false);
	for (int i = 0; i < WORKERS; i++)
		atomic_init(&s->w[i].done, false);
	/* the file is made (or its schema brought up) before serving */
	struct feed_db *db = NULL;
	int rc = feed_db_open(s->home, &db, d);
	feed_db_close(db);
	if (rc == ST_OK && curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		rc = diag_set(d, ST_ENOMEM, "cannot start libcurl");
	if (rc != ST_OK) {
		free(s);
		return rc;
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	if (pthread_create(&s->th, NULL, scheduler, s) != 0) {
		pthread_cond_destroy(&s->cv);
		pthread_mutex_destroy(&s->mu);
		curl_global_cleanup();
		free(s);
		return diag_set(d, ST_EIO, "feeds: no thread");
	}
	*out = s;
	return ST_OK;
}

void feed_service_stop(struct feed_service *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	atomic_store(&s->stop, true);
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->th, NULL);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	curl_global_cleanup();
	free(s);
}
