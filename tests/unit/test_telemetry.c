/*
 * Unit tests of the telemetry readers (src/telemetry): every log kind in
 * every format maps to the exact SCOs expected, malformed lines are
 * reported with their numbers while the others are still delivered, TSV
 * escapes and markers, limits, and the JSON-lines iterator they stand on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/json.h"
#include "telemetry/telemetry.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DATA TEST_DATA_DIR "/telemetry/"

/* ------------------------------------------------------------------ */
/* Capturing what a reader delivers                                     */
/* ------------------------------------------------------------------ */

struct got_rec {
	char *json; /* {"0": sco, "1": sco, ...} */
	enum tel_kind kind;
	enum tel_format format;
	uint64_t line;
	st_time ts;
	char local[65]; /* per SCO: 'L' local, 'r' refers to local, '.' */
	char *uid;
	char *value0, *value1; /* tel_sco_value of the first two SCOs */
};

struct got_err {
	uint64_t line;
	int err;
	char msg[DIAG_MAX];
};

struct got {
	struct got_rec *rec;
	size_t n, cap;
	struct got_err *err;
	size_t n_err, cap_err;
	int stop_after; /* > 0: return 7 after this many records */
};

static char *dup_or_null(const char *s, size_t len)
{
	if (s == NULL)
		return NULL;
	char *p = malloc(len + 1);
	assert_non_null(p);
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

static int on_record(void *ctx, const struct tel_record *r)
{
	struct got *g = ctx;
	if (g->n == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 16;
		g->rec = realloc(g->rec, g->cap * sizeof(*g->rec));
		assert_non_null(g->rec);
	}
	struct got_rec *x = &g->rec[g->n++];
	struct buf b = BUF_INIT(1 << 26);
	struct jw w;

	/* The observation itself, as the matcher will see it. */
	assert_null(r->obs.id);
	assert_int_equal(r->obs.number_observed, 1);
	assert_true(r->obs.first_observed == r->ts);
	assert_true(r->obs.last_observed == r->ts);
	assert_true(r->obs.n_objects > 0 && r->obs.n_objects <= 64);
	jw_init(&w, &b);
	jw_obj_open(&w);
	for (size_t i = 0; i < r->obs.n_objects; i++) {
		char ref[8];
		snprintf(ref, sizeof(ref), "%zu", i);
		assert_string_equal(r->obs.objects[i].ref, ref);
		jw_key(&w, r->obs.objects[i].ref);
		jw_value(&w, r->obs.objects[i].obj);
		x->local[i] = r->info[i].local	      ? 'L'
			      : r->info[i].refs_local ? 'r'
						      : '.';
	}
	x->local[r->obs.n_objects] = '\0';
	jw_obj_close(&w);
	assert_int_equal(jw_finish(&w), ST_OK);
	x->json = buf_take(&b, NULL);
	x->kind = r->kind;
	x->format = r->format;
	x->line = r->line;
	x->ts = r->ts;
	x->uid = r->uid ? dup_or_null(r->uid, strlen(r->uid)) : NULL;
	size_t len = 0;
	const char *v = tel_sco_value(r, 0, &len);
	x->value0 = dup_or_null(v, len);
	v = r->obs.n_objects > 1 ? tel_sco_value(r, 1, &len) : NULL;
	x->value1 = dup_or_null(v, len);
	if (g->stop_after > 0 && g->n >= (size_t)g->stop_after)
		return 7;
	return 0;
}

static void on_error(void *ctx, const char *source, uint64_t line, int err,
		     const char *msg)
{
	struct got *g = ctx;
	assert_non_null(source);
	if (g->n_err == g->cap_err) {
		g->cap_err = g->cap_err ? g->cap_err * 2 : 16;
		g->err = realloc(g->err, g->cap_err * sizeof(*g->err));
		assert_non_null(g->err);
	}
	struct got_err *e = &g->err[g->n_err++];
	e->line = line;
	e->err = err;
	snprintf(e->msg, sizeof(e->msg), "%s", msg);
}

static void got_free(struct got *g)
{
	for (size_t i = 0; i < g->n; i++) {
		free(g->rec[i].json);
		free(g->rec[i].uid);
		free(g->rec[i].value0);
		free(g->rec[i].value1);
	}
	free(g->rec);
	free(g->err);
	memset(g, 0, sizeof(*g));
}

static struct tel_reader *reader(struct got *g, struct tel_options *o)
{
	struct tel_options def = TEL_OPTIONS_DEFAULT;
	struct tel_reader *r = NULL;
	struct diag d;
	if (o == NULL)
		o = &def;
	o->on_error = on_error;
	o->error_ctx = g;
	assert_int_equal(tel_reader_new(o, &r, &d), ST_OK);
	return r;
}

/* Reads text as one input named name; returns what the read returned. */
static int read_text(struct tel_reader *r, struct got *g, const char *name,
		     const char *text, size_t len)
{
	struct diag d;
	return tel_read_mem(r, text, len, name, on_record, g, &d);
}

/* ------------------------------------------------------------------ */
/* Every Zeek log kind, TSV and JSON                                    */
/* ------------------------------------------------------------------ */

/* line is the TSV line; the JSON line is line - 8 (the TSV headers). */
static const struct {
	const char *log;
	uint64_t line;
	const char *kind;
	const char *local;
	const char *scos;
} zeek_cases[] = {
    {"conn", 9, "conn", "L.r",
     "{\"0\":{\"type\":\"ipv4-addr\",\"value\":\"192.168.1.10\"},\"1\":{"
     "\"type\":\"ipv4-addr\",\"value\":\"93.184.216.34\"},\"2\":{\"type\":"
     "\"network-traffic\",\"src_ref\":\"0\",\"dst_ref\":\"1\",\"src_port\":"
     "49152,\"dst_port\":443,\"protocols\":[\"ipv4\",\"tcp\",\"tls\"],"
     "\"start\":\"2024-03-01T10:00:00.123456Z\",\"end\":\"2024-03-01T10:00:01."
     "373456Z\",\"src_byte_count\":517,\"dst_byte_count\":4096,\"src_packets\":"
     "12,\"dst_packets\":10}}"},
    {"conn", 10, "conn", "L.r",
     "{\"0\":{\"type\":\"ipv4-addr\",\"value\":\"10.0.0.5\"},\"1\":{\"type\":"
     "\"ipv4-addr\",\"value\":\"8.8.8.8\"},\"2\":{\"type\":\"network-traffic\","
     "\"src_ref\":\"0\",\"dst_ref\":\"1\",\"src_port\":53535,\"dst_port\":53,"
     "\"protocols\":[\"ipv4\",\"udp\",\"dns\"],\"start\":\"2024-03-01T10:00:01."
     "500Z\",\"end\":\"2024-03-01T10:00:01.523Z\",\"src_byte_count\":40,\"dst_"
     "byte_count\":56,\"src_packets\":1,\"dst_packets\":1}}"},
    {"conn", 11, "conn", "...",
     "{\"0\":{\"type\":\"ipv6-addr\",\"value\":\"2001:db8::10\"},\"1\":{"
     "\"type\":\"ipv6-addr\",\"value\":\"2606:2800:220:1:248:1893:25c8:1946\"},"
     "\"2\":{\"type\":\"network-traffic\",\"src_ref\":\"0\",\"dst_ref\":\"1\","
     "\"src_port\":51000,\"dst_port\":80,\"protocols\":[\"ipv6\",\"tcp\","
     "\"http\"],\"start\":\"2024-03-01T10:00:02.000001Z\",\"end\":\"2024-03-"
     "01T10:00:02.500001Z\",\"src_byte_count\":420,\"dst_byte_count\":1270,"
     "\"src_packets\":6,\"dst_packets\":5}}"},
    {"conn", 12, "conn", "L.r",
     "{\"0\":{\"type\":\"ipv4-addr\",\"value\":\"192.168.1.10\"},\"1\":{"
     "\"type\":\"ipv4-addr\",\"value\":\"1.1.1.1\"},\"2\":{\"type\":\"network-"
     "traffic\",\"src_ref\":\"0\",\"dst_ref\":\"1\",\"protocols\":[\"ipv4\","
     "\"icmp\"],\"start\":\"2024-03-01T10:00:03.250Z\",\"src_packets\":1,\"dst_"
     "packets\":0,\"extensions\":{\"icmp-ext\":{\"icmp_type_hex\":\"08\","
     "\"icmp_code_hex\":\"00\"}}}}"},
    {"conn", 13, "conn", "L.r",
     "{\"0\":{\"type\":\"ipv4-addr\",\"value\":\"172.16.4.20\"},\"1\":{"
     "\"type\":\"ipv4-addr\",\"value\":\"198.51.100.7\"},\"2\":{\"type\":"
     "\"network-traffic\",\"src_ref\":\"0\",\"dst_ref\":\"1\",\"src_port\":"
     "44321,\"dst_port\":8443,\"protocols\":[\"ipv4\",\"tcp\",\"tls\",\"http\"]"
     ",\"start\":\"2024-03-01T10:00:04Z\",\"end\":\"2024-03-01T10:00:07Z\","
     "\"src_byte_count\":1000,\"dst_byte_count\":2000,\"src_packets\":10,\"dst_"
     "packets\":9}}"},
    {"dns", 9, "dns", "L.r....",
     "{\"0\":{\"type\":\"ipv4-addr\",\"value\":\"10.0.0.5\"},\"1\":{\"type\":"
     "\"ipv4-addr\",\"value\":\"8.8.8.8\"},\"2\":{\"type\":\"network-traffic\","
     "\"src_ref\":\"0\",\"dst_ref\":\"1\",\"src_port\":53535,\"dst_port\":53,"
     "\"protocols\":[\"ipv4\",\"udp\",\"dns\"]},\"3\":{\"type\":\"domain-"
     "name\",\"value\":\"www.example.com\",\"resolves_to_refs\":[\"4\",\"5\","
     "\"6\"]},\"4\":{\"type\":\"domain-name\",\"value\":\"www.example.com.cdn."
     "example.net\"},\"5\":{\"type\":\"ipv4-addr\",\"value\":\"93.184.216.34\"}"
     ",\"6\":{\"type\":\"ipv4-addr\",\"value\":\"93.184.216.35\"}}"},
    {"dns", 10, "dns", "L.r..",
     "{\"0\":{\"type\":\"ipv6-addr\",\"value\":\"fd00::25\"},\"1\":{\"type\":"
     "\"ipv6-addr\",\"value\":\"2001:4860:4860::8888\"},\"2\":{\"type\":"
     "\"network-traffic\",\"src_ref\":\"0\",\"dst_ref\":\"1\",\"src_port\":"
     "40000,\"dst_port\":53,\"protocols\":[\"ipv6\",\"udp\",\"dns\"]},\"3\":{"
     "\"type\":\"domain-name\",\"value\":\"mail.example.org\",\"resolves_to_"
     "refs\":[\"4\"]},\"4\":{\"type\":\"ipv6-addr\",\"value\":\"2001:db8::25\"}"
     "}"},
    {"dns", 11, "dns", "LLr.",
     "{\"0\":{\"type\":\"ipv4-addr\",\"value\":\"10.0.0.5\"},\"1\":{\"type\":"
     "\"ipv4-addr\",\"value\":\"10.0.0.1\"},\"2\":{\"type\":\"network-"
     "traffic\",\"src_ref\":\"0\",\"dst_ref\":\"1\",\"src_port\":53536,\"dst_"
     "port\":53,\"protocols\":[\"ipv4\",\"udp\",\"dns\"]},\"3\":{\"type\":"
     "\"domain-name\",\"value\":\"no-such-host.example\"}}"},
    {"dns", 12, "dns", "LLr.",
     "{\"0\":{\"type\":\"ipv4-addr\",\"value\":\"10.0.0.5\"},\"1\":{\"type\":"
     "\"ipv4-addr\",\"value\":\"10.0.0.1\"},\"2\":{\"type\":\"network-"
     "traffic\",\"src_ref\":\"0\",\"dst_ref\":\"1\",\"src_port\":53537,\"dst_"
     "port\":53,\"protocols\":[\"ipv4\",\"udp\",\"dns\"]},\"3\":{\"type\":"
     "\"domain-name\",\"value\":\"example.net\"}}"},
    {"http", 9, "http", ".....",
     "{\"0\":{\"type\":\"ipv6-addr\",\"value\":\"2001:db8::10\"},\"1\":{"
     "\"type\":\"ipv6-addr\",\"value\":\"2606:2800:220:1:248:1893:25c8:1946\"},"
     "\"2\":{\"type\":\"network-traffic\",\"src_ref\":\"0\",\"dst_ref\":\"1\","
     "\"src_port\":51000,\"dst_port\":80,\"protocols\":[\"ipv6\",\"tcp\","
     "\"http\"],\"extensions\":{\"http-request-ext\":{\"request_method\":"
     "\"get\",\"request_value\":\"/"
     "index.html?q=%2fa%3D\",\"request_version\":\"http/"
     "1.1\",\"request_header\":{\"Host\":\"www.example.com\",\"User-Agent\":"
     "\"Mozilla/5.0 (X11; Linux x86_64) "
     "Firefox/"
     "123.0\"},\"message_body_length\":0}}},\"3\":{\"type\":\"domain-name\","
     "\"value\":\"www.example.com\"},\"4\":{\"type\":\"url\",\"value\":\"http:/"
     "/www.example.com/index.html?q=%2Fa%3D\"}}"},
    {"http", 10, "http", "L.r..",
     "{\"0\":{\"type\":\"ipv4-addr\",\"value\":\"192.168.1.23\"},\"1\":{"
     "\"type\":\"ipv4-addr\",\"value\":\"203.0.113.50\"},\"2\":{\"type\":"
     "\"network-traffic\",\"src_ref\":\"0\",\"dst_ref\":\"1\",\"src_port\":"
     "50123,\"dst_port\":8080,\"protocols\":[\"ipv4\",\"tcp\",\"http\"],"
     "\"extensions\":{\"http-request-ext\":{\"request_method\":\"post\","
     "\"request_value\":\"/upload/../gate.php\",\"request_version\":\"http/"
     "1.1\",\"request_header\":{\"Host\":\"Evil.Example.NET:8080\",\"User-"
     "Agent\":\"Agent\\\\v1\",\"Referer\":\"http://evil.example.net:8080/"
     "\"},\"message_body_length\":2048}}},\"3\":{\"type\":\"domain-name\","
     "\"value\":\"evil.example.net\"},\"4\":{\"type\":\"url\",\"value\":\"http:"
     "//evil.example.net:8080/upload/../gate.php\"}}"},
    {"http", 11, "http", "L.r.",
     "{\"0\":{\"type\":\"ipv4-addr\",\"value\":\"192.168.1.23\"},\"1\":{"
     "\"type\":\"ipv4-addr\",\"value\":\"203.0.113.51\"},\"2\":{\"type\":"
     "\"network-traffic\",\"src_ref\":\"0\",\"dst_ref\":\"1\",\"src_port\":"
     "50124,\"dst_port\":80,\"protocols\":[\"ipv4\",\"tcp\",\"http\"],"
     "\"extensions\":{\"http-request-ext\":{\"request_method\":\"get\","
     "\"request_value\":\"/search?q=caf\xc3\xa9\",\"request_version\":\"http/"
     "1.0\",\"message_body_length\":0}}},\"3\":{\"type\":\"url\",\"value\":"
     "\"http://203.0.113.51/search?q=caf\xc3\xa9\"}}"},
    {"http", 12, "http", "L.r.",
     "{\"0\":{\"type\":\"ipv4-addr\",\"value\":\"192.168.1.23\"},\"1\":{"
     "\"type\":\"ipv4-addr\",\"value\":\"198.51.100.9\"},\"2\":{\"type\":"
     "\"network-traffic\",\"src_ref\":\"0\",\"dst_ref\":\"1\",\"src_port\":"
     "50125,\"dst_port\":3128,\"protocols\":[\"ipv4\",\"tcp\",\"http\"],"
     "\"extensions\":{\"http-request-ext\":{\"request_method\":\"connect\","
     "\"request_value\":\"secure.example.com:443\",\"request_version\":\"http/"
     "1.1\",\"request_header\":{\"Host\":\"secure.example.com:443\",\"User-"
     "Agent\":\"curl/"
     "8.5.0\"},\"message_body_length\":0}}},\"3\":{\"type\":\"domain-name\","
     "\"value\":\"secure.example.com\"}}"},
    {"ssl", 9, "ssl", "L.r..",
     "{\"0\":{\"type\":\"ipv4-addr\",\"value\":\"192.168.1.10\"},\"1\":{"
     "\"type\":\"ipv4-addr\",\"value\":\"93.184.216.34\"},\"2\":{\"type\":"
     "\"network-traffic\",\"src_ref\":\"0\",\"dst_ref\":\"1\",\"src_port\":"
     "49152,\"dst_port\":443,\"protocols\":[\"ipv4\",\"tcp\",\"tls\"]},\"3\":{"
     "\"type\":\"domain-name\",\"value\":\"www.example.com\"},\"4\":{\"type\":"
     "\"x509-certificate\",\"hashes\":{\"SHA-256\":"
     "\"3bd49c3a0b5c2bb1a1bc3a8e0c86a0c6bd4c2f9b4a1b8f5c3e3d7f3c6a2b1d0e\"}}}"},
    {"ssl", 10, "ssl", "L.r",
     "{\"0\":{\"type\":\"ipv4-addr\",\"value\":\"10.0.0.7\"},\"1\":{\"type\":"
     "\"ipv4-addr\",\"value\":\"198.51.100.20\"},\"2\":{\"type\":\"network-"
     "traffic\",\"src_ref\":\"0\",\"dst_ref\":\"1\",\"src_port\":33000,\"dst_"
     "port\":443,\"protocols\":[\"ipv4\",\"tcp\",\"tls\"]}}"},
    {"files", 9, "files", "L.r.",
     "{\"0\":{\"type\":\"ipv4-addr\",\"value\":\"192.168.1.23\"},\"1\":{"
     "\"type\":\"ipv4-addr\",\"value\":\"203.0.113.50\"},\"2\":{\"type\":"
     "\"network-traffic\",\"src_ref\":\"0\",\"dst_ref\":\"1\",\"src_port\":"
     "50123,\"dst_port\":8080,\"protocols\":[\"ipv4\"]},\"3\":{\"type\":"
     "\"file\",\"hashes\":{\"MD5\":\"9e107d9d372bb6826bd81d3542a419d6\",\"SHA-"
     "1\":\"2fd4e1c67a2d28fced849ee1bb76e7391b93eb12\",\"SHA-256\":"
     "\"d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592\"},"
     "\"name\":\"invoice "
     "2024.pdf\",\"size\":48213,\"mime_type\":\"application/pdf\"}}"},
    {"files", 10, "files", "L.r",
     "{\"0\":{\"type\":\"ipv4-addr\",\"value\":\"192.168.1.23\"},\"1\":{"
     "\"type\":\"ipv4-addr\",\"value\":\"203.0.113.51\"},\"2\":{\"type\":"
     "\"network-traffic\",\"src_ref\":\"0\",\"dst_ref\":\"1\",\"src_port\":"
     "50124,\"dst_port\":80,\"protocols\":[\"ipv4\"]}}"},
    {"x509", 9, "x509", ".",
     "{\"0\":{\"type\":\"x509-certificate\",\"hashes\":{\"SHA-256\":"
     "\"3bd49c3a0b5c2bb1a1bc3a8e0c86a0c6bd4c2f9b4a1b8f5c3e3d7f3c6a2b1d0e\"},"
     "\"version\":\"3\",\"serial_number\":\"0FD078DD48F1A2BD4D0F2BA96B6038FE\","
     "\"signature_algorithm\":\"sha256WithRSAEncryption\",\"issuer\":\"CN="
     "DigiCert Global G2 TLS RSA SHA256 2020 CA1,O=DigiCert "
     "Inc,C=US\",\"validity_not_before\":\"2024-01-15T00:00:00Z\",\"validity_"
     "not_after\":\"2025-02-13T23:59:59Z\",\"subject\":\"CN=www.example.org,O="
     "Internet Corporation for Assigned Names and Numbers,L=Los "
     "Angeles,ST=California,C=US\",\"subject_public_key_algorithm\":"
     "\"rsaEncryption\",\"subject_public_key_exponent\":65537,\"x509_v3_"
     "extensions\":{\"subject_alternative_name\":\"DNS:www.example.org, "
     "DNS:example.net, DNS:example.edu\"}}}"},
};

static void check_zeek_file(const char *log, bool tsv)
{
	struct got g = {0};
	struct tel_reader *r = reader(&g, NULL);
	char path[512];
	struct diag d;
	snprintf(path, sizeof(path), DATA "%s.log%s", log, tsv ? "" : ".json");
	assert_int_equal(tel_read_file(r, path, on_record, &g, &d), ST_OK);
	assert_int_equal(g.n_err, 0);
	size_t k = 0;
	for (size_t i = 0; i < sizeof(zeek_cases) / sizeof(zeek_cases[0]);
	     i++) {
		if (strcmp(zeek_cases[i].log, log) != 0)
			continue;
		assert_true(k < g.n);
		const struct got_rec *x = &g.rec[k++];
		uint64_t line = zeek_cases[i].line - (tsv ? 0 : 8);
		if (x->line != line || strcmp(x->json, zeek_cases[i].scos) ||
		    strcmp(x->local, zeek_cases[i].local))
			fail_msg("%s line %llu:\n got  %llu %s %s\n want %llu "
				 "%s %s",
				 path, (unsigned long long)line,
				 (unsigned long long)x->line, x->local, x->json,
				 (unsigned long long)line, zeek_cases[i].local,
				 zeek_cases[i].scos);
		assert_string_equal(tel_kind_name(x->kind), zeek_cases[i].kind);
		assert_int_equal(x->format,
				 tsv ? TEL_FMT_ZEEK_TSV : TEL_FMT_ZEEK_JSON);
	}
	assert_int_equal(g.n, k);
	const struct tel_stats *s = tel_reader_stats(r);
	assert_int_equal(s->records, k);
	assert_int_equal(s->malformed, 0);
	tel_reader_free(r);
	got_free(&g);
}

static void test_zeek_tsv(void **state)
{
	(void)state;
	static const char *const logs[] = {"conn", "dns",   "http",
					   "ssl",  "files", "x509"};
	for (size_t i = 0; i < 6; i++)
		check_zeek_file(logs[i], true);
}

static void test_zeek_json(void **state)
{
	(void)state;
	static const char *const logs[] = {"conn", "dns",   "http",
					   "ssl",  "files", "x509"};
	for (size_t i = 0; i < 6; i++)
		check_zeek_file(logs[i], false);
}

/* The context of a record: time, uid, values that may be shared. */
static void test_zeek_context(void **state)
{
	(void)state;
	struct got g = {0};
	struct tel_reader *r = reader(&g, NULL);
	struct diag d;
	assert_int_equal(tel_read_file(r, DATA "conn.log", on_record, &g, &d),
			 ST_OK);
	assert_int_equal(g.n, 5);
	assert_true(g.rec[0].ts == INT64_C(1709287200123456));
	assert_string_equal(g.rec[0].uid, "CHhAvVGS1DHFjwGM9");
	/* 192.168.1.10 is local: never quoted; the far end is. */
	assert_null(g.rec[0].value0);
	assert_string_equal(g.rec[0].value1, "93.184.216.34");
	/* Both ends remote (IPv6 documentation and public addresses). */
	assert_string_equal(g.rec[2].value0, "2001:db8::10");
	assert_true(g.rec[2].ts == INT64_C(1709287202000001));
	got_free(&g);

	assert_int_equal(tel_read_file(r, DATA "x509.log", on_record, &g, &d),
			 ST_OK);
	assert_int_equal(g.n, 1);
	assert_null(g.rec[0].uid); /* x509.log of Zeek 6 has no id */
	got_free(&g);

	const struct tel_stats *s = tel_reader_stats(r);
	assert_int_equal(s->inputs, 2);
	assert_int_equal(s->by_kind[TEL_KIND_CONN], 5);
	assert_int_equal(s->by_kind[TEL_KIND_X509], 1);
	assert_int_equal(s->lines, 14 + 10);
	tel_reader_free(r);
}

/* ------------------------------------------------------------------ */
/* Suricata EVE                                                         */
/* ------------------------------------------------------------------ */

static const struct {
	uint64_t line;
	const char *kind;
	const char *local;
	const char *scos;
} eve_cases[] = {
    {1, "dns", "L.r.",
     "{\"0\":{\"type\":\"ipv4-addr\",\"value\":\"10.0.0.5\"},\"1\":{\"type\":"
     "\"ipv4-addr\",\"value\":\"8.8.8.8\"},\"2\":{\"type\":\"network-traffic\","
     "\"src_ref\":\"0\",\"dst_ref\":\"1\",\"src_port\":53535,\"dst_port\":53,"
     "\"protocols\":[\"ipv4\",\"udp\",\"dns\"]},\"3\":{\"type\":\"domain-"
     "name\",\"value\":\"www.example.com\"}}"},
    {2, "dns", ".Lr...",
     "{\"0\":{\"type\":\"ipv4-addr\",\"value\":\"8.8.8.8\"},\"1\":{\"type\":"
     "\"ipv4-addr\",\"value\":\"10.0.0.5\"},\"2\":{\"type\":\"network-"
     "traffic\",\"src_ref\":\"0\",\"dst_ref\":\"1\",\"src_port\":53,\"dst_"
     "port\":53535,\"protocols\":[\"ipv4\",\"udp\",\"dns\"]},\"3\":{\"type\":"
     "\"domain-name\",\"value\":\"www.example.com\",\"resolves_to_refs\":["
     "\"4\",\"5\"]},\"4\":{\"type\":\"domain-name\",\"value\":\"www.example."
     "com.cdn.example.net\"},\"5\":{\"type\":\"ipv4-addr\",\"value\":\"93.184."
     "216.34\"}}"},
    {3, "http", ".....",
     "{\"0\":{\"type\":\"ipv6-addr\",\"value\":\"2001:db8::10\"},\"1\":{"
     "\"type\":\"ipv6-addr\",\"value\":\"2606:2800:220:1:248:1893:25c8:1946\"},"
     "\"2\":{\"type\":\"network-traffic\",\"src_ref\":\"0\",\"dst_ref\":\"1\","
     "\"src_port\":51000,\"dst_port\":80,\"protocols\":[\"ipv6\",\"tcp\","
     "\"http\"],\"extensions\":{\"http-request-ext\":{\"request_method\":"
     "\"get\",\"request_value\":\"/"
     "index.html?q=%2fa%3D\",\"request_version\":\"http/"
     "1.1\",\"request_header\":{\"Host\":\"www.example.com\",\"User-Agent\":"
     "\"Mozilla/5.0 (X11; Linux x86_64) "
     "Firefox/"
     "123.0\"}}}},\"3\":{\"type\":\"domain-name\",\"value\":\"www.example."
     "com\"},\"4\":{\"type\":\"url\",\"value\":\"http://www.example.com/"
     "index.html?q=%2Fa%3D\"}}"},
    {4, "ssl", "L.r..",
     "{\"0\":{\"type\":\"ipv4-addr\",\"value\":\"192.168.1.10\"},\"1\":{"
     "\"type\":\"ipv4-addr\",\"value\":\"93.184.216.34\"},\"2\":{\"type\":"
     "\"network-traffic\",\"src_ref\":\"0\",\"dst_ref\":\"1\",\"src_port\":"
     "49152,\"dst_port\":443,\"protocols\":[\"ipv4\",\"tcp\",\"tls\"]},\"3\":{"
     "\"type\":\"domain-name\",\"value\":\"www.example.org\"},\"4\":{\"type\":"
     "\"x509-certificate\",\"hashes\":{\"SHA-1\":"
     "\"4da25a6d5ef62c5f95c7bd0a73ea3c177b36999d\"},\"serial_number\":\"0F:D0:"
     "78:DD:48:F1:A2:BD:4D:0F:2B:A9:6B:60:38:FE\",\"issuer\":\"C=US, "
     "O=DigiCert Inc, CN=DigiCert Global G2 TLS RSA SHA256 2020 "
     "CA1\",\"validity_not_before\":\"2024-01-15T00:00:00Z\",\"validity_not_"
     "after\":\"2025-02-13T23:59:59Z\",\"subject\":\"C=US, ST=California, "
     "L=Los Angeles, O=Internet Corporation for Assigned Names and Numbers, "
     "CN=www.example.org\"}}"},
    {5, "files", ".Lr...",
     "{\"0\":{\"type\":\"ipv4-addr\",\"value\":\"203.0.113.50\"},\"1\":{"
     "\"type\":\"ipv4-addr\",\"value\":\"192.168.1.23\"},\"2\":{\"type\":"
     "\"network-traffic\",\"src_ref\":\"0\",\"dst_ref\":\"1\",\"src_port\":"
     "8080,\"dst_port\":50123,\"protocols\":[\"ipv4\",\"tcp\",\"http\"],"
     "\"extensions\":{\"http-request-ext\":{\"request_method\":\"post\","
     "\"request_value\":\"/upload/../gate.php\",\"request_version\":\"http/"
     "1.1\",\"request_header\":{\"Host\":\"evil.example.net:8080\",\"User-"
     "Agent\":\"Agent\\\\v1\"}}}},\"3\":{\"type\":\"domain-name\",\"value\":"
     "\"evil.example.net\"},\"4\":{\"type\":\"url\",\"value\":\"http://"
     "evil.example.net:8080/upload/../"
     "gate.php\"},\"5\":{\"type\":\"file\",\"hashes\":{\"MD5\":"
     "\"9e107d9d372bb6826bd81d3542a419d6\",\"SHA-1\":"
     "\"2fd4e1c67a2d28fced849ee1bb76e7391b93eb12\",\"SHA-256\":"
     "\"d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592\"},"
     "\"name\":\"/invoice 2024.pdf\",\"size\":48213}}"},
    {6, "conn", "L.r",
     "{\"0\":{\"type\":\"ipv4-addr\",\"value\":\"172.16.4.20\"},\"1\":{"
     "\"type\":\"ipv4-addr\",\"value\":\"198.51.100.7\"},\"2\":{\"type\":"
     "\"network-traffic\",\"src_ref\":\"0\",\"dst_ref\":\"1\",\"src_port\":"
     "44321,\"dst_port\":8443,\"protocols\":[\"ipv4\",\"tcp\",\"tls\"],"
     "\"start\":\"2024-03-01T10:00:04Z\",\"end\":\"2024-03-01T10:00:07Z\","
     "\"src_byte_count\":1500,\"dst_byte_count\":2400,\"src_packets\":10,\"dst_"
     "packets\":9}}"},
    {7, "alert", "L.r..",
     "{\"0\":{\"type\":\"ipv4-addr\",\"value\":\"192.168.1.23\"},\"1\":{"
     "\"type\":\"ipv4-addr\",\"value\":\"203.0.113.50\"},\"2\":{\"type\":"
     "\"network-traffic\",\"src_ref\":\"0\",\"dst_ref\":\"1\",\"src_port\":"
     "50123,\"dst_port\":8080,\"protocols\":[\"ipv4\",\"tcp\",\"http\"],"
     "\"start\":\"2024-03-01T10:00:08.400Z\",\"src_byte_count\":2700,\"dst_"
     "byte_count\":400,\"src_packets\":4,\"dst_packets\":3,\"extensions\":{"
     "\"http-request-ext\":{\"request_method\":\"post\",\"request_value\":\"/"
     "upload/../gate.php\",\"request_version\":\"http/"
     "1.1\",\"request_header\":{\"Host\":\"evil.example.net:8080\",\"User-"
     "Agent\":\"Agent\\\\v1\"}}}},\"3\":{\"type\":\"domain-name\",\"value\":"
     "\"evil.example.net\"},\"4\":{\"type\":\"url\",\"value\":\"http://"
     "evil.example.net:8080/upload/../gate.php\"}}"},
    {9, "conn", "L.r",
     "{\"0\":{\"type\":\"ipv4-addr\",\"value\":\"192.168.1.10\"},\"1\":{"
     "\"type\":\"ipv4-addr\",\"value\":\"1.1.1.1\"},\"2\":{\"type\":\"network-"
     "traffic\",\"src_ref\":\"0\",\"dst_ref\":\"1\",\"protocols\":[\"ipv4\","
     "\"icmp\"],\"start\":\"2024-03-01T10:00:03.250Z\",\"end\":\"2024-03-01T10:"
     "00:03.250Z\",\"src_byte_count\":98,\"dst_byte_count\":0,\"src_packets\":"
     "1,\"dst_packets\":0,\"extensions\":{\"icmp-ext\":{\"icmp_type_hex\":"
     "\"08\",\"icmp_code_hex\":\"00\"}}}}"},
    {10, "dns", ".Lr..",
     "{\"0\":{\"type\":\"ipv6-addr\",\"value\":\"2001:4860:4860::8888\"},\"1\":"
     "{\"type\":\"ipv6-addr\",\"value\":\"fd00::25\"},\"2\":{\"type\":"
     "\"network-traffic\",\"src_ref\":\"0\",\"dst_ref\":\"1\",\"src_port\":53,"
     "\"dst_port\":40000,\"protocols\":[\"ipv6\",\"udp\",\"dns\"]},\"3\":{"
     "\"type\":\"domain-name\",\"value\":\"mail.example.org\",\"resolves_to_"
     "refs\":[\"4\"]},\"4\":{\"type\":\"ipv6-addr\",\"value\":\"2001:db8::25\"}"
     "}"},
};

static void test_eve(void **state)
{
	(void)state;
	struct got g = {0};
	struct tel_reader *r = reader(&g, NULL);
	struct diag d;
	assert_int_equal(tel_read_file(r, DATA "eve.json", on_record, &g, &d),
			 ST_OK);
	assert_int_equal(g.n_err, 0);
	assert_int_equal(g.n, sizeof(eve_cases) / sizeof(eve_cases[0]));
	for (size_t i = 0; i < g.n; i++) {
		const struct got_rec *x = &g.rec[i];
		if (x->line != eve_cases[i].line ||
		    strcmp(x->json, eve_cases[i].scos) ||
		    strcmp(x->local, eve_cases[i].local))
			fail_msg("eve.json line %llu:\n got  %llu %s %s\n want "
				 "%s %s",
				 (unsigned long long)eve_cases[i].line,
				 (unsigned long long)x->line, x->local, x->json,
				 eve_cases[i].local, eve_cases[i].scos);
		assert_string_equal(tel_kind_name(x->kind), eve_cases[i].kind);
		assert_int_equal(x->format, TEL_FMT_EVE);
	}
	assert_string_equal(g.rec[0].uid, "1180734932446537");
	assert_true(g.rec[0].ts == INT64_C(1709287201500000));
	const struct tel_stats *s = tel_reader_stats(r);
	assert_int_equal(s->skipped, 1); /* the stats event */
	assert_int_equal(s->by_kind[TEL_KIND_ALERT], 1);
	assert_int_equal(s->by_kind[TEL_KIND_CONN], 2);
	tel_reader_free(r);
	got_free(&g);
}

/* The DNS layouts of Suricata's versions: the query and its answers
 * come out the same. */
static void test_eve_dns_layouts(void **state)
{
	(void)state;
#define EVE_DNS_HEAD                                                          \
	"{\"timestamp\":\"2024-03-01T10:00:00+0000\",\"event_type\":\"dns\"," \
	"\"src_ip\":\"8.8.8.8\",\"dest_ip\":\"10.0.0.5\",\"proto\":\"UDP\","
	static const struct {
		const char *line;
		const char *dns; /* the SCOs after the flow's three */
	} cases[] = {
	    /* Version 1: one event per answer. */
	    {EVE_DNS_HEAD "\"dns\":{\"type\":\"answer\",\"id\":1,"
			  "\"rrname\":\"a.example\",\"rrtype\":\"A\","
			  "\"ttl\":60,\"rdata\":\"192.0.2.1\"}}",
	     "\"3\":{\"type\":\"domain-name\",\"value\":\"a.example\","
	     "\"resolves_to_refs\":[\"4\"]},\"4\":{\"type\":\"ipv4-addr\","
	     "\"value\":\"192.0.2.1\"}}"},
	    /* Version 2 with only the grouped answers. */
	    {EVE_DNS_HEAD "\"dns\":{\"version\":2,\"type\":\"answer\","
			  "\"rrname\":\"B.Example\",\"grouped\":{\"AAAA\":"
			  "[\"2001:db8::b\"],\"TXT\":[\"v=spf1\"],\"CNAME\":"
			  "[\"c.example\"]}}}",
	     "\"3\":{\"type\":\"domain-name\",\"value\":\"b.example\","
	     "\"resolves_to_refs\":[\"4\",\"5\"]},\"4\":{\"type\":"
	     "\"ipv6-addr\",\"value\":\"2001:db8::b\"},\"5\":{\"type\":"
	     "\"domain-name\",\"value\":\"c.example\"}}"},
	    /* An alert's DNS metadata: the query list. */
	    {EVE_DNS_HEAD "\"dns\":{\"query\":[{\"type\":\"query\","
			  "\"id\":7,\"rrname\":\"evil.example\",\"rrtype\":"
			  "\"A\",\"tx_id\":0}]}}",
	     "\"3\":{\"type\":\"domain-name\",\"value\":\"evil.example\"}}"},
	    /* Answers of other types are not observables. */
	    {EVE_DNS_HEAD "\"dns\":{\"version\":2,\"type\":\"answer\","
			  "\"rrname\":\"m.example\",\"answers\":[{\"rrname\":"
			  "\"m.example\",\"rrtype\":\"MX\",\"rdata\":"
			  "\"mx.example\"}]}}",
	     "\"3\":{\"type\":\"domain-name\",\"value\":\"m.example\"}}"},
	};
#undef EVE_DNS_HEAD
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct got g = {0};
		struct tel_reader *r = reader(&g, NULL);
		assert_int_equal(read_text(r, &g, "eve.json", cases[i].line,
					   strlen(cases[i].line)),
				 ST_OK);
		assert_int_equal(g.n_err, 0);
		assert_int_equal(g.n, 1);
		assert_int_equal(g.rec[0].kind, TEL_KIND_DNS);
		const char *dns = strstr(g.rec[0].json, "\"3\":");
		if (dns == NULL || strcmp(dns, cases[i].dns) != 0)
			fail_msg("case %zu: %s", i, g.rec[0].json);
		tel_reader_free(r);
		got_free(&g);
	}
}

