/*
 * strait: the HTTP server over libmicrohttpd, thread-per-connection.
 *
 * Per connection, a struct http_conn is made when libmicrohttpd accepts it
 * (MHD_OPTION_NOTIFY_CONNECTION) and freed when it closes; it holds the one
 * request in progress on that connection (a connection thread handles its
 * requests one after the other). The raw request target comes from the URI
 * log callback, before libmicrohttpd unescapes it, so the router and the
 * query parser see exactly what the client sent.
 */
#include "taxii/http.h"
#include "taxii/http_int.h"

#include "common/hash.h"
#include "common/log.h"
#include "common/time.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"
#define PEM_MAX (1u << 20)
#define COUNTER_BUCKETS 64
#define LOG_PATH_MAX 256
/* How often a waiting stream looks whether its client went away. */
#define PEER_CHECK_S 0.25

/* Linux reports a peer's shutdown of its sending side (FIN), even with
 * bytes still unread before it, as POLLRDHUP; <poll.h> shows the name
 * only with _GNU_SOURCE, which this project keeps off. The value is the
 * same on every Linux architecture. */
#if defined(__linux__) && !defined(POLLRDHUP)
#define POLLRDHUP 0x2000
#endif
#ifndef POLLRDHUP
#define POLLRDHUP 0
#endif

/* One named counter of per-account concurrent requests. */
struct counter {
	struct counter *next;
	unsigned count;
	char key[];
};

struct listener {
	struct http_server *srv;
	enum http_listener_id id;
	struct MHD_Daemon *daemon;
	MHD_socket quiesced_fd;
	struct http_limits lim;
	const struct http_route *routes;
	size_t n_routes;
	uint16_t port;
	pthread_mutex_t mu; /* counters */
	struct counter *buckets[COUNTER_BUCKETS];
};

struct http_server {
	struct listener main, peer;
	bool has_peer;
	http_auth_fn auth;
	void (*account_release)(void *account);
	void *ctx;
	http_log_fn log;
	void *log_arg;
	http_observe_fn observe;
	void *observe_arg;
	bool tls;
	bool require_client_cert;
	char *cert_pem, *key_pem, *ca_pem;
	size_t key_pem_len;
	atomic_bool stopping;
	bool stopped;
	pthread_mutex_t mu; /* inflight, stop */
	pthread_cond_t cv;
	unsigned inflight;
	uint64_t started; /* requests begun, ever */
};

struct stream {
	struct http_server *srv;
	struct MHD_Connection *mc;
	http_stream_fn fn;
	void *arg;
	void (*free_fn)(void *);
	uint64_t bytes;
	double checked; /* time_mono() of the last peer_gone() */
	bool gone;	/* ended because the client went away */
};

struct http_conn {
	struct listener *l;
	struct MHD_Connection *mc;
	char addr[64];
	bool tls_checked;
	bool has_cert;
	uint8_t fp[32];

	/* The request in progress. */
	bool active;	/* first access-handler call done */
	bool responded; /* a response is queued */
	bool body_over; /* body passed the cap */
	bool expect_body;
	bool pending;	    /* resp holds an answer for the final call */
	uint64_t discarded; /* body bytes dropped past the cap */
	size_t path_len;
	char uri[HTTP_MAX_URI + 1];
	size_t uri_len;
	bool uri_too_long;
	double t0;
	int status;
	uint64_t bytes;
	struct stream *stream; /* the queued stream, until completion */
	char account_name[64];
	char *slots[HTTP_MAX_ACCOUNT_SLOTS];
	size_t n_slots;
	struct http_request req;
	struct http_response resp;
	struct http_match match;
	struct buf body;
};

/* ---- Per-account counters ------------------------------------------------ */

static unsigned key_hash(const char *k)
{
	unsigned h = 2166136261u;
	for (; *k; k++)
		h = (h ^ (unsigned char)*k) * 16777619u;
	return h % COUNTER_BUCKETS;
}

/* Takes a slot if fewer than max are taken: ST_OK, ST_ELIMIT, ST_ENOMEM. */
static int counter_take(struct listener *l, const char *key, unsigned max)
{
	int rc = ST_OK;
	unsigned h = key_hash(key);
	struct counter *c;

	pthread_mutex_lock(&l->mu);
	for (c = l->buckets[h]; c; c = c->next)
		if (strcmp(c->key, key) == 0)
			break;
	if (c == NULL) {
		size_t n = strlen(key);
		c = malloc(sizeof(*c) + n + 1);
		if (c == NULL) {
			rc = ST_ENOMEM;
			goto out;
		}
		memcpy(c->key, key, n + 1);
		c->count = 0;
		c->next = l->buckets[h];
		l->buckets[h] = c;
	}
	if (c->count >= max)
		rc = ST_ELIMIT;
	else
		c->count++;
out:
	pthread_mutex_unlock(&l->mu);
	return rc;
}

static void counter_give(struct listener *l, const char *key)
{
	unsigned h = key_hash(key);

	pthread_mutex_lock(&l->mu);
	for (struct counter **pp = &l->buckets[h]; *pp; pp = &(*pp)->next) {
		struct counter *c = *pp;
		if (strcmp(c->key, key) != 0)
			continue;
		if (c->count > 0)
			c->count--;
		if (c->count == 0) {
			*pp = c->next;
			free(c);
		}
		break;
	}
	pthread_mutex_unlock(&l->mu);
}

