/* strait: IPv4 and IPv6 addresses and CIDR prefixes. */
#ifndef STRAIT_COMMON_IP_H
#define STRAIT_COMMON_IP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An address is a prefix of full length (32 or 128). IPv4 keeps its four
 * bytes in addr[0..3]; the bits past len are always zero. */
struct ip_prefix {
	uint8_t addr[16];
	uint8_t len; /* 0..32 (IPv4) or 0..128 (IPv6) */
	bool v6;
};

/*
 * Parses "a.b.c.d", "a.b.c.d/n", an IPv6 address or "addr/n" (n bytes of
 * s, not NUL-terminated). Host bits past the prefix length are cleared,
 * as the STIX ISSUBSET/ISSUPERSET semantics ask. Returns true on success.
 */
bool ip_parse(const char *s, size_t n, struct ip_prefix *out);

/* True if every address of inner is in outer (same family only). */
bool ip_contains(const struct ip_prefix *outer, const struct ip_prefix *inner);

/*
 * A domain name as strait reads one (n bytes of s): labels of 1 to 63
 * letters, digits, '-' or '_' (and UTF-8 bytes unless ascii), joined by
 * dots, at least two labels, none empty, not starting with '-', at most
 * 253 bytes, the last label not all digits (RFC 3696: that is an
 * address, or nothing).
 */
bool domain_name_valid(const char *s, size_t n, bool ascii);

/* Bit i (0 = most significant) of the address. */
static inline unsigned ip_bit(const struct ip_prefix *p, unsigned i)
{
	return (p->addr[i >> 3] >> (7 - (i & 7))) & 1u;
}

#endif
