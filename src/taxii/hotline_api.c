/*
 * strait: the hotline over HTTP.
 *
 *  POST /api/v1/hotline/relay/     a partner node's peer account relays a
 *                                  message, receipt, notice or heartbeat
 *  GET  /api/v1/contacts/          this node's contact profile (any account)
 *  GET  /api/v1/hotline/status/    links, outboxes, principals
 *  GET  /api/v1/hotline/events/    Server-Sent Events of the hotline
 *  POST /api/v1/hotline/messages/  a principal's client hands in a message
 *  GET  /api/v1/hotline/inbox/     what a principal may read, sealed
 *  POST /api/v1/hotline/receipts/  a principal's signed receipt
 *
 * Principals act through accounts of role principal whose name is the
 * account part of their address. A node never sees a body in clear: what
 * a principal's client posts is already signed and sealed.
 */
#include "taxii/taxii_int.h"

#include "common/json.h"
#include "common/log.h"
#include "common/time.h"
#include "hotline/node.h"
#include "hotline/submit.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVENT_PAGE 64
#define HEARTBEAT_MS 15000

static const struct auth_account *acct_of(const struct http_request *req)
{
	return req->account;
}

static int need_hotline(struct taxii *t, struct http_response *resp)
{
	if (t->cfg.hotline == NULL || t->cfg.node_identity == NULL)
		return http_error(resp, 404, "Not found",
				  "this node runs no hotline (it needs node "
				  "keys and an identity)");
	return ST_OK;
}

/* The principal address of a principal account: "<identity>/<name>". */
static bool principal_addr(struct taxii *t, const struct auth_account *a,
			   char *out, size_t cap)
{
	if (a->role != ROLE_PRINCIPAL)
		return false;
	snprintf(out, cap, "%s/%s", t->cfg.node_identity, a->name);
	return true;
}

static int json_reply(struct http_response *resp, int status)
{
	resp->status = status;
	resp->content_type = "application/json";
	return ST_OK;
}

static int parse_body(struct http_request *req, struct json_doc *doc,
		      const struct json_val **root, struct diag *d)
{
	if (req->body_len > HL_WIRE_MAX)
		return diag_set(d, ST_ELIMIT, "more than %d bytes",
				HL_WIRE_MAX);
	return json_parse(doc, req->body ? req->body : "",
			  req->body ? req->body_len : 0, 0, NULL, root, d);
}

/* hl_submit's committed: the links take a message as soon as it is
 * committed, not once it is on disk here too. */
static void wake_links(void *ctx)
{
	hl_node_wake(ctx);
}

int taxii_h_hotline_relay(struct http_request *req, struct http_response *resp)
{
	struct taxii *t = req->ctx;
	const struct auth_account *a = acct_of(req);
	if (a->role != ROLE_PEER)
		return http_error(resp, 403, "Forbidden",
				  "the relay is for partner nodes' accounts");
	if (need_hotline(t, resp) != ST_OK)
		return ST_OK;
	if (req->body_len > HL_WIRE_MAX)
		return http_error(resp, 413, NULL, "more than 1 MiB");
	struct diag d;
	struct hl_ack ack;
	int rc =
	    hl_node_receive(t->cfg.hotline, a->name, req->body ? req->body : "",
			    req->body ? req->body_len : 0, &ack, &d);
	if (rc == ST_OK) {
		/* kept: committed, on disk once durable reaches gen */
		json_reply(resp, 201);
		return buf_printf(&resp->body,
				  "{\"kept\":true,\"boot\":\"%s\",\"gen\":%llu,"
				  "\"durable\":%llu}",
				  ack.boot, (unsigned long long)ack.gen,
				  (unsigned long long)ack.durable);
	}
	if (rc == ST_ELIMIT) {
		resp->retry_after_s = 5;
		return http_error(resp, 429, "Too Many Requests", d.msg);
	}
	log_warn("hotline", "relay from %s refused: %s", a->name, d.msg);
	if (rc == ST_EINVAL)
		return http_error(resp, 422, "Refused", d.msg);
	return http_error(resp, 503, "Service Unavailable", d.msg);
}

