/*
 * strait: the hotline's state, <home>/hotline.db; see hotline.h.
 *
 * One connection behind a mutex; the volume is small (people write these
 * messages), so statements are prepared per call. Headers are kept as the
 * JSON the sender's client made (parsed and checked on the way in and on
 * the way out); bodies only sealed.
 */
#include "hotline/hotline.h"

#include "common/json.h"
#include "common/sqlschema.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct hl_db {
	sqlite3 *db;
	pthread_mutex_t mu;
	pthread_cond_t ev_cv; /* an event was added (ev_gen moved) */
	uint64_t ev_gen;
	/* Messages committed without waiting for the disk, counted since
	 * open; how many of them hl_db_sync has made durable. */
	uint64_t gen, durable;
	bool syncing;	       /* an hl_db_sync is at the disk */
	pthread_cond_t gen_cv; /* gen, durable or syncing moved */
	char path[PATH_MAX];
};

static const struct sql_migration migrations[] = {
    {1, "CREATE TABLE principals(addr TEXT PRIMARY KEY, peer TEXT NOT NULL,"
	" title TEXT NOT NULL, sign_pk BLOB NOT NULL, box_pk BLOB NOT NULL,"
	" fp TEXT NOT NULL, trust INTEGER NOT NULL, trusted_fp TEXT NOT NULL,"
	" chain TEXT NOT NULL, updated INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE messages(id TEXT PRIMARY KEY, header TEXT NOT NULL,"
	" sig BLOB NOT NULL, dir INTEGER NOT NULL, peer TEXT NOT NULL,"
	" prec INTEGER NOT NULL, stored INTEGER NOT NULL,"
	" clock_in REAL NOT NULL, deadline REAL NOT NULL,"
	" level INTEGER NOT NULL, state INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE INDEX messages_due ON messages(dir, state, deadline);"
	"CREATE TABLE readers(msg TEXT NOT NULL, addr TEXT NOT NULL,"
	" level INTEGER NOT NULL, ct BLOB NOT NULL,"
	" PRIMARY KEY(msg, addr)) WITHOUT ROWID;"
	"CREATE INDEX readers_addr ON readers(addr);"
	"CREATE TABLE receipts(msg TEXT NOT NULL, principal TEXT NOT NULL,"
	" kind INTEGER NOT NULL, at INTEGER NOT NULL, sig BLOB NOT NULL,"
	" PRIMARY KEY(msg, principal, kind)) WITHOUT ROWID;"
	"CREATE TABLE outbox(seq INTEGER PRIMARY KEY, peer TEXT NOT NULL,"
	" prec INTEGER NOT NULL, json TEXT NOT NULL);"
	"CREATE INDEX outbox_next ON outbox(peer, prec, seq);"
	"CREATE TABLE events(seq INTEGER PRIMARY KEY, at INTEGER NOT NULL,"
	" kind TEXT NOT NULL, msg TEXT NOT NULL, detail TEXT NOT NULL);"
	"CREATE TABLE links(peer TEXT PRIMARY KEY, last_heard INTEGER NOT"
	" NULL, down_since INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE profiles(peer TEXT PRIMARY KEY, json TEXT NOT NULL,"
	" fetched INTEGER NOT NULL) WITHOUT ROWID;"},
};
#define NMIGRATIONS (sizeof(migrations) / sizeof(migrations[0]))

static const char *const trust_names[] = {"ours", "pending", "confirmed",
					  "changed"};
static const char *const state_names[] = {"open", "acknowledged",
					  "unacknowledged"};

const char *hl_trust_name(enum hl_trust t)
{
	return (unsigned)t < 4 ? trust_names[t] : "?";
}

const char *hl_state_name(enum hl_state s)
{
	return (unsigned)s < 3 ? state_names[s] : "?";
}

bool hl_principal_usable(const struct hl_principal *p)
{
	return p->trust == HL_TRUST_OURS || p->trust == HL_TRUST_OK;
}

int hl_db_open(const char *home, struct hl_db **out, struct diag *d)
{
	*out = NULL;
	struct hl_db *db = calloc(1, sizeof(*db));
	if (db == NULL)
		return diag_set(d, ST_ENOMEM, "out of memory");
	pthread_mutex_init(&db->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&db->ev_cv, &ca);
	pthread_cond_init(&db->gen_cv, &ca);
	pthread_condattr_destroy(&ca);
	if ((size_t)snprintf(db->path, sizeof(db->path), "%s/hotline.db",
			     home) >= sizeof(db->path)) {
		hl_db_close(db);
		return diag_set(d, ST_EINVAL, "%s: path too long", home);
	}
	int rc = sql_open_private(db->path, "hotline state", migrations,
				  NMIGRATIONS, &db->db, d);
	if (rc != ST_OK) {
		hl_db_close(db);
		return rc;
	}
	*out = db;
	return ST_OK;
}

void hl_db_close(struct hl_db *db)
{
	if (db == NULL)
		return;
	sqlite3_close(db->db);
	pthread_cond_destroy(&db->ev_cv);
	pthread_cond_destroy(&db->gen_cv);
	pthread_mutex_destroy(&db->mu);
	free(db);
}

void hl_db_autocheckpoint(struct hl_db *db, bool on)
{
	pthread_mutex_lock(&db->mu);
	sqlite3_exec(db->db,
		     on ? "PRAGMA wal_autocheckpoint=1000"
			: "PRAGMA wal_autocheckpoint=0",
		     NULL, NULL, NULL);
	pthread_mutex_unlock(&db->mu);
}

int hl_db_checkpoint(struct hl_db *db)
{
	pthread_mutex_lock(&db->mu);
	int rc =
	    sqlite3_wal_checkpoint_v2(db->db, NULL, SQLITE_CHECKPOINT_PASSIVE,
				      NULL, NULL) == SQLITE_OK
		? ST_OK
		: ST_ESTORE;
	pthread_mutex_unlock(&db->mu);
	return rc;
}

