/* hub_caps.c -- how many waiters each session and each user holds in
 * this hub, for the caps of issue 9 (EMITCGI_MAX_WAITERS_PER_SESSION,
 * EMITCGI_MAX_WAITERS_PER_USER; docs/SECURITY.md).
 *
 * hub_count_room() answers whether one more fits, hub_count_claim() and
 * hub_count_release() count a waiter in and out (hub_park() and the end
 * of a waiter's life).  Every call is made under hub->mu: hub_park() runs
 * on any thread.  A session or user id of 0 is not counted.
 *
 * May call: nothing but the table in struct hub (hub_int.h).
 */
#include "autoconfig.h"

#include "hub_int.h"

/* ---- waiters per session and per user (issue 9), under hub->mu ----
 *
 * One table for both: key 2*session_id or 2*user_id+1, linear probing,
 * deletion by backward shift (Knuth 6.4 algorithm R), so no tombstones.
 * Sized at hub_new() for twice max_waiters keys: never full. */

static size_t hub_count_find(struct hub *hub, int64_t key)
{
	size_t i = (size_t)((uint64_t)key * 0x9E3779B97F4A7C15ULL) &
		   hub->counts_mask;

	while (hub->counts[i].key && hub->counts[i].key != key)
		i = (i + 1) & hub->counts_mask;
	return i;
}

static int hub_count_get(struct hub *hub, int64_t key)
{
	return hub->counts ? hub->counts[hub_count_find(hub, key)].n : 0;
}

static void hub_count_add(struct hub *hub, int64_t key, int d)
{
	size_t i, j, k;

	if (!hub->counts)
		return;
	i = hub_count_find(hub, key);
	hub->counts[i].key = key;
	hub->counts[i].n += d;
	if (hub->counts[i].n > 0)
		return;
	/* Remove i, shifting back the entries whose probe passed it. */
	hub->counts[i].key = 0;
	hub->counts[i].n = 0;
	for (j = (i + 1) & hub->counts_mask; hub->counts[j].key;
	     j = (j + 1) & hub->counts_mask) {
		k = (size_t)((uint64_t)hub->counts[j].key *
			     0x9E3779B97F4A7C15ULL) &
		    hub->counts_mask;
		if ((j > i && (k <= i || k > j)) ||
		    (j < i && k <= i && k > j)) {
			hub->counts[i] = hub->counts[j];
			hub->counts[j].key = 0;
			hub->counts[j].n = 0;
			i = j;
		}
	}
}

bool hub_count_room(struct hub *hub, int64_t session_id, int64_t user_id)
{
	if (hub->opts.max_per_session > 0 && session_id > 0 &&
	    hub_count_get(hub, 2 * session_id) >= hub->opts.max_per_session)
		return false;
	if (hub->opts.max_per_user > 0 && user_id > 0 &&
	    hub_count_get(hub, 2 * user_id + 1) >= hub->opts.max_per_user)
		return false;
	return true;
}

void hub_count_claim(struct hub *hub, const struct waiter *w)
{
	if (w->session_id > 0)
		hub_count_add(hub, 2 * w->session_id, 1);
	if (w->user_id > 0)
		hub_count_add(hub, 2 * w->user_id + 1, 1);
}

void hub_count_release(struct hub *hub, const struct waiter *w)
{
	if (w->session_id > 0)
		hub_count_add(hub, 2 * w->session_id, -1);
	if (w->user_id > 0)
		hub_count_add(hub, 2 * w->user_id + 1, -1);
}
