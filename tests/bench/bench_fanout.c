/* bench_fanout.c -- the fan-out run: `fcgi_fanout fanout -s SOCK [-s SOCK2]
 * -n N -k K [-b B] [-w W] [-x 1]`.
 *
 * Logs in, opens N streams (GET /api/events, split evenly over the
 * sockets, BENCH_FANOUT_WINDOW connecting at once), waits for every
 * snapshot, then emits K events one at a time through the first socket and
 * times each from the emit to the moment every stream has it (per socket);
 * then B more emitted back to back by W concurrent emitters (delivery
 * rate, server CPU per delivery).  Reads each server's RSS, threads and
 * fds (/proc/PID, the PID from /api/health) with no stream, with N parked,
 * and after closing them all (fd leak check).  With -x 1 it sends SIGTERM
 * instead, with the streams still parked (bench_stop.c).
 *
 * The three runs of run.sh are this one: fan-out (one socket), across
 * processes (two sockets: "mode=cross" lines, one per server) and capacity
 * (N past EMITCGI_MAX_SUBSCRIBERS, no burst, -x 1): the refused streams
 * show as failed=, the ones closed after their snapshot as ended=.
 *
 * One struct fanout_run holds the run; each phase is a function.
 */
#include "autoconfig.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "bench_api.h"
#include "bench_stats.h"
#include "bench_stop.h"

/* Streams connecting at once (below the listen backlog). */
#define BENCH_FANOUT_WINDOW 256
#define BENCH_FANOUT_OPEN_MS 150000
#define BENCH_FANOUT_EVENT_MS 10000
#define BENCH_FANOUT_BURST_MS 60000

struct fanout_burst {
	double secs, rate, emit_rate;
	int64_t p50, p99, deliveries;
	double srv_cpu[BENCH_MAX_SOCKS], cli_cpu;
};

struct fanout_run {
	struct bench *b;
	const struct bench_fanout_opts *o;
	long long n; /* N, after the fd cap */
	bool capped, parked_ok, drained;
	struct bench_stream **streams;
	size_t n_open, ready;
	double ready_s;
	struct bench_health h[BENCH_MAX_SOCKS];
	struct bench_proc p0[BENCH_MAX_SOCKS], pn[BENCH_MAX_SOCKS],
		pe[BENCH_MAX_SOCKS];
	int64_t n_group[BENCH_MAX_SOCKS];
	int64_t *lat[BENCH_MAX_SOCKS]; /* [seq < k] emit -> all, or -1 */
	/* [seq < k] emit -> the first stream of the group has it, or -1:
	 * the wake-up of the group's process without its fan-out. */
	int64_t *first[BENCH_MAX_SOCKS];
	int64_t lat_timeouts;
	struct fanout_burst bu;
	struct bench_stop_result sr;
	size_t ended_during;
};

/* Opens r->n streams, BENCH_FANOUT_WINDOW at a time; returns how many are
 * ready. */
static size_t fanout_open(struct fanout_run *r, int64_t timeout_ms)
{
	struct bench *b = r->b;
	int64_t deadline = bench_stats_now_ns() + timeout_ms * BENCH_NS_PER_MS;
	size_t n = (size_t)r->n, opened = 0;
	unsigned long eagain = 0;

	while (b->n_ready + b->n_failed < opened || opened < n) {
		while (opened < n && opened - b->n_ready - b->n_failed <
					     BENCH_FANOUT_WINDOW) {
			struct bench_stream *s = bench_recv_stream_open(
				b, (int)(opened % (size_t)b->loop.nsocks));

			if (s) {
				r->streams[opened++] = s;
				continue;
			}
			if (errno == EAGAIN) {
				eagain++;
				break;
			}
			fprintf(stderr,
				"fcgi_fanout: stream %zu: %s; stopping at %zu\n",
				opened, strerror(errno), opened);
			n = opened;
			break;
		}
		bench_loop_once(&b->loop, eagain ? 1 : 20);
		if (bench_stats_now_ns() > deadline) {
			fprintf(stderr,
				"fcgi_fanout: %zu of %zu streams ready after "
				"%" PRId64 " ms\n",
				b->n_ready, n, timeout_ms);
			break;
		}
	}
	r->n_open = opened;
	if (eagain)
		printf("  (listen backlog full %lu times while connecting)\n",
		       eagain);
	return b->n_ready;
}

