#!/usr/bin/env python3
"""The measurements of ./dev bench, on the netns harness of the tests (tests/it/harness.py).

An Engine is one K-node cluster of one kind (corosync 3.1.7 or totemd), from one corosync.conf
(knet, crypto aes256/sha256 or none, the given token); a KnetRig is K namespaces without daemons
where bench/knet_bench.cpp measures what libknet alone carries between them. Every measurement is
a function returning a plain dict (JSON-able), so that run.py can interleave engines, take
medians and write the report:

  cpg_point(engine, size, senders, rate=0)  throughput (flood) or latency (paced) with
                                            bench/cpg_bench.cpp on every node
  knet_point(rig, size, senders)            the links' ceiling for the same pattern
  failover_point(kind, token, fault)        formation, kill -9 / SIGTERM → CPG confchg at the
                                            survivors
  daemon_info(engine)                       RSS, scheduling policy and memory locking per daemon

The rules of the harness hold: traffic only inside our namespaces, every wait bounded, processes
stopped by pid (the harness's cleanup), one bench at a time.
"""

from __future__ import annotations

import json
import math
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from typing import Optional

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "it"))
import harness  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
# Namespaces and temp dirs of the bench are "tdb<pid>c<k>-*": the tests' cleanup of stale
# "td<pid>c<k>-*" leftovers (harness.cleanup_stale, run by every test script) never matches
# them, so a test started meanwhile by someone else cannot take a running bench's files away.
PREFIX = "tdb"
_CLUSTERS = [0]


def prefix() -> str:
    _CLUSTERS[0] += 1
    return f"{PREFIX}{os.getpid()}c{_CLUSTERS[0]}"


def cleanup_stale() -> list:
    return harness.cleanup_stale(PREFIX)
MB = 1e6  # MB/s in the report are 10^6 bytes a second


# ------------------------------------------------------------------------------------------------
# /proc readers


