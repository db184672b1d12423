/*
 * strait: the HTTP core. A server over libmicrohttpd, the route table, the
 * request and response types, content negotiation and the one place where
 * errors become HTTP statuses and TAXII error bodies.
 *
 * Concurrency model (the only one): thread-per-connection. libmicrohttpd
 * runs one thread per accepted connection (MHD_USE_THREAD_PER_CONNECTION |
 * MHD_USE_INTERNAL_POLLING_THREAD), so a handler or a streaming callback may
 * block (a store read, a writer commit, an SSE wait). What bounds the server
 * are hard caps: a global connection limit, a per-address limit, per-account
 * concurrent-request counters (http_account_enter), a connection timeout, an
 * explicit thread stack size, a per-connection memory limit, a header-size
 * bound and a request-body cap. A second listener (a separate daemon with its
 * own limits and threads) carries reserved peer and hotline traffic, so the
 * readers and streams of the main listener can never starve it.
 *
 * Order of checks for every request, before any handler runs:
 *   path matches no route -> 404; route exists for another method -> 405
 *   with Allow; headers over the bound -> 431; malformed query or path
 *   encoding -> 400; authentication (routes with HTTP_ROUTE_AUTH) -> the
 *   auth hook's answer (401/403/429); HTTP_ROUTE_TAXII routes: Accept -> 406,
 *   Content-Type of a request with a body -> 415; Content-Length over
 *   max_content_length -> 413 before reading. Then the body is read into a
 *   buffer capped at max_content_length; a body without Content-Length
 *   (chunked) that passes the cap is not stored further: libmicrohttpd
 *   0.9.75 cannot queue a response in the middle of a body, so the rest is
 *   read and dropped and 413 is the answer when it ends (and a body that
 *   goes on past the cap plus as much again, at least 1 MiB, has its
 *   connection closed). Then the handler. Every one of these answers is a
 *   TAXII error body made by http_error(). An answer decided before the
 *   body of a request that has one is sent at once, without reading the
 *   body, and the connection is closed.
 *
 * Answers libmicrohttpd gives by itself, before strait sees the request,
 * carry its own short HTML body: a request line or headers over the
 * per-connection memory (connection_memory; strait's own header bound,
 * max_header_bytes, is lower and answers 431 first), a malformed request
 * line, a malformed chunked encoding. Connections over the global or
 * per-address limits are closed at accept.
 */
#ifndef STRAIT_TAXII_HTTP_H
#define STRAIT_TAXII_HTTP_H

#include "common/buf.h"
#include "common/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

/* ---- Media types --------------------------------------------------------- */

#define HTTP_TAXII_TYPE "application/taxii+json"
#define HTTP_TAXII_VERSION "2.1"
/* What every TAXII response carries as Content-Type. */
#define HTTP_TAXII_CTYPE "application/taxii+json;version=2.1"

/* ---- Methods and routes -------------------------------------------------- */

/* Methods as a bit mask, so a route can list several. */
enum http_method {
	HTTP_GET = 1u << 0,
	HTTP_HEAD = 1u << 1,
	HTTP_POST = 1u << 2,
	HTTP_PUT = 1u << 3,
	HTTP_DELETE = 1u << 4,
	HTTP_PATCH = 1u << 5,
	HTTP_OPTIONS = 1u << 6,
};

/* Route flags. */
enum {
	/* The auth hook must accept the request before the handler runs. */
	HTTP_ROUTE_AUTH = 1u << 0,
	/* No authentication even when an auth hook is configured (discovery
	   when configured public, health probes). Wins over HTTP_ROUTE_AUTH. */
	HTTP_ROUTE_PUBLIC = 1u << 1,
	/* TAXII negotiation before the handler: Accept must allow
	   application/taxii+json;version=2.1 (406) and a request body must be
	   of that type (415). */
	HTTP_ROUTE_TAXII = 1u << 2,
	/* The route answers with a long stream (SSE). Informational (logs,
	   metrics): every stream ends on http_server_stop() anyway. */
	HTTP_ROUTE_STREAM = 1u << 3,
	/* The pattern's final '/' is optional in requests: "/metrics" and
	   "/metrics/" both match the pattern "/metrics/". For endpoints whose
	   clients do not add the slash (Prometheus scrapes /metrics); never
	   for TAXII routes, whose URLs end in '/'. */
	HTTP_ROUTE_SLASH_OPTIONAL = 1u << 4,
};

struct http_request;
struct http_response;