/* EVE times carry a zone; the record's time is UTC. */
static void test_eve_time_zones(void **state)
{
	(void)state;
	static const struct {
		const char *ts;
		int64_t want; /* 0: malformed */
	} cases[] = {
	    {"2024-03-01T10:00:00.000000+0000", INT64_C(1709287200000000)},
	    {"2024-03-01T12:00:00.5+0200", INT64_C(1709287200500000)},
	    {"2024-03-01T05:30:00.000001-04:30", INT64_C(1709287200000001)},
	    {"2024-03-01T10:00:00Z", INT64_C(1709287200000000)},
	    {"2024-03-01T10:00:00", INT64_C(1709287200000000)},
	    {"2024-02-30T10:00:00+0000", 0},
	    {"2024-03-01T10:00:00+2400", 0},
	    {"2024-03-01T10:00:00+02", 0},
	    {"yesterday", 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct got g = {0};
		struct tel_reader *r = reader(&g, NULL);
		char line[256];
		int n =
		    snprintf(line, sizeof(line),
			     "{\"timestamp\":\"%s\",\"event_type\":\"flow\","
			     "\"src_ip\":\"10.1.1.1\",\"dest_ip\":\"10.1.1.2\","
			     "\"proto\":\"TCP\"}\n",
			     cases[i].ts);
		assert_int_equal(read_text(r, &g, "eve.json", line, (size_t)n),
				 ST_OK);
		if (cases[i].want == 0) {
			assert_int_equal(g.n, 0);
			assert_int_equal(g.n_err, 1);
			assert_non_null(strstr(g.err[0].msg, "timestamp"));
		} else {
			assert_int_equal(g.n, 1);
			assert_true(g.rec[0].ts == cases[i].want);
		}
		tel_reader_free(r);
		got_free(&g);
	}
}

/* ------------------------------------------------------------------ */
/* Malformed lines                                                      */
/* ------------------------------------------------------------------ */

static const char mixed[] =
    /* 1 */ "{\"ts\":1.5,\"id.orig_h\":\"10.0.0.1\",\"id.orig_p\":1,"
	    "\"id.resp_h\":\"10.0.0.2\",\"id.resp_p\":2,\"proto\":\"tcp\","
	    "\"conn_state\":\"S0\"}\n"
	    /* 2 */ "{\"ts\":2.5,\"id.orig_h\":\"10.0.0.1\",\n"
	    /* 3 */ "{\"ts\":3,\"query\":\"example.com\"}\n"
	    /* 4 */ "{\"uid\":\"Cx\",\"query\":\"example.com\"}\n"
	    /* 5 */ "{\"ts\":5,\"id.orig_h\":\"10.0.0.256\",\"query\":\"a.b\"}"
	    "\n"
	    /* 6 */ "{\"ts\":6,\"id.orig_p\":\"80\",\"query\":\"a.b\"}\n"
	    /* 7 */ "[1,2,3]\n"
	    /* 8 */ "\n"
	    /* 9 */ "{\"ts\":9,\"query\":\"example.org\"} {\"ts\":9}\n"
	    /* 10 */ "{\"ts\":10,\"query\":\"x.example\",\"query\":\"y\"}\n"
	    /* 11 */ "   \t \n"
	    /* 12 */ "{\"ts\":\"12\",\"query\":\"last.example\"}";

static void test_malformed_lines(void **state)
{
	(void)state;
	static const struct {
		uint64_t line;
		int err;
		const char *in_msg;
	} want_err[] = {
	    {2, ST_EJSON, "at byte"},
	    {4, ST_EINVAL, "ts: missing"},
	    {5, ST_EINVAL, "id.orig_h: not an IP address"},
	    {6, ST_EINVAL, "id.orig_p: expected a non-negative integer"},
	    {7, ST_EINVAL, "not a JSON object"},
	    {9, ST_EJSON, "at byte"},
	    {10, ST_EJSON, "duplicate key"},
	};
	static const uint64_t want_rec[] = {1, 3, 12};
	struct got g = {0};
	struct tel_reader *r = reader(&g, NULL);
	assert_int_equal(
	    read_text(r, &g, "mixed.log.json", mixed, sizeof(mixed) - 1),
	    ST_OK);
	assert_int_equal(g.n_err, sizeof(want_err) / sizeof(want_err[0]));
	for (size_t i = 0; i < g.n_err; i++) {
		assert_int_equal(g.err[i].line, want_err[i].line);
		assert_int_equal(g.err[i].err, want_err[i].err);
		if (strstr(g.err[i].msg, want_err[i].in_msg) == NULL)
			fail_msg("line %llu: \"%s\" lacks \"%s\"",
				 (unsigned long long)g.err[i].line,
				 g.err[i].msg, want_err[i].in_msg);
	}
	assert_int_equal(g.n, 3);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(g.rec[i].line, want_rec[i]);
	assert_true(g.rec[2].ts == INT64_C(12000000)); /* "12" as text */
	const struct tel_stats *s = tel_reader_stats(r);
	assert_int_equal(s->malformed, 7);
	assert_int_equal(s->records, 3);
	assert_int_equal(s->lines, 12);
	tel_reader_free(r);
	got_free(&g);
}

/* The same through a file descriptor (a pipe), and a callback that stops
 * the read. */
static void test_fd_and_stop(void **state)
{
	(void)state;
	struct got g = {0};
	struct tel_reader *r = reader(&g, NULL);
	struct diag d;
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], mixed, sizeof(mixed) - 1),
			 (ssize_t)(sizeof(mixed) - 1));
	close(fds[1]);
	assert_int_equal(tel_read_fd(r, fds[0], "pipe", on_record, &g, &d),
			 ST_OK);
	close(fds[0]);
	assert_int_equal(g.n, 3);
	assert_int_equal(g.n_err, 7);
	got_free(&g);

	g.stop_after = 2;
	assert_int_equal(read_text(r, &g, "mixed", mixed, sizeof(mixed) - 1),
			 7);
	assert_int_equal(g.n, 2);
	tel_reader_free(r);
	got_free(&g);
}

