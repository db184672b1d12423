/*
 * strait: one sender per partner: decide, deliver, catch up.
 *
 * Decide: the versions of our log after the DECIDED cursor go through the
 * release decision for the partner's audience; those released are marked
 * (fedstate's released set, which every other path serving the partner
 * reads) and the cursor moves, in one durable transaction.
 *
 * Deliver: the versions after the DELIVERED cursor that were released go
 * to the partner's writable collection as TAXII Add Objects, with the
 * attestations that cover them: one we sign now over our own versions and
 * over what feed peers gave us ("received from"), and for relayed versions
 * the origin's own attestation, stored when they arrived. Only after the
 * partner's 202 (its objects are durable) does the cursor move, so delivery
 * is at-least-once and in log order (per origin too). Versions the partner
 * refuses go to the dead letters, with an alert; what follows is not held
 * up.
 *
 * Catch up: on start, after an outage, and every catchup_every_s for feed
 * peers (which never push), every collection the partner lets us read is
 * paged with added_after and match[version]=all from the position kept
 * per collection; what arrives goes through fed_receive.
 */
#define _DEFAULT_SOURCE /* syscall(SYS_gettid) */
#include "federation/client.h"
#include "federation/fed_int.h"

#include "federation/attest.h"

#include "common/arena.h"
#include "common/json.h"
#include "common/log.h"
#include "common/split.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define DECIDE_ROWS 2000
/* Rows the decider proper reads at a time; more go to a backlog thread
 * (see backlog_main). A burst below the bulk size (DIRECT_BULK) is
 * decided in one read, and delivered in one batch. */
#define HEAD_ROWS DIRECT_BULK
#define PUSH_BYTES ((size_t)8 << 20)
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 30000
#define CATCHUP_LIMIT 5000
/* The nice value of a decider's backlog thread (see backlog_main). */
#define DECIDER_NICE 10
/* Batches posted to a partner at once. */
#define PUSH_DEPTH 3
/* A batch this large waits, at most DIRECT_WAIT_MS, for the deciders of
 * the other partners no more than DIRECT_CLOSE versions behind it (see
 * wait_for_others). */
#define DIRECT_BULK 256
#define DIRECT_CLOSE 65536
#define DIRECT_WAIT_MS 500
#define DIRECT_STILL_MS 100
/* Pages in a row that bring nothing new before paging counts as stuck. */
#define CATCHUP_STUCK 3
/* How long a strait partner has to start pushing to us, once connected,
 * before we read its collections instead. */
#define CATCHUP_GRACE_S 2.0

struct row_copy {
	uint64_t seq;
	char *id;
	st_time version;
	uint8_t tlp, flags;
	char *body;
	size_t len;
	void *prov; /* NULL when none */
	size_t prov_len;
};

/* Rows read from the log, copied (a store callback may not block); their
 * bytes in one arena, let go of all at once. */
struct rowbuf {
	struct row_copy *v;
	size_t n, cap;
	struct arena *mem;
};

/* One batch: read, selected, signed, and posted by a thread of its own,
 * on a connection of its own, while the next batch is prepared and
 * posted (PUSH_DEPTH at once). The partner takes them in parallel; our
 * cursor still moves over them in log order, each only after its 202. */
struct push {
	struct rowbuf rows;
	size_t *pick;
	const struct row_copy **sel;
	struct fed_sent_item *items;
	size_t nsel;
	uint64_t upto; /* the cursor once delivered */
	struct buf env;
	struct fc_response resp;
	struct fed_client c;
	bool open;     /* c is open */
	bool posted;   /* posted (else: no object in it) */
	bool threaded; /* by a thread of its own, th (else: done) */
	const char *inbox;
	pthread_t th;
	int rc;
	struct diag d;
};

struct fed_sender {
	struct fed *f;
	struct fed_sender *next;
	char name[PEER_NAME_MAX];
	pthread_t thread;
	bool started;
	atomic_bool ended; /* the thread returned (peer removed) */
	/* state of the thread */
	struct fed_client c;
	bool connected;
	struct fed_partner part;
	bool have_part, part_feed; /* under part_mu */
	struct peer peer;
	char incarnation[37];
	struct release_engine *eng; /* the decider's */
	struct fed_facts *facts;    /* the decider's */
	struct rowbuf drows;	    /* the decider's */
	/* The decider thread decides while this one delivers: part (the
	 * partner's audience) is swapped by reload under part_mu, which the
	 * decider holds for each batch. */
	pthread_t decider;
	bool decider_started;
	atomic_bool quit;
	atomic_bool contact;		   /* fed_peer_contact */
	atomic_uint_fast64_t last_push_ms; /* fed_peer_pushed, monotonic */
	pthread_mutex_t part_mu;
	pthread_mutex_t dmu; /* decided_gen, and the wait on it */
	pthread_cond_t dcv;
	uint64_t decided_gen;
	unsigned backoff_ms;
	double next_catchup;
	double next_reload;
	bool catchup_due;
	struct fc_response resp;
	struct push push[PUSH_DEPTH]; /* the deliverer's */
	/* The decider's: the "direct" list of the last origin attestation
	 * read (consecutive received versions share one). */
	char direct_of[STIX_ID_MAX];
	char (*direct)[STIX_ID_MAX];
	size_t ndirect;
	/* Our audit heads published to the partner (fed_publish_head). */
	uint64_t head_sent; /* the generation it holds */
	double head_retry;  /* time_mono() before which not to retry */
};

/* ------------------------------------------------------------------ */

/* Names the calling thread what, then the peer's name (top -H, perf):
 * "decide:jp", "send:jp" (Linux keeps 15 bytes); the supervisor's is
 * "federation". */
static void thread_name(const char *what, const char *peer)
{
	char name[16];
	snprintf(name, sizeof(name), "%s%s%s", what, peer != NULL ? ":" : "",
		 peer != NULL ? peer : "");
	prctl(PR_SET_NAME, name, 0, 0, 0);
}

static void health_error(struct fed_sender *s, const char *msg)
{
	struct fed_health h;
	fed_health_get(s->f->state, s->name, &h);
	h.last_error_at = time_now();
	snprintf(h.last_error, sizeof(h.last_error), "%s", msg);
	if (h.down_since == 0)
		h.down_since = h.last_error_at;
	fed_health_put(s->f->state, &h, NULL);
}

static void health_ok(struct fed_sender *s, uint64_t sent)
{
	struct fed_health h;
	fed_health_get(s->f->state, s->name, &h);
	bool was_down = h.down_since != 0;
	h.last_success = time_now();
	h.down_since = 0;
	h.sent += sent;
	fed_health_put(s->f->state, &h, NULL);
	if (was_down)
		log_info("federation", "peer %s: reachable again", s->name);
}

static void rows_clear(struct rowbuf *b)
{
	b->n = 0;
	if (b->mem != NULL)
		arena_reset(b->mem);
}

static void rows_free(struct rowbuf *b)
{
	free(b->v);
	arena_free(b->mem);
	memset(b, 0, sizeof(*b));
}

