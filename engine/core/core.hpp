// NodeCore: one totemd node above the transport — the Totem stack (Srp + totempg), service
// synchronisation, the services and the key store — as one pure value with an outbox, like Srp.
// The daemon's driver (engine/node) and the simulator (tests/sim) drive it alike
// (shared/DESIGN.md: layers; rule 1 and 3).
//
// Inputs are method calls that take the current time as a value: datagrams, timer expiry,
// pauses, snapshots of the transport (links, knet counters) and of IPC connections the driver
// takes, IPC connects, requests and disconnects, and the outcome of actions only the driver can
// perform (a re-read configuration, reopened logs). The answers libqb needs at once — accept a
// connection, admit a request — are return values. Everything else the core wants done is an
// Effect appended to the outbox in the order it happens: datagrams, the ring seq to persist,
// log lines, IPC responses, events, disconnects and rate limits, and actions (exit, reload,
// reopen logs, dump the blackbox, "ready"). The driver takes the outbox after each call and
// executes it; the outbox is empty on entry to every input (asserted), so no handler re-enters
// the core.
//
// No sockets, clocks, threads, files or libqb here (the before-stop check greps for them).
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "common/bytes.hpp"
#include "common/log_level.hpp"
#include "common/node_status.hpp"
#include "common/shared_bytes.hpp"
#include "conf/config.hpp"
#include "engine/sync/sync.hpp"
#include "engine/totem/stack.hpp"
#include "services/keystore.hpp"
#include "services/pload.hpp"
#include "services/service.hpp"
#include "services/votequorum.hpp"

namespace totem::core {

using services::ClientInfo;
using services::ConnId;

// ---- effects ----------------------------------------------------------------------------
struct LogLine {
    LogLevel level = LogLevel::info;
    std::string subsys;  // "TOTEM", "SYNC", "MAIN", "CMAP", ... as corosync tags its lines
    std::string text;
};
struct IpcResponse {
    ConnId conn = 0;
    Bytes message;
};
struct IpcEvent {
    ConnId conn = 0;
    // One encoding may go to several clients (a CPG delivery to every local member).
    SharedBytes message;
};
struct IpcDisconnect {
    ConnId conn = 0;
};
// qb_ipcs_request_rate_limit for one service's IPC server.
enum class RateLimit : std::uint8_t { fast, normal, slow, off, off_2 };
struct IpcRateLimit {
    std::uint16_t service = 0;
    RateLimit limit = RateLimit::normal;
};
// The first synchronisation completed: IPC is open (sd_notify READY=1 under a service manager).
struct ReadyEffect {};
using Effect =
    std::variant<SendEffect, PersistRingSeqEffect, LogLine, IpcResponse, IpcEvent, IpcDisconnect,
                 IpcRateLimit, ReadyEffect, services::ExitAction, services::ReloadConfigAction,
                 services::ReopenLogsAction, services::DumpBlackboxAction,
                 services::ClearStatsAction, services::PersistEvTrackingAction>;

// ---- inputs -----------------------------------------------------------------------------
// What libqb and the driver know of the IPC connections, taken by the driver (engine/ipc),
// for the stats.ipcs.* keys.
struct IpcConnStats {
    ConnId conn = 0;
    std::uint64_t requests = 0, responses = 0, dispatched = 0;  // libqb's requests/responses/events
    std::uint64_t send_retries = 0, recv_retries = 0;
    std::int32_t flow_control = 0;  // flow_control_state
    std::uint64_t flow_control_count = 0;
    std::int32_t queueing = 0;  // events waiting in the out-queue (corosync's context)
    std::uint32_t queued = 0, sent = 0;
};
struct IpcSnapshot {
    std::vector<IpcConnStats> conns;
    std::uint64_t closed = 0;  // connections closed since start (or stats.clear.ipc)
    // Clients cut off because their event out-queue reached its cap (engine/ipc, beyond
    // corosync): stats.totemd.ipc.overflow_disconnects.
    std::uint64_t overflow_disconnects = 0;
};

// Observation for the simulator and tests (the daemon sets none): called inside the core's
// processing, in order with its effects. `effects` is how many effects the outbox holds at that
// point, so the observer can place what it saw among the effects it takes afterwards. It reads
// (the core's const accessors), never calls an input.
class CoreObserver {
  public:
    virtual ~CoreObserver() = default;
    // A Totem configuration change, before the services see it.
    virtual void confchg(std::size_t /*effects*/, const services::ConfChg&) {}
    // An exec message of group "a" for a loaded service, before the service handles it
    // (`message` includes its header; `d` as Api::delivery() gives it to the service).
    virtual void exec(std::size_t /*effects*/, const services::Delivery& /*d*/,
                      std::uint16_t /*service*/, std::uint16_t /*fn*/, ByteView /*message*/) {}
    // Every service of the sync is activated (corosync_sync_completed).
    virtual void sync_completed(std::size_t /*effects*/) {}
};

struct CoreOptions {
    std::uint64_t stored_ring_seq = 0;  // from <state_dir>/ringid_<nodeid>
    std::uint64_t seed = 0;             // Srp's Prng
    std::optional<SrpConfig> srp;       // the Totem timers; default: conf::to_srp_config()
    services::PloadOptions pload;
    services::VotequorumOptions votequorum;  // <state_dir>/ev_tracking as read at start-up
    CoreObserver* observer = nullptr;        // not owned; outlives the core
};

class NodeCore final : private sync::Host, private services::Api {
  public:
    NodeCore(conf::Config config, CoreOptions options);
    ~NodeCore() override;
    NodeCore(const NodeCore&) = delete;
    NodeCore& operator=(const NodeCore&) = delete;

