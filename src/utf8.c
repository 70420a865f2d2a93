/* utf8.c -- placeholder, being written. */
#include "autoconfig.h"
