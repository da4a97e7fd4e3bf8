#!/usr/bin/env python3
"""Extracts the service (exec) and sync messages from a capture of a corosync udpu ring.

Usage: extract-exec.py CAPTURE.pcap OUTDIR [STAMP]

Reads every Totem MCAST (tshark, udp port 5405), keeps one copy of each (udpu sends a
broadcast as one unicast per member), orders them by ring and sequence number, reassembles the
totempg packets per originator (shared/spec/totem-wire.md §6.1, §6.4; written here
independently of engine/totem/totempg.cpp), splits off the group header (§6.2) and writes the
messages of group "a" (service exec messages, id = service << 16 | fn) and group "sync" (id 0
BARRIER, 1 SERVICE_BUILD) as OUTDIR/<service>/<message>.txt, a few distinct examples each:

    # <description>
    a cpg <message> ; sender=2 ring=1.1c seq=41 frame=1234

The context after ';' is what the capture knew besides the message: the originator, the ring
and sequence number of the MCAST that carried (the last piece of) it. A long tail of the test
pattern and runs of zeros are abbreviated (vecfmt.py).
"""
import collections
import os
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vecfmt  # noqa: E402

SERVICES = {0: "cmap", 1: "cfg", 2: "cpg", 3: "quorum", 4: "pload", 5: "votequorum", 6: "mon",
            7: "wd"}
FUNCTIONS = {
    0: ["mcast"],
    1: ["ringreenable", "killnode", "shutdown", "reload_config", "crypto_reconfig"],
    2: ["procjoin", "procleave", "joinlist", "mcast", "downlist_old", "downlist", "partial_mcast"],
    4: ["start", "mcast"],
    5: ["nodeinfo", "reconfigure", "qdevice_reg", "qdevice_reconfigure"],
}
SYNC = {0: "barrier", 1: "service_build"}
EXAMPLES_MAX = 6


def read_mcasts(pcap):
    rows = subprocess.run(
        ["tshark", "-r", pcap, "-Y", "udp.dstport == 5405", "-T", "fields",
         "-e", "frame.number", "-e", "udp.payload"],
        check=True, capture_output=True, text=True).stdout.splitlines()
    seen = {}
    rings = {}
    for row in rows:
        cols = row.split("\t")
        if len(cols) < 2 or not cols[1]:
            continue
        b = bytes.fromhex(cols[1])
        if len(b) < 45 or b[0:2] != b"\x70\xc0" or b[2] != 3 or b[3] != 1:
            continue  # not a little-endian MCAST
        if b[4] != 2:
            continue  # encapsulated RECOVERY copy: its inner message was seen on its own ring
        nodeid, = struct.unpack_from("<I", b, 5)
        seq, = struct.unpack_from("<I", b, 17)
        rep, ring_seq = struct.unpack_from("<IQ", b, 25)
        key = (rep, ring_seq, seq)
        if key in seen:
            continue
        rings.setdefault((rep, ring_seq), len(rings))
        seen[key] = (int(cols[0]), nodeid, b[45:])
    order = sorted(seen, key=lambda k: (rings[(k[0], k[1])], k[2]))
    # Every ring numbers its messages 1, 2, 3 ...: a hole is a packet the capture lost.
    per_ring = collections.defaultdict(list)
    for k in order:
        per_ring[(k[0], k[1])].append(k[2])
    missing = sum(max(s) - min(s) + 1 - len(s) for s in per_ring.values())
    if missing:
        print("  WARNING: %d MCASTs missing from the capture (holes in the sequence numbers)"
              % missing)
    return [(k, *seen[k]) for k in order]


