/*
 * strait: what a principal of this node hands in (a signed message with
 * its sealed bodies, a signed receipt), checked, kept and queued for the
 * partners; shared by the CLI and the HTTP API.
 */
#include "hotline/submit.h"

#include "common/json.h"
#include "federation/fed.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool of_node(const char *addr, const char *identity)
{
	size_t nl;
	return hl_addr_valid(addr, &nl) && strlen(identity) == nl &&
	       strncmp(addr, identity, nl) == 0;
}

/* The relay document of message m for one partner: the header, the
 * signature and the sealed bodies of that partner's readers. */
static int relay_json(const struct hl_header *h, const uint8_t *sig,
		      const struct hl_reader *rd, size_t n, const char *peer,
		      struct hl_db *db, struct buf *out, size_t *count)
{
	char hex[2 * HL_SIG_BYTES + 1];
	struct jw w;
	buf_reset(out);
	jw_init(&w, out);
	jw_obj_open(&w);
	jw_key(&w, "kind");
	jw_str(&w, "message");
	jw_key(&w, "header");
	hl_header_json(&w, h);
	sodium_bin2hex(hex, sizeof(hex), sig, HL_SIG_BYTES);
	jw_key(&w, "sig");
	jw_str(&w, hex);
	jw_key(&w, "readers");
	jw_arr_open(&w);
	*count = 0;
	for (size_t i = 0; i < n; i++) {
		struct hl_principal p;
		if (hl_principal_get(db, rd[i].addr, &p) != ST_OK ||
		    strcmp(p.peer, peer) != 0)
			continue;
		size_t b64 = sodium_base64_ENCODED_LEN(
		    rd[i].ctlen, sodium_base64_VARIANT_ORIGINAL);
		char *s = malloc(b64);
		if (s == NULL)
			return ST_ENOMEM;
		sodium_bin2base64(s, b64, rd[i].ct, rd[i].ctlen,
				  sodium_base64_VARIANT_ORIGINAL);
		jw_obj_open(&w);
		jw_key(&w, "principal");
		jw_str(&w, rd[i].addr);
		jw_key(&w, "sealed");
		jw_str(&w, s);
		jw_obj_close(&w);
		free(s);
		(*count)++;
	}
	jw_arr_close(&w);
	jw_obj_close(&w);
	return jw_finish(&w);
}

int hl_submit(struct hl_db *db, struct store *st, const char *home,
	      const char *identity, const struct hl_header *h,
	      const uint8_t *sig, const struct hl_reader *rd, size_t n,
	      void (*committed)(void *ctx), void *ctx, size_t *queued,
	      struct diag *d)
{
	*queued = 0;
	int rc = hl_header_check(h, d);
	if (rc != ST_OK)
		return rc;
	struct hl_principal s;
	if (!of_node(h->sender, identity) ||
	    hl_principal_get(db, h->sender, &s) != ST_OK ||
	    s.trust != HL_TRUST_OURS)
		return diag_set(d, ST_EINVAL,
				"%s is not a principal enrolled here",
				h->sender);
	if (!hl_verify(h, s.key.sign_pk, sig))
		return diag_set(d, ST_EINVAL,
				"message %s: the signature is not %s's", h->id,
				h->sender);
	/* every recipient a partner's principal whose key is confirmed */
	char peers[HL_MAX_RECIPIENTS][HL_PEER_MAX];
	size_t np = 0;
	for (size_t i = 0; i < h->nrecipients; i++) {
		struct hl_principal p;
		if (hl_principal_get(db, h->recipients[i], &p) != ST_OK ||
		    p.peer[0] == '\0')
			return diag_set(d, ST_EINVAL,
					"%s: not a partner's principal known "
					"here (strait contacts)",
					h->recipients[i]);
		if (!hl_principal_usable(&p))
			return diag_set(d, ST_EINVAL,
					"%s: its key is %s: confirm its "
					"fingerprint first (strait hotline "
					"trust)",
					h->recipients[i],
					hl_trust_name(p.trust));
		bool have = false;
		for (size_t k = 0; k < np; k++)
			have |= strcmp(peers[k], p.peer) == 0;
		if (!have)
			snprintf(peers[np++], HL_PEER_MAX, "%s", p.peer);
	}
	/* the objects it refers to: each partner must be given them */
	for (size_t k = 0; k < np; k++)
		for (size_t i = 0; i < h->nstix; i++)
			if (!fed_released_to(st, home, peers[k], h->stix[i]))
				return diag_set(d, ST_EINVAL,
						"%s: the release decision does "
						"not give it to %s; take the "
						"reference out",
						h->stix[i], peers[k]);
	if (n == 0 || n > HL_MAX_READERS)
		return diag_set(d, ST_EINVAL, "readers: 1 to %d",
				HL_MAX_READERS);
	for (size_t i = 0; i < n; i++) {
		struct hl_principal p;
		if (hl_principal_get(db, rd[i].addr, &p) != ST_OK ||
		    !hl_principal_usable(&p) || p.peer[0] == '\0')
			return diag_set(d, ST_EINVAL,
					"reader %s: not a partner's principal "
					"with a confirmed key",
					rd[i].addr);
		if (rd[i].ctlen != h->body_size + crypto_box_SEALBYTES)
			return diag_set(d, ST_EINVAL,
					"reader %s: the sealed body is not "
					"the size the header announces",
					rd[i].addr);
	}
	struct hl_msg m;
	memset(&m, 0, sizeof(m));
	m.h = *h;
	memcpy(m.sig, sig, HL_SIG_BYTES);
	m.dir = HL_OUT;
	m.stored = time_now();
	m.state = HL_OPEN;
	/* the message and what goes to each partner: one transaction */
	struct buf docs[HL_MAX_RECIPIENTS];
	const char *dp[HL_MAX_RECIPIENTS], *pp[HL_MAX_RECIPIENTS];
	size_t nq = 0;
	for (size_t k = 0; k < np; k++)
		buf_init(&docs[k], HL_WIRE_MAX);
	for (size_t k = 0; rc == ST_OK && k < np; k++) {
		size_t cnt = 0;
		rc = relay_json(h, sig, rd, n, peers[k], db, &docs[k], &cnt);
		if (rc == ST_OK && cnt > 0) {
			dp[nq] = docs[k].data;
			pp[nq++] = peers[k];
		}
	}
	bool dup = false;
	if (rc == ST_OK)
		rc = hl_msg_put_queued(db, &m, NULL, 0, pp, dp, nq, &dup, d);
	else
		diag_set(d, rc, "message %s: relay documents", h->id);
	for (size_t k = 0; k < np; k++)
		buf_free(&docs[k]);
	/* Committed: the links may relay it now, while the disk works (a
	 * FLASH waits for neither node's disk on its way; docs/HOTLINE.md).
	 * The client hears that it is kept once it is on disk. The disk works
	 * without holding the hotline's state, so deliveries, receipts and
	 * other hand-ins go on meanwhile. A repeated hand-in syncs too: the
	 * first one's sync may have failed. */
	if (rc == ST_OK && !dup && nq > 0 && committed != NULL)
		committed(ctx);
	if (rc == ST_OK)
		rc = hl_db_sync(db, d);
	if (rc != ST_OK)
		return rc;
	if (dup)
		return diag_set(d, ST_EEXIST, "message %s: already sent",
				h->id);
	*queued = nq;
	if (rc == ST_OK) {
		char detail[512];
		snprintf(detail, sizeof(detail),
			 "{\"precedence\":\"%s\",\"status\":\"%s\","
			 "\"type\":\"%s\",\"sender\":\"%s\"}",
			 hl_prec_name(h->prec), hl_status_name(h->status),
			 hl_type_name(h->type), h->sender);
		hl_event_add(db, "sent", h->id, detail, NULL);
	}
	return rc;
}

