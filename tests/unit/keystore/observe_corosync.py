#!/usr/bin/env python3
"""Observes Debian's corosync 3.1.7 cmap key store, for tests/unit/keystore/keystore_test.cpp.

Not run by ctest (it needs root and network namespaces). Run as root from the worktree:

    python3 tests/unit/keystore/observe_corosync.py            > observed.txt

It starts one corosync in a namespace (tests/it/harness.py, Cluster(1, kind="corosync")) and
  1. drives corosync-cmapctl: `-s` of every type, `-g`, `-q -g`, `-b -g`, prefix listings with
     and without `-b`, and bad sets/gets/deletes (exact stdout, stderr and exit status);
  2. runs this file again inside the node ("probe" mode), which talks to the daemon through
     Debian's libcmap with ctypes, to see what the tool cannot send: wrong integer widths,
     the STRING length rules, the 16 384-byte limit, the order of the checks, GET capacities,
     ADJUST wrap-around per type, iteration order and iteration while keys change, and the
     notifications (which, in what order, with which old/new values), including the
     fast_inc counters (a libcpg join bumps runtime.services.cpg.*.tx/rx).
Every line printed is "<label>: <observation>"; the unit tests quote the labels.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))

CS = {1: "OK", 2: "LIBRARY", 6: "TRY_AGAIN", 7: "INVALID_PARAM", 9: "BAD_HANDLE", 10: "BUSY",
      11: "ACCESS", 12: "NOT_EXIST", 13: "NAME_TOO_LONG", 14: "EXIST", 19: "NOT_SUPPORTED",
      27: "NO_SECTIONS"}
T = {"i8": 1, "u8": 2, "i16": 3, "u16": 4, "i32": 5, "u32": 6, "i64": 7, "u64": 8, "flt": 9,
     "dbl": 10, "str": 11, "bin": 12}


def cs(err: int) -> str:
    return CS.get(err, str(err))


# ------------------------------------------------------------------------------ probe (in node)

class NotifyValue(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("len", ctypes.c_size_t), ("data", ctypes.c_void_p)]


NOTIFY_FN = ctypes.CFUNCTYPE(None, ctypes.c_uint64, ctypes.c_uint64, ctypes.c_int32,
                             ctypes.c_char_p, NotifyValue, NotifyValue, ctypes.c_void_p)


class Cmap:
    def __init__(self, stats: bool = False):
        self.lib = ctypes.CDLL("libcmap.so.4")
        L = self.lib
        L.cmap_initialize.argtypes = [ctypes.POINTER(ctypes.c_uint64)]
        L.cmap_set.argtypes = [ctypes.c_uint64, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_size_t,
                               ctypes.c_int]
        L.cmap_get.argtypes = [ctypes.c_uint64, ctypes.c_char_p, ctypes.c_void_p,
                               ctypes.POINTER(ctypes.c_size_t), ctypes.POINTER(ctypes.c_int)]
        L.cmap_delete.argtypes = [ctypes.c_uint64, ctypes.c_char_p]
        L.cmap_iter_init.argtypes = [ctypes.c_uint64, ctypes.c_char_p,
                                     ctypes.POINTER(ctypes.c_uint64)]
        L.cmap_iter_next.argtypes = [ctypes.c_uint64, ctypes.c_uint64, ctypes.c_char_p,
                                     ctypes.POINTER(ctypes.c_size_t), ctypes.POINTER(ctypes.c_int)]
        L.cmap_iter_finalize.argtypes = [ctypes.c_uint64, ctypes.c_uint64]
        L.cmap_track_add.argtypes = [ctypes.c_uint64, ctypes.c_char_p, ctypes.c_int32, NOTIFY_FN,
                                     ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint64)]
        L.cmap_track_delete.argtypes = [ctypes.c_uint64, ctypes.c_uint64]
        L.cmap_dispatch.argtypes = [ctypes.c_uint64, ctypes.c_int]
        self.h = ctypes.c_uint64()
        L.cmap_initialize_map.argtypes = [ctypes.POINTER(ctypes.c_uint64), ctypes.c_int]
        err = L.cmap_initialize_map(ctypes.byref(self.h), 1 if stats else 0)
        if err != 1:
            raise RuntimeError(f"cmap_initialize: {cs(err)}")
        self.events: list[str] = []
        self.cb = NOTIFY_FN(self._notify)
        # libcmap has only cmap_inc/cmap_dec (ADJUST_INT with ±1): any other step goes through
        # a raw libqb connection with a hand-made ADJUST_INT request (spec A3.2: 288 bytes;
        # mar_name_t: length u16 @0, value @8).
        self.qb = ctypes.CDLL("libqb.so.100")
        self.qb.qb_ipcc_connect.restype = ctypes.c_void_p
        self.qb.qb_ipcc_connect.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
        self.qb.qb_ipcc_send.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
        self.qb.qb_ipcc_send.restype = ctypes.c_ssize_t
        self.qb.qb_ipcc_recv.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t,
                                         ctypes.c_int32]
        self.qb.qb_ipcc_recv.restype = ctypes.c_ssize_t
        self.raw = self.qb.qb_ipcc_connect(b"cmap", 1048576)
        if not self.raw:
            raise RuntimeError("qb_ipcc_connect(cmap) failed")
        if stats:  # SET_CURRENT_MAP (id 9, 24 bytes: map i32 @16) on the raw connection too
            import struct
            req = ctypes.create_string_buffer(struct.pack("<iiiiii", 9, 24, 0, 0, 1, 0), 24)
            res = ctypes.create_string_buffer(24)
            if (self.qb.qb_ipcc_send(self.raw, req, 24) != 24
                    or self.qb.qb_ipcc_recv(self.raw, res, 24, 5000) != 24
                    or struct.unpack("<iiiiii", res.raw)[4] != 1):
                raise RuntimeError("SET_CURRENT_MAP(stats) failed")

    def _notify(self, _h, _th, event, key, new, old, user):
        def val(v):
            if v.type == 0 and v.len == 0:
                return "-"
            raw = ctypes.string_at(v.data, v.len) if v.len else b""
            return f"{v.type}/{v.len}/{raw.hex()}"
        ev = {1: "DELETE", 2: "MODIFY", 4: "ADD"}.get(event, str(event))
        self.events.append(f"t{user} {ev} {key.decode()} new={val(new)} old={val(old)}")

    def set(self, key: str, raw: bytes, typ: int, length=None) -> str:
        buf = ctypes.create_string_buffer(raw, max(len(raw), 1))
        n = len(raw) if length is None else length
        return cs(self.lib.cmap_set(self.h, key.encode(), buf, n, typ))

    def get(self, key: str, cap: int):
        """cap 0 asks size/type only (value NULL)."""
        n = ctypes.c_size_t(cap)
        t = ctypes.c_int(0)
        if cap == 0:
            err = self.lib.cmap_get(self.h, key.encode(), None, ctypes.byref(n), ctypes.byref(t))
            return cs(err), n.value, t.value, b""
        buf = ctypes.create_string_buffer(cap)
        err = self.lib.cmap_get(self.h, key.encode(), buf, ctypes.byref(n), ctypes.byref(t))
        return cs(err), n.value, t.value, buf.raw[:n.value] if err == 1 else b""

    def delete(self, key: str) -> str:
        return cs(self.lib.cmap_delete(self.h, key.encode()))

    def adjust(self, key: str, step: int) -> str:
        import struct
        k = key.encode()
        req = struct.pack("<iiii", 3, 288, 0, 0) + struct.pack("<H6x", len(k)) + k.ljust(256, b"\0")
        req = req.ljust(280, b"\0") + struct.pack("<i", step) + b"\0" * 4
        assert len(req) == 288
        buf = ctypes.create_string_buffer(req, 288)
        if self.qb.qb_ipcc_send(self.raw, buf, 288) != 288:
            return "send failed"
        res = ctypes.create_string_buffer(24)
        if self.qb.qb_ipcc_recv(self.raw, res, 24, 5000) != 24:
            return "recv failed"
        rid, _, size, _, err, _ = struct.unpack("<iiiiii", res.raw)
        assert rid == 3 and size == 24, (rid, size)
        return cs(err)

    def iter_init(self, prefix):
        it = ctypes.c_uint64()
        err = self.lib.cmap_iter_init(self.h, prefix.encode() if prefix is not None else None,
                                      ctypes.byref(it))
        return cs(err), it.value

    def iter_next(self, it: int):
        key = ctypes.create_string_buffer(256)
        n = ctypes.c_size_t()
        t = ctypes.c_int()
        err = self.lib.cmap_iter_next(self.h, it, key, ctypes.byref(n), ctypes.byref(t))
        return cs(err), key.value.decode(), n.value, t.value

    def track(self, key, bits: int, user: int):
        th = ctypes.c_uint64()
        err = self.lib.cmap_track_add(self.h, key.encode() if key is not None else None, bits,
                                      self.cb, ctypes.c_void_p(user), ctypes.byref(th))
        return cs(err), th.value

    def untrack(self, th: int) -> str:
        return cs(self.lib.cmap_track_delete(self.h, th))

    def drain(self) -> list[str]:
        time.sleep(0.2)
        self.lib.cmap_dispatch(self.h, 2)  # CS_DISPATCH_ALL: whatever is queued
        out, self.events = self.events, []
        return out


def le(v: int, n: int) -> bytes:
    return (v % (1 << (8 * n))).to_bytes(n, "little")


def probe() -> int:
    import struct
    c = Cmap()
    p = lambda label, *v: print(f"{label}: " + " ".join(str(x) for x in v), flush=True)  # noqa

    # --- SET: widths, strings, limits, order of checks
    widths = {"i8": 1, "u8": 1, "i16": 2, "u16": 2, "i32": 4, "u32": 4, "i64": 8, "u64": 8,
              "flt": 4, "dbl": 8}
    for name, w in widths.items():
        p(f"set.width.{name}.exact", c.set(f"pr.w.{name}", b"\x01" * w, T[name]))
        p(f"set.width.{name}.short", c.set(f"pr.w.{name}", b"\x01" * (w - 1), T[name]))
        p(f"set.width.{name}.long", c.set(f"pr.w.{name}", b"\x01" * (w + 1), T[name]))
        p(f"set.width.{name}.get", *c.get(f"pr.w.{name}", 16)[:3])
    p("set.type.0", c.set("pr.t0", b"x", 0))
    p("set.type.13", c.set("pr.t13", b"x", 13))
    p("set.type.13.get", *c.get("pr.t13", 16)[:3])
    # an unknown type with an empty value passes icmap_check_value_len (its width is 0)
    p("set.type.0.len0", c.set("pr.t0z", b"", 0), *c.get("pr.t0z", 0)[:3], c.delete("pr.t0z"))
    p("set.type.13.len0", c.set("pr.t13z", b"", 13), *c.get("pr.t13z", 0)[:3],
      c.delete("pr.t13z"))
    for label, raw, n in [("nonul", b"abc", 3), ("withnul", b"abc\x00", 4), ("short", b"abcdef", 2),
                          ("empty", b"", 0), ("embedded", b"ab\x00cd", 5),
                          ("embedded_cut", b"ab\x00cd", 3), ("nul_only", b"\x00", 1)]:
        r = c.set(f"pr.s.{label}", raw, T["str"], n)
        g = c.get(f"pr.s.{label}", 64)
        p(f"set.str.{label}", r, "get", g[0], g[1], g[3].hex())
    p("set.bin.16384", c.set("pr.b.max", b"\xab" * 16384, T["bin"]))
    p("set.bin.16385", c.set("pr.b.over", b"\xab" * 16385, T["bin"]))
    p("set.str.16385", c.set("pr.s.over", b"a" * 16385, T["str"]))
    p("set.bin.empty", c.set("pr.b.empty", b"", T["bin"]), *c.get("pr.b.empty", 0)[:3])
    p("set.name.2chars", c.set("ab", b"x", T["str"]))
    p("set.name.3chars", c.set("abc", b"x", T["str"]))
    p("set.name.space", c.set("pr.a b", b"x", T["str"]))
    p("set.name.255", c.set("pr." + "x" * 252, b"x", T["str"]))
    p("set.name.256", c.set("pr." + "x" * 253, b"x", T["str"]))
    for ch in "._/:-+@#*!é":
        p(f"set.name.char[{ch}]", c.set(f"pr.c{ch}x", b"x", T["str"]))
    p("set.order.badname_badwidth", c.set("pr bad", b"\x01\x02", T["u8"]))
    p("set.order.ro_badwidth", c.set("totem.cluster_name", b"\x01\x02", T["u8"]))
    p("set.order.ro_badname", c.set("nodelist.a b", b"x", T["str"]))
    p("set.ro.totem.cluster_name", c.set("totem.cluster_name", b"x", T["str"]))
    p("set.ro.nodelist.new", c.set("nodelist.new.key", b"x", T["str"]))
    p("set.ro.runtime.totem.x", c.set("runtime.totem.x", b"x", T["str"]))
    p("set.ro.quorum.wait_for_all", c.set("quorum.wait_for_all", b"\x01", T["u8"]))
    p("set.ro.totem.token(not ro)", c.set("totem.token", struct.pack("<I", 3000), T["u32"]))
    p("set.ro.nodelistx(not ro)", c.set("nodelistx.a", b"x", T["str"]))

    # --- GET
    c.set("pr.g", b"hello", T["str"])
    p("get.missing", *c.get("pr.g.missing", 16)[:3])
    p("get.cap0", *c.get("pr.g", 0)[:3])
    p("get.cap5", *c.get("pr.g", 5)[:3])
    p("get.cap6", *c.get("pr.g", 6)[:3])
    p("get.cap100", *c.get("pr.g", 100)[:3])

    # --- DELETE
    p("delete.missing", c.delete("pr.d.missing"))
    p("delete.ro.missing", c.delete("nodelist.d.missing"))
    c.set("pr.d", b"x", T["str"])
    p("delete.ok", c.delete("pr.d"), "again", c.delete("pr.d"))

    # --- ADJUST: wrap per type, errors
    cases = [("u8", 255, 1), ("u8", 0, -1), ("u8", 10, 300), ("i8", 127, 1), ("i8", -128, -1),
             ("u16", 65535, 1), ("i16", 32767, 1), ("u32", 0xFFFFFFFF, 1), ("i32", 0x7FFFFFFF, 1),
             ("u64", 0xFFFFFFFFFFFFFFFF, 1), ("u64", 0, -2147483648),
             ("i64", 0x7FFFFFFFFFFFFFFF, 1), ("u32", 5, 2147483647)]
    for name, start, step in cases:
        w = widths[name]
        key = f"pr.adj.{name}"
        c.set(key, le(start, w), T[name])
        r = c.adjust(key, step)
        g = c.get(key, 16)
        p(f"adjust.{name}.{start}.{step}", r, g[3].hex())
    c.set("pr.adj.flt", struct.pack("<f", 1.0), T["flt"])
    c.set("pr.adj.dbl", struct.pack("<d", 1.0), T["dbl"])
    c.set("pr.adj.str", b"1", T["str"])
    c.set("pr.adj.bin", b"\x01", T["bin"])
    for name in ("flt", "dbl", "str", "bin"):
        p(f"adjust.{name}", c.adjust(f"pr.adj.{name}", 1))
    p("adjust.missing", c.adjust("pr.adj.missing", 1))
    p("adjust.ro", c.adjust("runtime.config.totem.token", 1))

    # --- iteration order (plain string prefix, byte order)
    for k in ["pr.it.a", "pr.it.B", "pr.it.a.b", "pr.it.a-b", "pr.it.a_b", "pr.it.a/b",
              "pr.it.a:b", "pr.it.0", "pr.it.ab", "pr.itx", "pr.it.Z"]:
        c.set(k, b"v", T["str"])
    r, it = c.iter_init("pr.it")
    keys = []
    while True:
        e, k, n, t = c.iter_next(it)
        if e != "OK":
            break
        keys.append(f"{k}/{n}/{t}")
    p("iter.order", r, " ".join(keys), "end", e)
    p("iter.next_after_end", c.iter_next(it)[0])
    p("iter.finalize", cs(c.lib.cmap_iter_finalize(c.h, it)))
    p("iter.next_finalized", c.iter_next(it)[0])
    p("iter.next_bad_handle", c.iter_next(0x1234567)[0])
    r, it = c.iter_init("pr.nothing.")
    p("iter.empty_prefix_result", r, c.iter_next(it)[0])
    c.lib.cmap_iter_finalize(c.h, it)
    # keys change between steps
    for k in ["pr.ch.1", "pr.ch.3", "pr.ch.5"]:
        c.set(k, b"v", T["str"])
    r, it = c.iter_init("pr.ch.")
    first = c.iter_next(it)[1]
    p("iter.change.first", first)
    p("iter.change.delete_current", c.delete(first), "get_after", c.get(first, 16)[0])
    c.set("pr.ch.2", b"v", T["str"])       # behind? no: after the current key, before the next
    p("iter.change.delete_next", c.delete("pr.ch.3"))
    c.set("pr.ch.4", b"v", T["str"])
    rest = []
    while True:
        e, k, _, _ = c.iter_next(it)
        if e != "OK":
            break
        rest.append(k)
    p("iter.change.rest", " ".join(rest))
    p("iter.change.get_deleted_first_after_iter", c.get(first, 16)[0])
    c.lib.cmap_iter_finalize(c.h, it)

    # --- tracking
    c.drain()
    p("track.bad_bits", c.track("pr.tr.k", 16, 99)[0])
    p("track.zero_bits", c.track("pr.tr.k", 0, 98)[0])
    ALL = 1 | 2 | 4
    tracks = [("pr.tr.k", ALL, 1), ("pr.tr.", ALL | 8, 2), ("pr.", ALL | 8, 3),
              (None, ALL | 8, 4), (None, ALL, 5), ("pr.tr.k", ALL | 8, 6), ("pr.tr.k", ALL, 7),
              ("pr.tr.k", ALL | 8, 8), ("pr.tr.", ALL, 9), ("pr.tr.k", 4, 10)]
    handles = {}
    for key, bits, user in tracks:
        r, th = c.track(key, bits, user)
        handles[user] = th
        p(f"track.add.t{user}", key, bits, r)

    def show(label):
        evs = [e for e in c.drain() if " pr." in e or " pr " in e]
        p(label, " | ".join(evs) if evs else "(none)")
    c.set("pr.tr.k", b"\x05\x00\x00\x00", T["u32"]); show("track.events.add")
    c.set("pr.tr.k", b"\x05\x00\x00\x00", T["u32"]); show("track.events.same_value")
    c.set("pr.tr.k", b"\x06\x00\x00\x00", T["u32"]); show("track.events.modify")
    c.set("pr.tr.k", b"six", T["str"]); show("track.events.type_change")
    c.set("pr.tr.k", b"six\x00", T["str"]); show("track.events.same_string_with_nul")
    c.set("pr.tr.k", b"\x06\x00\x00\x00", T["u32"])
    c.drain()
    c.adjust("pr.tr.k", 0); show("track.events.adjust0")
    c.adjust("pr.tr.k", 1); show("track.events.adjust1")
    c.delete("pr.tr.k"); show("track.events.delete")
    c.set("pr.tr.kk", b"x", T["str"]); show("track.events.longer_key")
    c.set("pr.tr.", b"x", T["str"]); show("track.events.prefix_key_itself")
    c.set("pr.tr", b"x", T["str"]); show("track.events.shorter_key")
    c.set("pr.zz", b"x", T["str"]); show("track.events.other")
    p("track.delete.t2", c.untrack(handles[2]), "again", c.untrack(handles[2]))
    c.set("pr.tr.kk", b"y", T["str"]); show("track.events.after_untrack")
    for u, th in handles.items():
        if u != 2:
            c.untrack(th)

    # trackers without a key (the root of libqb's trie) are kept newest first, prefix trackers
    # on a key oldest first
    order = [c.track(None, ALL | 8, 40)[1], c.track("pr.r.", ALL | 8, 41)[1],
             c.track(None, ALL | 8, 42)[1], c.track("pr.r.", ALL | 8, 43)[1]]
    c.set("pr.r.x", b"x", T["str"]); show("track.events.root_and_prefix_order")
    for th in order:
        c.untrack(th)

    # --- the stats map (cmap_initialize_map(CMAP_MAP_STATS))
    st = Cmap(stats=True)
    p("stats.set.ro", st.set("stats.srp.mcast_tx", le(1, 8), T["u64"]))
    p("stats.set.clear.none", st.set("stats.clear.none", le(1, 4), T["u32"]))
    p("stats.set.clear.allx", st.set("stats.clear.allx", b"", T["bin"]))
    p("stats.set.clear.ipc_bad_width", st.set("stats.clear.ipc", b"\x01\x02\x03", T["u32"]))
    p("stats.set.new_key", st.set("ks.new", b"x", T["str"]))
    p("stats.adjust.clear", st.adjust("stats.clear.all", 1))
    p("stats.adjust.ro", st.adjust("stats.srp.mcast_tx", 1))
    p("stats.delete.clear", st.delete("stats.clear.all"))
    p("stats.get.missing", st.get("stats.nothing", 16)[0])
    p("stats.get.clear", st.get("stats.clear.all", 16)[0])
    p("stats.get.u64", *st.get("stats.srp.mcast_tx", 16)[:3])
    p("stats.track.prefix_modify", st.track("stats.srp.", 2 | 8, 30)[0])
    p("stats.track.prefix_add", st.track("stats.srp.", 4 | 8, 31)[0])
    p("stats.track.prefix_add_delete", st.track("stats.srp.", 1 | 4 | 8, 32)[0])
    p("stats.track.exact_modify", st.track("stats.srp.mcast_tx", 2, 33)[0])
    p("stats.track.bad_bits", st.track("stats.srp.mcast_tx", 16, 34)[0])

    # --- fast_inc: a CPG join bumps runtime.services.cpg.<fn>.tx and .rx in place
    r, th = c.track("runtime.services.cpg.", ALL | 8, 20)
    p("track.fast_inc.add", r)
    cpg = ctypes.CDLL("libcpg.so.4")
    cb = (ctypes.c_void_p * 8)()
    ch = ctypes.c_uint64()
    err = cpg.cpg_initialize(ctypes.byref(ch), ctypes.byref(cb))

    class CpgName(ctypes.Structure):
        _fields_ = [("length", ctypes.c_uint32), ("value", ctypes.c_char * 128)]
    name = CpgName(5, b"probe")
    cpg.cpg_join.argtypes = [ctypes.c_uint64, ctypes.POINTER(CpgName)]
    p("cpg.join", cs(err), cs(cpg.cpg_join(ch.value, ctypes.byref(name))))
    evs = [e for e in c.drain() if "runtime.services.cpg." in e]
    p("track.fast_inc.events", " | ".join(evs) if evs else "(none)")
    cpg.cpg_finalize(ctypes.c_uint64(ch.value))
    c.untrack(th)
    return 0


# ------------------------------------------------------------------------------ driver (host)

def main() -> int:
    sys.path.insert(0, os.path.join(HERE, "..", "..", "it"))
    import harness  # noqa: E402
    if os.geteuid() != 0:
        print("needs root", file=sys.stderr)
        return 77
    with harness.Cluster(1, kind="corosync", crypto=False) as c:
        c.wait_for_membership([1], [1], timeout=30)

        def tool(label, *args, stdin=None):
            r = c.exec(1, ["corosync-cmapctl", *args])
            out = r.stdout if isinstance(r.stdout, str) else r.stdout.decode(errors="replace")
            err = r.stderr if isinstance(r.stderr, str) else r.stderr.decode(errors="replace")
            print(f"tool.{label}: rc={r.returncode} stdout={out!r} stderr={err!r}", flush=True)

        sets = [("i8", "-5"), ("u8", "250"), ("i16", "-300"), ("u16", "65000"), ("i32", "-70000"),
                ("u32", "4000000000"), ("i64", "-9223372036854775808"),
                ("u64", "18446744073709551615"), ("flt", "3.14159"), ("dbl", "2.718281828459045"),
                ("str", "hello world")]
        for typ, val in sets:
            tool(f"set.{typ}", "-s", f"ks.v.{typ}", typ, "--", val)
        extra = [("flt.big", "flt", "1e20"), ("flt.neg", "flt", "-0.5"), ("flt.tiny", "flt", "1e-7"),
                 ("dbl.big", "dbl", "1e300"), ("dbl.neg", "dbl", "-123.4567891"),
                 ("dbl.tiny", "dbl", "4e-7"), ("str.empty", "str", ""),
                 ("str.utf8", "str", "h\u00e9llo"), ("i8.min", "i8", "-128"),
                 ("u8.zero", "u8", "0")]
        for label, typ, val in extra:
            tool(f"set.{label}", "-s", f"ks.x.{label}", typ, "--", val)
        with tempfile.NamedTemporaryFile(delete=False) as f:
            f.write(bytes([0x00, 0x41, 0x5C, 0x7F, 0x80, 0xFF, 0x20, 0x7E, 0x0A, 0x22]))
            binfile = f.name
        try:
            tool("set.bin", "-s", "ks.v.bin", "bin", binfile)
            with open(binfile, "wb"):
                pass
            tool("set.bin.empty", "-s", "ks.x.bin.empty", "bin", binfile)
        finally:
            os.unlink(binfile)
        for typ, _ in sets + [("bin", "")]:
            tool(f"get.{typ}", "-g", f"ks.v.{typ}")
            tool(f"get.q.{typ}", "-q", "-g", f"ks.v.{typ}")
        tool("get.b.bin", "-b", "-g", "ks.v.bin")
        tool("get.qb.bin", "-q", "-b", "-g", "ks.v.bin")
        tool("get.b.bin.empty", "-b", "-g", "ks.x.bin.empty")
        tool("dump.v", "ks.v.")
        tool("dump.x", "ks.x.")
        tool("dump.b.v", "-b", "ks.v.")
        tool("dump.missing", "ks.nothing.")
        tool("dump.two_prefixes", "ks.v.u", "ks.nothing.")
        tool("err.space", "-s", "ks.a b", "str", "x")
        tool("err.short", "-s", "ab", "str", "x")
        tool("err.ro", "-s", "totem.cluster_name", "str", "x")
        tool("err.ro.nodelist", "-s", "nodelist.node.0.name", "str", "x")
        tool("err.range", "-s", "ks.e", "u8", "300")
        tool("err.range.i8", "-s", "ks.e", "i8", "--", "-129")
        tool("err.notnum", "-s", "ks.e", "u32", "abc")
        tool("err.type", "-s", "ks.e", "i9", "1")
        tool("err.get.missing", "-g", "ks.missing")
        tool("err.del.missing", "-d", "ks.missing")
        tool("err.del.ro", "-d", "nodelist.node.0.name")
        tool("err.set.args", "-s", "ks.e", "u8")
        tool("del.ok", "-d", "ks.v.u8")
        tool("err.stats.set", "-m", "stats", "-s", "stats.srp.mcast_tx", "u64", "1")
        tool("stats.clear", "-C", "all")
        tool("err.stats.del", "-m", "stats", "-d", "stats.clear.all")
        tool("err.stats.del.ro", "-m", "stats", "-d", "stats.srp.mcast_tx")

        r = c.exec(1, [sys.executable, os.path.abspath(__file__), "probe"], timeout=60)
        out = r.stdout if isinstance(r.stdout, str) else r.stdout.decode(errors="replace")
        err = r.stderr if isinstance(r.stderr, str) else r.stderr.decode(errors="replace")
        sys.stdout.write(out)
        if r.returncode != 0:
            print(f"probe failed rc={r.returncode}: {err}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "probe":
        sys.exit(probe())
    sys.exit(main())
