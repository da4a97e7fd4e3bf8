// CFG (service `cfg`, id 1): IPC requests, responses, the TESTSHUTDOWN event, and the exec
// messages (shared/spec/services-and-ipc.md A3.5, B2.4; include/corosync/ipc_cfg.h, cfg.h,
// exec/cfg.c). ReqX = struct req_lib_cfg_x, ResX = struct res_lib_cfg_x,
// ExecX = struct req_exec_cfg_x.
//
// Several requests are not aligned(8) after the header: TRYSHUTDOWN flags, REPLYTOSHUTDOWN
// response, GET_NODE_ADDRS nodeid are u32 @16, TRACKSTART's flags a u8 @16 (each padded to 24);
// GET_NODE_ADDRS reply: family @24, num_addrs @28, addresses @32; the KILLNODE request's reason
// is a cs_name_t (value @26), the exec KILLNODE's a mar_name_t (value @32).
//
// A response whose error is not CS_OK is written as its header and padding and decoded to its
// error only (corosync leaves the rest
// stale: GET_NODE_ADDRS for an unknown node keeps family 2 and num_addrs 1 in a 32-byte reply).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "common/bytes.hpp"
#include "common/result.hpp"
#include "proto/exec.hpp"
#include "proto/ipc.hpp"
#include "proto/mar.hpp"

