#include "cli/cli.h"

#include "auth/auth.h"
#include "taxii/http.h"
#include "taxii/taxii.h"
#include "taxii/token.h"
#include "audit/writer.h"
#include "federation/fed.h"
#include "hotline/node.h"
#include "lookup/lookup.h"
#include "cli/feed.h"
#include "coop/incident.h"
#include "coop/share.h"
#include "common/json.h"
#include "federation/fedstate.h"
#include "federation/nodekey.h"
#include "lifecycle/lifecycle.h"
#include "pattern/warninglist.h"

#include "common/log.h"

#include <errno.h>
#include <stdatomic.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h> /* malloc_trim */
#endif

static const char serve_usage[] =
    "usage: strait serve [--listen HOST:PORT] [--peer-listen HOST:PORT]\n"
    "                    [--tls-cert FILE --tls-key FILE]\n"
    "                    [--tls-client-ca FILE [--require-client-cert]]\n"
    "                    [--public-discovery] [--max-content-length BYTES]\n"
    "                    [--allow-plain] [--idle-timeout SECONDS]\n"
    "                    [--max-connections N] [--per-ip-connections N]\n"
    "                    [--stream-max N] [--hotline-clock FILE]\n"
    "\n"
    "Runs the node's TAXII 2.1 server until SIGINT or SIGTERM, then stops\n"
    "gracefully. Discovery is at /taxii2/, the API root at /taxii2/root/.\n"
    "Accounts are made with 'strait user add'. Live streams are at\n"
    "/api/v1/collections/{id}/stream, Prometheus metrics at /metrics.\n"
    "Feeds added with 'strait feed add' are pulled on their schedule.\n"
    "\n"
    "  --listen HOST:PORT        main listener (default: strait.yaml listen,\n"
    "                            127.0.0.1:7400); port 0 picks a free port\n"
    "  --peer-listen HOST:PORT   a second listener reserved for partner\n"
    "                            nodes, with its own connection limits\n"
    "  --tls-cert, --tls-key     serve HTTPS (TLS 1.2 minimum, 1.3 preferred)\n"
    "  --tls-client-ca FILE      verify client certificates against FILE\n"
    "  --require-client-cert     refuse requests without a verified one\n"
    "  --public-discovery        answer GET /taxii2/ without credentials\n"
    "  --max-content-length N    largest request body (default 10485760)\n"
    "  --allow-plain             allow plain HTTP on a non-loopback address\n"
    "  --idle-timeout SECONDS    close a connection idle, or not taking\n"
    "                            what is sent to it, this long (default 30)\n"
    "  --max-connections N       connections (each one a thread) of the main\n"
    "                            listener, 32 to 65536 (default 256)\n"
    "  --per-ip-connections N    connections from one address, 1 to\n"
    "                            --max-connections (default 32)\n"
    "  --stream-max N            open live streams, all accounts; at most\n"
    "                            --max-connections - 16, so streams never "
    "take\n"
    "                            every connection (default: half of\n"
    "                            --max-connections)\n"
    "  --hotline-clock FILE      the hotline's clock (acknowledgement\n"
    "                            deadlines) is the number of seconds FILE\n"
    "                            holds, for drills and tests; without it,\n"
    "                            the machine's boot-time clock\n"
    "\n"
    "The first line on standard output names the URL being served.\n";

struct serve_opts {
	const char *listen, *peer_listen;
	struct http_tls_config tls;
	bool public_discovery, allow_plain;
	size_t max_content;
	unsigned idle_timeout;
	unsigned max_connections, per_ip_connections, stream_max;
	const char *hotline_clock;
	/* Hidden, for tests and benchmarks: */
	unsigned heartbeat_ms;
};

/* The main listener's connection limit by default (http_limits). */
#define DEFAULT_MAX_CONNECTIONS 256
#define DEFAULT_PER_IP_CONNECTIONS 32
/* Connections streams can never take: room for readers and writers. */
#define STREAM_RESERVE 16

