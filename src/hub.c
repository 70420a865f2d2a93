/* hub.c -- parked waiters and event delivery (see hub.h, docs/HUB.md).
 *
 * A waiter is a parked request: a connection, a FastCGI request id and a
 * cursor, the id of the last event it was given.  The hub is one epoll
 * loop (loop.c) on one thread that owns every waiter and moves each cursor
 * forward through the event log, as Redis blocked.c serves clients parked
 * on keys: in batches, when woken.
 *
 *   accept thread --hub_park()--> queue + eventfd --> adopt: register fd,
 *                                                     timers, catch up
 *   commit hook --hub_events_committed()--+
 *   other process --notify poke (inotify)-+--> check: store_last_event_id,
 *   fallback timer -----------------------+    read new events into the
 *                                              ring, pump every waiter
 *
 * Events.  Each new event is read once from the hub's own store connection
 * and serialised once into a refcounted struct hub_event holding both its
 * SSE frame and its long-poll JSON fragment; the newest HUB_RING_SIZE are
 * kept in a ring.  The ring holds every event with ring_base < id <=
 * last_id.  A waiter whose cursor is below ring_base (it was adopted late,
 * or its socket was slow while the ring moved on) reads from the store
 * (hub_walk()), so nothing is skipped; events the log no longer has
 * (trimmed past retention) end the waiter instead, and the client's next
 * request gets the reset that the accepting code gives a stale id.
 *
 * Delivery is by cursor: pumping a waiter writes the events after its
 * cursor and advances the cursor past each one written or queued, so each
 * event goes out once, in id order, whatever woke the hub and however
 * often.  A waiter whose cursor is ahead of the hub (it was parked before
 * the hub heard of an event) just waits until the hub catches up.
 *
 * Writing.  A FastCGI waiter gets writev(header, the shared frame,
 * padding) per record, several events per call (struct wbatch).  Only what
 * a partial write leaves is copied, into the waiter's own pending buffer
 * (capped at HUB_PENDING_MAX; a waiter past it is dropped and its client
 * resumes by id); the waiter then gets nothing more until EPOLLOUT has
 * drained it, so a slow reader costs at most one batch of copies and falls
 * back on the store, not on memory.
 *
 * Timers.  Heartbeat and stream length are the same for every SSE waiter,
 * so two FIFO lists ordered by deadline serve them in O(1): `sse` in park
 * order (stream end), `pings` (next heartbeat; a pinged waiter moves to the
 * tail).  Polls have their own timeouts: a binary min-heap.  Ending waiters
 * wait for their last bytes in `closing`, FIFO, HUB_CLOSE_MS at most.
 *
 * Lifetime.  QUEUED (hub_park) -> PARKED (adopted) -> CLOSING (request
 * ended, bytes pending) -> DEAD (fd closed).  A waiter's memory is freed in
 * the before-sleep hook, after the batch of events it may still appear in.
 *
 * Threads.  The queue of parked specs is the only state shared with other
 * threads (mutex); counters and flags are atomics.
 *
 * To extend: a new kind of waiter is a value of enum hub_kind, a branch in
 * waiter_pump() (what to send when events come) and in the timers (what to
 * do when time passes); writing, reading and lifetime stay as they are.
 */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "fcgi_record.h"
#include "hub.h"
#include "log.h"
#include "longpoll.h"
#include "loop.h"
#include "notify.h"
#include "sse.h"
#include "store.h"

#define HUB_RING_SIZE 4096	      /* recent events kept; power of 2 */
#define HUB_PENDING_MAX (1u << 20)    /* unsent bytes per waiter */
#define HUB_READ_BATCH 256	      /* events per store read */
#define HUB_READ_ROUND 2048	      /* events read before pumping */
#define HUB_CATCHUP_BATCH 64	      /* events per catch-up read */
#define HUB_EVENT_MAX (8u << 20)      /* one serialised event */
#define HUB_POLL_BODY_SOFT (1u << 20) /* a poll answer stops growing here */
#define HUB_POLL_BODY_MAX (HUB_POLL_BODY_SOFT + 2 * HUB_EVENT_MAX)
#define HUB_CLOSE_MS 5000      /* for an ended waiter's last bytes */
#define HUB_STOP_FLUSH_MS 1000 /* for all of them at hub_stop() */
#define HUB_READ_BYTES 16384   /* one read from a connection */
#define HUB_DEFAULT_CHECK_MS 1000
#define HUB_DEFAULT_HEARTBEAT_MS 15000
#define HUB_DEFAULT_STREAM_MAX_MS 600000

static const char HUB_POLL_HEAD[] = "Status: 200 OK\r\n"
				    "Content-Type: application/json\r\n"
				    "Cache-Control: no-store\r\n\r\n";
static const char HUB_PING[] = ": ping\n\n";

#define container_of(ptr, type, member)                                        \
	((type *)(void *)((char *)(ptr)-offsetof(type, member)))

struct hub_list {
	struct hub_list *prev, *next;
};

static void list_init(struct hub_list *l)
{
	l->prev = l->next = l;
}

static bool list_empty(const struct hub_list *l)
{
	return l->next == l;
}

static void list_append(struct hub_list *head, struct hub_list *n)
{
	n->prev = head->prev;
	n->next = head;
	head->prev->next = n;
	head->prev = n;
}

static void list_del(struct hub_list *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->prev = n->next = n;
}

/* One event, serialised once, shared by the ring and write batches. */
struct hub_event {
	int64_t id;
	int refs;
	uint32_t sse_len;  /* text[0..sse_len): the SSE frame */
	uint32_t json_len; /* then the long-poll fragment, no comma */
	char text[];
};

enum waiter_state {
	WAITER_QUEUED,
	WAITER_PARKED,
	WAITER_CLOSING,
	WAITER_DEAD,
};

#define WAITER_NOSOCK 1u  /* fd is not a socket: writev(), not sendmsg() */
#define WAITER_NOEPOLL 2u /* fd is a regular file: never waits */
#define WAITER_HAS_IN 4u  /* a struct waiter_raw watching in_fd */

