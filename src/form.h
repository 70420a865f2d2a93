#ifndef EMITCGI_FORM_H
#define EMITCGI_FORM_H
#endif
