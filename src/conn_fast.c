/* conn_fast.c -- the worker-free re-poll (issue 8; see conn_int.h).
 *
 * A long-poll client re-polls with since=<the id it just got> as soon as
 * an answer comes.  When the hub is at that id, the whole of what a
 * worker would do (api_poll(): the session from the store, presence,
 * the snapshot, the reset check) comes to "park it": nothing is due, the
 * snapshot is the hub's newest id, and the session was read moments ago.
 * So the loop parks such a request itself, with no hand-off, no SQLite
 * and no lock, when all of these hold:
 *
 *   - the request is GET <base>/poll (request_parse_env() and
 *     router_match(), the very code a worker runs), no body, a valid
 *     since and a timeout above 0;
 *   - since is the hub's newest id (the poll waits), or at most
 *     CONN_FAST_BEHIND_MAX (and the retention) behind it with every event
 *     after it in the hub's ring, ids one after the other
 *     (hub_poll_ring_follows()): no reset is due and the hub answers at
 *     once from memory;
 *   - the hub is current (hub_sessions_current(): every commit that
 *     returned before now, in any process, has been read, so any logout,
 *     reap or login is already in the generation).  The notify
 *     descriptor is looked at once per batch of events: a request that
 *     passed every other test waits on cs->fast_q for the loop's tick
 *     (conn_fast_run()), which runs after every request of the batch was
 *     read, looks once, and parks them all (or hands them to workers);
 *   - the session is in the cache under that generation, not expired, and
 *     presence_seen() would write nothing for it (seen within idle / 4):
 *     the presence invariant of presence.c holds without a write;
 *   - there is room (hub_has_room(), hub_has_room_for(); hub_park() counts
 *     again under its lock).
 *
 * Anything else goes to a worker as before, which is always right; its
 * answer refills the cache (conn_fast_learn()) unless the generation moved
 * while it ran (a session may have ended after it read the store).
 *
 * May call: request.h, router.h, api.h (api_sio_owns), auth.h, hub.h,
 * presence.h (the write test), session_cache.h, metrics.h, clock.h and
 * conn.c's helpers; no socket call.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "api_sio.h"
#include "auth.h"
#include "clock.h"
#include "conn_int.h"
#include "hub.h"
#include "metrics.h"
#include "presence.h"
#include "request.h"
#include "router.h"

/* A poll this many events behind the newest is still answered here. */
#define CONN_FAST_BEHIND_MAX 64

/* ---- a cheap look before the parse ---- */

struct conn_fast_scan {
	bool get;
	bool poll;
};

static bool conn_fast_scan_pair(void *ctx, const char *name, size_t name_len,
				const char *value, size_t value_len)
{
	struct conn_fast_scan *s = ctx;
	size_t path_len;

	if (name_len == 14 && memcmp(name, "REQUEST_METHOD", 14) == 0) {
		s->get = value_len == 3 && memcmp(value, "GET", 3) == 0;
	} else if (name_len == 11 && memcmp(name, "REQUEST_URI", 11) == 0) {
		const char *q = memchr(value, '?', value_len);

		path_len = q ? (size_t)(q - value) : value_len;
		s->poll = path_len >= 5 &&
			  memcmp(value + path_len - 5, "/poll", 5) == 0;
	}
	return true;
}

/* ---- the fast path ---- */

/* The request's since and timeout, as api_poll() reads them; false for
 * anything api_poll() would answer otherwise (a missing or bad since, a
 * bad timeout, timeout=0). */
static bool conn_fast_params(const struct config *cfg, const struct request *rq,
			     int64_t *since, int64_t *timeout)
{
	const char *since_text = request_param(rq, "since");
	const char *timeout_text = request_param(rq, "timeout");

	*timeout = cfg->poll_timeout_s;
	if (!since_text || request_parse_id(since_text, since) != EC_OK)
		return false;
	if (timeout_text && request_parse_id(timeout_text, timeout) != EC_OK)
		return false;
	if (*timeout > cfg->poll_timeout_s)
		*timeout = cfg->poll_timeout_s;
	return *timeout > 0;
}

/* A request that passed every test but the last, waiting for the tick. */
struct conn_fast_q {
	struct list link; /* cs->fast_q */
	struct conn *c;
	uint64_t gen; /* the sessions generation the cache answered under */
	int64_t cursor;
	int64_t session_id;
	int64_t user_id;
	int timeout_ms;
};

/* At the head it waits; a few events behind (it re-polls after the next
 * broadcast went out) the hub answers it at once from the ring, as
 * api_poll() would when nothing is missing: ids follow each other and
 * every one of them is within the retention. */
static bool conn_fast_cursor_ok(struct conns *cs, int64_t since,
				int64_t last_id)
{
	int64_t max = cs->cfg->retention < CONN_FAST_BEHIND_MAX
			      ? cs->cfg->retention
			      : CONN_FAST_BEHIND_MAX;

	return since == last_id || hub_poll_ring_follows(cs->hub, since, max);
}

static bool conn_fast_room(struct conns *cs, int64_t session_id,
			   int64_t user_id)
{
	return hub_has_room(cs->hub) &&
	       hub_has_room_for(cs->hub, session_id, user_id);
}