static int copy_row(void *ctx, const struct store_row *row)
{
	struct rowbuf *b = ctx;
	if (b->n == b->cap) {
		size_t nc = b->cap ? b->cap * 2 : 256;
		struct row_copy *g = realloc(b->v, nc * sizeof(*g));
		if (g == NULL)
			return ST_ENOMEM;
		b->v = g;
		b->cap = nc;
	}
	if (b->mem == NULL && (b->mem = arena_new(4u << 20)) == NULL)
		return ST_ENOMEM;
	size_t il = strlen(row->id);
	size_t pl = row->prov != NULL ? row->prov_len : 0;
	char *m = arena_alloc(b->mem, il + 1 + row->body_len + 1 + pl);
	if (m == NULL)
		return ST_ENOMEM;
	struct row_copy *r = &b->v[b->n];
	r->seq = row->seq;
	r->version = row->version;
	r->tlp = row->tlp;
	r->flags = row->flags;
	r->id = m;
	memcpy(r->id, row->id, il + 1);
	r->body = m + il + 1;
	memcpy(r->body, row->body, row->body_len);
	r->body[row->body_len] = '\0';
	r->len = row->body_len;
	r->prov = pl > 0 ? r->body + row->body_len + 1 : NULL;
	if (pl > 0)
		memcpy(r->prov, row->prov, pl);
	r->prov_len = pl;
	b->n++;
	return 0;
}

/* Sleeps up to ms, waking early when the node stops. */
static void nap(struct fed_sender *s, unsigned ms)
{
	while (ms > 0 && !atomic_load(&s->f->stop)) {
		unsigned step = ms < 100 ? ms : 100;
		struct timespec ts = {0, (long)step * 1000000L};
		nanosleep(&ts, NULL);
		ms -= step;
	}
}

/* Waits before the next attempt, doubling the wait each time; the
 * partner calling us ends the wait (it is up again). */
static void backoff(struct fed_sender *s)
{
	s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : BACKOFF_MIN_MS;
	if (s->backoff_ms > BACKOFF_MAX_MS)
		s->backoff_ms = BACKOFF_MAX_MS;
	atomic_store(&s->contact, false);
	for (unsigned left = s->backoff_ms;
	     left > 0 && !atomic_load(&s->f->stop);) {
		if (atomic_exchange(&s->contact, false)) {
			s->backoff_ms = 0;
			return;
		}
		unsigned step = left < 50 ? left : 50;
		nap(s, step);
		left -= step;
	}
}

static uint64_t mono_ms(void)
{
	return (uint64_t)(time_mono() * 1000.0);
}

/* Tells the sender for peer (if any) that it called, or pushed. */
static void signal_sender(struct fed *f, const char *peer, bool push)
{
	if (f == NULL || peer == NULL)
		return;
	pthread_mutex_lock(&f->senders_mu);
	for (struct fed_sender *s = f->senders; s != NULL; s = s->next)
		if (strcmp(s->name, peer) == 0) {
			if (push)
				atomic_store(&s->last_push_ms, mono_ms());
			else
				atomic_store(&s->contact, true);
		}
	pthread_mutex_unlock(&f->senders_mu);
}

void fed_peer_contact(struct fed *f, const char *peer)
{
	signal_sender(f, peer, false);
}

void fed_peer_pushed(struct fed *f, const char *peer)
{
	signal_sender(f, peer, true);
}

/* ------------------------------------------------------------------ */
/* The partner's registry entry and policy                              */
/* ------------------------------------------------------------------ */

/* The names of the senders to partners other than peer (at most
 * MAX_OTHERS), into names: how many. */
static size_t other_senders(struct fed *f, const char *peer,
			    char names[MAX_OTHERS][PEER_NAME_MAX])
{
	size_t nn = 0;
	pthread_mutex_lock(&f->senders_mu);
	for (struct fed_sender *o = f->senders; o != NULL && nn < MAX_OTHERS;
	     o = o->next)
		if (strcmp(o->name, peer) != 0)
			memcpy(names[nn++], o->name, PEER_NAME_MAX);
	pthread_mutex_unlock(&f->senders_mu);
	return nn;
}

size_t fed_direct(struct fed *f, const char *peer, const uint64_t *seqs,
		  size_t n, char (*out)[STIX_ID_MAX], size_t cap)
{
	char names[MAX_OTHERS][PEER_NAME_MAX];
	size_t nn = other_senders(f, peer, names), k = 0;
	uint64_t top = 0;
	const char *inc = store_incarnation(f->cfg.store);
	for (size_t i = 0; i < n; i++)
		if (seqs[i] > top)
			top = seqs[i];
	for (size_t j = 0; j < nn && k < cap && n > 0 && inc != NULL; j++) {
		struct fed_health h;
		uint64_t dc;
		if (fed_health_get(f->state, names[j], &h) != ST_OK ||
		    h.identity[0] == '\0' ||
		    fed_cursor_get(f->state, names[j], inc, FED_DECIDED, &dc) !=
			ST_OK ||
		    dc < top)
			continue;
		bool all = true;
		for (size_t i = 0; i < n && all; i++)
			all = fed_released(f->state, names[j], seqs[i]);
		if (all)
			memcpy(out[k++], h.identity, STIX_ID_MAX);
	}
	return k;
}

/*
 * Before a bulk batch goes to peer: gives the other partners' deciders,
 * when they are close behind, a moment to decide past it, so that its
 * attestation can name them in `direct` and peer does not relay to them
 * what we deliver ourselves. During an import one decider often runs a
 * fraction of a second behind another, and without this about half of a
 * burst was relayed a second time. Never for small batches (latency:
 * relaying one object costs little), never for a decider far behind (a
 * backfill after a policy change) or one that stopped moving, and at most
 * DIRECT_WAIT_MS a batch.
 */
static void wait_for_others(struct fed *f, const char *peer,
			    const struct push *p)
{
	if (p->nsel < DIRECT_BULK)
		return;
	uint64_t top = 0;
	for (size_t i = 0; i < p->nsel; i++)
		if (p->sel[i]->seq > top)
			top = p->sel[i]->seq;
	const char *inc = store_incarnation(f->cfg.store);
	if (inc == NULL)
		return;
	char names[MAX_OTHERS][PEER_NAME_MAX];
	size_t nn = other_senders(f, peer, names);
	double until = time_mono() + DIRECT_WAIT_MS / 1000.0;
	for (size_t j = 0; j < nn; j++) {
		struct fed_health h;
		if (fed_health_get(f->state, names[j], &h) != ST_OK ||
		    h.identity[0] == '\0')
			continue; /* not named in direct anyway */
		/* A decider that does not move (no policy read yet, a store
		 * error) is not waited for past DIRECT_STILL_MS. */
		uint64_t seen = 0;
		double moved = time_mono();
		for (;;) {
			uint64_t dc;
			double now = time_mono();
			if (fed_cursor_get(f->state, names[j], inc, FED_DECIDED,
					   &dc) != ST_OK ||
			    dc >= top || top - dc > DIRECT_CLOSE ||
			    now >= until || atomic_load(&f->stop))
				break;
			if (dc != seen) {
				seen = dc;
				moved = now;
			} else if (now - moved > DIRECT_STILL_MS / 1000.0) {
				break;
			}
			struct timespec ts = {0, 2 * 1000 * 1000};
			nanosleep(&ts, NULL);
		}
	}
}

/* Re-reads the registry (about once a second): a changed policy resets
 * what was decided (backfill when loosened; when tightened, what was
 * sent cannot be recalled, and the log says so). */
