#!/bin/sh
# Installs the Debian packages steer needs to build, test, benchmark and run
# the demo. Only missing packages are installed; needs root for apt-get.
set -e
PKGS="build-essential pkg-config clang libclang-rt-14-dev
libldns-dev libc-ares-dev libmaxminddb-dev libevent-dev libssl-dev
libfyaml-dev libjansson-dev liburcu-dev libcmocka-dev
libmaxmind-db-writer-perl mmdb-bin
knot-dnsutils ldnsutils dnsutils curl openssl procps iproute2 python3
dnsperf gdnsd wrk nginx-light
chromium
python3-prometheus-client
xxd
groff-base man-db"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing:$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# policy-rc.d keeps Debian from starting the gdnsd/nginx services we only
# use as benchmark anchors on their own ports.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get install -y -qq --no-install-recommends $missing
