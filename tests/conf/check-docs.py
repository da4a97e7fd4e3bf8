#!/usr/bin/env python3
"""check-docs.py TOTEMD DOCS — the corosync.conf and YAML examples of docs/config.md give the same
keys, and every key line the document says they give is among them."""
import re, subprocess, sys, tempfile, os

totemd, docs = sys.argv[1], sys.argv[2]
text = open(docs).read()
conf = re.findall(r"```\n(totem \{.*?)```", text, re.S)[0]
yaml = re.findall(r"```yaml\n(.*?)```", text, re.S)[0]
claims = re.findall(r"Both give, among others:\n\n```\n(.*?)```", text, re.S)[0].splitlines()
with tempfile.TemporaryDirectory() as d:
    dumps = []
    for name, body in (("doc.conf", conf), ("doc.yaml", yaml)):
        p = os.path.join(d, name)
        open(p, "w").write(body)
        r = subprocess.run([totemd, "--dump-config", "-c", p, "--local-nodeid", "1"],
                           capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"{name}: exit {r.returncode}: {r.stderr}")
        dumps.append(r.stdout)
if dumps[0] != dumps[1]:
    sys.exit("the conf and YAML examples give different keys")
missing = [c for c in claims if c not in dumps[0].splitlines()]
if missing:
    sys.exit("claimed but not produced: " + "; ".join(missing))
print(f"docs examples agree ({len(dumps[0].splitlines())} keys, {len(claims)} claims hold)")
