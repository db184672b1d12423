/*
 * strait: sightings of indicators in our own telemetry.
 *
 * A match becomes a STIX sighting (sighting_of_ref the indicator, count,
 * first_seen/last_seen, where_sighted_refs the node's identity) and an
 * observed-data, aggregated per indicator per time window. Both are
 * appended to the node's log like any other object, so they flow to the
 * partners who may read them, and they must not betray our networks:
 *
 *   - they carry every marking of the indicator (object level and the
 *     marking_refs of its granular markings, or its stored TLP when it has
 *     none), so the release decision treats them at least as strictly;
 *   - the observed-data holds only the indicator's matched value (the SCO
 *     whose property matched, with that property alone), never the other
 *     side of the connection, our hosts or our addresses, unless the
 *     operator asks for context (include_context) for a chosen audience.
 */
#ifndef STRAIT_TELEMETRY_SIGHTING_H
#define STRAIT_TELEMETRY_SIGHTING_H

#include "common/err.h"
#include "common/json.h"
#include "common/time.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sighting_options {
	const char *identity; /* the node's identity id (required) */
	int64_t window_s;     /* aggregation window, default 3600 */
	/* Also put the other SCOs of the first matching observation into
	 * the observed-data (internal addresses included): only for an
	 * export to a chosen audience, never the default. */
	bool include_context;
	uint32_t max_values; /* distinct matched values kept per sighting
				(default 16); more are counted, not kept */
};

/* What matched: the SCO type and the property path of the matched value
 * inside it ("value", "hashes.SHA-256", "name"), and the value. */
struct sighting_hit {
	/* The indicator: either its object (id and every marking are read
	 * from it), or its id and marking refs (object level and granular)
	 * as the matcher keeps them. */
	const struct json_val *indicator;
	const char *indicator_id;
	const char *const *markings;
	size_t n_markings;
	/* The indicator's stored TLP (enum tlp: the most restrictive of its
	 * markings, granular ones included, or the default it took); made
	 * an explicit marking when the refs above say less. -1: unknown. */
	int tlp;
	const char *sco_type;
	const char *path;
	const char *value;
	st_time when;
	/* The SCOs of the observation, used only with include_context. */
	const struct json_val *const *context;
	size_t n_context;
};

struct sighting_agg;

/* NULL on ENOMEM or without opt->identity. Free with sighting_agg_free. */
struct sighting_agg *sighting_agg_new(const struct sighting_options *opt);
void sighting_agg_free(struct sighting_agg *a); /* NULL ok */

/* Records one hit. ST_OK, ST_ENOMEM, ST_ELIMIT (too many open sightings:
 * flush first), ST_EINVAL (indicator without an id). */
int sighting_add(struct sighting_agg *a, const struct sighting_hit *h,
		 struct diag *d);

/* Called once per object to append, in an order that keeps references
 * resolvable (SCOs, then observed-data, then the sighting), with the id
 * of the indicator the object was made for. */
typedef int (*sighting_emit_fn)(void *ctx, const char *indicator,
				const char *json, size_t len);

/*
 * Emits, for every sighting that changed since the last flush, a new
 * version of it and of its observed-data (same ids, a later modified).
 * Returns the number of sightings emitted, or an error from emit or
 * ST_ENOMEM.
 */
long sighting_flush(struct sighting_agg *a, st_time now, sighting_emit_fn emit,
		    void *ctx, struct diag *d);

/* Open sightings (indicator x window) held. */
size_t sighting_count(const struct sighting_agg *a);

#endif
