/* hub.c -- parked waiters: who is woken, when, and for how long (see
 * hub.h, hub_int.h, docs/HUB.md).
 *
 * A waiter is a parked request: a sink (the connection, sink.h), a kind
 * (its delivery policy: hub_sse.c, hub_poll.c) and a cursor, the id of
 * the last event it was given.  The hub is one epoll loop (loop.c) on one
 * thread that owns every waiter and moves each cursor forward through the
 * event log, as Redis blocked.c serves clients parked on keys: in batches,
 * when woken.
 *
 *   conn.c (loop) --hub_park()--> adopted at once (same thread), or
 *   other thread  --hub_park()--> queue + waker --> adopt: sink_open,
 *                                                   register, policy
 *   commit hook --hub_events_committed()--+           adopt, catch up
 *   other process --notify poke (inotify)-+--> check: store_last_event_id,
 *   fallback timer -----------------------+    event_ring_read, pump every
 *                                              waiter through its policy
 *
 * This file owns: the cross-thread queue (the only state shared with
 * other threads: a mutex; counters and flags are atomics), adoption, the
 * store check (event_ring.c reads and keeps the events), the loop
 * callbacks, the timers that are not a policy's (closing, touch, stop)
 * and the API.  A waiter's lifetime and the policy table are in
 * hub_waiter.c, the per-session and per-user counts in hub_caps.c.  It
 * never writes to or reads from a connection: sink.h does, and
 * hub_waiter_status() is the one place a sink's status becomes a wait for
 * EPOLLOUT, a drop or a close.
 *
 * Delivery is by cursor: pumping a waiter sends the events after its
 * cursor and advances the cursor past each one written or queued, so each
 * event goes out once, in id order, whatever woke the hub and however
 * often.  A waiter whose cursor is ahead of the hub (it was parked before
 * the hub heard of an event) just waits until the hub catches up.  A
 * waiter with bytes pending gets nothing more until EPOLLOUT has drained
 * them, so a slow reader falls back on the store, not on memory.
 *
 * Lifetime.  QUEUED (hub_park) -> PARKED (adopted) -> CLOSING (request
 * ended, bytes pending, HUB_CLOSE_MS at most) -> DEAD (fd closed).  A
 * waiter's memory is freed in the before-sleep hook, after the batch of
 * events it may still appear in.
 *
 * May call: sink.h, event_ring.h, loop.h, notify.h, store.h (the last id
 * only), clock.h, log.h, presence.h (the "user" event's name only); never
 * a socket call, never SQL.
 *
 * To extend: a new kind of waiter is a policy (hub_int.h, its line in
 * hub_waiter.c's table), a new kind of connection a sink (sink.h); the
 * timers and the queue stay here.
 */
#include "autoconfig.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "hub_int.h"
#include "log.h"
#include "notify.h"
#include "presence.h"

#define HUB_READ_ROUND 2048	   /* events read before pumping */
#define HUB_STOP_FLUSH_MS 1000	   /* for all of them at hub_stop() */
#define HUB_STOP_TRANSPORT_MS 3000 /* for requests in the transport's hands */
#define HUB_DEFAULT_CHECK_MS 1000
#define HUB_DEFAULT_HEARTBEAT_MS 15000
#define HUB_DEFAULT_STREAM_MAX_MS 600000

/* ---- delivery ---- */

static void hub_pump_all(struct hub *hub)
{
	for (size_t k = 0; k < HUB_KINDS; k++) {
		struct list *head = &hub->parked[k], *n, *next;

		for (n = head->next; n != head; n = next) {
			next = n->next;
			hub_waiter_pump(hub,
					container_of(n, struct waiter, link));
		}
	}
}

/* Ends every stream and answers every poll (with the events it has unless
 * !with_events). */
