/* bench_poll.c -- the long-poll run: `fcgi_fanout poll -s SOCK -m M -r RATE
 * -t SECS`.
 *
 * M long-pollers, each with one GET /api/poll in flight (one FastCGI
 * connection per poll, as a web server opens), re-poll with
 * since=lastEventId as answers come, while events are emitted at RATE per
 * second for SECS through 16 emitters; then every poller must have every
 * event (30 s at most).  Counts round trips, deliveries, duplicates and
 * misses, and that the server frees the polls still parked when the client
 * hangs up (fds before / after).
 *
 * A poller whose poll failed backs off 100 ms, as a browser would; the
 * loop's idle hook (re)starts the pollers that want a poll.
 */
#include "autoconfig.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "bench_api.h"
#include "bench_stats.h"

#define BENCH_POLL_EMITTERS 16
#define BENCH_POLL_BACKOFF_MS 100
#define BENCH_POLL_ALL_HAVE_MS 30000

struct poll_run;

struct poller {
	struct poll_run *run;
	int64_t since; /* -1: no snapshot yet */
	struct bench_seen seen;
	int64_t retry_at;     /* after an error: back off until then */
	bool busy, want;      /* a poll in flight; one wanted */
	struct bench_conn *c; /* the poll in flight, or NULL */
};

struct poll_run {
	struct bench *b;
	struct poller *p;
	size_t m;
	bool stop;
	uint64_t polls, errors;
	int first_errors;
	struct bench_poll_tally tally;
	int64_t total; /* events emitted */
};

static void poll_done(void *arg, const struct bench_resp *r,
		      int64_t elapsed_ns);

static bool poll_send(struct poller *p)
{
	struct bench *b = p->run->b;
	char q[96] = "";
	struct bench_req_spec r = { "GET", "/api/poll", q, NULL };

	if (p->since >= 0)
		snprintf(q, sizeof(q), "since=%" PRId64 "&timeout=25",
			 p->since);
	if (bench_req_send(&b->loop, b->cookie, 0, &r, poll_done, p, &p->c) !=
	    0)
		return false;
	p->busy = true;
	p->want = false;
	return true;
}

static void poll_done(void *arg, const struct bench_resp *r, int64_t elapsed_ns)
{
	struct poller *p = arg;
	struct poll_run *run = p->run;

	(void)elapsed_ns;
	p->busy = false;
	p->c = NULL;
	if (r->status != 200 ||
	    !bench_recv_poll_answer(run->b, &p->seen, r->body, &p->since,
				    &run->tally)) {
		run->errors++;
		if (run->first_errors++ < 5)
			fprintf(stderr, "fcgi_fanout: poll: status %d %s\n",
				r->status, r->body);
		/* As a browser client would: back off, then retry. */
		p->retry_at = bench_stats_now_ns() +
			      BENCH_POLL_BACKOFF_MS * BENCH_NS_PER_MS;
		p->want = !run->stop;
		return;
	}
	run->polls++;
	p->want = !run->stop;
	p->retry_at = 0;
	if (p->want)
		poll_send(p); /* on EAGAIN the idle hook retries */
}

/* The loop's idle hook: (re)starts the pollers that want a poll. */
static void poll_kick(void *arg)
{
	struct poll_run *run = arg;
	int64_t now = bench_stats_now_ns();

	for (size_t i = 0; i < run->m; i++) {
		struct poller *p = &run->p[i];

		if (p->want && !p->busy && p->retry_at <= now && !poll_send(p))
			break;
	}
}

static bool cond_pollers_snap(void *arg)
{
	const struct poll_run *run = arg;

	for (size_t i = 0; i < run->m; i++)
		if (run->p[i].since < 0)
			return false;
	return true;
}

static bool cond_pollers_have(void *arg)
{
	const struct poll_run *run = arg;

	for (size_t i = 0; i < run->m; i++)
		if (run->p[i].seen.count < run->total)
			return false;
	return true;
}

/* Emits run->total events at rate per second; returns how many were sent
 * over 100 ms late. */
