/*
 * strait: the audit writer; see writer.h.
 *
 * One queue under one mutex. A waiting caller's entry lives on the
 * caller's heap until the writer marks it done; a queued entry belongs to
 * the writer once it is in the queue. Entries are appended in the order
 * they were queued.
 */
#include "audit/writer.h"

#include "common/log.h"
#include "common/time.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#define RETRY_MS 1000
#define LOST_LOG_S 10.0

struct entry {
	struct entry *next;
	struct audit_new ev; /* strings point into text[] */
	bool wait, done;
	int rc;
	char text[];
};

struct audit_writer {
	struct audit_writer_cfg cfg;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t work; /* the writer waits on it */
	pthread_cond_t done; /* waiting callers wait on it */
	pthread_mutex_t sign_mu;
	struct entry *head, *tail;
	size_t queued;
	bool stop, failing;
	bool unsigned_events; /* appended since the last head */
	double lost_logged;   /* time_mono() of the last "lost" message */
	struct audit_writer_stats st;
};

static struct entry *entry_new(const char *kind, const char *actor,
			       const char *detail, bool wait)
{
	size_t kl = strlen(kind) + 1, al = strlen(actor) + 1,
	       dl = strlen(detail) + 1;
	struct entry *e = malloc(sizeof(*e) + kl + al + dl);
	if (e == NULL)
		return NULL;
	memset(e, 0, sizeof(*e));
	memcpy(e->text, kind, kl);
	memcpy(e->text + kl, actor, al);
	memcpy(e->text + kl + al, detail, dl);
	e->ev.at = time_now();
	e->ev.kind = e->text;
	e->ev.actor = e->text + kl;
	e->ev.detail = e->text + kl + al;
	e->wait = wait;
	return e;
}

static void deadline_in(struct timespec *ts, unsigned ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Signs a head when events were added since the last one; called without
 * w->mu. */
static int sign(struct audit_writer *w, struct diag *d)
{
	pthread_mutex_lock(&w->sign_mu);
	pthread_mutex_lock(&w->mu);
	bool due = w->unsigned_events && w->cfg.keys != NULL;
	w->unsigned_events = false;
	pthread_mutex_unlock(&w->mu);
	int rc = ST_OK;
	struct audit_head h;
	if (due) {
		rc =
		    audit_sign_head(w->cfg.log, w->cfg.keys, time_now(), &h, d);
		pthread_mutex_lock(&w->mu);
		if (rc == ST_OK)
			w->st.heads++;
		else
			w->unsigned_events = true; /* try again later */
		pthread_mutex_unlock(&w->mu);
	}
	if (due && rc == ST_OK && w->cfg.on_head != NULL)
		w->cfg.on_head(w->cfg.on_head_ctx, &h);
	pthread_mutex_unlock(&w->sign_mu);
	return rc;
}

/* Appends up to AUDIT_BATCH_MAX entries from the front of the queue;
 * called with w->mu held, which it releases while writing. */
static void write_batch(struct audit_writer *w)
{
	struct entry *batch = w->head, *last = batch;
	size_t n = 1;
	while (n < AUDIT_BATCH_MAX && last->next != NULL) {
		last = last->next;
		n++;
	}
	w->head = last->next;
	if (w->head == NULL)
		w->tail = NULL;
	last->next = NULL;
	pthread_mutex_unlock(&w->mu);

	struct diag d;
	int rc = ST_ENOMEM;
	struct audit_new *ev = malloc(n * sizeof(*ev));
	if (ev != NULL) {
		size_t i = 0;
		for (struct entry *e = batch; e != NULL; e = e->next)
			ev[i++] = e->ev;
		rc = audit_append_batch(w->cfg.log, ev, n, NULL, &d);
		free(ev);
	} else {
		diag_set(&d, ST_ENOMEM, "out of memory");
	}

	pthread_mutex_lock(&w->mu);
	if (rc == ST_OK) {
		if (w->failing)
			log_warn("audit", "the audit log is written again");
		w->failing = false;
		w->unsigned_events = true;
		w->st.events += n;
		w->st.batches++;
	} else {
		if (!w->failing)
			log_error("audit",
				  "cannot write the audit log (%s): reads and "
				  "pushes of partner and liaison accounts are "
				  "refused until it can",
				  d.msg);
		w->failing = true;
		w->st.failures++;
	}
	/* Waiting callers learn the outcome; queued entries that failed go
	 * back to the front, in order, to be tried again. */
	struct entry *keep = NULL, *klast = NULL;
	for (struct entry *e = batch, *next; e != NULL; e = next) {
		next = e->next;
		if (e->wait) {
			e->rc = rc == ST_OK ? ST_OK : ST_EIO;
			e->done = true;
			w->queued--;
		} else if (rc == ST_OK) {
			free(e);
			w->queued--;
		} else {
			e->next = NULL;
			if (klast != NULL)
				klast->next = e;
			else
				keep = e;
			klast = e;
		}
	}
	if (keep != NULL) {
		klast->next = w->head;
		if (w->head == NULL)
			w->tail = klast;
		w->head = keep;
	}
	pthread_cond_broadcast(&w->done);
}

static void *run(void *arg)
{
	struct audit_writer *w = arg;
	prctl(PR_SET_NAME, "audit", 0, 0, 0);
	unsigned every =
	    w->cfg.head_interval_ms ? w->cfg.head_interval_ms : 60000;
	double next_head = time_mono() + every / 1e3;
	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (w->head == NULL && !w->stop && time_mono() < next_head) {
			struct timespec ts;
			double left = next_head - time_mono();
			deadline_in(&ts,
				    left > 0 ? (unsigned)(left * 1e3) + 1 : 1);
			pthread_cond_timedwait(&w->work, &w->mu, &ts);
		}
		if (w->head != NULL) {
			write_batch(w);
			if (w->failing && w->head != NULL) {
				if (w->stop)
					break;
				struct timespec ts;
				deadline_in(&ts, RETRY_MS);
				pthread_cond_timedwait(&w->work, &w->mu, &ts);
			}
			continue;
		}
		if (w->stop)
			break;
		pthread_mutex_unlock(&w->mu);
		struct diag d;
		if (sign(w, &d) != ST_OK)
			log_warn("audit", "signing a head: %s", d.msg);
		next_head = time_mono() + every / 1e3;
		pthread_mutex_lock(&w->mu);
	}
	/* Stopping while the log cannot be written: what is left is lost,
	 * and said so. */
	size_t left = 0;
	for (struct entry *e = w->head, *next; e != NULL; e = next) {
		next = e->next;
		left++;
		if (e->wait) {
			e->rc = ST_EIO;
			e->done = true;
		} else {
			free(e);
		}
	}
	w->head = w->tail = NULL;
	w->queued = 0;
	w->st.lost += left;
	pthread_cond_broadcast(&w->done);
	pthread_mutex_unlock(&w->mu);
	if (left > 0)
		log_error("audit",
			  "%zu events could not be written to the audit log "
			  "before stopping",
			  left);
	struct diag d;
	if (sign(w, &d) != ST_OK)
		log_warn("audit", "signing the last head: %s", d.msg);
	return NULL;
}

