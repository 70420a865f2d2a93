/* request.c -- CGI variables and body → struct request (see request.h).
 *
 * request_parse_env() reads the handful of CGI variables emitcgi uses
 * (RFC 3875 section 4.1 plus the HTTP_* headers) from an envp array; nothing
 * here touches the process environment or does I/O, so the fuzzer and the
 * unit tests feed it arrays directly.  request_parse_body() picks JSON or
 * form decoding from the Content-Type media type.
 *
 * Order of checks in request_parse_env(): the total size first (431 before
 * anything else is looked at), then method and path (so a later error can
 * still be logged with them), headers, Content-Type, Content-Length, cookie,
 * query.  The first error wins; whatever was parsed before it stays in req
 * and is freed by request_release().
 *
 * Invariants kept here:
 *   - every string handed out is valid UTF-8 and NUL-terminated (values that
 *     are not UTF-8 are refused, never repaired);
 *   - the Cookie header is never an error: only a well-formed emitcgi_sid
 *     (64 lower-case hex digits) is kept, everything else is ignored;
 *   - after EC_OK, uri_path, path and query are non-NULL.
 *
 * To read one more header: a field in request.h, one request_dup_header()
 * call in request_parse_env() and a free in request_release().
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "form.h"
#include "json.h"
#include "request.h"
#include "utf8.h"

void request_init(struct request *req)
{
	memset(req, 0, sizeof(*req));
	req->method = REQUEST_OTHER;
	req->content_length = -1;
	buf_init(&req->body, REQUEST_BODY_MAX_BYTES);
	req->body_kind = REQUEST_BODY_NONE;
}

/* Drops what request_parse_body() built. */
static void request_clear_body(struct request *req)
{
	json_object_put(req->json);
	req->json = NULL;
	form_free(req->form, req->n_form);
	req->form = NULL;
	req->n_form = 0;
	req->body_kind = REQUEST_BODY_NONE;
}

void request_release(struct request *req)
{
	request_clear_body(req);
	buf_release(&req->body);
	free(req->uri_path);
	free(req->path);
	free(req->query);
	form_free(req->params, req->n_params);
	free(req->host);
	free(req->origin);
	free(req->last_event_id);
	free(req->authorization);
	free(req->content_type);
	free(req->remote_addr);
	request_init(req);
}

/* The CGI variables request_parse_env() reads, found in one pass over
 * envp (issue 8: a lookup per name was a strncmp() over every variable,
 * the largest cost of parsing a request). */
enum request_var {
	RV_METHOD,
	RV_URI,
	RV_SCRIPT_NAME,
	RV_PATH_INFO,
	RV_HOST,
	RV_ORIGIN,
	RV_LAST_EVENT_ID,
	RV_AUTHORIZATION,
	RV_REMOTE_ADDR,
	RV_CONTENT_TYPE,
	RV_CONTENT_LENGTH,
	RV_COOKIE,
	RV_HTTPS,
	RV_SCHEME,
	RV_QUERY,
	RV__COUNT
};

#define RV_NAME(s)                                                             \
	{                                                                      \
		s, sizeof(s) - 1                                               \
	}
static const struct {
	const char *name;
	size_t len;
} request_var_names[RV__COUNT] = {
	[RV_METHOD] = RV_NAME("REQUEST_METHOD"),
	[RV_URI] = RV_NAME("REQUEST_URI"),
	[RV_SCRIPT_NAME] = RV_NAME("SCRIPT_NAME"),
	[RV_PATH_INFO] = RV_NAME("PATH_INFO"),
	[RV_HOST] = RV_NAME("HTTP_HOST"),
	[RV_ORIGIN] = RV_NAME("HTTP_ORIGIN"),
	[RV_LAST_EVENT_ID] = RV_NAME("HTTP_LAST_EVENT_ID"),
	[RV_AUTHORIZATION] = RV_NAME("HTTP_AUTHORIZATION"),
	[RV_REMOTE_ADDR] = RV_NAME("REMOTE_ADDR"),
	[RV_CONTENT_TYPE] = RV_NAME("CONTENT_TYPE"),
	[RV_CONTENT_LENGTH] = RV_NAME("CONTENT_LENGTH"),
	[RV_COOKIE] = RV_NAME("HTTP_COOKIE"),
	[RV_HTTPS] = RV_NAME("HTTPS"),
	[RV_SCHEME] = RV_NAME("REQUEST_SCHEME"),
	[RV_QUERY] = RV_NAME("QUERY_STRING"),
};
#undef RV_NAME

