#!/usr/bin/env bash
# The one test command: installs the real servers the integration tests
# use (BIND 9, nginx, MIT Kerberos, OpenLDAP) when missing, then runs
# formatting, vet and staticcheck, and the whole Go test suite with the race
# detector, integration tests included (scripts/itest).
set -euo pipefail
cd "$(dirname "$0")/.."

for s in scripts/install-*.sh; do
  [ -e "$s" ] || continue
  echo "== $s" >&2
  bash "$s"
done

echo "== gofmt" >&2
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change: $unformatted" >&2
  exit 1
fi
echo "== go vet" >&2
go vet ./...
echo "== staticcheck" >&2
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
echo "== go test" >&2
go test -race -count=1 -timeout 20m "$@" ./...