int audit_writer_start(const struct audit_writer_cfg *cfg,
		       struct audit_writer **out, struct diag *d)
{
	*out = NULL;
	struct audit_writer *w = calloc(1, sizeof(*w));
	if (w == NULL)
		return diag_set(d, ST_ENOMEM, "out of memory");
	w->cfg = *cfg;
	pthread_mutex_init(&w->mu, NULL);
	pthread_mutex_init(&w->sign_mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->work, &ca);
	pthread_cond_init(&w->done, &ca);
	pthread_condattr_destroy(&ca);
	w->lost_logged = -LOST_LOG_S;
	if (pthread_create(&w->thread, NULL, run, w) != 0) {
		pthread_cond_destroy(&w->work);
		pthread_cond_destroy(&w->done);
		pthread_mutex_destroy(&w->mu);
		pthread_mutex_destroy(&w->sign_mu);
		free(w);
		return diag_set(d, ST_EIO, "audit: cannot start the writer");
	}
	*out = w;
	return ST_OK;
}

void audit_writer_stop(struct audit_writer *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_signal(&w->work);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->work);
	pthread_cond_destroy(&w->done);
	pthread_mutex_destroy(&w->mu);
	pthread_mutex_destroy(&w->sign_mu);
	free(w);
}

int audit_record(struct audit_writer *w, const char *kind, const char *actor,
		 const char *detail, bool wait)
{
	struct diag d;
	if (w == NULL)
		return ST_EIO;
	int rc = audit_check_event(kind, actor, detail, &d);
	if (rc != ST_OK) {
		log_warn("audit", "event refused: %s", d.msg);
		return rc;
	}
	struct entry *e = entry_new(kind, actor, detail, wait);
	if (e == NULL)
		return ST_ENOMEM;
	pthread_mutex_lock(&w->mu);
	if (w->stop || (!wait && w->queued >= AUDIT_QUEUE_MAX)) {
		w->st.lost++;
		double now = time_mono();
		bool say = now - w->lost_logged >= LOST_LOG_S;
		if (say)
			w->lost_logged = now;
		uint64_t lost = w->st.lost;
		pthread_mutex_unlock(&w->mu);
		if (say)
			log_error("audit",
				  "audit queue full or stopped: event %s of "
				  "%s not recorded (%llu lost so far)",
				  kind, actor, (unsigned long long)lost);
		free(e);
		return ST_ELIMIT;
	}
	if (w->tail != NULL)
		w->tail->next = e;
	else
		w->head = e;
	w->tail = e;
	w->queued++;
	pthread_cond_signal(&w->work);
	if (!wait) {
		pthread_mutex_unlock(&w->mu);
		return ST_OK;
	}
	while (!e->done)
		pthread_cond_wait(&w->done, &w->mu);
	pthread_mutex_unlock(&w->mu);
	rc = e->rc;
	free(e);
	return rc;
}

bool audit_writer_ok(struct audit_writer *w)
{
	if (w == NULL)
		return false;
	pthread_mutex_lock(&w->mu);
	bool ok = !w->failing;
	pthread_mutex_unlock(&w->mu);
	return ok;
}

int audit_writer_sign(struct audit_writer *w, struct diag *d)
{
	return sign(w, d);
}

void audit_writer_stats(struct audit_writer *w, struct audit_writer_stats *out)
{
	pthread_mutex_lock(&w->mu);
	*out = w->st;
	out->failing = w->failing;
	pthread_mutex_unlock(&w->mu);
}
