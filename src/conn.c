/* conn.c -- FastCGI connections in the event loop (see conn.h).
 *
 * A connection is a small state machine driven by epoll events and the
 * loop's before-sleep tick (hub_tick_fn):
 *
 *   IDLE --BEGIN_REQUEST--> PARAMS --empty PARAMS--> STDIN --empty STDIN-->
 *   BUSY (a worker runs the request) --done--> WRITE (the reply) --> IDLE
 *   (FCGI_KEEP_CONN) or closed;  BUSY --done, must wait--> parked in the
 *   hub (this struct is freed; the hub owns the fd, and gives it back to
 *   conn_give_back() after the request when the server keeps it).
 *
 * A connection whose peer goes while a worker holds its request becomes
 * ORPHAN: its fd is closed at once, its struct waits for the job.  Freed
 * connections go to a dead list, freed in the tick (loop.h: an io must
 * stay valid until the batch of events ends).
 *
 * Deadlines: each phase has one fixed timeout, so each phase keeps its
 * connections in a FIFO ordered by deadline (as hub_sse.c does): moving
 * is O(1), the tick looks at the heads.
 *
 * Workers hand jobs back through a mutex-guarded list and an eventfd on
 * the loop (loop_waker); the tick drains it.  The tick is the only place
 * the loop learns of a job's end, so a stop waits for jobs by reporting
 * busy to the hub.  The hand-over to a worker and back (and what runs on
 * the worker) is conn_job.c; the structs both share are conn_int.h.
 */
#include "autoconfig.h"

#include <errno.h>
#include <fastcgi.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api.h"
#include "api_sio.h"
#include "clock.h"
#include "conn.h"
#include "conn_int.h"
#include "fcgi_params.h"
#include "fcgi_record.h"
#include "list.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "request.h"
#include "response.h"
#include "store.h"
#include "workers.h"

static const int conn_phase_ms[CONN_PHASES] = {
	[CONN_PH_IDLE] = CONN_IDLE_MS,
	[CONN_PH_HEADER] = CONN_HEADER_MS,
	[CONN_PH_BODY] = CONN_BODY_MS,
	[CONN_PH_WRITE] = CONN_WRITE_MS,
};

static void conn_on_io(struct loop *loop, struct loop_io *io, uint32_t events);

/* ---- lifetime ---- */

static void conn_set_phase(struct conn *c, enum conn_phase ph, int64_t now)
{
	list_del(&c->link);
	c->deadline_ms = now + conn_phase_ms[ph];
	list_append(&c->cs->phase[ph], &c->link);
}

static void conn_reset_request(struct conn *c)
{
	buf_release(&c->params);
	buf_release(&c->body);
	buf_release(&c->out);
	c->out_off = 0;
	c->params_too_large = c->body_too_large = false;
	c->keep = false;
}

void conn_spare_reopen(struct conns *cs)
{
	if (cs->spare_fd < 0)
		cs->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

/* Closes the fd now; the struct is freed in the tick (or, for a
 * connection a worker still serves, when the job comes back). */
static void conn_close(struct conn *c)
{
	struct conns *cs = c->cs;

	if (c->state == CONN_ORPHAN)
		return;
	loop_io_stop(cs->loop, &c->io);
	if (close(c->io.fd) != 0)
		log_debug("conn: close: %s", strerror(errno));
	if (c->refuse) {
		c->refuse = false;
		conn_spare_reopen(cs);
	}
	list_del(&c->link);
	conn_claim_drop(c);
	if (c->state == CONN_BUSY || c->claim_out) {
		/* The struct waits for its job. */
		c->state = CONN_ORPHAN;
		list_init(&c->link);
		return;
	}
	c->state = CONN_ORPHAN;
	list_append(&cs->dead, &c->link);
}

void conn_free(struct conn *c)
{
	fcgi_record_tail_free(&c->tail);
	conn_reset_request(c);
	free(c);
}

static enum ecode conn_watch(struct conn *c, uint32_t events)
{
	if (loop_io_start(c->cs->loop, &c->io, events | EPOLLRDHUP) != EC_OK) {
		log_warn("conn: epoll_ctl: %s", strerror(errno));
		conn_close(c);
		return EC_IO;
	}
	return EC_OK;
}

/* A connection ready for its first (or next) request; registered: the fd
 * is in the loop already (given back by the hub), take it over. */
static struct conn *conn_new(struct conns *cs, int fd, bool refuse,
			     bool registered)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c) {
		close(fd);
		return NULL;
	}
	c->cs = cs;
	c->refuse = refuse;
	c->state = CONN_IDLE;
	loop_io_init(&c->io, fd, conn_on_io);
	list_init(&c->link);
	buf_init(&c->params, CONN_PARAMS_MAX);
	buf_init(&c->body, REQUEST_BODY_MAX_BYTES);
	buf_init(&c->out, CONN_OUT_MAX);
	conn_set_phase(c, CONN_PH_IDLE, clock_mono_ms());
	if (registered &&
	    loop_io_take(cs->loop, &c->io, EPOLLIN | EPOLLRDHUP) != EC_OK) {
		log_warn("conn: epoll_ctl: %s", strerror(errno));
		conn_close(c);
		return NULL;
	}
	if (!registered && conn_watch(c, EPOLLIN) != EC_OK)
		return NULL;
	return c;
}

