/* api.c -- one handler per route; the only place errors become HTTP.
 *
 * api_handle() routes a parsed request to its handler.  A handler returns
 * an enum ecode; EC_OK means it filled the response itself, anything else
 * is turned into {"error","message"} with the status of api_errors[] by
 * api_error().  SSE and long-poll handlers may instead ask the transport to
 * park the request in the hub (API_WAIT_FOR_EVENT, see api.h).
 *
 * Routes (SPEC "HTTP API"): register, login, logout, me, count, events,
 * poll, health, metrics, emit; and, outside the base, /_api/server.js for
 * freeCodeCamp's checker (issue 4, EMITCGI_FCC_TESTING).  To add one: a row
 * in router.c, a handler here, a case in api_dispatch().
 *
 * Invariants: nothing is stored when a request is refused (every check comes
 * before the first write); handlers never block on the hub.
 */
#include "autoconfig.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "api.h"
#include "api_sio.h"
#include "auth.h"
#include "clock.h"
#include "fcc_source.h"
#include "guard.h"
#include "io.h"
#include "log.h"
#include "login.h"
#include "longpoll.h"
#include "metrics.h"
#include "presence.h"
#include "router.h"
#include "sse.h"
#include "store.h"

/* ---- errors ---- */

struct api_error_row {
	int status;
	const char *message;
	int retry_after_s; /* 0: none, or 1 for a 503 */
};

/* A fault of the database file or disk: an operator must act, so clients
 * are told to come back later than for a busy lock. */
#define API_DB_FAULT_RETRY_S 10

static const struct api_error_row api_errors[EC__COUNT] = {
	[EC_NOMEM] = { 500, "out of memory" },
	[EC_IO] = { 500, "input/output error" },
	[EC_DB] = { 500, "database error" },
	[EC_DB_BUSY] = { 503, "database busy, retry shortly" },
	[EC_DB_SCHEMA] = { 503,
			   "database not initialised: run 'emitcgi init'" },
	[EC_CONFIG] = { 500, "bad configuration" },
	[EC_TOO_LARGE] = { 413, "request body larger than 16384 bytes" },
	[EC_HEADERS_TOO_LARGE] = { 431, "request headers too large" },
	[EC_INVALID_JSON] = { 400, "the body is not a valid JSON object" },
	[EC_INVALID_FORM] = { 400, "malformed form body" },
	[EC_INVALID_UTF8] = { 400, "text must be valid UTF-8" },
	[EC_UNSUPPORTED_MEDIA] = { 415,
				   "send application/json or application/x-www-form-urlencoded" },
	[EC_MISSING_FIELD] = { 400, "a required field is missing" },
	[EC_INVALID_USERNAME] = { 400,
				  "username must be 1-32 characters of A-Z a-z 0-9 _ . -" },
	[EC_INVALID_PASSWORD] = { 400, "password must be 8-256 bytes" },
	[EC_INVALID_PARAM] = { 400, "invalid query parameter" },
	[EC_INVALID_EVENT] = { 400,
			       "event must be 1-64 printable ASCII characters" },
	[EC_RESERVED_EVENT] = { 400, "this event name is reserved" },
	[EC_DATA_TOO_LARGE] = { 413,
				"data must serialise to at most 4096 bytes" },
	[EC_USERNAME_TAKEN] = { 409, "this username is taken" },
	[EC_BAD_CREDENTIALS] = { 401, "unknown user or wrong password" },
	[EC_THROTTLED] = { 429, "too many failed logins, retry later" },
	[EC_UNAUTHORIZED] = { 401, "sign in first" },
	[EC_FORBIDDEN] = { 403, "forbidden" },
	[EC_NOT_FOUND] = { 404, "no such resource" },
	[EC_METHOD_NOT_ALLOWED] = { 405, "method not allowed" },
	[EC_TOO_MANY_WAITERS] = { 503, "too many subscribers, retry later" },
	[EC_UNAVAILABLE] = { 503, "service unavailable" },
	[EC_INTERNAL] = { 500, "internal error" },
	[EC_DB_READONLY] = { 503, "the database is read-only, retry later",
			     API_DB_FAULT_RETRY_S },
	[EC_DB_FULL] = { 503, "the database is full, retry later",
			 API_DB_FAULT_RETRY_S },
	[EC_DB_CORRUPT] = { 503, "the database is damaged, retry later",
			    API_DB_FAULT_RETRY_S },
	[EC_DB_IOERR] = { 503,
			  "the database cannot be read or written, retry "
			  "later",
			  API_DB_FAULT_RETRY_S },
	[EC_RATE_LIMITED] = { 429, "too many requests, retry later" },
};

