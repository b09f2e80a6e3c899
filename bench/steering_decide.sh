#!/bin/sh
# bench/steering_decide.sh: micro-benchmark of steer_decide (ns/call) on the
# demo steering config, against a bare libmaxminddb lookup from the same run.
# Builds the release archives, compiles bench/steering_decide.c against them.
#   sh bench/steering_decide.sh [ITERATIONS]
set -e
cd "$(dirname "$0")/.."
make -s build/release/libsteering.a build/release/librum.a build/release/libgeo.a build/release/libcommon.a
PKGS="ldns libcares libmaxminddb libevent libfyaml jansson liburcu-memb openssl"
mkdir -p build/bench
cc -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -I. $(pkg-config --cflags $PKGS) \
   -o build/bench/steering_decide bench/steering_decide.c \
   build/release/libsteering.a build/release/librum.a build/release/libgeo.a build/release/libcommon.a \
   $(pkg-config --libs $PKGS) -lpthread -lm
exec build/bench/steering_decide examples/steering-demo.yaml "${1:-2000000}"
