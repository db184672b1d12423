/*
 * strait: GET /api/v1/lookup?value=V[&limit=N] and
 * GET /api/v1/search?q=TEXT[&limit=N] (src/lookup).
 *
 * The answer `strait lookup --json` gives, restricted to what the caller
 * may read: a version counts only when the account may read a collection
 * it is a member of and the release decision for the account shows it
 * (for a partner's account or liaison officer, what the decision gives
 * that partner: taxii_partner_view). The counts ("known to 2 partners")
 * are made from those versions only. What a partner or its liaison
 * officer is shown is audited first (refused when the log cannot hold
 * it) and recorded as released, as a TAXII read is.
 */
#include "taxii/taxii_int.h"

#include "auth/auth.h"
#include "common/json.h"
#include "federation/fed.h"
#include "lookup/lookup.h"

#include <stdlib.h>
#include <string.h>

#define LIMIT_DEFAULT 100
#define SEARCH_DEFAULT 20
#define LIMIT_MAX 1000
#define CIDS_MAX 256

struct lookup_view {
	struct taxii *t;
	const struct auth_account *a;
	struct taxii_viewer viewer; /* the release decision for the account */
	struct taxii_fed_page fp;
	int err;		/* ST_ENOMEM while recording */
	int64_t cids[CIDS_MAX]; /* collections the account may read */
	size_t ncids;
	bool listed;
};

static int note_collection(void *ctx, const struct store_collection *c)
{
	struct lookup_view *v = ctx;
	if (v->ncids < CIDS_MAX &&
	    (auth_access(v->t->cfg.auth, v->a, c->id) & AUTH_ACCESS_READ))
		v->cids[v->ncids++] = c->cid;
	return 0;
}

/* Whether the account may read a collection the version belongs to. */
static bool readable(struct lookup_view *v, const struct store_row *row)
{
	if (!v->listed) {
		store_collection_list(v->t->cfg.store, note_collection, v);
		v->listed = true;
	}
	int64_t cids[CIDS_MAX];
	size_t n = 0;
	struct diag d;
	if (v->ncids == 0 || store_memberships(v->t->cfg.store, row->seq, cids,
					       CIDS_MAX, &n, &d) != ST_OK)
		return false;
	for (size_t i = 0; i < n && i < CIDS_MAX; i++)
		for (size_t k = 0; k < v->ncids; k++)
			if (cids[i] == v->cids[k])
				return true;
	return false;
}

static bool view_visible(void *ctx, const struct store_row *row)
{
	struct lookup_view *v = ctx;
	if (!readable(v, row) || !taxii_viewer_visible(&v->viewer, row))
		return false;
	if (v->viewer.peer != NULL && taxii_fed_page_add(&v->fp, row) != ST_OK)
		v->err = ST_ENOMEM;
	return v->err == ST_OK;
}

/* GET /api/v1/lookup?value= and /api/v1/search?q=: one parameter, a
 * limit, the caller's view; what a partner's account is shown is
 * recorded first, or refused. */
static int answer(struct http_request *req, struct http_response *resp,
		  bool search)
{
	struct taxii *t = req->ctx;
	const struct auth_account *a = req->account;
	const char *param = search ? "q" : "value";
	if (a->role == ROLE_METRICS)
		return http_error(resp, 403, "Forbidden",
				  "a metrics account reads no objects");
	if (t->cfg.lookup == NULL)
		return http_error(resp, 404, "Not found",
				  "this node keeps no lookup index");
	const char *arg = http_query_get(&req->query, param);
	if (arg == NULL || http_query_count(&req->query, param) != 1)
		return http_error(resp, 400, search ? "Bad query" : "Bad value",
				  search
				      ? "q: one query expected "
					"(/api/v1/search?q=Lazarus)"
				      : "value: one value expected "
					"(/api/v1/lookup?value=198.51.100.7)");
	size_t limit = search ? SEARCH_DEFAULT : LIMIT_DEFAULT;
	const char *l = http_query_get(&req->query, "limit");
	if (l != NULL) {
		char *end;
		unsigned long long n = strtoull(l, &end, 10);
		if (*l < '0' || *l > '9' || *end != '\0' || n < 1 ||
		    n > LIMIT_MAX)
			return http_error(resp, 400, "Bad limit",
					  "limit: expected 1 to 1000");
		limit = (size_t)n;
	}
	struct lk_value v;
	struct diag d;
	if (search ? lk_search_check(arg, &d) != ST_OK
		   : lk_value_parse(arg, &v, &d) != ST_OK)
		return http_error(resp, 400, search ? "Bad query" : "Bad value",
				  d.msg);
	struct lookup_view view = {.t = t, .a = a};
	taxii_viewer_init(req, &view.viewer);
	if ((a->role == ROLE_PEER || a->role == ROLE_LIAISON) &&
	    view.viewer.peer == NULL)
		return http_error(resp, 403, "Forbidden",
				  "this account's partner is not known here");
	taxii_fed_page_init(&view.fp, t, a, search ? "search" : "lookup", "",
			    false);
	struct jw w;
	jw_init(&w, &resp->body);
	int rc =
	    search ? lk_service_search(t->cfg.lookup, arg, t->cfg.node_identity,
				       view_visible, &view, limit, &w, &d)
		   : lk_service_report(t->cfg.lookup, &v, t->cfg.node_identity,
				       view_visible, &view, limit, &w, &d);
	if (rc == ST_OK && view.err != ST_OK)
		rc = diag_set(&d, view.err, "out of memory");
	if (rc == ST_OK)
		rc = jw_finish(&w);
	if (rc == ST_OK && view.viewer.peer != NULL)
		rc = taxii_fed_page_finish(&view.fp, t, NULL, &d);
	taxii_fed_page_free(&view.fp);
	if (rc != ST_OK) {
		buf_reset(&resp->body);
		return http_error_from(resp, rc, d.msg);
	}
	resp->status = 200;
	resp->content_type = "application/json";
	return ST_OK;
}

int taxii_h_lookup(struct http_request *req, struct http_response *resp)
{
	return answer(req, resp, false);
}

int taxii_h_search(struct http_request *req, struct http_response *resp)
{
	return answer(req, resp, true);
}
