#!/usr/bin/env python3
"""quorum and votequorum (issue 17): corosync-quorumtool's views, corosync-qdevice with
corosync-qnetd, and a mixed ring — each script on Debian's corosync 3.1.7 and on totemd.

    python3 tests/it/test_quorum.py CASE      (see CASES below; "all" runs every case)

Every "as corosync" case runs the same script twice in one run, once on a corosync cluster
and once on a totemd cluster (netns harness, token 1000 ms), and compares what the stock
tools print at each checkpoint: corosync-quorumtool -s, -l, -p, -i, -a, -H (and -m, -e, -v,
-n where the script uses them), exit status and stderr included, dates and ring ids masked;
and the QUORUM lines each node logged after the cluster first formed ("Members[n]: …",
"Sync members[n]: …", the primary / non-primary component lines). Needs root; ctest runs the
cases one at a time.
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

TIMEOUT_S = 40
QUORUMTOOL = "corosync-quorumtool"
# The views every checkpoint prints (one corosync-quorumtool run each).
VIEWS = [["-s"], ["-l"], ["-s", "-p"], ["-l", "-p", "-i"], ["-l", "-a"], ["-s", "-H", "-i"]]
SHORT_VIEWS = [["-s"], ["-l", "-p"]]


def check(cond: bool, what: str) -> None:
    if not cond:
        raise AssertionError(what)


def mask(text: str) -> str:
    text = re.sub(r"(?m)^Date: .*$", "Date: <masked>", text)
    return re.sub(r"(?m)^Ring ID: .*$", "Ring ID: <masked>", text)


class Script:
    """One run of a script on one kind of cluster: what the tools printed, in order."""

    def __init__(self, kind: str):
        self.kind = kind
        self.out: list[str] = []
        self.log_marks: dict[int, int] = {}

    def add(self, label: str, text: str) -> None:
        self.out.append(f"== {label}\n{text}")

    def tool(self, c: harness.Cluster, i: int, args: list, label: str = "") -> subprocess.CompletedProcess:
        r = c.exec(i, [QUORUMTOOL] + args, timeout=15)
        self.add(f"{label} n{i}: {QUORUMTOOL} {' '.join(args)} -> rc {r.returncode}",
                 mask(r.stdout) + ("stderr: " + mask(r.stderr) if r.stderr else ""))
        return r

    def views(self, c: harness.Cluster, nodes, label: str, views=VIEWS) -> None:
        for i in nodes:
            for v in views:
                self.tool(c, i, v, label)

    def mark_logs(self, c: harness.Cluster) -> None:
        """From now on the nodes' QUORUM lines are part of the transcript (see quorum_lines)."""
        c.poll()
        self.log_marks = {i: len(n.watcher.lines) for i, n in c.nodes.items()}

    def quorum_lines(self, c: harness.Cluster, label: str) -> None:
        c.poll()
        for i, n in sorted(c.nodes.items()):
            start = self.log_marks.get(i, len(n.watcher.lines))
            got = [m.group(1) for _, line in n.watcher.lines[start:]
                   if (m := re.search(r"\[QUORUM\] (.*)$", line))
                   and not re.search(r"\] (debug|info) ", line)]
            self.add(f"{label} n{i}: QUORUM log lines", "\n".join(got) + "\n")
        self.mark_logs(c)


def settle(c: harness.Cluster, nodes, members=None, since=None, timeout=TIMEOUT_S) -> None:
    """Until every node of `nodes` formed the ring `members` (default: `nodes`) and completed
    its sync after that."""
    nodes = sorted(nodes)
    m = c.wait_for_membership(nodes, members if members is not None else nodes, timeout=timeout,
                              since=since)
    deadline = time.monotonic() + timeout
    while True:
        c.poll()
        done = True
        for i in nodes:
            w = c.nodes[i].watcher
            t0 = w.history[-1].time
            ok = False
            for seen, line in reversed(w.lines):
                if "Completed service synchronization" in line:
                    t = harness.parse_log_time(line)
                    ok = (t if t is not None else seen) >= t0 - 0.010
                    break
            done = done and ok
        if done:
            time.sleep(0.2)  # the decision's notifications and keys, within the same delivery
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"sync after ring {m.ring_id} not completed at {nodes}")
        time.sleep(0.05)