/* A pipe's lines are handled as they arrive: the callback of the first
 * record writes the second and closes the pipe. A reader that waited for
 * a full buffer (or the end) would wait forever. */
struct live {
	struct got g;
	int wfd;
};

static int on_live(void *ctx, const struct tel_record *r)
{
	struct live *l = ctx;
	static const char second[] = "{\"ts\":2,\"query\":\"b.example\"}\n";
	on_record(&l->g, r);
	if (l->wfd >= 0) {
		assert_int_equal(write(l->wfd, second, sizeof(second) - 1),
				 (ssize_t)(sizeof(second) - 1));
		close(l->wfd);
		l->wfd = -1;
	}
	return 0;
}

static void test_live_pipe(void **state)
{
	(void)state;
	static const char first[] = "{\"ts\":1,\"query\":\"a.example\"}\n";
	struct live l = {{0}, -1};
	struct tel_reader *r = reader(&l.g, NULL);
	struct diag d;
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	l.wfd = fds[1];
	assert_int_equal(write(fds[1], first, sizeof(first) - 1),
			 (ssize_t)(sizeof(first) - 1));
	alarm(20); /* a regression would hang here */
	assert_int_equal(tel_read_fd(r, fds[0], "live", on_live, &l, &d),
			 ST_OK);
	alarm(0);
	close(fds[0]);
	assert_int_equal(l.g.n, 2);
	assert_int_equal(l.g.rec[1].line, 2);
	tel_reader_free(r);
	got_free(&l.g);
}

