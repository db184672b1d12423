/*
 * Unit tests of provenance attestations (src/federation/attest.c): what a
 * node signs verifies, each object's bytes are checked, and any change to
 * the attestation, an unknown key or a malformed one is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/json.h"
#include "federation/attest.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOW 1790000000000000LL
#define ORIGIN "identity--6c1a4f8e-2a7b-4c3d-9e5f-0a1b2c3d4e5f"
#define JP "identity--0b9f8e7d-6c5b-4a39-8271-605f4e3d2c1b"

static const char *const ids[] = {
    "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
    "malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b",
};
static const char *const vers[] = {"2026-11-01T10:00:00.000Z",
				   "2026-11-02T11:30:00.000Z"};
static const char *const bodies[] = {
    "{\"id\":\"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f\",\"x\":1}",
    "{\"id\":\"malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b\",\"x\":2}",
};

struct fx {
	char home[256];
	struct nodekeys *k;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct diag d;
	const char *tmp = getenv("TMPDIR");
	snprintf(f->home, sizeof(f->home), "%s/strait-attest-XXXXXX",
		 tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	assert_non_null(mkdtemp(f->home));
	assert_int_equal(nodekeys_create(f->home, 1790000000, &d), ST_OK);
	assert_int_equal(nodekeys_load(f->home, &f->k, &d), ST_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char p[512];
	nodekeys_free(f->k);
	snprintf(p, sizeof(p), "%s/keys/node.key", f->home);
	unlink(p);
	snprintf(p, sizeof(p), "%s/keys", f->home);
	rmdir(p);
	rmdir(f->home);
	free(f);
	return 0;
}

static void keys_of(const struct nodekeys *k, struct attest_key *out, size_t *n)
{
	const struct nodekey_pub *h;
	*n = nodekeys_history(k, &h);
	for (size_t i = 0; i < *n; i++) {
		memcpy(out[i].id, h[i].id, sizeof(out[i].id));
		memcpy(out[i].pk, h[i].pk, sizeof(out[i].pk));
	}
}

/* Signs the two objects; the text is in *out (caller frees). */
/* Signs the two objects with m into *out (initialised here): the rc. */
static int sign_two(struct fx *f, const struct attest_meta *m, struct buf *out,
		    struct diag *d)
{
	struct attest_item items[2];
	for (int i = 0; i < 2; i++)
		items[i] = (struct attest_item){ids[i], vers[i], bodies[i],
						strlen(bodies[i])};
	buf_init(out, 1 << 20);
	return attest_make(f->k, m, items, 2, NOW, out, d);
}

static void make(struct fx *f, bool relay, struct buf *out)
{
	static const char *const red[] = {JP};
	struct attest_meta m = {ORIGIN, red, 1, relay, NULL, 0};
	struct diag d;
	assert_int_equal(sign_two(f, &m, out, &d), ST_OK);
}

static int verify(struct fx *f, const char *text, struct attest *a,
		  struct diag *d)
{
	struct attest_key keys[NODEKEY_HISTORY_MAX];
	size_t n;
	keys_of(f->k, keys, &n);
	return attest_verify(text, strlen(text), keys, n, a, d);
}

/* Every entry is found by its id, the versions of one id together, in a
 * batch as large as a push; an id not listed is not. */
