#!/usr/bin/env bash
# Runs the built exdiag against every hostile deployment of
# fixtures/hostile (hostilesrv) with --timeout, and prints one line per
# case: exdiag's exit code and result, wall time and peak RSS (GNU time).
# A case fails the script when it runs past --timeout + 1 s, its peak RSS
# reaches 100 MiB, or the canary password shows up in its output.
#
#   scripts/hostile.sh [CASE…]        (TIMEOUT=5s by default)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/apt-install.sh time

timeout_s=${TIMEOUT:-5}
max_rss_kib=$((100 * 1024))
canary='Hostile-Canary-9d2f71'
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

go build -o "$work/exdiag" ./cmd/exdiag
go build -o "$work/hostilesrv" ./fixtures/hostile/hostilesrv

cases=("$@")
if [ ${#cases[@]} -eq 0 ]; then
  mapfile -t cases < <("$work/hostilesrv" list | cut -f1)
fi

# every form the canary could leak in: plain, Basic base64 of user:password
# and of the password, URL-encoded
forms=("$canary" "$(printf '%s' "CONTOSO\\canary:$canary" | base64 -w0)" "$(printf '%s' "$canary" | base64 -w0)"
  "$(python3 -c 'import sys,urllib.parse;print(urllib.parse.quote(sys.argv[1],safe=""))' "$canary")")

printf '%-24s %4s %-8s %8s %9s  %s\n' case exit status time peak-rss summary
failed=0
for c in "${cases[@]}"; do
  coproc SRV { exec "$work/hostilesrv" "$c"; }
  args=()
  while IFS= read -r line <&"${SRV[0]}"; do
    [ "$line" = ready ] && break
    args+=("$line")
  done
  set +e
  EXDIAG_PASSWORD=$canary /usr/bin/time -v -o "$work/time" "$work/exdiag" run "${args[@]}" \
    --timeout "${timeout_s}s" --format json -v >"$work/out" 2>"$work/err"
  code=$?
  set -e
  exec {SRV[1]}>&-
  wait "$SRV_PID" 2>/dev/null || true

  rss=$(awk -F': ' '/Maximum resident set size/{print $2}' "$work/time")
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/{print $2}' "$work/time")
  secs=$(python3 -c 'import sys;p=sys.argv[1].split(":");print(sum(float(x)*60**i for i,x in enumerate(reversed(p))))' "$wall")
  summary=$(python3 - "$work/out" <<'EOF'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except Exception as e:
    print("stdout is not json: %s" % e); sys.exit()
parts = []
for c in d["checks"]:
    if c["status"] == "skip":
        continue
    codes = ",".join(f["code"] for f in c["findings"])
    err = (" error: " + c["error"][:90]) if c.get("error") else ""
    parts.append("%s=%s%s%s" % (c["id"], c["status"], "[" + codes + "]" if codes else "", err))
print(d["status"], "; ".join(parts))
EOF
)
  status=${summary%% *}
  verdict=""
  if python3 -c 'import sys;sys.exit(0 if float(sys.argv[1]) <= float(sys.argv[2])+1 else 1)' "$secs" "$timeout_s"; then :; else verdict+=" OVER-TIME"; fi
  [ "$rss" -lt "$max_rss_kib" ] || verdict+=" OVER-RSS"
  for f in "${forms[@]}"; do
    if grep -qF -- "$f" "$work/out" "$work/err"; then verdict+=" LEAK"; fi
  done
  [ -z "$verdict" ] || failed=1
  printf '%-24s %4s %-8s %7.2fs %6d KiB  %s%s\n' "$c" "$code" "$status" "$secs" "$rss" "${summary#* }" "$verdict"
done
exit $failed
