/* bench_stats.h -- clocks, percentiles and /proc readings for the bench
 * client (tests/bench/).
 *
 *   int64_t t0 = bench_stats_now_ns();
 *   bench_stats_sort(v, n);
 *   bench_stats_ms(bench_stats_pct(v, n, 99))     // nearest rank, ms
 *   struct bench_proc ps; bench_stats_proc_read(pid, &ps);
 *
 * Pure but for the clock and the files read; no state.  A reading that
 * cannot be taken is -1, never an error: the report shows it as such.
 */
#ifndef EMITCGI_BENCH_STATS_H
#define EMITCGI_BENCH_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BENCH_NS_PER_MS 1000000LL
/* fds the client keeps for itself below RLIMIT_NOFILE */
#define BENCH_STATS_FD_HEADROOM 64

/* CLOCK_MONOTONIC in nanoseconds. */
int64_t bench_stats_now_ns(void);
double bench_stats_ms(int64_t ns);

/* Sorts v[0..n) ascending. */
void bench_stats_sort(int64_t *v, size_t n);
/* Percentile p (0..100) of n sorted values, nearest rank; -1 when n = 0. */
int64_t bench_stats_pct(const int64_t *v, size_t n, double p);
/* The largest of n sorted values, -1 when n = 0. */
int64_t bench_stats_max(const int64_t *v, size_t n);

/* One process as /proc shows it; -1 for what could not be read. */
struct bench_proc {
	long rss_kb, threads, fds;
	long slab_kb; /* system-wide kernel slab: socket buffers */
	double cpu_s; /* user + system CPU time so far */
};
void bench_stats_proc_read(int pid, struct bench_proc *ps);
/* True once pid has exited (gone, or a zombie waiting for its parent). */
bool bench_stats_proc_gone(int pid);
/* This process's user + system CPU seconds. */
double bench_stats_self_cpu_s(void);

/* Raises RLIMIT_NOFILE to its hard limit and returns how many connections
 * this client may open: the limit less BENCH_STATS_FD_HEADROOM. */
size_t bench_stats_fd_cap(void);

#endif
