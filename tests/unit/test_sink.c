/* test_sink.c -- the sink interface on its own (sink.h): no hub, no
 * store.  Each test makes a socketpair(), gives one end to a sink and
 * plays the web server (or the CGI's reader) on the other: framing,
 * partial writes (SINK_PENDING, then SINK_OK from sink_drain()), the
 * pending cap (SINK_FULL), a closed peer (SINK_BROKEN), what the web
 * server sends back (SINK_ABORTED), and the release of held payloads.
 * The end-to-end behaviour of parked connections (abort, hang-up,
 * protocol errors through the hub) stays in test_hub.c.
 */
#include "autoconfig.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "fcgi_record.h"
#include "fixture.h"
#include "sink.h"

struct pair {
	struct sink s;
	int peer;
};

static void pair_init(struct pair *p, enum sink_kind kind, uint16_t rid)
{
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
			 0);
	p->peer = sv[0];
	sink_init(&p->s, kind, sv[1], rid, NULL);
	ck_assert_int_eq(sink_open(&p->s), SINK_OK);
}

static void pair_release(struct pair *p)
{
	sink_close(&p->s);
	sink_free(&p->s);
	if (p->peer >= 0)
		close(p->peer);
}

/* Reads everything the peer has now (non-blocking after the first
 * wait). */
static void peer_read(struct pair *p, struct buf *into)
{
	struct pollfd pfd = {.fd = p->peer, .events = POLLIN};
	char tmp[65536];
	ssize_t n;

	while (poll(&pfd, 1, 0) > 0 &&
	       (n = recv(p->peer, tmp, sizeof(tmp), MSG_DONTWAIT)) > 0)
		ck_assert_int_eq(buf_add(into, tmp, (size_t)n), EC_OK);
}

static int released;

static void count_release(void *owner)
{
	ck_assert_ptr_eq(owner, &released);
	released++;
}

START_TEST(test_fcgi_frames_and_end)
{
	struct pair p;
	struct sink_batch b;
	struct buf got;
	struct fcgi_record rec;
	long n;
	size_t off = 0;

	pair_init(&p, SINK_FCGI, 7);
	buf_init(&got, 1 << 20);
	released = 0;
	sink_batch_init(&b, &p.s);
	ck_assert_int_eq(
	    sink_deliver(&b, "hello", 5,
			 (struct sink_hold){count_release, &released}),
	    SINK_OK);
	ck_assert_int_eq(sink_end(&b), SINK_OK);
	ck_assert_int_eq(released, 0); /* the batch still points at it */
	ck_assert_int_eq(sink_flush(&b), SINK_OK);
	ck_assert_int_eq(released, 1);
	ck_assert(!sink_pending(&p.s));
	peer_read(&p, &got);
	/* FCGI_STDOUT "hello" (padded), empty FCGI_STDOUT, END_REQUEST. */
	n = fcgi_record_parse(got.data, got.len, &rec);
	ck_assert_int_eq(n, 16);
	ck_assert_uint_eq(rec.type, FCGI_STDOUT);
	ck_assert_uint_eq(rec.request_id, 7);
	ck_assert_mem_eq(rec.content, "hello", 5);
	off += (size_t)n;
	n = fcgi_record_parse(got.data + off, got.len - off, &rec);
	ck_assert_int_eq(n, 8);
	ck_assert_uint_eq(rec.type, FCGI_STDOUT);
	ck_assert_uint_eq(rec.content_len, 0);
	off += (size_t)n;
	n = fcgi_record_parse(got.data + off, got.len - off, &rec);
	ck_assert_int_eq(n, 16);
	ck_assert_uint_eq(rec.type, FCGI_END_REQUEST);
	ck_assert_uint_eq(off + (size_t)n, got.len);
	buf_release(&got);
	pair_release(&p);
}
END_TEST

START_TEST(test_raw_as_is_no_end)
{
	struct pair p;
	struct sink_batch b;
	struct buf got;

	pair_init(&p, SINK_RAW, 0);
	buf_init(&got, 1 << 20);
	sink_batch_init(&b, &p.s);
	ck_assert_int_eq(sink_deliver(&b, "a", 1, SINK_NO_HOLD), SINK_OK);
	ck_assert_int_eq(sink_deliver(&b, "bc", 2, SINK_NO_HOLD), SINK_OK);
	ck_assert_int_eq(sink_end(&b), SINK_OK);
	ck_assert_int_eq(sink_flush(&b), SINK_OK);
	peer_read(&p, &got);
	ck_assert_uint_eq(got.len, 3);
	ck_assert_mem_eq(got.data, "abc", 3);
	buf_release(&got);
	pair_release(&p);
}
END_TEST

/* A peer that does not read: the rest is pending; once it reads,
 * sink_drain() says SINK_OK and every byte arrived once, in order. */
