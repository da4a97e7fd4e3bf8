#!/usr/bin/env python3
"""Pacemaker on top of the netns harness: one pacemakerd per node of a harness.Cluster.

    with harness.Cluster(3, kind="totemd", realtime=False) as c:
        p = PacemakerStack(c)
        p.start([1, 2, 3])                          # pacemakerd -f in each node's namespaces
        p.wait_online([1, 2, 3], timeout=120)       # crm_mon: every node Online, a DC
        print(p.tool(1, ["pcs", "status"]).stdout)  # tools in the node's namespaces
        p.kill_node(3)                              # SIGKILL its daemon and all its pacemaker

Per node i, next to the harness's files (<tmp>/n<i>/):
  pcmk/lib/   bind-mounted on /var/lib/pacemaker (cib, pengine, blackbox, cores; hacluster)
  pcmk/log/   bind-mounted on /var/log/pacemaker (pacemaker.log)
  run/        the harness's per-node /run (so the daemon's and pacemaker's /run are one
              directory; ocf:pacemaker:Dummy keeps its state files there, /run/Dummy-*.state)
  corosync.conf  bind-mounted on /etc/corosync/corosync.conf (pcs and crmsh read it)
pacemakerd runs as `ip netns exec <ns> unshare -m --propagation private sh -c '<mounts>; exec
pacemakerd -f'` with PCMK_logfacility=none (no host syslog), so its pid is pacemakerd's; tools
run with nsenter in pacemakerd's network and mount namespaces (the daemon's when pacemaker is
not running). Every process started is stopped by pid; the node's other processes (pacemakerd's
children, resource agents) are found with `ip netns pids` of the node's own namespace.

There is no systemd in a namespace: pcs status' "Daemon Status" lines read inactive, on corosync
as on totemd (masked by the tests).
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET
from typing import Iterable, Optional, Sequence

import harness

PACEMAKERD = "/usr/sbin/pacemakerd"
TOKEN_MS = 1000
WAIT_S = 90          # bound on every wait for the cluster to reach a state

# Cluster options written offline into the first CIB with `pcs -f` (as an administrator
# prepares a CIB): no fencing, no-quorum-policy=stop, and a shorter wait for a DC at a fresh
# start (Pacemaker's dc-deadtime, default 20 s, is the same timer on both engines).
PROPERTIES = ["stonith-enabled=false", "no-quorum-policy=stop", "dc-deadtime=5s"]


def available() -> Optional[str]:
    """None when Pacemaker and its tools are installed with the hacluster user, else why not."""
    for tool in (PACEMAKERD, "/usr/sbin/crm_mon", "/usr/sbin/cibadmin", "/usr/sbin/crm_node"):
        if not os.access(tool, os.X_OK):
            return f"{tool} missing (Debian packages pacemaker, pacemaker-cli-utils)"
    try:
        pwd.getpwnam("hacluster")
        grp.getgrnam("haclient")
    except KeyError:
        return "no hacluster user / haclient group (Debian's pacemaker package makes them)"
    return None


class PacemakerStack:
    """Pacemaker daemons on the nodes of a harness cluster (see the module docstring)."""

    def __init__(self, c: harness.Cluster, env: Optional[dict] = None):
        self.c = c
        self.env = dict(env or {})
        self.procs: dict[int, subprocess.Popen] = {}
        self.uid = pwd.getpwnam("hacluster").pw_uid
        self.gid = grp.getgrnam("haclient").gr_gid
        for i in c.nodes:
            self.prepare(i)

    # ------------------------------------------------------------------------------ files
    def pdir(self, i: int) -> str:
        return os.path.join(self.c.nodes[i].dir, "pcmk")

    def log_path(self, i: int) -> str:
        return os.path.join(self.pdir(i), "log", "pacemaker.log")

    def prepare(self, i: int) -> None:
        base = self.pdir(i)
        for sub in ("lib/cib", "lib/pengine", "lib/blackbox", "lib/cores", "log/bundles"):
            os.makedirs(os.path.join(base, sub), exist_ok=True)
        for root, dirs, _ in os.walk(base):
            for d in dirs:
                p = os.path.join(root, d)
                os.chown(p, self.uid, self.gid)
                os.chmod(p, 0o770 if p.startswith(os.path.join(base, "log")) else 0o750)
        os.chmod(os.path.join(base, "lib"), 0o755)
        os.chmod(base, 0o755)
        os.chmod(self.c.nodes[i].dir, 0o755)
        os.chmod(os.path.join(self.c.nodes[i].dir, "run"), 0o755)

    def seed_cib(self, i: int, xml: str) -> None:
        """Node i's first CIB (before its pacemaker starts), as a file pcs -f prepared."""
        path = os.path.join(self.pdir(i), "lib", "cib", "cib.xml")
        with open(path, "w") as f:
            f.write(xml)
        os.chown(path, self.uid, self.gid)
        os.chmod(path, 0o600)

    def wipe_run_state(self, i: int) -> None:
        """What a reboot does to /run: the resource agents' state files are gone
        (ocf:pacemaker:Dummy keeps them in $HA_VARRUN = /var/run = /run)."""
        run = os.path.join(self.c.nodes[i].dir, "run")
        for f in os.listdir(run):
            if re.match(r"^Dummy-.*\.state", f):
                os.unlink(os.path.join(run, f))
        shutil.rmtree(os.path.join(run, "resource-agents"), ignore_errors=True)

    def mounts(self, i: int) -> list:
        node = self.c.nodes[i]
        base = self.pdir(i)
        m = [f"mount --bind {node.dir}/run /run",
             f"mount --bind {base}/lib /var/lib/pacemaker",
             f"mount --bind {base}/log /var/log/pacemaker"]
        if os.path.exists("/etc/corosync/corosync.conf"):
            m.append(f"mount --bind {node.conf} /etc/corosync/corosync.conf")
        if os.path.isdir("/var/log/cluster"):
            m.append(f"mount --bind {node.dir}/log /var/log/cluster")
        return m

    # ------------------------------------------------------------------------------ daemons
    def start(self, ids: Iterable[int]) -> None:
        for i in ids:
            if self.running(i):
                raise RuntimeError(f"pacemaker already running on node {i}")
            node = self.c.nodes[i]
            env = dict(os.environ)
            env.update({"PCMK_logfacility": "none",
                        "PCMK_logfile": "/var/log/pacemaker/pacemaker.log", "PCMK_debug": "no"})
            env.update(self.env)
            script = "set -e; " + "; ".join(self.mounts(i)) + f"; exec {PACEMAKERD} -f"
            out = open(os.path.join(self.pdir(i), "log", "stdio.log"), "ab")
            proc = subprocess.Popen(["ip", "netns", "exec", node.ns, "unshare", "-m",
                                     "--propagation", "private", "sh", "-c", script],
                                    env=env, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)
            out.close()
            self.procs[i] = proc
            self.c.pids.add(proc.pid)
            self.c.log(f"started pacemakerd on node {i} pid {proc.pid}")

    def running(self, i: int) -> bool:
        p = self.procs.get(i)
        return p is not None and p.poll() is None

    def pid(self, i: int) -> Optional[int]:
        return self.procs[i].pid if self.running(i) else None

    def node_pids(self, i: int) -> list:
        """Every process in node i's network namespace but its Totem daemon."""
        out = harness.run(["ip", "netns", "pids", self.c.nodes[i].ns], check=False).stdout
        daemon = self.c.nodes[i].pid
        return [int(p) for p in out.split() if int(p) != daemon]

    def stop(self, i: int, timeout: float = 60) -> float:
        """SIGTERM to pacemakerd (what `pcs cluster stop` makes systemd do) and waits for it to
        stop its children and exit; returns the seconds it took. Raises if it did not."""
        p = self.procs[i]
        t0 = time.monotonic()
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise TimeoutError(f"pacemakerd on node {i} did not exit {timeout}s after SIGTERM")
        self.c.pids.discard(p.pid)
        # pacemakerd waits for its children; anything left would be a bug to show.
        left = self.node_pids(i)
        if left:
            raise RuntimeError(f"node {i}: processes left after pacemakerd exited: {left}")
        return time.monotonic() - t0

    def _freeze_and_kill(self, i: int, daemon: bool) -> None:
        """SIGSTOP to every pacemaker process of node i (and its daemon), then SIGKILL to them
        all: nothing of the node sees another part die, logs it or respawns it — a crash."""
        stopped: list = []
        for _ in range(20):  # a process may fork while we look (a resource agent)
            pids = [p for p in self.node_pids(i) if p not in stopped]
            if daemon and self.c.nodes[i].pid and self.c.nodes[i].pid not in stopped:
                pids.append(self.c.nodes[i].pid)
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGSTOP)
                except ProcessLookupError:
                    pass
            stopped += pids
        for pid in stopped:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        p = self.procs.get(i)
        if p is not None:
            p.wait(timeout=10)
            self.c.pids.discard(p.pid)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.node_pids(i):
            time.sleep(0.05)

    def kill(self, i: int) -> None:
        """SIGKILL to every pacemaker process of node i (the daemon keeps running)."""
        self._freeze_and_kill(i, daemon=False)

    def kill_node(self, i: int) -> float:
        """A node crash: its Totem daemon and all its pacemaker processes stopped at once
        (SIGSTOP, then SIGKILL), and /run loses the resource agents' state as in a reboot.
        Returns the wall time of the kill."""
        t = time.time()
        had_daemon = bool(self.c.nodes[i].pid)
        self._freeze_and_kill(i, daemon=True)
        if had_daemon:
            self.c.stop(i, signal.SIGKILL)  # reaps it
        self.wipe_run_state(i)
        return t

    # ------------------------------------------------------------------------------ tools
    def argv(self, i: int, argv: Sequence[str]) -> list:
        pid = self.pid(i) or (self.c.nodes[i].pid if self.c.running(i) else None)
        if pid:
            return ["nsenter", "-t", str(pid), "-n", "-m", "--"] + list(argv)
        return ["ip", "netns", "exec", self.c.nodes[i].ns] + list(argv)

    def tool(self, i: int, argv: Sequence[str], timeout: float = 30,
             input: Optional[str] = None) -> subprocess.CompletedProcess:
        return subprocess.run(self.argv(i, argv), capture_output=True, text=True,
                              timeout=timeout, input=input)

    def mon_xml(self, i: int) -> Optional[ET.Element]:
        r = self.tool(i, ["crm_mon", "-1", "--output-as=xml"], timeout=20)
        if r.returncode != 0 or not r.stdout.strip():
            return None
        try:
            return ET.fromstring(r.stdout)
        except ET.ParseError:
            return None

    def log_lines(self, i: int) -> list:
        try:
            with open(self.log_path(i), errors="replace") as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []


