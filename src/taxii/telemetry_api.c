/*
 * strait: POST /api/v1/telemetry: near-real-time matching inside serve.
 *
 * A sensor (or the operator's shipper) posts Zeek logs (JSON or TSV) or
 * Suricata EVE lines; they are matched against every active indicator the
 * node holds, and the sightings that changed are appended to the sightings
 * collection before the answer, durable, under their indicators' markings
 * (src/telemetry/match.h). The answer counts only hits on indicators the
 * caller may read. Telemetry is our own network's data: only
 * admins and analysts of the node's organisation may post it. The matcher
 * is built on the first post, so a node that never receives telemetry
 * pays nothing for it, and picks up new indicators at most once a second.
 */
#include "taxii/taxii_int.h"

#include "common/json.h"
#include "common/log.h"
#include "common/time.h"
#include "telemetry/match.h"

#include <stdio.h>
#include <string.h>

#define REFRESH_S 1.0
#define MAX_ERRORS 20 /* malformed lines listed in the answer */

struct tel_errs {
	struct jw *w; /* the "errors" array being written */
	uint64_t n;
};

static void on_error(void *ctx, const char *source, uint64_t line, int err,
		     const char *msg)
{
	struct tel_errs *e = ctx;
	(void)source;
	(void)err;
	if (e->n++ >= MAX_ERRORS)
		return;
	jw_obj_open(e->w);
	jw_key(e->w, "line");
	jw_int(e->w, (int64_t)line);
	jw_key(e->w, "message");
	jw_str(e->w, msg);
	jw_obj_close(e->w);
}

static void on_refusal(void *ctx, const char *id, const char *what,
		       const char *why)
{
	(void)ctx;
	log_info("telemetry", "indicator %s %s: %s", id, what, why);
}

/* The engine, built on first use (t->match_mu held). */
static int engine(struct taxii *t, struct diag *d)
{
	double now = time_mono();
	if (t->match != NULL) {
		if (now - t->match_refreshed < REFRESH_S)
			return ST_OK;
		t->match_refreshed = now;
		return match_engine_refresh(t->match, d);
	}
	struct match_options mo = {
	    .identity = t->cfg.node_identity,
	    .window_s = t->cfg.sighting_window_s,
	    .warninglists = t->cfg.warninglists,
	    .on_refusal = on_refusal,
	    .suppressed = t->cfg.match_suppressed,
	    .suppressed_ctx = t->cfg.match_suppressed_ctx,
	};
	int rc = match_engine_new(t->cfg.store, &mo, &t->match, d);
	t->match_refreshed = now;
	return rc;
}

static const struct {
	const char *name;
	enum tel_format fmt;
} formats[] = {
    {"auto", TEL_FMT_AUTO},
    {"zeek-json", TEL_FMT_ZEEK_JSON},
    {"zeek-tsv", TEL_FMT_ZEEK_TSV},
    {"eve", TEL_FMT_EVE},
};

int taxii_h_telemetry(struct http_request *req, struct http_response *resp)
{
	struct taxii *t = req->ctx;
	const struct auth_account *acct = req->account;
	struct audience aud;
	auth_audience(acct, t->node_org, &aud);
	if ((acct->role != ROLE_ADMIN && acct->role != ROLE_ANALYST) ||
	    !aud.own_org)
		return http_error(resp, 403, "Forbidden",
				  "telemetry is posted by admins and analysts "
				  "of the node's organisation");
	if (t->cfg.node_identity == NULL || t->cfg.sightings_cid <= 0)
		return http_error(resp, 404, "Not Found",
				  "telemetry matching is not configured");
	enum tel_format fmt = TEL_FMT_AUTO;
	const char *f = http_query_get(&req->query, "format");
	if (f != NULL) {
		size_t i;
		for (i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
			if (strcmp(f, formats[i].name) == 0)
				break;
		if (i == sizeof(formats) / sizeof(formats[0]))
			return http_error(resp, 400, "Bad format",
					  "format: expected auto, zeek-json, "
					  "zeek-tsv or eve");
		fmt = formats[i].fmt;
	}

	struct jw w;
	jw_init(&w, &resp->body);
	jw_obj_open(&w);
	jw_key(&w, "errors");
	jw_arr_open(&w);
	struct tel_errs errs = {&w, 0};
	struct tel_options to = TEL_OPTIONS_DEFAULT;
	to.format = fmt;
	to.on_error = on_error;
	to.error_ctx = &errs;
	struct tel_reader *r = NULL;
	struct diag d = {""};
	struct match_counts seen;
	int rc;

	pthread_mutex_lock(&t->match_mu);
	rc = engine(t, &d);
	if (rc == ST_OK)
		rc = tel_reader_new(&to, &r, &d);
	if (rc == ST_OK) {
		match_engine_begin(t->match, &aud);
		rc = tel_read_mem(r, req->body ? req->body : "",
				  req->body ? req->body_len : 0, "request",
				  match_engine_record, t->match, &d);
	}
	if (rc == ST_OK)
		rc = match_engine_flush(t->match, t->cfg.sightings_cid,
					t->cfg.default_tlp, NULL, &d);
	if (t->match != NULL)
		match_engine_counts(t->match, &seen);
	pthread_mutex_unlock(&t->match_mu);
	if (rc != ST_OK) {
		tel_reader_free(r);
		log_warn("telemetry", "%s", d.msg);
		buf_reset(&resp->body);
		return http_error_from(resp, rc, d.msg);
	}
	const struct tel_stats *ts = tel_reader_stats(r);
	jw_arr_close(&w);
	jw_key(&w, "records");
	jw_int(&w, (int64_t)ts->records);
	jw_key(&w, "malformed");
	jw_int(&w, (int64_t)ts->malformed);
	/* Counts only of indicators this account may read: a hit on one it
	 * may not (a RED indicator, another organisation's AMBER+STRICT) is
	 * not revealed by a number either. */
	jw_key(&w, "hits");
	jw_int(&w, (int64_t)seen.hits);
	jw_key(&w, "sightings");
	jw_int(&w, (int64_t)seen.indicators);
	jw_key(&w, "stored");
	jw_int(&w, (int64_t)seen.objects);
	jw_obj_close(&w);
	tel_reader_free(r);
	if (jw_finish(&w) != ST_OK)
		return http_error_from(resp, ST_ENOMEM, NULL);
	resp->content_type = "application/json";
	resp->status = 200;
	return ST_OK;
}