int taxii_h_contacts(struct http_request *req, struct http_response *resp)
{
	struct taxii *t = req->ctx;
	if (acct_of(req)->role == ROLE_METRICS)
		return http_error(resp, 403, "Forbidden", NULL);
	if (need_hotline(t, resp) != ST_OK)
		return ST_OK;
	struct diag d;
	int rc = hl_node_profile_json(t->cfg.hotline, &resp->body, &d);
	if (rc != ST_OK)
		return http_error_from(resp, rc, d.msg);
	return json_reply(resp, 200);
}

static bool may_watch(const struct auth_account *a)
{
	return a->role == ROLE_ADMIN || a->role == ROLE_AUDITOR ||
	       a->role == ROLE_PRINCIPAL;
}

struct status_ctx {
	struct jw *w;
	struct hl_db *db;
};

static int status_principal(void *ctx, const struct hl_principal *p)
{
	struct status_ctx *s = ctx;
	jw_obj_open(s->w);
	jw_key(s->w, "address");
	jw_str(s->w, p->addr);
	jw_key(s->w, "partner");
	jw_str(s->w, p->peer);
	jw_key(s->w, "fingerprint");
	jw_str(s->w, p->fp);
	jw_key(s->w, "trust");
	jw_str(s->w, hl_trust_name(p->trust));
	jw_obj_close(s->w);
	return ST_OK;
}

int taxii_h_hotline_status(struct http_request *req, struct http_response *resp)
{
	struct taxii *t = req->ctx;
	if (!may_watch(acct_of(req)))
		return http_error(resp, 403, "Forbidden",
				  "for principal, admin and auditor accounts");
	if (need_hotline(t, resp) != ST_OK)
		return ST_OK;
	struct hl_db *db = hl_node_db(t->cfg.hotline);
	struct diag d;
	struct jw w;
	jw_init(&w, &resp->body);
	jw_obj_open(&w);
	jw_key(&w, "clock");
	jw_double(&w, hl_node_clock(t->cfg.hotline));
	jw_key(&w, "links");
	jw_arr_open(&w);
	char names[64][HL_PEER_MAX];
	size_t n = 0;
	struct buf peers = BUF_INIT(1 << 16);
	if (t->cfg.fed != NULL && fed_peers_json(t->cfg.fed, &peers) == ST_OK) {
		struct json_doc *doc = json_doc_new();
		const struct json_val *root, *arr;
		if (doc != NULL &&
		    json_parse(doc, peers.data, peers.len, 0, NULL, &root,
			       &d) == ST_OK &&
		    (arr = json_get(root, "peers")) != NULL &&
		    arr->type == JSON_ARRAY)
			for (uint32_t i = 0; i < arr->len && n < 64; i++) {
				const struct json_val *nm =
				    json_get(&arr->u.items[i], "name");
				if (nm != NULL && nm->type == JSON_STRING &&
				    nm->len < HL_PEER_MAX)
					snprintf(names[n++], HL_PEER_MAX, "%s",
						 nm->u.str);
			}
		json_doc_free(doc);
	}
	buf_free(&peers);
	st_time now = time_now();
	for (size_t i = 0; i < n; i++) {
		struct hl_link l;
		char ts[TS_BUFSZ];
		bool known = hl_link_get(db, names[i], &l) == ST_OK;
		bool up = known && l.down_since == 0 && l.last_heard != 0 &&
			  now - l.last_heard < 10 * 1000000LL;
		jw_obj_open(&w);
		jw_key(&w, "partner");
		jw_str(&w, names[i]);
		jw_key(&w, "up");
		jw_bool(&w, up);
		jw_key(&w, "last_heard");
		if (known && l.last_heard) {
			ts_format(l.last_heard, ts);
			jw_str(&w, ts);
		} else {
			jw_null(&w);
		}
		jw_key(&w, "down_since");
		if (known && l.down_since) {
			ts_format(l.down_since, ts);
			jw_str(&w, ts);
		} else {
			jw_null(&w);
		}
		jw_key(&w, "queued");
		jw_int(&w, (int64_t)hl_outbox_count(db, names[i]));
		jw_obj_close(&w);
	}
	jw_arr_close(&w);
	jw_key(&w, "principals");
	jw_arr_open(&w);
	struct status_ctx sc = {&w, db};
	hl_principal_list(db, NULL, status_principal, &sc, &d);
	jw_arr_close(&w);
	jw_obj_close(&w);
	int rc = jw_finish(&w);
	if (rc != ST_OK)
		return http_error_from(resp, rc, NULL);
	return json_reply(resp, 200);
}