/* One of db's counters, read under mu. */
static uint64_t counter(struct hl_db *db, const uint64_t *c)
{
	pthread_mutex_lock(&db->mu);
	uint64_t v = *c;
	pthread_mutex_unlock(&db->mu);
	return v;
}

uint64_t hl_db_event_gen(struct hl_db *db)
{
	return counter(db, &db->ev_gen);
}

void hl_db_poke(struct hl_db *db)
{
	pthread_mutex_lock(&db->mu);
	db->ev_gen++;
	pthread_cond_broadcast(&db->ev_cv);
	pthread_mutex_unlock(&db->mu);
}

/* CLOCK_MONOTONIC ms from now, for the condition variables */
static struct timespec deadline_in(unsigned ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	ts.tv_sec += ms / 1000 + ts.tv_nsec / 1000000000L;
	ts.tv_nsec %= 1000000000L;
	return ts;
}

void hl_db_wait_event(struct hl_db *db, uint64_t gen, unsigned ms)
{
	struct timespec ts = deadline_in(ms);
	pthread_mutex_lock(&db->mu);
	while (db->ev_gen == gen)
		if (pthread_cond_timedwait(&db->ev_cv, &db->mu, &ts) != 0)
			break;
	pthread_mutex_unlock(&db->mu);
}

uint64_t hl_db_version(struct hl_db *db)
{
	int64_t v = 0;
	pthread_mutex_lock(&db->mu);
	sql_query_int(db->db, "PRAGMA data_version", 0, &v, NULL);
	pthread_mutex_unlock(&db->mu);
	return (uint64_t)v;
}

/*
 * Whether a commit waits for the disk. Receipts and outbox entries added
 * alone do (FULL): each is acknowledged only once it is on disk. Messages
 * (with their outbox entries) are committed without waiting and made
 * durable by hl_db_sync, outside mu, before the client that handed one in
 * hears that it is kept, or the partner that relayed one hears that it is
 * on disk here: a sync under mu would stall every other use of the
 * hotline's state (deliveries, the event feed, other hand-ins) for as
 * long as the disk takes, and while a bulk replication writes, that is
 * tens of ms.
 * Events, link records, profiles and the removal of a delivered outbox
 * entry need no sync of their own: in WAL mode they reach the disk with
 * the next sync, and a crash before it loses at most a redelivery
 * (dropped by id) or an event. The caller holds mu.
 */
static void sync_mode(struct hl_db *db, bool full)
{
	sqlite3_exec(db->db,
		     full ? "PRAGMA synchronous=FULL"
			  : "PRAGMA synchronous=NORMAL",
		     NULL, NULL, NULL);
}

/* Prepares sql; the caller holds mu. */
static int prep(struct hl_db *db, const char *sql, sqlite3_stmt **st,
		struct diag *d)
{
	if (sqlite3_prepare_v2(db->db, sql, -1, st, NULL) != SQLITE_OK)
		return sql_diag(db->db, d, db->path);
	return ST_OK;
}

/* Steps a statement that returns no row and finalizes it. */
static int done(struct hl_db *db, sqlite3_stmt *st, struct diag *d)
{
	int rc = sqlite3_step(st) == SQLITE_DONE
		     ? ST_OK
		     : sql_diag(db->db, d, db->path);
	sqlite3_finalize(st);
	return rc;
}

static void col_text(char *out, size_t cap, sqlite3_stmt *st, int c)
{
	const char *s = (const char *)sqlite3_column_text(st, c);
	snprintf(out, cap, "%s", s != NULL ? s : "");
}

static bool col_blob(void *out, size_t n, sqlite3_stmt *st, int c)
{
	if ((size_t)sqlite3_column_bytes(st, c) != n)
		return false;
	memcpy(out, sqlite3_column_blob(st, c), n);
	return true;
}

/* ---- principals ---- */

/* The chain as text: level 1 members, '|', level 2 members, ' ' apart. */
static void chain_text(const struct hl_principal *p, char *out, size_t cap)
{
	size_t o = 0;
	out[0] = '\0';
	for (int l = 0; l < 2; l++) {
		for (size_t i = 0; i < p->nchain[l]; i++)
			o += (size_t)snprintf(out + o, o < cap ? cap - o : 0,
					      "%s%s", i ? " " : "",
					      p->chain[l][i]);
		if (l == 0)
			o += (size_t)snprintf(out + o, o < cap ? cap - o : 0,
					      "|");
	}
}

static void chain_parse(const char *s, struct hl_principal *p)
{
	p->nchain[0] = p->nchain[1] = 0;
	int l = 0;
	while (s != NULL && *s) {
		if (*s == '|') {
			l = 1;
			s++;
			continue;
		}
		if (*s == ' ') {
			s++;
			continue;
		}
		size_t n = strcspn(s, " |");
		if (p->nchain[l] < HL_CHAIN_MAX && n <= HL_ADDR_MAX) {
			memcpy(p->chain[l][p->nchain[l]], s, n);
			p->chain[l][p->nchain[l]][n] = '\0';
			p->nchain[l]++;
		}
		s += n;
	}
}

#define PRINCIPAL_COLS                                                      \
	"addr, peer, title, sign_pk, box_pk, fp, trust, trusted_fp, chain," \
	" updated"

static bool principal_row(sqlite3_stmt *st, struct hl_principal *p)
{
	memset(p, 0, sizeof(*p));
	col_text(p->addr, sizeof(p->addr), st, 0);
	col_text(p->peer, sizeof(p->peer), st, 1);
	col_text(p->title, sizeof(p->title), st, 2);
	bool ok = col_blob(p->key.sign_pk, sizeof(p->key.sign_pk), st, 3) &&
		  col_blob(p->key.box_pk, sizeof(p->key.box_pk), st, 4);
	col_text(p->fp, sizeof(p->fp), st, 5);
	p->trust = (enum hl_trust)sqlite3_column_int(st, 6);
	col_text(p->trusted_fp, sizeof(p->trusted_fp), st, 7);
	chain_parse((const char *)sqlite3_column_text(st, 8), p);
	p->updated = sqlite3_column_int64(st, 9);
	return ok;
}

