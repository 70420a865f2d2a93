#ifndef EMITCGI_LOOP_H
#define EMITCGI_LOOP_H
#endif
