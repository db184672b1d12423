/*
 * strait: opaque paging tokens, libsodium secretbox over a fixed binary
 * payload; the layout is in token.h.
 */
#include "taxii/token.h"

#include "common/le.h"
#include "common/secfile.h"

#include <limits.h>
#include <nettle/base64.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PAYLOAD_VERSION 1
#define PAYLOAD_LEN 98
#define NONCE_LEN crypto_secretbox_NONCEBYTES /* 24 */
#define MAC_LEN crypto_secretbox_MACBYTES     /* 16 */
#define RAW_LEN (1 + NONCE_LEN + MAC_LEN + PAYLOAD_LEN)

/* paging.key: magic | format | cur id | prev id | has prev | reserved (2) |
   cur created (8, LE) | cur key | prev key. */
#define KEYFILE_MAGIC "STPK"
#define KEYFILE_FORMAT 1
#define KEYFILE_LEN (4 + 1 + 1 + 1 + 1 + 8 + 2 * TOKEN_KEY_BYTES)

_Static_assert(RAW_LEN == 139, "token layout");
_Static_assert(TOKEN_ENCODED_LEN == 186, "base64url of 139 bytes");
_Static_assert(sodium_base64_ENCODED_LEN(
		   RAW_LEN, sodium_base64_VARIANT_URLSAFE_NO_PADDING) ==
		   TOKEN_BUFSZ,
	       "token buffer size");
_Static_assert(BASE64_ENCODE_LENGTH(RAW_LEN) == TOKEN_ENCODED_LEN,
	       "nettle's unpadded length");
_Static_assert(crypto_secretbox_KEYBYTES == TOKEN_KEY_BYTES, "key size");

/* The secrets, in sodium_malloc'd memory (guarded, locked, wiped). */
struct secrets {
	uint8_t cur[TOKEN_KEY_BYTES];
	uint8_t prev[TOKEN_KEY_BYTES];
};

struct token_keys {
	pthread_rwlock_t lock;
	_Atomic uint32_t gen; /* rotations: cursor keys derive again */
	struct secrets *sec;
	uint8_t cur_id;
	uint8_t prev_id;
	bool has_prev;
	int64_t cur_created; /* unix seconds */
	char *path;	     /* paging.key, NULL when not persisted */
	char *dir;
};

const char *token_strerror(int rc)
{
	switch (rc) {
	case TOKEN_OK:
		return "ok";
	case TOKEN_EMALFORMED:
		return "malformed";
	case TOKEN_ETAMPERED:
		return "tampered";
	case TOKEN_EEXPIRED:
		return "expired";
	case TOKEN_EFOREIGN:
		return "foreign";
	case TOKEN_ESTALE:
		return "stale";
	default:
		return "unknown";
	}
}

static void pack(const struct token_claims *c, uint8_t p[PAYLOAD_LEN])
{
	p[0] = PAYLOAD_VERSION;
	le_put64(p + 1, (uint64_t)c->account_id);
	le_put32(p + 9, c->root_index);
	le_put64(p + 13, (uint64_t)c->collection_id);
	memcpy(p + 21, c->filter_hash, 32);
	le_put64(p + 53, (uint64_t)c->date_added);
	le_put64(p + 61, c->seq);
	le_put32(p + 69, c->policy_epoch);
	memcpy(p + 73, c->incarnation, 16);
	le_put64(p + 89, (uint64_t)c->expires);
	/* 97 bytes used; the last is reserved (zero). */
	p[97] = 0;
}

static bool unpack(const uint8_t p[PAYLOAD_LEN], struct token_claims *c)
{
	if (p[0] != PAYLOAD_VERSION || p[97] != 0)
		return false;
	c->account_id = (int64_t)le_get64(p + 1);
	c->root_index = le_get32(p + 9);
	c->collection_id = (int64_t)le_get64(p + 13);
	memcpy(c->filter_hash, p + 21, 32);
	c->date_added = (int64_t)le_get64(p + 53);
	c->seq = le_get64(p + 61);
	c->policy_epoch = le_get32(p + 69);
	memcpy(c->incarnation, p + 73, 16);
	c->expires = (int64_t)le_get64(p + 89);
	return true;
}

/* ---- Keys ---------------------------------------------------------------- */

static struct token_keys *keys_alloc(void)
{
	struct token_keys *k;

