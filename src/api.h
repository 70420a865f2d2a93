/* api.h -- one handler per route; the only place errors become HTTP.
 *
 * The transport (fcgi.c, cgi.c) parses the request, reads the body and calls
 * api_handle() on its own thread with its own store connection.  The result
 * follows lighttpd's handler convention:
 *   API_FINISHED        res holds the whole response: write it, end.
 *   API_WAIT_FOR_EVENT  res holds what must be written now (SSE: head,
 *                       retry, maybe the snapshot; poll: nothing), then the
 *                       transport parks the connection in the hub with *wait.
 * A replay (Last-Event-ID, poll since=<old id>) is never built here: the
 * request parks with its old cursor and the hub's catch-up sends it from
 * the store in batches, at the pace the client reads (hub.h).
 *
 * Every error becomes {"error":"<code>","message":"<text>"} with its status
 * through one table (api.c, api_errors[]).
 */
#ifndef EMITCGI_API_H
#define EMITCGI_API_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "error.h"
#include "hub.h"
#include "request.h"
#include "response.h"
#include "sio_session.h"

struct store;

/* Login throttles (issue 9, docs/SECURITY.md), each per window of
 * API_LOGIN_WINDOW_MS: failures per (name, address) lock that pair; per
 * address lock the address (spraying across names); per name, a much
 * higher ceiling, past which attempts on the name are spaced
 * API_LOGIN_BACKOFF_MS apart instead of refused for the window, so the
 * owner's right password still gets through. */
#define API_LOGIN_MAX_FAILURES 10	 /* per (name, address) */
#define API_LOGIN_MAX_ADDR_FAILURES 50	 /* per address */
#define API_LOGIN_NAME_BACKOFF_AFTER 100 /* per name */
#define API_LOGIN_BACKOFF_MS 2000
#define API_LOGIN_WINDOW_MS (15 * 60 * 1000)

struct api_ctx {
	const struct config *cfg;
	struct store *st; /* this thread's connection */
	struct hub *hub;  /* NULL in plain CGI mode */
	/* Plain CGI (hub NULL): asked once a request is about to wait; false
	 * answers 503 (issue 9: a cap across CGI processes, cgi.c).  NULL:
	 * waits are always allowed. */
	bool (*wait_room)(void *arg);
	void *wait_room_arg;
	/* What the transport's early step (api_sio_claim()) said for this
	 * request; SIO_CLAIM_NONE when there was none.  Set around one
	 * api_serve_buffered() call. */
	enum sio_claim sio_claim;
};

enum api_result {
	API_FINISHED,
	API_WAIT_FOR_EVENT,
};

struct api_wait {
	enum hub_kind kind;
	int64_t cursor;
	int64_t session_id;
	int timeout_ms;
	int64_t user_id; /* for the hub's per-user cap (issue 9) */
	/* The events after cursor are there already (a replay): the hub
	 * answers at once from its catch-up, so no room is needed. */
	bool immediate;
	int64_t sio_id; /* HUB_SIO: the session's row */
	/* issue 8, HUB_POLL: the session as this request found it, for the
	 * transport's session cache (session_cache.h, conn_fast.c); only
	 * when cacheable.  seen_ms: the last_seen the store now holds at
	 * least (after presence_seen()). */
	bool cacheable;
	char sid_key[REQUEST_SID_HEX_LEN + 1];
	int64_t expires_ms;
	int64_t seen_ms;
};

/* pre_rc is what the transport met before (EC_OK, or EC_TOO_LARGE for a body
 * past REQUEST_BODY_MAX_BYTES, or request_parse_env()'s error); the answer
 * to it is given here so that every error has one shape. */
enum api_result api_handle(struct api_ctx *ctx, struct request *req,
			   enum ecode pre_rc, struct response *res,
			   struct api_wait *wait);

/* Reads up to len bytes of request body: > 0 bytes read, 0 at the end,
 * < 0 on error. */
typedef long api_read_fn(void *io, char *data, size_t len);

/* The whole of a request for a transport: parses envp (the CGI variables),
 * reads the body through read_body (at most REQUEST_BODY_MAX_BYTES are kept;
 * a larger body is read up to API_DRAIN_MAX_BYTES and discarded so the web
 * server sees our 413, not a broken pipe) and calls api_handle().  req must
 * be request_init()ed; the caller releases it. */
enum api_result api_serve(struct api_ctx *ctx, struct request *req,
			  char *const *envp, api_read_fn *read_body, void *io,
			  struct response *res, struct api_wait *wait);

#define API_DRAIN_MAX_BYTES (1u << 20)

/* The same for a transport that has read the request whole already (the
 * event loop, conn.c): envp parsed here, body (len <= REQUEST_BODY_MAX_BYTES)
 * copied into req; pre_rc as for api_handle() (EC_TOO_LARGE when the body
 * was larger, EC_HEADERS_TOO_LARGE when the params were). */
/* The most body bytes a request may bring: REQUEST_BODY_MAX_BYTES, or
 * EMITCGI_SIO_MAX_PAYLOAD on the socket.io path (its payloads are raw
 * text).  req needs only its uri_path (request_parse_env()). */
size_t api_body_max(const struct config *cfg, const struct request *req);

enum api_result api_serve_buffered(struct api_ctx *ctx, struct request *req,
				   char *const *envp, const void *body,
				   size_t len, enum ecode pre_rc,
				   struct response *res, struct api_wait *wait);

/* Fills res with the error answer for rc (message may be NULL for the
 * table's text).  Also used by the transports for 503 at capacity. */
void api_error(struct response *res, enum ecode rc, const char *message);

/* The message of api_errors[] for rc (what api_error() would say). */
const char *api_error_text(enum ecode rc);

#endif
