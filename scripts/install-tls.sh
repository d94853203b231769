#!/usr/bin/env bash
# Installs what the tls/redirect integration tests need: nginx (the light
# build is enough: ssl, rewrite, auth_basic, proxy) and openssl for the
# test certificates.
set -euo pipefail
need=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
[ ${#need[@]} -eq 0 ] && exit 0
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
if ! apt-get install -y --no-install-recommends "${need[@]}"; then
	# newer Debian dropped nginx-light; the plain package has the same modules
	need=("${need[@]/nginx-light/nginx}")
	apt-get install -y --no-install-recommends "${need[@]}"
fi
