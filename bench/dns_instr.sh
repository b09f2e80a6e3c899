#!/bin/bash
# bench/dns_instr.sh: user-space instructions per steered query, steerd vs
# gdnsd, under the same counter. Loopback only, about 30 s.
#
#   bash bench/dns_instr.sh                  # failover map (bench/dns.sh --steered)
#   bash bench/dns_instr.sh --weighted       # weighted variant
#   RATE=2000 TOP=20 bash bench/dns_instr.sh # TOP: steerd's hottest functions too
#   GDNSD_PORT=15680 STEERD_PORT=15681 bash bench/dns_instr.sh   (the defaults)
#   KEEP=1 bash bench/dns_instr.sh           # keep the temp dir (cg.gdnsd, cg.steerd
#                                            # for callgrind_annotate --auto=yes)
#
# The machine has no hardware counters (perf stat -e instructions:u says
# "not supported" in this VM), so the counter is valgrind's callgrind: it
# counts every user-space instruction executed (Ir), in every thread, the
# server's own code and its libraries (libc's recvmmsg/sendmmsg wrappers,
# libmaxminddb, ...), never the kernel. Each server runs under callgrind
# with instrumentation off (--instr-atstart=no), with the same configs, zone,
# database and query file as `bench/dns.sh --steered`. When it answers,
# `callgrind_control -i on` starts counting, dnsperf sends the ~20k ECS
# queries once (-n 1) at a fixed rate the valgrind'ed server keeps up with,
# `callgrind_control -i off` stops counting, and the server is stopped by
# PID. Instructions per query = Ir counted / queries answered. The window
# also holds whatever the idle threads do (a few timers): it is counted to
# both servers' debit alike.
#
# Prints Ir/query for each and the ratio steerd/gdnsd (lower is better).
# Not a test: it only prints numbers. Kills both servers by PID on exit.
set -u
cd "$(dirname "$0")/.." || exit 2
ROOT=$(pwd)

WEIGHTED=0
for arg in "$@"; do
    case $arg in
    --weighted) WEIGHTED=1 ;;
    *) echo "usage: bash bench/dns_instr.sh [--weighted]" >&2; exit 2 ;;
    esac
done
RATE=${RATE:-2500}               # offered qps: valgrind'ed servers keep up (no losses)
TOP=${TOP:-0}                    # >0: print steerd's TOP hottest functions
GDNSD_PORT=${GDNSD_PORT:-15680}
STEERD_PORT=${STEERD_PORT:-15681}
START_TIMEOUT=600                # x0.1 s: startup under valgrind is slow

for tool in gdnsd dnsperf dig python3 valgrind callgrind_control callgrind_annotate; do
    command -v "$tool" >/dev/null || { echo "bench/dns_instr.sh: $tool is not installed" >&2; exit 2; }
done
make -s -j2 bin/steerd >/dev/null || { echo "bench/dns_instr.sh: cannot build bin/steerd" >&2; exit 2; }

TMP=$(mktemp -d /tmp/steer-bench-instr.XXXXXX)
[ -n "${KEEP:-}" ] && echo "keeping $TMP" >&2
PID=""
cleanup() {
    if [ -n "$PID" ]; then kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; fi
    [ -n "${KEEP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

. bench/dns/lib.sh   # port_busy, fill, steered_configs, wait_dns
for p in $GDNSD_PORT $STEERD_PORT; do
    if port_busy "$p"; then echo "bench/dns_instr.sh: port $p is already in use" >&2; exit 2; fi
done

ZONE=steered.test
QUERIES=$TMP/ecs-queries.bin
mkdir -p "$TMP/gdnsd/zones" "$TMP/gdnsd/run" "$TMP/steerd"
sfx=""
[ $WEIGHTED = 1 ] && sfx=-weighted
steered_configs "$sfx" "$GDNSD_PORT" "$STEERD_PORT" "$ZONE"
python3 bench/dns/gen_ecs_queries.py geo/fixture/gen.pl "$QUERIES" www.steered.test 2>/dev/null || exit 2

# measure NAME PORT cmd... -> "Ir completed lost"
measure() {
    local name=$1 port=$2; shift 2
    local out="$TMP/cg.$name"
    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out" "$@" \
        >"$TMP/$name.log" 2>&1 &
    PID=$!
    wait_dns "$port" "$PID" ns1.steered.test "$START_TIMEOUT" 2 || { echo "$name did not start:" >&2; cat "$TMP/$name.log" >&2; exit 1; }
    callgrind_control -i on "$PID" >/dev/null 2>&1 || { echo "callgrind_control failed" >&2; exit 1; }
    local perf
    perf=$(dnsperf -B -s 127.0.0.1 -p "$port" -d "$QUERIES" -n 1 -c 4 -T 1 -q 100 -t 5 -Q "$RATE" 2>&1)
    callgrind_control -i off "$PID" >/dev/null 2>&1
    kill "$PID"
    wait "$PID" 2>/dev/null
    PID=""
    local ir done_ lost
    # one file for all threads (no --separate-threads); its "totals:" line
    # has the instructions counted while instrumentation was on
    ir=$(awk '/^totals:/ { v = $2 } END { print v }' "$out")
    done_=$(echo "$perf" | awk '/Queries completed:/ { print $3 }')
    lost=$(echo "$perf" | awk '/Queries lost:/ { print $3 }')
    echo "${ir:-0} ${done_:-0} ${lost:-?}"
}

echo "steered$([ $WEIGHTED = 1 ] && echo ' (weighted)'): user-space instructions per query (callgrind Ir), $(basename "$QUERIES") once at $RATE qps"
read -r g_ir g_n g_lost < <(measure gdnsd "$GDNSD_PORT" gdnsd -c "$TMP/gdnsd" start)
read -r s_ir s_n s_lost < <(measure steerd "$STEERD_PORT" "$ROOT/bin/steerd" -c "$TMP/steerd/steerd.yaml")
awk -v gi="$g_ir" -v gn="$g_n" -v gl="$g_lost" -v si="$s_ir" -v sn="$s_n" -v sl="$s_lost" 'BEGIN {
    g = gn ? gi / gn : 0; s = sn ? si / sn : 0
    printf "  gdnsd  %8d queries answered (%s lost)  %14d Ir  %7.0f Ir/query\n", gn, gl, gi, g
    printf "  steerd %8d queries answered (%s lost)  %14d Ir  %7.0f Ir/query\n", sn, sl, si, s
    printf "ratio steerd/gdnsd  %.3f   (lower is better)\n", g ? s / g : 0
}'
if [ "$TOP" -gt 0 ] 2>/dev/null; then
    echo
    echo "steerd, hottest functions (self cost, Ir over the whole run):"
    callgrind_annotate --threshold=100 "$TMP/cg.steerd" 2>/dev/null |
        awk '/^-+$/ { n++ } n >= 3 && /[0-9]/' | head -n "$TOP"
fi
