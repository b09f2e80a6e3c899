#!/bin/bash
# bench/edge.sh: cache-hit throughput and latency of edged vs nginx proxy_cache.
#
# Starts bin/origind serving 1 KiB and 100 KiB files, then edged and nginx
# (Debian nginx-light, unprivileged foreground process, generated config,
# proxy_cache on, access_log off for both, tcp_nopush off), both with one
# worker so they get the same CPU. Caches are warmed, then for each size:
#   3 interleaved rounds of wrk (1 thread, 50 connections, DUR seconds) per
#   server: req/s, ratio edged/nginx, server CPU µs per request (user+sys
#   from /proc/PID/stat; all nginx processes summed);
#   latency at a fixed offered rate (tests/tools/edge_loadgen, open loop,
#   measured from scheduled send time): p50/p99.
# Everything is on 127.0.0.1 ports 18900-18909, bounded in time (<= 10 s
# per run). Usage: bench/edge.sh [DUR=5] [RATE=5000]
set -eu
cd "$(dirname "$0")/.."
DUR=${1:-5}; RATE=${2:-5000}
[ "$DUR" -le 10 ] || { echo "DUR must be <= 10"; exit 2; }
OP=18900; EP=18901; NP=18902
EDGED=bin/edged; ORIGIND=bin/origind; LOADGEN=build/release/tools/edge_loadgen
for b in $EDGED $ORIGIND $LOADGEN; do [ -x $b ] || { echo "missing $b: run make"; exit 2; }; done
command -v wrk >/dev/null && command -v nginx >/dev/null || { echo "need wrk and nginx (tools/deps.sh)"; exit 2; }
T=$(mktemp -d /tmp/edge-bench.XXXXXX); chmod 777 "$T"
PIDS=""
cleanup() { for p in $PIDS; do kill "$p" 2>/dev/null || true; done; sleep 0.3; rm -rf "$T"; }
trap cleanup EXIT INT TERM

mkdir -p "$T/www"
head -c 1024 /dev/urandom > "$T/www/1k.bin"
head -c 102400 /dev/urandom > "$T/www/100k.bin"
$ORIGIND -l 127.0.0.1:$OP -d "$T/www" -m 3600 >"$T/origin.log" 2>&1 & PIDS="$PIDS $!"

cat > "$T/edged.yaml" <<YAML
tier: bench
listen: { http: ["127.0.0.1:$EP"] }
cache: { memory: 256M }
sites: [ { name: b, hosts: ["*"], origin: "127.0.0.1:$OP" } ]
YAML
$EDGED -c "$T/edged.yaml" >"$T/edged.log" 2>&1 & EPID=$!; PIDS="$PIDS $EPID"

mkdir -p "$T/nginx/cache" "$T/nginx/tmp" && chmod -R 777 "$T/nginx"
cat > "$T/nginx/nginx.conf" <<NGX
worker_processes 1;
pid $T/nginx/nginx.pid;
error_log $T/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on; tcp_nopush off; tcp_nodelay on;
    keepalive_requests 1000000;
    client_body_temp_path $T/nginx/tmp; proxy_temp_path $T/nginx/tmp;
    fastcgi_temp_path $T/nginx/tmp; uwsgi_temp_path $T/nginx/tmp; scgi_temp_path $T/nginx/tmp;
    proxy_cache_path $T/nginx/cache levels=1:2 keys_zone=c:64m max_size=1g inactive=1h use_temp_path=off;
    upstream origin { server 127.0.0.1:$OP; keepalive 16; }
    server {
        listen 127.0.0.1:$NP;
        location / {
            proxy_pass http://origin;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_cache c;
            add_header X-Cache \$upstream_cache_status;
        }
    }
}
NGX
RUNAS=""
if [ "$(id -u)" = 0 ]; then RUNAS="setpriv --reuid=65534 --regid=65534 --clear-groups"; fi
$RUNAS nginx -p "$T/nginx" -c "$T/nginx/nginx.conf" -g 'daemon off;' >"$T/nginx/out.log" 2>&1 & NPID=$!; PIDS="$PIDS $NPID"

wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 not up"; exit 1; }
wait_port $OP; wait_port $EP; wait_port $NP
for f in 1k 100k; do for p in $EP $NP; do for _ in 1 2 3; do curl -s -o /dev/null "http://127.0.0.1:$p/$f.bin"; done; done; done
for p in $EP $NP; do
  s=$(curl -s -D - -o /dev/null "http://127.0.0.1:$p/1k.bin" | tr -d '\r' | sed -n 's/^X-Cache: //p')
  [ "$s" = HIT ] || { echo "warm-up failed on port $p (X-Cache: $s)"; exit 1; }
done

# CPU ticks (user+sys) of a process and its children processes (nginx workers)
ticks() {
  local t=0 p
  for p in $1 $(pgrep -P "$1" || true); do
    t=$(( t + $(awk '{print $14 + $15}' /proc/$p/stat) ))
  done
  echo $t
}
HZ=$(getconf CLK_TCK)
run_wrk() { # port path -> "rps cpu_us_per_req"
  local t0 t1 out rps reqs
  t0=$(ticks $2)
  out=$(wrk -t1 -c50 -d${DUR}s "http://127.0.0.1:$1$3" 2>&1)
  t1=$(ticks $2)
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  echo "$rps $(awk -v d=$((t1 - t0)) -v hz=$HZ -v n=$reqs 'BEGIN { printf "%.1f", n ? d * 1e6 / hz / n : 0 }')"
}

echo "edge bench: wrk -t1 -c50 -d${DUR}s, 3 interleaved rounds; both servers 1 worker; $(nproc) cores"
for f in 1k 100k; do
  er=""; nr=""
  for round in 1 2 3; do
    e=$(run_wrk $EP $EPID "/$f.bin"); n=$(run_wrk $NP $NPID "/$f.bin")
    printf '%-5s round %d  edged %10.0f req/s %6s us-cpu/req   nginx %10.0f req/s %6s us-cpu/req   ratio %.2f\n' \
      "$f" $round ${e% *} ${e#* } ${n% *} ${n#* } "$(awk -v a=${e% *} -v b=${n% *} 'BEGIN{print a/b}')"
    er="$er ${e% *}"; nr="$nr ${n% *}"
  done
  echo "$er" "|" "$nr" | awk -v f=$f '{ s1=0; s2=0; for (i=1;i<=3;i++) s1+=$i; for (i=5;i<=7;i++) s2+=$i;
    printf "%-5s mean   edged %10.0f req/s   nginx %10.0f req/s   ratio edged/nginx %.2f\n", f, s1/3, s2/3, s1/s2 }'
done
echo "latency at a fixed offered rate of $RATE req/s (${DUR}s, 32 connections, open loop):"
for f in 1k 100k; do
  printf '%-5s edged  %s\n' $f "$($LOADGEN -a 127.0.0.1:$EP -p /$f.bin -r $RATE -d $DUR -c 32 || true)"
  printf '%-5s nginx  %s\n' $f "$($LOADGEN -a 127.0.0.1:$NP -p /$f.bin -r $RATE -d $DUR -c 32 || true)"
done
