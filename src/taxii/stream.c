/*
 * strait: the live stream of a collection as Server-Sent Events,
 * GET /api/v1/collections/{id}/stream/.
 *
 * Each event is one object version the account may read (the release
 * decision, exactly as the TAXII reads), in date_added order:
 *
 *   id: <cursor>
 *   event: object
 *   data: <the stored canonical JSON, one line>
 *
 * The cursor is a stream cursor (token.h): sealed under a key derived for
 * the account, the collection, the fixed filter "stream", the policy epoch
 * and the node incarnation, holding the event's date_added as its position
 * and expiring after the replay window. It is encrypted, so ids never show
 * how much hidden traffic passed between two events. Last-Event-ID (or ?from=)
 * resumes strictly after that position: date_added is strictly increasing
 * per collection, so there is no gap and no duplicate.
 *
 * The model is the HTTP core's: thread-per-connection, and the body comes
 * from a callback that libmicrohttpd calls only when it can send more, so a
 * subscriber never makes the server queue more than its own buffer
 * (stream_buffer, 1 MiB, a cap: the buffer grows as events need and is
 * given back after a burst). A version larger than that is sent in pieces read
 * again from the store. A consumer that stops reading leaves libmicrohttpd
 * waiting for the socket, and its connection timeout closes it. The
 * callback returns at least every SLICE_MS, so the server's stop flag is
 * seen quickly, and checks the account on every auth reload.
 *
 * Subscribers share the reads: the first one that needs the rows of a
 * collection after a position reads ONE page of every row (no release
 * decision) into an immutable, refcounted copy; the others that need the
 * same page (same collection, position, and a read no older than their
 * own high-water mark) wait for it and reuse it, each applying its own
 * release decision to the rows. Bodies larger than SHARE_BODY_MAX are not
 * copied: a subscriber that may see one reads on its own, as before.
 */
#include "taxii/taxii_int.h"

#include "common/log.h"
#include "common/time.h"
#include "common/wake.h"
#include "policy/policy.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The canonical filter string of every stream cursor: a TAXII next token
 * (whose filter text differs) is never a stream cursor, nor the reverse. */
#define STREAM_FILTER "stream"
/* Rows per store_page and the scan bound of one call. */
#define STREAM_PAGE 200
#define STREAM_SCAN 4000
/* Longest a callback call blocks (the core's stream_block_ms is 500). */
#define SLICE_MS 250
/* After this long without an event, a heartbeat also carries a fresh id,
 * so a quiet subscriber's cursor does not age out of the window. */
#define ID_REFRESH_FRACTION 4
/* Storage of the output buffer kept between bursts; more is freed. */
#define OUT_KEEP (16 * 1024)

/* ------------------------------------------------------------------ */
/* SSE formatting (pure)                                                */
/* ------------------------------------------------------------------ */

#define DATA_BREAK "\ndata: "

size_t sse_data_len(const char *p, size_t n)
{
	size_t len = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n')
			continue; /* CRLF is one break, counted at the LF */
		len +=
		    p[i] == '\r' || p[i] == '\n' ? sizeof(DATA_BREAK) - 1 : 1;
	}
	return len;
}

int sse_data_append(struct buf *b, const char *p, size_t n, bool *cr)
{
	size_t i = 0;
	if (n > 0 && *cr && p[0] == '\n')
		i = 1; /* the LF of a CRLF split between two pieces */
	*cr = false;
	while (i < n) {
		size_t run = i;
		while (run < n && p[run] != '\r' && p[run] != '\n')
			run++;
		if (run > i && buf_add(b, p + i, run - i) != ST_OK)
			return ST_ELIMIT;
		if (run == n)
			break;
		if (buf_adds(b, DATA_BREAK) != ST_OK)
			return ST_ELIMIT;
		if (p[run] == '\r') {
			if (run + 1 == n)
				*cr = true;
			else if (p[run + 1] == '\n')
				run++;
		}
		i = run + 1;
	}
	return ST_OK;
}

static bool has_break(const char *s)
{
	return strpbrk(s, "\r\n") != NULL;
}

