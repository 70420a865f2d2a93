/* response.c -- an HTTP response in CGI form (see response.h).
 *
 * The head is built at the end (response_head()), from the status and the
 * header lines a handler added, so handlers can add headers in any order
 * and change their mind about the status.  What is written:
 *
 *   Status: 404 Not Found\r\n            RFC 3875 section 6.3.3
 *   <header lines, in the order added>
 *   Cache-Control: no-store\r\n          unless one was added
 *   \r\n
 *   <body, unless head_only>
 *
 * response_json(), response_error() and response_empty() replace the body
 * and the Content-Type line and keep every other header (Set-Cookie, Allow,
 * Retry-After ...), so api.c may add those before or after.
 *
 * Header injection: a name or value holding CR or LF is refused with
 * EC_INTERNAL (it is a bug in the caller: nothing from a client should reach
 * a header unchecked); names must also be tokens (RFC 9110 section 5.1).
 *
 * To add a status: a row in response_reasons[].
 */
#include "autoconfig.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "json.h"
#include "response.h"

static const struct {
	int status;
	const char *reason;
} response_reasons[] = {
	{ 200, "OK" },
	{ 201, "Created" },
	{ 202, "Accepted" },
	{ 204, "No Content" },
	{ 301, "Moved Permanently" },
	{ 302, "Found" },
	{ 304, "Not Modified" },
	{ 400, "Bad Request" },
	{ 401, "Unauthorized" },
	{ 403, "Forbidden" },
	{ 404, "Not Found" },
	{ 405, "Method Not Allowed" },
	{ 408, "Request Timeout" },
	{ 409, "Conflict" },
	{ 411, "Length Required" },
	{ 413, "Content Too Large" },
	{ 414, "URI Too Long" },
	{ 415, "Unsupported Media Type" },
	{ 422, "Unprocessable Content" },
	{ 429, "Too Many Requests" },
	{ 431, "Request Header Fields Too Large" },
	{ 500, "Internal Server Error" },
	{ 501, "Not Implemented" },
	{ 502, "Bad Gateway" },
	{ 503, "Service Unavailable" },
	{ 504, "Gateway Timeout" },
};

#define RESPONSE_CONTENT_TYPE "Content-Type"

void response_init(struct response *res)
{
	res->status = 0;
	buf_init(&res->headers, RESPONSE_HEAD_MAX_BYTES);
	buf_init(&res->body, RESPONSE_BODY_MAX_BYTES);
	res->head_only = false;
	res->has_cache_control = false;
}

void response_release(struct response *res)
{
	buf_release(&res->headers);
	buf_release(&res->body);
	response_init(res);
}

const char *response_reason(int status)
{
	size_t i;

	for (i = 0; i < sizeof(response_reasons) / sizeof(response_reasons[0]);
	     i++)
		if (response_reasons[i].status == status)
			return response_reasons[i].reason;
	return "Unknown";
}

void response_status(struct response *res, int status)
{
	res->status = status;
}

/* tchar of RFC 9110 section 5.6.2. */
static bool response_is_token(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= 0x20 || c >= 0x7f || strchr("\"(),/:;<=>?@[\\]{}", c))
			return false;
	}
	return true;
}

enum ecode response_header(struct response *res, const char *name,
			   const char *value)
{
	enum ecode rc;

	if (!response_is_token(name) || strpbrk(value, "\r\n"))
		return EC_INTERNAL;
	rc = buf_printf(&res->headers, "%s: %s\r\n", name, value);
	if (rc != EC_OK)
		return rc;
	if (strcasecmp(name, "Cache-Control") == 0)
		res->has_cache_control = true;
	return EC_OK;
}

/* Removes every header line called name (case-insensitive). */
static void response_drop_header(struct response *res, const char *name)
{
	struct buf *h = &res->headers;
	size_t nlen = strlen(name), i = 0, o = 0;

	while (i < h->len) {
		const char *line = h->data + i;
		const char *eol = memchr(line, '\n', h->len - i);
		size_t llen = eol ? (size_t)(eol - line) + 1 : h->len - i;

		if (!(llen > nlen && line[nlen] == ':' &&
		      strncasecmp(line, name, nlen) == 0)) {
			memmove(h->data + o, line, llen);
			o += llen;
		}
		i += llen;
	}
	h->len = o;
	if (h->data)
		h->data[o] = '\0';
}

/* Status, Content-Type (NULL: none) and an empty body. */
static enum ecode response_reset(struct response *res, int status,
				 const char *content_type)
{
	res->status = status;
	buf_reset(&res->body);
	response_drop_header(res, RESPONSE_CONTENT_TYPE);
	if (!content_type)
		return EC_OK;
	return response_header(res, RESPONSE_CONTENT_TYPE, content_type);
}

enum ecode response_json(struct response *res, int status,
			 struct json_object *obj)
{
	enum ecode rc = response_reset(res, status, "application/json");

	if (rc != EC_OK)
		return rc;
	return json_append_compact(&res->body, obj);
}

enum ecode response_error(struct response *res, int status, const char *code,
			  const char *message)
{
	struct json_object *obj, *s;
	enum ecode rc = EC_NOMEM;

	obj = json_object_new_object();
	if (!obj)
		return EC_NOMEM;
	s = json_object_new_string(code);
	if (!s || json_object_object_add(obj, "error", s) != 0) {
		json_object_put(s);
		goto out;
	}
	s = json_object_new_string(message);
	if (!s || json_object_object_add(obj, "message", s) != 0) {
		json_object_put(s);
		goto out;
	}
	rc = response_json(res, status, obj);
out:
	json_object_put(obj);
	return rc;
}

enum ecode response_empty(struct response *res, int status)
{
	return response_reset(res, status, NULL);
}

enum ecode response_head(const struct response *res, struct buf *out)
{
	size_t start = out->len;
	enum ecode rc;

	if (res->status < 100 || res->status > 999)
		return EC_INTERNAL;
	rc = buf_printf(out, "Status: %d %s\r\n", res->status,
			response_reason(res->status));
	if (rc == EC_OK)
		rc = buf_add(out, buf_str(&res->headers), res->headers.len);
	if (rc == EC_OK && !res->has_cache_control)
		rc = buf_adds(out, "Cache-Control: no-store\r\n");
	if (rc == EC_OK)
		rc = buf_adds(out, "\r\n");
	if (rc != EC_OK && out->data) {
		/* All or nothing: buf.h has no truncate. */
		out->len = start;
		out->data[start] = '\0';
	}
	return rc;
}

enum ecode response_serialize(const struct response *res, struct buf *out)
{
	size_t start = out->len;
	enum ecode rc;

	rc = response_head(res, out);
	if (rc == EC_OK && !res->head_only)
		rc = buf_add(out, buf_str(&res->body), res->body.len);
	if (rc != EC_OK && out->data) {
		out->len = start;
		out->data[start] = '\0';
	}
	return rc;
}