def compare(name: str, a: Script, b: Script) -> None:
    if a.out == b.out:
        print(f"{name}: {a.kind} and {b.kind} printed the same {len(a.out)} views")
        return
    diff = difflib.unified_diff("\n".join(a.out).splitlines(), "\n".join(b.out).splitlines(),
                                a.kind, b.kind, lineterm="", n=4)
    print("\n".join(list(diff)[:400]))
    raise AssertionError(f"{name}: {a.kind} and {b.kind} differ")


def both(name: str, script) -> None:
    ref = Script("corosync")
    script(ref)
    got = Script("totemd")
    script(got)
    compare(name, ref, got)


# ------------------------------------------------------------------------------------------------
# the scripts


def two_node(s: Script) -> None:
    """two_node (wait_for_all implied): one node alone, both, one killed."""
    with harness.Cluster(2, kind=s.kind, start=False) as c:
        c.start([1])
        settle(c, [1])
        s.mark_logs(c)
        s.views(c, [1], "alone")
        c.start([2])
        settle(c, [1, 2])
        s.views(c, [1, 2], "both")
        s.quorum_lines(c, "both")
        t = c.kill(2)
        settle(c, [1], since=t)
        s.views(c, [1], "after kill")
        s.quorum_lines(c, "after kill")


def last_man_standing(s: Script) -> None:
    """last_man_standing with a 2 s window, losing nodes one at a time."""
    window_s = 2
    with harness.Cluster(4, kind=s.kind,
                         quorum_opts={"last_man_standing": 1,
                                      "last_man_standing_window": window_s * 1000}) as c:
        settle(c, [1, 2, 3, 4])
        s.mark_logs(c)
        s.views(c, [1], "4 nodes")
        for gone in (4, 3, 2):
            t = c.kill(gone)
            left = [i for i in (1, 2, 3) if i < gone]
            settle(c, left, since=t)
            s.views(c, [1], f"node {gone} killed, in the window", SHORT_VIEWS)
            time.sleep(window_s + 0.7)
            s.views(c, left, f"node {gone} killed, after the window")
            s.quorum_lines(c, f"node {gone} killed")


def auto_tie_breaker(node: str):
    def script(s: Script) -> None:
        opts = {"auto_tie_breaker": 1}
        if node:
            opts["auto_tie_breaker_node"] = node
        with harness.Cluster(4, kind=s.kind, quorum_opts=opts) as c:
            settle(c, [1, 2, 3, 4])
            s.mark_logs(c)
            s.views(c, [1], "4 nodes", SHORT_VIEWS)
            t = c.partition([[1, 2], [3, 4]])
            settle(c, [1, 2], since=t)
            settle(c, [3, 4], since=t)
            s.views(c, [1, 3], "2|2")
            s.quorum_lines(c, "2|2")
            t = c.heal()
            settle(c, [1, 2, 3, 4], since=t)
            s.views(c, [1, 4], "healed", SHORT_VIEWS)
            s.quorum_lines(c, "healed")
    return script


def allow_downscale(s: Script) -> None:
    """allow_downscale: nodes that stop (SIGTERM) are counted out; a kill is not a stop."""
    with harness.Cluster(4, kind=s.kind, quorum_opts={"allow_downscale": 1}) as c:
        settle(c, [1, 2, 3, 4])
        s.mark_logs(c)
        cb = probe(c, 1)
        time.sleep(0.5)
        s.views(c, [1], "4 nodes", SHORT_VIEWS)
        t = c.terminate(4)
        settle(c, [1, 2, 3], since=t)
        s.views(c, [1, 3], "node 4 stopped")
        t = c.kill(3)
        settle(c, [1, 2], since=t)
        s.views(c, [1], "node 3 killed", SHORT_VIEWS)
        t = c.terminate(2)
        settle(c, [1], since=t)
        s.views(c, [1], "node 2 stopped")
        s.quorum_lines(c, "end")
        probe_lines(s, "n1", cb.stop())


