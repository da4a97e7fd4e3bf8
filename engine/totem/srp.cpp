// The Totem SRP state machine. Section numbers refer to shared/spec/totem-wire.md.
#include "engine/totem/srp.hpp"

#include <algorithm>
#include <cstdio>

#include "common/assert.hpp"

namespace totem {

namespace {

constexpr std::uint32_t seqno_start_msg = 0;
constexpr std::uint32_t seqno_start_token = 0;
constexpr std::uint32_t rollover_point = 0x80000000u;
constexpr std::uint32_t rollover_value = 0x10000u;
constexpr std::size_t message_size_max = 1024 * 1024;
constexpr std::size_t retrans_queue_max = 16384;  // RETRANS_MESSAGE_QUEUE_SIZE_MAX

// corosync's sq_lt_compare / sq_lte_compare (§5.14).
bool seq_lt(std::uint32_t a, std::uint32_t b) {
    if (a > rollover_point || b > rollover_point)
        return a - rollover_value < b - rollover_value;
    return a < b;
}
bool seq_lte(std::uint32_t a, std::uint32_t b) {
    if (a > rollover_point || b > rollover_point)
        return a - rollover_value <= b - rollover_value;
    return a <= b;
}

// ---- processor sets (by nodeid; the list order is kept, as corosync keeps it) ----
bool contains(const NodeList& l, NodeId n) {
    return std::find(l.begin(), l.end(), n) != l.end();
}
void merge(NodeList& into, const NodeList& items) {
    for (NodeId n : items)
        if (!contains(into, n))
            into.push_back(n);
}
void merge(NodeList& into, NodeId n) {
    if (!contains(into, n))
        into.push_back(n);
}
NodeList subtract(const NodeList& a, const NodeList& b) {
    NodeList out;
    for (NodeId n : a)
        if (!contains(b, n))
            out.push_back(n);
    return out;
}
bool subset(const NodeList& a, const NodeList& b) {
    return std::all_of(a.begin(), a.end(), [&](NodeId n) { return contains(b, n); });
}
bool set_equal(const NodeList& a, const NodeList& b) {
    return subset(a, b) && subset(b, a);
}

std::string list_str(const NodeList& l) {
    std::string s;
    for (NodeId n : l)
        s += " " + std::to_string(n);
    return s;
}

}  // namespace

// ---- names -------------------------------------------------------------------------------

std::string_view to_string(MembState s) {
    switch (s) {
        case MembState::operational:
            return "OPERATIONAL";
        case MembState::gather:
            return "GATHER";
        case MembState::commit:
            return "COMMIT";
        case MembState::recovery:
            return "RECOVERY";
    }
    return "?";
}

std::string_view to_string(TimerId t) {
    switch (t) {
        case TimerId::token:
            return "token";
        case TimerId::token_retransmit:
            return "token_retransmit";
        case TimerId::token_hold:
            return "token_hold";
        case TimerId::merge_detect:
            return "merge_detect";
        case TimerId::join:
            return "join";
        case TimerId::consensus:
            return "consensus";
        case TimerId::heartbeat:
            return "heartbeat";
        case TimerId::token_warning:
            return "token_warning";
        case TimerId::count:
            break;
    }
    return "?";
}

std::string_view to_string(GatherReason r) {
    switch (r) {
        case GatherReason::startup:
            return "interface change";
        case GatherReason::token_lost:
            return "the token was lost";
        case GatherReason::heartbeat_lost:
            return "the heartbeat timer expired";
        case GatherReason::join_received:
            return "a join message brought new members";
        case GatherReason::merge_detect:
            return "a merge detect from another ring";
        case GatherReason::foreign_message:
            return "a message from another ring";
        case GatherReason::failed_to_receive:
            return "failed to receive";
        case GatherReason::consensus_timeout:
            return "the consensus timeout expired";
        case GatherReason::commit_lost:
            return "the token was lost in the COMMIT state";
        case GatherReason::recovery_lost:
            return "the token was lost in the RECOVERY state";
        case GatherReason::commit_interrupted:
            return "a join during COMMIT or RECOVERY";
        case GatherReason::leave:
            return "a node left";
        case GatherReason::pause:
            return "a process pause";
        case GatherReason::config_mismatch:
            return "a node with another configuration was refused";
        case GatherReason::count:
            break;
    }
    return "?";
}

// ---- the sort queue ------------------------------------------------------------------------

void Srp::SortQueue::reinit(std::uint32_t head_seqid) {
    head_seqid_ = head_seqid;
    items_.clear();
    miss_.clear();
}

bool Srp::SortQueue::in_range(std::uint32_t seq) const {
    if (head_seqid_ > rollover_point) {
        if (seq - rollover_value < head_seqid_ - rollover_value)
            return false;
        return seq - rollover_value < head_seqid_ - rollover_value + queue_window;
    }
    return seq >= head_seqid_ && seq < head_seqid_ + queue_window;
}

const Srp::MsgPtr* Srp::SortQueue::get(std::uint32_t seq) const {
    auto it = items_.find(seq);
    return it == items_.end() ? nullptr : &it->second;
}

void Srp::SortQueue::add(std::uint32_t seq, MsgPtr m) {
    items_[seq] = std::move(m);
    miss_.erase(seq);
}

void Srp::SortQueue::release(std::uint32_t upto) {
    while (!items_.empty() && seq_lte(items_.begin()->first, upto))
        items_.erase(items_.begin());
    while (!miss_.empty() && seq_lte(miss_.begin()->first, upto))
        miss_.erase(miss_.begin());
    head_seqid_ = upto + 1;
}

// ---- construction, inputs ------------------------------------------------------------------

Srp::Srp(const SrpConfig& config, NodeId my_id, std::uint64_t stored_ring_seq, std::uint64_t seed)
    : config_(config),
      my_id_(my_id),
      prng_(seed),
      stored_ring_seq_(stored_ring_seq),
      send_queue_max_(std::max<std::size_t>(2, (4 * message_size_max) / config.net_mtu)) {
    TOTEM_ASSERT(my_id != 0);
    TOTEM_ASSERT(config.net_mtu > 2 * wire::mcast_header_size + 64);
    regular_q_.reinit(seqno_start_msg);
    recovery_q_.reinit(seqno_start_msg);
}

void Srp::start(Instant now) {
    TOTEM_ASSERT(outbox_.empty());  // the driver took every effect of the last call
    TOTEM_ASSERT(!started_);
    started_ = true;
    // §5.2: the stored ring seq + 1, so a restarted node never reuses a ring id.
    my_ring_id_ = RingId{my_id_, stored_ring_seq_ + 1};
    token_ring_id_seq_ = my_ring_id_.seq;
    log(LogLevel::debug, "Created or loaded sequence id " + my_ring_id_.str() + " for this ring.");
    gather_enter(now, GatherReason::startup);
}

void Srp::on_packet(Instant now, ByteView datagram) {
    TOTEM_ASSERT(outbox_.empty());  // the driver took every effect of the last call
    if (!started_ || left_)
        return;
    auto peeked = wire::peek(datagram);
    if (!peeked) {
        count_drop(peeked.error());
        return;
    }
    switch (peeked->header.type) {
        case wire::MessageType::orf_token:
            handle_orf_token(now, datagram);
            break;
        case wire::MessageType::mcast:
            handle_mcast(now, datagram);
            break;
        case wire::MessageType::merge_detect:
            handle_merge_detect(now, datagram);
            break;
        case wire::MessageType::join:
            handle_join(now, datagram);
            break;
        case wire::MessageType::commit_token:
            handle_commit_token(now, datagram);
            break;
        case wire::MessageType::token_hold_cancel:
            handle_token_hold_cancel(now, datagram);
            break;
    }
}

void Srp::count_drop(wire::DecodeError e) {
    stats_.rx_msg_dropped++;
    stats_.decode_errors[static_cast<std::size_t>(e)]++;
}

bool Srp::submit(Instant, ByteView payload, Guarantee g, bool force, std::uint64_t tag,
                 std::optional<bool> to_trans_queue) {
    if (left_ || payload.size() > max_payload())
        return false;
    auto& q = to_trans_queue ? (*to_trans_queue ? new_q_trans_ : new_q_) : active_new_queue();
    if (!force && q.size() >= send_queue_max_) {
        stats_.send_queue_full++;
        return false;
    }
    q.push_back(Pending{Bytes(payload.begin(), payload.end()), g, tag});
    return true;
}

std::vector<std::uint64_t> Srp::unsent_tags() const {
    std::vector<std::uint64_t> tags;
    tags.reserve(pending_packets());
    for (const auto* q : {&new_q_, &new_q_trans_})
        for (const Pending& p : *q)
            tags.push_back(p.tag);
    std::sort(tags.begin(), tags.end());
    return tags;
}

std::optional<std::uint64_t> Srp::oldest_unsent_tag() const {
    std::optional<std::uint64_t> oldest;
    for (const auto* q : {&new_q_, &new_q_trans_})
        for (const Pending& p : *q)
            if (!oldest || p.tag < *oldest)
                oldest = p.tag;
    return oldest;
}

std::map<std::uint64_t, bool> Srp::drop_pending(const std::vector<std::uint64_t>& tags) {
    std::map<std::uint64_t, bool> dropped;
    for (auto* q : {&new_q_, &new_q_trans_}) {
        const bool trans = q == &new_q_trans_;
        std::erase_if(*q, [&](const Pending& p) {
            if (!std::binary_search(tags.begin(), tags.end(), p.tag))
                return false;
            dropped.emplace(p.tag, trans);
            return true;
        });
    }
    return dropped;
}

std::size_t Srp::send_queue_avail() const {
    const auto& q = waiting_trans_ack_ ? new_q_trans_ : new_q_;
    return q.size() >= send_queue_max_ ? 0 : send_queue_max_ - q.size();
}

void Srp::trans_ack() {
    waiting_trans_ack_ = false;
    // Messages queued while waiting and not sent yet keep their order behind the older ones
    // (corosync would leave them in the trans queue until the next change; we send them).
    for (auto& p : new_q_trans_)
        new_q_.push_back(std::move(p));
    new_q_trans_.clear();
}

void Srp::signal_new_message(Instant) {
    if (!started_ || left_)
        return;
    send_token_hold_cancel();
}

void Srp::leave(Instant) {
    TOTEM_ASSERT(outbox_.empty());  // the driver took every effect of the last call
    if (!started_ || left_)
        return;
    send_leave();
    left_ = true;
    for (auto& d : deadlines_)
        d.reset();
}

void Srp::exclude(Instant now, NodeId node) {
    TOTEM_ASSERT(outbox_.empty());  // the driver took every effect of the last call
    if (!started_ || left_ || node == my_id_ || contains(excluded_, node))
        return;
    excluded_.push_back(node);
    merge(my_failed_list_, node);
    if (contains(my_memb_list_, node) || memb_state_ != MembState::operational)
        gather_enter(now, GatherReason::config_mismatch, node);
}

void Srp::on_pause(Instant now, Duration gap) {
    TOTEM_ASSERT(outbox_.empty());  // the driver took every effect of the last call
    if (!started_ || left_)
        return;
    stats_.pauses_detected++;
    pause_seen_at_ = now;
    log(LogLevel::notice, "Process pause detected for " + std::to_string(gap.to_ms()) +
                              " ms, flushing membership messages.");
    // The pause was ours, not the ring's: give the token a full timeout from now before
    // declaring it lost, instead of accusing the ring for our own descheduling.
    if (armed(TimerId::token))
        reset_token_timeout(now);
    if (armed(TimerId::consensus))
        arm(TimerId::consensus, now + config_.consensus);
}

std::optional<Instant> Srp::next_deadline() const {
    std::optional<Instant> best;
    for (const auto& d : deadlines_)
        if (d && (!best || *d < *best))
            best = d;
    return best;
}

void Srp::on_timer(Instant now) {
    TOTEM_ASSERT(outbox_.empty());  // the driver took every effect of the last call
    // Fire expired timers earliest first (ties in TimerId order). A handler may re-arm timers,
    // always into the future, so this terminates; the bound is a guard against our own bugs.
    for (int guard = 0; guard < 64; ++guard) {
        std::optional<std::size_t> pick;
        for (std::size_t i = 0; i < deadlines_.size(); ++i) {
            if (!deadlines_[i] || *deadlines_[i] > now)
                continue;
            if (!pick || *deadlines_[i] < *deadlines_[*pick])
                pick = i;
        }
        if (!pick)
            return;
        deadlines_[*pick].reset();
        fire(now, static_cast<TimerId>(*pick));
    }
    TOTEM_ASSERT(!"timers keep firing");
}

bool Srp::heartbeat_enabled() const {
    if (config_.heartbeat_failures_allowed == 0)
        return false;
    Duration hb =
        config_.token_retransmit * config_.heartbeat_failures_allowed + config_.max_network_delay;
    return hb < config_.token;
}

void Srp::reset_token_timeout(Instant now) {
    arm(TimerId::token, now + config_.token);
    if (config_.token_warning_pct)
        arm(TimerId::token_warning, now + config_.token * config_.token_warning_pct / 100);
}

// A lost token costs a whole token_retransmit in corosync (hundreds of ms) although the ring
// turns in a millisecond. Here a node re-sends the token it forwarded:
// - on a busy ring after 4x the fastest of its recent rotations, doubling for each retransmit
//   in a row, never later than token_retransmit;
// - where rotations are slow (an idle ring: the representative holds the token), first after
//   token_retransmit, since a rotation lasts about the hold;
// - once a retransmit has gone out the token is presumably lost: the next copies follow at most
//   a quarter of token_retransmit apart, so the token timeout spans about 13 attempts, not 4.
// The commit token keeps the configured interval. Duplicates are harmless: receivers drop
// tokens whose token_seq they have seen.
Duration Srp::retransmit_interval() const {
    if (memb_state_ != MembState::operational && memb_state_ != MembState::recovery)
        return config_.token_retransmit;
    Duration d = config_.token_retransmit;
    if (!my_token_held_ && rotation_sample_count_ >= 4) {
        Duration fastest = rotation_samples_[0];
        const std::size_t n = std::min(rotation_sample_count_, rotation_samples_.size());
        for (std::size_t i = 1; i < n; ++i)
            fastest = std::min(fastest, rotation_samples_[i]);
        d = std::max(Duration::ms(2), fastest * 4);
        for (std::uint32_t i = 0; i < consecutive_retransmits_ && d < config_.token_retransmit; ++i)
            d = d * 2;
        d = std::min(d, config_.token_retransmit);
    }
    if (consecutive_retransmits_ >= 1)
        d = std::min(d, std::max(Duration::ms(2), config_.token_retransmit / 4));
    return d;
}

void Srp::sample_rotation(Instant now) {
    if (last_token_rx_ && memb_state_ == MembState::operational) {
        rotation_samples_[rotation_sample_count_ % rotation_samples_.size()] =
            now - *last_token_rx_;
        rotation_sample_count_++;
    }
    consecutive_retransmits_ = 0;
}

void Srp::cancel_token_timeout() {
    cancel(TimerId::token);
    cancel(TimerId::token_warning);
}

void Srp::fire(Instant now, TimerId id) {
    switch (id) {
        case TimerId::heartbeat:
            log(LogLevel::debug, "HeartBeat Timer expired Invoking token loss mechanism in state " +
                                     std::string(to_string(memb_state_)));
            [[fallthrough]];
        case TimerId::token:
            switch (memb_state_) {
                case MembState::operational:
                    log(LogLevel::info, "The token was lost in the OPERATIONAL state.");
                    log(LogLevel::notice,
                        "A processor failed, forming new configuration: token timed out (" +
                            std::to_string(config_.token.to_ms()) + "ms), waiting " +
                            std::to_string(config_.consensus.to_ms()) + "ms for consensus.");
                    gather_enter(now,
                                 id == TimerId::heartbeat ? GatherReason::heartbeat_lost
                                                          : GatherReason::token_lost,
                                 last_token_from_);
                    stats_.operational_token_lost++;
                    break;
                case MembState::gather:
                    log(LogLevel::info, "The consensus timeout expired (" +
                                            std::to_string(config_.consensus.to_ms()) + "ms).");
                    consensus_timeout_expired(now);
                    if (memb_state_ == MembState::gather)
                        gather_enter(now, GatherReason::consensus_timeout);
                    stats_.gather_token_lost++;
                    break;
                case MembState::commit:
                    log(LogLevel::info, "The token was lost in the COMMIT state.");
                    gather_enter(now, GatherReason::commit_lost);
                    stats_.commit_token_lost++;
                    break;
                case MembState::recovery:
                    log(LogLevel::info, "The token was lost in the RECOVERY state.");
                    recovery_token_loss(now);
                    orf_token_discard_ = true;
                    break;
            }
            break;
        case TimerId::token_retransmit:
            if (memb_state_ != MembState::gather) {
                consecutive_retransmits_++;
                token_retransmit();
                reset_token_retransmit_timeout(now);
            }
            break;
        case TimerId::token_hold:
            if (memb_state_ == MembState::operational || memb_state_ == MembState::recovery) {
                token_retransmit();
                // The representative had the token until now: its token *warning* counts from
                // here, or its own hold would be reported as the ring's delay (a local choice,
                // docs/protocol/deviations.md). The token timeout keeps counting from the
                // receipt, as corosync's does: moving it would delay failure detection.
                if (config_.token_warning_pct)
                    arm(TimerId::token_warning,
                        now + config_.token * config_.token_warning_pct / 100);
            }
            break;
        case TimerId::merge_detect:
            if (memb_state_ == MembState::operational && my_ring_id_.rep == my_id_)
                send_merge_detect();
            break;
        case TimerId::join:
            if (memb_state_ == MembState::gather || memb_state_ == MembState::commit) {
                send_join();
                arm(TimerId::join, now + config_.join);
            }
            break;
        case TimerId::consensus:
            consensus_timeout_expired(now);
            break;
        case TimerId::token_warning:
            if (config_.token_warning_pct) {
                std::int64_t since = last_token_rx_ ? (now - *last_token_rx_).to_ms() : 0;
                log(LogLevel::notice,
                    "Token has not been received in " + std::to_string(since) + " ms ");
                arm(TimerId::token_warning, now + config_.token * config_.token_warning_pct / 100);
            }
            break;
        case TimerId::count:
            TOTEM_ASSERT(false);
    }
}

// ---- output helpers ------------------------------------------------------------------------

void Srp::send(NodeId target, Bytes datagram) {
    TOTEM_ASSERT(datagram.size() >= wire::header_size);
    wire::set_target_nodeid(datagram, target);
    outbox_.push_back(SendEffect{target, std::move(datagram)});
}

void Srp::log(LogLevel level, std::string text) {
    outbox_.push_back(LogEffect{level, std::move(text)});
}

// ---- GATHER (§5.4) -------------------------------------------------------------------------

void Srp::gather_enter(Instant now, GatherReason reason, NodeId node) {
    // The first GATHER after an installed ring names the cause of the coming configuration
    // change; later re-entries only refine the membership and are counted.
    const bool new_change =
        memb_state_ == MembState::operational || reason == GatherReason::startup;
    if (new_change) {
        if (pause_seen_at_ && now - *pause_seen_at_ <= config_.token &&
            (reason == GatherReason::token_lost || reason == GatherReason::heartbeat_lost))
            reason = GatherReason::pause;
        last_gather_reason_ = reason;
        last_gather_node_ = node;
    }
    stats_.gather_reasons[static_cast<std::size_t>(reason)]++;

    orf_token_discard_ = true;
    originated_orf_token_ = false;
    merge(my_proc_list_, my_id_);
    for (NodeId x : excluded_)
        if (contains(my_proc_list_, x))
            merge(my_failed_list_, x);
    send_join();
    arm(TimerId::join, now + config_.join);
    arm(TimerId::consensus, now + config_.consensus);
    cancel(TimerId::token_retransmit);
    cancel_token_timeout();
    cancel(TimerId::merge_detect);
    cancel(TimerId::heartbeat);  // a token heartbeat means nothing while gathering
    consensus_list_.assign(1, my_id_);

    std::string from = std::string(to_string(reason));
    if (node)
        from += " (node " + std::to_string(node) + ")";
    log(LogLevel::debug, "entering GATHER state from " + from + ".");
    memb_state_ = MembState::gather;
    stats_.gather_entered++;
    if (reason == GatherReason::consensus_timeout)
        stats_.continuous_gather++;
}

bool Srp::consensus_agreed() const {
    NodeList token_memb = subtract(my_proc_list_, my_failed_list_);
    for (NodeId n : token_memb)
        if (!contains(consensus_list_, n))
            return false;
    if (failed_to_recv_)
        return true;
    TOTEM_ASSERT(!token_memb.empty());
    return true;
}

bool Srp::lowest_in_config() const {
    NodeList token_memb = subtract(my_proc_list_, my_failed_list_);
    TOTEM_ASSERT(!token_memb.empty());
    return *std::min_element(token_memb.begin(), token_memb.end()) == my_id_;
}

void Srp::consensus_timeout_expired(Instant now) {
    stats_.consensus_timeouts++;
    if (consensus_agreed()) {
        consensus_list_.assign(1, my_id_);
        reset_token_timeout(now);
        return;
    }
    NodeList not_agreed;
    for (NodeId n : my_proc_list_)
        if (!contains(consensus_list_, n))
            not_agreed.push_back(n);
    NodeList newly_failed = subtract(not_agreed, my_failed_list_);
    merge(my_failed_list_, not_agreed);
    log(LogLevel::debug, "consensus timeout: no answer from" + list_str(not_agreed));
    gather_enter(now, GatherReason::consensus_timeout,
                 newly_failed.empty() ? 0 : newly_failed.front());
}

void Srp::send_join() {
    wire::Join j;
    j.header.type = wire::MessageType::join;
    j.header.nodeid = my_id_;
    j.system_from = my_id_;
    j.ring_seq = my_ring_id_.seq;
    j.proc_list = my_proc_list_;
    j.failed_list = my_failed_list_;
    if (wire::join_fixed_size + 4 * (j.proc_list.size() + j.failed_list.size()) >
        wire::join_size_max) {
        log(LogLevel::error, "memb_join_message too long. Ignoring message.");
        return;
    }
    stats_.memb_join_tx++;
    send(0, wire::encode(j));
}

void Srp::send_leave() {
    merge(my_failed_list_, my_id_);
    wire::Join j;
    j.header.type = wire::MessageType::join;
    j.header.nodeid = 0;  // LEAVE_DUMMY_NODEID
    j.system_from = my_id_;
    j.ring_seq = my_ring_id_.seq;
    j.proc_list = subtract(my_proc_list_, NodeList{my_id_});
    j.failed_list = my_failed_list_;
    log(LogLevel::debug, "sending join/leave message");
    stats_.memb_join_tx++;
    send(0, wire::encode(j));
}

void Srp::send_merge_detect() {
    wire::MergeDetect m;
    m.header.type = wire::MessageType::merge_detect;
    m.header.nodeid = my_id_;
    m.system_from = my_id_;
    m.ring_id = my_ring_id_;
    stats_.memb_merge_detect_tx++;
    send(0, wire::encode(m));
}

void Srp::send_token_hold_cancel() {
    if (!my_token_held_)
        return;
    my_token_held_ = false;
    wire::TokenHoldCancel c;
    c.header.type = wire::MessageType::token_hold_cancel;
    c.header.nodeid = my_id_;
    c.ring_id = my_ring_id_;
    stats_.token_hold_cancel_tx++;
    send(0, wire::encode(c));
}

void Srp::handle_join(Instant now, ByteView datagram) {
    auto r = wire::decode_join(datagram);
    if (!r) {
        count_drop(r.error());
        return;
    }
    const wire::Join& join = *r;
    stats_.memb_join_rx++;
    if (contains(excluded_, join.system_from)) {
        stats_.rx_from_excluded++;
        return;
    }
    const NodeId from = join.system_from;
    // A JOIN overtaken by newer news from its sender (a delayed datagram): acting on it would
    // re-add nodes the sender has given up and fail the receiver's peers on stale evidence.
    if (const auto known = known_ring_seq_.find(from);
        known != known_ring_seq_.end() && join.ring_seq < known->second) {
        stats_.rx_join_stale++;
        return;
    }
    note_ring_seq(from, join.ring_seq);
    if (join.ring_seq > token_ring_id_seq_)
        token_ring_id_seq_ = join.ring_seq;

    switch (memb_state_) {
        case MembState::operational: {
            // ignore_join_under_operational
            if (contains(join.failed_list, my_id_))
                return;
            if (contains(my_memb_list_, from) && join.ring_seq < my_ring_id_.seq)
                return;
            join_process(now, join);
            break;
        }
        case MembState::gather:
            join_process(now, join);
            break;
        case MembState::commit:
            if (contains(my_new_memb_list_, from) && join.ring_seq >= my_ring_id_.seq) {
                forget_failures_given_up(join);
                join_process(now, join);
                gather_enter(now, GatherReason::commit_interrupted, from);
            }
            break;
        case MembState::recovery:
            if (contains(my_new_memb_list_, from) && join.ring_seq >= my_ring_id_.seq) {
                forget_failures_given_up(join);
                join_process(now, join);
                recovery_token_loss(now);
                gather_enter(now, GatherReason::commit_interrupted, from);
            }
            break;
    }
}

// My failed list in COMMIT and RECOVERY is the one the whole new ring agreed on (consensus
// needs identical lists). A member of that ring whose JOIN no longer names a node failed has
// installed the ring (OPERATIONAL clears the list) and gathers afresh: keeping the old round's
// failures would carry them into the new round, where "I am in the sender's failed list" makes
// the nodes named fail me back; two groups that formed their rings at the same moment then
// fail each other round after round, faster than any timeout (a local choice,
// docs/protocol/deviations.md). Failures the sender still holds stay.
void Srp::forget_failures_given_up(const wire::Join& join) {
    const NodeList given_up = subtract(my_failed_list_, join.failed_list);
    if (given_up.empty())
        return;
    my_failed_list_ = subtract(my_failed_list_, given_up);
    stats_.failures_forgotten += given_up.size();
    log(LogLevel::debug,
        "node " + std::to_string(join.system_from) +
            " gathers again without failures of the last round:" + list_str(given_up));
}

void Srp::note_ring_seq(NodeId node, std::uint64_t seq) {
    auto it = known_ring_seq_.find(node);
    if (it == known_ring_seq_.end()) {
        if (known_ring_seq_.size() < known_ring_seq_max)
            known_ring_seq_.emplace(node, seq);
    } else if (it->second < seq) {
        it->second = seq;
    }
}

void Srp::join_process(Instant now, const wire::Join& join) {
    const NodeId from = join.system_from;
    const bool is_leave = join.header.nodeid == 0;
    NodeId leaver = 0;
    if (is_leave && !join.failed_list.empty()) {
        leaver = join.failed_list.back();
        merge(left_voluntarily_, leaver);
        log(LogLevel::debug, "Received LEAVE message from " + std::to_string(leaver));
    }
    const GatherReason reason = is_leave ? GatherReason::leave : GatherReason::join_received;
    const NodeId reason_node = is_leave ? leaver : from;

    bool gather_entered = false;
    if (set_equal(join.proc_list, my_proc_list_) && set_equal(join.failed_list, my_failed_list_)) {
        if (!is_leave)
            merge(consensus_list_, from);
        if (consensus_agreed() && failed_to_recv_) {
            failed_to_recv_ = false;
            my_proc_list_.assign(1, my_id_);
            my_failed_list_.clear();
            commit_token_create();
            commit_enter(now);
            return;
        }
        if (consensus_agreed() && lowest_in_config()) {
            commit_token_create();
            commit_enter(now);
            return;
        }
    } else if (subset(join.proc_list, my_proc_list_) && subset(join.failed_list, my_failed_list_)) {
        // nothing new
    } else if (contains(my_failed_list_, from)) {
        // a node I consider failed cannot change my view
    } else {
        const std::size_t proc_before = my_proc_list_.size();
        const std::size_t failed_before = my_failed_list_.size();
        merge(my_proc_list_, join.proc_list);
        if (contains(join.failed_list, my_id_)) {
            merge(my_failed_list_, from);
        } else if (contains(my_memb_list_, from)) {
            merge(my_failed_list_, join.failed_list);
        }
        // corosync re-enters GATHER (and re-sends its JOIN) even when the JOIN changed nothing
        // here (a failed list from a sender outside my ring is not adopted): two such nodes
        // answer each other's JOINs forever, and with more nodes the JOINs multiply. Only news
        // restarts the gathering; the consensus timeout settles a lasting disagreement.
        if (my_proc_list_.size() != proc_before || my_failed_list_.size() != failed_before) {
            gather_enter(now, reason, reason_node);
            gather_entered = true;
        }
    }
    if (!gather_entered && memb_state_ == MembState::operational)
        gather_enter(now, reason, reason_node);
}

void Srp::handle_merge_detect(Instant now, ByteView datagram) {
    auto r = wire::decode_merge_detect(datagram);
    if (!r) {
        count_drop(r.error());
        return;
    }
    stats_.memb_merge_detect_rx++;
    note_ring_seq(r->system_from, r->ring_id.seq);
    if (r->ring_id == my_ring_id_)
        return;
    if (contains(excluded_, r->system_from)) {
        stats_.rx_from_excluded++;
        return;
    }
    const NodeId from = r->system_from;
    switch (memb_state_) {
        case MembState::operational:
            merge(my_proc_list_, from);
            gather_enter(now, GatherReason::merge_detect, from);
            break;
        case MembState::gather:
            if (!contains(my_proc_list_, from)) {
                merge(my_proc_list_, from);
                gather_enter(now, GatherReason::merge_detect, from);
            }
            break;
        case MembState::commit:
        case MembState::recovery:
            break;
    }
}

void Srp::handle_token_hold_cancel(Instant now, ByteView datagram) {
    auto r = wire::decode_token_hold_cancel(datagram);
    if (!r) {
        count_drop(r.error());
        return;
    }
    stats_.token_hold_cancel_rx++;
    if (r->ring_id != my_ring_id_)
        return;
    my_seq_unchanged_ = 0;
    if (my_ring_id_.rep == my_id_ && memb_state_ != MembState::gather) {
        token_retransmit();
        reset_token_retransmit_timeout(now);
    }
}

// ---- COMMIT (§5.5) -------------------------------------------------------------------------

void Srp::commit_token_create() {
    NodeList memb = subtract(my_proc_list_, my_failed_list_);
    std::sort(memb.begin(), memb.end());
    wire::CommitToken ct;
    ct.header.type = wire::MessageType::commit_token;
    ct.header.nodeid = my_id_;
    ct.ring_id = RingId{my_id_, token_ring_id_seq_ + 4};
    ct.memb_index = 0;
    ct.addr = memb;
    ct.memb_list.assign(memb.size(), wire::CommitEntry{});
    log(LogLevel::debug, "Creating commit token because I am the rep.");
    commit_token_ = std::move(ct);
}

void Srp::old_ring_state_save() {
    if (old_ring_state_saved_)
        return;
    old_ring_state_saved_ = true;
    my_old_ring_id_ = my_ring_id_;
    old_ring_state_aru_ = my_aru_;
    old_ring_state_high_seq_received_ = my_high_seq_received_;
}

void Srp::old_ring_state_restore() {
    my_aru_ = old_ring_state_aru_;
    my_high_seq_received_ = old_ring_state_high_seq_received_;
}

void Srp::commit_token_update() {
    wire::CommitToken& ct = *commit_token_;
    const auto idx = static_cast<std::size_t>(ct.memb_index);
    TOTEM_ASSERT(idx < ct.addr.size());
    my_new_memb_list_ = ct.addr;
    wire::CommitEntry& mine = ct.memb_list[idx];
    mine.ring_id = my_old_ring_id_;
    mine.aru = old_ring_state_aru_;
    my_received_flg_ = my_aru_ == my_high_seq_received_;
    mine.received_flg = my_received_flg_ ? 1 : 0;
    mine.high_delivered = my_high_delivered_;
    // Among the entries filled so far from my old ring, anyone behind the highest aru has not
    // received everything.
    std::uint32_t high_aru = mine.aru;
    for (std::size_t i = 0; i <= idx; ++i)
        if (ct.memb_list[i].ring_id == mine.ring_id && seq_lt(high_aru, ct.memb_list[i].aru))
            high_aru = ct.memb_list[i].aru;
    for (std::size_t i = 0; i <= idx; ++i) {
        if (ct.memb_list[i].ring_id == ct.memb_list[idx].ring_id &&
            seq_lt(ct.memb_list[i].aru, high_aru)) {
            ct.memb_list[i].received_flg = 0;
            if (i == idx)
                my_received_flg_ = false;
        }
    }
    ct.header.nodeid = my_id_;
    ct.memb_index += 1;
}

void Srp::commit_token_send(Instant now, wire::CommitToken& ct) {
    ct.token_seq += 1;
    ct.header.nodeid = my_id_;
    Bytes b = wire::encode(ct);
    wire::set_target_nodeid(b, token_target_);
    last_token_sent_ = b;
    stats_.memb_commit_token_tx++;
    send(token_target_, std::move(b));
    reset_token_retransmit_timeout(now);
}

void Srp::commit_enter(Instant now) {
    old_ring_state_save();
    commit_token_update();
    wire::CommitToken& ct = *commit_token_;
    token_target_ = ct.addr[static_cast<std::size_t>(ct.memb_index) % ct.addr.size()];
    cancel(TimerId::join);
    cancel(TimerId::consensus);
    my_ring_id_ = ct.ring_id;
    outbox_.push_back(PersistRingSeqEffect{my_ring_id_.seq});
    token_ring_id_seq_ = my_ring_id_.seq;
    log(LogLevel::debug, "entering COMMIT state.");
    memb_state_ = MembState::commit;
    reset_token_retransmit_timeout(now);
    reset_token_timeout(now);
    stats_.commit_entered++;
    stats_.continuous_gather = 0;
    my_trc_ = my_pbl_ = my_cbl_ = 0;
    commit_token_send(now, ct);
}

void Srp::handle_commit_token(Instant now, ByteView datagram) {
    auto r = wire::decode_commit_token(datagram);
    if (!r) {
        count_drop(r.error());
        return;
    }
    wire::CommitToken& ct = *r;
    stats_.memb_commit_token_rx++;
    if (ct.addr.empty() || static_cast<std::size_t>(ct.memb_index) > ct.addr.size() ||
        ct.memb_index < 0 || !std::is_sorted(ct.addr.begin(), ct.addr.end()) ||
        !contains(ct.addr, my_id_)) {
        stats_.rx_msg_dropped++;  // inconsistent: a correct sender never makes this
        return;
    }
    switch (memb_state_) {
        case MembState::operational:
            break;
        case MembState::gather:
            if (set_equal(ct.addr, subtract(my_proc_list_, my_failed_list_)) &&
                ct.ring_id.seq > my_ring_id_.seq &&
                static_cast<std::size_t>(ct.memb_index) < ct.addr.size()) {
                commit_token_ = ct;
                commit_enter(now);
            }
            break;
        case MembState::commit:
            if (ct.ring_id.seq == my_ring_id_.seq &&
                static_cast<std::size_t>(ct.memb_index) == ct.addr.size())
                recovery_enter(now, ct);
            break;
        case MembState::recovery:
            // Only the commit token of the second rotation starts the ring: the last member's
            // retransmission of the first (token_seq one below what I sent on) may arrive while
            // my second-rotation token to the next member was lost; originating the ORF token
            // then would replace that token in my retransmit buffer, and the next member, still
            // in COMMIT waiting for it, would never get it (a local choice,
            // docs/protocol/deviations.md).
            if (my_id_ == my_ring_id_.rep && !originated_orf_token_ &&
                !seq_lt(ct.token_seq, second_rotation_token_seq_)) {
                originated_orf_token_ = true;
                log(LogLevel::debug, "Sending initial ORF token");
                orf_token_send_initial(now);
                reset_token_timeout(now);
                reset_token_retransmit_timeout(now);
            }
            break;
    }
}

// ---- RECOVERY (§5.6) -----------------------------------------------------------------------

void Srp::recovery_enter(Instant now, wire::CommitToken& ct) {
    log(LogLevel::debug, "entering RECOVERY state.");
    orf_token_discard_ = false;
    recovery_q_.reinit(seqno_start_msg);
    retrans_q_.clear();
    std::uint32_t low_ring_aru = old_ring_state_high_seq_received_;

    commit_token_send(now, ct);  // second rotation
    second_rotation_token_seq_ = ct.token_seq;
    my_token_seq_ = seqno_start_token - 1;

    // Transitional membership: members of my old ring that come from my old ring.
    my_trans_memb_list_.clear();
    for (NodeId n : my_memb_list_) {
        auto it = std::find(ct.addr.begin(), ct.addr.end(), n);
        if (it == ct.addr.end())
            continue;
        if (ct.memb_list[static_cast<std::size_t>(it - ct.addr.begin())].ring_id == my_old_ring_id_)
            my_trans_memb_list_.push_back(n);
    }

    // Every member of the transitional configuration has what any of them delivered in the
    // old ring (a safe message needed everyone; an agreed one comes after one): the bound up
    // to which the old ring's safe messages are delivered in it at the change. The same for
    // all of them: the second rotation's commit token carries everyone's high_delivered.
    old_ring_safe_bound_ = my_high_delivered_;
    for (std::size_t i = 0; i < ct.addr.size(); ++i) {
        if (contains(my_trans_memb_list_, ct.addr[i]) &&
            ct.memb_list[i].ring_id == my_old_ring_id_ &&
            seq_lt(old_ring_safe_bound_, ct.memb_list[i].high_delivered))
            old_ring_safe_bound_ = ct.memb_list[i].high_delivered;
    }

    bool local_received_flg = true;
    for (std::size_t i = 0; i < ct.addr.size(); ++i) {
        if (contains(my_trans_memb_list_, ct.addr[i]) && ct.memb_list[i].received_flg == 0) {
            my_deliver_memb_list_ = my_trans_memb_list_;
            local_received_flg = false;
            break;
        }
    }
    std::uint32_t originated = 0;
    if (!local_received_flg) {
        for (std::size_t i = 0; i < ct.addr.size(); ++i) {
            if (contains(my_deliver_memb_list_, ct.addr[i]) &&
                ct.memb_list[i].ring_id == my_old_ring_id_ &&
                seq_lt(ct.memb_list[i].aru, low_ring_aru))
                low_ring_aru = ct.memb_list[i].aru;
        }
        const std::uint32_t range = old_ring_state_high_seq_received_ - low_ring_aru;
        TOTEM_ASSERT(range < queue_window);
        // A message up to some member's aru (from my old ring, in the commit token) is re-sent
        // only by the lowest such member: it certainly has it. corosync has every member re-send
        // every message it has, and the new ring's seqs are bounded by queue_window until it is
        // OPERATIONAL: 9 members re-sending a backlog of 2,642 messages stopped the ring in
        // RECOVERY for good (a local choice, docs/protocol/deviations.md).
        std::vector<std::pair<std::uint32_t, NodeId>> holders;  // (aru, node) of my old ring
        for (std::size_t i = 0; i < ct.addr.size(); ++i)
            if (ct.memb_list[i].ring_id == my_old_ring_id_)
                holders.emplace_back(ct.memb_list[i].aru, ct.addr[i]);
        auto resent_by_other = [&](std::uint32_t seq) {
            NodeId lowest = 0;
            for (const auto& [aru, node] : holders)
                if (seq_lte(seq, aru) && (lowest == 0 || node < lowest))
                    lowest = node;
            return lowest != 0 && lowest != my_id_;
        };
        for (std::uint32_t i = 1; i <= range && retrans_q_.size() < retrans_queue_max; ++i) {
            const MsgPtr* m = regular_q_.get(low_ring_aru + i);
            if (!m)
                continue;
            if (resent_by_other(low_ring_aru + i)) {
                stats_.recovery_resend_left_to_other++;
                continue;
            }
            retrans_q_.push_back(*m);
            originated++;
        }
        log(LogLevel::debug, "Originated " + std::to_string(originated) + " messages in RECOVERY.");
    } else {
        log(LogLevel::debug, "Did not need to originate any messages in recovery.");
    }

    my_aru_ = seqno_start_msg;
    my_aru_count_ = 0;
    my_seq_unchanged_ = 0;
    my_high_seq_received_ = seqno_start_msg;
    my_install_seq_ = seqno_start_msg;
    // corosync resets these only on OPERATIONAL entry: after a failed RECOVERY they carry over
    // into the next attempt, where install_seq is then never set and this node can enter
    // OPERATIONAL (and release messages) while the others still miss recovery messages.
    my_retrans_flg_count_ = 0;
    my_rotation_counter_ = 0;
    last_released_ = seqno_start_msg;
    reset_token_timeout(now);
    reset_token_retransmit_timeout(now);
    memb_state_ = MembState::recovery;
    stats_.recovery_entered++;
    stats_.continuous_gather = 0;
}

void Srp::recovery_token_loss(Instant now) {
    old_ring_state_restore();
    gather_enter(now, GatherReason::recovery_lost);
    stats_.recovery_token_lost++;
}

void Srp::orf_token_send_initial(Instant) {
    wire::OrfToken t;
    t.header.type = wire::MessageType::orf_token;
    t.header.nodeid = my_id_;
    t.seq = seqno_start_msg;
    t.token_seq = seqno_start_token;
    t.retrans_flg = retrans_q_.empty() ? 0 : 1;
    my_set_retrans_flg_ = !retrans_q_.empty();
    t.aru = seqno_start_msg - 1;
    t.aru_addr = my_id_;
    t.ring_id = my_ring_id_;
    stats_.orf_token_tx++;
    token_send(t, true);
}

// ---- OPERATIONAL entry (§5.7) --------------------------------------------------------------

void Srp::deliver_from_recovery_to_regular() {
    const std::uint32_t range = my_aru_ - seqno_start_msg;
    for (std::uint32_t i = 1; i <= range; ++i) {
        const MsgPtr* m = recovery_q_.get(seqno_start_msg + i);
        if (!m)
            continue;
        const StoredMsg& outer = **m;
        if (outer.h.header.encapsulated !=
            static_cast<std::uint8_t>(wire::Encapsulation::encapsulated))
            continue;
        ByteView inner_bytes = ByteView(outer.raw).subspan(wire::mcast_header_size);
        auto peeked = wire::peek(inner_bytes);
        auto inner = wire::decode_mcast(inner_bytes);
        if (!peeked || !inner || peeked->header.type != wire::MessageType::mcast) {
            stats_.rx_msg_dropped++;
            continue;
        }
        if (!(inner->h.ring_id == my_old_ring_id_))
            continue;
        const std::uint32_t seq = inner->h.seq;
        if (regular_q_.inuse(seq) || !regular_q_.in_range(seq))
            continue;
        auto stored = std::make_shared<StoredMsg>();
        stored->raw.assign(inner_bytes.begin(), inner_bytes.end());
        stored->h = inner->h;
        stored->swapped = peeked->swapped;
        regular_q_.add(seq, std::move(stored));
        if (seq_lt(old_ring_state_high_seq_received_, seq))
            old_ring_state_high_seq_received_ = seq;
    }
}

void Srp::operational_enter(Instant) {
    originated_orf_token_ = false;
    consensus_list_.clear();
    old_ring_state_saved_ = false;
    deliver_from_recovery_to_regular();

    const std::uint32_t aru_save = my_aru_;
    my_aru_ = old_ring_state_aru_;
    deliver_to_app(false, old_ring_state_high_seq_received_);

    my_left_memb_list_ = subtract(my_memb_list_, my_trans_memb_list_);
    const NodeList joined = subtract(my_new_memb_list_, my_trans_memb_list_);
    my_memb_list_ = my_new_memb_list_;
    last_released_ = 0;
    my_set_retrans_flg_ = false;

    outbox_.push_back(ConfChgEffect{
        ConfChgType::transitional, my_trans_memb_list_, my_left_memb_list_, {}, my_ring_id_});
    waiting_trans_ack_ = true;
    deliver_to_app(true, old_ring_state_high_seq_received_);
    my_aru_ = aru_save;
    outbox_.push_back(
        ConfChgEffect{ConfChgType::regular, my_new_memb_list_, {}, joined, my_ring_id_});

    regular_q_ = recovery_q_;
    my_last_aru_ = seqno_start_msg;
    my_proc_list_ = my_new_memb_list_;
    my_failed_list_.clear();

    // The recovery-phase (encapsulated) messages are never delivered as such: they are the
    // prefix 1..h of the new ring. Plain messages after them (from members that became
    // OPERATIONAL first) are the new ring's first messages and are delivered normally.
    std::uint32_t h = 0;
    for (const MsgPtr* m = regular_q_.get(1);
         m && (*m)->h.header.encapsulated ==
                  static_cast<std::uint8_t>(wire::Encapsulation::encapsulated);
         m = regular_q_.get(h + 1))
        ++h;
    my_high_delivered_ = h;
    safe_point_ = h;
    regular_q_.release(my_high_delivered_);
    last_released_ = my_high_delivered_;

    std::string msg = "A new membership (" + my_ring_id_.str() + ") was formed. Members";
    if (!joined.empty())
        msg += " joined:" + list_str(joined);
    if (!my_left_memb_list_.empty())
        msg += " left:" + list_str(my_left_memb_list_);
    log(LogLevel::debug, "entering OPERATIONAL state.");
    log(LogLevel::notice, msg);
    NodeList failed = subtract(my_left_memb_list_, left_voluntarily_);
    if (!failed.empty())
        log(LogLevel::notice, "Failed to receive the leave message. failed:" + list_str(failed));
    std::string cause = "Membership change cause: " + std::string(to_string(last_gather_reason_));
    if (last_gather_node_)
        cause += " (node " + std::to_string(last_gather_node_) + ")";
    log(LogLevel::info, cause);
    left_voluntarily_.clear();

    memb_state_ = MembState::operational;
    // The previous ring's rotation times, scaled to this ring's member count (a rotation is
    // one hop per member), so that a fresh ring retransmits a lost token as soon as a ring
    // that has turned for a while does: under loss a new ring otherwise waits a whole
    // token_retransmit per lost token until it has timed four rotations of its own.
    if (rotation_members_ && rotation_members_ != my_memb_list_.size()) {
        const std::size_t n = std::min(rotation_sample_count_, rotation_samples_.size());
        for (std::size_t i = 0; i < n; ++i)
            rotation_samples_[i] = rotation_samples_[i] *
                                   static_cast<std::int64_t>(my_memb_list_.size()) /
                                   static_cast<std::int64_t>(rotation_members_);
    }
    rotation_members_ = my_memb_list_.size();
    stats_.operational_entered++;
    stats_.continuous_gather = 0;
    my_received_flg_ = true;
    my_old_ring_id_ = my_ring_id_;
}

// ---- ordering: MCAST, delivery, release (§5.12, §5.13) -------------------------------------

void Srp::handle_mcast(Instant now, ByteView datagram) {
    auto peeked = wire::peek(datagram);
    auto r = wire::decode_mcast(datagram);
    if (!r) {
        count_drop(r.error());
        return;
    }
    const wire::McastHeader& h = r->h;
    stats_.mcast_rx++;
    note_ring_seq(h.system_from, h.ring_id.seq);
    const bool encapsulated =
        h.header.encapsulated == static_cast<std::uint8_t>(wire::Encapsulation::encapsulated);
    if (encapsulated && datagram.size() < 2 * wire::mcast_header_size) {
        stats_.rx_msg_dropped++;
        return;
    }

    if (!(h.ring_id == my_ring_id_)) {
        const NodeId from = h.system_from;
        if (contains(excluded_, from)) {
            stats_.rx_from_excluded++;
            return;
        }
        switch (memb_state_) {
            case MembState::operational:
                merge(my_proc_list_, from);
                gather_enter(now, GatherReason::foreign_message, from);
                break;
            case MembState::gather:
                if (!contains(my_proc_list_, from)) {
                    merge(my_proc_list_, from);
                    gather_enter(now, GatherReason::foreign_message, from);
                }
                break;
            case MembState::commit:
            case MembState::recovery:
                stats_.rx_msg_dropped++;
                break;
        }
        return;
    }

    // In RECOVERY every MCAST of my (new) ring belongs to the new ring's sequence space, which
    // is the recovery queue, also the plain ones a member already OPERATIONAL sends. corosync
    // files those in the old ring's queue, where they collide with old-ring seqs: delivered as
    // old-ring messages, requested again and never found (docs/protocol/deviations.md).
    SortQueue& q = (encapsulated || memb_state_ == MembState::recovery) ? recovery_q_ : regular_q_;
    if (datagram.size() <= config_.net_mtu + wire::mcast_header_size && q.in_range(h.seq) &&
        !q.inuse(h.seq)) {
        auto stored = std::make_shared<StoredMsg>();
        stored->raw.assign(datagram.begin(), datagram.end());
        stored->h = h;
        stored->swapped = peeked->swapped;
        if (seq_lt(my_high_seq_received_, h.seq))
            my_high_seq_received_ = h.seq;
        q.add(h.seq, std::move(stored));
    }
    update_aru();
    if (memb_state_ == MembState::operational)
        deliver_to_app(false, my_high_seq_received_);
}

void Srp::update_aru() {
    SortQueue& q = current_queue();
    const std::uint32_t range = my_high_seq_received_ - my_aru_;
    std::uint32_t i = 1;
    for (; i <= range; ++i)
        if (!q.inuse(my_aru_ + i))
            break;
    my_aru_ += i - 1;
}

void Srp::deliver_to_app(bool skip, std::uint32_t end_point) {
    if (!seq_lt(my_high_delivered_, end_point))
        return;
    const std::uint32_t range = end_point - my_high_delivered_;
    TOTEM_ASSERT(range < queue_window);
    const std::uint32_t base = my_high_delivered_;
    // Safe delivery (a local mode, docs/protocol/deviations.md): in the regular configuration
    // a safe message, and everything after it, waits until it is known that every member has
    // it — while OPERATIONAL, until two consecutive tokens' aru cover it (safe_point_); at
    // the configuration change, if a member of the transitional configuration delivered it
    // (old_ring_safe_bound_). What still waits is delivered in the transitional
    // configuration, whose members all have it after recovery.
    const std::uint32_t safe_upto =
        memb_state_ == MembState::operational ? safe_point_ : old_ring_safe_bound_;
    bool gap = false;  // transitional pass: a message of the old ring is missing before here
    for (std::uint32_t i = 1; i <= range; ++i) {
        const std::uint32_t seq = base + i;
        if (!regular_q_.in_range(seq))
            break;
        const MsgPtr* m = regular_q_.get(seq);
        if (!m && !skip)
            break;
        if (!m) {
            my_high_delivered_ = seq;
            gap = true;
            continue;
        }
        const StoredMsg& msg = **m;
        if (!skip && msg.h.guarantee == static_cast<std::int32_t>(Guarantee::safe) &&
            !seq_lte(seq, safe_upto))
            break;
        my_high_delivered_ = seq;
        // After a gap only messages of the transitional configuration's members (corosync's
        // rule: what a departed member sent after the gap may depend on what is missing);
        // before it, every sender's: such a message waited only for safe delivery.
        if (skip && gap && !contains(my_deliver_memb_list_, msg.h.system_from))
            continue;
        DeliverEffect d;
        d.sender = msg.h.header.nodeid;
        d.payload = SharedBytes(*m, ByteView(msg.raw).subspan(wire::mcast_header_size));
        d.swapped = msg.swapped;
        d.guarantee = msg.h.guarantee == static_cast<std::int32_t>(Guarantee::safe)
                          ? Guarantee::safe
                          : Guarantee::agreed;
        d.ring_id = msg.h.ring_id;
        outbox_.push_back(std::move(d));
    }
}

void Srp::messages_free(std::uint32_t token_aru) {
    std::uint32_t release_to = token_aru;
    if (seq_lt(my_last_aru_, release_to))
        release_to = my_last_aru_;
    if (seq_lt(my_high_delivered_, release_to))
        release_to = my_high_delivered_;
    if (seq_lt(release_to, last_released_))
        return;
    const std::uint32_t range = release_to - last_released_;
    TOTEM_ASSERT(range < queue_window);
    if (range == 0)
        return;
    regular_q_.release(release_to);
    last_released_ += range;
}

// ---- the ORF token (§5.8 – §5.11) ----------------------------------------------------------

std::uint32_t Srp::backlog() const {
    if (memb_state_ == MembState::operational)
        return static_cast<std::uint32_t>(waiting_trans_ack_ ? new_q_trans_.size() : new_q_.size());
    if (memb_state_ == MembState::recovery)
        return static_cast<std::uint32_t>(retrans_q_.size());
    return 0;
}

std::uint32_t Srp::fcc_calculate(const wire::OrfToken& t) {
    std::uint32_t allowed = config_.max_messages;
    if (allowed > config_.window_size - t.fcc)
        allowed = config_.window_size - t.fcc;
    my_cbl_ = backlog();
    const std::uint32_t denom = t.backlog + my_cbl_ - my_pbl_;
    if (denom != 0) {
        const std::uint32_t b = config_.window_size * my_pbl_ / denom;
        if (b > 0 && allowed > b)
            allowed = b;
    }
    return allowed;
}

void Srp::fcc_rtr_limit(const wire::OrfToken& t, std::uint32_t& allowed) const {
    if (seq_lt(last_released_ + static_cast<std::uint32_t>(queue_window) - allowed -
                   config_.window_size,
               t.seq))
        allowed = 0;
}

void Srp::fcc_token_update(wire::OrfToken& t, std::uint32_t sent) {
    t.fcc += sent - my_trc_;
    t.backlog += my_cbl_ - my_pbl_;
    my_trc_ = sent;
    my_pbl_ = my_cbl_;
}

std::uint32_t Srp::orf_token_rtr(wire::OrfToken& t, std::uint32_t& allowed) {
    SortQueue& q = current_queue();
    if (!t.rtr_list.empty()) {
        std::string s = "Retransmit List: ";
        char buf[16];
        for (const auto& item : t.rtr_list) {
            std::snprintf(buf, sizeof buf, "%x ", item.seq);
            s += buf;
        }
        log(LogLevel::debug, s);
    }
    // Serve requests I can answer.
    std::uint32_t resent = 0;
    for (std::size_t i = 0; resent < allowed && i < t.rtr_list.size();) {
        const wire::RtrItem& item = t.rtr_list[i];
        const MsgPtr* m =
            item.ring_id == my_ring_id_ && q.in_range(item.seq) ? q.get(item.seq) : nullptr;
        if (!m) {
            ++i;
            continue;
        }
        send(0, (*m)->raw);
        stats_.mcast_retx++;
        resent++;
        t.rtr_list.erase(t.rtr_list.begin() + static_cast<std::ptrdiff_t>(i));
    }
    allowed -= resent;

    // Ask for what I miss.
    const std::uint32_t range = t.seq - my_aru_;
    if (seq_lt(my_aru_, t.seq))
        TOTEM_ASSERT(range < queue_window);
    for (std::uint32_t i = 1;
         t.rtr_list.size() < wire::rtr_entries_max && seq_lt(my_aru_, t.seq) && i <= range; ++i) {
        const std::uint32_t seq = my_aru_ + i;
        if (!q.in_range(seq))
            break;
        if (q.inuse(seq))
            continue;
        if (q.miss_count(seq) < config_.miss_count_const)
            continue;
        bool found = std::any_of(t.rtr_list.begin(), t.rtr_list.end(),
                                 [&](const wire::RtrItem& it) { return it.seq == seq; });
        if (!found) {
            t.rtr_list.push_back(wire::RtrItem{my_ring_id_, seq});
            stats_.rtr_requested++;
        }
    }
    return resent;
}

std::uint32_t Srp::orf_token_mcast(Instant now, wire::OrfToken& t, std::uint32_t allowed) {
    const bool recovery = memb_state_ == MembState::recovery;
    SortQueue& q = current_queue();
    if (recovery)
        reset_token_retransmit_timeout(now);
    std::uint32_t sent = 0;
    for (; sent < allowed; ++sent) {
        auto stored = std::make_shared<StoredMsg>();
        wire::McastHeader& h = stored->h;
        h.header.type = wire::MessageType::mcast;
        h.header.nodeid = my_id_;
        h.system_from = my_id_;
        h.ring_id = my_ring_id_;
        ByteView body;
        MsgPtr inner;
        Pending pending;
        if (recovery) {
            if (retrans_q_.empty())
                break;
            inner = retrans_q_.front();
            retrans_q_.pop_front();
            h.header.encapsulated = static_cast<std::uint8_t>(wire::Encapsulation::encapsulated);
            h.guarantee = 0;
            body = inner->raw;
        } else {
            auto& nq = active_new_queue();
            if (nq.empty())
                break;
            pending = std::move(nq.front());
            nq.pop_front();
            h.header.encapsulated =
                static_cast<std::uint8_t>(wire::Encapsulation::not_encapsulated);
            h.guarantee = static_cast<std::int32_t>(pending.guarantee);
            body = pending.payload;
            stats_.mcast_tx++;
        }
        h.seq = ++t.seq;
        h.this_seqno = global_seqno_++;
        wire::encode(h, body, stored->raw);
        send(0, stored->raw);
        q.add(h.seq, std::move(stored));
        my_high_seq_received_ = t.seq;
    }
    update_aru();
    return sent;
}

void Srp::token_send(wire::OrfToken& t, bool forward) {
    t.header.nodeid = my_id_;
    Bytes b = wire::encode(t);
    wire::set_target_nodeid(b, token_target_);
    last_token_sent_ = b;
    if (forward)
        send(token_target_, std::move(b));
}

void Srp::token_retransmit() {
    if (last_token_sent_.empty())
        return;
    stats_.token_retransmits++;
    send(token_target_, last_token_sent_);
}

void Srp::handle_orf_token(Instant now, ByteView datagram) {
    auto r = wire::decode_orf_token(datagram);
    if (!r) {
        count_drop(r.error());
        return;
    }
    stats_.orf_token_rx++;
    if (orf_token_discard_)
        return;
    wire::OrfToken& t = *r;

    // Idle detection, for every token (b).
    if (t.seq == my_last_seq_) {
        if (!armed(TimerId::merge_detect))
            arm(TimerId::merge_detect, now + config_.merge);
        my_seq_unchanged_ += 1;
    } else {
        cancel(TimerId::merge_detect);
        cancel(TimerId::token_hold);
        my_seq_unchanged_ = 0;
    }
    my_last_seq_ = t.seq;

    // Hold decision (d).
    const bool i_am_rep = my_ring_id_.rep == my_id_;
    my_token_held_ = i_am_rep ? my_seq_unchanged_ > config_.seqno_unchanged_const
                              : my_seq_unchanged_ >= config_.seqno_unchanged_const;
    bool forward = !(i_am_rep && my_token_held_);

    auto heartbeat = [&] {
        if (forward && heartbeat_enabled()) {
            arm(TimerId::heartbeat,
                now + config_.token_retransmit * config_.heartbeat_failures_allowed +
                    config_.max_network_delay);
        } else {
            cancel(TimerId::heartbeat);
        }
    };

    if (memb_state_ == MembState::commit) {
        heartbeat();
        return;
    }
    // corosync frees messages before it checks the token, so a retransmitted (duplicate) or
    // foreign token releases with the aru of the token it copies: two "consecutive" arus that
    // are the same token, before the members behind it could lower the aru. Then a member that
    // misses those messages cannot get them back in recovery. Only a new token of this ring
    // releases here (docs/protocol/deviations.md).
    if (!(t.ring_id == my_ring_id_) || seq_lte(t.token_seq, my_token_seq_)) {
        heartbeat();
        return;
    }
    if (memb_state_ == MembState::operational)
        messages_free(t.aru);

    // A late token is not held (a local choice, docs/protocol/deviations.md): on an idle ring
    // the representative holds the token for `hold` each rotation, and after a loss somewhere
    // in the ring that hold came on top of the retransmissions, so the others waited for the
    // token past the token warning. A rotation longer than hold + token_retransmit/4 means it
    // was delayed: send it on at once.
    if (i_am_rep && my_token_held_ && last_token_rx_ && memb_state_ == MembState::operational &&
        now - *last_token_rx_ > config_.hold + config_.token_retransmit / 4) {
        my_token_held_ = false;
        forward = true;
        stats_.late_token_not_held++;
    }
    last_token_from_ = t.header.nodeid;
    sample_rotation(now);
    last_token_rx_ = now;
    if (token_source_) {
        if (auto p = token_source_->take_for_token(send_queue_avail(), oldest_unsent_tag())) {
            const bool queued = submit(now, p->payload, p->guarantee, false, p->tag);
            TOTEM_ASSERT(queued);  // the source asked only with a free slot
        }
    }

    const std::uint32_t last_aru = my_last_aru_;
    if (memb_state_ == MembState::operational) {
        // Every member has what two consecutive tokens' arus cover (the messages_free rule).
        const std::uint32_t everyone = seq_lt(t.aru, last_aru) ? t.aru : last_aru;
        if (seq_lt(safe_point_, everyone) && seq_lte(everyone, my_high_seq_received_))
            safe_point_ = everyone;
    }
    my_last_aru_ = t.aru;
    std::uint32_t allowed = fcc_calculate(t);
    const std::uint32_t retransmitted = orf_token_rtr(t, allowed);
    if (config_.cancel_token_hold_on_retransmit && my_token_held_ &&
        (!t.rtr_list.empty() || retransmitted > 0)) {
        my_token_held_ = false;
        forward = true;
    }
    fcc_rtr_limit(t, allowed);
    const std::uint32_t sent = orf_token_mcast(now, t, allowed);
    fcc_token_update(t, retransmitted + sent);

    // (k) the aru rule
    if (seq_lt(my_aru_, t.aru) || t.aru_addr == my_id_ || t.aru_addr == 0) {
        t.aru = my_aru_;
        t.aru_addr = t.aru == t.seq ? 0 : my_id_;
    }
    // (l) fail to receive
    my_aru_count_ = (t.aru == last_aru && t.aru_addr != 0) ? my_aru_count_ + 1 : 0;
    if (my_aru_count_ > config_.fail_recv_const && t.aru_addr == my_id_) {
        log(LogLevel::notice, "FAILED TO RECEIVE");
        failed_to_recv_ = true;
        merge(my_failed_list_, my_id_);
        gather_enter(now, GatherReason::failed_to_receive, my_id_);
        heartbeat();
        return;
    }

    my_token_seq_ = t.token_seq;
    t.token_seq += 1;

    if (memb_state_ == MembState::recovery) {
        if (!retrans_q_.empty()) {
            if (t.retrans_flg == 0) {
                t.retrans_flg = 1;
                my_set_retrans_flg_ = true;
            }
        } else if (t.retrans_flg == 1 && my_set_retrans_flg_) {
            t.retrans_flg = 0;
            my_set_retrans_flg_ = false;
        }
        my_retrans_flg_count_ = t.retrans_flg == 0 ? my_retrans_flg_count_ + 1 : 0;
        if (my_retrans_flg_count_ == 2)
            my_install_seq_ = t.seq;
        if (my_retrans_flg_count_ >= 2 && !my_received_flg_ && seq_lte(my_install_seq_, my_aru_)) {
            my_received_flg_ = true;
            my_deliver_memb_list_ = my_trans_memb_list_;
        }
        my_rotation_counter_ = (my_retrans_flg_count_ >= 3 && seq_lte(my_install_seq_, t.aru))
                                   ? my_rotation_counter_ + 1
                                   : 0;
        if (my_rotation_counter_ == 2) {
            operational_enter(now);
            my_rotation_counter_ = 0;
            my_retrans_flg_count_ = 0;
        }
    }

    if (forward)
        stats_.orf_token_tx++;
    token_send(t, forward);
    if (memb_state_ == MembState::operational)
        deliver_to_app(false, my_high_seq_received_);
    outbox_.push_back(TokenSentEffect{});
    reset_token_timeout(now);
    reset_token_retransmit_timeout(now);
    if (i_am_rep && my_token_held_)
        arm(TimerId::token_hold, now + config_.hold);
    heartbeat();
    check_invariants();
}

void Srp::check_invariants() const {
    TOTEM_ASSERT(seq_lte(my_aru_, my_high_seq_received_));
    if (memb_state_ == MembState::operational && started_ && !my_memb_list_.empty()) {
        TOTEM_ASSERT(contains(my_memb_list_, my_id_));
        TOTEM_ASSERT(std::is_sorted(my_memb_list_.begin(), my_memb_list_.end()));
        TOTEM_ASSERT(seq_lte(my_high_delivered_, my_high_seq_received_));
        // Nothing is released that was not delivered here first.
        TOTEM_ASSERT(seq_lte(last_released_, my_high_delivered_));
        // Safe delivery never runs ahead of what every member is known to have.
        TOTEM_ASSERT(safe_point_ == 0 || seq_lte(safe_point_, my_high_seq_received_));
    }
    TOTEM_ASSERT(contains(my_proc_list_, my_id_) || !started_);
}

}  // namespace totem
