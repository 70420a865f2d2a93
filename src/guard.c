/* guard.c -- who may pass: rate limits, login throttles, origins, metrics
 * access (see guard.h; the policy in docs/SECURITY.md).
 *
 * Invariants: decisions only, no HTTP; the token buckets are made once per
 * process under a mutex at the first call (config does not change after
 * start); a comparison with a secret (the metrics token) is constant-time
 * (auth_token_equal()).
 */
#include "autoconfig.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "auth.h"
#include "guard.h"
#include "ratelimit.h"

#define GUARD_RATELIMIT_SLOTS 8192

static pthread_mutex_t guard_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ratelimit *guard_limits[GUARD__COUNT];
static bool guard_ready;

static const char *const guard_tags[GUARD__COUNT] = {
	[GUARD_EMIT_SESSION] = "s",
	[GUARD_EMIT_ADDR] = "a",
	[GUARD_LOGIN] = "l",
	[GUARD_REGISTER] = "r",
};

static struct ratelimit *guard_limit(const struct config *cfg,
				     enum guard_limit which)
{
	struct ratelimit *rl;

	pthread_mutex_lock(&guard_lock);
	if (!guard_ready) {
		int emit_addr =
			cfg->rate_emit > INT32_MAX / GUARD_EMIT_ADDR_FACTOR
				? INT32_MAX
				: cfg->rate_emit * GUARD_EMIT_ADDR_FACTOR;

		/* NULL (no memory) allows everything: a limit must never
		 * take the service down. */
		guard_limits[GUARD_EMIT_SESSION] =
			ratelimit_new(cfg->rate_emit, GUARD_RATELIMIT_SLOTS);
		guard_limits[GUARD_EMIT_ADDR] =
			ratelimit_new(emit_addr, GUARD_RATELIMIT_SLOTS);
		guard_limits[GUARD_LOGIN] =
			ratelimit_new(cfg->rate_login, GUARD_RATELIMIT_SLOTS);
		guard_limits[GUARD_REGISTER] = ratelimit_new(
			cfg->rate_register, GUARD_RATELIMIT_SLOTS);
		guard_ready = true;
	}
	rl = guard_limits[which];
	pthread_mutex_unlock(&guard_lock);
	return rl;
}

bool guard_rate(const struct config *cfg, enum guard_limit which,
		const char *id, int64_t now_ms, int *retry_after_s)
{
	char key[RATELIMIT_KEY_MAX + 1];

	if ((unsigned)which >= GUARD__COUNT)
		return true;
	snprintf(key, sizeof(key), "%s:%s", guard_tags[which], id ? id : "");
	return ratelimit_take(guard_limit(cfg, which), key, now_ms,
			      retry_after_s);
}

const char *guard_addr(const struct request *req)
{
	return req->remote_addr && *req->remote_addr ? req->remote_addr : "-";
}

/* ---- login throttles ---- */

void guard_login_keys(const char *username, const char *addr,
		      struct guard_login_keys *k)
{
	snprintf(k->pair, sizeof(k->pair), "ua:%s %s", username, addr);
	snprintf(k->addr, sizeof(k->addr), "a:%s", addr);
	snprintf(k->name, sizeof(k->name), "u:%s", username);
	snprintf(k->backoff, sizeof(k->backoff), "b:%s", username);
}

/* Keys "ua:NAME ADDR" and "a:ADDR" refuse for the rest of their window;
 * "u:NAME" past its much higher ceiling only spaces attempts ("b:NAME",
 * API_LOGIN_BACKOFF_MS), so an attacker elsewhere never locks the owner
 * out. */