/* A number in [lo, hi] for option name; CLI_USAGE otherwise. */
static int parse_uint(const char *name, const char *arg, unsigned lo,
		      unsigned hi, unsigned *out)
{
	char *end;
	errno = 0;
	unsigned long long n = strtoull(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || arg[0] == '-' ||
	    n < lo || n > hi)
		return cli_fail(CLI_USAGE,
				"serve: %s: expected a number from %u to %u, "
				"got '%s'",
				name, lo, hi, arg);
	*out = (unsigned)n;
	return CLI_OK;
}

static int parse_opts(int argc, char **argv, struct serve_opts *o)
{
	static const struct option opts[] = {
	    {"listen", required_argument, NULL, 'l'},
	    {"peer-listen", required_argument, NULL, 'p'},
	    {"tls-cert", required_argument, NULL, 'c'},
	    {"tls-key", required_argument, NULL, 'k'},
	    {"tls-client-ca", required_argument, NULL, 'a'},
	    {"require-client-cert", no_argument, NULL, 'r'},
	    {"public-discovery", no_argument, NULL, 'D'},
	    {"max-content-length", required_argument, NULL, 'm'},
	    {"allow-plain", no_argument, NULL, 'P'},
	    {"idle-timeout", required_argument, NULL, 'i'},
	    {"stream-heartbeat-ms", required_argument, NULL, 'H'},
	    {"stream-max", required_argument, NULL, 'S'},
	    {"max-connections", required_argument, NULL, 'C'},
	    {"per-ip-connections", required_argument, NULL, 'I'},
	    {"hotline-clock", required_argument, NULL, 'K'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int ch, rc;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'l':
			o->listen = optarg;
			break;
		case 'p':
			o->peer_listen = optarg;
			break;
		case 'c':
			o->tls.cert_file = optarg;
			break;
		case 'k':
			o->tls.key_file = optarg;
			break;
		case 'a':
			o->tls.client_ca_file = optarg;
			break;
		case 'r':
			o->tls.require_client_cert = true;
			break;
		case 'D':
			o->public_discovery = true;
			break;
		case 'P':
			o->allow_plain = true;
			break;
		case 'i':
			rc = parse_uint("--idle-timeout", optarg, 1, 86400,
					&o->idle_timeout);
			if (rc != CLI_OK)
				return rc;
			break;
		case 'H':
			rc = parse_uint("--stream-heartbeat-ms", optarg, 10,
					3600000, &o->heartbeat_ms);
			if (rc != CLI_OK)
				return rc;
			break;
		case 'S':
			rc = parse_uint("--stream-max", optarg, 1, 1000000,
					&o->stream_max);
			if (rc != CLI_OK)
				return rc;
			break;
		case 'C':
			rc = parse_uint("--max-connections", optarg, 32, 65536,
					&o->max_connections);
			if (rc != CLI_OK)
				return rc;
			break;
		case 'I':
			rc = parse_uint("--per-ip-connections", optarg, 1,
					65536, &o->per_ip_connections);
			if (rc != CLI_OK)
				return rc;
			break;
		case 'K':
			o->hotline_clock = optarg;
			break;
		case 'm': {
			char *end;
			unsigned long long n = strtoull(optarg, &end, 10);
			if (*end != '\0' || n < 1024 || n > (1ull << 31))
				return cli_fail(CLI_USAGE,
						"serve: --max-content-length: "
						"expected bytes between 1024 "
						"and 2147483648, got '%s'",
						optarg);
			o->max_content = (size_t)n;
			break;
		}
		case 'h':
			fputs(serve_usage, stdout);
			return -1;
		default:
			fputs(serve_usage, stderr);
			return CLI_USAGE;
		}
	}
	if (optind != argc)
		return cli_fail(CLI_USAGE, "serve: unexpected argument '%s'",
				argv[optind]);
	if ((o->tls.cert_file == NULL) != (o->tls.key_file == NULL))
		return cli_fail(CLI_USAGE,
				"serve: --tls-cert and --tls-key go together");
	if (o->tls.client_ca_file != NULL && o->tls.cert_file == NULL)
		return cli_fail(CLI_USAGE,
				"serve: --tls-client-ca needs --tls-cert");
	if (o->tls.require_client_cert && o->tls.client_ca_file == NULL)
		return cli_fail(CLI_USAGE, "serve: --require-client-cert needs "
					   "--tls-client-ca");
	if (o->max_connections == 0)
		o->max_connections = DEFAULT_MAX_CONNECTIONS;
	if (o->per_ip_connections == 0)
		o->per_ip_connections =
		    DEFAULT_PER_IP_CONNECTIONS < o->max_connections
			? DEFAULT_PER_IP_CONNECTIONS
			: o->max_connections;
	if (o->per_ip_connections > o->max_connections)
		return cli_fail(CLI_USAGE,
				"serve: --per-ip-connections %u is more than "
				"--max-connections %u",
				o->per_ip_connections, o->max_connections);
	/* Streams hold their connection for hours: they may never fill the
	 * listener, or TAXII readers and writers would find no room. */
	if (o->stream_max == 0)
		o->stream_max = o->max_connections / 2;
	else if (o->stream_max > o->max_connections - STREAM_RESERVE)
		return cli_fail(
		    CLI_USAGE,
		    "serve: --stream-max %u leaves fewer than %u of "
		    "--max-connections %u to other requests (at "
		    "most %u)",
		    o->stream_max, STREAM_RESERVE, o->max_connections,
		    o->max_connections - STREAM_RESERVE);
	return CLI_OK;
}

