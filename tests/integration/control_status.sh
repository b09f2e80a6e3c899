#!/bin/bash
# tests/integration/control_status.sh: the status page on steerd's control
# listener (issue 8). steerd runs the demo configuration (examples/
# steerd.yaml, ports moved) with eu-pop's health check answered by a small
# HTTP server and us-pop's refused. Checks: the page and its assets (types,
# CSP, nosniff, no-cache, ETag and If-None-Match -> 304, nothing loaded from
# elsewhere), /v1/names and /v1/rum as JSON (RUM after real beacons; a thin
# continent bucket is listed with trusted=false), the page rendered by
# headless Chromium (providers, health and reason, regions, RUM latency,
# untrusted buckets greyed, traffic share when /metrics has answer
# counters), an admin
# override through the API re-rendered, and the connection cap (the 65th
# idle connection gets 503 and is closed while held ones still answer;
# slots come back on close and on idle timeout). Ports 16110-16114.
. "$(dirname "$0")/../lib.sh"

DNS=16110; CTL=16111; RUM=16112; HC_UP=16113; HC_DOWN=16114
TOKEN=status-token-0123456789abcdef
API="http://127.0.0.1:$CTL"
cp "$ROOT/examples/cdn.example.test.zone" "$TMP/"
printf '%s\n' "$TOKEN" > "$TMP/token"; chmod 600 "$TMP/token"
# the demo config, on this test's ports; flattening points at a closed port
sed -e "s/listen: \[\"127.0.0.1:5300\", \"\[::1\]:5300\"\]/listen: [\"127.0.0.1:$DNS\"]/" \
    -e "s/127.0.0.1:8053/127.0.0.1:$CTL/" -e "s/127.0.0.1:8054/127.0.0.1:$RUM/" \
    -e "s/token_file: control.token/token_file: token/" -e "s#\.\./geo/fixture#$ROOT/geo/fixture#" \
    -e "s/127.0.0.1:8081/127.0.0.1:$HC_UP/" -e "s/127.0.0.1:8082/127.0.0.1:$HC_DOWN/" \
    -e "s/resolver: 127.0.0.1:53/resolver: 127.0.0.1:$HC_DOWN/" -e "s/workers: 0 /workers: 1 /" \
    "$ROOT/examples/steerd.yaml" > "$TMP/steerd.yaml"
grep -q "127.0.0.1:$CTL" "$TMP/steerd.yaml" && grep -q "\"127.0.0.1:$DNS\"" "$TMP/steerd.yaml" ||
  { not_ok "demo config rewritten for the test ports"; finish; }

mkdir -p "$TMP/www"; echo ok > "$TMP/www/health"
start_bg "$TMP/hc.log" python3 -m http.server "$HC_UP" --bind 127.0.0.1 --directory "$TMP/www"
start_bg "$TMP/steerd.log" "$BIN/steerd" -c "$TMP/steerd.yaml"; STEERD=$LAST_PID
if wait_dns $DNS && wait_tcp $CTL && wait_tcp $HC_UP; then ok "steerd starts with the demo config"; else
  not_ok "steerd starts with the demo config"; cat "$TMP/steerd.log"; finish; fi

# some traffic: Europe (loopback and ECS), North America, Asia, South America
for s in "" 192.0.2.0/25 192.0.2.128/25 198.51.100.0/24 203.0.113.0/25 203.0.113.128/26 198.18.0.0/16; do
  for i in 1 2 3; do dig +short +time=1 +tries=1 @127.0.0.1 -p $DNS www.cdn.example.test ${s:+"+subnet=$s"} >/dev/null; done
done

# and Asia from 40 networks (fixture 2001:db8:3000::/36 is Osaka), so that
# the weighted pool of asia+oceania splits its answers
python3 - $DNS "$ROOT/tests" <<'PY'
import sys; sys.path.insert(0, sys.argv[2])
import dnsq
for i in range(40):
    dnsq.query(int(sys.argv[1]), 'www.cdn.example.test', 1, ecs='2001:db8:3%03x:%02x00::/56' % (i * 97, i))
PY

