#include "engine/totem/stack.hpp"

namespace totem {

TotemStack::TotemStack(const SrpConfig& config, NodeId my_id, std::uint64_t stored_ring_seq,
                       std::uint64_t seed)
    : srp_(config, my_id, stored_ring_seq, seed), pg_(config.net_mtu) {
    // totempg's token-received callback: the partly packed buffer goes out with this token.
    srp_.set_token_received_hook([this](Instant) { pg_.flush(*this); });
}

void TotemStack::start(Instant now) {
    now_ = now;
    srp_.start(now);
    drain();
}

void TotemStack::on_packet(Instant now, ByteView datagram) {
    now_ = now;
    srp_.on_packet(now, datagram);
    drain();
}

void TotemStack::on_timer(Instant now) {
    now_ = now;
    srp_.on_timer(now);
    drain();
}

void TotemStack::on_pause(Instant now, Duration gap) {
    now_ = now;
    srp_.on_pause(now, gap);
    drain();
}

void TotemStack::leave(Instant now) {
    now_ = now;
    srp_.leave(now);
    drain();
}

void TotemStack::trans_ack() {
    srp_.trans_ack();
    pg_.set_waiting_trans_ack(false);
}

bool TotemStack::mcast(std::span<const std::string_view> groups, ByteView payload, Guarantee g) {
    srp_.signal_new_message(now_);
    const bool ok = pg_.mcast(groups, payload, g, *this);
    drain();
    return ok;
}

bool TotemStack::submit_packet(ByteView packet, Guarantee g) {
    return srp_.submit(now_, packet, g, forcing_);
}

std::vector<StackEffect> TotemStack::take_effects() {
    drain();
    return std::exchange(effects_, {});
}

void TotemStack::drain() {
    for (Effect& e : srp_.take_outbox()) {
        if (auto* d = std::get_if<DeliverEffect>(&e)) {
            std::vector<GroupMessage> msgs;
            pg_.deliver(d->sender, d->payload, d->swapped, msgs);
            for (auto& m : msgs)
                effects_.push_back(AppDeliverEffect{std::move(m), d->guarantee, d->ring_id});
            continue;
        }
        if (auto* c = std::get_if<ConfChgEffect>(&e)) {
            // A departed member's partial message is kept through the transitional
            // configuration: the rest of it may come there (a message that waited for safe
            // delivery). The regular change drops every partial message.
            if (c->type == ConfChgType::regular) {
                pg_.set_waiting_trans_ack(true);
                // No partial message crosses a configuration change at any member; a message
                // this node had partly sent goes out again, whole, in the new ring.
                pg_.discard_partials();
                const std::size_t unsent = srp_.pending_packets();
                if (pg_.straddles(unsent)) {
                    srp_.drop_pending();
                    forcing_ = true;
                    pg_.resend_unsent(unsent, *this);
                    forcing_ = false;
                }
            }
        }
        std::visit(
            [this](auto&& v) {
                using T = std::decay_t<decltype(v)>;
                if constexpr (!std::is_same_v<T, DeliverEffect>)
                    effects_.push_back(std::move(v));
            },
            e);
    }
}

}  // namespace totem
