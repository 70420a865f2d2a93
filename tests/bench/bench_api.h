/* bench_api.h -- the calls the bench client makes to emitcgi's API.
 *
 *   bench_api_session(b);          // register (409 is fine) and log in
 *   bench_api_health(b, g, &h);    // GET /api/health: pid, parked waiters
 *   bench_api_health_wait(b, g, sse, poll, timeout_ms);
 *   bench_api_emit(b, &e, seq);    // POST /api/emit {"event":"bench",...}
 *
 * Each runs the loop while it waits (the streams keep being served).  An
 * emitter sends one event at a time; while [next, end) is not empty it
 * sends the next one as soon as the last is answered.
 */
#ifndef EMITCGI_BENCH_API_H
#define EMITCGI_BENCH_API_H

#include <stdbool.h>
#include <stdint.h>

struct bench;

struct bench_health {
	int pid, sse, poll; /* the process; parked streams and polls */
	int64_t last_id;
};

/* Registers the bench user and logs in (b->cookie); exits when it cannot:
 * without a session no mode can run. */
void bench_api_session(struct bench *b);
/* GET /api/health on socket group: true with *h filled. */
bool bench_api_health(struct bench *b, int group, struct bench_health *h);
/* Asks /api/health until the server has sse (and poll, when poll >= 0;
 * sse < 0: any) waiters parked: false after timeout_ms. */
bool bench_api_health_wait(struct bench *b, int group, int sse, int poll,
			   int64_t timeout_ms);

struct bench_emitter {
	struct bench *b;
	int64_t next, end; /* sequence numbers still to send: [next, end) */
	int64_t sent, acked, errors;
	int64_t t_last_ack;
	bool busy;
};

/* Sends event seq through socket 0 and records b->t_send[seq]: true when
 * sent, false with errno (EAGAIN: try again later). */
bool bench_api_emit(struct bench *b, struct bench_emitter *e, int64_t seq);

#endif
