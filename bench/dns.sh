#!/bin/bash
# bench/dns.sh: steerd vs gdnsd, loopback only. Two modes:
#
#   bash bench/dns.sh                       static zone (about 100 s)
#   bash bench/dns.sh --steered             steered name, failover (about 100 s)
#   bash bench/dns.sh --steered --weighted  steered name, weighted 70/30
#   ROUNDS=3 DURATION=10 RATE=20000 CLIENTS=4 OUTSTANDING=200 THREADS=2 bash bench/dns.sh [--steered]
#   GDNSD_PORT=15663 STEERD_PORT=15664 bash bench/dns.sh ...   (defaults 15653, 15654)
#
# Static: both servers serve bench/dns/bench.test.zone; dnsperf replays
# bench/dns/queries.txt (A, AAAA, MX, NS, SOA, TXT, SRV, CNAME chains,
# wildcard, referral, NXDOMAIN, mixed case).
#
# Steered: both serve bench/dns/steered.test.zone whose www.steered.test is
# dynamic: in steerd from its steering engine (bench/dns/steerd-steered.yaml.in:
# two PoPs, continent rules, a `failover` pool per rule: geo lookup + rule
# match + pick), in gdnsd from plugin_geoip (bench/dns/gdnsd-steered.config.in:
# a map with the same continent -> datacenter order, `www 30 DYNA geoip!www`).
# Both read the SAME database, geo/fixture/steer-city.mmdb; health checks are
# off on both sides (steerd: providers without checks; gdnsd: service_types
# => up). bench/dns/gen_ecs_queries.py writes the query file in dnsperf's
# binary format (dnsperf -B): ~20k queries (3/4 A, 1/4 AAAA), each with an
# EDNS Client Subnet option for a distinct subnet: every /24 of the fixture's
# IPv4 networks (London and Toronto /12, Sao Paulo and Johannesburg /16, the
# /25 and /26 networks with their own length), 1800 /56s in each IPv6 /36
# (six continents), and unknown /24s and /56s (default mapping). With
# --weighted each rule's pool splits 70/30 between the PoPs (steerd
# `weighted`: hash of the client's subnet; gdnsd: plugin_weighted under each
# datacenter, a random pick per query), so both do geo + weighted pick.
# Before measuring, dig asks both servers for sample subnets of every
# continent and prints answer and ECS scope side by side (answers must be the
# same, else the run stops; scopes may differ: gdnsd merges adjacent networks
# with the same datacenter list into wider scopes, steerd reports the
# database network's own length).
#
# Both modes: 2 UDP threads per server (gdnsd: udp_threads/tcp_threads = 2;
# steerd: workers: 2). Interleaved runs gdnsd, steerd, gdnsd, steerd, ...
# for ROUNDS rounds of DURATION seconds at saturation. For every run it
# prints the QPS and the server's CPU time per answered query (user+sys
# ticks of the server process from /proc/PID/stat, before/after the run).
# Then ROUNDS runs per server at a fixed offered rate below saturation (RATE
# qps) with dnsperf -v, from whose per-query lines p50/p99 latency is
# computed (also interleaved; medians reported). The summary gives medians
# over rounds and every figure as the ratio steerd/gdnsd (QPS: higher is
# better; CPU per query and latency: lower is better).
#
# Not a test: it only prints numbers. It kills both servers by PID on exit.
set -u
cd "$(dirname "$0")/.." || exit 2
ROOT=$(pwd)

MODE=static
WEIGHTED=0
for arg in "$@"; do
    case $arg in
    --steered) MODE=steered ;;
    --weighted) WEIGHTED=1 ;;
    *) echo "usage: bash bench/dns.sh [--steered [--weighted]]" >&2; exit 2 ;;
    esac
done
if [ $WEIGHTED = 1 ] && [ $MODE != steered ]; then
    echo "bench/dns.sh: --weighted needs --steered" >&2
    exit 2
fi

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}         # seconds per saturation run
RATE=${RATE:-20000}              # offered qps for the latency runs
RATE_DURATION=${RATE_DURATION:-5}
CLIENTS=${CLIENTS:-4}            # dnsperf -c: UDP sockets (spread over both server threads)
OUTSTANDING=${OUTSTANDING:-200}  # dnsperf -q: enough in flight to keep both servers busy
THREADS=${THREADS:-2}            # dnsperf -T
GDNSD_PORT=${GDNSD_PORT:-15653}   # both in the bench range 15650-15699
STEERD_PORT=${STEERD_PORT:-15654}
HZ=$(getconf CLK_TCK)

