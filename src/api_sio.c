/* api_sio.c -- Engine.IO v4 long-polling requests (see api_sio.h).
 *
 * The checks come in the order of the reference server (engine.io's
 * verify() and handshake()): transport (only "polling"; "websocket" too is
 * unknown here, FastCGI cannot upgrade), then the sid (unknown: code 1) or,
 * without one, the handshake method (GET, code 2) and the protocol version
 * (EIO=4, else code 5).  A body past EMITCGI_SIO_MAX_PAYLOAD is 413.  The
 * emitcgi_sid cookie ties the Engine.IO session to a signed-in session and
 * keeps it online like a poll (presence_seen()); a POST from another
 * Origin is refused (403, code 4), as the API refuses it.
 *
 * May call: sio_session.h, eio.h, presence.h, store.h, hub.h, clock.h.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api_sio.h"
#include "auth.h"
#include "clock.h"
#include "eio.h"
#include "guard.h"
#include "log.h"
#include "metrics.h"
#include "presence.h"
#include "store.h"

bool api_sio_owns(const struct config *cfg, const struct request *req)
{
	size_t n = strlen(cfg->sio_path);

	if (!req->uri_path || strncmp(req->uri_path, cfg->sio_path, n) != 0)
		return false;
	return req->uri_path[n] == '\0' ||
	       (req->uri_path[n] == '/' && req->uri_path[n + 1] == '\0');
}

void api_sio_settings(const struct config *cfg, struct sio_settings *out)
{
	*out = (struct sio_settings){
		.ping_interval_ms = cfg->sio_ping_interval_ms,
		.ping_timeout_ms = cfg->sio_ping_timeout_ms,
		.max_payload = cfg->sio_max_payload,
		.recovery_ms = (int64_t)cfg->presence_timeout_s * 1000,
		.error_text = api_error_text,
	};
}

static enum ecode api_sio_error(struct response *res, int status,
				enum eio_error code)
{
	enum ecode rc;

	response_release(res);
	response_init(res);
	response_status(res, status);
	if ((rc = response_header(res, "Content-Type", "application/json")) !=
	    EC_OK)
		return rc;
	return eio_error_json(&res->body, code);
}

static enum ecode api_sio_text(struct response *res, const char *data,
			       size_t len)
{
	enum ecode rc;

	response_status(res, 200);
	if ((rc = response_header(res, "Content-Type",
				  "text/plain; charset=UTF-8")) != EC_OK ||
	    (rc = response_header(res, "Cache-Control", "no-store")) != EC_OK)
		return rc;
	return buf_add(&res->body, data, len);
}

/* SPEC: a POST whose Origin names another host is refused (api.c's rule
 * for the API, here in Engine.IO's terms: 403, code 4). */
static bool api_sio_origin_ok(const struct request *req)
{
	const char *authority;

	if (req->method != REQUEST_POST || !req->origin)
		return true;
	authority = strstr(req->origin, "://");
	return authority && req->host &&
	       strcasecmp(authority + 3, req->host) == 0;
}

/* The signed-in session of the cookie, kept online; false when none. */
static enum ecode api_sio_user(struct api_ctx *ctx, const struct request *req,
			       struct store_session *s, bool *found)
{
	char key[AUTH_SID_HEX_LEN + 1];
	int64_t now = clock_wall_ms();
	enum ecode rc;

	*found = false;
	if (!req->has_sid)
		return EC_OK;
	/* The store keeps the cookie's hash, never the cookie (issue 9). */
	if ((rc = auth_sid_hash(req->sid, key)) != EC_OK)
		return rc;
	rc = store_session_find(ctx->st, key, now, s);
	if (rc == EC_NOT_FOUND)
		return EC_OK;
	if (rc != EC_OK)
		return rc;
	rc = presence_seen(ctx->st, s,
			   (int64_t)ctx->cfg->presence_timeout_s * 1000, now,
			   NULL);
	if (rc == EC_UNAUTHORIZED)
		return EC_OK; /* ended meanwhile */
	*found = rc == EC_OK;
	return rc;
}

