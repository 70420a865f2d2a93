/* response.h -- an HTTP response in CGI form (pure).
 *
 * A FastCGI or CGI program answers with "Status: 200 OK\r\n", header lines,
 * an empty line and the body (RFC 3875 6.2).  Handlers fill a struct
 * response; the transport writes response_head() and the body.
 *
 *   struct response res;
 *   response_init(&res);
 *   response_json(&res, 200, obj);          // serialises obj, sets
 * Content-Type response_error(&res, 404, "not_found", "no such route");
 *   response_header(&res, "Allow", "GET");
 *   ... transport: response_serialize(&res, &out) ...
 *   response_release(&res);
 *
 * Every response carries "Cache-Control: no-store" unless a handler sets its
 * own Cache-Control.  A HEAD request (head_only) gets the headers and no body.
 */
#ifndef EMITCGI_RESPONSE_H
#define EMITCGI_RESPONSE_H

#include <stdbool.h>

#include "buf.h"
#include "error.h"

struct json_object;

#define RESPONSE_HEAD_MAX_BYTES 8192
#define RESPONSE_BODY_MAX_BYTES (64u << 20) /* a full replay of retention */

struct response {
	int status;	    /* 0 until set */
	struct buf headers; /* "Name: value\r\n" lines, without Status */
	struct buf body;
	bool head_only; /* answer to HEAD: body is not sent */
	bool has_cache_control;
};

void response_init(struct response *res);
void response_release(struct response *res);

/* Standard reason phrase ("OK", "Not Found", ...), "Unknown" if none. */
const char *response_reason(int status);

void response_status(struct response *res, int status);
/* Adds a header line.  Name and value must not contain CR or LF
 * (EC_INTERNAL otherwise). */
enum ecode response_header(struct response *res, const char *name,
			   const char *value);
/* Sets status, Content-Type: application/json and the body to obj's compact
 * serialisation (borrowed: the caller still owns obj). */
enum ecode response_json(struct response *res, int status,
			 struct json_object *obj);
/* {"error":code,"message":message} with the given status. */
enum ecode response_error(struct response *res, int status, const char *code,
			  const char *message);
/* Status with no body (e.g. 204). */
enum ecode response_empty(struct response *res, int status);

/* Appends the CGI head ("Status: ...\r\n" + headers + "\r\n") to out. */
enum ecode response_head(const struct response *res, struct buf *out);
/* Appends head and (unless head_only) body to out. */
enum ecode response_serialize(const struct response *res, struct buf *out);

#endif
