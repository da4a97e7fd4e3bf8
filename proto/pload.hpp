// PLOAD (service `pload`, id 4): the two exec messages of corosync's load generator
// (shared/spec/services-and-ipc.md B2.5; exec/pload.c). No IPC. A benchmark tool started by
// the cmap keys pload.count / pload.size / pload.start, after which every corosync exits.
//
// Corosync 3.1.7 sends both with header sizes that are not their lengths (captured):
// * START never sets header.size (the capture holds stack garbage), so its decoder checks the
//   length (24) and ignores the size field; we write 24.
// * MCAST sets header.size = 16 + pload.size but sends pload.size bytes in all (header
//   included), or 16 bytes when pload.size ≤ 16: the size field is 16 more than the length.
//   Its decoder accepts exactly that relation; the encoder reproduces it.
#pragma once

#include <cstdint>
#include <variant>

#include "common/bytes.hpp"
#include "common/result.hpp"
#include "proto/exec.hpp"
#include "proto/ipc.hpp"

namespace totem::proto::pload {

inline constexpr std::size_t exec_start_size = 24;

// START (fn 0), 24: msg_count u32 @16; msg_size u32 @20.
struct ExecStart {
    std::uint32_t msg_count = 0;
    std::uint32_t msg_size = 0;
    bool operator==(const ExecStart&) const = default;
};
// MCAST (fn 1): Hdr16 (size = 16 + msg_size), then max(msg_size, 16) − 16 payload bytes
// (corosync sends its uninitialised buffer).
struct ExecMcast {
    std::uint32_t msg_size = 0;  // pload.size; the payload is msg_size − 16 bytes when > 16
    Bytes payload{};
    bool operator==(const ExecMcast&) const = default;
};

Bytes encode(const ExecStart& m, PadFill fill = {});
Bytes encode(const ExecMcast& m, PadFill fill = {});
Result<ExecStart, DecodeError> decode_exec_start(ByteView message);
Result<ExecMcast, DecodeError> decode_exec_mcast(ByteView message);

using Exec = std::variant<ExecStart, ExecMcast>;
Result<Exec, DecodeError> decode_exec(ByteView message);
Bytes encode(const Exec& m, PadFill fill = {});

}  // namespace totem::proto::pload
