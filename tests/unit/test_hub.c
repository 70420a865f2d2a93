/* test_hub.c -- the hub end to end, in process, on a real SQLite store.
 *
 * Each test makes a database in a temporary directory (store_migrate),
 * runs hub_run() on a thread, parks waiters on socketpair() ends and
 * plays the web server on the other end: it parses the FastCGI records it
 * receives (or takes raw bytes for HUB_SINK_RAW).  Events are appended
 * through a second store connection, followed by hub_events_committed()
 * or, across hubs, notify_poke(); the fallback check is set to an hour so
 * that only those wake-ups can deliver.
 *
 * No sleeping as synchronisation: every wait is poll() on the socket, a
 * condition variable, or a re-check of hub_get_stats(), each bounded by
 * WAIT_MS; a bound that runs out fails the test.  The sink interface on
 * its own (framing, partial writes, aborts without a hub) is test_sink.c.
 */
#include "autoconfig.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "fcgi_record.h"
#include "hub.h"
#include "longpoll.h"
#include "notify.h"
#include "sse.h"
#include "store.h"
#include "fixture.h"

#define WAIT_MS 15000
#define HOUR_MS 3600000

static const char POLL_HEAD[] = "Status: 200 OK\r\n"
				"Content-Type: application/json\r\n"
				"Cache-Control: no-store\r\n\r\n";

/* ---- the database ---- */

struct fx {
	char dir[64];
	char db[128];
	struct store *w;  /* the writer's connection */
	struct notify *n; /* the writer's notify */
};

static void fx_init(struct fx *fx)
{
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/test_hub.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(fx->dir));
	snprintf(fx->db, sizeof(fx->db), "%s/emitcgi.db", fx->dir);
	ck_assert_int_eq(store_migrate(fx->db, NULL, NULL), EC_OK);
	ck_assert_int_eq(store_open(fx->db, &fx->w), EC_OK);
	ck_assert_int_eq(notify_open(fx->db, false, &fx->n), EC_OK);
}

static void fx_release(struct fx *fx)
{
	const char *suffix[] = {"", "-wal", "-shm", "-notify", "-journal"};
	char path[160];

	notify_close(fx->n);
	store_close(fx->w);
	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", fx->db, suffix[i]);
		unlink(path);
	}
	rmdir(fx->dir);
}

/* Appends one event without waking anyone. */
static int64_t append(struct fx *fx, const char *name, const char *data)
{
	int64_t id = 0;

	ck_assert_int_eq(
	    store_event_append(fx->w, name, data, clock_wall_ms(), &id), EC_OK);
	return id;
}

/* The SSE frame of event id as the log has it. */
static void expect_frame(struct buf *want, int64_t id, const char *name,
			 const char *data)
{
	ck_assert_int_eq(sse_format_event(want, id, name, data), EC_OK);
}

/* ---- a hub on its own thread ---- */

struct hubrun {
	struct hub *hub;
	pthread_t th;
	enum ecode rc;
	bool running;
};

static void opts_default(struct hub_options *o, const struct fx *fx)
{
	memset(o, 0, sizeof(*o));
	o->db_path = fx->db;
	o->heartbeat_ms = HOUR_MS;
	o->stream_max_ms = HOUR_MS;
	o->max_waiters = 100;
	o->fallback_check_ms = HOUR_MS;
}

static void *hubrun_main(void *arg)
{
	struct hubrun *hr = arg;

	hr->rc = hub_run(hr->hub);
	return NULL;
}

static void hubrun_start(struct hubrun *hr, const struct hub_options *o)
{
	hr->rc = EC_INTERNAL;
	ck_assert_int_eq(hub_new(o, &hr->hub), EC_OK);
	ck_assert_int_eq(pthread_create(&hr->th, NULL, hubrun_main, hr), 0);
	hr->running = true;
}

static void hubrun_join(struct hubrun *hr)
{
	if (hr->running) {
		ck_assert_int_eq(pthread_join(hr->th, NULL), 0);
		hr->running = false;
		ck_assert_int_eq(hr->rc, EC_OK);
	}
}

static void hubrun_stop(struct hubrun *hr)
{
	hub_stop(hr->hub);
	hubrun_join(hr);
	hub_free(hr->hub);
	hr->hub = NULL;
}

static struct hub_stats stats(struct hub *hub)
{
	struct hub_stats st;

	hub_get_stats(hub, &st);
	return st;
}

/* Re-checks a condition on the hub's counters until it holds. */
#define WAIT_STATS(hub, cond)                                                  \
	do {                                                                   \
		int64_t until_ = clock_mono_ms() + WAIT_MS;                    \
		struct hub_stats st_;                                          \
		for (;;) {                                                     \
			hub_get_stats((hub), &st_);                            \
			if (cond)                                              \
				break;                                         \
			ck_assert_msg(clock_mono_ms() < until_,                \
				      "timed out waiting for " #cond);         \
			sched_yield();                                         \
			nanosleep(&(struct timespec){0, 1000000}, NULL);       \
		}                                                              \
	} while (0)

/* ---- the web server's end of a parked connection ---- */

struct peer {
	int fd;	    /* ours */
	int hub_fd; /* the hub's, until it is parked */
	uint16_t rid;
	enum hub_sink sink;
	struct buf raw;	 /* FastCGI bytes not parsed yet */
	struct buf out;	 /* FCGI_STDOUT contents, or the raw bytes */
	bool stdout_end; /* the empty FCGI_STDOUT came */
	bool ended;	 /* FCGI_END_REQUEST came */
	bool eof;
};

static void peer_init(struct peer *p, enum hub_sink sink, uint16_t rid)
{
	int sv[2];

	memset(p, 0, sizeof(*p));
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
			 0);
	p->fd = sv[0];
	p->hub_fd = sv[1];
	p->rid = rid;
	p->sink = sink;
	buf_init(&p->raw, 64u << 20);
	buf_init(&p->out, 64u << 20);
}

static struct hub_waiter_spec peer_spec(struct peer *p, enum hub_kind kind,
					int64_t cursor, int timeout_ms,
					int64_t session_id)
{
	return (struct hub_waiter_spec){
	    .kind = kind,
	    .sink = p->sink,
	    .fd = p->hub_fd,
	    .in_fd = -1,
	    .request_id = p->rid,
	    .cursor = cursor,
	    .session_id = session_id,
	    .timeout_ms = timeout_ms,
	};
}

static void peer_park(struct hub *hub, struct peer *p, enum hub_kind kind,
		      int64_t cursor, int timeout_ms, int64_t session_id)
{
	struct hub_waiter_spec spec =
	    peer_spec(p, kind, cursor, timeout_ms, session_id);

	ck_assert_int_eq(hub_park(hub, &spec), EC_OK);
	p->hub_fd = -1;
}

static void peer_release(struct peer *p)
{
	if (p->fd >= 0)
		close(p->fd);
	if (p->hub_fd >= 0)
		close(p->hub_fd);
	buf_release(&p->raw);
	buf_release(&p->out);
}