struct waiter {
	struct loop_io io;
	struct hub_list link; /* queue, sse, poll, closing or dead */
	union {
		struct hub_list ping; /* SSE: the heartbeat FIFO */
		size_t heap_idx;      /* POLL: place in hub->heap */
	} t;
	int64_t cursor;
	int64_t session_id;
	int64_t deadline_ms; /* SSE: next ping; POLL: timeout; CLOSING: end */
	int64_t end_ms;	     /* SSE: stream_max; QUEUED: the poll timeout */
	struct buf *out;     /* unsent bytes, NULL when none */
	struct buf *in;	     /* a partial FastCGI record, NULL when none */
	uint16_t request_id;
	uint8_t kind;
	uint8_t sink;
	uint8_t state;
	uint8_t flags;
};

/* Plain CGI: the waiter also watches stdin for a hang-up. */
struct waiter_raw {
	struct waiter w;
	struct loop_io in_io;
};

struct hub {
	struct hub_options opts;
	char *db_path;
	struct loop *loop;
	struct store *store;
	struct notify *notify;
	int wake_fd; /* eventfd: park, commit, stop */
	struct loop_io wake_io;
	struct loop_io notify_io;

	/* Shared with other threads. */
	pthread_mutex_t mu;
	struct hub_list queue; /* QUEUED waiters */
	bool stopping;	       /* under mu: hub_park() refuses */
	int64_t *ended;	       /* under mu: hub_end_sessions() ids */
	size_t n_ended, cap_ended;
	atomic_bool ended_req;
	atomic_int n_waiters;  /* queued, parked and closing */
	atomic_bool queued, committed, stop_req;
	atomic_int st_sse, st_poll;
	_Atomic int64_t st_last_id;
	_Atomic uint64_t st_delivered, st_dropped;

	/* Hub thread only. */
	struct hub_list sse, pings, poll, closing, dead;
	struct waiter **heap;
	size_t heap_len, heap_cap;
	struct hub_event *ring[HUB_RING_SIZE];
	size_t ring_head, ring_len;
	int64_t last_id;   /* newest event read */
	int64_t ring_base; /* the ring holds every event after this id */
	bool check_now;
	bool retry_pump; /* a catch-up failed on a store error */
	bool stop_begun;
	int64_t stop_deadline_ms;
	int64_t next_check_ms, next_touch_ms;
	int64_t *touch_ids;
	size_t touch_cap;
	struct buf fmt;	 /* scratch: one event being serialised */
	struct buf body; /* scratch: one poll answer */
	char rbuf[HUB_READ_BYTES];
};

static void waiter_close_now(struct hub *hub, struct waiter *w);
static void waiter_pump(struct hub *hub, struct waiter *w);

/* ---- events and the ring ---- */

static void hub_event_unref(struct hub_event *ev)
{
	if (ev && --ev->refs == 0)
		free(ev);
}

static enum ecode hub_event_new(struct hub *hub, int64_t id, const char *name,
				const char *data, struct hub_event **out)
{
	struct buf *f = &hub->fmt;
	struct hub_event *ev;
	bool first = true;
	size_t sse_len;
	enum ecode rc;

	buf_reset(f);
	if ((rc = sse_format_event(f, id, name, data)) != EC_OK)
		return rc;
	sse_len = f->len;
	if ((rc = longpoll_add(f, &first, id, name, data)) != EC_OK)
		return rc;
	ev = malloc(sizeof(*ev) + f->len);
	if (!ev)
		return EC_NOMEM;
	ev->id = id;
	ev->refs = 1;
	ev->sse_len = (uint32_t)sse_len;
	ev->json_len = (uint32_t)(f->len - sse_len);
	memcpy(ev->text, f->data, f->len);
	*out = ev;
	return EC_OK;
}

/* Serialises a stored event; one too large to serialise is logged and
 * sent with data null rather than stall delivery behind it. */
static enum ecode hub_event_from_store(struct hub *hub,
				       const struct store_event *sev,
				       struct hub_event **out)
{
	enum ecode rc = hub_event_new(hub, sev->id, sev->name, sev->data, out);

	if (rc == EC_TOO_LARGE) {
		log_error("hub: event %" PRId64 " is too large to send; "
			  "sending it with data null",
			  sev->id);
		rc = hub_event_new(hub, sev->id,
				   strlen(sev->name) <= 64 ? sev->name : "",
				   "null", out);
	}
	return rc;
}

static struct hub_event *ring_at(const struct hub *hub, size_t i)
{
	return hub->ring[(hub->ring_head + i) & (HUB_RING_SIZE - 1)];
}

static void ring_push(struct hub *hub, struct hub_event *ev)
{
	if (hub->ring_len == HUB_RING_SIZE) {
		struct hub_event *old = ring_at(hub, 0);

		hub->ring_base = old->id;
		hub_event_unref(old);
		hub->ring_head = (hub->ring_head + 1) & (HUB_RING_SIZE - 1);
		hub->ring_len--;
	}
	hub->ring[(hub->ring_head + hub->ring_len) & (HUB_RING_SIZE - 1)] = ev;
	hub->ring_len++;
	hub->last_id = ev->id;
	atomic_store(&hub->st_last_id, ev->id);
}

static void ring_clear(struct hub *hub)
{
	for (size_t i = 0; i < hub->ring_len; i++)
		hub_event_unref(ring_at(hub, i));
	hub->ring_head = hub->ring_len = 0;
}

/* Index of the first event in the ring with id > cursor. */
static size_t ring_find(const struct hub *hub, int64_t cursor)
{
	size_t lo = 0, hi = hub->ring_len;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ring_at(hub, mid)->id <= cursor)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Called by hub_walk() per event; false stops the walk. */
typedef bool hub_walk_fn(void *ctx, struct hub_event *ev);

struct catchup {
	struct hub *hub;
	int64_t max_id;
	size_t n;
	struct hub_event *evs[HUB_CATCHUP_BATCH];
};

static enum ecode catchup_collect(void *ctx, const struct store_event *sev)
{
	struct catchup *c = ctx;
	enum ecode rc;

	/* Past ring_base the ring has it, serialised already. */
	if (sev->id > c->max_id || c->n == HUB_CATCHUP_BATCH)
		return EC_OK;
	rc = hub_event_from_store(c->hub, sev, &c->evs[c->n]);
	if (rc == EC_OK)
		c->n++;
	return rc;
}

/* Were events after cursor trimmed from the log?  EC_NOT_FOUND if so. */
static enum ecode hub_check_gap(struct hub *hub, int64_t cursor)
{
	struct store_snapshot snap;
	enum ecode rc = store_snapshot(hub->store, &snap);

