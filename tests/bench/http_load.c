/* http_load.c -- the load client that goes through a real web server
 * (issue 8): N SSE streams or N long-poll loops over HTTP/1.1 on
 * 127.0.0.1, K broadcasts, and per broadcast who got it and when.
 *
 *   http_load --port P --mode sse|poll --peer emitcgi|nchan -n N -k K
 *             [--emitcgi-pid PID] [--front-pids PID,PID...] [--label TEXT]
 *
 * emitcgi: logs one user in (POST /api/register, /api/login), streams
 * GET /api/events or polls GET /api/poll?since=<lastEventId> with its
 * cookie, broadcasts with POST /api/emit {"event":"bench","data":
 * "bench-<seq>"}.  nchan: GET /sub/bench (SSE with Accept:
 * text/event-stream; long-poll with If-Modified-Since / If-None-Match
 * from the previous answer), POST /pub/bench with body "bench-<seq>".
 * Each broadcast waits until every client has it or BROADCAST_WAIT_MS.
 *
 * Prints a JSON summary line: delivered share (the smallest of the K),
 * p50/p99/max from the POST to each receipt, answered polls, failures by
 * status (0: a connection that failed or closed), and the CPU seconds and
 * RSS of emitcgi and of the front server's processes (from /proc, summed),
 * measured over the broadcasts only.
 *
 * One thread, one epoll set, non-blocking sockets (as the FastCGI bench
 * client, whose bench_stats.c it reuses for clocks, percentiles and
 * /proc).  Bounded: connection set-up and every broadcast have deadlines.
 */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench_stats.h"

#define HL_BUF 8192 /* a poll answer of a few events; SSE keeps a tail */
#define HL_CONNECT_BATCH 400
#define HL_SETUP_MS 120000
#define HL_BROADCAST_WAIT_MS 15000
#define HL_GAP_MS 300 /* between broadcasts: pollers re-poll */
#define HL_MAX_STATUS 600

enum hl_mode { HL_SSE, HL_POLL };
enum hl_peer { HL_EMITCGI, HL_NCHAN };

struct hl_conn {
	int fd;
	bool head_done; /* HTTP head of the current answer read */
	bool ready;	/* SSE: streaming; poll: first poll sent/answered */
	int status;
	long clen; /* Content-Length, -1 if none */
	bool chunked;
	int64_t last_seq; /* newest seq seen */
	int64_t last_id;  /* emitcgi poll: lastEventId */
	char etag[64], lastmod[64];
	size_t len;
	char buf[]; /* HL_BUF */
};

static struct {
	int port;
	enum hl_mode mode;
	enum hl_peer peer;
	int n, k;
	int emitcgi_pid;
	int front_pids[16], n_front;
	const char *label;
	char cookie[160];
	int ep;
	struct hl_conn **conns;
	int64_t t_send;	 /* of the current broadcast */
	int64_t cur_seq; /* current broadcast */
	int64_t got;	 /* clients that have cur_seq */
	int64_t *lat;	 /* every receipt's latency, ns */
	size_t n_lat, cap_lat;
	uint64_t polls; /* poll answers read */
	uint64_t fails[HL_MAX_STATUS + 1];
	double min_share;
} hl;

/* ---- blocking requests (login, emit) ---- */

static int hl_connect(bool nonblock)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons((uint16_t)hl.port) };
	int fd = socket(AF_INET,
			SOCK_STREAM | SOCK_CLOEXEC |
				(nonblock ? SOCK_NONBLOCK : 0),
			0),
	    one = 1;

	if (fd < 0)
		return -1;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 &&
	    errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

/* One request, Connection: close; the answer in out (NUL-terminated).
 * Returns the status, 0 on failure. */
