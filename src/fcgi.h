/* fcgi.h -- the FastCGI server: the loop thread, the workers, the
 * housekeeping thread, signals.
 *
 * fcgi_serve() runs until SIGTERM, SIGINT or SIGHUP:
 *   - one event loop (the hub's thread) accepts on the listen socket and
 *     reads and writes every connection without blocking (conn.h);
 *   - cfg->threads worker threads run the handlers on requests read whole,
 *     each with its own store connection (workers.h), and never hold a
 *     socket;
 *   - a request that must wait is parked in the hub, on the same loop;
 *   - a housekeeping thread keeps parked sessions online, takes idle ones
 *     offline and trims the event log about once a second;
 *   - on SIGTERM the hub ends every stream and poll, in-flight requests get
 *     a moment to finish, and the process exits 0 within 5 s.
 *
 * The listen socket is fd 0 when a web server or spawn-fcgi started us, or
 * one made by fcgi_listen() for --listen.
 */
#ifndef EMITCGI_FCGI_H
#define EMITCGI_FCGI_H

#include "config.h"
#include "error.h"

/* Opens a listening socket for "unix:/path", "HOST:PORT" or "[V6]:PORT".
 * A stale socket file at /path is replaced.  msg gets a one-line reason. */
enum ecode fcgi_listen(const char *spec, int *fd, char *msg, size_t msg_size);

/* Serves FastCGI on listen_fd until a stop signal.  Returns the exit
 * status for main(). */
int fcgi_serve(const struct config *cfg, int listen_fd);

#endif