/* Moves whole records from raw to out, checking each. */
static void peer_parse(struct peer *p)
{
	struct fcgi_record rec;
	size_t off = 0;
	long n;

	while ((n = fcgi_record_parse(p->raw.data + off, p->raw.len - off,
				      &rec)) > 0) {
		ck_assert_msg(!p->ended, "a record after FCGI_END_REQUEST");
		ck_assert_uint_eq((size_t)n % 8, 0);
		ck_assert_uint_eq(rec.request_id, p->rid);
		for (unsigned i = 0; i < rec.padding_len; i++)
			ck_assert_uint_eq(rec.content[rec.content_len + i], 0);
		if (rec.type == FCGI_STDOUT && rec.content_len > 0) {
			ck_assert_msg(!p->stdout_end, "stdout after its end");
			ck_assert_int_eq(
			    buf_add(&p->out, rec.content, rec.content_len),
			    EC_OK);
		} else if (rec.type == FCGI_STDOUT) {
			p->stdout_end = true;
		} else if (rec.type == FCGI_END_REQUEST) {
			static const unsigned char body[8] = {0};

			ck_assert_msg(p->stdout_end,
				      "FCGI_END_REQUEST before stdout ended");
			ck_assert_uint_eq(rec.content_len, 8);
			/* appStatus 0, FCGI_REQUEST_COMPLETE */
			ck_assert_mem_eq(rec.content, body, 8);
			p->ended = true;
		} else {
			ck_abort_msg("unexpected record type %u", rec.type);
		}
		off += (size_t)n;
	}
	ck_assert_int_ge(n, 0);
	buf_consume(&p->raw, off);
}

/* Reads what is there, waiting at most ms for it. */
static void peer_pump(struct peer *p, int ms)
{
	struct pollfd pfd = {.fd = p->fd, .events = POLLIN};
	char tmp[65536];
	ssize_t n;

	if (p->eof)
		return;
	if (poll(&pfd, 1, ms) <= 0)
		return;
	n = read(p->fd, tmp, sizeof(tmp));
	if (n < 0) {
		ck_assert_msg(errno == EAGAIN || errno == ECONNRESET,
			      "read: %s", strerror(errno));
		if (errno == ECONNRESET)
			p->eof = true;
		return;
	}
	if (n == 0) {
		p->eof = true;
		return;
	}
	if (p->sink == HUB_SINK_RAW) {
		ck_assert_int_eq(buf_add(&p->out, tmp, (size_t)n), EC_OK);
		return;
	}
	ck_assert_int_eq(buf_add(&p->raw, tmp, (size_t)n), EC_OK);
	peer_parse(p);
}

enum peer_until { UNTIL_BYTES, UNTIL_ENDED, UNTIL_EOF };

static void peer_wait(struct peer *p, enum peer_until until, size_t bytes)
{
	int64_t deadline = clock_mono_ms() + WAIT_MS;

	for (;;) {
		int64_t left = deadline - clock_mono_ms();

		if ((until == UNTIL_BYTES && p->out.len >= bytes) ||
		    (until == UNTIL_ENDED && p->ended) ||
		    (until == UNTIL_EOF && p->eof))
			return;
		ck_assert_msg(left > 0,
			      "timed out: until %d, %zu bytes of "
			      "%zu, ended %d, eof %d",
			      until, p->out.len, bytes, p->ended, p->eof);
		ck_assert_msg(!p->eof, "EOF while waiting (until %d)", until);
		peer_pump(p, (int)left);
	}
}

/* Waits for exactly want's bytes: at least that many, and equal. */
static void peer_expect(struct peer *p, const struct buf *want)
{
	peer_wait(p, UNTIL_BYTES, want->len);
	ck_assert_msg(p->out.len == want->len &&
			  memcmp(p->out.data, want->data, want->len) == 0,
		      "got %zu bytes:\n%s\nwant %zu:\n%s", p->out.len,
		      buf_str(&p->out), want->len, buf_str(want));
}

/* Writes one FastCGI record from the web server's side. */
static void peer_send(struct peer *p, unsigned type, uint16_t rid,
		      const char *content, size_t split)
{
	struct buf b;
	FCGI_Header h;
	size_t len = content ? strlen(content) : 0;
	unsigned pad = fcgi_record_header(&h, type, rid, len);

	buf_init(&b, 1024);
	ck_assert_int_eq(buf_add(&b, &h, sizeof(h)), EC_OK);
	ck_assert_int_eq(buf_add(&b, content ? content : "", len), EC_OK);
	ck_assert_int_eq(buf_add(&b, fcgi_record_zeros, pad), EC_OK);
	if (split == 0 || split >= b.len)
		split = b.len;
	ck_assert_int_eq(write(p->fd, b.data, split), (ssize_t)split);
	if (split < b.len)
		ck_assert_int_eq(write(p->fd, b.data + split, b.len - split),
				 (ssize_t)(b.len - split));
	buf_release(&b);
}

/* ---- SSE ---- */

START_TEST(test_sse_in_order_once)
{
	struct hub_options o;
	struct hubrun hr;
	struct peer p;
	struct buf want;
	struct fx fx;
	int64_t id[4];

	fx_init(&fx);
	opts_default(&o, &fx);
	hubrun_start(&hr, &o);
	buf_init(&want, 1 << 20);
	peer_init(&p, HUB_SINK_FCGI, 1);
	peer_park(hr.hub, &p, HUB_SSE, 0, 0, 0);

	id[0] = append(&fx, "a", "1");
	id[1] = append(&fx, "say \"hi\" \\", "[2,\"x\\ny\"]");
	id[2] = append(&fx, "user count", "{\"x\":3}");
	hub_events_committed(hr.hub);
	hub_events_committed(hr.hub); /* extra wake-ups change nothing */
	expect_frame(&want, id[0], "a", "1");
	expect_frame(&want, id[1], "say \"hi\" \\", "[2,\"x\\ny\"]");
	expect_frame(&want, id[2], "user count", "{\"x\":3}");
	peer_expect(&p, &want);
	hub_events_committed(hr.hub);

	/* The next event comes right after them: nothing came twice. */
	id[3] = append(&fx, "d", "4");
	hub_events_committed(hr.hub);
	expect_frame(&want, id[3], "d", "4");
	peer_expect(&p, &want);
	ck_assert(!p.stdout_end && !p.ended);

	WAIT_STATS(hr.hub, st_.events_delivered == 4);
	ck_assert_int_eq(stats(hr.hub).sse_waiters, 1);
	ck_assert_int_eq(stats(hr.hub).last_event_id, id[3]);
	hubrun_stop(&hr);
	peer_wait(&p, UNTIL_EOF, 0);
	ck_assert(p.ended);
	peer_release(&p);
	buf_release(&want);
	fx_release(&fx);
}
END_TEST

/* Cursor behind the hub: the events between come first, from the store
 * when they are older than the hub (it started after them). */
START_TEST(test_sse_cursor_behind_store)
{
	struct hub_options o;
	struct hubrun hr;
	struct peer p;
	struct buf want;
	struct fx fx;
	int64_t id[4];

	fx_init(&fx);
	id[0] = append(&fx, "a", "1");
	id[1] = append(&fx, "b", "2");
	id[2] = append(&fx, "c", "3");
	opts_default(&o, &fx);
	hubrun_start(&hr, &o); /* its newest is id[2], its ring empty */
	buf_init(&want, 1 << 20);
	peer_init(&p, HUB_SINK_FCGI, 9);
	peer_park(hr.hub, &p, HUB_SSE, id[0], 0, 0);
	expect_frame(&want, id[1], "b", "2");
	expect_frame(&want, id[2], "c", "3");
	peer_expect(&p, &want);
	id[3] = append(&fx, "d", "4");
	hub_events_committed(hr.hub);
	expect_frame(&want, id[3], "d", "4");
	peer_expect(&p, &want);
	hubrun_stop(&hr);
	peer_release(&p);
	buf_release(&want);
	fx_release(&fx);
}
END_TEST

