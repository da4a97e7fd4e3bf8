// Totempg packing, fragmentation and reassembly (shared/spec/totem-wire.md §6).
//
// Send side: the packing loop reproduces corosync 3.1.7's mcast_msg decision for decision —
// the message is a list of "iovecs" (the group length array, each group name, each payload
// part, zero-length ones removed), the fit test uses the whole iovec length, the tail of a
// split iovec goes out at once — so that the packets, their boundaries and their fragment
// numbers are the ones a corosync node emits for the same message.
//
// Receive side: see docs/protocol/totempg.md. Each originator's packets arrive in its seq
// order and none is lost within a configuration, so `continuation` always equals the
// `fragmented` of that originator's previous packet; when it does not (a partial discarded
// by a configuration change, a gap in the transitional delivery), only the broken message is
// lost and reassembly resumes with the next part of the same packet.
#include "engine/totem/totempg.hpp"

#include <algorithm>
#include <array>
#include <numeric>

#include "common/assert.hpp"

namespace totem {

namespace {

constexpr std::size_t srp_overhead = 90;  // 2 × sizeof(struct mcast): totemsrp_net_mtu_adjust
constexpr std::size_t slot_slack =
    8 + 16;  // byte_count_send_ok: net_mtu - sizeof(totempg_mcast) - 16

Guarantee strongest(Guarantee a, Guarantee b) {
    return static_cast<std::int32_t>(a) >= static_cast<std::int32_t>(b) ? a : b;
}

}  // namespace

Totempg::Totempg(std::uint32_t net_mtu)
    : packet_max_(net_mtu - srp_overhead),
      data_max_(net_mtu - srp_overhead - header_size),
      slot_bytes_(net_mtu - srp_overhead - slot_slack) {
    TOTEM_ASSERT(net_mtu >= min_net_mtu);
    TOTEM_ASSERT(packet_max_ <= 65536);  // msg_len entries are u16
    pack_data_.reserve(data_max_);
}

std::size_t Totempg::slots_needed(std::size_t bytes) const {
    return bytes / slot_bytes_ + 1;
}

// ---- GroupNames ---------------------------------------------------------------------------

std::size_t GroupNames::iterator::len() const {
    TOTEM_ASSERT(index_ < g_->count_);
    Reader r(g_->header_.view().subspan(2 + 2 * index_, 2), g_->swapped_);
    return r.u16();
}

std::string_view GroupNames::iterator::operator*() const {
    const ByteView name = g_->header_.view().subspan(name_pos_, len());
    return std::string_view(reinterpret_cast<const char*>(name.data()), name.size());
}

std::vector<std::string> GroupNames::to_vector() const {
    std::vector<std::string> out;
    out.reserve(count_);
    for (std::string_view name : *this)
        out.emplace_back(name);
    return out;
}

bool GroupNames::operator==(const std::vector<std::string>& v) const {
    if (v.size() != count_)
        return false;
    std::size_t i = 0;
    for (std::string_view name : *this)
        if (name != v[i++])
            return false;
    return true;
}

// ---- send -------------------------------------------------------------------------------

bool Totempg::mcast(std::span<const std::string_view> groups, ByteView payload, Guarantee g,
                    PacketSink& sink) {
    const ByteView parts[1] = {payload};
    return mcast_iov(groups, parts, g, sink);
}

bool Totempg::mcast_parts(std::span<const std::string_view> groups, std::span<const ByteView> parts,
                          Guarantee g, PacketSink& sink) {
    return mcast_iov(groups, parts, g, sink);
}

bool Totempg::mcast_iov(std::span<const std::string_view> groups, std::span<const ByteView> parts,
                        Guarantee g, PacketSink& sink) {
    const auto refuse = [this] {
        ++stats_.msgs_refused;
        return false;
    };
    if (groups.empty() || groups.size() > max_groups)
        return refuse();
    if (parts.size() > max_payload_parts)
        return refuse();
    std::size_t names_bytes = 0;
    for (std::string_view name : groups) {
        if (name.size() > 0xffff)
            return refuse();
        names_bytes += name.size();
    }
    std::size_t payload_bytes = 0;
    for (ByteView p : parts)
        payload_bytes += p.size();
    if (payload_bytes > max_message_size)
        return refuse();
    const std::size_t header_bytes = 2 * (groups.size() + 1) + names_bytes;
    const std::size_t total = header_bytes + payload_bytes;
    // Our own receiver (and corosync's assembly buffer) must be able to take it back.
    if (total > max_reassembly_size)
        return refuse();

    // The group header, then corosync's iovec list with zero-length entries removed (both on
    // the stack: their sizes are bounded by max_groups and max_payload_parts).
    std::array<std::uint8_t, 2 * (max_groups + 1)> group_lens{};
    const auto put_len = [&group_lens](std::size_t at, std::size_t v) {
        group_lens[2 * at] = static_cast<std::uint8_t>(v);  // little-endian, as Writer::u16
        group_lens[2 * at + 1] = static_cast<std::uint8_t>(v >> 8);
    };
    put_len(0, groups.size());
    for (std::size_t k = 0; k < groups.size(); ++k)
        put_len(k + 1, groups[k].size());
    std::array<ByteView, 1 + max_groups + max_payload_parts> iov_store;
    std::size_t iov_count = 0;
    iov_store[iov_count++] = ByteView(group_lens.data(), 2 * (groups.size() + 1));
    for (std::string_view name : groups) {
        if (!name.empty())
            iov_store[iov_count++] =
                ByteView(reinterpret_cast<const std::uint8_t*>(name.data()), name.size());
    }
    for (ByteView p : parts) {
        if (!p.empty())
            iov_store[iov_count++] = p;
    }
    const std::span<const ByteView> iov(iov_store.data(), iov_count);

    // corosync's byte_count_send_ok counts the message and the length entries already packed;
    // it ignores the data already in the buffer, which can make the call emit one more packet
    // than it says (corosync then asserts). Ask for the larger of the two.
    const std::size_t emits = pack(iov, g, nullptr);
    const std::size_t needed = std::max(slots_needed(total + 2 * cursor_.count), emits);
    if (needed > sink.packet_slots_avail())
        return refuse();

    const std::uint64_t first_packet = emitted_;
    const std::size_t emitted = pack(iov, g, &sink);
    TOTEM_ASSERT(emitted == emits);
    ++stats_.msgs_packed;
    keep_outgoing(iov, g, first_packet);
    return true;
}

void Totempg::keep_outgoing(std::span<const ByteView> pieces, Guarantee g,
                            std::uint64_t first_packet) {
    Outgoing o;
    o.begin = out_base_ + out_data_.size();
    for (ByteView piece : pieces) {
        out_data_.insert(out_data_.end(), piece.begin(), piece.end());
        o.size += piece.size();
    }
    o.g = g;
    o.first_packet = first_packet;
    // The last byte is in the buffer (the next packet) or went out in the last one emitted.
    o.last_packet = pack_lens_.empty() ? emitted_ - 1 : emitted_;
    outgoing_.push_back(o);
}

void Totempg::prune_sent(std::optional<std::uint64_t> oldest_unsent) {
    // A message is on the wire when its last packet is: emitted (not the packing buffer) and
    // below every unsent tag.
    const std::uint64_t bound = oldest_unsent ? std::min(*oldest_unsent, emitted_) : emitted_;
    while (!outgoing_.empty() && outgoing_.front().last_packet < bound)
        outgoing_.pop_front();
    if (outgoing_.empty()) {
        out_base_ += out_data_.size();
        out_data_.clear();
        return;
    }
    const std::size_t unused = outgoing_.front().begin - out_base_;
    if (unused > out_data_.size() / 2) {
        out_data_.erase(out_data_.begin(), out_data_.begin() + static_cast<std::ptrdiff_t>(unused));
        out_base_ += unused;
    }
}

std::size_t Totempg::unsent_packets(const Outgoing& o,
                                    const std::vector<std::uint64_t>& unsent) const {
    std::size_t n = o.last_packet == emitted_ ? 1 : 0;  // its tail in the packing buffer
    const std::uint64_t last_emitted = o.last_packet == emitted_ ? emitted_ - 1 : o.last_packet;
    if (o.first_packet <= last_emitted && o.first_packet < emitted_) {
        auto lo = std::lower_bound(unsent.begin(), unsent.end(), o.first_packet);
        auto hi = std::upper_bound(unsent.begin(), unsent.end(), last_emitted);
        n += static_cast<std::size_t>(hi - lo);
    }
    return n;
}

std::optional<Totempg::RepackPlan> Totempg::plan_repack(
    const std::vector<std::uint64_t>& unsent) const {
    std::optional<std::uint64_t> from;  // the first packet of the earliest partly sent message
    std::vector<std::size_t> left(outgoing_.size());
    for (std::size_t i = 0; i < outgoing_.size(); ++i) {
        const Outgoing& o = outgoing_[i];
        left[i] = unsent_packets(o, unsent);
        const std::size_t packets = o.last_packet - o.first_packet + 1;
        if (left[i] > 0 && left[i] < packets && (!from || o.first_packet < *from))
            from = o.first_packet;
    }
    if (!from)
        return std::nullopt;
    RepackPlan plan;
    std::vector<bool> in(outgoing_.size(), false);
    for (std::size_t i = 0; i < outgoing_.size(); ++i)
        in[i] = left[i] > 0 && outgoing_[i].last_packet >= *from;
    // A message before them that ends in a packet one of them starts in goes too.
    for (std::size_t i = outgoing_.size(); i-- > 1;)
        if (in[i] && !in[i - 1] && left[i - 1] > 0 &&
            outgoing_[i - 1].last_packet == outgoing_[i].first_packet)
            in[i - 1] = true;
    for (std::size_t i = 0; i < outgoing_.size(); ++i) {
        if (!in[i])
            continue;
        plan.messages.push_back(i);
        const Outgoing& o = outgoing_[i];
        auto lo = std::lower_bound(unsent.begin(), unsent.end(), o.first_packet);
        auto hi = std::upper_bound(unsent.begin(), unsent.end(), o.last_packet);
        plan.drop.insert(plan.drop.end(), lo, hi);
    }
    std::sort(plan.drop.begin(), plan.drop.end());
    plan.drop.erase(std::unique(plan.drop.begin(), plan.drop.end()), plan.drop.end());
    return plan;
}

std::vector<Totempg::RepackMessage> Totempg::take_repack(const RepackPlan& plan) {
    std::vector<RepackMessage> out;
    std::vector<bool> take(outgoing_.size(), false);
    for (std::size_t i : plan.messages) {
        TOTEM_ASSERT(i < outgoing_.size());
        take[i] = true;
        const Outgoing& o = outgoing_[i];
        const ByteView bytes = outgoing_bytes(o);
        out.push_back(
            RepackMessage{Bytes(bytes.begin(), bytes.end()), o.g, o.first_packet, o.last_packet});
    }
    std::deque<Outgoing> keep;
    for (std::size_t i = 0; i < outgoing_.size(); ++i)
        if (!take[i])
            keep.push_back(std::move(outgoing_[i]));
    outgoing_ = std::move(keep);
    // What the packing buffer held belongs to messages of the plan (their tail is unsent).
    pack_data_.clear();
    pack_lens_.clear();
    cursor_ = PackCursor{};
    pack_guarantee_ = Guarantee::agreed;
    return out;
}

void Totempg::pack_again(std::span<const RepackMessage> msgs, PacketSink& sink) {
    for (const RepackMessage& m : msgs) {
        const ByteView whole(m.msg);
        const std::uint64_t first_packet = emitted_;
        pack(std::span<const ByteView>(&whole, 1), m.g, &sink);
        ++stats_.msgs_resent;
        keep_outgoing(std::span<const ByteView>(&whole, 1), m.g, first_packet);
    }
    if (!pack_lens_.empty()) {
        emit(sink, cursor_.continuation, 0, pack_guarantee_);
        cursor_ = PackCursor{};
        pack_guarantee_ = Guarantee::agreed;
    }
}

void Totempg::discard_partials() {
    for (auto* set : {&normal_, &trans_}) {
        for (const auto& [node, a] : *set)
            if (a.state == Assembly::State::collecting)
                ++stats_.rx_partials_dropped;
        set->clear();
    }
}

std::size_t Totempg::pack(std::span<const ByteView> iov, Guarantee g, PacketSink* sink) {
    PackCursor c = cursor_;
    TOTEM_ASSERT(c.cur_len == 0);
    std::size_t emitted = 0;
    // Signed, as in corosync: the room for data given the length entries (k + 1 of them).
    auto max = static_cast<std::int64_t>(data_max_) - 2 * static_cast<std::int64_t>(c.count + 1);
    std::size_t i = 0;
    std::size_t base = 0;  // bytes of iov[i] already packed (copy_base)
    while (i < iov.size()) {
        const std::size_t len = iov[i].size();
        const std::uint8_t continuation = c.continuation;
        // "If it all fits with room left over": the whole iovec length, even when part of it
        // went out already.
        if (static_cast<std::int64_t>(len + c.used) < max - 2) {
            const std::size_t rest = len - base;
            if (sink != nullptr) {
                const ByteView piece = iov[i].subspan(base);
                pack_data_.insert(pack_data_.end(), piece.begin(), piece.end());
            }
            c.used += rest;
            c.cur_len += rest;
            c.next_fragment = 1;
            ++i;
            base = 0;
            continue;
        }
        // It just fits or is too big: send what fits, now.
        TOTEM_ASSERT(max > static_cast<std::int64_t>(c.used));
        const std::size_t copy = std::min(len - base, static_cast<std::size_t>(max) - c.used);
        TOTEM_ASSERT(copy > 0);
        if (sink != nullptr) {
            const ByteView piece = iov[i].subspan(base, copy);
            pack_data_.insert(pack_data_.end(), piece.begin(), piece.end());
        }
        c.used += copy;
        c.cur_len += copy;
        std::uint8_t fragmented = 0;
        if (i + 1 < iov.size() || base + copy < len) {
            // The message continues in the next packet. Fragment numbers skip 0 and wrap.
            if (c.next_fragment == 0)
                ++c.next_fragment;
            fragmented = c.next_fragment++;
            c.continuation = fragmented;
        } else {
            c.continuation = 0;
        }
        if (sink != nullptr) {
            TOTEM_ASSERT(c.cur_len <= 0xffff);
            pack_lens_.push_back(static_cast<std::uint16_t>(c.cur_len));
            emit(*sink, continuation, fragmented, strongest(pack_guarantee_, g));
            pack_guarantee_ = Guarantee::agreed;
        }
        ++emitted;
        c.count = 0;
        c.used = 0;
        c.cur_len = 0;
        max = static_cast<std::int64_t>(data_max_) - 2;
        if (base + copy == len) {
            ++i;
            base = 0;
        } else {
            base += copy;
        }
    }
    // The message ends inside the buffer: its length entry is final; the packet waits.
    if (c.cur_len != 0) {
        if (sink != nullptr) {
            TOTEM_ASSERT(c.cur_len <= 0xffff);
            pack_lens_.push_back(static_cast<std::uint16_t>(c.cur_len));
            pack_guarantee_ = strongest(pack_guarantee_, g);
        }
        ++c.count;
        c.cur_len = 0;
    }
    if (sink != nullptr)
        cursor_ = c;
    return emitted;
}

void Totempg::build_packet(std::uint8_t continuation, std::uint8_t fragmented, Bytes& packet) {
    TOTEM_ASSERT(!pack_lens_.empty());
    packet.clear();
    packet.reserve(header_size + 2 * pack_lens_.size() + pack_data_.size());
    Writer w(packet);
    w.u16(0);  // header.version
    w.u16(0);  // header.type
    w.u8(fragmented);
    w.u8(continuation);
    w.u16(static_cast<std::uint16_t>(pack_lens_.size()));
    for (std::uint16_t len : pack_lens_)
        w.u16(len);
    w.bytes(pack_data_);
    TOTEM_ASSERT(packet.size() <= packet_max_);
    ++emitted_;
    ++stats_.packets_sent;
    if (fragmented != 0)
        ++stats_.fragments_sent;
    pack_lens_.clear();
    pack_data_.clear();
}

void Totempg::emit(PacketSink& sink, std::uint8_t continuation, std::uint8_t fragmented,
                   Guarantee g) {
    const std::uint64_t tag = emitted_;
    build_packet(continuation, fragmented, packet_buf_);
    const bool queued = sink.submit_packet(packet_buf_, g, tag);
    TOTEM_ASSERT(queued);  // slots were checked before
}

std::optional<Totempg::FlushedPacket> Totempg::take_flush(
    std::size_t slots_avail, std::optional<std::uint64_t> oldest_unsent) {
    prune_sent(oldest_unsent);
    if (pack_lens_.empty())
        return std::nullopt;
    if (slots_avail == 0)
        return std::nullopt;  // corosync: totemsrp_avail() == 0, next token
    const std::uint64_t tag = emitted_;
    // A fresh vector: the token source hands it to Srp, which keeps it.
    FlushedPacket out{Bytes{}, pack_guarantee_, tag};
    build_packet(cursor_.continuation, 0, out.packet);
    cursor_.continuation = 0;
    cursor_.count = 0;
    cursor_.used = 0;
    pack_guarantee_ = Guarantee::agreed;
    return out;
}

void Totempg::flush(PacketSink& sink, std::optional<std::uint64_t> oldest_unsent) {
    if (auto p = take_flush(sink.packet_slots_avail(), oldest_unsent)) {
        const bool queued = sink.submit_packet(p->packet, p->guarantee, p->tag);
        TOTEM_ASSERT(queued);
    }
}

// ---- receive ----------------------------------------------------------------------------

void Totempg::deliver(NodeId sender, const SharedBytes& shared, bool swapped,
                      std::vector<GroupMessage>& out) {
    const ByteView packet = shared.view();
    ++stats_.packets_rx;
    // Validate the whole packet before touching any state.
    if (packet.size() < header_size) {
        ++stats_.rx_malformed;
        ++stats_.rx_too_short;
        return;
    }
    Reader r(packet, swapped);
    r.u16();  // header.version: always 0, not examined (corosync does not either)
    r.u16();  // header.type: likewise
    const std::uint8_t fragmented = r.u8();
    const std::uint8_t continuation = r.u8();
    const std::uint16_t msg_count = r.u16();
    if (msg_count == 0 || r.remaining() < 2 * static_cast<std::size_t>(msg_count)) {
        ++stats_.rx_malformed;
        ++stats_.rx_bad_count;
        return;
    }
    rx_lens_.resize(msg_count);
    std::size_t sum = 0;
    for (auto& len : rx_lens_) {
        len = r.u16();
        sum += len;
    }
    TOTEM_ASSERT(r.ok());
    if (r.remaining() != sum) {
        ++stats_.rx_malformed;
        ++stats_.rx_bad_length;
        return;
    }
    const std::size_t data_offset = r.position();
    const ByteView data = r.rest();

    auto& set = active_set();
    std::size_t first = 0;  // the first part that starts a message
    std::size_t offset = 0;
    if (continuation != 0) {
        // Part 0 continues a message begun in this originator's previous packet.
        const ByteView part = data.subspan(0, rx_lens_[0]);
        offset = rx_lens_[0];
        first = 1;
        const bool completes = msg_count > 1 || fragmented == 0;
        auto it = set.find(sender);
        if (it != set.end() && it->second.last_frag_num == continuation) {
            Assembly& a = it->second;
            if (a.state == Assembly::State::collecting && append_partial(a, part) && completes) {
                // The assembly ends here (erased below): the message takes its buffer over.
                deliver_message(sender, SharedBytes(std::move(a.data)), swapped, out);
            }
            if (completes) {
                set.erase(it);
            } else {
                a.last_frag_num = fragmented;
            }
        } else {
            // Its beginning is not here: only this message is lost.
            ++stats_.rx_fragment_lost;
            if (completes) {
                if (it != set.end())
                    set.erase(it);
            } else {
                Assembly& a = set[sender];
                a.state = Assembly::State::discarding;
                a.last_frag_num = fragmented;
                Bytes().swap(a.data);
            }
        }
    } else if (auto it = set.find(sender); it != set.end()) {
        // A new message starts, but the previous one never ended.
        if (it->second.state == Assembly::State::collecting)
            ++stats_.rx_fragment_lost;
        set.erase(it);
    }

    for (std::size_t i = first; i < msg_count; ++i) {
        const std::size_t start = offset;
        const ByteView part = data.subspan(offset, rx_lens_[i]);
        offset += rx_lens_[i];
        if (i + 1 == msg_count && fragmented != 0) {
            Assembly& a = set[sender];
            a.state = Assembly::State::collecting;
            a.last_frag_num = fragmented;
            a.data.clear();
            append_partial(a, part);
        } else {
            deliver_message(sender, shared.sub(data_offset + start, part.size()), swapped, out);
        }
    }
    TOTEM_ASSERT(offset == data.size());
}

bool Totempg::append_partial(Assembly& a, ByteView part) {
    TOTEM_ASSERT(a.state == Assembly::State::collecting);
    if (a.data.size() + part.size() > max_reassembly_size) {
        ++stats_.rx_oversize;
        a.state = Assembly::State::discarding;
        Bytes().swap(a.data);
        return false;
    }
    a.data.insert(a.data.end(), part.begin(), part.end());
    return true;
}

void Totempg::deliver_message(NodeId sender, const SharedBytes& msg, bool swapped,
                              std::vector<GroupMessage>& out) {
    // group_len[0] = g, group_len[1..g], the names, then the payload (§6.2).
    Reader r(msg.view(), swapped);
    const std::uint16_t group_count = r.u16();
    if (!r.ok() || group_count > max_groups) {
        ++stats_.rx_malformed;
        ++stats_.rx_bad_group_header;
        return;
    }
    std::uint16_t name_lens[max_groups] = {};
    for (std::size_t i = 0; i < group_count; ++i)
        name_lens[i] = r.u16();
    for (std::size_t i = 0; i < group_count; ++i)
        (void)r.take(name_lens[i]);
    if (!r.ok()) {
        ++stats_.rx_malformed;
        ++stats_.rx_bad_group_header;
        return;
    }
    GroupMessage m;
    m.sender = sender;
    m.swapped = swapped;
    m.groups = GroupNames(msg.sub(0, r.position()), group_count, swapped);
    m.payload = msg.sub(r.position());
    out.push_back(std::move(m));
    ++stats_.msgs_delivered;
}

void Totempg::confchg(const NodeList& left) {
    for (NodeId node : left) {
        for (auto* set : {&normal_, &trans_}) {
            auto it = set->find(node);
            if (it == set->end())
                continue;
            if (it->second.state == Assembly::State::collecting)
                ++stats_.rx_partials_dropped;
            set->erase(it);
        }
    }
}

void Totempg::set_waiting_trans_ack(bool waiting) {
    // Leaving the sync period: a message begun meanwhile (a member already past its own sync
    // sends ordinary messages) continues in the normal set instead of being stranded.
    if (waiting_trans_ack_ && !waiting) {
        for (auto& [node, a] : trans_)
            normal_.try_emplace(node, std::move(a));
        trans_.clear();
    }
    waiting_trans_ack_ = waiting;
}

void Totempg::check_invariants() const {
    TOTEM_ASSERT(cursor_.cur_len == 0);
    TOTEM_ASSERT(cursor_.count == pack_lens_.size());
    TOTEM_ASSERT(cursor_.used == pack_data_.size());
    TOTEM_ASSERT(std::accumulate(pack_lens_.begin(), pack_lens_.end(), std::size_t{0}) ==
                 cursor_.used);
    TOTEM_ASSERT(std::find(pack_lens_.begin(), pack_lens_.end(), 0) == pack_lens_.end());
    TOTEM_ASSERT(header_size + 2 * cursor_.count + cursor_.used <= packet_max_);
    if (pack_lens_.empty()) {
        TOTEM_ASSERT(cursor_.continuation == 0);
        TOTEM_ASSERT(pack_guarantee_ == Guarantee::agreed);
    }
    // Offsets grow along outgoing_: its ends bound every message's bytes.
    if (!outgoing_.empty()) {
        TOTEM_ASSERT(outgoing_.front().begin >= out_base_);
        TOTEM_ASSERT(outgoing_.back().begin - out_base_ + outgoing_.back().size <=
                     out_data_.size());
    }
    for (const auto* set : {&normal_, &trans_}) {
        for (const auto& [node, a] : *set) {
            TOTEM_ASSERT(a.last_frag_num != 0);
            if (a.state == Assembly::State::collecting) {
                TOTEM_ASSERT(a.data.size() <= max_reassembly_size);
            } else {
                TOTEM_ASSERT(a.data.empty());
            }
        }
    }
}

}  // namespace totem