static void test_eve_malformed(void **state)
{
	(void)state;
	static const struct {
		const char *line;
		const char *in_msg; /* NULL: delivered */
	} cases[] = {
	    {"{\"timestamp\":\"2024-03-01T10:00:00+0000\",\"event_type\":"
	     "\"flow\",\"src_ip\":\"10.0.0.1\",\"dest_ip\":\"10.0.0.2\"}",
	     NULL},
	    {"{\"event_type\":\"flow\",\"src_ip\":\"10.0.0.1\"}",
	     "timestamp: missing"},
	    {"{\"timestamp\":\"2024-03-01T10:00:00+0000\",\"event_type\":3}",
	     "event_type: expected a string"},
	    {"{\"timestamp\":\"2024-03-01T10:00:00+0000\",\"event_type\":"
	     "\"flow\",\"src_ip\":\"fe80::1%eth0\"}",
	     "src_ip: not an IP address"},
	    {"{\"timestamp\":\"2024-03-01T10:00:00+0000\",\"event_type\":"
	     "\"flow\",\"src_ip\":\"2001:db8::1\\u0000junk\"}",
	     "src_ip: not an IP address"},
	    {"{\"timestamp\":\"2024-03-01T10:00:00+0000\",\"event_type\":"
	     "\"flow\",\"dest_ip\":\"10.0.0.1\\u0000\"}",
	     "dest_ip: not an IP address"},
	    {"{\"timestamp\":\"2024-03-01T10:00:00+0000\",\"event_type\":"
	     "\"flow\",\"src_ip\":\"10.0.0.1\",\"src_port\":70000}",
	     "src_port: expected an integer"},
	    {"{\"timestamp\":\"2024-03-01T10:00:00+0000\",\"event_type\":"
	     "\"http\",\"src_ip\":\"10.0.0.1\",\"http\":[]}",
	     "http: expected an object"},
	    {"{\"timestamp\":\"2024-03-01T10:00:00+0000\",\"event_type\":"
	     "\"fileinfo\",\"src_ip\":\"10.0.0.1\",\"fileinfo\":{\"md5\":"
	     "\"xyz\"}}",
	     "md5: not 32 hex digits"},
	    {"{\"timestamp\":\"2024-03-01T10:00:00+0000\",\"event_type\":"
	     "\"dns\",\"src_ip\":\"10.0.0.1\",\"dns\":{\"rrname\":5}}",
	     "dns.rrname: expected a string"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct got g = {0};
		struct tel_reader *r = reader(&g, NULL);
		assert_int_equal(read_text(r, &g, "eve.json", cases[i].line,
					   strlen(cases[i].line)),
				 ST_OK);
		if (cases[i].in_msg == NULL) {
			assert_int_equal(g.n, 1);
			assert_int_equal(g.n_err, 0);
		} else {
			assert_int_equal(g.n, 0);
			assert_int_equal(g.n_err, 1);
			assert_int_equal(g.err[0].line, 1);
			if (strstr(g.err[0].msg, cases[i].in_msg) == NULL)
				fail_msg("case %zu: \"%s\" lacks \"%s\"", i,
					 g.err[0].msg, cases[i].in_msg);
		}
		tel_reader_free(r);
		got_free(&g);
	}
}

/* ------------------------------------------------------------------ */
/* Zeek TSV details                                                     */
/* ------------------------------------------------------------------ */

/* Another separator and other markers, escapes, sets, unset and empty
 * values, CRLF endings, a header block starting over. */
static const char tsv_custom[] =
    "#separator \\x7c\r\n"
    "#set_separator|;\r\n"
    "#empty_field|EMPTY\r\n"
    "#unset_field|NULL\r\n"
    "#path|dns\r\n"
    "#fields|ts|uid|id.orig_h|id.orig_p|id.resp_h|id.resp_p|proto|query|"
    "answers|TTLs\r\n"
    "#types|time|string|addr|port|addr|port|enum|string|vector[string]|"
    "vector[interval]\r\n"
    /* 8 */ "100.000001|C1|10.1.1.1|5353|10.1.1.53|53|udp|"
    "Caf\\xc3\\xa9.Example|a\\x3bb.example;10.9.9.9;-|1;2;3\r\n"
    /* 9 */ "101|C2|10.1.1.1|5353|10.1.1.53|53|udp|NULL|EMPTY|EMPTY\r\n"
    /* 10 */ "102|C3|10.1.1.1|5353|10.1.1.53|53|udp|bad\\xff.example|"
    "EMPTY|EMPTY\r\n"
    /* 11 */ "103|C4|10.1.1.1|5353|10.1.1.53\r\n"
    /* 12 */ "104|C5|10.1.1.1|x|10.1.1.53|53|udp|a.example|EMPTY|EMPTY\r\n"
    /* 13 */ "#separator \\x09\n"
    /* 14 */ "#fields\tts\tid.orig_h\tid.resp_h\tmethod\thost\turi\t"
    "user_agent\n"
    /* 15 */ "105.5\t10.2.2.2\t192.0.2.80\tGET\tweb.example\t/a\\x09b\t"
    "\\x2d\n"
    /* 16 */ "106\t10.2.2.2\t192.0.2.80\tGET\t(empty)\t-\t-";

static void test_tsv_markers_and_escapes(void **state)
{
	(void)state;
	struct got g = {0};
	struct tel_reader *r = reader(&g, NULL);
	assert_int_equal(
	    read_text(r, &g, "custom", tsv_custom, sizeof(tsv_custom) - 1),
	    ST_OK);
	/* Lines 11 (too few fields) and 12 (bad port) are malformed. */
	assert_int_equal(g.n_err, 2);
	assert_int_equal(g.err[0].line, 11);
	assert_non_null(strstr(g.err[0].msg, "5 fields, #fields has 10"));
	assert_int_equal(g.err[1].line, 12);
	assert_non_null(strstr(g.err[1].msg, "id.orig_p"));
	assert_int_equal(g.n, 5);

	/* Escaped UTF-8 decoded, lowercased; the escaped set separator is
	 * part of an element (so not a domain); "-" inside a set is just
	 * text (not a name either). */
	assert_int_equal(g.rec[0].line, 8);
	assert_true(g.rec[0].ts == 100000001);
	assert_string_equal(
	    g.rec[0].json,
	    "{\"0\":{\"type\":\"ipv4-addr\",\"value\":\"10.1.1.1\"},"
	    "\"1\":{\"type\":\"ipv4-addr\",\"value\":\"10.1.1.53\"},"
	    "\"2\":{\"type\":\"network-traffic\",\"src_ref\":\"0\","
	    "\"dst_ref\":\"1\",\"src_port\":5353,\"dst_port\":53,"
	    "\"protocols\":[\"ipv4\",\"udp\",\"dns\"]},"
	    "\"3\":{\"type\":\"domain-name\",\"value\":\"caf\xc3\xa9.example\","
	    "\"resolves_to_refs\":[\"4\"]},"
	    "\"4\":{\"type\":\"ipv4-addr\",\"value\":\"10.9.9.9\"}}");
	assert_string_equal(g.rec[0].local, "LLrrL"); /* resolves to 10/8 */
	/* Unset query, empty answers: the flow only. */
	assert_int_equal(g.rec[1].line, 9);
	assert_null(strstr(g.rec[1].json, "domain-name"));
	/* \xff does not decode to UTF-8: kept escaped, and then it is not a
	 * plausible domain name. */
	assert_int_equal(g.rec[2].line, 10);
	assert_null(strstr(g.rec[2].json, "domain-name"));
	/* Second header block: no #path, kind from the fields (http), an
	 * escaped tab in the URI, "\x2d" is a literal "-". */
	assert_int_equal(g.rec[3].line, 15);
	assert_int_equal(g.rec[3].kind, TEL_KIND_HTTP);
	assert_non_null(strstr(g.rec[3].json, "\"request_value\":\"/a\\tb\""));
	assert_non_null(strstr(g.rec[3].json, "\"User-Agent\":\"-\""));
	assert_non_null(strstr(g.rec[3].json,
			       "{\"type\":\"domain-name\",\"value\":"
			       "\"web.example\"}"));
	/* A tab cannot be in a URL: no url SCO. */
	assert_null(strstr(g.rec[3].json, "\"url\""));
	/* Last line, no newline: empty host, unset URI. */
	assert_int_equal(g.rec[4].line, 16);
	assert_null(strstr(g.rec[4].json, "domain-name"));
	tel_reader_free(r);
	got_free(&g);
}

static void test_tsv_headers(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		size_t n_rec;
		const char *err; /* message of the first error, or NULL */
		uint64_t err_line;
	} cases[] = {
	    /* Data before any #fields. */
	    {"#separator \\x09\n1\t10.0.0.1\n", 0,
	     "data before a #fields header", 2},
	    /* #types must match #fields (reported; the fields are kept). */
	    {"#separator \\x09\n#fields\tts\tid.orig_h\n#types\ttime\n"
	     "1\t10.0.0.1\n",
	     1, "#types has 1 columns, #fields 2", 3},
	    /* A bad #separator keeps the default (tab). */
	    {"#separator\n#fields\tts\tid.orig_h\tid.resp_h\tproto\n"
	     "1\t10.0.0.1\t10.0.0.2\ttcp\n",
	     1, "#separator: bad value", 1},
	    /* Unknown columns are carried along. */
	    {"#separator \\x09\n#path\tsmtp\n#fields\tts\tid.orig_h\tid.orig_p"
	     "\tid.resp_h\tid.resp_p\tmailfrom\n"
	     "1\t10.0.0.1\t25000\t198.51.100.25\t25\tx@example.com\n",
	     1, NULL, 0},
	    /* Zeek's own logs: nothing to observe, not malformed. */
	    {"#separator \\x09\n#path\tloaded_scripts\n#fields\tname\n"
	     "/opt/zeek/share/zeek/base/init-bare.zeek\n",
	     0, NULL, 0},
	    {"#separator \\x09\n#path\tcapture_loss\n#fields\tts\tts_delta"
	     "\tpeer\tgaps\tacks\tpercent_lost\n"
	     "1709287200.0\t900.0\tzeek\t0\t10\t0.0\n",
	     0, NULL, 0},
	    /* Missing ts in an otherwise fine line. */
	    {"#separator \\x09\n#fields\tts\tid.orig_h\n-\t10.0.0.1\n", 0,
	     "ts: missing", 3},
	    /* Invalid UTF-8 in a line. */
	    {"#separator \\x09\n#fields\tts\tquery\n1\t\xff.example\n", 0,
	     "invalid UTF-8 at byte 2", 3},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct got g = {0};
		struct tel_reader *r = reader(&g, NULL);
		assert_int_equal(read_text(r, &g, "t.log", cases[i].text,
					   strlen(cases[i].text)),
				 ST_OK);
		if (g.n != cases[i].n_rec)
			fail_msg("case %zu: %zu records", i, g.n);
		if (cases[i].err == NULL) {
			assert_int_equal(g.n_err, 0);
		} else {
			assert_true(g.n_err >= 1);
			assert_int_equal(g.err[0].line, cases[i].err_line);
			if (strstr(g.err[0].msg, cases[i].err) == NULL)
				fail_msg("case %zu: \"%s\" lacks \"%s\"", i,
					 g.err[0].msg, cases[i].err);
		}
		if (i == 3)
			assert_int_equal(g.rec[0].kind, TEL_KIND_OTHER);
		tel_reader_free(r);
		got_free(&g);
	}
}

