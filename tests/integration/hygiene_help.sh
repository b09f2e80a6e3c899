# --help, man pages and --version stay in step with the code (issue 8,
# daemon hygiene): every long option of each program's getopt table is in its
# --help; every option --help shows, and every steerctl command, is in the
# man page; every configuration key the parsers accept is in steerd.yaml(5)
# or edged(8); every program (and steerd's control API, and the man pages)
# reports the version of common/version.h.
. "$(dirname "$0")/../lib.sh"
CTL=16240; DNS=16241
VERSION=$(sed -n 's/^#define STEER_VERSION "\(.*\)"/\1/p' "$ROOT/common/version.h")
expect_match "common/version.h defines the version" "$VERSION" '^[0-9]+\.[0-9]+\.[0-9]+'
# man source -> plain words (\- is a hyphen, \fB...\fR are fonts)
mantext() { sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\(em/ /g' "$1"; }
# long options of a getopt_long table
long_opts() { grep -oE '\{ *"[a-z][a-z-]*", *(no|required|optional)_argument' "$1" | sed -E 's/\{ *"([^"]*)".*/\1/' | sort -u; }

for p in steerd:steerd/main_steerd.c:man/steerd.8 edged:edge/main_edged.c:man/edged.8 steerctl:control/main_steerctl.c:man/steerctl.1 \
         origind:edge/main_origind.c:man/origind.8; do
  prog=${p%%:*}; rest=${p#*:}; src=${rest%%:*}; man=${rest#*:}
  help=$("$BIN/$prog" --help 2>&1); rc=$?
  expect_eq "$prog --help exits 0" "$rc" 0
  opts=$(long_opts "$ROOT/$src")
  [ -n "$opts" ] && ok "$prog: $(echo "$opts" | wc -l) long options in its getopt table" || not_ok "$prog: no getopt table found in $src"
  missing=""; for o in $opts; do printf '%s\n' "$help" | grep -qE -- "--$o([^a-z-]|$)" || missing="$missing --$o"; done
  expect_eq "$prog --help shows every long option of the getopt table" "$missing" ""
  shown=$(printf '%s\n' "$help" | grep -oE -- '(^|[ ,[])--?[a-zA-Z][a-z-]*' | sed -E 's/^[ ,[]//' | sort -u)
  missing=""; for o in $shown; do mantext "$ROOT/$man" | grep -qE -- "(^|[^a-zA-Z-])$o([^a-z-]|$)" || missing="$missing $o"; done
  expect_eq "$man documents every option $prog --help shows ($(echo $shown | wc -w))" "$missing" ""
  expect_eq "$prog --version" "$("$BIN/$prog" --version 2>&1)" "$prog $VERSION"
  expect_eq "$prog -V" "$("$BIN/$prog" -V 2>&1)" "$prog $VERSION"
  "$BIN/$prog" --no-such-option >/dev/null 2>"$TMP/err"; rc=$?
  expect_match "$prog: unknown option -> usage on stderr, exit 2" "$rc $(tr '\n' ' ' < "$TMP/err")" '^2 .*usage: '"$prog"
done

# origind: numbers are range-checked (no atoi), extra arguments refused
for bad in "-m 1x" "-m -1" "-m 31536001" "-D 600001" "-D ''" "-l 127.0.0.1:0x1" "stray"; do
  eval "timeout 5 \"\$BIN/origind\" -l 127.0.0.1:16302 $bad" >/dev/null 2>"$TMP/err"; rc=$?
  expect_match "origind $bad -> exit 2 with a message" "$rc $(head -1 "$TMP/err")" '^2 origind: |^2 usage: origind'
done

# steerctl: every command it dispatches is in --help and in steerctl(1)
cmds=$(grep -oE 'strcmp\(cmd, "[a-z-]+"\)' "$ROOT/control/main_steerctl.c" | sed -E 's/.*"([^"]*)".*/\1/' | sort -u)
help=$("$BIN/steerctl" --help)
missing=""; for c in $cmds; do printf '%s\n' "$help" | grep -qE "(^|[ |])$c([ |]|$)" || missing="$missing $c"; done
expect_eq "steerctl --help lists all $(echo $cmds | wc -w) commands" "$missing" ""
missing=""; for c in $cmds; do mantext "$ROOT/man/steerctl.1" | grep -qE "(^|[ |])$c([ |]|$)" || missing="$missing $c"; done
expect_eq "steerctl(1) documents all commands" "$missing" ""
for code in 0 1 2 3; do
  printf '%s\n' "$help" | grep -qE "(exit:| |,)$code " || missing="$missing $code"
  mantext "$ROOT/man/steerctl.1" | grep -qxE "\.B $code" || missing="$missing man:$code"
done
expect_eq "exit codes 0-3 in steerctl --help and steerctl(1)" "$missing" ""

# configuration keys: the parsers' key tables vs the man pages
cat > "$TMP/keys.py" <<'PY'
import re, sys
# string arrays ending in NULL: `static const char *const NAME[] = { "a", "b", NULL };`
pat = re.compile(r'static const char \*const (\w+)\[\] = \{([^}]*)\}', re.S)
keys = set()
for path in sys.argv[2:]:
    src = open(path).read()
    for name, body in pat.findall(src):
        if sys.argv[1] == 'steerd' and not ('keys' in name or name.endswith('_only')):
            continue   # geo.c also has MaxMind paths and continent codes
        keys.update(re.findall(r'"([a-z0-9_]+)"', body))
print('\n'.join(sorted(keys)))
PY
sk=$(cd "$ROOT" && python3 "$TMP/keys.py" steerd steerd/config.c control/config.c health/config.c rum/config.c steering/policy.c geo/geo.c)
[ "$(echo "$sk" | wc -l)" -gt 60 ] && ok "steerd config keys found in the parsers ($(echo "$sk" | wc -l))" || not_ok "steerd config keys: only $(echo "$sk" | wc -l)"
missing=""; for k in $sk; do mantext "$ROOT/man/steerd.yaml.5" | grep -qw -- "$k" || missing="$missing $k"; done
expect_eq "steerd.yaml(5) documents every key the parsers accept" "$missing" ""
ek=$(cd "$ROOT" && python3 "$TMP/keys.py" edged edge/config.c)
[ "$(echo "$ek" | wc -l)" -gt 30 ] && ok "edged config keys found in the parser ($(echo "$ek" | wc -l))" || not_ok "edged config keys: only $(echo "$ek" | wc -l)"
missing=""; for k in $ek; do mantext "$ROOT/man/edged.8" | grep -qw -- "$k" || missing="$missing $k"; done
expect_eq "edged(8) documents every key the parser accepts" "$missing" ""

# process keys: log target, log level, user; bad values are file:line errors
EH=16242
cat > "$TMP/edged.yaml" <<YAML
tier: t
listen: {http: ["127.0.0.1:$EH"]}
log: syslog
log_level: warn
user: ""
sites: [{name: s, hosts: ["*"], origin: "127.0.0.1:9"}]
YAML
expect_match "edged accepts log: syslog, log_level, empty user" "$("$BIN/edged" -t -c "$TMP/edged.yaml" 2>&1)" 'configuration ok'
for bad in 'log: journal|log must be stderr or syslog' 'log_level: loud|log_level must be err, warn, info or debug' \
           'user: "no body"|user: .no body. is not a user name'; do
  sed "s/^${bad%%:*}:.*/${bad%%|*}/" "$TMP/edged.yaml" > "$TMP/bad.yaml"
  out=$("$BIN/edged" -t -c "$TMP/bad.yaml" 2>&1); rc=$?
  expect_match "edged refuses ${bad%%|*} with file:line" "$rc $out" "^1 .*bad\.yaml:[0-9]+: .*${bad#*|}"
done
sed -i 's/^user: ""//' "$TMP/edged.yaml"
start_bg "$TMP/edged.log" "$BIN/edged" -c "$TMP/edged.yaml"; EDGED=$LAST_PID
wait_tcp $EH && ok "edged with log: syslog runs" || not_ok "edged with log: syslog runs"
stop_pid $EDGED
expect_eq "log: syslog: nothing logged to stderr" "$(grep -c 'ready\|shutting down' "$TMP/edged.log")" 0
cat > "$TMP/bad.yaml" <<YAML
server: {listen: ["127.0.0.1:$DNS"], user: "root;rm"}
zones: [{name: cdn.example.test, file: cdn.example.test.zone}]
YAML
cp "$ROOT/examples/cdn.example.test.zone" "$TMP/"
out=$("$BIN/steerd" -t -c "$TMP/bad.yaml" 2>&1); rc=$?
expect_match "steerd refuses a malformed server.user with file:line" "$rc $out" "^1 .*bad\.yaml:1: user: 'root;rm' is not a user name"
sed -i 's/user: "root;rm"/log: journal/' "$TMP/bad.yaml"
out=$("$BIN/steerd" -t -c "$TMP/bad.yaml" 2>&1); rc=$?
expect_match "steerd refuses server.log: journal with file:line" "$rc $out" "^1 .*bad\.yaml:1: log must be stderr or syslog"

# the version everywhere: man pages and steerd's control API
bad=""; for m in "$ROOT"/man/*.[158]; do grep -q "^\.TH .* \"steer $VERSION\"" "$m" || bad="$bad $(basename "$m")"; done
expect_eq "every man page carries steer $VERSION" "$bad" ""
printf 'help-token-0123456789abcdef\n' > "$TMP/token"
cat > "$TMP/steerd.yaml" <<YAML
server: {listen: ["127.0.0.1:$DNS"], workers: 1}
zones: [{name: cdn.example.test, file: cdn.example.test.zone}]
control: {listen: "127.0.0.1:$CTL", token_file: token}
YAML
start_bg "$TMP/steerd.log" "$BIN/steerd" -c "$TMP/steerd.yaml"; STEERD=$LAST_PID
if wait_tcp $CTL; then
  "$BIN/steerctl" -s 127.0.0.1:$CTL --json status >"$TMP/status" 2>&1
  v=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])' < "$TMP/status" 2>/dev/null)
  expect_eq "steerd's /v1/status reports the same version" "$v" "$VERSION"
  [ "$v" = "$VERSION" ] || sed 's/^/#   /' "$TMP/status"
else
  not_ok "steerd starts"; cat "$TMP/steerd.log"
fi
stop_pid $STEERD
finish
