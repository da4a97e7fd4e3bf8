#!/usr/bin/env python3
"""totemd's transports against Debian's corosync 3.1.7, before the daemon exists.

    python3 tests/it/test_transport_wire.py --probe BUILD/bin/totem-transport-probe CASE
    CASE: knet_crypto (knet, nss aes256/sha256, one authkey) or udpu (no crypto)

Nodes 1 and 2 run corosync; node 3 runs totem-transport-probe (transport/ configured as
totemd will configure it), which only listens. Passing means, on the real wire:
  knet:  corosync's knet brings its link to host 3 up (pings/pongs authenticate with our crypto
         set-up) and logs it; the probe sees hosts 1 and 2 reachable and receives corosync's
         broadcasts (JOIN / MERGE_DETECT, decrypted, through the destination filter), and no
         unicast token that was meant for another node.
  udpu:  the probe receives corosync's udpu datagrams (Totem magic, from both nodes).
"""

import argparse
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

PROBE_S = 8


def run_case(probe, case):
    knet = case == "knet_crypto"
    with harness.Cluster(3, kind=["corosync", "corosync", "external"],
                         transport="knet" if knet else "udpu", crypto=knet, token=1000,
                         quorum=False) as c:
        c.wait_for_membership([1, 2], [1, 2], timeout=30)
        argv = [probe, "--nodeid", "3", "--transport", "knet" if knet else "udpu",
                "--token", "1000", "--seconds", str(PROBE_S)]
        for i in (1, 2, 3):
            argv += ["--node", f"{i}={c.addr(i, 0)}"]
        if knet:
            argv += ["--crypto", "--keyfile", c.nodes[3].key]
        t0 = time.time()
        p = c.spawn(3, argv)
        out, _ = p.communicate(timeout=PROBE_S + 20)
        lines = out.splitlines()
        summary = next((l for l in lines if l.startswith("summary ")), "")
        print(f"{case}: probe exit {p.returncode}; {summary}")
        if p.returncode != 0:
            print(out)
            raise AssertionError("probe failed")
        rx = [l for l in lines if l.startswith("rx ")]
        magics = {re.search(r"magic=(\w+)", l).group(1) for l in rx}
        senders = {int(re.search(r"from=(\d+)", l).group(1)) for l in rx}
        types = {int(re.search(r"type=(-?\d+)", l).group(1)) for l in rx}
        print(f"{case}: received {len(rx)} datagrams, types {sorted(types)}, "
              f"senders {sorted(senders)}, magics {sorted(magics)}")
        assert rx, "no datagram from corosync reached the probe"
        assert magics == {"70c0"}, f"not Totem datagrams: {magics}"
        assert senders <= {1, 2}, senders
        # ORF tokens (type 0) are unicast between 1 and 2: the filter must keep them from us.
        if knet:
            assert 0 not in types, "a token addressed to another node was delivered"
            reach = {int(m.group(1)) for l in lines if (m := re.match(r"reachable (\d+) 1", l))}
            assert {1, 2, 3} <= reach, f"reachable: {reach}"
            for i in (1, 2):
                c.poll()
                up = c.nodes[i].watcher.grep(r"host: 3 .*link: 0 is up")
                assert up, f"corosync node {i} never saw its link to the probe come up"
                print(f"{case}: corosync n{i}: {up[0].split('] ', 1)[-1]}")
        print(f"{case}: ok in {time.time() - t0:.1f}s")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--probe", required=True)
    ap.add_argument("case", choices=["knet_crypto", "udpu"])
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("SKIP: needs root (network namespaces)")
        return 77
    harness.cleanup_stale()
    run_case(a.probe, a.case)
    return 0


if __name__ == "__main__":
    sys.exit(main())
