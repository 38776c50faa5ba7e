/* schedule.c - the seeded schedule: xoshiro256** (seeded by splitmix64) shuffles the sorted
 * tags and draws every duration and wait, so a seed reproduces a run on any machine. */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "common/mem.h"
#include "run/run.h"

struct rng {
	uint64_t s[4];
};

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t next(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

/* A uniform integer in [0, n) without modulo bias (rejection sampling). */
static uint64_t below(struct rng *r, uint64_t n)
{
	uint64_t limit = UINT64_MAX - UINT64_MAX % n, x;

	do {
		x = next(r);
	} while (x >= limit);
	return x % n;
}

static int between(struct rng *r, int lo, int hi)
{
	if (hi <= lo)
		return lo;
	return lo + (int)below(r, (uint64_t)(hi - lo) + 1);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void run_schedule_make(const struct lo2_strv *tags, uint64_t seed, int dmin, int dmax, int wmin, int wmax,
                       struct run_schedule *out)
{
	struct rng r;
	uint64_t x = seed;
	char **order = xcalloc(tags->n + 1, sizeof(*order));

	for (int i = 0; i < 4; i++)
		r.s[i] = splitmix64(&x);
	memcpy(order, tags->v, tags->n * sizeof(*order));
	qsort(order, tags->n, sizeof(*order), cmp_str);
	for (size_t i = tags->n; i > 1; i--) {
		size_t j = (size_t)below(&r, i);
		char *t = order[i - 1];

		order[i - 1] = order[j];
		order[j] = t;
	}
	out->seed = seed;
	out->n = tags->n;
	out->tests = xcalloc(tags->n + 1, sizeof(*out->tests));
	for (size_t i = 0; i < tags->n; i++) {
		out->tests[i].tag = xstrdup(order[i]);
		out->tests[i].duration_s = between(&r, dmin, dmax);
		out->tests[i].wait_s = between(&r, wmin, wmax);
	}
	free(order);
}

void run_schedule_free(struct run_schedule *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++) {
		free(s->tests[i].tag);
		free(s->tests[i].load_tag);
	}
	free(s->tests);
	memset(s, 0, sizeof(*s));
}

uint64_t run_seed_random(void)
{
	uint64_t seed;

	if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
		seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	return seed;
}
