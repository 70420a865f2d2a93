/* metrics.h -- process-wide counters for GET /metrics (Prometheus text).
 *
 * Counters are atomics bumped from any thread (metrics_inc); gauges that
 * other modules own (waiters, last event id) are passed in when the page is
 * rendered.  Counters are per process, as Prometheus expects of a target:
 * label the scrape by instance.
 */
#ifndef EMITCGI_METRICS_H
#define EMITCGI_METRICS_H

#include <stdint.h>

#include "buf.h"
#include "error.h"

enum metric {
	METRIC_REQUESTS,       /* requests answered */
	METRIC_LOGINS,	       /* successful logins */
	METRIC_LOGIN_FAILURES, /* 401 and 429 on /login */
	METRIC_REGISTRATIONS,
	METRIC_EMITS, /* POST /emit accepted */
	METRIC_ERRORS_4XX,
	METRIC_ERRORS_5XX,
	METRIC_STREAMS_OPENED,	 /* SSE streams parked */
	METRIC_POLLS,		 /* long-polls answered or parked */
	METRIC_RATE_LIMITED,	 /* 429 from a token bucket (issue 9) */
	METRIC_FCGI_CONNECTIONS, /* FastCGI connections accepted (conn.c) */
	METRIC_FCGI_REFUSED,	 /* answered 503 at EMFILE or stop (conn.c) */
	METRIC_FAST_POLLS, /* re-polls parked without a worker (conn_fast.c) */
	METRIC__COUNT
};

void metrics_inc(enum metric m);
uint64_t metrics_get(enum metric m);

struct metrics_gauges {
	int sse_waiters;
	int poll_waiters;
	int64_t last_event_id;
	int64_t current_users; /* -1 if unknown */
	uint64_t events_delivered;
	uint64_t waiters_dropped;
};

/* Appends the whole exposition (text format 0.0.4) to out. */
enum ecode metrics_render(struct buf *out, const struct metrics_gauges *g);

#endif
