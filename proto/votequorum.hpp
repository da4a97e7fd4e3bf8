// VOTEQUORUM (service `votequorum`, id 5): IPC requests, responses, notifications and the exec
// messages (shared/spec/services-and-ipc.md A3.4, B2.2; include/corosync/ipc_votequorum.h,
// exec/votequorum.c, lib/votequorum.c). ReqX = struct req_lib_votequorum_x,
// ResX = struct res_lib_votequorum_x, ExecX = struct req_exec_quorum_x.
//
// Alignment traps: the request fields after the header are not aligned(8) (names are
// char[255], so QDEVICE_UPDATE's newname sits at 271 and QDEVICE_POLL's cast_vote at 272);
// GETINFO's reply is consecutive u32s from 24 with the qdevice name at 60; the exec structs are
// `packed` after an 8-aligned header (QDEVICE_REG's name at 20). Names are C strings in
// char[255].
//
// A response whose error is not CS_OK is written as its header and padding and decoded to its
// error only (GETINFO for an unknown node
// is otherwise uninitialised stack: captured).
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

namespace totem::proto::votequorum {

enum class ReqId : std::int32_t {
    getinfo = 0,
    setexpected = 1,
    setvotes = 2,
    trackstart = 3,
    trackstop = 4,
    qdevice_register = 5,
    qdevice_unregister = 6,
    qdevice_update = 7,
    qdevice_poll = 8,
    qdevice_master_wins = 9,
};
enum class ResId : std::int32_t {
    status = 0,
    getinfo = 1,
    trackstart = 2,  // never sent
    quorum_notification = 3,
    expectedvotes_notification = 4,
    nodelist_notification = 5,
};

inline constexpr std::size_t qdevice_name_size = 255;  // VOTEQUORUM_QDEVICE_MAX_NAME_LEN
inline constexpr std::uint32_t qdevice_nodeid = 0;
// GETINFO flags (VOTEQUORUM_INFO_*)
inline constexpr std::uint32_t info_twonode = 1;
inline constexpr std::uint32_t info_quorate = 2;
inline constexpr std::uint32_t info_wait_for_all = 4;
inline constexpr std::uint32_t info_last_man_standing = 8;
inline constexpr std::uint32_t info_auto_tie_breaker = 16;
inline constexpr std::uint32_t info_allow_downscale = 32;
inline constexpr std::uint32_t info_qdevice_registered = 64;
inline constexpr std::uint32_t info_qdevice_alive = 128;
inline constexpr std::uint32_t info_qdevice_cast_vote = 256;
inline constexpr std::uint32_t info_qdevice_master_wins = 512;
inline constexpr std::uint32_t nodestate_member = 1;
inline constexpr std::uint32_t nodestate_dead = 2;
inline constexpr std::uint32_t nodestate_leaving = 3;
// NODEINFO flags (exec/votequorum.c NODE_FLAGS_*)
inline constexpr std::uint32_t node_flag_quorate = 1;
inline constexpr std::uint32_t node_flag_leaving = 2;
inline constexpr std::uint32_t node_flag_wfastatus = 4;
inline constexpr std::uint32_t node_flag_first = 8;
inline constexpr std::uint32_t node_flag_qdevice_registered = 16;
inline constexpr std::uint32_t node_flag_qdevice_alive = 32;
inline constexpr std::uint32_t node_flag_qdevice_cast_vote = 64;
inline constexpr std::uint32_t node_flag_qdevice_master_wins = 128;
inline constexpr std::uint8_t reconfig_param_expected_votes = 1;
inline constexpr std::uint8_t reconfig_param_node_votes = 2;
inline constexpr std::uint8_t reconfig_param_cancel_wfa = 3;
inline constexpr std::uint32_t qdevice_operation_unregister = 0;
inline constexpr std::uint32_t qdevice_operation_register = 1;

// Every node votequorum knows and the qdevice's {0, state}.
inline constexpr std::size_t quorum_node_list_max = processor_count_max + 1;
inline constexpr std::size_t nodelist_max = processor_count_max;

inline constexpr std::size_t req_u32_size = 24;  // GETINFO, SETEXPECTED, SETVOTES
inline constexpr std::size_t req_trackstart_size = 32;
inline constexpr std::size_t req_trackstop_size = 16;
inline constexpr std::size_t req_qdevice_name_size = 272;  // REGISTER, UNREGISTER
inline constexpr std::size_t req_qdevice_update_size = 528;
inline constexpr std::size_t req_qdevice_poll_size = 296;
inline constexpr std::size_t req_qdevice_master_wins_size = 280;
inline constexpr std::size_t res_getinfo_size = 320;
inline constexpr std::size_t res_quorum_notification_fixed_size = 48;
inline constexpr std::size_t res_nodelist_notification_fixed_size = 56;
inline constexpr std::size_t res_expectedvotes_notification_size = 40;
inline constexpr std::size_t exec_nodeinfo_size = 32;
inline constexpr std::size_t exec_reconfigure_size = 32;
inline constexpr std::size_t exec_qdevice_reg_size = 280;
inline constexpr std::size_t exec_qdevice_reconfigure_size = 528;

// ---------------------------------------------------------------------------------- requests

// GETINFO (0), 24: nodeid i32 @16 (0 = this node).
struct ReqGetInfo {
    std::int32_t nodeid = 0;
    bool operator==(const ReqGetInfo&) const = default;
};
// SETEXPECTED (1), 24: expected_votes u32 @16.
struct ReqSetExpected {
    std::uint32_t expected_votes = 0;
    bool operator==(const ReqSetExpected&) const = default;
};
// SETVOTES (2), 24: votes u32 @16; nodeid i32 @20.
struct ReqSetVotes {
    std::uint32_t votes = 0;
    std::int32_t nodeid = 0;
    bool operator==(const ReqSetVotes&) const = default;
};
// TRACKSTART (3), 32: context u64 @16; track_flags u32 @24.
struct ReqTrackStart {
    std::uint64_t context = 0;
    std::uint32_t track_flags = 0;
    bool operator==(const ReqTrackStart&) const = default;
};
struct ReqTrackStop {  // 4, 16
    bool operator==(const ReqTrackStop&) const = default;
};
// QDEVICE_REGISTER (5) and QDEVICE_UNREGISTER (6), 272: name char[255] @16.
struct ReqQdeviceRegister {
    std::string name{};
    bool operator==(const ReqQdeviceRegister&) const = default;
};
struct ReqQdeviceUnregister {
    std::string name{};
    bool operator==(const ReqQdeviceUnregister&) const = default;
};
// QDEVICE_UPDATE (7), 528: oldname char[255] @16; newname char[255] @271.
struct ReqQdeviceUpdate {
    std::string oldname{};
    std::string newname{};
    bool operator==(const ReqQdeviceUpdate&) const = default;
};
// QDEVICE_POLL (8), 296: name @16; cast_vote i32 @272; ring_id @280 (nodeid @280, seq @288).
struct ReqQdevicePoll {
    std::string name{};
    std::int32_t cast_vote = 0;
    MarRingId ring_id{};
    bool operator==(const ReqQdevicePoll&) const = default;
};
// QDEVICE_MASTER_WINS (9), 280: name @16; allow u32 @272.
struct ReqQdeviceMasterWins {
    std::string name{};
    std::uint32_t allow = 0;
    bool operator==(const ReqQdeviceMasterWins&) const = default;
};

// --------------------------------------------------------------------------------- responses

// STATUS (0), Hdr24: the reply to every request but GETINFO.
struct ResStatus {
    CsError error = CsError::ok;
    bool operator==(const ResStatus&) const = default;
};
// GETINFO (1), 320: nodeid @24, state @28, votes @32, expected_votes @36, highest_expected
// @40, total_votes @44, quorum @48, flags @52, qdevice_votes @56 (u32 each); qdevice_name
// char[255] @60; 5 bytes padding.
struct ResGetInfo {
    CsError error = CsError::ok;
    std::uint32_t nodeid = 0;
    std::uint32_t state = 0;
    std::uint32_t votes = 0;
    std::uint32_t expected_votes = 0;
    std::uint32_t highest_expected = 0;
    std::uint32_t total_votes = 0;
    std::uint32_t quorum = 0;
    std::uint32_t flags = 0;
    std::uint32_t qdevice_votes = 0;
    std::string qdevice_name{};
    bool operator==(const ResGetInfo&) const = default;
};

// ----------------------------------------------------------------------------------- events

struct Node {
    std::uint32_t nodeid = 0;
    std::uint32_t state = 0;
    bool operator==(const Node&) const = default;
};
// QUORUM_NOTIFICATION (3), 48 + 8n: quorate u32 @24; context u64 @32; node_list_entries u32
// @40; node_list {nodeid u32, state u32}[] @48.
struct ResQuorumNotification {
    CsError error = CsError::ok;
    std::uint32_t quorate = 0;
    std::uint64_t context = 0;
    std::vector<Node> nodes{};  // at most quorum_node_list_max
    bool operator==(const ResQuorumNotification&) const = default;
};
// EXPECTEDVOTES_NOTIFICATION (4), 40: context u64 @24; expected_votes u32 @32.
struct ResExpectedVotesNotification {
    CsError error = CsError::ok;
    std::uint64_t context = 0;
    std::uint32_t expected_votes = 0;
    bool operator==(const ResExpectedVotesNotification&) const = default;
};
// NODELIST_NOTIFICATION (5), 56 + 4n: context u64 @24; ring_id @32; node_list_entries u32 @48;
// node_list u32[] @56 (no trailing padding).
struct ResNodelistNotification {
    CsError error = CsError::ok;
    std::uint64_t context = 0;
    MarRingId ring_id{};
    std::vector<std::uint32_t> nodes{};  // at most nodelist_max
    bool operator==(const ResNodelistNotification&) const = default;
};

// ------------------------------------------------------------------------------------- exec

// NODEINFO (fn 0), 32, packed: nodeid @16 (0 = the quorum device), votes @20,
// expected_votes @24, flags @28 (u32 each).
struct ExecNodeInfo {
    std::uint32_t nodeid = 0;
    std::uint32_t votes = 0;
    std::uint32_t expected_votes = 0;
    std::uint32_t flags = 0;
    bool operator==(const ExecNodeInfo&) const = default;
};
// RECONFIGURE (fn 1), 32, packed: nodeid u32 @16; value u32 @20; param u8 @24; _pad0.._pad2
// @25 (zero); 4 bytes struct tail @28 (uninitialised by corosync: captured garbage).
struct ExecReconfigure {
    std::uint32_t nodeid = 0;
    std::uint32_t value = 0;
    std::uint8_t param = 0;
    bool operator==(const ExecReconfigure&) const = default;
};
// QDEVICE_REG (fn 2), 280, packed: operation u32 @16 (0 unregister, 1 register);
// qdevice_name char[255] @20; 5 bytes tail.
struct ExecQdeviceReg {
    std::uint32_t operation = 0;
    std::string qdevice_name{};
    bool operator==(const ExecQdeviceReg&) const = default;
};
// QDEVICE_RECONFIGURE (fn 3), 528, packed: oldname char[255] @16; newname char[255] @271.
struct ExecQdeviceReconfigure {
    std::string oldname{};
    std::string newname{};
    bool operator==(const ExecQdeviceReconfigure&) const = default;
};

// ------------------------------------------------------------------------------------ codec

Bytes encode(const ReqGetInfo& m, PadFill fill = {});
Bytes encode(const ReqSetExpected& m, PadFill fill = {});
Bytes encode(const ReqSetVotes& m, PadFill fill = {});
Bytes encode(const ReqTrackStart& m, PadFill fill = {});
Bytes encode(const ReqTrackStop& m, PadFill fill = {});
Bytes encode(const ReqQdeviceRegister& m, PadFill fill = {});
Bytes encode(const ReqQdeviceUnregister& m, PadFill fill = {});
Bytes encode(const ReqQdeviceUpdate& m, PadFill fill = {});
Bytes encode(const ReqQdevicePoll& m, PadFill fill = {});
Bytes encode(const ReqQdeviceMasterWins& m, PadFill fill = {});
Bytes encode(const ResStatus& m, PadFill fill = {});
Bytes encode(const ResGetInfo& m, PadFill fill = {});
Bytes encode(const ResQuorumNotification& m, PadFill fill = {});
Bytes encode(const ResExpectedVotesNotification& m, PadFill fill = {});
Bytes encode(const ResNodelistNotification& m, PadFill fill = {});
Bytes encode(const ExecNodeInfo& m, PadFill fill = {});
Bytes encode(const ExecReconfigure& m, PadFill fill = {});
Bytes encode(const ExecQdeviceReg& m, PadFill fill = {});
Bytes encode(const ExecQdeviceReconfigure& m, PadFill fill = {});

Result<ReqGetInfo, DecodeError> decode_req_getinfo(ByteView message);
Result<ReqSetExpected, DecodeError> decode_req_setexpected(ByteView message);
Result<ReqSetVotes, DecodeError> decode_req_setvotes(ByteView message);
Result<ReqTrackStart, DecodeError> decode_req_trackstart(ByteView message);
Result<ReqTrackStop, DecodeError> decode_req_trackstop(ByteView message);
Result<ReqQdeviceRegister, DecodeError> decode_req_qdevice_register(ByteView message);
Result<ReqQdeviceUnregister, DecodeError> decode_req_qdevice_unregister(ByteView message);
Result<ReqQdeviceUpdate, DecodeError> decode_req_qdevice_update(ByteView message);
Result<ReqQdevicePoll, DecodeError> decode_req_qdevice_poll(ByteView message);
Result<ReqQdeviceMasterWins, DecodeError> decode_req_qdevice_master_wins(ByteView message);
Result<ResStatus, DecodeError> decode_res_status(ByteView message);
Result<ResGetInfo, DecodeError> decode_res_getinfo(ByteView message);
Result<ResQuorumNotification, DecodeError> decode_res_quorum_notification(ByteView message);
Result<ResExpectedVotesNotification, DecodeError> decode_res_expectedvotes_notification(
    ByteView message);
Result<ResNodelistNotification, DecodeError> decode_res_nodelist_notification(ByteView message);
Result<ExecNodeInfo, DecodeError> decode_exec_nodeinfo(ByteView message);
Result<ExecReconfigure, DecodeError> decode_exec_reconfigure(ByteView message);
Result<ExecQdeviceReg, DecodeError> decode_exec_qdevice_reg(ByteView message);
Result<ExecQdeviceReconfigure, DecodeError> decode_exec_qdevice_reconfigure(ByteView message);

using Request = std::variant<ReqGetInfo, ReqSetExpected, ReqSetVotes, ReqTrackStart, ReqTrackStop,
                             ReqQdeviceRegister, ReqQdeviceUnregister, ReqQdeviceUpdate,
                             ReqQdevicePoll, ReqQdeviceMasterWins>;
using Response = std::variant<ResStatus, ResGetInfo>;
using Event =
    std::variant<ResQuorumNotification, ResExpectedVotesNotification, ResNodelistNotification>;
using Exec = std::variant<ExecNodeInfo, ExecReconfigure, ExecQdeviceReg, ExecQdeviceReconfigure>;

Result<Request, DecodeError> decode_request(ByteView message);
Result<Response, DecodeError> decode_response(ByteView message);
Result<Event, DecodeError> decode_event(ByteView message);
Result<Exec, DecodeError> decode_exec(ByteView message);
Bytes encode(const Request& m, PadFill fill = {});
Bytes encode(const Response& m, PadFill fill = {});
Bytes encode(const Event& m, PadFill fill = {});
Bytes encode(const Exec& m, PadFill fill = {});

}  // namespace totem::proto::votequorum
