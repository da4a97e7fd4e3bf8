#!/usr/bin/env python3
"""A probe for one bench point, with Totem's counters around it (not part of ./dev bench).

    python3 bench/probe.py KIND NODES SIZE [PERF_OUT]     (root; KIND corosync or totemd)

One KIND cluster (knet, crypto on, token 1000 ms), two flood points of SIZE bytes with every node
sending (bench/benchlib.py cpg_point), and after each: stats.srp (corosync-cmapctl -m stats on
node 1) and how often libcpg's send_fragments slept on CS_ERR_TRY_AGAIN ("sleep. counter=" on
each client's stderr). With PERF_OUT, `perf record -g` of node 1's daemon for 4 s of the first.
Written to find out why totemd delivers 0.2–4 msg/s of 1 MiB at 5 nodes, 5 senders.
"""
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl
_orig_stop = bl.Proc.stop
SLEEPS = []
def _stop(self):
    SLEEPS.append(sum(1 for l in self.lines if l.startswith("sleep. counter")))
    return _orig_stop(self)
bl.Proc.stop = _stop
kind = sys.argv[1]; n = int(sys.argv[2]); size = int(sys.argv[3]); out = sys.argv[4] if len(sys.argv) > 4 else None

def stats(e, tag):
    import subprocess
    p = e.c.spawn(1, ["/usr/sbin/corosync-cmapctl", "-m", "stats", "stats.srp"], stdout=subprocess.PIPE)
    out = p.communicate(timeout=20)[0]
    out = out.decode() if isinstance(out, bytes) else out
    want = ("orf_token_tx","mcast_tx","mcast_retx","token_retransmits","rtr_requested","mtt_rx_token","operational_token_lost","avg_backlog_calc","send_queue_full","rx_msg_dropped","avg_token_workload")
    print(tag, {l.split()[0].split(".")[-1]: l.split()[-1] for l in out.splitlines() if any(w in l for w in want)}, flush=True)
tb = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "default", "bin")
with bl.Engine(kind, n, True, 1000, tb + "/totemd", tb) as e:
    time.sleep(1)
    pid = e.pids()[1]
    th = None
    if out:
        def rec():
            time.sleep(1.5)
            subprocess.run(["perf", "record", "-F", "499", "-g", "-p", str(pid), "-o", out, "--", "sleep", "4"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
        th = threading.Thread(target=rec); th.start()
    stats(e, "before")
    for rep in range(2):
        r = bl.cpg_point(e, size, n, warmup=1.0, seconds=4.0, linger=0.4)
        print(kind, n, size, r["msgs_s"], r["msgs_s_min"], "sent/s", r["sent_s"], "try_again", r["try_again"], "cpu", r["daemon_cpu_s"], "load", r["load"], flush=True)
        stats(e, "after"); print("libcpg TRY_AGAIN sleeps per client", SLEEPS[-n:], flush=True)
    if th: th.join()
