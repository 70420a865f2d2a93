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
 * A socket.io POST has one more job before its request: when its params
 * are in, conn_claim() claims its session on a worker while the loop
 * reads its body (one POST at a time per session: a second POST meanwhile,
 * on any process, is refused and closes the session); the request is
 * dispatched when both are done, and a request that goes without its job
 * lets go of the claim with a CONN_JOB_RELEASE job.
 *
 * May call: api.h, api_sio.h, hub.h, workers.h, runtime.h, store.h, metrics.h
 * and conn.c's helpers (conn_int.h); no socket call.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_sio.h"
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

	if (job->kind == CONN_JOB_CLAIM) {
		enum sio_claim claim;
		enum ecode rc = api_sio_claim(
			&w->ctx, job->env.envp ? job->env.envp : no_env,
			job->sid, &claim);

		if (rc != EC_OK) /* the POST checks itself */
			log_warn("sio: claiming a POST's session: %s",
				 ecode_name(rc));
		job->claim = (uint8_t)claim;
		goto back;
	}
	if (job->kind == CONN_JOB_RELEASE) {
		enum ecode rc = api_sio_release(&w->ctx, job->sid);

		if (rc != EC_OK)
			log_warn("sio: releasing a POST's claim: %s",
				 ecode_name(rc));
		goto back;
	}
	request_init(&rq);
	response_init(&res);
	w->ctx.sio_claim = (enum sio_claim)job->claim;
	job->result = api_serve_buffered(
		&w->ctx, &rq, job->env.envp ? job->env.envp : no_env,
		job->body.data, job->body.len, job->pre_rc, &res, &job->wait);
	runtime_answer(&res, &job->result, &job->out);
	response_release(&res);
	request_release(&rq);
	w->ctx.sio_claim = SIO_CLAIM_NONE;
back:
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

static void conn_job_submit(struct conns *cs, struct conn_job *job)
{
	cs->jobs_out++;
	workers_submit(cs->workers, &job->wj);
}

/* The request is read whole: to a worker. */
void conn_dispatch(struct conn *c)
{
	struct conns *cs = c->cs;

	if (c->refuse || cs->stopping) {
		conn_claim_drop(c);
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
		conn_claim_drop(c);
		conn_reply_error(c, EC_NOMEM);
		return;
	}
	job->wj.run = conn_job_run;
	job->c = c;
	job->claim = c->claim;
	c->claim = SIO_CLAIM_NONE; /* the handler ends it now */
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
	conn_job_submit(cs, job);
}

/* ---- a socket.io POST's claim ---- */

void conn_claim(struct conn *c)
{
	struct conn_job *job;

	/* Without a claim (stopping, out of memory, an old claim's job still
	 * out after an abort) the POST checks for another itself. */
	if (c->claim_out || c->cs->stopping || !(job = calloc(1, sizeof(*job))))
		return;
	job->wj.run = conn_job_run;
	job->c = c;
	job->kind = CONN_JOB_CLAIM;
	if (fcgi_params_env(c->params.data, c->params.len, &job->env) !=
	    EC_OK) {
		free(job);
		return;
	}
	c->claim_out = true;
	conn_job_submit(c->cs, job);
}

/* Lets go of a claim held for sid; job (may be NULL) is reused. */
static void conn_release(struct conns *cs, const char *sid,
			 struct conn_job *job)
{
	if (!job && !(job = calloc(1, sizeof(*job)))) {
		log_warn(
			"sio: out of memory: a POST's claim is left to expire");
		return;
	}
	fcgi_params_env_free(&job->env);
	*job = (struct conn_job){ .wj.run = conn_job_run,
				  .kind = CONN_JOB_RELEASE };
	memcpy(job->sid, sid, sizeof(job->sid));
	conn_job_submit(cs, job);
}

void conn_claim_drop(struct conn *c)
{
	if (c->claim_out)
		c->claim_drop = true; /* seen when its job is back */
	else if (c->claim == SIO_CLAIM_HELD)
		conn_release(c->cs, c->claim_sid, NULL);
	c->claim = SIO_CLAIM_NONE;
	c->body_done = false;
}

static void conn_claim_done(struct conns *cs, struct conn_job *job)
{
	struct conn *c = job->c;
	bool held = job->claim == SIO_CLAIM_HELD;

	c->claim_out = false;
	if (c->state == CONN_ORPHAN || c->claim_drop) {
		c->claim_drop = false;
		if (held)
			conn_release(cs, job->sid, job);
		else
			conn_job_free(job);
		if (c->state == CONN_ORPHAN) {
			conn_free(c);
			return;
		}
	} else {
		c->claim = job->claim;
		memcpy(c->claim_sid, job->sid, sizeof(c->claim_sid));
		conn_job_free(job);
	}
	if (c->body_done) { /* the body came meanwhile */
		c->body_done = false;
		conn_dispatch(c);
	}
}

/* Loop thread: a worker is done with job. */
void conn_job_done(struct conns *cs, struct conn_job *job)
{
	struct conn *c = job->c;
	struct hub_waiter_spec spec;
	enum ecode rc;

	cs->jobs_out--;
	if (job->kind == CONN_JOB_RELEASE) {
		conn_job_free(job);
		return;
	}
	if (job->kind == CONN_JOB_CLAIM) {
		conn_claim_done(cs, job);
		return;
	}
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
