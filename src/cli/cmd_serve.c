#include "cli/cli.h"

#include "auth/auth.h"
#include "taxii/http.h"
#include "taxii/taxii.h"
#include "taxii/token.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char serve_usage[] =
    "usage: strait serve [--listen HOST:PORT] [--peer-listen HOST:PORT]\n"
    "                    [--tls-cert FILE --tls-key FILE]\n"
    "                    [--tls-client-ca FILE [--require-client-cert]]\n"
    "                    [--public-discovery] [--max-content-length BYTES]\n"
    "                    [--allow-plain]\n"
    "\n"
    "Runs the node's TAXII 2.1 server until SIGINT or SIGTERM, then stops\n"
    "gracefully. Discovery is at /taxii2/, the API root at /taxii2/root/.\n"
    "Accounts are made with 'strait user add'.\n"
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
    "\n"
    "The first line on standard output names the URL being served.\n";

struct serve_opts {
	const char *listen, *peer_listen;
	struct http_tls_config tls;
	bool public_discovery, allow_plain;
	size_t max_content;
};

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
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int ch;
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
	return CLI_OK;
}

int cmd_serve(struct cli *c, int argc, char **argv)
{
	struct serve_opts o;
	memset(&o, 0, sizeof(o));
	o.max_content = 10u << 20;
	int rc = parse_opts(argc, argv, &o);
	if (rc != CLI_OK)
		return rc < 0 ? CLI_OK : rc;
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
	int status = CLI_USAGE;

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
	if (thr == NULL || taxii_new(&tc, &tx, &d) != ST_OK) {
		cli_fail(CLI_USAGE, "serve: %s",
			 thr == NULL ? "out of memory" : d.msg);
		goto out;
	}
	struct http_config hc;
	memset(&hc, 0, sizeof(hc));
	hc.main.listen = o.listen;
	hc.main.limits.max_content_length = o.max_content;
	hc.peer.listen = o.peer_listen;
	hc.peer.limits.max_content_length = o.max_content;
	hc.routes = taxii_routes(tx, &hc.n_routes);
	hc.auth = taxii_authenticate;
	hc.account_release = taxii_account_release;
	hc.ctx = tx;
	hc.tls = o.tls;
	hc.allow_plain_non_loopback = o.allow_plain;

	http_signals_block();
	if (http_server_start(&hc, &srv, &d) != ST_OK) {
		cli_fail(CLI_USAGE, "serve: %s", d.msg);
		goto out;
	}
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
	http_server_free(srv);
	taxii_free(tx);
	auth_throttle_free(thr);
	token_keys_free(keys);
	auth_close(auth);
	return status;
}
