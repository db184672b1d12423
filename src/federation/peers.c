/* strait: the partner nodes of this node; see peers.h. */
#include "federation/peers.h"

#include "common/ip.h"
#include "common/secfile.h"
#include "common/sqlschema.h"
#include "common/time.h"

#include <limits.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define BOX_KEY crypto_secretbox_KEYBYTES
#define BOX_NONCE crypto_secretbox_NONCEBYTES
#define BOX_MAC crypto_secretbox_MACBYTES

struct peers {
	sqlite3 *db;
	char path[PATH_MAX];
	uint8_t *key; /* sodium_malloc'd: seals the tokens */
	/* The lookups every request from a partner makes (peers_get,
	 * peers_list), prepared once. */
	sqlite3_stmt *get, *list;
};

static const struct sql_migration migrations[] = {
    {1, "CREATE TABLE peers(name TEXT PRIMARY KEY,"
	" url TEXT NOT NULL,"
	" pubkey BLOB NOT NULL,"
	" token BLOB NOT NULL," /* nonce | secretbox of the token */
	" trust INTEGER NOT NULL,"
	" ca_file TEXT NOT NULL,"
	" pin1 TEXT NOT NULL,"
	" pin2 TEXT NOT NULL,"
	" client_cert TEXT NOT NULL,"
	" client_key TEXT NOT NULL,"
	" policy TEXT,"
	" created INTEGER NOT NULL) WITHOUT ROWID"},
};
#define NMIGRATIONS (sizeof(migrations) / sizeof(migrations[0]))