for tool in gdnsd dnsperf dig python3; do
    command -v "$tool" >/dev/null || { echo "bench/dns.sh: $tool is not installed (make deps)" >&2; exit 2; }
done
# always through make: a stale bin/steerd would be measured otherwise
make -s -j2 bin/steerd >/dev/null || { echo "bench/dns.sh: cannot build bin/steerd" >&2; exit 2; }

TMP=$(mktemp -d /tmp/steer-bench-dns.XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do
        kill "$p" 2>/dev/null
    done
    for p in "${PIDS[@]}"; do
        wait "$p" 2>/dev/null
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

. bench/dns/lib.sh   # port_busy, fill, steered_configs, wait_dns
for p in $GDNSD_PORT $STEERD_PORT; do
    if port_busy "$p"; then echo "bench/dns.sh: port $p is already in use" >&2; exit 2; fi
done

# --- configs, zones, queries
mkdir -p "$TMP/gdnsd/zones" "$TMP/gdnsd/run" "$TMP/steerd"
if [ $MODE = static ]; then
    ZONE=bench.test
    PROBE=www.bench.test
    QUERIES=bench/dns/queries.txt
    QFMT=()
    fill bench/dns/gdnsd.config.in $GDNSD_PORT >"$TMP/gdnsd/config"
    fill bench/dns/steerd.yaml.in $STEERD_PORT >"$TMP/steerd/steerd.yaml"
    cp bench/dns/bench.test.zone "$TMP/gdnsd/zones/$ZONE"
    cp bench/dns/bench.test.zone "$TMP/steerd/$ZONE.zone"
else
    ZONE=steered.test
    PROBE=ns1.steered.test
    QUERIES=$TMP/ecs-queries.bin
    QFMT=(-B)   # dnsperf: binary input, 2-byte length + DNS message per query
    sfx=""
    [ $WEIGHTED = 1 ] && sfx=-weighted
    steered_configs "$sfx" "$GDNSD_PORT" "$STEERD_PORT" "$ZONE"
    python3 bench/dns/gen_ecs_queries.py geo/fixture/gen.pl "$QUERIES" www.steered.test || exit 2
fi

# --- servers
gdnsd -c "$TMP/gdnsd" start >"$TMP/gdnsd.log" 2>&1 &
GDNSD_PID=$!
PIDS+=("$GDNSD_PID")
"$ROOT/bin/steerd" -c "$TMP/steerd/steerd.yaml" >"$TMP/steerd.log" 2>&1 &
STEERD_PID=$!
PIDS+=("$STEERD_PID")

wait_dns "$GDNSD_PORT" "$GDNSD_PID" "$PROBE" 100 1 || { echo "gdnsd did not start:"; cat "$TMP/gdnsd.log"; exit 1; }
wait_dns "$STEERD_PORT" "$STEERD_PID" "$PROBE" 100 1 || { echo "steerd did not start:"; cat "$TMP/steerd.log"; exit 1; }

if [ $MODE = static ]; then
    # Same answers from both (gdnsd does not chase in-zone CNAME chains, so
    # CNAME answers differ: steerd also returns the target's records, which
    # makes its answers larger).
    for q in "www.bench.test A" "nope.bench.test A" "bench.test MX" "x.wild.bench.test A"; do
        set -- $q
        a=$(dig +noall +answer +authority @127.0.0.1 -p $GDNSD_PORT "$1" "$2" | sort)
        b=$(dig +noall +answer +authority @127.0.0.1 -p $STEERD_PORT "$1" "$2" | sort)
        [ "$a" = "$b" ] || { echo "warning: answers differ for $q"; echo "gdnsd:"; echo "$a"; echo "steerd:"; echo "$b"; }
    done
else
    # Sample subnets of every continent, both families, and unknown space:
    # answer and ECS scope from each server. Answers must match (except
    # with --weighted, where gdnsd picks randomly per query).
    echo "sample answers (ECS source/scope), gdnsd | steerd:"
    differ=0
    for sn in 100.64.5.0/24 100.85.1.0/24 198.18.3.0/24 198.19.7.0/24 192.0.2.0/25 198.51.100.0/24 \
              203.0.113.0/25 203.0.113.128/26 203.0.113.192/26 10.1.2.0/24 2001:db8:1234:5600::/56 \
              2001:db8:2abc:de00::/56 2001:db8:3abc:de00::/56 2001:db8:4000:100::/56 2001:db8:5fff:ff00::/56 \
              2001:db8:6123:4500::/56 2001:db8:f000:100::/56; do
        for t in A AAAA; do
            dq() { dig +time=1 +tries=2 +noall +answer +comments +subnet="$sn" @127.0.0.1 -p "$1" www.steered.test "$t"; }
            ga=$(dq $GDNSD_PORT); sa=$(dq $STEERD_PORT)
            gv=$(echo "$ga" | awk -v t="$t" '$4 == t { print $5 }' | sort | tr '\n' ' ')
            sv=$(echo "$sa" | awk -v t="$t" '$4 == t { print $5 }' | sort | tr '\n' ' ')
            gs=$(echo "$ga" | awk '/CLIENT-SUBNET/ { print $3 }')
            ss_=$(echo "$sa" | awk '/CLIENT-SUBNET/ { print $3 }')
            mark=""
            [ "$gv" = "$sv" ] || { mark="  <- differs"; differ=$((differ + 1)); }
            printf '  %-26s %-4s %-21s %-10s | %-21s %-10s%s\n' "$sn" "$t" "${gv:--}" "${gs##*/}" "${sv:--}" "${ss_##*/}" "$mark"
            [ -n "$gs" ] && [ -n "$ss_" ] || { echo "bench/dns.sh: an answer lacks the ECS option" >&2; exit 1; }
        done
    done
    if [ $differ -gt 0 ] && [ $WEIGHTED = 0 ]; then
        echo "bench/dns.sh: $differ sample answers differ: the configs are not equivalent" >&2
        exit 1
    fi
    [ $WEIGHTED = 1 ] && echo "  (weighted: gdnsd picks randomly per query, steerd per client subnet: answers may differ)"
    echo "  (scopes: gdnsd merges adjacent networks with the same datacenter list; steerd reports the database network)"
    echo
fi

cpu_ticks() { # pid -> utime+stime of the whole process (all threads)
    # fields after the ")" of comm: state is 3, utime 14, stime 15
    sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

# run_perf NAME PORT PID [extra dnsperf args] -> "qps completed ticks lost"
run_perf() {
    local name=$1 port=$2 pid=$3; shift 3
    local t0 t1 out
    t0=$(cpu_ticks "$pid")
    out=$(dnsperf "${QFMT[@]}" -s 127.0.0.1 -p "$port" -d "$QUERIES" -c "$CLIENTS" -T "$THREADS" \
                  -q "$OUTSTANDING" -t 2 "$@" 2>&1)
    t1=$(cpu_ticks "$pid")
    kill -0 "$pid" 2>/dev/null || { echo "$name died during the run" >&2; exit 1; }
    local qps done_ lost
    qps=$(echo "$out" | awk '/Queries per second:/ { print $4 }')
    done_=$(echo "$out" | awk '/Queries completed:/ { print $3 }')
    lost=$(echo "$out" | awk '/Queries lost:/ { print $3 }')
    echo "${qps:-0} ${done_:-0} $((t1 - t0)) ${lost:-?}"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print NR ? v[int((NR + 1) / 2)] : 0 }'; }
med() { echo "$@" | tr ' ' '\n' | grep . | median; }

echo "$MODE$([ $WEIGHTED = 1 ] && echo ' (weighted)'): saturation, ${DURATION}s per run, dnsperf -c $CLIENTS -T $THREADS -q $OUTSTANDING, $(basename "$QUERIES")"
printf '%-8s %-6s %12s %12s %8s %16s\n' round server qps completed lost "cpu us/query"
declare -A QPS_L US_L
QPS_L[gdnsd]=""; QPS_L[steerd]=""; US_L[gdnsd]=""; US_L[steerd]=""
for r in $(seq 1 "$ROUNDS"); do
    for s in gdnsd steerd; do
        if [ $s = gdnsd ]; then port=$GDNSD_PORT; pid=$GDNSD_PID; else port=$STEERD_PORT; pid=$STEERD_PID; fi
        read -r qps done_ ticks lost < <(run_perf $s "$port" "$pid" -l "$DURATION")
        us=$(awk -v t="$ticks" -v n="$done_" -v hz="$HZ" 'BEGIN { printf "%.2f", n ? t * 1e6 / hz / n : 0 }')
        printf '%-8s %-6s %12.0f %12s %8s %16s\n' "$r" $s "$qps" "$done_" "$lost" "$us"
        QPS_L[$s]="${QPS_L[$s]} $qps"
        US_L[$s]="${US_L[$s]} $us"
        if [ $s = gdnsd ]; then gq_r=$qps; gu_r=$us; fi
    done
    # the two runs of a round are neighbours in time: their ratio is less
    # exposed to what the rest of the machine does than ratios of medians
    R_QPS="${R_QPS:-} $(awk -v a="$qps" -v b="$gq_r" 'BEGIN { printf "%.3f", b ? a / b : 0 }')"
    R_US="${R_US:-} $(awk -v a="$us" -v b="$gu_r" 'BEGIN { printf "%.3f", b ? a / b : 0 }')"
done

# latency at a fixed offered rate: dnsperf -v prints one line per answer,
# its last field the latency in seconds
latency() { # port -> "p50_us p99_us answered"
    dnsperf "${QFMT[@]}" -s 127.0.0.1 -p "$1" -d "$QUERIES" -c "$CLIENTS" -T 1 -q "$OUTSTANDING" -t 2 \
            -Q "$RATE" -l "$RATE_DURATION" -v 2>/dev/null |
        awk '/^> / { print $NF * 1e6 }' | sort -n |
        awk '{ v[NR] = $1 } END {
                 if (!NR) { print "0 0 0"; exit }
                 i50 = int(NR * 0.50); if (i50 < 1) i50 = 1
                 i99 = int(NR * 0.99); if (i99 < 1) i99 = 1
                 printf "%.0f %.0f %d\n", v[i50], v[i99], NR }'
}
# interleaved like the saturation runs; the median over rounds is reported
# (one run's p99 is at the mercy of whatever else the machine does)
echo
echo "latency at $RATE qps offered, ${RATE_DURATION}s per run (dnsperf -Q $RATE -v):"
printf '%-8s %-6s %10s %10s %10s\n' round server "p50 us" "p99 us" answers
G50=""; G99=""; S50=""; S99=""
for r in $(seq 1 "$ROUNDS"); do
    read -r a b n < <(latency $GDNSD_PORT)
    printf '%-8s %-6s %10s %10s %10s\n' "$r" gdnsd "$a" "$b" "$n"
    G50="$G50 $a"; G99="$G99 $b"
    read -r a b n < <(latency $STEERD_PORT)
    printf '%-8s %-6s %10s %10s %10s\n' "$r" steerd "$a" "$b" "$n"
    S50="$S50 $a"; S99="$S99 $b"
done
kill -0 "$GDNSD_PID" 2>/dev/null && kill -0 "$STEERD_PID" 2>/dev/null || { echo "a server died" >&2; exit 1; }

awk -v gq="$(med ${QPS_L[gdnsd]})" -v sq="$(med ${QPS_L[steerd]})" \
    -v gu="$(med ${US_L[gdnsd]})" -v su="$(med ${US_L[steerd]})" \
    -v g50="$(med $G50)" -v g99="$(med $G99)" -v s50="$(med $S50)" -v s99="$(med $S99)" \
    -v n="$ROUNDS" -v mode="$MODE$([ $WEIGHTED = 1 ] && echo ", weighted")" 'BEGIN {
    printf "\nmedians over %d rounds (%s):\n", n, mode
    printf "  gdnsd  %10.0f qps  %6.2f cpu us/query  p50 %5.0f us  p99 %5.0f us\n", gq, gu, g50, g99
    printf "  steerd %10.0f qps  %6.2f cpu us/query  p50 %5.0f us  p99 %5.0f us\n", sq, su, s50, s99
    printf "\nratios steerd/gdnsd:\n"
    printf "  qps            %.3f   (higher is better)\n", gq ? sq / gq : 0
    printf "  cpu per query  %.3f   (lower is better; gdnsd/steerd = %.3f)\n", gu ? su / gu : 0, su ? gu / su : 0
    printf "  p50 latency    %.3f   (lower is better)\n", g50 ? s50 / g50 : 0
    printf "  p99 latency    %.3f   (lower is better)\n", g99 ? s99 / g99 : 0
}'
spread() { echo "$@" | tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { printf "median %s, min %s, max %s", v[int((NR + 1) / 2)], v[1], v[NR] }'; }
echo "per-round ratios (steerd run / the gdnsd run just before it):"
echo "  qps            $(spread $R_QPS)"
echo "  cpu per query  $(spread $R_US)"
