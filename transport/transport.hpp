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
#include "common/node_status.hpp"

namespace totem {

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
