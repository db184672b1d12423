/*
 * strait: opaque paging tokens (the TAXII "next" value).
 *
 * A token is a position, never a grant: every page re-checks what the
 * caller may read. It is a libsodium secretbox (XSalsa20-Poly1305) over a
 * compact binary payload, bound to the account, API root, collection,
 * filters, policy epoch and node incarnation it was issued for, with an
 * expiry. Wire form, base64url without padding:
 *
 *   key_id (1) | nonce (24) | MAC (16) | encrypted payload (98)
 *   payload: version (1) | account_id (8) | root_index (4) |
 *            collection_id (8) | filter_hash (32) | date_added (8) |
 *            seq (8) | policy_epoch (4) | incarnation (16) | expires (8) |
 *            reserved (1, zero)
 *   integers little-endian.
 *
 * Keys live in <home>/keys/paging.key (file 0600, directory 0700): a current
 * and a previous key, each with a one-byte id. The current key is replaced
 * (and becomes the previous one) once it is older than
 * TOKEN_KEY_ROTATE_S; a token made with the key before the previous one no
 * longer decodes. Key memory is wiped on free.
 */
#ifndef STRAIT_TAXII_TOKEN_H
#define STRAIT_TAXII_TOKEN_H

#include "common/err.h"

#include <stddef.h>
#include <stdint.h>

/* Decoding refuses anything longer, before any other work. */
#define TOKEN_MAX_LEN 512
/* The encoded length of every token this version makes, and a buffer for
   it with its NUL. */
#define TOKEN_ENCODED_LEN 186
#define TOKEN_BUFSZ (TOKEN_ENCODED_LEN + 1)
/* Current key age after which token_keys_load/token_keys_rotate replace
   it. Keep token lifetimes below this so a rotation never ends a page. */
#define TOKEN_KEY_ROTATE_S (24 * 3600)
#define TOKEN_KEY_BYTES 32

/* Decode failures. The handler answers every one of them with the same
   400 and no detail; the distinction is for logs and tests. */
enum token_result {
	TOKEN_OK = 0,
	TOKEN_EMALFORMED = -101, /* length, alphabet, size or version */
	TOKEN_ETAMPERED = -102,	 /* MAC failure (forged or altered) */
	TOKEN_EEXPIRED = -103,	 /* past its expiry, or its key rotated out */
	TOKEN_EFOREIGN = -104,	 /* issued for another account, root,
				    collection or filter set */
	TOKEN_ESTALE = -105,	 /* another policy epoch or incarnation */
};

/* Stable short text for a token_result ("tampered"). */
const char *token_strerror(int rc);

/* What a token carries. */
struct token_claims {
	int64_t account_id;
	uint32_t root_index;	 /* index of the API root in the config */
	int64_t collection_id;	 /* the store's internal cid */
	uint8_t filter_hash[32]; /* token_filter_hash of the filters */
	int64_t date_added;	 /* position: last date_added served (us) */
	uint64_t seq;		 /* optional tie-break position, 0 = none */
	uint32_t policy_epoch;
	uint8_t incarnation[16]; /* the node incarnation UUID's bytes */
	int64_t expires;	 /* unix seconds */
};

/* What the caller requires of a token it is given. */
struct token_expect {
	int64_t account_id;
	uint32_t root_index;
	int64_t collection_id;
	uint8_t filter_hash[32];
	uint32_t policy_epoch;
	uint8_t incarnation[16];
	int64_t now; /* unix seconds; 0 means time(NULL) */
};

struct token_keys;

/*
 * Loads the paging keys of a node home, creating <home>/keys (0700) and
 * paging.key (0600) if missing, and rotating the current key if it is older
 * than TOKEN_KEY_ROTATE_S (the file is rewritten atomically). A key file
 * with a wrong size or group/other permissions is refused (ST_ECONFIG).
 * Returns NULL with d filled on failure. Caller owns the result:
 * token_keys_free().
 */
struct token_keys *token_keys_load(const char *home, struct diag *d);
/* The same with an explicit clock (unix seconds), for tests. */
struct token_keys *token_keys_load_at(const char *home, int64_t now,
				      struct diag *d);
