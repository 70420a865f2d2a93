/* runtime.c -- what the FastCGI server and plain CGI share (see runtime.h).
 *
 * Owns nothing long-lived but the notify handle; it only wires modules
 * together: store commits to hub_events_committed() and notify_poke(),
 * presence_tick() to hub_end_sessions(), the configuration to the hub's
 * options.  It may call store, presence, hub, notify, response and log;
 * nothing calls it but the transports (fcgi.c, cgi.c).
 */
#include "autoconfig.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include "api_sio.h"
#include "clock.h"
#include "log.h"
#include "notify.h"
#include "presence.h"
#include "runtime.h"
#include "store.h"

enum ecode runtime_init(struct runtime *rt, const struct config *cfg)
{
	rt->cfg = cfg;
	rt->hub = NULL;
	rt->notify = NULL;
	return notify_open(cfg->db_path, false, &rt->notify);
}

void runtime_release(struct runtime *rt)
{
	if (rt->notify)
		notify_close(rt->notify);
	rt->notify = NULL;
	rt->hub = NULL;
}

void runtime_set_hub(struct runtime *rt, struct hub *hub)
{
	rt->hub = hub;
}

void runtime_committed(void *ctx)
{
	struct runtime *rt = ctx;

	if (rt->hub)
		hub_events_committed(rt->hub);
	notify_poke(rt->notify);
}

enum ecode runtime_store_open(struct runtime *rt, struct store **out)
{
	enum ecode rc = store_open(rt->cfg->db_path, out);

	if (rc != EC_OK)
		return rc;
	store_set_commit_hook(*out, runtime_committed, rt);
	return EC_OK;
}

void runtime_hub_options(const struct runtime *rt, struct hub_options *out)
{
	*out = (struct hub_options){
		.db_path = rt->cfg->db_path,
		.heartbeat_ms = rt->cfg->heartbeat_s * 1000,
		.stream_max_ms = rt->cfg->stream_max_s * 1000,
		.max_waiters = rt->cfg->max_subscribers,
		.touch_every_ms = RUNTIME_HOUSEKEEPING_MS,
		.max_per_session = rt->cfg->max_waiters_per_session,
		.max_per_user = rt->cfg->max_waiters_per_user,
	};
	api_sio_settings(rt->cfg, &out->sio);
}

void runtime_housekeep(struct runtime *rt, struct store *st,
		       const int64_t *parked, size_t n, int64_t *ended)
{
	int64_t idle_ms = (int64_t)rt->cfg->presence_timeout_s * 1000;
	size_t n_ended = 0;
	enum ecode rc;

	rc = presence_tick(st, parked, n, idle_ms, clock_wall_ms(), NULL, ended,
			   &n_ended);
	if (rc != EC_OK)
		log_warn("presence: %s", ecode_name(rc));
	else if (rt->hub)
		hub_end_sessions(rt->hub, ended, n_ended);
	/* Cheap when there is nothing to trim: a read, no lock. */
	rc = store_trim(st, rt->cfg->retention, NULL);
	if (rc != EC_OK)
		log_warn("retention: %s", ecode_name(rc));
}

void runtime_signals_block(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

void runtime_answer(struct response *res, enum api_result *result,
		    struct buf *out)
{
	if (*result == API_WAIT_FOR_EVENT && res->status == 0)
		return; /* a parked poll: the hub answers it */
	if (response_serialize(res, out) == EC_OK)
		return;
	buf_reset(out);
	buf_adds(out, "Status: 500 Internal Server Error\r\n\r\n");
	*result = API_FINISHED;
}

void runtime_die(const char *why)
{
	log_error("%s: ending the process", why);
	_exit(1);
}
