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
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "common/assert.hpp"
#include "common/bytes.hpp"
#include "common/log_level.hpp"
#include "common/prng.hpp"
#include "common/shared_bytes.hpp"
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

// A message's guarantee, as the MCAST header's `guarantee` field carries it (corosync's
// receivers ignore the field; spec §5.13):
//   agreed         0: TOTEM_AGREED;
//   corosync_safe  1: TOTEM_SAFE as corosync 3.1.7 sends it (cfg's kill, shutdown and reload).
//                     corosync has no safe delivery: it delivers these agreed, on receipt, and
//                     so does totemd; a reload that removes a node then applies everywhere in
//                     the round it was sent, as on corosync (docs/protocol/deviations.md);
//   safe           2: totemd's safe delivery (CPG_TYPE_SAFE, the totemd config check): held
//                     until every member has it. corosync never sends 2 and delivers it agreed.
enum class Guarantee : std::int32_t { agreed = 0, corosync_safe = 1, safe = 2 };

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
    config_mismatch,     // `node` runs with another cluster_name or nodelist: refused
    count
};
std::string_view to_string(GatherReason r);

// ---- effects -----------------------------------------------------------------------------
struct SendEffect {
    NodeId target = 0;  // 0: broadcast to every node (including this one)
    Bytes datagram;     // a complete Totem message
};
struct DeliverEffect {
    NodeId sender = 0;  // originator of the message
    // The totempg packet carried by the MCAST: a view into the stored datagram, which it
    // shares (Srp's stored messages are immutable: shared_ptr<const StoredMsg>).
    SharedBytes payload;
    bool swapped = false;  // the payload is in the other byte order
    Guarantee guarantee = Guarantee::agreed;
    // The ring the MCAST was sent in: its header's ring id (for a message recovered in
    // RECOVERY, the old ring's, from the encapsulated header).
    RingId ring_id;
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
struct LogEffect {
    LogLevel level = LogLevel::info;
    std::string text;
};
// This node sent (or, as the representative, held) a token of its ring: what corosync's
// TOTEM_CALLBACK_TOKEN_SENT callbacks run on — the sync layer's per-token work (schedwrk).
struct TokenSentEffect {};
using Effect = std::variant<SendEffect, DeliverEffect, ConfChgEffect, PersistRingSeqEffect,
                            LogEffect, TokenSentEffect>;

// What an upper layer holds back for the token (totempg's partly filled packing buffer). Srp
// pulls it while it processes a valid token, before it sends: the returned packet is queued
// behind what submit() queued. The source must not call into Srp (it is given the two numbers
// it needs instead).
class TokenSource {
  public:
    virtual ~TokenSource() = default;
    struct Packet {
        Bytes payload;
        Guarantee guarantee = Guarantee::agreed;
        std::uint64_t tag = 0;  // the source's name for it (see submit())
    };
    // `slots_avail`: free slots of the send queue; `oldest_unsent`: the lowest tag of the
    // packets queued and not yet sent on the wire (none: all were sent).
    virtual std::optional<Packet> take_for_token(std::size_t slots_avail,
                                                 std::optional<std::uint64_t> oldest_unsent) = 0;
};

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
    // queue is full (the caller retries later; nothing was queued); `force` ignores the limit
    // (a re-pack of what was queued before, bounded by one message). `tag`: the caller's name
    // for the packet (totempg's emission index), reported back by unsent_tags(). The packet
    // goes to the queue of the moment — the transitional one while the transitional
    // configuration is not acknowledged — unless `to_trans_queue` names one (a re-pack puts a
    // message back where it was).
    bool submit(Instant now, ByteView payload, Guarantee g = Guarantee::agreed, bool force = false,
                std::uint64_t tag = 0, std::optional<bool> to_trans_queue = std::nullopt);
    // Packets queued by submit() and not sent yet.
    std::size_t pending_packets() const { return new_q_.size() + new_q_trans_.size(); }
    // Their tags, ascending; the lowest of them.
    std::vector<std::uint64_t> unsent_tags() const;
    std::optional<std::uint64_t> oldest_unsent_tag() const;
    // Forgets the queued packets with these tags (the upper layer re-packs them after a
    // configuration change); returns, per tag dropped, whether it was in the transitional queue.
    std::map<std::uint64_t, bool> drop_pending(const std::vector<std::uint64_t>& tags);
    // The upper layer finished synchronising after the last configuration change.
    void trans_ack();
    // Orderly shutdown: broadcast a LEAVE so the others re-form at once.
    void leave(Instant now);
    // The driver noticed that the process was not scheduled for `gap`.
    void on_pause(Instant now, Duration gap);
    // A reloaded configuration: the new timers and limits take effect from now on (the MTU
    // stays, corosync cannot change it at run time either).
    const SrpConfig& config() const { return config_; }
    void reconfigure(const SrpConfig& c) {
        const std::uint32_t mtu = config_.net_mtu;
        config_ = c;
        config_.net_mtu = mtu;
    }
    // runtime.force_gather: act as if the token timer had expired (corosync's
    // totemsrp_force_gather).
    void force_gather(Instant now) {
        TOTEM_ASSERT(outbox_.empty());
        if (started_ && !left_)
            fire(now, TimerId::token);
    }

