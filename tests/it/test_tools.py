#!/usr/bin/env python3
"""The totem-* twins side by side with corosync's tools on the same cluster (issue 19).

    python3 tests/it/test_tools.py CASE          CASE: see CASES ("all" runs every case)

Each check runs `corosync-<tool> ARGS` and `totem-<tool> ARGS` in the same node and compares
stdout, stderr and the exit status. Both are called by their bare names (getopt's messages
name the program), and each tool's own name is replaced by TOOL before comparing. What is
compared is what ISSUE-NOTES calls not volatile: the quorumtool's Date line, the stats map's
traffic counters and the pid and connection pointer in stats.ipcs.* key names are masked. The
lines the twins add to a usage text (--json, --help) are removed after checking they are there.
Every --json document is validated against its schema in docs/schemas/.

corosync           all four tools on 3 corosync 3.1.7 nodes, every flag, then the destructive
                   ones (-R -L -k -H, quorumtool without quorum)
totemd             totem-cfgtool and totem-cmapctl vs corosync's on 3 totemd nodes
totemd_quorumtool, totemd_cpgtool   the same on totemd (expected to fail while the service is
                   in TOTEMD_SERVICES_PENDING)
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from libtools_common import (bin_dir, check, finish, load_schema, pending,  # noqa: E402
                             read_json_lines, run_in, spawn_in, validate)

NODES = [1, 2, 3]
TIMEOUT_S = 40
STATS = {"compared": 0, "json": 0}

# What the twins add to corosync's usage texts (after the name is replaced by TOOL).
EXTRA_HELP = {
    "cfgtool": ["\t--json\tPrint the result as one JSON document (schema TOOL/1).",
                "\t--help\tThis text."],
    "cmapctl": ["JSON output (schema TOOL/1; one document, one line per change with -t/-T):",
                "    TOOL --json [options] [params...]", "",
                "This text: TOOL -h (or --help)", ""],
    "quorumtool": ["  --json         print the result as JSON (schema TOOL/1)",
                   "  --help         show this help text", ""],
    "cpgtool": ["\t--json\tPrint the groups as JSON (schema TOOL/1).",
                "\t--help\tDisplay this help."],
}


def norm(text: str, name: str) -> str:
    return text.replace(name, "TOOL")


def mask_date(t: str) -> str:
    return re.sub(r"(?m)^Date:  .*$", "Date: <masked>", t)


STABLE_STATS = re.compile(r"\.(enabled|connected|mtu)$")


def mask_stats(t: str) -> str:
    out = []
    for line in t.splitlines():
        line = re.sub(r"stats\.ipcs\.service(\d+)\.\d+\.0x[0-9a-f]+\.",
                      r"stats.ipcs.service\1.<pid>.<conn>.", line)
        m = re.match(r"^(\S+) \((\w+)\) = (.*)$", line)
        if m and not STABLE_STATS.search(m.group(1)):
            line = f"{m.group(1)} ({m.group(2)}) = <masked>"
        out.append(line)
    # Each tool sees its own connection only; with masked names the sets are equal.
    return "\n".join(out)


def mask_runtime(t: str) -> str:
    return re.sub(r"(?m)^(runtime\.services\.\w+\.\d+\.(tx|rx) \(u64\) = )\d+$", r"\1<n>", t)


def compare(c, i, tool, args, mask=None, help_text=False, input=None, expect_rc=None,
            timeout=30, strip_stdout_extra=None):
    """Runs both tools with `args` in node i and asserts the same stdout, stderr and status."""
    a = run_in(c, i, ["corosync-" + tool] + list(args), timeout=timeout, input=input)
    b = run_in(c, i, ["totem-" + tool] + list(args), timeout=timeout, input=input)
    A = [norm(a.stdout, "corosync-" + tool), norm(a.stderr, "corosync-" + tool), a.returncode]
    B = [norm(b.stdout, "totem-" + tool), norm(b.stderr, "totem-" + tool), b.returncode]
    if help_text:
        lines = B[0].split("\n")
        for extra in EXTRA_HELP[tool]:
            check(extra in lines, f"{tool} {args}: the usage lacks {extra!r}")
        # The additions come last: drop as many trailing lines as were added.
        tail = EXTRA_HELP[tool]
        end = len(lines) - (1 if lines and lines[-1] == "" else 0)
        check(lines[end - len(tail):end] == tail, f"{tool} {args}: additions not at the end")
        B[0] = "\n".join(lines[:end - len(tail)] + lines[end:])
    if mask:
        A[0], B[0] = mask(A[0]), mask(B[0])
    if A != B:
        import difflib
        diff = []
        for x, y, what in ((A[0], B[0], "stdout"), (A[1], B[1], "stderr")):
            diff += list(difflib.unified_diff(x.splitlines(), y.splitlines(),
                                              f"corosync-{tool} {what}", f"totem-{tool} {what}",
                                              lineterm="", n=1))
        raise AssertionError(f"{tool} {' '.join(args)} (node {i}): differs; rc "
                             f"{A[2]}/{B[2]}\n" + "\n".join(diff[:60]))
    if expect_rc is not None:
        check(a.returncode == expect_rc, f"{tool} {args}: rc {a.returncode}, wanted {expect_rc}")
    STATS["compared"] += 1
    return a


def json_of(c, i, tool, args, schema, rc=0):
    r = run_in(c, i, [tool] + list(args) + ["--json"])
    check(r.returncode == rc, f"{tool} {args} --json: rc {r.returncode}: {r.stderr[-300:]}")
    docs = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
    check(docs, f"{tool} {args} --json: no output")
    s = load_schema(schema)
    for d in docs:
        validate(d, s)
    STATS["json"] += len(docs)
    return docs


def wait_gone(c, i, timeout=20):
    node = c.nodes[i]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if node.proc.poll() is not None:
            node.pid = None
            return True
        time.sleep(0.05)
    return False


def restart(c, i):
    t = time.time()
    c.start([i])
    c.wait_for_membership(NODES, NODES, timeout=TIMEOUT_S, since=t)
    time.sleep(1.0)


# ------------------------------------------------------------------------------- cfgtool

def cfgtool_readonly(c):
    for args in (["-s"], ["-b", "-s"], ["-sb"], ["-n"], ["--status"], ["--nodes"],
                 ["--brief", "--status"], ["-i", "10.201.0.1", "-s"], ["--if=0", "-s"],
                 ["-s", "extra"], ["-a", "1"], ["-a", "2"], ["--address=3"], ["-a", "9"],
                 ["-a", "0"], ["-a", "x"], ["-a", "4294967296"], ["-k", "0"], ["-k", "abc"],
                 ["--kill=0"], ["--kill", "x"], ["--address"], ["--if"],
                 ["-x"], ["--bogus"], ["-a"]):
        compare(c, 1, "cfgtool", args)
    compare(c, 2, "cfgtool", ["-s"])
    compare(c, 3, "cfgtool", ["-n"])
    for args in ([], ["-h"], ["-h", "-b"], ["-r"], ["--help"]):
        compare(c, 1, "cfgtool", args, help_text=True) if args != ["--help"] else None
    d = json_of(c, 1, "totem-cfgtool", ["-s"], "totem-cfgtool")[0]
    check(d["local_nodeid"] == 1 and [n["nodeid"] for n in d["nodes"]] == NODES,
          f"cfgtool --json -s: {d}")
    check(all(n["reachable"] for n in d["nodes"]) and
          d["nodes"][1]["links"][0]["status"] == "connected", f"cfgtool --json: {d}")
    d = json_of(c, 1, "totem-cfgtool", ["-a", "2"], "totem-cfgtool")[0]
    check(d["addresses"] == ["10.201.0.2"], f"cfgtool --json -a 2: {d}")
    json_of(c, 1, "totem-cfgtool", ["-a", "9"], "totem-cfgtool", rc=1)
    json_of(c, 1, "totem-cfgtool", ["-n"], "totem-cfgtool")


def restart_all(c, ids):
    t = time.time()
    c.start(ids)
    c.wait_for_membership(NODES, NODES, timeout=TIMEOUT_S, since=t)
    time.sleep(1.0)


def cfgtool_destructive(c):
    compare(c, 1, "cfgtool", ["-R"], expect_rc=0)
    compare(c, 1, "cfgtool", ["--reload"], expect_rc=0)
    compare(c, 2, "cfgtool", ["-L"], expect_rc=0)
    compare(c, 2, "cfgtool", ["--reopen"], expect_rc=0)
    json_of(c, 1, "totem-cfgtool", ["-L"], "totem-cfgtool")
    # -k, -H and -H --force: corosync's tool takes node 3 down, ours node 2, in one round each
    # (both come back together); the outputs agree once the node ids are the same.
    for args, where in ((["-k", "{n}"], 1), (["-H"], None), (["-H", "--force"], None)):
        outs = []
        for tool, n in (("corosync-cfgtool", 3), ("totem-cfgtool", 2)):
            argv = [x.format(n=n) for x in args]
            r = run_in(c, where or n, [tool] + argv)
            outs.append((norm(r.stdout, tool).replace(f"node {n}", "node N"),
                         norm(r.stderr, tool), r.returncode))
        for n in (3, 2):
            check(wait_gone(c, n), f"cfgtool {args}: node {n} still runs")
        check(outs[0] == outs[1], f"cfgtool {args}: {outs}")
        STATS["compared"] += 1
        restart_all(c, [2, 3])


def cfgtool_no_daemon(c):
    """The last part on a cluster: node 3 stops, and both tools say the same there."""
    c.stop(3)
    compare(c, 3, "cfgtool", ["-s"], expect_rc=1)
    compare(c, 3, "cfgtool", ["-R"])
    compare(c, 3, "cfgtool", ["-H"])
    compare(c, 3, "cfgtool", ["--shutdown", "--force"])
    compare(c, 3, "cfgtool", ["--kill=2"])
    compare(c, 3, "cfgtool", ["-L"])
    compare(c, 3, "cfgtool", ["-a", "1"])
    compare(c, 3, "cfgtool", ["-n"])
    json_of(c, 3, "totem-cfgtool", ["-s"], "totem-cfgtool", rc=1)
    compare(c, 3, "cmapctl", [], expect_rc=1)
    compare(c, 3, "cmapctl", ["-g", "totem.token"], expect_rc=1)
    compare(c, 3, "cmapctl", ["-s", "k", "u8", "1"], expect_rc=1)
    # quorumtool and cpgtool need no service to fail the same way without a daemon.
    compare(c, 3, "quorumtool", ["-s"], expect_rc=1)
    compare(c, 3, "quorumtool", ["-l"], expect_rc=1)
    compare(c, 3, "cpgtool", [], expect_rc=1)
    compare(c, 3, "cpgtool", ["-n"], expect_rc=1)
    json_of(c, 3, "totem-quorumtool", ["-s"], "totem-quorumtool", rc=1)
    json_of(c, 3, "totem-cpgtool", [], "totem-cpgtool", rc=1)
    json_of(c, 3, "totem-cmapctl", [], "totem-cmapctl", rc=1)


# ------------------------------------------------------------------------------- cmapctl

def cmapctl_readonly(c):
    compare(c, 1, "cmapctl", [], mask=mask_runtime)
    compare(c, 1, "cmapctl", ["-b"], mask=mask_runtime)
    compare(c, 2, "cmapctl", ["-m", "stats"], mask=mask_stats)
    compare(c, 1, "cmapctl", ["-m", "stats", "stats.knet."], mask=mask_stats)
    for args in (["-m", "icmap", "totem"], ["-m", "default", "totem."], ["-m", "bogus"],
                 ["-m"], ["-b", "runtime."], ["totem.", "nodelist."], ["nosuchprefix"],
                 ["nosuch", "totem.token"], ["-g", "totem.token"],
                 ["-g", "totem.token", "totem.cluster_name"], ["-q", "-g", "totem.token"],
                 ["-g", "-q", "totem.transport"], ["-g", "nosuch.key"],
                 ["-g", "totem.token", "nosuch.key", "totem.cluster_name"],
                 ["-g"], ["-s"], ["-s", "k"], ["-d"], ["-D"], ["-t"], ["-T"], ["-C", "bogus"],
                 ["-C"], ["-x"], ["-p"], ["-g", "x" * 300]):
        compare(c, 1, "cmapctl", args)
    for args in (["-h"], ["-b", "-h"]):
        compare(c, 1, "cmapctl", args, help_text=True)
    docs = json_of(c, 1, "totem-cmapctl", ["totem."], "totem-cmapctl")
    token = [k for k in docs[0]["keys"] if k["name"] == "totem.token"]
    check(token and token[0]["type"] == "u32" and token[0]["value"] == 1000,
          f"cmapctl --json totem.: {token}")
    json_of(c, 1, "totem-cmapctl", ["-m", "stats", "stats.ipcs"], "totem-cmapctl")
    json_of(c, 1, "totem-cmapctl", ["-g", "nosuch.key"], "totem-cmapctl", rc=1)


def cmapctl_mutating(c, d):
    """Sets, deletes and loads through each tool on keys of its own (cmpN.c.* for corosync's,
    cmpN.t.* for ours), compares the outputs, then the keys both left behind."""
    binfile = os.path.join(d, "bin.dat")
    with open(binfile, "wb") as f:
        f.write(b"a\x00b\x80\\\x7f\xffz")
    good = [("i8", "-128"), ("u8", "255"), ("i16", "-32768"), ("u16", "65535"),
            ("i32", "-7"), ("u32", "4294967295"), ("i64", "-9223372036854775808"),
            ("u64", "18446744073709551615"), ("u64", "-1"), ("flt", "1.25"), ("dbl", "1e300"),
            ("str", "two words"), ("str", ""), ("bin", binfile)]
    bad = [("u8", "256"), ("i8", "128"), ("i8", "abc"), ("u32", "-1"), ("i16", "40000"),
           ("flt", "x"), ("bogus", "1"), ("bin", "/nonexistent/file")]
    for side, tool in (("c", "corosync-cmapctl"), ("t", "totem-cmapctl")):
        for n, (t, v) in enumerate(good):
            r = run_in(c, 1, [tool, "-s", f"cmp.{side}.k{n}", t, "--", v])
            check(r.returncode == 0 and not r.stdout and not r.stderr, f"{tool} -s {t} {v}: {r}")
        r = run_in(c, 1, [tool, "-s", f"cmp.{side}.stdin", "bin", "-"], input="from stdin")
        check(r.returncode == 0, f"{tool} -s bin -: {r}")
    for n, (t, v) in enumerate(bad):
        compare(c, 1, "cmapctl", ["-s", f"cmp.bad.k{n}", t, "--", v])
    compare(c, 1, "cmapctl", ["-s", "cmp.bad.neg", "i8", "-5"])  # getopt takes -5 for options
    compare(c, 1, "cmapctl", ["-s", "cmp.bad.few", "u8"])
    compare(c, 1, "cmapctl", ["-s", "totem.token", "u32", "5"])  # read-only? (as corosync)
    both = lambda t: t.replace("cmp.c.", "cmp.X.").replace("cmp.t.", "cmp.X.")  # noqa: E731
    a = run_in(c, 1, ["corosync-cmapctl", "-b", "cmp.c."])
    b = run_in(c, 1, ["totem-cmapctl", "-b", "cmp.t."])
    check(both(a.stdout) == both(b.stdout) and a.stdout.count("\n") == len(good) + 1,
          f"keys set by each tool:\n{a.stdout}\n{b.stdout}")
    compare(c, 1, "cmapctl", ["-b", "cmp.c."])
    compare(c, 1, "cmapctl", ["-b", "-g", "cmp.t.k13", "cmp.c.stdin"])
    compare(c, 1, "cmapctl", ["-q", "-g", "cmp.t.k9", "cmp.c.k10", "cmp.t.k11"])
    docs = json_of(c, 1, "totem-cmapctl", ["cmp.t."], "totem-cmapctl")
    vals = {k["name"]: k["value"] for k in docs[0]["keys"]}
    check(vals["cmp.t.k7"] == 18446744073709551615 and vals["cmp.t.k11"] == "two words" and
          vals["cmp.t.k13"] == "610062805c7fff7a", f"cmapctl --json values: {vals}")
    # Deletes: a key, a missing key, prefixes.
    for side, tool in (("c", "corosync-cmapctl"), ("t", "totem-cmapctl")):
        r = run_in(c, 1, [tool, "-d", f"cmp.{side}.k0", f"cmp.{side}.k1"])
        check(r.returncode == 0, f"{tool} -d: {r}")
    compare(c, 1, "cmapctl", ["-d", "cmp.c.k0"])
    compare(c, 1, "cmapctl", ["-d", "cmp.nosuch"])
    compare(c, 1, "cmapctl", ["-D", "cmp.nosuch."])
    # -p: a settings file with sets, a delete, a prefix delete, comments and blank lines.
    for side, tool in (("c", "corosync-cmapctl"), ("t", "totem-cmapctl")):
        p = os.path.join(d, f"load.{side}")
        with open(p, "w") as f:
            f.write(f"# comment\n\n   \ncmp.{side}.p1 u32 7\n  cmp.{side}.p2 str hello\n"
                    f"^cmp.{side}.k2\n^cmp.{side}.nosuch\n^^cmp.{side}.k1\n")
        r = run_in(c, 1, [tool, "-p", p])
        check(r.returncode == 0, f"{tool} -p: {r}")
        STATS["compared"] += 0
    a = run_in(c, 1, ["corosync-cmapctl", "cmp.c."])
    b = run_in(c, 1, ["totem-cmapctl", "cmp.t."])
    check(both(a.stdout) == both(b.stdout), f"after -p:\n{a.stdout}\n{b.stdout}")
    badload = os.path.join(d, "bad.load")
    with open(badload, "w") as f:
        f.write("cmp.bad.x u32\n")
    compare(c, 1, "cmapctl", ["-p", badload])
    compare(c, 1, "cmapctl", ["-p", os.path.join(d, "nonexistent")])
    for what in ("knet", "ipc", "totem", "schedmiss", "all"):
        compare(c, 1, "cmapctl", ["-C", what], expect_rc=0)
    json_of(c, 1, "totem-cmapctl", ["-s", "cmp.t.json", "u8", "1"], "totem-cmapctl")
    json_of(c, 1, "totem-cmapctl", ["-d", "cmp.nosuch"], "totem-cmapctl", rc=1)
    for side, tool in (("c", "corosync-cmapctl"), ("t", "totem-cmapctl")):
        r = run_in(c, 1, [tool, "-D", f"cmp.{side}."])
        check(r.returncode == 0, f"{tool} -D: {r}")
    compare(c, 1, "cmapctl", ["cmp."], expect_rc=None)


def wait_tracking(c, pids, timeout=10):
    """Until each process has its cmap tracker: its connection in the stats map shows two
    answered requests (SET_CURRENT_MAP and TRACK_ADD). Bounded; False on the timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = run_in(c, 1, ["corosync-cmapctl", "-m", "stats", "stats.ipcs.service0."])
        ready = set()
        for line in r.stdout.splitlines():
            m = re.match(r"stats\.ipcs\.service0\.(\d+)\.\S+\.responses \(u64\) = (\d+)$", line)
            if m and int(m.group(2)) >= 2:
                ready.add(int(m.group(1)))
        if set(pids) <= ready:
            return True
        time.sleep(0.1)
    return False


