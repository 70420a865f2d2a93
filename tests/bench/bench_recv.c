/* bench_recv.c -- the SSE and poll readers and the sequence checks (see
 * bench_recv.h).
 *
 * The SSE reader follows the event stream format of the HTML standard
 * (9.2.6): lines "field: value", an empty line dispatches the event, lines
 * starting with ':' are comments (emitcgi's heartbeats).  Only what the
 * checks need is kept; long lines are cut (none that matter here).
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bench.h"
#include "bench_recv.h"
#include "bench_stats.h"

static void *recv_calloc(int64_t n, size_t size)
{
	void *p = calloc((size_t)n + 1, size);

	if (!p)
		bench_die("out of memory");
	return p;
}

void bench_recv_alloc(struct bench *b, int64_t max_seq)
{
	b->seq.max_seq = max_seq;
	b->seq.seq_id = recv_calloc(max_seq, sizeof(int64_t));
	b->t_send = recv_calloc(max_seq, sizeof(int64_t));
	for (int g = 0; g < BENCH_MAX_SOCKS; g++) {
		b->g[g].arrived = recv_calloc(max_seq, sizeof(int64_t));
		b->g[g].t_last = recv_calloc(max_seq, sizeof(int64_t));
		b->g[g].t_first = recv_calloc(max_seq, sizeof(int64_t));
	}
}

void bench_recv_free(struct bench *b)
{
	free(b->seq.seq_id);
	b->seq.seq_id = NULL;
	free(b->t_send);
	b->t_send = NULL;
	for (int g = 0; g < BENCH_MAX_SOCKS; g++) {
		free(b->g[g].arrived);
		free(b->g[g].t_last);
		free(b->g[g].t_first);
		b->g[g].arrived = b->g[g].t_last = b->g[g].t_first = NULL;
	}
}

void bench_recv_id(struct bench_seq *q, struct bench_seen *s, int64_t id)
{
	if (id <= s->last_id)
		q->disorder++;
	else
		s->last_id = id;
}

bool bench_recv_seq(struct bench_seq *q, struct bench_seen *s, int64_t seq,
		    int64_t id)
{
	if (seq < 0 || seq >= q->max_seq) {
		q->strays++;
		return false;
	}
	if (!q->seq_id[seq])
		q->seq_id[seq] = id;
	else if (q->seq_id[seq] != id)
		q->mismatch++;
	if (!s->bits) {
		s->bits = calloc((size_t)(q->max_seq + 63) / 64,
				 sizeof(uint64_t));
		if (!s->bits)
			bench_die("out of memory");
	}
	if (s->bits[seq / 64] & (1ull << (seq % 64))) {
		q->dups++;
		return false;
	}
	s->bits[seq / 64] |= 1ull << (seq % 64);
	s->count++;
	return true;
}

void bench_recv_seen_release(struct bench_seen *s)
{
	free(s->bits);
	s->bits = NULL;
}

/* ---- SSE streams ---- */

/* The empty line: the event read so far is complete. */
static void stream_dispatch(struct bench_stream *s)
{
	struct bench *b = s->b;
	struct bench_group *g = &b->g[s->c.group];

	if (s->ev_has_id && !s->ready && !s->failed) {
		s->ready = true;
		b->n_ready++;
		g->live++;
	}
	if (s->ev_has_id)
		bench_recv_id(&b->seq, &s->seen, s->ev_id);
	if (s->ev_bench && s->ev_has_seq &&
	    bench_recv_seq(&b->seq, &s->seen, s->ev_seq,
			   s->ev_has_id ? s->ev_id : -1)) {
		g->t_last[s->ev_seq] = bench_stats_now_ns();
		if (g->arrived[s->ev_seq]++ == 0)
			g->t_first[s->ev_seq] = g->t_last[s->ev_seq];
	}
	s->ev_has_id = s->ev_bench = s->ev_has_seq = false;
}

/* One line of the CGI head. */
static void stream_head_line(struct bench_stream *s, const char *line,
			     size_t len)
{
	if (len == 0) {
		s->in_body = true;
		if (s->status != 200)
			s->failed = true;
	} else if (!strncasecmp(line, "Status:", 7)) {
		s->status = (int)strtol(line + 7, NULL, 10);
	}
}

static void stream_line(struct bench_stream *s, char *line, size_t len)
{
	const char *m;
	char *end;

	if (len && line[len - 1] == '\r')
		line[--len] = '\0';
	if (!s->in_body) {
		stream_head_line(s, line, len);
	} else if (len == 0) {
		stream_dispatch(s);
	} else if (line[0] == ':') {
		s->b->pings++;
	} else if (!strncmp(line, "id:", 3)) {
		s->ev_has_id = true;
		s->ev_id = strtoll(line + 3, NULL, 10);
	} else if (!strcmp(line, "event: " BENCH_EVENT)) {
		s->ev_bench = true;
	} else if (!strncmp(line, "data:", 5) &&
		   (m = strstr(line, "\"message\":")) != NULL) {
		errno = 0;
		s->ev_seq = strtoll(m + 10, &end, 10);
		s->ev_has_seq = errno == 0 && end != m + 10;
	}
}

