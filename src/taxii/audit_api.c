/*
 * strait: what the HTTP side records in the audit log, and whose release
 * decision governs an account's view.
 *
 *  - login: the first request of a credential (a token, a password) seen by
 *    this process, then at most once per LOGIN_EVERY_S per credential and
 *    address: a record of who used which credential from where, without an
 *    event per request. Queued (the request goes on).
 *  - login.fail: every refused credential (the throttle bounds how many an
 *    address can make). Queued; the secret is never recorded.
 *  - read: every read by a peer or liaison account (a TAXII page, a stream
 *    scan that gave it events), with the number of versions and a SHA-256
 *    of their ids and versions. Waiting: when it cannot be written, the
 *    read is refused.
 *  - GET /api/v1/audit: the last events (auditor and admin accounts).
 */
#include "taxii/taxii_int.h"

#include "audit/writer.h"
#include "common/hash.h"
#include "common/json.h"
#include "common/log.h"
#include "common/time.h"
#include "federation/fed.h"
#include "federation/fedstate.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOGIN_EVERY_S 900.0
#define LOGIN_PROBE 16 /* slots looked at per request */
#define TAIL_DEFAULT 100
#define TAIL_MAX 10000

const char *taxii_partner_view(const struct taxii *t,
			       const struct auth_account *a)
{
	if (t->cfg.fed == NULL || a == NULL)
		return NULL;
	if (a->role == ROLE_PEER)
		return a->name;
	if (a->role == ROLE_LIAISON)
		return a->org;
	return NULL;
}

void taxii_actor(const struct auth_account *a, char *out, size_t cap)
{
	const char *r = role_name(a->role);
	snprintf(out, cap, "%s:%s", r != NULL ? r : "account", a->name);
}

/* The logins already recorded: (account, credential, address) -> when. */
struct login_seen {
	uint8_t key[16];
	double at; /* time_mono(); 0 = free */
};

int taxii_logins_init(struct taxii *t)
{
	t->logins = calloc(TAXII_LOGIN_SLOTS, sizeof(*t->logins));
	if (t->logins == NULL)
		return ST_ENOMEM;
	pthread_mutex_init(&t->logins_mu, NULL);
	return ST_OK;
}

void taxii_logins_free(struct taxii *t)
{
	if (t->logins == NULL)
		return;
	pthread_mutex_destroy(&t->logins_mu);
	free(t->logins);
	t->logins = NULL;
}

/* Whether this credential's use from this address is due a record, and
 * if so remembers it. When its few slots are taken, the oldest of them
 * is forgotten (then a login may be recorded once more than needed). */
static bool login_due(struct taxii *t, const struct auth_account *a,
		      const char *addr)
{
	char in[256];
	int n = snprintf(in, sizeof(in), "%" PRId64 "|%d|%" PRId64 "|%s", a->id,
			 (int)a->method, a->credential, addr);
	uint8_t key[16];
	crypto_generichash(key, sizeof(key), (const uint8_t *)in,
			   n > 0 && (size_t)n < sizeof(in) ? (size_t)n
							   : sizeof(in) - 1,
			   NULL, 0);
	double now = time_mono();
	bool due = true;
	/* every request passes here: a few slots from the key's own, not
	 * the whole table */
	size_t home = (size_t)(key[0] | key[1] << 8) % TAXII_LOGIN_SLOTS;
	size_t slot = home, oldest = home;
	pthread_mutex_lock(&t->logins_mu);
	for (size_t k = 0; k < LOGIN_PROBE; k++) {
		size_t i = (home + k) % TAXII_LOGIN_SLOTS;
		struct login_seen *s = &t->logins[i];
		if (s->at != 0 && memcmp(s->key, key, sizeof(key)) == 0) {
			due = now - s->at >= LOGIN_EVERY_S;
			slot = i;
			goto found;
		}
		if (s->at < t->logins[oldest].at)
			oldest = i;
	}
	slot = oldest;
	memcpy(t->logins[slot].key, key, sizeof(key));
found:
	if (due)
		t->logins[slot].at = now;
	pthread_mutex_unlock(&t->logins_mu);
	return due;
}

static const char *method_name(enum auth_method m)
{
	return m == AUTH_METHOD_BASIC ? "password" : "token";
}

void taxii_audit_login(struct taxii *t, const struct http_request *req,
		       const struct auth_account *a)
{
	if (t->cfg.audit == NULL || !login_due(t, a, req->client_addr))
		return;
	char actor[AUDIT_ACTOR_MAX + 1], detail[512];
	taxii_actor(a, actor, sizeof(actor));
	struct buf b = BUF_INIT(sizeof(detail));
	struct jw w;
	jw_init(&w, &b);
	jw_obj_open(&w);
	jw_key(&w, "method");
	jw_str(&w, method_name(a->method));
	jw_key(&w, "credential");
	jw_int(&w, a->credential);
	jw_key(&w, "address");
	jw_str(&w, req->client_addr);
	jw_key(&w, "certificate");
	jw_bool(&w, req->client_cert);
	jw_obj_close(&w);
	if (jw_finish(&w) == ST_OK)
		audit_record(t->cfg.audit, "login", actor, b.data, false);
	buf_free(&b);
}

