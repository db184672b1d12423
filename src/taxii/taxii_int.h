/*
 * strait: what taxii.c, stream.c and metrics.c share; not part of the
 * contract (other modules include taxii/taxii.h only). The pure helpers at
 * the end are declared here so the unit tests can reach them.
 */
#ifndef STRAIT_TAXII_TAXII_INT_H
#define STRAIT_TAXII_TAXII_INT_H

#include "common/buf.h"
#include "common/json.h"
#include "federation/fed.h"
#include "taxii/taxii.h"

struct match_engine;

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TAXII_MAX_ROUTES 40

struct metrics;
struct stream_cache;

struct taxii {
	struct taxii_config cfg;
	char node_name[128];
	char node_org[128];
	uint8_t incarnation[16];
	char incarnation_str[37];
	struct http_route routes[TAXII_MAX_ROUTES];
	size_t n_routes;
	struct metrics *metrics;
	atomic_uint streams;		     /* open stream subscribers */
	atomic_uint_fast64_t stream_events;  /* events sent, all streams */
	atomic_uint_fast64_t stream_revoked; /* streams ended by auth */
	double started;			     /* process start, unix seconds */
	struct stream_cache *scache;	     /* pages shared by subscribers */
	/* Telemetry matching (telemetry_api.c): built on the first post,
	 * one request at a time. */
	pthread_mutex_t match_mu;
	struct match_engine *match;
	double match_refreshed; /* time_mono() of the last refresh */
	char node_identity[128];
	/* Logins recorded in the audit log (audit_api.c). */
	pthread_mutex_t logins_mu;
	struct login_seen *logins;
};

/* ---- Glue from taxii.c -------------------------------------------------- */

/*
 * The collection of the request ({id}) and the account's access to it: no
 * access at all is a 404 (the collection's existence is not revealed), some
 * access but not `need` a 403. ST_OK, or an error with resp filled.
 */
int taxii_collection_for(struct http_request *req, struct http_response *resp,
			 unsigned need, struct store_collection *c,
			 enum auth_access *access);
/* The release decision as a store_visible_fn; ctx is a struct audience. */
bool taxii_visible(void *ctx, const struct store_row *row);

/* The release decision for the requesting account, the one every read
 * path applies: a peer or liaison account sees what was released to its
 * partner (taxii_partner_view), any other account the local rules. */
struct taxii_viewer {
	struct audience aud;
	struct fed *fed;
	const char *peer; /* the partner whose view it is, or NULL */
};
void taxii_viewer_init(struct http_request *req, struct taxii_viewer *v);
/* A store_visible_fn; ctx is a struct taxii_viewer. */
bool taxii_viewer_visible(void *ctx, const struct store_row *row);

/* ---- The audit log and partner views (audit_api.c) ---------------------- */

/* Credentials whose last login record is remembered. */
#define TAXII_LOGIN_SLOTS 1024
int taxii_logins_init(struct taxii *t);
void taxii_logins_free(struct taxii *t);

/*
 * Whose release decision governs what the account sees: a peer account
 * sees what the decision gives its partner node (the peer of the same
 * name), a liaison officer what it gives the partner named by the
 * account's organisation; both through the same materialised decision.
 * NULL for every other account (the local rules apply) and on a node
 * without federation (then peer and liaison accounts see nothing: their
 * role ceiling admits nothing).
 */
const char *taxii_partner_view(const struct taxii *t,
			       const struct auth_account *a);
/* "role:name", the actor of the account's audit events. */
void taxii_actor(const struct auth_account *a, char *out, size_t cap);
/* Queued login records (see audit_api.c). */
void taxii_audit_login(struct taxii *t, const struct http_request *req,
		       const struct auth_account *a);
void taxii_audit_login_failed(struct taxii *t, const struct http_request *req,
			      const char *user, bool basic, unsigned blocked_s);
/* Records a read of n versions by a peer or liaison account and waits
 * for the disk. ST_OK, or ST_ECLOSED with d saying the read is refused. */