# ------------------------------------------------------------------------------------------------
# what crm_mon's XML says


class View:
    """One node's crm_mon --output-as=xml, reduced to what an administrator reads."""

    def __init__(self, root: ET.Element):
        self.root = root
        summ = root.find("summary")
        dc = summ.find("current_dc") if summ is not None else None
        self.dc = dc.get("name") if dc is not None and dc.get("present") == "true" else None
        self.quorum = dc is not None and dc.get("with_quorum") == "true"
        self.nodes = {n.get("name"): n.attrib for n in root.iter("node")
                      if n.get("name") and n.get("online") is not None}
        self.online = sorted(k for k, v in self.nodes.items() if v.get("online") == "true")
        # resource id -> sorted list of nodes it is active on
        self.where: dict[str, list] = {}
        res = root.find("resources")
        if res is not None:
            for r in res.iter("resource"):
                on = sorted(n.get("name") for n in r.findall("node"))
                if r.get("active") == "true" and r.get("role") in ("Started", "Promoted",
                                                                   "Unpromoted"):
                    self.where.setdefault(r.get("id"), [])
                    self.where[r.get("id")] += on
                else:
                    self.where.setdefault(r.get("id"), [])
            for k in self.where:
                self.where[k] = sorted(self.where[k])
        self.failed = [a.attrib for a in root.iter("failure")]

    def __repr__(self) -> str:
        return (f"View(dc={self.dc}, quorum={self.quorum}, online={self.online}, "
                f"where={self.where})")