# ---- the page and its assets
hdr() { curl -s -D "$TMP/h" -o "$TMP/b" "$@" >/dev/null; tr -d '\r' < "$TMP/h"; }
h=$(hdr "$API/")
expect_match "GET / is 200 text/html" "$h" '^HTTP/1.1 200' 
expect_match "GET / Content-Type text/html; charset=utf-8" "$h" '^Content-Type: text/html; charset=utf-8$'
expect_match "GET / has the CSP default-src 'self'" "$h" "^Content-Security-Policy: default-src 'self'"
expect_match "GET / has X-Content-Type-Options: nosniff" "$h" '^X-Content-Type-Options: nosniff$'
expect_match "GET / has Cache-Control: no-cache" "$h" '^Cache-Control: no-cache$'
etag=$(printf '%s\n' "$h" | sed -n 's/^ETag: //p')
expect_match "GET / has a strong ETag" "$etag" '^"[0-9a-f]{16}"$'
cp "$TMP/b" "$TMP/index.html"
expect_match "the page loads /status.js" "$(cat "$TMP/index.html")" '<script src="/status.js"'
expect_match "the page loads /status.css" "$(cat "$TMP/index.html")" 'href="/status.css"'
hdr "$API/status" >/dev/null
check "GET /status is the same page" cmp -s "$TMP/b" "$TMP/index.html"
h=$(hdr "$API/status.css")
expect_match "status.css is text/css with its own ETag" "$h" '^Content-Type: text/css; charset=utf-8$'
cp "$TMP/b" "$TMP/status.css"
h=$(hdr "$API/status.js")
expect_match "status.js is text/javascript" "$h" '^Content-Type: text/javascript; charset=utf-8$'
expect_match "status.js has the CSP and nosniff too" "$h" "nosniff"
cp "$TMP/b" "$TMP/status.js"
jsetag=$(printf '%s\n' "$h" | sed -n 's/^ETag: //p')
[ "$jsetag" != "$etag" ] && ok "assets have different ETags" || not_ok "assets have different ETags"
# nothing is loaded from another origin: no absolute or protocol-relative URLs
ext=$(grep -EHno '(src|href|url)\s*[=(]\s*["'"'"']?(https?:)?//' "$TMP/index.html" "$TMP/status.css" "$TMP/status.js"; \
      grep -Eno 'fetch\("(https?:)?//' "$TMP/status.js")
expect_eq "no external URLs in the page, CSS or JS" "$ext" ""
code() { rm -f "$TMP/b"; curl -s -o "$TMP/b" -w '%{http_code}' "$@"; }
expect_eq "If-None-Match with the ETag -> 304" "$(code -H "If-None-Match: $etag" "$API/")" 304
expect_eq "304 has no body" "$(cat "$TMP/b" 2>/dev/null | wc -c)" 0
h=$(hdr -H "If-None-Match: $etag" "$API/")
expect_match "304 repeats ETag" "$h" "^ETag: $etag\$"
expect_eq "If-None-Match weak W/ form -> 304" "$(code -H "If-None-Match: W/$etag" "$API/")" 304
expect_eq "If-None-Match list containing it -> 304" "$(code -H "If-None-Match: \"0000000000000000\", $etag" "$API/")" 304
expect_eq "If-None-Match * -> 304" "$(code -H 'If-None-Match: *' "$API/")" 304
expect_eq "If-None-Match other tag -> 200" "$(code -H 'If-None-Match: "0123456789abcdef"' "$API/")" 200
expect_eq "If-None-Match of another asset -> 200" "$(code -H "If-None-Match: $jsetag" "$API/")" 200
expect_eq "If-None-Match garbage -> 200" "$(code -H 'If-None-Match: ,,, W/ "' "$API/")" 200
expect_eq "POST / -> 405" "$(code -X POST "$API/")" 405
expect_eq "unknown asset -> 404" "$(code "$API/status.png")" 404

# ---- JSON endpoints
expect_eq "GET /v1/names 200" "$(code "$API/v1/names")" 200
check "/v1/names is valid JSON" python3 -m json.tool "$TMP/b"
out=$(python3 - "$TMP/b" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print("zones", d["zones"])
for n in d["names"]:
    print(n["name"], n["zone"], n["ttl"], n["apex"], sorted(n["providers"]))
    for r in n["rules"]:
        print(" rule", r["index"], r["label"], r["metric_label"], r["match"], r["continents"], ">".join(r["pools"]))
    for p in n["pools"]:
        print(" pool", p["name"], p["policy"], p["fallback"], ",".join("%s=%d" % (m["provider"], m["weight"]) for m in p["members"]))
print("providers", [(p["name"], p["type"]) for p in d["providers"]])
PY
)
expect_match "names: the zone" "$out" "^zones \['cdn.example.test'\]"
expect_match "names: www with its zone and providers" "$out" "^www.cdn.example.test. cdn.example.test 30 False \['cloudfront', 'eu-pop', 'fastly', 'us-pop'\]"
expect_match "names: europe rule (continent EU, rum pool chain)" "$out" "^ rule 0 europe europe continent EU \['EU'\] europe>nearest>cdn-backup$"
expect_match "names: asia+oceania rule" "$out" "^ rule 2 asia\+oceania cdns continent AS,OC \['AS', 'OC'\] cdns>nearest>cdn-backup$"
expect_match "names: default rule last" "$out" "^ rule 3 default default default \[\] nearest>cdn-backup$"
expect_match "names: pool with policy, fallback and weights" "$out" "^ pool europe rum nearest eu-pop=80,fastly=20$"
expect_match "names: the apex name" "$out" "^cdn.example.test. cdn.example.test 30 True"
expect_match "names: providers with type" "$out" "^providers \[\('eu-pop', 'pop'\), \('us-pop', 'pop'\), \('cloudfront', 'cdn'\), \('fastly', 'cdn'\)\]"

