/* api_sio.h -- the handlers of the EMITCGI_SIO_PATH route family: Engine.IO
 * v4 long-polling with Socket.IO v5 on top (issue 11).
 *
 * api.c hands every request whose path is EMITCGI_SIO_PATH (or it plus
 * "/") to api_sio_handle() before its router: these requests answer in
 * Engine.IO's terms (text/plain payloads, "ok", HTTP 400 with
 * {"code","message"}), not with emitcgi's JSON errors.  What a request
 * does to its session is sio_session.c's; a GET that must wait is parked
 * in the hub as HUB_SIO (hub_sio.c).
 *
 *   if (api_sio_owns(cfg, req)) rc = api_sio_handle(ctx, req, pre_rc,
 *                                                   res, wait, &parked);
 *
 * One POST at a time per session: the FastCGI transport calls
 * api_sio_claim() when a request's params are in, before its body
 * (conn_job.c); CGI, which reads the body first, checks in the POST.
 *
 * An error returned (EC_DB, EC_DB_BUSY, EC_NOMEM...) is api.c's to answer
 * (500/503); everything the protocol defines is answered here.
 */
#ifndef EMITCGI_API_SIO_H
#define EMITCGI_API_SIO_H

#include <stdbool.h>

#include "api.h"
#include "config.h"
#include "sio_session.h"

/* The request's path is EMITCGI_SIO_PATH (or it + "/"). */
bool api_sio_owns(const struct config *cfg, const struct request *req);

/* The session settings of cfg (ping interval and timeout, max payload,
 * recovery window = EMITCGI_PRESENCE_TIMEOUT). */
void api_sio_settings(const struct config *cfg, struct sio_settings *out);

/* A transport's early step, for a request whose params are read and whose
 * body is still coming: a socket.io POST claims its session
 * (sio_session_post_claim()), so that a second POST meanwhile is refused.
 * sid (EIO_SID_LEN + 1 bytes) gets the session's id for
 * api_sio_release().  Any other request: *claim = SIO_CLAIM_NONE.  The
 * claim goes to api_serve_buffered() in ctx->sio_claim. */
enum ecode api_sio_claim(struct api_ctx *ctx, char *const *envp, char *sid,
			 enum sio_claim *claim);

/* The claimed POST never came whole (connection gone, request aborted). */
enum ecode api_sio_release(struct api_ctx *ctx, const char *sid);

enum ecode api_sio_handle(struct api_ctx *ctx, struct request *req,
			  enum ecode pre_rc, struct response *res,
			  struct api_wait *wait, bool *parked);

#endif