static void stream_on_stdout(struct bench_conn *c, const char *p, size_t n)
{
	struct bench_stream *s = (struct bench_stream *)c;

	while (n) {
		const char *nl = memchr(p, '\n', n);
		size_t take = nl ? (size_t)(nl - p) : n;
		size_t room = sizeof(s->line) - 1 - s->line_len;
		size_t keep = take < room ? take : room;

		memcpy(s->line + s->line_len, p, keep);
		s->line_len += keep;
		if (!nl)
			return;
		s->line[s->line_len] = '\0';
		stream_line(s, s->line, s->line_len);
		s->line_len = 0;
		p = nl + 1;
		n -= take + 1;
	}
}

/* complete: the server ended the request (END_REQUEST), rather than just
 * closing the connection. */
static void stream_on_end(struct bench_conn *c, bool complete)
{
	struct bench_stream *s = (struct bench_stream *)c;
	struct bench *b = s->b;

	if (s->ended)
		return;
	s->ended = true;
	if (s->ready) {
		b->g[c->group].live--;
		if (!b->closing)
			b->n_ended++;
		if (complete)
			b->n_clean_end++;
	} else {
		b->n_failed++;
	}
	bench_loop_close(c);
}

static const struct bench_conn_ops stream_ops = {
	.on_stdout = stream_on_stdout,
	.on_end = stream_on_end,
	.free = NULL, /* the fan-out run frees its streams */
};

struct bench_stream *bench_recv_stream_open(struct bench *b, int group)
{
	struct bench_req_spec r = { "GET", "/api/events", "", NULL };
	struct bench_stream *s = calloc(1, sizeof(*s));
	int err;

	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	s->b = b;
	s->c.fd = -1;
	s->seen.last_id = -1;
	buf_init(&s->c.out, BENCH_LOOP_OUT_MAX);
	if (bench_req_build(&s->c.out, b->cookie, &r) != EC_OK) {
		errno = E2BIG;
		goto fail;
	}
	if (bench_loop_connect(&b->loop, &s->c, group, &stream_ops) != 0)
		goto fail;
	return s;
fail:
	err = errno;
	bench_recv_stream_free(s);
	errno = err;
	return NULL;
}

void bench_recv_stream_close(struct bench_stream *s)
{
	if (s->c.closed)
		return;
	if (s->ready && !s->ended)
		s->b->g[s->c.group].live--;
	s->ended = true;
	bench_loop_close(&s->c);
}

void bench_recv_stream_free(struct bench_stream *s)
{
	if (!s)
		return;
	bench_loop_conn_release(&s->c);
	bench_recv_seen_release(&s->seen);
	free(s);
}

/* ---- long-poll answers ---- */

json_object *bench_recv_json(json_object *o, const char *a, const char *b)
{
	json_object *v = NULL;

	if (!o || !json_object_object_get_ex(o, a, &v))
		return NULL;
	if (b && !json_object_object_get_ex(v, b, &v))
		return NULL;
	return v;
}

static void poll_event(struct bench *b, struct bench_seen *seen,
		       json_object *ev, struct bench_poll_tally *t)
{
	json_object *name = bench_recv_json(ev, "event", NULL);
	json_object *msg = bench_recv_json(ev, "data", "message");
	int64_t id = json_object_get_int64(bench_recv_json(ev, "id", NULL));
	int64_t seq;

	bench_recv_id(&b->seq, seen, id);
	if (!name || strcmp(json_object_get_string(name), BENCH_EVENT) || !msg)
		return;
	seq = json_object_get_int64(msg);
	t->events++;
	if (!bench_recv_seq(&b->seq, seen, seq, id))
		return;
	b->g[0].arrived[seq]++;
	b->g[0].t_last[seq] = bench_stats_now_ns();
}

bool bench_recv_poll_answer(struct bench *b, struct bench_seen *seen,
			    const char *body, int64_t *since,
			    struct bench_poll_tally *t)
{
	json_object *o = json_tokener_parse(body), *evs, *last;
	size_t n;

	if (!o)
		return false;
	if (json_object_get_boolean(bench_recv_json(o, "reset", NULL)))
		t->resets++;
	evs = bench_recv_json(o, "events", NULL);
	n = evs ? json_object_array_length(evs) : 0;
	if (n)
		t->nonempty++;
	for (size_t i = 0; i < n; i++)
		poll_event(b, seen, json_object_array_get_idx(evs, i), t);
	last = bench_recv_json(o, "lastEventId", NULL);
	if (last)
		*since = json_object_get_int64(last);
	json_object_put(o);
	return true;
}
