/* api_account.c -- the account routes: POST /register, /login, /logout
 * and GET /me, and the session cookie they set (see api_int.h).
 *
 * A login is login.c's composition (session + "user count" in one store
 * transaction); the cookie holds the session id, the store only its hash
 * (auth.c, issue 9).  Nothing is stored before every check has passed.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <string.h>

#include "api.h"
#include "api_int.h"
#include "auth.h"
#include "clock.h"
#include "log.h"
#include "login.h"
#include "metrics.h"
#include "presence.h"

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

enum ecode api_register(struct api_ctx *ctx, struct request *req,
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

enum ecode api_login(struct api_ctx *ctx, struct request *req,
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

enum ecode api_logout(struct api_ctx *ctx, struct request *req,
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

enum ecode api_me(struct api_ctx *ctx, struct request *req,
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