/* ---- the event feed (SSE) ---- */

struct feed {
	struct taxii *t;
	struct http_server *srv;
	struct hl_db *db;
	char addr[HL_ADDR_MAX + 1]; /* a principal's; "" sees all */
	int64_t after;
	struct buf out;
	size_t sent;
	double last_write;
};

struct feed_page {
	struct feed *f;
	int64_t last;
};

/* Whether the principal reads or sent the event's message. */
static bool feed_visible(struct feed *f, const struct hl_event *e)
{
	if (f->addr[0] == '\0' || e->msg[0] == '\0')
		return f->addr[0] == '\0' ||
		       strncmp(e->kind, "link.", 5) == 0 ||
		       strcmp(e->kind, "key.changed") == 0;
	if (hl_msg_reader_level(f->db, e->msg, f->addr) >= 0)
		return true;
	struct hl_msg m;
	return hl_msg_get(f->db, e->msg, &m, NULL) == ST_OK &&
	       strcmp(m.h.sender, f->addr) == 0;
}

static int feed_event(void *ctx, const struct hl_event *e)
{
	struct feed_page *p = ctx;
	struct feed *f = p->f;
	p->last = e->seq;
	if (!feed_visible(f, e))
		return ST_OK;
	char ts[TS_BUFSZ];
	ts_format(e->at, ts);
	/* detail is JSON made here; the message id a UUID: no line break */
	return buf_printf(&f->out,
			  "id: %lld\nevent: %s\ndata: {\"seq\":%lld,\"at\":"
			  "\"%s\",\"message\":\"%s\",\"detail\":%s}\n\n",
			  (long long)e->seq, e->kind, (long long)e->seq, ts,
			  e->msg, e->detail[0] ? e->detail : "{}");
}

static ssize_t feed_read(void *arg, char *out, size_t max)
{
	struct feed *f = arg;
	double t0 = time_mono();
	for (;;) {
		if (f->sent < f->out.len) {
			size_t n = f->out.len - f->sent;
			if (n > max)
				n = max;
			memcpy(out, f->out.data + f->sent, n);
			f->sent += n;
			if (f->sent == f->out.len) {
				buf_reset(&f->out);
				f->sent = 0;
			}
			f->last_write = time_mono();
			return (ssize_t)n;
		}
		if (http_server_stopping(f->srv))
			return HTTP_STREAM_END;
		struct feed_page p = {f, f->after};
		struct diag d;
		uint64_t gen = hl_db_event_gen(f->db);
		if (hl_event_list(f->db, f->after, EVENT_PAGE, feed_event, &p,
				  &d) != ST_OK)
			return HTTP_STREAM_ERROR;
		f->after = p.last;
		if (f->out.len > 0)
			continue;
		double now = time_mono();
		if ((now - f->last_write) * 1e3 >= HEARTBEAT_MS) {
			buf_printf(&f->out, ": heartbeat\n\n");
			continue;
		}
		double left = 400 - (now - t0) * 1e3;
		if (left <= 0)
			return 0;
		hl_db_wait_event(f->db, gen, (unsigned)left + 1);
	}
}

static void feed_free(void *arg)
{
	struct feed *f = arg;
	buf_free(&f->out);
	free(f);
}

int taxii_h_hotline_events(struct http_request *req, struct http_response *resp)
{
	struct taxii *t = req->ctx;
	const struct auth_account *a = acct_of(req);
	if (!may_watch(a))
		return http_error(resp, 403, "Forbidden",
				  "for principal, admin and auditor accounts");
	if (need_hotline(t, resp) != ST_OK)
		return ST_OK;
	struct feed *f = calloc(1, sizeof(*f));
	if (f == NULL)
		return http_error_from(resp, ST_ENOMEM, NULL);
	f->t = t;
	f->srv = req->server;
	f->db = hl_node_db(t->cfg.hotline);
	if (a->role == ROLE_PRINCIPAL)
		principal_addr(t, a, f->addr, sizeof(f->addr));
	buf_init(&f->out, 1 << 20);
	f->last_write = time_mono();
	/* from the start, after an event id (Last-Event-ID or ?after=), or
	 * from now (?after=now) */
	const char *after = http_header(req, "Last-Event-ID");
	if (after == NULL)
		after = http_query_get(&req->query, "after");
	if (after != NULL && strcmp(after, "now") == 0) {
		f->after = hl_event_last(f->db);
	} else if (after != NULL) {
		char *end;
		long long v = strtoll(after, &end, 10);
		if (*after == '\0' || *end != '\0' || v < 0) {
			feed_free(f);
			return http_error(resp, 400, "Bad after",
					  "after: an event id, or now");
		}
		f->after = v;
	}
	http_response_stream(resp, 200, "text/event-stream", feed_read, f,
			     feed_free);
	return ST_OK;
}