def cmapctl_track(c):
    """-T and -t: both tools track the same keys while a third client changes them; the same
    lines come out. Then Ctrl-C: totem-cmapctl ends cleanly with everything printed."""
    procs = {}
    for tool in ("corosync-cmapctl", "totem-cmapctl"):
        for mode, key in (("-T", "trk."), ("-t", "trk.exact")):
            procs[(tool, mode)] = spawn_in(c, 1, ["stdbuf", "-oL", tool, mode, key],
                                           stdin=subprocess.PIPE)
    check(wait_tracking(c, [p.pid for p in procs.values()]), "trackers not added in 10s")
    for args in (["-s", "trk.a", "u32", "1"], ["-s", "trk.a", "u32", "2"],
                 ["-s", "trk.exact", "str", "x y"], ["-s", "trk.b", "bin", "-"],
                 ["-d", "trk.a"], ["-s", "trk.exact", "i8", "--", "-1"], ["-D", "trk."]):
        r = run_in(c, 1, ["corosync-cmapctl", "-b"] + args, input="\x01bin")
        check(r.returncode == 0, f"change {args}: {r}")
    time.sleep(0.5)
    outs = {}
    for k, p in procs.items():
        p.stdin.write("q\n")
        p.stdin.flush()
        try:
            out, err = p.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            harness.stop_pid(p.pid)
            raise AssertionError(f"{k} did not end on q")
        outs[k] = (norm(out, k[0]), norm(err, k[0]), p.returncode)
    for mode in ("-T", "-t"):
        a, b = outs[("corosync-cmapctl", mode)], outs[("totem-cmapctl", mode)]
        check(a == b, f"cmapctl {mode}: differs\n{a}\n{b}")
    check(outs[("totem-cmapctl", "-T")][0].count("\n") == 9, f"-T lines: {outs}")
    STATS["compared"] += 2

    # Ctrl-C (SIGINT) with stdout to a pipe (block-buffered): exit 0, every line printed.
    p = spawn_in(c, 1, ["totem-cmapctl", "-T", "sig."], stdin=subprocess.PIPE)
    check(wait_tracking(c, [p.pid]), "tracker not added in 10s")
    run_in(c, 1, ["totem-cmapctl", "-s", "sig.k", "u8", "7"])
    time.sleep(0.3)
    os.killpg(p.pid, signal.SIGINT)
    try:
        out, err = p.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        harness.stop_pid(p.pid)
        raise AssertionError("totem-cmapctl -T did not end on SIGINT")
    check(p.returncode == 0 and out == 'Type "q" to finish\ncreate> sig.k (u8) = 7\n' and not err,
          f"totem-cmapctl -T on SIGINT: rc {p.returncode} out {out!r} err {err!r}")
    p = spawn_in(c, 1, ["totem-cmapctl", "--json", "-T", "sig."], stdin=subprocess.PIPE)
    check(wait_tracking(c, [p.pid]), "tracker not added in 10s")
    run_in(c, 1, ["totem-cmapctl", "-s", "sig.k", "u8", "8"])
    lines = read_json_lines(p, lambda j: j.get("event") == "modify", 5)
    os.killpg(p.pid, signal.SIGTERM)
    rc, rest, err = finish(p, 5)
    check(rc == 0 and lines and lines[-1]["key"]["value"] == 8, f"--json -T: {lines} rc {rc}")
    s = load_schema("totem-cmapctl")
    for j in lines + rest:
        validate(j, s)
    run_in(c, 1, ["totem-cmapctl", "-d", "sig.k"])


