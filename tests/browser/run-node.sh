#!/bin/sh
exec node "$@"
