/*
 * strait: throttling of authentication failures, keyed on (client
 * address, account name tried). A fixed table, so an attacker who sprays
 * addresses or names cannot grow the server; blocked keys are the last to
 * be evicted. Nothing here sleeps: a blocked attempt is answered at once
 * with the seconds left, which the HTTP layer turns into 429 + Retry-After.
 */
#include "auth/auth_int.h"

#include "common/time.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define PROBE 8 /* slots a key may live in, from its home slot */

struct tslot {
	uint64_t key;	 /* 0 = empty */
	unsigned count;	 /* failures in the current window */
	unsigned n_over; /* failures from the threshold on; 0 = not yet */
	double window_start, last_fail, last_use, blocked_until;
};

struct auth_throttle {
	struct auth_throttle_cfg cfg;
	pthread_mutex_t mu;
	uint8_t key[crypto_generichash_KEYBYTES];
	size_t mask;
	struct tslot *slots;
};

void auth_throttle_cfg_default(struct auth_throttle_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->threshold = 10;
	cfg->window = 60;
	cfg->max_block = 300;
	cfg->forget = 900;
	cfg->slots = 4096;
}

static double real_clock(void *ctx)
{
	(void)ctx;
	return time_mono();
}

struct auth_throttle *auth_throttle_new(const struct auth_throttle_cfg *cfg)
{
	struct auth_throttle *t = calloc(1, sizeof(*t));
	if (t == NULL || sodium_init() < 0)
		goto fail;
	if (cfg != NULL)
		t->cfg = *cfg;
	else
		auth_throttle_cfg_default(&t->cfg);
	if (t->cfg.clock == NULL)
		t->cfg.clock = real_clock;
	if (t->cfg.threshold == 0)
		t->cfg.threshold = 1;
	size_t n = PROBE;
	while (n < t->cfg.slots)
		n *= 2;
	t->mask = n - 1;
	t->slots = calloc(n, sizeof(*t->slots));
	if (t->slots == NULL)
		goto fail;
	randombytes_buf(t->key, sizeof(t->key));
	pthread_mutex_init(&t->mu, NULL);
	return t;
fail:
	free(t);
	return NULL;
}

void auth_throttle_free(struct auth_throttle *t)
{
	if (t == NULL)
		return;
	pthread_mutex_destroy(&t->mu);
	free(t->slots);
	free(t);
}

/* Keyed BLAKE2b of "addr\0name" under the table's random key (so nobody
 * can aim keys at one bucket), never 0. */
static uint64_t key_of(const struct auth_throttle *t, const char *addr,
		       const char *name)
{
	crypto_generichash_state st;
	uint8_t h[crypto_generichash_BYTES_MIN];
	const char *x = addr != NULL ? addr : "";
	const char *y = name != NULL ? name : "";
	uint64_t k = 0;
	crypto_generichash_init(&st, t->key, sizeof(t->key), sizeof(h));
	crypto_generichash_update(&st, (const uint8_t *)x, strlen(x) + 1);
	crypto_generichash_update(&st, (const uint8_t *)y, strlen(y));
	crypto_generichash_final(&st, h, sizeof(h));
	for (size_t i = 0; i < 8; i++)
		k = k << 8 | h[i];
	return k != 0 ? k : 1;
}

static bool stale(const struct auth_throttle *t, const struct tslot *s,
		  double now)
{
	return s->key == 0 ||
	       (s->blocked_until <= now && now - s->last_use >= t->cfg.forget);
}

/* The slot of key, or (with make) a slot for it, evicting if need be;
 * NULL without make when absent. Caller holds mu. */
static struct tslot *find(struct auth_throttle *t, uint64_t key, double now,
			  bool make)
{
	size_t home = (size_t)key & t->mask;
	struct tslot *free_slot = NULL, *lru = NULL, *soonest = NULL;
	for (size_t k = 0; k < PROBE; k++) {
		struct tslot *s = &t->slots[(home + k) & t->mask];
		if (s->key == key)
			return s;
		if (!make)
			continue;
		if (stale(t, s, now)) {
			if (free_slot == NULL)
				free_slot = s;
		} else if (s->blocked_until <= now) {
			if (lru == NULL || s->last_use < lru->last_use)
				lru = s;
		} else if (soonest == NULL ||
			   s->blocked_until < soonest->blocked_until) {
			soonest = s;
		}
	}
	if (!make)
		return NULL;
	struct tslot *s = free_slot ? free_slot : lru ? lru : soonest;
	memset(s, 0, sizeof(*s));
	s->key = key;
	s->window_start = now;
	return s;
}

static unsigned left(const struct tslot *s, double now)
{
	if (s == NULL || s->blocked_until <= now)
		return 0;
	double secs = s->blocked_until - now;
	unsigned whole = (unsigned)secs; /* rounded up: Retry-After */
	return whole < secs ? whole + 1 : whole < 1 ? 1 : whole;
}

unsigned auth_throttle_check(struct auth_throttle *t, const char *addr,
			     const char *name, bool cert_verified)
{
	if (cert_verified)
		return 0;
	uint64_t key = key_of(t, addr, name);
	pthread_mutex_lock(&t->mu);
	double now = t->cfg.clock(t->cfg.clock_ctx);
	unsigned r = left(find(t, key, now, false), now);
	pthread_mutex_unlock(&t->mu);
	return r;
}

/* min(2^n, max) seconds. */
static double block_for(const struct auth_throttle *t, unsigned n)
{
	double b = n >= 31 ? (double)(1u << 31) : (double)(1u << n);
	return b < t->cfg.max_block ? b : t->cfg.max_block;
}

unsigned auth_throttle_failure(struct auth_throttle *t, const char *addr,
			       const char *name, bool cert_verified)
{
	if (cert_verified)
		return 0;
	uint64_t key = key_of(t, addr, name);
	pthread_mutex_lock(&t->mu);
	double now = t->cfg.clock(t->cfg.clock_ctx);
	struct tslot *s = find(t, key, now, true);
	if (s->last_fail > 0 && now - s->last_fail >= t->cfg.forget &&
	    s->blocked_until <= now) {
		s->count = 0;
		s->n_over = 0;
		s->window_start = now;
	}
	if (s->n_over == 0) {
		if (now - s->window_start >= t->cfg.window) {
			s->window_start = now;
			s->count = 0;
		}
		if (++s->count >= t->cfg.threshold)
			s->n_over = 1;
	} else if (s->n_over < UINT32_MAX) {
		s->n_over++;
	}
	if (s->n_over > 0)
		s->blocked_until = now + block_for(t, s->n_over);
	s->last_fail = now;
	s->last_use = now;
	unsigned r = left(s, now);
	pthread_mutex_unlock(&t->mu);
	return r;
}

void auth_throttle_success(struct auth_throttle *t, const char *addr,
			   const char *name)
{
	uint64_t key = key_of(t, addr, name);
	pthread_mutex_lock(&t->mu);
	double now = t->cfg.clock(t->cfg.clock_ctx);
	struct tslot *s = find(t, key, now, false);
	if (s != NULL)
		memset(s, 0, sizeof(*s));
	pthread_mutex_unlock(&t->mu);
}
