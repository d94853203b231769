#!/usr/bin/env bash
# Runs a real OpenLDAP slapd for the spn integration tests, in the
# foreground, on ldap://127.0.0.1:$SLAPD_PORT, with its configuration and
# database in a temp folder, as user nobody when started as root.
#
#   SLAPD_PORT=10389 SLAPD_DIR=/tmp/x scripts/servers/slapd.sh
#
# The schema carries Active Directory's servicePrincipalName and
# sAMAccountName under their AD OIDs and AD's user and computer classes,
# so the probe's search is the one it sends to a domain controller.
# Directory DC=contoso,DC=test:
#   cn=Administrator,ou=Users   password Lab-Admin-Pass1 (bind DN below)
#   CAS1$  HTTP/cas1.contoso.test, HTTP/cas1, HTTP/outlook.contoso.test
#   CAS2$  HTTP/cas2.contoso.test, HTTP/cas2, HTTP/outlook.contoso.test  (duplicate)
#   HTTP/mail.contoso.test is registered nowhere (missing)
# TLS: a fresh self-signed certificate for 127.0.0.1 and localhost in
# $dir/cert.pem serves StartTLS on the plain port and, with
# SLAPD_TLS_PORT, LDAPS on ldaps://127.0.0.1:$SLAPD_TLS_PORT.
set -euo pipefail
# the server tools live in sbin, which a non-login shell may not list
export PATH="$PATH:/usr/sbin:/sbin"

port=${SLAPD_PORT:?set SLAPD_PORT}
dir=${SLAPD_DIR:-$(mktemp -d /tmp/exdiag-slapd.XXXXXX)}
base="dc=contoso,dc=test"
pass=${SLAPD_PASSWORD:-Lab-Admin-Pass1}
mkdir -p "$dir/db"

modpath=/usr/lib/ldap
[ -d "$modpath" ] || modpath=$(dirname "$(find /usr/lib -name 'back_mdb*.so*' -print -quit 2>/dev/null)")
coreschema=/etc/ldap/schema/core.schema

cat >"$dir/ad.schema" <<'SCHEMA'
# Active Directory's attributes and classes, same OIDs as in AD's schema.
attributetype ( 1.2.840.113556.1.4.771 NAME 'servicePrincipalName'
	EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch
	SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )
attributetype ( 1.2.840.113556.1.4.221 NAME 'sAMAccountName'
	EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
objectclass ( 1.2.840.113556.1.5.9 NAME 'user' SUP top STRUCTURAL
	MUST cn MAY ( sAMAccountName $ servicePrincipalName $ userPassword ) )
objectclass ( 1.2.840.113556.1.3.30 NAME 'computer' SUP top STRUCTURAL
	MUST cn MAY ( sAMAccountName $ servicePrincipalName $ userPassword ) )
SCHEMA

if [ ! -e "$dir/cert.pem" ]; then
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=localhost" \
		-addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
		-keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null
fi

cat >"$dir/slapd.conf" <<CONF
include $coreschema
include $dir/ad.schema
pidfile $dir/slapd.pid
argsfile $dir/slapd.args
TLSCertificateFile $dir/cert.pem
TLSCertificateKeyFile $dir/key.pem
modulepath $modpath
moduleload back_mdb
# Like AD: no anonymous reads, binds check userPassword.
access to attrs=userPassword by anonymous auth by * none
access to * by users read by * none
database mdb
suffix "$base"
rootdn "cn=manager,$base"
directory $dir/db
maxsize 16777216
index objectClass eq
index servicePrincipalName eq
CONF

cat >"$dir/data.ldif" <<LDIF
dn: $base
objectClass: organization
objectClass: dcObject
o: Contoso
dc: contoso

dn: ou=Users,$base
objectClass: organizationalUnit
ou: Users

dn: ou=Computers,$base
objectClass: organizationalUnit
ou: Computers

dn: cn=Administrator,ou=Users,$base
objectClass: user
cn: Administrator
sAMAccountName: Administrator
userPassword: $pass

dn: cn=CAS1,ou=Computers,$base
objectClass: computer
cn: CAS1
sAMAccountName: CAS1\$
servicePrincipalName: HTTP/cas1.contoso.test
servicePrincipalName: HTTP/cas1
servicePrincipalName: HTTP/outlook.contoso.test

dn: cn=CAS2,ou=Computers,$base
objectClass: computer
cn: CAS2
sAMAccountName: CAS2\$
servicePrincipalName: HTTP/cas2.contoso.test
servicePrincipalName: HTTP/cas2
servicePrincipalName: HTTP/Outlook.contoso.test
LDIF

if [ ! -e "$dir/db/data.mdb" ]; then
	slapadd -q -f "$dir/slapd.conf" -l "$dir/data.ldif"
fi
user_args=()
if [ "$(id -u)" = 0 ]; then
	chown -R nobody "$dir"
	user_args=(-u nobody -g "$(id -gn nobody)")
fi
echo "slapd for $base on ldap://127.0.0.1:$port, files in $dir" >&2
# -d: stay in the foreground (and log to stderr) so the test owns the process.
urls="ldap://127.0.0.1:$port/"
[ -n "${SLAPD_TLS_PORT:-}" ] && urls="$urls ldaps://127.0.0.1:$SLAPD_TLS_PORT/"
exec slapd -d "${SLAPD_DEBUG:-0}" -h "$urls" -f "$dir/slapd.conf" "${user_args[@]}"
