#!/usr/bin/env python3
"""The report of ./dev bench: markdown tables and PNG plots from run.py's measurements.

render(data, base) writes base.md and base-throughput.png, base-latency.png (when matplotlib is
there: Debian's python3-matplotlib). Figures of repeated runs are medians; every table gives
both engines and the ratio totemd/corosync, and the load average seen while they were taken.
"""

from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import benchlib as bl  # noqa: E402

ENGINES = ["corosync", "totemd"]
KNET_DGRAM_MAX = 65536


def fmt(x, nd=1):
    if x is None:
        return "–"
    if isinstance(x, float):
        if abs(x) >= 1000:
            return f"{x:,.0f}"
        return f"{x:.{nd}f}"
    return str(x)


def size_name(s: int) -> str:
    if s >= 1 << 20 and s % (1 << 20) == 0:
        return f"{s >> 20} MiB"
    if s >= 1024 and s % 1024 == 0:
        return f"{s >> 10} KiB"
    return f"{s} B"


def ok(p) -> bool:
    return "error" not in p


def load_range(ps) -> str:
    xs = [x for p in ps for x in p.get("load", [])]
    if not xs:
        return "–"
    return f"{min(xs):.1f}–{max(xs):.1f}"


def points(data, phase, **kw):
    out = []
    for p in data["points"]:
        if p.get("phase") != phase:
            continue
        if all(p.get(k) == v for k, v in kw.items()):
            out.append(p)
    return out


def med(ps, key):
    return bl.median([p[key] for p in ps if ok(p) and p.get(key) is not None])


def knet_ceiling(data, phase, nodes, crypto):
    """The links' byte ceiling: knet's best MB/s at the largest datagram, one sender or all
    (a Totem ring sends from one token holder at a time)."""
    best = None
    for senders in (1, nodes):
        ps = [k for k in data["knet"] if k.get("phase") == phase and ok(k) and
              k.get("datagram") == KNET_DGRAM_MAX and k.get("senders") == senders and
              k.get("nodes") == nodes and k.get("crypto") == crypto]
        m = med(ps, "mb_s")
        if m is not None and (best is None or m > best):
            best = m
    return best


def knet_at(data, phase, size, senders):
    ps = [k for k in data["knet"] if k.get("phase") == phase and ok(k) and
          k.get("size") == min(size, KNET_DGRAM_MAX) and k.get("senders") == senders]
    return med(ps, "msgs_s"), med(ps, "mb_s")


# ------------------------------------------------------------------------------------------------
# tables


