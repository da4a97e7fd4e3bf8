#!/bin/bash
# Captures Totem SRP packets from a real corosync 3.1.7 ring (Debian's /usr/sbin/corosync) and
# turns them into the golden vectors of tests/vectors/totem/ (extract-vectors.py).
#
# Three nodes, each in its own network namespace (hw-n1..3, 10.77.0.1..3/24), joined by veth
# pairs to a bridge in a fourth namespace (hw-br), where tshark captures udp port 5404/5405.
# Transport udpu: corosync then sends every Totem message as one plain UDP datagram (a
# broadcast as one unicast per member). Each corosync runs under `unshare -m` with its own /run,
# /var/lib/corosync and /var/log/cluster bind-mounted, so nothing of the host is touched.
#
# Phases (about 60 s in all):
#   1. formation:  JOIN, COMMIT_TOKEN, first ORF tokens, MCASTs of corosync's own sync traffic
#   2. idle 6 s:   ORF tokens, MERGE_DETECT from the rep, the token held
#   3. cpg-send on node 2 (5 small messages): TOKEN_HOLD_CANCEL, MCAST
#   4. node 3 drops every MCAST (nft), node 1 sends a stream of messages, node 2 is killed
#      (SIGKILL): tokens with retransmit requests, recovery, encapsulated MCASTs
#   5. stop (SIGTERM): LEAVE messages
#
# Usage: tests/vectors/capture-corosync.sh [OUTDIR]   (root; default OUTDIR a fresh /tmp dir)
# Writes OUTDIR/capture.pcap, OUTDIR/node*/log/corosync.log, and runs extract-vectors.py on the
# capture into tests/vectors/totem/ unless NO_EXTRACT=1.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$(mktemp -d /tmp/hw-capture.XXXXXX)}
mkdir -p "$out"
nodes=(1 2 3)
declare -A pid=()
tshark_pid=
ns_list=(hw-br hw-n1 hw-n2 hw-n3)

log() { echo "[$(date +%T)] $*"; }

stop_pid() {  # stop_pid PID: SIGTERM, wait up to 10 s, then SIGKILL
    local p=$1 i
    [ -n "$p" ] || return 0
    kill -TERM "$p" 2>/dev/null || return 0
    for i in $(seq 1 100); do
        kill -0 "$p" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$p" 2>/dev/null || true
}

cleanup() {
    set +e
    for n in "${nodes[@]}"; do stop_pid "${pid[$n]:-}"; done
    stop_pid "$tshark_pid"
    for ns in "${ns_list[@]}"; do ip netns del "$ns" 2>/dev/null; done
}
trap cleanup EXIT
trap "exit 130" INT TERM

for ns in "${ns_list[@]}"; do
    if ip netns list | grep -qw "$ns"; then
        echo "namespace $ns exists already (another capture running?)" >&2
        exit 1
    fi
done

# --- network -------------------------------------------------------------------------------
ip netns add hw-br
ip -n hw-br link add br0 type bridge
ip -n hw-br link set br0 up
for n in "${nodes[@]}"; do
    ip netns add "hw-n$n"
    ip -n hw-br link add "p$n" type veth peer name eth0 netns "hw-n$n"
    ip -n hw-br link set "p$n" master br0
    ip -n hw-br link set "p$n" up
    ip -n "hw-n$n" link set lo up
    ip -n "hw-n$n" addr add "10.77.0.$n/24" dev eth0
    ip -n "hw-n$n" link set eth0 up
done

# --- the CPG client --------------------------------------------------------------------------
gcc -Wall -O1 -o "$out/cpg-send" "$here/cpg-send.c" -lcpg

# --- corosync config and per-node dirs --------------------------------------------------------
for n in "${nodes[@]}"; do
    d="$out/node$n"
    mkdir -p "$d/run" "$d/lib" "$d/log"
    cat >"$d/corosync.conf" <<EOF
totem {
    version: 2
    cluster_name: hwcap
    transport: udpu
    crypto_cipher: none
    crypto_hash: none
    token: 1000
    interface {
        linknumber: 0
        mcastport: 5405
    }
}
nodelist {
    node {
        nodeid: 1
        ring0_addr: 10.77.0.1
    }
    node {
        nodeid: 2
        ring0_addr: 10.77.0.2
    }
    node {
        nodeid: 3
        ring0_addr: 10.77.0.3
    }
}
quorum {
    provider: corosync_votequorum
}
logging {
    to_stderr: no
    to_syslog: no
    to_logfile: yes
    logfile: /var/log/cluster/corosync.log
    timestamp: on
    debug: off
}
EOF
done

