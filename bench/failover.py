#!/usr/bin/env python3
"""Ring formation and failover times, measured with the netns harness (tests/it/harness.py).

    python3 bench/failover.py --kind corosync [--nodes 3 5] [--token 1000 default] [--runs 3]
                              [--fault kill|term] [--bin PATH] [--json FILE]

--kind: corosync, totemd, or a comma list per node (corosync,totemd,totemd) for a mixed ring.
formation: from starting every daemon to the moment the last node logs the full membership.
failover:  from kill -9 (or SIGTERM with --fault term) of the highest node to the moment the
           last survivor logs the new membership without it.
Times come from the daemons' log timestamps (millisecond precision) against the harness's
wall clock; the harness polls the logs every 20 ms as a cross-check.
"""

import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "it"))
import harness  # noqa: E402


def measure(kind, nodes, token, transport, crypto, bin_path, fault="kill"):
    with harness.Cluster(nodes, kind=kind, transport=transport, crypto=crypto, token=token,
                         bin=bin_path) as c:
        everyone = list(range(1, nodes + 1))
        t0 = time.time()
        m = c.wait_for_membership(everyone, everyone, timeout=120)
        formation = m.time - t0
        # let the ring settle (sync, quorum) before the fault
        time.sleep(1.0)
        t_kill = c.kill(nodes) if fault == "kill" else c.terminate(nodes)
        survivors = everyone[:-1]
        m2 = c.wait_for_membership(survivors, survivors, timeout=120, since=t_kill)
        return {"formation_s": round(formation, 3), "failover_s": round(m2.time - t_kill, 3),
                "failover_poll_s": round(m2.seen - t_kill, 3)}


def summary(xs):
    return {"median": round(statistics.median(xs), 3), "min": round(min(xs), 3),
            "max": round(max(xs), 3), "n": len(xs)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kind", default="corosync")
    ap.add_argument("--bin", default=None)
    ap.add_argument("--nodes", type=int, nargs="+", default=[3, 5])
    ap.add_argument("--token", nargs="+", default=["1000", "default"],
                    help="token in ms, or 'default' for corosync's default (3000 + coefficient)")
    ap.add_argument("--transport", default="knet")
    ap.add_argument("--no-crypto", action="store_true")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--fault", choices=["kill", "term"], default="kill")
    ap.add_argument("--json", default=None, help="also write the results here")
    a = ap.parse_args()
    harness.cleanup_stale()
    results = []
    for nodes in a.nodes:
        for tok in a.token:
            token = None if tok == "default" else int(tok)
            kinds = a.kind.split(",")
            kind = kinds[0] if len(kinds) == 1 else (kinds * nodes)[:nodes]
            runs = [measure(kind, nodes, token, a.transport, not a.no_crypto, a.bin, a.fault)
                    for _ in range(a.runs)]
            r = {"kind": a.kind, "nodes": nodes, "fault": a.fault, "token": tok, "transport": a.transport,
                 "crypto": not a.no_crypto,
                 "formation_s": summary([x["formation_s"] for x in runs]),
                 "failover_s": summary([x["failover_s"] for x in runs]),
                 "runs": runs}
            results.append(r)
            print(f"{a.kind:9} {a.transport} n={nodes} token={tok:>7} {a.fault:4}: "
                  f"formation {r['formation_s']['median']:.3f}s "
                  f"[{r['formation_s']['min']:.3f}..{r['formation_s']['max']:.3f}]  "
                  f"{'kill -9' if a.fault == 'kill' else 'SIGTERM'}→new ring "
                  f"{r['failover_s']['median']:.3f}s "
                  f"[{r['failover_s']['min']:.3f}..{r['failover_s']['max']:.3f}]  "
                  f"(runs {a.runs})", flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
