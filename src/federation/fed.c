/* strait: federation at run time; see fed.h. */
#include "federation/fed_int.h"

#include "common/log.h"

#include <curl/curl.h>
#include <sys/statvfs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int fed_new(const struct fed_config *cfg, struct fed **out, struct diag *d)
{
	*out = NULL;
	if (cfg->store == NULL || cfg->home == NULL)
		return diag_set(d, ST_EINVAL, "federation: no store or home");
	struct fed *f = calloc(1, sizeof(*f));
	if (f == NULL)
		return diag_set(d, ST_ENOMEM, "out of memory");
	f->cfg = *cfg;
	snprintf(f->home, sizeof(f->home), "%s", cfg->home);
	snprintf(f->identity, sizeof(f->identity), "%s",
		 cfg->identity ? cfg->identity : "");
	snprintf(f->name, sizeof(f->name), "%s", cfg->name ? cfg->name : "");
	snprintf(f->country, sizeof(f->country), "%s",
		 cfg->country ? cfg->country : "");
	f->cfg.home = f->home;
	f->cfg.identity = f->identity[0] ? f->identity : NULL;
	f->cfg.name = f->name;
	f->cfg.country = f->country;
	pthread_mutex_init(&f->peers_mu, NULL);
	pthread_mutex_init(&f->senders_mu, NULL);
	pthread_mutex_init(&f->quota_mu, NULL);
	pthread_mutex_init(&f->head_mu, NULL);
	int rc = fedstate_open(cfg->home, &f->state, d);
	if (rc == ST_OK)
		rc = peers_open(cfg->home, &f->peers, d);
	/* A restored store numbers its log anew: decisions made for another
	 * incarnation name other versions. */
	if (rc == ST_OK)
		rc = fed_adopt_incarnation(f->state,
					   store_incarnation(cfg->store), d);
	/* Serving: checkpoints off the paths that wait on the state. */
	if (rc == ST_OK && cfg->senders)
		rc = fedstate_checkpoints_apart(f->state, d);
	if (rc == ST_OK && cfg->senders) {
		if (cfg->keys == NULL || f->identity[0] == '\0')
			rc = diag_set(d, ST_ECONFIG,
				      "federation needs the node's identity "
				      "and signing key (strait init; strait "
				      "node rotate-key for an older home)");
		else if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
			rc = diag_set(d, ST_ENOMEM, "cannot start libcurl");
		else
			rc = fed_senders_start(f, d);
	}
	if (rc != ST_OK) {
		fed_free(f);
		return rc;
	}
	*out = f;
	return ST_OK;
}

void fed_free(struct fed *f)
{
	if (f == NULL)
		return;
	fed_senders_stop(f);
	peers_close(f->peers);
	fedstate_close(f->state);
	pthread_mutex_destroy(&f->peers_mu);
	pthread_mutex_destroy(&f->senders_mu);
	pthread_mutex_destroy(&f->quota_mu);
	pthread_mutex_destroy(&f->head_mu);
	free(f->buckets);
	free(f);
}

struct fed_bucket {
	char peer[PEER_NAME_MAX];
	double tokens; /* objects it may still send */
	double at;     /* time_mono() of the last refill */
};