bool conn_fast_poll(struct conn *c)
{
	struct conns *cs = c->cs;
	const struct config *cfg = cs->cfg;
	struct conn_fast_scan scan = { 0 };
	struct fcgi_params_env env = { 0 };
	const struct session_cache_entry *e;
	struct conn_fast_q *q;
	struct request rq;
	enum route route;
	const char *allow;
	char key[AUTH_SID_HEX_LEN + 1];
	int64_t since, timeout, last_id, now;
	uint64_t gen;
	bool queued = false;

	if (session_cache_empty(&cs->cache) || c->refuse || cs->stopping ||
	    c->params_too_large || c->body_too_large || c->body.len > 0)
		return false;
	/* The notify descriptor is looked at once per batch, in the tick
	 * (conn_fast_run()): after every request of the batch was read. */
	if (!hub_sessions_current(cs->hub, false, &gen, &last_id))
		return false;
	if (fcgi_params_parse(c->params.data, c->params.len,
			      conn_fast_scan_pair, &scan) != EC_OK ||
	    !scan.get || !scan.poll)
		return false;
	if (fcgi_params_env(c->params.data, c->params.len, &env) != EC_OK)
		return false;
	request_init(&rq);
	if (request_parse_env(&rq, env.envp, cfg->base) != EC_OK ||
	    rq.method != REQUEST_GET || api_sio_owns(cfg, &rq) ||
	    router_match(&rq, &route, &allow) != EC_OK || route != ROUTE_POLL ||
	    !rq.has_sid || !conn_fast_params(cfg, &rq, &since, &timeout) ||
	    auth_sid_hash(rq.sid, key) != EC_OK ||
	    !conn_fast_cursor_ok(cs, since, last_id))
		goto out;
	now = clock_wall_ms();
	e = session_cache_get(&cs->cache, key, gen, now);
	if (!e ||
	    !presence_seen_skips(true, e->seen_ms,
				 (int64_t)cfg->presence_timeout_s * 1000,
				 now) ||
	    !conn_fast_room(cs, e->session_id, e->user_id))
		goto out;
	if (!(q = malloc(sizeof(*q))))
		goto out;
	*q = (struct conn_fast_q){
		.c = c,
		.gen = gen,
		.cursor = since,
		.session_id = e->session_id,
		.user_id = e->user_id,
		.timeout_ms = (int)timeout * 1000,
	};
	/* As for a job: out of the deadline FIFOs, watched for a hang-up
	 * (then ORPHAN), its params kept for a worker if the tick says no. */
	c->state = CONN_BUSY;
	list_del(&c->link);
	list_init(&c->link);
	list_append(&cs->fast_q, &q->link);
	queued = true;
out:
	request_release(&rq);
	fcgi_params_env_free(&env);
	return queued;
}

/* The last tests, under the hub's state now, and the park. */
static bool conn_fast_park(struct conns *cs, const struct conn_fast_q *q,
			   bool current, uint64_t gen, int64_t last_id)
{
	struct conn *c = q->c;
	struct hub_waiter_spec spec = {
		.kind = HUB_POLL,
		.sink = HUB_SINK_FCGI,
		.fd = c->io.fd,
		.in_fd = -1,
		.request_id = c->request_id,
		.cursor = q->cursor,
		.session_id = q->session_id,
		.user_id = q->user_id,
		.timeout_ms = q->timeout_ms,
		.keep_conn = c->keep,
		.registered = true,
	};

	/* A "user" event read since the look-up may have ended the
	 * session: the generation moved, a worker asks the store. */
	if (!current || q->gen != gen || cs->stopping ||
	    !conn_fast_cursor_ok(cs, q->cursor, last_id) ||
	    !conn_fast_room(cs, q->session_id, q->user_id))
		return false;
	if (hub_park(cs->hub, &spec) != EC_OK)
		return false; /* a worker answers it (503 at capacity) */
	/* What api_handle() and api_poll() count for a parked poll. */
	metrics_inc(METRIC_POLLS);
	metrics_inc(METRIC_REQUESTS);
	metrics_inc(METRIC_FAST_POLLS);
	conn_parked(c);
	return true;
}

void conn_fast_run(struct conns *cs)
{
	int64_t last_id;
	uint64_t gen;
	bool current;

	if (list_empty(&cs->fast_q))
		return;
	current = hub_sessions_current(cs->hub, true, &gen, &last_id);
	while (!list_empty(&cs->fast_q)) {
		struct conn_fast_q *q =
			container_of(cs->fast_q.next, struct conn_fast_q, link);
		struct conn *c = q->c;

		list_del(&q->link);
		if (c->state == CONN_ORPHAN)
			conn_free(c); /* the web server hung up meanwhile */
		else if (!conn_fast_park(cs, q, current, gen, last_id))
			conn_dispatch_job(c);
		free(q);
	}
}

void conn_fast_drop_all(struct conns *cs)
{
	while (!list_empty(&cs->fast_q)) {
		struct conn_fast_q *q =
			container_of(cs->fast_q.next, struct conn_fast_q, link);

		/* The process is ending: the fd goes with it, as for a
		 * connection a worker holds (conns_free()). */
		list_del(&q->link);
		conn_free(q->c);
		free(q);
	}
}

void conn_fast_learn(struct conns *cs, const struct conn_job *job)
{
	const struct api_wait *w = &job->wait;
	struct session_cache_entry e;

	if (job->result != API_WAIT_FOR_EVENT || w->kind != HUB_POLL ||
	    !w->cacheable || job->cache_gen != hub_sessions_gen(cs->hub))
		return;
	memset(&e, 0, sizeof(e));
	memcpy(e.key, w->sid_key, sizeof(e.key));
	e.gen = job->cache_gen;
	e.session_id = w->session_id;
	e.user_id = w->user_id;
	e.expires_ms = w->expires_ms;
	e.seen_ms = w->seen_ms;
	/* Out of memory: nothing cached, every poll takes a worker. */
	(void)session_cache_put(&cs->cache, &e);
}