	if (sodium_init() < 0)
		return NULL;
	k = calloc(1, sizeof(*k));
	if (k == NULL)
		return NULL;
	k->sec = sodium_malloc(sizeof(*k->sec));
	if (k->sec == NULL) {
		free(k);
		return NULL;
	}
	sodium_memzero(k->sec, sizeof(*k->sec));
	pthread_rwlock_init(&k->lock, NULL);
	return k;
}

void token_keys_free(struct token_keys *k)
{
	if (k == NULL)
		return;
	if (k->sec != NULL)
		sodium_free(k->sec); /* wipes */
	pthread_rwlock_destroy(&k->lock);
	free(k->path);
	free(k->dir);
	free(k);
}

struct token_keys *token_keys_from_bytes(const uint8_t cur[TOKEN_KEY_BYTES],
					 uint8_t cur_id, const uint8_t *prev,
					 uint8_t prev_id)
{
	struct token_keys *k = keys_alloc();

	if (k == NULL)
		return NULL;
	memcpy(k->sec->cur, cur, TOKEN_KEY_BYTES);
	k->cur_id = cur_id;
	if (prev != NULL) {
		memcpy(k->sec->prev, prev, TOKEN_KEY_BYTES);
		k->prev_id = prev_id;
		k->has_prev = true;
	}
	return k;
}

/* Writes the key file atomically: temporary file (0600), fsync, rename,
   fsync of the directory. */
static int keys_save(struct token_keys *k, struct diag *d)
{
	uint8_t img[KEYFILE_LEN];

	memcpy(img, KEYFILE_MAGIC, 4);
	img[4] = KEYFILE_FORMAT;
	img[5] = k->cur_id;
	img[6] = k->prev_id;
	img[7] = k->has_prev;
	le_put64(img + 8, (uint64_t)k->cur_created);
	memcpy(img + 16, k->sec->cur, TOKEN_KEY_BYTES);
	memcpy(img + 16 + TOKEN_KEY_BYTES, k->sec->prev, TOKEN_KEY_BYTES);
	int rc = secfile_write(k->dir, k->path, img, sizeof(img), d);
	sodium_memzero(img, sizeof(img));
	return rc;
}

/* Replaces the current key; the old one becomes the previous one. */
static void rotate_locked(struct token_keys *k, int64_t now)
{
	memcpy(k->sec->prev, k->sec->cur, TOKEN_KEY_BYTES);
	k->prev_id = k->cur_id;
	k->has_prev = true;
	randombytes_buf(k->sec->cur, TOKEN_KEY_BYTES);
	k->cur_id = (uint8_t)(k->cur_id + 1);
	k->cur_created = now;
	atomic_fetch_add(&k->gen, 1);
}

int token_keys_rotate(struct token_keys *k, int64_t now, int force,
		      struct diag *d)
{
	int rc = ST_OK;

	pthread_rwlock_wrlock(&k->lock);
	if (force || now - k->cur_created >= TOKEN_KEY_ROTATE_S) {
		rotate_locked(k, now);
		if (k->path != NULL)
			rc = keys_save(k, d);
	}
	pthread_rwlock_unlock(&k->lock);
	return rc;
}

/* ST_ENOTFOUND when there is no key file yet. */
static int keys_read(struct token_keys *k, struct diag *d)
{
	uint8_t img[KEYFILE_LEN];
	size_t n = 0;
	int rc = secfile_read(k->path, img, sizeof(img), &n, d);

	if (rc == ST_OK &&
	    (n != KEYFILE_LEN || memcmp(img, KEYFILE_MAGIC, 4) != 0 ||
	     img[4] != KEYFILE_FORMAT))
		rc = diag_set(d, ST_ECONFIG, "%s: not a paging key file",
			      k->path);
	if (rc == ST_OK) {
		k->cur_id = img[5];
		k->prev_id = img[6];
		k->has_prev = img[7] != 0;
		k->cur_created = (int64_t)le_get64(img + 8);
		memcpy(k->sec->cur, img + 16, TOKEN_KEY_BYTES);
		memcpy(k->sec->prev, img + 16 + TOKEN_KEY_BYTES,
		       TOKEN_KEY_BYTES);
	}
	sodium_memzero(img, sizeof(img));
	return rc;
}