def runtime_votes(s: Script) -> None:
    """Expected votes and per-node votes changed at run time: -e N, -v N, -v N -n ID."""
    with harness.Cluster(3, kind=s.kind, links=2) as c:
        settle(c, [1, 2, 3])
        s.mark_logs(c)
        cb = probe(c, 2)
        time.sleep(0.5)
        s.views(c, [1], "two links", [["-l", "-a"], ["-l", "-a", "-i"]])
        steps = [(1, ["-e", "5"]), (2, ["-e", "2"]), (2, ["-e", "9"]), (1, ["-v", "3", "-n", "2"]),
                 (3, ["-v", "0", "-n", "2"]), (3, ["-v", "1", "-n", "9"]), (2, ["-v", "2"]),
                 (1, ["-e", "4"]), (1, ["-e", "0"]), (1, ["-v", "-1"])]
        for i, args in steps:
            s.tool(c, i, args, "change")
            time.sleep(0.5)  # the RECONFIGURE is delivered everywhere
            s.views(c, [1, 3], f"after {' '.join(args)}", SHORT_VIEWS)
        s.views(c, [2], "end")
        t = c.kill(3)
        settle(c, [1, 2], since=t)
        s.views(c, [1], "node 3 killed", SHORT_VIEWS)
        s.quorum_lines(c, "end")
        probe_lines(s, "n2", cb.stop())


class Watcher:
    """A long-running client in node i's namespaces (corosync-quorumtool -m, the probe): its
    output once stopped."""

    def __init__(self, c: harness.Cluster, i: int, argv: list):
        self.c = c
        node = c.nodes[i]
        self.proc = subprocess.Popen(["nsenter", "-t", str(node.pid), "-n", "-m", "--"] + argv,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True,
                                     start_new_session=True)
        c.pids.add(self.proc.pid)

    def stop(self) -> str:
        harness.stop_pid(self.proc.pid, term_timeout=2)
        self.c.pids.discard(self.proc.pid)
        return self.proc.stdout.read() if self.proc.stdout else ""


def probe(c: harness.Cluster, i: int) -> Watcher:
    return Watcher(c, i, [PROBE[0]])


def probe_lines(s: Script, label: str, out: str) -> None:
    """The probe's callbacks, each library's in its own order."""
    lines = out.splitlines()
    check(any(x.startswith("q  quorum") for x in lines) and
          any(x.startswith("vq quorum") for x in lines),
          f"{label}: the probe saw no quorum callbacks: {out[-500:]!r}")
    for lib in ("q ", "vq"):
        s.add(f"{label}: libquorum V1 / libvotequorum callbacks ({lib.strip()})",
              "\n".join(x for x in lines if x.startswith(lib)) + "\n")


def minority(s: Script) -> None:
    """A partition that leaves a minority, and its heal; corosync-quorumtool -m and a
    libquorum V1 / libvotequorum client watch on nodes 1 and 3."""
    with harness.Cluster(3, kind=s.kind) as c:
        settle(c, [1, 2, 3])
        s.mark_logs(c)
        mon = Watcher(c, 1, ["stdbuf", "-oL", QUORUMTOOL, "-m"])
        cb = probe(c, 1)
        cb3 = probe(c, 3)
        time.sleep(1)
        t = c.partition([[1, 2], [3]])
        settle(c, [1, 2], since=t)
        settle(c, [3], since=t)
        s.views(c, [2, 3], "2|1")
        s.quorum_lines(c, "2|1")
        t = c.heal()
        settle(c, [1, 2, 3], since=t)
        s.views(c, [3], "healed", SHORT_VIEWS)
        s.quorum_lines(c, "healed")
        time.sleep(1)
        s.add("n1: corosync-quorumtool -m (partition, heal)", mask(mon.stop()))
        probe_lines(s, "n1 (partition, heal)", cb.stop())
        probe_lines(s, "n3 (partition, heal)", cb3.stop())


# ------------------------------------------------------------------------------------------------
# corosync-qdevice against corosync-qnetd

QNETD_ADDR = "10.201.0.100"