    std::optional<Instant> next_deadline() const;

    // Asked during token processing, before this node sends (totempg's packing buffer).
    void set_token_source(TokenSource* source) { token_source_ = source; }

    std::vector<Effect>& outbox() { return outbox_; }
    bool outbox_empty() const { return outbox_.empty(); }
    std::vector<Effect> take_outbox() { return std::exchange(outbox_, {}); }

    // ---- observation (cmap runtime.* / stats.srp.*) ----
    MembState state() const { return memb_state_; }
    NodeId my_id() const { return my_id_; }
    const RingId& ring_id() const { return my_ring_id_; }
    const NodeList& members() const { return my_memb_list_; }
    const SrpStats& stats() const { return stats_; }
    // stats.clear.totem (corosync's totemsrp_stats_clear).
    void clear_stats() { stats_ = SrpStats{}; }
    std::size_t send_queue_avail() const;
    std::size_t send_queue_max() const { return send_queue_max_; }
    // When the last valid token of this ring arrived (stats.srp.time_since_token_last_received).
    std::optional<Instant> last_token_rx() const { return last_token_rx_; }
    std::size_t max_payload() const { return config_.net_mtu - 2 * wire::mcast_header_size; }
    bool waiting_trans_ack() const { return waiting_trans_ack_; }
    std::uint32_t my_aru() const { return my_aru_; }
    std::uint32_t high_delivered() const { return my_high_delivered_; }

    static constexpr std::uint32_t queue_window = 16384;  // QUEUE_RTR_ITEMS_SIZE_MAX

    // Test hook: checks internal invariants, aborting (TOTEM_ASSERT) on violation.
    void check_invariants() const;

    // The other effect of a new message (corosync's totemsrp_event_signal): a node that marked
    // the token "held" while the ring was idle asks the rep to release it (TOKEN_HOLD_CANCEL).
    void signal_new_message(Instant now);

    // Refuses `node` from now on (its configuration differs from ours, as a check between
    // totemd nodes found): its JOIN, MERGE_DETECT and foreign MCAST are ignored, and if it is a
    // member of the current ring, the ring re-forms without it. A local decision: corosync
    // nodes never send the check, so they are never refused.
    void exclude(Instant now, NodeId node);
    const NodeList& excluded() const { return excluded_; }

    // Why the last GATHER was entered, and the node it names (0 if none).
    GatherReason last_gather_reason() const { return last_gather_reason_; }
    NodeId last_gather_node() const { return last_gather_node_; }

  private:
    struct StoredMsg {
        Bytes raw;             // the datagram exactly as received or sent
        wire::McastHeader h;   // its header in host values
        bool swapped = false;  // raw is in the other byte order
    };
    using MsgPtr = std::shared_ptr<const StoredMsg>;

