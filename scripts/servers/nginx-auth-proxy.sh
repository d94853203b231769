#!/usr/bin/env bash
# Runs nginx in the foreground as the reverse proxy in front of CAS
# backends, for the auth integration tests:
#
#   nginx-auth-proxy.sh DIR
#
# DIR holds front.crt and front.key (the published certificate), ca.pem
# (the only roots nginx trusts for its backends) and routes, one line per
# published listener:
#
#   LISTEN_PORT BACKEND_ADDR:PORT BACKEND_NAME [READ_TIMEOUT]
#
# Each listener serves https://127.0.0.1:LISTEN_PORT/PowerShell and
# proxies it to https://BACKEND_ADDR:PORT, verifying the backend's
# certificate against ca.pem for BACKEND_NAME (proxy_ssl_verify on), so
# an untrusted backend gets nginx's own 502 and a stopped one its 502.
# READ_TIMEOUT (default 30s) is how long nginx waits for the backend's
# answer before its 504. Workers run as nobody when started as root.
set -euo pipefail

if [ $# -ne 1 ] || [ ! -f "$1/routes" ]; then
	echo "usage: nginx-auth-proxy.sh DIR (with DIR/routes, front.crt, front.key, ca.pem)" >&2
	exit 2
fi
dir=$(cd "$1" && pwd)
nginx=$(command -v nginx || echo /usr/sbin/nginx)
if [ ! -x "$nginx" ]; then
	echo "nginx-auth-proxy.sh: nginx is not installed; run scripts/install-nginx.sh" >&2
	exit 1
fi

user=""
if [ "$(id -u)" -eq 0 ]; then
	user="user nobody nogroup;"
fi
mkdir -p "$dir/temp"

{
	cat <<CONF
$user
worker_processes 1;
pid $dir/nginx.pid;
error_log stderr notice;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path $dir/temp/body;
	proxy_temp_path $dir/temp/proxy;
	fastcgi_temp_path $dir/temp/fastcgi;
	uwsgi_temp_path $dir/temp/uwsgi;
	scgi_temp_path $dir/temp/scgi;
CONF
	while read -r port backend name timeout; do
		[ -n "$port" ] || continue
		timeout=${timeout:-30s}
		cat <<CONF
	server {
		listen 127.0.0.1:$port ssl;
		server_name mail.contoso.test;
		ssl_certificate $dir/front.crt;
		ssl_certificate_key $dir/front.key;
		location /PowerShell {
			proxy_pass https://$backend;
			proxy_http_version 1.1;
			proxy_set_header Host \$host;
			proxy_ssl_verify on;
			proxy_ssl_verify_depth 3;
			proxy_ssl_trusted_certificate $dir/ca.pem;
			proxy_ssl_name $name;
			proxy_ssl_server_name on;
			# a cached session could carry another location's verification
			proxy_ssl_session_reuse off;
			proxy_connect_timeout 5s;
			proxy_read_timeout $timeout;
			# small WS-Management bodies: no temp files for the workers
			proxy_buffering off;
			proxy_request_buffering off;
		}
	}
CONF
	done < "$dir/routes"
	echo "}"
} > "$dir/nginx.conf"

exec "$nginx" -p "$dir" -c "$dir/nginx.conf" -e stderr -g 'daemon off;'
