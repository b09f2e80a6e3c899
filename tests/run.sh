#!/bin/sh
# Test runner: runs every unit test binary (cmocka, TAP output) and every
# integration script, counts TAP "ok"/"not ok" lines, and prints the final
# "N passed, N failed" line. Exits non-zero on any failure.
#   sh tests/run.sh [PATTERN]    only tests whose file name contains PATTERN
cd "$(dirname "$0")/.." || exit 2
BUILD=${BUILD:-build/asan}
export BUILD STEER_BIN="$BUILD/bin" STEER_TOOLS="$BUILD/tools" STEER_ROOT="$(pwd)"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:halt_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export CMOCKA_MESSAGE_OUTPUT=TAP
pattern="$1"
passed=0; failed=0; failed_names=""
logdir=build/test-logs; mkdir -p "$logdir"

run_one() { # name, command...
  name=$1; shift
  case "$name" in *"$pattern"*) ;; *) return ;; esac
  log="$logdir/$name.log"
  echo "== $name"
  timeout -k 10 600 "$@" >"$log" 2>&1
  rc=$?
  p=$(grep -c '^ok ' "$log"); f=$(grep -c '^not ok ' "$log")
  grep -E '^(not ok|ok|# )' "$log" | sed 's/^/   /'
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    f=1; echo "   not ok - $name exited with status $rc (log: $log)"; tail -n 20 "$log" | sed 's/^/   | /'
  elif [ "$f" -gt 0 ]; then
    echo "   (log: $log)"
  fi
  passed=$((passed + p)); failed=$((failed + f))
  [ "$f" -gt 0 ] && failed_names="$failed_names $name"
}

for t in "$BUILD"/tests/test_*; do
  [ -x "$t" ] || continue
  run_one "$(basename "$t")" "$t"
done
for t in tests/integration/*.sh; do
  [ -f "$t" ] || continue
  run_one "$(basename "$t" .sh)" bash "$t"
done

[ -n "$failed_names" ] && echo "failed:$failed_names"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
