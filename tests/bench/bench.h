/* bench.h -- the context of one run of the bench client (tests/bench/).
 *
 * main() (fcgi_fanout.c) makes one struct bench and passes it down; there
 * is no other state.  It holds the loop and its sockets, the session
 * cookie, the sequence checker every receiver reports to, and per server
 * (group) how many streams have each event and when the last got it.
 *
 *   fcgi_fanout.c   argv, the context, which mode runs
 *   bench_fanout.c  fan-out: N streams on one server, or across two
 *                   (the cross-process run), or up to the cap (capacity)
 *   bench_stop.c    SIGTERM with every stream parked (the capacity run)
 *   bench_poll.c    long-poll: M pollers re-polling with since=
 *   bench_login.c   logins per second
 *   bench_api.c     emitcgi's API: session, /api/health, emitters
 *   bench_recv.c    the SSE stream and poll answer readers, and the
 *                   sequence checks (dup / miss / order)
 *   bench_req.c     the FastCGI request writer and one-answer requests
 *   bench_loop.c    connections and the epoll loop
 *   bench_stats.c   clocks, percentiles, /proc
 *
 * Every mode prints human lines, then "result: mode=... key=value" lines
 * that tests/bench/run.sh turns into docs/BENCH.md's tables; it returns 0
 * when the run completed (misses are reported, not hidden).
 *
 * To add a mode: a file with a bench_<mode>_run() declared here, a line
 * in main(), a section and a table in run.sh.
 */
#ifndef EMITCGI_BENCH_H
#define EMITCGI_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bench_loop.h"
#include "bench_recv.h"
#include "bench_req.h"

#define BENCH_USER "benchuser"
#define BENCH_PASS "bench-password-1"
#define BENCH_EVENT "bench"

/* Per server: who has which event. */
struct bench_group {
	int64_t *arrived; /* [seq] receivers of this group that have it */
	int64_t *t_last;  /* [seq] when the last of them got it */
	int64_t *t_first; /* [seq] when the first of them got it */
	int64_t live;	  /* streams of this group ready and not ended */
};

struct bench {
	struct bench_loop loop;
	char cookie[BENCH_REQ_COOKIE_MAX]; /* "" before the login */
	struct bench_seq seq;
	struct bench_group g[BENCH_MAX_SOCKS];
	int64_t *t_send; /* [seq] when its emit was sent */

	/* streams */
	size_t n_ready, n_failed, n_ended, n_clean_end;
	uint64_t pings;
	bool closing; /* streams are being closed on purpose */
};

/* Prints "fcgi_fanout: what" and exits 1 (no memory, no server). */
void bench_die(const char *what) __attribute__((noreturn));

struct bench_fanout_opts {
	long long n, k, burst, emitters;
	bool stop; /* -x 1: SIGTERM with the streams parked */
};
int bench_fanout_run(struct bench *b, const struct bench_fanout_opts *o);
int bench_poll_run(struct bench *b, long long m, long long rate,
		   long long secs);
int bench_login_run(struct bench *b, long long clients, long long secs);

#endif
