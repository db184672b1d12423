/*
 * strait: auth.db. Opening, the schema and its migrations, and the writes
 * (the CLI's): each is one BEGIN IMMEDIATE transaction, after which this
 * handle reloads its snapshot; other handles notice through
 * PRAGMA data_version (snap.c).
 */
#include "auth/auth_int.h"

#include "common/sqlschema.h"

#include "common/log.h"
#include "common/time.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BUSY_TIMEOUT_MS 10000
#define REFRESH_MS_DEFAULT 500

/*
 * Schema migrations, applied in order in one transaction at open; each
 * applied version is a row of schema_version. A change is a new row here,
 * never an edit of an old row.
 *
 * accounts: id is AUTOINCREMENT so that an id is never reused (TLP:RED
 *   recipient lists and audit records name accounts by id). role is the
 *   role's name, so reordering enum role cannot change anyone's role.
 *   password is an Argon2id string (crypto_pwhash_str) or NULL. serial is
 *   bumped by every change of the row; cached Basic successes are keyed on
 *   it, so any change (disable, password, binding) voids them.
 * tokens: only the keyed BLAKE2b-256 of each token (meta auth.token_key).
 *   Revoking deletes the row.
 * grants: access is enum auth_access (1 read, 3 read+write).
 */
static const struct sql_migration migrations[] = {
    {1, "CREATE TABLE meta(key TEXT PRIMARY KEY, value BLOB NOT NULL)"
	" WITHOUT ROWID;"
	"CREATE TABLE accounts(id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" name TEXT NOT NULL UNIQUE,"
	" role TEXT NOT NULL,"
	" org TEXT NOT NULL,"
	" disabled INTEGER NOT NULL DEFAULT 0,"
	" created INTEGER NOT NULL,"
	" password TEXT,"
	" serial INTEGER NOT NULL DEFAULT 1,"
	" cert_fp TEXT);"
	"CREATE TABLE tokens(id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" account INTEGER NOT NULL,"
	" hash BLOB NOT NULL UNIQUE,"
	" created INTEGER NOT NULL);"
	"CREATE INDEX tokens_account ON tokens(account);"
	"CREATE TABLE grants(account INTEGER NOT NULL,"
	" collection TEXT NOT NULL,"
	" access INTEGER NOT NULL,"
	" PRIMARY KEY(account, collection)) WITHOUT ROWID;"},
};

#define NMIGRATIONS (sizeof(migrations) / sizeof(migrations[0]))

int auth_db_diag(sqlite3 *db, struct diag *d, const char *what)
{
	int rc = sql_diag(db, d, what);
	diag_prefix(d, "auth");
	return rc;
}

static int exec(sqlite3 *db, const char *sql, struct diag *d)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return auth_db_diag(db, d, "exec");
	return ST_OK;
}

static int prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st,
		   struct diag *d)
{
	if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK)
		return auth_db_diag(db, d, "prepare");
	return ST_OK;
}

void auth_token_hash(const struct auth *a, const char *token, size_t len,
		     uint8_t out[AUTH_HASH_BYTES])
{
	crypto_generichash(out, AUTH_HASH_BYTES, (const unsigned char *)token,
			   len, a->token_key, sizeof(a->token_key));
}

bool auth_fp_normalise(const char *in, char out[AUTH_FP_HEX + 1])
{
	size_t n = 0;
	if (in == NULL)
		return false;
	for (const char *p = in; *p; p++) {
		char ch = *p;
		if (ch == ':')
			continue;
		if (ch >= 'A' && ch <= 'F')
			ch = (char)(ch - 'A' + 'a');
		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
			return false;
		if (n == AUTH_FP_HEX)
			return false;
		out[n++] = ch;
	}
	out[n] = '\0';
	return n == AUTH_FP_HEX;
}

bool auth_name_valid(const char *name)
{
	size_t n = 0;
	if (name == NULL)
		return false;
	for (const char *p = name; *p; p++, n++) {
		char ch = *p;
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		      ch == '.' || ch == '_' || ch == '-'))
			return false;
	}
	return n >= 1 && n <= AUTH_NAME_MAX;
}

static int check_name(const char *name, struct diag *d)
{
	if (!auth_name_valid(name))
		return diag_set(d, ST_EINVAL,
				"account names are 1 to %d of a-z 0-9 . _ -",
				AUTH_NAME_MAX);
	return ST_OK;
}

