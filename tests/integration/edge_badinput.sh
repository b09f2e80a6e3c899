#!/bin/bash
# edged against malformed and hostile requests, over raw TCP: 400 for bad
# request lines/headers, obs-fold and bare LF, 431 for oversize heads, 505,
# 501, request smuggling (CL+TE, differing CLs, bad chunk sizes) rejected,
# 413 for big bodies, 408 for slow heads; the daemon keeps serving.
. "$(dirname "$0")/../lib.sh"
OP=18120; EP=18121
cat > "$TMP/edged.yaml" <<YAML
tier: bad-test
listen: { http: ["127.0.0.1:$EP"] }
limits: { max_header_bytes: 8k, max_headers: 50, max_request_body: 1k }
timeouts: { client_header: 1s }
sites:
  - { name: t, hosts: ["*"], origin: "127.0.0.1:$OP" }
YAML
start_bg "$TMP/origin.log" "$BIN/origind" -l 127.0.0.1:$OP
start_bg "$TMP/edged.log" "$BIN/edged" -c "$TMP/edged.yaml"; EPID=$LAST_PID
wait_tcp $OP && wait_tcp $EP || { not_ok "servers start"; cat "$TMP"/*.log; finish; }

# raw REQUEST: sends bytes (printf format), prints the status line
raw() {
  printf "$1" > "$TMP/req"
  timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$EP; cat '$TMP/req' >&3; timeout 3 cat <&3" 2>/dev/null | tr -d '\r' > "$TMP/resp"
  head -n 1 "$TMP/resp" | cut -d' ' -f2
}
status_of() { expect_eq "$1" "$(raw "$2")" "$3"; }

status_of "valid request works" 'GET /gen/ok?cc=max-age=60 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n' 200
status_of "missing Host in HTTP/1.1 -> 400" 'GET / HTTP/1.1\r\n\r\n' 400
status_of "two Host headers -> 400" 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n' 400
status_of "space in header name -> 400" 'GET / HTTP/1.1\r\nHost: a\r\nBad Header: x\r\n\r\n' 400
status_of "space before colon -> 400" 'GET / HTTP/1.1\r\nHost : a\r\n\r\n' 400
status_of "obs-fold -> 400" 'GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n' 400
status_of "bare LF line ending -> 400" 'GET / HTTP/1.1\nHost: a\n\n' 400
status_of "bare CR -> 400" 'GET / HTTP/1.1\r\nHost: a\rX: y\r\n\r\n' 400
status_of "control character in value -> 400" 'GET / HTTP/1.1\r\nHost: a\r\nX: a\001b\r\n\r\n' 400
status_of "garbage request line -> 400" '\001\002\003 / HTTP/1.1\r\n\r\n' 400
status_of "missing version -> 400" 'GET /\r\nHost: a\r\n\r\n' 400
status_of "HTTP/2.0 -> 505" 'GET / HTTP/2.0\r\nHost: a\r\n\r\n' 505
status_of "space in target -> 400" 'GET /a b HTTP/1.1\r\nHost: a\r\n\r\n' 400
status_of "bad Host characters -> 400" 'GET / HTTP/1.1\r\nHost: a/b\r\n\r\n' 400
status_of "smuggling: Content-Length + Transfer-Encoding -> 400" \
  'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' 400
status_of "smuggling: differing Content-Lengths -> 400" \
  'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde' 400
status_of "smuggling: Content-Length list with different values -> 400" \
  'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4, 5\r\n\r\nabcde' 400
status_of "negative Content-Length -> 400" 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n' 400
status_of "Content-Length with sign -> 400" 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +4\r\n\r\nabcd' 400
status_of "chunked twice -> 400" 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n' 400
status_of "unknown transfer coding -> 501" 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n' 501
status_of "Transfer-Encoding in HTTP/1.0 -> 400" 'POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' 400
status_of "bad chunk size -> 400" 'POST /__echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n' 400
status_of "chunk size overflow -> 400" 'POST /__echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n' 400
status_of "chunked body accepted" 'POST /__echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n' 200
status_of "body over max_request_body -> 413" 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n' 413
big=$(head -c 9000 /dev/zero | tr '\0' a)
status_of "oversize header -> 431" "GET / HTTP/1.1\r\nHost: a\r\nX-Big: $big\r\n\r\n" 431
many=$(for i in $(seq 60); do printf 'X-H%d: v\\r\\n' $i; done)
status_of "too many headers -> 431" "GET / HTTP/1.1\r\nHost: a\r\n$many\r\n" 431
status_of "absolute-form target accepted" 'GET http://example.test/gen/abs?cc=max-age=60 HTTP/1.1\r\nHost: other\r\nConnection: close\r\n\r\n' 200
status_of "unknown method is passed upstream" 'BREW /gen/m HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n' 200

status_of "own tier in Via -> 508 (forwarding loop)" 'GET /gen/loop HTTP/1.1\r\nHost: a\r\nVia: 1.0 x, 1.1 bad-test (edged)\r\nConnection: close\r\n\r\n' 508
status_of "other tiers in Via are fine" 'GET /gen/loop HTTP/1.1\r\nHost: a\r\nVia: 1.1 bad-test2, 1.1 shield\r\nConnection: close\r\n\r\n' 200

# the connection is closed after a 400 (no request is read past bad framing)
raw 'GET / HTTP/1.1\r\n\r\nGET /gen/after HTTP/1.1\r\nHost: a\r\n\r\n' >/dev/null
expect_eq "nothing is processed after a framing error" "$(grep -c '^HTTP/1.1' "$TMP/resp")" "1"

# slow head (slowloris): 408 within client_header
t0=$(date +%s%N)
r=$(timeout 6 bash -c "exec 3<>/dev/tcp/127.0.0.1/$EP; printf 'GET / HTTP/1.1\r\nHost: a\r\n' >&3; sleep 0.5; printf 'X-Slow: 1\r\n' >&3; timeout 4 cat <&3" 2>/dev/null | tr -d '\r' | head -1)
t1=$(date +%s%N)
expect_eq "slow request head -> 408" "$(echo "$r" | cut -d' ' -f2)" "408"
ms=$(( (t1 - t0) / 1000000 ))
if [ $ms -lt 3500 ]; then ok "408 sent within the header timeout (${ms}ms)"; else not_ok "408 took ${ms}ms"; fi
# idle connection without any byte is closed after client_idle, not 408 (checked elsewhere)

expect_eq "edged still serves after all that" "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$EP/gen/ok?cc=max-age=60")" "200"
stop_pid $EPID
if grep -q "Sanitizer" "$TMP"/*.log; then not_ok "sanitizer report"; grep -h -A20 Sanitizer "$TMP"/*.log | head -40; else ok "no sanitizer report"; fi
finish
