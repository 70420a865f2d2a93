/* test_fcgi_record.c -- FastCGI record building and parsing. */
#include "autoconfig.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fcgi_record.h"
#include "fixture.h"

static const struct {
	size_t len;
	unsigned pad;
} pad_rows[] = {
    {0, 0},  {1, 7},  {7, 1},	  {8, 0},     {9, 7},
    {15, 1}, {16, 0}, {65535, 1}, {65528, 0},
};

START_TEST(test_padding)
{
	ck_assert_uint_eq(fcgi_record_padding(pad_rows[_i].len),
			  pad_rows[_i].pad);
	ck_assert_uint_eq((pad_rows[_i].len + pad_rows[_i].pad) % 8, 0);
}
END_TEST

START_TEST(test_header_bytes)
{
	FCGI_Header h;
	const unsigned char want[8] = {1,    FCGI_STDOUT, 0x01, 0x02,
				       0x12, 0x34,	  4,	0};
	const unsigned char want_max[8] = {1,	 FCGI_STDOUT, 0xff, 0xff,
					   0xff, 0xff,	      1,    0};

	ck_assert_uint_eq(sizeof(h), 8);
	ck_assert_uint_eq(fcgi_record_header(&h, FCGI_STDOUT, 0x0102, 0x1234),
			  4);
	ck_assert_mem_eq(&h, want, 8);
	ck_assert_uint_eq(fcgi_record_header(&h, FCGI_STDOUT, 0xffff, 65535),
			  1);
	ck_assert_mem_eq(&h, want_max, 8);
}
END_TEST

START_TEST(test_end_bytes)
{
	unsigned char end[FCGI_RECORD_END_BYTES];
	const unsigned char want[24] = {
	    /* empty FCGI_STDOUT: end of the stream */
	    1,
	    6,
	    0x30,
	    0x39,
	    0,
	    0,
	    0,
	    0,
	    /* FCGI_END_REQUEST, 8 bytes of body */
	    1,
	    3,
	    0x30,
	    0x39,
	    0,
	    8,
	    0,
	    0,
	    /* appStatus 0, FCGI_REQUEST_COMPLETE, reserved */
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	};
	FCGI_EndRequestRecord r;
	const unsigned char want_status[16] = {
	    1, 3, 0, 1, 0, 8, 0, 0, 0x01, 0x02, 0x03, 0x04, 2, 0, 0, 0,
	};
	struct buf b;

	ck_assert_uint_eq(FCGI_RECORD_END_BYTES, 24);
	fcgi_record_end(end, 12345);
	ck_assert_mem_eq(end, want, 24);
	buf_init(&b, 100);
	ck_assert_int_eq(buf_adds(&b, "x"), EC_OK);
	ck_assert_int_eq(fcgi_record_append_end(&b, 12345), EC_OK);
	ck_assert_uint_eq(b.len, 25);
	ck_assert_mem_eq(b.data + 1, want, 24);
	buf_release(&b);
	fcgi_record_end_request(&r, 1, 0x01020304, FCGI_OVERLOADED);
	ck_assert_mem_eq(&r, want_status, 16);
}
END_TEST

/* Splits at 65535 content bytes, pads each record to 8. */
static const struct {
	size_t len;
	size_t records;
	size_t wire;
} split_rows[] = {
    {0, 0, 0},
    {1, 1, 16},
    {8, 1, 16},
    {65535, 1, 8 + 65535 + 1},
    {65536, 2, 8 + 65535 + 1 + 8 + 1 + 7},
    {2 * 65535, 2, 2 * (8 + 65535 + 1)},
    {200000, 4, 3 * (8 + 65535 + 1) + 8 + 3395 + 5},
};

