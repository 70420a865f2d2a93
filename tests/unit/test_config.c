/* test_config.c -- EMITCGI_* parsing: defaults, ranges, one-line errors. */
#include "autoconfig.h"

#include <check.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "fixture.h"

/* The fake environment: at most one variable set per row. */
static const char *fake_name, *fake_value;

static const char *fake_getenv(const char *name)
{
	return fake_name && strcmp(name, fake_name) == 0 ? fake_value : NULL;
}

START_TEST(test_config_defaults)
{
	struct config cfg;
	char msg[256] = "";

	fake_name = NULL;
	ck_assert_int_eq(config_load(&cfg, fake_getenv, msg, sizeof(msg)), EC_OK);
	ck_assert_str_eq(cfg.base, "/api");
	ck_assert_int_eq(cfg.presence_timeout_s, 60);
	ck_assert_int_eq(cfg.poll_timeout_s, 25);
	ck_assert_int_eq(cfg.heartbeat_s, 15);
	ck_assert_int_eq(cfg.stream_max_s, 600);
	ck_assert_int_eq(cfg.retention, 10000);
	ck_assert_int_eq(cfg.log_level, LOG_LEVEL_INFO);
	ck_assert_int_eq(cfg.fcc_testing, 0);
	ck_assert_str_eq(cfg.sio_path, "/socket.io");
	ck_assert_int_eq(cfg.sio_ping_interval_ms, 25000);
	ck_assert_int_eq(cfg.sio_ping_timeout_ms, 20000);
	ck_assert_int_eq(cfg.sio_max_payload, 1000000);
	ck_assert_str_eq(cfg.db_path, config_default_db());
}
END_TEST

static const struct {
	const char *name, *value;
	enum ecode rc;
	const char *msg; /* expected message, for errors */
} config_rows[] = {
	{ "EMITCGI_POLL_TIMEOUT", "90", EC_CONFIG, "EMITCGI_POLL_TIMEOUT=90: must be 1..60" },
	{ "EMITCGI_POLL_TIMEOUT", "0", EC_CONFIG, "EMITCGI_POLL_TIMEOUT=0: must be 1..60" },
	{ "EMITCGI_POLL_TIMEOUT", "60", EC_OK, NULL },
	{ "EMITCGI_POLL_TIMEOUT", "1", EC_OK, NULL },
	{ "EMITCGI_POLL_TIMEOUT", "-5", EC_CONFIG, "EMITCGI_POLL_TIMEOUT=-5: must be 1..60" },
	{ "EMITCGI_POLL_TIMEOUT", "25s", EC_CONFIG, "EMITCGI_POLL_TIMEOUT=25s: must be 1..60" },
	{ "EMITCGI_POLL_TIMEOUT", "", EC_CONFIG, "EMITCGI_POLL_TIMEOUT=: must be 1..60" },
	{ "EMITCGI_HEARTBEAT", "99999999999999999999", EC_CONFIG, NULL },
	{ "EMITCGI_PRESENCE_TIMEOUT", "2", EC_OK, NULL },
	{ "EMITCGI_RETENTION", "0", EC_CONFIG, "EMITCGI_RETENTION=0: must be 1..100000000" },
	{ "EMITCGI_LOG_LEVEL", "debug", EC_OK, NULL },
	{ "EMITCGI_LOG_LEVEL", "loud", EC_CONFIG, "EMITCGI_LOG_LEVEL=loud: must be error, warn, info or debug" },
	{ "EMITCGI_BASE", "/", EC_OK, NULL },
	{ "EMITCGI_BASE", "/emit/api", EC_OK, NULL },
	{ "EMITCGI_BASE", "/api/", EC_CONFIG, NULL },
	{ "EMITCGI_BASE", "api", EC_CONFIG, NULL },
	{ "EMITCGI_DB", "", EC_CONFIG, "EMITCGI_DB=: must be a file path" },
	{ "EMITCGI_FCC_TESTING", "2", EC_CONFIG, NULL },
	{ "EMITCGI_SIO_PATH", "/io", EC_OK, NULL },
	{ "EMITCGI_SIO_PATH", "/", EC_CONFIG, "EMITCGI_SIO_PATH=/: must be a path like /socket.io (no trailing slash)" },
	{ "EMITCGI_SIO_PATH", "/socket.io/", EC_CONFIG, NULL },
	{ "EMITCGI_SIO_PATH", "socket.io", EC_CONFIG, NULL },
	{ "EMITCGI_SIO_PING_INTERVAL", "300", EC_OK, NULL },
	{ "EMITCGI_SIO_PING_INTERVAL", "10", EC_CONFIG, "EMITCGI_SIO_PING_INTERVAL=10: must be 50..3600000" },
	{ "EMITCGI_SIO_PING_TIMEOUT", "200", EC_OK, NULL },
	{ "EMITCGI_SIO_PING_TIMEOUT", "x", EC_CONFIG, "EMITCGI_SIO_PING_TIMEOUT=x: must be 50..3600000" },
	{ "EMITCGI_SIO_MAX_PAYLOAD", "2000000", EC_CONFIG, "EMITCGI_SIO_MAX_PAYLOAD=2000000: must be 64..1048576" },
};

START_TEST(test_config_rows)
{
	struct config cfg;
	char msg[256] = "";

	fake_name = config_rows[_i].name;
	fake_value = config_rows[_i].value;
	ck_assert_int_eq(config_load(&cfg, fake_getenv, msg, sizeof(msg)),
			 config_rows[_i].rc);
	if (config_rows[_i].msg)
		ck_assert_str_eq(msg, config_rows[_i].msg);
}
END_TEST

START_TEST(test_config_values_land)
{
	struct config cfg;
	char msg[256];

	fake_name = "EMITCGI_BASE";
	fake_value = "/";
	ck_assert_int_eq(config_load(&cfg, fake_getenv, msg, sizeof(msg)), EC_OK);
	ck_assert_str_eq(cfg.base, "");
	fake_name = "EMITCGI_RETENTION";
	fake_value = "123";
	ck_assert_int_eq(config_load(&cfg, fake_getenv, msg, sizeof(msg)), EC_OK);
	ck_assert_int_eq(cfg.retention, 123);
	fake_name = "EMITCGI_DB";
	fake_value = "/tmp/x.db";
	ck_assert_int_eq(config_load(&cfg, fake_getenv, msg, sizeof(msg)), EC_OK);
	ck_assert_str_eq(cfg.db_path, "/tmp/x.db");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_config_defaults);
	tcase_add_loop_test(tc, test_config_rows, 0,
			    sizeof(config_rows) / sizeof(config_rows[0]));
	tcase_add_test(tc, test_config_values_land);
	suite_add_tcase(s, tc);
	return fixture_run(s);
}
