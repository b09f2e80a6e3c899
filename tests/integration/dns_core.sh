# steerd authoritative behaviour, checked three ways: the dns_probe scenario
# (responses parsed by ldns), and the real clients dig, kdig and drill.
. "$(dirname "$0")/../lib.sh"
PORT=15300
cp -r "$ROOT/tests/zones" "$TMP/zones"
check "steerd -t accepts the test config" "$BIN/steerd" -t -c "$TMP/zones/steerd.yaml"
start_bg "$TMP/steerd.log" "$BIN/steerd" -c "$TMP/zones/steerd.yaml"
STEERD=$LAST_PID
if ! wait_dns $PORT; then not_ok "steerd starts"; cat "$TMP/steerd.log"; finish; fi
ok "steerd starts and answers"

run_scenario "$ROOT/tests/scenarios/dns_core.scn" -p $PORT
"$TOOLS/dns_probe" -s ::1 -p $PORT "$ROOT/tests/scenarios/dns_core.scn" > "$TMP/v6.out" 2>&1
expect_match "the same scenario passes over IPv6" "$(tail -n 1 "$TMP/v6.out")" "probes, 0 failed"

out=$(dig +norec +noall +answer @127.0.0.1 -p $PORT www.example.test A | sort)
expect_eq "dig: A answer" "$out" "$(printf 'www.example.test.\t3600\tIN\tA\t192.0.2.10\nwww.example.test.\t3600\tIN\tA\t192.0.2.11')"
out=$(dig +norec @::1 -p $PORT +tcp nope.example.test)
expect_match "dig over TCP/IPv6: NXDOMAIN with aa" "$out" "status: NXDOMAIN"
expect_match "dig: aa flag set, no ra" "$out" "flags: qr aa;"
out=$(dig +norec @127.0.0.1 -p $PORT www.example.com)
expect_match "dig: REFUSED outside our zones" "$out" "status: REFUSED"
out=$(kdig @127.0.0.1 -p $PORT +subnet=203.0.113.0/24 www.example.test A)
expect_match "kdig: ECS echoed with scope 0" "$out" "CLIENT-SUBNET: 203.0.113.0/24/0"
out=$(kdig @127.0.0.1 -p $PORT +tcp +keepopen big.example.test TXT www.example.test A)
expect_match "kdig: two queries on one TCP connection" "$(echo "$out" | grep -c 'status: NOERROR')" "^2$"
out=$(kdig @127.0.0.1 -p $PORT +notcp +bufsize=512 big.example.test TXT +ignore)
expect_match "kdig: TC set when over the client's UDP size" "$out" "Flags: qr aa tc"
out=$(drill -p $PORT @127.0.0.1 foo.wild.example.test A)
expect_match "drill: wildcard answer" "$out" "foo.wild.example.test.	3600	IN	A	192.0.2.50"
out=$(drill -p $PORT @127.0.0.1 www.sub.example.test A)
expect_match "drill: referral carries glue" "$out" "ns.sub.example.test.	3600	IN	A	192.0.2.70"

# pipelined TCP: several queries written at once, all answered in order
out=$(python3 - "$PORT" <<'PY'
import socket, struct, sys
def q(i, name):
    n = b''.join(bytes([len(l)]) + l.encode() for l in name.split('.')) + b'\0'
    m = struct.pack('>HHHHHH', i, 0, 1, 0, 0, 0) + n + struct.pack('>HH', 1, 1)
    return struct.pack('>H', len(m)) + m
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=3)
s.sendall(b''.join(q(i, 'www.example.test') for i in range(1, 21)))
ids, buf = [], b''
while len(ids) < 20:
    d = s.recv(65536)
    if not d: break
    buf += d
    while len(buf) >= 2 and len(buf) >= 2 + struct.unpack('>H', buf[:2])[0]:
        l = struct.unpack('>H', buf[:2])[0]
        ids.append(struct.unpack('>H', buf[2:4])[0]); buf = buf[2 + l:]
