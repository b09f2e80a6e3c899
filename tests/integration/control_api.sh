# Control API (issue 8): every endpoint with curl and with steerctl, auth
# failures (nothing changed), malformed bodies and parameters, overrides that
# change steerd's DNS answers and persist across a restart, validated reload.
. "$(dirname "$0")/../lib.sh"
DNS=15900; CTL=15901
TOKEN=demo-token-0123456789abcdef
printf '%s\n' "$TOKEN" > "$TMP/token"; chmod 600 "$TMP/token"
echo wrong-token-0123456789abcdef > "$TMP/bad.token"
cp "$ROOT/examples/cdn.example.test.zone" "$TMP/"
write_cfg() { # $1 = members of pool `both`
cat > "$TMP/steerd.yaml" <<YAML
server: {listen: ["127.0.0.1:$DNS"], workers: 1}
zones: [{name: cdn.example.test, file: cdn.example.test.zone}]
health:
  state_file: health.state
control:
  listen: "127.0.0.1:$CTL"
  token_file: token
providers:
  eu-pop: {type: pop, ipv4: [127.0.1.10], lat: 50.1, lon: 8.7}
  us-pop: {type: pop, ipv4: [127.0.2.10], lat: 39.0, lon: -77.5}
  fastly: {type: cdn, cname: steer-demo.map.fastly.net.}
steering:
  - name: www.cdn.example.test
    ttl: 30
    degraded_ttl: 5
    rules:
      - {match: {cidr: [10.99.0.0/16]}, pools: [cdn]}
      - {match: default, pools: [both]}
    pools:
      both: {policy: weighted, members: {$1}}
      cdn: {policy: failover, members: [fastly]}
YAML
}
write_cfg "eu-pop: 50, us-pop: 50"
# the API refuses a non-loopback listener unless allow_remote, and a bad token file
sed "s/127.0.0.1:$CTL/192.0.2.1:$CTL/" "$TMP/steerd.yaml" > "$TMP/remote.yaml"
out=$("$BIN/steerd" -t -c "$TMP/remote.yaml" 2>&1); rc=$?
expect_match "non-loopback control.listen refused with file:line" "$rc $out" '^1 .*remote\.yaml:[0-9]+: control\.listen: 192\.0\.2\.1.* not a loopback'
sed "s/token_file: token/token_file: nonexistent.token/" "$TMP/steerd.yaml" > "$TMP/notoken.yaml"
out=$("$BIN/steerd" -t -c "$TMP/notoken.yaml" 2>&1)
expect_match "missing token file refused with file:line" "$out" 'notoken\.yaml:[0-9]+: control\.token_file: cannot read'

start_steerd() { start_bg "$TMP/steerd.log" "$BIN/steerd" -c "$TMP/steerd.yaml"; STEERD=$LAST_PID; wait_dns $DNS && wait_tcp $CTL; }
start_steerd || { not_ok "steerd starts"; cat "$TMP/steerd.log"; finish; }
ok "steerd starts with the control API"

