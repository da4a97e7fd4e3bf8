#!/usr/bin/env python3
"""Syscalls and context switches per delivered message, both engines (not part of ./dev bench).

    python3 bench/probe_syscalls.py SIZE [SENDERS]     (root)
    PROBE_TRACE=1 python3 bench/probe_syscalls.py ...  (the 8 commonest syscalls instead)

For each engine: a 3-node cluster (knet, crypto on, token 1000 ms), one flood point of SIZE-byte
messages (bench/benchlib.py cpg_point) and, over 3 s of it, `perf stat` on node 1's daemon (every
thread, knet's included): raw_syscalls:sys_enter, context-switches, task-clock. Printed per
message delivered at node 1, so that the engines compare by what each message costs.
"""
import os
import re
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl

size = int(sys.argv[1])
senders = int(sys.argv[2]) if len(sys.argv) > 2 else 3
tb = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "default", "bin")
EVENTS = "raw_syscalls:sys_enter,context-switches,task-clock"
for kind in ("corosync", "totemd"):
    with bl.Engine(kind, 3, True, 1000, tb + "/totemd", tb) as e:
        time.sleep(1)
        pid = e.pids()[1]
        out = {}

        def rec():
            time.sleep(2.0)  # cpg_point: clients start, 1 s warm-up
            if os.environ.get("PROBE_TRACE"):  # per-syscall counts instead (perf trace -s)
                r = subprocess.run(["perf", "trace", "-s", "-p", str(pid), "--", "sleep", "3"],
                                   capture_output=True, text=True, timeout=60)
                tot = {}
                for line in r.stderr.splitlines():
                    f = line.split()
                    if len(f) > 2 and f[1].isdigit() and re.match(r"^[a-z_0-9]+$", f[0]):
                        tot[f[0]] = tot.get(f[0], 0) + int(f[1])
                for k, v in sorted(tot.items(), key=lambda kv: -kv[1])[:8]:
                    out[k] = float(v)
                return
            r = subprocess.run(["perf", "stat", "-x", ",", "-e", EVENTS, "-p", str(pid), "--",
                                "sleep", "3"], capture_output=True, text=True, timeout=60)
            for line in r.stderr.splitlines():
                f = line.split(",")
                if len(f) > 2 and re.match(r"^[\d.]+$", f[0]):
                    out[f[2]] = float(f[0])
        th = threading.Thread(target=rec)
        th.start()
        r = bl.cpg_point(e, size, senders, warmup=1.0, seconds=5.0, linger=0.4)
        th.join()
        msgs = r["msgs_s"] * 3.0  # node 1's deliveries over perf's 3 s (mean rate of the nodes)
        print(f"{kind:8} {size} B x{senders}: {r['msgs_s']:,.0f} msg/s delivered per node; per "
              f"message at node 1: "
              + ", ".join(f"{k} {v / msgs:.2f}" for k, v in out.items()), flush=True)
