#!/usr/bin/env bash
# Runs scripts/servers/ntlm-seal.py in the foreground: gss-ntlmssp (through
# python3-gssapi) as an NTLM acceptor that checks exdiag's logon, channel
# binding and sealing (scripts/itest/ntlm_test.go):
#
#   ntlm-seal.sh DIR PORT [APPLICATION_DATA_HEX]
#
# DIR holds `users`, DOMAIN:USER:PASSWORD lines. Started as root, it runs
# as nobody; the port must be an unprivileged loopback one.
set -euo pipefail
if [ $# -lt 2 ] || [ ! -f "$1/users" ]; then
	echo "usage: ntlm-seal.sh DIR PORT [APPLICATION_DATA_HEX] (with DIR/users)" >&2
	exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
# Debian's python3, whose dist-packages has python3-gssapi (a pyenv or
# venv python on PATH would not)
py=/usr/bin/python3
if ! "$py" -c 'import gssapi' 2>/dev/null || [ ! -f /etc/gss/mech.d/mech.ntlmssp.conf ]; then
	echo "ntlm-seal.sh: python3-gssapi and gss-ntlmssp are not installed; run scripts/install-ntlm.sh" >&2
	exit 1
fi
run=$(mktemp -d /tmp/exdiag-ntlm-seal-XXXXXX)
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$run"' EXIT INT TERM
cp "$here/ntlm-seal.py" "$1/users" "$run/"
chmod 600 "$run/users"
export NTLM_USER_FILE=$run/users NETBIOS_DOMAIN_NAME=CONTOSO NETBIOS_COMPUTER_NAME=MAIL PYTHONDONTWRITEBYTECODE=1
bash "$here/as-nobody.sh" "$run" "$py" -u "$run/ntlm-seal.py" "$2" "$run/users" ${3:+"$3"} &
pid=$!
wait "$pid"
