#!/usr/bin/env python3
"""Captures golden IPC and exec vectors from Debian's corosync 3.1.7 and its unmodified client
libraries and tools, and writes them as text under tests/vectors/ipc/ and tests/vectors/exec/.

Usage (root):  tests/vectors/capture-services.py [--keep DIR]      (about 2 minutes)

What it does:
  * builds ipc/qb-ipc-shim.c (an LD_PRELOAD wrapper of libqb's client calls that logs every
    request, response and event as hex) and the small clients ipc/cpg-client.c,
    ipc/quorum-client.c, ipc/cfg-client.c, ipc/cmap-client.c into a temporary directory;
  * runs a 3-node corosync cluster (tests/it/harness.py, transport udpu without crypto, so the
    Totem packets are plain UDP) and captures the bridge with tshark;
  * runs corosync-cmapctl, corosync-cfgtool, corosync-quorumtool, corosync-cpgtool and the
    clients inside the nodes with the shim preloaded, one log per exchange;
  * ends with the messages that stop nodes: cfg shutdown (a tracker answering no, then yes),
    cfg killnode, and pload (which makes every corosync exit);
  * turns each IPC log into tests/vectors/ipc/<service>/<exchange>.txt, and the exec messages
    of the capture (totempg reassembly of the MCASTs, groups "a" and "sync") into
    tests/vectors/exec/<service>/<message>.txt (extract-exec.py does that part).

Vector format (both kinds): '#' comment lines, '@key = value' context lines (what the capture
knew besides the bytes: sender node, ring, exchange), and one message per line:

    <dir> <service> <message>[ ; <context>]

dir is req / res / ev (IPC) or a / sync (exec group); <message> is hex with two abbreviations
(vecfmt.py): {z<n>} for a run of n zero bytes, and a final +pat251:<phase>:<count> for a tail
of the test pattern byte k = (phase + k) % 251 that cpg-client sends (checked byte for byte).
"""
from __future__ import annotations

import argparse
import collections
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "it"))
sys.path.insert(0, HERE)
import harness  # noqa: E402
import vecfmt  # noqa: E402

IPC_DIR = os.path.join(HERE, "ipc")
EXEC_DIR = os.path.join(HERE, "exec")
KEEP_FIRST, KEEP_LAST = 60, 20  # an exchange longer than this is trimmed (cmapctl dumps)


def log(msg: str) -> None:
    print(f"[capture {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def versions() -> str:
    out = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Version}\\n", "corosync",
                          "libqb100", "libcpg4", "libcmap4", "libquorum5", "libvotequorum8",
                          "libcfg7"], capture_output=True, text=True).stdout
    return ", ".join(line.strip() for line in out.splitlines() if line.strip())


class Capture:
    def __init__(self, c: harness.Cluster, work: str):
        self.c = c
        self.work = work
        self.shim = os.path.join(work, "qb-ipc-shim.so")
        self.logs: list[tuple[str, str, str, int]] = []  # (name, description, log path, node)
        self.bg: list[subprocess.Popen] = []

    def _cmd(self, i: int, name: str, argv: list[str]) -> tuple[list[str], str]:
        path = os.path.join(self.work, "logs", name + ".log")
        env = ["env", f"TOTEM_IPC_LOG={path}", f"LD_PRELOAD={self.shim}"]
        node = self.c.nodes[i]
        if node.pid and self.c.running(i):
            full = ["nsenter", "-t", str(node.pid), "-n", "-m", "--"] + env + argv
        else:
            full = ["ip", "netns", "exec", node.ns] + env + argv
        return full, path

    def run(self, i: int, name: str, desc: str, argv: list[str], timeout: float = 30,
            expect_rc: int | None = 0) -> str:
        """Runs argv on node i with the shim; its log becomes vector `name`."""
        full, path = self._cmd(i, name, argv)
        r = subprocess.run(full, capture_output=True, text=True, timeout=timeout)
        with open(os.path.join(self.work, "logs", name + ".out"), "w") as out:
            out.write(r.stdout + r.stderr)
        log(f"n{i} {' '.join(argv)} -> rc {r.returncode}")
        if expect_rc is not None and r.returncode != expect_rc:
            log(f"  unexpected exit status; stdout:\n{r.stdout}\nstderr:\n{r.stderr}")
        self.logs.append((name, desc + f" (node {i}: {os.path.basename(argv[0])} "
                          + " ".join(argv[1:]) + ")", path, i))
        return r.stdout

    def start_bg(self, i: int, name: str, desc: str, argv: list[str]) -> subprocess.Popen:
        full, path = self._cmd(i, name, argv)
        out = open(os.path.join(self.work, "logs", name + ".out"), "w")
        # stdin stays an open pipe: corosync-cmapctl -t ends at EOF on its stdin.
        p = subprocess.Popen(full, stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT,
                             start_new_session=True)
        out.close()
        self.c.pids.add(p.pid)
        self.bg.append(p)
        self.logs.append((name, desc + f" (node {i}: {os.path.basename(argv[0])} "
                          + " ".join(argv[1:]) + ")", path, i))
        log(f"n{i} background {' '.join(argv)} pid {p.pid}")
        return p

    def stop_bg(self, p: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 10):
        try:
            p.send_signal(sig)
        except ProcessLookupError:
            pass
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=5)
        self.c.pids.discard(p.pid)


