/*
 * strait: provenance attestations (docs/FEDERATION.md).
 *
 * STIX forbids changing an object after its creator made it, so provenance
 * is detached: the origin node signs, once per batch, an attestation, a
 * custom STIX object of type x-strait-attestation that lists (id, version,
 * SHA-256 of the canonical form) for each object of the batch, with the
 * origin node (created_by_ref), the key id, the RED recipients and whether
 * partners may relay the origin's GREEN objects. Its signature
 * (Ed25519, base64url) covers the RFC 8785 canonical form of the object
 * without its "signature" property. It travels beside the objects in the
 * same TAXII envelope. A receiver verifies one signature per batch
 * (attest_verify) and one hash per object (attest_check).
 *
 * attest_verify parses what a peer sent: bounded (ATTEST_MAX_BYTES,
 * ATTEST_MAX_OBJECTS, ATTEST_MAX_RED), every property checked, the key
 * looked up by id among the origin's known keys.
 */
#ifndef STRAIT_FEDERATION_ATTEST_H
#define STRAIT_FEDERATION_ATTEST_H

#include "common/buf.h"
#include "common/err.h"
#include "common/time.h"
#include "federation/nodekey.h"
#include "stix/stix.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ATTEST_TYPE "x-strait-attestation"
/* Ed25519 over a label and the SHA-256 of the canonical form (see
 * docs/FEDERATION.md). Without "signature_alg", an attestation of an
 * earlier build: Ed25519 over the canonical form itself. */
#define ATTEST_SIG_ALG "ed25519-sha256"
#define ATTEST_MAX_BYTES (16u << 20)
#define ATTEST_MAX_OBJECTS 100000
#define ATTEST_MAX_RED 256
#define ATTEST_MAX_DIRECT 256

/* One object of a batch, as the origin holds it. */
struct attest_item {
	const char *id;
	const char *version; /* STIX timestamp: modified, or the version key */
	const char *canon;   /* the canonical JSON the node stores */
	size_t canon_len;
};

/* What travels with the batch. */
struct attest_meta {
	const char *origin;	/* the origin node's identity id */
	const char *const *red; /* identity ids named as RED recipients */
	size_t n_red;
	bool relay_green;
	/* Partner nodes (identity ids) the origin delivers every object of
	 * the batch to itself: a node relaying the batch need not send it
	 * to them ("direct"; optional). */
	const char *const *direct;
	size_t n_direct;
};

/*
 * Appends the signed attestation of items[0..n) to out (compact JSON, one
 * object), signed with the current key of k, dated now. ST_OK, or
 * ST_EINVAL / ST_ELIMIT with d (an item or the meta is not valid, too many
 * items).
 */
int attest_make(const struct nodekeys *k, const struct attest_meta *m,
		const struct attest_item *items, size_t n, st_time now,
		struct buf *out, struct diag *d);

/* A public key an origin signs with (its history). */
struct attest_key {
	char id[NODEKEY_ID_LEN + 1];
	uint8_t pk[NODEKEY_PUB_BYTES];
};

struct attest_entry {
	char id[STIX_ID_MAX];
	char version[TS_BUFSZ];
	uint8_t sha256[32];
};

/* A verified attestation. */
struct attest {
	char id[STIX_ID_MAX];
	char origin[STIX_ID_MAX];
	char key_id[NODEKEY_ID_LEN + 1];
	bool relay_green;
	struct attest_entry *entries; /* sorted by (id, version) */
	size_t n;
	char (*red)[STIX_ID_MAX];
	size_t n_red;
	char (*direct)[STIX_ID_MAX]; /* see attest_meta */
	size_t n_direct;
	/* id -> 1 + its first entry (open addressing, keyed hash) */
	uint32_t *index;
	size_t index_mask;
};

/*
 * Parses and verifies an attestation (len bytes of JSON): its shape and
 * every property, then the signature with the key of keys[0..nkeys) whose
 * id it names. On ST_OK *out is filled (free it with attest_free). Else
 * ST_EJSON / ST_ELIMIT / ST_EINVAL (malformed, with what and where),
 * ST_ENOTFOUND (a key id not among keys) or ST_EAUTH (the signature does
 * not verify), with d; *out is then empty.
 */
int attest_verify(const char *json, size_t len, const struct attest_key *keys,
		  size_t nkeys, struct attest *out, struct diag *d);
void attest_free(struct attest *a);

/* Only the "direct" list of an attestation verified before (one kept
 * since it arrived), into *out (*n ids; free *out; NULL when it names
 * none): parsed under the same limits, each id checked as attest_verify
 * checks it, the signature not. ST_OK, or an error with d and nothing in
 * *out. */
int attest_direct(const char *json, size_t len, char (**out)[STIX_ID_MAX],
		  size_t *n, struct diag *d);

/* The first of a's entries for id (they are adjacent) and, in *count, how
 * many there are; NULL (and 0) when a lists none. */
const struct attest_entry *attest_first(const struct attest *a, const char *id,
					size_t *count);

/* Whether the object (id, version) with these canonical bytes is what a
 * attests: ST_OK; ST_ENOTFOUND if a does not list it; ST_ECONFLICT if it
 * lists other bytes. */
int attest_check(const struct attest *a, const char *id, const char *version,
		 const char *canon, size_t canon_len);

#endif
