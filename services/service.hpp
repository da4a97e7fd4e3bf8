// Service: one corosync service engine (cmap, cfg, cpg, quorum, votequorum, pload, ...) as the
// node core (engine/core) hosts it — corosync's struct corosync_service_engine, typed.
//
// A service has two tables of handlers indexed by message id: requests of its IPC clients
// (lib_request) and cluster-wide exec messages (exec), plus optional synchronisation callbacks
// (sync::Participant), configuration change and key-change notifications, and timers. All
// state changes happen when an exec message is delivered (in the agreed order, at every member
// alike), never at send time; a request only sends and answers.
//
// A service reaches the rest of the node only through `Api` (corosync's corosync_api_v1):
// multicast, answering clients, the key store, logging, actions only the driver can take. Pure:
// no sockets, clocks, threads or libqb here or in any service (shared/DESIGN.md rule 1); time
// comes from Api::now(). Single-threaded; the core never calls a service re-entrantly.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "common/bytes.hpp"
#include "common/log_level.hpp"
#include "common/node_status.hpp"
#include "common/shared_bytes.hpp"
#include "conf/config.hpp"
#include "engine/sync/sync.hpp"
#include "engine/totem/srp.hpp"
#include "engine/totem/types.hpp"
#include "services/keystore.hpp"
#include "services/quorum_provider.hpp"

namespace totem::services {

// The driver's name for one IPC connection; never reused within a process.
using ConnId = std::uint64_t;

// What corosync's ipc_glue knows of a client when its connection is created.
struct ClientInfo {
    ConnId conn = 0;
    std::uint16_t service = 0;
    std::int32_t pid = 0;
    std::uint32_t uid = 0;
    std::uint32_t gid = 0;
    std::string procname;        // from /proc/<pid>/stat, as the stats.ipcs keys show it
    std::uintptr_t pointer = 0;  // libqb's connection pointer, for the stats.ipcs key names
};

enum class FlowControl : std::uint8_t {
    not_required,  // CS_LIB_FLOW_CONTROL_NOT_REQUIRED: always admitted
    required,      // CS_LIB_FLOW_CONTROL_REQUIRED: needs Totem queue room and no sync running
};

// A configuration change as Totem reports it (two per membership change).
struct ConfChg {
    ConfChgType type = ConfChgType::regular;
    NodeList members;
    NodeList left;
    NodeList joined;
    RingId ring_id;
};

// Actions only the driver can take; the core forwards them as effects.
struct ExitAction {  // the daemon ends (kill node: status 1 = corosync's fatal error exit)
    int status = 0;
    std::string reason;
};
struct ReloadConfigAction {};  // read and parse the config file again, then Core::reload_done()
struct ReopenLogsAction {      // reopen the log files, then Core::logs_reopened()
    ConnId conn = 0;
};
struct DumpBlackboxAction {};  // write the flight recorder (runtime.blackbox.dump_flight_data)
struct ClearStatsAction {      // stats.clear.knet / .ipc: the transport's and libqb's counters
    std::uint8_t groups = 0;   // kStatsClear* bits
};
// votequorum's expected_votes_tracking barrier: store it in <state_dir>/ev_tracking (4 bytes,
// host order, synced), as corosync's update_ev_tracking_barrier does. Read back at start-up
// by the driver (services::VotequorumOptions).
struct PersistEvTrackingAction {
    std::uint32_t barrier = 0;
};
using Action = std::variant<ExitAction, ReloadConfigAction, ReopenLogsAction, DumpBlackboxAction,
                            ClearStatsAction, PersistEvTrackingAction>;

// The exec message being delivered (valid during Service::exec()).
struct Delivery {
    NodeId sender = 0;
    Guarantee guarantee = Guarantee::agreed;  // of the totempg packet that completed it
    RingId sent_ring;                         // the ring it was sent in
};

class Api {
  public:
    virtual ~Api() = default;

    // ---- the node and its ring ----
    virtual NodeId my_nodeid() const = 0;
    virtual Instant now() const = 0;
    virtual const RingId& ring_id() const = 0;    // the last regular configuration's
    virtual const NodeList& members() const = 0;  // its members, ascending
    virtual bool sync_in_progress() const = 0;
    virtual const conf::Config& config() const = 0;  // as started, or as last reloaded
    virtual const TransportSnapshot& transport() const = 0;

    virtual const Delivery& delivery() const = 0;

    // ---- cluster messages ----
    // One exec message (qb request header + body; id = service << 16 | fn) to totempg group
    // "a" with guarantee `g`; counts runtime.services.<svc>.<fn>.tx. False when the Totem
    // queue has no room (nothing was queued).
    virtual bool mcast(ByteView message, Guarantee g = Guarantee::agreed) = 0;
    // The same in parts (corosync's iovecs), sent as one message.
    virtual bool mcast_parts(std::span<const ByteView> parts, Guarantee g = Guarantee::agreed) = 0;
    // Whether a message of `bytes` would be accepted now.
    virtual bool room_for(std::size_t bytes) const = 0;
    // A message to another totempg group (a totemd-only service's own group).
    virtual bool mcast_group(std::string_view group, ByteView message, Guarantee g) = 0;
    // Refuse `node` from now on: Totem ignores it and the ring re-forms without it.
    virtual void exclude(NodeId node) = 0;