int taxii_audit_read(struct taxii *t, const struct auth_account *a,
		     const char *path, const char *coll_id,
		     const struct fed_page_item *items, size_t n,
		     struct diag *d);
/* GET /api/v1/audit (audit_api.c). */
int taxii_h_audit(struct http_request *req, struct http_response *resp);
/* POST and GET /api/v1/audit/witness: a partner publishes its audit heads
 * here, and reads back those this node keeps for it (audit_api.c). */
int taxii_h_witness(struct http_request *req, struct http_response *resp);

/* ---- The hotline (hotline_api.c) ---------------------------------------- */

int taxii_h_hotline_relay(struct http_request *req, struct http_response *resp);
int taxii_h_contacts(struct http_request *req, struct http_response *resp);
int taxii_h_hotline_status(struct http_request *req,
			   struct http_response *resp);
int taxii_h_hotline_events(struct http_request *req,
			   struct http_response *resp);
int taxii_h_hotline_submit(struct http_request *req,
			   struct http_response *resp);
int taxii_h_hotline_inbox(struct http_request *req, struct http_response *resp);
int taxii_h_hotline_receipt(struct http_request *req,
			    struct http_response *resp);

/* ---- Joint incidents (incident_api.c) ----------------------------------- */

int taxii_h_incidents(struct http_request *req, struct http_response *resp);
int taxii_h_incident_entry(struct http_request *req,
			   struct http_response *resp);

/* ---- Lookup (lookup_api.c) ---------------------------------------------- */

int taxii_h_lookup(struct http_request *req, struct http_response *resp);
int taxii_h_search(struct http_request *req, struct http_response *resp);

/* ---- The MISP feed (misp_feed_api.c) ------------------------------------ */

int taxii_h_misp_feed(struct http_request *req, struct http_response *resp);

/* ---- Handlers in their own files ---------------------------------------- */

/* GET /api/v1/collections/{id}/stream/ (stream.c). */
int taxii_h_stream(struct http_request *req, struct http_response *resp);
/* The shared page cache of the streams (stream.c): NULL when out of
 * memory. Freed after every stream has ended. */
struct stream_cache *stream_cache_new(void);
void stream_cache_free(struct stream_cache *c);
/* POST /api/v1/telemetry (telemetry_api.c). */
int taxii_h_telemetry(struct http_request *req, struct http_response *resp);
/* GET /metrics (metrics.c). */
int taxii_h_metrics(struct http_request *req, struct http_response *resp);

/* ---- Federation (fed_api.c) --------------------------------------------- */

/* GET /api/v1/node: the node's identity and public keys (any account: a
 * partner checks the key it was given out of band against it). */
int taxii_h_node(struct http_request *req, struct http_response *resp);
/* GET /api/v1/peers: per-peer replication state (admin, auditor). */
int taxii_h_peers(struct http_request *req, struct http_response *resp);
/* TAXII Add Objects by a partner node's account: fed_receive, then the
 * TAXII status (quarantined objects are failures with the reason). */
struct fed_elem;
/* Answers an Add Objects with its status resource (202), kept as sent:
 * ok and bad hold the JSON arrays of successes and failures. */
int taxii_status_reply(struct taxii *t, struct http_response *resp,
		       int64_t owner, size_t total, size_t n_ok,
		       const struct buf *ok, size_t n_bad,
		       const struct buf *bad, struct diag *d);
int taxii_fed_post(struct http_request *req, struct http_response *resp,
		   const struct store_collection *c,
		   const struct fed_elem *elems, size_t n);

/*
 * The rows of a page served to a peer or liaison account: the read is
 * recorded in the audit log (and refused when it cannot be), the rows are
 * recorded as released to the partner, and a peer's object pages are
 * followed by their attestations.
 */
