/*
 * The TAXII server's load generator (bench/run_taxii.sh runs it; not a
 * test, it prints figures). libcurl, one easy handle per thread, or one
 * multi handle for the stream subscribers. Every subcommand prints one line
 * "NAME: key=value ..." that the script reads.
 *
 *   taxii_load get     --url URL [--token T] --conns C --seconds S
 *   taxii_load post    --url URL --token T --posters P --envelopes K
 *                      [--size 100] [--collection ID]
 *   taxii_load page    --url URL --token T [--limit 1000]
 *   taxii_load latency --url URL --token T [--readers 16] [--limit 100]
 *                      [--seconds S]
 *   taxii_load sse     --url URL --token T [--tokens-file F]
 *                      [--subscribers 1000] [--per-addr 16] [--batch 10]
 *                      [--posts 50] [--interval-ms 200] [--drain 10]
 *   taxii_load ready   --url-file F --token T --since-ns NS [--timeout 60]
 *   taxii_load gen     --envelopes K [--size 100] [--seed S] > bundle.json
 *
 * URL is the discovery URL that 'strait serve' prints (or the server's base
 * URL); --collection defaults to the first collection the account lists.
 * Latencies are wall-clock round trips measured in this process.
 */
#include "gen_stix.h"

#include "common/buf.h"
#include "common/json.h"
#include "common/uuid.h"

#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define TAXII_TYPE "application/taxii+json;version=2.1"
#define BODY_MAX ((size_t)256 << 20)
#define LINE_MAX_BYTES ((size_t)1 << 20)
#define REQUEST_TIMEOUT_S 120L

struct opts {
	const char *url, *token, *collection, *tokens_file, *url_file;
	char base[512]; /* scheme://host:port/ */
	char coll[128];
	unsigned posters, envelopes, size, limit, readers, seconds, conns;
	unsigned subscribers, per_addr, batch, posts, interval_ms, drain_s;
	unsigned timeout_s, stride;
	uint64_t seed;
	long long since_ns;
};

/* ------------------------------------------------------------------ */
/* Clocks, random numbers, samples                                      */
/* ------------------------------------------------------------------ */

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static long long realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_us(int64_t us)
{
	if (us <= 0)
		return;
	struct timespec ts = {(time_t)(us / 1000000),
			      (long)(us % 1000000) * 1000};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* CPU seconds this process used (user + system), to show the client's
 * share of the two cores. */
static double cpu_seconds(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static uint64_t splitmix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (p == NULL) {
		fputs("taxii_load: out of memory\n", stderr);
		exit(1);
	}
	return p;
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);
	if (p == NULL) {
		fputs("taxii_load: out of memory\n", stderr);
		exit(1);
	}
	return p;
}

/* Latency samples in milliseconds. */
struct samples {
	double *v;
	size_t n, cap;
	bool sorted;
};

static void samples_add(struct samples *s, double ms)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 1024;
		double *v = realloc(s->v, cap * sizeof(*v));
		if (v == NULL) {
			fputs("taxii_load: out of memory\n", stderr);
			exit(1);
		}
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = ms;
	s->sorted = false;
}

static void samples_merge(struct samples *dst, const struct samples *src)
{
	for (size_t i = 0; i < src->n; i++)
		samples_add(dst, src->v[i]);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile (p in 0..100); 0 without samples. */
static double pct(struct samples *s, double p)
{
	if (s->n == 0)
		return 0;
	if (!s->sorted) {
		qsort(s->v, s->n, sizeof(double), cmp_double);
		s->sorted = true;
	}
	size_t rank = (size_t)(p / 100.0 * (double)s->n + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > s->n)
		rank = s->n;
	return s->v[rank - 1];
}

static void samples_free(struct samples *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* ------------------------------------------------------------------ */
/* One HTTP client (an easy handle, reused: keep-alive)                 */
/* ------------------------------------------------------------------ */

struct client {
	CURL *h;
	struct curl_slist *hdrs;
	struct buf body;
	char err[CURL_ERROR_SIZE];
};

static size_t body_cb(char *p, size_t sz, size_t n, void *arg)
{
	struct buf *b = arg;
	return buf_add(b, p, sz * n) == ST_OK ? sz * n : 0;
}

/* accept: the Accept header; post: the handle sends TAXII bodies;
 * iface: a local address to bind ("host!127.0.0.2") or NULL. */
static void client_init(struct client *c, const char *token, const char *accept,
			bool post, const char *iface)
{
	char h[512];
	memset(c, 0, sizeof(*c));
	buf_init(&c->body, BODY_MAX);
	c->h = curl_easy_init();
	if (c->h == NULL) {
		fputs("taxii_load: curl_easy_init failed\n", stderr);
		exit(1);
	}
	snprintf(h, sizeof(h), "Accept: %s", accept);
	c->hdrs = curl_slist_append(c->hdrs, h);
	if (token != NULL) {
		snprintf(h, sizeof(h), "Authorization: Bearer %s", token);
		c->hdrs = curl_slist_append(c->hdrs, h);
	}
	if (post) {
		c->hdrs =
		    curl_slist_append(c->hdrs, "Content-Type: " TAXII_TYPE);
		/* No "Expect: 100-continue" round trip. */
		c->hdrs = curl_slist_append(c->hdrs, "Expect:");
	}
	curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, c->hdrs);
	curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, body_cb);
	curl_easy_setopt(c->h, CURLOPT_WRITEDATA, &c->body);
	curl_easy_setopt(c->h, CURLOPT_ERRORBUFFER, c->err);
	curl_easy_setopt(c->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->h, CURLOPT_TIMEOUT, REQUEST_TIMEOUT_S);
	curl_easy_setopt(c->h, CURLOPT_CONNECTTIMEOUT, 10L);
	if (iface != NULL)
		curl_easy_setopt(c->h, CURLOPT_INTERFACE, iface);
}

/* The body of the last response as text ("" when there was none). */
static const char *client_text(const struct client *c)
{
	return c->body.data != NULL ? c->body.data : "";
}

static void client_free(struct client *c)
{
	if (c->h != NULL)
		curl_easy_cleanup(c->h);
	curl_slist_free_all(c->hdrs);
	buf_free(&c->body);
	memset(c, 0, sizeof(*c));
}

/* One request; the status, or -1 on a transport error (c->err says). */
static long client_do(struct client *c, const char *url, const char *body,
		      size_t len)
{
	long status = 0;
	buf_reset(&c->body);
	c->err[0] = '\0';
	curl_easy_setopt(c->h, CURLOPT_URL, url);
	if (body != NULL) {
		curl_easy_setopt(c->h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c->h, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)len);
	} else {
		curl_easy_setopt(c->h, CURLOPT_HTTPGET, 1L);
	}
	CURLcode rc = curl_easy_perform(c->h);
	if (rc != CURLE_OK) {
		if (c->err[0] == '\0')
			snprintf(c->err, sizeof(c->err), "%s",
				 curl_easy_strerror(rc));
		return -1;
	}
	curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &status);
	return status;
}

/* Parses the body of the last response; NULL (and a message) if not JSON. */
static const struct json_val *client_json(struct client *c,
					  struct json_doc *doc)
{
	const struct json_val *root = NULL;
	struct diag d;
	if (json_parse(doc, client_text(c), c->body.len, 0, NULL, &root, &d) !=
	    ST_OK) {
		fprintf(stderr, "taxii_load: response is not JSON: %s\n",
			d.msg);
		return NULL;
	}
	return root;
}

