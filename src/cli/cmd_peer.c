/* strait peer: the partner nodes this node exchanges with. */
#include "cli/cli.h"

#include "common/hash.h"
#include "common/json.h"
#include "common/time.h"
#include "federation/fedstate.h"
#include "federation/peers.h"
#include "policy/peer_policy.h"

#include <ctype.h>
#include <errno.h>
#include <sodium.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char peer_usage[] =
    "usage: strait peer add NAME --url URL --key PUBKEY --token TOKEN\n"
    "                [--policy FILE] [--trust attested|feed]\n"
    "                [--ca FILE | --pin SHA256 [--pin SHA256]]\n"
    "                [--client-cert FILE --client-key FILE]\n"
    "       strait peer list [--json]\n"
    "       strait peer remove NAME\n"
    "       strait peer policy NAME FILE\n"
    "       strait peer status [NAME] [--json]\n"
    "       strait peer sent NAME [--since TIMESTAMP] [--json]\n"
    "       strait peer deadletter NAME [--json] [--skip DID | --skip-all]\n"
    "\n"
    "The partner nodes this node will exchange with (docs/FEDERATION.md).\n"
    "  --url URL        the partner's TAXII discovery URL; http:// only for\n"
    "                   loopback addresses\n"
    "  --key PUBKEY     the partner's public key ('strait node show' on the\n"
    "                   partner), confirmed out of band\n"
    "  --token TOKEN    the bearer token the partner gave this node; '-'\n"
    "                   reads it from standard input (kept off the process\n"
    "                   list). It is stored sealed and never shown again.\n"
    "  --policy FILE    what the partner may receive (YAML); a peer without\n"
    "                   a policy receives nothing\n"
    "  --trust          attested (a strait partner, the default) or feed (a\n"
    "                   plain TAXII server)\n"
    "  --ca FILE        CA certificates for the partner's TLS certificate\n"
    "  --pin SHA256     pin the partner's certificate (two pins: renewal)\n"
    "  --client-cert, --client-key  this node's TLS client certificate\n"
    "\n"
    "  remove       forgets the partner and everything kept for it (cursors,\n"
    "               releases, quarantined objects, dead letters, health)\n"
    "  status       cursors, queue, lag, dead letters and health of each\n"
    "               partner (or one)\n"
    "  sent         the record of what was released to a partner\n"
    "  deadletter   versions a partner refused for good; --skip marks one\n"
    "               acknowledged, --skip-all every one\n"
    "'strait peer SUBCOMMAND --help' for one of them. Tokens are never "
    "shown.\n";

static const char status_usage[] =
    "usage: strait peer status [NAME] [--json]\n"
    "\n"
    "For each partner (or NAME): its URL, trust and whether it has a policy\n"
    "(without one it receives nothing); its node identity as learnt from\n"
    "it; for this store's incarnation, the last seq of our log decided for\n"
    "it and the last delivered; the queue (versions released to it and not\n"
    "delivered yet); the lag, in versions of our log not delivered and in\n"
    "seconds since the last success while the queue is not empty; dead\n"
    "letters not skipped; objects from it in quarantine; the last success,\n"
    "the last error and since when it is down.\n"
    "\n"
    "  --json   an array of objects: name, url, trust, has_policy, identity,\n"
    "           decided, delivered, queue, lag_objects, lag_seconds,\n"
    "           dead_letters, quarantined, last_success, last_error,\n"
    "           last_error_at, down_since (times as STIX timestamps, null\n"
    "           when never)\n";

static const char sent_usage[] =
    "usage: strait peer sent NAME [--since TIMESTAMP] [--json]\n"
    "\n"
    "What was released to the partner NAME, oldest first: one line per\n"
    "release (a push batch, a catch-up page, a TAXII read, a stream, an\n"
    "export): time, path, number of versions, the SHA-256 of their sorted\n"
    "\"id|version\" lines, and the first id of the release.\n"
    "\n"
    "  --since TIMESTAMP   releases at or after it (a STIX timestamp)\n"
    "  --json              an array of objects: at, path, count, digest,\n"
    "                      first_id\n";