print(' '.join(map(str, ids)))
PY
)
expect_eq "TCP pipelining: 20 queries answered in order" "$out" "$(seq -s ' ' 1 20)"

# idle TCP connections are closed (tcp_idle_timeout: 2s in the test config)
out=$(python3 - "$PORT" <<'PY'
import socket, sys, time
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=10)
t = time.time(); d = s.recv(10)
print('closed' if d == b'' and time.time() - t < 6 else 'open')
PY
)
expect_eq "idle TCP connection closed after the timeout" "$out" "closed"

# connection limit: 2 workers x 8 connections; the 30th gets closed at once
out=$(python3 - "$PORT" <<'PY'
import socket, sys
socks = [socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=3) for _ in range(30)]
closed = 0
for s in socks:
    s.settimeout(0.3)
    try:
        if s.recv(10) == b'': closed += 1
    except socket.timeout: pass
print('limited' if closed >= 14 else 'unlimited %d' % closed)
PY
)
expect_eq "TCP connection limit enforced" "$out" "limited"

# reload: a broken config is refused with file:line and the old data keeps serving
cp "$TMP/zones/example.test.zone" "$TMP/zones/example.test.zone.good"
sed -i 's/^www      IN A   192.0.2.10$/www      IN A   192.0.2.99/' "$TMP/zones/example.test.zone"
kill -HUP $STEERD
i=0; while [ $i -lt 50 ] && ! dig +short @127.0.0.1 -p $PORT www.example.test A | grep -q 192.0.2.99; do sleep 0.1; i=$((i+1)); done
expect_match "SIGHUP reload applies a changed zone" "$(dig +short @127.0.0.1 -p $PORT www.example.test A)" "192.0.2.99"
echo "bogus line here" >> "$TMP/zones/example.test.zone"
out=$("$BIN/steerd" -t -c "$TMP/zones/steerd.yaml" 2>&1)
expect_match "steerd -t reports file:line for a bad zone" "$out" "example.test.zone:[0-9]+: "
kill -HUP $STEERD
i=0; while [ $i -lt 50 ] && ! grep -q "reload failed" "$TMP/steerd.log"; do sleep 0.1; i=$((i+1)); done
expect_match "a failed reload is logged with file:line" "$(cat "$TMP/steerd.log")" "reload failed, keeping generation 2: .*example.test.zone:[0-9]+"
expect_match "a failed reload keeps the old snapshot serving" "$(dig +short @127.0.0.1 -p $PORT www.example.test A)" "192.0.2.99"

# queries keep flowing during reloads: nothing dropped
cp "$TMP/zones/example.test.zone.good" "$TMP/zones/example.test.zone"
( for i in $(seq 1 10); do kill -HUP $STEERD; sleep 0.05; done ) &
HUPPER=$!
out=$(python3 - "$PORT" <<'PY'
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(1)
n = b'\x03www\x07example\x04test\x00'
lost = 0
for i in range(2000):
    s.sendto(struct.pack('>HHHHHH', i, 0, 1, 0, 0, 0) + n + b'\x00\x01\x00\x01', ('127.0.0.1', int(sys.argv[1])))
    try:
        d = s.recv(1500)
        if struct.unpack('>H', d[:2])[0] != i or (d[3] & 0xf) != 0: lost += 1
    except socket.timeout: lost += 1
print(lost)
PY
)
wait $HUPPER
expect_eq "no query lost or failed while reloading 10 times" "$out" "0"

stop_pid $STEERD
expect_match "steerd exits cleanly on SIGTERM" "$(tail -n 2 "$TMP/steerd.log")" "stopping"
if grep -q "ERROR: AddressSanitizer\|runtime error" "$TMP/steerd.log"; then not_ok "no sanitizer reports"; grep -A20 "Sanitizer\|runtime error" "$TMP/steerd.log" | head -40; else ok "no sanitizer reports"; fi
finish
