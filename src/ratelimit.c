/* ratelimit.c -- token buckets keyed by a short string (see ratelimit.h).
 *
 * Open addressing over a power-of-two table, FNV-1a hash, a probe window of
 * RATELIMIT_PROBE slots.  Tokens are kept in thousandths so that the
 * arithmetic stays in integers: a bucket holds per_minute * 1000 and gains
 * per_minute per elapsed second, i.e. per_minute / 60 tokens a second
 * (elapsed_ms * per_minute / 60 thousandths).
 *
 * May call: nothing but libc and pthreads.  To add a limit: one more
 * struct ratelimit where the policy lives (api.c), never a second table.
 */
#include "autoconfig.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ratelimit.h"

#define RATELIMIT_PROBE 8
#define RATELIMIT_MILLI 1000

struct ratelimit_slot {
	char key[RATELIMIT_KEY_MAX + 1]; /* "" when free */
	int64_t milli;			 /* tokens * 1000 */
	int64_t last_ms;		 /* last refill */
};

struct ratelimit {
	pthread_mutex_t lock;
	int per_minute;
	size_t mask;
	struct ratelimit_slot *slots;
};

struct ratelimit *ratelimit_new(int per_minute, size_t slots)
{
	struct ratelimit *rl;
	size_t n = 16;

	while (n < slots && n < ((size_t)1 << 24))
		n <<= 1;
	if (!(rl = calloc(1, sizeof(*rl))))
		return NULL;
	if (!(rl->slots = calloc(n, sizeof(*rl->slots)))) {
		free(rl);
		return NULL;
	}
	if (pthread_mutex_init(&rl->lock, NULL) != 0) {
		free(rl->slots);
		free(rl);
		return NULL;
	}
	rl->per_minute = per_minute > 0 ? per_minute : 0;
	rl->mask = n - 1;
	return rl;
}

void ratelimit_free(struct ratelimit *rl)
{
	if (!rl)
		return;
	(void)pthread_mutex_destroy(&rl->lock);
	free(rl->slots);
	free(rl);
}

static uint64_t ratelimit_hash(const char *key)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *key; key++) {
		h ^= (unsigned char)*key;
		h *= 1099511628211ULL;
	}
	return h;
}

/* The slot of key: its own, else a free one, else the one used longest
 * ago in the window (given to key with a full bucket). */
static struct ratelimit_slot *ratelimit_slot(struct ratelimit *rl,
					     const char *key, int64_t now_ms)
{
	struct ratelimit_slot *s, *victim = NULL;
	size_t i = (size_t)ratelimit_hash(key);

	for (int p = 0; p < RATELIMIT_PROBE; p++) {
		s = &rl->slots[(i + (size_t)p) & rl->mask];
		if (strcmp(s->key, key) == 0)
			return s;
		if (!victim || (victim->key[0] &&
				(!s->key[0] || s->last_ms < victim->last_ms)))
			victim = s;
	}
	snprintf(victim->key, sizeof(victim->key), "%s", key);
	victim->milli = (int64_t)rl->per_minute * RATELIMIT_MILLI;
	victim->last_ms = now_ms;
	return victim;
}

bool ratelimit_take(struct ratelimit *rl, const char *key, int64_t now_ms,
		    int *retry_after_s)
{
	char k[RATELIMIT_KEY_MAX + 1];
	struct ratelimit_slot *s;
	int64_t full, missing, elapsed;
	bool ok;

	if (!rl || rl->per_minute == 0)
		return true;
	snprintf(k, sizeof(k), "%s", key ? key : "");
	full = (int64_t)rl->per_minute * RATELIMIT_MILLI;
	(void)pthread_mutex_lock(&rl->lock);
	s = ratelimit_slot(rl, k, now_ms);
	elapsed = now_ms - s->last_ms;
	if (elapsed > 0) {
		/* per_minute/60 tokens a second = per_minute/60 milli a ms;
		 * last_ms moves only by the time actually turned into
		 * tokens, so frequent takes lose no fraction. */
		int64_t add = elapsed * rl->per_minute / 60;

		if (add > 0) {
			s->milli += add;
			s->last_ms += add * 60 / rl->per_minute;
		}
		if (s->milli >= full) {
			s->milli = full;
			s->last_ms = now_ms;
		}
	}
	ok = s->milli >= RATELIMIT_MILLI;
	if (ok)
		s->milli -= RATELIMIT_MILLI;
	missing = RATELIMIT_MILLI - s->milli;
	(void)pthread_mutex_unlock(&rl->lock);
	if (!ok && retry_after_s) {
		/* ms until one token: missing milli at per_minute/60 a ms */
		int64_t ms =
			(missing * 60 + rl->per_minute - 1) / rl->per_minute;

		*retry_after_s = (int)((ms + 999) / 1000);
		if (*retry_after_s < 1)
			*retry_after_s = 1;
	}
	return ok;
}
