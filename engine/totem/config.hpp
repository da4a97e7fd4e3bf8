// The values the Totem core runs with: corosync's totem_config, already derived and validated
// by conf/ (shared/spec/totem-wire.md §8). Plain data; the core never reads a file.
#pragma once

#include <cstdint>

#include "engine/totem/types.hpp"

namespace totem {

struct SrpConfig {
    Duration token = Duration::ms(3000);  // effective token (after token_coefficient)
    Duration token_retransmit = Duration::ms(714);
    Duration hold = Duration::ms(561);
    Duration join = Duration::ms(50);
    Duration send_join = Duration::ms(0);  // max random delay before a JOIN; 0 = none
    Duration consensus = Duration::ms(3600);
    Duration merge = Duration::ms(200);
    Duration downcheck = Duration::ms(1000);
    Duration max_network_delay = Duration::ms(50);
    std::uint32_t token_retransmits_before_loss_const = 4;
    std::uint32_t token_warning_pct = 75;  // 0 disables the warning
    std::uint32_t fail_recv_const = 2500;
    std::uint32_t seqno_unchanged_const = 30;
    std::uint32_t heartbeat_failures_allowed = 0;
    std::uint32_t window_size = 50;
    std::uint32_t max_messages = 17;
    std::uint32_t miss_count_const = 5;
    bool cancel_token_hold_on_retransmit = false;
    std::uint32_t net_mtu = 65536;  // totem.netmtu; totempg subtracts 2 × 45
};

}  // namespace totem
