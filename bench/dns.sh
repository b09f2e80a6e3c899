#!/bin/bash
# bench/dns.sh: steerd vs gdnsd on the same static zone, loopback only.
#
# Both servers serve bench/dns/bench.test.zone on 127.0.0.1 with 2 UDP
# threads each (gdnsd: udp_threads/tcp_threads = 2; steerd: workers: 2).
# dnsperf replays bench/dns/queries.txt (A, AAAA, MX, NS, SOA, TXT, SRV,
# CNAME chains, wildcard, referral, NXDOMAIN, mixed case) against them,
# interleaved: gdnsd, steerd, gdnsd, steerd, ... for ROUNDS rounds of
# DURATION seconds at saturation. For every run it prints the QPS and the
# server's CPU time per answered query (user+sys ticks of the server
# process from /proc/PID/stat, before/after the run). Then ROUNDS runs per
# server at a fixed offered rate below saturation (RATE qps) with dnsperf
# -v, from whose per-query lines p50/p99 latency is computed (also
# interleaved, ROUNDS runs each; medians reported). The summary
# gives every figure as the ratio steerd/gdnsd (QPS: higher is better; CPU
# per query and latency: lower is better).
#
#   bash bench/dns.sh                 the static benchmark (about 100 s)
#   ROUNDS=3 DURATION=10 RATE=20000 CLIENTS=4 OUTSTANDING=200 THREADS=2 bash bench/dns.sh
#   bash bench/dns.sh --steered       (placeholder, see below)
#
# --steered (not implemented; the steering issue adds it): the same
# interleaved comparison on a dynamic name, with dnsperf sending an EDNS
# Client Subnet option (dnsperf -E 8:<hex>) drawn from thousands of
# distinct /24 and /56 subnets (one query file per run, generated from the
# geo fixture networks), steerd answering from its steering engine (geo +
# weighted + health) against gdnsd's geoip plugin (plugin_geoip with the
# same generated .mmdb and a datacenter map with the same PoPs). Reported
# the same way, plus the share of answers whose ECS scope matches the
# expected prefix.
#
# Not a test: it only prints numbers. It kills both servers by PID on exit.
set -u
cd "$(dirname "$0")/.." || exit 2
ROOT=$(pwd)

if [ "${1:-}" = "--steered" ]; then
    echo "bench/dns.sh --steered: not implemented yet (see the comment at the top)" >&2
    exit 2
fi

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}         # seconds per saturation run
RATE=${RATE:-20000}              # offered qps for the latency runs
RATE_DURATION=${RATE_DURATION:-5}
CLIENTS=${CLIENTS:-4}            # dnsperf -c: UDP sockets (spread over both server threads)
OUTSTANDING=${OUTSTANDING:-200}  # dnsperf -q: enough in flight to keep both servers busy
THREADS=${THREADS:-2}            # dnsperf -T
GDNSD_PORT=15653
STEERD_PORT=15654
HZ=$(getconf CLK_TCK)

for tool in gdnsd dnsperf dig; do
    command -v "$tool" >/dev/null || { echo "bench/dns.sh: $tool is not installed (make deps)" >&2; exit 2; }
done
if [ ! -x bin/steerd ]; then
    make -j2 bin/steerd >/dev/null || exit 2
fi

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

port_busy() { # port
    ss -Hlnu "sport = :$1" 2>/dev/null | grep -q . || ss -Hlnt "sport = :$1" 2>/dev/null | grep -q .
}
for p in $GDNSD_PORT $STEERD_PORT; do
    if port_busy "$p"; then echo "bench/dns.sh: port $p is already in use" >&2; exit 2; fi
done

# --- servers
mkdir -p "$TMP/gdnsd/zones" "$TMP/gdnsd/run" "$TMP/steerd"
sed -e "s/@PORT@/$GDNSD_PORT/" -e "s#@RUN@#$TMP/gdnsd/run#" bench/dns/gdnsd.config.in >"$TMP/gdnsd/config"
cp bench/dns/bench.test.zone "$TMP/gdnsd/zones/bench.test"
cp bench/dns/bench.test.zone "$TMP/steerd/bench.test.zone"
sed -e "s/@PORT@/$STEERD_PORT/" -e "s#@DIR@#$TMP/steerd#" bench/dns/steerd.yaml.in >"$TMP/steerd/steerd.yaml"

gdnsd -c "$TMP/gdnsd" start >"$TMP/gdnsd.log" 2>&1 &
GDNSD_PID=$!
PIDS+=("$GDNSD_PID")
"$ROOT/bin/steerd" -c "$TMP/steerd/steerd.yaml" >"$TMP/steerd.log" 2>&1 &
STEERD_PID=$!
PIDS+=("$STEERD_PID")

wait_dns() { # name port pid
    for _ in $(seq 1 100); do
        kill -0 "$3" 2>/dev/null || return 1
        dig +time=1 +tries=1 @127.0.0.1 -p "$2" www.bench.test A 2>/dev/null | grep -q 'status: NOERROR' && return 0
        sleep 0.1
    done
    return 1
}
wait_dns gdnsd $GDNSD_PORT "$GDNSD_PID" || { echo "gdnsd did not start:"; cat "$TMP/gdnsd.log"; exit 1; }
wait_dns steerd $STEERD_PORT "$STEERD_PID" || { echo "steerd did not start:"; cat "$TMP/steerd.log"; exit 1; }