static const char deadletter_usage[] =
    "usage: strait peer deadletter NAME [--json] [--skip DID | --skip-all]\n"
    "\n"
    "Versions the partner NAME refused for good (they are not sent again),\n"
    "oldest first: number (DID), time, seq, id, version, reason, and\n"
    "whether an operator skipped (acknowledged) it.\n"
    "\n"
    "  --skip DID   marks dead letter DID skipped\n"
    "  --skip-all   marks every dead letter of NAME skipped\n"
    "  --json       an array of objects: did, at, seq, id, version, reason,\n"
    "               skipped; with --skip, {\"skipped\": N}\n";

/* Reads a policy file once, checks it, and keeps its text in *text. */
static int policy_text(const char *path, char **text)
{
	*text = NULL;
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return cli_fail(CLI_USAGE, "--policy: %s: cannot read", path);
	char *b = malloc(PEER_POLICY_MAX_BYTES + 1);
	size_t n = b ? fread(b, 1, PEER_POLICY_MAX_BYTES + 1, f) : 0;
	int err = ferror(f);
	fclose(f);
	if (b == NULL || err) {
		free(b);
		return cli_fail(CLI_USAGE, "--policy: %s: cannot read", path);
	}
	struct peer_policy pol;
	struct diag d;
	if (peer_policy_parse(b, n, &pol, &d) != ST_OK) {
		free(b);
		return cli_fail(CLI_USAGE, "--policy: %s: %s", path, d.msg);
	}
	peer_policy_free(&pol);
	b[n] = '\0'; /* parsed: no NUL inside, at most the limit */
	*text = b;
	return CLI_OK;
}

static int read_token(const char *arg, char *tok, size_t cap)
{
	if (strcmp(arg, "-") != 0) {
		if (strlen(arg) >= cap)
			return cli_fail(CLI_USAGE, "--token: too long");
		snprintf(tok, cap, "%s", arg);
		return CLI_OK;
	}
	if (fgets(tok, (int)cap, stdin) == NULL)
		return cli_fail(CLI_USAGE, "--token -: nothing on stdin");
	tok[strcspn(tok, "\r\n")] = '\0';
	return CLI_OK;
}