/* ---- writing ---- */

/* Writes what is in c->out; at its end the request is over. */
static void conn_flush(struct conn *c)
{
	while (c->out_off < c->out.len) {
		ssize_t n = send(c->io.fd, c->out.data + c->out_off,
				 c->out.len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (!(c->io.mask & EPOLLOUT))
				conn_watch(c, EPOLLOUT);
			return;
		}
		if (n <= 0) {
			log_debug("conn: write: %s", strerror(errno));
			conn_close(c);
			return;
		}
		c->out_off += (size_t)n;
	}
	if (c->state != CONN_WRITE) /* a management record: go on reading */
		goto reset;
	if (!c->keep || c->cs->stopping || c->refuse) {
		conn_close(c);
		return;
	}
	c->state = CONN_IDLE;
	conn_set_phase(c, CONN_PH_IDLE, clock_mono_ms());
reset:
	buf_reset(&c->out);
	c->out_off = 0;
	if (c->state == CONN_IDLE || c->state == CONN_PARAMS ||
	    c->state == CONN_STDIN)
		conn_watch(c, EPOLLIN);
}

/* Frames a CGI response as FCGI_STDOUT records and the end of the
 * request, and writes it. */
void conn_reply(struct conn *c, const void *data, size_t len)
{
	buf_reset(&c->out);
	c->out_off = 0;
	if (fcgi_record_append_stdout(&c->out, c->request_id, data, len) !=
		    EC_OK ||
	    fcgi_record_append_end(&c->out, c->request_id) != EC_OK) {
		log_error("conn: cannot frame a reply");
		conn_close(c);
		return;
	}
	c->state = CONN_WRITE;
	conn_set_phase(c, CONN_PH_WRITE, clock_mono_ms());
	conn_flush(c);
}

/* An answer made here, without a worker (503 at EMFILE or stop, or the
 * refusal of a park). */
void conn_reply_error(struct conn *c, enum ecode rc)
{
	struct response res;
	struct buf out;

	response_init(&res);
	buf_init(&out, 2 * RESPONSE_HEAD_MAX_BYTES);
	api_error(&res, rc, NULL);
	if (response_serialize(&res, &out) != EC_OK) {
		buf_reset(&out);
		buf_adds(&out, "Status: 500 Internal Server Error\r\n\r\n");
	}
	conn_reply(c, out.data, out.len);
	buf_release(&out);
	response_release(&res);
}

/* A management record (END_REQUEST for a refused id, UNKNOWN_TYPE,
 * GET_VALUES_RESULT) between requests or while reading one. */
static void conn_send_record(struct conn *c, const void *rec, size_t len)
{
	if (buf_add(&c->out, rec, len) != EC_OK) {
		conn_close(c);
		return;
	}
	conn_flush(c);
}

