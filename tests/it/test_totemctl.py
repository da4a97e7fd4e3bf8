#!/usr/bin/env python3
"""totemctl status in a real terminal (issue 19): tmux runs it in node 1's namespace, the test
reads the pane (capture-pane) and asserts what a person sees; --watch refreshes, follows a
node going away, and ends on Ctrl-C with status 0; colour only on the terminal; --json
against its schema; bad arguments exit 2 with the usage; no daemon exits 1 with
"cannot connect to totemd (is it running?)".

    python3 tests/it/test_totemctl.py corosync|totemd
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from libtools_common import bin_dir, check, load_schema, run_in, validate  # noqa: E402

NODES = [1, 2, 3]
TIMEOUT_S = 40


class Tmux:
    """A tmux server of our own (its own socket); killed at the end."""

    def __init__(self):
        self.sock = f"totemctl-it-{os.getpid()}"

    def __call__(self, *args, check_rc=True):
        r = subprocess.run(["tmux", "-L", self.sock, "-f", "/dev/null"] + list(args),
                           capture_output=True, text=True, timeout=10)
        if check_rc and r.returncode != 0:
            raise AssertionError(f"tmux {args}: {r.stderr}")
        return r.stdout

    def start(self):
        # An idle first window, then remain-on-exit: a finished command's pane stays, with
        # its exit status in #{pane_dead_status}.
        self("new-session", "-d", "-s", "main", "-n", "idle", "-x", "160", "-y", "45",
             "sleep", "600")
        self("set-option", "-g", "remain-on-exit", "on")

    def run(self, name, c, i, argv):
        """argv in node i, in a shell that prints its exit status afterwards. The shell
        ignores SIGINT so that Ctrl-C reaches the program alone (totemctl installs its own
        handler; tmux 3.3's #{pane_dead_status} is not reliable enough to read instead)."""
        node = c.nodes[i]
        cmd = " ".join(["nsenter", "-t", str(node.pid), "-n", "-m", "--"] + [_q(a) for a in argv])
        self("new-window", "-t", "main", "-n", name, "sh", "-c",
             f"trap '' INT; {cmd}; echo \"EXIT=$?\"")

    def exit_status(self, name, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            # (after Ctrl-C the terminal shows "^C" before it)
            m = re.search(r"^(\^C)?EXIT=(\d+)$", self.screen(name, history=True), re.M)
            if m:
                return int(m.group(2))
            time.sleep(0.05)
        raise AssertionError(f"pane {name}: still running after {timeout}s")

    def screen(self, name, escapes=False, history=False):
        """What the pane shows (with history: everything it printed, from the top)."""
        args = ["capture-pane", "-p", "-t", f"main:{name}"]
        if escapes:
            args.insert(2, "-e")
        if history:
            args += ["-S", "-", "-E", "-"]
        return self(*args)

    def wait_for(self, name, pattern, timeout=15):
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = self.screen(name)
            if re.search(pattern, text, re.M):
                return text
            time.sleep(0.1)
        raise AssertionError(f"pane {name}: no {pattern!r} within {timeout}s:\n{text}")

    def kill(self):
        subprocess.run(["tmux", "-L", self.sock, "kill-server"], capture_output=True, timeout=10)


def _q(a: str) -> str:
    return "'" + a.replace("'", "'\\''") + "'"


def totemctl():
    return os.path.join(bin_dir(), "totemctl")


def check_screen(kind, text):
    """What a person sees on node 1 of a healthy 3-node cluster."""
    check(re.search(r"^Node: +1 \(n1\), cluster \"totemd-it\", transport knet, daemon " + kind,
                    text, re.M), f"node line:\n{text}")
    check(re.search(r"^Ring ID: +[0-9a-f]+\.[0-9a-f]+$", text, re.M), f"ring id:\n{text}")
    check(re.search(r"^Members: +3 of 3 configured nodes in the ring$", text, re.M),
          f"members:\n{text}")
    check(re.search(r"^ +1 +n1 +local .* 0 +10\.201\.0\.1 +localhost +-$", text, re.M),
          f"row of node 1:\n{text}")
    for n in (2, 3):
        check(re.search(rf"^ +{n} +n{n} +member .* 0 +10\.201\.0\.{n} +connected +\d+\.\d{{3}} ms$",
                        text, re.M), f"row of node {n} (connected, a latency):\n{text}")
    if kind == "corosync":
        check(re.search(r"^Quorum: +quorate, votes 1, expected 3, total 3, quorum 2, "
                        r"flags: Quorate$", text, re.M), f"quorum:\n{text}")
        check(re.search(r"^CPG groups: +0$", text, re.M), f"cpg:\n{text}")
        check(re.search(r"^Last change: cause not published by this daemon$", text, re.M),
              f"last change:\n{text}")
    else:
        # totemd: the cause and count it publishes; quorum and cpg per their services.
        check(re.search(r"^Last change: \S.* \(\d+ membership changes since start\)$", text,
                        re.M), f"last change:\n{text}")
        check(re.search(r"^Quorum: ", text, re.M) and re.search(r"^CPG groups: ", text, re.M),
              f"quorum/cpg lines:\n{text}")


def run_case(kind):
    if not shutil.which("tmux"):
        print("SKIP: tmux is not installed")
        sys.exit(77)
    tmux = Tmux()
    with harness.Cluster(3, kind=kind, transport="knet", crypto=True) as c:
        c.wait_for_membership(NODES, NODES, timeout=TIMEOUT_S)
        time.sleep(1.5)
        try:
            # One screen in a terminal: the facts, in colour.
            tmux.start()
            tmux.run("status", c, 1, [totemctl(), "status"])
            rc = tmux.exit_status("status")
            text = tmux.screen("status", history=True)
            check(rc == 0, f"exit status {rc}:\n{text}")
            check_screen(kind, text)
            coloured = tmux.screen("status", escapes=True, history=True)
            check("\x1b[32m" in coloured or "\x1b[32;" in coloured, "no colour on the terminal")
            # Piped: the same facts, no colour.
            r = run_in(c, 1, [totemctl(), "status"])
            check(r.returncode == 0 and "\x1b" not in r.stdout, f"piped: {r.stdout!r}")
            check_screen(kind, r.stdout)
            r = run_in(c, 1, [totemctl(), "status", "--color=always"])
            check("\x1b[" in r.stdout, "--color=always gives colour through a pipe")

            # --watch: refreshes, follows node 3 going away, ends on Ctrl-C with status 0.
            tmux.run("watch", c, 1, [totemctl(), "status", "--watch=0.5"])
            first = tmux.wait_for("watch", r"^Members: +3 of 3(.|\n)*^ +3 +n3 (.|\n)*^Last change: ")
            head1 = re.search(r"every 0\.5s, (\S+ \S+)", first)
            check(head1, f"watch header:\n{first}")
            t = c.terminate(3)
            gone = tmux.wait_for("watch", r"^Members: +2 of 3(.|\n)*^ +3 +n3 (.|\n)*^Last change: ",
                                 timeout=TIMEOUT_S)
            check(re.search(r"^ +3 +n3 +(left|down) ", gone, re.M), f"node 3 after stop:\n{gone}")
            # The header's clock moves on: the screen is redrawn (bounded wait).
            later = tmux.wait_for("watch", r"every 0\.5s, (?!" + re.escape(head1.group(1)) + r")")
            check("Members:" in later, f"refreshed screen:\n{later}")
            print(f"  --watch showed node 3 gone {time.time() - t:.1f}s after it stopped")
            if kind == "totemd":
                cause = re.search(r"^Last change: (.*)$", gone, re.M).group(1)
                check(cause != re.search(r"^Last change: (.*)$", first, re.M).group(1),
                      f"the cause did not change: {cause}")
                print(f"  cause shown: {cause}")
            tmux("send-keys", "-t", "main:watch", "C-c")
            rc = tmux.exit_status("watch")
            check(rc == 0, f"--watch after Ctrl-C: exit status {rc}")

            # --json, and --watch --json (one document per line).
            r = run_in(c, 1, [totemctl(), "status", "--json"])
            check(r.returncode == 0, f"--json rc {r.returncode}")
            d = json.loads(r.stdout)
            validate(d, load_schema("totemctl-status"))
            check(d["daemon"] == kind and d["node"]["nodeid"] == 1 and
                  [m["nodeid"] for m in d["members"]] == NODES, f"--json: {d}")
            check(d["members"][2]["status"] in ("left", "down"), f"--json node 3: {d['members']}")
            p = subprocess.Popen(["nsenter", "-t", str(c.nodes[1].pid), "-n", "-m", "--",
                                  totemctl(), "status", "--watch=0.3", "--json"],
                                 stdout=subprocess.PIPE, text=True, start_new_session=True)
            c.pids.add(p.pid)
            time.sleep(1.2)
            os.killpg(p.pid, 2)
            out, _ = p.communicate(timeout=5)
            docs = [json.loads(line) for line in out.splitlines()]
            check(p.returncode == 0 and len(docs) >= 2, f"--watch --json: rc {p.returncode} "
                  f"{len(docs)} documents")
            for doc in docs:
                validate(doc, load_schema("totemctl-status"))

            # Bad arguments: the usage on stderr, exit 2.
            for args in ([], ["bogus"], ["status", "--bogus"], ["status", "--watch=0"],
                         ["status", "--color=pink"]):
                r = run_in(c, 1, [totemctl()] + args)
                check(r.returncode == 2 and "usage: totemctl" in r.stderr and not r.stdout,
                      f"totemctl {args}: rc {r.returncode} {r.stderr[:200]!r}")
            r = run_in(c, 1, [totemctl(), "--help"])
            check(r.returncode == 0 and r.stdout.startswith("usage: totemctl"), "--help")
            # No daemon on node 3 now.
            r = run_in(c, 3, [totemctl(), "status"])
            check(r.returncode == 1 and r.stderr == "cannot connect to totemd (is it running?)\n"
                  and not r.stdout, f"no daemon: rc {r.returncode} {r.stderr!r}")
            print(f"{kind}: totemctl status checked in tmux (one screen, --watch, Ctrl-C), "
                  f"piped, --json, bad arguments, no daemon")
        finally:
            tmux.kill()


CASES = {"corosync": lambda: run_case("corosync"), "totemd": lambda: run_case("totemd")}

if __name__ == "__main__":
    sys.exit(harness.run_cases(CASES, sys.argv[1:]))