    // ---- clients ----
    virtual void respond(ConnId conn, Bytes response) = 0;
    virtual void send_event(ConnId conn, Bytes event) = 0;
    // The same event to several clients: each gets a reference to the one encoding (the
    // bytes never change once shared). By default a copy each, for Api fakes.
    virtual void send_shared_event(ConnId conn, const SharedBytes& event) {
        send_event(conn, event.to_bytes());
    }
    virtual void disconnect(ConnId conn) = 0;
    virtual const ClientInfo* client(ConnId conn) const = 0;
    // The request being handled was malformed (the service answered CS_ERR_INVALID_PARAM):
    // counted in that connection's stats.ipcs.*.invalid_request, beside the requests the core
    // itself refuses as corosync's ipc_glue.c does.
    virtual void invalid_request(ConnId conn) = 0;

    // ---- keys ----
    virtual KeyStore& keys() = 0;   // corosync's icmap
    virtual KeyStore& stats() = 0;  // the stats map, refreshed on every read
    virtual void refresh_stats() = 0;
    // stats.clear.*: clear the counters of these groups (kStatsClear* bits).
    virtual void clear_stats(std::uint8_t groups) = 0;
    // config.reload_status of the last reload (a cs_error_t).
    virtual std::int32_t reload_status() const = 0;

    // ---- the rest ----
    virtual void log(LogLevel level, std::string_view subsys, std::string text) = 0;
    virtual void request(Action action) = 0;
    // Orderly shutdown of this node (cfg SHUTDOWN): leave the ring, then exit 0.
    virtual void shutdown(std::string reason) = 0;

    // ---- quorum ----
    // The quorum service registers the quorate flag the core reads for IPC admission and flow
    // control (corosync's api->quorum_initialize). Without one the node counts as quorate.
    virtual void quorum_initialize(const QuorumState& quorum) = 0;
};

// What a service is, for the registry and the cmap keys corosync publishes about it.
struct ServiceInfo {
    std::uint16_t id = 0;          // corosync's service id (exec id = id << 16 | fn)
    std::string_view short_name;   // "cmap": IPC server name, runtime.services.<short_name>
    std::string_view engine_name;  // "corosync configuration map access" (log lines)
    std::string_view config_name;  // "corosync_cmap": internal_configuration.service.<id>.name
    std::uint16_t exec_count = 0;  // exec handlers: fn >= exec_count is discarded
    std::uint16_t lib_count = 0;   // IPC handlers: 0 = no IPC server
    // The totempg group its messages travel in: "a" for every corosync service (dispatched by
    // id); another name for a totemd-only service outside corosync's id space (the config
    // check), whose messages all go to exec() with fn 0.
    std::string_view group = "a";
    // Unload order at shutdown: higher first, then by id (corosync's .priority).
    std::uint8_t priority = 1;
    // Serve IPC while this node is inquorate (CS_LIB_ALLOW_INQUORATE: all five IPC services);
    // otherwise requests get CS_ERR_TRY_AGAIN and the server's rate is RATE_OFF then.
    bool allow_inquorate = true;
};

class Service {
  public:
    explicit Service(Api& api) : api_(api) {}
    virtual ~Service() = default;
    Service(const Service&) = delete;
    Service& operator=(const Service&) = delete;

    virtual ServiceInfo info() const = 0;

    // ---- exec: one message of this service in agreed order, from `sender`. `fn` <
    // info().exec_count; the message includes its 16-byte header.
    virtual void exec(NodeId sender, std::uint16_t fn, ByteView message) = 0;

    // ---- IPC: only called when info().lib_count > 0.
    // Whether request `id` (< lib_count) needs flow control.
    virtual FlowControl flow_control(std::int32_t id) const = 0;
    // A client connected (corosync's lib_init_fn); false disconnects it.
    virtual bool lib_init(const ClientInfo&) { return true; }
    // A client went away (lib_exit_fn): forget its state.
    virtual void lib_exit(ConnId) {}
    // One admitted request (header included); the service answers through Api::respond().
    virtual void lib_request(ConnId, std::int32_t /*id*/, ByteView /*request*/) {}

    // ---- synchronisation: the service's participant, or nullptr (no sync callbacks).
    virtual sync::Participant* sync() { return nullptr; }

    // ---- Totem configuration changes (corosync's confchg_fn), before sync starts.
    virtual void confchg(const ConfChg&) {}

    // ---- a key of the key store or the stats map changed, for a tracker of this service's
    // (every service sees every notification; each acts on the TrackIds it added).
    virtual void key_changed(const Notification&) {}

    // ---- this node leaves (SIGTERM, cfg shutdown): corosync's exec_exit_fn, called in unload
    // order before the node leaves the ring. What it multicasts is sent before the leave.
    virtual void exec_exit() {}

    // ---- the daemon's configuration was reloaded (after cfg RELOAD_CONFIG).
    virtual void config_reloaded() {}
    // ---- the driver reopened the log files that `conn` asked for (cfg REOPEN_LOG_FILES).
    virtual void logs_reopened(ConnId, bool /*ok*/) {}

    // ---- timers: the service's next deadline, and its expiry.
    virtual std::optional<Instant> next_deadline() const { return std::nullopt; }
    virtual void on_timer(Instant /*now*/) {}

    // ---- totemd's own counters of this service, (name, value) pairs the core publishes in
    // the stats map as stats.totemd.<short_name>.<name> whenever it refreshes the map.
    virtual void stats_keys(std::vector<std::pair<std::string, std::uint64_t>>&) const {}

    // Aborts (TOTEM_ASSERT) when an internal invariant does not hold.
    virtual void check_invariants() const {}

  protected:
    Api& api_;
};

}  // namespace totem::services
