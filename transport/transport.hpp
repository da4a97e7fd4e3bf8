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
#include <variant>
#include <vector>

#include "common/bytes.hpp"
#include "common/log_level.hpp"
#include "common/node_status.hpp"
#include "common/result.hpp"

namespace totem {

struct TransportNode;    // transport/config.hpp
struct TransportConfig;  // transport/config.hpp

// The outcome of a run-time change: done, or one line saying why nothing was changed (a
// refused change leaves the transport as it was).
using TransportChange = Result<std::monostate, std::string>;

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

    // Reachability and per-link status/counters of every configured node, this one included,
    // in nodeid order (common/node_status.hpp says what each field carries per transport).
    virtual std::vector<NodeStatus> status() const = 0;
    virtual TransportCounters counters() const = 0;
    // libknet's handle-wide compression and crypto counters (stats.knet.handle.*); udpu:
    // valid = false.
    virtual KnetHandleStats handle_stats() const = 0;
    // stats.clear.knet: zeroes the link counters of status() and handle_stats() (knet:
    // knet_handle_clear_stats(HANDLE_AND_LINK)). counters() is not touched.
    virtual void clear_stats() = 0;

    // Run-time nodelist changes, as a configuration reload applies them (corosync's
    // totemconfig_commit_new_params → totemknet_member_add / member_remove). Call add_node for
    // every node of the new nodelist and remove_node for every node that left it, in any order.
    //
    // add_node: a node not yet configured is set up exactly as at start-up (knet: host, policy,
    // one link per ringN_addr it shares with this node, enabled). For a configured node its
    // links follow the given addresses: a link it gains is configured, a link it loses is
    // disabled and cleared, the same addresses change nothing. An address that differs on a
    // link the node keeps is refused, as corosync refuses it ("To reconfigure an interface it
    // must be deleted and recreated"). Passing this node changes this node's own links: link N
    // to every other node follows this node's ringN_addr.
    virtual TransportChange add_node(const TransportNode& node) = 0;
    // remove_node: every link to the node disabled and cleared, then the node removed; later
    // sends to it fail, what it sends is dropped. This node cannot be removed.
    virtual TransportChange remove_node(NodeId nodeid) = 0;
    // The link and handle settings a reload may change on running links (knet: what corosync's
    // totemknet_refresh_config and totemknet_reconfigure re-apply: link priority, ping timers
    // and pong count on every link to every other node, block_unlisted_ips, PMTUd interval,
    // knet_mtu, compression; corosync also runs the refresh when a totem.* cmap key changes).
    // `next` is the reloaded configuration; its nodelist, crypto and link mode are not read,
    // and a link in use keeps its port. A knet_transport that differs on a link in use is
    // refused (corosync refuses the reload: "New config has different knet transport"). udpu:
    // nothing to change (corosync's udpu keeps link 0 as it was at start-up).
    virtual TransportChange reconfigure_links(const TransportConfig& next) = 0;

    // Flushes what was sent (knet: setfwd(0) sends out its queue — the LEAVE message) and
    // releases sockets and handles. Receives stop; later sends return false. Idempotent.
    virtual void stop() = 0;
};

}  // namespace totem
