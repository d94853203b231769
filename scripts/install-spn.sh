#!/usr/bin/env bash
# Installs the real servers the spn integration tests run against: the MIT
# Kerberos KDC (krb5kdc, kdb5_util, kadmin.local) and OpenLDAP (slapd).
# The packages' own daemons are stopped and disabled: the tests start their
# own instances on loopback ports in temp folders.
set -euo pipefail

need=()
for pair in krb5kdc:krb5-kdc kadmin.local:krb5-admin-server kinit:krb5-user slapd:slapd ldapsearch:ldap-utils; do
	bin=${pair%%:*} pkg=${pair#*:}
	if ! command -v "$bin" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$bin" ]; then
		need+=("$pkg")
	fi
done
[ ${#need[@]} -eq 0 ] && exit 0

export DEBIAN_FRONTEND=noninteractive
# policy-rc.d 101 keeps postinst scripts from starting daemons we do not want.
created_policy=
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod +x /usr/sbin/policy-rc.d
	created_policy=1
fi
trap 'if [ -n "$created_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi' EXIT

# krb5-config asks for a default realm; answer it so the install never prompts.
echo "krb5-config krb5-config/default_realm string CONTOSO.TEST" | debconf-set-selections
echo "krb5-config krb5-config/add_servers_realm string CONTOSO.TEST" | debconf-set-selections
echo "krb5-config krb5-config/add_servers boolean false" | debconf-set-selections
echo "krb5-admin-server krb5-admin-server/newrealm note" | debconf-set-selections
echo "slapd slapd/no_configuration boolean true" | debconf-set-selections

apt-get -o DPkg::Lock::Timeout=600 update -q
apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${need[@]}"

# Some images have no policy-rc.d support (no init system): stop anything
# that did start anyway, by its pid file.
for svc in slapd krb5-kdc krb5-admin-server; do
	if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
		systemctl disable --now "$svc" >/dev/null 2>&1 || true
	fi
done
for pidf in /run/slapd/slapd.pid /run/krb5kdc.pid /run/kadmind.pid; do
	[ -s "$pidf" ] && kill "$(cat "$pidf")" 2>/dev/null || true
done
exit 0