# ------------------------------------------------------------------------------- cpgtool

def cpg_groups(c):
    """Holders: libtest-a on nodes 1 and 2, libtest-b on 3, and a name with a control byte
    and a backslash on 2."""
    probe = os.path.join(bin_dir(), "totem-lib-probe")
    holders = []
    for i, g in ((1, "libtest-a"), (2, "libtest-a"), (3, "libtest-b"), (2, "we\x01ird\\name")):
        p = spawn_in(c, i, [probe, "cpg-hold", g, "120"])
        check(any(j.get("event") == "ready" for j in read_json_lines(
            p, lambda j: j.get("event") == "ready", 15)), f"holder {g}@{i} not ready")
        holders.append(p)
    time.sleep(0.5)
    return holders


def cpgtool_all(c):
    holders = cpg_groups(c)
    try:
        for args in ([], ["-n"], ["-d", ","], ["-d", ""], ["-d", ";", "-n"], ["-e"],
                     ["-e", "-n"], ["-e", "-d", ":"], ["-x"], ["-d"], ["extra"]):
            compare(c, 1, "cpgtool", args, expect_rc=None)
        compare(c, 3, "cpgtool", [])
        compare(c, 1, "cpgtool", ["-h"], help_text=True)
        out = run_in(c, 1, ["totem-cpgtool"]).stdout
        check("libtest-a\n" in out and "we\\x01ird\\\\name\n" in out, f"cpgtool listing: {out}")
        d = json_of(c, 1, "totem-cpgtool", [], "totem-cpgtool")[0]
        names = {g["name"]: g for g in d["groups"]}
        check(len(names["libtest-a"]["members"]) == 2 and "we\x01ird\\name" in names and
              names["libtest-b"]["members"][0]["nodeid"] == 3 and
              names["libtest-b"]["members"][0]["addresses"] == ["10.201.0.3"],
              f"cpgtool --json: {d}")
        json_of(c, 1, "totem-cpgtool", ["-n"], "totem-cpgtool")
    finally:
        for p in holders:
            harness.stop_pid(p.pid)


