/* bench_api.c -- session, health and emits (see bench_api.h).
 *
 * The JSON shapes are emitcgi's (docs/API.md): /api/health answers
 * {"pid":..,"subscribers":{"sse":..,"poll":..},"lastEventId":..}.
 */
#include "autoconfig.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "bench_api.h"
#include "bench_stats.h"

#define API_LOGIN_BODY                                                         \
	"{\"username\":\"" BENCH_USER "\",\"password\":\"" BENCH_PASS "\"}"

void bench_api_session(struct bench *b)
{
	struct bench_req_spec reg = { "POST", "/api/register", "",
				      API_LOGIN_BODY };
	struct bench_req_spec login = { "POST", "/api/login", "",
					API_LOGIN_BODY };
	struct bench_req_sync s = { 0 };
	int st;

	buf_init(&s.body, BENCH_REQ_RESP_MAX);
	st = bench_req_sync(&b->loop, b->cookie, 0, &reg, &s, 30000);
	if (st != 201 && st != 409) {
		fprintf(stderr, "fcgi_fanout: register: status %d %s\n", st,
			buf_str(&s.body));
		bench_die("cannot register the bench user");
	}
	st = bench_req_sync(&b->loop, b->cookie, 0, &login, &s, 30000);
	if (st != 200 || !s.cookie[0]) {
		fprintf(stderr, "fcgi_fanout: login: status %d %s\n", st,
			buf_str(&s.body));
		bench_die("cannot log in");
	}
	memcpy(b->cookie, s.cookie, sizeof(b->cookie));
	buf_release(&s.body);
}

bool bench_api_health(struct bench *b, int group, struct bench_health *h)
{
	struct bench_req_spec r = { "GET", "/api/health", "", NULL };
	struct bench_req_sync s = { 0 };
	json_object *o;
	bool ok = false;

	buf_init(&s.body, BENCH_REQ_RESP_MAX);
	if (bench_req_sync(&b->loop, b->cookie, group, &r, &s, 10000) != 200 ||
	    (o = json_tokener_parse(buf_str(&s.body))) == NULL)
		goto out;
	h->pid = json_object_get_int(bench_recv_json(o, "pid", NULL));
	h->sse = json_object_get_int(bench_recv_json(o, "subscribers", "sse"));
	h->poll =
		json_object_get_int(bench_recv_json(o, "subscribers", "poll"));
	h->last_id =
		json_object_get_int64(bench_recv_json(o, "lastEventId", NULL));
	ok = h->pid > 0;
	json_object_put(o);
out:
	buf_release(&s.body);
	return ok;
}

bool bench_api_health_wait(struct bench *b, int group, int sse, int poll,
			   int64_t timeout_ms)
{
	int64_t deadline = bench_stats_now_ns() + timeout_ms * BENCH_NS_PER_MS;
	struct bench_health h;

	for (;;) {
		if (bench_api_health(b, group, &h) &&
		    (sse < 0 || h.sse == sse) && (poll < 0 || h.poll == poll))
			return true;
		if (bench_stats_now_ns() > deadline)
			return false;
		bench_loop_sleep(&b->loop, 100);
	}
}

static void api_emit_done(void *arg, const struct bench_resp *r,
			  int64_t elapsed_ns)
{
	struct bench_emitter *e = arg;

	(void)elapsed_ns;
	e->busy = false;
	e->t_last_ack = bench_stats_now_ns();
	if (r->status == 200) {
		e->acked++;
	} else if (++e->errors <= 5) {
		fprintf(stderr, "fcgi_fanout: emit: status %d %s\n", r->status,
			r->body);
	}
	/* On failure the caller's loop retries (busy is false). */
	if (e->next < e->end && bench_api_emit(e->b, e, e->next))
		e->next++;
}

bool bench_api_emit(struct bench *b, struct bench_emitter *e, int64_t seq)
{
	char body[128];
	struct bench_req_spec r = { "POST", "/api/emit", "", body };

	snprintf(body, sizeof(body),
		 "{\"event\":\"" BENCH_EVENT "\",\"data\":%" PRId64 "}", seq);
	if (seq < b->seq.max_seq)
		b->t_send[seq] = bench_stats_now_ns();
	e->b = b;
	if (bench_req_send(&b->loop, b->cookie, 0, &r, api_emit_done, e,
			   NULL) != 0)
		return false;
	e->sent++;
	e->busy = true;
	return true;
}
