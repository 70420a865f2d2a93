/* fcgi_fanout.c -- the benchmark client of `make bench` (tests/bench/run.sh).
 *
 * It speaks FastCGI itself (the record structs of <fastcgi.h>) to one or two
 * `emitcgi --listen unix:PATH` processes, on one thread with one epoll loop,
 * so that it can hold thousands of open streams the way a web server would:
 *
 *   fcgi_fanout fanout -s SOCK [-s SOCK2] -n N -k K [-b B] [-w W] [-x 1]
 *       registers and logs in one user, opens N streams (GET /api/events,
 *       split evenly over the sockets), waits for every snapshot, then emits
 *       K events one at a time through the first socket and times each from
 *       the emit to the moment every stream has it (per socket); then B more
 *       emitted back to back by W concurrent emitters (delivery rate).
 *       Reads emitcgi's RSS, threads and fds (/proc/PID, the PID from
 *       /api/health) with no stream, with N parked, and after closing them
 *       all (fd leak check).  With -x 1 it sends SIGTERM to the servers
 *       instead, with the streams still parked, and times how they end.
 *   fcgi_fanout poll -s SOCK -m M -r RATE -t SECS
 *       M long-pollers re-polling with since=lastEventId while events are
 *       emitted at RATE per second for SECS; counts round trips, deliveries,
 *       duplicates and misses.
 *   fcgi_fanout login -s SOCK -c C -t SECS
 *       C concurrent clients logging in for SECS; logins per second.
 *
 * Every emitted event is named "bench" with data = its sequence number, so
 * each stream or poller checks that it gets every number exactly once (a
 * number seen twice is a duplicate, one never seen a miss), that event ids
 * only grow, and that every receiver sees a number under the same id (one
 * order of events in every process).
 *
 * Output: human lines, then one line per measurement
 *   result: mode=fanout n=1000 key=value ...
 * that run.sh turns into the tables of docs/BENCH.md.  Exit status 0 when
 * the run completed (even with misses: they are reported, not hidden),
 * 1 when it could not run at all (no server, no session), 2 on bad usage.
 *
 * Bounds: every wait has a deadline; the client never raises fds past its
 * RLIMIT_NOFILE hard limit and caps N to stay below it (and says so).
 *
 * To add a measurement: a mode function beside bench_fanout(), a line in
 * main(), and its row in run.sh.
 */
#include "autoconfig.h"

#include <dirent.h>
#include <errno.h>
#include <fastcgi.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"

#define BENCH_MAX_SOCKS 2
#define BENCH_LINE_MAX 256
#define BENCH_RESP_MAX (1u << 20)
#define BENCH_OPEN_WINDOW 256 /* streams connecting at once (< backlog) */
#define BENCH_FD_HEADROOM 64
#define BENCH_USER "benchuser"
#define BENCH_PASS "bench-password-1"
#define BENCH_EVENT "bench"
#define NS_PER_MS 1000000LL

/* ---- small helpers ---- */

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "fcgi_fanout: %s\n", what);
	exit(1);
}

