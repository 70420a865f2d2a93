/* longpoll.h -- the long-poll response body (pure).
 *
 *   {"events":[{"id":7,"event":"user count","data":3}],"lastEventId":7}
 *   {"events":[...snapshot...],"lastEventId":7,"reset":true}
 *
 * Built in three steps so that many events stream into one buffer:
 *   longpoll_begin(out);
 *   longpoll_add(out, &first, id, name, data_json);   // per event
 *   longpoll_end(out, last_id, reset);
 * data_json is inserted as is (it is JSON from the log); name is escaped.
 */
#ifndef EMITCGI_LONGPOLL_H
#define EMITCGI_LONGPOLL_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"

enum ecode longpoll_begin(struct buf *out);
/* *first is true before the first event and set false by the call. */
enum ecode longpoll_add(struct buf *out, bool *first, int64_t id,
			const char *name, const char *data_json);
enum ecode longpoll_end(struct buf *out, int64_t last_id, bool reset);

#endif