int peer_name_check(const char *name, struct diag *d)
{
	size_t n = name != NULL ? strlen(name) : 0;
	if (n == 0 || n >= PEER_NAME_MAX ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-") != n)
		return diag_set(d, ST_EINVAL,
				"peer name '%.40s': 1 to 32 of a-z, 0-9, _ "
				"and -",
				name != NULL ? name : "");
	return ST_OK;
}

/* Whether host (no brackets) names this machine's loopback. */
static bool loopback(const char *host)
{
	struct ip_prefix ip, lo4, lo6;
	if (strcasecmp(host, "localhost") == 0)
		return true;
	if (!ip_parse(host, strlen(host), &ip) ||
	    !ip_parse("127.0.0.0/8", 11, &lo4) || !ip_parse("::1", 3, &lo6))
		return false;
	return ip_contains(&lo4, &ip) || ip_contains(&lo6, &ip);
}

int peer_url_check(const char *url, struct diag *d)
{
	size_t n = url != NULL ? strlen(url) : 0;
	bool tls = n > 8 && strncmp(url, "https://", 8) == 0;
	bool plain = n > 7 && strncmp(url, "http://", 7) == 0;
	if (n >= PEER_URL_MAX || (!tls && !plain))
		return diag_set(d, ST_EINVAL,
				"--url: '%.80s' is not an http(s) URL (the "
				"partner's TAXII discovery URL)",
				url != NULL ? url : "");
	const char *h = url + (tls ? 8 : 7);
	size_t hl = strcspn(h, "/?#");
	char host[256];
	if (hl == 0 || hl >= sizeof(host) || memchr(h, '@', hl) != NULL)
		return diag_set(d, ST_EINVAL,
				"--url: no host, or user information in "
				"'%.80s'",
				url);
	memcpy(host, h, hl);
	host[hl] = '\0';
	/* Strip the port, and the brackets of an IPv6 address. */
	char *hp = host;
	if (hp[0] == '[') {
		char *e = strchr(hp, ']');
		if (e == NULL)
			return diag_set(d, ST_EINVAL, "--url: bad IPv6 host");
		*e = '\0';
		hp++;
	} else {
		char *c = strrchr(hp, ':');
		if (c != NULL)
			*c = '\0';
	}
	if (plain && !loopback(hp))
		return diag_set(d, ST_EINVAL,
				"--url: http:// is accepted for loopback "
				"addresses only; use https:// for '%s'",
				hp);
	return ST_OK;
}

static int load_key(struct peers *p, const char *home, struct diag *d)
{
	char dir[PATH_MAX], path[PATH_MAX + 16];
	size_t n = 0;
	int rc = secfile_dir(home, dir, sizeof(dir), d);
	if (rc != ST_OK)
		return rc;
	snprintf(path, sizeof(path), "%s/peers.key", dir);
	rc = secfile_read(path, p->key, BOX_KEY, &n, d);
	if (rc == ST_ENOTFOUND) {
		randombytes_buf(p->key, BOX_KEY);
		return secfile_write(dir, path, p->key, BOX_KEY, d);
	}
	if (rc == ST_OK && n != BOX_KEY)
		rc = diag_set(d, ST_ECONFIG, "%s: not a peer token key", path);
	return rc;
}

int peers_open(const char *home, struct peers **out, struct diag *d)
{
	*out = NULL;
	if (sodium_init() < 0)
		return diag_set(d, ST_EIO, "libsodium did not start");
	struct peers *p = calloc(1, sizeof(*p));
	if (p == NULL || (p->key = sodium_malloc(BOX_KEY)) == NULL) {
		free(p);
		return diag_set(d, ST_ENOMEM, "out of memory");
	}
	snprintf(p->path, sizeof(p->path), "%s/peers.db", home);
	int rc = load_key(p, home, d);
	if (rc == ST_OK) {
		struct stat st;
		bool create = stat(p->path, &st) != 0;
		if (sqlite3_open_v2(p->path, &p->db,
				    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
					SQLITE_OPEN_NOFOLLOW,
				    NULL) != SQLITE_OK)
			rc = sql_diag(p->db, d, p->path);
		else {
			chmod(p->path, 0600);
			sqlite3_busy_timeout(p->db, 10000);
			rc = sql_migrate(p->db, p->path, "peers database",
					 migrations, NMIGRATIONS,
					 migrations[NMIGRATIONS - 1].version,
					 create, NULL, NULL, d);
		}
	}
	if (rc != ST_OK) {
		peers_close(p);
		return rc;
	}
	*out = p;
	return ST_OK;
}

void peers_close(struct peers *p)
{
	if (p == NULL)
		return;
	sqlite3_finalize(p->get);
	sqlite3_finalize(p->list);
	sqlite3_close(p->db);
	sodium_free(p->key);
	free(p);
}

static int exec1(struct peers *p, const char *sql, sqlite3_stmt **st,
		 struct diag *d)
{
	if (sqlite3_prepare_v2(p->db, sql, -1, st, NULL) != SQLITE_OK)
		return sql_diag(p->db, d, "peers");
	return ST_OK;
}

int peers_add(struct peers *p, const struct peer *peer, const char *token,
	      const char *policy, struct diag *d)
{
	size_t tl = strlen(token);
	if (tl == 0 || tl > PEER_TOKEN_MAX)
		return diag_set(d, ST_EINVAL, "--token: 1 to %d bytes",
				PEER_TOKEN_MAX);
	uint8_t box[BOX_NONCE + BOX_MAC + PEER_TOKEN_MAX];
	randombytes_buf(box, BOX_NONCE);
	crypto_secretbox_easy(box + BOX_NONCE, (const uint8_t *)token, tl, box,
			      p->key);
	sqlite3_stmt *st = NULL;
	int rc = exec1(p,
		       "INSERT INTO peers(name, url, pubkey, token, trust,"
		       " ca_file, pin1, pin2, client_cert, client_key, policy,"
		       " created) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"
		       " ?10, ?11, ?12)",
		       &st, d);
	if (rc == ST_OK) {
		sqlite3_bind_text(st, 1, peer->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, peer->url, -1, SQLITE_STATIC);
		sqlite3_bind_blob(st, 3, peer->pk, NODEKEY_PUB_BYTES,
				  SQLITE_STATIC);
		sqlite3_bind_blob(st, 4, box, (int)(BOX_NONCE + BOX_MAC + tl),
				  SQLITE_STATIC);
		sqlite3_bind_int(st, 5, peer->trust);
		sqlite3_bind_text(st, 6, peer->ca_file, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 7, peer->pins[0], -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 8, peer->pins[1], -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 9, peer->client_cert, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 10, peer->client_key, -1, SQLITE_STATIC);
		if (policy != NULL)
			sqlite3_bind_text(st, 11, policy, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(st, 11);
		sqlite3_bind_int64(st, 12, time_now() / 1000000);
		int src = sqlite3_step(st);
		if (src == SQLITE_CONSTRAINT)
			rc = diag_set(d, ST_EEXIST,
				      "a peer named '%s' exists (remove it, "
				      "or change its policy with 'strait "
				      "peer policy')",
				      peer->name);
		else if (src != SQLITE_DONE)
			rc = sql_diag(p->db, d, "add peer");
	}
	sqlite3_finalize(st);
	sodium_memzero(box, sizeof(box));
	return rc;
}

int peers_remove(struct peers *p, const char *name, struct diag *d)
{
	sqlite3_stmt *st = NULL;
	int rc = exec1(p, "DELETE FROM peers WHERE name = ?1", &st, d);
	if (rc == ST_OK) {
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = sql_diag(p->db, d, "remove peer");
		else if (sqlite3_changes(p->db) == 0)
			rc = diag_set(d, ST_ENOTFOUND, "no peer named '%.40s'",
				      name);
	}
	sqlite3_finalize(st);
	return rc;
}

#define COLUMNS                                                       \
	"name, url, pubkey, trust, ca_file, pin1, pin2, client_cert," \
	" client_key, policy IS NOT NULL, created"

static void copy_text(char *dst, size_t cap, sqlite3_stmt *st, int col)
{
	const char *s = (const char *)sqlite3_column_text(st, col);
	snprintf(dst, cap, "%s", s != NULL ? s : "");
}

static void row(sqlite3_stmt *st, struct peer *out)
{
	memset(out, 0, sizeof(*out));
	copy_text(out->name, sizeof(out->name), st, 0);
	copy_text(out->url, sizeof(out->url), st, 1);
	if (sqlite3_column_bytes(st, 2) == NODEKEY_PUB_BYTES)
		memcpy(out->pk, sqlite3_column_blob(st, 2), NODEKEY_PUB_BYTES);
	nodekey_id(out->pk, out->key_id);
	out->trust =
	    sqlite3_column_int(st, 3) == PEER_FEED ? PEER_FEED : PEER_ATTESTED;
	copy_text(out->ca_file, sizeof(out->ca_file), st, 4);
	copy_text(out->pins[0], sizeof(out->pins[0]), st, 5);
	copy_text(out->pins[1], sizeof(out->pins[1]), st, 6);
	copy_text(out->client_cert, sizeof(out->client_cert), st, 7);
	copy_text(out->client_key, sizeof(out->client_key), st, 8);
	out->has_policy = sqlite3_column_int(st, 9) != 0;
	out->created = sqlite3_column_int64(st, 10);
}

/* *kept, prepared for sql on first use; reset after each. */
static int kept(struct peers *p, sqlite3_stmt **slot, const char *sql,
		sqlite3_stmt **st, struct diag *d)
{
	if (*slot == NULL &&
	    sqlite3_prepare_v3(p->db, sql, -1, SQLITE_PREPARE_PERSISTENT, slot,
			       NULL) != SQLITE_OK)
		return sql_diag(p->db, d, "peers");
	*st = *slot;
	return ST_OK;
}

static void kept_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

int peers_get(struct peers *p, const char *name, struct peer *out,
	      struct diag *d)
{
	sqlite3_stmt *st = NULL;
	int rc = kept(p, &p->get,
		      "SELECT " COLUMNS " FROM peers WHERE name = ?1", &st, d);
	if (rc == ST_OK) {
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		int src = sqlite3_step(st);
		if (src == SQLITE_ROW)
			row(st, out);
		else if (src == SQLITE_DONE)
			rc = diag_set(d, ST_ENOTFOUND, "no peer named '%.40s'",
				      name);
		else
			rc = sql_diag(p->db, d, "peer");
		kept_done(st);
	}
	return rc;
}

int peers_list(struct peers *p, peer_fn fn, void *ctx, struct diag *d)
{
	sqlite3_stmt *st = NULL;
	int rc = kept(p, &p->list,
		      "SELECT " COLUMNS " FROM peers ORDER BY name", &st, d);
	int src = SQLITE_DONE;
	while (rc == ST_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
		struct peer peer;
		row(st, &peer);
		rc = fn(ctx, &peer);
	}
	if (rc == ST_OK && src != SQLITE_DONE)
		rc = sql_diag(p->db, d, "peers");
	if (st != NULL)
		kept_done(st);
	return rc;
}

int peers_set_policy(struct peers *p, const char *name, const char *policy,
		     struct diag *d)
{
	sqlite3_stmt *st = NULL;
	int rc =
	    exec1(p, "UPDATE peers SET policy = ?2 WHERE name = ?1", &st, d);
	if (rc == ST_OK) {
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		if (policy != NULL)
			sqlite3_bind_text(st, 2, policy, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(st, 2);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = sql_diag(p->db, d, "peer policy");
		else if (sqlite3_changes(p->db) == 0)
			rc = diag_set(d, ST_ENOTFOUND, "no peer named '%.40s'",
				      name);
	}
	sqlite3_finalize(st);
	return rc;
}

int peers_policy(struct peers *p, const char *name, char **out, struct diag *d)
{
	*out = NULL;
	sqlite3_stmt *st = NULL;
	int rc = exec1(p, "SELECT policy FROM peers WHERE name = ?1", &st, d);
	if (rc == ST_OK) {
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		int src = sqlite3_step(st);
		if (src == SQLITE_ROW) {
			const char *s =
			    (const char *)sqlite3_column_text(st, 0);
			if (s != NULL && (*out = strdup(s)) == NULL)
				rc = diag_set(d, ST_ENOMEM, "out of memory");
		} else if (src == SQLITE_DONE) {
			rc = diag_set(d, ST_ENOTFOUND, "no peer named '%.40s'",
				      name);
		} else {
			rc = sql_diag(p->db, d, "peer policy");
		}
	}
	sqlite3_finalize(st);
	return rc;
}

int peers_token(struct peers *p, const char *name, char *out, size_t cap,
		struct diag *d)
{
	sqlite3_stmt *st = NULL;
	int rc = exec1(p, "SELECT token FROM peers WHERE name = ?1", &st, d);
	if (rc == ST_OK) {
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		int src = sqlite3_step(st);
		int n = src == SQLITE_ROW ? sqlite3_column_bytes(st, 0) : 0;
		const uint8_t *box =
		    src == SQLITE_ROW ? sqlite3_column_blob(st, 0) : NULL;
		if (src == SQLITE_DONE)
			rc = diag_set(d, ST_ENOTFOUND, "no peer named '%.40s'",
				      name);
		else if (src != SQLITE_ROW)
			rc = sql_diag(p->db, d, "peer token");
		else if (n <= (int)(BOX_NONCE + BOX_MAC) ||
			 (size_t)(n - BOX_NONCE - BOX_MAC) >= cap ||
			 crypto_secretbox_open_easy(
			     (uint8_t *)out, box + BOX_NONCE,
			     (unsigned long long)(n - BOX_NONCE), box,
			     p->key) != 0)
			rc = diag_set(d, ST_EAUTH,
				      "peer '%s': the token we hold does not "
				      "open (another node's keys/peers.key?)",
				      name);
		else
			out[n - BOX_NONCE - BOX_MAC] = '\0';
	}
	sqlite3_finalize(st);
	return rc;
}