static int principal_write(struct hl_db *db, const struct hl_principal *p,
			   struct diag *d)
{
	char chain[2 * HL_CHAIN_MAX * (HL_ADDR_MAX + 1) + 2];
	chain_text(p, chain, sizeof(chain));
	sqlite3_stmt *st;
	int rc = prep(db,
		      "INSERT OR REPLACE INTO principals(" PRINCIPAL_COLS
		      ") VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
		      &st, d);
	if (rc != ST_OK)
		return rc;
	sqlite3_bind_text(st, 1, p->addr, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, p->peer, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, p->title, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 4, p->key.sign_pk, sizeof(p->key.sign_pk),
			  SQLITE_STATIC);
	sqlite3_bind_blob(st, 5, p->key.box_pk, sizeof(p->key.box_pk),
			  SQLITE_STATIC);
	sqlite3_bind_text(st, 6, p->fp, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 7, (int)p->trust);
	sqlite3_bind_text(st, 8, p->trusted_fp, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, chain, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 10, time_now());
	return done(db, st, d);
}

static int principal_read(struct hl_db *db, const char *addr,
			  struct hl_principal *out)
{
	sqlite3_stmt *st;
	int rc = prep(
	    db, "SELECT " PRINCIPAL_COLS " FROM principals WHERE addr = ?1",
	    &st, NULL);
	if (rc != ST_OK)
		return rc;
	sqlite3_bind_text(st, 1, addr, -1, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_ROW
		 ? (principal_row(st, out) ? ST_OK : ST_ESTORE)
		 : ST_ENOTFOUND;
	sqlite3_finalize(st);
	return rc;
}

int hl_principal_get(struct hl_db *db, const char *addr,
		     struct hl_principal *out)
{
	pthread_mutex_lock(&db->mu);
	int rc = principal_read(db, addr, out);
	pthread_mutex_unlock(&db->mu);
	return rc;
}

int hl_principal_enroll(struct hl_db *db, const char *addr, const char *title,
			const struct hotline_pub *key, struct diag *d)
{
	if (!hl_addr_valid(addr, NULL))
		return diag_set(d, ST_EINVAL, "%s: not an address", addr);
	struct hl_principal p;
	pthread_mutex_lock(&db->mu);
	if (principal_read(db, addr, &p) != ST_OK) {
		memset(&p, 0, sizeof(p));
		snprintf(p.addr, sizeof(p.addr), "%s", addr);
	}
	snprintf(p.title, sizeof(p.title), "%s", title ? title : "");
	p.key = *key;
	hotline_fingerprint(key, p.fp);
	p.trust = HL_TRUST_OURS;
	snprintf(p.trusted_fp, sizeof(p.trusted_fp), "%s", p.fp);
	int rc = principal_write(db, &p, d);
	pthread_mutex_unlock(&db->mu);
	return rc;
}

int hl_principal_chain(struct hl_db *db, const char *addr,
		       const char *const *deputies, size_t nd,
		       const char *const *duty, size_t nu, struct diag *d)
{
	if (nd > HL_CHAIN_MAX || nu > HL_CHAIN_MAX)
		return diag_set(d, ST_EINVAL, "at most %d at each level",
				HL_CHAIN_MAX);
	struct hl_principal p;
	pthread_mutex_lock(&db->mu);
	int rc = principal_read(db, addr, &p);
	if (rc == ST_ENOTFOUND || (rc == ST_OK && p.trust != HL_TRUST_OURS))
		rc = diag_set(d, ST_ENOTFOUND,
			      "%s is not a principal enrolled here", addr);
	for (int l = 0; rc == ST_OK && l < 2; l++) {
		const char *const *v = l == 0 ? deputies : duty;
		size_t n = l == 0 ? nd : nu;
		p.nchain[l] = 0;
		for (size_t i = 0; rc == ST_OK && i < n; i++) {
			struct hl_principal m;
			if (strcmp(v[i], addr) == 0 ||
			    principal_read(db, v[i], &m) != ST_OK ||
			    m.trust != HL_TRUST_OURS)
				rc = diag_set(d, ST_EINVAL,
					      "%s: not another principal "
					      "enrolled here",
					      v[i]);
			else
				snprintf(p.chain[l][p.nchain[l]++],
					 sizeof(p.chain[0][0]), "%s", v[i]);
		}
	}
	if (rc == ST_OK)
		rc = principal_write(db, &p, d);
	pthread_mutex_unlock(&db->mu);
	return rc;
}

int hl_principal_seen(struct hl_db *db, const char *peer,
		      const struct hl_principal *p, bool *changed,
		      struct diag *d)
{
	*changed = false;
	struct hl_principal cur, nw = *p;
	snprintf(nw.peer, sizeof(nw.peer), "%s", peer);
	hotline_fingerprint(&nw.key, nw.fp);
	pthread_mutex_lock(&db->mu);
	int rc = principal_read(db, p->addr, &cur);
	if (rc == ST_OK && cur.trust == HL_TRUST_OURS) {
		/* a partner naming one of ours: never taken */
		pthread_mutex_unlock(&db->mu);
		return diag_set(d, ST_ECONFLICT,
				"%s names a principal of this node", peer);
	}
	if (rc == ST_OK) {
		snprintf(nw.trusted_fp, sizeof(nw.trusted_fp), "%s",
			 cur.trusted_fp);
		if (cur.trusted_fp[0] == '\0')
			nw.trust = HL_TRUST_PENDING;
		else if (strcmp(cur.trusted_fp, nw.fp) == 0)
			nw.trust = HL_TRUST_OK;
		else
			nw.trust = HL_TRUST_CHANGED;
		*changed =
		    strcmp(cur.fp, nw.fp) != 0 && nw.trust == HL_TRUST_CHANGED;
	} else {
		nw.trust = HL_TRUST_PENDING;
		nw.trusted_fp[0] = '\0';
	}
	rc = principal_write(db, &nw, d);
	pthread_mutex_unlock(&db->mu);
	return rc;
}

/* fp with spaces dropped and lower case, into out. */
static void fp_norm(const char *fp, char *out, size_t cap)
{
	size_t o = 0;
	for (; fp != NULL && *fp && o + 1 < cap; fp++)
		if (!isspace((unsigned char)*fp) && *fp != ':')
			out[o++] = (char)tolower((unsigned char)*fp);
	out[o] = '\0';
}

int hl_principal_trust(struct hl_db *db, const char *addr, const char *fp,
		       struct diag *d)
{
	struct hl_principal p;
	pthread_mutex_lock(&db->mu);
	int rc = principal_read(db, addr, &p);
	if (rc != ST_OK) {
		pthread_mutex_unlock(&db->mu);
		return diag_set(d, ST_ENOTFOUND,
				"%s: no such partner principal (strait "
				"contacts lists them)",
				addr);
	}
	char a[64], b[64];
	fp_norm(fp, a, sizeof(a));
	fp_norm(p.fp, b, sizeof(b));
	if (p.trust == HL_TRUST_OURS)
		rc = diag_set(d, ST_EINVAL, "%s is enrolled here", addr);
	else if (strcmp(a, b) != 0)
		rc = diag_set(d, ST_ECONFLICT,
			      "%s: the fingerprint of its key is %s, not the "
			      "one given: the key is not confirmed",
			      addr, p.fp);
	if (rc == ST_OK) {
		p.trust = HL_TRUST_OK;
		snprintf(p.trusted_fp, sizeof(p.trusted_fp), "%s", p.fp);
		rc = principal_write(db, &p, d);
	}
	pthread_mutex_unlock(&db->mu);
	return rc;
}

int hl_principal_list(struct hl_db *db, const char *peer, hl_principal_fn fn,
		      void *ctx, struct diag *d)
{
	sqlite3_stmt *st;
	pthread_mutex_lock(&db->mu);
	int rc = prep(db,
		      "SELECT " PRINCIPAL_COLS " FROM principals WHERE ?1 IS"
		      " NULL OR peer = ?1 ORDER BY peer, addr",
		      &st, d);
	size_t n = 0, cap = 0;
	struct hl_principal *v = NULL;
	if (rc == ST_OK) {
		if (peer != NULL)
			sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
		while (sqlite3_step(st) == SQLITE_ROW) {
			if (n == cap) {
				cap = cap ? cap * 2 : 16;
				struct hl_principal *g =
				    realloc(v, cap * sizeof(*g));
				if (g == NULL) {
					rc = diag_set(d, ST_ENOMEM,
						      "out of memory");
					break;
				}
				v = g;
			}
			if (principal_row(st, &v[n]))
				n++;
		}
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&db->mu);
	for (size_t i = 0; rc == ST_OK && i < n; i++)
		rc = fn(ctx, &v[i]);
	free(v);
	return rc;
}

/* ---- messages ---- */

#define MSG_COLS \
	"id, header, sig, dir, peer, stored, clock_in, deadline, level, state"

static int msg_row(sqlite3_stmt *st, struct hl_msg *m, struct json_doc *doc,
		   struct diag *d)
{
	memset(m, 0, sizeof(*m));
	const char *hj = (const char *)sqlite3_column_text(st, 1);
	const struct json_val *root;
	int rc = hj != NULL ? json_parse(doc, hj, strlen(hj), 0, NULL, &root, d)
			    : ST_ESTORE;
	if (rc == ST_OK)
		rc = hl_header_parse(root, &m->h, d);
	if (rc != ST_OK || !col_blob(m->sig, sizeof(m->sig), st, 2))
		return ST_ESTORE;
	m->dir = (enum hl_dir)sqlite3_column_int(st, 3);
	col_text(m->peer, sizeof(m->peer), st, 4);
	m->stored = sqlite3_column_int64(st, 5);
	m->clock_in = sqlite3_column_double(st, 6);
	m->deadline = sqlite3_column_double(st, 7);
	m->level = sqlite3_column_int(st, 8);
	m->state = (enum hl_state)sqlite3_column_int(st, 9);
	return ST_OK;
}

static int msg_put(struct hl_db *db, const struct hl_msg *m,
		   const struct hl_reader *readers, size_t n,
		   const char *const *peers, const char *const *docs, size_t nq,
		   bool *dup, struct diag *d);

int hl_msg_put(struct hl_db *db, const struct hl_msg *m,
	       const struct hl_reader *readers, size_t n, bool *dup,
	       struct diag *d)
{
	return msg_put(db, m, readers, n, NULL, NULL, 0, dup, d);
}

int hl_msg_put_queued(struct hl_db *db, const struct hl_msg *m,
		      const struct hl_reader *readers, size_t n,
		      const char *const *peers, const char *const *docs,
		      size_t nq, bool *dup, struct diag *d)
{
	return msg_put(db, m, readers, n, peers, docs, nq, dup, d);
}

int hl_db_sync(struct hl_db *db, struct diag *d)
{
	/* Every commit is in the WAL until a checkpoint, which syncs the
	 * WAL before it copies frames out and before the WAL is reused:
	 * syncing the WAL's file makes every commit so far durable. fsync
	 * is per file, so any descriptor of it does; this one is not the
	 * connection's, and mu is not held, so readers and writers go on
	 * while the disk works. One sync at a time: a caller that finds one
	 * at the disk waits for it, and is done if it covered its commits
	 * (group commit: under a bulk every sync flushes the disk's cache,
	 * tens of ms, and two at once only make each other slower). */
	pthread_mutex_lock(&db->mu);
	uint64_t gen = db->gen;
	/* gen 0: no commit through this connection, the caller wants
	 * another process's (or an earlier open's) on disk */
	while (db->syncing && (gen == 0 || db->durable < gen))
		pthread_cond_wait(&db->gen_cv, &db->mu);
	if (gen > 0 && db->durable >= gen) {
		pthread_mutex_unlock(&db->mu);
		return ST_OK;
	}
	db->syncing = true;
	gen = db->gen;
	pthread_mutex_unlock(&db->mu);
	char wal[PATH_MAX + 8];
	snprintf(wal, sizeof(wal), "%s-wal", db->path);
	int rc = ST_OK;
	int fd = open(wal, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		rc = diag_set(d, ST_EIO, "%s: %s", wal, strerror(errno));
	else if (fdatasync(fd) != 0)
		rc = diag_set(d, ST_EIO, "%s: sync: %s", wal, strerror(errno));
	if (fd >= 0)
		close(fd);
	pthread_mutex_lock(&db->mu);
	db->syncing = false;
	if (rc == ST_OK && gen > db->durable)
		db->durable = gen;
	pthread_cond_broadcast(&db->gen_cv);
	pthread_mutex_unlock(&db->mu);
	return rc;
}

uint64_t hl_db_gen(struct hl_db *db)
{
	return counter(db, &db->gen);
}

uint64_t hl_db_durable(struct hl_db *db)
{
	return counter(db, &db->durable);
}

void hl_db_wait_commit(struct hl_db *db, uint64_t seen, unsigned ms)
{
	struct timespec ts = deadline_in(ms);
	pthread_mutex_lock(&db->mu);
	while (db->gen == seen)
		if (pthread_cond_timedwait(&db->gen_cv, &db->mu, &ts) != 0)
			break;
	pthread_mutex_unlock(&db->mu);
}

static int msg_put(struct hl_db *db, const struct hl_msg *m,
		   const struct hl_reader *readers, size_t n,
		   const char *const *peers, const char *const *docs, size_t nq,
		   bool *dup, struct diag *d)
{
	*dup = false;
	struct buf hb = BUF_INIT(1 << 20);
	struct jw w;
	jw_init(&w, &hb);
	hl_header_json(&w, &m->h);
	int rc = jw_finish(&w);
	if (rc != ST_OK) {
		buf_free(&hb);
		return diag_set(d, rc, "message %s: header too large", m->h.id);
	}
	sqlite3_stmt *st = NULL;
	pthread_mutex_lock(&db->mu);
	sync_mode(db, false);
	if (sqlite3_exec(db->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK) {
		rc = sql_diag(db->db, d, db->path);
		goto out;
	}
	rc = prep(db, "SELECT 1 FROM messages WHERE id = ?1", &st, d);
	if (rc == ST_OK) {
		sqlite3_bind_text(st, 1, m->h.id, -1, SQLITE_STATIC);
		*dup = sqlite3_step(st) == SQLITE_ROW;
		sqlite3_finalize(st);
	}
	if (rc == ST_OK && !*dup) {
		rc = prep(db,
			  "INSERT INTO messages(" MSG_COLS ", prec) VALUES(?1,"
			  " ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
			  &st, d);
		if (rc == ST_OK) {
			sqlite3_bind_text(st, 1, m->h.id, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, hb.data, (int)hb.len,
					  SQLITE_STATIC);
			sqlite3_bind_blob(st, 3, m->sig, sizeof(m->sig),
					  SQLITE_STATIC);
			sqlite3_bind_int(st, 4, (int)m->dir);
			sqlite3_bind_text(st, 5, m->peer, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 6, m->stored);
			sqlite3_bind_double(st, 7, m->clock_in);
			sqlite3_bind_double(st, 8, m->deadline);
			sqlite3_bind_int(st, 9, m->level);
			sqlite3_bind_int(st, 10, (int)m->state);
			sqlite3_bind_int(st, 11, (int)m->h.prec);
			rc = done(db, st, d);
		}
		for (size_t i = 0; rc == ST_OK && i < n; i++) {
			int level = 0;
			bool rec = false;
			for (size_t k = 0; k < m->h.nrecipients; k++)
				rec |= strcmp(m->h.recipients[k],
					      readers[i].addr) == 0;
			if (!rec) {
				/* which level of a recipient's chain */
				level = 2;
				for (size_t k = 0; k < m->h.nrecipients; k++) {
					struct hl_principal p;
					if (principal_read(db,
							   m->h.recipients[k],
							   &p) != ST_OK)
						continue;
					for (size_t j = 0; j < p.nchain[0]; j++)
						if (strcmp(p.chain[0][j],
							   readers[i].addr) ==
						    0)
							level = 1;
				}
			}
			rc = prep(db,
				  "INSERT OR REPLACE INTO readers(msg, addr,"
				  " level, ct) VALUES(?1, ?2, ?3, ?4)",
				  &st, d);
			if (rc == ST_OK) {
				sqlite3_bind_text(st, 1, m->h.id, -1,
						  SQLITE_STATIC);
				sqlite3_bind_text(st, 2, readers[i].addr, -1,
						  SQLITE_STATIC);
				sqlite3_bind_int(st, 3, level);
				sqlite3_bind_blob(st, 4, readers[i].ct,
						  (int)readers[i].ctlen,
						  SQLITE_STATIC);
				rc = done(db, st, d);
			}
		}
		for (size_t i = 0; rc == ST_OK && i < nq; i++) {
			rc = prep(db,
				  "INSERT INTO outbox(peer, prec, json)"
				  " VALUES(?1, ?2, ?3)",
				  &st, d);
			if (rc == ST_OK) {
				sqlite3_bind_text(st, 1, peers[i], -1,
						  SQLITE_STATIC);
				sqlite3_bind_int(st, 2, (int)m->h.prec);
				sqlite3_bind_text(st, 3, docs[i], -1,
						  SQLITE_STATIC);
				rc = done(db, st, d);
			}
		}
	}
	if (rc == ST_OK &&
	    sqlite3_exec(db->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		rc = sql_diag(db->db, d, db->path);
	if (rc != ST_OK) {
		sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
	} else if (!*dup) {
		db->gen++;
		pthread_cond_broadcast(&db->gen_cv);
	}
out:
	sync_mode(db, true);
	pthread_mutex_unlock(&db->mu);
	buf_free(&hb);
	return rc;
}

static int msg_query(struct hl_db *db, sqlite3_stmt *st, hl_msg_fn fn,
		     void *ctx, struct diag *d)
{
	/* rows copied out under the lock, handed out without it */
	struct json_doc *doc = json_doc_new();
	struct hl_msg *v = NULL;
	size_t n = 0, cap = 0;
	int rc = doc != NULL ? ST_OK : diag_set(d, ST_ENOMEM, "out of memory");
	while (rc == ST_OK && sqlite3_step(st) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			struct hl_msg *g = realloc(v, cap * sizeof(*g));
			if (g == NULL) {
				rc = diag_set(d, ST_ENOMEM, "out of memory");
				break;
			}
			v = g;
		}
		struct diag dd;
		if (msg_row(st, &v[n], doc, &dd) == ST_OK)
			n++;
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&db->mu);
	json_doc_free(doc);
	for (size_t i = 0; rc == ST_OK && i < n; i++)
		rc = fn(ctx, &v[i]);
	free(v);
	return rc;
}

static int copy_one(void *ctx, const struct hl_msg *m)
{
	*(struct hl_msg *)ctx = *m;
	return 1;
}

int hl_msg_get(struct hl_db *db, const char *id, struct hl_msg *out,
	       struct diag *d)
{
	sqlite3_stmt *st;
	pthread_mutex_lock(&db->mu);
	int rc =
	    prep(db, "SELECT " MSG_COLS " FROM messages WHERE id = ?1", &st, d);
	if (rc != ST_OK) {
		pthread_mutex_unlock(&db->mu);
		return rc;
	}
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = msg_query(db, st, copy_one, out, d);
	if (rc == 1)
		return ST_OK;
	return rc == ST_OK ? diag_set(d, ST_ENOTFOUND, "no message %s", id)
			   : rc;
}

int hl_msg_body(struct hl_db *db, const char *id, const char *reader,
		uint8_t **ct, size_t *ctlen, struct diag *d)
{
	*ct = NULL;
	sqlite3_stmt *st;
	pthread_mutex_lock(&db->mu);
	int rc = prep(db, "SELECT ct FROM readers WHERE msg = ?1 AND addr = ?2",
		      &st, d);
	if (rc == ST_OK) {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, reader, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW) {
			*ctlen = (size_t)sqlite3_column_bytes(st, 0);
			*ct = malloc(*ctlen ? *ctlen : 1);
			if (*ct == NULL)
				rc = diag_set(d, ST_ENOMEM, "out of memory");
			else
				memcpy(*ct, sqlite3_column_blob(st, 0), *ctlen);
		} else {
			rc = diag_set(d, ST_ENOTFOUND,
				      "message %s holds no body for %s", id,
				      reader);
		}
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&db->mu);
	return rc;
}

int hl_msg_list(struct hl_db *db, const char *reader, hl_msg_fn fn, void *ctx,
		struct diag *d)
{
	sqlite3_stmt *st;
	pthread_mutex_lock(&db->mu);
	int rc = prep(db,
		      reader == NULL
			  ? "SELECT " MSG_COLS " FROM messages ORDER BY stored"
			  : "SELECT m.id, m.header, m.sig, m.dir, m.peer,"
			    " m.stored, m.clock_in, m.deadline, m.level,"
			    " m.state FROM messages m JOIN readers r ON"
			    " r.msg = m.id WHERE r.addr = ?1 AND"
			    " (r.level <= m.level OR m.dir = 0)"
			    " ORDER BY m.stored",
		      &st, d);
	if (rc != ST_OK) {
		pthread_mutex_unlock(&db->mu);
		return rc;
	}
	if (reader != NULL)
		sqlite3_bind_text(st, 1, reader, -1, SQLITE_STATIC);
	return msg_query(db, st, fn, ctx, d);
}

int hl_msg_reader_level(struct hl_db *db, const char *id, const char *reader)
{
	sqlite3_stmt *st;
	int level = -1;
	pthread_mutex_lock(&db->mu);
	if (prep(db, "SELECT level FROM readers WHERE msg = ?1 AND addr = ?2",
		 &st, NULL) == ST_OK) {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, reader, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			level = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&db->mu);
	return level;
}

int hl_msg_readers(struct hl_db *db, const char *id, int level,
		   char (*out)[HL_ADDR_MAX + 1], size_t cap, size_t *n)
{
	sqlite3_stmt *st;
	*n = 0;
	pthread_mutex_lock(&db->mu);
	int rc = prep(db,
		      "SELECT addr FROM readers WHERE msg = ?1 AND level = ?2"
		      " ORDER BY addr",
		      &st, NULL);
	if (rc == ST_OK) {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 2, level);
		while (*n < cap && sqlite3_step(st) == SQLITE_ROW)
			col_text(out[(*n)++], HL_ADDR_MAX + 1, st, 0);
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&db->mu);
	return rc;
}

int hl_msg_update(struct hl_db *db, const char *id, enum hl_state state,
		  int level, double deadline, struct diag *d)
{
	sqlite3_stmt *st;
	pthread_mutex_lock(&db->mu);
	int rc = prep(db,
		      "UPDATE messages SET state = ?2, level = ?3,"
		      " deadline = ?4 WHERE id = ?1",
		      &st, d);
	if (rc == ST_OK) {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 2, (int)state);
		sqlite3_bind_int(st, 3, level);
		sqlite3_bind_double(st, 4, deadline);
		rc = done(db, st, d);
	}
	pthread_mutex_unlock(&db->mu);
	return rc;
}

int hl_msg_due(struct hl_db *db, double clock, hl_msg_fn fn, void *ctx,
	       struct diag *d)
{
	sqlite3_stmt *st;
	pthread_mutex_lock(&db->mu);
	int rc = prep(db,
		      "SELECT " MSG_COLS " FROM messages WHERE dir = 1 AND"
		      " state = 0 AND deadline <= ?1 ORDER BY deadline",
		      &st, d);
	if (rc != ST_OK) {
		pthread_mutex_unlock(&db->mu);
		return rc;
	}
	sqlite3_bind_double(st, 1, clock);
	return msg_query(db, st, fn, ctx, d);
}

/* ---- receipts ---- */

int hl_receipt_put(struct hl_db *db, const struct hl_receipt_rec *r, bool *dup,
		   struct diag *d)
{
	sqlite3_stmt *st;
	pthread_mutex_lock(&db->mu);
	int rc = prep(db,
		      "INSERT OR IGNORE INTO receipts(msg, principal, kind, at,"
		      " sig) VALUES(?1, ?2, ?3, ?4, ?5)",
		      &st, d);
	if (rc == ST_OK) {
		sqlite3_bind_text(st, 1, r->msg, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, r->principal, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 3, (int)r->kind);
		sqlite3_bind_int64(st, 4, r->at);
		sqlite3_bind_blob(st, 5, r->sig, sizeof(r->sig), SQLITE_STATIC);
		rc = done(db, st, d);
		*dup = rc == ST_OK && sqlite3_changes(db->db) == 0;
	}
	pthread_mutex_unlock(&db->mu);
	return rc;
}

int hl_receipt_list(struct hl_db *db, const char *msg, hl_receipt_fn fn,
		    void *ctx, struct diag *d)
{
	sqlite3_stmt *st;
	struct hl_receipt_rec *v = NULL;
	size_t n = 0, cap = 0;
	pthread_mutex_lock(&db->mu);
	int rc = prep(db,
		      "SELECT msg, principal, kind, at, sig FROM receipts"
		      " WHERE msg = ?1 ORDER BY at, principal, kind",
		      &st, d);
	if (rc == ST_OK) {
		sqlite3_bind_text(st, 1, msg, -1, SQLITE_STATIC);
		while (sqlite3_step(st) == SQLITE_ROW) {
			if (n == cap) {
				cap = cap ? cap * 2 : 8;
				struct hl_receipt_rec *g =
				    realloc(v, cap * sizeof(*g));
				if (g == NULL) {
					rc = diag_set(d, ST_ENOMEM,
						      "out of memory");
					break;
				}
				v = g;
			}
			struct hl_receipt_rec *r = &v[n];
			memset(r, 0, sizeof(*r));
			col_text(r->msg, sizeof(r->msg), st, 0);
			col_text(r->principal, sizeof(r->principal), st, 1);
			r->kind = (enum hl_receipt)sqlite3_column_int(st, 2);
			r->at = sqlite3_column_int64(st, 3);
			if (col_blob(r->sig, sizeof(r->sig), st, 4))
				n++;
		}
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&db->mu);
	for (size_t i = 0; rc == ST_OK && i < n; i++)
		rc = fn(ctx, &v[i]);
	free(v);
	return rc;
}

/* ---- outbox ---- */

int hl_outbox_add(struct hl_db *db, const char *peer, enum hl_prec prec,
		  const char *json, struct diag *d)
{
	sqlite3_stmt *st;
	pthread_mutex_lock(&db->mu);
	int rc =
	    prep(db, "INSERT INTO outbox(peer, prec, json) VALUES(?1, ?2, ?3)",
		 &st, d);
	if (rc == ST_OK) {
		sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 2, (int)prec);
		sqlite3_bind_text(st, 3, json, -1, SQLITE_STATIC);
		rc = done(db, st, d);
	}
	pthread_mutex_unlock(&db->mu);
	return rc;
}

