#!/bin/bash
# edged cache semantics against a real origin process (bin/origind):
# MISS/HIT, collapsing, freshness, Age, validation (304 both ways), Vary,
# stale-while-revalidate, stale-if-error, Range, HEAD, invalidation,
# no-store/private/Set-Cookie/Authorization, request Cache-Control, query
# key rules, chunked upstream, pass-through streaming of a large object.
. "$(dirname "$0")/../lib.sh"
OP=18100; EP=18101; AP=18102
O="http://127.0.0.1:$OP"; E="http://127.0.0.1:$EP"

echo "0123456789abcdef-token" > "$TMP/token"
cat > "$TMP/edged.yaml" <<YAML
tier: pop-test
listen: { http: ["127.0.0.1:$EP"] }
admin: { listen: "127.0.0.1:$AP", token_file: token }
cache: { memory: 8M, max_object: 1M }
access_log: access.log
sites:
  - name: test
    hosts: ["*"]
    origin: "127.0.0.1:$OP"
    query: { deny: [utm_source, utm_medium] }
YAML
start_bg "$TMP/origin.log" "$BIN/origind" -l 127.0.0.1:$OP
# a small ASan quarantine, so RSS reflects what edged really holds
ASAN_OPTIONS="${ASAN_OPTIONS:-}:quarantine_size_mb=4" start_bg "$TMP/edged.log" "$BIN/edged" -c "$TMP/edged.yaml"
EPID=$LAST_PID
wait_tcp $OP && wait_tcp $EP || { not_ok "servers start"; cat "$TMP"/*.log; finish; }

hdrs() { curl -s -D - -o /dev/null "$@" | tr -d '\r'; }
xc() { hdrs "$@" | sed -n 's/^X-Cache: //p'; }
hits() { curl -s "$O/__hits?p=$1"; }
field() { sed -n "s/^$1: //p"; }

# 1. MISS then HIT, one origin fetch, Age and Via
expect_eq "first request is a MISS" "$(xc "$E/gen/basic?cc=max-age=60")" "MISS"
h=$(hdrs "$E/gen/basic?cc=max-age=60")
expect_eq "second request is a HIT" "$(echo "$h" | field X-Cache)" "HIT"
expect_match "Age header on hit" "$h" "^Age: [0-9]+$"
expect_match "Via names the tier" "$h" "^Via: 1.1 pop-test \(edged\)$"
expect_eq "origin saw one request" "$(hits /gen/basic)" "1"
expect_eq "body served from cache" "$(curl -s "$E/gen/basic?cc=max-age=60")" "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuv"

# 2. request collapsing: 20 concurrent misses, one origin fetch
cp=""
for i in $(seq 20); do curl -s -o "$TMP/col.$i" "$E/gen/collapse?cc=max-age=60&delay=400&size=5000" & cp="$cp $!"; done
wait $cp
expect_eq "collapsed: origin saw one request" "$(hits /gen/collapse)" "1"
ok_bodies=$(for i in $(seq 20); do stat -c %s "$TMP/col.$i"; done | grep -c '^5000$')
expect_eq "collapsed: all 20 clients got the body" "$ok_bodies" "20"

# 3. upstream Age counts: max-age=10 with Age: 20 is stale on arrival
curl -s -o /dev/null "$E/gen/aged?cc=max-age=10&age=20"
curl -s -o /dev/null "$E/gen/aged?cc=max-age=10&age=20"
expect_eq "stale on arrival (Age > max-age) is refetched" "$(hits /gen/aged)" "2"
h=$(hdrs "$E/gen/aged2?cc=max-age=100&age=30")
expect_match "Age carries upstream age" "$(echo "$h" | field Age)" "^3[0-9]$"

# 4. s-maxage beats max-age for a shared cache
curl -s -o /dev/null "$E/gen/smax?cc=max-age=0,s-maxage=60"
expect_eq "s-maxage makes it fresh" "$(xc "$E/gen/smax?cc=max-age=0,s-maxage=60")" "HIT"
# Expires
curl -s -o /dev/null "$E/gen/expires?expires=60"
expect_eq "Expires makes it fresh" "$(xc "$E/gen/expires?expires=60")" "HIT"
# heuristic freshness from Last-Modified (10% of age of the document)
lm=$(( $(date +%s) - 100000 ))
curl -s -o /dev/null "$E/gen/heur?lm=$lm"
expect_eq "heuristic freshness from Last-Modified" "$(xc "$E/gen/heur?lm=$lm")" "HIT"
curl -s -o /dev/null "$E/gen/nocc"
curl -s -o /dev/null "$E/gen/nocc"
expect_eq "no freshness information: not stored" "$(hits /gen/nocc)" "2"

# 5. not storable: no-store, private, Set-Cookie, Authorization
for cc in no-store private; do
  curl -s -o /dev/null "$E/gen/ns-$cc?cc=$cc,max-age=60"; curl -s -o /dev/null "$E/gen/ns-$cc?cc=$cc,max-age=60"
  expect_eq "$cc responses are not stored" "$(hits /gen/ns-$cc)" "2"
done
c1=$(curl -s -D - -o /dev/null "$E/gen/cookie?cc=max-age=60&setcookie=1" | tr -d '\r' | field Set-Cookie)
c2=$(curl -s -D - -o /dev/null "$E/gen/cookie?cc=max-age=60&setcookie=1" | tr -d '\r' | field Set-Cookie)
expect_eq "Set-Cookie responses are not shared" "$c1 $c2 $(hits /gen/cookie)" "s=1 s=2 2"
curl -s -o /dev/null -H "Authorization: Bearer x" "$E/gen/auth?cc=max-age=60"
curl -s -o /dev/null "$E/gen/auth?cc=max-age=60"
expect_eq "response to Authorization request without public is not stored" "$(hits /gen/auth)" "2"
curl -s -o /dev/null -H "Authorization: Bearer x" "$E/gen/authpub?cc=public,max-age=60"
expect_eq "Authorization + public is stored" "$(xc "$E/gen/authpub?cc=public,max-age=60")" "HIT"

# 6. validation: stale entry revalidated with If-None-Match -> 304 -> REVALIDATED
curl -s -o /dev/null "$E/gen/etag?cc=max-age=10&age=20&etag=v1"
h=$(hdrs "$E/gen/etag?cc=max-age=10&age=20&etag=v1")
expect_eq "stale entry revalidated by 304" "$(echo "$h" | field X-Cache)" "REVALIDATED"
expect_eq "revalidation reached origin" "$(hits /gen/etag)" "2"
expect_eq "revalidated body intact" "$(curl -s "$E/gen/etag?cc=max-age=10&age=20&etag=v1" | wc -c)" "100"
curl -s -o /dev/null "$E/gen/lmval?cc=max-age=10&age=20&lm=1000000000"
expect_eq "Last-Modified revalidation" "$(xc "$E/gen/lmval?cc=max-age=10&age=20&lm=1000000000")" "REVALIDATED"
# client conditionals answered from cache
curl -s -o /dev/null "$E/gen/inm?cc=max-age=60&etag=abc"
expect_eq "If-None-Match match -> 304 from cache" \
  "$(curl -s -o /dev/null -w '%{http_code}' -H 'If-None-Match: "abc"' "$E/gen/inm?cc=max-age=60&etag=abc")" "304"
expect_eq "If-None-Match mismatch -> 200" \
  "$(curl -s -o /dev/null -w '%{http_code}' -H 'If-None-Match: "zzz"' "$E/gen/inm?cc=max-age=60&etag=abc")" "200"
expect_eq "weak If-None-Match matches" \
  "$(curl -s -o /dev/null -w '%{http_code}' -H 'If-None-Match: W/"abc"' "$E/gen/inm?cc=max-age=60&etag=abc")" "304"
curl -s -o /dev/null "$E/gen/ims?cc=max-age=60&lm=1000000000"
expect_eq "If-Modified-Since not modified -> 304" \
  "$(curl -s -o /dev/null -w '%{http_code}' -H 'If-Modified-Since: Sun, 09 Sep 2001 01:46:40 GMT' "$E/gen/ims?cc=max-age=60&lm=1000000000")" "304"
expect_eq "If-Modified-Since older -> 200" \
  "$(curl -s -o /dev/null -w '%{http_code}' -H 'If-Modified-Since: Sat, 08 Sep 2001 01:46:40 GMT' "$E/gen/ims?cc=max-age=60&lm=1000000000")" "200"
expect_eq "conditional miss: origin saw an unconditional request" \
  "$(curl -s -o /dev/null -w '%{http_code}' -H 'If-None-Match: "q"' "$E/gen/inm2?cc=max-age=60&etag=q") $(xc "$E/gen/inm2?cc=max-age=60&etag=q")" "304 HIT"

# 7. Vary with normalised keys
V="$E/gen/vary?cc=max-age=60&vary=Accept-Encoding"
expect_eq "vary: first variant MISS" "$(xc -H 'Accept-Encoding: gzip, br' "$V")" "MISS"
expect_eq "vary: same variant HIT" "$(xc -H 'Accept-Encoding: gzip, br' "$V")" "HIT"
expect_eq "vary: normalised (order, spaces, case) HIT" "$(xc -H 'Accept-Encoding: BR,gzip' "$V")" "HIT"
expect_eq "vary: other variant MISS" "$(xc -H 'Accept-Encoding: identity' "$V")" "MISS"
expect_eq "vary: both variants kept" "$(xc -H 'Accept-Encoding: gzip, br' "$V") $(xc -H 'Accept-Encoding: identity' "$V")" "HIT HIT"
curl -s -o /dev/null "$E/gen/varystar?cc=max-age=60&vary=*"; curl -s -o /dev/null "$E/gen/varystar?cc=max-age=60&vary=*"
expect_eq "Vary: * is not stored" "$(hits /gen/varystar)" "2"

# 8. stale-while-revalidate: stale served at once, refreshed in the background
S="$E/gen/swr?cc=max-age=1,stale-while-revalidate=600&age=5"
curl -s -o /dev/null "$S"
expect_eq "swr: stale served" "$(xc "$S")" "STALE"
i=0; while [ "$(hits /gen/swr)" != 2 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
expect_eq "swr: background refresh reached origin" "$(hits /gen/swr)" "2"

# 9. stale-if-error
S="$E/gen/sie?cc=max-age=1,stale-if-error=600&age=5"
curl -s -o /dev/null "$S"
curl -s -o /dev/null "$O/__mode?fail=1"
h=$(hdrs "$S")
expect_eq "stale-if-error: stale served on origin 5xx" "$(echo "$h" | sed -n 's/^HTTP\/1.1 //p' | cut -c1-3) $(echo "$h" | field X-Cache)" "200 STALE"
S2="$E/gen/nosie?cc=max-age=1&age=5"
curl -s -o /dev/null "$O/__mode?fail=0"; curl -s -o /dev/null "$S2"; curl -s -o /dev/null "$O/__mode?fail=1"
expect_eq "without stale-if-error the 503 is passed on" "$(curl -s -o /dev/null -w '%{http_code}' "$S2")" "503"
curl -s -o /dev/null "$O/__mode?fail=0"

# 10. Range from a cached full object
R="$E/gen/range?cc=max-age=60&size=100"
curl -s -o /dev/null "$R"
h=$(curl -s -D - -H 'Range: bytes=10-19' "$R" | tr -d '\r')
expect_match "range: 206" "$h" "^HTTP/1.1 206"
expect_match "range: Content-Range" "$h" "^Content-Range: bytes 10-19/100$"
expect_eq "range: body" "$(curl -s -H 'Range: bytes=10-19' "$R")" "klmnopqrst"
expect_eq "range: suffix" "$(curl -s -H 'Range: bytes=-3' "$R")" "tuv"
expect_eq "range: unsatisfiable -> 416" "$(curl -s -o /dev/null -w '%{http_code}' -H 'Range: bytes=500-' "$R")" "416"
expect_eq "range on a miss: 206 after fill" "$(curl -s -H 'Range: bytes=0-2' "$E/gen/range2?cc=max-age=60")" "abc"

# 11. HEAD: filled with GET, body later served from cache
h=$(curl -s -I "$E/gen/head?cc=max-age=60&size=321" | tr -d '\r')
expect_match "HEAD: Content-Length of the full object" "$h" "^Content-Length: 321$"
expect_eq "HEAD then GET: HIT with body" "$(xc "$E/gen/head?cc=max-age=60&size=321") $(curl -s "$E/gen/head?cc=max-age=60&size=321" | wc -c)" "HIT 321"

# 12. unsafe methods pass and invalidate
U="$E/gen/unsafe?cc=max-age=60"
curl -s -o /dev/null "$U"
expect_eq "unsafe: cached" "$(xc "$U")" "HIT"
expect_eq "POST passes through" "$(curl -s -o /dev/null -w '%{http_code}' -X POST -d 'x=1' "$U")" "200"
expect_eq "POST invalidated the cached entry" "$(xc "$U")" "MISS"
expect_eq "echo: POST body forwarded" "$(curl -s -X POST -d 'hello=world' "$E/__echo" | grep -c '^Content-Length: 11')" "1"

# 13. request Cache-Control
N="$E/gen/reqcc?cc=max-age=60"
curl -s -o /dev/null "$N"
curl -s -o /dev/null -H 'Cache-Control: no-cache' "$N"
expect_eq "request no-cache goes to origin" "$(hits /gen/reqcc)" "2"
sleep 1.1   # Age must become >= 1s for max-age=0 to differ from a fresh hit
curl -s -o /dev/null -H 'Cache-Control: max-age=0' "$N"
expect_eq "request max-age=0 goes to origin" "$(hits /gen/reqcc)" "3"
expect_eq "only-if-cached on a miss -> 504" "$(curl -s -o /dev/null -w '%{http_code}' -H 'Cache-Control: only-if-cached' "$E/gen/never")" "504"
expect_eq "only-if-cached on a hit -> 200" "$(curl -s -o /dev/null -w '%{http_code}' -H 'Cache-Control: only-if-cached' "$N")" "200"

# 14. cache key: denied query parameters are ignored, others are not
curl -s -o /dev/null "$E/gen/qk?cc=max-age=60&utm_source=a"
expect_eq "denied query parameter ignored in key" "$(xc "$E/gen/qk?cc=max-age=60&utm_source=b")" "HIT"
expect_eq "other query parameters are part of the key" "$(xc "$E/gen/qk?cc=max-age=60&x=1")" "MISS"

# 15. chunked upstream body is stored and served with Content-Length
curl -s -o /dev/null "$E/gen/chunked?cc=max-age=60&chunked=1&size=70000"
h=$(hdrs "$E/gen/chunked?cc=max-age=60&chunked=1&size=70000")
expect_match "chunked upstream: hit has Content-Length" "$h" "^Content-Length: 70000$"
expect_eq "chunked upstream: body size" "$(curl -s "$E/gen/chunked?cc=max-age=60&chunked=1&size=70000" | wc -c)" "70000"

# 16. large object over max_object streams through without being held
rss0=$(awk '/VmRSS/ {print $2}' /proc/$EPID/status)
n=$(curl -s "$E/gen/big?cc=max-age=60&size=209715200" | wc -c)
rss1=$(awk '/VmRSS/ {print $2}' /proc/$EPID/status)
expect_eq "200 MiB object streamed" "$n" "209715200"
grow=$(( (rss1 - rss0) / 1024 ))
if [ $grow -lt 64 ]; then ok "streaming kept RSS growth under 64 MiB ($grow MiB)"; else not_ok "streaming RSS grew $grow MiB"; fi
cp=""
for i in 1 2 3; do curl -s -o "$TMP/bigc.$i" "$E/gen/bigcol?cc=max-age=60&size=30000000&delay=300" & cp="$cp $!"; done
wait $cp
expect_eq "collapsed readers share one uncacheable-size stream" \
  "$(stat -c %s "$TMP"/bigc.* | sort -u | tr '\n' ' ')$(hits /gen/bigcol)" "30000000 1"
expect_eq "oversize object not cached" "$(xc "$E/gen/big?cc=max-age=60&size=209715200" --max-time 20)" "MISS"

# 17. pipelined requests answered in order on one connection
resp=$(printf 'GET /gen/p1?cc=max-age=60&size=3 HTTP/1.1\r\nHost: x\r\n\r\nGET /gen/p2?cc=max-age=60&size=5 HTTP/1.1\r\nHost: x\r\n\r\nGET /gen/p3?cc=max-age=60&size=7 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' \
  | timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$EP; cat >&3; cat <&3" | tr -d '\r' | grep '^Content-Length' | tr '\n' ' ')
expect_eq "pipelining: three responses in order" "$resp" "Content-Length: 3 Content-Length: 5 Content-Length: 7 "

# 18. access log line with cache status and upstream time
sleep 1.1   # access log is flushed once a second
expect_match "access log has cache status" "$(tail -n 3 "$TMP/access.log")" '"GET /gen/.* HTTP/1.1" [0-9]{3} [0-9]+ "(HIT|MISS|STALE|REVALIDATED)" up=[0-9]+ms'


# 19. collapsed waiters on a response that turns out private each get their own
cp=""
for i in 1 2 3 4 5; do curl -s -D "$TMP/pv.$i" -o /dev/null "$E/gen/privcol?cc=private&delay=300&setcookie=1" & cp="$cp $!"; done
wait $cp
expect_eq "private response is never shared between collapsed waiters" \
  "$(cat "$TMP"/pv.* | tr -d '\r' | sed -n 's/^Set-Cookie: //p' | sort -u | wc -l) $(hits /gen/privcol)" "5 5"

# 20. HTTP/1.0 client and an upstream body of unknown length: close-delimited
r=$(printf 'GET /gen/h10?cc=max-age=60&chunked=1&size=1000 HTTP/1.0\r\nHost: x\r\n\r\n' \
  | timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$EP; cat >&3; cat <&3" | tr -d '\r')
expect_match "HTTP/1.0 client gets an unchunked body" "$r" "^Connection: close$"
expect_eq "HTTP/1.0 body complete" "$(echo "$r" | sed '1,/^$/d' | tr -d '\n' | wc -c)" "1000"

# 21. Expect: 100-continue is answered before the body is read
expect_eq "Expect: 100-continue" "$(curl -s -o /dev/null -w '%{http_code}' -H 'Expect: 100-continue' -X PUT --data-binary @/etc/hostname "$E/__echo")" "200"

# 22. a slow reader of a large pass-through stream holds back the upstream
rss0=$(awk '/VmRSS/ {print $2}' /proc/$EPID/status)
timeout 20 curl -s --limit-rate 2M -o /dev/null "$E/gen/slowread?cc=no-store&size=20971520" & sp=$!
sleep 3
rss1=$(awk '/VmRSS/ {print $2}' /proc/$EPID/status)
kill $sp 2>/dev/null; wait $sp 2>/dev/null
grow=$(( (rss1 - rss0) / 1024 ))
if [ $grow -lt 12 ]; then ok "slow reader: upstream paused, RSS growth $grow MiB"; else not_ok "slow reader: RSS grew $grow MiB"; fi
expect_eq "edged serves after the slow reader left" "$(xc "$E/gen/basic?cc=max-age=60")" "HIT"

stop_pid $EPID
if grep -q "Sanitizer" "$TMP/edged.log"; then not_ok "sanitizer report"; grep -A20 Sanitizer "$TMP/edged.log" | head -40; else ok "no sanitizer report"; fi
finish