static int pin_parse(const char *s, char out[65])
{
	size_t n = strlen(s);
	if (n != 64 || strspn(s, "0123456789abcdefABCDEF") != 64)
		return cli_fail(CLI_USAGE,
				"--pin: '%.80s' is not a SHA-256 in hex (64 "
				"digits)",
				s);
	for (size_t i = 0; i < 64; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
	out[64] = '\0';
	return CLI_OK;
}

static int cmd_add(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"url", required_argument, NULL, 'u'},
	    {"key", required_argument, NULL, 'k'},
	    {"token", required_argument, NULL, 't'},
	    {"policy", required_argument, NULL, 'p'},
	    {"trust", required_argument, NULL, 'T'},
	    {"ca", required_argument, NULL, 'c'},
	    {"pin", required_argument, NULL, 'P'},
	    {"client-cert", required_argument, NULL, 'C'},
	    {"client-key", required_argument, NULL, 'K'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct peer peer;
	memset(&peer, 0, sizeof(peer));
	const char *url = NULL, *key = NULL, *token = NULL, *policy = NULL;
	int npins = 0, opt, rc;
	struct diag d;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'u':
			url = optarg;
			break;
		case 'k':
			key = optarg;
			break;
		case 't':
			token = optarg;
			break;
		case 'p':
			policy = optarg;
			break;
		case 'T':
			if (strcmp(optarg, "attested") == 0)
				peer.trust = PEER_ATTESTED;
			else if (strcmp(optarg, "feed") == 0)
				peer.trust = PEER_FEED;
			else
				return cli_fail(
				    CLI_USAGE,
				    "--trust: attested or feed, not "
				    "'%.40s'",
				    optarg);
			break;
		case 'c':
			snprintf(peer.ca_file, sizeof(peer.ca_file), "%s",
				 optarg);
			break;
		case 'P':
			if (npins == PEER_PINS_MAX)
				return cli_fail(CLI_USAGE,
						"--pin: at most %d pins",
						PEER_PINS_MAX);
			if ((rc = pin_parse(optarg, peer.pins[npins++])) !=
			    CLI_OK)
				return rc;
			break;
		case 'C':
			snprintf(peer.client_cert, sizeof(peer.client_cert),
				 "%s", optarg);
			break;
		case 'K':
			snprintf(peer.client_key, sizeof(peer.client_key), "%s",
				 optarg);
			break;
		case 'h':
			fputs(peer_usage, stdout);
			return CLI_OK;
		default:
			fputs(peer_usage, stderr);
			return CLI_USAGE;
		}
	}
	if (optind != argc - 1)
		return cli_fail(CLI_USAGE, "peer add: one NAME, then options");
	const char *name = argv[optind];
	if (peer_name_check(name, &d) != ST_OK)
		return cli_fail(CLI_USAGE, "peer add: %s", d.msg);
	snprintf(peer.name, sizeof(peer.name), "%s", name);
	if (url == NULL || key == NULL || token == NULL)
		return cli_fail(CLI_USAGE,
				"peer add: --url, --key and --token are "
				"required");
	if (peer_url_check(url, &d) != ST_OK)
		return cli_fail(CLI_USAGE, "peer add: %s", d.msg);
	snprintf(peer.url, sizeof(peer.url), "%s", url);
	if (nodekey_pub_parse(key, peer.pk) != ST_OK)
		return cli_fail(CLI_USAGE,
				"peer add: --key: '%.60s' is not a node public "
				"key (43 characters of base64url, as 'strait "
				"node show' prints it)",
				key);
	if (peer.ca_file[0] && npins > 0)
		return cli_fail(CLI_USAGE, "peer add: --ca or --pin, not both");
	if (peer.ca_file[0] && access(peer.ca_file, R_OK) != 0)
		return cli_fail(CLI_USAGE, "peer add: --ca: cannot read %s",
				peer.ca_file);
	if (!peer.client_cert[0] != !peer.client_key[0])
		return cli_fail(CLI_USAGE,
				"peer add: --client-cert and --client-key go "
				"together");
	if (peer.client_cert[0] && (access(peer.client_cert, R_OK) != 0 ||
				    access(peer.client_key, R_OK) != 0))
		return cli_fail(CLI_USAGE,
				"peer add: cannot read the client certificate "
				"or key");
	char *text = NULL;
	if (policy != NULL && (rc = policy_text(policy, &text)) != CLI_OK)
		return rc;
	char tok[PEER_TOKEN_MAX + 2];
	if ((rc = read_token(token, tok, sizeof(tok))) != CLI_OK) {
		free(text);
		return rc;
	}
	struct peers *p = NULL;
	if ((rc = cli_open(c)) == CLI_OK &&
	    peers_open(c->home, &p, &d) == ST_OK)
		rc = peers_add(p, &peer, tok, text, &d) == ST_OK
			 ? CLI_OK
			 : cli_fail(CLI_USAGE, "peer add: %s", d.msg);
	else if (rc == CLI_OK)
		rc = cli_fail(CLI_USAGE, "peer add: %s", d.msg);
	sodium_memzero(tok, sizeof(tok));
	free(text);
	peers_close(p);
	if (rc != CLI_OK)
		return rc;
	char id[NODEKEY_ID_LEN + 1];
	nodekey_id(peer.pk, id);
	printf("added peer %s: %s, key %s, %s\n", peer.name, peer.url, id,
	       peer.trust == PEER_FEED ? "feed" : "attested");
	cli_audit(c, "peer.add", "peer", peer.name, "url", peer.url, "key_id",
		  id, "trust", peer.trust == PEER_FEED ? "feed" : "attested",
		  NULL);
	if (policy == NULL)
		printf("no policy: %s receives nothing until 'strait peer "
		       "policy %s FILE'\n",
		       peer.name, peer.name);
	return CLI_OK;
}

