#!/usr/bin/env python3
"""CPG for Debian's unmodified libcpg on totemd, held to corosync 3.1.7 (issue 16).

    python3 tests/it/test_cpg.py --client BUILD/bin/totem-cpg-client [--full] [--quick] CASE...

Three nodes in network namespaces (knet + crypto, token 1000 ms); every client is
tests/it/cpg_client.cpp, linked to Debian's libcpg. Cases (see CASES):

  order_agreed  every node joins one group and sends small messages (16 B-8 KiB) at once:
                the same sequence everywhere (hash), nothing lost, doubled or corrupted;
                the issue's 100,000 messages a node (~1 min); --quick 10,000
  order_large   the same with messages up to 1 MiB (every tenth exactly 1 MiB: libcpg sends
                those in parts and the receiving library reassembles them); 300 a node
  callbacks     kill -9 of a client (PROCDOWN) and of a node (NODEDOWN), the node restarted
                and its client joining (JOIN), a partition and its heal (NODEDOWN, NODEUP): the
                callbacks of every client, run on corosync and on totemd, compared
  cpgtool       corosync-cpgtool, -d, -e, -n on every node for the same groups (names with a
                space, a backslash, a control byte, a trailing NUL as Pacemaker's), and the
                library calls (local, max, context, iteration, zero-copy), on both, compared
  mixed         corosync on node 1, totemd on 2 and 3, a client on every node: one order for
                messages from both kinds, the same confchgs, 1 MiB messages both ways, kill -9
                of the corosync node and of a totemd node; callbacks compared with the same
                script on an all-corosync ring
  stuck         a client that stops reading while the others send at full rate (20 s; --full
                60 s): the ring and the other clients go on at their rate, the stuck client is
                disconnected at the cap (32 MiB), the daemon's RSS grows by at most the cap plus
                a margin (RSS_MARGIN_MB), the disconnect shows in stats

Each case prints what it measured and exits non-zero on failure. Needs root.
"""

from __future__ import annotations

import argparse
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

TIMEOUT_S = 60
CLIENT = ""
FULL = False
QUICK = False
CAP_MB = 32            # engine/ipc kEventQueueMaxBytesDefault
RSS_MARGIN_MB = 24     # beyond the cap: the stuck client's event ring, allocator slack
ATOMIC = 1047552       # libcpg's cpg_max_atomic_msgsize
MIB = 1 << 20


def check(cond: bool, what: str) -> None:
    if not cond:
        raise AssertionError(what)


# ------------------------------------------------------------------------------------------------
# one libcpg client

class Client:
    """A totem-cpg-client in node `node`'s namespace, driven through its stdin."""

    def __init__(self, c: harness.Cluster, node: int, label: str, v1: bool = True,
                 quiet: bool = False):
        self.c, self.node, self.label = c, node, label
        argv = [CLIENT] + (["--v1"] if v1 else []) + (["--quiet"] if quiet else [])
        self.p = c.spawn(node, argv, stdin=subprocess.PIPE)
        self.lines: list[str] = []
        self.lock = threading.Lock()
        self.q: "queue.Queue[str]" = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        m = self.expect(r"^READY nodeid=(\d+) pid=(\d+)", timeout=30)
        self.nodeid, self.pid = int(m.group(1)), int(m.group(2))
        check(self.nodeid == node, f"{label}: local node id {self.nodeid}")

    def _read(self) -> None:
        for line in self.p.stdout:
            line = line.rstrip("\n")
            with self.lock:
                self.lines.append(line)
            self.q.put(line)

    def expect(self, pattern: str, timeout: float = TIMEOUT_S) -> re.Match:
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{self.label}: no line /{pattern}/ in {timeout}s; last: "
                                   f"{self.lines[-5:]}")
            try:
                line = self.q.get(timeout=min(left, 1.0))
            except queue.Empty:
                if self.p.poll() is not None:
                    raise RuntimeError(f"{self.label}: client exited {self.p.returncode}; "
                                       f"last: {self.lines[-5:]}")
                continue
            m = rx.search(line)
            if m:
                return m

    def send(self, line: str) -> None:
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()

    def cmd(self, line: str, timeout: float = TIMEOUT_S) -> str:
        """Runs one command and returns its RESULT line (without "RESULT <cmd> ")."""
        name = line.split()[0]
        self.send(line)
        m = self.expect(r"^RESULT " + re.escape(name) + r" (.*)$", timeout)
        return m.group(1)

    def report(self) -> dict:
        self.send("report")
        m = self.expect(r"^REPORT (.*)$")
        return dict(kv.split("=", 1) for kv in m.group(1).split())

    def events(self) -> list[str]:
        with self.lock:
            return [x for x in self.lines if x.startswith(("CONFCHG", "TOTEM"))]

    def wait_events(self, count: int, timeout: float = TIMEOUT_S) -> list[str]:
        """Until this client has seen at least `count` CONFCHG/TOTEM callbacks."""
        deadline = time.monotonic() + timeout
        while len(self.events()) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.label}: {len(self.events())} of {count} callbacks: "
                                   f"{self.events()}")
            time.sleep(0.05)
        return self.events()

    def wait_for(self, pattern: str, timeout: float = TIMEOUT_S) -> None:
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while not any(rx.search(x) for x in self.events()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.label}: no callback /{pattern}/: {self.events()}")
            time.sleep(0.05)

    def kill(self) -> None:
        os.kill(self.p.pid, signal.SIGKILL)
        self.p.wait(timeout=10)

    def close(self) -> None:
        if self.p.poll() is None:
            try:
                self.send("exit")
                self.p.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self.kill()