# ---------------------------------------------------------------------------- quorumtool

def quorumtool_readonly(c):
    compare(c, 1, "quorumtool", ["-s"], mask=mask_date, expect_rc=0)
    compare(c, 1, "quorumtool", ["-l"], expect_rc=0)
    for args in ([], ["-l", "-a"], ["-l", "-i"], ["-l", "-a", "-i"],
                 ["-s", "-H"], ["-s", "-p"], ["-l", "-p"], ["-l", "-o", "i"],
                 ["-l", "-o", "n"], ["-l", "-o", "a"], ["-s", "-a", "-i", "-H", "-p"],
                 ["-o", "x"], ["-e", "0"], ["-e", "abc"], ["-v", "-1"], ["-n", "0"],
                 ["-f"]):
        compare(c, 1, "quorumtool", args, mask=mask_date)
    compare(c, 2, "quorumtool", ["-s"], mask=mask_date)
    # The usage: -h (exit 0), and after a bad option or a missing argument (exit 1).
    for args in (["-h"], ["-x"], ["-e"], ["-s", "-v"]):
        compare(c, 1, "quorumtool", args, help_text=True)
    compare(c, 1, "quorumtool", ["-e", "3"], expect_rc=0)
    compare(c, 1, "quorumtool", ["-v", "1"], expect_rc=0)
    compare(c, 1, "quorumtool", ["-v", "1", "-n", "2"], expect_rc=0)
    compare(c, 1, "quorumtool", ["-v", "1", "-n", "99"])
    v = run_in(c, 1, ["totem-quorumtool", "-V"])
    check(v.returncode == 0 and re.fullmatch(r"totem-quorumtool version: \S+\n", v.stdout),
          f"-V: {v.stdout!r}")
    # -m: the first report of each (line-buffered), then both are stopped.
    firsts = []
    for tool in ("corosync-quorumtool", "totem-quorumtool"):
        p = spawn_in(c, 1, ["stdbuf", "-oL", tool, "-m"])
        import select
        buf = b""
        deadline = time.monotonic() + 10
        def report_end(b):  # a report ends with the blank line after its member rows
            i = b.find(b"Membership information")
            return -1 if i < 0 else b.find(b"\n\n", i)
        while time.monotonic() < deadline and report_end(buf) < 0:
            r, _, _ = select.select([p.stdout.fileno()], [], [], 0.2)
            if r:
                chunk = os.read(p.stdout.fileno(), 65536)
                if not chunk:
                    break
                buf += chunk
        harness.stop_pid(p.pid)
        p.communicate(timeout=5)
        end = report_end(buf)
        check(end > 0, f"{tool} -m: no whole report in 10s: {buf[-300:]!r}")
        firsts.append(mask_date(norm(buf[:end + 2].decode(), tool)))
    check(firsts[0] == firsts[1] and "Membership information" in firsts[0],
          f"quorumtool -m:\n{firsts[0]}\n{firsts[1]}")
    STATS["compared"] += 1
    d = json_of(c, 1, "totem-quorumtool", ["-s"], "totem-quorumtool")[0]
    check(d["quorate"] and d["votequorum"]["quorum"] == 2 and
          [m["nodeid"] for m in d["members"]] == NODES and d["members"][0]["local"] and
          d["ring_id"]["nodeid"] >= 1, f"quorumtool --json -s: {d}")
    json_of(c, 1, "totem-quorumtool", ["-l", "-a"], "totem-quorumtool")
    json_of(c, 1, "totem-quorumtool", ["-e", "3"], "totem-quorumtool")
    p = spawn_in(c, 1, ["totem-quorumtool", "-m", "--json"])
    lines = read_json_lines(p, lambda j: "members" in j, 10)
    harness.stop_pid(p.pid)
    check(lines and lines[-1]["quorate"], f"-m --json: {lines}")
    validate(lines[-1], load_schema("totem-quorumtool"))


