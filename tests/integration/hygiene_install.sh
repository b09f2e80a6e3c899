# make install / make uninstall (issue 8, daemon hygiene): every file lands
# where expected under DESTDIR and PREFIX, installed binaries run, man pages
# render, systemd units carry the install paths and pass systemd-analyze
# verify (when available), example configs pass -t and are never
# overwritten, and uninstall removes what install put there (a modified
# config stays).
. "$(dirname "$0")/../lib.sh"
R="$TMP/root"
VERSION=$(sed -n 's/^#define STEER_VERSION "\(.*\)"/\1/p' "$ROOT/common/version.h")
inst() { make -s -C "$ROOT" "$@" >"$TMP/make.out" 2>&1; }

if inst install DESTDIR="$R" PREFIX=/usr; then ok "make install DESTDIR PREFIX=/usr"; else not_ok "make install"; cat "$TMP/make.out"; finish; fi
FILES="usr/sbin/steerd usr/sbin/edged usr/sbin/origind usr/bin/steerctl
usr/share/man/man8/steerd.8 usr/share/man/man8/edged.8 usr/share/man/man8/origind.8
usr/share/man/man1/steerctl.1 usr/share/man/man5/steerd.yaml.5
usr/lib/systemd/system/steerd.service usr/lib/systemd/system/edged.service
usr/lib/sysusers.d/steer.conf etc/steer/steerd.yaml etc/steer/edged.yaml etc/steer/example.test.zone"
missing=""; for f in $FILES; do [ -f "$R/$f" ] || missing="$missing $f"; done
expect_eq "every file installed" "$missing" ""
expect_eq "nothing else installed" "$(cd "$R" && find . -type f | sed 's|^\./||' | sort | tr '\n' ' ')" "$(printf '%s\n' $FILES | sort | tr '\n' ' ')"
expect_eq "modes: programs 0755, the rest 0644" \
  "$(cd "$R" && stat -c '%a %n' usr/sbin/steerd usr/bin/steerctl usr/share/man/man8/steerd.8 usr/lib/systemd/system/steerd.service etc/steer/steerd.yaml | tr '\n' ' ')" \
  "755 usr/sbin/steerd 755 usr/bin/steerctl 644 usr/share/man/man8/steerd.8 644 usr/lib/systemd/system/steerd.service 644 etc/steer/steerd.yaml "

# binaries: --version from common/version.h
for b in usr/sbin/steerd usr/sbin/edged usr/sbin/origind usr/bin/steerctl; do
  expect_eq "$(basename $b) --version" "$("$R/$b" --version 2>&1)" "$(basename $b) $VERSION"
done
"$R/usr/sbin/origind" --no-such-option >/dev/null 2>"$TMP/o.err"; rc=$?
expect_match "origind refuses an unknown option (usage, exit 2)" "$rc $(tr "\n" " " < "$TMP/o.err")" "^2 .*usage: origind"
# the installed example configs are valid
expect_match "installed steerd.yaml passes steerd -t" "$("$R/usr/sbin/steerd" -t -c "$R/etc/steer/steerd.yaml" 2>&1)" 'configuration OK'
expect_match "installed edged.yaml passes edged -t" "$("$R/usr/sbin/edged" -t -c "$R/etc/steer/edged.yaml" 2>&1)" 'configuration ok'

# man pages render without errors, and man finds them through MANPATH
for m in man8/steerd.8 man8/edged.8 man8/origind.8 man1/steerctl.1 man5/steerd.yaml.5; do
  f="$R/usr/share/man/$m"
  out=$(groff -man -Tutf8 -P-cbou -ww "$f" 2>"$TMP/groff.err"); rc=$?
  errs=$(grep -v 'cannot adjust line' "$TMP/groff.err")
  if [ $rc -eq 0 ] && [ -z "$errs" ] && printf '%s' "$out" | grep -q '^NAME'; then ok "$(basename $f) renders (groff -man)"; else not_ok "$(basename $f) renders"; echo "$errs" | head -5 | sed 's/^/#   /'; fi
done
expect_match "man -l renders steerd(8)" "$(MANWIDTH=80 man -l "$R/usr/share/man/man8/steerd.8" 2>/dev/null | head -5)" 'steerd - multi-CDN traffic steering DNS authority'
expect_eq "man finds steerd.yaml(5) in the installed tree" "$(MANPATH="$R/usr/share/man" man -w 5 steerd.yaml 2>/dev/null)" "$R/usr/share/man/man5/steerd.yaml.5"

