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
	/* Two steps: the message is cut at DIAG_MAX on purpose. */
	int n = snprintf(d->msg, sizeof(d->msg), "%s: ", pre);
	if (n > 0 && (size_t)n < sizeof(d->msg))
		snprintf(d->msg + n, sizeof(d->msg) - (size_t)n, "%s", old);
}