/*
 * A housekeeping thread. The paging keys rotate daily (TOKEN_KEY_ROTATE_S):
 * it asks every hour whether the current key is old enough, so a server
 * that runs for weeks still rotates. Paging tokens and stream cursors
 * outlive one rotation, so none in use breaks.
 *
 * It also gives freed heap back to the system. glibc keeps what response
 * buffers, stream buffers and request bodies gave back, in every arena
 * the connection threads used, so after a burst of load the server's RSS
 * stays at its peak. Once no request has been in flight (open streams are
 * requests) nor begun for IDLE_TRIM_S after some activity, malloc_trim(0)
 * runs once; the next activity re-arms it.
 */
#define KEY_CHECK_S 3600
#define WAKE_S 1
#define IDLE_TRIM_S 5

struct rotator {
	struct token_keys *keys;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
	struct http_server *srv; /* under mu; NULL until it runs */
	pthread_t thread;
	bool running;
};

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Resident memory in MiB (Linux /proc), or -1. */
static double rss_mib(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long long size = 0, res = 0;
	int ok = f != NULL && fscanf(f, "%llu %llu", &size, &res) == 2;
	if (f != NULL)
		fclose(f);
	long pg = sysconf(_SC_PAGESIZE);
	return ok && pg > 0 ? (double)res * (double)pg / 1048576.0 : -1.0;
}

static void idle_trim(void)
{
#ifdef __GLIBC__
	double before = rss_mib();
	malloc_trim(0);
	log_info("serve", "idle: freed heap given back, RSS %.1f -> %.1f MiB",
		 before, rss_mib());
#endif
}

