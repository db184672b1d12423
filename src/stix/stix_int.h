/*
 * strait: private header of the STIX module. The validator is a loop over
 * the property tables in types.c plus a few per-type check functions for
 * the rules that tie several properties together.
 */
#ifndef STRAIT_STIX_STIX_INT_H
#define STRAIT_STIX_STIX_INT_H

#include "stix/stix.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* At most this many issues are kept per object; then one "more" issue. */
#define STIX_REPORT_MAX 64

/* ------------------------------------------------------------------ */
/* Types of the specification                                           */
/* ------------------------------------------------------------------ */

/* Indices into stix_types[], which is sorted by name (binary search). */
enum stix_tid {
	T_ARTIFACT,
	T_ATTACK_PATTERN,
	T_AUTONOMOUS_SYSTEM,
	T_CAMPAIGN,
	T_COURSE_OF_ACTION,
	T_DIRECTORY,
	T_DOMAIN_NAME,
	T_EMAIL_ADDR,
	T_EMAIL_MESSAGE,
	T_EXTENSION_DEFINITION,
	T_FILE,
	T_GROUPING,
	T_IDENTITY,
	T_INCIDENT,
	T_INDICATOR,
	T_INFRASTRUCTURE,
	T_INTRUSION_SET,
	T_IPV4_ADDR,
	T_IPV6_ADDR,
	T_LANGUAGE_CONTENT,
	T_LOCATION,
	T_MAC_ADDR,
	T_MALWARE,
	T_MALWARE_ANALYSIS,
	T_MARKING_DEFINITION,
	T_MUTEX,
	T_NETWORK_TRAFFIC,
	T_NOTE,
	T_OBSERVED_DATA,
	T_OPINION,
	T_PROCESS,
	T_RELATIONSHIP,
	T_REPORT,
	T_SIGHTING,
	T_SOFTWARE,
	T_THREAT_ACTOR,
	T_TOOL,
	T_URL,
	T_USER_ACCOUNT,
	T_VULNERABILITY,
	T_WINDOWS_REGISTRY_KEY,
	T_X509_CERTIFICATE,
	T__SPEC, /* number of specification types */
	/* custom object types, by the kind they are treated as */
	T_CUSTOM_SDO = T__SPEC,
	T_CUSTOM_SCO,
	T_CUSTOM_SRO,
	T__COUNT,
};

#define TBIT(t) ((uint64_t)1 << (t))

/* Kinds of property value; a table row names one. */
enum pkind {
	PK_SKIP, /* handled before the property loop (type, id, ...) */
	PK_STR,
	PK_STR_LIST,
	PK_TS, /* aux: TS_* precision rule */
	PK_BOOL,
	PK_INT,	  /* aux: index into stix_ranges[] */
	PK_FLOAT, /* aux: index into stix_ranges[] */
	PK_REF,	  /* aux: index into stix_refsets[] */
	PK_REFS,  /* aux: index into stix_refsets[] */
	PK_OV,	  /* open vocabulary; aux: enum vocab */
	PK_OV_LIST,
	PK_ENUM, /* closed enumeration; aux: enum vocab */
	PK_ENUM_LIST,
	PK_HASHES,
	PK_HEX,
	PK_BIN,
	PK_DICT, /* aux: DV_* rule for the values */
	PK_LANG, /* RFC 5646 language tag */
	PK_LANG_LIST,
	PK_OBJ,	     /* aux: enum nested struct */
	PK_OBJ_LIST, /* aux: enum nested struct */
	PK_ANYOBJ,   /* any JSON object (checked by the type's function) */
	PK_EXTENSIONS,
	PK_CONTAINER, /* observed-data "objects" (deprecated) */
	PK_LC_CONTENTS,
	PK_RESERVED, /* MUST NOT be present */
};

/* Timestamp precision rules (PK_TS aux). */
enum { TS_ANY, TS_MS, TS_SEC };

/* Dictionary value rules (PK_DICT aux). */
enum { DV_ANY, DV_STR, DV_INT, DV_INT_OR_STR, DV_STR_LIST };

/* Row flags. */
#define F_REQ 1u /* required: missing is an error */

struct pspec {
	const char *name;
	uint8_t len;  /* strlen(name), filled by the table macro */
	uint8_t kind; /* enum pkind */
	uint8_t flags;
	uint8_t aux;
};

#define P(n, k, f, a)                             \
	{                                         \
		(n), sizeof(n) - 1, (k), (f), (a) \
	}

struct vctx;
struct frame;

/* A nested structure: external-reference, kill-chain-phase, ... */
struct sspec {
	const char *name;
	const struct pspec *props;
	uint8_t n;
	uint8_t flags; /* SS_* */
	void (*check)(struct vctx *c, struct frame *f);
};

#define SS_AT_LEAST_ONE 1u /* at least one property MUST be present */

