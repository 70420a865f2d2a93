/* auth.c -- usernames, passwords and session ids (see auth.h).
 *
 * No storage and no HTTP: api.c checks the input with auth_check_*(),
 * hashes at registration, verifies at login (auth_verify_dummy() when the
 * name is unknown, so both failures cost the same time), and makes the
 * cookie with auth_new_sid().
 *
 *   auth_hash_password("correct horse", hash, sizeof(hash));  "$y$j9T$..."
 *   auth_verify_password("correct horse", hash, &ok);          ok == true
 *
 * Invariants:
 * - yescrypt through libxcrypt with its default cost (crypt_gensalt_rn with
 *   count 0); the salt comes from the OS (rbytes NULL).  A stored hash keeps
 *   its own parameters, so raising the cost later only affects new hashes.
 * - struct crypt_data (32 KiB) lives on the heap, not on a thread's stack,
 *   and is wiped before it is freed (it held the password).
 * - A hash string starting with '*' is libxcrypt's failure token: never a
 *   match.  Comparison is constant-time in the hash's contents.
 *
 * - Session ids are stored hashed (auth_sid_hash()): a 256-bit random
 *   token needs no salt or stretching, one BLAKE2b-256 makes the stored
 *   value useless as a cookie.
 *
 * To change the algorithm: change AUTH_HASH_PREFIX (and the dummy hash to
 * one of the same kind); old hashes still verify, since crypt_rn reads the
 * method from the hash itself.
 */
#include "autoconfig.h"

#include <crypt.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <sodium.h>

#include "auth.h"
#include "log.h"

#define AUTH_HASH_PREFIX "$y$"
#define AUTH_SID_BYTES (AUTH_SID_HEX_LEN / 2)

/* A valid yescrypt hash at the default cost, so that auth_verify_dummy()
 * does the same work as a real check.  Its phrase does not matter: the
 * result is thrown away. */
static const char auth_dummy_hash[] =
	"$y$j9T$KT2ouJNqd88avGm0eWkoM."
	"$sYZfrQbh8IS0rd/8pjsHvGt31NRHR6z46/97yU2leT4";

enum ecode auth_check_username(const char *username)
{
	size_t len;

	if (!username)
		return EC_INVALID_USERNAME;
	len = strlen(username);
	if (len < AUTH_USERNAME_MIN || len > AUTH_USERNAME_MAX)
		return EC_INVALID_USERNAME;
	for (size_t i = 0; i < len; i++) {
		char c = username[i];

		/* ASCII ranges on purpose: isalnum() follows the locale. */
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		      c == '-'))
			return EC_INVALID_USERNAME;
	}
	return EC_OK;
}

enum ecode auth_check_password(const char *password, size_t len)
{
	if (!password || len < AUTH_PASSWORD_MIN || len > AUTH_PASSWORD_MAX)
		return EC_INVALID_PASSWORD;
	/* crypt() takes a C string: a NUL would cut the password short. */
	if (memchr(password, '\0', len))
		return EC_INVALID_PASSWORD;
	return EC_OK;
}

/* crypt_rn into a heap crypt_data; *out borrowed from *data. */
static enum ecode auth_crypt(const char *password, const char *setting,
			     struct crypt_data **data, const char **out)
{
	const char *h;

	*out = NULL;
	*data = calloc(1, sizeof(**data));
	if (!*data)
		return EC_NOMEM;
	errno = 0;
	h = crypt_rn(password, setting, *data, (int)sizeof(**data));
	if (!h || h[0] == '*') {
		*out = NULL;
		return EC_OK; /* malformed setting: the caller decides */
	}
	*out = h;
	return EC_OK;
}

static void auth_crypt_free(struct crypt_data *data)
{
	if (data) {
		explicit_bzero(data, sizeof(*data));
		free(data);
	}
}

