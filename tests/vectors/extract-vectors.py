#!/usr/bin/env python3
"""Turns a capture of a corosync udpu ring (capture-corosync.sh) into golden vectors.

Usage: extract-vectors.py CAPTURE.pcap OUTDIR

Reads every UDP datagram on port 5405 with tshark, decodes it with the small decoder below
(written from shared/spec/totem-wire.md §1-3, independently of engine/totem/wire.cpp), prints a
summary (packets and sizes of each type), and writes one OUTDIR/<name>.txt per chosen packet:

    # comment lines (source frame, addresses)
    hex = <the datagram>
    <field> = <value>        one line per decoded field, in wire order

Values are decimal (signed for the i32 fields), lists are space-separated, list items of
records are spelled out as name[i].field. tests/unit/wire/vectors_test.cpp renders our decoder's
result the same way and compares line by line, then re-encodes and compares the bytes.
"""
import collections
import struct
import subprocess
import sys

TYPES = ["orf_token", "mcast", "merge_detect", "join", "commit_token", "token_hold_cancel"]


class Cut:
    def __init__(self, data, endian):
        self.data, self.pos, self.e = data, 0, endian

    def get(self, fmt):
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.data):
            raise ValueError("short")
        (v,) = struct.unpack_from(self.e + fmt, self.data, self.pos)
        self.pos += size
        return v


def decode(b, prefix=""):
    """Returns [(key, value)] for one datagram; raises ValueError when malformed."""
    if len(b) < 13:
        raise ValueError("short")
    if b[0:2] == b"\x70\xc0":
        c = Cut(b, "<")
    elif b[0:2] == b"\xc0\x70":
        c = Cut(b, ">")
    else:
        raise ValueError("magic")
    f = []

    def put(k, v):
        f.append((prefix + k, v))

    c.get("H")
    if c.get("B") != 3:
        raise ValueError("version")
    t = c.get("B")
    if t > 5:
        raise ValueError("type")
    put("type", TYPES[t])
    put("header.encapsulated", c.get("B"))
    put("header.nodeid", c.get("I"))
    put("header.target_nodeid", c.get("I"))

    def ring(name):
        put(name + ".rep", c.get("I"))
        put(name + ".seq", c.get("Q"))

    if t == 0:
        for k in ("seq", "token_seq", "aru", "aru_addr"):
            put(k, c.get("I"))
        ring("ring_id")
        put("backlog", c.get("I"))
        put("fcc", c.get("I"))
        put("retrans_flg", c.get("i"))
        n = c.get("i")
        put("rtr_list.size", n)
        for i in range(n):
            ring("rtr_list[%d].ring_id" % i)
            put("rtr_list[%d].seq" % i, c.get("I"))
    elif t == 1:
        put("system_from", c.get("I"))
        put("seq", c.get("I"))
        put("this_seqno", c.get("i"))
        ring("ring_id")
        put("node_id", c.get("I"))
        put("guarantee", c.get("i"))
        payload = b[45:]
        c.pos = len(b)
        put("payload.size", len(payload))
        if b[4] == 1:  # encapsulated: the payload is a whole old-ring MCAST
            f.extend(decode(payload, prefix + "inner."))
    elif t == 2:
        put("system_from", c.get("I"))
        ring("ring_id")
    elif t == 3:
        put("system_from", c.get("I"))
        p = c.get("I")
        n = c.get("I")
        put("ring_seq", c.get("Q"))
        put("proc_list", " ".join(str(c.get("I")) for _ in range(p)))
        put("failed_list", " ".join(str(c.get("I")) for _ in range(n)))
    elif t == 4:
        put("token_seq", c.get("I"))
        ring("ring_id")
        put("retrans_flg", c.get("I"))
        put("memb_index", c.get("i"))
        n = c.get("i")
        put("addr", " ".join(str(c.get("I")) for _ in range(n)))
        for i in range(n):
            ring("memb_list[%d].ring_id" % i)
            put("memb_list[%d].aru" % i, c.get("I"))
            put("memb_list[%d].high_delivered" % i, c.get("I"))
            put("memb_list[%d].received_flg" % i, c.get("I"))
    elif t == 5:
        ring("ring_id")
    if c.pos != len(b):
        raise ValueError("%d trailing bytes" % (len(b) - c.pos))
    return f