/* Cursor behind, the events in the hub's ring. */
START_TEST(test_sse_cursor_behind_ring)
{
	struct hub_options o;
	struct hubrun hr;
	struct peer p;
	struct buf want;
	struct fx fx;
	int64_t id[6];

	fx_init(&fx);
	opts_default(&o, &fx);
	hubrun_start(&hr, &o);
	for (int i = 0; i < 5; i++)
		id[i] = append(&fx, "e", i % 2 ? "\"odd\"" : "\"even\"");
	hub_events_committed(hr.hub);
	WAIT_STATS(hr.hub, st_.last_event_id == id[4]);
	buf_init(&want, 1 << 20);
	peer_init(&p, HUB_SINK_FCGI, 2);
	peer_park(hr.hub, &p, HUB_SSE, id[1], 0, 0);
	for (int i = 2; i < 5; i++)
		expect_frame(&want, id[i], "e", i % 2 ? "\"odd\"" : "\"even\"");
	peer_expect(&p, &want);
	id[5] = append(&fx, "f", "null");
	hub_events_committed(hr.hub);
	expect_frame(&want, id[5], "f", "null");
	peer_expect(&p, &want);
	hubrun_stop(&hr);
	peer_release(&p);
	buf_release(&want);
	fx_release(&fx);
}
END_TEST

/* Cursor equal to the hub's newest: only what comes next. */
START_TEST(test_sse_cursor_equal)
{
	struct hub_options o;
	struct hubrun hr;
	struct peer p;
	struct buf want;
	struct fx fx;
	int64_t id[3];

	fx_init(&fx);
	opts_default(&o, &fx);
	hubrun_start(&hr, &o);
	id[0] = append(&fx, "a", "1");
	id[1] = append(&fx, "b", "2");
	hub_events_committed(hr.hub);
	WAIT_STATS(hr.hub, st_.last_event_id == id[1]);
	buf_init(&want, 1 << 20);
	peer_init(&p, HUB_SINK_FCGI, 3);
	peer_park(hr.hub, &p, HUB_SSE, id[1], 0, 0);
	WAIT_STATS(hr.hub, st_.sse_waiters == 1);
	id[2] = append(&fx, "c", "3");
	hub_events_committed(hr.hub);
	expect_frame(&want, id[2], "c", "3");
	peer_expect(&p, &want);
	hubrun_stop(&hr);
	peer_release(&p);
	buf_release(&want);
	fx_release(&fx);
}
END_TEST

/* Cursor ahead of the hub (the accepting thread saw events the hub has not
 * been woken for yet): the waiter gets only what is after its cursor,
 * while one parked at 0 gets everything. */
START_TEST(test_sse_cursor_ahead)
{
	struct hub_options o;
	struct hubrun hr;
	struct peer ahead, zero;
	struct buf want_ahead, want_zero;
	struct fx fx;
	int64_t id[4];

	fx_init(&fx);
	opts_default(&o, &fx);
	hubrun_start(&hr, &o);
	for (int i = 0; i < 3; i++)
		id[i] = append(&fx, "x", "1"); /* nobody is told */
	ck_assert_int_eq(stats(hr.hub).last_event_id, 0);
	buf_init(&want_ahead, 1 << 20);
	buf_init(&want_zero, 1 << 20);
	peer_init(&ahead, HUB_SINK_FCGI, 4);
	peer_init(&zero, HUB_SINK_FCGI, 5);
	peer_park(hr.hub, &ahead, HUB_SSE, id[2], 0, 0);
	peer_park(hr.hub, &zero, HUB_SSE, 0, 0, 0);
	WAIT_STATS(hr.hub, st_.sse_waiters == 2);
	id[3] = append(&fx, "y", "2");
	hub_events_committed(hr.hub);
	expect_frame(&want_ahead, id[3], "y", "2");
	for (int i = 0; i < 3; i++)
		expect_frame(&want_zero, id[i], "x", "1");
	expect_frame(&want_zero, id[3], "y", "2");
	peer_expect(&zero, &want_zero);
	peer_expect(&ahead, &want_ahead);
	hubrun_stop(&hr);
	peer_release(&ahead);
	peer_release(&zero);
	buf_release(&want_ahead);
	buf_release(&want_zero);
	fx_release(&fx);
}
END_TEST

START_TEST(test_sse_heartbeat)
{
	struct hub_options o;
	struct hubrun hr;
	struct peer p;
	struct fx fx;

	fx_init(&fx);
	opts_default(&o, &fx);
	o.heartbeat_ms = 20;
	hubrun_start(&hr, &o);
	peer_init(&p, HUB_SINK_FCGI, 6);
	peer_park(hr.hub, &p, HUB_SSE, 0, 0, 0);
	peer_wait(&p, UNTIL_BYTES, 16);
	/* Only whole pings, as many as came. */
	ck_assert_uint_eq(p.out.len % 8, 0);
	for (size_t i = 0; i < p.out.len; i += 8)
		ck_assert_mem_eq(p.out.data + i, ": ping\n\n", 8);
	hubrun_stop(&hr);
	peer_release(&p);
	fx_release(&fx);
}
END_TEST

START_TEST(test_sse_stream_max)
{
	struct hub_options o;
	struct hubrun hr;
	struct peer p;
	struct fx fx;

	fx_init(&fx);
	opts_default(&o, &fx);
	o.stream_max_ms = 50;
	hubrun_start(&hr, &o);
	peer_init(&p, HUB_SINK_FCGI, 7);
	peer_park(hr.hub, &p, HUB_SSE, 0, 0, 0);
	peer_wait(&p, UNTIL_EOF, 0);
	ck_assert(p.stdout_end);
	ck_assert(p.ended);
	ck_assert_uint_eq(p.out.len, 0);
	WAIT_STATS(hr.hub, st_.sse_waiters == 0);
	ck_assert(hub_has_room(hr.hub));
	hubrun_stop(&hr);
	peer_release(&p);
	fx_release(&fx);
}
END_TEST

/* A frame larger than one record goes out as several. */
START_TEST(test_sse_large_event)
{
	struct hub_options o;
	struct hubrun hr;
	struct peer p;
	struct buf want, data;
	struct fx fx;
	int64_t id;

	fx_init(&fx);
	opts_default(&o, &fx);
	hubrun_start(&hr, &o);
	buf_init(&data, 1 << 20);
	buf_init(&want, 1 << 20);
	ck_assert_int_eq(buf_addc(&data, '"'), EC_OK);
	for (int i = 0; i < 150000; i++)
		ck_assert_int_eq(buf_addc(&data, (char)('a' + i % 26)), EC_OK);
	ck_assert_int_eq(buf_addc(&data, '"'), EC_OK);
	peer_init(&p, HUB_SINK_FCGI, 8);
	peer_park(hr.hub, &p, HUB_SSE, 0, 0, 0);
	id = append(&fx, "big", buf_str(&data));
	hub_events_committed(hr.hub);
	expect_frame(&want, id, "big", buf_str(&data));
	peer_expect(&p, &want);
	hubrun_stop(&hr);
	peer_release(&p);
	buf_release(&want);
	buf_release(&data);
	fx_release(&fx);
}
END_TEST

/* A reader that does not read: the hub keeps only one batch of copies,
 * and when the reader comes back every event arrives, in order, once,
 * also those that fell out of the ring meanwhile (from the store). */
