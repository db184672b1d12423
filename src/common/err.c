#include "common/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
	int code;
	const char *text;
} err_table[] = {
    {ST_OK, "success"},
    {ST_ENOMEM, "out of memory"},
    {ST_EINVAL, "invalid argument"},
    {ST_EJSON, "malformed JSON"},
    {ST_ELIMIT, "limit exceeded"},
    {ST_EIO, "input/output error"},
    {ST_ENOTFOUND, "not found"},
    {ST_EEXIST, "already exists"},
    {ST_ECONFLICT, "conflicting content"},
    {ST_ESTORE, "store error"},
    {ST_ESTIX, "invalid STIX object"},
    {ST_ECONFIG, "configuration error"},
    {ST_ERANGE, "value out of range"},
    {ST_ECLOSED, "closed"},
    {ST_EAUTH, "signature does not verify"},
};

const char *st_strerror(int err)
{
	for (size_t i = 0; i < sizeof(err_table) / sizeof(err_table[0]); i++) {
		if (err_table[i].code == err)
			return err_table[i].text;
	}
	return "unknown error";
}

int diag_set(struct diag *d, int err, const char *fmt, ...)
{
	if (d != NULL) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
		va_end(ap);
	}
	return err;
}

void diag_prefix(struct diag *d, const char *fmt, ...)
{
	if (d == NULL)
		return;
	char pre[DIAG_MAX];
	char old[DIAG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(pre, sizeof(pre), fmt, ap);
	va_end(ap);
	memcpy(old, d->msg, sizeof(old));
	/* Prefix, ": ", then as much of the old message as fits. */
	size_t cap = sizeof(d->msg) - 1;
	size_t n = strlen(pre);
	if (n > cap)
		n = cap;
	memcpy(d->msg, pre, n);
	for (const char *sep = ": "; *sep != '\0' && n < cap; sep++)
		d->msg[n++] = *sep;
	size_t rest = strlen(old);
	if (rest > cap - n)
		rest = cap - n;
	memcpy(d->msg + n, old, rest);
	d->msg[n + rest] = '\0';
}
