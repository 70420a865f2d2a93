/* fcgi.c -- the FastCGI server (see fcgi.h).
 *
 * Threads:
 *   accept x cfg->threads   FCGX_Accept_r → api_serve → write or park
 *   hub                     hub_run(): every parked waiter, one epoll loop
 *   housekeeping            runtime_housekeep() every second: presence,
 *                           ended sessions' waiters, retention
 *   main                    sigwait(): SIGTERM/SIGINT/SIGHUP start the
 *                           shutdown
 * Every thread that touches the database has its own store connection
 * (runtime_store_open()); each one's commit hook wakes the hub of this
 * process and pokes the notify file for the hubs of the others.
 *
 * Parking (STYLE "libfcgi fits this"): after the prelude is flushed and
 * stdin is read to its end, the connection fd and request id are all the
 * hub needs.  FCGX_Free(req, 0) frees libfcgi's buffers without closing
 * or writing END_REQUEST, and ipcFd = -1 makes the next FCGX_Accept_r
 * accept a fresh connection instead of reusing this one.  A parked
 * connection is never reused for another request (FCGI_KEEP_CONN or not):
 * the hub closes it after END_REQUEST, and servers open a new one.
 */
#include "autoconfig.h"

#include <errno.h>
#include <fcgiapp.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "clock.h"
#include "fcgi.h"
#include "fcgi_record.h"
#include "hub.h"
#include "log.h"
#include "runtime.h"
#include "store.h"

#define FCGI_LISTEN_BACKLOG 1024
#define FCGI_STOP_GRACE_MS 3500 /* SIGTERM → exit well within 5 s */

struct fcgi_server {
	const struct config *cfg;
	int listen_fd;
	struct runtime rt; /* rt.hub: the hub of this process */
	atomic_bool stopping;
	atomic_int busy; /* accept threads inside a request */

	/* Sessions with parked waiters, from the hub's touch callback. */
	pthread_mutex_t parked_lock;
	pthread_cond_t housekeeping_cond;
	int64_t *parked;
	size_t n_parked, cap_parked;
};

/* ---- listening socket (--listen) ---- */

static enum ecode fcgi_listen_unix(const char *path, int *out, char *msg,
				   size_t msg_size)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(msg, msg_size, "unix:%s: path too long", path);
		return EC_CONFIG;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	/* A socket left by a previous run is ours to replace; any other
	 * kind of file is not. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(msg, msg_size,
				 "unix:%s: exists and is not a socket", path);
			return EC_CONFIG;
		}
		if (unlink(path) != 0) {
			snprintf(msg, msg_size, "unix:%s: %s", path,
				 strerror(errno));
			return EC_IO;
		}
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
	    listen(fd, FCGI_LISTEN_BACKLOG) != 0) {
		snprintf(msg, msg_size, "unix:%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return EC_IO;
	}
	*out = fd;
	return EC_OK;
}

static enum ecode fcgi_listen_tcp(const char *spec, int *out, char *msg,
				  size_t msg_size)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE };
	struct addrinfo *res = NULL;
	char host[256];
	const char *port, *colon;
	size_t host_len;
	int fd = -1, one = 1, gai;

	if (spec[0] == '[') {
		colon = strstr(spec, "]:");
		if (!colon)
			goto bad;
		host_len = (size_t)(colon - spec - 1);
		memcpy(host, spec + 1, host_len < sizeof(host) ? host_len : 0);
		port = colon + 2;
	} else {
		colon = strrchr(spec, ':');
		if (!colon)
			goto bad;
		host_len = (size_t)(colon - spec);
		memcpy(host, spec, host_len < sizeof(host) ? host_len : 0);
		port = colon + 1;
	}
	if (host_len == 0 || host_len >= sizeof(host) || !*port)
		goto bad;
	host[host_len] = '\0';
	gai = getaddrinfo(host, port, &hints, &res);
	if (gai != 0) {
		snprintf(msg, msg_size, "%s: %s", spec, gai_strerror(gai));
		return EC_CONFIG;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) != 0 ||
	    listen(fd, FCGI_LISTEN_BACKLOG) != 0) {
		snprintf(msg, msg_size, "%s: %s", spec, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(res);
		return EC_IO;
	}
	freeaddrinfo(res);
	*out = fd;
	return EC_OK;
bad:
	snprintf(msg, msg_size,
		 "%s: expected unix:/path, HOST:PORT or [IPV6]:PORT", spec);
	return EC_CONFIG;
}

enum ecode fcgi_listen(const char *spec, int *fd, char *msg, size_t msg_size)
{
	if (strncmp(spec, "unix:", 5) == 0)
		return fcgi_listen_unix(spec + 5, fd, msg, msg_size);
	return fcgi_listen_tcp(spec, fd, msg, msg_size);
}

/* ---- accepting threads ---- */