struct list_ctx {
	struct jw *w;
};

static int list_one(void *ctx, const struct peer *peer)
{
	struct list_ctx *l = ctx;
	char text[NODEKEY_PUB_TEXT], ts[TS_BUFSZ];
	nodekey_pub_text(peer->pk, text);
	ts_format(peer->created * 1000000, ts);
	const char *trust = peer->trust == PEER_FEED ? "feed" : "attested";
	if (l->w == NULL) {
		printf("%-16s %s\n  key %s %s, %s, %s\n", peer->name, peer->url,
		       peer->key_id, text, trust,
		       peer->has_policy ? "policy set"
					: "no policy: receives nothing");
		return ST_OK;
	}
	struct jw *w = l->w;
	jw_obj_open(w);
	jw_key(w, "name");
	jw_str(w, peer->name);
	jw_key(w, "url");
	jw_str(w, peer->url);
	jw_key(w, "key_id");
	jw_str(w, peer->key_id);
	jw_key(w, "public_key");
	jw_str(w, text);
	jw_key(w, "trust");
	jw_str(w, trust);
	jw_key(w, "policy");
	jw_bool(w, peer->has_policy);
	jw_key(w, "ca_file");
	jw_str(w, peer->ca_file);
	jw_key(w, "pins");
	jw_arr_open(w);
	for (int i = 0; i < PEER_PINS_MAX; i++)
		if (peer->pins[i][0])
			jw_str(w, peer->pins[i]);
	jw_arr_close(w);
	jw_key(w, "client_cert");
	jw_str(w, peer->client_cert);
	jw_key(w, "created");
	jw_str(w, ts);
	jw_obj_close(w);
	return ST_OK;
}

static int cmd_list(struct cli *c, bool json)
{
	struct peers *p = NULL;
	struct diag d;
	int rc = cli_open(c);
	if (rc != CLI_OK)
		return rc;
	if (peers_open(c->home, &p, &d) != ST_OK)
		return cli_fail(CLI_USAGE, "peer list: %s", d.msg);
	struct buf out = BUF_INIT(1 << 24);
	struct jw w;
	struct list_ctx l = {json ? &w : NULL};
	if (json) {
		jw_init(&w, &out);
		jw_arr_open(&w);
	}
	rc = peers_list(p, list_one, &l, &d);
	peers_close(p);
	if (rc == ST_OK && json) {
		jw_arr_close(&w);
		rc = jw_finish(&w);
		if (rc == ST_OK)
			printf("%s\n", out.data);
	}
	buf_free(&out);
	return rc == ST_OK ? CLI_OK
			   : cli_fail(CLI_USAGE, "peer list: %s", d.msg);
}

/* The options of status, sent and deadletter. */
struct sub_args {
	const char *name; /* NULL when not given */
	bool json;
	const char *since;
	const char *skip;
	bool skip_all;
};

/* Parses argv (argv[0] the subcommand): options, then at most one NAME
 * (required when need_name). CLI_OK, -1 after --help, or CLI_USAGE. */
static int sub_parse(int argc, char **argv, const char *usage,
		     const struct option *opts, bool need_name,
		     struct sub_args *a)
{
	int opt;
	struct diag d;
	memset(a, 0, sizeof(*a));
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			fputs(usage, stdout);
			return -1;
		case 'j':
			a->json = true;
			break;
		case 's':
			a->since = optarg;
			break;
		case 'k':
			a->skip = optarg;
			break;
		case 'K':
			a->skip_all = true;
			break;
		default:
			fputs(usage, stderr);
			return cli_fail(CLI_USAGE,
					"peer %s: unexpected option '%s'",
					argv[0], argv[optind - 1]);
		}
	}
	if (argc - optind > 1 || (need_name && argc - optind != 1)) {
		fputs(usage, stderr);
		return cli_fail(CLI_USAGE, "peer %s: %s", argv[0],
				need_name ? "one NAME expected"
					  : "at most one NAME");
	}
	if (optind < argc) {
		a->name = argv[optind];
		if (peer_name_check(a->name, &d) != ST_OK)
			return cli_fail(CLI_USAGE, "peer %s: %s", argv[0],
					d.msg);
	}
	return CLI_OK;
}