unsigned http_account_count(struct http_server *s, enum http_listener_id id,
			    const char *key)
{
	struct listener *l = id == HTTP_LISTENER_PEER ? &s->peer : &s->main;
	unsigned n = 0;

	pthread_mutex_lock(&l->mu);
	for (struct counter *c = l->buckets[key_hash(key)]; c; c = c->next)
		if (strcmp(c->key, key) == 0)
			n = c->count;
	pthread_mutex_unlock(&l->mu);
	return n;
}

int http_account_enter(struct http_request *req, struct http_response *resp,
		       const char *key, unsigned max)
{
	struct http_conn *c = req->impl;
	int rc;

	if (c->n_slots == HTTP_MAX_ACCOUNT_SLOTS) {
		http_error(resp, 503, NULL, "too many concurrency slots");
		return ST_ELIMIT;
	}
	char *k = strdup(key);
	if (k == NULL) {
		http_error(resp, 503, NULL, NULL);
		return ST_ENOMEM;
	}
	rc = counter_take(c->l, key, max);
	if (rc != ST_OK) {
		free(k);
		if (rc == ST_ELIMIT)
			http_error(resp, 429, NULL,
				   "too many concurrent requests for this "
				   "account");
		else
			http_error(resp, 503, NULL, NULL);
		return ST_ELIMIT;
	}
	c->slots[c->n_slots++] = k;
	return ST_OK;
}

void http_account_leave(struct http_request *req, const char *key)
{
	struct http_conn *c = req->impl;

	for (size_t i = 0; i < c->n_slots; i++) {
		if (strcmp(c->slots[i], key) != 0)
			continue;
		counter_give(c->l, key);
		free(c->slots[i]);
		c->slots[i] = c->slots[--c->n_slots];
		return;
	}
}

/* ---- Request accessors --------------------------------------------------- */

const char *http_header(const struct http_request *req, const char *name)
{
	struct http_conn *c = req->impl;
	return MHD_lookup_connection_value(c->mc, MHD_HEADER_KIND, name);
}

const char *http_param(const struct http_request *req, const char *name)
{
	const struct http_match *m = &req->impl->match;
	size_t n = strlen(name);

	for (size_t i = 0; i < m->n_params; i++)
		if (m->name_lens[i] == n && memcmp(m->names[i], name, n) == 0)
			return m->values[i];
	return NULL;
}

void http_request_set_account(struct http_request *req, void *account,
			      const char *name)
{
	struct http_conn *c = req->impl;
	req->account = account;
	snprintf(c->account_name, sizeof(c->account_name), "%s",
		 name ? name : "-");
}

/* ---- The access log ------------------------------------------------------ */

/* Appends s with anything that could break a log line or a parser of it
   (controls, space, quotes, backslash, non-ASCII) percent-escaped. */
static void log_escape(struct buf *b, const char *s, size_t len, size_t max)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (i == max) {
			buf_adds(b, "...");
			return;
		}
		if (ch <= 0x20 || ch >= 0x7f || ch == '"' || ch == '\\' ||
		    ch == '=') {
			char e[3] = {'%', hex[ch >> 4], hex[ch & 15]};
			buf_add(b, e, 3);
		} else {
			buf_addc(b, (char)ch);
		}
	}
}

static const char *end_reason(enum MHD_RequestTerminationCode toe)
{
	switch (toe) {
	case MHD_REQUEST_TERMINATED_COMPLETED_OK:
		return "ok";
	case MHD_REQUEST_TERMINATED_WITH_ERROR:
		return "error";
	case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED:
		return "timeout";
	case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN:
		return "shutdown";
	case MHD_REQUEST_TERMINATED_READ_ERROR:
		return "read-error";
	case MHD_REQUEST_TERMINATED_CLIENT_ABORT:
		return "client-abort";
	default:
		return "unknown";
	}
}

/*
 * One line per request: method, path (never the query string, which may
 * hold a paging token or credentials), status, bytes, milliseconds,
 * account, client address, listener and how it ended.
 */
static void access_log(struct http_conn *c, const char *end)
{
	struct http_server *s = c->l->srv;
	struct buf b = BUF_INIT(1024);
	unsigned m = c->req.method;
	double ms = (time_mono() - c->t0) * 1e3;

	if (s->observe != NULL)
		s->observe(s->observe_arg, c->req.route, c->status, ms,
			   c->bytes);
	buf_adds(&b, "method=");
	buf_adds(&b, m ? http_method_name(m) : "OTHER");
	buf_adds(&b, " path=");
	log_escape(&b, c->uri, c->path_len, LOG_PATH_MAX);
	buf_printf(&b, " status=%d bytes=%llu ms=%.3f account=", c->status,
		   (unsigned long long)c->bytes, ms);
	log_escape(&b, c->account_name, strlen(c->account_name), 64);
	buf_adds(&b, " addr=");
	log_escape(&b, c->addr, strlen(c->addr), 64);
	buf_printf(
	    &b, " listener=%s route=%s end=%s",
	    c->l->id == HTTP_LISTENER_PEER ? "peer" : "main",
	    c->req.route && c->req.route->name ? c->req.route->name : "-", end);
	if (b.data != NULL) {
		if (s->log != NULL) {
			s->log(s->log_arg, b.data, b.len);
		} else {
			buf_addc(&b, '\n');
			/* One write per line: lines from threads never mix. */
			ssize_t w = write(STDERR_FILENO, b.data, b.len);
			(void)w;
		}
	}
	buf_free(&b);
}

