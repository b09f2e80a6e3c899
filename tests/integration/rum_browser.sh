#!/bin/bash
# tests/integration/rum_browser.sh: /rum.js in a real browser (headless
# Chromium). steerd (asan) runs a RUM collector and a steered name whose
# `rum` pool has three providers; each provider's test object is served by
# a small local HTTP server with a known timing shape:
#   a-pop  Timing-Allow-Origin; 4 KiB, headers at once, body 600 ms later
#   b-pop  Timing-Allow-Origin; 64 KiB, headers after 150 ms
#   c-pop  no Timing-Allow-Origin; 64 KiB, headers at once, body 600 ms later
#   d-pop  nothing listens on its port (connection refused)
# A page on a fourth origin embeds <script src=http://COLLECTOR/rum.js>, so
# the script, the test-object fetches and the beacon are all cross-origin
# (CORS for real); it embeds itself once in an iframe: two page views (one
# sample of a provider decays below min_samples: 1 at once). Checks, on the
# collector side: two beacons, each with a latency sample for every
# provider; the values are Resource Timing's: a-pop's is
# time to first byte (< 450 ms, the body delay is not in it), b-pop's
# includes its 150 ms, c-pop's is the whole `duration` (>= 600 ms: without
# Timing-Allow-Origin the browser hides responseStart); a throughput sample
# for b-pop's 64 KiB object and none for c-pop's (without responseStart
# there is no transfer time; a regression test: rum.js used to divide by
# responseEnd - 0); a failure for d-pop from each page view; no refusal. Then
# steerd's DNS answer moves from the weighted fallback (c-pop) to the
# fastest provider the browser measured (a-pop), and `steerctl explain`
# shows the samples behind that decision. Ports 15750-15757.
. "$(dirname "$0")/../lib.sh"

DNS=15750; RUM=15751; PA=15752; PB=15753; PC=15754; PAGE=15755; PD=15756; CTL=15757   # PD: closed
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then
  echo "ok - # SKIP chromium not installed"
  finish
fi

cp "$ROOT/examples/cdn.example.test.zone" "$TMP/"
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$TMP/token"; chmod 600 "$TMP/token"
cat > "$TMP/steerd.yaml" <<YAML
server: {listen: ["127.0.0.1:$DNS"], workers: 1}
control: {listen: "127.0.0.1:$CTL", token_file: token}
zones: [{name: cdn.example.test, file: cdn.example.test.zone}]
providers:
  a-pop: {type: pop, ipv4: [127.0.1.1]}
  b-pop: {type: pop, ipv4: [127.0.1.2]}
  c-pop: {type: pop, ipv4: [127.0.1.3]}
  d-pop: {type: pop, ipv4: [127.0.1.4]}
steering:
  - name: www.cdn.example.test
    ttl: 30
    rules:
      - {match: default, pools: [all]}
    pools:
      all: {policy: rum, members: {a-pop: 1, b-pop: 1, c-pop: 1000000, d-pop: 1}}
rum:
  listen: 127.0.0.1:$RUM
  allow_origins: ["http://127.0.0.1:$PAGE"]
  min_samples: 1
  explore: 0
  recompute_interval: 50ms
  debug_endpoint: true
  test_urls:
    a-pop: "http://127.0.0.1:$PA/rum/obj"
    b-pop: "http://127.0.0.1:$PB/rum/obj"
    c-pop: "http://127.0.0.1:$PC/rum/obj"
    d-pop: "http://127.0.0.1:$PD/rum/obj"
YAML