/* Opens the registry and the federation state (store first when
 * store is set). CLI_OK or CLI_USAGE after saying why. */
static int open_fed(struct cli *c, const char *sub, bool store,
		    struct peers **p, struct fedstate **f)
{
	struct diag d;
	*p = NULL;
	*f = NULL;
	int rc = store ? cli_open(c) : cli_load_config(c);
	if (rc != CLI_OK)
		return rc;
	if (peers_open(c->home, p, &d) != ST_OK ||
	    fedstate_open(c->home, f, &d) != ST_OK) {
		peers_close(*p);
		*p = NULL;
		return cli_fail(CLI_USAGE, "peer %s: %s", sub, d.msg);
	}
	return CLI_OK;
}

/* A time for JSON: a STIX timestamp, or null for never (0). */
/* A time for people: a STIX timestamp, or dflt for never (0). */
static const char *text_time(st_time t, char ts[TS_BUFSZ], const char *dflt)
{
	if (t == 0)
		return dflt;
	ts_format(t, ts);
	return ts;
}

struct status_ctx {
	struct fedstate *f;
	const char *incarnation;
	uint64_t last_seq;
	st_time now;
	struct jw *w;
	size_t n;
	struct diag d;
};

static int status_one(void *ctx, const struct peer *peer)
{
	struct status_ctx *s = ctx;
	struct fed_peer_status st;
	int rc = fed_peer_status(s->f, peer, s->incarnation, s->last_seq,
				 s->now, &st, &s->d);
	if (rc != ST_OK)
		return rc;
	const struct fed_health h = st.h;
	const char *trust = peer->trust == PEER_FEED ? "feed" : "attested";
	s->n++;
	if (s->w != NULL) {
		fed_peer_status_json(s->w, peer, &st);
		return ST_OK;
	}
	uint64_t decided = st.decided, delivered = st.delivered,
		 queue = st.queue, lag = st.lag, dead = st.dead_letters,
		 quar = st.quarantined;
	int64_t lag_s = st.lag_s;
	char t1[TS_BUFSZ], t2[TS_BUFSZ], t3[TS_BUFSZ];
	printf("%-16s %s (%s)\n", peer->name, peer->url, trust);
	printf("  policy        %s\n",
	       peer->has_policy ? "set" : "no policy: receives nothing");
	printf("  identity      %s\n", h.identity[0] ? h.identity : "unknown");
	printf("  decided       %llu (our log: %llu)\n",
	       (unsigned long long)decided, (unsigned long long)s->last_seq);
	printf("  delivered     %llu\n", (unsigned long long)delivered);
	printf("  queue         %llu; lag %llu versions, %lld s\n",
	       (unsigned long long)queue, (unsigned long long)lag,
	       (long long)lag_s);
	printf("  dead letters  %llu\n", (unsigned long long)dead);
	printf("  quarantined   %llu\n", (unsigned long long)quar);
	printf("  last success  %s\n", text_time(h.last_success, t1, "never"));
	if (h.last_error_at != 0 || h.last_error[0])
		printf("  last error    %s: %s\n",
		       text_time(h.last_error_at, t2, "-"), h.last_error);
	else
		printf("  last error    none\n");
	printf("  down since    %s\n", text_time(h.down_since, t3, "-"));
	return ST_OK;
}