void taxii_audit_login_failed(struct taxii *t, const struct http_request *req,
			      const char *user, bool basic, unsigned blocked_s)
{
	if (t->cfg.audit == NULL)
		return;
	struct buf b = BUF_INIT(1024);
	struct jw w;
	jw_init(&w, &b);
	jw_obj_open(&w);
	jw_key(&w, "method");
	jw_str(&w, basic ? "password" : "token");
	jw_key(&w, "address");
	jw_str(&w, req->client_addr);
	jw_key(&w, "blocked_s");
	jw_int(&w, blocked_s);
	jw_obj_close(&w);
	/* The name tried, when it is a valid account name: anything else
	 * (a password typed into the name field) is not written down. */
	char actor[AUDIT_ACTOR_MAX + 1];
	snprintf(actor, sizeof(actor), "%s",
		 user != NULL && auth_name_valid(user) ? user : "(unnamed)");
	if (jw_finish(&w) == ST_OK)
		audit_record(t->cfg.audit, "login.fail", actor, b.data, false);
	buf_free(&b);
}

int taxii_audit_read(struct taxii *t, const struct auth_account *a,
		     const char *path, const char *coll_id,
		     const struct fed_page_item *items, size_t n,
		     struct diag *d)
{
	char hex[65];
	struct hash_version *v = malloc((n > 0 ? n : 1) * sizeof(*v));
	if (v == NULL)
		return diag_set(d, ST_ECLOSED, "out of memory");
	for (size_t i = 0; i < n; i++)
		v[i] = (struct hash_version){items[i].id, items[i].version};
	int hrc = hash_versions_hex(v, n, hex);
	free(v);
	if (hrc != ST_OK)
		return diag_set(d, ST_ECLOSED, "out of memory");
	char actor[AUDIT_ACTOR_MAX + 1];
	taxii_actor(a, actor, sizeof(actor));
	struct buf b = BUF_INIT(1024);
	struct jw w;
	jw_init(&w, &b);
	jw_obj_open(&w);
	jw_key(&w, "path");
	jw_str(&w, path);
	jw_key(&w, "collection");
	jw_str(&w, coll_id);
	jw_key(&w, "partner");
	jw_str(&w, taxii_partner_view(t, a) ? taxii_partner_view(t, a) : "");
	jw_key(&w, "versions");
	jw_int(&w, (int64_t)n);
	jw_key(&w, "digest");
	jw_str(&w, hex);
	jw_obj_close(&w);
	int rc = jw_finish(&w);
	if (rc == ST_OK)
		rc = audit_record(t->cfg.audit, "read", actor, b.data, true);
	buf_free(&b);
	if (rc != ST_OK)
		return diag_set(d, ST_ECLOSED,
				"the audit log cannot record this read now; "
				"try again later");
	return ST_OK;
}

/* ---- GET /api/v1/audit?limit=N ------------------------------------------ */

static int tail_event(void *ctx, const struct audit_event *e)
{
	struct jw *w = ctx;
	char ts[TS_BUFSZ], hex[2 * AUDIT_HASH_BYTES + 1];
	jw_obj_open(w);
	jw_key(w, "seq");
	jw_int(w, (int64_t)e->seq);
	ts_format(e->at, ts);
	jw_key(w, "at");
	jw_str(w, ts);
	jw_key(w, "kind");
	jw_str(w, e->kind);
	jw_key(w, "actor");
	jw_str(w, e->actor);
	jw_key(w, "detail");
	jw_str(w, e->detail);
	sodium_bin2hex(hex, sizeof(hex), e->hash, AUDIT_HASH_BYTES);
	jw_key(w, "hash");
	jw_str(w, hex);
	jw_obj_close(w);
	return 0;
}

