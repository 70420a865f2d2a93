/* router.c -- request path and method → route (see router.h).
 *
 * One table row per route: the path (under EMITCGI_BASE, or the whole
 * uri_path for rows marked outside), the one method it serves and whether
 * HEAD is served too.  router_match() looks the path up first and checks the
 * method second, so a known path with the wrong method is 405 with the
 * row's Allow value and an unknown path is 404 whatever the method.
 *
 * HEAD: allowed wherever GET is (RFC 9110 section 9.3.2), except on the
 * streaming routes, where a HEAD would have to park like a GET for nothing.
 *
 * Paths are compared byte for byte (no percent-decoding: routes are plain
 * ASCII, request.h); one trailing slash is tolerated under the base.
 *
 * To add a route: a value in enum route (router.h) and a row below.
 */
#include "autoconfig.h"

#include <stdbool.h>
#include <string.h>

#include "router.h"

struct router_row {
	enum route route;
	const char *name;
	const char *path;
	enum request_method method; /* REQUEST_GET or REQUEST_POST */
	bool head;		    /* HEAD served as GET */
	bool outside_base;	    /* matched on uri_path, exactly */
};

static const struct router_row router_table[] = {
	{ ROUTE_REGISTER, "register", "/register", REQUEST_POST, false, false },
	{ ROUTE_LOGIN, "login", "/login", REQUEST_POST, false, false },
	{ ROUTE_LOGOUT, "logout", "/logout", REQUEST_POST, false, false },
	{ ROUTE_ME, "me", "/me", REQUEST_GET, true, false },
	{ ROUTE_COUNT, "count", "/count", REQUEST_GET, true, false },
	{ ROUTE_EVENTS, "events", "/events", REQUEST_GET, false, false },
	{ ROUTE_POLL, "poll", "/poll", REQUEST_GET, false, false },
	{ ROUTE_HEALTH, "health", "/health", REQUEST_GET, true, false },
	{ ROUTE_METRICS, "metrics", "/metrics", REQUEST_GET, true, false },
	{ ROUTE_EMIT, "emit", "/emit", REQUEST_POST, false, false },
	{ ROUTE_FCC_SERVER_JS, "server_js", "/_api/server.js", REQUEST_GET,
	  true, true },
};

#define ROUTER_ROWS (sizeof(router_table) / sizeof(router_table[0]))

/* path equals want, or want + "/". */
static bool router_path_eq(const char *path, const char *want, bool slash)
{
	size_t n = strlen(want);

	if (strncmp(path, want, n) != 0)
		return false;
	return path[n] == '\0' || (slash && path[n] == '/' && !path[n + 1]);
}

static const char *router_allow(const struct router_row *row)
{
	if (row->method == REQUEST_POST)
		return "POST";
	return row->head ? "GET, HEAD" : "GET";
}

enum ecode router_match(const struct request *req, enum route *route,
			const char **allow)
{
	const struct router_row *row = NULL;
	size_t i;

	*route = ROUTE_NONE;
	*allow = NULL;
	for (i = 0; i < ROUTER_ROWS && !row; i++) {
		const struct router_row *r = &router_table[i];

		if (r->outside_base) {
			if (req->uri_path &&
			    router_path_eq(req->uri_path, r->path, false))
				row = r;
		} else if (req->in_base && req->path &&
			   router_path_eq(req->path, r->path,
					  r->route != ROUTE_METRICS)) {
			/* issue 9: no /metrics/ alias, which a front
			 * server's rule for /api/metrics would not cover */
			row = r;
		}
	}
	if (!row)
		return EC_NOT_FOUND;
	if (req->method == row->method ||
	    (row->head && req->method == REQUEST_HEAD)) {
		*route = row->route;
		return EC_OK;
	}
	*allow = router_allow(row);
	return EC_METHOD_NOT_ALLOWED;
}

const char *router_name(enum route route)
{
	size_t i;

	for (i = 0; i < ROUTER_ROWS; i++)
		if (router_table[i].route == route)
			return router_table[i].name;
	return "none";
}