/*
 * Rotates if the current key is older than TOKEN_KEY_ROTATE_S at now (or
 * always, with force), persisting to the home the keys were loaded from.
 * Safe while other threads encode and decode. ST_OK, or ST_EIO with d.
 */
int token_keys_rotate(struct token_keys *k, int64_t now, int force,
		      struct diag *d);
/*
 * Keys from bytes, never persisted (fuzzing, tests): current key cur with
 * id cur_id; prev may be NULL.
 */
struct token_keys *token_keys_from_bytes(const uint8_t cur[TOKEN_KEY_BYTES],
					 uint8_t cur_id, const uint8_t *prev,
					 uint8_t prev_id);
/* Wipes and frees; NULL is a no-op. */
void token_keys_free(struct token_keys *k);

/*
 * Encodes c with the current key into out (cap bytes, at least
 * TOKEN_BUFSZ), NUL-terminated. Returns ST_OK, ST_ELIMIT if cap is too
 * small, ST_EINVAL for NULL arguments.
 */
int token_encode(struct token_keys *k, const struct token_claims *c, char *out,
		 size_t cap);

/*
 * Decodes s (len bytes, not necessarily NUL-terminated): length cap first,
 * then alphabet and size, then the key id, then the MAC, then the version,
 * then the binding fields against want, then the expiry. On TOKEN_OK *out
 * holds the claims; on failure *out is zeroed. Returns enum token_result.
 */
int token_decode(struct token_keys *k, const char *s, size_t len,
		 const struct token_expect *want, struct token_claims *out);

/*
 * Stream cursors (the SSE event ids). One is made per event and
 * subscriber, so by the ten thousand per commit: a subscriber derives its
 * own key once, BLAKE2b keyed with the current paging key over its binding
 * (account, API root, collection, filter hash, policy epoch, incarnation),
 * and each cursor seals only the position and the expiry under it. Wire
 * form, base64url without padding:
 *
 *   key_id (1) | nonce (24) | MAC (16) | encrypted (date_added 8 |
 *   expires 8), integers little-endian.
 *
 * A cursor opens only under the binding it was made for, so one altered,
 * made for another account or stream, or from another policy epoch or
 * incarnation fails the MAC (TOKEN_ETAMPERED: the binding is not in the
 * cursor, so these cannot be told apart). A key rotated out gives
 * TOKEN_EEXPIRED, as for paging tokens. A stream cursor is never a paging
 * token: the lengths differ and the key is derived.
 */
#define TOKEN_CURSOR_LEN 76
#define TOKEN_CURSOR_BUFSZ (TOKEN_CURSOR_LEN + 1)

/* A subscriber's cursor key. Wipe it with token_cursor_key_wipe. */
struct token_cursor_key {
	struct token_keys *keys;
	struct token_claims bind; /* the binding; position fields unused */
	uint32_t gen;		  /* the keys' rotation count when derived */
	uint8_t key_id;
	uint8_t key[TOKEN_KEY_BYTES];
};

/* Derives ck for the binding in bind (account_id, root_index,
 * collection_id, filter_hash, policy_epoch, incarnation) from the current
 * key of k. ST_OK or ST_EINVAL. */
int token_cursor_key_init(struct token_cursor_key *ck, struct token_keys *k,
			  const struct token_claims *bind);
void token_cursor_key_wipe(struct token_cursor_key *ck);

/* A cursor for date_added, valid until expires (unix seconds), into out
 * (NUL-terminated). After a rotation the key is derived again first. */
int token_cursor_encode(struct token_cursor_key *ck, int64_t date_added,
			int64_t expires, char out[TOKEN_CURSOR_BUFSZ]);

/* Opens s (len bytes) for the binding in want; *date_added on TOKEN_OK.
 * Length cap first, then alphabet and size, key id, MAC, expiry. */
int token_cursor_decode(struct token_keys *k, const char *s, size_t len,
			const struct token_expect *want, int64_t *date_added);

/*
 * BLAKE2b-256 of the caller's canonical filter string (for filter_hash):
 * the caller defines the canonical form (sorted keys, normalised values).
 */
void token_filter_hash(const char *canon, size_t len, uint8_t out[32]);

#endif
