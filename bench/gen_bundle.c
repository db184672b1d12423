/*
 * Writes a STIX 2.1 bundle of N realistic objects to stdout, the input of
 * the import benchmark. The mix and sizes follow what national feeds carry
 * (bench/gen_stix.h): indicators with STIX patterns (about a third), SCOs
 * (ipv4-addr, domain-name, url, file with hashes; deterministic ids),
 * relationships, sightings, reports with object_refs, identities, malware,
 * intrusion sets, attack patterns and notes; TLP markings on most, some
 * unmarked. Deterministic: the same N gives the same bytes.
 *
 * usage: gen_bundle N > bundle.json
 */
#include "gen_stix.h"

#include "common/buf.h"
#include "common/json.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000000;
	/* another seed, other objects (the same seed, the same bundle) */
	uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 10) : 0;
	if (n <= 0) {
		fprintf(stderr, "usage: gen_bundle N [SEED]\n");
		return 2;
	}
	struct gen_stix *g = malloc(sizeof(*g));
	if (g == NULL) {
		fprintf(stderr, "gen_bundle: out of memory\n");
		return 1;
	}
	gen_stix_init(g, seed);
	struct buf b = BUF_INIT((size_t)1 << 24);
	struct jw w;
	fputs("{\"type\":\"bundle\",\"id\":\"bundle--0d5b7e4e-3c1a-4f7e-8a2b-"
	      "9c8d7e6f5a4b\",\"objects\":[\n",
	      stdout);
	for (long i = 0; i < n; i++) {
		buf_reset(&b);
		jw_init(&w, &b);
		gen_stix_object(g, &w);
		if (jw_finish(&w) != ST_OK) {
			fprintf(stderr, "gen_bundle: writer error\n");
			return 1;
		}
		if (i > 0)
			fputs(",\n", stdout);
		fwrite(b.data, 1, b.len, stdout);
	}
	fputs("\n]}\n", stdout);
	buf_free(&b);
	free(g);
	return 0;
}