/* The values of the variables above (NULL when absent) and the total size
 * of envp.  The last one of a name wins, as in PHP-FPM: nginx configs
 * override a param of "include fastcgi_params" (HTTP_HOST $host, without
 * the port) by sending it again after it. */
static size_t request_vars(char *const *envp, const char *v[RV__COUNT])
{
	size_t total = 0;

	for (int i = 0; i < RV__COUNT; i++)
		v[i] = NULL;
	for (; envp && *envp; envp++) {
		const char *e = *envp;
		size_t len = strlen(e);
		const char *eq = memchr(e, '=', len);
		size_t nlen;

		total += len;
		if (!eq)
			continue;
		nlen = (size_t)(eq - e);
		for (int i = 0; i < RV__COUNT; i++)
			if (request_var_names[i].len == nlen &&
			    memcmp(e, request_var_names[i].name, nlen) == 0) {
				v[i] = eq + 1;
				break;
			}
	}
	return total;
}

static enum ecode request_strndup(const char *s, size_t len, char **out)
{
	char *d = malloc(len + 1);

	if (!d)
		return EC_NOMEM;
	memcpy(d, s, len);
	d[len] = '\0';
	*out = d;
	return EC_OK;
}

/* Copies a header we keep; NULL stays NULL. */
static enum ecode request_dup_header(const char *v, char **out)
{
	size_t len;

	if (!v)
		return EC_OK;
	len = strlen(v);
	if (!utf8_valid(v, len))
		return EC_INVALID_UTF8;
	return request_strndup(v, len, out);
}

static void request_set_method(struct request *req, const char *m)
{
	size_t i;

	if (!m)
		m = "";
	/* Kept for logs: printable ASCII only, so it is UTF-8 even when cut. */
	for (i = 0; i < sizeof(req->method_name) - 1 && m[i]; i++) {
		unsigned char c = (unsigned char)m[i];

		req->method_name[i] = c > 0x20 && c < 0x7f ? (char)c : '?';
	}
	req->method_name[i] = '\0';
	/* Methods are case-sensitive (RFC 9110 section 9.1). */
	if (strcmp(m, "GET") == 0)
		req->method = REQUEST_GET;
	else if (strcmp(m, "HEAD") == 0)
		req->method = REQUEST_HEAD;
	else if (strcmp(m, "POST") == 0)
		req->method = REQUEST_POST;
	else
		req->method = REQUEST_OTHER;
}

/* uri_path from REQUEST_URI, or SCRIPT_NAME + PATH_INFO when a server does
 * not send REQUEST_URI; then path and in_base. */
