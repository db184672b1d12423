#include "common/uuid.h"

#include "common/err.h"
#include "common/hex.h"

#include <nettle/sha1.h>
#include <sodium.h>
#include <string.h>

const uint8_t UUID_NS_STIX[16] = {0x00, 0xab, 0xed, 0xb4, 0xaa, 0x42,
				  0x46, 0x6c, 0x9c, 0x01, 0xfe, 0xd2,
				  0x33, 0x15, 0xa9, 0xb7};

static int hexval(char c, bool strict)
{
	return strict ? hex_digit_lower((unsigned char)c)
		      : hex_digit((unsigned char)c);
}

int uuid_parse(const char *s, size_t len, bool strict, uint8_t out[16])
{
	if (len != UUID_STRLEN)
		return ST_EINVAL;
	int j = 0;
	for (size_t i = 0; i < UUID_STRLEN;) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return ST_EINVAL;
			i++;
			continue;
		}
		int hi = hexval(s[i], strict);
		int lo = hexval(s[i + 1], strict);
		if (hi < 0 || lo < 0)
			return ST_EINVAL;
		out[j++] = (uint8_t)(hi << 4 | lo);
		i += 2;
	}
	return ST_OK;
}

void uuid_format(const uint8_t u[16], char out[UUID_STRLEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	char *p = out;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*p++ = '-';
		*p++ = hex[u[i] >> 4];
		*p++ = hex[u[i] & 15];
	}
	*p = '\0';
}

void uuid_v4(uint8_t out[16])
{
	randombytes_buf(out, 16);
	out[6] = (uint8_t)((out[6] & 0x0f) | 0x40);
	out[8] = (uint8_t)((out[8] & 0x3f) | 0x80);
}

void uuid_v5(const uint8_t ns[16], const void *name, size_t len,
	     uint8_t out[16])
{
	struct sha1_ctx ctx;
	uint8_t digest[SHA1_DIGEST_SIZE];
	sha1_init(&ctx);
	sha1_update(&ctx, 16, ns);
	sha1_update(&ctx, len, name);
	sha1_digest(&ctx, sizeof(digest), digest);
	memcpy(out, digest, 16);
	out[6] = (uint8_t)((out[6] & 0x0f) | 0x50);
	out[8] = (uint8_t)((out[8] & 0x3f) | 0x80);
}

int uuid_version(const uint8_t u[16])
{
	return u[6] >> 4;
}
