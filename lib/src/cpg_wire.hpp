// Internal: the MCAST and PARTIAL_MCAST request headers libtotem sends in front of a payload
// that stays in the caller's buffer (no copy). Held equal to proto's encoding of the whole
// message by tests/unit/lib.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace totem::client::detail {

std::vector<std::uint8_t> mcast_header(std::uint32_t guarantee, std::size_t msglen);
std::vector<std::uint8_t> partial_header(std::uint32_t guarantee, std::size_t msglen,
                                         std::size_t fraglen, std::uint32_t type);

}  // namespace totem::client::detail
