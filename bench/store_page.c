/*
 * bench_store_page: TAXII reads through the store. Fills one collection
 * with N indicators (about 500-byte bodies; every 10th object gets a
 * second version, so "last" has work to do), then measures:
 *
 *   - paging through the whole collection with store_page, limit 1000,
 *     version=last (TAXII's default), rows copied out as a handler would
 *     splice them into an envelope; the same for the manifest (no bodies)
 *     and with a visibility callback that hides every other row;
 *   - the latency of one 100-row page at random positions (p50, p99), with
 *     1 and with --threads T readers at once;
 *   - Get Object (match[id], version=last) latency.
 *
 *   bench_store_page [N] [--threads T] [--samples S] [--dir DIR] [--keep]
 *
 * With --dir naming a store this benchmark made (--keep), the fill is
 * skipped.
 */
#include "store/store.h"

#include "common/uuid.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define COLL_ID "5b0c8a51-7c1e-4d8e-9f35-2a4b6c8d0e1f"

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

/* Object k's id: deterministic, so Get Object can name one. */
static void obj_id(uint64_t k, char *out)
{
	uint8_t u[16];
	uint64_t s = k * 0x9e3779b97f4a7c15ull + 1, a = rnd(&s), b = rnd(&s);
	memcpy(u, &a, 8);
	memcpy(u + 8, &b, 8);
	u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
	u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
	memcpy(out, "indicator--", 11);
	uuid_format(u, out + 11);
}

static size_t make_body(char *out, size_t cap, const char *id, uint64_t k,
			st_time version)
{
	char ts[TS_BUFSZ];
	ts_format_ms(version, ts);
	return (size_t)snprintf(
	    out, cap,
	    "{\"created\":\"2025-03-01T08:00:00.000Z\","
	    "\"description\":\"Observed in phishing infrastructure targeting "
	    "government portals; associated with credential harvesting kits "
	    "and fast-flux hosting. Shared under the trilateral agreement. "
	    "Sample %llu.\",\"id\":\"%s\","
	    "\"indicator_types\":[\"malicious-activity\"],"
	    "\"modified\":\"%s\",\"name\":\"C2 server %llu\","
	    "\"object_marking_refs\":[\"marking-definition--bab4a63c-aed9-"
	    "4cf5-a766-dfca5abac2bb\"],"
	    "\"pattern\":\"[ipv4-addr:value = '10.%u.%u.%u']\","
	    "\"pattern_type\":\"stix\",\"spec_version\":\"2.1\","
	    "\"type\":\"indicator\",\"valid_from\":\"2025-03-01T08:00:00Z\"}",
	    (unsigned long long)k, id, ts, (unsigned long long)k,
	    (unsigned)(k >> 16 & 255), (unsigned)(k >> 8 & 255),
	    (unsigned)(k & 255));
}

/* Appends n objects (and a second version of every 10th). */
static int fill(struct store *s, int64_t cid, size_t n)
{
	enum { B = 10000 };
	struct store_item *items = calloc(B, sizeof(*items));
	char(*ids)[80] = calloc(B, sizeof(*ids));
	char *bodies = malloc((size_t)B * 1024);
	struct store_batch b;
	int rc = 0;
	const st_time base = 1740816000000000;
	size_t total = n + n / 10, done = 0;
	if (items == NULL || ids == NULL || bodies == NULL)
		rc = -1;
	while (rc == 0 && done < total) {
		size_t k = total - done < B ? total - done : B;
		for (size_t i = 0; i < k; i++) {
			size_t j = done + i;
			/* The first n: version 1 of object j; then a
			 * second version of objects 0, 10, 20, ... */
			uint64_t obj = j < n ? j : (j - n) * 10;
			st_time ver = base + (j < n ? 0 : 1000000);
			obj_id(obj, ids[i]);
			items[i] = (struct store_item){
			    .id = ids[i],
			    .body = bodies + i * 1024,
			    .versioned = true,
			    .version = ver,
			    .modified = ver,
			    .tlp = 1,
			};
			items[i].body_len = make_body(bodies + i * 1024, 1024,
						      ids[i], obj, ver);
		}
		memset(&b, 0, sizeof(b));
		b.items = items;
		b.n = k;
		b.cid = cid;
		if (store_append(s, &b) != ST_OK) {
			fprintf(stderr, "append: %s\n", b.diag.msg);
			rc = -1;
		}
		done += k;
	}
	free(items);
	free(ids);
	free(bodies);
	return rc;
}

/* What a handler does per row: copy the body into the response. */
struct sink {
	char *buf;
	size_t cap, len;
	uint64_t rows, bytes;
};

