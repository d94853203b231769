#!/usr/bin/env bash
# Runs HAProxy in the foreground as the reverse proxy in front of CAS
# backends, for the proxy integration tests (scripts/itest/proxies_test.go):
#
#   haproxy.sh DIR
#
# DIR holds front.crt and front.key (the published certificate), ca.pem
# (the only roots HAProxy trusts for its backends) and routes, one line per
# published listener:
#
#   LISTEN_PORT BACKEND_ADDR:PORT BACKEND_NAME [TIMEOUT_SECONDS]
#
# Each listener terminates TLS for https://127.0.0.1:LISTEN_PORT and
# forwards to BACKEND_ADDR:PORT over TLS, verifying its certificate against
# ca.pem for BACKEND_NAME (verify required, verifyhost), so a backend that
# is untrusted or closed fails every connection (HAProxy's own 503, no
# server available), one that answers garbage gets its 502 and a silent
# one its 504 after TIMEOUT_SECONDS (default 30). No health check: which
# answer a test gets must not depend on when the last check ran. HAProxy never runs as
# root: started as root, it runs as nobody from the start (its files are
# copied to a folder nobody can read); otherwise as the calling user. The
# ports must be unprivileged loopback ones.
set -euo pipefail

if [ $# -ne 1 ] || [ ! -f "$1/routes" ]; then
	echo "usage: haproxy.sh DIR (with DIR/routes, front.crt, front.key, ca.pem)" >&2
	exit 2
fi
src=$(cd "$1" && pwd)
haproxy=$(command -v haproxy || echo /usr/sbin/haproxy)
if [ ! -x "$haproxy" ]; then
	echo "haproxy.sh: haproxy is not installed; run scripts/install-proxies.sh" >&2
	exit 1
fi

run=$(mktemp -d /tmp/exdiag-haproxy-XXXXXX)
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$run"' EXIT INT TERM
# HAProxy wants the certificate and its key in one file
cat "$src/front.crt" "$src/front.key" > "$run/front.pem"
cp "$src/ca.pem" "$run/"

{
	cat <<CONF
global
	log stderr format raw local0 notice
	maxconn 256
defaults
	mode http
	log global
	timeout connect 3s
	timeout client 30s
	retries 1
CONF
	n=0
	while read -r port backend name timeout; do
		[ -n "$port" ] || continue
		n=$((n + 1))
		timeout=${timeout:-30}
		cat <<CONF
frontend front$n
	bind 127.0.0.1:$port ssl crt $run/front.pem
	default_backend cas$n
backend cas$n
	timeout server ${timeout}s
	server cas$n $backend ssl verify required ca-file $run/ca.pem sni str($name) verifyhost $name
CONF
	done < "$src/routes"
} > "$run/haproxy.cfg"

bash "$(dirname "$0")/as-nobody.sh" "$run" "$haproxy" -db -f "$run/haproxy.cfg" &
pid=$!
wait "$pid"
