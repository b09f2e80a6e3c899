#!/bin/bash
# bench/rum_collector.sh: cost of RUM beacon ingestion in steerd (release
# build) against nginx answering `return 204` to the same requests (the
# floor: HTTP parsing and a reply, no work).
#
# steerd runs with the fixture geo databases, four providers, a `rum` pool
# and a `rum:` section (rate limit raised so nothing is refused; no state
# file). Then:
#   throughput: 3 interleaved rounds of wrk (1 thread, 8 connections, DUR
#     seconds, closed loop) per server, POSTing JSON beacons of 4
#     measurements (3 latencies, 1 failure) with X-Forwarded-For from 250
#     client addresses in 5 fixture networks (steerd trusts 127.0.0.0/8 as
#     a proxy, so each beacon is located by geo and updates 4 levels x 4
#     providers = 16 cells); beacons/s, the ratio to nginx, server CPU us
#     per beacon (utime+stime from /proc/PID/stat, nginx master + worker);
#   latency at a fixed offered rate: tests/tools/rum_loadgen (open loop,
#     measured from each beacon's scheduled send time) POSTing the same
#     kind of beacons at RATE/s for DUR seconds, 3 interleaved rounds per
#     server, p50/p99 (median over rounds) and CPU us per beacon;
#   checks: every beacon answered was counted as accepted by steerd's
#     /rum/metrics, none refused.
# Ports 15770-15772 on 127.0.0.1; every run bounded (DUR <= 10 s); every
# process started here is stopped by PID. Usage: bench/rum_collector.sh [DUR=4] [RATE=2000]
set -eu
cd "$(dirname "$0")/.."
DUR=${1:-4}; RATE=${2:-2000}
[ "$DUR" -ge 1 ] && [ "$DUR" -le 10 ] || { echo "DUR must be 1..10"; exit 2; }
DNS=15770; RUM=15771; NGX=15772
command -v wrk >/dev/null && command -v nginx >/dev/null || { echo "need wrk and nginx (tools/deps.sh)"; exit 2; }
make -s build/release/bin/steerd build/release/tools/rum_loadgen
STEERD=build/release/bin/steerd; LOADGEN=build/release/tools/rum_loadgen
T=$(mktemp -d /tmp/rum-bench.XXXXXX); chmod 755 "$T"
PIDS=""
cleanup() {
  for p in $PIDS; do kill "$p" 2>/dev/null || true; done
  for p in $PIDS; do for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done; done
  rm -rf "$T"
}
trap cleanup EXIT INT TERM

cp examples/cdn.example.test.zone "$T/"
cat > "$T/steerd.yaml" <<YAML
server: {listen: ["127.0.0.1:$DNS"], workers: 1}
zones: [{name: cdn.example.test, file: cdn.example.test.zone}]
geo:
  databases: [$PWD/geo/fixture/steer-city.mmdb, $PWD/geo/fixture/steer-asn.mmdb]
providers:
  a-pop: {type: pop, ipv4: [127.0.1.1]}
  b-pop: {type: pop, ipv4: [127.0.1.2]}
  c-pop: {type: pop, ipv4: [127.0.1.3]}
  d-pop: {type: pop, ipv4: [127.0.1.4]}
steering:
  - name: www.cdn.example.test
    rules: [{match: default, pools: [all]}]
    pools: {all: {policy: rum, members: {a-pop: 1, b-pop: 1, c-pop: 1, d-pop: 1}}}
rum:
  listen: 127.0.0.1:$RUM
  trusted_proxies: [127.0.0.0/8]
  rate: {per_second: 1000000, burst: 1000000}
  debug_endpoint: true
YAML
$STEERD -c "$T/steerd.yaml" >"$T/steerd.log" 2>&1 & SPID=$!; PIDS="$PIDS $SPID"

mkdir -p "$T/nginx/tmp"; chmod -R 777 "$T/nginx"
cat > "$T/nginx/nginx.conf" <<NGX
worker_processes 1;
pid $T/nginx/nginx.pid;
error_log $T/nginx/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path $T/nginx/tmp; proxy_temp_path $T/nginx/tmp;
    fastcgi_temp_path $T/nginx/tmp; uwsgi_temp_path $T/nginx/tmp; scgi_temp_path $T/nginx/tmp;
    server {
        listen 127.0.0.1:$NGX;
        location /rum { return 204; }
    }
}
NGX
RUNAS=""
if [ "$(id -u)" = 0 ]; then RUNAS="setpriv --reuid=65534 --regid=65534 --clear-groups"; fi
$RUNAS nginx -p "$T/nginx" -c "$T/nginx/nginx.conf" -g 'daemon off;' >"$T/nginx/out.log" 2>&1 & NPID=$!; PIDS="$PIDS $NPID"

wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 not up"; cat "$T/steerd.log"; exit 1; }
wait_port $RUM; wait_port $NGX

# beacons: 4 measurements, client address from 5 fixture networks x 50 hosts
cat > "$T/post.lua" <<'LUA'
local n = 0
local nets = { "192.0.2.", "198.51.100.", "203.0.113.", "198.18.0.", "100.64.0." }
request = function()
  n = n + 1
  local ip = nets[n % 5 + 1] .. (math.floor(n / 5) % 50 + 1)
  local body = string.format('{"m":[{"p":"a-pop","k":"latency","v":%d},{"p":"b-pop","k":"latency","v":%d},' ..
                             '{"p":"c-pop","k":"latency","v":%d},{"p":"d-pop","k":"failure"}]}',
                             20 + n % 50, 30 + n % 40, 40 + n % 30)
  return wrk.format("POST", "/rum", { ["X-Forwarded-For"] = ip, ["Content-Type"] = "text/plain" }, body)
