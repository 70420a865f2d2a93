/* session_cache.h -- what one process knows of the sessions its clients
 * poll with, so that a re-poll needs no database (issue 8).
 *
 * A fixed table of SESSION_CACHE_SLOTS entries, direct-mapped by the
 * session key (auth_sid_hash(): already a hash, so its first hex digits
 * spread evenly); a newer entry replaces an older one in its slot.  The
 * cache is pure and single-threaded: conn.c owns one on the loop thread,
 * fills it from what a worker found (api_wait) and reads it in the
 * worker-free re-poll path (conn_fast.c).
 *
 * Validity is by generation, never by time alone: an entry holds the
 * generation it was read under (hub_sessions_gen(): bumped by every
 * "user" event the hub reads -- login, logout, reap -- and when the
 * database is replaced) and is found only under that same generation,
 * so dropping everything is one counter increment.  Expiry is checked at
 * every look-up against the entry's expires_ms.
 *
 *   struct session_cache c;
 *   session_cache_init(&c);
 *   session_cache_put(&c, &entry);          // entry.gen set by the caller
 *   e = session_cache_get(&c, key, gen, now_ms);   // NULL: ask the store
 *   session_cache_release(&c);
 *
 * May call: nothing but libc.  To extend (a field a fast path needs): a
 * field in struct session_cache_entry, filled where conn_job.c puts it.
 */
#ifndef EMITCGI_SESSION_CACHE_H
#define EMITCGI_SESSION_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define SESSION_CACHE_SLOTS 4096 /* power of two */
#define SESSION_CACHE_KEY_LEN 64 /* hex of the session key */

struct session_cache_entry {
	char key[SESSION_CACHE_KEY_LEN]; /* not NUL-terminated */
	uint64_t gen;			 /* 0: free */
	int64_t session_id;
	int64_t user_id;
	int64_t expires_ms; /* wall clock: refused from then on */
	int64_t seen_ms;    /* last_seen known to be in the store */
};

struct session_cache {
	struct session_cache_entry *slots; /* NULL until the first put */
	bool any;			   /* a put ever succeeded */
};

void session_cache_init(struct session_cache *c);
void session_cache_release(struct session_cache *c);

/* Stores e (e->gen must be non-zero) in its slot, replacing what was
 * there.  EC_NOMEM when the table cannot be allocated (nothing cached). */
enum ecode session_cache_put(struct session_cache *c,
			     const struct session_cache_entry *e);

/* The entry of key (SESSION_CACHE_KEY_LEN hex digits) stored under gen
 * and not expired at now_ms (wall clock), or NULL.  The pointer is valid
 * until the next put or drop. */
const struct session_cache_entry *
session_cache_get(const struct session_cache *c, const char *key, uint64_t gen,
		  int64_t now_ms);

/* Forgets key's entry, if any. */
void session_cache_drop(struct session_cache *c, const char *key);

/* True when nothing was ever stored: callers skip their look-up work. */
bool session_cache_empty(const struct session_cache *c);

#endif