static void hub_end_all(struct hub *hub, bool with_events)
{
	for (size_t k = 0; k < HUB_KINDS; k++)
		while (!list_empty(&hub->parked[k]))
			hub_policies[k]->end(hub,
					     container_of(hub->parked[k].next,
							  struct waiter, link),
					     with_events);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Ends the waiters of the sessions hub_end_sessions() named. */
static void hub_end_ended(struct hub *hub)
{
	int64_t *ids;
	size_t n;

	if (!atomic_exchange(&hub->ended_req, false))
		return;
	pthread_mutex_lock(&hub->mu);
	ids = hub->ended;
	n = hub->n_ended;
	hub->ended = NULL;
	hub->n_ended = hub->cap_ended = 0;
	pthread_mutex_unlock(&hub->mu);
	qsort(ids, n, sizeof(*ids), cmp_i64);
	for (size_t k = 0; k < HUB_KINDS; k++) {
		struct list *head = &hub->parked[k], *l, *next;

		for (l = head->next; l != head; l = next) {
			struct waiter *w = container_of(l, struct waiter, link);

			next = l->next;
			if (w->session_id <= 0 ||
			    !bsearch(&w->session_id, ids, n, sizeof(*ids),
				     cmp_i64))
				continue;
			hub_policies[k]->end(hub, w, true);
		}
	}
	free(ids);
}

/* The newest id went down: the database was replaced.  Every waiter's
 * cursor means nothing now: end them all; their clients come back with an
 * id the accepting code answers with a reset. */
static void hub_reset(struct hub *hub, int64_t last)
{
	log_warn("hub: the newest event id went from %" PRId64
		 " back to %" PRId64
		 " (database replaced?); ending every waiter",
		 hub->ring.last_id, last);
	event_ring_reset(&hub->ring, last);
	atomic_store(&hub->st_last_id, last);
	hub->sessions_gen++; /* issue 8: no cached session holds */
	hub_end_all(hub, false);
}

/* issue 8: a "user" event (presence.h: login, logout, reap) may end or
 * change a session: what the transport cached about sessions goes.  The
 * name is the SSE frame's second line ("id: N\nevent: user\n"). */
static bool hub_scan_user(void *ctx, struct event_ring_event *ev)
{
	static const char tag[] = "\nevent: " PRESENCE_EVENT_USER "\n";
	const char *nl = memchr(ev->text, '\n', ev->sse_len);
	struct hub *hub = ctx;

	if (nl && (size_t)(ev->text + ev->sse_len - nl) >= sizeof(tag) - 1 &&
	    memcmp(nl, tag, sizeof(tag) - 1) == 0) {
		hub->sessions_gen++;
		return false; /* once is enough */
	}
	return true;
}

/* Reads new events into the ring and delivers them. */
static void hub_check(struct hub *hub)
{
	int64_t last, before;
	enum ecode rc = EC_OK;

	hub->checks++; /* hub_sio.c looks at its queues after each */
	hub->check_ok = false;
	if (store_last_event_id(hub->store, &last) != EC_OK)
		return;
	if (last < hub->ring.last_id) {
		hub_reset(hub, last);
		return;
	}
	while (rc == EC_OK && hub->ring.last_id < last) {
		size_t got = 0;

		before = hub->ring.last_id;
		/* Read a round, then deliver it, so that a burst longer
		 * than the ring does not push waiters that are in step
		 * back to the store. */
		while (got < HUB_READ_ROUND && hub->ring.last_id < last) {
			size_t n;

			rc = event_ring_read(&hub->ring, &n);
			atomic_store(&hub->st_last_id, hub->ring.last_id);
			got += n;
			if (rc != EC_OK || n < EVENT_RING_READ_BATCH)
				break;
		}
		if (hub->ring.last_id == before)
			break;
		/* Before any waiter is answered: a client that then polls
		 * must find the cache already dropped. */
		if (event_ring_walk(&hub->ring, before, hub_scan_user, hub) !=
		    EC_OK)
			hub->sessions_gen++;
		hub->retry_pump = false;
		hub_pump_all(hub);
	}
	hub->check_ok = rc == EC_OK && hub->ring.last_id >= last;
	if (hub->retry_pump) {
		hub->retry_pump = false;
		hub_pump_all(hub);
	}
}

/* ---- connections ---- */

static void hub_on_io(struct loop *loop, struct loop_io *io, uint32_t events)
{
	struct waiter *w = container_of(io, struct waiter, sink.io);
	struct hub *hub = loop_ctx(loop);

	if (events & EPOLLIN) {
		enum sink_status st = sink_input(&w->sink);

		if (st == SINK_ABORTED)
			hub_waiter_end(hub, w);
		else
			hub_waiter_status(hub, w, st);
		if (w->state == HUB_WAITER_DEAD)
			return;
	}
	if (events & (EPOLLHUP | EPOLLERR | EPOLLRDHUP)) {
		hub_waiter_close(hub, w);
		return;
	}
	if (events & EPOLLOUT) {
		hub_waiter_drain(hub, w);
		hub_waiter_pump(hub, w);
	}
}

static void hub_on_in(struct loop *loop, struct loop_io *io, uint32_t events)
{
	struct hub_waiter_raw *r =
		container_of(io, struct hub_waiter_raw, in_io);

	/* Only EPOLLHUP and EPOLLERR are asked for: stdin hung up. */
	hub_waiter_close(loop_ctx(loop), &r->w);
}

static void hub_adopt(struct hub *hub, struct waiter *w, int64_t now)
{
	/* A registered fd is the loop's own, non-blocking since accept4()
	 * (issue 8: no fcntl per parked re-poll). */
	if (!(w->flags & HUB_WAITER_REGISTERED) &&
	    sink_open(&w->sink) != SINK_OK)
		goto fail;
	w->state = HUB_WAITER_PARKED;
	if ((w->flags & HUB_WAITER_REGISTERED
		     ? loop_io_take(hub->loop, &w->sink.io,
				    sink_events(&w->sink))
		     : loop_io_start(hub->loop, &w->sink.io,
				     sink_events(&w->sink))) != EC_OK) {
		if (errno != EPERM || w->sink.kind != SINK_RAW) {
			log_warn("hub: epoll_ctl: %s", strerror(errno));
			w->state = HUB_WAITER_QUEUED;
			goto fail;
		}
		w->flags |= HUB_WAITER_NOEPOLL; /* stdout is a regular file */
	}
	if (w->flags & HUB_WAITER_HAS_IN) {
		struct hub_waiter_raw *r =
			container_of(w, struct hub_waiter_raw, w);

		if (sink_raw_watch_hangup(r->in_io.fd) &&
		    loop_io_start(hub->loop, &r->in_io, 0) != EC_OK)
			log_warn("hub: epoll_ctl: %s", strerror(errno));
	}
	if (hub_policy(w)->adopt(hub, w, now) != EC_OK) {
		loop_io_stop(hub->loop, &w->sink.io);
		w->state = HUB_WAITER_QUEUED;
		goto fail;
	}
	list_append(&hub->parked[w->kind], &w->link);
	atomic_fetch_add(&hub->st_parked[w->kind], 1);
	/* The prelude (an SSE head) first; events once it is out. */
	hub_waiter_drain(hub, w);
	hub_waiter_pump(hub, w);
	return;
fail:
	/* Closing ends the request without an answer; the web server
	 * reports it to the client, who retries. */
	list_init(&w->link);
	hub_waiter_close(hub, w);
}

static void hub_adopt_queue(struct hub *hub, int64_t now)
{
	struct list q;

	if (!atomic_exchange(&hub->queued, false))
		return;
	pthread_mutex_lock(&hub->mu);
	list_move_all(&q, &hub->queue);
	pthread_mutex_unlock(&hub->mu);
	while (!list_empty(&q)) {
		struct waiter *w = container_of(q.next, struct waiter, link);

		list_del(&w->link);
		hub_adopt(hub, w, now);
	}
}

static void hub_on_notify(struct loop *loop, struct loop_io *io,
			  uint32_t events)
{
	struct hub *hub = loop_ctx(loop);

	notify_drain(hub->notify);
	hub->check_now = true;
}

/* ---- timers ---- */

static void hub_touch(struct hub *hub)
{
	size_t n = 0, cap = 0;

	for (size_t k = 0; k < HUB_KINDS; k++)
		cap += (size_t)atomic_load(&hub->st_parked[k]);
	if (cap > hub->touch_cap) {
		int64_t *ids = realloc(hub->touch_ids, cap * sizeof(*ids));

		if (!ids)
			return;
		hub->touch_ids = ids;
		hub->touch_cap = cap;
	}
	for (size_t k = 0; k < HUB_KINDS; k++)
		for (struct list *l = hub->parked[k].next; l != &hub->parked[k];
		     l = l->next) {
			struct waiter *w = container_of(l, struct waiter, link);

			if (w->session_id > 0 && n < cap)
				hub->touch_ids[n++] = w->session_id;
		}
	/* Issue 9: one write per session, however many waiters it has (a
	 * session may hold up to max_per_session of them). */
	if (n > 1) {
		size_t u = 1;

		qsort(hub->touch_ids, n, sizeof(*hub->touch_ids), cmp_i64);
		for (size_t i = 1; i < n; i++)
			if (hub->touch_ids[i] != hub->touch_ids[u - 1])
				hub->touch_ids[u++] = hub->touch_ids[i];
		n = u;
	}
	/* Also when n is 0: the callee must learn that its last waiter
	 * left, or it would keep those sessions online for ever. */
	hub->opts.touch(hub->opts.touch_ctx, hub->touch_ids, n);
}

static void hub_timers(struct hub *hub, int64_t now)
{
	for (size_t k = 0; k < HUB_KINDS; k++)
		hub_policies[k]->timers(hub, now);
	while (!list_empty(&hub->closing)) {
		struct waiter *w =
			container_of(hub->closing.next, struct waiter, link);

		if (w->deadline_ms > now)
			break;
		hub_waiter_close(hub, w);
	}
	if (hub->opts.touch && hub->opts.touch_every_ms > 0 &&
	    now >= hub->next_touch_ms) {
		hub_touch(hub);
		hub->next_touch_ms = now + hub->opts.touch_every_ms;
	}
}

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* ms until the first timer is due. */
static int hub_timeout(struct hub *hub, int64_t now)
{
	int64_t t = hub->next_check_ms;

	for (size_t k = 0; k < HUB_KINDS; k++)
		t = min64(t, hub_policies[k]->next_due(hub));
	if (!list_empty(&hub->closing))
		t = min64(t,
			  container_of(hub->closing.next, struct waiter, link)
				  ->deadline_ms);
	if (hub->opts.touch && hub->opts.touch_every_ms > 0)
		t = min64(t, hub->next_touch_ms);
	if (hub->stop_begun)
		t = min64(t, hub->stop_deadline_ms);
	if (t <= now)
		return 0;
	return t - now > INT_MAX ? INT_MAX : (int)(t - now);
}

static void hub_free_dead(struct hub *hub)
{
	while (!list_empty(&hub->dead)) {
		struct waiter *w =
			container_of(hub->dead.next, struct waiter, link);

		list_del(&w->link);
		hub_waiter_free(w);
	}
}

/* Closes every connection left, at once. */
static void hub_close_all(struct hub *hub)
{
	for (size_t k = 0; k <= HUB_KINDS; k++) {
		struct list *head =
			k < HUB_KINDS ? &hub->parked[k] : &hub->closing;

		while (!list_empty(head))
			hub_waiter_close(
				hub,
				container_of(head->next, struct waiter, link));
	}
}

static void hub_begin_stop(struct hub *hub, int64_t now)
{
	pthread_mutex_lock(&hub->mu);
	hub->stopping = true;
	pthread_mutex_unlock(&hub->mu);
	atomic_store(&hub->queued, true);
	hub_adopt_queue(hub, now);
	hub_check(hub);
	hub->stop_begun = true;
	hub->stop_deadline_ms = now + HUB_STOP_FLUSH_MS;
	hub_end_all(hub, true);
}

static int hub_tick(struct loop *loop, void *ctx)
{
	struct hub *hub = ctx;
	int64_t now = clock_mono_ms();
	int transport_ms = -1, t;

	if (atomic_load(&hub->stop_req) && !hub->stop_begun)
		hub_begin_stop(hub, now);
	hub_adopt_queue(hub, now);
	/* Sessions to end: read the store first, so that a logout's own
	 * events (committed before anyone could see the session gone) reach
	 * its stream before the stream ends. */
	if (atomic_load(&hub->ended_req))
		hub->check_now = true;
	if (atomic_exchange(&hub->committed, false) || hub->check_now ||
	    now >= hub->next_check_ms) {
		hub->check_now = false;
		hub->next_check_ms = now + hub->opts.fallback_check_ms;
		hub_check(hub);
	}
	hub_end_ended(hub);
	hub_timers(hub, now);
	if (hub->opts.tick)
		transport_ms =
			hub->opts.tick(hub->opts.transport_ctx, now,
				       hub->stop_begun, &hub->transport_busy);
	hub_free_dead(hub);
	if (hub->stop_begun &&
	    ((list_empty(&hub->closing) && !hub->transport_busy) ||
	     now >= hub->stop_deadline_ms + (hub->transport_busy
						     ? HUB_STOP_TRANSPORT_MS
						     : 0))) {
		hub_close_all(hub);
		hub_free_dead(hub);
		loop_stop(loop);
		return 0;
	}
	if (hub->opts.exit_when_idle && atomic_load(&hub->n_waiters) == 0) {
		loop_stop(loop);
		return 0;
	}
	t = hub_timeout(hub, now);
	/* The transport parked waiters that want the store looked at. */
	if (hub->check_now || atomic_load(&hub->committed))
		t = 0;
	if (hub->stop_begun && hub->transport_busy && t > 50)
		t = 50; /* its requests end without waking the hub */
	return transport_ms >= 0 && transport_ms < t ? transport_ms : t;
}

/* ---- the API ---- */

enum ecode hub_new(const struct hub_options *opts, struct hub **out)
{
	struct hub *hub;
	int64_t last_id;
	enum ecode rc;

	*out = NULL;
	hub = calloc(1, sizeof(*hub));
	if (!hub)
		return EC_NOMEM;
	hub->opts = *opts;
	loop_io_init(&hub->wake.io, -1, NULL);
	if (hub->opts.fallback_check_ms <= 0)
		hub->opts.fallback_check_ms = HUB_DEFAULT_CHECK_MS;
	if (hub->opts.heartbeat_ms <= 0)
		hub->opts.heartbeat_ms = HUB_DEFAULT_HEARTBEAT_MS;
	if (hub->opts.stream_max_ms <= 0)
		hub->opts.stream_max_ms = HUB_DEFAULT_STREAM_MAX_MS;
	pthread_mutex_init(&hub->mu, NULL);
	list_init(&hub->queue);
	for (size_t k = 0; k < HUB_KINDS; k++)
		list_init(&hub->parked[k]);
	list_init(&hub->sse_pings);
	list_init(&hub->poll_fifo);
	list_init(&hub->sio_due);
	list_init(&hub->closing);
	list_init(&hub->dead);
	event_ring_init(&hub->ring, NULL, 0);
	buf_init(&hub->body, HUB_POLL_BODY_MAX);
	if (opts->max_per_session > 0 || opts->max_per_user > 0) {
		/* two keys per waiter at most, at most half full */
		size_t n = 64;

		while (opts->max_waiters > 0 &&
		       n < 4 * (size_t)opts->max_waiters)
			n <<= 1;
		if (opts->max_waiters <= 0)
			n = 1u << 16;
		hub->counts = calloc(n, sizeof(*hub->counts));
		if (!hub->counts) {
			rc = EC_NOMEM;
			goto fail;
		}
		hub->counts_mask = n - 1;
	}
	hub->db_path = strdup(opts->db_path);
	if (!hub->db_path) {
		rc = EC_NOMEM;
		goto fail;
	}
	hub->opts.db_path = hub->db_path;
	if ((rc = loop_new(&hub->loop)) != EC_OK ||
	    (rc = store_open(hub->db_path, &hub->store)) != EC_OK ||
	    (rc = notify_open(hub->db_path, true, &hub->notify)) != EC_OK ||
	    (rc = store_last_event_id(hub->store, &last_id)) != EC_OK)
		goto fail;
	event_ring_release(&hub->ring);
	event_ring_init(&hub->ring, hub->store, last_id);
	atomic_store(&hub->st_last_id, last_id);
	hub->sessions_gen = 1;
	hub->check_ok = true;
	/* Just read: the next look is due at a wake-up or the fallback. */
	hub->next_check_ms = clock_mono_ms() + hub->opts.fallback_check_ms;
	if ((rc = loop_waker_open(hub->loop, &hub->wake)) != EC_OK)
		goto fail;
	loop_io_init(&hub->notify_io, notify_fd(hub->notify), hub_on_notify);
	if (notify_fd(hub->notify) >= 0 &&
	    loop_io_start(hub->loop, &hub->notify_io, EPOLLIN) != EC_OK) {
		log_error("hub: epoll_ctl: %s", strerror(errno));
		rc = EC_IO;
		goto fail;
	}
	loop_set_before_sleep(hub->loop, hub_tick, hub);
	*out = hub;
	return EC_OK;
fail:
	hub_free(hub);
	return rc;
}

void hub_free(struct hub *hub)
{
	if (!hub)
		return;
	if (hub->loop && hub->store) {
		/* Whatever is still parked or queued: end it as a stop
		 * would, write what the sockets take now, close. */
		if (!hub->stop_begun)
			hub_begin_stop(hub, clock_mono_ms());
		hub_close_all(hub);
	}
	hub_free_dead(hub);
	event_ring_release(&hub->ring);
	free(hub->poll_heap);
	free(hub->touch_ids);
	free(hub->ended);
	buf_release(&hub->body);
	loop_waker_close(hub->loop, &hub->wake);
	notify_close(hub->notify);
	store_close(hub->store);
	loop_free(hub->loop);
	pthread_mutex_destroy(&hub->mu);
	free(hub->counts);
	free(hub->db_path);
	free(hub);
}

enum ecode hub_park(struct hub *hub, const struct hub_waiter_spec *spec)
{
	bool raw_in = spec->sink == HUB_SINK_RAW && spec->in_fd >= 0;
	struct waiter *w;
	enum ecode rc = EC_OK;

	if (spec->fd < 0 ||
	    (spec->kind != HUB_SSE && spec->kind != HUB_POLL &&
	     spec->kind != HUB_SIO) ||
	    (spec->sink != HUB_SINK_FCGI && spec->sink != HUB_SINK_RAW) ||
	    (spec->kind == HUB_POLL && spec->timeout_ms < 0))
		return EC_INTERNAL;
	if (raw_in) {
		struct hub_waiter_raw *r = calloc(1, sizeof(*r));

		if (!r)
			return EC_NOMEM;
		loop_io_init(&r->in_io, spec->in_fd, hub_on_in);
		w = &r->w;
		w->flags = HUB_WAITER_HAS_IN;
	} else {
		w = calloc(1, sizeof(*w));
		if (!w)
			return EC_NOMEM;
	}
	sink_init(&w->sink, spec->sink == HUB_SINK_FCGI ? SINK_FCGI : SINK_RAW,
		  spec->fd, spec->request_id, hub_on_io);
	w->kind = (uint8_t)spec->kind;
	w->state = HUB_WAITER_QUEUED;
	w->cursor = spec->cursor;
	w->session_id = spec->session_id;
	w->user_id = spec->user_id;
	w->end_ms = spec->timeout_ms; /* until adoption starts the clock */
	if (spec->keep_conn && spec->sink == HUB_SINK_FCGI)
		w->flags |= HUB_WAITER_KEEP;
	if (spec->registered)
		w->flags |= HUB_WAITER_REGISTERED;
	if (spec->prelude_len > 0 &&
	    sink_preload(&w->sink, spec->prelude, spec->prelude_len) !=
		    SINK_PENDING) {
		sink_free(&w->sink);
		free(w);
		return EC_NOMEM;
	}
	w->sio_id = spec->sio_id;

	pthread_mutex_lock(&hub->mu);
	if (hub->stopping)
		rc = EC_UNAVAILABLE;
	else if (hub->opts.max_waiters > 0 && !spec->immediate &&
		 atomic_load(&hub->n_waiters) >= hub->opts.max_waiters)
		rc = EC_TOO_MANY_WAITERS;
	else if (!hub_count_room(hub, w->session_id, w->user_id))
		rc = EC_TOO_MANY_WAITERS;
	else {
		hub_count_claim(hub, w);
		atomic_fetch_add(&hub->n_waiters, 1);
		if (!spec->registered)
			list_append(&hub->queue, &w->link);
	}
	pthread_mutex_unlock(&hub->mu);
	if (rc != EC_OK) {
		sink_free(&w->sink);
		free(w); /* a struct hub_waiter_raw starts with its waiter */
		return rc;
	}
	if (spec->registered) {
		/* On the hub thread, the fd in the loop: adopt now, so that
		 * no event comes for the caller's io once it forgets it. */
		list_init(&w->link);
		if (spec->immediate)
			hub->check_now = true;
		hub_adopt(hub, w, clock_mono_ms());
		return EC_OK;
	}
	atomic_store(&hub->queued, true);
	/* Its events are in the store: look at once, whoever woke us. */
	if (spec->immediate)
		atomic_store(&hub->committed, true);
	loop_waker_wake(&hub->wake);
	return EC_OK;
}

bool hub_has_room(struct hub *hub)
{
	return hub->opts.max_waiters <= 0 ||
	       atomic_load(&hub->n_waiters) < hub->opts.max_waiters;
}

bool hub_has_room_for(struct hub *hub, int64_t session_id, int64_t user_id)
{
	bool room;

	pthread_mutex_lock(&hub->mu);
	room = hub_count_room(hub, session_id, user_id);
	pthread_mutex_unlock(&hub->mu);
	return room;
}

void hub_end_sessions(struct hub *hub, const int64_t *ids, size_t n)
{
	if (n == 0)
		return;
	pthread_mutex_lock(&hub->mu);
	if (hub->n_ended + n > hub->cap_ended) {
		size_t cap = hub->n_ended + n;
		int64_t *p = realloc(hub->ended, cap * sizeof(*p));

		if (!p) {
			pthread_mutex_unlock(&hub->mu);
			log_error("hub: out of memory ending sessions");
			return;
		}
		hub->ended = p;
		hub->cap_ended = cap;
	}
	memcpy(hub->ended + hub->n_ended, ids, n * sizeof(*ids));
	hub->n_ended += n;
	pthread_mutex_unlock(&hub->mu);
	atomic_store(&hub->ended_req, true);
	loop_waker_wake(&hub->wake);
}

void hub_events_committed(struct hub *hub)
{
	atomic_store(&hub->committed, true);
	loop_waker_wake(&hub->wake);
}

enum ecode hub_run(struct hub *hub)
{
	enum ecode rc = loop_run(hub->loop);

	/* Issue 9: the hub never ends quietly.  Every parked client depends
	 * on it; the caller must end the process (non-zero) so that systemd
	 * or the web server starts a new one, and here is the line saying
	 * why, whatever the caller does. */
	if (rc != EC_OK)
		log_error("hub: the event loop failed (%s): %d waiters will "
			  "not be served",
			  ecode_name(rc), atomic_load(&hub->n_waiters));
	return rc;
}

struct loop *hub_loop(struct hub *hub)
{
	return hub->loop;
}

void hub_set_transport(struct hub *hub, hub_tick_fn *tick,
		       hub_give_back_fn *give_back, void *ctx)
{
	hub->opts.tick = tick;
	hub->opts.give_back = give_back;
	hub->opts.transport_ctx = ctx;
}

void hub_stop(struct hub *hub)
{
	pthread_mutex_lock(&hub->mu);
	hub->stopping = true;
	pthread_mutex_unlock(&hub->mu);
	atomic_store(&hub->stop_req, true);
	loop_waker_wake(&hub->wake);
}

bool hub_sessions_current(struct hub *hub, bool exact, uint64_t *gen,
			  int64_t *last_id)
{
	*gen = hub->sessions_gen;
	*last_id = hub->ring.last_id;
	return hub->check_ok && !hub->check_now && !hub->retry_pump &&
	       !atomic_load(&hub->committed) && !atomic_load(&hub->ended_req) &&
	       (!exact || notify_quiet(hub->notify));
}

uint64_t hub_sessions_gen(const struct hub *hub)
{
	return hub->sessions_gen;
}

void hub_get_stats(struct hub *hub, struct hub_stats *out)
{
	out->sse_waiters = atomic_load(&hub->st_parked[HUB_SSE]);
	out->poll_waiters = atomic_load(&hub->st_parked[HUB_POLL]);
	out->sio_waiters = atomic_load(&hub->st_parked[HUB_SIO]);
	out->last_event_id = atomic_load(&hub->st_last_id);
	out->events_delivered = atomic_load(&hub->st_delivered);
	out->waiters_dropped = atomic_load(&hub->st_dropped);
}
