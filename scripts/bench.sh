#!/usr/bin/env bash
# Measures how fast a run is on the lab, from outside the binary:
#   1. start-up: wall time of `exdiag version` (median of 2N runs);
#   2. wall time of `exdiag run --lab SCENARIO` (median of N runs, lab start-up included,
#      and the run's own duration_ms from the report, per check);
#   3. the same run through the lab's delay line (EXDIAG_LAB_RTT: every lab server, DNS over
#      UDP and TCP, the TLS front, the CAS backends, the KDC and LDAP, sits behind an
#      in-process forwarding proxy that delays each byte RTT/2 each way and holds a TCP
#      connection's first byte for its handshake round trip). Round trips on the critical
#      path = duration / RTT, for the whole run and per check; the ratio to the
#      10-round-trip bound of issue 15 (DNS 1, TCP 1, TLS 1, unauthenticated POST 1,
#      Create 1, Receive 1-2, Command 1, Receive 1, Delete 1); what crossed each line
#      (connections, client flights, datagrams) and the rbac session's own request count;
#   4. scaling: the run with 1 and with BACKENDS CAS servers behind the proxy (each a
#      --backend the tls and auth checks probe), without and with the RTT.
# Usage: scripts/bench.sh [SCENARIO] (default healthy); N=5 RTT=50ms BACKENDS=50 to tune.
# The healthy lab gives Kerberos and LDAP inputs, so all six checks run.
set -euo pipefail
cd "$(dirname "$0")/.."
scenario=${1:-healthy}
n=${N:-5}
rtt=${RTT:-50ms}
backends=${BACKENDS:-50}
bin=$(mktemp -d)/exdiag
trap 'rm -rf "$(dirname "$bin")"' EXIT
go build -o "$bin" ./cmd/exdiag

python3 - "$bin" "$scenario" "$n" "$rtt" "$backends" <<'PY'
import json, os, re, resource, statistics, subprocess, sys, time
bin, scenario, n, rtt, backends = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
rtt_ms = float(rtt[:-2]) if rtt.endswith("ms") else float(rtt.rstrip("s")) * 1000
med = statistics.median

def run(extra_env, verbose=False):
    env = dict(os.environ, NO_COLOR="1", **extra_env)
    args = [bin, "run", "--lab=" + scenario, "--format", "json", "--timeout", "60s"] + (["-v"] if verbose else [])
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(args, env=env, capture_output=True, text=True)
    wall = (time.perf_counter() - t0) * 1000
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpus.append((r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime) * 1000)
    return wall, json.loads(p.stdout), p.stderr

cpus = []  # CPU time (user+sys) of each run's process, lab included: a figure the machine's load does not inflate

def series(extra_env, k, verbose=False):
    del cpus[:]
    walls, durs, per, last = [], [], {}, None
    for _ in range(k):
        wall, doc, err = run(extra_env, verbose)
        walls.append(wall); durs.append(doc["duration_ms"])
        for c in doc["checks"]:
            per.setdefault(c["id"], []).append(c["duration_ms"])
        last = (doc, err)
    return walls, durs, per, last

starts = []
for _ in range(2 * n):
    t0 = time.perf_counter()
    subprocess.run([bin, "version"], capture_output=True)
    starts.append((time.perf_counter() - t0) * 1000)
print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cpus (figures below are noisy when it exceeds the cpu count)")
print(f"start-up: `exdiag version` median {med(starts):.1f} ms (min {min(starts):.1f}) over {2*n} runs")

walls, durs, per, _ = series({}, n)
print(f"scenario {scenario}, no added latency, {n} runs")
print(f"  process wall time  median {med(walls):.0f} ms (min {min(walls):.0f}, max {max(walls):.0f}), lab start-up included")
print(f"  run duration_ms    median {med(durs):.0f} ms; process cpu (user+sys, lab included) median {med(cpus):.0f} ms")
for k, v in per.items():
    print(f"    {k:9s} median {med(v):.0f} ms")
base = {k: med(v) for k, v in per.items()}

rwalls, rdurs, rper, (doc, err) = series({"EXDIAG_LAB_RTT": rtt}, n, verbose=True)
bound = 10 * rtt_ms
run_ms = med(rdurs)
print(f"through the delay line at {rtt_ms:.0f} ms RTT, {n} runs (round trips = duration / RTT; net = minus the no-latency time)")
print(f"  whole run          median {run_ms:.0f} ms = {run_ms / rtt_ms:.1f} round trips (net {(run_ms - med(durs)) / rtt_ms:.1f}); "
      f"ratio to the 10-round-trip bound ({bound:.0f} ms): {run_ms / bound:.2f}; process wall {med(rwalls):.0f} ms, cpu {med(cpus):.0f} ms")
status = {c["id"]: c["status"] for c in doc["checks"]}
for k, v in rper.items():
    if status.get(k) == "skip":
        print(f"    {k:9s} skipped")
        continue
    d = med(v)
    print(f"    {k:9s} median {d:5.0f} ms = {d / rtt_ms:4.1f} round trips (net {(d - base[k]) / rtt_ms:4.1f}) ({status[k]})")
for c in doc["checks"]:
    if c["id"] == "rbac" and c.get("observed"):
        o = c["observed"]
        print(f"  rbac session: {o.get('round_trips')} WS-Management requests, {o.get('no_data_retries')} no-data retries, compression {o.get('compression', 'not observed')}, shell deleted {o.get('shell_deleted')}")
for line in err.splitlines():
    if line.startswith("lab traffic "):
        print("  " + line[len("lab traffic "):])

def scaled(extra, k):
    one = med(series(dict(extra, EXDIAG_LAB_BACKENDS=str(k)), n)[1])
    return one, med(cpus)
for label, extra in (("no added latency", {}), (f"{rtt_ms:.0f} ms RTT", {"EXDIAG_LAB_RTT": rtt})):
    (one, c1), (many, cn) = scaled(extra, 1), scaled(extra, backends)
    print(f"scaling, {label}: 1 backend {one:.0f} ms (cpu {c1:.0f}), {backends} backends {many:.0f} ms (cpu {cn:.0f}) = {many / one:.2f}x")
PY
