/*
 * strait: a hotline principal's keys, kept by the principal in a file
 * sealed with a passphrase; the node never holds them (it stores and
 * relays public keys and ciphertext only).
 *
 * A principal has an Ed25519 key (signs messages and receipts) and an
 * X25519 key (messages are encrypted to it). The file, integers
 * little-endian (240 bytes):
 *
 *   magic "STHK" (4) | format 1 (1) | kdf 1 = Argon2id (1) | reserved (2) |
 *   opslimit (8) | memlimit (8) | salt (16) |
 *   signing public key (32) | encryption public key (32) |
 *   nonce (24) | secretbox(signing secret key (64) | encryption secret (32))
 *
 * The box key is crypto_pwhash (Argon2id) of the passphrase and the salt,
 * with the limits the file names. Opening checks that the public keys in
 * clear are those of the secrets sealed, so neither can be swapped. The
 * fingerprint, read aloud to confirm a key out of band, is the first 20
 * bytes of BLAKE2b("strait-hotline-fp-1" | signing public | encryption
 * public), in 10 groups of 4 hex digits.
 */
#ifndef STRAIT_HOTLINE_KEYFILE_H
#define STRAIT_HOTLINE_KEYFILE_H

#include "common/err.h"

#include <stddef.h>
#include <stdint.h>

#define HOTLINE_PK_BYTES 32
#define HOTLINE_FILE_BYTES 240
#define HOTLINE_FP_TEXT 50 /* 10 groups of 4, 9 spaces, NUL */
#define HOTLINE_PASS_MIN 12
#define HOTLINE_PASS_MAX 1024

/* How hard the passphrase is made to guess (libsodium's limits). */
enum hotline_kdf {
	HOTLINE_KDF_INTERACTIVE, /* 64 MiB: tests, and slow machines */
	HOTLINE_KDF_MODERATE,	 /* 256 MiB: the default */
	HOTLINE_KDF_SENSITIVE,	 /* 1 GiB */
};
int hotline_kdf_parse(const char *s, enum hotline_kdf *out);

struct hotline_pub {
	uint8_t sign_pk[HOTLINE_PK_BYTES];
	uint8_t box_pk[HOTLINE_PK_BYTES];
};

/* The secrets, in sodium_malloc'd memory (locked, wiped on free). */
struct hotline_keys {
	struct hotline_pub pub;
	uint8_t *sign_sk; /* 64 bytes */
	uint8_t *box_sk;  /* 32 bytes */
};

/* Makes new keys and writes them to path (0600), sealed with the
 * passphrase; refuses a path that exists. *pub gets the public keys.
 * ST_EINVAL: passphrase shorter than HOTLINE_PASS_MIN or longer than
 * HOTLINE_PASS_MAX bytes; ST_ECONFIG: the file exists; ST_EIO. */
int hotline_keygen(const char *path, const char *pass, size_t passlen,
		   enum hotline_kdf kdf, struct hotline_pub *pub,
		   struct diag *d);

/* Opens the file with the passphrase. ST_EAUTH: wrong passphrase, or a
 * file changed since it was written; ST_ECONFIG: not a key file, or one
 * group or others may read; ST_ENOTFOUND; ST_EIO. */
int hotline_keys_open(const char *path, const char *pass, size_t passlen,
		      struct hotline_keys **out, struct diag *d);
void hotline_keys_free(struct hotline_keys *k);

/* The public keys of a key file, without the passphrase (what the node's
 * operator enrolls). They are not authenticated here: opening the file
 * with its passphrase checks them against the secrets. */
int hotline_keyfile_pub(const char *path, struct hotline_pub *pub,
			struct diag *d);

void hotline_fingerprint(const struct hotline_pub *pub,
			 char out[HOTLINE_FP_TEXT]);

#endif
