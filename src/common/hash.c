/* strait: SHA-256; see hash.h. */
#include "common/hash.h"

#include "common/err.h"
#include "common/time.h"

#include <nettle/sha2.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(SHA256_DIGEST_SIZE == HASH_SHA256_BYTES, "digest size");

void hash_sha256(const void *p, size_t n, uint8_t out[HASH_SHA256_BYTES])
{
	struct sha256_ctx c;
	sha256_init(&c);
	sha256_update(&c, n, p);
	sha256_digest(&c, HASH_SHA256_BYTES, out);
}

static void to_hex(const uint8_t h[HASH_SHA256_BYTES], char out[65])
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < HASH_SHA256_BYTES; i++) {
		out[2 * i] = digits[h[i] >> 4];
		out[2 * i + 1] = digits[h[i] & 15];
	}
	out[64] = '\0';
}

void hash_sha256_hex(const void *p, size_t n, char out[65])
{
	uint8_t h[HASH_SHA256_BYTES];
	hash_sha256(p, n, h);
	to_hex(h, out);
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Made for every batch a node sends, so without printf. */
int hash_versions_hex(const struct hash_version *v, size_t n, char out[65])
{
	size_t each = HASH_VERSION_ID_MAX + TS_BUFSZ + 2;
	char **lines = calloc(n > 0 ? n : 1, sizeof(*lines));
	char *text = malloc((n > 0 ? n : 1) * each);
	char *all = malloc((n > 0 ? n : 1) * each);
	int rc = ST_OK;
	if (lines == NULL || text == NULL || all == NULL) {
		rc = ST_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		char *p = lines[i] = text + i * each;
		size_t il = strnlen(v[i].id, HASH_VERSION_ID_MAX);
		memcpy(p, v[i].id, il);
		p[il] = '|';
		ts_format(v[i].version, p + il + 1);
		size_t tl = strlen(p + il + 1);
		p[il + 1 + tl] = '\n';
		p[il + 2 + tl] = '\0';
	}
	qsort(lines, n, sizeof(*lines), cmp_line);
	size_t len = 0;
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(lines[i]);
		memcpy(all + len, lines[i], l);
		len += l;
	}
	hash_sha256_hex(all, len, out);
out:
	free(lines);
	free(text);
	free(all);
	return rc;
}