static void conn_send_end(struct conn *c, uint16_t id, unsigned status)
{
	FCGI_EndRequestRecord r;

	fcgi_record_end_request(&r, id, 0, status);
	conn_send_record(c, &r, sizeof(r));
}

static void conn_get_values(struct conn *c)
{
	unsigned char rec[FCGI_HEADER_LEN + 64];
	struct buf pairs;
	unsigned pad;

	/* Whatever was asked, the answer is the same three values. */
	buf_init(&pairs, 64);
	if (fcgi_params_append(&pairs, FCGI_MAX_CONNS, "10000") != EC_OK ||
	    fcgi_params_append(&pairs, FCGI_MAX_REQS, "10000") != EC_OK ||
	    fcgi_params_append(&pairs, FCGI_MPXS_CONNS, "0") != EC_OK ||
	    pairs.len + 8 > sizeof(rec) - FCGI_HEADER_LEN) {
		buf_release(&pairs);
		return;
	}
	pad = fcgi_record_header((FCGI_Header *)(void *)rec,
				 FCGI_GET_VALUES_RESULT, 0, pairs.len);
	memcpy(rec + FCGI_HEADER_LEN, pairs.data, pairs.len);
	memset(rec + FCGI_HEADER_LEN + pairs.len, 0, pad);
	conn_send_record(c, rec, FCGI_HEADER_LEN + pairs.len + pad);
	buf_release(&pairs);
}

/* ---- reading ---- */

struct conn_peek {
	char path[CONFIG_BASE_MAX];
	bool has_path, has_method, post;
};

static bool conn_peek_param(void *ctx, const char *name, size_t name_len,
			    const char *value, size_t value_len)
{
	struct conn_peek *p = ctx;

	if (name_len == 14 && memcmp(name, "REQUEST_METHOD", 14) == 0) {
		p->has_method = true;
		p->post = value_len == 4 && memcmp(value, "POST", 4) == 0;
	} else if (name_len == 11 && memcmp(name, "REQUEST_URI", 11) == 0) {
		p->has_path = true;
		if (strcspn(value, "?") < value_len)
			value_len = strcspn(value, "?");
		if (value_len < CONFIG_BASE_MAX) {
			memcpy(p->path, value, value_len);
			p->path[value_len] = '\0';
		}
	}
	return !(p->has_path && p->has_method);
}

/* The params are in, the body comes next.  Its cap: a socket.io POST may
 * bring EMITCGI_SIO_MAX_PAYLOAD bytes, every other request
 * REQUEST_BODY_MAX_BYTES (api_body_max()); params too large or malformed
 * get the small cap, and the worker answers them anyway.  A socket.io
 * POST claims its session now, while its body comes (conn_claim()). */
static void conn_params_done(struct conn *c)
{
	struct conn_peek peek = { .path = "" };
	struct request rq = { .uri_path = peek.path };

	c->state = CONN_STDIN;
	conn_set_phase(c, CONN_PH_BODY, clock_mono_ms());
	if (c->params_too_large ||
	    fcgi_params_parse(c->params.data, c->params.len, conn_peek_param,
			      &peek) != EC_OK) {
		c->body.max_len = REQUEST_BODY_MAX_BYTES;
		return;
	}
	c->body.max_len = api_body_max(c->cs->cfg, &rq);
	if (peek.post && api_sio_owns(c->cs->cfg, &rq))
		conn_claim(c);
}

