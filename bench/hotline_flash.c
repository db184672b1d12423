/*
 * FLASH delivery latency between two nodes' principals (issue 6), on
 * loopback.
 *
 *   hotline_flash --post KR_BASE TOKEN --watch JP_BASE TOKEN --home KR_HOME
 *                 --as NAME --key FILE --to PEER:NAME [--seconds S]
 *                 [--interval-ms M] --out FILE
 *                 [--bulk-watch HEALTH_URL TOKEN FILE]
 *
 * Signs and seals FLASH messages (status Test) as the principal NAME of
 * KR, the way its client would, and hands each to KR's API (POST
 * /api/v1/hotline/messages/: kept and queued there); watches JP's hotline
 * event feed (Server-Sent Events, the recipient's account) for the
 * "message" event of each (kept on JP's disk). One message every M ms
 * (default 20) for S seconds (default 5). Writes one line per message to
 * FILE: the wall-clock time it was handed in (seconds), its latency in ms
 * from the start of the POST to the event at JP (-1: never arrived), and
 * the time of the POST alone (KR's durable write).
 * With --bulk-watch, a thread also reads JP's health document every 20 ms
 * over one kept-alive connection, and writes to FILE the version count
 * it first saw, the last one, and the wall-clock times of the first and
 * the last change: when a bulk replication reached JP. (Polling from a
 * shell, a curl and four other processes every 20 ms, took a fifth of
 * the two cores from what is measured.)
 * The passphrase of the key file is the first line of stdin.
 */
#include "common/json.h"
#include "hotline/hotline.h"
#include "hotline/keyfile.h"
#include "hotline/wire.h"
#include "common/uuid.h"

#include <curl/curl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_MSGS 100000

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double wall_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct sent {
	char id[HL_ID_LEN + 1];
	double t0, wall, arrived, posted;
};

static struct sent *S;
static size_t NS;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static bool stream_up;
static char line[1 << 16];
static size_t line_len;

static void on_line(const char *l, size_t n)
{
	const char *key = "\"message\":\"";
	if (n < 6 || memcmp(l, "data: ", 6) != 0)
		return;
	const char *p = strstr(l, key);
	if (p == NULL || (size_t)(p - l) + strlen(key) + HL_ID_LEN > n)
		return;
	p += strlen(key);
	double t = now_ms();
	pthread_mutex_lock(&mu);
	for (size_t i = NS; i-- > 0;)
		if (memcmp(S[i].id, p, HL_ID_LEN) == 0) {
			if (S[i].arrived == 0)
				S[i].arrived = t;
			break;
		}
	pthread_mutex_unlock(&mu);
}

static size_t on_data(char *p, size_t sz, size_t nm, void *u)
{
	(void)u;
	size_t n = sz * nm;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\n') {
			line[line_len] = '\0';
			on_line(line, line_len);
			line_len = 0;
		} else if (line_len + 1 < sizeof(line)) {
			line[line_len++] = p[i];
		}
	}
	return n;
}

static size_t on_header(char *p, size_t sz, size_t nm, void *u)
{
	(void)u;
	if (sz * nm >= 12 && memcmp(p, "HTTP/1.1 200", 12) == 0) {
		pthread_mutex_lock(&mu);
		stream_up = true;
		pthread_mutex_unlock(&mu);
	}
	return sz * nm;
}

static char watch_url[1024], watch_auth[1024];
static volatile bool stop_watch;

static int on_progress(void *u, curl_off_t a, curl_off_t b, curl_off_t c,
		       curl_off_t d)
{
	(void)u, (void)a, (void)b, (void)c, (void)d;
	return stop_watch ? 1 : 0;
}

