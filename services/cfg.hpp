// cfg (service 1): corosync's configuration service (exec/cfg.c; spec A3.5, B2.4) — link and
// node status for corosync-cfgtool, node addresses, the local node id, a cluster-wide reload
// of corosync.conf, reopening the log files, killing a node, and the shutdown protocol in
// which tracking clients (pacemakerd) may veto an orderly shutdown.
//
// Shutdown (state kept here, as corosync's globals): a TRYSHUTDOWN of flags REQUEST or
// REGARDLESS asks every other tracker with a TESTSHUTDOWN event and waits for their answers
// (or cfg.shutdown_timeout ms, default 5000); IMMEDIATE goes at once. A confirmed shutdown is
// the exec SHUTDOWN (safe): the node that sent it leaves the ring and exits, the others log it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "proto/cfg.hpp"

#include "services/service.hpp"

namespace totem::services {

class Cfg final : public Service {
  public:
    static constexpr std::uint16_t service_id = 1;
    static constexpr std::uint32_t shutdown_timeout_default_ms = 5000;  // DEFAULT_SHUTDOWN_TIMEOUT

    explicit Cfg(Api& api) : Service(api) {}

    ServiceInfo info() const override;
    void exec(NodeId sender, std::uint16_t fn, ByteView message) override;
    FlowControl flow_control(std::int32_t id) const override;
    bool lib_init(const ClientInfo& client) override;
    void lib_exit(ConnId conn) override;
    void lib_request(ConnId conn, std::int32_t id, ByteView request) override;
    void config_reloaded() override;
    void logs_reopened(ConnId conn, bool ok) override;
    std::optional<Instant> next_deadline() const override { return shutdown_deadline_; }
    void on_timer(Instant now) override;
    void check_invariants() const override;

  private:
    enum class Reply : std::uint8_t { unknown, yes, no };
    struct Conn {
        bool tracker = false;
        Reply reply = Reply::unknown;
    };

    void send_shutdown();
    void send_test_shutdown(std::optional<ConnId> only, std::optional<ConnId> exclude,
                            std::int32_t status);
    void check_shutdown_status();
    void remove_from_shutdown(ConnId conn);
    void respond_error(ConnId conn, std::int32_t id);
    proto::cfg::ResRingStatusGet ring_status() const;
    proto::cfg::ResGetNodeAddrs node_addrs(NodeId nodeid) const;
    proto::cfg::ResNodeStatusGet node_status(NodeId nodeid, std::uint32_t version) const;

    std::map<ConnId, Conn> conns_;
    std::vector<ConnId> trackers_;  // in the order they started tracking (corosync's list)
    // the shutdown in progress
    std::optional<ConnId> shutdown_con_;
    std::uint32_t shutdown_flags_ = 0;
    std::uint32_t shutdown_yes_ = 0, shutdown_no_ = 0, shutdown_expected_ = 0;
    std::optional<Instant> shutdown_deadline_;
    // reloads this node asked for: answered when the core has applied them
    std::vector<ConnId> reload_waiting_;
    std::uint64_t decode_errors_ = 0;
};

}  // namespace totem::services