def members_line(c: Client, group: str) -> str:
    return c.cmd(f"members {group}")


def wait_members(clients, group: str, want: int, timeout: float = TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    for cl in clients:
        while True:
            r = members_line(cl, group).split()
            n = len(r[1].split(",")) if len(r) > 1 and r[1] else 0
            if r[0] == "1" and n == want:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{cl.label}: members of {group}: {r}")
            time.sleep(0.1)


def wait_node_members(c: harness.Cluster, node: int, want: int,
                      timeout: float = TIMEOUT_S) -> None:
    """Waits until corosync-cpgtool on `node` lists `want` processes (in all groups)."""
    deadline = time.monotonic() + timeout
    while True:
        r = c.exec(node, ["corosync-cpgtool"])
        n = len(re.findall(r"(?m)^\s+\d+\s+\d+ \(", r.stdout)) if r.returncode == 0 else -1
        if n == want:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"node {node}: corosync-cpgtool lists {n} processes, not {want}:"
                               f" {r.stdout}{r.stderr}")
        time.sleep(0.05)


def cluster(kind, **kw) -> harness.Cluster:
    return harness.Cluster(3, kind=kind, transport="knet", crypto=True, token=1000, **kw)


def up(c: harness.Cluster, ids=(1, 2, 3)) -> None:
    c.wait_for_membership(list(ids), list(ids), timeout=TIMEOUT_S)


# ------------------------------------------------------------------------------------------------
# masking: what differs between two runs (pids, ring seqs) is replaced by labels


class Masker:
    def __init__(self):
        self.names: dict[int, str] = {}

    def add(self, cl: Client) -> None:
        self.names[cl.pid] = cl.label

    def pid(self, p: int) -> str:
        return self.names.get(p, f"pid?{p}")

    def line(self, line: str) -> str:
        if line.startswith("TOTEM"):
            return re.sub(r"ring=(\d+)\.\d+", r"ring=\1.S", line)
        # n:p[:r] lists; the left and joined lists sorted (their order follows the order in
        # which joinlists happened to be delivered)
        def lst(m: re.Match) -> str:
            items = [x for x in m.group(2).split(",") if x]
            out = []
            for it in items:
                f = it.split(":")
                f[1] = self.pid(int(f[1]))
                out.append(":".join(f))
            if m.group(1) != "members":
                out.sort()
            return f"{m.group(1)}={','.join(out)}"
        return re.sub(r"(members|left|joined)=(\S*)", lst, line)

    def events(self, cl: Client) -> list[str]:
        out = []
        for e in cl.events():
            x = self.line(e)
            if x.startswith("TOTEM") and out and out[-1] == x:
                continue  # a sync run twice for one change
            out.append(x)
        return out


# ------------------------------------------------------------------------------------------------
# acceptance 1: one agreed order


