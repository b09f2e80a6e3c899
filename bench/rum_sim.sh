#!/bin/sh
# bench/rum_sim.sh: builds and runs the RUM simulator (bench/rum_sim.c)
# against the release archives of rum/, geo/ and common/.
#   sh bench/rum_sim.sh [rum_sim options: --networks N --hours H --seed S --explore X ...]
set -e
cd "$(dirname "$0")/.."
make -s build/release/librum.a build/release/libgeo.a build/release/libcommon.a
PKGS="libmaxminddb libevent libfyaml jansson liburcu-memb"
mkdir -p build/bench
cc -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -I. $(pkg-config --cflags $PKGS) \
   -o build/bench/rum_sim bench/rum_sim.c \
   build/release/librum.a build/release/libgeo.a build/release/libcommon.a \
   $(pkg-config --libs $PKGS) -lpthread -lm
exec build/bench/rum_sim "$@"
