/*
 * strait: Prometheus metrics, GET /metrics (text exposition format 0.0.4).
 *
 * The HTTP core calls taxii_observe() once per finished request (where it
 * writes the access-log line); the counters it feeds are atomics in a table
 * made once from the route table, so recording never takes a lock and
 * never allocates. Status codes of a route are kept in a small open table
 * per route whose slots are claimed with a compare-and-swap.
 */
#include "federation/fed.h"
#include "taxii/taxii_int.h"

#include "common/time.h"
#include "policy/policy.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Distinct status codes counted per route; more go to code="other". */
#define CODES 16

/* Upper bounds of the latency buckets, in seconds. */
static const double bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
				0.25,  0.5,    1,     2.5,  5,	   10};
#define NBOUNDS (sizeof(bounds) / sizeof(bounds[0]))

struct route_metrics {
	const char *name;
	bool stream;
	atomic_int codes[CODES]; /* 0: free slot */
	atomic_uint_fast64_t counts[CODES];
	atomic_uint_fast64_t other;
	atomic_uint_fast64_t buckets[NBOUNDS + 1]; /* not cumulative */
	atomic_uint_fast64_t sum_us;
	atomic_uint_fast64_t count;
};

struct metrics {
	const struct http_route *routes;
	size_t n;
	struct route_metrics *rm; /* n + 1: the last is "none" */
};

struct metrics *metrics_new(const struct http_route *routes, size_t n)
{
	struct metrics *m = calloc(1, sizeof(*m));
	if (m == NULL)
		return NULL;
	m->rm = calloc(n + 1, sizeof(*m->rm));
	if (m->rm == NULL) {
		free(m);
		return NULL;
	}
	m->routes = routes;
	m->n = n;
	for (size_t i = 0; i <= n; i++) {
		struct route_metrics *r = &m->rm[i];
		r->name = i < n && routes[i].name ? routes[i].name : "none";
		r->stream = i < n && (routes[i].flags & HTTP_ROUTE_STREAM);
		for (size_t k = 0; k < CODES; k++) {
			atomic_init(&r->codes[k], 0);
			atomic_init(&r->counts[k], 0);
		}
		atomic_init(&r->other, 0);
		for (size_t k = 0; k <= NBOUNDS; k++)
			atomic_init(&r->buckets[k], 0);
		atomic_init(&r->sum_us, 0);
		atomic_init(&r->count, 0);
	}
	return m;
}

void metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	free(m->rm);
	free(m);
}

static struct route_metrics *slot_of(struct metrics *m,
				     const struct http_route *route)
{
	/* Rows of the table the metrics were made for; a route of another
	 * table (a peer listener's own) or none counts as "none". */
	if (route != NULL && route >= m->routes && route < m->routes + m->n)
		return &m->rm[route - m->routes];
	return &m->rm[m->n];
}

static void count_status(struct route_metrics *r, int status)
{
	for (size_t k = 0; k < CODES; k++) {
		int cur = atomic_load(&r->codes[k]);
		if (cur == 0) {
			int expect = 0;
			if (!atomic_compare_exchange_strong(&r->codes[k],
							    &expect, status))
				cur = expect; /* taken meanwhile */
			else
				cur = status;
		}
		if (cur == status) {
			atomic_fetch_add(&r->counts[k], 1);
			return;
		}
	}
	atomic_fetch_add(&r->other, 1);
}

void metrics_observe(struct metrics *m, const struct http_route *route,
		     int status, double ms)
{
	struct route_metrics *r = slot_of(m, route);
	/* 0 (nothing was sent) is kept apart from the free-slot marker. */
	count_status(r, status > 0 ? status : -1);
	if (r->stream)
		return;
	double s = ms / 1e3;
	size_t b = 0;
	while (b < NBOUNDS && s > bounds[b])
		b++;
	atomic_fetch_add(&r->buckets[b], 1);
	atomic_fetch_add(&r->sum_us, (uint_fast64_t)(ms > 0 ? ms * 1e3 : 0));
	atomic_fetch_add(&r->count, 1);
}

