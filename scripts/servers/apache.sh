#!/usr/bin/env bash
# Runs Apache httpd in the foreground as the reverse proxy in front of CAS
# backends, for the proxy integration tests (scripts/itest/proxies_test.go):
#
#   apache.sh DIR
#
# DIR holds front.crt and front.key (the published certificate), ca.pem
# (the only roots Apache trusts for its backends) and routes, one line per
# published listener:
#
#   LISTEN_PORT BACKEND_ADDR:PORT [TIMEOUT_SECONDS]
#
# Each listener serves https://127.0.0.1:LISTEN_PORT/PowerShell and proxies
# it with mod_proxy_http to https://BACKEND_ADDR:PORT/PowerShell, verifying
# the backend's certificate against ca.pem (SSLProxyVerify require,
# SSLProxyCheckPeerName on), so an untrusted backend gets Apache's own
# "Error during SSL Handshake" page, a closed one its 503 and a silent one
# its 504 after TIMEOUT_SECONDS (default 30). The configuration is our own
# (apache2 -f), loading the modules from /usr/lib/apache2/modules; the
# system's /etc/apache2 is not read. Apache never runs as root: started as
# root, it runs as nobody from the start (its files are copied to a folder
# nobody can read); otherwise as the calling user. The ports must be
# unprivileged loopback ones.
set -euo pipefail

if [ $# -ne 1 ] || [ ! -f "$1/routes" ]; then
	echo "usage: apache.sh DIR (with DIR/routes, front.crt, front.key, ca.pem)" >&2
	exit 2
fi
src=$(cd "$1" && pwd)
apache=$(command -v apache2 || echo /usr/sbin/apache2)
modules=/usr/lib/apache2/modules
if [ ! -x "$apache" ] || [ ! -f "$modules/mod_proxy_http.so" ] || [ ! -f "$modules/mod_ssl.so" ]; then
	echo "apache.sh: apache2 with mod_proxy_http and mod_ssl is not installed; run scripts/install-proxies.sh" >&2
	exit 1
fi

run=$(mktemp -d /tmp/exdiag-apache-XXXXXX)
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$run"' EXIT INT TERM
cp "$src/front.crt" "$src/front.key" "$src/ca.pem" "$run/"

. "$(dirname "$0")/apache-common.sh"
{
	apache_head "$run"
	while read -r port backend timeout; do
		[ -n "$port" ] || continue
		timeout=${timeout:-30}
		apache_tls_vhost "$run" "$port"
		cat <<CONF
	SSLProxyEngine on
	SSLProxyVerify require
	SSLProxyVerifyDepth 3
	SSLProxyCACertificateFile $run/ca.pem
	SSLProxyCheckPeerName on
	ProxyTimeout $timeout
	ProxyPass /PowerShell https://$backend/PowerShell retry=0
	ProxyPassReverse /PowerShell https://$backend/PowerShell
</VirtualHost>
CONF
	done < "$src/routes"
} > "$run/httpd.conf"

bash "$(dirname "$0")/as-nobody.sh" "$run" "$apache" -f "$run/httpd.conf" -DFOREGROUND &
pid=$!
wait "$pid"
