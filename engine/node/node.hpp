// Node: one totemd node on one boost::asio::io_context — transport receive → TotemStack;
// TotemStack effects → transport sends, one Asio timer at the core's next deadline, deliveries
// and configuration changes up to the (future) services layer, the ring seq file; plus the
// scheduling-pause detector and the runtime key store that will back cmap.
//
// Single-threaded: everything runs on the loop that owns the io_context (DESIGN rule 2).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "conf/config.hpp"
#include "engine/totem/stack.hpp"
#include "transport/transport.hpp"

namespace totem::node {

struct NodeOptions {
    std::string state_dir = "/var/lib/corosync";  // ringid_<nodeid>, fdata
    std::uint64_t stored_ring_seq = 0;            // from load_ring_seq()
    // Built-in load generator (corosync's pload service, services-and-ipc §B2.5): every
    // `pload_interval_ms` this node multicasts `pload_burst` pload MCAST messages of
    // `pload_size` bytes. 0 = off.
    std::uint32_t pload_interval_ms = 0;
    std::uint32_t pload_burst = 1;
    std::uint32_t pload_size = 64;
    std::uint64_t pload_count = 0;  // stop after this many messages; 0 = no limit
    // Send only while this node's ring has at least this many members; 0 = in any ring. A
    // message sent in a smaller ring (a node forms a ring of its own at start, before its knet
    // links are up) is delivered to that ring's members only, never to the nodes that join
    // later (EVS), so a test that expects every node to deliver every message waits for them.
    std::uint32_t pload_min_members = 0;
};

class Node {
  public:
    Node(boost::asio::io_context& io, const conf::Config& config,
         std::unique_ptr<Transport> transport, NodeOptions options);
    ~Node();

    // Links are up: Totem enters GATHER.
    void start();
    // Orderly shutdown: LEAVE, flush the transport, stop timers. `done` runs on the loop.
    void leave_and_stop(std::function<void()> done);

    // One application message to `group` (totempg group "a" carries service exec messages).
    bool mcast(std::string_view group, ByteView payload);

    // The runtime key store (runtime.*, stats.*): corosync's icmap and stats map, refreshed.
    const conf::Cmap& keys();
    const TotemStack& stack() const { return stack_; }

    // Hooks for tests and the future services layer.
    std::function<void(const GroupMessage&)> on_deliver;
    std::function<void(const ConfChgEffect&)> on_confchg;

  private:
    Instant now() const;
    void on_datagram(ByteView datagram);
    void apply();
    void arm_timer();
    void schedule_pause_check();
    void schedule_pload();
    void persist_ring_seq(std::uint64_t seq);
    void deliver(const GroupMessage& m);
    void confchg(const ConfChgEffect& c);
    void refresh_stats();
    Bytes config_check_message() const;
    void config_check(const GroupMessage& m);
    void set_key(const std::string& key, conf::CmapValue v) { keys_[key] = std::move(v); }

    boost::asio::io_context& io_;
    const conf::Config& config_;
    std::unique_ptr<Transport> transport_;
    NodeOptions options_;
    std::chrono::steady_clock::time_point origin_;
    TotemStack stack_;
    boost::asio::steady_timer timer_;
    boost::asio::steady_timer pause_timer_;
    boost::asio::steady_timer pload_timer_;
    std::chrono::steady_clock::time_point last_pause_check_;
    bool stopping_ = false;
    conf::Cmap keys_;
    std::map<std::uint32_t, std::uint32_t> join_count_;
    // Counted and dropped: exec messages by service id, and the other kinds by name.
    std::map<std::uint16_t, std::uint64_t> unknown_service_msgs_;
    std::uint64_t dropped_sync_ = 0, dropped_malformed_exec_ = 0;
    std::uint64_t config_check_malformed_ = 0, config_mismatches_ = 0;
    // A refusal waits until our own check of the ring has been delivered (safe): then every
    // member, the refused node included, has our check too and refuses us in turn. Excluding at
    // once tore the ring before the refused node saw why, and it kept merging back (a storm).
    bool own_check_pending_ = false;
    NodeList refusals_pending_;
    void apply_refusals();
    std::uint64_t config_changes_ = 0;
    std::uint64_t pload_sent_ = 0, pload_received_ = 0;
    std::map<NodeId, std::uint64_t> pload_from_;
    std::uint64_t pload_digest_ = 14695981039346656037ull;  // FNV-1a over the delivered order
    std::uint32_t schedmiss_count_ = 0;
    RingId sync_logged_ring_;
};

// Reads <state_dir>/ringid_<nodeid> (8 bytes, host order), creating it with 0 if missing, as
// corosync does. Returns the stored seq, or an error text.
Result<std::uint64_t, std::string> load_ring_seq(const std::string& state_dir, NodeId nodeid);

}  // namespace totem::node