/* Nested structures (PK_OBJ / PK_OBJ_LIST aux). */
enum {
	S_EXTREF,
	S_KCP,
	S_GRANULAR,
	S_MIME_PART,
	S_ADS,
	S_PE_OPT_HEADER,
	S_PE_SECTION,
	S_REG_VALUE,
	S_X509_V3,
	/* predefined extensions */
	S_EXT_ARCHIVE,
	S_EXT_NTFS,
	S_EXT_PDF,
	S_EXT_RASTER,
	S_EXT_PEBINARY,
	S_EXT_HTTP,
	S_EXT_ICMP,
	S_EXT_SOCKET,
	S_EXT_TCP,
	S_EXT_WIN_PROCESS,
	S_EXT_WIN_SERVICE,
	S_EXT_UNIX_ACCOUNT,
	S__COUNT,
};

/* A predefined extension name and the structure of its content. */
struct extspec {
	const char *name;
	uint8_t sspec;
};

struct tspec {
	const char *name;
	uint8_t kind;  /* enum stix_kind */
	uint8_t flags; /* TF_* */
	uint8_t ncommon;
	uint8_t n;
	const struct pspec *common;
	const struct pspec *props;
	const struct extspec *exts; /* predefined extensions, or NULL */
	uint8_t nexts;
	const char *const *idprops; /* SCO ID contributing properties */
	void (*check)(struct vctx *c, struct frame *f);
};

#define TF_AT_LEAST_ONE 1u /* at least one specific property MUST be set */

extern const struct tspec stix_types[T__COUNT];
extern const struct sspec stix_structs[S__COUNT];

/* The type of that name, or -1. */
int stix_type_find(const char *name, size_t len);

/*
 * The properties of a type (its common ones and its own) sorted by name,
 * for binary search. Built once, on first use.
 */
#define PINDEX_SLOTS 128
struct pindex {
	const struct pspec *p[64];
	uint64_t required; /* bit i: p[i] is required */
	uint8_t n;
	uint8_t slot[PINDEX_SLOTS]; /* open addressing: index + 1, 0 empty */
};
const struct pindex *stix_type_index(int tid);
/* Index of the property of that name in ix->p, or -1. */
int stix_pindex_find(const struct pindex *ix, const char *key, size_t len);

/* Common property names of any kind (for "not applicable" reports). */
bool stix_is_common_name(const char *name, size_t len);

/* ------------------------------------------------------------------ */
/* Vocabularies, ranges, reference targets                              */
/* ------------------------------------------------------------------ */

enum {
	V_ACCOUNT_TYPE,
	V_ATTACK_MOTIVATION,
	V_ATTACK_RESOURCE_LEVEL,
	V_ENCRYPTION_ALGORITHM,
	V_EXTENSION_TYPE,
	V_GROUPING_CONTEXT,
	V_IDENTITY_CLASS,
	V_IMPLEMENTATION_LANGUAGE,
	V_INDICATOR_TYPE,
	V_INDUSTRY_SECTOR,
	V_INFRASTRUCTURE_TYPE,
	V_MALWARE_CAPABILITIES,
	V_MALWARE_RESULT,
	V_MALWARE_TYPE,
	V_MARKING_DEFINITION_TYPE,
	V_SOCKET_ADDRESS_FAMILY,
	V_SOCKET_TYPE,
	V_OPINION,
	V_PATTERN_TYPE,
	V_PROCESSOR_ARCHITECTURE,
	V_REGION,
	V_REPORT_TYPE,
	V_THREAT_ACTOR_TYPE,
	V_THREAT_ACTOR_ROLE,
	V_THREAT_ACTOR_SOPHISTICATION,
	V_TOOL_TYPE,
	V_WINDOWS_INTEGRITY_LEVEL,
	V_WINDOWS_PEBINARY_TYPE,
	V_WINDOWS_REGISTRY_DATATYPE,
	V_WINDOWS_SERVICE_START_TYPE,
	V_WINDOWS_SERVICE_TYPE,
	V_WINDOWS_SERVICE_STATUS,
	V__COUNT,
};

struct vocab {
	const char *name; /* "indicator-type-ov" */
	const char *const *terms;
	uint8_t n;
};
extern const struct vocab stix_vocabs[V__COUNT];
bool stix_vocab_has(int v, const char *s, size_t len);

struct range {
	double min, max;
};
enum {
	R_ANY,
	R_NONNEG,
	R_CONFIDENCE,
	R_NUMBER_OBSERVED,
	R_COUNT,
	R_PORT,
	R_LATITUDE,
	R_LONGITUDE,
	R__COUNT,
};
extern const struct range stix_ranges[R__COUNT];

/* Classes a reference may point to, besides the types in mask. */
#define RC_SDO 1u /* any SDO, custom object types included */
#define RC_SCO 2u /* any SCO, custom object types included */
#define RC_SRO 4u /* relationship, sighting, custom SROs */
#define RC_ANY 8u /* any STIX object, custom ones included */

