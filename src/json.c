/* json.c -- placeholder, being written. */
#include "autoconfig.h"
