#include "engine/totem/stack.hpp"

#include <map>

namespace totem {

TotemStack::TotemStack(const SrpConfig& config, NodeId my_id, std::uint64_t stored_ring_seq,
                       std::uint64_t seed)
    : srp_(config, my_id, stored_ring_seq, seed), pg_(config.net_mtu) {
    srp_.set_token_source(this);
}

void TotemStack::start(Instant now) {
    now_ = now;
    srp_.start(now);
}

void TotemStack::on_packet(Instant now, ByteView datagram) {
    now_ = now;
    srp_.on_packet(now, datagram);
}

void TotemStack::on_timer(Instant now) {
    now_ = now;
    srp_.on_timer(now);
}

void TotemStack::on_pause(Instant now, Duration gap) {
    now_ = now;
    srp_.on_pause(now, gap);
}

void TotemStack::leave(Instant now) {
    now_ = now;
    srp_.leave(now);
}

void TotemStack::force_gather(Instant now) {
    now_ = now;
    // Srp asserts an empty outbox on entry: keep what it produced before, in order.
    for (Effect& e : srp_.take_outbox())
        pending_.push_back(std::move(e));
    srp_.force_gather(now);
}

void TotemStack::exclude(Instant now, NodeId node) {
    now_ = now;
    for (Effect& e : srp_.take_outbox())
        pending_.push_back(std::move(e));
    srp_.exclude(now, node);
}

void TotemStack::trans_ack() {
    srp_.trans_ack();
    pg_.set_waiting_trans_ack(false);
    waiting_ = false;
}

bool TotemStack::mcast(std::span<const std::string_view> groups, ByteView payload, Guarantee g) {
    srp_.signal_new_message(now_);
    return pg_.mcast(groups, payload, g, *this);
}

bool TotemStack::room_for(std::size_t bytes) const {
    return pg_.slots_needed(bytes) <= srp_.send_queue_avail();
}

bool TotemStack::submit_packet(ByteView packet, Guarantee g, std::uint64_t tag) {
    return srp_.submit(now_, packet, g, forcing_, tag, repack_queue_);
}

std::optional<TokenSource::Packet> TotemStack::take_for_token(
    std::size_t slots_avail, std::optional<std::uint64_t> oldest_unsent) {
    auto p = pg_.take_flush(slots_avail, oldest_unsent);
    if (!p)
        return std::nullopt;
    return TokenSource::Packet{std::move(p->packet), p->guarantee, p->tag};
}

void TotemStack::on_confchg(const ConfChgEffect& c) {
    // A departed member's partial message is kept through the transitional configuration: the
    // rest of it may come there (a message that waited for safe delivery). The regular change
    // drops every partial message.
    if (c.type == ConfChgType::transitional)
        return;
    pg_.set_waiting_trans_ack(true);
    // No partial message crosses a configuration change at any member; a message this node had
    // partly sent goes out again, whole, in the new ring — in the send queue it was in (Srp's
    // normal queue waits for the end of sync, the transitional one does not).
    pg_.discard_partials();
    // The packing buffer holds the tail of messages queued before this change: it goes to the
    // queue they went to (the transitional one only if the last sync had not ended), not to
    // the one the next token would flush it into.
    const bool was_waiting = waiting_;
    waiting_ = true;
    if (auto p = pg_.take_flush(1, srp_.oldest_unsent_tag())) {
        const bool queued = srp_.submit(now_, p->packet, p->guarantee, true, p->tag, was_waiting);
        TOTEM_ASSERT(queued);
    }
    const auto plan = pg_.plan_repack(srp_.unsent_tags());
    if (!plan)
        return;
    const std::map<std::uint64_t, bool> dropped = srp_.drop_pending(plan->drop);
    std::vector<Totempg::RepackMessage> normal, trans;
    for (auto& m : pg_.take_repack(*plan)) {
        // The queue of its first dropped packet (every re-packed message has one: the packing
        // buffer was flushed above).
        auto it = dropped.lower_bound(m.first_tag);
        TOTEM_ASSERT(it != dropped.end() && it->first <= m.last_tag);
        (it->second ? trans : normal).push_back(std::move(m));
    }
    forcing_ = true;
    for (bool q : {false, true}) {
        repack_queue_ = q;
        pg_.pack_again(q ? trans : normal, *this);
    }
    repack_queue_.reset();
    forcing_ = false;
}

std::optional<StackEffect> TotemStack::next_effect() {
    for (;;) {
        if (ready_pos_ < ready_.size()) {
            StackEffect e = std::move(ready_[ready_pos_++]);
            if (ready_pos_ == ready_.size()) {
                ready_.clear();  // keeps its capacity for the next packet
                ready_pos_ = 0;
            }
            return e;
        }
        // Effects of a later call come after those of an earlier one not yet taken.
        for (Effect& e : srp_.take_outbox())
            pending_.push_back(std::move(e));
        if (pending_.empty())
            return std::nullopt;
        Effect e = std::move(pending_.front());
        pending_.pop_front();
        if (auto* d = std::get_if<DeliverEffect>(&e)) {
            // The messages share the packet (d->payload); scratch_ is reused from packet to packet.
            scratch_.clear();
            pg_.deliver(d->sender, d->payload, d->swapped, scratch_);
            for (auto& m : scratch_)
                ready_.push_back(AppDeliverEffect{std::move(m), d->guarantee, d->ring_id});
            scratch_.clear();
            continue;
        }
        if (auto* c = std::get_if<ConfChgEffect>(&e))
            on_confchg(*c);
        std::optional<StackEffect> out;
        std::visit(
            [&out](auto&& v) {
                using T = std::decay_t<decltype(v)>;
                if constexpr (!std::is_same_v<T, DeliverEffect>)
                    out = std::move(v);
            },
            std::move(e));
        return out;
    }
}

std::vector<StackEffect> TotemStack::take_effects() {
    std::vector<StackEffect> out;
    while (auto e = next_effect())
        out.push_back(std::move(*e));
    return out;
}

}  // namespace totem
