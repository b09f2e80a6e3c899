#!/bin/bash
# make demo: the whole stack on loopback, in the foreground; Ctrl-C stops it.
#   origin   127.0.0.1:8000  (bin/origind, serving examples/origin/)
#   shield   127.0.0.1:8090  (bin/edged, mid-tier cache)
#   PoPs     127.0.0.1:8081, 127.0.0.1:8082 (bin/edged, fetch via the shield)
#   steerd   127.0.0.1:5300 and [::1]:5300 (DNS, zone cdn.example.test)
set -u
cd "$(dirname "$0")/.."
# the example edged configs log and keep their disk cache under /tmp/steer-demo
RUN=${DEMO_DIR:-/tmp/steer-demo}
mkdir -p "$RUN"
PIDS=""
stop() {
  trap - INT TERM EXIT
  echo
  echo "demo: stopping"
  for p in $PIDS; do kill "$p" 2>/dev/null; done
  for p in $PIDS; do wait "$p" 2>/dev/null; done
  exit 0
}
trap stop INT TERM EXIT
start() { # name, command...
  name=$1; shift
  "$@" >"$RUN/$name.log" 2>&1 &
  PIDS="$PIDS $!"
  echo "demo: started $name (pid $!, log $RUN/$name.log)"
}
wait_port() { # tcp port
  i=0
  while [ $i -lt 100 ]; do
    if (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null; then return 0; fi
    sleep 0.1; i=$((i + 1))
  done
  echo "demo: nothing listens on port $1; see the logs in $RUN" >&2
  return 1
}
if [ -x bin/edged ] && [ -x bin/origind ] && [ -f examples/edged-shield.yaml ]; then
  start origin bin/origind -l 127.0.0.1:8000 -d examples/origin -m 60
  wait_port 8000
  start shield bin/edged -c examples/edged-shield.yaml
  start pop1 bin/edged -c examples/edged-pop1.yaml
  start pop2 bin/edged -c examples/edged-pop2.yaml
  wait_port 8090; wait_port 8081; wait_port 8082
fi
start steerd bin/steerd -c examples/steerd.yaml
sleep 1
cat <<TXT

steer demo is running. Try:
  dig @127.0.0.1 -p 5300 www.cdn.example.test                       # loopback client = Europe
  dig @127.0.0.1 -p 5300 www.cdn.example.test +subnet=198.51.100.0/24  # North America
  dig @127.0.0.1 -p 5300 www.cdn.example.test +subnet=203.0.113.128/26 # Asia: CDN by CNAME
  curl -i http://127.0.0.1:8081/                                     # MISS, then HIT
  open http://127.0.0.1:8053/ (status page), curl http://127.0.0.1:8053/metrics
Logs: $RUN   Ctrl-C stops everything.
TXT
# A stopped shield or PoP is part of the demo (fallback, failover): report
# it and keep going; Ctrl-C stops everything that is left.
WATCH=$PIDS
while :; do
  left=""
  for p in $WATCH; do
    if kill -0 "$p" 2>/dev/null; then left="$left $p"; else echo "demo: process $p exited; see $RUN"; fi
  done
  WATCH=$left
  [ -n "$WATCH" ] || stop
  sleep 1
done
