/*
 * strait: hotline messages and receipts on the wire; see wire.h.
 */
#include "hotline/wire.h"

#include "common/hash.h"
#include "common/json.h"
#include "common/le.h"
#include "common/utf8.h"
#include "common/uuid.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MSG_TAG "strait-hotline-msg-1"
#define RECEIPT_TAG "strait-hotline-receipt-1"
#define CHANNEL_TAG "strait-hotline-channel-1"

static const char *const type_names[] = {"Alert", "Update", "Cancel", "Ack"};
static const char *const status_names[] = {"Actual", "Exercise", "Test"};
static const char *const prec_names[] = {"FLASH", "IMMEDIATE", "PRIORITY",
					 "ROUTINE"};
static const char *const receipt_names[] = {"delivered", "read",
					    "acknowledged"};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char *name_of(const char *const *names, size_t n, unsigned v)
{
	return v < n ? names[v] : NULL;
}

static int parse_of(const char *const *names, size_t n, const char *s,
		    unsigned *out)
{
	for (size_t i = 0; s != NULL && i < n; i++)
		if (strcasecmp(s, names[i]) == 0) {
			*out = (unsigned)i;
			return ST_OK;
		}
	return ST_EINVAL;
}

const char *hl_type_name(enum hl_type t)
{
	return name_of(type_names, N(type_names), t);
}
const char *hl_status_name(enum hl_status s)
{
	return name_of(status_names, N(status_names), s);
}
const char *hl_prec_name(enum hl_prec p)
{
	return name_of(prec_names, N(prec_names), p);
}
const char *hl_receipt_kind_name(enum hl_receipt r)
{
	return name_of(receipt_names, N(receipt_names), r);
}

int hl_type_parse(const char *s, enum hl_type *out)
{
	unsigned v;
	int rc = parse_of(type_names, N(type_names), s, &v);
	if (rc == ST_OK)
		*out = (enum hl_type)v;
	return rc;
}
int hl_status_parse(const char *s, enum hl_status *out)
{
	unsigned v;
	int rc = parse_of(status_names, N(status_names), s, &v);
	if (rc == ST_OK)
		*out = (enum hl_status)v;
	return rc;
}
int hl_prec_parse(const char *s, enum hl_prec *out)
{
	unsigned v;
	int rc = parse_of(prec_names, N(prec_names), s, &v);
	if (rc == ST_OK)
		*out = (enum hl_prec)v;
	return rc;
}
int hl_receipt_kind_parse(const char *s, enum hl_receipt *out)
{
	unsigned v;
	int rc = parse_of(receipt_names, N(receipt_names), s, &v);
	if (rc == ST_OK)
		*out = (enum hl_receipt)v;
	return rc;
}

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
	       c == '_' || c == '-';
}