START_TEST(test_sse_slow_reader)
{
	struct hub_options o;
	struct hubrun hr;
	struct peer p;
	struct buf want, data;
	struct fx fx;
	int n = 4500; /* more than the ring holds */
	int64_t id;

	fx_init(&fx);
	opts_default(&o, &fx);
	hubrun_start(&hr, &o);
	buf_init(&data, 1 << 20);
	buf_init(&want, 64u << 20);
	ck_assert_int_eq(buf_addc(&data, '"'), EC_OK);
	for (int i = 0; i < 1500; i++)
		ck_assert_int_eq(buf_addc(&data, 'z'), EC_OK);
	ck_assert_int_eq(buf_addc(&data, '"'), EC_OK);
	peer_init(&p, HUB_SINK_FCGI, 10);
	peer_park(hr.hub, &p, HUB_SSE, 0, 0, 0);
	WAIT_STATS(hr.hub, st_.sse_waiters == 1);
	for (int i = 0; i < n; i++) {
		id = append(&fx, i % 3 ? "tick" : "tock", buf_str(&data));
		expect_frame(&want, id, i % 3 ? "tick" : "tock",
			     buf_str(&data));
		if (i % 500 == 499)
			hub_events_committed(hr.hub);
	}
	hub_events_committed(hr.hub);
	WAIT_STATS(hr.hub, st_.last_event_id == id);
	peer_expect(&p, &want);
	ck_assert_int_eq(stats(hr.hub).waiters_dropped, 0);
	ck_assert_int_eq(stats(hr.hub).events_delivered, (uint64_t)n);
	hubrun_stop(&hr);
	peer_release(&p);
	buf_release(&want);
	buf_release(&data);
	fx_release(&fx);
}
END_TEST

/* ---- long-poll ---- */

static void expect_poll(struct buf *want, int64_t last_id, int n,
			const int64_t *ids, const char *const *names,
			const char *const *datas)
{
	bool first = true;

	ck_assert_int_eq(buf_adds(want, POLL_HEAD), EC_OK);
	ck_assert_int_eq(longpoll_begin(want), EC_OK);
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(
		    longpoll_add(want, &first, ids[i], names[i], datas[i]),
		    EC_OK);
	ck_assert_int_eq(longpoll_end(want, last_id, false), EC_OK);
}

static void peer_expect_answer(struct peer *p, const struct buf *want)
{
	peer_wait(p, UNTIL_EOF, 0);
	ck_assert(p->sink == HUB_SINK_RAW || p->ended);
	ck_assert_msg(p->out.len == want->len &&
			  memcmp(p->out.data, want->data, want->len) == 0,
		      "got:\n%s\nwant:\n%s", buf_str(&p->out), buf_str(want));
}

START_TEST(test_poll_wakes_with_all_pending)
{
	const char *names[] = {"user count", "user"};
	const char *datas[] = {"2", "{\"username\":\"a\",\"connected\":true}"};
	struct hub_options o;
	struct hubrun hr;
	struct peer p;
	struct buf want;
	struct fx fx;
	int64_t ids[2];

	fx_init(&fx);
	opts_default(&o, &fx);
	hubrun_start(&hr, &o);
	buf_init(&want, 1 << 20);
	peer_init(&p, HUB_SINK_FCGI, 11);
	peer_park(hr.hub, &p, HUB_POLL, 0, 60000, 0);
	WAIT_STATS(hr.hub, st_.poll_waiters == 1);
	ids[0] = append(&fx, names[0], datas[0]);
	ids[1] = append(&fx, names[1], datas[1]);
	hub_events_committed(hr.hub);
	expect_poll(&want, ids[1], 2, ids, names, datas);
	peer_expect_answer(&p, &want);
	WAIT_STATS(hr.hub, st_.poll_waiters == 0 && st_.events_delivered == 2);
	hubrun_stop(&hr);
	peer_release(&p);
	buf_release(&want);
	fx_release(&fx);
}
END_TEST

/* Parked behind the hub's newest (an event came between the check and the
 * park): answered at once. */
START_TEST(test_poll_cursor_behind)
{
	const char *names[] = {"b"};
	const char *datas[] = {"2"};
	struct hub_options o;
	struct hubrun hr;
	struct peer p;
	struct buf want;
	struct fx fx;
	int64_t id0, ids[1];

	fx_init(&fx);
	id0 = append(&fx, "a", "1");
	ids[0] = append(&fx, names[0], datas[0]);
	opts_default(&o, &fx);
	hubrun_start(&hr, &o);
	buf_init(&want, 1 << 20);
	peer_init(&p, HUB_SINK_FCGI, 12);
	peer_park(hr.hub, &p, HUB_POLL, id0, 60000, 0);
	expect_poll(&want, ids[0], 1, ids, names, datas);
	peer_expect_answer(&p, &want);
	hubrun_stop(&hr);
	peer_release(&p);
	buf_release(&want);
	fx_release(&fx);
}
END_TEST

START_TEST(test_poll_cursor_ahead)
{
	const char *names[] = {"late"};
	const char *datas[] = {"\"x\""};
	struct hub_options o;
	struct hubrun hr;
	struct peer p;
	struct buf want;
	struct fx fx;
	int64_t id1, ids[1];

	fx_init(&fx);
	opts_default(&o, &fx);
	hubrun_start(&hr, &o);
	append(&fx, "early", "1");
	id1 = append(&fx, "early", "2"); /* the hub is not told */
	buf_init(&want, 1 << 20);
	peer_init(&p, HUB_SINK_FCGI, 13);
	peer_park(hr.hub, &p, HUB_POLL, id1, 60000, 0);
	WAIT_STATS(hr.hub, st_.poll_waiters == 1);
	ids[0] = append(&fx, names[0], datas[0]);
	hub_events_committed(hr.hub);
	expect_poll(&want, ids[0], 1, ids, names, datas);
	peer_expect_answer(&p, &want);
	hubrun_stop(&hr);
	peer_release(&p);
	buf_release(&want);
	fx_release(&fx);
}
END_TEST

START_TEST(test_poll_timeout)
{
	struct hub_options o;
	struct hubrun hr;
	struct peer p;
	struct buf want;
	struct fx fx;
	int64_t id;

	fx_init(&fx);
	id = append(&fx, "a", "1");
	opts_default(&o, &fx);
	hubrun_start(&hr, &o);
	buf_init(&want, 1 << 20);
	peer_init(&p, HUB_SINK_FCGI, 14);
	peer_park(hr.hub, &p, HUB_POLL, id, 30, 0);
	expect_poll(&want, id, 0, NULL, NULL, NULL);
	peer_expect_answer(&p, &want);
	WAIT_STATS(hr.hub, st_.poll_waiters == 0);
	hubrun_stop(&hr);
	peer_release(&p);
	buf_release(&want);
	fx_release(&fx);
}
END_TEST

/* More than the soft cap of one answer: the first answer stops at an
 * event, the next poll from its lastEventId gets the rest. */