def private_etc(script: str, etc: str) -> str:
    """A shell command running `script` with `etc` as /etc/corosync (a private mount
    namespace: the host's /etc is not touched)."""
    return (f"unshare -m --propagation private sh -c 'mount --bind {etc} /etc/corosync && "
            f"{script}'")


def sh(cmd: str, what: str, timeout: float = 60) -> str:
    r = subprocess.run(["sh", "-c", cmd], capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"{what} failed ({r.returncode}): {r.stdout}{r.stderr}")
    return r.stdout


def make_certificates(base: str, cluster: str, nodes) -> dict:
    """The certificate dance of corosync-qdevice(8), with the packages' own tools, each in a
    private /etc/corosync: qnetd's CA and server certificate; per node the CA imported; one
    node's request signed by qnetd; the signed certificate imported there and its PKCS#12 copied
    to the others. Returns {node: etc dir, "qnetd": etc dir}."""
    dirs = {"qnetd": os.path.join(base, "etc-qnetd")}
    os.makedirs(os.path.join(dirs["qnetd"], "qnetd"))
    sh(private_etc("corosync-qnetd-certutil -i", dirs["qnetd"]), "qnetd-certutil -i")
    ca = os.path.join(dirs["qnetd"], "qnetd", "nssdb", "qnetd-cacert.crt")
    for i in nodes:
        d = os.path.join(base, f"etc-n{i}")
        os.makedirs(os.path.join(d, "qdevice", "net"))
        shutil.copy(ca, os.path.join(d, "qnetd-cacert.crt"))
        sh(private_etc(f"corosync-qdevice-net-certutil -i -c /etc/corosync/qnetd-cacert.crt", d),
           f"qdevice-net-certutil -i on node {i}")
        dirs[i] = d
    first = min(nodes)
    sh(private_etc(f"corosync-qdevice-net-certutil -r -n {cluster}", dirs[first]),
       "qdevice-net-certutil -r")
    crq = os.path.join(dirs[first], "qdevice", "net", "nssdb", "qdevice-net-node.crq")
    shutil.copy(crq, os.path.join(dirs["qnetd"], "qdevice-net-node.crq"))
    sh(private_etc(f"corosync-qnetd-certutil -s -c /etc/corosync/qdevice-net-node.crq "
                   f"-n {cluster}", dirs["qnetd"]), "qnetd-certutil -s")
    crt = os.path.join(dirs["qnetd"], "qnetd", "nssdb", f"cluster-{cluster}.crt")
    shutil.copy(crt, os.path.join(dirs[first], "cluster.crt"))
    sh(private_etc("corosync-qdevice-net-certutil -M -c /etc/corosync/cluster.crt", dirs[first]),
       "qdevice-net-certutil -M")
    p12 = os.path.join(dirs[first], "qdevice", "net", "nssdb", "qdevice-net-node.p12")
    for i in nodes:
        if i == first:
            continue
        shutil.copy(p12, os.path.join(dirs[i], "node.p12"))
        sh(private_etc("corosync-qdevice-net-certutil -m -c /etc/corosync/node.p12", dirs[i]),
           f"qdevice-net-certutil -m on node {i}")
    return dirs


