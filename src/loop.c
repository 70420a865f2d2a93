/* loop.c -- a tiny epoll event loop (see loop.h).
 *
 * Level-triggered epoll.  epoll_event.data carries the fd and a
 * registration number (issue 8): a table indexed by fd gives the struct
 * loop_io that owns it now, so an fd can change owner (loop_io_take(): a
 * connection parked in the hub, and given back) without an epoll_ctl()
 * when the new owner waits for the same events.  A registration number
 * that is not the fd's current one (the fd was closed and its number
 * reused within a batch) is an event of the old file: skipped.  An io
 * stopped or forgotten while a batch is dispatched loses its
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

/* What the loop knows of one fd: its owner now, the events registered
 * with epoll, and its registration number. */
struct loop_slot {
	struct loop_io *io;
	uint32_t mask;
	uint32_t reg;
};

struct loop {
	int epfd;
	struct loop_slot *slots; /* indexed by fd */
	size_t n_slots;
	uint32_t next_reg;
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
	free(loop->slots);
	free(loop);
}

void loop_io_init(struct loop_io *io, int fd, loop_io_fn *fn)
{
	io->fn = fn;
	io->fd = fd;
	io->mask = 0;
}

/* The slot of fd, the table grown to hold it; NULL out of memory. */
static struct loop_slot *loop_slot(struct loop *loop, int fd)
{
	if (fd < 0)
		return NULL;
	if ((size_t)fd >= loop->n_slots) {
		size_t n = loop->n_slots ? loop->n_slots : 64;
		struct loop_slot *s;

		while (n <= (size_t)fd)
			n *= 2;
		s = realloc(loop->slots, n * sizeof(*s));
		if (!s)
			return NULL;
		memset(s + loop->n_slots, 0, (n - loop->n_slots) * sizeof(*s));
		loop->slots = s;
		loop->n_slots = n;
	}
	return &loop->slots[fd];
}

static uint64_t loop_data(int fd, uint32_t reg)
{
	return (uint64_t)reg << 32 | (uint32_t)fd;
}

enum ecode loop_io_start(struct loop *loop, struct loop_io *io, uint32_t events)
{
	struct loop_slot *slot;
	struct epoll_event ev = { .events = events };
	bool active = loop_io_active(io);
	uint32_t reg;

	if (active && (io->mask & ~LOOP_IO_ACTIVE) == events)
		return EC_OK;
	if (!(slot = loop_slot(loop, io->fd))) {
		errno = ENOMEM;
		return EC_IO;
	}
	reg = active ? slot->reg : ++loop->next_reg;
	ev.data.u64 = loop_data(io->fd, reg);
	if (epoll_ctl(loop->epfd, active ? EPOLL_CTL_MOD : EPOLL_CTL_ADD,
		      io->fd, &ev) < 0)
		return EC_IO;
	*slot = (struct loop_slot){ .io = io, .mask = events, .reg = reg };
	io->mask = events | LOOP_IO_ACTIVE;
	return EC_OK;
}

void loop_io_stop(struct loop *loop, struct loop_io *io)
{
	if (!loop_io_active(io))
		return;
	/* Fails only if fd was closed first, which removed it anyway. */
	(void)epoll_ctl(loop->epfd, EPOLL_CTL_DEL, io->fd, NULL);
	if ((size_t)io->fd < loop->n_slots && loop->slots[io->fd].io == io)
		loop->slots[io->fd] = (struct loop_slot){ 0 };
	io->mask = 0;
}

void loop_io_forget(struct loop_io *io)
{
	io->mask = 0;
}

enum ecode loop_io_take(struct loop *loop, struct loop_io *io, uint32_t events)
{
	struct loop_slot *slot;
	struct epoll_event ev = { .events = events };

	if (io->fd < 0 || (size_t)io->fd >= loop->n_slots ||
	    !loop->slots[io->fd].reg) {
		errno = EBADF;
		return EC_IO;
	}
	slot = &loop->slots[io->fd];
	/* The same events: only the owner changes, no system call. */
	if (slot->mask != events) {
		ev.data.u64 = loop_data(io->fd, slot->reg);
		if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, io->fd, &ev) < 0)
			return EC_IO;
		slot->mask = events;
	}
	/* The old owner forgets its io (loop_io_forget()); events of this
	 * batch still to come go to the new one. */
	slot->io = io;
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
		uint64_t d = loop->events[i].data.u64;
		int fd = (int)(uint32_t)d;
		struct loop_slot *slot;
		struct loop_io *io;

		if (fd < 0 || (size_t)fd >= loop->n_slots)
			continue;
		slot = &loop->slots[fd];
		io = slot->io;
		if (slot->reg == (uint32_t)(d >> 32) && io &&
		    loop_io_active(io))
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
