/* error.c -- names of the error codes (see error.h). */
#include "autoconfig.h"

#include "error.h"

static const char *const ecode_names[EC__COUNT] = {
	[EC_OK] = "ok",
	[EC_NOMEM] = "out_of_memory",
	[EC_IO] = "io_error",
	[EC_DB] = "database_error",
	[EC_DB_BUSY] = "database_busy",
	[EC_DB_SCHEMA] = "database_schema",
	[EC_CONFIG] = "bad_config",
	[EC_TOO_LARGE] = "too_large",
	[EC_HEADERS_TOO_LARGE] = "headers_too_large",
	[EC_INVALID_JSON] = "invalid_json",
	[EC_INVALID_FORM] = "invalid_form",
	[EC_INVALID_UTF8] = "invalid_utf8",
	[EC_UNSUPPORTED_MEDIA] = "unsupported_media_type",
	[EC_MISSING_FIELD] = "missing_field",
	[EC_INVALID_USERNAME] = "invalid_username",
	[EC_INVALID_PASSWORD] = "invalid_password",
	[EC_INVALID_PARAM] = "invalid_parameter",
	[EC_INVALID_EVENT] = "invalid_event",
	[EC_RESERVED_EVENT] = "reserved_event",
	[EC_DATA_TOO_LARGE] = "data_too_large",
	[EC_USERNAME_TAKEN] = "username_taken",
	[EC_BAD_CREDENTIALS] = "bad_credentials",
	[EC_THROTTLED] = "too_many_attempts",
	[EC_UNAUTHORIZED] = "unauthorized",
	[EC_FORBIDDEN] = "forbidden",
	[EC_NOT_FOUND] = "not_found",
	[EC_METHOD_NOT_ALLOWED] = "method_not_allowed",
	[EC_TOO_MANY_WAITERS] = "too_many_subscribers",
	[EC_UNAVAILABLE] = "unavailable",
	[EC_INTERNAL] = "internal_error",
	[EC_DB_READONLY] = "database_readonly",
	[EC_DB_FULL] = "database_full",
	[EC_DB_CORRUPT] = "database_corrupt",
	[EC_DB_IOERR] = "database_io_error",
	[EC_RATE_LIMITED] = "rate_limited",
};

const char *ecode_name(enum ecode code)
{
	if ((unsigned)code >= EC__COUNT || !ecode_names[code])
		return "unknown_error";
	return ecode_names[code];
}
