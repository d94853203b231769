#!/usr/bin/env bash
# Runs nginx in the foreground with everything inside PREFIX:
#   nginx.sh PREFIX TEMPLATE [NAME=VALUE ...]
# TEMPLATE is an nginx.conf whose @NAME@ placeholders are replaced by the
# given values (@PREFIX@ always); it is rendered to PREFIX/conf/nginx.conf.
# The pid file, logs and temp paths live in PREFIX, the error log goes to
# stderr, and the ports must be unprivileged loopback ones. Started as root,
# it drops to nobody (files in PREFIX are handed over to it); started as
# another user it runs as that user. The caller stops it by killing the
# process group.
set -euo pipefail
prefix=${1:?usage: nginx.sh PREFIX TEMPLATE [NAME=VALUE ...]}
template=${2:?usage: nginx.sh PREFIX TEMPLATE [NAME=VALUE ...]}
shift 2
prefix=$(cd "$prefix" && pwd)
mkdir -p "$prefix"/conf "$prefix"/logs "$prefix"/tmp "$prefix"/html

nginx=$(command -v nginx || echo /usr/sbin/nginx)
sed_args=(-e "s|@PREFIX@|$prefix|g")
for kv in "$@"; do
	sed_args+=(-e "s|@${kv%%=*}@|${kv#*=}|g")
done
sed "${sed_args[@]}" "$template" > "$prefix/conf/nginx.conf"
if grep -q '@[A-Z_]*@' "$prefix/conf/nginx.conf"; then
	echo "nginx.sh: placeholders left unset in $template:" $(grep -o '@[A-Z_]*@' "$prefix/conf/nginx.conf" | sort -u) >&2
	exit 2
fi

run=("$nginx" -p "$prefix/" -e stderr -c "$prefix/conf/nginx.conf" -g "daemon off; pid $prefix/nginx.pid;")
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1 && command -v setpriv >/dev/null; then
	group=$(id -gn nobody)
	chmod 755 "$prefix"
	chown -R nobody:"$group" "$prefix"
	# Every folder above PREFIX must be searchable by nobody, else stay root.
	if setpriv --reuid=nobody --regid="$group" --clear-groups test -r "$prefix/conf/nginx.conf"; then
		exec setpriv --reuid=nobody --regid="$group" --clear-groups "${run[@]}"
	fi
	echo "nginx.sh: nobody cannot reach $prefix; running nginx as root (workers still drop to nobody)" >&2
fi
exec "${run[@]}"
