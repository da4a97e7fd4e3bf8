// proto's constants and the layouts that are public against Debian's installed corosync headers
// (libcorosync-common-dev, libcpg-dev, libcmap-dev, libquorum-dev, libvotequorum-dev,
// libcfg-dev). The ipc_*.h headers are internal to corosync and not installed; their layouts
// are checked against the captures (vectors_test.cpp). What is public is checked here by the C
// compiler's own sizeof/offsetof and by the bytes our encoder writes at those offsets.
#include <catch2/catch.hpp>

#include <corosync/cfg.h>
#include <corosync/cmap.h>
#include <corosync/corotypes.h>
#include <corosync/cpg.h>
#include <corosync/quorum.h>
#include <corosync/votequorum.h>

#include <cstddef>

#include "proto/cfg.hpp"
#include "proto/cmap.hpp"
#include "proto/cpg.hpp"
#include "proto/ipc.hpp"
#include "proto/quorum.hpp"
#include "proto/votequorum.hpp"

using namespace totem;
namespace p = totem::proto;

TEST_CASE("cs_error_t values are corotypes.h's", "[proto][headers]") {
    const std::pair<p::CsError, int> values[] = {
        {p::CsError::ok, CS_OK},
        {p::CsError::err_library, CS_ERR_LIBRARY},
        {p::CsError::err_version, CS_ERR_VERSION},
        {p::CsError::err_init, CS_ERR_INIT},
        {p::CsError::err_timeout, CS_ERR_TIMEOUT},
        {p::CsError::err_try_again, CS_ERR_TRY_AGAIN},
        {p::CsError::err_invalid_param, CS_ERR_INVALID_PARAM},
        {p::CsError::err_no_memory, CS_ERR_NO_MEMORY},
        {p::CsError::err_bad_handle, CS_ERR_BAD_HANDLE},
        {p::CsError::err_busy, CS_ERR_BUSY},
        {p::CsError::err_access, CS_ERR_ACCESS},
        {p::CsError::err_not_exist, CS_ERR_NOT_EXIST},
        {p::CsError::err_name_too_long, CS_ERR_NAME_TOO_LONG},
        {p::CsError::err_exist, CS_ERR_EXIST},
        {p::CsError::err_no_space, CS_ERR_NO_SPACE},
        {p::CsError::err_interrupt, CS_ERR_INTERRUPT},
        {p::CsError::err_name_not_found, CS_ERR_NAME_NOT_FOUND},
        {p::CsError::err_no_resources, CS_ERR_NO_RESOURCES},
        {p::CsError::err_not_supported, CS_ERR_NOT_SUPPORTED},
        {p::CsError::err_bad_operation, CS_ERR_BAD_OPERATION},
        {p::CsError::err_failed_operation, CS_ERR_FAILED_OPERATION},
        {p::CsError::err_message_error, CS_ERR_MESSAGE_ERROR},
        {p::CsError::err_queue_full, CS_ERR_QUEUE_FULL},
        {p::CsError::err_queue_not_available, CS_ERR_QUEUE_NOT_AVAILABLE},
        {p::CsError::err_bad_flags, CS_ERR_BAD_FLAGS},
        {p::CsError::err_too_big, CS_ERR_TOO_BIG},
        {p::CsError::err_no_sections, CS_ERR_NO_SECTIONS},
        {p::CsError::err_context_not_found, CS_ERR_CONTEXT_NOT_FOUND},
        {p::CsError::err_too_many_groups, CS_ERR_TOO_MANY_GROUPS},
        {p::CsError::err_security, CS_ERR_SECURITY},
    };
    for (const auto& [ours, theirs] : values)
        CHECK(static_cast<int>(ours) == theirs);
    CHECK(p::mar_name_value_size == CS_MAX_NAME_LENGTH);
}

