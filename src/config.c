/* config.c -- EMITCGI_* environment → struct config (see config.h).
 *
 * One table row per integer variable: name, field, default, range.  Strings
 * are checked by hand below the table.
 */
#include "autoconfig.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"

#ifndef EMITCGI_DEFAULT_DB
#define EMITCGI_DEFAULT_DB "/var/lib/emitcgi/emitcgi.db"
#endif

struct config_int {
	const char *name;
	size_t offset; /* of an int or int64_t field */
	int is_int64;
	int64_t def, min, max;
};

/* Kept on one line each; clang-format would brace them over four. */
/* clang-format off */
#define CONFIG_INT(name, field, def, min, max) \
	{ name, offsetof(struct config, field), 0, def, min, max }
#define CONFIG_INT64(name, field, def, min, max) \
	{ name, offsetof(struct config, field), 1, def, min, max }
/* clang-format on */

static const struct config_int config_ints[] = {
	CONFIG_INT("EMITCGI_PRESENCE_TIMEOUT", presence_timeout_s, 60, 1,
		   86400),
	CONFIG_INT("EMITCGI_POLL_TIMEOUT", poll_timeout_s, 25, 1, 60),
	CONFIG_INT("EMITCGI_HEARTBEAT", heartbeat_s, 15, 1, 3600),
	CONFIG_INT("EMITCGI_STREAM_MAX", stream_max_s, 600, 1, 86400),
	CONFIG_INT64("EMITCGI_RETENTION", retention, 10000, 1, 100000000),
	CONFIG_INT("EMITCGI_MAX_SUBSCRIBERS", max_subscribers, 16000, 1,
		   1000000),
	CONFIG_INT("EMITCGI_THREADS", threads, 8, 1, 256),
	CONFIG_INT("EMITCGI_SESSION_TTL", session_ttl_s, 7 * 86400, 60,
		   366 * 86400),
	CONFIG_INT("EMITCGI_FCC_TESTING", fcc_testing, 0, 0, 1),
	CONFIG_INT("EMITCGI_RATE_EMIT", rate_emit, 120, 0, 1000000),
	CONFIG_INT("EMITCGI_RATE_LOGIN", rate_login, 60, 0, 1000000),
	CONFIG_INT("EMITCGI_RATE_REGISTER", rate_register, 20, 0, 1000000),
	CONFIG_INT("EMITCGI_COOKIE_SECURE", cookie_secure, 0, 0, 1),
	CONFIG_INT("EMITCGI_METRICS_LOOPBACK", metrics_loopback, 0, 0, 1),
	CONFIG_INT("EMITCGI_MAX_WAITERS_PER_SESSION", max_waiters_per_session,
		   8, 1, 1000000),
	CONFIG_INT("EMITCGI_MAX_WAITERS_PER_USER", max_waiters_per_user, 32, 1,
		   1000000),
	CONFIG_INT("EMITCGI_MAX_SESSIONS_PER_USER", max_sessions_per_user, 20,
		   1, 100000),
	CONFIG_INT("EMITCGI_DB_MAX_MB", db_max_mb, 0, 0, 1048576),
	CONFIG_INT("EMITCGI_SIO_PING_INTERVAL", sio_ping_interval_ms, 25000, 50,
		   3600000),
	CONFIG_INT("EMITCGI_SIO_PING_TIMEOUT", sio_ping_timeout_ms, 20000, 50,
		   3600000),
	/* At most what api.c reads of a body (API_DRAIN_MAX_BYTES). */
	CONFIG_INT("EMITCGI_SIO_MAX_PAYLOAD", sio_max_payload, 1000000, 64,
		   1048576),
};

const char *config_default_db(void)
{
	return EMITCGI_DEFAULT_DB;
}