# systemd units: install paths substituted, no placeholders left
U="$R/usr/lib/systemd/system"
expect_eq "steerd.service runs /usr/sbin/steerd with /etc/steer/steerd.yaml" "$(grep '^ExecStart=' "$U/steerd.service")" "ExecStart=/usr/sbin/steerd -c /etc/steer/steerd.yaml"
expect_eq "edged.service runs /usr/sbin/edged with /etc/steer/edged.yaml" "$(grep '^ExecStart=' "$U/edged.service")" "ExecStart=/usr/sbin/edged -c /etc/steer/edged.yaml"
expect_eq "no @PLACEHOLDER@ left in the units" "$(grep -c '@[A-Z]*@' "$U/steerd.service" "$U/edged.service" | tr '\n' ' ')" "$U/steerd.service:0 $U/edged.service:0 "
for u in steerd edged; do
  for k in 'Type=simple' 'User=steer' 'ExecReload=/bin/kill -HUP $MAINPID' 'Restart=on-failure' 'NoNewPrivileges=yes' \
           'ProtectSystem=strict' 'PrivateTmp=yes' 'ProtectHome=yes' 'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' \
           'AmbientCapabilities=CAP_NET_BIND_SERVICE' 'CapabilityBoundingSet=CAP_NET_BIND_SERVICE' 'LimitNOFILE=65536'; do
    grep -qxF "$k" "$U/$u.service" || missing="$missing $u:$k"
  done
done
grep -qx 'StateDirectory=steer' "$U/steerd.service" || missing="$missing steerd:StateDirectory"
grep -qx 'ReadWritePaths=/var/lib/steer' "$U/steerd.service" || missing="$missing steerd:ReadWritePaths"
expect_eq "units have the hardening and reload settings" "$missing" ""
if command -v systemd-analyze >/dev/null 2>&1; then
  # an offline root: the host's target units and /bin/kill next to ours
  mkdir -p "$TMP/sa/lib/systemd" "$TMP/sa/bin" "$TMP/sa/usr"
  cp -r /lib/systemd/system "$TMP/sa/lib/systemd/"; cp /bin/kill "$TMP/sa/bin/"; cp -r "$R/usr/." "$TMP/sa/usr/"
  out=$(cd "$TMP/sa" && MANPATH="$TMP/sa/usr/share/man" systemd-analyze verify --root="$TMP/sa" usr/lib/systemd/system/steerd.service usr/lib/systemd/system/edged.service 2>&1); rc=$?
  expect_eq "systemd-analyze verify: both units clean" "$rc $out" "0 "
else
  echo "ok - # SKIP systemd-analyze not installed"
fi
expect_eq "sysusers.d entry creates the steer user" "$(grep -v '^#' "$R/usr/lib/sysusers.d/steer.conf" | awk '{print $1, $2}')" "u steer"

# a second install keeps an operator's config
echo "# edited by the operator" >> "$R/etc/steer/steerd.yaml"
inst install DESTDIR="$R" PREFIX=/usr
expect_match "re-install keeps an existing config" "$(cat "$TMP/make.out")" 'keeping existing .*/etc/steer/steerd\.yaml'
expect_match "the edit is still there" "$(tail -1 "$R/etc/steer/steerd.yaml")" 'edited by the operator'

# uninstall: everything but the modified config goes
inst uninstall DESTDIR="$R" PREFIX=/usr
expect_match "uninstall reports the modified config it keeps" "$(cat "$TMP/make.out")" 'keeping modified .*/etc/steer/steerd\.yaml'
expect_eq "make uninstall removed everything else" "$(cd "$R" && find . -type f | sed 's|^\./||' | sort | tr '\n' ' ')" "etc/steer/steerd.yaml "
rm "$R/etc/steer/steerd.yaml"
inst uninstall DESTDIR="$R" PREFIX=/usr
expect_eq "uninstall with nothing left: no files, etc/steer removed" "$(cd "$R" && find . -type f | wc -l) $([ -d "$R/etc/steer" ] && echo kept || echo gone)" "0 gone"

# PREFIX=/usr/local: units point at /usr/local/sbin
R2="$TMP/root2"
inst install DESTDIR="$R2"
expect_eq "default PREFIX=/usr/local: daemons in /usr/local/sbin, units point there" \
  "$([ -x "$R2/usr/local/sbin/steerd" ] && echo sbin) $(grep '^ExecStart=' "$R2/usr/local/lib/systemd/system/steerd.service")" \
  "sbin ExecStart=/usr/local/sbin/steerd -c /etc/steer/steerd.yaml"
inst uninstall DESTDIR="$R2"
expect_eq "uninstall of the /usr/local tree" "$(find "$R2" -type f | wc -l)" 0
finish
