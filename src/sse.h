/* sse.h -- Server-Sent-Events framing (pure; WHATWG HTML "Server-sent
 * events").  Each function appends one frame to out.
 *
 *   sse_format_retry(out, 3000)        "retry: 3000\n\n"
 *   sse_format_event(out, 7, "user count", "3")
 *                                      "id: 7\nevent: user count\ndata: 3\n\n"
 *   sse_format_ping(out)               ": ping\n\n"
 *   sse_format_reset(out)              "event: reset\ndata: {}\n\n"
 *
 * data is one line of JSON (json-c's compact output never holds a newline);
 * should it hold CR or LF anyway, each line becomes its own "data:" line.
 */
#ifndef EMITCGI_SSE_H
#define EMITCGI_SSE_H

#include <stdint.h>

#include "buf.h"
#include "error.h"

#define SSE_RETRY_MS 3000

enum ecode sse_format_retry(struct buf *out, int retry_ms);
enum ecode sse_format_event(struct buf *out, int64_t id, const char *name,
			    const char *data_json);
enum ecode sse_format_ping(struct buf *out);
enum ecode sse_format_reset(struct buf *out);

#endif