START_TEST(test_poll_large_backlog)
{
	struct hub_options o;
	struct hubrun hr;
	struct peer p1, p2;
	struct buf data;
	struct fx fx;
	int64_t first = 0, last = 0, seen1, seen2;
	const char *s;
	int n1 = 0, n2 = 0;

	fx_init(&fx);
	buf_init(&data, 1 << 20);
	ck_assert_int_eq(buf_addc(&data, '"'), EC_OK);
	for (int i = 0; i < 4000; i++)
		ck_assert_int_eq(buf_addc(&data, 'q'), EC_OK);
	ck_assert_int_eq(buf_addc(&data, '"'), EC_OK);
	for (int i = 0; i < 400; i++) { /* 1.6 MB */
		last = append(&fx, "q", buf_str(&data));
		if (!first)
			first = last;
	}
	opts_default(&o, &fx);
	hubrun_start(&hr, &o);
	peer_init(&p1, HUB_SINK_FCGI, 15);
	peer_park(hr.hub, &p1, HUB_POLL, first - 1, 60000, 0);
	peer_wait(&p1, UNTIL_EOF, 0);
	ck_assert(p1.ended);
	for (s = buf_str(&p1.out); (s = strstr(s, "{\"id\":")); s++)
		n1++;
	s = strstr(buf_str(&p1.out), "\"lastEventId\":");
	ck_assert_ptr_nonnull(s);
	seen1 = strtoll(s + 14, NULL, 10);
	ck_assert_int_eq(seen1, first - 1 + n1);
	ck_assert_int_lt(seen1, last);
	ck_assert_uint_le(p1.out.len, (1u << 20) + 8192);

	peer_init(&p2, HUB_SINK_FCGI, 16);
	peer_park(hr.hub, &p2, HUB_POLL, seen1, 60000, 0);
	peer_wait(&p2, UNTIL_EOF, 0);
	for (s = buf_str(&p2.out); (s = strstr(s, "{\"id\":")); s++)
		n2++;
	s = strstr(buf_str(&p2.out), "\"lastEventId\":");
	ck_assert_ptr_nonnull(s);
	seen2 = strtoll(s + 14, NULL, 10);
	ck_assert_int_eq(seen2, last);
	ck_assert_int_eq(n1 + n2, 400);
	hubrun_stop(&hr);
	peer_release(&p1);
	peer_release(&p2);
	buf_release(&data);
	fx_release(&fx);
}
END_TEST

/* Events trimmed past retention before the hub read them: no waiter may
 * skip them silently.  The stream ends, the poll answers with its own
 * cursor; the client's next request gets the reset. */
START_TEST(test_trimmed_gap)
{
	struct hub_options o;
	struct hubrun hr;
	struct peer sse, poll_p, fine;
	struct buf want;
	struct fx fx;
	int64_t id[10];

	fx_init(&fx);
	opts_default(&o, &fx);
	hubrun_start(&hr, &o);
	for (int i = 0; i < 10; i++)
		id[i] = append(&fx, "e", "1");
	ck_assert_int_eq(store_trim(fx.w, 3, NULL), EC_OK);
	buf_init(&want, 1 << 20);
	peer_init(&sse, HUB_SINK_FCGI, 17);
	peer_init(&poll_p, HUB_SINK_FCGI, 18);
	peer_init(&fine, HUB_SINK_FCGI, 19);
	peer_park(hr.hub, &sse, HUB_SSE, id[1], 0, 0);
	peer_park(hr.hub, &poll_p, HUB_POLL, id[1], 60000, 0);
	peer_park(hr.hub, &fine, HUB_SSE, id[7], 0, 0);
	WAIT_STATS(hr.hub, st_.sse_waiters == 2 && st_.poll_waiters == 1);
	hub_events_committed(hr.hub);
	peer_wait(&sse, UNTIL_EOF, 0);
	ck_assert(sse.ended);
	ck_assert_uint_eq(sse.out.len, 0);
	expect_poll(&want, id[1], 0, NULL, NULL, NULL);
	peer_expect_answer(&poll_p, &want);
	buf_reset(&want);
	expect_frame(&want, id[8], "e", "1");
	expect_frame(&want, id[9], "e", "1");
	peer_expect(&fine, &want);
	hubrun_stop(&hr);
	peer_release(&sse);
	peer_release(&poll_p);
	peer_release(&fine);
	buf_release(&want);
	fx_release(&fx);
}
END_TEST

/* ---- connections ---- */

START_TEST(test_peer_close_frees)
{
	struct hub_options o;
	struct hubrun hr;
	struct peer a, b;
	struct fx fx;

	fx_init(&fx);
	opts_default(&o, &fx);
	o.max_waiters = 2;
	hubrun_start(&hr, &o);
	peer_init(&a, HUB_SINK_FCGI, 20);
	peer_init(&b, HUB_SINK_FCGI, 21);
	peer_park(hr.hub, &a, HUB_SSE, 0, 0, 0);
	peer_park(hr.hub, &b, HUB_POLL, 0, 60000, 0);
	WAIT_STATS(hr.hub, st_.sse_waiters == 1 && st_.poll_waiters == 1);
	ck_assert(!hub_has_room(hr.hub));
	close(a.fd);
	a.fd = -1;
	close(b.fd);
	b.fd = -1;
	WAIT_STATS(hr.hub, st_.sse_waiters == 0 && st_.poll_waiters == 0);
	ck_assert(hub_has_room(hr.hub));
	hubrun_stop(&hr);
	peer_release(&a);
	peer_release(&b);
	fx_release(&fx);
}
END_TEST

START_TEST(test_abort_request)
{
	struct hub_options o;
	struct hubrun hr;
	struct peer p;
	struct buf want;
	struct fx fx;
	int64_t id;

	fx_init(&fx);
	opts_default(&o, &fx);
	hubrun_start(&hr, &o);
	buf_init(&want, 1 << 20);
	peer_init(&p, HUB_SINK_FCGI, 22);
	peer_park(hr.hub, &p, HUB_SSE, 0, 0, 0);
	/* Leftovers and another request's abort are ignored. */
	peer_send(&p, FCGI_STDIN, 22, NULL, 0);
	peer_send(&p, FCGI_PARAMS, 22, "\x01\x01xy", 3);
	peer_send(&p, FCGI_ABORT_REQUEST, 23, NULL, 0);
	id = append(&fx, "still", "\"here\"");
	hub_events_committed(hr.hub);
	expect_frame(&want, id, "still", "\"here\"");
	peer_expect(&p, &want);
	/* Ours, in two pieces. */
	peer_send(&p, FCGI_ABORT_REQUEST, 22, NULL, 5);
	peer_wait(&p, UNTIL_EOF, 0);
	ck_assert(p.ended);
	WAIT_STATS(hr.hub, st_.sse_waiters == 0);
	hubrun_stop(&hr);
	peer_release(&p);
	buf_release(&want);
	fx_release(&fx);
}
END_TEST

START_TEST(test_abort_poll)
{
	struct hub_options o;
	struct hubrun hr;
	struct peer p;
	struct fx fx;

	fx_init(&fx);
	opts_default(&o, &fx);
	hubrun_start(&hr, &o);
	peer_init(&p, HUB_SINK_FCGI, 0x1234);
	peer_park(hr.hub, &p, HUB_POLL, 0, 60000, 0);
	peer_send(&p, FCGI_ABORT_REQUEST, 0x1234, NULL, 0);
	peer_wait(&p, UNTIL_EOF, 0);
	ck_assert(p.ended);
	ck_assert_uint_eq(p.out.len, 0);
	WAIT_STATS(hr.hub, st_.poll_waiters == 0);
	hubrun_stop(&hr);
	peer_release(&p);
	fx_release(&fx);
}
END_TEST

