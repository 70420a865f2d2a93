/* hub_waiter.c -- a waiter's lifetime, and the one place where what a sink
 * reports becomes a close, a drop or a wait for EPOLLOUT (see hub_int.h).
 *
 *   PARKED --hub_waiter_end()/finish()--> CLOSING (last bytes, at most
 *   HUB_CLOSE_MS) --hub_waiter_done()--> DEAD (fd closed, or handed back
 *   to the transport for FCGI_KEEP_CONN) --hub.c, before sleep--> freed
 *
 * The policy table (one struct hub_policy per enum hub_kind) is here too:
 * hub_policy(w) is how hub.c and these functions reach what a kind of
 * waiter does.  Everything runs on the hub thread, but for the cap counts
 * (hub_caps.c), which are taken under hub->mu.
 *
 * May call: sink.h, loop.h, hub_caps.c, the policies; never a socket call.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "hub_int.h"
#include "log.h"

#define HUB_CLOSE_MS 5000 /* for an ended waiter's last bytes */

/* One entry per enum hub_kind. */
const struct hub_policy *const hub_policies[HUB_KINDS] = {
	[HUB_SSE] = &hub_sse_policy,
	[HUB_POLL] = &hub_poll_policy,
	[HUB_SIO] = &hub_sio_policy,
};

const struct hub_policy *hub_policy(const struct waiter *w)
{
	return hub_policies[w->kind];
}

/* ---- waiter lifetime ---- */

/* PARKED -> out of every list and timer (the caller files it again). */
void hub_waiter_unpark(struct hub *hub, struct waiter *w)
{
	if (w->state == HUB_WAITER_QUEUED) {
		list_del(&w->link);
		return;
	}
	if (w->state != HUB_WAITER_PARKED) {
		if (w->state == HUB_WAITER_CLOSING)
			list_del(&w->link);
		return;
	}
	list_del(&w->link);
	hub_policy(w)->unpark(hub, w);
	atomic_fetch_sub(&hub->st_parked[w->kind], 1);
}

/* No waiter any more (closed, or its connection given back): it goes to
 * the dead list, and its slot of the session's and the user's caps and of
 * the hub's count is free again. */
static void hub_waiter_retire(struct hub *hub, struct waiter *w)
{
	w->state = HUB_WAITER_DEAD;
	list_append(&hub->dead, &w->link);
	pthread_mutex_lock(&hub->mu);
	hub_count_release(hub, w);
	pthread_mutex_unlock(&hub->mu);
	atomic_fetch_sub(&hub->n_waiters, 1);
}

void hub_waiter_close(struct hub *hub, struct waiter *w)
{
	if (w->state == HUB_WAITER_DEAD)
		return;
	hub_waiter_unpark(hub, w);
	loop_io_stop(hub->loop, &w->sink.io);
	sink_close(&w->sink);
	if (w->flags & HUB_WAITER_HAS_IN) {
		struct hub_waiter_raw *r =
			container_of(w, struct hub_waiter_raw, w);

		loop_io_stop(hub->loop, &r->in_io);
		sink_raw_close_fd(r->in_io.fd);
	}
	hub_waiter_retire(hub, w);
}

void hub_waiter_free(struct waiter *w)
{
	sink_free(&w->sink);
	free(w); /* a struct hub_waiter_raw starts with its waiter */
}

void hub_waiter_done(struct hub *hub, struct waiter *w)
{
	int fd;

	if (w->state == HUB_WAITER_DEAD)
		return;
	/* A partial record read from the web server would leave the next
	 * request misaligned: such a connection is not kept. */
	if (!(w->flags & HUB_WAITER_KEEP) || !hub->opts.give_back ||
	    w->sink.in || sink_pending(&w->sink)) {
		hub_waiter_close(hub, w);
		return;
	}
	hub_waiter_unpark(hub, w);
	loop_io_forget(&w->sink.io); /* the transport takes the fd over */
	fd = sink_detach(&w->sink);
	hub_waiter_retire(hub, w); /* a kept connection is no waiter */
	hub->opts.give_back(hub->opts.transport_ctx, fd);
}