int sse_event_append(struct buf *b, const char *id, const char *data, size_t n)
{
	if (has_break(id))
		return ST_EINVAL;
	size_t len0 = b->len;
	bool cr = false;
	if (buf_adds(b, "id: ") != ST_OK || buf_adds(b, id) != ST_OK ||
	    buf_adds(b, "\n" SSE_EVENT_HEAD) != ST_OK ||
	    sse_data_append(b, data, n, &cr) != ST_OK ||
	    buf_adds(b, "\n\n") != ST_OK) {
		b->len = len0;
		if (b->data != NULL)
			b->data[len0] = '\0';
		return ST_ELIMIT;
	}
	return ST_OK;
}

int sse_comment_append(struct buf *b, const char *text)
{
	if (has_break(text))
		return ST_EINVAL;
	return buf_printf(b, ": %s\n\n", text);
}

/* ------------------------------------------------------------------ */
/* Pages shared by subscribers                                          */
/* ------------------------------------------------------------------ */

/* Pages kept, how long an unused one is kept, the largest body copied
 * into a page and the bodies copied into one page. */
#define SHARE_SLOTS 64
#define SHARE_TTL_S 2.0
#define SHARE_BODY_MAX (256 * 1024)
#define SHARE_BYTES (1024 * 1024)

struct srow {
	uint64_t seq;
	st_time date_added, version;
	size_t id_off, body_off, body_len;
	size_t fmt_len; /* the SSE data field at body_off (body_len: raw) */
	uint8_t tlp, flags;
	bool has_body;
};

/* One page of a collection, every row, immutable once ready. */
struct spage {
	int64_t cid;
	st_time after; /* the page's position */
	st_time mark;  /* store_last_added() before the read */
	double born;
	unsigned refs;	/* subscribers holding it (the reader included) */
	wake_gen ready; /* 0 while being read; waiters sleep on it */
	int rc;
	struct srow *rows;
	size_t n, body_bytes;
	struct buf bytes; /* ids and bodies */
	st_time next;
	bool more;
};

struct stream_cache {
	pthread_mutex_t mu;
	struct spage *slot[SHARE_SLOTS];
};

struct stream_cache *stream_cache_new(void)
{
	struct stream_cache *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	if (pthread_mutex_init(&c->mu, NULL) != 0) {
		free(c);
		return NULL;
	}
	return c;
}

static void spage_free(struct spage *p)
{
	if (p == NULL)
		return;
	buf_free(&p->bytes);
	free(p->rows);
	free(p);
}

void stream_cache_free(struct stream_cache *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < SHARE_SLOTS; i++)
		spage_free(c->slot[i]);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

/* Drops the unused pages older than SHARE_TTL_S (the lock held). */
static void share_expire(struct stream_cache *c, double now)
{
	for (size_t i = 0; i < SHARE_SLOTS; i++) {
		struct spage *p = c->slot[i];
		if (p != NULL && p->refs == 0 && now - p->born > SHARE_TTL_S) {
			spage_free(p);
			c->slot[i] = NULL;
		}
	}
}

static void share_sweep(struct taxii *t)
{
	struct stream_cache *c = t->scache;
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	share_expire(c, time_mono());
	pthread_mutex_unlock(&c->mu);
}

/* Copies one row (in a read transaction: memory only). 1: the page is
 * full (this row not taken), 2: out of memory. */
static int fill_row(void *ctx, const struct store_row *row)
{
	struct spage *p = ctx;
	bool body = row->body != NULL && row->body_len <= SHARE_BODY_MAX;
	if (body && p->n > 0 &&
	    p->body_bytes + sse_data_len(row->body, row->body_len) >
		SHARE_BYTES)
		return 1;
	if (p->n == STREAM_PAGE)
		return 1;
	struct srow *r = &p->rows[p->n];
	r->seq = row->seq;
	r->date_added = row->date_added;
	r->version = row->version;
	r->tlp = row->tlp;
	r->flags = row->flags;
	r->body_len = row->body_len;
	r->has_body = body;
	r->id_off = p->bytes.len;
	if (buf_add(&p->bytes, row->id, strlen(row->id) + 1) != ST_OK)
		return 2;
	r->body_off = p->bytes.len;
	if (body) {
		/* The data field as every subscriber sends it. */
		bool cr = false;
		if (sse_data_append(&p->bytes, row->body, row->body_len, &cr) !=
		    ST_OK)
			return 2;
		r->fmt_len = p->bytes.len - r->body_off;
		p->body_bytes += r->fmt_len;
	}
	p->n++;
	return 0;
}

