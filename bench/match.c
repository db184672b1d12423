/*
 * bench_match: indicator matching over Zeek telemetry, parsing included.
 *
 *   bench_match [--indicators N,N,...] [--records R] [--prefilter P]
 *
 * Generates R Zeek records as JSON lines (half conn.log, half dns.log;
 * default 1,000,000) and, for each N (default 1000,10000,100000), N
 * indicators in the mix: 70% equality on IPs, domains, URLs and
 * SHA-256 hashes, 20% CIDR (ISSUBSET, /22 to /30), 10% LIKE and MATCHES.
 * About one record in a hundred carries a value some indicator names.
 *
 * For each N it prints the compile time (offering every indicator and
 * building the prefilter), the matcher's memory (its own accounting, and
 * the growth of the process's RSS), and records/s of parsing + matching on
 * one thread. Beside it, in the same run, the ceiling: the same records
 * parsed into observations and dropped (parse-only).
 */
#include "common/json.h"
#include "common/time.h"
#include "pattern/matcher.h"
#include "telemetry/telemetry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rng {
	uint64_t s;
};

static uint64_t rnd(struct rng *g)
{
	g->s ^= g->s >> 12; /* xorshift64* */
	g->s ^= g->s << 25;
	g->s ^= g->s >> 27;
	return g->s * 2685821657736338717ull;
}

/* Values the indicators name are drawn from these spaces; records draw
 * from the same spaces so some of them hit. */
static void ip_of(uint64_t k, char out[32])
{
	/* 100.0.0.0 - 163.255.255.255, away from every warninglisted or
	 * private range the generator could stumble on */
	snprintf(out, 32, "%u.%u.%u.%u", (unsigned)(100 + (k >> 24) % 64),
		 (unsigned)((k >> 16) & 255), (unsigned)((k >> 8) & 255),
		 (unsigned)(k & 255));
}

static void domain_of(uint64_t k, char out[96])
{
	snprintf(out, 96, "host%llu.zone%llu.example-cti.net",
		 (unsigned long long)(k % 1000003),
		 (unsigned long long)(k % 997));
}

struct buf_s {
	char *p;
	size_t len, cap;
};