# Same answers from both (sections compared without TTL-independent noise;
# gdnsd does not chase in-zone CNAME chains, so CNAME answers differ: steerd
# also returns the target's records, which makes its answers larger).
for q in "www.bench.test A" "nope.bench.test A" "bench.test MX" "x.wild.bench.test A"; do
    set -- $q
    a=$(dig +noall +answer +authority @127.0.0.1 -p $GDNSD_PORT "$1" "$2" | sort)
    b=$(dig +noall +answer +authority @127.0.0.1 -p $STEERD_PORT "$1" "$2" | sort)
    [ "$a" = "$b" ] || { echo "warning: answers differ for $q"; echo "gdnsd:"; echo "$a"; echo "steerd:"; echo "$b"; }
done

cpu_ticks() { # pid -> utime+stime of the whole process (all threads)
    # fields after the ")" of comm: state is 3, utime 14, stime 15
    sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

# run_perf NAME PORT PID [extra dnsperf args] -> "qps completed ticks"
run_perf() {
    local name=$1 port=$2 pid=$3; shift 3
    local t0 t1 out
    t0=$(cpu_ticks "$pid")
    out=$(dnsperf -s 127.0.0.1 -p "$port" -d bench/dns/queries.txt -c "$CLIENTS" -T "$THREADS" \
                  -q "$OUTSTANDING" -t 2 "$@" 2>&1)
    t1=$(cpu_ticks "$pid")
    kill -0 "$pid" 2>/dev/null || { echo "$name died during the run" >&2; exit 1; }
    local qps done_ lost
    qps=$(echo "$out" | awk '/Queries per second:/ { print $4 }')
    done_=$(echo "$out" | awk '/Queries completed:/ { print $3 }')
    lost=$(echo "$out" | awk '/Queries lost:/ { print $3 }')
    echo "${qps:-0} ${done_:-0} $((t1 - t0)) ${lost:-?}"
}

printf '%-8s %-6s %12s %12s %8s %16s\n' round server qps completed lost "cpu us/query"
declare -A SUM_QPS SUM_US
SUM_QPS[gdnsd]=0; SUM_QPS[steerd]=0; SUM_US[gdnsd]=0; SUM_US[steerd]=0
for r in $(seq 1 "$ROUNDS"); do
    for s in gdnsd steerd; do
        if [ $s = gdnsd ]; then port=$GDNSD_PORT; pid=$GDNSD_PID; else port=$STEERD_PORT; pid=$STEERD_PID; fi
        read -r qps done_ ticks lost < <(run_perf $s "$port" "$pid" -l "$DURATION")
        us=$(awk -v t="$ticks" -v n="$done_" -v hz="$HZ" 'BEGIN { printf "%.2f", n ? t * 1e6 / hz / n : 0 }')
        printf '%-8s %-6s %12.0f %12s %8s %16s\n' "$r" $s "$qps" "$done_" "$lost" "$us"
        SUM_QPS[$s]=$(awk -v a="${SUM_QPS[$s]}" -v b="$qps" 'BEGIN { print a + b }')
        SUM_US[$s]=$(awk -v a="${SUM_US[$s]}" -v b="$us" 'BEGIN { print a + b }')
    done
done

# latency at a fixed offered rate: dnsperf -v prints one line per answer,
# its last field the latency in seconds
latency() { # port -> "p50_us p99_us answered"
    dnsperf -s 127.0.0.1 -p "$1" -d bench/dns/queries.txt -c "$CLIENTS" -T 1 -q "$OUTSTANDING" -t 2 \
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
median() { sort -n | awk '{ v[NR] = $1 } END { print NR ? v[int((NR + 1) / 2)] : 0 }'; }
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
g50=$(echo $G50 | tr ' ' '\n' | median); g99=$(echo $G99 | tr ' ' '\n' | median)
s50=$(echo $S50 | tr ' ' '\n' | median); s99=$(echo $S99 | tr ' ' '\n' | median)
printf 'median: gdnsd p50 %s us p99 %s us; steerd p50 %s us p99 %s us\n' "$g50" "$g99" "$s50" "$s99"

awk -v gq="${SUM_QPS[gdnsd]}" -v sq="${SUM_QPS[steerd]}" -v gu="${SUM_US[gdnsd]}" -v su="${SUM_US[steerd]}" \
    -v g50="$g50" -v g99="$g99" -v s50="$s50" -v s99="$s99" -v n="$ROUNDS" 'BEGIN {
    printf "\nmean over %d rounds:\n", n
    printf "  gdnsd  %10.0f qps  %6.2f cpu us/query\n", gq / n, gu / n
    printf "  steerd %10.0f qps  %6.2f cpu us/query\n", sq / n, su / n
    printf "\nratios steerd/gdnsd:\n"
    printf "  qps            %.3f   (higher is better)\n", gq ? sq / gq : 0
    printf "  cpu per query  %.3f   (lower is better)\n", gu ? su / gu : 0
    printf "  p50 latency    %.3f   (lower is better; medians over rounds)\n", g50 ? s50 / g50 : 0
    printf "  p99 latency    %.3f   (lower is better; medians over rounds)\n", g99 ? s99 / g99 : 0
}'
