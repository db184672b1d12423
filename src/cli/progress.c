/*
 * Progress for long work: on a terminal, one line redrawn in place at most
 * ten times a second (bar, count, rate); otherwise a plain line a second, so
 * logs and scripts can follow along.
 */
#include "cli/cli.h"

#include "common/time.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct progress {
	FILE *f;
	const char *what;
	uint64_t total; /* bytes expected, 0 when unknown */
	bool tty;
	double start;
	double last;
};

struct progress *progress_new(FILE *f, const char *what, uint64_t total)
{
	struct progress *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	p->f = f;
	p->what = what;
	p->total = total;
	p->tty = isatty(fileno(f)) == 1;
	p->start = time_mono();
	p->last = p->start;
	return p;
}

static void draw(struct progress *p, uint64_t seen, uint64_t done,
		 uint64_t bytes, double now, bool final)
{
	double secs = now - p->start;
	if (secs <= 0)
		secs = 1e-9;
	double rate = (double)seen / secs;
	double mbs = (double)bytes / secs / 1e6;
	if (p->tty) {
		char bar[33] = "";
		int pct = -1;
		if (p->total > 0) {
			pct = (int)(bytes * 100 / p->total);
			if (pct > 100)
				pct = 100;
			int fill = pct * 30 / 100;
			for (int i = 0; i < 30; i++)
				bar[i] =
				    i < fill ? '=' : (i == fill ? '>' : ' ');
			bar[30] = '\0';
			fprintf(p->f, "\r[%s] %3d%% ", bar, pct);
		} else {
			fputc('\r', p->f);
		}
		fprintf(p->f, "%llu read, %llu %s  %.0f/s  %.1f MB/s   ",
			(unsigned long long)seen, (unsigned long long)done,
			p->what, rate, mbs);
		if (final)
			fputc('\n', p->f);
	} else {
		fprintf(p->f,
			"progress: %llu %s, %llu read, %.0f/s, %.1f MB/s\n",
			(unsigned long long)done, p->what,
			(unsigned long long)seen, rate, mbs);
	}
	fflush(p->f);
}

void progress_update(struct progress *p, uint64_t seen, uint64_t done,
		     uint64_t bytes)
{
	if (p == NULL)
		return;
	double now = time_mono();
	double every = p->tty ? 0.1 : 1.0;
	if (now - p->last < every)
		return;
	p->last = now;
	draw(p, seen, done, bytes, now, false);
}

void progress_done(struct progress *p, uint64_t seen, uint64_t done,
		   uint64_t bytes)
{
	if (p == NULL)
		return;
	if (p->tty)
		draw(p, seen, done, bytes, time_mono(), true);
	free(p);
}