/* ------------------------------------------------------------------ */
/* URLs                                                                 */
/* ------------------------------------------------------------------ */

/* Derives the base URL (scheme://host:port/) from --url. */
static int set_base(struct opts *o)
{
	if (o->url == NULL) {
		fputs("taxii_load: --url is required\n", stderr);
		return -1;
	}
	const char *t = strstr(o->url, "/taxii2/");
	size_t n = t != NULL ? (size_t)(t - o->url) + 1 : strlen(o->url);
	if (n + 2 > sizeof(o->base)) {
		fputs("taxii_load: --url too long\n", stderr);
		return -1;
	}
	memcpy(o->base, o->url, n);
	if (n == 0 || o->base[n - 1] != '/')
		o->base[n++] = '/';
	o->base[n] = '\0';
	return 0;
}

/* Sets o->coll: --collection, or the first collection the account lists. */
static int find_collection(struct opts *o)
{
	if (o->collection != NULL) {
		snprintf(o->coll, sizeof(o->coll), "%s", o->collection);
		return 0;
	}
	char url[1024];
	struct client c;
	struct json_doc *doc = json_doc_new();
	int rc = -1;
	snprintf(url, sizeof(url), "%staxii2/root/collections/", o->base);
	client_init(&c, o->token, TAXII_TYPE, false, NULL);
	long st = client_do(&c, url, NULL, 0);
	if (st != 200) {
		fprintf(stderr, "taxii_load: GET %s: %ld %s\n", url, st,
			st < 0 ? c.err : "");
		goto out;
	}
	const struct json_val *root = client_json(&c, doc);
	const struct json_val *cs = root ? json_get(root, "collections") : NULL;
	if (cs == NULL || cs->type != JSON_ARRAY || cs->len == 0) {
		fputs("taxii_load: the account lists no collection\n", stderr);
		goto out;
	}
	const struct json_val *id = json_get(&cs->u.items[0], "id");
	if (id == NULL || id->type != JSON_STRING || id->len >= sizeof(o->coll))
		goto out;
	memcpy(o->coll, id->u.str, id->len + 1);
	rc = 0;
out:
	client_free(&c);
	json_doc_free(doc);
	return rc;
}

static void coll_url(char *out, size_t cap, const struct opts *o,
		     const char *what)
{
	snprintf(out, cap, "%staxii2/root/collections/%s/%s/", o->base, o->coll,
		 what);
}

/* ------------------------------------------------------------------ */
/* Envelopes of generated indicators                                    */
/* ------------------------------------------------------------------ */

/* An envelope of size indicators (malloc'd, *len bytes). With sent_us >= 0
 * each carries "x_bench_sent": sent_us (this process's monotonic clock). */
static char *make_envelope(struct gen_stix *g, unsigned size, int64_t sent_us,
			   size_t *len)
{
	struct buf b = BUF_INIT(BODY_MAX);
	struct jw w;
	jw_init(&w, &b);
	jw_obj_open(&w);
	jw_key(&w, "objects");
	jw_arr_open(&w);
	for (unsigned i = 0; i < size; i++) {
		jw_obj_open(&w);
		gen_stix_indicator_members(g, &w);
		if (sent_us >= 0) {
			jw_key(&w, "x_bench_sent");
			jw_int(&w, sent_us);
		}
		jw_obj_close(&w);
	}
	jw_arr_close(&w);
	jw_obj_close(&w);
	if (jw_finish(&w) != ST_OK) {
		fputs("taxii_load: envelope writer error\n", stderr);
		exit(1);
	}
	return buf_take(&b, len);
}

static struct gen_stix *new_gen(uint64_t seed)
{
	struct gen_stix *g = xmalloc(sizeof(*g));
	gen_stix_init(g, splitmix(seed));
	return g;
}

static uint64_t run_seed(const struct opts *o)
{
	return o->seed ? o->seed : (uint64_t)realtime_ns();
}

/* What a 202 status resource says. */
struct post_counts {
	uint64_t success, duplicate, failure, pending, bad;
};

static void count_status(struct client *c, struct json_doc *doc,
			 struct post_counts *pc)
{
	const struct json_val *root = client_json(c, doc);
	const struct json_val *s =
	    root ? json_get(root, "success_count") : NULL;
	const struct json_val *f =
	    root ? json_get(root, "failure_count") : NULL;
	const struct json_val *p =
	    root ? json_get(root, "pending_count") : NULL;
	if (s == NULL || f == NULL || s->type != JSON_NUMBER ||
	    f->type != JSON_NUMBER) {
		pc->bad++;
		return;
	}
	pc->success += (uint64_t)s->u.num.i;
	pc->failure += (uint64_t)f->u.num.i;
	if (p != NULL && p->type == JSON_NUMBER)
		pc->pending += (uint64_t)p->u.num.i;
	const struct json_val *ok = json_get(root, "successes");
	for (uint32_t i = 0; ok && ok->type == JSON_ARRAY && i < ok->len; i++)
		if (json_str_eq(json_get(&ok->u.items[i], "message"),
				"duplicate"))
			pc->duplicate++;
	if (f->u.num.i > 0 && pc->failure == (uint64_t)f->u.num.i)
		fprintf(stderr, "taxii_load: first failures: %.400s\n",
			client_text(c));
}

/* ------------------------------------------------------------------ */
/* get: the ceiling, any URL, C connections, S seconds                  */
/* ------------------------------------------------------------------ */

struct get_worker {
	const struct opts *o;
	pthread_barrier_t *start;
	int64_t deadline;
	struct samples lat;
	uint64_t ok, bad;
	pthread_t th;
};

static void *get_main(void *arg)
{
	struct get_worker *w = arg;
	struct client c;
	client_init(&c, w->o->token, "*/*", false, NULL);
	pthread_barrier_wait(w->start);
	while (now_us() < w->deadline) {
		int64_t t0 = now_us();
		long st = client_do(&c, w->o->url, NULL, 0);
		samples_add(&w->lat, (double)(now_us() - t0) / 1000.0);
		if (st >= 200 && st < 300)
			w->ok++;
		else
			w->bad++;
	}
	client_free(&c);
	return NULL;
}

