/* strait: provenance attestations; see attest.h and docs/FEDERATION.md. */
#include "federation/attest.h"

#include "common/hash.h"
#include "common/hex.h"
#include "common/json.h"
#include "common/uuid.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIG_TEXT 87 /* base64url of 64 bytes, no padding, and its NUL */
#define PREFIX ATTEST_TYPE "--"

_Static_assert(sodium_base64_ENCODED_LEN(
		   NODEKEY_SIG_BYTES,
		   sodium_base64_VARIANT_URLSAFE_NO_PADDING) == SIG_TEXT,
	       "signature text");

/* A STIX id: "type--uuid" with a lowercase type, as the validator wants
 * it; enough for an attestation's lists (the objects themselves are
 * validated when they are ingested). */
static bool id_ok(const char *s, size_t n)
{
	if (n == 0 || n >= STIX_ID_MAX)
		return false;
	const char *sep = strstr(s, "--");
	if (sep == NULL || sep == s || (size_t)(s + n - (sep + 2)) != 36)
		return false;
	for (const char *p = s; p < sep; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		      *p == '-'))
			return false;
	uint8_t u[16];
	return uuid_parse(sep + 2, 36, false, u) == ST_OK;
}

static bool version_ok(const char *s, size_t n)
{
	st_time t;
	return n > 0 && n < TS_BUFSZ && ts_parse(s, n, &t, NULL) == ST_OK;
}

/* ---- Making ------------------------------------------------------------ */

/* "key": [ids...] */
static void put_ids(struct jw *w, const char *key, const char *const *ids,
		    size_t n)
{
	jw_key(w, key);
	jw_arr_open(w);
	for (size_t i = 0; i < n; i++)
		jw_str(w, ids[i]);
	jw_arr_close(w);
}

/* The attestation without its signature, written straight in RFC 8785
 * canonical form: members in key order, ASCII strings only (ids, hex,
 * timestamps), so there is nothing to reorder or escape. A receiver
 * rebuilds the same bytes from what it parsed. */
static int write_unsigned(const struct nodekeys *k, const struct attest_meta *m,
			  const struct attest_item *const *items, size_t n,
			  st_time now, struct buf *b, struct diag *d)
{
	struct jw w;
	char ts[TS_BUFSZ], id[STIX_ID_MAX], us[UUID_STRLEN + 1], hex[65];
	uint8_t u[16];
	uuid_v4(u);
	uuid_format(u, us);
	snprintf(id, sizeof(id), "%s%s", PREFIX, us);
	ts_format_ms(now, ts);
	jw_init(&w, b);
	jw_obj_open(&w);
	jw_key(&w, "created");
	jw_str(&w, ts);
	jw_key(&w, "created_by_ref");
	jw_str(&w, m->origin);
	if (m->n_direct > 0)
		put_ids(&w, "direct", m->direct, m->n_direct);
	jw_key(&w, "id");
	jw_str(&w, id);
	jw_key(&w, "key_id");
	jw_str(&w, nodekeys_current(k)->id);
	jw_key(&w, "modified");
	jw_str(&w, ts);
	jw_key(&w, "objects");
	jw_arr_open(&w);
	for (size_t i = 0; i < n; i++) {
		hash_sha256_hex(items[i]->canon, items[i]->canon_len, hex);
		jw_obj_open(&w);
		jw_key(&w, "id");
		jw_str(&w, items[i]->id);
		jw_key(&w, "sha256");
		jw_str(&w, hex);
		jw_key(&w, "version");
		jw_str(&w, items[i]->version);
		jw_obj_close(&w);
	}
	jw_arr_close(&w);
	put_ids(&w, "red_recipients", m->red, m->n_red);
	jw_key(&w, "relay_green");
	jw_bool(&w, m->relay_green);
	jw_key(&w, "signature_alg");
	jw_str(&w, ATTEST_SIG_ALG);
	jw_key(&w, "spec_version");
	jw_str(&w, "2.1");
	jw_key(&w, "type");
	jw_str(&w, ATTEST_TYPE);
	jw_obj_close(&w);
	int rc = jw_finish(&w);
	return rc == ST_OK
		   ? ST_OK
		   : diag_set(d, rc, "attestation: %s", st_strerror(rc));
}

/* What the signature covers under ATTEST_SIG_ALG: a fixed label and the
 * SHA-256 of the canonical form, so that signing and verifying hash the
 * attestation once, with the CPU's SHA instructions, rather than twice
 * with Ed25519's SHA-512. */