struct token_keys *token_keys_load_at(const char *home, int64_t now,
				      struct diag *d)
{
	struct token_keys *k = keys_alloc();
	char buf[PATH_MAX];
	int rc = ST_OK;

	if (k == NULL) {
		diag_set(d, ST_ENOMEM, "out of memory");
		return NULL;
	}
	if ((rc = secfile_dir(home, buf, sizeof(buf) - 16, d)) != ST_OK)
		goto out;
	k->dir = strdup(buf);
	strcat(buf, "/paging.key");
	k->path = strdup(buf);
	if (k->dir == NULL || k->path == NULL) {
		rc = diag_set(d, ST_ENOMEM, "out of memory");
		goto out;
	}
	rc = keys_read(k, d);
	if (rc == ST_ENOTFOUND) {
		/* First start: a fresh current key, no previous one. */
		randombytes_buf(k->sec->cur, TOKEN_KEY_BYTES);
		k->cur_id = 1;
		k->cur_created = now;
		rc = keys_save(k, d);
		goto out;
	}
	if (rc != ST_OK)
		goto out;
	if (now - k->cur_created >= TOKEN_KEY_ROTATE_S) {
		rotate_locked(k, now);
		rc = keys_save(k, d);
	}
out:
	if (rc != ST_OK) {
		token_keys_free(k);
		return NULL;
	}
	return k;
}

struct token_keys *token_keys_load(const char *home, struct diag *d)
{
	return token_keys_load_at(home, (int64_t)time(NULL), d);
}

/* ---- Tokens -------------------------------------------------------------- */

/*
 * A fresh nonce without a system call per token: 16 random bytes drawn
 * once per thread, then a 64-bit counter. XSalsa20's nonce only has to
 * be unique under one key, and two threads share a prefix with
 * probability 2^-128. A stream fan-out seals thousands of cursors per
 * commit, where a getrandom call each was a tenth of the work.
 */
static void nonce_next(uint8_t n[NONCE_LEN])
{
	static _Thread_local uint8_t prefix[NONCE_LEN - 8];
	static _Thread_local uint64_t counter;
	static _Thread_local bool seeded;

	if (!seeded) {
		randombytes_buf(prefix, sizeof(prefix));
		seeded = true;
	}
	memcpy(n, prefix, sizeof(prefix));
	counter++;
	for (int i = 0; i < 8; i++)
		n[sizeof(prefix) + i] = (uint8_t)(counter >> (8 * i));
}

/*
 * base64url without padding of the sealed token into out (TOKEN_BUFSZ),
 * with nettle's table encoder: the bytes are ciphertext, public, so the
 * constant-time encoder of libsodium (a sixth of a stream event's server
 * time, measured) buys nothing here. Decoding stays with libsodium.
 */
static void b64url(char out[TOKEN_BUFSZ], const uint8_t raw[RAW_LEN])
{
	char tmp[BASE64_ENCODE_LENGTH(RAW_LEN) + BASE64_ENCODE_FINAL_LENGTH];
	struct base64_encode_ctx ctx;
	base64url_encode_init(&ctx);
	size_t n = base64_encode_update(&ctx, tmp, RAW_LEN, raw);
	base64_encode_final(&ctx, tmp + n);
	memcpy(out, tmp, TOKEN_ENCODED_LEN);
	out[TOKEN_ENCODED_LEN] = '\0';
}

int token_encode(struct token_keys *k, const struct token_claims *c, char *out,
		 size_t cap)
{
	uint8_t raw[RAW_LEN], payload[PAYLOAD_LEN];

	if (k == NULL || c == NULL || out == NULL)
		return ST_EINVAL;
	if (cap < TOKEN_BUFSZ)
		return ST_ELIMIT;
	pack(c, payload);
	nonce_next(raw + 1);
	pthread_rwlock_rdlock(&k->lock);
	raw[0] = k->cur_id;
	crypto_secretbox_easy(raw + 1 + NONCE_LEN, payload, PAYLOAD_LEN,
			      raw + 1, k->sec->cur);
	pthread_rwlock_unlock(&k->lock);
	b64url(out, raw);
	sodium_memzero(payload, sizeof(payload));
	return ST_OK;
}

