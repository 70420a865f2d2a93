/* request.h -- one HTTP request as the web server hands it over (pure).
 *
 * FastCGI and CGI both deliver a request as CGI variables ("NAME=VALUE"
 * strings: REQUEST_METHOD, REQUEST_URI, QUERY_STRING, CONTENT_TYPE,
 * CONTENT_LENGTH, HTTP_COOKIE, HTTP_ORIGIN, HTTP_HOST, HTTP_LAST_EVENT_ID,
 * HTTP_AUTHORIZATION, REMOTE_ADDR, HTTPS, ...) plus a body.  This module
 * turns them into a struct request; it does no I/O, so tests and fuzzers feed
 * it directly.
 *
 * Lifecycle:
 *   struct request req;
 *   request_init(&req);
 *   rc = request_parse_env(&req, envp, cfg->base);   // method, path, query,
 * headers
 *   ... read at most REQUEST_BODY_MAX_BYTES of body ...
 *   rc = request_set_body(&req, data, len);          // copies
 *   rc = request_parse_body(&req);                   // JSON or form, by
 * Content-Type request_field_string(&req, "username", &name);
 *   request_release(&req);
 *
 * Everything parsed belongs to the request and dies with request_release().
 * Strings handed out are borrowed, NUL-terminated, valid UTF-8.
 *
 * Invariants: path never contains the query string; `path` is REQUEST_URI's
 * path (percent-decoding is not applied: routes are plain ASCII) with the
 * configured base taken off when it is there (`in_base` tells).
 */
#ifndef EMITCGI_REQUEST_H
#define EMITCGI_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"

struct json_object;

#define REQUEST_BODY_MAX_BYTES 16384 /* SPEC: >16 KiB is 413 */
#define REQUEST_HEADERS_MAX_BYTES                                              \
	16384 /* sum of all CGI variables: 431 beyond */
#define REQUEST_SID_COOKIE "emitcgi_sid"
#define REQUEST_SID_HEX_LEN 64 /* 256 random bits, hex */

enum request_method {
	REQUEST_GET,
	REQUEST_HEAD,
	REQUEST_POST,
	REQUEST_OTHER, /* method_name tells which */
};

enum request_body_kind {
	REQUEST_BODY_NONE,
	REQUEST_BODY_JSON, /* a JSON object */
	REQUEST_BODY_FORM, /* application/x-www-form-urlencoded */
};

struct request_param {
	char *name;
	char *value;
};

struct request {
	enum request_method method;
	char method_name[16]; /* as sent, truncated */
	char *uri_path;	      /* REQUEST_URI up to '?' */
	char *path;	      /* uri_path without the base, e.g. "/login" */
	bool in_base;	      /* uri_path starts with the base */
	char *query; /* QUERY_STRING (or REQUEST_URI after '?'), "" if none */
	struct request_param *params; /* decoded query parameters, in order */
	size_t n_params;

	/* Headers of interest; NULL when absent. */
	char *host;	     /* HTTP_HOST */
	char *origin;	     /* HTTP_ORIGIN */
	char *last_event_id; /* HTTP_LAST_EVENT_ID */
	char *authorization; /* HTTP_AUTHORIZATION */
	char *content_type;  /* media type only, lower-cased, no parameters */
	char *remote_addr;   /* REMOTE_ADDR */
	bool https;	     /* HTTPS=on|1, or REQUEST_SCHEME=https */
	int64_t content_length; /* -1 when unset or empty */

	/* emitcgi_sid cookie: set only when well-formed (64 lower-case hex). */
	char sid[REQUEST_SID_HEX_LEN + 1];
	bool has_sid;

	size_t env_bytes; /* total size of the CGI variables */

	/* Body, after request_set_body()/request_parse_body(). */
	struct buf body;
	enum request_body_kind body_kind;
	struct json_object *json;   /* REQUEST_BODY_JSON: owned */
	struct request_param *form; /* REQUEST_BODY_FORM: decoded fields */
	size_t n_form;
};

void request_init(struct request *req);
void request_release(struct request *req);

/* Reads the CGI variables from envp (NULL-terminated "NAME=VALUE" array, as
 * FCGX_Request.envp or environ).  base is the URL prefix ("" or "/api").
 * Errors: EC_HEADERS_TOO_LARGE (env_bytes past the cap), EC_INVALID_UTF8
 * (a header value of interest or a query parameter is not UTF-8),
 * EC_INVALID_PARAM (bad percent-encoding in the query), EC_NOMEM.
 * A malformed Cookie header is not an error: has_sid stays false. */
enum ecode request_parse_env(struct request *req, char *const *envp,
			     const char *base);

/* Copies the body (len <= REQUEST_BODY_MAX_BYTES, else EC_TOO_LARGE). */
enum ecode request_set_body(struct request *req, const void *data, size_t len);

/* Parses the body by Content-Type: application/json (must be an object,
 * strict, valid UTF-8) or application/x-www-form-urlencoded.  An empty body
 * with no Content-Type is REQUEST_BODY_NONE and EC_OK.
 * Errors: EC_UNSUPPORTED_MEDIA, EC_INVALID_JSON, EC_INVALID_FORM,
 * EC_INVALID_UTF8, EC_NOMEM. */
enum ecode request_parse_body(struct request *req);

/* A non-negative decimal integer that fits int64_t (at most 19 digits,
 * nothing else: no sign, space or suffix), as Last-Event-ID, lastEventId,
 * since and timeout carry; else EC_INVALID_PARAM. */
enum ecode request_parse_id(const char *s, int64_t *out);

/* A query parameter's decoded value, or NULL.  First one wins. */
const char *request_param(const struct request *req, const char *name);

/* A body field that must be a string (JSON string, or any form field).
 * EC_MISSING_FIELD when absent or not a string. */
enum ecode request_field_string(const struct request *req, const char *name,
				const char **value);

/* A body field as JSON, for POST /emit's data: a JSON body's value (borrowed,
 * may be NULL for JSON null, *present tells) or a form field as a new JSON
 * string (caller must json_object_put() it: *owned is set true).
 * EC_MISSING_FIELD when absent. */
enum ecode request_field_json(const struct request *req, const char *name,
			      struct json_object **value, bool *owned);

#endif
