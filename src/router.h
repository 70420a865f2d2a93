/* router.h -- request path and method → route (pure, table-driven).
 *
 * Routes are matched on the request path with EMITCGI_BASE taken off
 * (request.h), so they work however a server splits SCRIPT_NAME and
 * PATH_INFO.  One trailing slash is tolerated ("/count/").  HEAD is allowed
 * wherever GET is, except on the streaming routes.
 *
 * To add a route: an enum value here and a row in router.c's table.
 */
#ifndef EMITCGI_ROUTER_H
#define EMITCGI_ROUTER_H

#include "error.h"
#include "request.h"

enum route {
	ROUTE_NONE = 0,
	ROUTE_REGISTER,	     /* POST /register */
	ROUTE_LOGIN,	     /* POST /login */
	ROUTE_LOGOUT,	     /* POST /logout */
	ROUTE_ME,	     /* GET /me */
	ROUTE_COUNT,	     /* GET /count */
	ROUTE_EVENTS,	     /* GET /events */
	ROUTE_POLL,	     /* GET /poll */
	ROUTE_HEALTH,	     /* GET /health */
	ROUTE_METRICS,	     /* GET /metrics */
	ROUTE_EMIT,	     /* POST /emit */
	ROUTE_FCC_SERVER_JS, /* GET /_api/server.js, outside the base (issue 4)
			      */
};

/* Matches req->path (or req->uri_path for routes outside the base).
 * EC_OK and *route; EC_NOT_FOUND; EC_METHOD_NOT_ALLOWED with *allow set to
 * the Allow header value (static string, e.g. "POST" or "GET, HEAD"). */
enum ecode router_match(const struct request *req, enum route *route,
			const char **allow);

/* "register", "login", ... for logs and metrics labels. */
const char *router_name(enum route route);

#endif
