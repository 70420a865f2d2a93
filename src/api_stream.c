/* api_stream.c -- the routes that deliver events: GET /events (SSE) and
 * GET /poll (long-poll), and POST /emit (see api_int.h).
 *
 * A stream or poll answers what can be answered now (the SSE head, a
 * snapshot, a reset) and asks the transport to park it in the hub
 * (struct api_wait); the replay of missed events is the hub's catch-up,
 * never built here.  Resume never skips silently: a hole after the
 * client's id answers reset (issue 9).  An emit goes through io.c like
 * every event.
 */
#include "autoconfig.h"

#include <stdio.h>

#include "api.h"
#include "api_int.h"
#include "auth.h"
#include "clock.h"
#include "io.h"
#include "longpoll.h"
#include "metrics.h"
#include "presence.h"
#include "sse.h"

/* ---- streams and polls: shared pieces ---- */

/* SPEC "Resume": an id older than retention, or newer than the newest event
 * (the database was replaced), gets the snapshot marked reset.  Events after
 * `since` are all retained iff since >= first_id - 1 (or nothing is missing
 * because since is the newest id). */
static bool api_needs_reset(const struct store_snapshot *snap, int64_t since)
{
	if (since > snap->last_id)
		return true;
	if (since == snap->last_id)
		return false;
	return snap->first_id == 0 || since < snap->first_id - 1;
}

static enum ecode api_first_after(void *arg, const struct store_event *ev)
{
	*(int64_t *)arg = ev->id;
	return EC_OK;
}

/* Resume never skips silently (issue 9): ids follow each other (SQLite's
 * AUTOINCREMENT counter and PostgreSQL's counter row roll back with their
 * transaction), so when the event after `since` is not since + 1 the
 * events the client should get next are gone (trimmed under it, or
 * removed): the answer is a reset.  One indexed read, only when events
 * are pending. */
static enum ecode api_resume_hole(struct api_ctx *ctx,
				  const struct store_snapshot *snap,
				  int64_t since, bool *hole)
{
	int64_t first = 0;
	enum ecode rc;

	*hole = false;
	if (since >= snap->last_id)
		return EC_OK;
	rc = store_events_after(ctx->st, since, 1, api_first_after, &first);
	if (rc == EC_OK)
		*hole = first != since + 1;
	return rc;
}

static bool api_has_room(struct api_ctx *ctx)
{
	if (ctx->hub)
		return hub_has_room(ctx->hub);
	return !ctx->wait_room || ctx->wait_room(ctx->wait_room_arg);
}

/* Brings the session online (SPEC: again whenever a client streams or
 * polls).  A stream always parks, so it is refused at once when the hub is
 * full; a poll only when it would have to wait.  *seen_ms (may be NULL)
 * gets the last_seen the store holds at least afterwards. */
static enum ecode api_waiter_begin(struct api_ctx *ctx, struct request *req,
				   struct store_session *s, bool always_parks,
				   int64_t *seen_ms)
{
	int64_t idle_ms = (int64_t)ctx->cfg->presence_timeout_s * 1000;
	int64_t now = clock_wall_ms();
	struct presence_change ch;
	enum ecode rc;

	if ((rc = api_session(ctx, req, s)) != EC_OK)
		return rc;
	if (always_parks && !api_has_room(ctx))
		return EC_TOO_MANY_WAITERS;
	/* Issue 9: one session or user may not take every slot; hub_park()
	 * counts again under its lock. */
	if (ctx->hub && !hub_has_room_for(ctx->hub, s->id, s->user_id))
		return EC_TOO_MANY_WAITERS;
	if ((rc = presence_seen(ctx->st, s, idle_ms, now, &ch)) != EC_OK)
		return rc;
	if (seen_ms)
		/* presence_seen() wrote now unless it skipped the write
		 * (online, seen within idle_ms / 4): the same test. */
		*seen_ms = presence_seen_skips(s->online, s->last_seen_ms,
					       idle_ms, now)
				   ? s->last_seen_ms
				   : now;
	return EC_OK;
}

