/* bench_stats.c -- clocks, percentiles and /proc (see bench_stats.h).
 *
 * The /proc formats are proc(5)'s: in /proc/PID/stat the fields after the
 * command name (which may hold spaces and parentheses, hence strrchr) are
 * the state (3), then utime and stime (14 and 15) in clock ticks.
 */
#include "autoconfig.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench_stats.h"

int64_t bench_stats_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

double bench_stats_ms(int64_t ns)
{
	return (double)ns / 1e6;
}

static int stats_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

void bench_stats_sort(int64_t *v, size_t n)
{
	if (n > 1)
		qsort(v, n, sizeof(*v), stats_cmp);
}

int64_t bench_stats_pct(const int64_t *v, size_t n, double p)
{
	size_t i;

	if (n == 0)
		return -1;
	i = (size_t)(p / 100.0 * (double)n + 0.999999);
	if (i < 1)
		i = 1;
	if (i > n)
		i = n;
	return v[i - 1];
}

int64_t bench_stats_max(const int64_t *v, size_t n)
{
	return n ? v[n - 1] : -1;
}

double bench_stats_self_cpu_s(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* utime + stime of pid, from /proc/PID/stat. */
static double stats_cpu_s(int pid)
{
	char path[64], line[256], *p;
	unsigned long ut, st;
	double cpu = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	if (fgets(line, sizeof(line), f) && (p = strrchr(line, ')')) &&
	    sscanf(p + 1,
		   " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut,
		   &st) == 2)
		cpu = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
	fclose(f);
	return cpu;
}

/* The number after `key` on its line of a "Key: value" file, or -1. */
static long stats_file_value(const char *path, const char *key)
{
	size_t klen = strlen(key);
	char line[256];
	long v = -1;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen))
			v = strtol(line + klen, NULL, 10);
	fclose(f);
	return v;
}

static long stats_count_fds(int pid)
{
	struct dirent *de;
	char path[64];
	long n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

void bench_stats_proc_read(int pid, struct bench_proc *ps)
{
	char path[64];

	ps->cpu_s = stats_cpu_s(pid);
	ps->slab_kb = stats_file_value("/proc/meminfo", "Slab:");
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	ps->rss_kb = stats_file_value(path, "VmRSS:");
	ps->threads = stats_file_value(path, "Threads:");
	ps->fds = stats_count_fds(pid);
}

bool bench_stats_proc_gone(int pid)
{
	char path[64], line[256], *p;
	bool gone = true;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return true;
	if (fgets(line, sizeof(line), f) && (p = strrchr(line, ')')) != NULL)
		gone = p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
	fclose(f);
	return gone;
}

size_t bench_stats_fd_cap(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 1024 - BENCH_STATS_FD_HEADROOM;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0 ||
		    getrlimit(RLIMIT_NOFILE, &rl) != 0)
			return 1024 - BENCH_STATS_FD_HEADROOM;
	}
	return rl.rlim_cur > BENCH_STATS_FD_HEADROOM
		       ? (size_t)rl.rlim_cur - BENCH_STATS_FD_HEADROOM
		       : 0;
}
