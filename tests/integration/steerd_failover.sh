# Issue 5 failover figure: steerd + health checks against real PoP processes.
# Kill one PoP's server by PID, measure until no answer (over 256 client
# subnets) names it; restart it, measure until it is back. Three rounds.
. "$(dirname "$0")/../lib.sh"
DNS=15310; EU=15311; US=15312
mkdir -p "$TMP/eu" "$TMP/us"; echo ok > "$TMP/eu/health"; echo ok > "$TMP/us/health"
cp "$ROOT/examples/cdn.example.test.zone" "$TMP/"
cat > "$TMP/steerd.yaml" <<YAML
server: {listen: ["127.0.0.1:$DNS"], workers: 1}
zones: [{name: cdn.example.test, file: cdn.example.test.zone}]
health:
  defaults: {interval: 1s, rise: 3, fall: 2}
  checks:
    eu: {type: http, target: "127.0.0.1:$EU", path: /health}
    us: {type: http, target: "127.0.0.1:$US", path: /health}
providers:
  eu-pop: {type: pop, ipv4: [127.0.1.10], lat: 50.1, lon: 8.7, checks: [eu]}
  us-pop: {type: pop, ipv4: [127.0.2.10], lat: 39.0, lon: -77.5, checks: [us]}
steering:
  - name: www.cdn.example.test
    ttl: 30
    degraded_ttl: 5
    rules: [{match: default, pools: [both]}]
    pools:
      both: {policy: weighted, members: {eu-pop: 50, us-pop: 50}}
YAML
start_pop() { start_bg "$TMP/$1.log" python3 -m http.server --bind 127.0.0.1 --directory "$TMP/$1" "$2"; eval "PID_$1=$LAST_PID"; wait_tcp "$2"; }
start_pop eu $EU; start_pop us $US
start_bg "$TMP/steerd.log" "$BIN/steerd" -c "$TMP/steerd.yaml"
STEERD=$LAST_PID
wait_dns $DNS || { not_ok "steerd starts"; cat "$TMP/steerd.log"; finish; }
ok "steerd starts with health checks"

# answers from 256 ECS subnets; prints the set of addresses seen
cat > "$TMP/seen.py" <<'PY'
import sys; sys.path.insert(0, sys.argv[2])
import dnsq
seen = set()
for i in range(256):
    rc, rrs, scope = dnsq.query(int(sys.argv[1]), 'www.cdn.example.test', 1, ecs='10.%d.%d.0/24' % (i // 16, i % 16 * 16))
    seen.update(rrs)
print(' '.join(sorted(seen)))
PY
seen() { python3 "$TMP/seen.py" $DNS "$ROOT/tests"; }
# wait_for COND-SCRIPT TIMEOUT: polls `seen` until the pattern test passes; prints elapsed ms
wait_seen() { # $1 = grep -E pattern that must (or with ! must not) match, $2 = "has"|"lacks"
  t0=$(date +%s%N)
  while :; do
    s=$(seen)
    if [ "$2" = has ]; then echo "$s" | grep -Eq "$1" && break; else echo "$s" | grep -Eq "$1" || break; fi
    [ $(( ($(date +%s%N) - t0) / 1000000 )) -gt 15000 ] && { echo 99999; return; }
    sleep 0.05
  done
  echo $(( ($(date +%s%N) - t0) / 1000000 ))
}
# both PoPs up (unknown counts as up; wait for the first verdicts anyway)
r=$(wait_seen '127.0.1.10.*127.0.2.10' has)
expect_match "both PoPs answered while healthy" "$r" '^[0-9]{1,4}$'

downs=""; ups=""
for round in 1 2 3; do
  stop_pid $PID_eu
  d=$(wait_seen '127\.0\.1\.10' lacks)
  downs="$downs $d"
  [ "$d" -le 5000 ] && ok "round $round: killed PoP gone from every answer in ${d} ms (bound 5000)" \
                   || not_ok "round $round: killed PoP still answered after ${d} ms"
  start_pop eu $EU
  u=$(wait_seen '127\.0\.1\.10' has)
  ups="$ups $u"
  [ "$u" -le 8000 ] && ok "round $round: restarted PoP back in ${u} ms (bound 8000)" \
                   || not_ok "round $round: restarted PoP not back after ${u} ms"
done
med() { echo "$@" | tr ' ' '\n' | grep . | sort -n | sed -n 2p; }
echo "# failover: removal ms:$downs (median $(med $downs)); return ms:$ups (median $(med $ups))"

# degraded answers carry the short TTL while a PoP is down
stop_pid $PID_eu
wait_seen '127\.0\.1\.10' lacks >/dev/null
ttl=$(dig +norec +noall +answer @127.0.0.1 -p $DNS www.cdn.example.test A +subnet=10.0.0.0/24 | awk '{print $2}' | head -n1)
expect_eq "answers with a PoP down use degraded_ttl" "$ttl" "5"

# both down: fail open (answer from the primary pool), never SERVFAIL/empty
stop_pid $PID_us
sleep 3
out=$(python3 -c "
import sys; sys.path.insert(0, '$ROOT/tests'); import dnsq
print(dnsq.query($DNS, 'www.cdn.example.test', 1, ecs='10.1.2.0/24'))")
expect_match "all PoPs down: fail open with an address" "$out" "^\(0, \['127\.0\.[12]\.10'\]"
expect_match "both providers logged down with a reason" "$(cat "$TMP/steerd.log")" "provider .us-pop. .* -> down \(check .us.: connection refused\)"

stop_pid $STEERD
if grep -q "ERROR: AddressSanitizer\|runtime error" "$TMP/steerd.log"; then not_ok "no sanitizer reports"; grep -A20 "Sanitizer\|runtime error" "$TMP/steerd.log" | head -40; else ok "no sanitizer reports"; fi
finish
