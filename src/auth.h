/* auth.h -- usernames, passwords and session ids (no storage, no HTTP).
 *
 * Passwords are hashed with yescrypt through libxcrypt (crypt_gensalt_rn
 * with prefix "$y$", crypt_rn); verification compares in constant time.
 * Session ids are 256 bits from getrandom(2), as 64 lower-case hex chars.
 * What the store keeps of one is auth_sid_hash(): BLAKE2b-256 (libsodium's
 * crypto_generichash), also 64 hex chars, so the database and its -wal
 * never hold a cookie (issue 9; docs/SECURITY.md says why libsodium).
 * Thread-safe: no shared state (libsodium's init is once and thread-safe).
 */
#ifndef EMITCGI_AUTH_H
#define EMITCGI_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define AUTH_USERNAME_MIN 1
#define AUTH_USERNAME_MAX 32
#define AUTH_PASSWORD_MIN 8
#define AUTH_PASSWORD_MAX 256
#define AUTH_HASH_MAX 256
#define AUTH_SID_HEX_LEN 64

/* 1..32 of [A-Za-z0-9_.-], else EC_INVALID_USERNAME. */
enum ecode auth_check_username(const char *username);
/* 8..256 bytes, no NUL, else EC_INVALID_PASSWORD. */
enum ecode auth_check_password(const char *password, size_t len);

/* out gets the yescrypt hash string ("$y$..."). */
enum ecode auth_hash_password(const char *password, char *out, size_t out_size);
/* *ok true when password matches hash.  A malformed hash is *ok false. */
enum ecode auth_verify_password(const char *password, const char *hash,
				bool *ok);
/* Spends the time of one verification, for unknown users (no oracle). */
void auth_verify_dummy(const char *password);

/* out: 64 hex chars + NUL. */
enum ecode auth_new_sid(char out[AUTH_SID_HEX_LEN + 1]);

/* out: BLAKE2b-256 of sid as 64 lower-case hex chars + NUL: the key under
 * which the store keeps the session.  EC_INTERNAL if libsodium cannot
 * start (then nothing may be looked up). */
enum ecode auth_sid_hash(const char *sid, char out[AUTH_SID_HEX_LEN + 1]);

/* Constant time in the contents of a and b (both hashed first, so their
 * lengths leak nothing either): for bearer tokens. */
bool auth_token_equal(const char *a, const char *b);

#endif