int fed_admit(struct fed *f, const char *peer, size_t n, unsigned *retry_s,
	      struct diag *d)
{
	*retry_s = 0;
	if (f->cfg.disk_reserve_mb > 0) {
		struct statvfs v;
		if (statvfs(f->home, &v) == 0) {
			uint64_t free_mb =
			    (uint64_t)v.f_bavail * v.f_frsize >> 20;
			if (free_mb < f->cfg.disk_reserve_mb) {
				*retry_s = 60;
				return diag_set(
				    d, ST_EIO,
				    "the node keeps its disk reserve "
				    "(%llu MiB free, %llu kept for "
				    "local work): partners' writes "
				    "wait",
				    (unsigned long long)free_mb,
				    (unsigned long long)f->cfg.disk_reserve_mb);
			}
		}
	}
	uint64_t rate = f->cfg.peer_objects_per_min;
	if (rate == 0)
		return ST_OK;
	int rc = ST_OK;
	double now = time_mono();
	pthread_mutex_lock(&f->quota_mu);
	struct fed_bucket *b = NULL;
	for (size_t i = 0; i < f->nbuckets && b == NULL; i++)
		if (strcmp(f->buckets[i].peer, peer) == 0)
			b = &f->buckets[i];
	if (b == NULL) {
		struct fed_bucket *g =
		    realloc(f->buckets, (f->nbuckets + 1) * sizeof(*g));
		if (g != NULL) {
			f->buckets = g;
			b = &g[f->nbuckets++];
			snprintf(b->peer, sizeof(b->peer), "%s", peer);
			b->tokens = (double)rate;
			b->at = now;
		}
	}
	if (b != NULL) {
		b->tokens += (now - b->at) * (double)rate / 60.0;
		if (b->tokens > (double)rate)
			b->tokens = (double)rate;
		b->at = now;
		if ((double)n > b->tokens) {
			double need = (double)n - b->tokens;
			*retry_s = (unsigned)(need * 60.0 / (double)rate) + 1;
			rc = diag_set(d, ST_ELIMIT,
				      "partner %s is past its quota of %llu "
				      "objects per minute",
				      peer, (unsigned long long)rate);
		} else {
			b->tokens -= (double)n;
		}
	}
	pthread_mutex_unlock(&f->quota_mu);
	return rc;
}

struct fedstate *fed_state(struct fed *f)
{
	return f->state;
}

bool fed_peer_visible(struct fed *f, const char *peer,
		      const struct store_row *row)
{
	return f != NULL && fed_released(f->state, peer, row->seq);
}

void fed_wait_decided(struct fed *f, const char *peer, uint64_t seq,
		      unsigned timeout_ms)
{
	const char *inc = store_incarnation(f->cfg.store);
	double end = time_mono() + timeout_ms / 1e3;
	for (;;) {
		uint64_t cur = 0;
		if (fed_cursor_get(f->state, peer, inc, FED_DECIDED, &cur) !=
			ST_OK ||
		    cur >= seq || time_mono() >= end || atomic_load(&f->stop))
			return;
		struct timespec ts = {0, 2 * 1000000L};
		nanosleep(&ts, NULL);
	}
}