static bool skipped(int64_t seq, const int64_t *skip, size_t nskip)
{
	for (size_t i = 0; i < nskip; i++)
		if (skip[i] == seq)
			return true;
	return false;
}

int hl_outbox_next(struct hl_db *db, const char *peer, const int64_t *skip,
		   size_t nskip, struct hl_out *out, struct diag *d)
{
	memset(out, 0, sizeof(*out));
	sqlite3_stmt *st;
	pthread_mutex_lock(&db->mu);
	int rc = prep(db,
		      "SELECT seq, prec, json FROM outbox WHERE peer = ?1"
		      " ORDER BY prec, seq",
		      &st, d);
	if (rc == ST_OK) {
		sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
		int step;
		while ((step = sqlite3_step(st)) == SQLITE_ROW &&
		       skipped(sqlite3_column_int64(st, 0), skip, nskip))
			;
		if (step == SQLITE_ROW) {
			out->seq = sqlite3_column_int64(st, 0);
			out->prec = (enum hl_prec)sqlite3_column_int(st, 1);
			snprintf(out->peer, sizeof(out->peer), "%s", peer);
			const char *j =
			    (const char *)sqlite3_column_text(st, 2);
			out->json = strdup(j != NULL ? j : "");
			if (out->json == NULL)
				rc = diag_set(d, ST_ENOMEM, "out of memory");
		} else {
			rc = ST_ENOTFOUND;
		}
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&db->mu);
	return rc;
}

