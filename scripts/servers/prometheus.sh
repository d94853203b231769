#!/usr/bin/env bash
# Runs a real Prometheus (Debian's package) for the `exdiag serve`
# integration test, in the foreground, on http://127.0.0.1:$PROM_PORT, with
# the configuration $PROM_DIR/prometheus.yml (written by the test) and a
# temp storage folder in $PROM_DIR/data, as user nobody when started as
# root.
#
#   PROM_PORT=19090 PROM_DIR=/tmp/x scripts/servers/prometheus.sh
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"

port=${PROM_PORT:?set PROM_PORT}
dir=${PROM_DIR:?set PROM_DIR}
[ -r "$dir/prometheus.yml" ] || { echo "prometheus.sh: no $dir/prometheus.yml; write the scrape config first" >&2; exit 1; }
mkdir -p "$dir/data"

run=()
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1 && command -v setpriv >/dev/null; then
	group=$(id -gn nobody)
	chown -R nobody:"$group" "$dir"
	chmod 0755 "$dir"
	run=(setpriv --reuid=nobody --regid="$group" --clear-groups)
fi
exec "${run[@]}" prometheus \
	--config.file="$dir/prometheus.yml" \
	--storage.tsdb.path="$dir/data" \
	--storage.tsdb.retention.time=1h \
	--web.listen-address="127.0.0.1:$port" \
	--log.level=warn