int fed_attestations(struct fed *f, const char *peer, bool relay_green,
		     const char *recipient, const struct fed_page_item *items,
		     size_t n, fed_json_fn fn, void *ctx, struct diag *d)
{
	struct attest_item *own = calloc(n ? n : 1, sizeof(*own));
	uint64_t *own_seq = calloc(n ? n : 1, sizeof(*own_seq));
	char(*vers)[TS_BUFSZ] = calloc(n ? n : 1, sizeof(*vers));
	char(*refs)[STIX_ID_MAX] = calloc(n ? n : 1, sizeof(*refs));
	char(*dids)[STIX_ID_MAX] = calloc(MAX_OTHERS, sizeof(*dids));
	size_t nown = 0, nrefs = 0;
	bool own_red = false;
	int rc = ST_OK;
	struct buf b;
	buf_init(&b, ATTEST_MAX_BYTES);
	if (own == NULL || own_seq == NULL || vers == NULL || refs == NULL ||
	    dids == NULL) {
		rc = diag_set(d, ST_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const struct fed_page_item *it = &items[i];
		struct fed_prov p;
		int pr = fed_prov_of(f->state, it->id, it->version, it->flags,
				     it->body, it->body_len, it->prov,
				     it->prov_len, &p);
		if (pr == ST_OK && p.attestation[0] != '\0') {
			bool seen = false;
			for (size_t k = 0; k < nrefs && !seen; k++)
				seen = strcmp(refs[k], p.attestation) == 0;
			if (!seen)
				snprintf(refs[nrefs++], STIX_ID_MAX, "%s",
					 p.attestation);
		} else {
			/* ours, or received from a feed peer: we attest */
			ts_format(it->version, vers[nown]);
			own[nown].id = it->id;
			own[nown].version = vers[nown];
			own[nown].canon = it->body;
			own[nown].canon_len = it->body_len;
			own_seq[nown] = it->seq;
			nown++;
			own_red |= it->tlp == TLP_RED;
		}
		if (pr == ST_OK)
			fed_prov_free(&p);
	}
	if (nown > 0) {
		struct attest_meta m;
		memset(&m, 0, sizeof(m));
		m.origin = f->identity;
		m.relay_green = relay_green;
		/* the other partners we deliver all of these to ourselves */
		const char *direct[MAX_OTHERS];
		m.n_direct =
		    fed_direct(f, peer, own_seq, nown, dids, MAX_OTHERS);
		for (size_t i = 0; i < m.n_direct; i++)
			direct[i] = dids[i];
		m.direct = direct;
		/* Our RED goes only to recipients named at import; the batch
		 * goes to one of them, which the attestation names (never the
		 * others: they are not this partner's business). */
		const char *red[1] = {recipient};
		if (own_red && recipient != NULL && recipient[0] != '\0') {
			m.red = red;
			m.n_red = 1;
		}
		if ((rc = attest_make(f->cfg.keys, &m, own, nown, time_now(),
				      &b, d)) != ST_OK ||
		    (rc = fn(ctx, b.data, b.len)) != ST_OK)
			goto out;
	}
	for (size_t k = 0; k < nrefs; k++) {
		char *json = NULL;
		size_t len = 0;
		if (fed_attestation_get(f->state, refs[k], &json, &len) !=
		    ST_OK) {
			/* Without it the partner quarantines those. */
			log_warn("federation", "attestation %s is not kept",
				 refs[k]);
			continue;
		}
		rc = fn(ctx, json, len);
		free(json);
		if (rc != ST_OK)
			goto out;
	}
out:
	buf_free(&b);
	free(own);
	free(own_seq);
	free(dids);
	free(vers);
	free(refs);
	return rc;
}

int fed_page_attestations(struct fed *f, const char *peer,
			  const struct fed_page_item *items, size_t n,
			  fed_json_fn fn, void *ctx, struct diag *d)
{
	if (n == 0)
		return ST_OK;
	bool relay_green = false;
	char *text = NULL;
	struct peer_policy pol;
	pthread_mutex_lock(&f->peers_mu);
	peers_policy(f->peers, peer, &text, NULL);
	pthread_mutex_unlock(&f->peers_mu);
	if (text != NULL &&
	    peer_policy_parse(text, strlen(text), &pol, NULL) == ST_OK) {
		relay_green = pol.relay_green;
		peer_policy_free(&pol);
	}
	free(text);
	struct fed_health h;
	fed_health_get(f->state, peer, &h);
	return fed_attestations(f, peer, relay_green, h.identity, items, n, fn,
				ctx, d);
}

void fed_record_release(struct fed *f, const char *peer, const char *path,
			const struct fed_page_item *items, size_t n)
{
	if (f == NULL || n == 0)
		return;
	struct fed_sent_item *s = calloc(n, sizeof(*s));
	struct diag d;
	if (s == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		s[i] = (struct fed_sent_item){items[i].seq, items[i].id,
					      items[i].version};
	if (fed_sent_record(f->state, peer, path, s, n, time_now(), &d) !=
	    ST_OK)
		log_error("federation", "release record for %s: %s", peer,
			  d.msg);
	free(s);
}

int fed_node_json(struct fed *f, struct buf *out)
{
	struct jw w;
	jw_init(&w, out);
	jw_obj_open(&w);
	jw_key(&w, "id");
	jw_str(&w, f->identity);
	jw_key(&w, "name");
	jw_str(&w, f->name);
	jw_key(&w, "country");
	jw_str(&w, f->country);
	const struct nodekey_pub *cur =
	    f->cfg.keys ? nodekeys_current(f->cfg.keys) : NULL;
	char text[NODEKEY_PUB_TEXT];
	jw_key(&w, "key_id");
	if (cur != NULL)
		jw_str(&w, cur->id);
	else
		jw_null(&w);
	jw_key(&w, "public_key");
	if (cur != NULL) {
		nodekey_pub_text(cur->pk, text);
		jw_str(&w, text);
	} else {
		jw_null(&w);
	}
	jw_key(&w, "keys");
	jw_arr_open(&w);
	const struct nodekey_pub *h;
	size_t nh = f->cfg.keys ? nodekeys_history(f->cfg.keys, &h) : 0;
	for (size_t i = 0; i < nh; i++) {
		jw_obj_open(&w);
		jw_key(&w, "key_id");
		jw_str(&w, h[i].id);
		nodekey_pub_text(h[i].pk, text);
		jw_key(&w, "public_key");
		jw_str(&w, text);
		jw_key(&w, "retired");
		jw_bool(&w, h[i].retired != 0);
		jw_obj_close(&w);
	}
	jw_arr_close(&w);
	jw_obj_close(&w);
	return jw_finish(&w);
}

struct peers_out {
	struct fed *f;
	struct jw *w;
	struct buf *metrics;
};

static int one_peer(void *ctx, const struct peer *p)
{
	struct peers_out *o = ctx;
	struct fed *f = o->f;
	struct fed_peer_status st;
	struct diag d;
	if (fed_peer_status(f->state, p, store_incarnation(f->cfg.store),
			    store_last_seq(f->cfg.store), time_now(), &st,
			    &d) != ST_OK)
		memset(&st, 0, sizeof(st)); /* shown as nothing known */
	if (o->w != NULL) {
		fed_peer_status_json(o->w, p, &st);
		return 0;
	}
	const char *n = p->name;
	buf_printf(
	    o->metrics,
	    "strait_peer_queue{peer=\"%s\"} %llu\n"
	    "strait_peer_lag_objects{peer=\"%s\"} %llu\n"
	    "strait_peer_lag_seconds{peer=\"%s\"} %lld\n"
	    "strait_peer_dead_letters{peer=\"%s\"} %llu\n"
	    "strait_peer_quarantined{peer=\"%s\"} %llu\n"
	    "strait_peer_sent_total{peer=\"%s\"} %llu\n"
	    "strait_peer_received_total{peer=\"%s\"} %llu\n"
	    "strait_peer_up{peer=\"%s\"} %d\n"
	    "strait_peer_last_success_seconds{peer=\"%s\"} %.3f\n",
	    n, (unsigned long long)st.queue, n, (unsigned long long)st.lag, n,
	    (long long)st.lag_s, n, (unsigned long long)st.dead_letters, n,
	    (unsigned long long)st.quarantined, n,
	    (unsigned long long)st.h.sent, n, (unsigned long long)st.h.received,
	    n, st.h.down_since == 0 && st.h.last_success != 0, n,
	    (double)st.h.last_success / 1e6);
	return 0;
}

int fed_peers_json(struct fed *f, struct buf *out)
{
	struct jw w;
	struct diag d;
	jw_init(&w, out);
	jw_obj_open(&w);
	jw_key(&w, "peers");
	jw_arr_open(&w);
	struct peers_out o = {f, &w, NULL};
	pthread_mutex_lock(&f->peers_mu);
	int rc = peers_list(f->peers, one_peer, &o, &d);
	pthread_mutex_unlock(&f->peers_mu);
	jw_arr_close(&w);
	jw_obj_close(&w);
	int rc2 = jw_finish(&w);
	return rc != ST_OK ? rc : rc2;
}

int fed_metrics(struct fed *f, struct buf *out)
{
	struct diag d;
	buf_printf(out, "# TYPE strait_peer_queue gauge\n"
			"# TYPE strait_peer_lag_objects gauge\n"
			"# TYPE strait_peer_lag_seconds gauge\n"
			"# TYPE strait_peer_dead_letters gauge\n"
			"# TYPE strait_peer_quarantined gauge\n"
			"# TYPE strait_peer_sent_total counter\n"
			"# TYPE strait_peer_received_total counter\n"
			"# TYPE strait_peer_up gauge\n"
			"# TYPE strait_peer_last_success_seconds gauge\n");
	struct peers_out o = {f, NULL, out};
	pthread_mutex_lock(&f->peers_mu);
	int rc = peers_list(f->peers, one_peer, &o, &d);
	pthread_mutex_unlock(&f->peers_mu);
	buf_printf(out,
		   "# TYPE strait_federation_pushed_total counter\n"
		   "strait_federation_pushed_total %llu\n"
		   "# TYPE strait_federation_caught_up_total counter\n"
		   "strait_federation_caught_up_total %llu\n"
		   "# TYPE strait_federation_quarantined_total counter\n"
		   "strait_federation_quarantined_total %llu\n",
		   (unsigned long long)atomic_load(&f->pushed),
		   (unsigned long long)atomic_load(&f->caught_up),
		   (unsigned long long)atomic_load(&f->quarantined));
	return rc;
}

/* ------------------------------------------------------------------ */
/* Deciding for one partner outside serve                               */
/* ------------------------------------------------------------------ */

struct fed_decider {
	struct fedstate *state;
	struct fed_facts *facts;
	struct release_engine *eng;
	struct fed_partner part;
};

int fed_decider_new(struct store *s, const char *home, const char *peer,
		    struct fed_decider **out, struct diag *d)
{
	*out = NULL;
	struct fed_decider *x = calloc(1, sizeof(*x));
	struct peers *reg = NULL;
	char *text = NULL;
	struct peer p;
	if (x == NULL)
		return diag_set(d, ST_ENOMEM, "out of memory");
	int rc = fedstate_open(home, &x->state, d);
	if (rc == ST_OK)
		rc = peers_open(home, &reg, d);
	if (rc == ST_OK)
		rc = peers_get(reg, peer, &p, d);
	if (rc == ST_OK)
		rc = peers_policy(reg, peer, &text, d);
	peers_close(reg);
	if (rc == ST_OK) {
		struct fed_health h;
		fed_health_get(x->state, peer, &h);
		rc = fed_partner_build(s, peer, h.identity, text, &x->part, d);
	}
	free(text);
	if (rc == ST_OK) {
		x->facts = fed_facts_new(s, x->state);
		struct release_source src = fed_facts_source(x->facts);
		x->eng = x->facts ? release_engine_new(&src) : NULL;
		if (x->eng == NULL)
			rc = diag_set(d, ST_ENOMEM, "out of memory");
	}
	if (rc != ST_OK) {
		fed_decider_free(x);
		return rc;
	}
	*out = x;
	return ST_OK;
}

void fed_decider_free(struct fed_decider *x)
{
	if (x == NULL)
		return;
	release_engine_free(x->eng);
	fed_facts_free(x->facts);
	fed_partner_free(&x->part);
	fedstate_close(x->state);
	free(x);
}

bool fed_decider_knows_identity(const struct fed_decider *x)
{
	return x->part.identity[0] != '\0';
}

enum release_why fed_decider_decide(struct fed_decider *x,
				    const struct store_row *row,
				    struct release_explain *why)
{
	struct release_version v;
	struct diag d;
	fed_facts_reset(x->facts);
	if (fed_facts_row(x->facts, row, &v, &d) != ST_OK) {
		if (why != NULL) {
			memset(why, 0, sizeof(*why));
			why->why = RELEASE_DENY_REFERENCE;
		}
		return RELEASE_DENY_REFERENCE;
	}
	return release_decide(x->eng, &x->part.aud, &v, why);
}
