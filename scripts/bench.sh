#!/usr/bin/env bash
# Measures how fast a run is on the lab, from outside the binary:
#   1. wall time of `exdiag run --lab SCENARIO` (median of N runs, lab start-up included,
#      and the run's own duration_ms from the report);
#   2. round trips on the critical path: the same run with a simulated round-trip time
#      (EXDIAG_LAB_RTT, lab servers delay each answer), whose extra duration divided by
#      the RTT counts the sequential turns per check and for the whole run.
# Usage: scripts/bench.sh [SCENARIO] (default healthy); N=10 RTT=50ms to tune.
set -euo pipefail
cd "$(dirname "$0")/.."
scenario=${1:-healthy}
n=${N:-10}
rtt=${RTT:-50ms}
bin=$(mktemp -d)/exdiag
trap 'rm -rf "$(dirname "$bin")"' EXIT
go build -o "$bin" ./cmd/exdiag

run_json() { env "$@" "$bin" run --lab="$scenario" --format json --timeout 60s || true; }

python3 - "$bin" "$scenario" "$n" "$rtt" <<'PY'
import json, os, statistics, subprocess, sys, time
bin, scenario, n, rtt = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
rtt_ms = float(rtt.rstrip("ms")) if rtt.endswith("ms") else float(rtt.rstrip("s")) * 1000

def run(extra_env):
    env = dict(os.environ, NO_COLOR="1", **extra_env)
    t0 = time.perf_counter()
    p = subprocess.run([bin, "run", "--lab=" + scenario, "--format", "json", "--timeout", "60s"],
                       env=env, capture_output=True, text=True)
    wall = (time.perf_counter() - t0) * 1000
    doc = json.loads(p.stdout)
    return wall, doc

walls, runs, per = [], [], {}
for _ in range(n):
    wall, doc = run({})
    walls.append(wall); runs.append(doc["duration_ms"])
    for c in doc["checks"]:
        per.setdefault(c["id"], []).append(c["duration_ms"])
print(f"scenario {scenario}, {n} runs")
print(f"  process wall time  median {statistics.median(walls):.0f} ms (min {min(walls):.0f}, max {max(walls):.0f}), lab start-up included")
print(f"  run duration_ms    median {statistics.median(runs):.0f} ms")
for k, v in per.items():
    print(f"    {k:9s} median {statistics.median(v):.0f} ms")

_, doc = run({"EXDIAG_LAB_RTT": rtt})
base = {c["id"]: statistics.median(per[c["id"]]) for c in doc["checks"]}
print(f"with a simulated RTT of {rtt_ms:.0f} ms (round trips = extra time / RTT):")
print(f"  whole run          {doc['duration_ms']} ms = {(doc['duration_ms'] - statistics.median(runs)) / rtt_ms:.1f} round trips")
for c in doc["checks"]:
    if c["status"] == "skip":
        continue
    extra = c["duration_ms"] - base[c["id"]]
    print(f"    {c['id']:9s} {c['duration_ms']:5d} ms = {extra / rtt_ms:4.1f} round trips ({c['status']})")
PY
