/* test_eio.c -- Engine.IO v4 payloads (eio.h) and Socket.IO v5 packets
 * (sio.h): exact bytes, from the examples of the two protocol documents
 * (socket.io repository, docs/engine.io-protocol/v4-current.md and
 * docs/socket.io-protocol/v5-current.md). */
#include "autoconfig.h"

#include <check.h>
#include <string.h>

#include "buf.h"
#include "eio.h"
#include "fixture.h"
#include "sio.h"

struct collected {
	char types[16];
	char data[16][32];
	bool binary[16];
	int n;
};

static enum ecode collect(void *ctx, const struct eio_packet *p)
{
	struct collected *c = ctx;

	ck_assert_int_lt(c->n, 16);
	c->types[c->n] = p->type;
	c->binary[c->n] = p->binary;
	ck_assert_uint_lt(p->len, 32);
	memcpy(c->data[c->n], p->data, p->len);
	c->data[c->n][p->len] = '\0';
	c->n++;
	return EC_OK;
}

START_TEST(test_payload_split)
{
	struct collected c = { 0 };
	const char *in = "4hello\x1e"
			 "2\x1e"
			 "bAQIDBA==\x1e"
			 "3";

	ck_assert_int_eq(eio_payload_parse(in, strlen(in), collect, &c), EC_OK);
	ck_assert_int_eq(c.n, 4);
	ck_assert_int_eq(c.types[0], EIO_MESSAGE);
	ck_assert_str_eq(c.data[0], "hello");
	ck_assert_int_eq(c.types[1], EIO_PING);
	ck_assert_str_eq(c.data[1], "");
	ck_assert_int_eq(c.types[2], EIO_MESSAGE);
	ck_assert(c.binary[2]);
	ck_assert_str_eq(c.data[2], "AQIDBA==");
	ck_assert_int_eq(c.types[3], EIO_PONG);
}
END_TEST

static const char *const bad_payloads[] = {
	"",
	"abc",
	"4hello\x1e",
	"\x1e"
	"2",
	"7",
	"bAQI",
	"bAQ=D",
	"b====",
	"4a\x1e",
	"2\x1e\x1e"
	"3",
};

START_TEST(test_payload_bad)
{
	struct collected c = { 0 };
	const char *in = bad_payloads[_i];

	/* Checked whole first: no packet reaches the callback. */
	ck_assert_int_eq(eio_payload_parse(in, strlen(in), collect, &c),
			 EC_INVALID_PARAM);
	ck_assert_int_eq(c.n, 0);
}
END_TEST

START_TEST(test_payload_build)
{
	struct buf b;

	buf_init(&b, 4096);
	ck_assert_int_eq(eio_open_packet(&b, "lv_VI97HAXpY6yYWAAAC", 25000,
					 20000, 1000000),
			 EC_OK);
	ck_assert_str_eq(buf_str(&b),
			 "0{\"sid\":\"lv_VI97HAXpY6yYWAAAC\",\"upgrades\":[],"
			 "\"pingInterval\":25000,\"pingTimeout\":20000,"
			 "\"maxPayload\":1000000}");
	buf_reset(&b);
	ck_assert_int_eq(eio_payload_add(&b, "2", 1), EC_OK);
	ck_assert_int_eq(eio_payload_add(&b, "4hi", 3), EC_OK);
	ck_assert_str_eq(buf_str(&b), "2\x1e"
				      "4hi");
	buf_reset(&b);
	ck_assert_int_eq(eio_error_json(&b, EIO_ERR_SID), EC_OK);
	ck_assert_str_eq(buf_str(&b),
			 "{\"code\":1,\"message\":\"Session ID unknown\"}");
	buf_reset(&b);
	ck_assert_int_eq(eio_error_json(&b, EIO_ERR_VERSION), EC_OK);
	ck_assert_str_eq(buf_str(&b), "{\"code\":5,\"message\":"
				      "\"Unsupported protocol version\"}");
	buf_release(&b);
	ck_assert(eio_sid_valid("abc-_XYZ09"));
	ck_assert(!eio_sid_valid(""));
	ck_assert(!eio_sid_valid("a b"));
	ck_assert(!eio_sid_valid("123456789012345678901234567890123"));
}
END_TEST

struct sio_row {
	const char *in;
	enum ecode rc;
	int type;
	const char *nsp;
	long long ack;
	const char *data;
};

