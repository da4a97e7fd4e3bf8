#!/usr/bin/env bash
# check-good.sh TOTEMD FILE NODEID — `totemd -t` accepts FILE: exit 0, "Configuration is OK" on
# stdout, and on stderr exactly the warnings of FILE's .warnings file (none when it is absent).
set -euo pipefail
source "$(dirname "$0")/private-logdir.sh"
totemd=$1 file=$2 nodeid=$3
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/good"
err=$(mktemp)
trap 'rm -f "$err"' EXIT
out=$("$totemd" -t -c "$file" --local-nodeid "$nodeid" --hosts ../hosts --default-authkey ../authkey 2>"$err")
[ "$out" = "Configuration is OK" ] || { echo "$file: stdout: $out" >&2; exit 1; }
want=""
[ -f "${file%.*}.warnings" ] && want=$(cat "${file%.*}.warnings")
[ "$(cat "$err")" = "$want" ] || { printf '%s: stderr\n%s\nwant\n%s\n' "$file" "$(cat "$err")" "$want" >&2; exit 1; }
echo "$file: OK"
