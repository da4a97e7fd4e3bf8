#!/usr/bin/env python3
"""Every tool has --help and a man page (issue 19): `--help` exits 0 and names every option
the tool parses; man/<tool>.8 renders without a groff warning and documents every option."""

from __future__ import annotations

import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
BIN = os.environ.get("TOTEM_BIN_DIR", os.path.join(TOP, "build", "default", "bin"))

# tool: (short options, long options) — what its getopt string and long table hold.
TOOLS = {
    "totem-cfgtool": ("isnbRLkahH", ["force", "json", "help"]),
    "totem-cmapctl": ("mhqgsdDtTbpC", ["json", "help"]),
    "totem-quorumtool": ("VHaslpmfevhino", ["json", "help"]),
    "totem-cpgtool": ("hdne", ["json", "help"]),
    "totem-keygen": ("krslfh", ["key-file", "random-file", "size", "less-secure", "force",
                                "json", "help"]),
    "totemctl": ("", ["watch", "json", "color", "help", "version"]),
}


def main() -> int:
    failures = []
    for tool, (shorts, longs) in TOOLS.items():
        r = subprocess.run([os.path.join(BIN, tool), "--help"], capture_output=True, text=True,
                           timeout=10)
        if r.returncode != 0 or not r.stdout:
            failures.append(f"{tool} --help: rc {r.returncode}, {len(r.stdout)} bytes")
        # An option is named alone ("-s", "--status") or in a cluster ("[-DdghsqTCt]").
        for o in shorts:
            if not re.search(rf"(?<![\w-])-[A-Za-z]*{o}", r.stdout):
                failures.append(f"{tool} --help does not name -{o}")
        for o in longs:
            if f"--{o}" not in r.stdout:
                failures.append(f"{tool} --help does not name --{o}")
        page = os.path.join(TOP, "man", tool + ".8")
        if not os.path.exists(page):
            failures.append(f"no man page {page}")
            continue
        g = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", page], capture_output=True,
                           text=True, timeout=20)
        if g.returncode != 0 or g.stderr:
            failures.append(f"{page}: groff: {g.stderr.strip()[:200]}")
        text = open(page).read().replace("\\-", "-")  # roff's \- is the hyphen
        for o in shorts:
            if not re.search(rf"(?<![\w-])-{o}(?![\w])", text):
                failures.append(f"{page} does not document -{o}")
        for o in longs:
            if f"--{o}" not in text:
                failures.append(f"{page} does not document --{o}")
        print(f"{tool}: --help names {len(shorts)} short and {len(longs)} long options; "
              f"{os.path.basename(page)} documents them")
    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