static void put(struct buf_s *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->cap + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		if (b->p == NULL) {
			perror("realloc");
			exit(2);
		}
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void puts_b(struct buf_s *b, const char *s)
{
	put(b, s, strlen(s));
}

/* The k-th indicator of the mix (its pattern, JSON-escaped). */
static void indicator(struct buf_s *b, size_t k, struct rng *g)
{
	char pat[256], v[96];
	unsigned kind = (unsigned)(k % 100);
	uint64_t x = rnd(g);
	if (kind < 25) {
		ip_of(x % (1u << 30), v);
		snprintf(pat, sizeof(pat), "[ipv4-addr:value = '%s']", v);
	} else if (kind < 45) {
		domain_of(x % 4000000, v);
		snprintf(pat, sizeof(pat), "[domain-name:value = '%s']", v);
	} else if (kind < 55) {
		domain_of(x % 4000000, v);
		snprintf(pat, sizeof(pat), "[url:value = 'http://%s/a']", v);
	} else if (kind < 70) {
		snprintf(pat, sizeof(pat),
			 "[file:hashes.'SHA-256' = '%016llx%016llx%016llx"
			 "%016llx']",
			 (unsigned long long)x, (unsigned long long)rnd(g),
			 (unsigned long long)rnd(g),
			 (unsigned long long)rnd(g));
	} else if (kind < 90) {
		unsigned len = 22 + (unsigned)(x % 9);
		char net[32];
		ip_of((x >> 8) % (1u << 30), net);
		snprintf(pat, sizeof(pat), "[ipv4-addr:value ISSUBSET '%s/%u']",
			 net, len);
	} else if (kind < 95) {
		snprintf(
		    pat, sizeof(pat),
		    "[domain-name:value LIKE '%%.zone%llu.badcorp%llu.com']",
		    (unsigned long long)(x % 997),
		    (unsigned long long)(k % 100000));
	} else {
		snprintf(pat, sizeof(pat),
			 "[domain-name:value MATCHES "
			 "'^c2-[0-9]+\\\\\\\\.op%llu\\\\\\\\."
			 "example-cti\\\\\\\\.org$']",
			 (unsigned long long)(k % 100000));
	}
	char head[256];
	snprintf(head, sizeof(head),
		 "{\"type\":\"indicator\",\"spec_version\":\"2.1\","
		 "\"id\":\"indicator--%08llx-0000-4000-8000-%012llx\","
		 "\"created\":\"2026-01-01T00:00:00.000Z\","
		 "\"modified\":\"2026-01-01T00:00:00.000Z\","
		 "\"valid_from\":\"2026-01-01T00:00:00Z\","
		 "\"pattern_type\":\"stix\",\"pattern\":\"",
		 (unsigned long long)(k >> 32), (unsigned long long)k);
	b->len = 0;
	puts_b(b, head);
	puts_b(b, pat);
	puts_b(b, "\"}");
}

/* R records: conn and dns lines alternately. */
static void records(struct buf_s *out, size_t r, struct rng *g)
{
	char line[512], a[32], c[32], dom[96];
	for (size_t i = 0; i < r; i++) {
		uint64_t x = rnd(g);
		double ts = 1767225600.0 + (double)i * 0.001;
		ip_of(rnd(g) % (1u << 30), c); /* a remote address */
		snprintf(a, sizeof(a), "10.%u.%u.%u", (unsigned)(x & 255),
			 (unsigned)((x >> 8) & 255),
			 (unsigned)((x >> 16) & 255));
		if (i % 2 == 0) {
			snprintf(line, sizeof(line),
				 "{\"ts\":%.6f,\"uid\":\"C%zu\",\"id.orig_h\":"
				 "\"%s\",\"id.orig_p\":%u,\"id.resp_h\":\"%s\","
				 "\"id.resp_p\":443,\"proto\":\"tcp\","
				 "\"service\":\"ssl\",\"duration\":0.25,"
				 "\"orig_bytes\":517,\"resp_bytes\":4096,"
				 "\"conn_state\":\"SF\"}\n",
				 ts, i, a, (unsigned)(1024 + x % 60000), c);
		} else {
			domain_of(rnd(g) % 4000000, dom);
			snprintf(
			    line, sizeof(line),
			    "{\"ts\":%.6f,\"uid\":\"D%zu\",\"id.orig_h\":"
			    "\"%s\",\"id.orig_p\":%u,\"id.resp_h\":"
			    "\"10.0.0.53\",\"id.resp_p\":53,\"proto\":"
			    "\"udp\",\"query\":\"%s\",\"qtype_name\":\"A\","
			    "\"rcode_name\":\"NOERROR\",\"answers\":[\"%s\"]}"
			    "\n",
			    ts, i, a, (unsigned)(1024 + x % 60000), dom, c);
		}
		puts_b(out, line);
	}
}

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char l[256];
	long v = -1;
	while (f != NULL && fgets(l, sizeof(l), f) != NULL)
		if (sscanf(l, "VmRSS: %ld", &v) == 1)
			break;
	if (f != NULL)
		fclose(f);
	return v;
}

static int drop(void *ctx, const struct tel_record *r)
{
	(void)r;
	(*(uint64_t *)ctx)++;
	return 0;
}

struct feed {
	struct matcher *m;
	uint64_t hits;
};

static void on_hit(void *ctx, const struct matcher_hit *h)
{
	(void)h;
	((struct feed *)ctx)->hits++;
}

static int feed(void *ctx, const struct tel_record *r)
{
	struct feed *f = ctx;
	return matcher_feed(f->m, &r->obs, on_hit, f) < 0;
}

static double parse_only(const struct buf_s *logs, uint64_t *n)
{
	struct tel_reader *r;
	struct diag d;
	struct tel_options o = TEL_OPTIONS_DEFAULT;
	o.format = TEL_FMT_ZEEK_JSON;
	if (tel_reader_new(&o, &r, &d) != ST_OK) {
		fprintf(stderr, "reader: %s\n", d.msg);
		exit(2);
	}
	*n = 0;
	double t0 = time_mono();
	if (tel_read_mem(r, logs->p, logs->len, "bench", drop, n, &d) !=
	    ST_OK) {
		fprintf(stderr, "read: %s\n", d.msg);
		exit(2);
	}
	double s = time_mono() - t0;
	tel_reader_free(r);
	return s;
}