/* Reads the page (no lock held). */
static void spage_read(struct taxii *t, struct spage *p)
{
	struct store_page_query q;
	memset(&q, 0, sizeof(q));
	q.cid = p->cid;
	q.version.sel = STORE_VM_ALL;
	q.after = p->after;
	q.limit = STREAM_PAGE;
	q.visible = NULL;
	q.budget = STREAM_SCAN;
	q.scan_max = STREAM_SCAN;
	struct store_page_result res;
	struct diag d;
	int rc = store_page(t->cfg.store, &q, fill_row, p, &res, &d);
	if (rc < 0) {
		p->rc = rc;
	} else if (rc == 2) {
		p->rc = ST_ENOMEM;
	} else if (rc == 1) {
		p->next = p->rows[p->n - 1].date_added;
		p->more = true;
	} else {
		p->next = res.next > p->after ? res.next : p->after;
		p->more = res.more || res.capped;
	}
}

static void share_put(struct taxii *t, struct spage *p)
{
	struct stream_cache *c = t->scache;
	pthread_mutex_lock(&c->mu);
	p->refs--;
	pthread_mutex_unlock(&c->mu);
}

/*
 * The page of cid after `after`, read no earlier than when
 * store_last_added() was `mark`: one already read or being read, else
 * read now. NULL when none can be had (no slot, out of memory, a store
 * error): the caller then reads on its own. Give it back with share_put.
 */
static struct spage *share_get(struct taxii *t, int64_t cid, st_time after,
			       st_time mark)
{
	struct stream_cache *c = t->scache;
	struct spage *p = NULL;
	pthread_mutex_lock(&c->mu);
	share_expire(c, time_mono());
	int free_i = -1, old_i = -1;
	for (int i = 0; i < SHARE_SLOTS; i++) {
		struct spage *e = c->slot[i];
		if (e == NULL) {
			if (free_i < 0)
				free_i = i;
			continue;
		}
		if (e->cid == cid && e->after == after && e->mark >= mark &&
		    e->rc == ST_OK) {
			p = e;
			break;
		}
		if (e->refs == 0 &&
		    (old_i < 0 || e->born < c->slot[old_i]->born))
			old_i = i;
	}
	if (p != NULL) {
		p->refs++;
		pthread_mutex_unlock(&c->mu);
		/* Without the lock: the subscribers woken by one commit
		 * would otherwise all queue on it to re-lock. */
		while (wake_load(&p->ready) == 0)
			wake_wait(&p->ready, 0, -1);
		if (p->rc != ST_OK) {
			share_put(t, p);
			return NULL;
		}
		return p;
	}
	if (free_i < 0 && old_i >= 0) {
		spage_free(c->slot[old_i]);
		c->slot[old_i] = NULL;
		free_i = old_i;
	}
	if (free_i >= 0)
		p = calloc(1, sizeof(*p));
	if (p != NULL) {
		p->rows = calloc(STREAM_PAGE, sizeof(*p->rows));
		if (p->rows == NULL) {
			free(p);
			p = NULL;
		}
	}
	if (p == NULL) {
		pthread_mutex_unlock(&c->mu);
		return NULL;
	}
	p->cid = cid;
	p->after = after;
	p->mark = mark;
	p->born = time_mono();
	p->refs = 1;
	/* A body of SHARE_BODY_MAX grows by up to 7 bytes per line break
	 * in its data field. */
	buf_init(&p->bytes, SHARE_BYTES + 8 * (size_t)SHARE_BODY_MAX +
				STREAM_PAGE * (size_t)STIX_ID_MAX);
	c->slot[free_i] = p;
	pthread_mutex_unlock(&c->mu);

	spage_read(t, p);

	wake_all(&p->ready); /* after the page is written: it is the signal */
	if (p->rc != ST_OK) {
		share_put(t, p);
		return NULL;
	}
	return p;
}

/* ------------------------------------------------------------------ */
/* One subscriber                                                       */
/* ------------------------------------------------------------------ */

