/*
 * strait: hotline messages and receipts as they travel, and what their
 * signatures cover.
 *
 * A principal is addressed across nodes as "<node identity>/<account>",
 * e.g. "identity--6c1a.../tanaka": every node names its partners
 * differently, their identities are the same everywhere.
 *
 * A message is a header, a signature and one sealed copy of the body per
 * reader (each recipient and each member of its escalation chain). The
 * sender's Ed25519 key signs the header, which holds the SHA-256 of the
 * plaintext body, so the channel, the recipients, the type, status,
 * precedence, TLP, references, the id and the time cannot be changed
 * without the signature failing at the reader:
 *
 *   "strait-hotline-msg-1" | id | channel | sender | n recipients |
 *   recipients... | type | status | precedence | tlp | n refs | refs... |
 *   n stix | stix... | sent (8) | body sha256 (32) | body size (8)
 *
 * (texts as a 4-byte little-endian length and the bytes, counts as 4
 * bytes, integers as 8). The body is sealed for each reader's X25519 key
 * (libsodium sealed box): a node relays and stores only ciphertext.
 *
 * A receipt (delivered, read, acknowledged) is signed by the reader:
 *
 *   "strait-hotline-receipt-1" | message id | principal | kind | at (8)
 *
 * so no node can make one up, and an acknowledgement that stops an
 * escalation is checked against the reader's key.
 */
#ifndef STRAIT_HOTLINE_WIRE_H
#define STRAIT_HOTLINE_WIRE_H

#include "common/buf.h"
#include "common/err.h"
#include "common/time.h"
#include "hotline/keyfile.h"
#include "stix/stix.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HL_ID_LEN 36   /* a UUID */
#define HL_NAME_MAX 64 /* an account name */
#define HL_ADDR_MAX (STIX_ID_MAX + 1 + HL_NAME_MAX)
#define HL_MAX_RECIPIENTS 16
#define HL_MAX_READERS 64 /* recipients and their chains */
#define HL_MAX_REFS 16
#define HL_MAX_STIX 32
#define HL_BODY_MAX (16 << 10) /* bytes of a body */
#define HL_SIG_BYTES 64
#define HL_WIRE_MAX (1 << 20) /* one relayed JSON document */

enum hl_type { HL_ALERT, HL_UPDATE, HL_CANCEL, HL_ACK };
enum hl_status { HL_ACTUAL, HL_EXERCISE, HL_TEST };
/* In the order messages go out: FLASH first. */
enum hl_prec { HL_FLASH, HL_IMMEDIATE, HL_PRIORITY, HL_ROUTINE };
enum hl_receipt { HL_DELIVERED, HL_READ, HL_ACKNOWLEDGED };

const char *hl_type_name(enum hl_type t);
const char *hl_status_name(enum hl_status s);
const char *hl_prec_name(enum hl_prec p);
const char *hl_receipt_kind_name(enum hl_receipt r);
/* Case-insensitive; ST_OK or ST_EINVAL. */
int hl_type_parse(const char *s, enum hl_type *out);
int hl_status_parse(const char *s, enum hl_status *out);
int hl_prec_parse(const char *s, enum hl_prec *out);
int hl_receipt_kind_parse(const char *s, enum hl_receipt *out);

struct hl_header {
	char id[HL_ID_LEN + 1];
	char channel[HL_ID_LEN + 1];
	char sender[HL_ADDR_MAX + 1];
	char recipients[HL_MAX_RECIPIENTS][HL_ADDR_MAX + 1];
	size_t nrecipients;
	enum hl_type type;
	enum hl_status status;
	enum hl_prec prec;
	uint8_t tlp; /* enum tlp */
	char refs[HL_MAX_REFS][HL_ID_LEN + 1];
	size_t nrefs;
	char stix[HL_MAX_STIX][STIX_ID_MAX];
	size_t nstix;
	st_time sent; /* the sender's clock: shown, never used for deadlines */
	uint8_t body_sha256[32];
	uint64_t body_size;
};

/* Whether s is "<identity id>/<account name>"; *node_len gets the length
 * of the identity part. */
bool hl_addr_valid(const char *s, size_t *node_len);
/* The channel of a set of nodes: a UUID-shaped name derived from their
 * identities, the same whatever their order or who computes it. */
void hl_channel_of(const char *const *identities, size_t n,
		   char out[HL_ID_LEN + 1]);

/* Every field of h checked (addresses, counts, ids, enums); ST_EINVAL
 * naming the field. */
int hl_header_check(const struct hl_header *h, struct diag *d);
/* The bytes the sender signs (see above). */
int hl_header_bytes(const struct hl_header *h, struct buf *out);
int hl_sign(const struct hl_header *h, const uint8_t *sign_sk,
	    uint8_t sig[HL_SIG_BYTES]);
bool hl_verify(const struct hl_header *h, const uint8_t *sign_pk,
	       const uint8_t sig[HL_SIG_BYTES]);

/* Sets body_sha256 and body_size of h from the body. */
void hl_set_body(struct hl_header *h, const char *body, size_t len);
/* Seals body for box_pk into *ct (malloc'd, *ctlen = len + 48). */
int hl_seal(const char *body, size_t len, const uint8_t *box_pk, uint8_t **ct,
	    size_t *ctlen);
/* Opens a sealed body with the reader's keys and checks it against h's
 * hash and size: *body (malloc'd, NUL-terminated) or ST_EINVAL. */
int hl_open(const struct hl_header *h, const uint8_t *ct, size_t ctlen,
	    const uint8_t *box_pk, const uint8_t *box_sk, char **body,
	    struct diag *d);

struct hl_receipt_rec {
	char msg[HL_ID_LEN + 1];
	char principal[HL_ADDR_MAX + 1];
	enum hl_receipt kind;
	st_time at;
	uint8_t sig[HL_SIG_BYTES];
};
int hl_receipt_sign(struct hl_receipt_rec *r, const uint8_t *sign_sk);
bool hl_receipt_verify(const struct hl_receipt_rec *r, const uint8_t *sign_pk);

/* JSON forms. */
struct jw;
struct json_val;
void hl_header_json(struct jw *w, const struct hl_header *h);
int hl_header_parse(const struct json_val *v, struct hl_header *out,
		    struct diag *d);
void hl_receipt_json(struct jw *w, const struct hl_receipt_rec *r);
int hl_receipt_parse(const struct json_val *v, struct hl_receipt_rec *out,
		     struct diag *d);
/* Hex of n bytes from a JSON string of exactly 2n lowercase digits. */
bool hl_hex_field(const struct json_val *v, uint8_t *out, size_t n);

#endif