expect_eq "GET /v1/rum 200" "$(code "$API/v1/rum")" 200
check "/v1/rum is valid JSON" python3 -m json.tool "$TMP/b"
expect_eq "rum: no buckets before any beacon" \
  "$(python3 -c 'import json,sys; print(sum(len(p["buckets"]) for p in json.load(open(sys.argv[1]))["providers"]))' "$TMP/b")" 0
# beacons: Europe from loopback, North America through the trusted proxy
for i in $(seq 1 24); do
  curl -s -o /dev/null -X POST -d '{"m":[{"p":"eu-pop","k":"latency","v":'$((20 + i % 5))'},{"p":"fastly","k":"latency","v":'$((40 + i % 5))'}]}' "http://127.0.0.1:$RUM/rum"
  curl -s -o /dev/null -H "X-Forwarded-For: 198.51.100.$i" -X POST -d '{"m":[{"p":"us-pop","k":"latency","v":'$((30 + i % 5))'}]}' "http://127.0.0.1:$RUM/rum"
done
# thin data: 3 beacons from Tokyo (fixture 203.0.113.128/26, Asia) for
# fastly: its continent:AS bucket stays below min_samples (20) while its
# global bucket (24 + 3, a little less once decay has run on a slow
# machine) is trusted; /v1/rum must still list it
for i in 1 2 3; do
  curl -s -o /dev/null -H "X-Forwarded-For: 203.0.113.$((129 + i))" -X POST -d '{"m":[{"p":"fastly","k":"latency","v":'$((90 + i))'}]}' "http://127.0.0.1:$RUM/rum"
done
rumq='import json,sys
d = {p["name"]: {b["bucket"]: b for b in p["buckets"]} for p in json.load(open(sys.argv[1]))["providers"]}
for n in ("eu-pop", "fastly", "us-pop", "cloudfront"):
    for k, b in sorted(d[n].items()):
        print(n, k, b["level"], b["trusted"], round(b["samples"]), round(b["p50_ms"]), round(b["success"], 2))'
i=0; while [ $i -lt 50 ]; do
  code "$API/v1/rum" >/dev/null; out=$(python3 -c "$rumq" "$TMP/b")
  printf '%s\n' "$out" | grep -q '^us-pop continent:NA continent True' && printf '%s\n' "$out" | grep -q '^eu-pop continent:EU continent True' &&
    printf '%s\n' "$out" | grep -Eq '^fastly global global True 2[5-7] ' && break
  sleep 0.1; i=$((i+1))
done
expect_match "rum: eu-pop Europe bucket trusted, ~22 ms median" "$out" '^eu-pop continent:EU continent True 2[0-9] 2[0-4] 1.0$'
expect_match "rum: fastly Europe ~42 ms" "$out" '^fastly continent:EU continent True 2[0-9] 4[0-4] 1.0$'
expect_match "rum: us-pop North America bucket" "$out" '^us-pop continent:NA continent True 2[0-9] 3[0-4] 1.0$'
expect_match "rum: global bucket per provider" "$out" '^eu-pop global global True'
expect_match "rum: untrusted continent bucket listed with trusted=false (fastly Asia, 3 samples)" "$out" \
  '^fastly continent:AS continent False 3 [89][0-9] 1.0$'
expect_match "rum: ... while fastly's global bucket is trusted" "$out" '^fastly global global True 2[5-7] '
expect_match "rum: cloudfront has no data" "$(printf '%s\n' "$out" | grep -c '^cloudfront')" '^0$'

