#!/usr/bin/env bash
# Runs Apache httpd in the foreground as an NTLM-authenticating web
# server, for the NTLM integration test (scripts/itest/ntlm_test.go):
#
#   apache-ntlm.sh DIR PORT
#
# DIR holds `users`, one DOMAIN:USER:PASSWORD line per account (the
# Heimdal NTLM file format gss-ntlmssp reads through NTLM_USER_FILE).
# http://127.0.0.1:PORT/PowerShell/ answers 200 "ok" to a logon that
# mod_auth_gssapi, with gss-ntlmssp as its only mechanism, accepts, and
# 401 with "WWW-Authenticate: Negotiate" and "NTLM" otherwise. The
# context is bound to the connection (GssapiConnectionBound), as NTLM
# needs. Server names in the CHALLENGE: domain CONTOSO, computer MAIL.
# Our own configuration (apache2 -f, its head apache-common.sh's); the
# system's /etc/apache2 is not read. Started as root, Apache runs as
# nobody from the start.
set -euo pipefail

if [ $# -ne 2 ] || [ ! -f "$1/users" ]; then
	echo "usage: apache-ntlm.sh DIR PORT (with DIR/users)" >&2
	exit 2
fi
src=$(cd "$1" && pwd)
port=$2
apache=$(command -v apache2 || echo /usr/sbin/apache2)
modules=/usr/lib/apache2/modules
if [ ! -x "$apache" ] || [ ! -f "$modules/mod_auth_gssapi.so" ] || [ ! -f /etc/gss/mech.d/mech.ntlmssp.conf ]; then
	echo "apache-ntlm.sh: apache2 with mod_auth_gssapi and gss-ntlmssp is not installed; run scripts/install-ntlm.sh" >&2
	exit 1
fi

run=$(mktemp -d /tmp/exdiag-apache-ntlm-XXXXXX)
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$run"' EXIT INT TERM
mkdir -p "$run/www/PowerShell"
echo ok > "$run/www/PowerShell/index.html"
cp "$src/users" "$run/users"
chmod 600 "$run/users"

. "$(dirname "$0")/apache-common.sh"
{
	apache_head "$run" authn_core authz_user auth_gssapi dir
	cat <<CONF
Listen 127.0.0.1:$port
DocumentRoot $run/www
DirectoryIndex index.html
<Location /PowerShell>
	AuthType GSSAPI
	AuthName "exdiag lab"
	GssapiAllowedMech ntlmssp
	GssapiConnectionBound On
	Require valid-user
</Location>
CONF
} >"$run/httpd.conf"

export NTLM_USER_FILE=$run/users NETBIOS_DOMAIN_NAME=CONTOSO NETBIOS_COMPUTER_NAME=MAIL
bash "$(dirname "$0")/as-nobody.sh" "$run" "$apache" -f "$run/httpd.conf" -DFOREGROUND &
pid=$!
wait "$pid"
