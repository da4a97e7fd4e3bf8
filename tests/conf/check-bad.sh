#!/usr/bin/env bash
# check-bad.sh TOTEMD NAME.conf|NAME.yaml — `totemd -t` must refuse the bad config with exit
# status 2 and exactly the text of NAME.expected. Where NAME.corosync holds what the real
# corosync 3.1.7 said about the same file (corosync-check-bad.sh), corosync must have refused
# it too, in the same words and, when it gave one, on the same line.
set -euo pipefail
totemd=$1 file=$2
cd "$(dirname "$0")/bad"
name=${file%.*}
rc=0
out=$("$totemd" -t -c "$file" --local-nodeid 1 --hosts ../hosts --default-authkey ../authkey 2>&1) || rc=$?
if [ "$rc" != 2 ]; then
  echo "$file: exit status $rc, want 2; output: $out" >&2
  exit 1
fi
want=$(cat "$name.expected")
if [ "$out" != "$want" ]; then
  printf '%s: got\n  %s\nwant\n  %s\n' "$file" "$out" "$want" >&2
  exit 1
fi
if [ -f "$name.corosync" ]; then
  grep -q '^exit status [1-9]' "$name.corosync" || { echo "$name.corosync: corosync accepted it" >&2; exit 1; }
  # NAME.differs explains why totemd's words differ from corosync's for this file
  [ -f "$name.differs" ] && { echo "$file: $out (corosync refuses it too)"; exit 0; }
  msg=${out#*: }   # drop "FILE:LINE: "
  line=${out#*:}; line=${line%%:*}
  grep -qF -- "$msg" "$name.corosync" || { echo "$file: corosync said something else: $(head -1 "$name.corosync")" >&2; exit 1; }
  if grep -q 'corosync.conf:[0-9]*:' "$name.corosync"; then
    grep -q "corosync.conf:$line:" "$name.corosync" || { echo "$file: corosync names another line: $(head -1 "$name.corosync")" >&2; exit 1; }
  fi
fi
echo "$file: $out"
