/* test_auth.c -- usernames, passwords, yescrypt hashes and session ids. */
#include "autoconfig.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "log.h"
#include "fixture.h"

static const struct name_row {
	const char *name;
	enum ecode want;
} name_rows[] = {
	{ "", EC_INVALID_USERNAME },                      /* 0 chars */
	{ "a", EC_OK },                                   /* 1 */
	{ "abcdefghijklmnopqrstuvwxyz012345", EC_OK },    /* 32 */
	{ "abcdefghijklmnopqrstuvwxyz0123456", EC_INVALID_USERNAME }, /* 33 */
	{ "A.b-c_D9", EC_OK },
	{ "...", EC_OK },
	{ "al ice", EC_INVALID_USERNAME },
	{ "al/ice", EC_INVALID_USERNAME },
	{ "alice\n", EC_INVALID_USERNAME },
	{ "al@ice", EC_INVALID_USERNAME },
	{ "al+ice", EC_INVALID_USERNAME },
	{ "\xc3\xa9t\xc3\xa9", EC_INVALID_USERNAME },     /* UTF-8 letters */
	{ "al\"ice", EC_INVALID_USERNAME },
	{ NULL, EC_INVALID_USERNAME },
};

START_TEST(test_username)
{
	const struct name_row *r = &name_rows[_i];

	ck_assert_msg(auth_check_username(r->name) == r->want, "row %d: '%s'",
		      _i, r->name ? r->name : "(null)");
}
END_TEST

static char long_pw[300];

static const struct pw_row {
	size_t offset; /* into long_pw, or SIZE_MAX for `text` */
	const char *text;
	size_t len;
	enum ecode want;
} pw_rows[] = {
	{ 0, NULL, 7, EC_INVALID_PASSWORD },
	{ 0, NULL, 8, EC_OK },
	{ 0, NULL, 256, EC_OK },
	{ 0, NULL, 257, EC_INVALID_PASSWORD },
	{ 0, NULL, 0, EC_INVALID_PASSWORD },
	{ SIZE_MAX, "pass\0word!", 10, EC_INVALID_PASSWORD },   /* NUL */
	{ SIZE_MAX, "password\0", 9, EC_INVALID_PASSWORD },     /* NUL last */
	{ SIZE_MAX, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 8, EC_OK }, /* bytes */
	{ SIZE_MAX, "        ", 8, EC_OK },
};

START_TEST(test_password)
{
	const struct pw_row *r = &pw_rows[_i];
	const char *p;

	memset(long_pw, 'x', sizeof(long_pw));
	p = r->offset == SIZE_MAX ? r->text : long_pw + r->offset;
	ck_assert_msg(auth_check_password(p, r->len) == r->want, "row %d", _i);
	ck_assert_int_eq(auth_check_password(NULL, 8), EC_INVALID_PASSWORD);
}
END_TEST

START_TEST(test_hash_verify)
{
	char h1[AUTH_HASH_MAX + 1], h2[AUTH_HASH_MAX + 1], small[20];
	bool ok;

	ck_assert_int_eq(auth_hash_password("correct horse", h1, sizeof(h1)),
			 EC_OK);
	ck_assert_int_eq(strncmp(h1, "$y$", 3), 0);
	ck_assert_int_gt(strlen(h1), 40);
	ck_assert_int_eq(auth_hash_password("correct horse", h2, sizeof(h2)),
			 EC_OK);
	ck_assert_str_ne(h1, h2); /* salted */

	ok = false;
	ck_assert_int_eq(auth_verify_password("correct horse", h1, &ok), EC_OK);
	ck_assert(ok);
	ok = false;
	ck_assert_int_eq(auth_verify_password("correct horse", h2, &ok), EC_OK);
	ck_assert(ok);
	ok = true;
	ck_assert_int_eq(auth_verify_password("correct horsE", h1, &ok), EC_OK);
	ck_assert(!ok);
	ok = true;
	ck_assert_int_eq(auth_verify_password("correct hors", h1, &ok), EC_OK);
	ck_assert(!ok);

	/* malformed hashes never match */
	ok = true;
	ck_assert_int_eq(auth_verify_password("correct horse", "*0", &ok),
			 EC_OK);
	ck_assert(!ok);
	ok = true;
	ck_assert_int_eq(auth_verify_password("correct horse", "", &ok), EC_OK);
	ck_assert(!ok);
	ok = true;
	ck_assert_int_eq(auth_verify_password("correct horse", "$y$garbage",
					      &ok), EC_OK);
	ck_assert(!ok);
	ok = true;
	h1[strlen(h1) - 1] ^= 1; /* one bit of the hash */
	ck_assert_int_eq(auth_verify_password("correct horse", h1, &ok), EC_OK);
	ck_assert(!ok);

	ck_assert_int_eq(auth_hash_password("correct horse", small,
					    sizeof(small)), EC_TOO_LARGE);
	auth_verify_dummy("correct horse");
	auth_verify_dummy(NULL);
}
END_TEST

static bool is_sid(const char *s)
{
	if (strlen(s) != AUTH_SID_HEX_LEN)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

START_TEST(test_sid)
{
	char a[AUTH_SID_HEX_LEN + 1], b[AUTH_SID_HEX_LEN + 1];

	ck_assert_int_eq(auth_new_sid(a), EC_OK);
	ck_assert_int_eq(auth_new_sid(b), EC_OK);
	ck_assert_msg(is_sid(a), "%s", a);
	ck_assert_msg(is_sid(b), "%s", b);
	ck_assert_str_ne(a, b);
	ck_assert(!is_sid("0123456789ABCDEF0123456789abcdef"
			  "0123456789abcdef0123456789abcdef"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("auth");
	TCase *tc = tcase_create("core");

	log_set_level(LOG_LEVEL_ERROR);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_username, 0,
			    (int)(sizeof(name_rows) / sizeof(name_rows[0])));
	tcase_add_loop_test(tc, test_password, 0,
			    (int)(sizeof(pw_rows) / sizeof(pw_rows[0])));
	tcase_add_test(tc, test_hash_verify);
	tcase_add_test(tc, test_sid);
	suite_add_tcase(s, tc);
	return fixture_run(s);
}
