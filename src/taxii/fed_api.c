#define _DEFAULT_SOURCE	  /* timegm */
#define _XOPEN_SOURCE 700 /* strptime */
/*
 * strait: the TAXII side of federation: partner nodes' posts go through
 * fed_receive (attestations, arrival rules, quarantine); what a partner
 * reads is what was released to it, with attestations beside it; the
 * node's identity and the peers' state as JSON.
 */
#include "taxii/taxii_int.h"

#include "audit/writer.h"

#include "common/log.h"
#include "common/uuid.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const struct auth_account *acct_of(const struct http_request *req)
{
	return req->account;
}

int taxii_h_node(struct http_request *req, struct http_response *resp)
{
	struct taxii *t = req->ctx;
	if (t->cfg.fed == NULL)
		return http_error(resp, 404, "Not found",
				  "this node does not federate");
	int rc = fed_node_json(t->cfg.fed, &resp->body);
	if (rc != ST_OK)
		return http_error_from(resp, rc, NULL);
	resp->status = 200;
	resp->content_type = "application/json";
	return ST_OK;
}

int taxii_h_peers(struct http_request *req, struct http_response *resp)
{
	struct taxii *t = req->ctx;
	enum role r = acct_of(req)->role;
	if (r != ROLE_ADMIN && r != ROLE_AUDITOR)
		return http_error(resp, 403, "Forbidden",
				  "peer state is for admin and auditor "
				  "accounts");
	if (t->cfg.fed == NULL)
		return http_error(resp, 404, "Not found",
				  "this node does not federate");
	int rc = fed_peers_json(t->cfg.fed, &resp->body);
	if (rc != ST_OK)
		return http_error_from(resp, rc, NULL);
	resp->status = 200;
	resp->content_type = "application/json";
	return ST_OK;
}

/* An HTTP date (IMF-fixdate, RFC 9110 5.6.7) in microseconds; 0 when
 * absent or malformed (our clock is used then). */
static st_time http_date(const char *s)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	if (s == NULL)
		return 0;
	const char *end = strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (end == NULL || *end != '\0')
		return 0;
	time_t t = timegm(&tm);
	return t > 0 ? (st_time)t * 1000000 : 0;
}

static bool ok_outcome(enum fed_outcome o)
{
	return o == FED_STORED || o == FED_DUPLICATE || o == FED_ATTESTATION;
}

static void detail(struct jw *w, const struct fed_result *r)
{
	jw_obj_open(w);
	jw_key(w, "id");
	jw_str(w, r->id);
	jw_key(w, "version");
	jw_str(w, r->version);
	if (r->msg[0]) {
		jw_key(w, "message");
		jw_str(w, r->msg);
	}
	jw_obj_close(w);
}

/* Records what a post put in quarantine: the versions and why (queued:
 * quarantine holds them whatever the log says). */
static void audit_quarantine(struct taxii *t, const struct auth_account *a,
			     const struct fed_result *res, size_t n)
{
	size_t q = 0;
	for (size_t i = 0; i < n; i++)
		q += res[i].outcome == FED_QUARANTINED;
	if (q == 0)
		return;
	struct buf b = BUF_INIT(AUDIT_DETAIL_MAX);
	struct jw w;
	jw_init(&w, &b);
	jw_obj_open(&w);
	jw_key(&w, "quarantined");
	jw_int(&w, (int64_t)q);
	jw_key(&w, "versions");
	jw_arr_open(&w);
	/* the first ones, with their reasons, as far as the detail holds */
	for (size_t i = 0, k = 0; i < n && k < 64; i++)
		if (res[i].outcome == FED_QUARANTINED) {
			detail(&w, &res[i]);
			k++;
		}
	jw_arr_close(&w);
	jw_obj_close(&w);
	char actor[AUDIT_ACTOR_MAX + 1];
	taxii_actor(a, actor, sizeof(actor));
	if (jw_finish(&w) == ST_OK)
		audit_record(t->cfg.audit, "quarantine", actor, b.data, false);
	buf_free(&b);
}

