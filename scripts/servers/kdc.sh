#!/usr/bin/env bash
# Runs a real MIT Kerberos KDC for the spn integration tests, in the
# foreground, on 127.0.0.1:$KDC_PORT (TCP and UDP), with its realm in a
# temp folder. No /etc/krb5.conf or system KDC database is touched.
#
#   KDC_PORT=8888 KDC_DIR=/tmp/x scripts/servers/kdc.sh
#
# Realm CONTOSO.TEST; principals:
#   administrator  password Lab-Admin-Pass1, +requires_preauth (so a wrong
#                  password yields KDC_ERR_PREAUTH_FAILED as on AD)
#   HTTP/cas1.contoso.test  present (random key)
#   HTTP/mail.contoso.test  deliberately absent
# Extra present SPNs: KDC_EXTRA_SPNS="HTTP/a.contoso.test HTTP/b…".
# Keytab: KDC_KEYTABS="HTTP/a.contoso.test …" exports those principals'
# current keys (ktadd -norandkey) to $KDC_DIR/http.keytab, as the service's
# own keytab holds them; KDC_REKEY="HTTP/a.contoso.test …" then gives
# those principals new random keys (kvno 2), so their exported keytab is
# stale, as after an account's password changed without a new export;
# KDC_RECREATE="HTTP/b.contoso.test …" deletes and re-creates those
# principals instead (a new random key under the same kvno 1), so the
# keytab holds another account's key for the name: what a duplicate SPN
# or a keytab made for the wrong account looks like to the service.
set -euo pipefail
# the server tools live in sbin, which a non-login shell may not list
export PATH="$PATH:/usr/sbin:/sbin"

port=${KDC_PORT:?set KDC_PORT}
dir=${KDC_DIR:-$(mktemp -d /tmp/exdiag-kdc.XXXXXX)}
realm=${KDC_REALM:-CONTOSO.TEST}
user=${KDC_USER:-administrator}
pass=${KDC_PASSWORD:-Lab-Admin-Pass1}
mkdir -p "$dir"

export KRB5_CONFIG=$dir/krb5.conf
export KRB5_KDC_PROFILE=$dir/kdc.conf

cat >"$KRB5_CONFIG" <<CONF
[libdefaults]
	default_realm = $realm
	dns_lookup_kdc = false
	dns_lookup_realm = false
[realms]
	$realm = {
		kdc = 127.0.0.1:$port
	}
CONF

cat >"$KRB5_KDC_PROFILE" <<CONF
[kdcdefaults]
	kdc_ports = $port
	kdc_tcp_ports = $port
	kdc_listen = 127.0.0.1:$port
	kdc_tcp_listen = 127.0.0.1:$port
[realms]
	$realm = {
		database_name = $dir/principal
		key_stash_file = $dir/stash
		acl_file = $dir/kadm5.acl
		kdc_ports = $port
		kdc_tcp_ports = $port
		kdc_listen = 127.0.0.1:$port
		kdc_tcp_listen = 127.0.0.1:$port
		supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
		max_life = 10h
	}
[logging]
	kdc = STDERR
CONF
: >"$dir/kadm5.acl"

if [ ! -e "$dir/principal" ]; then
	kdb5_util create -s -r "$realm" -P masterpw >/dev/null
	kadmin.local -r "$realm" -q "addprinc +requires_preauth -pw $pass $user" >/dev/null
	for spn in HTTP/cas1.contoso.test ${KDC_EXTRA_SPNS:-}; do
		kadmin.local -r "$realm" -q "addprinc -randkey $spn" >/dev/null
	done
	for spn in ${KDC_KEYTABS:-}; do
		kadmin.local -r "$realm" -q "ktadd -norandkey -k $dir/http.keytab $spn" >/dev/null
	done
	for spn in ${KDC_REKEY:-}; do
		kadmin.local -r "$realm" -q "cpw -randkey $spn" >/dev/null
	done
	for spn in ${KDC_RECREATE:-}; do
		kadmin.local -r "$realm" -q "delprinc -force $spn" >/dev/null
		kadmin.local -r "$realm" -q "addprinc -randkey $spn" >/dev/null
	done
fi
echo "kdc for $realm on 127.0.0.1:$port, files in $dir" >&2
# -n: stay in the foreground so the test owns the process. As root, drop
# to nobody first: the KDC needs no privilege on an unprivileged port.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1; then
	chown -R nobody "$dir"
	exec setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups krb5kdc -n -r "$realm"
fi
exec krb5kdc -n -r "$realm"
