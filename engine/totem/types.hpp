// Basic value types of the Totem core: node ids, ring ids, time.
//
// Time is a value handed in by the driver (the event loop or the simulator); the core never
// reads a clock. Instants are monotonic microseconds since an arbitrary origin.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <vector>

namespace totem {

using NodeId = std::uint32_t;
using NodeList = std::vector<NodeId>;

struct Duration {
    std::int64_t us = 0;
    static constexpr Duration ms(std::int64_t v) { return {v * 1000}; }
    static constexpr Duration micros(std::int64_t v) { return {v}; }
    constexpr std::int64_t to_ms() const { return us / 1000; }
    constexpr auto operator<=>(const Duration&) const = default;
    constexpr Duration operator+(Duration o) const { return {us + o.us}; }
    constexpr Duration operator-(Duration o) const { return {us - o.us}; }
    constexpr Duration operator*(std::int64_t k) const { return {us * k}; }
    constexpr Duration operator/(std::int64_t k) const { return {us / k}; }
};

struct Instant {
    std::int64_t us = 0;
    constexpr auto operator<=>(const Instant&) const = default;
    constexpr Instant operator+(Duration d) const { return {us + d.us}; }
    constexpr Duration operator-(Instant o) const { return {us - o.us}; }
};

// A Totem ring id: the representative that formed the ring and the ring's sequence number.
struct RingId {
    NodeId rep = 0;
    std::uint64_t seq = 0;
    constexpr bool operator==(const RingId&) const = default;
    std::string str() const;  // "rep.seq" in hex for seq, as corosync logs it: "1.c"
};

}  // namespace totem
