#!/usr/bin/env bash
# check-dump.sh TOTEMD CONFIG EXPECTED LOCAL_NODEID — `totemd --dump-config` on CONFIG (this
# node given by nodeid, names resolved through tests/conf/hosts, crypto keys from
# tests/conf/authkey) must print exactly the keys real corosync 3.1.7 published (EXPECTED),
# apart from the few keys corosync's mon/wd services create at run time (see README.md).
set -euo pipefail
source "$(dirname "$0")/private-logdir.sh"
totemd=$1 conf=$2 expected=$3 nodeid=$4
here=$(cd "$(dirname "$0")" && pwd)
# The mon service owns resources.system.*.poll_period (it writes its own 3000 over a configured
# value); the wd service writes resources.watchdog_timeout = 6 when the config has none.
mon='^resources\.system\.(load_15min|memory_used)\.poll_period '
wd='^resources\.watchdog_timeout \(u32\) = 6$'
got=$("$totemd" --dump-config -c "$conf" --local-nodeid "$nodeid" --hosts "$here/hosts" \
        --default-authkey "$here/authkey" | grep -vE "$mon" || true)
want=$(grep -vE "$mon" "$expected" | grep -vE "$wd" || true)
if [ "$got" != "$want" ]; then
  echo "dump of $conf differs from $expected (< corosync, > totemd):" >&2
  diff <(echo "$want") <(echo "$got") >&2 || true
  exit 1
fi
echo "$conf: $(echo "$got" | wc -l) keys as corosync 3.1.7"
