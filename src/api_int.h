/* api_int.h -- what api.c shares with the files of its handlers
 * (api_account.c, api_stream.c, api_status.c).  Not for any other module:
 * the rest of the program sees api.h only.
 *
 * api.c owns the error table, dispatch and the transport-independent
 * serving of a request; each handler file owns a family of routes:
 *   api_account.c  POST /register, /login, /logout; GET /me; the cookie
 *   api_stream.c   GET /events, /poll (resume, snapshot, parking); POST /emit
 *   api_status.c   GET /count, /health, /metrics, /_api/server.js
 * A handler returns an enum ecode: EC_OK when it filled the response, any
 * other code becomes the error answer of api.c's table.  To add a route:
 * a row in router.c, a handler in the file of its family (declared here),
 * a case in api_dispatch().
 */
#ifndef EMITCGI_API_INT_H
#define EMITCGI_API_INT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "api.h"
#include "guard.h"
#include "store.h"

/* ---- helpers of api.c ---- */

/* res gets status and obj serialised as its JSON body; takes obj. */
enum ecode api_send_json(struct response *res, int status,
			 struct json_object *obj);
/* json_object_object_add() that takes val even on failure; EC_NOMEM. */
enum ecode api_add(struct json_object *obj, const char *key,
		   struct json_object *val);
/* The signed-in session of the request's cookie; EC_UNAUTHORIZED. */
enum ecode api_session(struct api_ctx *ctx, const struct request *req,
		       struct store_session *s);
/* A refusal with Retry-After (429, 503): rc with its header. */
enum ecode api_refuse_after(struct response *res, enum ecode rc,
			    int64_t retry_after_s);
/* guard.c's decisions as HTTP (issue 9): a token bucket, the login
 * throttle before a password check, and a failure counted after one. */
enum ecode api_rate(struct api_ctx *ctx, enum guard_limit which, const char *id,
		    struct response *res);
enum ecode api_login_throttled(struct api_ctx *ctx,
			       const struct guard_login_keys *k, int64_t now,
			       struct response *res);
enum ecode api_login_failed(struct api_ctx *ctx,
			    const struct guard_login_keys *k, int64_t now);

/* ---- handlers ---- */

/* api_account.c */
enum ecode api_register(struct api_ctx *ctx, struct request *req,
			struct response *res);
enum ecode api_login(struct api_ctx *ctx, struct request *req,
		     struct response *res);
enum ecode api_logout(struct api_ctx *ctx, struct request *req,
		      struct response *res);
enum ecode api_me(struct api_ctx *ctx, struct request *req,
		  struct response *res);
/* api_stream.c: a stream always parks; a poll sets *parked when it must
 * wait (or is answered by the hub's catch-up). */
enum ecode api_events(struct api_ctx *ctx, struct request *req,
		      struct response *res, struct api_wait *wait);
enum ecode api_poll(struct api_ctx *ctx, struct request *req,
		    struct response *res, struct api_wait *wait, bool *parked);
enum ecode api_emit(struct api_ctx *ctx, struct request *req,
		    struct response *res);
/* api_status.c */
enum ecode api_count(struct api_ctx *ctx, struct request *req,
		     struct response *res);
enum ecode api_health(struct api_ctx *ctx, struct request *req,
		      struct response *res);
enum ecode api_metrics(struct api_ctx *ctx, struct request *req,
		       struct response *res);
enum ecode api_fcc_server_js(struct api_ctx *ctx, struct request *req,
			     struct response *res);

#endif
