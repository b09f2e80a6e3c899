#!/bin/bash
# Prometheus /metrics (issue 8; health metrics of issue 5, fail-open of
# issue 4): steerd with a steered config takes known numbers of queries
# (qtypes, UDP/TCP, ECS, NXDOMAIN, REFUSED), a health check that fails, an
# operator override that makes a name fail open, RUM beacons, a refused and a
# good reload (rules reordered: counters must carry over); every scrape is
# parsed by an independent parser (python3-prometheus-client) and checked
# for exact counter deltas and label sets. edged's /metrics is validated the
# same way, per upstream tier with a shield. Ports 16000-16019, 16300-16301.
. "$(dirname "$0")/../lib.sh"
DNS=16000; CTL=16001; RUM=16002; DEAD=16003; OP=16010; EP=16011; EA=16012; SP=16300; SA=16301
TOKEN=metrics-token-0123456789abcdef
printf '%s\n' "$TOKEN" > "$TMP/token"; chmod 600 "$TMP/token"
cp "$ROOT/examples/cdn.example.test.zone" "$TMP/"
# the Debian package installs into the system python (a pyenv python3 on
# PATH would not see it)
PYPROM=
for p in python3 /usr/bin/python3; do
  "$p" -c 'import prometheus_client.parser' 2>/dev/null && { PYPROM=$p; break; }
done
[ -n "$PYPROM" ] || { not_ok "python3-prometheus-client is installed (make deps)"; finish; }

# $1: extra rule put first (reload test)
write_cfg() {
cat > "$TMP/steerd.yaml" <<YAML
server: {listen: ["127.0.0.1:$DNS"], workers: 1}
zones: [{name: cdn.example.test, file: cdn.example.test.zone}]
control: {listen: "127.0.0.1:$CTL", token_file: token}
health:
  state_file: health.state
  checks:
    eu-tcp: {type: tcp, target: "127.0.0.1:$DNS", interval: 50ms, jitter: 0ms, rise: 1, fall: 2}
    spare-tcp: {type: tcp, target: "127.0.0.1:$DEAD", interval: 50ms, jitter: 0ms, rise: 1, fall: 2}
rum:
  listen: 127.0.0.1:$RUM
  trusted_proxies: [127.0.0.0/8]
  rate: {per_second: 1000, burst: 1000}
providers:
  eu-pop: {type: pop, ipv4: [127.0.1.10], lat: 50.1, lon: 8.7, checks: [eu-tcp]}
  us-pop: {type: pop, ipv4: [127.0.2.10], lat: 39.0, lon: -77.5}
  fastly: {type: cdn, cname: steer-demo.map.fastly.net.}
  spare: {type: pop, ipv4: [127.0.3.10], checks: [spare-tcp]}
steering:
  - name: www.cdn.example.test
    ttl: 30
    rules:
$1
      - {match: {cidr: [10.99.0.0/16]}, pools: [cdn]}
      - {match: default, pools: [both]}
    pools:
      both: {policy: weighted, members: {eu-pop: 50, us-pop: 50}}
      cdn: {policy: failover, members: [fastly]}
  - name: spare.cdn.example.test
    rules: [{match: default, pools: [only]}]
    pools:
      only: {policy: failover, members: [spare]}
YAML
}

# prom.py FILE: parses an exposition with prometheus_client (exit 1 and the
# reason if it is not valid), checks the rules the parser does not (counter
# samples end in _total, no duplicate series, histogram buckets cumulative
# with +Inf = _count), and prints one "name{sorted labels} value" per sample.
cat > "$TMP/prom.py" <<'PY'
import sys
from prometheus_client.parser import text_string_to_metric_families
text = open(sys.argv[1]).read()
try:
    fams = list(text_string_to_metric_families(text))
except Exception as e:
    print("parse error: %s" % e); sys.exit(1)
