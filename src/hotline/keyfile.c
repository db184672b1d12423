/*
 * strait: a hotline principal's key file; see keyfile.h.
 */
#include "hotline/keyfile.h"

#include "common/le.h"
#include "common/secfile.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC "STHK"
#define FORMAT 1
#define KDF_ARGON2ID 1
#define FP_TAG "strait-hotline-fp-1"
#define SEALED_BYTES (crypto_sign_SECRETKEYBYTES + crypto_box_SECRETKEYBYTES)

/* Offsets in the file. */
enum {
	O_MAGIC = 0,
	O_FORMAT = 4,
	O_KDF = 5,
	O_OPS = 8,
	O_MEM = 16,
	O_SALT = 24,
	O_SIGN_PK = O_SALT + crypto_pwhash_SALTBYTES,
	O_BOX_PK = O_SIGN_PK + HOTLINE_PK_BYTES,
	O_NONCE = O_BOX_PK + HOTLINE_PK_BYTES,
	O_BOX = O_NONCE + crypto_secretbox_NONCEBYTES,
	O_END = O_BOX + crypto_secretbox_MACBYTES + SEALED_BYTES,
};
_Static_assert(O_END == HOTLINE_FILE_BYTES, "key file size");

int hotline_kdf_parse(const char *s, enum hotline_kdf *out)
{
	static const char *const names[] = {"interactive", "moderate",
					    "sensitive"};
	for (int i = 0; i < 3; i++)
		if (strcmp(s, names[i]) == 0) {
			*out = (enum hotline_kdf)i;
			return ST_OK;
		}
	return ST_EINVAL;
}

static void limits(enum hotline_kdf kdf, uint64_t *ops, uint64_t *mem)
{
	switch (kdf) {
	case HOTLINE_KDF_INTERACTIVE:
		*ops = crypto_pwhash_OPSLIMIT_INTERACTIVE;
		*mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;
		break;
	case HOTLINE_KDF_SENSITIVE:
		*ops = crypto_pwhash_OPSLIMIT_SENSITIVE;
		*mem = crypto_pwhash_MEMLIMIT_SENSITIVE;
		break;
	case HOTLINE_KDF_MODERATE:
	default:
		*ops = crypto_pwhash_OPSLIMIT_MODERATE;
		*mem = crypto_pwhash_MEMLIMIT_MODERATE;
		break;
	}
}

/* The box key from the passphrase, into key (sodium_malloc'd). */
static int derive(const char *pass, size_t passlen, const uint8_t *salt,
		  uint64_t ops, uint64_t mem, uint8_t *key, struct diag *d)
{
	if (crypto_pwhash(key, crypto_secretbox_KEYBYTES, pass, passlen, salt,
			  ops, (size_t)mem, crypto_pwhash_ALG_ARGON2ID13) != 0)
		return diag_set(d, ST_ENOMEM,
				"not enough memory to derive the key from the "
				"passphrase (%llu MiB)",
				(unsigned long long)(mem >> 20));
	return ST_OK;
}