START_TEST(test_stdout_split)
{
	size_t len = split_rows[_i].len, off = 0, got = 0, records = 0;
	unsigned char *data = malloc(len + 1);
	struct fcgi_record rec;
	struct buf b;
	long n;

	ck_assert_ptr_nonnull(data);
	for (size_t i = 0; i < len; i++)
		data[i] = (unsigned char)(i * 7 + 3);
	buf_init(&b, 1u << 20);
	ck_assert_int_eq(fcgi_record_append_stdout(&b, 77, data, len), EC_OK);
	ck_assert_uint_eq(b.len, split_rows[_i].wire);
	while (off < b.len) {
		n = fcgi_record_parse(b.data + off, b.len - off, &rec);
		ck_assert_int_gt(n, 0);
		ck_assert_uint_eq((size_t)n % 8, 0);
		ck_assert_uint_eq(rec.type, FCGI_STDOUT);
		ck_assert_uint_eq(rec.request_id, 77);
		ck_assert_uint_gt(rec.content_len, 0);
		ck_assert_uint_le(rec.content_len, 65535);
		/* all but the last record are full */
		if (off + (size_t)n < b.len)
			ck_assert_uint_eq(rec.content_len, 65535);
		ck_assert_mem_eq(rec.content, data + got, rec.content_len);
		for (unsigned i = 0; i < rec.padding_len; i++)
			ck_assert_uint_eq(rec.content[rec.content_len + i], 0);
		got += rec.content_len;
		off += (size_t)n;
		records++;
	}
	ck_assert_uint_eq(got, len);
	ck_assert_uint_eq(records, split_rows[_i].records);
	buf_release(&b);
	free(data);
}
END_TEST

START_TEST(test_stdout_cap_leaves_buffer)
{
	struct buf b;
	char data[100];

	memset(data, 'a', sizeof(data));
	buf_init(&b, 60);
	ck_assert_int_eq(buf_adds(&b, "keep"), EC_OK);
	ck_assert_int_eq(fcgi_record_append_stdout(&b, 1, data, sizeof(data)),
			 EC_TOO_LARGE);
	ck_assert_str_eq(buf_str(&b), "keep");
	ck_assert_uint_eq(b.len, 4);
	buf_release(&b);
}
END_TEST

/* The parser: partial input, garbage, an abort. */
static const struct {
	const char *what;
	size_t len;
	unsigned char bytes[40];
	long want;
	unsigned type;
	uint16_t request_id;
	uint16_t content_len;
} parse_rows[] = {
    {"empty", 0, {0}, 0, 0, 0, 0},
    {"half a header", 5, {1, 2, 0, 1, 0}, 0, 0, 0, 0},
    {"abort",
     8,
     {1, FCGI_ABORT_REQUEST, 0, 1, 0, 0, 0, 0},
     8,
     FCGI_ABORT_REQUEST,
     1,
     0},
    {"abort and more",
     12,
     {1, 2, 0x01, 0x00, 0, 0, 0, 0, 9, 9, 9, 9},
     8,
     FCGI_ABORT_REQUEST,
     256,
     0},
    {"stdin waiting for content",
     10,
     {1, 5, 0, 1, 0, 5, 3, 0, 'a', 'b'},
     0,
     0,
     0,
     0},
    {"stdin waiting for padding",
     15,
     {1, 5, 0, 1, 0, 5, 3, 0, 'a', 'b', 'c', 'd', 'e', 0, 0},
     0,
     0,
     0,
     0},
    {"stdin whole",
     16,
     {1, 5, 0, 1, 0, 5, 3, 0, 'a', 'b', 'c', 'd', 'e', 0, 0, 0},
     16,
     FCGI_STDIN,
     1,
     5},
    {"empty stdin", 8, {1, 5, 0, 1, 0, 0, 0, 0}, 8, FCGI_STDIN, 1, 0},
    {"unknown type is passed on", 8, {1, 200, 0, 3, 0, 0, 0, 0}, 8, 200, 3, 0},
    {"version 0", 8, {0, 5, 0, 1, 0, 0, 0, 0}, -1, 0, 0, 0},
    {"version 2", 8, {2, 5, 0, 1, 0, 0, 0, 0}, -1, 0, 0, 0},
    {"type 0", 8, {1, 0, 0, 1, 0, 0, 0, 0}, -1, 0, 0, 0},
    {"garbage claiming 64 KiB",
     8,
     {'G', 'E', 'T', ' ', '/', ' ', 'H', 'T'},
     -1,
     0,
     0,
     0},
    {"bad version before its content",
     9,
     {7, 5, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 1},
     -1,
     0,
     0,
     0},
};

