/*
 * Fuzzes the splitter. The first two bytes pick max_elem and the read
 * size; the rest is the input, split from memory and through a callback.
 * Every element must be the input's bytes at its offset, padded; errors
 * must name an offset within the input; and the two runs must agree: the
 * same elements and the same end, except that when both end in an error
 * one may have returned fewer elements, and the errors may be different
 * faults of the input (a container larger than max_elem is streamed
 * before its end is seen, while the look-ahead over memory sees it all).
 */
#include "common/json.h"
#include "common/split.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_EVENTS 4096

struct event {
	int rc;
	uint64_t off;
	size_t len;
};

struct feed {
	const char *p;
	size_t left, chunk;
};

static ssize_t feed_read(void *ctx, char *buf, size_t cap)
{
	struct feed *f = ctx;
	size_t n = f->left < f->chunk ? f->left : f->chunk;
	n = n < cap ? n : cap;
	memcpy(buf, f->p, n);
	f->p += n;
	f->left -= n;
	return (ssize_t)n;
}

/* Runs s to its end; returns the number of events, last one 0 or < 0. */
static size_t run(struct split *s, const char *in, size_t size,
		  struct event *ev)
{
	size_t n = 0;
	for (;;) {
		const char *e;
		struct diag d = {{0}};
		struct event x = {0, 0, 0};
		x.rc = split_next(s, &e, &x.len, &x.off, &d);
		if (x.rc == 1) {
			volatile char pad = 0;
			if (x.off > size || x.len > size - x.off ||
			    memcmp(in + x.off, e, x.len) != 0)
				abort();
			for (size_t k = 0; k < JSON_PADDING; k++)
				pad ^= e[x.len + k];
			(void)pad;
		}
		ev[n < MAX_EVENTS ? n++ : MAX_EVENTS - 1] =
		    x; /* keep the end */
		if (x.rc < 0) {
			unsigned long long at;
			if (sscanf(d.msg, "at byte %llu", &at) != 1 ||
			    at > size)
				abort();
		}
		if (x.rc == 0 || (x.rc < 0 && x.rc != ST_ELIMIT))
			return n;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct event a[MAX_EVENTS], b[MAX_EVENTS];
	if (size < 2)
		return 0;
	size_t max_elem = (size_t)data[0] * 8, chunk = 1 + data[1] % 64;
	const char *in = (const char *)data + 2;
	size -= 2;

	struct split *s = split_new_mem(in, size, max_elem);
	size_t na = run(s, in, size, a);
	split_free(s);
	struct feed f = {in, size, chunk};
	s = split_new(feed_read, &f, max_elem);
	size_t nb = run(s, in, size, b);
	split_free(s);

	size_t n = na < nb ? na : nb;
	for (size_t i = 0; i + 1 < n; i++)
		if (a[i].rc != b[i].rc || a[i].off != b[i].off ||
		    a[i].len != b[i].len)
			abort();
	if (a[na - 1].rc != b[nb - 1].rc || (a[na - 1].rc == 0 && na != nb))
		abort();
	return 0;
}
