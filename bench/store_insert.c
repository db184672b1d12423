/*
 * bench_store_insert: appends N synthetic STIX indicators (about 500-byte
 * canonical bodies, one collection membership each) through the store's
 * writer, as the import pipeline does: batches of 10,000, two in flight,
 * timed until the last one is durably committed.
 *
 * Beside it, two ceilings measured in the same run: making the items only
 * (what the producer costs here), and appending the same bytes to a plain
 * file with one fdatasync per batch (what the disk allows).
 *
 *   bench_store_insert [N] [--batch B] [--body BYTES] [--dir DIR] [--keep]
 */
#include "store/store.h"

#include "common/uuid.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct gen {
	uint64_t state;
	uint64_t serial;
};

static uint64_t rnd(struct gen *g)
{
	/* xorshift64*: cheap, so the bench measures the store. */
	g->state ^= g->state >> 12;
	g->state ^= g->state << 25;
	g->state ^= g->state >> 27;
	return g->state * 2685821657736338717ull;
}

struct bbatch {
	struct store_batch b;
	char (*ids)[80];
	char *bodies; /* n * stride bytes */
	size_t stride;
};

/* A plausible canonical indicator of about body_len bytes. */
static size_t make_body(struct gen *g, char *out, size_t cap, const char *id,
			size_t body_len)
{
	static const char pad[] =
	    "Observed in phishing infrastructure targeting government "
	    "portals; associated with credential harvesting kits and "
	    "fast-flux hosting. Shared under the trilateral agreement. ";
	char desc[1024];
	uint64_t r = rnd(g);
	int base = snprintf(
	    out, cap,
	    "{\"created\":\"2025-03-01T08:%02u:%02u.000Z\","
	    "\"description\":\"\","
	    "\"id\":\"%s\",\"indicator_types\":[\"malicious-activity\"],"
	    "\"modified\":\"2025-03-01T08:%02u:%02u.000Z\","
	    "\"name\":\"C2 server %u.%u.%u.%u\","
	    "\"object_marking_refs\":[\"marking-definition--bab4a63c-aed9-"
	    "4cf5-a766-dfca5abac2bb\"],"
	    "\"pattern\":\"[ipv4-addr:value = '%u.%u.%u.%u']\","
	    "\"pattern_type\":\"stix\",\"spec_version\":\"2.1\","
	    "\"type\":\"indicator\","
	    "\"valid_from\":\"2025-03-01T08:00:00Z\"}",
	    (unsigned)(r % 60), (unsigned)(r / 60 % 60), id,
	    (unsigned)(r / 3600 % 60), (unsigned)(r / 216000 % 60),
	    (unsigned)(r >> 8 & 255), (unsigned)(r >> 16 & 255),
	    (unsigned)(r >> 24 & 255), (unsigned)(r >> 32 & 255),
	    (unsigned)(r >> 8 & 255), (unsigned)(r >> 16 & 255),
	    (unsigned)(r >> 24 & 255), (unsigned)(r >> 32 & 255));
	size_t want = body_len > (size_t)base ? body_len - (size_t)base : 0;
	if (want >= sizeof(desc))
		want = sizeof(desc) - 1;
	for (size_t i = 0; i < want; i++)
		desc[i] = pad[(i + r % 7) % (sizeof(pad) - 1)];
	desc[want] = '\0';
	return (size_t)snprintf(
	    out, cap,
	    "{\"created\":\"2025-03-01T08:%02u:%02u.000Z\","
	    "\"description\":\"%s\","
	    "\"id\":\"%s\",\"indicator_types\":[\"malicious-activity\"],"
	    "\"modified\":\"2025-03-01T08:%02u:%02u.000Z\","
	    "\"name\":\"C2 server %u.%u.%u.%u\","
	    "\"object_marking_refs\":[\"marking-definition--bab4a63c-aed9-"
	    "4cf5-a766-dfca5abac2bb\"],"
	    "\"pattern\":\"[ipv4-addr:value = '%u.%u.%u.%u']\","
	    "\"pattern_type\":\"stix\",\"spec_version\":\"2.1\","
	    "\"type\":\"indicator\","
	    "\"valid_from\":\"2025-03-01T08:00:00Z\"}",
	    (unsigned)(r % 60), (unsigned)(r / 60 % 60), desc, id,
	    (unsigned)(r / 3600 % 60), (unsigned)(r / 216000 % 60),
	    (unsigned)(r >> 8 & 255), (unsigned)(r >> 16 & 255),
	    (unsigned)(r >> 24 & 255), (unsigned)(r >> 32 & 255),
	    (unsigned)(r >> 8 & 255), (unsigned)(r >> 16 & 255),
	    (unsigned)(r >> 24 & 255), (unsigned)(r >> 32 & 255));
}