def load_run(kind, batches, label: str) -> dict:
    """Every node's client sends its batches (N, MIN, MAX) at once; returns the figures."""
    with cluster(kind) as c:
        up(c)
        cl = [Client(c, i, f"n{i}", v1=False, quiet=True) for i in (1, 2, 3)]
        for x in cl:
            check(x.cmd("join load") == "1", "join")
        wait_members(cl, "load", 3)
        total_each = sum(b[0] for b in batches)
        t0 = time.time()
        for k, x in enumerate(cl):
            for j, (n, lo, hi) in enumerate(batches):
                x.send(f"send {n} {lo} {hi} {101 + 10 * k + j}")
        for x in cl:
            for _ in batches:
                r = x.expect(r"^RESULT send (-?\d+) sent=(\d+)", timeout=TIMEOUT_S * 10)
                check(r.group(1) == "1", f"{x.label}: send ended with {r.group(1)}")
        t_sent = time.time()
        want = 3 * total_each
        reports = {}
        deadline = time.monotonic() + TIMEOUT_S * 3
        for x in cl:
            while True:
                rep = x.report()
                if int(rep["delivered"]) >= want or time.monotonic() > deadline:
                    break
                x.cmd("wait 200")
            reports[x.label] = rep
        t_done = time.time()
        for name, rep in reports.items():
            print(f"{label}: {name}: {rep}")
        for name, rep in reports.items():
            check(int(rep["delivered"]) == want, f"{name}: delivered {rep['delivered']} of {want}")
            check(rep["lost"] == "0" and rep["dup"] == "0", f"{name}: lost/dup {rep}")
            check(rep["corrupt"] == "0", f"{name}: corrupt {rep}")
            check(rep["senders"] == "3", f"{name}: senders {rep}")
        hashes = {rep["hash"] for rep in reports.values()}
        check(len(hashes) == 1, f"one sequence everywhere: {hashes}")
        mb = sum(int(r["bytes"]) for r in reports.values()) / 3 / MIB
        took = t_done - t0
        print(f"{label}: {want} messages ({mb:.1f} MiB) delivered in one order at 3 nodes in "
              f"{took:.2f}s (sending {t_sent - t0:.2f}s): {want / took:.0f} msg/s, "
              f"{mb / took:.1f} MiB/s; hash {hashes.pop()}")
        for x in cl:
            x.close()
        return {"seconds": took, "messages": want}


def case_order_agreed():
    n = 10000 if QUICK else 100000
    load_run("totemd", [(n, 16, 8192)], f"order_agreed[{n}/node]")


def case_order_large():
    n = 300
    big = n // 10
    load_run("totemd", [(big, MIB, MIB), (n - big, 16, MIB)], f"order_large[{n}/node]")


# ------------------------------------------------------------------------------------------------
# acceptance 2: the callbacks of kill -9, restart, partition