struct sub {
	struct taxii *t;
	struct http_server *srv;
	struct auth_account acct; /* a copy: the request's goes first */
	struct audience aud;
	const char *peer; /* a peer or liaison account: the partner whose
			     release decision it sees (taxii_partner_view) */
	struct taxii_fed_page rec; /* a partner's events of one scan, to be
				      recorded as released on "stream" */
	char coll_id[37];
	int64_t cid;
	uint8_t fhash[32];
	struct token_cursor_key ck; /* seals the event ids */
	uint64_t gen;		    /* auth_generation() when last checked */
	/* Every version the account may see with date_added <= pos has been
	 * put in out (or is the one being sent in pieces). */
	st_time pos;
	st_time mark;	/* store_last_added() before the last scan */
	bool rescan;	/* the last scan stopped early: scan again */
	struct buf out; /* what the next calls hand to libmicrohttpd */
	size_t off;	/* bytes of out already handed over */
	size_t cap;	/* soft cap of out (stream_buffer) */
	struct {	/* a version larger than cap, sent in pieces */
		bool on;
		char id[STIX_ID_MAX];
		st_time version;
		uint64_t seq;
		size_t len, off;
		bool cr;
	} big;
	bool direct;	   /* the next scan reads on its own (big row) */
	double last_write; /* time_mono() of the last bytes produced */
	double last_id;	   /* time_mono() of the last id sent */
	unsigned heartbeat_ms;
	double id_refresh_s;
};

static void sub_free(void *arg)
{
	struct sub *s = arg;
	if (s == NULL)
		return;
	atomic_fetch_sub(&s->t->streams, 1);
	buf_free(&s->out);
	token_cursor_key_wipe(&s->ck);
	sodium_memzero(&s->acct, sizeof(s->acct));
	free(s);
}

/* The binding of this subscriber's cursors (its key is derived from it
 * once, and again when the policy epoch moves). */
static int cursor_key(struct sub *s)
{
	struct token_claims c;
	memset(&c, 0, sizeof(c));
	c.account_id = s->acct.id;
	c.root_index = 0;
	c.collection_id = s->cid;
	memcpy(c.filter_hash, s->fhash, 32);
	c.policy_epoch = s->t->cfg.policy_epoch;
	memcpy(c.incarnation, s->t->incarnation, 16);
	return token_cursor_key_init(&s->ck, s->t->cfg.keys, &c);
}

/* A cursor for position pos into tok. */
static int cursor_make(struct sub *s, st_time pos, char tok[TOKEN_CURSOR_BUFSZ])
{
	if (s->ck.bind.policy_epoch != s->t->cfg.policy_epoch &&
	    cursor_key(s) != ST_OK)
		return ST_EINVAL;
	return token_cursor_encode(
	    &s->ck, pos, (int64_t)time(NULL) + s->t->cfg.stream_window_s, tok);
}

/*
 * Whether the account may go on: when the accounts changed since the last
 * look, the credential must still stand (not disabled, removed, revoked,
 * re-roled) and the collection still be readable; the audience of the
 * release decision is read again either way.
 */
static bool sub_allowed(struct sub *s)
{
	struct auth *a = s->t->cfg.auth;
	uint64_t g = auth_generation(a);
	if (g == s->gen)
		return true;
	s->gen = g;
	struct auth_account fresh;
	if (!auth_still_valid(a, &s->acct) ||
	    auth_user_get_id(a, s->acct.id, &fresh) != ST_OK || fresh.disabled)
		return false;
	s->acct.role = fresh.role;
	memcpy(s->acct.org, fresh.org, sizeof(s->acct.org));
	sodium_memzero(&fresh, sizeof(fresh));
	if (!(auth_access(a, &s->acct, s->coll_id) & AUTH_ACCESS_READ))
		return false;
	auth_audience(&s->acct, s->t->node_org, &s->aud);
	s->peer = taxii_partner_view(s->t, &s->acct);
	return true;
}

/* What a scan's row callback reports. */
enum {
	TAKE_FULL = 1, /* taken, and out is full: stop */
	TAKE_NOROOM,   /* not taken: no room left in out */
	TAKE_ERROR,    /* a cursor could not be made */
};

struct scan {
	struct sub *s;
	size_t taken;
	st_time last; /* date_added of the last row taken */
};

