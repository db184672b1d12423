/*
 * strait: GET /api/v1/feeds/misp/{file}: the MISP feed for MISP to pull
 * (docs/MISP.md). file is manifest.json, hashes.csv or <uuid>.json. The
 * feed holds only what the account may read in a collection and what the
 * release decision shows it (a partner's account or liaison officer: what
 * the decision gives that partner, audited first and recorded as
 * released, as a TAXII read is). It is made anew for each request.
 */
#include "taxii/taxii_int.h"

#include "auth/auth.h"
#include "common/uuid.h"
#include "interop/misp_out.h"

#include <stdlib.h>
#include <string.h>

#define CIDS_MAX 256

struct feed_view {
	struct taxii *t;
	const struct auth_account *a;
	struct taxii_viewer viewer;
	struct taxii_fed_page fp;
	int err;
	int64_t cids[CIDS_MAX];
	size_t ncids;
};

static int note_collection(void *ctx, const struct store_collection *c)
{
	struct feed_view *v = ctx;
	if (v->ncids < CIDS_MAX &&
	    (auth_access(v->t->cfg.auth, v->a, c->id) & AUTH_ACCESS_READ))
		v->cids[v->ncids++] = c->cid;
	return 0;
}

static bool feed_visible(void *ctx, const struct store_row *row)
{
	struct feed_view *v = ctx;
	if (!taxii_viewer_visible(&v->viewer, row))
		return false;
	if (v->viewer.peer != NULL && taxii_fed_page_add(&v->fp, row) != ST_OK)
		v->err = ST_ENOMEM;
	return v->err == ST_OK;
}

int taxii_h_misp_feed(struct http_request *req, struct http_response *resp)
{
	struct taxii *t = req->ctx;
	const struct auth_account *a = req->account;
	const char *file = http_param(req, "file");
	if (a->role == ROLE_METRICS)
		return http_error(resp, 403, "Forbidden",
				  "a metrics account reads no objects");
	enum { MANIFEST, HASHES, EVENT } what;
	char uuid[UUID_STRLEN + 1] = "";
	size_t n = file ? strlen(file) : 0;
	if (file != NULL && strcmp(file, "manifest.json") == 0) {
		what = MANIFEST;
	} else if (file != NULL && strcmp(file, "hashes.csv") == 0) {
		what = HASHES;
	} else {
		uint8_t u[16];
		if (n != UUID_STRLEN + 5 ||
		    strcmp(file + UUID_STRLEN, ".json") != 0 ||
		    uuid_parse(file, UUID_STRLEN, false, u) != ST_OK)
			return http_error(resp, 404, "Not found",
					  "a MISP feed holds manifest.json, "
					  "hashes.csv and <event uuid>.json");
		memcpy(uuid, file, UUID_STRLEN);
		what = EVENT;
	}
	struct feed_view v = {.t = t, .a = a};
	taxii_viewer_init(req, &v.viewer);
	if ((a->role == ROLE_PEER || a->role == ROLE_LIAISON) &&
	    v.viewer.peer == NULL)
		return http_error(resp, 403, "Forbidden",
				  "this account's partner is not known here");
	store_collection_list(t->cfg.store, note_collection, &v);
	taxii_fed_page_init(&v.fp, t, a, "misp-feed", "", false);
	struct ix_misp_feed_opts o = {.cids = v.cids,
				      .ncids = v.ncids,
				      .visible = feed_visible,
				      .vctx = &v,
				      .org_name = t->cfg.node_name,
				      .org_uuid = NULL};
	const char *dash = strstr(t->cfg.node_identity, "--");
	o.org_uuid = dash ? dash + 2 : "";
	struct diag d;
	int rc;
	if (what == EVENT) {
		rc =
		    ix_misp_feed_event(t->cfg.store, &o, uuid, &resp->body, &d);
	} else {
		rc =
		    ix_misp_feed(t->cfg.store, &o, NULL, NULL,
				 what == MANIFEST ? &resp->body : NULL,
				 what == HASHES ? &resp->body : NULL, NULL, &d);
		if (rc == ST_OK && what == HASHES && resp->body.data == NULL)
			buf_adds(&resp->body, "");
	}
	if (rc == ST_OK && v.err != ST_OK)
		rc = diag_set(&d, v.err, "out of memory");
	if (rc == ST_OK && v.viewer.peer != NULL)
		rc = taxii_fed_page_finish(&v.fp, t, NULL, &d);
	taxii_fed_page_free(&v.fp);
	if (rc != ST_OK) {
		buf_reset(&resp->body);
		if (rc == ST_ENOTFOUND)
			return http_error(resp, 404, "Not found", d.msg);
		return http_error_from(resp, rc, d.msg);
	}
	resp->status = 200;
	resp->content_type = what == HASHES ? "text/csv" : "application/json";
	return ST_OK;
}