def main():
    pcap, outdir = sys.argv[1], sys.argv[2]
    rows = subprocess.run(
        ["tshark", "-r", pcap, "-Y", "udp.dstport == 5405", "-T", "fields",
         "-e", "frame.number", "-e", "frame.time_relative", "-e", "ip.src", "-e", "ip.dst",
         "-e", "udp.payload"],
        check=True, capture_output=True, text=True).stdout.splitlines()
    packets = []
    for row in rows:
        cols = row.split("\t")
        if len(cols) < 5 or not cols[4]:
            continue  # an IP fragment; tshark shows the reassembled datagram in a later frame
        packets.append((int(cols[0]), float(cols[1]), cols[2], cols[3], bytes.fromhex(cols[4])))

    count = collections.Counter()
    sizes = collections.defaultdict(collections.Counter)
    bad = collections.Counter()
    endian = collections.Counter()
    decoded = []
    for p in packets:
        b = p[4]
        try:
            fields = decode(b)
        except ValueError as e:
            bad[str(e)] += 1
            continue
        d = dict(fields)
        kind = d["type"]
        if kind == "mcast":
            kind += "/encapsulated=%d" % d["header.encapsulated"]
        if kind == "join" and d["header.nodeid"] == 0:
            kind = "join/leave"
        if kind == "orf_token" and d["rtr_list.size"] > 0:
            kind = "orf_token/rtr"
        count[kind] += 1
        sizes[kind][len(b)] += 1
        endian["little" if b[0:2] == b"\x70\xc0" else "big"] += 1
        decoded.append((p, fields, d, kind))

    print("datagrams: %d decoded, %d refused %s; byte order %s"
          % (len(decoded), sum(bad.values()), dict(bad), dict(endian)))
    for kind in sorted(count):
        sz = sizes[kind]
        print("  %-28s %6d  sizes %s" % (kind, count[kind],
              ", ".join("%d×%d" % (s, n) for s, n in sorted(sz.items())[:12])
              + (" …" if len(sz) > 12 else "")))

    def first(pred):
        for item in decoded:
            if pred(item[2], item[0][4]):
                return item
        return None

    def most(pred, key):
        best = None
        for item in decoded:
            if pred(item[2], item[0][4]) and (best is None or key(item[2]) > key(best[2])):
                best = item
        return best

    choices = [
        ("join_formation", first(lambda d, b: d["type"] == "join" and d["header.nodeid"] != 0)),
        ("join_three", first(lambda d, b: d["type"] == "join" and d["header.nodeid"] != 0
                             and len(d["proc_list"].split()) == 3)),
        ("join_with_failed", first(lambda d, b: d["type"] == "join" and d["header.nodeid"] != 0
                                   and d["failed_list"] != "")),
        ("join_leave", first(lambda d, b: d["type"] == "join" and d["header.nodeid"] == 0)),
        ("commit_token_first", first(lambda d, b: d["type"] == "commit_token")),
        ("commit_token_filled", most(lambda d, b: d["type"] == "commit_token",
                                     lambda d: (len(d["addr"].split()), d["memb_index"]))),
        ("orf_token_initial", first(lambda d, b: d["type"] == "orf_token"
                                    and d["aru"] == 0xFFFFFFFF)),
        ("orf_token_idle", first(lambda d, b: d["type"] == "orf_token" and d["seq"] > 0
                                 and d["rtr_list.size"] == 0 and d["aru"] == d["seq"])),
        ("orf_token_rtr", most(lambda d, b: d["type"] == "orf_token",
                               lambda d: d["rtr_list.size"])),
        ("mcast_first", first(lambda d, b: d["type"] == "mcast")),
        ("mcast_cpg", first(lambda d, b: d["type"] == "mcast" and b"tw\0" in b)),
        ("mcast_encapsulated", first(lambda d, b: d["type"] == "mcast"
                                     and d["header.encapsulated"] == 1)),
        ("mcast_largest", most(lambda d, b: d["type"] == "mcast", lambda d: d["payload.size"])),
        ("merge_detect", first(lambda d, b: d["type"] == "merge_detect")),
        ("token_hold_cancel", first(lambda d, b: d["type"] == "token_hold_cancel")),
    ]
    for name, item in choices:
        if item is None:
            print("  (no packet for %s)" % name)
            continue
        (frame, t, src, dst, b), fields, _, _ = item
        with open("%s/%s.txt" % (outdir, name), "w") as out:
            out.write("# corosync 3.1.7 (Debian), transport udpu, 3 nodes: tests/vectors/"
                      "capture-corosync.sh\n")
            out.write("# frame %d at %.6f s, %s -> %s, %d bytes\n" % (frame, t, src, dst, len(b)))
            out.write("hex = %s\n" % b.hex())
            for k, v in fields:
                out.write("%s = %s\n" % (k, v))
        print("  wrote %s.txt (frame %d, %d bytes)" % (name, frame, len(b)))


if __name__ == "__main__":
    main()