static enum ecode api_snapshot_data(const struct store_snapshot *snap,
				    char *data, size_t size)
{
	int n = snprintf(data, size, "%lld", (long long)snap->current_users);

	return n < 0 || (size_t)n >= size ? EC_INTERNAL : EC_OK;
}

/* ---- GET /events ---- */

enum ecode api_events(struct api_ctx *ctx, struct request *req,
		      struct response *res, struct api_wait *wait)
{
	struct store_session s;
	struct store_snapshot snap;
	const char *resume_text;
	int64_t resume = -1;
	bool reset;
	char data[32];
	enum ecode rc;

	/* SPEC: the Last-Event-ID header wins over the lastEventId parameter;
	 * an empty header is what a fresh EventSource never sends. */
	resume_text = req->last_event_id && *req->last_event_id
			      ? req->last_event_id
			      : request_param(req, "lastEventId");
	if (resume_text && *resume_text &&
	    (rc = request_parse_id(resume_text, &resume)) != EC_OK)
		return rc;
	if ((rc = api_waiter_begin(ctx, req, &s, true, NULL)) != EC_OK)
		return rc;
	if ((rc = store_snapshot(ctx->st, &snap)) != EC_OK)
		return rc;

	response_status(res, 200);
	if ((rc = response_header(res, "Content-Type", "text/event-stream")) ||
	    (rc = response_header(res, "Cache-Control",
				  "no-cache, no-transform")) ||
	    (rc = response_header(res, "X-Accel-Buffering", "no")) ||
	    (rc = sse_format_retry(&res->body, SSE_RETRY_MS)))
		return rc;

	reset = resume < 0 || api_needs_reset(&snap, resume);
	if (!reset &&
	    (rc = api_resume_hole(ctx, &snap, resume, &reset)) != EC_OK)
		return rc;
	if (!reset) {
		/* The replay is the hub's catch-up from resume on. */
		wait->cursor = resume;
	} else {
		if (resume >= 0 && (rc = sse_format_reset(&res->body)) != EC_OK)
			return rc;
		if ((rc = api_snapshot_data(&snap, data, sizeof(data))) !=
			    EC_OK ||
		    (rc = sse_format_event(&res->body, snap.last_id,
					   PRESENCE_EVENT_USER_COUNT, data)) !=
			    EC_OK)
			return rc;
		wait->cursor = snap.last_id;
	}
	wait->kind = HUB_SSE;
	wait->session_id = s.id;
	wait->user_id = s.user_id;
	wait->timeout_ms = 0;
	metrics_inc(METRIC_STREAMS_OPENED);
	return EC_OK;
}

/* ---- GET /poll ---- */

static enum ecode api_poll_reply(struct response *res, struct buf *body)
{
	enum ecode rc;

	response_status(res, 200);
	if ((rc = response_header(res, "Content-Type", "application/json")) !=
	    EC_OK)
		return rc;
	return buf_add(&res->body, body->data, body->len);
}

enum ecode api_poll(struct api_ctx *ctx, struct request *req,
		    struct response *res, struct api_wait *wait, bool *parked)
{
	struct store_session s;
	struct store_snapshot snap;
	const char *since_text = request_param(req, "since");
	const char *timeout_text = request_param(req, "timeout");
	int64_t since = -1, timeout = ctx->cfg->poll_timeout_s, seen_ms = 0;
	struct buf body;
	bool first = true, reset;
	char data[32];
	enum ecode rc;

	/* SPEC: since and timeout must be non-negative integers; a timeout
	 * above the maximum is lowered to it.  Checked before anything else
	 * so a bad request changes nothing. */
	if (since_text && (rc = request_parse_id(since_text, &since)) != EC_OK)
		return EC_INVALID_PARAM;
	if (timeout_text &&
	    (rc = request_parse_id(timeout_text, &timeout)) != EC_OK)
		return EC_INVALID_PARAM;
	if (timeout > ctx->cfg->poll_timeout_s)
		timeout = ctx->cfg->poll_timeout_s;
	if ((rc = api_waiter_begin(ctx, req, &s, false, &seen_ms)) != EC_OK)
		return rc;
	if ((rc = store_snapshot(ctx->st, &snap)) != EC_OK)
		return rc;
	metrics_inc(METRIC_POLLS);