static enum ecode request_set_path(struct request *req,
				   const char *const v[RV__COUNT],
				   const char *base)
{
	const char *uri = v[RV_URI];
	size_t blen, ulen;
	bool prefix;
	enum ecode rc;

	if (uri) {
		rc = request_strndup(uri, strcspn(uri, "?"), &req->uri_path);
	} else {
		const char *sn = v[RV_SCRIPT_NAME];
		const char *pi = v[RV_PATH_INFO];
		struct buf b;

		buf_init(&b, REQUEST_HEADERS_MAX_BYTES);
		rc = buf_adds(&b, sn ? sn : "");
		if (rc == EC_OK)
			rc = buf_adds(&b, pi ? pi : "");
		if (rc == EC_OK)
			rc = request_strndup(buf_str(&b), b.len,
					     &req->uri_path);
		buf_release(&b);
	}
	if (rc != EC_OK)
		return rc;
	ulen = strlen(req->uri_path);
	if (!utf8_valid(req->uri_path, ulen)) {
		/* Not kept: even a failed request hands out only UTF-8. */
		free(req->uri_path);
		req->uri_path = NULL;
		return EC_INVALID_UTF8;
	}

	/* "/api/" and "/" are the same bases as "/api" and "". */
	if (!base)
		base = "";
	blen = strlen(base);
	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	prefix = ulen >= blen && memcmp(req->uri_path, base, blen) == 0;
	if (prefix && ulen == blen) {
		req->in_base = true;
		return request_strndup("/", 1, &req->path);
	}
	if (prefix && req->uri_path[blen] == '/') {
		req->in_base = true;
		return request_strndup(req->uri_path + blen, ulen - blen,
				       &req->path);
	}
	req->in_base = false;
	return request_strndup(req->uri_path, ulen, &req->path);
}

/* Media type only: "Application/JSON; charset=UTF-8" → "application/json".
 * An empty value counts as absent. */
static enum ecode request_set_content_type(struct request *req, const char *v)
{
	size_t start = 0, end, i;
	enum ecode rc;

	if (!v)
		return EC_OK;
	end = strcspn(v, ";");
	while (start < end && (v[start] == ' ' || v[start] == '\t'))
		start++;
	while (end > start && (v[end - 1] == ' ' || v[end - 1] == '\t'))
		end--;
	if (end == start)
		return EC_OK;
	if (!utf8_valid(v + start, end - start))
		return EC_INVALID_UTF8;
	rc = request_strndup(v + start, end - start, &req->content_type);
	if (rc != EC_OK)
		return rc;
	for (i = 0; req->content_type[i]; i++) {
		char c = req->content_type[i];

		if (c >= 'A' && c <= 'Z')
			req->content_type[i] = (char)(c - 'A' + 'a');
	}
	return EC_OK;
}

/* RFC 9110 section 8.6: 1*DIGIT.  "" is treated as unset (CGI servers send
 * it empty for bodiless requests). */
static enum ecode request_set_content_length(struct request *req, const char *v)
{
	char *end;
	long long n;
	size_t i;

	req->content_length = -1;
	if (!v || !*v)
		return EC_OK;
	for (i = 0; v[i]; i++)
		if (v[i] < '0' || v[i] > '9')
			return EC_INVALID_PARAM;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno == ERANGE || *end != '\0')
		return EC_INVALID_PARAM;
	req->content_length = n;
	return EC_OK;
}

static bool request_is_sid(const char *v, size_t len)
{
	size_t i;

	if (len != REQUEST_SID_HEX_LEN)
		return false;
	for (i = 0; i < len; i++)
		if (!((v[i] >= '0' && v[i] <= '9') ||
		      (v[i] >= 'a' && v[i] <= 'f')))
			return false;
	return true;
}

/* RFC 6265 section 4.2.1: "name=value; name=value".  Browsers are not the
 * only senders, so tabs and missing spaces are tolerated and every malformed
 * pair is skipped.  The first well-formed emitcgi_sid wins (browsers send
 * the most specific path first). */
/* The session cookie under its three names (issue 9, api.c sets them):
 * "__Host-" + name (HTTPS, API at the root), "__Secure-" + name (HTTPS,
 * API under a base), name (plain HTTP).  A prefixed one wins over a plain
 * one, which a sibling subdomain or a plain-HTTP page could have planted. */