/*
 * A handler fills resp (status, headers, body or a stream) and returns
 * ST_OK. Returning an error code instead makes the server answer with
 * http_error_from(resp, rc, NULL) unless the handler already set a status
 * of 400 or more; a handler that returns an error after starting nothing
 * never produces a partial write.
 */
typedef int (*http_handler_fn)(struct http_request *req,
			       struct http_response *resp);

/*
 * One row of a route table. pattern is a path that ends in '/', made of
 * literal segments and {name} segments; a {name} segment matches one
 * non-empty path segment (percent-decoded for the handler, never containing
 * '/'). "/taxii2/{root}/collections/{id}/objects/". Tables are static
 * data: adding an endpoint is adding a row. Rows are tried in order and the
 * first one whose pattern and method match wins.
 */
struct http_route {
	unsigned methods; /* mask of enum http_method */
	const char *pattern;
	http_handler_fn handler;
	unsigned flags;	  /* HTTP_ROUTE_* */
	const char *name; /* short, stable; for logs and metrics */
};

/* ---- Limits -------------------------------------------------------------- */

#define HTTP_MAX_PATH_PARAMS 8 /* {name} segments in one pattern */
#define HTTP_MAX_PATH 2048     /* raw request path bytes */
#define HTTP_MAX_URI 8192      /* request target with query; longer: 414 */
#define HTTP_MAX_SEGMENTS 32   /* path segments */
#define HTTP_MAX_RESP_HEADERS 16
#define HTTP_MAX_ACCOUNT_SLOTS 4 /* http_account_enter calls per request */

/* Limits of one listener. Zero in any field means the default shown. */
struct http_limits {
	unsigned max_connections;      /* global, default 256 */
	unsigned per_ip_connections;   /* default 32 */
	unsigned connection_timeout_s; /* idle connection, default 30 */
	size_t thread_stack;	   /* bytes per connection thread, 512 KiB */
	size_t connection_memory;  /* MHD per-connection pool, 64 KiB */
	size_t max_header_bytes;   /* all request headers, default 16 KiB */
	size_t max_content_length; /* request body cap, default 10 MiB */
	size_t max_response_body;  /* buffered response cap, 64 MiB */
	unsigned query_max_params; /* default 32 */
	size_t query_max_value;	   /* decoded bytes per value, 2048 */
	unsigned stream_block_ms;  /* see http_stream_fn, default 500 */
};

/* ---- Query strings (pure; fuzzed without sockets) ----------------------- */

struct http_kv {
	const char *key; /* decoded, NUL-terminated */
	const char *value;
	size_t key_len;
	size_t value_len;
};

/*
 * A parsed query string: every key=value pair in the order given,
 * repeated keys kept ("match[type]=a&match[type]=b" gives two items;
 * "a,b" stays one value, splitting on ',' is the caller's business).
 * "k" without '=' has an empty value. Keys and values are percent-decoded
 * ('+' becomes a space). Owns its storage: http_query_free().
 */
struct http_query {
	struct http_kv *items;
	size_t n;
	char *mem; /* private */
};

/*
 * Parses the query string qs (without the '?'). ST_EINVAL for a malformed
 * percent escape, a decoded NUL or an empty key; ST_ELIMIT past max_params
 * pairs or a value (or key) longer than max_value decoded bytes; ST_ENOMEM.
 * d receives a message safe to show the client (it never echoes values).
 * On failure q is empty. A NULL or empty qs gives an empty query.
 */
int http_query_parse(const char *qs, size_t len, unsigned max_params,
		     size_t max_value, struct http_query *q, struct diag *d);
void http_query_free(struct http_query *q);
/* The first value of key, or NULL. */
const char *http_query_get(const struct http_query *q, const char *key);
/* How many times key appears. */
size_t http_query_count(const struct http_query *q, const char *key);

/*
 * Percent-decodes src into dst (which may be src: decoding never grows).
 * plus_is_space for query strings. Returns the decoded length, or -1 for a
 * malformed escape or a decoded NUL byte. dst is NUL-terminated; it needs
 * len + 1 bytes.
 */
ssize_t http_pct_decode(const char *src, size_t len, char *dst,
			bool plus_is_space);

/* ---- Routing (pure; fuzzed without sockets) ----------------------------- */

/* Method name ("GET") to enum http_method; 0 for an unknown method. */
unsigned http_method_parse(const char *s, size_t len);
/* "GET" for HTTP_GET; "" for anything else. */
const char *http_method_name(unsigned m);

enum http_match_result {
	HTTP_MATCH_OK,		/* route found for this method */
	HTTP_MATCH_NOT_FOUND,	/* 404 */
	HTTP_MATCH_BAD_METHOD,	/* 405: *allow holds the methods */
	HTTP_MATCH_BAD_REQUEST, /* 400: malformed path encoding, too long */
};