static int64_t poll_emit(struct poll_run *run, struct bench_emitter *em,
			 long long rate, int64_t t0)
{
	struct bench *b = run->b;
	int64_t next_seq = 0, lag = 0;

	while (next_seq < run->total) {
		int64_t due = t0 + next_seq * 1000000000LL / rate;
		int64_t now = bench_stats_now_ns();
		size_t i;

		if (now >= due) {
			for (i = 0; i < BENCH_POLL_EMITTERS && em[i].busy; i++)
				;
			if (i < BENCH_POLL_EMITTERS &&
			    bench_api_emit(b, &em[i], next_seq)) {
				if (now - due > 100 * BENCH_NS_PER_MS)
					lag++;
				next_seq++;
				continue;
			}
		}
		bench_loop_once(
			&b->loop,
			now >= due ? 1
				   : (int)((due - now) / BENCH_NS_PER_MS) + 1);
	}
	return lag;
}

/* For each event at least one poller got, the last arrival less the emit;
 * sorted into lat, returns how many. */
static size_t poll_latencies(const struct poll_run *run, int64_t *lat)
{
	const struct bench *b = run->b;
	size_t n = 0;

	for (int64_t s = 0; s < run->total; s++)
		if (b->g[0].arrived[s])
			lat[n++] = b->g[0].t_last[s] - b->t_send[s];
	bench_stats_sort(lat, n);
	return n;
}

/* Hangs up on the polls still parked, as a web server would when its
 * clients go; the server must free every one. */
static bool poll_hangup(struct poll_run *run)
{
	struct bench *b = run->b;

	b->loop.idle = NULL;
	for (size_t i = 0; i < run->m; i++)
		if (run->p[i].c) {
			bench_loop_close(run->p[i].c);
			run->p[i].c = NULL;
		}
	bench_loop_reap(&b->loop);
	return bench_api_health_wait(b, 0, -1, 0, 15000);
}

struct poll_figures {
	long long m, rate, secs;
	uint64_t polls;
	double secs_run;
	int64_t lag;
	bool all_have, drained;
	const int64_t *lat;
	size_t nlat;
	struct bench_proc p0, pn, pe;
};

static void poll_report(const struct poll_run *run,
			const struct poll_figures *f)
{
	const struct bench *b = run->b;
	const struct bench_seq *q = &b->seq;
	int64_t expected = run->total * f->m;

	printf("  deliveries %" PRIu64 " of %" PRId64 " expected, duplicates "
	       "%" PRIu64 ", misses %" PRIu64 ", ids out of order %" PRIu64
	       ", resets %" PRIu64 ", errors %" PRIu64 "\n",
	       run->tally.events, expected, q->dups, q->misses, q->disorder,
	       run->tally.resets, run->errors);
	printf("result: mode=poll m=%lld rate=%lld secs=%lld events=%" PRId64
	       " polls=%" PRIu64 " polls_per_s=%.0f deliveries=%" PRIu64
	       " expected=%" PRId64 " per_poll=%.2f dups=%" PRIu64
	       " disorder=%" PRIu64 " mismatch=%" PRIu64 " misses=%" PRIu64
	       " resets=%" PRIu64 " errors=%" PRIu64
	       " all_have=%d emit_lag=%" PRId64
	       " lat_p50_ms=%.2f lat_p99_ms=%.2f lat_max_ms=%.2f "
	       "rss0_kb=%ld rssm_kb=%ld threads=%ld fds0=%ld fds_after=%ld "
	       "drained=%d\n",
	       f->m, f->rate, f->secs, run->total, f->polls,
	       (double)f->polls / f->secs_run, run->tally.events, expected,
	       run->tally.nonempty
		       ? (double)run->tally.events / (double)run->tally.nonempty
		       : 0.0,
	       q->dups, q->disorder, q->mismatch, q->misses, run->tally.resets,
	       run->errors, f->all_have, f->lag,
	       bench_stats_ms(bench_stats_pct(f->lat, f->nlat, 50)),
	       bench_stats_ms(bench_stats_pct(f->lat, f->nlat, 99)),
	       bench_stats_ms(bench_stats_max(f->lat, f->nlat)), f->p0.rss_kb,
	       f->pn.rss_kb, f->pn.threads, f->p0.fds, f->pe.fds, f->drained);
}