static void test_index(void **state)
{
	struct fx *f = *state;
	enum { IDS = 1500 };
	struct attest_item *items = calloc(3 * IDS, sizeof(*items));
	char(*id)[64] = calloc(IDS, sizeof(*id));
	static const char *const v3[] = {"2026-11-01T10:00:00.000Z",
					 "2026-11-01T11:00:00.000Z",
					 "2026-11-01T12:00:00.000Z"};
	assert_non_null(items);
	assert_non_null(id);
	size_t n = 0;
	for (size_t i = 0; i < IDS; i++)
		snprintf(id[i], sizeof(id[i]),
			 "indicator--00000000-0000-4000-8000-%012zu", i);
	for (size_t i = IDS; i-- > 0;) /* given in reverse */
		for (size_t k = 0; k <= i % 3; k++)
			items[n++] =
			    (struct attest_item){id[i], v3[k], "{}", 2};
	struct attest_meta m = {ORIGIN, NULL, 0, false, NULL, 0};
	struct buf b;
	struct diag d;
	struct attest a;
	buf_init(&b, 8 << 20);
	assert_int_equal(attest_make(f->k, &m, items, n, NOW, &b, &d), ST_OK);
	/* listed in (id, version) order, whatever the order given */
	const char *at = b.data;
	for (size_t i = 0; i < IDS; i++) {
		const char *p = strstr(b.data, id[i]);
		assert_non_null(p);
		assert_true(p > at);
		at = p;
	}
	assert_int_equal(verify(f, b.data, &a, &d), ST_OK);
	assert_int_equal(a.n, n);
	for (size_t i = 0; i < IDS; i++) {
		size_t count;
		const struct attest_entry *e = attest_first(&a, id[i], &count);
		assert_non_null(e);
		assert_int_equal(count, i % 3 + 1);
		for (size_t k = 0; k < count; k++) {
			assert_string_equal(e[k].id, id[i]);
			assert_string_equal(e[k].version, v3[k]);
		}
	}
	size_t count = 9;
	assert_null(attest_first(&a,
				 "indicator--00000000-0000-4000-8000-"
				 "999999999999",
				 &count));
	assert_int_equal(count, 0);
	attest_free(&a);
	buf_free(&b);
	free(items);
	free(id);
}