int hl_outbox_done(struct hl_db *db, int64_t seq, struct diag *d)
{
	sqlite3_stmt *st;
	pthread_mutex_lock(&db->mu);
	sync_mode(db, false);
	int rc = prep(db, "DELETE FROM outbox WHERE seq = ?1", &st, d);
	if (rc == ST_OK) {
		sqlite3_bind_int64(st, 1, seq);
		rc = done(db, st, d);
	}
	sync_mode(db, true);
	pthread_mutex_unlock(&db->mu);
	return rc;
}

uint64_t hl_outbox_count(struct hl_db *db, const char *peer)
{
	sqlite3_stmt *st;
	int64_t n = 0;
	pthread_mutex_lock(&db->mu);
	if (prep(db, "SELECT count(*) FROM outbox WHERE peer = ?1", &st,
		 NULL) == ST_OK) {
		sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			n = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&db->mu);
	return (uint64_t)n;
}

/* ---- events ---- */

int hl_event_add(struct hl_db *db, const char *kind, const char *msg,
		 const char *detail, struct diag *d)
{
	sqlite3_stmt *st;
	pthread_mutex_lock(&db->mu);
	sync_mode(db, false);
	int rc = prep(db,
		      "INSERT INTO events(at, kind, msg, detail) VALUES(?1,"
		      " ?2, ?3, ?4)",
		      &st, d);
	if (rc == ST_OK) {
		sqlite3_bind_int64(st, 1, time_now());
		sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, msg != NULL ? msg : "", -1,
				  SQLITE_STATIC);
		sqlite3_bind_text(st, 4, detail != NULL ? detail : "{}", -1,
				  SQLITE_STATIC);
		rc = done(db, st, d);
	}
	sync_mode(db, true);
	if (rc == ST_OK) {
		db->ev_gen++;
		pthread_cond_broadcast(&db->ev_cv);
	}
	pthread_mutex_unlock(&db->mu);
	return rc;
}

