// Srp: the Totem single-ring ordering and membership protocol (corosync's totemsrp) as a pure
// state machine.
//
// A value with an outbox. Each input is one method call — start(), on_packet(), on_timer(),
// submit(), trans_ack(), leave(), on_pause() — taking the current time as a value. Outputs
// (datagrams to send, deliveries upward, configuration changes, the ring seq to persist, log
// lines) are appended to the outbox in the order they happen; the driver takes them after the
// call returns and executes them. Timers are named deadlines kept inside; the driver asks
// next_deadline() and calls on_timer(now) when it is reached.
//
// No sockets, clocks, threads or I/O here (shared/DESIGN.md rule 1). Single-threaded: all calls
// come from the one loop that owns the node. The behaviour follows shared/spec/totem-wire.md §5;
// deviations from corosync are listed in docs/protocol/deviations.md.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "common/bytes.hpp"
#include "common/prng.hpp"
#include "engine/totem/config.hpp"
#include "engine/totem/srp_stats.hpp"
#include "engine/totem/types.hpp"
#include "engine/totem/wire.hpp"

namespace totem {

enum class MembState : std::uint8_t { operational = 1, gather = 2, commit = 3, recovery = 4 };
std::string_view to_string(MembState s);

enum class TimerId : std::uint8_t {
    token,             // token loss
    token_retransmit,  // re-send the last token sent
    token_hold,        // rep: send the held token
    merge_detect,      // rep: broadcast MERGE_DETECT while idle
    join,              // GATHER: re-broadcast JOIN
    consensus,         // GATHER: consensus timeout
    heartbeat,         // optional (heartbeat_failures_allowed)
    token_warning,     // log only
    count
};
std::string_view to_string(TimerId t);

enum class Guarantee : std::int32_t { agreed = 0, safe = 1 };

enum class ConfChgType : std::uint8_t { transitional = 0, regular = 1 };

// Why this node entered GATHER (and so why the next configuration change happens).
enum class GatherReason : std::uint8_t {
    startup,             // links came up
    token_lost,          // the token timer fired in OPERATIONAL
    heartbeat_lost,      // heartbeat timer fired
    join_received,       // a JOIN from `node` brought news
    merge_detect,        // MERGE_DETECT from another ring's rep `node`
    foreign_message,     // an MCAST of another ring from `node`
    failed_to_receive,   // I kept the ring's aru back too long and excluded myself
    consensus_timeout,   // nodes did not agree in time; `node` is the first newly failed
    commit_lost,         // token timer fired in COMMIT
    recovery_lost,       // token timer fired in RECOVERY
    commit_interrupted,  // a JOIN from a new-ring member in COMMIT/RECOVERY
    leave,               // `node` left the ring orderly
    pause,               // a scheduling pause was detected before the token was lost
    count
};
std::string_view to_string(GatherReason r);

// ---- effects -----------------------------------------------------------------------------
struct SendEffect {
    NodeId target = 0;  // 0: broadcast to every node (including this one)
    Bytes datagram;     // a complete Totem message
};
struct DeliverEffect {
    NodeId sender = 0;        // originator of the message
    Bytes payload;            // the totempg packet carried by the MCAST
    bool swapped = false;     // the payload is in the other byte order
    Guarantee guarantee = Guarantee::agreed;
};
struct ConfChgEffect {
    ConfChgType type = ConfChgType::regular;
    NodeList members;
    NodeList left;
    NodeList joined;
    RingId ring_id;
};
struct PersistRingSeqEffect {
    std::uint64_t seq = 0;  // write to the ring id file before acting on the new ring
};
enum class LogLevel : std::uint8_t { debug, info, notice, warning, error };
struct LogEffect {
    LogLevel level = LogLevel::info;
    std::string text;
};
using Effect =
    std::variant<SendEffect, DeliverEffect, ConfChgEffect, PersistRingSeqEffect, LogEffect>;

// ---- the state machine --------------------------------------------------------------------
class Srp {
public:
    // `stored_ring_seq`: the value read from stable storage (ringid_<nodeid>), 0 if none.
    // `seed`: for the optional random send_join delay only.
    Srp(const SrpConfig& config, NodeId my_id, std::uint64_t stored_ring_seq, std::uint64_t seed);

    // Links are up: load the ring id (stored + 1) and enter GATHER.
    void start(Instant now);
    // One datagram as received from the transport (which already dropped unauthenticated ones).
    void on_packet(Instant now, ByteView datagram);
    // Fires every timer whose deadline is <= now, in TimerId order.
    void on_timer(Instant now);
    // Queue one totempg packet (≤ max_payload()) for ordered broadcast. False when the send
    // queue is full (the caller retries later; nothing was queued).
    bool submit(Instant now, ByteView payload, Guarantee g = Guarantee::agreed);
    // The upper layer finished synchronising after the last configuration change.
    void trans_ack();
    // Orderly shutdown: broadcast a LEAVE so the others re-form at once.
    void leave(Instant now);
    // The driver noticed that the process was not scheduled for `gap`.
    void on_pause(Instant now, Duration gap);

    std::optional<Instant> next_deadline() const;

    // Called during token processing, before this node sends (totempg flushes its packing
    // buffer here). It may call submit().
    void set_token_received_hook(std::function<void(Instant)> hook) {
        token_received_hook_ = std::move(hook);
    }

    std::vector<Effect>& outbox() { return outbox_; }
    std::vector<Effect> take_outbox() { return std::exchange(outbox_, {}); }

    // ---- observation (cmap runtime.* / stats.srp.*) ----
    MembState state() const { return memb_state_; }
    NodeId my_id() const { return my_id_; }
    const RingId& ring_id() const { return my_ring_id_; }
    const NodeList& members() const { return my_memb_list_; }
    const SrpStats& stats() const { return stats_; }
    std::size_t send_queue_avail() const;
    std::size_t max_payload() const { return config_.net_mtu - 2 * wire::mcast_header_size; }
    bool waiting_trans_ack() const { return waiting_trans_ack_; }
    std::uint32_t my_aru() const { return my_aru_; }
    std::uint32_t high_delivered() const { return my_high_delivered_; }

    // Test hook: checks internal invariants, asserting (TOTEM_ASSERT) on violation.
    void check_invariants() const;

    static constexpr std::size_t queue_window = 16384;  // QUEUE_RTR_ITEMS_SIZE_MAX
    static constexpr std::size_t send_queue_max = 16384;

private:
    struct Stored;
    class SortQueue;
    struct Impl;
    std::unique_ptr<Impl> impl_;

    // Fields the header exposes cheaply; the rest lives in Impl.
    SrpConfig config_;
    NodeId my_id_;
    MembState memb_state_ = MembState::operational;
    RingId my_ring_id_;
    NodeList my_memb_list_;
    std::uint32_t my_aru_ = 0;
    std::uint32_t my_high_delivered_ = 0;
    bool waiting_trans_ack_ = true;
    SrpStats stats_;
    std::vector<Effect> outbox_;
    std::function<void(Instant)> token_received_hook_;

public:
    ~Srp();
    Srp(Srp&&) noexcept;
    Srp& operator=(Srp&&) noexcept;
};

}  // namespace totem
