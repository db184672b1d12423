/*
 * strait: MISP event JSON in (docs/MISP.md has the mapping table). A
 * document is one event ({"Event": {...}}) or a list of them
 * ({"response": [{"Event": {...}}, ...]}, as MISP's REST search answers).
 * Each event becomes STIX 2.1 objects: its attributes indicators (to_ids)
 * or observed-data with their SCOs, the attributes without a STIX
 * equivalent notes, its galaxy clusters threat actors, intrusion sets,
 * attack patterns, malware, tools and courses of action, its creator
 * organisation an identity, and the event itself a report that refers to
 * all of them. Ids come from MISP's uuids, so an event imported again is
 * the same objects, and a changed attribute a new version of its object.
 */
#ifndef STRAIT_INTEROP_MISP_IN_H
#define STRAIT_INTEROP_MISP_IN_H

#include "common/err.h"
#include "common/time.h"
#include "interop/csv_in.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The largest MISP document read (bytes), and the most members one of its
 * objects or arrays may have. */
#define IX_MISP_MAX_BYTES ((size_t)64 << 20)
#define IX_MISP_MAX_MEMBERS 1000000u

struct ix_misp_stats {
	uint64_t events;
	uint64_t attributes; /* incl. those inside MISP objects */
	uint64_t indicators, observed, notes, galaxy;
	uint64_t rejected; /* attributes or events refused */
};

/* True when a document starting with head (len bytes) is MISP event JSON:
 * its top-level object's first member is "Event" or "response". */
bool ix_misp_sniff(const char *head, size_t len);

/*
 * Reads the MISP document text (len bytes, followed by JSON_PADDING
 * readable bytes). Each STIX object is passed to on_object (index: the
 * event's number, from 1), each note to on_note, each refused event or
 * attribute to on_reject with a message naming the event, the attribute
 * and the property. Returns ST_OK, the first non-ST_OK of on_object, or
 * ST_EINVAL / ST_EJSON / ST_ELIMIT (not MISP event JSON at all, malformed
 * JSON, past the limits above) with d saying what and where.
 */
int ix_misp_read(const char *text, size_t len, ix_object_fn on_object,
		 ix_note_fn on_note, ix_reject_fn on_reject, void *ctx,
		 struct ix_misp_stats *st, struct diag *d);

#endif
