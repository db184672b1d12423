/* strait: region allocator for per-document and per-request memory. */
#ifndef STRAIT_COMMON_ARENA_H
#define STRAIT_COMMON_ARENA_H

#include <stddef.h>

/*
 * Allocations are carved out of large blocks and released all at once by
 * arena_reset() or arena_free(). Used for parsed JSON trees, which live
 * exactly as long as the document they came from.
 */
struct arena;

struct arena *arena_new(size_t block_size);
/* arena_free(NULL) is a no-op. */
void arena_free(struct arena *a);
/* Releases every allocation; keeps the first block for reuse. */
void arena_reset(struct arena *a);
/* 16-byte aligned; NULL when out of memory. */
void *arena_alloc(struct arena *a, size_t n);
/* Total bytes handed out since the last reset. */
size_t arena_used(const struct arena *a);

#endif