int hotline_keygen(const char *path, const char *pass, size_t passlen,
		   enum hotline_kdf kdf, struct hotline_pub *pub,
		   struct diag *d)
{
	if (sodium_init() < 0)
		return diag_set(d, ST_EIO, "libsodium did not start");
	if (passlen < HOTLINE_PASS_MIN || passlen > HOTLINE_PASS_MAX)
		return diag_set(d, ST_EINVAL,
				"the passphrase must have %d to %d bytes",
				HOTLINE_PASS_MIN, HOTLINE_PASS_MAX);
	uint8_t file[HOTLINE_FILE_BYTES];
	memset(file, 0, sizeof(file));
	uint8_t *sec = sodium_malloc(SEALED_BYTES);
	uint8_t *key = sodium_malloc(crypto_secretbox_KEYBYTES);
	if (sec == NULL || key == NULL) {
		sodium_free(sec);
		sodium_free(key);
		return diag_set(d, ST_ENOMEM, "out of memory");
	}
	uint64_t ops, mem;
	limits(kdf, &ops, &mem);
	memcpy(file + O_MAGIC, MAGIC, 4);
	file[O_FORMAT] = FORMAT;
	file[O_KDF] = KDF_ARGON2ID;
	le_put64(file + O_OPS, ops);
	le_put64(file + O_MEM, mem);
	randombytes_buf(file + O_SALT, crypto_pwhash_SALTBYTES);
	crypto_sign_keypair(file + O_SIGN_PK, sec);
	crypto_box_keypair(file + O_BOX_PK, sec + crypto_sign_SECRETKEYBYTES);
	randombytes_buf(file + O_NONCE, crypto_secretbox_NONCEBYTES);
	int rc = derive(pass, passlen, file + O_SALT, ops, mem, key, d);
	if (rc == ST_OK)
		crypto_secretbox_easy(file + O_BOX, sec, SEALED_BYTES,
				      file + O_NONCE, key);
	sodium_free(sec);
	sodium_free(key);
	if (rc != ST_OK)
		return rc;
	/* Never over another file (it may be someone's only copy of their
	 * keys); a crash mid-write leaves a file open refuses by its size. */
	int fd = open(
	    path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return diag_set(d, errno == EEXIST ? ST_ECONFIG : ST_EIO,
				"%s: %s", path,
				errno == EEXIST ? "exists already: not replaced"
						: strerror(errno));
	if (write(fd, file, sizeof(file)) != (ssize_t)sizeof(file) ||
	    fsync(fd) != 0) {
		rc = diag_set(d, ST_EIO, "%s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return rc;
	}
	close(fd);
	/* the directory entry too */
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", path);
	int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	if (pub != NULL) {
		memcpy(pub->sign_pk, file + O_SIGN_PK, HOTLINE_PK_BYTES);
		memcpy(pub->box_pk, file + O_BOX_PK, HOTLINE_PK_BYTES);
	}
	return ST_OK;
}

void hotline_keys_free(struct hotline_keys *k)
{
	if (k == NULL)
		return;
	sodium_free(k->sign_sk);
	sodium_free(k->box_sk);
	free(k);
}

int hotline_keys_open(const char *path, const char *pass, size_t passlen,
		      struct hotline_keys **out, struct diag *d)
{
	*out = NULL;
	if (sodium_init() < 0)
		return diag_set(d, ST_EIO, "libsodium did not start");
	uint8_t file[HOTLINE_FILE_BYTES + 1];
	size_t n = 0;
	int rc = secfile_read(path, file, sizeof(file), &n, d);
	if (rc != ST_OK)
		return rc;
	if (n != HOTLINE_FILE_BYTES || memcmp(file + O_MAGIC, MAGIC, 4) != 0 ||
	    file[O_FORMAT] != FORMAT || file[O_KDF] != KDF_ARGON2ID)
		return diag_set(d, ST_ECONFIG,
				"%s: not a strait hotline key file", path);
	uint64_t ops = le_get64(file + O_OPS), mem = le_get64(file + O_MEM);
	/* limits a file may ask for: libsodium's own range, at most the
	 * sensitive setting (a changed file must not make us allocate
	 * without bound) */
	if (ops < crypto_pwhash_OPSLIMIT_MIN ||
	    ops > crypto_pwhash_OPSLIMIT_SENSITIVE ||
	    mem < crypto_pwhash_MEMLIMIT_MIN ||
	    mem > crypto_pwhash_MEMLIMIT_SENSITIVE)
		return diag_set(d, ST_ECONFIG,
				"%s: key derivation limits out of range", path);
	struct hotline_keys *k = calloc(1, sizeof(*k));
	uint8_t *sec = sodium_malloc(SEALED_BYTES);
	uint8_t *key = sodium_malloc(crypto_secretbox_KEYBYTES);
	if (k != NULL) {
		k->sign_sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
		k->box_sk = sodium_malloc(crypto_box_SECRETKEYBYTES);
	}
	if (k == NULL || k->sign_sk == NULL || k->box_sk == NULL ||
	    sec == NULL || key == NULL) {
		rc = diag_set(d, ST_ENOMEM, "out of memory");
		goto out;
	}
	rc = derive(pass, passlen, file + O_SALT, ops, mem, key, d);
	if (rc != ST_OK)
		goto out;
	if (crypto_secretbox_open_easy(sec, file + O_BOX,
				       crypto_secretbox_MACBYTES + SEALED_BYTES,
				       file + O_NONCE, key) != 0) {
		rc = diag_set(d, ST_EAUTH,
			      "%s: wrong passphrase, or the file was changed",
			      path);
		goto out;
	}
	memcpy(k->sign_sk, sec, crypto_sign_SECRETKEYBYTES);
	memcpy(k->box_sk, sec + crypto_sign_SECRETKEYBYTES,
	       crypto_box_SECRETKEYBYTES);
	/* the public keys in clear must be those of the secrets */
	uint8_t spk[HOTLINE_PK_BYTES], bpk[HOTLINE_PK_BYTES];
	crypto_sign_ed25519_sk_to_pk(spk, k->sign_sk);
	crypto_scalarmult_base(bpk, k->box_sk);
	if (memcmp(spk, file + O_SIGN_PK, HOTLINE_PK_BYTES) != 0 ||
	    memcmp(bpk, file + O_BOX_PK, HOTLINE_PK_BYTES) != 0) {
		rc = diag_set(d, ST_EAUTH,
			      "%s: its public keys are not those of its "
			      "secrets: the file was changed",
			      path);
		goto out;
	}
	memcpy(k->pub.sign_pk, spk, HOTLINE_PK_BYTES);
	memcpy(k->pub.box_pk, bpk, HOTLINE_PK_BYTES);
	*out = k;
	k = NULL;
out:
	sodium_free(sec);
	sodium_free(key);
	hotline_keys_free(k);
	return rc;
}

int hotline_keyfile_pub(const char *path, struct hotline_pub *pub,
			struct diag *d)
{
	uint8_t file[HOTLINE_FILE_BYTES + 1];
	size_t n = 0;
	int rc = secfile_read(path, file, sizeof(file), &n, d);
	if (rc != ST_OK)
		return rc;
	if (n != HOTLINE_FILE_BYTES || memcmp(file + O_MAGIC, MAGIC, 4) != 0 ||
	    file[O_FORMAT] != FORMAT || file[O_KDF] != KDF_ARGON2ID)
		return diag_set(d, ST_ECONFIG,
				"%s: not a strait hotline key file", path);
	memcpy(pub->sign_pk, file + O_SIGN_PK, HOTLINE_PK_BYTES);
	memcpy(pub->box_pk, file + O_BOX_PK, HOTLINE_PK_BYTES);
	return ST_OK;
}

void hotline_fingerprint(const struct hotline_pub *pub,
			 char out[HOTLINE_FP_TEXT])
{
	static const char digits[] = "0123456789abcdef";
	uint8_t in[sizeof(FP_TAG) - 1 + 2 * HOTLINE_PK_BYTES], h[20];
	memcpy(in, FP_TAG, sizeof(FP_TAG) - 1);
	memcpy(in + sizeof(FP_TAG) - 1, pub->sign_pk, HOTLINE_PK_BYTES);
	memcpy(in + sizeof(FP_TAG) - 1 + HOTLINE_PK_BYTES, pub->box_pk,
	       HOTLINE_PK_BYTES);
	crypto_generichash(h, sizeof(h), in, sizeof(in), NULL, 0);
	size_t o = 0;
	for (size_t i = 0; i < sizeof(h); i++) {
		if (i > 0 && i % 2 == 0)
			out[o++] = ' ';
		out[o++] = digits[h[i] >> 4];
		out[o++] = digits[h[i] & 15];
	}
	out[o] = '\0';
}
