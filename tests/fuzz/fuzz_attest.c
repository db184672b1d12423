/*
 * Fuzzes the attestation verifier (what a peer sends beside its objects)
 * with a fixed origin key: seed bytes 0x42 repeated (the corpus holds real
 * attestations signed with it). Whatever the input: no crash, no leak;
 * an attestation that verifies lists at least one object, and each of its
 * entries answers attest_check; it never verifies under another key.
 */
#include "federation/attest.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct attest_key good, other;
static bool ready;

static void setup(void)
{
	uint8_t seed[32], sk[64];
	if (sodium_init() < 0)
		abort();
	memset(seed, 0x42, sizeof(seed));
	crypto_sign_seed_keypair(good.pk, sk, seed);
	nodekey_id(good.pk, good.id);
	memset(seed, 0x43, sizeof(seed));
	crypto_sign_seed_keypair(other.pk, sk, seed);
	/* Same id, another key: an impostor naming the right key id. */
	memcpy(other.id, good.id, sizeof(other.id));
	ready = true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct attest a;
	if (!ready)
		setup();
	int rc = attest_verify((const char *)data, size, &good, 1, &a, NULL);
	if (rc == ST_OK) {
		if (a.n == 0 || a.entries == NULL)
			abort();
		for (size_t i = 0; i < a.n; i++) {
			int c = attest_check(&a, a.entries[i].id,
					     a.entries[i].version, "{}", 2);
			if (c != ST_OK && c != ST_ECONFLICT)
				abort();
		}
		attest_free(&a);
		if (attest_verify((const char *)data, size, &other, 1, &a,
				  NULL) == ST_OK)
			abort();
	} else if (a.entries != NULL || a.n != 0) {
		abort();
	}
	return 0;
}
