#ifndef EMITCGI_FCGI_H
#define EMITCGI_FCGI_H
#endif
