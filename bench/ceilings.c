/*
 * Same-run ceilings for the import benchmark, so its figure reads as a ratio
 * on a noisy machine:
 *
 *   ceilings parse FILE          split + simdjson parse of every object
 *   ceilings validate FILE       + STIX validation + canonical form
 *   ceilings insert FILE DIR     the same rows, prepared in memory first,
 *                                batched as the ingest does (CEIL_BATCH,
 *                                CEIL_FLIGHT, CEIL_BATCH_MAX override),
 *                                then only the durable store appends
 *                                (timed), into a fresh store in DIR
 */
#include "common/json.h"
#include "common/split.h"
#include "common/time.h"
#include "stix/stix.h"
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static ssize_t read_fd(void *ctx, char *buf, size_t cap)
{
	return read(*(int *)ctx, buf, cap);
}

static size_t env_size(const char *name, size_t def)
{
	const char *v = getenv(name);
	return v != NULL && atol(v) > 0 ? (size_t)atol(v) : def;
}

struct prepared {
	struct store_item *items;
	size_t n, cap;
	struct buf bodies;
	size_t *off;
	char (*ids)[STIX_ID_MAX];
};

static int add_item(struct prepared *p, const struct stix_info *info,
		    size_t off, size_t len)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 65536;
		struct store_item *items =
		    realloc(p->items, cap * sizeof(*items));
		size_t *offs = realloc(p->off, cap * sizeof(*offs));
		char(*ids)[STIX_ID_MAX] = realloc(p->ids, cap * sizeof(*ids));
		if (items == NULL || offs == NULL || ids == NULL)
			return ST_ENOMEM;
		p->items = items;
		p->off = offs;
		p->ids = ids;
		p->cap = cap;
	}
	struct store_item *it = &p->items[p->n];
	memset(it, 0, sizeof(*it));
	it->body_len = len;
	it->versioned = info->versioned;
	it->version = info->version;
	it->modified = info->modified;
	it->tlp = (uint8_t)(info->tlp == TLP_NONE ? TLP_AMBER : info->tlp);
	memcpy(p->ids[p->n], info->id, sizeof(p->ids[0]));
	p->off[p->n] = off;
	p->n++;
	return ST_OK;
}

int main(int argc, char **argv)
{
	if (argc < 3 || (strcmp(argv[1], "insert") == 0 && argc < 4)) {
		fprintf(stderr, "usage: ceilings parse|validate FILE\n"
				"       ceilings insert FILE DIR\n");
		return 2;
	}
	const char *mode = argv[1];
	bool validate = strcmp(mode, "parse") != 0;
	bool insert = strcmp(mode, "insert") == 0;
	int fd = open(argv[2], O_RDONLY);
	if (fd < 0) {
		perror(argv[2]);
		return 2;
	}
	struct split *sp = split_new(read_fd, &fd, 16u << 20);
	struct json_doc *doc = json_doc_new();
	struct stix_report rep;
	stix_report_init(&rep);
	struct prepared p = {0};
	buf_init(&p.bodies, (size_t)1 << 36);
	uint64_t n = 0, bytes = 0, bad = 0;
	double t0 = time_mono();
	const char *elem;
	size_t len;
	uint64_t off;
	struct diag d;
	int r;
	while ((r = split_next(sp, &elem, &len, &off, &d)) == 1) {
		const struct json_val *root;
		n++;
		bytes += len;
		if (json_parse(doc, elem, len, JSON_PARSE_PADDED, NULL, &root,
			       &d) != ST_OK) {
			bad++;
			continue;
		}
		if (!validate)
			continue;
		struct stix_info info;
		stix_report_reset(&rep);
		if (stix_validate(root, &info, &rep) != ST_OK) {
			bad++;
			continue;
		}
		size_t at = p.bodies.len;
		if (json_canonical(root, &p.bodies, &d) != ST_OK) {
			bad++;
			continue;
		}
		if (insert) {
			add_item(&p, &info, at, p.bodies.len - at);
		} else {
			p.bodies.len = 0; /* keep memory flat */
		}
	}
	if (r < 0) {
		fprintf(stderr, "ceilings: %s\n", d.msg);
		return 1;
	}
	double t1 = time_mono();
	if (!insert) {
		printf("%s: %llu objects (%llu bad), %.2f s, %.0f objects/s, "
		       "%.1f MB/s\n",
		       mode, (unsigned long long)n, (unsigned long long)bad,
		       t1 - t0, (double)n / (t1 - t0),
		       (double)bytes / (t1 - t0) / 1e6);
		return 0;
	}
	for (size_t i = 0; i < p.n; i++) {
		p.items[i].body = p.bodies.data + p.off[i];
		p.items[i].id = p.ids[i];
	}
	char url[4200];
	snprintf(url, sizeof(url), "sqlite:%s/ceiling.db", argv[3]);
	struct store *s;
	struct store_options opt = {.create = true};
	/* Overrides for experiments: rows per batch, batches in flight, rows
	 * per write transaction. */
	size_t BATCH = env_size("CEIL_BATCH", 16384);
	size_t FLIGHT = env_size("CEIL_FLIGHT", 6);
	opt.batch_max = (uint32_t)env_size("CEIL_BATCH_MAX", 0);
	if (FLIGHT > 16)
		FLIGHT = 16;
	if (store_open(url, &opt, &s, &d) != ST_OK) {
		fprintf(stderr, "ceilings: %s\n", d.msg);
		return 1;
	}
	struct store_collection coll = {0};
	snprintf(coll.id, sizeof(coll.id),
		 "2b0d9d5e-0a4b-4c7e-8f1a-3b2c1d0e9f8a");
	snprintf(coll.title, sizeof(coll.title), "bench");
	store_collection_add(s, &coll, &d);
	struct store_batch batches[16];
	memset(batches, 0, sizeof(batches));
	bool busy[16] = {false};
	double t2 = time_mono();
	size_t k = 0;
	for (size_t i = 0; i < p.n; i += BATCH, k = (k + 1) % FLIGHT) {
		if (busy[k])
			store_wait(s, &batches[k]);
		memset(&batches[k], 0, sizeof(batches[k]));
		batches[k].items = p.items + i;
		batches[k].n = p.n - i < BATCH ? p.n - i : BATCH;
		batches[k].cid = coll.cid;
		store_submit(s, &batches[k]);
		busy[k] = true;
	}
	for (k = 0; k < FLIGHT; k++)
		if (busy[k])
			store_wait(s, &batches[k]);
	double t3 = time_mono();
	uint64_t stored = 0;
	for (size_t i = 0; i < p.n; i++)
		stored += p.items[i].result == STORE_STORED;
	struct store_stats st;
	store_stats(s, &st);
	printf("prepare: %llu objects in %.2f s (not timed below)\n",
	       (unsigned long long)n, t1 - t0);
	printf("insert: %llu rows (%llu new), %.2f s, %.0f rows/s, "
	       "db %.1f MB for %.1f MB of canonical bodies\n",
	       (unsigned long long)p.n, (unsigned long long)stored, t3 - t2,
	       (double)p.n / (t3 - t2), (double)st.db_bytes / 1e6,
	       (double)p.bodies.len / 1e6);
	store_close(s);
	return 0;
}
