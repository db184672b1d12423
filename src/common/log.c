#include "common/log.h"

#include "common/time.h"

#include <stdarg.h>
#include <stdio.h>

static enum log_level level = LOG_WARN;

void log_set_level(enum log_level lvl)
{
	level = lvl;
}

void log_msg(enum log_level lvl, const char *component, const char *fmt, ...)
{
	static const char *names[] = {"error", "warn", "info", "debug"};
	if (lvl > level)
		return;
	char ts[TS_BUFSZ];
	ts_format_ms(time_now(), ts);
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One write per line so that lines from threads do not interleave. */
	fprintf(stderr, "%s %s %s: %s\n", ts, names[lvl], component, line);
}
