/* test_buf.c -- the capped buffer: growth, caps, consume, detach. */
#include "autoconfig.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fixture.h"

START_TEST(test_buf_grows_and_terminates)
{
	struct buf b;

	buf_init(&b, 1 << 20);
	ck_assert_str_eq(buf_str(&b), "");
	for (int i = 0; i < 1000; i++)
		ck_assert_int_eq(buf_adds(&b, "abc"), EC_OK);
	ck_assert_uint_eq(b.len, 3000);
	ck_assert_int_eq(b.data[b.len], '\0');
	ck_assert_int_eq(buf_printf(&b, "%d-%s", 42, "x"), EC_OK);
	ck_assert_str_eq(buf_str(&b) + 3000, "42-x");
	buf_release(&b);
	ck_assert_ptr_null(b.data);
}
END_TEST

START_TEST(test_buf_cap_refuses_and_keeps_contents)
{
	struct buf b;

	buf_init(&b, 8);
	ck_assert_int_eq(buf_adds(&b, "12345678"), EC_OK);
	ck_assert_int_eq(buf_addc(&b, '9'), EC_TOO_LARGE);
	ck_assert_int_eq(buf_printf(&b, "%s", "x"), EC_TOO_LARGE);
	ck_assert_str_eq(buf_str(&b), "12345678");
	buf_reset(&b);
	ck_assert_int_eq(buf_printf(&b, "%s", "123456789"), EC_TOO_LARGE);
	ck_assert_uint_eq(b.len, 0);
	buf_release(&b);
}
END_TEST

START_TEST(test_buf_consume_and_detach)
{
	struct buf b;
	size_t len;
	char *p;

	buf_init(&b, 100);
	buf_add(&b, "hello world", 11);
	buf_consume(&b, 6);
	ck_assert_str_eq(buf_str(&b), "world");
	buf_consume(&b, 99);
	ck_assert_uint_eq(b.len, 0);
	buf_adds(&b, "kept");
	p = buf_detach(&b, &len);
	ck_assert_uint_eq(len, 4);
	ck_assert_str_eq(p, "kept");
	ck_assert_ptr_null(b.data);
	free(p);
	ck_assert_ptr_null(buf_detach(&b, &len));
	ck_assert_uint_eq(len, 0);
}
END_TEST

START_TEST(test_buf_binary_data)
{
	struct buf b;

	buf_init(&b, 16);
	ck_assert_int_eq(buf_add(&b, "a\0b", 3), EC_OK);
	ck_assert_uint_eq(b.len, 3);
	ck_assert_int_eq(memcmp(b.data, "a\0b", 3), 0);
	buf_release(&b);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("buf");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_buf_grows_and_terminates);
	tcase_add_test(tc, test_buf_cap_refuses_and_keeps_contents);
	tcase_add_test(tc, test_buf_consume_and_detach);
	tcase_add_test(tc, test_buf_binary_data);
	suite_add_tcase(s, tc);
	return fixture_run(s);
}
