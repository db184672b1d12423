#include "common/time.h"

#include "common/err.h"

#include <stdbool.h>
#include <stdio.h>
#include <time.h>

static bool is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
	static const int dim[12] = {31, 28, 31, 30, 31, 30,
				    31, 31, 30, 31, 30, 31};
	return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static bool digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

int ts_parse(const char *s, size_t len, st_time *out, int *frac_digits)
{
	int y, mo, d, h, mi, sec;
	if (len < 20 || !digits(s, 4, &y) || s[4] != '-' ||
	    !digits(s + 5, 2, &mo) || s[7] != '-' || !digits(s + 8, 2, &d) ||
	    s[10] != 'T' || !digits(s + 11, 2, &h) || s[13] != ':' ||
	    !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &sec))
		return ST_EINVAL;
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 ||
	    mi > 59 || sec > 60)
		return ST_EINVAL;
	size_t i = 19;
	int64_t frac = 0;
	int nfrac = 0;
	if (s[i] == '.') {
		i++;
		while (i < len && s[i] >= '0' && s[i] <= '9') {
			if (nfrac < 6)
				frac = frac * 10 + (s[i] - '0');
			nfrac++;
			i++;
		}
		if (nfrac == 0)
			return ST_EINVAL;
	}
	if (i + 1 != len || s[i] != 'Z')
		return ST_EINVAL;
	for (int k = nfrac; k < 6; k++)
		frac *= 10;
	int64_t days = days_from_civil(y, mo, d);
	int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec;
	*out = secs * 1000000 + frac;
	if (frac_digits != NULL)
		*frac_digits = nfrac;
	return ST_OK;
}

static void split_time(st_time t, int64_t *y, int *mo, int *d, int *h, int *mi,
		       int *s, int64_t *us)
{
	int64_t secs = t / 1000000;
	*us = t % 1000000;
	if (*us < 0) {
		*us += 1000000;
		secs--;
	}
	int64_t days = secs / 86400;
	int64_t rem = secs % 86400;
	if (rem < 0) {
		rem += 86400;
		days--;
	}
	civil_from_days(days, y, mo, d);
	*h = (int)(rem / 3600);
	*mi = (int)(rem / 60 % 60);
	*s = (int)(rem % 60);
}

/* Writes v as exactly w decimal digits at p (v < 10^w). */
static inline char *put_digits(char *p, int64_t v, int w)
{
	for (int i = w - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return p + w;
}

/* The common case without printf, which is a measurable share of what
 * a node does per object when it sends or receives a batch; fracw is 6
 * (microseconds) or 3 (milliseconds). */
static void format(st_time t, int fracw, char out[TS_BUFSZ])
{
	int64_t y, us;
	int mo, d, h, mi, s;
	split_time(t, &y, &mo, &d, &h, &mi, &s, &us);
	int64_t frac = fracw == 6 ? us : us / 1000 % 1000;
	if (y < 0 || y > 9999) {
		snprintf(out, TS_BUFSZ,
			 "%04lld-%02d-%02dT%02d:%02d:%02d.%0*lldZ",
			 (long long)y, mo, d, h, mi, s, fracw, (long long)frac);
		return;
	}
	char *p = put_digits(out, y, 4);
	*p++ = '-';
	p = put_digits(p, mo, 2);
	*p++ = '-';
	p = put_digits(p, d, 2);
	*p++ = 'T';
	p = put_digits(p, h, 2);
	*p++ = ':';
	p = put_digits(p, mi, 2);
	*p++ = ':';
	p = put_digits(p, s, 2);
	*p++ = '.';
	p = put_digits(p, frac, fracw);
	*p++ = 'Z';
	*p = '\0';
}

void ts_format(st_time t, char out[TS_BUFSZ])
{
	format(t, 6, out);
}

void ts_format_ms(st_time t, char out[TS_BUFSZ])
{
	format(t, 3, out);
}

st_time time_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (st_time)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

double time_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