/* Copies one visible row into out as an event (in a read transaction:
 * memory only, no blocking). */
static int take_event(struct scan *sc, const struct store_row *row,
		      const char *fmt, size_t fmt_len)
{
	struct sub *s = sc->s;
	char tok[TOKEN_CURSOR_BUFSZ];
	size_t need =
	    4 + TOKEN_CURSOR_LEN + 1 + strlen(SSE_EVENT_HEAD) +
	    (fmt != NULL ? fmt_len : sse_data_len(row->body, row->body_len)) +
	    2;

	if (s->out.len + need > s->cap && sc->taken > 0)
		return TAKE_NOROOM;
	if (cursor_make(s, row->date_added, tok) != ST_OK)
		return TAKE_ERROR;
	if (s->rec.peer != NULL && taxii_fed_page_add(&s->rec, row) != ST_OK)
		return TAKE_ERROR;
	if (s->out.len + need > s->cap) {
		/* Larger than the buffer: the head now, the data in pieces
		 * read again from the store (sub_big). */
		if (buf_printf(&s->out, "id: %s\n" SSE_EVENT_HEAD, tok) !=
		    ST_OK)
			return TAKE_ERROR;
		s->big.on = true;
		snprintf(s->big.id, sizeof(s->big.id), "%s", row->id);
		s->big.version = row->version;
		s->big.seq = row->seq;
		s->big.len = row->body_len;
		s->big.off = 0;
		s->big.cr = false;
	} else if (fmt != NULL) {
		size_t len0 = s->out.len;
		if (buf_adds(&s->out, "id: ") != ST_OK ||
		    buf_adds(&s->out, tok) != ST_OK ||
		    buf_adds(&s->out, "\n" SSE_EVENT_HEAD) != ST_OK ||
		    buf_add(&s->out, fmt, fmt_len) != ST_OK ||
		    buf_adds(&s->out, "\n\n") != ST_OK) {
			s->out.len = len0;
			if (s->out.data != NULL)
				s->out.data[len0] = '\0';
			return TAKE_ERROR;
		}
	} else if (sse_event_append(&s->out, tok, row->body, row->body_len) !=
		   ST_OK) {
		return TAKE_ERROR;
	}
	sc->taken++;
	sc->last = row->date_added;
	atomic_fetch_add(&s->t->stream_events, 1);
	return s->big.on || s->out.len >= s->cap ? TAKE_FULL : 0;
}

/* The store_row_fn of a scan read alone. */
static int take_row(void *ctx, const struct store_row *row)
{
	return take_event(ctx, row, NULL, 0);
}

/* The release decision for this subscriber: a partner's account sees
 * what was released to its node (the materialised decision). */
static bool sub_visible(void *ctx, const struct store_row *row)
{
	const struct sub *s = ctx;
	if (s->peer != NULL)
		return fed_peer_visible(s->t->cfg.fed, s->peer, row);
	return taxii_visible((void *)&s->aud, row);
}

/* One bounded scan of the collection after pos, read by this subscriber
 * alone. ST_OK or an error (the stream then ends). */
static int sub_scan_direct(struct sub *s)
{
	struct store_page_query q;
	memset(&q, 0, sizeof(q));
	q.cid = s->cid;
	q.version.sel = STORE_VM_ALL;
	q.after = s->pos;
	q.limit = STREAM_PAGE;
	q.visible = sub_visible;
	q.visible_ctx = s;
	q.budget = STREAM_SCAN;
	q.scan_max = STREAM_SCAN;
	struct scan sc = {s, 0, 0};
	struct store_page_result res;
	struct diag d;
	s->mark = store_last_added(s->t->cfg.store);
	int rc = store_page(s->t->cfg.store, &q, take_row, &sc, &res, &d);
	if (rc < 0) {
		log_warn("stream", "collection %s: %s", s->coll_id, d.msg);
		return rc;
	}
	if (rc == TAKE_ERROR)
		return ST_ENOMEM;
	if (rc == TAKE_FULL || rc == TAKE_NOROOM) {
		s->pos = sc.last;
		s->rescan = true;
	} else {
		s->pos = res.next > s->pos ? res.next : s->pos;
		s->rescan = res.more || res.capped;
	}
	return ST_OK;
}

