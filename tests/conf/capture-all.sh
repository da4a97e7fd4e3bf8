#!/usr/bin/env bash
# capture-all.sh [NAME...] — run capture-expected.sh for every case of cases.txt (or the ones
# named) and write expected/NAME.dump. Needs root and the real corosync 3.1.7.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
want=("$@")
grep -v '^#' "$here/cases.txt" | while read -r name nodeid addrs host; do
  [ -n "$name" ] || continue
  if ((${#want[@]})) && [[ ! " ${want[*]} " == *" $name "* ]]; then continue; fi
  echo "capturing $name (node $nodeid, $addrs, host $host)" >&2
  "$here/capture-expected.sh" "$here/good/$name.conf" "$addrs" "$host" >"$here/expected/$name.dump.new"
  mv "$here/expected/$name.dump.new" "$here/expected/$name.dump"
done