void hub_waiter_finish(struct hub *hub, struct waiter *w)
{
	if (w->state == HUB_WAITER_DEAD)
		return;
	if (!sink_pending(&w->sink)) {
		hub_waiter_done(hub, w);
		return;
	}
	hub_waiter_unpark(hub, w);
	w->state = HUB_WAITER_CLOSING;
	w->deadline_ms = clock_mono_ms() + HUB_CLOSE_MS;
	list_append(&hub->closing, &w->link);
}

/* Asks for EPOLLOUT while bytes are pending. */
void hub_waiter_want_out(struct hub *hub, struct waiter *w, bool want)
{
	if (w->state == HUB_WAITER_DEAD || w->state == HUB_WAITER_QUEUED)
		return;
	if (w->flags & HUB_WAITER_NOEPOLL) {
		/* A regular file never fills up; if it did, no one can
		 * wait for it. */
		if (want)
			hub_waiter_close(hub, w);
		return;
	}
	if (loop_io_start(hub->loop, &w->sink.io,
			  sink_events(&w->sink) | (want ? EPOLLOUT : 0)) !=
	    EC_OK) {
		log_warn("hub: epoll_ctl: %s", strerror(errno));
		hub_waiter_close(hub, w);
	}
}

bool hub_waiter_status(struct hub *hub, struct waiter *w, enum sink_status st)
{
	switch (st) {
	case SINK_OK:
		break;
	case SINK_PENDING:
		hub_waiter_want_out(hub, w, true);
		break;
	case SINK_FULL:
		if (w->state == HUB_WAITER_DEAD)
			break;
		log_info("hub: dropping a waiter that cannot keep up");
		atomic_fetch_add(&hub->st_dropped, 1);
		hub_waiter_close(hub, w);
		break;
	case SINK_BROKEN:
	case SINK_ABORTED:
		hub_waiter_close(hub, w);
		break;
	}
	return w->state != HUB_WAITER_DEAD;
}

void hub_waiter_send(struct hub *hub, struct waiter *w, const void *data,
		     size_t len, bool end)
{
	struct sink_batch b;

	sink_batch_init(&b, &w->sink);
	if (len > 0)
		hub_waiter_status(hub, w,
				  sink_deliver(&b, data, len, SINK_NO_HOLD));
	if (end)
		hub_waiter_status(hub, w, sink_end(&b));
	hub_waiter_status(hub, w, sink_flush(&b));
}

void hub_waiter_end(struct hub *hub, struct waiter *w)
{
	if (w->state != HUB_WAITER_PARKED && w->state != HUB_WAITER_QUEUED)
		return;
	hub_waiter_send(hub, w, NULL, 0, true);
	hub_waiter_finish(hub, w);
}

/* Writes what is pending (EPOLLOUT); a CLOSING waiter is done after. */
void hub_waiter_drain(struct hub *hub, struct waiter *w)
{
	enum sink_status st;

	if (!sink_pending(&w->sink) || w->state == HUB_WAITER_DEAD)
		return;
	w->flags &= (uint8_t)~HUB_WAITER_STALLED; /* it takes bytes */
	st = sink_drain(&w->sink);
	if (st != SINK_OK)
		hub_waiter_status(hub, w, st);
	else if (w->state == HUB_WAITER_CLOSING)
		hub_waiter_done(hub, w);
	else
		hub_waiter_want_out(hub, w, false);
}

/* Sends a waiter what it lacks, through its policy. */
void hub_waiter_pump(struct hub *hub, struct waiter *w)
{
	if (w->state != HUB_WAITER_PARKED || sink_pending(&w->sink) ||
	    w->cursor >= hub->ring.last_id)
		return;
	hub_policy(w)->pump(hub, w);
}