static int peer_status(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct sub_args a;
	int rc = sub_parse(argc, argv, status_usage, opts, false, &a);
	if (rc != CLI_OK)
		return rc < 0 ? CLI_OK : rc;
	struct peers *p;
	struct fedstate *f;
	if ((rc = open_fed(c, "status", true, &p, &f)) != CLI_OK)
		return rc;
	struct buf out = BUF_INIT(1 << 24);
	struct jw w;
	struct status_ctx s;
	memset(&s, 0, sizeof(s));
	s.f = f;
	s.incarnation = store_incarnation(c->store);
	s.last_seq = store_last_seq(c->store);
	s.now = time_now();
	s.w = a.json ? &w : NULL;
	struct peer one;
	int status = CLI_OK;
	if (a.json) {
		jw_init(&w, &out);
		jw_arr_open(&w);
	}
	if (a.name != NULL) {
		rc = peers_get(p, a.name, &one, &s.d);
		if (rc == ST_OK)
			rc = status_one(&s, &one);
	} else {
		rc = peers_list(p, status_one, &s, &s.d);
	}
	if (rc == ST_OK && a.json) {
		jw_arr_close(&w);
		if ((rc = jw_finish(&w)) == ST_OK)
			printf("%s\n", out.data);
		else
			diag_set(&s.d, rc, "%s", st_strerror(rc));
	}
	if (rc != ST_OK)
		status = cli_fail(CLI_USAGE, "peer status: %s", s.d.msg);
	else if (!a.json && s.n == 0)
		printf("no peers (add one with 'strait peer add')\n");
	buf_free(&out);
	fedstate_close(f);
	peers_close(p);
	return status;
}

struct sent_ctx {
	struct jw *w;
	size_t n;
};

static int sent_one(void *ctx, const struct fed_sent *r)
{
	struct sent_ctx *x = ctx;
	char at[TS_BUFSZ];
	ts_format(r->at, at);
	x->n++;
	if (x->w == NULL) {
		printf("%s  %-8s %6llu  %s  %s\n", at, r->path,
		       (unsigned long long)r->count, r->digest, r->first_id);
		return ST_OK;
	}
	jw_obj_open(x->w);
	jw_key(x->w, "at");
	jw_str(x->w, at);
	jw_key(x->w, "path");
	jw_str(x->w, r->path);
	jw_key(x->w, "count");
	jw_int(x->w, (int64_t)r->count);
	jw_key(x->w, "digest");
	jw_str(x->w, r->digest);
	jw_key(x->w, "first_id");
	jw_str(x->w, r->first_id);
	jw_obj_close(x->w);
	return ST_OK;
}

static int peer_sent(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"since", required_argument, NULL, 's'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct sub_args a;
	int rc = sub_parse(argc, argv, sent_usage, opts, true, &a);
	if (rc != CLI_OK)
		return rc < 0 ? CLI_OK : rc;
	st_time since = 0;
	if (a.since != NULL &&
	    ts_parse(a.since, strlen(a.since), &since, NULL) != ST_OK)
		return cli_fail(CLI_USAGE,
				"peer sent: --since: '%.40s' is not a STIX "
				"timestamp (e.g. 2026-01-31T00:00:00Z)",
				a.since);
	struct peers *p;
	struct fedstate *f;
	if ((rc = open_fed(c, "sent", false, &p, &f)) != CLI_OK)
		return rc;
	struct buf out = BUF_INIT(1 << 26);
	struct jw w;
	struct sent_ctx x = {a.json ? &w : NULL, 0};
	struct peer one;
	struct diag d;
	if (a.json) {
		jw_init(&w, &out);
		jw_arr_open(&w);
	}
	rc = peers_get(p, a.name, &one, &d);
	if (rc == ST_OK)
		rc = fed_sent_list(f, a.name, since, sent_one, &x, &d);
	if (rc == ST_OK && a.json) {
		jw_arr_close(&w);
		if ((rc = jw_finish(&w)) == ST_OK)
			printf("%s\n", out.data);
		else
			diag_set(&d, rc, "%s", st_strerror(rc));
	}
	buf_free(&out);
	fedstate_close(f);
	peers_close(p);
	if (rc != ST_OK)
		return cli_fail(CLI_USAGE, "peer sent: %s", d.msg);
	if (!a.json && x.n == 0)
		printf("nothing released to %s%s%s\n", a.name,
		       a.since ? " since " : "", a.since ? a.since : "");
	return CLI_OK;
}