static void fanout_close(struct fanout_run *r)
{
	r->b->closing = true;
	for (size_t i = 0; i < r->n_open; i++)
		bench_recv_stream_close(r->streams[i]);
	for (size_t i = 0; i < r->n_open; i++)
		bench_recv_stream_free(r->streams[i]);
	r->n_open = 0;
}

/* Caps N by the fd limit, allocates, logs in, reads the idle servers. */
static void fanout_setup(struct fanout_run *r)
{
	struct bench *b = r->b;
	size_t cap = bench_stats_fd_cap();
	int64_t max_seq = r->o->k + r->o->burst;

	r->n = r->o->n;
	if ((size_t)r->n > cap) {
		printf("  note: N=%lld capped to %zu by this client's fd limit "
		       "(RLIMIT_NOFILE %zu)\n",
		       r->n, cap, cap + BENCH_STATS_FD_HEADROOM);
		r->n = (long long)cap;
		r->capped = true;
	}
	bench_recv_alloc(b, max_seq);
	r->streams = calloc((size_t)r->n + 1, sizeof(*r->streams));
	if (!r->streams)
		bench_die("out of memory");
	for (int g = 0; g < b->loop.nsocks; g++) {
		r->lat[g] = calloc((size_t)max_seq + 1, sizeof(int64_t));
		r->first[g] = calloc((size_t)max_seq + 1, sizeof(int64_t));
		if (!r->lat[g] || !r->first[g])
			bench_die("out of memory");
	}
	bench_api_session(b);
	for (int g = 0; g < b->loop.nsocks; g++) {
		if (!bench_api_health(b, g, &r->h[g]))
			bench_die("GET /api/health failed");
		bench_loop_sleep(&b->loop, 200);
		bench_stats_proc_read(r->h[g].pid, &r->p0[g]);
	}
}

/* Parks the streams; checks that each server reports them all. */
static void fanout_park(struct fanout_run *r)
{
	struct bench *b = r->b;
	int64_t t0 = bench_stats_now_ns();

	r->parked_ok = true;
	r->ready = fanout_open(r, BENCH_FANOUT_OPEN_MS);
	r->ready_s = (double)(bench_stats_now_ns() - t0) / 1e9;
	printf("  %zu/%lld streams ready in %.2f s (%.0f/s), %zu failed\n",
	       r->ready, r->n, r->ready_s, (double)r->ready / r->ready_s,
	       b->n_failed);
	for (int g = 0; g < b->loop.nsocks; g++) {
		if (!bench_api_health_wait(b, g, (int)b->g[g].live, -1,
					   15000)) {
			r->parked_ok = false;
			bench_api_health(b, g, &r->h[g]);
			printf("  warning: server %d reports %d parked, client "
			       "has %" PRId64 " streams\n",
			       g, r->h[g].sse, b->g[g].live);
		}
	}
	bench_loop_sleep(&b->loop, 300);
	for (int g = 0; g < b->loop.nsocks; g++) {
		bench_stats_proc_read(r->h[g].pid, &r->pn[g]);
		r->n_group[g] = b->g[g].live;
	}
}

struct seq_wait {
	struct bench *b;
	int64_t seq;
	struct bench_emitter *e;
};

static bool cond_seq_everywhere(void *arg)
{
	struct seq_wait *w = arg;

	if (w->e->busy)
		return false;
	for (int g = 0; g < w->b->loop.nsocks; g++)
		if (w->b->g[g].arrived[w->seq] < w->b->g[g].live)
			return false;
	return true;
}

/* Latency: one emit at a time, each until every stream has it. */
static void fanout_latency(struct fanout_run *r)
{
	struct bench *b = r->b;
	struct bench_emitter e = { 0 };

	for (int64_t s = 0; s < r->o->k; s++) {
		struct seq_wait w = { b, s, &e };

		while (!bench_api_emit(b, &e, s)) {
			if (errno != EAGAIN)
				bench_die("cannot connect to emit");
			bench_loop_once(&b->loop, 2);
		}
		if (!bench_loop_until(&b->loop, cond_seq_everywhere, &w,
				      BENCH_FANOUT_EVENT_MS))
			r->lat_timeouts++;
		for (int g = 0; g < b->loop.nsocks; g++) {
			r->lat[g][s] = b->g[g].arrived[s] ? b->g[g].t_last[s] -
								    b->t_send[s]
							  : -1;
			r->first[g][s] =
				b->g[g].arrived[s]
					? b->g[g].t_first[s] - b->t_send[s]
					: -1;
		}
	}
}

