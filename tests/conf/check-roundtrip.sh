#!/usr/bin/env bash
# check-roundtrip.sh TOTEMD CONFCONV FILE NODEID — converting FILE to the other format with
# totem-confconv, and back again, changes nothing that corosync would see: all three give the
# same `totemd --dump-config`.
set -euo pipefail
source "$(dirname "$0")/private-logdir.sh"
totemd=$1 confconv=$2 file=$3 nodeid=$4
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
case $file in *.yaml) other=yaml2conf.conf; back=back.yaml ;; *) other=conf2yaml.yaml; back=back.conf ;; esac
"$confconv" "$file" >"$tmp/$other"
"$confconv" "$tmp/$other" >"$tmp/$back"
dump() { "$totemd" --dump-config -c "$1" --local-nodeid "$nodeid" --hosts "$here/hosts" --default-authkey "$here/authkey" 2>/dev/null; }
a=$(dump "$file"); b=$(dump "$tmp/$other"); c=$(dump "$tmp/$back")
[ -n "$a" ] || { echo "$file: empty dump" >&2; exit 1; }
[ "$a" = "$b" ] || { echo "$file → $other changes the keys:" >&2; diff <(echo "$a") <(echo "$b") >&2; exit 1; }
[ "$a" = "$c" ] || { echo "$file → $other → $back changes the keys:" >&2; diff <(echo "$a") <(echo "$c") >&2; exit 1; }
echo "$file: $(echo "$a" | wc -l) keys survive $other and back"
