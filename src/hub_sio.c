/* hub_sio.c -- the delivery policy of a parked Socket.IO long-polling GET
 * (see hub_int.h; the session logic is sio_session.c's).
 *
 * A HUB_SIO waiter is one Engine.IO GET that found nothing to take.  It is
 * answered once, with sio_session_take() on the hub's own store connection
 * (so from the session's row, whichever process served its earlier
 * requests):
 *   - events after its cursor (w->cursor: the row's cursor when the socket
 *     is connected, INT64_MAX before) -- the hub's pump, as for a poll;
 *   - packets a POST queued (the connect answer, acks, a close): such a
 *     POST's commit runs the commit hook, which wakes every hub; after
 *     each store check this policy asks the store which held sessions
 *     have packets (store_sio_pending(), one indexed query) -- in timers,
 *     which run after every wake-up;
 *   - its ping or pong deadline (w->deadline_ms);
 *   - stop, database replaced, session ended: a final take (a noop when
 *     there is nothing), which leaves the session open for the client's
 *     next GET, served by any process.
 * A waiter that leaves without its answer (the client cancelled the GET,
 * the connection broke) closes the session, as the protocol wants.
 *
 * Batching: pump, the queue check and the deadlines only mark a GET due
 * (hub->sio_due, through w->t.ping); timers then answers every marked GET
 * with sio_session_take_many(), HUB_SIO_BATCH per store transaction, so an
 * event that wakes a thousand GETs costs a few commits, not a thousand.
 *
 * Timers: few parked GETs per process are expected next to SSE and polls,
 * so deadlines are found by a walk of parked[HUB_SIO] (O(n) per tick; a
 * heap as in hub_poll.c when that shows up in a profile).
 *
 * May call: hub_int.h, sio_session.h, store.h, clock.h, log.h.
 */
#include "autoconfig.h"

#include <stdint.h>
#include <stdlib.h>

#include "clock.h"
#include "hub_int.h"
#include "log.h"
#include "sio_session.h"

#define HUB_SIO_RETRY_MS 1000 /* after a store failure */
#define HUB_SIO_BATCH 256     /* GETs answered per store transaction */

static const char HUB_SIO_HEAD[] = "Status: 200 OK\r\n"
				   "Content-Type: text/plain; charset=UTF-8\r\n"
				   "Cache-Control: no-store\r\n\r\n";

/* Sends an answer's payload and ends the request. */
static void hub_sio_send(struct hub *hub, struct waiter *w,
			 const struct buf *payload)
{
	struct buf body;

	buf_init(&body, SIO_SESSION_ANSWER_MAX + sizeof(HUB_SIO_HEAD));
	w->flags |= HUB_WAITER_SIO_DONE;
	if (buf_adds(&body, HUB_SIO_HEAD) != EC_OK ||
	    buf_add(&body, payload->data, payload->len) != EC_OK) {
		/* Cannot happen within the caps; the client reconnects. */
		log_error("hub: cannot build a socket.io answer");
		w->flags &= ~HUB_WAITER_SIO_DONE;
		hub_waiter_close(hub, w);
	} else {
		hub_waiter_send(hub, w, body.data, body.len, true);
		hub_waiter_finish(hub, w);
	}
	buf_release(&body);
}

/* Not answered: its new cursor and deadline. */
static void hub_sio_rearm(struct waiter *w, const struct sio_wait *sw,
			  int64_t wall, int64_t mono)
{
	w->cursor = sw->cursor;
	w->deadline_ms = mono + (sw->due_ms > wall ? sw->due_ms - wall : 0);
}

/* A final answer (stop, session ended, database replaced), on its own. */
static void hub_sio_final(struct hub *hub, struct waiter *w)
{
	struct sio_wait sw = { 0 };
	struct buf payload;
	bool answered = false;
	enum ecode rc;

	buf_init(&payload, SIO_SESSION_ANSWER_MAX);
	rc = sio_session_take(hub->store, &hub->opts.sio, w->sio_id,
			      clock_wall_ms(), true, &payload, &answered, &sw);
	if (rc == EC_OK && answered) {
		hub_sio_send(hub, w, &payload);
	} else {
		log_error("hub: cannot answer a socket.io GET: %s",
			  ecode_name(rc));
		w->flags |= HUB_WAITER_SIO_DONE; /* leave its session open */
		hub_waiter_close(hub, w);
	}
	buf_release(&payload);
}

/* To be answered this tick, with the others, in one transaction. */
static void hub_sio_mark(struct hub *hub, struct waiter *w)
{
	if (w->state != HUB_WAITER_PARKED || (w->flags & HUB_WAITER_SIO_DUE))
		return;
	w->flags |= HUB_WAITER_SIO_DUE;
	list_append(&hub->sio_due, &w->t.ping);
}

static void hub_sio_unmark(struct waiter *w)
{
	if (!(w->flags & HUB_WAITER_SIO_DUE))
		return;
	w->flags &= ~HUB_WAITER_SIO_DUE;
	list_del(&w->t.ping);
}

/* Answers the marked GETs, HUB_SIO_BATCH per store transaction; those
 * with nothing to take stay parked with their new deadline. */
