/* strait: lock-free wake-ups on a generation word; see wake.h. */
/* syscall(2) is declared only beyond POSIX; this file alone asks for it. */
#define _DEFAULT_SOURCE
#include "common/wake.h"

#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

_Static_assert(sizeof(wake_gen) == sizeof(uint32_t), "a futex is 32 bits");

void wake_wait(wake_gen *g, uint32_t seen, int timeout_ms)
{
	struct timespec ts, *tp = NULL;
	if (timeout_ms == 0)
		return;
	if (timeout_ms > 0) {
		ts.tv_sec = timeout_ms / 1000;
		ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
		tp = &ts;
	}
	/* The relative timeout of FUTEX_WAIT runs on CLOCK_MONOTONIC. */
	syscall(SYS_futex, (uint32_t *)g, FUTEX_WAIT_PRIVATE, seen, tp, NULL,
		0);
}

void wake_all(wake_gen *g)
{
	atomic_fetch_add(g, 1);
	syscall(SYS_futex, (uint32_t *)g, FUTEX_WAKE_PRIVATE, INT_MAX, NULL,
		NULL, 0);
}
