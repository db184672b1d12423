/* strait: the TAXII 2.1 API of a node, as routes for the HTTP core. */
#ifndef STRAIT_TAXII_TAXII_H
#define STRAIT_TAXII_TAXII_H

#include "auth/auth.h"
#include "store/store.h"
#include "taxii/http.h"
#include "taxii/token.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Discovery at /taxii2/, the node's API root at /taxii2/root/ and every
 * endpoint of TAXII 2.1 under it, plus /api/v1/health, the live stream
 * /api/v1/collections/{id}/stream (Server-Sent Events, stream.c) and
 * Prometheus metrics at /metrics (metrics.c). Every read goes
 * through the release decision (src/policy) for the requesting account;
 * paging tokens are positions, never grants (src/taxii/token.h). Bodies
 * of objects are the stored canonical bytes spliced into envelopes.
 * docs/TAXII.md describes the behaviour clients see.
 */

struct taxii_config {
	struct store *store;		/* borrowed */
	struct auth *auth;		/* borrowed */
	struct token_keys *keys;	/* borrowed */
	struct auth_throttle *throttle; /* borrowed */
	const char *node_name;
	const char *node_org;	   /* accounts of this org are "own org" */
	enum tlp default_tlp;	   /* for unmarked objects added over TAXII */
	bool discovery_public;	   /* GET /taxii2/ without credentials */
	size_t max_content_length; /* advertised in the API root */
	unsigned page_default;	   /* objects per page without limit (1000) */
	unsigned page_max;	   /* larger limits are cut to this (10000) */
	unsigned token_ttl_s;	   /* lifetime of a next token (3600) */
	unsigned account_max_requests; /* concurrent requests (32) */
	uint32_t policy_epoch;	       /* bumps invalidate every next token */
	/* Live stream (GET /api/v1/collections/{id}/stream/): */
	unsigned stream_max;	      /* open streams, all accounts (1000) */
	unsigned stream_account_max;  /* open streams per account (8) */
	unsigned stream_heartbeat_ms; /* comment after this silence (15000) */
	/* How long an event id (cursor) can resume: the replay window
	   (86400 s, never more than the paging-key rotation period). */
	unsigned stream_window_s;
	size_t stream_buffer; /* bytes buffered per stream (1 MiB) */
	/* Telemetry matching (POST /api/v1/telemetry): the node's identity
	 * (where sightings are sighted), the collection sightings join, the
	 * aggregation window (3600 s), warninglists (borrowed, may be
	 * NULL). Without an identity or a collection the route answers
	 * 404. */
	const char *node_identity;
	int64_t sightings_cid;
	int64_t sighting_window_s;
	const struct wl_set *warninglists;
	/* Whether hits on an indicator are suppressed here (strait fp),
	 * called with the matcher's lock held; may be NULL. */
	bool (*match_suppressed)(void *ctx, const char *indicator_id);
	void *match_suppressed_ctx;
	/* Federation (borrowed, may be NULL): partner nodes' accounts (role
	 * peer) post through it (attestations, quarantine) and read what
	 * was released to their node; GET /api/v1/node and /api/v1/peers. */
	struct fed *fed;
	/* The audit log (borrowed, may be NULL: then peer and liaison
	 * accounts read nothing, since their reads cannot be recorded):
	 * logins, refused credentials, reads by peer and liaison accounts;
	 * GET /api/v1/audit reads audit_log. */
	struct audit_writer *audit;
	struct audit *audit_log;
	/* The hotline (borrowed, may be NULL: its routes answer 404). */
	struct hl_node *hotline;
	/* Joint incidents (borrowed, may be NULL), and the home their
	 * sharing reads the partners from. */
	struct inc_db *incidents;
	const char *home;
	/* The lookup index (borrowed, may be NULL: GET /api/v1/lookup
	 * answers 404). */
	struct lk_service *lookup;
};

struct taxii;
struct wl_set;
struct fed;
struct audit;
struct audit_writer;
struct hl_node;
struct inc_db;
struct lk_service;

/* Copies cfg (the pointers are borrowed and must outlive the taxii). */
int taxii_new(const struct taxii_config *cfg, struct taxii **out,
	      struct diag *d);
/* NULL is a no-op. */
void taxii_free(struct taxii *t);

/* The route table; handlers expect req->ctx to be this taxii. */
const struct http_route *taxii_routes(const struct taxii *t, size_t *n);

/* The auth hook (http_config.auth) and its release function
 * (http_config.account_release). */
int taxii_authenticate(struct http_request *req, struct http_response *resp);
void taxii_account_release(void *account);

/* The observation hook (http_config.observe, with the taxii as its arg):
 * feeds the counters and histograms that GET /metrics shows. */
void taxii_observe(void *arg, const struct http_route *route, int status,
		   double ms, uint64_t bytes);

/* Stream subscribers open now (metrics, tests). */
unsigned taxii_streams(const struct taxii *t);

#endif
