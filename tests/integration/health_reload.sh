#!/bin/bash
# Reload of the health engine in a running process (health_probe, SIGHUP ->
# health_engine_reconfigure): providers keep their state by name across a
# reload that reorders them and adds one; a broken config is refused with
# file:line and the running state is kept. Ports 15630-15639.
. "$(dirname "$0")/../lib.sh"

CTL=15630; A=15631; B=15632
start_bg "$TMP/server.log" "$TOOLS/health_server" -c $CTL -p $A=ok -p $B=fail
check "server listens" wait_tcp $CTL

cat >"$TMP/steer.yaml" <<YAML
health:
  defaults: {interval: 50ms, jitter: 0, rise: 2, fall: 2}
  checks:
    a: {type: http, target: "127.0.0.1:$A"}
providers:
  pa: {checks: [a]}
YAML
start_bg "$TMP/probe.log" "$TOOLS/health_probe" "$TMP/steer.yaml"
PROBE=$LAST_PID
wait_for() { i=0; while ! grep -Eq -- "$1" "$TMP/probe.log" && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done; grep -Eq -- "$1" "$TMP/probe.log"; }
check "pa up" wait_for ' pa up '

cat >"$TMP/steer.yaml" <<YAML
health:
  defaults: {interval: 50ms, jitter: 0, rise: 2, fall: 2}
  checks:
    b: {type: http, target: "127.0.0.1:$B"}
    a: {type: http, target: "127.0.0.1:$A"}
providers:
  pb: {checks: [b]}
  pa: {checks: [a]}
YAML
kill -HUP "$PROBE"
check "reloaded" wait_for '^reloaded providers=2'
check "pb down with its reason" wait_for ' pb down status_503 '
# after the reload pa is printed once (new table layout) and must be up, never unknown
after=$(sed -n '/^reloaded/,$p' "$TMP/probe.log")
expect_match "pa kept up across the reload" "$after" ' pa up '
if printf '%s\n' "$after" | grep -q ' pa unknown '; then not_ok "pa never unknown after reload"; else ok "pa never unknown after reload"; fi

# a broken config is refused, with file:line, and nothing changes
printf 'health:\n  checks:\n    a: {type: tcp}\n' >"$TMP/steer.yaml"
kill -HUP "$PROBE"
check "bad reload refused" wait_for '^reload failed: .*steer.yaml:3: '
cnt=$(grep -c " pa " "$TMP/probe.log")
kill -USR1 "$PROBE"
check "stats after failed reload" wait_for '^stats checks=2 .* up=1 down=1 '
expect_eq "no state change after failed reload" "$(grep -c " pa " "$TMP/probe.log")" "$cnt"
stop_pid "$PROBE"
if grep -q 'Sanitizer' "$TMP/probe.log"; then not_ok "ASan clean"; else ok "ASan clean"; fi
finish
