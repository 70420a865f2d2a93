/* fuzz_fcgi_params.c -- fuzz target for the FastCGI name-value pair
 * parser: fcgi_params_parse(), fcgi_params_env(), fcgi_params_append().
 *
 * Input: an FCGI_PARAMS stream as a web server might send it.
 *
 * Invariants checked (abort() on violation):
 *   - fcgi_params_env() succeeds exactly when fcgi_params_parse() does;
 *   - on success every envp[i] is "NAME=VALUE" with a non-empty NAME free
 *     of '=' and NUL, and envp[n] is NULL;
 *   - the pairs encoded again with fcgi_params_append() parse into the
 *     same environment (a round trip), byte for byte.
 */
#include "autoconfig.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fcgi_params.h"
#include "fuzz.h"

int fuzz_fcgi_params_one(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                       \
	do {                                                                   \
		if (!(cond))                                                   \
			abort();                                               \
	} while (0)

static bool fuzz_count(void *ctx, const char *name, size_t name_len,
		       const char *value, size_t value_len)
{
	(void)name;
	(void)name_len;
	(void)value;
	(void)value_len;
	(*(size_t *)ctx)++;
	return true;
}

int fuzz_fcgi_params_one(const uint8_t *data, size_t size)
{
	struct fcgi_params_env env, again;
	enum ecode rc_parse, rc_env;
	struct buf enc;
	size_t n = 0;

	rc_parse = fcgi_params_parse(data, size, fuzz_count, &n);
	rc_env = fcgi_params_env(data, size, &env);
	if (rc_env == EC_NOMEM)
		return 0;
	FUZZ_CHECK((rc_parse == EC_OK) == (rc_env == EC_OK));
	if (rc_env != EC_OK) {
		FUZZ_CHECK(env.envp == NULL);
		return 0;
	}
	FUZZ_CHECK(env.n == n && env.envp[n] == NULL);
	/* Names hold neither '=' nor NUL; a value may hold NUL, and then its
	 * C string ends there: what is encoded again is that C string. */
	buf_init(&enc, 1u << 24);
	for (size_t i = 0; i < n; i++) {
		char *eq = strchr(env.envp[i], '=');

		FUZZ_CHECK(eq && eq > env.envp[i]);
		*eq = '\0';
		if (fcgi_params_append(&enc, env.envp[i], eq + 1) != EC_OK) {
			*eq = '=';
			goto out;
		}
		*eq = '=';
	}
	if (fcgi_params_env(enc.data, enc.len, &again) == EC_OK) {
		bool same_shape = again.n == n;

		for (size_t i = 0; same_shape && i < n; i++)
			FUZZ_CHECK(!strcmp(env.envp[i], again.envp[i]));
		fcgi_params_env_free(&again);
		FUZZ_CHECK(same_shape);
	} else {
		FUZZ_CHECK(0);
	}
out:
	buf_release(&enc);
	fcgi_params_env_free(&env);
	return 0;
}

#ifdef FUZZ_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_fcgi_params_one(data, size);
}
#endif