static int hl_request(const char *method, const char *path, const char *body,
		      char *out, size_t out_size)
{
	char req[2048];
	size_t got = 0;
	int fd = hl_connect(false), status = 0, n;
	struct timeval tv = { 10, 0 };

	if (fd < 0)
		return 0;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	n = snprintf(req, sizeof(req),
		     "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
		     "Connection: close\r\n%s%s%s"
		     "Content-Type: %s\r\nContent-Length: %zu\r\n\r\n%s",
		     method, path, hl.port, *hl.cookie ? "Cookie: " : "",
		     hl.cookie, *hl.cookie ? "\r\n" : "",
		     hl.peer == HL_NCHAN ? "text/plain" : "application/json",
		     body ? strlen(body) : 0, body ? body : "");
	if (n < 0 || (size_t)n >= sizeof(req) || write(fd, req, (size_t)n) != n)
		goto out;
	while (got + 1 < out_size) {
		ssize_t r = read(fd, out + got, out_size - 1 - got);

		if (r <= 0)
			break;
		got += (size_t)r;
	}
	out[got] = '\0';
	if (sscanf(out, "HTTP/1.%*d %d", &status) != 1)
		status = 0;
out:
	close(fd);
	return status;
}

static int hl_login(void)
{
	static const char creds[] =
		"{\"username\":\"benchuser\",\"password\":\"bench-password-1\"}";
	char out[8192], *c, *e;

	hl_request("POST", "/api/register", creds, out, sizeof(out));
	if (hl_request("POST", "/api/login", creds, out, sizeof(out)) != 200)
		return -1;
	c = strstr(out, "emitcgi_sid=");
	if (!c || !(e = strchr(c, ';')) || (size_t)(e - c) >= sizeof(hl.cookie))
		return -1;
	memcpy(hl.cookie, c, (size_t)(e - c));
	hl.cookie[e - c] = '\0';
	return 0;
}

static int hl_broadcast(int64_t seq)
{
	char body[128], out[4096];

	if (hl.peer == HL_NCHAN) {
		snprintf(body, sizeof(body), "bench-%lld", (long long)seq);
		return hl_request("POST", "/pub/bench", body, out, sizeof(out));
	}
	snprintf(body, sizeof(body),
		 "{\"event\":\"bench\",\"data\":\"bench-%lld\"}",
		 (long long)seq);
	return hl_request("POST", "/api/emit", body, out, sizeof(out));
}

/* ---- the clients ---- */

static void hl_fail(int status)
{
	hl.fails[status >= 0 && status <= HL_MAX_STATUS ? status : 0]++;
}

static int hl_send_get(struct hl_conn *c)
{
	char req[1024];
	int n;

	if (hl.peer == HL_NCHAN)
		n = snprintf(req, sizeof(req),
			     "GET /sub/bench HTTP/1.1\r\nHost: 127.0.0.1\r\n"
			     "%s%s%s%s%s%s%s\r\n",
			     hl.mode == HL_SSE ? "Accept: text/event-stream\r\n"
					       : "",
			     *c->lastmod ? "If-Modified-Since: " : "",
			     c->lastmod, *c->lastmod ? "\r\n" : "",
			     *c->etag ? "If-None-Match: " : "", c->etag,
			     *c->etag ? "\r\n" : "");
	else if (hl.mode == HL_SSE)
		n = snprintf(req, sizeof(req),
			     "GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
			     "Accept: text/event-stream\r\nCookie: %s\r\n\r\n",
			     hl.cookie);
	else if (c->last_id < 0)
		n = snprintf(req, sizeof(req),
			     "GET /api/poll HTTP/1.1\r\nHost: 127.0.0.1\r\n"
			     "Cookie: %s\r\n\r\n",
			     hl.cookie);
	else
		n = snprintf(req, sizeof(req),
			     "GET /api/poll?since=%lld HTTP/1.1\r\n"
			     "Host: 127.0.0.1\r\nCookie: %s\r\n\r\n",
			     (long long)c->last_id, hl.cookie);
	/* A request is small: the socket takes it whole. */
	return n > 0 && write(c->fd, req, (size_t)n) == n ? 0 : -1;
}

static int hl_open(struct hl_conn *c)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.ptr = c };

	c->fd = hl_connect(true);
	c->head_done = c->ready = false;
	c->len = 0;
	if (c->fd < 0 || epoll_ctl(hl.ep, EPOLL_CTL_ADD, c->fd, &ev) != 0)
		return -1;
	return 0;
}