static long fcgi_read(void *io, char *data, size_t len)
{
	return FCGX_GetStr(data, (int)len, ((FCGX_Request *)io)->in);
}

static void fcgi_write(FCGX_Request *req, const struct buf *out)
{
	if (out->len && FCGX_PutStr(out->data, (int)out->len, req->out) < 0)
		log_debug("write to web server failed: %s",
			  strerror(FCGX_GetError(req->out)));
}

/* hub_park() refused a request already detached from libfcgi (it lost the
 * race for the last slot, or the hub is stopping): end it cleanly with our
 * own records.  A poll has sent nothing yet and gets the 503; a stream has
 * sent its head and snapshot, and simply ends (the client reconnects). */
static void fcgi_refuse_detached(const struct hub_waiter_spec *spec,
				 enum ecode why)
{
	struct response res;
	struct buf head, out;
	size_t off = 0;
	ssize_t n;

	response_init(&res);
	buf_init(&head, RESPONSE_HEAD_MAX_BYTES + 1024);
	buf_init(&out, 2 * RESPONSE_HEAD_MAX_BYTES + 1024);
	if (spec->kind == HUB_POLL) {
		api_error(&res, why, NULL);
		if (response_serialize(&res, &head) != EC_OK)
			buf_reset(&head);
	}
	if (fcgi_record_append_stdout(&out, spec->request_id, head.data,
				      head.len) != EC_OK ||
	    fcgi_record_append_end(&out, spec->request_id) != EC_OK)
		buf_reset(&out);
	/* The connection is still blocking: libfcgi made it so. */
	while (off < out.len) {
		n = write(spec->fd, out.data + off, out.len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	if (close(spec->fd) != 0)
		log_debug("close: %s", strerror(errno));
	log_warn("refused a waiter after detaching it: %s", ecode_name(why));
	buf_release(&out);
	buf_release(&head);
	response_release(&res);
}

/* Hands the connection to the hub; see the file comment. */
static void fcgi_park(struct fcgi_server *srv, FCGX_Request *req,
		      const struct api_wait *wait)
{
	struct hub_waiter_spec spec = {
		.kind = wait->kind,
		.sink = HUB_SINK_FCGI,
		.in_fd = -1,
		.cursor = wait->cursor,
		.session_id = wait->session_id,
		.timeout_ms = wait->timeout_ms,
		.sio_id = wait->sio_id,
	};
	char drain[1024];
	enum ecode rc;

	if (FCGX_FFlush(req->out) < 0) {
		log_debug("client gone before parking");
		return; /* FCGX_Accept_r finishes and closes it */
	}
	/* Consume the end of stdin so that the bytes left on the connection
	 * start at a record boundary for the hub's parser. */
	while (FCGX_GetStr(drain, sizeof(drain), req->in) > 0)
		;
	spec.fd = req->ipcFd;
	spec.request_id = (uint16_t)req->requestId;
	FCGX_Free(req, 0);
	req->ipcFd = -1;
	rc = hub_park(srv->rt.hub, &spec);
	if (rc != EC_OK)
		fcgi_refuse_detached(&spec, rc);
}

static void fcgi_handle(struct fcgi_server *srv, struct api_ctx *ctx,
			FCGX_Request *req)
{
	struct request rq;
	struct response res;
	struct api_wait wait = { 0 };
	struct buf out;
	enum api_result result;

	request_init(&rq);
	response_init(&res);
	buf_init(&out, RESPONSE_BODY_MAX_BYTES + RESPONSE_HEAD_MAX_BYTES);
	result = api_serve(ctx, &rq, req->envp, fcgi_read, req, &res, &wait);
	runtime_answer(&res, &result, &out);
	fcgi_write(req, &out);
	if (result == API_WAIT_FOR_EVENT)
		fcgi_park(srv, req, &wait);
	buf_release(&out);
	response_release(&res);
	request_release(&rq);
}

static void *fcgi_accept_main(void *arg)
{
	struct fcgi_server *srv = arg;
	struct api_ctx ctx = { .cfg = srv->cfg, .hub = srv->rt.hub };
	FCGX_Request req;
	bool emfile_logged = false;
	enum ecode rc;
	int arc;

	rc = runtime_store_open(&srv->rt, &ctx.st);
	if (rc != EC_OK) {
		log_error("accept thread: cannot open %s: %s",
			  srv->cfg->db_path, ecode_name(rc));
		return NULL;
	}
	if (FCGX_InitRequest(&req, srv->listen_fd, 0) != 0) {
		log_error("FCGX_InitRequest failed");
		store_close(ctx.st);
		return NULL;
	}
	while (!atomic_load(&srv->stopping)) {
		arc = FCGX_Accept_r(&req);
		if (arc < 0) {
			if (atomic_load(&srv->stopping))
				break;
			/* Out of descriptors: back off instead of spinning
			 * (slowcgi's habit); waiters hold most of them. */
			if (arc == -EMFILE || arc == -ENFILE) {
				if (!emfile_logged)
					log_warn("accept: %s; backing off",
						 strerror(-arc));
				emfile_logged = true;
				nanosleep(&(struct timespec){ 0, 100000000 },
					  NULL);
				continue;
			}
			if (arc != -EINTR && arc != -ECONNABORTED)
				log_warn("accept failed: %d", arc);
			nanosleep(&(struct timespec){ 0, 10000000 }, NULL);
			continue;
		}
		emfile_logged = false;
		atomic_fetch_add(&srv->busy, 1);
		fcgi_handle(srv, &ctx, &req);
		FCGX_Finish_r(&req);
		atomic_fetch_sub(&srv->busy, 1);
	}
	FCGX_Free(&req, 1);
	store_close(ctx.st);
	return NULL;
}

/* ---- hub thread and presence housekeeping ---- */

static void *fcgi_hub_main(void *arg)
{
	struct fcgi_server *srv = arg;
	enum ecode rc = hub_run(srv->rt.hub);

	if (rc != EC_OK)
		log_error("hub stopped: %s", ecode_name(rc));
	return NULL;
}

/* Hub thread: copy the ids for the housekeeping thread, nothing more. */
static void fcgi_touch(void *arg, const int64_t *ids, size_t n)
{
	struct fcgi_server *srv = arg;

	pthread_mutex_lock(&srv->parked_lock);
	if (n > srv->cap_parked) {
		int64_t *p = realloc(srv->parked, n * sizeof(*p));

		if (!p) {
			pthread_mutex_unlock(&srv->parked_lock);
			log_error("out of memory keeping sessions online");
			return;
		}
		srv->parked = p;
		srv->cap_parked = n;
	}
	if (n)
		memcpy(srv->parked, ids, n * sizeof(*ids));
	srv->n_parked = n;
	pthread_mutex_unlock(&srv->parked_lock);
}

static void *fcgi_housekeeping_main(void *arg)
{
	struct fcgi_server *srv = arg;
	int64_t *ids = NULL, *ended = NULL;
	size_t n, cap = 0;
	struct store *st;
	struct timespec deadline;
	enum ecode rc;

	if ((rc = runtime_store_open(&srv->rt, &st)) != EC_OK) {
		log_error("housekeeping: cannot open the database: %s",
			  ecode_name(rc));
		return NULL;
	}
	pthread_mutex_lock(&srv->parked_lock);
	while (!atomic_load(&srv->stopping)) {
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_sec += RUNTIME_HOUSEKEEPING_MS / 1000;
		pthread_cond_timedwait(&srv->housekeeping_cond,
				       &srv->parked_lock, &deadline);
		if (atomic_load(&srv->stopping))
			break;
		n = srv->n_parked;
		if (n > cap) {
			int64_t *p = realloc(ids, n * sizeof(*p));
			int64_t *e = p ? realloc(ended, n * sizeof(*e)) : NULL;

			if (p)
				ids = p;
			if (!e)
				continue;
			ended = e;
			cap = n;
		}
		if (n)
			memcpy(ids, srv->parked, n * sizeof(*ids));
		pthread_mutex_unlock(&srv->parked_lock);
		runtime_housekeep(&srv->rt, st, ids, n, ended);
		pthread_mutex_lock(&srv->parked_lock);
	}
	pthread_mutex_unlock(&srv->parked_lock);
	free(ids);
	free(ended);
	store_close(st);
	return NULL;
}

/* ---- start and stop ---- */

static int fcgi_wait_for_signal(const sigset_t *set)
{
	int sig = 0;

	while (sigwait(set, &sig) != 0)
		;
	return sig;
}

int fcgi_serve(const struct config *cfg, int listen_fd)
{
	struct fcgi_server srv = { .cfg = cfg, .listen_fd = listen_fd };
	struct hub_options hopts;
	struct hub *hub;
	pthread_t hub_thread, housekeeping_thread;
	pthread_t *accept_threads = NULL;
	sigset_t set;
	int64_t deadline;
	int started = 0, sig;
	enum ecode rc;

	pthread_mutex_init(&srv.parked_lock, NULL);
	pthread_cond_init(&srv.housekeeping_cond, NULL);
	/* Signals go to the main thread's sigwait() only. */
	runtime_signals_block(&set);

	if (FCGX_Init() != 0) {
		log_error("FCGX_Init failed");
		return 1;
	}
	if ((rc = runtime_init(&srv.rt, cfg)) != EC_OK) {
		log_error("cannot open the notify file beside %s: %s",
			  cfg->db_path, ecode_name(rc));
		return 1;
	}
	runtime_hub_options(&srv.rt, &hopts);
	hopts.touch = fcgi_touch;
	hopts.touch_ctx = &srv;
	if ((rc = hub_new(&hopts, &hub)) != EC_OK) {
		log_error("cannot start the hub: %s", ecode_name(rc));
		runtime_release(&srv.rt);
		return 1;
	}
	runtime_set_hub(&srv.rt, hub);
	accept_threads = calloc((size_t)cfg->threads, sizeof(*accept_threads));
	if (!accept_threads ||
	    pthread_create(&hub_thread, NULL, fcgi_hub_main, &srv) != 0 ||
	    pthread_create(&housekeeping_thread, NULL, fcgi_housekeeping_main,
			   &srv) != 0) {
		log_error("cannot start threads");
		_exit(1);
	}
	for (int i = 0; i < cfg->threads; i++)
		if (pthread_create(&accept_threads[i], NULL, fcgi_accept_main,
				   &srv) == 0)
			started++;
	if (started == 0) {
		log_error("cannot start accept threads");
		_exit(1);
	}
	log_info("serving FastCGI with %d threads, database %s", started,
		 cfg->db_path);

	sig = fcgi_wait_for_signal(&set);
	log_info("signal %d: closing streams", sig);
	atomic_store(&srv.stopping, true);
	pthread_cond_signal(&srv.housekeeping_cond);
	hub_stop(hub);
	pthread_join(hub_thread, NULL);
	pthread_join(housekeeping_thread, NULL);
	/* Requests being served get a moment; threads blocked in accept()
	 * are not waited for: _exit() ends them. */
	deadline = clock_mono_ms() + FCGI_STOP_GRACE_MS;
	while (atomic_load(&srv.busy) > 0 && clock_mono_ms() < deadline)
		nanosleep(&(struct timespec){ 0, 10000000 }, NULL);
	log_info("stopped");
	_exit(0);
}
