#!/usr/bin/env bash
# nginx (the light build is enough: ssl, rewrite, auth_basic, proxy with
# proxy_ssl_verify) and openssl, for the tls/redirect and auth integration
# tests (scripts/itest/tls_test.go, auth_test.go).
set -euo pipefail
here=$(dirname "$0")
bash "$here/apt-install.sh" openssl
if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then
	exit 0
fi
# Debian 13 dropped nginx-light; the plain package has the same modules.
bash "$here/apt-install.sh" nginx-light 2>/dev/null || bash "$here/apt-install.sh" nginx
