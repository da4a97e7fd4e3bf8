#!/usr/bin/env python3
"""libtotem installed (issue 19): `cmake --install` into a scratch prefix holds the headers,
the shared library, the CMake package and the pkg-config file, the tools and their man pages;
lib/examples builds as a project of its own with find_package(totem), a program builds with
`pkg-config --cflags --libs totem` and runs against the installed library, and an installed
tool runs (its RPATH finds libtotem)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
BUILD = os.environ.get("TOTEM_BUILD_DIR", os.path.join(TOP, "build", "default"))


def sh(argv, env=None, cwd=None, timeout=240):
    r = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout)
    if r.returncode != 0:
        raise AssertionError(f"{' '.join(argv)}: rc {r.returncode}\n{r.stdout[-2000:]}\n"
                             f"{r.stderr[-2000:]}")
    return r.stdout


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="totem-install-") as d:
        prefix = os.path.join(d, "prefix")
        sh(["cmake", "--install", BUILD, "--prefix", prefix])
        libdir = next(os.path.join(root) for root, dirs, files in os.walk(prefix)
                      if "libtotem.so" in files)
        want = ["include/totem/client.hpp", "include/totem/client/cpg.hpp",
                "include/totem/client/version.hpp", "include/totem/client/export.hpp",
                "sbin/totem-cfgtool", "sbin/totem-cmapctl", "sbin/totem-quorumtool",
                "sbin/totem-cpgtool", "sbin/totem-keygen", "sbin/totemctl",
                "share/man/man8/totem-cfgtool.8", "share/man/man8/totemctl.8",
                "share/man/man8/totem-keygen.8"]
        missing = [w for w in want if not os.path.exists(os.path.join(prefix, w))]
        for f in ("libtotem.so.0", "cmake/totem/totemConfig.cmake",
                  "cmake/totem/totemConfigVersion.cmake", "cmake/totem/totemTargets.cmake",
                  "pkgconfig/totem.pc"):
            if not os.path.exists(os.path.join(libdir, f)):
                missing.append(os.path.join(libdir, f))
        if missing:
            raise AssertionError(f"not installed: {missing}")
        # No header of the tree's internals is installed (proto/, common/ stay inside).
        inc = os.path.join(prefix, "include")
        for root, dirs, files in os.walk(inc):
            for f in files:
                text = open(os.path.join(root, f)).read()
                if '#include "proto/' in text or '#include "common/' in text:
                    raise AssertionError(f"{f} includes the tree's internals")
        # An installed tool runs: its RPATH finds the installed libtotem.
        out = sh([os.path.join(prefix, "sbin", "totemctl"), "--version"])
        if not out.startswith("totemctl "):
            raise AssertionError(f"totemctl --version: {out!r}")
        # lib/examples as a project of its own: find_package(totem).
        ex = os.path.join(d, "examples")
        sh(["cmake", "-S", os.path.join(TOP, "lib", "examples"), "-B", ex, "-G", "Ninja",
            "-DCMAKE_BUILD_TYPE=Release", f"-DCMAKE_PREFIX_PATH={prefix}"])
        sh(["cmake", "--build", ex, "-j2"])
        built = sorted(f for f in os.listdir(ex) if f.startswith("totem-example-"))
        if len(built) != 6:
            raise AssertionError(f"examples built: {built}")
        # pkg-config: compile, link and run a program against the installed library.
        env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(libdir, "pkgconfig"))
        flags = sh(["pkg-config", "--cflags", "--libs", "totem"], env=env).split()
        src = os.path.join(d, "t.cpp")
        with open(src, "w") as f:
            f.write('#include <totem/client.hpp>\n#include <cstdio>\n'
                    'int main() { std::printf("%s %s\\n", totem::client::version(),\n'
                    '  totem::client::cs_strerror(6)); return 0; }\n')
        exe = os.path.join(d, "t")
        sh(["c++", src, "-o", exe] + flags)
        out = sh([exe], env=dict(os.environ, LD_LIBRARY_PATH=libdir))
        version = open(os.path.join(BUILD, "lib", "include", "totem", "client",
                                    "version.hpp")).read().split('TOTEM_CLIENT_VERSION "')[1]
        version = version.split('"')[0]
        if out != f"{version} CS_ERR_TRY_AGAIN\n":
            raise AssertionError(f"pkg-config program printed {out!r}")
        print(f"installed into {prefix}: headers, libtotem.so.0, CMake package, totem.pc, "
              f"6 tools and man pages; {len(built)} examples built with find_package(totem); "
              f"a pkg-config program ran ({out.strip()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
