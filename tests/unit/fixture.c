/* fixture.c -- temporary directories and databases (see fixture.h). */
#include "autoconfig.h"

#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "log.h"
#include "store.h"

static char fixture_base[64];
char fixture_dir[128];
char fixture_db[160];

static int fixture_remove_cb(const char *path, const struct stat *sb, int flag,
			     struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path) == 0 ? 0 : -1;
}

static void fixture_remove_tree(const char *dir)
{
	(void)nftw(dir, fixture_remove_cb, 8, FTW_DEPTH | FTW_PHYS);
}

int fixture_begin(const char *name)
{
	snprintf(fixture_base, sizeof(fixture_base), "/tmp/emitcgi-%s-XXXXXX",
		 name);
	if (!mkdtemp(fixture_base)) {
		perror("mkdtemp");
		return -1;
	}
	return 0;
}

void fixture_end(void)
{
	if (fixture_base[0])
		fixture_remove_tree(fixture_base);
}

int fixture_run(Suite *s)
{
	SRunner *sr = srunner_create(s);

	srunner_set_tap(sr, "-");
	srunner_run_all(sr, CK_SILENT);
	srunner_free(sr);
	fixture_end();
	return 0;
}

void fixture_setup(void)
{
	snprintf(fixture_dir, sizeof(fixture_dir), "%s/t-XXXXXX", fixture_base);
	ck_assert_ptr_nonnull(mkdtemp(fixture_dir));
	snprintf(fixture_db, sizeof(fixture_db), "%s/test.db", fixture_dir);
	log_set_level(LOG_LEVEL_ERROR);
}

void fixture_teardown(void)
{
	fixture_remove_tree(fixture_dir);
}

long fixture_read_body(void *io, char *data, size_t len)
{
	struct fixture_body *b = io;
	size_t n = b->len - b->off;

	if (n > len)
		n = len;
	memcpy(data, b->data + b->off, n);
	b->off += n;
	return (long)n;
}

struct store *fixture_store(void)
{
	struct store *st = NULL;

	ck_assert_int_eq(store_migrate(fixture_db, NULL, NULL), EC_OK);
	ck_assert_int_eq(store_open(fixture_db, &st), EC_OK);
	return st;
}
