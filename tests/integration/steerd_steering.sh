# Issue 4 end to end: steerd answers steered names with the right provider
# and ECS scope (dns_probe scenario, ldns-checked), weighted splits and
# stickiness over many subnets through the real server.
. "$(dirname "$0")/../lib.sh"
PORT=15320
check "steerd -t accepts the steering config" "$BIN/steerd" -t -c "$ROOT/tests/steerd/steering.yaml"
start_bg "$TMP/steerd.log" "$BIN/steerd" -c "$ROOT/tests/steerd/steering.yaml"
STEERD=$LAST_PID
wait_dns $PORT || { not_ok "steerd starts"; cat "$TMP/steerd.log"; finish; }
run_scenario "$ROOT/tests/scenarios/steerd_steering.scn" -p $PORT

# weighted split through the server: 80/20 over 4096 /24 subnets within 2 points,
# and every subnet gets the same answer twice (stickiness)
cat > "$TMP/weighted.yaml" <<YAML
server: {listen: ["127.0.0.1:15321"], workers: 2}
zones: [{name: cdn.example.test, file: $ROOT/examples/cdn.example.test.zone}]
providers:
  a: {type: pop, ipv4: [127.0.1.1]}
  b: {type: pop, ipv4: [127.0.1.2]}
steering:
  - name: www.cdn.example.test
    rules: [{match: default, pools: [p]}]
    pools: {p: {policy: weighted, members: {a: 80, b: 20}}}
YAML
start_bg "$TMP/w.log" "$BIN/steerd" -c "$TMP/weighted.yaml"
wait_dns 15321 || { not_ok "weighted steerd starts"; cat "$TMP/w.log"; finish; }
out=$(python3 - "$ROOT/tests" <<'PY'
import sys; sys.path.insert(0, sys.argv[1]); import dnsq
first, same, a = {}, 0, 0
for rnd in range(2):
    for i in range(4096):
        net = '10.%d.%d.0/24' % (i // 256, i % 256)
        rc, rrs, scope = dnsq.query(15321, 'www.cdn.example.test', 1, ecs=net)
        if rnd == 0:
            first[net] = rrs[0]; a += rrs[0] == '127.0.1.1'
        else:
            same += first[net] == rrs[0]
print('%.1f %d %s' % (100.0 * a / 4096, same, scope))
PY
)
share=${out%% *}; rest=${out#* }; same=${rest%% *}; scope=${rest#* }
awk -v s="$share" 'BEGIN { exit !(s >= 78 && s <= 82) }' && ok "weighted 80/20 split over 4096 subnets: a got $share%" \
  || not_ok "weighted split off: a got $share% (want 80 +- 2)"
expect_eq "every subnet got the same provider on the second query" "$same" "4096"
expect_eq "weighted answers carry the hashed /24 as scope" "$scope" "24"

for f in steerd w; do
  if grep -q "ERROR: AddressSanitizer\|runtime error" "$TMP/$f.log"; then not_ok "no sanitizer reports ($f)"; else ok "no sanitizer reports ($f)"; fi
done
finish