def start_qnetd(c: harness.Cluster, etc: str) -> int:
    """corosync-qnetd in a namespace of its own on link 0's bridge, at QNETD_ADDR."""
    ns = f"{c.prefix}-qnetd"
    harness.run(["ip", "netns", "add", ns])
    c.namespaces.append(ns)
    harness.run(["ip", "-n", ns, "link", "set", "lo", "up"])
    harness.run(["ip", "link", "add", "q0", "netns", ns, "type", "veth", "peer", "name", "pq0",
                 "netns", c.br_ns])
    harness.run(["ip", "-n", c.br_ns, "link", "set", "pq0", "master", "br0"])
    harness.run(["ip", "-n", c.br_ns, "link", "set", "pq0", "up"])
    harness.run(["ip", "-n", ns, "addr", "add", f"{QNETD_ADDR}/24", "dev", "q0"])
    harness.run(["ip", "-n", ns, "link", "set", "q0", "up"])
    run_dir = os.path.join(c.dir, "qnetd-run")
    os.makedirs(run_dir, exist_ok=True)
    log = open(os.path.join(c.dir, "qnetd.log"), "ab")
    cmd = (f"mount --bind {etc} /etc/corosync && mount --bind {run_dir} /run && "
           f"exec corosync-qnetd -f -d")
    p = subprocess.Popen(["ip", "netns", "exec", ns, "unshare", "-m", "--propagation", "private",
                          "sh", "-c", cmd], stdin=subprocess.DEVNULL, stdout=log,
                         stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    c.pids.add(p.pid)
    return p.pid


def start_qdevice(c: harness.Cluster, i: int, etc: str) -> int:
    """corosync-qdevice on node i: in the daemon's network and mount namespaces (its /run),
    with the node's certificates as /etc/corosync."""
    node = c.nodes[i]
    log = open(os.path.join(node.dir, "log", "qdevice.log"), "ab")
    cmd = f"mount --bind {etc} /etc/corosync && exec corosync-qdevice -f -d"
    p = subprocess.Popen(["nsenter", "-t", str(node.pid), "-n", "-m", "--", "unshare", "-m",
                          "--propagation", "private", "sh", "-c", cmd],
                         stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                         start_new_session=True)
    log.close()
    c.pids.add(p.pid)
    return p.pid


def wait_views(s: Script, c: harness.Cluster, nodes, label: str, want, timeout=TIMEOUT_S):
    """Polls corosync-quorumtool -s on each node until `want(i, text)` holds, then records the
    views (the device's decisions arrive asynchronously)."""
    deadline = time.monotonic() + timeout
    for i in nodes:
        while True:
            r = c.exec(i, [QUORUMTOOL, "-s"])
            if want(i, r.stdout):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{label}: node {i} never showed what was expected:\n"
                                   f"{r.stdout}{r.stderr}")
            time.sleep(0.3)
    s.views(c, nodes, label, [["-s"], ["-l"], ["-l", "-p"]])


def qdevice(s: Script) -> None:
    """Two nodes (no two_node: votequorum refuses it with a device) and a net device on
    corosync-qnetd with ffsplit: the device registers, its vote counts, and a cut between the
    nodes leaves exactly one side quorate."""
    for tool in ("corosync-qnetd", "corosync-qdevice", "corosync-qnetd-certutil",
                 "corosync-qdevice-net-certutil", "certutil"):
        check(shutil.which(tool) is not None, f"{tool} is not installed (./dev deps)")
    opts = {"two_node": 0,
            "device": {"model": "net", "votes": 1,
                       "net": {"host": QNETD_ADDR, "algorithm": "ffsplit", "tls": "on"}}}
    with harness.Cluster(2, kind=s.kind, quorum_opts=opts, cluster_name="qdev-it") as c:
        dirs = make_certificates(c.dir, "qdev-it", [1, 2])
        start_qnetd(c, dirs["qnetd"])
        settle(c, [1, 2])
        s.mark_logs(c)
        for i in (1, 2):
            start_qdevice(c, i, dirs[i])
        wait_views(s, c, [1, 2], "device registered",
                   lambda i, t: "Total votes:      3" in t and "Qdevice" in t.split("Flags:")[-1])
        t = c.partition([[1], [2]])
        settle(c, [1], since=t)
        settle(c, [2], since=t)
        # ffsplit: a tie goes to the partition with the lowest node id
        wait_views(s, c, [1, 2], "cut 1|2",
                   lambda i, t: ("Quorate:          Yes" if i == 1 else "Quorate:          No")
                   in t and ("Total votes:      2" if i == 1 else "Total votes:      1") in t)
        s.quorum_lines(c, "cut")
        t = c.heal()
        settle(c, [1, 2], since=t)
        wait_views(s, c, [1, 2], "healed", lambda i, t: "Total votes:      3" in t)


# ------------------------------------------------------------------------------------------------
# a mixed ring