bad, seen, out = [], set(), []
for f in fams:
    if f.type == 'untyped':
        bad.append("family %s has no TYPE" % f.name)
    buckets = {}
    for s in f.samples:
        esc = lambda v: v.replace('\\', '\\\\').replace('"', '\\"').replace('\n', '\\n')
        key = '%s{%s}' % (s.name, ','.join('%s="%s"' % (k, esc(s.labels[k])) for k in sorted(s.labels)))
        if key in seen:
            bad.append("duplicate series " + key)
        seen.add(key)
        if f.type == 'counter' and not s.name.endswith(('_total', '_created')):
            bad.append("counter sample %s does not end in _total" % s.name)
        if f.type == 'histogram':
            base = tuple(sorted((k, v) for k, v in s.labels.items() if k != 'le'))
            b = buckets.setdefault(base, {'le': [], 'count': None})
            if s.name.endswith('_bucket'):
                b['le'].append((float(s.labels['le']), s.value))
            elif s.name.endswith('_count'):
                b['count'] = s.value
        v = s.value
        out.append('%s %s' % (key, int(v) if v == int(v) else v))
    for base, b in buckets.items():
        les = sorted(b['le'])
        if not les or les[-1][0] != float('inf') or les[-1][1] != b['count']:
            bad.append("histogram %s %s: +Inf bucket != _count" % (f.name, base))
        if any(les[i][1] > les[i + 1][1] for i in range(len(les) - 1)):
            bad.append("histogram %s %s: buckets not cumulative" % (f.name, base))
if bad:
    print('\n'.join(bad)); sys.exit(1)
print('\n'.join(out))
PY
# scrape NAME URL: fetches, validates, stores $TMP/NAME.prom (samples) and .txt (raw)
scrape() {
  curl -s -D "$TMP/$1.hdr" -o "$TMP/$1.txt" "$2" && "$PYPROM" "$TMP/prom.py" "$TMP/$1.txt" > "$TMP/$1.prom"
}
# m NAME SERIES: the value of SERIES in scrape NAME, or "absent"
# (series are compared up to the last space: label values may hold spaces)
m() { K="$2" awk '{ k = $0; sub(/ [^ ]*$/, "", k) } k == ENVIRON["K"] { print $NF; f = 1 } END { if (!f) print "absent" }' "$TMP/$1.prom"; }
# d A B SERIES: value in B minus value in A (absent = 0)
d() { a=$(m "$1" "$3"); b=$(m "$2" "$3"); [ "$a" = absent ] && a=0; [ "$b" = absent ] && b=0; echo $((b - a)); }
# sum NAME REGEX: sum of the series matching REGEX
sum() { awk -v r="$2" '{ k = $0; sub(/ [^ ]*$/, "", k) } k ~ r { s += $NF } END { print s + 0 }' "$TMP/$1.prom"; }
q() { dig +time=2 +tries=1 @127.0.0.1 -p $DNS "$@" >/dev/null 2>&1; }
poll() { i=0; while [ $i -lt 200 ]; do eval "$1" >/dev/null 2>&1 && return 0; sleep 0.05; i=$((i+1)); done; return 1; }
API="http://127.0.0.1:$CTL"
AUTH="Authorization: Bearer $TOKEN"
W='name="www.cdn.example.test."'
S='name="spare.cdn.example.test."'

cd "$TMP" || exit 1
write_cfg ""
start_bg "$TMP/steerd.log" "$BIN/steerd" -c "$TMP/steerd.yaml"; STEERD=$LAST_PID
{ wait_dns $DNS && wait_tcp $CTL; } || { not_ok "steerd starts"; cat "$TMP/steerd.log"; finish; }
ok "steerd starts"

check "GET /metrics parses (prometheus_client) and follows the format rules" scrape s0 "$API/metrics"
expect_match "Content-Type is the 0.0.4 text format" "$(tr -d '\r' < "$TMP/s0.hdr")" '^Content-Type: text/plain; version=0\.0\.4'
expect_match "HELP and TYPE lines" "$(grep -c '^# TYPE steer_' "$TMP/s0.txt")" '^[2-9][0-9]$'
expect_eq "steer_build_info has the version" "$(m s0 "steer_build_info{version=\"$("$BIN/steerd" -V | awk '{print $2}')\"}")" 1
expect_eq "generation 1" "$(m s0 'steer_snapshot_generation{}')" 1
expect_match "process start time is now" "$(m s0 'process_start_time_seconds{}')" "^$(date +%s | cut -c1-7)"
c=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$API/metrics")
expect_eq "POST /metrics -> 405" "$c" 405

