/* sio_session.c -- Socket.IO sessions over Engine.IO long-polling, kept in
 * the store (see sio_session.h).
 *
 * Every entry point is one store_transaction() over the session's row:
 * read it, decide, write it back.  The write lock (BEGIN IMMEDIATE) makes
 * the one-GET claim and the ping/pong bookkeeping exact across threads and
 * processes.  Ping schedule (Engine.IO v4, server-initiated): a ping is
 * due ping_interval after the handshake or the last pong; from the moment
 * it is due the client has ping_timeout to answer, whether a GET carried
 * the ping at once or later; past that the session is closed.
 *
 * Socket.IO on top, main namespace only: 40 with a signed-in cookie
 * connects (fresh: new socket id and pid, cursor at the newest event, the
 * "user count" snapshot first; recovery: the old row's ids, cursor at the
 * client's offset when the log still holds what follows it); every event
 * of the log after the cursor goes out as 42["name",data,"id"].
 */
#include "autoconfig.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "eio.h"
#include "io.h"
#include "json.h"
#include "log.h"
#include "presence.h"
#include "sio.h"
#include "sio_session.h"

#define SIO_EVENTS_BATCH 256

/* Names the Socket.IO client keeps for itself: never sent as events. */
static const char *const sio_reserved[] = {
	"connect",     "connect_error",	 "disconnect", "disconnecting",
	"newListener", "removeListener", NULL,
};

struct sio_tx {
	const struct sio_settings *set;
	const char *sid;
	int64_t id, now;
	int64_t user_id; /* GET: the request's signed-in session, 0 none */
	bool final, answered, bad, connects;
	struct store_snapshot snap; /* before a POST that connects */
	enum sio_get_result get;
	enum sio_post_result post;
	enum sio_claim claim;
	struct buf *payload;
	struct sio_wait *wait;
	const char *body;
	size_t len;
	const struct store_session *user;
	struct buf q; /* the queue while a POST adds to it */
	struct store_sio row;
};

/* A request's transaction state, on the heap: its row holds a 16 KiB
 * queue.  NULL when out of memory. */
static struct sio_tx *sio_tx_new(const struct sio_settings *set,
				 const char *sid, int64_t now)
{
	struct sio_tx *t = calloc(1, sizeof(*t));

	if (t) {
		t->set = set;
		t->sid = sid;
		t->now = now;
	}
	return t;
}

static bool sio_name_reserved(const char *name)
{
	for (size_t i = 0; sio_reserved[i]; i++)
		if (strcmp(name, sio_reserved[i]) == 0)
			return true;
	return false;
}

/* Three ids of 20 characters from one 256-bit random session id. */
static enum ecode sio_new_ids(char *a, char *b, char *c)
{
	char hex[AUTH_SID_HEX_LEN + 1];
	enum ecode rc = auth_new_sid(hex);

	if (rc != EC_OK)
		return rc;
	memcpy(a, hex, EIO_SID_LEN);
	a[EIO_SID_LEN] = '\0';
	if (b) {
		memcpy(b, hex + EIO_SID_LEN, EIO_SID_LEN);
		b[EIO_SID_LEN] = '\0';
	}
	if (c) {
		memcpy(c, hex + 2 * EIO_SID_LEN, EIO_SID_LEN);
		c[EIO_SID_LEN] = '\0';
	}
	return EC_OK;
}

static void sio_wait_fill(const struct store_sio *r, struct sio_wait *w)
{
	w->row_id = r->id;
	w->session_id = r->session_id;
	w->cursor = (r->flags & STORE_SIO_CONNECTED) ? r->cursor : INT64_MAX;
	w->due_ms = r->pong_due_ms ? r->pong_due_ms : r->ping_due_ms;
}

/* A GET held since before the ping was due takes the ping when the hub
 * answers it: the ping leaves then, and a late timer must not shorten the
 * client's pong window (the reference server, too, counts pingTimeout
 * from when its ping timer fired).  Without such a GET the ping is queued
 * when due, and the window counts from then, as for the reference
 * server's buffered packet. */