struct http_match {
	const struct http_route *route;
	size_t n_params;
	const char *names[HTTP_MAX_PATH_PARAMS]; /* into route->pattern */
	size_t name_lens[HTTP_MAX_PATH_PARAMS];
	char *values[HTTP_MAX_PATH_PARAMS]; /* decoded, into mem */
	unsigned allow;			    /* for 405 */
	char mem[HTTP_MAX_PATH + HTTP_MAX_PATH_PARAMS];
};

/*
 * Matches a raw request path (no query string, not decoded) against the
 * table. Literal segments compare byte for byte with the raw path; {param}
 * segments are percent-decoded into m. Paths not ending in '/' match
 * nothing (TAXII requires the slash) except the rows flagged
 * HTTP_ROUTE_SLASH_OPTIONAL, which match as if the slash were there; empty
 * segments ("//") match nothing.
 */
enum http_match_result http_route_match(const struct http_route *routes,
					size_t n_routes, unsigned method,
					const char *path, size_t len,
					struct http_match *m);
/* Writes "GET, HEAD, POST" for a mask into out (cap bytes). */
void http_allow_string(unsigned methods, char *out, size_t cap);

/* ---- Content negotiation (pure; fuzzed) ---------------------------------- */

/*
 * Whether an Accept header value allows type ("application/taxii+json")
 * in version (the media type's "version" parameter; NULL if none is
 * needed). A missing or empty header accepts anything. A range matches
 * when it is type itself, "application/ *" (for type's top level) or "* / *"
 * (spaces added here only for the comment), its q is not 0, and its version
 * parameter, if any, equals version (no version means "the latest", which
 * is the one we serve). Parameter names and type names compare without
 * case; whitespace around ';', ',' and '=' is allowed; quoted parameter
 * values are understood. Header values over 4096 bytes or with more than
 * 64 ranges are not acceptable.
 */
bool http_accepts(const char *accept, size_t len, const char *type,
		  const char *version);

/*
 * Whether a Content-Type value is type with (if present) version equal to
 * version. Other parameters (charset) are ignored. A missing header is not
 * acceptable.
 */
bool http_content_type_is(const char *ctype, size_t len, const char *type,
			  const char *version);

/* ---- Requests ------------------------------------------------------------ */

enum http_listener_id { HTTP_LISTENER_MAIN, HTTP_LISTENER_PEER };

/*
 * What a handler sees. Everything here lives until the request completes
 * (after the response, streams included, was sent or abandoned); the
 * handler owns none of it.
 */
struct http_request {
	unsigned method;  /* enum http_method */
	const char *path; /* raw path, no query string */
	const struct http_route *route;
	enum http_listener_id listener;
	struct http_query query;
	const char *body; /* the request body, NUL-terminated, or NULL */
	size_t body_len;
	char client_addr[64]; /* "127.0.0.1" or "::1" */
	bool tls;
	/* A client certificate was presented and verified against the
	   configured client CA; its SHA-256 (DER) is below. */
	bool client_cert;
	uint8_t client_cert_sha256[32];
	char client_cert_hex[65]; /* lowercase hex of the above */
	/* The auth step's result: an opaque account (owned by the auth layer)
	   and its name for the access log; see http_request_set_account. */
	void *account;
	void *ctx; /* http_config.ctx */
	struct http_server *server;
	struct http_conn *impl; /* private */
};

/*
 * A request header (case-insensitive name), or NULL. The value is the
 * header as received, owned by the request.
 */
const char *http_header(const struct http_request *req, const char *name);
/* A path parameter by its {name} in the pattern, decoded, or NULL. */
const char *http_param(const struct http_request *req, const char *name);
/* Sets the account and its name for the access log (copied, 63 bytes max). */
void http_request_set_account(struct http_request *req, void *account,
			      const char *name);

/*
 * Per-account concurrency: takes one slot of the counter named key (any
 * string, e.g. the account id, or "stream:<id>" for a separate stream cap)
 * on this request's listener, if fewer than max are taken. The slot is
 * given back automatically when the request completes (a stream: when it
 * ends), or earlier with http_account_leave(). Over the cap: fills resp with
 * 429 (Retry-After: 1) and returns ST_ELIMIT; the handler then returns
 * ST_OK. ST_ENOMEM/ST_ELIMIT (more than HTTP_MAX_ACCOUNT_SLOTS per request)
 * fill resp with 503.
 */
