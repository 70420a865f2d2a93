/* hub_sse.c -- the delivery policy of an SSE waiter (see hub_int.h).
 *
 * An SSE waiter stays parked and is sent every event after its cursor as
 * an SSE frame, several frames per write, zero-copy: the batch holds a
 * reference on each event until the write is done.  It gets ": ping"
 * every heartbeat_ms (skipped while bytes are pending: it is busy
 * anyway) and its stream ends after stream_max_ms (END_REQUEST; the
 * client reconnects with Last-Event-ID).  Events the log no longer has
 * end the stream too: the reconnect gets the reset.
 *
 * Timers: heartbeat and stream length are the same for every SSE waiter,
 * so two FIFO lists ordered by deadline serve them in O(1): the parked
 * list in park order (stream end), sse_pings (next heartbeat; a pinged
 * waiter moves to the tail).
 *
 * May call: hub_int.h, event_ring.h, sink.h.
 */
#include "autoconfig.h"

#include <stdint.h>

#include "hub_int.h"

static const char HUB_SSE_PING[] = ": ping\n\n";

static enum ecode hub_sse_adopt(struct hub *hub, struct waiter *w, int64_t now)
{
	w->deadline_ms = now + hub->opts.heartbeat_ms;
	w->end_ms = now + hub->opts.stream_max_ms;
	list_append(&hub->sse_pings, &w->t.ping);
	return EC_OK;
}

static void hub_sse_unpark(struct hub *hub, struct waiter *w)
{
	(void)hub;
	list_del(&w->t.ping);
}

static void hub_sse_release(void *ev)
{
	event_ring_event_unref(ev);
}

struct hub_sse_walk {
	struct hub *hub;
	struct waiter *w;
	struct sink_batch b;
};

static bool hub_sse_deliver(void *ctx, struct event_ring_event *ev)
{
	struct hub_sse_walk *c = ctx;
	struct waiter *w = c->w;
	enum sink_status st;

	if (w->state != HUB_WAITER_PARKED || sink_pending(&w->sink))
		return false;
	event_ring_event_ref(ev);
	st = sink_deliver(&c->b, ev->text, ev->sse_len,
			  (struct sink_hold){ hub_sse_release, ev });
	if (!hub_waiter_status(c->hub, w, st) || w->state != HUB_WAITER_PARKED)
		return false;
	w->cursor = ev->id;
	atomic_fetch_add(&c->hub->st_delivered, 1);
	return st == SINK_OK;
}

static void hub_sse_pump(struct hub *hub, struct waiter *w)
{
	struct hub_sse_walk c = { .hub = hub, .w = w };
	enum ecode rc;

	sink_batch_init(&c.b, &w->sink);
	rc = event_ring_walk(&hub->ring, w->cursor, hub_sse_deliver, &c);
	hub_waiter_status(hub, w, sink_flush(&c.b));
	if (rc == EC_NOT_FOUND) {
		/* Its next events are gone from the log: end the stream;
		 * the reconnect with Last-Event-ID gets a reset. */
		hub_waiter_end(hub, w);
	} else if (rc != EC_OK) {
		hub->retry_pump = true; /* the store failed: try again */
	} else if (w->state == HUB_WAITER_PARKED && !sink_pending(&w->sink) &&
		   w->cursor < hub->ring.last_id) {
		/* The walk ran out before last_id: ids with holes. */
		w->cursor = hub->ring.last_id;
	}
}

static void hub_sse_end(struct hub *hub, struct waiter *w, bool with_events)
{
	(void)with_events;
	hub_waiter_end(hub, w);
}

static void hub_sse_timers(struct hub *hub, int64_t now)
{
	struct list *parked = &hub->parked[HUB_SSE];
	struct waiter *w;

	while (!list_empty(&hub->sse_pings)) {
		w = container_of(hub->sse_pings.next, struct waiter, t.ping);
		if (w->deadline_ms > now)
			break;
		/* A waiter with bytes pending is busy enough; one that has
		 * not taken them since the last ping has stopped reading:
		 * it is dropped (its client resumes by id). */
		if (!sink_pending(&w->sink)) {
			w->flags &= (uint8_t)~HUB_WAITER_STALLED;
			hub_waiter_send(hub, w, HUB_SSE_PING,
					sizeof(HUB_SSE_PING) - 1, false);
		} else if (w->flags & HUB_WAITER_STALLED) {
			atomic_fetch_add(&hub->st_dropped, 1);
			hub_waiter_close(hub, w);
			continue;
		} else {
			w->flags |= HUB_WAITER_STALLED;
		}
		if (w->state == HUB_WAITER_PARKED) {
			w->deadline_ms = now + hub->opts.heartbeat_ms;
			list_del(&w->t.ping);
			list_append(&hub->sse_pings, &w->t.ping);
		}
	}
	while (!list_empty(parked)) {
		w = container_of(parked->next, struct waiter, link);
		if (w->end_ms > now)
			break;
		hub_waiter_end(hub, w);
	}
}

static int64_t hub_sse_next_due(const struct hub *hub)
{
	const struct list *parked = &hub->parked[HUB_SSE];
	int64_t t = INT64_MAX;

	if (!list_empty(&hub->sse_pings))
		t = container_of(hub->sse_pings.next, struct waiter, t.ping)
			    ->deadline_ms;
	if (!list_empty(parked)) {
		int64_t end =
			container_of(parked->next, struct waiter, link)->end_ms;

		if (end < t)
			t = end;
	}
	return t;
}

const struct hub_policy hub_sse_policy = {
	.name = "sse",
	.adopt = hub_sse_adopt,
	.unpark = hub_sse_unpark,
	.pump = hub_sse_pump,
	.end = hub_sse_end,
	.timers = hub_sse_timers,
	.next_due = hub_sse_next_due,
};