def reassemble(mcasts):
    """Yields (ring key, frame, originator, application message) in delivery order."""
    partial = {}  # originator -> (last fragment number, bytes so far)
    bad = collections.Counter()
    for key, frame, origin, pkt in mcasts:
        if len(pkt) < 8:
            bad["short"] += 1
            continue
        fragmented, continuation, count = pkt[4], pkt[5], struct.unpack_from("<H", pkt, 6)[0]
        lens = struct.unpack_from("<%dH" % count, pkt, 8)
        pos = 8 + 2 * count
        if pos + sum(lens) != len(pkt):
            bad["length"] += 1
            continue
        parts = []
        for n in lens:
            parts.append(pkt[pos:pos + n])
            pos += n
        if continuation:
            held = partial.pop(origin, None)
            if held is None or held[0] != continuation:
                bad["continuation without its start"] += 1
                parts = parts[1:]  # the start was not captured
                if not parts:
                    continue
            else:
                parts[0] = held[1] + parts[0]
        elif partial.pop(origin, None) is not None:
            bad["message without its end"] += 1
        if fragmented:
            partial[origin] = (fragmented, parts[-1])
            parts = parts[:-1]
        for p in parts:
            yield key, frame, origin, p
    if bad:
        print("  totempg: %s" % dict(bad))


def split_groups(msg):
    count, = struct.unpack_from("<H", msg, 0)
    lens = struct.unpack_from("<%dH" % count, msg, 2)
    pos = 2 + 2 * count
    names = []
    for n in lens:
        names.append(msg[pos:pos + n].decode())
        pos += n
    return names, msg[pos:]


def main():
    pcap, outdir = sys.argv[1], sys.argv[2]
    stamp = sys.argv[3] if len(sys.argv) > 3 else ""
    mcasts = read_mcasts(pcap)
    print("  %d distinct MCASTs" % len(mcasts))
    found = collections.defaultdict(list)
    sizes = collections.defaultdict(collections.Counter)
    for key, frame, origin, msg in reassemble(mcasts):
        groups, payload = split_groups(msg)
        if len(payload) < 16:
            print("  short message in %s from %d" % (groups, origin))
            continue
        mid, = struct.unpack_from("<i", payload, 0)
        if groups == ["sync"]:
            name = ("sync", SYNC.get(mid, "unknown_%d" % mid))
            group = "sync"
        elif groups == ["a"]:
            svc, fn = mid >> 16, mid & 0xFFFF
            fns = FUNCTIONS.get(svc, [])
            name = (SERVICES.get(svc, "service%d" % svc),
                    fns[fn] if fn < len(fns) else "fn%d" % fn)
            group = "a"
        else:
            print("  message for groups %s" % groups)
            continue
        sizes[name][len(payload)] += 1
        found[name].append((group, key, frame, origin, payload))
    total = 0
    for name in sorted(found):
        msgs = found[name]
        chosen, seen_bytes, seen_sizes = [], set(), set()
        for m in msgs:  # first: one of each size
            if len(m[4]) not in seen_sizes and m[4] not in seen_bytes:
                chosen.append(m)
                seen_sizes.add(len(m[4]))
                seen_bytes.add(m[4])
        for m in msgs:  # then other distinct contents
            if len(chosen) >= EXAMPLES_MAX:
                break
            if m[4] not in seen_bytes:
                chosen.append(m)
                seen_bytes.add(m[4])
        chosen = sorted(chosen[:EXAMPLES_MAX], key=lambda m: m[2])
        d = os.path.join(outdir, name[0])
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, name[1] + ".txt"), "w") as out:
            out.write("# %s %s: %d seen in the capture, %d distinct examples here\n"
                      % (name[0], name[1], len(msgs), len(chosen)))
            out.write("# captured by tests/vectors/capture-services.py %s\n" % stamp)
            for group, key, frame, origin, payload in chosen:
                line = "%s %s %s" % (group, name[0], vecfmt.to_text(payload))
                line += " ; sender=%d ring=%x.%x seq=%d frame=%d" % (origin, key[0], key[1],
                                                                    key[2], frame)
                out.write(line + "\n")
        total += len(chosen)
        print("  %-28s %5d seen, sizes %s" % ("/".join(name), len(msgs),
              ", ".join("%d×%d" % (s, n) for s, n in sorted(sizes[name].items())[:8])))
    print("  %d exec vectors written" % total)


if __name__ == "__main__":
    main()
