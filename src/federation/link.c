/*
 * strait: a connection to a partner for other modules (fed.h, "a
 * connection to a partner"): the sender's client, opened with the token
 * held for the peer.
 */
#include "federation/fed.h"
#include "federation/fed_int.h"

#include "federation/client.h"
#include "federation/fedstate.h"
#include "policy/policy.h"
#include "store/store.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fed_link {
	struct fed_client c;
	struct fc_response r;
};

int fed_link_open(const char *home, const char *peer, unsigned timeout_ms,
		  struct fed_link **out, struct diag *d)
{
	*out = NULL;
	struct peers *p = NULL;
	struct peer one;
	char token[PEER_TOKEN_MAX + 1];
	struct fed_link *l = calloc(1, sizeof(*l));
	if (l == NULL)
		return diag_set(d, ST_ENOMEM, "out of memory");
	int rc = peers_open(home, &p, d);
	if (rc == ST_OK)
		rc = peers_get(p, peer, &one, d);
	if (rc == ST_OK)
		rc = peers_token(p, peer, token, sizeof(token), d);
	peers_close(p);
	if (rc == ST_OK)
		rc =
		    fc_open(&l->c, &one, token, (size_t)1 << 20, timeout_ms, d);
	sodium_memzero(token, sizeof(token));
	if (rc != ST_OK) {
		free(l);
		return rc;
	}
	*out = l;
	return ST_OK;
}

void fed_link_close(struct fed_link *l)
{
	if (l == NULL)
		return;
	fc_close(&l->c);
	free(l);
}

int fed_link_call(struct fed_link *l, const char *method, const char *path,
		  const char *body, size_t len, long *status, struct buf *resp,
		  struct diag *d)
{
	char url[sizeof(l->c.origin) + 256];
	if ((size_t)snprintf(url, sizeof(url), "%s%s", l->c.origin, path) >=
	    sizeof(url))
		return diag_set(d, ST_EINVAL, "path too long");
	/* the response lands in the caller's buffer */
	l->r.body = *resp;
	buf_reset(&l->r.body);
	int rc = fc_request(&l->c, method, url, body, len, resp->max, &l->r, d);
	*resp = l->r.body;
	memset(&l->r.body, 0, sizeof(l->r.body));
	*status = rc == ST_OK ? l->r.status : 0;
	return rc;
}

int fed_peer_identity(struct fed *f, const char *peer, char *out, size_t cap)
{
	struct fed_health h;
	out[0] = '\0';
	if (f == NULL || fed_health_get(f->state, peer, &h) != ST_OK)
		return ST_ENOTFOUND;
	snprintf(out, cap, "%s", h.identity);
	return out[0] ? ST_OK : ST_ENOTFOUND;
}

struct by_id {
	struct fedstate *fs;
	const char *identity;
	char *out;
	size_t cap;
	bool found;
};

static int match_id(void *ctx, const struct peer *p)
{
	struct by_id *b = ctx;
	struct fed_health h;
	if (!b->found && fed_health_get(b->fs, p->name, &h) == ST_OK &&
	    strcmp(h.identity, b->identity) == 0) {
		snprintf(b->out, b->cap, "%s", p->name);
		b->found = true;
	}
	return ST_OK;
}

int fed_peer_by_identity(const char *home, const char *identity, char *out,
			 size_t cap)
{
	struct peers *p = NULL;
	struct fedstate *fs = NULL;
	struct diag d;
	struct by_id b = {NULL, identity, out, cap, false};
	if (peers_open(home, &p, &d) == ST_OK &&
	    fedstate_open(home, &fs, &d) == ST_OK) {
		b.fs = fs;
		peers_list(p, match_id, &b, &d);
	}
	fedstate_close(fs);
	peers_close(p);
	return b.found ? ST_OK : ST_ENOTFOUND;
}

struct latest {
	struct store_row row;
	char *id, *body;
	void *prov;
	bool found;
};

static int keep_latest(void *ctx, const struct store_row *r)
{
	struct latest *l = ctx;
	free(l->id);
	free(l->body);
	free(l->prov);
	l->row = *r;
	l->id = strdup(r->id);
	l->body = malloc(r->body_len + 1);
	l->prov = r->prov_len ? malloc(r->prov_len) : NULL;
	if (l->id == NULL || l->body == NULL ||
	    (r->prov_len && l->prov == NULL))
		return ST_ENOMEM;
	memcpy(l->body, r->body, r->body_len);
	l->body[r->body_len] = '\0';
	if (r->prov_len)
		memcpy(l->prov, r->prov, r->prov_len);
	l->row.id = l->id;
	l->row.body = l->body;
	l->row.prov = l->prov;
	l->row.warnings = NULL;
	l->found = true;
	return ST_OK;
}

bool fed_released_to(struct store *st, const char *home, const char *peer,
		     const char *stix)
{
	struct latest l;
	memset(&l, 0, sizeof(l));
	struct store_query q;
	memset(&q, 0, sizeof(q));
	q.id = stix;
	q.vsel = STORE_V_LAST;
	size_t cnt = 0;
	struct diag qd;
	if (store_query(st, &q, keep_latest, &l, &cnt, &qd) < 0) {
		free(l.id);
		free(l.body);
		free(l.prov);
		return false;
	}
	bool ok = !l.found;
	if (l.found) {
		struct fed_decider *dec = NULL;
		struct diag d;
		ok = fed_decider_new(st, home, peer, &dec, &d) == ST_OK &&
		     fed_decider_decide(dec, &l.row, NULL) == RELEASE_OK;
		fed_decider_free(dec);
	}
	free(l.id);
	free(l.body);
	free(l.prov);
	return ok;
}