static int request_sid_rank(const char *name, size_t len)
{
	static const char sid_name[] = REQUEST_SID_COOKIE;
	static const char *const prefixes[] = { "__Host-", "__Secure-", "" };

	for (int i = 0; i < 3; i++) {
		size_t pl = strlen(prefixes[i]);

		if (len == pl + sizeof(sid_name) - 1 &&
		    memcmp(name, prefixes[i], pl) == 0 &&
		    memcmp(name + pl, sid_name, sizeof(sid_name) - 1) == 0)
			return 3 - i;
	}
	return 0;
}

static void request_set_cookie(struct request *req, const char *c)
{
	const char *p = c;
	int best = 0, rank;

	if (!c)
		return;
	while (*p) {
		const char *seg, *eq, *name_end, *val, *val_end;
		size_t seglen;

		while (*p == ' ' || *p == '\t' || *p == ';')
			p++;
		seg = p;
		seglen = strcspn(seg, ";");
		p = seg + seglen;
		eq = memchr(seg, '=', seglen);
		if (!eq)
			continue;
		name_end = eq;
		while (name_end > seg &&
		       (name_end[-1] == ' ' || name_end[-1] == '\t'))
			name_end--;
		rank = request_sid_rank(seg, (size_t)(name_end - seg));
		if (rank <= best)
			continue;
		val = eq + 1;
		val_end = p;
		while (val < val_end && (*val == ' ' || *val == '\t'))
			val++;
		while (val_end > val &&
		       (val_end[-1] == ' ' || val_end[-1] == '\t'))
			val_end--;
		if (!request_is_sid(val, (size_t)(val_end - val)))
			continue;
		memcpy(req->sid, val, REQUEST_SID_HEX_LEN);
		req->sid[REQUEST_SID_HEX_LEN] = '\0';
		req->has_sid = true;
		best = rank;
	}
}

static enum ecode request_set_query(struct request *req,
				    const char *const v[RV__COUNT])
{
	const char *q = v[RV_QUERY];
	const char *uri;
	size_t len;
	enum ecode rc;

	if (!q) {
		uri = v[RV_URI];
		q = uri ? strchr(uri, '?') : NULL;
		q = q ? q + 1 : "";
	}
	len = strlen(q);
	if (!utf8_valid(q, len))
		return EC_INVALID_UTF8;
	rc = request_strndup(q, len, &req->query);
	if (rc != EC_OK)
		return rc;
	rc = form_parse(q, len, &req->params, &req->n_params);
	return rc == EC_INVALID_FORM ? EC_INVALID_PARAM : rc;
}

static bool request_https(const char *const v[RV__COUNT])
{
	const char *https = v[RV_HTTPS];
	const char *scheme = v[RV_SCHEME];

	if (https && (strcasecmp(https, "on") == 0 || strcmp(https, "1") == 0))
		return true;
	return scheme && strcasecmp(scheme, "https") == 0;
}

enum ecode request_parse_env(struct request *req, char *const *envp,
			     const char *base)
{
	const struct {
		enum request_var var;
		char **field;
	} headers[] = {
		{ RV_HOST, &req->host },
		{ RV_ORIGIN, &req->origin },
		{ RV_LAST_EVENT_ID, &req->last_event_id },
		{ RV_AUTHORIZATION, &req->authorization },
		{ RV_REMOTE_ADDR, &req->remote_addr },
	};
	const char *v[RV__COUNT];
	size_t i;
	enum ecode rc;

	req->env_bytes = request_vars(envp, v);
	if (req->env_bytes > REQUEST_HEADERS_MAX_BYTES)
		return EC_HEADERS_TOO_LARGE;

	request_set_method(req, v[RV_METHOD]);
	rc = request_set_path(req, v, base);
	if (rc != EC_OK)
		return rc;
	for (i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
		rc = request_dup_header(v[headers[i].var], headers[i].field);
		if (rc != EC_OK)
			return rc;
	}
	rc = request_set_content_type(req, v[RV_CONTENT_TYPE]);
	if (rc != EC_OK)
		return rc;
	rc = request_set_content_length(req, v[RV_CONTENT_LENGTH]);
	if (rc != EC_OK)
		return rc;
	request_set_cookie(req, v[RV_COOKIE]);
	req->https = request_https(v);
	return request_set_query(req, v);
}

