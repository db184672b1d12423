/* strait: the node's Ed25519 signing keys; see nodekey.h. */
#include "federation/nodekey.h"

#include "common/le.h"
#include "common/secfile.h"

#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#define MAGIC "STNK"
#define FORMAT 1
#define HEAD_LEN 8
#define ENTRY_LEN (8 + 8 + NODEKEY_PUB_BYTES + 32)
#define FILE_MAX (HEAD_LEN + NODEKEY_HISTORY_MAX * ENTRY_LEN)

_Static_assert(crypto_sign_PUBLICKEYBYTES == NODEKEY_PUB_BYTES, "pk size");
_Static_assert(crypto_sign_BYTES == NODEKEY_SIG_BYTES, "signature size");
_Static_assert(crypto_sign_SEEDBYTES == 32, "seed size");
_Static_assert(
    sodium_base64_ENCODED_LEN(NODEKEY_PUB_BYTES,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) ==
	NODEKEY_PUB_TEXT,
    "public key text");

/* The secret of the current key, in guarded, locked memory. */
struct secret {
	uint8_t seed[32];
	uint8_t sk[crypto_sign_SECRETKEYBYTES];
};

struct nodekeys {
	struct nodekey_pub pub[NODEKEY_HISTORY_MAX];
	size_t n;
	struct secret *sec; /* of pub[n - 1] */
	char dir[PATH_MAX];
	char path[PATH_MAX];
};

void nodekey_id(const uint8_t pk[NODEKEY_PUB_BYTES],
		char out[NODEKEY_ID_LEN + 1])
{
	uint8_t h[32];
	crypto_generichash(h, sizeof(h), pk, NODEKEY_PUB_BYTES, NULL, 0);
	sodium_bin2hex(out, NODEKEY_ID_LEN + 1, h, NODEKEY_ID_LEN / 2);
}