    // Extra services (the simulator's workload service, tests), made with this core's Api:
    // before start(); ids must not collide with the built-in ones. Returns the service.
    using ServiceFactory = std::function<std::unique_ptr<services::Service>(services::Api&)>;
    services::Service& add_service(const ServiceFactory& make);

    // ---- Totem ----
    void start(Instant now);                         // links are up: enter GATHER
    void on_packet(Instant now, ByteView datagram);  // one datagram from the transport
    void on_timer(Instant now);                      // next_deadline() was reached
    // The driver's pause detector fired; `epoch_ms`: wall-clock ms then (stats.schedmiss).
    void on_pause(Instant now, Duration gap, std::uint64_t epoch_ms = 0);
    // SIGTERM: unload the services (their exec_exit), send what they queued, leave the ring,
    // then Exit(0).
    void leave(Instant now, std::string reason = {});
    std::optional<Instant> next_deadline() const;

    // ---- snapshots the driver takes ----
    void update_transport(const TransportSnapshot& s) { transport_ = s; }
    void update_ipc(const IpcSnapshot& s) { ipc_ = s; }

    // ---- IPC (libqb's five callbacks) ----
    // connection_accept: 0, or -EAGAIN (not ready: before the first sync), -ENOSYS (no such
    // service), -EACCES (uid/gid not allowed).
    int ipc_accept(std::uint16_t service, std::uint32_t uid, std::uint32_t gid);
    // connection_created. False: the service refused it (disconnect).
    bool ipc_connected(Instant now, const ClientInfo& client);
    // msg_process: one request of hdr.size bytes. Returns what corosync's cs_ipcs_msg_process
    // returns (0, -EINVAL, -ENOBUFS); the response (if any) is an IpcResponse effect.
    int ipc_request(Instant now, ConnId conn, ByteView request);
    // connection_closed.
    void ipc_closed(Instant now, ConnId conn);

    // ---- outcomes of actions ----
    // The configuration file was read again (after a ReloadConfigAction): the new Config, or
    // why it could not be read.
    void reload_done(Instant now, Result<conf::Config, std::string> reloaded);
    void logs_reopened(Instant now, ConnId conn, bool ok);

    // ---- the outbox ----
    std::vector<Effect> take_effects() { return std::exchange(outbox_, {}); }

    // ---- observation (tests, the simulator, SIGUSR1's dump) ----
    const TotemStack& stack() const { return stack_; }
    const sync::Sync& sync_engine() const { return sync_; }
    bool sync_in_progress() const override { return sync_in_process_; }
    bool ipc_allowed() const { return ipc_allowed_; }
    const services::KeyStore& keys_view() const { return keys_; }
    const conf::Config& config_view() const { return config_; }
    const services::KeyStore& stats_view();
    const RingId& ring_id() const override { return ring_id_; }
    const NodeList& members() const override { return members_; }
    services::Service* service(std::uint16_t id) const;
    // Service ids in the order they were loaded (corosync's link order).
    const std::vector<std::uint16_t>& load_order() const { return load_order_; }
    // The quorum service's flag (corosync_quorum_is_quorate); true without a quorum service.
    bool quorate() const { return !quorum_ || quorum_->quorate(); }
    // Unloaded, waiting for the services' last messages to be sent before the Totem leave.
    bool draining() const { return draining_; }
    std::uint64_t sync_completions() const { return sync_completions_; }
    void check_invariants() const;

  private:
    void register_service(std::unique_ptr<services::Service> s);
    struct Conn {
        ClientInfo info;
        std::uint64_t invalid_request = 0;
        std::uint64_t overload = 0;
    };

    // ---- the processing loop ----
    template <typename F>
    void input(Instant now, F&& f);
    void run();  // takes the stack's effects one at a time, and key notifications
    void handle(StackEffect& e);
    void on_confchg(const ConfChgEffect& c);
    void on_deliver(const AppDeliverEffect& d);
    void deliver_exec(const GroupMessage& m);
    void dispatch_notifications();
    void core_key_changed(const services::Notification& n);
    void totem_key_changed(const services::Notification& n);
    void apply_reload(Result<conf::Config, std::string> reloaded);
    void update_flow_control();
    void emit_log(LogLevel level, std::string_view subsys, std::string text);
    void begin_leave(std::string reason);
    void finish_leave();