/* ---- a principal's client ---- */

int taxii_h_hotline_submit(struct http_request *req, struct http_response *resp)
{
	struct taxii *t = req->ctx;
	const struct auth_account *a = acct_of(req);
	char me[HL_ADDR_MAX + 1];
	if (!principal_addr(t, a, me, sizeof(me)))
		return http_error(resp, 403, "Forbidden",
				  "messages are handed in by principal "
				  "accounts");
	if (need_hotline(t, resp) != ST_OK)
		return ST_OK;
	struct hl_db *db = hl_node_db(t->cfg.hotline);
	struct diag d;
	struct json_doc *doc = json_doc_new();
	if (doc == NULL)
		return http_error_from(resp, ST_ENOMEM, NULL);
	const struct json_val *root, *rs;
	struct hl_header h;
	uint8_t sig[HL_SIG_BYTES];
	struct hl_reader rd[HL_MAX_READERS];
	uint8_t *cts[HL_MAX_READERS];
	size_t nr = 0, queued = 0;
	int rc = parse_body(req, doc, &root, &d);
	if (rc == ST_OK)
		rc = hl_header_parse(json_get(root, "header"), &h, &d);
	if (rc == ST_OK && strcmp(h.sender, me) != 0)
		rc = diag_set(&d, ST_EINVAL,
			      "sender: this account hands in messages of %s "
			      "only",
			      me);
	if (rc == ST_OK &&
	    !hl_hex_field(json_get(root, "sig"), sig, sizeof(sig)))
		rc = diag_set(&d, ST_EINVAL, "sig: 128 hex digits");
	rs = rc == ST_OK ? json_get(root, "readers") : NULL;
	if (rc == ST_OK &&
	    (rs == NULL || rs->type != JSON_ARRAY || rs->len > HL_MAX_READERS))
		rc = diag_set(&d, ST_EINVAL, "readers: an array of at most %d",
			      HL_MAX_READERS);
	for (uint32_t i = 0; rc == ST_OK && i < rs->len; i++) {
		const struct json_val *pa =
		    json_get(&rs->u.items[i], "principal");
		const struct json_val *se = json_get(&rs->u.items[i], "sealed");
		if (pa == NULL || pa->type != JSON_STRING ||
		    pa->len > HL_ADDR_MAX || se == NULL ||
		    se->type != JSON_STRING) {
			rc = diag_set(&d, ST_EINVAL,
				      "readers[%u]: principal and sealed",
				      (unsigned)i);
			break;
		}
		size_t cap = se->len / 4 * 3 + 3, len = 0;
		cts[nr] = malloc(cap);
		if (cts[nr] == NULL) {
			rc = diag_set(&d, ST_ENOMEM, "out of memory");
			break;
		}
		memcpy(rd[nr].addr, pa->u.str, pa->len);
		rd[nr].addr[pa->len] = '\0';
		if (sodium_base642bin(cts[nr], cap, se->u.str, se->len, NULL,
				      &len, NULL,
				      sodium_base64_VARIANT_ORIGINAL) != 0) {
			free(cts[nr]);
			rc = diag_set(&d, ST_EINVAL,
				      "readers[%u]: sealed is not base64",
				      (unsigned)i);
			break;
		}
		rd[nr].ct = cts[nr];
		rd[nr].ctlen = len;
		nr++;
	}
	if (rc == ST_OK)
		rc = hl_submit(db, t->cfg.store, t->cfg.home,
			       t->cfg.node_identity, &h, sig, rd, nr,
			       wake_links, t->cfg.hotline, &queued, &d);
	for (size_t i = 0; i < nr; i++)
		free(cts[i]);
	json_doc_free(doc);
	if (rc != ST_OK)
		return http_error(resp, rc == ST_EEXIST ? 409 : 422, "Refused",
				  d.msg);
	hl_node_wake(t->cfg.hotline);
	json_reply(resp, 202);
	return buf_printf(&resp->body, "{\"id\":\"%s\",\"partners\":%zu}", h.id,
			  queued);
}

