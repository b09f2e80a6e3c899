# Shared helpers for integration tests (sourced by tests/integration/*.sh).
# Each test prints TAP lines ("ok - name" / "not ok - name"); every process a
# test starts is registered with start_bg and killed by PID on exit.
set -u
ROOT=${STEER_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${STEER_BIN:-$ROOT/build/asan/bin}
TOOLS=${STEER_TOOLS:-$ROOT/build/asan/tools}
case "$BIN" in /*) ;; *) BIN="$ROOT/$BIN" ;; esac
case "$TOOLS" in /*) ;; *) TOOLS="$ROOT/$TOOLS" ;; esac
TMP=$(mktemp -d "${TMPDIR:-/tmp}/steer-test.XXXXXX")
PIDS=""
T_FAILED=0
MAIN_PID=$BASHPID

cleanup() {
  [ "$BASHPID" = "$MAIN_PID" ] || return 0   # not from subshells
  for p in $PIDS; do kill "$p" 2>/dev/null; done
  for p in $PIDS; do
    i=0; while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
    kill -9 "$p" 2>/dev/null
  done
  if [ "${KEEP_TMP:-0}" = 1 ]; then echo "# kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT INT TERM

ok()     { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; T_FAILED=$((T_FAILED+1)); }
# check NAME CMD...: ok if CMD exits 0
check()  { n=$1; shift; if "$@" >"$TMP/check.out" 2>&1; then ok "$n"; else not_ok "$n"; sed 's/^/#   /' "$TMP/check.out" | head -n 30; fi; }
# expect_eq NAME GOT WANT
expect_eq() { if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1"; echo "#   got:  '$2'"; echo "#   want: '$3'"; fi; }
# expect_match NAME TEXT REGEX (grep -E)
expect_match() { if printf '%s\n' "$2" | grep -Eq -- "$3"; then ok "$1"; else not_ok "$1"; printf '%s\n' "$2" | sed 's/^/#   /' | head -n 30; echo "#   wanted /$3/"; fi; }

# start_bg LOGFILE CMD... : start a process in the background, remember PID
start_bg() { log=$1; shift; "$@" >"$log" 2>&1 & LAST_PID=$!; PIDS="$PIDS $LAST_PID"; }
stop_pid() { kill "$1" 2>/dev/null; i=0; while kill -0 "$1" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done; }

# wait_udp53 PORT: wait until a DNS server answers on 127.0.0.1:PORT
wait_dns() {
  i=0
  while [ $i -lt 100 ]; do
    dig +time=1 +tries=1 @127.0.0.1 -p "$1" . SOA >/dev/null 2>&1 && return 0
    sleep 0.1; i=$((i+1))
  done
  return 1
}
# wait_tcp PORT: wait until something listens on 127.0.0.1:PORT
wait_tcp() {
  i=0
  while [ $i -lt 100 ]; do
    (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
    sleep 0.1; i=$((i+1))
  done
  return 1
}
# run_scenario FILE PROBE-ARGS...: runs a dns_probe scenario, passing its TAP lines through
run_scenario() {
  f=$1; shift
  "$TOOLS/dns_probe" "$@" "$f" >"$TMP/scenario.out" 2>&1
  rc=$?
  cat "$TMP/scenario.out"
  if [ $rc -ne 0 ] && ! grep -q '^not ok' "$TMP/scenario.out"; then not_ok "scenario $(basename "$f") ran (exit $rc)"; fi
  T_FAILED=$((T_FAILED + $(grep -c '^not ok' "$TMP/scenario.out")))
}
finish() { exit $((T_FAILED > 0)); }