	buf_init(&body, RESPONSE_BODY_MAX_BYTES);
	if ((rc = longpoll_begin(&body)) != EC_OK)
		goto out;
	reset = since < 0 || api_needs_reset(&snap, since);
	if (!reset &&
	    (rc = api_resume_hole(ctx, &snap, since, &reset)) != EC_OK)
		goto out;
	if (reset) {
		if ((rc = api_snapshot_data(&snap, data, sizeof(data))) ||
		    (rc = longpoll_add(&body, &first, snap.last_id,
				       PRESENCE_EVENT_USER_COUNT, data)) ||
		    (rc = longpoll_end(&body, snap.last_id, since >= 0)))
			goto out;
		rc = api_poll_reply(res, &body);
		goto out;
	}
	if (since < snap.last_id || timeout == 0) {
		/* Events are there (or no wait was asked for): the hub
		 * answers at once, the replay from its catch-up, one
		 * answer of at most HUB_POLL_BODY_SOFT bytes. */
		wait->kind = HUB_POLL;
		wait->cursor = since;
		wait->session_id = s.id;
		wait->user_id = s.user_id;
		wait->timeout_ms = (int)timeout * 1000;
		wait->immediate = true;
		*parked = true;
		goto out;
	}
	/* Nothing pending: park until an event or the timeout. */
	if (!api_has_room(ctx)) {
		rc = EC_TOO_MANY_WAITERS;
		goto out;
	}
	wait->kind = HUB_POLL;
	wait->cursor = since;
	wait->session_id = s.id;
	wait->user_id = s.user_id;
	wait->timeout_ms = (int)timeout * 1000;
	*parked = true;
	/* issue 8: the next poll of this session may skip all of the above
	 * (conn_fast.c) while nothing has changed it. */
	if (auth_sid_hash(req->sid, wait->sid_key) == EC_OK) {
		wait->cacheable = true;
		wait->expires_ms = s.expires_ms;
		wait->seen_ms = seen_ms;
	}
out:
	buf_release(&body);
	return rc;
}

/* ---- POST /emit ---- */

/* The name, the data and their limits are io.c's rules (io.h); the name
 * is checked before the body's data is even parsed, as before. */
enum ecode api_emit(struct api_ctx *ctx, struct request *req,
		    struct response *res)
{
	struct store_session s;
	struct json_object *data = NULL, *obj;
	const char *event;
	char sid_key[24];
	bool owned = false;
	int64_t id;
	enum ecode rc;

	if ((rc = api_session(ctx, req, &s)) != EC_OK)
		return rc;
	/* Issue 9: one user (or address) cannot push everyone past the
	 * retention, which would send every briefly-away client a reset. */
	snprintf(sid_key, sizeof(sid_key), "%lld", (long long)s.id);
	if ((rc = api_rate(ctx, GUARD_EMIT_SESSION, sid_key, res)) != EC_OK ||
	    (rc = api_rate(ctx, GUARD_EMIT_ADDR, guard_addr(req), res)) !=
		    EC_OK)
		return rc;
	if ((rc = request_field_string(req, "event", &event)) != EC_OK ||
	    (rc = io_check_client_event(event)) != EC_OK)
		return rc;
	if ((rc = request_field_json(req, "data", &data, &owned)) != EC_OK)
		return rc;
	rc = io_emit_client(ctx->st, s.username, event, data, &id);
	if (rc != EC_OK)
		goto out;
	metrics_inc(METRIC_EMITS);
	obj = json_object_new_object();
	if (!obj || api_add(obj, "id", json_object_new_int64(id))) {
		json_object_put(obj);
		rc = EC_NOMEM;
		goto out;
	}
	rc = api_send_json(res, 200, obj);
out:
	if (owned)
		json_object_put(data);
	return rc;
}