static int sink_row(void *ctx, const struct store_row *row)
{
	struct sink *k = ctx;
	if (row->body_len > 0) {
		if (k->len + row->body_len > k->cap)
			k->len = 0;
		memcpy(k->buf + k->len, row->body, row->body_len);
		k->len += row->body_len;
	}
	k->rows++;
	k->bytes += row->body_len + strlen(row->id);
	return 0;
}

static bool half(void *ctx, const struct store_row *row)
{
	(void)ctx;
	return row->seq % 2 == 0;
}

/* Pages through the collection; returns rows/s. */
static double page_through(struct store *s, int64_t cid, unsigned flags,
			   unsigned vsel, store_visible_fn vis, uint64_t *rows,
			   size_t *pages)
{
	static char buf[4 << 20];
	struct sink k = {buf, sizeof(buf), 0, 0, 0};
	struct store_page_query q = {.cid = cid,
				     .limit = 1000,
				     .flags = flags,
				     .visible = vis,
				     .version = {vsel, NULL, 0}};
	struct store_page_result r;
	struct diag d = {""};
	*pages = 0;
	double t0 = time_mono();
	do {
		k.len = 0;
		if (store_page(s, &q, sink_row, &k, &r, &d) != ST_OK) {
			fprintf(stderr, "page: %s\n", d.msg);
			return 0;
		}
		q.after = r.next;
		(*pages)++;
	} while (r.more);
	*rows = k.rows;
	return (double)k.rows / (time_mono() - t0);
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

struct lat {
	struct store *s;
	int64_t cid;
	st_time lo, hi;
	size_t samples;
	bool by_id;
	size_t n_objects;
	uint64_t seed;
	double *ms;
	int bad;
};

static void *lat_main(void *arg)
{
	struct lat *l = arg;
	static __thread char buf[1 << 20];
	struct sink k = {buf, sizeof(buf), 0, 0, 0};
	char id[80];
	const char *ids[1] = {id};
	for (size_t i = 0; i < l->samples; i++) {
		struct store_page_query q = {.cid = l->cid, .limit = 100};
		struct store_page_result r;
		uint64_t x = rnd(&l->seed);
		if (l->by_id) {
			obj_id(x % l->n_objects, id);
			q.ids = ids;
			q.nids = 1;
		} else {
			q.after =
			    l->lo + (st_time)(x % (uint64_t)(l->hi - l->lo));
		}
		k.len = 0;
		k.rows = 0;
		double t0 = time_mono();
		if (store_page(l->s, &q, sink_row, &k, &r, NULL) != ST_OK)
			l->bad++;
		l->ms[i] = (time_mono() - t0) * 1e3;
		if (l->by_id ? k.rows != 1 : k.rows == 0)
			l->bad++;
	}
	return NULL;
}

/* p50 and p99 over `threads` readers each taking `samples` pages. */
static int latency(struct store *s, int64_t cid, st_time lo, st_time hi,
		   size_t n_objects, bool by_id, int threads, size_t samples,
		   double *p50, double *p99, double *rate)
{
	struct lat l[64];
	pthread_t th[64];
	double *all = calloc((size_t)threads * samples, sizeof(double));
	int bad = 0;
	if (all == NULL)
		return -1;
	double t0 = time_mono();
	for (int i = 0; i < threads; i++) {
		l[i] = (struct lat){s,
				    cid,
				    lo,
				    hi,
				    samples,
				    by_id,
				    n_objects,
				    0x1234567ull + (uint64_t)i * 77,
				    all + (size_t)i * samples,
				    0};
		pthread_create(&th[i], NULL, lat_main, &l[i]);
	}
	for (int i = 0; i < threads; i++) {
		pthread_join(th[i], NULL);
		bad += l[i].bad;
	}
	double t = time_mono() - t0;
	size_t n = (size_t)threads * samples;
	qsort(all, n, sizeof(double), cmp_d);
	*p50 = all[n / 2];
	*p99 = all[n * 99 / 100];
	*rate = (double)n / t;
	free(all);
	if (bad)
		fprintf(stderr, "latency: %d bad pages\n", bad);
	return bad ? -1 : 0;
}

int main(int argc, char **argv)
{
	size_t n = 1000000, samples = 2000;
	int threads = 4;
	const char *dir = NULL;
	char tmpl[4096], url[4300], path[4200];
	bool keep = false;
	struct store *s = NULL;
	struct diag d = {""};
	int rc = 1;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
			threads = atoi(argv[++i]);
		else if (strcmp(argv[i], "--samples") == 0 && i + 1 < argc)
			samples = strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
			dir = argv[++i];
		else if (strcmp(argv[i], "--keep") == 0)
			keep = true;
		else
			n = strtoul(argv[i], NULL, 10);
	}
	if (n < 1000 || threads < 1 || threads > 64 || samples == 0) {
		fprintf(stderr,
			"usage: %s [N >= 1000] [--threads 1..64] "
			"[--samples S] [--dir DIR] [--keep]\n",
			argv[0]);
		return 2;
	}
	if (dir == NULL) {
		const char *t = getenv("TMPDIR");
		snprintf(tmpl, sizeof(tmpl), "%s/strait-bench-XXXXXX",
			 t != NULL && t[0] ? t : "/tmp");
		if (mkdtemp(tmpl) == NULL) {
			perror("mkdtemp");
			return 1;
		}
		dir = tmpl;
	}
	snprintf(path, sizeof(path), "%s/store.db", dir);
	snprintf(url, sizeof(url), "sqlite:%s", path);
	struct store_options o = {.create = true};
	if (store_open(url, &o, &s, &d) != ST_OK) {
		fprintf(stderr, "store_open: %s\n", d.msg);
		goto out;
	}
	struct store_collection c;
	double tf = 0;
	if (store_collection_find(s, COLL_ID, &c) != ST_OK) {
		memset(&c, 0, sizeof(c));
		snprintf(c.id, sizeof(c.id), "%s", COLL_ID);
		snprintf(c.title, sizeof(c.title), "bench");
		if (store_collection_add(s, &c, &d) != ST_OK) {
			fprintf(stderr, "collection: %s\n", d.msg);
			goto out;
		}
		tf = time_mono();
		if (fill(s, c.cid, n) != 0)
			goto out;
		tf = time_mono() - tf;
		/* Read from a settled store, as a server after a load. */
		store_close(s);
		s = NULL;
		if (store_open(url, &o, &s, &d) != ST_OK) {
			fprintf(stderr, "store_open: %s\n", d.msg);
			goto out;
		}
	}
	struct store_stats st;
	store_stats(s, &st);
	printf("store           %llu versions, %llu objects, %.0f MB%s\n",
	       (unsigned long long)st.versions, (unsigned long long)st.objects,
	       (double)st.db_bytes / 1e6, tf > 0 ? "" : " (reused)");
	if (tf > 0)
		printf("fill            %.0f versions/s\n",
		       (double)st.versions / tf);

	uint64_t rows;
	size_t pages;
	double r = page_through(s, c.cid, 0, 0, NULL, &rows, &pages);
	printf("objects paging  %.0f rows/s (%llu rows, %zu pages of 1000,"
	       " version=last)\n",
	       r, (unsigned long long)rows, pages);
	r = page_through(s, c.cid, 0, STORE_VM_ALL, NULL, &rows, &pages);
	printf("objects paging  %.0f rows/s (%llu rows, %zu pages,"
	       " version=all)\n",
	       r, (unsigned long long)rows, pages);
	r = page_through(s, c.cid, STORE_PAGE_NO_BODY, 0, NULL, &rows, &pages);
	printf("manifest paging %.0f rows/s (%llu rows, %zu pages)\n", r,
	       (unsigned long long)rows, pages);
	r = page_through(s, c.cid, 0, 0, half, &rows, &pages);
	printf("half visible    %.0f rows/s served (%llu rows, %zu pages)\n", r,
	       (unsigned long long)rows, pages);

	/* The collection's date_added range, for random positions. */
	struct store_page_query fq = {.cid = c.cid,
				      .limit = 1,
				      .version = {STORE_VM_ALL, NULL, 0},
				      .flags = STORE_PAGE_NO_BODY};
	struct store_page_result fr;
	struct sink k = {NULL, 0, 0, 0, 0};
	store_page(s, &fq, sink_row, &k, &fr, NULL);
	st_time lo = fr.first, hi = store_last_added(s) - 20000;
	double p50, p99, rate;
	int th_counts[2] = {1, threads};
	for (int i = 0; i < 2; i++) {
		if (latency(s, c.cid, lo, hi, n, false, th_counts[i], samples,
			    &p50, &p99, &rate) != 0)
			goto out;
		printf("page of 100     p50 %.3f ms, p99 %.3f ms, %.0f pages/s"
		       " (%d reader%s)\n",
		       p50, p99, rate, th_counts[i],
		       th_counts[i] > 1 ? "s" : "");
	}
	if (latency(s, c.cid, lo, hi, n, true, 1, samples, &p50, &p99, &rate) !=
	    0)
		goto out;
	printf("get object      p50 %.3f ms, p99 %.3f ms\n", p50, p99);
	rc = 0;
out:
	store_close(s);
	if (!keep && dir == tmpl) {
		char p2[4300];
		unlink(path);
		snprintf(p2, sizeof(p2), "%s-wal", path);
		unlink(p2);
		snprintf(p2, sizeof(p2), "%s-shm", path);
		unlink(p2);
		rmdir(tmpl);
	}
	return rc;
}