def wait_until(what: str, fn, timeout: float, interval: float = 0.25):
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = fn()
        if last:
            return last
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not reached in {timeout}s")
        time.sleep(interval)


# ------------------------------------------------------------------------------------------------
# a cluster with pacemaker, its CIB and resources


class Stack:
    """A harness cluster of `n` namespaces (knet with crypto, both engines without SCHED_RR)
    with pacemaker on it; `members` are the nodes of the first nodelist (the others can be
    added later); `properties` are written into the members' first CIB (initial_cib). The
    daemons and pacemaker are started by start(). On exit every pacemaker process is killed
    first (read the logs before), then the harness cleans up."""

    def __init__(self, kind, n: int, members=None, properties=PROPERTIES, token=TOKEN_MS,
                 bin=None, pcs_setup: bool = False, **kw):
        self.members = list(members or range(1, n + 1))
        self.pcs_setup = pcs_setup  # corosync.conf written by `pcs cluster setup` (pcs_conf)
        self.token = token
        self.c = harness.Cluster(n, kind=kind, transport="knet", crypto=True, token=token,
                                 realtime=False, bin=bin, start=False, **kw)
        self.properties = properties
        self.p: PacemakerStack = None

    def __enter__(self) -> "Stack":
        self.c.__enter__()
        try:
            self.p = PacemakerStack(self.c)
            pcs_text = pcs_conf(self.c, self.members, self.token) if self.pcs_setup else None
            for i in self.c.nodes:
                if pcs_text is None:
                    write_conf(self.c, i, self.members)
                else:
                    with open(self.c.nodes[i].conf, "w") as f:
                        f.write(adapt_pcs_conf(self.c, self.c.nodes[i], pcs_text))
            if self.properties:
                seed = initial_cib(self.properties)
                for i in self.members:
                    self.p.seed_cib(i, seed)
        except BaseException:
            self.c.cleanup()
            raise
        return self

    def __exit__(self, *exc) -> None:
        try:
            for i in list(self.c.nodes):
                self.p.kill(i)
        finally:
            self.c.__exit__(*exc)

    def start(self, ids, late=()) -> float:
        """Starts the daemons of `ids` and each node's pacemakerd as soon as its daemon has
        completed a sync; the pacemaker of a node in `late` waits until another node's
        pacemaker has elected a DC (so that node joins that DC and never is the DC itself:
        Pacemaker elects by its controllers' CPU time, which no test controls). Returns the
        wall time the daemons were started."""
        ids = list(ids)
        t0 = time.time()
        self.c.start(ids)
        pending = [i for i in ids if i not in late]
        deadline = time.monotonic() + WAIT_S
        while pending:
            for i in list(pending):
                if ready_since(self.c, i, t0):
                    self.p.start([i])
                    pending.remove(i)
            if time.monotonic() > deadline:
                raise TimeoutError(f"daemons of {sorted(pending)} not ready")
            time.sleep(0.02)
        late = [i for i in ids if i in late]
        if late:
            early = [i for i in ids if i not in late] or \
                [j for j in self.c.nodes if self.p.running(j)]
            wait_view(self.p, early[0], "a DC", lambda v: v.dc is not None)
            for i in late:
                wait_until(f"n{i}'s daemon ready", lambda: ready_since(self.c, i, t0), WAIT_S,
                           0.02)
                self.p.start([i])
        return t0