/* ------------------------------------------------------------------ */
/* Zeek JSON variants                                                   */
/* ------------------------------------------------------------------ */

static void test_zeek_json_variants(void **state)
{
	(void)state;
	static const char text[] =
	    /* ISO times (JSON::TS_ISO8601), nested id, _path. */
	    "{\"_path\":\"conn\",\"ts\":\"2024-03-01T10:00:00.250000Z\","
	    "\"id\":{\"orig_h\":\"2001:DB8:0:0::1\",\"orig_p\":1,"
	    "\"resp_h\":\"2001:db8::2\",\"resp_p\":2},\"proto\":\"tcp\"}\n"
	    /* local_orig marks an address outside the local networks. */
	    "{\"ts\":1,\"id.orig_h\":\"198.51.100.1\",\"id.orig_p\":1,"
	    "\"id.resp_h\":\"198.51.100.2\",\"id.resp_p\":2,\"proto\":\"udp\","
	    "\"conn_state\":\"S0\",\"local_orig\":true}\n"
	    /* A log the reader knows nothing about: the ends still count. */
	    "{\"ts\":2,\"id.orig_h\":\"198.51.100.1\",\"id.orig_p\":1,"
	    "\"id.resp_h\":\"198.51.100.2\",\"id.resp_p\":22,"
	    "\"proto\":\"tcp\",\"client\":\"SSH-2.0-OpenSSH_9.6\"}\n"
	    /* Files before Zeek 5.1: tx/rx hosts. */
	    "{\"ts\":3,\"fuid\":\"F1\",\"tx_hosts\":[\"203.0.113.9\"],"
	    "\"rx_hosts\":[\"10.0.0.3\"],\"is_orig\":false,"
	    "\"sha1\":\"2FD4E1C67A2D28FCED849EE1BB76E7391B93EB12\"}\n"
	    /* ssl.log before Zeek 6: subject and issuer. */
	    "{\"ts\":4,\"uid\":\"C9\",\"id.orig_h\":\"10.0.0.1\","
	    "\"id.orig_p\":1,\"id.resp_h\":\"198.51.100.2\",\"id.resp_p\":443,"
	    "\"version\":\"TLSv12\",\"server_name\":\"a.example.\","
	    "\"subject\":\"CN=a.example\",\"issuer\":\"CN=CA\"}\n";
	struct got g = {0};
	struct tel_reader *r = reader(&g, NULL);
	assert_int_equal(read_text(r, &g, "mixed.json", text, strlen(text)),
			 ST_OK);
	assert_int_equal(g.n_err, 0);
	assert_int_equal(g.n, 5);
	assert_true(g.rec[0].ts == INT64_C(1709287200250000));
	assert_int_equal(g.rec[0].kind, TEL_KIND_CONN);
	assert_string_equal(
	    g.rec[0].json,
	    "{\"0\":{\"type\":\"ipv6-addr\",\"value\":\"2001:db8::1\"},"
	    "\"1\":{\"type\":\"ipv6-addr\",\"value\":\"2001:db8::2\"},"
	    "\"2\":{\"type\":\"network-traffic\",\"src_ref\":\"0\","
	    "\"dst_ref\":\"1\",\"src_port\":1,\"dst_port\":2,"
	    "\"protocols\":[\"ipv6\",\"tcp\"],"
	    "\"start\":\"2024-03-01T10:00:00.250Z\"}}");
	assert_string_equal(g.rec[1].local, "L.r");
	assert_null(g.rec[1].value0);
	assert_int_equal(g.rec[2].kind, TEL_KIND_OTHER);
	assert_string_equal(g.rec[2].local, "...");
	assert_int_equal(g.rec[3].kind, TEL_KIND_FILES);
	assert_string_equal(g.rec[3].uid, "F1");
	assert_string_equal(
	    g.rec[3].json,
	    "{\"0\":{\"type\":\"ipv4-addr\",\"value\":\"203.0.113.9\"},"
	    "\"1\":{\"type\":\"ipv4-addr\",\"value\":\"10.0.0.3\"},"
	    "\"2\":{\"type\":\"file\",\"hashes\":{\"SHA-1\":"
	    "\"2fd4e1c67a2d28fced849ee1bb76e7391b93eb12\"}}}");
	assert_int_equal(g.rec[4].kind, TEL_KIND_SSL);
	assert_non_null(strstr(g.rec[4].json,
			       "{\"type\":\"domain-name\",\"value\":"
			       "\"a.example\"}"));
	assert_non_null(strstr(g.rec[4].json,
			       "{\"type\":\"x509-certificate\",\"issuer\":"
			       "\"CN=CA\",\"subject\":\"CN=a.example\"}"));
	tel_reader_free(r);
	got_free(&g);
}