static int check_org(const char *org, struct diag *d)
{
	size_t n = org != NULL ? strlen(org) : 0;
	if (n == 0 || n > AUTH_ORG_MAX)
		return diag_set(d, ST_EINVAL,
				"an organisation is 1 to %d bytes",
				AUTH_ORG_MAX);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)org[i] < 0x20 || org[i] == 0x7f)
			return diag_set(d, ST_EINVAL,
					"the organisation holds a control "
					"character");
	return ST_OK;
}

/* Argon2id string of password into out (crypto_pwhash_STRBYTES). */
static int hash_password(const char *password, char *out, struct diag *d)
{
	size_t n = strlen(password);
	if (n < AUTH_PASSWORD_MIN || n > AUTH_PASSWORD_MAX)
		return diag_set(d, ST_EINVAL, "a password is %d to %d bytes",
				AUTH_PASSWORD_MIN, AUTH_PASSWORD_MAX);
	if (crypto_pwhash_str(out, password, n,
			      crypto_pwhash_OPSLIMIT_INTERACTIVE,
			      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
		return diag_set(d, ST_ENOMEM, "password hashing: no memory");
	return ST_OK;
}

/* A new token into out and its hash into h. */
static void make_token(const struct auth *a, char out[AUTH_TOKEN_MAX],
		       uint8_t h[AUTH_HASH_BYTES])
{
	unsigned char raw[32];
	size_t plen = sizeof(AUTH_TOKEN_PREFIX) - 1;
	randombytes_buf(raw, sizeof(raw));
	memcpy(out, AUTH_TOKEN_PREFIX, plen);
	sodium_bin2base64(out + plen, AUTH_TOKEN_MAX - plen, raw, sizeof(raw),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
	auth_token_hash(a, out, strlen(out), h);
}

/* A new database's meta: its token key (inside the migration's
 * transaction). */
static int new_auth_meta(sqlite3 *db, void *ctx, struct diag *d)
{
	(void)ctx;
	sqlite3_stmt *st = NULL;
	uint8_t key[AUTH_KEY_BYTES];
	randombytes_buf(key, sizeof(key));
	int rc = prepare(db,
			 "INSERT INTO meta(key, value) VALUES"
			 " ('auth.token_key', ?1), ('auth.created', ?2)",
			 &st, d);
	if (rc == ST_OK) {
		sqlite3_bind_blob(st, 1, key, sizeof(key), SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 2, time_now());
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = auth_db_diag(db, d, "meta");
	}
	sqlite3_finalize(st);
	sodium_memzero(key, sizeof(key));
	return rc;
}

/* Brings the schema to the latest migration; makes a new database's meta
 * (the token key). */
static int migrate(struct auth *a, bool create, struct diag *d)
{
	return sql_migrate(a->db, a->path, "accounts database", migrations,
			   NMIGRATIONS, migrations[NMIGRATIONS - 1].version,
			   create, new_auth_meta, NULL, d);
}

static int load_key(struct auth *a, struct diag *d)
{
	sqlite3_stmt *st = NULL;
	int rc = prepare(a->db,
			 "SELECT value FROM meta WHERE key = 'auth.token_key'",
			 &st, d);
	if (rc != ST_OK)
		return rc;
	if (sqlite3_step(st) != SQLITE_ROW ||
	    sqlite3_column_bytes(st, 0) != AUTH_KEY_BYTES)
		rc = diag_set(d, ST_ESTORE, "%s: no token key", a->path);
	else
		memcpy(a->token_key, sqlite3_column_blob(st, 0),
		       AUTH_KEY_BYTES);
	sqlite3_finalize(st);
	return rc;
}

static int conn_setup(struct auth *a, struct diag *d)
{
	sqlite3_stmt *st = NULL;
	int rc;
	sqlite3_busy_timeout(a->db, BUSY_TIMEOUT_MS);
	rc = prepare(a->db, "PRAGMA journal_mode = WAL", &st, d);
	if (rc != ST_OK)
		return rc;
	if (sqlite3_step(st) != SQLITE_ROW ||
	    strcmp((const char *)sqlite3_column_text(st, 0), "wal") != 0)
		rc = diag_set(d, ST_ESTORE, "%s: cannot use WAL mode", a->path);
	sqlite3_finalize(st);
	if (rc != ST_OK)
		return rc;
	/* A revoked token must stay revoked after a crash. */
	return exec(a->db,
		    "PRAGMA synchronous = FULL; PRAGMA foreign_keys = OFF;"
		    " PRAGMA secure_delete = ON",
		    d);
}

/* Creates path with mode 0600 if it does not exist (SQLite gives its -wal
 * and -shm files the database file's mode). */
static int create_private(const char *path, struct diag *d)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		if (errno == EEXIST)
			return ST_OK;
		return diag_set(d, ST_EIO, "%s: %s", path, strerror(errno));
	}
	close(fd);
	return ST_OK;
}

static double real_clock(void *ctx)
{
	(void)ctx;
	return time_mono();
}

struct auth *auth_open(const char *path, bool create, int *err, struct diag *d)
{
	struct auth *a = NULL;
	struct stat sb;
	int rc = ST_OK;
	if (sodium_init() < 0) {
		rc = diag_set(d, ST_ENOMEM, "auth: libsodium failed to start");
		goto out;
	}
	if (path == NULL || path[0] == '\0') {
		rc = diag_set(d, ST_EINVAL, "auth: empty path");
		goto out;
	}
	if (stat(path, &sb) != 0) {
		if (!create) {
			rc = diag_set(d, ST_ENOTFOUND, "no accounts yet");
			goto out;
		}
		if ((rc = create_private(path, d)) != ST_OK)
			goto out;
	}
	a = calloc(1, sizeof(*a));
	if (a == NULL || (a->path = strdup(path)) == NULL) {
		rc = diag_set(d, ST_ENOMEM, "auth: no memory");
		goto out;
	}
	pthread_mutex_init(&a->db_mu, NULL);
	pthread_rwlock_init(&a->snap_lock, NULL);
	pthread_mutex_init(&a->basic_mu, NULL);
	pthread_mutex_init(&a->argon_mu, NULL);
	pthread_cond_init(&a->argon_cv, NULL);
	atomic_init(&a->refresh_ms, REFRESH_MS_DEFAULT);
	atomic_init(&a->last_check_ms, 0);
	atomic_init(&a->st_verifies, 0);
	atomic_init(&a->st_hits, 0);
	atomic_init(&a->st_reloads, 0);
	a->clock = real_clock;
	randombytes_buf(a->basic_key, sizeof(a->basic_key));
	if (sqlite3_open_v2(path, &a->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
				SQLITE_OPEN_EXRESCODE,
			    NULL) != SQLITE_OK) {
		rc = a->db != NULL
			 ? auth_db_diag(a->db, d, path)
			 : diag_set(d, ST_ENOMEM, "sqlite: no memory");
		goto out;
	}
	rc = conn_setup(a, d);
	if (rc == ST_OK)
		rc = migrate(a, create, d);
	if (rc == ST_OK)
		rc = load_key(a, d);
	if (rc == ST_OK) {
		pthread_mutex_lock(&a->db_mu);
		a->data_version = -1;
		rc = snap_load(a, d);
		pthread_mutex_unlock(&a->db_mu);
	}
out:
	if (rc != ST_OK) {
		auth_close(a);
		a = NULL;
	}
	if (err != NULL)
		*err = rc;
	return a;
}

void auth_close(struct auth *a)
{
	if (a == NULL)
		return;
	if (a->db != NULL)
		sqlite3_close(a->db);
	snap_put(a->snap);
	pthread_mutex_destroy(&a->db_mu);
	pthread_rwlock_destroy(&a->snap_lock);
	pthread_mutex_destroy(&a->basic_mu);
	pthread_mutex_destroy(&a->argon_mu);
	pthread_cond_destroy(&a->argon_cv);
	free(a->path);
	sodium_memzero(a, sizeof(*a));
	free(a);
}

void auth_set_refresh_interval(struct auth *a, unsigned ms)
{
	atomic_store(&a->refresh_ms, ms);
}

void auth_set_clock(struct auth *a, double (*fn)(void *ctx), void *ctx)
{
	pthread_mutex_lock(&a->basic_mu);
	a->clock = fn != NULL ? fn : real_clock;
	a->clock_ctx = ctx;
	pthread_mutex_unlock(&a->basic_mu);
}

/* ------------------------------------------------------------------ */
/* Writes                                                               */
/* ------------------------------------------------------------------ */

/* Starts a write: takes db_mu and opens BEGIN IMMEDIATE. */
static int tx_begin(struct auth *a, struct diag *d)
{
	pthread_mutex_lock(&a->db_mu);
	int rc = exec(a->db, "BEGIN IMMEDIATE", d);
	if (rc != ST_OK)
		pthread_mutex_unlock(&a->db_mu);
	return rc;
}

/* Ends a write begun by tx_begin: commits when rc is ST_OK (and reloads
 * the snapshot), else rolls back; releases db_mu. Returns the result. */
static int tx_end(struct auth *a, int rc, struct diag *d)
{
	if (rc == ST_OK)
		rc = exec(a->db, "COMMIT", d);
	if (rc != ST_OK && !sqlite3_get_autocommit(a->db))
		sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
	if (rc == ST_OK) {
		/* Our own commits do not move data_version: reload now. A
		 * failure here leaves the old snapshot until the next one. */
		struct diag d2;
		if (snap_load(a, &d2) != ST_OK)
			log_warn("auth", "reload after write: %s", d2.msg);
	}
	pthread_mutex_unlock(&a->db_mu);
	return rc;
}

/* Runs one statement with text/int arguments described by fmt ('t' text,
 * 'i' int64, 'b' hash blob, 'n' NULL) and expects no row. *changes gets
 * sqlite3_changes(). */
static int run(struct auth *a, const char *sql, const char *fmt, int *changes,
	       struct diag *d, ...)
{
	sqlite3_stmt *st = NULL;
	va_list ap;
	int rc = prepare(a->db, sql, &st, d);
	if (rc != ST_OK)
		return rc;
	va_start(ap, d);
	for (int i = 0; fmt[i]; i++) {
		switch (fmt[i]) {
		case 't':
			sqlite3_bind_text(st, i + 1, va_arg(ap, const char *),
					  -1, SQLITE_STATIC);
			break;
		case 'i':
			sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
			break;
		case 'b':
			sqlite3_bind_blob(st, i + 1,
					  va_arg(ap, const uint8_t *),
					  AUTH_HASH_BYTES, SQLITE_STATIC);
			break;
		default:
			sqlite3_bind_null(st, i + 1);
			break;
		}
	}
	va_end(ap);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = auth_db_diag(a->db, d, "write");
	if (changes != NULL)
		*changes = sqlite3_changes(a->db);
	sqlite3_finalize(st);
	return rc;
}

/* The id (and role) of the account named name; ST_ENOTFOUND. */
static int find_account(struct auth *a, const char *name, int64_t *id,
			enum role *role, struct diag *d)
{
	sqlite3_stmt *st = NULL;
	int rc = prepare(a->db, "SELECT id, role FROM accounts WHERE name = ?1",
			 &st, d);
	if (rc != ST_OK)
		return rc;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	int src = sqlite3_step(st);
	if (src == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		if (role != NULL &&
		    role_parse((const char *)sqlite3_column_text(st, 1),
			       role) != ST_OK)
			rc = diag_set(d, ST_ESTORE, "account '%s': bad role",
				      name);
	} else if (src == SQLITE_DONE) {
		rc = diag_set(d, ST_ENOTFOUND, "no such user '%s'", name);
	} else {
		rc = auth_db_diag(a->db, d, "account");
	}
	sqlite3_finalize(st);
	return rc;
}

static int insert_token(struct auth *a, int64_t id, char out[AUTH_TOKEN_MAX],
			struct diag *d)
{
	uint8_t h[AUTH_HASH_BYTES];
	make_token(a, out, h);
	int rc = run(a,
		     "INSERT INTO tokens(account, hash, created)"
		     " VALUES(?1, ?2, ?3)",
		     "ibi", NULL, d, id, h, (int64_t)time_now());
	if (rc != ST_OK)
		sodium_memzero(out, AUTH_TOKEN_MAX);
	return rc;
}

int auth_user_add(struct auth *a, const char *name, enum role role,
		  const char *org, const char *password,
		  char token_out[AUTH_TOKEN_MAX], int64_t *id_out,
		  struct diag *d)
{
	char pwhash[crypto_pwhash_STRBYTES];
	int rc;
	bool tx = false;
	pwhash[0] = '\0';
	if ((rc = check_name(name, d)) != ST_OK ||
	    (rc = check_org(org, d)) != ST_OK)
		goto out;
	if (role_name(role) == NULL) {
		rc = diag_set(d, ST_EINVAL, "unknown role");
		goto out;
	}
	/* Argon2id before the write lock: it takes tens of ms. */
	if (password != NULL && (rc = hash_password(password, pwhash, d)))
		goto out;
	if ((rc = tx_begin(a, d)) != ST_OK)
		goto out;
	tx = true;
	rc = run(a,
		 "INSERT INTO accounts(name, role, org, created, password)"
		 " VALUES(?1, ?2, ?3, ?4, ?5)",
		 password != NULL ? "tttit" : "tttin", NULL, d, name,
		 role_name(role), org, (int64_t)time_now(), pwhash);
	if (rc == ST_EEXIST)
		rc = diag_set(d, ST_EEXIST, "user '%s' already exists", name);
	if (rc != ST_OK)
		goto out;
	int64_t id = sqlite3_last_insert_rowid(a->db);
	rc = insert_token(a, id, token_out, d);
	if (rc == ST_OK && id_out != NULL)
		*id_out = id;
out:
	if (tx)
		rc = tx_end(a, rc, d);
	if (rc != ST_OK)
		sodium_memzero(token_out, AUTH_TOKEN_MAX);
	sodium_memzero(pwhash, sizeof(pwhash));
	return rc;
}

/* One UPDATE of the named account's row (the SQL bumps serial). kind says
 * what ?1 is: 't' text, 'i' num, 0 nothing (then name is ?1, else ?2). */
static int update_account(struct auth *a, const char *name, const char *sql,
			  char kind, const char *text, int64_t num,
			  struct diag *d)
{
	int changes = 0;
	int rc = check_name(name, d);
	if (rc != ST_OK)
		return rc;
	if ((rc = tx_begin(a, d)) != ST_OK)
		return rc;
	if (kind == 't')
		rc = run(a, sql, "tt", &changes, d, text, name);
	else if (kind == 'i')
		rc = run(a, sql, "it", &changes, d, num, name);
	else
		rc = run(a, sql, "t", &changes, d, name);
	if (rc == ST_OK && changes == 0)
		rc = diag_set(d, ST_ENOTFOUND, "no such user '%s'", name);
	return tx_end(a, rc, d);
}

int auth_user_set_disabled(struct auth *a, const char *name, bool disabled,
			   struct diag *d)
{
	return update_account(a, name,
			      "UPDATE accounts SET disabled = ?1,"
			      " serial = serial + 1 WHERE name = ?2",
			      'i', NULL, disabled ? 1 : 0, d);
}

int auth_user_set_password(struct auth *a, const char *name,
			   const char *password, struct diag *d)
{
	char pwhash[crypto_pwhash_STRBYTES];
	int rc = check_name(name, d);
	if (rc != ST_OK)
		return rc;
	if (password == NULL)
		return update_account(a, name,
				      "UPDATE accounts SET password = NULL,"
				      " serial = serial + 1 WHERE name = ?1",
				      0, NULL, 0, d);
	if ((rc = hash_password(password, pwhash, d)) != ST_OK)
		return rc;
	rc = update_account(a, name,
			    "UPDATE accounts SET password = ?1,"
			    " serial = serial + 1 WHERE name = ?2",
			    't', pwhash, 0, d);
	sodium_memzero(pwhash, sizeof(pwhash));
	return rc;
}

int auth_user_bind_cert(struct auth *a, const char *name, const char *fp,
			struct diag *d)
{
	char norm[AUTH_FP_HEX + 1];
	if (fp == NULL)
		return update_account(a, name,
				      "UPDATE accounts SET cert_fp = NULL,"
				      " serial = serial + 1 WHERE name = ?1",
				      0, NULL, 0, d);
	if (!auth_fp_normalise(fp, norm))
		return diag_set(d, ST_EINVAL,
				"a certificate fingerprint is the SHA-256 "
				"of the certificate: 64 hex digits");
	return update_account(a, name,
			      "UPDATE accounts SET cert_fp = ?1,"
			      " serial = serial + 1 WHERE name = ?2",
			      't', norm, 0, d);
}

int auth_user_remove(struct auth *a, const char *name, struct diag *d)
{
	int64_t id = 0;
	int rc = check_name(name, d);
	if (rc != ST_OK)
		return rc;
	if ((rc = tx_begin(a, d)) != ST_OK)
		return rc;
	rc = find_account(a, name, &id, NULL, d);
	if (rc == ST_OK)
		rc = run(a, "DELETE FROM tokens WHERE account = ?1", "i", NULL,
			 d, id);
	if (rc == ST_OK)
		rc = run(a, "DELETE FROM grants WHERE account = ?1", "i", NULL,
			 d, id);
	if (rc == ST_OK)
		rc = run(a, "DELETE FROM accounts WHERE id = ?1", "i", NULL, d,
			 id);
	return tx_end(a, rc, d);
}

int auth_user_rotate_token(struct auth *a, const char *name,
			   char token_out[AUTH_TOKEN_MAX], struct diag *d)
{
	int64_t id = 0;
	int rc = check_name(name, d);
	if (rc != ST_OK)
		goto out;
	if ((rc = tx_begin(a, d)) != ST_OK)
		goto out;
	rc = find_account(a, name, &id, NULL, d);
	if (rc == ST_OK)
		rc = run(a, "DELETE FROM tokens WHERE account = ?1", "i", NULL,
			 d, id);
	if (rc == ST_OK)
		rc = insert_token(a, id, token_out, d);
	rc = tx_end(a, rc, d);
out:
	if (rc != ST_OK)
		sodium_memzero(token_out, AUTH_TOKEN_MAX);
	return rc;
}

static bool valid_collection_id(const char *cid)
{
	size_t n = 0;
	for (const char *p = cid; *p; p++, n++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return false;
	return n >= 1 && n <= AUTH_COLLECTION_ID_MAX;
}

int auth_grant_set(struct auth *a, const char *name, const char *collection_id,
		   enum auth_access access, struct diag *d)
{
	int64_t id = 0;
	enum role role = ROLE_READER;
	int rc = check_name(name, d);
	if (rc != ST_OK)
		return rc;
	if (collection_id == NULL || !valid_collection_id(collection_id))
		return diag_set(d, ST_EINVAL, "bad collection id");
	if (access != AUTH_ACCESS_NONE && access != AUTH_ACCESS_READ &&
	    access != AUTH_ACCESS_RW)
		return diag_set(d, ST_EINVAL,
				"a grant is none, read or write (read+write)");
	if ((rc = tx_begin(a, d)) != ST_OK)
		return rc;
	rc = find_account(a, name, &id, &role, d);
	if (rc != ST_OK)
		goto out;
	if (access != AUTH_ACCESS_NONE && role == ROLE_ADMIN) {
		rc = diag_set(d, ST_EINVAL,
			      "'%s' is an admin: admins read and write every "
			      "collection without grants",
			      name);
		goto out;
	}
	if (access != AUTH_ACCESS_NONE && role == ROLE_METRICS) {
		rc = diag_set(d, ST_EINVAL,
			      "'%s' is a metrics account: it reads metrics, "
			      "never a collection",
			      name);
		goto out;
	}
	if ((access & AUTH_ACCESS_WRITE) && role == ROLE_AUDITOR) {
		rc = diag_set(d, ST_EINVAL,
			      "'%s' is an auditor: auditors never write", name);
		goto out;
	}
	if ((access & AUTH_ACCESS_WRITE) && role == ROLE_LIAISON) {
		rc = diag_set(d, ST_EINVAL,
			      "'%s' is a liaison officer: it reads what its "
			      "partner is given and writes to joint incidents, "
			      "never to a collection",
			      name);
		goto out;
	}
	if (access == AUTH_ACCESS_NONE)
		rc = run(a,
			 "DELETE FROM grants WHERE account = ?1"
			 " AND collection = ?2",
			 "it", NULL, d, id, collection_id);
	else
		rc = run(a,
			 "INSERT OR REPLACE INTO grants(account, collection,"
			 " access) VALUES(?1, ?2, ?3)",
			 "iti", NULL, d, id, collection_id, (int64_t)access);
out:
	return tx_end(a, rc, d);
}