int taxii_fed_post(struct http_request *req, struct http_response *resp,
		   const struct store_collection *c,
		   const struct fed_elem *elems, size_t n)
{
	struct taxii *t = req->ctx;
	const struct auth_account *a = acct_of(req);
	struct diag d;
	unsigned retry = 0;
	/* Quarantines are recorded: a post the log could not record is not
	 * taken (the partner retries). */
	if (!audit_writer_ok(t->cfg.audit)) {
		resp->retry_after_s = 5;
		return http_error(resp, 503, "Service Unavailable",
				  "the audit log cannot be written now; try "
				  "again later");
	}
	int arc = fed_admit(t->cfg.fed, a->name, n, &retry, &d);
	if (arc != ST_OK) {
		resp->retry_after_s = retry;
		log_warn("federation", "post from %s refused: %s", a->name,
			 d.msg);
		return http_error(resp, arc == ST_ELIMIT ? 429 : 503,
				  arc == ST_ELIMIT ? "Too Many Requests"
						   : "Service Unavailable",
				  d.msg);
	}
	struct fed_result *res = calloc(n ? n : 1, sizeof(*res));
	if (res == NULL)
		return http_error_from(resp, ST_ENOMEM, NULL);
	st_time date = http_date(http_header(req, "Date"));
	int rc =
	    fed_receive(t->cfg.fed, a->name, date, c->cid, elems, n, res, &d);
	if (rc == ST_ENOTFOUND) {
		free(res);
		log_warn("federation",
			 "account %s has role peer but no peer of that name "
			 "is registered (strait peer add %s ...)",
			 a->name, a->name);
		return http_error(resp, 403, "Forbidden",
				  "this account is not linked to a partner "
				  "node");
	}
	if (rc != ST_OK) {
		free(res);
		log_error("federation", "post from %s: %s", a->name, d.msg);
		return http_error_from(resp, rc, NULL);
	}
	fed_peer_pushed(t->cfg.fed, a->name);
	size_t ok = 0, bad = 0;
	for (size_t i = 0; i < n; i++) {
		if (ok_outcome(res[i].outcome))
			ok++;
		else
			bad++;
	}
	audit_quarantine(t, a, res, n);
	/* Attestations count as successes (kept, or, when refused,
	 * quarantined with the objects they would cover). */
	struct buf okb = BUF_INIT((size_t)1 << 28),
		   badb = BUF_INIT((size_t)1 << 28);
	struct jw wo, wb;
	jw_init(&wo, &okb);
	jw_init(&wb, &badb);
	jw_arr_open(&wo);
	jw_arr_open(&wb);
	for (size_t i = 0; i < n; i++)
		detail(ok_outcome(res[i].outcome) ? &wo : &wb, &res[i]);
	jw_arr_close(&wo);
	jw_arr_close(&wb);
	free(res);
	if ((rc = jw_finish(&wo)) == ST_OK && (rc = jw_finish(&wb)) == ST_OK)
		rc = taxii_status_reply(t, resp, a->id, n, ok, &okb, bad, &badb,
					&d);
	buf_free(&okb);
	buf_free(&badb);
	return rc == ST_OK ? ST_OK : http_error_from(resp, rc, NULL);
}

/* ------------------------------------------------------------------ */
/* Pages served to a partner                                            */
/* ------------------------------------------------------------------ */

void taxii_fed_page_init(struct taxii_fed_page *p, const struct taxii *t,
			 const struct auth_account *acct, const char *path,
			 const char *coll, bool attest)
{
	memset(p, 0, sizeof(*p));
	p->acct = acct;
	p->peer = taxii_partner_view(t, acct);
	p->path = path;
	p->coll = coll;
	p->attest = attest && acct->role == ROLE_PEER;
	buf_init(&p->bytes, (size_t)256 << 20);
}

int taxii_fed_page_add(struct taxii_fed_page *p, const struct store_row *row)
{
	if (p->n == p->cap) {
		size_t nc = p->cap ? p->cap * 2 : 64;
		struct fed_page_item *g = realloc(p->items, nc * sizeof(*g));
		if (g == NULL)
			return ST_ENOMEM;
		p->items = g;
		p->cap = nc;
	}
	/* Offsets now, pointers once the buffer stops moving. */
	struct fed_page_item *it = &p->items[p->n];
	it->seq = row->seq;
	it->flags = row->flags;
	it->tlp = row->tlp;
	it->version = row->version;
	it->id = (const char *)(uintptr_t)p->bytes.len;
	int rc = buf_add(&p->bytes, row->id, strlen(row->id) + 1);
	it->body = (const char *)(uintptr_t)p->bytes.len;
	it->body_len = p->attest ? row->body_len : 0;
	if (rc == ST_OK && p->attest)
		rc = buf_add(&p->bytes, row->body, row->body_len);
	if (rc == ST_OK)
		rc = buf_addc(&p->bytes, '\0');
	it->prov = (const void *)(uintptr_t)p->bytes.len;
	it->prov_len = p->attest && row->prov != NULL ? row->prov_len : 0;
	if (rc == ST_OK && it->prov_len > 0)
		rc = buf_add(&p->bytes, row->prov, row->prov_len);
	if (rc != ST_OK)
		return rc;
	p->n++;
	return ST_OK;
}

static int add_raw(void *ctx, const char *json, size_t len)
{
	jw_raw(ctx, json, len);
	return ST_OK;
}

int taxii_fed_page_finish(struct taxii_fed_page *p, struct taxii *t,
			  struct jw *w, struct diag *d)
{
	struct fed *fed = t->cfg.fed;
	if (p->peer == NULL)
		return ST_OK;
	for (size_t i = 0; i < p->n; i++) {
		p->items[i].id = p->bytes.data + (uintptr_t)p->items[i].id;
		p->items[i].body = p->bytes.data + (uintptr_t)p->items[i].body;
		p->items[i].prov =
		    p->items[i].prov_len > 0
			? p->bytes.data + (uintptr_t)p->items[i].prov
			: NULL;
	}
	/* Recorded first: a read the log cannot hold is not served. */
	int rc =
	    taxii_audit_read(t, p->acct, p->path, p->coll, p->items, p->n, d);
	if (rc != ST_OK || p->n == 0)
		return rc;
	if (p->attest)
		rc = fed_page_attestations(fed, p->peer, p->items, p->n,
					   add_raw, w, d);
	if (rc == ST_OK)
		fed_record_release(fed, p->peer,
				   p->acct->role == ROLE_LIAISON ? "liaison"
								 : p->path,
				   p->items, p->n);
	return rc;
}

void taxii_fed_page_free(struct taxii_fed_page *p)
{
	free(p->items);
	buf_free(&p->bytes);
	memset(p, 0, sizeof(*p));
}
