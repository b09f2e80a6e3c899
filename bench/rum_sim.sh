#!/bin/sh
# bench/rum_sim.sh: builds the RUM simulator (bench/rum_sim.c) against the
# release archives of steering/, rum/, geo/ and common/, writes the geo
# databases of its networks (bench/rum_sim.pl, libmaxmind-db-writer-perl) and
# runs it: every request is decided by steer_decide on a compiled policy.
#   sh bench/rum_sim.sh [--networks N --hours H --seed S --explore X --half-life-min M
#                        --beacons B --chosen PCT --no-health]
set -e
cd "$(dirname "$0")/.."
make -s build/release/libsteering.a build/release/librum.a build/release/libgeo.a build/release/libcommon.a
PKGS="libmaxminddb libevent libevent_pthreads libfyaml jansson liburcu-memb"
mkdir -p build/bench
cc -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -I. $(pkg-config --cflags $PKGS) \
   -o build/bench/rum_sim bench/rum_sim.c \
   build/release/libsteering.a build/release/librum.a build/release/libgeo.a build/release/libcommon.a \
   $(pkg-config --libs $PKGS) -lpthread -lm
GEO=$(mktemp -d "${TMPDIR:-/tmp}/rum_sim_geo.XXXXXX")
trap 'rm -rf "$GEO"' EXIT
build/bench/rum_sim --print-networks "$@" | perl bench/rum_sim.pl "$GEO"
build/bench/rum_sim --geo-dir "$GEO" "$@"