/* Pollers take their snapshot and park; the server must report them. */
static void poll_park(struct poll_run *run)
{
	struct bench *b = run->b;

	for (size_t i = 0; i < run->m; i++) {
		run->p[i].run = run;
		run->p[i].since = -1;
		run->p[i].seen.last_id = -1;
		run->p[i].want = true;
	}
	b->loop.idle = poll_kick;
	b->loop.idle_arg = run;
	if (!bench_loop_until(&b->loop, cond_pollers_snap, run, 60000))
		printf("  warning: not every poller got its snapshot\n");
	if (!bench_api_health_wait(b, 0, -1, (int)run->m, 10000))
		printf("  warning: server does not report %zu parked polls\n",
		       run->m);
}

/* Emits, waits until every poller has every event, tallies misses. */
static void poll_measure(struct poll_run *run, struct poll_figures *f,
			 struct bench_emitter *em)
{
	struct bench *b = run->b;
	uint64_t polls_before = run->polls;
	int64_t t0 = bench_stats_now_ns(), t1;

	f->lag = poll_emit(run, em, f->rate, t0);
	f->all_have = bench_loop_until(&b->loop, cond_pollers_have, run,
				       BENCH_POLL_ALL_HAVE_MS);
	t1 = bench_stats_now_ns();
	run->stop = true;
	f->polls = run->polls - polls_before;
	f->secs_run = (double)(t1 - t0) / 1e9;
	printf("  %lld pollers, %" PRId64 " events at %lld/s: %" PRIu64
	       " polls answered in %.2f s\n",
	       f->m, run->total, f->rate, f->polls, f->secs_run);
	for (size_t i = 0; i < run->m; i++) {
		b->seq.misses += (uint64_t)(run->total - run->p[i].seen.count);
		bench_recv_seen_release(&run->p[i].seen);
	}
}

int bench_poll_run(struct bench *b, long long m, long long rate, long long secs)
{
	struct poll_run run = { .b = b, .total = rate * secs };
	struct poll_figures f = { .m = m, .rate = rate, .secs = secs };
	size_t cap = bench_stats_fd_cap();
	struct bench_emitter *em;
	struct bench_health h;
	int64_t *lat;

	if ((size_t)m + BENCH_POLL_EMITTERS > cap) {
		printf("  note: M=%lld capped to %zu by the fd limit\n", m,
		       cap - BENCH_POLL_EMITTERS);
		f.m = m = (long long)(cap - BENCH_POLL_EMITTERS);
	}
	bench_recv_alloc(b, run.total);
	lat = calloc((size_t)run.total + 1, sizeof(int64_t));
	run.p = calloc((size_t)m + 1, sizeof(*run.p));
	em = calloc(BENCH_POLL_EMITTERS, sizeof(*em));
	if (!lat || !run.p || !em)
		bench_die("out of memory");
	run.m = (size_t)m;
	bench_api_session(b);
	if (!bench_api_health(b, 0, &h))
		bench_die("GET /api/health failed");
	bench_loop_sleep(&b->loop, 200); /* the server closes the last ones */
	bench_stats_proc_read(h.pid, &f.p0);
	poll_park(&run);
	bench_stats_proc_read(h.pid, &f.pn);
	poll_measure(&run, &f, em);
	f.nlat = poll_latencies(&run, lat);
	f.lat = lat;
	f.drained = poll_hangup(&run);
	bench_loop_sleep(&b->loop, 300);
	bench_stats_proc_read(h.pid, &f.pe);
	poll_report(&run, &f);
	free(lat);
	free(em);
	free(run.p);
	bench_recv_free(b);
	return 0;
}