	if (rc != EC_OK)
		return rc;
	if (snap.first_id == 0 || snap.first_id > cursor + 1)
		return EC_NOT_FOUND;
	return EC_OK;
}

/* Calls fn for every event after cursor that the hub knows of (id <=
 * last_id), in id order, until fn returns false: from the store below
 * ring_base, then from the ring.  EC_NOT_FOUND when events after cursor
 * are no longer in the log; a store error is returned as it is. */
static enum ecode hub_walk(struct hub *hub, int64_t cursor, hub_walk_fn *fn,
			   void *ctx)
{
	enum ecode rc;

	while (cursor < hub->ring_base) {
		struct catchup c = {.hub = hub, .max_id = hub->ring_base};
		bool stop = false;
		int64_t next;
		size_t i;

		rc = store_events_after(hub->store, cursor, HUB_CATCHUP_BATCH,
					catchup_collect, &c);
		if (rc == EC_OK && (c.n == 0 || c.evs[0]->id != cursor + 1))
			rc = hub_check_gap(hub, cursor);
		for (i = 0; rc == EC_OK && i < c.n && !stop; i++)
			stop = !fn(ctx, c.evs[i]);
		/* A short batch ends at ring_base (or the ids had holes). */
		next = c.n == HUB_CATCHUP_BATCH ? c.evs[c.n - 1]->id
						: hub->ring_base;
		for (i = 0; i < c.n; i++)
			hub_event_unref(c.evs[i]);
		if (rc != EC_OK || stop)
			return rc;
		cursor = next;
	}
	for (size_t i = ring_find(hub, cursor); i < hub->ring_len; i++)
		if (!fn(ctx, ring_at(hub, i)))
			break;
	return EC_OK;
}

/* ---- writing ---- */

#define WB_IOV 64
#define WB_HDR 20
#define WB_EV 20

/* Bytes for one waiter gathered into one writev().  Holds a reference on
 * every event whose bytes it points at, until wb_flush(). */
struct wbatch {
	struct hub *hub;
	struct waiter *w;
	int niov, nhdr, nev;
	struct hub_event *ev[WB_EV];
	FCGI_Header hdr[WB_HDR];
	unsigned char end[FCGI_RECORD_END_BYTES];
	struct iovec iov[WB_IOV];
};

static void wb_init(struct wbatch *wb, struct hub *hub, struct waiter *w)
{
	wb->hub = hub;
	wb->w = w;
	wb->niov = wb->nhdr = wb->nev = 0;
}

/* Bytes written (0 when the socket is full), -1 when the connection is
 * broken. */
