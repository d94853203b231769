#!/usr/bin/env bash
# Installs the Debian packages given as arguments when any is missing.
# Runs `apt-get update` at most once per boot (marker in /tmp), so several
# install-*.sh scripts in a row stay fast.
set -euo pipefail
missing=()
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "scripts/apt-install.sh: missing ${missing[*]}; run as root to install them" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
marker=/tmp/.exdiag-apt-updated
if [ ! -f "$marker" ]; then
  apt-get -o DPkg::Lock::Timeout=900 update -qq
  touch "$marker"
fi
# policy-rc.d keeps packages such as slapd from starting system daemons:
# the tests start their own servers on unprivileged ports.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "installed: ${missing[*]}" >&2
