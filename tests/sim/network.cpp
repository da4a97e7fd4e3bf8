#include "tests/sim/network.hpp"

#include <algorithm>

namespace totem::sim {

NetworkModel::NetworkModel(std::size_t n)
    : up_(n, true), group_(n, 0), blocked_(n * n, false), deaf_(n, false) {}

bool NetworkModel::connected(std::size_t a, std::size_t b) const {
    return a == b || (group_[a] == group_[b] && !blocked_[a * up_.size() + b]);
}

void NetworkModel::partition(const std::vector<std::uint32_t>& group) {
    for (std::size_t i = 0; i < group_.size() && i < group.size(); ++i)
        group_[i] = group[i];
}

void NetworkModel::heal() {
    for (auto& g : group_)
        g = 0;
    blocked_.assign(blocked_.size(), false);
    deaf_.assign(deaf_.size(), false);
}

bool NetworkModel::partitioned() const {
    for (auto g : group_) {
        if (g != group_.front())
            return true;
    }
    for (bool b : blocked_) {
        if (b)
            return true;
    }
    return false;
}

bool NetworkModel::asymmetric() const {
    for (bool b : blocked_) {
        if (b)
            return true;
    }
    for (bool d : deaf_) {
        if (d)
            return true;
    }
    return false;
}

void NetworkModel::route(Prng& prng, std::size_t from, bool broadcast, std::size_t to,
                         std::vector<Copy>& out) {
    const std::size_t n = up_.size();
    const std::size_t first = broadcast ? 0 : to;
    const std::size_t last = broadcast ? n : to + 1;
    for (std::size_t d = first; d < last && d < n; ++d) {
        if (d == from) {
            out.push_back(Copy{d, params.self_latency_us});
            continue;
        }
        // Every remote copy draws the same number of values whatever happens to it, so a change
        // of one probability does not shift the random stream of the rest of the run.
        const bool lost = prng.chance_ppm(params.loss_ppm);
        const bool dup = prng.chance_ppm(params.dup_ppm);
        auto lat1 = static_cast<std::int64_t>(
            prng.range(static_cast<std::uint64_t>(params.latency_min_us),
                       static_cast<std::uint64_t>(params.latency_max_us)));
        const auto lat2 = static_cast<std::int64_t>(
            prng.range(static_cast<std::uint64_t>(params.latency_min_us),
                       static_cast<std::uint64_t>(params.latency_max_us)));
        const bool stale = prng.chance_ppm(params.stale_ppm);
        const auto lat_stale = static_cast<std::int64_t>(prng.range(
            static_cast<std::uint64_t>(params.latency_max_us),
            static_cast<std::uint64_t>(std::max(params.latency_max_us, params.stale_max_us))));
        if (!connected(from, d)) {
            dropped_partition++;
            continue;
        }
        if (!up_[d]) {
            dropped_down++;
            continue;
        }
        if (lost) {
            dropped_loss++;
            continue;
        }
        if (stale) {
            delayed++;
            lat1 = lat_stale;
        }
        out.push_back(Copy{d, lat1, stale});
        if (dup) {
            duplicated++;
            out.push_back(Copy{d, lat2});
        }
    }
}

}  // namespace totem::sim