/* One bounded scan of the collection after pos from a shared page, each
 * row under this account's release decision. ST_OK or an error. */
static int sub_scan_page(struct sub *s)
{
	/* A partner's rows are visible once its sender decided them: wait
	 * (briefly) for the decisions to reach what is committed, so that
	 * the scan does not pass rows not decided yet. */
	if (s->peer != NULL)
		fed_wait_decided(s->t->cfg.fed, s->peer,
				 store_last_seq(s->t->cfg.store), 2000);
	if (s->direct || s->t->scache == NULL) {
		s->direct = false;
		return sub_scan_direct(s);
	}
	st_time m = store_last_added(s->t->cfg.store);
	struct spage *p = share_get(s->t, s->cid, s->pos, m);
	if (p == NULL)
		return sub_scan_direct(s);
	s->mark = p->mark; /* >= m: the page saw every commit up to it */
	struct scan sc = {s, 0, 0};
	st_time done = s->pos; /* every row up to it is handled */
	int rc = 0;
	size_t i;
	for (i = 0; i < p->n; i++) {
		const struct srow *r = &p->rows[i];
		struct store_row row;
		memset(&row, 0, sizeof(row));
		row.seq = r->seq;
		row.date_added = r->date_added;
		row.version = r->version;
		row.id = p->bytes.data + r->id_off;
		row.body = NULL; /* the data field below instead */
		row.body_len = r->body_len;
		row.tlp = r->tlp;
		row.flags = r->flags;
		row.spec_version = STORE_SPEC_VERSION;
		if (!sub_visible(s, &row)) {
			done = r->date_added;
			continue;
		}
		if (!r->has_body) {
			s->direct = true; /* not copied: read it alone */
			break;
		}
		rc = take_event(&sc, &row, p->bytes.data + r->body_off,
				r->fmt_len);
		if (rc == TAKE_NOROOM || rc == TAKE_ERROR)
			break;
		done = r->date_added;
		if (rc == TAKE_FULL)
			break;
	}
	bool all = i == p->n;
	st_time next = p->next;
	bool more = p->more;
	share_put(s->t, p);
	if (rc == TAKE_ERROR)
		return ST_ENOMEM;
	if (all) {
		s->pos = next > s->pos ? next : s->pos;
		s->rescan = more;
	} else {
		s->pos = done;
		s->rescan = true;
	}
	return ST_OK;
}

/* One scan; what it gives a peer or liaison account is recorded in the
 * audit log and as released to the partner (path "stream"), like every
 * other way out. When the audit log cannot record it, nothing of the scan
 * is sent and the stream ends. */
static int sub_scan(struct sub *s)
{
	struct diag d;
	size_t before = s->out.len;
	taxii_fed_page_init(&s->rec, s->t, &s->acct, "stream", s->coll_id,
			    false);
	int rc = sub_scan_page(s);
	if (rc == ST_OK && s->rec.peer != NULL && s->rec.n > 0 &&
	    (rc = taxii_fed_page_finish(&s->rec, s->t, NULL, &d)) != ST_OK) {
		log_warn("stream", "%s: %s", s->acct.name, d.msg);
		s->out.len = before;
		s->big.on = false;
	}
	taxii_fed_page_free(&s->rec);
	return rc;
}

struct piece {
	struct sub *s;
	size_t n; /* bytes of the body taken */
	bool found;
};

/* Copies as much of the rest of the big version as fits in the buffer. */
static int take_piece(void *ctx, const struct store_row *row)
{
	struct piece *p = ctx;
	struct sub *s = p->s;
	if (row->seq != s->big.seq || row->body_len != s->big.len)
		return 1;
	p->found = true;
	const char *b = row->body + s->big.off;
	size_t left = s->big.len - s->big.off, room = s->cap, n = 0, out = 0;
	while (n < left) {
		size_t w =
		    b[n] == '\r' || b[n] == '\n' ? sizeof(DATA_BREAK) - 1 : 1;
		if (out + w > room)
			break;
		out += w;
		n++;
	}
	if (n == 0)
		n = 1; /* room is far above one break */
	if (sse_data_append(&s->out, b, n, &s->big.cr) != ST_OK)
		return 1;
	p->n = n;
	return 0;
}