def quorumtool_inquorate(c):
    """Nodes 2 and 3 stop: node 1 is not quorate, -s exits 2 with "Activity blocked"."""
    for i in (2, 3):
        if c.running(i):
            c.stop(i)
    c.wait_for_membership([1], [1], timeout=TIMEOUT_S)
    time.sleep(1.0)
    a = compare(c, 1, "quorumtool", ["-s"], mask=mask_date, expect_rc=2)
    check("Activity blocked" in a.stdout, f"not quorate: {a.stdout}")
    compare(c, 1, "quorumtool", ["-l"], expect_rc=0)
    d = json_of(c, 1, "totem-quorumtool", ["-s"], "totem-quorumtool", rc=2)[0]
    check(d["quorate"] is False and d["votequorum"]["activity_blocked"], f"--json: {d}")


# ---------------------------------------------------------------------------------- cases

def cluster(kind):
    return harness.Cluster(3, kind=kind, transport="knet", crypto=True)


def formed(c):
    c.wait_for_membership(NODES, NODES, timeout=TIMEOUT_S)
    time.sleep(1.0)


def report(name, t0):
    print(f"{name}: {STATS['compared']} side-by-side comparisons equal, {STATS['json']} JSON "
          f"documents valid, {time.time() - t0:.1f}s")