int token_decode(struct token_keys *k, const char *s, size_t len,
		 const struct token_expect *want, struct token_claims *out)
{
	uint8_t raw[RAW_LEN + 1], payload[PAYLOAD_LEN];
	size_t bin_len = 0;
	const char *end = NULL;
	int rc = TOKEN_OK;

	memset(out, 0, sizeof(*out));
	if (s == NULL || len > TOKEN_MAX_LEN || len != TOKEN_ENCODED_LEN)
		return TOKEN_EMALFORMED;
	if (sodium_base642bin(raw, sizeof(raw), s, len, NULL, &bin_len, &end,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    end != s + len || bin_len != RAW_LEN)
		return TOKEN_EMALFORMED;

	pthread_rwlock_rdlock(&k->lock);
	const uint8_t *key = NULL;
	if (raw[0] == k->cur_id)
		key = k->sec->cur;
	else if (k->has_prev && raw[0] == k->prev_id)
		key = k->sec->prev;
	if (key == NULL)
		rc = TOKEN_EEXPIRED; /* its key was rotated out */
	else if (crypto_secretbox_open_easy(payload, raw + 1 + NONCE_LEN,
					    MAC_LEN + PAYLOAD_LEN, raw + 1,
					    key) != 0)
		rc = TOKEN_ETAMPERED;
	pthread_rwlock_unlock(&k->lock);
	if (rc != TOKEN_OK)
		goto out;

	if (!unpack(payload, out)) {
		rc = TOKEN_EMALFORMED;
		goto out;
	}
	if (out->account_id != want->account_id ||
	    out->root_index != want->root_index ||
	    out->collection_id != want->collection_id ||
	    sodium_memcmp(out->filter_hash, want->filter_hash, 32) != 0) {
		rc = TOKEN_EFOREIGN;
		goto out;
	}
	if (out->policy_epoch != want->policy_epoch ||
	    memcmp(out->incarnation, want->incarnation, 16) != 0) {
		rc = TOKEN_ESTALE;
		goto out;
	}
	int64_t now = want->now ? want->now : (int64_t)time(NULL);
	if (out->expires <= now)
		rc = TOKEN_EEXPIRED;
out:
	sodium_memzero(payload, sizeof(payload));
	if (rc != TOKEN_OK)
		memset(out, 0, sizeof(*out));
	return rc;
}

void token_filter_hash(const char *canon, size_t len, uint8_t out[32])
{
	crypto_generichash(out, 32, (const unsigned char *)canon, len, NULL, 0);
}

/* ---- Stream cursors -------------------------------------------------------- */

#define CURSOR_PAYLOAD_LEN 16
#define CURSOR_RAW_LEN (1 + NONCE_LEN + MAC_LEN + CURSOR_PAYLOAD_LEN)
/* Domain of the derivation: never the key of anything else. */
#define CURSOR_DOMAIN "strait stream cursor 1"
#define CURSOR_BIND_LEN (8 + 4 + 8 + 32 + 4 + 16)

_Static_assert(CURSOR_RAW_LEN == 57, "cursor layout");
_Static_assert(BASE64_ENCODE_LENGTH(CURSOR_RAW_LEN) == TOKEN_CURSOR_LEN,
	       "cursor length");

/* The subscriber key under server key `key` for the binding b. */
static void cursor_derive(const uint8_t key[TOKEN_KEY_BYTES],
			  const struct token_claims *b,
			  uint8_t out[TOKEN_KEY_BYTES])
{
	uint8_t m[sizeof(CURSOR_DOMAIN) - 1 + CURSOR_BIND_LEN];
	uint8_t *p = m + sizeof(CURSOR_DOMAIN) - 1;
	memcpy(m, CURSOR_DOMAIN, sizeof(CURSOR_DOMAIN) - 1);
	le_put64(p, (uint64_t)b->account_id);
	le_put32(p + 8, b->root_index);
	le_put64(p + 12, (uint64_t)b->collection_id);
	memcpy(p + 20, b->filter_hash, 32);
	le_put32(p + 52, b->policy_epoch);
	memcpy(p + 56, b->incarnation, 16);
	crypto_generichash(out, TOKEN_KEY_BYTES, m, sizeof(m), key,
			   TOKEN_KEY_BYTES);
}

static void cursor_rederive(struct token_cursor_key *ck)
{
	struct token_keys *k = ck->keys;
	pthread_rwlock_rdlock(&k->lock);
	ck->gen = atomic_load(&k->gen);
	ck->key_id = k->cur_id;
	cursor_derive(k->sec->cur, &ck->bind, ck->key);
	pthread_rwlock_unlock(&k->lock);
}

int token_cursor_key_init(struct token_cursor_key *ck, struct token_keys *k,
			  const struct token_claims *bind)
{
	if (ck == NULL || k == NULL || bind == NULL)
		return ST_EINVAL;
	memset(ck, 0, sizeof(*ck));
	ck->keys = k;
	ck->bind = *bind;
	ck->bind.date_added = 0;
	ck->bind.seq = 0;
	ck->bind.expires = 0;
	cursor_rederive(ck);
	return ST_OK;
}

void token_cursor_key_wipe(struct token_cursor_key *ck)
{
	if (ck != NULL)
		sodium_memzero(ck, sizeof(*ck));
}

int token_cursor_encode(struct token_cursor_key *ck, int64_t date_added,
			int64_t expires, char out[TOKEN_CURSOR_BUFSZ])
{
	uint8_t raw[CURSOR_RAW_LEN], payload[CURSOR_PAYLOAD_LEN];
	char tmp[BASE64_ENCODE_LENGTH(CURSOR_RAW_LEN) +
		 BASE64_ENCODE_FINAL_LENGTH];

	if (ck == NULL || ck->keys == NULL || out == NULL)
		return ST_EINVAL;
	if (atomic_load(&ck->keys->gen) != ck->gen)
		cursor_rederive(ck);
	le_put64(payload, (uint64_t)date_added);
	le_put64(payload + 8, (uint64_t)expires);
	raw[0] = ck->key_id;
	nonce_next(raw + 1);
	crypto_secretbox_easy(raw + 1 + NONCE_LEN, payload, sizeof(payload),
			      raw + 1, ck->key);
	struct base64_encode_ctx ctx;
	base64url_encode_init(&ctx);
	size_t n = base64_encode_update(&ctx, tmp, CURSOR_RAW_LEN, raw);
	base64_encode_final(&ctx, tmp + n);
	memcpy(out, tmp, TOKEN_CURSOR_LEN);
	out[TOKEN_CURSOR_LEN] = '\0';
	return ST_OK;
}

int token_cursor_decode(struct token_keys *k, const char *s, size_t len,
			const struct token_expect *want, int64_t *date_added)
{
	uint8_t raw[CURSOR_RAW_LEN + 1], payload[CURSOR_PAYLOAD_LEN];
	uint8_t key[TOKEN_KEY_BYTES];
	size_t bin_len = 0;
	const char *end = NULL;
	int rc = TOKEN_OK;

	*date_added = 0;
	if (s == NULL || len > TOKEN_MAX_LEN || len != TOKEN_CURSOR_LEN)
		return TOKEN_EMALFORMED;
	if (sodium_base642bin(raw, sizeof(raw), s, len, NULL, &bin_len, &end,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    end != s + len || bin_len != CURSOR_RAW_LEN)
		return TOKEN_EMALFORMED;

	struct token_claims b;
	memset(&b, 0, sizeof(b));
	b.account_id = want->account_id;
	b.root_index = want->root_index;
	b.collection_id = want->collection_id;
	memcpy(b.filter_hash, want->filter_hash, 32);
	b.policy_epoch = want->policy_epoch;
	memcpy(b.incarnation, want->incarnation, 16);

	pthread_rwlock_rdlock(&k->lock);
	const uint8_t *server = NULL;
	if (raw[0] == k->cur_id)
		server = k->sec->cur;
	else if (k->has_prev && raw[0] == k->prev_id)
		server = k->sec->prev;
	if (server != NULL)
		cursor_derive(server, &b, key);
	pthread_rwlock_unlock(&k->lock);
	if (server == NULL)
		return TOKEN_EEXPIRED; /* its key was rotated out */
	if (crypto_secretbox_open_easy(payload, raw + 1 + NONCE_LEN,
				       MAC_LEN + CURSOR_PAYLOAD_LEN, raw + 1,
				       key) != 0) {
		rc = TOKEN_ETAMPERED;
	} else {
		int64_t now = want->now ? want->now : (int64_t)time(NULL);
		if ((int64_t)le_get64(payload + 8) <= now)
			rc = TOKEN_EEXPIRED;
		else
			*date_added = (int64_t)le_get64(payload);
	}
	sodium_memzero(key, sizeof(key));
	sodium_memzero(payload, sizeof(payload));
	return rc;
}
