/*
 * strait: audit heads between partners. Our writer hands each signed head
 * to fed_publish_head; the senders post it to their partners, who keep it
 * (fedstate's witness table) after checking its signature with the key
 * they know us by. `strait audit verify` fetches them back and compares.
 */
#include "federation/fed.h"
#include "federation/fed_int.h"

#include "common/hex.h"
#include "common/json.h"
#include "federation/client.h"
#include "federation/fedstate.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FETCH_MAX ((size_t)4 << 20) /* 10,000 heads as JSON fit */

void fed_publish_head(struct fed *f, const struct fed_witness *h)
{
	if (f == NULL)
		return;
	pthread_mutex_lock(&f->head_mu);
	f->head = *h;
	f->head_gen++;
	pthread_mutex_unlock(&f->head_mu);
}

int fed_peer_key(struct fed *f, const char *peer, uint8_t pk[32],
		 char key_id[17])
{
	struct peer p;
	pthread_mutex_lock(&f->peers_mu);
	int rc = peers_get(f->peers, peer, &p, NULL);
	pthread_mutex_unlock(&f->peers_mu);
	if (rc != ST_OK)
		return rc;
	memcpy(pk, p.pk, 32);
	snprintf(key_id, 17, "%s", p.key_id);
	return ST_OK;
}

void fed_witness_json(struct jw *w, const struct fed_witness *h)
{
	char hash[2 * sizeof(h->hash) + 1], sig[2 * sizeof(h->sig) + 1];
	char ts[TS_BUFSZ];
	sodium_bin2hex(hash, sizeof(hash), h->hash, sizeof(h->hash));
	sodium_bin2hex(sig, sizeof(sig), h->sig, sizeof(h->sig));
	ts_format(h->at, ts);
	jw_obj_open(w);
	jw_key(w, "seq");
	jw_int(w, (int64_t)h->seq);
	jw_key(w, "hash");
	jw_str(w, hash);
	jw_key(w, "at");
	jw_str(w, ts);
	jw_key(w, "key_id");
	jw_str(w, h->key_id);
	jw_key(w, "sig");
	jw_str(w, sig);
	jw_obj_close(w);
}

/* Exactly 2 * n lowercase hex digits into out. */
static bool hex_field(const struct json_val *v, uint8_t *out, size_t n)
{
	if (v == NULL || v->type != JSON_STRING || v->len != 2 * n)
		return false;
	for (size_t i = 0; i < n; i++) {
		int hi = hex_digit_lower((unsigned char)v->u.str[2 * i]);
		int lo = hex_digit_lower((unsigned char)v->u.str[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

int fed_witness_parse(const struct json_val *v, struct fed_witness *out,
		      struct diag *d)
{
	memset(out, 0, sizeof(*out));
	if (v == NULL || v->type != JSON_OBJECT)
		return diag_set(d, ST_EINVAL, "a head is a JSON object");
	const struct json_val *seq = json_get(v, "seq");
	const struct json_val *at = json_get(v, "at");
	const struct json_val *kid = json_get(v, "key_id");
	if (seq == NULL || seq->type != JSON_NUMBER || !seq->u.num.is_int ||
	    seq->u.num.i < 1)
		return diag_set(d, ST_EINVAL, "seq: a whole number from 1");
	out->seq = (uint64_t)seq->u.num.i;
	if (!hex_field(json_get(v, "hash"), out->hash, sizeof(out->hash)))
		return diag_set(d, ST_EINVAL, "hash: 64 lowercase hex digits");
	if (!hex_field(json_get(v, "sig"), out->sig, sizeof(out->sig)))
		return diag_set(d, ST_EINVAL, "sig: 128 lowercase hex digits");
	if (at == NULL || at->type != JSON_STRING ||
	    ts_parse(at->u.str, at->len, &out->at, NULL) != ST_OK)
		return diag_set(d, ST_EINVAL, "at: a STIX timestamp");
	uint8_t kb[(sizeof(out->key_id) - 1) / 2];
	if (!hex_field(kid, kb, sizeof(kb)))
		return diag_set(d, ST_EINVAL,
				"key_id: 16 lowercase hex digits");
	memcpy(out->key_id, kid->u.str, sizeof(out->key_id) - 1);
	out->key_id[sizeof(out->key_id) - 1] = '\0';
	return ST_OK;
}

int fed_witness_fetch(const char *home, const char *peer,
		      struct fed_witness **out, size_t *n, struct diag *d)
{
	*out = NULL;
	*n = 0;
	struct peers *p = NULL;
	struct peer one;
	struct fed_client c;
	struct fc_response r;
	struct json_doc *doc = NULL;
	char token[PEER_TOKEN_MAX + 1];
	bool open = false;
	memset(&c, 0, sizeof(c));
	buf_init(&r.body, FETCH_MAX);
	int rc = peers_open(home, &p, d);
	if (rc == ST_OK)
		rc = peers_get(p, peer, &one, d);
	if (rc == ST_OK)
		rc = peers_token(p, peer, token, sizeof(token), d);
	if (rc == ST_OK) {
		rc = fc_open(&c, &one, token, FETCH_MAX, 30000, d);
		open = rc == ST_OK;
	}
	sodium_memzero(token, sizeof(token));
	char url[sizeof(c.origin) + 32];
	snprintf(url, sizeof(url), "%s/api/v1/audit/witness/", c.origin);
	if (rc == ST_OK)
		rc = fc_request(&c, "GET", url, NULL, 0, FETCH_MAX, &r, d);
	if (rc == ST_OK && r.status != 200)
		rc = diag_set(d, ST_EIO, "%s: HTTP %ld", url, r.status);
	const struct json_val *root = NULL, *heads = NULL;
	if (rc == ST_OK && (doc = json_doc_new()) == NULL)
		rc = diag_set(d, ST_ENOMEM, "out of memory");
	if (rc == ST_OK && json_parse(doc, r.body.data, r.body.len, 0, NULL,
				      &root, d) != ST_OK) {
		diag_prefix(d, "%s", url);
		rc = ST_EIO;
	}
	if (rc == ST_OK) {
		heads = json_get(root, "heads");
		if (heads == NULL || heads->type != JSON_ARRAY ||
		    heads->len > FED_WITNESS_KEEP)
			rc = diag_set(d, ST_EIO,
				      "%s: no \"heads\" array of at most %d",
				      url, FED_WITNESS_KEEP);
	}
	if (rc == ST_OK) {
		*out = calloc(heads->len ? heads->len : 1, sizeof(**out));
		if (*out == NULL)
			rc = diag_set(d, ST_ENOMEM, "out of memory");
	}
	for (uint32_t i = 0; rc == ST_OK && i < heads->len; i++) {
		if (fed_witness_parse(&heads->u.items[i], &(*out)[i], d) !=
		    ST_OK) {
			diag_prefix(d, "%s: head %u", url, (unsigned)i);
			rc = ST_EIO;
		} else {
			(*n)++;
		}
	}
	if (rc != ST_OK) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	json_doc_free(doc);
	buf_free(&r.body);
	if (open)
		fc_close(&c);
	peers_close(p);
	return rc == ST_ENOTFOUND || rc == ST_OK || rc == ST_ENOMEM ? rc
								    : ST_EIO;
}
