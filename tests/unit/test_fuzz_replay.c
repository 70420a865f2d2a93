/* test_fuzz_replay.c -- every file of tests/fuzz/corpus/X/ through
 * fuzz_X_one(), one test per directory.
 *
 * The fuzz targets abort() on a broken invariant and the build runs this
 * under ASan/UBSan, so a crash found once by libFuzzer and saved to the
 * corpus stays fixed.  FUZZ_CORPUS_DIR comes from Makefile.am.  A directory
 * without seed files fails: an empty replay would test nothing.
 */
#include "autoconfig.h"
#include "fixture.h"

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../fuzz/fuzz.h"

#ifndef FUZZ_CORPUS_DIR
#error "FUZZ_CORPUS_DIR must name tests/fuzz/corpus"
#endif

/* libFuzzer's default -max_len is far below this; a seed past it is a
 * mistake. */
#define REPLAY_MAX_BYTES (1u << 20)

struct replay_row {
	const char *dir;
	int (*one)(const uint8_t *data, size_t size);
};

static const struct replay_row replay_rows[] = {
	{"request", fuzz_request_one},
	{"form", fuzz_form_one},
	{"fcgi_record", fuzz_fcgi_record_one},
	{"fcgi_params", fuzz_fcgi_params_one},
	{"eio", fuzz_eio_one},
};

#define N_REPLAY_ROWS (sizeof(replay_rows) / sizeof(replay_rows[0]))

/* Reads a whole file into a malloc'd buffer (never NULL on success). */
static unsigned char *replay_read(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *data;
	size_t n;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	data = malloc(REPLAY_MAX_BYTES + 1);
	ck_assert_ptr_nonnull(data);
	n = fread(data, 1, REPLAY_MAX_BYTES + 1, f);
	ck_assert_msg(!ferror(f), "cannot read %s", path);
	ck_assert_msg(n <= REPLAY_MAX_BYTES, "%s: larger than %u bytes", path,
		      REPLAY_MAX_BYTES);
	ck_assert_int_eq(fclose(f), 0);
	*len = n;
	return data;
}

START_TEST(test_replay)
{
	const struct replay_row *r = &replay_rows[_i];
	char dir[4096], path[4096 + 256];
	struct dirent *de;
	size_t files = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/%s", FUZZ_CORPUS_DIR, r->dir);
	d = opendir(dir);
	ck_assert_msg(d != NULL, "cannot open %s", dir);
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		unsigned char *data;
		size_t len;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		ck_assert_int_eq(stat(path, &st), 0);
		if (!S_ISREG(st.st_mode))
			continue;
		data = replay_read(path, &len);
		ck_assert_msg(r->one(data, len) == 0, "%s", path);
		free(data);
		files++;
	}
	ck_assert_int_eq(closedir(d), 0);
	ck_assert_msg(files > 0, "%s: no seed files", dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fuzz_replay");
	TCase *tc = tcase_create("corpus");

	tcase_add_loop_test(tc, test_replay, 0, (int)N_REPLAY_ROWS);
	/* The corpus may grow; replaying it must not hit Check's 4 s. */
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	return fixture_run(s);
}