void taxii_observe(void *arg, const struct http_route *route, int status,
		   double ms, uint64_t bytes)
{
	struct taxii *t = arg;
	(void)bytes;
	metrics_observe(t->metrics, route, status, ms);
}

/* ------------------------------------------------------------------ */
/* Rendering                                                            */
/* ------------------------------------------------------------------ */

int metrics_label_append(struct buf *out, const char *s)
{
	for (; *s; s++) {
		int rc;
		if (*s == '\\')
			rc = buf_adds(out, "\\\\");
		else if (*s == '"')
			rc = buf_adds(out, "\\\"");
		else if (*s == '\n')
			rc = buf_adds(out, "\\n");
		else
			rc = buf_addc(out, *s);
		if (rc != ST_OK)
			return rc;
	}
	return ST_OK;
}

/* The text being written and its first error (sticky). */
struct text {
	struct buf *b;
	int rc;
};

static void put(struct text *x, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void put(struct text *x, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = buf_vprintf(x->b, fmt, ap);
	va_end(ap);
	if (x->rc == ST_OK)
		x->rc = rc;
}

/* name{route="<route>"  (the caller closes the label set) */
static void series(struct text *x, const char *name, const char *route)
{
	put(x, "%s{route=\"", name);
	int rc = metrics_label_append(x->b, route);
	if (x->rc == ST_OK)
		x->rc = rc;
	put(x, "\"");
}

static void family(struct text *x, const char *name, const char *type,
		   const char *help)
{
	put(x, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void single(struct text *x, const char *name, const char *type,
		   const char *help, uint64_t v)
{
	family(x, name, type, help);
	put(x, "%s %llu\n", name, (unsigned long long)v);
}

static void requests(struct metrics *m, struct text *x)
{
	static const char name[] = "strait_http_requests_total";
	family(x, name, "counter",
	       "HTTP requests by route and status code (0: no response was "
	       "sent).");
	for (size_t i = 0; i <= m->n; i++) {
		struct route_metrics *r = &m->rm[i];
		for (size_t k = 0; k < CODES; k++) {
			int code = atomic_load(&r->codes[k]);
			if (code == 0)
				break;
			series(x, name, r->name);
			put(x, ",code=\"%d\"} %llu\n", code > 0 ? code : 0,
			    (unsigned long long)atomic_load(&r->counts[k]));
		}
		uint64_t other = atomic_load(&r->other);
		if (other > 0) {
			series(x, name, r->name);
			put(x, ",code=\"other\"} %llu\n",
			    (unsigned long long)other);
		}
	}
}

static void latency(struct metrics *m, struct text *x)
{
	static const char name[] = "strait_http_request_duration_seconds";
	char part[64];
	family(x, name, "histogram",
	       "Time from the request line to the end of the response, by "
	       "route (streams are not included).");
	for (size_t i = 0; i <= m->n; i++) {
		struct route_metrics *r = &m->rm[i];
		if (r->stream)
			continue;
		/* Each bucket read once, so the cumulative counts and the
		 * count agree within one scrape. */
		uint64_t cum = 0;
		snprintf(part, sizeof(part), "%s_bucket", name);
		for (size_t b = 0; b <= NBOUNDS; b++) {
			cum += atomic_load(&r->buckets[b]);
			series(x, part, r->name);
			if (b < NBOUNDS)
				put(x, ",le=\"%g\"} %llu\n", bounds[b],
				    (unsigned long long)cum);
			else
				put(x, ",le=\"+Inf\"} %llu\n",
				    (unsigned long long)cum);
		}
		snprintf(part, sizeof(part), "%s_sum", name);
		series(x, part, r->name);
		put(x, "} %.6f\n", (double)atomic_load(&r->sum_us) / 1e6);
		snprintf(part, sizeof(part), "%s_count", name);
		series(x, part, r->name);
		put(x, "} %llu\n", (unsigned long long)cum);
	}
}

int metrics_render(struct metrics *m, const struct metrics_gauges *g,
		   struct buf *out)
{
	struct text x = {out, ST_OK};
	requests(m, &x);
	latency(m, &x);
	single(&x, "strait_stream_subscribers", "gauge",
	       "Open stream subscribers.", g->streams);
	single(&x, "strait_stream_events_total", "counter",
	       "Object events sent to stream subscribers.", g->stream_events);
	single(&x, "strait_stream_revoked_total", "counter",
	       "Streams ended because their account or credential changed.",
	       g->stream_revoked);
	single(&x, "strait_store_versions", "gauge",
	       "Object versions in the store (the log).", g->store_versions);
	single(&x, "strait_store_objects", "gauge",
	       "Distinct objects in the store.", g->store_objects);
	single(&x, "strait_store_size_bytes", "gauge",
	       "Size of the store on disk (database and write-ahead log).",
	       g->store_bytes);
	if (g->rss_bytes > 0)
		single(&x, "process_resident_memory_bytes", "gauge",
		       "Resident memory size in bytes.", g->rss_bytes);
	family(&x, "process_start_time_seconds", "gauge",
	       "Start time of the process since the Unix epoch in seconds.");
	put(&x, "process_start_time_seconds %.3f\n", g->start_time);
	return x.rc;
}

uint64_t metrics_rss_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	if (f == NULL)
		return 0;
	unsigned long long size = 0, resident = 0;
	int n = fscanf(f, "%llu %llu", &size, &resident);
	fclose(f);
	long page = sysconf(_SC_PAGESIZE);
	if (n != 2 || page <= 0)
		return 0;
	return (uint64_t)resident * (uint64_t)page;
}

/* ------------------------------------------------------------------ */
/* The handler                                                          */
/* ------------------------------------------------------------------ */

double metrics_process_start(void)
{
	FILE *f = fopen("/proc/self/stat", "r");
	double start = 0;
	if (f != NULL) {
		/* Field 22, starttime in clock ticks since boot; the command
		 * (field 2) may hold spaces, so skip past its ')'. */
		char line[1024];
		if (fgets(line, sizeof(line), f) != NULL) {
			char *p = strrchr(line, ')');
			unsigned long long ticks = 0;
			int field = 2;
			for (; p != NULL && *p && field < 22; p++)
				if (*p == ' ')
					field++;
			long hz = sysconf(_SC_CLK_TCK);
			if (p != NULL && sscanf(p, "%llu", &ticks) == 1 &&
			    hz > 0)
				start = (double)ticks / (double)hz;
		}
		fclose(f);
	}
	FILE *u = fopen("/proc/uptime", "r");
	double up = 0;
	if (u != NULL) {
		if (fscanf(u, "%lf", &up) != 1)
			up = 0;
		fclose(u);
	}
	double now = (double)time_now() / 1e6;
	if (start <= 0 || up <= 0)
		return now;
	return now - up + start;
}

int taxii_h_metrics(struct http_request *req, struct http_response *resp)
{
	struct taxii *t = req->ctx;
	const struct auth_account *acct = req->account;
	if (acct->role != ROLE_ADMIN && acct->role != ROLE_METRICS)
		return http_error(resp, 403, "Forbidden",
				  "metrics are for admin and metrics "
				  "accounts");
	struct store_stats st;
	int rc = store_stats(t->cfg.store, &st);
	if (rc != ST_OK)
		return http_error_from(resp, rc, NULL);
	struct metrics_gauges g;
	memset(&g, 0, sizeof(g));
	g.store_versions = st.versions;
	g.store_objects = st.objects;
	g.store_bytes = st.db_bytes;
	g.streams = atomic_load(&t->streams);
	g.stream_events = atomic_load(&t->stream_events);
	g.stream_revoked = atomic_load(&t->stream_revoked);
	g.rss_bytes = metrics_rss_bytes();
	g.start_time = t->started;
	rc = metrics_render(t->metrics, &g, &resp->body);
	if (rc == ST_OK && t->cfg.fed != NULL)
		rc = fed_metrics(t->cfg.fed, &resp->body);
	if (rc != ST_OK)
		return http_error_from(resp, rc, NULL);
	resp->status = 200;
	resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
	return ST_OK;
}