static bool parse_int(const char *s, long long min, long long max,
		      long long *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* Percentile p (0..100) of n sorted values, nearest rank. */
static int64_t pct(const int64_t *v, size_t n, double p)
{
	size_t i;

	if (n == 0)
		return -1;
	i = (size_t)(p / 100.0 * (double)n + 0.999999);
	if (i < 1)
		i = 1;
	if (i > n)
		i = n;
	return v[i - 1];
}

static double ms(int64_t ns)
{
	return (double)ns / 1e6;
}

/* ---- connections ---- */

enum conn_kind {
	CONN_STREAM, /* GET /api/events, stays open */
	CONN_REQ,    /* one request, one response */
};

/* What one stream or poller has received: event ids must increase, and
 * each "bench" sequence number must arrive exactly once (emitters run
 * concurrently, so sequence numbers need not come in order). */
struct seen {
	uint64_t *bits;	 /* bit seq: received */
	int64_t last_id; /* -1 before the first event */
	int64_t count;	 /* distinct sequence numbers received */
};

struct conn;
struct resp {
	int status;	  /* 0 when the connection broke */
	const char *body; /* NUL-terminated */
	char cookie[160]; /* emitcgi_sid value from Set-Cookie, or "" */
};
typedef void conn_done_fn(struct conn *c, const struct resp *r);

struct conn {
	int fd;
	enum conn_kind kind;
	int group;	/* index of the socket (server) */
	bool closed;	/* fd closed; freed after the loop iteration */
	struct buf out; /* request bytes not yet written */

	/* FastCGI record parser */
	unsigned char hdr[FCGI_HEADER_LEN];
	size_t hdr_got, content_left, pad_left;
	unsigned char type;

	/* CONN_STREAM: CGI head and SSE lines */
	bool in_body, ready, failed, ended;
	int status;
	char line[BENCH_LINE_MAX];
	size_t line_len;
	bool ev_has_id, ev_bench, ev_has_seq;
	int64_t ev_id, ev_seq;
	struct seen seen;

	/* CONN_REQ */
	struct buf resp;
	conn_done_fn *done;
	void *arg;
	int64_t t_start;
};

struct group_stats {
	int64_t *arrived; /* [seq] streams of this group that have it */
	int64_t *t_last;  /* [seq] when the last of them got it */
	int64_t live;	  /* streams of this group ready and not ended */
};

static struct bench {
	int ep;
	const char *socks[BENCH_MAX_SOCKS];
	int nsocks;
	char cookie[160];
	struct conn **dead; /* closed this iteration, freed after it */
	size_t n_dead, cap_dead;

	/* stream accounting */
	size_t n_ready, n_failed, n_ended, n_open, n_clean_end;
	uint64_t dups, misses, disorder, strays, pings, stderr_bytes;
	uint64_t mismatch; /* a seq seen under two different ids */
	int64_t *seq_id;   /* [seq] the event id it was first seen with */
	int64_t max_seq;   /* size of the per-seq arrays */
	int64_t *t_send;   /* [seq] when its emit was sent */
	struct group_stats g[BENCH_MAX_SOCKS];
	bool closing;	    /* streams are being closed on purpose */
	void (*idle)(void); /* called once per loop iteration, or NULL */
} B = {.ep = -1};

static void conn_free_later(struct conn *c)
{
	if (B.n_dead == B.cap_dead) {
		size_t cap = B.cap_dead ? 2 * B.cap_dead : 64;
		struct conn **p = realloc(B.dead, cap * sizeof(*p));

		if (!p)
			die("out of memory");
		B.dead = p;
		B.cap_dead = cap;
	}
	B.dead[B.n_dead++] = c;
}

/* Streams stay allocated (streams[] points at them) until streams_free();
 * other connections are freed after the loop iteration. */
static void conn_close(struct conn *c)
{
	if (c->closed)
		return;
	if (close(c->fd) != 0 && errno != EINTR)
		perror("fcgi_fanout: close");
	c->fd = -1;
	c->closed = true;
	if (c->kind != CONN_STREAM)
		conn_free_later(c);
}

static void conn_free(struct conn *c)
{
	buf_release(&c->out);
	buf_release(&c->resp);
	free(c->seen.bits);
	free(c);
}

static void conns_reap(void)
{
	for (size_t i = 0; i < B.n_dead; i++)
		conn_free(B.dead[i]);
	B.n_dead = 0;
}

/* FastCGI name-value length: 1 byte below 128, else 4 with the top bit. */
static enum ecode fcgi_put_len(struct buf *b, size_t len)
{
	unsigned char l4[4] = {(unsigned char)((len >> 24) | 0x80),
			       (unsigned char)(len >> 16),
			       (unsigned char)(len >> 8), (unsigned char)len};
	unsigned char l1 = (unsigned char)len;

	return len < 128 ? buf_add(b, &l1, 1) : buf_add(b, l4, 4);
}

static enum ecode fcgi_param(struct buf *b, const char *name, const char *value)
{
	enum ecode rc;

	if ((rc = fcgi_put_len(b, strlen(name))) != EC_OK ||
	    (rc = fcgi_put_len(b, strlen(value))) != EC_OK ||
	    (rc = buf_adds(b, name)) != EC_OK)
		return rc;
	return buf_adds(b, value);
}

static enum ecode fcgi_record(struct buf *out, unsigned char type,
			      const void *data, size_t len)
{
	FCGI_Header h = {
	    .version = FCGI_VERSION_1,
	    .type = type,
	    .requestIdB1 = 0,
	    .requestIdB0 = 1,
	    .contentLengthB1 = (unsigned char)(len >> 8),
	    .contentLengthB0 = (unsigned char)len,
	};
	enum ecode rc;

	if (len > FCGI_MAX_LENGTH)
		return EC_TOO_LARGE;
	if ((rc = buf_add(out, &h, sizeof(h))) != EC_OK)
		return rc;
	return len ? buf_add(out, data, len) : EC_OK;
}

struct req_spec {
	const char *method;
	const char *path;  /* "/api/events" */
	const char *query; /* "" or "since=7" */
	const char *body;  /* NULL for none */
};

static enum ecode fcgi_build(struct buf *out, const struct req_spec *r)
{
	FCGI_BeginRequestBody begin = {.roleB0 = FCGI_RESPONDER, .flags = 0};
	char uri[512], cookie[200], clen[32];
	struct buf params;
	enum ecode rc;

	snprintf(uri, sizeof(uri), "%s%s%s", r->path, *r->query ? "?" : "",
		 r->query);
	snprintf(cookie, sizeof(cookie), "emitcgi_sid=%s", B.cookie);
	buf_init(&params, FCGI_MAX_LENGTH);
	if ((rc = fcgi_param(&params, "REQUEST_METHOD", r->method)) ||
	    (rc = fcgi_param(&params, "REQUEST_URI", uri)) ||
	    (rc = fcgi_param(&params, "QUERY_STRING", r->query)) ||
	    (rc = fcgi_param(&params, "SCRIPT_NAME", "")) ||
	    (rc = fcgi_param(&params, "SERVER_PROTOCOL", "HTTP/1.1")) ||
	    (rc = fcgi_param(&params, "GATEWAY_INTERFACE", "CGI/1.1")) ||
	    (rc = fcgi_param(&params, "REMOTE_ADDR", "127.0.0.1")) ||
	    (rc = fcgi_param(&params, "SERVER_NAME", "localhost")) ||
	    (rc = fcgi_param(&params, "HTTP_HOST", "localhost")))
		goto out;
	if (B.cookie[0] && (rc = fcgi_param(&params, "HTTP_COOKIE", cookie)))
		goto out;
	if (r->body) {
		snprintf(clen, sizeof(clen), "%zu", strlen(r->body));
		if ((rc = fcgi_param(&params, "CONTENT_TYPE",
				     "application/json")) ||
		    (rc = fcgi_param(&params, "CONTENT_LENGTH", clen)))
			goto out;
	}
	if ((rc =
		 fcgi_record(out, FCGI_BEGIN_REQUEST, &begin, sizeof(begin))) ||
	    (rc = fcgi_record(out, FCGI_PARAMS, params.data, params.len)) ||
	    (rc = fcgi_record(out, FCGI_PARAMS, NULL, 0)))
		goto out;
	if (r->body && *r->body &&
	    (rc = fcgi_record(out, FCGI_STDIN, r->body, strlen(r->body))))
		goto out;
	rc = fcgi_record(out, FCGI_STDIN, NULL, 0);
out:
	buf_release(&params);
	return rc;
}

static void conn_flush(struct conn *c)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
	ssize_t n;

	while (c->out.len) {
		n = write(c->fd, c->out.data, c->out.len);
		if (n > 0) {
			buf_consume(&c->out, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			ev.events |= EPOLLOUT;
			break;
		}
		/* Broken: the read side reports it as EOF. */
		buf_reset(&c->out);
		break;
	}
	if (epoll_ctl(B.ep, EPOLL_CTL_MOD, c->fd, &ev) != 0)
		perror("fcgi_fanout: epoll_ctl");
}

/* Opens a connection to socket `group` and sends the request.  NULL with
 * errno set on failure (EAGAIN: the listen backlog is full, try later). */
static struct conn *conn_open(int group, enum conn_kind kind,
			      const struct req_spec *r, conn_done_fn *done,
			      void *arg)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct epoll_event ev = {.events = EPOLLIN};
	const char *path = B.socks[group];
	struct conn *c;
	int fd, err;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		err = errno;
		close(fd);
		errno = err;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		die("out of memory");
	c->fd = fd;
	c->kind = kind;
	c->group = group;
	c->seen.last_id = -1;
	c->done = done;
	c->arg = arg;
	c->t_start = now_ns();
	buf_init(&c->out, 1 << 17);
	buf_init(&c->resp, BENCH_RESP_MAX);
	if (fcgi_build(&c->out, r) != EC_OK)
		die("request too large");
	ev.data.ptr = c;
	if (epoll_ctl(B.ep, EPOLL_CTL_ADD, fd, &ev) != 0)
		die("epoll_ctl ADD failed");
	conn_flush(c);
	return c;
}

/* ---- streams: CGI head, then SSE lines ---- */

static void seen_id(struct seen *s, int64_t id)
{
	if (id <= s->last_id)
		B.disorder++;
	else
		s->last_id = id;
}

/* True when seq is new to s.  Every receiver must see seq under the same
 * id: one order of events in every process. */
static bool seen_seq(struct seen *s, int64_t seq, int64_t id)
{
	if (seq < 0 || seq >= B.max_seq) {
		B.strays++;
		return false;
	}
	if (!B.seq_id) {
		B.seq_id = calloc((size_t)B.max_seq, sizeof(int64_t));
		if (!B.seq_id)
			die("out of memory");
	}
	if (!B.seq_id[seq])
		B.seq_id[seq] = id;
	else if (B.seq_id[seq] != id)
		B.mismatch++;
	if (!s->bits) {
		s->bits =
		    calloc((size_t)(B.max_seq + 63) / 64, sizeof(uint64_t));
		if (!s->bits)
			die("out of memory");
	}
	if (s->bits[seq / 64] & (1ull << (seq % 64))) {
		B.dups++;
		return false;
	}
	s->bits[seq / 64] |= 1ull << (seq % 64);
	s->count++;
	return true;
}

static void stream_bench_event(struct conn *c, int64_t seq)
{
	struct group_stats *g = &B.g[c->group];

	if (!seen_seq(&c->seen, seq, c->ev_has_id ? c->ev_id : -1))
		return;
	g->arrived[seq]++;
	g->t_last[seq] = now_ns();
}

static void stream_line(struct conn *c, char *line, size_t len)
{
	const char *m;

	if (len && line[len - 1] == '\r')
		line[--len] = '\0';
	if (!c->in_body) {
		if (len == 0) {
			c->in_body = true;
			if (c->status != 200)
				c->failed = true;
		} else if (!strncasecmp(line, "Status:", 7)) {
			c->status = (int)strtol(line + 7, NULL, 10);
		}
		return;
	}
	if (len == 0) {
		if (c->ev_has_id && !c->ready && !c->failed) {
			c->ready = true;
			B.n_ready++;
			B.g[c->group].live++;
		}
		if (c->ev_has_id)
			seen_id(&c->seen, c->ev_id);
		if (c->ev_bench && c->ev_has_seq)
			stream_bench_event(c, c->ev_seq);
		c->ev_has_id = c->ev_bench = c->ev_has_seq = false;
		return;
	}
	if (line[0] == ':') {
		B.pings++;
	} else if (!strncmp(line, "id:", 3)) {
		c->ev_has_id = true;
		c->ev_id = strtoll(line + 3, NULL, 10);
	} else if (!strcmp(line, "event: " BENCH_EVENT)) {
		c->ev_bench = true;
	} else if (!strncmp(line, "data:", 5) &&
		   (m = strstr(line, "\"message\":")) != NULL) {
		char *end;

		errno = 0;
		c->ev_seq = strtoll(m + 10, &end, 10);
		c->ev_has_seq = errno == 0 && end != m + 10;
	}
}

