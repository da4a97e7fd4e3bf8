// A small deterministic PRNG (SplitMix64 seeding xoshiro256**), ours so that a seed replays
// bit-identically on every standard library. Never seeded from the environment inside the core.
#pragma once

#include <cstdint>

namespace totem {

class Prng {
  public:
    explicit Prng(std::uint64_t seed) {
        for (auto& w : s_) {
            seed += 0x9e3779b97f4a7c15ULL;
            std::uint64_t z = seed;
            z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
            z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
            w = z ^ (z >> 31);
        }
    }

    std::uint64_t next() {
        const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
        const std::uint64_t t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return result;
    }

    // Uniform in [0, bound); bound > 0 (modulo bias is negligible for the bounds we use).
    std::uint64_t below(std::uint64_t bound) { return next() % bound; }
    // Uniform in [lo, hi].
    std::uint64_t range(std::uint64_t lo, std::uint64_t hi) { return lo + below(hi - lo + 1); }
    // True with probability per_million / 1e6 (integer arithmetic only: no floats in decisions).
    bool chance_ppm(std::uint32_t per_million) { return below(1000000) < per_million; }

  private:
    static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    std::uint64_t s_[4];
};

}  // namespace totem
