/*
 * strait: joint incidents over HTTP (src/coop).
 *
 *  GET  /api/v1/incidents/                 the incidents this account sees
 *  GET  /api/v1/incidents/{id}/            one, with its timeline
 *  POST /api/v1/incidents/{id}/entries/    append a note, task or decision
 *
 * Our own organisation's admins, analysts, readers and auditors see every
 * incident; a liaison officer sees those its partner takes part in, and
 * may append to them, as admins and analysts may. Peer accounts write
 * through the hotline relay, never here.
 */
#include "taxii/taxii_int.h"

#include "audit/writer.h"
#include "common/json.h"
#include "common/log.h"
#include "common/uuid.h"
#include "coop/incident.h"
#include "coop/share.h"
#include "hotline/node.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Who may see (and write to) incidents: the partner identity a liaison
 * is limited to, "" for our own organisation's accounts. false: none. */
static bool scope_of(struct taxii *t, const struct auth_account *a,
		     char *partner, size_t cap, bool *may_write)
{
	struct audience aud;
	auth_audience(a, t->node_org, &aud);
	partner[0] = '\0';
	*may_write = false;
	switch (a->role) {
	case ROLE_ADMIN:
	case ROLE_ANALYST:
		*may_write = aud.own_org;
		return aud.own_org;
	case ROLE_READER:
	case ROLE_AUDITOR:
		return aud.own_org;
	case ROLE_LIAISON:
		*may_write = true;
		return fed_peer_identity(t->cfg.fed, a->org, partner, cap) ==
		       ST_OK;
	default:
		return false;
	}
}

static int need_incidents(struct taxii *t, struct http_response *resp)
{
	if (t->cfg.incidents == NULL || t->cfg.hotline == NULL)
		return http_error(resp, 404, "Not found",
				  "this node keeps no joint incidents (it "
				  "needs federation)");
	return ST_OK;
}

struct list_ctx {
	struct jw *w;
	const char *partner;
};

static int list_one(void *ctx, const struct inc_state *s)
{
	struct list_ctx *l = ctx;
	if (l->partner[0] && !inc_has_node(s, l->partner))
		return ST_OK;
	inc_state_json(l->w, s);
	return ST_OK;
}

static int entry_one(void *ctx, const struct inc_entry *e)
{
	inc_entry_json(ctx, e);
	return ST_OK;
}

int taxii_h_incidents(struct http_request *req, struct http_response *resp)
{
	struct taxii *t = req->ctx;
	char partner[STIX_ID_MAX];
	bool may_write;
	if (!scope_of(t, req->account, partner, sizeof(partner), &may_write))
		return http_error(resp, 403, "Forbidden",
				  "joint incidents are for our organisation's "
				  "accounts and partners' liaison officers");
	if (need_incidents(t, resp) != ST_OK)
		return ST_OK;
	struct diag d;
	struct jw w;
	jw_init(&w, &resp->body);
	const char *id = http_param(req, "id");
	int rc;
	if (id == NULL) {
		jw_obj_open(&w);
		jw_key(&w, "incidents");
		jw_arr_open(&w);
		struct list_ctx l = {&w, partner};
		rc = inc_list(t->cfg.incidents, list_one, &l, &d);
		jw_arr_close(&w);
		jw_obj_close(&w);
	} else {
		struct inc_state s;
		rc = inc_state_get(t->cfg.incidents, id, &s, &d);
		if (rc == ST_OK && partner[0] && !inc_has_node(&s, partner))
			rc = diag_set(&d, ST_ENOTFOUND, "no incident %s", id);
		if (rc == ST_ENOTFOUND)
			return http_error(resp, 404, "Not found", d.msg);
		if (rc == ST_OK) {
			jw_obj_open(&w);
			jw_key(&w, "incident");
			inc_state_json(&w, &s);
			jw_key(&w, "entries");
			jw_arr_open(&w);
			rc = inc_entries(t->cfg.incidents, id, entry_one, &w,
					 &d);
			jw_arr_close(&w);
			jw_obj_close(&w);
		}
	}
	if (rc == ST_OK)
		rc = jw_finish(&w);
	if (rc != ST_OK)
		return http_error_from(resp, rc, d.msg);
	resp->status = 200;
	resp->content_type = "application/json";
	return ST_OK;
}

