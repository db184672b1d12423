/* strait: STIX/TAXII timestamps and the clock. */
#ifndef STRAIT_COMMON_TIME_H
#define STRAIT_COMMON_TIME_H

#include <stddef.h>
#include <stdint.h>

/* Microseconds since 1970-01-01T00:00:00Z. */
typedef int64_t st_time;

/* Long enough for "YYYY-MM-DDTHH:MM:SS.ssssssZ" and its NUL. */
#define TS_BUFSZ 32

/*
 * Parses a STIX 2.1 timestamp: "YYYY-MM-DDTHH:MM:SS[.s+]Z", UTC, calendar
 * checked (month, day of month with leap years, hour < 24, minute < 60,
 * second <= 60 for a leap second). Fractional digits beyond microseconds are
 * accepted and truncated. *frac_digits (optional) receives how many
 * fractional digits were written. Returns ST_OK or ST_EINVAL.
 */
int ts_parse(const char *s, size_t len, st_time *out, int *frac_digits);

/* Formats as TAXII does, always with six fractional digits. */
void ts_format(st_time t, char out[TS_BUFSZ]);

/* Formats with millisecond precision, as STIX objects usually carry. */
void ts_format_ms(st_time t, char out[TS_BUFSZ]);

/* Wall clock, microseconds. */
st_time time_now(void);

/* Monotonic clock in seconds, for rates and progress. */
double time_mono(void);

#endif
