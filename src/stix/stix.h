/* strait: the STIX 2.1 object model, validation, SCO ids and markings. */
#ifndef STRAIT_STIX_STIX_H
#define STRAIT_STIX_STIX_H

#include "common/buf.h"
#include "common/json.h"
#include "common/time.h"

#include <stdbool.h>
#include <stdint.h>

/* "type--uuid": types are at most 250 characters, the UUID 36. */
#define STIX_TYPE_MAX 251
#define STIX_ID_MAX (STIX_TYPE_MAX + 2 + 36 + 1)

enum stix_kind {
	STIX_SDO,    /* domain objects, including custom object types */
	STIX_SRO,    /* relationship, sighting */
	STIX_SCO,    /* cyber-observable objects */
	STIX_META,   /* marking-definition, language-content,
			extension-definition */
	STIX_BUNDLE, /* a bundle met where an object was expected */
};

/* TLP 2.0 levels, most open first; TLP 1.0 maps onto them. */
enum tlp {
	TLP_CLEAR = 0,
	TLP_GREEN = 1,
	TLP_AMBER = 2,
	TLP_AMBER_STRICT = 3,
	TLP_RED = 4,
	TLP_NONE = 15, /* the version carries no TLP marking */
};

/* "CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED", "NONE". */
const char *tlp_name(enum tlp t);
/* Accepts the names above in any case, "amber-strict", "white" (TLP 1.0
 * for CLEAR) and "tlp:" prefixes. ST_OK or ST_EINVAL. */
int tlp_parse(const char *s, enum tlp *out);
/* The level a pinned TLP 1.0 or 2.0 marking-definition id stands for, or
 * -1 when id is not one of the nine built-in definitions. */
int tlp_of_marking_id(const char *id, size_t len);
/* The TLP 2.0 marking-definition id of a level (CLEAR..RED), or NULL. */
const char *tlp_marking_id(enum tlp t);

/* What validation learns about an object, for the store and the policy. */
struct stix_info {
	char id[STIX_ID_MAX]; /* the object's id (or the generated one) */
	char type[STIX_TYPE_MAX];
	uint8_t uuid[16];
	enum stix_kind kind;
	bool custom_type; /* not a type of the specification */
	bool versioned;	  /* false for SCOs and marking definitions:
				     STIX does not version them (a marking
				     definition's created names its only
				     version) */
	st_time created;  /* 0 when absent */
	st_time modified; /* 0 when absent */
	st_time version;  /* modified, else created; 0 if !versioned */
	bool revoked;
	enum tlp tlp;	      /* most restrictive TLP marking, object level
				     and granular; TLP_NONE when unmarked */
	bool unknown_marking; /* references a marking that is not TLP */
	bool id_generated;    /* SCO arrived without an id: id holds the
				     deterministic one */
};

/* One problem found in an object. */
struct stix_issue {
	bool error; /* a MUST rule: the object is rejected */
	char path
	    [128]; /* property path, e.g. "kill_chain_phases[0].phase_name" */
	char msg[256]; /* the rule broken, with the offending value */
};

/* Every error and warning found in one object, in the order found. */
struct stix_report {
	struct stix_issue *items;
	uint32_t n;
	uint32_t cap;
	uint32_t n_errors;
	uint32_t n_warnings;
};

void stix_report_init(struct stix_report *r);
void stix_report_reset(struct stix_report *r);
void stix_report_free(struct stix_report *r);
/*
 * Appends issues to out, one line each: "<id>: <path>: <msg>". With
 * errors_only, only the errors; otherwise every issue, in the order found.
 */
int stix_report_format(const struct stix_report *r, const char *id,
		       bool errors_only, struct buf *out);
/* Appends the warnings as a JSON array of strings "<path>: <msg>". */
int stix_report_warnings_json(const struct stix_report *r, struct buf *out);

/*
 * Validates one STIX 2.1 object against the specification: the common
 * properties, the per-type rules of every SDO, SRO, SCO and meta object,
 * custom types and properties, references, markings. Fills info (as far as
 * the object allows) and appends every problem to rep. Returns ST_OK when
 * no MUST rule is broken (warnings may have been added), ST_ESTIX when at
 * least one is (rep holds the reasons), ST_ENOMEM.
 *
 * An SCO without "id" is accepted: info->id_generated is set and info->id
 * holds its deterministic identifier, which the caller adds to the object.
 * An SCO whose id is not its deterministic one gets a warning and keeps it.
 *
 * A type that is not in the specification but is a valid type name is a
 * custom object: its common properties are checked and custom_type is set.
 * It is treated as an SCO when one of its extensions has extension_type
 * "new-sco", as an SRO for "new-sro", as an SDO otherwise.
 *
 * rep is appended to, not reset: at most 64 issues are kept per call, then
 * one "... and N more issues" (n_errors and n_warnings count them all).
 */
int stix_validate(const struct json_val *obj, struct stix_info *info,
		  struct stix_report *rep);

/*
 * The deterministic identifier of an SCO (UUIDv5 in the STIX namespace over
 * the canonical JSON of the type's ID-contributing properties; for hashes,
 * only the first present of MD5, SHA-1, SHA-256, SHA-512, else the first
 * hash in document order, as cti-python-stix2 does). Types without
 * contributing properties, or objects that have none of them, get a random
 * UUIDv4 as the specification says. ST_OK, ST_EINVAL when obj is not an
 * SCO of a known type, ST_ERANGE when a contributing value has no canonical
 * form (an integer beyond I-JSON), ST_ENOMEM.
 */
int stix_sco_id(const struct json_val *obj, uint8_t uuid[16]);

/* True for the 18 SCO types of the specification. */
bool stix_is_sco_type(const char *type, size_t len);

/* Splits "type--uuid"; ST_OK or ST_EINVAL. type gets a NUL. */
int stix_parse_id(const char *id, size_t len, char type[STIX_TYPE_MAX],
		  uint8_t uuid[16]);

#endif
