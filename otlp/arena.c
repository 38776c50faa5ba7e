/* arena.c - the memory of one decoded request: chunks handed out in order and freed together
 * when the consumer is done with the request (protobuf-c allocates into it too). */
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "otlp/internal.h"

#define CHUNK_MIN (64 * 1024)

struct arena_chunk {
	struct arena_chunk *next;
	size_t size, used;
	_Alignas(16) unsigned char data[];
};

void *arena_alloc(struct otlp_arena *a, size_t n)
{
	struct arena_chunk *c = a->head;
	size_t need = (n + 15) & ~(size_t)15;

	if (need < n)
		abort();
	if (c == NULL || c->size - c->used < need) {
		size_t size = need > CHUNK_MIN ? need : CHUNK_MIN;

		c = xmalloc(sizeof(*c) + size);
		c->size = size;
		c->used = 0;
		a->bytes += sizeof(*c) + size;
		/* a large one-off allocation goes behind the current chunk, which keeps its room */
		if (a->head != NULL && size > CHUNK_MIN) {
			c->next = a->head->next;
			a->head->next = c;
		} else {
			c->next = a->head;
			a->head = c;
		}
	}
	c->used += need;
	return c->data + c->used - need;
}

void *arena_calloc(struct otlp_arena *a, size_t count, size_t n)
{
	void *p;

	if (n != 0 && count > SIZE_MAX / n)
		abort();
	p = arena_alloc(a, count * n);
	memset(p, 0, count * n);
	return p;
}

char *arena_strndup(struct otlp_arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void arena_free(struct otlp_arena *a)
{
	struct arena_chunk *c = a->head;

	while (c != NULL) {
		struct arena_chunk *next = c->next;

		free(c);
		c = next;
	}
	a->head = NULL;
	a->bytes = 0;
}
