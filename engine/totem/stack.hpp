// TotemStack: one node's Totem protocol as the layers above see it — Srp with Totempg on top.
//
// The unit that the daemon (engine/node) and the simulator (tests/sim) drive. Inputs are the
// Srp inputs plus mcast() of application messages; outputs are the Srp effects with deliveries
// already reassembled into application messages (AppDeliverEffect) instead of raw packets.
// Pure and single-threaded, like its parts.
#pragma once

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
using StackEffect =
    std::variant<SendEffect, AppDeliverEffect, ConfChgEffect, PersistRingSeqEffect, LogEffect>;

class TotemStack : private PacketSink {
  public:
    TotemStack(const SrpConfig& config, NodeId my_id, std::uint64_t stored_ring_seq,
               std::uint64_t seed);
    // Not movable: Srp's token hook points back at this object.
    TotemStack(const TotemStack&) = delete;
    TotemStack& operator=(const TotemStack&) = delete;

    void start(Instant now);
    void on_packet(Instant now, ByteView datagram);
    void on_timer(Instant now);
    void on_pause(Instant now, Duration gap);
    void leave(Instant now);
    // Until a sync layer exists the transitional configuration is acknowledged by the driver
    // right after the regular configuration change (ISSUE-NOTES, issue 3).
    void trans_ack();
    // One application message to `groups`; false when the send queue lacks room (retry later).
    bool mcast(std::span<const std::string_view> groups, ByteView payload,
               Guarantee g = Guarantee::agreed);
    bool mcast(std::string_view group, ByteView payload, Guarantee g = Guarantee::agreed) {
        return mcast(std::span<const std::string_view>(&group, 1), payload, g);
    }

    std::optional<Instant> next_deadline() const { return srp_.next_deadline(); }
    std::vector<StackEffect> take_effects();

    const Srp& srp() const { return srp_; }
    Srp& srp() { return srp_; }
    const Totempg& totempg() const { return pg_; }

  private:
    std::size_t packet_slots_avail() const override { return srp_.send_queue_avail(); }
    bool submit_packet(ByteView packet, Guarantee g) override;
    std::size_t packets_pending() const override { return srp_.pending_packets(); }
    void drain();  // moves Srp effects into effects_, reassembling deliveries

    Srp srp_;
    Totempg pg_;
    Instant now_{};
    bool forcing_ = false;  // re-packing after a configuration change: no slot limit
    std::vector<StackEffect> effects_;
};

}  // namespace totem