/* Garbage from the web server: closed at once, without a byte. */
START_TEST(test_protocol_error)
{
	struct hub_options o;
	struct hubrun hr;
	struct peer p;
	struct fx fx;

	fx_init(&fx);
	opts_default(&o, &fx);
	hubrun_start(&hr, &o);
	peer_init(&p, HUB_SINK_FCGI, 24);
	peer_park(hr.hub, &p, HUB_SSE, 0, 0, 0);
	ck_assert_int_eq(write(p.fd, "GET / HTTP/1.0\r\n\r\n", 18), 18);
	peer_wait(&p, UNTIL_EOF, 0);
	ck_assert(!p.ended);
	ck_assert_uint_eq(p.out.len + p.raw.len, 0);
	WAIT_STATS(hr.hub, st_.sse_waiters == 0);
	hubrun_stop(&hr);
	peer_release(&p);
	fx_release(&fx);
}
END_TEST

/* ---- several hubs, stop, limits ---- */

/* Two hubs on one database (two processes, in effect): a commit and a
 * poke of the notify file reach both; neither is told any other way. */
START_TEST(test_two_hubs_notify)
{
	struct hub_options o;
	struct hubrun h1, h2;
	struct peer a, b;
	struct buf want;
	struct fx fx;
	int64_t id[2];

	fx_init(&fx);
	opts_default(&o, &fx);
	hubrun_start(&h1, &o);
	hubrun_start(&h2, &o);
	buf_init(&want, 1 << 20);
	peer_init(&a, HUB_SINK_FCGI, 25);
	peer_init(&b, HUB_SINK_FCGI, 26);
	peer_park(h1.hub, &a, HUB_SSE, 0, 0, 0);
	peer_park(h2.hub, &b, HUB_SSE, 0, 0, 0);
	WAIT_STATS(h1.hub, st_.sse_waiters == 1);
	WAIT_STATS(h2.hub, st_.sse_waiters == 1);
	id[0] = append(&fx, "user count", "1");
	id[1] = append(&fx, "user", "{\"username\":\"x\"}");
	notify_poke(fx.n);
	expect_frame(&want, id[0], "user count", "1");
	expect_frame(&want, id[1], "user", "{\"username\":\"x\"}");
	peer_expect(&a, &want);
	peer_expect(&b, &want);
	hubrun_stop(&h1);
	hubrun_stop(&h2);
	peer_release(&a);
	peer_release(&b);
	buf_release(&want);
	fx_release(&fx);
}
END_TEST

static bool readable(int fd)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};

	return poll(&pfd, 1, WAIT_MS) == 1;
}

/* The notify file deleted under a watcher (while open elsewhere, which
 * only raises IN_ATTRIB): the watcher re-creates it and hears pokes made
 * through the new file. */
START_TEST(test_notify_replaced)
{
	struct notify *watcher, *poker;
	struct fx fx;
	char path[160];

	fx_init(&fx);
	ck_assert_int_eq(notify_open(fx.db, true, &watcher), EC_OK);
	notify_poke(fx.n);
	ck_assert(readable(notify_fd(watcher)));
	notify_drain(watcher);
	snprintf(path, sizeof(path), "%s-notify", fx.db);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert(readable(notify_fd(watcher)));
	notify_drain(watcher);
	ck_assert_int_eq(access(path, F_OK), 0); /* re-created */
	ck_assert_int_eq(notify_open(fx.db, false, &poker), EC_OK);
	notify_poke(poker);
	ck_assert(readable(notify_fd(watcher)));
	notify_drain(watcher);
	notify_close(poker);
	notify_close(watcher);
	fx_release(&fx);
}
END_TEST

/* hub_stop(): streams end cleanly, polls are answered, hub_run() returns
 * EC_OK, parking is refused. */
/* A session that ended (logout, expiry) loses its waiters, and only it. */
START_TEST(test_end_sessions)
{
	struct hub_options o;
	struct hubrun hr;
	struct peer s, p, other;
	struct buf want;
	struct fx fx;
	int64_t id, gone[] = {99, 5};

	fx_init(&fx);
	id = append(&fx, "a", "1");
	opts_default(&o, &fx);
	hubrun_start(&hr, &o);
	buf_init(&want, 1 << 20);
	peer_init(&s, HUB_SINK_FCGI, 41);
	peer_init(&p, HUB_SINK_FCGI, 42);
	peer_init(&other, HUB_SINK_FCGI, 43);
	peer_park(hr.hub, &s, HUB_SSE, id, 0, 5);
	peer_park(hr.hub, &p, HUB_POLL, id, 60000, 5);
	peer_park(hr.hub, &other, HUB_SSE, id, 0, 6);
	WAIT_STATS(hr.hub, st_.sse_waiters == 2 && st_.poll_waiters == 1);
	hub_end_sessions(hr.hub, gone, 2);
	peer_wait(&s, UNTIL_EOF, 0);
	ck_assert(s.ended);
	expect_poll(&want, id, 0, NULL, NULL, NULL);
	peer_expect_answer(&p, &want);
	WAIT_STATS(hr.hub, st_.sse_waiters == 1 && st_.poll_waiters == 0);
	/* session 6 still streams: it gets the next event */
	id = append(&fx, "b", "2");
	hub_events_committed(hr.hub);
	buf_reset(&want);
	ck_assert_int_eq(sse_format_event(&want, id, "b", "2"), EC_OK);
	peer_expect(&other, &want);
	ck_assert(!other.ended);
	hubrun_stop(&hr);
	peer_release(&s);
	peer_release(&p);
	peer_release(&other);
	buf_release(&want);
	fx_release(&fx);
}
END_TEST

START_TEST(test_stop_ends_all)
{
	struct hub_options o;
	struct hubrun hr;
	struct peer s, p, q;
	struct buf want;
	struct fx fx;
	struct hub_waiter_spec spec;
	int64_t id;

	fx_init(&fx);
	id = append(&fx, "a", "1");
	opts_default(&o, &fx);
	hubrun_start(&hr, &o);
	buf_init(&want, 1 << 20);
	peer_init(&s, HUB_SINK_FCGI, 27);
	peer_init(&p, HUB_SINK_FCGI, 28);
	peer_init(&q, HUB_SINK_FCGI, 29);
	peer_park(hr.hub, &s, HUB_SSE, id, 0, 0);
	peer_park(hr.hub, &p, HUB_POLL, id, 60000, 0);
	WAIT_STATS(hr.hub, st_.sse_waiters == 1 && st_.poll_waiters == 1);
	hub_stop(hr.hub);
	hubrun_join(&hr);
	peer_wait(&s, UNTIL_EOF, 0);
	ck_assert(s.ended);
	expect_poll(&want, id, 0, NULL, NULL, NULL);
	peer_expect_answer(&p, &want);
	spec = peer_spec(&q, HUB_SSE, 0, 0, 0);
	ck_assert_int_eq(hub_park(hr.hub, &spec), EC_UNAVAILABLE);
	ck_assert_int_eq(stats(hr.hub).sse_waiters, 0);
	ck_assert_int_eq(stats(hr.hub).poll_waiters, 0);
	hub_free(hr.hub);
	peer_release(&s);
	peer_release(&p);
	peer_release(&q); /* the refused fd is still ours */
	buf_release(&want);
	fx_release(&fx);
}
END_TEST

