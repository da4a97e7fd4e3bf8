// The synchronisation protocol's own messages (shared/spec/services-and-ipc.md B2.6, B3;
// exec/sync.c), sent AGREED in totempg group "sync". Their ids are plain 0 and 1, not
// service-encoded. Both carry the ring id of the sync they belong to as the packed 12-byte
// memb_ring_id at offset 16 (seq at 20, unaligned); a receiver drops them unless it equals the
// current sync's ring id.
#pragma once

#include <cstdint>
#include <variant>
#include <vector>

#include "common/bytes.hpp"
#include "common/result.hpp"
#include "proto/ipc.hpp"
#include "proto/mar.hpp"

namespace totem::proto::sync {

enum class MsgId : std::int32_t { barrier = 0, service_build = 1 };

inline constexpr std::size_t barrier_size = 32;
inline constexpr std::size_t service_build_size = 552;
inline constexpr std::size_t service_list_max = 128;

// struct req_exec_barrier_message: Hdr16; ring_id @16 (12, packed); 4 bytes padding.
struct Barrier {
    MembRingId ring_id{};
    bool operator==(const Barrier&) const = default;
};

// struct req_exec_service_build_message: Hdr16; ring_id @16; service_list_entries i32 @32;
// service_list i32[128] @40 (the ids of the sender's services with sync callbacks, ascending;
// unused entries are padding).
struct ServiceBuild {
    MembRingId ring_id{};
    std::vector<std::int32_t> service_list{};  // at most service_list_max
    bool operator==(const ServiceBuild&) const = default;
};

Bytes encode(const Barrier& m, PadFill fill = {});
Bytes encode(const ServiceBuild& m, PadFill fill = {});
Result<Barrier, DecodeError> decode_barrier(ByteView message);
Result<ServiceBuild, DecodeError> decode_service_build(ByteView message);

using Message = std::variant<Barrier, ServiceBuild>;
// By id; unknown_id for any other.
Result<Message, DecodeError> decode(ByteView message);
Bytes encode(const Message& m, PadFill fill = {});

}  // namespace totem::proto::sync