def timed(fn, *args):
    t = time.time()
    fn(*args)
    print(f"  {fn.__name__}: {time.time() - t:.1f}s", flush=True)


def case_corosync():
    t0 = time.time()
    with cluster("corosync") as c, tempfile.TemporaryDirectory() as d:
        timed(formed, c)
        timed(cfgtool_readonly, c)
        timed(cmapctl_readonly, c)
        timed(cmapctl_mutating, c, d)
        timed(cmapctl_track, c)
        timed(cpgtool_all, c)
        timed(quorumtool_readonly, c)
        timed(cfgtool_destructive, c)
        timed(cfgtool_no_daemon, c)
        timed(quorumtool_inquorate, c)
    report("corosync", t0)


def case_totemd():
    t0 = time.time()
    with cluster("totemd") as c, tempfile.TemporaryDirectory() as d:
        timed(formed, c)
        timed(cfgtool_readonly, c)
        timed(cmapctl_readonly, c)
        timed(cmapctl_mutating, c, d)
        timed(cmapctl_track, c)
        timed(cfgtool_destructive, c)
        timed(cfgtool_no_daemon, c)
    report("totemd", t0)


def case_totemd_quorumtool():
    with cluster("totemd") as c:
        formed(c)
        # corosync-quorumtool uses votequorum when it is the provider (it is, in the harness).
        pending("totemd", ("quorum", "votequorum"),
                lambda: (quorumtool_readonly(c), quorumtool_inquorate(c)))


def case_totemd_cpgtool():
    with cluster("totemd") as c:
        formed(c)
        pending("totemd", "cpg", lambda: cpgtool_all(c))


CASES = {
    "corosync": case_corosync,
    "totemd": case_totemd,
    "totemd_quorumtool": case_totemd_quorumtool,
    "totemd_cpgtool": case_totemd_cpgtool,
}

if __name__ == "__main__":
    sys.exit(harness.run_cases(CASES, sys.argv[1:]))