def callbacks_script(kind, label: str) -> dict:
    """Returns {client label: masked callbacks}."""
    mask = Masker()
    with cluster(kind) as c:
        up(c)
        a = Client(c, 1, "a")
        b = Client(c, 2, "b")
        v = Client(c, 2, "victim")
        d = Client(c, 3, "d")
        for x in (a, b, v, d):
            mask.add(x)
        for x in (a, b, v, d):
            # x's daemon has delivered the joins before it (corosync-cpgtool there lists them):
            # otherwise an earlier join delivered after x's own join request sends x its initial
            # TOTEM_CONFCHG before x's first CONFCHG, on either engine (the flags come with the
            # join request; notify_lib_joinlist sends the initial TOTEM_CONFCHG to every cpd
            # that has them)
            wait_node_members(c, x.node, [a, b, v, d].index(x))
            check(x.cmd("join g") == "1", f"{x.label} join")
            wait_members([x], "g", [a, b, v, d].index(x) + 1)
        for x, n in ((a, 5), (b, 4), (v, 3), (d, 2)):
            x.wait_events(n)  # joins so far + the initial TOTEM_CONFCHG
        # kill -9 of a client process: PROCDOWN
        v.kill()
        for x in (a, b, d):
            x.wait_for(r"left=2:\d+:5")
        # kill -9 of a node: NODEDOWN, then the ring of two
        t_kill = c.kill(3)
        c.wait_for_membership([1, 2], [1, 2], timeout=TIMEOUT_S, since=t_kill)
        for x in (a, b):
            x.wait_for(r"left=3:\d+:3")
            x.wait_for(r"^TOTEM .* members=1,2$")
        d.close()
        # the node restarts, a new client there joins: TOTEM_CONFCHG of three, then JOIN
        t_start = time.time()
        c.start([3])
        c.wait_for_membership([1, 2, 3], [1, 2, 3], timeout=TIMEOUT_S, since=t_start)
        for x in (a, b):
            x.wait_for(r"^TOTEM .* members=1,2,3$")
        e = Client(c, 3, "e")
        mask.add(e)
        check(e.cmd("join g") == "1", "e join")
        for x in (a, b, e):
            x.wait_for(r"joined=3:\d+:1")
        e.wait_for(r"^TOTEM")
        # a partition: each side sees the other's processes go (NODEDOWN); the heal brings them
        # back from the joinlists (NODEUP)
        t_cut = c.partition([[1, 2], [3]])
        c.wait_for_membership([1, 2], [1, 2], timeout=TIMEOUT_S, since=t_cut)
        c.wait_for_membership([3], [3], timeout=TIMEOUT_S, since=t_cut)
        for x in (a, b):
            x.wait_for(r"^TOTEM .* members=1,2$")
        e.wait_for(r"^TOTEM .* members=3$")
        t_heal = c.heal()
        c.wait_for_membership([1, 2, 3], [1, 2, 3], timeout=TIMEOUT_S, since=t_heal)
        for x in (a, b):
            x.wait_for(r"joined=3:\d+:4")
        e.wait_for(r"joined=(1|2):\d+:4")
        time.sleep(1.0)
        out = {x.label: mask.events(x) for x in (a, b, e)}
        for x in (a, b, e):
            x.close()
    for k, evs in out.items():
        print(f"{label}: {k}:")
        for ev in evs:
            print(f"    {ev}")
    return out


def compare_runs(name: str, ours: dict, theirs: dict) -> None:
    for k in theirs:
        if ours.get(k) != theirs[k]:
            print(f"{name}: {k} differs\n  corosync: {theirs[k]}\n  totemd:   {ours.get(k)}")
        check(ours.get(k) == theirs[k], f"{name}: callbacks of {k} differ from corosync's")
    check(set(ours) == set(theirs), f"{name}: clients {set(ours)} vs {set(theirs)}")


def case_callbacks():
    theirs = callbacks_script("corosync", "callbacks[corosync]")
    ours = callbacks_script("totemd", "callbacks[totemd]")
    compare_runs("callbacks", ours, theirs)
    print("callbacks: every client's callbacks equal corosync's")


# ------------------------------------------------------------------------------------------------
# acceptance 3: corosync-cpgtool, and the library calls


GROUPS = [  # (node, label, group) — one member per node and group but for "two"
    (1, "p1", "alpha"), (2, "p2", "alpha"), (3, "p3", "alpha"),
    (2, "q2", "hex:7370616365206e616d65"),       # "space name"
    (2, "r2", "hex:6261636b5c736c617368"),       # "back\\slash"
    (3, "s3", "hex:63746c016279746500"),         # "ctl\x01byte\0" (with its NUL)
    (3, "t3a", "two"), (3, "t3b", "two"),
]


