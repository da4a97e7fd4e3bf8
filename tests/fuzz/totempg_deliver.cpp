// Fuzz target: arbitrary totempg packets from a few senders into Totempg::deliver(), mixed
// with configuration changes and buffer-set switches; then the same bytes drive the sender
// and what it emits must come back whole. Nothing may crash, read out of bounds or break an
// invariant.
//
// Input: a sequence of records. Record = op byte, then for packets a u16 length (LE) and the
// packet bytes (cut short at the end of the input).
//   op bits 0-1: sender 1..4   bit 2: swapped   bits 3-4: 0,1 packet · 2 confchg(left =
//   {sender}) · 3 toggle waiting_trans_ack
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/assert.hpp"
#include "engine/totem/totempg.hpp"

using namespace totem;

namespace {

class Sink : public PacketSink {
  public:
    std::size_t packet_slots_avail() const override { return 1u << 20; }
    bool submit_packet(ByteView packet, Guarantee, std::uint64_t) override {
        packets.emplace_back(packet.begin(), packet.end());
        return true;
    }
    std::vector<Bytes> packets;
};

void check_counters(const TotempgStats& s) {
    TOTEM_ASSERT(s.rx_malformed ==
                 s.rx_too_short + s.rx_bad_count + s.rx_bad_length + s.rx_bad_group_header);
}

void receive_phase(const std::uint8_t* data, std::size_t size) {
    Totempg pg(1500);
    std::vector<GroupMessage> out;
    std::size_t pos = 0;
    bool waiting = true;
    std::uint64_t delivered = 0;
    while (pos < size) {
        const std::uint8_t op = data[pos++];
        const NodeId sender = 1 + (op & 3u);
        const bool swapped = (op & 4u) != 0;
        const unsigned action = (op >> 3) & 3u;
        if (action == 2) {
            pg.confchg({sender});
        } else if (action == 3) {
            waiting = !waiting;
            pg.set_waiting_trans_ack(waiting);
        } else {
            std::size_t len = 0;
            if (pos < size)
                len = data[pos++];
            if (pos < size)
                len |= static_cast<std::size_t>(data[pos++]) << 8;
            if (len > size - pos)
                len = size - pos;
            out.clear();
            pg.deliver(sender, ByteView(data + pos, len), swapped, out);
            pos += len;
            for (const auto& m : out) {
                TOTEM_ASSERT(m.sender == sender);
                TOTEM_ASSERT(m.groups.size() <= Totempg::max_groups);
                TOTEM_ASSERT(m.payload.size() <= Totempg::max_reassembly_size);
            }
            delivered += out.size();
        }
        pg.check_invariants();
        check_counters(pg.stats());
        TOTEM_ASSERT(pg.stats().msgs_delivered == delivered);
        TOTEM_ASSERT(pg.partials_held() <= 8);
    }
}

// The input as a list of message sizes, groups and token arrivals for the sender.
void roundtrip_phase(const std::uint8_t* data, std::size_t size) {
    if (size == 0)
        return;
    static constexpr std::uint32_t mtus[] = {Totempg::min_net_mtu, 200, 1500};
    const std::uint32_t mtu = mtus[data[0] % 3];
    Totempg tx(mtu);
    Sink sink;
    struct Sent {
        std::vector<std::string> groups;
        Bytes payload;
    };
    std::vector<Sent> sent;
    static const std::string_view names[] = {"a", "sync", "", "xx"};
    std::size_t budget = 8 * 1024;  // payload bytes: keeps one input fast at net_mtu 128
    for (std::size_t pos = 1; pos + 1 < size && sent.size() < 256; pos += 2) {
        const unsigned v = data[pos] | (static_cast<unsigned>(data[pos + 1]) << 8);
        Sent s;
        const std::size_t ngroups = 1 + (v >> 14);
        for (std::size_t g = 0; g < ngroups; ++g)
            s.groups.emplace_back(names[(v >> (10 + g)) & 3]);
        const std::size_t len = std::min<std::size_t>(v & 0x0fff, budget);
        budget -= len;
        s.payload.resize(len);
        for (std::size_t i = 0; i < s.payload.size(); ++i)
            s.payload[i] = static_cast<std::uint8_t>(i * 31 + pos);
        const std::vector<std::string_view> groups(s.groups.begin(), s.groups.end());
        TOTEM_ASSERT(tx.mcast(groups, s.payload, Guarantee::agreed, sink));
        sent.push_back(std::move(s));
        if ((v & 0x1000) != 0)
            tx.flush(sink);
        tx.check_invariants();
    }
    tx.flush(sink);
    Totempg rx(mtu);
    std::vector<GroupMessage> out;
    for (const auto& p : sink.packets) {
        TOTEM_ASSERT(p.size() <= tx.max_packet_size());
        rx.deliver(5, p, false, out);
    }
    TOTEM_ASSERT(out.size() == sent.size());
    for (std::size_t i = 0; i < sent.size(); ++i) {
        TOTEM_ASSERT(out[i].groups == sent[i].groups);
        TOTEM_ASSERT(out[i].payload == sent[i].payload);
    }
    TOTEM_ASSERT(rx.stats().rx_malformed == 0 && rx.stats().rx_fragment_lost == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    receive_phase(data, size);
    roundtrip_phase(data, size);
    return 0;
}
