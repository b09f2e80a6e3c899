#!/bin/bash
# tests/integration/steerd_rum.sh: issue 7 end to end. steerd with a `rum`
# pool {a-pop, b-pop} for German clients and a `rum:` section; beacons POSTed
# with curl (X-Forwarded-For from a trusted proxy) say b-pop is much faster
# for AS64500/DE (fixture network 192.0.2.0/24): steerd's answer for that
# network flips from a-pop to b-pop, a US network (weighted pool) keeps
# a-pop, the decision survives SIGHUP reloads and kill -9 (state file).
# Ports 15760-15762.
. "$(dirname "$0")/../lib.sh"

DNS=15760; RUM=15761
GEO="$ROOT/geo/fixture"
cp "$ROOT/examples/cdn.example.test.zone" "$TMP/"
PROVIDERS="  a-pop: {type: pop, ipv4: [127.0.1.1]}
  b-pop: {type: pop, ipv4: [127.0.1.2]}"
STATE="  state_file: rum.state"
conf() { # EXTRA-RUM-YAML (and $PROVIDERS, $STATE)
  cat > "$TMP/steerd.yaml" <<YAML
server: {listen: ["127.0.0.1:$DNS"], workers: 1}
zones: [{name: cdn.example.test, file: cdn.example.test.zone}]
geo:
  databases: [$GEO/steer-city.mmdb, $GEO/steer-asn.mmdb]
providers:
$PROVIDERS
steering:
  - name: www.cdn.example.test
    ttl: 30
    rules:
      - {match: {country: DE}, pools: [eu]}
      - {match: default, pools: [world]}
    pools:
      eu: {policy: rum, members: {a-pop: 1000000, b-pop: 1}}
      world: {policy: weighted, members: {a-pop: 1000000, b-pop: 1}}
rum:
  listen: 127.0.0.1:$RUM
  trusted_proxies: [127.0.0.0/8]
  min_samples: 5
  explore: 0
  recompute_interval: 50ms
  snapshot_interval: 1s
  rate: {per_second: 1000, burst: 1000}
$STATE
  debug_endpoint: true
$1
YAML
}
q() { dig +time=1 +tries=2 +short @127.0.0.1 -p $DNS www.cdn.example.test A +subnet="$1" 2>/dev/null | head -n1; }
scope() { dig +time=1 +tries=2 @127.0.0.1 -p $DNS www.cdn.example.test A +subnet="$1" 2>/dev/null | sed -n 's/.*CLIENT-SUBNET: [0-9.]*\/[0-9]*\/\([0-9]*\).*/\1/p'; }
# poll CMD-STRING REGEX: up to 10 s for the output of CMD to match
poll() { i=0; while [ $i -lt 200 ]; do out=$(eval "$1" 2>/dev/null); printf '%s' "$out" | grep -Eq -- "$2" && return 0; sleep 0.05; i=$((i+1)); done; echo "$out"; return 1; }
post() { curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary "$2" -H "X-Forwarded-For: $1" "http://127.0.0.1:$RUM/rum"; }
batch() { # PROVIDER MS COUNT -> JSON batch of COUNT latency samples around MS
  awk -v p="$1" -v v="$2" -v n="$3" 'BEGIN { printf "{\"m\":["; for (i = 0; i < n; i++) printf "%s{\"p\":\"%s\",\"k\":\"latency\",\"v\":%.1f}", i ? "," : "", p, v * (0.8 + 0.4 * i / n); printf "]}" }'
}
start_steerd() {
  start_bg "$TMP/steerd.$1.log" "$BIN/steerd" -c "$TMP/steerd.yaml"; STEERD=$LAST_PID
  wait_dns $DNS && wait_tcp $RUM
}

cd "$TMP" || exit 1
conf ""
check "config with rum: passes -t" "$BIN/steerd" -t -c "$TMP/steerd.yaml"
conf "  bogus: 1"
out=$("$BIN/steerd" -t -c "$TMP/steerd.yaml" 2>&1)
expect_match "rum config error is file:line" "$out" "steerd.yaml:[0-9]+: .*bogus"
conf ""

start_steerd 1 || { not_ok "steerd starts with a rum collector"; cat "$TMP/steerd.1.log"; finish; }
ok "steerd starts with a rum collector"
expect_eq "DE network answered a-pop before any beacon (weighted fallback)" "$(q 192.0.2.0/24)" "127.0.1.1"
expect_eq "US network answered a-pop" "$(q 198.51.100.0/24)" "127.0.1.1"

