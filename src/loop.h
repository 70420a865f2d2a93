/* loop.h -- a tiny epoll event loop (after Redis ae.c), for the hub.
 *
 * The owner embeds a struct loop_io per file descriptor it watches and gets
 * its callback with the epoll events (EPOLLIN, EPOLLOUT, EPOLLHUP, ...).
 * Timers are not the loop's business: before every wait the loop calls the
 * owner's before-sleep hook, which runs whatever is due (timers, deferred
 * frees) and returns how long the loop may sleep.
 *
 *   struct loop *l;
 *   loop_new(&l);
 *   loop_io_init(&w->io, fd, on_io);        // on_io(l, &w->io, events)
 *   loop_io_start(l, &w->io, EPOLLIN);      // add, or change the mask
 *   loop_set_before_sleep(l, tick, hub);    // int tick(l, hub): ms or -1
 *   loop_run(l);                            // until loop_stop(l)
 *   loop_io_stop(l, &w->io);                // before close(fd)
 *   loop_free(l);
 *
 *   loop_waker_open(l, &wk);                // an eventfd the loop drains
 *   loop_waker_wake(&wk);                   // any thread, signal-safe
 *   loop_waker_close(l, &wk);
 *
 * Invariants: an io stopped during a batch of events gets no callback for
 * the rest of that batch; its memory must stay valid until the batch ends
 * (the owner frees in the before-sleep hook: Redis's deferred free).  No
 * threads: every call is made on the loop's thread.
 *
 * To extend: keep it small; anything with a policy (timers, what a wake-up
 * means) belongs to the owner.
 */
#ifndef EMITCGI_LOOP_H
#define EMITCGI_LOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

#include "error.h"

struct loop;
struct loop_io;

typedef void loop_io_fn(struct loop *loop, struct loop_io *io, uint32_t events);
/* Runs what is due; returns the ms the loop may sleep, -1 for no limit. */
typedef int loop_before_sleep_fn(struct loop *loop, void *ctx);

struct loop_io {
	loop_io_fn *fn;
	int fd;
	uint32_t mask; /* epoll events, plus LOOP_IO_ACTIVE while registered */
};

/* Set in loop_io.mask while the io is registered (a bit epoll leaves
 * unused). */
#define LOOP_IO_ACTIVE (1u << 27)

enum ecode loop_new(struct loop **out);
void loop_free(struct loop *loop);

void loop_io_init(struct loop_io *io, int fd, loop_io_fn *fn);
/* Registers io for events (EPOLLHUP and EPOLLERR are always reported, so 0
 * watches for hang-up only), or changes its events.  EC_IO with errno set
 * on failure (EPERM: fd is a regular file, which epoll cannot watch). */
enum ecode loop_io_start(struct loop *loop, struct loop_io *io,
			 uint32_t events);
/* Unregisters io (no-op if it is not registered). */
void loop_io_stop(struct loop *loop, struct loop_io *io);
/* Hands an fd from one owner to another on the same loop without leaving
 * the epoll set (two syscalls fewer than stop + start): the old owner
 * forgets its io (no syscall), the new one takes the fd with its own io
 * (EPOLL_CTL_MOD, or no syscall at all when it waits for the events the
 * fd is registered with); events of the current batch not yet dispatched
 * go to the new owner.  EC_IO with errno on failure (the fd is then still
 * registered, under no io). */
void loop_io_forget(struct loop_io *io);
enum ecode loop_io_take(struct loop *loop, struct loop_io *io, uint32_t events);
static inline bool loop_io_active(const struct loop_io *io)
{
	return io->mask & LOOP_IO_ACTIVE;
}

void loop_set_before_sleep(struct loop *loop, loop_before_sleep_fn *fn,
			   void *ctx);
/* The ctx given to loop_set_before_sleep(): the owner, for callbacks. */
void *loop_ctx(const struct loop *loop);
/* Waits at most timeout_ms (-1: no limit) and dispatches one batch. */
enum ecode loop_once(struct loop *loop, int timeout_ms);
/* Hook, wait, dispatch, until loop_stop().  EC_IO if epoll_wait fails. */
enum ecode loop_run(struct loop *loop);
/* Makes loop_run() return after the current step; loop thread only. */
void loop_stop(struct loop *loop);

/* A wake-up from other threads: an eventfd the loop drains itself, so
 * the next step (and its before-sleep hook) runs at once.  What happened
 * is the owner's business (flags it sets before waking). */
struct loop_waker {
	struct loop_io io; /* fd -1 when not open */
};
/* EC_IO (logged) if the eventfd cannot be made or registered. */
enum ecode loop_waker_open(struct loop *loop, struct loop_waker *wk);
/* Any thread; async-signal-safe (one write()). */
void loop_waker_wake(struct loop_waker *wk);
/* Unregisters and closes; harmless on a waker never opened (fd -1). */
void loop_waker_close(struct loop *loop, struct loop_waker *wk);

#endif