API="http://127.0.0.1:$CTL"
AUTH="Authorization: Bearer $TOKEN"
ctl() { "$BIN/steerctl" -s 127.0.0.1:$CTL --token-file "$TMP/token" "$@"; }
code() { curl -s -o "$TMP/body" -w '%{http_code}' "$@"; }
# addresses answered for 64 client subnets
cat > "$TMP/seen.py" <<'PY'
import sys; sys.path.insert(0, sys.argv[2])
import dnsq
seen = set()
for i in range(64):
    rc, rrs, scope = dnsq.query(int(sys.argv[1]), 'www.cdn.example.test', 1, ecs='10.%d.%d.0/24' % (i // 16, i % 16 * 16))
    seen.update(rrs)
print(' '.join(sorted(seen)))
PY
seen() { python3 "$TMP/seen.py" $DNS "$ROOT/tests"; }
expect_eq "both PoPs answer before any override" "$(seen)" "127.0.1.10 127.0.2.10"

# ---- reads
c=$(code "$API/v1/status")
expect_eq "GET /v1/status 200" "$c" 200
st=$(cat "$TMP/body")
expect_match "status has generation 1 and the zone" "$st" '"generation": 1'
expect_match "status lists the steered name" "$st" '"www\.cdn\.example\.test\."'
expect_match "status counts 3 providers" "$st" '"providers": 3'
out=$(ctl status); rc=$?
expect_match "steerctl status (table)" "$rc|$out" '^0\|version +0\.'
expect_match "steerctl status names the zone" "$out" 'zones +cdn\.example\.test'
out=$(ctl --json status)
expect_match "steerctl --json status is the server's JSON" "$(printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["generation"])')" '^1$'
c=$(code "$API/v1/providers")
expect_eq "GET /v1/providers 200" "$c" 200
expect_match "providers shows eu-pop as a pop with no override" "$(python3 -c 'import json,sys; d={p["name"]:p for p in json.load(open(sys.argv[1]))["providers"]}; p=d["eu-pop"]; print(p["type"], p["health"], p["admin"], p["weight"]); print(d["fastly"]["type"])' "$TMP/body")" '^pop (up|unknown) none None'
out=$(ctl providers)
expect_match "steerctl providers table" "$out" 'eu-pop +pop +(up|unknown) +none +-'

# ---- auth: nothing changes without the right token
c=$(code -X POST "$API/v1/providers/eu-pop/down")
expect_eq "POST without token -> 401" "$c" 401
c=$(code -X POST -H "Authorization: Bearer wrong-token-0123456789abcdef" "$API/v1/providers/eu-pop/down")
expect_eq "POST with a wrong token -> 403" "$c" 403
c=$(code -X POST -H "Authorization: Bearer $TOKEN-and-more" "$API/v1/providers/eu-pop/down")
expect_eq "POST with the token as a prefix -> 403" "$c" 403
c=$(code -X POST -H "Authorization: Basic Zm9vOmJhcg==" "$API/v1/reload")
expect_eq "POST /v1/reload with Basic auth -> 401" "$c" 401
"$BIN/steerctl" -s 127.0.0.1:$CTL --token-file "$TMP/bad.token" down eu-pop 2>"$TMP/err"; rc=$?
expect_match "steerctl with a wrong token exits 1 with 403" "$rc $(cat "$TMP/err")" '^1 .*403 wrong token'
"$BIN/steerctl" -s 127.0.0.1:$CTL down eu-pop 2>"$TMP/err"; rc=$?
expect_match "steerctl write without a token file exits 2" "$rc $(cat "$TMP/err")" '^2 .*needs a token'
expect_eq "state unchanged after refused writes (admin)" "$(curl -s "$API/v1/providers" | python3 -c 'import json,sys; print([p["admin"] for p in json.load(sys.stdin)["providers"]])')" "['none', 'none', 'none']"
expect_eq "DNS unchanged after refused writes" "$(seen)" "127.0.1.10 127.0.2.10"
expect_eq "generation unchanged after refused reload" "$(curl -s "$API/v1/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["generation"])')" 1

# ---- bad requests
c=$(code -X POST -H "$AUTH" -d '{"weight": ' "$API/v1/providers/eu-pop/weight")
expect_eq "malformed JSON body -> 400" "$c" 400
expect_match "malformed JSON error says so" "$(cat "$TMP/body")" 'malformed JSON'
c=$(code -X POST -H "$AUTH" -d '[1,2]' "$API/v1/providers/eu-pop/drain")
expect_eq "non-object JSON body -> 400" "$c" 400
c=$(code -X POST -H "$AUTH" -d '{"weight": "ten"}' "$API/v1/providers/eu-pop/weight")
expect_eq "weight as a string -> 400" "$c" 400
c=$(code -X POST -H "$AUTH" -d '{"weight": -1}' "$API/v1/providers/eu-pop/weight")
expect_eq "negative weight -> 400" "$c" 400
c=$(code -X POST -H "$AUTH" -d '{"weight": 1.5}' "$API/v1/providers/eu-pop/weight")
expect_eq "fractional weight -> 400" "$c" 400
c=$(code -X POST -H "$AUTH" -d '{"weight": 2000000}' "$API/v1/providers/eu-pop/weight")
expect_eq "weight above the maximum -> 400" "$c" 400
c=$(code -X POST -H "$AUTH" "$API/v1/providers/eu-pop/weight")
expect_eq "weight without a body -> 400" "$c" 400
c=$(code -X POST -H "$AUTH" "$API/v1/providers/no-such-cdn/down")
expect_eq "unknown provider -> 404" "$c" 404
c=$(code -X POST -H "$AUTH" "$API/v1/providers/eu-pop/explode")
expect_eq "unknown action -> 404" "$c" 404
c=$(code "$API/v1/providers/eu-pop/down")
expect_eq "GET on a write endpoint -> 405" "$c" 405
c=$(code -X POST -H "$AUTH" "$API/v1/status")
expect_eq "POST on a read endpoint -> 405" "$c" 405
c=$(code "$API/v1/nothing")
expect_eq "unknown path -> 404" "$c" 404
head -c 70000 /dev/zero | tr '\0' ' ' > "$TMP/big"
c=$(code -X POST -H "$AUTH" --data-binary @"$TMP/big" "$API/v1/reload")
expect_eq "body over 64 KiB refused (413)" "$c" 413
c=$(code "$API/v1/explain?name=www.cdn.example.test")
expect_eq "explain without client -> 400" "$c" 400
c=$(code "$API/v1/explain?name=www.cdn.example.test&client=10.0.0.300")
expect_eq "explain with a bad client -> 400" "$c" 400
c=$(code "$API/v1/explain?name=www.cdn.example.test&client=10.0.0.1&ecs=10.0.0.1/24")
expect_eq "explain with ECS host bits set -> 400" "$c" 400
c=$(code "$API/v1/explain?name=www.cdn.example.test&client=10.0.0.1&qtype=MX")
expect_eq "explain with qtype MX -> 400" "$c" 400
c=$(code "$API/v1/explain?name=a..b&client=10.0.0.1")
expect_eq "explain with a malformed name -> 400" "$c" 400
c=$(code "$API/v1/explain?name=nope.cdn.example.test&client=10.0.0.1")
expect_eq "explain of a name that is not steered -> 404" "$c" 404
"$BIN/steerctl" -s 127.0.0.1:$CTL weight eu-pop lots 2>/dev/null; expect_eq "steerctl weight NAME lots exits 2" "$?" 2
"$BIN/steerctl" -s 127.0.0.1:$CTL frobnicate 2>/dev/null; expect_eq "steerctl unknown command exits 2" "$?" 2
"$BIN/steerctl" -s 127.0.0.1:15999 status 2>"$TMP/err"; rc=$?
expect_match "steerctl with nothing listening exits 3" "$rc $(cat "$TMP/err")" '^3 .*cannot connect'
ctl up no-such-cdn 2>"$TMP/err"; rc=$?
expect_match "steerctl up of an unknown provider exits 1 (404)" "$rc $(cat "$TMP/err")" '^1 .*404'

# ---- overrides change the DNS answers
c=$(code -X POST -H "$AUTH" "$API/v1/providers/eu-pop/drain")
expect_eq "POST drain eu-pop -> 200" "$c" 200
expect_match "drain reply shows admin drain" "$(cat "$TMP/body")" '"admin": "drain"'
expect_eq "drained eu-pop gone from answers" "$(seen)" "127.0.2.10"
out=$(ctl clear eu-pop); rc=$?
expect_match "steerctl clear eu-pop" "$rc $out" '^0 eu-pop: admin none, weight from config'
expect_eq "clear restores both PoPs" "$(seen)" "127.0.1.10 127.0.2.10"
out=$(ctl down us-pop); rc=$?
expect_match "steerctl down us-pop" "$rc $out" '^0 us-pop: admin down'
expect_eq "forced-down us-pop gone from answers" "$(seen)" "127.0.1.10"
out=$(ctl up us-pop); rc=$?
expect_match "steerctl up us-pop" "$rc $out" '^0 us-pop: admin up'
out=$(ctl weight eu-pop 0); rc=$?
expect_match "steerctl weight eu-pop 0" "$rc $out" '^0 eu-pop: admin none, weight 0'
expect_eq "weight 0 removes eu-pop" "$(seen)" "127.0.2.10"
c=$(code -X POST -H "$AUTH" -d '{"weight": 5}' "$API/v1/providers/eu-pop/weight")
expect_eq "POST weight 5 via curl -> 200" "$c" 200
expect_match "weight reply" "$(cat "$TMP/body")" '"weight": 5'
out=$(ctl providers)
expect_match "providers table shows the overrides" "$out" 'eu-pop +pop +(up|unknown) +none +5 '
expect_match "providers table shows us-pop forced up" "$out" 'us-pop +pop +(up|unknown) +up '
ctl --json drain eu-pop >/dev/null
ctl down fastly >/dev/null

# ---- explain names the rule and the provider
c=$(code "$API/v1/explain?name=www.cdn.example.test&client=192.0.2.1&ecs=10.99.1.0/24")
expect_eq "GET /v1/explain 200" "$c" 200
ex=$(cat "$TMP/body")
expect_match "explain shows the matching cidr rule" "$ex" '10\.99\.0\.0/16'
out=$(ctl explain www.cdn.example.test 10.1.2.3 --qtype A); rc=$?; out=$(printf '%s' "$out" | tr '\n' '|')
expect_match "steerctl explain (table) exits 0 and chooses us-pop (eu-pop drained)" "$rc $out" '^0 .*\|chosen +us-pop \(rule 1, pool both\)'
expect_match "steerctl explain table: the default rule matched" "$out" '\|rule 1 +default +match\|'
expect_match "steerctl explain table: drained eu-pop not eligible, us-pop marked chosen" "$out" '\|  eu-pop +[0-9]+ +0 +[a-z]+ +drain +no +[^|]*\|\* us-pop +[0-9]+ +[0-9]+ +[a-z]+ +force-up +yes'
expect_match "steerctl explain table: ttl and ECS scope" "$out" '\|ttl +[0-9]+[^|]*\|scope +/[0-9]+$'
out=$(ctl --json explain www.cdn.example.test 10.1.2.3 --qtype A | python3 -c 'import json,sys; a=json.load(sys.stdin)["explain"]["answer"]; print(a["provider"], a["pool"])')
expect_eq "steerctl --json explain is the server's JSON" "$out" "us-pop both"
out=$(ctl explain www.cdn.example.test 10.1.2.3 --ecs 10.99.0.0/16 --qtype AAAA); rc=$?; out=$(printf '%s' "$out" | tr '\n' '|')
expect_match "steerctl explain with ECS and AAAA: forced-down fastly, failed open" "$rc $out" '^0 name .*type AAAA +client 10\.99\.0\.0/16 \(ECS\).*FAIL-OPEN.*\|chosen +fastly .*\|ttl +[0-9]+ \(degraded, failed open\)'

# ---- overrides persist across a restart (state file)
stop_pid $STEERD
start_steerd || { not_ok "steerd restarts"; cat "$TMP/steerd.log"; finish; }
pv=$(curl -s "$API/v1/providers" | python3 -c 'import json,sys; print(" ".join("%s=%s/%s" % (p["name"], p["admin"], p["weight"]) for p in json.load(sys.stdin)["providers"]))')
expect_eq "overrides persisted across a restart" "$pv" "eu-pop=drain/5 us-pop=up/None fastly=down/None"
expect_eq "DNS after restart honours them" "$(seen)" "127.0.2.10"
ctl clear eu-pop >/dev/null; ctl clear us-pop >/dev/null; ctl clear fastly >/dev/null
expect_eq "clear after restart restores both PoPs" "$(seen)" "127.0.1.10 127.0.2.10"

# ---- reload
write_cfg "eu-pop: 50"
out=$(ctl reload); rc=$?
expect_match "steerctl reload -> generation 2" "$rc $out" '^0 reloaded: generation 2'
expect_eq "reloaded config (us-pop out of the pool) is served" "$(seen)" "127.0.1.10"
write_cfg "eu-pop: 50, us-pop: 50"
c=$(code -X POST -H "$AUTH" -d '{}' "$API/v1/reload")
expect_eq "POST /v1/reload via curl -> 200" "$c" 200
expect_match "reload reply has generation 3" "$(cat "$TMP/body")" '"generation": 3'
cp "$TMP/steerd.yaml" "$TMP/good.yaml"
sed -i 's/policy: failover/policy: roundrobin/' "$TMP/steerd.yaml"
c=$(code -X POST -H "$AUTH" "$API/v1/reload")
expect_eq "bad config reload -> 422" "$c" 422
expect_match "422 carries file:line" "$(cat "$TMP/body")" 'steerd\.yaml:[0-9]+:'
ctl reload 2>"$TMP/err"; rc=$?
expect_match "steerctl reload of a bad config exits 1 with file:line" "$rc $(cat "$TMP/err")" '^1 .*422.*steerd\.yaml:[0-9]+:'
sed -i "s/token_file: token/token_file: missing.token/" "$TMP/good.yaml"; cp "$TMP/good.yaml" "$TMP/steerd.yaml"
c=$(code -X POST -H "$AUTH" "$API/v1/reload")
expect_match "reload with a bad control section -> 422 file:line" "$c $(tr -d '\n' < "$TMP/body")" '^422 .*steerd\.yaml:[0-9]+: control\.token_file'
expect_eq "old snapshot keeps serving after refused reloads" "$(curl -s "$API/v1/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["generation"])')" 3
expect_eq "DNS keeps answering after refused reloads" "$(seen)" "127.0.1.10 127.0.2.10"
# SIGHUP and API reloads at the same time are serialized
write_cfg "eu-pop: 50, us-pop: 50"
# (SIGHUPs that arrive while one is pending coalesce, so 1..3 of them count)
R=""; for i in 1 2 3; do kill -HUP $STEERD; ( ctl reload >/dev/null; echo $? > "$TMP/r$i" ) & R="$R $!"; done; wait $R
expect_eq "3 API reloads next to SIGHUPs all succeeded" "$(cat "$TMP/r1" "$TMP/r2" "$TMP/r3" | tr -d '\n')" 000
gen() { curl -s "$API/v1/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["generation"])'; }
i=0; while [ "$(gen)" -lt 7 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
g=$(gen); [ "$g" -ge 7 ] && [ "$g" -le 9 ] && ok "concurrent SIGHUP and API reloads serialized (generation $g)" || not_ok "generation after concurrent reloads: $g"
expect_eq "DNS answers after concurrent reloads" "$(seen)" "127.0.1.10 127.0.2.10"

stop_pid $STEERD
if grep -E "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error" "$TMP/steerd.log"; then not_ok "steerd clean under ASan"; else ok "steerd clean under ASan"; fi
kill -0 $STEERD 2>/dev/null && not_ok "steerd stops on TERM" || ok "steerd stops on TERM"
finish
