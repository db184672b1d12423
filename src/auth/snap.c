/*
 * strait: the in-memory snapshot of auth.db and everything the request
 * path asks of it (tokens, Basic, grants, certificate bindings). Readers
 * never touch SQLite: they take a reference to the current snapshot. The
 * first lookup after the refresh interval checks PRAGMA data_version (a
 * few microseconds) and, when another connection committed, loads a new
 * snapshot and swaps it in.
 */
#include "auth/auth_int.h"

#include "common/log.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------------ */
/* Loading                                                              */
/* ------------------------------------------------------------------ */

static void snap_free(struct snap *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n_acct; i++) {
		char *h = s->acct[i].pwhash;
		if (h != NULL) {
			sodium_memzero(h, strlen(h));
			free(h);
		}
	}
	if (s->tok != NULL)
		sodium_memzero(s->tok, s->tok_cap * sizeof(*s->tok));
	free(s->acct);
	free(s->by_name);
	free(s->grants);
	free(s->tok_ids);
	free(s->tok);
	free(s);
}

void snap_put(struct snap *s)
{
	if (s != NULL && atomic_fetch_sub(&s->refs, 1) == 1)
		snap_free(s);
}

struct snap *snap_get(struct auth *a)
{
	pthread_rwlock_rdlock(&a->snap_lock);
	struct snap *s = a->snap;
	atomic_fetch_add(&s->refs, 1);
	pthread_rwlock_unlock(&a->snap_lock);
	return s;
}

static int cmp_name(const void *x, const void *y)
{
	const struct snap_account *const *p = x, *const *q = y;
	return strcmp((*p)->pub.name, (*q)->pub.name);
}

static size_t count_rows(struct auth *a, const char *table, struct diag *d,
			 int *rc)
{
	char sql[64];
	sqlite3_stmt *st = NULL;
	size_t n = 0;
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	if (sqlite3_prepare_v2(a->db, sql, -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW)
		*rc = auth_db_diag(a->db, d, table);
	else
		n = (size_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static int load_accounts(struct auth *a, struct snap *s, struct diag *d)
{
	sqlite3_stmt *st = NULL;
	int rc = ST_OK;
	if (sqlite3_prepare_v2(a->db,
			       "SELECT id, name, role, org, disabled, created,"
			       " password, serial, cert_fp FROM accounts"
			       " ORDER BY id",
			       -1, &st, NULL) != SQLITE_OK)
		return auth_db_diag(a->db, d, "accounts");
	size_t cap = s->n_acct;
	s->n_acct = 0;
	int src;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		if (s->n_acct == cap) {
			rc = diag_set(d, ST_ESTORE, "accounts changed");
			goto out;
		}
		struct snap_account *x = &s->acct[s->n_acct];
		struct auth_account *p = &x->pub;
		const char *role = (const char *)sqlite3_column_text(st, 2);
		const char *pw = (const char *)sqlite3_column_text(st, 6);
		const char *fp = (const char *)sqlite3_column_text(st, 8);
		memset(x, 0, sizeof(*x));
		p->id = sqlite3_column_int64(st, 0);
		snprintf(p->name, sizeof(p->name), "%s",
			 (const char *)sqlite3_column_text(st, 1));
		snprintf(p->org, sizeof(p->org), "%s",
			 (const char *)sqlite3_column_text(st, 3));
		p->disabled = sqlite3_column_int(st, 4) != 0;
		p->created = sqlite3_column_int64(st, 5);
		x->serial = sqlite3_column_int64(st, 7);
		if (role == NULL || role_parse(role, &p->role) != ST_OK) {
			/* Written by a newer program: never let it in. */
			log_warn("auth", "account %lld: unknown role; ignored",
				 (long long)p->id);
			continue;
		}
		if (fp != NULL && !auth_fp_normalise(fp, p->cert_fp)) {
			log_warn("auth",
				 "account %lld: bad certificate "
				 "binding; disabled",
				 (long long)p->id);
			p->disabled = true;
		}
		if (pw != NULL) {
			x->pwhash = strdup(pw);
			if (x->pwhash == NULL) {
				rc = diag_set(d, ST_ENOMEM, "auth: no memory");
				goto out;
			}
			p->has_password = true;
		}
		s->n_acct++;
	}
	if (src != SQLITE_DONE)
		rc = auth_db_diag(a->db, d, "accounts");
out:
	sqlite3_finalize(st);
	return rc;
}

static struct snap_account *find_id(struct snap *s, int64_t id)
{
	size_t lo = 0, hi = s->n_acct;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->acct[mid].pub.id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->n_acct && s->acct[lo].pub.id == id ? &s->acct[lo] : NULL;
}

static int load_grants(struct auth *a, struct snap *s, struct diag *d)
{
	sqlite3_stmt *st = NULL;
	int rc = ST_OK;
	if (sqlite3_prepare_v2(a->db,
			       "SELECT account, collection, access FROM grants"
			       " ORDER BY account, collection",
			       -1, &st, NULL) != SQLITE_OK)
		return auth_db_diag(a->db, d, "grants");
	size_t cap = s->n_grants;
	s->n_grants = 0;
	int src;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		struct snap_account *x =
		    find_id(s, sqlite3_column_int64(st, 0));
		const char *cid = (const char *)sqlite3_column_text(st, 1);
		int acc = sqlite3_column_int(st, 2);
		if (x == NULL || cid == NULL ||
		    strlen(cid) > AUTH_COLLECTION_ID_MAX ||
		    (acc & ~AUTH_ACCESS_RW) != 0)
			continue;
		if (s->n_grants == cap) {
			rc = diag_set(d, ST_ESTORE, "grants changed");
			goto out;
		}
		struct snap_grant *g = &s->grants[s->n_grants++];
		snprintf(g->cid, sizeof(g->cid), "%s", cid);
		g->access = (uint8_t)acc;
		if (x->grants == NULL)
			x->grants = g;
		x->pub.n_grants++;
	}
	if (src != SQLITE_DONE)
		rc = auth_db_diag(a->db, d, "grants");
out:
	sqlite3_finalize(st);
	return rc;
}

static uint64_t hash_index(const uint8_t h[AUTH_HASH_BYTES])
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | h[i];
	return v;
}