int hl_receipt_submit(struct hl_db *db, const char *identity,
		      const struct hl_receipt_rec *r, struct diag *d)
{
	struct hl_principal p;
	if (!of_node(r->principal, identity) ||
	    hl_principal_get(db, r->principal, &p) != ST_OK ||
	    p.trust != HL_TRUST_OURS)
		return diag_set(d, ST_EINVAL,
				"%s is not a principal enrolled here",
				r->principal);
	if (!hl_receipt_verify(r, p.key.sign_pk))
		return diag_set(d, ST_EINVAL,
				"receipt for %s: the signature is not %s's",
				r->msg, r->principal);
	struct hl_msg m;
	int rc = hl_msg_get(db, r->msg, &m, d);
	if (rc != ST_OK)
		return rc;
	int level = hl_msg_reader_level(db, r->msg, r->principal);
	if (m.dir != HL_IN || level < 0)
		return diag_set(d, ST_EINVAL, "%s is not a reader of %s",
				r->principal, r->msg);
	if (level > m.level)
		return diag_set(d, ST_EINVAL,
				"%s: the message has not reached %s yet",
				r->msg, r->principal);
	bool dup = false;
	rc = hl_receipt_put(db, r, &dup, d);
	if (rc != ST_OK || dup)
		return rc;
	if (r->kind == HL_ACKNOWLEDGED && m.state != HL_ACKED)
		rc =
		    hl_msg_update(db, m.h.id, HL_ACKED, m.level, m.deadline, d);
	struct buf doc = BUF_INIT(8192);
	struct jw w;
	jw_init(&w, &doc);
	jw_obj_open(&w);
	jw_key(&w, "kind");
	jw_str(&w, "receipt");
	jw_key(&w, "receipt");
	hl_receipt_json(&w, r);
	jw_obj_close(&w);
	if (rc == ST_OK && (rc = jw_finish(&w)) == ST_OK)
		rc = hl_outbox_add(db, m.peer, m.h.prec, doc.data, d);
	buf_free(&doc);
	if (rc == ST_OK) {
		char detail[512];
		snprintf(detail, sizeof(detail),
			 "{\"receipt\":\"%s\",\"principal\":\"%s\","
			 "\"status\":\"%s\"}",
			 hl_receipt_kind_name(r->kind), r->principal,
			 hl_status_name(m.h.status));
		hl_event_add(db, hl_receipt_kind_name(r->kind), r->msg, detail,
			     NULL);
	}
	return rc;
}
