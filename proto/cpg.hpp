// CPG (service `cpg`, id 2): IPC requests, responses, events, and the exec messages
// (shared/spec/services-and-ipc.md A3.1, B2.1; include/corosync/ipc_cpg.h, exec/cpg.c,
// lib/cpg.c). ReqX = struct req_lib_cpg_x, ResX = struct res_lib_cpg_x,
// ExecX = struct req_exec_cpg_x.
//
// Alignment traps kept here: the MCAST and PARTIAL_MCAST requests and the JOINLIST exec
// message start with the 24-byte response-style header (its error field is unused: libcpg
// leaves garbage there); the TOTEM_CONFCHG event's node ids follow the count at 44, and its size
// counts 4 bytes past them. Group names are exactly their `length` bytes (≤ 128).
//
// A response whose error is not CS_OK is written as its header and padding and decoded to its
// error only: corosync leaves the rest
// stale (ITERATIONNEXT at the end repeats the last entry).
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

namespace totem::proto::cpg {

enum class ReqId : std::int32_t {
    join = 0,
    leave = 1,
    mcast = 2,
    membership = 3,
    local_get = 4,
    iterationinitialize = 5,
    iterationnext = 6,
    iterationfinalize = 7,
    finalize = 8,
    zc_alloc = 9,
    zc_free = 10,
    zc_execute = 11,
    partial_mcast = 12,
};
enum class ResId : std::int32_t {
    join = 0,  // also the id of the ZC_ALLOC and ZC_FREE replies
    leave = 1,
    mcast = 2,  // the ZC_EXECUTE reply
    membership = 3,
    confchg_callback = 4,
    deliver_callback = 5,
    flow_control_state_set = 6,  // never sent
    local_get = 7,
    flowcontrol_callback = 8,  // never sent
    iterationinitialize = 9,
    iterationnext = 10,
    iterationfinalize = 11,
    finalize = 12,
    totem_confchg_callback = 13,
    zc_alloc = 14,    // never sent (the reply uses id 0)
    zc_free = 15,     // never sent
    zc_execute = 16,  // never sent
    partial_deliver_callback = 17,
    partial_send = 18,
};

inline constexpr std::uint32_t reason_join = 1;
inline constexpr std::uint32_t reason_leave = 2;
inline constexpr std::uint32_t reason_nodedown = 3;
inline constexpr std::uint32_t reason_nodeup = 4;
inline constexpr std::uint32_t reason_procdown = 5;
inline constexpr std::uint32_t iteration_name_only = 1;
inline constexpr std::uint32_t iteration_one_group = 2;
inline constexpr std::uint32_t iteration_all = 3;
inline constexpr std::uint32_t partial_first = 1;
inline constexpr std::uint32_t partial_continued = 2;
inline constexpr std::uint32_t partial_last = 3;
inline constexpr std::uint32_t flag_deliver_initial_totem_conf = 0x01;

inline constexpr std::size_t zc_path_size = 128;  // CPG_ZC_PATH_LEN
// libcpg's callback arrays hold CPG_MEMBERS_MAX entries: a CONFCHG list longer than this would
// overflow them, so the codec refuses (and never writes) one.
inline constexpr std::size_t confchg_list_max = 128;
inline constexpr std::size_t membership_max = processor_count_max;  // member_list[384]
inline constexpr std::size_t totem_members_max = processor_count_max;
inline constexpr std::size_t downlist_max = processor_count_max;
inline constexpr std::size_t joinlist_entry_size = 144;
inline constexpr std::size_t joinlist_entries_max = (ipc_buffer_size - 24) / joinlist_entry_size;

inline constexpr std::size_t req_join_size = 168;
inline constexpr std::size_t req_leave_size = 160;
inline constexpr std::size_t req_mcast_fixed_size = 40;
inline constexpr std::size_t req_membership_size = 152;
inline constexpr std::size_t req_iterationinitialize_size = 160;
inline constexpr std::size_t req_handle_size = 24;  // ITERATIONNEXT, ITERATIONFINALIZE, ZC_EXECUTE
inline constexpr std::size_t req_zc_alloc_size = 152;
inline constexpr std::size_t req_zc_free_size = 32;
inline constexpr std::size_t req_partial_mcast_fixed_size = 56;
inline constexpr std::size_t res_local_get_size = 32;
inline constexpr std::size_t res_membership_size = 9248;
inline constexpr std::size_t res_iterationinitialize_size = 32;
inline constexpr std::size_t res_iterationnext_size = 168;
inline constexpr std::size_t res_deliver_fixed_size = 184;
inline constexpr std::size_t res_partial_deliver_fixed_size = 200;
inline constexpr std::size_t res_confchg_fixed_size = 184;
inline constexpr std::size_t res_totem_confchg_fixed_size = 48;
inline constexpr std::size_t exec_procjoin_size = 168;
inline constexpr std::size_t exec_joinlist_fixed_size = 24;
inline constexpr std::size_t exec_mcast_fixed_size = 184;
inline constexpr std::size_t exec_partial_mcast_fixed_size = 200;
inline constexpr std::size_t exec_downlist_old_size = 1560;
inline constexpr std::size_t exec_downlist_size = 1568;

// ---------------------------------------------------------------------------------- requests

// JOIN (0), 168: group_name @16; pid u32 @152; flags u32 @160.
struct ReqJoin {
    std::string group_name{};
    std::uint32_t pid = 0;
    std::uint32_t flags = 0;
    bool operator==(const ReqJoin&) const = default;
};
// LEAVE (1), 160: group_name @16; pid u32 @152.
struct ReqLeave {
    std::string group_name{};
    std::uint32_t pid = 0;
    bool operator==(const ReqLeave&) const = default;
};
// MCAST (2), 40 + msglen, Hdr24: guarantee u32 @24 (ignored by the server); msglen u32 @32;
// message @40. Gets no reply.
struct ReqMcast {
    std::uint32_t guarantee = 0;
    Bytes message{};
    bool operator==(const ReqMcast&) const = default;
};
// MEMBERSHIP (3), 152: group_name @16.
struct ReqMembershipGet {
    std::string group_name{};
    bool operator==(const ReqMembershipGet&) const = default;
};
struct ReqLocalGet {  // 4, 16
    bool operator==(const ReqLocalGet&) const = default;
};
// ITERATIONINITIALIZE (5), 160: group_name @16; iteration_type u32 @152. libcpg fills the
// group only for ONE_GROUP and leaves stack garbage there otherwise (captured: a length of 16
// and random bytes for NAME_ONLY), so the name is read only for ONE_GROUP.
struct ReqIterationInitialize {
    std::string group_name{};  // ONE_GROUP only; empty otherwise
    std::uint32_t iteration_type = 0;
    bool operator==(const ReqIterationInitialize&) const = default;
};
// ITERATIONNEXT (6), 24: iteration_handle u64 @16.
struct ReqIterationNext {
    std::uint64_t iteration_handle = 0;
    bool operator==(const ReqIterationNext&) const = default;
};
// ITERATIONFINALIZE (7), 24: iteration_handle u64 @16.
struct ReqIterationFinalize {
    std::uint64_t iteration_handle = 0;
    bool operator==(const ReqIterationFinalize&) const = default;
};
struct ReqFinalize {  // 8, 16
    bool operator==(const ReqFinalize&) const = default;
};
// ZC_ALLOC (9), 152: map_size u64 @16; path_to_file char[128] @24.
struct ReqZcAlloc {
    std::uint64_t map_size = 0;
    std::string path_to_file{};
    bool operator==(const ReqZcAlloc&) const = default;
};
// ZC_FREE (10), 32: map_size u64 @16; server_address u64 @24.
struct ReqZcFree {
    std::uint64_t map_size = 0;
    std::uint64_t server_address = 0;
    bool operator==(const ReqZcFree&) const = default;
};
// ZC_EXECUTE (11), 24: server_address u64 @16.
struct ReqZcExecute {
    std::uint64_t server_address = 0;
    bool operator==(const ReqZcExecute&) const = default;
};
// PARTIAL_MCAST (12), 56 + fraglen, Hdr24: guarantee u32 @24; msglen u32 @32 (the whole
// message); fraglen u32 @40; type u32 @48 (1 FIRST, 2 CONTINUED, 3 LAST); fragment @56.
struct ReqPartialMcast {
    std::uint32_t guarantee = 0;
    std::uint32_t msglen = 0;
    std::uint32_t type = 0;
    Bytes fragment{};
    bool operator==(const ReqPartialMcast&) const = default;
};

// --------------------------------------------------------------------------------- responses

// Hdr24 alone: JOIN (0), LEAVE (1), MCAST (2, the reply to ZC_EXECUTE), ITERATIONFINALIZE (11),
// FINALIZE (12), PARTIAL_SEND (18); ZC_ALLOC and ZC_FREE are answered with id 0 (and an
// error field corosync never sets).
struct ResJoin {
    CsError error = CsError::ok;
    bool operator==(const ResJoin&) const = default;
};
struct ResLeave {
    CsError error = CsError::ok;
    bool operator==(const ResLeave&) const = default;
};
struct ResMcast {
    CsError error = CsError::ok;
    bool operator==(const ResMcast&) const = default;
};
struct ResIterationFinalize {
    CsError error = CsError::ok;
    bool operator==(const ResIterationFinalize&) const = default;
};
struct ResFinalize {
    CsError error = CsError::ok;
    bool operator==(const ResFinalize&) const = default;
};
struct ResPartialSend {
    CsError error = CsError::ok;
    bool operator==(const ResPartialSend&) const = default;
};
struct ResZcAlloc {
    CsError error = CsError::ok;
    bool operator==(const ResZcAlloc&) const = default;
};
struct ResZcFree {
    CsError error = CsError::ok;
    bool operator==(const ResZcFree&) const = default;
};
// LOCAL_GET (7), 32: local_nodeid u32 @24.
struct ResLocalGet {
    CsError error = CsError::ok;
    std::uint32_t local_nodeid = 0;
    bool operator==(const ResLocalGet&) const = default;
};
// MEMBERSHIP (3), always 9 248: member_count u32 @24; member_list mar_cpg_address_t[384] @32
// (entries past member_count are padding).
struct ResMembershipGet {
    CsError error = CsError::ok;
    std::vector<CpgAddress> members{};  // at most membership_max
    bool operator==(const ResMembershipGet&) const = default;
};
// ITERATIONINITIALIZE (9), 32: iteration_handle u64 @24.
struct ResIterationInitialize {
    CsError error = CsError::ok;
    std::uint64_t iteration_handle = 0;
    bool operator==(const ResIterationInitialize&) const = default;
};
// ITERATIONNEXT (10), 168: description @24 = group_name @24, nodeid u32 @160, pid u32 @164.
struct ResIterationNext {
    CsError error = CsError::ok;
    std::string group_name{};
    std::uint32_t nodeid = 0;
    std::uint32_t pid = 0;
    bool operator==(const ResIterationNext&) const = default;
};

// ----------------------------------------------------------------------------------- events

// DELIVER_CALLBACK (5), 184 + msglen: group_name @24; msglen u32 @160; nodeid u32 @168;
// pid u32 @176; message @184. Corosync leaves the error field unset (captured: garbage).
struct ResDeliverCallback {
    CsError error = CsError::ok;
    std::string group_name{};
    std::uint32_t nodeid = 0;
    std::uint32_t pid = 0;
    Bytes message{};
    bool operator==(const ResDeliverCallback&) const = default;
};
// PARTIAL_DELIVER_CALLBACK (17), 200 + fraglen: group_name @24; msglen u32 @160; fraglen u32
// @168; nodeid u32 @176; pid u32 @184; type u32 @192; fragment @200. Error field unset.
struct ResPartialDeliverCallback {
    CsError error = CsError::ok;
    std::string group_name{};
    std::uint32_t msglen = 0;
    std::uint32_t nodeid = 0;
    std::uint32_t pid = 0;
    std::uint32_t type = 0;
    Bytes fragment{};
    bool operator==(const ResPartialDeliverCallback&) const = default;
};
// CONFCHG_CALLBACK (4), 184 + 24·(m + l + j): group_name @24; member_list_entries u32 @160,
// joined_list_entries u32 @168, left_list_entries u32 @176; then the member, LEFT and JOINED
// arrays of mar_cpg_address_t in that order (the counts are in the order member, joined, left).
struct ResConfchgCallback {
    CsError error = CsError::ok;
    std::string group_name{};
    std::vector<CpgAddress> members{};  // each list at most confchg_list_max
    std::vector<CpgAddress> left{};
    std::vector<CpgAddress> joined{};
    bool operator==(const ResConfchgCallback&) const = default;
};
// TOTEM_CONFCHG_CALLBACK (13), 48 + 4n: ring_id @24 (nodeid @24, seq @32);
// member_list_entries u32 @40; member_list u32[] @44; then 4 bytes the size counts (sizeof is
// 48): padding.
struct ResTotemConfchgCallback {
    CsError error = CsError::ok;
    MarRingId ring_id{};
    std::vector<std::uint32_t> members{};  // at most totem_members_max
    bool operator==(const ResTotemConfchgCallback&) const = default;
};

// ------------------------------------------------------------------------------------- exec

// PROCJOIN (fn 0) and PROCLEAVE (fn 1), 168: group_name @16; pid u32 @152; reason u32 @160.
struct ExecProcJoin {
    std::string group_name{};
    std::uint32_t pid = 0;
    std::uint32_t reason = reason_join;
    bool operator==(const ExecProcJoin&) const = default;
};
struct ExecProcLeave {
    std::string group_name{};
    std::uint32_t pid = 0;
    std::uint32_t reason = reason_leave;  // LEAVE or PROCDOWN
    bool operator==(const ExecProcLeave&) const = default;
};
// JOINLIST (fn 2), 24 + 144·n, with the 24-byte response-style header (error field 0, unused);
// entry k at 24 + 144·k: pid u32 @+0; group_name @+8.
struct JoinlistEntry {
    std::uint32_t pid = 0;
    std::string group_name{};
    bool operator==(const JoinlistEntry&) const = default;
};
struct ExecJoinlist {
    std::vector<JoinlistEntry> entries{};  // at most joinlist_entries_max
    bool operator==(const ExecJoinlist&) const = default;
};
// MCAST (fn 3), 184 + msglen: group_name @16; msglen u32 @152; pid u32 @160; source @168
// (nodeid @168, conn @176); message @184.
struct ExecMcast {
    std::string group_name{};
    std::uint32_t pid = 0;
    MessageSource source{};
    Bytes message{};
    bool operator==(const ExecMcast&) const = default;
};
// DOWNLIST_OLD (fn 4), 1 560: left_nodes u32 @16; nodeids u32[384] @24. Never sent by 3.x.
struct ExecDownlistOld {
    std::vector<std::uint32_t> nodeids{};  // left_nodes of them; at most downlist_max
    bool operator==(const ExecDownlistOld&) const = default;
};
// DOWNLIST (fn 5), 1 568: old_members u32 @16; left_nodes u32 @24; nodeids u32[384] @32 (the
// first left_nodes count; the rest is whatever corosync's buffer held: padding).
struct ExecDownlist {
    std::uint32_t old_members = 0;
    std::vector<std::uint32_t> nodeids{};  // at most downlist_max
    bool operator==(const ExecDownlist&) const = default;
};
// PARTIAL_MCAST (fn 6), 200 + fraglen: group_name @16; msglen u32 @152; fraglen u32 @160;
// pid u32 @168; type u32 @176; source @184; fragment @200.
struct ExecPartialMcast {
    std::string group_name{};
    std::uint32_t msglen = 0;
    std::uint32_t pid = 0;
    std::uint32_t type = 0;
    MessageSource source{};
    Bytes fragment{};
    bool operator==(const ExecPartialMcast&) const = default;
};

// ------------------------------------------------------------------------------------ codec

// The small-message path (issue 20) without copies: the MCAST request and the MCAST exec
// message decoded as views of the message they were read from (valid while it is), and the
// two messages built from them encoded straight from views. The struct codecs above are
// these, so the bytes are the same.
struct ReqMcastView {
    std::uint32_t guarantee = 0;
    ByteView message{};  // inside the decoded request
};
struct ExecMcastView {
    std::string group_name{};
    std::uint32_t pid = 0;
    MessageSource source{};
    ByteView message{};  // inside the decoded exec message
};
Result<ReqMcastView, DecodeError> decode_req_mcast_view(ByteView message);
Result<ExecMcastView, DecodeError> decode_exec_mcast_view(ByteView message);
Bytes encode_exec_mcast(std::string_view group_name, std::uint32_t pid, const MessageSource& source,
                        ByteView message, PadFill fill = {});
Bytes encode_deliver_callback(CsError error, std::string_view group_name, std::uint32_t nodeid,
                              std::uint32_t pid, ByteView message, PadFill fill = {});

Bytes encode(const ReqJoin& m, PadFill fill = {});
Bytes encode(const ReqLeave& m, PadFill fill = {});
Bytes encode(const ReqMcast& m, PadFill fill = {});
Bytes encode(const ReqMembershipGet& m, PadFill fill = {});
Bytes encode(const ReqLocalGet& m, PadFill fill = {});
Bytes encode(const ReqIterationInitialize& m, PadFill fill = {});
Bytes encode(const ReqIterationNext& m, PadFill fill = {});
Bytes encode(const ReqIterationFinalize& m, PadFill fill = {});
Bytes encode(const ReqFinalize& m, PadFill fill = {});
Bytes encode(const ReqZcAlloc& m, PadFill fill = {});
Bytes encode(const ReqZcFree& m, PadFill fill = {});
Bytes encode(const ReqZcExecute& m, PadFill fill = {});
Bytes encode(const ReqPartialMcast& m, PadFill fill = {});
Bytes encode(const ResJoin& m, PadFill fill = {});
Bytes encode(const ResLeave& m, PadFill fill = {});
Bytes encode(const ResMcast& m, PadFill fill = {});
Bytes encode(const ResIterationFinalize& m, PadFill fill = {});
Bytes encode(const ResFinalize& m, PadFill fill = {});
Bytes encode(const ResPartialSend& m, PadFill fill = {});
Bytes encode(const ResZcAlloc& m, PadFill fill = {});
Bytes encode(const ResZcFree& m, PadFill fill = {});
Bytes encode(const ResLocalGet& m, PadFill fill = {});
Bytes encode(const ResMembershipGet& m, PadFill fill = {});
Bytes encode(const ResIterationInitialize& m, PadFill fill = {});
Bytes encode(const ResIterationNext& m, PadFill fill = {});
Bytes encode(const ResDeliverCallback& m, PadFill fill = {});
Bytes encode(const ResPartialDeliverCallback& m, PadFill fill = {});
Bytes encode(const ResConfchgCallback& m, PadFill fill = {});
Bytes encode(const ResTotemConfchgCallback& m, PadFill fill = {});
Bytes encode(const ExecProcJoin& m, PadFill fill = {});
Bytes encode(const ExecProcLeave& m, PadFill fill = {});
Bytes encode(const ExecJoinlist& m, PadFill fill = {});
Bytes encode(const ExecMcast& m, PadFill fill = {});
Bytes encode(const ExecDownlistOld& m, PadFill fill = {});
Bytes encode(const ExecDownlist& m, PadFill fill = {});
Bytes encode(const ExecPartialMcast& m, PadFill fill = {});

Result<ReqJoin, DecodeError> decode_req_join(ByteView message);
Result<ReqLeave, DecodeError> decode_req_leave(ByteView message);
Result<ReqMcast, DecodeError> decode_req_mcast(ByteView message);
Result<ReqMembershipGet, DecodeError> decode_req_membership(ByteView message);
Result<ReqLocalGet, DecodeError> decode_req_local_get(ByteView message);
Result<ReqIterationInitialize, DecodeError> decode_req_iterationinitialize(ByteView message);
Result<ReqIterationNext, DecodeError> decode_req_iterationnext(ByteView message);
Result<ReqIterationFinalize, DecodeError> decode_req_iterationfinalize(ByteView message);
Result<ReqFinalize, DecodeError> decode_req_finalize(ByteView message);
Result<ReqZcAlloc, DecodeError> decode_req_zc_alloc(ByteView message);
Result<ReqZcFree, DecodeError> decode_req_zc_free(ByteView message);
Result<ReqZcExecute, DecodeError> decode_req_zc_execute(ByteView message);
Result<ReqPartialMcast, DecodeError> decode_req_partial_mcast(ByteView message);
Result<ResJoin, DecodeError> decode_res_join(ByteView message);
Result<ResLeave, DecodeError> decode_res_leave(ByteView message);
Result<ResMcast, DecodeError> decode_res_mcast(ByteView message);
Result<ResIterationFinalize, DecodeError> decode_res_iterationfinalize(ByteView message);
Result<ResFinalize, DecodeError> decode_res_finalize(ByteView message);
Result<ResPartialSend, DecodeError> decode_res_partial_send(ByteView message);
Result<ResZcAlloc, DecodeError> decode_res_zc_alloc(ByteView message);
Result<ResZcFree, DecodeError> decode_res_zc_free(ByteView message);
Result<ResLocalGet, DecodeError> decode_res_local_get(ByteView message);
Result<ResMembershipGet, DecodeError> decode_res_membership(ByteView message);
Result<ResIterationInitialize, DecodeError> decode_res_iterationinitialize(ByteView message);
Result<ResIterationNext, DecodeError> decode_res_iterationnext(ByteView message);
Result<ResDeliverCallback, DecodeError> decode_res_deliver_callback(ByteView message);
Result<ResPartialDeliverCallback, DecodeError> decode_res_partial_deliver_callback(
    ByteView message);
Result<ResConfchgCallback, DecodeError> decode_res_confchg_callback(ByteView message);
Result<ResTotemConfchgCallback, DecodeError> decode_res_totem_confchg_callback(ByteView message);
Result<ExecProcJoin, DecodeError> decode_exec_procjoin(ByteView message);
Result<ExecProcLeave, DecodeError> decode_exec_procleave(ByteView message);
Result<ExecJoinlist, DecodeError> decode_exec_joinlist(ByteView message);
Result<ExecMcast, DecodeError> decode_exec_mcast(ByteView message);
Result<ExecDownlistOld, DecodeError> decode_exec_downlist_old(ByteView message);
Result<ExecDownlist, DecodeError> decode_exec_downlist(ByteView message);
Result<ExecPartialMcast, DecodeError> decode_exec_partial_mcast(ByteView message);

using Request = std::variant<ReqJoin, ReqLeave, ReqMcast, ReqMembershipGet, ReqLocalGet,
                             ReqIterationInitialize, ReqIterationNext, ReqIterationFinalize,
                             ReqFinalize, ReqZcAlloc, ReqZcFree, ReqZcExecute, ReqPartialMcast>;
// By id, id 0 is ResJoin (also what ZC_ALLOC/ZC_FREE are answered with).
using Response =
    std::variant<ResJoin, ResLeave, ResMcast, ResMembershipGet, ResLocalGet, ResIterationInitialize,
                 ResIterationNext, ResIterationFinalize, ResFinalize, ResPartialSend>;
// The events libcpg's cpg_dispatch accepts (any other id makes it fail with CS_ERR_LIBRARY).
using Event = std::variant<ResConfchgCallback, ResDeliverCallback, ResTotemConfchgCallback,
                           ResPartialDeliverCallback>;
using Exec = std::variant<ExecProcJoin, ExecProcLeave, ExecJoinlist, ExecMcast, ExecDownlistOld,
                          ExecDownlist, ExecPartialMcast>;

Result<Request, DecodeError> decode_request(ByteView message);
Result<Response, DecodeError> decode_response(ByteView message);
Result<Event, DecodeError> decode_event(ByteView message);
Result<Exec, DecodeError> decode_exec(ByteView message);
Bytes encode(const Request& m, PadFill fill = {});
Bytes encode(const Response& m, PadFill fill = {});
Bytes encode(const Event& m, PadFill fill = {});
Bytes encode(const Exec& m, PadFill fill = {});

}  // namespace totem::proto::cpg