# ---- known queries
for i in 1 2 3; do q www.cdn.example.test A; done
q www.cdn.example.test A +subnet=10.99.1.0/24
q www.cdn.example.test A +subnet=10.99.2.0/24
q +tcp www.cdn.example.test AAAA
q cdn.example.test MX
q nope.cdn.example.test A
q www.example.org A
scrape s1 "$API/metrics" || not_ok "scrape after queries parses"
expect_eq "A over UDP: 7" "$(d s0 s1 'steer_dns_queries_total{qtype="A",transport="udp"}')" 7
expect_eq "AAAA over TCP: 1" "$(d s0 s1 'steer_dns_queries_total{qtype="AAAA",transport="tcp"}')" 1
expect_eq "AAAA over UDP: 0" "$(d s0 s1 'steer_dns_queries_total{qtype="AAAA",transport="udp"}')" 0
expect_eq "MX over UDP: 1" "$(d s0 s1 'steer_dns_queries_total{qtype="MX",transport="udp"}')" 1
expect_eq "every qtype label exists for both transports" "$(grep -c '^steer_dns_queries_total{' "$TMP/s1.prom")" 38
expect_eq "NOERROR: 7" "$(d s0 s1 'steer_dns_responses_total{rcode="NOERROR"}')" 7
expect_eq "NXDOMAIN: 1" "$(d s0 s1 'steer_dns_responses_total{rcode="NXDOMAIN"}')" 1
expect_eq "REFUSED: 1" "$(d s0 s1 'steer_dns_responses_total{rcode="REFUSED"}')" 1
expect_eq "ECS queries: 2" "$(d s0 s1 'steer_dns_ecs_queries_total{}')" 2
expect_eq "nothing dropped or truncated" "$(d s0 s1 'steer_dns_dropped_total{}')/$(d s0 s1 'steer_dns_truncated_total{}')" 0/0
expect_eq "query duration histogram counted 9 answers" "$(d s0 s1 'steer_dns_query_duration_seconds_count{}')" 9
expect_match "query duration sum is positive and small" "$(m s1 'steer_dns_query_duration_seconds_sum{}')" '^(0\.0|[0-9]\.[0-9]*e-)'
expect_eq "answers www/fastly/rule cdn: 2" "$(m s1 "steer_answers_total{$W,provider=\"fastly\",rule=\"cdn\"}")" 2
expect_eq "answers www/default rule (either PoP): 3" \
  "$(sum s1 '^steer_answers_total\{name="www\.cdn\.example\.test\.",provider="(eu|us)-pop",rule="default"\}')" 3
expect_eq "answers carry exactly the labels name, provider, rule" \
  "$(grep '^steer_answers_total{' "$TMP/s1.prom" | awk '{print $1}' | sed 's/="[^"]*"//g' | sort -u)" "steer_answers_total{name,provider,rule}"
expect_eq "decisions www primary: 5" "$(m s1 "steer_decisions_total{$W,reason=\"primary\"}")" 5
expect_eq "decisions www nodata (AAAA, no IPv6): 1" "$(m s1 "steer_decisions_total{$W,reason=\"nodata\"}")" 1
expect_eq "ECS answers with a non-zero scope: 2" "$(m s1 "steer_ecs_answers_total{$W,scope=\"nonzero\"}")" 2
expect_eq "no fail-open yet" "$(m s1 "steer_failopen_total{$W}")" 0
expect_eq "provider weight from the config" "$(m s1 "steer_provider_weight{$W,pool=\"both\",provider=\"us-pop\"}")" 50

# ---- health: spare's check target is closed, eu-pop's is the DNS port
poll "scrape h '$API/metrics' && [ \"\$(m h 'steer_provider_health{provider=\"spare\",state=\"down\"}')\" = 1 ] && [ \"\$(m h 'steer_provider_health{provider=\"eu-pop\",state=\"up\"}')\" = 1 ]"
expect_eq "spare is down, one state per provider" "$(m h 'steer_provider_health{provider="spare",state="down"}')/$(m h 'steer_provider_health{provider="spare",state="up"}')/$(m h 'steer_provider_health{provider="spare",state="unknown"}')" 1/0/0
expect_eq "transition of spare to down counted once" "$(m h 'steer_health_transitions_total{provider="spare",to="down"}')" 1
expect_eq "transition of eu-pop to up counted once" "$(m h 'steer_health_transitions_total{provider="eu-pop",to="up"}')" 1
f=$(m h 'steer_health_checks_total{check="spare-tcp",result="fail"}')
expect_match "failed spare-tcp runs counted (>= fall = 2)" "$f" '^([2-9]|[1-9][0-9]+)$'
expect_eq "spare-tcp never succeeded" "$(m h 'steer_health_checks_total{check="spare-tcp",result="ok"}')" 0
expect_eq "check duration histogram counts every run" "$(m h 'steer_health_check_duration_seconds_count{check="eu-tcp"}')" \
  "$(( $(m h 'steer_health_checks_total{check="eu-tcp",result="ok"}') + $(m h 'steer_health_checks_total{check="eu-tcp",result="fail"}') ))"
expect_match "transition logged with its reason" "$(cat "$TMP/steerd.log")" "provider 'spare' unknown -> down \(check 'spare-tcp': (refused|connection refused)"
q spare.cdn.example.test A; q spare.cdn.example.test A
scrape h2 "$API/metrics" || not_ok "scrape parses"
expect_eq "spare name fails open (its only provider is down): 2" "$(m h2 "steer_failopen_total{$S}")" 2
expect_eq "fail-open decisions: 2" "$(m h2 "steer_decisions_total{$S,reason=\"failopen\"}")" 2

# ---- operator override: both PoPs down -> www fails open
for p in eu-pop us-pop; do
  c=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "$AUTH" "$API/v1/providers/$p/down")
  expect_eq "force $p down -> 200" "$c" 200
