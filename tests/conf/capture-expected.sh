#!/usr/bin/env bash
# capture-expected.sh — start the real corosync 3.1.7 on a config inside a throw-away network
# namespace and record the config-derived cmap keys it publishes.
#
#   tests/conf/capture-expected.sh CONFIG LOCAL_ADDR[,ADDR...] HOSTNAME > EXPECTED
#   CAPTURE_TEST_ONLY=1 tests/conf/capture-expected.sh ...   run `corosync -t` there instead and
#       print what it said and its exit status (for the bad configs)
#   CAPTURE_TEST_ONLY=start ...   start `corosync -f` and report whether it stays up; for the
#       refusals that only a started corosync makes (votequorum's configuration checks)
#
# LOCAL_ADDR: the addresses to make local in the namespace (the node that plays "this" node);
# HOSTNAME: the uname nodename corosync sees (an UTS namespace). Names used by the config
# resolve through a private /etc/hosts written from tests/conf/hosts. A crypto config finds
# tests/conf/authkey as /etc/corosync/authkey, and a uidgid.d next to CONFIG as
# /etc/corosync/uidgid.d. Needs root. Everything it starts it stops by
# pid; the namespace is deleted on exit. Output: `key (type) = value` lines of the prefixes
# totem., nodelist., quorum., logging., resources., system., runtime.config., sorted.
set -euo pipefail
conf=$(readlink -f "$1")
addrs=$2
host=${3:-node1}
here=$(cd "$(dirname "$0")" && pwd)
ns="tcc-$$"
work=$(mktemp -d /tmp/tcc.XXXXXX)
pid=""

cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

ip netns add "$ns"
ip -n "$ns" link set lo up
IFS=, read -ra list <<<"$addrs"
for a in "${list[@]}"; do
  if [[ $a == *:* ]]; then
    ip -n "$ns" addr add "$a/128" dev lo nodad
  else
    ip -n "$ns" addr add "$a/32" dev lo
  fi
done

mkdir -p "$work"/{run,lib,log,etc}
cp "$conf" "$work/etc/corosync.conf"
cp "$here/authkey" "$work/etc/authkey"
# corosync reads <dir of corosync.conf>/uidgid.d: bring the config's own along when it has one
if [ -d "$(dirname "$conf")/uidgid.d" ]; then cp -r "$(dirname "$conf")/uidgid.d" "$work/etc/"; fi
chmod 400 "$work/etc/authkey"
{ echo "127.0.0.1 localhost"; echo "::1 localhost"; cat "$here/hosts"; } >"$work/hosts"

run_mode="-f"
[ "${CAPTURE_TEST_ONLY:-}" = 1 ] && run_mode="-t"
# corosync in its own mount + UTS namespace, inside the network namespace.
ip netns exec "$ns" unshare -m -u sh -c "
  mount --make-rprivate / &&
  mount -t tmpfs none /run &&
  mount --bind '$work/lib' /var/lib/corosync &&
  mkdir -p /var/log/cluster 2>/dev/null; mount --bind '$work/log' /var/log/cluster &&
  mount --bind '$work/etc' /etc/corosync &&
  mount --bind '$work/hosts' /etc/hosts &&
  hostname '$host' &&
  exec /usr/sbin/corosync $run_mode -c /etc/corosync/corosync.conf" >"$work/stdout" 2>&1 &
pid=$!
if [ "$run_mode" = -t ]; then
  rc=0
  wait "$pid" || rc=$?
  pid=""
  # drop the timestamp and level columns; keep corosync's words and its exit status
  sed -E 's/^[A-Z][a-z]{2} [ 0-9]{2} [0-9:.]+ [a-z]+ +\[[A-Z]+ *\] //' "$work/stdout"
  echo "exit status $rc"
  exit 0
fi

ok=0
if [ "${CAPTURE_TEST_ONLY:-}" = start ]; then
  for _ in $(seq 1 50); do
    if ! kill -0 "$pid" 2>/dev/null; then break; fi
    if ip netns exec "$ns" corosync-cmapctl runtime.config.totem.token >/dev/null 2>&1; then ok=1; break; fi
    sleep 0.2
  done
  if [ $ok = 1 ]; then
    echo "corosync started"
    echo "exit status 0"
    exit 0
  fi
  rc=0
  wait "$pid" || rc=$?
  pid=""
  sed -E 's/^[A-Z][a-z]{2} [ 0-9]{2} [0-9:.]+ [a-z]+ +\[[A-Z]+ *\] //' "$work/stdout" |
    grep -E 'error|failed|exiting' || true
  echo "exit status $rc"
  exit 0
fi
for _ in $(seq 1 100); do
  if ! kill -0 "$pid" 2>/dev/null; then break; fi
  if ip netns exec "$ns" corosync-cmapctl runtime.config.totem.token >/dev/null 2>&1; then ok=1; break; fi
  sleep 0.2
done
if [ $ok != 1 ]; then
  echo "capture-expected: corosync did not come up on $conf" >&2
  cat "$work/stdout" >&2
  exit 1
fi
ip netns exec "$ns" corosync-cmapctl |
  grep -E '^(totem|nodelist|quorum|logging|resources|system|uidgid|runtime\.config)\.' |
  grep -vE '^resources\.(system|process)\.[a-z0-9_]+\.(current|last_updated|state) ' |
  LC_ALL=C sort