void api_error(struct response *res, enum ecode rc, const char *message)
{
	const struct api_error_row *row = NULL;
	int status = 500;

	if ((unsigned)rc < EC__COUNT && api_errors[rc].status)
		row = &api_errors[rc];
	if (row)
		status = row->status;
	if (!message)
		message = row ? row->message : "internal error";
	/* Start from a clean response: headers set before the failure (a
	 * Set-Cookie, say) must not leak into an error. */
	response_release(res);
	response_init(res);
	if (response_error(res, status, ecode_name(rc), message) != EC_OK) {
		response_release(res);
		response_init(res);
		response_status(res, 500);
	}
	if (row && row->retry_after_s > 0) {
		char retry[16];

		snprintf(retry, sizeof(retry), "%d", row->retry_after_s);
		response_header(res, "Retry-After", retry);
	} else if (status == 503) {
		response_header(res, "Retry-After", "1");
	}
}

/* 429 with the seconds until the limit lets the client in again. */
static enum ecode api_refuse_after(struct response *res, enum ecode rc,
				   int64_t retry_after_s)
{
	char retry[32];

	if (retry_after_s < 1)
		retry_after_s = 1;
	api_error(res, rc, NULL);
	snprintf(retry, sizeof(retry), "%lld", (long long)retry_after_s);
	response_header(res, "Retry-After", retry);
	return rc;
}

/* ---- issue 9: what guard.c decides, as HTTP ---- */

/* A guard_rate() refusal as 429 + Retry-After. */
static enum ecode api_rate(struct api_ctx *ctx, enum guard_limit which,
			   const char *id, struct response *res)
{
	int retry_s = 1;

	if (guard_rate(ctx->cfg, which, id, clock_mono_ms(), &retry_s))
		return EC_OK;
	metrics_inc(METRIC_RATE_LIMITED);
	return api_refuse_after(res, EC_RATE_LIMITED, retry_s);
}

static enum ecode api_login_throttled(struct api_ctx *ctx,
				      const struct guard_login_keys *k,
				      int64_t now, struct response *res)
{
	int64_t retry_s = 0;
	enum ecode rc = guard_login_check(ctx->st, k, now, &retry_s);

	if (rc == EC_THROTTLED)
		return api_refuse_after(res, rc, retry_s);
	return rc;
}

static enum ecode api_login_failed(struct api_ctx *ctx,
				   const struct guard_login_keys *k,
				   int64_t now)
{
	enum ecode rc = guard_login_failed(ctx->st, k, now);

	metrics_inc(METRIC_LOGIN_FAILURES);
	return rc != EC_OK ? rc : EC_BAD_CREDENTIALS;
}

const char *api_error_text(enum ecode rc)
{
	if ((unsigned)rc < EC__COUNT && api_errors[rc].status)
		return api_errors[rc].message;
	return "internal error";
}

/* ---- small helpers ---- */

static enum ecode api_send_json(struct response *res, int status,
				struct json_object *obj)
{
	enum ecode rc;

	if (!obj)
		return EC_NOMEM;
	rc = response_json(res, status, obj);
	json_object_put(obj);
	return rc;
}

/* json_object_new_* return NULL on allocation failure; adding NULL would
 * silently store a JSON null, so check every one. */
static enum ecode api_add(struct json_object *obj, const char *key,
			  struct json_object *val)
{
	if (!val)
		return EC_NOMEM;
	if (json_object_object_add(obj, key, val) != 0) {
		json_object_put(val);
		return EC_NOMEM;
	}
	return EC_OK;
}

static enum ecode api_session(struct api_ctx *ctx, const struct request *req,
			      struct store_session *s)
{
	enum ecode rc;

	char key[AUTH_SID_HEX_LEN + 1];