done
q www.cdn.example.test A; q www.cdn.example.test A
scrape s2 "$API/metrics" || not_ok "scrape parses"
expect_eq "www fails open after both PoPs were forced down: 2" "$(m s2 "steer_failopen_total{$W}")" 2
expect_eq "override exported" "$(m s2 'steer_provider_admin{override="down",provider="eu-pop"}')/$(m s2 'steer_provider_admin{override="none",provider="eu-pop"}')" 1/0
c=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "$AUTH" -H 'Content-Type: application/json' --data '{"weight": 7}' "$API/v1/providers/us-pop/weight")
scrape s2b "$API/metrics"
expect_eq "weight override exported ($c)" "$(m s2b "steer_provider_weight{$W,pool=\"both\",provider=\"us-pop\"}")" 7

# ---- RUM beacons
rc1=$(curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary '{"m":[{"p":"eu-pop","k":"latency","v":20},{"p":"eu-pop","k":"latency","v":25},{"p":"fastly","k":"latency","v":30}]}' "http://127.0.0.1:$RUM/rum")
rc2=$(curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary '{"m":[' "http://127.0.0.1:$RUM/rum")
expect_eq "beacons: one accepted, one malformed" "$rc1/$rc2" 204/400
scrape s3 "$API/metrics" || not_ok "scrape parses"
expect_eq "RUM samples eu-pop accepted: 2" "$(m s3 'steer_rum_samples_total{provider="eu-pop",result="accepted"}')" 2
expect_eq "RUM samples fastly accepted: 1" "$(m s3 'steer_rum_samples_total{provider="fastly",result="accepted"}')" 1
expect_eq "RUM beacons rejected as json: 1" "$(m s3 'steer_rum_beacons_total{reason="json",result="rejected"}')" 1

for p in eu-pop us-pop; do curl -s -o /dev/null -X POST -H "$AUTH" "$API/v1/providers/$p/clear"; done

