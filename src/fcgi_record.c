/* fcgi_record.c -- placeholder, being written. */
#include "autoconfig.h"
