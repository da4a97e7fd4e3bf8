// Server: totemd's libqb IPC server (corosync's exec/ipc_glue.c), on the daemon's one
// boost::asio::io_context, with no threads (services-and-ipc.md A1; docs/protocol/ipc-server.md).
//
// One libqb service per corosync service (`cmap`, `cfg`, `cpg`, `quorum`, `votequorum`):
// qb_ipcs_create + qb_ipcs_run with libqb's poll handlers bridged into the io_context
// (poll_bridge.hpp). libqb stays inside: the Handler sees a ConnId of ours (never reused in a
// process) and request bytes, never a libqb handle. The decisions that belong to the core —
// whom to admit, what a request means and what to answer — are the Handler's; this layer only
// frames, counts, and queues events.
//
// Events go as corosync sends them: qb_ipcs_event_send; on -EAGAIN (the client's event ring is
// full) a copy waits in a per-connection FIFO that a high-priority job flushes, and every later
// event of that connection queues behind it, in order. Beyond corosync, the FIFO has a cap in
// bytes (Options::event_queue_max_bytes): an event that would pass it disconnects that one
// client (logged with its pid, process name and service; counted), unless the client has sent
// requests since its queue began: then the limit is kEventQueueSendingFactor times the cap.
//
// Re-entrancy: the Handler may call respond(), send_event(), disconnect() and rate_limit() from
// inside its callbacks. disconnect() takes effect from a job after the current callback returns
// (libqb frees a connection that is disconnected inside its own msg_process and then touches it);
// on_closed() follows.
//
// Single-threaded: every method and every Handler call runs on the io_context's thread.
#pragma once

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/bytes.hpp"
#include "common/log_level.hpp"
#include "common/result.hpp"
#include "common/shared_bytes.hpp"
#include "engine/ipc/poll_bridge.hpp"

