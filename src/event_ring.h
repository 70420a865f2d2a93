/* event_ring.h -- events serialised once, the newest kept in a ring, and
 * the walk that serves any cursor from the ring or the store.
 *
 * Owns: every struct event_ring_event (refcounted), the ring of the newest
 * EVENT_RING_SIZE, and the reading of new events from a store connection
 * it is lent (it does not open or close it).
 *
 *   struct event_ring r;
 *   event_ring_init(&r, store, last_id);    // the ring starts after last_id
 *   event_ring_read(&r, &n);                // the next batch from the store
 *   event_ring_walk(&r, cursor, fn, ctx);   // every event after cursor
 *   event_ring_reset(&r, id);               // the database was replaced
 *   event_ring_release(&r);
 *
 * Invariants: the ring holds every event with base < id <= last_id, in id
 * order (ids may have holes); an event is serialised once (its SSE frame,
 * then its long-poll fragment) and shared: whoever keeps a pointer to its
 * bytes past the current call takes a reference.  Walking below base reads
 * the store (EVENT_RING_CATCHUP_BATCH at a time); events the log no longer
 * has give EC_NOT_FOUND rather than a silent skip.  One thread.
 *
 * May call: store.h (reads only), sse.h, longpoll.h, buf.h, log.h.  Never a
 * socket, never a waiter.  To extend: a new wire format of an event is one
 * more serialisation in event_ring_event_new() and a length field here.
 */
#ifndef EMITCGI_EVENT_RING_H
#define EMITCGI_EVENT_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"

struct store;

#define EVENT_RING_SIZE 4096		/* recent events kept; power of 2 */
#define EVENT_RING_READ_BATCH 256	/* events per store read */
#define EVENT_RING_CATCHUP_BATCH 64	/* events per catch-up read */
#define EVENT_RING_EVENT_MAX (8u << 20) /* one serialised event */

/* One event, serialised once, shared by the ring and write batches. */
struct event_ring_event {
	int64_t id;
	int refs;
	uint32_t sse_len;  /* text[0..sse_len): the SSE frame */
	uint32_t json_len; /* then the long-poll fragment, no comma */
	char text[];
};

struct event_ring {
	struct store *store; /* lent */
	struct event_ring_event *ev[EVENT_RING_SIZE];
	size_t head, len;
	int64_t last_id; /* newest event read */
	int64_t base;	 /* the ring holds every event after this id */
	struct buf fmt;	 /* scratch: one event being serialised */
};

void event_ring_init(struct event_ring *r, struct store *store,
		     int64_t last_id);
void event_ring_release(struct event_ring *r);

static inline void event_ring_event_ref(struct event_ring_event *ev)
{
	ev->refs++;
}
void event_ring_event_unref(struct event_ring_event *ev);

/* Reads up to EVENT_RING_READ_BATCH events after last_id into the ring;
 * *n is how many.  A store error is returned as it is. */
enum ecode event_ring_read(struct event_ring *r, size_t *n);

/* Empties the ring and starts it again after last (the newest id went
 * down: the database was replaced). */
void event_ring_reset(struct event_ring *r, int64_t last);

/* Called by event_ring_walk() per event; false stops the walk.  ev is
 * valid during the call only (take a reference to keep it). */
typedef bool event_ring_walk_fn(void *ctx, struct event_ring_event *ev);

/* Calls fn for every event after cursor that the ring knows of (id <=
 * last_id), in id order, until fn returns false: from the store below
 * base, then from the ring.  EC_NOT_FOUND when events after cursor are no
 * longer in the log; a store error is returned as it is. */
enum ecode event_ring_walk(struct event_ring *r, int64_t cursor,
			   event_ring_walk_fn *fn, void *ctx);

#endif
