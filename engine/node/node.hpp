// Node: the Asio driver of one totemd node — it feeds the node core (engine/core, pure) with
// what happens on the one boost::asio::io_context and carries out the core's effects, nothing
// else (shared/DESIGN.md: layers).
//
//   transport datagrams  → NodeCore::on_packet      SendEffect        → Transport::send
//   one timer at the core's next deadline → on_timer PersistRingSeq   → <state>/ringid_<id>
//                                                    PersistEvTracking → <state>/ev_tracking
//   the pause detector   → on_pause                 LogLine           → Logger (libqb)
//   libqb IPC (engine/ipc) → ipc_accept/connected/request/closed; Ipc* → ipc::Server
//   Exit / Reload / ReopenLogs / DumpBlackbox / Ready → what only the daemon can do
//
// Single-threaded: everything runs on the loop that owns the io_context (DESIGN rule 2).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "conf/config.hpp"
#include "conf/load.hpp"
#include "engine/core/core.hpp"
#include "engine/ipc/server.hpp"
#include "transport/config.hpp"
#include "transport/transport.hpp"

namespace totem::node {

struct NodeOptions {
    std::string state_dir = "/var/lib/corosync";   // ringid_<nodeid>, fdata
    std::uint64_t stored_ring_seq = 0;             // from load_ring_seq()
    std::uint32_t stored_ev_tracking_barrier = 0;  // from load_ev_tracking() (votequorum)
    services::PloadOptions pload;                  // the built-in load generator (TOTEMD_PLOAD)
    std::string config_path;                       // re-read on cfg RELOAD_CONFIG
    conf::LoadOptions load;                        // how it was read the first time
    std::string ipc_type = "native";               // system.qb_ipc_type
    // The transport's settings for a (reloaded) configuration: the daemon's conversion.
    std::function<Result<TransportConfig, std::string>(const conf::Config&)> transport_config;
};

class Node final : private ipc::Handler {
  public:
    Node(boost::asio::io_context& io, const conf::Config& config,
         std::unique_ptr<Transport> transport, NodeOptions options);
    ~Node() override;

    // Registers the IPC servers of the loaded services; an error text when one cannot listen.
    std::string listen();
    // Links are up: Totem enters GATHER.
    void start();
    // Orderly shutdown (SIGTERM): LEAVE, flush the transport, stop. `done` runs on the loop.
    void leave_and_stop(std::string reason, std::function<void()> done);
    // Called once when the core asked to exit (kill node, cfg shutdown): the exit status.
    std::function<void(int status)> on_exit;

    // The key store and the stats map as cmap shows them (SIGUSR1's dump).
    std::string dump_keys();
    const core::NodeCore& core() const { return core_; }

  private:
    Instant now() const;
    template <typename F>
    void call(F&& f);  // one core input, then its effects
    void apply();
    void arm_timer();
    void schedule_pause_check();
    void persist_ring_seq(std::uint64_t seq);
    void persist_ev_tracking(std::uint32_t barrier);
    void snapshot();
    void snapshot_if_due();
    void reload_config();
    void update_transport_nodes(const conf::Config& before);
    void exit_with(int status);

    // ipc::Handler
    int on_accept(std::uint16_t service, uid_t uid, gid_t gid) override;
    void on_connected(const ipc::ConnInfo& info) override;
    int on_request(ipc::ConnId id, ByteView request) override;
    void on_closed(ipc::ConnId id) override;

    boost::asio::io_context& io_;
    std::unique_ptr<Transport> transport_;
    NodeOptions options_;
    std::chrono::steady_clock::time_point origin_;
    core::NodeCore core_;
    ipc::Server ipc_;
    boost::asio::steady_timer timer_;
    boost::asio::steady_timer pause_timer_;
    std::chrono::steady_clock::time_point last_pause_check_;
    std::uint32_t token_ms_;
    std::chrono::steady_clock::time_point last_snapshot_{};
    bool stopping_ = false;
    bool applying_ = false;
    std::function<void()> done_;
};

// Reads <state_dir>/ringid_<nodeid> (8 bytes, host order), creating it with 0 if missing, as
// corosync does. Returns the stored seq, or an error text.
Result<std::uint64_t, std::string> load_ring_seq(const std::string& state_dir, NodeId nodeid);

// votequorum's expected_votes_tracking barrier, <state_dir>/ev_tracking (4 bytes, host order),
// as corosync's load_ev_tracking_barrier reads it: a missing or short file is (re)written with
// 0. The error is corosync's, when the file cannot be created.
Result<std::uint32_t, std::string> load_ev_tracking(const std::string& state_dir);

}  // namespace totem::node