    // corosync's sq: messages by seq inside a window of queue_window seqs from head_seqid.
    class SortQueue {
      public:
        void reinit(std::uint32_t head_seqid);
        bool in_range(std::uint32_t seq) const;
        bool inuse(std::uint32_t seq) const { return items_.count(seq) != 0; }
        const MsgPtr* get(std::uint32_t seq) const;
        void add(std::uint32_t seq, MsgPtr m);
        std::uint32_t miss_count(std::uint32_t seq) { return ++miss_[seq]; }
        void release(std::uint32_t upto);  // frees every seq <= upto; head = upto + 1
        std::size_t size() const { return items_.size(); }
        std::uint32_t head() const { return head_seqid_; }

      private:
        std::uint32_t head_seqid_ = 0;
        std::map<std::uint32_t, MsgPtr> items_;
        std::map<std::uint32_t, std::uint32_t> miss_;
    };

    struct Pending {
        Bytes payload;
        Guarantee guarantee = Guarantee::agreed;
        std::uint64_t tag = 0;
    };

    // ---- handlers (one per message type), each validates and dispatches ----
    void handle_orf_token(Instant now, ByteView datagram);
    void handle_mcast(Instant now, ByteView datagram);
    void handle_merge_detect(Instant now, ByteView datagram);
    void handle_join(Instant now, ByteView datagram);
    void handle_commit_token(Instant now, ByteView datagram);
    void handle_token_hold_cancel(Instant now, ByteView datagram);
    void count_drop(wire::DecodeError e);

    // ---- membership ----
    void gather_enter(Instant now, GatherReason reason, NodeId node = 0);
    void commit_enter(Instant now);
    void recovery_enter(Instant now, wire::CommitToken& ct);
    void operational_enter(Instant now);
    void join_process(Instant now, const wire::Join& join);
    void consensus_timeout_expired(Instant now);
    bool consensus_agreed() const;
    bool lowest_in_config() const;
    void commit_token_create();
    void commit_token_update();
    void commit_token_send(Instant now, wire::CommitToken& ct);
    void recovery_token_loss(Instant now);
    void old_ring_state_save();
    void old_ring_state_restore();
    void send_join();
    void send_leave();
    void send_merge_detect();
    void send_token_hold_cancel();
    void orf_token_send_initial(Instant now);

    // ---- ordering ----
    SortQueue& current_queue() {
        return memb_state_ == MembState::recovery ? recovery_q_ : regular_q_;
    }
    std::deque<Pending>& active_new_queue() { return waiting_trans_ack_ ? new_q_trans_ : new_q_; }
    void update_aru();
    void messages_free(std::uint32_t token_aru);
    void deliver_to_app(bool skip, std::uint32_t end_point);
    void deliver_from_recovery_to_regular();
    std::uint32_t fcc_calculate(const wire::OrfToken& t);
    void fcc_rtr_limit(const wire::OrfToken& t, std::uint32_t& allowed) const;
    void fcc_token_update(wire::OrfToken& t, std::uint32_t sent);
    std::uint32_t orf_token_rtr(wire::OrfToken& t, std::uint32_t& allowed);
    std::uint32_t orf_token_mcast(Instant now, wire::OrfToken& t, std::uint32_t allowed);
    void token_send(wire::OrfToken& t, bool forward);
    void token_retransmit();
    std::uint32_t backlog() const;

    // ---- timers ----
    void arm(TimerId id, Instant at) { deadlines_[static_cast<std::size_t>(id)] = at; }
    void cancel(TimerId id) { deadlines_[static_cast<std::size_t>(id)].reset(); }
    bool armed(TimerId id) const { return deadlines_[static_cast<std::size_t>(id)].has_value(); }
    void reset_token_timeout(Instant now);
    void cancel_token_timeout();
    void reset_token_retransmit_timeout(Instant now) {
        arm(TimerId::token_retransmit, now + retransmit_interval());
    }
    Duration retransmit_interval() const;
    void sample_rotation(Instant now);
    void fire(Instant now, TimerId id);
    bool heartbeat_enabled() const;

    void send(NodeId target, Bytes datagram);
    void log(LogLevel level, std::string text);

    SrpConfig config_;
    NodeId my_id_;
    Prng prng_;
    bool started_ = false;
    bool left_ = false;  // leave() was called: every further input is ignored
    std::uint64_t stored_ring_seq_;
    std::array<std::optional<Instant>, static_cast<std::size_t>(TimerId::count)> deadlines_{};

