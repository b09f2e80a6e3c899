#!/bin/bash
# Health engine failover timing with real processes: an HTTP target served by
# health_server, checked by health_probe with the default timing (1 s
# interval, fast_interval 250 ms, fall 2, rise 3). The target is killed by
# PID (SIGKILL) and restarted, three times; each time we measure how long
# until the published table says down, and until it says up again. Bound
# asserted: removal within 5 s (expected 0.25-1.35 s: the next run finds the
# port closed, one fast confirmation, one publish delay), recovery within
# 6 s (expected 2-3.1 s). Ports 15600-15609.
. "$(dirname "$0")/../lib.sh"

CTL=15600; PORT=15601; ROUNDS=${HEALTH_FAILOVER_ROUNDS:-3}
cat >"$TMP/steer.yaml" <<YAML
health:
  checks:
    pop-eu-http: {type: http, target: "127.0.0.1:$PORT", path: /health, expect_body: healthy}
providers:
  pop-eu: {checks: [pop-eu-http]}
YAML

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# wait_line FILE REGEX TIMEOUT_MS: polls until a line matches; prints elapsed ms
wait_line() {
  local start; start=$(now_ms)
  while :; do
    grep -Eq -- "$2" "$1" && { echo $(( $(now_ms) - start )); return 0; }
    [ $(( $(now_ms) - start )) -gt "$3" ] && return 1
    sleep 0.02
  done
}
start_server() { start_bg "$TMP/server.log" "$TOOLS/health_server" -c $CTL -p $PORT=ok; SERVER=$LAST_PID; wait_tcp $CTL; }

start_server
check "server listens" wait_tcp $PORT
start_bg "$TMP/probe.log" "$TOOLS/health_probe" "$TMP/steer.yaml"
PROBE=$LAST_PID
t=$(wait_line "$TMP/probe.log" ' pop-eu up ' 10000) && ok "provider up after start (${t} ms)" || not_ok "provider up after start"

downs=""; ups=""
for r in $(seq 1 "$ROUNDS"); do
  : >"$TMP/mark"; n0=$(grep -c ' pop-eu down ' "$TMP/probe.log")
  kill -9 "$SERVER"; wait "$SERVER" 2>/dev/null
  start=$(now_ms)
  while [ "$(grep -c ' pop-eu down ' "$TMP/probe.log")" -le "$n0" ] && [ $(( $(now_ms) - start )) -lt 5000 ]; do sleep 0.02; done
  d=$(( $(now_ms) - start ))
  if [ "$(grep -c ' pop-eu down ' "$TMP/probe.log")" -gt "$n0" ]; then ok "round $r: removed ${d} ms after kill (bound 5000)"; downs="$downs $d"
  else not_ok "round $r: still up 5 s after kill"; fi
  expect_match "round $r: reason is refused" "$(grep ' pop-eu down ' "$TMP/probe.log" | tail -n 1)" 'down refused'
  n1=$(grep -c ' pop-eu up ' "$TMP/probe.log")
  start_server
  start=$(now_ms)
  while [ "$(grep -c ' pop-eu up ' "$TMP/probe.log")" -le "$n1" ] && [ $(( $(now_ms) - start )) -lt 6000 ]; do sleep 0.02; done
  u=$(( $(now_ms) - start ))
  if [ "$(grep -c ' pop-eu up ' "$TMP/probe.log")" -gt "$n1" ]; then ok "round $r: back ${u} ms after restart (bound 6000)"; ups="$ups $u"
  else not_ok "round $r: not back 6 s after restart"; fi
done
median() { printf '%s\n' $1 | sort -n | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "n/a"}'; }
echo "# failover: removal median $(median "$downs") ms (runs:$downs), recovery median $(median "$ups") ms (runs:$ups)"

# no flapping: exactly one down and one up per round after the first up
expect_eq "transitions: one down per kill" "$(grep -c ' pop-eu down ' "$TMP/probe.log")" "$ROUNDS"
stop_pid "$PROBE"
expect_match "probe exits cleanly with stats" "$(tail -n 1 "$TMP/probe.log")" '^stats checks=1 '
if grep -q 'ERROR: \(Leak\|Address\)Sanitizer' "$TMP/probe.log"; then not_ok "probe is ASan clean"; else ok "probe is ASan clean"; fi
finish