int taxii_h_incident_entry(struct http_request *req, struct http_response *resp)
{
	struct taxii *t = req->ctx;
	const struct auth_account *a = req->account;
	char partner[STIX_ID_MAX];
	bool may_write;
	if (!scope_of(t, a, partner, sizeof(partner), &may_write) || !may_write)
		return http_error(resp, 403, "Forbidden",
				  "entries are written by our admins and "
				  "analysts and by partners' liaison officers");
	if (need_incidents(t, resp) != ST_OK)
		return ST_OK;
	const char *id = http_param(req, "id");
	struct diag d;
	struct inc_state s;
	if (inc_state_get(t->cfg.incidents, id, &s, &d) != ST_OK ||
	    (partner[0] && !inc_has_node(&s, partner)))
		return http_error(resp, 404, "Not found", "no such incident");
	if (req->body_len > 64 * 1024)
		return http_error(resp, 413, NULL, "more than 64 KiB");
	struct json_doc *doc = json_doc_new();
	if (doc == NULL)
		return http_error_from(resp, ST_ENOMEM, NULL);
	const struct json_val *root;
	struct inc_entry e;
	memset(&e, 0, sizeof(e));
	int rc = json_parse(doc, req->body ? req->body : "",
			    req->body ? req->body_len : 0, 0, NULL, &root, &d);
	const struct json_val *k = rc == ST_OK ? json_get(root, "kind") : NULL;
	const struct json_val *tx = rc == ST_OK ? json_get(root, "text") : NULL;
	const struct json_val *ow =
	    rc == ST_OK ? json_get(root, "owner") : NULL;
	if (rc == ST_OK && (k == NULL || k->type != JSON_STRING ||
			    inc_kind_parse(k->u.str, &e.kind) != ST_OK ||
			    (e.kind != INC_NOTE && e.kind != INC_TASK &&
			     e.kind != INC_DECISION)))
		rc = diag_set(&d, ST_EINVAL, "kind: note, task or decision");
	if (rc == ST_OK && (tx == NULL || tx->type != JSON_STRING ||
			    tx->len == 0 || tx->len > INC_TEXT_MAX))
		rc = diag_set(&d, ST_EINVAL, "text: 1 to %d bytes",
			      INC_TEXT_MAX);
	if (rc == ST_OK && e.kind == INC_TASK &&
	    (ow == NULL || ow->type != JSON_STRING || ow->len == 0 ||
	     ow->len >= sizeof(e.owner)))
		rc = diag_set(&d, ST_EINVAL, "owner: who does the task");
	if (rc == ST_OK) {
		memcpy(e.text, tx->u.str, tx->len);
		if (e.kind == INC_TASK)
			memcpy(e.owner, ow->u.str, ow->len);
	}
	json_doc_free(doc);
	if (rc != ST_OK)
		return http_error(resp, 400, "Bad entry", d.msg);
	uint8_t u[16];
	uuid_v4(u);
	uuid_format(u, e.id);
	snprintf(e.incident, sizeof(e.incident), "%s", s.id);
	e.at = time_now();
	snprintf(e.author, sizeof(e.author), "%s/%s", t->cfg.node_identity,
		 a->name);
	bool dup;
	size_t sent = 0;
	struct inc_share_cfg sc = {t->cfg.home, t->cfg.node_identity,
				   t->cfg.store, hl_node_db(t->cfg.hotline)};
	rc = inc_entry_put(t->cfg.incidents, &e, &dup, &d);
	if (rc == ST_OK)
		rc = inc_share(&sc, t->cfg.incidents, &e, &sent, NULL, 0, &d);
	if (rc != ST_OK)
		return http_error_from(resp, rc, d.msg);
	hl_node_wake(t->cfg.hotline);
	if (t->cfg.audit != NULL) {
		char actor[AUDIT_ACTOR_MAX + 1], detail[256];
		taxii_actor(a, actor, sizeof(actor));
		snprintf(detail, sizeof(detail),
			 "{\"incident\":\"%s\",\"entry\":\"%s\",\"kind\":"
			 "\"%s\"}",
			 e.incident, e.id, inc_kind_name(e.kind));
		audit_record(t->cfg.audit, "incident.write", actor, detail,
			     false);
	}
	resp->status = 201;
	resp->content_type = "application/json";
	return buf_printf(&resp->body,
			  "{\"incident\":\"%s\",\"entry\":\"%s\",\"partners\":"
			  "%zu}",
			  e.incident, e.id, sent);
}