static void stream_stdout(struct conn *c, const char *p, size_t n)
{
	while (n) {
		const char *nl = memchr(p, '\n', n);
		size_t take = nl ? (size_t)(nl - p) : n;
		size_t room = sizeof(c->line) - 1 - c->line_len;

		/* Long lines (none that matter here) are cut, not grown. */
		memcpy(c->line + c->line_len, p, take < room ? take : room);
		c->line_len += take < room ? take : room;
		if (!nl)
			return;
		c->line[c->line_len] = '\0';
		stream_line(c, c->line, c->line_len);
		c->line_len = 0;
		p = nl + 1;
		n -= take + 1;
	}
}

/* complete: the server ended the request (END_REQUEST), rather than just
 * closing the connection. */
static void stream_end(struct conn *c, bool complete)
{
	if (c->ended)
		return;
	c->ended = true;
	if (c->ready) {
		B.g[c->group].live--;
		if (!B.closing)
			B.n_ended++;
		if (complete)
			B.n_clean_end++;
	} else {
		B.n_failed++;
	}
	conn_close(c);
}

/* ---- one-shot requests ---- */

static void req_finish(struct conn *c, bool complete)
{
	struct resp r = {0};
	char *data = c->resp.data ? c->resp.data : (char *)"";
	char *body = strstr(data, "\r\n\r\n");
	char *line, *next, *v;
	size_t skip = 4;

	if (!body) {
		body = strstr(data, "\n\n");
		skip = 2;
	}
	if (complete && body) {
		r.status = 200;
		*body = '\0';
		r.body = body + skip;
		for (line = data; line; line = next) {
			next = strchr(line, '\n');
			if (next)
				*next++ = '\0';
			if (!strncasecmp(line, "Status:", 7))
				r.status = (int)strtol(line + 7, NULL, 10);
			else if (!strncasecmp(line, "Set-Cookie:", 11) &&
				 (v = strstr(line, "emitcgi_sid=")) != NULL) {
				size_t len = strcspn(v + 12, ";\r\n ");

				if (len < sizeof(r.cookie)) {
					memcpy(r.cookie, v + 12, len);
					r.cookie[len] = '\0';
				}
			}
		}
	} else {
		r.body = "";
	}
	if (c->done)
		c->done(c, &r);
	c->done = NULL;
	conn_close(c);
}

/* ---- record parser ---- */

static void conn_end(struct conn *c, bool complete)
{
	if (c->closed)
		return;
	if (c->kind == CONN_STREAM)
		stream_end(c, complete);
	else
		req_finish(c, complete);
}

static void conn_content(struct conn *c, const char *p, size_t n)
{
	if (c->type == FCGI_STDERR) {
		B.stderr_bytes += n;
		return;
	}
	if (c->type != FCGI_STDOUT)
		return;
	if (c->kind == CONN_STREAM)
		stream_stdout(c, p, n);
	else if (buf_add(&c->resp, p, n) != EC_OK)
		fprintf(stderr, "fcgi_fanout: response over %u bytes cut\n",
			BENCH_RESP_MAX);
}

static void conn_feed(struct conn *c, const char *p, size_t n)
{
	while (n && !c->closed) {
		if (c->hdr_got < FCGI_HEADER_LEN) {
			size_t take = FCGI_HEADER_LEN - c->hdr_got;

			take = take < n ? take : n;
			memcpy(c->hdr + c->hdr_got, p, take);
			c->hdr_got += take;
			p += take;
			n -= take;
			if (c->hdr_got < FCGI_HEADER_LEN)
				return;
			c->type = c->hdr[1];
			c->content_left = (size_t)c->hdr[4] << 8 | c->hdr[5];
			c->pad_left = c->hdr[6];
		} else if (c->content_left) {
			size_t take = c->content_left < n ? c->content_left : n;

			conn_content(c, p, take);
			c->content_left -= take;
			p += take;
			n -= take;
		} else {
			size_t take = c->pad_left < n ? c->pad_left : n;

			c->pad_left -= take;
			p += take;
			n -= take;
		}
		if (c->hdr_got == FCGI_HEADER_LEN && !c->content_left &&
		    !c->pad_left) {
			c->hdr_got = 0;
			if (c->type == FCGI_END_REQUEST)
				conn_end(c, true);
		}
	}
}