static int reload(struct fed_sender *s)
{
	struct fed *f = s->f;
	double now = time_mono();
	if (s->have_part && now < s->next_reload)
		return ST_OK;
	s->next_reload = now + 1.0;
	struct diag d;
	char *text = NULL;
	struct peer p;
	pthread_mutex_lock(&f->peers_mu);
	int rc = peers_get(f->peers, s->name, &p, &d);
	if (rc == ST_OK)
		rc = peers_policy(f->peers, s->name, &text, &d);
	pthread_mutex_unlock(&f->peers_mu);
	if (rc != ST_OK)
		return rc; /* removed: the thread ends */
	if (s->connected && (strcmp(p.url, s->peer.url) != 0 ||
			     memcmp(p.pk, s->peer.pk, sizeof(p.pk)) != 0)) {
		fc_close(&s->c);
		s->connected = false;
	}
	s->peer = p;
	struct fed_health h;
	fed_health_get(f->state, s->name, &h);
	struct fed_partner np;
	rc =
	    fed_partner_build(f->cfg.store, s->name, h.identity, text, &np, &d);
	free(text);
	if (rc != ST_OK) {
		log_error("federation",
			  "peer %s: its stored policy is refused (%s): it "
			  "receives nothing until `strait peer policy` "
			  "replaces it",
			  s->name, d.msg);
		fed_partner_free(&np);
		fed_partner_build(f->cfg.store, s->name, h.identity, NULL, &np,
				  &d);
	}
	/* The decider holds part_mu for each batch: a reset and the new
	 * audience come between two batches, never inside one. */
	pthread_mutex_lock(&s->part_mu);
	char old[65] = "";
	fed_policy_hash_get(f->state, s->name, old);
	if (strcmp(old, np.hash) != 0) {
		if (old[0] != '\0')
			log_warn("federation",
				 "peer %s: policy changed: deciding again "
				 "from the start of the log (what the new "
				 "policy admits is sent; what was already "
				 "sent cannot be recalled)",
				 s->name);
		if (fed_policy_reset(f->state, s->name, np.hash, &d) != ST_OK) {
			pthread_mutex_unlock(&s->part_mu);
			log_error("federation", "peer %s: %s", s->name, d.msg);
			fed_partner_free(&np);
			return ST_ESTORE;
		}
	}
	fed_partner_free(&s->part);
	s->part = np;
	/* struct partner points into itself: fix the pointers up */
	s->part.p.name = s->part.name;
	s->part.p.identity = s->part.identity[0] ? s->part.identity : NULL;
	s->part.aud.partner = &s->part.p;
	fed_facts_collections(s->facts, policy_needs_collections(&s->part.aud));
	s->part_feed = p.trust == PEER_FEED;
	s->have_part = true;
	pthread_mutex_unlock(&s->part_mu);
	return ST_OK;
}

/* ------------------------------------------------------------------ */
/* Deciding                                                             */
/* ------------------------------------------------------------------ */

/* Reads the "direct" list of the origin attestation id (kept since it
 * arrived, verified then) into s's cache. An unreadable one counts as
 * naming no one: the version is then sent as before. */
static void direct_load(struct fed_sender *s, const char *id)
{
	free(s->direct);
	s->direct = NULL;
	s->ndirect = 0;
	snprintf(s->direct_of, sizeof(s->direct_of), "%s", id);
	char *json = NULL;
	size_t len = 0;
	struct diag d;
	if (fed_attestation_get(s->f->state, id, &json, &len) == ST_OK &&
	    attest_direct(json, len, &s->direct, &s->ndirect, &d) != ST_OK)
		log_warn("federation", "peer %s: attestation %s: %s", s->name,
			 id, d.msg);
	free(json);
}

/* Whether this partner has row from elsewhere: another node's version
 * that arrived from this very partner, or whose origin attests that it
 * delivers it to this partner itself ("direct"). Then we need not, and do
 * not, send it (the origin's queue is durable; catch-up covers the rest).
 * p: row's provenance. Any doubt sends it. */
static bool partner_has(struct fed_sender *s, const struct store_row *row,
			const struct fed_prov *p)
{
	const char *me = s->part.p.identity;
	if (!(row->flags & STORE_F_FOREIGN))
		return false;
	if (strcmp(p->peer, s->name) == 0)
		return true;
	if (me == NULL || p->attestation[0] == '\0' || p->origin[0] == '\0')
		return false;
	if (strcmp(s->direct_of, p->attestation) != 0)
		direct_load(s, p->attestation);
	for (size_t i = 0; i < s->ndirect; i++)
		if (strcmp(s->direct[i], me) == 0)
			return true;
	return false;
}

/* Whether row can be left out for this partner without reading the rest
 * of it: what its marking and provenance alone withhold
 * (policy_decide_marking: never back to its origin, no relaying of AMBER,
 * a level the policy does not grant...), and what the partner has from
 * elsewhere. Its provenance is read once, as fed_facts_row reads it.
 * False when the rest of the facts decide, or when in doubt. */
static bool left_out(struct fed_sender *s, const struct store_row *row)
{
	struct release_facts f;
	memset(&f, 0, sizeof(f));
	f.tlp = row->tlp;
	f.flags = row->flags;
	struct fed_prov p;
	const char *red[FED_MAX_RED];
	bool out = fed_facts_provenance(s->f->state, row, &f, &p, red) ==
		       ST_OK && /* else the full reading says what */
		   (policy_decide_marking(&s->part.aud, &f) != RELEASE_OK ||
		    partner_has(s, row, &p));
	fed_prov_free(&p);
	return out;
}

/* Decides the next rows of the log: *read gets how many were read (0: up
 * to date), *released how many of them go to the partner, *full whether
 * the read stopped at limit rows (else it reached the end of the log).
 * ST_OK or an error. */
static int decide(struct fed_sender *s, size_t limit, uint64_t *read,
		  size_t *released, bool *full)
{
	struct fed *f = s->f;
	struct diag d;
	uint64_t cur, last = 0;
	*read = 0;
	*released = 0;
	*full = false;
	int rc = fed_cursor_get(f->state, s->name, s->incarnation, FED_DECIDED,
				&cur);
	if (rc != ST_OK)
		return rc;
	/* No shortcut through store_last_seq: it knows only this process's
	 * commits, and `strait import` writes from another one. */
	rows_clear(&s->drows);
	rc = store_log_read(f->cfg.store, cur, limit, 0, copy_row, &s->drows,
			    &last, &d);
	if (rc < 0)
		return rc;
	if (last <= cur)
		return ST_OK;
	uint64_t *rel = malloc((s->drows.n ? s->drows.n : 1) * sizeof(*rel));
	size_t nrel = 0;
	if (rel == NULL)
		return ST_ENOMEM;
	release_engine_reset(s->eng);
	for (size_t i = 0; i < s->drows.n; i++) {
		const struct row_copy *r = &s->drows.v[i];
		struct store_row row;
		memset(&row, 0, sizeof(row));
		row.seq = r->seq;
		row.id = r->id;
		row.version = r->version;
		row.tlp = r->tlp;
		row.flags = r->flags;
		row.body = r->body;
		row.body_len = r->len;
		row.prov = r->prov;
		row.prov_len = r->prov_len;
		/* after an outage most of what arrives is such */
		if (left_out(s, &row))
			continue;
		struct release_version v;
		fed_facts_reset(s->facts);
		if (fed_facts_row(s->facts, &row, &v, &d) != ST_OK) {
			log_warn("federation", "peer %s: %s withheld: %s",
				 s->name, r->id, d.msg);
			continue;
		}
		if (release_decide(s->eng, &s->part.aud, &v, NULL) ==
		    RELEASE_OK)
			rel[nrel++] = r->seq;
	}
	rc =
	    fed_decided(f->state, s->name, s->incarnation, last, rel, nrel, &d);
	free(rel);
	if (rc != ST_OK) {
		log_error("federation", "peer %s: %s", s->name, d.msg);
		return rc;
	}
	if (f->cfg.audit != NULL && nrel < s->drows.n) {
		char actor[PEER_NAME_MAX + 8], detail[256];
		snprintf(actor, sizeof(actor), "peer:%s", s->name);
		snprintf(detail, sizeof(detail),
			 "{\"after_seq\":%llu,\"through_seq\":%llu,"
			 "\"released\":%zu,\"withheld\":%zu}",
			 (unsigned long long)cur, (unsigned long long)last,
			 nrel, s->drows.n - nrel);
		f->cfg.audit(f->cfg.audit_ctx, "release.decide", actor, detail,
			     false);
	}
	*read = last - cur;
	*released = nrel;
	*full = s->drows.n >= limit;
	return ST_OK;
}