end
LUA
probe=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'X-Forwarded-For: 192.0.2.7' \
  --data-binary '{"m":[{"p":"a-pop","k":"latency","v":20}]}' "http://127.0.0.1:$RUM/rum")
[ "$probe" = 204 ] || { echo "steerd refused a probe beacon ($probe)"; exit 1; }

ticks() { # CPU ticks (user+sys) of a process and its children
  local t=0 p
  for p in $1 $(pgrep -P "$1" || true); do t=$(( t + $(awk '{print $14 + $15}' /proc/$p/stat) )); done
  echo $t
}
HZ=$(getconf CLK_TCK)
metric() { curl -s "http://127.0.0.1:$RUM/rum/metrics" | awk -v k="$1" '$1 == k { print $2 }'; }
SENT=1   # the probe
run_wrk() { # port pid -> "beacons/s cpu_us_per_beacon requests"
  local t0 t1 out rps reqs bad
  t0=$(ticks $2)
  out=$(wrk -t1 -c8 -d${DUR}s -s "$T/post.lua" "http://127.0.0.1:$1/rum" 2>&1)
  t1=$(ticks $2)
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  bad=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
  [ -z "$bad" ] || { echo "port $1: $bad non-2xx answers" >&2; exit 1; }
  echo "$rps $(awk -v d=$((t1 - t0)) -v hz=$HZ -v n=$reqs 'BEGIN { printf "%.1f", n ? d * 1e6 / hz / n : 0 }') $reqs"
}

echo "rum collector bench: wrk -t1 -c8 -d${DUR}s POST beacons of 4 measurements, 250 clients, 3 interleaved rounds; $(nproc) cores"
sr=""; nr=""; sc=""; nc=""
for round in 1 2 3; do
  read -r s_rps s_cpu s_n <<<"$(run_wrk $RUM $SPID)"; read -r n_rps n_cpu _ <<<"$(run_wrk $NGX $NPID)"
  SENT=$((SENT + s_n))
  printf 'round %d  steerd %8.0f beacons/s %6s us-cpu/beacon   nginx 204 %8.0f req/s %6s us-cpu/req   ratio %.2f\n' \
    $round $s_rps $s_cpu $n_rps $n_cpu "$(awk -v a=$s_rps -v b=$n_rps 'BEGIN{print a/b}')"
  sr="$sr $s_rps"; nr="$nr $n_rps"; sc="$sc $s_cpu"; nc="$nc $n_cpu"
done
echo "$sr | $nr | $sc | $nc" | awk '{ for (i = 1; i <= 3; i++) { a += $i; b += $(i + 4); c += $(i + 8); d += $(i + 12) }
  printf "mean     steerd %8.0f beacons/s %6.1f us-cpu/beacon   nginx 204 %8.0f req/s %6.1f us-cpu/req   ratio %.2f (cpu ratio %.2f)\n",
         a / 3, c / 3, b / 3, d / 3, a / b, c / d }'
run_fixed() { # port pid -> "p50_us p99_us cpu_us_per_beacon done"
  local t0 t1 out
  t0=$(ticks $2)
  out=$($LOADGEN -a 127.0.0.1:$1 -r $RATE -d $DUR -c 8) || { echo "port $1: $out" >&2; exit 1; }
  t1=$(ticks $2)
  echo "$out" | awk -v d=$((t1 - t0)) -v hz=$HZ '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    printf "%s %s %.1f %s\n", v["p50_us"], v["p99_us"], v["done"] ? d * 1e6 / hz / v["done"] : 0, v["done"] }'
}
echo "fixed offered rate of $RATE beacons/s (rum_loadgen, POST, ${DUR}s, 8 connections, open loop), 3 interleaved rounds:"
sl=""; nl=""
for round in 1 2 3; do
  read -r s50 s99 scpu sn <<<"$(run_fixed $RUM $SPID)"; read -r n50 n99 ncpu _ <<<"$(run_fixed $NGX $NPID)"
  SENT=$((SENT + sn))
  printf 'round %d  steerd p50 %6s us p99 %7s us %6s us-cpu/beacon   nginx 204 p50 %6s us p99 %7s us %6s us-cpu/req\n' \
    $round $s50 $s99 $scpu $n50 $n99 $ncpu
  sl="$sl$s50 $s99 $scpu
"; nl="$nl$n50 $n99 $ncpu
"
done
med() { printf '%s' "$1" | awk -v c=$2 '{ print $c }' | sort -n | sed -n 2p; }
printf 'median   steerd p50 %6s us p99 %7s us %6s us-cpu/beacon   nginx 204 p50 %6s us p99 %7s us %6s us-cpu/req\n' \
  "$(med "$sl" 1)" "$(med "$sl" 2)" "$(med "$sl" 3)" "$(med "$nl" 1)" "$(med "$nl" 2)" "$(med "$nl" 3)"

acc=$(metric steer_rum_beacons_accepted_total)
rej=$(curl -s "http://127.0.0.1:$RUM/rum/metrics" | awk '/^steer_rum_beacons_rejected_total/ { s += $2 } END { print s + 0 }')
echo "steerd counted $acc accepted beacons, $SENT answered to wrk/rum_loadgen, $rej refused; $(metric steer_rum_cells) cells"
# wrk does not count the requests in flight when it stops (at most 8 a run)
[ "$acc" -ge "$SENT" ] && [ "$acc" -le $((SENT + 24)) ] && [ "$rej" = 0 ] || { echo "beacon count mismatch"; exit 1; }