def build(work: str) -> dict:
    os.makedirs(os.path.join(work, "logs"))
    bins = {}
    subprocess.run(["gcc", "-Wall", "-O1", "-shared", "-fPIC", "-o",
                    os.path.join(work, "qb-ipc-shim.so"),
                    os.path.join(IPC_DIR, "qb-ipc-shim.c"), "-ldl"], check=True)
    for name, libs in (("cpg-client", ["-lcpg"]), ("quorum-client", ["-lquorum", "-lvotequorum"]),
                       ("cfg-client", ["-lcfg"]), ("cmap-client", ["-lcmap"])):
        out = os.path.join(work, name)
        subprocess.run(["gcc", "-Wall", "-O1", "-o", out, os.path.join(IPC_DIR, name + ".c")]
                       + libs, check=True)
        bins[name] = out
    os.chmod(work, 0o755)
    return bins


def scenario(c: harness.Cluster, cap: Capture, bins: dict) -> None:
    cm = "/usr/sbin/corosync-cmapctl"
    cfg = "/usr/sbin/corosync-cfgtool"
    qt = "/usr/sbin/corosync-quorumtool"
    cpgtool = "/usr/sbin/corosync-cpgtool"

    log("cmap")
    cap.run(1, "cmapctl-dump", "corosync-cmapctl: dump of the default map", [cm])
    cap.run(1, "cmapctl-get-string", "GET of a string key", [cm, "-g", "totem.cluster_name"])
    cap.run(1, "cmapctl-get-u32", "GET of a u32 key", [cm, "-g", "runtime.votequorum.this_node_id"])
    cap.run(1, "cmapctl-get-missing", "GET of a missing key (NOT_EXIST)",
            [cm, "-g", "no.such.key"], expect_rc=None)
    types = [("i8", "-5"), ("u8", "200"), ("i16", "-30000"), ("u16", "60000"),
             ("i32", "-2000000000"), ("u32", "4000000000"), ("i64", "-9000000000000000000"),
             ("u64", "18000000000000000000"), ("flt", "1.5"), ("dbl", "-2.25"),
             ("str", "hello world"), ("bin", "(file)")]
    binfile = os.path.join(cap.work, "value.bin")
    with open(binfile, "wb") as f:
        f.write(bytes([0x01, 0x02, 0x00, 0xab, 0xcd, 0xef]))
    for t, v in types:
        if t == "bin":
            v = binfile
        # "--": the values may start with '-'
        cap.run(1, f"cmapctl-set-{t}", f"SET of a {t} key",
                [cm, "-s", "--", f"proto.test.{t}", t, v])
    cap.run(1, "cmapctl-get-prefix", "iteration over a prefix with values (-g on the set keys)",
            [cm, "proto.test."])
    cap.run(1, "cmapctl-delete", "DELETE of one key", [cm, "-d", "proto.test.i8"])
    cap.run(1, "cmapctl-delete-missing", "DELETE of a missing key",
            [cm, "-d", "proto.test.i8"], expect_rc=None)
    cap.run(1, "cmapctl-delete-prefix", "DELETE of every key under a prefix",
            [cm, "-D", "proto.test."])
    cap.run(1, "cmapctl-stats", "dump of the stats map (SET_CURRENT_MAP 1)", [cm, "-m", "stats"])
    cap.run(1, "cmapctl-set-ro", "SET of a read-only key (ACCESS)",
            [cm, "-s", "totem.cluster_name", "str", "x"], expect_rc=None)
    tr = cap.start_bg(1, "cmapctl-track", "TRACK_ADD with a prefix and its NOTIFY events "
                      "(add, modify, delete), ended by SIGTERM", [cm, "-T", "proto.track."])
    time.sleep(1.0)
    cap.run(1, "cmapctl-track-add", "SET that adds a tracked key", [cm, "-s", "proto.track.a",
                                                                      "u32", "1"])
    cap.run(1, "cmapctl-track-modify", "SET that modifies a tracked key",
            [cm, "-s", "proto.track.a", "u32", "2"])
    cap.run(1, "cmapctl-track-delete", "DELETE of a tracked key", [cm, "-d", "proto.track.a"])
    time.sleep(1.0)
    cap.stop_bg(tr)
    cap.run(1, "cmap-client", "libcmap: cmap_initialize alone, inc and dec (ADJUST_INT), "
            "an exact-key track and its delete", [bins["cmap-client"]])
    cap.run(1, "cmapctl-config-version", "SET of totem.config_version (cluster-wide cmap MCAST "
            "reason NEW_CONFIG_VERSION)", [cm, "-s", "totem.config_version", "u64", "1"])
    time.sleep(0.5)

    log("cpg")
    listener = cap.start_bg(2, "cpg-listen", "libcpg: a plain join on node 2 that sees the "
                            "other client's join, messages and leave, then dies without "
                            "leaving", [bins["cpg-client"], "listen", "proto-group", "60"])
    time.sleep(1.5)
    cap.run(1, "cpg-exercise", "libcpg: model V1 join, membership, local_get, iterations, "
            "a small MCAST, a 1 MiB PARTIAL_MCAST, a zero-copy MCAST, leave, finalize",
            [bins["cpg-client"], "exercise", "proto-group"], timeout=60)
    cap.run(3, "cpgtool", "corosync-cpgtool: iteration over all groups and their members",
            [cpgtool])
    cap.run(3, "cpgtool-e", "corosync-cpgtool -e", [cpgtool, "-e"])
    time.sleep(0.5)

    log("quorum, votequorum")
    cap.run(1, "quorumtool-s", "corosync-quorumtool -s", [qt, "-s"], expect_rc=None)
    cap.run(1, "quorumtool-l", "corosync-quorumtool -l", [qt, "-l"], expect_rc=None)
    cap.run(1, "quorumtool-e", "corosync-quorumtool -e 3 (SETEXPECTED; exec RECONFIGURE)",
            [qt, "-e", "3"], expect_rc=None)
    cap.run(1, "quorumtool-v", "corosync-quorumtool -n 2 -v 1 (SETVOTES; exec RECONFIGURE)",
            [qt, "-n", "2", "-v", "1"], expect_rc=None)
    cap.run(1, "quorum-client", "libquorum: models V1 and V0, tracking", [bins["quorum-client"],
                                                                         "quorum"])
    cap.run(2, "votequorum-client", "libvotequorum: getinfo, tracking, setexpected, the qdevice "
            "calls", [bins["quorum-client"], "votequorum"], timeout=60)
    time.sleep(0.5)

    log("cfg")
    cap.run(1, "cfgtool-s", "corosync-cfgtool -s (node status of every node)", [cfg, "-s"],
            expect_rc=None)
    cap.run(1, "cfgtool-n", "corosync-cfgtool -n", [cfg, "-n"], expect_rc=None)
    cap.run(1, "cfgtool-a", "corosync-cfgtool -a 2 (GET_NODE_ADDRS)", [cfg, "-a", "2"])
    cap.run(1, "cfgtool-R", "corosync-cfgtool -R (RELOAD_CONFIG; exec RELOAD_CONFIG)", [cfg, "-R"])
    cap.run(1, "cfgtool-L", "corosync-cfgtool -L (REOPEN_LOG_FILES)", [cfg, "-L"])
    cap.run(1, "cfg-client", "libcfg: ring status, local_get, addresses, node status, killnode "
            "of a non-member, track start/stop, reply without a pending shutdown",
            [bins["cfg-client"], "misc"], expect_rc=None)

    log("shutdown refused, then granted, on node 3 (a cpg listener on node 1 keeps JOINLISTs "
        "in the syncs)")
    keep = cap.start_bg(1, "cpg-listen-sync", "libcpg: a member during the syncs that follow "
                        "(its connection ends by SIGTERM)",
                        [bins["cpg-client"], "listen", "proto-sync", "120"])
    time.sleep(1.0)
    no = cap.start_bg(3, "cfg-tracker-no", "libcfg: a shutdown tracker that answers no",
                      [bins["cfg-client"], "tracker", "no", "15"])
    time.sleep(1.0)
    cap.run(3, "cfgtool-H-refused", "corosync-cfgtool -H refused by a tracker (BUSY)",
            [cfg, "-H"], expect_rc=None)
    cap.stop_bg(no)
    yes = cap.start_bg(3, "cfg-tracker-yes", "libcfg: a shutdown tracker that answers yes",
                       [bins["cfg-client"], "tracker", "yes", "15"])
    time.sleep(1.0)
    t0 = time.time()
    cap.run(3, "cfgtool-H", "corosync-cfgtool -H granted (exec SHUTDOWN)", [cfg, "-H"],
            expect_rc=None)
    c.wait_for_membership([1, 2], [1, 2], timeout=30, since=t0)
    cap.stop_bg(yes)
    time.sleep(1.0)

    log("killnode 2 from node 1")
    t0 = time.time()
    cap.run(1, "cfgtool-k", "corosync-cfgtool -k 2 (KILLNODE; exec KILLNODE)", [cfg, "-k", "2"],
            expect_rc=None)
    c.wait_for_membership([1], [1], timeout=30, since=t0)
    time.sleep(1.0)

    log("restart nodes 2 and 3, then pload (every corosync exits when it is done)")
    for i in (2, 3):
        c.nodes[i].pid = None
    t0 = time.time()
    c.start([2, 3])
    c.wait_for_membership([1, 2, 3], [1, 2, 3], timeout=60, since=t0)
    time.sleep(2.0)
    cap.stop_bg(keep)
    cap.stop_bg(listener)
    time.sleep(2.0)
    cap.run(1, "cmapctl-pload", "pload.count/size/start (exec pload START and MCAST)",
            [cm, "-s", "pload.count", "u32", "3"])
    cap.run(1, "cmapctl-pload-size", "pload.size", [cm, "-s", "pload.size", "u32", "64"])
    cap.run(1, "cmapctl-pload-start", "pload.start",
            [cm, "-s", "pload.start", "str",
             "i_totally_understand_pload_will_crash_my_cluster_and_kill_corosync_on_exit"],
            expect_rc=None)
    time.sleep(3.0)


