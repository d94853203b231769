#!/usr/bin/env bash
# Runs one BIND 9 instance in the foreground as one DNS view of the test
# zone contoso.test, for the dns integration tests:
#
#   bind.sh DIR external|internal PORT
#
# DIR is a fresh folder (the caller removes it); the instance's config,
# zones and runtime files go in DIR/VIEW. named listens on 127.0.0.1:PORT
# (udp and tcp), is authoritative only (recursion no: a query outside its
# zones is REFUSED) and drops to user nobody when started as root.
#
# Besides the correct split view of mail.contoso.test, the zones plant
# faults under other names so one pair of instances serves every case:
#   leak.contoso.test   the external view leaks the internal address
#   gone.contoso.test   missing from the external view (NXDOMAIN)
#   alias.contoso.test  a CNAME in both views
#   same.contoso.test   both views give the public address (no split)
#   broken.test         a zone that fails to load externally (SERVFAIL)
#   fabrikam.test       served by neither (REFUSED)
set -euo pipefail

if [ $# -ne 3 ] || { [ "$2" != external ] && [ "$2" != internal ]; }; then
	echo "usage: bind.sh DIR external|internal PORT" >&2
	exit 2
fi
top=$1 view=$2 port=$3
dir=$top/$view
mkdir -p "$dir"

named=$(command -v named || echo /usr/sbin/named)
if [ ! -x "$named" ]; then
	echo "bind.sh: named is not installed; run scripts/install-dns.sh" >&2
	exit 1
fi

public=203.0.113.10 caslb=10.0.0.20 leak=10.0.0.30
if [ "$view" = external ]; then
	mail=$public leakaddr=$leak alias=proxy aliasaddr=$public
else
	mail=$caslb leakaddr=$leak alias=caslb aliasaddr=$caslb
fi

{
	cat <<ZONE
\$TTL 300
@	IN SOA ns1 hostmaster 2026112601 3600 600 86400 300
@	IN NS ns1
ns1	IN A 127.0.0.1
mail	IN A $mail
leak	IN A $leakaddr
alias	IN CNAME $alias
$alias	IN A $aliasaddr
same	IN A $public
ZONE
	if [ "$view" = internal ]; then
		cat <<ZONE
gone	IN A $caslb
cas1	IN A 10.0.0.21
cas2	IN A 10.0.0.22
kdc	IN A 10.0.0.5
_kerberos._tcp	IN SRV 0 100 88 kdc
ZONE
	fi
} >"$dir/contoso.test.zone"

broken=""
if [ "$view" = external ]; then
	# a CNAME next to other data is illegal: named refuses to load the
	# zone and answers SERVFAIL for it, as a real broken primary does
	cat >"$dir/broken.test.zone" <<ZONE
\$TTL 300
@	IN SOA ns1 hostmaster 1 3600 600 86400 300
@	IN NS ns1
ns1	IN A 127.0.0.1
mail	IN CNAME ns1
mail	IN A $public
ZONE
	broken="zone \"broken.test\" { type primary; file \"$dir/broken.test.zone\"; };"
fi

cat >"$dir/named.conf" <<CONF
options {
	directory "$dir";
	pid-file "$dir/named.pid";
	session-keyfile "$dir/session.key";
	managed-keys-directory "$dir";
	listen-on port $port { 127.0.0.1; };
	listen-on-v6 { none; };
	recursion no;
	allow-query { any; };
	dnssec-validation no;
	notify no;
};
// no rndc channel: two instances would both want 127.0.0.1:953
controls { };
zone "contoso.test" { type primary; file "$dir/contoso.test.zone"; };
$broken
CONF

if grep -qs 'named' /sys/kernel/security/apparmor/profiles; then
	echo "bind.sh: an AppArmor profile confines named; if it cannot read $dir, run: aa-complain /usr/sbin/named" >&2
fi

user=()
if [ "$(id -u)" -eq 0 ]; then
	chown -R nobody:nogroup "$top"
	chmod 0755 "$top" "$dir"
	user=(-u nobody)
fi
exec "$named" -g -n 1 "${user[@]}" -c "$dir/named.conf"
