/* fuzz.h -- the fuzz targets of emitcgi, one per parser.
 *
 * Each tests/fuzz/fuzz_X.c defines fuzz_X_one(), which runs one input
 * through a parser and checks its invariants (abort() on a violation, so a
 * fuzzer or the sanitizers report it).  It returns 0, as libFuzzer wants.
 *
 * Two ways to run them:
 *   - make check: tests/unit/test_fuzz_replay feeds every file of
 *     tests/fuzz/corpus/X/ to fuzz_X_one() under ASan/UBSan;
 *   - libFuzzer: compile fuzz_X.c with -DFUZZ_LIBFUZZER, which adds
 *     LLVMFuzzerTestOneInput() calling fuzz_X_one().  From a configured
 *     build directory B (for autoconfig.h), e.g. for the request target:
 *
 *       clang -g -O1 -fsanitize=fuzzer,address,undefined -DFUZZ_LIBFUZZER \
 *         -IB -Isrc $(pkg-config --cflags json-c) -o fuzz_request \
 *         tests/fuzz/fuzz_request.c \
 *         src/{utf8,form,json,request,response,router,buf}.c \
 *         $(pkg-config --libs json-c)
 *       mkdir -p /tmp/corpus && ./fuzz_request -max_total_time=60 \
 *         /tmp/corpus tests/fuzz/corpus/request
 *
 *     New files in /tmp/corpus that cover something new (or crashed) are
 *     worth copying into tests/fuzz/corpus/X/.
 *
 * To add a target: a fuzz_X_one() here, tests/fuzz/fuzz_X.c, a seed
 * directory tests/fuzz/corpus/X/ and a row in test_fuzz_replay.c.
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* CGI variables and a body: NUL-separated "NAME=VALUE" items, then "\0\0",
 * then the body (fuzz_request.c). */
int fuzz_request_one(const uint8_t *data, size_t size);

/* A form or query string; also fed to utf8_valid() and the JSON parser
 * (fuzz_form.c). */
int fuzz_form_one(const uint8_t *data, size_t size);

/* FastCGI record bytes (fuzz_fcgi_record.c). */
int fuzz_fcgi_record_one(const uint8_t *data, size_t size);

/* An FCGI_PARAMS stream (fuzz_fcgi_params.c). */
int fuzz_fcgi_params_one(const uint8_t *data, size_t size);
/* An Engine.IO payload with Socket.IO packets (fuzz_eio.c). */
int fuzz_eio_one(const uint8_t *data, size_t size);

#ifdef FUZZ_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
#endif

#endif
