/* strait: the TAXII client of one sender (private to src/federation). */
#ifndef STRAIT_FEDERATION_CLIENT_H
#define STRAIT_FEDERATION_CLIENT_H

#include "common/buf.h"
#include "common/err.h"
#include "common/time.h"
#include "federation/peers.h"

#include <stddef.h>

#define FC_MAX_COLLECTIONS 256

struct fed_client {
	struct peer peer;
	char origin[PEER_URL_MAX]; /* scheme://host:port of peer.url */
	char api_root[PEER_URL_MAX + 128];
	char inbox[PEER_URL_MAX + 256]; /* objects URL we push to, "" none */
	char (*readable)[37];		/* collection ids we may read */
	size_t nreadable;
	size_t max_response;
	unsigned timeout_ms;
	void *h;    /* CURL * */
	void *hdrs; /* struct curl_slist *: Authorization, Accept */
};

struct fc_response {
	struct buf body; /* the caller inits it (any max; the cap is given
			    per request) */
	long status;
	st_time date;	    /* the partner's Date header, 0 when absent */
	st_time added_last; /* X-TAXII-Date-Added-Last, 0 when absent */
};

/* Prepares a client for peer with the token (kept only inside the
 * client's header list, wiped by fc_close). */
int fc_open(struct fed_client *c, const struct peer *p, const char *token,
	    size_t max_response, unsigned timeout_ms, struct diag *d);
void fc_close(struct fed_client *c);
/* One request to a URL on the peer's origin; body NULL for GET. max
 * caps the response (0: the client's max_response). ST_OK with
 * r->status for any HTTP answer but a redirect (ST_EAUTH). */
int fc_request(struct fed_client *c, const char *method, const char *url,
	       const char *body, size_t body_len, size_t max,
	       struct fc_response *r, struct diag *d);
/* Discovery, API root, collections: fills api_root, inbox, readable. */
int fc_discover(struct fed_client *c, struct diag *d);
/* The partner's identity from its /api/v1/node, after checking that the
 * public key it publishes is the configured one. */
int fc_node(struct fed_client *c, char *identity, size_t cap, struct diag *d);

#endif
