/* fcgi.c -- the FastCGI server (see fcgi.h): its threads and their
 * start and stop.
 *
 * Threads:
 *   loop (the hub's)       hub_run(): accepts, reads and writes every
 *                          FastCGI connection (conn.c) and every parked
 *                          waiter (hub.c), one epoll loop, never blocked
 *                          by a peer
 *   workers x cfg->threads api_serve_buffered() on requests read whole,
 *                          each with its own store connection (workers.h);
 *                          they never hold a socket
 *   housekeeping           runtime_housekeep() every second (CLOCK_MONOTONIC):
 *                          presence, ended sessions' waiters, retention
 *   main                   sigwait(): SIGTERM/SIGINT/SIGHUP start the
 *                          shutdown
 * A vital thread that cannot start or fails later ends the process
 * (runtime_die(): a log line, exit status 1).  Every thread that touches
 * the database has its own store connection (runtime_store_open()); each
 * one's commit hook wakes the hub of this process and pokes the notify
 * file for the hubs of the others.
 *
 * libfcgi is no longer used to serve: FCGX_Accept_r() reads a request's
 * params and body blocking on a thread, which is what let eight slow
 * clients stop the process.  The loop reads records with fcgi_record.c
 * and params with fcgi_params.c instead (docs/ARCHITECTURE.md, "What is
 * hand-written and why"); main.c still asks libfcgi whether fd 0 is a
 * listening socket (FCGX_IsCGI).
 */
#include "autoconfig.h"

#include <errno.h>
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
#include "conn.h"
#include "fcgi.h"
#include "fcgi_record.h"
#include "hub.h"
#include "log.h"
#include "runtime.h"
#include "store.h"

struct fcgi_server {
	const struct config *cfg;
	int listen_fd;
	struct runtime rt; /* rt.hub: the hub of this process */
	atomic_bool stopping;

	/* Sessions with parked waiters, from the hub's touch callback. */
	pthread_mutex_t parked_lock;
	pthread_cond_t housekeeping_cond;
	/* Opened before the threads start, as the workers' connections are:
	 * the process holds every descriptor it needs once it serves. */
	struct store *housekeeping_store;
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
	    listen(fd, conns_backlog()) != 0) {
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
	    listen(fd, conns_backlog()) != 0) {
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

/* ---- hub thread and presence housekeeping ---- */

static void *fcgi_hub_main(void *arg)
{
	struct fcgi_server *srv = arg;
	enum ecode rc = hub_run(srv->rt.hub);

	if (rc != EC_OK)
		runtime_die("the event loop failed");
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
	struct store *st = srv->housekeeping_store;
	struct timespec deadline;

	pthread_mutex_lock(&srv->parked_lock);
	while (!atomic_load(&srv->stopping)) {
		/* The condition variable waits on CLOCK_MONOTONIC: a wall
		 * clock step must not stall or hurry presence. */
		clock_gettime(CLOCK_MONOTONIC, &deadline);
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
	struct conns *cs;
	pthread_t hub_thread, housekeeping_thread;
	pthread_condattr_t cattr;
	sigset_t set;
	int sig;
	enum ecode rc;

	pthread_mutex_init(&srv.parked_lock, NULL);
	pthread_condattr_init(&cattr);
	pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
	pthread_cond_init(&srv.housekeeping_cond, &cattr);
	pthread_condattr_destroy(&cattr);
	/* Signals go to the main thread's sigwait() only. */
	runtime_signals_block(&set);

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
	if ((rc = runtime_store_open(&srv.rt, &srv.housekeeping_store)) !=
	    EC_OK) {
		log_error("housekeeping: cannot open the database: %s",
			  ecode_name(rc));
		return 1;
	}
	/* Before the loop thread starts: conns_new() joins the hub's loop. */
	if ((rc = conns_new(cfg, &srv.rt, hub, listen_fd, &cs)) != EC_OK) {
		log_error("cannot serve the listen socket: %s", ecode_name(rc));
		return 1;
	}
	if (pthread_create(&hub_thread, NULL, fcgi_hub_main, &srv) != 0 ||
	    pthread_create(&housekeeping_thread, NULL, fcgi_housekeeping_main,
			   &srv) != 0)
		runtime_die("cannot start threads");
	log_info("serving FastCGI: one event loop, %d worker threads, "
		 "database %s",
		 cfg->threads, cfg->db_path);

	sig = fcgi_wait_for_signal(&set);
	log_info("signal %d: closing streams", sig);
	atomic_store(&srv.stopping, true);
	pthread_cond_signal(&srv.housekeeping_cond);
	/* The hub ends every stream and poll, and waits (3 s at most) for
	 * the requests the loop and the workers still have in hand. */
	hub_stop(hub);
	pthread_join(hub_thread, NULL);
	pthread_join(housekeeping_thread, NULL);
	conns_free(cs);
	log_info("stopped");
	_exit(0);
}
