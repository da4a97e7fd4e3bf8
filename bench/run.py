#!/usr/bin/env python3
"""./dev bench: corosync 3.1.7 and totemd side by side in network namespaces, in one run.

    python3 bench/run.py [--bin DIR] [--quick] [--runs N] [--out DIR] [--only PHASE,...]
    python3 bench/run.py --render RESULTS.json      (the report again from saved figures)

Both engines get the same K-node topology (tests/it/harness.py: one namespace per node on one
bridge, the same corosync.conf: knet, aes256/sha256 or no crypto, token 1000 ms unless a phase
says otherwise) and the same client, bench/cpg_bench.cpp, linked to Debian's libcpg. Both
clusters stay up side by side and every figure is taken on one, then on the other, in the same
run (the order alternates from run to run), so the machine's load falls on both alike; the
1-minute load average is recorded beside each figure. Phases (--only names them):

  tput     3 nodes, crypto on, --runs times (default 3): delivered msgs/s and MB/s at every node
           for 64 B, 1 KiB, 16 KiB, 64 KiB and 1 MiB messages, one sender and every node
           sending; daemon CPU seconds per delivered MB; RSS under load; the knet ceiling
           (bench/knet_bench.cpp between three more namespaces, the same crypto; run 0 only)
  latency  1 KiB, every node sending at 10 % and 50 % of each engine's own peak, and totemd at
           50 % of corosync's: send → delivery at the sender and at the other nodes,
           p50/p99/p99.9
  loss     1 KiB, every node sending (6 s windows), 1 %, 5 % (--runs times) and 10 % loss of what
           every node receives (nftables)
  nocrypto 3 nodes, crypto off: 1 KiB and 64 KiB, every node sending
  k5       5 nodes, crypto on: every size, one and five senders
  failover formation, kill -9 → CPG confchg at the survivors (token 1000 ms, --runs times; the
           default token once), SIGTERM (a clean leave) at token 1000 ms
  micro    bench/micro (Google Benchmark): codec, totempg, srp token path, IPC request path

--quick (about 2 minutes): one run of 1 KiB and 64 KiB with every node sending, 1 KiB from one
sender, their knet ceilings, latency at 50 %, 5 % loss, one failover.

Writes <out>/<date>.md (the tables: each figure for both engines and the ratio totemd/corosync,
the targets of issue 20 met or missed), <date>.json (every measurement) and <date>-*.png
(throughput against message size, latency distributions); <out> defaults to bench/results.
Needs root (network namespaces).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import subprocess
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import benchlib as bl  # noqa: E402
import report  # noqa: E402

SIZES = [64, 1024, 16384, 65536, 1048576]
KNET_SIZES = [64, 1024, 16384, 65536]
ENGINES = ["corosync", "totemd"]


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')} load {bl.loadavg():5.2f}] {msg}", flush=True)


def versions(totemd: str) -> dict:
    def out(cmd):
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
            return (r.stdout or r.stderr).strip().splitlines()[0]
        except (OSError, subprocess.TimeoutExpired, IndexError):
            return "?"

    def pkg(name):
        return out(["dpkg-query", "-W", "-f=${Version}", name])

    commit = out(["git", "-C", HERE, "rev-parse", "--short", "HEAD"])
    dirty = out(["git", "-C", HERE, "status", "--porcelain", "--untracked-files=no"])
    return {"totemd": out([totemd, "-v"]), "totemd_commit": commit + ("+dirty" if dirty and
                                                                      dirty != "?" else ""),
            "corosync": pkg("corosync"), "libknet": pkg("libknet1"), "libqb": pkg("libqb100"),
            "kernel": platform.release(), "cpus": os.cpu_count(),
            "cpu_model": _cpu_model()}


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


class Runner:
    def __init__(self, a):
        self.a = a
        self.totemd = bl.harness.find_totemd(a.bin)
        self.tools = os.path.dirname(self.totemd) if self.totemd else a.bin
        self.data = {"meta": {"started": dt.datetime.now().isoformat(timespec="seconds"),
                              "quick": a.quick, "runs": a.runs, "args": sys.argv[1:],
                              "versions": versions(self.totemd)},
                     "engines": {}, "points": [], "knet": [], "failover": [], "micro": None,
                     "errors": []}

    # one measurement, kept even when it fails
    def point(self, phase: str, run: int, fn, *args, **kw):
        t = time.monotonic()
        try:
            r = fn(*args, **kw)
        except Exception as e:  # noqa: BLE001 — a failed figure is reported, not fatal
            r = {"error": f"{type(e).__name__}: {e}"}
            self.data["errors"].append({"phase": phase, "args": repr(args[1:]), "error": r["error"]})
            traceback.print_exc()
        r["phase"], r["run"], r["elapsed_s"] = phase, run, round(time.monotonic() - t, 1)
        return r

    def cpg(self, phase, run, e, size, senders, **kw):
        r = self.point(phase, run, bl.cpg_point, e, size, senders, **kw)
        r.setdefault("engine", e.label)
        r.setdefault("size", size)
        r.setdefault("senders", senders)
        r.setdefault("nodes", e.n)
        r.setdefault("crypto", e.crypto)
        r.setdefault("loss", kw.get("loss", 0))
        r.setdefault("rate", kw.get("rate", 0.0))
        self.data["points"].append(r)
        if "error" in r:
            log(f"{phase} {e.label:8} {size:>7} B x{senders}: ERROR {r['error']}")
        else:
            what = (f"{r['msgs_s']:9.1f} msg/s {r['mb_s']:7.2f} MB/s cpu/MB {r['cpu_s_per_mb']}"
                    if not kw.get("rate") else
                    f"self p50/p99 {r['lat_self']['p50_ms']}/{r['lat_self']['p99_ms']} ms, "
                    f"other {r['lat_other']['p50_ms']}/{r['lat_other']['p99_ms']} ms "
                    f"({r['msgs_s']:.0f} msg/s)")
            if r.get("dead"):
                what += " (a client lost its daemon connection)"
            log(f"{phase} {e.label:8} {size:>7} B x{senders}"
                f"{' loss ' + str(kw['loss']) + '%' if kw.get('loss') else ''}"
                f"{' rate ' + str(kw['rate']) if kw.get('rate') else ''}: {what}")
        return r

    def knet(self, phase, run, rig, size, senders):
        r = self.point(phase, run, bl.knet_point, rig, size, senders)
        r.setdefault("size", size)
        r.setdefault("senders", senders)
        r.setdefault("nodes", rig.n)
        r.setdefault("crypto", rig.crypto)
        self.data["knet"].append(r)
        if "error" not in r:
            log(f"{phase} knet     {size:>7} B x{senders}: {r['msgs_s']:9.1f} msg/s "
                f"{r['mb_s']:7.2f} MB/s")
        return r

    def engines(self, nodes: int, crypto: bool, token=1000):
        return [bl.Engine(k, nodes, crypto, token, self.totemd, self.tools,
                          label=k) for k in ENGINES]

    def record_engine(self, e: bl.Engine, key: str) -> None:
        time.sleep(2.0)  # idle after formation
        info = e.info()
        info["formation_s"] = round(e.formation_s, 3)
        info["idle_rss_kB"] = e.rss_kB()
        t0, c0 = time.monotonic(), e.cpu_s()
        time.sleep(2.0)
        info["idle_cpu_pct"] = round((e.cpu_s() - c0) / (time.monotonic() - t0) * 100 / e.n, 2)
        info["load"] = bl.loadavg()
        self.data["engines"].setdefault(key, {})[e.label] = info

    # ---------------------------------------------------------------------------- phases
    def phase_main(self, phases):
        """3 nodes, crypto on: tput, latency, loss on the same two clusters."""
        a = self.a
        sizes = [1024, 65536] if a.quick else SIZES
        grid = [(s, 3) for s in sizes] + ([(1024, 1)] if a.quick else [(s, 1) for s in sizes])
        knet_grid = ([(1024, 1), (1024, 3), (65536, 1), (65536, 3)] if a.quick else
                     [(s, n) for s in KNET_SIZES for n in (1, 3)])
        runs = 1 if a.quick else a.runs
        c, t = self.engines(3, True)
        with c, t, bl.KnetRig(3, True, self.tools) as rig:
            log(f"clusters up: corosync formed in {c.formation_s:.2f}s, totemd in "
                f"{t.formation_s:.2f}s")
            self.record_engine(c, "n3_crypto")
            self.record_engine(t, "n3_crypto")
            for run in range(runs):
                order = [c, t] if run % 2 == 0 else [t, c]
                if "tput" in phases:
                    for size, senders in grid:
                        for e in order:
                            self.cpg("tput", run, e, size, senders,
                                     warmup=1.0 if size >= 1 << 20 else 0.8, seconds=a.seconds,
                                     linger=0.4)
                    # The knet ceiling once per bench (run 0), not every run: it keeps the full
                    # run under 15 minutes on 2 cores.
                    if run == 0:
                        for size, senders in knet_grid:
                            self.knet("tput", run, rig, size, senders)
            for e in (c, t):
                self.data["engines"]["n3_crypto"][e.label]["after_load"] = {
                    "status": bl.proc_status(e.pids()[1]), "rss_kB": e.rss_kB()}
            if "latency" in phases:
                self.phase_latency(c, t, runs)
            if "loss" in phases:
                losses = [5] if a.quick else [1, 5, 10]
                for run in range(runs):
                    order = [c, t] if run % 2 == 0 else [t, c]
                    for p in losses:
                        if p != 5 and run > 0:
                            continue
                        for e in order:
                            # A 6 s window at least: a lost token stalls both engines for
                            # about a second, so 2 s windows read 0 for both.
                            self.cpg("loss", run, e, 1024, 3, warmup=1.0,
                                     seconds=max(a.seconds, 6.0), linger=0.4, loss=p)

    def peak(self, engine: str) -> float:
        xs = [p["msgs_s"] for p in self.data["points"]
              if p.get("phase") == "tput" and p.get("engine") == engine and p.get("size") == 1024
              and p.get("senders") == 3 and p.get("nodes") == 3 and "error" not in p]
        return bl.median(xs) or 0.0

    def phase_latency(self, c, t, runs):
        pc, pt = self.peak("corosync"), self.peak("totemd")
        if not pc or not pt:
            log("latency: no 1 KiB peak measured (tput phase skipped?): measuring it now")
            for e in (c, t):
                self.cpg("tput", 0, e, 1024, 3, seconds=self.a.seconds)
            pc, pt = self.peak("corosync"), self.peak("totemd")
        self.data["meta"]["peak_1k"] = {"corosync": pc, "totemd": pt}
        plan = [(c, 0.5, "corosync"), (t, 0.5, "totemd"), (t, 0.5, "corosync")]
        if not self.a.quick:
            plan = [(c, 0.1, "corosync"), (t, 0.1, "totemd")] + plan
        for run in range(runs):
            for e, frac, of in (plan if run % 2 == 0 else plan[::-1]):
                peak = pc if of == "corosync" else pt
                rate = round(frac * peak / 3, 1)  # a sender's share: every node sends
                r = self.cpg("latency", run, e, 1024, 3, rate=rate, warmup=0.8,
                             seconds=self.a.seconds, linger=1.0)
                r["fraction"], r["of_peak"] = frac, of

    def phase_nocrypto(self):
        c, t = self.engines(3, False)
        with c, t, bl.KnetRig(3, False, self.tools) as rig:
            self.record_engine(c, "n3_nocrypto")
            self.record_engine(t, "n3_nocrypto")
            for size in (1024, 65536):
                for e in (c, t):
                    self.cpg("nocrypto", 0, e, size, 3, seconds=self.a.seconds)
                self.knet("nocrypto", 0, rig, size, 1)

    def phase_k5(self):
        c, t = self.engines(5, True)
        with c, t:
            self.record_engine(c, "n5_crypto")
            self.record_engine(t, "n5_crypto")
            for size in SIZES:
                for senders in (5, 1):
                    for e in (c, t):
                        self.cpg("k5", 0, e, size, senders,
                                 warmup=1.0 if size >= 1 << 20 else 0.8,
                                 seconds=self.a.seconds, linger=0.4)

    def phase_failover(self):
        runs = 1 if self.a.quick else self.a.runs
        plan = [(1000, "kill")] * runs
        if not self.a.quick:
            plan += [(None, "kill"), (1000, "term")]
        for i, (token, fault) in enumerate(plan):
            for kind in (ENGINES if i % 2 == 0 else ENGINES[::-1]):
                r = self.point("failover", i, bl.failover_point, kind, 3, token, fault,
                               self.totemd, self.tools)
                r.setdefault("engine", kind)
                r.setdefault("token", token or "default")
                r.setdefault("fault", fault)
                self.data["failover"].append(r)
                if "error" in r:
                    log(f"failover {kind}: ERROR {r['error']}")
                else:
                    log(f"failover {kind:8} token {token or 'default'} {fault}: formation "
                        f"{r['formation_s']}s, → confchg {r['failover_s']}s")

    def knet_floor(self) -> None:
        """libknet's own resident memory (knet_handle_new alone, bench/knet_bench.cpp --rss):
        the floor under both daemons' RSS."""
        exe = os.path.join(self.tools, "totem-knet-bench")
        try:
            r = subprocess.run([exe, "--rss"], capture_output=True, text=True, timeout=30)
            m = re.search(r"^RESULT (\{.*\})$", r.stdout, re.M)
            self.data["knet_floor"] = json.loads(m.group(1)) if m else {"error": r.stdout}
        except (OSError, subprocess.TimeoutExpired, json.JSONDecodeError) as e:
            self.data["knet_floor"] = {"error": str(e)}

    def phase_micro(self):
        exe = os.path.join(self.tools, "totem-micro-bench")
        if not os.access(exe, os.X_OK):
            self.data["micro"] = {"error": f"{exe} not built"}
            return
        log("micro-benchmarks")
        try:
            r = subprocess.run([exe, "--benchmark_format=json", "--benchmark_min_time=0.2"],
                               capture_output=True, text=True, timeout=300)
            self.data["micro"] = json.loads(r.stdout)
        except (OSError, subprocess.TimeoutExpired, json.JSONDecodeError) as e:
            self.data["micro"] = {"error": str(e)}

    def run(self, phases) -> None:
        t0 = time.monotonic()
        if phases & {"tput", "latency", "loss"}:
            self.knet_floor()
            self.phase_main(phases)
        if "failover" in phases:
            self.phase_failover()
        if "nocrypto" in phases and not self.a.quick:
            self.phase_nocrypto()
        if "k5" in phases and not self.a.quick:
            self.phase_k5()
        if "micro" in phases and not self.a.quick:
            self.phase_micro()
        self.data["meta"]["elapsed_s"] = round(time.monotonic() - t0, 1)
        self.data["meta"]["finished"] = dt.datetime.now().isoformat(timespec="seconds")


