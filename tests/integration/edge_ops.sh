#!/bin/bash
# edged operations: config check (-t, file:line), purge API (URL, prefix,
# surrogate key; hard and soft; token; propagation to the shield), disk tier
# (warm restart, corrupted file never served), TLS with per-site certificates
# (SNI), signed URLs, metrics.
. "$(dirname "$0")/../lib.sh"
OP=18130; SP=18131; SA=18132; EP=18133; EA=18134; TP=18135
O="http://127.0.0.1:$OP"; E="http://127.0.0.1:$EP"
TOKEN=0123456789abcdef-token
echo "$TOKEN" > "$TMP/token"
SECRET=signing-secret-0123456789
echo "$SECRET" > "$TMP/secret"

# --- config check ---
cat > "$TMP/bad.yaml" <<YAML
tier: x
listen: { http: ["127.0.0.1:$EP"] }
cache: { memory: 8M, colour: blue }
sites: [ { name: a, hosts: ["*"], origin: "127.0.0.1:$OP" } ]
YAML
out=$("$BIN/edged" -t -c "$TMP/bad.yaml" 2>&1); rc=$?
expect_eq "edged -t rejects unknown key" "$rc" "1"
expect_match "error names file:line" "$out" "bad.yaml:3: unknown key 'colour'"
cat > "$TMP/bad2.yaml" <<YAML
listen: { http: ["127.0.0.1:99999"] }
sites: [ { name: a, hosts: ["*"], origin: "127.0.0.1:$OP" } ]
YAML
expect_match "bad port rejected with line" "$("$BIN/edged" -t -c "$TMP/bad2.yaml" 2>&1)" "bad2.yaml:1: invalid address"

# --- TLS material: one self-signed certificate per site ---
for n in a b; do
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$n.test" -addext "subjectAltName=DNS:$n.test" \
    -keyout "$TMP/$n.key" -out "$TMP/$n.crt" 2>/dev/null
done

cat > "$TMP/shield.yaml" <<YAML
tier: shield-o
listen: { http: ["127.0.0.1:$SP"] }
admin: { listen: "127.0.0.1:$SA", token_file: token }
sites: [ { name: s, hosts: ["*"], origin: "127.0.0.1:$OP" } ]
YAML
cat > "$TMP/edged.yaml" <<YAML
tier: pop-o
listen: { http: ["127.0.0.1:$EP"], https: ["127.0.0.1:$TP"] }
admin: { listen: "127.0.0.1:$EA", token_file: token, propagate_to: ["127.0.0.1:$SA"] }
cache: { memory: 8M, max_object: 1M, disk: { dir: disk, size: 64M } }
sites:
  - name: a
    hosts: ["a.test"]
    origin: "127.0.0.1:$OP"
    tls: { cert: a.crt, key: a.key }
  - name: b
    hosts: ["b.test"]
    origin: "127.0.0.1:$OP"
    tls: { cert: b.crt, key: b.key }
  - name: private
    hosts: ["private.test"]
    origin: "127.0.0.1:$OP"
    signed_urls: { secret_file: secret }
  - name: main
    hosts: ["*"]
    origin: "127.0.0.1:$OP"
    shields: ["127.0.0.1:$SP"]
YAML
expect_eq "edged -t accepts the full config" "$("$BIN/edged" -t -c "$TMP/edged.yaml" >/dev/null 2>&1; echo $?)" "0"