int taxii_h_audit(struct http_request *req, struct http_response *resp)
{
	struct taxii *t = req->ctx;
	enum role r = ((const struct auth_account *)req->account)->role;
	if (r != ROLE_ADMIN && r != ROLE_AUDITOR)
		return http_error(resp, 403, "Forbidden",
				  "the audit log is for admin and auditor "
				  "accounts");
	if (t->cfg.audit_log == NULL)
		return http_error(resp, 404, "Not found",
				  "this node keeps no audit log");
	uint64_t limit = TAIL_DEFAULT;
	const char *l = http_query_get(&req->query, "limit");
	if (l != NULL) {
		char *end;
		unsigned long long v = strtoull(l, &end, 10);
		if (*l < '0' || *l > '9' || *end != '\0' || v < 1 ||
		    v > TAIL_MAX)
			return http_error(resp, 400, "Bad limit",
					  "limit: expected 1 to 10000");
		limit = v;
	}
	struct jw w;
	struct diag d;
	jw_init(&w, &resp->body);
	jw_obj_open(&w);
	jw_key(&w, "events");
	jw_arr_open(&w);
	int rc = audit_tail(t->cfg.audit_log, limit, tail_event, &w, &d);
	if (rc != ST_OK)
		return http_error_from(resp, rc, d.msg);
	jw_arr_close(&w);
	jw_obj_close(&w);
	rc = jw_finish(&w);
	if (rc != ST_OK)
		return http_error_from(resp, rc, "response too large");
	resp->status = 200;
	resp->content_type = "application/json";
	return ST_OK;
}

/* ---- audit heads kept for partners ------------------------------------- */

#define WITNESS_BODY_MAX 4096

static int witness_post(struct http_request *req, struct http_response *resp)
{
	struct taxii *t = req->ctx;
	const struct auth_account *a = req->account;
	struct diag d;
	if (req->body_len > WITNESS_BODY_MAX)
		return http_error(resp, 413, NULL,
				  "a head is a few hundred "
				  "bytes");
	struct json_doc *doc = json_doc_new();
	if (doc == NULL)
		return http_error_from(resp, ST_ENOMEM, NULL);
	const struct json_val *root;
	struct fed_witness w;
	int rc = json_parse(doc, req->body ? req->body : "",
			    req->body ? req->body_len : 0, 0, NULL, &root, &d);
	if (rc == ST_OK)
		rc = fed_witness_parse(root, &w, &d);
	json_doc_free(doc);
	if (rc != ST_OK)
		return http_error(resp, 400, "Bad head", d.msg);
	uint8_t pk[32];
	char kid[17];
	if (fed_peer_key(t->cfg.fed, a->name, pk, kid) != ST_OK)
		return http_error(resp, 403, "Forbidden",
				  "this account is not linked to a partner "
				  "node");
	struct audit_head h;
	memset(&h, 0, sizeof(h));
	h.seq = w.seq;
	memcpy(h.hash, w.hash, sizeof(h.hash));
	h.at = w.at;
	memcpy(h.key_id, w.key_id, sizeof(h.key_id));
	memcpy(h.sig, w.sig, sizeof(h.sig));
	if (strcmp(w.key_id, kid) != 0 || !audit_head_verify(&h, pk)) {
		log_warn("audit", "a head from %s refused: %s", a->name,
			 strcmp(w.key_id, kid) != 0
			     ? "signed with a key this node does not know it by"
			     : "bad signature");
		return http_error(resp, 422, "Head refused",
				  strcmp(w.key_id, kid) != 0
				      ? "signed with a key this node does not "
					"know the partner by"
				      : "the signature does not verify");
	}
	rc = fed_witness_put(fed_state(t->cfg.fed), a->name, &w, &d);
	if (rc != ST_OK)
		return http_error_from(resp, rc, d.msg);
	resp->status = 201;
	resp->content_type = "application/json";
	return buf_add(&resp->body, "{\"kept\":true}", 13) == ST_OK
		   ? ST_OK
		   : http_error_from(resp, ST_ENOMEM, NULL);
}

static int witness_get(struct http_request *req, struct http_response *resp)
{
	struct taxii *t = req->ctx;
	const struct auth_account *a = req->account;
	struct diag d;
	struct fed_witness *v = NULL;
	size_t n = 0;
	int rc = fed_witness_list(fed_state(t->cfg.fed), a->name, &v, &n, &d);
	if (rc != ST_OK)
		return http_error_from(resp, rc, d.msg);
	struct jw w;
	jw_init(&w, &resp->body);
	jw_obj_open(&w);
	jw_key(&w, "heads");
	jw_arr_open(&w);
	for (size_t i = 0; i < n; i++)
		fed_witness_json(&w, &v[i]);
	jw_arr_close(&w);
	jw_obj_close(&w);
	free(v);
	if ((rc = jw_finish(&w)) != ST_OK)
		return http_error_from(resp, rc, "response too large");
	resp->status = 200;
	resp->content_type = "application/json";
	return ST_OK;
}

int taxii_h_witness(struct http_request *req, struct http_response *resp)
{
	struct taxii *t = req->ctx;
	const struct auth_account *a = req->account;
	if (a->role != ROLE_PEER)
		return http_error(resp, 403, "Forbidden",
				  "audit heads are kept for partner nodes' "
				  "accounts");
	if (t->cfg.fed == NULL)
		return http_error(resp, 404, "Not found",
				  "this node does not federate");
	return req->method == HTTP_POST ? witness_post(req, resp)
					: witness_get(req, resp);
}
