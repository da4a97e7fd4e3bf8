#!/usr/bin/env python3
"""Network-namespace cluster harness for totemd and corosync (standard library only).

One harness for the integration tests (tests/it), `./dev demo` and the benchmarks (bench/):

    with Cluster(3, kind="corosync", transport="knet", crypto=True, token=1000) as c:
        m = c.wait_for_membership([1, 2, 3], [1, 2, 3], timeout=30)
        t0 = c.kill(3)                      # SIGKILL, returns the wall time of the kill
        m2 = c.wait_for_membership([1, 2], [1, 2], timeout=30, since=t0)
        print(m2.time - t0)                 # failover time, from the survivors' logs

Layout of one cluster (every name starts with a per-run prefix, default "td<pid>c<k>"):
  <prefix>-br        a namespace holding one Linux bridge per link (br0, br1)
  <prefix>-n<i>      one namespace per node, veth "l<L>" on link L's bridge,
                     address 10.201.<L>.<i>/24 (link 0) and 10.202.<L>.<i>/24 (link 1)
  <tmp>/n<i>/        corosync.conf, log file, run/, lib/ (state), log/ of node i
  <tmp>/authkey      256 random bytes shared by every node (bad_key_nodes get their own)

Daemons (kind, one per node or one for all):
  external  nothing is started; the test runs its own program there with spawn()
  corosync  /usr/sbin/corosync -f -c <conf>, run as
            ip netns exec <ns> unshare -m --propagation private sh -c '<bind mounts>; exec ...'
            with per-node dirs bind-mounted on /run, /var/lib/corosync (and /var/log/cluster
            when it exists), so each corosync has its own pid lock and ring id files.
  totemd    <bin>/totemd -f -c <conf>, with TOTEMD_STATE_DIR=<node>/lib and the same mount
            isolation; the binary comes from the `bin` argument or $TOTEMD_BIN (a file or
            a directory holding totemd).
  realtime=False  `system { sched_rr: no }` in every config (corosync 3.1.7 has no -p; totemd
            reads the key too, and gets -p as well): both run without SCHED_RR, for timings
            that compare.

Membership is read from each node's log: both daemons write
  "[TOTEM ] A new membership (R.S) was formed. Members joined: 1 2 left: 3"
and the harness keeps, per node, the members of its current ring (previous ring + joined −
left). Times: each event carries the time of the log line (corosync logs milliseconds with
`timestamp: hires`; parsed to wall-clock seconds) and the time the harness saw it (polled every
`poll_s`, default 20 ms). `Membership.time` is the log time (ms precision); `seen` the poll time.

Faults use nftables inside the node namespaces (table "inet totemd_fault"): partition/heal drop
by peer address, loss(node, percent) drops that share of received packets with
`numgen random mod 100 < P`. Everything is undone by heal()/cleanup.

Cleanup always runs (context manager exit, atexit, SIGINT/SIGTERM): every pid started is
killed by pid (TERM, then KILL), namespaces and temp dirs are deleted. cleanup_stale(prefix)
removes leftovers of an earlier interrupted run (only names starting with the prefix).

The rules kept: traffic only inside namespaces created here; processes stopped by pid only;
every wait bounded in time.
"""

from __future__ import annotations

import argparse
import atexit
import dataclasses
import datetime as _dt
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from typing import Iterable, Optional, Sequence

COROSYNC_BIN = "/usr/sbin/corosync"
DEFAULT_PREFIX = "td"
FAULT_TABLE = "totemd_fault"

# ------------------------------------------------------------------------------------------------
# small helpers


def run(cmd: Sequence[str], check: bool = True, input: Optional[str] = None,
        timeout: float = 20) -> subprocess.CompletedProcess:
    """Runs a short command (ip, nft) with a bound on its time."""
    return subprocess.run(list(cmd), input=input, capture_output=True, text=True, check=check,
                          timeout=timeout)


