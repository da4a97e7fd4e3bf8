// Sync: corosync 3.1.7's service synchronisation after a configuration change (exec/sync.c;
// shared/spec/services-and-ipc.md B2.6, B3), as a pure value.
//
// After every REGULAR configuration the members agree, one service at a time in service id
// order, that each has sent its synchronisation state: SERVICE_BUILD (every member lists the
// services it knows; ids it does not know become no-op services), then per service its
// sync_process() runs on every token this node sends until it has sent what it must, then a
// BARRIER; when every member's barrier for that service has been delivered, the service is
// activated and the next one starts. After the last one, sync is complete: the core then
// acknowledges the transitional configuration to Totem and lets IPC in.
//
// Inputs: the two configuration change calls, abort(), every message of totempg group
// "sync", and token_sent(). Outputs go through `Host`: the group "sync" messages to multicast,
// the completion, and log lines. Participants are the local services with sync callbacks.
// Pure and single-threaded; no call into Sync from inside a Host or Participant call.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.hpp"
#include "common/log_level.hpp"
#include "engine/totem/types.hpp"

namespace totem::sync {

// One local service's synchronisation callbacks (corosync's struct sync_callbacks).
class Participant {
  public:
    virtual ~Participant() = default;
    // Once per sync start, before any process call: snapshot what the service needs.
    // `trans` = the transitional members that are in the new ring, `members` = the new ring.
    virtual void sync_init(const NodeList& trans, const NodeList& members,
                           const RingId& ring_id) = 0;
    // Repeatedly, one call per token sent, until it returns true: send this service's sync
    // messages; false means "call me again" (a send found the queue full, or it waits).
    virtual bool sync_process() = 0;
    // Every member's barrier for this service arrived: apply the agreed state.
    virtual void sync_activate() = 0;
    // A new configuration change interrupted this service while it was the current one.
    virtual void sync_abort() = 0;
};

// What Sync needs from the node core.
class Host {
  public:
    virtual ~Host() = default;
    // Multicast one message to totempg group "sync", agreed. corosync ignores a refusal (and
    // its sync then waits for ever); Sync keeps the refused message and sends it again after
    // each token this node sends until the queue takes it (counted).
    virtual bool mcast_sync(ByteView message) = 0;
    // The last service was activated.
    virtual void sync_completed() = 0;
    virtual void sync_log(LogLevel level, std::string text) = 0;
};

struct SyncStats {
    std::uint64_t syncs_started = 0;
    std::uint64_t syncs_completed = 0;
    std::uint64_t syncs_aborted = 0;
    std::uint64_t old_ring_dropped = 0;  // SERVICE_BUILD / BARRIER of another ring
    std::uint64_t malformed = 0;         // group "sync" messages that do not decode
    std::uint64_t other_endian = 0;      // from a sender of the other byte order: dropped
    std::uint64_t mcast_refused = 0;     // mcast_sync() returned false (sent again later)
    std::uint64_t unknown_services = 0;  // ids added as no-op services from SERVICE_BUILDs
};

class Sync {
  public:
    static constexpr std::size_t service_list_max = 128;  // SERVICE_BUILD's list
    static constexpr std::size_t services_max = 64;       // SERVICES_COUNT_MAX

    explicit Sync(Host& host);

    // The local services that take part (those with sync callbacks), any order; the
    // participant outlives Sync. At most services_max.
    void add_service(std::uint16_t id, std::string name, Participant* participant);

    // corosync's sync_abort(): a configuration change came while a sync was in progress.
    void abort();
    // The TRANSITIONAL configuration's members (sync_save_transitional).
    void save_transitional(const NodeList& members);
    // The REGULAR configuration: start a sync with these members (sync_start).
    void start(const NodeList& members, const RingId& ring_id);
    // One message of group "sync" in agreed order (`swapped`: the sender has the other
    // byte order; such messages are counted and dropped: mixed-endian rings cannot work).
    void deliver(NodeId sender, ByteView message, bool swapped);
    // This node sent a token (corosync runs the sync job on TOTEM_CALLBACK_TOKEN_SENT).
    void token_sent();

    enum class Phase : std::uint8_t { idle, service_list_build, process, barrier };
    Phase phase() const { return phase_; }
    // The service being synchronised (process or barrier phase).
    std::optional<std::uint16_t> current_service() const;
    const RingId& ring_id() const { return ring_id_; }
    const SyncStats& stats() const { return stats_; }
    // The ids of the services of the current sync, in order (locally known and dummies).
    std::vector<std::uint16_t> service_ids() const;

    // Aborts (TOTEM_ASSERT) when an internal invariant does not hold.
    void check_invariants() const;

  private:
    struct Entry {
        std::uint16_t id = 0;
        std::string name;
        Participant* participant = nullptr;  // nullptr: a service only another node knows
        bool activated = false;
    };
    struct Member {
        NodeId nodeid = 0;
        bool received = false;
    };

    void on_service_build(NodeId sender, ByteView message);
    void on_barrier(NodeId sender, ByteView message);
    void process_enter();
    void call_init();
    void mark(NodeId sender);
    bool all_received() const;
    bool current_ring(const RingId& r) const { return ring_valid_ && r == ring_id_; }
    // Multicast `m`, or keep it as pending_ when the queue refuses it.
    void send(Bytes m);

    Host& host_;
    std::vector<Entry> local_;     // registered services, ascending id
    std::vector<Entry> services_;  // the current sync's list, ascending id
    std::vector<Member> members_;
    NodeList member_list_, trans_list_;
    RingId ring_id_;
    bool ring_valid_ = false;  // false after abort: late messages of the old ring are dropped
    Phase phase_ = Phase::idle;
    std::size_t index_ = 0;
    bool job_ = false;  // the per-token process job is scheduled
    // A SERVICE_BUILD or BARRIER of this sync that the queue refused: sent again at each
    // token_sent() before anything else (a sync has at most one unsent message: the next one
    // is sent only once this one is delivered everywhere).
    std::optional<Bytes> pending_;
    SyncStats stats_;
};

}  // namespace totem::sync