int64_t hl_event_last(struct hl_db *db)
{
	int64_t v = 0;
	pthread_mutex_lock(&db->mu);
	sql_query_int(db->db, "SELECT coalesce(max(seq), 0) FROM events", 0, &v,
		      NULL);
	pthread_mutex_unlock(&db->mu);
	return v;
}

int hl_event_list(struct hl_db *db, int64_t after, size_t limit, hl_event_fn fn,
		  void *ctx, struct diag *d)
{
	sqlite3_stmt *st;
	struct hl_event *v = NULL;
	size_t n = 0;
	pthread_mutex_lock(&db->mu);
	int rc = prep(db,
		      "SELECT seq, at, kind, msg, detail FROM events WHERE"
		      " seq > ?1 ORDER BY seq LIMIT ?2",
		      &st, d);
	if (rc == ST_OK) {
		sqlite3_bind_int64(st, 1, after);
		sqlite3_bind_int64(st, 2, (int64_t)limit);
		v = calloc(limit ? limit : 1, sizeof(*v));
		if (v == NULL)
			rc = diag_set(d, ST_ENOMEM, "out of memory");
		while (rc == ST_OK && n < limit &&
		       sqlite3_step(st) == SQLITE_ROW) {
			struct hl_event *e = &v[n++];
			e->seq = sqlite3_column_int64(st, 0);
			e->at = sqlite3_column_int64(st, 1);
			col_text(e->kind, sizeof(e->kind), st, 2);
			col_text(e->msg, sizeof(e->msg), st, 3);
			col_text(e->detail, sizeof(e->detail), st, 4);
		}
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&db->mu);
	for (size_t i = 0; rc == ST_OK && i < n; i++)
		rc = fn(ctx, &v[i]);
	free(v);
	return rc;
}