static bool conn_on_record(void *ctx, const struct fcgi_record *rec)
{
	struct conn *c = ctx;

	if (rec->type == FCGI_GET_VALUES) {
		conn_get_values(c);
		return c->state != CONN_ORPHAN;
	}
	if (rec->type == FCGI_BEGIN_REQUEST) {
		const FCGI_BeginRequestBody *b = (const void *)rec->content;

		if (rec->content_len < sizeof(*b)) {
			conn_close(c);
			return false;
		}
		if (c->state != CONN_IDLE) {
			/* One request at a time on a connection. */
			conn_send_end(c, rec->request_id, FCGI_CANT_MPX_CONN);
			return c->state != CONN_ORPHAN;
		}
		if (((unsigned)b->roleB1 << 8 | b->roleB0) != FCGI_RESPONDER) {
			conn_send_end(c, rec->request_id, FCGI_UNKNOWN_ROLE);
			return c->state != CONN_ORPHAN;
		}
		c->request_id = rec->request_id;
		c->keep = b->flags & FCGI_KEEP_CONN;
		/* A kept connection: nothing of the last request counts. */
		c->params_too_large = c->body_too_large = false;
		buf_reset(&c->params);
		buf_reset(&c->body);
		c->state = CONN_PARAMS;
		conn_set_phase(c, CONN_PH_HEADER, clock_mono_ms());
		return true;
	}
	if (rec->type != FCGI_PARAMS && rec->type != FCGI_STDIN &&
	    rec->type != FCGI_ABORT_REQUEST && rec->type != FCGI_DATA) {
		FCGI_UnknownTypeRecord u = { 0 };

		fcgi_record_header(&u.header, FCGI_UNKNOWN_TYPE, 0,
				   sizeof(u.body));
		u.body.type = (unsigned char)rec->type;
		conn_send_record(c, &u, sizeof(u));
		return c->state != CONN_ORPHAN;
	}
	if (rec->request_id != c->request_id ||
	    (c->state != CONN_PARAMS && c->state != CONN_STDIN))
		return true; /* not the request we read: ignored */
	switch (rec->type) {
	case FCGI_ABORT_REQUEST:
		/* Before we answered: end it, the connection goes on. */
		conn_claim_drop(c);
		c->state = CONN_WRITE;
		buf_reset(&c->out);
		if (fcgi_record_append_end(&c->out, c->request_id) != EC_OK) {
			conn_close(c);
			return false;
		}
		conn_flush(c);
		return false;
	case FCGI_PARAMS:
		if (c->state != CONN_PARAMS)
			return true;
		if (rec->content_len == 0 && c->refuse) {
			/* On the spare descriptor: answer now, without
			 * waiting for a body, and free the spare at once. */
			c->keep = false;
			metrics_inc(METRIC_FCGI_REFUSED);
			conn_reply_error(c, EC_UNAVAILABLE);
			return false;
		}
		if (rec->content_len == 0) {
			conn_params_done(c);
		} else if (!c->params_too_large &&
			   buf_add(&c->params, rec->content,
				   rec->content_len) != EC_OK) {
			c->params_too_large = true;
			buf_release(&c->params);
		}
		return true;
	case FCGI_STDIN:
		if (c->state == CONN_PARAMS) /* no empty PARAMS seen */
			conn_params_done(c);
		if (rec->content_len == 0) {
			if (c->claim_out)
				c->body_done = true; /* its claim first */
			else
				conn_dispatch(c);
			return false;
		}
		if (!c->body_too_large && buf_add(&c->body, rec->content,
						  rec->content_len) != EC_OK) {
			/* Read on and discard: the server sees our 413,
			 * not a broken pipe. */
			c->body_too_large = true;
			buf_release(&c->body);
		}
		return true;
	default:
		return true;
	}
}

static void conn_read(struct conn *c)
{
	char data[CONN_READ_BYTES];

	for (int i = 0; i < CONN_READS_PER_EVENT; i++) {
		ssize_t n = read(c->io.fd, data, sizeof(data));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			conn_close(c);
			return;
		}
		if (fcgi_record_feed(&c->tail, data, (size_t)n, conn_on_record,
				     c) != EC_OK) {
			log_info("conn: FastCGI protocol error; closing");
			conn_close(c);
			return;
		}
		if (c->state != CONN_IDLE && c->state != CONN_PARAMS &&
		    c->state != CONN_STDIN)
			return;
		if ((size_t)n < sizeof(data))
			return;
	}
}

