// QUORUM (service `quorum`, id 3): IPC requests, responses and notifications (shared/spec/
// services-and-ipc.md A3.3; include/corosync/ipc_quorum.h, exec/vsf_quorum.c, lib/quorum.c).
// No exec messages. ReqX = struct req_lib_quorum_x, ResX = struct res_lib_quorum_x.
//
// Alignment traps: TRACKSTART's track_flags is a plain u32 @16; the node-id arrays of the
// notifications follow their counts directly (@44, @52, @60), and each notification's size
// counts 4 bytes past its arrays (its sizeof ends in padding).
//
// A response whose error is not CS_OK is written as its header and padding and decoded to its
// error only (MODEL_GETTYPE still
// carries the quorum type then; libquorum does not read it).
#pragma once

#include <cstdint>
#include <variant>
#include <vector>

#include "common/bytes.hpp"
#include "common/result.hpp"
#include "proto/ipc.hpp"
#include "proto/mar.hpp"

namespace totem::proto::quorum {

enum class ReqId : std::int32_t {
    getquorate = 0,
    trackstart = 1,
    trackstop = 2,
    gettype = 3,
    model_gettype = 4,
};
enum class ResId : std::int32_t {
    getquorate = 0,
    trackstart = 1,
    trackstop = 2,
    notification = 3,
    gettype = 4,
    model_gettype = 5,
    v1_quorum_notification = 6,
    v1_nodelist_notification = 7,
};

inline constexpr std::uint32_t model_v0 = 0;
inline constexpr std::uint32_t model_v1 = 1;
inline constexpr std::uint32_t quorum_free = 0;  // no quorum provider: always quorate
inline constexpr std::uint32_t quorum_set = 1;
inline constexpr std::size_t view_list_max = processor_count_max;

inline constexpr std::size_t req_bare_size = 16;
inline constexpr std::size_t req_u32_size = 24;  // TRACKSTART, MODEL_GETTYPE
inline constexpr std::size_t res_u32_size = 32;  // GETQUORATE, GETTYPE, MODEL_GETTYPE
inline constexpr std::size_t res_notification_fixed_size = 48;
inline constexpr std::size_t res_v1_quorum_notification_fixed_size = 56;
inline constexpr std::size_t res_v1_nodelist_notification_fixed_size = 64;

struct ReqGetQuorate {  // 0, 16
    bool operator==(const ReqGetQuorate&) const = default;
};
// TRACKSTART (1), 24: track_flags u32 @16 (CS_TRACK_CURRENT 1, CHANGES 2, CHANGES_ONLY 4).
struct ReqTrackStart {
    std::uint32_t track_flags = 0;
    bool operator==(const ReqTrackStart&) const = default;
};
struct ReqTrackStop {  // 2, 16
    bool operator==(const ReqTrackStop&) const = default;
};
struct ReqGetType {  // 3, 16
    bool operator==(const ReqGetType&) const = default;
};
// MODEL_GETTYPE (4), 24: model u32 @16 (0 V0, 1 V1).
struct ReqModelGetType {
    std::uint32_t model = 0;
    bool operator==(const ReqModelGetType&) const = default;
};

// GETQUORATE (0), 32: quorate u32 @24.
struct ResGetQuorate {
    CsError error = CsError::ok;
    std::uint32_t quorate = 0;
    bool operator==(const ResGetQuorate&) const = default;
};
struct ResTrackStart {  // 1, Hdr24
    CsError error = CsError::ok;
    bool operator==(const ResTrackStart&) const = default;
};
struct ResTrackStop {  // 2, Hdr24; always CS_OK from corosync
    CsError error = CsError::ok;
    bool operator==(const ResTrackStop&) const = default;
};
// GETTYPE (4) and MODEL_GETTYPE (5), 32: quorum_type u32 @24.
struct ResGetType {
    CsError error = CsError::ok;
    std::uint32_t quorum_type = 0;
    bool operator==(const ResGetType&) const = default;
};
struct ResModelGetType {
    CsError error = CsError::ok;
    std::uint32_t quorum_type = 0;
    bool operator==(const ResModelGetType&) const = default;
};

// NOTIFICATION (3, model V0), 48 + 4n: quorate i32 @24; ring_seq u64 @32; view_list_entries
// u32 @40; view_list u32[] @44; 4 bytes padding.
struct ResNotification {
    CsError error = CsError::ok;
    std::int32_t quorate = 0;
    std::uint64_t ring_seq = 0;
    std::vector<std::uint32_t> view_list{};  // at most view_list_max
    bool operator==(const ResNotification&) const = default;
};
// V1_QUORUM_NOTIFICATION (6), 56 + 4n: quorate i32 @24; ring_id @32; view_list_entries u32
// @48; view_list u32[] @52; 4 bytes padding.
struct ResV1QuorumNotification {
    CsError error = CsError::ok;
    std::int32_t quorate = 0;
    MarRingId ring_id{};
    std::vector<std::uint32_t> view_list{};  // at most view_list_max
    bool operator==(const ResV1QuorumNotification&) const = default;
};
// V1_NODELIST_NOTIFICATION (7), 64 + 4(m + j + l): ring_id @24; member_list_entries u32 @40;
// joined_list_entries u32 @48; left_list_entries u32 @56; members, joined, left u32[] from
// @60; 4 bytes padding.
struct ResV1NodelistNotification {
    CsError error = CsError::ok;
    MarRingId ring_id{};
    std::vector<std::uint32_t> members{};  // each at most view_list_max
    std::vector<std::uint32_t> joined{};
    std::vector<std::uint32_t> left{};
    bool operator==(const ResV1NodelistNotification&) const = default;
};

Bytes encode(const ReqGetQuorate& m, PadFill fill = {});
Bytes encode(const ReqTrackStart& m, PadFill fill = {});
Bytes encode(const ReqTrackStop& m, PadFill fill = {});
Bytes encode(const ReqGetType& m, PadFill fill = {});
Bytes encode(const ReqModelGetType& m, PadFill fill = {});
Bytes encode(const ResGetQuorate& m, PadFill fill = {});
Bytes encode(const ResTrackStart& m, PadFill fill = {});
Bytes encode(const ResTrackStop& m, PadFill fill = {});
Bytes encode(const ResGetType& m, PadFill fill = {});
Bytes encode(const ResModelGetType& m, PadFill fill = {});
Bytes encode(const ResNotification& m, PadFill fill = {});
Bytes encode(const ResV1QuorumNotification& m, PadFill fill = {});
Bytes encode(const ResV1NodelistNotification& m, PadFill fill = {});

Result<ReqGetQuorate, DecodeError> decode_req_getquorate(ByteView message);
Result<ReqTrackStart, DecodeError> decode_req_trackstart(ByteView message);
Result<ReqTrackStop, DecodeError> decode_req_trackstop(ByteView message);
Result<ReqGetType, DecodeError> decode_req_gettype(ByteView message);
Result<ReqModelGetType, DecodeError> decode_req_model_gettype(ByteView message);
Result<ResGetQuorate, DecodeError> decode_res_getquorate(ByteView message);
Result<ResTrackStart, DecodeError> decode_res_trackstart(ByteView message);
Result<ResTrackStop, DecodeError> decode_res_trackstop(ByteView message);
Result<ResGetType, DecodeError> decode_res_gettype(ByteView message);
Result<ResModelGetType, DecodeError> decode_res_model_gettype(ByteView message);
Result<ResNotification, DecodeError> decode_res_notification(ByteView message);
Result<ResV1QuorumNotification, DecodeError> decode_res_v1_quorum_notification(ByteView message);
Result<ResV1NodelistNotification, DecodeError> decode_res_v1_nodelist_notification(
    ByteView message);

using Request =
    std::variant<ReqGetQuorate, ReqTrackStart, ReqTrackStop, ReqGetType, ReqModelGetType>;
using Response =
    std::variant<ResGetQuorate, ResTrackStart, ResTrackStop, ResGetType, ResModelGetType>;
using Event = std::variant<ResNotification, ResV1QuorumNotification, ResV1NodelistNotification>;

Result<Request, DecodeError> decode_request(ByteView message);
Result<Response, DecodeError> decode_response(ByteView message);
Result<Event, DecodeError> decode_event(ByteView message);
Bytes encode(const Request& m, PadFill fill = {});
Bytes encode(const Response& m, PadFill fill = {});
Bytes encode(const Event& m, PadFill fill = {});

}  // namespace totem::proto::quorum
