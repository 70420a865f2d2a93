/* error.h -- the one error enum of emitcgi.
 *
 * Every fallible function returns an `enum ecode` by value (0 = EC_OK) and
 * hands results back through pointers.  Callers check at once.  Only api.c
 * turns a code into an HTTP status and a JSON body (through one table); the
 * rest of the code never knows about HTTP.
 *
 * To add a code: append it here, give it a name in error.c and, if it can
 * reach a client, a row in api.c's table.
 */
#ifndef EMITCGI_ERROR_H
#define EMITCGI_ERROR_H

enum ecode {
	EC_OK = 0,
	EC_NOMEM,   /* allocation failed */
	EC_IO,	    /* a system call failed (errno logged where it happened) */
	EC_DB,	    /* the database failed (sqlite3_errmsg logged by store.c) */
	EC_DB_BUSY, /* the database stayed locked past the busy timeout */
	EC_DB_SCHEMA, /* the database is missing or has an unknown schema */
	EC_CONFIG,    /* bad configuration value */
	EC_TOO_LARGE, /* a capped buffer or body would exceed its cap */
	EC_HEADERS_TOO_LARGE, /* request headers past REQUEST_HEADERS_MAX_BYTES
			       */
	EC_INVALID_JSON,      /* body is not a JSON object */
	EC_INVALID_FORM,      /* malformed application/x-www-form-urlencoded */
	EC_INVALID_UTF8,      /* a text field is not valid UTF-8 */
	EC_UNSUPPORTED_MEDIA, /* POST body with an unsupported Content-Type */
	EC_MISSING_FIELD, /* a required field is absent or has the wrong type */
	EC_INVALID_USERNAME, /* not 1..32 of [A-Za-z0-9_.-] */
	EC_INVALID_PASSWORD, /* not 8..256 bytes */
	EC_INVALID_PARAM,   /* bad query parameter (since, timeout, lastEventId)
			     */
	EC_INVALID_EVENT,   /* event name not 1..64 printable ASCII bytes */
	EC_RESERVED_EVENT,  /* event name reserved by emitcgi */
	EC_DATA_TOO_LARGE,  /* emit data serialises to more than 4 KiB */
	EC_USERNAME_TAKEN,  /* register: name already exists */
	EC_BAD_CREDENTIALS, /* login: unknown user or wrong password (one
			       message) */
	EC_THROTTLED,	    /* login: too many failures, retry later */
	EC_UNAUTHORIZED,    /* no valid session */
	EC_FORBIDDEN,	    /* cross-origin POST, metrics from afar */
	EC_NOT_FOUND,	    /* no route, or no such row */
	EC_METHOD_NOT_ALLOWED, /* route exists, method does not */
	EC_TOO_MANY_WAITERS,   /* EMITCGI_MAX_SUBSCRIBERS reached */
	EC_UNAVAILABLE,	       /* shutting down, or database unusable */
	EC_INTERNAL,	       /* broken invariant that is not worth an abort */
	EC_DB_READONLY,	 /* the database cannot be written (file, mount) */
	EC_DB_FULL,	 /* disk or EMITCGI_DB_MAX_MB full */
	EC_DB_CORRUPT,	 /* the file is damaged or not a database */
	EC_DB_IOERR,	 /* the database cannot be opened or read/written */
	EC_RATE_LIMITED, /* a token bucket (ratelimit.h) is empty */
	EC__COUNT
};

/* Stable lower-case name of a code, e.g. "invalid_json".  Never NULL. */
const char *ecode_name(enum ecode code);

#endif
