/* strait: IPv4 and IPv6 addresses and CIDR prefixes (see ip.h). */
#include "common/ip.h"

#include <arpa/inet.h>
#include <string.h>

static void clear_host_bits(struct ip_prefix *p)
{
	unsigned total = p->v6 ? 128 : 32;

	for (unsigned i = p->len; i < total; i++)
		p->addr[i >> 3] &= (uint8_t) ~(1u << (7 - (i & 7)));
}

bool ip_parse(const char *s, size_t n, struct ip_prefix *out)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *slash = memchr(s, '/', n);
	size_t hlen = slash ? (size_t)(slash - s) : n;
	unsigned long plen = 0;
	bool v6;

	/* inet_pton reads a C string: a NUL inside would cut the text short
	 * and accept "10.0.0.1\0junk". */
	if (hlen == 0 || hlen >= sizeof(host) || memchr(s, '\0', n) != NULL)
		return false;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	memset(out, 0, sizeof(*out));
	v6 = memchr(host, ':', hlen) != NULL;
	if (inet_pton(v6 ? AF_INET6 : AF_INET, host, out->addr) != 1)
		return false;
	out->v6 = v6;
	if (!slash) {
		out->len = v6 ? 128 : 32;
		return true;
	}
	/* Decimal digits only: no sign, no spaces, no leading "0x". */
	const char *d = slash + 1, *end = s + n;
	if (d == end || end - d > 3)
		return false;
	for (; d < end; d++) {
		if (*d < '0' || *d > '9')
			return false;
		plen = plen * 10 + (unsigned long)(*d - '0');
	}
	if (plen > (v6 ? 128u : 32u))
		return false;
	out->len = (uint8_t)plen;
	clear_host_bits(out);
	return true;
}

bool ip_contains(const struct ip_prefix *outer, const struct ip_prefix *inner)
{
	if (outer->v6 != inner->v6 || outer->len > inner->len)
		return false;
	unsigned full = outer->len >> 3, rest = outer->len & 7;

	if (memcmp(outer->addr, inner->addr, full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xffu << (8 - rest));
	return (outer->addr[full] & mask) == (inner->addr[full] & mask);
}

bool domain_name_valid(const char *s, size_t n, bool ascii)
{
	if (n == 0 || n > 253 || memchr(s, '.', n) == NULL || s[0] == '-')
		return false;
	size_t label = 0;
	bool digits = true; /* the label so far is all digits */
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '.') {
			if (label == 0)
				return false; /* an empty label */
			label = 0;
			digits = true;
			continue;
		}
		bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
			     (c >= 'A' && c <= 'Z');
		if (!(alnum || c == '-' || c == '_' || (!ascii && c >= 0x80)) ||
		    ++label > 63)
			return false;
		digits &= c >= '0' && c <= '9';
	}
	return label > 0 && !digits;
}
