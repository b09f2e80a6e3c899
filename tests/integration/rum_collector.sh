#!/bin/bash
# tests/integration/rum_collector.sh: the RUM collector as a real process
# (tests/tools/rum_server) driven with curl: beacons, validation and status
# codes, CORS, rum.js, X-Forwarded-For from trusted proxies, rate limiting,
# a ranking flip from beacons, persistence across SIGTERM and kill -9,
# corrupt state files, CSV import, config errors. Ports 15710-15719.
. "$(dirname "$0")/../lib.sh"

P1=15710; P2=15711; P3=15712
SRV="$TOOLS/rum_server"
GEO="$ROOT/geo/fixture"

conf() { # FILE PORT EXTRA-RUM-YAML
  cat >"$1" <<YAML
geo:
  databases: [$GEO/steer-city.mmdb, $GEO/steer-asn.mmdb]
providers:
  cdn-a: {type: cdn, cname: a.example.}
  cdn-b: {type: cdn, cname: b.example.}
rum:
  listen: 127.0.0.1:$2
  allow_origins: ["https://www.example.test"]
  trusted_proxies: [127.0.0.0/8]
  min_samples: 5
  margin: 0.1
  explore: 0
  max_body: 4k
  max_batch: 16
  recompute_interval: 50ms
  snapshot_interval: 1s
  debug_endpoint: true
  state_file: rum-$2.state
  test_urls: {cdn-a: "https://a.example.test/rum/16k.png", cdn-b: "https://b.example.test/rum/16k.png"}
$3
YAML
}

# poll CMD-STRING REGEX: up to 5 s for the output of CMD to match
poll() { i=0; while [ $i -lt 100 ]; do out=$(eval "$1" 2>/dev/null); printf '%s' "$out" | grep -Eq -- "$2" && return 0; sleep 0.05; i=$((i+1)); done; echo "$out"; return 1; }
code() { curl -s -o "$TMP/body" -w '%{http_code}' "$@"; }
post() { curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary "$2" -H "X-Forwarded-For: $1" "http://127.0.0.1:$P1/rum"; }
scores() { curl -s "http://127.0.0.1:$1/rum/scores?client=$2"; }
metric() { curl -s "http://127.0.0.1:$1/rum/metrics" | awk -v k="$2" '$1 == k { print $2 }'; }
batch() { # PROVIDER MS COUNT -> JSON batch of COUNT latency samples around MS
  awk -v p="$1" -v v="$2" -v n="$3" 'BEGIN { printf "{\"m\":["; for (i = 0; i < n; i++) printf "%s{\"p\":\"%s\",\"k\":\"latency\",\"v\":%.1f}", i ? "," : "", p, v * (0.8 + 0.4 * i / n); printf "]}" }'
}

cd "$TMP" || exit 1
conf c1.yaml $P1 "  rate: {per_second: 1000, burst: 1000}"

# ---- config check
conf bad.yaml $P1 "  bogus_key: 1"
out=$("$SRV" bad.yaml --check 2>&1); rc=$?
expect_eq "config error exits 1" "$rc" 1
expect_match "config error names file:line" "$out" "bad.yaml:[0-9]+: .*bogus_key"
check "good config passes --check" "$SRV" c1.yaml --check

start_bg srv1.log "$SRV" c1.yaml; S1=$LAST_PID
check "server listens" wait_tcp $P1

