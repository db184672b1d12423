/*
 * What one small durable write costs on a disk (the hotline benchmark's
 * floor, issue 6):
 *
 *   sync_probe FILE SECONDS [INTERVAL_MS]
 *
 * Every INTERVAL_MS (default 20) for SECONDS, writes 4 KiB at the start of
 * FILE and waits for fdatasync, as a hotline message's commit does. One
 * line per write to stdout: the wall-clock time it started (seconds) and
 * how long the write and the sync took (ms). Run beside a bulk
 * replication on the same disk, it shows what any durable write waits
 * for then, whoever makes it.
 */
#define _DEFAULT_SOURCE /* fdatasync */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	if (argc < 3 || argc > 4) {
		fprintf(stderr,
			"usage: sync_probe FILE SECONDS [INTERVAL_MS]\n");
		return 2;
	}
	double seconds = atof(argv[2]);
	int every = argc == 4 ? atoi(argv[3]) : 20;
	if (seconds <= 0 || every <= 0) {
		fprintf(stderr, "sync_probe: SECONDS and INTERVAL_MS must be "
				"positive\n");
		return 2;
	}
	int fd = open(argv[1], O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "sync_probe: %s: %s\n", argv[1],
			strerror(errno));
		return 1;
	}
	static char page[4096];
	double end = mono_ms() + seconds * 1e3;
	unsigned n = 0;
	while (mono_ms() < end) {
		struct timespec w;
		clock_gettime(CLOCK_REALTIME, &w);
		double t0 = mono_ms();
		memset(page, (int)(n++ & 0xff), sizeof(page));
		if (pwrite(fd, page, sizeof(page), 0) !=
			(ssize_t)sizeof(page) ||
		    fdatasync(fd) != 0) {
			fprintf(stderr, "sync_probe: %s: %s\n", argv[1],
				strerror(errno));
			close(fd);
			return 1;
		}
		double took = mono_ms() - t0;
		printf("%lld.%06ld %.3f\n", (long long)w.tv_sec,
		       w.tv_nsec / 1000, took);
		double rest = every - took;
		if (rest > 0) {
			long ns = (long)(rest * 1e6);
			struct timespec ts = {ns / 1000000000L,
					      ns % 1000000000L};
			nanosleep(&ts, NULL);
		}
	}
	close(fd);
	return 0;
}
