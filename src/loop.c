/* loop.c -- a tiny epoll event loop (see loop.h).
 *
 * Level-triggered epoll; epoll_event.data.ptr is the struct loop_io, so
 * there is no fd-indexed table and no limit on descriptors but the
 * process's.  An io stopped while a batch is dispatched loses its
 * LOOP_IO_ACTIVE bit, and the dispatcher skips its remaining events (a
 * stopped and restarted io is a fresh registration: it may get an event it
 * did not wait for, which callbacks tolerate as level-triggered code does).
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"

#define LOOP_BATCH 256

struct loop {
	int epfd;
	bool stop;
	loop_before_sleep_fn *before_sleep;
	void *before_sleep_ctx;
	struct epoll_event events[LOOP_BATCH];
};

enum ecode loop_new(struct loop **out)
{
	struct loop *loop = calloc(1, sizeof(*loop));

	*out = NULL;
	if (!loop)
		return EC_NOMEM;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		log_error("loop: epoll_create1: %s", strerror(errno));
		free(loop);
		return EC_IO;
	}
	*out = loop;
	return EC_OK;
}

void loop_free(struct loop *loop)
{
	if (!loop)
		return;
	if (close(loop->epfd) < 0)
		log_warn("loop: close: %s", strerror(errno));
	free(loop);
}

void loop_io_init(struct loop_io *io, int fd, loop_io_fn *fn)
{
	io->fn = fn;
	io->fd = fd;
	io->mask = 0;
}

enum ecode loop_io_start(struct loop *loop, struct loop_io *io, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = io };
	int op = loop_io_active(io) ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;

	if (loop_io_active(io) && (io->mask & ~LOOP_IO_ACTIVE) == events)
		return EC_OK;
	if (epoll_ctl(loop->epfd, op, io->fd, &ev) < 0)
		return EC_IO;
	io->mask = events | LOOP_IO_ACTIVE;
	return EC_OK;
}

void loop_io_stop(struct loop *loop, struct loop_io *io)
{
	if (!loop_io_active(io))
		return;
	/* Fails only if fd was closed first, which removed it anyway. */
	(void)epoll_ctl(loop->epfd, EPOLL_CTL_DEL, io->fd, NULL);
	io->mask = 0;
}

void loop_io_forget(struct loop_io *io)
{
	io->mask = 0;
}

enum ecode loop_io_take(struct loop *loop, struct loop_io *io, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = io };

	if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, io->fd, &ev) < 0)
		return EC_IO;
	io->mask = events | LOOP_IO_ACTIVE;
	return EC_OK;
}

void loop_set_before_sleep(struct loop *loop, loop_before_sleep_fn *fn,
			   void *ctx)
{
	loop->before_sleep = fn;
	loop->before_sleep_ctx = ctx;
}

void *loop_ctx(const struct loop *loop)
{
	return loop->before_sleep_ctx;
}

enum ecode loop_once(struct loop *loop, int timeout_ms)
{
	int n = epoll_wait(loop->epfd, loop->events, LOOP_BATCH, timeout_ms);

	if (n < 0) {
		if (errno == EINTR)
			return EC_OK;
		log_error("loop: epoll_wait: %s", strerror(errno));
		return EC_IO;
	}
	for (int i = 0; i < n; i++) {
		struct loop_io *io = loop->events[i].data.ptr;

		if (loop_io_active(io))
			io->fn(loop, io, loop->events[i].events);
	}
	return EC_OK;
}

enum ecode loop_run(struct loop *loop)
{
	enum ecode rc = EC_OK;
	int timeout_ms;

	loop->stop = false;
	while (!loop->stop) {
		timeout_ms = -1;
		if (loop->before_sleep)
			timeout_ms = loop->before_sleep(loop,
							loop->before_sleep_ctx);
		if (loop->stop)
			break;
		if ((rc = loop_once(loop, timeout_ms)) != EC_OK)
			break;
	}
	return rc;
}

void loop_stop(struct loop *loop)
{
	loop->stop = true;
}

static void loop_waker_on_io(struct loop *loop, struct loop_io *io,
			     uint32_t events)
{
	uint64_t v;

	(void)loop;
	(void)events;
	/* The owner's flags say what happened; its hook acts. */
	if (read(io->fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("hub: eventfd read: %s", strerror(errno));
}

enum ecode loop_waker_open(struct loop *loop, struct loop_waker *wk)
{
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	loop_io_init(&wk->io, fd, loop_waker_on_io);
	if (fd < 0) {
		log_error("hub: eventfd: %s", strerror(errno));
		return EC_IO;
	}
	if (loop_io_start(loop, &wk->io, EPOLLIN) != EC_OK) {
		log_error("hub: epoll_ctl: %s", strerror(errno));
		return EC_IO;
	}
	return EC_OK;
}

void loop_waker_wake(struct loop_waker *wk)
{
	uint64_t one = 1;

	/* Fails only when the counter is saturated: it is readable then. */
	if (write(wk->io.fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("hub: eventfd write: %s", strerror(errno));
}

void loop_waker_close(struct loop *loop, struct loop_waker *wk)
{
	if (wk->io.fd < 0)
		return;
	if (loop)
		loop_io_stop(loop, &wk->io);
	if (close(wk->io.fd) < 0)
		log_warn("hub: close: %s", strerror(errno));
	wk->io.fd = -1;
}
