/* workers.c -- the job queue and its threads (see workers.h).
 *
 * One mutex and one condition variable guard a FIFO list; busy counts
 * queued and running jobs so that a stop can wait for them.  Threads are
 * detached: the process ends with _exit() after a stop, and a thread
 * blocked in a store call must not hold the exit up.
 */
#include "autoconfig.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#include "error.h"
#include "log.h"
#include "runtime.h"
#include "workers.h"

struct workers {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct list queue;
	int started; /* threads past their init */
	bool stopping;
	atomic_int busy;
	const struct workers_ops *ops;
	void *arg;
};

static void *workers_main(void *p)
{
	struct workers *w = p;
	void *state = w->ops->init(w->arg);

	if (!state)
		runtime_die("a worker thread could not start");
	pthread_mutex_lock(&w->mu);
	w->started++;
	pthread_cond_broadcast(&w->cv);
	for (;;) {
		struct workers_job *job;

		while (list_empty(&w->queue) && !w->stopping)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->stopping)
			break;
		job = container_of(w->queue.next, struct workers_job, link);
		list_del(&job->link);
		pthread_mutex_unlock(&w->mu);
		job->run(job, state);
		atomic_fetch_sub(&w->busy, 1);
		pthread_mutex_lock(&w->mu);
	}
	pthread_mutex_unlock(&w->mu);
	if (w->ops->fini)
		w->ops->fini(w->arg, state);
	return NULL;
}

enum ecode workers_start(int n, const struct workers_ops *ops, void *arg,
			 struct workers **out)
{
	struct workers *w = calloc(1, sizeof(*w));
	pthread_attr_t attr;

	*out = NULL;
	if (!w)
		return EC_NOMEM;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	list_init(&w->queue);
	w->ops = ops;
	w->arg = arg;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (int i = 0; i < n; i++) {
		pthread_t t;

		if (pthread_create(&t, &attr, workers_main, w) != 0)
			runtime_die("cannot start a worker thread");
	}
	pthread_attr_destroy(&attr);
	/* Every thread holds what its init opened (a store connection, its
	 * descriptors) before the program says it serves. */
	pthread_mutex_lock(&w->mu);
	while (w->started < n)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
	*out = w;
	return EC_OK;
}

void workers_submit(struct workers *w, struct workers_job *job)
{
	atomic_fetch_add(&w->busy, 1);
	pthread_mutex_lock(&w->mu);
	list_append(&w->queue, &job->link);
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

int workers_busy(struct workers *w)
{
	return atomic_load(&w->busy);
}

void workers_stop(struct workers *w)
{
	pthread_mutex_lock(&w->mu);
	w->stopping = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}