static enum ecode api_sio_get(struct api_ctx *ctx, const char *sid,
			      const struct sio_settings *set, int64_t user_id,
			      struct response *res, struct api_wait *wait,
			      bool *parked)
{
	struct sio_wait sw = { 0 };
	enum sio_get_result result;
	struct buf payload;
	int64_t now = clock_wall_ms();
	enum ecode rc;

	buf_init(&payload, SIO_SESSION_ANSWER_MAX);
	rc = sio_session_get(ctx->st, set, sid, user_id, now, &payload, &sw,
			     &result);
	if (rc != EC_OK)
		goto out;
	switch (result) {
	case SIO_GET_ANSWER:
		rc = api_sio_text(res, payload.data, payload.len);
		break;
	case SIO_GET_UNKNOWN:
		rc = api_sio_error(res, 400, EIO_ERR_SID);
		break;
	case SIO_GET_DUPLICATE:
		rc = api_sio_error(res, 400, EIO_ERR_REQUEST);
		break;
	case SIO_GET_WAIT:
		if (ctx->hub && !hub_has_room(ctx->hub)) {
			/* No room to wait: answer now (a noop), which
			 * releases the GET's hold. */
			bool answered = false;

			rc = sio_session_take(ctx->st, set, sw.row_id, now,
					      true, &payload, &answered, &sw);
			if (rc == EC_OK)
				rc = api_sio_text(res, payload.data,
						  payload.len);
			break;
		}
		wait->kind = HUB_SIO;
		wait->cursor = sw.cursor;
		wait->session_id = user_id ? user_id : sw.session_id;
		wait->timeout_ms = sw.due_ms <= now ? 0
				   : sw.due_ms - now > 3600000
					   ? 3600000
					   : (int)(sw.due_ms - now);
		wait->sio_id = sw.row_id;
		*parked = true;
		break;
	}
out:
	buf_release(&payload);
	return rc;
}

struct api_sio_emit {
	const struct config *cfg;
	const char *addr;
};

/* The limits of POST /emit (api_stream.c), per session and per address,
 * for a client's socket.io events: the same path, the same rules. */
static bool api_sio_emit_allowed(void *arg, int64_t session_id)
{
	const struct api_sio_emit *e = arg;
	int64_t now = clock_mono_ms();
	char key[24];
	int retry_s;

	snprintf(key, sizeof(key), "%lld", (long long)session_id);
	if (guard_rate(e->cfg, GUARD_EMIT_SESSION, key, now, &retry_s) &&
	    guard_rate(e->cfg, GUARD_EMIT_ADDR, e->addr, now, &retry_s))
		return true;
	metrics_inc(METRIC_RATE_LIMITED);
	return false;
}

/* The session id of a socket.io POST, NULL for any other request. */
static const char *api_sio_post_sid(const struct config *cfg,
				    const struct request *req)
{
	const char *sid = request_param(req, "sid");
	const char *transport = request_param(req, "transport");

	if (req->method != REQUEST_POST || !api_sio_owns(cfg, req) || !sid ||
	    !transport || strcmp(transport, "polling") != 0 ||
	    !eio_sid_valid(sid))
		return NULL;
	return sid;
}

enum ecode api_sio_claim(struct api_ctx *ctx, char *const *envp, char *sid,
			 enum sio_claim *claim)
{
	struct request rq;
	const char *s;
	enum ecode rc;

	*claim = SIO_CLAIM_NONE;
	sid[0] = '\0';
	request_init(&rq);
	rc = request_parse_env(&rq, envp, ctx->cfg->base);
	if (rc == EC_OK && (s = api_sio_post_sid(ctx->cfg, &rq)) != NULL) {
		snprintf(sid, EIO_SID_LEN + 1, "%s", s);
		rc = sio_session_post_claim(ctx->st, sid, clock_wall_ms(),
					    claim);
	}
	request_release(&rq);
	/* A request that cannot be read is answered by its handler. */
	return rc == EC_INVALID_PARAM || rc == EC_HEADERS_TOO_LARGE ? EC_OK
								    : rc;
}

enum ecode api_sio_release(struct api_ctx *ctx, const char *sid)
{
	return sio_session_post_release(ctx->st, sid);
}

static enum ecode api_sio_post(struct api_ctx *ctx, const char *sid,
			       const struct sio_settings *set,
			       const struct request *req,
			       const struct store_session *user,
			       struct response *res)
{
	enum sio_claim claim = ctx->sio_claim;
	enum sio_post_result result;
	enum ecode rc;

