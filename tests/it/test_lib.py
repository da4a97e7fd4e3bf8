#!/usr/bin/env python3
"""libtotem against both daemons (issue 19): every service through totem-lib-probe, CPG
messages of every size between libtotem and corosync's libcpg, and the examples.

    python3 tests/it/test_lib.py CASE          CASE: see CASES ("all" runs every case)

corosync             every part on one 3-node corosync 3.1.7 cluster
totemd               cmap, cfg and the connection errors on 3 totemd nodes
totemd_<service>     the cpg / quorum / votequorum part on totemd (expected to fail while the
                     service is in TOTEMD_SERVICES_PENDING, see libtools_common.pending)
"""

from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from libtools_common import (bin_dir, check, finish, pending, read_json_lines,  # noqa: E402
                             run_in, spawn_in)

NODES = [1, 2, 3]
TIMEOUT_S = 40


def probe(c, i, *args, timeout=60):
    r = run_in(c, i, [os.path.join(bin_dir(), "totem-lib-probe")] + [str(a) for a in args],
               timeout=timeout)
    failed = [line for line in r.stdout.splitlines() if '"ok":false' in line]
    summary = [line for line in r.stdout.splitlines() if '"summary"' in line]
    print(f"  probe {' '.join(map(str, args))}: rc={r.returncode} {summary[-1] if summary else ''}")
    check(r.returncode == 0 and not failed,
          f"probe {args}: rc={r.returncode} failed={failed[:5]} stderr={r.stderr[-300:]}")
    return r


def example(c, i, name, *args, want_rc=0, timeout=30):
    r = run_in(c, i, [os.path.join(bin_dir(), "totem-example-" + name)] + [str(a) for a in args],
               timeout=timeout)
    check(r.returncode == want_rc, f"example {name}: rc {r.returncode}: {r.stdout[-300:]} "
          f"{r.stderr[-300:]}")
    return r.stdout


# ---------------------------------------------------------------------------------- parts

def part_cmap_cfg(c):
    probe(c, 1, "cmap")
    probe(c, 2, "cfg", 2, *NODES)
    probe(c, 1, "errors")
    out = example(c, 1, "cmap_dump", "nodelist.node.")
    check("nodelist.node.0.nodeid (u32) = 1" in out, f"cmap_dump: {out[:200]}")
    out = example(c, 1, "cmap_dump", "stats.ipcs.global", "--stats")
    check("stats.ipcs.global.active (u64)" in out, f"cmap_dump --stats: {out[:200]}")
    out = example(c, 1, "cfg_status", 2, 3)
    check("local node 1" in out and "node 2: reachable" in out and "address 10.201.0.3" in out,
          f"cfg_status: {out}")


def part_quorum(c):
    probe(c, 1, "quorum", *NODES)
    out = example(c, 2, "quorum_watch")
    check("quorate, members: 1 2 3" in out, f"quorum_watch: {out}")


def part_votequorum(c):
    probe(c, 3, "votequorum", *NODES)
    out = example(c, 1, "votequorum_info", 1, 2, 3)
    check(out.count("votes 1 expected 3 total 3 quorum 2 quorate") == 3, f"votequorum_info: {out}")


