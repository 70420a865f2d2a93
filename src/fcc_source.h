/* fcc_source.h -- the text of src/login.c, embedded at build time.
 *
 * GET /_api/server.js serves it when EMITCGI_FCC_TESTING=1: freeCodeCamp's
 * checker for "Communicate by Emitting" fetches that path from the app it
 * tests and matches the server's source against regular expressions.  The
 * installed program has no source tree, so the build turns src/login.c
 * into src/fcc_source.c (build-aux/text2c.sh, see Makefile.am); the text
 * is byte for byte the file's (tests/unit/test_login.c compares them).
 */
#ifndef EMITCGI_FCC_SOURCE_H
#define EMITCGI_FCC_SOURCE_H

#include <stddef.h>

extern const char fcc_source[];	    /* NUL-terminated */
extern const size_t fcc_source_len; /* strlen(fcc_source) */

#endif
