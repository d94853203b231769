#!/usr/bin/env bash
# Installs what the Kerberos-logon integration test (scripts/itest/
# gssapi_test.go) runs against besides the MIT KDC of install-spn.sh:
# Apache httpd with mod_auth_gssapi (MIT's GSS-API acceptor behind HTTP
# Negotiate) and faketime (libfaketime, to run Apache with a drifted
# clock), and python3-gssapi, through which scripts/servers/gss-peer.py
# seals and opens messages with MIT's own gss_wrap_iov as pyspnego does for
# WinRM. The test starts its own Apache on a loopback port; the package's
# own daemon is kept stopped.
set -euo pipefail
cd "$(dirname "$0")"
bash ./apt-install.sh apache2 libapache2-mod-auth-gssapi faketime python3-gssapi
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
	systemctl disable --now apache2 >/dev/null 2>&1 || true
fi
exit 0