def votequorum_part(text: str) -> str:
    """-s output without what differs between the nodes of one cluster."""
    text = mask(text)
    text = re.sub(r"(?m)^Node ID: .*$", "Node ID: <masked>", text)
    return text.replace(" (local)", "")


def case_mixed() -> None:
    """corosync 3.1.7 and totemd in one ring: corosync-quorumtool -s on a corosync node and on
    a totemd node agree on votes, expected votes and quorate, before and after a kill; the
    RECONFIGUREs of -e (from a totemd node) and -v (from a corosync node) reach both kinds; a
    corosync node decodes a totemd node's NODEINFO (its debug log)."""
    kinds = ["corosync", "totemd", "totemd", "corosync"]
    with harness.Cluster(4, kind=kinds, debug=True) as c:
        settle(c, [1, 2, 3, 4])
        alive = [1, 2, 3, 4]

        def agree(label: str) -> None:
            views = {i: c.exec(i, [QUORUMTOOL, "-s"]) for i in alive}
            ref = votequorum_part(views[alive[0]].stdout)
            for i in alive:
                got = votequorum_part(views[i].stdout)
                if got != ref:
                    print("\n".join(difflib.unified_diff(
                        ref.splitlines(), got.splitlines(), f"n{alive[0]} ({kinds[alive[0] - 1]})",
                        f"n{i} ({kinds[i - 1]})", lineterm="")))
                    raise AssertionError(f"{label}: node {i} disagrees with node {alive[0]}")
                check(views[i].returncode == views[alive[0]].returncode, f"{label}: exit status")
            print(f"mixed: {label}: corosync and totemd agree: " +
                  "; ".join(line.strip() for line in ref.splitlines()
                            if re.match(r"(Quorate|Expected votes|Total votes|Quorum):", line)))

        agree("4 nodes")
        c.poll()
        seen = c.nodes[1].watcher.grep(r"nodeinfo message\[2\]: votes: 1, expected: 4 flags: \d+$")
        check(bool(seen), "corosync logged no NODEINFO of totemd node 2 (1 vote, expected 4)")
        r = c.exec(2, [QUORUMTOOL, "-e", "6"])
        check(r.returncode == 0, f"-e 6 on totemd: {r.stderr}")
        time.sleep(0.5)
        agree("-e 6 on totemd node 2")
        r = c.exec(1, [QUORUMTOOL, "-v", "3", "-n", "3"])
        check(r.returncode == 0, f"-v 3 -n 3 on corosync: {r.stderr}")
        time.sleep(0.5)
        agree("-v 3 -n 3 on corosync node 1")
        for gone in (3, 4):
            t = c.kill(gone)
            alive = [i for i in alive if i != gone]
            settle(c, alive, since=t)
            agree(f"{kinds[gone - 1]} node {gone} killed")


CASES = {
    "two_node": lambda: both("two_node", two_node),
    "last_man_standing": lambda: both("last_man_standing", last_man_standing),
    "atb_lowest": lambda: both("atb_lowest", auto_tie_breaker("lowest")),
    "atb_highest": lambda: both("atb_highest", auto_tie_breaker("highest")),
    "atb_list": lambda: both("atb_list", auto_tie_breaker("4 2 3")),
    "allow_downscale": lambda: both("allow_downscale", allow_downscale),
    "runtime_votes": lambda: both("runtime_votes", runtime_votes),
    "minority": lambda: both("minority", minority),
    "qdevice": lambda: both("qdevice", qdevice),
    "mixed": case_mixed,
}

# totem-quorum-probe (tests/it/quorum_probe.cpp): --probe PATH, else beside totemd.
PROBE = [""]

if __name__ == "__main__":
    args = sys.argv[1:]
    if "--probe" in args:
        k = args.index("--probe")
        PROBE[0] = args[k + 1]
        del args[k:k + 2]
    else:
        t = harness.find_totemd(None)
        PROBE[0] = os.path.join(os.path.dirname(t), "totem-quorum-probe") if t else ""
    if not os.access(PROBE[0], os.X_OK):
        print(f"totem-quorum-probe not found ({PROBE[0]!r}): pass --probe PATH")
        sys.exit(2)
    sys.exit(harness.run_cases(CASES, args))