static void fill(struct gen *g, struct bbatch *bb, size_t n, size_t body_len,
		 uint64_t *bytes)
{
	for (size_t i = 0; i < n; i++) {
		struct store_item *it = &bb->b.items[i];
		uint8_t u[16];
		uint64_t a = rnd(g), b = rnd(g);
		memcpy(u, &a, 8);
		memcpy(u + 8, &b, 8);
		u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
		u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
		memcpy(bb->ids[i], "indicator--", 11);
		uuid_format(u, bb->ids[i] + 11);
		char *body = bb->bodies + i * bb->stride;
		it->id = bb->ids[i];
		it->body = body;
		it->body_len =
		    make_body(g, body, bb->stride, bb->ids[i], body_len);
		it->versioned = true;
		it->version = 1740816000000000 + (st_time)(g->serial++);
		it->modified = it->version;
		it->tlp = 1;
		it->flags = 0;
		it->warnings = NULL;
		*bytes += it->body_len;
	}
	bb->b.n = n;
}

static int bb_init(struct bbatch *bb, size_t n, size_t body_len, int64_t cid)
{
	memset(bb, 0, sizeof(*bb));
	bb->stride = body_len + 1200;
	bb->b.items = calloc(n, sizeof(*bb->b.items));
	bb->ids = calloc(n, sizeof(*bb->ids));
	bb->bodies = malloc(n * bb->stride);
	bb->b.cid = cid;
	return bb->b.items && bb->ids && bb->bodies ? 0 : -1;
}

static void bb_free(struct bbatch *bb)
{
	free(bb->b.items);
	free(bb->ids);
	free(bb->bodies);
}

static int count_row(void *ctx, const struct store_row *row)
{
	struct store_query *q = ctx;
	q->after_seq = row->seq;
	q->added_after = row->date_added;
	return 0;
}

/* Pages through the whole log as an export does: limit 1000 a page. */
static double page_all(struct store *s, int64_t cid, enum store_vsel vsel,
		       size_t *total)
{
	struct store_query q = {.cid = cid, .vsel = vsel, .limit = 1000};
	size_t n;
	double t0 = time_mono();
	*total = 0;
	do {
		if (store_query(s, &q, count_row, &q, &n, NULL) != ST_OK)
			return 0;
		*total += n;
	} while (n == q.limit);
	return (double)*total / (time_mono() - t0);
}

static uint64_t fsize(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
}