void nodekey_pub_text(const uint8_t pk[NODEKEY_PUB_BYTES],
		      char out[NODEKEY_PUB_TEXT])
{
	sodium_bin2base64(out, NODEKEY_PUB_TEXT, pk, NODEKEY_PUB_BYTES,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

int nodekey_pub_parse(const char *s, uint8_t pk[NODEKEY_PUB_BYTES])
{
	size_t n = 0;
	const char *end = NULL;
	if (s == NULL || strlen(s) != NODEKEY_PUB_TEXT - 1 ||
	    sodium_base642bin(pk, NODEKEY_PUB_BYTES, s, strlen(s), NULL, &n,
			      &end,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    n != NODEKEY_PUB_BYTES || *end != '\0')
		return ST_EINVAL;
	return ST_OK;
}

static int keys_alloc(const char *home, struct nodekeys **out, struct diag *d)
{
	*out = NULL;
	if (sodium_init() < 0)
		return diag_set(d, ST_EIO, "libsodium did not start");
	struct nodekeys *k = calloc(1, sizeof(*k));
	if (k != NULL)
		k->sec = sodium_malloc(sizeof(*k->sec));
	if (k == NULL || k->sec == NULL) {
		free(k);
		return diag_set(d, ST_ENOMEM, "out of memory");
	}
	sodium_memzero(k->sec, sizeof(*k->sec));
	int rc = secfile_dir(home, k->dir, sizeof(k->dir) - 16, d);
	if (rc != ST_OK) {
		nodekeys_free(k);
		return rc;
	}
	snprintf(k->path, sizeof(k->path), "%s/node.key", k->dir);
	*out = k;
	return ST_OK;
}

void nodekeys_free(struct nodekeys *k)
{
	if (k == NULL)
		return;
	sodium_free(k->sec); /* wipes */
	free(k);
}

/* A new current key at pub[n] (the caller made room). */
static void keys_new(struct nodekeys *k, int64_t now)
{
	struct nodekey_pub *p = &k->pub[k->n++];
	randombytes_buf(k->sec->seed, sizeof(k->sec->seed));
	crypto_sign_seed_keypair(p->pk, k->sec->sk, k->sec->seed);
	nodekey_id(p->pk, p->id);
	p->created = now;
	p->retired = 0;
}

static int keys_save(struct nodekeys *k, struct diag *d)
{
	uint8_t img[FILE_MAX];
	memset(img, 0, HEAD_LEN);
	memcpy(img, MAGIC, 4);
	img[4] = FORMAT;
	img[5] = (uint8_t)k->n;
	for (size_t i = 0; i < k->n; i++) {
		uint8_t *e = img + HEAD_LEN + i * ENTRY_LEN;
		le_put64(e, (uint64_t)k->pub[i].created);
		le_put64(e + 8, (uint64_t)k->pub[i].retired);
		memcpy(e + 16, k->pub[i].pk, NODEKEY_PUB_BYTES);
		if (i + 1 == k->n)
			memcpy(e + 48, k->sec->seed, 32);
		else
			memset(e + 48, 0, 32);
	}
	int rc =
	    secfile_write(k->dir, k->path, img, HEAD_LEN + k->n * ENTRY_LEN, d);
	sodium_memzero(img, sizeof(img));
	return rc;
}

/* Parses the file image; the current seed goes to k->sec. */
static int keys_parse(struct nodekeys *k, const uint8_t *img, size_t n,
		      struct diag *d)
{
	size_t count = n >= HEAD_LEN ? img[5] : 0;
	if (n < HEAD_LEN || memcmp(img, MAGIC, 4) != 0 || img[4] != FORMAT ||
	    count == 0 || count > NODEKEY_HISTORY_MAX ||
	    n != HEAD_LEN + count * ENTRY_LEN)
		return diag_set(d, ST_ECONFIG, "%s: not a node key file",
				k->path);
	for (size_t i = 0; i < count; i++) {
		const uint8_t *e = img + HEAD_LEN + i * ENTRY_LEN;
		struct nodekey_pub *p = &k->pub[i];
		p->created = (int64_t)le_get64(e);
		p->retired = (int64_t)le_get64(e + 8);
		memcpy(p->pk, e + 16, NODEKEY_PUB_BYTES);
		nodekey_id(p->pk, p->id);
		bool last = i + 1 == count;
		if (last != (p->retired == 0))
			return diag_set(d, ST_ECONFIG,
					"%s: key %s: only the last key may "
					"be current",
					k->path, p->id);
	}
	k->n = count;
	/* The current key: its seed must give back its public key. */
	uint8_t pk[NODEKEY_PUB_BYTES];
	memcpy(k->sec->seed, img + HEAD_LEN + (count - 1) * ENTRY_LEN + 48, 32);
	crypto_sign_seed_keypair(pk, k->sec->sk, k->sec->seed);
	if (sodium_memcmp(pk, k->pub[count - 1].pk, NODEKEY_PUB_BYTES) != 0)
		return diag_set(d, ST_ECONFIG,
				"%s: the current key's secret does not match "
				"its public key",
				k->path);
	return ST_OK;
}

int nodekeys_create(const char *home, int64_t now, struct diag *d)
{
	struct nodekeys *k;
	int rc = keys_alloc(home, &k, d);
	if (rc != ST_OK)
		return rc;
	struct stat st;
	if (lstat(k->path, &st) == 0) {
		rc = diag_set(d, ST_ECONFIG,
			      "%s already exists: the node has its keys "
			      "(rotate them with 'strait node rotate-key')",
			      k->path);
	} else {
		keys_new(k, now);
		rc = keys_save(k, d);
	}
	nodekeys_free(k);
	return rc;
}

int nodekeys_load(const char *home, struct nodekeys **out, struct diag *d)
{
	/* Whoever holds the signing key is not dumpable: no core file, and
	 * no ptrace by anything but root. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	struct nodekeys *k;
	*out = NULL;
	int rc = keys_alloc(home, &k, d);
	if (rc != ST_OK)
		return rc;
	uint8_t *img = sodium_malloc(FILE_MAX);
	size_t n = 0;
	rc = img == NULL ? diag_set(d, ST_ENOMEM, "out of memory")
			 : secfile_read(k->path, img, FILE_MAX, &n, d);
	if (rc == ST_ENOTFOUND)
		diag_set(d, ST_ENOTFOUND,
			 "%s: the node has no signing key (homes made before "
			 "node keys: 'strait node rotate-key' makes one)",
			 k->path);
	else if (rc == ST_OK)
		rc = keys_parse(k, img, n, d);
	sodium_free(img);
	if (rc != ST_OK) {
		nodekeys_free(k);
		return rc;
	}
	*out = k;
	return ST_OK;
}

int nodekeys_rotate(struct nodekeys *k, int64_t now, struct diag *d)
{
	if (k->n == NODEKEY_HISTORY_MAX)
		return diag_set(d, ST_ELIMIT,
				"%s: the key history is full (%d keys)",
				k->path, NODEKEY_HISTORY_MAX);
	struct nodekey_pub *cur = &k->pub[k->n - 1];
	struct secret *prev = k->sec;
	k->sec = sodium_malloc(sizeof(*k->sec));
	if (k->sec == NULL) {
		k->sec = prev;
		return diag_set(d, ST_ENOMEM, "out of memory");
	}
	cur->retired = now > cur->created ? now : cur->created;
	keys_new(k, now);
	int rc = keys_save(k, d);
	if (rc != ST_OK) {
		/* Not persisted: keep signing with the old key. */
		sodium_free(k->sec);
		k->sec = prev;
		k->n--; /* the new key goes; the old one is current again */
		cur->retired = 0;
		return rc;
	}
	sodium_free(prev); /* the retired secret is gone */
	return ST_OK;
}

const struct nodekey_pub *nodekeys_current(const struct nodekeys *k)
{
	return &k->pub[k->n - 1];
}

size_t nodekeys_history(const struct nodekeys *k,
			const struct nodekey_pub **out)
{
	*out = k->pub;
	return k->n;
}

const struct nodekey_pub *nodekeys_find(const struct nodekeys *k,
					const char *id)
{
	for (size_t i = 0; id != NULL && i < k->n; i++)
		if (strcmp(k->pub[i].id, id) == 0)
			return &k->pub[i];
	return NULL;
}

int nodekeys_sign(const struct nodekeys *k, const void *m, size_t n,
		  uint8_t sig[NODEKEY_SIG_BYTES])
{
	return crypto_sign_detached(sig, NULL, m, n, k->sec->sk) == 0
		   ? ST_OK
		   : ST_EINVAL;
}

bool nodekey_verify(const uint8_t pk[NODEKEY_PUB_BYTES], const void *m,
		    size_t n, const uint8_t sig[NODEKEY_SIG_BYTES])
{
	return crypto_sign_verify_detached(sig, m, n, pk) == 0;
}
