#ifndef EMITCGI_API_H
#define EMITCGI_API_H
#endif
