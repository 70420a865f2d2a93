/* bench_loop.h -- the bench client's connections and its epoll loop.
 *
 * One thread, one epoll set, every connection non-blocking: that is how
 * the client holds thousands of open streams the way a web server would.
 * The loop only moves bytes: it writes a connection's queued request, reads
 * what the server sends and hands it to src/fcgi_record.c's
 * fcgi_record_feed(), then passes each record to the connection's kind
 * through a small table (struct bench_conn_ops), after nchan's subscribers:
 *
 *   FCGI_STDOUT content   -> ops->on_stdout(c, bytes, n)
 *   FCGI_STDERR           -> counted in loop->stderr_bytes
 *   FCGI_END_REQUEST      -> ops->on_end(c, true)
 *   EOF, error, bad record -> ops->on_end(c, false)
 *
 *   struct my_kind { struct bench_conn c; ... };  // c embedded
 *   buf_init(&k->c.out, cap); ...append the request to k->c.out...
 *   if (bench_loop_connect(loop, &k->c, group, &my_ops) != 0) ... errno
 *   bench_loop_until(loop, cond, arg, timeout_ms);
 *
 * Invariants: on_end() closes its connection (bench_loop_close()); a closed
 * connection is never read again.  A connection whose ops have a free
 * function is freed by the loop after the iteration in which it was closed,
 * never inside its own callback; one without (the streams) is freed by its
 * owner.  Every wait takes a timeout.
 *
 * To add a kind of connection: an ops table and the struct embedding
 * struct bench_conn (bench_req.c and bench_recv.c are the two today).
 */
#ifndef EMITCGI_BENCH_LOOP_H
#define EMITCGI_BENCH_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>

#include "buf.h"

/* Sockets (emitcgi processes) one run talks to. */
#define BENCH_MAX_SOCKS 2
#define BENCH_LOOP_EVENTS 4096
#define BENCH_LOOP_READ_BYTES (1 << 16)
/* The largest request one connection queues. */
#define BENCH_LOOP_OUT_MAX (1u << 17)

struct bench_conn;
struct bench_loop;

struct bench_conn_ops {
	/* Content of one FCGI_STDOUT record (n > 0). */
	void (*on_stdout)(struct bench_conn *c, const char *p, size_t n);
	/* The request ended (complete: by END_REQUEST) or the connection
	 * broke; must call bench_loop_close(c). */
	void (*on_end)(struct bench_conn *c, bool complete);
	/* Frees the object embedding c after bench_loop_conn_release();
	 * NULL when its owner frees it. */
	void (*free)(struct bench_conn *c);
};

struct bench_conn {
	struct bench_loop *loop;
	const struct bench_conn_ops *ops;
	int fd;
	int group;	  /* index of the socket (server) */
	bool closed;	  /* fd closed */
	struct buf out;	  /* request bytes not yet written */
	struct buf *tail; /* an incomplete record (fcgi_record_feed) */
	int64_t t_start;  /* when it was connected */
};

typedef void bench_loop_idle_fn(void *arg);
typedef bool bench_loop_cond_fn(void *arg);

struct bench_loop {
	int ep;
	const char *socks[BENCH_MAX_SOCKS];
	int nsocks;
	uint64_t stderr_bytes;
	struct bench_conn **dead; /* closed this iteration, freed after it */
	size_t n_dead, cap_dead;
	bench_loop_idle_fn *idle; /* once per iteration, or NULL */
	void *idle_arg;
	struct epoll_event evs[BENCH_LOOP_EVENTS];
	char rbuf[BENCH_LOOP_READ_BYTES];
};

/* Creates the epoll set: 0, or -1 with errno. */
int bench_loop_init(struct bench_loop *l);
/* Closes the epoll set and frees what the loop still holds. */
void bench_loop_release(struct bench_loop *l);

/* Connects c to socket `group` and starts writing c->out (already filled
 * by the caller).  0, or -1 with errno (EAGAIN: the listen backlog is full,
 * try later); on failure c is not connected and the caller frees it. */
int bench_loop_connect(struct bench_loop *l, struct bench_conn *c, int group,
		       const struct bench_conn_ops *ops);
/* Closes c's fd (once); frees it after this iteration when ops->free. */
void bench_loop_close(struct bench_conn *c);
/* Frees c's buffers (not c). */
void bench_loop_conn_release(struct bench_conn *c);

/* Frees the closed connections now (outside any callback only). */
void bench_loop_reap(struct bench_loop *l);
/* One epoll_wait and its events, then the reaping and the idle hook. */
void bench_loop_once(struct bench_loop *l, int timeout_ms);
/* Runs the loop until cond(arg) or timeout_ms: true when cond held. */
bool bench_loop_until(struct bench_loop *l, bench_loop_cond_fn *cond, void *arg,
		      int64_t timeout_ms);
/* Runs the loop for ms milliseconds. */
void bench_loop_sleep(struct bench_loop *l, int64_t ms);

#endif