struct burst_wait {
	struct bench *b;
	int64_t from, to;
	struct bench_emitter *em;
	long long n_em;
};

static bool cond_burst(void *arg)
{
	struct burst_wait *w = arg;

	for (long long i = 0; i < w->n_em; i++)
		if (w->em[i].busy || w->em[i].next < w->em[i].end)
			return false;
	for (int g = 0; g < w->b->loop.nsocks; g++)
		for (int64_t s = w->from; s < w->to; s++)
			if (w->b->g[g].arrived[s] < w->b->g[g].live)
				return false;
	return true;
}

/* Runs the burst: W emitters each send their share back to back. */
static void fanout_burst_emit(struct fanout_run *r, struct burst_wait *w)
{
	struct bench *b = r->b;
	long long k = r->o->k, burst = r->o->burst, n_em = w->n_em;
	int64_t per = (burst + n_em - 1) / n_em, t0 = bench_stats_now_ns();

	for (long long i = 0; i < n_em; i++) {
		w->em[i].next = k + i * per;
		w->em[i].end = k + (i + 1) * per < k + burst ? k + (i + 1) * per
							     : k + burst;
	}
	while (!cond_burst(w) &&
	       bench_stats_now_ns() - t0 <
		       BENCH_FANOUT_BURST_MS * BENCH_NS_PER_MS) {
		/* (re)start idle emitters whose last send failed */
		for (long long i = 0; i < n_em; i++)
			if (!w->em[i].busy && w->em[i].next < w->em[i].end &&
			    bench_api_emit(b, &w->em[i], w->em[i].next))
				w->em[i].next++;
		bench_loop_once(&b->loop, 5);
	}
}

/* The burst's figures from what arrived: deliveries, the time the last
 * one came, per-event latency; emits acked per second. */
static void fanout_burst_figures(struct fanout_run *r, struct burst_wait *w,
				 int64_t tb0)
{
	struct bench *b = r->b;
	int64_t *bl = calloc((size_t)(r->o->burst * b->loop.nsocks) + 1,
			     sizeof(int64_t));
	int64_t tb1 = 0, last_ack = 0, acked = 0;
	size_t nbl = 0;

	if (!bl)
		bench_die("out of memory");
	for (int64_t s = w->from; s < w->to; s++) {
		for (int g = 0; g < b->loop.nsocks; g++) {
			r->bu.deliveries += b->g[g].arrived[s];
			if (b->g[g].t_last[s] > tb1)
				tb1 = b->g[g].t_last[s];
			if (b->g[g].arrived[s])
				bl[nbl++] = b->g[g].t_last[s] - b->t_send[s];
		}
	}
	for (long long i = 0; i < w->n_em; i++) {
		acked += w->em[i].acked;
		if (w->em[i].t_last_ack > last_ack)
			last_ack = w->em[i].t_last_ack;
	}
	r->bu.secs = (double)(tb1 - tb0) / 1e9;
	r->bu.rate = r->bu.secs > 0 ? (double)r->bu.deliveries / r->bu.secs : 0;
	r->bu.emit_rate =
		last_ack > tb0
			? (double)acked / ((double)(last_ack - tb0) / 1e9)
			: 0;
	bench_stats_sort(bl, nbl);
	r->bu.p50 = bench_stats_pct(bl, nbl, 50);
	r->bu.p99 = bench_stats_pct(bl, nbl, 99);
	free(bl);
}

/* Throughput: the burst, with the CPU both sides spent on it. */
static void fanout_burst(struct fanout_run *r)
{
	struct bench *b = r->b;
	struct burst_wait w = { b, r->o->k, r->o->k + r->o->burst, NULL,
				r->o->emitters };
	int64_t tb0;

	w.em = calloc((size_t)w.n_em, sizeof(*w.em));
	if (!w.em)
		bench_die("out of memory");
	for (int g = 0; g < b->loop.nsocks; g++) {
		bench_stats_proc_read(r->h[g].pid, &r->pe[g]);
		r->bu.srv_cpu[g] = -r->pe[g].cpu_s;
	}
	r->bu.cli_cpu = -bench_stats_self_cpu_s();
	tb0 = bench_stats_now_ns();
	fanout_burst_emit(r, &w);
	fanout_burst_figures(r, &w, tb0);
	r->bu.cli_cpu += bench_stats_self_cpu_s();
	for (int g = 0; g < b->loop.nsocks; g++) {
		bench_stats_proc_read(r->h[g].pid, &r->pe[g]);
		r->bu.srv_cpu[g] += r->pe[g].cpu_s;
	}
	free(w.em);
}