static int cmd_get(struct opts *o)
{
	if (o->url == NULL) {
		fputs("taxii_load get: --url is required\n", stderr);
		return 2;
	}
	unsigned n = o->conns ? o->conns : 1;
	unsigned secs = o->seconds ? o->seconds : 5;
	struct get_worker *w = xcalloc(n, sizeof(*w));
	pthread_barrier_t start;
	pthread_barrier_init(&start, NULL, n + 1);
	for (unsigned i = 0; i < n; i++) {
		w[i].o = o;
		w[i].start = &start;
		pthread_create(&w[i].th, NULL, get_main, &w[i]);
	}
	/* Deadlines are set before the threads pass the barrier. */
	int64_t t0 = now_us() + 1000;
	for (unsigned i = 0; i < n; i++)
		w[i].deadline = t0 + (int64_t)secs * 1000000;
	double cpu0 = cpu_seconds();
	pthread_barrier_wait(&start);
	t0 = now_us();
	struct samples all = {0};
	uint64_t ok = 0, bad = 0;
	for (unsigned i = 0; i < n; i++) {
		pthread_join(w[i].th, NULL);
		samples_merge(&all, &w[i].lat);
		samples_free(&w[i].lat);
		ok += w[i].ok;
		bad += w[i].bad;
	}
	double s = (double)(now_us() - t0) / 1e6;
	printf("get: conns=%u requests=%llu errors=%llu seconds=%.2f "
	       "requests_per_s=%.0f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f "
	       "client_cpu_s=%.2f\n",
	       n, (unsigned long long)ok, (unsigned long long)bad, s,
	       (double)ok / s, pct(&all, 50), pct(&all, 99), pct(&all, 100),
	       cpu_seconds() - cpu0);
	samples_free(&all);
	pthread_barrier_destroy(&start);
	free(w);
	return bad > 0 && ok == 0 ? 1 : 0;
}

/* ------------------------------------------------------------------ */
/* post: P posters, K envelopes of `size` indicators each               */
/* ------------------------------------------------------------------ */

struct poster {
	const struct opts *o;
	pthread_barrier_t *start;
	char **bodies;
	size_t *lens;
	struct samples lat;
	struct post_counts pc;
	uint64_t http_errors;
	int64_t done_us;
	pthread_t th;
};

static void *poster_main(void *arg)
{
	struct poster *p = arg;
	struct client c;
	struct json_doc *doc = json_doc_new();
	char url[1024];
	coll_url(url, sizeof(url), p->o, "objects");
	client_init(&c, p->o->token, TAXII_TYPE, true, NULL);
	pthread_barrier_wait(p->start);
	for (unsigned k = 0; k < p->o->envelopes; k++) {
		int64_t t0 = now_us();
		long st = client_do(&c, url, p->bodies[k], p->lens[k]);
		samples_add(&p->lat, (double)(now_us() - t0) / 1000.0);
		if (st == 202) {
			count_status(&c, doc, &p->pc);
		} else {
			if (p->http_errors++ == 0)
				fprintf(stderr,
					"taxii_load: POST: %ld %s%.300s\n", st,
					st < 0 ? c.err : "", client_text(&c));
		}
	}
	p->done_us = now_us();
	client_free(&c);
	json_doc_free(doc);
	return NULL;
}

static int cmd_post(struct opts *o)
{
	if (set_base(o) != 0 || find_collection(o) != 0)
		return 2;
	unsigned np = o->posters ? o->posters : 1;
	unsigned size = o->size ? o->size : 100;
	if (o->envelopes == 0)
		o->envelopes = 100;
	/* The bodies are made first, so generating them is not measured. */
	struct poster *p = xcalloc(np, sizeof(*p));
	uint64_t seed = run_seed(o);
	size_t bytes = 0;
	int64_t g0 = now_us();
	for (unsigned i = 0; i < np; i++) {
		struct gen_stix *g = new_gen(seed + i);
		p[i].o = o;
		p[i].bodies = xmalloc(o->envelopes * sizeof(char *));
		p[i].lens = xmalloc(o->envelopes * sizeof(size_t));
		for (unsigned k = 0; k < o->envelopes; k++) {
			p[i].bodies[k] =
			    make_envelope(g, size, -1, &p[i].lens[k]);
			bytes += p[i].lens[k];
		}
		free(g);
	}
	fprintf(stderr,
		"taxii_load post: %u x %u envelopes of %u indicators, "
		"%.1f MB, generated in %.2f s\n",
		np, o->envelopes, size, (double)bytes / 1e6,
		(double)(now_us() - g0) / 1e6);

	pthread_barrier_t start;
	pthread_barrier_init(&start, NULL, np + 1);
	for (unsigned i = 0; i < np; i++) {
		p[i].start = &start;
		pthread_create(&p[i].th, NULL, poster_main, &p[i]);
	}
	double cpu0 = cpu_seconds();
	pthread_barrier_wait(&start);
	int64_t t0 = now_us(), t1 = t0;
	struct samples all = {0};
	struct post_counts pc = {0};
	uint64_t errs = 0;
	for (unsigned i = 0; i < np; i++) {
		pthread_join(p[i].th, NULL);
		if (p[i].done_us > t1)
			t1 = p[i].done_us;
		samples_merge(&all, &p[i].lat);
		samples_free(&p[i].lat);
		pc.success += p[i].pc.success;
		pc.duplicate += p[i].pc.duplicate;
		pc.failure += p[i].pc.failure;
		pc.pending += p[i].pc.pending;
		pc.bad += p[i].pc.bad;
		errs += p[i].http_errors;
		for (unsigned k = 0; k < o->envelopes; k++)
			free(p[i].bodies[k]);
		free(p[i].bodies);
		free(p[i].lens);
	}
	double s = (double)(t1 - t0) / 1e6;
	uint64_t stored = pc.success - pc.duplicate;
	printf("post: posters=%u envelopes=%llu size=%u objects=%llu "
	       "stored=%llu duplicate=%llu failed=%llu pending=%llu "
	       "http_errors=%llu seconds=%.2f objects_per_s=%.0f "
	       "MB_per_s=%.1f req_p50_ms=%.2f req_p99_ms=%.2f "
	       "req_max_ms=%.2f client_cpu_s=%.2f\n",
	       np, (unsigned long long)np * o->envelopes, size,
	       (unsigned long long)np * o->envelopes * size,
	       (unsigned long long)stored, (unsigned long long)pc.duplicate,
	       (unsigned long long)pc.failure, (unsigned long long)pc.pending,
	       (unsigned long long)(errs + pc.bad), s, (double)stored / s,
	       (double)bytes / s / 1e6, pct(&all, 50), pct(&all, 99),
	       pct(&all, 100), cpu_seconds() - cpu0);
	samples_free(&all);
	pthread_barrier_destroy(&start);
	free(p);
	return errs + pc.bad + pc.failure > 0 ? 1 : 0;
}

/* ------------------------------------------------------------------ */
/* page: every object of the collection, following `next`             */
/* ------------------------------------------------------------------ */

