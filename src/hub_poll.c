/* hub_poll.c -- the delivery policy of a long-poll waiter (see
 * hub_int.h).
 *
 * A poll waiter is answered once: as soon as the hub knows events after
 * its cursor, one complete CGI response (Status, Content-Type,
 * Cache-Control, then {"events":[...],"lastEventId":N}) with every event
 * after the cursor, then the end of the request; at its timeout (or at
 * stop, or when its session ends) with what it has, maybe none.  One
 * answer stops growing at HUB_POLL_BODY_SOFT; its lastEventId is then
 * the last event it carries and the next poll gets the rest.  Events the
 * log no longer has give an empty answer at the old cursor: the client's
 * next poll gets the reset.
 *
 * hub_poll_ring_follows() tells the transport whether the events after a
 * poll's cursor are all in the ring, without a gap (conn_fast.c answers
 * such a poll without a worker).
 *
 * Timers: each poll has its own timeout.  Polls parked with a deadline
 * no earlier than the last one's (the common case: most clients ask for
 * the same timeout) go on a FIFO (hub->poll_fifo, w->t.ping): O(1) in and
 * out, which matters when a broadcast answers thousands at once (issue
 * 8).  The others go on a binary min-heap by deadline_ms (w->t.heap_idx
 * is a waiter's place).  The earliest deadline is the earlier of the two
 * heads.
 *
 * May call: hub_int.h, event_ring.h, longpoll.h, buf.h, log.h.
 */
#include "autoconfig.h"

#include <stdint.h>
#include <stdlib.h>

#include "hub_int.h"
#include "log.h"
#include "longpoll.h"

static const char HUB_POLL_HEAD[] = "Status: 200 OK\r\n"
				    "Content-Type: application/json\r\n"
				    "Cache-Control: no-store\r\n\r\n";

/* ---- the timeout heap ---- */

static void hub_poll_heap_swap(struct hub *hub, size_t a, size_t b)
{
	struct waiter **h = hub->poll_heap;
	struct waiter *t = h[a];

	h[a] = h[b];
	h[b] = t;
	h[a]->t.heap_idx = a;
	h[b]->t.heap_idx = b;
}

static void hub_poll_heap_up(struct hub *hub, size_t i)
{
	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (hub->poll_heap[parent]->deadline_ms <=
		    hub->poll_heap[i]->deadline_ms)
			break;
		hub_poll_heap_swap(hub, i, parent);
		i = parent;
	}
}

static void hub_poll_heap_down(struct hub *hub, size_t i)
{
	struct waiter **h = hub->poll_heap;

	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, min = i;

		if (l < hub->poll_heap_len &&
		    h[l]->deadline_ms < h[min]->deadline_ms)
			min = l;
		if (r < hub->poll_heap_len &&
		    h[r]->deadline_ms < h[min]->deadline_ms)
			min = r;
		if (min == i)
			return;
		hub_poll_heap_swap(hub, i, min);
		i = min;
	}
}

static struct waiter *hub_poll_fifo_head(const struct hub *hub)
{
	return list_empty(&hub->poll_fifo)
		       ? NULL
		       : container_of(hub->poll_fifo.next, struct waiter,
				      t.ping);
}

static enum ecode hub_poll_adopt(struct hub *hub, struct waiter *w, int64_t now)
{
	w->deadline_ms = now + w->end_ms;
	if (list_empty(&hub->poll_fifo) ||
	    container_of(hub->poll_fifo.prev, struct waiter, t.ping)
			    ->deadline_ms <= w->deadline_ms) {
		list_append(&hub->poll_fifo, &w->t.ping);
		w->flags |= HUB_WAITER_POLL_FIFO;
		return EC_OK;
	}
	if (hub->poll_heap_len == hub->poll_heap_cap) {
		size_t cap = hub->poll_heap_cap ? 2 * hub->poll_heap_cap : 64;
		struct waiter **h = realloc(hub->poll_heap, cap * sizeof(*h));

		if (!h)
			return EC_NOMEM;
		hub->poll_heap = h;
		hub->poll_heap_cap = cap;
	}
	w->t.heap_idx = hub->poll_heap_len;
	hub->poll_heap[hub->poll_heap_len++] = w;
	hub_poll_heap_up(hub, w->t.heap_idx);
	return EC_OK;
}

static void hub_poll_unpark(struct hub *hub, struct waiter *w)
{
	size_t i = w->t.heap_idx;

	if (w->flags & HUB_WAITER_POLL_FIFO) {
		list_del(&w->t.ping);
		w->flags &= (uint8_t)~HUB_WAITER_POLL_FIFO;
		return;
	}

	hub->poll_heap_len--;
	if (i != hub->poll_heap_len) {
		hub_poll_heap_swap(hub, i, hub->poll_heap_len);
		hub_poll_heap_down(hub, i);
		hub_poll_heap_up(hub, i);
	}
}

/* ---- the answer ---- */

