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
 * freeCodeCamp's checker (issue 4, EMITCGI_FCC_TESTING).  The handlers live
 * by family in api_account.c, api_stream.c and api_status.c (api_int.h);
 * this file keeps the error table, dispatch and serving a request.  To add
 * a route: a row in router.c, a handler in its family's file, a case in
 * api_dispatch().
 *
 * Invariants: nothing is stored when a request is refused (every check comes
 * before the first write); handlers never block on the hub.
 */
#include "autoconfig.h"

#include <stdatomic.h>
#include <stdio.h>

#include "api.h"
#include "api_int.h"
#include "api_sio.h"
#include "auth.h"
#include "clock.h"
#include "log.h"
#include "metrics.h"
#include "router.h"

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
enum ecode api_refuse_after(struct response *res, enum ecode rc,
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
enum ecode api_rate(struct api_ctx *ctx, enum guard_limit which, const char *id,
		    struct response *res)
{
	int retry_s = 1;

	if (guard_rate(ctx->cfg, which, id, clock_mono_ms(), &retry_s))
		return EC_OK;
	metrics_inc(METRIC_RATE_LIMITED);
	return api_refuse_after(res, EC_RATE_LIMITED, retry_s);
}

enum ecode api_login_throttled(struct api_ctx *ctx,
			       const struct guard_login_keys *k, int64_t now,
			       struct response *res)
{
	int64_t retry_s = 0;
	enum ecode rc = guard_login_check(ctx->st, k, now, &retry_s);

	if (rc == EC_THROTTLED)
		return api_refuse_after(res, rc, retry_s);
	return rc;
}

enum ecode api_login_failed(struct api_ctx *ctx,
			    const struct guard_login_keys *k, int64_t now)
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

enum ecode api_send_json(struct response *res, int status,
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
enum ecode api_add(struct json_object *obj, const char *key,
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

enum ecode api_session(struct api_ctx *ctx, const struct request *req,
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
