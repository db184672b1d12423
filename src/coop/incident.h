/*
 * strait: joint incident rooms between partner nodes.
 *
 * An incident is shared between named partner nodes (its participants,
 * by node identity). Everything about it is an entry: the opening (title,
 * severity, TLP, participants), notes, tasks (owner, due time), decisions,
 * status changes (open, contained, closed), title and severity changes,
 * and links to STIX objects. Entries are append-only and have unique ids,
 * so two countries writing at once never conflict: every node holds the
 * same set, shows it in the same order (by time, then id), and derives the
 * incident's state (status, title, severity) from the latest entry of each
 * kind in that order.
 *
 * Each node sends its own entries to every other participant over the
 * hotline link (<home>/hotline.db's outbox, relayed by `strait serve`);
 * nothing goes to a node that is not a participant. A link to a STIX
 * object goes to a participant only if the release decision gives that
 * participant the object; otherwise the entry goes without it.
 *
 * <home>/coop.db (SQLite, WAL, synchronous FULL, 0600).
 */
#ifndef STRAIT_COOP_INCIDENT_H
#define STRAIT_COOP_INCIDENT_H

#include "common/buf.h"
#include "common/err.h"
#include "common/time.h"
#include "stix/stix.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define INC_ID_LEN 36
#define INC_TITLE_MAX 256
#define INC_TEXT_MAX 8192
#define INC_MAX_NODES 8
#define INC_ADDR_MAX (STIX_ID_MAX + 1 + 64)

enum inc_kind {
	INC_OPEN,
	INC_NOTE,
	INC_TASK,
	INC_DECISION,
	INC_STATUS,
	INC_LINK,
	INC_TITLE,
	INC_SEVERITY,
};
enum inc_status { INC_S_OPEN, INC_S_CONTAINED, INC_S_CLOSED };
enum inc_severity { INC_LOW, INC_MEDIUM, INC_HIGH, INC_CRITICAL };

const char *inc_kind_name(enum inc_kind k);
const char *inc_status_name(enum inc_status s);
const char *inc_severity_name(enum inc_severity s);
int inc_kind_parse(const char *s, enum inc_kind *out);
int inc_status_parse(const char *s, enum inc_status *out);
int inc_severity_parse(const char *s, enum inc_severity *out);

/* One entry. Text fields by kind: OPEN title (text), severity, tlp,
 * nodes; NOTE, DECISION text; TASK text, owner, due; STATUS status;
 * LINK stix (and text: what it is); TITLE text; SEVERITY severity. */
struct inc_entry {
	char id[INC_ID_LEN + 1];
	char incident[INC_ID_LEN + 1];
	st_time at;		       /* the author's clock */
	char author[INC_ADDR_MAX + 1]; /* identity/name */
	enum inc_kind kind;
	char text[INC_TEXT_MAX + 1];
	char owner[128];
	st_time due;		/* 0: none */
	char stix[STIX_ID_MAX]; /* "" none (or withheld) */
	enum inc_status status;
	enum inc_severity severity;
	uint8_t tlp;				/* enum tlp, OPEN only */
	char nodes[INC_MAX_NODES][STIX_ID_MAX]; /* OPEN only */
	size_t nnodes;
};

/* An incident's state: its entries folded in order. */
struct inc_state {
	char id[INC_ID_LEN + 1];
	char title[INC_TITLE_MAX + 1];
	enum inc_status status;
	enum inc_severity severity;
	uint8_t tlp;
	char nodes[INC_MAX_NODES][STIX_ID_MAX];
	size_t nnodes;
	char creator[INC_ADDR_MAX + 1];
	st_time opened, updated;
	size_t entries;
};

struct inc_db;
int inc_db_open(const char *home, struct inc_db **out, struct diag *d);
void inc_db_close(struct inc_db *db);

/* Checks an entry's fields (ids, author address, lengths, UTF-8, kind's
 * fields). ST_EINVAL naming the field. */
int inc_entry_check(const struct inc_entry *e, struct diag *d);
/* Keeps an entry (the incident's OPEN entry first: others of an unknown
 * incident are refused). *dup: already held. */
int inc_entry_put(struct inc_db *db, const struct inc_entry *e, bool *dup,
		  struct diag *d);
typedef int (*inc_entry_fn)(void *ctx, const struct inc_entry *e);
/* The entries of an incident in their one order (time, then id). */
int inc_entries(struct inc_db *db, const char *incident, inc_entry_fn fn,
		void *ctx, struct diag *d);
int inc_state_get(struct inc_db *db, const char *incident,
		  struct inc_state *out, struct diag *d);
typedef int (*inc_state_fn)(void *ctx, const struct inc_state *s);
int inc_list(struct inc_db *db, inc_state_fn fn, void *ctx, struct diag *d);
/* Whether node (an identity) takes part in the incident. */
bool inc_has_node(const struct inc_state *s, const char *identity);

/* JSON: an entry as it travels and as the API shows it. */
struct jw;
struct json_val;
void inc_entry_json(struct jw *w, const struct inc_entry *e);
int inc_entry_parse(const struct json_val *v, struct inc_entry *out,
		    struct diag *d);
void inc_state_json(struct jw *w, const struct inc_state *s);

/* The incident as STIX 2.1: an incident object and one note per entry
 * (opening excepted), created_by our identity, marked with its TLP. */
int inc_stix_bundle(struct inc_db *db, const char *incident,
		    const char *identity, struct buf *out, struct diag *d);

#endif