static bool sio_ping_waits_for_take(const struct store_sio *r)
{
	return !r->pong_due_ms && r->get_ms && r->get_ms <= r->ping_due_ms;
}

/* The pong did not come in time: the session is closed from now on.  A
 * ping still waiting for its take gets one more pingTimeout (a GET whose
 * process died must not keep the session open for ever). */
static bool sio_timed_out(struct store_sio *r, int64_t now, int timeout_ms)
{
	int64_t deadline =
		r->pong_due_ms ? r->pong_due_ms : r->ping_due_ms + timeout_ms;

	if (sio_ping_waits_for_take(r))
		deadline += timeout_ms;
	if (!r->closed_ms && now >= deadline)
		r->closed_ms = now;
	return r->closed_ms != 0;
}

static bool sio_post_claimed(const struct store_sio *r, int64_t now)
{
	return r->post_ms != 0 && now - r->post_ms < SIO_SESSION_POST_CLAIM_MS;
}

/* Two requests of one kind at once: the protocol closes the session; a
 * held GET is answered with the close packet. */
static void sio_close_overlap(struct store_sio *r, int64_t now)
{
	r->closed_ms = now;
	r->post_ms = 0;
	snprintf(r->outq, sizeof(r->outq), "%s", r->get_ms ? "1" : "");
}

/* ---- what a GET takes ---- */

struct sio_collect {
	struct buf *out;
	int64_t last_id;
	size_t n;
	enum ecode rc;
};

static enum ecode sio_collect_one(void *ctx, const struct store_event *ev)
{
	struct sio_collect *c = ctx;

	if (c->out->len > SIO_SESSION_ANSWER_SOFT)
		return EC_TOO_LARGE; /* the next GET gets the rest */
	c->last_id = ev->id;
	c->n++;
	if (sio_name_reserved(ev->name))
		return EC_OK;
	if (c->out->len > 0 && (c->rc = buf_addc(c->out, EIO_SEPARATOR)))
		return c->rc;
	if ((c->rc = buf_addc(c->out, EIO_MESSAGE)) != EC_OK ||
	    (c->rc = sio_event(c->out, ev->id, ev->name, ev->data)) != EC_OK)
		return c->rc;
	return EC_OK;
}

/* Fills t->payload with what the GET holding t->row takes; t->answered
 * when it is answered (then the claim is released). */
static enum ecode sio_fill(struct store *st, struct sio_tx *t)
{
	struct store_sio *r = &t->row;
	struct buf *out = t->payload;
	enum ecode rc = EC_OK;

	buf_reset(out);
	t->answered = false;
	if (r->closed_ms) {
		rc = r->outq[0] ? eio_payload_add(out, r->outq, strlen(r->outq))
				: eio_payload_add(out, "1", 1);
		r->outq[0] = '\0';
		r->get_ms = 0;
		t->answered = true;
		return rc;
	}
	if (!r->pong_due_ms && t->now >= r->ping_due_ms) {
		int64_t sent =
			sio_ping_waits_for_take(r) ? t->now : r->ping_due_ms;

		r->flags |= STORE_SIO_PING_OWED;
		r->pong_due_ms = sent + t->set->ping_timeout_ms;
	}
	if ((r->flags & STORE_SIO_PING_OWED) &&
	    (rc = eio_payload_add(out, "2", 1)) != EC_OK)
		return rc;
	r->flags &= ~(int64_t)STORE_SIO_PING_OWED;
	if (r->outq[0] &&
	    (rc = eio_payload_add(out, r->outq, strlen(r->outq))) != EC_OK)
		return rc;
	r->outq[0] = '\0';
	if (r->flags & STORE_SIO_CONNECTED) {
		struct sio_collect c = { .out = out, .last_id = r->cursor };

		do {
			c.n = 0;
			rc = store_events_after(st, c.last_id, SIO_EVENTS_BATCH,
						sio_collect_one, &c);
		} while (rc == EC_OK && c.n == SIO_EVENTS_BATCH);
		if (rc == EC_TOO_LARGE && c.rc == EC_OK)
			rc = EC_OK;
		if (rc != EC_OK)
			return rc;
		r->cursor = c.last_id;
	}
	if (out->len == 0 && t->final)
		rc = eio_payload_add(out, "6", 1);
	if (out->len > 0) {
		r->get_ms = 0;
		t->answered = true;
	}
	return rc;
}

