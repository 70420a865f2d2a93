/* test_form.c -- form_parse(): decoding rows, errors, the field cap. */
#include "autoconfig.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "form.h"
#include "fixture.h"

#define MAX_EXPECT 4

struct form_row {
	const char *in;
	size_t len; /* 0: strlen(in) */
	enum ecode rc;
	size_t n;
	const char *fields[MAX_EXPECT][2];
};

static const struct form_row form_rows[] = {
	{"", 0, EC_OK, 0, {{0}}},
	{"a=1", 0, EC_OK, 1, {{"a", "1"}}},
	{"a=1&b=2", 0, EC_OK, 2, {{"a", "1"}, {"b", "2"}}},
	{"a=1&&b=2", 0, EC_OK, 2, {{"a", "1"}, {"b", "2"}}},
	{"&a=1&", 0, EC_OK, 1, {{"a", "1"}}},
	{"&&&", 0, EC_OK, 0, {{0}}},
	{"a", 0, EC_OK, 1, {{"a", ""}}},
	{"a&b=", 0, EC_OK, 2, {{"a", ""}, {"b", ""}}},
	{"=x", 0, EC_OK, 1, {{"", "x"}}},
	{"=", 0, EC_OK, 1, {{"", ""}}},
	{"a=b=c", 0, EC_OK, 1, {{"a", "b=c"}}},
	{"a+b=c+d", 0, EC_OK, 1, {{"a b", "c d"}}},
	{"x=%20%2B%25", 0, EC_OK, 1, {{"x", " +%"}}},
	{"x=%2b%2F", 0, EC_OK, 1, {{"x", "+/"}}},
	{"%61=%62", 0, EC_OK, 1, {{"a", "b"}}},
	{"x=%26%3D", 0, EC_OK, 1, {{"x", "&="}}},
	{"user=caf%C3%A9", 0, EC_OK, 1, {{"user", "caf\xc3\xa9"}}},
	{"user=caf\xc3\xa9", 0, EC_OK, 1, {{"user", "caf\xc3\xa9"}}},
	{"a=1&a=2", 0, EC_OK, 2, {{"a", "1"}, {"a", "2"}}},
	{"a=;b", 0, EC_OK, 1, {{"a", ";b"}}},
	{"a=%0A", 0, EC_OK, 1, {{"a", "\n"}}},

	{"a=%", 0, EC_INVALID_FORM, 0, {{0}}},
	{"a=%4", 0, EC_INVALID_FORM, 0, {{0}}},
	{"a=%zz", 0, EC_INVALID_FORM, 0, {{0}}},
	{"a=%4g", 0, EC_INVALID_FORM, 0, {{0}}},
	{"%=1", 0, EC_INVALID_FORM, 0, {{0}}},
	{"ok=1&a=%G0", 0, EC_INVALID_FORM, 0, {{0}}},
	{"a=%00", 0, EC_INVALID_FORM, 0, {{0}}},
	{"%00=a", 0, EC_INVALID_FORM, 0, {{0}}},
	{"a=x\0y", 5, EC_INVALID_FORM, 0, {{0}}},
	{"a=%ff", 0, EC_INVALID_UTF8, 0, {{0}}},
	{"a=%C0%AF", 0, EC_INVALID_UTF8, 0, {{0}}},
	{"a=%ED%A0%80", 0, EC_INVALID_UTF8, 0, {{0}}},
	{"a=%C3", 0, EC_INVALID_UTF8, 0, {{0}}},
	{"%C3=1", 0, EC_INVALID_UTF8, 0, {{0}}},
	{"a=\xff", 0, EC_INVALID_UTF8, 0, {{0}}},
	{"ok=1&b=%e9", 0, EC_INVALID_UTF8, 0, {{0}}},
};

#define N_FORM_ROWS (sizeof(form_rows) / sizeof(form_rows[0]))

START_TEST(test_form_rows)
{
	const struct form_row *r = &form_rows[_i];
	size_t len = r->len ? r->len : strlen(r->in);
	struct request_param *p = (void *)1;
	size_t n = 99, k;
	enum ecode rc;

	rc = form_parse(r->in, len, &p, &n);
	ck_assert_msg(rc == r->rc, "\"%s\": rc %d, want %d", r->in, rc, r->rc);
	ck_assert_uint_eq(n, r->n);
	if (n == 0)
		ck_assert_ptr_null(p);
	for (k = 0; k < n; k++) {
		ck_assert_str_eq(p[k].name, r->fields[k][0]);
		ck_assert_str_eq(p[k].value, r->fields[k][1]);
	}
	form_free(p, n);
}
END_TEST

/* Exactly FORM_MAX_FIELDS fields pass; one more is refused. */
START_TEST(test_form_cap)
{
	struct buf b;
	struct request_param *p;
	size_t n, i;

	buf_init(&b, 4096);
	for (i = 0; i < FORM_MAX_FIELDS; i++)
		ck_assert_int_eq(buf_printf(&b, "%sf%zu=%zu", i ? "&" : "", i,
					    i),
				 EC_OK);
	ck_assert_int_eq(form_parse(buf_str(&b), b.len, &p, &n), EC_OK);
	ck_assert_uint_eq(n, FORM_MAX_FIELDS);
	ck_assert_str_eq(p[FORM_MAX_FIELDS - 1].name, "f63");
	form_free(p, n);

	/* Empty fields do not count towards the cap. */
	ck_assert_int_eq(buf_adds(&b, "&&&"), EC_OK);
	ck_assert_int_eq(form_parse(buf_str(&b), b.len, &p, &n), EC_OK);
	ck_assert_uint_eq(n, FORM_MAX_FIELDS);
	form_free(p, n);

	ck_assert_int_eq(buf_adds(&b, "x=1"), EC_OK);
	ck_assert_int_eq(form_parse(buf_str(&b), b.len, &p, &n),
			 EC_INVALID_FORM);
	ck_assert_ptr_null(p);
	ck_assert_uint_eq(n, 0);
	buf_release(&b);
}
END_TEST

/* The length bounds the input: a string need not be NUL-terminated. */
START_TEST(test_form_len)
{
	struct request_param *p;
	size_t n;

	ck_assert_int_eq(form_parse("a=12345", 4, &p, &n), EC_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(p[0].value, "12");
	form_free(p, n);
	/* "%4" cut from "%41": a bad escape at the boundary. */
	ck_assert_int_eq(form_parse("a=%41", 4, &p, &n), EC_INVALID_FORM);
}
END_TEST

START_TEST(test_form_find)
{
	struct request_param *p;
	size_t n;

	ck_assert_int_eq(form_parse("a=1&b=2&a=3", 11, &p, &n), EC_OK);
	ck_assert_str_eq(form_find(p, n, "a"), "1");
	ck_assert_str_eq(form_find(p, n, "b"), "2");
	ck_assert_ptr_null(form_find(p, n, "c"));
	ck_assert_ptr_null(form_find(p, n, "A"));
	form_free(p, n);
	ck_assert_ptr_null(form_find(NULL, 0, "a"));
	form_free(NULL, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("form");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_form_rows, 0, (int)N_FORM_ROWS);
	tcase_add_test(tc, test_form_cap);
	tcase_add_test(tc, test_form_len);
	tcase_add_test(tc, test_form_find);
	suite_add_tcase(s, tc);
	return fixture_run(s);
}
