#!/bin/bash
# 1000 checks (800 HTTP with a body match + 200 TCP) against local servers
# at a 1 s interval, 250 providers with 4 checks each, for 8 s. Asserts that
# every check ran about once a second, none failed, every provider is up,
# and the engine thread stayed cheap; prints engine CPU per second and per
# check as TAP comments. (Built with ASan here; bench numbers come from the
# release build, see docs/health.md.) Ports 15610-15629.
. "$(dirname "$0")/../lib.sh"

N=${HEALTH_SCALE_CHECKS:-1000}; SECS=${HEALTH_SCALE_SECS:-8}
CTL=15610; PORTS="15611 15612 15613 15614 15615 15616 15617 15618"
args=""; for p in $PORTS; do args="$args -p $p=ok"; done
start_bg "$TMP/server.log" "$TOOLS/health_server" -c $CTL $args
check "servers listen" wait_tcp $CTL

{
  echo "health:"
  echo "  defaults: {interval: 1s, timeout: 900ms, jitter: 100ms, rise: 2, fall: 2}"
  echo "  checks:"
  ports=($PORTS)
  i=0
  while [ $i -lt "$N" ]; do
    port=${ports[$(( i % 8 ))]}
    if [ $(( i % 5 )) -eq 4 ]; then
      echo "    c$i: {type: tcp, target: \"127.0.0.1:$port\"}"
    else
      echo "    c$i: {type: http, target: \"127.0.0.1:$port\", path: /c$i, expect_body: healthy}"
    fi
    i=$((i+1))
  done
  echo "providers:"
  p=0
  while [ $((p*4)) -lt "$N" ]; do
    echo "  p$p: {checks: [c$((p*4)), c$((p*4+1)), c$((p*4+2)), c$((p*4+3))]}"
    p=$((p+1))
  done
} >"$TMP/scale.yaml"

"$TOOLS/health_probe" -q -d "$SECS" "$TMP/scale.yaml" >"$TMP/probe.out" 2>"$TMP/probe.err"
rc=$?
expect_eq "probe exit status" "$rc" 0
stats=$(grep '^stats' "$TMP/probe.out")
echo "# $stats"
get() { printf '%s\n' "$stats" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
runs=$(get runs); fails=$(get failures); up=$(get up); cpu=$(get engine_cpu_ms); el=$(get elapsed_ms)
expect_eq "all $N checks configured" "$(get checks)" "$N"
expect_eq "all providers up" "$up" $((N/4))
expect_eq "no failed check runs" "$fails" 0
# each check runs about once a second; its first run is spread over the first second
min=$(( N * (SECS - 2) ))
if [ "${runs:-0}" -ge $min ]; then ok "runs $runs >= $min"; else not_ok "runs ${runs:-0} < $min"; fi
per_s=$(awk -v c="$cpu" -v e="$el" 'BEGIN { printf "%.1f", c / (e / 1000) }')
per_check=$(awk -v c="$cpu" -v r="$runs" 'BEGIN { printf "%.1f", r ? c * 1000 / r : 0 }')
echo "# engine thread CPU: $per_s ms per second ($(awk -v p="$per_s" 'BEGIN{printf "%.1f", p/10}')% of a core), ${per_check} us per check run ($(case "$TOOLS" in *asan*) echo ASan;; *) echo release;; esac) build)"
# generous bound for an ASan build on a shared 2-core machine: < 50% of a core
if awk -v p="$per_s" 'BEGIN { exit !(p < 500) }'; then ok "engine CPU $per_s ms/s < 500 ms/s"; else not_ok "engine CPU $per_s ms/s"; fi
if [ -s "$TMP/probe.err" ]; then sed 's/^/# stderr: /' "$TMP/probe.err" | head -n 20; fi
if grep -q 'Sanitizer' "$TMP/probe.err"; then not_ok "ASan clean"; else ok "ASan clean"; fi
finish