struct refset {
	uint64_t mask;
	uint8_t cls;
	const char *what; /* for messages: "identity", "an SDO or SCO" */
};
enum {
	RS_ANY,
	RS_IDENTITY,
	RS_MARKING,
	RS_SDO,
	RS_SDO_SCO,
	RS_SCO,
	RS_SCO_SRO,
	RS_OBSERVED_DATA,
	RS_IDENTITY_LOCATION,
	RS_SOFTWARE,
	RS_FILE_ARTIFACT,
	RS_SAMPLE,
	RS_FILE_DIRECTORY,
	RS_RESOLVES_DOMAIN,
	RS_USER_ACCOUNT,
	RS_EMAIL_ADDR,
	RS_ARTIFACT,
	RS_DIRECTORY,
	RS_MAC_ADDR,
	RS_AS,
	RS_ENDPOINT,
	RS_NETWORK_TRAFFIC,
	RS_FILE,
	RS_PROCESS,
	RS__COUNT,
};
extern const struct refset stix_refsets[RS__COUNT];

/* ------------------------------------------------------------------ */
/* Validation context                                                   */
/* ------------------------------------------------------------------ */

#define PATH_DEPTH 16

struct pseg {
	const char *key; /* NULL for a list index */
	uint32_t len;
	uint32_t idx;
};

/* Properties met in one object, with their values. */
struct frame {
	const struct json_val *o;
	const struct pspec *const *props; /* sorted by name */
	unsigned n;
	uint64_t seen;	/* bit i: props[i] is present */
	uint64_t ts_ok; /* bit i: props[i] parsed as a timestamp */
	const struct json_val *val[64];
	st_time ts[64];
	const struct pindex *ix; /* hashed lookups for typed objects */
	int tid;  /* type of the object, -1 for nested structures */
	bool top; /* the object handed to stix_validate */
};

struct vctx {
	const struct json_val *root;
	struct stix_info *info;
	struct stix_report *rep;
	struct pseg path[PATH_DEPTH];
	unsigned depth;
	const struct json_val *container; /* observed-data "objects" */
	uint32_t kept_errors; /* errors stored in rep for this object */
	uint32_t dropped;     /* issues not stored (over the cap) */
	uint32_t first_item;  /* rep->n when this object started */
	bool oom;
	bool toplevel_ext; /* a toplevel-property-extension is used */
	bool custom_type;
	int tlp; /* most restrictive level seen, -1: none */
};

/* Reports an issue at the current path. */
void stix_issue(struct vctx *c, bool error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Reports an issue at the current path plus one more key. */
void stix_issue_key(struct vctx *c, bool error, const char *key,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

void stix_path_key(struct vctx *c, const char *key, size_t len);
void stix_path_idx(struct vctx *c, uint32_t idx);
void stix_path_pop(struct vctx *c);

/* A short printable rendering of a value for messages ("\"abc\"", 42). */
const char *stix_fmt_val(const struct json_val *v, char *buf, size_t n);

/* The value of a property of the frame's object, or NULL. */
const struct json_val *stix_fval(const struct frame *f, const char *name);
/* Index of a property of the frame's table, or -1. */
int stix_fidx(const struct frame *f, const char *name);

/* Syntax helpers. */
bool stix_type_name_ok(const char *s, size_t len);
bool stix_lang_ok(const char *s, size_t len);

/* Per-type rules that involve several properties (validate.c). */
void stix_chk_extref(struct vctx *c, struct frame *f);
void stix_chk_kcp(struct vctx *c, struct frame *f);
void stix_chk_granular(struct vctx *c, struct frame *f);
void stix_chk_mime_part(struct vctx *c, struct frame *f);
void stix_chk_pebinary(struct vctx *c, struct frame *f);
void stix_chk_http(struct vctx *c, struct frame *f);
void stix_chk_location(struct vctx *c, struct frame *f);
void stix_chk_malware(struct vctx *c, struct frame *f);
void stix_chk_malware_analysis(struct vctx *c, struct frame *f);
void stix_chk_observed_data(struct vctx *c, struct frame *f);
void stix_chk_relationship(struct vctx *c, struct frame *f);
void stix_chk_artifact(struct vctx *c, struct frame *f);
void stix_chk_domain_name(struct vctx *c, struct frame *f);
void stix_chk_email_addr(struct vctx *c, struct frame *f);
void stix_chk_email_message(struct vctx *c, struct frame *f);
void stix_chk_file(struct vctx *c, struct frame *f);
void stix_chk_ipv4(struct vctx *c, struct frame *f);
void stix_chk_ipv6(struct vctx *c, struct frame *f);
void stix_chk_mac(struct vctx *c, struct frame *f);
void stix_chk_network_traffic(struct vctx *c, struct frame *f);
void stix_chk_url(struct vctx *c, struct frame *f);
void stix_chk_registry_key(struct vctx *c, struct frame *f);
void stix_chk_extension_definition(struct vctx *c, struct frame *f);

/* marking.c: checks a marking-definition object (rules of 7.2.1). */
void stix_check_marking_definition(struct vctx *c, struct frame *f);

/* sco_id.c: the deterministic UUID if the object has any contributing
 * property; returns 1 then, 0 when it has none, < 0 on error. */
int stix_sco_uuid5(const struct json_val *obj, int tid, uint8_t uuid[16]);

#endif