def netns_list() -> list[str]:
    out = run(["ip", "netns", "list"], check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child is not alive; reap it if it is ours.
    try:
        wpid, _ = os.waitpid(pid, os.WNOHANG)
        if wpid == pid:
            return False
    except ChildProcessError:
        pass
    return True


def stop_pid(pid: int, term_timeout: float = 5.0) -> None:
    """SIGTERM, wait (bounded), then SIGKILL; by pid only."""
    if not pid_alive(pid):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + term_timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return
        time.sleep(0.02)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and pid_alive(pid):
        time.sleep(0.02)


def cleanup_stale(prefix: str = DEFAULT_PREFIX) -> list[str]:
    """Deletes namespaces left by an earlier, interrupted run: names "<prefix><pid>c<k>-..."
    whose creating process <pid> is gone. Processes still inside are killed by pid."""
    removed = []
    pat = re.compile(r"^" + re.escape(prefix) + r"(\d+)c\d+-")
    for ns in netns_list():
        m = pat.match(ns)
        if not m or pid_alive(int(m.group(1))):
            continue
        pids = run(["ip", "netns", "pids", ns], check=False).stdout.split()
        for p in pids:
            stop_pid(int(p), term_timeout=2)
        run(["ip", "netns", "del", ns], check=False)
        removed.append(ns)
    for d in os.listdir(tempfile.gettempdir()):
        m = re.match(r"^" + re.escape(prefix) + r"(\d+)c\d+-", d)
        if m and not pid_alive(int(m.group(1))):
            shutil.rmtree(os.path.join(tempfile.gettempdir(), d), ignore_errors=True)
    return removed


# ------------------------------------------------------------------------------------------------
# log parsing

_MONTHS = {m: i + 1 for i, m in enumerate(
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"])}
# "Nov 26 09:12:34.567 " (corosync/libqb, hires) or "Nov 26 09:12:34 " (on)
_TS_RE = re.compile(r"^([A-Z][a-z]{2}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))? ")
# ISO form, which totemd may use: "2026-11-26T09:12:34.567" or "2026-11-26 09:12:34.567"
_ISO_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?")
_MEMB_RE = re.compile(
    r"A new membership \(([0-9a-fA-F]+)\.([0-9a-fA-F]+)\) was formed\. Members"
    r"(?: joined:((?: \d+)+))?(?: left:((?: \d+)+))?")
_FAILED_RE = re.compile(r"Members failed:((?: \d+)+)|failed:((?: \d+)+)")


def parse_log_time(line: str) -> Optional[float]:
    """Wall-clock seconds of a log line's timestamp, or None. The year is not logged by
    corosync: the current year is assumed (or the previous one across New Year)."""
    m = _TS_RE.match(line)
    if m:
        mon = _MONTHS.get(m.group(1))
        if mon is None:
            return None
        now = _dt.datetime.now()
        frac = m.group(6) or "0"
        micro = int(frac.ljust(6, "0"))
        try:
            t = _dt.datetime(now.year, mon, int(m.group(2)), int(m.group(3)), int(m.group(4)),
                             int(m.group(5)), micro)
        except ValueError:
            return None
        if t - now > _dt.timedelta(days=2):
            t = t.replace(year=now.year - 1)
        return t.timestamp()
    m = _ISO_RE.match(line)
    if m:
        micro = int((m.group(7) or "0").ljust(6, "0"))
        t = _dt.datetime(int(m.group(1)), int(m.group(2)), int(m.group(3)), int(m.group(4)),
                         int(m.group(5)), int(m.group(6)), micro)
        return t.timestamp()
    return None


@dataclasses.dataclass
class Membership:
    """One "A new membership" event at one node."""
    node: int
    ring_id: str          # "R.S" as logged (hex seq), e.g. "1.c"
    members: tuple        # the ring's members after this event, sorted
    joined: tuple
    left: tuple
    time: float           # wall-clock seconds of the log line (ms precision), poll time if none
    seen: float           # wall-clock seconds when the harness read the line (poll precision)
    line: str = ""


class LogWatcher:
    """Reads a node's log file incrementally and keeps its membership history."""

    def __init__(self, node: int, path: str):
        self.node = node
        self.path = path
        self.offset = 0
        self.partial = ""
        self.members: tuple = ()
        self.history: list[Membership] = []
        self.lines: list[tuple[float, str]] = []   # (seen, line); bounded
        self.lines_max = 20000

    def reset_for_restart(self) -> None:
        """A restarted daemon starts from an empty membership (its first ring lists all)."""
        self.poll()
        self.members = ()

    def poll(self) -> None:
        try:
            with open(self.path, "r", errors="replace") as f:
                f.seek(self.offset)
                data = f.read(4 << 20)
                self.offset = f.tell()
        except FileNotFoundError:
            return
        if not data:
            return
        seen = time.time()
        data = self.partial + data
        parts = data.split("\n")
        self.partial = parts.pop()
        for line in parts:
            self._line(line, seen)

    def _line(self, line: str, seen: float) -> None:
        if len(self.lines) >= self.lines_max:
            del self.lines[: self.lines_max // 2]
        self.lines.append((seen, line))
        m = _MEMB_RE.search(line)
        if not m:
            return
        joined = tuple(int(x) for x in (m.group(3) or "").split())
        left = tuple(int(x) for x in (m.group(4) or "").split())
        # "joined: 3 left: 3" is a node that failed and came back within one change.
        members = tuple(sorted((set(self.members) - set(left)) | set(joined)))
        self.members = members
        t = parse_log_time(line)
        self.history.append(Membership(self.node, f"{m.group(1)}.{m.group(2)}", members, joined,
                                       left, t if t is not None else seen, seen, line))

    def grep(self, pattern: str) -> list[str]:
        rx = re.compile(pattern)
        return [line for _, line in self.lines if rx.search(line)]

    def tail(self, n: int = 30) -> list[str]:
        return [line for _, line in self.lines[-n:]]


# ------------------------------------------------------------------------------------------------
# the cluster

_LIVE: list["Cluster"] = []
_COUNTER = [0]
_HANDLERS_INSTALLED = [False]


def _cleanup_all() -> None:
    for c in list(_LIVE):
        c.cleanup()


def _on_signal(signum, frame):  # noqa: ARG001
    _cleanup_all()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _install_handlers() -> None:
    if _HANDLERS_INSTALLED[0]:
        return
    _HANDLERS_INSTALLED[0] = True
    atexit.register(_cleanup_all)
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        try:
            signal.signal(s, _on_signal)
        except ValueError:  # not the main thread
            pass


def find_totemd(bin_hint: Optional[str]) -> Optional[str]:
    # $TOTEMD_BIN_DEFAULT is the build tree's binary (set by ctest); $TOTEMD_BIN overrides it.
    for cand in (bin_hint, os.environ.get("TOTEMD_BIN"), os.environ.get("TOTEMD_BIN_DEFAULT")):
        if not cand:
            continue
        p = os.path.join(cand, "totemd") if os.path.isdir(cand) else cand
        if os.path.isfile(p) and os.access(p, os.X_OK):
            return os.path.abspath(p)
    return None


@dataclasses.dataclass
class Node:
    id: int
    kind: str
    ns: str
    dir: str
    addrs: list            # one IPv4 address per link
    conf: str = ""
    log: str = ""
    pid: Optional[int] = None
    proc: Optional[subprocess.Popen] = None
    watcher: Optional[LogWatcher] = None
    key: str = ""
    starts: int = 0


class Cluster:
    """n nodes in network namespaces; see the module docstring."""

    def __init__(self, n: int, kind="corosync", transport: str = "knet", crypto: bool = True,
                 token: Optional[int] = 1000, links: int = 1, debug: bool = False,
                 bin: Optional[str] = None, bad_key_nodes: Iterable[int] = (),
                 cluster_name: str = "totemd-it", prefix: Optional[str] = None,
                 start: bool = True, quorum: bool = True, poll_s: float = 0.02,
                 totem_extra: Optional[dict] = None, node_totem_extra: Optional[dict] = None,
                 node_cluster_name: Optional[dict] = None, realtime: bool = True,
                 keep: Optional[bool] = None, crypto_model: Optional[str] = None,
                 env: Optional[dict] = None, node_env: Optional[dict] = None,
                 interface_extra: Optional[dict] = None, verbose: bool = False,
                 node_extra_nodes: Optional[dict] = None,
                 quorum_opts: Optional[dict] = None, node_votes: Optional[dict] = None):
        if n < 1 or n > 64:
            raise ValueError("1..64 nodes")
        if links not in (1, 2):
            raise ValueError("links: 1 or 2")
        if transport not in ("knet", "udpu"):
            raise ValueError("transport: knet or udpu")
        kinds = list(kind) if isinstance(kind, (list, tuple)) else [kind] * n
        if len(kinds) != n or any(k not in ("corosync", "totemd", "external") for k in kinds):
            raise ValueError("kind: 'corosync', 'totemd', 'external' or a list, one per node")
        self.n = n
        self.kinds = kinds
        self.transport = transport
        self.crypto = crypto
        self.crypto_model = crypto_model
        self.token = token
        self.links = links
        self.debug = debug
        self.quorum = quorum
        self.cluster_name = cluster_name
        self.bad_key_nodes = set(bad_key_nodes)
        self.totem_extra = dict(totem_extra or {})
        # {link: {key: value}} → "interface { linknumber: link; key: value }" in totem, e.g.
        # {0: {"knet_ping_interval": 100, "knet_ping_timeout": 2000}} for a lossy network.
        self.interface_extra = dict(interface_extra or {})
        self.node_totem_extra = dict(node_totem_extra or {})
        self.node_cluster_name = dict(node_cluster_name or {})
        # {node: [nodeid, ...]}: nodelist entries only that node's config has (at the addresses
        # such nodes would have; nobody holds them), for a nodelist that differs; or
        # {node: {nodeid: address}} to put such an entry at a given (another node's) address.
        self.node_extra_nodes = dict(node_extra_nodes or {})
        # {key: value} added to the quorum section (a dict value is a subsection, e.g.
        # {"device": {"model": "net", "net": {"host": ...}}}); "two_node" here replaces the
        # default (1 for two nodes). {node: votes} → quorum_votes in that node's entry.
        self.quorum_opts = dict(quorum_opts or {})
        self.node_votes = dict(node_votes or {})
        self.realtime = realtime
        self.env = dict(env or {})
        self.node_env = dict(node_env or {})
        self.poll_s = poll_s
        self.verbose = verbose
        self.keep = keep if keep is not None else os.environ.get("TOTEMD_IT_KEEP") == "1"
        self.start_all = start
        _COUNTER[0] += 1
        self.prefix = prefix or f"{DEFAULT_PREFIX}{os.getpid()}c{_COUNTER[0]}"
        self.totemd = find_totemd(bin)
        if "totemd" in kinds and not self.totemd:
            raise FileNotFoundError("totemd binary not found: pass bin= or set TOTEMD_BIN")
        if "corosync" in kinds and not os.access(COROSYNC_BIN, os.X_OK):
            raise FileNotFoundError(f"{COROSYNC_BIN} not installed")
        self.dir = ""
        self.br_ns = f"{self.prefix}-br"
        self.nodes: dict[int, Node] = {}
        self.namespaces: list[str] = []
        self.pids: set[int] = set()
        self.fault_partition: Optional[list] = None
        self.fault_loss: dict[int, int] = {}
        self.fault_block: dict[int, set] = {}
        self.fault_link_down: dict[int, set] = {}
        self._up = False

    # -------------------------------------------------------------------------- lifecycle
    def __enter__(self) -> "Cluster":
        try:
            self.setup()
            if self.start_all:
                self.start()
        except BaseException:
            self.cleanup()
            raise
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None and exc_type is not KeyboardInterrupt:
            self.dump_logs(sys.stderr, 40)
        self.cleanup()

    def log(self, msg: str) -> None:
        if self.verbose:
            print(f"[harness {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)

    @staticmethod
    def addr(node: int, link: int) -> str:
        return f"10.{201 + link}.0.{node}"

    def setup(self) -> None:
        if os.geteuid() != 0:
            raise PermissionError("the netns harness needs root")
        _install_handlers()
        _LIVE.append(self)
        self._up = True
        self.dir = tempfile.mkdtemp(prefix=self.prefix + "-")
        os.chmod(self.dir, 0o755)
        run(["ip", "netns", "add", self.br_ns])
        self.namespaces.append(self.br_ns)
        for link in range(self.links):
            run(["ip", "-n", self.br_ns, "link", "add", f"br{link}", "type", "bridge",
                 "forward_delay", "0"])
            run(["ip", "-n", self.br_ns, "link", "set", f"br{link}", "up"])
        main_key = secrets.token_bytes(256)
        key_path = os.path.join(self.dir, "authkey")
        with open(key_path, "wb") as f:
            f.write(main_key)
        os.chmod(key_path, 0o400)
        for i in range(1, self.n + 1):
            ns = f"{self.prefix}-n{i}"
            run(["ip", "netns", "add", ns])
            self.namespaces.append(ns)
            run(["ip", "-n", ns, "link", "set", "lo", "up"])
            ndir = os.path.join(self.dir, f"n{i}")
            for sub in ("run", "lib", "log"):
                os.makedirs(os.path.join(ndir, sub), exist_ok=True)
            addrs = []
            for link in range(self.links):
                a = self.addr(i, link)
                addrs.append(a)
                peer = f"p{i}l{link}"
                run(["ip", "link", "add", f"l{link}", "netns", ns, "type", "veth", "peer",
                     "name", peer, "netns", self.br_ns])
                run(["ip", "-n", self.br_ns, "link", "set", peer, "master", f"br{link}"])
                run(["ip", "-n", self.br_ns, "link", "set", peer, "up"])
                run(["ip", "-n", ns, "addr", "add", f"{a}/24", "dev", f"l{link}"])
                run(["ip", "-n", ns, "link", "set", f"l{link}", "up"])
            node = Node(i, self.kinds[i - 1], ns, ndir, addrs)
            node.key = key_path
            if i in self.bad_key_nodes:
                node.key = os.path.join(ndir, "authkey")
                with open(node.key, "wb") as f:
                    f.write(secrets.token_bytes(256))
                os.chmod(node.key, 0o400)
            node.log = os.path.join(ndir, "log", "daemon.log")
            node.conf = os.path.join(ndir, "corosync.conf")
            with open(node.conf, "w") as f:
                f.write(self.render_conf(node))
            node.watcher = LogWatcher(i, node.log)
            self.nodes[i] = node
        self.log(f"set up {self.n} namespaces under {self.prefix}, files in {self.dir}")

    def render_conf(self, node: Node) -> str:
        totem = {"version": 2,
                 "cluster_name": self.node_cluster_name.get(node.id, self.cluster_name),
                 "transport": self.transport}
        if self.token is not None:
            totem["token"] = self.token
        if self.crypto:
            totem["crypto_cipher"] = "aes256"
            totem["crypto_hash"] = "sha256"
            if self.crypto_model:
                totem["crypto_model"] = self.crypto_model
        else:
            totem["crypto_cipher"] = "none"
            totem["crypto_hash"] = "none"
        totem["keyfile"] = node.key
        totem.update(self.totem_extra)
        totem.update(self.node_totem_extra.get(node.id, {}))
        out = ["# written by tests/it/harness.py", "totem {"]
        out += [f"    {k}: {v}" for k, v in totem.items()]
        for link, keys in sorted(self.interface_extra.items()):
            out += ["    interface {", f"        linknumber: {link}"]
            out += [f"        {k}: {v}" for k, v in keys.items()]
            out.append("    }")
        out.append("}")
        out.append("nodelist {")
        extra = self.node_extra_nodes.get(node.id, [])
        # {extra_id: address} gives an extra node another node's address (a conflicting list)
        extra_addr = extra if isinstance(extra, dict) else {}
        for i in list(range(1, self.n + 1)) + list(extra):
            out.append("    node {")
            for link in range(self.links):
                out.append(f"        ring{link}_addr: {extra_addr.get(i) or self.addr(i, link)}")
            out.append(f"        name: n{i}")
            out.append(f"        nodeid: {i}")
            if i in self.node_votes:
                out.append(f"        quorum_votes: {self.node_votes[i]}")
            out.append("    }")
        out.append("}")
        if self.quorum:
            out += ["quorum {", "    provider: corosync_votequorum"]
            if self.n == 2 and "two_node" not in self.quorum_opts:
                out.append("    two_node: 1")

            def section(d: dict, indent: str) -> None:
                for k, v in d.items():
                    if isinstance(v, dict):
                        out.append(f"{indent}{k} {{")
                        section(v, indent + "    ")
                        out.append(f"{indent}}}")
                    else:
                        out.append(f"{indent}{k}: {v}")
            section(self.quorum_opts, "    ")
            out.append("}")
        if not self.realtime:
            # corosync 3.1.7 has no -p: it reads system.sched_rr (totemd reads it too).
            out += ["system {", "    sched_rr: no", "}"]
        out += ["logging {",
                "    to_logfile: yes",
                f"    logfile: {node.log}",
                "    to_stderr: no",
                "    to_syslog: no",
                "    timestamp: hires",
                f"    debug: {'on' if self.debug else 'off'}",
                "}", ""]
        return "\n".join(out)

    def _command(self, node: Node) -> tuple[list, dict]:
        mounts = [f"mount --bind {node.dir}/run /run",
                  f"mount --bind {node.dir}/lib /var/lib/corosync"]
        if os.path.isdir("/var/log/cluster"):
            mounts.append(f"mount --bind {node.dir}/log /var/log/cluster")
        env = dict(os.environ)
        env.update(self.env)
        env.update(self.node_env.get(node.id, {}))
        if node.kind == "corosync":
            daemon = f"exec {COROSYNC_BIN} -f -c {node.conf}"
        else:
            daemon = f"exec {self.totemd} -f {'' if self.realtime else '-p '}-c {node.conf}"
            env["TOTEMD_STATE_DIR"] = os.path.join(node.dir, "lib")
        script = "set -e; " + "; ".join(mounts) + "; " + daemon
        # ip netns exec and unshare (without --fork) exec in place: the pid is the daemon's.
        return (["ip", "netns", "exec", node.ns, "unshare", "-m", "--propagation", "private",
                 "sh", "-c", script], env)

    def start(self, ids: Optional[Iterable[int]] = None) -> None:
        for i in (list(ids) if ids is not None else sorted(self.nodes)):
            node = self.nodes[i]
            if node.kind == "external":
                continue  # the test starts its own program there with spawn()
            if node.pid and pid_alive(node.pid):
                raise RuntimeError(f"node {i} already running (pid {node.pid})")
            node.watcher.reset_for_restart()
            cmd, env = self._command(node)
            out = open(os.path.join(node.dir, "log", "stdio.log"), "ab")
            node.proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)
            out.close()
            node.pid = node.proc.pid
            node.starts += 1
            self.pids.add(node.pid)
            self.log(f"started node {i} ({node.kind}) pid {node.pid}")

    def spawn(self, i: int, argv: Sequence[str], stdout=None, stdin=None) -> subprocess.Popen:
        """Starts `argv` in node i's network namespace (for "external" nodes: a probe, a test
        client). The harness stops it by pid at cleanup; wait for it with the returned Popen.
        stdin=subprocess.PIPE gives a client the test drives line by line."""
        node = self.nodes[i]
        proc = subprocess.Popen(["ip", "netns", "exec", node.ns] + list(argv),
                                stdin=stdin if stdin is not None else subprocess.DEVNULL,
                                stdout=stdout if stdout is not None else subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, start_new_session=True)
        self.pids.add(proc.pid)
        self.log(f"spawned on node {i} pid {proc.pid}: {' '.join(argv)}")
        return proc

    def stop(self, i: int, sig: int = signal.SIGTERM, timeout: float = 10) -> float:
        """Sends `sig` to node i's daemon; returns the wall time of the signal. With SIGTERM it
        waits (bounded) for the exit and then SIGKILLs."""
        node = self.nodes[i]
        if not node.pid:
            raise RuntimeError(f"node {i} not running")
        t = time.time()
        try:
            os.kill(node.pid, sig)
        except ProcessLookupError:
            pass
        if sig == signal.SIGKILL:
            self._reap(node, 5)
        else:
            if not self._reap(node, timeout):
                os.kill(node.pid, signal.SIGKILL)
                self._reap(node, 5)
        self.log(f"node {i} stopped with signal {sig}")
        node.pid = None
        return t

    def kill(self, i: int) -> float:
        return self.stop(i, signal.SIGKILL)

    def terminate(self, i: int) -> float:
        return self.stop(i, signal.SIGTERM)

    def restart(self, i: int) -> None:
        if self.nodes[i].pid:
            self.stop(i)
        self.start([i])

    def _reap(self, node: Node, timeout: float) -> bool:
        try:
            node.proc.wait(timeout=timeout)
            self.pids.discard(node.pid)
            return True
        except subprocess.TimeoutExpired:
            return False

    def running(self, i: int) -> bool:
        node = self.nodes[i]
        return bool(node.pid) and node.proc.poll() is None

    def cleanup(self) -> None:
        if not self._up:
            return
        self._up = False
        for node in self.nodes.values():
            if node.pid and node.proc and node.proc.poll() is None:
                stop_pid(node.pid, term_timeout=5)
                try:
                    node.proc.wait(timeout=1)
                except subprocess.TimeoutExpired:
                    pass
        for pid in list(self.pids):
            stop_pid(pid, term_timeout=2)
        # Anything else that ended up in our namespaces (a client tool, a forked child).
        for ns in self.namespaces:
            for p in run(["ip", "netns", "pids", ns], check=False).stdout.split():
                stop_pid(int(p), term_timeout=2)
        for ns in reversed(self.namespaces):
            run(["ip", "netns", "del", ns], check=False)
        self.namespaces.clear()
        if self.dir and not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)
        elif self.dir:
            print(f"[harness] kept {self.dir}", file=sys.stderr)
        if self in _LIVE:
            _LIVE.remove(self)

    # -------------------------------------------------------------------------- observing
    def poll(self) -> None:
        for node in self.nodes.values():
            node.watcher.poll()

    def members(self, i: int) -> tuple:
        self.nodes[i].watcher.poll()
        return self.nodes[i].watcher.members

    def history(self, i: int) -> list:
        self.nodes[i].watcher.poll()
        return list(self.nodes[i].watcher.history)

    def wait_for_membership(self, nodes: Iterable[int], members: Iterable[int],
                            timeout: float = 30, since: Optional[float] = None,
                            same_ring: bool = True) -> Membership:
        """Waits until every node in `nodes` has logged a membership whose members are exactly
        `members` (at a wall time ≥ `since`, when given) and, with same_ring, all with the same
        ring id. Returns the latest of those events (the moment the last node got there);
        raises TimeoutError with each node's state otherwise."""
        nodes = sorted(nodes)
        want = tuple(sorted(members))
        deadline = time.monotonic() + timeout
        while True:
            self.poll()
            found = {}
            for i in nodes:
                w = self.nodes[i].watcher
                if w.members != want or not w.history:
                    continue
                last = w.history[-1]
                # libqb stamps log lines with a coarse clock (a few ms behind): allow 10 ms.
                if since is not None and last.time < since - 0.010:
                    continue
                found[i] = last
            if len(found) == len(nodes):
                rings = {m.ring_id for m in found.values()}
                if not same_ring or len(rings) == 1:
                    return max(found.values(), key=lambda m: m.time)
            if time.monotonic() > deadline:
                state = {i: (self.nodes[i].watcher.members,
                             self.nodes[i].watcher.history[-1].ring_id
                             if self.nodes[i].watcher.history else None) for i in nodes}
                raise TimeoutError(f"membership {want} not reached at {nodes} in {timeout}s; "
                                   f"now {state}")
            time.sleep(self.poll_s)

    def quiet_for(self, nodes: Iterable[int], seconds: float,
                  pattern: str = r"A new membership|Token has not been received") -> list:
        """Watches for `seconds` and returns the matching lines logged meanwhile."""
        nodes = list(nodes)
        self.poll()
        base = {i: len(self.nodes[i].watcher.lines) for i in nodes}
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
        self.poll()
        rx = re.compile(pattern)
        hits = []
        for i in nodes:
            for _, line in self.nodes[i].watcher.lines[base[i]:]:
                if rx.search(line):
                    hits.append(f"n{i}: {line}")
        return hits

    def runtime_keys(self, i: int, timeout: float = 5) -> dict:
        """totemd only: SIGUSR1 makes it write its cmap keys to <state>/runtime-keys
        ("key (type) = value" lines); returns them as {key: value string}."""
        node = self.nodes[i]
        if node.kind != "totemd" or not self.running(i):
            raise RuntimeError(f"node {i}: runtime keys need a running totemd")
        path = os.path.join(node.dir, "lib", "runtime-keys")
        before = os.stat(path).st_mtime_ns if os.path.exists(path) else 0
        os.kill(node.pid, signal.SIGUSR1)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if os.path.exists(path) and os.stat(path).st_mtime_ns != before:
                break
            time.sleep(0.02)
        else:
            raise TimeoutError(f"node {i} wrote no {path} in {timeout}s")
        keys = {}
        with open(path, errors="replace") as f:
            for line in f:
                m = re.match(r"^(\S+) \(\w+\) = (.*)$", line.rstrip("\n"))
                if m:
                    keys[m.group(1)] = m.group(2)
        return keys

    def dump_logs(self, out=sys.stderr, n: int = 30) -> None:
        for i, node in sorted(self.nodes.items()):
            if not node.watcher:
                continue
            node.watcher.poll()
            print(f"---- node {i} ({node.kind}) {node.log} (last {n} lines)", file=out)
            for line in node.watcher.tail(n):
                print("   " + line, file=out)
            stdio = os.path.join(node.dir, "log", "stdio.log")
            if os.path.exists(stdio) and os.path.getsize(stdio) > 0:
                with open(stdio, errors="replace") as f:
                    print("   [stdio] " + f.read()[-2000:].replace("\n", "\n   [stdio] "),
                          file=out)

    # -------------------------------------------------------------------------- faults
    def partition(self, groups: Sequence[Sequence[int]]) -> float:
        """Cuts the cluster into groups: a node drops every packet from or to a node of another
        group. Nodes not listed form one more group. Returns the wall time it took effect."""
        listed = {i for g in groups for i in g}
        rest = [i for i in self.nodes if i not in listed]
        self.fault_partition = [list(g) for g in groups] + ([rest] if rest else [])
        self._apply_faults()
        return time.time()

    def heal(self) -> float:
        """Removes partitions, blocks and loss."""
        self.fault_partition = None
        self.fault_loss.clear()
        self.fault_block.clear()
        self.fault_link_down.clear()
        self._apply_faults()
        return time.time()

    def link_down(self, i: int, link: int) -> float:
        """Node i drops everything on link `link` (its veth "l<link>"), both directions."""
        self.fault_link_down.setdefault(i, set()).add(link)
        self._apply_faults()
        return time.time()

    def block(self, i: int, peers: Iterable[int]) -> float:
        """Node i drops everything from/to `peers` (asymmetric cuts stack with partition)."""
        self.fault_block.setdefault(i, set()).update(peers)
        self._apply_faults()
        return time.time()

    def loss(self, i: int, percent: int) -> None:
        """Node i drops `percent` % of the packets it receives from other nodes."""
        if not 0 <= percent <= 100:
            raise ValueError("percent 0..100")
        if percent:
            self.fault_loss[i] = percent
        else:
            self.fault_loss.pop(i, None)
        self._apply_faults()

    def loss_dropped(self, i: int) -> int:
        """Packets node i's loss rule has dropped so far (0 without a loss rule)."""
        out = run(["ip", "netns", "exec", self.nodes[i].ns, "nft", "list", "table", "inet",
                   FAULT_TABLE], check=False).stdout
        return sum(int(m.group(1)) for m in re.finditer(r"counter packets (\d+)", out))

    def _apply_faults(self) -> None:
        for i, node in self.nodes.items():
            drop = set(self.fault_block.get(i, set()))
            if self.fault_partition:
                mine = next(g for g in self.fault_partition if i in g)
                drop |= {j for j in self.nodes if j not in mine}
            drop.discard(i)
            addrs = sorted(self.addr(j, link) for j in drop for link in range(self.links))
            rules_in, rules_out = [], []
            if addrs:
                s = ", ".join(addrs)
                rules_in.append(f"ip saddr {{ {s} }} drop")
                rules_out.append(f"ip daddr {{ {s} }} drop")
            for link in sorted(self.fault_link_down.get(i, ())):
                rules_in.append(f'iifname "l{link}" drop')
                rules_out.append(f'oifname "l{link}" drop')
            p = self.fault_loss.get(i, 0)
            if p:
                rules_in.append(f'iifname != "lo" numgen random mod 100 < {p} counter drop')
            script = f"table inet {FAULT_TABLE}\ndelete table inet {FAULT_TABLE}\n"
            if rules_in or rules_out:
                script += (f"table inet {FAULT_TABLE} {{\n"
                           "  chain in { type filter hook input priority 0; policy accept;\n"
                           + "".join(f"    {r}\n" for r in rules_in) + "  }\n"
                           "  chain out { type filter hook output priority 0; policy accept;\n"
                           + "".join(f"    {r}\n" for r in rules_out) + "  }\n}\n")
            run(["ip", "netns", "exec", node.ns, "nft", "-f", "-"], input=script)
        self.log(f"faults: partition={self.fault_partition} loss={self.fault_loss} "
                 f"block={self.fault_block} link_down={self.fault_link_down}")

    # -------------------------------------------------------------------------- tools
    def exec(self, i: int, cmd: Sequence[str], timeout: float = 10) -> subprocess.CompletedProcess:
        """Runs a command in node i's network namespace (and, when the daemon runs, its mount
        namespace, so corosync-cmapctl & co. find the daemon's /run)."""
        node = self.nodes[i]
        if node.pid and self.running(i):
            full = ["nsenter", "-t", str(node.pid), "-n", "-m", "--"] + list(cmd)
        else:
            full = ["ip", "netns", "exec", node.ns] + list(cmd)
        return run(full, check=False, timeout=timeout)


# ------------------------------------------------------------------------------------------------
# CLI for humans


def run_cases(cases: dict, names: Sequence[str]) -> int:
    """The main of a test script: runs the named cases ("all" or none: every case) as root,
    after removing leftovers of an interrupted run. Exit 77 (ctest: skipped) without root."""
    if os.geteuid() != 0:
        print("SKIP: needs root (network namespaces)")
        return 77
    names = list(names) or ["all"]
    if names == ["all"]:
        names = list(cases)
    unknown = [n for n in names if n not in cases]
    if unknown:
        print(f"unknown case(s) {unknown}; known: {', '.join(cases)}")
        return 2
    cleanup_stale()
    for n in names:
        cases[n]()
    return 0


def _cli() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", help="start a cluster, show its membership, wait for Ctrl-C")
    up.add_argument("--nodes", type=int, default=3)
    up.add_argument("--kind", default="corosync",
                    help="corosync, totemd, or a comma list per node (corosync,totemd,totemd)")
    up.add_argument("--transport", default="knet", choices=["knet", "udpu"])
    up.add_argument("--no-crypto", action="store_true")
    up.add_argument("--token", type=int, default=1000, help="ms; 0 = corosync default")
    up.add_argument("--links", type=int, default=1)
    up.add_argument("--debug", action="store_true")
    up.add_argument("--bin", default=None, help="totemd binary or its directory")
    up.add_argument("--hold", type=float, default=0,
                    help="seconds to stay up after forming (0 = until Ctrl-C, max 3600)")
    sub.add_parser("cleanup", help="remove namespaces and temp dirs left by interrupted runs")
    a = ap.parse_args()
    if a.cmd == "cleanup":
        removed = cleanup_stale()
        print("removed:", " ".join(removed) or "nothing")
        return 0
    kinds = a.kind.split(",")
    kind = kinds if len(kinds) > 1 else kinds[0]
    with Cluster(a.nodes, kind=kind, transport=a.transport, crypto=not a.no_crypto,
                 token=a.token or None, links=a.links, debug=a.debug, bin=a.bin,
                 verbose=True) as c:
        t0 = time.time()
        m = c.wait_for_membership(range(1, a.nodes + 1), range(1, a.nodes + 1), timeout=60)
        print(f"ring {m.ring_id} members {list(m.members)} formed {m.time - t0:.3f}s after start")
        for i, node in c.nodes.items():
            print(f"  node {i}: {node.kind} pid {node.pid} ns {node.ns} {node.addrs} "
                  f"log {node.log}")
        hold = a.hold if a.hold > 0 else 3600
        print(f"up; Ctrl-C to tear down (at most {hold:.0f}s)")
        try:
            time.sleep(hold)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(_cli())