	if (!req->has_sid)
		return EC_UNAUTHORIZED;
	if ((rc = auth_sid_hash(req->sid, key)) != EC_OK)
		return rc;
	rc = store_session_find(ctx->st, key, clock_wall_ms(), s);
	if (rc == EC_NOT_FOUND)
		return EC_UNAUTHORIZED;
	return rc;
}

/* One Set-Cookie of the session cookie for path (see api_set_cookie()). */
static enum ecode api_cookie_header(struct response *res, bool secure,
				    const char *path, const char *sid,
				    int max_age_s)
{
	const char *prefix = !secure ? "" : *path ? "__Secure-" : "__Host-";
	char cookie[CONFIG_BASE_MAX + 256];

	snprintf(cookie, sizeof(cookie),
		 "%s" REQUEST_SID_COOKIE
		 "=%s; HttpOnly; SameSite=Lax; Path=%s; Max-Age=%d%s",
		 prefix, sid, *path ? path : "/", max_age_s,
		 secure ? "; Secure" : "");
	return response_header(res, "Set-Cookie", cookie);
}

/* Issue 9: the cookie goes to the API only (Path= the base, not every
 * application on the host).  Under HTTPS (or EMITCGI_COOKIE_SECURE=1
 * behind a TLS terminator) it is Secure and prefixed: "__Host-" when the
 * API is at the root ("__Host-" demands Path=/, RFC 6265bis 4.1.3.2), else
 * "__Secure-", which allows the path.  request.c reads all three names.
 * The socket.io endpoint (EMITCGI_SIO_PATH, issue 11) signs in with the
 * same cookie: when it lies outside the base, the same cookie is set a
 * second time for its path, so that a browser sends it there too and to
 * nothing else. */
static enum ecode api_set_cookie(struct api_ctx *ctx, struct response *res,
				 const struct request *req, const char *sid,
				 int max_age_s)
{
	const char *base = ctx->cfg->base, *sio = ctx->cfg->sio_path;
	bool secure = req->https || ctx->cfg->cookie_secure;
	size_t n = strlen(base);
	enum ecode rc;

	rc = api_cookie_header(res, secure, base, sid, max_age_s);
	if (rc != EC_OK ||
	    (n > 0 && strncmp(sio, base, n) == 0 &&
	     (sio[n] == '/' || sio[n] == '\0')) ||
	    n == 0)
		return rc;
	return api_cookie_header(res, secure, sio, sid, max_age_s);
}

/* ---- POST /register ---- */

static enum ecode api_register(struct api_ctx *ctx, struct request *req,
			       struct response *res)
{
	const char *username, *password;
	char hash[AUTH_HASH_MAX + 1];
	struct json_object *obj;
	enum ecode rc;

	if ((rc = request_field_string(req, "username", &username)) != EC_OK ||
	    (rc = request_field_string(req, "password", &password)) != EC_OK)
		return rc;
	if ((rc = auth_check_username(username)) != EC_OK ||
	    (rc = auth_check_password(password, strlen(password))) != EC_OK)
		return rc;
	/* Counted once the input is valid, before the costly hash. */
	if ((rc = api_rate(ctx, GUARD_REGISTER, guard_addr(req), res)) != EC_OK)
		return rc;
	if ((rc = auth_hash_password(password, hash, sizeof(hash))) != EC_OK)
		return rc;
	rc = store_user_add(ctx->st, username, hash, clock_wall_ms());
	if (rc != EC_OK)
		return rc;
	metrics_inc(METRIC_REGISTRATIONS);
	log_info("registered user %s", username);
	obj = json_object_new_object();
	if (!obj ||
	    api_add(obj, "username", json_object_new_string(username))) {
		json_object_put(obj);
		return EC_NOMEM;
	}
	return api_send_json(res, 201, obj);
}

/* ---- POST /login ---- */

/* Issue 9: a login ends the session whose cookie it arrived with (a fixed
 * or stolen cookie does not survive the owner signing in again). */
static enum ecode api_revoke_arriving(struct api_ctx *ctx,
				      const struct request *req)
{
	struct presence_change presence;
	char key[AUTH_SID_HEX_LEN + 1];
	enum ecode rc;

	if (!req->has_sid)
		return EC_OK;
	if ((rc = auth_sid_hash(req->sid, key)) != EC_OK)
		return rc;
	rc = presence_logout(ctx->st, key, &presence);
	return rc == EC_NOT_FOUND ? EC_OK : rc;
}

