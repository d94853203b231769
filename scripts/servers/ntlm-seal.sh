#!/usr/bin/env bash
# Runs scripts/servers/ntlm-seal.py in the foreground: gss-ntlmssp (through
# python3-gssapi) as an NTLM acceptor that checks exdiag's logon, channel
# binding and sealing (scripts/itest/ntlm_test.go):
#
#   ntlm-seal.sh DIR PORT [APPLICATION_DATA_HEX]
#
# DIR holds `users`, DOMAIN:USER:PASSWORD lines. Started as root, it runs
# as nobody; the port must be an unprivileged loopback one. SEAL_PEER=
# wsmv-seal.py runs that peer instead: the same acceptor with pywinrm's
# whole MS-WSMV multipart framing (python3-winrm, scripts/install-winrm.sh).
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
peer=${SEAL_PEER:-ntlm-seal.py}
case $peer in ntlm-seal.py | wsmv-seal.py) ;; *)
	echo "ntlm-seal.sh: SEAL_PEER must be ntlm-seal.py or wsmv-seal.py" >&2
	exit 2
	;;
esac
cp "$here/$peer" "$1/users" "$run/"
chmod 600 "$run/users"
export NTLM_USER_FILE=$run/users NETBIOS_DOMAIN_NAME=CONTOSO NETBIOS_COMPUTER_NAME=MAIL PYTHONDONTWRITEBYTECODE=1
bash "$here/as-nobody.sh" "$run" "$py" -u "$run/$peer" "$2" "$run/users" ${3:+"$3"} &
pid=$!
wait "$pid"