def write_conf(c: harness.Cluster, i: int, members) -> None:
    """Node i's corosync.conf with only the nodelist entries `members` (harness rendering)."""
    node = c.nodes[i]
    text = c.render_conf(node)

    def keep(m):
        return m.group(0) if int(m.group(1)) in members else ""
    text = re.sub(r"    node \{\n(?:        .*\n)*?        nodeid: (\d+)\n    \}\n", keep, text)
    with open(node.conf, "w") as f:
        f.write(text)


def pcs_conf(c: harness.Cluster, members, token: Optional[int]) -> str:
    """corosync.conf as the administrator has pcs write it: `pcs cluster setup NAME n1
    addr=A1 n2 addr=A2 … [totem token=T] --corosync_conf FILE` (local only: it contacts no node
    and starts nothing; ISSUE-NOTES). One file for every node, as pcs distributes it."""
    path = os.path.join(c.dir, "pcs-corosync.conf")
    argv = ["pcs", "cluster", "setup", c.cluster_name]
    for i in members:
        argv += [f"n{i}", f"addr={c.addr(i, 0)}"]
    if token:
        argv += ["totem", f"token={token}"]
    argv += ["--corosync_conf", path]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    if r.returncode != 0 or not os.path.exists(path):
        raise RuntimeError(f"{' '.join(argv)}: rc {r.returncode}: {r.stdout}{r.stderr}")
    with open(path) as f:
        return f.read()


