/*
 * strait: the node's Ed25519 signing keys (provenance attestations are
 * signed with the current one).
 *
 * <home>/keys/node.key (0600, directory 0700) holds the key history, oldest
 * first; the last entry is the current key. Rotating retires the current
 * key (its secret is wiped from the file and from memory, its public key
 * kept) and makes a new one, so what a retired key signed can still be
 * verified. Wire form, integers little-endian:
 *
 *   magic "STNK" (4) | format 1 (1) | count (1) | reserved (2, zero)
 *   count entries: created (8, unix s) | retired (8, unix s; 0 current) |
 *                  public key (32) | seed (32; zero once retired)
 *
 * A key id is the first 8 bytes of BLAKE2b-256 of the public key, in hex
 * (16 characters). Secrets live in sodium_malloc'd memory (guarded, locked
 * so they are never swapped, wiped on free), and loading the keys makes the
 * process not dumpable (no core file, no ptrace by other users).
 */
#ifndef STRAIT_FEDERATION_NODEKEY_H
#define STRAIT_FEDERATION_NODEKEY_H

#include "common/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NODEKEY_ID_LEN 16
#define NODEKEY_PUB_BYTES 32
#define NODEKEY_SIG_BYTES 64
/* Keys kept in the history; rotating past it is refused. */
#define NODEKEY_HISTORY_MAX 64
/* base64url without padding of a public key, and its NUL. */
#define NODEKEY_PUB_TEXT 44

/* One key of the history, public part. */
struct nodekey_pub {
	char id[NODEKEY_ID_LEN + 1];
	uint8_t pk[NODEKEY_PUB_BYTES];
	int64_t created;
	int64_t retired; /* 0: the current key */
};

struct nodekeys;

/* Creates <home>/keys/node.key with a first key; refuses (ST_EEXIST-like
 * ST_ECONFIG) if the file exists. */
int nodekeys_create(const char *home, int64_t now, struct diag *d);

/* Loads the keys into *out. ST_OK; ST_ENOTFOUND when the node has no key
 * file (a home made before node keys existed); ST_ECONFIG (a file group
 * or others may read, or not a key file) or ST_EIO, with d. */
int nodekeys_load(const char *home, struct nodekeys **out, struct diag *d);
void nodekeys_free(struct nodekeys *k);

/* Retires the current key and makes a new current one, persisted before
 * it is used. ST_OK, ST_ELIMIT (history full) or ST_EIO with d. */
int nodekeys_rotate(struct nodekeys *k, int64_t now, struct diag *d);

/* The current key, and the whole history (oldest first). */
const struct nodekey_pub *nodekeys_current(const struct nodekeys *k);
size_t nodekeys_history(const struct nodekeys *k,
			const struct nodekey_pub **out);
/* The key of the history with that id, or NULL. */
const struct nodekey_pub *nodekeys_find(const struct nodekeys *k,
					const char *id);

/* Signs m with the current key (detached, Ed25519). */
int nodekeys_sign(const struct nodekeys *k, const void *m, size_t n,
		  uint8_t sig[NODEKEY_SIG_BYTES]);
/* Whether sig is pk's signature of m. */
bool nodekey_verify(const uint8_t pk[NODEKEY_PUB_BYTES], const void *m,
		    size_t n, const uint8_t sig[NODEKEY_SIG_BYTES]);

/* The key id of a public key, and its text form (base64url, no padding);
 * nodekey_pub_parse reverses the latter (ST_EINVAL if not 32 bytes). */
void nodekey_id(const uint8_t pk[NODEKEY_PUB_BYTES],
		char out[NODEKEY_ID_LEN + 1]);
void nodekey_pub_text(const uint8_t pk[NODEKEY_PUB_BYTES],
		      char out[NODEKEY_PUB_TEXT]);
int nodekey_pub_parse(const char *s, uint8_t pk[NODEKEY_PUB_BYTES]);

#endif