    // ---- keys ----
    void init_keys();
    void publish_service_keys(const services::ServiceInfo& info);
    void member_joined(NodeId n);
    void member_left(NodeId n);
    std::string ifaces_print(NodeId n) const;
    void refresh_stats_map();

    // ---- sync::Host ----
    bool mcast_sync(ByteView message) override;
    void sync_completed() override;
    void sync_log(LogLevel level, std::string text) override;

    // ---- services::Api ----
    NodeId my_nodeid() const override { return config_.local_nodeid; }
    Instant now() const override { return now_; }
    const conf::Config& config() const override { return config_; }
    const TransportSnapshot& transport() const override { return transport_; }
    const services::Delivery& delivery() const override { return delivery_; }
    bool mcast(ByteView message, Guarantee g) override;
    bool mcast_parts(std::span<const ByteView> parts, Guarantee g) override;
    bool room_for(std::size_t bytes) const override;
    bool mcast_group(std::string_view group, ByteView message, Guarantee g) override;
    void exclude(NodeId node) override;
    void respond(ConnId conn, Bytes response) override;
    void send_event(ConnId conn, Bytes event) override;
    void send_shared_event(ConnId conn, const SharedBytes& event) override;
    void disconnect(ConnId conn) override;
    const ClientInfo* client(ConnId conn) const override;
    void invalid_request(ConnId conn) override;
    services::KeyStore& keys() override { return keys_; }
    services::KeyStore& stats() override { return stats_; }
    void refresh_stats() override { refresh_stats_map(); }
    std::int32_t reload_status() const override { return last_reload_status_; }
    void clear_stats(std::uint8_t groups) override;
    void log(LogLevel level, std::string_view subsys, std::string text) override;
    void request(services::Action action) override;
    void shutdown(std::string reason) override;
    void quorum_initialize(const services::QuorumState& quorum) override;

    conf::Config config_;
    CoreOptions options_;
    Instant now_{};
    TotemStack stack_;
    sync::Sync sync_;
    services::KeyStore keys_;
    services::KeyStore stats_;
    std::array<std::unique_ptr<services::Service>, sync::Sync::services_max> services_{};
    std::vector<services::Service*> others_;  // services outside group "a" (config check)
    std::vector<std::unique_ptr<services::Service>> extra_;  // their ownership
    std::map<ConnId, Conn> conns_;
    TransportSnapshot transport_;
    services::Delivery delivery_;
    IpcSnapshot ipc_;

    std::vector<std::uint16_t> load_order_;  // ids of the services of group "a", as linked
    const services::QuorumState* quorum_ = nullptr;
    bool started_ = false;
    bool leaving_ = false;
    bool draining_ = false;  // services unloaded, their last messages not sent yet
    Instant drain_deadline_{};
    std::string exit_reason_;
    bool sync_in_process_ = true;  // corosync: 1 until the first sync completes
    bool ipc_allowed_ = false;
    std::uint64_t sync_completions_ = 0;
    RingId ring_id_;
    NodeList members_;
    std::uint64_t config_changes_ = 0;
    enum class QLevel : std::uint8_t { low, good, high, critical };  // TOTEM_Q_LEVEL_*
    QLevel q_level_ = QLevel::low;
    std::array<RateLimit, sync::Sync::services_max> rate_limits_{};
    std::array<bool, sync::Sync::services_max> rate_limit_set_{};
    std::vector<Effect> outbox_;
    bool in_input_ = false;
    Instant next_stats_poll_{};
    std::uint64_t ipc_closed_ = 0;
    // Scheduling pauses the driver reported (stats.schedmiss.*): the last 10.
    struct SchedMiss {
        std::uint64_t epoch_ms = 0;
        Duration gap;
    };
    std::vector<SchedMiss> schedmiss_;
    std::vector<services::TrackId> core_tracks_;  // runtime.blackbox.*, runtime.force_gather
    // A reload is being read by the driver: deliveries wait in held_.
    bool reload_pending_ = false;
    std::deque<StackEffect> held_;
    std::int32_t last_reload_status_ = 1;

    // Counted and dropped: exec messages of services this node does not load, other-endian
    // senders, malformed headers (stats.totemd.dropped.*).
    std::map<std::uint16_t, std::uint64_t> unknown_service_msgs_;
    // runtime.services.<svc>.<fn>.{tx,rx}, built once each (they are counted per message).
    const std::string& service_counter_key(std::uint16_t sid, std::uint16_t fn, bool rx);
    std::map<std::uint32_t, std::string> service_counter_keys_;
    std::uint64_t dropped_other_endian_ = 0, dropped_malformed_exec_ = 0, dropped_unknown_fn_ = 0,
                  dropped_unknown_group_ = 0;
};

}  // namespace totem::core