enum ecode request_set_body(struct request *req, const void *data, size_t len)
{
	if (len > REQUEST_BODY_MAX_BYTES)
		return EC_TOO_LARGE;
	request_clear_body(req);
	buf_reset(&req->body);
	return buf_add(&req->body, data, len);
}

enum ecode request_parse_body(struct request *req)
{
	const char *ct = req->content_type;
	size_t len = req->body.len;
	enum ecode rc;

	request_clear_body(req);
	/* No body to read: the type does not matter (a GET may carry a stray
	 * Content-Type; a POST without type and body is /logout's shape). */
	if (len == 0 && (!ct || req->method != REQUEST_POST))
		return EC_OK;
	if (!ct)
		return EC_UNSUPPORTED_MEDIA;
	if (strcmp(ct, "application/json") == 0) {
		rc = json_parse_object(buf_str(&req->body), len, &req->json);
		if (rc == EC_TOO_LARGE)
			rc = EC_INVALID_JSON; /* cannot happen: body cap */
		if (rc == EC_OK)
			req->body_kind = REQUEST_BODY_JSON;
		return rc;
	}
	if (strcmp(ct, "application/x-www-form-urlencoded") == 0) {
		rc = form_parse(buf_str(&req->body), len, &req->form,
				&req->n_form);
		if (rc == EC_OK)
			req->body_kind = REQUEST_BODY_FORM;
		return rc;
	}
	return EC_UNSUPPORTED_MEDIA;
}

const char *request_param(const struct request *req, const char *name)
{
	return form_find(req->params, req->n_params, name);
}

enum ecode request_field_string(const struct request *req, const char *name,
				const char **value)
{
	struct json_object *v;
	const char *s;

	*value = NULL;
	switch (req->body_kind) {
	case REQUEST_BODY_JSON:
		if (!json_object_object_get_ex(req->json, name, &v) ||
		    !json_object_is_type(v, json_type_string))
			return EC_MISSING_FIELD;
		s = json_object_get_string(v);
		/* "\u0000" would cut the C string short: not a usable
		 * string, so the field counts as missing. */
		if (strlen(s) != (size_t)json_object_get_string_len(v))
			return EC_MISSING_FIELD;
		*value = s;
		return EC_OK;
	case REQUEST_BODY_FORM:
		s = form_find(req->form, req->n_form, name);
		if (!s)
			return EC_MISSING_FIELD;
		*value = s;
		return EC_OK;
	case REQUEST_BODY_NONE:
		break;
	}
	return EC_MISSING_FIELD;
}

enum ecode request_field_json(const struct request *req, const char *name,
			      struct json_object **value, bool *owned)
{
	struct json_object *v;
	const char *s;

	*value = NULL;
	*owned = false;
	switch (req->body_kind) {
	case REQUEST_BODY_JSON:
		if (!json_object_object_get_ex(req->json, name, &v))
			return EC_MISSING_FIELD;
		*value = v; /* NULL for JSON null */
		return EC_OK;
	case REQUEST_BODY_FORM:
		s = form_find(req->form, req->n_form, name);
		if (!s)
			return EC_MISSING_FIELD;
		v = json_object_new_string(s);
		if (!v)
			return EC_NOMEM;
		*value = v;
		*owned = true;
		return EC_OK;
	case REQUEST_BODY_NONE:
		break;
	}
	return EC_MISSING_FIELD;
}

enum ecode request_parse_id(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (!s || *s < '0' || *s > '9' || strlen(s) > 19)
		return EC_INVALID_PARAM;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end)
		return EC_INVALID_PARAM;
	*out = v;
	return EC_OK;
}
