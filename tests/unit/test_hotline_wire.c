/*
 * Unit tests of hotline messages on the wire (src/hotline/wire.c): the
 * sender's signature covers every header field, so nothing can be
 * re-addressed or relabelled; a sealed body opens only with its reader's
 * key and only if it is the body the sender signed; a receipt verifies
 * only under the reader's key and for its own message and kind; the JSON
 * form reads back the same and refuses what is malformed; the channel of
 * a set of nodes does not depend on their order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/json.h"
#include "hotline/wire.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KR "identity--6c1a4f8e-2a7b-4c3d-9e5f-0a1b2c3d4e5f"
#define JP "identity--0b5b3e0e-8f1d-4a3c-9d2e-1f2a3b4c5d6e"
#define US "identity--7d2c1b0a-3e4f-4a5b-8c6d-9e0f1a2b3c4d"

struct keys {
	uint8_t spk[32], ssk[64], bpk[32], bsk[32];
};

static void keys(struct keys *k)
{
	crypto_sign_keypair(k->spk, k->ssk);
	crypto_box_keypair(k->bpk, k->bsk);
}

static void header(struct hl_header *h, const char *body)
{
	memset(h, 0, sizeof(*h));
	snprintf(h->id, sizeof(h->id), "8c5f3a2e-1d4b-4e6f-9a8b-7c6d5e4f3a2b");
	const char *ids[] = {KR, JP};
	hl_channel_of(ids, 2, h->channel);
	snprintf(h->sender, sizeof(h->sender), "%s/kim", KR);
	snprintf(h->recipients[0], sizeof(h->recipients[0]), "%s/tanaka", JP);
	h->nrecipients = 1;
	h->type = HL_ALERT;
	h->status = HL_EXERCISE;
	h->prec = HL_FLASH;
	h->tlp = TLP_AMBER;
	snprintf(h->stix[0], sizeof(h->stix[0]),
		 "indicator--1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e");
	h->nstix = 1;
	h->sent = 1764201600000000;
	hl_set_body(h, body, strlen(body));
}

static void test_signature_covers_the_header(void **state)
{
	(void)state;
	struct keys k, other;
	keys(&k);
	keys(&other);
	struct hl_header h, x;
	header(&h, "북한 활동 / 北朝鮮の活動 / activity");
	assert_int_equal(hl_header_check(&h, NULL), ST_OK);
	uint8_t sig[HL_SIG_BYTES];
	assert_int_equal(hl_sign(&h, k.ssk, sig), ST_OK);
	assert_true(hl_verify(&h, k.spk, sig));
	assert_false(hl_verify(&h, other.spk, sig));
	/* each field changed breaks it */
	x = h;
	x.status = HL_ACTUAL;
	assert_false(hl_verify(&x, k.spk, sig));
	x = h;
	x.prec = HL_ROUTINE;
	assert_false(hl_verify(&x, k.spk, sig));
	x = h;
	x.type = HL_CANCEL;
	assert_false(hl_verify(&x, k.spk, sig));
	x = h;
	x.tlp = TLP_CLEAR;
	assert_false(hl_verify(&x, k.spk, sig));
	x = h;
	snprintf(x.recipients[1], sizeof(x.recipients[1]), "%s/smith", US);
	x.nrecipients = 2;
	assert_false(hl_verify(&x, k.spk, sig));
	x = h;
	x.recipients[0][strlen(x.recipients[0]) - 1] = 'b';
	assert_false(hl_verify(&x, k.spk, sig));
	x = h;
	x.channel[0] = x.channel[0] == 'a' ? 'b' : 'a';
	assert_false(hl_verify(&x, k.spk, sig));
	x = h;
	x.id[0] = x.id[0] == '8' ? '9' : '8';
	assert_false(hl_verify(&x, k.spk, sig));
	x = h;
	x.sent++;
	assert_false(hl_verify(&x, k.spk, sig));
	x = h;
	x.nstix = 0;
	assert_false(hl_verify(&x, k.spk, sig));
	x = h;
	x.body_sha256[0] ^= 1;
	assert_false(hl_verify(&x, k.spk, sig));
}

static void test_sealed_body(void **state)
{
	(void)state;
	struct keys reader, other;
	keys(&reader);
	keys(&other);
	const char *body = "FLASH: 確認してください";
	struct hl_header h;
	header(&h, body);
	uint8_t *ct;
	size_t len;
	char *out = NULL;
	struct diag d;
	assert_int_equal(hl_seal(body, strlen(body), reader.bpk, &ct, &len),
			 ST_OK);
	assert_int_equal(len, strlen(body) + crypto_box_SEALBYTES);
	for (size_t i = 0; i + 5 <= len; i++) /* no plaintext in it */
		assert_false(memcmp(ct + i, "FLASH", 5) == 0);
	assert_int_equal(hl_open(&h, ct, len, reader.bpk, reader.bsk, &out, &d),
			 ST_OK);
	assert_string_equal(out, body);
	free(out);
	/* another key cannot open it */
	assert_int_equal(hl_open(&h, ct, len, other.bpk, other.bsk, &out, &d),
			 ST_EINVAL);
	assert_null(out);
	/* another body sealed for the reader is not the one signed */
	uint8_t *ct2;
	size_t len2;
	const char *swap = "FLASH: 無視してください";
	assert_int_equal(strlen(swap), strlen(body));
	assert_int_equal(hl_seal(swap, strlen(swap), reader.bpk, &ct2, &len2),
			 ST_OK);
	assert_int_equal(
	    hl_open(&h, ct2, len2, reader.bpk, reader.bsk, &out, &d),
	    ST_EINVAL);
	assert_non_null(strstr(d.msg, "not the one the sender signed"));
	/* a cut ciphertext */
	assert_int_equal(
	    hl_open(&h, ct, len - 1, reader.bpk, reader.bsk, &out, &d),
	    ST_EINVAL);
	free(ct);
	free(ct2);
}