enum ecode guard_login_check(struct store *st, const struct guard_login_keys *k,
			     int64_t now_ms, int64_t *retry_after_s)
{
	int64_t end, bend;
	int n, bn;
	enum ecode rc;

	*retry_after_s = 0;
	if ((rc = store_login_failures(st, k->pair, now_ms, &n, &end)) != EC_OK)
		return rc;
	if (n >= API_LOGIN_MAX_FAILURES)
		goto throttled;
	if ((rc = store_login_failures(st, k->addr, now_ms, &n, &end)) != EC_OK)
		return rc;
	if (n >= API_LOGIN_MAX_ADDR_FAILURES)
		goto throttled;
	if ((rc = store_login_failures(st, k->name, now_ms, &n, &end)) != EC_OK)
		return rc;
	if (n < API_LOGIN_NAME_BACKOFF_AFTER)
		return EC_OK;
	if ((rc = store_login_failures(st, k->backoff, now_ms, &bn, &bend)) !=
	    EC_OK)
		return rc;
	if (bn == 0)
		return EC_OK;
	end = bend;
throttled:
	*retry_after_s = (end - now_ms + 999) / 1000;
	return EC_THROTTLED;
}

/* Each key its own small transaction; the first error wins. */
enum ecode guard_login_failed(struct store *st,
			      const struct guard_login_keys *k, int64_t now_ms)
{
	enum ecode rc;
	int64_t end;
	int n;

	if ((rc = store_login_failure_add(st, k->pair, now_ms,
					  API_LOGIN_WINDOW_MS)) != EC_OK ||
	    (rc = store_login_failure_add(st, k->addr, now_ms,
					  API_LOGIN_WINDOW_MS)) != EC_OK ||
	    (rc = store_login_failure_add(st, k->name, now_ms,
					  API_LOGIN_WINDOW_MS)) != EC_OK ||
	    (rc = store_login_failures(st, k->name, now_ms, &n, &end)) != EC_OK)
		return rc;
	if (n >= API_LOGIN_NAME_BACKOFF_AFTER)
		rc = store_login_failure_add(st, k->backoff, now_ms,
					     API_LOGIN_BACKOFF_MS);
	return rc;
}

/* ---- origins ---- */

/* Whether origin is one of EMITCGI_ORIGINS (comma/space separated, exact,
 * ASCII case-insensitive as RFC 6454 serialises host in lower case). */
static bool guard_origin_listed(const char *list, const char *origin)
{
	size_t olen = strlen(origin);
	const char *p = list;

	while (*p) {
		size_t len;

		p += strspn(p, ", ");
		len = strcspn(p, ", ");
		if (len == olen && len && strncasecmp(p, origin, len) == 0)
			return true;
		p += len;
	}
	return false;
}

/* Origin is "scheme://host[:port]" (RFC 6454); without EMITCGI_ORIGINS its
 * authority is compared with Host.  With it, Host is not trusted at all (a
 * DNS-rebinding page controls it): Origin must be in the list. */
enum ecode guard_check_origin(const struct config *cfg,
			      const struct request *req)
{
	const char *authority;

	if (req->method != REQUEST_POST || !req->origin)
		return EC_OK;
	if (cfg->origins[0])
		return guard_origin_listed(cfg->origins, req->origin)
			       ? EC_OK
			       : EC_FORBIDDEN;
	authority = strstr(req->origin, "://");
	if (!authority || !req->host)
		return EC_FORBIDDEN;
	authority += 3;
	if (strcasecmp(authority, req->host) != 0)
		return EC_FORBIDDEN;
	return EC_OK;
}

/* ---- metrics ---- */

static bool guard_is_loopback(const char *addr)
{
	if (!addr)
		return false;
	return strncmp(addr, "127.", 4) == 0 || strcmp(addr, "::1") == 0 ||
	       strncmp(addr, "::ffff:127.", 11) == 0;
}

/* Loopback alone is enough only with EMITCGI_METRICS_LOOPBACK=1: a local
 * TLS terminator or tunnel makes every client loopback. */
bool guard_metrics_allowed(const struct config *cfg, const struct request *req)
{
	const char *token = cfg->metrics_token;

	if (cfg->metrics_loopback && guard_is_loopback(req->remote_addr))
		return true;
	return *token && req->authorization &&
	       strncasecmp(req->authorization, "Bearer ", 7) == 0 &&
	       auth_token_equal(req->authorization + 7, token);
}