static int cmd_page(struct opts *o)
{
	if (set_base(o) != 0 || find_collection(o) != 0)
		return 2;
	unsigned limit = o->limit ? o->limit : 1000;
	char first[1024];
	coll_url(first, sizeof(first), o, "objects");
	size_t cap = strlen(first) + 1024;
	char *url = xmalloc(cap);
	snprintf(url, cap, "%s?limit=%u", first, limit);
	struct client c;
	struct json_doc *doc = json_doc_new();
	struct samples lat = {0};
	uint64_t objects = 0, pages = 0, bytes = 0, short_pages = 0;
	int rc = 0;
	client_init(&c, o->token, TAXII_TYPE, false, NULL);
	double cpu0 = cpu_seconds();
	int64_t t0 = now_us();
	for (;;) {
		int64_t r0 = now_us();
		long st = client_do(&c, url, NULL, 0);
		samples_add(&lat, (double)(now_us() - r0) / 1000.0);
		if (st != 200) {
			fprintf(stderr, "taxii_load page: %ld %s%.300s\n", st,
				st < 0 ? c.err : "", client_text(&c));
			rc = 1;
			break;
		}
		pages++;
		bytes += c.body.len;
		const struct json_val *root = client_json(&c, doc);
		if (root == NULL) {
			rc = 1;
			break;
		}
		const struct json_val *objs = json_get(root, "objects");
		const struct json_val *more = json_get(root, "more");
		const struct json_val *next = json_get(root, "next");
		uint32_t n = objs && objs->type == JSON_ARRAY ? objs->len : 0;
		objects += n;
		if (more == NULL || more->type != JSON_TRUE)
			break;
		if (n < limit)
			short_pages++;
		if (next == NULL || next->type != JSON_STRING ||
		    next->len > 900) {
			fputs("taxii_load page: more without next\n", stderr);
			rc = 1;
			break;
		}
		snprintf(url, cap, "%s?limit=%u&next=%s", first, limit,
			 next->u.str);
	}
	double s = (double)(now_us() - t0) / 1e6;
	printf("page: limit=%u objects=%llu pages=%llu short_pages=%llu "
	       "seconds=%.2f objects_per_s=%.0f MB_per_s=%.1f "
	       "page_p50_ms=%.2f page_p99_ms=%.2f client_cpu_s=%.2f\n",
	       limit, (unsigned long long)objects, (unsigned long long)pages,
	       (unsigned long long)short_pages, s, (double)objects / s,
	       (double)bytes / s / 1e6, pct(&lat, 50), pct(&lat, 99),
	       cpu_seconds() - cpu0);
	samples_free(&lat);
	client_free(&c);
	json_doc_free(doc);
	free(url);
	return rc;
}

/* ------------------------------------------------------------------ */
/* latency: R readers, random 100-object pages                          */
/* ------------------------------------------------------------------ */

/*
 * Positions: the date_added of every stride-th record, read once from the
 * manifest (the sweep is reported, not part of the measurement). A reader
 * asks for `added_after=<date_added of record i>&limit=100`, the request a
 * TAXII consumer polling from its last cursor makes; date_added is strictly
 * increasing per collection, so it must get records i+1..i+100, a full
 * page, from a random place in the whole collection.
 */
struct positions {
	char (*ts)[40];
	size_t n, cap;
	uint64_t total;
};

static int sweep_positions(const struct opts *o, unsigned stride,
			   struct positions *pos)
{
	char first[1024];
	coll_url(first, sizeof(first), o, "manifest");
	size_t cap = strlen(first) + 1024;
	char *url = xmalloc(cap);
	snprintf(url, cap, "%s?limit=10000", first);
	struct client c;
	struct json_doc *doc = json_doc_new();
	int rc = 0;
	client_init(&c, o->token, TAXII_TYPE, false, NULL);
	for (;;) {
		long st = client_do(&c, url, NULL, 0);
		const struct json_val *root =
		    st == 200 ? client_json(&c, doc) : NULL;
		if (root == NULL) {
			fprintf(stderr, "taxii_load: manifest: %ld %s\n", st,
				st < 0 ? c.err : "");
			rc = -1;
			break;
		}
		const struct json_val *objs = json_get(root, "objects");
		for (uint32_t i = 0;
		     objs && objs->type == JSON_ARRAY && i < objs->len;
		     i++, pos->total++) {
			if (pos->total % stride != 0)
				continue;
			const struct json_val *da =
			    json_get(&objs->u.items[i], "date_added");
			if (da == NULL || da->type != JSON_STRING ||
			    da->len >= sizeof(pos->ts[0])) {
				rc = -1;
				break;
			}
			if (pos->n == pos->cap) {
				pos->cap = pos->cap ? 2 * pos->cap : 1024;
				pos->ts = realloc(
				    pos->ts, pos->cap * sizeof(pos->ts[0]));
				if (pos->ts == NULL) {
					rc = -1;
					break;
				}
			}
			memcpy(pos->ts[pos->n++], da->u.str, da->len + 1);
		}
		const struct json_val *more = json_get(root, "more");
		const struct json_val *next = json_get(root, "next");
		if (rc != 0 || more == NULL || more->type != JSON_TRUE)
			break;
		if (next == NULL || next->type != JSON_STRING ||
		    next->len > 900) {
			rc = -1;
			break;
		}
		snprintf(url, cap, "%s?limit=10000&next=%s", first,
			 next->u.str);
	}
	client_free(&c);
	json_doc_free(doc);
	free(url);
	return rc;
}

struct reader {
	const struct opts *o;
	const struct positions *pos;
	size_t eligible;
	unsigned limit;
	pthread_barrier_t *start;
	int64_t deadline;
	uint64_t seed, ok, errors, short_pages, objects;
	struct samples lat;
	pthread_t th;
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	struct client c;
	struct json_doc *doc = json_doc_new();
	char first[1024], url[1200];
	uint64_t rng = splitmix(r->seed) | 1;
	coll_url(first, sizeof(first), r->o, "objects");
	client_init(&c, r->o->token, TAXII_TYPE, false, NULL);
	pthread_barrier_wait(r->start);
	while (now_us() < r->deadline) {
		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		size_t k = (size_t)(rng % r->eligible);
		snprintf(url, sizeof(url), "%s?added_after=%s&limit=%u", first,
			 r->pos->ts[k], r->limit);
		int64_t t0 = now_us();
		long st = client_do(&c, url, NULL, 0);
		samples_add(&r->lat, (double)(now_us() - t0) / 1000.0);
		const struct json_val *root =
		    st == 200 ? client_json(&c, doc) : NULL;
		if (root == NULL) {
			if (r->errors++ == 0)
				fprintf(stderr, "taxii_load latency: %ld %s\n",
					st, st < 0 ? c.err : "");
			continue;
		}
		const struct json_val *objs = json_get(root, "objects");
		uint32_t n = objs && objs->type == JSON_ARRAY ? objs->len : 0;
		r->ok++;
		r->objects += n;
		if (n != r->limit)
			r->short_pages++;
	}
	client_free(&c);
	json_doc_free(doc);
	return NULL;
}