# ---- reloads: a refused one, then one that reorders the rules
cp "$TMP/steerd.yaml" "$TMP/good.yaml"
printf 'bogus_section: 1\n' >> "$TMP/steerd.yaml"
c=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "$AUTH" "$API/v1/reload")
expect_eq "bad reload refused (422)" "$c" 422
write_cfg "      - {match: {cidr: [10.98.0.0/16]}, pools: [both]}"
c=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "$AUTH" "$API/v1/reload")
expect_eq "good reload (200)" "$c" 200
scrape s4 "$API/metrics" || not_ok "scrape after reload parses"
expect_eq "reloads ok/failed: 1/1" "$(m s4 'steer_snapshot_reloads_total{result="ok"}')/$(m s4 'steer_snapshot_reloads_total{result="failed"}')" 1/1
expect_eq "generation 2" "$(m s4 'steer_snapshot_generation{}')" 2
expect_eq "answers www/fastly/cdn kept across the reload" "$(m s4 "steer_answers_total{$W,provider=\"fastly\",rule=\"cdn\"}")" 2
expect_eq "fail-open count kept across the reload" "$(m s4 "steer_failopen_total{$W}")" 2
expect_eq "RUM samples kept across the collector handover" "$(m s4 'steer_rum_samples_total{provider="eu-pop",result="accepted"}')" 2
q www.cdn.example.test A +subnet=10.99.3.0/24
q www.cdn.example.test A +subnet=10.98.3.0/24
q www.cdn.example.test A
curl -s -o /dev/null -X POST --data-binary '{"m":[{"p":"eu-pop","k":"latency","v":21}]}' "http://127.0.0.1:$RUM/rum"
scrape s5 "$API/metrics" || not_ok "scrape parses"
expect_eq "answers www/fastly/cdn continue from 2 (rule moved from index 0 to 1)" "$(m s5 "steer_answers_total{$W,provider=\"fastly\",rule=\"cdn\"}")" 3
expect_eq "the new rule is labelled by its first pool (both)" "$(sum s5 '^steer_answers_total\{name="www\.cdn\.example\.test\.",provider="(eu|us)-pop",rule="both"\}')" 1
expect_eq "default rule: 3 + 2 fail-open before the reload, 1 after" "$(sum s5 '^steer_answers_total\{name="www\.cdn\.example\.test\.",provider="(eu|us)-pop",rule="default"\}')" 6
expect_eq "RUM samples continue after the handover" "$(m s5 'steer_rum_samples_total{provider="eu-pop",result="accepted"}')" 3
no_back=$(python3 - "$TMP/s1.prom" "$TMP/s5.prom" <<'PY'
import sys
def load(p):
    return {l.rsplit(' ', 1)[0]: float(l.rsplit(' ', 1)[1]) for l in open(p) if l.strip()}
a, b = load(sys.argv[1]), load(sys.argv[2])
print(' '.join(k for k in a if '_total' in k and k in b and b[k] < a[k]) or 'none')
PY
)
expect_eq "no counter went backwards between the first and the last scrape" "$no_back" none

# ---- the periodic fail-open log (every 10 s, off the query path)
poll_log() { i=0; while [ $i -lt 150 ]; do grep -q "$1" "$TMP/steerd.log" && return 0; sleep 0.1; i=$((i+1)); done; return 1; }
check "fail-open logged for www within 15 s" poll_log 'fail-open for www.cdn.example.test.: 2 answers in the last interval'
check "fail-open logged for spare" grep -q 'fail-open for spare.cdn.example.test.: 2 answers' "$TMP/steerd.log"

stop_pid $STEERD
expect_eq "steerd exits cleanly (ASan/UBSan, leaks)" "$(grep -c 'ERROR: \|runtime error' "$TMP/steerd.log")" 0

# ---- edged's /metrics through the same parser
# A PoP (shield, then origin) and its shield; the PoP also has a site whose
# origin refuses connections. Per tier (upstream.h): one result per
# exchange, the head time of every exchange that got a response head.
cat > "$TMP/shield.yaml" <<YAML
tier: shield-m
listen: { http: ["127.0.0.1:$SP"] }
admin: { listen: "127.0.0.1:$SA", token_file: token }
sites: [ { name: s, hosts: ["*"], origin: "127.0.0.1:$OP" } ]
YAML
cat > "$TMP/edged.yaml" <<YAML
listen: { http: ["127.0.0.1:$EP"] }
admin: { listen: "127.0.0.1:$EA", token_file: token }
timeouts: { upstream_first_byte: 300ms }
upstream: { fail_threshold: 100 }
sites:
  - { name: 'main "edge" \\ 1', hosts: ["*"], origin: "127.0.0.1:$OP", shields: ["127.0.0.1:$SP"] }
  - { name: refused, hosts: ["refused.test"], origin: "127.0.0.1:$DEAD" }