# health: eu-pop's check is answered, us-pop's refused
hq='import json,sys; print(" ".join("%s=%s/%s" % (p["name"], p["health"], p["reason"]) for p in json.load(open(sys.argv[1]))["providers"]))'
i=0; while [ $i -lt 100 ]; do
  code "$API/v1/providers" >/dev/null; hs=$(python3 -c "$hq" "$TMP/b")
  case "$hs" in *eu-pop=up/None*us-pop=down/*) break ;; esac
  sleep 0.1; i=$((i+1))
done
expect_match "health settles: eu-pop up, us-pop down (connection refused)" "$hs" 'eu-pop=up/None us-pop=down/connection refused'

# ---- the page in a browser
if command -v chromium >/dev/null 2>&1; then CHROMIUM=chromium; else CHROMIUM=""; fi
render() { # -> $TMP/dom.html
  timeout 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run \
    --disable-background-networking --user-data-dir="$TMP/chr" --virtual-time-budget=5000 \
    --dump-dom "$API/" > "$TMP/dom.html" 2>"$TMP/chr.log"
}
row() { # provider -> its row in the first name's table
  python3 - "$TMP/dom.html" "$1" <<'PY'
import re, sys
s = open(sys.argv[1]).read()
m = re.search(r'<tr data-provider="%s"[^>]*>.*?</tr>' % re.escape(sys.argv[2]), s, re.S)
print(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", m.group(0))).strip() if m else "")
print(m.group(0)[:200] if m else "")
PY
}
have_answers=$(curl -s "$API/metrics" | grep -c '^steer_answers_total{')
if [ -z "$CHROMIUM" ]; then
  for n in "page renders providers" "page shows health" "page shows regions" "page shows RUM" \
           "page shows traffic share" "override re-rendered" \
           "page shows an untrusted RUM bucket"; do echo "ok - $n # SKIP chromium not installed"; done
else
  render; rc=$?
  expect_eq "chromium renders the page" "$rc" 0
  dom=$(cat "$TMP/dom.html")
  expect_match "page shows the version and generation" "$dom" 'steerd [0-9.]+ · generation 1'
  expect_match "page has a section for the steered name" "$dom" 'data-name="www.cdn.example.test."'
  for p in eu-pop us-pop cloudfront fastly; do
    expect_match "page renders provider $p" "$dom" "data-provider=\"$p\""
  done
  r=$(row eu-pop)
  expect_match "eu-pop row: up, no override" "$r" 'data-health="up" data-admin="none"'
  expect_match "eu-pop row: Europe share cell with its pool and RUM median" "$r" 'europe \(rum\) w 80 EU 2[0-4] ms · n 2[0-9]'
  r=$(row us-pop)
  expect_match "us-pop row: down with its reason" "$r" '^us-pop pop down connection refused'
  expect_match "us-pop row: North America RUM" "$r" 'america \(weighted\) w 70 NA 3[0-4] ms'
  r=$(row fastly)
  expect_match "fastly row: thin Asia bucket shown untrusted, then global as the fallback" "$r" \
    'cdns \(weighted\) w 40 AS [89][0-9] ms · n 3 \(untrusted\) ↳ global [0-9]+ ms · n 2[5-7]'
  expect_match "untrusted buckets are drawn greyed" "$dom" 'class="rum untrusted"'
  for g in europe north-america 'asia\+oceania' default; do
    expect_match "page shows region $g" "$dom" "data-region=\"$g\""
  done
  expect_match "page says what each region matches" "$dom" 'continent AS,OC → cdns › nearest › cdn-backup'
  if [ "$have_answers" -gt 0 ]; then
    expect_match "page shows traffic share from /metrics" "$dom" 'class="pct">[0-9.]+ %'
    expect_match "page counts answers per region" "$dom" '[0-9]+ (since start|in [0-9]+ s)'
    # no queries while the page rendered: its share is the cumulative one
    want=$(curl -s "$API/metrics" | python3 -c '
import re, sys
c = {}
for l in sys.stdin:
    m = re.match(r"steer_answers_total\{name=\"www.cdn.example.test.\",provider=\"([^\"]+)\",rule=\"(?:asia\+oceania|cdns)\"\} (\S+)", l)
    if m: c[m.group(1)] = float(m.group(2))
print("%.1f" % (100 * c.get("fastly", 0) / sum(c.values())) if c else "none")')
    got=$(row fastly | head -1 | sed -n 's/.* \([0-9.]*\) % cdns (weighted) w 40.*/\1/p')
    expect_eq "fastly's asia+oceania share on the page = its share in /metrics" "$got" "$want"
    expect_match "that share is a real split" "$want" '^[1-9][0-9]?\.[0-9]$'
  else
    expect_match "page says no traffic data without answer counters" "$dom" 'no traffic data'
  fi
  expect_match "page reports itself live" "$dom" 'class="badge up"[^>]*>live'
  # an admin override through the API shows up on the next render
  c=$(code -X POST -H "Authorization: Bearer $TOKEN" "$API/v1/providers/eu-pop/down")
  expect_eq "POST eu-pop/down with the token" "$c" 200
  render
  r=$(row eu-pop)
  expect_match "re-rendered: eu-pop forced down" "$r" 'data-admin="down"'
  expect_match "re-rendered: eu-pop row says forced down" "$r" '^eu-pop pop up forced down'
  code -X POST -H "Authorization: Bearer $TOKEN" "$API/v1/providers/eu-pop/clear" >/dev/null
