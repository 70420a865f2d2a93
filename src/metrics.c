/* metrics.c -- counters and their Prometheus exposition (see metrics.h). */
#include "autoconfig.h"

#include <stdatomic.h>

#include "metrics.h"

static _Atomic uint64_t metric_values[METRIC__COUNT];

static const struct {
	const char *name;
	const char *help;
} metric_info[METRIC__COUNT] = {
	[METRIC_REQUESTS] = { "emitcgi_requests_total", "Requests answered." },
	[METRIC_LOGINS] = { "emitcgi_logins_total", "Successful logins." },
	[METRIC_LOGIN_FAILURES] = { "emitcgi_login_failures_total",
				    "Refused logins (bad credentials or throttled)." },
	[METRIC_REGISTRATIONS] = { "emitcgi_registrations_total",
				   "Users registered." },
	[METRIC_EMITS] = { "emitcgi_emits_total",
			   "Events emitted by clients." },
	[METRIC_ERRORS_4XX] = { "emitcgi_client_errors_total",
				"Answers with a 4xx status." },
	[METRIC_ERRORS_5XX] = { "emitcgi_server_errors_total",
				"Answers with a 5xx status." },
	[METRIC_STREAMS_OPENED] = { "emitcgi_streams_opened_total",
				    "SSE streams opened." },
	[METRIC_POLLS] = { "emitcgi_polls_total", "Long-poll requests." },
	[METRIC_RATE_LIMITED] = { "emitcgi_rate_limited_total",
				  "Requests refused by a rate limit (429)." },
	[METRIC_FCGI_CONNECTIONS] = { "emitcgi_fastcgi_connections_total",
				      "FastCGI connections accepted." },
	[METRIC_FCGI_REFUSED] = { "emitcgi_fastcgi_refused_total",
				  "Requests answered 503 without a handler "
				  "(out of descriptors, stopping)." },
	[METRIC_FAST_POLLS] = { "emitcgi_polls_cached_total",
				"Long-polls parked from the session cache, "
				"without a worker or the database." },
};

void metrics_inc(enum metric m)
{
	atomic_fetch_add_explicit(&metric_values[m], 1, memory_order_relaxed);
}

uint64_t metrics_get(enum metric m)
{
	return atomic_load_explicit(&metric_values[m], memory_order_relaxed);
}

enum ecode metrics_render(struct buf *out, const struct metrics_gauges *g)
{
	enum ecode rc;

	for (int i = 0; i < METRIC__COUNT; i++) {
		rc = buf_printf(
			out, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n",
			metric_info[i].name, metric_info[i].help,
			metric_info[i].name, metric_info[i].name,
			(unsigned long long)metrics_get((enum metric)i));
		if (rc != EC_OK)
			return rc;
	}
	rc = buf_printf(
		out,
		"# HELP emitcgi_subscribers Clients waiting in this process, by transport.\n"
		"# TYPE emitcgi_subscribers gauge\n"
		"emitcgi_subscribers{transport=\"sse\"} %d\n"
		"emitcgi_subscribers{transport=\"longpoll\"} %d\n"
		"# HELP emitcgi_last_event_id Newest event id in the log.\n"
		"# TYPE emitcgi_last_event_id gauge\n"
		"emitcgi_last_event_id %lld\n"
		"# HELP emitcgi_events_delivered_total Event frames written to waiters.\n"
		"# TYPE emitcgi_events_delivered_total counter\n"
		"emitcgi_events_delivered_total %llu\n"
		"# HELP emitcgi_subscribers_dropped_total Waiters closed because they could not keep up.\n"
		"# TYPE emitcgi_subscribers_dropped_total counter\n"
		"emitcgi_subscribers_dropped_total %llu\n",
		g->sse_waiters, g->poll_waiters, (long long)g->last_event_id,
		(unsigned long long)g->events_delivered,
		(unsigned long long)g->waiters_dropped);
	if (rc != EC_OK)
		return rc;
	if (g->current_users >= 0)
		rc = buf_printf(
			out,
			"# HELP emitcgi_current_users Sessions online.\n"
			"# TYPE emitcgi_current_users gauge\n"
			"emitcgi_current_users %lld\n",
			(long long)g->current_users);
	return rc;
}
