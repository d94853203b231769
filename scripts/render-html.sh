#!/usr/bin/env bash
# Renders an exdiag html report in headless Chromium (Debian's chromium,
# scripts/install-report.sh): a PNG screenshot, the DOM after load, and
# Chromium's log, whose CONSOLE lines are the page's console messages.
#
#   scripts/render-html.sh REPORT.html OUT.png OUT.dom OUT.log
#
# No network: the report is self-contained, and Chromium's own background
# traffic is switched off.
set -euo pipefail
if [ $# -ne 4 ]; then
  echo "usage: $0 REPORT.html OUT.png OUT.dom OUT.log" >&2
  exit 2
fi
in=$(realpath "$1")
png=$2 dom=$3 log=$4
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
flags=(--headless --no-sandbox --disable-gpu --disable-background-networking
  --disable-component-update --disable-sync --no-first-run --no-default-browser-check
  --user-data-dir="$profile" --enable-logging=stderr --v=0 --window-size=1280,900)
# the screenshot run's log is the one checked for console messages
timeout 60 chromium "${flags[@]}" --screenshot="$png" "file://$in" 2>"$log" >/dev/null
timeout 60 chromium "${flags[@]}" --dump-dom "file://$in" 2>>"$log" >"$dom"