static int cmd_latency(struct opts *o)
{
	if (set_base(o) != 0 || find_collection(o) != 0)
		return 2;
	unsigned nr = o->readers ? o->readers : 16;
	unsigned limit = o->limit ? o->limit : 100;
	unsigned secs = o->seconds ? o->seconds : 10;
	unsigned stride = o->stride ? o->stride : 100;
	struct positions pos = {0};
	int64_t s0 = now_us();
	if (sweep_positions(o, stride, &pos) != 0)
		return 1;
	double sweep_s = (double)(now_us() - s0) / 1e6;
	if (pos.total <= limit) {
		fprintf(stderr, "taxii_load latency: only %llu objects\n",
			(unsigned long long)pos.total);
		return 1;
	}
	/* Positions i*stride with i*stride + limit <= total - 1. */
	size_t eligible = (size_t)((pos.total - 1 - limit) / stride + 1);
	if (eligible > pos.n)
		eligible = pos.n;
	fprintf(stderr,
		"taxii_load latency: manifest sweep of %llu records in %.2f s "
		"(%.0f records/s), %zu start positions\n",
		(unsigned long long)pos.total, sweep_s,
		(double)pos.total / sweep_s, eligible);

	struct reader *r = xcalloc(nr, sizeof(*r));
	pthread_barrier_t start;
	pthread_barrier_init(&start, NULL, nr + 1);
	uint64_t seed = run_seed(o);
	int64_t deadline = now_us() + 1000 + (int64_t)secs * 1000000;
	for (unsigned i = 0; i < nr; i++) {
		r[i].o = o;
		r[i].pos = &pos;
		r[i].eligible = eligible;
		r[i].limit = limit;
		r[i].start = &start;
		r[i].deadline = deadline;
		r[i].seed = seed + i;
		pthread_create(&r[i].th, NULL, reader_main, &r[i]);
	}
	double cpu0 = cpu_seconds();
	pthread_barrier_wait(&start);
	int64_t t0 = now_us();
	struct samples all = {0};
	uint64_t ok = 0, errors = 0, shorts = 0, objects = 0;
	for (unsigned i = 0; i < nr; i++) {
		pthread_join(r[i].th, NULL);
		samples_merge(&all, &r[i].lat);
		samples_free(&r[i].lat);
		ok += r[i].ok;
		errors += r[i].errors;
		shorts += r[i].short_pages;
		objects += r[i].objects;
	}
	double s = (double)(now_us() - t0) / 1e6;
	printf("latency: readers=%u limit=%u stored=%llu requests=%llu "
	       "errors=%llu short_pages=%llu seconds=%.2f requests_per_s=%.0f "
	       "objects_per_s=%.0f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f "
	       "max_ms=%.2f sweep_records_per_s=%.0f client_cpu_s=%.2f\n",
	       nr, limit, (unsigned long long)pos.total, (unsigned long long)ok,
	       (unsigned long long)errors, (unsigned long long)shorts, s,
	       (double)ok / s, (double)objects / s, pct(&all, 50),
	       pct(&all, 90), pct(&all, 99), pct(&all, 100),
	       (double)pos.total / sweep_s, cpu_seconds() - cpu0);
	samples_free(&all);
	pthread_barrier_destroy(&start);
	free(r);
	free(pos.ts);
	return errors > 0 ? 1 : 0;
}

/* ------------------------------------------------------------------ */
/* An epoll loop for a multi handle (curl_multi_socket_action): each   */
/* wake-up touches the ready sockets only, so a thousand idle streams  */
/* cost the generator nothing between events.                          */
/* ------------------------------------------------------------------ */

struct evloop {
	CURLM *m;
	int ep;
	int64_t deadline; /* now_us() when curl wants its timeout; 0 none */
};

static int ev_socket(CURL *e, curl_socket_t fd, int what, void *userp,
		     void *sockp)
{
	(void)e;
	struct evloop *l = userp;
	if (what == CURL_POLL_REMOVE) {
		epoll_ctl(l->ep, EPOLL_CTL_DEL, fd, NULL);
		curl_multi_assign(l->m, fd, NULL);
		return 0;
	}
	struct epoll_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.data.fd = fd;
	ev.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0) |
		    ((what & CURL_POLL_OUT) ? EPOLLOUT : 0);
	if (sockp == NULL) {
		epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev);
		curl_multi_assign(l->m, fd, l); /* any non-NULL mark */
	} else {
		epoll_ctl(l->ep, EPOLL_CTL_MOD, fd, &ev);
	}
	return 0;
}

static int ev_timer(CURLM *m, long timeout_ms, void *userp)
{
	(void)m;
	struct evloop *l = userp;
	l->deadline = timeout_ms < 0 ? 0 : now_us() + timeout_ms * 1000;
	return 0;
}

static int ev_init(struct evloop *l, CURLM *m)
{
	l->m = m;
	l->deadline = 0;
	l->ep = epoll_create1(EPOLL_CLOEXEC);
	if (l->ep < 0)
		return -1;
	curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, ev_socket);
	curl_multi_setopt(m, CURLMOPT_SOCKETDATA, l);
	curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, ev_timer);
	curl_multi_setopt(m, CURLMOPT_TIMERDATA, l);
	return 0;
}

/* Waits at most max_ms for ready sockets or curl's timeout, and lets
 * curl handle what is due. */
static void ev_step(struct evloop *l, int max_ms)
{
	struct epoll_event evs[256];
	int wait = max_ms, running = 0;
	if (l->deadline != 0) {
		int64_t left = (l->deadline - now_us() + 999) / 1000;
		wait = left < 0 ? 0 : left < wait ? (int)left : wait;
	}
	int n = epoll_wait(l->ep, evs, 256, wait);
	for (int i = 0; i < n; i++) {
		int flags = 0;
		if (evs[i].events & EPOLLIN)
			flags |= CURL_CSELECT_IN;
		if (evs[i].events & EPOLLOUT)
			flags |= CURL_CSELECT_OUT;
		if (evs[i].events & (EPOLLERR | EPOLLHUP))
			flags |= CURL_CSELECT_ERR;
		curl_multi_socket_action(l->m, evs[i].data.fd, flags, &running);
	}
	if (l->deadline != 0 && now_us() >= l->deadline) {
		l->deadline = 0;
		curl_multi_socket_action(l->m, CURL_SOCKET_TIMEOUT, 0,
					 &running);
	}
}

static void ev_free(struct evloop *l)
{
	if (l->ep >= 0)
		close(l->ep);
	l->ep = -1;
}

/* ------------------------------------------------------------------ */
/* sse: S subscribers on one multi handle, one poster                   */
/* ------------------------------------------------------------------ */

struct sub {
	CURL *h;
	struct curl_slist *hdrs;
	struct buf line; /* the current, incomplete line */
	struct samples *lat;
	long status;
	bool headers_done, ended;
	bool probe; /* stop once the headers are in */
	CURLcode result;
	unsigned events; /* events carrying x_bench_sent */
	unsigned other;	 /* other data lines (history, other posters) */
	unsigned overflow;
};

static void sub_line(struct sub *s, const char *p, size_t n, int64_t now)
{
	static const char key[] = "\"x_bench_sent\":";
	if (n < 5 || memcmp(p, "data:", 5) != 0)
		return; /* id:, event:, comments (heartbeats), blank lines */
	/* The object is one line of canonical JSON, its keys sorted: the
	 * property is among the last, so look for it from the end. */
	const char *end = p + n;
	const char *k = NULL;
	for (const char *q = end - (sizeof(key) - 1); q >= p + 5; q--) {
		if (*q == '"' && memcmp(q, key, sizeof(key) - 1) == 0) {
			k = q;
			break;
		}
	}
	if (k == NULL) {
		s->other++;
		return;
	}
	int64_t sent = 0;
	for (k += sizeof(key) - 1; k < end && *k >= '0' && *k <= '9'; k++)
		sent = sent * 10 + (*k - '0');
	s->events++;
	samples_add(s->lat, (double)(now - sent) / 1000.0);
}