start_node() {  # start_node N
    local n=$1 d="$out/node$1"
    ip netns exec "hw-n$n" unshare -m sh -c "
        mount --bind '$d/run' /run &&
        mount --bind '$d/lib' /var/lib/corosync &&
        mount --bind '$d/log' /var/log/cluster &&
        exec /usr/sbin/corosync -f -c '$d/corosync.conf'" \
        >"$d/stdout" 2>&1 &
    pid[$n]=$!
    log "node $n started, pid ${pid[$n]}"
}

in_node() {  # in_node N CMD...: run a client in node N's namespace, bounded to 60 s
    local n=$1
    shift
    timeout 60 ip netns exec "hw-n$n" "$@"
}

log_lines() { wc -l <"$out/node$1/log/corosync.log" 2>/dev/null || echo 0; }

# wait_members N COUNT [SKIP]: until node N's log, after its first SKIP lines, shows a ring of
# COUNT members; at most 30 s.
wait_members() {
    local n=$1 count=$2 skip=${3:-0} i
    for i in $(seq 1 300); do
        if ! kill -0 "${pid[$n]}" 2>/dev/null; then
            log "node $n is not running:"
            cat "$out/node$n/stdout" >&2
            return 1
        fi
        if tail -n +$((skip + 1)) "$out/node$n/log/corosync.log" 2>/dev/null |
            grep -q "Members\[$count\]"; then
            log "node $n sees $count members"
            return 0
        fi
        sleep 0.1
    done
    log "node $n: no ring of $count members within 30 s"
    return 1
}

# --- capture -----------------------------------------------------------------------------------
rm -f "$out/capture.pcap"
touch "$out/capture.pcap"
ip netns exec hw-br tshark -q -i br0 -f 'udp port 5404 or udp port 5405' -w "$out/capture.pcap" \
    >"$out/tshark.log" 2>&1 &
tshark_pid=$!
for i in $(seq 1 50); do
    grep -q "Capturing on" "$out/tshark.log" 2>/dev/null && break
    sleep 0.1
done
sleep 1
log "tshark pid $tshark_pid"

# Phase 1: formation
log "phase 1: formation"
for n in "${nodes[@]}"; do start_node "$n"; done
wait_members 1 3

# Phase 2: idle
log "phase 2: idle 6 s"
sleep 6

# Phase 3: a few CPG messages from node 2 into the idle (held) ring
log "phase 3: cpg-send on node 2"
in_node 2 "$out/cpg-send" 5 100 200 || log "cpg-send failed"
sleep 3

# Phase 4: node 3 drops every MCAST it receives (its aru stalls, the tokens carry retransmit
# requests), node 1 sends a stream, node 2 is killed, the drop is lifted before the new ring
# forms: in RECOVERY node 1 re-sends the old-ring messages node 3 lacks, encapsulated.
log "phase 4: node 3 drops MCASTs, stream from node 1, kill node 2"
in_node 1 "$out/cpg-send" 300 200 10 >"$out/stream.log" 2>&1 &
stream_pid=$!
sleep 1
ip netns exec hw-n3 nft add table inet hwloss
ip netns exec hw-n3 nft add chain inet hwloss in '{ type filter hook input priority 0; }'
ip netns exec hw-n3 nft add rule inet hwloss in udp dport 5405 @th,88,8 1 drop
sleep 1
log "killing node 2 (pid ${pid[2]})"
skip=$(log_lines 1)
kill -KILL "${pid[2]}" 2>/dev/null || true
pid[2]=
sleep 0.5
ip netns exec hw-n3 nft delete table inet hwloss
wait_members 1 2 "$skip" || true
for i in $(seq 1 300); do kill -0 "$stream_pid" 2>/dev/null || break; sleep 0.1; done
stop_pid "$stream_pid"
sleep 3

# Phase 5: orderly stop (LEAVE)
log "phase 5: stop"
for n in 3 1; do stop_pid "${pid[$n]}"; pid[$n]=; done
sleep 1
stop_pid "$tshark_pid"
tshark_pid=
log "capture: $(tshark -r "$out/capture.pcap" 2>/dev/null | wc -l) packets in $out/capture.pcap"

if [ "${NO_EXTRACT:-0}" != 1 ]; then
    python3 "$here/extract-vectors.py" "$out/capture.pcap" "$here/totem"
fi
