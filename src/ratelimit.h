/* ratelimit.h -- token buckets keyed by a short string (issue 9).
 *
 * A struct ratelimit holds one bucket per key ("s:42" for a session,
 * "a:192.0.2.1" for an address) in a fixed table: a bucket holds up to
 * per_minute tokens (a minute's burst) and refills at per_minute / 60 per
 * second.  A request takes one token or is refused with the seconds until
 * one is back (429 + Retry-After in api.c).
 *
 *   struct ratelimit *rl = ratelimit_new(30, 4096);   30 a minute
 *   if (!ratelimit_take(rl, "a:192.0.2.1", clock_mono_ms(), &retry_s))
 *           refuse, Retry-After: retry_s
 *   ratelimit_free(rl);
 *
 * Invariants: per process and in memory (docs/SECURITY.md: N FastCGI
 * processes allow N times the rate; plain CGI, one process per request,
 * keeps nothing, so there only the database-backed login throttle acts).
 * The table never grows: when the probe window of a new key is full, the
 * bucket used longest ago is reused, which can only give its key a full
 * bucket again (never a refusal it did not earn).  Thread-safe (one mutex;
 * a take is a few dozen instructions).  per_minute 0 turns it off: every
 * take succeeds.
 */
#ifndef EMITCGI_RATELIMIT_H
#define EMITCGI_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RATELIMIT_KEY_MAX 80

struct ratelimit;

/* NULL on allocation failure.  slots is rounded up to a power of two. */
struct ratelimit *ratelimit_new(int per_minute, size_t slots);
void ratelimit_free(struct ratelimit *rl);

/* Takes a token from key's bucket (keys longer than RATELIMIT_KEY_MAX are
 * cut).  false when it is empty: *retry_after_s (may be NULL) gets the
 * whole seconds, at least 1, until a token is back.  now_ms is monotonic.
 * A NULL rl allows everything. */
bool ratelimit_take(struct ratelimit *rl, const char *key, int64_t now_ms,
		    int *retry_after_s);

#endif
