#!/usr/bin/env python3
"""./dev bench: side-by-side measurements of totemd and corosync 3.1.7 in network namespaces.

    python3 bench/run.py [--bin DIR] [--runs N] [--quick]

Runs bench/failover.py (ring formation for 3 and 5 nodes; kill -9 failover with token 1000 ms
and the default token; SIGTERM with token 1000 ms; a mixed corosync + totemd ring) for every kind
that can run here, and says plainly which ones cannot. Throughput and latency benchmarks come
with the services (CPG); until then this is the membership side.
Exits non-zero when a kind the project promises is not available yet.
"""

import argparse
import os
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "tests", "it"))
import harness  # noqa: E402


def totemd_status(bin_hint):
    path = harness.find_totemd(bin_hint)
    if not path:
        return None, "totemd binary not built"
    # The daemon announces itself ready for the harness with -v; until engine/main lands the
    # binary is absent or a stub that cannot form a ring.
    try:
        out = subprocess.run([path, "-v"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, f"totemd -v failed: {e}"
    if out.returncode != 0:
        return None, f"totemd -v exited {out.returncode}"
    return path, ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=None)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="one run, token 1000 only")
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("bench: needs root (network namespaces)", file=sys.stderr)
        return 1
    kinds = []
    missing = []
    if os.access(harness.COROSYNC_BIN, os.X_OK):
        kinds.append(("corosync", None))
    else:
        missing.append(f"corosync: {harness.COROSYNC_BIN} not installed (./dev deps)")
    path, why = totemd_status(a.bin)
    if path:
        kinds.append(("totemd", path))
    else:
        missing.append(f"totemd: not available yet ({why})")
    for m in missing:
        print(f"bench: SKIPPED {m}", flush=True)
    rc = 0
    runs = "1" if a.quick else str(a.runs)
    plans = []
    for kind, path in kinds:
        plans.append((kind, path, ["--fault", "kill"] + (["--token", "1000"] if a.quick else [])))
        plans.append((kind, path, ["--fault", "term", "--nodes", "3", "--token", "1000"]))
    if len(kinds) == 2:  # a mixed ring: node 1 corosync, the others totemd
        plans.append(("corosync,totemd,totemd", kinds[1][1],
                      ["--fault", "kill", "--nodes", "3"] + (["--token", "1000"] if a.quick else [])))
    for kind, path, extra in plans:
        cmd = [sys.executable, os.path.join(here, "failover.py"), "--kind", kind, "--runs", runs]
        cmd += extra
        if path:
            cmd += ["--bin", path]
        print(f"bench: {' '.join(cmd[1:])}", flush=True)
        r = subprocess.run(cmd, timeout=3600)
        rc = rc or r.returncode
    return rc or (1 if missing else 0)


if __name__ == "__main__":
    sys.exit(main())
