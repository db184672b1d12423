/*
 * The lookup benchmark (issue 7), run by bench/run_lookup.sh. Not a test:
 * it prints figures.
 *
 *   bench_lookup HOME [--samples S]
 *   bench_lookup gen-text N > bundle.json
 *   bench_lookup gen-indicators N > bundle.json
 *   bench_lookup HOME --search [--samples S]
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
 *
 * gen-text writes N objects (intrusion sets, reports, malware, notes) whose
 * names and descriptions are Korean, Japanese or English (a third each),
 * made of common words, and one in a hundred holding a code name of its
 * own ("작전명 …", "作戦名 …", "operation …" with a number). --search then
 * times strait search's query (lk_search_json, 20 objects) for common
 * words of each language, for code names (one object each) and for words
 * of one or two characters (a scan), against the same baseline.
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

/* ---- gen-text ---- */

static const char *const KO[] = {
    "북한", "정찰총국", "라자루스", "해킹",   "조직",	"암호화폐", "거래소",
    "공격", "악성코드", "피싱",	    "이메일", "채용",	"제안",	    "가짜",
    "뉴스", "역사",	"문제",	    "여론",   "분열",	"선거",	    "개입",
    "서버", "침해",	"사고",	    "대응",   "탐지",	"차단",	    "지갑",
    "세탁", "믹서",	"국방",	    "연구소", "원자력", "금융",	    "은행",
    "보안", "취약점",	"패치",	    "유출",   "정보"};
static const char *const JA[] = {
    "北朝鮮",	"偵察総局",   "ラザルス", "ハッキング", "組織",
    "暗号資産", "取引所",     "攻撃",	  "マルウェア", "フィッシング",
    "メール",	"採用",	      "偽",	  "ニュース",	"歴史",
    "問題",	"世論",	      "分断",	  "選挙",	"介入",
    "サーバー", "侵害",	      "事故",	  "対応",	"検知",
    "遮断",	"ウォレット", "洗浄",	  "ミキサー",	"防衛",
    "研究所",	"原子力",     "金融",	  "銀行",	"セキュリティ",
    "脆弱性",	"パッチ",     "漏洩",	  "情報",	"なりすまし"};
static const char *const EN[] = {
    "north",	  "korean",	   "lazarus", "hacking",    "group",
    "crypto",	  "exchange",	   "attack",  "malware",    "phishing",
    "email",	  "recruitment",   "offer",   "fake",	    "news",
    "historical", "issue",	   "public",  "opinion",    "split",
    "election",	  "server",	   "breach",  "incident",   "response",
    "detect",	  "block",	   "wallet",  "laundering", "mixer",
    "defense",	  "research",	   "nuclear", "finance",    "bank",
    "security",	  "vulnerability", "patch",   "leak",	    "intelligence"};
#define NW 40

static uint64_t rng_state = 88172645463325252ull;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void words(struct buf *b, const char *const *w, int lang, int n)
{
	for (int i = 0; i < n; i++) {
		if (i > 0 && lang == 2)
			buf_addc(b, ' ');
		else if (i > 0 && lang == 0)
			buf_addc(b, ' ');
		const char *x = w[rnd() % NW];
		buf_add(b, x, strlen(x));
	}
}

