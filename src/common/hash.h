/* strait: SHA-256, the hash of attestations, provenance records and
 * certificate pins. nettle's, which uses the CPU's SHA instructions where
 * it has them (libsodium's is portable C, eight times slower here, and
 * every object crossing a node boundary is hashed on both sides). */
#ifndef STRAIT_COMMON_HASH_H
#define STRAIT_COMMON_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_SHA256_BYTES 32

void hash_sha256(const void *p, size_t n, uint8_t out[HASH_SHA256_BYTES]);

/* The same, as 64 lowercase hex digits and a NUL. */
void hash_sha256_hex(const void *p, size_t n, char out[65]);

/*
 * The digest of a set of object versions, as the release records and the
 * audit log keep what a partner was given: SHA-256 over the lines
 * "id|version\n" (the version as ts_format writes it), sorted bytewise,
 * so that anyone holding the set (the partner's own records) recomputes
 * it whatever the order. ST_OK or ST_ENOMEM. Ids longer than
 * HASH_VERSION_ID_MAX bytes are cut there.
 */
#define HASH_VERSION_ID_MAX 256
struct hash_version {
	const char *id;
	int64_t version; /* st_time */
};
int hash_versions_hex(const struct hash_version *v, size_t n, char out[65]);

#endif