/* ------------------------------------------------------------------ */
/* Limits and edges                                                     */
/* ------------------------------------------------------------------ */

static char *conn_line(char *p, unsigned i, size_t pad)
{
	p += sprintf(
	    p,
	    "{\"ts\":%u.5,\"uid\":\"C%u\",\"id.orig_h\":\"10.%u.%u.%u\","
	    "\"id.orig_p\":%u,\"id.resp_h\":\"198.51.100.%u\","
	    "\"id.resp_p\":443,\"proto\":\"tcp\",\"conn_state\":\"SF\","
	    "\"history\":\"",
	    1700000000 + i, i, (i >> 16) & 255, (i >> 8) & 255, i & 255,
	    1024 + i % 60000, i % 250);
	memset(p, 'x', pad);
	p += pad;
	p += sprintf(p, "\"}\n");
	return p;
}

static void test_long_lines(void **state)
{
	(void)state;
	struct tel_options o = TEL_OPTIONS_DEFAULT;
	o.max_line = 1024;
	char *text = malloc(64 * 1024);
	assert_non_null(text);
	char *p = text;
	p = conn_line(p, 1, 10);	       /* 1 */
	p = conn_line(p, 2, 2000);	       /* 2: too long */
	p = conn_line(p, 3, 10);	       /* 3 */
	p += sprintf(p, "#separator \\x09\n"); /* 4: not JSON */
	p = conn_line(p, 5, 10);	       /* 5 */
	struct got g = {0};
	struct tel_reader *r = reader(&g, &o);
	assert_int_equal(
	    read_text(r, &g, "long.json", text, (size_t)(p - text)), ST_OK);
	assert_int_equal(g.n, 3);
	assert_int_equal(g.rec[0].line, 1);
	assert_int_equal(g.rec[1].line, 3);
	assert_int_equal(g.rec[2].line, 5);
	assert_int_equal(g.n_err, 2);
	assert_int_equal(g.err[0].line, 2);
	assert_int_equal(g.err[0].err, ST_ELIMIT);
	assert_int_equal(g.err[1].line, 4);
	assert_int_equal(tel_reader_stats(r)->too_long, 1);
	got_free(&g);

	/* TSV too. */
	static const char tsv[] = "#separator \\x09\n#fields\tts\tquery\n"
				  "1\ta.example\n";
	p = text;
	p += sprintf(p, "%s2\t", tsv);
	memset(p, 'a', 1500);
	p += 1500;
	p += sprintf(p, ".example\n3\tc.example\n");
	assert_int_equal(read_text(r, &g, "long.log", text, (size_t)(p - text)),
			 ST_OK);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.rec[1].line, 5);
	assert_int_equal(g.n_err, 1);
	assert_int_equal(g.err[0].line, 4);
	assert_int_equal(g.err[0].err, ST_ELIMIT);
	got_free(&g);
	free(text);
	tel_reader_free(r);
}