static ssize_t waiter_writev(struct waiter *w, struct iovec *iov, int n)
{
	ssize_t r;

	for (;;) {
		if (!(w->flags & WAITER_NOSOCK)) {
			struct msghdr m = {.msg_iov = iov,
					   .msg_iovlen = (size_t)n};

			r = sendmsg(w->io.fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (r < 0 && errno == ENOTSOCK) {
				w->flags |= WAITER_NOSOCK;
				continue;
			}
		} else {
			r = writev(w->io.fd, iov, n);
		}
		if (r >= 0)
			return r;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		log_debug("hub: write: %s", strerror(errno));
		return -1;
	}
}

static uint32_t waiter_base_events(const struct waiter *w)
{
	return w->sink == HUB_SINK_FCGI ? EPOLLIN | EPOLLRDHUP : 0;
}

/* Asks for EPOLLOUT while bytes are pending. */
static void waiter_want_out(struct hub *hub, struct waiter *w, bool want)
{
	if (w->state == WAITER_DEAD || w->state == WAITER_QUEUED)
		return;
	if (w->flags & WAITER_NOEPOLL) {
		/* A regular file never fills up; if it did, no one can
		 * wait for it. */
		if (want)
			waiter_close_now(hub, w);
		return;
	}
	if (loop_io_start(hub->loop, &w->io,
			  waiter_base_events(w) | (want ? EPOLLOUT : 0)) !=
	    EC_OK) {
		log_warn("hub: epoll_ctl: %s", strerror(errno));
		waiter_close_now(hub, w);
	}
}

/* Copies bytes into the waiter's pending buffer (framed: as FCGI_STDOUT
 * records for a FastCGI sink).  False (and the waiter dropped) past
 * HUB_PENDING_MAX or out of memory. */
static bool waiter_queue(struct hub *hub, struct waiter *w, const void *data,
			 size_t len, bool framed)
{
	enum ecode rc;

	if (!w->out) {
		w->out = malloc(sizeof(*w->out));
		if (!w->out) {
			rc = EC_NOMEM;
			goto out;
		}
		buf_init(w->out, HUB_PENDING_MAX);
	}
	if (framed && w->sink == HUB_SINK_FCGI)
		rc =
		    fcgi_record_append_stdout(w->out, w->request_id, data, len);
	else
		rc = buf_add(w->out, data, len);
out:
	if (rc != EC_OK) {
		log_info("hub: dropping a waiter that cannot keep up (%s)",
			 ecode_name(rc));
		atomic_fetch_add(&hub->st_dropped, 1);
		waiter_close_now(hub, w);
		return false;
	}
	return true;
}

/* Writes the batch; keeps a copy of what the socket did not take. */
static void wb_flush(struct wbatch *wb)
{
	struct waiter *w = wb->w;
	ssize_t n;
	int i;

	if (wb->niov == 0 || w->state == WAITER_DEAD)
		goto out;
	n = waiter_writev(w, wb->iov, wb->niov);
	if (n < 0) {
		waiter_close_now(wb->hub, w);
		goto out;
	}
	for (i = 0; i < wb->niov && (size_t)n >= wb->iov[i].iov_len; i++)
		n -= (ssize_t)wb->iov[i].iov_len;
	if (i < wb->niov) {
		for (; i < wb->niov; i++) {
			if (!waiter_queue(
				wb->hub, w, (char *)wb->iov[i].iov_base + n,
				wb->iov[i].iov_len - (size_t)n, false))
				goto out;
			n = 0;
		}
		waiter_want_out(wb->hub, w, true);
	}
out:
	for (i = 0; i < wb->nev; i++)
		hub_event_unref(wb->ev[i]);
	wb->niov = wb->nhdr = wb->nev = 0;
}

static void waiter_flush_out(struct hub *hub, struct waiter *w);

/* Adds bytes to the batch: framed as FCGI_STDOUT records for a FastCGI
 * sink, or as they are.  ev (may be NULL) owns data and is kept alive. */
static void wb_add(struct wbatch *wb, const void *data, size_t len,
		   struct hub_event *ev, bool framed)
{
	struct waiter *w = wb->w;
	const char *p = data;
	bool fcgi = framed && w->sink == HUB_SINK_FCGI;
	size_t records =
	    fcgi ? (len + FCGI_RECORD_CONTENT_MAX - 1) / FCGI_RECORD_CONTENT_MAX
		 : 1;
	int need_iov = fcgi ? 3 * (int)records : 1;

	if (len == 0 || w->state == WAITER_DEAD)
		return;
	if (w->out) {
		waiter_queue(wb->hub, w, data, len, framed);
		return;
	}
	if (records > WB_HDR || need_iov > WB_IOV) {
		/* Larger than any batch (a huge poll answer): copy. */
		wb_flush(wb);
		if (w->state != WAITER_DEAD &&
		    waiter_queue(wb->hub, w, data, len, framed))
			waiter_flush_out(wb->hub, w);
		return;
	}
	if (wb->niov + need_iov > WB_IOV ||
	    wb->nhdr + (fcgi ? (int)records : 0) > WB_HDR ||
	    (ev && wb->nev == WB_EV)) {
		wb_flush(wb);
		if (w->state == WAITER_DEAD)
			return;
		if (w->out) {
			waiter_queue(wb->hub, w, data, len, framed);
			return;
		}
	}
	if (!fcgi) {
		wb->iov[wb->niov++] = (struct iovec){(void *)p, len};
	} else {
		while (len > 0) {
			size_t n = len < FCGI_RECORD_CONTENT_MAX
				       ? len
				       : FCGI_RECORD_CONTENT_MAX;
			FCGI_Header *h = &wb->hdr[wb->nhdr++];
			unsigned pad = fcgi_record_header(h, FCGI_STDOUT,
							  w->request_id, n);

			wb->iov[wb->niov++] = (struct iovec){h, sizeof(*h)};
			wb->iov[wb->niov++] = (struct iovec){(void *)p, n};
			if (pad)
				wb->iov[wb->niov++] = (struct iovec){
				    (void *)fcgi_record_zeros, pad};
			p += n;
			len -= n;
		}
	}
	if (ev) {
		ev->refs++;
		wb->ev[wb->nev++] = ev;
	}
}

/* The end of the request: empty FCGI_STDOUT + FCGI_END_REQUEST (a raw
 * sink ends by closing). */
static void wb_add_end(struct wbatch *wb)
{
	if (wb->w->sink != HUB_SINK_FCGI)
		return;
	fcgi_record_end(wb->end, wb->w->request_id);
	wb_add(wb, wb->end, sizeof(wb->end), NULL, false);
}

static void waiter_flush_out(struct hub *hub, struct waiter *w)
{
	struct iovec iov;
	ssize_t n;

	if (!w->out || w->state == WAITER_DEAD)
		return;
	iov.iov_base = w->out->data;
	iov.iov_len = w->out->len;
	n = waiter_writev(w, &iov, 1);
	if (n < 0) {
		waiter_close_now(hub, w);
		return;
	}
	buf_consume(w->out, (size_t)n);
	if (w->out->len > 0) {
		waiter_want_out(hub, w, true);
		return;
	}
	buf_release(w->out);
	free(w->out);
	w->out = NULL;
	if (w->state == WAITER_CLOSING)
		waiter_close_now(hub, w);
	else
		waiter_want_out(hub, w, false);
}

/* ---- waiter lifetime ---- */

static void heap_swap(struct hub *hub, size_t a, size_t b)
{
	struct waiter *t = hub->heap[a];

	hub->heap[a] = hub->heap[b];
	hub->heap[b] = t;
	hub->heap[a]->t.heap_idx = a;
	hub->heap[b]->t.heap_idx = b;
}

static void heap_up(struct hub *hub, size_t i)
{
	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (hub->heap[parent]->deadline_ms <= hub->heap[i]->deadline_ms)
			break;
		heap_swap(hub, i, parent);
		i = parent;
	}
}

static void heap_down(struct hub *hub, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, min = i;

		if (l < hub->heap_len &&
		    hub->heap[l]->deadline_ms < hub->heap[min]->deadline_ms)
			min = l;
		if (r < hub->heap_len &&
		    hub->heap[r]->deadline_ms < hub->heap[min]->deadline_ms)
			min = r;
		if (min == i)
			return;
		heap_swap(hub, i, min);
		i = min;
	}
}

static enum ecode heap_push(struct hub *hub, struct waiter *w)
{
	if (hub->heap_len == hub->heap_cap) {
		size_t cap = hub->heap_cap ? 2 * hub->heap_cap : 64;
		struct waiter **h = realloc(hub->heap, cap * sizeof(*h));

		if (!h)
			return EC_NOMEM;
		hub->heap = h;
		hub->heap_cap = cap;
	}
	w->t.heap_idx = hub->heap_len;
	hub->heap[hub->heap_len++] = w;
	heap_up(hub, w->t.heap_idx);
	return EC_OK;
}

static void heap_remove(struct hub *hub, struct waiter *w)
{
	size_t i = w->t.heap_idx;

	hub->heap_len--;
	if (i != hub->heap_len) {
		heap_swap(hub, i, hub->heap_len);
		heap_down(hub, i);
		heap_up(hub, i);
	}
}

/* PARKED -> out of every list and timer (the caller files it again). */
static void waiter_unpark(struct hub *hub, struct waiter *w)
{
	if (w->state == WAITER_QUEUED) {
		list_del(&w->link);
		return;
	}
	if (w->state != WAITER_PARKED) {
		if (w->state == WAITER_CLOSING)
			list_del(&w->link);
		return;
	}
	list_del(&w->link);
	if (w->kind == HUB_SSE) {
		list_del(&w->t.ping);
		atomic_fetch_sub(&hub->st_sse, 1);
	} else {
		heap_remove(hub, w);
		atomic_fetch_sub(&hub->st_poll, 1);
	}
}