/* The next piece of a version larger than the buffer, read again from
 * the log (versions are never changed nor dropped from it). */
static int sub_big(struct sub *s)
{
	struct piece p = {s, 0, false};
	struct store_query q;
	memset(&q, 0, sizeof(q));
	q.id = s->big.id;
	q.vsel = STORE_V_AT;
	q.at = s->big.version;
	q.limit = 1;
	struct diag d;
	int rc = store_query(s->t->cfg.store, &q, take_piece, &p, NULL, &d);
	if (rc != ST_OK || !p.found)
		return rc < 0 ? rc : ST_ESTORE;
	s->big.off += p.n;
	if (s->big.off == s->big.len) {
		s->big.on = false;
		if (buf_adds(&s->out, "\n\n") != ST_OK)
			return ST_ELIMIT;
	}
	return ST_OK;
}

static void heartbeat(struct sub *s, double now)
{
	share_sweep(s->t);
	sse_comment_append(&s->out, "keepalive");
	if (now - s->last_id < s->id_refresh_s)
		return;
	/* An id without data updates the client's last event id and
	 * dispatches nothing (the SSE processing model). Heartbeats come
	 * from silence alone, so hidden traffic does not change when. */
	char tok[TOKEN_CURSOR_BUFSZ];
	if (cursor_make(s, s->pos, tok) == ST_OK) {
		buf_printf(&s->out, "id: %s\n\n", tok);
		s->last_id = now;
	}
}

/* Hands buffered bytes over; 0 when there are none. */
static size_t drain(struct sub *s, char *out, size_t max)
{
	size_t n = s->out.len - s->off;
	if (n == 0)
		return 0;
	if (n > max)
		n = max;
	memcpy(out, s->out.data + s->off, n);
	s->off += n;
	if (s->off == s->out.len) {
		/* The buffer grows as events need (from 256 bytes up to
		 * about twice stream_buffer); once a burst is handed over, a
		 * large one is given back, so a thousand quiet subscribers
		 * do not each keep their peak. */
		if (s->out.cap > OUT_KEEP)
			buf_free(&s->out);
		else
			buf_reset(&s->out);
		s->off = 0;
	}
	s->last_write = time_mono();
	return n;
}

/* The http_stream_fn: see http.h. Blocks at most about SLICE_MS. */
static ssize_t sub_read(void *arg, char *out, size_t max)
{
	struct sub *s = arg;
	struct store *st = s->t->cfg.store;
	double t0 = time_mono();
	for (;;) {
		size_t n = drain(s, out, max);
		if (n > 0)
			return (ssize_t)n;
		if (http_server_stopping(s->srv))
			return HTTP_STREAM_END;
		if (s->big.on) {
			if (sub_big(s) != ST_OK)
				return HTTP_STREAM_ERROR;
			continue;
		}
		if (!sub_allowed(s)) {
			atomic_fetch_add(&s->t->stream_revoked, 1);
			return HTTP_STREAM_END;
		}
		if (s->rescan || store_last_added(st) > s->mark) {
			if (sub_scan(s) != ST_OK)
				return HTTP_STREAM_ERROR;
			if (s->out.len > 0 || s->big.on)
				continue;
		}
		double now = time_mono();
		double idle_ms = (now - s->last_write) * 1e3;
		if (idle_ms >= s->heartbeat_ms) {
			heartbeat(s, now);
			continue;
		}
		double left = SLICE_MS - (now - t0) * 1e3;
		if (left <= 0)
			return 0;
		if (s->rescan)
			continue; /* more to scan; the slice bounds it */
		double wait = s->heartbeat_ms - idle_ms;
		if (wait > left)
			wait = left;
		store_wait_added(st, s->mark, wait < 1 ? 1 : (int)wait);
	}
}

/* ------------------------------------------------------------------ */
/* The handler                                                          */
/* ------------------------------------------------------------------ */