static void conn_on_io(struct loop *loop, struct loop_io *io, uint32_t events)
{
	struct conn *c = container_of(io, struct conn, io);

	(void)loop;
	if (events & (EPOLLERR | EPOLLHUP)) {
		conn_close(c);
		return;
	}
	if (events & EPOLLOUT) {
		conn_flush(c);
		if (c->state == CONN_ORPHAN)
			return;
	}
	if (events & EPOLLIN) {
		conn_read(c);
		if (c->state == CONN_ORPHAN)
			return;
	}
	/* The web server closed its end: nothing more will come. */
	if ((events & EPOLLRDHUP) && !(events & EPOLLIN))
		conn_close(c);
}

/* ---- accepting ---- */

static void conn_accept_pause(struct conns *cs)
{
	loop_io_stop(cs->loop, &cs->listen_io);
	cs->accept_retry_ms = clock_mono_ms() + CONN_ACCEPT_RETRY_MS;
}

static void conn_on_accept(struct loop *loop, struct loop_io *io,
			   uint32_t events)
{
	struct conns *cs = container_of(io, struct conns, listen_io);
	static bool emfile_logged;

	(void)loop;
	(void)events;
	for (int i = 0; i < CONN_ACCEPTS_PER_EVENT && !cs->stopping; i++) {
		int fd = accept4(io->fd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0) {
			emfile_logged = false;
			metrics_inc(METRIC_FCGI_CONNECTIONS);
			conn_new(cs, fd, false, false);
			continue;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EMFILE || errno == ENFILE) {
			if (!emfile_logged)
				log_warn("accept: %s; answering 503",
					 strerror(errno));
			emfile_logged = true;
			if (cs->spare_fd >= 0) {
				close(cs->spare_fd);
				cs->spare_fd = -1;
				fd = accept4(io->fd, NULL, NULL,
					     SOCK_NONBLOCK | SOCK_CLOEXEC);
				if (fd >= 0) {
					metrics_inc(METRIC_FCGI_CONNECTIONS);
					if (conn_new(cs, fd, true, false))
						continue;
				}
				conn_spare_reopen(cs);
			}
			/* The rest wait in the backlog. */
			conn_accept_pause(cs);
			return;
		}
		log_warn("accept: %s", strerror(errno));
		conn_accept_pause(cs);
		return;
	}
}

/* ---- the tick (hub_tick_fn) ---- */

/* A kept connection back from the hub: read its next request. */
static void conn_give_back(void *ctx, int fd)
{
	struct conns *cs = ctx;

	if (cs->stopping) {
		close(fd); /* leaves the epoll set with it */
		return;
	}
	conn_new(cs, fd, false, true);
}

static int conn_tick(void *ctx, int64_t now, bool stopping, bool *busy)
{
	struct conns *cs = ctx;
	int64_t next = INT64_MAX;
	struct list done;

	pthread_mutex_lock(&cs->mu);
	list_move_all(&done, &cs->done);
	pthread_mutex_unlock(&cs->mu);
	while (!list_empty(&done)) {
		struct conn_job *job =
			container_of(done.next, struct conn_job, wj.link);

		list_del(&job->wj.link);
		conn_job_done(cs, job);
	}
	conn_fast_run(cs);
	if (stopping && !cs->stopping) {
		cs->stopping = true;
		loop_io_stop(cs->loop, &cs->listen_io);
		/* Idle connections have nothing to finish. */
		while (!list_empty(&cs->phase[CONN_PH_IDLE]))
			conn_close(container_of(cs->phase[CONN_PH_IDLE].next,
						struct conn, link));
	}
	for (int ph = 0; ph < CONN_PHASES; ph++) {
		struct list *head = &cs->phase[ph];

		while (!list_empty(head)) {
			struct conn *c =
				container_of(head->next, struct conn, link);

			if (c->deadline_ms > now) {
				if (c->deadline_ms < next)
					next = c->deadline_ms;
				break;
			}
			log_info("conn: %s deadline passed; closing",
				 ph == CONN_PH_IDLE	? "idle"
				 : ph == CONN_PH_HEADER ? "params"
				 : ph == CONN_PH_BODY	? "body"
							: "write");
			conn_close(c);
		}
	}
	if (cs->accept_retry_ms && !cs->stopping) {
		if (now >= cs->accept_retry_ms) {
			cs->accept_retry_ms = 0;
			conn_spare_reopen(cs);
			if (loop_io_start(cs->loop, &cs->listen_io, EPOLLIN) !=
			    EC_OK)
				runtime_die("cannot watch the listen socket");
		} else if (cs->accept_retry_ms < next) {
			next = cs->accept_retry_ms;
		}
	}
	while (!list_empty(&cs->dead)) {
		struct conn *c = container_of(cs->dead.next, struct conn, link);

		list_del(&c->link);
		conn_free(c);
	}
	*busy = cs->jobs_out > 0 || !list_empty(&cs->phase[CONN_PH_WRITE]) ||
		!list_empty(&cs->fast_q);
	if (next == INT64_MAX)
		return -1;
	return next <= now ? 0 : (int)(next - now);
}

