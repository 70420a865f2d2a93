/* guard.h -- who may pass (issue 9): rate limits, login throttles, origins,
 * metrics access.  Decisions only: api.c turns a refusal into HTTP (429 +
 * Retry-After, 403).
 *
 *   if (!guard_rate(cfg, GUARD_LOGIN, guard_addr(req), now_mono, &retry))
 *           429, Retry-After: retry
 *   guard_login_keys(name, guard_addr(req), &k);
 *   guard_login_check(st, &k, now, &retry)   EC_THROTTLED or EC_OK
 *   guard_login_failed(st, &k, now)          after a wrong password
 *   guard_check_origin(cfg, req)             EC_FORBIDDEN or EC_OK
 *   guard_metrics_allowed(cfg, req)          /metrics, /health details
 *
 * Rate limits are token buckets (ratelimit.h) kept per process, made at the
 * first call from cfg (one config per process).  Login throttles live in
 * the store (store_login_failure*), so they hold across processes and in
 * plain CGI.  The policy is in docs/SECURITY.md; its numbers in api.h
 * (API_LOGIN_*).  Thread-safe.  May call: ratelimit.h, store.h, auth.h.
 */
#ifndef EMITCGI_GUARD_H
#define EMITCGI_GUARD_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "error.h"
#include "request.h"
#include "store.h"

enum guard_limit {
	GUARD_EMIT_SESSION, /* EMITCGI_RATE_EMIT, per session */
	GUARD_EMIT_ADDR,    /* GUARD_EMIT_ADDR_FACTOR times that, per address */
	GUARD_LOGIN,	    /* EMITCGI_RATE_LOGIN, per address */
	GUARD_REGISTER,	    /* EMITCGI_RATE_REGISTER, per address */
	GUARD__COUNT
};

/* Per address, POST /emit allows this many times the per-session rate: a
 * front proxy or a NAT puts many users behind one address. */
#define GUARD_EMIT_ADDR_FACTOR 10

/* Takes a token of limit `which` for id (a session id, an address).  false
 * when none is left: *retry_after_s gets the seconds until one is.
 * now_ms is monotonic.  Out of memory allows everything. */
bool guard_rate(const struct config *cfg, enum guard_limit which,
		const char *id, int64_t now_ms, int *retry_after_s);

/* REMOTE_ADDR, or "-" when the server gave none. */
const char *guard_addr(const struct request *req);

/* The throttle keys of one attempt (store.h, STORE_FAIL_KEY_MAX). */
struct guard_login_keys {
	char pair[STORE_FAIL_KEY_MAX + 1];    /* "ua:NAME ADDR" */
	char addr[STORE_FAIL_KEY_MAX + 1];    /* "a:ADDR" */
	char name[STORE_FAIL_KEY_MAX + 1];    /* "u:NAME" */
	char backoff[STORE_FAIL_KEY_MAX + 1]; /* "b:NAME" */
};

void guard_login_keys(const char *username, const char *addr,
		      struct guard_login_keys *k);

/* EC_THROTTLED (and *retry_after_s) when the pair or the address is past
 * its ceiling, or the name past its own and inside its back-off; EC_OK;
 * or a store error. */
enum ecode guard_login_check(struct store *st, const struct guard_login_keys *k,
			     int64_t now_ms, int64_t *retry_after_s);

/* Counts one failure under every key (the back-off key once the name is
 * past its ceiling).  EC_OK or a store error. */
enum ecode guard_login_failed(struct store *st,
			      const struct guard_login_keys *k, int64_t now_ms);

/* SPEC: a POST whose Origin names another host is refused; with
 * EMITCGI_ORIGINS the Origin must be one of them.  EC_FORBIDDEN or EC_OK. */
enum ecode guard_check_origin(const struct config *cfg,
			      const struct request *req);

/* The bearer token, or loopback with EMITCGI_METRICS_LOOPBACK=1. */
bool guard_metrics_allowed(const struct config *cfg, const struct request *req);

#endif
