// TotemStack: one node's Totem protocol as the layers above see it — Srp with Totempg on top.
//
// The Totem layer of the node core (engine/core). Inputs are the Srp inputs plus mcast() of
// application messages; outputs are the Srp effects, with deliveries reassembled into
// application messages (AppDeliverEffect) instead of raw packets. Effects come out one at a
// time (next_effect()), and a delivered packet is reassembled only when its effect is taken:
// so whatever the layer above does while it handles one effect (a trans_ack() at the end of
// sync, an exclude(), more mcasts) acts before the next packet is looked at, as in corosync,
// where services run inside totemsrp's delivery loop. Pure and single-threaded, like its parts.
#pragma once

#include <deque>
#include <optional>
#include <span>
#include <string_view>
#include <variant>
#include <vector>

#include "engine/totem/srp.hpp"
#include "engine/totem/totempg.hpp"

namespace totem {

struct AppDeliverEffect {
    GroupMessage msg;
    // Of the totempg packet that completed the message: its guarantee (the strongest among the
    // messages it packs) and the ring it was sent in.
    Guarantee guarantee = Guarantee::agreed;
    RingId ring_id;
};
using StackEffect = std::variant<SendEffect, AppDeliverEffect, ConfChgEffect, PersistRingSeqEffect,
                                 LogEffect, TokenSentEffect>;

class TotemStack : private PacketSink, private TokenSource {
  public:
    TotemStack(const SrpConfig& config, NodeId my_id, std::uint64_t stored_ring_seq,
               std::uint64_t seed);
    // Not movable: Srp's token source points back at this object.
    TotemStack(const TotemStack&) = delete;
    TotemStack& operator=(const TotemStack&) = delete;

    void start(Instant now);
    void on_packet(Instant now, ByteView datagram);
    void on_timer(Instant now);
    void on_pause(Instant now, Duration gap);
    void leave(Instant now);
    void force_gather(Instant now);
    void reconfigure(const SrpConfig& c) { srp_.reconfigure(c); }
    void clear_stats() { srp_.clear_stats(); }
    void exclude(Instant now, NodeId node);
    // The layer above finished synchronising after the last configuration change.
    void trans_ack();
    // One application message to `groups`; false when the send queue lacks room (retry later).
    bool mcast(std::span<const std::string_view> groups, ByteView payload,
               Guarantee g = Guarantee::agreed);
    bool mcast(std::string_view group, ByteView payload, Guarantee g = Guarantee::agreed) {
        return mcast(std::span<const std::string_view>(&group, 1), payload, g);
    }
    // Slots a message of `bytes` would take in the send queue, and whether they are free now
    // (corosync's totempg_groups_joined_reserve, for IPC admission).
    bool room_for(std::size_t bytes) const;
    // corosync's totempg_size_limit: an IPC request this large or larger is refused at once.
    std::size_t message_size_limit() const {
        return (srp_.send_queue_max() - 1) * pg_.slot_bytes();
    }
    // Nothing of ours waits to be sent: no packet queued in Srp, nothing in the packing buffer.
    bool send_idle() const { return srp_.pending_packets() == 0 && pg_.pending_msgs() == 0; }
    // Percent of the send queue in use (totempg's q_level_precent_used).
    std::uint32_t queue_percent_used() const {
        return static_cast<std::uint32_t>(100 -
                                          srp_.send_queue_avail() * 100 / srp_.send_queue_max());
    }

    std::optional<Instant> next_deadline() const { return srp_.next_deadline(); }
    // The next effect, in the order Srp produced them; nothing when all were taken.
    std::optional<StackEffect> next_effect();
    // Every effect at once (tests).
    std::vector<StackEffect> take_effects();
    bool has_effects() const { return !pending_.empty() || !srp_outbox_empty(); }

    const Srp& srp() const { return srp_; }
    const Totempg& totempg() const { return pg_; }
    void check_invariants() const {
        srp_.check_invariants();
        pg_.check_invariants();
    }

  private:
    std::size_t packet_slots_avail() const override { return srp_.send_queue_avail(); }
    bool submit_packet(ByteView packet, Guarantee g, std::uint64_t tag) override;
    std::optional<TokenSource::Packet> take_for_token(
        std::size_t slots_avail, std::optional<std::uint64_t> oldest_unsent) override;
    bool srp_outbox_empty() const { return srp_.outbox_empty(); }
    void on_confchg(const ConfChgEffect& c);

    Srp srp_;
    Totempg pg_;
    Instant now_{};
    bool forcing_ = false;              // re-packing after a configuration change: no slot limit
    std::optional<bool> repack_queue_;  // while re-packing: Srp's transitional queue or not
    bool waiting_ = true;         // Srp waits for the transitional ack (it starts so, as corosync)
    std::deque<Effect> pending_;  // Srp effects not taken yet
    // Reassembled messages of one packet, taken from ready_pos_ on (a vector reused from packet
    // to packet: a deque allocated a block for every few messages).
    std::vector<StackEffect> ready_;
    std::size_t ready_pos_ = 0;
    std::vector<GroupMessage> scratch_;  // Totempg::deliver's output, reused
};

}  // namespace totem
