/* strait: store internals shared by store.c, the backends and their tests. */
#ifndef STRAIT_STORE_STORE_INT_H
#define STRAIT_STORE_STORE_INT_H

#include "store/store.h"

#include <stddef.h>
#include <stdint.h>

/* STIX type names are 1..250 characters of [a-z0-9-]. */
#define STORE_TYPE_MAX 250
/* "type--uuid" and its NUL. */
#define STORE_ID_MAX (STORE_TYPE_MAX + 2 + 36 + 1)

/*
 * Splits "type--uuid": *type_len receives the length of the type (the id
 * begins with it) and uuid the 16 bytes. The UUID must be lowercase so
 * that the id formats back to the same bytes. ST_OK or ST_EINVAL.
 */
int store_id_split(const char *id, size_t *type_len, uint8_t uuid[16]);

/* The clock date_added is taken from: time_now() unless a test replaced
 * it. Backends read it once per write transaction. */
st_time store_clock_now(void);

/* For tests only: replaces the clock, process-wide; NULL restores
 * time_now(). */
typedef st_time (*store_clock_fn)(void);
void store_set_clock_for_test(store_clock_fn fn);

#endif