START_TEST(test_parse_row)
{
	struct fcgi_record rec;
	long n =
	    fcgi_record_parse(parse_rows[_i].bytes, parse_rows[_i].len, &rec);

	ck_assert_msg(n == parse_rows[_i].want, "%s: got %ld want %ld",
		      parse_rows[_i].what, n, parse_rows[_i].want);
	if (n > 0) {
		ck_assert_uint_eq(rec.type, parse_rows[_i].type);
		ck_assert_uint_eq(rec.request_id, parse_rows[_i].request_id);
		ck_assert_uint_eq(rec.content_len, parse_rows[_i].content_len);
		ck_assert_ptr_eq(rec.content, parse_rows[_i].bytes + 8);
	}
}
END_TEST

struct seen {
	int n;
	int stop_at; /* stop after this many, 0: never */
	unsigned types[16];
	uint16_t ids[16];
	size_t lens[16];
	char content[256];
	size_t content_len;
};

static bool seen_record(void *ctx, const struct fcgi_record *rec)
{
	struct seen *s = ctx;

	ck_assert_int_lt(s->n, 16);
	s->types[s->n] = rec->type;
	s->ids[s->n] = rec->request_id;
	s->lens[s->n] = rec->content_len;
	ck_assert_uint_le(s->content_len + rec->content_len,
			  sizeof(s->content));
	memcpy(s->content + s->content_len, rec->content, rec->content_len);
	s->content_len += rec->content_len;
	s->n++;
	return s->stop_at == 0 || s->n < s->stop_at;
}

/* stdin "hello" (padded), empty stdin, abort of request 9. */
static const unsigned char stream[] = {
    1, 5, 0, 9, 0, 5, 3, 0, 'h', 'e', 'l', 'l', 'o', 0, 0, 0,
    1, 5, 0, 9, 0, 0, 0, 0, 1,	 2,   0,   9,	0,   0, 0, 0,
};

/* Every chunking gives the same records, and the tail holds at most one. */
START_TEST(test_feed_chunked)
{
	size_t chunk = (size_t)_i + 1;
	struct buf *tail = NULL;
	struct seen s = {0};

	for (size_t off = 0; off < sizeof(stream); off += chunk) {
		size_t n =
		    sizeof(stream) - off < chunk ? sizeof(stream) - off : chunk;

		ck_assert_int_eq(
		    fcgi_record_feed(&tail, stream + off, n, seen_record, &s),
		    EC_OK);
		if (tail)
			ck_assert_uint_lt(tail->len, 16);
	}
	ck_assert_int_eq(s.n, 3);
	ck_assert_uint_eq(s.types[0], FCGI_STDIN);
	ck_assert_uint_eq(s.types[1], FCGI_STDIN);
	ck_assert_uint_eq(s.types[2], FCGI_ABORT_REQUEST);
	ck_assert_uint_eq(s.ids[2], 9);
	ck_assert_uint_eq(s.lens[0], 5);
	ck_assert_uint_eq(s.lens[1], 0);
	ck_assert_uint_eq(s.content_len, 5);
	ck_assert_mem_eq(s.content, "hello", 5);
	ck_assert(!tail || tail->len == 0);
	fcgi_record_tail_free(&tail);
	ck_assert_ptr_null(tail);
}
END_TEST

START_TEST(test_feed_stop)
{
	struct buf *tail = NULL;
	struct seen s = {.stop_at = 2};

	ck_assert_int_eq(fcgi_record_feed(&tail, stream, 3, seen_record, &s),
			 EC_OK);
	ck_assert_int_eq(fcgi_record_feed(&tail, stream + 3, sizeof(stream) - 3,
					  seen_record, &s),
			 EC_OK);
	ck_assert_int_eq(s.n, 2);
	fcgi_record_tail_free(&tail);
}
END_TEST

