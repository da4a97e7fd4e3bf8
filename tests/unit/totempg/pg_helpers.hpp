// Helpers shared by the totempg tests: a recording packet sink, a packet parser, message
// generators and an independent model of corosync 3.1.7's receiver (spec §6.4).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/bytes.hpp"
#include "common/prng.hpp"
#include "engine/totem/totempg.hpp"
#include "tests/unit/hex.hpp"

namespace totem::pgtest {

inline Bytes bytes_of(std::string_view s) {
    return Bytes(s.begin(), s.end());
}

using totem::testutil::from_hex;

// Records every packet; `avail` slots, each packet takes one.
class RecordingSink : public PacketSink {
  public:
    explicit RecordingSink(std::size_t slots = 1u << 30) : avail(slots) {}
    std::size_t packet_slots_avail() const override { return avail; }
    bool submit_packet(ByteView packet, Guarantee g, std::uint64_t tag) override {
        if (avail == 0)
            return false;
        --avail;
        packets.emplace_back(packet.begin(), packet.end());
        guarantees.push_back(g);
        tags.push_back(tag);
        return true;
    }
    // The tags of the last `n` packets: what the "wire" has not taken yet.
    std::vector<std::uint64_t> last_tags(std::size_t n) const {
        return std::vector<std::uint64_t>(tags.end() - static_cast<long>(n), tags.end());
    }
    std::size_t avail;
    std::vector<Bytes> packets;
    std::vector<Guarantee> guarantees;
    std::vector<std::uint64_t> tags;
};

// A totempg packet, parsed the simple way (little-endian, well-formed input only).
struct Packet {
    std::uint8_t fragmented = 0;
    std::uint8_t continuation = 0;
    std::vector<std::uint16_t> lens;
    Bytes data;
};

inline Packet parse(ByteView p, bool big_endian = false) {
    Reader r(p, big_endian);
    Packet out;
    r.u16();
    r.u16();
    out.fragmented = r.u8();
    out.continuation = r.u8();
    const std::uint16_t m = r.u16();
    for (std::uint16_t i = 0; i < m; ++i)
        out.lens.push_back(r.u16());
    const ByteView rest = r.rest();
    out.data.assign(rest.begin(), rest.end());
    return out;
}

// One message as handed to mcast().
struct Msg {
    std::vector<std::string> groups;
    Bytes payload;
    bool operator==(const Msg&) const = default;
};

inline Msg msg_of(const GroupMessage& m) {
    return Msg{m.groups.to_vector(), m.payload.to_bytes()};
}

// Random sizes over 0 B .. 1 MiB: mostly small, some packet-sized, a few large.
inline std::size_t random_size(Prng& rng) {
    const auto kind = rng.below(100);
    if (kind < 70)
        return rng.below(300);
    if (kind < 92)
        return rng.below(70000);
    return rng.below(Totempg::max_message_size + 1);
}

inline Msg random_msg(Prng& rng, std::size_t size) {
    static const char* const names[] = {"a", "sync", "x", "group-with-a-longer-name"};
    Msg m;
    const auto ngroups = rng.below(10) == 0 ? 1 + rng.below(Totempg::max_groups) : 1;
    for (std::size_t i = 0; i < ngroups; ++i)
        m.groups.emplace_back(names[rng.below(4)]);
    m.payload.resize(size);
    for (auto& b : m.payload)
        b = static_cast<std::uint8_t>(rng.next());
    return m;
}

inline bool send(Totempg& pg, const Msg& m, PacketSink& sink, Guarantee g = Guarantee::agreed) {
    std::vector<std::string_view> groups(m.groups.begin(), m.groups.end());
    return pg.mcast(groups, m.payload, g, sink);
}

// An independent model of corosync 3.1.7's totempg_deliver_fn for one originator, written from
// shared/spec/totem-wire.md §6.4. Only the lossless path is modelled: entering throw-away mode
// is recorded as a failure, so a test can assert a corosync node would take our stream whole.
class CorosyncReceiver {
  public:
    // Returns the complete messages (group header included) of one packet.
    std::vector<Bytes> deliver(ByteView packet) {
        const Packet p = parse(packet);
        buf_.resize(index_);
        buf_.insert(buf_.end(), p.data.begin(), p.data.end());
        const std::size_t m = p.lens.size();
        const std::size_t complete = p.fragmented != 0 ? m - 1 : m;
        std::vector<Bytes> out;
        if (p.continuation != last_frag_num_) {
            threw_away = true;
            return out;
        }
        last_frag_num_ = p.fragmented;
        std::size_t start = 0;
        std::size_t len = index_ + p.lens[0];
        for (std::size_t i = 0; i < complete; ++i) {
            out.emplace_back(buf_.begin() + static_cast<std::ptrdiff_t>(start),
                             buf_.begin() + static_cast<std::ptrdiff_t>(start + len));
            start += len;
            if (i + 1 < complete)
                len = p.lens[i + 1];
        }
        if (p.fragmented == 0) {
            last_frag_num_ = 0;
            index_ = 0;
        } else {
            // Keep the trailing partial at the front of the buffer.
            buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(start));
            index_ = buf_.size();
        }
        return out;
    }
    bool threw_away = false;

  private:
    Bytes buf_;
    std::size_t index_ = 0;
    std::uint8_t last_frag_num_ = 0;
};

// Splits a raw message (as corosync's model returns it) into groups and payload (LE).
inline Msg split_raw(ByteView raw) {
    Reader r(raw);
    Msg m;
    const std::uint16_t g = r.u16();
    std::vector<std::uint16_t> lens;
    for (std::uint16_t i = 0; i < g; ++i)
        lens.push_back(r.u16());
    for (auto len : lens) {
        const ByteView name = r.take(len);
        m.groups.emplace_back(name.begin(), name.end());
    }
    const ByteView rest = r.rest();
    m.payload.assign(rest.begin(), rest.end());
    return m;
}

}  // namespace totem::pgtest
