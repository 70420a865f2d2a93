/* bench_req.h -- the bench client's FastCGI requests: the writer, and
 * requests that get one answer (everything but the SSE streams).
 *
 *   struct bench_req_spec r = {"POST", "/api/emit", "", body};
 *   bench_req_build(&out, cookie, &r);              // the bytes only
 *   bench_req_send(loop, cookie, 0, &r, done, arg, NULL); // -> done()
 *   st = bench_req_sync(loop, cookie, 0, &r, &s, 10000);
 *
 * A request is what a web server would send for a browser: BEGIN_REQUEST
 * (responder, request id 1, no keep-alive), CGI/1.1 PARAMS with the
 * session cookie when there is one, the body as STDIN, built with
 * src/fcgi_record.c.  An answer is the CGI head (Status:, Set-Cookie:
 * emitcgi_sid) and the body, whole when END_REQUEST came; a connection
 * that broke first answers status 0.
 *
 * Callbacks run inside the loop; the connection is freed by the loop after
 * them.  bench_req_sync() keeps the loop (and so every stream) running
 * while it waits.
 */
#ifndef EMITCGI_BENCH_REQ_H
#define EMITCGI_BENCH_REQ_H

#include <stdint.h>

#include "bench_loop.h"
#include "buf.h"
#include "error.h"

/* A whole answer is at most this (a poll answer is the largest). */
#define BENCH_REQ_RESP_MAX (1u << 20)
/* The emitcgi_sid value, NUL included. */
#define BENCH_REQ_COOKIE_MAX 160

struct bench_req_spec {
	const char *method;
	const char *path;  /* "/api/events" */
	const char *query; /* "" or "since=7" */
	const char *body;  /* NULL for none */
};

/* Appends the request's records to out.  EC_TOO_LARGE when it does not fit
 * out's cap or one FastCGI record; cookie "" sends none. */
enum ecode bench_req_build(struct buf *out, const char *cookie,
			   const struct bench_req_spec *r);

struct bench_resp {
	int status;	  /* 0 when the connection broke */
	const char *body; /* NUL-terminated; borrowed for the callback */
	char cookie[BENCH_REQ_COOKIE_MAX]; /* from Set-Cookie, or "" */
};

/* elapsed_ns: from connecting to the answer. */
typedef void bench_req_done_fn(void *arg, const struct bench_resp *r,
			       int64_t elapsed_ns);

/* Connects to socket `group` and sends the request; done(arg, ...) runs
 * once with the answer.  0, or -1 with errno (EAGAIN: the listen backlog
 * is full): then done never runs.  When conn is not NULL, *conn is the
 * connection until done runs: bench_loop_close(*conn) hangs up, and then
 * done never runs. */
int bench_req_send(struct bench_loop *l, const char *cookie, int group,
		   const struct bench_req_spec *r, bench_req_done_fn *done,
		   void *arg, struct bench_conn **conn);

/* The answer of bench_req_sync(); body is buf_init()ed by the caller. */
struct bench_req_sync {
	bool done;
	int status;
	char cookie[BENCH_REQ_COOKIE_MAX];
	struct buf body;
	int64_t ns;
};

/* Sends one request and runs the loop until its answer or timeout_ms:
 * returns the status, 0 when none came. */
int bench_req_sync(struct bench_loop *l, const char *cookie, int group,
		   const struct bench_req_spec *r, struct bench_req_sync *s,
		   int64_t timeout_ms);

#endif