enum ecode auth_hash_password(const char *password, char *out, size_t out_size)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *data = NULL;
	const char *h;
	size_t len;
	enum ecode rc;

	if (!password || !out || out_size == 0)
		return EC_INTERNAL;
	out[0] = '\0';
	if (!crypt_gensalt_rn(AUTH_HASH_PREFIX, 0, NULL, 0, salt,
			      (int)sizeof(salt))) {
		log_error("auth: crypt_gensalt_rn: %s", strerror(errno));
		return EC_IO;
	}
	if ((rc = auth_crypt(password, salt, &data, &h)) != EC_OK)
		goto out;
	if (!h) {
		log_error("auth: crypt_rn failed: %s", strerror(errno));
		rc = EC_INTERNAL;
		goto out;
	}
	len = strlen(h);
	if (len >= out_size || len > AUTH_HASH_MAX) {
		rc = EC_TOO_LARGE;
		goto out;
	}
	memcpy(out, h, len + 1);
out:
	auth_crypt_free(data);
	return rc;
}

/* Equal length is not secret (every hash of one setting has the same
 * length); the contents are compared without an early exit. */
static bool auth_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	volatile unsigned char diff = 0;

	if (la != lb)
		return false;
	for (size_t i = 0; i < la; i++)
		diff |= (unsigned char)a[i] ^ (unsigned char)b[i];
	return diff == 0;
}

enum ecode auth_verify_password(const char *password, const char *hash,
				bool *ok)
{
	struct crypt_data *data = NULL;
	const char *h;
	enum ecode rc;

	*ok = false;
	if (!password || !hash || hash[0] == '\0' || hash[0] == '*')
		return EC_OK;
	if ((rc = auth_crypt(password, hash, &data, &h)) != EC_OK)
		goto out;
	*ok = h != NULL && auth_equal(h, hash);
out:
	auth_crypt_free(data);
	return rc;
}

void auth_verify_dummy(const char *password)
{
	bool ok;

	/* Only the time spent matters; a failure here changes nothing. */
	(void)auth_verify_password(password ? password : "", auth_dummy_hash,
				   &ok);
}

enum ecode auth_new_sid(char out[AUTH_SID_HEX_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[AUTH_SID_BYTES];
	size_t got = 0;
	ssize_t n;

	while (got < sizeof(raw)) {
		n = getrandom(raw + got, sizeof(raw) - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_error("auth: getrandom: %s", strerror(errno));
			out[0] = '\0';
			return EC_IO;
		}
		got += (size_t)n;
	}
	for (size_t i = 0; i < sizeof(raw); i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 0x0f];
	}
	out[AUTH_SID_HEX_LEN] = '\0';
	explicit_bzero(raw, sizeof(raw));
	return EC_OK;
}

/* sodium_init() is thread-safe and idempotent: 0 the first time, 1 after,
 * -1 if the library cannot start. */
static bool auth_sodium_ready(void)
{
	if (sodium_init() < 0) {
		log_error("auth: libsodium failed to initialise");
		return false;
	}
	return true;
}

enum ecode auth_sid_hash(const char *sid, char out[AUTH_SID_HEX_LEN + 1])
{
	unsigned char h[crypto_generichash_BYTES];

	out[0] = '\0';
	if (!sid || !auth_sodium_ready())
		return EC_INTERNAL;
	_Static_assert(crypto_generichash_BYTES * 2 == AUTH_SID_HEX_LEN,
		       "a hashed sid is as long as a sid");
	if (crypto_generichash(h, sizeof(h), (const unsigned char *)sid,
			       strlen(sid), NULL, 0) != 0)
		return EC_INTERNAL;
	sodium_bin2hex(out, AUTH_SID_HEX_LEN + 1, h, sizeof(h));
	return EC_OK;
}

bool auth_token_equal(const char *a, const char *b)
{
	unsigned char ha[crypto_generichash_BYTES];
	unsigned char hb[crypto_generichash_BYTES];

	if (!a || !b || !auth_sodium_ready())
		return false;
	if (crypto_generichash(ha, sizeof(ha), (const unsigned char *)a,
			       strlen(a), NULL, 0) != 0 ||
	    crypto_generichash(hb, sizeof(hb), (const unsigned char *)b,
			       strlen(b), NULL, 0) != 0)
		return false;
	return sodium_memcmp(ha, hb, sizeof(ha)) == 0;
}
