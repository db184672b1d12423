/*
 * Realistic STIX 2.1 objects for the benchmarks (bench/gen_bundle for the
 * import benchmark, bench/taxii_load for the TAXII server). A generator is a
 * seeded xorshift state plus the ids of recent objects, so relationships and
 * reports point at objects that exist; the same seed gives the same bytes.
 */
#ifndef STRAIT_BENCH_GEN_STIX_H
#define STRAIT_BENCH_GEN_STIX_H

#include "common/json.h"

#include <stdint.h>

#define GEN_STIX_RECENT 4096

/* The identity every generated SDO names as created_by_ref. */
#define GEN_STIX_CREATOR "identity--5e0f8a61-0c6a-4b5c-9b1e-2c3d4e5f6a7b"

struct gen_stix {
	uint64_t rng;
	unsigned nrecent;
	char recent[GEN_STIX_RECENT][80];
};

/* Starts a generator; seed 0 is replaced by a fixed non-zero constant. */
void gen_stix_init(struct gen_stix *g, uint64_t seed);

/* The next pseudo-random number of g (xorshift64). */
uint64_t gen_stix_next(struct gen_stix *g);

/*
 * Writes one object of the feed mix into w: 35% indicators with STIX
 * patterns, 25% SCOs with deterministic ids, 20% relationships, 8%
 * sightings, 2% reports with 10-50 object_refs, 10% malware, intrusion
 * sets, attack patterns, identities and notes; TLP markings on 80%.
 */
void gen_stix_object(struct gen_stix *g, struct jw *w);

/*
 * Writes the members of one indicator (a random id, about 550 bytes) into
 * the object the caller has opened in w, so the caller may add members
 * (e.g. a custom property) before closing it.
 */
void gen_stix_indicator_members(struct gen_stix *g, struct jw *w);

#endif
