#ifndef EMITCGI_CGI_H
#define EMITCGI_CGI_H
#endif