# ------------------------------------------------------------------------------- IPC vectors

def message_line(direction: str, svc: str, b: bytes) -> str:
    return f"{direction} {svc} {vecfmt.to_text(b)}"


def write_ipc(logs, stamp: str) -> collections.Counter:
    counts = collections.Counter()
    seen_dirs = set()
    for name, desc, path, node in logs:
        if not os.path.exists(path):
            log(f"  {name}: no IPC log (nothing sent?)")
            continue
        msgs = []
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) != 4:
                    continue
                svc, direction, n, hexs = parts
                b = bytes.fromhex(hexs)
                if len(b) != int(n):
                    raise ValueError(f"{path}: length mismatch")
                msgs.append((direction, svc, b))
        if not msgs:
            continue
        main_svc = collections.Counter(m[1] for m in msgs).most_common(1)[0][0]
        if name.startswith("cpg"):
            main_svc = "cpg"
        elif name.startswith("cfg"):
            main_svc = "cfg"
        elif name.startswith("quorum-client") or name.startswith("quorumtool"):
            main_svc = "quorum"
        elif name.startswith("votequorum"):
            main_svc = "votequorum"
        elif name.startswith("cmapctl"):
            main_svc = "cmap"
        outdir = os.path.join(IPC_DIR, main_svc)
        if outdir not in seen_dirs:
            os.makedirs(outdir, exist_ok=True)
            seen_dirs.add(outdir)
        trimmed = ""
        if len(msgs) > KEEP_FIRST + KEEP_LAST:
            trimmed = (f"# {len(msgs)} messages trimmed to the first {KEEP_FIRST} and the last "
                       f"{KEEP_LAST}\n")
            msgs = msgs[:KEEP_FIRST] + msgs[-KEEP_LAST:]
        with open(os.path.join(outdir, name + ".txt"), "w") as out:
            out.write(f"# {desc}\n")
            out.write(f"# captured by tests/vectors/capture-services.py {stamp}\n")
            out.write(trimmed)
            out.write(f"@exchange = {name}\n@node = {node}\n")
            for direction, svc, b in msgs:
                out.write(message_line(direction, svc, b) + "\n")
                counts[(svc, direction)] += 1
    return counts


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--keep", help="keep the work directory (logs, pcap) here")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("needs root (network namespaces)", file=sys.stderr)
        return 1
    work = tempfile.mkdtemp(prefix="proto-capture-")
    bins = build(work)
    pcap = os.path.join(work, "capture.pcap")
    stamp = time.strftime("%Y-%m-%d") + " from " + versions()
    tshark = None
    harness.cleanup_stale()
    with harness.Cluster(3, kind="corosync", transport="udpu", crypto=False, token=1000,
                         cluster_name="protocap", start=False, verbose=False) as c:
        open(pcap, "w").close()
        tlog = open(os.path.join(work, "tshark.log"), "w")
        tshark = subprocess.Popen(["ip", "netns", "exec", c.br_ns, "tshark", "-q", "-B", "256", "-i", "br0",
                                   "-f", "udp port 5404 or udp port 5405", "-w", pcap],
                                  stdout=tlog, stderr=subprocess.STDOUT, start_new_session=True)
        c.pids.add(tshark.pid)
        for _ in range(100):
            if "Capturing on" in open(os.path.join(work, "tshark.log")).read():
                break
            time.sleep(0.1)
        time.sleep(0.5)
        c.start()
        c.wait_for_membership([1, 2, 3], [1, 2, 3], timeout=60)
        time.sleep(2.0)
        cap = Capture(c, work)
        try:
            scenario(c, cap, bins)
        except BaseException:
            args.keep = args.keep or work + ".failed"
            raise
        finally:
            for p in cap.bg:
                if p.poll() is None:
                    cap.stop_bg(p)
            time.sleep(1.0)
            tshark.send_signal(signal.SIGTERM)
            tshark.wait(timeout=10)
            c.pids.discard(tshark.pid)
            for i in c.nodes:
                if os.path.exists(c.nodes[i].log):
                    shutil.copy(c.nodes[i].log, os.path.join(work, f"n{i}.log"))
            if args.keep and sys.exc_info()[0] is not None:
                shutil.copytree(work, args.keep, dirs_exist_ok=True)
                log(f"failed; kept {args.keep}")
    log("writing IPC vectors")
    counts = write_ipc(cap.logs, stamp)
    for (svc, d), n in sorted(counts.items()):
        log(f"  ipc {svc:10s} {d:3s} {n}")
    log("writing exec vectors")
    subprocess.run([sys.executable, os.path.join(HERE, "extract-exec.py"), pcap, EXEC_DIR, stamp],
                   check=True)
    if args.keep:
        if os.path.exists(args.keep):
            shutil.rmtree(args.keep)
        shutil.move(work, args.keep)
        log(f"kept {args.keep}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