static size_t sub_body(char *p, size_t sz, size_t n, void *arg)
{
	struct sub *s = arg;
	size_t len = sz * n;
	int64_t now = now_us();
	const char *end = p + len, *q = p;
	while (q < end) {
		const char *nl = memchr(q, '\n', (size_t)(end - q));
		const char *stop = nl ? nl : end;
		if (nl != NULL && s->line.len == 0) {
			/* A whole line in this piece: read it in place. */
			size_t l = (size_t)(nl - q);
			if (l > 0 && q[l - 1] == '\r')
				l--;
			sub_line(s, q, l, now);
			q = nl + 1;
			continue;
		}
		if (buf_add(&s->line, q, (size_t)(stop - q)) != ST_OK) {
			s->overflow++;
			buf_reset(&s->line);
		}
		if (nl == NULL)
			break;
		size_t l = s->line.len;
		if (l > 0 && s->line.data[l - 1] == '\r')
			l--;
		sub_line(s, s->line.data ? s->line.data : "", l, now);
		buf_reset(&s->line);
		q = nl + 1;
	}
	return len;
}

static size_t sub_header(char *p, size_t sz, size_t n, void *arg)
{
	struct sub *s = arg;
	size_t len = sz * n;
	if (len > 5 && memcmp(p, "HTTP/", 5) == 0) {
		const char *sp = memchr(p, ' ', len);
		s->status = sp ? strtol(sp + 1, NULL, 10) : 0;
	} else if (len <= 2 && (p[0] == '\r' || p[0] == '\n')) {
		s->headers_done = true;
		if (s->probe)
			return 0; /* ends the transfer; the status is kept */
	}
	return len;
}

struct sse_poster {
	const struct opts *o;
	struct samples lat;
	atomic_uint_fast64_t posted; /* objects accepted */
	atomic_bool done;
	uint64_t errors;
	pthread_t th;
};

static void *sse_post_main(void *arg)
{
	struct sse_poster *p = arg;
	const struct opts *o = p->o;
	struct client c;
	struct json_doc *doc = json_doc_new();
	struct gen_stix *g = new_gen(run_seed(o) ^ 0x5555);
	char url[1024];
	coll_url(url, sizeof(url), o, "objects");
	client_init(&c, o->token, TAXII_TYPE, true, NULL);
	int64_t t0 = now_us();
	for (unsigned j = 0; j < o->posts; j++) {
		sleep_us(t0 + (int64_t)j * o->interval_ms * 1000 - now_us());
		size_t len;
		int64_t sent = now_us();
		char *body = make_envelope(g, o->batch, sent, &len);
		long st = client_do(&c, url, body, len);
		samples_add(&p->lat, (double)(now_us() - sent) / 1000.0);
		free(body);
		struct post_counts pc = {0};
		if (st == 202)
			count_status(&c, doc, &pc);
		if (st != 202 || pc.bad) {
			if (p->errors++ == 0)
				fprintf(stderr, "taxii_load sse: POST %ld %s\n",
					st, st < 0 ? c.err : "");
			continue;
		}
		atomic_fetch_add(&p->posted, pc.success - pc.duplicate);
	}
	atomic_store(&p->done, true);
	client_free(&c);
	json_doc_free(doc);
	free(g);
	return NULL;
}

/* Reads up to max tokens, one a line; returns how many. */
static size_t read_tokens(const char *file, char ***out)
{
	FILE *f = fopen(file, "r");
	if (f == NULL) {
		fprintf(stderr, "taxii_load: %s: %s\n", file, strerror(errno));
		return 0;
	}
	char line[256];
	size_t n = 0, cap = 0;
	char **t = NULL;
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\r\n ")] = '\0';
		if (line[0] == '\0')
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			t = realloc(t, cap * sizeof(*t));
			if (t == NULL)
				exit(1);
		}
		t[n] = xmalloc(strlen(line) + 1);
		strcpy(t[n++], line);
	}
	fclose(f);
	*out = t;
	return n;
}

/* The status the stream endpoint answers (its headers only, 2 s at most). */
static long probe_stream(const struct opts *o, const char *url)
{
	struct sub s;
	memset(&s, 0, sizeof(s));
	struct samples dummy = {0};
	s.lat = &dummy;
	s.probe = true;
	buf_init(&s.line, LINE_MAX_BYTES);
	CURL *h = curl_easy_init();
	char auth[300];
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", o->token);
	s.hdrs = curl_slist_append(NULL, "Accept: text/event-stream");
	s.hdrs = curl_slist_append(s.hdrs, auth);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, s.hdrs);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sub_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, sub_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &s);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 2000L);
	curl_easy_perform(h);
	long st = s.status;
	curl_easy_cleanup(h);
	curl_slist_free_all(s.hdrs);
	buf_free(&s.line);
	samples_free(&dummy);
	return st;
}

static void raise_fd_limit(unsigned want)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
	setrlimit(RLIMIT_NOFILE, &rl);
}

