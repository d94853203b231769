#!/usr/bin/env bash
# Prometheus and promtool (Debian's prometheus package ships both), for the
# `exdiag serve` integration test (scripts/itest/prometheus_test.go) and the
# `promtool check metrics` test of every /probe and /metrics answer. The
# package's own service is kept from starting by apt-install.sh's
# policy-rc.d: the test starts its own server on loopback as a non-root user.
set -euo pipefail
here=$(dirname "$0")
bash "$here/apt-install.sh" prometheus