/* ------------------------------------------------------------------ */
/* Delivering                                                           */
/* ------------------------------------------------------------------ */

static int add_json(void *ctx, const char *json, size_t len)
{
	struct buf *e = ctx;
	int rc = buf_addc(e, ',');
	return rc == ST_OK ? buf_add(e, json, len) : rc;
}

/* Builds the envelope for rows[0..n): bodies, then attestations. */
static int envelope(struct fed_sender *s, struct buf *e,
		    const struct row_copy *const *rows, size_t n,
		    struct diag *d)
{
	buf_reset(e);
	struct fed_page_item *items = calloc(n ? n : 1, sizeof(*items));
	if (items == NULL)
		return diag_set(d, ST_ENOMEM, "out of memory");
	int rc = buf_adds(e, "{\"objects\":[");
	for (size_t i = 0; i < n && rc == ST_OK; i++) {
		const struct row_copy *r = rows[i];
		items[i] = (struct fed_page_item){.seq = r->seq,
						  .id = r->id,
						  .version = r->version,
						  .body = r->body,
						  .body_len = r->len,
						  .flags = r->flags,
						  .tlp = r->tlp,
						  .prov = r->prov,
						  .prov_len = r->prov_len};
		if (i > 0)
			rc = buf_addc(e, ',');
		if (rc == ST_OK)
			rc = buf_add(e, r->body, r->len);
	}
	if (rc == ST_OK)
		rc = fed_attestations(s->f, s->name, s->part.pol.relay_green,
				      s->part.p.identity, items, n, add_json, e,
				      d);
	if (rc == ST_OK)
		rc = buf_adds(e, "]}");
	if (rc != ST_OK && d->msg[0] == '\0')
		diag_set(d, rc, "envelope: %s", st_strerror(rc));
	free(items);
	return rc;
}

/* The failures of a TAXII status into dead letters. */
static void dead_letters(struct fed_sender *s,
			 const struct row_copy *const *rows, size_t n,
			 const char *status, size_t len)
{
	struct json_doc *doc = json_doc_new();
	const struct json_val *root, *fl;
	struct diag d;
	if (doc == NULL ||
	    json_parse(doc, status, len, 0, NULL, &root, &d) != ST_OK ||
	    (fl = json_get(root, "failures")) == NULL ||
	    fl->type != JSON_ARRAY) {
		json_doc_free(doc);
		return;
	}
	for (uint32_t i = 0; i < fl->len; i++) {
		const struct json_val *id = json_get(&fl->u.items[i], "id");
		const struct json_val *msg =
		    json_get(&fl->u.items[i], "message");
		if (id == NULL || id->type != JSON_STRING)
			continue;
		struct fed_deadletter dl;
		memset(&dl, 0, sizeof(dl));
		dl.at = time_now();
		snprintf(dl.peer, sizeof(dl.peer), "%s", s->name);
		snprintf(dl.id, sizeof(dl.id), "%s", id->u.str);
		snprintf(dl.reason, sizeof(dl.reason), "%s",
			 msg && msg->type == JSON_STRING ? msg->u.str
							 : "refused");
		for (size_t k = 0; k < n; k++)
			if (strcmp(rows[k]->id, id->u.str) == 0) {
				dl.seq = rows[k]->seq;
				dl.version = rows[k]->version;
			}
		if (fed_deadletter_add(s->f->state, &dl, &d) == ST_OK) {
			atomic_fetch_add(&s->f->dead_letters, 1);
			log_warn("federation",
				 "peer %s refused %s: %s (dead letter; `strait "
				 "peer deadletter %s`)",
				 s->name, dl.id, dl.reason, s->name);
		}
	}
	json_doc_free(doc);
}

static void push_reset(struct push *p)
{
	rows_clear(&p->rows);
	free(p->pick);
	free(p->sel);
	free(p->items);
	p->pick = NULL;
	p->sel = NULL;
	p->items = NULL;
	p->nsel = 0;
}

static void push_free(struct push *p)
{
	push_reset(p);
	rows_free(&p->rows);
	buf_free(&p->env);
	buf_free(&p->resp.body);
	if (p->open)
		fc_close(&p->c);
	p->open = false;
}

/* Reads the log after from, up to decided, into p: the released rows, up
 * to a batch (a batch's worth of rows at a time until it is full:
 * reading far ahead would read most rows again for the next batch). */
static int prepare(struct fed_sender *s, struct push *p, uint64_t from,
		   uint64_t decided, struct diag *d)
{
	struct fed *f = s->f;
	unsigned want = f->cfg.batch_objects ? f->cfg.batch_objects : 4000;
	size_t bytes = 0, next = 0, limit = DECIDE_ROWS * 8;
	uint64_t at = from, last = 0;
	bool full = false;
	push_reset(p);
	p->upto = from;
	while (!full && at < decided && p->rows.n < limit) {
		/* Straight to the next released version: the rows before
		 * it hold nothing for this partner (most of what a relay
		 * node receives goes back to no one). */
		uint64_t nx;
		if (!fed_released_next(f->state, s->name, at, &nx) ||
		    nx > decided) {
			p->upto = decided;
			break;
		}
		if (nx - 1 > at) {
			at = nx - 1;
			p->upto = at;
		}
		uint64_t span = decided - at;
		size_t chunk = span < want ? (size_t)span : want;
		int rc = store_log_read(f->cfg.store, at, chunk, 0, copy_row,
					&p->rows, &last, d);
		if (rc < 0)
			return rc;
		if (last <= at)
			break; /* the log ends before the cursor (cannot be) */
		at = last < decided ? last : decided;
		/* indices: the rows move while they grow */
		size_t *g =
		    realloc(p->pick, (p->rows.n ? p->rows.n : 1) * sizeof(*g));
		if (g == NULL)
			return ST_ENOMEM;
		p->pick = g;
		for (; next < p->rows.n && p->rows.v[next].seq <= at; next++) {
			const struct row_copy *r = &p->rows.v[next];
			if (fed_released(f->state, s->name, r->seq)) {
				if (p->nsel == want ||
				    (p->nsel > 0 &&
				     bytes + r->len > PUSH_BYTES)) {
					full = true;
					break;
				}
				p->pick[p->nsel++] = next;
				bytes += r->len;
			}
			p->upto = r->seq;
		}
	}
	if (p->upto == from)
		p->upto = at; /* nothing held in between (should not happen) */
	p->sel = malloc((p->nsel ? p->nsel : 1) * sizeof(*p->sel));
	p->items = malloc((p->nsel ? p->nsel : 1) * sizeof(*p->items));
	if (p->sel == NULL || p->items == NULL)
		return ST_ENOMEM;
	for (size_t i = 0; i < p->nsel; i++) {
		const struct row_copy *r = &p->rows.v[p->pick[i]];
		p->sel[i] = r;
		p->items[i] = (struct fed_sent_item){r->seq, r->id, r->version};
	}
	return ST_OK;
}

static void *post_main(void *arg)
{
	struct push *p = arg;
	p->rc = fc_request(&p->c, "POST", p->inbox, p->env.data, p->env.len,
			   (size_t)16 << 20, &p->resp, &p->d);
	return NULL;
}

/* Records a push the partner took (queued: the release record in
 * peers.db is written at once; this is the audit log's copy, with the
 * digest that record computed). */
