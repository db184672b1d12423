/* strait: SHA-256; see hash.h. */
#include "common/hash.h"

#include <nettle/sha2.h>

_Static_assert(SHA256_DIGEST_SIZE == HASH_SHA256_BYTES, "digest size");

void hash_sha256(const void *p, size_t n, uint8_t out[HASH_SHA256_BYTES])
{
	struct sha256_ctx c;
	sha256_init(&c);
	sha256_update(&c, n, p);
	sha256_digest(&c, HASH_SHA256_BYTES, out);
}

void hash_sha256_hex(const void *p, size_t n, char out[65])
{
	static const char digits[] = "0123456789abcdef";
	uint8_t h[HASH_SHA256_BYTES];
	hash_sha256(p, n, h);
	for (size_t i = 0; i < HASH_SHA256_BYTES; i++) {
		out[2 * i] = digits[h[i] >> 4];
		out[2 * i + 1] = digits[h[i] & 15];
	}
	out[64] = '\0';
}