static void *watcher(void *arg)
{
	(void)arg;
	CURL *h = curl_easy_init();
	struct curl_slist *hd = curl_slist_append(NULL, watch_auth);
	curl_easy_setopt(h, CURLOPT_URL, watch_url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_perform(h);
	curl_slist_free_all(hd);
	curl_easy_cleanup(h);
	return NULL;
}

#define VERSIONS "\"versions\":"
static char bulk_url[1024], bulk_auth[1024];
static volatile bool stop_bulk;
static long long bulk_before = -1, bulk_now = -1;
static double bulk_first, bulk_last;

/* A health document past the buffer's 64 KiB fails the transfer: the
 * count is then not read, rather than read from a cut document. */
static size_t keep(char *p, size_t sz, size_t nm, void *u)
{
	return buf_add(u, p, sz * nm) == ST_OK ? sz * nm : 0;
}

static void *bulk_watcher(void *arg)
{
	(void)arg;
	CURL *h = curl_easy_init();
	struct curl_slist *hd = curl_slist_append(NULL, bulk_auth);
	struct buf b = BUF_INIT(1 << 16);
	curl_easy_setopt(h, CURLOPT_URL, bulk_url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, keep);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	while (!stop_bulk) {
		buf_reset(&b);
		const char *v = NULL;
		if (curl_easy_perform(h) == CURLE_OK &&
		    buf_add(&b, "", 1) == ST_OK)
			v = strstr(b.data, VERSIONS);
		if (v != NULL) {
			long long n = atoll(v + strlen(VERSIONS));
			double t = wall_s();
			if (bulk_before < 0)
				bulk_before = n;
			else if (n != bulk_now) {
				if (bulk_first == 0)
					bulk_first = t;
				bulk_last = t;
			}
			bulk_now = n;
		}
		struct timespec ts = {0, 20000000L};
		nanosleep(&ts, NULL);
	}
	buf_free(&b);
	curl_slist_free_all(hd);
	curl_easy_cleanup(h);
	return NULL;
}

struct find {
	const char *name;
	char *out;
};

static int find_ours(void *ctx, const struct hl_principal *p)
{
	struct find *f = ctx;
	const char *s = strchr(p->addr, '/');
	if (s != NULL && strcmp(s + 1, f->name) == 0)
		snprintf(f->out, HL_ADDR_MAX + 1, "%s", p->addr);
	return 0;
}

static size_t sink(char *p, size_t sz, size_t nm, void *u)
{
	(void)p;
	(void)u;
	return sz * nm;
}

int main(int argc, char **argv)
{
	const char *post = NULL, *ptok = NULL, *watch = NULL, *wtok = NULL,
		   *home = NULL, *as = NULL, *key = NULL, *to = NULL,
		   *out = NULL, *bulk_file = NULL;
	double seconds = 5, interval = 20;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--post") && i + 2 < argc) {
			post = argv[++i];
			ptok = argv[++i];
		} else if (!strcmp(argv[i], "--watch") && i + 2 < argc) {
			watch = argv[++i];
			wtok = argv[++i];
		} else if (!strcmp(argv[i], "--home") && i + 1 < argc) {
			home = argv[++i];
		} else if (!strcmp(argv[i], "--as") && i + 1 < argc) {
			as = argv[++i];
		} else if (!strcmp(argv[i], "--key") && i + 1 < argc) {
			key = argv[++i];
		} else if (!strcmp(argv[i], "--to") && i + 1 < argc) {
			to = argv[++i];
		} else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) {
			seconds = atof(argv[++i]);
		} else if (!strcmp(argv[i], "--interval-ms") && i + 1 < argc) {
			interval = atof(argv[++i]);
		} else if (!strcmp(argv[i], "--out") && i + 1 < argc) {
			out = argv[++i];
		} else if (!strcmp(argv[i], "--bulk-watch") && i + 3 < argc) {
			snprintf(bulk_url, sizeof(bulk_url), "%s", argv[++i]);
			snprintf(bulk_auth, sizeof(bulk_auth),
				 "Authorization: Bearer %s", argv[++i]);
			bulk_file = argv[++i];
		} else {
			fprintf(stderr, "hotline_flash: unexpected '%s'\n",
				argv[i]);
			return 2;
		}
	}
	if (!post || !watch || !home || !as || !key || !to || !out ||
	    !strchr(to, ':')) {
		fprintf(stderr,
			"usage: hotline_flash --post BASE TOKEN --watch "
			"BASE TOKEN --home DIR --as NAME --key FILE "
			"--to PEER:NAME --out FILE [--seconds S] "
			"[--interval-ms M] [--bulk-watch URL TOKEN FILE]\n");
		return 2;
	}
	if (sodium_init() < 0)
		return 1;
	char pass[1100];
	if (fgets(pass, sizeof(pass), stdin) == NULL)
		return 2;
	pass[strcspn(pass, "\n")] = '\0';
	struct diag d;
	struct hotline_keys *k = NULL;
	struct hl_db *db = NULL;
	if (hotline_keys_open(key, pass, strlen(pass), &k, &d) != ST_OK ||
	    hl_db_open(home, &db, &d) != ST_OK) {
		fprintf(stderr, "hotline_flash: %s\n", d.msg);
		return 1;
	}
	/* sender, recipient and the recipient's chain, as KR knows them */
	char me[HL_ADDR_MAX + 1] = "", rcpt[HL_ADDR_MAX + 1] = "";
	struct find f = {as, me};
	hl_principal_list(db, "", find_ours, &f, NULL);
	char peer[64];
	snprintf(peer, sizeof(peer), "%.*s", (int)(strchr(to, ':') - to), to);
	struct find g = {strchr(to, ':') + 1, rcpt};
	hl_principal_list(db, peer, find_ours, &g, NULL);
	struct hl_principal rp;
	if (!me[0] || !rcpt[0] || hl_principal_get(db, rcpt, &rp) != ST_OK) {
		fprintf(stderr, "hotline_flash: %s or %s not known at %s\n", as,
			to, home);
		return 1;
	}
	struct hl_principal readers[1 + 2 * HL_CHAIN_MAX];
	size_t nr = 0;
	readers[nr++] = rp;
	for (int l = 0; l < 2; l++)
		for (size_t i = 0; i < rp.nchain[l]; i++)
			if (hl_principal_get(db, rp.chain[l][i],
					     &readers[nr]) == ST_OK &&
			    hl_principal_usable(&readers[nr]))
				nr++;
	const char *ids[2];
	char kid[STIX_ID_MAX], jid[STIX_ID_MAX];
	snprintf(kid, sizeof(kid), "%.*s", (int)(strchr(me, '/') - me), me);
	snprintf(jid, sizeof(jid), "%.*s", (int)(strchr(rcpt, '/') - rcpt),
		 rcpt);
	ids[0] = kid;
	ids[1] = jid;
	char channel[HL_ID_LEN + 1];
	hl_channel_of(ids, 2, channel);

	S = calloc(MAX_MSGS, sizeof(*S));
	curl_global_init(CURL_GLOBAL_DEFAULT);
	snprintf(watch_url, sizeof(watch_url),
		 "%sapi/v1/hotline/events/?after=now", watch);
	snprintf(watch_auth, sizeof(watch_auth), "Authorization: Bearer %s",
		 wtok);
	pthread_t th, bth;
	pthread_create(&th, NULL, watcher, NULL);
	if (bulk_file != NULL)
		pthread_create(&bth, NULL, bulk_watcher, NULL);
	for (int i = 0; i < 500; i++) {
		pthread_mutex_lock(&mu);
		bool up = stream_up;
		pthread_mutex_unlock(&mu);
		if (up)
			break;
		struct timespec ts = {0, 10000000L};
		nanosleep(&ts, NULL);
	}
	char post_url[1024], auth[1024];
	snprintf(post_url, sizeof(post_url), "%sapi/v1/hotline/messages/",
		 post);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", ptok);
	CURL *h = curl_easy_init();
	struct curl_slist *hd = curl_slist_append(NULL, auth);
	hd = curl_slist_append(hd, "Content-Type: application/json");
	curl_easy_setopt(h, CURLOPT_URL, post_url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
	struct buf doc = BUF_INIT(1 << 20);
	double start = now_ms(), next = start;
	size_t refused = 0;
	while (now_ms() - start < seconds * 1e3 && NS < MAX_MSGS) {
		struct hl_header hh;
		memset(&hh, 0, sizeof(hh));
		uint8_t u[16];
		uuid_v4(u);
		uuid_format(u, hh.id);
		memcpy(hh.channel, channel, sizeof(channel));
		snprintf(hh.sender, sizeof(hh.sender), "%s", me);
		snprintf(hh.recipients[0], sizeof(hh.recipients[0]), "%s",
			 rcpt);
		hh.nrecipients = 1;
		hh.type = HL_ALERT;
		hh.status = HL_TEST;
		hh.prec = HL_FLASH;
		hh.tlp = TLP_AMBER;
		hh.sent = time_now();
		char body[64];
		snprintf(body, sizeof(body), "benchmark FLASH %zu", NS);
		hl_set_body(&hh, body, strlen(body));
		uint8_t sig[HL_SIG_BYTES];
		char hex[2 * HL_SIG_BYTES + 1];
		hl_sign(&hh, k->sign_sk, sig);
		sodium_bin2hex(hex, sizeof(hex), sig, sizeof(sig));
		buf_reset(&doc);
		struct jw w;
		jw_init(&w, &doc);
		jw_obj_open(&w);
		jw_key(&w, "header");
		hl_header_json(&w, &hh);
		jw_key(&w, "sig");
		jw_str(&w, hex);
		jw_key(&w, "readers");
		jw_arr_open(&w);
		for (size_t r = 0; r < nr; r++) {
			uint8_t *ct;
			size_t len;
			char b64[256];
			hl_seal(body, strlen(body), readers[r].key.box_pk, &ct,
				&len);
			sodium_bin2base64(b64, sizeof(b64), ct, len,
					  sodium_base64_VARIANT_ORIGINAL);
			free(ct);
			jw_obj_open(&w);
			jw_key(&w, "principal");
			jw_str(&w, readers[r].addr);
			jw_key(&w, "sealed");
			jw_str(&w, b64);
			jw_obj_close(&w);
		}
		jw_arr_close(&w);
		jw_obj_close(&w);
		jw_finish(&w);
		pthread_mutex_lock(&mu);
		struct sent *s = &S[NS];
		memcpy(s->id, hh.id, sizeof(s->id));
		s->t0 = now_ms();
		s->wall = wall_s();
		NS++;
		pthread_mutex_unlock(&mu);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, doc.data);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)doc.len);
		long code = 0;
		if (curl_easy_perform(h) == CURLE_OK)
			curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
		pthread_mutex_lock(&mu);
		S[NS - 1].posted = now_ms();
		pthread_mutex_unlock(&mu);
		if (code != 202)
			refused++;
		next += interval;
		double wait = next - now_ms();
		if (wait > 0) {
			struct timespec ts = {
			    (time_t)(wait / 1e3),
			    (long)((wait - (time_t)(wait / 1e3) * 1e3) * 1e6)};
			nanosleep(&ts, NULL);
		}
	}
	/* the last ones: up to 10 s more */
	double end = now_ms() + 10e3;
	for (;;) {
		size_t left = 0;
		pthread_mutex_lock(&mu);
		for (size_t i = 0; i < NS; i++)
			left += S[i].arrived == 0;
		pthread_mutex_unlock(&mu);
		if (left == 0 || now_ms() > end)
			break;
		struct timespec ts = {0, 20000000L};
		nanosleep(&ts, NULL);
	}
	stop_watch = true;
	pthread_join(th, NULL);
	if (bulk_file != NULL) {
		stop_bulk = true;
		pthread_join(bth, NULL);
		FILE *bf = fopen(bulk_file, "w");
		if (bf != NULL) {
			fprintf(bf, "%lld %lld %.6f %.6f\n", bulk_before,
				bulk_now, bulk_first, bulk_last);
			fclose(bf);
		}
	}
	FILE *o = fopen(out, "w");
	size_t lost = 0;
	for (size_t i = 0; o != NULL && i < NS; i++) {
		double l = S[i].arrived ? S[i].arrived - S[i].t0 : -1;
		lost += l < 0;
		fprintf(o, "%.6f %.3f %.3f\n", S[i].wall, l,
			S[i].posted - S[i].t0);
	}
	if (o != NULL)
		fclose(o);
	fprintf(stderr,
		"hotline_flash: %zu sent, %zu refused, %zu not "
		"arrived\n",
		NS, refused, lost);
	curl_slist_free_all(hd);
	curl_easy_cleanup(h);
	buf_free(&doc);
	hotline_keys_free(k);
	hl_db_close(db);
	free(S);
	return lost || refused ? 1 : 0;
}
