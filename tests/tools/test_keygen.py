#!/usr/bin/env python3
"""totem-keygen beside corosync-keygen (issue 19): the same sizes, mode 0400 and lines (with
-r the lines are corosync's byte for byte; without, the source is named OpenSSL), the same
refusals of bad sizes and options; and what it adds: an existing key is kept without -f
(replaced with it), --json."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "tests", "it"))
BIN = os.environ.get("TOTEM_BIN_DIR", os.path.join(TOP, "build", "default", "bin"))
COROSYNC_KEYGEN = "/usr/sbin/corosync-keygen"


def run(tool, *args):
    exe = COROSYNC_KEYGEN if tool == "corosync" else os.path.join(BIN, "totem-keygen")
    r = subprocess.run([exe] + list(args), capture_output=True, text=True, timeout=20)
    name = "corosync-keygen" if tool == "corosync" else "totem-keygen"
    return r.returncode, r.stdout, r.stderr.replace(exe, "TOOL").replace(name, "TOOL")


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def key_ok(path, size):
    st = os.stat(path)
    check(st.st_size == size, f"{path}: {st.st_size} bytes, wanted {size}")
    check(stat.S_IMODE(st.st_mode) == 0o400, f"{path}: mode {oct(stat.S_IMODE(st.st_mode))}")
    with open(path, "rb") as f:
        data = f.read()
    check(len(set(data)) > min(size // 4, 200), f"{path}: {len(set(data))} distinct bytes")
    return data


def main() -> int:
    if not os.access(COROSYNC_KEYGEN, os.X_OK):
        print("SKIP: corosync-keygen is not installed")
        return 77
    with tempfile.TemporaryDirectory() as d:
        a, b = os.path.join(d, "a"), os.path.join(d, "b")
        for size in ("128", "4096"):
            ra = run("corosync", "-k", a + size, "-s", size)
            rb = run("totem", "-k", b + size, "-s", size)
            check(ra[0] == rb[0] == 0, f"-s {size}: {ra} {rb}")
            check(rb[1] == ra[1].replace("from /dev/urandom.", "from OpenSSL.")
                  .replace(a + size, b + size), f"lines: {ra[1]!r} {rb[1]!r}")
            key_ok(a + size, int(size))
            key_ok(b + size, int(size))
        # -r: corosync-keygen's lines byte for byte.
        ra = run("corosync", "-k", a, "-r", "/dev/urandom")
        rb = run("totem", "-k", b, "-r", "/dev/urandom")
        check(ra[0] == rb[0] == 0 and ra[1].replace(a, "K") == rb[1].replace(b, "K"),
              f"-r: {ra} {rb}")
        first = key_ok(b, 256)
        key_ok(a, 256)
        # An existing key is kept without -f, replaced with it.
        rc, out, err = run("totem", "-k", b)
        check(rc == 2 and err == f"TOOL: {b} already exists; use -f to overwrite it\n",
              f"no -f: {rc} {err!r}")
        with open(b, "rb") as f:
            check(f.read() == first, "the key changed without -f")
        rc, out, err = run("totem", "-k", b, "-f")
        check(rc == 0, f"-f: {rc} {err}")
        check(key_ok(b, 256) != first, "-f wrote the same bytes")
        # Refusals, the same way (errx names the program).
        for args in (["-s", "100"], ["-s", "5000"], ["-s", "12x"], ["-x"], ["-k"]):
            ra = run("corosync", "-k", os.path.join(d, "never"), *args)
            rb = run("totem", "-k", os.path.join(d, "never"), *args)
            check(ra == rb and ra[0] == 1, f"{args}: {ra} {rb}")
        # --json
        rc, out, err = run("totem", "-k", os.path.join(d, "j"), "-s", "512", "--json")
        doc = json.loads(out)
        from libtools_common import load_schema, validate
        validate(doc, load_schema("totem-keygen"))
        check(rc == 0 and doc["bytes"] == 512 and doc["bits"] == 4096 and
              doc["source"] == "openssl", f"--json: {doc}")
        left = sorted(os.listdir(d))
        check(all("." not in n for n in left), f"temporary files left: {left}")
        rc, out, _ = run("totem", "-h")
        check(rc == 0 and "-f / --force" in out, "-h")
    print("totem-keygen: sizes, modes, lines, refusals as corosync-keygen; -f; --json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
