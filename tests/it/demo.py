#!/usr/bin/env python3
"""./dev demo: a real 3-node totemd cluster on this machine, explained as it runs.

Three network namespaces joined by a bridge, one totemd in each, talking Totem over kronosnet
with AES-256/SHA-256 crypto. Each node runs the built-in load generator (corosync's "pload"
service messages), so messages flow; the demo shows the ring forming, the messages delivered in
the same total order everywhere, a node killed with SIGKILL and the ring re-forming without it,
and the node coming back. Everything is removed at the end, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Cluster  # noqa: E402

BOLD = "\033[1m" if sys.stdout.isatty() else ""
DIM = "\033[2m" if sys.stdout.isatty() else ""
RESET = "\033[0m" if sys.stdout.isatty() else ""


def say(text: str) -> None:
    print(f"{BOLD}==>{RESET} {text}", flush=True)


def detail(text: str) -> None:
    print(f"    {DIM}{text}{RESET}", flush=True)


def cmap(c: Cluster, i: int, key: str) -> str:
    """One key's value as Debian's corosync-cmapctl reads it from node i's totemd."""
    out = c.exec(i, ["corosync-cmapctl", "-g", key]).stdout.strip()
    return out.split(" = ", 1)[1] if " = " in out else "?"


def show_traffic(c: Cluster, nodes) -> None:
    for i in nodes:
        detail(f"node {i}: ring {cmap(c, i, 'runtime.totemd.ring_id')}, members "
               f"[{cmap(c, i, 'runtime.totemd.members')}], pload messages delivered: "
               f"{cmap(c, i, 'runtime.services.pload.1.rx')}")


def show_tool(c: Cluster, i: int, argv) -> None:
    detail(f"$ {' '.join(argv)}   (on node {i})")
    for line in c.exec(i, list(argv)).stdout.rstrip().splitlines():
        detail("  " + line)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bin", help="directory holding totemd")
    args = ap.parse_args()

    os.environ["TOTEMD_PLOAD"] = "100,1,64"  # every node: one 64-byte message each 100 ms
    start = time.time()
    say("Creating 3 network namespaces joined by a bridge, and starting totemd in each")
    detail("transport knet (libknet), crypto aes256 + sha256, token 1000 ms")
    with Cluster(3, kind="totemd", transport="knet", crypto=True, token=1000, bin=args.bin) as c:
        t0 = time.time()
        m = c.wait_for_membership([1, 2, 3], [1, 2, 3], timeout=30)
        say(f"The ring formed: members 1 2 3, ring id {m.ring_id} "
            f"({m.time - t0:.2f} s after start)")
        for line in c.nodes[1].watcher.grep(r"A new membership")[-1:]:
            detail("node 1 logged: " + line.split("] ", 1)[-1])

        say("A client's view: Debian's unmodified corosync tools talk to totemd over libqb IPC")
        show_tool(c, 1, ["corosync-cfgtool", "-s"])
        show_tool(c, 1, ["corosync-cmapctl", "runtime.members."])
        show_tool(c, 1, ["corosync-quorumtool", "-s"])

        say("Messages flow: every node multicasts; all deliver in one agreed order")
        time.sleep(3)
        show_traffic(c, [1, 2, 3])

        say("Killing node 3 with SIGKILL (no goodbye): the others must notice and re-form")
        t_kill = c.kill(3)
        m2 = c.wait_for_membership([1, 2], [1, 2], timeout=30, since=t_kill)
        say(f"New ring {m2.ring_id} with members 1 2, {m2.time - t_kill:.2f} s after the kill")
        detail("why (runtime.totemd.last_change_cause): " +
               cmap(c, 1, "runtime.totemd.last_change_cause"))
        show_tool(c, 1, ["corosync-cmapctl", "runtime.members.3.status"])
        detail("2 of 3 votes: the partition keeps quorum")
        show_tool(c, 1, ["corosync-quorumtool", "-l"])
        time.sleep(1)
        show_traffic(c, [1, 2])

        say("Restarting node 3: it rejoins")
        t_restart = time.time()
        c.restart(3)
        m3 = c.wait_for_membership([1, 2, 3], [1, 2, 3], timeout=30, since=t_restart)
        say(f"Ring {m3.ring_id} with members 1 2 3 again, {m3.time - t_restart:.2f} s after restart")
        time.sleep(2)
        show_traffic(c, [1, 2, 3])

        say("Stopping node 2 with SIGTERM: it says goodbye, the others re-form at once")
        t_term = c.terminate(2)
        m4 = c.wait_for_membership([1, 3], [1, 3], timeout=30, since=t_term)
        say(f"Ring {m4.ring_id} with members 1 3, {max(0.0, m4.time - t_term):.2f} s after SIGTERM "
            f"(no token timeout needed)")
        say("Cleaning up: stopping every daemon, deleting the namespaces")
    say(f"Done in {time.time() - start:.0f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
