# steerd -t: every bad configuration is refused with file:line and a clear
# message; a good one passes. (Reload behaviour is in dns_core.sh.)
. "$(dirname "$0")/../lib.sh"
cp "$ROOT/examples/cdn.example.test.zone" "$TMP/z.zone"
# bad NAME LINE REGEX  (config text on stdin)
bad() {
  cat > "$TMP/c.yaml"
  out=$("$BIN/steerd" -t -c "$TMP/c.yaml" 2>&1); rc=$?
  if [ $rc -ne 0 ] && printf '%s' "$out" | grep -Eq -- "c\.yaml:$2: .*$3"; then ok "$1"; else
    not_ok "$1 (rc $rc)"; echo "#   got: $out"; echo "#   want: c.yaml:$2: /$3/"; fi
}
Z='zones: [{name: cdn.example.test, file: z.zone}]'
bad "unknown top-level key" 2 "unknown key 'zonez'" <<Y
server: {}
zonez: []
Y
bad "unknown server key" 2 "unknown key 'listn'" <<Y
server:
  listn: ["127.0.0.1:53"]
$Z
Y
bad "bad listen address" 2 "bad listen address '127.0.0.1:99999'" <<Y
server:
  listen: ["127.0.0.1:99999"]
$Z
Y
bad "workers out of range" 2 "'workers' must be an integer from 0 to 64" <<Y
server:
  workers: 1000
$Z
Y
bad "udp_max_payload below 512" 2 "udp_max_payload" <<Y
server:
  udp_max_payload: 100
$Z
Y
bad "bad duration" 2 "tcp_idle_timeout" <<Y
server:
  tcp_idle_timeout: soon
$Z
Y
bad "zone without file" 3 "missing required key 'file'" <<Y
server: {}
zones:
  - name: cdn.example.test
Y
bad "missing zone file" 3 "cannot open zone file" <<Y
server: {}
zones:
  - {name: cdn.example.test, file: nope.zone}
Y
bad "YAML syntax error" 3 "" <<Y
server: {
zones: [
Y
bad "unknown provider in a pool" 9 "unknown provider|not a provider|no provider" <<Y
$Z
providers:
  a: {type: pop, ipv4: [192.0.2.1]}
steering:
  - name: www.cdn.example.test
    rules: [{match: default, pools: [p]}]
    pools:
      p:
        members: {b: 1}
Y
bad "steered name outside every zone" "[0-9]*" "not inside any configured zone" <<Y
$Z
providers:
  a: {type: pop, ipv4: [192.0.2.1]}
steering:
  - name: www.example.org
    rules: [{match: default, pools: [p]}]
    pools: {p: {policy: failover, members: [a]}}
Y
bad "unknown health check on a provider" "[0-9]*" "unknown check" <<Y
$Z
providers:
  a: {type: pop, ipv4: [192.0.2.1], checks: [nope]}
steering:
  - name: www.cdn.example.test
    rules: [{match: default, pools: [p]}]
    pools: {p: {policy: failover, members: [a]}}
Y
printf 'server: {log_level: "\xff"}\n' > "$TMP/c.yaml"
out=$("$BIN/steerd" -t -c "$TMP/c.yaml" 2>&1)
expect_match "invalid UTF-8 refused before parsing" "$out" "c\.yaml:1: NUL byte or invalid UTF-8"
echo "bogus" >> "$TMP/z.zone"
printf '%s\n' "$Z" > "$TMP/c.yaml"
out=$("$BIN/steerd" -t -c "$TMP/c.yaml" 2>&1)
expect_match "bad zone file: its own file:line" "$out" "z\.zone:[0-9]+: "
check "the demo config passes" "$BIN/steerd" -t -c "$ROOT/examples/steerd.yaml"
finish