/* ---- Request lifecycle --------------------------------------------------- */

static void inflight_add(struct http_server *s, int d)
{
	pthread_mutex_lock(&s->mu);
	if (d > 0) {
		s->inflight++;
		s->started++;
	} else if (s->inflight > 0) {
		s->inflight--;
	}
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

/* Ends the request in progress: log line, slots, memory. */
static void request_end(struct http_conn *c, const char *end)
{
	struct http_server *s = c->l->srv;

	if (!c->active)
		return;
	if (c->stream != NULL) {
		c->bytes = c->stream->bytes;
		if (c->stream->gone)
			end = "client-closed";
		c->stream = NULL;
	}
	access_log(c, end);
	for (size_t i = 0; i < c->n_slots; i++) {
		counter_give(c->l, c->slots[i]);
		free(c->slots[i]);
	}
	c->n_slots = 0;
	if (c->req.account != NULL && s->account_release != NULL)
		s->account_release(c->req.account);
	http_query_free(&c->req.query);
	http_response_release(&c->resp);
	buf_free(&c->body);
	c->active = false;
	c->responded = false;
	c->pending = false;
	c->uri_len = 0;
	c->path_len = 0;
	c->uri[0] = '\0';
	c->uri_too_long = false;
	inflight_add(s, -1);
}

/*
 * Whether the client of a waiting stream closed its connection (or its
 * sending side: a stream's client has nothing more to send). While the
 * callback waits for events the connection's thread is in it, so
 * libmicrohttpd would notice only at the next write (an event, a
 * heartbeat) or at the idle timeout. Never reads: bytes pending on the
 * socket (a pipelined request, TLS records) are left where they are and
 * are not taken as a close. Only a FIN (EOF), a reset or a socket error
 * count, which holds for TLS connections too (their raw socket shows
 * records, never plaintext).
 */
static bool peer_gone(struct MHD_Connection *mc)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci == NULL || ci->connect_fd == MHD_INVALID_SOCKET)
		return false;
	struct pollfd p = {.fd = ci->connect_fd, .events = POLLIN | POLLRDHUP};
	if (poll(&p, 1, 0) <= 0)
		return false;
	if (p.revents & (POLLHUP | POLLERR | POLLRDHUP))
		return true;
	if (!(p.revents & POLLIN))
		return false;
	char ch;
	ssize_t n = recv(ci->connect_fd, &ch, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n == 0)
		return true;
	return n < 0 &&
	       (errno == ECONNRESET || errno == ENOTCONN || errno == EPIPE);
}

static ssize_t stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
	struct stream *st = cls;
	(void)pos;

	for (;;) {
		if (atomic_load(&st->srv->stopping))
			return MHD_CONTENT_READER_END_OF_STREAM;
		double t = time_mono();
		ssize_t n = st->fn(st->arg, out, max);
		if (n > 0) {
			if ((size_t)n > max)
				return MHD_CONTENT_READER_END_WITH_ERROR;
			st->bytes += (uint64_t)n;
			return n;
		}
		if (n == HTTP_STREAM_END)
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (n != 0)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		/* Nothing yet: has the client gone meanwhile? Then end
		   now, which frees the connection, its thread and the
		   request's account slots, instead of at the timeout. */
		double now = time_mono();
		if (now - st->checked >= PEER_CHECK_S) {
			st->checked = now;
			if (peer_gone(st->mc)) {
				st->gone = true;
				return MHD_CONTENT_READER_END_WITH_ERROR;
			}
		}
		/* A callback that returned at once must not make this
		   thread spin. */
		if (time_mono() - t < 0.001) {
			struct timespec ts = {0, 10 * 1000 * 1000};
			nanosleep(&ts, NULL);
		}
	}
}

static void stream_free(void *cls)
{
	struct stream *st = cls;
	if (st->free_fn != NULL)
		st->free_fn(st->arg);
	free(st);
}

/* Hands resp to libmicrohttpd. MHD_NO closes the connection. */
static enum MHD_Result respond(struct http_conn *c)
{
	struct http_response *r = &c->resp;
	struct MHD_Response *mr;
	size_t len = 0;

