#define _GNU_SOURCE /* memmem */
/*
 * Propagation latency between federated nodes (issue 5), on loopback.
 *
 *   fed_latency --post BASE TOKEN COLL --watch BASE TOKEN COLL
 *               [--n N] [--burst B] [--label TEXT]
 *
 * Posts N envelopes of B new TLP:CLEAR indicators, one after the other,
 * to the first node's collection (TAXII Add Objects; 202 = durable there)
 * and watches the second node's live stream of its collection (Server-Sent
 * Events) for them. For each envelope it records the time from the start
 * of the POST to the 202 (the first node's own durable write: the
 * ceiling), and from the 202 and from the start of the POST to the arrival
 * of the last object of the envelope at the second node. Prints p50, p99
 * and max of each. The next envelope is posted only once the previous one
 * arrived, so each is measured alone.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define MAX_BURST 1000
#define ID_LEN 48

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

struct pending {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char ids[MAX_BURST][ID_LEN];
	bool seen[MAX_BURST];
	size_t n, left;
	double last_arrival;
	bool stream_up;
	char line[1 << 20];
	size_t line_len;
};

static struct pending P = {
    .mu = PTHREAD_MUTEX_INITIALIZER,
    .cv = PTHREAD_COND_INITIALIZER,
};

static void on_line(const char *l, size_t n)
{
	if (n < 6 || memcmp(l, "data: ", 6) != 0)
		return;
	/* canonical JSON: the first "id" member is the object's id */
	const char *p = memmem(l, n, "\"id\":\"", 6);
	if (p == NULL)
		return;
	p += 6;
	const char *e = memchr(p, '"', (size_t)(l + n - p));
	if (e == NULL || e - p >= ID_LEN)
		return;
	double t = now_ms();
	pthread_mutex_lock(&P.mu);
	for (size_t i = 0; i < P.n; i++) {
		if (!P.seen[i] && (size_t)(e - p) == strlen(P.ids[i]) &&
		    memcmp(P.ids[i], p, (size_t)(e - p)) == 0) {
			P.seen[i] = true;
			P.last_arrival = t;
			if (--P.left == 0)
				pthread_cond_signal(&P.cv);
			break;
		}
	}
	pthread_mutex_unlock(&P.mu);
}

static size_t on_stream(char *p, size_t size, size_t n, void *ctx)
{
	(void)ctx;
	size_t len = size * n;
	pthread_mutex_lock(&P.mu);
	if (!P.stream_up) {
		P.stream_up = true;
		pthread_cond_signal(&P.cv);
	}
	pthread_mutex_unlock(&P.mu);
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\n') {
			on_line(P.line, P.line_len);
			P.line_len = 0;
		} else if (P.line_len < sizeof(P.line)) {
			P.line[P.line_len++] = p[i];
		}
	}
	return len;
}

struct node {
	const char *base, *token, *coll;
};

static struct node watch;

static void *stream_main(void *arg)
{
	(void)arg;
	char url[1024], auth[600];
	snprintf(url, sizeof(url), "%sapi/v1/collections/%s/stream/",
		 watch.base, watch.coll);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", watch.token);
	CURL *h = curl_easy_init();
	struct curl_slist *hd = curl_slist_append(NULL, auth);
	hd = curl_slist_append(hd, "Accept: text/event-stream");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_stream);
	curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	CURLcode rc = curl_easy_perform(h);
	fprintf(stderr, "fed_latency: stream ended: %s\n",
		curl_easy_strerror(rc));
	curl_slist_free_all(hd);
	curl_easy_cleanup(h);
	return NULL;
}

static size_t sink(char *p, size_t size, size_t n, void *ctx)
{
	(void)p;
	(void)ctx;
	return size * n;
}

static void uuid4(char out[37])
{
	uint8_t b[16];
	if (getrandom(b, sizeof(b), 0) != sizeof(b))
		abort();
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x"
		 "%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
		 b[10], b[11], b[12], b[13], b[14], b[15]);
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void report(const char *what, double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp);
	size_t i99 = n ? (size_t)((double)(n - 1) * 0.99 + 0.5) : 0;
	printf("  %-34s p50 %7.2f ms  p99 %7.2f ms  max %7.2f ms  (n=%zu)\n",
	       what, n ? v[n / 2] : 0, n ? v[i99] : 0, n ? v[n - 1] : 0, n);
}