/* Strict decimal: digits only, no sign, no spaces, no overflow. */
static int config_parse_int(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

static enum ecode config_copy(char *dst, size_t size, const char *name,
			      const char *value, char *msg, size_t msg_size)
{
	size_t len = strlen(value);

	if (len >= size) {
		snprintf(msg, msg_size, "%s: value longer than %zu bytes", name,
			 size - 1);
		return EC_CONFIG;
	}
	memcpy(dst, value, len + 1);
	return EC_OK;
}

/* EMITCGI_BASE: "" or "/" (root) or "/seg[/seg]" without a trailing slash. */
static enum ecode config_base(struct config *cfg, const char *value, char *msg,
			      size_t msg_size)
{
	size_t len = strlen(value);

	if (len == 0 || strcmp(value, "/") == 0) {
		cfg->base[0] = '\0';
		return EC_OK;
	}
	if (value[0] != '/' || value[len - 1] == '/' ||
	    strpbrk(value, "?#% \t")) {
		snprintf(
			msg, msg_size,
			"EMITCGI_BASE=%s: must be a path like /api (no trailing slash)",
			value);
		return EC_CONFIG;
	}
	return config_copy(cfg->base, sizeof(cfg->base), "EMITCGI_BASE", value,
			   msg, msg_size);
}

/* EMITCGI_ORIGINS: origins (RFC 6454 serialisation, "https://host[:port]")
 * separated by commas or spaces; no path, no trailing slash. */
static enum ecode config_origins(struct config *cfg, const char *value,
				 char *msg, size_t msg_size)
{
	const char *p = value;
	enum ecode rc;

	rc = config_copy(cfg->origins, sizeof(cfg->origins), "EMITCGI_ORIGINS",
			 value, msg, msg_size);
	if (rc != EC_OK)
		return rc;
	while (*p) {
		size_t len;
		const char *host;

		p += strspn(p, ", ");
		len = strcspn(p, ", ");
		if (len == 0)
			break;
		if (strncmp(p, "http://", 7) == 0)
			host = p + 7;
		else if (strncmp(p, "https://", 8) == 0)
			host = p + 8;
		else
			host = NULL;
		if (!host || host >= p + len ||
		    memchr(host, '/', len - (size_t)(host - p)) ||
		    memchr(p, '*', len)) {
			snprintf(msg, msg_size,
				 "EMITCGI_ORIGINS=%s: each origin must be "
				 "http(s)://host[:port], separated by commas",
				 value);
			return EC_CONFIG;
		}
		p += len;
	}
	return EC_OK;
}

/* EMITCGI_SIO_PATH: "/seg[/seg]", not the root, no trailing slash. */
static enum ecode config_sio_path(struct config *cfg, const char *value,
				  char *msg, size_t msg_size)
{
	size_t len = strlen(value);

	if (len < 2 || value[0] != '/' || value[len - 1] == '/' ||
	    strpbrk(value, "?#% \t")) {
		snprintf(
			msg, msg_size,
			"EMITCGI_SIO_PATH=%s: must be a path like /socket.io (no trailing slash)",
			value);
		return EC_CONFIG;
	}
	return config_copy(cfg->sio_path, sizeof(cfg->sio_path),
			   "EMITCGI_SIO_PATH", value, msg, msg_size);
}

enum ecode config_load(struct config *cfg, config_getenv_fn *get, char *msg,
		       size_t msg_size)
{
	const char *v;
	enum ecode rc;
	int level;

	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->db_path, sizeof(cfg->db_path), "%s", EMITCGI_DEFAULT_DB);
	snprintf(cfg->base, sizeof(cfg->base), "/api");
	snprintf(cfg->sio_path, sizeof(cfg->sio_path), "/socket.io");
	cfg->log_level = LOG_LEVEL_INFO;

	for (size_t i = 0; i < sizeof(config_ints) / sizeof(config_ints[0]);
	     i++) {
		const struct config_int *ci = &config_ints[i];
		char *field = (char *)cfg + ci->offset;
		int64_t value = ci->def;

		v = get(ci->name);
		if (v && (config_parse_int(v, &value) || value < ci->min ||
			  value > ci->max)) {
			snprintf(msg, msg_size, "%s=%s: must be %lld..%lld",
				 ci->name, v, (long long)ci->min,
				 (long long)ci->max);
			return EC_CONFIG;
		}
		if (ci->is_int64)
			memcpy(field, &value, sizeof(int64_t));
		else {
			int iv = (int)value;
			memcpy(field, &iv, sizeof(int));
		}
	}

	v = get("EMITCGI_DB");
	if (v) {
		if (!*v) {
			snprintf(msg, msg_size,
				 "EMITCGI_DB=: must be a file path");
			return EC_CONFIG;
		}
		rc = config_copy(cfg->db_path, sizeof(cfg->db_path),
				 "EMITCGI_DB", v, msg, msg_size);
		if (rc != EC_OK)
			return rc;
	}
	v = get("EMITCGI_BASE");
	if (v && (rc = config_base(cfg, v, msg, msg_size)) != EC_OK)
		return rc;
	v = get("EMITCGI_SIO_PATH");
	if (v && (rc = config_sio_path(cfg, v, msg, msg_size)) != EC_OK)
		return rc;
	v = get("EMITCGI_LOG_LEVEL");
	if (v) {
		level = log_level_parse(v);
		if (level < 0) {
			snprintf(
				msg, msg_size,
				"EMITCGI_LOG_LEVEL=%s: must be error, warn, info or debug",
				v);
			return EC_CONFIG;
		}
		cfg->log_level = level;
	}
	v = get("EMITCGI_METRICS_TOKEN");
	if (v && (rc = config_copy(
			  cfg->metrics_token, sizeof(cfg->metrics_token),
			  "EMITCGI_METRICS_TOKEN", v, msg, msg_size)) != EC_OK)
		return rc;
	v = get("EMITCGI_ORIGINS");
	if (v && (rc = config_origins(cfg, v, msg, msg_size)) != EC_OK)
		return rc;
	return EC_OK;
}
