/* strait: growable byte buffers with a hard size cap. */
#ifndef STRAIT_COMMON_BUF_H
#define STRAIT_COMMON_BUF_H

#include <stdarg.h>
#include <stddef.h>

/*
 * A byte buffer that grows on demand but never beyond max bytes: every
 * buffer filled from the network or a file has a cap. data is always
 * NUL-terminated (the NUL is not counted in len) once anything was added.
 */
struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;
};

#define BUF_INIT(maxsize)             \
	{                             \
		NULL, 0, 0, (maxsize) \
	}

void buf_init(struct buf *b, size_t max);
/* Frees the storage; the buffer can be used again afterwards. */
void buf_free(struct buf *b);
/* Empties the buffer, keeping its storage. */
void buf_reset(struct buf *b);
/* Makes room for n more bytes (plus the NUL). ST_ELIMIT past max. */
int buf_reserve(struct buf *b, size_t n);
int buf_add(struct buf *b, const void *p, size_t n);
int buf_addc(struct buf *b, char c);
int buf_adds(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Hands the storage to the caller (free() it); the buffer is left empty. */
char *buf_take(struct buf *b, size_t *len);

#endif