def cpgtool_script(kind, label: str) -> dict:
    out = {}
    with cluster(kind) as c:
        up(c)
        clients = []
        for node, lab, group in GROUPS:
            x = Client(c, node, lab, v1=False)
            check(x.cmd(f"join {group}") == "1", f"{lab} join {group}")
            clients.append(x)
        wait_members([clients[0]], "alpha", 3)
        wait_members([clients[0]], "two", 2)
        time.sleep(0.5)
        # pids of one node's members of "two" in pid order get labels in that order
        pids = {}
        two = sorted((x for x in clients if x.label.startswith("t3")), key=lambda x: x.pid)
        for x, lab in zip(two, ("t3a", "t3b")):
            pids[x.pid] = lab
        for x in clients:
            pids.setdefault(x.pid, x.label)

        def masked(text: str) -> str:
            lines = []
            for line in text.splitlines():
                for p, lab in pids.items():
                    line = re.sub(rf"(?<![\d.]){p}(?![\d.])", lab, line)
                lines.append(re.sub(r"[ \t]+", " ", line).rstrip())
            return "\n".join(lines)

        for node in (1, 2, 3):
            for args in ([], ["-d", ";"], ["-e"], ["-n"], ["-n", "-d", ","], ["-e", "-d", ":"]):
                r = c.exec(node, ["corosync-cpgtool"] + args)
                out[f"n{node} cpgtool {' '.join(args)}"] = (r.returncode, masked(r.stdout))
        x = clients[0]
        out["local"] = x.cmd("local")
        out["max"] = x.cmd("max")
        out["context"] = x.cmd("context")
        out["iter all"] = masked(x.cmd("iter 3"))
        out["iter names"] = masked(x.cmd("iter 1"))
        out["iter one"] = masked(x.cmd("iter 2 two"))
        out["members two"] = masked(x.cmd("members two"))
        before = set(os.listdir("/dev/shm"))
        out["zc"] = x.cmd("zc 128")
        # libcpg made /dev/shm/corosync_zerocopy-XXXXXX for the daemon to unlink; totemd does
        # not touch a client's path, so the file stays: count it and remove it
        left = [f for f in set(os.listdir("/dev/shm")) - before if f.startswith("corosync_zerocopy-")]
        out["zc files left"] = len(left)
        for f in left:
            os.unlink(os.path.join("/dev/shm", f))
        for x in clients:
            x.close()
    for k, v in out.items():
        print(f"{label}: {k}: {v}")
    return out


def case_cpgtool():
    theirs = cpgtool_script("corosync", "cpgtool[corosync]")
    ours = cpgtool_script("totemd", "cpgtool[totemd]")
    for k in theirs:
        if k in ("zc", "zc files left"):
            continue
        if ours[k] != theirs[k]:
            print(f"cpgtool: {k} differs\n  corosync: {theirs[k]!r}\n  totemd:   {ours[k]!r}")
        check(ours[k] == theirs[k], f"cpgtool: {k} differs from corosync's")
    # zero-copy: corosync maps the client's file; totemd answers NOT_SUPPORTED (19), which
    # libcpg's cpg_zcb_mcast_joined returns (alloc and free answer OK: libcpg ignores the error)
    check(theirs["zc"] == "1 1 1", f"corosync zc {theirs['zc']}")
    check(ours["zc"] == "1 19 1", f"totemd zc {ours['zc']}")
    check(theirs["zc files left"] == 0 and ours["zc files left"] == 1,
          f"zero-copy files left: corosync {theirs['zc files left']}, totemd {ours['zc files left']}")
    check(ours["max"] == f"1 {ATOMIC}", f"max {ours['max']}")
    print("cpgtool: corosync-cpgtool output and library answers equal corosync's "
          "(zero-copy: NOT_SUPPORTED)")


# ------------------------------------------------------------------------------------------------
# acceptance 4: a mixed ring