/* Closes the connection at once, without another byte; frees later. */
static void waiter_close_now(struct hub *hub, struct waiter *w)
{
	if (w->state == WAITER_DEAD)
		return;
	waiter_unpark(hub, w);
	loop_io_stop(hub->loop, &w->io);
	if (close(w->io.fd) < 0)
		log_debug("hub: close: %s", strerror(errno));
	if (w->flags & WAITER_HAS_IN) {
		struct waiter_raw *r = container_of(w, struct waiter_raw, w);

		loop_io_stop(hub->loop, &r->in_io);
		if (r->in_io.fd >= 0 && close(r->in_io.fd) < 0)
			log_debug("hub: close: %s", strerror(errno));
	}
	w->state = WAITER_DEAD;
	list_append(&hub->dead, &w->link);
	atomic_fetch_sub(&hub->n_waiters, 1);
}

static void waiter_free(struct waiter *w)
{
	fcgi_record_tail_free(&w->in);
	if (w->out) {
		buf_release(w->out);
		free(w->out);
	}
	free(w);
}

/* The request's last bytes are written or queued: close when they are
 * out, HUB_CLOSE_MS at most. */
static void waiter_finish(struct hub *hub, struct waiter *w)
{
	if (w->state == WAITER_DEAD)
		return;
	if (!w->out) {
		waiter_close_now(hub, w);
		return;
	}
	waiter_unpark(hub, w);
	w->state = WAITER_CLOSING;
	w->deadline_ms = clock_mono_ms() + HUB_CLOSE_MS;
	list_append(&hub->closing, &w->link);
}

/* Ends the request cleanly (SSE: the client reconnects with its id). */
static void waiter_end(struct hub *hub, struct waiter *w)
{
	struct wbatch wb;

	if (w->state != WAITER_PARKED && w->state != WAITER_QUEUED)
		return;
	wb_init(&wb, hub, w);
	wb_add_end(&wb);
	wb_flush(&wb);
	waiter_finish(hub, w);
}

/* ---- delivery ---- */

static bool sse_deliver(void *ctx, struct hub_event *ev)
{
	struct wbatch *wb = ctx;
	struct waiter *w = wb->w;

	if (w->state != WAITER_PARKED || w->out)
		return false;
	wb_add(wb, ev->text, ev->sse_len, ev, true);
	if (w->state != WAITER_PARKED)
		return false;
	w->cursor = ev->id;
	atomic_fetch_add(&wb->hub->st_delivered, 1);
	return !w->out;
}

struct poll_collect {
	struct buf *body;
	enum ecode rc;
	size_t n;
	int64_t last_id;
};

static bool poll_collect(void *ctx, struct hub_event *ev)
{
	struct poll_collect *p = ctx;
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
static void poll_answer(struct hub *hub, struct waiter *w, bool final,
			bool with_events)
{
	struct poll_collect p = {.body = &hub->body};
	struct wbatch wb;
	enum ecode rc = EC_OK;
	int64_t last_id = w->cursor;

	buf_reset(p.body);
	if ((p.rc = buf_adds(p.body, HUB_POLL_HEAD)) != EC_OK ||
	    (p.rc = longpoll_begin(p.body)) != EC_OK)
		goto fail;
	if (with_events && w->cursor < hub->last_id)
		rc = hub_walk(hub, w->cursor, poll_collect, &p);
	if (p.rc != EC_OK)
		goto fail;
	if (rc != EC_OK && rc != EC_NOT_FOUND && !final) {
		hub->retry_pump = true; /* the store failed: try again */
		return;
	}
	if (p.n == 0 && rc != EC_NOT_FOUND && !final) {
		/* No event between the cursor and the newest (ids with
		 * holes): nothing to answer yet. */
		if (rc == EC_OK && w->cursor < hub->last_id)
			w->cursor = hub->last_id;
		return;
	}
	/* With EC_NOT_FOUND the answer is empty at the old cursor: the
	 * client's next poll gets the reset. */
	if (p.n > 0)
		last_id = p.last_id;
	if ((p.rc = longpoll_end(p.body, last_id, false)) != EC_OK)
		goto fail;
	atomic_fetch_add(&hub->st_delivered, p.n);
	wb_init(&wb, hub, w);
	wb_add(&wb, p.body->data, p.body->len, NULL, true);
	wb_add_end(&wb);
	wb_flush(&wb);
	waiter_finish(hub, w);
	return;
fail:
	log_error("hub: cannot build a poll answer: %s", ecode_name(p.rc));
	if (final)
		waiter_close_now(hub, w);
}

/* Sends a waiter what it lacks: an SSE waiter every event after its cursor
 * (until its socket is full), a poll waiter its answer. */
static void waiter_pump(struct hub *hub, struct waiter *w)
{
	struct wbatch wb;
	enum ecode rc;

	if (w->state != WAITER_PARKED || w->out || w->cursor >= hub->last_id)
		return;
	if (w->kind == HUB_POLL) {
		poll_answer(hub, w, false, true);
		return;
	}
	wb_init(&wb, hub, w);
	rc = hub_walk(hub, w->cursor, sse_deliver, &wb);
	wb_flush(&wb);
	if (rc == EC_NOT_FOUND) {
		/* Its next events are gone from the log: end the stream;
		 * the reconnect with Last-Event-ID gets a reset. */
		waiter_end(hub, w);
	} else if (rc != EC_OK) {
		hub->retry_pump = true; /* the store failed: try again */
	} else if (w->state == WAITER_PARKED && !w->out &&
		   w->cursor < hub->last_id) {
		/* The walk ran out before last_id: ids with holes. */
		w->cursor = hub->last_id;
	}
}

static void hub_pump_all(struct hub *hub)
{
	struct hub_list *heads[] = {&hub->sse, &hub->poll};

	for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
		struct hub_list *n, *next;

		for (n = heads[i]->next; n != heads[i]; n = next) {
			next = n->next;
			waiter_pump(hub, container_of(n, struct waiter, link));
		}
	}
}

/* Ends every stream and answers every poll (with the events it has unless
 * !with_events). */
