/*
 * Unit tests of the paging tokens and stream cursors (src/taxii/token.c):
 * round trip, every byte tampered, every binding field, expiry, key
 * rotation and the key file's permissions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "taxii/token.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define T0 1800000000 /* a fixed "now", unix seconds */

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void claims_fill(struct token_claims *c)
{
	memset(c, 0, sizeof(*c));
	c->account_id = 42;
	c->root_index = 1;
	c->collection_id = 7;
	token_filter_hash("match[type]=indicator", 21, c->filter_hash);
	c->date_added = 1700000000123456;
	c->seq = 99;
	c->policy_epoch = 3;
	for (int i = 0; i < 16; i++)
		c->incarnation[i] = (uint8_t)(0xa0 + i);
	c->expires = T0 + 3600;
}

static void expect_from(const struct token_claims *c, struct token_expect *e)
{
	memset(e, 0, sizeof(*e));
	e->account_id = c->account_id;
	e->root_index = c->root_index;
	e->collection_id = c->collection_id;
	memcpy(e->filter_hash, c->filter_hash, 32);
	e->policy_epoch = c->policy_epoch;
	memcpy(e->incarnation, c->incarnation, 16);
	e->now = T0;
}

static struct token_keys *fixed_keys(uint8_t fill, uint8_t id)
{
	uint8_t k[TOKEN_KEY_BYTES];
	memset(k, fill, sizeof(k));
	return token_keys_from_bytes(k, id, NULL, 0);
}

static void test_round_trip(void **state)
{
	(void)state;
	struct token_keys *k = fixed_keys(1, 1);
	struct token_claims c, out;
	struct token_expect e;
	char tok[TOKEN_BUFSZ], tok2[TOKEN_BUFSZ];

	claims_fill(&c);
	expect_from(&c, &e);
	assert_int_equal(token_encode(k, &c, tok, sizeof(tok)), ST_OK);
	assert_int_equal(strlen(tok), TOKEN_ENCODED_LEN);
	/* base64url without padding */
	assert_int_equal(strspn(tok, b64url), TOKEN_ENCODED_LEN);
	assert_int_equal(token_decode(k, tok, strlen(tok), &e, &out), TOKEN_OK);
	assert_memory_equal(&c, &out, sizeof(c));
	/* A fresh nonce each time: the same claims never give the same
	   token (nothing to correlate), both decode. */
	assert_int_equal(token_encode(k, &c, tok2, sizeof(tok2)), ST_OK);
	assert_string_not_equal(tok, tok2);
	assert_int_equal(token_decode(k, tok2, strlen(tok2), &e, &out),
			 TOKEN_OK);
	/* Extremes survive the packing. */
	c.account_id = INT64_MAX;
	c.collection_id = INT64_MIN;
	c.date_added = -1;
	c.seq = UINT64_MAX;
	c.root_index = UINT32_MAX;
	c.policy_epoch = UINT32_MAX;
	expect_from(&c, &e);
	assert_int_equal(token_encode(k, &c, tok, sizeof(tok)), ST_OK);
	assert_int_equal(token_decode(k, tok, strlen(tok), &e, &out), TOKEN_OK);
	assert_memory_equal(&c, &out, sizeof(c));
	/* Too small an output buffer. */
	assert_int_equal(token_encode(k, &c, tok, TOKEN_BUFSZ - 1), ST_ELIMIT);
	token_keys_free(k);
}

/* Changing any one character of the text, or any one bit of the bytes
   under it, must be refused. */
