/* bench_loop.c -- connections and the epoll loop (see bench_loop.h).
 *
 * Reading follows OpenBSD slowcgi: the read callback only moves bytes into
 * fcgi_record_feed(), which calls back once per whole record; a record cut
 * by a read waits in the connection's tail buffer.
 */
#include "autoconfig.h"

#include <errno.h>
#include <fastcgi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "bench_loop.h"
#include "bench_stats.h"
#include "fcgi_record.h"

int bench_loop_init(struct bench_loop *l)
{
	l->ep = epoll_create1(EPOLL_CLOEXEC);
	return l->ep < 0 ? -1 : 0;
}

void bench_loop_reap(struct bench_loop *l)
{
	for (size_t i = 0; i < l->n_dead; i++) {
		struct bench_conn *c = l->dead[i];

		bench_loop_conn_release(c);
		c->ops->free(c);
	}
	l->n_dead = 0;
}

void bench_loop_release(struct bench_loop *l)
{
	bench_loop_reap(l);
	free(l->dead);
	l->dead = NULL;
	l->cap_dead = 0;
	if (l->ep >= 0 && close(l->ep) != 0)
		perror("fcgi_fanout: close epoll");
	l->ep = -1;
}

/* Writes what c->out holds; waits for EPOLLOUT when the socket is full. */
static void loop_flush(struct bench_conn *c)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
	ssize_t n;

	while (c->out.len) {
		n = write(c->fd, c->out.data, c->out.len);
		if (n > 0) {
			buf_consume(&c->out, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			ev.events |= EPOLLOUT;
			break;
		}
		/* Broken: the read side reports it as EOF. */
		buf_reset(&c->out);
		break;
	}
	if (epoll_ctl(c->loop->ep, EPOLL_CTL_MOD, c->fd, &ev) != 0)
		perror("fcgi_fanout: epoll_ctl");
}

/* A non-blocking unix socket connected to path: fd, or -1 with errno. */
static int loop_dial(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	size_t len = strlen(path);
	int fd, err;

	if (len >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sun.sun_path, path, len + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

int bench_loop_connect(struct bench_loop *l, struct bench_conn *c, int group,
		       const struct bench_conn_ops *ops)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
	int fd = loop_dial(l->socks[group]), err;

	if (fd < 0)
		return -1;
	c->loop = l;
	c->ops = ops;
	c->fd = fd;
	c->group = group;
	c->closed = false;
	c->t_start = bench_stats_now_ns();
	if (epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
		err = errno;
		close(fd);
		c->fd = -1;
		errno = err;
		return -1;
	}
	loop_flush(c);
	return 0;
}

static void loop_free_later(struct bench_loop *l, struct bench_conn *c)
{
	if (l->n_dead == l->cap_dead) {
		size_t cap = l->cap_dead ? 2 * l->cap_dead : 64;
		struct bench_conn **p = realloc(l->dead, cap * sizeof(*p));

		if (!p) {
			/* Rather leak one connection than free it inside
			 * its own callback. */
			fprintf(stderr, "fcgi_fanout: out of memory\n");
			return;
		}
		l->dead = p;
		l->cap_dead = cap;
	}
	l->dead[l->n_dead++] = c;
}

void bench_loop_close(struct bench_conn *c)
{
	if (c->closed)
		return;
	if (close(c->fd) != 0 && errno != EINTR)
		perror("fcgi_fanout: close");
	c->fd = -1;
	c->closed = true;
	if (c->ops->free)
		loop_free_later(c->loop, c);
}

void bench_loop_conn_release(struct bench_conn *c)
{
	buf_release(&c->out);
	fcgi_record_tail_free(&c->tail);
}

/* fcgi_record_fn: one whole record from the server. */
static bool loop_record(void *ctx, const struct fcgi_record *rec)
{
	struct bench_conn *c = ctx;

	switch (rec->type) {
	case FCGI_STDOUT:
		if (rec->content_len)
			c->ops->on_stdout(c, (const char *)rec->content,
					  rec->content_len);
		break;
	case FCGI_STDERR:
		c->loop->stderr_bytes += rec->content_len;
		break;
	case FCGI_END_REQUEST:
		c->ops->on_end(c, true);
		return false;
	default:
		break;
	}
	return !c->closed;
}

static void loop_readable(struct bench_loop *l, struct bench_conn *c)
{
	ssize_t n;

	while (!c->closed) {
		n = read(c->fd, l->rbuf, sizeof(l->rbuf));
		if (n > 0) {
			if (fcgi_record_feed(&c->tail, l->rbuf, (size_t)n,
					     loop_record, c) != EC_OK &&
			    !c->closed) {
				fprintf(stderr, "fcgi_fanout: bad FastCGI "
						"record from the server\n");
				c->ops->on_end(c, false);
			}
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		c->ops->on_end(c, false); /* EOF or error before END_REQUEST */
	}
}

void bench_loop_once(struct bench_loop *l, int timeout_ms)
{
	int n = epoll_wait(l->ep, l->evs, BENCH_LOOP_EVENTS, timeout_ms);

	for (int i = 0; i < n; i++) {
		struct bench_conn *c = l->evs[i].data.ptr;

		if (c->closed)
			continue;
		if (l->evs[i].events & EPOLLOUT)
			loop_flush(c);
		if (!c->closed && l->evs[i].events & (EPOLLIN | EPOLLHUP |
						      EPOLLERR | EPOLLRDHUP))
			loop_readable(l, c);
	}
	bench_loop_reap(l);
	if (l->idle)
		l->idle(l->idle_arg);
}

bool bench_loop_until(struct bench_loop *l, bench_loop_cond_fn *cond, void *arg,
		      int64_t timeout_ms)
{
	int64_t deadline = bench_stats_now_ns() + timeout_ms * BENCH_NS_PER_MS;

	while (!cond(arg)) {
		int64_t left =
			(deadline - bench_stats_now_ns()) / BENCH_NS_PER_MS;

		if (left <= 0)
			return false;
		bench_loop_once(l, left < 50 ? (int)left : 50);
	}
	return true;
}

static bool loop_never(void *arg)
{
	(void)arg;
	return false;
}

void bench_loop_sleep(struct bench_loop *l, int64_t ms)
{
	bench_loop_until(l, loop_never, NULL, ms);
}