def out_name(out_dir: str, quick: bool) -> str:
    base = dt.date.today().isoformat() + ("-quick" if quick else "")
    name, k = base, 2
    while os.path.exists(os.path.join(out_dir, name + ".md")):
        name, k = f"{base}-{k}", k + 1
    return os.path.join(out_dir, name)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=None, help="totemd's build directory (bin/)")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=2.0, help="measurement window")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ap.add_argument("--only", default="tput,latency,loss,nocrypto,k5,failover,micro")
    ap.add_argument("--render", default=None, help="re-render the report of a results .json")
    a = ap.parse_args()
    if a.render:
        with open(a.render) as f:
            data = json.load(f)
        base = a.render[:-5] if a.render.endswith(".json") else a.render
        report.render(data, base)
        print(f"bench: wrote {base}.md")
        return 0
    if os.geteuid() != 0:
        print("bench: needs root (network namespaces)", file=sys.stderr)
        return 1
    missing = [p for p in (bl.harness.COROSYNC_BIN,) if not os.access(p, os.X_OK)]
    r = Runner(a)
    if not r.totemd:
        missing.append("totemd (build it: ./dev build)")
    for exe in ("totem-cpg-bench", "totem-knet-bench"):
        if not r.tools or not os.access(os.path.join(r.tools, exe), os.X_OK):
            missing.append(exe)
    if missing:
        print("bench: missing " + ", ".join(missing), file=sys.stderr)
        return 1
    bl.cleanup_stale()
    phases = set(a.only.split(","))
    log(f"totemd {r.totemd}; phases {','.join(sorted(phases))}; "
        f"{'quick' if a.quick else f'{a.runs} runs'}")
    try:
        r.run(phases)
    except KeyboardInterrupt:
        r.data["errors"].append({"phase": "all", "error": "interrupted"})
    os.makedirs(a.out, exist_ok=True)
    base = out_name(a.out, a.quick)
    with open(base + ".json", "w") as f:
        json.dump(r.data, f, indent=1)
    report.render(r.data, base)
    log(f"wrote {base}.md ({r.data['meta'].get('elapsed_s', '?')} s)")
    return 1 if r.data["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
