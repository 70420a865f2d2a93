/* cgi.c -- plain CGI, one request per process (see cgi.h).
 *
 * RFC 3875: the request is in the environment, the body on stdin
 * (CONTENT_LENGTH bytes), the answer on stdout.  A stream or a long-poll
 * parks stdout in a hub of its own (HUB_SINK_RAW, exit_when_idle), which is
 * woken by the notify file when any process commits events.  While it waits
 * this process also keeps its session online, takes idle sessions offline
 * and trims the log, as the FastCGI server's housekeeping thread does.
 */
#include "autoconfig.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "cgi.h"
#include "clock.h"
#include "hub.h"
#include "log.h"
#include "notify.h"
#include "presence.h"
#include "store.h"

extern char **environ;

struct cgi_state {
	const struct config *cfg;
	struct store *st;
	struct notify *notify;
	struct hub *hub;
};

static long cgi_read(void *io, char *data, size_t len)
{
	ssize_t n;

	do
		n = read(STDIN_FILENO, data, len);
	while (n < 0 && errno == EINTR);
	return (long)n;
}

static enum ecode cgi_write_all(const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(STDOUT_FILENO, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return EC_IO;
		data += n;
		len -= (size_t)n;
	}
	return EC_OK;
}

static void cgi_committed(void *arg)
{
	struct cgi_state *cs = arg;

	if (cs->hub)
		hub_events_committed(cs->hub);
	notify_poke(cs->notify);
}

/* Hub thread (ours): keep the waiter's session online, reap idle ones. */
static void cgi_touch(void *arg, const int64_t *ids, size_t n)
{
	struct cgi_state *cs = arg;
	int64_t ended[1];
	size_t n_ended = 0;
	enum ecode rc;

	/* One request per process: at most one parked session. */
	if (n > 1)
		n = 1;
	rc = presence_tick(cs->st, ids, n,
			   (int64_t)cs->cfg->presence_timeout_s * 1000,
			   clock_wall_ms(), NULL, ended, &n_ended);
	if (rc != EC_OK)
		log_warn("presence: %s", ecode_name(rc));
	else
		hub_end_sessions(cs->hub, ended, n_ended);
	rc = store_trim(cs->st, cs->cfg->retention, NULL);
	if (rc != EC_OK)
		log_warn("retention: %s", ecode_name(rc));
}

static void *cgi_signal_main(void *arg)
{
	struct cgi_state *cs = arg;
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigwait(&set, &sig) == 0)
		hub_stop(cs->hub);
	return NULL;
}

static int cgi_wait(struct cgi_state *cs, const struct api_wait *wait)
{
	struct hub_options opts = {
		.db_path = cs->cfg->db_path,
		.heartbeat_ms = cs->cfg->heartbeat_s * 1000,
		.stream_max_ms = cs->cfg->stream_max_s * 1000,
		.max_waiters = 1,
		.exit_when_idle = true,
		.touch = cgi_touch,
		.touch_ctx = cs,
		.touch_every_ms = 1000,
	};
	struct hub_waiter_spec spec = {
		.kind = wait->kind,
		.sink = HUB_SINK_RAW,
		.fd = STDOUT_FILENO,
		.in_fd = -1,
		.cursor = wait->cursor,
		.session_id = wait->session_id,
		.timeout_ms = wait->timeout_ms,
	};
	pthread_t sig_thread;
	bool have_sig_thread;
	sigset_t set;
	enum ecode rc;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if ((rc = hub_new(&opts, &cs->hub)) != EC_OK) {
		log_error("cannot start the hub: %s", ecode_name(rc));
		return 1;
	}
	if ((rc = hub_park(cs->hub, &spec)) != EC_OK) {
		log_error("cannot wait: %s", ecode_name(rc));
		hub_free(cs->hub);
		cs->hub = NULL;
		return 1;
	}
	have_sig_thread = pthread_create(&sig_thread, NULL, cgi_signal_main,
					 cs) == 0;
	rc = hub_run(cs->hub);
	if (rc != EC_OK)
		log_error("hub: %s", ecode_name(rc));
	/* sigwait() is a cancellation point: stop the signal thread before
	 * freeing the hub it could stop. */
	if (have_sig_thread) {
		pthread_cancel(sig_thread);
		pthread_join(sig_thread, NULL);
	}
	hub_free(cs->hub);
	cs->hub = NULL;
	return rc == EC_OK ? 0 : 1;
}

int cgi_serve(const struct config *cfg)
{
	struct cgi_state cs = { .cfg = cfg };
	struct api_ctx ctx = { .cfg = cfg };
	struct request req;
	struct response res;
	struct api_wait wait = { 0 };
	struct buf out;
	enum api_result result = API_FINISHED;
	enum ecode rc;
	int status = 0;

	signal(SIGPIPE, SIG_IGN);
	request_init(&req);
	response_init(&res);
	buf_init(&out, RESPONSE_BODY_MAX_BYTES + RESPONSE_HEAD_MAX_BYTES);

	rc = store_open(cfg->db_path, &cs.st);
	if (rc == EC_DB_SCHEMA && store_migrate(cfg->db_path, NULL, NULL) == EC_OK)
		rc = store_open(cfg->db_path, &cs.st);
	if (rc == EC_OK)
		rc = notify_open(cfg->db_path, false, &cs.notify);
	if (rc != EC_OK) {
		log_error("cannot open %s: %s", cfg->db_path, ecode_name(rc));
		api_error(&res, EC_UNAVAILABLE, "the database is unusable");
	} else {
		store_set_commit_hook(cs.st, cgi_committed, &cs);
		ctx.st = cs.st;
		result = api_serve(&ctx, &req, environ, cgi_read, NULL, &res,
				   &wait);
	}
	if (result == API_WAIT_FOR_EVENT && res.status == 0)
		; /* a parked poll: the hub answers it */
	else if (response_serialize(&res, &out) != EC_OK) {
		buf_reset(&out);
		buf_adds(&out, "Status: 500 Internal Server Error\r\n\r\n");
		result = API_FINISHED;
	}
	if (cgi_write_all(out.data, out.len) != EC_OK)
		result = API_FINISHED; /* the client is gone */
	buf_release(&out);
	response_release(&res);
	request_release(&req);
	if (result == API_WAIT_FOR_EVENT)
		status = cgi_wait(&cs, &wait);
	if (cs.notify)
		notify_close(cs.notify);
	if (cs.st)
		store_close(cs.st);
	return status;
}