/* ---- links and profiles ---- */

int hl_link_heard(struct hl_db *db, const char *peer, st_time at,
		  struct diag *d)
{
	sqlite3_stmt *st;
	pthread_mutex_lock(&db->mu);
	sync_mode(db, false);
	int rc = prep(db,
		      "INSERT OR REPLACE INTO links(peer, last_heard,"
		      " down_since) VALUES(?1, ?2, 0)",
		      &st, d);
	if (rc == ST_OK) {
		sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, at);
		rc = done(db, st, d);
	}
	sync_mode(db, true);
	pthread_mutex_unlock(&db->mu);
	return rc;
}

int hl_link_down(struct hl_db *db, const char *peer, st_time at, struct diag *d)
{
	sqlite3_stmt *st;
	pthread_mutex_lock(&db->mu);
	sync_mode(db, false);
	/* down since the first failure after it was last heard */
	int rc = prep(db,
		      "INSERT INTO links(peer, last_heard, down_since)"
		      " VALUES(?1, 0, ?2) ON CONFLICT(peer) DO UPDATE SET"
		      " down_since = ?2 WHERE down_since = 0",
		      &st, d);
	if (rc == ST_OK) {
		sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, at);
		rc = done(db, st, d);
	}
	sync_mode(db, true);
	pthread_mutex_unlock(&db->mu);
	return rc;
}

