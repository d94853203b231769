#!/usr/bin/env bash
# Measures a fleet run against one run, from outside the binary: wall time and
# peak RSS (GNU time's %M) of `exdiag run --config` on a lab profile of one
# deployment and on one of FLEET deployments (the same scenario FLEET times,
# served by one `exdiag lab serve` process each), median of N runs.
# The goal of issue 13: 50 deployments within 3x the wall time of one, under
# 150 MiB. With a simulated round-trip time (RTT, as scripts/bench.sh uses it)
# the runs wait on the network as real ones do; RTT=0 measures CPU alone.
# Usage: scripts/bench-fleet.sh [SCENARIO] (default healthy);
#        FLEET=50 N=3 RTT=20ms PARALLEL="4 50" SESSIONS="3 50" to tune.
set -euo pipefail
cd "$(dirname "$0")/.."
scenario=${1:-healthy}
fleet=${FLEET:-50}
n=${N:-3}
rtt=${RTT:-20ms}
parallel=${PARALLEL:-"4 50"}
sessions=${SESSIONS:-"3 50"}
[ -x /usr/bin/time ] || { echo "bench-fleet: needs GNU time (apt-get install time)" >&2; exit 3; }

work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
bin=$work/exdiag
go build -o "$bin" ./cmd/exdiag

# serve starts a lab of $2 deployments whose profile is $1, and waits for it
serve() {
	local out=$1 count=$2 names=()
	for _ in $(seq "$count"); do names+=("$scenario"); done
	EXDIAG_LAB_RTT=$rtt "$bin" lab serve "${names[@]}" --config-out "$out" >"$out.txt" 2>"$out.err" &
	pids+=($!)
	for _ in $(seq 300); do
		grep -q '^  exdiag run --config' "$out.txt" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "bench-fleet: lab serve did not come up: $(cat "$out.err")" >&2
	exit 3
}
serve "$work/one.yaml" 1
serve "$work/fleet.yaml" "$fleet"
# the lab prints the exports its profile's password_env names
eval "$(grep '^  export ' "$work/one.yaml.txt")"
eval "$(grep '^  export ' "$work/fleet.yaml.txt")"
export EXDIAG_LAB_PASSWORD

python3 - "$bin" "$work" "$n" "$fleet" "$rtt" "$parallel" "$sessions" <<'PY'
import json, os, statistics, subprocess, sys
bin, work, n, fleet, rtt, parallel, sessions = sys.argv[1:8]
n, fleet = int(n), int(fleet)

def measure(profile, *flags):
    walls, rss, cpus, codes = [], [], [], set()
    for _ in range(n):
        p = subprocess.run(["/usr/bin/time", "-f", "%e %M %U %S", bin, "run", "--config", profile, "--format", "json", "--timeout", "120s", *flags],
                           env=dict(os.environ, NO_COLOR="1"), capture_output=True, text=True)
        wall, kb, user, sys_ = p.stderr.strip().splitlines()[-1].split()
        walls.append(float(wall)); rss.append(int(kb) / 1024); cpus.append(float(user) + float(sys_))
        doc = json.loads(p.stdout)
        runs = doc.get("runs", [doc])
        codes.add(tuple(sorted({r["exit_code"] for r in runs})))
    return statistics.median(walls), max(rss), statistics.median(cpus), codes

# the machine may be shared: the load and the client's CPU time say how
# much of the wall time is waiting for a core
print(f"lab RTT {rtt}, median of {n}, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; exit codes of the runs in brackets")
one_wall, one_rss, one_cpu, one_codes = measure(os.path.join(work, "one.yaml"))
print(f"  1 deployment                                    wall {one_wall:6.2f} s          client CPU {one_cpu:5.2f} s   peak RSS {one_rss:6.1f} MiB   {sorted(one_codes)}")
for p in parallel.split():
    for s in sessions.split():
        wall, rss, cpu, codes = measure(os.path.join(work, "fleet.yaml"), "--parallel", p, "--sessions-per-user", s)
        print(f"  {fleet} deployments --parallel {p:>3} --sessions-per-user {s:>3}  wall {wall:6.2f} s ({wall / one_wall:4.1f}x)  client CPU {cpu:5.2f} s   peak RSS {rss:6.1f} MiB   {sorted(codes)}")
print(f"load average at the end {os.getloadavg()[0]:.1f}")
PY
