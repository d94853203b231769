#!/usr/bin/env bash
# Installs the real servers the spn integration tests run against: the MIT
# Kerberos KDC (krb5kdc; kdb5_util and kadmin.local from krb5-admin-server;
# kinit for debugging) and OpenLDAP (slapd, slapadd; ldapsearch for
# debugging). The tests start their own instances on loopback ports in
# temp folders; the packages' own daemons are kept stopped.
set -euo pipefail
cd "$(dirname "$0")"

if [ "$(id -u)" = 0 ]; then
	# krb5-config and slapd ask questions at install time; answer them so
	# the install never prompts and slapd creates no database of its own.
	debconf-set-selections <<'SEL'
krb5-config krb5-config/default_realm string CONTOSO.TEST
krb5-config krb5-config/add_servers_realm string CONTOSO.TEST
krb5-config krb5-config/add_servers boolean false
slapd slapd/no_configuration boolean true
SEL
fi
bash ./apt-install.sh krb5-kdc krb5-admin-server krb5-user slapd ldap-utils

# Where an init system did start them anyway, stop and disable them.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
	for svc in slapd krb5-kdc krb5-admin-server; do
		systemctl disable --now "$svc" >/dev/null 2>&1 || true
	done
fi
exit 0