static enum ecode api_login(struct api_ctx *ctx, struct request *req,
			    struct response *res)
{
	const char *username, *password;
	char sid[AUTH_SID_HEX_LEN + 1], key[AUTH_SID_HEX_LEN + 1];
	struct guard_login_keys keys;
	struct store_user user;
	struct json_object *obj;
	int64_t now = clock_wall_ms();
	int64_t current_users;
	bool ok = false;
	enum ecode rc;

	if ((rc = request_field_string(req, "username", &username)) != EC_OK ||
	    (rc = request_field_string(req, "password", &password)) != EC_OK)
		return rc;
	/* Before any verification: each costs a yescrypt run. */
	if ((rc = api_rate(ctx, GUARD_LOGIN, guard_addr(req), res)) != EC_OK)
		return rc;
	/* A name that could never be registered is simply unknown (one
	 * message for every failure, SPEC); it still counts against the
	 * address. */
	if (auth_check_username(username) != EC_OK) {
		guard_login_keys("-", guard_addr(req), &keys);
		if ((rc = api_login_throttled(ctx, &keys, now, res)) != EC_OK)
			return rc;
		auth_verify_dummy(password);
		metrics_inc(METRIC_LOGIN_FAILURES);
		rc = store_login_failure_add(ctx->st, keys.addr, now,
					     API_LOGIN_WINDOW_MS);
		return rc != EC_OK ? rc : EC_BAD_CREDENTIALS;
	}
	guard_login_keys(username, guard_addr(req), &keys);
	rc = api_login_throttled(ctx, &keys, now, res);
	if (rc != EC_OK) {
		metrics_inc(METRIC_LOGIN_FAILURES);
		return rc;
	}
	rc = store_user_find(ctx->st, username, &user);
	if (rc == EC_NOT_FOUND)
		auth_verify_dummy(password);
	else if (rc != EC_OK)
		return rc;
	else if ((rc = auth_verify_password(password, user.password_hash,
					    &ok)) != EC_OK)
		return rc;
	if (!ok)
		return api_login_failed(ctx, &keys, now);
	/* The owner got in: this pair starts afresh (the name's and the
	 * address's counts stay: they are about others). */
	if ((rc = store_login_failures_clear(ctx->st, keys.pair)) != EC_OK ||
	    (rc = api_revoke_arriving(ctx, req)) != EC_OK ||
	    (rc = auth_new_sid(sid)) != EC_OK ||
	    (rc = auth_sid_hash(sid, key)) != EC_OK)
		return rc;

	/* The lesson's io.on('connection') (login.c): the session goes
	 * online and "user count" + "user" are emitted, in one transaction,
	 * so the number is the count at the event's commit.  The store
	 * keeps the hash of the cookie, never the cookie. */
	rc = login_connect_capped(ctx->st, key, &user, now,
				  now + (int64_t)ctx->cfg->session_ttl_s * 1000,
				  ctx->cfg->max_sessions_per_user,
				  &current_users);
	explicit_bzero(key, sizeof(key));
	if (rc != EC_OK)
		return rc;
	metrics_inc(METRIC_LOGINS);
	log_info("login %s: %lld users online", user.username,
		 (long long)current_users);

	obj = json_object_new_object();
	if (!obj ||
	    api_add(obj, "username", json_object_new_string(user.username)) ||
	    api_add(obj, "currentUsers",
		    json_object_new_int64(current_users))) {
		json_object_put(obj);
		return EC_NOMEM;
	}
	if ((rc = api_send_json(res, 200, obj)) != EC_OK)
		return rc;
	return api_set_cookie(ctx, res, req, sid, ctx->cfg->session_ttl_s);
}

/* ---- POST /logout ---- */

static enum ecode api_logout(struct api_ctx *ctx, struct request *req,
			     struct response *res)
{
	struct presence_change presence;
	enum ecode rc;

	if (req->has_sid) {
		char key[AUTH_SID_HEX_LEN + 1];

		if ((rc = auth_sid_hash(req->sid, key)) != EC_OK)
			return rc;
		rc = presence_logout(ctx->st, key, &presence);
		if (rc != EC_OK)
			return rc;
		if (presence.changed)
			log_info("logout: %lld users online",
				 (long long)presence.current_users);
	}
	if ((rc = response_empty(res, 204)) != EC_OK)
		return rc;
	return api_set_cookie(ctx, res, req, "", 0);
}