static void test_tamper(void **state)
{
	(void)state;
	struct token_keys *k = fixed_keys(2, 5);
	struct token_claims c, out;
	struct token_expect e;
	char tok[TOKEN_BUFSZ], bad[TOKEN_BUFSZ];
	uint8_t raw[200];
	size_t raw_len;

	claims_fill(&c);
	expect_from(&c, &e);
	assert_int_equal(token_encode(k, &c, tok, sizeof(tok)), ST_OK);
	for (size_t i = 0; i < TOKEN_ENCODED_LEN; i++) {
		for (size_t a = 0; a < 64; a += 7) {
			if (b64url[a] == tok[i])
				continue;
			memcpy(bad, tok, sizeof(tok));
			bad[i] = b64url[a];
			int rc =
			    token_decode(k, bad, TOKEN_ENCODED_LEN, &e, &out);
			if (rc == TOKEN_OK)
				fail_msg("char %zu changed to %c accepted", i,
					 b64url[a]);
			/* Nothing of the claims leaks on failure. */
			struct token_claims zero;
			memset(&zero, 0, sizeof(zero));
			assert_memory_equal(&out, &zero, sizeof(out));
		}
	}
	assert_int_equal(
	    sodium_base642bin(raw, sizeof(raw), tok, TOKEN_ENCODED_LEN, NULL,
			      &raw_len, NULL,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING),
	    0);
	assert_int_equal(raw_len, 139);
	for (size_t i = 0; i < raw_len; i++) {
		for (int bit = 0; bit < 8; bit++) {
			raw[i] ^= (uint8_t)(1u << bit);
			sodium_bin2base64(
			    bad, sizeof(bad), raw, raw_len,
			    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
			int rc = token_decode(k, bad, strlen(bad), &e, &out);
			/* Byte 0 is the key id: another id is an unknown key;
			   everything else breaks the MAC. */
			assert_int_equal(rc, i == 0 ? TOKEN_EEXPIRED
						    : TOKEN_ETAMPERED);
			raw[i] ^= (uint8_t)(1u << bit);
		}
	}
	/* Another node's key with the same id: a forgery. */
	struct token_keys *other = fixed_keys(3, 5);
	assert_int_equal(token_decode(other, tok, strlen(tok), &e, &out),
			 TOKEN_ETAMPERED);
	token_keys_free(other);
	token_keys_free(k);
}

static void test_malformed(void **state)
{
	(void)state;
	struct token_keys *k = fixed_keys(4, 1);
	struct token_claims c, out;
	struct token_expect e;
	char tok[TOKEN_BUFSZ];
	char big[TOKEN_MAX_LEN + 2];

	claims_fill(&c);
	expect_from(&c, &e);
	assert_int_equal(token_encode(k, &c, tok, sizeof(tok)), ST_OK);
	memset(big, 'A', sizeof(big));
	big[sizeof(big) - 1] = '\0';
	const struct {
		const char *s;
		size_t len;
	} cases[] = {
	    {"", 0},
	    {"abc", 3},
	    {tok, TOKEN_ENCODED_LEN - 1}, /* truncated */
	    {big, TOKEN_MAX_LEN + 1},	  /* over the cap */
	    {big, TOKEN_ENCODED_LEN},	  /* right size, garbage */
	    {NULL, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(
		    token_decode(k, cases[i].s, cases[i].len, &e, &out),
		    cases[i].s == big && cases[i].len == TOKEN_ENCODED_LEN
			? TOKEN_EEXPIRED /* key id 0 is unknown */
			: TOKEN_EMALFORMED);
	/* Padding, standard base64 and embedded NULs are not base64url. */
	char t2[TOKEN_BUFSZ + 4];
	memcpy(t2, tok, sizeof(tok));
	t2[10] = '+';
	assert_int_equal(token_decode(k, t2, TOKEN_ENCODED_LEN, &e, &out),
			 TOKEN_EMALFORMED);
	memcpy(t2, tok, sizeof(tok));
	t2[10] = '\0';
	assert_int_equal(token_decode(k, t2, TOKEN_ENCODED_LEN, &e, &out),
			 TOKEN_EMALFORMED);
	memcpy(t2, tok, sizeof(tok));
	strcat(t2, "==");
	assert_int_equal(token_decode(k, t2, strlen(t2), &e, &out),
			 TOKEN_EMALFORMED);
	token_keys_free(k);
}

/* Each binding field on its own makes the token foreign or stale. */
static void test_binding(void **state)
{
	(void)state;
	struct token_keys *k = fixed_keys(5, 1);
	struct token_claims c, out;
	struct token_expect e;
	char tok[TOKEN_BUFSZ];

	claims_fill(&c);
	assert_int_equal(token_encode(k, &c, tok, sizeof(tok)), ST_OK);
	for (int field = 0; field < 6; field++) {
		expect_from(&c, &e);
		int want = TOKEN_EFOREIGN;
		switch (field) {
		case 0:
			e.account_id = 43;
			break;
		case 1:
			e.root_index = 0;
			break;
		case 2:
			e.collection_id = 8;
			break;
		case 3:
			token_filter_hash("match[type]=malware", 19,
					  e.filter_hash);
			break;
		case 4:
			e.policy_epoch = 4;
			want = TOKEN_ESTALE;
			break;
		case 5:
			e.incarnation[15] ^= 1;
			want = TOKEN_ESTALE;
			break;
		}
		assert_int_equal(token_decode(k, tok, strlen(tok), &e, &out),
				 want);
	}
	expect_from(&c, &e);
	assert_int_equal(token_decode(k, tok, strlen(tok), &e, &out), TOKEN_OK);
	token_keys_free(k);
}

static void test_expiry(void **state)
{
	(void)state;
	struct token_keys *k = fixed_keys(6, 1);
	struct token_claims c, out;
	struct token_expect e;
	char tok[TOKEN_BUFSZ];

	claims_fill(&c);
	expect_from(&c, &e);
	assert_int_equal(token_encode(k, &c, tok, sizeof(tok)), ST_OK);
	e.now = c.expires - 1;
	assert_int_equal(token_decode(k, tok, strlen(tok), &e, &out), TOKEN_OK);
	e.now = c.expires;
	assert_int_equal(token_decode(k, tok, strlen(tok), &e, &out),
			 TOKEN_EEXPIRED);
	e.now = c.expires + 86400;
	assert_int_equal(token_decode(k, tok, strlen(tok), &e, &out),
			 TOKEN_EEXPIRED);
	/* now = 0 means the real clock: T0 + 3600 is long past by then. */
	c.expires = 1000;
	assert_int_equal(token_encode(k, &c, tok, sizeof(tok)), ST_OK);
	e.now = 0;
	assert_int_equal(token_decode(k, tok, strlen(tok), &e, &out),
			 TOKEN_EEXPIRED);
	token_keys_free(k);
}

/* The key id byte of a token or a stream cursor. */
static int key_id_of(const char *tok)
{
	uint8_t raw[200];
	size_t n = 0;
	assert_int_equal(
	    sodium_base642bin(raw, sizeof(raw), tok, strlen(tok), NULL, &n,
			      NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING),
	    0);
	assert_true(n == 139 || n == 57); /* a paging token, a cursor */
	return raw[0];
}

static char *make_home(void)
{
	char *home = strdup("/tmp/strait-token-XXXXXX");
	assert_non_null(mkdtemp(home));
	return home;
}

static void rm_home(char *home)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/keys/paging.key", home);
	unlink(p);
	snprintf(p, sizeof(p), "%s/keys", home);
	rmdir(p);
	rmdir(home);
	free(home);
}

static void test_key_file(void **state)
{
	(void)state;
	char *home = make_home();
	char path[512];
	struct stat st;
	struct diag d;
	struct token_claims c, out;
	struct token_expect e;
	char tok[TOKEN_BUFSZ];

	struct token_keys *k = token_keys_load_at(home, T0, &d);
	assert_non_null(k);
	snprintf(path, sizeof(path), "%s/keys", home);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	snprintf(path, sizeof(path), "%s/keys/paging.key", home);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	/* A second load reads the same key back. */
	claims_fill(&c);
	expect_from(&c, &e);
	assert_int_equal(token_encode(k, &c, tok, sizeof(tok)), ST_OK);
	token_keys_free(k);
	k = token_keys_load_at(home, T0 + 60, &d);
	assert_non_null(k);
	assert_int_equal(token_decode(k, tok, strlen(tok), &e, &out), TOKEN_OK);
	token_keys_free(k);

	/* A key file others can read is refused, not used. */
	assert_int_equal(chmod(path, 0644), 0);
	k = token_keys_load_at(home, T0 + 60, &d);
	assert_null(k);
	assert_non_null(strstr(d.msg, "0600"));
	assert_int_equal(chmod(path, 0600), 0);

	/* A corrupt file is refused. */
	FILE *f = fopen(path, "r+b");
	assert_non_null(f);
	fputs("XXXX", f);
	fclose(f);
	assert_null(token_keys_load_at(home, T0 + 60, &d));
	rm_home(home);
}

static void test_rotation(void **state)
{
	(void)state;
	char *home = make_home();
	struct diag d;
	struct token_claims c, out;
	struct token_expect e;
	char a[TOKEN_BUFSZ], b[TOKEN_BUFSZ], x[TOKEN_BUFSZ];

	claims_fill(&c);
	c.expires = T0 + 10 * TOKEN_KEY_ROTATE_S;
	expect_from(&c, &e);

	struct token_keys *k = token_keys_load_at(home, T0, &d);
	assert_non_null(k);
	assert_int_equal(token_encode(k, &c, a, sizeof(a)), ST_OK);
	token_keys_free(k);

	/* Just under the age: no rotation, a and a new token share a key. */
	k = token_keys_load_at(home, T0 + TOKEN_KEY_ROTATE_S - 1, &d);
	assert_non_null(k);
	assert_int_equal(token_encode(k, &c, x, sizeof(x)), ST_OK);
	assert_int_equal(key_id_of(a), key_id_of(x));
	token_keys_free(k);

	/* Rotated on load: a was made with what is now the previous key. */
	k = token_keys_load_at(home, T0 + TOKEN_KEY_ROTATE_S, &d);
	assert_non_null(k);
	assert_int_equal(token_decode(k, a, strlen(a), &e, &out), TOKEN_OK);
	assert_int_equal(token_encode(k, &c, b, sizeof(b)), ST_OK);
	assert_int_not_equal(key_id_of(a), key_id_of(b));
	token_keys_free(k);

	/* Rotated again: b still decodes, a (two keys ago) no longer. */
	k = token_keys_load_at(home, T0 + 2 * TOKEN_KEY_ROTATE_S, &d);
	assert_non_null(k);
	assert_int_equal(token_decode(k, b, strlen(b), &e, &out), TOKEN_OK);
	assert_int_equal(token_decode(k, a, strlen(a), &e, &out),
			 TOKEN_EEXPIRED);

	/* token_keys_rotate: not due, the key stays; forced, x (made with
	   the current key) moves to the previous slot and b rotates out;
	   forced again, x rotates out too. */
	char y[TOKEN_BUFSZ];
	assert_int_equal(token_encode(k, &c, x, sizeof(x)), ST_OK);
	assert_int_equal(
	    token_keys_rotate(k, T0 + 2 * TOKEN_KEY_ROTATE_S + 5, 0, &d),
	    ST_OK);
	assert_int_equal(token_encode(k, &c, y, sizeof(y)), ST_OK);
	assert_int_equal(key_id_of(x), key_id_of(y));
	assert_int_equal(
	    token_keys_rotate(k, T0 + 2 * TOKEN_KEY_ROTATE_S + 5, 1, &d),
	    ST_OK);
	assert_int_equal(token_decode(k, x, strlen(x), &e, &out), TOKEN_OK);
	assert_int_equal(token_decode(k, b, strlen(b), &e, &out),
			 TOKEN_EEXPIRED);
	assert_int_equal(
	    token_keys_rotate(k, T0 + 2 * TOKEN_KEY_ROTATE_S + 6, 1, &d),
	    ST_OK);
	assert_int_equal(token_decode(k, x, strlen(x), &e, &out),
			 TOKEN_EEXPIRED);
	token_keys_free(k);

	/* The forced rotations were persisted. */
	k = token_keys_load_at(home, T0 + 2 * TOKEN_KEY_ROTATE_S + 7, &d);
	assert_non_null(k);
	assert_int_equal(token_decode(k, x, strlen(x), &e, &out),
			 TOKEN_EEXPIRED);
	assert_int_equal(token_encode(k, &c, y, sizeof(y)), ST_OK);
	assert_int_equal(token_decode(k, y, strlen(y), &e, &out), TOKEN_OK);
	token_keys_free(k);
	rm_home(home);
}

/* Stream cursors: round trip, every character altered, every binding
 * field, expiry, key rotation, and never confused with paging tokens. */
static void test_cursor(void **state)
{
	(void)state;
	struct token_keys *k = fixed_keys(1, 1);
	struct token_claims c, out;
	struct token_expect e;
	struct token_cursor_key ck;
	char a[TOKEN_CURSOR_BUFSZ], b[TOKEN_CURSOR_BUFSZ];
	int64_t at = -1;
	struct diag d;

	claims_fill(&c);
	expect_from(&c, &e);
	assert_int_equal(token_cursor_key_init(&ck, k, &c), ST_OK);
	assert_int_equal(token_cursor_encode(&ck, c.date_added, T0 + 60, a),
			 ST_OK);
	assert_int_equal(strlen(a), TOKEN_CURSOR_LEN);
	assert_int_equal(strspn(a, b64url), TOKEN_CURSOR_LEN);
	assert_int_equal(token_cursor_decode(k, a, strlen(a), &e, &at),
			 TOKEN_OK);
	assert_int_equal(at, c.date_added);
	/* A fresh nonce each time: the same position never repeats. */
	assert_int_equal(token_cursor_encode(&ck, c.date_added, T0 + 60, b),
			 ST_OK);
	assert_string_not_equal(a, b);

	/* Every character changed: never accepted. */
	for (size_t i = 0; i < TOKEN_CURSOR_LEN; i++) {
		char t[TOKEN_CURSOR_BUFSZ];
		memcpy(t, a, sizeof(t));
		t[i] = t[i] == 'A' ? 'B' : 'A';
		int rc = token_cursor_decode(k, t, strlen(t), &e, &at);
		assert_true(rc == TOKEN_ETAMPERED || rc == TOKEN_EMALFORMED ||
			    rc == TOKEN_EEXPIRED);
		assert_int_equal(at, 0);
	}

	/* Another account, collection, root, filter, epoch, incarnation. */
	for (int f = 0; f < 6; f++) {
		struct token_expect o = e;
		switch (f) {
		case 0:
			o.account_id++;
			break;
		case 1:
			o.collection_id++;
			break;
		case 2:
			o.root_index++;
			break;
		case 3:
			o.filter_hash[0] ^= 1;
			break;
		case 4:
			o.policy_epoch++;
			break;
		default:
			o.incarnation[15] ^= 1;
			break;
		}
		assert_int_equal(token_cursor_decode(k, a, strlen(a), &o, &at),
				 TOKEN_ETAMPERED);
	}

	/* Expired at its expiry second. */
	struct token_expect late = e;
	late.now = T0 + 60;
	assert_int_equal(token_cursor_decode(k, a, strlen(a), &late, &at),
			 TOKEN_EEXPIRED);

	/* Not a paging token, nor the reverse; wrong lengths. */
	char p[TOKEN_BUFSZ];
	assert_int_equal(token_encode(k, &c, p, sizeof(p)), ST_OK);
	assert_int_equal(token_cursor_decode(k, p, strlen(p), &e, &at),
			 TOKEN_EMALFORMED);
	assert_int_equal(token_decode(k, a, strlen(a), &e, &out),
			 TOKEN_EMALFORMED);
	assert_int_equal(
	    token_cursor_decode(k, a, TOKEN_CURSOR_LEN - 1, &e, &at),
	    TOKEN_EMALFORMED);

	/* Rotation: the subscriber's key follows the current key; a cursor
	 * of the previous key opens, one from two keys ago has expired. */
	assert_int_equal(token_keys_rotate(k, T0, 1, &d), ST_OK);
	assert_int_equal(token_cursor_decode(k, a, strlen(a), &e, &at),
			 TOKEN_OK);
	assert_int_equal(token_cursor_encode(&ck, c.date_added + 1, T0 + 60, b),
			 ST_OK);
	assert_int_not_equal(key_id_of(a), key_id_of(b));
	assert_int_equal(token_cursor_decode(k, b, strlen(b), &e, &at),
			 TOKEN_OK);
	assert_int_equal(at, c.date_added + 1);
	assert_int_equal(token_keys_rotate(k, T0, 1, &d), ST_OK);
	assert_int_equal(token_cursor_decode(k, a, strlen(a), &e, &at),
			 TOKEN_EEXPIRED);
	assert_int_equal(token_cursor_decode(k, b, strlen(b), &e, &at),
			 TOKEN_OK);

	token_cursor_key_wipe(&ck);
	token_keys_free(k);
}

static void test_filter_hash(void **state)
{
	(void)state;
	uint8_t a[32], b[32], c[32];
	token_filter_hash("x", 1, a);
	token_filter_hash("x", 1, b);
	token_filter_hash("y", 1, c);
	assert_memory_equal(a, b, 32);
	assert_memory_not_equal(a, c, 32);
	assert_string_equal(token_strerror(TOKEN_ETAMPERED), "tampered");
	assert_string_equal(token_strerror(TOKEN_EFOREIGN), "foreign");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),	cmocka_unit_test(test_tamper),
	    cmocka_unit_test(test_malformed),	cmocka_unit_test(test_binding),
	    cmocka_unit_test(test_expiry),	cmocka_unit_test(test_key_file),
	    cmocka_unit_test(test_rotation),	cmocka_unit_test(test_cursor),
	    cmocka_unit_test(test_filter_hash),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
