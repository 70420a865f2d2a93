/* fcgi_params.h -- FastCGI name-value pairs (pure): the FCGI_PARAMS
 * stream of a request, parsed into a CGI environment, and built for
 * clients (tests, the load client).
 *
 * The FastCGI Specification 1.0, section 3.4: each pair is a name length,
 * a value length (one byte when < 128, else four bytes with the high bit
 * set), then the name and value bytes.  The stream of a request is the
 * concatenation of its FCGI_PARAMS records' contents; a pair may span
 * records, so the caller gathers the whole stream first (capped by the
 * caller) and parses it once.
 *
 *   struct fcgi_params_env env;
 *   rc = fcgi_params_env(bytes, len, &env);  // env.envp: "NAME=VALUE"...
 *   ... request_parse_env(&req, env.envp, base) ...
 *   fcgi_params_env_free(&env);
 *
 *   fcgi_params_append(&out, "REQUEST_METHOD", "GET");   // client side
 *
 * Invariants: never reads past len; a pair whose lengths run past the
 * end, or a name with '=' or NUL, is EC_INVALID_PARAM and nothing is
 * kept; every string handed out is NUL-terminated.  No I/O: fuzzed by
 * tests/fuzz/fuzz_fcgi_params.c.
 */
#ifndef EMITCGI_FCGI_PARAMS_H
#define EMITCGI_FCGI_PARAMS_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "error.h"

/* Called per pair by fcgi_params_parse(); name and value are not
 * NUL-terminated.  Return false to stop (EC_OK is returned). */
typedef bool fcgi_params_fn(void *ctx, const char *name, size_t name_len,
			    const char *value, size_t value_len);

/* Walks the pairs of data[0..len).  EC_INVALID_PARAM when a pair is
 * truncated or malformed (fn may have been called for the pairs before). */
enum ecode fcgi_params_parse(const void *data, size_t len, fcgi_params_fn *fn,
			     void *ctx);

/* A CGI environment: envp[i] are "NAME=VALUE" strings in one block. */
struct fcgi_params_env {
	char **envp; /* NULL-terminated; NULL before fcgi_params_env() */
	size_t n;
};

/* Parses the stream into env (one allocation).  EC_INVALID_PARAM,
 * EC_NOMEM; on error env is empty. */
enum ecode fcgi_params_env(const void *data, size_t len,
			   struct fcgi_params_env *env);
void fcgi_params_env_free(struct fcgi_params_env *env);

/* Appends one pair to out (client side). */
enum ecode fcgi_params_append(struct buf *out, const char *name,
			      const char *value);

#endif