struct taxii_fed_page {
	const struct auth_account *acct; /* the reader */
	const char *peer; /* the partner whose view it is; NULL: another
			     account's page, nothing to record */
	const char *path; /* "taxii", "stream" (the audit's), and the
			     release record's: that, or "liaison" */
	const char *coll; /* the collection's id */
	bool attest;
	struct fed_page_item *items;
	size_t n, cap;
	struct buf bytes; /* ids and bodies of the items */
};
/* acct: the account reading (any role: only peer and liaison accounts
 * are recorded); attest: a peer's object page gets attestations. */
void taxii_fed_page_init(struct taxii_fed_page *p, const struct taxii *t,
			 const struct auth_account *acct, const char *path,
			 const char *coll, bool attest);
/* Inside the store's callback: copies the row (no I/O). */
int taxii_fed_page_add(struct taxii_fed_page *p, const struct store_row *row);
/* After the page: records the read in the audit log (ST_ECLOSED when it
 * cannot: the caller then refuses it), appends the attestations to the
 * objects array of w (may be NULL without attestations) and records the
 * release. A no-op when p->peer is NULL. */
int taxii_fed_page_finish(struct taxii_fed_page *p, struct taxii *t,
			  struct jw *w, struct diag *d);
void taxii_fed_page_free(struct taxii_fed_page *p);

/* ---- Server-Sent Events (pure; stream.c) -------------------------------- */

/* Bytes of the fixed part of an object event around its data and id. */
#define SSE_EVENT_HEAD "event: object\ndata: "

/*
 * Appends data to an SSE "data:" field: bytes are copied as they are,
 * except that each line break (CR, LF or CRLF) becomes "\ndata: ", so the
 * data can never end the event or start another field. *cr carries "the
 * last byte was a CR" across pieces of one value (start with false).
 * ST_OK or ST_ELIMIT (b's cap).
 */
int sse_data_append(struct buf *b, const char *p, size_t n, bool *cr);
/* What sse_data_append adds for p (same rules), without the state of an
 * earlier piece. */
size_t sse_data_len(const char *p, size_t n);
/*
 * Appends a whole object event: "id: <id>\nevent: object\ndata: <data>\n\n".
 * id must be free of CR and LF (cursors are base64url). ST_OK, ST_EINVAL
 * for an id with a line break, ST_ELIMIT (nothing is appended then).
 */
int sse_event_append(struct buf *b, const char *id, const char *data, size_t n);
/* ": <text>\n\n" (a comment: clients ignore it; heartbeats). text must be
 * free of CR and LF (ST_EINVAL). */
int sse_comment_append(struct buf *b, const char *text);

/* ---- Metrics (metrics.c) ------------------------------------------------ */

/*
 * Counters of requests by route and status, and latency histograms by
 * route, all atomics: metrics_observe never takes a lock. Routes are known
 * up front (the route table): one slot per row, plus one for requests that
 * matched none.
 */
struct metrics *metrics_new(const struct http_route *routes, size_t n);
void metrics_free(struct metrics *m);
/* Records one finished request (an http_observe_fn minus its arg). Stream
 * routes are counted but kept out of the latency histogram (their time is
 * the subscription's life, not a latency). */
void metrics_observe(struct metrics *m, const struct http_route *route,
		     int status, double ms);

/* Values read at scrape time, outside the atomics. */
struct metrics_gauges {
	uint64_t store_versions, store_objects, store_bytes;
	uint64_t streams, stream_events, stream_revoked;
	uint64_t rss_bytes; /* 0: unknown, not printed */
	double start_time;  /* unix seconds */
};

/* The Prometheus text exposition (format 0.0.4) of m and g into out. */
int metrics_render(struct metrics *m, const struct metrics_gauges *g,
		   struct buf *out);
/* Appends s as the inside of a label value: backslash, double quote and
 * line feed escaped as the format requires. */
int metrics_label_append(struct buf *out, const char *s);
/* Resident set size of this process from /proc/self/statm; 0 if unknown. */
uint64_t metrics_rss_bytes(void);
/* When this process started (unix seconds), from /proc; now if unknown. */
double metrics_process_start(void);

#endif