struct inbox_ctx {
	struct jw *w;
	struct hl_db *db;
	const char *me;
};

static int inbox_one(void *ctx, const struct hl_msg *m)
{
	struct inbox_ctx *x = ctx;
	uint8_t *ct = NULL;
	size_t len = 0;
	char hex[2 * HL_SIG_BYTES + 1];
	if (m->dir != HL_IN ||
	    hl_msg_body(x->db, m->h.id, x->me, &ct, &len, NULL) != ST_OK)
		return ST_OK;
	size_t b64 =
	    sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	char *s = malloc(b64);
	if (s == NULL) {
		free(ct);
		return ST_ENOMEM;
	}
	sodium_bin2base64(s, b64, ct, len, sodium_base64_VARIANT_ORIGINAL);
	jw_obj_open(x->w);
	jw_key(x->w, "header");
	hl_header_json(x->w, &m->h);
	sodium_bin2hex(hex, sizeof(hex), m->sig, sizeof(m->sig));
	jw_key(x->w, "sig");
	jw_str(x->w, hex);
	jw_key(x->w, "sealed");
	jw_str(x->w, s);
	jw_key(x->w, "state");
	jw_str(x->w, hl_state_name(m->state));
	jw_key(x->w, "level");
	jw_int(x->w, m->level);
	jw_obj_close(x->w);
	free(s);
	free(ct);
	return ST_OK;
}

int taxii_h_hotline_inbox(struct http_request *req, struct http_response *resp)
{
	struct taxii *t = req->ctx;
	char me[HL_ADDR_MAX + 1];
	if (!principal_addr(t, acct_of(req), me, sizeof(me)))
		return http_error(resp, 403, "Forbidden",
				  "an inbox is a principal account's");
	if (need_hotline(t, resp) != ST_OK)
		return ST_OK;
	struct diag d;
	struct jw w;
	jw_init(&w, &resp->body);
	jw_obj_open(&w);
	jw_key(&w, "messages");
	jw_arr_open(&w);
	struct inbox_ctx x = {&w, hl_node_db(t->cfg.hotline), me};
	int rc = hl_msg_list(x.db, me, inbox_one, &x, &d);
	if (rc != ST_OK)
		return http_error_from(resp, rc, d.msg);
	jw_arr_close(&w);
	jw_obj_close(&w);
	if ((rc = jw_finish(&w)) != ST_OK)
		return http_error_from(resp, rc, "response too large");
	return json_reply(resp, 200);
}

int taxii_h_hotline_receipt(struct http_request *req,
			    struct http_response *resp)
{
	struct taxii *t = req->ctx;
	char me[HL_ADDR_MAX + 1];
	if (!principal_addr(t, acct_of(req), me, sizeof(me)))
		return http_error(resp, 403, "Forbidden",
				  "receipts are a principal account's");
	if (need_hotline(t, resp) != ST_OK)
		return ST_OK;
	struct diag d;
	struct json_doc *doc = json_doc_new();
	if (doc == NULL)
		return http_error_from(resp, ST_ENOMEM, NULL);
	const struct json_val *root;
	struct hl_receipt_rec r;
	int rc = parse_body(req, doc, &root, &d);
	if (rc == ST_OK)
		rc = hl_receipt_parse(json_get(root, "receipt"), &r, &d);
	if (rc == ST_OK && strcmp(r.principal, me) != 0)
		rc = diag_set(&d, ST_EINVAL,
			      "principal: this account signs for %s only", me);
	if (rc == ST_OK)
		rc = hl_receipt_submit(hl_node_db(t->cfg.hotline),
				       t->cfg.node_identity, &r, &d);
	json_doc_free(doc);
	if (rc != ST_OK)
		return http_error(resp, rc == ST_ENOTFOUND ? 404 : 422,
				  "Refused", d.msg);
	hl_node_wake(t->cfg.hotline);
	json_reply(resp, 201);
	return buf_add(&resp->body, "{\"kept\":true}", 13);
}