static void hub_end_all(struct hub *hub, bool with_events)
{
	while (!list_empty(&hub->sse))
		waiter_end(hub,
			   container_of(hub->sse.next, struct waiter, link));
	while (!list_empty(&hub->poll))
		poll_answer(hub,
			    container_of(hub->poll.next, struct waiter, link),
			    true, with_events);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Ends the waiters of the sessions hub_end_sessions() named. */
static void hub_end_ended(struct hub *hub)
{
	struct hub_list *heads[] = {&hub->sse, &hub->poll};
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
	for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
		struct hub_list *l, *next;

		for (l = heads[i]->next; l != heads[i]; l = next) {
			struct waiter *w = container_of(l, struct waiter, link);

			next = l->next;
			if (w->session_id <= 0 ||
			    !bsearch(&w->session_id, ids, n, sizeof(*ids),
				     cmp_i64))
				continue;
			if (w->kind == HUB_SSE)
				waiter_end(hub, w);
			else
				poll_answer(hub, w, true, true);
		}
	}
	free(ids);
}

struct reader {
	struct hub *hub;
	size_t n;
};

static enum ecode hub_read_event(void *ctx, const struct store_event *sev)
{
	struct reader *r = ctx;
	struct hub_event *ev;
	enum ecode rc;

	if (sev->id <= r->hub->last_id)
		return EC_OK;
	if ((rc = hub_event_from_store(r->hub, sev, &ev)) != EC_OK)
		return rc;
	if (sev->id != r->hub->last_id + 1) {
		/* Ids skipped: holes, or events trimmed before the hub read
		 * them.  The ring cannot vouch for the range, so it starts
		 * anew; waiters before it go through hub_walk(), which tells
		 * the two apart. */
		ring_clear(r->hub);
		r->hub->ring_base = sev->id - 1;
	}
	ring_push(r->hub, ev);
	r->n++;
	return EC_OK;
}

/* The newest id went down: the database was replaced.  Every waiter's
 * cursor means nothing now: end them all; their clients come back with an
 * id the accepting code answers with a reset. */
static void hub_reset(struct hub *hub, int64_t last)
{
	log_warn("hub: the newest event id went from %" PRId64
		 " back to %" PRId64
		 " (database replaced?); ending every waiter",
		 hub->last_id, last);
	ring_clear(hub);
	hub->last_id = hub->ring_base = last;
	atomic_store(&hub->st_last_id, last);
	hub_end_all(hub, false);
}

/* Reads new events into the ring and delivers them. */
static void hub_check(struct hub *hub)
{
	int64_t last, before;
	enum ecode rc = EC_OK;

	if (store_last_event_id(hub->store, &last) != EC_OK)
		return;
	if (last < hub->last_id) {
		hub_reset(hub, last);
		return;
	}
	while (rc == EC_OK && hub->last_id < last) {
		size_t got = 0;

		before = hub->last_id;
		/* Read a round, then deliver it, so that a burst longer
		 * than the ring does not push waiters that are in step
		 * back to the store. */
		while (got < HUB_READ_ROUND && hub->last_id < last) {
			struct reader r = {.hub = hub};

			rc = store_events_after(hub->store, hub->last_id,
						HUB_READ_BATCH, hub_read_event,
						&r);
			got += r.n;
			if (rc != EC_OK || r.n < HUB_READ_BATCH)
				break;
		}
		if (hub->last_id == before)
			break;
		hub->retry_pump = false;
		hub_pump_all(hub);
	}
	if (hub->retry_pump) {
		hub->retry_pump = false;
		hub_pump_all(hub);
	}
}

/* ---- connections ---- */

struct record_ctx {
	uint16_t request_id;
	bool abort;
};

static bool waiter_on_record(void *ctx, const struct fcgi_record *rec)
{
	struct record_ctx *c = ctx;

	/* FCGI_STDIN and FCGI_PARAMS leftovers and anything else are not
	 * ours to answer: only an abort of our request matters. */
	if (rec->type == FCGI_ABORT_REQUEST &&
	    rec->request_id == c->request_id) {
		c->abort = true;
		return false;
	}
	return true;
}

static void waiter_read(struct hub *hub, struct waiter *w)
{
	struct record_ctx c = {.request_id = w->request_id};
	ssize_t n;

	do
		n = read(w->io.fd, hub->rbuf, sizeof(hub->rbuf));
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (n <= 0) {
		waiter_close_now(hub, w);
		return;
	}
	if (fcgi_record_feed(&w->in, hub->rbuf, (size_t)n, waiter_on_record,
			     &c) != EC_OK) {
		log_info("hub: FastCGI protocol error on a parked connection");
		waiter_close_now(hub, w);
		return;
	}
	if (c.abort)
		waiter_end(hub, w);
}

static void waiter_on_io(struct loop *loop, struct loop_io *io, uint32_t events)
{
	struct waiter *w = container_of(io, struct waiter, io);
	struct hub *hub = loop_ctx(loop);

	if ((events & EPOLLIN) && w->sink == HUB_SINK_FCGI) {
		waiter_read(hub, w);
		if (w->state == WAITER_DEAD)
			return;
	}
	if (events & (EPOLLHUP | EPOLLERR | EPOLLRDHUP)) {
		waiter_close_now(hub, w);
		return;
	}
	if (events & EPOLLOUT) {
		waiter_flush_out(hub, w);
		waiter_pump(hub, w);
	}
}

static void waiter_on_in(struct loop *loop, struct loop_io *io, uint32_t events)
{
	struct waiter_raw *r = container_of(io, struct waiter_raw, in_io);

	/* Only EPOLLHUP and EPOLLERR are asked for: stdin hung up. */
	waiter_close_now(loop_ctx(loop), &r->w);
}