/* A line longer than the reader's whole buffer is skipped as it streams
 * by; the lines after it keep their numbers. */
static void test_huge_line(void **state)
{
	(void)state;
	size_t huge = 9u << 20;
	char *text = malloc(huge + 4096);
	assert_non_null(text);
	char *p = conn_line(text, 1, 10);
	p = conn_line(p, 2, huge);
	p = conn_line(p, 3, 10);
	struct got g = {0};
	struct tel_reader *r = reader(&g, NULL);
	assert_int_equal(
	    read_text(r, &g, "huge.json", text, (size_t)(p - text)), ST_OK);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.rec[1].line, 3);
	assert_int_equal(g.n_err, 1);
	assert_int_equal(g.err[0].line, 2);
	assert_int_equal(g.err[0].err, ST_ELIMIT);
	assert_int_equal(tel_reader_stats(r)->too_long, 1);
	assert_int_equal(tel_reader_stats(r)->lines, 3);
	tel_reader_free(r);
	got_free(&g);
	free(text);
}

static void test_empty_and_blank(void **state)
{
	(void)state;
	static const char *const inputs[] = {
	    "", "\n", "\n\n  \n", "\xef\xbb\xbf", "\r\n",
	};
	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		struct got g = {0};
		struct tel_reader *r = reader(&g, NULL);
		assert_int_equal(
		    read_text(r, &g, "empty", inputs[i], strlen(inputs[i])),
		    ST_OK);
		assert_int_equal(g.n, 0);
		assert_int_equal(g.n_err, 0);
		tel_reader_free(r);
		got_free(&g);
	}
	/* No body at all. */
	{
		struct got g = {0};
		struct tel_reader *r = reader(&g, NULL);
		struct diag d;
		assert_int_equal(
		    tel_read_mem(r, NULL, 0, "empty", on_record, &g, &d),
		    ST_OK);
		assert_int_equal(tel_reader_stats(r)->inputs, 1);
		tel_reader_free(r);
	}
	/* An empty file on disk. */
	char path[] = "/tmp/strait-tel-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	struct got g = {0};
	struct tel_reader *r = reader(&g, NULL);
	struct diag d;
	assert_int_equal(tel_read_file(r, path, on_record, &g, &d), ST_OK);
	assert_int_equal(g.n + g.n_err, 0);
	unlink(path);
	assert_int_equal(tel_read_file(r, path, on_record, &g, &d),
			 ST_ENOTFOUND);
	tel_reader_free(r);
}

static void test_no_trailing_newline_and_bom(void **state)
{
	(void)state;
	static const char text[] =
	    "\xef\xbb\xbf{\"ts\":1,\"query\":\"a.example\"}"
	    "\r\n{\"ts\":2,\"query\":\"b.example\"}";
	struct got g = {0};
	struct tel_reader *r = reader(&g, NULL);
	assert_int_equal(
	    read_text(r, &g, "dns.log.json", text, sizeof(text) - 1), ST_OK);
	assert_int_equal(g.n_err, 0);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.rec[1].line, 2);
	assert_string_equal(g.rec[1].json,
			    "{\"0\":{\"type\":\"domain-name\",\"value\":"
			    "\"b.example\"}}");
	tel_reader_free(r);
	got_free(&g);
}

/* Many records across the reader's chunks and the JSON-lines windows:
 * every one delivered, numbered right, with errors sprinkled in. */
static void test_many_lines(void **state)
{
	(void)state;
	unsigned n = 40000;
	char *text = malloc((size_t)n * 300);
	assert_non_null(text);
	char *p = text;
	for (unsigned i = 1; i <= n; i++) {
		if (i % 997 == 0)
			p += sprintf(p, "{\"ts\":1,\"broken\"\n");
		else if (i % 1009 == 0)
			p += sprintf(p, "\xc3\x28\n"); /* bad UTF-8 */
		else
			p = conn_line(p, i, i % 17);
	}
	struct got g = {0};
	struct tel_reader *r = reader(&g, NULL);
	assert_int_equal(
	    read_text(r, &g, "many.json", text, (size_t)(p - text)), ST_OK);
	unsigned bad = n / 997 + n / 1009;
	assert_int_equal(g.n_err, bad);
	assert_int_equal(g.n, n - bad);
	size_t k = 0, e = 0;
	for (unsigned i = 1; i <= n; i++) {
		if (i % 997 == 0 || i % 1009 == 0)
			assert_int_equal(g.err[e++].line, i);
		else
			assert_int_equal(g.rec[k++].line, i);
	}
	assert_true(g.rec[n - bad - 1].ts ==
		    (int64_t)(1700000000 + n) * 1000000 + 500000);
	tel_reader_free(r);
	got_free(&g);
	free(text);
}

