/* session_cache.c -- sessions a process has read, by key and generation
 * (see session_cache.h).
 *
 * Direct-mapped: the slot is the key's first 12 bits (the key is the hex
 * of a BLAKE2b hash, so they are uniform).  A collision replaces the older
 * entry: the loser's next poll reads the store again, which is always
 * right.  Invariant: an entry with gen 0 is free; a look-up compares the
 * whole key, the generation and the expiry, so a stale or foreign entry
 * is never returned.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "session_cache.h"

_Static_assert((SESSION_CACHE_SLOTS & (SESSION_CACHE_SLOTS - 1)) == 0,
	       "SESSION_CACHE_SLOTS is a power of two");

void session_cache_init(struct session_cache *c)
{
	c->slots = NULL;
	c->any = false;
}

void session_cache_release(struct session_cache *c)
{
	free(c->slots);
	session_cache_init(c);
}

static unsigned session_cache_hexval(char h)
{
	if (h >= '0' && h <= '9')
		return (unsigned)(h - '0');
	if (h >= 'a' && h <= 'f')
		return (unsigned)(h - 'a' + 10);
	if (h >= 'A' && h <= 'F')
		return (unsigned)(h - 'A' + 10);
	return 0;
}

static size_t session_cache_slot(const char *key)
{
	size_t v = 0;

	for (int i = 0; i < 4; i++)
		v = v << 4 | session_cache_hexval(key[i]);
	return v & (SESSION_CACHE_SLOTS - 1);
}

enum ecode session_cache_put(struct session_cache *c,
			     const struct session_cache_entry *e)
{
	struct session_cache_entry *slot;

	if (e->gen == 0)
		return EC_INTERNAL;
	if (!c->slots) {
		/* calloc: untouched pages of the table cost no memory. */
		c->slots = calloc(SESSION_CACHE_SLOTS, sizeof(*c->slots));
		if (!c->slots)
			return EC_NOMEM;
	}
	slot = &c->slots[session_cache_slot(e->key)];
	*slot = *e;
	c->any = true;
	return EC_OK;
}

const struct session_cache_entry *
session_cache_get(const struct session_cache *c, const char *key, uint64_t gen,
		  int64_t now_ms)
{
	const struct session_cache_entry *e;

	if (!c->slots || gen == 0)
		return NULL;
	e = &c->slots[session_cache_slot(key)];
	if (e->gen != gen || e->expires_ms <= now_ms ||
	    memcmp(e->key, key, SESSION_CACHE_KEY_LEN) != 0)
		return NULL;
	return e;
}

void session_cache_drop(struct session_cache *c, const char *key)
{
	struct session_cache_entry *e;

	if (!c->slots)
		return;
	e = &c->slots[session_cache_slot(key)];
	if (e->gen != 0 && memcmp(e->key, key, SESSION_CACHE_KEY_LEN) == 0)
		e->gen = 0;
}

bool session_cache_empty(const struct session_cache *c)
{
	return !c->any;
}
