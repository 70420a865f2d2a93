/* conn_job.c -- a connection's request on a worker thread and back (see
 * conn_int.h, conn.h).
 *
 * conn_dispatch() moves the request's bytes (params, body) into a job and
 * submits it; the connection stays in the loop, watched for a hang-up
 * (then it is orphaned: its fd closed, its struct kept for the job).  On
 * the worker, conn_job_run() runs api_serve_buffered() on the worker's
 * own store connection and queues the job for the loop (an eventfd wakes
 * it for the first of a batch).  Back on the loop, conn_job_done() writes
 * the answer, or parks the connection in the hub (the fd changes owner in
 * the epoll set, no syscall but one MOD), or answers 503 when the hub
 * refuses.  A re-poll that needs nothing but the session cache never
 * reaches a worker (conn_fast.c).
 *
 * May call: api.h, hub.h, workers.h, runtime.h, store.h, metrics.h and
 * conn.c's helpers (conn_int.h); no socket call.
 */
#include "autoconfig.h"

#include <stdlib.h>

#include "api.h"
#include "conn_int.h"
#include "hub.h"
#include "log.h"
#include "metrics.h"
#include "request.h"
#include "response.h"
#include "runtime.h"
#include "store.h"

/* ---- workers ---- */

struct conn_worker {
	struct api_ctx ctx;
	struct conns *cs;
};

static void *conn_worker_init(void *arg)
{
	struct conns *cs = arg;
	struct conn_worker *w = calloc(1, sizeof(*w));
	enum ecode rc;

	if (!w)
		return NULL;
	w->cs = cs;
	w->ctx.cfg = cs->cfg;
	w->ctx.hub = cs->hub;
	if ((rc = runtime_store_open(cs->rt, &w->ctx.st)) != EC_OK) {
		log_error("worker: cannot open %s: %s", cs->cfg->db_path,
			  ecode_name(rc));
		free(w);
		return NULL;
	}
	return w;
}

static void conn_worker_fini(void *arg, void *state)
{
	struct conn_worker *w = state;

	(void)arg;
	store_close(w->ctx.st);
	free(w);
}

const struct workers_ops conn_workers_ops = {
	.init = conn_worker_init,
	.fini = conn_worker_fini,
};

/* Worker thread: the handler, then back to the loop. */
static void conn_job_run(struct workers_job *wj, void *state)
{
	static char *const no_env[] = { NULL };
	struct conn_job *job = container_of(wj, struct conn_job, wj);
	struct conn_worker *w = state;
	struct conns *cs = w->cs;
	struct request rq;
	struct response res;
	bool was_empty;

	request_init(&rq);
	response_init(&res);
	job->result = api_serve_buffered(
		&w->ctx, &rq, job->env.envp ? job->env.envp : no_env,
		job->body.data, job->body.len, job->pre_rc, &res, &job->wait);
	runtime_answer(&res, &job->result, &job->out);
	response_release(&res);
	request_release(&rq);
	fcgi_params_env_free(&job->env);
	buf_release(&job->body);

	/* The loop takes the whole list at once: wake it for the first. */
	pthread_mutex_lock(&cs->mu);
	was_empty = list_empty(&cs->done);
	list_append(&cs->done, &job->wj.link);
	pthread_mutex_unlock(&cs->mu);
	if (was_empty)
		loop_waker_wake(&cs->wake);
}

static void conn_job_free(struct conn_job *job)
{
	fcgi_params_env_free(&job->env);
	buf_release(&job->body);
	buf_release(&job->out);
	free(job);
}

/* The request is read whole: to a worker. */
void conn_dispatch(struct conn *c)
{
	struct conns *cs = c->cs;

	if (c->refuse || cs->stopping) {
		metrics_inc(METRIC_FCGI_REFUSED);
		conn_reply_error(c, EC_UNAVAILABLE);
		return;
	}
	if (conn_fast_poll(c))
		return;
	conn_dispatch_job(c);
}

void conn_dispatch_job(struct conn *c)
{
	struct conns *cs = c->cs;
	struct conn_job *job;
	enum ecode rc = EC_OK;

	job = calloc(1, sizeof(*job));
	if (!job) {
		conn_reply_error(c, EC_NOMEM);
		return;
	}
	job->wj.run = conn_job_run;
	job->c = c;
	/* Before the worker reads the store: a session that ends after
	 * that read moves the generation, and its answer is not cached. */
	job->cache_gen = hub_sessions_gen(cs->hub);
	buf_init(&job->out, CONN_OUT_MAX);
	if (c->params_too_large)
		job->pre_rc = EC_HEADERS_TOO_LARGE;
	else if ((rc = fcgi_params_env(c->params.data, c->params.len,
				       &job->env)) != EC_OK)
		job->pre_rc = rc == EC_NOMEM ? EC_NOMEM : EC_INVALID_PARAM;
	else if (c->body_too_large)
		job->pre_rc = EC_TOO_LARGE;
	/* The body moves to the job; the connection keeps no copy. */
	job->body = c->body;
	buf_init(&c->body, REQUEST_BODY_MAX_BYTES);
	buf_release(&c->params);
	c->state = CONN_BUSY;
	list_del(&c->link);
	list_init(&c->link);
	/* Still watched for reading (a hang-up orphans it; a web server
	 * sends nothing else before our answer): no epoll_ctl per request. */
	cs->jobs_out++;
	workers_submit(cs->workers, &job->wj);
}

/* Loop thread: a worker is done with job. */
void conn_job_done(struct conns *cs, struct conn_job *job)
{
	struct conn *c = job->c;
	struct hub_waiter_spec spec;
	enum ecode rc;

	cs->jobs_out--;
	conn_fast_learn(cs, job);
	if (c->state == CONN_ORPHAN) {
		conn_free(c);
		goto out;
	}
	if (job->result != API_WAIT_FOR_EVENT) {
		conn_reply(c, job->out.data, job->out.len);
		goto out;
	}
	spec = (struct hub_waiter_spec){
		.kind = job->wait.kind,
		.sink = HUB_SINK_FCGI,
		.fd = c->io.fd,
		.in_fd = -1,
		.request_id = c->request_id,
		.cursor = job->wait.cursor,
		.session_id = job->wait.session_id,
		.user_id = job->wait.user_id,
		.sio_id = job->wait.sio_id,
		.timeout_ms = job->wait.timeout_ms,
		.keep_conn = c->keep,
		.immediate = job->wait.immediate,
		.prelude = job->out.data,
		.prelude_len = job->out.len,
	};
	/* The hub takes the fd over in the loop (one epoll_ctl). */
	spec.registered = true;
	rc = hub_park(cs->hub, &spec);
	if (rc != EC_OK) {
		/* Nothing was written yet: a proper answer (503 at
		 * capacity or stopping). */
		conn_reply_error(c, rc);
		goto out;
	}
	conn_parked(c);
out:
	conn_job_free(job);
}

void conn_parked(struct conn *c)
{
	loop_io_forget(&c->io);
	if (c->refuse)
		conn_spare_reopen(c->cs);
	c->state = CONN_ORPHAN; /* the hub has the fd now */
	list_del(&c->link);
	list_append(&c->cs->dead, &c->link);
}