static void audit_push(struct fed_sender *s, const struct push *p,
		       const char hex[65])
{
	struct fed *f = s->f;
	if (f->cfg.audit == NULL)
		return;
	char actor[PEER_NAME_MAX + 8], detail[256];
	snprintf(actor, sizeof(actor), "peer:%s", s->name);
	snprintf(detail, sizeof(detail),
		 "{\"path\":\"push\",\"versions\":%zu,\"through_seq\":%llu,"
		 "\"digest\":\"%s\"}",
		 p->nsel, (unsigned long long)p->upto, hex);
	f->cfg.audit(f->cfg.audit_ctx, "release", actor, detail, false);
}

/* What the partner answered to p: the cursor moves over it after a 202.
 * ST_OK, or ST_EIO (the partner refused or could not be reached). */
static int complete(struct fed_sender *s, struct push *p)
{
	struct fed *f = s->f;
	struct diag d;
	if (p->rc != ST_OK) {
		health_error(s, p->d.msg);
		if (p->rc == ST_EIO || p->rc == ST_EAUTH)
			s->connected = false;
		return ST_EIO;
	}
	long st = p->resp.status;
	if (st == 202) {
		dead_letters(s, p->sel, p->nsel, p->resp.body.data,
			     p->resp.body.len);
		char hex[65];
		int rc = fed_delivered_digest(f->state, s->name, s->incarnation,
					      p->upto, p->items, p->nsel,
					      "push", time_now(), hex, &d);
		if (rc != ST_OK) {
			log_error("federation", "peer %s: %s", s->name, d.msg);
			return rc;
		}
		audit_push(s, p, hex);
		atomic_fetch_add(&f->pushed, p->nsel);
		atomic_fetch_add(&f->push_batches, 1);
		health_ok(s, p->nsel);
		return ST_OK;
	}
	char msg[300];
	snprintf(msg, sizeof(msg), "POST %s: HTTP %ld: %.200s", s->c.inbox, st,
		 p->resp.body.data ? p->resp.body.data : "");
	health_error(s, msg);
	if (st == 413 && f->cfg.batch_objects != 1) {
		/* too large for the partner: halve the batches */
		f->cfg.batch_objects =
		    p->nsel > 1 ? (unsigned)(p->nsel / 2) : 1;
	}
	if (st == 401 || st == 403 || st == 404)
		s->connected = false; /* rediscover, with backoff */
	return ST_EIO;
}

/* Delivers the next released versions, PUSH_DEPTH batches in flight: as
 * the oldest is answered, the next is prepared and posted, for about a
 * second (then reload and catch-up get their turn). *moved gets how many
 * log rows the cursor moved over (0: nothing to deliver). */
static int deliver(struct fed_sender *s, uint64_t *moved)
{
	struct fed *f = s->f;
	struct diag d;
	uint64_t cur, decided;
	*moved = 0;
	if (fed_cursor_get(f->state, s->name, s->incarnation, FED_DELIVERED,
			   &cur) != ST_OK ||
	    fed_cursor_get(f->state, s->name, s->incarnation, FED_DECIDED,
			   &decided) != ST_OK)
		return ST_ESTORE;
	if (cur >= decided)
		return ST_OK;
	size_t head = 0, n = 0; /* in flight: push[head], ... in log order */
	uint64_t from = cur;
	int rc = ST_OK;
	bool stop = false, failed = false;
	double until = time_mono() + 1.0;
	for (;;) {
		while (!stop && n < PUSH_DEPTH && from < decided) {
			struct push *p = &s->push[(head + n) % PUSH_DEPTH];
			d.msg[0] = '\0';
			if ((rc = prepare(s, p, from, decided, &d)) != ST_OK) {
				log_error("federation", "peer %s: %s", s->name,
					  d.msg[0] ? d.msg : st_strerror(rc));
				stop = true;
				break;
			}
			/* A stretch with nothing released only moves the
			 * cursor, in its turn. */
			p->posted = false;
			if (p->nsel > 0) {
				if (!s->connected || s->c.inbox[0] == '\0' ||
				    !p->open) {
					rc = ST_EIO; /* not reachable yet */
					stop = true;
					break;
				}
				if (f->cfg.audit_ok != NULL &&
				    !f->cfg.audit_ok(f->cfg.audit_ctx)) {
					health_error(s, "the audit log cannot "
							"be written: pushes "
							"wait for it");
					rc = ST_EIO;
					stop = true;
					break;
				}
				wait_for_others(f, s->name, p);
				if ((rc = envelope(s, &p->env, p->sel, p->nsel,
						   &d)) != ST_OK) {
					log_error("federation", "peer %s: %s",
						  s->name, d.msg);
					stop = true;
					break;
				}
				p->inbox = s->c.inbox;
				p->rc = ST_EIO;
				p->posted = true;
				/* Alone (nothing in flight, nothing after it
				 * decided yet): posted from here, without a
				 * thread to start and wait for. */
				p->threaded = n > 0 || p->upto < decided;
				if (!p->threaded) {
					post_main(p);
				} else if (pthread_create(&p->th, NULL,
							  post_main, p) != 0) {
					snprintf(p->d.msg, sizeof(p->d.msg),
						 "no thread to post with");
					p->posted = false;
					rc = ST_ENOMEM;
					stop = true;
					break;
				}
			}
			n++;
			from = p->upto;
			if (time_mono() > until)
				stop = true;
		}
		if (n == 0)
			break;
		/* The oldest: the cursor moves over a batch only if it and
		 * every batch before it were taken (what follows a failure
		 * is sent again from the cursor). */
		struct push *p = &s->push[head];
		head = (head + 1) % PUSH_DEPTH;
		n--;
		if (p->posted && p->threaded)
			pthread_join(p->th, NULL);
		if (failed)
			continue;
		int crc = p->posted
			      ? complete(s, p)
			      : fed_delivered(f->state, s->name, s->incarnation,
					      p->upto, NULL, 0, "push",
					      time_now(), &d);
		if (crc != ST_OK) {
			failed = stop = true;
			rc = crc;
			continue;
		}
		*moved = p->upto - cur;
		if (!stop && fed_cursor_get(f->state, s->name, s->incarnation,
					    FED_DECIDED, &decided) != ST_OK)
			stop = true;
	}
	return *moved > 0 && !failed ? ST_OK : rc;
}

/* Opens the connections the batches are posted on. */
static int push_open(struct fed_sender *s, const char *token, struct diag *d)
{
	struct fed *f = s->f;
	for (size_t k = 0; k < PUSH_DEPTH; k++) {
		struct push *p = &s->push[k];
		if (p->open)
			fc_close(&p->c);
		p->open = false;
		int rc =
		    fc_open(&p->c, &s->peer, token,
			    f->cfg.max_response ? f->cfg.max_response
						: (size_t)64 << 20,
			    f->cfg.timeout_ms ? f->cfg.timeout_ms : 30000, d);
		if (rc != ST_OK)
			return rc;
		p->open = true;
	}
	return ST_OK;
}

/* ------------------------------------------------------------------ */
/* Catching up                                                          */
/* ------------------------------------------------------------------ */

