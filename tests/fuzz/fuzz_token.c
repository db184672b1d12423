/*
 * Fuzzes the paging-token and stream-cursor decoders with fixed keys
 * (current id 7, previous id 6). The first byte picks the mode: even, the rest is the token text;
 * odd, the rest is raw bytes, base64url-encoded first (so the fuzzer
 * reaches the key id and the MAC directly). A token that decodes must be
 * one this harness's fixed claims produced (the corpus holds real ones):
 * its claims (a cursor: its position) equal them exactly, and it never
 * decodes for another account.
 */
#include "taxii/token.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct token_keys *keys;
static struct token_claims want;
static struct token_expect expect, other;

static void setup(void)
{
	uint8_t cur[TOKEN_KEY_BYTES], prev[TOKEN_KEY_BYTES];
	memset(cur, 0x5a, sizeof(cur));
	memset(prev, 0xa5, sizeof(prev));
	keys = token_keys_from_bytes(cur, 7, prev, 6);
	if (keys == NULL)
		abort();
	want.account_id = 42;
	want.root_index = 1;
	want.collection_id = 7;
	token_filter_hash("match[type]=indicator", 21, want.filter_hash);
	want.date_added = 1700000000123456;
	want.seq = 99;
	want.policy_epoch = 3;
	memset(want.incarnation, 0xc3, sizeof(want.incarnation));
	want.expires = 4000000000;
	expect.account_id = want.account_id;
	expect.root_index = want.root_index;
	expect.collection_id = want.collection_id;
	memcpy(expect.filter_hash, want.filter_hash, 32);
	expect.policy_epoch = want.policy_epoch;
	memcpy(expect.incarnation, want.incarnation, 16);
	expect.now = 1800000000;
	other = expect;
	other.account_id = 4242; /* no corpus token was made for it */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[2 * TOKEN_MAX_LEN + 8];
	const char *s;
	size_t len;
	struct token_claims got;

	if (keys == NULL)
		setup();
	if (size == 0)
		return 0;
	if (data[0] & 1) {
		if (size - 1 > TOKEN_MAX_LEN)
			return 0;
		sodium_bin2base64(text, sizeof(text), data + 1, size - 1,
				  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
		s = text;
		len = strlen(text);
	} else {
		s = (const char *)data + 1;
		len = size - 1;
	}
	int rc = token_decode(keys, s, len, &expect, &got);
	if (rc == TOKEN_OK && memcmp(&got, &want, sizeof(got)) != 0)
		abort();
	if (rc != TOKEN_OK) {
		static const struct token_claims zero;
		if (memcmp(&got, &zero, sizeof(got)) != 0)
			abort();
	}
	if (token_decode(keys, s, len, &other, &got) == TOKEN_OK)
		abort();
	/* The same text as a stream cursor. */
	int64_t at = -1;
	rc = token_cursor_decode(keys, s, len, &expect, &at);
	if (rc == TOKEN_OK ? at != want.date_added : at != 0)
		abort();
	if (token_cursor_decode(keys, s, len, &other, &at) == TOKEN_OK)
		abort();
	return 0;
}