START_TEST(test_has_room)
{
	struct hub_options o;
	struct hubrun hr;
	struct peer a, b, c;
	struct fx fx;
	struct hub_waiter_spec spec;

	fx_init(&fx);
	opts_default(&o, &fx);
	o.max_waiters = 2;
	hubrun_start(&hr, &o);
	peer_init(&a, HUB_SINK_FCGI, 30);
	peer_init(&b, HUB_SINK_FCGI, 31);
	peer_init(&c, HUB_SINK_FCGI, 32);
	ck_assert(hub_has_room(hr.hub));
	peer_park(hr.hub, &a, HUB_SSE, 0, 0, 0);
	ck_assert(hub_has_room(hr.hub));
	peer_park(hr.hub, &b, HUB_POLL, 0, 60000, 0);
	ck_assert(!hub_has_room(hr.hub)); /* queued ones count at once */
	spec = peer_spec(&c, HUB_SSE, 0, 0, 0);
	ck_assert_int_eq(hub_park(hr.hub, &spec), EC_TOO_MANY_WAITERS);
	ck_assert_int_ge(fcntl(c.hub_fd, F_GETFD), 0); /* still ours */
	hubrun_stop(&hr);
	peer_release(&a);
	peer_release(&b);
	peer_release(&c);
	fx_release(&fx);
}
END_TEST

/* Issue 9: waiters per session and per user are capped at park; a closed
 * waiter gives its slot back. */
START_TEST(test_caps_per_session_and_user)
{
	struct hub_options o;
	struct hubrun hr;
	struct peer a, b, c, d;
	struct fx fx;
	struct hub_waiter_spec spec;

	fx_init(&fx);
	opts_default(&o, &fx);
	o.max_per_session = 1;
	o.max_per_user = 2;
	hubrun_start(&hr, &o);
	peer_init(&a, HUB_SINK_FCGI, 40);
	peer_init(&b, HUB_SINK_FCGI, 41);
	peer_init(&c, HUB_SINK_FCGI, 42);
	peer_init(&d, HUB_SINK_FCGI, 43);
	spec = peer_spec(&a, HUB_SSE, 0, 0, 7);
	spec.user_id = 3;
	ck_assert_int_eq(hub_park(hr.hub, &spec), EC_OK);
	a.hub_fd = -1;
	ck_assert(!hub_has_room_for(hr.hub, 7, 3));
	spec = peer_spec(&b, HUB_SSE, 0, 0, 7); /* same session */
	spec.user_id = 3;
	ck_assert_int_eq(hub_park(hr.hub, &spec), EC_TOO_MANY_WAITERS);
	ck_assert_int_ge(fcntl(b.hub_fd, F_GETFD), 0); /* still ours */
	spec = peer_spec(&c, HUB_SSE, 0, 0, 8); /* same user, 2nd session */
	spec.user_id = 3;
	ck_assert_int_eq(hub_park(hr.hub, &spec), EC_OK);
	c.hub_fd = -1;
	ck_assert(!hub_has_room_for(hr.hub, 9, 3));
	ck_assert(hub_has_room_for(hr.hub, 9, 4)); /* another user */
	spec = peer_spec(&d, HUB_SSE, 0, 0, 9); /* same user, 3rd session */
	spec.user_id = 3;
	ck_assert_int_eq(hub_park(hr.hub, &spec), EC_TOO_MANY_WAITERS);
	WAIT_STATS(hr.hub, st_.sse_waiters == 2);
	close(a.fd); /* session 7's stream ends: its slot comes back */
	a.fd = -1;
	WAIT_STATS(hr.hub, st_.sse_waiters == 1);
	ck_assert(hub_has_room_for(hr.hub, 7, 3));
	hubrun_stop(&hr);
	peer_release(&a);
	peer_release(&b);
	peer_release(&c);
	peer_release(&d);
	fx_release(&fx);
}
END_TEST

struct touched {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	int calls;
	size_t n;
	int64_t ids[8];
};

static void on_touch(void *ctx, const int64_t *ids, size_t n)
{
	struct touched *t = ctx;

	pthread_mutex_lock(&t->mu);
	t->calls++;
	t->n = n < 8 ? n : 8;
	if (t->n) /* ids may be NULL when n is 0 */
		memcpy(t->ids, ids, t->n * sizeof(*ids));
	pthread_cond_broadcast(&t->cond);
	pthread_mutex_unlock(&t->mu);
}

