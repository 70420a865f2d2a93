/* bench_req.c -- FastCGI requests and their answers (see bench_req.h).
 *
 * The head of an answer is CGI (RFC 3875, 6.2): lines up to an empty one,
 * "Status: 404 Not Found" when not 200.  emitcgi ends lines with CRLF; a
 * bare LF is accepted too.
 */
#include "autoconfig.h"

#include <errno.h>
#include <fastcgi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bench_req.h"
#include "bench_stats.h"
#include "fcgi_record.h"

#define REQ_ID 1

/* One request with one answer: a connection kind of bench_loop.h. */
struct req_conn {
	struct bench_conn c; /* first: the loop hands back &c */
	struct buf resp;     /* the CGI answer so far */
	bench_req_done_fn *done;
	void *arg;
};

static enum ecode req_param(struct buf *b, const char *name, const char *value)
{
	return fcgi_record_append_param(b, name, strlen(name), value,
					strlen(value));
}

/* The CGI/1.1 variables a web server passes (RFC 3875, 4.1). */
static enum ecode req_params(struct buf *p, const char *cookie,
			     const struct bench_req_spec *r)
{
	char uri[512], cook[200], clen[32];
	enum ecode rc;

	snprintf(uri, sizeof(uri), "%s%s%s", r->path, *r->query ? "?" : "",
		 r->query);
	if ((rc = req_param(p, "REQUEST_METHOD", r->method)) ||
	    (rc = req_param(p, "REQUEST_URI", uri)) ||
	    (rc = req_param(p, "QUERY_STRING", r->query)) ||
	    (rc = req_param(p, "SCRIPT_NAME", "")) ||
	    (rc = req_param(p, "SERVER_PROTOCOL", "HTTP/1.1")) ||
	    (rc = req_param(p, "GATEWAY_INTERFACE", "CGI/1.1")) ||
	    (rc = req_param(p, "REMOTE_ADDR", "127.0.0.1")) ||
	    (rc = req_param(p, "SERVER_NAME", "localhost")) ||
	    (rc = req_param(p, "HTTP_HOST", "localhost")))
		return rc;
	if (*cookie) {
		snprintf(cook, sizeof(cook), "emitcgi_sid=%s", cookie);
		if ((rc = req_param(p, "HTTP_COOKIE", cook)))
			return rc;
	}
	if (r->body) {
		snprintf(clen, sizeof(clen), "%zu", strlen(r->body));
		if ((rc = req_param(p, "CONTENT_TYPE", "application/json")) ||
		    (rc = req_param(p, "CONTENT_LENGTH", clen)))
			return rc;
	}
	return EC_OK;
}

enum ecode bench_req_build(struct buf *out, const char *cookie,
			   const struct bench_req_spec *r)
{
	size_t body_len = r->body ? strlen(r->body) : 0;
	struct buf params;
	enum ecode rc;

	buf_init(&params, FCGI_RECORD_CONTENT_MAX);
	if ((rc = req_params(&params, cookie, r)) != EC_OK)
		goto out;
	if ((rc = fcgi_record_append_begin(out, REQ_ID, FCGI_RESPONDER, 0)) ||
	    (rc = fcgi_record_append(out, FCGI_PARAMS, REQ_ID, params.data,
				     params.len)) ||
	    (rc = fcgi_record_append(out, FCGI_PARAMS, REQ_ID, NULL, 0)))
		goto out;
	if (body_len && (rc = fcgi_record_append(out, FCGI_STDIN, REQ_ID,
						 r->body, body_len)))
		goto out;
	rc = fcgi_record_append(out, FCGI_STDIN, REQ_ID, NULL, 0);
out:
	buf_release(&params);
	return rc;
}

/* Splits data (the answer, NUL-terminated, modified) into head and body,
 * filling r; false when there is no end of head. */
