/*
 * strait: the lookup index in `strait serve`; see lookup.h.
 */
#include "lookup/lookup.h"

#include "common/log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/prctl.h>
#include <unistd.h>

/*
 * When the indexer works. It runs at normal priority: at a low one (it
 * was nice 19) it was preempted while holding what the whole file system
 * shares (a journal handle in the middle of a write, the process's memory
 * map in mprotect), and every writer of the node, the hotline's among
 * them, waited for it: FLASH delays of 100-300 ms under a bulk
 * replication (bench/RESULTS.md). Instead it stays out of the way of a
 * bulk: while versions arrive at BUSY_RATE a second or more (a bulk
 * import or replication), the indexer waits until the store has been
 * quiet for QUIET_MS, or until its lag is MAX_LAG_MS old, and then
 * indexes to the end, CHUNK versions at a time, resting DUTY_REST times
 * as long as each chunk took while more than CHUNK wait (a quarter of a
 * core at most). What arrives slowly is indexed at once. Lookups
 * meanwhile answer from what is indexed.
 */
#define CHUNK 500
#define DUTY_REST 3
#define BUSY_RATE 1000
#define QUIET_MS 500
#define MAX_LAG_MS 30000
/* How often the store's head is looked at while a backlog waits. */
#define WATCH_MS 100

struct lk_service {
	struct lk_index *x;
	struct store *st;
	pthread_mutex_t mu; /* x */
	pthread_t th;
	atomic_bool stop;
};

static double mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void *indexer(void *arg)
{
	struct lk_service *s = arg;
	prctl(PR_SET_NAME, "lookup-index", 0, 0, 0);
	uint64_t seen = 0, head = 0, win_head = 0;
	double moved = mono_ms(), behind_since = 0, win_start = moved;
	double rate = 0; /* versions a second over the last window */
	bool failing = false;
	while (!atomic_load(&s->stop)) {
		struct store_stats ss;
		if (store_stats(s->st, &ss) == ST_OK && ss.last_seq != head) {
			head = ss.last_seq;
			moved = mono_ms();
		}
		pthread_mutex_lock(&s->mu);
		uint64_t at = lk_indexed(s->x);
		pthread_mutex_unlock(&s->mu);
		double now = mono_ms();
		if (now - win_start >= 1000) {
			rate =
			    (double)(head - win_head) * 1e3 / (now - win_start);
			win_head = head;
			win_start = now;
		}
		if (at >= head) {
			behind_since = 0;
		} else {
			if (behind_since == 0)
				behind_since = now;
			bool busy = rate >= BUSY_RATE && now - moved < QUIET_MS;
			bool go = !busy || now - behind_since >= MAX_LAG_MS;
			if (!go) {
				store_wait_seq(s->st, store_last_seq(s->st),
					       WATCH_MS);
				continue;
			}
		}
		uint64_t added = 0;
		struct diag d;
		double t0 = mono_ms();
		pthread_mutex_lock(&s->mu);
		int rc = lk_catch_up_some(s->x, CHUNK, &added, &d);
		at = lk_indexed(s->x);
		pthread_mutex_unlock(&s->mu);
		if (added == CHUNK && head > at + CHUNK) {
			double took = mono_ms() - t0;
			unsigned rest = (unsigned)(took * DUTY_REST) + 1;
			store_wait_seq(s->st, UINT64_MAX, (int)rest);
		}
		if (rc != ST_OK && !failing)
			log_warn("lookup",
				 "indexing: %s (retried every "
				 "second)",
				 d.msg);
		else if (rc == ST_OK && failing)
			log_info("lookup", "indexing works again");
		failing = rc != ST_OK;
		if (rc == ST_OK && added > 0)
			continue; /* more may be waiting */
		/* our own commits wake us; other processes' within 1 s */
		seen = at > seen ? at : seen;
		store_wait_seq(s->st, seen, 1000);
	}
	return NULL;
}

int lk_service_start(const char *home, struct store *st,
		     struct lk_service **out, struct diag *d)
{
	*out = NULL;
	struct lk_service *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return diag_set(d, ST_ENOMEM, "out of memory");
	s->st = st;
	int rc = lk_open(home, st, &s->x, d);
	if (rc != ST_OK) {
		free(s);
		return rc;
	}
	pthread_mutex_init(&s->mu, NULL);
	atomic_init(&s->stop, false);
	if (pthread_create(&s->th, NULL, indexer, s) != 0) {
		lk_close(s->x);
		pthread_mutex_destroy(&s->mu);
		free(s);
		return diag_set(d, ST_EIO, "lookup: no thread");
	}
	*out = s;
	return ST_OK;
}

void lk_service_stop(struct lk_service *s)
{
	if (s == NULL)
		return;
	atomic_store(&s->stop, true);
	pthread_join(s->th, NULL);
	lk_close(s->x);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

int lk_service_report(struct lk_service *s, const struct lk_value *v,
		      const char *self, lk_visible_fn vis, void *vis_ctx,
		      size_t max, struct jw *w, struct diag *d)
{
	pthread_mutex_lock(&s->mu);
	int rc = lk_report_json(s->x, s->st, v, self, vis, vis_ctx, max, w, d);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int lk_service_search(struct lk_service *s, const char *q, const char *self,
		      lk_visible_fn vis, void *vis_ctx, size_t max,
		      struct jw *w, struct diag *d)
{
	pthread_mutex_lock(&s->mu);
	int rc = lk_search_json(s->x, q, self, vis, vis_ctx, max, w, d);
	pthread_mutex_unlock(&s->mu);
	return rc;
}
