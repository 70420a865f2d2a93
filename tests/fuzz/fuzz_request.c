/* fuzz_request.c -- fuzz target for the HTTP layer: request_parse_env(),
 * request_set_body()/request_parse_body() (JSON and form), the field
 * accessors, router_match() and building a response.
 *
 * Input: CGI variables as NUL-separated "NAME=VALUE" items, then "\0\0",
 * then the body:
 *
 *   REQUEST_METHOD=POST\0REQUEST_URI=/api/login\0CONTENT_TYPE=application/json
 *   \0\0{"username":"a","password":"b"}
 *
 * Without "\0\0" everything is variables and there is no body.  Each input
 * is run twice, with the bases "/api" and "", so base stripping is covered.
 *
 * Invariants checked (abort() on violation):
 *   - Last-Event-ID, lastEventId, since, timeout: request_parse_id()
 *     accepts only 1..19 decimal digits, giving a value >= 0;
 *   - after EC_OK: uri_path, path, query are set and valid UTF-8; in_base
 *     paths start with '/'; the kept headers are valid UTF-8;
 *   - has_sid implies 64 lower-case hex digits;
 *   - params, form fields and string fields are valid UTF-8;
 *   - a JSON body is an object, and its compact serialisation parses back
 *     (json_parse_object) to the same serialisation;
 *   - router_match() gives a route exactly when it returns EC_OK, an Allow
 *     value exactly on EC_METHOD_NOT_ALLOWED.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "fuzz.h"
#include "json.h"
#include "request.h"
#include "response.h"
#include "router.h"
#include "utf8.h"

#define FUZZ_MAX_ENV 256

#define FUZZ_CHECK(cond)                                                     \
	do {                                                                 \
		if (!(cond))                                                 \
			abort();                                             \
	} while (0)

static void fuzz_check_str(const char *s)
{
	if (s)
		FUZZ_CHECK(utf8_valid(s, strlen(s)));
}

static void fuzz_check_params(const struct request_param *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		FUZZ_CHECK(p[i].name && p[i].value);
		fuzz_check_str(p[i].name);
		fuzz_check_str(p[i].value);
	}
}

/* Issue 9: Last-Event-ID and the id parameters go through
 * request_parse_id(): EC_OK only for 1..19 digits, value >= 0. */
static void fuzz_check_id(const char *s)
{
	int64_t v = -1;

	if (!s || request_parse_id(s, &v) != EC_OK)
		return;
	FUZZ_CHECK(v >= 0);
	FUZZ_CHECK(strlen(s) >= 1 && strlen(s) <= 19);
	FUZZ_CHECK(strspn(s, "0123456789") == strlen(s));
}

static void fuzz_check_env(const struct request *req)
{
	size_t i;

	FUZZ_CHECK(req->uri_path && req->path && req->query);
	fuzz_check_str(req->uri_path);
	fuzz_check_str(req->path);
	fuzz_check_str(req->query);
	if (req->in_base)
		FUZZ_CHECK(req->path[0] == '/');
	fuzz_check_str(req->host);
	fuzz_check_str(req->origin);
	fuzz_check_str(req->last_event_id);
	fuzz_check_str(req->authorization);
	fuzz_check_str(req->content_type);
	fuzz_check_str(req->remote_addr);
	FUZZ_CHECK(req->content_length >= -1);
	fuzz_check_params(req->params, req->n_params);
	fuzz_check_id(req->last_event_id);
	fuzz_check_id(request_param(req, "lastEventId"));
	fuzz_check_id(request_param(req, "since"));
	fuzz_check_id(request_param(req, "timeout"));
	if (req->has_sid) {
		FUZZ_CHECK(strlen(req->sid) == REQUEST_SID_HEX_LEN);
		for (i = 0; i < REQUEST_SID_HEX_LEN; i++)
			FUZZ_CHECK(strchr("0123456789abcdef", req->sid[i]));
	}
}

/* Our own output must be accepted by our own strict parser, unchanged. */
static void fuzz_check_json_roundtrip(struct json_object *obj)
{
	struct json_object *back = NULL;
	char *s1 = NULL, *s2 = NULL;
	size_t n1, n2;

	if (json_to_string_compact(obj, &s1, &n1) != EC_OK)
		return; /* out of memory */
	FUZZ_CHECK(json_parse_object(s1, n1, &back) == EC_OK);
	if (json_to_string_compact(back, &s2, &n2) == EC_OK)
		FUZZ_CHECK(n1 == n2 && memcmp(s1, s2, n1) == 0);
	free(s1);
	free(s2);
	json_object_put(back);
}

