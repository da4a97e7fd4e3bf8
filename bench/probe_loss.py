#!/usr/bin/env python3
"""A probe for the loss points (not part of ./dev bench): 1 KiB, 3 nodes, every node sending,
knet with crypto, token 1000 ms, at each loss of LOSSES (default 0,5: % of what every node
receives, nftables), with knet's ping timers optionally set in corosync.conf's interface
section, on each engine of KINDS (default corosync,totemd).

    PING_TIMEOUT=2000 [PING_INTERVAL=250] [LOSSES=0,5] [KINDS=corosync,totemd] \\
        python3 bench/probe_loss.py [BIN_DIR]        (root; BIN_DIR: build/default/bin)

Prints msgs/s per point and how many memberships node 1 saw. Written to tell the link layer's
part from Totem's: at the default timers (knet_ping_timeout = token / knet_pong_count = 500 ms,
interval 250 ms) two lost ping/pong pairs in a row mark a link down, which at 5 % loss happens
within seconds and keeps the host unreachable past the token timeout.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402

tb = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "build", "default", "bin")
extra = {}
if os.environ.get("PING_TIMEOUT"):
    extra = {0: {"knet_ping_timeout": os.environ["PING_TIMEOUT"],
                 "knet_ping_interval": os.environ.get("PING_INTERVAL", "250")}}
for kind in os.environ.get("KINDS", "corosync,totemd").split(","):
    e = bl.Engine(kind, 3, True, 1000, os.path.join(tb, "totemd"), tb)
    e.c.interface_extra = extra
    with e:
        time.sleep(1)
        for loss in [int(x) for x in os.environ.get("LOSSES", "0,5").split(",")]:
            r = bl.cpg_point(e, 1024, 3, warmup=1.0, seconds=6.0, linger=0.4, loss=loss)
            print(f"{kind} {extra or 'default timers'} loss {loss} %: {r['msgs_s']} msgs/s "
                  f"(slowest node {r['msgs_s_min']}), TRY_AGAIN {r['try_again']}, "
                  f"load {r.get('load')}", flush=True)
        with open(e.c.nodes[1].log, errors="replace") as f:
            n = sum(1 for line in f if "A new membership" in line)
        print(f"{kind}: memberships at node 1: {n}", flush=True)