def tput_table(data, phase, nodes, crypto, lines):
    ps_all = [p for p in data["points"] if p.get("phase") == phase and p.get("nodes") == nodes
              and p.get("crypto") == crypto]
    if not ps_all:
        return
    ceiling = knet_ceiling(data, phase, nodes, crypto)
    runs = len({p["run"] for p in ps_all})
    lines.append(f"Delivered at every node (mean over the nodes), median of {runs} run(s); "
                 f"knet ceiling (libknet alone, best of one sender and all, 64 KiB datagrams): "
                 f"**{fmt(ceiling)} MB/s**.\n")
    lines.append("| size | senders | corosync msg/s | totemd msg/s | ratio | corosync MB/s | "
                 "totemd MB/s | ratio | knet msg/s (same size) | corosync % ceiling | "
                 "totemd % ceiling | load |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
    keys = sorted({(p["size"], p["senders"]) for p in ps_all}, key=lambda k: (-k[1], k[0]))
    for size, senders in keys:
        row = {}
        for e in ENGINES:
            ps = [p for p in ps_all if p["engine"] == e and p["size"] == size and
                  p["senders"] == senders]
            row[e] = (med(ps, "msgs_s"), med(ps, "mb_s"), ps)
        km, _ = knet_at(data, phase, size, senders if senders == 1 else nodes)
        frac = {e: (100 * row[e][1] / ceiling if ceiling and row[e][1] else None)
                for e in ENGINES}
        errs = sum(1 for e in ENGINES for p in row[e][2] if not ok(p))
        lines.append(
            f"| {size_name(size)} | {senders} | {fmt(row['corosync'][0])} | "
            f"{fmt(row['totemd'][0])} | {fmt(bl.ratio(row['totemd'][0], row['corosync'][0]), 2)} "
            f"| {fmt(row['corosync'][1], 2)} | {fmt(row['totemd'][1], 2)} | "
            f"{fmt(bl.ratio(row['totemd'][1], row['corosync'][1]), 2)} | "
            f"{fmt(km) if size <= KNET_DGRAM_MAX else '–'} | {fmt(frac['corosync'], 0)} | "
            f"{fmt(frac['totemd'], 0)} | {load_range(row['corosync'][2] + row['totemd'][2])}"
            f"{f' ({errs} failed)' if errs else ''} |")
    lines.append("")


def cpu_table(data, phase, nodes, crypto, lines):
    ps_all = [p for p in data["points"] if p.get("phase") == phase and p.get("nodes") == nodes
              and p.get("crypto") == crypto]
    if not ps_all:
        return
    lines.append("Daemon CPU seconds (all nodes, every thread: knet's included) per MB "
                 "delivered (all nodes), median of the runs; RSS under load: the largest "
                 "daemon's VmRSS at the end of the window.\n")
    lines.append("| size | senders | corosync CPU s/MB | totemd CPU s/MB | ratio | corosync RSS MB "
                 "| totemd RSS MB | ratio |")
    lines.append("|---|---|---|---|---|---|---|---|")
    keys = sorted({(p["size"], p["senders"]) for p in ps_all}, key=lambda k: (-k[1], k[0]))
    for size, senders in keys:
        v = {}
        for e in ENGINES:
            ps = [p for p in ps_all if p["engine"] == e and p["size"] == size and
                  p["senders"] == senders and ok(p)]
            rss = bl.median([max(p["rss_kB"].values()) / 1024 for p in ps]) if ps else None
            v[e] = (med(ps, "cpu_s_per_mb"), rss)
        lines.append(f"| {size_name(size)} | {senders} | {fmt(v['corosync'][0], 4)} | "
                     f"{fmt(v['totemd'][0], 4)} | "
                     f"{fmt(bl.ratio(v['totemd'][0], v['corosync'][0]), 2)} | "
                     f"{fmt(v['corosync'][1])} | {fmt(v['totemd'][1])} | "
                     f"{fmt(bl.ratio(v['totemd'][1], v['corosync'][1]), 2)} |")
    lines.append("")


def latency_rows(data):
    rows = {}
    for p in points(data, "latency"):
        if not ok(p):
            continue
        key = (p["engine"], p["fraction"], p["of_peak"])
        r = rows.setdefault(key, {"ps": [], "hs": {}, "ho": {}})
        r["ps"].append(p)
        for b, n in p.get("hist_self", []):
            r["hs"][b] = r["hs"].get(b, 0) + n
        for b, n in p.get("hist_other", []):
            r["ho"][b] = r["ho"].get(b, 0) + n
    return rows


def latency_table(data, lines):
    rows = latency_rows(data)
    if not rows:
        return
    peak = data["meta"].get("peak_1k", {})
    lines.append(f"1 KiB messages, every node sending at the rate given (messages/s each); "
                 f"peaks (1 KiB, every node sending, tput phase): corosync "
                 f"{fmt(peak.get('corosync'))}, totemd {fmt(peak.get('totemd'))} msg/s. "
                 "Latency from the send call to the delivery callback, at the sender (self) "
                 "and at the other nodes (other); the runs' histograms merged.\n")
    lines.append("| engine | load point | rate/sender | delivered msg/s | self p50 ms | self p99 | "
                 "self p99.9 | other p50 ms | other p99 | other p99.9 | load |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|---|")
    for (e, frac, of), r in sorted(rows.items(), key=lambda kv: (kv[0][2], kv[0][1], kv[0][0])):
        s, o = bl.hist_summary(r["hs"]), bl.hist_summary(r["ho"])
        lines.append(f"| {e} | {int(frac * 100)} % of {of}'s peak | {fmt(med(r['ps'], 'rate'))} | "
                     f"{fmt(med(r['ps'], 'msgs_s'))} | {fmt(s['p50_ms'], 2)} | "
                     f"{fmt(s['p99_ms'], 2)} | {fmt(s['p999_ms'], 2)} | {fmt(o['p50_ms'], 2)} | "
                     f"{fmt(o['p99_ms'], 2)} | {fmt(o['p999_ms'], 2)} | {load_range(r['ps'])} |")
    lines.append("")


def loss_table(data, lines):
    ps_all = points(data, "loss")
    if not ps_all:
        return
    base = {e: med(points(data, "tput", engine=e, size=1024, senders=3, nodes=3), "msgs_s")
            for e in ENGINES}
    lines.append("1 KiB, every node sending; every node drops that share of the packets it "
                 "receives (nftables `numgen random`), median of the runs. The last columns: "
                 "each engine's throughput as a share of its own lossless figure (tput).\n")
    lines.append("| loss | corosync msg/s | totemd msg/s | ratio | corosync % of lossless | "
                 "totemd % of lossless | runs | load |")
    lines.append("|---|---|---|---|---|---|---|---|")
    for loss in sorted({p.get("loss", 0) for p in ps_all}):
        v = {e: med([p for p in ps_all if p["engine"] == e and p.get("loss", 0) == loss], "msgs_s")
             for e in ENGINES}
        ps = [p for p in ps_all if p.get("loss", 0) == loss]
        errs = sum(1 for p in ps if not ok(p))
        pct = {e: (100 * v[e] / base[e] if v[e] is not None and base[e] else None)
               for e in ENGINES}
        lines.append(f"| {loss} % | {fmt(v['corosync'])} | {fmt(v['totemd'])} | "
                     f"{fmt(bl.ratio(v['totemd'], v['corosync']), 1)} | "
                     f"{fmt(pct['corosync'], 1)} | {fmt(pct['totemd'], 1)} | "
                     f"{len({p['run'] for p in ps})}{f' ({errs} failed)' if errs else ''} | "
                     f"{load_range(ps)} |")
    lines.append("")


def failover_rows(data):
    rows = {}
    for f in data["failover"]:
        rows.setdefault((str(f.get("token")), f.get("fault")), {}).setdefault(
            f["engine"], []).append(f)
    return rows


def failover_table(data, lines):
    rows = failover_rows(data)
    if not rows:
        return
    lines.append("3 nodes, knet, crypto on; a fresh cluster each time. formation: start of "
                 "every daemon → the full ring in every log; failover: kill -9 (or SIGTERM: "
                 "a clean leave) of node 3 → the CPG configuration change without it at the "
                 "last survivor's client. Medians (and range).\n")
    lines.append("| token | fault | corosync formation s | totemd formation s | corosync → confchg s "
                 "| totemd → confchg s | ratio | runs | load |")
    lines.append("|---|---|---|---|---|---|---|---|---|")
    for (token, fault), by in rows.items():
        def cell(e, key):
            xs = [f[key] for f in by.get(e, []) if ok(f) and f.get(key) is not None]
            if not xs:
                return None, "–"
            m = bl.median(xs)
            rng = f" ({min(xs):.2f}–{max(xs):.2f})" if len(xs) > 1 else ""
            return m, f"{m:.2f}{rng}"
        cf, cft = cell("corosync", "formation_s")
        tf, tft = cell("totemd", "formation_s")
        cx, cxt = cell("corosync", "failover_s")
        tx, txt = cell("totemd", "failover_s")
        n = max(len(v) for v in by.values())
        allf = [f for v in by.values() for f in v]
        lines.append(f"| {token} | {'kill -9' if fault == 'kill' else 'SIGTERM'} | {cft} | {tft} | "
                     f"{cxt} | {txt} | {fmt(bl.ratio(tx, cx), 2)} | {n} | {load_range(allf)} |")
    lines.append("")


def memory_table(data, lines):
    eng = data.get("engines", {})
    if not eng:
        return
    lines.append("Idle: 2 s after the ring formed, no client. Under load: the largest VmRSS seen "
                 "at the end of any throughput window. Scheduling and memory locking as each "
                 "daemon set them (corosync's and totemd's `mlockall` need CAP_SYS_RESOURCE / "
                 "CAP_IPC_LOCK for RLIMIT_MEMLOCK, which these namespaces do not give: VmLck 0 "
                 "for both).\n")
    lines.append("| cluster | engine | idle RSS MB (median node) | under load max MB | idle CPU % "
                 "a node | main thread | threads | VmLck kB | RLIMIT_MEMLOCK |")
    lines.append("|---|---|---|---|---|---|---|---|---|")
    for key, by in eng.items():
        nodes = 5 if key.startswith("n5") else 3
        crypto = "nocrypto" not in key
        for e in ENGINES:
            info = by.get(e)
            if not info:
                continue
            idle = bl.median(list(info["idle_rss_kB"].values())) / 1024
            loads = [max(p["rss_kB"].values()) / 1024 for p in data["points"]
                     if ok(p) and p.get("engine") == e and p.get("nodes") == nodes and
                     p.get("crypto") == crypto and p.get("rss_kB")]
            sch = info["sched"]
            thr = ", ".join(f"{k}×{v}" for k, v in sch["threads"].items())
            lines.append(f"| {key} | {e} | {idle:.1f} | {fmt(max(loads) if loads else None)} | "
                         f"{info['idle_cpu_pct']} | {sch['main']} | {thr} | {sch['VmLck_kB']} | "
                         f"{sch['RLIMIT_MEMLOCK']} |")
    lines.append("")
    floor = data.get("knet_floor", {})
    if "rss_handle_kB" in floor:
        coro = [bl.median(list(by["corosync"]["idle_rss_kB"].values())) / 1024
                for by in eng.values() if "corosync" in by]
        half = f"; half of corosync's idle RSS is {min(coro) / 2:.1f} MB" if coro else ""
        lines.append(f"libknet's floor: a process that only calls knet_handle_new is resident at "
                     f"{floor['rss_handle_kB'] / 1024:.1f} MB ({floor['anon_handle_kB'] / 1024:.1f} MB "
                     f"anonymous: libknet's packet buffers, allocated and touched there; "
                     f"{floor['rss_before_kB'] / 1024:.1f} MB before){half} "
                     f"(`totem-knet-bench --rss`).\n")
    n3 = eng.get("n3_crypto", {})
    if n3:
        lines.append("Where an idle daemon's resident memory is (node 1, 3 nodes, crypto on; "
                     "kB by mapping, /proc/PID/smaps):\n")
        lines.append("| mapping | " + " | ".join(e for e in ENGINES if e in n3) + " |")
        lines.append("|---|" + "---|" * len([e for e in ENGINES if e in n3]))
        names = {}
        for e in ENGINES:
            if e not in n3:
                continue
            for k, v in n3[e]["smaps"].items():
                names[k] = max(names.get(k, 0), v)
        top = sorted(names, key=lambda k: -names[k])[:12]
        for k in top:
            cells = [fmt(n3[e]["smaps"].get(k)) for e in ENGINES if e in n3]
            lines.append(f"| `{k}` | " + " | ".join(cells) + " |")
        rest = {e: sum(v for k, v in n3[e]["smaps"].items() if k not in top)
                for e in ENGINES if e in n3}
        lines.append("| everything else | " + " | ".join(fmt(rest[e]) for e in rest) + " |")
        lines.append("")


def micro_table(data, lines):
    m = data.get("micro")
    if not m:
        return
    if "error" in m:
        lines.append(f"Micro-benchmarks not run: {m['error']}\n")
        return
    lines.append("Google Benchmark, `--benchmark_min_time=0.2` (build/*/bin/totem-micro-bench).\n")
    lines.append("| benchmark | time per iteration | throughput |")
    lines.append("|---|---|---|")
    for b in m.get("benchmarks", []):
        t = b.get("real_time")
        unit = b.get("time_unit", "ns")
        thr = []
        if "bytes_per_second" in b:
            thr.append(f"{b['bytes_per_second'] / 1e6:.1f} MB/s")
        if "items_per_second" in b:
            thr.append(f"{b['items_per_second'] / 1e6:.2f} M items/s")
        lines.append(f"| `{b['name']}` | {t:.1f} {unit} | {', '.join(thr) or '–'} |")
    lines.append("")


# ------------------------------------------------------------------------------------------------
# targets


def targets(data):
    """[(target, measured, met)] for issue 20's targets (3 nodes, crypto on, medians)."""
    out = []

    def tp(e, size, key="msgs_s"):
        return med(points(data, "tput", engine=e, size=size, senders=3, nodes=3), key)

    for size in (64, 1024):
        r = bl.ratio(tp("totemd", size), tp("corosync", size))
        out.append((f"throughput, every node sending, {size_name(size)}: ≥ 1.5× corosync msg/s",
                    f"{fmt(r, 2)}×", r is not None and r >= 1.5))
    ceiling = knet_ceiling(data, "tput", 3, True)
    for size in (16384, 65536, 1048576):
        r = bl.ratio(tp("totemd", size), tp("corosync", size))
        out.append((f"throughput, every node sending, {size_name(size)}: ≥ 1.0× corosync",
                    f"{fmt(r, 2)}×", r is not None and r >= 1.0))
        mb = tp("totemd", size, "mb_s")
        f = mb / ceiling if mb and ceiling else None
        out.append((f"throughput, every node sending, {size_name(size)}: ≥ 90 % of the knet "
                    f"ceiling ({fmt(ceiling)} MB/s)", f"{fmt(f * 100 if f else None, 0)} %",
                    f is not None and f >= 0.9))
    rows = latency_rows(data)
    c, t = rows.get(("corosync", 0.5, "corosync")), rows.get(("totemd", 0.5, "corosync"))
    for where, hk in (("at the sender", "hs"), ("at the other nodes", "ho")):
        if c and t:
            pc = bl.hist_percentile(c[hk], 0.99)
            pt = bl.hist_percentile(t[hk], 0.99)
            r = bl.ratio(pt, pc)
        else:
            r = None
        out.append((f"p99 latency {where} at 50 % of corosync's peak: ≤ 0.5× corosync",
                    f"{fmt(r, 2)}×", r is not None and r <= 0.5))
    for (token, fault), by in failover_rows(data).items():
        if fault != "kill":
            continue
        xs = {e: bl.median([f["failover_s"] for f in by.get(e, []) if ok(f)]) for e in ENGINES}
        r = bl.ratio(xs["totemd"], xs["corosync"])
        # Both are timer-driven; the log and confchg times have ms precision: judge on the
        # ratio as shown (2 decimals).
        out.append((f"failover (kill -9 → confchg), token {token}: ≤ 1.0× corosync",
                    f"{fmt(r, 2)}×", r is not None and round(r, 2) <= 1.0))
    n3 = data.get("engines", {}).get("n3_crypto", {})
    if "corosync" in n3 and "totemd" in n3:
        idle = {e: bl.median(list(n3[e]["idle_rss_kB"].values())) for e in ENGINES}
        r = bl.ratio(idle["totemd"], idle["corosync"])
        out.append(("RSS idle: ≤ 0.5× corosync", f"{fmt(r, 2)}×", r is not None and r <= 0.5))
    loads = {}
    for e in ENGINES:
        xs = [max(p["rss_kB"].values()) for p in points(data, "tput", engine=e, nodes=3)
              if ok(p)]
        loads[e] = max(xs) if xs else None
    r = bl.ratio(loads["totemd"], loads["corosync"])
    out.append(("RSS under load (largest): ≤ 0.5× corosync", f"{fmt(r, 2)}×",
                r is not None and r <= 0.5))
    rs = []
    for size in (64, 1024, 16384, 65536, 1048576):
        rr = bl.ratio(tp("totemd", size, "cpu_s_per_mb"), tp("corosync", size, "cpu_s_per_mb"))
        if rr:
            rs.append((size, rr))
    for size, rr in rs:
        out.append((f"CPU per delivered MB, every node sending, {size_name(size)}: ≤ 0.7× "
                    "corosync", f"{fmt(rr, 2)}×", rr <= 0.7))
    base = tp("totemd", 1024)
    l5 = med(points(data, "loss", engine="totemd", loss=5), "msgs_s")
    f = l5 / base if l5 is not None and base else None
    out.append(("5 % loss at every node: totemd ≥ 50 % of its own lossless throughput (1 KiB)",
                f"{fmt(f * 100 if f is not None else None, 1)} %", f is not None and f >= 0.5))
    return out


# ------------------------------------------------------------------------------------------------
# plots


def plots(data, base) -> list:
    try:
        import matplotlib
    except ImportError:
        # Debian's python3-matplotlib, when another python3 comes first in PATH
        sys.path.append("/usr/lib/python3/dist-packages")
        try:
            import matplotlib
        except ImportError:
            return []
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    made = []
    ps = [p for p in points(data, "tput", nodes=3, crypto=True) if ok(p)]
    if ps:
        fig, axes = plt.subplots(1, 2, figsize=(13, 5))
        colors = {"corosync": "tab:blue", "totemd": "tab:red"}
        for e in ENGINES:
            for senders, style in ((3, "-o"), (1, "--s")):
                sizes = sorted({p["size"] for p in ps if p["engine"] == e and
                                p["senders"] == senders})
                if not sizes:
                    continue
                mb = [med([p for p in ps if p["engine"] == e and p["senders"] == senders and
                           p["size"] == s], "mb_s") for s in sizes]
                ms = [med([p for p in ps if p["engine"] == e and p["senders"] == senders and
                           p["size"] == s], "msgs_s") for s in sizes]
                lab = f"{e}, {'every node sends' if senders > 1 else 'one sender'}"
                axes[0].plot(sizes, mb, style, color=colors[e], label=lab)
                axes[1].plot(sizes, ms, style, color=colors[e], label=lab)
        for senders, style in ((1, ":^"), (3, ":v")):
            ks = sorted({k["size"] for k in data["knet"] if ok(k) and k.get("phase") == "tput"
                         and k["senders"] == senders})
            if ks:
                mb = [knet_at(data, "tput", s, senders)[1] for s in ks]
                ms = [knet_at(data, "tput", s, senders)[0] for s in ks]
                lab = f"knet alone, {'all send' if senders > 1 else 'one sender'}"
                axes[0].plot(ks, mb, style, color="gray", label=lab)
                axes[1].plot(ks, ms, style, color="gray", label=lab)
        for ax, yl in ((axes[0], "delivered MB/s at every node"),
                       (axes[1], "delivered messages/s at every node")):
            ax.set_xscale("log", base=2)
            ax.set_xlabel("message size (bytes)")
            ax.set_ylabel(yl)
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize=8)
        axes[1].set_yscale("log")
        fig.suptitle("3 nodes, knet, aes256/sha256 — medians of the runs")
        fig.tight_layout()
        path = base + "-throughput.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        made.append(path)
    rows = latency_rows(data)
    if rows:
        fig, axes = plt.subplots(1, 2, figsize=(13, 5))
        for (e, frac, of), r in sorted(rows.items()):
            for ax, h in ((axes[0], r["hs"]), (axes[1], r["ho"])):
                total = sum(h.values())
                if not total:
                    continue
                xs, ys, acc = [], [], 0
                for b in sorted(h):
                    acc += h[b]
                    if acc >= total:
                        break
                    xs.append(bl.bucket_ms(b))
                    ys.append(1 - acc / total)
                ls = "-" if e == "totemd" else "--"
                ax.plot(xs, ys, ls, label=f"{e} @ {int(frac * 100)} % of {of}'s peak")
        for ax, t in ((axes[0], "at the sender"), (axes[1], "at the other nodes")):
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("send → delivery (ms)")
            ax.set_ylabel("fraction of messages slower (1 − CDF)")
            ax.set_title(f"latency {t}, 1 KiB, every node sending")
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize=8)
        fig.tight_layout()
        path = base + "-latency.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        made.append(path)
    return made


