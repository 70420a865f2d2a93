/* conn_int.h -- what conn.c (connections in the loop) shares with
 * conn_job.c (their requests on the worker threads): the connection, the
 * job, the server.  Not for any other module: the rest of the program
 * sees conn.h only.
 *
 * conn.c owns a connection's bytes and states; conn_job.c owns the
 * hand-over to a worker and back (conn_dispatch(), conn_job_done()) and
 * what runs on the worker (the handler).  Both run on the loop thread but
 * for conn_job.c's job function.
 */
#ifndef EMITCGI_CONN_INT_H
#define EMITCGI_CONN_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "api.h"
#include "buf.h"
#include "conn.h"
#include "eio.h"
#include "fcgi_params.h"
#include "list.h"
#include "loop.h"
#include "session_cache.h"
#include "workers.h"

#define CONN_READ_BYTES 16384
#define CONN_READS_PER_EVENT 4 /* fairness: then back to the loop */
#define CONN_ACCEPTS_PER_EVENT 64
#define CONN_ACCEPT_RETRY_MS 100 /* out of descriptors, spare in use */
#define CONN_OUT_MAX (RESPONSE_BODY_MAX_BYTES + 2 * RESPONSE_HEAD_MAX_BYTES)

enum conn_state {
	CONN_IDLE,
	CONN_PARAMS,
	CONN_STDIN,
	CONN_BUSY,
	CONN_WRITE,
	CONN_ORPHAN, /* peer gone while a worker has the request */
};

enum conn_phase { /* deadline FIFOs */
		  CONN_PH_IDLE,
		  CONN_PH_HEADER,
		  CONN_PH_BODY,
		  CONN_PH_WRITE,
		  CONN_PHASES,
};

struct conn_job;

struct conn {
	struct loop_io io;
	struct conns *cs;
	struct list link; /* a phase FIFO, or dead; empty when BUSY */
	int64_t deadline_ms;
	uint8_t state;
	bool keep;   /* FCGI_KEEP_CONN for this request */
	bool refuse; /* took the spare fd: answer 503 */
	bool params_too_large;
	bool body_too_large;
	uint16_t request_id;
	/* A socket.io POST's early claim (conn_claim()): the job is out,
	 * the body came meanwhile, the request went meanwhile. */
	bool claim_out, body_done, claim_drop;
	uint8_t claim; /* enum sio_claim, until the request's job */
	char claim_sid[EIO_SID_LEN + 1];
	struct buf *tail; /* a partial record */
	struct buf params;
	struct buf body;
	struct buf out; /* framed bytes not yet written */
	size_t out_off;
};

enum conn_job_kind {
	CONN_JOB_REQUEST, /* the request, read whole */
	CONN_JOB_CLAIM,	  /* a socket.io POST's params are in: claim */
	CONN_JOB_RELEASE, /* its body never came: let go (c is NULL) */
};

struct conn_job {
	struct workers_job wj; /* wj.link: the queue, then cs->done */
	struct conn *c;
	uint8_t kind;  /* enum conn_job_kind */
	uint8_t claim; /* enum sio_claim: for the request, or the result */
	char sid[EIO_SID_LEN + 1]; /* CLAIM: its result; RELEASE: whose */
	struct fcgi_params_env env;
	struct buf body;
	enum ecode pre_rc;
	uint64_t cache_gen; /* hub_sessions_gen() at dispatch */
	/* Filled by the worker. */
	struct buf out; /* the CGI response: head and body */
	enum api_result result;
	struct api_wait wait;
};

struct conns {
	const struct config *cfg;
	struct runtime *rt;
	struct hub *hub;
	struct loop *loop;
	struct workers *workers;
	struct loop_io listen_io;
	struct loop_waker wake;
	int spare_fd;
	int64_t accept_retry_ms; /* 0: accepting */
	bool stopping;
	int jobs_out; /* loop thread: submitted, not yet back */
	struct list phase[CONN_PHASES];
	struct list dead;

	pthread_mutex_t mu; /* guards done */
	struct list done;
	/* Loop thread: sessions of recent polls (issue 8, conn_fast.c), and
	 * the re-polls waiting for the tick to park them. */
	struct session_cache cache;
	struct list fast_q;
};

/* conn.c, for conn_job.c. */
/* Frames a CGI response as FCGI_STDOUT records and the end of the
 * request, and writes it. */
void conn_reply(struct conn *c, const void *data, size_t len);
/* An answer made on the loop, without a worker (503, 500). */
void conn_reply_error(struct conn *c, enum ecode rc);
/* Frees a connection whose fd is closed or handed over. */
void conn_free(struct conn *c);
/* Opens the spare descriptor again (EMFILE). */
void conn_spare_reopen(struct conns *cs);

/* conn_job.c: the hub has taken c's fd (hub_park() said EC_OK): c
 * leaves the loop and is freed in the tick. */
void conn_parked(struct conn *c);

/* conn_job.c: the request to a worker (conn_dispatch() past its
 * refusals and the fast path). */
void conn_dispatch_job(struct conn *c);

/* conn_fast.c, for conn_job.c and conn.c. */
/* The request is read whole: when it is a re-poll that needs nothing but
 * the cache, it is queued for the tick (true: c is BUSY, the queue's). */
bool conn_fast_poll(struct conn *c);
/* The tick: the queued re-polls parked in the hub, or to workers. */
void conn_fast_run(struct conns *cs);
/* At the end: frees the queue and its connections. */
void conn_fast_drop_all(struct conns *cs);
/* A worker's answer: what it found of the session goes to the cache. */
void conn_fast_learn(struct conns *cs, const struct conn_job *job);

/* conn_job.c, for conn.c. */
extern const struct workers_ops conn_workers_ops;
/* The request is read whole: to a worker. */
void conn_dispatch(struct conn *c);
/* A socket.io POST's params are in, its body is coming: claim its
 * session on a worker (api_sio_claim()); c->claim_out until it is back. */
void conn_claim(struct conn *c);
/* The request that claimed (or is claiming) goes without its job: let go
 * of the claim. */
void conn_claim_drop(struct conn *c);
/* Loop thread: a worker is done with job. */
void conn_job_done(struct conns *cs, struct conn_job *job);

#endif