def adapt_pcs_conf(c: harness.Cluster, node, text: str) -> str:
    """pcs's corosync.conf with what a namespace needs instead of a host's paths: the node's
    key file (on a host the administrator copies the authkey to /etc/corosync/authkey, pcs's
    default), the harness's logging section (the log file in the node's directory, read by its
    watcher) and, without SCHED_RR, `system { sched_rr: no }` as the harness writes it. The
    totem, nodelist and quorum sections stay as pcs wrote them."""
    if "keyfile:" in text or not re.search(r"(?m)^totem \{$", text):
        raise RuntimeError("pcs wrote an unexpected totem section:\n" + text)
    text = re.sub(r"(?m)^totem \{\n", f"totem {{\n    keyfile: {node.key}\n", text, count=1)
    text = re.sub(r"(?ms)^logging \{\n.*?^\}\n?", "", text).rstrip() + "\n\n"
    rendered = c.render_conf(node)
    system = re.search(r"(?ms)^system \{\n.*?^\}\n", rendered)
    logging = re.search(r"(?ms)^logging \{\n.*?^\}\n", rendered)
    if logging is None:
        raise RuntimeError("the harness rendered no logging section")
    return text + (system.group(0) if system else "") + logging.group(0)


_SEED: dict = {}


def initial_cib(properties) -> str:
    """An empty CIB with the cluster options set, as `pcs -f FILE property set` writes it."""
    key = tuple(properties)
    if key not in _SEED:
        with tempfile.NamedTemporaryFile("w", suffix=".xml", delete=False) as f:
            path = f.name
        try:
            r = subprocess.run(["cibadmin", "--empty"], capture_output=True, text=True,
                               timeout=20, check=True)
            with open(path, "w") as f:
                f.write(r.stdout)
            subprocess.run(["pcs", "-f", path, "property", "set"] + list(properties),
                           capture_output=True, text=True, timeout=60, check=True)
            with open(path) as f:
                _SEED[key] = f.read()
        finally:
            os.unlink(path)
    return _SEED[key]


_RESOURCES: dict = {}

# Where each resource of resource_xml() runs: all three nodes up; n3 gone (killed, or cut off,
# seen from the majority); from n3's view when it is cut off (no quorum: everything stopped).
ALL3 = {"solo": [3], "cl": [1, 2, 3], "g1": [2], "g2": [2]}
WITHOUT3 = {"solo": [1], "cl": [1, 2], "g1": [2], "g2": [2]}
ISOLATED3 = {"solo": [], "cl": [], "g1": [], "g2": []}


def resource_xml() -> tuple[str, str]:
    """The resources and constraints sections of the 3-node cases, made once with pcs on a
    file: solo (Dummy, prefers n3=100, n1=50), cl-clone (cloned Dummy), grp (g1, g2; prefers
    n2=100, n1=50). Pushed into the live CIB with cibadmin, as `pcs cluster cib-push --config`
    does. ALL3, WITHOUT3 and ISOLATED3 say where each runs."""
    if not _RESOURCES:
        with tempfile.NamedTemporaryFile("w", suffix=".xml", delete=False) as f:
            path = f.name
        try:
            with open(path, "w") as f:
                f.write(initial_cib(PROPERTIES))
            for argv in (["resource", "create", "solo", "ocf:pacemaker:Dummy"],
                         ["resource", "create", "cl", "ocf:pacemaker:Dummy", "clone"],
                         ["resource", "create", "g1", "ocf:pacemaker:Dummy", "--group", "grp"],
                         ["resource", "create", "g2", "ocf:pacemaker:Dummy", "--group", "grp"],
                         ["constraint", "location", "solo", "prefers", "n3=100", "n1=50"],
                         ["constraint", "location", "grp", "prefers", "n2=100", "n1=50"]):
                subprocess.run(["pcs", "-f", path] + argv, capture_output=True, text=True,
                               timeout=60, check=True)
            root = ET.parse(path).getroot()
            conf = root.find("configuration")
            _RESOURCES["resources"] = ET.tostring(conf.find("resources"), encoding="unicode")
            _RESOURCES["constraints"] = ET.tostring(conf.find("constraints"),
                                                    encoding="unicode")
        finally:
            os.unlink(path)
    return _RESOURCES["resources"], _RESOURCES["constraints"]