struct dl_ctx {
	struct jw *w;
	size_t n;
};

static int dl_one(void *ctx, const struct fed_deadletter *dl)
{
	struct dl_ctx *x = ctx;
	char at[TS_BUFSZ], ver[TS_BUFSZ];
	ts_format(dl->at, at);
	ts_format(dl->version, ver);
	x->n++;
	if (x->w == NULL) {
		printf("%lld  %s  seq %llu  %s  %s  %s%s\n", (long long)dl->did,
		       at, (unsigned long long)dl->seq, dl->id, ver, dl->reason,
		       dl->skipped ? "  [skipped]" : "");
		return ST_OK;
	}
	jw_obj_open(x->w);
	jw_key(x->w, "did");
	jw_int(x->w, dl->did);
	jw_key(x->w, "at");
	jw_str(x->w, at);
	jw_key(x->w, "seq");
	jw_int(x->w, (int64_t)dl->seq);
	jw_key(x->w, "id");
	jw_str(x->w, dl->id);
	jw_key(x->w, "version");
	jw_str(x->w, ver);
	jw_key(x->w, "reason");
	jw_str(x->w, dl->reason);
	jw_key(x->w, "skipped");
	jw_bool(x->w, dl->skipped);
	jw_obj_close(x->w);
	return ST_OK;
}

static int peer_deadletter(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"skip", required_argument, NULL, 'k'},
	    {"skip-all", no_argument, NULL, 'K'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct sub_args a;
	int rc = sub_parse(argc, argv, deadletter_usage, opts, true, &a);
	if (rc != CLI_OK)
		return rc < 0 ? CLI_OK : rc;
	int64_t did = 0;
	if (a.skip != NULL && a.skip_all)
		return cli_fail(CLI_USAGE,
				"peer deadletter: --skip or --skip-all, not "
				"both");
	if (a.skip != NULL) {
		char *end = NULL;
		errno = 0;
		long long v = strtoll(a.skip, &end, 10);
		if (a.skip[0] < '0' || a.skip[0] > '9' || *end != '\0' ||
		    errno != 0 || v <= 0)
			return cli_fail(CLI_USAGE,
					"peer deadletter: --skip: '%.40s' is "
					"not a dead letter number (DID)",
					a.skip);
		did = v;
	}
	struct peers *p;
	struct fedstate *f;
	if ((rc = open_fed(c, "deadletter", false, &p, &f)) != CLI_OK)
		return rc;
	struct peer one;
	struct diag d;
	int status = CLI_OK;
	if (peers_get(p, a.name, &one, &d) != ST_OK) {
		status = cli_fail(CLI_USAGE, "peer deadletter: %s", d.msg);
	} else if (a.skip != NULL || a.skip_all) {
		size_t n = 0;
		rc = fed_deadletter_skip(f, a.name, did, &n, &d);
		if (rc == ST_ENOTFOUND)
			status = cli_fail(CLI_PARTIAL,
					  "peer deadletter: no dead letter "
					  "%lld for %s (see 'strait peer "
					  "deadletter %s')",
					  (long long)did, a.name, a.name);
		else if (rc != ST_OK)
			status =
			    cli_fail(CLI_USAGE, "peer deadletter: %s", d.msg);
		else if (a.json)
			printf("{\"skipped\":%zu}\n", n);
		else if (a.skip != NULL)
			printf("skipped dead letter %lld of %s\n",
			       (long long)did, a.name);
		else
			printf("skipped %zu dead letter%s of %s\n", n,
			       n == 1 ? "" : "s", a.name);
	} else {
		struct buf out = BUF_INIT(1 << 26);
		struct jw w;
		struct dl_ctx x = {a.json ? &w : NULL, 0};
		if (a.json) {
			jw_init(&w, &out);
			jw_arr_open(&w);
		}
		rc = fed_deadletter_list(f, a.name, dl_one, &x, &d);
		if (rc == ST_OK && a.json) {
			jw_arr_close(&w);
			if ((rc = jw_finish(&w)) == ST_OK)
				printf("%s\n", out.data);
			else
				diag_set(&d, rc, "%s", st_strerror(rc));
		}
		if (rc != ST_OK)
			status =
			    cli_fail(CLI_USAGE, "peer deadletter: %s", d.msg);
		else if (!a.json && x.n == 0)
			printf("no dead letters for %s\n", a.name);
		buf_free(&out);
	}
	fedstate_close(f);
	peers_close(p);
	return status;
}