static void hl_close(struct hl_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/* Every "bench-<seq>" in p[0..n): receipts of the current broadcast. */
static void hl_scan(struct hl_conn *c, const char *p, size_t n)
{
	const char *end = p + n, *q = p;

	while ((q = memmem(q, (size_t)(end - q), "bench-", 6))) {
		int64_t seq = 0;

		q += 6;
		if (q >= end || *q < '0' || *q > '9')
			continue;
		while (q < end && *q >= '0' && *q <= '9')
			seq = seq * 10 + (*q++ - '0');
		if (seq <= c->last_seq)
			continue;
		c->last_seq = seq;
		if (seq == hl.cur_seq) {
			int64_t d = bench_stats_now_ns() - hl.t_send;

			hl.got++;
			if (hl.n_lat < hl.cap_lat)
				hl.lat[hl.n_lat++] = d;
		}
	}
}

static void hl_header(struct hl_conn *c, const char *name, char *dst,
		      size_t size, const char *head)
{
	const char *h = strcasestr(head, name), *e;

	*dst = '\0';
	if (!h)
		return;
	h += strlen(name);
	while (*h == ' ')
		h++;
	e = strstr(h, "\r\n");
	if (e && (size_t)(e - h) < size) {
		memcpy(dst, h, (size_t)(e - h));
		dst[e - h] = '\0';
	}
	(void)c;
}

/* A poll answer is complete in c->buf[0..c->len): act on it. */
static void hl_poll_answered(struct hl_conn *c, const char *body)
{
	const char *id = strstr(body, "\"lastEventId\":");

	hl.polls++;
	if (c->status != 200 && c->status != 304 && c->status != 408)
		hl_fail(c->status);
	if (id)
		c->last_id = strtoll(id + 14, NULL, 10);
	c->ready = true;
	c->head_done = false;
	c->len = 0;
	if (hl_send_get(c) != 0) {
		hl_fail(0);
		hl_close(c);
	}
}

static void hl_on_read(struct hl_conn *c)
{
	for (;;) {
		ssize_t r = read(c->fd, c->buf + c->len, HL_BUF - 1 - c->len);
		char *hend;

		if (r < 0 && errno == EAGAIN)
			return;
		if (r <= 0) {
			if (!hl.cur_seq || c->ready)
				hl_fail(0);
			hl_close(c);
			return;
		}
		c->len += (size_t)r;
		c->buf[c->len] = '\0';
		if (!c->head_done) {
			char v[32];

			if (!(hend = strstr(c->buf, "\r\n\r\n")))
				continue;
			c->head_done = true;
			if (sscanf(c->buf, "HTTP/1.%*d %d", &c->status) != 1)
				c->status = 0;
			hl_header(c, "\r\nContent-Length:", v, sizeof(v),
				  c->buf);
			c->clen = *v ? strtol(v, NULL, 10) : -1;
			c->chunked = strcasestr(c->buf, "chunked") != NULL;
			hl_header(c, "\r\nEtag:", c->etag, sizeof(c->etag),
				  c->buf);
			hl_header(c, "\r\nLast-Modified:", c->lastmod,
				  sizeof(c->lastmod), c->buf);
			if (hl.mode == HL_SSE) {
				if (c->status != 200) {
					hl_fail(c->status);
					hl_close(c);
					return;
				}
				c->ready = true;
			}
		}
		hend = strstr(c->buf, "\r\n\r\n") + 4;
		if (hl.mode == HL_SSE) {
			/* Scan and keep a short tail (a split "bench-"). */
			hl_scan(c, hend, (size_t)(c->buf + c->len - hend));
			if (c->len > 32) {
				size_t keep = 24,
				       hl_len = (size_t)(hend - c->buf);

				memmove(c->buf + hl_len, c->buf + c->len - keep,
					keep);
				c->len = hl_len + keep;
				c->buf[c->len] = '\0';
			}
			continue;
		}
		/* Poll: wait for the whole answer. */
		if ((c->clen >= 0 &&
		     (size_t)(c->buf + c->len - hend) >= (size_t)c->clen) ||
		    (c->chunked && strstr(hend, "\r\n0\r\n\r\n")) ||
		    (c->chunked && !strncmp(hend, "0\r\n\r\n", 5))) {
			hl_scan(c, hend, (size_t)(c->buf + c->len - hend));
			hl_poll_answered(c, hend);
			return;
		}
		if (c->len >= HL_BUF - 1) {
			hl_fail(0);
			hl_close(c);
			return;
		}
	}
}

static void hl_loop(int timeout_ms)
{
	struct epoll_event evs[1024];
	int n = epoll_wait(hl.ep, evs, 1024, timeout_ms);

	for (int i = 0; i < n; i++) {
		struct hl_conn *c = evs[i].data.ptr;

		if (c->fd < 0)
			continue;
		if (evs[i].events & EPOLLOUT) {
			struct epoll_event ev = { .events = EPOLLIN,
						  .data.ptr = c };

			epoll_ctl(hl.ep, EPOLL_CTL_MOD, c->fd, &ev);
			if (hl_send_get(c) != 0) {
				hl_fail(0);
				hl_close(c);
				continue;
			}
			if (hl.peer == HL_NCHAN && hl.mode == HL_POLL)
				c->ready = true;
		}
		if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			hl_on_read(c);
	}
}

static int hl_count_ready(void)
{
	int r = 0;

	for (int i = 0; i < hl.n; i++)
		r += hl.conns[i] && hl.conns[i]->fd >= 0 && hl.conns[i]->ready;
	return r;
}

static void hl_procs(double *cpu_e, long *rss_e, double *cpu_f, long *rss_f)
{
	struct bench_proc ps;

	*cpu_e = *cpu_f = 0;
	*rss_e = *rss_f = 0;
	if (hl.emitcgi_pid > 0) {
		bench_stats_proc_read(hl.emitcgi_pid, &ps);
		*cpu_e = ps.cpu_s;
		*rss_e = ps.rss_kb;
	}
	for (int i = 0; i < hl.n_front; i++) {
		bench_stats_proc_read(hl.front_pids[i], &ps);
		*cpu_f += ps.cpu_s > 0 ? ps.cpu_s : 0;
		*rss_f += ps.rss_kb > 0 ? ps.rss_kb : 0;
	}
}

static void hl_args(int argc, char **argv)
{
	hl.n = 1000;
	hl.k = 5;
	hl.label = "";
	for (int i = 1; i + 1 < argc; i += 2) {
		const char *a = argv[i], *v = argv[i + 1];

		if (!strcmp(a, "--port"))
			hl.port = (int)strtol(v, NULL, 10);
		else if (!strcmp(a, "--mode"))
			hl.mode = strcmp(v, "poll") ? HL_SSE : HL_POLL;
		else if (!strcmp(a, "--peer"))
			hl.peer = strcmp(v, "nchan") ? HL_EMITCGI : HL_NCHAN;
		else if (!strcmp(a, "-n"))
			hl.n = (int)strtol(v, NULL, 10);
		else if (!strcmp(a, "-k"))
			hl.k = (int)strtol(v, NULL, 10);
		else if (!strcmp(a, "--emitcgi-pid"))
			hl.emitcgi_pid = (int)strtol(v, NULL, 10);
		else if (!strcmp(a, "--label"))
			hl.label = v;
		else if (!strcmp(a, "--front-pids")) {
			char *s = strdup(v), *tok, *save = NULL;

			for (tok = strtok_r(s, ",", &save);
			     tok && hl.n_front < 16;
			     tok = strtok_r(NULL, ",", &save))
				hl.front_pids[hl.n_front++] =
					(int)strtol(tok, NULL, 10);
			free(s);
		}
	}
}

int main(int argc, char **argv)
{
	double cpu_e0, cpu_f0, cpu_e1, cpu_f1;
	long rss_e, rss_f;
	int64_t deadline, t0;
	int opened = 0, ready;

	hl_args(argc, argv);
	if (hl.port <= 0 || hl.n <= 0 || hl.k <= 0 ||
	    (size_t)hl.n + 16 > bench_stats_fd_cap()) {
		fprintf(stderr, "http_load: bad arguments or too few fds\n");
		return 2;
	}
	if (hl.peer == HL_EMITCGI && hl_login() != 0) {
		fprintf(stderr, "http_load: cannot log in\n");
		return 1;
	}
	hl.ep = epoll_create1(EPOLL_CLOEXEC);
	hl.conns = calloc((size_t)hl.n, sizeof(*hl.conns));
	hl.cap_lat = (size_t)hl.n * (size_t)hl.k;
	hl.lat = calloc(hl.cap_lat, sizeof(*hl.lat));
	if (hl.ep < 0 || !hl.conns || !hl.lat)
		return 1;
	hl.min_share = 1.0;
	/* Open in batches, so as not to overflow the front's backlog. */
	deadline = bench_stats_now_ns() + HL_SETUP_MS * BENCH_NS_PER_MS;
	while (bench_stats_now_ns() < deadline) {
		for (int b = 0; b < HL_CONNECT_BATCH && opened < hl.n; b++) {
			struct hl_conn *c = calloc(1, sizeof(*c) + HL_BUF);

			if (!c)
				return 1;
			c->last_id = -1;
			hl.conns[opened++] = c;
			if (hl_open(c) != 0) {
				hl_fail(0);
				hl_close(c);
			}
		}
		hl_loop(20);
		ready = hl_count_ready();
		if (opened == hl.n && ready == hl.n)
			break;
	}
	/* Let the last subscriptions settle (nchan registers them). */
	for (t0 = bench_stats_now_ns();
	     bench_stats_now_ns() - t0 < 1000 * BENCH_NS_PER_MS;)
		hl_loop(50);
	ready = hl_count_ready();
	hl_procs(&cpu_e0, &rss_e, &cpu_f0, &rss_f);
	for (int s = 1; s <= hl.k; s++) {
		int status;
		double share;

		hl.cur_seq = s;
		hl.got = 0;
		hl.t_send = bench_stats_now_ns();
		status = hl_broadcast(s);
		if (status < 200 || status > 299)
			hl_fail(status);
		deadline = hl.t_send + HL_BROADCAST_WAIT_MS * BENCH_NS_PER_MS;
		while (hl.got < hl.n && bench_stats_now_ns() < deadline)
			hl_loop(50);
		share = (double)hl.got / hl.n;
		if (share < hl.min_share)
			hl.min_share = share;
		for (t0 = bench_stats_now_ns();
		     bench_stats_now_ns() - t0 < HL_GAP_MS * BENCH_NS_PER_MS;)
			hl_loop(20);
	}
	hl_procs(&cpu_e1, &rss_e, &cpu_f1, &rss_f);
	bench_stats_sort(hl.lat, hl.n_lat);
	{
		uint64_t failed = 0;
		char fails[512] = "";
		size_t off = 0;

		for (int st = 0; st <= HL_MAX_STATUS; st++) {
			if (!hl.fails[st])
				continue;
			failed += hl.fails[st];
			off += (size_t)snprintf(
				fails + off, sizeof(fails) - off,
				"%s\"%d\":%llu", off ? "," : "", st,
				(unsigned long long)hl.fails[st]);
			if (off >= sizeof(fails))
				break;
		}
		printf("{\"label\":\"%s\",\"peer\":\"%s\",\"mode\":\"%s\","
		       "\"n\":%d,\"k\":%d,\"ready\":%d,\"delivered_min_share\":%.4f,"
		       "\"p50_ms\":%.1f,\"p99_ms\":%.1f,\"max_ms\":%.1f,"
		       "\"polls\":%llu,\"failed\":%llu,\"failures\":{%s},"
		       "\"server_cpu_s\":%.3f,\"server_rss_kb\":%ld,"
		       "\"front_cpu_s\":%.3f,\"front_rss_kb\":%ld,"
		       "\"client_cpu_s\":%.3f}\n",
		       hl.label, hl.peer == HL_NCHAN ? "nchan" : "emitcgi",
		       hl.mode == HL_SSE ? "sse" : "poll", hl.n, hl.k, ready,
		       hl.min_share,
		       bench_stats_ms(bench_stats_pct(hl.lat, hl.n_lat, 50)),
		       bench_stats_ms(bench_stats_pct(hl.lat, hl.n_lat, 99)),
		       bench_stats_ms(bench_stats_max(hl.lat, hl.n_lat)),
		       (unsigned long long)hl.polls, (unsigned long long)failed,
		       fails, cpu_e1 - cpu_e0, rss_e, cpu_f1 - cpu_f0, rss_f,
		       bench_stats_self_cpu_s());
	}
	for (int i = 0; i < opened; i++) {
		hl_close(hl.conns[i]);
		free(hl.conns[i]);
	}
	free(hl.conns);
	free(hl.lat);
	close(hl.ep);
	return 0;
}
