#!/usr/bin/env bash
# Runs Apache httpd in the foreground as a Windows-authentication front:
# mod_auth_gssapi (MIT's GSS-API acceptor, SPNEGO over HTTP "Negotiate")
# in front of a lab PSRP backend, for scripts/itest/gssapi_test.go:
#
#   APACHE_PORT=8443 APACHE_BACKEND=127.0.0.1:5985 apache-gssapi.sh DIR
#
# DIR holds front.crt and front.key (the published certificate) and
# http.keytab (the service keys, as kadmin's ktadd exports them). Apache
# serves https://127.0.0.1:APACHE_PORT/PowerShell, authenticates every
# request with AuthType GSSAPI against that keytab (Kerberos only, no Basic
# fallback), and proxies the authenticated ones to
# http://APACHE_BACKEND/PowerShell with the user in X-Remote-User, as the
# backend trusts its front to say. mod_auth_gssapi answers the logon's
# AP-REP (mutual authentication) in the 200's WWW-Authenticate, and a
# refused one with MIT's KRB-ERROR token in the 401's, which is what the
# test reads. APACHE_FAKETIME (e.g. "+10m") runs Apache under libfaketime
# with its clock shifted: a server whose clock drifted from the realm's.
# Our own configuration (apache2 -f) and krb5.conf: neither /etc/apache2
# nor /etc/krb5.conf is read. Started as root, Apache runs as nobody from
# the start (as-nobody.sh); the port must be an unprivileged loopback one.
set -euo pipefail

if [ $# -ne 1 ] || [ ! -f "$1/http.keytab" ]; then
	echo "usage: APACHE_PORT=P APACHE_BACKEND=HOST:PORT apache-gssapi.sh DIR (with DIR/front.crt, front.key, http.keytab)" >&2
	exit 2
fi
port=${APACHE_PORT:?set APACHE_PORT}
backend=${APACHE_BACKEND:?set APACHE_BACKEND}
src=$(cd "$1" && pwd)
apache=$(command -v apache2 || echo /usr/sbin/apache2)
modules=/usr/lib/apache2/modules
if [ ! -x "$apache" ] || [ ! -f "$modules/mod_auth_gssapi.so" ]; then
	echo "apache-gssapi.sh: apache2 with mod_auth_gssapi is not installed; run scripts/install-gssapi.sh" >&2
	exit 1
fi
wrap=()
if [ -n "${APACHE_FAKETIME:-}" ]; then
	# preloaded into Apache alone (env execs it) rather than through the
	# faketime wrapper, which forks: Apache stays our child, so stopping
	# the script stops it, and libfaketime's shared memory (which nobody
	# could not open had root created it) is off
	lib=$(ls /usr/lib/*/faketime/libfaketimeMT.so.1 2>/dev/null | head -1)
	if [ -z "$lib" ]; then
		echo "apache-gssapi.sh: libfaketime is not installed; run scripts/install-gssapi.sh" >&2
		exit 1
	fi
	wrap=(env LD_PRELOAD="$lib" FAKETIME="$APACHE_FAKETIME" FAKETIME_DISABLE_SHM=1 FAKETIME_DONT_FAKE_MONOTONIC=1)
fi

run=$(mktemp -d /tmp/exdiag-apache-gssapi-XXXXXX)
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$run"' EXIT INT TERM
cp "$src/front.crt" "$src/front.key" "$src/http.keytab" "$run/"
chmod 600 "$run/http.keytab"

# The acceptor needs no KDC (the keytab decrypts the ticket); the realm
# only names where the client comes from. The replay cache stays in $run.
cat >"$run/krb5.conf" <<CONF
[libdefaults]
	default_realm = ${APACHE_REALM:-CONTOSO.TEST}
	dns_lookup_kdc = false
	dns_lookup_realm = false
CONF
export KRB5_CONFIG=$run/krb5.conf KRB5RCACHEDIR=$run KRB5_KTNAME=$run/http.keytab

. "$(dirname "$0")/apache-common.sh"
{
	APACHE_LOGLEVEL_EXTRA=auth_gssapi:${EXDIAG_GSSAPI_LOGLEVEL:-info} apache_head "$run" authn_core authz_user auth_gssapi headers
	apache_tls_vhost "$run" "$port"
	cat <<CONF
	ProxyTimeout 10
	<Location /PowerShell>
		AuthType GSSAPI
		AuthName "exdiag lab"
		GssapiCredStore keytab:$run/http.keytab
		GssapiAllowedMech krb5
		GssapiSSLonly On
		GssapiBasicAuth Off
		Require valid-user
		RequestHeader set X-Remote-User "expr=%{REMOTE_USER}"
		ProxyPass http://$backend/PowerShell retry=0
	</Location>
</VirtualHost>
CONF
} >"$run/httpd.conf"

bash "$(dirname "$0")/as-nobody.sh" "$run" "${wrap[@]}" "$apache" -f "$run/httpd.conf" -DFOREGROUND &
pid=$!
wait "$pid"
