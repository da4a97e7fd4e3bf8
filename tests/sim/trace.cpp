#include "tests/sim/trace.hpp"

#include <cstdio>

namespace totem::sim {

namespace {

constexpr std::uint32_t payload_magic = 0x4d4d4953;  // "SIMM" little-endian

std::uint8_t pattern_seed(const MsgId& id) {
    std::uint64_t x =
        (std::uint64_t{id.origin} << 40) ^ (std::uint64_t{id.incarnation} << 32) ^ id.counter;
    x ^= x >> 29;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 32;
    return static_cast<std::uint8_t>(x);
}

}  // namespace

std::string MsgId::str() const {
    char buf[48];
    std::snprintf(buf, sizeof buf, "%u/%u#%u", origin, incarnation, counter);
    return buf;
}

Bytes make_payload(const MsgId& id, std::uint32_t flags, std::size_t size) {
    if (size < payload_header_size)
        size = payload_header_size;
    Bytes out;
    out.reserve(size);
    Writer w(out);
    w.u32(payload_magic);
    w.u32(id.origin);
    w.u32(id.incarnation);
    w.u32(id.counter);
    w.u32(flags);
    w.u32(static_cast<std::uint32_t>(size));
    const std::uint8_t s = pattern_seed(id);
    for (std::size_t i = payload_header_size; i < size; ++i) {
        out.push_back(static_cast<std::uint8_t>(s + i * 131));
    }
    return out;
}

std::optional<DecodedPayload> decode_payload(ByteView payload) {
    Reader r(payload);
    if (r.u32() != payload_magic)
        return std::nullopt;
    DecodedPayload d;
    d.id.origin = r.u32();
    d.id.incarnation = r.u32();
    d.id.counter = r.u32();
    d.flags = r.u32();
    const std::uint32_t size = r.u32();
    if (!r.ok() || size != payload.size())
        return std::nullopt;
    const std::uint8_t s = pattern_seed(d.id);
    for (std::size_t i = payload_header_size; i < payload.size(); ++i) {
        if (payload[i] != static_cast<std::uint8_t>(s + i * 131))
            return std::nullopt;
    }
    return d;
}

}  // namespace totem::sim
