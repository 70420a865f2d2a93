/* workers.h -- the threads that do CPU and database work (a job queue).
 *
 * The event loop never blocks on a peer and never runs a handler; a worker
 * never holds a socket.  The loop submits a job (a request already read
 * whole); a worker runs it with its own per-thread state (a store
 * connection) and hands it back with the done callback, which only queues
 * it for the loop (see conn.c).
 *
 *   struct workers *w;
 *   workers_start(n, &ops, arg, &w);   // n threads; ops->init on each,
 *                                      // done when it returns
 *   workers_submit(w, &job);           // any thread; FIFO
 *   workers_stop(w);                   // no new jobs; threads end after
 *                                      // the one they run
 *   workers_busy(w);                   // jobs queued or running
 *
 * A worker whose init fails, or a thread that cannot be started, ends the
 * process (runtime_die: a log line and exit status 1, so that systemd's
 * Restart=on-failure restarts it) rather than serve with fewer hands.
 *
 * May call: pthread, list.h, log.h, runtime.h (runtime_die).
 */
#ifndef EMITCGI_WORKERS_H
#define EMITCGI_WORKERS_H

#include "error.h"
#include "list.h"

struct workers;
struct workers_job;

typedef void workers_run_fn(struct workers_job *job, void *thread_state);

struct workers_job {
	struct list link;
	workers_run_fn *run; /* on a worker thread */
};

struct workers_ops {
	/* On each new thread: its state (e.g. a store connection); NULL
	 * on failure, which ends the process. */
	void *(*init)(void *arg);
	void (*fini)(void *arg, void *thread_state);
};

enum ecode workers_start(int n, const struct workers_ops *ops, void *arg,
			 struct workers **out);
void workers_submit(struct workers *w, struct workers_job *job);
/* Jobs queued plus jobs running. */
int workers_busy(struct workers *w);
/* Wakes every thread; they end once the job they run is done (queued
 * jobs are left to the caller, who is ending the process). */
void workers_stop(struct workers *w);

#endif