START_TEST(test_pending_then_ok)
{
	static char data[256 * 1024];
	struct pair p;
	struct sink_batch b;
	struct buf got;
	enum sink_status st;
	int small = 4096;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (char)('a' + i % 26);
	pair_init(&p, SINK_RAW, 0);
	ck_assert_int_eq(
	    setsockopt(p.s.io.fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)),
	    0);
	buf_init(&got, 1 << 20);
	released = 0;
	sink_batch_init(&b, &p.s);
	ck_assert_int_eq(
	    sink_deliver(&b, data, sizeof(data),
			 (struct sink_hold){count_release, &released}),
	    SINK_OK);
	ck_assert_int_eq(sink_flush(&b), SINK_PENDING);
	ck_assert_int_eq(released, 1); /* copied: no longer needed */
	ck_assert(sink_pending(&p.s));
	/* More bytes go behind the pending ones. */
	sink_batch_init(&b, &p.s);
	ck_assert_int_eq(sink_deliver(&b, "END", 3, SINK_NO_HOLD),
			 SINK_PENDING);
	ck_assert_int_eq(sink_flush(&b), SINK_PENDING);
	do {
		peer_read(&p, &got);
		st = sink_drain(&p.s);
		ck_assert(st == SINK_OK || st == SINK_PENDING);
	} while (st == SINK_PENDING);
	ck_assert(!sink_pending(&p.s));
	peer_read(&p, &got);
	ck_assert_uint_eq(got.len, sizeof(data) + 3);
	ck_assert_mem_eq(got.data, data, sizeof(data));
	ck_assert_mem_eq(got.data + sizeof(data), "END", 3);
	buf_release(&got);
	pair_release(&p);
}
END_TEST

/* Past SINK_PENDING_MAX the sink says SINK_FULL (and closes nothing). */
START_TEST(test_full)
{
	static char data[64 * 1024];
	struct pair p;
	struct sink_batch b;
	enum sink_status st = SINK_OK;

	pair_init(&p, SINK_FCGI, 1);
	for (int i = 0; i < 64 && st != SINK_FULL; i++) {
		sink_batch_init(&b, &p.s);
		st = sink_deliver(&b, data, sizeof(data), SINK_NO_HOLD);
		if (st == SINK_OK)
			st = sink_flush(&b);
		ck_assert(st == SINK_OK || st == SINK_PENDING ||
			  st == SINK_FULL);
	}
	ck_assert_int_eq(st, SINK_FULL);
	ck_assert_int_ge(fcntl(p.s.io.fd, F_GETFD), 0); /* still open */
	pair_release(&p);
}
END_TEST

START_TEST(test_broken_peer)
{
	struct pair p;
	struct sink_batch b;

	pair_init(&p, SINK_FCGI, 1);
	close(p.peer);
	p.peer = -1;
	sink_batch_init(&b, &p.s);
	ck_assert_int_eq(sink_deliver(&b, "x", 1, SINK_NO_HOLD), SINK_OK);
	ck_assert_int_eq(sink_flush(&b), SINK_BROKEN);
	ck_assert_int_eq(sink_input(&p.s), SINK_BROKEN); /* EOF */
	pair_release(&p);
}
END_TEST

/* After sink_close(): SINK_BROKEN, no I/O, holds released at once. */
START_TEST(test_closed)
{
	struct pair p;
	struct sink_batch b;

	pair_init(&p, SINK_RAW, 0);
	sink_close(&p.s);
	released = 0;
	sink_batch_init(&b, &p.s);
	ck_assert_int_eq(
	    sink_deliver(&b, "x", 1,
			 (struct sink_hold){count_release, &released}),
	    SINK_BROKEN);
	ck_assert_int_eq(released, 1);
	ck_assert_int_eq(sink_end(&b), SINK_BROKEN);
	ck_assert_int_eq(sink_flush(&b), SINK_BROKEN);
	ck_assert_int_eq(sink_drain(&p.s), SINK_BROKEN);
	ck_assert_int_eq(sink_input(&p.s), SINK_BROKEN);
	pair_release(&p);
}
END_TEST

static void send_record(int fd, unsigned type, uint16_t rid)
{
	FCGI_Header h;

	fcgi_record_header(&h, type, rid, 0);
	ck_assert_int_eq(write(fd, &h, sizeof(h)), (ssize_t)sizeof(h));
}

/* Records from the web server: leftovers and others' aborts are
 * ignored, ours is SINK_ABORTED, garbage is SINK_BROKEN. */
START_TEST(test_fcgi_input)
{
	struct pair p;

	pair_init(&p, SINK_FCGI, 9);
	ck_assert_int_eq(sink_input(&p.s), SINK_OK); /* nothing yet */
	send_record(p.peer, FCGI_STDIN, 9);
	send_record(p.peer, FCGI_ABORT_REQUEST, 10);
	ck_assert_int_eq(sink_input(&p.s), SINK_OK);
	send_record(p.peer, FCGI_ABORT_REQUEST, 9);
	ck_assert_int_eq(sink_input(&p.s), SINK_ABORTED);
	ck_assert_int_eq(write(p.peer, "GET / HTTP/1.0\r\n\r\n", 18), 18);
	ck_assert_int_eq(sink_input(&p.s), SINK_BROKEN);
	pair_release(&p);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sink");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_fcgi_frames_and_end);
	tcase_add_test(tc, test_raw_as_is_no_end);
	tcase_add_test(tc, test_pending_then_ok);
	tcase_add_test(tc, test_full);
	tcase_add_test(tc, test_broken_peer);
	tcase_add_test(tc, test_closed);
	tcase_add_test(tc, test_fcgi_input);
	suite_add_tcase(s, tc);
	return fixture_run(s);
}
