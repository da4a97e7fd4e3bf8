"""The text form of one message in the IPC and exec vector files (capture-services.py,
extract-exec.py; parsed by tests/unit/proto/vectors.hpp).

    <hex, with runs of >= 32 zero bytes written {z<count>}>[ +pat251:<phase>:<count>]

+pat251 ends a message that continues with <count> bytes of the test pattern
byte k = (phase + k) % 251 (what cpg-client sends); it is only used when the whole tail is
that pattern, checked here.
"""
import re

ZERO_RUN_MIN = 32
PATTERN_MIN = 4096


def pattern_tail(b: bytes) -> int:
    """Offset from which b is the test pattern to its end (at least PATTERN_MIN bytes), or
    len(b)."""
    if len(b) < PATTERN_MIN:
        return len(b)
    k = len(b) - 1
    while k > 0 and b[k - 1] < 251 and (b[k - 1] + 1) % 251 == b[k]:
        k -= 1
    return k if len(b) - k >= PATTERN_MIN else len(b)


def to_text(b: bytes) -> str:
    cut = pattern_tail(b)
    head = b[:cut]
    out = []
    i = 0
    for m in re.finditer(b"\x00{%d,}" % ZERO_RUN_MIN, head):
        out.append(head[i:m.start()].hex())
        out.append("{z%d}" % (m.end() - m.start()))
        i = m.end()
    out.append(head[i:].hex())
    text = "".join(out)
    if cut < len(b):
        text += " +pat251:%d:%d" % (b[cut], len(b) - cut)
    if from_text(text) != b:
        raise AssertionError("vector text does not round-trip")
    return text


def from_text(text: str) -> bytes:
    body, _, tail = text.partition(" +pat251:")
    out = bytearray()
    for tok in re.split(r"(\{z\d+\})", body):
        if tok.startswith("{z"):
            out += bytes(int(tok[2:-1]))
        else:
            out += bytes.fromhex(tok)
    if tail:
        phase, count = (int(x) for x in tail.split(":"))
        out += bytes((phase + k) % 251 for k in range(count))
    return bytes(out)