static int cmd_sse(struct opts *o)
{
	if (set_base(o) != 0 || find_collection(o) != 0)
		return 2;
	unsigned ns = o->subscribers ? o->subscribers : 1000;
	unsigned per_addr = o->per_addr ? o->per_addr : 16;
	if (o->batch == 0)
		o->batch = 10;
	if (o->posts == 0)
		o->posts = 50;
	if (o->interval_ms == 0)
		o->interval_ms = 200;
	unsigned drain = o->drain_s ? o->drain_s : 10;
	if ((ns + per_addr - 1) / per_addr > 250) {
		fputs("taxii_load sse: more than 250 source addresses needed; "
		      "raise --per-addr\n",
		      stderr);
		return 2;
	}
	char url[1024];
	snprintf(url, sizeof(url), "%sapi/v1/collections/%s/stream/", o->base,
		 o->coll);
	long st = probe_stream(o, url);
	if (st != 200) {
		printf("sse: unavailable status=%ld url=%s\n", st, url);
		return st == 404 ? 0 : 1;
	}
	char **tokens = NULL;
	size_t nt = o->tokens_file ? read_tokens(o->tokens_file, &tokens) : 0;
	raise_fd_limit(ns + 256);

	struct samples lat = {0};
	struct sub *subs = xcalloc(ns, sizeof(*subs));
	CURLM *m = curl_multi_init();
	curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, (long)ns + 16);
	struct evloop ev;
	if (ev_init(&ev, m) != 0) {
		fprintf(stderr, "taxii_load sse: epoll: %s\n", strerror(errno));
		return 2;
	}
	for (unsigned i = 0; i < ns; i++) {
		struct sub *s = &subs[i];
		char h[300], iface[64];
		s->lat = &lat;
		buf_init(&s->line, LINE_MAX_BYTES);
		s->h = curl_easy_init();
		snprintf(h, sizeof(h), "Authorization: Bearer %s",
			 nt ? tokens[i % nt] : o->token);
		s->hdrs = curl_slist_append(NULL, "Accept: text/event-stream");
		s->hdrs = curl_slist_append(s->hdrs, h);
		/* Spread over 127.0.0.2.. so that no address passes the
		 * server's per-address connection limit. */
		snprintf(iface, sizeof(iface), "host!127.0.0.%u",
			 2 + i / per_addr);
		curl_easy_setopt(s->h, CURLOPT_URL, url);
		curl_easy_setopt(s->h, CURLOPT_HTTPHEADER, s->hdrs);
		curl_easy_setopt(s->h, CURLOPT_INTERFACE, iface);
		curl_easy_setopt(s->h, CURLOPT_WRITEFUNCTION, sub_body);
		curl_easy_setopt(s->h, CURLOPT_WRITEDATA, s);
		curl_easy_setopt(s->h, CURLOPT_HEADERFUNCTION, sub_header);
		curl_easy_setopt(s->h, CURLOPT_HEADERDATA, s);
		curl_easy_setopt(s->h, CURLOPT_PRIVATE, s);
		/* A refused subscriber must not keep its connection (and the
		 * server's slot) in the multi handle's cache. */
		curl_easy_setopt(s->h, CURLOPT_FORBID_REUSE, 1L);
		curl_easy_setopt(s->h, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(s->h, CURLOPT_CONNECTTIMEOUT, 10L);
		curl_multi_add_handle(m, s->h);
	}

	/* Phase 1: every subscriber has its headers, or has ended. */
	struct sse_poster p;
	memset(&p, 0, sizeof(p));
	p.o = o;
	atomic_init(&p.posted, 0);
	atomic_init(&p.done, false);
	bool poster_started = false;
	int64_t t_open = now_us(), t_connected = 0, t_done = 0;
	int64_t t_stop = t_open + 30 * 1000000; /* connect phase bound */
	unsigned ended_early = 0, connected = 0;
	double cpu0 = cpu_seconds();
	int64_t last_check = 0;
	for (;;) {
		int left = 0;
		ev_step(&ev, 50);
		CURLMsg *msg;
		while ((msg = curl_multi_info_read(m, &left)) != NULL) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			void *priv = NULL;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
					  &priv);
			struct sub *s = priv;
			s->ended = true;
			s->result = msg->data.result;
			if (poster_started)
				ended_early++;
		}
		int64_t now = now_us();
		/* The checks below walk every subscriber: a few times a
		 * second is enough, not on every wake-up. */
		if (now - last_check < 20000)
			continue;
		last_check = now;
		if (!poster_started) {
			unsigned ready = 0, gone = 0;
			for (unsigned i = 0; i < ns; i++) {
				if (subs[i].ended)
					gone++;
				else if (subs[i].headers_done &&
					 subs[i].status == 200)
					ready++;
			}
			if (ready + gone == ns || now > t_stop) {
				connected = ready;
				t_connected = now;
				if (ready == 0)
					break;
				/* Let the server register the last ones. */
				sleep_us(500000);
				pthread_create(&p.th, NULL, sse_post_main, &p);
				poster_started = true;
				t_stop =
				    now +
				    (int64_t)o->posts * o->interval_ms * 1000 +
				    (int64_t)(drain + 30) * 1000000;
			}
		} else {
			uint64_t want = atomic_load(&p.posted);
			if (atomic_load(&p.done) && t_done == 0)
				t_done = now;
			bool all = true;
			for (unsigned i = 0; i < ns && all; i++)
				if (!subs[i].ended && subs[i].status == 200 &&
				    subs[i].events < want)
					all = false;
			if (t_done != 0 &&
			    (all || now > t_done + (int64_t)drain * 1000000))
				break;
			if (now > t_stop)
				break;
		}
	}
	if (poster_started)
		pthread_join(p.th, NULL);
	double cpu = cpu_seconds() - cpu0;

	/* Why subscribers did not connect. */
	unsigned by_status[6] = {0}, transport = 0;
	uint64_t delivered = 0, other = 0, overflow = 0;
	uint64_t want = atomic_load(&p.posted);
	unsigned complete = 0;
	for (unsigned i = 0; i < ns; i++) {
		struct sub *s = &subs[i];
		delivered += s->events;
		other += s->other;
		overflow += s->overflow;
		if (s->status == 200 && s->events >= want)
			complete++;
		if (s->status == 200 && s->headers_done)
			continue;
		if (s->status >= 100 && s->status < 600)
			by_status[s->status / 100]++;
		else
			transport++;
		if (s->status != 200 &&
		    (by_status[4] + by_status[5] + transport) == 1)
			fprintf(stderr,
				"taxii_load sse: subscriber %u: status %ld, "
				"%s\n",
				i, s->status, curl_easy_strerror(s->result));
	}
	printf(
	    "sse: subscribers=%u connected=%u refused_4xx=%u "
	    "refused_5xx=%u transport_errors=%u accounts=%zu per_addr=%u "
	    "connect_s=%.2f posts=%u batch=%u posted_objects=%llu "
	    "post_errors=%llu expected_events=%llu delivered=%llu "
	    "complete_subscribers=%u dropped_during_run=%u "
	    "event_p50_ms=%.2f event_p90_ms=%.2f event_p99_ms=%.2f "
	    "event_max_ms=%.2f post_p50_ms=%.2f post_p99_ms=%.2f "
	    "other_events=%llu client_cpu_s=%.2f\n",
	    ns, connected, by_status[4], by_status[5], transport, nt ? nt : 1,
	    per_addr, (double)(t_connected - t_open) / 1e6, o->posts, o->batch,
	    (unsigned long long)want, (unsigned long long)p.errors,
	    (unsigned long long)want * connected, (unsigned long long)delivered,
	    complete, ended_early, pct(&lat, 50), pct(&lat, 90), pct(&lat, 99),
	    pct(&lat, 100), pct(&p.lat, 50), pct(&p.lat, 99),
	    (unsigned long long)other, cpu);
	if (overflow)
		fprintf(stderr, "taxii_load sse: %llu over-long lines\n",
			(unsigned long long)overflow);

	for (unsigned i = 0; i < ns; i++) {
		curl_multi_remove_handle(m, subs[i].h);
		curl_easy_cleanup(subs[i].h);
		curl_slist_free_all(subs[i].hdrs);
		buf_free(&subs[i].line);
	}
	curl_multi_cleanup(m);
	ev_free(&ev);
	free(subs);
	samples_free(&lat);
	samples_free(&p.lat);
	for (size_t i = 0; i < nt; i++)
		free(tokens[i]);
	free(tokens);
	bool ok =
	    connected == ns && p.errors == 0 && delivered >= want * connected;
	return ok ? 0 : 1;
}

/* ------------------------------------------------------------------ */
/* ready: restart-to-serving                                            */
/* ------------------------------------------------------------------ */

/* The URL on the first line 'strait serve' printed, once it is there. */
static bool url_from_file(const char *file, char *url, size_t cap)
{
	FILE *f = fopen(file, "r");
	if (f == NULL)
		return false;
	char line[1024];
	bool ok = false;
	if (fgets(line, sizeof(line), f) != NULL && strchr(line, '\n')) {
		const char *u = strstr(line, "http");
		if (u != NULL) {
			size_t n = strcspn(u, " \r\n");
			if (n < cap) {
				memcpy(url, u, n);
				url[n] = '\0';
				ok = true;
			}
		}
	}
	fclose(f);
	return ok;
}

