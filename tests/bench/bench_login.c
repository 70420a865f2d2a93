/* bench_login.c -- the login run: `fcgi_fanout login -s SOCK -c C -t SECS`.
 *
 * C clients each keep one POST /api/login in flight for SECS (the bench
 * user registered first; that login is not timed); logins per second and
 * their latency.  A login is a yescrypt hash on the server: this measures
 * what the hash costs, the rest is noise.
 */
#include "autoconfig.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "bench_api.h"
#include "bench_stats.h"

/* Latencies one client keeps (far above SECS x logins per second). */
#define BENCH_LOGIN_MAX 100000
#define BENCH_LOGIN_DRAIN_ROUNDS 400

struct loginer {
	int64_t lat[BENCH_LOGIN_MAX];
	size_t n;
	uint64_t errors;
	bool busy;
};

static void login_done(void *arg, const struct bench_resp *r,
		       int64_t elapsed_ns)
{
	struct loginer *l = arg;

	l->busy = false;
	if (r->status != 200) {
		if (l->errors++ < 3)
			fprintf(stderr, "fcgi_fanout: login: status %d %s\n",
				r->status, r->body);
		return;
	}
	if (l->n < BENCH_LOGIN_MAX)
		l->lat[l->n++] = elapsed_ns;
}

static bool login_any_busy(const struct loginer *l, long long clients)
{
	for (long long i = 0; i < clients; i++)
		if (l[i].busy)
			return true;
	return false;
}

/* Keeps every client logging in for secs, then lets the last finish. */
static void login_loop(struct bench *b, struct loginer *l, long long clients,
		       long long secs)
{
	struct bench_req_spec r = { "POST", "/api/login", "",
				    "{\"username\":\"" BENCH_USER
				    "\",\"password\":\"" BENCH_PASS "\"}" };
	int64_t t0 = bench_stats_now_ns();

	while (bench_stats_now_ns() - t0 < secs * 1000 * BENCH_NS_PER_MS) {
		for (long long i = 0; i < clients; i++)
			if (!l[i].busy &&
			    bench_req_send(&b->loop, b->cookie, 0, &r,
					   login_done, &l[i], NULL) == 0)
				l[i].busy = true;
		bench_loop_once(&b->loop, 5);
	}
	/* Let the ones in flight finish (bounded). */
	for (int i = 0;
	     i < BENCH_LOGIN_DRAIN_ROUNDS && login_any_busy(l, clients); i++)
		bench_loop_once(&b->loop, 10);
}

int bench_login_run(struct bench *b, long long clients, long long secs)
{
	struct loginer *l = calloc((size_t)clients, sizeof(*l));
	int64_t *all = NULL, t0, t1;
	size_t n = 0;
	uint64_t errors = 0;
	struct bench_health h;
	struct bench_proc ps;
	double s;

	if (!l)
		bench_die("out of memory");
	bench_api_session(b);
	if (!bench_api_health(b, 0, &h))
		bench_die("GET /api/health failed");
	t0 = bench_stats_now_ns();
	login_loop(b, l, clients, secs);
	t1 = bench_stats_now_ns();
	bench_stats_proc_read(h.pid, &ps);
	all = calloc((size_t)clients * BENCH_LOGIN_MAX, sizeof(int64_t));
	if (!all)
		bench_die("out of memory");
	for (long long i = 0; i < clients; i++) {
		memcpy(all + n, l[i].lat, l[i].n * sizeof(int64_t));
		n += l[i].n;
		errors += l[i].errors;
	}
	bench_stats_sort(all, n);
	s = (double)(t1 - t0) / 1e9;
	printf("  %zu logins by %lld clients in %.2f s = %.1f/s; latency p50 "
	       "%.1f ms, p99 %.1f ms; %" PRIu64 " errors\n",
	       n, clients, s, (double)n / s,
	       bench_stats_ms(bench_stats_pct(all, n, 50)),
	       bench_stats_ms(bench_stats_pct(all, n, 99)), errors);
	printf("result: mode=login clients=%lld secs=%.2f logins=%zu "
	       "per_s=%.1f lat_p50_ms=%.1f lat_p99_ms=%.1f errors=%" PRIu64
	       " threads=%ld\n",
	       clients, s, n, (double)n / s,
	       bench_stats_ms(bench_stats_pct(all, n, 50)),
	       bench_stats_ms(bench_stats_pct(all, n, 99)), errors, ps.threads);
	free(all);
	free(l);
	return 0;
}