namespace totem::proto::cfg {

enum class ReqId : std::int32_t {
    ringstatusget = 0,
    ringreenable = 1,
    killnode = 2,
    tryshutdown = 3,
    replytoshutdown = 4,
    get_node_addrs = 5,
    local_get = 6,
    reload_config = 7,
    reopen_log_files = 8,
    nodestatusget = 9,
    trackstart = 10,
    trackstop = 11,
};
enum class ResId : std::int32_t {
    ringstatusget = 0,
    ringreenable = 1,
    statetrackstart = 2,
    statetrackstop = 3,
    administrativestateset = 4,  // unused by 3.1.7
    administrativestateget = 5,  // unused
    serviceload = 6,             // unused
    serviceunload = 7,           // unused
    killnode = 8,
    tryshutdown = 9,
    testshutdown = 10,  // event
    get_node_addrs = 11,
    local_get = 12,
    replytoshutdown = 13,
    reload_config = 14,
    reopen_log_files = 15,
    nodestatusget = 16,
};

inline constexpr std::uint32_t shutdown_flag_request = 0;
inline constexpr std::uint32_t shutdown_flag_regardless = 1;
inline constexpr std::uint32_t shutdown_flag_immediate = 2;
inline constexpr std::uint32_t node_status_v1 = 1;  // CFG_NODE_STATUS_V1
inline constexpr std::uint32_t crypto_reconfig_activate = 1;
inline constexpr std::uint32_t crypto_reconfig_cleanup = 2;

inline constexpr std::size_t interfaces_max = 16;        // CFG_MAX_INTERFACES
inline constexpr std::size_t interface_name_size = 128;  // CFG_INTERFACE_NAME_MAX_LEN
inline constexpr std::size_t interface_status_size = 512;
inline constexpr std::size_t links_max = 8;       // CFG_MAX_LINKS (KNET_MAX_LINK)
inline constexpr std::size_t host_len = 256;      // CFG_MAX_HOST_LEN
inline constexpr std::size_t addr_len = 16;       // TOTEMIP_ADDRLEN
inline constexpr std::size_t node_addrs_max = 8;  // INTERFACE_MAX

inline constexpr std::size_t req_bare_size = 16;
inline constexpr std::size_t req_killnode_size = 288;
inline constexpr std::size_t req_u32_size = 24;  // TRYSHUTDOWN, REPLYTOSHUTDOWN, GET_NODE_ADDRS
inline constexpr std::size_t req_nodestatusget_size = 32;
inline constexpr std::size_t req_trackstart_size = 24;
inline constexpr std::size_t res_ringstatusget_size = 10272;
inline constexpr std::size_t res_get_node_addrs_fixed_size = 32;
inline constexpr std::size_t res_local_get_size = 32;
inline constexpr std::size_t res_nodestatusget_size = 4200;
inline constexpr std::size_t res_nodestatusget_error_size = 32;
inline constexpr std::size_t link_status_size = 520;
inline constexpr std::size_t res_testshutdown_size = 32;
inline constexpr std::size_t exec_source_size = 32;  // RINGREENABLE, RELOAD_CONFIG
inline constexpr std::size_t exec_killnode_size = 288;
inline constexpr std::size_t exec_shutdown_size = 16;
inline constexpr std::size_t exec_crypto_reconfig_size = 24;

// ---------------------------------------------------------------------------------- requests

struct ReqRingStatusGet {  // 0, 16
    bool operator==(const ReqRingStatusGet&) const = default;
};
struct ReqRingReenable {  // 1, 16
    bool operator==(const ReqRingReenable&) const = default;
};
// KILLNODE (2), 288: nodeid u32 @16; reason cs_name_t @24 (length u16 @24, value @26).
struct ReqKillNode {
    std::uint32_t nodeid = 0;
    std::string reason{};  // the `length` bytes; libcfg counts the terminating NUL
    bool operator==(const ReqKillNode&) const = default;
};
// TRYSHUTDOWN (3), 24: flags u32 @16.
struct ReqTryShutdown {
    std::uint32_t flags = 0;
    bool operator==(const ReqTryShutdown&) const = default;
};
// REPLYTOSHUTDOWN (4), 24: response u32 @16 (0 no, 1 yes).
struct ReqReplyToShutdown {
    std::uint32_t response = 0;
    bool operator==(const ReqReplyToShutdown&) const = default;
};
// GET_NODE_ADDRS (5), 24: nodeid u32 @16 (0 = this node).
struct ReqGetNodeAddrs {
    std::uint32_t nodeid = 0;
    bool operator==(const ReqGetNodeAddrs&) const = default;
};
struct ReqLocalGet {  // 6, 16
    bool operator==(const ReqLocalGet&) const = default;
};
struct ReqReloadConfig {  // 7, 16
    bool operator==(const ReqReloadConfig&) const = default;
};
struct ReqReopenLogFiles {  // 8, 16
    bool operator==(const ReqReopenLogFiles&) const = default;
};
// NODESTATUSGET (9), 32: nodeid u32 @16; version u32 @24.
struct ReqNodeStatusGet {
    std::uint32_t nodeid = 0;
    std::uint32_t version = node_status_v1;
    bool operator==(const ReqNodeStatusGet&) const = default;
};
// TRACKSTART (10), 24: track_flags u8 @16 (ignored by the server).
struct ReqTrackStart {
    std::uint8_t track_flags = 0;
    bool operator==(const ReqTrackStart&) const = default;
};
struct ReqTrackStop {  // 11, 16
    bool operator==(const ReqTrackStop&) const = default;
};

// --------------------------------------------------------------------------------- responses

struct Interface {
    std::string name{};    // "<link number> <address>", a C string in char[128]
    std::string status{};  // the transport's status line, a C string in char[512]
    bool operator==(const Interface&) const = default;
};
// RINGSTATUSGET (0), 10 272: interface_count u32 @24; interface_name char[16][128] @32;
// interface_status char[16][512] @2080.
struct ResRingStatusGet {
    CsError error = CsError::ok;
    std::vector<Interface> interfaces{};  // at most interfaces_max
    bool operator==(const ResRingStatusGet&) const = default;
};
// The bare Hdr24 replies: RINGREENABLE (1, always CS_ERR_NOT_SUPPORTED), STATETRACKSTART (2,
// the TRACKSTART reply), STATETRACKSTOP (3), KILLNODE (8), TRYSHUTDOWN (9), REPLYTOSHUTDOWN
// (13), RELOAD_CONFIG (14), REOPEN_LOG_FILES (15).
struct ResRingReenable {
    CsError error = CsError::ok;
    bool operator==(const ResRingReenable&) const = default;
};
struct ResTrackStart {
    CsError error = CsError::ok;
    bool operator==(const ResTrackStart&) const = default;
};
struct ResTrackStop {
    CsError error = CsError::ok;
    bool operator==(const ResTrackStop&) const = default;
};
struct ResKillNode {
    CsError error = CsError::ok;
    bool operator==(const ResKillNode&) const = default;
};
struct ResTryShutdown {
    CsError error = CsError::ok;
    bool operator==(const ResTryShutdown&) const = default;
};
struct ResReplyToShutdown {
    CsError error = CsError::ok;
    bool operator==(const ResReplyToShutdown&) const = default;
};
struct ResReloadConfig {
    CsError error = CsError::ok;
    bool operator==(const ResReloadConfig&) const = default;
};
struct ResReopenLogFiles {
    CsError error = CsError::ok;
    bool operator==(const ResReopenLogFiles&) const = default;
};
// GET_NODE_ADDRS (11), 32 + 16n: family u32 @24 (AF_INET 2 / AF_INET6 10); num_addrs u32
// @28; addresses @32, 16 raw bytes each (IPv4 in the first 4). An error reply is 32 bytes.
struct ResGetNodeAddrs {
    CsError error = CsError::ok;
    std::uint32_t family = 0;
    std::vector<std::array<std::uint8_t, addr_len>> addrs{};  // at most node_addrs_max
    bool operator==(const ResGetNodeAddrs&) const = default;
};
// LOCAL_GET (12), 32: local_nodeid u32 @24.
struct ResLocalGet {
    CsError error = CsError::ok;
    std::uint32_t local_nodeid = 0;
    bool operator==(const ResLocalGet&) const = default;
};
// struct corosync_knet_link_status_v1, 520 bytes: enabled u8 @0, connected u8 @1,
// dynconnected u8 @2, mtu u32 @4, src_ipaddr char[256] @8, dst_ipaddr char[256] @264.
struct LinkStatus {
    std::uint8_t enabled = 0;
    std::uint8_t connected = 0;
    std::uint8_t dynconnected = 0;
    std::uint32_t mtu = 0;
    std::string src_ipaddr{};
    std::string dst_ipaddr{};
    bool operator==(const LinkStatus&) const = default;
};
// NODESTATUSGET (16), V1: 4 200 bytes: version u32 @24; nodeid u32 @28; reachable @32,
// remote @33, external @34, onwire_min @35, onwire_max @36, onwire_ver @37 (u8 each);
// link_status[8] @40. An error reply (unknown node with knet, unsupported version) is 32
// bytes: Hdr24 and version u32 @24.
struct ResNodeStatusGet {
    CsError error = CsError::ok;
    std::uint32_t version = node_status_v1;
    std::uint32_t nodeid = 0;
    std::uint8_t reachable = 0;
    std::uint8_t remote = 0;
    std::uint8_t external = 0;
    std::uint8_t onwire_min = 0;
    std::uint8_t onwire_max = 0;
    std::uint8_t onwire_ver = 0;
    std::array<LinkStatus, links_max> links{};
    bool operator==(const ResNodeStatusGet&) const = default;
};

// ------------------------------------------------------------------------------------ event

// TESTSHUTDOWN (10), 32: flags u32 @24 (the shutdown flags); error CS_OK, or CS_ERR_TIMEOUT on
// the "shutdown timed out" broadcast.
struct ResTestShutdown {
    CsError error = CsError::ok;
    std::uint32_t flags = 0;
    bool operator==(const ResTestShutdown&) const = default;
};

// ------------------------------------------------------------------------------------- exec

// RINGREENABLE (fn 0), 32: source @16. Never sent by 3.1.7.
struct ExecRingReenable {
    MessageSource source{};
    bool operator==(const ExecRingReenable&) const = default;
};
// KILLNODE (fn 1), 288: nodeid u32 @16; reason mar_name_t @24 (length u16 @24, value @32).
struct ExecKillNode {
    std::uint32_t nodeid = 0;
    std::string reason{};  // the `length` bytes, as the client gave them
    bool operator==(const ExecKillNode&) const = default;
};
// SHUTDOWN (fn 2), 16.
struct ExecShutdown {
    bool operator==(const ExecShutdown&) const = default;
};
// RELOAD_CONFIG (fn 3), 32: source @16 (nodeid and the client's connection to answer).
struct ExecReloadConfig {
    MessageSource source{};
    bool operator==(const ExecReloadConfig&) const = default;
};
// CRYPTO_RECONFIG (fn 4), 24: phase u32 @16 (1 ACTIVATE, 2 CLEANUP).
struct ExecCryptoReconfig {
    std::uint32_t phase = 0;
    bool operator==(const ExecCryptoReconfig&) const = default;
};

// ------------------------------------------------------------------------------------ codec

Bytes encode(const ReqRingStatusGet& m, PadFill fill = {});
Bytes encode(const ReqRingReenable& m, PadFill fill = {});
Bytes encode(const ReqKillNode& m, PadFill fill = {});
Bytes encode(const ReqTryShutdown& m, PadFill fill = {});
Bytes encode(const ReqReplyToShutdown& m, PadFill fill = {});
Bytes encode(const ReqGetNodeAddrs& m, PadFill fill = {});
Bytes encode(const ReqLocalGet& m, PadFill fill = {});
Bytes encode(const ReqReloadConfig& m, PadFill fill = {});
Bytes encode(const ReqReopenLogFiles& m, PadFill fill = {});
Bytes encode(const ReqNodeStatusGet& m, PadFill fill = {});
Bytes encode(const ReqTrackStart& m, PadFill fill = {});
Bytes encode(const ReqTrackStop& m, PadFill fill = {});
Bytes encode(const ResRingStatusGet& m, PadFill fill = {});
Bytes encode(const ResRingReenable& m, PadFill fill = {});
Bytes encode(const ResTrackStart& m, PadFill fill = {});
Bytes encode(const ResTrackStop& m, PadFill fill = {});
Bytes encode(const ResKillNode& m, PadFill fill = {});
Bytes encode(const ResTryShutdown& m, PadFill fill = {});
Bytes encode(const ResReplyToShutdown& m, PadFill fill = {});
Bytes encode(const ResReloadConfig& m, PadFill fill = {});
Bytes encode(const ResReopenLogFiles& m, PadFill fill = {});
Bytes encode(const ResGetNodeAddrs& m, PadFill fill = {});
Bytes encode(const ResLocalGet& m, PadFill fill = {});
Bytes encode(const ResNodeStatusGet& m, PadFill fill = {});
Bytes encode(const ResTestShutdown& m, PadFill fill = {});
Bytes encode(const ExecRingReenable& m, PadFill fill = {});
Bytes encode(const ExecKillNode& m, PadFill fill = {});
Bytes encode(const ExecShutdown& m, PadFill fill = {});
Bytes encode(const ExecReloadConfig& m, PadFill fill = {});
Bytes encode(const ExecCryptoReconfig& m, PadFill fill = {});

Result<ReqRingStatusGet, DecodeError> decode_req_ringstatusget(ByteView message);
Result<ReqRingReenable, DecodeError> decode_req_ringreenable(ByteView message);
Result<ReqKillNode, DecodeError> decode_req_killnode(ByteView message);
Result<ReqTryShutdown, DecodeError> decode_req_tryshutdown(ByteView message);
Result<ReqReplyToShutdown, DecodeError> decode_req_replytoshutdown(ByteView message);
Result<ReqGetNodeAddrs, DecodeError> decode_req_get_node_addrs(ByteView message);
Result<ReqLocalGet, DecodeError> decode_req_local_get(ByteView message);
Result<ReqReloadConfig, DecodeError> decode_req_reload_config(ByteView message);
Result<ReqReopenLogFiles, DecodeError> decode_req_reopen_log_files(ByteView message);
Result<ReqNodeStatusGet, DecodeError> decode_req_nodestatusget(ByteView message);
Result<ReqTrackStart, DecodeError> decode_req_trackstart(ByteView message);
Result<ReqTrackStop, DecodeError> decode_req_trackstop(ByteView message);
Result<ResRingStatusGet, DecodeError> decode_res_ringstatusget(ByteView message);
Result<ResRingReenable, DecodeError> decode_res_ringreenable(ByteView message);
Result<ResTrackStart, DecodeError> decode_res_trackstart(ByteView message);
Result<ResTrackStop, DecodeError> decode_res_trackstop(ByteView message);
Result<ResKillNode, DecodeError> decode_res_killnode(ByteView message);
Result<ResTryShutdown, DecodeError> decode_res_tryshutdown(ByteView message);
Result<ResReplyToShutdown, DecodeError> decode_res_replytoshutdown(ByteView message);
Result<ResReloadConfig, DecodeError> decode_res_reload_config(ByteView message);
Result<ResReopenLogFiles, DecodeError> decode_res_reopen_log_files(ByteView message);
Result<ResGetNodeAddrs, DecodeError> decode_res_get_node_addrs(ByteView message);
Result<ResLocalGet, DecodeError> decode_res_local_get(ByteView message);
Result<ResNodeStatusGet, DecodeError> decode_res_nodestatusget(ByteView message);
Result<ResTestShutdown, DecodeError> decode_res_testshutdown(ByteView message);
Result<ExecRingReenable, DecodeError> decode_exec_ringreenable(ByteView message);
Result<ExecKillNode, DecodeError> decode_exec_killnode(ByteView message);
Result<ExecShutdown, DecodeError> decode_exec_shutdown(ByteView message);
Result<ExecReloadConfig, DecodeError> decode_exec_reload_config(ByteView message);
Result<ExecCryptoReconfig, DecodeError> decode_exec_crypto_reconfig(ByteView message);

using Request = std::variant<ReqRingStatusGet, ReqRingReenable, ReqKillNode, ReqTryShutdown,
                             ReqReplyToShutdown, ReqGetNodeAddrs, ReqLocalGet, ReqReloadConfig,
                             ReqReopenLogFiles, ReqNodeStatusGet, ReqTrackStart, ReqTrackStop>;
using Response = std::variant<ResRingStatusGet, ResRingReenable, ResTrackStart, ResTrackStop,
                              ResKillNode, ResTryShutdown, ResReplyToShutdown, ResReloadConfig,
                              ResReopenLogFiles, ResGetNodeAddrs, ResLocalGet, ResNodeStatusGet>;
using Event = std::variant<ResTestShutdown>;
using Exec = std::variant<ExecRingReenable, ExecKillNode, ExecShutdown, ExecReloadConfig,
                          ExecCryptoReconfig>;

Result<Request, DecodeError> decode_request(ByteView message);
Result<Response, DecodeError> decode_response(ByteView message);
Result<Event, DecodeError> decode_event(ByteView message);
Result<Exec, DecodeError> decode_exec(ByteView message);
Bytes encode(const Request& m, PadFill fill = {});
Bytes encode(const Response& m, PadFill fill = {});
Bytes encode(const Event& m, PadFill fill = {});
Bytes encode(const Exec& m, PadFill fill = {});

}  // namespace totem::proto::cfg