static void test_round_trip(void **state)
{
	struct fx *f = *state;
	struct buf b;
	struct attest a;
	struct diag d;
	make(f, true, &b);
	assert_int_equal(verify(f, b.data, &a, &d), ST_OK);
	assert_string_equal(a.origin, ORIGIN);
	assert_string_equal(a.key_id, nodekeys_current(f->k)->id);
	assert_true(a.relay_green);
	assert_int_equal(a.n_red, 1);
	assert_string_equal(a.red[0], JP);
	assert_int_equal(a.n, 2);
	assert_int_equal(strncmp(a.id, ATTEST_TYPE "--", 22), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(attest_check(&a, ids[i], vers[i], bodies[i],
					      strlen(bodies[i])),
				 ST_OK);
	/* Other bytes under a listed (id, version): a conflict; what is not
	 * listed: not found. */
	const char *other = "{\"x\":3}";
	assert_int_equal(
	    attest_check(&a, ids[0], vers[0], other, strlen(other)),
	    ST_ECONFLICT);
	assert_int_equal(
	    attest_check(&a, ids[0], vers[1], bodies[0], strlen(bodies[0])),
	    ST_ENOTFOUND);
	assert_int_equal(attest_check(&a,
				      "indicator--00000000-0000-4000-8000-"
				      "000000000000",
				      vers[0], bodies[0], strlen(bodies[0])),
			 ST_ENOTFOUND);
	attest_free(&a);

	/* It is a valid STIX 2.1 object (a custom type), so it can travel
	 * in an envelope through any TAXII server. */
	struct json_doc *doc = json_doc_new();
	const struct json_val *root;
	assert_int_equal(json_parse(doc, b.data, b.len, 0, NULL, &root, &d),
			 ST_OK);
	struct stix_info info;
	struct stix_report rep;
	stix_report_init(&rep);
	int rc = stix_validate(root, &info, &rep);
	struct buf txt = BUF_INIT(1 << 16);
	stix_report_format(&rep, "attestation", false, &txt);
	if (txt.len > 0)
		fprintf(stderr, "%s", txt.data);
	assert_int_equal(rc, ST_OK);
	/* Not even a warning: a partner's validator has nothing to say. */
	assert_int_equal(rep.n_warnings, 0);
	buf_free(&txt);
	assert_true(info.custom_type);
	stix_report_free(&rep);
	json_doc_free(doc);
	buf_free(&b);
}

/* Replaces the first occurrence of from in s by to (same length). */
static void patch(char *s, const char *from, const char *to)
{
	char *p = strstr(s, from);
	assert_non_null(p);
	assert_int_equal(strlen(from), strlen(to));
	memcpy(p, to, strlen(to));
}

/* A copy of s with the first from replaced by to (caller frees). */
static char *replaced(const char *s, const char *from, const char *to)
{
	const char *p = strstr(s, from);
	assert_non_null(p);
	size_t pre = (size_t)(p - s), fl = strlen(from), tl = strlen(to);
	char *r = malloc(strlen(s) - fl + tl + 1);
	assert_non_null(r);
	memcpy(r, s, pre);
	memcpy(r + pre, to, tl);
	strcpy(r + pre + tl, p + fl);
	return r;
}

/* text with from replaced by to is refused by attest_verify with rc, the
 * message naming msg, and nothing left in the result. */
static void refused(struct fx *f, const char *text, const char *from,
		    const char *to, int rc, const char *msg)
{
	struct attest a;
	struct diag d;
	char *t = replaced(text, from, to);
	assert_int_equal(verify(f, t, &a, &d), rc);
	assert_non_null(strstr(d.msg, msg));
	assert_null(a.entries);
	free(t);
}

static void test_tampering(void **state)
{
	struct fx *f = *state;
	struct buf b;
	struct attest a;
	struct diag d;
	make(f, false, &b);
	char *t = malloc(b.len + 1);

	/* Any signed property changed: the signature fails. */
	memcpy(t, b.data, b.len + 1);
	patch(t, "\"relay_green\":false", "\"relay_green\":true ");
	assert_int_equal(verify(f, t, &a, &d), ST_EAUTH);
	assert_non_null(strstr(d.msg, "does not verify"));
	memcpy(t, b.data, b.len + 1);
	char *h = strstr(t, "\"sha256\":\"") + 10;
	*h = *h == 'a' ? 'b' : 'a';
	assert_int_equal(verify(f, t, &a, &d), ST_EAUTH);
	memcpy(t, b.data, b.len + 1);
	patch(t, JP, "identity--0b9f8e7d-6c5b-4a39-8271-605f4e3d2c1c");
	assert_int_equal(verify(f, t, &a, &d), ST_EAUTH);
	memcpy(t, b.data, b.len + 1);
	patch(t, "2026-11-02T11:30:00.000Z", "2026-11-02T11:30:00.001Z");
	assert_int_equal(verify(f, t, &a, &d), ST_EAUTH);

	/* Without its signature, or with a truncated one. */
	{
		char *sig = strstr(b.data, ",\"signature\"");
		size_t keep = (size_t)(sig - b.data);
		memcpy(t, b.data, keep);
		strcpy(t + keep, "}");
	}
	assert_int_equal(verify(f, t, &a, &d), ST_EINVAL);
	assert_non_null(strstr(d.msg, "'signature'"));
	memcpy(t, b.data, b.len + 1);
	{
		char *end = strrchr(t, '"');
		memmove(end - 4, end, strlen(end) + 1);
	}
	assert_int_equal(verify(f, t, &a, &d), ST_EINVAL);

	/* A key the origin is not known to have. */
	struct attest_key none = {"0000000000000000", {0}};
	assert_int_equal(attest_verify(b.data, b.len, &none, 1, &a, &d),
			 ST_ENOTFOUND);
	assert_non_null(strstr(d.msg, "not a known key"));
	/* Nothing is returned for a refused attestation. */
	assert_null(a.entries);
	assert_int_equal(a.n, 0);
	free(t);
	buf_free(&b);
}

/* What is signed is the canonical form the receiver rebuilds: the
 * attestation is written in it, so the bytes before the signature are
 * their own canonical form. */
static void test_written_canonical(void **state)
{
	struct fx *f = *state;
	struct buf b, c = BUF_INIT(1 << 20);
	struct diag d;
	make(f, true, &b);
	char *sig = strstr(b.data, ",\"signature\"");
	assert_non_null(sig);
	size_t keep = (size_t)(sig - b.data);
	char *t = malloc(keep + 2);
	memcpy(t, b.data, keep);
	strcpy(t + keep, "}");
	struct json_doc *doc = json_doc_new();
	const struct json_val *root;
	assert_int_equal(json_parse(doc, t, keep + 1, 0, NULL, &root, &d),
			 ST_OK);
	assert_int_equal(json_canonical(root, &c, &d), ST_OK);
	assert_int_equal(c.len, keep + 1);
	assert_memory_equal(c.data, t, keep + 1);
	assert_non_null(strstr(t, "\"signature_alg\":\"" ATTEST_SIG_ALG "\""));
	json_doc_free(doc);
	buf_free(&c);
	free(t);
	buf_free(&b);
}

/* The signature's algorithm is signed with it: dropped, the signature no
 * longer verifies (it cannot be downgraded to the older message); changed,
 * the attestation is refused by name. */
static void test_signature_alg(void **state)
{
	struct fx *f = *state;
	struct buf b;
	make(f, false, &b);
	refused(f, b.data, ",\"signature_alg\":\"" ATTEST_SIG_ALG "\"", "",
		ST_EAUTH, "does not verify");
	refused(f, b.data, "\"" ATTEST_SIG_ALG "\"", "\"ed25519-sha512\"",
		ST_EINVAL, "'signature_alg'");
	buf_free(&b);
}

/* An attestation of an earlier build (no "signature_alg"; Ed25519 over
 * the canonical form itself) still verifies, so a partner that has not
 * upgraded, and what was kept from it, are not quarantined. */
static void test_earlier_signature(void **state)
{
	struct fx *f = *state;
	struct diag d;
	struct attest a;
	char text[2048], sigt[100];
	char unsig[1024];
	snprintf(unsig, sizeof(unsig),
		 "{\"created\":\"2026-11-01T10:00:00.000Z\","
		 "\"created_by_ref\":\"%s\","
		 "\"id\":\"" ATTEST_TYPE "--2f0d6e52-8d7c-4a1b-9e3f-"
		 "5a6b7c8d9e0f\",\"key_id\":\"%s\","
		 "\"modified\":\"2026-11-01T10:00:00.000Z\","
		 "\"objects\":[{\"id\":\"%s\",\"sha256\":\"%064d\","
		 "\"version\":\"%s\"}],\"red_recipients\":[],"
		 "\"relay_green\":false,\"spec_version\":\"2.1\","
		 "\"type\":\"" ATTEST_TYPE "\"}",
		 ORIGIN, nodekeys_current(f->k)->id, ids[0], 0, vers[0]);
	uint8_t sig[NODEKEY_SIG_BYTES];
	assert_int_equal(nodekeys_sign(f->k, unsig, strlen(unsig), sig), ST_OK);
	sodium_bin2base64(sigt, sizeof(sigt), sig, sizeof(sig),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	snprintf(text, sizeof(text), "%.*s,\"signature\":\"%s\"}",
		 (int)strlen(unsig) - 1, unsig, sigt);
	assert_int_equal(verify(f, text, &a, &d), ST_OK);
	assert_int_equal(a.n, 1);
	assert_string_equal(a.entries[0].id, ids[0]);
	attest_free(&a);
	/* and is still bound by what it signed */
	char *t =
	    replaced(text, "\"relay_green\":false", "\"relay_green\":true");
	assert_int_equal(verify(f, t, &a, &d), ST_EAUTH);
	free(t);
}

/* The partners the origin delivers the batch to itself: signed with the
 * rest, absent when none, refused when malformed. */
static void test_direct(void **state)
{
	struct fx *f = *state;
	static const char *const direct[] = {
	    JP, "identity--7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"};
	struct attest_meta m = {ORIGIN, NULL, 0, true, direct, 2};
	struct diag d;
	struct attest a;
	struct buf b;
	assert_int_equal(sign_two(f, &m, &b, &d), ST_OK);
	assert_int_equal(verify(f, b.data, &a, &d), ST_OK);
	assert_int_equal(a.n_direct, 2);
	assert_string_equal(a.direct[0], JP);
	assert_string_equal(a.direct[1], direct[1]);
	attest_free(&a);
	/* signed: a relaying node cannot add a partner, or take one out */
	refused(f, b.data, JP, "identity--0b9f8e7d-6c5b-4a39-8271-605f4e3d2c1c",
		ST_EAUTH, "does not verify");
	/* malformed */
	refused(f, b.data, "\"direct\":[", "\"direct\":[\"x\",", ST_EINVAL,
		"direct[0]");
	/* read alone from a kept attestation: the same list, the same
	 * checks */
	char(*dl)[STIX_ID_MAX];
	size_t ndl;
	assert_int_equal(attest_direct(b.data, b.len, &dl, &ndl, &d), ST_OK);
	assert_int_equal(ndl, 2);
	assert_string_equal(dl[0], JP);
	assert_string_equal(dl[1], direct[1]);
	free(dl);
	char *t = replaced(b.data, "\"direct\":[", "\"direct\":[\"x\",");
	assert_int_equal(attest_direct(t, strlen(t), &dl, &ndl, &d), ST_EINVAL);
	assert_non_null(strstr(d.msg, "direct[0]"));
	assert_null(dl);
	assert_int_equal(ndl, 0);
	free(t);
	buf_free(&b);
	/* none: no member at all (what an earlier build reads) */
	m.n_direct = 0;
	assert_int_equal(sign_two(f, &m, &b, &d), ST_OK);
	assert_null(strstr(b.data, "\"direct\""));
	assert_int_equal(verify(f, b.data, &a, &d), ST_OK);
	assert_int_equal(a.n_direct, 0);
	assert_null(a.direct);
	attest_free(&a);
	assert_int_equal(attest_direct(b.data, b.len, &dl, &ndl, &d), ST_OK);
	assert_int_equal(ndl, 0);
	assert_null(dl);
	buf_free(&b);
	/* a bad one is never made */
	static const char *const bad[] = {"not-an-identity"};
	struct attest_meta mb = {ORIGIN, NULL, 0, true, bad, 1};
	assert_int_equal(sign_two(f, &mb, &b, &d), ST_EINVAL);
	assert_non_null(strstr(d.msg, "direct"));
	buf_free(&b);
}

static void test_malformed(void **state)
{
	struct fx *f = *state;
	struct attest a;
	struct diag d;
	static const struct {
		const char *json;
		int rc;
		const char *msg;
	} cases[] = {
	    {"", ST_EJSON, NULL},
	    {"[]", ST_EINVAL, "not an object"},
	    {"{\"type\":\"indicator\"}", ST_EINVAL, "'type'"},
	    {"{\"type\":\"x-strait-attestation\",\"spec_version\":\"2.0\"}",
	     ST_EINVAL, "'spec_version'"},
	    {"{\"type\":\"x-strait-attestation\",\"spec_version\":\"2.1\","
	     "\"created\":\"2026-01-01T00:00:00Z\",\"modified\":\"2026-01-01T"
	     "00:00:00Z\",\"id\":\"indicator--8e2e2d2b-17d4-4cbf-938f-"
	     "98ee46b3cd3f\"}",
	     ST_EINVAL, "'id'"},
	    {"{\"a\":{\"b\":{\"c\":{\"d\":{}}}}}", ST_ELIMIT, NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = verify(f, cases[i].json, &a, &d);
		assert_int_equal(rc, cases[i].rc);
		if (cases[i].msg != NULL)
			assert_non_null(strstr(d.msg, cases[i].msg));
	}

	/* The same (id, version) listed twice: refused by the receiver
	 * (before the signature is looked at) and never made. */
	struct buf b;
	make(f, false, &b);
	char *t = replaced(b.data, ids[1], ids[0]);
	patch(t, vers[1], vers[0]);
	assert_int_equal(verify(f, t, &a, &d), ST_EINVAL);
	assert_non_null(strstr(d.msg, "listed twice"));
	free(t);
	buf_free(&b);
	/* An entry's members: each named once, the hash in lowercase hex
	 * (one spelling of a signed value). */
	make(f, false, &b);
	refused(f, b.data, "\"version\":", "\"versiom\":", ST_EINVAL,
		"objects[0]: not {id, version, sha256}");
	t = malloc(b.len + 1);
	memcpy(t, b.data, b.len + 1);
	{
		char *h = strstr(t, "\"sha256\":\"") + 10;
		while (!(*h >= 'a' && *h <= 'f'))
			h++;
		*h = (char)(*h - 'a' + 'A');
	}
	assert_int_equal(verify(f, t, &a, &d), ST_EINVAL);
	assert_non_null(strstr(d.msg, "bad sha256"));
	free(t);
	refused(f, b.data, "\"sha256\":\"", "\"sha256\":\"0", ST_EINVAL,
		"bad sha256");
	buf_free(&b);
	struct attest_item twice[2] = {
	    {ids[0], vers[0], bodies[0], strlen(bodies[0])},
	    {ids[0], vers[0], bodies[1], strlen(bodies[1])}};
	struct attest_meta m0 = {ORIGIN, NULL, 0, false, NULL, 0};
	buf_init(&b, 1 << 16);
	assert_int_equal(attest_make(f->k, &m0, twice, 2, NOW, &b, &d),
			 ST_EINVAL);
	assert_non_null(strstr(d.msg, "listed twice"));
	buf_free(&b);

	/* Making one: nothing to attest, a bad id or version, a bad
	 * origin. */
	struct attest_item it = {ids[0], vers[0], bodies[0], 3};
	struct attest_meta m = {ORIGIN, NULL, 0, false, NULL, 0};
	buf_init(&b, 1 << 16);
	assert_int_equal(attest_make(f->k, &m, &it, 0, NOW, &b, &d), ST_EINVAL);
	it.id = "indicator-8e2e2d2b";
	assert_int_equal(attest_make(f->k, &m, &it, 1, NOW, &b, &d), ST_EINVAL);
	it.id = ids[0];
	it.version = "yesterday";
	assert_int_equal(attest_make(f->k, &m, &it, 1, NOW, &b, &d), ST_EINVAL);
	it.version = vers[0];
	m.origin = "NCSC";
	assert_int_equal(attest_make(f->k, &m, &it, 1, NOW, &b, &d), ST_EINVAL);
	assert_int_equal(b.len, 0);
	buf_free(&b);
}

static void test_rotation(void **state)
{
	struct fx *f = *state;
	struct buf b;
	struct attest a;
	struct diag d;
	make(f, false, &b);
	struct attest_key before[NODEKEY_HISTORY_MAX];
	size_t nb;
	keys_of(f->k, before, &nb);
	assert_int_equal(nodekeys_rotate(f->k, 1790000100, &d), ST_OK);
	/* Signed before the rotation: still verifies with the history. */
	assert_int_equal(verify(f, b.data, &a, &d), ST_OK);
	assert_string_equal(a.key_id, before[0].id);
	attest_free(&a);
	/* But not with the new key alone. */
	struct attest_key now[NODEKEY_HISTORY_MAX];
	size_t nn;
	keys_of(f->k, now, &nn);
	assert_int_equal(nn, 2);
	assert_int_equal(attest_verify(b.data, b.len, &now[1], 1, &a, &d),
			 ST_ENOTFOUND);
	buf_free(&b);
	/* New attestations name the new key. */
	make(f, false, &b);
	assert_int_equal(attest_verify(b.data, b.len, &now[1], 1, &a, &d),
			 ST_OK);
	assert_string_equal(a.key_id, now[1].id);
	attest_free(&a);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_index, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tampering, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_written_canonical, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_signature_alg, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_earlier_signature, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_direct, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