static void test_limits_and_filters(void **state)
{
	(void)state;
	/* A DNS answer list longer than max_scos: truncated, counted. */
	char text[4096];
	char *p = text + sprintf(text, "{\"ts\":1,\"query\":\"many.example\","
				       "\"answers\":[");
	for (int i = 0; i < 40; i++)
		p += sprintf(p, "%s\"192.0.2.%d\"", i ? "," : "", i);
	p += sprintf(p, "]}\n{\"ts\":2,\"id.orig_h\":\"10.0.0.1\","
			"\"id.resp_h\":\"10.0.0.2\",\"proto\":\"tcp\","
			"\"conn_state\":\"S0\"}\n");
	struct tel_options o = TEL_OPTIONS_DEFAULT;
	o.max_scos = 8;
	struct got g = {0};
	struct tel_reader *r = reader(&g, &o);
	assert_int_equal(read_text(r, &g, "x.json", text, (size_t)(p - text)),
			 ST_OK);
	assert_int_equal(g.n, 2);
	assert_int_equal(strlen(g.rec[0].local), 8);
	assert_non_null(strstr(g.rec[0].json, "\"resolves_to_refs\":[\"1\","
					      "\"2\",\"3\",\"4\",\"5\",\"6\","
					      "\"7\"]"));
	assert_int_equal(tel_reader_stats(r)->truncated, 1);
	tel_reader_free(r);
	got_free(&g);

	/* Only conn records. */
	o = TEL_OPTIONS_DEFAULT;
	o.kinds = TEL_KIND_BIT(TEL_KIND_CONN);
	r = reader(&g, &o);
	assert_int_equal(read_text(r, &g, "x.json", text, (size_t)(p - text)),
			 ST_OK);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.rec[0].kind, TEL_KIND_CONN);
	assert_int_equal(tel_reader_stats(r)->skipped, 1);
	tel_reader_free(r);
	got_free(&g);

	/* Own local networks: 198.51.100.0/24 is ours, 10/8 is not. */
	struct ip_prefix nets[1];
	assert_true(ip_parse("198.51.100.0/24", 15, &nets[0]));
	o = TEL_OPTIONS_DEFAULT;
	o.local_nets = nets;
	o.n_local_nets = 1;
	r = reader(&g, &o);
	static const char two[] =
	    "{\"ts\":1,\"id.orig_h\":\"10.0.0.1\",\"id.resp_h\":"
	    "\"198.51.100.3\",\"proto\":\"udp\",\"conn_state\":\"S0\"}\n";
	assert_int_equal(read_text(r, &g, "x.json", two, sizeof(two) - 1),
			 ST_OK);
	assert_string_equal(g.rec[0].local, ".Lr");
	assert_string_equal(g.rec[0].value0, "10.0.0.1");
	assert_null(g.rec[0].value1);
	tel_reader_free(r);
	got_free(&g);

	/* No local networks at all. */
	o = TEL_OPTIONS_DEFAULT;
	o.no_default_local_nets = true;
	r = reader(&g, &o);
	assert_int_equal(read_text(r, &g, "x.json", two, sizeof(two) - 1),
			 ST_OK);
	assert_string_equal(g.rec[0].local, "...");
	tel_reader_free(r);
	got_free(&g);

	/* Options out of range. */
	struct tel_reader *bad = NULL;
	struct diag d;
	o = TEL_OPTIONS_DEFAULT;
	o.max_scos = 65;
	assert_int_equal(tel_reader_new(&o, &bad, &d), ST_EINVAL);
	assert_null(bad);
	o = TEL_OPTIONS_DEFAULT;
	o.max_line = 10;
	assert_int_equal(tel_reader_new(&o, &bad, &d), ST_EINVAL);
	tel_reader_free(NULL);
}

static void test_read_dir(void **state)
{
	(void)state;
	struct got g = {0};
	struct tel_reader *r = reader(&g, NULL);
	struct diag d;
	assert_int_equal(
	    tel_read_dir(r, TEST_DATA_DIR "/telemetry", on_record, &g, &d),
	    ST_OK);
	const struct tel_stats *s = tel_reader_stats(r);
	assert_int_equal(s->inputs, 13); /* 6 logs in 2 formats, eve.json */
	assert_int_equal(s->malformed, 0);
	assert_int_equal(s->by_kind[TEL_KIND_CONN], 2 * 5 + 2);
	assert_int_equal(s->by_kind[TEL_KIND_DNS], 2 * 4 + 3);
	assert_int_equal(s->by_kind[TEL_KIND_X509], 2);
	got_free(&g);
	tel_reader_free(r);

	/* Only DNS: other Zeek logs are not even opened. */
	struct tel_options o = TEL_OPTIONS_DEFAULT;
	o.kinds = TEL_KIND_BIT(TEL_KIND_DNS);
	r = reader(&g, &o);
	assert_int_equal(
	    tel_read_dir(r, TEST_DATA_DIR "/telemetry", on_record, &g, &d),
	    ST_OK);
	assert_int_equal(tel_reader_stats(r)->inputs, 3);
	assert_int_equal(g.n, 2 * 4 + 3);
	got_free(&g);
	assert_int_equal(
	    tel_read_dir(r, "/nonexistent/strait", on_record, &g, &d),
	    ST_ENOTFOUND);
	tel_reader_free(r);
}

/* ------------------------------------------------------------------ */
/* The JSON-lines iterator                                              */
/* ------------------------------------------------------------------ */

static void test_json_lines(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		const char *want; /* per line: 'd' document, 'e' error */
		uint64_t next;	  /* line number after the text */
	} cases[] = {
	    {"", "", 1},
	    {"{}", "d", 2},
	    {"{}\n", "d", 2},
	    {"{}\n\n[1]\n", "d.d", 4},
	    {"{} {}\n{}\n", "ed", 3},
	    {"{\n}\n{}\n", "eed", 4},
	    {"1\n\"s\"\nnull\n", "ddd", 4},
	    {"{\"a\":1}}\n{}\n", "ed", 3},
	    {"{\"a\":\"\xff\"}\n{}\n", "ed", 3},
	    {"{\"a\":\"unclosed}\n{}\n", "ed", 3},
	    {"{\"a\":1,\"a\":2}\n{}\n", "ed", 3},
	    {"  {}  \r\n\t[]\t\n", "dd", 3},
	    {"{}\n{", "de", 3},
	};
	struct json_lines *jl = json_lines_new();
	assert_non_null(jl);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = strlen(cases[i].text);
		char *buf = calloc(1, len + JSON_PADDING);
		memcpy(buf, cases[i].text, len);
		json_lines_start(jl, buf, len, 1, NULL);
		char got[32] = {0};
		uint64_t expect_line = 1;
		struct json_line ln;
		struct diag d;
		int rc;
		size_t k = 0;
		while ((rc = json_lines_next(jl, &ln, &d)) != 0) {
			while (k < strlen(cases[i].want) &&
			       cases[i].want[k] == '.') {
				got[k++] = '.';
				expect_line++;
			}
			assert_int_equal(ln.line, expect_line);
			got[k++] = rc == 1 ? 'd' : 'e';
			if (rc == 1)
				assert_non_null(ln.root);
			else
				assert_null(ln.root);
			expect_line++;
		}
		if (strcmp(got, cases[i].want) != 0 || ln.line != cases[i].next)
			fail_msg("case %zu: got \"%s\" next %llu, want \"%s\" "
				 "%llu",
				 i, got, (unsigned long long)ln.line,
				 cases[i].want,
				 (unsigned long long)cases[i].next);
		free(buf);
	}
	json_lines_free(jl);
	json_lines_free(NULL);
}

/* Windows: lines of many sizes around the window's bounds, and the
 * first line number given. */
static void test_json_lines_windows(void **state)
{
	(void)state;
	size_t cap = 4u << 20;
	char *buf = malloc(cap + JSON_PADDING);
	assert_non_null(buf);
	size_t len = 0;
	unsigned n = 0;
	for (unsigned i = 0; len < cap - 400000; i++, n++) {
		size_t pad = i % 50 == 0 ? 300000 - 40 * (i % 7) : i % 300;
		len += (size_t)sprintf(buf + len, "{\"i\":%u,\"p\":\"", i);
		memset(buf + len, 'p', pad);
		len += pad;
		len += (size_t)sprintf(buf + len, "\"}\n");
	}
	struct json_lines *jl = json_lines_new();
	struct json_limits lim = JSON_LIMITS_DEFAULT;
	json_lines_start(jl, buf, len, 100, &lim);
	struct json_line ln;
	struct diag d;
	unsigned k = 0;
	int rc;
	while ((rc = json_lines_next(jl, &ln, &d)) == 1) {
		const struct json_val *v = json_get(ln.root, "i");
		assert_non_null(v);
		assert_int_equal(v->u.num.i, k);
		assert_int_equal(ln.line, 100 + k);
		k++;
	}
	assert_int_equal(rc, 0);
	assert_int_equal(k, n);
	assert_int_equal(ln.line, 100 + n);
	json_lines_free(jl);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_zeek_tsv),
	    cmocka_unit_test(test_zeek_json),
	    cmocka_unit_test(test_zeek_context),
	    cmocka_unit_test(test_eve),
	    cmocka_unit_test(test_eve_dns_layouts),
	    cmocka_unit_test(test_eve_time_zones),
	    cmocka_unit_test(test_malformed_lines),
	    cmocka_unit_test(test_fd_and_stop),
	    cmocka_unit_test(test_live_pipe),
	    cmocka_unit_test(test_eve_malformed),
	    cmocka_unit_test(test_tsv_markers_and_escapes),
	    cmocka_unit_test(test_tsv_headers),
	    cmocka_unit_test(test_zeek_json_variants),
	    cmocka_unit_test(test_long_lines),
	    cmocka_unit_test(test_huge_line),
	    cmocka_unit_test(test_empty_and_blank),
	    cmocka_unit_test(test_no_trailing_newline_and_bom),
	    cmocka_unit_test(test_many_lines),
	    cmocka_unit_test(test_limits_and_filters),
	    cmocka_unit_test(test_read_dir),
	    cmocka_unit_test(test_json_lines),
	    cmocka_unit_test(test_json_lines_windows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