START_TEST(test_touch)
{
	struct touched t = {.mu = PTHREAD_MUTEX_INITIALIZER,
			    .cond = PTHREAD_COND_INITIALIZER};
	struct hub_options o;
	struct hubrun hr;
	struct peer a, b, c, d;
	struct fx fx;
	struct timespec until;
	bool got = false;

	fx_init(&fx);
	opts_default(&o, &fx);
	o.touch = on_touch;
	o.touch_ctx = &t;
	o.touch_every_ms = 10;
	hubrun_start(&hr, &o);
	peer_init(&a, HUB_SINK_FCGI, 33);
	peer_init(&b, HUB_SINK_FCGI, 34);
	peer_init(&c, HUB_SINK_FCGI, 35);
	peer_init(&d, HUB_SINK_FCGI, 36);
	peer_park(hr.hub, &a, HUB_SSE, 0, 0, 42);
	/* issue 9: a second waiter of session 42 adds no second write */
	peer_park(hr.hub, &d, HUB_SSE, 0, 0, 42);
	peer_park(hr.hub, &b, HUB_POLL, 0, 60000, 0);
	peer_park(hr.hub, &c, HUB_POLL, 0, 60000, 7);
	/* count only touches made with all four parked */
	WAIT_STATS(hr.hub, st_.sse_waiters == 2 && st_.poll_waiters == 2);
	pthread_mutex_lock(&t.mu);
	t.calls = 0;
	pthread_mutex_unlock(&t.mu);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += WAIT_MS / 1000;
	pthread_mutex_lock(&t.mu);
	while (!got) {
		got = t.calls > 0 && t.n == 2 &&
		      ((t.ids[0] == 42 && t.ids[1] == 7) ||
				   (t.ids[0] == 7 && t.ids[1] == 42));
		if (!got &&
		    pthread_cond_timedwait(&t.cond, &t.mu, &until) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&t.mu);
	ck_assert_msg(got, "touch never reported sessions 42 and 7");

	/* Once the last waiter has left, touch says so (n == 0); without it
	 * the server would keep those sessions online for ever. */
	peer_release(&a);
	peer_release(&b);
	peer_release(&c);
	peer_release(&d);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += WAIT_MS / 1000;
	got = false;
	pthread_mutex_lock(&t.mu);
	while (!got) {
		got = t.n == 0;
		if (!got &&
		    pthread_cond_timedwait(&t.cond, &t.mu, &until) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&t.mu);
	ck_assert_msg(got, "touch never reported that no session is left");
	hubrun_stop(&hr);
	fx_release(&fx);
}
END_TEST

/* ---- plain CGI ---- */

/* One SSE waiter on "stdout", exit_when_idle: raw frames; hub_run()
 * returns when stdout hangs up. */
START_TEST(test_raw_sse_hangup)
{
	struct hub_options o;
	struct hubrun hr;
	struct peer p;
	struct buf want;
	struct fx fx;
	int64_t id;

	fx_init(&fx);
	opts_default(&o, &fx);
	o.exit_when_idle = true;
	ck_assert_int_eq(hub_new(&o, &hr.hub), EC_OK);
	buf_init(&want, 1 << 20);
	peer_init(&p, HUB_SINK_RAW, 0);
	peer_park(hr.hub, &p, HUB_SSE, 0, 0, 0);
	ck_assert_int_eq(pthread_create(&hr.th, NULL, hubrun_main, &hr), 0);
	hr.running = true;
	id = append(&fx, "user count", "1");
	hub_events_committed(hr.hub);
	expect_frame(&want, id, "user count", "1");
	peer_expect(&p, &want);
	close(p.fd);
	p.fd = -1;
	hubrun_join(&hr); /* returned by itself */
	hub_free(hr.hub);
	peer_release(&p);
	buf_release(&want);
	fx_release(&fx);
}
END_TEST

/* The CGI flow: park, then run on the same thread; the poll is answered
 * at once and hub_run() returns. */
START_TEST(test_raw_poll_cgi)
{
	const char *names[] = {"a"};
	const char *datas[] = {"{\"k\":[1,2]}"};
	struct hub_options o;
	struct hub *hub;
	struct peer p;
	struct buf want;
	struct fx fx;
	int64_t ids[1];

	fx_init(&fx);
	ids[0] = append(&fx, names[0], datas[0]);
	opts_default(&o, &fx);
	o.exit_when_idle = true;
	ck_assert_int_eq(hub_new(&o, &hub), EC_OK);
	buf_init(&want, 1 << 20);
	peer_init(&p, HUB_SINK_RAW, 0);
	peer_park(hub, &p, HUB_POLL, 0, 60000, 0);
	ck_assert_int_eq(hub_run(hub), EC_OK);
	expect_poll(&want, ids[0], 1, ids, names, datas);
	peer_expect_answer(&p, &want);
	hub_free(hub);
	peer_release(&p);
	buf_release(&want);
	fx_release(&fx);
}
END_TEST

/* stdin hanging up ends a CGI waiter too. */
START_TEST(test_raw_stdin_hangup)
{
	struct hub_options o;
	struct hub *hub;
	struct peer p;
	struct fx fx;
	struct hub_waiter_spec spec;
	int in[2];

	fx_init(&fx);
	opts_default(&o, &fx);
	o.exit_when_idle = true;
	ck_assert_int_eq(hub_new(&o, &hub), EC_OK);
	peer_init(&p, HUB_SINK_RAW, 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in),
			 0);
	spec = peer_spec(&p, HUB_POLL, 0, 60000, 0);
	spec.in_fd = in[1];
	ck_assert_int_eq(hub_park(hub, &spec), EC_OK);
	p.hub_fd = -1;
	close(in[0]);
	ck_assert_int_eq(hub_run(hub), EC_OK); /* returns: no waiter left */
	peer_wait(&p, UNTIL_EOF, 0);
	ck_assert_uint_eq(p.out.len, 0);
	hub_free(hub);
	peer_release(&p);
	fx_release(&fx);
}
END_TEST

/* A pipe for stdin whose writer closed after the body (what Apache and
 * lighttpd give a CGI) is no hang-up: the poll runs to its timeout. */
START_TEST(test_raw_stdin_pipe_ignored)
{
	struct hub_options o;
	struct hub *hub;
	struct peer p;
	struct buf want;
	struct fx fx;
	struct hub_waiter_spec spec;
	int in[2];

	fx_init(&fx);
	opts_default(&o, &fx);
	o.exit_when_idle = true;
	ck_assert_int_eq(hub_new(&o, &hub), EC_OK);
	buf_init(&want, 1 << 20);
	peer_init(&p, HUB_SINK_RAW, 0);
	ck_assert_int_eq(pipe2(in, O_CLOEXEC), 0);
	close(in[1]);
	spec = peer_spec(&p, HUB_POLL, 0, 30, 0);
	spec.in_fd = in[0];
	ck_assert_int_eq(hub_park(hub, &spec), EC_OK);
	p.hub_fd = -1;
	ck_assert_int_eq(hub_run(hub), EC_OK);
	expect_poll(&want, 0, 0, NULL, NULL, NULL);
	peer_expect_answer(&p, &want);
	ck_assert_int_eq(fcntl(in[0], F_GETFD), -1); /* the hub closed it */
	hub_free(hub);
	peer_release(&p);
	buf_release(&want);
	fx_release(&fx);
}
END_TEST

/* hub_free() without hub_run(): parked requests are still ended. */
START_TEST(test_free_ends_queued)
{
	struct hub_options o;
	struct hub *hub;
	struct peer p;
	struct fx fx;

	fx_init(&fx);
	opts_default(&o, &fx);
	ck_assert_int_eq(hub_new(&o, &hub), EC_OK);
	peer_init(&p, HUB_SINK_FCGI, 36);
	peer_park(hub, &p, HUB_SSE, 0, 0, 0);
	hub_free(hub);
	peer_wait(&p, UNTIL_EOF, 0);
	ck_assert(p.ended);
	peer_release(&p);
	fx_release(&fx);
}
END_TEST

START_TEST(test_bad_spec)
{
	struct hub_options o;
	struct hub *hub;
	struct fx fx;
	struct hub_waiter_spec spec = {.kind = HUB_SSE, .fd = -1};

	fx_init(&fx);
	opts_default(&o, &fx);
	ck_assert_int_eq(hub_new(&o, &hub), EC_OK);
	ck_assert_int_eq(hub_park(hub, &spec), EC_INTERNAL);
	spec.fd = 1;
	spec.kind = HUB_POLL;
	spec.timeout_ms = -1;
	ck_assert_int_eq(hub_park(hub, &spec), EC_INTERNAL);
	hub_free(hub);
	fx_release(&fx);
}
END_TEST

START_TEST(test_no_database)
{
	struct hub_options o = {.db_path = "/nonexistent/dir/x.db"};
	struct hub *hub = (struct hub *)&o;

	ck_assert_int_ne(hub_new(&o, &hub), EC_OK);
	ck_assert_ptr_null(hub);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("hub");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_sse_in_order_once);
	tcase_add_test(tc, test_sse_cursor_behind_store);
	tcase_add_test(tc, test_sse_cursor_behind_ring);
	tcase_add_test(tc, test_sse_cursor_equal);
	tcase_add_test(tc, test_sse_cursor_ahead);
	tcase_add_test(tc, test_sse_heartbeat);
	tcase_add_test(tc, test_sse_stream_max);
	tcase_add_test(tc, test_sse_large_event);
	tcase_add_test(tc, test_sse_slow_reader);
	tcase_add_test(tc, test_poll_wakes_with_all_pending);
	tcase_add_test(tc, test_poll_cursor_behind);
	tcase_add_test(tc, test_poll_cursor_ahead);
	tcase_add_test(tc, test_poll_timeout);
	tcase_add_test(tc, test_poll_large_backlog);
	tcase_add_test(tc, test_trimmed_gap);
	tcase_add_test(tc, test_peer_close_frees);
	tcase_add_test(tc, test_abort_request);
	tcase_add_test(tc, test_abort_poll);
	tcase_add_test(tc, test_protocol_error);
	tcase_add_test(tc, test_two_hubs_notify);
	tcase_add_test(tc, test_notify_replaced);
	tcase_add_test(tc, test_stop_ends_all);
	tcase_add_test(tc, test_end_sessions);
	tcase_add_test(tc, test_has_room);
	tcase_add_test(tc, test_caps_per_session_and_user);
	tcase_add_test(tc, test_touch);
	tcase_add_test(tc, test_raw_sse_hangup);
	tcase_add_test(tc, test_raw_poll_cgi);
	tcase_add_test(tc, test_raw_stdin_hangup);
	tcase_add_test(tc, test_raw_stdin_pipe_ignored);
	tcase_add_test(tc, test_free_ends_queued);
	tcase_add_test(tc, test_bad_spec);
	tcase_add_test(tc, test_no_database);
	suite_add_tcase(s, tc);
	return fixture_run(s);
}
