#!/bin/bash
# edged upstream chain: PoP -> shield -> origin with real processes.
# Via/X-Cache per tier, one origin fetch for two PoPs, shield down ->
# origin fallback, passive mark-down and active probe back, shield 5xx ->
# origin, clean 502/504, garbage and truncated upstream responses, /health,
# per-tier upstream results.
. "$(dirname "$0")/../lib.sh"
OP=18110; SP=18111; SA=18112; P1=18113; P2=18115; HP=18116; DEAD=18119
O="http://127.0.0.1:$OP"

echo "0123456789abcdef-token" > "$TMP/token"
cat > "$TMP/shield.yaml" <<YAML
tier: shield-t
listen: { http: ["127.0.0.1:$SP"] }
admin: { listen: "127.0.0.1:$SA", token_file: token }
sites:
  - { name: main, hosts: ["*"], origin: "127.0.0.1:$OP" }
  - { name: broken, hosts: ["broken.test"], origin: "127.0.0.1:$DEAD" }
YAML
pop() { cat <<YAML
tier: $1
listen: { http: ["127.0.0.1:$2"] }
admin: { listen: "127.0.0.1:$3", token_file: token }
timeouts: { upstream_first_byte: 1s, upstream_connect: 500ms }
upstream: { fail_threshold: 2, probe_interval: 100ms }
sites:
  - { name: main, hosts: ["*"], origin: "127.0.0.1:$OP", shields: ["127.0.0.1:$SP"] }
  - { name: broken, hosts: ["broken.test"], origin: "127.0.0.1:$OP", shields: ["127.0.0.1:$SP"] }
  - { name: dead, hosts: ["dead.test"], origin: "127.0.0.1:$DEAD" }
YAML
}
pop pop-a $P1 18114 > "$TMP/pop1.yaml"
pop pop-b $P2 18117 > "$TMP/pop2.yaml"
cat > "$TMP/lonely.yaml" <<YAML
tier: lonely
listen: { http: ["127.0.0.1:$HP"] }
admin: { listen: "127.0.0.1:18118", token_file: token }
upstream: { fail_threshold: 2, probe_interval: 100ms }
sites:
  - { name: only, hosts: ["*"], origin: "127.0.0.1:$DEAD" }
YAML

