// CMAP (service `cmap`, id 0): IPC requests, responses and the notify event, and the exec
// MCAST (shared/spec/services-and-ipc.md A3.2, B2.3; include/corosync/ipc_cmap.h, exec/cmap.c).
//
// Names follow corosync: ReqX = struct req_lib_cmap_x, ResX = struct res_lib_cmap_x,
// ExecMcast = struct req_exec_cmap_mcast. Key names are mar_name_t read as the server reads
// them: the `length` bytes, which must be followed by a NUL and contain none (libcmap zeroes the
// struct and checks strlen < 256); anything else is bad_name, a length over 255 name_too_long.
// Semantic limits (value ≤ 16 384 bytes, key 3…255 of [A-Za-z0-9._/:-]) are the service's
// to answer with CS_ERR_*, not the codec's.
//
// A response whose error is not CS_OK carries nothing the library reads (corosync leaves
// such fields zero or stale): it is written as its header and padding and decoded to its
// error only.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "common/bytes.hpp"
#include "common/result.hpp"
#include "proto/exec.hpp"
#include "proto/ipc.hpp"
#include "proto/mar.hpp"

namespace totem::proto::cmap {

enum class ReqId : std::int32_t {
    set = 0,
    delete_ = 1,
    get = 2,
    adjust_int = 3,
    iter_init = 4,
    iter_next = 5,
    iter_finalize = 6,
    track_add = 7,
    track_delete = 8,
    set_current_map = 9,
};
enum class ResId : std::int32_t {
    set = 0,
    delete_ = 1,
    get = 2,
    adjust_int = 3,
    iter_init = 4,
    iter_next = 5,
    iter_finalize = 6,
    track_add = 7,
    track_delete = 8,
    notify_callback = 9,
    set_current_map = 10,
};

// cmap_value_types_t; 0 in an exec item = the key does not exist.
enum class ValueType : std::uint8_t {
    not_exist = 0,
    int8 = 1,
    uint8 = 2,
    int16 = 3,
    uint16 = 4,
    int32 = 5,
    uint32 = 6,
    int64 = 7,
    uint64 = 8,
    float_ = 9,
    double_ = 10,
    string = 11,
    binary = 12,
};
inline constexpr std::int32_t track_delete = 1;
inline constexpr std::int32_t track_modify = 2;
inline constexpr std::int32_t track_add = 4;
inline constexpr std::int32_t track_prefix = 8;
inline constexpr std::int32_t map_default = 0;  // CMAP_SETMAP_DEFAULT (icmap)
inline constexpr std::int32_t map_stats = 1;    // CMAP_SETMAP_STATS

inline constexpr std::size_t req_set_fixed_size = 296;
inline constexpr std::size_t req_delete_size = 280;
inline constexpr std::size_t req_get_size = 288;
inline constexpr std::size_t req_adjust_int_size = 288;
inline constexpr std::size_t req_iter_init_size = 280;
inline constexpr std::size_t req_iter_next_size = 24;
inline constexpr std::size_t req_iter_finalize_size = 24;
inline constexpr std::size_t req_track_add_size = 296;
inline constexpr std::size_t req_track_delete_size = 24;
inline constexpr std::size_t req_set_current_map_size = 24;
inline constexpr std::size_t res_get_fixed_size = 40;
inline constexpr std::size_t res_iter_init_size = 32;
inline constexpr std::size_t res_iter_next_size = 304;
inline constexpr std::size_t res_track_add_size = 32;
inline constexpr std::size_t res_track_delete_size = 32;
inline constexpr std::size_t res_notify_callback_fixed_size = 336;
inline constexpr std::size_t exec_mcast_fixed_size = 48;
inline constexpr std::size_t exec_mcast_item_fixed_size = 280;
inline constexpr std::size_t exec_mcast_items_max = 32;  // MAX_REQ_EXEC_CMAP_MCAST_ITEMS

// ---------------------------------------------------------------------------------- requests

// SET (0), 296 + value bytes: key_name @16; value_len u64 @280; type u8 @288; value @296.
struct ReqSet {
    std::string key_name{};
    std::uint8_t type = 0;  // a ValueType; out-of-range values are the service's to refuse
    Bytes value{};
    bool operator==(const ReqSet&) const = default;
};
// DELETE (1), 280: key_name @16.
struct ReqDelete {
    std::string key_name{};
    bool operator==(const ReqDelete&) const = default;
};
// GET (2), 288: key_name @16; value_len u64 @280 = the client's buffer (0: size and type only).
struct ReqGet {
    std::string key_name{};
    std::uint64_t value_len = 0;
    bool operator==(const ReqGet&) const = default;
};
// ADJUST_INT (3), 288: key_name @16; step i32 @280.
struct ReqAdjustInt {
    std::string key_name{};
    std::int32_t step = 0;
    bool operator==(const ReqAdjustInt&) const = default;
};
// ITER_INIT (4), 280: prefix @16 (empty = every key).
struct ReqIterInit {
    std::string prefix{};
    bool operator==(const ReqIterInit&) const = default;
};
// ITER_NEXT (5), 24: iter_handle u64 @16.
struct ReqIterNext {
    std::uint64_t iter_handle = 0;
    bool operator==(const ReqIterNext&) const = default;
};
// ITER_FINALIZE (6), 24: iter_handle u64 @16.
struct ReqIterFinalize {
    std::uint64_t iter_handle = 0;
    bool operator==(const ReqIterFinalize&) const = default;
};
// TRACK_ADD (7), 296: key_name @16 (empty = none); track_type i32 @280;
// track_inst_handle u64 @288 (the client's own handle, echoed in events).
struct ReqTrackAdd {
    std::string key_name{};
    std::int32_t track_type = 0;
    std::uint64_t track_inst_handle = 0;
    bool operator==(const ReqTrackAdd&) const = default;
};
// TRACK_DELETE (8), 24: track_handle u64 @16 (the server's handle from TRACK_ADD).
struct ReqTrackDelete {
    std::uint64_t track_handle = 0;
    bool operator==(const ReqTrackDelete&) const = default;
};
// SET_CURRENT_MAP (9), 24: map i32 @16.
struct ReqSetCurrentMap {
    std::int32_t map = 0;
    bool operator==(const ReqSetCurrentMap&) const = default;
};

// --------------------------------------------------------------------------------- responses

// SET, DELETE, ADJUST_INT, ITER_FINALIZE (ids 0, 1, 3, 6) and SET_CURRENT_MAP (id 10): Hdr24.
struct ResSet {
    CsError error = CsError::ok;
    bool operator==(const ResSet&) const = default;
};
struct ResDelete {
    CsError error = CsError::ok;
    bool operator==(const ResDelete&) const = default;
};
struct ResAdjustInt {
    CsError error = CsError::ok;
    bool operator==(const ResAdjustInt&) const = default;
};
struct ResIterFinalize {
    CsError error = CsError::ok;
    bool operator==(const ResIterFinalize&) const = default;
};
struct ResSetCurrentMap {
    CsError error = CsError::ok;
    bool operator==(const ResSetCurrentMap&) const = default;
};
// GET (2), 40 + buffer_len: value_len u64 @24 (the value's length); type u8 @32; then a
// buffer of the size the request asked for, holding the value and zero padding. An error
// reply is 40 bytes.
struct ResGet {
    CsError error = CsError::ok;
    std::uint64_t value_len = 0;
    std::uint8_t type = 0;
    Bytes value{};                 // value_len bytes, or empty when buffer_len is 0
    std::uint64_t buffer_len = 0;  // 0 (only size and type asked for) or ≥ value_len
    bool operator==(const ResGet&) const = default;
};
// ITER_INIT (4), 32: iter_handle u64 @24.
struct ResIterInit {
    CsError error = CsError::ok;
    std::uint64_t iter_handle = 0;
    bool operator==(const ResIterInit&) const = default;
};
// ITER_NEXT (5), 304: key_name @24; value_len u64 @288; type u8 @296.
struct ResIterNext {
    CsError error = CsError::ok;
    std::string key_name{};
    std::uint64_t value_len = 0;
    std::uint8_t type = 0;
    bool operator==(const ResIterNext&) const = default;
};
// TRACK_ADD (7), 32: track_handle u64 @24.
struct ResTrackAdd {
    CsError error = CsError::ok;
    std::uint64_t track_handle = 0;
    bool operator==(const ResTrackAdd&) const = default;
};
// TRACK_DELETE (8), 32: track_inst_handle u64 @24.
struct ResTrackDelete {
    CsError error = CsError::ok;
    std::uint64_t track_inst_handle = 0;
    bool operator==(const ResTrackDelete&) const = default;
};

// ------------------------------------------------------------------------------------ event

// NOTIFY_CALLBACK (9), 336 + new + old: track_inst_handle u64 @24; key_name @32; event i32
// @296 (track bits ADD 4 / DELETE 1 / MODIFY 2); new_value_type u8 @304; old_value_type u8
// @312; new_value_len u64 @320; old_value_len u64 @328; new value @336; old value after it.
struct ResNotifyCallback {
    CsError error = CsError::ok;
    std::uint64_t track_inst_handle = 0;
    std::string key_name{};
    std::int32_t event = 0;
    std::uint8_t new_value_type = 0;
    std::uint8_t old_value_type = 0;
    Bytes new_value{};
    Bytes old_value{};
    bool operator==(const ResNotifyCallback&) const = default;
};

// ------------------------------------------------------------------------------------- exec

enum class McastReason : std::uint8_t { sync = 0, new_config_version = 1 };

// struct req_exec_cmap_mcast_item, round_up(280 + value_len, 8) bytes: key_name @0;
// value_type u8 @264 (0: no such key); value_len u64 @272; value @280; zero padding.
struct McastItem {
    std::string key_name{};
    std::uint8_t value_type = 0;
    Bytes value{};
    bool operator==(const McastItem&) const = default;
};
// MCAST (fn 0), 48 + items: reason u8 @16; no_items u8 @24; reserved1 u8 @32, reserved2 u8
// @40 (zero, ignored); items @48. Corosync never sets header.id; it is 0 = exec_id(cmap, 0).
struct ExecMcast {
    std::uint8_t reason = 0;         // a McastReason
    std::vector<McastItem> items{};  // at most exec_mcast_items_max
    bool operator==(const ExecMcast&) const = default;
};

// ------------------------------------------------------------------------------------ codec

Bytes encode(const ReqSet& m, PadFill fill = {});
Bytes encode(const ReqDelete& m, PadFill fill = {});
Bytes encode(const ReqGet& m, PadFill fill = {});
Bytes encode(const ReqAdjustInt& m, PadFill fill = {});
Bytes encode(const ReqIterInit& m, PadFill fill = {});
Bytes encode(const ReqIterNext& m, PadFill fill = {});
Bytes encode(const ReqIterFinalize& m, PadFill fill = {});
Bytes encode(const ReqTrackAdd& m, PadFill fill = {});
Bytes encode(const ReqTrackDelete& m, PadFill fill = {});
Bytes encode(const ReqSetCurrentMap& m, PadFill fill = {});
Bytes encode(const ResSet& m, PadFill fill = {});
Bytes encode(const ResDelete& m, PadFill fill = {});
Bytes encode(const ResGet& m, PadFill fill = {});
Bytes encode(const ResAdjustInt& m, PadFill fill = {});
Bytes encode(const ResIterInit& m, PadFill fill = {});
Bytes encode(const ResIterNext& m, PadFill fill = {});
Bytes encode(const ResIterFinalize& m, PadFill fill = {});
Bytes encode(const ResTrackAdd& m, PadFill fill = {});
Bytes encode(const ResTrackDelete& m, PadFill fill = {});
Bytes encode(const ResSetCurrentMap& m, PadFill fill = {});
Bytes encode(const ResNotifyCallback& m, PadFill fill = {});
Bytes encode(const ExecMcast& m, PadFill fill = {});

Result<ReqSet, DecodeError> decode_req_set(ByteView message);
Result<ReqDelete, DecodeError> decode_req_delete(ByteView message);
Result<ReqGet, DecodeError> decode_req_get(ByteView message);
Result<ReqAdjustInt, DecodeError> decode_req_adjust_int(ByteView message);
Result<ReqIterInit, DecodeError> decode_req_iter_init(ByteView message);
Result<ReqIterNext, DecodeError> decode_req_iter_next(ByteView message);
Result<ReqIterFinalize, DecodeError> decode_req_iter_finalize(ByteView message);
Result<ReqTrackAdd, DecodeError> decode_req_track_add(ByteView message);
Result<ReqTrackDelete, DecodeError> decode_req_track_delete(ByteView message);
Result<ReqSetCurrentMap, DecodeError> decode_req_set_current_map(ByteView message);
Result<ResSet, DecodeError> decode_res_set(ByteView message);
Result<ResDelete, DecodeError> decode_res_delete(ByteView message);
Result<ResGet, DecodeError> decode_res_get(ByteView message);
Result<ResAdjustInt, DecodeError> decode_res_adjust_int(ByteView message);
Result<ResIterInit, DecodeError> decode_res_iter_init(ByteView message);
Result<ResIterNext, DecodeError> decode_res_iter_next(ByteView message);
Result<ResIterFinalize, DecodeError> decode_res_iter_finalize(ByteView message);
Result<ResTrackAdd, DecodeError> decode_res_track_add(ByteView message);
Result<ResTrackDelete, DecodeError> decode_res_track_delete(ByteView message);
Result<ResSetCurrentMap, DecodeError> decode_res_set_current_map(ByteView message);
Result<ResNotifyCallback, DecodeError> decode_res_notify_callback(ByteView message);
Result<ExecMcast, DecodeError> decode_exec_mcast(ByteView message);

using Request = std::variant<ReqSet, ReqDelete, ReqGet, ReqAdjustInt, ReqIterInit, ReqIterNext,
                             ReqIterFinalize, ReqTrackAdd, ReqTrackDelete, ReqSetCurrentMap>;
using Response = std::variant<ResSet, ResDelete, ResGet, ResAdjustInt, ResIterInit, ResIterNext,
                              ResIterFinalize, ResTrackAdd, ResTrackDelete, ResSetCurrentMap>;
using Event = std::variant<ResNotifyCallback>;
using Exec = std::variant<ExecMcast>;

// By the header's id; unknown_id for an id of no message of that direction.
Result<Request, DecodeError> decode_request(ByteView message);
Result<Response, DecodeError> decode_response(ByteView message);
Result<Event, DecodeError> decode_event(ByteView message);
Result<Exec, DecodeError> decode_exec(ByteView message);
Bytes encode(const Request& m, PadFill fill = {});
Bytes encode(const Response& m, PadFill fill = {});
Bytes encode(const Event& m, PadFill fill = {});
Bytes encode(const Exec& m, PadFill fill = {});

}  // namespace totem::proto::cmap