def push_resources(p: PacemakerStack, i: int) -> None:
    """`pcs cluster cib-push --config` of the live configuration with resource_xml()'s
    resources and constraints in one replace."""
    res, cons = resource_xml()
    r = p.tool(i, ["cibadmin", "-Q", "--scope", "configuration"])
    if r.returncode != 0:
        raise RuntimeError(f"cibadmin -Q --scope configuration: rc {r.returncode} {r.stderr}")
    conf = ET.fromstring(r.stdout)
    for tag, xml in (("resources", res), ("constraints", cons)):
        old = conf.find(tag)
        idx = list(conf).index(old)
        conf.remove(old)
        conf.insert(idx, ET.fromstring(xml))
    r = p.tool(i, ["cibadmin", "--replace", "--scope", "configuration", "--xml-pipe"],
               input=ET.tostring(conf, encoding="unicode"))
    if r.returncode != 0:
        raise RuntimeError(f"cibadmin --replace configuration: rc {r.returncode} {r.stderr}")


# ------------------------------------------------------------------------------------------------
# waiting for states


def ready_since(c: harness.Cluster, i: int, since: float) -> bool:
    """Node i's daemon logged "ready to provide service" at or after `since`."""
    w = c.nodes[i].watcher
    w.poll()
    for seen, line in reversed(w.lines):
        if "ready to provide service" in line:
            t = harness.parse_log_time(line)
            return (t if t is not None else seen) >= since - 0.010
    return False


def view(p: PacemakerStack, i: int):
    root = p.mon_xml(i)
    return View(root) if root is not None else None


def wait_view(p: PacemakerStack, i: int, what: str, pred, timeout: float = WAIT_S,
              interval: float = 0.05):
    """Polls node i's crm_mon until pred(view) holds; returns (view, wall time)."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        v = view(p, i)
        if v is not None:
            last = v
            if pred(v):
                return v, time.time()
        if time.monotonic() > deadline:
            raise TimeoutError(f"n{i}: {what} not reached in {timeout}s; last {last}")
        time.sleep(interval)


def names(ids) -> list:
    return sorted(f"n{i}" for i in ids)


def settled(online, where: dict):
    """A predicate: a DC, quorum, exactly `online` online, and every resource of `where`
    started exactly on its nodes."""
    def pred(v: View) -> bool:
        return (v.dc is not None and v.quorum and v.online == names(online)
                and all(v.where.get(r, []) == names(ns) for r, ns in where.items()))
    return pred


def wait_all_agree(p: PacemakerStack, nodes, what: str, pred, timeout: float = WAIT_S):
    """Until every node's crm_mon satisfies pred and all name the same DC; returns the time."""
    deadline = time.monotonic() + timeout
    while True:
        vs = {i: view(p, i) for i in nodes}
        if all(v is not None and pred(v) for v in vs.values()) and \
                len({v.dc for v in vs.values()}) == 1:
            return time.time()
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not reached at {list(nodes)} in {timeout}s; {vs}")
        time.sleep(0.05)


def state_files(c: harness.Cluster, i: int) -> dict:
    """ocf:pacemaker:Dummy's state files in node i's /run: {resource: (inode, mtime_ns)}."""
    d = os.path.join(c.nodes[i].dir, "run")
    out = {}
    for f in os.listdir(d):
        m = re.match(r"^Dummy-(.+)\.state$", f)
        if m:
            st = os.stat(os.path.join(d, f))
            out[m.group(1)] = (st.st_ino, st.st_mtime_ns)
    return out


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_daemon_exit(c: harness.Cluster, i: int, timeout: float = 30) -> None:
    node = c.nodes[i]
    try:
        node.proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise TimeoutError(f"n{i}: the daemon did not exit after corosync-cfgtool -H")
    c.pids.discard(node.pid)
    node.pid = None
