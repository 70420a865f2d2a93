/* bench_stop.h -- SIGTERM with every stream parked (the capacity run).
 *
 *   bench_stop_servers(b, health, &res);  // after the streams are parked
 *
 * SPEC: on SIGTERM emitcgi ends every parked stream (END_REQUEST) and
 * exits within 5 s.  This sends SIGTERM to every server of the run, counts
 * how the streams end (cleanly, or just closed) and times the last stream
 * and the exits; run.sh's checks judge the figures.
 */
#ifndef EMITCGI_BENCH_STOP_H
#define EMITCGI_BENCH_STOP_H

#include <stdbool.h>
#include <stddef.h>

#include "bench_api.h"

struct bench;

struct bench_stop_result {
	double streams_ms; /* SIGTERM -> the last stream ended */
	double exit_ms;	   /* SIGTERM -> every process exited */
	size_t clean;	   /* streams ended with END_REQUEST */
	size_t abrupt;	   /* closed without it */
	bool exited;
};

/* h[g].pid for each socket of b; waits at most 10 s for each stage. */
void bench_stop_servers(struct bench *b, const struct bench_health *h,
			struct bench_stop_result *r);

#endif
