/* config.h -- EMITCGI_* environment → struct config, validated at start.
 *
 * Configuration comes only from the environment, because that is what every
 * web server can pass to a FastCGI or CGI program (FcgidInitialEnv, SetEnv,
 * lighttpd bin-environment, spawn-fcgi, systemd Environment=).  A bad value
 * stops the program at start with one line naming variable and value:
 *   emitcgi: EMITCGI_POLL_TIMEOUT=90: must be 1..60
 *
 * To add a setting: a field here, a row in config.c's table, a line in the
 * README and in emitcgi.8.
 */
#ifndef EMITCGI_CONFIG_H
#define EMITCGI_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define CONFIG_PATH_MAX 4096
#define CONFIG_BASE_MAX 256
#define CONFIG_TOKEN_MAX 256
#define CONFIG_ORIGINS_MAX 1024

struct config {
	char db_path[CONFIG_PATH_MAX]; /* EMITCGI_DB */
	char base[CONFIG_BASE_MAX]; /* EMITCGI_BASE, "/api"; "" for the root */
	int presence_timeout_s;	    /* EMITCGI_PRESENCE_TIMEOUT, 60 */
	int poll_timeout_s; /* EMITCGI_POLL_TIMEOUT, 25: default and max wait */
	int heartbeat_s;    /* EMITCGI_HEARTBEAT, 15 */
	int stream_max_s;   /* EMITCGI_STREAM_MAX, 600 */
	int64_t retention;  /* EMITCGI_RETENTION, 10000 events */
	int max_subscribers; /* EMITCGI_MAX_SUBSCRIBERS, 16000 */
	int log_level;	     /* EMITCGI_LOG_LEVEL, info */
	int threads;	     /* EMITCGI_THREADS, 8 worker threads */
	int session_ttl_s;   /* EMITCGI_SESSION_TTL, 7 days */
	char metrics_token[CONFIG_TOKEN_MAX]; /* EMITCGI_METRICS_TOKEN, "" */
	int fcc_testing;		      /* EMITCGI_FCC_TESTING, 0 */
	/* issue 9: throttles, quotas, cookies, origins (docs/SECURITY.md) */
	int rate_emit;	      /* EMITCGI_RATE_EMIT, 120 a minute, 0 off */
	int rate_login;	      /* EMITCGI_RATE_LOGIN, 60 a minute, 0 off */
	int rate_register;    /* EMITCGI_RATE_REGISTER, 20 a minute, 0 off */
	int cookie_secure;    /* EMITCGI_COOKIE_SECURE, 0 */
	int metrics_loopback; /* EMITCGI_METRICS_LOOPBACK, 0 */
	int max_waiters_per_session; /* EMITCGI_MAX_WAITERS_PER_SESSION, 8 */
	int max_waiters_per_user;    /* EMITCGI_MAX_WAITERS_PER_USER, 32 */
	int max_sessions_per_user;   /* EMITCGI_MAX_SESSIONS_PER_USER, 20 */
	int db_max_mb;		     /* EMITCGI_DB_MAX_MB, 0: no cap */
	char origins[CONFIG_ORIGINS_MAX]; /* EMITCGI_ORIGINS, "" */
	/* Socket.IO over Engine.IO v4 long-polling (issue 11). */
	char sio_path[CONFIG_BASE_MAX]; /* EMITCGI_SIO_PATH, "/socket.io" */
	int sio_ping_interval_ms;	/* EMITCGI_SIO_PING_INTERVAL, 25000 */
	int sio_ping_timeout_ms;	/* EMITCGI_SIO_PING_TIMEOUT, 20000 */
	int sio_max_payload;		/* EMITCGI_SIO_MAX_PAYLOAD, 1000000 */
};

/* Where config_load() reads a variable: getenv() in the program, a table in
 * tests.  Returns NULL when unset. */
typedef const char *config_getenv_fn(const char *name);

/* Fills *cfg with defaults, then with every EMITCGI_* variable set.
 * On a bad value returns EC_CONFIG and writes one line (without newline) to
 * msg, e.g. "EMITCGI_POLL_TIMEOUT=90: must be 1..60". */
enum ecode config_load(struct config *cfg, config_getenv_fn *get, char *msg,
		       size_t msg_size);

/* Default database path when EMITCGI_DB is unset (set by configure). */
const char *config_default_db(void);

#endif
