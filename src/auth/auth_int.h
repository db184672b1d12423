/* strait: accounts, private to src/auth. */
#ifndef STRAIT_AUTH_AUTH_INT_H
#define STRAIT_AUTH_AUTH_INT_H

#include "auth/auth.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>

#define AUTH_HASH_BYTES 32 /* BLAKE2b-256 */
#define AUTH_KEY_BYTES 32
#define BASIC_SLOTS 1024 /* power of two */
#define BASIC_PROBE 8
/* Argon2id (interactive limits) takes 64 MiB per verification: at most
 * this many run at once, the others wait (thread-per-connection may
 * block; memory stays bounded). */
#define ARGON2_CONCURRENCY 2

/* One grant of the snapshot. */
struct snap_grant {
	char cid[AUTH_COLLECTION_ID_MAX + 1];
	uint8_t access;
};

/* One account of the snapshot. pub.method/credential are unused. */
struct snap_account {
	struct auth_account pub;
	char *pwhash;	/* Argon2id string, NULL when none; wiped on free */
	int64_t serial; /* row version: bumped by every change of the row */
	struct snap_grant *grants; /* into snap->grants, by collection id */
	int64_t *tok_ids;	   /* into snap->tok_ids, ascending */
};

/* Token hash table slot; acct < 0 = empty. */
struct snap_token {
	uint8_t hash[AUTH_HASH_BYTES];
	int64_t id;
	int32_t acct;
};

/*
 * An immutable picture of auth.db. Readers take a reference under the
 * rwlock (read side) and use it without any lock; a reload builds a new
 * one and swaps the pointer under the write side. The last reference
 * frees it.
 */
struct snap {
	atomic_uint refs;
	uint64_t generation;
	struct snap_account *acct; /* by id */
	size_t n_acct;
	struct snap_account **by_name;
	struct snap_grant *grants;
	size_t n_grants;
	int64_t *tok_ids;
	size_t n_tok;
	struct snap_token *tok; /* open addressing, tok_cap a power of two */
	size_t tok_cap;
};

struct basic_entry {
	uint8_t key[AUTH_HASH_BYTES];
	int64_t acct;
	double expires; /* 0 = empty */
};

struct auth {
	char *path;
	/* The connection, for reloads and the (rare) writes. */
	pthread_mutex_t db_mu;
	sqlite3 *db;
	int64_t data_version;
	uint8_t token_key[AUTH_KEY_BYTES]; /* from meta; wiped on close */

	pthread_rwlock_t snap_lock;
	struct snap *snap;
	uint64_t generation;

	atomic_int_least64_t last_check_ms; /* of data_version */
	atomic_uint refresh_ms;

	/* HTTP Basic success cache. */
	pthread_mutex_t basic_mu;
	uint8_t basic_key[AUTH_KEY_BYTES]; /* per process; wiped on close */
	struct basic_entry basic[BASIC_SLOTS];

	pthread_mutex_t argon_mu;
	pthread_cond_t argon_cv;
	unsigned argon_running;

	double (*clock)(void *ctx);
	void *clock_ctx;

	atomic_uint_least64_t st_verifies, st_hits, st_reloads;
};

/* snap.c */
int snap_load(struct auth *a, struct diag *d); /* caller holds db_mu */
struct snap *snap_get(struct auth *a);
void snap_put(struct snap *s);
const struct snap_account *snap_by_id(const struct snap *s, int64_t id);
const struct snap_account *snap_by_name(const struct snap *s, const char *name);
void auth_maybe_refresh(struct auth *a);

/* db.c */
int auth_db_diag(sqlite3 *db, struct diag *d, const char *what);
/* BLAKE2b-256 of a token under the database's key. */
void auth_token_hash(const struct auth *a, const char *token, size_t len,
		     uint8_t out[AUTH_HASH_BYTES]);
/* Normalises a fingerprint (hex, ':' allowed, any case) to 64 lowercase
 * hex digits; false if it is not one. */
bool auth_fp_normalise(const char *in, char out[AUTH_FP_HEX + 1]);

#endif
