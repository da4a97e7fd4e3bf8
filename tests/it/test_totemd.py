#!/usr/bin/env python3
"""totemd on real links: several daemons in network namespaces (issue 4).

    python3 tests/it/test_totemd.py CASE      (see CASES below; "all" runs every case)

Every case builds its own cluster with the netns harness (token 1000 ms), prints what it
measured and exits non-zero on failure. Needs root; ctest runs the cases one at a time.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

TIMEOUT_S = 40


def check(cond: bool, what: str) -> None:
    if not cond:
        raise AssertionError(what)


def formed(n: int, transport: str, crypto: bool, links: int = 1) -> None:
    with harness.Cluster(n, kind="totemd", transport=transport, crypto=crypto, links=links) as c:
        t0 = time.time()
        ids = list(range(1, n + 1))
        m = c.wait_for_membership(ids, ids, timeout=TIMEOUT_S)
        print(f"{n} nodes {transport} crypto={crypto} links={links}: ring {m.ring_id} "
              f"formed {m.time - t0:.3f}s after start")
        keys = c.runtime_keys(1)
        check(keys.get("runtime.totemd.members") == " ".join(map(str, ids)),
              f"runtime.totemd.members {keys.get('runtime.totemd.members')}")


def case_knet3():
    formed(3, "knet", True)


def case_knet5_two_links():
    formed(5, "knet", True, links=2)


def case_udpu3():
    formed(3, "udpu", False)


def case_udpu3_crypto():
    formed(3, "udpu", True)


def case_kill9():
    """kill -9 of a node: the others re-form without it; a restart brings it back."""
    with harness.Cluster(3, kind="totemd", transport="knet", crypto=True) as c:
        m = c.wait_for_membership([1, 2, 3], [1, 2, 3], timeout=TIMEOUT_S)
        t_kill = c.kill(3)
        m2 = c.wait_for_membership([1, 2], [1, 2], timeout=TIMEOUT_S, since=t_kill)
        check(m2.ring_id != m.ring_id, "a new ring id")
        cause = c.runtime_keys(1).get("runtime.totemd.last_change_cause", "")
        check("token was lost" in cause, f"cause: {cause}")
        print(f"kill9: ring {m2.ring_id} [1, 2] {m2.time - t_kill:.3f}s after kill -9; "
              f"cause: {cause}")
        t_start = time.time()
        c.start([3])
        m3 = c.wait_for_membership([1, 2, 3], [1, 2, 3], timeout=TIMEOUT_S, since=t_start)
        print(f"kill9: restart -> ring {m3.ring_id} after {m3.time - t_start:.3f}s")


def case_sigterm():
    """SIGTERM: the node sends a LEAVE; the others re-form well under the token timeout."""
    with harness.Cluster(3, kind="totemd", transport="knet", crypto=True) as c:
        c.wait_for_membership([1, 2, 3], [1, 2, 3], timeout=TIMEOUT_S)
        time.sleep(1)  # a settled ring, not one still forming
        t_term = c.terminate(2)
        m = c.wait_for_membership([1, 3], [1, 3], timeout=TIMEOUT_S, since=t_term)
        took = m.time - t_term
        effective_token_s = (1000 + 650) / 1000  # token + token_coefficient at 3 nodes
        print(f"sigterm: ring {m.ring_id} [1, 3] {took:.3f}s after SIGTERM "
              f"(token timeout {effective_token_s:.2f}s)")
        check(took < effective_token_s / 2, f"re-formed after {took:.3f}s")
        check(c.nodes[1].watcher.grep(r"Failed to receive the leave message") == [],
              "node 2 counted as left, not failed")


def case_partition():
    """partition {1,2}|{3}: two rings; heal: one ring again."""
    with harness.Cluster(3, kind="totemd", transport="knet", crypto=True) as c:
        c.wait_for_membership([1, 2, 3], [1, 2, 3], timeout=TIMEOUT_S)
        t_cut = c.partition([[1, 2], [3]])
        a = c.wait_for_membership([1, 2], [1, 2], timeout=TIMEOUT_S, since=t_cut)
        b = c.wait_for_membership([3], [3], timeout=TIMEOUT_S, since=t_cut)
        print(f"partition: {{1,2}} ring {a.ring_id} after {a.time - t_cut:.3f}s, "
              f"{{3}} ring {b.ring_id} after {b.time - t_cut:.3f}s")
        t_heal = c.heal()
        m = c.wait_for_membership([1, 2, 3], [1, 2, 3], timeout=TIMEOUT_S, since=t_heal)
        print(f"partition: heal -> ring {m.ring_id} after {m.time - t_heal:.3f}s")


# knet link timers for a lossy network (ISSUE-NOTES: local settings): a link is declared down
# only after 2 s without a pong, instead of token / pong_count.
LOSSY_KNET_LINK = {0: {"knet_ping_interval": 100, "knet_ping_timeout": 2000, "knet_pong_count": 1}}


def lossy(transport: str, crypto: bool, count: int, percent: int = 20) -> None:
    """`percent` % random loss on every node while each node multicasts `count` messages: the
    ring stays, and every node delivers all 3 × count messages in one identical order."""
    # The generator sends only in the 3-node ring (fifth field): at start each node forms a ring
    # of its own (on knet before its links are up, for about 0.4 s), and what it sends there is
    # delivered to itself only (EVS), never to the nodes that join later.
    os.environ["TOTEMD_PLOAD"] = f"50,2,64,{count},3"
    # On knet, every Totem packet fits one knet frame (ISSUE-NOTES): with the default netmtu a
    # packet of up to 64 KiB is ~45 frames and survives 20 % frame loss with probability 0.8^45.
    extra = LOSSY_KNET_LINK if transport == "knet" else None
    totem_extra = {"netmtu": 1300} if transport == "knet" else None
    try:
        with harness.Cluster(3, kind="totemd", transport=transport, crypto=crypto,
                             interface_extra=extra, totem_extra=totem_extra) as c:
            m = c.wait_for_membership([1, 2, 3], [1, 2, 3], timeout=TIMEOUT_S)
            for i in (1, 2, 3):
                c.loss(i, percent)
            t_loss = time.time()
            deadline = t_loss + 120
            while time.time() < deadline:
                keys = [c.runtime_keys(i) for i in (1, 2, 3)]
                got = [int(k.get("runtime.totemd.pload.received", "0")) for k in keys]
                if all(g == 3 * count for g in got):
                    break
                time.sleep(1)
            took = time.time() - t_loss
            c.heal()
            c.poll()
            digests = {k.get("runtime.totemd.pload.digest") for k in keys}
            retx = sum(int(c.runtime_keys(i).get("stats.srp.mcast_retx", "0")) for i in (1, 2, 3))
            changes = [len(c.history(i)) for i in (1, 2, 3)]
            print(f"loss{percent} {transport}: delivered {got} of {3 * count} each in {took:.1f}s, "
                  f"{retx} retransmissions, membership events per node {changes}")
            check(all(g == 3 * count for g in got), f"delivered {got}")
            check(len(digests) == 1, f"same order everywhere: {digests}")
            rings = [c.history(i)[-1].ring_id for i in (1, 2, 3)]
            check(all(r == m.ring_id for r in rings), f"the ring stayed {m.ring_id}: {rings}")
    finally:
        os.environ.pop("TOTEMD_PLOAD", None)


def case_loss20_udpu():
    lossy("udpu", True, 300)


def case_loss20_knet():
    lossy("knet", True, 300)


def idle_at_loss(seconds: int, percent: int = 20) -> dict[str, tuple[int, int]]:
    """An idle 3-node udpu ring of corosync and one of totemd, side by side (two clusters of
    their own), with `percent` % ingress loss on every node for the same `seconds`: per kind,
    how many "Token has not been received" warnings and new memberships it logged."""
    with harness.Cluster(3, kind="corosync", transport="udpu", crypto=False) as cs, \
            harness.Cluster(3, kind="totemd", transport="udpu", crypto=False) as td:
        clusters = {"corosync": cs, "totemd": td}
        for c in clusters.values():
            c.wait_for_membership([1, 2, 3], [1, 2, 3], timeout=TIMEOUT_S)
            c.quiet_for([1, 2, 3], 2)
        for c in clusters.values():
            for i in (1, 2, 3):
                c.loss(i, percent)
        hits: dict[str, list] = {}
        # the two watches run at the same time (quiet_for sleeps, then reads its own logs)
        t = threading.Thread(target=lambda: hits.__setitem__("corosync",
                                                             cs.quiet_for([1, 2, 3], seconds)))
        t.start()
        hits["totemd"] = td.quiet_for([1, 2, 3], seconds)
        t.join()
        out = {}
        for kind, c in clusters.items():
            warnings = sum("Token has not been received" in h for h in hits[kind])
            memberships = sum("A new membership" in h for h in hits[kind])
            dropped = [c.loss_dropped(i) for i in (1, 2, 3)]
            print(f"idle{percent} {kind}: {seconds}s idle at {percent} % loss: {warnings} token "
                  f"warnings, {memberships} new memberships, packets dropped {dropped}")
            out[kind] = (warnings, memberships)
        return out


def case_idle20_udpu():
    """An idle ring at 20 % loss keeps its membership: once a token's first retransmit has gone
    out, totemd re-sends it every token_retransmit/4 (docs/protocol/deviations.md), where
    corosync waits a whole token_retransmit each time. Both measured in this run, at the same
    time."""
    r = idle_at_loss(75)
    (cs_warn, cs_memb), (td_warn, td_memb) = r["corosync"], r["totemd"]
    print(f"idle20: token warnings corosync {cs_warn}, totemd {td_warn}; "
          f"new memberships corosync {cs_memb}, totemd {td_memb}")
    # The membership changes are what users feel (corosync: 3..9 in 75 s here; totemd: 0 in
    # every run so far). The token warnings are reported, not asserted: totemd's still vary
    # from 1 to 9 per run (see the issue note).
    check(td_memb <= cs_memb // 2, "at most half of corosync's membership changes")


def case_pload_knet():
    """No loss: every node delivers every pload message, also those the generator had ready
    before the knet links came up (it sends only once the ring has all 3 nodes)."""
    lossy("knet", True, 100, percent=0)


def case_bad_authkey():
    """A node with a different authkey cannot join, and its packets are counted as dropped."""
    with harness.Cluster(3, kind="totemd", transport="udpu", crypto=True, bad_key_nodes=[3]) as c:
        c.wait_for_membership([1, 2], [1, 2], timeout=TIMEOUT_S)
        time.sleep(3)
        c.poll()
        check(tuple(c.members(1)) == (1, 2), f"node 1 sees {c.members(1)}")
        dropped = int(c.runtime_keys(1).get("stats.totemd.transport.rx_dropped_auth", "0"))
        print(f"bad_authkey: ring [1, 2] without node 3; node 1 dropped {dropped} packets "
              f"that failed authentication")
        check(dropped > 0, "failed authentications are counted")


def refused(what: str, why: str, **cluster) -> None:
    """Node 3's config differs from nodes 1 and 2's: they refuse it (and it them), each saying
    why in one log line; 1 and 2 form their ring, 3 stays alone."""
    with harness.Cluster(3, kind="totemd", transport="knet", crypto=True, **cluster) as c:
        c.wait_for_membership([1, 2], [1, 2], timeout=TIMEOUT_S)
        deadline = time.time() + 20
        while time.time() < deadline and not (c.nodes[1].watcher.grep(r"Refusing node 3") and
                                               c.nodes[3].watcher.grep(r"Refusing node 1")):
            time.sleep(0.2)
            c.poll()
        time.sleep(2)  # the ring settles without node 3
        churn = c.quiet_for([1, 2, 3], 8)
        said1 = c.nodes[1].watcher.grep(r"Refusing node 3")
        said3 = c.nodes[3].watcher.grep(r"Refusing node 1")
        print(f"{what}: node 1 sees {c.members(1)}, node 3 sees {c.members(3)}; node 1 logged: "
              f"{said1[0].split('] ', 1)[-1] if said1 else None}; node 3 logged: "
              f"{said3[0].split('] ', 1)[-1] if said3 else None}")
        print(f"{what}: {len(churn)} membership changes in the 8 s after settling")
        check(not churn, f"no membership churn once refused: {churn[:4]}")
        check(said1 and why in said1[0], "node 1: a log line saying why")
        check(bool(said3), "node 3 refuses node 1 too")
        check(tuple(c.members(1)) == (1, 2), f"node 1 sees {c.members(1)}")
        check(tuple(c.members(3)) == (3,), f"node 3 sees {c.members(3)}")
        keys = c.runtime_keys(1)
        check(int(keys.get("stats.totemd.config_mismatch", "0")) >= 1, "counted")


def case_cluster_name_mismatch():
    """A node whose config has another cluster_name is refused, with a log line saying why."""
    refused("cluster_name_mismatch", "cluster_name is 'another-cluster'",
            node_cluster_name={3: "another-cluster"})


def case_nodelist_mismatch():
    """A node whose nodelist contradicts ours (it gives node 2's address to a node 4) is
    refused."""
    refused("nodelist_mismatch", "its nodelist gives address 10.201.0.2 to node 4, ours to node 2",
            node_extra_nodes={3: {4: "10.201.0.2"}})


def case_nodelist_superset():
    """A node whose nodelist only has one node more (a nodelist reload rolling through the
    cluster, as `pcs cluster node add` does it) is not refused: one ring of all three, quiet."""
    with harness.Cluster(3, kind="totemd", transport="knet", crypto=True,
                         node_extra_nodes={3: [4]}) as c:
        c.wait_for_membership([1, 2, 3], [1, 2, 3], timeout=TIMEOUT_S)
        churn = c.quiet_for([1, 2, 3], 5)
        refusals = [line for i in (1, 2, 3) for line in c.nodes[i].watcher.grep(r"Refusing node")]
        print(f"nodelist_superset: {len(churn)} membership changes, refusals {refusals[:2]}")
        check(not refusals, "nobody is refused")
        check(not churn, f"no membership churn: {churn[:4]}")


def case_blackbox():
    """SIGUSR2 writes the flight recorder; qb-blackbox reads it back, debug lines included."""
    with harness.Cluster(2, kind="totemd", transport="knet", crypto=True) as c:
        c.wait_for_membership([1, 2], [1, 2], timeout=TIMEOUT_S)
        node = c.nodes[1]
        path = os.path.join(node.dir, "lib", "fdata")
        os.kill(node.pid, signal.SIGUSR2)
        deadline = time.time() + 10
        while time.time() < deadline and not (os.path.exists(path) and os.path.getsize(path) > 0):
            time.sleep(0.1)
        check(os.path.exists(path), "fdata written")
        out = subprocess.run(["qb-blackbox", path], capture_output=True, text=True, timeout=30)
        lines = out.stdout.splitlines()
        print(f"blackbox: {os.path.getsize(path)} bytes, {len(lines)} lines; "
              f"has the membership: {any('A new membership' in l for l in lines)}")
        check(any("A new membership" in l for l in lines), "membership in the flight recorder")
        check(any("entering GATHER state" in l for l in lines), "debug lines recorded too")


def case_second_instance():
    """A second totemd in the same network namespace refuses to start, with a clear message."""
    with harness.Cluster(1, kind="totemd", transport="knet", crypto=True) as c:
        c.wait_for_membership([1], [1], timeout=TIMEOUT_S)
        node = c.nodes[1]
        out = subprocess.run(["ip", "netns", "exec", node.ns, c.totemd, "-f", "-c", node.conf],
                             capture_output=True, text=True, timeout=20,
                             env=dict(os.environ, TOTEMD_STATE_DIR=os.path.join(node.dir, "lib2")))
        print(f"second_instance: exit {out.returncode}: {out.stderr.strip()}")
        check(out.returncode != 0, "refused")
        check("already running in this network namespace" in out.stderr, out.stderr)


def case_startup_errors():
    """Start-up errors are one clear line and a non-zero exit: address not local, unreadable
    or short authkey."""
    with harness.Cluster(2, kind="external", transport="knet", crypto=True) as c:
        node = c.nodes[1]
        conf = open(node.conf).read()
        cases = {
            "address not local": (conf.replace(c.addr(1, 0), "10.201.0.99"), None),
            "authkey missing": (conf.replace(node.key, node.key + ".missing"), None),
            "authkey too short": (conf, b"x" * 64),
        }
        for what, (text, key) in cases.items():
            path = os.path.join(node.dir, f"case-{what.replace(' ', '_')}.conf")
            if key is not None:
                keypath = os.path.join(node.dir, "short.key")
                with open(keypath, "wb") as f:
                    f.write(key)
                text = text.replace(node.key, keypath)
            with open(path, "w") as f:
                f.write(text)
            args = [c.totemd, "-f", "-c", path]
            if what == "address not local":
                args += ["--local-nodeid", "1"]
            out = subprocess.run(["ip", "netns", "exec", node.ns] + args, capture_output=True,
                                 text=True, timeout=20,
                                 env=dict(os.environ, TOTEMD_STATE_DIR=os.path.join(node.dir, "lib")))
            err = [l for l in out.stderr.splitlines() if l.strip()]
            print(f"startup_errors: {what}: exit {out.returncode}: {err}")
            check(out.returncode != 0, f"{what}: non-zero exit")
            check(len(err) >= 1, f"{what}: says why")


def case_daemonize():
    """Without -f, totemd detaches once it has started (exit 0, pid in <state>/totemd.pid), and
    the detached daemon works: libknet's threads start after the fork, so it joins a ring. A
    start-up error still reaches the terminal with a non-zero exit."""
    with harness.Cluster(2, kind=["external", "totemd"], transport="knet", crypto=True) as c:
        node = c.nodes[1]
        state = os.path.join(node.dir, "lib")
        env = dict(os.environ, TOTEMD_STATE_DIR=state)
        t0 = time.time()
        out = subprocess.run(["ip", "netns", "exec", node.ns, c.totemd, "-c", node.conf],
                             capture_output=True, text=True, timeout=20, env=env)
        took = time.time() - t0
        pid_file = os.path.join(state, "totemd.pid")
        pid = int(open(pid_file).read()) if os.path.exists(pid_file) else 0
        if pid:
            c.pids.add(pid)
        print(f"daemonize: exit {out.returncode} after {took:.2f}s, pid {pid}, "
              f"output {out.stdout.strip()!r} {out.stderr.strip()!r}")
        check(out.returncode == 0, f"exit 0 once started: {out.stderr}")
        check(out.stdout == "" and out.stderr == "", "nothing on the terminal")
        check(pid > 0 and harness.pid_alive(pid), "the detached daemon runs")
        check(os.getsid(pid) == pid, "in a session of its own")

        m = c.wait_for_membership([2], [1, 2], timeout=TIMEOUT_S)
        print(f"daemonize: node 2 sees ring {m.ring_id} with the detached node 1")

        again = subprocess.run(["ip", "netns", "exec", node.ns, c.totemd, "-c", node.conf],
                               capture_output=True, text=True, timeout=20,
                               env=dict(env, TOTEMD_STATE_DIR=os.path.join(node.dir, "lib2")))
        print(f"daemonize: second start: exit {again.returncode}: {again.stderr.strip()}")
        check(again.returncode == 1, "a start-up error is a non-zero exit")
        check("already running in this network namespace" in again.stderr, again.stderr)

        os.kill(pid, signal.SIGTERM)
        deadline = time.time() + 10
        while time.time() < deadline and harness.pid_alive(pid):
            time.sleep(0.05)
        check(not harness.pid_alive(pid), "SIGTERM stops it")
        check(not os.path.exists(pid_file), "the pid file is removed at exit")
        m = c.wait_for_membership([2], [2], timeout=TIMEOUT_S)
        print(f"daemonize: stopped by SIGTERM; node 2 alone in ring {m.ring_id}")


CASES = {
    "knet3": case_knet3,
    "knet5_two_links": case_knet5_two_links,
    "udpu3": case_udpu3,
    "udpu3_crypto": case_udpu3_crypto,
    "kill9": case_kill9,
    "sigterm": case_sigterm,
    "partition": case_partition,
    "loss20_udpu": case_loss20_udpu,
    "loss20_knet": case_loss20_knet,
    "idle20_udpu": case_idle20_udpu,
    "pload_knet": case_pload_knet,
    "bad_authkey": case_bad_authkey,
    "cluster_name_mismatch": case_cluster_name_mismatch,
    "nodelist_mismatch": case_nodelist_mismatch,
    "nodelist_superset": case_nodelist_superset,
    "blackbox": case_blackbox,
    "second_instance": case_second_instance,
    "startup_errors": case_startup_errors,
    "daemonize": case_daemonize,
}


if __name__ == "__main__":
    sys.exit(harness.run_cases(CASES, sys.argv[1:]))
