// The marshalled types shared by the IPC and exec messages (shared/spec/services-and-ipc.md
// A2.2; include/corosync/mar_gen.h, ipc_cpg.h, corotypes.h, coroapi.h, totem/totem.h).
//
// In the message structs of proto/<service>.hpp names are std::string holding exactly the
// name's bytes (its `length` bytes; C strings up to their NUL), and these small structs stand
// for the fixed records. The codecs read and write them field by field (proto/codec.hpp).
#pragma once

#include <cstddef>
#include <cstdint>

namespace totem::proto {

// mar_name_t: length u16 @0, value u8[256] @8 (aligned 8). cmap key names (the server uses
// the value as a C string: the libraries zero the struct, so value[length] is NUL), the cfg
// KILLNODE exec reason.
inline constexpr std::size_t mar_name_size = 264;
inline constexpr std::size_t mar_name_value_size = 256;  // CS_MAX_NAME_LENGTH

// cs_name_t (not marshalled, align 2): length u16 @0, value u8[256] @2. The cfg KILLNODE
// request's reason; libcfg sends length = strlen + 1.
inline constexpr std::size_t cs_name_size = 258;

// mar_cpg_name_t: length u32 @0, value char[128] @8. Compared by length and memcmp; bytes after
// `length` mean nothing, the name need not be NUL-terminated (Pacemaker counts its NUL).
inline constexpr std::size_t cpg_name_size = 136;
inline constexpr std::size_t cpg_name_max = 128;  // CPG_MAX_NAME_LENGTH

// mar_cpg_address_t: nodeid u32 @0, pid u32 @8, reason u32 @16 (each aligned 8).
inline constexpr std::size_t cpg_address_size = 24;
struct CpgAddress {
    std::uint32_t nodeid = 0;
    std::uint32_t pid = 0;
    std::uint32_t reason = 0;
    bool operator==(const CpgAddress&) const = default;
};

// mar_cpg_ring_id_t, mar_quorum_ring_id_t, struct mar_votequorum_ring_id (as placed in the
// messages): nodeid u32 @0, seq u64 @8.
inline constexpr std::size_t mar_ring_id_size = 16;
struct MarRingId {
    std::uint32_t nodeid = 0;
    std::uint64_t seq = 0;
    bool operator==(const MarRingId&) const = default;
};

// mar_message_source_t: nodeid u32 @0, conn @8 (the sender's connection pointer: meaningful
// only on the node that sent it).
inline constexpr std::size_t message_source_size = 16;
struct MessageSource {
    std::uint32_t nodeid = 0;
    std::uint64_t conn = 0;
    bool operator==(const MessageSource&) const = default;
};

// struct memb_ring_id as the sync messages carry it, packed: rep u32 @0, seq u64 @4 (not
// aligned). Compared byte for byte by the receiver.
inline constexpr std::size_t memb_ring_id_size = 12;
struct MembRingId {
    std::uint32_t rep = 0;
    std::uint64_t seq = 0;
    bool operator==(const MembRingId&) const = default;
};

}  // namespace totem::proto