	ctx->sio_claim = SIO_CLAIM_NONE; /* sio_session_post() ends it */
	if (claim == SIO_CLAIM_DUPLICATE)
		return api_sio_error(res, 400, EIO_ERR_REQUEST);
	rc = sio_session_post(
		ctx->st, set, sid, req->body.data ? req->body.data : "",
		req->body.len, user, claim, clock_wall_ms(), &result);
	if (rc != EC_OK)
		return rc;
	if (result == SIO_POST_UNKNOWN)
		return api_sio_error(res, 400, EIO_ERR_SID);
	if (result == SIO_POST_BAD || result == SIO_POST_DUPLICATE)
		return api_sio_error(res, 400, EIO_ERR_REQUEST);
	return api_sio_text(res, "ok", 2);
}

static enum ecode api_sio_route(struct api_ctx *ctx, struct request *req,
				enum ecode pre_rc, struct response *res,
				struct api_wait *wait, bool *parked)
{
	const char *transport, *eio, *sid;
	struct sio_settings set;
	struct store_session user;
	bool signed_in = false;
	enum ecode rc;

	struct api_sio_emit emit = { ctx->cfg, guard_addr(req) };

	*parked = false;
	api_sio_settings(ctx->cfg, &set);
	set.emit_allowed = api_sio_emit_allowed;
	set.emit_ctx = &emit;
	if (pre_rc == EC_TOO_LARGE) {
		response_status(res, 413);
		return EC_OK;
	}
	if (pre_rc != EC_OK)
		return api_sio_error(res, 400, EIO_ERR_REQUEST);
	transport = request_param(req, "transport");
	eio = request_param(req, "EIO");
	sid = request_param(req, "sid");
	log_debug("sio: %s sid=%s", req->method_name, sid ? sid : "-");
	if (!transport || strcmp(transport, "polling") != 0)
		return api_sio_error(res, 400, EIO_ERR_TRANSPORT);
	if (!sid) {
		if (req->method != REQUEST_GET)
			return api_sio_error(res, 400, EIO_ERR_METHOD);
		if (!eio || strcmp(eio, "4") != 0)
			return api_sio_error(res, 400, EIO_ERR_VERSION);
	} else if (!eio_sid_valid(sid)) {
		return api_sio_error(res, 400, EIO_ERR_SID);
	}
	if (!api_sio_origin_ok(req))
		return api_sio_error(res, 403, EIO_ERR_FORBIDDEN);
	if ((rc = api_sio_user(ctx, req, &user, &signed_in)) != EC_OK)
		return rc;
	if (!sid) {
		struct buf payload;

		buf_init(&payload, 1024);
		rc = sio_session_open(ctx->st, &set, signed_in ? user.id : 0,
				      clock_wall_ms(), &payload);
		if (rc == EC_OK)
			rc = api_sio_text(res, payload.data, payload.len);
		buf_release(&payload);
		return rc;
	}
	if (req->method == REQUEST_GET)
		return api_sio_get(ctx, sid, &set, signed_in ? user.id : 0, res,
				   wait, parked);
	if (req->method == REQUEST_POST)
		return api_sio_post(ctx, sid, &set, req,
				    signed_in ? &user : NULL, res);
	return api_sio_error(res, 400, EIO_ERR_REQUEST);
}

enum ecode api_sio_handle(struct api_ctx *ctx, struct request *req,
			  enum ecode pre_rc, struct response *res,
			  struct api_wait *wait, bool *parked)
{
	enum ecode rc = api_sio_route(ctx, req, pre_rc, res, wait, parked);
	const char *sid;

	/* Refused before its payload was taken (413, Origin...): the POST's
	 * claim must not outlive it. */
	if (ctx->sio_claim == SIO_CLAIM_HELD &&
	    (sid = api_sio_post_sid(ctx->cfg, req)) != NULL) {
		enum ecode rc2 = api_sio_release(ctx, sid);

		if (rc2 != EC_OK)
			log_warn("sio: releasing a POST's claim: %s",
				 ecode_name(rc2));
	}
	ctx->sio_claim = SIO_CLAIM_NONE;
	return rc;
}