static void *rotator_main(void *arg)
{
	struct rotator *r = arg;
	double next_key = mono_s() + KEY_CHECK_S, busy_at = mono_s();
	uint64_t seen = 0;
	bool dirty = true; /* startup (the store's opening) allocated too */

	pthread_mutex_lock(&r->mu);
	while (!r->stop) {
		struct timespec dl;
		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_sec += WAKE_S;
		while (!r->stop &&
		       pthread_cond_timedwait(&r->cv, &r->mu, &dl) != ETIMEDOUT)
			;
		if (r->stop)
			break;
		struct http_server *srv = r->srv;
		pthread_mutex_unlock(&r->mu);
		double now = mono_s();
		if (now >= next_key) {
			next_key = now + KEY_CHECK_S;
			struct diag d;
			if (token_keys_rotate(r->keys, (int64_t)time(NULL), 0,
					      &d) != ST_OK)
				log_warn("serve", "paging key rotation: %s",
					 d.msg);
		}
		if (srv != NULL) {
			uint64_t n = http_server_requests(srv);
			if (n != seen || http_server_inflight(srv) > 0) {
				seen = n;
				busy_at = now;
				dirty = true;
			} else if (dirty && now - busy_at >= IDLE_TRIM_S) {
				dirty = false;
				idle_trim();
			}
		}
		pthread_mutex_lock(&r->mu);
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

static int rotator_start(struct rotator *r, struct token_keys *keys)
{
	memset(r, 0, sizeof(*r));
	r->keys = keys;
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	if (pthread_create(&r->thread, NULL, rotator_main, r) != 0)
		return ST_ENOMEM;
	r->running = true;
	return ST_OK;
}

/* Lets the thread watch srv (NULL before http_server_free). */
static void rotator_watch(struct rotator *r, struct http_server *srv)
{
	if (!r->running)
		return;
	pthread_mutex_lock(&r->mu);
	r->srv = srv;
	pthread_mutex_unlock(&r->mu);
}

static void rotator_stop(struct rotator *r)
{
	if (!r->running)
		return;
	pthread_mutex_lock(&r->mu);
	r->stop = true;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
	pthread_join(r->thread, NULL);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	r->running = false;
}

/*
 * Each connection holds a descriptor (and a stream, its store reads):
 * raises the soft descriptor limit toward the hard one when the listeners
 * could need more, and says so when even the hard limit is short.
 */
static void nofile_fit(unsigned conns)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)conns + 256; /* store files, peer, slack */
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
		return;
	rlim_t to = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want
			? want
			: rl.rlim_max;
	if (to > rl.rlim_cur) {
		rl.rlim_cur = to;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (to < want)
		log_warn("serve",
			 "descriptor limit %llu is below the %llu that %u "
			 "connections may need (ulimit -n)",
			 (unsigned long long)to, (unsigned long long)want,
			 conns);
}

/* A whole number from strait.yaml (0 and up), or a message naming it. */
static int config_u64(const char *key, const char *text, uint64_t *out)
{
	char *end = NULL;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	if (text[0] < '0' || text[0] > '9' || end == NULL || *end != '\0' ||
	    errno != 0)
		return cli_fail(CLI_USAGE,
				"strait.yaml: %s: not a whole number: '%s'",
				key, text);
	*out = v;
	return CLI_OK;
}

/* Where the audit writer's signed heads go: to the partners, through the
 * federation (set once it runs). */
struct head_sink {
	_Atomic(struct fed *) fed;
};

static void witness_of(const struct audit_head *h, struct fed_witness *w)
{
	memset(w, 0, sizeof(*w));
	w->seq = h->seq;
	memcpy(w->hash, h->hash, sizeof(w->hash));
	w->at = h->at;
	snprintf(w->key_id, sizeof(w->key_id), "%s", h->key_id);
	memcpy(w->sig, h->sig, sizeof(w->sig));
}

static void head_signed(void *ctx, const struct audit_head *h)
{
	struct head_sink *k = ctx;
	struct fed *f = atomic_load(&k->fed);
	struct fed_witness w;
	witness_of(h, &w);
	fed_publish_head(f, &w);
}

/* The hotline clock of --hotline-clock: the seconds the file holds (the
 * last good value when it cannot be read). */
struct file_clock {
	const char *path;
	double last;
};

static double file_clock_now(void *ctx)
{
	struct file_clock *c = ctx;
	FILE *f = fopen(c->path, "r");
	double v;
	if (f != NULL) {
		if (fscanf(f, "%lf", &v) == 1 && v >= 0)
			c->last = v;
		fclose(f);
	}
	return c->last;
}

/* Joint incident entries a partner relays over the hotline link. */
struct coop_sink {
	struct inc_db *db;
	const char *identity;
	struct audit_writer *audit;
};

static int incident_in(void *ctx, const char *peer, const char *peer_id,
		       const struct json_val *root, struct diag *d)
{
	struct coop_sink *k = ctx;
	if (!json_str_eq(json_get(root, "kind"), "incident"))
		return diag_set(d, ST_EINVAL,
				"kind: message, receipt, notice, heartbeat or "
				"incident");
	struct inc_entry e;
	bool dup = false;
	int rc = inc_receive(k->db, k->identity, peer_id, root, &e, &dup, d);
	if (rc == ST_OK && !dup) {
		char actor[64], detail[256];
		snprintf(actor, sizeof(actor), "peer:%s", peer);
		snprintf(detail, sizeof(detail),
			 "{\"incident\":\"%s\",\"entry\":\"%s\",\"kind\":"
			 "\"%s\"}",
			 e.incident, e.id, inc_kind_name(e.kind));
		audit_record(k->audit, "incident.receive", actor, detail,
			     false);
	}
	return rc;
}

/* The federation's view of the audit writer. */
static int record_event(void *ctx, const char *kind, const char *actor,
			const char *detail, bool wait)
{
	return audit_record(ctx, kind, actor, detail, wait);
}

static bool log_writable(void *ctx)
{
	return audit_writer_ok(ctx);
}

/* A match_suppressed for the telemetry route: marked with strait fp. */
static bool fp_marked(void *ctx, const char *indicator_id)
{
	return lc_fp_find(ctx, indicator_id, NULL);
}

int cmd_serve(struct cli *c, int argc, char **argv)
{
	struct serve_opts o;
	memset(&o, 0, sizeof(o));
	o.max_content = 10u << 20;
	int rc = parse_opts(argc, argv, &o);
	if (rc != CLI_OK)
		return rc < 0 ? CLI_OK : rc;
	/* Before any thread exists: the store's writer and checkpoint threads
	 * start in cli_open() and must inherit the mask, or a SIGTERM could
	 * land on one of them and kill the process instead of stopping it. */
	http_signals_block();
#ifdef M_ARENA_MAX
	/* One malloc arena per connection thread (thousands with streams)
	 * keeps freed memory scattered where malloc_trim cannot return it:
	 * measured after a 400-stream load, 19.8 MB idle RSS with glibc's
	 * default, 11.5 MB with two arenas. */
	mallopt(M_ARENA_MAX, 2);
#endif
	if ((rc = cli_open(c)) != CLI_OK)
		return rc;
	if (o.listen == NULL)
		o.listen = c->cfg.listen;
	enum tlp def;
	if (tlp_parse(c->cfg.default_tlp, &def) != ST_OK || def == TLP_NONE)
		return cli_fail(CLI_USAGE,
				"strait.yaml: default_tlp: unknown level '%s'",
				c->cfg.default_tlp);

	struct diag d;
	int err = 0;
	struct auth *auth = NULL;
	struct token_keys *keys = NULL;
	struct auth_throttle *thr = NULL;
	struct taxii *tx = NULL;
	struct http_server *srv = NULL;
	struct wl_set *wl = NULL;
	struct lc *lc = NULL; /* the lifecycle: allow-list, false positives */
	struct nodekeys *nk = NULL;
	struct fed *fed = NULL;
	struct audit *alog = NULL;
	struct audit_writer *aw = NULL;
	struct head_sink sink;
	struct hl_node *hl = NULL;
	struct inc_db *incs = NULL;
	struct lk_service *lks = NULL;
	struct feed_service *feeds = NULL;
	struct coop_sink coop;
	struct file_clock fclock = {o.hotline_clock, 0};
	struct rotator rot;
	int status = CLI_USAGE;

	memset(&rot, 0, sizeof(rot));
	atomic_init(&sink.fed, NULL);
	auth = auth_open(cli_path(c, "auth.db"), true, &err, &d);
	if (auth == NULL) {
		cli_fail(CLI_USAGE, "serve: accounts: %s", d.msg);
		goto out;
	}
	keys = token_keys_load(c->home, &d);
	if (keys == NULL) {
		cli_fail(CLI_USAGE, "serve: paging keys: %s", d.msg);
		goto out;
	}
	thr = auth_throttle_new(NULL);
	struct taxii_config tc;
	memset(&tc, 0, sizeof(tc));
	tc.store = c->store;
	tc.auth = auth;
	tc.keys = keys;
	tc.throttle = thr;
	tc.node_name = c->cfg.node_name;
	tc.node_org = c->cfg.node_org;
	tc.default_tlp = def;
	tc.discovery_public = o.public_discovery;
	tc.max_content_length = o.max_content;
	tc.stream_heartbeat_ms = o.heartbeat_ms;
	tc.stream_max = o.stream_max;
	/* Telemetry posted to /api/v1/telemetry: sightings join the default
	 * collection, warninglists as `strait match` loads them. */
	struct store_collection sc;
	wl = wl_set_new();
	if (wl == NULL) {
		cli_fail(CLI_USAGE, "serve: out of memory");
		goto out;
	}
	if (cli_warninglists(c, wl, NULL, 0, true) != CLI_OK)
		goto out;
	{
		/* the local allow-list (strait allow) suppresses matches here
		 * as in strait match; read once, at start */
		if (cli_lifecycle(c, "serve", &lc) != CLI_OK)
			goto out;
		if (lc_allow_warninglist(lc, wl, &d) != ST_OK) {
			cli_fail(CLI_USAGE, "serve: the allow-list: %s", d.msg);
			goto out;
		}
	}
	tc.warninglists = wl;
	/* false positives marked while serve runs count from the next hit */
	tc.match_suppressed = fp_marked;
	tc.match_suppressed_ctx = lc;
	if (c->cfg.node_identity[0] != '\0' &&
	    store_collection_find(c->store, CLI_DEFAULT_ALIAS, &sc) == ST_OK) {
		tc.node_identity = c->cfg.node_identity;
		tc.sightings_cid = sc.cid;
	}
	/* Federation: partner nodes push to us and read what was released
	 * to them; one sender per registered peer pushes to it. A home
	 * made before node keys has none: it serves, without federation. */
	int krc = nodekeys_load(c->home, &nk, &d);
	if (krc != ST_OK && krc != ST_ENOTFOUND) {
		cli_fail(CLI_USAGE, "serve: node keys: %s", d.msg);
		goto out;
	}
	/* The audit log: what peer and liaison accounts read is refused
	 * when it cannot be recorded, so a node whose log cannot even be
	 * opened does not start. */
	if (audit_open(c->home, &alog, &d) != ST_OK) {
		cli_fail(CLI_USAGE, "serve: audit log: %s", d.msg);
		goto out;
	}
	uint64_t amax = 0, head_s = 0;
	if (config_u64("audit.max_mb", c->cfg.audit_max_mb, &amax) != CLI_OK ||
	    config_u64("audit.head_interval_s", c->cfg.audit_head_interval_s,
		       &head_s) != CLI_OK)
		goto out;
	if (head_s < 1 || head_s > 86400) {
		cli_fail(CLI_USAGE,
			 "strait.yaml: audit.head_interval_s: %llu is not "
			 "between 1 and 86400",
			 (unsigned long long)head_s);
		goto out;
	}
	if (amax > ((uint64_t)1 << 24)) {
		cli_fail(CLI_USAGE,
			 "strait.yaml: audit.max_mb: %llu is more than "
			 "16777216 (16 TiB)",
			 (unsigned long long)amax);
		goto out;
	}
	if (audit_set_max_bytes(alog, amax << 20, &d) != ST_OK) {
		cli_fail(CLI_USAGE, "serve: audit log: %s", d.msg);
		goto out;
	}
	struct audit_writer_cfg ac = {alog, krc == ST_OK ? nk : NULL,
				      (unsigned)head_s * 1000, head_signed,
				      &sink};
	if (audit_writer_start(&ac, &aw, &d) != ST_OK) {
		cli_fail(CLI_USAGE, "serve: audit log: %s", d.msg);
		goto out;
	}
	tc.audit = aw;
	tc.audit_log = alog;
	if (krc == ST_ENOTFOUND || c->cfg.node_identity[0] == '\0') {
		log_warn("serve",
			 "this node has no %s: federation is off (strait "
			 "node rotate-key makes a key)",
			 krc == ST_ENOTFOUND ? "signing key" : "identity");
	} else {
		struct fed_config fc;
		uint64_t mr = 0;
		memset(&fc, 0, sizeof(fc));
		fc.home = c->home;
		fc.store = c->store;
		fc.keys = nk;
		fc.identity = c->cfg.node_identity;
		fc.name = c->cfg.node_name;
		fc.country = c->cfg.node_country;
		fc.default_tlp = def;
		fc.senders = true;
		fc.audit = record_event;
		fc.audit_ok = log_writable;
		fc.audit_ctx = aw;
		if (config_u64("federation.disk_reserve_mb",
			       c->cfg.fed_disk_reserve_mb,
			       &fc.disk_reserve_mb) != CLI_OK ||
		    config_u64("federation.peer_objects_per_minute",
			       c->cfg.fed_peer_objects_per_min,
			       &fc.peer_objects_per_min) != CLI_OK ||
		    config_u64("federation.max_response_mb",
			       c->cfg.fed_max_response_mb, &mr) != CLI_OK)
			goto out;
		if (mr < 1 || mr > 4096) {
			cli_fail(CLI_USAGE,
				 "strait.yaml: federation.max_response_mb: "
				 "%llu is not between 1 and 4096",
				 (unsigned long long)mr);
			goto out;
		}
		fc.max_response = (size_t)mr << 20;
		if (fed_new(&fc, &fed, &d) != ST_OK) {
			cli_fail(CLI_USAGE, "serve: federation: %s", d.msg);
			goto out;
		}
		tc.fed = fed;
		/* Partners keep our heads: the newest one goes out now,
		 * the next ones as the writer signs them. */
		atomic_store(&sink.fed, fed);
		struct audit_head last;
		if (audit_last_head(alog, &last, NULL) == ST_OK) {
			struct fed_witness w;
			witness_of(&last, &w);
			fed_publish_head(fed, &w);
		}
		/* The hotline rides on the federation's partners. */
		struct hl_node_cfg hc;
		memset(&hc, 0, sizeof(hc));
		hc.home = c->home;
		hc.identity = c->cfg.node_identity;
		hc.name = c->cfg.node_name;
		hc.country = c->cfg.node_country;
		hc.fed = fed;
		if (o.hotline_clock != NULL) {
			hc.clock = file_clock_now;
			hc.clock_ctx = &fclock;
			file_clock_now(&fclock);
		}
		uint64_t v[6];
		if (config_u64("hotline.flash_ack_s", c->cfg.hl_ack[0],
			       &v[0]) != CLI_OK ||
		    config_u64("hotline.immediate_ack_s", c->cfg.hl_ack[1],
			       &v[1]) != CLI_OK ||
		    config_u64("hotline.priority_ack_s", c->cfg.hl_ack[2],
			       &v[2]) != CLI_OK ||
		    config_u64("hotline.routine_ack_s", c->cfg.hl_ack[3],
			       &v[3]) != CLI_OK ||
		    config_u64("hotline.flash_per_minute",
			       c->cfg.hl_flash_per_min, &v[4]) != CLI_OK ||
		    config_u64("hotline.profile_every_s",
			       c->cfg.hl_profile_every_s, &v[5]) != CLI_OK)
			goto out;
		if (v[5] < 1 || v[5] > 86400) {
			cli_fail(CLI_USAGE,
				 "strait.yaml: hotline.profile_every_s: 1 to "
				 "86400, not %llu",
				 (unsigned long long)v[5]);
			goto out;
		}
		hc.profile_every_s = (unsigned)v[5];
		for (int i = 0; i < 4; i++) {
			if (v[i] < 1 || v[i] > 7 * 86400) {
				cli_fail(CLI_USAGE,
					 "strait.yaml: hotline: an "
					 "acknowledgement deadline is 1 to "
					 "604800 seconds, not %llu",
					 (unsigned long long)v[i]);
				goto out;
			}
			hc.deadline_s[i] = (unsigned)v[i];
		}
		hc.flash_per_min =
		    v[4] > 0 && v[4] < 100000 ? (unsigned)v[4] : 30;
		hc.hook = c->cfg.hl_hook[0] ? c->cfg.hl_hook : NULL;
		hc.audit = record_event;
		hc.audit_ctx = aw;
		if (inc_db_open(c->home, &incs, &d) != ST_OK) {
			cli_fail(CLI_USAGE, "serve: joint incidents: %s",
				 d.msg);
			goto out;
		}
		coop = (struct coop_sink){incs, c->cfg.node_identity, aw};
		hc.other = incident_in;
		hc.other_ctx = &coop;
		tc.incidents = incs;
		tc.home = c->home;
		if (hl_node_start(&hc, &hl, &d) != ST_OK) {
			cli_fail(CLI_USAGE, "serve: hotline: %s", d.msg);
			goto out;
		}
		tc.hotline = hl;
	}
	if (lk_service_start(c->home, c->store, &lks, &d) != ST_OK) {
		cli_fail(CLI_USAGE, "serve: lookup index: %s", d.msg);
		goto out;
	}
	tc.lookup = lks;
	/* External feeds (strait feed): pulled when their interval passed. */
	struct feed_env fe;
	memset(&fe, 0, sizeof(fe));
	if (feed_env_config(&c->cfg, &fe, &d) != ST_OK) {
		cli_fail(CLI_USAGE, "serve: %s", d.msg);
		goto out;
	}
	fe.home = c->home;
	fe.store = c->store;
	if (feed_service_start(&fe, &feeds, &d) != ST_OK) {
		cli_fail(CLI_USAGE, "serve: feeds: %s", d.msg);
		goto out;
	}
	if (thr == NULL || taxii_new(&tc, &tx, &d) != ST_OK) {
		cli_fail(CLI_USAGE, "serve: %s",
			 thr == NULL ? "out of memory" : d.msg);
		goto out;
	}
	struct http_config hc;
	memset(&hc, 0, sizeof(hc));
	hc.main.listen = o.listen;
	hc.main.limits.max_content_length = o.max_content;
	hc.main.limits.connection_timeout_s = o.idle_timeout;
	hc.main.limits.max_connections = o.max_connections;
	hc.main.limits.per_ip_connections = o.per_ip_connections;
	hc.peer.listen = o.peer_listen;
	hc.peer.limits.max_content_length = o.max_content;
	hc.peer.limits.connection_timeout_s = o.idle_timeout;
	hc.routes = taxii_routes(tx, &hc.n_routes);
	hc.auth = taxii_authenticate;
	hc.account_release = taxii_account_release;
	hc.ctx = tx;
	hc.tls = o.tls;
	hc.allow_plain_non_loopback = o.allow_plain;
	hc.observe = taxii_observe;
	hc.observe_arg = tx;

	if (rotator_start(&rot, keys) != ST_OK) {
		cli_fail(CLI_USAGE, "serve: cannot start a thread");
		goto out;
	}
	nofile_fit(o.max_connections +
		   (o.peer_listen != NULL ? DEFAULT_MAX_CONNECTIONS : 0));
	if (http_server_start(&hc, &srv, &d) != ST_OK) {
		cli_fail(CLI_USAGE, "serve: %s", d.msg);
		goto out;
	}
	rotator_watch(&rot, srv);
	const char *scheme = o.tls.cert_file ? "https" : "http";
	char host[128];
	snprintf(host, sizeof(host), "%s", o.listen);
	char *colon = strrchr(host, ':');
	if (colon != NULL)
		*colon = '\0';
	printf("serving TAXII 2.1 at %s://%s:%u/taxii2/\n", scheme, host,
	       (unsigned)http_server_port(srv, HTTP_LISTENER_MAIN));
	if (o.peer_listen != NULL)
		printf("peer listener on port %u\n",
		       (unsigned)http_server_port(srv, HTTP_LISTENER_PEER));
	fflush(stdout);
	int sig = http_signals_wait();
	fprintf(stderr, "strait: signal %d: stopping\n", sig);
	http_server_stop(srv, 5000);
	status = CLI_OK;
out:
	rotator_watch(&rot, NULL);
	rotator_stop(&rot);
	http_server_free(srv);
	atomic_store(&sink.fed, NULL);
	hl_node_stop(hl); /* before the federation it asks about partners */
	inc_db_close(incs);
	fed_free(fed);	       /* senders stop before the store closes */
	audit_writer_stop(aw); /* after the last event: signs a head */
	audit_close(alog);
	taxii_free(tx);
	feed_service_stop(feeds); /* before the store closes */
	lk_service_stop(lks);	  /* before the store closes */
	nodekeys_free(nk);
	wl_set_free(wl);
	lc_close(lc);
	auth_throttle_free(thr);
	token_keys_free(keys);
	auth_close(auth);
	return status;
}