namespace totem::ipc {

using ConnId = std::uint64_t;  // ours, never reused within a process; 0 = none

// enum qb_ipcs_rate_limit, same order and values.
enum class RateLimit : std::uint8_t { fast = 0, normal = 1, slow = 2, off = 3, off_2 = 4 };

// The default cap on one connection's event out-queue (bytes of queued events, beyond what the
// client's event ring holds). corosync has no cap. 32 MiB is 32 full rings of the 1 MiB every
// corosync library asks for: far more than a client that is merely slow ever falls behind, and
// it bounds what one stuck client (a stopped process that keeps its connection) costs.
inline constexpr std::size_t kEventQueueMaxBytesDefault = std::size_t{32} << 20;
// A client that has sent requests since its queue began is busy sending, not stuck: its limit is
// this many times the cap (256 MiB by default; bench/results/2026-12-02-findings.md: 5 nodes each
// flooding 1 MiB messages passed 32 MiB at clients that were reading between their sends).
inline constexpr std::size_t kEventQueueSendingFactor = 8;

// How often a connection with queued events retries after its event ring was still full.
// corosync re-adds a qb_loop job, which an otherwise idle qb_loop runs every ≤ 50 ms.
inline constexpr std::chrono::milliseconds kEventRetryInterval{2};

struct ConnInfo {
    ConnId id = 0;
    std::uint16_t service = 0;
    pid_t pid = 0;
    uid_t uid = 0;
    gid_t gid = 0;
    std::string procname;       // from /proc/<pid>/stat, as corosync reads it; "" if unreadable
    std::uintptr_t qb_ptr = 0;  // libqb's connection pointer: stats.ipcs.service<id>.<pid>.<%p>
};

struct ConnStats {
    // libqb's (qb_ipcs_connection_stats_2).
    std::int32_t client_pid = 0;
    std::uint64_t requests = 0;
    std::uint64_t responses = 0;
    std::uint64_t events = 0;  // the stats key "dispatched"
    std::uint64_t send_retries = 0;
    std::uint64_t recv_retries = 0;
    std::int32_t flow_control_state = 0;  // 0, 1 (RATE_OFF) or 2 (RATE_OFF_2)
    std::uint64_t flow_control_count = 0;
    std::uint32_t event_q_length = 0;  // chunks in the event ring now
    // corosync's cs_ipcs_conn_context, same meaning (stats.ipcs.* keys).
    std::int32_t queueing = 0;          // 1 while the out-queue is in use
    std::uint32_t queued = 0;           // events in the out-queue now
    std::uint64_t invalid_request = 0;  // on_request returned -EINVAL
    std::uint64_t overload = 0;         // on_request returned another negative errno
    std::uint32_t sent = 0;  // events sent since queueing last started or ended (corosync's)
    // Ours.
    std::size_t queued_bytes = 0;       // bytes in the out-queue now
    std::size_t queued_bytes_peak = 0;  // the most it held
    std::uint64_t events_dropped = 0;   // not sent: too big, send error, or disconnecting
    std::uint64_t responses_failed = 0;
    bool overflow_disconnect = false;  // the cap was hit: disconnect pending
};

struct GlobalStats {
    std::uint64_t active = 0;                // stats.ipcs.global.active
    std::uint64_t closed = 0;                // stats.ipcs.global.closed
    std::uint64_t overflow_disconnects = 0;  // ours: clients cut off by the event cap
    std::uint64_t framing_errors = 0;        // ours: a request whose header size is out of bounds
};

enum class EventResult : std::uint8_t {
    sent,           // in the client's event ring
    queued,         // in the out-queue (ring full, or others already waiting)
    too_big,        // larger than the connection's buffer: libqb would never send it
    failed,         // qb_ipcs_event_send failed otherwise (logged)
    disconnecting,  // the connection is being closed (cap hit, or disconnect() called)
    no_connection   // unknown ConnId
};

class Handler {
  public:
    virtual ~Handler() = default;
    // connection_accept: 0 to admit, or a negative errno the client's connect returns
    // (-EAGAIN → CS_ERR_TRY_AGAIN, -EACCES → CS_ERR_ACCESS, ...). A pure decision: a
    // connection admitted here may still fail in libqb's set-up, and then on_connected never
    // comes.
    virtual int on_accept(std::uint16_t service, uid_t uid, gid_t gid) = 0;
    // connection_created: the connection is usable (corosync's lib_init_fn goes here; to refuse
    // it now, call Server::disconnect).
    virtual void on_connected(const ConnInfo& info) = 0;
    // One request, `request.size()` = the header's size (at least 16, at most the connection's
    // buffer: others are framing errors, and the client is disconnected without a call). The
    // bytes are a private copy, valid for the call; past the chunk the client wrote (a header
    // size larger than what was sent) they are stale bytes of the same connection.
    // Returns what corosync's msg_process returns: 0, or a negative errno after it answered
    // (-EINVAL: invalid_request, other: overload). Answers go through Server::respond().
    virtual int on_request(ConnId id, ByteView request) = 0;
    // connection_closed: the last call for this ConnId.
    virtual void on_closed(ConnId id) = 0;
};

struct Options {
    std::string type = "native";  // system.qb_ipc_type: native | shm | socket (else: native)
    std::size_t event_queue_max_bytes = kEventQueueMaxBytesDefault;
    std::function<void(LogLevel, std::string_view)> log;  // our lines; libqb logs via qb_log
};

// corosync's pid_to_name: the text between the last '(' and the last ')' of the first line
// of /proc/<pid>/stat, at most 31 bytes; nullopt if it is not of that form.
std::optional<std::string> procname_from_stat(std::string_view stat_line);

class Server {
  public:
    Server(boost::asio::io_context& io, Handler& handler, Options options);
    ~Server();  // shutdown()
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // qb_ipcs_create + qb_ipcs_run: listens on the abstract socket `name`. Errors: the id or
    // name already used here, a name over 255 bytes, or libqb's (the name in use by another
    // process: "Address already in use").
    Result<std::monostate, std::string> add_service(std::uint16_t id, const std::string& name);

    // qb_ipcs_response_send; true if all of it went. The response ring is what the client reads
    // in its sendv_recv: never larger than the client's buffer for that call.
    bool respond(ConnId id, ByteView response);
    // qb_ipcs_event_send, with the out-queue and its cap (see above).
    EventResult send_event(ConnId id, ByteView event);
    // The same for an event that several clients get: queued, it is shared, not copied.
    EventResult send_event(ConnId id, const SharedBytes& event);
    // Closes the connection from a job (see above); unknown ids are ignored.
    void disconnect(ConnId id);
    // qb_ipcs_request_rate_limit on the service; also applied to connections that come later
    // (libqb only sets the flow-control word of connections that exist at the call).
    void rate_limit(std::uint16_t service, RateLimit limit);

    std::optional<ConnStats> stats(ConnId id) const;
    std::optional<ConnInfo> info(ConnId id) const;
    std::vector<ConnInfo> connections() const;  // in ConnId order
    GlobalStats global_stats() const;
    // stats.clear.ipc: libqb's per-connection counters and corosync's invalid_request,
    // overload and sent; the global closed and overflow counters (active stays true).
    void clear_stats();

    // Destroys every service (each connection's on_closed runs first) and closes what libqb
    // still had open. Idempotent; the destructor calls it.
    void shutdown();

    const PollBridge& bridge() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

std::string_view to_string(RateLimit r);
std::string_view to_string(EventResult r);

}  // namespace totem::ipc