    MembState memb_state_ = MembState::operational;
    RingId my_ring_id_;
    RingId my_old_ring_id_;
    std::uint64_t token_ring_id_seq_ = 0;
    NodeList my_proc_list_, my_failed_list_, my_memb_list_, my_new_memb_list_;
    NodeList my_trans_memb_list_, my_deliver_memb_list_, my_left_memb_list_;
    NodeList consensus_list_;
    NodeList left_voluntarily_;  // LEAVE received: logged as left, not failed
    NodeList excluded_;          // refused by the configuration check (exclude())
    // The highest ring seq each node is known to have reached, from its JOINs, MCASTs and
    // MERGE_DETECTs: a node's ring seq never goes back, so its JOIN with a lower one was sent
    // before what we already know and is stale news (docs/protocol/deviations.md).
    std::map<NodeId, std::uint64_t> known_ring_seq_;
    static constexpr std::size_t known_ring_seq_max = 1024;  // entries; bounds untrusted input
    void forget_failures_given_up(const wire::Join& join);
    void note_ring_seq(NodeId node, std::uint64_t seq);
    std::uint32_t my_aru_ = 0;
    std::uint32_t my_high_seq_received_ = 0;
    std::uint32_t my_high_delivered_ = 0;
    std::uint32_t safe_point_ = 0;  // every member of this ring has every seq up to here
    // At the configuration change: the highest old-ring seq a member of the transitional
    // configuration delivered (safe messages up to it are delivered in the old ring).
    std::uint32_t old_ring_safe_bound_ = 0;
    std::uint32_t my_last_aru_ = 0;
    std::uint32_t my_token_seq_ = 0xFFFFFFFFu;
    std::uint32_t my_last_seq_ = 0;
    std::uint32_t my_seq_unchanged_ = 0;
    std::uint32_t my_aru_count_ = 0;
    std::uint32_t my_trc_ = 0, my_pbl_ = 0, my_cbl_ = 0;
    std::uint32_t my_install_seq_ = 0;
    std::uint32_t my_retrans_flg_count_ = 0;
    std::uint32_t my_rotation_counter_ = 0;
    bool my_set_retrans_flg_ = false;
    bool my_received_flg_ = true;
    bool failed_to_recv_ = false;
    bool my_token_held_ = false;
    bool orf_token_discard_ = false;
    bool originated_orf_token_ = false;
    std::uint32_t second_rotation_token_seq_ = 0;  // of the commit token recovery_enter sent
    bool waiting_trans_ack_ = true;
    std::uint32_t last_released_ = 0;
    std::uint32_t old_ring_state_aru_ = 0;
    std::uint32_t old_ring_state_high_seq_received_ = 0;
    bool old_ring_state_saved_ = false;
    std::int32_t global_seqno_ = 0;

    SortQueue regular_q_, recovery_q_;
    std::deque<Pending> new_q_, new_q_trans_;
    std::deque<MsgPtr> retrans_q_;  // old-ring messages to re-send encapsulated in RECOVERY
    std::size_t send_queue_max_;

    std::optional<wire::CommitToken> commit_token_;
    NodeId token_target_ = 0;
    Bytes last_token_sent_;       // ORF or commit token, for the retransmit timer
    NodeId last_token_from_ = 0;  // forwarder of the last valid ORF token

    GatherReason last_gather_reason_ = GatherReason::startup;
    NodeId last_gather_node_ = 0;
    std::optional<Instant> pause_seen_at_;
    std::optional<Instant> last_token_rx_;
    // Adaptive token retransmission (a local setting, docs/protocol/deviations.md): the
    // fastest of the last rotations seen here, and how many retransmits in a row went out.
    std::array<Duration, 16> rotation_samples_{};
    std::size_t rotation_sample_count_ = 0;
    std::size_t rotation_members_ = 0;  // the member count of the ring the samples are of
    std::uint32_t consecutive_retransmits_ = 0;

    SrpStats stats_;
    std::vector<Effect> outbox_;
    TokenSource* token_source_ = nullptr;
};

}  // namespace totem