/* The objects of a page: where each lies in body (a TAXII envelope). */
static int page_split(const char *body, size_t len, struct fed_elem **out,
		      size_t *n, struct diag *d)
{
	struct split_span *v;
	enum split_kind kind;
	*out = NULL;
	*n = 0;
	int r = split_all(body, len, len + 1, &v, n, &kind, d);
	if (r != ST_OK)
		return r;
	if (kind == SPLIT_SINGLE)
		*n = 0; /* an envelope without "objects": an empty page */
	else if (kind != SPLIT_ENVELOPE) {
		free(v);
		*n = 0;
		return diag_set(d, ST_EJSON,
				"the page is not a TAXII envelope");
	}
	*out = calloc(*n ? *n : 1, sizeof(**out));
	if (*out == NULL) {
		free(v);
		*n = 0;
		return diag_set(d, ST_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < *n; i++)
		(*out)[i] = (struct fed_elem){body + v[i].off, v[i].len};
	free(v);
	return ST_OK;
}

static int catchup_collection(struct fed_sender *s, const char *coll,
			      int64_t cid, uint64_t *got)
{
	struct fed *f = s->f;
	struct diag d;
	st_time after = 0;
	char next[512] = "";
	char url[PEER_URL_MAX + 512];
	unsigned stuck = 0;
	int rc = fed_catchup_get(f->state, s->name, coll, &after);
	if (rc != ST_OK)
		return rc;
	struct json_doc *doc = json_doc_new();
	if (doc == NULL)
		return ST_ENOMEM;
	for (;;) {
		if (atomic_load(&f->stop))
			break;
		char ts[TS_BUFSZ];
		ts_format(after, ts);
		int n = snprintf(url, sizeof(url),
				 "%scollections/%s/objects/?limit=%d"
				 "&match%%5Bversion%%5D=all%s%s%s%s",
				 s->c.api_root, coll, CATCHUP_LIMIT,
				 after ? "&added_after=" : "", after ? ts : "",
				 next[0] ? "&next=" : "", next);
		if (n < 0 || (size_t)n >= sizeof(url)) {
			rc = ST_ELIMIT;
			break;
		}
		rc = fc_request(&s->c, "GET", url, NULL, 0, 0, &s->resp, &d);
		if (rc != ST_OK)
			break;
		if (s->resp.status != 200) {
			snprintf(d.msg, sizeof(d.msg), "GET %s: HTTP %ld", url,
				 s->resp.status);
			rc = ST_EIO;
			break;
		}
		/* The objects are taken as the partner sent them (split, not
		 * parsed: fed_receive parses each once); the envelope's other
		 * members are read from what is left around them. */
		const char *body = s->resp.body.data ? s->resp.body.data : "";
		size_t blen = s->resp.body.len, cnt = 0;
		struct fed_elem *el = NULL;
		rc = page_split(body, blen, &el, &cnt, &d);
		const struct json_val *root = NULL, *more = NULL, *nx = NULL;
		if (rc == ST_OK) {
			struct buf skel = BUF_INIT(blen + 1);
			size_t head = cnt ? (size_t)(el[0].json - body) : blen;
			size_t tail = cnt ? (size_t)(el[cnt - 1].json +
						     el[cnt - 1].len - body)
					  : blen;
			rc = buf_add(&skel, body, head);
			if (rc == ST_OK)
				rc = buf_add(&skel, body + tail, blen - tail);
			if (rc == ST_OK)
				rc = json_parse(doc, skel.data, skel.len, 0,
						NULL, &root, &d);
			if (rc == ST_OK && root->type != JSON_OBJECT)
				rc = diag_set(&d, ST_EJSON,
					      "the page is not an envelope");
			if (rc == ST_OK) {
				more = json_get(root, "more");
				nx = json_get(root, "next");
			}
			buf_free(&skel);
		}
		if (rc != ST_OK) {
			free(el);
			diag_prefix(&d, "GET %s", url);
			break;
		}
		/* nx points into doc, which the next page's parse reuses */
		char nxt[sizeof(next)] = "";
		if (nx != NULL && nx->type == JSON_STRING && nx->len > 0 &&
		    nx->len < sizeof(nxt))
			memcpy(nxt, nx->u.str, nx->len + 1);
		bool has_more = more && more->type == JSON_TRUE;
		if (cnt > 0) {
			struct fed_result *res = calloc(cnt, sizeof(*res));
			if (res == NULL) {
				free(el);
				rc = ST_ENOMEM;
				break;
			}
			rc = fed_receive(f, s->name, s->resp.date, cid, el, cnt,
					 res, &d);
			uint64_t stored = 0;
			for (size_t i = 0; rc == ST_OK && i < cnt; i++)
				if (res[i].outcome == FED_STORED)
					stored++;
			*got += stored;
			atomic_fetch_add(&f->caught_up, stored);
			free(res);
		}
		free(el);
		if (rc != ST_OK)
			break;
		/* Progress: the position must move, or the page must end. */
		st_time pos = s->resp.added_last;
		if (cnt > 0 && pos > after) {
			after = pos;
			stuck = 0;
			if ((rc = fed_catchup_set(f->state, s->name, coll,
						  after, &d)) != ST_OK)
				break;
		} else if (has_more && ++stuck >= CATCHUP_STUCK) {
			snprintf(d.msg, sizeof(d.msg),
				 "collection %s: paging makes no progress "
				 "(%u pages without a new position)",
				 coll, stuck);
			rc = ST_ELIMIT;
			break;
		}
		if (!has_more)
			break;
		if (nxt[0] != '\0' &&
		    strspn(nxt, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklm"
				"nopqrstuvwxyz0123456789-_.~") == strlen(nxt))
			snprintf(next, sizeof(next), "%s", nxt);
		else
			next[0] = '\0'; /* resume by added_after alone */
	}
	json_doc_free(doc);
	if (rc != ST_OK) {
		char msg[300];
		snprintf(msg, sizeof(msg), "catch-up: %s", d.msg);
		health_error(s, msg);
		log_warn("federation", "peer %s: %s", s->name, msg);
	}
	return rc;
}

static int catchup(struct fed_sender *s)
{
	struct store_collection dc;
	if (store_collection_find(s->f->cfg.store, "default", &dc) != ST_OK)
		return ST_ENOTFOUND;
	uint64_t got = 0;
	double t0 = time_mono();
	int rc = ST_OK;
	/* What arrives may be quarantined, and quarantines are recorded: as
	 * for a partner's push, nothing is taken while the log cannot be
	 * written. */
	if (s->f->cfg.audit_ok != NULL &&
	    !s->f->cfg.audit_ok(s->f->cfg.audit_ctx))
		return ST_EIO;
	for (size_t i = 0; i < s->c.nreadable && rc == ST_OK; i++)
		rc = catchup_collection(s, s->c.readable[i], dc.cid, &got);
	if (got > 0)
		log_info("federation",
			 "peer %s: caught up %llu versions in %.2f s", s->name,
			 (unsigned long long)got, time_mono() - t0);
	return rc;
}

/* ------------------------------------------------------------------ */

static int connect_peer(struct fed_sender *s)
{
	struct fed *f = s->f;
	struct diag d;
	char token[PEER_TOKEN_MAX + 1];
	fc_close(&s->c);
	pthread_mutex_lock(&f->peers_mu);
	int rc = peers_token(f->peers, s->name, token, sizeof(token), &d);
	pthread_mutex_unlock(&f->peers_mu);
	if (rc == ST_OK)
		rc = fc_open(&s->c, &s->peer, token,
			     f->cfg.max_response ? f->cfg.max_response
						 : (size_t)64 << 20,
			     f->cfg.timeout_ms ? f->cfg.timeout_ms : 30000, &d);
	if (rc == ST_OK)
		rc = push_open(s, token, &d);
	sodium_memzero(token, sizeof(token));
	if (rc == ST_OK)
		rc = fc_discover(&s->c, &d);
	if (rc == ST_OK && s->peer.trust == PEER_ATTESTED) {
		char id[STIX_ID_MAX];
		rc = fc_node(&s->c, id, sizeof(id), &d);
		if (rc == ST_OK) {
			struct fed_health h;
			fed_health_get(f->state, s->name, &h);
			if (h.identity[0] && strcmp(h.identity, id) != 0) {
				rc = diag_set(&d, ST_EAUTH,
					      "peer %s now says it is %s; it "
					      "was known as %s",
					      s->name, id, h.identity);
			} else if (h.identity[0] == '\0') {
				snprintf(h.identity, sizeof(h.identity), "%s",
					 id);
				fed_health_put(f->state, &h, NULL);
				s->next_reload = 0; /* rebuild the audience */
			}
		}
	}
	if (rc != ST_OK) {
		health_error(s, d.msg);
		log_warn("federation", "peer %s: %s", s->name, d.msg);
		return rc;
	}
	s->connected = true;
	s->catchup_due = true;
	s->head_sent = 0; /* published again: it may have come back new */
	s->head_retry = 0;
	return ST_OK;
}

/* One turn of deciding, at most limit rows: *read, *full as decide();
 * false when the partner's audience is not ready yet (*rc: decide's). */
static bool decide_turn(struct fed_sender *s, size_t limit, uint64_t *read,
			bool *full, int *rc)
{
	size_t rel = 0;
	*read = 0;
	*full = false;
	*rc = ST_OK;
	pthread_mutex_lock(&s->part_mu);
	bool ready =
	    s->have_part && (s->part_feed || s->part.p.identity != NULL);
	if (ready)
		*rc = decide(s, limit, read, &rel, full);
	pthread_mutex_unlock(&s->part_mu);
	/* The deliverer is woken for versions released to the partner; a
	 * stretch that holds none (on a node that relays little, most of
	 * what arrives) waits for its next turn, at most wait_decided's
	 * 100 ms, to move the cursor over. */
	if (rel > 0) {
		pthread_mutex_lock(&s->dmu);
		s->decided_gen++;
		pthread_cond_broadcast(&s->dcv);
		pthread_mutex_unlock(&s->dmu);
	}
	return ready;
}

/* A backlog (more than HEAD_ROWS versions: an import, a burst, a partner
 * back from an outage, a policy change) is decided in a thread of its own
 * at DECIDER_NICE, DECIDE_ROWS at a time: taking in what partners send,
 * and serving, come first when the cores are busy (after an outage a node
 * does both at once). It ends when a read reaches the end of the log. Linux applies nice to that thread alone, and a
 * thread cannot take its nice back without privilege: hence a thread per
 * backlog, while the decider proper keeps the normal priority that the
 * single objects it decides at the head of the log wait for (at nice 10,
 * behind any busy thread, their p99 rose by a fifth). */
static void *backlog_main(void *arg)
{
	struct fed_sender *s = arg;
	struct fed *f = s->f;
	/* priority first: a thread is never seen under its name at the
	 * wrong nice */
	if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid),
			DECIDER_NICE) != 0)
		log_warn("federation", "peer %s: decider priority: %s", s->name,
			 strerror(errno));
	thread_name("backlog", s->name);
	uint64_t n;
	bool full;
	int rc;
	while (!atomic_load(&f->stop) && !atomic_load(&s->quit) &&
	       decide_turn(s, DECIDE_ROWS, &n, &full, &rc) && rc == ST_OK &&
	       full)
		;
	return NULL;
}

