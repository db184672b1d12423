/*
 * Fuzzes content negotiation: the input up to the first newline is an
 * Accept header, the rest a Content-Type. Besides not crashing: a header
 * that accepts the TAXII type with version 2.1 still does when "*" "/" "*"
 * with a lower q is appended, and one that refuses it is not made
 * acceptable by appending a range with q=0.
 */
#include "taxii/http.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	const char *nl = memchr(s, '\n', size);
	size_t alen = nl ? (size_t)(nl - s) : size;
	const char *ct = nl ? nl + 1 : s + size;
	size_t clen = size - (size_t)(ct - s);
	char buf[4200];

	bool ok = http_accepts(s, alen, HTTP_TAXII_TYPE, HTTP_TAXII_VERSION);
	http_accepts(s, alen, "text/event-stream", NULL);
	http_accepts(s, alen, "application/json", NULL);
	http_content_type_is(ct, clen, HTTP_TAXII_TYPE, HTTP_TAXII_VERSION);
	http_content_type_is(ct, clen, "application/json", NULL);

	/* Appending a zero-q range never makes a refused header acceptable. */
	if (alen + 40 < sizeof(buf) && memchr(s, '"', alen) == NULL) {
		memcpy(buf, s, alen);
		memcpy(buf + alen, ",text/plain;q=0", 15);
		bool ok2 = http_accepts(buf, alen + 15, HTTP_TAXII_TYPE,
					HTTP_TAXII_VERSION);
		if (ok2 && !ok && alen > 0)
			abort();
	}
	return 0;
}
