/* conn.h -- FastCGI connections in the event loop: no thread waits on a
 * peer.
 *
 * The hub's loop (one thread) accepts on the listen socket, reads each
 * connection's records (fcgi_record.c) and params (fcgi_params.c) without
 * blocking, hands the whole request to a worker (workers.h) and, when the
 * worker is done, writes the reply or parks the connection in the hub.
 * A worker runs api_serve_buffered() on its own store connection and never
 * sees a socket.
 *
 *   struct conns *cs;
 *   conns_new(cfg, rt, hub, listen_fd, &cs);  // before hub_run(); sets
 *                                             // the hub's tick/give_back
 *   ... hub_run(hub) on the loop thread ...
 *   conns_free(cs);                           // after hub_run() returned
 *
 * Who owns a connection: the loop from accept to the end of the request
 * (reading, waiting for its worker, writing); the hub once it is parked
 * (hub_park() takes the fd); the loop again when a parked request ends
 * and the web server asked for FCGI_KEEP_CONN (hub_give_back_fn).  A
 * worker owns the request's bytes (params, body) while it runs, never
 * the connection.
 *
 * Deadlines per connection (a client that sends slowly or stops reading
 * costs its own connection and bounded memory, and is dropped):
 *   CONN_IDLE_MS    between requests on a kept (or a new) connection
 *   CONN_HEADER_MS  from FCGI_BEGIN_REQUEST to the end of FCGI_PARAMS
 *   CONN_BODY_MS    from there to the end of FCGI_STDIN
 *   CONN_WRITE_MS   to write a reply
 * Memory per connection: CONN_PARAMS_MAX of params, REQUEST_BODY_MAX_BYTES
 * of body (a larger body is read and discarded: 413), one partial record
 * (FCGI_RECORD_MAX_BYTES), the reply being written.
 *
 * Out of descriptors (EMFILE): one spare descriptor is given up to accept
 * the connection and answer its request 503 + Retry-After; the others wait
 * in the listen backlog (sized from net.core.somaxconn), never dropped.
 *
 * Files: conn.c (the connections), conn_job.c (their requests on the
 * workers), conn_int.h (what those two share).
 *
 * Threads: everything here runs on the hub's loop thread except the job
 * run by a worker (conn_job_run).  May call: fcgi_record.h,
 * fcgi_params.h, workers.h, hub.h, api.h, runtime.h, loop.h, and the
 * socket calls (accept4, read, send, close): a transport file.
 */
#ifndef EMITCGI_CONN_H
#define EMITCGI_CONN_H

#include "config.h"
#include "error.h"
#include "hub.h"
#include "runtime.h"

#define CONN_IDLE_MS 120000 /* longer than fronts' upstream keepalive */
#define CONN_HEADER_MS 10000
#define CONN_BODY_MS 30000
#define CONN_WRITE_MS 30000
#define CONN_PARAMS_MAX (2 * 16384) /* request.c answers 431 past 16 KiB */

struct conns;

/* Sets up the listener on the hub's loop and starts cfg->threads workers
 * (each opens its own store connection through rt; one that cannot ends
 * the process).  Loop thread, before hub_run(). */
enum ecode conns_new(const struct config *cfg, struct runtime *rt,
		     struct hub *hub, int listen_fd, struct conns **out);
/* After hub_run() returned: closes what is left. */
void conns_free(struct conns *cs);

/* The listen backlog to ask for: net.core.somaxconn (the kernel's cap),
 * at least 1024. */
int conns_backlog(void);

#endif
