"""Helpers shared by the libtotem and tools integration tests (issue 19).

- bin_dir(): the build tree's bin/ (tools, probes, examples), from $TOTEM_BIN_DIR or next to
  $TOTEMD_BIN_DEFAULT.
- run_in(c, i, argv) / spawn_in(c, i, argv): a command in node i's network and mount
  namespace (nsenter into the daemon), with bin_dir() first in PATH, so that a tool is called
  by its bare name (getopt's messages then name it as corosync's do).
- pending(kind, service, fn): the expected-to-fail list. TOTEMD_SERVICES_PENDING (set by
  tests/it/CMakeLists.txt) names the totemd services that have not landed; a part for one of
  them on totemd must fail (XFAIL) and is reported as XPASS — a failure asking to flip the
  list — once it passes.
- validate(doc, schema): a JSON Schema (2020-12 subset: type, properties, required,
  additionalProperties, items, enum, const, pattern, minimum, maximum, $ref to $defs, oneOf,
  anyOf) check, cross-checked with the jsonschema package when it is installed.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from typing import Callable, Optional, Sequence

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import harness  # noqa: E402


def bin_dir() -> str:
    d = os.environ.get("TOTEM_BIN_DIR")
    if d:
        return d
    t = os.environ.get("TOTEMD_BIN_DEFAULT")
    if t:
        return os.path.dirname(t)
    return os.path.join(TOP, "build", "default", "bin")


def env_path() -> str:
    return f"PATH={bin_dir()}:/usr/sbin:/usr/bin:/sbin:/bin"


def check(cond: bool, what: str) -> None:
    if not cond:
        raise AssertionError(what)


def _prefix(c: harness.Cluster, i: int) -> list:
    node = c.nodes[i]
    if node.pid and c.running(i):
        return ["nsenter", "-t", str(node.pid), "-n", "-m", "--"]
    return ["ip", "netns", "exec", node.ns]


def run_in(c: harness.Cluster, i: int, argv: Sequence[str], timeout: float = 30,
           input: Optional[str] = None) -> subprocess.CompletedProcess:
    cmd = _prefix(c, i) + ["env", env_path()] + list(argv)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, input=input,
                          errors="surrogateescape")


def spawn_in(c: harness.Cluster, i: int, argv: Sequence[str], stdin=subprocess.DEVNULL,
             stdout=subprocess.PIPE) -> subprocess.Popen:
    """A long-running command in node i (stopped by pid at cleanup)."""
    cmd = _prefix(c, i) + ["env", env_path()] + list(argv)
    p = subprocess.Popen(cmd, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE, text=True,
                         start_new_session=True, errors="surrogateescape")
    c.pids.add(p.pid)
    return p


_BUFFERS: dict = {}


def read_json_lines(p: subprocess.Popen, until: Callable[[dict], bool], timeout: float) -> list:
    """Reads JSON lines from p.stdout until `until(line)` or the timeout (bounded). Reads the
    descriptor directly (a line may wait in no Python buffer while select() sleeps)."""
    import select
    fd = p.stdout.fileno()
    buf = _BUFFERS.setdefault(p.pid, bytearray())
    out = []
    deadline = time.monotonic() + timeout
    while True:
        while b"\n" in buf:
            line, _, rest = bytes(buf).partition(b"\n")
            buf[:] = rest
            try:
                j = json.loads(line.decode(errors="replace"))
            except ValueError:
                continue
            out.append(j)
            if until(j):
                return out
        left = deadline - time.monotonic()
        if left <= 0:
            return out
        r, _, _ = select.select([fd], [], [], min(0.2, left))
        if not r:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            return out
        buf.extend(chunk)


def finish(p: subprocess.Popen, timeout: float = 30) -> tuple:
    """Waits (bounded) for p; returns (rc, remaining stdout lines as JSON, stderr)."""
    try:
        rest, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        harness.stop_pid(p.pid)
        rest, err = p.communicate(timeout=5)
    rest = bytes(_BUFFERS.pop(p.pid, b"")).decode(errors="replace") + (rest or "")
    lines = []
    for line in rest.splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            pass
    return p.returncode, lines, err


def pending_services() -> set:
    return {s for s in os.environ.get("TOTEMD_SERVICES_PENDING", "").replace(";", " ").split()
            if s}


def pending(kind: str, service, fn: Callable[[], None]) -> None:
    """Runs fn; on totemd, when the service (or one of a tuple of services the part needs) is in
    TOTEMD_SERVICES_PENDING, a failure is expected."""
    needs = (service,) if isinstance(service, str) else tuple(service)
    waiting = [s for s in needs if s in pending_services()]
    if kind != "totemd" or not waiting:
        fn()
        return
    service = "/".join(waiting)
    try:
        fn()
    except AssertionError as e:
        print(f"XFAIL: totemd's {service} service has not landed yet ({str(e)[:300]})")
        return
    raise AssertionError(
        f"XPASS: the {service} part passes on totemd now: remove {waiting} from "
        f"TOTEMD_SERVICES_PENDING in tests/it/CMakeLists.txt")


# ------------------------------------------------------------------------------ JSON Schema

def load_schema(name: str) -> dict:
    with open(os.path.join(TOP, "docs", "schemas", name + ".schema.json")) as f:
        return json.load(f)


def _type_ok(v, t) -> bool:
    if isinstance(t, list):
        return any(_type_ok(v, x) for x in t)
    return {
        "object": lambda: isinstance(v, dict),
        "array": lambda: isinstance(v, list),
        "string": lambda: isinstance(v, str),
        "integer": lambda: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda: isinstance(v, (int, float)) and not isinstance(v, bool),
        "boolean": lambda: isinstance(v, bool),
        "null": lambda: v is None,
    }[t]()


def _validate(v, s: dict, root: dict, path: str, errors: list) -> None:
    if "$ref" in s:
        ref = s["$ref"]
        check(ref.startswith("#/$defs/"), f"unsupported $ref {ref}")
        _validate(v, root["$defs"][ref[len("#/$defs/"):]], root, path, errors)
        return
    if "type" in s and not _type_ok(v, s["type"]):
        errors.append(f"{path}: {v!r} is not {s['type']}")
        return
    if "const" in s and v != s["const"]:
        errors.append(f"{path}: {v!r} != const {s['const']!r}")
    if "enum" in s and v not in s["enum"]:
        errors.append(f"{path}: {v!r} not in {s['enum']}")
    if isinstance(v, str) and "pattern" in s and not re.search(s["pattern"], v):
        errors.append(f"{path}: {v!r} does not match {s['pattern']}")
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if "minimum" in s and v < s["minimum"]:
            errors.append(f"{path}: {v} < {s['minimum']}")
        if "maximum" in s and v > s["maximum"]:
            errors.append(f"{path}: {v} > {s['maximum']}")
    if isinstance(v, dict):
        for r in s.get("required", []):
            if r not in v:
                errors.append(f"{path}: missing {r}")
        props = s.get("properties", {})
        for k, sub in v.items():
            if k in props:
                _validate(sub, props[k], root, f"{path}.{k}", errors)
            elif s.get("additionalProperties") is False:
                errors.append(f"{path}: unexpected {k}")
            elif isinstance(s.get("additionalProperties"), dict):
                _validate(sub, s["additionalProperties"], root, f"{path}.{k}", errors)
    if isinstance(v, list) and "items" in s:
        for n, item in enumerate(v):
            _validate(item, s["items"], root, f"{path}[{n}]", errors)
    for key in ("oneOf", "anyOf"):
        if key in s:
            hits = 0
            for alt in s[key]:
                e2: list = []
                _validate(v, alt, root, path, e2)
                hits += not e2
            if (key == "oneOf" and hits != 1) or (key == "anyOf" and hits < 1):
                errors.append(f"{path}: {key} matched {hits} alternatives")


def validate(doc, schema: dict) -> None:
    """Raises AssertionError unless doc satisfies schema."""
    errors: list = []
    _validate(doc, schema, schema, "$", errors)
    try:
        import jsonschema  # cross-check with the reference implementation when present
        jsonschema.Draft202012Validator.check_schema(schema)
        for e in jsonschema.Draft202012Validator(schema).iter_errors(doc):
            errors.append(f"jsonschema: {e.message} at {list(e.absolute_path)}")
    except ImportError:
        pass
    check(not errors, "schema: " + "; ".join(errors[:5]))