static bool req_parse(char *data, struct bench_resp *r)
{
	char *body = strstr(data, "\r\n\r\n"), *line, *next, *v;
	size_t skip = 4;

	if (!body) {
		body = strstr(data, "\n\n");
		skip = 2;
	}
	if (!body)
		return false;
	r->status = 200;
	*body = '\0';
	r->body = body + skip;
	for (line = data; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (!strncasecmp(line, "Status:", 7)) {
			r->status = (int)strtol(line + 7, NULL, 10);
		} else if (!strncasecmp(line, "Set-Cookie:", 11) &&
			   (v = strstr(line, "emitcgi_sid=")) != NULL) {
			size_t len = strcspn(v + 12, ";\r\n ");

			if (len < sizeof(r->cookie)) {
				memcpy(r->cookie, v + 12, len);
				r->cookie[len] = '\0';
			}
		}
	}
	return true;
}

static void req_on_stdout(struct bench_conn *c, const char *p, size_t n)
{
	struct req_conn *q = (struct req_conn *)c;

	if (buf_add(&q->resp, p, n) != EC_OK)
		fprintf(stderr, "fcgi_fanout: response over %u bytes cut\n",
			BENCH_REQ_RESP_MAX);
}

static void req_on_end(struct bench_conn *c, bool complete)
{
	struct req_conn *q = (struct req_conn *)c;
	struct bench_resp r = { .status = 0, .body = "" };
	char empty[1] = "";

	if (complete && !req_parse(q->resp.data ? q->resp.data : empty, &r)) {
		r.status = 0;
		r.body = "";
	}
	if (q->done)
		q->done(q->arg, &r, bench_stats_now_ns() - c->t_start);
	q->done = NULL;
	bench_loop_close(c);
}

static void req_free(struct bench_conn *c)
{
	struct req_conn *q = (struct req_conn *)c;

	buf_release(&q->resp);
	free(q);
}

static const struct bench_conn_ops req_ops = {
	.on_stdout = req_on_stdout,
	.on_end = req_on_end,
	.free = req_free,
};

int bench_req_send(struct bench_loop *l, const char *cookie, int group,
		   const struct bench_req_spec *r, bench_req_done_fn *done,
		   void *arg, struct bench_conn **conn)
{
	struct req_conn *q = calloc(1, sizeof(*q));
	int err;

	if (!q) {
		errno = ENOMEM;
		return -1;
	}
	q->c.fd = -1;
	buf_init(&q->c.out, BENCH_LOOP_OUT_MAX);
	buf_init(&q->resp, BENCH_REQ_RESP_MAX);
	q->done = done;
	q->arg = arg;
	if (bench_req_build(&q->c.out, cookie, r) != EC_OK) {
		errno = E2BIG;
		goto fail;
	}
	if (bench_loop_connect(l, &q->c, group, &req_ops) != 0)
		goto fail;
	if (conn)
		*conn = &q->c;
	return 0;
fail:
	err = errno;
	bench_loop_conn_release(&q->c);
	req_free(&q->c);
	errno = err;
	return -1;
}

static void req_sync_done(void *arg, const struct bench_resp *r,
			  int64_t elapsed_ns)
{
	struct bench_req_sync *s = arg;

	s->done = true;
	s->status = r->status;
	s->ns = elapsed_ns;
	memcpy(s->cookie, r->cookie, sizeof(s->cookie));
	buf_reset(&s->body);
	if (buf_adds(&s->body, r->body) != EC_OK)
		buf_reset(&s->body);
}

static bool req_sync_cond(void *arg)
{
	return ((struct bench_req_sync *)arg)->done;
}

int bench_req_sync(struct bench_loop *l, const char *cookie, int group,
		   const struct bench_req_spec *r, struct bench_req_sync *s,
		   int64_t timeout_ms)
{
	int64_t deadline = bench_stats_now_ns() + timeout_ms * BENCH_NS_PER_MS;
	struct bench_conn *conn = NULL;

	s->done = false;
	s->status = 0;
	s->cookie[0] = '\0';
	buf_reset(&s->body);
	while (bench_req_send(l, cookie, group, r, req_sync_done, s, &conn) !=
	       0) {
		if (errno != EAGAIN || bench_stats_now_ns() > deadline)
			return 0;
		bench_loop_once(l, 5);
	}
	if (!bench_loop_until(l, req_sync_cond, s,
			      (deadline - bench_stats_now_ns()) /
				      BENCH_NS_PER_MS)) {
		/* Hang up, so that a late answer cannot reach *s, which
		 * may be gone by then. */
		bench_loop_close(conn);
		return 0;
	}
	return s->status;
}