static int load_tokens(struct auth *a, struct snap *s, struct diag *d)
{
	sqlite3_stmt *st = NULL;
	int rc = ST_OK;
	if (sqlite3_prepare_v2(a->db,
			       "SELECT id, account, hash FROM tokens"
			       " ORDER BY account, id",
			       -1, &st, NULL) != SQLITE_OK)
		return auth_db_diag(a->db, d, "tokens");
	size_t cap = s->n_tok;
	s->n_tok = 0;
	int src;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		struct snap_account *x =
		    find_id(s, sqlite3_column_int64(st, 1));
		if (x == NULL || sqlite3_column_bytes(st, 2) != AUTH_HASH_BYTES)
			continue;
		if (s->n_tok == cap) {
			rc = diag_set(d, ST_ESTORE, "tokens changed");
			goto out;
		}
		int64_t id = sqlite3_column_int64(st, 0);
		s->tok_ids[s->n_tok++] = id;
		if (x->tok_ids == NULL)
			x->tok_ids = &s->tok_ids[s->n_tok - 1];
		x->pub.n_tokens++;
		const uint8_t *h = sqlite3_column_blob(st, 2);
		size_t i = hash_index(h) & (s->tok_cap - 1);
		while (s->tok[i].acct >= 0)
			i = (i + 1) & (s->tok_cap - 1);
		memcpy(s->tok[i].hash, h, AUTH_HASH_BYTES);
		s->tok[i].id = id;
		s->tok[i].acct = (int32_t)(x - s->acct);
	}
	if (src != SQLITE_DONE)
		rc = auth_db_diag(a->db, d, "tokens");
out:
	sqlite3_finalize(st);
	return rc;
}

