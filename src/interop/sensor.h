/*
 * strait: indicators as sensors and blocklists consume them
 * (docs/EXPORTS.md): Zeek Intel files, Suricata rules with stable sid/rev,
 * plain blocklists, a DNS RPZ zone, CSV, Suricata datasets.
 *
 * Only what a format can express exactly is written. An indicator's
 * pattern is taken apart into atoms, each one value of one kind: the
 * pattern must be a disjunction (OR, IN) of equalities, or of ISSUBSET for
 * addresses, on the paths below, without AND, qualifiers or other
 * operators. Each atom is then written if the format can hold that kind
 * exactly; an indicator with any atom the format cannot hold is left out
 * whole, counted and listed with the reason, never approximated.
 */
#ifndef STRAIT_INTEROP_SENSOR_H
#define STRAIT_INTEROP_SENSOR_H

#include "common/err.h"
#include "common/ip.h"
#include "common/time.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define IX_VALUE_MAX 2048
#define IX_ATOMS_MAX 64

enum ix_kind {
	IX_IP,	   /* one address */
	IX_CIDR,   /* a prefix shorter than the address */
	IX_DOMAIN, /* lower case */
	IX_URL,
	IX_MD5,
	IX_SHA1,
	IX_SHA256,
	IX_SHA512,
	IX_EMAIL,
	IX_CERT_SHA1, /* x509-certificate:hashes.'SHA-1' */
};
const char *ix_kind_name(enum ix_kind k);

struct ix_atom {
	enum ix_kind kind;
	size_t len; /* of value */
	char value[IX_VALUE_MAX + 1];
	struct ip_prefix ip; /* IX_IP, IX_CIDR */
};

/* The atoms of a STIX pattern (at most IX_ATOMS_MAX), or ST_EINVAL with
 * why (static text) saying what makes it inexpressible. */
int ix_pattern_atoms(const char *pattern, size_t len, struct ix_atom *out,
		     size_t *n, const char **why);

enum ix_export_fmt {
	IX_FMT_ZEEK,
	IX_FMT_SURICATA,
	IX_FMT_BLOCKLIST,
	IX_FMT_RPZ,
	IX_FMT_CSV,
	IX_FMT_SURICATA_DATASET, /* several files: see IX_DS_FILES */
};
/* "zeek-intel", ...; -1 for an unknown name. */
int ix_export_fmt_parse(const char *name);
const char *ix_export_fmt_name(enum ix_export_fmt f);

/* Whether format f can hold atom a exactly; why (static) when not. */
bool ix_expressible(enum ix_export_fmt f, const struct ix_atom *a,
		    const char **why);

/* One indicator as the writer needs it. */
struct ix_indicator {
	const char *id;
	st_time version;
	const char *name; /* may be NULL */
	const char *tlp;  /* "GREEN", ... */
	const char *source;
	const char *valid_from, *valid_until; /* may be NULL */
	const struct ix_atom *atoms;
	size_t n;
};

/*
 * Suricata's stable sid and rev for (indicator, rule): a sid is given
 * once per indicator id and rule text key and kept, never reused; rev
 * moves when the indicator's version changes. Backed by <home>/exports.db,
 * which the open holds locked (one export at a time) and loads whole into
 * memory: a rule's sid costs no database read, and only new sids and
 * new revs are written, in one transaction.
 */
struct ix_sids;
int ix_sids_open(const char *home, struct ix_sids **out, struct diag *d);
/* Rolls back what was not committed; ix_sids_close(NULL) is a no-op. */
void ix_sids_close(struct ix_sids *s);
int ix_sids_get(struct ix_sids *s, const char *id, const char *key,
		st_time version, uint32_t *sid, uint32_t *rev, struct diag *d);
/* Commits what ix_sids_get allocated. The caller commits before anyone
 * can read the rules (before the rename of the output file), so a sid a
 * reader saw is never given again after a crash. */
int ix_sids_commit(struct ix_sids *s, struct diag *d);

/*
 * suricata-dataset: the files it writes into a directory, in this order;
 * the last is the rules that load the others (Suricata resolves a
 * dataset's `load` against the rule file's directory).
 */
#define IX_DS_NFILES 8
extern const char *const IX_DS_FILES[IX_DS_NFILES];

/*
 * The line (without its newline) a Suricata dataset or hash list holds
 * for atom a, into out (cap bytes, NUL-terminated): the base64 of the
 * bytes a sticky buffer holds for a string set (a domain name; a
 * certificate's SHA-1 as tls.cert_fingerprint shows it, "aa:bb:..."),
 * hex for a file hash, the text of an address. Its length; 0 when a has
 * no such line or cap is too small.
 */
size_t ix_dataset_line(const struct ix_atom *a, char *out, size_t cap);

struct ix_writer;
/* sids: needed for IX_FMT_SURICATA and IX_FMT_SURICATA_DATASET, else
 * NULL. out: NULL for IX_FMT_SURICATA_DATASET (ix_writer_finish_files
 * gets its files). */
int ix_writer_new(enum ix_export_fmt f, FILE *out, struct ix_sids *sids,
		  const char *generator, struct ix_writer **w, struct diag *d);
/* Writes the indicator's atoms; every atom must be expressible (the
 * caller checked with ix_expressible). */
int ix_writer_add(struct ix_writer *w, const struct ix_indicator *ind,
		  struct diag *d);
/* Writes what is kept to the end (blocklist: sorted and unique; RPZ:
 * the zone) and frees w. *written gets the lines of values written. */
int ix_writer_finish(struct ix_writer *w, uint64_t *written, struct diag *d);
/* suricata-dataset: writes each list, sorted and unique, to files[i]
 * (open for IX_DS_FILES[i]) and the rules to the last, and frees w. */
int ix_writer_finish_files(struct ix_writer *w, FILE *const files[],
			   uint64_t *written, struct diag *d);
/* ix_writer_free(NULL) is a no-op. */
void ix_writer_free(struct ix_writer *w);

#endif