/* ---- the handshake ---- */

static enum ecode sio_open_tx(struct store *st, void *ctx)
{
	struct sio_tx *t = ctx;
	struct store_sio *r = &t->row;
	int64_t keep = t->set->recovery_ms + t->set->ping_interval_ms +
		       t->set->ping_timeout_ms;
	enum ecode rc;

	/* Sessions nobody has seen for longer than any use of them. */
	if ((rc = store_sio_expire(st, t->now - keep)) != EC_OK)
		return rc;
	return store_sio_insert(st, r, &r->id);
}

enum ecode sio_session_open(struct store *st, const struct sio_settings *set,
			    int64_t session_id, int64_t now,
			    struct buf *payload)
{
	struct sio_tx *t = sio_tx_new(set, NULL, now);
	enum ecode rc;

	if (!t)
		return EC_NOMEM;
	t->row.session_id = session_id;
	t->row.ping_due_ms = now + set->ping_interval_ms;
	t->row.seen_ms = now;
	if ((rc = sio_new_ids(t->row.sid, NULL, NULL)) == EC_OK &&
	    (rc = store_transaction(st, sio_open_tx, t)) == EC_OK)
		rc = eio_open_packet(payload, t->row.sid, set->ping_interval_ms,
				     set->ping_timeout_ms, set->max_payload);
	free(t);
	return rc;
}

/* ---- GET ---- */

static enum ecode sio_get_tx(struct store *st, void *ctx)
{
	struct sio_tx *t = ctx;
	struct store_sio *r = &t->row;
	enum ecode rc = store_sio_get(st, t->sid, r);

	if (rc == EC_NOT_FOUND || (rc == EC_OK && r->closed_ms)) {
		t->get = SIO_GET_UNKNOWN;
		return EC_OK;
	}
	if (rc != EC_OK)
		return rc;
	if (sio_timed_out(r, t->now, t->set->ping_timeout_ms)) {
		t->get = SIO_GET_UNKNOWN;
		return store_sio_update(st, r);
	}
	if (r->get_ms) {
		/* Two GETs at once: the protocol closes the session; the
		 * first is answered with a close packet. */
		t->get = SIO_GET_DUPLICATE;
		sio_close_overlap(r, t->now);
		return store_sio_update(st, r);
	}
	r->get_ms = t->now;
	r->seen_ms = t->now;
	if ((r->flags & STORE_SIO_CONNECTED) && r->session_id != t->user_id) {
		/* Its session ended (logout, expiry) or the cookie changed:
		 * the server disconnects the socket (the client does not
		 * reconnect on its own after "io server disconnect"). */
		size_t len = strlen(r->outq);

		if (len + 4 >= sizeof(r->outq))
			return EC_TOO_LARGE;
		if (len)
			r->outq[len++] = EIO_SEPARATOR;
		memcpy(r->outq + len, "41", 3);
		r->flags &= ~(int64_t)STORE_SIO_CONNECTED;
		r->pid[0] = '\0';
	}
	if ((rc = sio_fill(st, t)) != EC_OK)
		return rc;
	t->get = t->answered ? SIO_GET_ANSWER : SIO_GET_WAIT;
	sio_wait_fill(r, t->wait);
	return store_sio_update(st, r);
}