start_bg "$TMP/origin.log" "$BIN/origind" -l 127.0.0.1:$OP
start_bg "$TMP/shield.log" "$BIN/edged" -c "$TMP/shield.yaml"; SPID=$LAST_PID
start_bg "$TMP/edged.log" "$BIN/edged" -c "$TMP/edged.yaml"; EPID=$LAST_PID
for p in $OP $SP $EP $TP $EA; do wait_tcp $p || { not_ok "servers start ($p)"; cat "$TMP"/*.log; finish; }; done

xc() { curl -s -D - -o /dev/null "$@" | tr -d '\r' | sed -n 's/^X-Cache: //p'; }
hits() { curl -s "$O/__hits?p=$1"; }
purge() { curl -s -X POST -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$EA/purge?$1"; }

# --- purge ---
curl -s -o /dev/null "$E/gen/pu1?cc=max-age=60"
expect_eq "purge: cached" "$(xc "$E/gen/pu1?cc=max-age=60")" "HIT"
expect_eq "purge without token -> 401" "$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$EA/purge?url=x")" "401"
expect_eq "purge with wrong token -> 401" "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Authorization: Bearer nope' "http://127.0.0.1:$EA/purge?url=x")" "401"
expect_match "purge by URL" "$(purge "url=http%3A%2F%2F127.0.0.1%2Fgen%2Fpu1%3Fcc%3Dmax-age%3D60")" '"purged":1'
expect_eq "purged URL misses" "$(xc "$E/gen/pu1?cc=max-age=60")" "MISS"
# propagation: the shield lost it too, so the origin was asked again
expect_eq "purge propagated to the shield (origin refetched)" "$(hits /gen/pu1)" "2"

curl -s -o /dev/null "$E/gen/pfx/a?cc=max-age=60"; curl -s -o /dev/null "$E/gen/pfx/b?cc=max-age=60"; curl -s -o /dev/null "$E/gen/other?cc=max-age=60"
expect_match "purge by prefix" "$(purge "prefix=http://127.0.0.1/gen/pfx/&propagate=0")" '"purged":2'
expect_eq "prefix purge: both gone, others kept" "$(xc "$E/gen/pfx/a?cc=max-age=60") $(xc "$E/gen/pfx/b?cc=max-age=60") $(xc "$E/gen/other?cc=max-age=60")" "MISS MISS HIT"

# the prefix as the client wrote the URL (port, case, trailing dot, other
# scheme) matches the keys, which have none of these
curl -s -o /dev/null "$E/gen/pfp/a?cc=max-age=60"; curl -s -o /dev/null "$E/gen/pfp/b?cc=max-age=60"; curl -s -o /dev/null "$E/gen/pfpx?cc=max-age=60"
expect_match "purge by prefix with the port in it" "$(purge "prefix=http://127.0.0.1:$EP/gen/pfp/&propagate=0")" '"purged":2'
expect_eq "port prefix purge: both gone, a longer path kept" "$(xc "$E/gen/pfp/a?cc=max-age=60") $(xc "$E/gen/pfp/b?cc=max-age=60") $(xc "$E/gen/pfpx?cc=max-age=60")" "MISS MISS HIT"
curl -s -o /dev/null "$E/gen/pfq/a?cc=max-age=60"
expect_match "prefix in upper case, trailing dot, https port: matches the http key" "$(purge "prefix=HTTPS://127.0.0.1.:$TP/gen/pfq/&propagate=0")" '"purged":1'
expect_eq "...and it is gone" "$(xc "$E/gen/pfq/a?cc=max-age=60")" "MISS"
curl -s -o /dev/null "$E/gen/pfs/a?cc=max-age=60"
out=$("$BIN/steerctl" -e 127.0.0.1:$EA -t "$TMP/token" purge --prefix "http://127.0.0.1:$EP/gen/pfs/" --no-propagate 2>&1)
expect_match "steerctl purge --prefix with the port" "$out" '^purged 1 object([^s]|$)'
expect_eq "...and it is gone" "$(xc "$E/gen/pfs/a?cc=max-age=60")" "MISS"
expect_eq "empty prefix refused (400), nothing purged" "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$EA/purge?prefix=&propagate=0") $(xc "$E/gen/pfpx?cc=max-age=60")" "400 HIT"

curl -s -o /dev/null "$E/gen/k1?cc=max-age=60&skey=red%20blue"; curl -s -o /dev/null "$E/gen/k2?cc=max-age=60&skey=blue"; curl -s -o /dev/null "$E/gen/k3?cc=max-age=60&skey=green"
expect_match "purge by surrogate key" "$(purge "key=blue&propagate=0")" '"purged":2'
expect_eq "key purge: tagged gone, others kept" "$(xc "$E/gen/k1?cc=max-age=60&skey=red%20blue") $(xc "$E/gen/k2?cc=max-age=60&skey=blue") $(xc "$E/gen/k3?cc=max-age=60&skey=green")" "MISS MISS HIT"

S="$E/gen/soft?cc=max-age=60,stale-while-revalidate=60"
curl -s -o /dev/null "$S"
expect_match "soft purge" "$(purge "url=http://127.0.0.1/gen/soft?cc=max-age=60,stale-while-revalidate=60&soft=1&propagate=0")" '"soft":true'
expect_eq "soft-purged entry is served stale (SWR) while refreshed" "$(xc "$S")" "STALE"
i=0; while [ "$(xc "$S")" != HIT ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
expect_eq "after the background refresh it is fresh again" "$(xc "$S")" "HIT"

# --- metrics ---
m=$(curl -s "http://127.0.0.1:$EA/metrics")
expect_match "metrics: hits counter" "$m" "^edged_cache_hits_total [1-9]"
expect_match "metrics: upstream head-time histogram of the shield tier" "$m" '^edged_upstream_duration_seconds_count\{tier="shield"\} [1-9]'
expect_match "metrics: upstream results of the shield tier" "$m" '^edged_upstream_results_total\{tier="shield",result="ok"\} [1-9]'
expect_match "metrics: purges" "$m" "^edged_purges_total [1-9]"
expect_eq "metrics: purge propagation is not an upstream exchange (attempts = sum of tier results)" \
  "$(echo "$m" | awk '$1 == "edged_upstream_requests_total" { print $2 }')" \
  "$(echo "$m" | awk '/^edged_upstream_results_total\{/ { s += $2 } END { print s }')"

# --- disk tier: warm restart, corrupted file never served ---
curl -s -o /dev/null "$E/gen/disk1?cc=max-age=600&size=20000"
curl -s -o /dev/null "$E/gen/disk2?cc=max-age=600&size=30000"
i=0; while [ "$(ls "$TMP/disk/objects" 2>/dev/null | wc -l)" -lt 2 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
stop_pid $EPID
start_bg "$TMP/edged2.log" "$BIN/edged" -c "$TMP/edged.yaml"; EPID=$LAST_PID
wait_tcp $EP
expect_eq "warm restart: served from disk" "$(xc "$E/gen/disk1?cc=max-age=600&size=20000")" "HIT"
expect_eq "warm restart: origin not asked again" "$(hits /gen/disk1)" "1"
expect_eq "disk object body intact" "$(curl -s "$E/gen/disk1?cc=max-age=600&size=20000" | md5sum)" "$(curl -s "$O/gen/disk1x?size=20000" | md5sum)"
stop_pid $EPID
# flip one byte in the middle of every object file except disk1's
for f in "$TMP"/disk/objects/*; do
  if ! grep -q "gen/disk1" "$f"; then printf 'Z' | dd of="$f" bs=1 seek=$(( $(stat -c %s "$f") - 100 )) conv=notrunc 2>/dev/null; fi
done
start_bg "$TMP/edged3.log" "$BIN/edged" -c "$TMP/edged.yaml"; EPID=$LAST_PID
wait_tcp $EP
expect_eq "corrupted disk object is not served" "$(xc "$E/gen/disk2?cc=max-age=600&size=30000")" "MISS"
expect_match "corruption counted" "$(curl -s "http://127.0.0.1:$EA/metrics")" "^edged_disk_corrupt_total [1-9]"
expect_eq "intact disk object still served" "$(xc "$E/gen/disk1?cc=max-age=600&size=20000")" "HIT"
# a leftover temp file from a crash is removed at start
touch "$TMP/disk/tmp/leftover.1"
stop_pid $EPID
start_bg "$TMP/edged4.log" "$BIN/edged" -c "$TMP/edged.yaml"; EPID=$LAST_PID
wait_tcp $EP
expect_eq "temp files of interrupted writes are removed" "$(ls "$TMP/disk/tmp" | wc -l)" "0"

# --- TLS with SNI ---
for n in a b; do
  out=$(curl -s -D - --cacert "$TMP/$n.crt" --resolve "$n.test:$TP:127.0.0.1" "https://$n.test:$TP/gen/tls$n?cc=max-age=60" -o /dev/null | tr -d '\r')
  expect_match "TLS site $n.test verified with its own certificate" "$out" "^HTTP/1.1 200"
done
expect_eq "wrong certificate fails verification" "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$TMP/a.crt" --resolve "b.test:$TP:127.0.0.1" "https://b.test:$TP/x")" "000"
expect_eq "TLS keep-alive: second request is a HIT" "$(curl -s -D - -o /dev/null --cacert "$TMP/a.crt" --resolve "a.test:$TP:127.0.0.1" "https://a.test:$TP/gen/tlsa?cc=max-age=60" | tr -d '\r' | sed -n 's/^X-Cache: //p')" "HIT"

# --- signed URLs ---
P=/gen/secret
sign() { printf '%s' "$1:$2" | openssl dgst -sha256 -hmac "$SECRET" | awk '{print $NF}'; }
exp=$(( $(date +%s) + 300 ))
sig=$(sign $P $exp)
code() { curl -s -o /dev/null -w '%{http_code}' -H 'Host: private.test' "$@"; }
expect_eq "signed URL: no signature -> 403" "$(code "$E$P?cc=max-age=60")" "403"
expect_eq "signed URL: bad signature -> 403" "$(code "$E$P?cc=max-age=60&expires=$exp&sig=${sig%?}0")" "403"
old=$(( $(date +%s) - 10 ))
expect_eq "signed URL: expired -> 403" "$(code "$E$P?cc=max-age=60&expires=$old&sig=$(sign $P $old)")" "403"
expect_eq "403s never reached the origin" "$(hits $P)" "0"
expect_eq "signed URL: valid -> 200" "$(code "$E$P?cc=max-age=60&expires=$exp&sig=$sig")" "200"
exp2=$(( exp + 1 ))
expect_eq "other valid signature shares the cached object" "$(curl -s -D - -o /dev/null -H 'Host: private.test' "$E$P?cc=max-age=60&expires=$exp2&sig=$(sign $P $exp2)" | tr -d '\r' | sed -n 's/^X-Cache: //p')" "HIT"
expect_eq "cached object still needs a signature" "$(code "$E$P?cc=max-age=60")" "403"

stop_pid $EPID; stop_pid $SPID
if grep -q "Sanitizer" "$TMP"/*.log; then not_ok "sanitizer report"; grep -h -A20 Sanitizer "$TMP"/*.log | head -40; else ok "no sanitizer report"; fi
finish