/* ---- GET /me, /count ---- */

static enum ecode api_me(struct api_ctx *ctx, struct request *req,
			 struct response *res)
{
	struct store_session s;
	struct json_object *obj;
	enum ecode rc;

	if ((rc = api_session(ctx, req, &s)) != EC_OK)
		return rc;
	obj = json_object_new_object();
	if (!obj ||
	    api_add(obj, "username", json_object_new_string(s.username))) {
		json_object_put(obj);
		return EC_NOMEM;
	}
	return api_send_json(res, 200, obj);
}

static enum ecode api_count(struct api_ctx *ctx, struct request *req,
			    struct response *res)
{
	struct store_snapshot snap;
	struct json_object *obj;
	enum ecode rc;

	if ((rc = store_snapshot(ctx->st, &snap)) != EC_OK)
		return rc;
	obj = json_object_new_object();
	if (!obj ||
	    api_add(obj, "currentUsers",
		    json_object_new_int64(snap.current_users)) ||
	    api_add(obj, "uniqueUsers",
		    json_object_new_int64(snap.unique_users)) ||
	    api_add(obj, "lastEventId", json_object_new_int64(snap.last_id))) {
		json_object_put(obj);
		return EC_NOMEM;
	}
	return api_send_json(res, 200, obj);
}

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
 * full; a poll only when it would have to wait. */
static enum ecode api_waiter_begin(struct api_ctx *ctx, struct request *req,
				   struct store_session *s, bool always_parks)
{
	enum ecode rc;

	if ((rc = api_session(ctx, req, s)) != EC_OK)
		return rc;
	if (always_parks && !api_has_room(ctx))
		return EC_TOO_MANY_WAITERS;
	/* Issue 9: one session or user may not take every slot; hub_park()
	 * counts again under its lock. */
	if (ctx->hub && !hub_has_room_for(ctx->hub, s->id, s->user_id))
		return EC_TOO_MANY_WAITERS;
	return presence_seen(ctx->st, s,
			     (int64_t)ctx->cfg->presence_timeout_s * 1000,
			     clock_wall_ms(), NULL);
}

static enum ecode api_snapshot_data(const struct store_snapshot *snap,
				    char *data, size_t size)
{
	int n = snprintf(data, size, "%lld", (long long)snap->current_users);

	return n < 0 || (size_t)n >= size ? EC_INTERNAL : EC_OK;
}

/* ---- GET /events ---- */