/* Every stream still open must have every event, once; then SIGTERM (-x)
 * or hang up and check that the servers let every stream go. */
static void fanout_finish(struct fanout_run *r)
{
	struct bench *b = r->b;

	for (size_t i = 0; i < r->n_open; i++) {
		struct bench_stream *s = r->streams[i];

		if (s->ready && !s->ended)
			b->seq.misses += (uint64_t)(r->o->k + r->o->burst -
						    s->seen.count);
	}
	r->ended_during = b->n_ended;
	r->drained = true;
	if (r->o->stop) {
		bench_stop_servers(b, r->h, &r->sr);
		for (int g = 0; g < b->loop.nsocks; g++)
			r->pe[g].fds = -1;
	}
	fanout_close(r);
	for (int g = 0; g < b->loop.nsocks && !r->o->stop; g++) {
		if (!bench_api_health_wait(b, g, 0, -1, 15000)) {
			r->drained = false;
			bench_api_health(b, g, &r->h[g]);
			printf("  warning: server %d still reports %d parked "
			       "after the client closed every stream\n",
			       g, r->h[g].sse);
		}
		bench_loop_sleep(&b->loop, 300);
		bench_stats_proc_read(r->h[g].pid, &r->pe[g]);
	}
}

/* The result line of server g (its latencies sorted in m values). */
static void fanout_result(const struct fanout_run *r, int g,
			  const int64_t *sorted, size_t m)
{
	const struct bench *b = r->b;
	const struct bench_proc *p0 = &r->p0[g], *pn = &r->pn[g];
	long long nn = (long long)r->n_group[g];
	int64_t ds = r->bu.deliveries;

	printf("result: mode=%s group=%d n=%zu waiters=%lld capped=%d "
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
	       b->loop.nsocks > 1 ? "cross" : "fanout", g, r->ready, nn,
	       r->capped, r->ready_s, (double)r->ready / r->ready_s,
	       b->n_failed, p0->rss_kb, pn->rss_kb,
	       nn ? (double)(pn->rss_kb - p0->rss_kb) * 1024.0 / (double)nn
		  : 0.0,
	       r->ready ? (double)(pn->slab_kb - p0->slab_kb) * 1024.0 /
				  (double)r->ready
			: 0.0,
	       p0->threads, pn->threads, p0->fds, pn->fds, r->pe[g].fds,
	       r->parked_ok, r->drained, m,
	       bench_stats_ms(bench_stats_pct(sorted, m, 50)),
	       bench_stats_ms(bench_stats_pct(sorted, m, 99)),
	       bench_stats_ms(bench_stats_max(sorted, m)), r->lat_timeouts,
	       r->o->burst, r->bu.secs, ds, r->bu.rate, r->bu.emit_rate,
	       bench_stats_ms(r->bu.p50), bench_stats_ms(r->bu.p99),
	       b->seq.dups, b->seq.misses, b->seq.disorder, b->seq.mismatch,
	       r->ended_during, r->o->stop, r->sr.streams_ms, r->sr.exit_ms,
	       r->sr.clean, r->sr.abrupt, r->sr.exited, r->bu.srv_cpu[g],
	       r->bu.cli_cpu,
	       ds ? r->bu.srv_cpu[g] * 1e6 * (double)b->loop.nsocks / (double)ds
		  : 0.0);
}

/* Across processes: when the FIRST stream of server g had each event
 * (its process's wake-up, without its fan-out), and, paired per event,
 * how much later than on server 0 (the committing process): the extra
 * delay of a wake-up by the other process's notification. */
