// Transport: how a node sends and receives Totem datagrams.
//
// Three implementations: knet (libknet, transport/knet.hpp), udpu (plain UDP unicast with an
// optional AES-256-GCM layer, transport/udpu.hpp) and the simulator's network (tests/sim).
// The interface carries no Asio type: the real transports run on the node's single
// boost::asio::io_context, the simulated one on virtual time.
//
// Threading: every method is called on the node's loop thread, and the receiver is invoked on
// that same thread, never re-entrantly from inside send(). Implementations that use helper
// threads (libknet) hand their data over through a file descriptor the loop reads.
//
// Self-delivery: a broadcast reaches this node too, and a unicast to this node's own id is
// delivered to it; corosync relies on both (totem-wire §4).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/bytes.hpp"
#include "common/log_level.hpp"

namespace totem {

using NodeId = std::uint32_t;

// The state of one link to one node, as libknet reports it (udpu has one link, 0, whose
// "connected" is simply "configured"). Field names follow knet_link_status / knet_link_stats
// so that the stats.knet.nodeX.linkY.* cmap keys map one to one.
struct LinkStatus {
    NodeId nodeid = 0;
    std::uint8_t link = 0;
    bool enabled = false;
    bool connected = false;
    std::string src_addr;  // "ip:port"
    std::string dst_addr;
    std::uint32_t mtu = 0;
    std::uint64_t latency_us = 0;  // knet's smoothed average
    std::uint64_t tx_data_packets = 0;
    std::uint64_t rx_data_packets = 0;
    std::uint64_t tx_data_bytes = 0;
    std::uint64_t rx_data_bytes = 0;
    std::uint64_t tx_ping_packets = 0;
    std::uint64_t rx_ping_packets = 0;
    std::uint64_t tx_pong_packets = 0;
    std::uint64_t rx_pong_packets = 0;
    std::uint64_t tx_pmtu_packets = 0;
    std::uint64_t rx_pmtu_packets = 0;
    std::uint64_t tx_total_packets = 0;
    std::uint64_t rx_total_packets = 0;
    std::uint64_t tx_total_bytes = 0;
    std::uint64_t rx_total_bytes = 0;
    std::uint64_t tx_total_errors = 0;
    std::uint64_t tx_total_retries = 0;
    std::uint32_t latency_min_us = 0;
    std::uint32_t latency_max_us = 0;
    std::uint32_t latency_ave_us = 0;
    std::uint32_t latency_samples = 0;
    std::uint32_t down_count = 0;
    std::uint32_t up_count = 0;
};

struct NodeStatus {
    NodeId nodeid = 0;
    bool reachable = false;  // some link to it is connected (always true for this node)
    std::vector<LinkStatus> links;
};

// Counters of the transport itself (what arrived at or left the node's side of it). Every
// datagram that is not handed to the receiver is counted in exactly one rx_dropped_* field.
struct TransportCounters {
    std::uint64_t tx_datagrams = 0;  // datagrams handed to the network (one per destination)
    std::uint64_t tx_bytes = 0;
    std::uint64_t tx_errors = 0;     // send failed (unreachable, buffer full): dropped
    std::uint64_t rx_datagrams = 0;  // handed to the receiver
    std::uint64_t rx_bytes = 0;
    std::uint64_t rx_dropped_truncated = 0;        // empty or larger than the receive buffer
    std::uint64_t rx_dropped_unknown_sender = 0;   // source not in the nodelist
    std::uint64_t rx_dropped_malformed = 0;        // too short or bad header (crypto layer)
    std::uint64_t rx_dropped_config_mismatch = 0;  // other cluster_name / nodelist (udpu AEAD)
    std::uint64_t rx_dropped_auth = 0;             // failed authentication / decryption
    std::uint64_t rx_dropped_replay = 0;           // replayed or from a superseded sender session
    std::uint64_t rx_dropped_clear = 0;            // cleartext where crypto is required
};

// Log lines go through this callback on the loop thread; subsys is "KNET" for libknet's own
// lines and "TOTEM" for the transport's (as corosync tags them).
using TransportLogFn =
    std::function<void(LogLevel level, std::string_view subsys, std::string_view message)>;

class Transport {
  public:
    // One received datagram (a complete Totem message as the peer sent it). The view is valid
    // only during the call.
    using ReceiveFn = std::function<void(ByteView datagram)>;

    virtual ~Transport() = default;

    // The receiver of every delivered datagram; set it before the loop runs.
    virtual void set_receiver(ReceiveFn fn) = 0;

    // Sends one datagram to `target` (a configured nodeid, possibly this node) or, with
    // target 0, to every configured node including this one. Never blocks; returns false when
    // the datagram was dropped at once (unknown target, stopped, local buffer full) — Totem's
    // retransmission copes with loss. knet writes `target` into the header's target_nodeid
    // (totem-wire §7.5), so `datagram` must be a Totem message (≥ 13 bytes).
    virtual bool send(NodeId target, ByteView datagram) = 0;

    // Largest datagram send() accepts.
    virtual std::size_t max_datagram() const = 0;

    // Reachability and per-link status/counters of every configured node, this one included.
    virtual std::vector<NodeStatus> status() const = 0;
    virtual TransportCounters counters() const = 0;

    // Flushes what was sent (knet: setfwd(0) sends out its queue — the LEAVE message) and
    // releases sockets and handles. Receives stop; later sends return false. Idempotent.
    virtual void stop() = 0;
};

}  // namespace totem