bool hl_addr_valid(const char *s, size_t *node_len)
{
	const char *slash = s != NULL ? strchr(s, '/') : NULL;
	if (slash == NULL)
		return false;
	size_t nl = (size_t)(slash - s), al = strlen(slash + 1);
	char type[STIX_TYPE_MAX];
	uint8_t u[16];
	if (nl >= STIX_ID_MAX || stix_parse_id(s, nl, type, u) != ST_OK ||
	    strcmp(type, "identity") != 0 || al == 0 || al > HL_NAME_MAX)
		return false;
	for (size_t i = 0; i < al; i++)
		if (!name_char(slash[1 + i]))
			return false;
	if (node_len != NULL)
		*node_len = nl;
	return true;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void hl_channel_of(const char *const *identities, size_t n,
		   char out[HL_ID_LEN + 1])
{
	const char **v = malloc((n ? n : 1) * sizeof(*v));
	uint8_t h[16];
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	crypto_generichash_update(&st, (const uint8_t *)CHANNEL_TAG,
				  strlen(CHANNEL_TAG));
	if (v != NULL) {
		memcpy(v, identities, n * sizeof(*v));
		qsort(v, n, sizeof(*v), cmp_str);
		for (size_t i = 0; i < n; i++) {
			/* the same identity twice counts once */
			if (i > 0 && strcmp(v[i], v[i - 1]) == 0)
				continue;
			crypto_generichash_update(&st, (const uint8_t *)"\n",
						  1);
			crypto_generichash_update(&st, (const uint8_t *)v[i],
						  strlen(v[i]));
		}
	}
	free(v);
	crypto_generichash_final(&st, h, sizeof(h));
	h[6] = (uint8_t)((h[6] & 0x0f) | 0x80); /* version 8: custom */
	h[8] = (uint8_t)((h[8] & 0x3f) | 0x80);
	uuid_format(h, out);
}

static bool id_valid(const char *s)
{
	uint8_t u[16];
	return s != NULL && strlen(s) == HL_ID_LEN &&
	       uuid_parse(s, HL_ID_LEN, false, u) == ST_OK;
}

int hl_header_check(const struct hl_header *h, struct diag *d)
{
	if (!id_valid(h->id))
		return diag_set(d, ST_EINVAL, "id: not a UUID");
	if (!id_valid(h->channel))
		return diag_set(d, ST_EINVAL, "channel: not a UUID");
	if (!hl_addr_valid(h->sender, NULL))
		return diag_set(d, ST_EINVAL,
				"sender: not an address (identity--.../name)");
	if (h->nrecipients < 1 || h->nrecipients > HL_MAX_RECIPIENTS)
		return diag_set(d, ST_EINVAL, "recipients: 1 to %d",
				HL_MAX_RECIPIENTS);
	for (size_t i = 0; i < h->nrecipients; i++)
		if (!hl_addr_valid(h->recipients[i], NULL))
			return diag_set(d, ST_EINVAL,
					"recipients[%zu]: not an address", i);
	if (hl_type_name(h->type) == NULL ||
	    hl_status_name(h->status) == NULL ||
	    hl_prec_name(h->prec) == NULL || tlp_name(h->tlp) == NULL)
		return diag_set(d, ST_EINVAL,
				"type, status, precedence or tlp out of range");
	if (h->nrefs > HL_MAX_REFS)
		return diag_set(d, ST_EINVAL, "references: at most %d",
				HL_MAX_REFS);
	for (size_t i = 0; i < h->nrefs; i++)
		if (!id_valid(h->refs[i]))
			return diag_set(d, ST_EINVAL,
					"references[%zu]: not a UUID", i);
	if (h->nstix > HL_MAX_STIX)
		return diag_set(d, ST_EINVAL, "stix: at most %d", HL_MAX_STIX);
	for (size_t i = 0; i < h->nstix; i++) {
		char type[STIX_TYPE_MAX];
		uint8_t u[16];
		if (stix_parse_id(h->stix[i], strlen(h->stix[i]), type, u) !=
		    ST_OK)
			return diag_set(d, ST_EINVAL,
					"stix[%zu]: not a STIX id", i);
	}
	if (h->body_size > HL_BODY_MAX)
		return diag_set(d, ST_EINVAL, "body: more than %d bytes",
				HL_BODY_MAX);
	return ST_OK;
}

static int add_u64(struct buf *b, uint64_t v)
{
	uint8_t x[8];
	le_put64(x, v);
	return buf_add(b, x, sizeof(x));
}

static int add_text(struct buf *b, const char *s)
{
	uint8_t x[4];
	size_t n = strlen(s);
	le_put32(x, (uint32_t)n);
	int rc = buf_add(b, x, sizeof(x));
	return rc == ST_OK ? buf_add(b, s, n) : rc;
}

static int add_count(struct buf *b, size_t n)
{
	uint8_t x[4];
	le_put32(x, (uint32_t)n);
	return buf_add(b, x, sizeof(x));
}

int hl_header_bytes(const struct hl_header *h, struct buf *out)
{
	int rc = buf_add(out, MSG_TAG, strlen(MSG_TAG));
	if (rc == ST_OK)
		rc = add_text(out, h->id);
	if (rc == ST_OK)
		rc = add_text(out, h->channel);
	if (rc == ST_OK)
		rc = add_text(out, h->sender);
	if (rc == ST_OK)
		rc = add_count(out, h->nrecipients);
	for (size_t i = 0; rc == ST_OK && i < h->nrecipients; i++)
		rc = add_text(out, h->recipients[i]);
	if (rc == ST_OK)
		rc = add_text(out, hl_type_name(h->type));
	if (rc == ST_OK)
		rc = add_text(out, hl_status_name(h->status));
	if (rc == ST_OK)
		rc = add_text(out, hl_prec_name(h->prec));
	if (rc == ST_OK)
		rc = add_text(out, tlp_name(h->tlp));
	if (rc == ST_OK)
		rc = add_count(out, h->nrefs);
	for (size_t i = 0; rc == ST_OK && i < h->nrefs; i++)
		rc = add_text(out, h->refs[i]);
	if (rc == ST_OK)
		rc = add_count(out, h->nstix);
	for (size_t i = 0; rc == ST_OK && i < h->nstix; i++)
		rc = add_text(out, h->stix[i]);
	if (rc == ST_OK)
		rc = add_u64(out, (uint64_t)h->sent);
	if (rc == ST_OK)
		rc = buf_add(out, h->body_sha256, sizeof(h->body_sha256));
	if (rc == ST_OK)
		rc = add_u64(out, h->body_size);
	return rc;
}

int hl_sign(const struct hl_header *h, const uint8_t *sign_sk,
	    uint8_t sig[HL_SIG_BYTES])
{
	struct buf b = BUF_INIT(1 << 16);
	int rc = hl_header_bytes(h, &b);
	if (rc == ST_OK &&
	    crypto_sign_detached(sig, NULL, (const uint8_t *)b.data, b.len,
				 sign_sk) != 0)
		rc = ST_EINVAL;
	buf_free(&b);
	return rc;
}

bool hl_verify(const struct hl_header *h, const uint8_t *sign_pk,
	       const uint8_t sig[HL_SIG_BYTES])
{
	struct buf b = BUF_INIT(1 << 16);
	bool ok = hl_header_bytes(h, &b) == ST_OK &&
		  crypto_sign_verify_detached(sig, (const uint8_t *)b.data,
					      b.len, sign_pk) == 0;
	buf_free(&b);
	return ok;
}

void hl_set_body(struct hl_header *h, const char *body, size_t len)
{
	hash_sha256(body, len, h->body_sha256);
	h->body_size = len;
}

int hl_seal(const char *body, size_t len, const uint8_t *box_pk, uint8_t **ct,
	    size_t *ctlen)
{
	*ct = malloc(len + crypto_box_SEALBYTES);
	if (*ct == NULL)
		return ST_ENOMEM;
	if (crypto_box_seal(*ct, (const uint8_t *)body, len, box_pk) != 0) {
		free(*ct);
		*ct = NULL;
		return ST_EINVAL;
	}
	*ctlen = len + crypto_box_SEALBYTES;
	return ST_OK;
}

int hl_open(const struct hl_header *h, const uint8_t *ct, size_t ctlen,
	    const uint8_t *box_pk, const uint8_t *box_sk, char **body,
	    struct diag *d)
{
	*body = NULL;
	if (ctlen < crypto_box_SEALBYTES ||
	    ctlen - crypto_box_SEALBYTES != h->body_size)
		return diag_set(d, ST_EINVAL,
				"message %s: the sealed body is not the size "
				"the sender signed",
				h->id);
	size_t n = ctlen - crypto_box_SEALBYTES;
	char *p = malloc(n + 1);
	if (p == NULL)
		return diag_set(d, ST_ENOMEM, "out of memory");
	if (crypto_box_seal_open((uint8_t *)p, ct, ctlen, box_pk, box_sk) !=
	    0) {
		free(p);
		return diag_set(d, ST_EINVAL,
				"message %s: cannot open the body with this "
				"key",
				h->id);
	}
	uint8_t hash[32];
	hash_sha256(p, n, hash);
	if (sodium_memcmp(hash, h->body_sha256, sizeof(hash)) != 0) {
		sodium_memzero(p, n);
		free(p);
		return diag_set(d, ST_EINVAL,
				"message %s: the body is not the one the "
				"sender signed",
				h->id);
	}
	p[n] = '\0';
	*body = p;
	return ST_OK;
}

static int receipt_bytes(const struct hl_receipt_rec *r, struct buf *out)
{
	int rc = buf_add(out, RECEIPT_TAG, strlen(RECEIPT_TAG));
	if (rc == ST_OK)
		rc = add_text(out, r->msg);
	if (rc == ST_OK)
		rc = add_text(out, r->principal);
	if (rc == ST_OK)
		rc = add_text(out, hl_receipt_kind_name(r->kind));
	if (rc == ST_OK)
		rc = add_u64(out, (uint64_t)r->at);
	return rc;
}

int hl_receipt_sign(struct hl_receipt_rec *r, const uint8_t *sign_sk)
{
	struct buf b = BUF_INIT(4096);
	int rc = hl_receipt_kind_name(r->kind) == NULL ? ST_EINVAL
						       : receipt_bytes(r, &b);
	if (rc == ST_OK &&
	    crypto_sign_detached(r->sig, NULL, (const uint8_t *)b.data, b.len,
				 sign_sk) != 0)
		rc = ST_EINVAL;
	buf_free(&b);
	return rc;
}

bool hl_receipt_verify(const struct hl_receipt_rec *r, const uint8_t *sign_pk)
{
	struct buf b = BUF_INIT(4096);
	bool ok = hl_receipt_kind_name(r->kind) != NULL &&
		  receipt_bytes(r, &b) == ST_OK &&
		  crypto_sign_verify_detached(r->sig, (const uint8_t *)b.data,
					      b.len, sign_pk) == 0;
	buf_free(&b);
	return ok;
}

/* ---- JSON ---- */

static void str_array(struct jw *w, const char *key, const char *base,
		      size_t stride, size_t n)
{
	jw_key(w, key);
	jw_arr_open(w);
	for (size_t i = 0; i < n; i++)
		jw_str(w, base + i * stride);
	jw_arr_close(w);
}

void hl_header_json(struct jw *w, const struct hl_header *h)
{
	char ts[TS_BUFSZ], hex[65];
	jw_obj_open(w);
	jw_key(w, "id");
	jw_str(w, h->id);
	jw_key(w, "channel");
	jw_str(w, h->channel);
	jw_key(w, "sender");
	jw_str(w, h->sender);
	str_array(w, "recipients", h->recipients[0], sizeof(h->recipients[0]),
		  h->nrecipients);
	jw_key(w, "type");
	jw_str(w, hl_type_name(h->type));
	jw_key(w, "status");
	jw_str(w, hl_status_name(h->status));
	jw_key(w, "precedence");
	jw_str(w, hl_prec_name(h->prec));
	jw_key(w, "tlp");
	jw_str(w, tlp_name(h->tlp));
	str_array(w, "references", h->refs[0], sizeof(h->refs[0]), h->nrefs);
	str_array(w, "stix", h->stix[0], sizeof(h->stix[0]), h->nstix);
	ts_format(h->sent, ts);
	jw_key(w, "sent");
	jw_str(w, ts);
	sodium_bin2hex(hex, sizeof(hex), h->body_sha256,
		       sizeof(h->body_sha256));
	jw_key(w, "body_sha256");
	jw_str(w, hex);
	jw_key(w, "body_size");
	jw_int(w, (int64_t)h->body_size);
	jw_obj_close(w);
}

/* A JSON string into a fixed field (< cap bytes, UTF-8, no NUL). */
static bool text_field(const struct json_val *v, char *out, size_t cap)
{
	if (v == NULL || v->type != JSON_STRING || v->len >= cap ||
	    memchr(v->u.str, '\0', v->len) != NULL)
		return false;
	memcpy(out, v->u.str, v->len);
	out[v->len] = '\0';
	return true;
}

static int str_list(const struct json_val *obj, const char *key, char *base,
		    size_t stride, size_t max, size_t *n, struct diag *d)
{
	const struct json_val *a = json_get(obj, key);
	*n = 0;
	if (a == NULL || a->type != JSON_ARRAY || a->len > max)
		return diag_set(d, ST_EINVAL, "%s: an array of at most %zu",
				key, max);
	for (uint32_t i = 0; i < a->len; i++)
		if (!text_field(&a->u.items[i], base + i * stride, stride))
			return diag_set(d, ST_EINVAL,
					"%s[%u]: not a string "
					"that fits",
					key, (unsigned)i);
	*n = a->len;
	return ST_OK;
}

static int enum_field(const struct json_val *obj, const char *key,
		      int (*parse)(const char *, void *), void *out,
		      struct diag *d)
{
	char s[32];
	if (!text_field(json_get(obj, key), s, sizeof(s)) || parse(s, out))
		return diag_set(d, ST_EINVAL, "%s: not a known value", key);
	return ST_OK;
}

static int p_type(const char *s, void *o)
{
	return hl_type_parse(s, o);
}
static int p_status(const char *s, void *o)
{
	return hl_status_parse(s, o);
}
static int p_prec(const char *s, void *o)
{
	return hl_prec_parse(s, o);
}
static int p_receipt(const char *s, void *o)
{
	return hl_receipt_kind_parse(s, o);
}
static int p_tlp(const char *s, void *o)
{
	enum tlp t;
	int rc = tlp_parse(s, &t);
	if (rc == ST_OK)
		*(uint8_t *)o = (uint8_t)t;
	return rc;
}

bool hl_hex_field(const struct json_val *v, uint8_t *out, size_t n)
{
	if (v == NULL || v->type != JSON_STRING || v->len != 2 * n)
		return false;
	for (size_t i = 0; i < 2 * n; i++) {
		char c = v->u.str[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
	}
	return sodium_hex2bin(out, n, v->u.str, v->len, NULL, NULL, NULL) == 0;
}

static int time_field(const struct json_val *obj, const char *key, st_time *out,
		      struct diag *d)
{
	const struct json_val *v = json_get(obj, key);
	if (v == NULL || v->type != JSON_STRING ||
	    ts_parse(v->u.str, v->len, out, NULL) != ST_OK)
		return diag_set(d, ST_EINVAL, "%s: not a timestamp", key);
	return ST_OK;
}

int hl_header_parse(const struct json_val *v, struct hl_header *h,
		    struct diag *d)
{
	memset(h, 0, sizeof(*h));
	if (v == NULL || v->type != JSON_OBJECT)
		return diag_set(d, ST_EINVAL, "a header is a JSON object");
	int rc;
	if (!text_field(json_get(v, "id"), h->id, sizeof(h->id)))
		return diag_set(d, ST_EINVAL, "id: missing or too long");
	if (!text_field(json_get(v, "channel"), h->channel, sizeof(h->channel)))
		return diag_set(d, ST_EINVAL, "channel: missing or too long");
	if (!text_field(json_get(v, "sender"), h->sender, sizeof(h->sender)))
		return diag_set(d, ST_EINVAL, "sender: missing or too long");
	if ((rc = str_list(v, "recipients", h->recipients[0],
			   sizeof(h->recipients[0]), HL_MAX_RECIPIENTS,
			   &h->nrecipients, d)) != ST_OK ||
	    (rc = str_list(v, "references", h->refs[0], sizeof(h->refs[0]),
			   HL_MAX_REFS, &h->nrefs, d)) != ST_OK ||
	    (rc = str_list(v, "stix", h->stix[0], sizeof(h->stix[0]),
			   HL_MAX_STIX, &h->nstix, d)) != ST_OK ||
	    (rc = enum_field(v, "type", p_type, &h->type, d)) != ST_OK ||
	    (rc = enum_field(v, "status", p_status, &h->status, d)) != ST_OK ||
	    (rc = enum_field(v, "precedence", p_prec, &h->prec, d)) != ST_OK ||
	    (rc = enum_field(v, "tlp", p_tlp, &h->tlp, d)) != ST_OK ||
	    (rc = time_field(v, "sent", &h->sent, d)) != ST_OK)
		return rc;
	if (!hl_hex_field(json_get(v, "body_sha256"), h->body_sha256,
			  sizeof(h->body_sha256)))
		return diag_set(d, ST_EINVAL, "body_sha256: 64 hex digits");
	const struct json_val *sz = json_get(v, "body_size");
	if (sz == NULL || sz->type != JSON_NUMBER || !sz->u.num.is_int ||
	    sz->u.num.i < 0 || sz->u.num.i > HL_BODY_MAX)
		return diag_set(d, ST_EINVAL, "body_size: 0 to %d",
				HL_BODY_MAX);
	h->body_size = (uint64_t)sz->u.num.i;
	return hl_header_check(h, d);
}

void hl_receipt_json(struct jw *w, const struct hl_receipt_rec *r)
{
	char ts[TS_BUFSZ], sig[2 * HL_SIG_BYTES + 1];
	jw_obj_open(w);
	jw_key(w, "message");
	jw_str(w, r->msg);
	jw_key(w, "principal");
	jw_str(w, r->principal);
	jw_key(w, "receipt");
	jw_str(w, hl_receipt_kind_name(r->kind));
	ts_format(r->at, ts);
	jw_key(w, "at");
	jw_str(w, ts);
	sodium_bin2hex(sig, sizeof(sig), r->sig, sizeof(r->sig));
	jw_key(w, "sig");
	jw_str(w, sig);
	jw_obj_close(w);
}

int hl_receipt_parse(const struct json_val *v, struct hl_receipt_rec *r,
		     struct diag *d)
{
	memset(r, 0, sizeof(*r));
	if (v == NULL || v->type != JSON_OBJECT)
		return diag_set(d, ST_EINVAL, "a receipt is a JSON object");
	int rc;
	if (!text_field(json_get(v, "message"), r->msg, sizeof(r->msg)) ||
	    !id_valid(r->msg))
		return diag_set(d, ST_EINVAL, "message: not a message id");
	if (!text_field(json_get(v, "principal"), r->principal,
			sizeof(r->principal)) ||
	    !hl_addr_valid(r->principal, NULL))
		return diag_set(d, ST_EINVAL, "principal: not an address");
	if ((rc = enum_field(v, "receipt", p_receipt, &r->kind, d)) != ST_OK ||
	    (rc = time_field(v, "at", &r->at, d)) != ST_OK)
		return rc;
	if (!hl_hex_field(json_get(v, "sig"), r->sig, sizeof(r->sig)))
		return diag_set(d, ST_EINVAL, "sig: 128 hex digits");
	return ST_OK;
}
