# Privilege drop (issue 8, daemon hygiene): steerd and edged started as root
# with -u steer bind privileged ports (DNS 153, HTTP 180) on 127.0.0.1, then
# run with every uid/gid of every thread being the user's; they still serve,
# reload (steerd SIGHUP) and reopen logs (edged SIGHUP), write their state
# files as the user, and refuse at startup what would fail later (state
# directories not writable, listeners bound after the drop on a privileged
# port, unknown users). Needs root: skipped otherwise.
. "$(dirname "$0")/../lib.sh"
if [ "$(id -u)" -ne 0 ]; then
  echo "ok - # SKIP privilege drop needs root"
  finish
fi
DNS=153; HTTP=180                     # privileged: only root can bind them
CTL=16220; RUM=16221; ADMIN=16222; ORIGIN=16223
for p in $DNS $HTTP; do
  if ss -lntu | grep -Eq "127\.0\.0\.1:$p |0\.0\.0\.0:$p |\*:$p "; then echo "ok - # SKIP port $p is in use"; finish; fi
done
id steer >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin steer
check "user steer exists" id steer
SUID=$(id -u steer); SGID=$(id -g steer)

# $TMP is 0700 root: let the user through to its own directories only
chmod 0711 "$TMP"
W="$TMP/w"; mkdir -p "$W/state" "$W/edisk" "$W/elog" "$W/geo"
chmod 0755 "$W"; chown steer:steer "$W/state" "$W/edisk" "$W/elog"
cp "$ROOT/examples/cdn.example.test.zone" "$W/"
cp "$ROOT/geo/fixture/steer-city.mmdb" "$W/geo/"
printf 'privdrop-token-0123456789abcdef\n' > "$W/token"
chmod 0644 "$W"/*.zone "$W/token" "$W/geo/"*

write_cfg() { # $1 = members of the pool, $2 = extra server keys, $3 = control port
cat > "$W/steerd.yaml" <<YAML
server: {listen: ["127.0.0.1:$DNS"], workers: 1 ${2:-}}
zones: [{name: cdn.example.test, file: cdn.example.test.zone}]
geo: {databases: [geo/steer-city.mmdb]}
health: {state_file: state/health.state}
control: {listen: "127.0.0.1:${3:-$CTL}", token_file: token}
rum: {listen: "127.0.0.1:$RUM", state_file: state/rum.state}
providers:
  pop-a: {type: pop, ipv4: [127.0.1.10]}
  pop-b: {type: pop, ipv4: [127.0.2.10]}
steering:
  - name: www.cdn.example.test
    ttl: 30
    rules: [{match: default, pools: [p]}]
    pools: {p: {policy: weighted, members: {$1}}}
YAML
chmod 0644 "$W/steerd.yaml"
}
ids_of() { # PID -> "uid uid uid uid|gid gid gid gid" of every thread, unique
  for t in /proc/$1/task/*; do
    printf '%s|%s\n' "$(awk '/^Uid:/ {print $2, $3, $4, $5}' "$t/status")" "$(awk '/^Gid:/ {print $2, $3, $4, $5}' "$t/status")"
  done | sort -u
}
WANT_IDS="$SUID $SUID $SUID $SUID|$SGID $SGID $SGID $SGID"
answer() { dig +short +time=2 +tries=1 @127.0.0.1 -p $DNS www.cdn.example.test A | sort | tr '\n' ' '; }

# ---- steerd
write_cfg "pop-a: 100"
start_bg "$W/steerd.log" "$BIN/steerd" -c "$W/steerd.yaml" -u steer; STEERD=$LAST_PID
if wait_dns $DNS && wait_tcp $CTL; then ok "steerd -u steer starts on port $DNS"; else not_ok "steerd -u steer starts"; cat "$W/steerd.log"; finish; fi
nthreads=$(ls /proc/$STEERD/task | wc -l)
expect_eq "steerd: all $nthreads threads run as steer (real, effective, saved, fs uid and gid)" "$(ids_of $STEERD)" "$WANT_IDS"
expect_eq "steerd: supplementary groups are steer's" "$(awk '/^Groups:/ {$1=""; print}' /proc/$STEERD/status | xargs)" "$(id -G steer | tr ' ' '\n' | sort -n | xargs)"
[ "$nthreads" -gt 3 ] && ok "steerd runs its worker threads ($nthreads)" || not_ok "steerd threads: $nthreads"
expect_eq "steerd answers on privileged port $DNS after the drop" "$(answer)" "127.0.1.10 "
expect_match "steerd logs the user" "$(cat "$W/steerd.log")" 'serving 1 zones .* as user steer'
# a write through the control API: the health state file is written as steer
"$BIN/steerctl" -s 127.0.0.1:$CTL --token-file "$W/token" drain pop-b >/dev/null
i=0; while [ ! -s "$W/state/health.state" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
expect_eq "health state file written by the user" "$(stat -c %U "$W/state/health.state" 2>&1)" steer
# SIGHUP reload as the user: new weights are served
write_cfg "pop-b: 100"
"$BIN/steerctl" -s 127.0.0.1:$CTL --token-file "$W/token" clear pop-b >/dev/null
kill -HUP $STEERD
gen() { curl -s "http://127.0.0.1:$CTL/v1/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["generation"])' 2>/dev/null; }
i=0; while [ "$(gen)" != 2 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
expect_eq "SIGHUP reload works after the drop (generation 2)" "$(gen)" 2
expect_eq "reloaded config served" "$(answer)" "127.0.2.10 "
expect_match "RUM listener re-bound by the reload as the user" "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$RUM/rum.js")" '^[2-4][0-9][0-9]$'
stop_pid $STEERD
kill -0 $STEERD 2>/dev/null && not_ok "steerd stops on TERM" || ok "steerd stops on TERM"
if grep -E "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error" "$W/steerd.log"; then not_ok "steerd clean under ASan"; else ok "steerd clean under ASan"; fi
expect_eq "RUM state file written by the user at exit" "$(stat -c %U "$W/state/rum.state" 2>&1)" steer

# ---- steerd refusals, each before serving anything
out=$("$BIN/steerd" -c "$W/steerd.yaml" -u no-such-user-x 2>&1); rc=$?
expect_match "unknown user refused" "$rc $out" "^1 .*no such user 'no-such-user-x'"
chown root:root "$W/state"; chmod 0755 "$W/state"
out=$("$BIN/steerd" -c "$W/steerd.yaml" -u steer 2>&1); rc=$?
expect_match "state directory not writable by the user: refused at startup, naming the key" "$rc $out" \
  "^1 .*health\.state_file .*state/health\.state: directory .* is not writable by uid $SUID"
chown steer:steer "$W/state"
write_cfg "pop-a: 100" "" 154
out=$("$BIN/steerd" -c "$W/steerd.yaml" -u steer 2>&1); rc=$?
expect_match "control API on a privileged port with -u: refused (bound after the drop)" "$rc $out" \
  '^1 .*control\.listen: port 154 needs root'
write_cfg "pop-a: 100" ", user: no-such-user-x"
out=$("$BIN/steerd" -t -c "$W/steerd.yaml" 2>&1); rc=$?
expect_match "server.user is checked by steerd -t" "$rc $out" "^1 .*no such user 'no-such-user-x'"
write_cfg "pop-a: 100" ", user: steer"
start_bg "$W/steerd2.log" "$BIN/steerd" -c "$W/steerd.yaml"; STEERD=$LAST_PID
if wait_dns $DNS; then
  expect_eq "server.user: steer drops like -u" "$(ids_of $STEERD)" "$WANT_IDS"
else
  not_ok "steerd with server.user starts"; cat "$W/steerd2.log"
fi
stop_pid $STEERD
if grep -E "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error" "$W/steerd2.log"; then not_ok "steerd (server.user) clean under ASan"; else ok "steerd (server.user) clean under ASan"; fi

# ---- edged
start_bg "$W/origin.log" "$BIN/origind" -l 127.0.0.1:$ORIGIN
wait_tcp $ORIGIN || { not_ok "origind starts"; finish; }
cat > "$W/edged.yaml" <<YAML
tier: pop1
listen: {http: ["127.0.0.1:$HTTP"]}
admin: {listen: "127.0.0.1:$ADMIN", token_file: token}
cache: {memory: 16M, disk: {dir: edisk, size: 16M}}
access_log: elog/access.log
sites:
  - {name: demo, hosts: ["*"], origin: "127.0.0.1:$ORIGIN"}
YAML
chmod 0644 "$W/edged.yaml"
start_bg "$W/edged.log" "$BIN/edged" -c "$W/edged.yaml" --user steer; EDGED=$LAST_PID
if wait_tcp $HTTP; then ok "edged --user steer starts on port $HTTP"; else not_ok "edged --user steer starts"; cat "$W/edged.log"; finish; fi
expect_eq "edged: every thread (loop, disk writer) runs as steer" "$(ids_of $EDGED)" "$WANT_IDS"
URL="http://127.0.0.1:$HTTP/gen/privdrop?size=2000&cc=max-age%3D300"
expect_eq "edged serves on privileged port $HTTP after the drop" "$(curl -s -o /dev/null -w '%{http_code}' "$URL")" 200
expect_match "second request is a hit" "$(curl -s -D - -o /dev/null "$URL" | tr -d '\r')" '^X-Cache: HIT'
i=0; while [ -z "$(find "$W/edisk" -type f)" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
nfiles=$(find "$W/edisk" -type f | wc -l); nforeign=$(find "$W/edisk" ! -user steer | wc -l)
[ "$nfiles" -gt 0 ] && [ "$nforeign" -eq 0 ] && ok "disk cache written by the user ($nfiles files)" || not_ok "disk cache: $nfiles files, $nforeign not owned by steer"
# log rotation: SIGHUP reopens the access log as the user
mv "$W/elog/access.log" "$W/elog/access.log.1"
kill -HUP $EDGED
i=0; while ! grep -q "access log .* reopened" "$W/edged.log" && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
curl -s -o /dev/null "$URL"
i=0; while [ ! -s "$W/elog/access.log" ] && [ $i -lt 30 ]; do sleep 0.1; i=$((i+1)); done   # flushed each second
kill -0 $EDGED 2>/dev/null && ok "edged survives SIGHUP" || not_ok "edged survives SIGHUP"
expect_eq "SIGHUP reopened the access log, created by the user" "$(stat -c %U "$W/elog/access.log" 2>&1)" steer
expect_match "the new access log has the request" "$(cat "$W/elog/access.log" 2>/dev/null)" 'GET /gen/privdrop'
stop_pid $EDGED
if grep -E "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error" "$W/edged.log"; then not_ok "edged clean under ASan"; else ok "edged clean under ASan"; fi
chown root:root "$W/edisk"
"$BIN/edged" -c "$W/edged.yaml" -u steer >"$W/out" 2>&1; rc=$?; out=$(tr '\n' ' ' < "$W/out")
expect_match "edged: disk cache not writable by the user: refused at startup" "$rc $out" \
  "^1 .*cache\.disk\.dir .*edisk is not writable by uid $SUID"
out=$("$BIN/edged" -t -c "$W/edged.yaml" -u no-such-user-x 2>&1); rc=$?
expect_match "edged: unknown user refused" "$rc $out" "^1 .*no such user 'no-such-user-x'"
finish
