/*
 * strait: waking many waiters at once without a lock (Linux futex).
 *
 * A generation word that a publisher bumps after it has stored what the
 * waiters look at. A waiter reads the generation, checks its condition,
 * and sleeps only while the generation is still the one it read, so a
 * bump between the check and the sleep is never missed. A thousand stream
 * subscribers woken this way each go straight back to work; with a
 * condition variable each would first queue on the mutex to re-lock it.
 */
#ifndef STRAIT_COMMON_WAKE_H
#define STRAIT_COMMON_WAKE_H

#include <stdatomic.h>
#include <stdint.h>

typedef _Atomic uint32_t wake_gen;

/* The generation to pass to wake_wait, read before checking. */
static inline uint32_t wake_load(wake_gen *g)
{
	return atomic_load(g);
}

/* Sleeps while *g == seen, at most timeout_ms (< 0: no bound). Returns
 * early on a bump, a signal or a spurious wake-up: re-check after. */
void wake_wait(wake_gen *g, uint32_t seen, int timeout_ms);

/* Bumps the generation and wakes every waiter. */
void wake_all(wake_gen *g);

#endif