int http_account_enter(struct http_request *req, struct http_response *resp,
		       const char *key, unsigned max);
void http_account_leave(struct http_request *req, const char *key);
/* Slots currently taken for key on a listener (tests, metrics). */
unsigned http_account_count(struct http_server *s, enum http_listener_id l,
			    const char *key);

/* ---- Responses ----------------------------------------------------------- */

/*
 * A streaming body: called from the connection's thread whenever
 * libmicrohttpd can send more. Write up to max bytes into out and return how
 * many; return 0 when nothing is ready yet (the server calls again, after
 * checking the stop flag); HTTP_STREAM_END to finish; HTTP_STREAM_ERROR to
 * abort the connection. The callback may block, but for at most about
 * limits.stream_block_ms per call, and should check http_server_stopping()
 * to end early: http_server_stop() waits for streams to end. Between calls
 * that return 0 the server looks (at most every 250 ms, without reading)
 * whether the client closed the connection or its sending side (EOF, a
 * reset; bytes pending on the socket are not a close) and then ends the
 * stream at once (access log end=client-closed), so a client that went
 * away frees its thread and account slots within about a second instead
 * of at the connection timeout.
 */
#define HTTP_STREAM_END ((ssize_t)-1)
#define HTTP_STREAM_ERROR ((ssize_t)-2)
typedef ssize_t (*http_stream_fn)(void *arg, char *out, size_t max);

struct http_header_kv {
	char *name; /* owned */
	char *value;
};

/*
 * What a handler builds. Defaults when the handler starts: status 200,
 * Content-Type HTTP_TAXII_CTYPE, empty body capped at the listener's
 * max_response_body.
 */
struct http_response {
	int status;
	const char *content_type; /* static string; NULL for none */
	struct buf body;
	struct http_header_kv headers[HTTP_MAX_RESP_HEADERS];
	size_t n_headers;
	unsigned retry_after_s; /* Retry-After on 429/503, 0 = 1 second */
	/* Streaming instead of body (http_response_stream). */
	http_stream_fn stream;
	void *stream_arg;
	void (*stream_free)(void *arg);
};

/* Adds a response header (name and value copied). ST_ELIMIT past 16.
   CR/LF in either is refused (ST_EINVAL): no header injection. */
int http_response_header(struct http_response *resp, const char *name,
			 const char *value);

/*
 * Makes resp a streamed response: fn(arg, ...) produces the body,
 * free_fn(arg) (may be NULL) runs once when the stream ends or the
 * connection goes away, also if the response was never sent.
 */
void http_response_stream(struct http_response *resp, int status,
			  const char *content_type, http_stream_fn fn,
			  void *arg, void (*free_fn)(void *));

/* ---- Errors: the one mapping --------------------------------------------- */

/*
 * The one place errors become HTTP: resets resp (body, stream, headers) and
 * fills it with status and the TAXII error body
 *   {"title": title, "description": description, "http_status": "413"}
 * (description omitted when NULL) as HTTP_TAXII_CTYPE. Adds
 * WWW-Authenticate: Basic realm="strait", Bearer on 401 and Retry-After on
 * 429 and 503. title NULL means the standard reason phrase. Returns ST_OK so
 * a handler can end with "return http_error(...)".
 */
int http_error(struct http_response *resp, int status, const char *title,
	       const char *description);
/*
 * The HTTP status for an enum st_err: ST_EINVAL, ST_EJSON, ST_ESTIX,
 * ST_ERANGE and ST_ELIMIT 400 (a limit met inside a body that is under
 * max_content_length must not be a 413: only the core's body cap answers
 * 413), ST_ENOTFOUND 404, ST_EEXIST and ST_ECONFLICT 409, ST_ECLOSED 503,
 * anything else 500.
 */
int http_status_from_err(int err);
/* http_error(resp, http_status_from_err(err), NULL, description). A 500
   never carries the description (logged instead). */
int http_error_from(struct http_response *resp, int err,
		    const char *description);
/* The standard reason phrase ("Not Acceptable"), "Unknown" otherwise. */
const char *http_reason(int status);

/* ---- The server ---------------------------------------------------------- */

struct http_tls_config {
	const char *cert_file;	    /* PEM; NULL: plain HTTP */
	const char *key_file;	    /* PEM */
	const char *client_ca_file; /* PEM; verify client certificates */
	/* Requests without a verified client certificate get 403.
	   libmicrohttpd asks for a certificate in the handshake when a
	   client CA is set but cannot make it mandatory there, so this is
	   enforced per request, before routing and authentication. */
	bool require_client_cert;
	/* GnuTLS priority string; NULL: TLS 1.3 preferred, 1.2 minimum.
	   0-RTT (early data) is never enabled. */
	const char *priorities;
};