START_TEST(test_feed_garbage)
{
	static const unsigned char bad[] = {1,	 5,   0,   9,	0,   0,
					    0,	 0,   'G', 'E', 'T', ' ',
					    '/', ' ', 'H', 'T', 'T', 'P'};
	struct buf *tail = NULL;
	struct seen s = {0};

	/* Whole: the good record, then the error. */
	ck_assert_int_eq(
	    fcgi_record_feed(&tail, bad, sizeof(bad), seen_record, &s),
	    EC_INVALID_PARAM);
	ck_assert_int_eq(s.n, 1);
	fcgi_record_tail_free(&tail);
	/* Byte by byte: the error as soon as the bad header is whole. */
	memset(&s, 0, sizeof(s));
	for (size_t i = 0; i < sizeof(bad); i++) {
		enum ecode rc =
		    fcgi_record_feed(&tail, bad + i, 1, seen_record, &s);

		if (i < 15)
			ck_assert_int_eq(rc, EC_OK);
		else {
			ck_assert_int_eq(rc, EC_INVALID_PARAM);
			break;
		}
	}
	ck_assert_int_eq(s.n, 1);
	fcgi_record_tail_free(&tail);
}
END_TEST

/* A record as large as the protocol allows, fed in odd pieces. */
START_TEST(test_feed_largest)
{
	size_t total = FCGI_RECORD_MAX_BYTES, off = 0;
	unsigned char *rec = calloc(1, total);
	struct buf *tail = NULL;
	struct seen s = {0};

	ck_assert_ptr_nonnull(rec);
	rec[0] = 1;
	rec[1] = FCGI_STDIN;
	rec[2] = 0;
	rec[3] = 1;
	rec[4] = 0;
	rec[5] = 200; /* 200 bytes of content, as seen_record keeps them */
	rec[6] = 255;
	total = 8 + 200 + 255;
	while (off < total) {
		size_t n = total - off < 37 ? total - off : 37;

		ck_assert_int_eq(
		    fcgi_record_feed(&tail, rec + off, n, seen_record, &s),
		    EC_OK);
		off += n;
	}
	ck_assert_int_eq(s.n, 1);
	ck_assert_uint_eq(s.lens[0], 200);
	fcgi_record_tail_free(&tail);
	free(rec);
}
END_TEST

/* The client side: name-value pairs (FastCGI 1.0, 3.4), one row each. */
static const struct {
	const char *what;
	size_t name_len, value_len;
	size_t want_len;	    /* bytes appended */
	unsigned char want_head[8]; /* the length bytes */
	size_t head_len;
} param_rows[] = {
    {"short", 3, 5, 1 + 1 + 3 + 5, {3, 5}, 2},
    {"empty value", 4, 0, 1 + 1 + 4, {4, 0}, 2},
    {"127 is one byte", 127, 1, 1 + 1 + 127 + 1, {127, 1}, 2},
    {"128 is four", 128, 2, 4 + 1 + 128 + 2, {0x80, 0, 0, 128, 2}, 5},
    {"long value",
     2,
     300,
     1 + 4 + 2 + 300,
     {2, 0x80, 0, 0x01, 0x2c},
     5},
};

START_TEST(test_param_row)
{
	static char text[400];
	struct buf b;

	memset(text, 'x', sizeof(text));
	buf_init(&b, 4096);
	ck_assert_int_eq(fcgi_record_append_param(&b, text,
						  param_rows[_i].name_len, text,
						  param_rows[_i].value_len),
			 EC_OK);
	ck_assert_msg(b.len == param_rows[_i].want_len, "%s: %zu bytes",
		      param_rows[_i].what, b.len);
	ck_assert_mem_eq(b.data, param_rows[_i].want_head,
			 param_rows[_i].head_len);
	buf_release(&b);
}
END_TEST

START_TEST(test_param_cap_leaves_buffer)
{
	struct buf b;

	buf_init(&b, 10);
	ck_assert_int_eq(buf_adds(&b, "keep"), EC_OK);
	ck_assert_int_eq(fcgi_record_append_param(&b, "NAME", 4, "value", 5),
			 EC_TOO_LARGE);
	ck_assert_str_eq(buf_str(&b), "keep");
	ck_assert_int_eq(fcgi_record_append_param(&b, "N", 1, "v", 1), EC_OK);
	ck_assert_uint_eq(b.len, 8);
	buf_release(&b);
}
END_TEST

