#!/usr/bin/env bash
# corosync-check-bad.sh [NAME...] — run the real `corosync -t` on each bad config (this node is
# 10.60.0.1 / host bad1, inside a throw-away namespace) and record what it said in
# bad/NAME.corosync. Configs named quorum-* are refused only by a started corosync (votequorum
# checks its options when it loads): for those corosync is started instead. Needs root.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/bad"
if (($#)); then names=("$@"); else names=(); for f in *.conf; do names+=("${f%.conf}"); done; fi
for n in "${names[@]}"; do
  mode=1
  [[ $n == quorum-* ]] && mode=start
  CAPTURE_TEST_ONLY=$mode "$here/capture-expected.sh" "$n.conf" 10.60.0.1,10.61.0.1,fd00:60::1 bad1 >"$n.corosync"
  echo "$n: $(head -1 "$n.corosync")"
done