int hl_link_get(struct hl_db *db, const char *peer, struct hl_link *out)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->peer, sizeof(out->peer), "%s", peer);
	sqlite3_stmt *st;
	pthread_mutex_lock(&db->mu);
	int rc = prep(db,
		      "SELECT last_heard, down_since FROM links WHERE peer ="
		      " ?1",
		      &st, NULL);
	if (rc == ST_OK) {
		sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW) {
			out->last_heard = sqlite3_column_int64(st, 0);
			out->down_since = sqlite3_column_int64(st, 1);
		} else {
			rc = ST_ENOTFOUND;
		}
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&db->mu);
	return rc;
}

int hl_profile_put(struct hl_db *db, const char *peer, const char *json,
		   struct diag *d)
{
	sqlite3_stmt *st;
	pthread_mutex_lock(&db->mu);
	sync_mode(db, false);
	int rc = prep(db,
		      "INSERT OR REPLACE INTO profiles(peer, json, fetched)"
		      " VALUES(?1, ?2, ?3)",
		      &st, d);
	if (rc == ST_OK) {
		sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, json, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, time_now());
		rc = done(db, st, d);
	}
	sync_mode(db, true);
	pthread_mutex_unlock(&db->mu);
	return rc;
}

int hl_profile_get(struct hl_db *db, const char *peer, char **json,
		   st_time *fetched, struct diag *d)
{
	*json = NULL;
	sqlite3_stmt *st;
	pthread_mutex_lock(&db->mu);
	int rc = prep(db, "SELECT json, fetched FROM profiles WHERE peer = ?1",
		      &st, d);
	if (rc == ST_OK) {
		sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW) {
			const char *j =
			    (const char *)sqlite3_column_text(st, 0);
			*json = strdup(j != NULL ? j : "{}");
			if (fetched != NULL)
				*fetched = sqlite3_column_int64(st, 1);
			if (*json == NULL)
				rc = diag_set(d, ST_ENOMEM, "out of memory");
		} else {
			rc = ST_ENOTFOUND;
		}
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&db->mu);
	return rc;
}
