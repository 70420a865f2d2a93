/* test_utf8.c -- utf8_valid() against the RFC 3629 table, row by row. */
#include "autoconfig.h"
#include "fixture.h"

#include <check.h>
#include <stdbool.h>
#include <string.h>

#include "utf8.h"

struct utf8_row {
	const char *what;
	const char *s;
	size_t len; /* 0: strlen(s) */
	bool valid;
};

static const struct utf8_row utf8_rows[] = {
	{"empty", "", 0, true},
	{"ascii", "hello, world", 0, true},
	{"NUL byte", "a\0b", 3, true},
	{"DEL", "\x7f", 0, true},
	{"2-byte min U+0080", "\xc2\x80", 0, true},
	{"2-byte max U+07FF", "\xdf\xbf", 0, true},
	{"e-acute", "caf\xc3\xa9", 0, true},
	{"3-byte min U+0800", "\xe0\xa0\x80", 0, true},
	{"U+D7FF below surrogates", "\xed\x9f\xbf", 0, true},
	{"U+E000 above surrogates", "\xee\x80\x80", 0, true},
	{"U+FFFD", "\xef\xbf\xbd", 0, true},
	{"U+FFFF", "\xef\xbf\xbf", 0, true},
	{"4-byte min U+10000", "\xf0\x90\x80\x80", 0, true},
	{"emoji U+1F600", "\xf0\x9f\x98\x80", 0, true},
	{"max U+10FFFF", "\xf4\x8f\xbf\xbf", 0, true},
	{"mixed", "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z", 0, true},

	{"lone continuation 80", "\x80", 0, false},
	{"lone continuation BF", "a\xbf", 0, false},
	{"overlong C0 80 (NUL)", "\xc0\x80", 0, false},
	{"overlong C1 BF", "\xc1\xbf", 0, false},
	{"overlong E0 80 80", "\xe0\x80\x80", 0, false},
	{"overlong E0 9F BF", "\xe0\x9f\xbf", 0, false},
	{"overlong F0 80 80 80", "\xf0\x80\x80\x80", 0, false},
	{"overlong F0 8F BF BF", "\xf0\x8f\xbf\xbf", 0, false},
	{"overlong slash C0 AF", "\xc0\xaf", 0, false},
	{"surrogate D800", "\xed\xa0\x80", 0, false},
	{"surrogate DFFF", "\xed\xbf\xbf", 0, false},
	{"surrogate pair CESU", "\xed\xa0\xbd\xed\xb8\x80", 0, false},
	{"U+110000", "\xf4\x90\x80\x80", 0, false},
	{"F5 lead", "\xf5\x80\x80\x80", 0, false},
	{"F8 5-byte form", "\xf8\x88\x80\x80\x80", 0, false},
	{"FE", "\xfe", 0, false},
	{"FF", "\xff", 0, false},
	{"truncated 2-byte", "\xc3", 0, false},
	{"truncated 3-byte", "\xe2\x82", 0, false},
	{"truncated 4-byte", "\xf0\x9f\x98", 0, false},
	{"truncated then ascii", "\xe2\x82z", 0, false},
	{"bad second continuation", "\xe2\x28\xa1", 0, false},
	{"bad third continuation", "\xf0\x9f\x98\x28", 0, false},
	{"latin-1 e-acute", "caf\xe9", 0, false},
	{"valid then invalid at end", "ok\xc3\xa9\xc3", 0, false},
};

#define N_UTF8_ROWS (sizeof(utf8_rows) / sizeof(utf8_rows[0]))

START_TEST(test_utf8_rows)
{
	const struct utf8_row *r = &utf8_rows[_i];
	size_t len = r->len ? r->len : strlen(r->s);

	ck_assert_msg(utf8_valid(r->s, len) == r->valid, "%s: expected %s",
		      r->what, r->valid ? "valid" : "invalid");
}
END_TEST

/* The length is honoured: bytes past len are not looked at. */
START_TEST(test_utf8_len_bound)
{
	ck_assert(utf8_valid("ab\xff", 2));
	ck_assert(!utf8_valid("ab\xff", 3));
	/* A sequence that would be complete past len is truncated. */
	ck_assert(!utf8_valid("\xc3\xa9", 1));
	ck_assert(utf8_valid("\xc3\xa9", 0));
}
END_TEST

/* Every 2-byte lead/continuation pair, checked against the RFC's ranges. */
START_TEST(test_utf8_all_two_byte)
{
	unsigned a, b;

	for (a = 0x80; a <= 0xff; a++) {
		for (b = 0; b <= 0xff; b++) {
			char s[2] = {(char)a, (char)b};
			bool want = a >= 0xc2 && a <= 0xdf && b >= 0x80 &&
				    b <= 0xbf;

			ck_assert_msg(utf8_valid(s, 2) == want, "%02x %02x",
				      a, b);
		}
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("utf8");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_utf8_rows, 0, (int)N_UTF8_ROWS);
	tcase_add_test(tc, test_utf8_len_bound);
	tcase_add_test(tc, test_utf8_all_two_byte);
	suite_add_tcase(s, tc);
	return fixture_run(s);
}