	if (r->stream != NULL) {
		struct stream *st = calloc(1, sizeof(*st));
		if (st == NULL)
			return MHD_NO;
		st->srv = c->l->srv;
		st->mc = c->mc;
		st->checked = time_mono();
		st->fn = r->stream;
		st->arg = r->stream_arg;
		st->free_fn = r->stream_free;
		r->stream = NULL;
		r->stream_arg = NULL;
		r->stream_free = NULL;
		mr = MHD_create_response_from_callback(
		    MHD_SIZE_UNKNOWN, 16 * 1024, stream_read, st, stream_free);
		if (mr == NULL) {
			stream_free(st);
			return MHD_NO;
		}
		c->stream = st;
	} else {
		char *data = buf_take(&r->body, &len);
		if (data != NULL)
			mr = MHD_create_response_from_buffer(
			    len, data, MHD_RESPMEM_MUST_FREE);
		else
			mr = MHD_create_response_from_buffer(
			    0, (void *)"", MHD_RESPMEM_PERSISTENT);
		if (mr == NULL) {
			free(data);
			return MHD_NO;
		}
	}
	if (r->content_type != NULL)
		MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE,
					r->content_type);
	for (size_t i = 0; i < r->n_headers; i++)
		MHD_add_response_header(mr, r->headers[i].name,
					r->headers[i].value);
	if (atomic_load(&c->l->srv->stopping))
		MHD_add_response_header(mr, MHD_HTTP_HEADER_CONNECTION,
					"close");
	enum MHD_Result ok = MHD_queue_response(c->mc, (unsigned)r->status, mr);
	MHD_destroy_response(mr);
	if (ok != MHD_YES) {
		/* The stream (if any) was freed with the response. */
		c->stream = NULL;
		return MHD_NO;
	}
	c->responded = true;
	c->status = r->status;
	c->bytes = c->req.method == HTTP_HEAD ? 0 : len;
	return MHD_YES;
}

static enum MHD_Result sum_headers(void *cls, enum MHD_ValueKind kind,
				   const char *key, const char *value)
{
	size_t *n = cls;
	(void)kind;
	*n += strlen(key) + (value ? strlen(value) : 0) + 4;
	return MHD_YES;
}

