#!/usr/bin/env python3
"""./dev demo-pacemaker: Pacemaker on a 3-node totemd cluster, explained as it runs.

Three network namespaces joined by a bridge, totemd in each (kronosnet, AES-256/SHA-256),
Debian's unmodified pacemakerd -f on top with its own /run, /var/lib/pacemaker and
/var/log/pacemaker per node (tests/it/pcmk_stack.py). The demo shows the stack coming up,
`pcs status`, resources placed (a Dummy, a clone, a group), a network cut isolating node 3:
n3 loses quorum and stops its resources (no-quorum-policy=stop) while n1 and n2 start them,
then the heal. Everything is removed at the end, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import pcmk_stack  # noqa: E402
from pcmk_stack import (ALL3, WITHOUT3, Stack, push_resources, settled,  # noqa: E402
                        wait_all_agree, wait_view)

BOLD = "\033[1m" if sys.stdout.isatty() else ""
DIM = "\033[2m" if sys.stdout.isatty() else ""
RESET = "\033[0m" if sys.stdout.isatty() else ""


def say(text: str) -> None:
    print(f"{BOLD}==>{RESET} {text}", flush=True)


def detail(text: str) -> None:
    print(f"    {DIM}{text}{RESET}", flush=True)


def show(s: Stack, i: int, argv, keep=None) -> None:
    """A tool's output on node i; `keep`: only the lines matching this regex."""
    detail(f"$ {' '.join(argv)}   (on n{i})")
    out = s.p.tool(i, argv).stdout.rstrip()
    # no systemd in a namespace: pcs status' Daemon Status block reads inactive; not shown
    out = re.sub(r"(?s)\nDaemon Status:\n.*$", "", out)
    for line in out.splitlines():
        if keep is None or re.search(keep, line):
            detail("  " + line)


def where(s: Stack, i: int) -> str:
    v = pcmk_stack.view(s.p, i)
    if v is None:
        return "?"
    return ", ".join(f"{r} on {'+'.join(ns) or '(stopped)'}" for r, ns in sorted(v.where.items()))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bin", help="directory holding totemd")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("needs root (network namespaces)")
        return 1
    why = pcmk_stack.available()
    if why:
        print(f"cannot run: {why}")
        return 1
    harness.cleanup_stale()
    start = time.time()
    say("Creating 3 network namespaces joined by a bridge; totemd in each, then pacemakerd")
    detail("knet with aes256 + sha256, token 1000 ms; Pacemaker 2.1.5 as Debian ships it;")
    detail("cluster options: " + " ".join(pcmk_stack.PROPERTIES))
    with Stack("totemd", 3, bin=args.bin) as s:
        t0 = s.start([1, 2, 3], late=[3])
        _, t = wait_view(s.p, 1, "all Online", settled([1, 2, 3], {}))
        wait_all_agree(s.p, [1, 2, 3], "one DC", settled([1, 2, 3], {}))
        say(f"All three nodes Online with a DC, {t - t0:.1f} s after the daemons started")
        show(s, 1, ["pcs", "status"])

        say("Creating resources (pcs on a file, pushed with cibadmin as pcs cluster cib-push):")
        detail("solo: ocf:pacemaker:Dummy preferring n3; cl-clone: a Dummy on every node;")
        detail("grp: a group of two Dummies (g1, g2) preferring n2")
        push_resources(s.p, 1)
        wait_all_agree(s.p, [1, 2, 3], "resources placed", settled([1, 2, 3], ALL3))
        say("Placed: " + where(s, 1))
        show(s, 1, ["crm_mon", "-1"], keep=r"Started|Clone|Group|Online")

        say("Cutting node 3 off the network (nftables drops everything to and from n1, n2)")
        t_cut = s.c.partition([[1, 2], [3]])
        _, t = wait_view(s.p, 1, "solo on n1", settled([1, 2], WITHOUT3))
        say(f"n1 and n2 (2 of 3 votes, quorate) run solo on n1, {t - t_cut:.1f} s after the cut")
        show(s, 1, ["pcs", "status"], keep=r"partition|Online|OFFLINE|Started|Stopped")
        wait_view(s.p, 3, "n3 without quorum, resources stopped",
                  lambda v: not v.quorum and all(not ns for ns in v.where.values()))
        say("n3 alone has no quorum: no-quorum-policy=stop stopped everything it ran")
        show(s, 3, ["crm_mon", "-1", "-r"], keep=r"partition|Online|OFFLINE|Started|Stopped")

        say("Healing the network")
        t_heal = s.c.heal()
        t = wait_all_agree(s.p, [1, 2, 3], "one cluster", settled([1, 2, 3], {}))
        say(f"One cluster again, {t - t_heal:.1f} s after the heal")
        wait_all_agree(s.p, [1, 2, 3], "resources back", settled([1, 2, 3], ALL3))
        say("Back where they were: " + where(s, 1))
        show(s, 2, ["crm_node", "-l"])
        show(s, 1, ["corosync-quorumtool", "-s"], keep=r"Quorate|votes|Nodes")
        say("Cleaning up: stopping pacemaker and totemd, deleting the namespaces")
    say(f"Done in {time.time() - start:.0f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
