// NetworkModel: what happens to a datagram between two simulated nodes. Pure and seeded by the
// caller's Prng: loss and duplication (parts per million), a random latency per copy (so copies
// reorder), partitions (each node is in one partition group; only nodes of the same group
// reach each other), one-way link failures, and which nodes are up.
//
// A node always reaches itself, losslessly: corosync's knet loopback never drops, and Totem
// relies on a node receiving its own broadcasts and its own token.
#pragma once

#include <cstdint>
#include <vector>

#include "common/prng.hpp"
#include "engine/totem/types.hpp"

namespace totem::sim {

struct LinkParams {
    std::uint32_t loss_ppm = 0;         // per copy, 0..1'000'000
    std::uint32_t dup_ppm = 0;          // chance that a copy that got through is sent twice
    std::int64_t latency_min_us = 100;  // each copy's latency is uniform in [min, max]
    std::int64_t latency_max_us = 1000;
    std::int64_t self_latency_us = 10;  // loopback
    // A small share of copies is held back: latency uniform in [latency_max_us,
    // stale_max_us] (up to several token timeouts), so packets of old rings arrive in later
    // ones.
    std::uint32_t stale_ppm = 0;
    std::int64_t stale_max_us = 0;
};

class NetworkModel {
  public:
    // Nodes are indexed 0..n-1 (the simulator maps node ids onto indexes).
    explicit NetworkModel(std::size_t n);

    struct Copy {
        std::size_t to = 0;
        std::int64_t latency_us = 0;
        bool held_back = false;  // one of the stale_ppm share
    };
    // Copies of one datagram sent by `from`: to every node (`broadcast`) or to `to` only.
    // Appends to `out`; draws from `prng` in a fixed order.
    void route(Prng& prng, std::size_t from, bool broadcast, std::size_t to,
               std::vector<Copy>& out);

    // Whether a datagram from `a` reaches `b` (directional: see block()).
    bool connected(std::size_t a, std::size_t b) const;
    void set_up(std::size_t node, bool up) { up_[node] = up; }
    bool up(std::size_t node) const { return up_[node]; }
    // Partition: group[i] for every node; nodes with equal groups are connected.
    void partition(const std::vector<std::uint32_t>& group);
    // One direction of one link fails: `from` no longer reaches `to` (the reverse still works).
    void block(std::size_t from, std::size_t to) { blocked_[from * up_.size() + to] = true; }
    // The node stops receiving other nodes' MCAST messages (tokens and membership messages
    // still arrive): its aru stalls while the ring moves on, so it ends in FAILED TO RECEIVE.
    // The caller filters by message type (the model does not read datagrams).
    void deafen(std::size_t node) { deaf_[node] = true; }
    bool deaf(std::size_t node) const { return deaf_[node]; }
    // Back to one group, every link working, nobody deaf.
    void heal();
    bool partitioned() const;
    std::uint32_t group(std::size_t node) const { return group_[node]; }
    // Some link works in one direction only (block()) or some node is deaf.
    bool asymmetric() const;

    LinkParams params;
    std::uint64_t dropped_loss = 0, dropped_partition = 0, dropped_down = 0, duplicated = 0;
    std::uint64_t dropped_deaf = 0;
    std::uint64_t delayed = 0;  // copies held back (stale_ppm)

  private:
    std::vector<bool> up_;
    std::vector<std::uint32_t> group_;
    std::vector<bool> blocked_;  // n × n, [from * n + to]
    std::vector<bool> deaf_;
};

}  // namespace totem::sim
