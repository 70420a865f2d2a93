/* bench_recv.h -- what the receivers get, and the checks on it.
 *
 * Every emitted event is named "bench" with data = its sequence number, so
 * each receiver (an SSE stream, a long-poller) checks that it gets every
 * number exactly once (seen twice: a duplicate; never: a miss, counted by
 * the mode at the end), that event ids only grow, and that every receiver
 * sees a number under the same id (one order of events in every process).
 *
 *   bench_recv_alloc(b, k);                  // per-seq arrays, seq 0..k-1
 *   s = bench_recv_stream_open(b, group);    // GET /api/events
 *   ... the loop runs; b->n_ready, b->g[group].arrived[seq] grow ...
 *   bench_recv_stream_close(s); bench_recv_stream_free(s);
 *   bench_recv_poll_answer(b, &seen, body, &tally);  // one /api/poll answer
 *   bench_recv_free(b);
 *
 * A stream is "ready" once its snapshot (the first event with an id) has
 * come with status 200; it counts in b->g[group].live until it ends.
 * Streams are freed by their owner (the fan-out run), not by the loop.
 */
#ifndef EMITCGI_BENCH_RECV_H
#define EMITCGI_BENCH_RECV_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "bench_loop.h"

#define BENCH_RECV_LINE_MAX 256

struct bench;

/* The checks shared by every receiver of a run. */
struct bench_seq {
	int64_t max_seq; /* sequence numbers are 0..max_seq-1 */
	int64_t *seq_id; /* [seq] the event id it was first seen with */
	uint64_t dups, misses, disorder, strays;
	uint64_t mismatch; /* a seq seen under two different ids */
};

/* What one receiver has: ids must increase, and each sequence number
 * arrive once (emitters run concurrently, so numbers need not come in
 * order). */
struct bench_seen {
	uint64_t *bits;	 /* bit seq: received */
	int64_t last_id; /* -1 before the first event */
	int64_t count;	 /* distinct sequence numbers received */
};

/* Allocates b->t_send, b->seq's and each group's per-seq arrays for
 * sequence numbers 0..max_seq-1; exits when out of memory. */
void bench_recv_alloc(struct bench *b, int64_t max_seq);
void bench_recv_free(struct bench *b);

/* An event id seen by s: counts ids that do not grow. */
void bench_recv_id(struct bench_seq *q, struct bench_seen *s, int64_t id);
/* True when seq is new to s (counted); counts duplicates, strays and one
 * seq under two ids. */
bool bench_recv_seq(struct bench_seq *q, struct bench_seen *s, int64_t seq,
		    int64_t id);
void bench_recv_seen_release(struct bench_seen *s);

/* ---- SSE streams ---- */

struct bench_stream {
	struct bench_conn c; /* first: the loop hands back &c */
	struct bench *b;
	bool in_body, ready, failed, ended;
	int status;
	char line[BENCH_RECV_LINE_MAX];
	size_t line_len;
	bool ev_has_id, ev_bench, ev_has_seq; /* the event being read */
	int64_t ev_id, ev_seq;
	struct bench_seen seen;
};

/* Opens GET /api/events on socket `group`: the stream, or NULL with errno
 * (EAGAIN: the listen backlog is full). */
struct bench_stream *bench_recv_stream_open(struct bench *b, int group);
/* Closes the stream on purpose (not counted as ended by the server). */
void bench_recv_stream_close(struct bench_stream *s);
void bench_recv_stream_free(struct bench_stream *s);

/* ---- long-poll answers ---- */

struct bench_poll_tally {
	uint64_t events;   /* "bench" events in answers, duplicates too */
	uint64_t resets;   /* answers with "reset": true */
	uint64_t nonempty; /* answers with at least one event */
};

/* Reads one /api/poll answer (JSON) for a poller: checks each event into
 * seen and b->g[0], advances *since to lastEventId.  False when the body
 * is not JSON. */
bool bench_recv_poll_answer(struct bench *b, struct bench_seen *seen,
			    const char *body, int64_t *since,
			    struct bench_poll_tally *t);

/* o.a or o.a.b (b may be NULL); NULL when absent. */
json_object *bench_recv_json(json_object *o, const char *a, const char *b);

#endif
