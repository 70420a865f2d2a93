#ifndef EMITCGI_JSON_H
#define EMITCGI_JSON_H
#endif