/* What the client builds, the parser reads back: type, id, content,
 * padding to a multiple of 8. */
static const struct {
	unsigned type;
	size_t len;
} append_rows[] = {
    {FCGI_PARAMS, 0}, {FCGI_PARAMS, 1},	   {FCGI_STDIN, 7},
    {FCGI_STDIN, 8},  {FCGI_STDIN, 65535},
};

START_TEST(test_append_row)
{
	static unsigned char data[65535];
	struct fcgi_record rec;
	struct buf b;
	long n;

	memset(data, 'd', sizeof(data));
	buf_init(&b, FCGI_RECORD_MAX_BYTES);
	ck_assert_int_eq(fcgi_record_append(&b, append_rows[_i].type, 0x0203,
					    data, append_rows[_i].len),
			 EC_OK);
	ck_assert_uint_eq(b.len % 8, 0);
	n = fcgi_record_parse(b.data, b.len, &rec);
	ck_assert_int_eq(n, (long)b.len);
	ck_assert_uint_eq(rec.type, append_rows[_i].type);
	ck_assert_uint_eq(rec.request_id, 0x0203);
	ck_assert_uint_eq(rec.content_len, append_rows[_i].len);
	ck_assert_uint_eq(rec.padding_len,
			  fcgi_record_padding(append_rows[_i].len));
	ck_assert_int_eq(memcmp(rec.content, data, append_rows[_i].len), 0);
	buf_release(&b);
}
END_TEST

START_TEST(test_append_refuses)
{
	static unsigned char data[65536];
	struct buf b;

	buf_init(&b, 20);
	ck_assert_int_eq(buf_adds(&b, "keep"), EC_OK);
	ck_assert_int_eq(fcgi_record_append(&b, FCGI_STDIN, 1, data, 65536),
			 EC_TOO_LARGE);
	ck_assert_int_eq(fcgi_record_append(&b, FCGI_STDIN, 1, data, 9),
			 EC_TOO_LARGE); /* 8 + 9 + 7 > 20 - 4 */
	ck_assert_str_eq(buf_str(&b), "keep");
	buf_release(&b);
}
END_TEST

START_TEST(test_begin_bytes)
{
	const unsigned char want[16] = {1, FCGI_BEGIN_REQUEST, 0, 1, 0, 8, 0, 0,
					0, FCGI_RESPONDER,     1, 0, 0, 0, 0, 0};
	struct buf b;

	buf_init(&b, 64);
	ck_assert_int_eq(
	    fcgi_record_append_begin(&b, 1, FCGI_RESPONDER, FCGI_KEEP_CONN),
	    EC_OK);
	ck_assert_uint_eq(b.len, 16);
	ck_assert_mem_eq(b.data, want, 16);
	buf_release(&b);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fcgi_record");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_padding, 0,
			    sizeof(pad_rows) / sizeof(pad_rows[0]));
	tcase_add_test(tc, test_header_bytes);
	tcase_add_test(tc, test_end_bytes);
	tcase_add_loop_test(tc, test_stdout_split, 0,
			    sizeof(split_rows) / sizeof(split_rows[0]));
	tcase_add_test(tc, test_stdout_cap_leaves_buffer);
	tcase_add_loop_test(tc, test_parse_row, 0,
			    sizeof(parse_rows) / sizeof(parse_rows[0]));
	tcase_add_loop_test(tc, test_feed_chunked, 0, (int)sizeof(stream));
	tcase_add_test(tc, test_feed_stop);
	tcase_add_test(tc, test_feed_garbage);
	tcase_add_test(tc, test_feed_largest);
	tcase_add_loop_test(tc, test_param_row, 0,
			    (int)(sizeof(param_rows) / sizeof(param_rows[0])));
	tcase_add_test(tc, test_param_cap_leaves_buffer);
	tcase_add_loop_test(tc, test_append_row, 0,
			    (int)(sizeof(append_rows) / sizeof(append_rows[0])));
	tcase_add_test(tc, test_append_refuses);
	tcase_add_test(tc, test_begin_bytes);
	suite_add_tcase(s, tc);
	return fixture_run(s);
}
