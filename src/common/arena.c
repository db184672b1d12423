#include "common/arena.h"

#include <stdint.h>
#include <stdlib.h>

struct block {
	struct block *next;
	size_t size;
	size_t used;
	_Alignas(16) unsigned char data[];
};

struct arena {
	struct block *head;
	size_t block_size;
	size_t used;
};

struct arena *arena_new(size_t block_size)
{
	struct arena *a = calloc(1, sizeof(*a));
	if (a == NULL)
		return NULL;
	a->block_size = block_size < 1024 ? 1024 : block_size;
	return a;
}

static void free_blocks(struct block *b)
{
	while (b != NULL) {
		struct block *next = b->next;
		free(b);
		b = next;
	}
}

void arena_free(struct arena *a)
{
	if (a == NULL)
		return;
	free_blocks(a->head);
	free(a);
}

void arena_reset(struct arena *a)
{
	if (a->head == NULL)
		return;
	/* Keep the most recent block (usually the largest); drop the rest. */
	free_blocks(a->head->next);
	a->head->next = NULL;
	a->head->used = 0;
	a->used = 0;
}

void *arena_alloc(struct arena *a, size_t n)
{
	if (n > SIZE_MAX - 32)
		return NULL;
	n = (n + 15) & ~(size_t)15;
	struct block *b = a->head;
	if (b == NULL || b->size - b->used < n) {
		size_t size = a->block_size;
		while (size < n)
			size *= 2;
		b = malloc(sizeof(*b) + size);
		if (b == NULL)
			return NULL;
		b->size = size;
		b->used = 0;
		b->next = a->head;
		a->head = b;
	}
	void *p = b->data + b->used;
	b->used += n;
	a->used += n;
	return p;
}

size_t arena_used(const struct arena *a)
{
	return a->used;
}
