/* cgi.h -- plain CGI: one request per process (RFC 3875).
 *
 * The request comes from the environment and stdin, the answer goes to
 * stdout.  A stream or a long-poll still works: the process parks its own
 * stdout in a hub (HUB_SINK_RAW) and is woken across processes through the
 * database's notify file, then exits when the wait ends.
 */
#ifndef EMITCGI_CGI_H
#define EMITCGI_CGI_H

#include "config.h"

/* Answers the one request; returns the exit status for main(). */
int cgi_serve(const struct config *cfg);

#endif
