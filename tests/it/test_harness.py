#!/usr/bin/env python3
"""Self-tests of the netns harness, with Debian's corosync 3.1.7 as the daemon — and the same
scenarios for totemd (--kind totemd, binary from --bin or $TOTEMD_BIN).

    python3 tests/it/test_harness.py [--kind corosync|totemd] [--bin PATH] CASE...
    CASE: knet3 kill9 partition udpu3 term badkey loss20 links2 (or all)

Each case builds its own cluster (token 1000 ms), prints the measured times and exits non-zero
on failure. They need root; ctest runs them one at a time (RESOURCE_LOCK netns).
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

TIMEOUT_S = 40
KIND = "corosync"
BIN = None


def Cluster(n, **kw):
    return harness.Cluster(n, kind=KIND, bin=BIN, **kw)


def case_knet3():
    """3 nodes, knet with aes256/sha256: one ring with every node."""
    with Cluster(3, transport="knet", crypto=True, token=1000) as c:
        t0 = time.time()
        m = c.wait_for_membership([1, 2, 3], [1, 2, 3], timeout=TIMEOUT_S)
        print(f"knet3: ring {m.ring_id} formed {m.time - t0:.3f}s after start")


def case_kill9():
    """kill -9 of node 3: nodes 1 and 2 form a new ring without it; a restart brings it back."""
    with Cluster(3, transport="knet", crypto=True, token=1000) as c:
        m = c.wait_for_membership([1, 2, 3], [1, 2, 3], timeout=TIMEOUT_S)
        t_kill = c.kill(3)
        m2 = c.wait_for_membership([1, 2], [1, 2], timeout=TIMEOUT_S, since=t_kill)
        assert m2.ring_id != m.ring_id
        print(f"kill9: kill -9 n3 -> ring {m2.ring_id} [1, 2] after {m2.time - t_kill:.3f}s")
        t_start = time.time()
        c.start([3])
        m3 = c.wait_for_membership([1, 2, 3], [1, 2, 3], timeout=TIMEOUT_S, since=t_start)
        print(f"kill9: restart n3 -> ring {m3.ring_id} after {m3.time - t_start:.3f}s")


def case_partition():
    """partition {1,2}|{3}: two rings; heal: one ring again."""
    with Cluster(3, transport="knet", crypto=True, token=1000) as c:
        c.wait_for_membership([1, 2, 3], [1, 2, 3], timeout=TIMEOUT_S)
        t_cut = c.partition([[1, 2], [3]])
        a = c.wait_for_membership([1, 2], [1, 2], timeout=TIMEOUT_S, since=t_cut)
        b = c.wait_for_membership([3], [3], timeout=TIMEOUT_S, since=t_cut)
        print(f"partition: {{1,2}} ring {a.ring_id} after {a.time - t_cut:.3f}s, "
              f"{{3}} ring {b.ring_id} after {b.time - t_cut:.3f}s")
        t_heal = c.heal()
        m = c.wait_for_membership([1, 2, 3], [1, 2, 3], timeout=TIMEOUT_S, since=t_heal)
        print(f"partition: heal -> ring {m.ring_id} after {m.time - t_heal:.3f}s")


def case_udpu3():
    """3 nodes on udpu without crypto (corosync refuses crypto on udpu)."""
    with Cluster(3, transport="udpu", crypto=False, token=1000) as c:
        t0 = time.time()
        m = c.wait_for_membership([1, 2, 3], [1, 2, 3], timeout=TIMEOUT_S)
        print(f"udpu3: ring {m.ring_id} formed {m.time - t0:.3f}s after start")


def case_term():
    """SIGTERM of node 3: corosync leaves cleanly (a LEAVE message), the others re-form at once."""
    with Cluster(3, transport="knet", crypto=True, token=1000) as c:
        c.wait_for_membership([1, 2, 3], [1, 2, 3], timeout=TIMEOUT_S)
        t = c.terminate(3)
        m = c.wait_for_membership([1, 2], [1, 2], timeout=TIMEOUT_S, since=t)
        print(f"term: SIGTERM n3 -> ring {m.ring_id} [1, 2] after {m.time - t:.3f}s")


def case_badkey():
    """Node 3 has another authkey: knet never connects it; 1 and 2 form a ring without it."""
    with Cluster(3, transport="knet", crypto=True, token=1000,
                         bad_key_nodes=[3]) as c:
        m = c.wait_for_membership([1, 2], [1, 2], timeout=TIMEOUT_S)
        m3 = c.wait_for_membership([3], [3], timeout=TIMEOUT_S)
        hits = c.quiet_for([1, 2], 5, pattern=r"Members joined: .*3")
        assert not hits, hits
        print(f"badkey: ring {m.ring_id} [1, 2]; n3 alone in {m3.ring_id}; 5 s without a join")


def case_loss20():
    """20 % random loss at every node (udpu, as ISSUE-NOTES asks: knet's own pings suffer too):
    the ring stays, or at worst re-forms; after heal all three are one ring again."""
    with Cluster(3, transport="udpu", crypto=False, token=1000) as c:
        m = c.wait_for_membership([1, 2, 3], [1, 2, 3], timeout=TIMEOUT_S)
        for i in (1, 2, 3):
            c.loss(i, 20)
        hits = c.quiet_for([1, 2, 3], 10, pattern=r"A new membership")
        dropped = {i: c.loss_dropped(i) for i in (1, 2, 3)}
        c.heal()
        m2 = c.wait_for_membership([1, 2, 3], [1, 2, 3], timeout=TIMEOUT_S)
        print(f"loss20: ring {m.ring_id}; 10 s of 20 % loss dropped {dropped} packets; "
              f"membership lines meanwhile: {len(hits)}; after heal ring {m2.ring_id}")
        for h in hits:
            print("   " + h)
        assert all(d > 0 for d in dropped.values()), dropped
        if KIND == "totemd":
            assert not hits, "the ring changed under 20 % loss"


def case_links2():
    """Two knet links: the ring forms; with link 0 cut at node 3 (nft) the ring of all three
    goes on over link 1."""
    with Cluster(3, transport="knet", crypto=True, token=1000,
                         links=2) as c:
        m = c.wait_for_membership([1, 2, 3], [1, 2, 3], timeout=TIMEOUT_S)
        t = c.link_down(3, 0)
        hits = c.quiet_for([1, 2, 3], 6, pattern=r"A new membership|link: 0 is down")
        memb = [h for h in hits if "A new membership" in h]
        down = [h for h in hits if "is down" in h]
        assert down, "knet did not notice link 0 going down"
        m2 = c.wait_for_membership([1, 2, 3], [1, 2, 3], timeout=TIMEOUT_S)
        calm = c.quiet_for([1, 2, 3], 3, pattern=r"A new membership")
        # corosync with token 1000 ms: knet's ping timeout (token / 2) is close to the token,
        # so the switch to link 1 can cost one membership change (a node leaves and rejoins).
        print(f"links2: ring {m.ring_id}; link 0 of n3 cut: {len(down)} link-down lines, "
              f"{len(memb)} membership lines, ring {m2.ring_id} with all three "
              f"{m2.time - t:.3f}s after the cut")
        assert not calm, calm


CASES = {"knet3": case_knet3, "kill9": case_kill9, "partition": case_partition,
         "udpu3": case_udpu3, "term": case_term, "badkey": case_badkey, "loss20": case_loss20,
         "links2": case_links2}


def main() -> int:
    if os.geteuid() != 0:
        print("SKIP: needs root (network namespaces)")
        return 77
    global KIND, BIN
    args = sys.argv[1:]
    while args and args[0].startswith("--"):
        opt = args.pop(0)
        if opt == "--kind":
            KIND = args.pop(0)
        elif opt == "--bin":
            BIN = args.pop(0)
        else:
            print(f"unknown option {opt}")
            return 2
    names = args or ["all"]
    if names == ["all"]:
        names = list(CASES)
    if KIND == "totemd" and not harness.find_totemd(BIN):
        print("SKIP: totemd binary not found (--bin or TOTEMD_BIN)")
        return 77
    harness.cleanup_stale()
    for n in names:
        CASES[n]()
    return 0


if __name__ == "__main__":
    sys.exit(main())