static void hub_sio_flush(struct hub *hub)
{
	struct sio_take *v = NULL;
	struct waiter **ws = NULL;

	while (!list_empty(&hub->sio_due)) {
		int64_t wall = clock_wall_ms(), mono = clock_mono_ms();
		size_t n = 0;
		enum ecode rc;

		if (!v && (!(v = calloc(HUB_SIO_BATCH, sizeof(*v))) ||
			   !(ws = calloc(HUB_SIO_BATCH, sizeof(*ws))))) {
			log_error(
				"hub: out of memory answering socket.io GETs");
			break;
		}
		while (n < HUB_SIO_BATCH && !list_empty(&hub->sio_due)) {
			struct waiter *w = container_of(hub->sio_due.next,
							struct waiter, t.ping);

			hub_sio_unmark(w);
			ws[n] = w;
			v[n].id = w->sio_id;
			buf_init(&v[n].payload, SIO_SESSION_ANSWER_MAX);
			n++;
		}
		rc = sio_session_take_many(hub->store, &hub->opts.sio, v, n,
					   wall);
		if (rc != EC_OK)
			log_error("hub: cannot answer socket.io GETs: %s",
				  ecode_name(rc));
		for (size_t i = 0; i < n; i++) {
			if (rc != EC_OK)
				ws[i]->deadline_ms = mono + HUB_SIO_RETRY_MS;
			else if (v[i].answered)
				hub_sio_send(hub, ws[i], &v[i].payload);
			else
				hub_sio_rearm(ws[i], &v[i].wait, wall, mono);
			buf_release(&v[i].payload);
		}
	}
	free(v);
	free(ws);
}

static enum ecode hub_sio_adopt(struct hub *hub, struct waiter *w, int64_t now)
{
	w->deadline_ms = now + w->end_ms;
	/* A POST may have queued packets between the GET's look and now. */
	hub->sio_recheck = true;
	return EC_OK;
}

static void hub_sio_unpark(struct hub *hub, struct waiter *w)
{
	enum ecode rc;

	hub_sio_unmark(w);
	if (w->flags & HUB_WAITER_SIO_DONE)
		return;
	w->flags |= HUB_WAITER_SIO_DONE;
	rc = sio_session_abandon(hub->store, w->sio_id, clock_wall_ms());
	if (rc != EC_OK)
		log_warn("hub: cannot close an abandoned socket.io session: %s",
			 ecode_name(rc));
}

static void hub_sio_pump(struct hub *hub, struct waiter *w)
{
	hub_sio_mark(hub, w); /* answered in timers, with the others */
}

static void hub_sio_end(struct hub *hub, struct waiter *w, bool with_events)
{
	(void)with_events;
	hub_sio_unmark(w);
	hub_sio_final(hub, w);
}

struct hub_sio_ids {
	int64_t *v;
	size_t n, cap;
};

static enum ecode hub_sio_collect(void *ctx, int64_t id)
{
	struct hub_sio_ids *ids = ctx;

	if (ids->n == ids->cap) {
		size_t cap = ids->cap ? 2 * ids->cap : 16;
		int64_t *v = realloc(ids->v, cap * sizeof(*v));

		if (!v)
			return EC_NOMEM;
		ids->v = v;
		ids->cap = cap;
	}
	ids->v[ids->n++] = id;
	return EC_OK;
}

static int hub_sio_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Answers the parked GETs whose sessions have packets queued. */
static void hub_sio_queued(struct hub *hub)
{
	struct hub_sio_ids ids = { 0 };
	struct list *head = &hub->parked[HUB_SIO], *l, *next;

	hub->sio_recheck = false;
	hub->sio_checked = hub->checks;
	if (store_sio_pending(hub->store, hub_sio_collect, &ids) != EC_OK) {
		hub->sio_recheck = true; /* next tick */
		goto out;
	}
	for (l = head->next; ids.n > 0 && l != head; l = next) {
		struct waiter *w = container_of(l, struct waiter, link);

		next = l->next;
		if (bsearch(&w->sio_id, ids.v, ids.n, sizeof(*ids.v),
			    hub_sio_cmp))
			hub_sio_mark(hub, w);
	}
out:
	free(ids.v);
}

static void hub_sio_timers(struct hub *hub, int64_t now)
{
	struct list *head = &hub->parked[HUB_SIO], *l, *next;

	if (list_empty(head)) {
		hub->sio_recheck = false;
		return;
	}
	if (hub->sio_recheck || hub->sio_checked != hub->checks)
		hub_sio_queued(hub);
	for (l = head->next; l != head; l = next) {
		struct waiter *w = container_of(l, struct waiter, link);

		next = l->next;
		if (w->deadline_ms <= now)
			hub_sio_mark(hub, w);
	}
	hub_sio_flush(hub);
}

static int64_t hub_sio_next_due(const struct hub *hub)
{
	const struct list *head = &hub->parked[HUB_SIO], *l;
	int64_t t = INT64_MAX;

	if ((hub->sio_recheck && !list_empty(head)) ||
	    !list_empty(&hub->sio_due))
		return 0;
	for (l = head->next; l != head; l = l->next) {
		const struct waiter *w =
			container_of(l, const struct waiter, link);

		if (w->deadline_ms < t)
			t = w->deadline_ms;
	}
	return t;
}

const struct hub_policy hub_sio_policy = {
	.name = "sio",
	.adopt = hub_sio_adopt,
	.unpark = hub_sio_unpark,
	.pump = hub_sio_pump,
	.end = hub_sio_end,
	.timers = hub_sio_timers,
	.next_due = hub_sio_next_due,
};