TEST_CASE("service constants are the public headers'", "[proto][headers]") {
    CHECK(p::cpg_name_max == CPG_MAX_NAME_LENGTH);
    CHECK(p::cpg::confchg_list_max == CPG_MEMBERS_MAX);
    CHECK(p::cpg::reason_join == CPG_REASON_JOIN);
    CHECK(p::cpg::reason_leave == CPG_REASON_LEAVE);
    CHECK(p::cpg::reason_nodedown == CPG_REASON_NODEDOWN);
    CHECK(p::cpg::reason_nodeup == CPG_REASON_NODEUP);
    CHECK(p::cpg::reason_procdown == CPG_REASON_PROCDOWN);
    CHECK(p::cpg::iteration_name_only == CPG_ITERATION_NAME_ONLY);
    CHECK(p::cpg::iteration_one_group == CPG_ITERATION_ONE_GROUP);
    CHECK(p::cpg::iteration_all == CPG_ITERATION_ALL);
    CHECK(p::cpg::flag_deliver_initial_totem_conf == CPG_MODEL_V1_DELIVER_INITIAL_TOTEM_CONF);
    CHECK(static_cast<int>(p::cmap::ValueType::int8) == CMAP_VALUETYPE_INT8);
    CHECK(static_cast<int>(p::cmap::ValueType::uint64) == CMAP_VALUETYPE_UINT64);
    CHECK(static_cast<int>(p::cmap::ValueType::float_) == CMAP_VALUETYPE_FLOAT);
    CHECK(static_cast<int>(p::cmap::ValueType::double_) == CMAP_VALUETYPE_DOUBLE);
    CHECK(static_cast<int>(p::cmap::ValueType::string) == CMAP_VALUETYPE_STRING);
    CHECK(static_cast<int>(p::cmap::ValueType::binary) == CMAP_VALUETYPE_BINARY);
    CHECK(p::cmap::track_add == CMAP_TRACK_ADD);
    CHECK(p::cmap::track_delete == CMAP_TRACK_DELETE);
    CHECK(p::cmap::track_modify == CMAP_TRACK_MODIFY);
    CHECK(p::cmap::track_prefix == CMAP_TRACK_PREFIX);
    CHECK(p::cmap::map_default == CMAP_MAP_DEFAULT);
    CHECK(p::cmap::map_stats == CMAP_MAP_STATS);
    CHECK(p::quorum::model_v0 == QUORUM_MODEL_V0);
    CHECK(p::quorum::model_v1 == QUORUM_MODEL_V1);
    CHECK(p::votequorum::qdevice_name_size == VOTEQUORUM_QDEVICE_MAX_NAME_LEN);
    CHECK(p::votequorum::qdevice_nodeid == VOTEQUORUM_QDEVICE_NODEID);
    CHECK(p::votequorum::nodestate_member == VOTEQUORUM_NODESTATE_MEMBER);
    CHECK(p::votequorum::nodestate_dead == VOTEQUORUM_NODESTATE_DEAD);
    CHECK(p::votequorum::nodestate_leaving == VOTEQUORUM_NODESTATE_LEAVING);
    CHECK(p::votequorum::info_twonode == VOTEQUORUM_INFO_TWONODE);
    CHECK(p::votequorum::info_quorate == VOTEQUORUM_INFO_QUORATE);
    CHECK(p::votequorum::info_qdevice_master_wins == VOTEQUORUM_INFO_QDEVICE_MASTER_WINS);
    CHECK(p::cfg::shutdown_flag_request == COROSYNC_CFG_SHUTDOWN_FLAG_REQUEST);
    CHECK(p::cfg::shutdown_flag_regardless == COROSYNC_CFG_SHUTDOWN_FLAG_REGARDLESS);
    CHECK(p::cfg::shutdown_flag_immediate == COROSYNC_CFG_SHUTDOWN_FLAG_IMMEDIATE);
    CHECK(p::cfg::node_status_v1 == CFG_NODE_STATUS_V1);
    CHECK(p::cfg::links_max == CFG_MAX_LINKS);
    CHECK(p::cfg::host_len == CFG_MAX_HOST_LEN);
}

TEST_CASE("NODESTATUSGET carries struct corosync_cfg_node_status_v1 at 24", "[proto][headers]") {
    using S = struct corosync_cfg_node_status_v1;
    using L = struct corosync_knet_link_status_v1;
    CHECK(p::response_header_size + sizeof(S) == p::cfg::res_nodestatusget_size);
    CHECK(sizeof(L) == p::cfg::link_status_size);
    p::cfg::ResNodeStatusGet m;
    m.nodeid = 0x01020304;
    m.reachable = 0x11;
    m.remote = 0x12;
    m.external = 0x13;
    m.onwire_min = 0x14;
    m.onwire_max = 0x15;
    m.onwire_ver = 0x16;
    m.links[3] = {0x21, 0x22, 0x23, 0x31323334, "s", "d"};
    const Bytes b = encode(m);
    const std::size_t at = p::response_header_size;
    CHECK(b[at + offsetof(S, version)] == 1);
    CHECK(b[at + offsetof(S, nodeid)] == 0x04);
    CHECK(b[at + offsetof(S, reachable)] == 0x11);
    CHECK(b[at + offsetof(S, remote)] == 0x12);
    CHECK(b[at + offsetof(S, external)] == 0x13);
    CHECK(b[at + offsetof(S, onwire_min)] == 0x14);
    CHECK(b[at + offsetof(S, onwire_max)] == 0x15);
    CHECK(b[at + offsetof(S, onwire_ver)] == 0x16);
    const std::size_t link = at + offsetof(S, link_status) + 3 * sizeof(L);
    CHECK(b[link + offsetof(L, enabled)] == 0x21);
    CHECK(b[link + offsetof(L, connected)] == 0x22);
    CHECK(b[link + offsetof(L, dynconnected)] == 0x23);
    CHECK(b[link + offsetof(L, mtu)] == 0x34);
    CHECK(b[link + offsetof(L, src_ipaddr)] == 's');
    CHECK(b[link + offsetof(L, dst_ipaddr)] == 'd');
}

TEST_CASE("the public name and address structs have the sizes the codecs assume",
          "[proto][headers]") {
    CHECK(sizeof(cs_name_t) == p::cs_name_size);
    CHECK(offsetof(cs_name_t, value) == 2);
    CHECK(sizeof(struct cpg_name) == 4 + CPG_MAX_NAME_LENGTH);  // unmarshalled: no padding
    CHECK(sizeof(votequorum_node_t) == 8);
    // libvotequorum copies GETINFO's reply field by field into this (same order, name @36).
    CHECK(offsetof(struct votequorum_info, qdevice_name) + p::response_header_size == 60);
}