/* Reads data_version; ST_OK. */
static int data_version(struct auth *a, int64_t *out, struct diag *d)
{
	sqlite3_stmt *st = NULL;
	int rc = ST_OK;
	if (sqlite3_prepare_v2(a->db, "PRAGMA data_version", -1, &st, NULL) !=
		SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW)
		rc = auth_db_diag(a->db, d, "data_version");
	else
		*out = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc;
}

int snap_load(struct auth *a, struct diag *d)
{
	struct snap *s = NULL;
	int64_t dv = 0;
	bool tx = false;
	/* data_version is read before the transaction: a commit in between
	 * only causes one more reload later, never a missed one. */
	int rc = data_version(a, &dv, d);
	if (rc != ST_OK)
		goto out;
	if (sqlite3_exec(a->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		rc = auth_db_diag(a->db, d, "begin");
		goto out;
	}
	tx = true;
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		rc = diag_set(d, ST_ENOMEM, "auth: no memory");
		goto out;
	}
	atomic_init(&s->refs, 1);
	s->n_acct = count_rows(a, "accounts", d, &rc);
	s->n_grants = count_rows(a, "grants", d, &rc);
	s->n_tok = count_rows(a, "tokens", d, &rc);
	if (rc != ST_OK)
		goto out;
	s->tok_cap = 16;
	while (s->tok_cap < 2 * s->n_tok)
		s->tok_cap *= 2;
	s->acct = calloc(s->n_acct + 1, sizeof(*s->acct));
	s->by_name = calloc(s->n_acct + 1, sizeof(*s->by_name));
	s->grants = calloc(s->n_grants + 1, sizeof(*s->grants));
	s->tok_ids = calloc(s->n_tok + 1, sizeof(*s->tok_ids));
	s->tok = calloc(s->tok_cap, sizeof(*s->tok));
	if (!s->acct || !s->by_name || !s->grants || !s->tok_ids || !s->tok) {
		rc = diag_set(d, ST_ENOMEM, "auth: no memory");
		goto out;
	}
	for (size_t i = 0; i < s->tok_cap; i++)
		s->tok[i].acct = -1;
	if ((rc = load_accounts(a, s, d)) != ST_OK ||
	    (rc = load_grants(a, s, d)) != ST_OK ||
	    (rc = load_tokens(a, s, d)) != ST_OK)
		goto out;
	for (size_t i = 0; i < s->n_acct; i++)
		s->by_name[i] = &s->acct[i];
	qsort(s->by_name, s->n_acct, sizeof(*s->by_name), cmp_name);
	s->generation = ++a->generation;
	a->data_version = dv;
	pthread_rwlock_wrlock(&a->snap_lock);
	struct snap *old = a->snap;
	a->snap = s;
	pthread_rwlock_unlock(&a->snap_lock);
	s = old; /* freed below, once its readers are done */
	atomic_fetch_add(&a->st_reloads, 1);
out:
	if (tx)
		sqlite3_exec(a->db, "COMMIT", NULL, NULL, NULL);
	if (rc != ST_OK && s != NULL)
		snap_free(s);
	else
		snap_put(s);
	return rc;
}