struct hub_poll_collect {
	struct buf *body;
	enum ecode rc;
	size_t n;
	int64_t last_id;
};

static bool hub_poll_collect(void *ctx, struct event_ring_event *ev)
{
	struct hub_poll_collect *p = ctx;
	const char *frag = ev->text + ev->sse_len;

	if (p->n > 0 && p->body->len + 1 + ev->json_len > HUB_POLL_BODY_SOFT)
		return false;
	if ((p->n > 0 && (p->rc = buf_addc(p->body, ',')) != EC_OK) ||
	    (p->rc = buf_add(p->body, frag, ev->json_len)) != EC_OK)
		return false;
	p->n++;
	p->last_id = ev->id;
	return true;
}

/* Answers a poll with the events after its cursor (none if !with_events),
 * if there are any or if final (timeout, stop): then the waiter is
 * finished. */
static void hub_poll_answer(struct hub *hub, struct waiter *w, bool final,
			    bool with_events)
{
	struct hub_poll_collect p = { .body = &hub->body };
	enum ecode rc = EC_OK;
	int64_t last_id = w->cursor;

	buf_reset(p.body);
	if ((p.rc = buf_adds(p.body, HUB_POLL_HEAD)) != EC_OK ||
	    (p.rc = longpoll_begin(p.body)) != EC_OK)
		goto fail;
	if (with_events && w->cursor < hub->ring.last_id)
		rc = event_ring_walk(&hub->ring, w->cursor, hub_poll_collect,
				     &p);
	if (p.rc != EC_OK)
		goto fail;
	if (rc != EC_OK && rc != EC_NOT_FOUND && !final) {
		hub->retry_pump = true; /* the store failed: try again */
		return;
	}
	if (p.n == 0 && rc != EC_NOT_FOUND && !final) {
		/* No event between the cursor and the newest (ids with
		 * holes): nothing to answer yet. */
		if (rc == EC_OK && w->cursor < hub->ring.last_id)
			w->cursor = hub->ring.last_id;
		return;
	}
	/* With EC_NOT_FOUND the answer is empty at the old cursor: the
	 * client's next poll gets the reset. */
	if (p.n > 0)
		last_id = p.last_id;
	if ((p.rc = longpoll_end(p.body, last_id, false)) != EC_OK)
		goto fail;
	atomic_fetch_add(&hub->st_delivered, p.n);
	hub_waiter_send(hub, w, p.body->data, p.body->len, true);
	hub_waiter_finish(hub, w);
	return;
fail:
	log_error("hub: cannot build a poll answer: %s", ecode_name(p.rc));
	if (final)
		hub_waiter_close(hub, w);
}

static void hub_poll_pump(struct hub *hub, struct waiter *w)
{
	hub_poll_answer(hub, w, false, true);
}

static void hub_poll_end(struct hub *hub, struct waiter *w, bool with_events)
{
	hub_poll_answer(hub, w, true, with_events);
}

static void hub_poll_timers(struct hub *hub, int64_t now)
{
	struct waiter *w;

	while ((w = hub_poll_fifo_head(hub)) && w->deadline_ms <= now)
		hub_poll_answer(hub, w, true, true);
	while (hub->poll_heap_len > 0 && hub->poll_heap[0]->deadline_ms <= now)
		hub_poll_answer(hub, hub->poll_heap[0], true, true);
}

static int64_t hub_poll_next_due(const struct hub *hub)
{
	const struct waiter *w = hub_poll_fifo_head(hub);
	int64_t t = hub->poll_heap_len > 0 ? hub->poll_heap[0]->deadline_ms
					   : INT64_MAX;

	return w && w->deadline_ms < t ? w->deadline_ms : t;
}

/* ---- issue 8: may the transport answer a poll from the ring? ---- */

struct hub_poll_follow {
	int64_t next; /* the id the next event must have */
	bool ok;
};

static bool hub_poll_follow_one(void *ctx, struct event_ring_event *ev)
{
	struct hub_poll_follow *f = ctx;

	if (ev->id != f->next) {
		f->ok = false;
		return false;
	}
	f->next++;
	return true;
}

bool hub_poll_ring_follows(struct hub *hub, int64_t since, int64_t max)
{
	struct hub_poll_follow f = { .next = since + 1, .ok = true };
	const struct event_ring *r = &hub->ring;

	if (since >= r->last_id || since < r->base || r->last_id - since > max)
		return false;
	if (event_ring_walk(&hub->ring, since, hub_poll_follow_one, &f) !=
	    EC_OK)
		return false;
	return f.ok && f.next == r->last_id + 1;
}

const struct hub_policy hub_poll_policy = {
	.name = "poll",
	.adopt = hub_poll_adopt,
	.unpark = hub_poll_unpark,
	.pump = hub_poll_pump,
	.end = hub_poll_end,
	.timers = hub_poll_timers,
	.next_due = hub_poll_next_due,
};
