/* event_ring.c -- events serialised once, the ring, the catch-up walk (see
 * event_ring.h).
 *
 * Reading: event_ring_read() asks the store for the events after last_id
 * and serialises each one once into a struct event_ring_event (SSE frame
 * and long-poll fragment in one allocation).  An event too large to
 * serialise is logged and carried with data null rather than stall every
 * waiter behind it.  When ids jump (holes, or events trimmed before they
 * were read) the ring cannot vouch for the range any more: it starts
 * anew, and walks from before it go to the store, which tells the two
 * apart (store_snapshot().first_id).
 *
 * Walking: below base, batches of EVENT_RING_CATCHUP_BATCH from the store,
 * serialised on the fly and released after the batch (a caller that keeps
 * bytes takes a reference); from base on, a binary search in the ring.
 */
#include "autoconfig.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "event_ring.h"
#include "log.h"
#include "longpoll.h"
#include "sse.h"
#include "store.h"

#define EVENT_RING_MASK (EVENT_RING_SIZE - 1)

void event_ring_init(struct event_ring *r, struct store *store, int64_t last_id)
{
	r->store = store;
	r->head = r->len = 0;
	r->last_id = r->base = last_id;
	buf_init(&r->fmt, EVENT_RING_EVENT_MAX);
}

static void event_ring_clear(struct event_ring *r);

void event_ring_release(struct event_ring *r)
{
	event_ring_clear(r);
	buf_release(&r->fmt);
}

void event_ring_event_unref(struct event_ring_event *ev)
{
	if (ev && --ev->refs == 0)
		free(ev);
}

static enum ecode event_ring_event_new(struct event_ring *r, int64_t id,
				       const char *name, const char *data,
				       struct event_ring_event **out)
{
	struct buf *f = &r->fmt;
	struct event_ring_event *ev;
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
static enum ecode event_ring_from_store(struct event_ring *r,
					const struct store_event *sev,
					struct event_ring_event **out)
{
	enum ecode rc =
		event_ring_event_new(r, sev->id, sev->name, sev->data, out);

	if (rc == EC_TOO_LARGE) {
		log_error("hub: event %" PRId64 " is too large to send; "
			  "sending it with data null",
			  sev->id);
		rc = event_ring_event_new(
			r, sev->id, strlen(sev->name) <= 64 ? sev->name : "",
			"null", out);
	}
	return rc;
}

static struct event_ring_event *event_ring_at(const struct event_ring *r,
					      size_t i)
{
	return r->ev[(r->head + i) & EVENT_RING_MASK];
}

static void event_ring_push(struct event_ring *r, struct event_ring_event *ev)
{
	if (r->len == EVENT_RING_SIZE) {
		struct event_ring_event *old = event_ring_at(r, 0);

		r->base = old->id;
		event_ring_event_unref(old);
		r->head = (r->head + 1) & EVENT_RING_MASK;
		r->len--;
	}
	r->ev[(r->head + r->len) & EVENT_RING_MASK] = ev;
	r->len++;
	r->last_id = ev->id;
}

static void event_ring_clear(struct event_ring *r)
{
	for (size_t i = 0; i < r->len; i++)
		event_ring_event_unref(event_ring_at(r, i));
	r->head = r->len = 0;
}

void event_ring_reset(struct event_ring *r, int64_t last)
{
	event_ring_clear(r);
	r->last_id = r->base = last;
}

/* Index of the first event in the ring with id > cursor. */
static size_t event_ring_find(const struct event_ring *r, int64_t cursor)
{
	size_t lo = 0, hi = r->len;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (event_ring_at(r, mid)->id <= cursor)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct event_ring_reader {
	struct event_ring *r;
	size_t n;
};

static enum ecode event_ring_on_new(void *ctx, const struct store_event *sev)
{
	struct event_ring_reader *rd = ctx;
	struct event_ring *r = rd->r;
	struct event_ring_event *ev;
	enum ecode rc;

	if (sev->id <= r->last_id)
		return EC_OK;
	if ((rc = event_ring_from_store(r, sev, &ev)) != EC_OK)
		return rc;
	if (sev->id != r->last_id + 1) {
		/* Ids skipped: holes, or events trimmed before they were
		 * read.  The ring cannot vouch for the range, so it starts
		 * anew; walks from before it go to the store, which tells
		 * the two apart. */
		event_ring_clear(r);
		r->base = sev->id - 1;
	}
	event_ring_push(r, ev);
	rd->n++;
	return EC_OK;
}

enum ecode event_ring_read(struct event_ring *r, size_t *n)
{
	struct event_ring_reader rd = { .r = r };
	enum ecode rc =
		store_events_after(r->store, r->last_id, EVENT_RING_READ_BATCH,
				   event_ring_on_new, &rd);

	*n = rd.n;
	return rc;
}

struct event_ring_catchup {
	struct event_ring *r;
	int64_t max_id;
	size_t n;
	struct event_ring_event *evs[EVENT_RING_CATCHUP_BATCH];
};

static enum ecode event_ring_collect(void *ctx, const struct store_event *sev)
{
	struct event_ring_catchup *c = ctx;
	enum ecode rc;

	/* Past base the ring has it, serialised already. */
	if (sev->id > c->max_id || c->n == EVENT_RING_CATCHUP_BATCH)
		return EC_OK;
	rc = event_ring_from_store(c->r, sev, &c->evs[c->n]);
	if (rc == EC_OK)
		c->n++;
	return rc;
}

/* Were events after cursor trimmed from the log?  EC_NOT_FOUND if so. */
static enum ecode event_ring_check_gap(struct event_ring *r, int64_t cursor)
{
	struct store_snapshot snap;
	enum ecode rc = store_snapshot(r->store, &snap);

	if (rc != EC_OK)
		return rc;
	if (snap.first_id == 0 || snap.first_id > cursor + 1)
		return EC_NOT_FOUND;
	return EC_OK;
}

enum ecode event_ring_walk(struct event_ring *r, int64_t cursor,
			   event_ring_walk_fn *fn, void *ctx)
{
	enum ecode rc;

	while (cursor < r->base) {
		struct event_ring_catchup c = { .r = r, .max_id = r->base };
		bool stop = false;
		int64_t next;
		size_t i;

		rc = store_events_after(r->store, cursor,
					EVENT_RING_CATCHUP_BATCH,
					event_ring_collect, &c);
		if (rc == EC_OK && (c.n == 0 || c.evs[0]->id != cursor + 1))
			rc = event_ring_check_gap(r, cursor);
		for (i = 0; rc == EC_OK && i < c.n && !stop; i++)
			stop = !fn(ctx, c.evs[i]);
		/* A short batch ends at base (or the ids had holes). */
		next = c.n == EVENT_RING_CATCHUP_BATCH ? c.evs[c.n - 1]->id
						       : r->base;
		for (i = 0; i < c.n; i++)
			event_ring_event_unref(c.evs[i]);
		if (rc != EC_OK || stop)
			return rc;
		cursor = next;
	}
	for (size_t i = event_ring_find(r, cursor); i < r->len; i++)
		if (!fn(ctx, event_ring_at(r, i)))
			break;
	return EC_OK;
}