def part_cpg(c):
    """Listeners on nodes 2 and 3 (libtotem) and 3 (libcpg); senders libtotem on node 1 and
    libcpg on node 2. Every message of every size reaches every listener intact, all in one
    order; the large ones are split and reassembled by each library for the other."""
    probe(c, 1, "cpg-errors")
    group = "libtest-cpg"
    sizes_totem = [1, 10, 65536, 1047552, 1047553, 3 * 1048576 + 7]
    sizes_libcpg = [1047553, 2500000, 5]
    total = len(sizes_totem) + len(sizes_libcpg)
    peer = os.path.join(bin_dir(), "totem-libcpg-peer")
    listeners = {
        "totem@2": spawn_in(c, 2, [os.path.join(bin_dir(), "totem-lib-probe"), "cpg-listen",
                                   group, str(total), "40"]),
        "totem@3": spawn_in(c, 3, [os.path.join(bin_dir(), "totem-lib-probe"), "cpg-listen",
                                   group, str(total), "40"]),
        "libcpg@3": spawn_in(c, 3, [peer, "listen", group, str(total), "40"]),
    }
    events = {}
    for name, p in listeners.items():
        events[name] = read_json_lines(p, lambda j: j.get("event") == "ready", 15)
        check(any(j.get("event") == "ready" for j in events[name]), f"{name} not ready: "
              f"{events[name]} {p.stderr.read() if p.poll() is not None else ''}")
    t0 = time.time()
    s1 = spawn_in(c, 1, [os.path.join(bin_dir(), "totem-lib-probe"), "cpg-send", group]
                  + [str(s) for s in sizes_totem])
    rc1, out1, err1 = finish(s1, 60)
    check(rc1 == 0, f"libtotem sender rc {rc1}: {[j for j in out1 if not j.get('ok', True)]} {err1}")
    s2 = spawn_in(c, 2, [peer, "send", group] + [str(s) for s in sizes_libcpg])
    rc2, out2, err2 = finish(s2, 60)
    check(rc2 == 0, f"libcpg sender rc {rc2}: {out2} {err2}")
    sent = [(j["size"], j["fnv"]) for j in out1 + out2 if j.get("event") == "sent"]
    check(len(sent) == total, f"sent {len(sent)} of {total}")
    orders = {}
    for name, p in listeners.items():
        rc, lines, err = finish(p, 60)
        evs = events[name] + lines
        got = [(j["size"], j["fnv"]) for j in evs if j.get("event") == "deliver"]
        check(rc == 0, f"{name}: rc {rc} got {len(got)} of {total}: {err[-300:]}")
        check(sorted(got) == sorted(sent), f"{name}: delivered {got} != sent {sent}")
        orders[name] = [(j["nodeid"], j["pid"], j["fnv"]) for j in evs
                        if j.get("event") == "deliver"]
        if name.startswith("totem"):
            # deliver_initial_totem_conf: the totem configuration comes right after the join.
            tc = [j for j in evs if j.get("event") == "totem_confchg"]
            check(tc and tc[0]["members"] == NODES, f"{name}: totem confchg {tc[:1]}")
            joins = [j for j in evs if j.get("event") == "confchg" and j["joined"]]
            check(any(x["nodeid"] == 1 for j in joins for x in j["joined"]),
                  f"{name}: the sender's join was not seen: {joins}")
    check(len(set(map(tuple, orders.values()))) == 1, f"delivery orders differ: {orders}")
    print(f"  cpg: {total} messages ({max(sizes_totem)} bytes the largest) to 3 listeners "
          f"(libtotem, libcpg) in {time.time() - t0:.1f}s, one order")

    # Blocking sends as fast as they go: none is lost (the library waits for flow control).
    listen = spawn_in(c, 2, [os.path.join(bin_dir(), "totem-lib-probe"), "cpg-listen",
                             "libtest-blast", "300", "60"])
    check(any(j.get("event") == "ready" for j in read_json_lines(
        listen, lambda j: j.get("event") == "ready", 15)), "blast listener not ready")
    r = probe(c, 1, "cpg-blast", "libtest-blast", 300, 100000, timeout=90)
    rc, lines, err = finish(listen, 60)
    got = sum(1 for j in lines if j.get("event") == "deliver")
    check(rc == 0 and got == 300, f"blast: listener got {got} of 300 (rc {rc})")
    blast = [line for line in r.stdout.splitlines() if '"blast"' in line]
    print(f"  cpg blast: {blast[-1] if blast else '?'}")

    out = example(c, 1, "cpg_chat", "libtest-chat", "hello", "world")
    check("deliver 1/" in out and "hello" in out and "world" in out, f"cpg_chat: {out}")
    out = example(c, 2, "asio_cpg", "libtest-asio", 10)
    check(out.startswith("hello from "), f"asio_cpg: {out}")


def part_quorum_change(c):
    """A node stops: the quorum notification of the survivors names the new members."""
    w = spawn_in(c, 1, [os.path.join(bin_dir(), "totem-lib-probe"), "quorum-watch", "30"])
    first = read_json_lines(w, lambda j: j.get("event") == "quorum", 10)
    check(first and first[-1].get("members") == NODES, f"quorum-watch start: {first}")
    t = c.terminate(3)
    lines = read_json_lines(w, lambda j: j.get("event") == "quorum" and j["members"] == [1, 2],
                            TIMEOUT_S)
    check(lines and lines[-1].get("members") == [1, 2] and lines[-1]["quorate"],
          f"after stopping node 3: {lines}")
    print(f"  quorum change seen {time.time() - t:.2f}s after node 3 stopped")
    harness.stop_pid(w.pid)


# ---------------------------------------------------------------------------------- cases

def cluster(kind):
    return harness.Cluster(3, kind=kind, transport="knet", crypto=True)


def formed(c):
    c.wait_for_membership(NODES, NODES, timeout=TIMEOUT_S)
    time.sleep(1.0)  # sync done on every node


def case_corosync():
    with cluster("corosync") as c:
        formed(c)
        part_cmap_cfg(c)
        part_quorum(c)
        part_votequorum(c)
        part_cpg(c)
        part_quorum_change(c)


def case_totemd():
    with cluster("totemd") as c:
        formed(c)
        part_cmap_cfg(c)


def totemd_service(service, fn):
    def case():
        with cluster("totemd") as c:
            formed(c)
            pending("totemd", service, lambda: fn(c))
    return case


CASES = {
    "corosync": case_corosync,
    "totemd": case_totemd,
    "totemd_cpg": totemd_service("cpg", part_cpg),
    "totemd_quorum": totemd_service("quorum", lambda c: (part_quorum(c), part_quorum_change(c))),
    "totemd_votequorum": totemd_service("votequorum", part_votequorum),
}

if __name__ == "__main__":
    sys.exit(harness.run_cases(CASES, sys.argv[1:]))