# b-pop 6x faster for the DE network (both providers measured: trusted)
for i in 1 2 3; do
  post 192.0.2.10 "$(batch a-pop 120 16)" >/dev/null
  post "203.0.113.9, 192.0.2.10" "$(batch b-pop 20 16)" >/dev/null
done
expect_eq "beacon accepted (204)" "$(post 192.0.2.10 "$(batch b-pop 20 4)")" 204
check "DE network flips to b-pop within 10 s" poll "q 192.0.2.0/24" '^127\.0\.1\.2$'
expect_eq "US network (weighted pool) still a-pop" "$(q 198.51.100.0/24)" "127.0.1.1"
sc=$(scope 192.0.2.0/24)
expect_eq "ECS scope /24 (geo /25 and hashed /24, clamped to the source)" "$sc" "24"

# reload: the aggregate is handed over, the answer stays
kill -HUP $STEERD
check "SIGHUP reload succeeds (same state file)" poll "grep -c 'reloaded configuration' $TMP/steerd.1.log" '^1$'
expect_eq "after reload DE still b-pop" "$(q 192.0.2.0/24)" "127.0.1.2"
expect_eq "beacons accepted after reload" "$(post 192.0.2.10 "$(batch b-pop 20 4)")" 204

# persistence across kill -9: wait for a state file written after the flip
touch "$TMP/marker"; sleep 0.01
check "state file written" poll "find $TMP/rum.state -newer $TMP/marker" 'rum.state'
kill -9 $STEERD; i=0; while kill -0 $STEERD 2>/dev/null && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
start_steerd 2 || { not_ok "steerd restarts"; cat "$TMP/steerd.2.log"; finish; }
ok "steerd restarts after kill -9"
expect_match "restart loaded the state file" "$(cat "$TMP/steerd.2.log")" "rum: loaded [1-9][0-9]* cells"
expect_eq "after kill -9 DE still b-pop" "$(q 192.0.2.0/24)" "127.0.1.2"
expect_eq "after kill -9 US still a-pop" "$(q 198.51.100.0/24)" "127.0.1.1"

# reload without a state file and with the providers reordered: the cells
# are handed over in memory, remapped to the new provider ids by name

PROVIDERS="  zz-pop: {type: pop, ipv4: [127.0.1.9]}
  b-pop: {type: pop, ipv4: [127.0.1.2]}
  a-pop: {type: pop, ipv4: [127.0.1.1]}" STATE="" conf ""
kill -HUP $STEERD
check "reload without state file" poll "grep -c 'reloaded configuration' $TMP/steerd.2.log" '^1$'
expect_eq "in-memory handover: DE still b-pop" "$(q 192.0.2.0/24)" "127.0.1.2"
expect_eq "in-memory handover: US still a-pop" "$(q 198.51.100.0/24)" "127.0.1.1"

# a reload whose collector cannot bind fails; the previous collector is back
start_bg "$TMP/blocker.log" python3 -m http.server --bind 127.0.0.1 15762; BLOCK=$LAST_PID
wait_tcp 15762
cp "$TMP/steerd.yaml" "$TMP/good.yaml"
sed -i "s/listen: 127.0.0.1:$RUM/listen: 127.0.0.1:15762/" "$TMP/steerd.yaml"
grep -q 'listen: 127.0.0.1:15762' "$TMP/steerd.yaml" || not_ok "busy-port config written"
kill -HUP $STEERD
check "reload with a busy rum port fails" poll "grep -c 'reload failed' $TMP/steerd.2.log" '^1$'
expect_eq "old collector restored: beacons accepted" "$(post 192.0.2.10 "$(batch b-pop 20 4)")" 204
expect_eq "after failed reload DE still b-pop" "$(q 192.0.2.0/24)" "127.0.1.2"
stop_pid $BLOCK
cp "$TMP/good.yaml" "$TMP/steerd.yaml"

stop_pid $STEERD
expect_match "clean stop" "$(tail -n 3 "$TMP/steerd.2.log")" "stopping"
if grep -q 'ERROR: AddressSanitizer\|runtime error\|LeakSanitizer' "$TMP"/steerd.*.log; then
  not_ok "steerd sanitizer-clean"; grep -h -A20 'Sanitizer\|runtime error' "$TMP"/steerd.*.log | head -40
else ok "steerd sanitizer-clean"; fi
finish