enum ecode sio_session_get(struct store *st, const struct sio_settings *set,
			   const char *sid, int64_t session_id, int64_t now,
			   struct buf *payload, struct sio_wait *wait,
			   enum sio_get_result *result)
{
	struct sio_tx *t = sio_tx_new(set, sid, now);
	enum ecode rc;

	if (!t)
		return EC_NOMEM;
	t->user_id = session_id;
	t->payload = payload;
	t->wait = wait;
	rc = store_transaction(st, sio_get_tx, t);
	*result = t->get;
	free(t);
	return rc;
}

/* ---- the parked GET ---- */

static enum ecode sio_take_tx(struct store *st, void *ctx)
{
	struct sio_tx *t = ctx;
	struct store_sio *r = &t->row;
	enum ecode rc = store_sio_get_id(st, t->id, r);

	if (rc == EC_NOT_FOUND) {
		buf_reset(t->payload);
		t->answered = true;
		return eio_payload_add(t->payload, "1", 1);
	}
	if (rc != EC_OK)
		return rc;
	sio_timed_out(r, t->now, t->set->ping_timeout_ms);
	if ((rc = sio_fill(st, t)) != EC_OK)
		return rc;
	sio_wait_fill(r, t->wait);
	if (!t->answered)
		return EC_OK; /* nothing changed worth a write */
	r->seen_ms = t->now;
	/* The queue is empty now: no wake-up for this write. */
	return store_sio_update(st, r);
}

enum ecode sio_session_take(struct store *st, const struct sio_settings *set,
			    int64_t id, int64_t now, bool final,
			    struct buf *payload, bool *answered,
			    struct sio_wait *wait)
{
	struct sio_tx *t = sio_tx_new(set, NULL, now);
	enum ecode rc;

	if (!t)
		return EC_NOMEM;
	t->id = id;
	t->final = final;
	t->payload = payload;
	t->wait = wait;
	rc = store_transaction(st, sio_take_tx, t);
	*answered = rc == EC_OK && t->answered;
	free(t);
	return rc;
}

struct sio_take_many {
	struct sio_tx *t;
	struct sio_take *v;
	size_t n;
};

static enum ecode sio_take_many_tx(struct store *st, void *ctx)
{
	struct sio_take_many *m = ctx;
	enum ecode rc;

	for (size_t i = 0; i < m->n; i++) {
		m->t->id = m->v[i].id;
		m->t->payload = &m->v[i].payload;
		m->t->wait = &m->v[i].wait;
		m->t->answered = false;
		if ((rc = sio_take_tx(st, m->t)) != EC_OK)
			return rc;
		m->v[i].answered = m->t->answered;
	}
	return EC_OK;
}

enum ecode sio_session_take_many(struct store *st,
				 const struct sio_settings *set,
				 struct sio_take *v, size_t n, int64_t now)
{
	struct sio_take_many m = { .v = v, .n = n };
	enum ecode rc;

	for (size_t i = 0; i < n; i++)
		v[i].answered = false;
	if (n == 0)
		return EC_OK;
	if (!(m.t = sio_tx_new(set, NULL, now)))
		return EC_NOMEM;
	rc = store_transaction(st, sio_take_many_tx, &m);
	if (rc != EC_OK)
		for (size_t i = 0; i < n; i++)
			v[i].answered = false;
	free(m.t);
	return rc;
}

static enum ecode sio_abandon_tx(struct store *st, void *ctx)
{
	struct sio_tx *t = ctx;
	struct store_sio *r = &t->row;
	enum ecode rc = store_sio_get_id(st, t->id, r);

	if (rc == EC_NOT_FOUND)
		return EC_OK;
	if (rc != EC_OK || r->closed_ms)
		return rc;
	r->closed_ms = t->now;
	r->get_ms = 0;
	r->outq[0] = '\0';
	return store_sio_update(st, r);
}

enum ecode sio_session_abandon(struct store *st, int64_t id, int64_t now)
{
	struct sio_tx *t = sio_tx_new(NULL, NULL, now);
	enum ecode rc;