#define SIGNED_LABEL "strait-attestation-sha256\n"
#define SIGNED_LEN (sizeof(SIGNED_LABEL) - 1 + HASH_SHA256_BYTES)

static void signed_message(const char *canon, size_t n, uint8_t out[SIGNED_LEN])
{
	memcpy(out, SIGNED_LABEL, sizeof(SIGNED_LABEL) - 1);
	hash_sha256(canon, n, out + sizeof(SIGNED_LABEL) - 1);
}

static int cmp_item(const void *x, const void *y)
{
	const struct attest_item *a = *(const struct attest_item *const *)x;
	const struct attest_item *b = *(const struct attest_item *const *)y;
	int c = strcmp(a->id, b->id);
	return c != 0 ? c : strcmp(a->version, b->version);
}

/* The items in (id, version) order, into *out (the caller frees it): the
 * order they are listed in, which a receiver would otherwise sort. A batch
 * lists each (id, version) once: a receiver refuses repeats. */
static int sorted_items(const struct attest_item *items, size_t n,
			const struct attest_item ***out, struct diag *d)
{
	const struct attest_item **p = malloc(n * sizeof(*p));
	*out = NULL;
	if (p == NULL)
		return diag_set(d, ST_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		p[i] = &items[i];
	qsort(p, n, sizeof(*p), cmp_item);
	int rc = ST_OK;
	for (size_t i = 1; i < n && rc == ST_OK; i++)
		if (cmp_item(&p[i - 1], &p[i]) == 0)
			rc = diag_set(d, ST_EINVAL,
				      "attestation: %s version %s listed "
				      "twice",
				      p[i]->id, p[i]->version);
	if (rc != ST_OK)
		free(p);
	else
		*out = p;
	return rc;
}

int attest_make(const struct nodekeys *k, const struct attest_meta *m,
		const struct attest_item *items, size_t n, st_time now,
		struct buf *out, struct diag *d)
{
	if (n == 0 || n > ATTEST_MAX_OBJECTS)
		return diag_set(d, n == 0 ? ST_EINVAL : ST_ELIMIT,
				"attestation: %zu objects (1 to %d)", n,
				ATTEST_MAX_OBJECTS);
	if (m->n_red > ATTEST_MAX_RED)
		return diag_set(d, ST_ELIMIT,
				"attestation: %zu RED recipients (at most %d)",
				m->n_red, ATTEST_MAX_RED);
	if (m->origin == NULL || !id_ok(m->origin, strlen(m->origin)))
		return diag_set(d, ST_EINVAL, "attestation: bad origin id");
	for (size_t i = 0; i < m->n_red; i++)
		if (m->red[i] == NULL || !id_ok(m->red[i], strlen(m->red[i])))
			return diag_set(d, ST_EINVAL,
					"attestation: bad RED recipient %zu",
					i);
	if (m->n_direct > ATTEST_MAX_DIRECT)
		return diag_set(d, ST_ELIMIT,
				"attestation: %zu direct recipients (at most "
				"%d)",
				m->n_direct, ATTEST_MAX_DIRECT);
	for (size_t i = 0; i < m->n_direct; i++)
		if (m->direct[i] == NULL ||
		    !id_ok(m->direct[i], strlen(m->direct[i])))
			return diag_set(d, ST_EINVAL,
					"attestation: bad direct recipient %zu",
					i);
	for (size_t i = 0; i < n; i++)
		if (items[i].id == NULL || items[i].version == NULL ||
		    !id_ok(items[i].id, strlen(items[i].id)) ||
		    !version_ok(items[i].version, strlen(items[i].version)))
			return diag_set(d, ST_EINVAL,
					"attestation: object %zu: bad id or "
					"version",
					i);

	const struct attest_item **sorted;
	int rc = sorted_items(items, n, &sorted, d);
	if (rc != ST_OK)
		return rc;

	struct buf canon = BUF_INIT(ATTEST_MAX_BYTES);
	uint8_t msg[SIGNED_LEN];
	uint8_t sig[NODEKEY_SIG_BYTES];
	char sig_text[SIG_TEXT];
	rc = write_unsigned(k, m, sorted, n, now, &canon, d);
	free(sorted);
	if (rc == ST_OK) {
		signed_message(canon.data, canon.len, msg);
		rc = nodekeys_sign(k, msg, sizeof(msg), sig);
	}
	if (rc == ST_OK) {
		sodium_bin2base64(sig_text, sizeof(sig_text), sig, sizeof(sig),
				  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
		/* The canonical object with the signature as its last
		 * member (member order is free in STIX). */
		if (buf_add(out, canon.data, canon.len - 1) != ST_OK ||
		    buf_printf(out, ",\"signature\":\"%s\"}", sig_text) !=
			ST_OK)
			rc = diag_set(d, ST_ELIMIT,
				      "attestation: output too large");
	}
	buf_free(&canon);
	return rc;
}

/* ---- Verifying --------------------------------------------------------- */

void attest_free(struct attest *a)
{
	if (a == NULL)
		return;
	free(a->index);
	free(a->entries);
	free(a->red);
	free(a->direct);
	memset(a, 0, sizeof(*a));
}

/* The index's hash key: random per process, so that the ids a partner
 * chooses cannot be made to collide. */
static unsigned char index_key[crypto_shorthash_KEYBYTES];
static pthread_once_t index_once = PTHREAD_ONCE_INIT;

static void index_key_init(void)
{
	randombytes_buf(index_key, sizeof(index_key));
}

static size_t id_hash(const char *id)
{
	uint8_t h8[crypto_shorthash_BYTES];
	uint64_t h;
	crypto_shorthash(h8, (const unsigned char *)id, strlen(id), index_key);
	memcpy(&h, h8, sizeof(h));
	return (size_t)h;
}

/* Indexes a's sorted entries by id: a lookup per object received is then
 * one probe, not a binary search over thousands of ids. */
static int index_entries(struct attest *a, struct diag *d)
{
	pthread_once(&index_once, index_key_init);
	size_t slots = 16;
	while (slots < 2 * a->n)
		slots *= 2;
	a->index = calloc(slots, sizeof(*a->index));
	if (a->index == NULL)
		return diag_set(d, ST_ENOMEM, "out of memory");
	a->index_mask = slots - 1;
	for (size_t i = 0; i < a->n; i++) {
		if (i > 0 &&
		    strcmp(a->entries[i].id, a->entries[i - 1].id) == 0)
			continue;
		size_t at = id_hash(a->entries[i].id) & a->index_mask;
		while (a->index[at] != 0)
			at = (at + 1) & a->index_mask;
		a->index[at] = (uint32_t)(i + 1);
	}
	return ST_OK;
}

const struct attest_entry *attest_first(const struct attest *a, const char *id,
					size_t *count)
{
	*count = 0;
	if (a->index == NULL)
		return NULL;
	for (size_t at = id_hash(id) & a->index_mask; a->index[at] != 0;
	     at = (at + 1) & a->index_mask) {
		size_t i = a->index[at] - 1;
		if (strcmp(a->entries[i].id, id) != 0)
			continue;
		size_t k = i;
		while (k < a->n && strcmp(a->entries[k].id, id) == 0)
			k++;
		*count = k - i;
		return &a->entries[i];
	}
	return NULL;
}

static int cmp_entry(const void *x, const void *y)
{
	const struct attest_entry *a = x, *b = y;
	int c = strcmp(a->id, b->id);
	return c != 0 ? c : strcmp(a->version, b->version);
}

/* The string member key of v, checked by ok; NULL (d set) otherwise. */
static const struct json_val *want_str(const struct json_val *v,
				       const char *key,
				       bool (*ok)(const char *, size_t),
				       struct diag *d)
{
	const struct json_val *s = json_get(v, key);
	if (s == NULL || s->type != JSON_STRING) {
		diag_set(d, ST_EINVAL,
			 "attestation: '%s' missing or not a "
			 "string",
			 key);
		return NULL;
	}
	if (ok != NULL && !ok(s->u.str, s->len)) {
		diag_set(d, ST_EINVAL, "attestation: '%s' is not valid", key);
		return NULL;
	}
	return s;
}

static bool type_ok(const char *s, size_t n)
{
	return n == strlen(ATTEST_TYPE) && memcmp(s, ATTEST_TYPE, n) == 0;
}

/* A lowercase hex digit's value, or -1 (uppercase is refused: the
 * attestation's hashes are written lowercase, and only one spelling of a
 * signed value is accepted). */
static inline int lower_hex(unsigned char c)
{
	return hex_digit_lower(c);
}

/* 64 lowercase hex digits into out[32]; false (out undefined) otherwise. */
static bool hex64_decode(const char *s, size_t n, uint8_t out[32])
{
	if (n != 64)
		return false;
	for (size_t i = 0; i < 32; i++) {
		int hi = lower_hex((unsigned char)s[2 * i]);
		int lo = lower_hex((unsigned char)s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

static bool key_id_ok(const char *s, size_t n)
{
	return n == NODEKEY_ID_LEN && strspn(s, "0123456789abcdef") == n;
}

static bool spec_ok(const char *s, size_t n)
{
	return n == 3 && memcmp(s, "2.1", 3) == 0;
}

static bool attest_id_ok(const char *s, size_t n)
{
	return n > strlen(PREFIX) && memcmp(s, PREFIX, strlen(PREFIX)) == 0 &&
	       id_ok(s, n);
}

/* The identity ids of array v (the member name), at most max, into a
 * calloc'd *out (NULL when empty). */
static int read_ids(const struct json_val *v, const char *name, size_t max,
		    char (**out)[STIX_ID_MAX], size_t *n, struct diag *d)
{
	if (v->len > max)
		return diag_set(d, ST_ELIMIT,
				"attestation: '%s' names more than %zu "
				"identities",
				name, max);
	if (v->len == 0)
		return ST_OK;
	if ((*out = calloc(v->len, sizeof(**out))) == NULL)
		return diag_set(d, ST_ENOMEM, "out of memory");
	for (uint32_t i = 0; i < v->len; i++) {
		const struct json_val *r = &v->u.items[i];
		if (r->type != JSON_STRING || !id_ok(r->u.str, r->len))
			return diag_set(d, ST_EINVAL,
					"attestation: %s[%u] is not an "
					"identity id",
					name, i);
		memcpy((*out)[i], r->u.str, r->len);
	}
	*n = v->len;
	return ST_OK;
}

/* One member of an objects[] entry into e: its bit (1 id, 2 version,
 * 4 sha256), 0 for another name, -1 for a bad value. */
static int entry_member(struct attest_entry *e, const char *key,
			const struct json_val *m)
{
	bool str = m->type == JSON_STRING;
	if (strcmp(key, "id") == 0) {
		if (!str || !id_ok(m->u.str, m->len))
			return -1;
		memcpy(e->id, m->u.str, m->len);
		return 1;
	}
	if (strcmp(key, "version") == 0) {
		if (!str || !version_ok(m->u.str, m->len))
			return -1;
		memcpy(e->version, m->u.str, m->len);
		return 2;
	}
	if (strcmp(key, "sha256") == 0)
		return str && hex64_decode(m->u.str, m->len, e->sha256) ? 4
									: -1;
	return 0;
}

/* Fills a from the parsed root; everything but the signature. */
static int read_fields(const struct json_val *root, struct attest *a,
		       struct diag *d)
{
	const struct json_val *v;
	if (root->type != JSON_OBJECT)
		return diag_set(d, ST_EINVAL, "attestation: not an object");
	if (want_str(root, "type", type_ok, d) == NULL ||
	    want_str(root, "spec_version", spec_ok, d) == NULL ||
	    want_str(root, "created", version_ok, d) == NULL ||
	    want_str(root, "modified", version_ok, d) == NULL)
		return ST_EINVAL;
	if ((v = want_str(root, "id", attest_id_ok, d)) == NULL)
		return ST_EINVAL;
	memcpy(a->id, v->u.str, v->len);
	if ((v = want_str(root, "created_by_ref", id_ok, d)) == NULL)
		return ST_EINVAL;
	memcpy(a->origin, v->u.str, v->len);
	if ((v = want_str(root, "key_id", key_id_ok, d)) == NULL)
		return ST_EINVAL;
	memcpy(a->key_id, v->u.str, v->len);
	v = json_get(root, "relay_green");
	if (v == NULL || (v->type != JSON_TRUE && v->type != JSON_FALSE))
		return diag_set(d, ST_EINVAL,
				"attestation: 'relay_green' missing or not a "
				"boolean");
	a->relay_green = v->type == JSON_TRUE;

	v = json_get(root, "red_recipients");
	if (v == NULL || v->type != JSON_ARRAY)
		return diag_set(d, ST_EINVAL,
				"attestation: 'red_recipients' "
				"missing or not an array");
	int rc = read_ids(v, "red_recipients", ATTEST_MAX_RED, &a->red,
			  &a->n_red, d);
	if (rc != ST_OK)
		return rc;
	/* optional: absent in attestations of earlier builds */
	v = json_get(root, "direct");
	if (v != NULL && v->type != JSON_ARRAY)
		return diag_set(d, ST_EINVAL,
				"attestation: 'direct' is not an array");
	if (v != NULL && (rc = read_ids(v, "direct", ATTEST_MAX_DIRECT,
					&a->direct, &a->n_direct, d)) != ST_OK)
		return rc;

	v = json_get(root, "objects");
	if (v == NULL || v->type != JSON_ARRAY || v->len == 0)
		return diag_set(d, ST_EINVAL,
				"attestation: 'objects' missing, "
				"not an array or empty");
	if (v->len > ATTEST_MAX_OBJECTS)
		return diag_set(d, ST_ELIMIT,
				"attestation: more than %d objects",
				ATTEST_MAX_OBJECTS);
	a->entries = calloc(v->len, sizeof(*a->entries));
	if (a->entries == NULL)
		return diag_set(d, ST_ENOMEM, "out of memory");
	for (uint32_t i = 0; i < v->len; i++) {
		const struct json_val *o = &v->u.items[i];
		struct attest_entry *e = &a->entries[i];
		/* Each member once, in any order; a member named twice fails
		 * as a missing one would. */
		unsigned seen = 0;
		if (o->type != JSON_OBJECT || o->len != 3)
			return diag_set(d, ST_EINVAL,
					"attestation: objects[%u]: not "
					"{id, version, sha256}",
					i);
		for (uint32_t k = 0; k < 3; k++) {
			const char *key = o->u.members[k].key;
			int bit = entry_member(e, key, &o->u.members[k].val);
			if (bit < 0)
				return diag_set(d, ST_EINVAL,
						"attestation: objects[%u]: "
						"bad %s",
						i, key);
			seen |= (unsigned)bit;
		}
		if (seen != 7)
			return diag_set(d, ST_EINVAL,
					"attestation: objects[%u]: not "
					"{id, version, sha256}",
					i);
	}
	a->n = v->len;
	/* Sorted for lookups. This node writes them sorted (attest_make),
	 * so one pass usually shows there is nothing to do. */
	bool sorted = true;
	for (size_t i = 1; i < a->n && sorted; i++)
		sorted = cmp_entry(&a->entries[i - 1], &a->entries[i]) < 0;
	if (!sorted)
		qsort(a->entries, a->n, sizeof(*a->entries), cmp_entry);
	for (size_t i = 1; !sorted && i < a->n; i++)
		if (cmp_entry(&a->entries[i - 1], &a->entries[i]) == 0)
			return diag_set(d, ST_EINVAL,
					"attestation: %s version %s listed "
					"twice",
					a->entries[i].id,
					a->entries[i].version);
	return index_entries(a, d);
}

/* The limits an attestation is parsed under. */
static struct json_limits attest_limits(void)
{
	struct json_limits lim = JSON_LIMITS_DEFAULT;
	lim.max_bytes = ATTEST_MAX_BYTES;
	lim.max_depth = 4;
	lim.max_string = 4096;
	return lim;
}

int attest_direct(const char *json, size_t len, char (**out)[STIX_ID_MAX],
		  size_t *n, struct diag *d)
{
	struct json_limits lim = attest_limits();
	*out = NULL;
	*n = 0;
	if (len > ATTEST_MAX_BYTES)
		return diag_set(d, ST_ELIMIT, "attestation: more than %u bytes",
				ATTEST_MAX_BYTES);
	struct json_doc *doc = json_doc_new();
	const struct json_val *root = NULL, *v;
	int rc = doc == NULL ? diag_set(d, ST_ENOMEM, "out of memory")
			     : json_parse(doc, json, len, 0, &lim, &root, d);
	if (rc == ST_OK && root->type != JSON_OBJECT)
		rc = diag_set(d, ST_EINVAL, "attestation: not an object");
	if (rc == ST_OK && (v = json_get(root, "direct")) != NULL) {
		if (v->type != JSON_ARRAY)
			rc = diag_set(d, ST_EINVAL,
				      "attestation: 'direct' is not an array");
		else
			rc =
			    read_ids(v, "direct", ATTEST_MAX_DIRECT, out, n, d);
	}
	if (rc != ST_OK) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	json_doc_free(doc);
	return rc;
}

int attest_verify(const char *json, size_t len, const struct attest_key *keys,
		  size_t nkeys, struct attest *out, struct diag *d)
{
	struct json_limits lim = attest_limits();
	memset(out, 0, sizeof(*out));
	if (len > ATTEST_MAX_BYTES)
		return diag_set(d, ST_ELIMIT, "attestation: more than %u bytes",
				ATTEST_MAX_BYTES);
	struct json_doc *doc = json_doc_new();
	struct buf canon = BUF_INIT(ATTEST_MAX_BYTES);
	struct json_member *mem = NULL;
	const struct json_val *root = NULL;
	int rc = doc == NULL ? diag_set(d, ST_ENOMEM, "out of memory")
			     : json_parse(doc, json, len, 0, &lim, &root, d);
	if (rc == ST_OK)
		rc = read_fields(root, out, d);
	const struct json_val *sv =
	    rc == ST_OK ? json_get(root, "signature") : NULL;
	uint8_t sig[NODEKEY_SIG_BYTES];
	size_t sig_len = 0;
	const char *end = NULL;
	if (rc == ST_OK &&
	    (sv == NULL || sv->type != JSON_STRING ||
	     sodium_base642bin(sig, sizeof(sig), sv->u.str, sv->len, NULL,
			       &sig_len, &end,
			       sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	     sig_len != sizeof(sig) || end != sv->u.str + sv->len))
		rc = diag_set(d, ST_EINVAL,
			      "attestation: 'signature' missing or not a "
			      "base64url Ed25519 signature");
	const struct attest_key *key = NULL;
	for (size_t i = 0; rc == ST_OK && i < nkeys && key == NULL; i++)
		if (strcmp(keys[i].id, out->key_id) == 0)
			key = &keys[i];
	if (rc == ST_OK && key == NULL)
		rc = diag_set(d, ST_ENOTFOUND,
			      "attestation %s: key %s is not a known key of "
			      "its origin",
			      out->id, out->key_id);
	if (rc == ST_OK) {
		/* The object without "signature", in canonical form. */
		mem = malloc(root->len * sizeof(*mem));
		if (mem == NULL)
			rc = diag_set(d, ST_ENOMEM, "out of memory");
	}
	if (rc == ST_OK) {
		uint32_t k = 0;
		for (uint32_t i = 0; i < root->len; i++)
			if (strcmp(root->u.members[i].key, "signature") != 0)
				mem[k++] = root->u.members[i];
		struct json_val copy = *root;
		copy.len = k;
		copy.u.members = mem;
		rc = json_canonical(&copy, &canon, d);
	}
	/* Which message the signature covers: named by the signed object
	 * itself, so removing or changing the name breaks the signature. */
	const struct json_val *alg =
	    rc == ST_OK ? json_get(root, "signature_alg") : NULL;
	bool hashed = false;
	if (alg != NULL) {
		if (alg->type != JSON_STRING ||
		    alg->len != strlen(ATTEST_SIG_ALG) ||
		    memcmp(alg->u.str, ATTEST_SIG_ALG, alg->len) != 0)
			rc = diag_set(d, ST_EINVAL,
				      "attestation %s: 'signature_alg' is not "
				      "\"%s\"",
				      out->id, ATTEST_SIG_ALG);
		hashed = true;
	}
	uint8_t msg[SIGNED_LEN];
	if (rc == ST_OK && hashed)
		signed_message(canon.data, canon.len, msg);
	if (rc == ST_OK &&
	    !(hashed ? nodekey_verify(key->pk, msg, sizeof(msg), sig)
		     : nodekey_verify(key->pk, canon.data, canon.len, sig)))
		rc = diag_set(d, ST_EAUTH,
			      "attestation %s: the signature does not verify "
			      "with key %s",
			      out->id, key->id);
	free(mem);
	buf_free(&canon);
	json_doc_free(doc);
	if (rc != ST_OK)
		attest_free(out);
	return rc;
}

int attest_check(const struct attest *a, const char *id, const char *version,
		 const char *canon, size_t canon_len)
{
	size_t count;
	const struct attest_entry *e = attest_first(a, id, &count);
	for (size_t i = 0; i < count; i++) {
		if (strcmp(e[i].version, version) != 0)
			continue;
		uint8_t h[HASH_SHA256_BYTES];
		hash_sha256(canon, canon_len, h);
		return sodium_memcmp(h, e[i].sha256, 32) == 0 ? ST_OK
							      : ST_ECONFLICT;
	}
	return ST_ENOTFOUND;
}