# ------------------------------------------------------------------------------------------------


def render(data, base: str) -> None:
    meta = data["meta"]
    v = meta.get("versions", {})
    lines = [f"# bench: corosync {v.get('corosync', '?')} and totemd side by side",
             "",
             f"Run {meta.get('started')} – {meta.get('finished', '?')} "
             f"({fmt(meta.get('elapsed_s'))} s{', --quick' if meta.get('quick') else ''}); "
             f"totemd {v.get('totemd_commit', '?')}, libknet {v.get('libknet', '?')}, libqb "
             f"{v.get('libqb', '?')}, kernel {v.get('kernel', '?')}, {v.get('cpus', '?')} CPUs "
             f"({v.get('cpu_model', '?')}). `./dev bench` (bench/run.py); raw figures in "
             f"`{os.path.basename(base)}.json`.",
             "",
             "The machine is shared: the load column is the 1-minute load average while the "
             "figure was taken (both engines of a row alternate within the same minutes, so "
             "ratios are fairer than absolute figures).",
             ""]
    tg = targets(data)
    if tg:
        lines += ["## Targets (issue 20; 3 nodes, knet, crypto on, medians)", "",
                  "| target | measured | |", "|---|---|---|"]
        for name, val, met in tg:
            verdict = ("not measured" if val.startswith("–") else
                       "met" if met else "**missed**")
            lines.append(f"| {name} | {val} | {verdict} |")
        lines.append("")
    lines += ["## Throughput: 3 nodes, knet, aes256/sha256", ""]
    tput_table(data, "tput", 3, True, lines)
    lines += ["## CPU and memory under load: 3 nodes, crypto on", ""]
    cpu_table(data, "tput", 3, True, lines)
    if points(data, "latency"):
        lines += ["## Latency: 3 nodes, crypto on", ""]
        latency_table(data, lines)
    if points(data, "loss"):
        lines += ["## Throughput under random loss: 3 nodes, crypto on", ""]
        loss_table(data, lines)
    if data["failover"]:
        lines += ["## Formation, failover, leave", ""]
        failover_table(data, lines)
    if points(data, "nocrypto"):
        lines += ["## Throughput without crypto: 3 nodes", ""]
        tput_table(data, "nocrypto", 3, False, lines)
        cpu_table(data, "nocrypto", 3, False, lines)
    if points(data, "k5"):
        lines += ["## Throughput: 5 nodes, crypto on", ""]
        tput_table(data, "k5", 5, True, lines)
        cpu_table(data, "k5", 5, True, lines)
    lines += ["## Memory, scheduling, memory locking", ""]
    memory_table(data, lines)
    if data.get("micro"):
        lines += ["## Micro-benchmarks", ""]
        micro_table(data, lines)
    made = plots(data, base)
    if made:
        lines += ["## Plots", ""]
        lines += [f"![{os.path.basename(p)}]({os.path.basename(p)})" for p in made]
        lines.append("")
    else:
        lines += ["(no plots: python3-matplotlib is not importable by this python)", ""]
    dead = [p for p in data.get("points", []) if p.get("dead") and "error" not in p]
    if dead:
        lines += ["## Points where a client lost its daemon connection", "",
                  "The figure above counts what the remaining clients delivered in the window; "
                  "a client whose connection the daemon closed (totemd: its event out-queue "
                  "passed the 32 MiB cap, engine/ipc/server.hpp kEventQueueMaxBytesDefault; "
                  "corosync has no cap) stops sending and receiving.", "",
                  "| phase | run | engine | nodes | size | senders | loss % | msg/s |",
                  "|---|---|---|---|---|---|---|---|"]
        lines += [f"| {p['phase']} | {p.get('run')} | {p['engine']} | {p['nodes']} | "
                  f"{size_name(p['size'])} | {p['senders']} | {p.get('loss', 0)} | "
                  f"{fmt(p.get('msgs_s'))} |" for p in dead]
        lines.append("")
    if data.get("errors"):
        lines += ["## Failed measurements", ""]
        lines += [f"- {e['phase']} {e.get('args', '')}: {e['error']}" for e in data["errors"]]
        lines.append("")
    with open(base + ".md", "w") as f:
        f.write("\n".join(lines))