static void conn_readable(struct conn *c)
{
	static char rbuf[1 << 16];
	ssize_t n;

	while (!c->closed) {
		n = read(c->fd, rbuf, sizeof(rbuf));
		if (n > 0) {
			conn_feed(c, rbuf, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		conn_end(c, false); /* EOF or error before END_REQUEST */
	}
}

/* One epoll_wait and its events; closed connections are freed after. */
static void loop_once(int timeout_ms)
{
	static struct epoll_event evs[4096];
	int n = epoll_wait(B.ep, evs, 4096, timeout_ms);

	for (int i = 0; i < n; i++) {
		struct conn *c = evs[i].data.ptr;

		if (c->closed)
			continue;
		if (evs[i].events & EPOLLOUT)
			conn_flush(c);
		if (!c->closed && evs[i].events & (EPOLLIN | EPOLLHUP |
						   EPOLLERR | EPOLLRDHUP))
			conn_readable(c);
	}
	conns_reap();
	if (B.idle)
		B.idle();
}

typedef bool cond_fn(void *arg);

/* Runs the loop until cond(arg) or timeout_ms; true when cond held. */
static bool loop_until(cond_fn *cond, void *arg, int64_t timeout_ms)
{
	int64_t deadline = now_ns() + timeout_ms * NS_PER_MS;

	while (!cond(arg)) {
		int64_t left = (deadline - now_ns()) / NS_PER_MS;

		if (left <= 0)
			return false;
		loop_once(left < 50 ? (int)left : 50);
	}
	return true;
}

static bool cond_never(void *arg)
{
	(void)arg;
	return false;
}

static void loop_sleep(int64_t ms_)
{
	loop_until(cond_never, NULL, ms_);
}

/* ---- synchronous requests (the loop keeps serving streams meanwhile) ---- */

struct sync_req {
	bool done;
	int status;
	char cookie[160];
	struct buf body;
	int64_t ns;
};

static void sync_done(struct conn *c, const struct resp *r)
{
	struct sync_req *s = c->arg;

	s->done = true;
	s->status = r->status;
	s->ns = now_ns() - c->t_start;
	memcpy(s->cookie, r->cookie, sizeof(s->cookie));
	buf_reset(&s->body);
	if (buf_adds(&s->body, r->body) != EC_OK)
		buf_reset(&s->body);
}

static bool cond_sync(void *arg)
{
	return ((struct sync_req *)arg)->done;
}

/* Sends one request and waits for its answer (status 0: none came). */
static int req_sync(int group, const struct req_spec *r, struct sync_req *s,
		    int64_t timeout_ms)
{
	int64_t deadline = now_ns() + timeout_ms * NS_PER_MS;

	s->done = false;
	s->status = 0;
	s->cookie[0] = '\0';
	buf_reset(&s->body);
	while (!conn_open(group, CONN_REQ, r, sync_done, s)) {
		if (errno != EAGAIN || now_ns() > deadline)
			return 0;
		loop_once(5);
	}
	if (!loop_until(cond_sync, s, (deadline - now_ns()) / NS_PER_MS))
		return 0;
	return s->status;
}

static json_object *json_get_path(json_object *o, const char *a, const char *b)
{
	json_object *v = NULL;

	if (!o || !json_object_object_get_ex(o, a, &v))
		return NULL;
	if (b && !json_object_object_get_ex(v, b, &v))
		return NULL;
	return v;
}

struct health {
	int pid, sse, poll;
	int64_t last_id;
};

static bool health_get(int group, struct health *h)
{
	struct req_spec r = {"GET", "/api/health", "", NULL};
	struct sync_req s = {0};
	json_object *o;
	bool ok = false;

	buf_init(&s.body, BENCH_RESP_MAX);
	if (req_sync(group, &r, &s, 10000) == 200 &&
	    (o = json_tokener_parse(buf_str(&s.body))) != NULL) {
		h->pid = json_object_get_int(json_get_path(o, "pid", NULL));
		h->sse =
		    json_object_get_int(json_get_path(o, "subscribers", "sse"));
		h->poll = json_object_get_int(
		    json_get_path(o, "subscribers", "poll"));
		h->last_id = json_object_get_int64(
		    json_get_path(o, "lastEventId", NULL));
		ok = h->pid > 0;
		json_object_put(o);
	}
	buf_release(&s.body);
	return ok;
}

/* Polls /api/health until the group has sse (or poll, when poll >= 0)
 * waiters parked; false after timeout_ms. */
static bool health_wait(int group, int sse, int poll, int64_t timeout_ms)
{
	int64_t deadline = now_ns() + timeout_ms * NS_PER_MS;
	struct health h;

	for (;;) {
		if (health_get(group, &h) && (sse < 0 || h.sse == sse) &&
		    (poll < 0 || h.poll == poll))
			return true;
		if (now_ns() > deadline)
			return false;
		loop_sleep(100);
	}
}

/* Registers (a 409 is fine: an earlier run did) and logs in. */
static void session_start(void)
{
	struct req_spec reg = {"POST", "/api/register", "",
			       "{\"username\":\"" BENCH_USER
			       "\",\"password\":\"" BENCH_PASS "\"}"};
	struct req_spec login = {"POST", "/api/login", "", reg.body};
	struct sync_req s = {0};
	int st;

	buf_init(&s.body, BENCH_RESP_MAX);
	st = req_sync(0, &reg, &s, 30000);
	if (st != 201 && st != 409) {
		fprintf(stderr, "fcgi_fanout: register: status %d %s\n", st,
			buf_str(&s.body));
		die("cannot register the bench user");
	}
	st = req_sync(0, &login, &s, 30000);
	if (st != 200 || !s.cookie[0]) {
		fprintf(stderr, "fcgi_fanout: login: status %d %s\n", st,
			buf_str(&s.body));
		die("cannot log in");
	}
	memcpy(B.cookie, s.cookie, sizeof(B.cookie));
	buf_release(&s.body);
}

/* ---- emitting ---- */

struct emitter {
	int64_t next, end; /* sequence numbers still to send: [next, end) */
	int64_t sent, acked, errors;
	int64_t t_last_ack;
	bool busy;
};

static void emit_done(struct conn *c, const struct resp *r);

static bool emit_send(struct emitter *e, int64_t seq)
{
	char body[128];
	struct req_spec r = {"POST", "/api/emit", "", body};

	snprintf(body, sizeof(body),
		 "{\"event\":\"" BENCH_EVENT "\",\"data\":%" PRId64 "}", seq);
	if (seq < B.max_seq)
		B.t_send[seq] = now_ns();
	if (!conn_open(0, CONN_REQ, &r, emit_done, e))
		return false;
	e->sent++;
	e->busy = true;
	return true;
}

static void emit_done(struct conn *c, const struct resp *r)
{
	struct emitter *e = c->arg;

	e->busy = false;
	e->t_last_ack = now_ns();
	if (r->status == 200)
		e->acked++;
	else {
		e->errors++;
		if (e->errors <= 5)
			fprintf(stderr, "fcgi_fanout: emit: status %d %s\n",
				r->status, r->body);
	}
	if (e->next < e->end) {
		if (emit_send(e, e->next))
			e->next++;
		/* else: the caller's loop retries (busy is false) */
	}
}

/* ---- /proc ---- */

struct proc_stats {
	long rss_kb, threads, fds;
	long slab_kb; /* system-wide kernel slab: socket buffers */
	double cpu_s; /* user + system CPU time so far */
};

static double self_cpu_s(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void proc_read(int pid, struct proc_stats *ps)
{
	char path[64], line[256];
	FILE *f;
	DIR *d;
	struct dirent *de;

	ps->rss_kb = ps->threads = ps->fds = ps->slab_kb = -1;
	ps->cpu_s = -1;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((f = fopen(path, "r")) != NULL) {
		/* utime and stime are fields 14 and 15, after "(comm)". */
		if (fgets(line, sizeof(line), f)) {
			char *p = strrchr(line, ')');
			unsigned long ut, st;

			if (p && sscanf(p + 1,
					" %*c %*d %*d %*d %*d %*d %*u "
					"%*u %*u %*u %*u %lu %lu",
					&ut, &st) == 2)
				ps->cpu_s = (double)(ut + st) /
					    (double)sysconf(_SC_CLK_TCK);
		}
		fclose(f);
	}
	if ((f = fopen("/proc/meminfo", "r")) != NULL) {
		while (fgets(line, sizeof(line), f))
			if (!strncmp(line, "Slab:", 5))
				ps->slab_kb = strtol(line + 5, NULL, 10);
		fclose(f);
	}
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if ((f = fopen(path, "r")) != NULL) {
		while (fgets(line, sizeof(line), f)) {
			if (!strncmp(line, "VmRSS:", 6))
				ps->rss_kb = strtol(line + 6, NULL, 10);
			else if (!strncmp(line, "Threads:", 8))
				ps->threads = strtol(line + 8, NULL, 10);
		}
		fclose(f);
	}
	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	if ((d = opendir(path)) != NULL) {
		ps->fds = 0;
		while ((de = readdir(d)) != NULL)
			if (de->d_name[0] != '.')
				ps->fds++;
		closedir(d);
	}
}

/* ---- fan-out ---- */

static struct conn **streams;

static size_t fd_cap(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 1024 - BENCH_FD_HEADROOM;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0 ||
		    getrlimit(RLIMIT_NOFILE, &rl) != 0)
			return 1024 - BENCH_FD_HEADROOM;
	}
	return rl.rlim_cur > BENCH_FD_HEADROOM
		   ? (size_t)rl.rlim_cur - BENCH_FD_HEADROOM
		   : 0;
}

/* Opens n streams split over the sockets, BENCH_OPEN_WINDOW at a time;
 * returns how many are ready. */
static size_t streams_open(size_t n, int64_t timeout_ms)
{
	struct req_spec r = {"GET", "/api/events", "", NULL};
	int64_t deadline = now_ns() + timeout_ms * NS_PER_MS;
	size_t opened = 0;
	unsigned long eagain = 0;

	while (B.n_ready + B.n_failed < opened || opened < n) {
		while (opened < n &&
		       opened - B.n_ready - B.n_failed < BENCH_OPEN_WINDOW) {
			struct conn *c =
			    conn_open((int)(opened % (size_t)B.nsocks),
				      CONN_STREAM, &r, NULL, NULL);

			if (!c) {
				if (errno == EAGAIN) {
					eagain++;
					break;
				}
				fprintf(stderr,
					"fcgi_fanout: stream %zu: %s; "
					"stopping at %zu\n",
					opened, strerror(errno), opened);
				n = opened;
				break;
			}
			streams[opened++] = c;
		}
		loop_once(eagain ? 1 : 20);
		if (now_ns() > deadline) {
			fprintf(stderr,
				"fcgi_fanout: %zu of %zu streams ready "
				"after %" PRId64 " ms\n",
				B.n_ready, n, timeout_ms);
			break;
		}
	}
	B.n_open = opened;
	if (eagain)
		printf("  (listen backlog full %lu times while connecting)\n",
		       eagain);
	return B.n_ready;
}

static void streams_close(void)
{
	B.closing = true;
	for (size_t i = 0; i < B.n_open; i++)
		if (!streams[i]->closed) {
			if (streams[i]->ready && !streams[i]->ended)
				B.g[streams[i]->group].live--;
			streams[i]->ended = true;
			conn_close(streams[i]);
		}
	for (size_t i = 0; i < B.n_open; i++)
		conn_free(streams[i]);
	B.n_open = 0;
}

/* True once pid has exited (gone, or a zombie waiting for its parent). */
static bool proc_gone(int pid)
{
	char path[64], line[256], *p;
	bool gone = true;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return true;
	if (fgets(line, sizeof(line), f) && (p = strrchr(line, ')')) != NULL)
		gone = p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
	fclose(f);
	return gone;
}

static bool cond_all_ended(void *arg)
{
	(void)arg;
	for (int g = 0; g < B.nsocks; g++)
		if (B.g[g].live > 0)
			return false;
	return true;
}

struct stop_result {
	double streams_ms; /* SIGTERM -> the last stream ended */
	double exit_ms;	   /* SIGTERM -> every process exited */
	size_t clean;	   /* streams ended with END_REQUEST */
	size_t abrupt;	   /* closed without it */
	bool exited;
};

/* SIGTERM to every server with the streams still parked: each stream must
 * be ended (END_REQUEST) and each process must exit within 5 s (SPEC). */
static void servers_stop(const struct health *h, struct stop_result *r)
{
	int64_t live = 0, t0, deadline;
	size_t clean0 = B.n_clean_end;

	for (int g = 0; g < B.nsocks; g++)
		live += B.g[g].live;
	B.closing = true;
	t0 = now_ns();
	for (int g = 0; g < B.nsocks; g++)
		if (kill(h[g].pid, SIGTERM) != 0)
			perror("fcgi_fanout: kill");
	loop_until(cond_all_ended, NULL, 10000);
	r->streams_ms = ms(now_ns() - t0);
	r->clean = B.n_clean_end - clean0;
	r->abrupt = (size_t)live - r->clean;
	deadline = t0 + 10000 * NS_PER_MS;
	for (;;) {
		bool all = true;

		for (int g = 0; g < B.nsocks; g++)
			all = all && proc_gone(h[g].pid);
		if (all || now_ns() > deadline) {
			r->exited = all;
			break;
		}
		loop_once(5);
	}
	r->exit_ms = ms(now_ns() - t0);
	printf("  SIGTERM with %" PRId64 " streams parked: %zu ended cleanly, "
	       "%zu just closed, the last after %.0f ms; %s after %.0f ms\n",
	       live, r->clean, r->abrupt, r->streams_ms,
	       r->exited ? "exited" : "NOT exited", r->exit_ms);
}

struct seq_wait {
	int64_t seq;
	struct emitter *e;
};

static bool cond_seq_everywhere(void *arg)
{
	struct seq_wait *w = arg;

	if (w->e && w->e->busy)
		return false;
	for (int g = 0; g < B.nsocks; g++)
		if (B.g[g].arrived[w->seq] < B.g[g].live)
			return false;
	return true;
}

struct burst_wait {
	int64_t from, to;
	struct emitter *em;
	int n_em;
};

static bool cond_burst(void *arg)
{
	struct burst_wait *w = arg;

	for (int i = 0; i < w->n_em; i++)
		if (w->em[i].busy || w->em[i].next < w->em[i].end)
			return false;
	for (int g = 0; g < B.nsocks; g++)
		for (int64_t s = w->from; s < w->to; s++)
			if (B.g[g].arrived[s] < B.g[g].live)
				return false;
	return true;
}

static int bench_fanout(long long n, long long k, long long burst,
			long long emitters, bool stop)
{
	struct stop_result sr = {0};
	struct proc_stats p0[BENCH_MAX_SOCKS], pn[BENCH_MAX_SOCKS],
	    pe[BENCH_MAX_SOCKS];
	struct health h[BENCH_MAX_SOCKS];
	struct emitter lat_em = {0}, *em = NULL;
	int64_t *lat[BENCH_MAX_SOCKS], t0, t_ready, lat_timeouts = 0;
	size_t cap = fd_cap(), ready;
	bool capped = false, parked_ok = true, drained = true;
	double ready_s, rate = 0, emit_rate = 0, burst_s = 0;
	int64_t burst_p50 = -1, burst_p99 = -1, deliveries = 0;
	double srv_cpu[BENCH_MAX_SOCKS] = {0}, cli_cpu = 0;
	int64_t n_group[BENCH_MAX_SOCKS] = {0};

	if ((size_t)n > cap) {
		printf("  note: N=%lld capped to %zu by this client's fd limit "
		       "(RLIMIT_NOFILE %zu)\n",
		       n, cap, cap + BENCH_FD_HEADROOM);
		n = (long long)cap;
		capped = true;
	}
	B.max_seq = k + burst;
	B.t_send = calloc((size_t)B.max_seq + 1, sizeof(int64_t));
	streams = calloc((size_t)n + 1, sizeof(*streams));
	for (int g = 0; g < B.nsocks; g++) {
		B.g[g].arrived = calloc((size_t)B.max_seq + 1, sizeof(int64_t));
		B.g[g].t_last = calloc((size_t)B.max_seq + 1, sizeof(int64_t));
		lat[g] = calloc((size_t)B.max_seq + 1, sizeof(int64_t));
		if (!B.g[g].arrived || !B.g[g].t_last || !lat[g])
			die("out of memory");
	}
	if (!B.t_send || !streams)
		die("out of memory");

	session_start();
	for (int g = 0; g < B.nsocks; g++) {
		if (!health_get(g, &h[g]))
			die("GET /api/health failed");
		loop_sleep(200);
		proc_read(h[g].pid, &p0[g]);
	}

	/* Park N streams. */
	t0 = now_ns();
	ready = streams_open((size_t)n, 150000);
	t_ready = now_ns();
	ready_s = (double)(t_ready - t0) / 1e9;
	printf("  %zu/%lld streams ready in %.2f s (%.0f/s), %zu failed\n",
	       ready, n, ready_s, (double)ready / ready_s, B.n_failed);
	for (int g = 0; g < B.nsocks; g++) {
		if (!health_wait(g, (int)B.g[g].live, -1, 15000)) {
			parked_ok = false;
			health_get(g, &h[g]);
			printf("  warning: server %d reports %d parked, client "
			       "has %" PRId64 " streams\n",
			       g, h[g].sse, B.g[g].live);
		}
	}
	loop_sleep(300);
	for (int g = 0; g < B.nsocks; g++) {
		proc_read(h[g].pid, &pn[g]);
		n_group[g] = B.g[g].live;
	}

	/* Latency: one emit at a time. */
	for (int64_t s = 0; s < k; s++) {
		struct seq_wait w = {s, &lat_em};

		while (!emit_send(&lat_em, s)) {
			if (errno != EAGAIN)
				die("cannot connect to emit");
			loop_once(2);
		}
		if (!loop_until(cond_seq_everywhere, &w, 10000))
			lat_timeouts++;
		for (int g = 0; g < B.nsocks; g++)
			lat[g][s] = B.g[g].arrived[s]
					? B.g[g].t_last[s] - B.t_send[s]
					: -1;
	}

	/* Throughput: burst emitted back to back by concurrent emitters. */
	if (burst > 0) {
		struct burst_wait w = {k, k + burst, NULL, (int)emitters};
		int64_t per = (burst + emitters - 1) / emitters, tb0, tb1 = 0;
		int64_t *bl =
		    calloc((size_t)(burst * B.nsocks), sizeof(int64_t));
		size_t nbl = 0;

		em = calloc((size_t)emitters, sizeof(*em));
		if (!em || !bl)
			die("out of memory");
		w.em = em;
		for (int g = 0; g < B.nsocks; g++) {
			proc_read(h[g].pid, &pe[g]);
			srv_cpu[g] = -pe[g].cpu_s;
		}
		cli_cpu = -self_cpu_s();
		tb0 = now_ns();
		for (int i = 0; i < emitters; i++) {
			em[i].next = k + i * per;
			em[i].end = k + (i + 1) * per < k + burst
					? k + (i + 1) * per
					: k + burst;
		}
		while (!cond_burst(&w) && now_ns() - tb0 < 60000 * NS_PER_MS) {
			/* (re)start idle emitters whose last send failed */
			for (int i = 0; i < emitters; i++)
				if (!em[i].busy && em[i].next < em[i].end &&
				    emit_send(&em[i], em[i].next))
					em[i].next++;
			loop_once(5);
		}
		for (int64_t s = k; s < k + burst; s++) {
			for (int g = 0; g < B.nsocks; g++) {
				deliveries += B.g[g].arrived[s];
				if (B.g[g].t_last[s] > tb1)
					tb1 = B.g[g].t_last[s];
				if (B.g[g].arrived[s])
					bl[nbl++] =
					    B.g[g].t_last[s] - B.t_send[s];
			}
		}
		int64_t last_ack = 0, acked = 0;

		for (int i = 0; i < emitters; i++) {
			acked += em[i].acked;
			if (em[i].t_last_ack > last_ack)
				last_ack = em[i].t_last_ack;
		}
		cli_cpu += self_cpu_s();
		for (int g = 0; g < B.nsocks; g++) {
			proc_read(h[g].pid, &pe[g]);
			srv_cpu[g] += pe[g].cpu_s;
		}
		burst_s = (double)(tb1 - tb0) / 1e9;
		rate = burst_s > 0 ? (double)deliveries / burst_s : 0;
		emit_rate =
		    last_ack > tb0
			? (double)acked / ((double)(last_ack - tb0) / 1e9)
			: 0;
		qsort(bl, nbl, sizeof(*bl), cmp_i64);
		burst_p50 = pct(bl, nbl, 50);
		burst_p99 = pct(bl, nbl, 99);
		free(bl);
	}

	/* Every stream must have every event, once. */
	for (size_t i = 0; i < B.n_open; i++) {
		struct conn *c = streams[i];

		if (c->ready && !c->ended)
			B.misses += (uint64_t)(k + burst - c->seen.count);
	}
	size_t ended_during = B.n_ended;

	if (stop) {
		servers_stop(h, &sr);
		for (int g = 0; g < B.nsocks; g++)
			pe[g].fds = -1;
	}
	streams_close();
	for (int g = 0; g < B.nsocks && !stop; g++) {
		if (!health_wait(g, 0, -1, 15000)) {
			drained = false;
			health_get(g, &h[g]);
			printf("  warning: server %d still reports %d parked "
			       "after the client closed every stream\n",
			       g, h[g].sse);
		}
		loop_sleep(300);
		proc_read(h[g].pid, &pe[g]);
	}

	/* Report. */
	for (int g = 0; g < B.nsocks; g++) {
		int64_t *sorted = calloc((size_t)k + 1, sizeof(int64_t));
		size_t m = 0;
		long long nn = (long long)n_group[g];

		if (!sorted)
			die("out of memory");

		for (int64_t s = 0; s < k; s++)
			if (lat[g][s] >= 0)
				sorted[m++] = lat[g][s];
		qsort(sorted, m, sizeof(*sorted), cmp_i64);
		printf(
		    "  server %d (pid %d): RSS %ld -> %ld KiB, threads %ld -> "
		    "%ld, fds %ld -> %ld -> %ld after close\n",
		    g, h[g].pid, p0[g].rss_kb, pn[g].rss_kb, p0[g].threads,
		    pn[g].threads, p0[g].fds, pn[g].fds, pe[g].fds);
		printf("  latency emit -> all %lld streams of server %d: p50 "
		       "%.2f ms, p99 %.2f ms, max %.2f ms (%zu events)\n",
		       nn, g, ms(pct(sorted, m, 50)), ms(pct(sorted, m, 99)),
		       ms(m ? sorted[m - 1] : -1), m);
		printf(
		    "result: mode=%s group=%d n=%zu waiters=%lld capped=%d "
		    "ready_s=%.2f ready_per_s=%.0f failed=%zu "
		    "rss0_kb=%ld rssn_kb=%ld per_waiter_b=%.0f "
		    "slab_per_conn_b=%.0f "
		    "threads0=%ld threadsn=%ld fds0=%ld fdsn=%ld fds_after=%ld "
		    "parked_ok=%d drained=%d k=%zu lat_p50_ms=%.2f "
		    "lat_p99_ms=%.2f lat_max_ms=%.2f lat_timeouts=%" PRId64
		    " burst=%lld burst_s=%.2f deliveries=%" PRId64
		    " rate_per_s=%.0f emit_per_s=%.0f burst_p50_ms=%.2f "
		    "burst_p99_ms=%.2f dups=%" PRIu64 " misses=%" PRIu64
		    " disorder=%" PRIu64 " mismatch=%" PRIu64
		    " ended=%zu stop=%d stop_streams_ms=%.0f "
		    "stop_exit_ms=%.0f stop_clean=%zu stop_abrupt=%zu "
		    "stop_exited=%d burst_server_cpu_s=%.2f "
		    "burst_client_cpu_s=%.2f server_us_per_delivery=%.2f\n",
		    B.nsocks > 1 ? "cross" : "fanout", g, ready, nn, capped,
		    ready_s, (double)ready / ready_s, B.n_failed, p0[g].rss_kb,
		    pn[g].rss_kb,
		    nn ? (double)(pn[g].rss_kb - p0[g].rss_kb) * 1024.0 /
			     (double)nn
		       : 0.0,
		    ready ? (double)(pn[g].slab_kb - p0[g].slab_kb) * 1024.0 /
				(double)ready
			  : 0.0,
		    p0[g].threads, pn[g].threads, p0[g].fds, pn[g].fds,
		    pe[g].fds, parked_ok, drained, m, ms(pct(sorted, m, 50)),
		    ms(pct(sorted, m, 99)), ms(m ? sorted[m - 1] : -1),
		    lat_timeouts, burst, burst_s, deliveries, rate, emit_rate,
		    ms(burst_p50), ms(burst_p99), B.dups, B.misses, B.disorder,
		    B.mismatch, ended_during, stop, sr.streams_ms, sr.exit_ms,
		    sr.clean, sr.abrupt, sr.exited, srv_cpu[g], cli_cpu,
		    deliveries ? srv_cpu[g] * 1e6 * (double)B.nsocks /
				     (double)deliveries
			       : 0.0);
		free(sorted);
	}
	if (burst > 0)
		printf(
		    "  burst of %lld events: %" PRId64 " deliveries in %.2f s "
		    "= %.0f/s; emits acked at %.0f/s; per event p50 %.2f ms, "
		    "p99 %.2f ms\n  CPU during the burst: server %.2f s, "
		    "this client %.2f s\n",
		    burst, deliveries, burst_s, rate, emit_rate, ms(burst_p50),
		    ms(burst_p99), srv_cpu[0], cli_cpu);
	printf("  duplicates %" PRIu64 ", misses %" PRIu64 ", ids out of "
	       "order %" PRIu64 ", same event under different ids %" PRIu64
	       ", streams ended by the server %zu\n",
	       B.dups, B.misses, B.disorder, B.mismatch, ended_during);
	free(em);
	for (int g = 0; g < B.nsocks; g++) {
		free(lat[g]);
		free(B.g[g].arrived);
		free(B.g[g].t_last);
	}
	free(B.t_send);
	free(B.seq_id);
	free(streams);
	free(B.dead);
	return 0;
}

/* ---- long-poll ---- */

struct poller {
	struct conn *c; /* the poll in flight, or NULL */
	int64_t since;	/* -1: no snapshot yet */
	struct seen seen;
	int64_t retry_at; /* after an error: back off until then */
	bool busy, want;  /* a poll in flight; one wanted */
};

static struct {
	struct poller *p;
	size_t m;
	bool stop;
	uint64_t polls, polls_window, errors, resets, events;
	uint64_t nonempty;
	int64_t *arrived, *t_last;
	int first_errors;
} P;

static void poll_done(struct conn *c, const struct resp *r);

static bool poll_send(struct poller *p)
{
	char q[96];
	struct req_spec r = {"GET", "/api/poll", q, NULL};

	if (p->since < 0)
		q[0] = '\0';
	else
		snprintf(q, sizeof(q), "since=%" PRId64 "&timeout=25",
			 p->since);
	if (!(p->c = conn_open(0, CONN_REQ, &r, poll_done, p)))
		return false;
	p->busy = true;
	p->want = false;
	return true;
}

static void poll_event(struct poller *p, json_object *ev)
{
	json_object *name = json_get_path(ev, "event", NULL);
	json_object *msg = json_get_path(ev, "data", "message");
	int64_t id = json_object_get_int64(json_get_path(ev, "id", NULL));
	int64_t seq;

	seen_id(&p->seen, id);
	if (!name || strcmp(json_object_get_string(name), BENCH_EVENT) || !msg)
		return;
	seq = json_object_get_int64(msg);
	P.events++;
	if (!seen_seq(&p->seen, seq, id))
		return;
	P.arrived[seq]++;
	P.t_last[seq] = now_ns();
}

static void poll_done(struct conn *c, const struct resp *r)
{
	struct poller *p = c->arg;
	json_object *o, *evs, *last;
	size_t n;

	p->busy = false;
	p->c = NULL;
	if (r->status != 200 || !(o = json_tokener_parse(r->body))) {
		P.errors++;
		if (P.first_errors++ < 5)
			fprintf(stderr, "fcgi_fanout: poll: status %d %s\n",
				r->status, r->body);
		/* As a browser client would: back off, then retry. */
		p->retry_at = now_ns() + 100 * NS_PER_MS;
		p->want = !P.stop;
		return;
	}
	P.polls++;
	P.polls_window++;
	if (json_object_get_boolean(json_get_path(o, "reset", NULL)))
		P.resets++;
	evs = json_get_path(o, "events", NULL);
	n = evs ? json_object_array_length(evs) : 0;
	if (n)
		P.nonempty++;
	for (size_t i = 0; i < n; i++)
		poll_event(p, json_object_array_get_idx(evs, i));
	last = json_get_path(o, "lastEventId", NULL);
	if (last)
		p->since = json_object_get_int64(last);
	json_object_put(o);
	p->want = !P.stop;
	p->retry_at = 0;
	if (p->want)
		poll_send(p); /* on EAGAIN the main loop retries */
}

static void pollers_kick(void)
{
	int64_t now = now_ns();

	for (size_t i = 0; i < P.m; i++)
		if (P.p[i].want && !P.p[i].busy && P.p[i].retry_at <= now &&
		    !poll_send(&P.p[i]))
			break;
}

static bool cond_pollers_snap(void *arg)
{
	(void)arg;
	for (size_t i = 0; i < P.m; i++)
		if (P.p[i].since < 0)
			return false;
	return true;
}

static bool cond_pollers_have(void *arg)
{
	int64_t total = *(int64_t *)arg;

	for (size_t i = 0; i < P.m; i++)
		if (P.p[i].seen.count < total)
			return false;
	return true;
}

static int bench_poll(long long m, long long rate, long long secs)
{
	struct emitter *em;
	struct proc_stats p0, pn, pe;
	struct health h;
	bool drained;
	size_t cap = fd_cap(), n_em = 16;
	int64_t total = rate * secs, t0, t1, next_seq = 0, lag = 0;
	int64_t *lat;
	size_t nlat = 0;
	uint64_t polls_before;
	bool all_have;

	if ((size_t)m + n_em > cap) {
		printf("  note: M=%lld capped to %zu by the fd limit\n", m,
		       cap - n_em);
		m = (long long)(cap - n_em);
	}
	B.max_seq = total;
	P.arrived = calloc((size_t)total + 1, sizeof(int64_t));
	P.t_last = calloc((size_t)total + 1, sizeof(int64_t));
	B.t_send = calloc((size_t)total + 1, sizeof(int64_t));
	lat = calloc((size_t)total + 1, sizeof(int64_t));
	P.p = calloc((size_t)m, sizeof(*P.p));
	em = calloc(n_em, sizeof(*em));
	if (!P.arrived || !P.t_last || !B.t_send || !lat || !P.p || !em)
		die("out of memory");
	P.m = (size_t)m;
	session_start();
	if (!health_get(0, &h))
		die("GET /api/health failed");
	loop_sleep(200); /* the server closes the connections just used */
	proc_read(h.pid, &p0);

	for (size_t i = 0; i < P.m; i++) {
		P.p[i].since = -1;
		P.p[i].seen.last_id = -1;
		P.p[i].want = true;
	}
	B.idle = pollers_kick;
	if (!loop_until(cond_pollers_snap, NULL, 60000))
		printf("  warning: not every poller got its snapshot\n");
	if (!health_wait(0, -1, (int)m, 10000))
		printf("  warning: server does not report %lld parked polls\n",
		       m);
	proc_read(h.pid, &pn);

	/* Emit at a fixed rate; pollers re-poll as answers come. */
	polls_before = P.polls;
	t0 = now_ns();
	while (next_seq < total) {
		int64_t due = t0 + next_seq * 1000000000LL / rate;
		int64_t now = now_ns();

		if (now >= due) {
			size_t i;

			for (i = 0; i < n_em && em[i].busy; i++)
				;
			if (i < n_em && emit_send(&em[i], next_seq)) {
				if (now - due > 100 * NS_PER_MS)
					lag++;
				next_seq++;
				continue;
			}
		}
		loop_once(now >= due ? 1 : (int)((due - now) / NS_PER_MS) + 1);
	}
	{
		all_have = loop_until(cond_pollers_have, &total, 30000);
	}
	t1 = now_ns();
	P.stop = true;
	printf("  %lld pollers, %" PRId64 " events at %lld/s: %" PRIu64
	       " polls answered in %.2f s\n",
	       m, total, rate, P.polls - polls_before, (double)(t1 - t0) / 1e9);
	for (int64_t s = 0; s < total; s++)
		if (P.arrived[s])
			lat[nlat++] = P.t_last[s] - B.t_send[s];
	qsort(lat, nlat, sizeof(*lat), cmp_i64);
	for (size_t i = 0; i < P.m; i++) {
		B.misses += (uint64_t)(total - P.p[i].seen.count);
		free(P.p[i].seen.bits);
	}

	/* Hang up on the polls still parked, as a web server would when
	 * its clients go; the server must free every one. */
	B.idle = NULL;
	for (size_t i = 0; i < P.m; i++)
		if (P.p[i].c) {
			conn_close(P.p[i].c);
			P.p[i].c = NULL;
		}
	conns_reap();
	drained = health_wait(0, -1, 0, 15000);
	loop_sleep(300);
	proc_read(h.pid, &pe);
	printf("  deliveries %" PRIu64 " of %" PRId64 " expected, duplicates "
	       "%" PRIu64 ", misses %" PRIu64 ", ids out of order %" PRIu64
	       ", resets %" PRIu64 ", errors %" PRIu64 "\n",
	       P.events, (int64_t)(total * m), B.dups, B.misses, B.disorder,
	       P.resets, P.errors);
	printf("result: mode=poll m=%lld rate=%lld secs=%lld events=%" PRId64
	       " polls=%" PRIu64 " polls_per_s=%.0f deliveries=%" PRIu64
	       " expected=%" PRId64 " per_poll=%.2f dups=%" PRIu64
	       " disorder=%" PRIu64 " mismatch=%" PRIu64 " misses=%" PRIu64
	       " resets=%" PRIu64 " errors=%" PRIu64
	       " all_have=%d emit_lag=%" PRId64
	       " lat_p50_ms=%.2f lat_p99_ms=%.2f lat_max_ms=%.2f "
	       "rss0_kb=%ld rssm_kb=%ld threads=%ld fds0=%ld fds_after=%ld "
	       "drained=%d\n",
	       m, rate, secs, total, P.polls - polls_before,
	       (double)(P.polls - polls_before) / ((double)(t1 - t0) / 1e9),
	       P.events, (int64_t)(total * m),
	       P.nonempty ? (double)P.events / (double)P.nonempty : 0.0, B.dups,
	       B.disorder, B.mismatch, B.misses, P.resets, P.errors, all_have,
	       lag, ms(pct(lat, nlat, 50)), ms(pct(lat, nlat, 99)),
	       ms(nlat ? lat[nlat - 1] : -1), p0.rss_kb, pn.rss_kb, pn.threads,
	       p0.fds, pe.fds, drained);
	free(lat);
	free(em);
	free(P.p);
	free(P.arrived);
	free(P.t_last);
	free(B.t_send);
	free(B.seq_id);
	free(B.dead);
	return 0;
}

/* ---- login ---- */

struct loginer {
	int64_t *lat;
	size_t n, cap;
	uint64_t errors;
	bool busy;
};

static void login_done(struct conn *c, const struct resp *r)
{
	struct loginer *l = c->arg;

	l->busy = false;
	if (r->status != 200) {
		if (l->errors++ < 3)
			fprintf(stderr, "fcgi_fanout: login: status %d %s\n",
				r->status, r->body);
		return;
	}
	if (l->n < l->cap)
		l->lat[l->n++] = now_ns() - c->t_start;
}

static int bench_login(long long clients, long long secs)
{
	struct req_spec r = {"POST", "/api/login", "",
			     "{\"username\":\"" BENCH_USER
			     "\",\"password\":\"" BENCH_PASS "\"}"};
	struct loginer *l = calloc((size_t)clients, sizeof(*l));
	int64_t *all, t0, t1;
	size_t n = 0;
	uint64_t errors = 0;
	struct health h;
	struct proc_stats ps;

	if (!l)
		die("out of memory");
	session_start(); /* registers the user; its own login is not timed */
	if (!health_get(0, &h))
		die("GET /api/health failed");
	for (long long i = 0; i < clients; i++) {
		l[i].cap = 100000;
		l[i].lat = calloc(l[i].cap, sizeof(int64_t));
		if (!l[i].lat)
			die("out of memory");
	}
	t0 = now_ns();
	while (now_ns() - t0 < secs * 1000 * NS_PER_MS) {
		for (long long i = 0; i < clients; i++)
			if (!l[i].busy &&
			    conn_open(0, CONN_REQ, &r, login_done, &l[i]))
				l[i].busy = true;
		loop_once(5);
	}
	/* Let the ones in flight finish (bounded). */
	for (int i = 0; i < 400; i++) {
		bool busy = false;

		for (long long j = 0; j < clients; j++)
			busy |= l[j].busy;
		if (!busy)
			break;
		loop_once(10);
	}
	t1 = now_ns();
	proc_read(h.pid, &ps);
	all = calloc((size_t)clients * 100000, sizeof(int64_t));
	if (!all)
		die("out of memory");
	for (long long i = 0; i < clients; i++) {
		memcpy(all + n, l[i].lat, l[i].n * sizeof(int64_t));
		n += l[i].n;
		errors += l[i].errors;
		free(l[i].lat);
	}
	qsort(all, n, sizeof(*all), cmp_i64);
	printf("  %zu logins by %lld clients in %.2f s = %.1f/s; latency p50 "
	       "%.1f ms, p99 %.1f ms; %" PRIu64 " errors\n",
	       n, clients, (double)(t1 - t0) / 1e9,
	       (double)n / ((double)(t1 - t0) / 1e9), ms(pct(all, n, 50)),
	       ms(pct(all, n, 99)), errors);
	printf("result: mode=login clients=%lld secs=%.2f logins=%zu "
	       "per_s=%.1f lat_p50_ms=%.1f lat_p99_ms=%.1f errors=%" PRIu64
	       " threads=%ld\n",
	       clients, (double)(t1 - t0) / 1e9, n,
	       (double)n / ((double)(t1 - t0) / 1e9), ms(pct(all, n, 50)),
	       ms(pct(all, n, 99)), errors, ps.threads);
	free(all);
	free(l);
	return 0;
}

/* ---- main ---- */

static void usage(void)
{
	fprintf(stderr, "usage: fcgi_fanout fanout -s SOCK [-s SOCK2] -n N -k "
			"K [-b B] [-w W] [-x 1]\n"
			"       fcgi_fanout poll -s SOCK -m M -r RATE -t SECS\n"
			"       fcgi_fanout login -s SOCK -c C -t SECS\n");
	exit(2);
}

int main(int argc, char **argv)
{
	long long n = 1000, k = 100, burst = 0, emitters = 2, m = 100,
		  rate = 10, secs = 5, clients = 2, stop = 0, *target;
	const char *mode;

	if (argc < 2)
		usage();
	mode = argv[1];
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];

		if (i + 1 >= argc)
			usage();
		if (!strcmp(a, "-s")) {
			if (B.nsocks == BENCH_MAX_SOCKS)
				usage();
			B.socks[B.nsocks++] = !strncmp(argv[i + 1], "unix:", 5)
						  ? argv[i + 1] + 5
						  : argv[i + 1];
			i++;
			continue;
		}
		target = !strcmp(a, "-n")   ? &n
			 : !strcmp(a, "-k") ? &k
			 : !strcmp(a, "-b") ? &burst
			 : !strcmp(a, "-w") ? &emitters
			 : !strcmp(a, "-m") ? &m
			 : !strcmp(a, "-r") ? &rate
			 : !strcmp(a, "-t") ? &secs
			 : !strcmp(a, "-c") ? &clients
			 : !strcmp(a, "-x") ? &stop
					    : NULL;
		if (!target || !parse_int(argv[++i], 0, 1000000, target))
			usage();
	}
	if (B.nsocks == 0 || emitters < 1 || rate < 1 || clients < 1)
		usage();
	signal(SIGPIPE, SIG_IGN);
	B.ep = epoll_create1(EPOLL_CLOEXEC);
	if (B.ep < 0)
		die("epoll_create1 failed");
	if (!strcmp(mode, "fanout"))
		return bench_fanout(n, k, burst, emitters, stop != 0);
	if (!strcmp(mode, "poll") && B.nsocks == 1)
		return bench_poll(m, rate, secs);
	if (!strcmp(mode, "login") && B.nsocks == 1)
		return bench_login(clients, secs);
	usage();
	return 2;
}