def mixed_script(kinds, label: str) -> dict:
    mask = Masker()
    with cluster(kinds) as c:
        up(c)
        cl = {i: Client(c, i, f"m{i}") for i in (1, 2, 3)}
        for x in cl.values():
            mask.add(x)
        for i, x in cl.items():
            check(x.cmd("join mix") == "1", "join")
            wait_members([x], "mix", i)
        for x in cl.values():
            x.wait_events(5 - x.node)  # its join + the TOTEM_CONFCHG + later joins
        # one order for messages of both kinds; 1 MiB messages from corosync and from totemd
        for k, x in cl.items():
            x.send(f"send 300 16 8192 {k}")
        for x in cl.values():
            x.expect(r"^RESULT send 1 ", timeout=TIMEOUT_S * 3)
        for k in (1, 2):
            cl[k].cmd(f"send 3 {MIB} {MIB} {10 + k}", timeout=TIMEOUT_S * 3)
        want = 3 * 300 + 6
        reps = {}
        for x in cl.values():
            deadline = time.monotonic() + TIMEOUT_S
            while True:
                rep = x.report()
                if int(rep["delivered"]) >= want or time.monotonic() > deadline:
                    break
                x.cmd("wait 200")
            reps[x.label] = rep
        print(f"{label}: {reps}")
        for name, rep in reps.items():
            check(int(rep["delivered"]) == want, f"{name}: delivered {rep}")
            check(rep["lost"] == "0" and rep["dup"] == "0" and rep["corrupt"] == "0",
                  f"{name}: {rep}")
            check(rep["big"] == "6", f"{name}: 1 MiB messages {rep['big']}")
        check(len({r["hash"] for r in reps.values()}) == 1, f"one order: {reps}")
        # kill -9 of node 1 (corosync in the mixed ring), restart, its client back
        t = c.kill(1)
        c.wait_for_membership([2, 3], [2, 3], timeout=TIMEOUT_S, since=t)
        for k in (2, 3):
            cl[k].wait_for(r"left=1:\d+:3")
            cl[k].wait_for(r"^TOTEM .* members=2,3$")
        cl[1].close()
        t = time.time()
        c.start([1])
        c.wait_for_membership([1, 2, 3], [1, 2, 3], timeout=TIMEOUT_S, since=t)
        for k in (2, 3):
            cl[k].wait_for(r"^TOTEM .* members=1,2,3$")
        n1 = Client(c, 1, "m1b")
        mask.add(n1)
        check(n1.cmd("join mix") == "1", "rejoin")
        for x in (n1, cl[2], cl[3]):
            x.wait_for(r"joined=1:\d+:1")
        # kill -9 of node 3 (totemd)
        t = c.kill(3)
        c.wait_for_membership([1, 2], [1, 2], timeout=TIMEOUT_S, since=t)
        for x in (n1, cl[2]):
            x.wait_for(r"left=3:\d+:3")
            x.wait_for(r"^TOTEM .* members=1,2$")
        time.sleep(0.5)
        out = {x.label: mask.events(x) for x in (n1, cl[2])}
        out["m1-before"] = mask.events(cl[1])
        for x in (n1, cl[2], cl[3]):
            x.close()
    return out


def case_mixed():
    theirs = mixed_script("corosync", "mixed[corosync x3]")
    ours = mixed_script(["corosync", "totemd", "totemd"], "mixed[corosync,totemd,totemd]")
    for k in theirs:
        print(f"mixed: {k}: {ours.get(k)}")
    compare_runs("mixed", ours, theirs)
    print("mixed: one order across corosync and totemd, 1 MiB both ways, the same callbacks as "
          "an all-corosync ring")


# ------------------------------------------------------------------------------------------------
# acceptance 5: a client that stops reading


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def progress_rates(cl: Client, since: float) -> list[float]:
    """Messages delivered per second at this client, from its PROGRESS lines."""
    pts = []
    with cl.lock:
        for line in cl.lines:
            m = re.match(r"^PROGRESS ([\d.]+) sent=\d+ delivered=(\d+)", line)
            if m:
                pts.append((float(m.group(1)), int(m.group(2))))
    rates = []
    for (t0, d0), (t1, d1) in zip(pts, pts[1:]):
        if t1 > t0:
            rates.append((d1 - d0) / (t1 - t0))
    return rates


