/*
 * strait: the lookup index in `strait serve`; see lookup.h.
 */
#define _DEFAULT_SOURCE /* syscall(SYS_gettid) */
#include "lookup/lookup.h"

#include "common/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The nice value of the indexer thread: what the node takes in and
 * serves, and the hotline above all, comes first when the cores are busy
 * (under a bulk replication the indexer at nice 0 doubled the FLASH
 * tail: bench/RESULTS.md). Linux applies it to this thread alone. */
#define INDEXER_NICE 19

struct lk_service {
	struct lk_index *x;
	struct store *st;
	pthread_mutex_t mu; /* x */
	pthread_t th;
	atomic_bool stop;
};

static void *indexer(void *arg)
{
	struct lk_service *s = arg;
	if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid),
			INDEXER_NICE) != 0)
		log_warn("lookup", "indexer priority: %s", strerror(errno));
	prctl(PR_SET_NAME, "lookup-index", 0, 0, 0);
	uint64_t seen = 0;
	bool failing = false;
	while (!atomic_load(&s->stop)) {
		uint64_t added = 0;
		struct diag d;
		pthread_mutex_lock(&s->mu);
		int rc = lk_catch_up_some(s->x, 2000, &added, &d);
		uint64_t at = lk_indexed(s->x);
		pthread_mutex_unlock(&s->mu);
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
