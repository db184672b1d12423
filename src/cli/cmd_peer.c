/* strait peer: the partner nodes this node exchanges with. */
#include "cli/cli.h"

#include "common/json.h"
#include "common/time.h"
#include "federation/peers.h"
#include "policy/peer_policy.h"

#include <ctype.h>
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
    "  --client-cert, --client-key  this node's TLS client certificate\n";

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
	if (strcmp(sub, "remove") == 0 || strcmp(sub, "policy") == 0) {
		bool rm = sub[0] == 'r';
		if (argc != (rm ? 3 : 4))
			return cli_fail(CLI_USAGE,
					rm ? "usage: strait peer remove NAME"
					   : "usage: strait peer policy NAME "
					     "FILE");
		char *text = NULL;
		int rc = rm ? CLI_OK : policy_text(argv[3], &text);
		if (rc != CLI_OK)
			return rc;
		struct peers *p = NULL;
		if ((rc = cli_open(c)) == CLI_OK &&
		    peers_open(c->home, &p, &d) == ST_OK) {
			int src = rm ? peers_remove(p, argv[2], &d)
				     : peers_set_policy(p, argv[2], text, &d);
			rc = src == ST_OK ? CLI_OK
					  : cli_fail(CLI_USAGE, "peer %s: %s",
						     sub, d.msg);
		} else if (rc == CLI_OK) {
			rc = cli_fail(CLI_USAGE, "peer %s: %s", sub, d.msg);
		}
		peers_close(p);
		free(text);
		if (rc == CLI_OK && rm)
			printf("removed peer %s\n", argv[2]);
		else if (rc == CLI_OK)
			printf("policy of %s replaced; what a tighter policy "
			       "no longer admits stops being sent, but what "
			       "was already sent cannot be recalled\n",
			       argv[2]);
		return rc;
	}
	return cli_fail(CLI_USAGE, "peer: unknown subcommand '%.40s'", sub);
}
