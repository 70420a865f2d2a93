/* cgi.c -- plain CGI, one request per process (see cgi.h).
 *
 * RFC 3875: the request is in the environment, the body on stdin
 * (CONTENT_LENGTH bytes), the answer on stdout.  A stream or a long-poll
 * parks stdout in a hub of its own (HUB_SINK_RAW, exit_when_idle), which is
 * woken by the notify file when any process commits events.  While it waits
 * this process also keeps its session online, takes idle sessions offline
 * and trims the log, as the FastCGI server's housekeeping thread does.
 *
 * Cap (issue 9): every waiting CGI process is a process, so waits are
 * counted across processes: a waiter holds a write lock on one byte of
 * <db>-cgi-slots (fcntl, released by the kernel when the process ends,
 * however it ends); EMITCGI_MAX_SUBSCRIBERS bytes, none free -> 503.
 */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
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
#include "runtime.h"
#include "store.h"

extern char **environ;

struct cgi_state {
	const struct config *cfg;
	struct runtime rt; /* rt.hub: only while a waiter is parked */
	struct store *st;
	sigset_t stop_signals;
	int slot_fd; /* <db>-cgi-slots with our byte locked, or -1 */
};

/* api_ctx.wait_room: take a free byte of <db>-cgi-slots (see the top). */
static bool cgi_wait_room(void *arg)
{
	struct cgi_state *cs = arg;
	char path[CONFIG_PATH_MAX + 16];
	off_t n = cs->cfg->max_subscribers, start;
	int fd, n_path;

	if (cs->slot_fd >= 0)
		return true;
	n_path = snprintf(path, sizeof(path), "%s-cgi-slots", cs->cfg->db_path);
	if (n_path < 0 || (size_t)n_path >= sizeof(path))
		return true; /* config.c caps the path; never here */
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0660);
	if (fd < 0) {
		/* no cap rather than no service: say so */
		log_warn("cgi: %s: %s: waiters not counted", path,
			 strerror(errno));
		return true;
	}
	start = n > 0 ? (off_t)getpid() % n : 0;
	for (off_t i = 0; i < n; i++) {
		struct flock fl = { .l_type = F_WRLCK,
				    .l_whence = SEEK_SET,
				    .l_start = (start + i) % n,
				    .l_len = 1 };

		if (fcntl(fd, F_SETLK, &fl) == 0) {
			cs->slot_fd = fd; /* held until the process ends */
			return true;
		}
	}
	(void)close(fd);
	return false;
}

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

/* Hub thread (ours): keep the waiter's session online, reap idle ones. */
static void cgi_touch(void *arg, const int64_t *ids, size_t n)
{
	struct cgi_state *cs = arg;
	int64_t ended[1];

	/* One request per process: at most one parked session. */
	runtime_housekeep(&cs->rt, cs->st, ids, n > 1 ? 1 : n, ended);
}

static void *cgi_signal_main(void *arg)
{
	struct cgi_state *cs = arg;

	int sig;

	if (sigwait(&cs->stop_signals, &sig) == 0)
		hub_stop(cs->rt.hub);
	return NULL;
}

/* Plain CGI has no `emitcgi init` step of its own to rely on: the first
 * request migrates the database. */
static enum ecode cgi_store_open(struct cgi_state *cs)
{
	enum ecode rc = runtime_store_open(&cs->rt, &cs->st);

	if (rc == EC_DB_SCHEMA &&
	    store_migrate(cs->cfg->db_path, NULL, NULL) == EC_OK)
		rc = runtime_store_open(&cs->rt, &cs->st);
	return rc;
}

static int cgi_wait(struct cgi_state *cs, const struct api_wait *wait)
{
	struct hub_options opts;
	struct hub_waiter_spec spec = {
		.kind = wait->kind,
		.sink = HUB_SINK_RAW,
		.fd = STDOUT_FILENO,
		.in_fd = -1,
		.cursor = wait->cursor,
		.session_id = wait->session_id,
		.timeout_ms = wait->timeout_ms,
		.sio_id = wait->sio_id,
	};
	struct hub *hub;
	pthread_t sig_thread;
	bool have_sig_thread;
	enum ecode rc;

	/* Blocked before the hub's thread starts, so that only the signal
	 * thread takes them; until now they end the process as usual. */
	runtime_signals_block(&cs->stop_signals);
	runtime_hub_options(&cs->rt, &opts);
	opts.max_waiters = 1;
	opts.exit_when_idle = true;
	opts.touch = cgi_touch;
	opts.touch_ctx = cs;
	if ((rc = hub_new(&opts, &hub)) != EC_OK) {
		log_error("cannot start the hub: %s", ecode_name(rc));
		return 1;
	}
	if ((rc = hub_park(hub, &spec)) != EC_OK) {
		log_error("cannot wait: %s", ecode_name(rc));
		hub_free(hub);
		return 1;
	}
	runtime_set_hub(&cs->rt, hub);
	have_sig_thread =
		pthread_create(&sig_thread, NULL, cgi_signal_main, cs) == 0;
	rc = hub_run(hub);
	if (rc != EC_OK)
		log_error("hub: %s", ecode_name(rc));
	/* Stop the signal thread before freeing the hub it could stop: one
	 * of its own signals, so that it returns normally (hub_stop() on a
	 * hub that has stopped is harmless).  Not pthread_cancel(): a thread
	 * cancelled inside sigwait() leaves its frame's ASan redzones
	 * poisoned, and ASan's thread exit then reports a false
	 * stack-buffer-underflow in sigaltstack. */
	if (have_sig_thread) {
		if (pthread_kill(sig_thread, SIGTERM) != 0)
			pthread_cancel(sig_thread);
		pthread_join(sig_thread, NULL);
	}
	runtime_set_hub(&cs->rt, NULL);
	hub_free(hub);
	return rc == EC_OK ? 0 : 1;
}

int cgi_serve(const struct config *cfg)
{
	struct cgi_state cs = { .cfg = cfg, .slot_fd = -1 };
	struct api_ctx ctx = { .cfg = cfg,
			       .wait_room = cgi_wait_room,
			       .wait_room_arg = &cs };
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

	rc = runtime_init(&cs.rt, cfg);
	if (rc == EC_OK)
		rc = cgi_store_open(&cs);
	if (rc != EC_OK) {
		log_error("cannot open %s: %s", cfg->db_path, ecode_name(rc));
		/* issue 9: a fault of the file is named (503, Retry-After) */
		if (rc == EC_DB_READONLY || rc == EC_DB_FULL ||
		    rc == EC_DB_CORRUPT || rc == EC_DB_IOERR)
			api_error(&res, rc, NULL);
		else
			api_error(&res, EC_UNAVAILABLE,
				  "the database is unusable");
	} else {
		ctx.st = cs.st;
		result = api_serve(&ctx, &req, environ, cgi_read, NULL, &res,
				   &wait);
	}
	runtime_answer(&res, &result, &out);
	if (cgi_write_all(out.data, out.len) != EC_OK)
		result = API_FINISHED; /* the client is gone */
	buf_release(&out);
	response_release(&res);
	request_release(&req);
	if (result == API_WAIT_FOR_EVENT)
		status = cgi_wait(&cs, &wait);
	if (cs.st)
		store_close(cs.st);
	if (cs.slot_fd >= 0)
		(void)close(cs.slot_fd); /* the lock goes with it */
	runtime_release(&cs.rt);
	return status;
}