/* Ceiling: the same bytes appended to a file, one fdatasync a batch. */
static double raw_ceiling(const char *dir, struct bbatch *bb, size_t n,
			  size_t batch, size_t body_len)
{
	char path[4200];
	struct gen g = {88172645463325252ull, 0};
	uint64_t bytes = 0;
	snprintf(path, sizeof(path), "%s/raw.bin", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return 0;
	double t0 = time_mono();
	for (size_t done = 0; done < n; done += batch) {
		size_t k = n - done < batch ? n - done : batch;
		fill(&g, bb, k, body_len, &bytes);
		for (size_t i = 0; i < k; i++) {
			const struct store_item *it = &bb->b.items[i];
			if (write(fd, it->body, it->body_len) < 0)
				break;
		}
		fdatasync(fd);
	}
	double t = time_mono() - t0;
	close(fd);
	unlink(path);
	return (double)n / t;
}

int main(int argc, char **argv)
{
	size_t n = 1000000, batch = 10000, body_len = 500;
	const char *dir = NULL;
	char tmpl[4096], url[4300], path[4200], wal[4300];
	bool keep = false;
	struct store *s = NULL;
	struct diag d = {""};
	struct bbatch bb[2];
	int rc = 1;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc)
			batch = strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--body") == 0 && i + 1 < argc)
			body_len = strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
			dir = argv[++i];
		else if (strcmp(argv[i], "--keep") == 0)
			keep = true;
		else
			n = strtoul(argv[i], NULL, 10);
	}
	if (n == 0 || batch == 0 || body_len > 4000) {
		fprintf(stderr,
			"usage: %s [N] [--batch B] [--body BYTES] "
			"[--dir DIR] [--keep]\n",
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
	snprintf(wal, sizeof(wal), "%s-wal", path);
	if (bb_init(&bb[0], batch, body_len, 0) ||
	    bb_init(&bb[1], batch, body_len, 0)) {
		fprintf(stderr, "out of memory\n");
		return 1;
	}

	/* Ceiling 1: the producer alone. */
	struct gen g = {88172645463325252ull, 0};
	uint64_t bytes = 0;
	double t0 = time_mono();
	for (size_t done = 0; done < n; done += batch)
		fill(&g, &bb[0], n - done < batch ? n - done : batch, body_len,
		     &bytes);
	double gen_rate = (double)n / (time_mono() - t0);

	/* Ceiling 2: the disk. */
	double raw_rate = raw_ceiling(dir, &bb[0], n, batch, body_len);

	struct store_options o = {.create = true};
	if (store_open(url, &o, &s, &d) != ST_OK) {
		fprintf(stderr, "store_open: %s\n", d.msg);
		goto out;
	}
	struct store_collection c;
	memset(&c, 0, sizeof(c));
	snprintf(c.id, sizeof(c.id), "7f1e0c55-2d6b-4c3e-9a51-0b6f5d1a2e90");
	snprintf(c.title, sizeof(c.title), "bench");
	if (store_collection_add(s, &c, &d) != ST_OK) {
		fprintf(stderr, "collection: %s\n", d.msg);
		goto out;
	}
	bb[0].b.cid = bb[1].b.cid = c.cid;

	/* The run: fill one batch while the writer commits the other. */
	g = (struct gen){88172645463325252ull, 0};
	bytes = 0;
	uint64_t stored = 0;
	size_t done = 0;
	int cur = 0;
	bool inflight[2] = {false, false};
	t0 = time_mono();
	while (done < n || inflight[0] || inflight[1]) {
		if (inflight[cur]) {
			if (store_wait(s, &bb[cur].b) != ST_OK) {
				fprintf(stderr, "append: %s\n",
					bb[cur].b.diag.msg);
				goto out;
			}
			for (size_t i = 0; i < bb[cur].b.n; i++)
				stored +=
				    bb[cur].b.items[i].result == STORE_STORED;
			inflight[cur] = false;
		}
		if (done < n) {
			size_t k = n - done < batch ? n - done : batch;
			fill(&g, &bb[cur], k, body_len, &bytes);
			if (store_submit(s, &bb[cur].b) != ST_OK) {
				fprintf(stderr, "submit: %s\n",
					bb[cur].b.diag.msg);
				goto out;
			}
			inflight[cur] = true;
			done += k;
		}
		cur ^= 1;
	}
	double t = time_mono() - t0;
	struct store_stats st;
	store_stats(s, &st);
	size_t n1, n2;
	double r1 = page_all(s, 0, STORE_V_ALL, &n1);
	double r2 = page_all(s, c.cid, STORE_V_LAST, &n2);
	uint64_t before_close = st.db_bytes;
	double tc = time_mono();
	store_close(s);
	s = NULL;
	tc = time_mono() - tc;
	uint64_t db = fsize(path) + fsize(wal);

	printf("items           %zu (stored %llu), batch %zu, body ~%zu B\n", n,
	       (unsigned long long)stored, batch, body_len);
	printf("insert          %.0f rows/s, %.1f MB/s of bodies, %.2f s\n",
	       (double)n / t, (double)bytes / t / 1e6, t);
	printf("ceiling: make   %.0f rows/s (producing items only)\n",
	       gen_rate);
	printf("ceiling: disk   %.0f rows/s (same bytes, one fdatasync a "
	       "batch)\n",
	       raw_rate);
	printf("read: log       %.0f rows/s (%zu rows, after_seq pages of "
	       "1000)\n",
	       r1, n1);
	printf("read: coll last %.0f rows/s (%zu rows, added_after pages of "
	       "1000, latest versions)\n",
	       r2, n2);
	printf("commits         %llu for %llu batches\n",
	       (unsigned long long)st.commits, (unsigned long long)st.batches);
	printf("db before close %.1f MB (db + WAL)\n", before_close / 1e6);
	printf("close           %.2f s (final checkpoint)\n", tc);
	printf("db size         %.1f MB for %.1f MB of bodies: %.3fx\n",
	       db / 1e6, bytes / 1e6, (double)db / (double)bytes);
	rc = 0;
out:
	store_close(s);
	bb_free(&bb[0]);
	bb_free(&bb[1]);
	if (!keep) {
		unlink(path);
		unlink(wal);
		char shm[4300];
		snprintf(shm, sizeof(shm), "%s-shm", path);
		unlink(shm);
		if (dir == tmpl)
			rmdir(dir);
	}
	return rc;
}