/* The decider: decides our log for the partner as it grows, while the
 * sender thread delivers. Deciding needs the partner's audience (reload,
 * in the sender thread) and, for a strait partner, its identity (RED,
 * "not back to its origin"), learnt when the sender first connects; it
 * goes on while the partner is down, so what the partner reads when it
 * comes back (catch-up, streams) is decided. */
static void *decider_main(void *arg)
{
	struct fed_sender *s = arg;
	struct fed *f = s->f;
	thread_name("decide", s->name);
	while (!atomic_load(&f->stop) && !atomic_load(&s->quit)) {
		uint64_t n;
		bool full;
		int rc;
		bool ready = decide_turn(s, HEAD_ROWS, &n, &full, &rc);
		if (n > 0 && full) {
			/* this thread waits meanwhile: one decides at a time */
			pthread_t t;
			if (pthread_create(&t, NULL, backlog_main, s) == 0)
				pthread_join(t, NULL);
			continue;
		}
		if (rc != ST_OK || !ready) {
			nap(s, rc != ST_OK ? 1000 : 20);
			continue;
		}
		/* A read that reached the end of the log is not repeated at
		 * once (a second read transaction per version, for nothing):
		 * the wait returns at once for what came meanwhile. Commits
		 * of this process wake it at once; `strait import` (another
		 * process) is seen within 100 ms. */
		uint64_t cur = 0;
		fed_cursor_get(f->state, s->name, s->incarnation, FED_DECIDED,
			       &cur);
		store_wait_seq(f->cfg.store, cur, 100);
	}
	rows_free(&s->drows);
	return NULL;
}

/* Waits (up to ms) for the decider to decide more. */
static void wait_decided(struct fed_sender *s, uint64_t gen, unsigned ms)
{
	struct timespec dl;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_nsec += (long)ms * 1000000L;
	dl.tv_sec += dl.tv_nsec / 1000000000L;
	dl.tv_nsec %= 1000000000L;
	pthread_mutex_lock(&s->dmu);
	while (s->decided_gen == gen && !atomic_load(&s->f->stop) &&
	       pthread_cond_timedwait(&s->dcv, &s->dmu, &dl) == 0)
		;
	pthread_mutex_unlock(&s->dmu);
}

/* Publishes our newest audit head to the partner, which keeps it as a
 * witness. A partner without the endpoint (a plain TAXII server: 404) is
 * not asked again until this sender reconnects; other failures are tried
 * again after HEAD_RETRY_S. */
#define HEAD_RETRY_S 5.0
static void publish_head(struct fed_sender *s)
{
	struct fed *f = s->f;
	pthread_mutex_lock(&f->head_mu);
	uint64_t gen = f->head_gen;
	struct fed_witness h = f->head;
	pthread_mutex_unlock(&f->head_mu);
	if (gen == 0 || gen == s->head_sent || time_mono() < s->head_retry)
		return;
	struct buf b = BUF_INIT(1024);
	struct jw w;
	struct diag d;
	jw_init(&w, &b);
	fed_witness_json(&w, &h);
	char url[sizeof(s->c.origin) + 32];
	snprintf(url, sizeof(url), "%s/api/v1/audit/witness/", s->c.origin);
	int rc = jw_finish(&w);
	if (rc == ST_OK)
		rc = fc_request(&s->c, "POST", url, b.data, b.len, 4096,
				&s->resp, &d);
	long st = rc == ST_OK ? s->resp.status : 0;
	if (st == 201 || st == 200) {
		s->head_sent = gen;
	} else if (st == 404) {
		s->head_sent = gen;
		log_info("federation",
			 "peer %s does not keep audit heads (HTTP 404)",
			 s->name);
	} else {
		s->head_retry = time_mono() + HEAD_RETRY_S;
		log_warn("federation",
			 "peer %s: publishing audit head %llu: %s", s->name,
			 (unsigned long long)h.seq,
			 rc != ST_OK ? d.msg : "refused");
		if (rc == ST_OK && s->resp.body.data != NULL)
			log_warn("federation", "peer %s: HTTP %ld: %.200s",
				 s->name, st, s->resp.body.data);
	}
	buf_free(&b);
}