# srv.py PORT MODE: MODE "a", "b", "c" = test object with that provider's
# timing shape; "page" = the embedding page. Every request line is logged
# with its Origin header.
cat > "$TMP/srv.py" <<'PY'
import http.server, sys, time
port, mode = int(sys.argv[1]), sys.argv[2]
rum, page = sys.argv[3], sys.argv[4].encode()
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, fmt, *args):
        sys.stderr.write("%s origin=%s\n" % (fmt % args, self.headers.get("Origin")))
        sys.stderr.flush()
    def do_GET(self):
        path = self.path.split("?")[0]
        if mode == "page" and path == "/page.html":
            # the top page embeds itself once: two page views, two beacons
            frame = b"" if "inner" in self.path else b"<iframe src=\"/page.html?inner=1\"></iframe>"
            body = b"<!doctype html><html><head><title>rum</title></head><body><p>steer rum test</p>" + frame + \
                   b"<script async src=\"http://127.0.0.1:" + rum.encode() + b"/rum.js\" data-name=\"" + page + b"\"></script>" \
                   b"</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if mode == "page" or path != "/rum/obj":
            self.send_error(404)
            return
        if mode == "b":
            time.sleep(0.15)
        body = b"x" * (4096 if mode == "a" else 65536)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Access-Control-Allow-Origin", "*")
        if mode != "c":
            self.send_header("Timing-Allow-Origin", "*")
        self.end_headers()
        self.wfile.write(body[:1])
        self.wfile.flush()
        if mode != "b":
            time.sleep(0.6)
        self.wfile.write(body[1:])
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
PY

cd "$TMP" || exit 1
start_bg "$TMP/steerd.log" "$BIN/steerd" -c "$TMP/steerd.yaml"; STEERD=$LAST_PID
for p in "$PA a" "$PB b" "$PC c" "$PAGE page"; do
  set -- $p
  start_bg "$TMP/srv.$2.log" python3 "$TMP/srv.py" "$1" "$2" "$RUM" www.cdn.example.test
done
if wait_dns $DNS && wait_tcp $RUM && wait_tcp $PA && wait_tcp $PB && wait_tcp $PC && wait_tcp $PAGE; then
  ok "steerd with a rum collector and four local HTTP servers start"
else
  not_ok "steerd with a rum collector and four local HTTP servers start"; cat "$TMP/steerd.log"; finish
fi