static enum ecode api_events(struct api_ctx *ctx, struct request *req,
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
	if ((rc = api_waiter_begin(ctx, req, &s, true)) != EC_OK)
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

static enum ecode api_poll(struct api_ctx *ctx, struct request *req,
			   struct response *res, struct api_wait *wait,
			   bool *parked)
{
	struct store_session s;
	struct store_snapshot snap;
	const char *since_text = request_param(req, "since");
	const char *timeout_text = request_param(req, "timeout");
	int64_t since = -1, timeout = ctx->cfg->poll_timeout_s;
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
	if ((rc = api_waiter_begin(ctx, req, &s, false)) != EC_OK)
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
out:
	buf_release(&body);
	return rc;
}

/* ---- POST /emit ---- */

/* The name, the data and their limits are io.c's rules (io.h); the name
 * is checked before the body's data is even parsed, as before. */
static enum ecode api_emit(struct api_ctx *ctx, struct request *req,
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

/* ---- GET /health, /metrics ---- */

static const char *api_db_state(enum ecode rc)
{
	switch (rc) {
	case EC_DB_READONLY:
		return "readonly";
	case EC_DB_FULL:
		return "full";
	case EC_DB_CORRUPT:
		return "corrupt";
	case EC_DB_IOERR:
		return "io_error";
	case EC_DB_BUSY:
		return "busy";
	case EC_DB_SCHEMA:
		return "schema";
	default:
		return "error";
	}
}

/* Public: {"status"} only (issue 9); with the metrics rule, the details. */
static enum ecode api_health(struct api_ctx *ctx, struct request *req,
			     struct response *res)
{
	struct hub_stats hs = { 0 };
	struct store_snapshot snap;
	struct json_object *obj, *subs;
	bool details = guard_metrics_allowed(ctx->cfg, req);
	int version = 0;
	enum ecode rc;

	rc = store_health(ctx->st, &version);
	if (rc == EC_OK)
		rc = store_snapshot(ctx->st, &snap);
	if (rc != EC_OK) {
		obj = json_object_new_object();
		if (!obj ||
		    api_add(obj, "status",
			    json_object_new_string("unavailable")) ||
		    (details &&
		     (api_add(obj, "error",
			      json_object_new_string(ecode_name(rc))) ||
		      api_add(obj, "message",
			      json_object_new_string(
				      "the database is unusable")) ||
		      api_add(obj, "database",
			      json_object_new_string(api_db_state(rc)))))) {
			json_object_put(obj);
			return EC_NOMEM;
		}
		rc = api_send_json(res, 503, obj);
		if (rc == EC_OK)
			rc = response_header(res, "Retry-After", "10");
		return rc;
	}
	obj = json_object_new_object();
	if (!obj || api_add(obj, "status", json_object_new_string("ok"))) {
		json_object_put(obj);
		return EC_NOMEM;
	}
	if (!details)
		return api_send_json(res, 200, obj);
	if (ctx->hub)
		hub_get_stats(ctx->hub, &hs);
	subs = json_object_new_object();
	if (!subs ||
	    api_add(subs, "sse", json_object_new_int(hs.sse_waiters)) ||
	    api_add(subs, "poll", json_object_new_int(hs.poll_waiters)) ||
	    api_add(subs, "sio", json_object_new_int(hs.sio_waiters)) ||
	    api_add(subs, "max",
		    json_object_new_int(ctx->cfg->max_subscribers))) {
		json_object_put(obj);
		json_object_put(subs);
		return EC_NOMEM;
	}
	if (api_add(obj, "database", json_object_new_string("ok")) ||
	    api_add(obj, "schemaVersion", json_object_new_int(version)) ||
	    api_add(obj, "lastEventId", json_object_new_int64(snap.last_id)) ||
	    api_add(obj, "currentUsers",
		    json_object_new_int64(snap.current_users)) ||
	    api_add(obj, "subscribers", subs) ||
	    api_add(obj, "mode",
		    json_object_new_string(ctx->hub ? "fastcgi" : "cgi")) ||
	    api_add(obj, "pid", json_object_new_int((int)getpid()))) {
		json_object_put(obj);
		return EC_NOMEM;
	}
	return api_send_json(res, 200, obj);
}

static enum ecode api_metrics(struct api_ctx *ctx, struct request *req,
			      struct response *res)
{
	struct metrics_gauges g = { .current_users = -1 };
	struct store_snapshot snap;
	struct hub_stats hs = { 0 };
	enum ecode rc;

	if (!guard_metrics_allowed(ctx->cfg, req))
		return EC_FORBIDDEN;
	if (ctx->hub)
		hub_get_stats(ctx->hub, &hs);
	g.sse_waiters = hs.sse_waiters;
	g.poll_waiters = hs.poll_waiters;
	g.events_delivered = hs.events_delivered;
	g.waiters_dropped = hs.waiters_dropped;
	if (store_snapshot(ctx->st, &snap) == EC_OK) {
		g.last_event_id = snap.last_id;
		g.current_users = snap.current_users;
	}
	response_status(res, 200);
	if ((rc = response_header(
		     res, "Content-Type",
		     "text/plain; version=0.0.4; charset=utf-8")) != EC_OK)
		return rc;
	return metrics_render(&res->body, &g);
}

/* ---- GET /_api/server.js (issue 4) ---- */

/* freeCodeCamp's "Communicate by Emitting" checker fetches
 * <app>/_api/server.js and matches the text against regular expressions
 * (currentUsers; io.emit ... 'user count' ... currentUsers).  emitcgi's
 * counterpart of that server code is login.c, embedded at build time
 * (fcc_source.h).  Off by default: it discloses source. */
static enum ecode api_fcc_server_js(struct api_ctx *ctx, struct request *req,
				    struct response *res)
{
	enum ecode rc;

	if (!ctx->cfg->fcc_testing)
		return EC_NOT_FOUND;
	response_status(res, 200);
	/* application/javascript, not text/x-c (which is what the text is):
	 * the checker asks for a .js resource and reads the body as text; a
	 * JavaScript type is what that URL promises to it, to browsers and
	 * to proxies, and text/x-c is no registered media type.  (RFC 9239
	 * now prefers text/javascript, and lighttpd 1.4.69 rewrites ours to
	 * it; the checker minds neither.)  Older checkers use jQuery's $.get,
	 * which guesses by type, but jQuery 3 never evaluates a script
	 * fetched cross-origin without an explicit dataType, and the checker
	 * (on freecodecamp.org) is always cross-origin.  Being cross-origin,
	 * it can read the answer only with Access-Control-Allow-Origin; "*"
	 * is safe here: no cookie is involved, and the text is public anyway
	 * once this switch is on. */
	if ((rc = response_header(res, "Content-Type",
				  "application/javascript; charset=utf-8")) ||
	    (rc = response_header(res, "Cache-Control", "no-store")) ||
	    (rc = response_header(res, "Access-Control-Allow-Origin", "*")))
		return rc;
	return buf_add(&res->body, fcc_source, fcc_source_len);
}

/* ---- dispatch ---- */

static enum ecode api_dispatch(struct api_ctx *ctx, struct request *req,
			       enum route route, struct response *res,
			       struct api_wait *wait, bool *parked)
{
	enum ecode rc;

	if (req->method == REQUEST_POST) {
		if ((rc = guard_check_origin(ctx->cfg, req)) != EC_OK)
			return rc;
		if ((rc = request_parse_body(req)) != EC_OK)
			return rc;
	}
	switch (route) {
	case ROUTE_REGISTER:
		return api_register(ctx, req, res);
	case ROUTE_LOGIN:
		return api_login(ctx, req, res);
	case ROUTE_LOGOUT:
		return api_logout(ctx, req, res);
	case ROUTE_ME:
		return api_me(ctx, req, res);
	case ROUTE_COUNT:
		return api_count(ctx, req, res);
	case ROUTE_EVENTS:
		rc = api_events(ctx, req, res, wait);
		if (rc == EC_OK)
			*parked = true;
		return rc;
	case ROUTE_POLL:
		return api_poll(ctx, req, res, wait, parked);
	case ROUTE_HEALTH:
		return api_health(ctx, req, res);
	case ROUTE_METRICS:
		return api_metrics(ctx, req, res);
	case ROUTE_EMIT:
		return api_emit(ctx, req, res);
	case ROUTE_FCC_SERVER_JS:
		return api_fcc_server_js(ctx, req, res);
	case ROUTE_NONE:
		break;
	}
	return EC_NOT_FOUND;
}

/* At capacity every refused client would log a line: one per code and
 * API_LOG_EVERY_MS is enough to see it in the error log. */
#define API_LOG_EVERY_MS 10000

static bool api_log_allowed(enum ecode rc)
{
	static _Atomic int64_t last_logged_ms[EC__COUNT];
	int64_t now = clock_mono_ms(), last;

	if (rc != EC_TOO_MANY_WAITERS && rc != EC_DB_BUSY)
		return true;
	last = atomic_load(&last_logged_ms[rc]);
	if (last && now - last < API_LOG_EVERY_MS)
		return false;
	return atomic_compare_exchange_strong(&last_logged_ms[rc], &last, now);
}

enum api_result api_handle(struct api_ctx *ctx, struct request *req,
			   enum ecode pre_rc, struct response *res,
			   struct api_wait *wait)
{
	enum route route = ROUTE_NONE;
	const char *allow = NULL;
	bool parked = false;
	enum ecode rc = pre_rc;

	/* Socket.IO (EMITCGI_SIO_PATH) answers in Engine.IO's own terms. */
	if (api_sio_owns(ctx->cfg, req)) {
		rc = api_sio_handle(ctx, req, pre_rc, res, wait, &parked);
		if (rc != EC_OK) {
			api_error(res, rc, NULL);
			parked = false;
		}
		goto done;
	}
	if (rc == EC_OK) {
		rc = router_match(req, &route, &allow);
		if (rc == EC_METHOD_NOT_ALLOWED) {
			api_error(res, rc, NULL);
			response_header(res, "Allow", allow);
			goto done;
		}
	}
	if (rc == EC_OK)
		rc = api_dispatch(ctx, req, route, res, wait, &parked);
	if (rc != EC_OK) {
		/* A throttle's answer is already complete (its Retry-After). */
		if (!((rc == EC_THROTTLED || rc == EC_RATE_LIMITED) &&
		      res->status == 429))
			api_error(res, rc, NULL);
		parked = false;
		if ((api_errors[rc].status >= 500 || !api_errors[rc].status) &&
		    api_log_allowed(rc))
			log_warn("%s %s: %s", req->method_name,
				 req->uri_path ? req->uri_path : "?",
				 ecode_name(rc));
	}
done:
	res->head_only = req->method == REQUEST_HEAD;
	metrics_inc(METRIC_REQUESTS);
	if (res->status >= 500)
		metrics_inc(METRIC_ERRORS_5XX);
	else if (res->status >= 400)
		metrics_inc(METRIC_ERRORS_4XX);
	return parked ? API_WAIT_FOR_EVENT : API_FINISHED;
}

/* ---- the transport-independent part of serving a request ---- */

/* The body of a request whose cap is max (api_body_max()). */
static enum ecode api_set_body(struct request *req, const void *data,
			       size_t len, size_t max)
{
	if (max <= REQUEST_BODY_MAX_BYTES)
		return request_set_body(req, data, len);
	if (len > max)
		return EC_TOO_LARGE;
	/* An Engine.IO payload (EMITCGI_SIO_MAX_PAYLOAD): raw text for
	 * api_sio.c, never parsed as a form or JSON. */
	buf_reset(&req->body);
	req->body.max_len = max;
	return buf_add(&req->body, data, len);
}

size_t api_body_max(const struct config *cfg, const struct request *req)
{
	return api_sio_owns(cfg, req) ? (size_t)cfg->sio_max_payload
				      : REQUEST_BODY_MAX_BYTES;
}

static enum ecode api_read_body(struct request *req, api_read_fn *read_body,
				void *io, size_t max)
{
	char chunk[4096];
	struct buf body;
	size_t total = 0;
	bool too_large = req->content_length > (int64_t)max;
	enum ecode rc = EC_OK;
	long n;

	buf_init(&body, max);
	/* CGI (RFC 3875 4.2) gives CONTENT_LENGTH; read no more than that,
	 * FastCGI ends stdin with an empty record anyway. */
	for (;;) {
		size_t want = sizeof(chunk);

		if (req->content_length >= 0) {
			if (total >= (size_t)req->content_length)
				break;
			if ((size_t)req->content_length - total < want)
				want = (size_t)req->content_length - total;
		}
		if (total >= API_DRAIN_MAX_BYTES)
			break;
		n = read_body(io, chunk, want);
		if (n <= 0)
			break;
		total += (size_t)n;
		if (!too_large && buf_add(&body, chunk, (size_t)n) != EC_OK)
			too_large = true;
	}
	if (too_large)
		rc = EC_TOO_LARGE;
	else if (body.len)
		rc = api_set_body(req, body.data, body.len, max);
	buf_release(&body);
	return rc;
}

enum api_result api_serve_buffered(struct api_ctx *ctx, struct request *req,
				   char *const *envp, const void *body,
				   size_t len, enum ecode pre_rc,
				   struct response *res, struct api_wait *wait)
{
	enum ecode rc = request_parse_env(req, envp, ctx->cfg->base);

	if (rc == EC_OK)
		rc = pre_rc;
	if (rc == EC_OK && len > 0)
		rc = api_set_body(req, body, len, api_body_max(ctx->cfg, req));
	return api_handle(ctx, req, rc, res, wait);
}

enum api_result api_serve(struct api_ctx *ctx, struct request *req,
			  char *const *envp, api_read_fn *read_body, void *io,
			  struct response *res, struct api_wait *wait)
{
	enum ecode rc = request_parse_env(req, envp, ctx->cfg->base);

	if (rc == EC_OK)
		rc = api_read_body(req, read_body, io,
				   api_body_max(ctx->cfg, req));
	return api_handle(ctx, req, rc, res, wait);
}