YAML
start_bg "$TMP/origin.log" "$BIN/origind" -l 127.0.0.1:$OP
start_bg "$TMP/shield.log" "$BIN/edged" -c "$TMP/shield.yaml"; SHIELD=$LAST_PID
start_bg "$TMP/edged.log" "$BIN/edged" -c "$TMP/edged.yaml"; EDGED=$LAST_PID
for p in $OP $SP $SA $EP $EA; do wait_tcp $p || { not_ok "edged and origind start"; cat "$TMP"/edged.log "$TMP"/shield.log; finish; }; done
E="http://127.0.0.1:$EP"
U="$E/gen/a?size=100&cc=max-age%3D60"
curl -s -o /dev/null "$U"; curl -s -o /dev/null "$U"
check "edged /metrics parses and follows the format rules" scrape e1 "http://127.0.0.1:$EA/metrics"
expect_eq "edged: one miss, one hit" "$(m e1 'edged_cache_misses_total{}')/$(m e1 'edged_cache_hits_total{}')" 1/1
expect_eq "edged: a site name with quotes and a backslash is escaped" "$(m e1 'edged_upstream_up{addr="127.0.0.1:'$OP'",role="origin",site="main \"edge\" \\ 1"}')" 1
T() { m "$1" "edged_upstream_results_total{result=\"$3\",tier=\"$2\"}"; }
H() { m "$1" "edged_upstream_duration_seconds_count{tier=\"$2\"}"; }
expect_eq "edged: the miss went to the shield: shield ok 1, origin nothing" \
  "$(T e1 shield ok) $(T e1 shield error) $(T e1 shield timeout) $(T e1 origin ok)" "1 0 0 0"
expect_eq "edged: head time of the shield counted once, none of the origin" "$(H e1 shield) $(H e1 origin)" "1 0"
expect_match "edged: the shield's head time is under 1 s on loopback" "$(m e1 'edged_upstream_duration_seconds_bucket{le="1",tier="shield"}')" '^1$'
check "shield /metrics parses" scrape sh1 "http://127.0.0.1:$SA/metrics"
expect_eq "shield: its origin fetch is an origin ok, no shield tier traffic" "$(T sh1 origin ok) $(T sh1 shield ok) $(H sh1 origin)" "1 0 1"

# a 503 from the shield (its origin's) is a shield error, then the origin's
# own 503 an origin error; both have a head time
expect_eq "edged: 503 from both tiers" "$(curl -s -o /dev/null -w '%{http_code}' "$E/gen/b?status=503")" 503
# the first-byte timeout (300 ms) on the shield, then on the origin
expect_eq "edged: both tiers too slow -> 504" "$(curl -s -o /dev/null -w '%{http_code}' "$E/gen/c?delay=1500")" 504
# the origin of site refused: connection refused
expect_eq "edged: refused origin -> 502" "$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: refused.test' "$E/x")" 502
check "edged /metrics parses after errors" scrape e2 "http://127.0.0.1:$EA/metrics"
expect_eq "edged: shield results ok/error/timeout" "$(T e2 shield ok)/$(T e2 shield error)/$(T e2 shield timeout)" 1/1/1
expect_eq "edged: origin results ok/error/timeout (503 and refused are errors)" "$(T e2 origin ok)/$(T e2 origin error)/$(T e2 origin timeout)" 0/2/1
expect_eq "edged: head times: shield 2 (200, 503), origin 1 (503); timeouts and refusals have none" "$(H e2 shield) $(H e2 origin)" "2 1"
expect_eq "edged: attempts (unlabelled) = sum of the tier results" "$(m e2 'edged_upstream_requests_total{}')" \
  "$(sum e2 '^edged_upstream_results_total')"
expect_eq "edged: shield head time sum is positive and below the timeout" \
  "$(m e2 'edged_upstream_duration_seconds_sum{tier="shield"}' | awk '{ print ($1 > 0 && $1 < 0.3) ? "yes" : $1 }')" yes
stop_pid $EDGED; stop_pid $SHIELD
expect_eq "edged and its shield exit cleanly (ASan/UBSan, leaks)" "$(cat "$TMP/edged.log" "$TMP/shield.log" | grep -c 'ERROR: \|runtime error')" 0
finish
