/* fcgi_fanout.c -- the benchmark client of `make bench` (tests/bench/run.sh):
 * argv, the run's context, which mode runs.
 *
 * It speaks FastCGI itself (src/fcgi_record.c) to one or two
 * `emitcgi --listen unix:PATH` processes, on one thread with one epoll loop,
 * so that it can hold thousands of open streams the way a web server would:
 *
 *   fcgi_fanout fanout -s SOCK [-s SOCK2] -n N -k K [-b B] [-w W] [-x 1]
 *       N streams, K timed emits, a burst of B by W emitters; -x 1: SIGTERM
 *       with the streams parked (bench_fanout.c, bench_stop.c)
 *   fcgi_fanout poll -s SOCK -m M -r RATE -t SECS
 *       M long-pollers while RATE events/s are emitted for SECS
 *       (bench_poll.c)
 *   fcgi_fanout login -s SOCK -c C -t SECS
 *       C concurrent clients logging in for SECS (bench_login.c)
 *
 * Output: human lines, then one line per measurement
 *   result: mode=fanout n=1000 key=value ...
 * that run.sh turns into the tables of docs/BENCH.md.  Exit status 0 when
 * the run completed (even with misses: they are reported, not hidden),
 * 1 when it could not run at all (no server, no session), 2 on bad usage.
 *
 * Bounds: every wait has a deadline; the client never raises fds past its
 * RLIMIT_NOFILE hard limit and caps N to stay below it (and says so).
 *
 * The map of the modules is in bench.h; to add a mode, see there.
 */
#include "autoconfig.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

/* The largest value of a numeric option. */
#define BENCH_OPT_MAX 1000000

/* What the command line asks for. */
struct bench_opts {
	const char *mode;
	long long n, k, burst, emitters, stop; /* fanout */
	long long m, rate, secs, clients;      /* poll, login */
};

void bench_die(const char *what)
{
	fprintf(stderr, "fcgi_fanout: %s\n", what);
	exit(1);
}

static void usage(void) __attribute__((noreturn));
static void usage(void)
{
	fprintf(stderr, "usage: fcgi_fanout fanout -s SOCK [-s SOCK2] -n N -k "
			"K [-b B] [-w W] [-x 1]\n"
			"       fcgi_fanout poll -s SOCK -m M -r RATE -t SECS\n"
			"       fcgi_fanout login -s SOCK -c C -t SECS\n");
	exit(2);
}

static bool parse_int(const char *s, long long min, long long max,
		      long long *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* The variable of option a ("-n"), or NULL. */
static long long *opt_target(struct bench_opts *o, const char *a)
{
	static const char names[] = "nkbwmrtcx";
	long long *const targets[] = { &o->n,	     &o->k,	  &o->burst,
				       &o->emitters, &o->m,	  &o->rate,
				       &o->secs,     &o->clients, &o->stop };
	const char *p;

	if (a[0] != '-' || !a[1] || a[2] || !(p = strchr(names, a[1])))
		return NULL;
	return targets[p - names];
}

/* Fills o and the loop's sockets from argv; exits 2 on bad usage. */
static void parse_args(int argc, char **argv, struct bench_opts *o,
		       struct bench_loop *l)
{
	long long *target;

	if (argc < 2)
		usage();
	o->mode = argv[1];
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v)
			usage();
		i++;
		if (!strcmp(a, "-s")) {
			if (l->nsocks == BENCH_MAX_SOCKS)
				usage();
			l->socks[l->nsocks++] =
				!strncmp(v, "unix:", 5) ? v + 5 : v;
			continue;
		}
		target = opt_target(o, a);
		if (!target || !parse_int(v, 0, BENCH_OPT_MAX, target))
			usage();
	}
	if (l->nsocks == 0 || o->emitters < 1 || o->rate < 1 || o->clients < 1)
		usage();
}

static int run_mode(struct bench *b, const struct bench_opts *o)
{
	struct bench_fanout_opts f = { o->n, o->k, o->burst, o->emitters,
				       o->stop != 0 };

	if (!strcmp(o->mode, "fanout"))
		return bench_fanout_run(b, &f);
	if (!strcmp(o->mode, "poll") && b->loop.nsocks == 1)
		return bench_poll_run(b, o->m, o->rate, o->secs);
	if (!strcmp(o->mode, "login") && b->loop.nsocks == 1)
		return bench_login_run(b, o->clients, o->secs);
	usage();
}

int main(int argc, char **argv)
{
	struct bench_opts o = { .n = 1000,
				.k = 100,
				.emitters = 2,
				.m = 100,
				.rate = 10,
				.secs = 5,
				.clients = 2 };
	struct bench *b = calloc(1, sizeof(*b));
	int rc;

	if (!b)
		bench_die("out of memory");
	b->loop.ep = -1;
	parse_args(argc, argv, &o, &b->loop);
	signal(SIGPIPE, SIG_IGN);
	if (bench_loop_init(&b->loop) != 0)
		bench_die("epoll_create1 failed");
	rc = run_mode(b, &o);
	bench_loop_release(&b->loop);
	free(b);
	return rc;
}