static void *sender_main(void *arg)
{
	struct fed_sender *s = arg;
	struct fed *f = s->f;
	thread_name("send", s->name);
	snprintf(s->incarnation, sizeof(s->incarnation), "%s",
		 store_incarnation(f->cfg.store));
	for (size_t k = 0; k < PUSH_DEPTH; k++) {
		buf_init(&s->push[k].env, (size_t)64 << 20);
		buf_init(&s->push[k].resp.body, (size_t)16 << 20);
	}
	buf_init(&s->resp.body,
		 f->cfg.max_response ? f->cfg.max_response : (size_t)64 << 20);
	if (pthread_create(&s->decider, NULL, decider_main, s) == 0)
		s->decider_started = true;
	else
		log_error("federation", "peer %s: cannot start its decider",
			  s->name);
	while (!atomic_load(&f->stop) && s->decider_started) {
		int lr = reload(s);
		if (lr == ST_ENOTFOUND)
			break; /* removed from the registry */
		if (lr != ST_OK) {
			nap(s, 1000);
			continue;
		}
		if (!s->connected) {
			if (connect_peer(s) != ST_OK) {
				backoff(s);
				continue;
			}
			s->backoff_ms = 0;
			/* the identity may just have been learnt */
			if (s->next_reload == 0 && reload(s) != ST_OK)
				continue;
		}
		/* Catch-up: feed peers never push, so they are read on
		 * connecting and every catchup_every_s. A strait partner's
		 * push to us may be broken while ours to it works: it is read
		 * when its pushes have not arrived for that long, and on
		 * connecting unless its pushes start within CATCHUP_GRACE_S
		 * (our calling it ends its backoff, fed_peer_contact). While
		 * they arrive, reading the same versions again would only
		 * double the work of both nodes. */
		double now = time_mono();
		unsigned every =
		    f->cfg.catchup_every_s ? f->cfg.catchup_every_s : 30;
		if (s->catchup_due) {
			s->catchup_due = false;
			s->next_catchup =
			    s->part_feed ? now : now + CATCHUP_GRACE_S;
		}
		if (now >= s->next_catchup) {
			s->next_catchup = now + every;
			uint64_t lp = atomic_load(&s->last_push_ms);
			bool pushing = !s->part_feed && lp != 0 &&
				       mono_ms() - lp < (uint64_t)every * 1000;
			if (!pushing && catchup(s) != ST_OK)
				s->connected = false;
		}
		publish_head(s);
		pthread_mutex_lock(&s->dmu);
		uint64_t gen = s->decided_gen;
		pthread_mutex_unlock(&s->dmu);
		uint64_t moved = 0;
		int rc = deliver(s, &moved);
		if (rc != ST_OK) {
			backoff(s);
			continue;
		}
		s->backoff_ms = 0;
		if (moved == 0)
			wait_decided(s, gen, 100);
	}
	atomic_store(&s->quit, true);
	if (s->decider_started)
		pthread_join(s->decider, NULL);
	for (size_t k = 0; k < PUSH_DEPTH; k++)
		push_free(&s->push[k]);
	buf_free(&s->resp.body);
	fc_close(&s->c);
	fed_partner_free(&s->part);
	atomic_store(&s->ended, true);
	return NULL;
}

/* Starts a sender for each registered peer that has none (the supervisor
 * runs this about once a second, so `strait peer add` takes effect on a
 * running node); joins those whose peer was removed. */
struct known {
	struct fed *f;
	char (*names)[PEER_NAME_MAX];
	size_t n, cap;
};

static int collect(void *ctx, const struct peer *p)
{
	struct known *k = ctx;
	if (k->n == k->cap) {
		size_t nc = k->cap ? k->cap * 2 : 8;
		char(*g)[PEER_NAME_MAX] = realloc(k->names, nc * sizeof(*g));
		if (g == NULL)
			return ST_ENOMEM;
		k->names = g;
		k->cap = nc;
	}
	snprintf(k->names[k->n++], PEER_NAME_MAX, "%s", p->name);
	return 0;
}

static void sender_free(struct fed_sender *s)
{
	pthread_mutex_destroy(&s->part_mu);
	pthread_mutex_destroy(&s->dmu);
	pthread_cond_destroy(&s->dcv);
	release_engine_free(s->eng);
	fed_facts_free(s->facts);
	free(s->direct);
	free(s);
}

static int start_sender(struct fed *f, const char *name)
{
	struct fed_sender *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return ST_ENOMEM;
	s->f = f;
	snprintf(s->name, sizeof(s->name), "%s", name);
	/* The peer may have been removed and added again by another
	 * process since this one last read its state. */
	fed_peer_reread(f->state, name);
	pthread_mutex_init(&s->part_mu, NULL);
	pthread_mutex_init(&s->dmu, NULL);
	pthread_cond_init(&s->dcv, NULL);
	s->facts = fed_facts_new(f->cfg.store, f->state);
	struct release_source src = fed_facts_source(s->facts);
	s->eng = s->facts ? release_engine_new(&src) : NULL;
	if (s->eng == NULL ||
	    pthread_create(&s->thread, NULL, sender_main, s) != 0) {
		sender_free(s);
		return ST_ENOMEM;
	}
	s->started = true;
	pthread_mutex_lock(&f->senders_mu);
	s->next = f->senders;
	f->senders = s;
	pthread_mutex_unlock(&f->senders_mu);
	log_info("federation", "peer %s: sender started", name);
	return ST_OK;
}

static void supervise(struct fed *f)
{
	struct known k = {f, NULL, 0, 0};
	struct diag d;
	pthread_mutex_lock(&f->peers_mu);
	int rc = peers_list(f->peers, collect, &k, &d);
	pthread_mutex_unlock(&f->peers_mu);
	if (rc != ST_OK) {
		free(k.names);
		return;
	}
	/* join the senders that ended (their peer was removed) */
	for (struct fed_sender **pp = &f->senders; *pp != NULL;) {
		struct fed_sender *s = *pp;
		if (atomic_load(&s->ended)) {
			pthread_join(s->thread, NULL);
			pthread_mutex_lock(&f->senders_mu);
			*pp = s->next;
			pthread_mutex_unlock(&f->senders_mu);
			log_info("federation", "peer %s: sender stopped",
				 s->name);
			sender_free(s);
			continue;
		}
		pp = &s->next;
	}
	for (size_t i = 0; i < k.n; i++) {
		bool have = false;
		for (struct fed_sender *s = f->senders; s && !have; s = s->next)
			have = strcmp(s->name, k.names[i]) == 0;
		if (!have)
			start_sender(f, k.names[i]);
	}
	free(k.names);
}

static void *supervisor_main(void *arg)
{
	struct fed *f = arg;
	thread_name("federation", NULL);
	while (!atomic_load(&f->stop)) {
		supervise(f);
		for (int i = 0; i < 10 && !atomic_load(&f->stop); i++) {
			struct timespec ts = {0, 100 * 1000000L};
			nanosleep(&ts, NULL);
			fedstate_checkpoint_due(f->state);
			fed_health_flush(f->state, false);
		}
	}
	return NULL;
}

int fed_senders_start(struct fed *f, struct diag *d)
{
	supervise(f);
	if (pthread_create(&f->supervisor, NULL, supervisor_main, f) != 0)
		return diag_set(d, ST_ENOMEM, "cannot start a thread");
	f->supervising = true;
	return ST_OK;
}

void fed_senders_stop(struct fed *f)
{
	atomic_store(&f->stop, true);
	if (f->supervising)
		pthread_join(f->supervisor, NULL);
	f->supervising = false;
	pthread_mutex_lock(&f->senders_mu);
	struct fed_sender *s = f->senders;
	f->senders = NULL;
	pthread_mutex_unlock(&f->senders_mu);
	while (s != NULL) {
		struct fed_sender *n = s->next;
		if (s->started)
			pthread_join(s->thread, NULL);
		sender_free(s);
		s = n;
	}
}