static int gen_text(long n)
{
	static const char *const types[] = {"intrusion-set", "report",
					    "malware", "note"};
	static const char *const code[] = {"작전명", "作戦名", "operation"};
	struct buf name = BUF_INIT(4096), desc = BUF_INIT(65536),
		   out = BUF_INIT(1 << 20);
	printf("{\"type\":\"bundle\",\"id\":\"bundle--5e0d9a52-8c3b-4d1e-"
	       "9f6a-2b7c8d9e0f1a\",\"objects\":[\n");
	for (long i = 0; i < n; i++) {
		int lang = (int)(i % 3);
		const char *const *w = lang == 0 ? KO : lang == 1 ? JA : EN;
		buf_reset(&name);
		buf_reset(&desc);
		words(&name, w, lang, 2 + (int)(rnd() % 2));
		words(&desc, w, lang, 8 + (int)(rnd() % 8));
		if (i % 100 == 0) {
			char c[64];
			snprintf(c, sizeof(c), "%s%s%06ld",
				 lang == 1 ? "" : " ", code[lang], i);
			buf_add(&desc, c, strlen(c));
		}
		const char *ty = types[i % 4];
		struct jw jw;
		buf_reset(&out);
		jw_init(&jw, &out);
		jw_obj_open(&jw);
		jw_key(&jw, "type");
		jw_str(&jw, ty);
		jw_key(&jw, "spec_version");
		jw_str(&jw, "2.1");
		char id[80];
		snprintf(id, sizeof(id), "%s--00000000-0000-4000-8000-%012ld",
			 ty, i);
		jw_key(&jw, "id");
		jw_str(&jw, id);
		jw_key(&jw, "created");
		jw_str(&jw, "2026-01-01T00:00:00.000Z");
		jw_key(&jw, "modified");
		jw_str(&jw, "2026-01-01T00:00:00.000Z");
		if (strcmp(ty, "note") == 0) {
			jw_key(&jw, "abstract");
			jw_strn(&jw, name.data, name.len);
			jw_key(&jw, "content");
			jw_strn(&jw, desc.data, desc.len);
			jw_key(&jw, "object_refs");
			jw_arr_open(&jw);
			jw_str(&jw, "intrusion-set--00000000-0000-4000-8000-"
				    "000000000000");
			jw_arr_close(&jw);
		} else {
			jw_key(&jw, "name");
			jw_strn(&jw, name.data, name.len);
			jw_key(&jw, "description");
			jw_strn(&jw, desc.data, desc.len);
		}
		if (strcmp(ty, "report") == 0) {
			jw_key(&jw, "published");
			jw_str(&jw, "2026-01-01T00:00:00Z");
			jw_key(&jw, "object_refs");
			jw_arr_open(&jw);
			jw_str(&jw, "intrusion-set--00000000-0000-4000-8000-"
				    "000000000000");
			jw_arr_close(&jw);
		}
		if (strcmp(ty, "malware") == 0) {
			jw_key(&jw, "is_family");
			jw_bool(&jw, true);
		}
		jw_key(&jw, "object_marking_refs");
		jw_arr_open(&jw);
		jw_str(&jw, "marking-definition--bab4a63c-aed9-4cf5-a766-"
			    "dfca5abac2bb");
		jw_arr_close(&jw);
		jw_obj_close(&jw);
		if (jw_finish(&jw) != ST_OK)
			return 1;
		fwrite(out.data, 1, out.len, stdout);
		fputs(i + 1 < n ? ",\n" : "\n", stdout);
	}
	printf("]}\n");
	buf_free(&name);
	buf_free(&desc);
	buf_free(&out);
	return 0;
}

/* N indicators, each one equality on an address, a domain, a URL or a
 * SHA-256 (a quarter each), one in ten with an OR of two addresses, one
 * in twenty with AND (left out by every sensor format): the input of
 * bench/run_export.sh. */
static int gen_indicators(long n)
{
	struct buf out = BUF_INIT(1 << 20);
	printf("{\"type\":\"bundle\",\"id\":\"bundle--7a1c9e52-8c3b-4d1e-"
	       "9f6a-2b7c8d9e0f1b\",\"objects\":[\n");
	for (long i = 0; i < n; i++) {
		char pat[256], id[80], name[64];
		uint64_t r = rnd();
		unsigned a = (unsigned)(r >> 8);
		switch (i % 4) {
		case 0:
			snprintf(pat, sizeof(pat),
				 "[ipv4-addr:value = '%u.%u.%u.%u']",
				 1 + (a >> 24) % 223, (a >> 16) & 255,
				 (a >> 8) & 255, a & 255);
			break;
		case 1:
			snprintf(pat, sizeof(pat),
				 "[domain-name:value = 'h%ld-%x.example.com']",
				 i, a);
			break;
		case 2:
			snprintf(pat, sizeof(pat),
				 "[url:value = 'http://d%ld.example.net/p/%x']",
				 i, a);
			break;
		default:
			snprintf(
			    pat, sizeof(pat),
			    "[file:hashes.'SHA-256' = '%016llx%016llx"
			    "%016llx%016llx']",
			    (unsigned long long)r, (unsigned long long)rnd(),
			    (unsigned long long)rnd(), (unsigned long long)i);
		}
		if (i % 10 == 5)
			snprintf(pat, sizeof(pat),
				 "[ipv4-addr:value = '10.%u.%u.1'] OR "
				 "[ipv4-addr:value = '10.%u.%u.2']",
				 (a >> 8) & 255, a & 255, (a >> 8) & 255,
				 a & 255);
		if (i % 20 == 7)
			snprintf(pat, sizeof(pat),
				 "[network-traffic:dst_ref.value = "
				 "'192.0.2.%u' AND network-traffic:dst_port = "
				 "443]",
				 a & 255);
		snprintf(id, sizeof(id),
			 "indicator--00000000-0000-4000-8000-%012ld", i);
		snprintf(name, sizeof(name), "bench indicator %ld", i);
		struct jw w;
		buf_reset(&out);
		jw_init(&w, &out);
		jw_obj_open(&w);
		jw_key(&w, "type");
		jw_str(&w, "indicator");
		jw_key(&w, "spec_version");
		jw_str(&w, "2.1");
		jw_key(&w, "id");
		jw_str(&w, id);
		jw_key(&w, "created");
		jw_str(&w, "2026-01-01T00:00:00.000Z");
		jw_key(&w, "modified");
		jw_str(&w, "2026-01-01T00:00:00.000Z");
		jw_key(&w, "name");
		jw_str(&w, name);
		jw_key(&w, "pattern");
		jw_str(&w, pat);
		jw_key(&w, "pattern_type");
		jw_str(&w, "stix");
		jw_key(&w, "valid_from");
		jw_str(&w, "2026-01-01T00:00:00Z");
		jw_key(&w, "object_marking_refs");
		jw_arr_open(&w);
		jw_str(&w, "marking-definition--bab4a63c-aed9-4cf5-a766-"
			   "dfca5abac2bb");
		jw_arr_close(&w);
		jw_obj_close(&w);
		if (jw_finish(&w) != ST_OK)
			return 1;
		fwrite(out.data, 1, out.len, stdout);
		fputs(i + 1 < n ? ",\n" : "\n", stdout);
	}
	printf("]}\n");
	buf_free(&out);
	return 0;
}