static void fanout_report_wake(const struct fanout_run *r, int g)
{
	int64_t *first = calloc((size_t)r->o->k + 1, sizeof(int64_t));
	int64_t *extra = calloc((size_t)r->o->k + 1, sizeof(int64_t));
	size_t m = 0, x = 0;

	if (!first || !extra)
		bench_die("out of memory");
	for (int64_t s = 0; s < r->o->k; s++) {
		if (r->first[g][s] < 0)
			continue;
		first[m++] = r->first[g][s];
		if (r->first[0][s] >= 0)
			extra[x++] = r->first[g][s] - r->first[0][s];
	}
	bench_stats_sort(first, m);
	bench_stats_sort(extra, x);
	printf("result: mode=wake group=%d k=%zu first_p50_ms=%.2f "
	       "first_p99_ms=%.2f extra_p50_ms=%.2f extra_p99_ms=%.2f "
	       "extra_max_ms=%.2f\n",
	       g, m, bench_stats_ms(bench_stats_pct(first, m, 50)),
	       bench_stats_ms(bench_stats_pct(first, m, 99)),
	       bench_stats_ms(bench_stats_pct(extra, x, 50)),
	       bench_stats_ms(bench_stats_pct(extra, x, 99)),
	       bench_stats_ms(bench_stats_max(extra, x)));
	free(first);
	free(extra);
}

/* Human lines and the result line of server g. */
static void fanout_report_group(const struct fanout_run *r, int g)
{
	int64_t *sorted = calloc((size_t)r->o->k + 1, sizeof(int64_t));
	size_t m = 0;

	if (!sorted)
		bench_die("out of memory");
	for (int64_t s = 0; s < r->o->k; s++)
		if (r->lat[g][s] >= 0)
			sorted[m++] = r->lat[g][s];
	bench_stats_sort(sorted, m);
	printf("  server %d (pid %d): RSS %ld -> %ld KiB, threads %ld -> "
	       "%ld, fds %ld -> %ld -> %ld after close\n",
	       g, r->h[g].pid, r->p0[g].rss_kb, r->pn[g].rss_kb,
	       r->p0[g].threads, r->pn[g].threads, r->p0[g].fds, r->pn[g].fds,
	       r->pe[g].fds);
	printf("  latency emit -> all %lld streams of server %d: p50 "
	       "%.2f ms, p99 %.2f ms, max %.2f ms (%zu events)\n",
	       (long long)r->n_group[g], g,
	       bench_stats_ms(bench_stats_pct(sorted, m, 50)),
	       bench_stats_ms(bench_stats_pct(sorted, m, 99)),
	       bench_stats_ms(bench_stats_max(sorted, m)), m);
	fanout_result(r, g, sorted, m);
	free(sorted);
	if (r->b->loop.nsocks > 1)
		fanout_report_wake(r, g);
}

static void fanout_report(const struct fanout_run *r)
{
	const struct bench *b = r->b;

	for (int g = 0; g < b->loop.nsocks; g++)
		fanout_report_group(r, g);
	if (r->o->burst > 0)
		printf("  burst of %lld events: %" PRId64
		       " deliveries in %.2f s = %.0f/s; emits acked at "
		       "%.0f/s; per event p50 %.2f ms, p99 %.2f ms\n"
		       "  CPU during the burst: server %.2f s, this client "
		       "%.2f s\n",
		       r->o->burst, r->bu.deliveries, r->bu.secs, r->bu.rate,
		       r->bu.emit_rate, bench_stats_ms(r->bu.p50),
		       bench_stats_ms(r->bu.p99), r->bu.srv_cpu[0],
		       r->bu.cli_cpu);
	printf("  duplicates %" PRIu64 ", misses %" PRIu64 ", ids out of "
	       "order %" PRIu64 ", same event under different ids %" PRIu64
	       ", streams ended by the server %zu\n",
	       b->seq.dups, b->seq.misses, b->seq.disorder, b->seq.mismatch,
	       r->ended_during);
}

int bench_fanout_run(struct bench *b, const struct bench_fanout_opts *o)
{
	struct fanout_run r = { .b = b, .o = o };

	r.bu.p50 = r.bu.p99 = -1;
	fanout_setup(&r);
	fanout_park(&r);
	fanout_latency(&r);
	if (o->burst > 0)
		fanout_burst(&r);
	fanout_finish(&r);
	fanout_report(&r);
	for (int g = 0; g < b->loop.nsocks; g++) {
		free(r.lat[g]);
		free(r.first[g]);
	}
	free(r.streams);
	bench_recv_free(b);
	return 0;
}