static void tls_peer(struct http_conn *c)
{
	const union MHD_ConnectionInfo *ci;
	gnutls_session_t ses;
	unsigned status = 0, n = 0;
	const gnutls_datum_t *certs;

	c->tls_checked = true;
	ci = MHD_get_connection_info(c->mc, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (ci == NULL || ci->tls_session == NULL)
		return;
	ses = (gnutls_session_t)ci->tls_session;
	if (gnutls_certificate_type_get(ses) != GNUTLS_CRT_X509)
		return;
	certs = gnutls_certificate_get_peers(ses, &n);
	if (certs == NULL || n == 0)
		return;
	/* The chain must verify against the client CA and the certificate
	 * must be meant for clients: a CA-signed server certificate (one with
	 * an extended key usage of serverAuth only) is not a client's. */
	gnutls_typed_vdata_st purpose = {
	    .type = GNUTLS_DT_KEY_PURPOSE_OID,
	    .data = (unsigned char *)GNUTLS_KP_TLS_WWW_CLIENT,
	    .size = 0,
	};
	if (gnutls_certificate_verify_peers(ses, &purpose, 1, &status) != 0 ||
	    status != 0)
		return;
	hash_sha256(certs[0].data, certs[0].size, c->fp);
	c->has_cert = true;
}

static bool has_body(struct http_conn *c, unsigned long long *clen, bool *bad)
{
	const char *cl = MHD_lookup_connection_value(
	    c->mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	const char *te = MHD_lookup_connection_value(
	    c->mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);

	*clen = 0;
	*bad = false;
	if (cl != NULL) {
		char *end;
		errno = 0;
		if (*cl < '0' || *cl > '9')
			*bad = true;
		*clen = strtoull(cl, &end, 10);
		if (errno != 0 || *end != '\0')
			*bad = true;
	}
	return *clen > 0 || te != NULL;
}

/*
 * The checks that come before the body and the handler (see http.h for
 * their order). Returns true to go on reading the body; false once a
 * response is queued (or the connection must close: *rv).
 */
static bool request_begin(struct http_conn *c, const char *method)
{
	struct listener *l = c->l;
	struct http_server *s = l->srv;
	struct http_request *req = &c->req;
	struct http_response *resp = &c->resp;
	struct diag d;

	c->active = true;
	c->responded = false;
	c->pending = false;
	c->body_over = false;
	c->discarded = 0;
	c->status = 0;
	c->bytes = 0;
	c->stream = NULL;
	c->n_slots = 0;
	snprintf(c->account_name, sizeof(c->account_name), "-");
	if (c->t0 == 0)
		c->t0 = time_mono();
	inflight_add(s, +1);

	memset(req, 0, sizeof(*req));
	memset(resp, 0, sizeof(*resp));
	buf_init(&resp->body, l->lim.max_response_body);
	buf_init(&c->body, l->lim.max_content_length);
	resp->status = 200;
	resp->content_type = HTTP_TAXII_CTYPE;
	req->method = http_method_parse(method, strlen(method));
	req->listener = l->id;
	req->ctx = s->ctx;
	req->server = s;
	req->impl = c;
	req->tls = s->tls;
	memcpy(req->client_addr, c->addr, sizeof(req->client_addr));
	if (!c->tls_checked && s->tls)
		tls_peer(c);
	if (c->has_cert) {
		static const char hex[] = "0123456789abcdef";
		req->client_cert = true;
		memcpy(req->client_cert_sha256, c->fp, 32);
		for (int i = 0; i < 32; i++) {
			req->client_cert_hex[2 * i] = hex[c->fp[i] >> 4];
			req->client_cert_hex[2 * i + 1] = hex[c->fp[i] & 15];
		}
	}

	unsigned long long clen;
	bool bad_len;
	c->expect_body = has_body(c, &clen, &bad_len);

	if (c->uri_too_long || c->uri_len == 0) {
		http_error(resp, 414, NULL, NULL);
		return false;
	}
	const char *q = memchr(c->uri, '?', c->uri_len);
	size_t plen = q ? (size_t)(q - c->uri) : c->uri_len;
	c->uri[plen] = '\0'; /* the path; the query starts at plen + 1 */
	c->path_len = plen;
	req->path = c->uri;

	size_t hbytes = 0;
	MHD_get_connection_values(c->mc, MHD_HEADER_KIND, sum_headers, &hbytes);
	if (hbytes > l->lim.max_header_bytes) {
		http_error(resp, 431, NULL, NULL);
		return false;
	}
	if (s->require_client_cert && !c->has_cert) {
		http_error(resp, 403, NULL, "a client certificate is required");
		return false;
	}

	switch (http_route_match(l->routes, l->n_routes, req->method, c->uri,
				 plen, &c->match)) {
	case HTTP_MATCH_OK:
		break;
	case HTTP_MATCH_NOT_FOUND:
		http_error(resp, 404, NULL, NULL);
		return false;
	case HTTP_MATCH_BAD_REQUEST:
		http_error(resp, 400, NULL, "malformed request path");
		return false;
	case HTTP_MATCH_BAD_METHOD: {
		char allow[96];
		http_allow_string(c->match.allow, allow, sizeof(allow));
		http_error(resp, 405, NULL, NULL);
		http_response_header(resp, "Allow", allow);
		return false;
	}
	}
	req->route = c->match.route;

	if (q != NULL &&
	    http_query_parse(q + 1, c->uri_len - plen - 1,
			     l->lim.query_max_params, l->lim.query_max_value,
			     &req->query, &d) != ST_OK) {
		http_error(resp, 400, NULL, d.msg);
		return false;
	}

	unsigned flags = req->route->flags;
	if ((flags & HTTP_ROUTE_AUTH) && !(flags & HTTP_ROUTE_PUBLIC)) {
		int rc = ST_EINVAL;
		if (s->auth != NULL)
			rc = s->auth(req, resp);
		if (rc != ST_OK) {
			if (resp->status < 400)
				http_error(resp, 401, NULL,
					   "authentication required");
			return false;
		}
	}

	if (bad_len) {
		http_error(resp, 400, NULL, "malformed Content-Length");
		return false;
	}
	if (flags & HTTP_ROUTE_TAXII) {
		const char *acc = http_header(req, MHD_HTTP_HEADER_ACCEPT);
		if (!http_accepts(acc, acc ? strlen(acc) : 0, HTTP_TAXII_TYPE,
				  HTTP_TAXII_VERSION)) {
			http_error(resp, 406, NULL,
				   "the response is " HTTP_TAXII_CTYPE);
			return false;
		}
		const char *ct = http_header(req, MHD_HTTP_HEADER_CONTENT_TYPE);
		if ((c->expect_body ||
		     (req->method & (HTTP_POST | HTTP_PUT | HTTP_PATCH))) &&
		    !http_content_type_is(ct, ct ? strlen(ct) : 0,
					  HTTP_TAXII_TYPE,
					  HTTP_TAXII_VERSION)) {
			http_error(
			    resp, 415, NULL,
			    "the request body must be " HTTP_TAXII_CTYPE);
			return false;
		}
	}
	if (clen > l->lim.max_content_length) {
		http_error(resp, 413, NULL,
			   "the request body is over max_content_length");
		return false;
	}
	/* Authenticated and within the limit: room for the body it
	 * announced, at once (growing it by doubling copied a partner's
	 * envelopes of megabytes several times). A body that turns out
	 * shorter wastes the rest until the request ends; a failure here
	 * only means growing as it comes. Never for a route open to anyone:
	 * memory is taken only for the bytes that arrive there. */
	bool authed = (flags & HTTP_ROUTE_AUTH) && !(flags & HTTP_ROUTE_PUBLIC);
	if (clen > 0 && authed)
		(void)buf_reserve(&c->body, (size_t)clen);
	return true;
}

static enum MHD_Result dispatch(struct http_conn *c)
{
	struct http_request *req = &c->req;
	struct http_response *resp = &c->resp;

	req->body = c->body.data;
	req->body_len = c->body.len;
	int rc = req->route->handler(req, resp);
	if (rc != ST_OK && resp->status < 400) {
		if (http_status_from_err(rc) == 500)
			log_error("http", "%s %s: handler failed: %s",
				  http_method_name(req->method),
				  req->route->pattern, st_strerror(rc));
		http_error_from(resp, rc, NULL);
	}
	if (resp->status < 100 || resp->status > 599) {
		log_error("http", "%s: handler set status %d",
			  req->route->pattern, resp->status);
		http_error(resp, 500, NULL, NULL);
	}
	return respond(c);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *mc,
				  const char *url, const char *method,
				  const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct listener *l = cls;
	const union MHD_ConnectionInfo *ci;
	struct http_conn *c;
	(void)url;
	(void)version;

	ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	c = ci ? ci->socket_context : NULL;
	if (c == NULL)
		return MHD_NO;
	if (*con_cls == NULL) {
		*con_cls = c;
		if (request_begin(c, method))
			return MHD_YES;
		/* Refused before the body. With a body coming, answer now:
		   libmicrohttpd then sends the answer without reading the body
		   and closes. Without one, answer in the final call so the
		   connection stays open for the next request. */
		if (c->expect_body)
			return respond(c);
		c->pending = true;
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (c->pending || c->responded)
			return MHD_YES;
		if (!c->body_over &&
		    buf_add(&c->body, upload_data, n) != ST_OK) {
			/* libmicrohttpd 0.9.75 cannot queue a response while a
			   body is being received, so the rest is read and
			   dropped (memory stays at the cap) and 413 answered at
			   its end. Past the cap plus as much again (at least
			   1 MiB) the connection is closed. */
			c->body_over = true;
			buf_free(&c->body);
		}
		if (c->body_over) {
			c->discarded += n;
			size_t slack = l->lim.max_content_length;
			if (slack < (1u << 20))
				slack = 1u << 20;
			if (c->discarded > slack)
				return MHD_NO;
		}
		return MHD_YES;
	}
	if (c->responded)
		return MHD_YES;
	if (c->pending)
		return respond(c);
	if (c->body_over) {
		http_error(&c->resp, 413, NULL,
			   "the request body is over max_content_length");
		return respond(c);
	}
	return dispatch(c);
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *mc)
{
	const union MHD_ConnectionInfo *ci;
	struct http_conn *c;
	(void)cls;

	ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	c = ci ? ci->socket_context : NULL;
	if (c == NULL)
		return NULL;
	size_t n = strlen(uri);
	c->t0 = time_mono();
	c->uri_too_long = n > HTTP_MAX_URI;
	c->uri_len = c->uri_too_long ? 0 : n;
	memcpy(c->uri, uri, c->uri_len);
	c->uri[c->uri_len] = '\0';
	return NULL;
}

static void on_completed(void *cls, struct MHD_Connection *mc, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http_conn *c = *con_cls;
	(void)cls;
	(void)mc;
	if (c != NULL)
		request_end(c, end_reason(toe));
	*con_cls = NULL;
}

static void on_connection(void *cls, struct MHD_Connection *mc,
			  void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	struct listener *l = cls;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		struct http_conn *c = calloc(1, sizeof(*c));
		*socket_context = c;
		if (c == NULL)
			return;
		c->l = l;
		c->mc = mc;
		snprintf(c->addr, sizeof(c->addr), "-");
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
		    mc, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		if (ci != NULL && ci->client_addr != NULL) {
			/* Copied out: the address MHD hands over is not
			   aligned for sockaddr_in6 as far as the type says. */
			struct sockaddr_storage ss;
			memcpy(&ss, ci->client_addr,
			       ci->client_addr->sa_family == AF_INET6
				   ? sizeof(struct sockaddr_in6)
				   : sizeof(struct sockaddr_in));
			if (ss.ss_family == AF_INET)
				inet_ntop(
				    AF_INET,
				    &((struct sockaddr_in *)&ss)->sin_addr,
				    c->addr, sizeof(c->addr));
			else if (ss.ss_family == AF_INET6)
				inet_ntop(
				    AF_INET6,
				    &((struct sockaddr_in6 *)&ss)->sin6_addr,
				    c->addr, sizeof(c->addr));
		}
		return;
	}
	struct http_conn *c = *socket_context;
	if (c != NULL) {
		request_end(c, "closed");
		free(c);
	}
	*socket_context = NULL;
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	size_t n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	log_warn("http", "libmicrohttpd: %s", msg);
}
#pragma GCC diagnostic pop

/* ---- Start and stop ------------------------------------------------------ */

static void limits_default(struct http_limits *l)
{
	if (l->max_connections == 0)
		l->max_connections = 256;
	if (l->per_ip_connections == 0)
		l->per_ip_connections = 32;
	if (l->connection_timeout_s == 0)
		l->connection_timeout_s = 30;
	if (l->thread_stack == 0)
		l->thread_stack = 512 * 1024;
	if (l->connection_memory == 0)
		l->connection_memory = 64 * 1024;
	if (l->max_header_bytes == 0)
		l->max_header_bytes = 16 * 1024;
	if (l->max_content_length == 0)
		l->max_content_length = 10u << 20;
	if (l->max_response_body == 0)
		l->max_response_body = 64u << 20;
	if (l->query_max_params == 0)
		l->query_max_params = 32;
	if (l->query_max_value == 0)
		l->query_max_value = 2048;
	if (l->stream_block_ms == 0)
		l->stream_block_ms = 500;
}

static int read_pem(const char *path, char **out, size_t *len, struct diag *d)
{
	int rc = ST_OK;
	FILE *f = fopen(path, "rb");
	struct buf b = BUF_INIT(PEM_MAX);
	char chunk[4096];
	size_t n;

	*out = NULL;
	if (f == NULL)
		return diag_set(d, ST_ECONFIG, "%s: %s", path, strerror(errno));
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (buf_add(&b, chunk, n) != ST_OK) {
			rc = diag_set(d, ST_ECONFIG, "%s: larger than %u bytes",
				      path, PEM_MAX);
			goto out;
		}
	if (ferror(f) || b.len == 0) {
		rc = diag_set(d, ST_ECONFIG, "%s: empty or unreadable", path);
		goto out;
	}
	*out = buf_take(&b, len);
out:
	sodium_memzero(chunk, sizeof(chunk));
	if (b.data != NULL)
		sodium_memzero(b.data, b.len);
	buf_free(&b);
	fclose(f);
	return rc;
}

static bool routes_ok(const struct http_route *r, size_t n, struct diag *d)
{
	for (size_t i = 0; i < n; i++) {
		size_t len = r[i].pattern ? strlen(r[i].pattern) : 0;
		if (len == 0 || r[i].pattern[0] != '/' ||
		    r[i].pattern[len - 1] != '/' || r[i].handler == NULL) {
			diag_set(d, ST_ECONFIG,
				 "route %zu ('%s'): a pattern must start and "
				 "end with '/' and have a handler",
				 i, r[i].pattern ? r[i].pattern : "");
			return false;
		}
	}
	return true;
}

static int listener_start(struct http_server *s, struct listener *l,
			  enum http_listener_id id,
			  const struct http_listener_config *lc,
			  const struct http_config *cfg,
			  bool allow_plain_non_loopback, struct diag *d)
{
	struct sockaddr_storage ss;
	bool loopback;
	int rc;

	l->srv = s;
	l->id = id;
	l->quiesced_fd = MHD_INVALID_SOCKET;
	l->lim = lc->limits;
	limits_default(&l->lim);
	l->routes = lc->routes ? lc->routes : cfg->routes;
	l->n_routes = lc->routes ? lc->n_routes : cfg->n_routes;
	if (!routes_ok(l->routes, l->n_routes, d))
		return ST_ECONFIG;
	rc = http_parse_listen(lc->listen, &ss, &loopback, d);
	if (rc != ST_OK)
		return ST_ECONFIG;
	if (!s->tls && !loopback && !allow_plain_non_loopback)
		return diag_set(d, ST_ECONFIG,
				"refusing plain HTTP on non-loopback address "
				"%s: configure TLS (--tls-cert and --tls-key) "
				"or force plain HTTP with --allow-plain",
				lc->listen);

	unsigned flags = MHD_USE_THREAD_PER_CONNECTION |
			 MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
			 MHD_USE_ITC | MHD_USE_ERROR_LOG;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	struct MHD_OptionItem tls[6];
	size_t nt = 0;
	if (s->tls) {
		flags |= MHD_USE_TLS;
		tls[nt++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT,
						    0, s->cert_pem};
		tls[nt++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0,
						    s->key_pem};
		tls[nt++] = (struct MHD_OptionItem){
		    MHD_OPTION_HTTPS_PRIORITIES, 0,
		    (void *)(cfg->tls.priorities ? cfg->tls.priorities
						 : DEFAULT_PRIORITIES)};
		if (s->ca_pem != NULL)
			tls[nt++] = (struct MHD_OptionItem){
			    MHD_OPTION_HTTPS_MEM_TRUST, 0, s->ca_pem};
	}
	tls[nt++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};

	l->daemon = MHD_start_daemon(
	    flags, 0, NULL, NULL, on_request, l, MHD_OPTION_EXTERNAL_LOGGER,
	    on_mhd_log, l, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_CONNECTION_LIMIT, l->lim.max_connections,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, l->lim.per_ip_connections,
	    MHD_OPTION_CONNECTION_TIMEOUT, l->lim.connection_timeout_s,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, l->lim.connection_memory,
	    MHD_OPTION_THREAD_STACK_SIZE, l->lim.thread_stack,
	    MHD_OPTION_URI_LOG_CALLBACK, on_uri, l, MHD_OPTION_NOTIFY_COMPLETED,
	    on_completed, l, MHD_OPTION_NOTIFY_CONNECTION, on_connection, l,
	    MHD_OPTION_ARRAY, tls, MHD_OPTION_END);
	if (l->daemon == NULL)
		return diag_set(d, ST_EIO,
				"cannot listen on %s (address in use, no "
				"permission, or bad TLS credentials)",
				lc->listen);
	const union MHD_DaemonInfo *di =
	    MHD_get_daemon_info(l->daemon, MHD_DAEMON_INFO_BIND_PORT);
	l->port = di ? di->port : 0;
	return ST_OK;
}

int http_server_start(const struct http_config *cfg, struct http_server **out,
		      struct diag *d)
{
	struct http_server *s;
	int rc = ST_OK;
	size_t n;

	*out = NULL;
	if (cfg->main.listen == NULL)
		return diag_set(d, ST_ECONFIG, "no listen address");
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return diag_set(d, ST_ENOMEM, "out of memory");
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	pthread_mutex_init(&s->main.mu, NULL);
	pthread_mutex_init(&s->peer.mu, NULL);
	s->main.quiesced_fd = MHD_INVALID_SOCKET;
	s->peer.quiesced_fd = MHD_INVALID_SOCKET;
	atomic_init(&s->stopping, false);
	s->auth = cfg->auth;
	s->account_release = cfg->account_release;
	s->ctx = cfg->ctx;
	s->log = cfg->access_log;
	s->log_arg = cfg->access_log_arg;
	s->observe = cfg->observe;
	s->observe_arg = cfg->observe_arg;

	if (cfg->tls.cert_file != NULL || cfg->tls.key_file != NULL) {
		if (cfg->tls.cert_file == NULL || cfg->tls.key_file == NULL) {
			rc = diag_set(d, ST_ECONFIG,
				      "TLS needs both a certificate and a key");
			goto out;
		}
		s->tls = true;
		if ((rc = read_pem(cfg->tls.cert_file, &s->cert_pem, &n, d)) ||
		    (rc = read_pem(cfg->tls.key_file, &s->key_pem,
				   &s->key_pem_len, d)))
			goto out;
		if (cfg->tls.client_ca_file != NULL &&
		    (rc = read_pem(cfg->tls.client_ca_file, &s->ca_pem, &n, d)))
			goto out;
		s->require_client_cert = cfg->tls.require_client_cert;
		if (s->require_client_cert && s->ca_pem == NULL) {
			rc = diag_set(d, ST_ECONFIG,
				      "requiring client certificates needs a "
				      "client CA");
			goto out;
		}
	} else if (cfg->tls.client_ca_file != NULL ||
		   cfg->tls.require_client_cert) {
		rc = diag_set(d, ST_ECONFIG,
			      "client certificates need TLS (a certificate "
			      "and a key)");
		goto out;
	}

	rc = listener_start(s, &s->main, HTTP_LISTENER_MAIN, &cfg->main, cfg,
			    cfg->allow_plain_non_loopback, d);
	if (rc != ST_OK) {
		diag_prefix(d, "listen");
		goto out;
	}
	if (cfg->peer.listen != NULL) {
		rc = listener_start(s, &s->peer, HTTP_LISTENER_PEER, &cfg->peer,
				    cfg, cfg->allow_plain_non_loopback, d);
		if (rc != ST_OK) {
			diag_prefix(d, "peer listen");
			goto out;
		}
		s->has_peer = true;
	}
	log_info("http", "listening on port %u%s (thread-per-connection)",
		 s->main.port, s->tls ? " with TLS" : "");
out:
	if (rc != ST_OK) {
		http_server_free(s);
		return rc;
	}
	*out = s;
	return ST_OK;
}

uint16_t http_server_port(const struct http_server *s, enum http_listener_id l)
{
	if (s == NULL)
		return 0;
	if (l == HTTP_LISTENER_PEER)
		return s->has_peer ? s->peer.port : 0;
	return s->main.port;
}

bool http_server_stopping(const struct http_server *s)
{
	return atomic_load(&s->stopping);
}

uint64_t http_server_requests(const struct http_server *s)
{
	struct http_server *m = (struct http_server *)s;
	pthread_mutex_lock(&m->mu);
	uint64_t n = m->started;
	pthread_mutex_unlock(&m->mu);
	return n;
}

unsigned http_server_inflight(const struct http_server *s)
{
	struct http_server *m = (struct http_server *)s;
	pthread_mutex_lock(&m->mu);
	unsigned n = m->inflight;
	pthread_mutex_unlock(&m->mu);
	return n;
}

void http_server_stop(struct http_server *s, unsigned grace_ms)
{
	struct listener *ls[2] = {&s->main, &s->peer};
	struct timespec dl;

	pthread_mutex_lock(&s->mu);
	if (s->stopped) {
		pthread_mutex_unlock(&s->mu);
		return;
	}
	s->stopped = true;
	pthread_mutex_unlock(&s->mu);

	atomic_store(&s->stopping, true);
	for (int i = 0; i < 2; i++)
		if (ls[i]->daemon != NULL)
			ls[i]->quiesced_fd = MHD_quiesce_daemon(ls[i]->daemon);

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += grace_ms / 1000;
	dl.tv_nsec += (long)(grace_ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&s->mu);
	while (s->inflight > 0)
		if (pthread_cond_timedwait(&s->cv, &s->mu, &dl) != 0)
			break;
	unsigned left = s->inflight;
	pthread_mutex_unlock(&s->mu);
	if (left > 0)
		log_warn("http", "stopping with %u request(s) still running",
			 left);

	for (int i = 0; i < 2; i++) {
		if (ls[i]->daemon != NULL) {
			MHD_stop_daemon(ls[i]->daemon);
			ls[i]->daemon = NULL;
		}
		if (ls[i]->quiesced_fd != MHD_INVALID_SOCKET) {
			close(ls[i]->quiesced_fd);
			ls[i]->quiesced_fd = MHD_INVALID_SOCKET;
		}
	}
}

static void free_pem(char *p)
{
	if (p != NULL) {
		sodium_memzero(p, strlen(p));
		free(p);
	}
}

void http_server_free(struct http_server *s)
{
	if (s == NULL)
		return;
	http_server_stop(s, 5000);
	struct listener *ls[2] = {&s->main, &s->peer};
	for (int i = 0; i < 2; i++) {
		for (int b = 0; b < COUNTER_BUCKETS; b++) {
			struct counter *c = ls[i]->buckets[b], *next;
			for (; c; c = next) {
				next = c->next;
				free(c);
			}
		}
		pthread_mutex_destroy(&ls[i]->mu);
	}
	free_pem(s->cert_pem);
	free_pem(s->key_pem);
	free_pem(s->ca_pem);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

/* ---- Signals ------------------------------------------------------------- */

int http_signals_block(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGPIPE);
	return pthread_sigmask(SIG_BLOCK, &set, NULL) == 0 ? ST_OK : ST_EINVAL;
}

int http_signals_wait(void)
{
	sigset_t set;
	int sig = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	while (sigwait(&set, &sig) != 0)
		;
	return sig;
}