fi

# ---- connection cap
cat > "$TMP/cap.py" <<'PY'
import json, socket, sys, time
port, cap = int(sys.argv[1]), int(sys.argv[2])
def conn():
    return socket.create_connection(("127.0.0.1", port), timeout=5)
def get(s, path="/v1/status"):
    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path).encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        if not d:
            break
        buf += d
    head, _, body = buf.partition(b"\r\n\r\n")
    n = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")][0])
    while len(body) < n:
        body += s.recv(65536)
    return head.split(b"\r\n")[0].decode(), json.loads(body)
def status():
    s = conn(); line, st = get(s); s.close(); return st["control_connections"]
held = [conn() for _ in range(cap - 1)]
line, st = get(held[-1])                       # all accepted: the last one answers
print("held", len(held), line, st["control_connections"]["open"])
held.append(conn())                            # the cap-th
time.sleep(0.2)
extra = conn()
data = b""
while True:
    d = extra.recv(4096)
    if not d:
        break
    data += d
print("extra", data.split(b"\r\n")[0].decode(), "closed")
print("first", get(held[0])[0])
for s in held[:10]:
    s.close()
for i in range(100):                           # slots come back
    try:
        c = status()
        if c["open"] <= cap - 10 + 1:
            break
    except Exception:
        pass
    time.sleep(0.05)
print("after-close", c["open"] <= cap - 10 + 1, c["refused"] >= 1)
for s in held[10:]:
    s.close()
PY
out=$(python3 "$TMP/cap.py" $CTL 64 2>&1)
expect_match "63 idle connections held, the 63rd answers" "$out" '^held 63 HTTP/1.1 200 OK 63$'
expect_match "the 65th connection gets 503 and is closed" "$out" '^extra HTTP/1.1 503 Service Unavailable closed$'
expect_match "held connections still answer at the cap" "$out" '^first HTTP/1.1 200 OK$'
expect_match "closing 10 frees slots; refusals counted" "$out" '^after-close True True$'
# idle connections time out (CONTROL_TIMEOUT_S = 10 s) and give their slots back
python3 - $CTL <<'PY' > "$TMP/idle.out" 2>&1
import json, socket, sys, time, urllib.request
port = int(sys.argv[1])
def open_now():
    return json.load(urllib.request.urlopen("http://127.0.0.1:%d/v1/status" % port))["control_connections"]["open"]
def settle(want, secs):
    t = time.time()
    while time.time() - t < secs and open_now() != want:
        time.sleep(0.05)
    return open_now()
settle(1, 5)   # the previous step's closes are processed asynchronously
idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(5)]
print("with-idle", settle(6, 2))
t = time.time()
while time.time() - t < 20 and open_now() != 1:
    time.sleep(0.25)
print("after-timeout", open_now(), [s.recv(1) for s in idle])
PY
out=$(cat "$TMP/idle.out")
expect_match "5 idle connections are counted" "$out" '^with-idle 6$'
expect_match "idle connections time out and are uncounted" "$out" "^after-timeout 1 \[b'', b'', b'', b'', b''\]$"

# ---- clean stop with connections open (ASan checks leaks at exit)
python3 -c "
import socket, time
s = [socket.create_connection(('127.0.0.1', $CTL)) for _ in range(70)]
time.sleep(0.3)
import os, signal; os.kill($STEERD, signal.SIGTERM)
time.sleep(0.5)" 2>/dev/null
i=0; while kill -0 $STEERD 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
kill -0 $STEERD 2>/dev/null && not_ok "steerd stops on SIGTERM with 70 connections open" || ok "steerd stops on SIGTERM with 70 connections open"
if grep -q "Sanitizer" "$TMP/steerd.log"; then not_ok "no sanitizer reports"; grep -A20 Sanitizer "$TMP/steerd.log" | head -40; else ok "no sanitizer reports"; fi
finish
