#!/usr/bin/env bash
# Installs BIND 9 (named) and dig for the DNS integration tests. Does
# nothing when they are present already; needs root otherwise.
set -euo pipefail

have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/usr/bin/$1" ]; }

if have named && have dig; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "install-dns: bind9 is missing and this is not root; run: sudo apt-get install -y bind9 bind9-dnsutils" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends bind9 bind9-dnsutils