int auth_refresh(struct auth *a, struct diag *d)
{
	int64_t dv = 0;
	pthread_mutex_lock(&a->db_mu);
	int rc = data_version(a, &dv, d);
	if (rc == ST_OK && dv != a->data_version)
		rc = snap_load(a, d);
	pthread_mutex_unlock(&a->db_mu);
	return rc;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * At most once per interval, the first caller that gets db_mu without
 * waiting checks data_version; everybody else goes on with the current
 * snapshot (a write in progress holds db_mu and reloads itself).
 */
void auth_maybe_refresh(struct auth *a)
{
	int64_t now = now_ms();
	int64_t last = atomic_load(&a->last_check_ms);
	unsigned every = atomic_load(&a->refresh_ms);
	if (every > 0 && now - last < (int64_t)every)
		return;
	if (every > 0 &&
	    !atomic_compare_exchange_strong(&a->last_check_ms, &last, now))
		return;
	if (pthread_mutex_trylock(&a->db_mu) != 0)
		return;
	int64_t dv = 0;
	struct diag d;
	int rc = data_version(a, &dv, &d);
	if (rc == ST_OK && dv != a->data_version)
		rc = snap_load(a, &d);
	pthread_mutex_unlock(&a->db_mu);
	if (rc != ST_OK)
		log_warn("auth", "refresh: %s", d.msg);
}

uint64_t auth_generation(struct auth *a)
{
	auth_maybe_refresh(a);
	struct snap *s = snap_get(a);
	uint64_t g = s->generation;
	snap_put(s);
	return g;
}

const struct snap_account *snap_by_id(const struct snap *s, int64_t id)
{
	return find_id((struct snap *)s, id);
}

const struct snap_account *snap_by_name(const struct snap *s, const char *name)
{
	size_t lo = 0, hi = s->n_acct;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(s->by_name[mid]->pub.name, name);
		if (c == 0)
			return s->by_name[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void auth_get_stats(struct auth *a, struct auth_stats *out)
{
	out->argon2_verifies = atomic_load(&a->st_verifies);
	out->basic_cache_hits = atomic_load(&a->st_hits);
	out->reloads = atomic_load(&a->st_reloads);
}

/* ------------------------------------------------------------------ */
/* Reading accounts and grants                                          */
/* ------------------------------------------------------------------ */

static void copy_out(const struct snap_account *x, struct auth_account *out)
{
	*out = x->pub;
	out->method = AUTH_METHOD_NONE;
	out->credential = 0;
}

int auth_user_get(struct auth *a, const char *name, struct auth_account *out)
{
	int rc = ST_ENOTFOUND;
	if (name == NULL)
		return rc;
	auth_maybe_refresh(a);
	struct snap *s = snap_get(a);
	const struct snap_account *x = snap_by_name(s, name);
	if (x != NULL) {
		copy_out(x, out);
		rc = ST_OK;
	}
	snap_put(s);
	return rc;
}

int auth_user_get_id(struct auth *a, int64_t id, struct auth_account *out)
{
	int rc = ST_ENOTFOUND;
	auth_maybe_refresh(a);
	struct snap *s = snap_get(a);
	const struct snap_account *x = snap_by_id(s, id);
	if (x != NULL) {
		copy_out(x, out);
		rc = ST_OK;
	}
	snap_put(s);
	return rc;
}

int auth_user_list(struct auth *a, auth_account_fn fn, void *ctx)
{
	int rc = auth_refresh(a, NULL);
	if (rc != ST_OK)
		return rc;
	struct snap *s = snap_get(a);
	for (size_t i = 0; i < s->n_acct && rc == ST_OK; i++) {
		struct auth_account acct;
		copy_out(&s->acct[i], &acct);
		rc = fn(ctx, &acct);
	}
	snap_put(s);
	return rc;
}

static const struct snap_grant *find_grant(const struct snap_account *x,
					   const char *cid)
{
	size_t lo = 0, hi = x->pub.n_grants;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(x->grants[mid].cid, cid);
		if (c == 0)
			return &x->grants[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

enum auth_access auth_grant_get(struct auth *a, int64_t account_id,
				const char *collection_id)
{
	enum auth_access acc = AUTH_ACCESS_NONE;
	if (collection_id == NULL)
		return acc;
	auth_maybe_refresh(a);
	struct snap *s = snap_get(a);
	const struct snap_account *x = snap_by_id(s, account_id);
	const struct snap_grant *g = x ? find_grant(x, collection_id) : NULL;
	if (g != NULL)
		acc = (enum auth_access)g->access;
	snap_put(s);
	return acc;
}

int auth_grant_list(struct auth *a, int64_t account_id, auth_grant_fn fn,
		    void *ctx)
{
	int rc = ST_ENOTFOUND;
	auth_maybe_refresh(a);
	struct snap *s = snap_get(a);
	const struct snap_account *x = snap_by_id(s, account_id);
	if (x != NULL) {
		rc = ST_OK;
		for (uint32_t i = 0; i < x->pub.n_grants && rc == ST_OK; i++)
			rc = fn(ctx, x->grants[i].cid,
				(enum auth_access)x->grants[i].access);
	}
	snap_put(s);
	return rc;
}

enum auth_access auth_access(struct auth *a, const struct auth_account *acct,
			     const char *collection_id)
{
	enum auth_access acc = AUTH_ACCESS_NONE;
	if (acct == NULL || collection_id == NULL)
		return acc;
	auth_maybe_refresh(a);
	struct snap *s = snap_get(a);
	/* The current account, not the caller's copy: a role changed or an
	 * account disabled since the request began counts now. */
	const struct snap_account *x = snap_by_id(s, acct->id);
	if (x == NULL || x->pub.disabled)
		goto out;
	if (x->pub.role == ROLE_ADMIN) {
		acc = AUTH_ACCESS_RW;
		goto out;
	}
	const struct snap_grant *g = find_grant(x, collection_id);
	if (g != NULL)
		acc = (enum auth_access)g->access;
	if (x->pub.role == ROLE_AUDITOR || x->pub.role == ROLE_LIAISON)
		acc &= ~AUTH_ACCESS_WRITE; /* even a grant written by hand */
	if (x->pub.role == ROLE_METRICS)
		acc = AUTH_ACCESS_NONE; /* even a grant written by hand */
out:
	snap_put(s);
	return acc;
}

bool auth_may_delete(const struct auth_account *acct)
{
	if (acct == NULL || acct->disabled)
		return false;
	switch (acct->role) {
	case ROLE_ADMIN:
	case ROLE_ANALYST:
	case ROLE_READER:
		return true;
	case ROLE_PEER:
	case ROLE_LIAISON:
	case ROLE_AUDITOR:
	default:
		return false;
	}
}

void auth_audience(const struct auth_account *acct, const char *node_org,
		   struct audience *out)
{
	/* A local account: no partner, whatever the caller's memory held
	 * (peer and liaison accounts get their partner from federation). */
	memset(out, 0, sizeof(*out));
	out->account_id = acct->id;
	out->role = acct->role;
	out->own_org = node_org != NULL && node_org[0] != '\0' &&
		       strcmp(acct->org, node_org) == 0;
}

static const char *const access_names[] = {"none", "read", "write-only",
					   "write"};

const char *auth_access_name(enum auth_access x)
{
	return access_names[(unsigned)x & AUTH_ACCESS_RW];
}

int auth_access_parse(const char *s, enum auth_access *out)
{
	static const struct {
		const char *name;
		enum auth_access access;
	} table[] = {
	    {"none", AUTH_ACCESS_NONE},
	    {"read", AUTH_ACCESS_READ},
	    {"write", AUTH_ACCESS_RW},
	};
	for (size_t i = 0; s != NULL && i < sizeof(table) / sizeof(table[0]);
	     i++) {
		if (strcmp(s, table[i].name) == 0) {
			*out = table[i].access;
			return ST_OK;
		}
	}
	return ST_EINVAL;
}

/* ------------------------------------------------------------------ */
/* Credentials                                                          */
/* ------------------------------------------------------------------ */

bool auth_cert_matches(const struct auth_account *acct, const char *fp)
{
	char norm[AUTH_FP_HEX + 1];
	if (acct->cert_fp[0] == '\0')
		return true;
	if (!auth_fp_normalise(fp, norm))
		return false;
	return sodium_memcmp(norm, acct->cert_fp, AUTH_FP_HEX) == 0;
}

bool auth_cert_is_bound(struct auth *a, const char *fp)
{
	char norm[AUTH_FP_HEX + 1];
	bool bound = false;
	if (!auth_fp_normalise(fp, norm))
		return false;
	auth_maybe_refresh(a);
	struct snap *s = snap_get(a);
	for (size_t i = 0; i < s->n_acct && !bound; i++)
		bound = !s->acct[i].pub.disabled &&
			s->acct[i].pub.cert_fp[0] != '\0' &&
			sodium_memcmp(norm, s->acct[i].pub.cert_fp,
				      AUTH_FP_HEX) == 0;
	snap_put(s);
	return bound;
}

int auth_lookup_token(struct auth *a, const char *token, const char *client_fp,
		      struct auth_account *out)
{
	uint8_t h[AUTH_HASH_BYTES];
	int rc = ST_ENOTFOUND;
	size_t len = token != NULL ? strnlen(token, AUTH_TOKEN_MAX) : 0;
	if (len == 0 || len >= AUTH_TOKEN_MAX)
		return rc;
	auth_maybe_refresh(a);
	auth_token_hash(a, token, len, h);
	struct snap *s = snap_get(a);
	/* The hash is keyed, so nobody can aim at a bucket; each probe
	 * compares in constant time. */
	size_t mask = s->tok_cap - 1;
	for (size_t i = hash_index(h) & mask; s->tok[i].acct >= 0;
	     i = (i + 1) & mask) {
		if (sodium_memcmp(s->tok[i].hash, h, AUTH_HASH_BYTES) != 0)
			continue;
		const struct snap_account *x = &s->acct[s->tok[i].acct];
		if (!x->pub.disabled && auth_cert_matches(&x->pub, client_fp)) {
			copy_out(x, out);
			out->method = AUTH_METHOD_TOKEN;
			out->credential = s->tok[i].id;
			rc = ST_OK;
		}
		break;
	}
	snap_put(s);
	sodium_memzero(h, sizeof(h));
	return rc;
}

/* Verifies pw against hash (NULL: burns the same time, fails), with at
 * most ARGON2_CONCURRENCY Argon2id computations at once. */
static bool argon_verify(struct auth *a, const char *hash, const char *pw,
			 size_t len)
{
	static const uint8_t salt[crypto_pwhash_SALTBYTES];
	bool ok = false;
	pthread_mutex_lock(&a->argon_mu);
	while (a->argon_running >= ARGON2_CONCURRENCY)
		pthread_cond_wait(&a->argon_cv, &a->argon_mu);
	a->argon_running++;
	pthread_mutex_unlock(&a->argon_mu);
	atomic_fetch_add(&a->st_verifies, 1);
	if (hash != NULL) {
		ok = crypto_pwhash_str_verify(hash, pw, len) == 0;
	} else {
		/* No such account: the same work, so that timing does not
		 * tell which names exist. */
		uint8_t out[32];
		if (crypto_pwhash(out, sizeof(out), pw, len, salt,
				  crypto_pwhash_OPSLIMIT_INTERACTIVE,
				  crypto_pwhash_MEMLIMIT_INTERACTIVE,
				  crypto_pwhash_ALG_ARGON2ID13) == 0)
			sodium_memzero(out, sizeof(out));
	}
	pthread_mutex_lock(&a->argon_mu);
	a->argon_running--;
	pthread_cond_signal(&a->argon_cv);
	pthread_mutex_unlock(&a->argon_mu);
	return ok;
}

/* The cache key of (account, row serial, name, password). */
static void basic_key(const struct auth *a, const struct snap_account *x,
		      const char *pw, size_t len, uint8_t out[AUTH_HASH_BYTES])
{
	crypto_generichash_state st;
	uint8_t hdr[16];
	for (int i = 0; i < 8; i++) {
		hdr[i] = (uint8_t)((uint64_t)x->pub.id >> (8 * i));
		hdr[8 + i] = (uint8_t)((uint64_t)x->serial >> (8 * i));
	}
	crypto_generichash_init(&st, a->basic_key, sizeof(a->basic_key),
				AUTH_HASH_BYTES);
	crypto_generichash_update(&st, hdr, sizeof(hdr));
	crypto_generichash_update(&st, (const uint8_t *)x->pub.name,
				  strlen(x->pub.name) + 1);
	crypto_generichash_update(&st, (const uint8_t *)pw, len);
	crypto_generichash_final(&st, out, AUTH_HASH_BYTES);
	sodium_memzero(&st, sizeof(st));
}

static bool basic_cached(struct auth *a, const uint8_t key[AUTH_HASH_BYTES],
			 int64_t acct)
{
	bool hit = false;
	pthread_mutex_lock(&a->basic_mu);
	double now = a->clock(a->clock_ctx);
	size_t base = hash_index(key) & (BASIC_SLOTS - 1);
	for (size_t k = 0; k < BASIC_PROBE && !hit; k++) {
		struct basic_entry *e =
		    &a->basic[(base + k) & (BASIC_SLOTS - 1)];
		hit = e->expires > now && e->acct == acct &&
		      sodium_memcmp(e->key, key, AUTH_HASH_BYTES) == 0;
	}
	pthread_mutex_unlock(&a->basic_mu);
	return hit;
}

static void basic_remember(struct auth *a, const uint8_t key[AUTH_HASH_BYTES],
			   int64_t acct)
{
	pthread_mutex_lock(&a->basic_mu);
	double now = a->clock(a->clock_ctx);
	size_t base = hash_index(key) & (BASIC_SLOTS - 1);
	struct basic_entry *victim = NULL;
	for (size_t k = 0; k < BASIC_PROBE; k++) {
		struct basic_entry *e =
		    &a->basic[(base + k) & (BASIC_SLOTS - 1)];
		if (e->expires <= now) {
			victim = e;
			break;
		}
		if (victim == NULL || e->expires < victim->expires)
			victim = e;
	}
	memcpy(victim->key, key, AUTH_HASH_BYTES);
	victim->acct = acct;
	victim->expires = now + AUTH_BASIC_CACHE_SECONDS;
	pthread_mutex_unlock(&a->basic_mu);
}

int auth_check_basic(struct auth *a, const char *user, const char *password,
		     const char *client_fp, struct auth_account *out)
{
	uint8_t key[AUTH_HASH_BYTES];
	int rc = ST_ENOTFOUND;
	size_t len;
	if (user == NULL || password == NULL)
		return rc;
	len = strnlen(password, AUTH_PASSWORD_MAX + 1);
	if (len == 0 || len > AUTH_PASSWORD_MAX)
		return rc;
	auth_maybe_refresh(a);
	struct snap *s = snap_get(a);
	const struct snap_account *x = snap_by_name(s, user);
	if (x == NULL || x->pub.disabled || x->pwhash == NULL ||
	    !auth_cert_matches(&x->pub, client_fp)) {
		argon_verify(a, NULL, password, len);
		goto out;
	}
	basic_key(a, x, password, len, key);
	if (basic_cached(a, key, x->pub.id)) {
		atomic_fetch_add(&a->st_hits, 1);
		rc = ST_OK;
	} else if (argon_verify(a, x->pwhash, password, len)) {
		basic_remember(a, key, x->pub.id);
		rc = ST_OK;
	}
	sodium_memzero(key, sizeof(key));
	if (rc == ST_OK) {
		copy_out(x, out);
		out->method = AUTH_METHOD_BASIC;
		out->credential = x->serial;
	}
out:
	snap_put(s);
	return rc;
}

bool auth_still_valid(struct auth *a, const struct auth_account *acct)
{
	bool ok = false;
	if (acct == NULL)
		return false;
	auth_maybe_refresh(a);
	struct snap *s = snap_get(a);
	const struct snap_account *x = snap_by_id(s, acct->id);
	if (x == NULL || x->pub.disabled || x->pub.role != acct->role ||
	    strcmp(x->pub.org, acct->org) != 0 ||
	    strcmp(x->pub.cert_fp, acct->cert_fp) != 0)
		goto out;
	switch (acct->method) {
	case AUTH_METHOD_TOKEN:
		for (uint32_t i = 0; i < x->pub.n_tokens && !ok; i++)
			ok = x->tok_ids[i] == acct->credential;
		break;
	case AUTH_METHOD_BASIC:
		ok = x->serial == acct->credential;
		break;
	default:
		ok = true;
		break;
	}
out:
	snap_put(s);
	return ok;
}