static const struct sio_row sio_rows[] = {
	{ "0", EC_OK, SIO_CONNECT, "/", -1, NULL },
	{ "0/admin,", EC_OK, SIO_CONNECT, "/admin", -1, NULL },
	{ "0{\"token\":\"123\"}", EC_OK, SIO_CONNECT, "/", -1,
	  "{\"token\":\"123\"}" },
	{ "1/admin,", EC_OK, SIO_DISCONNECT, "/admin", -1, NULL },
	{ "2[\"foo\"]", EC_OK, SIO_EVENT, "/", -1, "[\"foo\"]" },
	{ "2/admin,[\"bar\"]", EC_OK, SIO_EVENT, "/admin", -1, "[\"bar\"]" },
	{ "212[\"foo\"]", EC_OK, SIO_EVENT, "/", 12, "[\"foo\"]" },
	{ "3/admin,13[\"bar\"]", EC_OK, SIO_ACK, "/admin", 13, "[\"bar\"]" },
	{ "51-[\"baz\",{\"_placeholder\":true,\"num\":0}]", EC_OK,
	  SIO_BINARY_EVENT, "/", -1,
	  "[\"baz\",{\"_placeholder\":true,\"num\":0}]" },
	{ "", EC_INVALID_PARAM, 0, NULL, 0, NULL },
	{ "7", EC_INVALID_PARAM, 0, NULL, 0, NULL },
	{ "0/admin", EC_OK, SIO_CONNECT, "/admin", -1, NULL },
	{ "5[\"x\"]", EC_INVALID_PARAM, 0, NULL, 0, NULL },
	{ "299999999999[]", EC_INVALID_PARAM, 0, NULL, 0, NULL },
};

START_TEST(test_sio_parse)
{
	const struct sio_row *r = &sio_rows[_i];
	struct sio_packet p;

	ck_assert_int_eq(sio_parse(r->in, strlen(r->in), &p), r->rc);
	if (r->rc != EC_OK)
		return;
	ck_assert_int_eq(p.type, r->type);
	ck_assert_uint_eq(p.nsp_len, strlen(r->nsp));
	ck_assert(memcmp(p.nsp, r->nsp, p.nsp_len) == 0);
	ck_assert_int_eq(p.ack_id, r->ack);
	if (!r->data) {
		ck_assert_ptr_null(p.data);
	} else {
		ck_assert_uint_eq(p.data_len, strlen(r->data));
		ck_assert(memcmp(p.data, r->data, p.data_len) == 0);
	}
}
END_TEST

START_TEST(test_sio_build)
{
	struct buf b;

	buf_init(&b, 4096);
	ck_assert_int_eq(sio_connect_ok(&b, "abc", "def"), EC_OK);
	ck_assert_str_eq(buf_str(&b), "0{\"sid\":\"abc\",\"pid\":\"def\"}");
	buf_reset(&b);
	ck_assert_int_eq(sio_connect_error(&b, NULL, 0, "unauthorized"), EC_OK);
	ck_assert_str_eq(buf_str(&b), "4{\"message\":\"unauthorized\"}");
	buf_reset(&b);
	ck_assert_int_eq(sio_connect_error(&b, "/x", 2, "Invalid namespace"),
			 EC_OK);
	ck_assert_str_eq(buf_str(&b),
			 "4/x,{\"message\":\"Invalid namespace\"}");
	buf_reset(&b);
	ck_assert_int_eq(sio_event(&b, 42, "a \"b\"", "{\"x\":1}"), EC_OK);
	ck_assert_str_eq(buf_str(&b), "2[\"a \\\"b\\\"\",{\"x\":1},\"42\"]");
	buf_reset(&b);
	ck_assert_int_eq(sio_ack(&b, 7, "{\"id\":3}"), EC_OK);
	ck_assert_str_eq(buf_str(&b), "37[{\"id\":3}]");
	buf_release(&b);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("eio");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_payload_split);
	tcase_add_loop_test(tc, test_payload_bad, 0,
			    sizeof(bad_payloads) / sizeof(bad_payloads[0]));
	tcase_add_test(tc, test_payload_build);
	tcase_add_loop_test(tc, test_sio_parse, 0,
			    sizeof(sio_rows) / sizeof(sio_rows[0]));
	tcase_add_test(tc, test_sio_build);
	suite_add_tcase(s, tc);
	return fixture_run(s);
}