def proc_cpu_s(pid: int) -> float:
    """utime + stime of the whole process (every thread), seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_status(pid: int) -> dict:
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM", "VmLck", "RssAnon", "RssFile", "RssShmem", "Threads"):
                out[k] = int(v.split()[0])
    return out


POLICIES = {0: "SCHED_OTHER", 1: "SCHED_FIFO", 2: "SCHED_RR", 3: "SCHED_BATCH", 5: "SCHED_IDLE"}


def sched_info(pid: int) -> dict:
    """Scheduling of the process and its threads, and what memory it has locked."""
    threads = {}
    for tid in sorted(os.listdir(f"/proc/{pid}/task"), key=int):
        try:
            pol = POLICIES.get(os.sched_getscheduler(int(tid)), "?")
            prio = os.sched_getparam(int(tid)).sched_priority
        except OSError:
            continue
        key = f"{pol}/{prio}"
        threads[key] = threads.get(key, 0) + 1
    memlock = "?"
    with open(f"/proc/{pid}/limits") as f:
        for line in f:
            if line.startswith("Max locked memory"):
                memlock = " ".join(line.split()[3:5])
    st = proc_status(pid)
    return {"main": f"{POLICIES.get(os.sched_getscheduler(pid), '?')}/"
                    f"{os.sched_getparam(pid).sched_priority}",
            "threads": threads, "VmLck_kB": st.get("VmLck", 0), "RLIMIT_MEMLOCK": memlock}


def smaps_breakdown(pid: int) -> dict:
    """Resident kB by kind of mapping: heap, anonymous, shared memory, each file."""
    out: dict = {}
    cur = None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            m = re.match(r"^[0-9a-f]+-[0-9a-f]+ (\S+) \S+ \S+ \S+\s*(.*)$", line)
            if m:
                name = m.group(2) or "[anon]"
                if name.startswith("/dev/shm/"):
                    name = "/dev/shm/" + re.sub(r"-\d+-", "-PID-", os.path.basename(name))
                cur = name
                continue
            if line.startswith("Rss:") and cur:
                out[cur] = out.get(cur, 0) + int(line.split()[1])
    return out


def loadavg() -> float:
    return round(os.getloadavg()[0], 2)


# ------------------------------------------------------------------------------------------------
# a client process driven through its stdin


class Proc:
    def __init__(self, popen: subprocess.Popen, label: str):
        self.p = popen
        self.label = label
        self.lines: list[str] = []
        self.q: "queue.Queue[str]" = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.p.stdout:
            line = line.rstrip("\n")
            self.lines.append(line)
            self.q.put(line)

    def expect(self, pattern: str, timeout: float) -> re.Match:
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{self.label}: no /{pattern}/ in {timeout:.0f}s; last: "
                                   f"{self.lines[-4:]}")
            try:
                line = self.q.get(timeout=min(left, 0.5))
            except queue.Empty:
                if self.p.poll() is not None:
                    self.reader.join(timeout=2)  # the lines it printed before it exited
                    if self.q.empty():
                        raise RuntimeError(f"{self.label}: exited {self.p.returncode}; last: "
                                           f"{self.lines[-4:]}")
                continue
            m = rx.search(line)
            if m:
                return m

    def send(self, line: str) -> None:
        try:
            self.p.stdin.write(line + "\n")
            self.p.stdin.flush()
        except (BrokenPipeError, OSError):
            pass

    def result(self, timeout: float) -> dict:
        m = self.expect(r"^RESULT (\{.*\})$", timeout)
        return json.loads(m.group(1))

    def stop(self) -> None:
        if self.p.poll() is None:
            try:
                self.p.stdin.close()
            except OSError:
                pass
            try:
                self.p.wait(timeout=3)
            except subprocess.TimeoutExpired:
                os.kill(self.p.pid, signal.SIGKILL)
                self.p.wait(timeout=5)


# ------------------------------------------------------------------------------------------------
# engines


class Engine:
    """One cluster of one kind, up for a series of measurements."""

    def __init__(self, kind: str, nodes: int, crypto: bool, token: Optional[int], totemd: str,
                 tools: str, label: str = "", env: Optional[dict] = None):
        self.kind, self.n, self.crypto, self.token = kind, nodes, crypto, token
        self.tools = tools
        self.label = label or kind
        self.c = harness.Cluster(nodes, kind=kind, transport="knet", crypto=crypto, token=token,
                                 bin=totemd, cluster_name="bench", env=env, prefix=prefix())
        self.groups = 0
        self.formation_s = None

    def __enter__(self) -> "Engine":
        self.c.__enter__()
        t0 = time.time()
        ids = list(range(1, self.n + 1))
        m = self.c.wait_for_membership(ids, ids, timeout=90)
        self.formation_s = m.time - t0
        return self

    def __exit__(self, *exc) -> None:
        self.c.__exit__(*exc)

    def pids(self) -> dict:
        return {i: self.c.nodes[i].pid for i in range(1, self.n + 1)}

    def cpu_s(self) -> float:
        return sum(proc_cpu_s(p) for p in self.pids().values())

    def rss_kB(self) -> dict:
        return {i: proc_status(p)["VmRSS"] for i, p in self.pids().items()}

    def info(self) -> dict:
        pid = self.pids()[1]
        return {"sched": sched_info(pid), "status": proc_status(pid),
                "smaps": smaps_breakdown(pid)}

    def group(self) -> str:
        self.groups += 1
        return f"bench{self.groups}"


class KnetRig:
    """K namespaces without daemons, for totem-knet-bench."""

    def __init__(self, nodes: int, crypto: bool, tools: str):
        self.n, self.crypto, self.tools = nodes, crypto, tools
        self.kind = "knet"
        self.c = harness.Cluster(nodes, kind="external", transport="knet", crypto=crypto,
                                 prefix=prefix())

    def __enter__(self) -> "KnetRig":
        self.c.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.c.__exit__(*exc)


# ------------------------------------------------------------------------------------------------
# histograms (bench/cpg_bench.cpp hist_json)


def merge_hist(hists) -> dict:
    out: dict = {}
    for h in hists:
        for b, n in h:
            out[b] = out.get(b, 0) + n
    return out


def bucket_ms(b: int) -> float:
    """The geometric middle of bucket b, in ms."""
    if b <= 0:
        return 0.0005
    return 2 ** ((b - 0.5) / 16) / 1000


def hist_percentile(h: dict, q: float) -> Optional[float]:
    total = sum(h.values())
    if not total:
        return None
    want = q * total
    acc = 0
    for b in sorted(h):
        acc += h[b]
        if acc >= want:
            return round(bucket_ms(b), 4)
    return round(bucket_ms(max(h)), 4)


def hist_summary(h: dict) -> dict:
    return {"n": sum(h.values()), "p50_ms": hist_percentile(h, 0.50),
            "p99_ms": hist_percentile(h, 0.99), "p999_ms": hist_percentile(h, 0.999)}


# ------------------------------------------------------------------------------------------------
# measurements


def _spawn_all(c: harness.Cluster, argvs: dict, label: str) -> dict:
    procs = {}
    for i, argv in argvs.items():
        procs[i] = Proc(c.spawn(i, argv, stdin=subprocess.PIPE), f"{label} n{i}")
    return procs


def _start_together(procs: dict, ready_timeout: float, lead_s: float = 0.3,
                    ready: bool = False) -> float:
    if not ready:
        for pr in procs.values():
            pr.expect(r"^READY", ready_timeout)
    t0 = time.time() + lead_s
    for pr in procs.values():
        pr.send(f"start {t0:.6f}")
    return t0


def _sleep_until(t: float) -> None:
    while True:
        d = t - time.time()
        if d <= 0:
            return
        time.sleep(min(d, 0.2))


def cpg_point(e: Engine, size: int, senders: int, rate: float = 0.0, warmup: float = 1.0,
              seconds: float = 2.5, linger: float = 0.5, loss: int = 0,
              verify: bool = False) -> dict:
    """Every node runs totem-cpg-bench in one group; nodes 1..senders send `size`-byte messages
    (flood, or `rate` a second each). With loss > 0 every node drops that share of what it
    receives (nftables) from the moment every client has joined until the end."""
    group = e.group()
    exe = os.path.join(e.tools, "totem-cpg-bench")
    argvs = {}
    for i in range(1, e.n + 1):
        argv = [exe, "--group", group, "--members", str(e.n), "--size", str(size),
                "--warmup", str(warmup), "--seconds", str(seconds), "--linger", str(linger)]
        if i <= senders:
            argv.append("--send")
            if rate:
                argv += ["--rate", f"{rate:.1f}"]
        if verify:
            argv.append("--verify")
        argvs[i] = argv
    la0 = loadavg()
    procs = _spawn_all(e.c, argvs, f"{e.label} {size}B")
    try:
        if loss:
            for pr in procs.values():
                pr.expect(r"^READY", 90)
            for i in range(1, e.n + 1):
                e.c.loss(i, loss)
        t0 = _start_together(procs, 90, ready=bool(loss))
        _sleep_until(t0 + warmup)
        cpu0 = e.cpu_s()
        _sleep_until(t0 + warmup + seconds)
        cpu1 = e.cpu_s()
        rss = e.rss_kB()
        results = {i: pr.result(timeout=linger + 30) for i, pr in procs.items()}
    finally:
        for pr in procs.values():
            pr.stop()
        if loss:
            e.c.heal()
    per_node = [r["delivered_window"] / seconds for r in results.values()]
    mbs = [r["bytes_window"] / seconds / MB for r in results.values()]
    delivered_mb = sum(r["bytes_window"] for r in results.values()) / MB
    out = {
        "engine": e.label, "kind": e.kind, "nodes": e.n, "crypto": e.crypto, "size": size,
        "senders": senders, "rate": rate, "seconds": seconds, "loss": loss,
        "msgs_s": round(sum(per_node) / len(per_node), 1), "msgs_s_min": round(min(per_node), 1),
        "mb_s": round(sum(mbs) / len(mbs), 3),
        "sent_s": round(sum(r["sent_window"] for r in results.values()) / seconds, 1),
        "try_again": sum(r["try_again"] for r in results.values()),
        "daemon_cpu_s": round(cpu1 - cpu0, 3),
        "client_cpu_s": round(sum(r["client_cpu_s"] for r in results.values()), 3),
        "cpu_s_per_mb": round((cpu1 - cpu0) / delivered_mb, 4) if delivered_mb else None,
        "rss_kB": rss,
        "lost": sum(r["lost"] for r in results.values()),
        "dup": sum(r["dup"] for r in results.values()),
        "corrupt": sum(r["corrupt"] for r in results.values()),
        "late": sum(r["late"] for r in results.values()),
        "dead": any(r["dead"] for r in results.values()),
        "load": [la0, loadavg()],
    }
    hs = merge_hist(r["hist_self"] for r in results.values())
    ho = merge_hist(r["hist_other"] for r in results.values())
    out["lat_self"] = hist_summary(hs)
    out["lat_other"] = hist_summary(ho)
    if rate:
        out["hist_self"] = sorted(hs.items())
        out["hist_other"] = sorted(ho.items())
    return out


def knet_point(k: KnetRig, size: int, senders: int, warmup: float = 0.7,
               seconds: float = 2.0) -> dict:
    """totem-knet-bench on every node; nodes 1..senders flood `size`-byte datagrams to all.
    The ceiling is the rate at which a message reaches every other node: for each sender the
    slowest receiver's rate, summed over the senders (what a Totem node delivers counts each
    message once, its own included)."""
    exe = os.path.join(k.tools, "totem-knet-bench")
    key = os.path.join(k.c.dir, "authkey")
    argvs = {}
    for i in range(1, k.n + 1):
        argv = ["chrt", "-r", "99", exe, "--nodeid", str(i), "--nodes", str(k.n), "--size",
                str(min(size, 65536)), "--warmup", str(warmup), "--seconds", str(seconds),
                "--addr-prefix", harness.Cluster.addr(0, 0)[:-1]]
        argv += ["--crypto", "nss", "--key", key] if k.crypto else ["--crypto", "none"]
        if i <= senders:
            argv.append("--send")
        argvs[i] = argv
    la0 = loadavg()
    procs = _spawn_all(k.c, argvs, f"knet {size}B")
    try:
        _start_together(procs, 40)
        results = {i: pr.result(timeout=warmup + seconds + 20) for i, pr in procs.items()}
    finally:
        for pr in procs.values():
            pr.stop()
    dgram = min(size, 65536)
    total = 0.0
    lost = 0
    for j in range(1, senders + 1):
        rates = [results[i]["from"][str(j)]["window"] / seconds
                 for i in results if i != j]
        total += min(rates)
        lost += sum(results[i]["from"][str(j)]["lost"] for i in results if i != j)
    return {"engine": "knet", "nodes": k.n, "crypto": k.crypto, "size": size, "datagram": dgram,
            "senders": senders, "seconds": seconds, "msgs_s": round(total, 1),
            "mb_s": round(total * dgram / MB, 3), "lost": lost,
            "cpu_s": round(sum(r["cpu_s"] for r in results.values()), 3),
            "load": [la0, loadavg()]}


def failover_point(kind: str, nodes: int, token: Optional[int], fault: str, totemd: str,
                   tools: str) -> dict:
    """A fresh cluster: formation (start → every node logs the full ring), then kill -9 or
    SIGTERM of the highest node → the CPG configuration change that drops it, at the last
    survivor (a totem-cpg-bench --watch client on every node)."""
    out = {"engine": kind, "kind": kind, "nodes": nodes, "token": token or "default",
           "fault": fault, "load": [loadavg()]}
    with Engine(kind, nodes, True, token, totemd, tools) as e:
        out["formation_s"] = round(e.formation_s, 3)
        group = e.group()
        exe = os.path.join(tools, "totem-cpg-bench")
        procs = _spawn_all(e.c, {i: [exe, "--group", group, "--members", str(nodes), "--watch",
                                     "--seconds", "120"] for i in range(1, nodes + 1)},
                           f"{kind} watch")
        try:
            for pr in procs.values():
                pr.expect(r"^READY", 60)
            time.sleep(1.0)
            victim = nodes
            t_fault = e.c.kill(victim) if fault == "kill" else e.c.terminate(victim)
            want = ",".join(str(i) for i in range(1, nodes))
            times = []
            for i in range(1, nodes):
                m = procs[i].expect(r"^CONFCHG (\S+) members=" + re.escape(want) + r" ", 60)
                times.append(float(m.group(1)))
            out["failover_s"] = round(max(times) - t_fault, 3)
            m2 = e.c.wait_for_membership(range(1, nodes), range(1, nodes), timeout=60,
                                         since=t_fault)
            out["membership_s"] = round(m2.time - t_fault, 3)
        finally:
            for pr in procs.values():
                pr.stop()
    out["load"].append(loadavg())
    return out


def median(xs):
    xs = sorted(x for x in xs if x is not None)
    if not xs:
        return None
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def ratio(a, b) -> Optional[float]:
    if a is None or b in (None, 0):
        return None
    return round(a / b, 3)


def geomean(xs) -> Optional[float]:
    xs = [x for x in xs if x]
    if not xs:
        return None
    return round(math.exp(sum(math.log(x) for x in xs) / len(xs)), 3)