/* Removes the peer, forgetting first what was kept for it: a peer added
 * again under the name must start afresh, never inherit what was
 * decided under another policy. */
static int peer_remove(struct cli *c, const char *name)
{
	struct peers *p;
	struct fedstate *f;
	struct peer one;
	struct diag d;
	int rc = open_fed(c, "remove", true, &p, &f);
	if (rc != CLI_OK)
		return rc;
	if (peers_get(p, name, &one, &d) != ST_OK ||
	    fed_forget_peer(f, name, &d) != ST_OK ||
	    peers_remove(p, name, &d) != ST_OK)
		rc = cli_fail(CLI_USAGE, "peer remove: %s", d.msg);
	fedstate_close(f);
	peers_close(p);
	if (rc == CLI_OK) {
		printf("removed peer %s\n", name);
		cli_audit(c, "peer.remove", "peer", name, NULL);
	}
	return rc;
}

int cmd_peer(struct cli *c, int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0) {
		fputs(peer_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_USAGE : CLI_OK;
	}
	const char *sub = argv[1];
	struct diag d;
	if (strcmp(sub, "add") == 0)
		return cmd_add(c, argc - 1, argv + 1);
	if (strcmp(sub, "list") == 0) {
		bool json = argc == 3 && strcmp(argv[2], "--json") == 0;
		if (argc > 3 || (argc == 3 && !json))
			return cli_fail(CLI_USAGE, "usage: strait peer list "
						   "[--json]");
		return cmd_list(c, json);
	}
	if (strcmp(sub, "status") == 0)
		return peer_status(c, argc - 1, argv + 1);
	if (strcmp(sub, "sent") == 0)
		return peer_sent(c, argc - 1, argv + 1);
	if (strcmp(sub, "deadletter") == 0)
		return peer_deadletter(c, argc - 1, argv + 1);
	if (strcmp(sub, "remove") == 0) {
		if (argc == 3 && strcmp(argv[2], "--help") == 0) {
			fputs(peer_usage, stdout);
			return CLI_OK;
		}
		if (argc != 3)
			return cli_fail(CLI_USAGE,
					"usage: strait peer remove NAME");
		return peer_remove(c, argv[2]);
	}
	if (strcmp(sub, "policy") == 0) {
		if (argc != 4)
			return cli_fail(CLI_USAGE, "usage: strait peer policy "
						   "NAME FILE");
		char *text = NULL;
		int rc = policy_text(argv[3], &text);
		if (rc != CLI_OK)
			return rc;
		struct peers *p = NULL;
		if ((rc = cli_open(c)) == CLI_OK &&
		    peers_open(c->home, &p, &d) == ST_OK) {
			int src = peers_set_policy(p, argv[2], text, &d);
			rc = src == ST_OK ? CLI_OK
					  : cli_fail(CLI_USAGE, "peer %s: %s",
						     sub, d.msg);
		} else if (rc == CLI_OK) {
			rc = cli_fail(CLI_USAGE, "peer %s: %s", sub, d.msg);
		}
		peers_close(p);
		char sha[65] = "";
		if (text != NULL)
			hash_sha256_hex(text, strlen(text), sha);
		free(text);
		if (rc == CLI_OK) {
			printf("policy of %s replaced; what a tighter policy "
			       "no longer admits stops being sent, but what "
			       "was already sent cannot be recalled\n",
			       argv[2]);
			cli_audit(c, "peer.policy", "peer", argv[2],
				  "policy_sha256", sha, NULL);
		}
		return rc;
	}
	return cli_fail(CLI_USAGE, "peer: unknown subcommand '%.40s'", sub);
}
