/*
 * The HTTP ceiling: strait's HTTP core with one empty route, /ping/, and
 * nothing else (no auth, no store). Prints the bound port on stdout, then
 * serves until SIGINT or SIGTERM. Load it with, e.g.,
 *   wrk -t2 -c16 -d5s http://127.0.0.1:PORT/ping/
 * Usage: bench_http_empty [HOST:PORT] (default 127.0.0.1:0, any free port).
 * Access-log lines are formatted as in the server and then dropped, unless
 * STRAIT_BENCH_LOG is set (then they go to stderr).
 */
#include "taxii/http.h"

#include <stdio.h>
#include <stdlib.h>

static int empty(struct http_request *req, struct http_response *resp)
{
	(void)req;
	(void)resp;
	return ST_OK;
}

static void drop(void *arg, const char *line, size_t len)
{
	(void)arg;
	(void)line;
	(void)len;
}

static const struct http_route routes[] = {
    {HTTP_GET, "/ping/", empty, HTTP_ROUTE_PUBLIC, "ping"},
};

int main(int argc, char **argv)
{
	struct http_config cfg = {0};
	struct http_server *s;
	struct diag d;

	cfg.main.listen = argc > 1 ? argv[1] : "127.0.0.1:0";
	cfg.main.limits.max_connections = 1024;
	cfg.main.limits.per_ip_connections = 1024;
	cfg.routes = routes;
	cfg.n_routes = sizeof(routes) / sizeof(routes[0]);
	if (getenv("STRAIT_BENCH_LOG") == NULL)
		cfg.access_log = drop;
	http_signals_block();
	if (http_server_start(&cfg, &s, &d) != ST_OK) {
		fprintf(stderr, "bench_http_empty: %s\n", d.msg);
		return 1;
	}
	printf("%u\n", http_server_port(s, HTTP_LISTENER_MAIN));
	fflush(stdout);
	int sig = http_signals_wait();
	fprintf(stderr, "bench_http_empty: signal %d, stopping\n", sig);
	http_server_stop(s, 2000);
	http_server_free(s);
	return 0;
}