start_bg "$TMP/origin.log" "$BIN/origind" -l 127.0.0.1:$OP
start_bg "$TMP/shield.log" "$BIN/edged" -c "$TMP/shield.yaml"; SPID=$LAST_PID
start_bg "$TMP/pop1.log" "$BIN/edged" -c "$TMP/pop1.yaml"; P1PID=$LAST_PID
start_bg "$TMP/pop2.log" "$BIN/edged" -c "$TMP/pop2.yaml"; P2PID=$LAST_PID
start_bg "$TMP/lonely.log" "$BIN/edged" -c "$TMP/lonely.yaml"; LPID=$LAST_PID
for p in $OP $SP $P1 $P2 $HP; do wait_tcp $p || { not_ok "servers start ($p)"; cat "$TMP"/*.log; finish; }; done

hdrs() { curl -s -D - -o /dev/null "$@" | tr -d '\r'; }
field() { sed -n "s/^$1: //p"; }
hits() { curl -s "$O/__hits?p=$1"; }
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
metric() { curl -s "http://127.0.0.1:$1/metrics" | grep -F "$2" | awk '{print $2}'; }

# two PoPs, one shield: the origin is asked once
h=$(hdrs "http://127.0.0.1:$P1/gen/chain?cc=max-age=60")
expect_eq "PoP miss through shield" "$(echo "$h" | field X-Cache)" "MISS"
expect_eq "Via names shield and PoP" "$(echo "$h" | field Via)" "1.1 shield-t (edged), 1.1 pop-a (edged)"
h=$(hdrs "http://127.0.0.1:$P2/gen/chain?cc=max-age=60")
expect_eq "second PoP misses locally" "$(echo "$h" | field X-Cache)" "MISS"
expect_eq "origin asked once for two PoPs" "$(hits /gen/chain)" "1"
expect_eq "PoP hit" "$(hdrs "http://127.0.0.1:$P1/gen/chain?cc=max-age=60" | field X-Cache)" "HIT"
# regression: a hit via the shield repeated the shield's Accept-Ranges
expect_eq "PoP hit states Accept-Ranges once" "$(hdrs "http://127.0.0.1:$P1/gen/chain?cc=max-age=60" | grep -ci '^accept-ranges:')" "1"

# shield answers 5xx (its own origin is dead): the PoP asks the origin directly
h=$(hdrs -H "Host: broken.test" "http://127.0.0.1:$P1/gen/brk?cc=max-age=60")
expect_match "shield 502 -> origin fallback 200" "$h" "^HTTP/1.1 200"
expect_eq "fallback response did not come via the shield" "$(echo "$h" | field Via)" "1.1 pop-a (edged)"

# shield down: per-request fallback, then marked down, then probed back
stop_pid $SPID
expect_eq "shield down: origin answers" "$(code "http://127.0.0.1:$P1/gen/sd1?cc=max-age=60")" "200"
expect_eq "shield down: second request also answered" "$(code "http://127.0.0.1:$P1/gen/sd2?cc=max-age=60")" "200"
expect_eq "shield marked down after 2 failures" "$(metric 18114 'role="shield"' | head -1)" "0"
expect_eq "PoP healthy while origin reachable" "$(code "http://127.0.0.1:$P1/health")" "200"
expect_eq "marked-down shield is skipped" "$(code "http://127.0.0.1:$P1/gen/sd3?cc=max-age=60")" "200"
start_bg "$TMP/shield2.log" "$BIN/edged" -c "$TMP/shield.yaml"; wait_tcp $SP
i=0; while [ "$(metric 18114 'role="shield"' | head -1)" != 1 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
expect_eq "probe marks the shield up again" "$(metric 18114 'role="shield"' | head -1)" "1"
expect_eq "requests go through the shield again" "$(hdrs "http://127.0.0.1:$P1/gen/sd4?cc=max-age=60" | field Via)" "1.1 shield-t (edged), 1.1 pop-a (edged)"

# clean 502 / 504
expect_eq "dead origin -> 502" "$(code -H 'Host: dead.test' "http://127.0.0.1:$P1/x")" "502"
t0=$(date +%s%N)
expect_eq "slow origin -> 504" "$(code -H 'Host: dead.test' "http://127.0.0.1:$P1/x" >/dev/null; code "http://127.0.0.1:$P1/gen/slow?delay=3000&cc=no-store")" "504"
expect_eq "garbage upstream -> 502" "$(code "http://127.0.0.1:$P1/__garbage")" "502"
curl -s -o /dev/null "http://127.0.0.1:$P1/__truncate?size=100000"; rc1=$?
curl -s -o /dev/null "http://127.0.0.1:$P1/__truncate?size=100000"
expect_eq "truncated upstream body: client sees truncation, nothing cached" "$rc1 $(hits /__truncate)" "18 2"

# health: 503 once every upstream is marked down, 200 after the probe succeeds
expect_eq "lonely edge healthy at start" "$(code "http://127.0.0.1:$HP/health")" "200"
code "http://127.0.0.1:$HP/a" >/dev/null; code "http://127.0.0.1:$HP/b" >/dev/null
expect_eq "all upstreams down -> /health 503" "$(code "http://127.0.0.1:$HP/health")" "503"
start_bg "$TMP/origin2.log" "$BIN/origind" -l 127.0.0.1:$DEAD
i=0; while [ "$(code "http://127.0.0.1:$HP/health")" != 200 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
expect_eq "origin back -> /health 200" "$(code "http://127.0.0.1:$HP/health")" "200"

# per-tier upstream results (upstream.h): health probes are not counted
R() { metric "$1" "edged_upstream_results_total{tier=\"$2\",result=\"$3\"}"; }
expect_eq "lonely: two refused origin exchanges; its probes (failed, then ok) not counted" \
  "$(R 18118 origin error) $(R 18118 origin ok) $(R 18118 origin timeout)" "2 0 0"
expect_eq "pop-a: the slow object timed out once per tier" "$(R 18114 shield timeout) $(R 18114 origin timeout)" "1 1"
expect_eq "pop-a: every attempt has one result (probes of the shield not counted)" \
  "$(curl -s http://127.0.0.1:18114/metrics | awk '$1 == "edged_upstream_requests_total" { print $2 }')" \
  "$(curl -s http://127.0.0.1:18114/metrics | awk '/^edged_upstream_results_total\{/ { s += $2 } END { print s }')"

for p in $P1PID $P2PID $LPID; do stop_pid $p; done
if grep -q "Sanitizer" "$TMP"/*.log; then not_ok "sanitizer report"; grep -h -A20 Sanitizer "$TMP"/*.log | head -40; else ok "no sanitizer report"; fi
finish
