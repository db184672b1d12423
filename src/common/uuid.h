/* strait: UUIDs (RFC 4122/9562) for STIX identifiers. */
#ifndef STRAIT_COMMON_UUID_H
#define STRAIT_COMMON_UUID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UUID_STRLEN 36

/* The STIX 2.1 namespace for deterministic SCO identifiers. */
extern const uint8_t UUID_NS_STIX[16];

/*
 * Parses the 36-character form 8-4-4-4-12. Only lowercase hex is
 * accepted when strict is true (STIX identifiers are lowercase);
 * returns ST_OK or ST_EINVAL.
 */
int uuid_parse(const char *s, size_t len, bool strict, uint8_t out[16]);
/* Writes 36 lowercase characters and a NUL. */
void uuid_format(const uint8_t u[16], char out[UUID_STRLEN + 1]);
/* Random (version 4), from libsodium's CSPRNG. */
void uuid_v4(uint8_t out[16]);
/* Name-based SHA-1 (version 5). */
void uuid_v5(const uint8_t ns[16], const void *name, size_t len,
	     uint8_t out[16]);
/* The version nibble (1..8), 0 for the nil UUID's. */
int uuid_version(const uint8_t u[16]);

#endif