static void hub_adopt(struct hub *hub, struct waiter *w, int64_t now)
{
	int fl = fcntl(w->io.fd, F_GETFL);

	if (fl < 0 || (!(fl & O_NONBLOCK) &&
		       fcntl(w->io.fd, F_SETFL, fl | O_NONBLOCK) < 0)) {
		log_warn("hub: fcntl: %s", strerror(errno));
		goto fail;
	}
	w->state = WAITER_PARKED;
	if (loop_io_start(hub->loop, &w->io, waiter_base_events(w)) != EC_OK) {
		if (errno != EPERM || w->sink != HUB_SINK_RAW) {
			log_warn("hub: epoll_ctl: %s", strerror(errno));
			w->state = WAITER_QUEUED;
			goto fail;
		}
		w->flags |= WAITER_NOEPOLL; /* stdout is a regular file */
	}
	if (w->flags & WAITER_HAS_IN) {
		struct waiter_raw *r = container_of(w, struct waiter_raw, w);
		struct stat st;

		/* Only a socket tells a hang-up: a pipe whose writer closed
		 * after the body (Apache, lighttpd) reports EPOLLHUP at
		 * once, and a file never does. */
		if (fstat(r->in_io.fd, &st) == 0 && S_ISSOCK(st.st_mode) &&
		    loop_io_start(hub->loop, &r->in_io, 0) != EC_OK)
			log_warn("hub: epoll_ctl: %s", strerror(errno));
	}
	if (w->kind == HUB_SSE) {
		w->deadline_ms = now + hub->opts.heartbeat_ms;
		w->end_ms = now + hub->opts.stream_max_ms;
		list_append(&hub->sse, &w->link);
		list_append(&hub->pings, &w->t.ping);
		atomic_fetch_add(&hub->st_sse, 1);
	} else {
		w->deadline_ms = now + w->end_ms;
		if (heap_push(hub, w) != EC_OK) {
			loop_io_stop(hub->loop, &w->io);
			w->state = WAITER_QUEUED;
			goto fail;
		}
		list_append(&hub->poll, &w->link);
		atomic_fetch_add(&hub->st_poll, 1);
	}
	waiter_pump(hub, w);
	return;
fail:
	/* Closing ends the request without an answer; the web server
	 * reports it to the client, who retries. */
	list_init(&w->link);
	waiter_close_now(hub, w);
}

static void hub_adopt_queue(struct hub *hub, int64_t now)
{
	struct hub_list q;

	if (!atomic_exchange(&hub->queued, false))
		return;
	list_init(&q);
	pthread_mutex_lock(&hub->mu);
	if (!list_empty(&hub->queue)) {
		q.next = hub->queue.next;
		q.prev = hub->queue.prev;
		q.next->prev = &q;
		q.prev->next = &q;
		list_init(&hub->queue);
	}
	pthread_mutex_unlock(&hub->mu);
	while (!list_empty(&q)) {
		struct waiter *w = container_of(q.next, struct waiter, link);

		list_del(&w->link);
		hub_adopt(hub, w, now);
	}
}