/* ---- setup ---- */

int conns_backlog(void)
{
	FILE *f = fopen("/proc/sys/net/core/somaxconn", "re");
	int n = 0;

	if (f) {
		if (fscanf(f, "%d", &n) != 1)
			n = 0;
		fclose(f);
	}
	return n > 1024 ? n : 1024;
}

enum ecode conns_new(const struct config *cfg, struct runtime *rt,
		     struct hub *hub, int listen_fd, struct conns **out)
{
	struct conns *cs = calloc(1, sizeof(*cs));
	int fl;
	enum ecode rc;

	*out = NULL;
	if (!cs)
		return EC_NOMEM;
	cs->cfg = cfg;
	cs->rt = rt;
	cs->hub = hub;
	cs->loop = hub_loop(hub);
	pthread_mutex_init(&cs->mu, NULL);
	session_cache_init(&cs->cache);
	list_init(&cs->fast_q);
	list_init(&cs->done);
	list_init(&cs->dead);
	for (int ph = 0; ph < CONN_PHASES; ph++)
		list_init(&cs->phase[ph]);
	cs->spare_fd = -1;
	conn_spare_reopen(cs);
	loop_io_init(&cs->wake.io, -1, NULL);
	loop_io_init(&cs->listen_io, listen_fd, conn_on_accept);
	fl = fcntl(listen_fd, F_GETFL);
	if (fl < 0 || fcntl(listen_fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		log_error("listen socket: fcntl: %s", strerror(errno));
		rc = EC_IO;
		goto fail;
	}
	/* A socket the web server made (fd 0) has its backlog; raise it
	 * (listen() again only changes the backlog). */
	if (listen(listen_fd, conns_backlog()) != 0)
		log_warn("listen: %s", strerror(errno));
	if ((rc = loop_waker_open(cs->loop, &cs->wake)) != EC_OK)
		goto fail;
	if (loop_io_start(cs->loop, &cs->listen_io, EPOLLIN) != EC_OK) {
		log_error("listen socket: epoll_ctl: %s", strerror(errno));
		rc = EC_IO;
		goto fail;
	}
	if ((rc = workers_start(cfg->threads, &conn_workers_ops, cs,
				&cs->workers)) != EC_OK)
		goto fail;
	hub_set_transport(hub, conn_tick, conn_give_back, cs);
	*out = cs;
	return EC_OK;
fail:
	loop_io_stop(cs->loop, &cs->listen_io);
	loop_waker_close(cs->loop, &cs->wake);
	if (cs->spare_fd >= 0)
		close(cs->spare_fd);
	pthread_mutex_destroy(&cs->mu);
	free(cs);
	return rc;
}

void conns_free(struct conns *cs)
{
	if (!cs)
		return;
	/* Workers may still hold jobs: the process is ending, their
	 * connections go with it.  Only the loop's own are closed. */
	workers_stop(cs->workers);
	for (int ph = 0; ph < CONN_PHASES; ph++)
		while (!list_empty(&cs->phase[ph]))
			conn_close(container_of(cs->phase[ph].next, struct conn,
						link));
	while (!list_empty(&cs->dead)) {
		struct conn *c = container_of(cs->dead.next, struct conn, link);

		list_del(&c->link);
		conn_free(c);
	}
	conn_fast_drop_all(cs);
	session_cache_release(&cs->cache);
}