/* Where the stream starts: Last-Event-ID, else ?from=, else now. */
static int start_position(struct http_request *req, struct http_response *resp,
			  const struct sub *s, st_time *pos)
{
	struct taxii *t = s->t;
	const char *from = http_header(req, "Last-Event-ID");
	if (from == NULL || *from == '\0')
		from = http_query_get(&req->query, "from");
	if (from == NULL || strcmp(from, "now") == 0) {
		*pos = store_last_added(t->cfg.store);
		return ST_OK;
	}
	if (strcmp(from, "start") == 0) {
		*pos = 0;
		return ST_OK;
	}
	struct token_expect want;
	memset(&want, 0, sizeof(want));
	want.account_id = s->acct.id;
	want.root_index = 0;
	want.collection_id = s->cid;
	memcpy(want.filter_hash, s->fhash, 32);
	want.policy_epoch = t->cfg.policy_epoch;
	memcpy(want.incarnation, t->incarnation, 16);
	int64_t at = 0;
	if (token_cursor_decode(t->cfg.keys, from, strlen(from), &want, &at) !=
	    TOKEN_OK) {
		http_error(resp, 400, "Invalid cursor",
			   "the event id is not valid for this stream "
			   "(expired, altered or issued for another stream); "
			   "reconnect without it, or with from=start");
		return ST_EINVAL;
	}
	*pos = at;
	return ST_OK;
}

int taxii_h_stream(struct http_request *req, struct http_response *resp)
{
	struct taxii *t = req->ctx;
	const struct auth_account *acct = req->account;
	struct store_collection c;
	if (taxii_collection_for(req, resp, AUTH_ACCESS_READ, &c, NULL) !=
	    ST_OK)
		return ST_OK;
	const char *accept = http_header(req, "Accept");
	if (!http_accepts(accept, accept ? strlen(accept) : 0,
			  "text/event-stream", NULL))
		return http_error(resp, 406, NULL,
				  "the response is text/event-stream");

	struct sub *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return http_error(resp, 503, NULL, NULL);
	s->t = t;
	s->srv = req->server;
	s->acct = *acct;
	s->cid = c.cid;
	memcpy(s->coll_id, c.id, sizeof(s->coll_id));
	token_filter_hash(STREAM_FILTER, strlen(STREAM_FILTER), s->fhash);
	if (cursor_key(s) != ST_OK) {
		free(s);
		return http_error(resp, 503, NULL, NULL);
	}
	auth_audience(&s->acct, t->node_org, &s->aud);
	s->peer = taxii_partner_view(t, &s->acct);
	s->gen = auth_generation(t->cfg.auth);
	s->cap = t->cfg.stream_buffer;
	/* The cap is soft for one event's head and for what a line break
	 * adds to one piece: room for both. */
	buf_init(&s->out, s->cap + s->cap + 4096);
	s->heartbeat_ms = t->cfg.stream_heartbeat_ms;
	s->id_refresh_s = (double)t->cfg.stream_window_s / ID_REFRESH_FRACTION;

	int rc = start_position(req, resp, s, &s->pos);
	if (rc != ST_OK)
		goto fail;
	char key[48];
	snprintf(key, sizeof(key), "stream:%lld", (long long)acct->id);
	if (http_account_enter(req, resp, key, t->cfg.stream_account_max) !=
	    ST_OK)
		goto fail; /* 429 (or 503) is in resp */
	if (atomic_fetch_add(&t->streams, 1) >= t->cfg.stream_max) {
		atomic_fetch_sub(&t->streams, 1);
		resp->retry_after_s = 5;
		http_error(resp, 503, "Too many streams",
			   "the node serves as many streams as it can; try "
			   "again later");
		goto fail;
	}
	/* From here the stream counts: sub_free gives the slot back. */
	s->mark = store_last_added(t->cfg.store);
	s->rescan = true;
	s->last_write = s->last_id = time_mono();
	/* A first comment, so the client has the headers and knows the
	 * subscription is in place. */
	sse_comment_append(&s->out, "stream open");
	http_response_header(resp, "Cache-Control", "no-store");
	http_response_header(resp, "X-Accel-Buffering", "no");
	if (req->method == HTTP_HEAD) {
		sub_free(s);
		resp->status = 200;
		resp->content_type = "text/event-stream";
		return ST_OK;
	}
	http_response_stream(resp, 200, "text/event-stream", sub_read, s,
			     sub_free);
	return ST_OK;
fail:
	buf_free(&s->out);
	token_cursor_key_wipe(&s->ck);
	sodium_memzero(&s->acct, sizeof(s->acct));
	free(s);
	return ST_OK;
}