static void hub_on_wake(struct loop *loop, struct loop_io *io, uint32_t events)
{
	uint64_t v;

	/* The flags say what happened; the before-sleep hook acts. */
	if (read(io->fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("hub: eventfd read: %s", strerror(errno));
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
	size_t n = 0, cap = (size_t)atomic_load(&hub->st_sse) +
			    (size_t)atomic_load(&hub->st_poll);
	struct hub_list *heads[] = {&hub->sse, &hub->poll};

	if (cap > hub->touch_cap) {
		int64_t *ids = realloc(hub->touch_ids, cap * sizeof(*ids));

		if (!ids)
			return;
		hub->touch_ids = ids;
		hub->touch_cap = cap;
	}
	for (size_t i = 0; i < 2; i++)
		for (struct hub_list *l = heads[i]->next; l != heads[i];
		     l = l->next) {
			struct waiter *w = container_of(l, struct waiter, link);

			if (w->session_id > 0 && n < cap)
				hub->touch_ids[n++] = w->session_id;
		}
	/* Also when n is 0: the callee must learn that its last waiter
	 * left, or it would keep those sessions online for ever. */
	hub->opts.touch(hub->opts.touch_ctx, hub->touch_ids, n);
}

static void hub_timers(struct hub *hub, int64_t now)
{
	struct waiter *w;

	while (!list_empty(&hub->pings)) {
		struct wbatch wb;

		w = container_of(hub->pings.next, struct waiter, t.ping);
		if (w->deadline_ms > now)
			break;
		/* A waiter with bytes pending is busy enough. */
		if (!w->out) {
			wb_init(&wb, hub, w);
			wb_add(&wb, HUB_PING, sizeof(HUB_PING) - 1, NULL, true);
			wb_flush(&wb);
		}
		if (w->state == WAITER_PARKED) {
			w->deadline_ms = now + hub->opts.heartbeat_ms;
			list_del(&w->t.ping);
			list_append(&hub->pings, &w->t.ping);
		}
	}
	while (!list_empty(&hub->sse)) {
		w = container_of(hub->sse.next, struct waiter, link);
		if (w->end_ms > now)
			break;
		waiter_end(hub, w);
	}
	while (hub->heap_len > 0 && hub->heap[0]->deadline_ms <= now)
		poll_answer(hub, hub->heap[0], true, true);
	while (!list_empty(&hub->closing)) {
		w = container_of(hub->closing.next, struct waiter, link);
		if (w->deadline_ms > now)
			break;
		waiter_close_now(hub, w);
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

	if (!list_empty(&hub->pings))
		t = min64(t,
			  container_of(hub->pings.next, struct waiter, t.ping)
			      ->deadline_ms);
	if (!list_empty(&hub->sse))
		t = min64(
		    t,
		    container_of(hub->sse.next, struct waiter, link)->end_ms);
	if (hub->heap_len > 0)
		t = min64(t, hub->heap[0]->deadline_ms);
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
		waiter_free(w);
	}
}

/* Closes every connection left, at once. */
static void hub_close_all(struct hub *hub)
{
	struct hub_list *heads[] = {&hub->sse, &hub->poll, &hub->closing};

	for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++)
		while (!list_empty(heads[i]))
			waiter_close_now(
			    hub,
			    container_of(heads[i]->next, struct waiter, link));
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
	hub_free_dead(hub);
	if (hub->stop_begun &&
	    (list_empty(&hub->closing) || now >= hub->stop_deadline_ms)) {
		hub_close_all(hub);
		hub_free_dead(hub);
		loop_stop(loop);
		return 0;
	}
	if (hub->opts.exit_when_idle && atomic_load(&hub->n_waiters) == 0) {
		loop_stop(loop);
		return 0;
	}
	return hub_timeout(hub, now);
}

/* ---- the API ---- */

static void hub_wake(struct hub *hub)
{
	uint64_t one = 1;

	/* Fails only when the counter is saturated: it is readable then. */
	if (write(hub->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("hub: eventfd write: %s", strerror(errno));
}

enum ecode hub_new(const struct hub_options *opts, struct hub **out)
{
	struct hub *hub;
	enum ecode rc;

	*out = NULL;
	hub = calloc(1, sizeof(*hub));
	if (!hub)
		return EC_NOMEM;
	hub->opts = *opts;
	hub->wake_fd = -1;
	if (hub->opts.fallback_check_ms <= 0)
		hub->opts.fallback_check_ms = HUB_DEFAULT_CHECK_MS;
	if (hub->opts.heartbeat_ms <= 0)
		hub->opts.heartbeat_ms = HUB_DEFAULT_HEARTBEAT_MS;
	if (hub->opts.stream_max_ms <= 0)
		hub->opts.stream_max_ms = HUB_DEFAULT_STREAM_MAX_MS;
	pthread_mutex_init(&hub->mu, NULL);
	list_init(&hub->queue);
	list_init(&hub->sse);
	list_init(&hub->pings);
	list_init(&hub->poll);
	list_init(&hub->closing);
	list_init(&hub->dead);
	buf_init(&hub->fmt, HUB_EVENT_MAX);
	buf_init(&hub->body, HUB_POLL_BODY_MAX);
	hub->db_path = strdup(opts->db_path);
	if (!hub->db_path) {
		rc = EC_NOMEM;
		goto fail;
	}
	hub->opts.db_path = hub->db_path;
	if ((rc = loop_new(&hub->loop)) != EC_OK ||
	    (rc = store_open(hub->db_path, &hub->store)) != EC_OK ||
	    (rc = notify_open(hub->db_path, true, &hub->notify)) != EC_OK ||
	    (rc = store_last_event_id(hub->store, &hub->last_id)) != EC_OK)
		goto fail;
	hub->ring_base = hub->last_id;
	atomic_store(&hub->st_last_id, hub->last_id);
	/* Just read: the next look is due at a wake-up or the fallback. */
	hub->next_check_ms = clock_mono_ms() + hub->opts.fallback_check_ms;
	hub->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (hub->wake_fd < 0) {
		log_error("hub: eventfd: %s", strerror(errno));
		rc = EC_IO;
		goto fail;
	}
	loop_io_init(&hub->wake_io, hub->wake_fd, hub_on_wake);
	loop_io_init(&hub->notify_io, notify_fd(hub->notify), hub_on_notify);
	if (loop_io_start(hub->loop, &hub->wake_io, EPOLLIN) != EC_OK ||
	    (notify_fd(hub->notify) >= 0 &&
	     loop_io_start(hub->loop, &hub->notify_io, EPOLLIN) != EC_OK)) {
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
	ring_clear(hub);
	free(hub->heap);
	free(hub->touch_ids);
	free(hub->ended);
	buf_release(&hub->fmt);
	buf_release(&hub->body);
	if (hub->wake_fd >= 0 && close(hub->wake_fd) < 0)
		log_warn("hub: close: %s", strerror(errno));
	notify_close(hub->notify);
	store_close(hub->store);
	loop_free(hub->loop);
	pthread_mutex_destroy(&hub->mu);
	free(hub->db_path);
	free(hub);
}

enum ecode hub_park(struct hub *hub, const struct hub_waiter_spec *spec)
{
	bool raw_in = spec->sink == HUB_SINK_RAW && spec->in_fd >= 0;
	struct waiter *w;
	enum ecode rc = EC_OK;

	if (spec->fd < 0 || (spec->kind != HUB_SSE && spec->kind != HUB_POLL) ||
	    (spec->sink != HUB_SINK_FCGI && spec->sink != HUB_SINK_RAW) ||
	    (spec->kind == HUB_POLL && spec->timeout_ms < 0))
		return EC_INTERNAL;
	if (raw_in) {
		struct waiter_raw *r = calloc(1, sizeof(*r));

		if (!r)
			return EC_NOMEM;
		loop_io_init(&r->in_io, spec->in_fd, waiter_on_in);
		w = &r->w;
		w->flags = WAITER_HAS_IN;
	} else {
		w = calloc(1, sizeof(*w));
		if (!w)
			return EC_NOMEM;
	}
	loop_io_init(&w->io, spec->fd, waiter_on_io);
	w->kind = (uint8_t)spec->kind;
	w->sink = (uint8_t)spec->sink;
	w->state = WAITER_QUEUED;
	w->request_id = spec->request_id;
	w->cursor = spec->cursor;
	w->session_id = spec->session_id;
	w->end_ms = spec->timeout_ms; /* until adoption starts the clock */

	pthread_mutex_lock(&hub->mu);
	if (hub->stopping)
		rc = EC_UNAVAILABLE;
	else if (hub->opts.max_waiters > 0 &&
		 atomic_load(&hub->n_waiters) >= hub->opts.max_waiters)
		rc = EC_TOO_MANY_WAITERS;
	else {
		atomic_fetch_add(&hub->n_waiters, 1);
		list_append(&hub->queue, &w->link);
	}
	pthread_mutex_unlock(&hub->mu);
	if (rc != EC_OK) {
		free(w->flags & WAITER_HAS_IN
			 ? (void *)container_of(w, struct waiter_raw, w)
			 : (void *)w);
		return rc;
	}
	atomic_store(&hub->queued, true);
	hub_wake(hub);
	return EC_OK;
}

bool hub_has_room(struct hub *hub)
{
	return hub->opts.max_waiters <= 0 ||
	       atomic_load(&hub->n_waiters) < hub->opts.max_waiters;
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
	hub_wake(hub);
}

void hub_events_committed(struct hub *hub)
{
	atomic_store(&hub->committed, true);
	hub_wake(hub);
}

enum ecode hub_run(struct hub *hub)
{
	return loop_run(hub->loop);
}

void hub_stop(struct hub *hub)
{
	pthread_mutex_lock(&hub->mu);
	hub->stopping = true;
	pthread_mutex_unlock(&hub->mu);
	atomic_store(&hub->stop_req, true);
	hub_wake(hub);
}

void hub_get_stats(struct hub *hub, struct hub_stats *out)
{
	out->sse_waiters = atomic_load(&hub->st_sse);
	out->poll_waiters = atomic_load(&hub->st_poll);
	out->last_event_id = atomic_load(&hub->st_last_id);
	out->events_delivered = atomic_load(&hub->st_delivered);
	out->waiters_dropped = atomic_load(&hub->st_dropped);
}