def case_stuck():
    seconds = 60 if FULL else 20
    with cluster("totemd") as c:
        up(c)
        daemon = c.nodes[1].pid
        senders = {i: Client(c, i, f"s{i}", v1=False, quiet=True) for i in (1, 2, 3)}
        for x in senders.values():
            check(x.cmd("join flood") == "1", "join")
        stuck = Client(c, 1, "stuck", v1=False, quiet=True)
        check(stuck.cmd("join flood") == "1", "stuck join")
        wait_members(senders.values(), "flood", 4)
        # a warm-up: the daemon's queues and buffers under this load, before anyone is stuck
        for x in senders.values():
            x.send("sendfor 3 4096")
        for x in senders.values():
            x.expect(r"^RESULT sendfor 1 ", timeout=30)
        base_rss = rss_kb(daemon)
        check(stuck.cmd("stop") == "1", "stop")
        t0 = time.time()
        for x in senders.values():
            x.send(f"sendfor {seconds} 4096")
        peak = base_rss
        disconnected_at = None
        while time.time() - t0 < seconds + 5:
            peak = max(peak, rss_kb(daemon))
            if disconnected_at is None and c.nodes[1].watcher.grep("does not read its events"):
                disconnected_at = time.time() - t0
            with_result = [x for x in senders.values()
                           if sum(1 for ln in list(x.lines) if ln.startswith("RESULT sendfor")) >= 2]
            if len(with_result) == len(senders):
                break
            c.poll()
            time.sleep(0.2)
        for x in senders.values():
            r = x.expect(r"^RESULT sendfor (-?\d+) sent=(\d+)", timeout=30)
            check(r.group(1) == "1", f"{x.label}: sendfor ended with {r.group(1)}")
        peak = max(peak, rss_kb(daemon))
        line = c.nodes[1].watcher.grep("does not read its events")
        check(bool(line), "the stuck client is disconnected with a log line")
        print(f"stuck: {line[0]}")
        print(f"stuck: disconnected {disconnected_at:.1f}s after it stopped reading")
        stats = c.exec(1, ["corosync-cmapctl", "-m", "stats"]).stdout
        m = re.search(r"^stats\.totemd\.ipc\.overflow_disconnects \(u64\) = (\d+)$", stats, re.M)
        check(m is not None and m.group(1) == "1", f"overflow counter: {m and m.group(0)}")
        check(f"stats.ipcs.service2.{stuck.pid}." not in stats,
              "the stuck client's stats.ipcs keys are gone")
        check(f"stats.ipcs.service2.{senders[1].pid}." in stats, "the sender's keys stay")
        m = re.search(r"^stats\.ipcs\.global\.closed \(u64\) = (\d+)$", stats, re.M)
        check(m is not None and int(m.group(1)) >= 1, f"stats.ipcs.global.closed: {m and m.group(0)}")
        # the disconnect is the stuck process leaving its group: PROCDOWN at every member
        for x in senders.values():
            x.wait_for(rf"left=1:{stuck.pid}:5", timeout=10)
        grew_mb = (peak - base_rss) / 1024
        print(f"stuck: daemon RSS {base_rss / 1024:.1f} MiB before, peak {peak / 1024:.1f} MiB "
              f"(+{grew_mb:.1f} MiB; the cap is {CAP_MB} MiB, margin {RSS_MARGIN_MB} MiB)")
        check(grew_mb <= CAP_MB + RSS_MARGIN_MB, f"RSS grew {grew_mb:.1f} MiB")
        # the others went on at their rate: every second's rate, after the first, at least a
        # third of the median (a stall would show as a second near zero)
        reps = {x.label: x.report() for x in senders.values()}
        for x in senders.values():
            rates = progress_rates(x, t0)[1:]
            check(len(rates) >= seconds - 3, f"{x.label}: {len(rates)} seconds of progress")
            med = sorted(rates)[len(rates) // 2]
            low = min(rates)
            print(f"stuck: {x.label}: delivered {reps[x.label]['delivered']}, "
                  f"{med:.0f} msg/s median, {low:.0f} msg/s slowest second")
            check(low >= med / 3, f"{x.label}: a second at {low:.0f} msg/s (median {med:.0f})")
            check(reps[x.label]["lost"] == "0" and reps[x.label]["dup"] == "0",
                  f"{x.label}: {reps[x.label]}")
        check(len({r["hash"] for r in reps.values()}) == 1, "one order at the senders")
        check(c.members(1) == (1, 2, 3), "the ring stayed")
        check(not c.nodes[1].watcher.grep(r"A new membership .* left: "), "no node left")
        for x in senders.values():
            x.close()
        stuck.kill()


CASES = {
    "order_agreed": case_order_agreed,
    "order_large": case_order_large,
    "callbacks": case_callbacks,
    "cpgtool": case_cpgtool,
    "mixed": case_mixed,
    "stuck": case_stuck,
}


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="CPG integration tests")
    ap.add_argument("--client", required=True, help="the totem-cpg-client binary")
    ap.add_argument("--full", action="store_true", help="the stuck client case for 60 s")
    ap.add_argument("--quick", action="store_true", help="order_agreed with 10,000 a node")
    ap.add_argument("cases", nargs="*")
    a = ap.parse_args()
    CLIENT = os.path.abspath(a.client)
    FULL = a.full
    QUICK = a.quick
    sys.exit(harness.run_cases(CASES, a.cases))