static void fuzz_check_fields(const struct request *req)
{
	static const char *const names[] = {"username", "password", "event",
					    "data", ""};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *s = NULL;
		struct json_object *v = NULL;
		bool owned = false;
		enum ecode rc;

		rc = request_field_string(req, names[i], &s);
		FUZZ_CHECK((rc == EC_OK) == (s != NULL));
		fuzz_check_str(s);
		rc = request_field_json(req, names[i], &v, &owned);
		FUZZ_CHECK(rc == EC_OK || !owned);
		if (owned)
			json_object_put(v);
	}
	fuzz_check_str(request_param(req, "since"));
	fuzz_check_str(request_param(req, "timeout"));
	fuzz_check_str(request_param(req, "lastEventId"));
}

/* What api.c does with a request, minus the domain. */
static void fuzz_respond(const struct request *req, enum ecode rc)
{
	struct response res;
	struct buf out;
	enum route route = ROUTE_NONE;
	const char *allow = NULL;
	enum ecode mrc;

	mrc = router_match(req, &route, &allow);
	FUZZ_CHECK((mrc == EC_OK) == (route != ROUTE_NONE));
	FUZZ_CHECK((mrc == EC_METHOD_NOT_ALLOWED) == (allow != NULL));
	FUZZ_CHECK(router_name(route) != NULL);

	response_init(&res);
	buf_init(&out, RESPONSE_HEAD_MAX_BYTES + 4096);
	res.head_only = req->method == REQUEST_HEAD;
	if (rc == EC_OK && mrc == EC_OK && req->json)
		FUZZ_CHECK(response_json(&res, 200, req->json) == EC_OK);
	else
		FUZZ_CHECK(response_error(&res, 400, router_name(route),
					  req->path ? req->path : "") ==
			   EC_OK);
	if (allow)
		FUZZ_CHECK(response_header(&res, "Allow", allow) == EC_OK);
	/* Client bytes in a header: refused iff they hold CR or LF. */
	if (req->last_event_id) {
		mrc = response_header(&res, "X-Last", req->last_event_id);
		FUZZ_CHECK((mrc == EC_OK) ==
			   !strpbrk(req->last_event_id, "\r\n"));
	}
	(void)response_serialize(&res, &out);
	buf_release(&out);
	response_release(&res);
}

static void fuzz_run(char *const *envp, const uint8_t *body, size_t body_len,
		     const char *base)
{
	struct request req;
	enum ecode rc;

	request_init(&req);
	rc = request_parse_env(&req, envp, base);
	if (rc == EC_OK)
		fuzz_check_env(&req);
	if (rc == EC_OK && request_set_body(&req, body, body_len) == EC_OK) {
		rc = request_parse_body(&req);
		if (rc == EC_OK) {
			FUZZ_CHECK(req.body_kind != REQUEST_BODY_JSON ||
				   json_object_is_type(req.json,
						       json_type_object));
			fuzz_check_params(req.form, req.n_form);
			if (req.json)
				fuzz_check_json_roundtrip(req.json);
		} else {
			FUZZ_CHECK(req.body_kind == REQUEST_BODY_NONE);
		}
		fuzz_check_fields(&req);
	}
	fuzz_respond(&req, rc);
	request_release(&req);
}

int fuzz_request_one(const uint8_t *data, size_t size)
{
	char *env[FUZZ_MAX_ENV + 1];
	size_t n = 0, i, env_len = size, start = 0;
	const uint8_t *body = NULL;
	size_t body_len = 0;

	for (i = 0; i + 1 < size; i++) {
		if (data[i] == 0 && data[i + 1] == 0) {
			env_len = i;
			body = data + i + 2;
			body_len = size - i - 2;
			break;
		}
	}
	for (i = 0; i <= env_len && n < FUZZ_MAX_ENV; i++) {
		char *item;

		if (i < env_len && data[i] != 0)
			continue;
		if (i > start) {
			item = malloc(i - start + 1);
			if (!item)
				break;
			memcpy(item, data + start, i - start);
			item[i - start] = '\0';
			env[n++] = item;
		}
		start = i + 1;
	}
	env[n] = NULL;

	fuzz_run(env, body, body_len, "/api");
	fuzz_run(env, body, body_len, "");

	for (i = 0; i < n; i++)
		free(env[i]);
	return 0;
}

#ifdef FUZZ_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_request_one(data, size);
}
#endif
