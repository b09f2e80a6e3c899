#!/bin/bash
# Sampled query log (issue 8): server.query_log config errors as file:line;
# with sample: 1 every known query appears once with client, transport,
# qname, qtype, rcode, ECS, scope and the steering decision; awkward qnames
# are escaped; steer_querylog_records_total matches the lines; with
# sample: 10 (to stderr) 200 queries give about a tenth. Ports 16020-16029.
. "$(dirname "$0")/../lib.sh"
DNS=16020; CTL=16021
TOKEN=querylog-token-0123456789abcdef
printf '%s\n' "$TOKEN" > "$TMP/token"; chmod 600 "$TMP/token"
cp "$ROOT/examples/cdn.example.test.zone" "$TMP/"
cd "$TMP" || exit 1

write_cfg() { # $1: the query_log value
cat > "$TMP/steerd.yaml" <<YAML
server:
  listen: ["127.0.0.1:$DNS"]
  workers: 1
  query_log: $1
zones: [{name: cdn.example.test, file: cdn.example.test.zone}]
control: {listen: "127.0.0.1:$CTL", token_file: token}
providers:
  eu-pop: {type: pop, ipv4: [127.0.1.10]}
  fastly: {type: cdn, cname: steer-demo.map.fastly.net.}
steering:
  - name: www.cdn.example.test
    rules:
      - {match: {cidr: [10.99.0.0/16]}, pools: [cdn]}
      - {match: default, pools: [pops]}
    pools:
      pops: {policy: failover, members: [eu-pop]}
      cdn: {policy: failover, members: [fastly]}
YAML
}

# ---- config errors
write_cfg "{path: q.log, sample: 0}"
expect_match "sample 0 refused with file:line" "$("$BIN/steerd" -t -c steerd.yaml 2>&1)" 'steerd\.yaml:4: .*sample'
write_cfg "{path: q.log, every: 3}"
expect_match "unknown key refused with file:line" "$("$BIN/steerd" -t -c steerd.yaml 2>&1)" "steerd\.yaml:4: .*every"
write_cfg "{sample: 2}"
expect_match "missing path refused with file:line" "$("$BIN/steerd" -t -c steerd.yaml 2>&1)" 'steerd\.yaml:4: .*path'
write_cfg "{path: '', sample: 2}"
expect_match "empty path refused with file:line" "$("$BIN/steerd" -t -c steerd.yaml 2>&1)" 'steerd\.yaml:4: .*empty'
write_cfg "[q.log]"
expect_match "a list instead of a map refused with file:line" "$("$BIN/steerd" -t -c steerd.yaml 2>&1)" 'steerd\.yaml:4: '
write_cfg "{path: /nonexistent-dir/q.log, sample: 1}"
start_bg "$TMP/bad.log" "$BIN/steerd" -c steerd.yaml; BAD=$LAST_PID
i=0; while kill -0 $BAD 2>/dev/null && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
expect_match "an unwritable log path stops the start with the reason" "$(cat "$TMP/bad.log")" 'query log: cannot open /nonexistent-dir/q\.log'