	if (!t)
		return EC_NOMEM;
	t->id = id;
	rc = store_transaction(st, sio_abandon_tx, t);
	free(t);
	return rc;
}

/* ---- POST ---- */

/* Queues one Engine.IO message packet holding a Socket.IO packet. */
static enum ecode sio_queue(struct sio_tx *t, const char *packet, size_t len)
{
	enum ecode rc = EC_OK;

	if (t->q.len > 0)
		rc = buf_addc(&t->q, EIO_SEPARATOR);
	if (rc == EC_OK)
		rc = buf_addc(&t->q, EIO_MESSAGE);
	return rc != EC_OK ? rc : buf_add(&t->q, packet, len);
}

static enum ecode sio_queue_buf(struct sio_tx *t, struct buf *b)
{
	enum ecode rc = sio_queue(t, b->data, b->len);

	buf_reset(b);
	return rc;
}

static bool sio_offset_kept(const struct store_snapshot *snap, int64_t off)
{
	if (off < 0 || off > snap->last_id)
		return false;
	if (off == snap->last_id)
		return true;
	return snap->first_id != 0 && off >= snap->first_id - 1;
}

/* 40{"pid","offset"}: the old row of pid, if it may be recovered. */
static enum ecode sio_recover(struct store *st, struct sio_tx *t,
			      const char *data, size_t len, bool *recovered)
{
	struct json_object *obj = NULL, *v;
	struct store_snapshot snap;
	struct store_sio *old = NULL;
	const char *pid, *off_text;
	char *end;
	long long off;
	enum ecode rc = EC_OK;

	*recovered = false;
	if (json_parse_object(data, len, &obj) != EC_OK)
		return EC_OK; /* an auth payload we do not read */
	if (!json_object_object_get_ex(obj, "pid", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    !(pid = json_object_get_string(v)) ||
	    !json_object_object_get_ex(obj, "offset", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    !(off_text = json_object_get_string(v)) || !*off_text)
		goto out;
	errno = 0;
	off = strtoll(off_text, &end, 10);
	if (errno || *end || off < 0)
		goto out;
	if (!(old = malloc(sizeof(*old)))) {
		rc = EC_NOMEM;
		goto out;
	}
	rc = store_sio_get_pid(st, pid, old);
	if (rc == EC_NOT_FOUND) {
		rc = EC_OK;
		goto out;
	}
	if (rc != EC_OK)
		goto out;
	snap = t->snap;
	if (old->id == t->row.id || old->session_id != t->user->id ||
	    t->now - old->seen_ms > t->set->recovery_ms ||
	    !sio_offset_kept(&snap, off))
		goto out;
	/* The socket moves to this session: same ids, cursor at the
	 * client's offset; the old session is over. */
	memcpy(t->row.sock, old->sock, sizeof(t->row.sock));
	memcpy(t->row.pid, old->pid, sizeof(t->row.pid));
	t->row.cursor = off;
	old->pid[0] = '\0';
	old->flags &= ~(int64_t)STORE_SIO_CONNECTED;
	if (!old->closed_ms) {
		old->closed_ms = t->now;
		if (old->get_ms)
			snprintf(old->outq, sizeof(old->outq), "1");
	}
	rc = store_sio_update(st, old);
	*recovered = rc == EC_OK;
out:
	free(old);
	json_object_put(obj);
	return rc;
}

static enum ecode sio_connect(struct store *st, struct sio_tx *t,
			      const struct sio_packet *p)
{
	struct store_sio *r = &t->row;
	struct store_snapshot snap = { 0 };
	struct buf b;
	char data[32];
	bool recovered = false;
	enum ecode rc = EC_OK;

	buf_init(&b, STORE_SIO_OUTQ_MAX);
	if (p->nsp_len != 1 || p->nsp[0] != '/') {
		if ((rc = sio_connect_error(&b, p->nsp, p->nsp_len,
					    "Invalid namespace")) == EC_OK)
			rc = sio_queue_buf(t, &b);
		goto out;
	}
	if (!t->user) {
		if ((rc = sio_connect_error(&b, NULL, 0, "unauthorized")) ==
		    EC_OK)
			rc = sio_queue_buf(t, &b);
		goto out;
	}
	if (p->data && (rc = sio_recover(st, t, p->data, p->data_len,
					 &recovered)) != EC_OK)
		goto out;
	if (!recovered) {
		if ((rc = sio_new_ids(r->sock, r->pid, NULL)) != EC_OK)
			goto out;
		snap = t->snap;
		r->cursor = snap.last_id;
	}
	r->session_id = t->user->id;
	r->flags |= STORE_SIO_CONNECTED;
	if ((rc = sio_connect_ok(&b, r->sock, r->pid)) != EC_OK ||
	    (rc = sio_queue_buf(t, &b)) != EC_OK)
		goto out;
	if (!recovered) {
		/* The snapshot first, as SSE and long-poll give it. */
		snprintf(data, sizeof(data), "%lld",
			 (long long)snap.current_users);
		if ((rc = sio_event(&b, snap.last_id, PRESENCE_EVENT_USER_COUNT,
				    data)) == EC_OK)
			rc = sio_queue_buf(t, &b);
	}
	log_debug("sio: %s connected%s", t->user->username,
		  recovered ? " (recovered)" : "");
out:
	buf_release(&b);
	return rc;
}

static enum ecode sio_ack_result(struct sio_tx *t, int64_t ack_id,
				 enum ecode result, int64_t id)
{
	struct buf b, args;
	enum ecode rc;

	if (ack_id < 0)
		return EC_OK;
	buf_init(&b, STORE_SIO_OUTQ_MAX);
	buf_init(&args, STORE_SIO_OUTQ_MAX);
	if (result == EC_OK)
		rc = buf_printf(&args, "{\"id\":%lld}", (long long)id);
	else if ((rc = buf_printf(&args, "{\"error\":\"%s\",\"message\":",
				  ecode_name(result))) == EC_OK) {
		const char *text = t->set->error_text
					   ? t->set->error_text(result)
					   : ecode_name(result);

		if ((rc = json_append_string(&args, text, strlen(text))) ==
		    EC_OK)
			rc = buf_addc(&args, '}');
	}
	if (rc == EC_OK && (rc = buf_addc(&args, '\0')) == EC_OK &&
	    (rc = sio_ack(&b, ack_id, args.data)) == EC_OK)
		rc = sio_queue_buf(t, &b);
	buf_release(&args);
	buf_release(&b);
	return rc;
}

/* A client's event: io_emit_client(), as POST /emit does. */
static enum ecode sio_client_event(struct store *st, struct sio_tx *t,
				   const struct sio_packet *p)
{
	struct json_object *arr = NULL, *name_obj, *data = NULL;
	int64_t id = 0;
	enum ecode rc, result;

	if (p->nsp_len != 1 || p->nsp[0] != '/' ||
	    !(t->row.flags & STORE_SIO_CONNECTED))
		return EC_OK; /* not connected there: ignored, as Node does */
	if (!p->data || json_parse_value(p->data, p->data_len, &arr) != EC_OK ||
	    !json_object_is_type(arr, json_type_array) ||
	    json_object_array_length(arr) < 1 ||
	    !(name_obj = json_object_array_get_idx(arr, 0)) ||
	    !json_object_is_type(name_obj, json_type_string)) {
		result = EC_INVALID_EVENT;
		goto ack;
	}
	if (json_object_array_length(arr) > 1)
		data = json_object_array_get_idx(arr, 1);
	if (!t->user) {
		result = EC_UNAUTHORIZED;
		goto ack;
	}
	if (t->set->emit_allowed &&
	    !t->set->emit_allowed(t->set->emit_ctx, t->user->id)) {
		result = EC_RATE_LIMITED;
		goto ack;
	}
	result = io_emit_client(st, t->user->username,
				json_object_get_string(name_obj), data, &id);
	/* The rules' refusals are the client's answer; a store failure
	 * fails the whole POST. */
	if (result == EC_DB || result == EC_DB_BUSY || result == EC_NOMEM ||
	    result == EC_INTERNAL || result == EC_IO) {
		json_object_put(arr);
		return result;
	}
ack:
	rc = sio_ack_result(t, p->ack_id, result, id);
	json_object_put(arr);
	return rc;
}

static enum ecode sio_post_packet(void *ctx, const struct eio_packet *ep);

struct sio_post_ctx {
	struct store *st;
	struct sio_tx *t;
};

static enum ecode sio_post_packet(void *ctx, const struct eio_packet *ep)
{
	struct sio_post_ctx *c = ctx;
	struct sio_tx *t = c->t;
	struct store_sio *r = &t->row;
	struct sio_packet p;

	if (r->closed_ms)
		return EC_OK; /* after a close packet: nothing more */
	switch (ep->type) {
	case EIO_CLOSE:
		r->closed_ms = t->now;
		buf_reset(&t->q);
		/* A GET held: it ends with a noop. */
		return r->get_ms ? buf_addc(&t->q, EIO_NOOP) : EC_OK;
	case EIO_PONG:
		r->pong_due_ms = 0;
		r->ping_due_ms = t->now + t->set->ping_interval_ms;
		return EC_OK;
	case EIO_MESSAGE:
		if (ep->binary)
			return EC_OK; /* no binary events here */
		if (sio_parse(ep->data, ep->len, &p) != EC_OK)
			return EC_INVALID_PARAM;
		switch (p.type) {
		case SIO_CONNECT:
			return sio_connect(c->st, t, &p);
		case SIO_DISCONNECT:
			if (p.nsp_len == 1 && p.nsp[0] == '/') {
				r->flags &= ~(int64_t)STORE_SIO_CONNECTED;
				r->pid[0] = '\0';
			}
			return EC_OK;
		case SIO_EVENT:
			return sio_client_event(c->st, t, &p);
		default:
			return EC_OK;
		}
	default:
		return EC_OK; /* ping, noop, upgrade: nothing to do */
	}
}

/* The whole payload must be Engine.IO and Socket.IO well-formed before
 * anything of it is done. */
static enum ecode sio_post_check(void *ctx, const struct eio_packet *ep)
{
	struct sio_tx *t = ctx;
	struct sio_packet p;
	enum ecode rc = EC_OK;

	if (ep->type == EIO_MESSAGE && !ep->binary &&
	    (rc = sio_parse(ep->data, ep->len, &p)) == EC_OK &&
	    p.type == SIO_CONNECT)
		t->connects = true;
	return rc;
}

/* ---- the one-POST claim ---- */

static enum ecode sio_claim_tx(struct store *st, void *ctx)
{
	struct sio_tx *t = ctx;
	struct store_sio *r = &t->row;
	enum ecode rc = store_sio_get(st, t->sid, r);

	if (rc == EC_NOT_FOUND || (rc == EC_OK && r->closed_ms)) {
		t->claim = SIO_CLAIM_UNKNOWN;
		return EC_OK;
	}
	if (rc != EC_OK)
		return rc;
	if (t->final) { /* a release */
		if (!r->post_ms)
			return EC_OK;
		r->post_ms = 0;
		return store_sio_update(st, r);
	}
	if (sio_post_claimed(r, t->now)) {
		t->claim = SIO_CLAIM_DUPLICATE;
		sio_close_overlap(r, t->now);
	} else {
		t->claim = SIO_CLAIM_HELD;
		r->post_ms = t->now;
	}
	return store_sio_update(st, r);
}

/* A claim, or with release (t->final) its end. */
static enum ecode sio_claim_run(struct store *st, const char *sid, int64_t now,
				bool release, enum sio_claim *claim)
{
	struct sio_tx *t = sio_tx_new(NULL, sid, now);
	enum ecode rc;

	*claim = SIO_CLAIM_NONE;
	if (!t)
		return EC_NOMEM;
	t->final = release;
	rc = store_transaction(st, sio_claim_tx, t);
	if (rc == EC_OK)
		*claim = t->claim;
	free(t);
	return rc;
}

enum ecode sio_session_post_claim(struct store *st, const char *sid,
				  int64_t now, enum sio_claim *claim)
{
	return sio_claim_run(st, sid, now, false, claim);
}

enum ecode sio_session_post_release(struct store *st, const char *sid)
{
	enum sio_claim ignored;

	return sio_claim_run(st, sid, 0, true, &ignored);
}

static enum ecode sio_post_tx(struct store *st, void *ctx)
{
	struct sio_tx *t = ctx;
	struct store_sio *r = &t->row;
	struct sio_post_ctx c = { .st = st, .t = t };
	enum ecode rc = store_sio_get(st, t->sid, r);

	buf_reset(&t->q);
	if (rc == EC_NOT_FOUND || (rc == EC_OK && r->closed_ms)) {
		t->post = SIO_POST_UNKNOWN;
		return EC_OK;
	}
	if (rc != EC_OK)
		return rc;
	if (sio_timed_out(r, t->now, t->set->ping_timeout_ms)) {
		t->post = SIO_POST_UNKNOWN;
		return store_sio_update(st, r);
	}
	r->seen_ms = t->now;
	if (t->claim == SIO_CLAIM_NONE && sio_post_claimed(r, t->now)) {
		t->post = SIO_POST_DUPLICATE;
		sio_close_overlap(r, t->now);
		return store_sio_update(st, r);
	}
	r->post_ms = 0; /* this POST's claim, if any, ends here */
	if (t->bad) {
		/* A malformed payload closes the session (a held GET gets
		 * the close packet). */
		t->post = SIO_POST_BAD;
		r->closed_ms = t->now;
		snprintf(r->outq, sizeof(r->outq), "%s", r->get_ms ? "1" : "");
		return store_sio_update(st, r);
	}
	if (r->outq[0] &&
	    (rc = buf_add(&t->q, r->outq, strlen(r->outq))) != EC_OK)
		return rc;
	if ((rc = eio_payload_parse(t->body, t->len, sio_post_packet, &c)) !=
	    EC_OK)
		return rc;
	t->post = SIO_POST_OK;
	if (t->q.len >= sizeof(r->outq))
		return EC_TOO_LARGE; /* the client does not take its GETs */
	memcpy(r->outq, t->q.data ? t->q.data : "", t->q.len);
	r->outq[t->q.len] = '\0';
	return store_sio_update(st, r);
}

enum ecode sio_session_post(struct store *st, const struct sio_settings *set,
			    const char *sid, const char *body, size_t len,
			    const struct store_session *user,
			    enum sio_claim claim, int64_t now,
			    enum sio_post_result *result)
{
	struct sio_tx *t = sio_tx_new(set, sid, now);
	enum ecode rc;

	if (!t)
		return EC_NOMEM;
	t->body = body;
	t->len = len;
	t->user = user;
	t->claim = claim;
	t->bad = eio_payload_parse(body, len, sio_post_check, t) != EC_OK;
	buf_init(&t->q, STORE_SIO_OUTQ_MAX);
	/* A connect reads the snapshot first, as GET /events does: the count
	 * and the newest id of one commit; what follows it the GET takes. */
	rc = t->connects && !t->bad ? store_snapshot(st, &t->snap) : EC_OK;
	if (rc == EC_OK)
		rc = store_transaction(st, sio_post_tx, t);
	*result = t->post;
	buf_release(&t->q);
	free(t);
	return rc;
}