static void test_receipts(void **state)
{
	(void)state;
	struct keys k, other;
	keys(&k);
	keys(&other);
	struct hl_receipt_rec r, x;
	memset(&r, 0, sizeof(r));
	snprintf(r.msg, sizeof(r.msg), "8c5f3a2e-1d4b-4e6f-9a8b-7c6d5e4f3a2b");
	snprintf(r.principal, sizeof(r.principal), "%s/tanaka", JP);
	r.kind = HL_ACKNOWLEDGED;
	r.at = 1764201600000000;
	assert_int_equal(hl_receipt_sign(&r, k.ssk), ST_OK);
	assert_true(hl_receipt_verify(&r, k.spk));
	assert_false(hl_receipt_verify(&r, other.spk));
	x = r;
	x.kind = HL_DELIVERED; /* a delivered receipt is no ack */
	assert_false(hl_receipt_verify(&x, k.spk));
	x = r;
	x.msg[0] = '9';
	assert_false(hl_receipt_verify(&x, k.spk));
	x = r;
	x.at++;
	assert_false(hl_receipt_verify(&x, k.spk));
	/* JSON and back */
	struct buf b = BUF_INIT(4096);
	struct jw w;
	jw_init(&w, &b);
	hl_receipt_json(&w, &r);
	assert_int_equal(jw_finish(&w), ST_OK);
	struct json_doc *doc = json_doc_new();
	const struct json_val *root;
	assert_int_equal(json_parse(doc, b.data, b.len, 0, NULL, &root, NULL),
			 ST_OK);
	assert_int_equal(hl_receipt_parse(root, &x, NULL), ST_OK);
	assert_true(hl_receipt_verify(&x, k.spk));
	json_doc_free(doc);
	buf_free(&b);
}

static void test_header_json(void **state)
{
	(void)state;
	struct hl_header h, back;
	header(&h, "body");
	snprintf(h.refs[0], sizeof(h.refs[0]),
		 "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d");
	h.nrefs = 1;
	struct buf b = BUF_INIT(1 << 16);
	struct jw w;
	jw_init(&w, &b);
	hl_header_json(&w, &h);
	assert_int_equal(jw_finish(&w), ST_OK);
	struct json_doc *doc = json_doc_new();
	const struct json_val *root;
	struct diag d;
	assert_int_equal(json_parse(doc, b.data, b.len, 0, NULL, &root, NULL),
			 ST_OK);
	assert_int_equal(hl_header_parse(root, &back, &d), ST_OK);
	assert_memory_equal(&h, &back, sizeof(h));
	/* refused: a recipient that is not an address, an unknown
	 * precedence, a body over the limit */
	static const char *const bad[][2] = {
	    {"\"tanaka\"", "recipients[0]"},
	    {"\"URGENT\"", "precedence"},
	    {"99999999", "body_size"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *s = strdup(b.data);
		const char *field = i == 0   ? "\"recipients\":["
				    : i == 1 ? "\"precedence\":"
					     : "\"body_size\":";
		char *at = strstr(s, field) + strlen(field);
		char *end = at + strcspn(at, ",]}");
		char t[4096];
		snprintf(t, sizeof(t), "%.*s%s%s", (int)(at - s), s, bad[i][0],
			 end);
		assert_int_equal(
		    json_parse(doc, t, strlen(t), 0, NULL, &root, NULL), ST_OK);
		assert_int_equal(hl_header_parse(root, &back, &d), ST_EINVAL);
		assert_non_null(strstr(d.msg, bad[i][1]));
		free(s);
	}
	json_doc_free(doc);
	buf_free(&b);
}

static void test_channel(void **state)
{
	(void)state;
	const char *a[] = {KR, JP, US}, *b[] = {US, KR, JP}, *c[] = {KR, JP},
		   *e[] = {JP, KR, JP};
	char ca[HL_ID_LEN + 1], cb[HL_ID_LEN + 1], cc[HL_ID_LEN + 1],
	    ce[HL_ID_LEN + 1];
	hl_channel_of(a, 3, ca);
	hl_channel_of(b, 3, cb);
	hl_channel_of(c, 2, cc);
	hl_channel_of(e, 3, ce);
	assert_string_equal(ca, cb);	 /* trilateral, any order */
	assert_string_not_equal(ca, cc); /* bilateral is another channel */
	assert_string_equal(cc, ce);	 /* a node named twice counts once */
	struct hl_header h;
	header(&h, "x");
	memcpy(h.channel, ca, sizeof(ca));
	assert_int_equal(hl_header_check(&h, NULL), ST_OK);
	assert_true(hl_addr_valid(KR "/kim", NULL));
	assert_false(hl_addr_valid(KR "/Kim", NULL));
	assert_false(hl_addr_valid("indicator--6c1a4f8e-2a7b-4c3d-9e5f-"
				   "0a1b2c3d4e5f/kim",
				   NULL));
	assert_false(hl_addr_valid(KR "/", NULL));
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_signature_covers_the_header),
	    cmocka_unit_test(test_sealed_body),
	    cmocka_unit_test(test_receipts),
	    cmocka_unit_test(test_header_json),
	    cmocka_unit_test(test_channel),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
