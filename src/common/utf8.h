/* strait: UTF-8 well-formedness, the one implementation every module uses. */
#ifndef STRAIT_COMMON_UTF8_H
#define STRAIT_COMMON_UTF8_H

#include <stddef.h>

/*
 * Length (1 to 4) of the well-formed UTF-8 sequence that starts at s, with
 * n > 0 bytes available; 0 when s does not start one: a stray continuation
 * byte, an overlong form, a UTF-16 surrogate, a code point beyond U+10FFFF
 * or a sequence cut short by n. Inline: the JSON writer calls it for every
 * non-ASCII character it copies.
 */
static inline size_t utf8_seq_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	unsigned char lo = 0x80, hi = 0xbf; /* range of the second byte */
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0; /* overlong */
		else if (c == 0xed)
			hi = 0x9f; /* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90; /* overlong */
		else if (c == 0xf4)
			hi = 0x8f; /* beyond U+10FFFF */
	} else {
		return 0;
	}
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t k = 2; k < len; k++)
		if ((s[k] & 0xc0) != 0x80)
			return 0;
	return len;
}

/* Offset of the first byte of s that is not part of well-formed UTF-8,
 * or -1 when all len bytes are. */
static inline long utf8_invalid_offset(const void *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (i < len) {
		size_t k = utf8_seq_len(p + i, len - i);
		if (k == 0)
			return (long)i;
		i += k;
	}
	return -1;
}

#endif
