/*
 * The lookup benchmark (issue 7), run by bench/run_lookup.sh. Not a test:
 * it prints figures.
 *
 *   bench_lookup HOME [--samples S]
 *
 * HOME is a node whose store is filled and whose lookup index is built
 * (`strait lookup` once). Values to look up are taken from the store
 * itself: S versions at random seqs, each SCO's value (ipv4-addr,
 * domain-name, url, file SHA-256) or an indicator's first equality
 * literal, and S addresses no object names. Each is looked up with
 * lk_report_json (the answer `strait lookup --json` prints, without a
 * release decision), and timed. The baseline, in the same run, is one
 * store_query of a random object by id at its latest version: the read
 * every object of an answer costs.
 */
#include "common/buf.h"
#include "common/json.h"
#include "common/time.h"
#include "lookup/lookup.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void report(const char *what, double *t, size_t n, double found)
{
	if (n == 0) {
		printf("%-34s no samples\n", what);
		return;
	}
	qsort(t, n, sizeof(*t), cmp_d);
	printf("%-34s n=%zu  p50 %.3f ms  p99 %.3f ms  max %.3f ms  "
	       "objects/answer %.1f\n",
	       what, n, t[n / 2], t[(n * 99) / 100], t[n - 1], found);
}

struct pick {
	char value[LK_VALUE_MAX + 1];
	char id[128];
	bool got;
};

/* The value a version names, if it is one lookup understands. */
static int take(void *ctx, const struct store_row *row)
{
	struct pick *p = ctx;
	struct json_doc *doc = json_doc_new();
	const struct json_val *o, *t, *v;
	struct diag d;
	if (doc == NULL ||
	    json_parse(doc, row->body, row->body_len, 0, NULL, &o, &d) != ST_OK)
		goto out;
	snprintf(p->id, sizeof(p->id), "%s", row->id);
	t = json_get(o, "type");
	if (t == NULL || t->type != JSON_STRING)
		goto out;
	if ((v = json_get(o, "value")) != NULL && v->type == JSON_STRING) {
		snprintf(p->value, sizeof(p->value), "%s", v->u.str);
		p->got = true;
	} else if ((v = json_get(o, "hashes")) != NULL &&
		   (v = json_get(v, "SHA-256")) != NULL &&
		   v->type == JSON_STRING) {
		snprintf(p->value, sizeof(p->value), "%s", v->u.str);
		p->got = true;
	} else if (json_str_eq(t, "indicator") &&
		   (v = json_get(o, "pattern")) != NULL &&
		   v->type == JSON_STRING) {
		/* the first quoted literal of the pattern */
		const char *a = strchr(v->u.str, '\''), *b;
		if (a != NULL && (b = strchr(a + 1, '\'')) != NULL &&
		    b - a - 1 < (long)sizeof(p->value)) {
			memcpy(p->value, a + 1, (size_t)(b - a - 1));
			p->value[b - a - 1] = '\0';
			p->got = true;
		}
	}
out:
	json_doc_free(doc);
	return 1;
}

static int one_row(void *ctx, const struct store_row *row)
{
	(void)row;
	(*(size_t *)ctx)++;
	return 1;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: bench_lookup HOME [--samples S]\n");
		return 2;
	}
	const char *home = argv[1];
	size_t samples = 2000;
	if (argc > 3 && strcmp(argv[2], "--samples") == 0)
		samples = strtoul(argv[3], NULL, 10);
	char url[4200];
	snprintf(url, sizeof(url), "sqlite:%s/strait.db", home);
	struct store *st;
	struct diag d;
	if (store_open(url, NULL, &st, &d) != ST_OK) {
		fprintf(stderr, "bench_lookup: %s\n", d.msg);
		return 1;
	}
	struct lk_index *x;
	if (lk_open(home, st, &x, &d) != ST_OK) {
		fprintf(stderr, "bench_lookup: %s\n", d.msg);
		return 1;
	}
	uint64_t added;
	double t0 = now_ms();
	if (lk_catch_up(x, NULL, NULL, &added, &d) != ST_OK) {
		fprintf(stderr, "bench_lookup: %s\n", d.msg);
		return 1;
	}
	uint64_t last = store_last_seq(st);
	printf("store: %llu versions; index caught up %llu more in %.0f ms\n",
	       (unsigned long long)last, (unsigned long long)added,
	       now_ms() - t0);
	srand(7);
	struct pick *picks = calloc(samples, sizeof(*picks));
	size_t np = 0;
	for (size_t tries = 0; np < samples && tries < samples * 20; tries++) {
		uint64_t seq = 1 + ((uint64_t)rand() * 65536u + rand()) % last;
		struct pick p = {0};
		store_log_read(st, seq - 1, 1, 0, take, &p, NULL, &d);
		if (p.got)
			picks[np++] = p;
	}
	double *tk = calloc(samples, sizeof(double));
	double *ta = calloc(samples, sizeof(double));
	double *tb = calloc(samples, sizeof(double));
	struct buf out = BUF_INIT((size_t)1 << 30);
	size_t nk = 0, na = 0, nb = 0, objs_k = 0, objs_a = 0;
	/* interleaved: known value, absent value, baseline read */
	for (size_t i = 0; i < np; i++) {
		struct lk_value v;
		if (lk_value_parse(picks[i].value, &v, &d) == ST_OK) {
			struct jw w;
			buf_reset(&out);
			jw_init(&w, &out);
			double a = now_ms();
			int rc = lk_report_json(x, st, &v, "identity--bench",
						NULL, NULL, 1000, &w, &d);
			tk[nk++] = now_ms() - a;
			if (rc != ST_OK) {
				fprintf(stderr, "bench_lookup: %s: %s\n",
					picks[i].value, d.msg);
				return 1;
			}
			/* objects in the answer */
			const char *p = out.data;
			while ((p = strstr(p, "\"found\":")) != NULL) {
				objs_k++;
				p++;
			}
		}
		char absent[64];
		snprintf(absent, sizeof(absent), "100.%d.%d.%d",
			 64 + rand() % 64, rand() % 256, rand() % 256);
		if (lk_value_parse(absent, &v, &d) == ST_OK) {
			struct jw w;
			buf_reset(&out);
			jw_init(&w, &out);
			double a = now_ms();
			lk_report_json(x, st, &v, "identity--bench", NULL, NULL,
				       1000, &w, &d);
			ta[na++] = now_ms() - a;
			const char *p = out.data;
			while ((p = strstr(p, "\"found\":")) != NULL) {
				objs_a++;
				p++;
			}
		}
		size_t got = 0;
		struct store_query q = {.id = picks[(i * 7919) % np].id,
					.vsel = STORE_V_LAST};
		double a = now_ms();
		store_query(st, &q, one_row, &got, NULL, &d);
		tb[nb++] = now_ms() - a;
	}
	report("lookup, a value the store names", tk, nk,
	       nk ? (double)objs_k / nk : 0);
	report("lookup, an absent address", ta, na,
	       na ? (double)objs_a / na : 0);
	report("baseline: one object by id", tb, nb, 1);
	lk_close(x);
	store_close(st);
	free(picks);
	free(tk);
	free(ta);
	free(tb);
	buf_free(&out);
	return 0;
}
