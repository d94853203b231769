#!/usr/bin/env bash
# Runs a server that must not run as root:
#   as-nobody.sh DIR COMMAND [ARG ...]
# Started as root, hands DIR (the server's own copy of its files) to nobody
# and runs COMMAND as nobody from the start, so it only ever binds
# unprivileged ports and reads what is in DIR; otherwise runs COMMAND as
# the calling user.
set -euo pipefail
dir=${1:?usage: as-nobody.sh DIR COMMAND [ARG ...]}
shift
if [ "$(id -u)" -eq 0 ]; then
	group=$(id -gn nobody)
	chown -R nobody:"$group" "$dir"
	chmod 755 "$dir"
	exec setpriv --reuid=nobody --regid="$group" --clear-groups "$@"
fi
exec "$@"