int main(int argc, char **argv)
{
	struct node post = {0};
	int n = 200, burst = 1;
	const char *label = "";
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--post") == 0 && i + 3 < argc) {
			post = (struct node){argv[i + 1], argv[i + 2],
					     argv[i + 3]};
			i += 3;
		} else if (strcmp(argv[i], "--watch") == 0 && i + 3 < argc) {
			watch = (struct node){argv[i + 1], argv[i + 2],
					      argv[i + 3]};
			i += 3;
		} else if (strcmp(argv[i], "--n") == 0 && i + 1 < argc) {
			n = atoi(argv[++i]);
		} else if (strcmp(argv[i], "--burst") == 0 && i + 1 < argc) {
			burst = atoi(argv[++i]);
		} else if (strcmp(argv[i], "--label") == 0 && i + 1 < argc) {
			label = argv[++i];
		} else {
			fprintf(stderr,
				"usage: fed_latency --post BASE TOKEN COLL "
				"--watch BASE TOKEN COLL [--n N] [--burst B] "
				"[--label TEXT]\n");
			return 2;
		}
	}
	if (post.base == NULL || watch.base == NULL || n < 1 || burst < 1 ||
	    burst > MAX_BURST) {
		fprintf(stderr, "fed_latency: --post and --watch are needed; "
				"1 <= burst <= 1000\n");
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	pthread_t th;
	pthread_create(&th, NULL, stream_main, NULL);
	pthread_mutex_lock(&P.mu);
	while (!P.stream_up)
		pthread_cond_wait(&P.cv, &P.mu);
	pthread_mutex_unlock(&P.mu);

	char url[1024], auth[600];
	snprintf(url, sizeof(url), "%staxii2/root/collections/%s/objects/",
		 post.base, post.coll);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", post.token);
	CURL *h = curl_easy_init();
	struct curl_slist *hd = curl_slist_append(NULL, auth);
	hd =
	    curl_slist_append(hd, "Accept: application/taxii+json;version=2.1");
	hd = curl_slist_append(
	    hd, "Content-Type: application/taxii+json;version=2.1");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	double *t_post = calloc((size_t)n, sizeof(double));
	double *t_prop = calloc((size_t)n, sizeof(double));
	double *t_total = calloc((size_t)n, sizeof(double));
	size_t done = 0, lost = 0;
	char *body = malloc((size_t)burst * 700 + 64);
	for (int k = 0; k < n; k++) {
		size_t len = (size_t)sprintf(body, "{\"objects\":[");
		pthread_mutex_lock(&P.mu);
		P.n = (size_t)burst;
		P.left = (size_t)burst;
		for (int b = 0; b < burst; b++) {
			char u[37];
			uuid4(u);
			snprintf(P.ids[b], ID_LEN, "indicator--%s", u);
			P.seen[b] = false;
			len += (size_t)sprintf(
			    body + len,
			    "%s{\"type\":\"indicator\",\"spec_version\":\"2."
			    "1\","
			    "\"id\":\"%s\",\"created\":\"2026-11-26T00:00:00."
			    "000Z\",\"modified\":\"2026-11-26T00:00:00.000Z\","
			    "\"name\":\"fed bench %d.%d\",\"pattern\":\"[ipv4-"
			    "addr:value = '198.51.100.%d']\",\"pattern_type\":"
			    "\"stix\",\"valid_from\":\"2026-11-26T00:00:00Z\","
			    "\"object_marking_refs\":[\"marking-definition--"
			    "94868c89-83c2-464b-929b-a1a8aa3c8487\"]}",
			    b ? "," : "", P.ids[b], k, b,
			    (k * burst + b) % 250);
		}
		pthread_mutex_unlock(&P.mu);
		len += (size_t)sprintf(body + len, "]}");
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)len);
		double t0 = now_ms();
		CURLcode rc = curl_easy_perform(h);
		double t1 = now_ms();
		long status = 0;
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
		if (rc != CURLE_OK || status != 202) {
			fprintf(stderr, "fed_latency: POST: %s, HTTP %ld\n",
				curl_easy_strerror(rc), status);
			return 1;
		}
		pthread_mutex_lock(&P.mu);
		struct timespec dl;
		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_sec += 10;
		while (P.left > 0 &&
		       pthread_cond_timedwait(&P.cv, &P.mu, &dl) == 0)
			;
		bool all = P.left == 0;
		double ta = P.last_arrival;
		P.n = 0;
		pthread_mutex_unlock(&P.mu);
		if (!all) {
			lost++;
			continue;
		}
		t_post[done] = t1 - t0;
		t_prop[done] = ta - t1;
		t_total[done] = ta - t0;
		done++;
	}
	printf("%s: %d envelopes of %d object%s\n", label, n, burst,
	       burst > 1 ? "s" : "");
	report("POST to the origin (202, durable)", t_post, done);
	report("origin 202 -> last at the watched", t_prop, done);
	report("POST start -> last at the watched", t_total, done);
	if (lost)
		printf("  %zu envelopes did not arrive within 10 s\n", lost);
	return lost ? 1 : 0;
}