q() { dig +time=1 +tries=2 +short @127.0.0.1 -p $DNS www.cdn.example.test A 2>/dev/null | head -n1; }
metrics() { curl -s "http://127.0.0.1:$RUM/rum/metrics"; }
metric() { metrics | awk -v k="$1" '$1 == k { print $2 }'; }
scores() { curl -s "http://127.0.0.1:$RUM/rum/scores?client=127.0.0.1"; }
# p50 PROVIDER: the collector's median latency for it (global bucket), in ms
p50() { scores | python3 -c 'import json, sys; print(json.load(sys.stdin)["scores"][sys.argv[1]]["p50"])' "$1" 2>/dev/null; }
samples() { scores | python3 -c 'import json, sys; print(json.load(sys.stdin)["scores"][sys.argv[1]]["samples"])' "$1" 2>/dev/null; }
# in_range VALUE LO HI: LO <= VALUE < HI (floats)
in_range() { awk -v v="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(v != "" && v + 0 >= lo && v + 0 < hi) }'; }

expect_eq "before any beacon: weighted fallback answers c-pop" "$(q)" "127.0.1.3"
if (exec 3<>/dev/tcp/127.0.0.1/$PD) 2>/dev/null; then not_ok "port $PD is closed (d-pop)"; else ok "port $PD is closed (d-pop)"; fi

# The browser. --virtual-time-budget would not wait for real network
# fetches, so it runs in real time; the collector is polled for the beacon
# and chromium is stopped by PID (timeout bounds it if the test dies).
start_bg "$TMP/chromium.log" timeout 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu \
  --disable-dev-shm-usage --no-first-run --disable-background-networking --disable-extensions \
  --user-data-dir="$TMP/chr" --enable-logging=stderr \
  "http://127.0.0.1:$PAGE/page.html"
CHR=$LAST_PID
i=0; got=""
while [ $i -lt 300 ]; do   # up to 30 s: chromium's first start is slow
  got=$(metric steer_rum_beacons_accepted_total)
  [ "${got:-0}" -ge 2 ] 2>/dev/null && break
  kill -0 $CHR 2>/dev/null || break
  sleep 0.1; i=$((i+1))
done
if [ "${got:-0}" -ge 2 ] 2>/dev/null; then ok "the browser's beacons arrived"
else
  not_ok "the browser's beacons arrived"
  echo "# chromium:"; tail -n 20 "$TMP/chromium.log" | sed 's/^/#   /'
  for s in page a b c; do sed 's/^/#   '$s': /' "$TMP/srv.$s.log"; done
fi
stop_pid $CHR

expect_eq "two beacons (page and iframe)" "$got" "2"
expect_eq "ten measurements (per page view: a-pop, b-pop, c-pop latency, b-pop throughput, d-pop failure)" \
  "$(metric steer_rum_measurements_accepted_total)" "10"
expect_eq "six latency samples" "$(metric 'steer_rum_measurements_total{kind="latency"}')" "6"
expect_eq "two throughput samples: b-pop's 64 KiB object, not c-pop's (no Timing-Allow-Origin)" \
  "$(metric 'steer_rum_measurements_total{kind="throughput"}')" "2"
expect_eq "two failures: d-pop's connection refused" "$(metric 'steer_rum_measurements_total{kind="failure"}')" "2"
for pn in a-pop:2 b-pop:4 c-pop:2 d-pop:2; do
  expect_eq "${pn#*:} samples for ${pn%:*}" "$(metric "steer_rum_measurements_provider_total{provider=\"${pn%:*}\"}")" "${pn#*:}"
done
rej=$(metrics | awk '/^steer_rum_beacons_rejected_total/ { s += $2 } END { print s + 0 }')
expect_eq "no beacon refused (CORS origin allowed, body valid)" "$rej" "0"
expect_match "the page's origin reached the providers (cross-origin fetch)" "$(cat "$TMP/srv.a.log")" \
  "GET /rum/obj\?steer_rum=[a-z0-9]+ .*origin=http://127.0.0.1:$PAGE"
expect_eq "the page and its iframe were loaded" "$(grep -c 'GET /page.html' "$TMP/srv.page.log")" "2"

# The histogram bins are ~19% wide: quantiles of one sample are within a bin
pa=$(p50 a-pop); pb=$(p50 b-pop); pc=$(p50 c-pop)
echo "# collector medians: a-pop $pa ms, b-pop $pb ms, c-pop $pc ms"
check "a-pop: time to first byte (0 < ms < 450: responseStart, not the 600 ms body)" in_range "$pa" 0.05 450
check "b-pop: includes its 150 ms header delay (125 <= ms < 1500)" in_range "$pb" 125 1500
check "c-pop without Timing-Allow-Origin: whole duration (510 <= ms < 3000)" in_range "$pc" 510 3000
expect_match "collector counts a sample per provider" "$(samples a-pop) $(samples b-pop) $(samples c-pop)" \
  '^[0-9.]+ [0-9.]+ [0-9.]+$'

# the browser's measurements now steer: a-pop is cheapest (min_samples 1)
poll_q() { i=0; while [ $i -lt 100 ]; do [ "$(q)" = "$1" ] && return 0; sleep 0.05; i=$((i+1)); done; return 1; }
check "steerd now answers a-pop, the provider the browser measured fastest" poll_q "127.0.1.1"
ex=$("$BIN/steerctl" -s 127.0.0.1:$CTL explain www.cdn.example.test 127.0.0.1 2>&1)
expect_match "steerctl explain: a-pop chosen on the browser's samples" "$ex" \
  "\\* a-pop .* rum global p50 [0-9.]+ms n=2"
expect_match "steerctl explain: d-pop's failures are samples too" "$ex" "d-pop .* rum global .* n=2"

stop_pid $STEERD
if grep -q 'ERROR: AddressSanitizer\|runtime error\|LeakSanitizer' "$TMP/steerd.log"; then
  not_ok "steerd sanitizer-clean"; grep -h -A20 'Sanitizer\|runtime error' "$TMP/steerd.log" | head -40
else ok "steerd sanitizer-clean"; fi
finish
