#!/usr/bin/env bash
# check-cli.sh TOTEMD — totemd's command line in its config-only modes.
set -euo pipefail
totemd=$1
here=$(cd "$(dirname "$0")" && pwd)
fail() { echo "check-cli: $*" >&2; exit 1; }

# -v: the version, exit 0
out=$("$totemd" -v) || fail "-v exit $?"
[[ $out == "totemd "*"corosync 3.1.7 compatible"* ]] || fail "-v printed: $out"

# a file that is not there: FILE: reason, exit 2
rc=0; out=$("$totemd" -t -c /nonexistent/corosync.conf 2>&1) || rc=$?
[ $rc = 2 ] || fail "missing file: exit $rc"
[ "$out" = "/nonexistent/corosync.conf: Can't read file: No such file or directory" ] || fail "missing file: $out"

# -t: OK on stdout, exit 0
out=$("$totemd" -t -c "$here/good/two-node.conf" --local-nodeid 1) || fail "-t exit $?"
[ "$out" = "Configuration is OK" ] || fail "-t printed: $out"

# --dump-config: `key (type) = value` lines, sorted bytewise, nothing else
out=$("$totemd" --dump-config -c "$here/good/two-node.conf" --local-nodeid 1)
[ "$out" = "$(LC_ALL=C sort <<<"$out")" ] || fail "dump not sorted"
bad=$(grep -cvE '^[A-Za-z0-9_./:-]+ \((u8|u16|u32|u64|i8|i16|i32|i64|str)\) = ' <<<"$out" || true)
[ "$bad" = 0 ] || fail "dump has $bad malformed lines"

# an unknown option is a usage error, not a crash
rc=0; "$totemd" --no-such-option >/dev/null 2>&1 || rc=$?
[ $rc != 0 ] && [ $rc -lt 128 ] || fail "unknown option: exit $rc"
echo "totemd command line OK"