# ---- sample: 1, to a file (relative to the config)
write_cfg "{path: query.log, sample: 1}"
check "config with query_log passes -t" "$BIN/steerd" -t -c steerd.yaml
start_bg "$TMP/steerd.log" "$BIN/steerd" -c "$TMP/steerd.yaml"; STEERD=$LAST_PID
{ wait_dns $DNS && wait_tcp $CTL; } || { not_ok "steerd starts"; cat "$TMP/steerd.log"; finish; }
ok "steerd starts with a query log"
q() { dig +time=2 +tries=1 @127.0.0.1 -p $DNS "$@" >/dev/null 2>&1; }
q www.cdn.example.test A
q www.cdn.example.test A +subnet=10.99.1.0/24
q +tcp www.cdn.example.test AAAA
q nope.cdn.example.test A
q cdn.example.test MX
q 'we\"ird\ name.cdn.example.test' A
q www.cdn.example.test TYPE65280
poll() { i=0; while [ $i -lt 100 ]; do [ "$(grep -c 'cdn\.example\.test\.' "$TMP/query.log" 2>/dev/null)" -ge "$1" ] && return 0; sleep 0.05; i=$((i+1)); done; return 1; }
check "7 lines for the 7 queries within 5 s" poll 7
L=$(cat "$TMP/query.log")
TS='ts=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z'
expect_match "steered, no ECS" "$L" "^$TS client=127\.0\.0\.1 transport=udp qname=www\.cdn\.example\.test\. qtype=A rcode=NOERROR ecs=- scope=- provider=eu-pop rule=default reason=primary$"
expect_match "steered with ECS: prefix, scope, provider, rule" "$L" "^$TS client=127\.0\.0\.1 transport=udp qname=www\.cdn\.example\.test\. qtype=A rcode=NOERROR ecs=10\.99\.1\.0/24 scope=16 provider=fastly rule=cdn reason=primary$"
expect_match "TCP AAAA without IPv6: nodata, no provider" "$L" "^$TS client=127\.0\.0\.1 transport=tcp qname=www\.cdn\.example\.test\. qtype=AAAA rcode=NOERROR ecs=- scope=- provider=- rule=default reason=nodata$"
expect_match "NXDOMAIN, not steered" "$L" "^$TS client=127\.0\.0\.1 transport=udp qname=nope\.cdn\.example\.test\. qtype=A rcode=NXDOMAIN ecs=- scope=- provider=- rule=- reason=-$"
expect_match "static MX" "$L" "qname=cdn\.example\.test\. qtype=MX rcode=NOERROR ecs=- scope=- provider=- rule=- reason=-$"
expect_match "quote and space escaped as \\DDD" "$L" 'qname=we\\034ird\\032name\.cdn\.example\.test\. qtype=A rcode=NXDOMAIN'
expect_match "unknown qtype as TYPEn" "$L" 'qname=www\.cdn\.example\.test\. qtype=TYPE65280 rcode=NOERROR'
expect_eq "every line has the 11 fields" "$(awk 'NF != 11' "$TMP/query.log" | wc -l)" 0
lines=$(wc -l < "$TMP/query.log")
rec=$(curl -s "http://127.0.0.1:$CTL/metrics" | awk '$1 == "steer_querylog_records_total" { print $2 }')
expect_eq "steer_querylog_records_total = lines in the file" "$rec" "$lines"
expect_eq "nothing dropped" "$(curl -s "http://127.0.0.1:$CTL/metrics" | awk '$1 == "steer_querylog_dropped_total" { print $2 }')" 0
stop_pid $STEERD
expect_eq "steerd stops cleanly (ASan/UBSan, leaks)" "$(grep -c 'ERROR: \|runtime error' "$TMP/steerd.log")" 0

# ---- sample: 10, to stderr: 200 queries on the one UDP thread -> 20 lines
write_cfg "{path: stderr, sample: 10}"
start_bg "$TMP/steerd2.log" "$BIN/steerd" -c "$TMP/steerd.yaml"; STEERD=$LAST_PID
{ wait_dns $DNS && wait_tcp $CTL; } || { not_ok "steerd starts (sample 10)"; cat "$TMP/steerd2.log"; finish; }
python3 - "$DNS" "$ROOT/tests" <<'PY'
import sys; sys.path.insert(0, sys.argv[2])
import dnsq
for i in range(200):
    dnsq.query(int(sys.argv[1]), 'www.cdn.example.test', 1, ecs='10.99.%d.0/24' % (i % 250))
PY
stop_pid $STEERD   # drains the rings before exiting
n=$(grep -c '^ts=.* qname=www\.cdn\.example\.test\. qtype=A .*provider=fastly rule=cdn' "$TMP/steerd2.log")
expect_match "about a tenth of 200 queries logged (got $n; the countdown also sees the start-up probes)" "$n" '^(19|20|21)$'
expect_eq "steerd stops cleanly (sample 10)" "$(grep -c 'ERROR: \|runtime error' "$TMP/steerd2.log")" 0
finish