/*
 * Authentication hook, run for HTTP_ROUTE_AUTH routes once the headers are
 * in (before the body is read). Return ST_OK after
 * http_request_set_account(); anything else means resp already holds the
 * answer (use http_error: 401 gets WWW-Authenticate, 429 Retry-After).
 */
typedef int (*http_auth_fn)(struct http_request *req,
			    struct http_response *resp);

/* Receives each finished access-log line (no trailing newline). */
typedef void (*http_log_fn)(void *arg, const char *line, size_t len);

/*
 * Observes each finished request, where its access-log line is made, for
 * metrics: the route (NULL when none matched), the status sent (0 when
 * none was), the milliseconds from the request line to the end (a
 * stream's whole life) and the body bytes sent. Called from connection
 * threads, concurrently: keep it cheap and thread-safe (atomics).
 */
typedef void (*http_observe_fn)(void *arg, const struct http_route *route,
				int status, double ms, uint64_t bytes);

struct http_listener_config {
	const char *listen; /* "HOST:PORT"; see http_parse_listen */
	struct http_limits limits;
	/* NULL: the main listener's table. */
	const struct http_route *routes;
	size_t n_routes;
};

struct http_config {
	struct http_listener_config main;
	/* Reserved peer/hotline listener; peer.listen NULL for none. */
	struct http_listener_config peer;
	const struct http_route *routes;
	size_t n_routes;
	http_auth_fn auth; /* NULL: HTTP_ROUTE_AUTH routes answer 401 */
	/* Called with req->account when a request that had one completes
	   (NULL: nothing to release). */
	void (*account_release)(void *account);
	void *ctx;		    /* given to handlers as req->ctx */
	struct http_tls_config tls; /* both listeners */
	/* Plain HTTP on a non-loopback address only when this is set. */
	bool allow_plain_non_loopback;
	/* Access log sink; NULL writes each line to stderr. */
	http_log_fn access_log;
	void *access_log_arg;
	/* Per-request observation (metrics); NULL for none. */
	http_observe_fn observe;
	void *observe_arg;
};

struct http_server;

/*
 * Starts both listeners. Refuses (ST_ECONFIG with a message in d) plain HTTP
 * on a non-loopback address unless allow_plain_non_loopback, unreadable TLS
 * files, a bad listen address, or a route pattern not ending in '/'.
 * ST_EIO if a socket cannot be bound. Caller owns *out: http_server_free().
 * Block SIGINT/SIGTERM first (http_signals_block) so that the server's
 * threads inherit the mask.
 */
int http_server_start(const struct http_config *cfg, struct http_server **out,
		      struct diag *d);

/* The bound port of a listener (useful with port 0); 0 if none. */
uint16_t http_server_port(const struct http_server *s, enum http_listener_id l);

/*
 * Graceful stop: stops accepting on both listeners, raises the stop flag
 * (streams end), waits up to grace_ms for in-flight requests to finish,
 * then stops the daemons (closing what is left). Idempotent.
 */
void http_server_stop(struct http_server *s, unsigned grace_ms);
/* True once http_server_stop began; streaming callbacks poll it. */
bool http_server_stopping(const struct http_server *s);
/* Requests in flight (both listeners); an open stream is one. */
unsigned http_server_inflight(const struct http_server *s);
/* Requests begun since the start (both listeners), for idle detection. */
uint64_t http_server_requests(const struct http_server *s);
/* Stops (if not yet, with a 5 s grace) and frees. NULL is a no-op. */
void http_server_free(struct http_server *s);

/*
 * Signal handling stays with the caller; these two help. Call
 * http_signals_block() before http_server_start() (it blocks SIGINT,
 * SIGTERM and SIGPIPE in the calling thread, and threads started later
 * inherit that), then http_signals_wait() in the main thread: it returns
 * the number of the SIGINT or SIGTERM received. Then http_server_stop().
 */
int http_signals_block(void);
int http_signals_wait(void);

/*
 * Parses "HOST:PORT": "127.0.0.1:7400", "[::1]:7400", "localhost:7400"
 * ("localhost" only, no DNS), "0.0.0.0:0" (0 = ephemeral port). Fills a
 * sockaddr_in or sockaddr_in6 in ss and
 * *loopback. ST_EINVAL with a message otherwise.
 */
int http_parse_listen(const char *s, struct sockaddr_storage *ss,
		      bool *loopback, struct diag *d);

#endif