static int search_bench(struct lk_index *x, struct store *st, size_t samples,
			uint64_t last)
{
	double *t[4];
	size_t nt[4] = {0};
	double objs[4] = {0};
	for (int k = 0; k < 4; k++)
		t[k] = calloc(samples, sizeof(double));
	double *tb = calloc(samples, sizeof(double));
	size_t nb = 0;
	struct buf out = BUF_INIT((size_t)1 << 30);
	struct diag d;
	static const char *const code[] = {"작전명", "作戦名", "operation"};
	for (size_t i = 0; i < samples; i++) {
		char q[128];
		for (int k = 0; k < 4; k++) {
			int lang = (int)(rnd() % 3);
			const char *const *w = lang == 0   ? KO
					       : lang == 1 ? JA
							   : EN;
			if (k == 0) { /* a common word of 3+ characters */
				const char *word;
				do
					word = w[rnd() % NW];
				while (strlen(word) < (lang == 2 ? 3u : 7u));
				snprintf(q, sizeof(q), "%s", word);
			} else if (k == 1) { /* two words */
				snprintf(q, sizeof(q), "%s%s%s", w[rnd() % NW],
					 lang == 1 ? "" : " ", w[rnd() % NW]);
			} else if (k == 2) { /* a code name: one object */
				long obj = (long)(rnd() % (last / 100)) * 100;
				snprintf(q, sizeof(q), "%s%06ld", code[obj % 3],
					 obj);
			} else { /* two characters: a scan */
				snprintf(q, sizeof(q), "%s",
					 lang == 0   ? "북한"
					 : lang == 1 ? "偽"
						     : "zq");
			}
			struct jw jw;
			buf_reset(&out);
			jw_init(&jw, &out);
			double a = now_ms();
			if (lk_search_json(x, q, "identity--bench", NULL, NULL,
					   20, &jw, &d) != ST_OK) {
				fprintf(stderr, "bench_lookup: %s: %s\n", q,
					d.msg);
				return 1;
			}
			t[k][nt[k]++] = now_ms() - a;
			for (const char *p = out.data;
			     (p = strstr(p, "\"snippet\":")) != NULL; p++)
				objs[k]++;
		}
		char id[80];
		snprintf(id, sizeof(id),
			 "intrusion-set--00000000-0000-4000-8000-%012llu",
			 (unsigned long long)(rnd() % (last / 4)) * 4);
		size_t got = 0;
		struct store_query q2 = {.id = id, .vsel = STORE_V_LAST};
		double a = now_ms();
		store_query(st, &q2, one_row, &got, NULL, &d);
		tb[nb++] = now_ms() - a;
	}
	static const char *const what[] = {
	    "search, one common word", "search, two words",
	    "search, a code name (1 object)", "search, 2 characters (scan)"};
	for (int k = 0; k < 4; k++) {
		report(what[k], t[k], nt[k], nt[k] ? objs[k] / nt[k] : 0);
		free(t[k]);
	}
	report("baseline: one object by id", tb, nb, 1);
	free(tb);
	buf_free(&out);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: bench_lookup HOME [--samples S]\n");
		return 2;
	}
	if (strcmp(argv[1], "gen-text") == 0)
		return gen_text(argc > 2 ? atol(argv[2]) : 1000000);
	if (strcmp(argv[1], "gen-indicators") == 0)
		return gen_indicators(argc > 2 ? atol(argv[2]) : 1000000);
	const char *home = argv[1];
	size_t samples = 2000;
	bool do_search = false;
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--search") == 0)
			do_search = true;
		else if (strcmp(argv[i], "--samples") == 0 && i + 1 < argc)
			samples = strtoul(argv[++i], NULL, 10);
	}
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
	if (do_search) {
		int rc = search_bench(x, st, samples, last);
		lk_close(x);
		store_close(st);
		return rc;
	}
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
