/* strait: one partner's replication state, as `strait peer status`,
 * GET /api/v1/peers and /metrics all show it (fedstate.h). */
#include "federation/fedstate.h"
#include "federation/peers.h"

#include "common/json.h"

#include <stdio.h>
#include <string.h>

int fed_peer_status(struct fedstate *fs, const struct peer *p,
		    const char *incarnation, uint64_t last_seq, st_time now,
		    struct fed_peer_status *out, struct diag *d)
{
	memset(out, 0, sizeof(*out));
	int rc = fed_health_get(fs, p->name, &out->h);
	if (rc == ST_OK)
		rc = fed_cursor_get(fs, p->name, incarnation, FED_DECIDED,
				    &out->decided);
	if (rc == ST_OK)
		rc = fed_cursor_get(fs, p->name, incarnation, FED_DELIVERED,
				    &out->delivered);
	if (rc != ST_OK)
		return diag_set(d, rc, "%s: %s", p->name, st_strerror(rc));
	if ((rc = fed_queue_depth(fs, p->name, incarnation, &out->queue, d)) !=
	    ST_OK)
		return rc;
	out->lag = last_seq > out->delivered ? last_seq - out->delivered : 0;
	/* Waiting since the last success, or since the peer was added when
	 * nothing ever went through. */
	st_time since =
	    out->h.last_success ? out->h.last_success : p->created * 1000000;
	out->lag_s = out->queue > 0 && now > since
			 ? (int64_t)((now - since) / 1000000)
			 : 0;
	out->dead_letters = fed_deadletter_count(fs, p->name, false);
	out->quarantined = fed_quarantine_count(fs, p->name);
	return ST_OK;
}

static void time_or_null(struct jw *w, const char *key, st_time t)
{
	char ts[TS_BUFSZ];
	jw_key(w, key);
	if (t == 0) {
		jw_null(w);
		return;
	}
	ts_format(t, ts);
	jw_str(w, ts);
}

void fed_peer_status_json(struct jw *w, const struct peer *p,
			  const struct fed_peer_status *s)
{
	jw_obj_open(w);
	jw_key(w, "name");
	jw_str(w, p->name);
	jw_key(w, "url");
	jw_str(w, p->url);
	jw_key(w, "trust");
	jw_str(w, p->trust == PEER_FEED ? "feed" : "attested");
	jw_key(w, "has_policy");
	jw_bool(w, p->has_policy);
	jw_key(w, "identity");
	if (s->h.identity[0])
		jw_str(w, s->h.identity);
	else
		jw_null(w);
	jw_key(w, "decided");
	jw_int(w, (int64_t)s->decided);
	jw_key(w, "delivered");
	jw_int(w, (int64_t)s->delivered);
	jw_key(w, "queue");
	jw_int(w, (int64_t)s->queue);
	jw_key(w, "lag_objects");
	jw_int(w, (int64_t)s->lag);
	jw_key(w, "lag_seconds");
	jw_int(w, s->lag_s);
	jw_key(w, "dead_letters");
	jw_int(w, (int64_t)s->dead_letters);
	jw_key(w, "quarantined");
	jw_int(w, (int64_t)s->quarantined);
	jw_key(w, "sent");
	jw_int(w, (int64_t)s->h.sent);
	jw_key(w, "received");
	jw_int(w, (int64_t)s->h.received);
	time_or_null(w, "last_success", s->h.last_success);
	jw_key(w, "last_error");
	if (s->h.last_error[0])
		jw_str(w, s->h.last_error);
	else
		jw_null(w);
	time_or_null(w, "last_error_at", s->h.last_error_at);
	time_or_null(w, "down_since", s->h.down_since);
	jw_obj_close(w);
}
