/* bench_stop.c -- SIGTERM with the streams parked (see bench_stop.h). */
#include "autoconfig.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>

#include "bench.h"
#include "bench_stats.h"
#include "bench_stop.h"

#define BENCH_STOP_WAIT_MS 10000

static bool cond_all_ended(void *arg)
{
	const struct bench *b = arg;

	for (int g = 0; g < b->loop.nsocks; g++)
		if (b->g[g].live > 0)
			return false;
	return true;
}

/* Runs the loop until every server has exited or the deadline. */
static bool stop_wait_exit(struct bench *b, const struct bench_health *h,
			   int64_t deadline)
{
	for (;;) {
		bool all = true;

		for (int g = 0; g < b->loop.nsocks; g++)
			all = all && bench_stats_proc_gone(h[g].pid);
		if (all || bench_stats_now_ns() > deadline)
			return all;
		bench_loop_once(&b->loop, 5);
	}
}

void bench_stop_servers(struct bench *b, const struct bench_health *h,
			struct bench_stop_result *r)
{
	int64_t live = 0, t0;
	size_t clean0 = b->n_clean_end;

	for (int g = 0; g < b->loop.nsocks; g++)
		live += b->g[g].live;
	b->closing = true;
	t0 = bench_stats_now_ns();
	for (int g = 0; g < b->loop.nsocks; g++)
		if (kill(h[g].pid, SIGTERM) != 0)
			perror("fcgi_fanout: kill");
	bench_loop_until(&b->loop, cond_all_ended, b, BENCH_STOP_WAIT_MS);
	r->streams_ms = bench_stats_ms(bench_stats_now_ns() - t0);
	r->clean = b->n_clean_end - clean0;
	r->abrupt = (size_t)live - r->clean;
	r->exited =
		stop_wait_exit(b, h, t0 + BENCH_STOP_WAIT_MS * BENCH_NS_PER_MS);
	r->exit_ms = bench_stats_ms(bench_stats_now_ns() - t0);
	printf("  SIGTERM with %" PRId64 " streams parked: %zu ended cleanly, "
	       "%zu just closed, the last after %.0f ms; %s after %.0f ms\n",
	       live, r->clean, r->abrupt, r->streams_ms,
	       r->exited ? "exited" : "NOT exited", r->exit_ms);
}
