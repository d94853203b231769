#!/usr/bin/env bash
# Soak test of `exdiag serve`: PROBES probes (default 2000), PARALLEL at a
# time (default 4), round-robin over a 20-deployment lab fleet from
# `exdiag lab serve … --config-out`, bounded by TIMEOUT seconds (default
# 900). It reads the service's own /metrics after a warm-up round and at the
# end and prints goroutines, open fds, RSS and CPU time per probe, so a
# leak of goroutines, file descriptors or memory shows as growth.
#
#   scripts/soak-serve.sh                   # 2000 probes
#   PROBES=500 RBAC_INTERVAL=15m scripts/soak-serve.sh
#
# RBAC_INTERVAL (default 1s, far below the 15m default) makes the rbac
# check open a PowerShell session on most probes, so the session path is
# soaked too rather than served from the cache.
set -euo pipefail
cd "$(dirname "$0")/.."
probes=${PROBES:-2000}
parallel=${PARALLEL:-4}
limit=${TIMEOUT:-900}
rbac_interval=${RBAC_INTERVAL:-1s}

work=$(mktemp -d /tmp/exdiag-soak.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	if [ -s "$work/serve.err" ]; then
		echo "== last lines of exdiag serve's log:" >&2
		tail -n 5 "$work/serve.err" >&2
	fi
	rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/exdiag" ./cmd/exdiag

scenarios=(healthy apppool-stopped auth-redirected backend-down backend-untrusted bad-password
	basic-disabled cas2-basic-disabled client-cert dns-cname dns-external-private dns-no-split
	http-basic-exposed http-no-hsts http-not-redirected rbac-admin rbac-limited rbac-quota
	tls-expires-soon tls-legacy-protocol)

"$work/exdiag" lab serve "${scenarios[@]}" --config-out "$work/fleet.yaml" >"$work/lab.out" 2>&1 &
pids+=($!)
for _ in $(seq 1 600); do
	grep -q 'lab running' "$work/lab.out" 2>/dev/null && break
	sleep 0.1
done
[ -s "$work/fleet.yaml" ] || { echo "soak-serve: the lab did not start:" >&2; cat "$work/lab.out" >&2; exit 1; }
# the lab prints the variables that hold its passwords as export lines
eval "$(grep -E '^[[:space:]]*export EXDIAG_LAB_PASSWORD[A-Z0-9_]*=' "$work/lab.out")"
# the lab profile has no defaults; give the soak's rbac interval there
printf 'defaults:\n  rbac_interval: %s\n' "$rbac_interval" | cat - "$work/fleet.yaml" >"$work/soak.yaml"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$work/exdiag" serve --config "$work/soak.yaml" --listen "127.0.0.1:$port" 2>"$work/serve.err" &
pids+=($!)

python3 - "$port" "$probes" "$parallel" "$limit" "${scenarios[@]}" <<'PY'
import concurrent.futures, sys, time, urllib.request, urllib.error

port, probes, parallel, limit = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
targets = sys.argv[5:]
base = f"http://127.0.0.1:{port}"
deadline = time.monotonic() + limit

for _ in range(300):
    try:
        urllib.request.urlopen(base + "/-/healthy", timeout=1).read()
        break
    except OSError:
        time.sleep(0.1)
else:
    sys.exit("soak-serve: exdiag serve did not come up")

def metrics():
    body = urllib.request.urlopen(base + "/metrics", timeout=10).read().decode()
    out = {}
    for line in body.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, _, value = line.rpartition(" ")
        out[name] = float(value)
    return out

def probe(i):
    t = targets[i % len(targets)]
    req = urllib.request.Request(f"{base}/probe?target={t}", headers={"X-Prometheus-Scrape-Timeout-Seconds": "15"})
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            r.read()
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError as e:  # no answer at all: say which kind
        return type(getattr(e, "reason", e)).__name__

# warm-up: every target once, so caches, pools and the runtime settle
for i in range(len(targets)):
    probe(i)
time.sleep(1)
start = metrics()
t0 = time.monotonic()
codes = {}
done = 0
with concurrent.futures.ThreadPoolExecutor(parallel) as pool:
    it = iter(range(probes))
    running = set()
    while True:
        while len(running) < parallel and time.monotonic() < deadline:
            i = next(it, None)
            if i is None:
                break
            running.add(pool.submit(probe, i))
        if not running:
            break
        fin, running = concurrent.futures.wait(running, return_when=concurrent.futures.FIRST_COMPLETED)
        for f in fin:
            codes[f.result()] = codes.get(f.result(), 0) + 1
            done += 1
wall = time.monotonic() - t0
time.sleep(1)  # let the last connections close
end = metrics()

def g(m, k):
    return m.get(k, float("nan"))

print(f"soak: {done} probes of {len(targets)} deployments, {parallel} at a time, in {wall:.1f}s ({done/wall:.1f}/s); answers {dict(sorted(codes.items(), key=str))}")
print(f"{'':28} {'start':>12} {'end':>12}")
for k, label, scale in [("go_goroutines", "goroutines", 1), ("process_open_fds", "open fds", 1),
                        ("process_resident_memory_bytes", "RSS MiB", 1 / 2**20),
                        ('go_memstats_heap_inuse_bytes', "heap in use MiB", 1 / 2**20)]:
    print(f"{label:28} {g(start, k) * scale:12.1f} {g(end, k) * scale:12.1f}")
cpu = g(end, "process_cpu_seconds_total") - g(start, "process_cpu_seconds_total")
print(f"{'CPU per probe':28} {cpu / max(done, 1) * 1000:12.2f} ms  ({cpu:.1f}s over the soak)")
sessions = g(end, "exdiag_rbac_sessions_total") - g(start, "exdiag_rbac_sessions_total")
print(f"{'rbac sessions opened':28} {sessions:12.0f}")
bad = sum(n for c, n in codes.items() if c != 200)
if bad:
    print(f"soak-serve: {bad} probes without a 200 answer; the service log is in serve.err", file=sys.stderr)
if done < probes:
    sys.exit(f"soak-serve: only {done} of {probes} probes within {limit:.0f}s")
PY