static int cmd_ready(struct opts *o)
{
	if (o->url_file == NULL || o->since_ns == 0) {
		fputs("taxii_load ready: --url-file and --since-ns are "
		      "required\n",
		      stderr);
		return 2;
	}
	unsigned timeout = o->timeout_s ? o->timeout_s : 60;
	long long deadline = o->since_ns + (long long)timeout * 1000000000LL;
	char url[1024];
	long long url_ns = 0;
	while (!url_from_file(o->url_file, url, sizeof(url))) {
		if (realtime_ns() > deadline) {
			printf("ready: timeout=%u no_url=1\n", timeout);
			return 1;
		}
		sleep_us(1000);
	}
	url_ns = realtime_ns();
	struct client c;
	client_init(&c, o->token, TAXII_TYPE, false, NULL);
	curl_easy_setopt(c.h, CURLOPT_TIMEOUT_MS, 2000L);
	long st = 0;
	unsigned tries = 0;
	while ((st = client_do(&c, url, NULL, 0)) != 200) {
		tries++;
		if (realtime_ns() > deadline) {
			printf("ready: timeout=%u status=%ld\n", timeout, st);
			client_free(&c);
			return 1;
		}
		sleep_us(2000);
	}
	long long ready_ns = realtime_ns();
	printf("ready: ms=%.1f url_ms=%.1f retries=%u url=%s\n",
	       (double)(ready_ns - o->since_ns) / 1e6,
	       (double)(url_ns - o->since_ns) / 1e6, tries, url);
	client_free(&c);
	return 0;
}

/* ------------------------------------------------------------------ */
/* gen: the same indicators as a bundle (the import ceiling)            */
/* ------------------------------------------------------------------ */

static int cmd_gen(struct opts *o)
{
	unsigned size = o->size ? o->size : 100;
	unsigned k = o->envelopes ? o->envelopes : 100;
	struct gen_stix *g = new_gen(run_seed(o));
	struct buf b = BUF_INIT(BODY_MAX);
	char id[UUID_STRLEN + 1];
	uint8_t u[16];
	uint64_t a = gen_stix_next(g), c = gen_stix_next(g);
	memcpy(u, &a, 8);
	memcpy(u + 8, &c, 8);
	u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
	u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
	uuid_format(u, id);
	printf("{\"type\":\"bundle\",\"id\":\"bundle--%s\",\"objects\":[\n",
	       id);
	for (uint64_t i = 0; i < (uint64_t)k * size; i++) {
		struct jw w;
		buf_reset(&b);
		jw_init(&w, &b);
		jw_obj_open(&w);
		gen_stix_indicator_members(g, &w);
		jw_obj_close(&w);
		if (jw_finish(&w) != ST_OK)
			return 1;
		if (i > 0)
			fputs(",\n", stdout);
		fwrite(b.data, 1, b.len, stdout);
	}
	fputs("\n]}\n", stdout);
	buf_free(&b);
	free(g);
	return fflush(stdout) == 0 ? 0 : 1;
}

/* ------------------------------------------------------------------ */
/* Options and subcommands                                              */
/* ------------------------------------------------------------------ */

static const struct subcommand {
	const char *name;
	int (*run)(struct opts *o);
	const char *what;
} subcommands[] = {
    {"get", cmd_get, "GET one URL on C connections for S seconds"},
    {"post", cmd_post, "P posters, K envelopes of generated indicators"},
    {"page", cmd_page, "page through the collection following next"},
    {"latency", cmd_latency, "R readers fetching random pages"},
    {"sse", cmd_sse, "stream fan-out: S subscribers, event latency"},
    {"ready", cmd_ready, "time from --since-ns to the first discovery 200"},
    {"gen", cmd_gen, "write the posted kind of indicators as a bundle"},
};
#define NSUB (sizeof(subcommands) / sizeof(subcommands[0]))

static void usage(FILE *f)
{
	fputs("usage: taxii_load SUBCOMMAND [options] (see bench/taxii_load.c)"
	      "\n",
	      f);
	for (size_t i = 0; i < NSUB; i++)
		fprintf(f, "  %-8s %s\n", subcommands[i].name,
			subcommands[i].what);
}

static unsigned uarg(const char *name, const char *v)
{
	char *end;
	unsigned long n = strtoul(v, &end, 10);
	if (*end != '\0' || end == v || n > 100000000ul) {
		fprintf(stderr,
			"taxii_load: --%s: expected a count, got '%s'\n", name,
			v);
		exit(2);
	}
	return (unsigned)n;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
	    {"url", required_argument, NULL, 'u'},
	    {"token", required_argument, NULL, 't'},
	    {"collection", required_argument, NULL, 'c'},
	    {"tokens-file", required_argument, NULL, 'T'},
	    {"url-file", required_argument, NULL, 'F'},
	    {"posters", required_argument, NULL, 'P'},
	    {"envelopes", required_argument, NULL, 'K'},
	    {"size", required_argument, NULL, 'z'},
	    {"limit", required_argument, NULL, 'l'},
	    {"readers", required_argument, NULL, 'R'},
	    {"seconds", required_argument, NULL, 's'},
	    {"conns", required_argument, NULL, 'C'},
	    {"subscribers", required_argument, NULL, 'S'},
	    {"per-addr", required_argument, NULL, 'A'},
	    {"batch", required_argument, NULL, 'b'},
	    {"posts", required_argument, NULL, 'n'},
	    {"interval-ms", required_argument, NULL, 'i'},
	    {"drain", required_argument, NULL, 'd'},
	    {"timeout", required_argument, NULL, 'o'},
	    {"stride", required_argument, NULL, 'r'},
	    {"seed", required_argument, NULL, 'e'},
	    {"since-ns", required_argument, NULL, 'N'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	if (argc < 2 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	const struct subcommand *sc = NULL;
	for (size_t i = 0; i < NSUB; i++)
		if (strcmp(argv[1], subcommands[i].name) == 0)
			sc = &subcommands[i];
	if (sc == NULL) {
		usage(stderr);
		return 2;
	}
	struct opts o;
	memset(&o, 0, sizeof(o));
	int ch;
	optind = 2;
	while ((ch = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		const char *name = NULL;
		for (const struct option *l = lopts; l->name; l++)
			if (l->val == ch)
				name = l->name;
		switch (ch) {
		case 'u':
			o.url = optarg;
			break;
		case 't':
			o.token = optarg;
			break;
		case 'c':
			o.collection = optarg;
			break;
		case 'T':
			o.tokens_file = optarg;
			break;
		case 'F':
			o.url_file = optarg;
			break;
		case 'P':
			o.posters = uarg(name, optarg);
			break;
		case 'K':
			o.envelopes = uarg(name, optarg);
			break;
		case 'z':
			o.size = uarg(name, optarg);
			break;
		case 'l':
			o.limit = uarg(name, optarg);
			break;
		case 'R':
			o.readers = uarg(name, optarg);
			break;
		case 's':
			o.seconds = uarg(name, optarg);
			break;
		case 'C':
			o.conns = uarg(name, optarg);
			break;
		case 'S':
			o.subscribers = uarg(name, optarg);
			break;
		case 'A':
			o.per_addr = uarg(name, optarg);
			break;
		case 'b':
			o.batch = uarg(name, optarg);
			break;
		case 'n':
			o.posts = uarg(name, optarg);
			break;
		case 'i':
			o.interval_ms = uarg(name, optarg);
			break;
		case 'd':
			o.drain_s = uarg(name, optarg);
			break;
		case 'o':
			o.timeout_s = uarg(name, optarg);
			break;
		case 'r':
			o.stride = uarg(name, optarg);
			break;
		case 'e':
			o.seed = strtoull(optarg, NULL, 10);
			break;
		case 'N':
			o.since_ns = strtoll(optarg, NULL, 10);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "taxii_load: unexpected argument '%s'\n",
			argv[optind]);
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	int rc = sc->run(&o);
	fflush(stdout);
	curl_global_cleanup();
	return rc;
}