static void run(size_t n_ind, const struct buf_s *logs, size_t n_rec,
		enum matcher_prefilter pf)
{
	struct rng g = {0x9e3779b97f4a7c15ull ^ n_ind};
	struct matcher_config mc;
	matcher_config_default(&mc);
	mc.prefilter = pf;
	struct matcher *m;
	struct diag d;
	long rss0 = rss_kib();
	if (matcher_new(&mc, &m, &d) != ST_OK) {
		fprintf(stderr, "matcher: %s\n", d.msg);
		exit(2);
	}
	struct json_doc *doc = json_doc_new();
	struct buf_s b = {0};
	size_t refused = 0, errors = 0;
	double parse_s = 0, t0 = time_mono();
	for (size_t k = 0; k < n_ind; k++) {
		indicator(&b, k, &g);
		const struct json_val *root;
		double p0 = time_mono();
		if (json_parse(doc, b.p, b.len, 0, &JSON_LIMITS_DEFAULT, &root,
			       &d) != ST_OK) {
			fprintf(stderr, "indicator %zu: %s\n", k, d.msg);
			exit(2);
		}
		parse_s += time_mono() - p0;
		int out = matcher_offer(m, root, time_now(), &d);
		if (out == MATCHER_REFUSED)
			refused++;
		else if (out < 0 && ++errors <= 3)
			fprintf(stderr, "indicator %zu: %s\n", k, d.msg);
	}
	if (matcher_compile(m, &d) != ST_OK)
		fprintf(stderr, "compile: %s\n", d.msg);
	double compile_s = time_mono() - t0 - parse_s;
	long rss1 = rss_kib();

	uint64_t ceil_n;
	double ceil_s = parse_only(logs, &ceil_n);

	struct tel_reader *r;
	struct tel_options o = TEL_OPTIONS_DEFAULT;
	o.format = TEL_FMT_ZEEK_JSON;
	if (tel_reader_new(&o, &r, &d) != ST_OK)
		exit(2);
	struct feed f = {m, 0};
	t0 = time_mono();
	if (tel_read_mem(r, logs->p, logs->len, "bench", feed, &f, &d) !=
	    ST_OK) {
		fprintf(stderr, "match: %s\n", d.msg);
		exit(2);
	}
	double match_s = time_mono() - t0;
	uint64_t n = tel_reader_stats(r)->records;
	struct matcher_stats ms;
	matcher_stats(m, &ms);
	printf("indicators=%zu active=%zu refused=%zu errors=%zu "
	       "prefilter=%s compile_s=%.3f matcher_mb=%.1f rss_growth_mb=%.1f "
	       "records=%llu hits=%llu match_s=%.3f records_per_s=%.0f "
	       "parse_only_records_per_s=%.0f ratio=%.2f ns_per_record=%.0f\n",
	       n_ind, ms.active, refused, errors, ms.prefilter, compile_s,
	       (double)ms.memory / 1048576.0, (double)(rss1 - rss0) / 1024.0,
	       (unsigned long long)n, (unsigned long long)f.hits, match_s,
	       (double)n / match_s, (double)ceil_n / ceil_s,
	       ((double)n / match_s) / ((double)ceil_n / ceil_s),
	       match_s * 1e9 / (double)n);
	fflush(stdout);
	(void)n_rec;
	tel_reader_free(r);
	matcher_free(m);
	json_doc_free(doc);
	free(b.p);
}

int main(int argc, char **argv)
{
	char list[256] = "1000,10000,100000";
	size_t n_rec = 1000000;
	enum matcher_prefilter pf = MATCHER_PREFILTER_AUTO;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--indicators") == 0 && i + 1 < argc)
			snprintf(list, sizeof(list), "%s", argv[++i]);
		else if (strcmp(argv[i], "--records") == 0 && i + 1 < argc)
			n_rec = strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--prefilter") == 0 && i + 1 < argc) {
			const char *p = argv[++i];
			pf = strcmp(p, "literal") == 0
				 ? MATCHER_PREFILTER_LITERAL
			     : strcmp(p, "hyperscan") == 0
				 ? MATCHER_PREFILTER_HYPERSCAN
				 : MATCHER_PREFILTER_AUTO;
		} else {
			fprintf(
			    stderr,
			    "usage: %s [--indicators N,N,...] [--records R] "
			    "[--prefilter auto|hyperscan|literal]\n",
			    argv[0]);
			return 2;
		}
	}
	struct rng g = {12345};
	struct buf_s logs = {0};
	double t0 = time_mono();
	records(&logs, n_rec, &g);
	fprintf(stderr,
		"bench_match: %zu records, %.1f MB of Zeek JSON, made "
		"in %.1f s\n",
		n_rec, (double)logs.len / 1048576.0, time_mono() - t0);
	for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ","))
		run(strtoul(tok, NULL, 10), &logs, n_rec, pf);
	free(logs.p);
	return 0;
}