# ---- beacons and validation
expect_eq "POST batch -> 204" "$(code -X POST --data-binary "$(batch cdn-a 40 3)" http://127.0.0.1:$P1/rum)" 204
expect_eq "GET pixel -> 204" "$(code "http://127.0.0.1:$P1/rum?m=cdn-a:latency:41&m=cdn-b:failure&_=1")" 204
expect_eq "unknown provider -> 400" "$(code -X POST --data-binary '{"m":[{"p":"cdn-z","k":"latency","v":4}]}' http://127.0.0.1:$P1/rum)" 400
expect_eq "400 body names the reason" "$(cat "$TMP/body")" "provider"
expect_eq "malformed JSON -> 400" "$(code -X POST --data-binary '{"m":[' http://127.0.0.1:$P1/rum)" 400
expect_eq "out-of-range value -> 400" "$(code -X POST --data-binary '{"m":[{"p":"cdn-a","k":"latency","v":-1}]}' http://127.0.0.1:$P1/rum)" 400
expect_eq "bad pixel -> 400" "$(code "http://127.0.0.1:$P1/rum?m=cdn-a")" 400
expect_eq "too many measurements -> 400" "$(code -X POST --data-binary "$(batch cdn-a 40 17)" http://127.0.0.1:$P1/rum)" 400
head -c 6000 /dev/zero | tr '\0' ' ' >big.json
expect_eq "oversize body -> 413" "$(code -X POST --data-binary @big.json http://127.0.0.1:$P1/rum)" 413
head -c 3000000 /dev/zero | tr '\0' ' ' >huge.json
c=$(code -X POST --data-binary @huge.json http://127.0.0.1:$P1/rum)
expect_match "huge body refused (413 or closed)" "$c" "^(413|000)$"
expect_eq "DELETE -> 405" "$(code -X DELETE http://127.0.0.1:$P1/rum)" 405
expect_eq "unknown path -> 404" "$(code http://127.0.0.1:$P1/nope)" 404
expect_eq "rejected provider counted" "$(metric $P1 'steer_rum_beacons_rejected_total{reason="provider"}')" 1
expect_eq "rejected json counted" "$(metric $P1 'steer_rum_beacons_rejected_total{reason="json"}')" 1
expect_eq "rejected too_large counted" "$(metric $P1 'steer_rum_beacons_rejected_total{reason="too_large"}')" 1
expect_eq "accepted beacons counted" "$(metric $P1 steer_rum_beacons_accepted_total)" 2
expect_eq "accepted measurements counted" "$(metric $P1 steer_rum_measurements_accepted_total)" 5
expect_eq "per-provider counter" "$(metric $P1 'steer_rum_measurements_provider_total{provider="cdn-b"}')" 1

# ---- CORS
h=$(curl -s -D - -o /dev/null -X OPTIONS -H 'Origin: https://www.example.test' -H 'Access-Control-Request-Method: POST' http://127.0.0.1:$P1/rum | tr -d '\r')
expect_match "preflight 204" "$h" "^HTTP/1.1 204"
expect_match "preflight allows origin" "$h" "Access-Control-Allow-Origin: https://www.example.test"
expect_match "preflight methods" "$h" "Access-Control-Allow-Methods: GET, POST, OPTIONS"
expect_match "preflight headers" "$h" "Access-Control-Allow-Headers: Content-Type"
h=$(curl -s -D - -o /dev/null -X POST -H 'Origin: https://www.example.test' --data-binary "$(batch cdn-a 40 1)" http://127.0.0.1:$P1/rum | tr -d '\r')
expect_match "allowed origin POST gets ACAO + Vary" "$h" "Access-Control-Allow-Origin: https://www.example.test"
expect_match "Vary: Origin" "$h" "Vary: Origin"
expect_eq "foreign origin -> 403" "$(code -X POST -H 'Origin: https://evil.test' --data-binary "$(batch cdn-a 40 1)" http://127.0.0.1:$P1/rum)" 403
h=$(curl -s -D - -o /dev/null -X OPTIONS -H 'Origin: https://evil.test' http://127.0.0.1:$P1/rum | tr -d '\r')
if printf '%s' "$h" | grep -q 'Access-Control-Allow-Origin'; then not_ok "foreign preflight gets no ACAO"; else ok "foreign preflight gets no ACAO"; fi

# ---- rum.js
js=$(curl -s -D "$TMP/jsh" http://127.0.0.1:$P1/rum.js)
expect_match "rum.js content type" "$(tr -d '\r' <"$TMP/jsh")" "Content-Type: application/javascript"
expect_match "rum.js lists test URLs" "$js" 'https:\\/\\/b.example.test\\/rum\\/16k.png'
expect_match "rum.js uses Resource Timing" "$js" "getEntriesByName"
expect_match "rum.js sends beacons" "$js" "sendBeacon"
if command -v node >/dev/null 2>&1; then
  printf '%s' "$js" >rum.js
  check "rum.js is valid JavaScript" node --check rum.js
fi

# ---- X-Forwarded-For and geo buckets; the ranking flips with the data
# 192.0.2.10: AS64500 DE EU (fixture). cdn-a fast first.
for i in 1 2; do post 192.0.2.10 "$(batch cdn-a 30 10)" >/dev/null; post 192.0.2.10 "$(batch cdn-b 90 10)" >/dev/null; done
check "scores appear at the ASN level" poll "scores $P1 192.0.2.10" '"cdn-a":\{"level":"asn"'
check "cdn-a ranked first for AS64500" poll "scores $P1 192.0.2.10" '"ranking":\["cdn-a","cdn-b"\],"level":"asn"'
s=$(scores $P1 198.51.100.7)
expect_match "US client falls back to global" "$s" '"level":"global"'
# untrusted peer: XFF ignored -> the beacon counts for 127.0.0.1 (no geo)
# (the peer is trusted here, so check the parsing: garbage XFF keeps the peer)
post "not-an-ip" "$(batch cdn-a 30 1)" >/dev/null
# beacons now say cdn-b is much faster for that network
for i in 1 2 3 4 5 6; do post "203.0.113.200, 192.0.2.10" "$(batch cdn-b 15 16)" >/dev/null; done
for i in 1 2 3 4 5 6; do post 192.0.2.10 "$(batch cdn-a 60 16)" >/dev/null; done
s=$(scores $P1 192.0.2.10)
expect_match "XFF right-most untrusted hop is the client" "$s" '"asn":64500'
check "ranking flips to cdn-b" poll "scores $P1 192.0.2.10" '"ranking":\["cdn-b","cdn-a"\]'

# ---- persistence: snapshot timer, kill -9, restart
# a restart loses at most one snapshot interval: wait for a snapshot taken after the flip
n0=$(metric $P1 steer_rum_snapshots_total)
check "snapshot written after the flip" poll "[ \$(metric $P1 steer_rum_snapshots_total) -gt $n0 ] && echo yes" '^yes$'
before=$(scores $P1 192.0.2.10 | grep -o '"ranking":\[[^]]*\]')
kill -9 $S1; wait $S1 2>/dev/null
check "state file survives kill -9" test -s rum-$P1.state
start_bg srv1b.log "$SRV" c1.yaml; S1=$LAST_PID
check "restarted" wait_tcp $P1
s=$(scores $P1 192.0.2.10)
expect_match "scores reloaded after kill -9" "$s" '"cdn-b":\{"level":"asn"'
expect_match "same ranking after kill -9" "$s" "$(printf '%s' "$before" | sed 's/[][]/\\&/g')"
expect_match "load logged" "$(cat srv1b.log)" "loaded [0-9]+ cells"
# SIGTERM writes a final snapshot with the latest data
post 198.51.100.7 "$(batch cdn-a 20 16)" >/dev/null
stop_pid $S1
check "SIGTERM exits cleanly" grep -q "stopped on signal" srv1b.log
start_bg srv1c.log "$SRV" c1.yaml; S1=$LAST_PID
check "restarted again" wait_tcp $P1
expect_match "data sent just before SIGTERM kept" "$(scores $P1 198.51.100.7)" '"cdn-a":\{"level":"asn","samples":1[0-9]'
stop_pid $S1

# ---- corrupt and truncated state files: start empty, never crash
cp rum-$P1.state good.state
printf 'garbage' | dd of=rum-$P1.state bs=1 seek=100 conv=notrunc 2>/dev/null
start_bg srv1d.log "$SRV" c1.yaml; S1=$LAST_PID
check "starts with a corrupt state file" wait_tcp $P1
expect_match "corruption reported" "$(cat srv1d.log)" "ignoring state file: .*checksum"
expect_match "started empty" "$(scores $P1 192.0.2.10)" '"scores":\{\}'
check "corrupt file kept aside" test -s rum-$P1.state.corrupt
stop_pid $S1
head -c 57 good.state >rum-$P1.state
start_bg srv1e.log "$SRV" c1.yaml; S1=$LAST_PID
check "starts with a truncated state file" wait_tcp $P1
expect_match "truncation reported" "$(cat srv1e.log)" "ignoring state file"
stop_pid $S1

# ---- CSV import
{ echo "timestamp_ms,client_ip,provider,kind,value"
  now=$(($(date +%s) * 1000))
  for i in $(seq 1 20); do echo "$now,203.0.113.130,cdn-b,latency,$((20 + i))"; echo "$now,203.0.113.131,cdn-a,latency,$((200 + i))"; done
} >offline.csv
rm -f rum-$P1.state
start_bg srv1f.log "$SRV" c1.yaml --import offline.csv; S1=$LAST_PID
check "serves after import" wait_tcp $P1
expect_match "import reported" "$(cat srv1f.log)" "imported 40 measurements"
expect_match "imported data ranks (JP network)" "$(scores $P1 203.0.113.140)" '"ranking":\["cdn-b","cdn-a"\],"level":"asn"'
stop_pid $S1
printf '1,203.0.113.130,cdn-q,latency,3\n' >badimport.csv
out=$("$SRV" c1.yaml --import badimport.csv 2>&1); rc=$?
expect_eq "bad CSV refused" "$rc" 1
expect_match "bad CSV names file:line" "$out" "badimport.csv:1: unknown provider"

# ---- rate limiting: burst 3, then 429 and counted; other clients unaffected
conf c2.yaml $P2 "  rate: {per_second: 0.01, burst: 3, clients: 64}"
start_bg srv2.log "$SRV" c2.yaml; S2=$LAST_PID
check "rate-limited server listens" wait_tcp $P2
codes=""
for i in 1 2 3 4 5; do codes="$codes $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P2/rum?m=cdn-a:l:5")"; done
expect_eq "burst then 429" "$codes" " 204 204 204 429 429"
expect_eq "other client still allowed" "$(curl -s -o /dev/null -w '%{http_code}' -H 'X-Forwarded-For: 192.0.2.77' "http://127.0.0.1:$P2/rum?m=cdn-a:l:5")" 204
expect_eq "rate rejections counted" "$(curl -s http://127.0.0.1:$P2/rum/metrics | awk '$1 == "steer_rum_beacons_rejected_total{reason=\"rate\"}" { print $2 }')" 2
# 2000 distinct clients through the proxy: table stays bounded, server fine
for i in $(seq 0 1999); do echo "url = \"http://127.0.0.1:$P2/rum?m=cdn-a:l:5\""; echo "header = \"X-Forwarded-For: 10.$((i / 256)).$((i % 256)).1\""; echo "output = /dev/null"; echo "silent"; echo "next"; done >many.curl
curl -s --parallel --parallel-max 8 -K many.curl >/dev/null 2>&1
expect_match "flood of clients evicts, does not grow" "$(curl -s http://127.0.0.1:$P2/rum/metrics)" 'steer_rum_ratelimit_evictions_total [1-9]'
stop_pid $S2
check "rate-limited server exits cleanly" grep -q "stopped on signal" srv2.log

# ---- X-Forwarded-For from an untrusted peer is ignored
conf c3.yaml $P3 "  rate: {per_second: 1000, burst: 1000}"
sed -i 's|trusted_proxies: \[127.0.0.0/8\]|trusted_proxies: [10.0.0.0/8]|' c3.yaml
start_bg srv3x.log "$SRV" c3.yaml; S3=$LAST_PID
check "untrusted-proxy server listens" wait_tcp $P3
for i in 1 2; do
  curl -s -o /dev/null -X POST -H 'X-Forwarded-For: 192.0.2.10' --data-binary "$(batch cdn-a 30 16)" http://127.0.0.1:$P3/rum
  curl -s -o /dev/null -X POST -H 'X-Forwarded-For: 192.0.2.10' --data-binary "$(batch cdn-b 60 16)" http://127.0.0.1:$P3/rum
done
check "beacons from the peer counted" poll "scores $P3 192.0.2.10" '"cdn-a":\{"level":"global"'
s=$(scores $P3 192.0.2.10)
if printf '%s' "$s" | grep -q '"level":"asn"'; then not_ok "XFF from an untrusted peer ignored"; printf '#   %s\n' "$s"; else ok "XFF from an untrusted peer ignored"; fi
stop_pid $S3

# ---- port in use is reported
start_bg srv3.log "$SRV" c2.yaml; S3=$LAST_PID
check "listens" wait_tcp $P2
out=$("$SRV" c2.yaml 2>&1); rc=$?
expect_eq "second instance fails" "$rc" 1
expect_match "address in use reported" "$out" "port $P2: Address already in use"
stop_pid $S3
if grep -l 'Sanitizer' srv*.log >/dev/null 2>&1; then not_ok "servers sanitizer-clean (ASan/UBSan/leaks)"; grep -h -A5 Sanitizer srv*.log | head -20 | sed 's/^/#   /'; else ok "servers sanitizer-clean (ASan/UBSan/leaks)"; fi
finish
