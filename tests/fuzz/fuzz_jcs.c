/*
 * Fuzzes json_fmt_number and json_key_cmp. The first 8 bytes are a
 * double: its ECMAScript form must read back as the same number, and one
 * digit fewer must not. The rest is split into three keys: the order must
 * be antisymmetric and transitive, and for valid UTF-8 agree with a plain
 * comparison of UTF-16 code units.
 */
#include "common/json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* UTF-8 to UTF-16 code units; -1 if not valid UTF-8. */
static long to_utf16(const uint8_t *s, size_t n, uint16_t *out)
{
	static const uint32_t min[4] = {0, 0x80, 0x800, 0x10000};
	long k = 0;
	for (size_t i = 0; i < n;) {
		uint32_t c = s[i];
		size_t more = c < 0x80 ? 0 : c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : 1;
		if ((c >= 0x80 && c < 0xc2) || c > 0xf4 ||
		    i + more >= n + !more)
			return -1;
		if (more > 0)
			c &= 0x3fu >> more;
		for (size_t j = 1; j <= more; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return -1;
			c = c << 6 | (s[i + j] & 0x3f);
		}
		if (c < min[more] || c > 0x10ffff ||
		    (c >= 0xd800 && c <= 0xdfff))
			return -1;
		if (c >= 0x10000) {
			out[k++] = (uint16_t)(0xd800 + ((c - 0x10000) >> 10));
			c = 0xdc00 + (c & 0x3ff);
		}
		out[k++] = (uint16_t)c;
		i += more + 1;
	}
	return k;
}

static int sign(int v)
{
	return (v > 0) - (v < 0);
}

/* v's ECMAScript form reads back as v; with one significant digit fewer,
 * the nearest decimal does not. */
static void check_number(double v)
{
	char out[32], tmp[48];
	int n = json_fmt_number(v, out);
	if (isnan(v) || isinf(v)) {
		if (n != -1)
			abort();
		return;
	}
	if (n <= 0 || n >= 32 || (size_t)n != strlen(out) ||
	    strtod(out, NULL) != v)
		abort();
	int digits = 0, zeros = 0, lead = 1;
	for (const char *p = out; *p != '\0' && *p != 'e'; p++) {
		if (*p < '0' || *p > '9')
			continue;
		lead &= *p == '0';
		if (lead)
			continue;
		digits++;
		zeros = *p == '0' ? zeros + 1 : 0;
	}
	if (strchr(out, '.') == NULL)
		digits -= zeros; /* an integer's trailing zeros */
	if (digits > 1) {
		snprintf(tmp, sizeof(tmp), "%.*e", digits - 2, v);
		if (strtod(tmp, NULL) == v)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint16_t u[3][65536];
	double v;
	if (size < 8)
		return 0;
	memcpy(&v, data, 8);
	check_number(v);
	data += 8;
	size -= 8;

	/* Three keys: cut at 1/3 and 2/3. */
	const char *k[3] = {(const char *)data, (const char *)data + size / 3,
			    (const char *)data + 2 * size / 3};
	size_t len[3] = {size / 3, 2 * size / 3 - size / 3,
			 size - 2 * size / 3};
	int c[3][3];
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 3; j++)
			c[i][j] =
			    sign(json_key_cmp(k[i], len[i], k[j], len[j]));
	for (int i = 0; i < 3; i++) {
		if (c[i][i] != 0)
			abort();
		for (int j = 0; j < 3; j++) {
			if (c[i][j] != -c[j][i])
				abort();
			for (int l = 0; l < 3; l++)
				if (c[i][j] < 0 && c[j][l] < 0 && c[i][l] >= 0)
					abort();
		}
	}
	long n0 = to_utf16((const uint8_t *)k[0], len[0], u[0]);
	long n1 = to_utf16((const uint8_t *)k[1], len[1], u[1]);
	if (n0 >= 0 && n1 >= 0) {
		long m = n0 < n1 ? n0 : n1, i = 0;
		while (i < m && u[0][i] == u[1][i])
			i++;
		int want =
		    i < m ? (u[0][i] < u[1][i] ? -1 : 1) : sign((int)(n0 - n1));
		if (want != c[0][1])
			abort();
	}
	return 0;
}
