// One or more sample values of every proto message, with its decoder, the dispatch function
// that should pick it by id (nullptr: none does), and its fixed size (0: variable). The
// generic tests in codec_test.cpp round-trip, size-check and mutate each one. A variable-length
// message has fixed size 0 even when a sample is at its minimum length.
//
// for_each_sample(f) calls f(name, sample, &decode_x, &dispatch, fixed_size).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "tests/unit/proto/catalogue.hpp"

namespace totem::test {

inline Bytes bytes_of(std::string_view s) {
    return Bytes(s.begin(), s.end());
}

inline Bytes pattern(std::size_t n, unsigned phase = 0) {
    Bytes b(n);
    for (std::size_t k = 0; k < n; ++k)
        b[k] = static_cast<std::uint8_t>((phase + k) % 251);
    return b;
}

template <typename F>
void for_each_sample(F&& f) {
    using p::CsError;
    const std::nullptr_t none = nullptr;
    f("error_response", p::ErrorResponse{CsError::err_try_again}, &p::decode_error_response, none,
      24);

    {  // ------------------------------------------------------------------------------ cmap
        namespace c = p::cmap;
        f("cmap.ReqSet", c::ReqSet{"totem.cluster_name", 11, bytes_of("protocap")},
          &c::decode_req_set, &c::decode_request, 0);
        f("cmap.ReqSet empty value", c::ReqSet{"proto.bin", 12, {}}, &c::decode_req_set,
          &c::decode_request, 0);
        f("cmap.ReqDelete", c::ReqDelete{"proto.test.u8"}, &c::decode_req_delete,
          &c::decode_request, 280);
        f("cmap.ReqGet", c::ReqGet{"runtime.votequorum.this_node_id", 16}, &c::decode_req_get,
          &c::decode_request, 288);
        f("cmap.ReqAdjustInt", c::ReqAdjustInt{"proto.counter", -3}, &c::decode_req_adjust_int,
          &c::decode_request, 288);
        f("cmap.ReqIterInit", c::ReqIterInit{"totem."}, &c::decode_req_iter_init,
          &c::decode_request, 280);
        f("cmap.ReqIterInit all", c::ReqIterInit{""}, &c::decode_req_iter_init, &c::decode_request,
          280);
        f("cmap.ReqIterNext", c::ReqIterNext{0x1122334455667788}, &c::decode_req_iter_next,
          &c::decode_request, 24);
        f("cmap.ReqIterFinalize", c::ReqIterFinalize{0x8877665544332211},
          &c::decode_req_iter_finalize, &c::decode_request, 24);
        f("cmap.ReqTrackAdd", c::ReqTrackAdd{"proto.track.", 4 | 2 | 1 | 8, 0xdeadbeefcafe},
          &c::decode_req_track_add, &c::decode_request, 296);
        f("cmap.ReqTrackDelete", c::ReqTrackDelete{42}, &c::decode_req_track_delete,
          &c::decode_request, 24);
        f("cmap.ReqSetCurrentMap", c::ReqSetCurrentMap{c::map_stats},
          &c::decode_req_set_current_map, &c::decode_request, 24);
        f("cmap.ResSet", c::ResSet{CsError::ok}, &c::decode_res_set, &c::decode_response, 24);
        f("cmap.ResDelete", c::ResDelete{CsError::err_not_exist}, &c::decode_res_delete,
          &c::decode_response, 24);
        f("cmap.ResGet", c::ResGet{CsError::ok, 4, 6, Bytes{3, 0, 0, 0}, 16}, &c::decode_res_get,
          &c::decode_response, 0);
        f("cmap.ResGet size only", c::ResGet{CsError::ok, 9, 11, {}, 0}, &c::decode_res_get,
          &c::decode_response, 0);
        f("cmap.ResGet error", c::ResGet{CsError::err_not_exist, 0, 0, {}, 0}, &c::decode_res_get,
          &c::decode_response, 40);
        f("cmap.ResAdjustInt", c::ResAdjustInt{CsError::err_access}, &c::decode_res_adjust_int,
          &c::decode_response, 24);
        f("cmap.ResIterInit", c::ResIterInit{CsError::ok, 0x0000000100000002},
          &c::decode_res_iter_init, &c::decode_response, 32);
        f("cmap.ResIterNext", c::ResIterNext{CsError::ok, "totem.version", 4, 6},
          &c::decode_res_iter_next, &c::decode_response, 304);
        f("cmap.ResIterNext end", c::ResIterNext{CsError::err_no_sections, "", 0, 0},
          &c::decode_res_iter_next, &c::decode_response, 304);
        f("cmap.ResIterFinalize", c::ResIterFinalize{CsError::ok}, &c::decode_res_iter_finalize,
          &c::decode_response, 24);
        f("cmap.ResTrackAdd", c::ResTrackAdd{CsError::ok, 7}, &c::decode_res_track_add,
          &c::decode_response, 32);
        f("cmap.ResTrackDelete", c::ResTrackDelete{CsError::ok, 0xdeadbeefcafe},
          &c::decode_res_track_delete, &c::decode_response, 32);
        f("cmap.ResSetCurrentMap", c::ResSetCurrentMap{CsError::err_busy},
          &c::decode_res_set_current_map, &c::decode_response, 24);
        f("cmap.ResNotifyCallback",
          c::ResNotifyCallback{CsError::ok, 0xdeadbeefcafe, "proto.track.a", 2, 6, 6,
                               Bytes{2, 0, 0, 0}, Bytes{1, 0, 0, 0}},
          &c::decode_res_notify_callback, &c::decode_event, 0);
        f("cmap.ResNotifyCallback add",
          c::ResNotifyCallback{CsError::ok, 1, "a.b.c", 4, 11, 0, bytes_of("xyz"), {}},
          &c::decode_res_notify_callback, &c::decode_event, 0);
        f("cmap.ExecMcast",
          c::ExecMcast{0, {{"totem.config_version", 8, Bytes{5, 0, 0, 0, 0, 0, 0, 0}}}},
          &c::decode_exec_mcast, &c::decode_exec, 0);
        f("cmap.ExecMcast absent key", c::ExecMcast{1, {{"totem.config_version", 0, {}}}},
          &c::decode_exec_mcast, &c::decode_exec, 0);
        f("cmap.ExecMcast two items",
          c::ExecMcast{0, {{"a.b.c", 11, bytes_of("hello")}, {"x.y.z", 2, Bytes{9}}}},
          &c::decode_exec_mcast, &c::decode_exec, 0);
        f("cmap.ExecMcast no items", c::ExecMcast{0, {}}, &c::decode_exec_mcast, &c::decode_exec,
          0);
    }
    {  // ------------------------------------------------------------------------------- cfg
        namespace c = p::cfg;
        f("cfg.ReqRingStatusGet", c::ReqRingStatusGet{}, &c::decode_req_ringstatusget,
          &c::decode_request, 16);
        f("cfg.ReqRingReenable", c::ReqRingReenable{}, &c::decode_req_ringreenable,
          &c::decode_request, 16);
        f("cfg.ReqKillNode", c::ReqKillNode{2, std::string("Killed by corosync-cfgtool\0", 27)},
          &c::decode_req_killnode, &c::decode_request, 288);
        f("cfg.ReqTryShutdown", c::ReqTryShutdown{c::shutdown_flag_regardless},
          &c::decode_req_tryshutdown, &c::decode_request, 24);
        f("cfg.ReqReplyToShutdown", c::ReqReplyToShutdown{1}, &c::decode_req_replytoshutdown,
          &c::decode_request, 24);
        f("cfg.ReqGetNodeAddrs", c::ReqGetNodeAddrs{3}, &c::decode_req_get_node_addrs,
          &c::decode_request, 24);
        f("cfg.ReqLocalGet", c::ReqLocalGet{}, &c::decode_req_local_get, &c::decode_request, 16);
        f("cfg.ReqReloadConfig", c::ReqReloadConfig{}, &c::decode_req_reload_config,
          &c::decode_request, 16);
        f("cfg.ReqReopenLogFiles", c::ReqReopenLogFiles{}, &c::decode_req_reopen_log_files,
          &c::decode_request, 16);
        f("cfg.ReqNodeStatusGet", c::ReqNodeStatusGet{2, 1}, &c::decode_req_nodestatusget,
          &c::decode_request, 32);
        f("cfg.ReqTrackStart", c::ReqTrackStart{1}, &c::decode_req_trackstart, &c::decode_request,
          24);
        f("cfg.ReqTrackStop", c::ReqTrackStop{}, &c::decode_req_trackstop, &c::decode_request, 16);
        f("cfg.ResRingStatusGet",
          c::ResRingStatusGet{CsError::ok,
                              {{"0 10.201.0.1", "OK"}, {"1 10.202.0.1", "Link is down"}}},
          &c::decode_res_ringstatusget, &c::decode_response, 10272);
        f("cfg.ResRingReenable", c::ResRingReenable{CsError::err_not_supported},
          &c::decode_res_ringreenable, &c::decode_response, 24);
        f("cfg.ResTrackStart", c::ResTrackStart{CsError::ok}, &c::decode_res_trackstart,
          &c::decode_response, 24);
        f("cfg.ResTrackStop", c::ResTrackStop{CsError::ok}, &c::decode_res_trackstop,
          &c::decode_response, 24);
        f("cfg.ResKillNode", c::ResKillNode{CsError::err_not_exist}, &c::decode_res_killnode,
          &c::decode_response, 24);
        f("cfg.ResTryShutdown", c::ResTryShutdown{CsError::err_busy}, &c::decode_res_tryshutdown,
          &c::decode_response, 24);
        f("cfg.ResReplyToShutdown", c::ResReplyToShutdown{CsError::err_access},
          &c::decode_res_replytoshutdown, &c::decode_response, 24);
        f("cfg.ResReloadConfig", c::ResReloadConfig{CsError::ok}, &c::decode_res_reload_config,
          &c::decode_response, 24);
        f("cfg.ResReopenLogFiles", c::ResReopenLogFiles{CsError::ok},
          &c::decode_res_reopen_log_files, &c::decode_response, 24);
        f("cfg.ResGetNodeAddrs",
          c::ResGetNodeAddrs{CsError::ok,
                             2,
                             {{10, 201, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
                              {10, 202, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}}},
          &c::decode_res_get_node_addrs, &c::decode_response, 0);
        f("cfg.ResGetNodeAddrs error", c::ResGetNodeAddrs{CsError::err_not_exist, 0, {}},
          &c::decode_res_get_node_addrs, &c::decode_response, 32);
        f("cfg.ResLocalGet", c::ResLocalGet{CsError::ok, 1}, &c::decode_res_local_get,
          &c::decode_response, 32);
        c::ResNodeStatusGet status;
        status.nodeid = 2;
        status.reachable = 1;
        status.onwire_min = 1;
        status.onwire_max = 2;
        status.onwire_ver = 2;
        status.links[0] = {1, 1, 0, 1397, "10.201.0.1", "10.201.0.2"};
        status.links[7] = {1, 0, 1, 65536, "fe80::1", "fe80::2"};
        f("cfg.ResNodeStatusGet", status, &c::decode_res_nodestatusget, &c::decode_response, 4200);
        c::ResNodeStatusGet status_error;
        status_error.error = CsError::err_failed_operation;
        f("cfg.ResNodeStatusGet error", status_error, &c::decode_res_nodestatusget,
          &c::decode_response, 32);
        f("cfg.ResTestShutdown", c::ResTestShutdown{CsError::err_timeout, 1},
          &c::decode_res_testshutdown, &c::decode_event, 32);
        f("cfg.ExecRingReenable", c::ExecRingReenable{{3, 0x55d0c0ffee00}},
          &c::decode_exec_ringreenable, &c::decode_exec, 32);
        f("cfg.ExecKillNode", c::ExecKillNode{2, std::string("Killed by corosync-cfgtool\0", 27)},
          &c::decode_exec_killnode, &c::decode_exec, 288);
        f("cfg.ExecShutdown", c::ExecShutdown{}, &c::decode_exec_shutdown, &c::decode_exec, 16);
        f("cfg.ExecReloadConfig", c::ExecReloadConfig{{1, 0x7f0012345678}},
          &c::decode_exec_reload_config, &c::decode_exec, 32);
        f("cfg.ExecCryptoReconfig", c::ExecCryptoReconfig{c::crypto_reconfig_cleanup},
          &c::decode_exec_crypto_reconfig, &c::decode_exec, 24);
    }
    {  // ------------------------------------------------------------------------------- cpg
        namespace c = p::cpg;
        const std::string pacemaker_name("pacemakerd\0", 11);  // Pacemaker counts its NUL
        f("cpg.ReqJoin", c::ReqJoin{"proto-group", 1234, c::flag_deliver_initial_totem_conf},
          &c::decode_req_join, &c::decode_request, 168);
        f("cpg.ReqJoin longest name", c::ReqJoin{std::string(128, 'g'), 1, 0}, &c::decode_req_join,
          &c::decode_request, 168);
        f("cpg.ReqLeave", c::ReqLeave{pacemaker_name, 99}, &c::decode_req_leave, &c::decode_request,
          160);
        f("cpg.ReqMcast", c::ReqMcast{2, bytes_of("hello from cpg-client")}, &c::decode_req_mcast,
          &c::decode_request, 0);
        f("cpg.ReqMembershipGet", c::ReqMembershipGet{"proto-group"}, &c::decode_req_membership,
          &c::decode_request, 152);
        f("cpg.ReqLocalGet", c::ReqLocalGet{}, &c::decode_req_local_get, &c::decode_request, 16);
        f("cpg.ReqIterationInitialize one group",
          c::ReqIterationInitialize{"proto-group", c::iteration_one_group},
          &c::decode_req_iterationinitialize, &c::decode_request, 160);
        f("cpg.ReqIterationInitialize all", c::ReqIterationInitialize{"", c::iteration_all},
          &c::decode_req_iterationinitialize, &c::decode_request, 160);
        f("cpg.ReqIterationNext", c::ReqIterationNext{0x448c160000000000},
          &c::decode_req_iterationnext, &c::decode_request, 24);
        f("cpg.ReqIterationFinalize", c::ReqIterationFinalize{0x448c160000000000},
          &c::decode_req_iterationfinalize, &c::decode_request, 24);
        f("cpg.ReqFinalize", c::ReqFinalize{}, &c::decode_req_finalize, &c::decode_request, 16);
        f("cpg.ReqZcAlloc", c::ReqZcAlloc{1 << 20, "/dev/shm/corosync_zerocopy-AbC123"},
          &c::decode_req_zc_alloc, &c::decode_request, 152);
        f("cpg.ReqZcFree", c::ReqZcFree{1 << 20, 0x7f1234560000}, &c::decode_req_zc_free,
          &c::decode_request, 32);
        f("cpg.ReqZcExecute", c::ReqZcExecute{0x7f1234560000}, &c::decode_req_zc_execute,
          &c::decode_request, 24);
        f("cpg.ReqPartialMcast", c::ReqPartialMcast{2, 1048552, c::partial_first, pattern(5000)},
          &c::decode_req_partial_mcast, &c::decode_request, 0);
        f("cpg.ResJoin", c::ResJoin{CsError::err_exist}, &c::decode_res_join, &c::decode_response,
          24);
        f("cpg.ResLeave", c::ResLeave{CsError::ok}, &c::decode_res_leave, &c::decode_response, 24);
        f("cpg.ResMcast", c::ResMcast{CsError::ok}, &c::decode_res_mcast, &c::decode_response, 24);
        f("cpg.ResIterationFinalize", c::ResIterationFinalize{CsError::ok},
          &c::decode_res_iterationfinalize, &c::decode_response, 24);
        f("cpg.ResFinalize", c::ResFinalize{CsError::ok}, &c::decode_res_finalize,
          &c::decode_response, 24);
        f("cpg.ResPartialSend", c::ResPartialSend{CsError::err_interrupt},
          &c::decode_res_partial_send, &c::decode_response, 24);
        f("cpg.ResZcAlloc", c::ResZcAlloc{CsError::ok}, &c::decode_res_zc_alloc, none, 24);
        f("cpg.ResZcFree", c::ResZcFree{CsError::ok}, &c::decode_res_zc_free, none, 24);
        f("cpg.ResLocalGet", c::ResLocalGet{CsError::ok, 3}, &c::decode_res_local_get,
          &c::decode_response, 32);
        f("cpg.ResMembershipGet", c::ResMembershipGet{CsError::ok, {{1, 14291, 0}, {2, 14229, 0}}},
          &c::decode_res_membership, &c::decode_response, 9248);
        f("cpg.ResIterationInitialize", c::ResIterationInitialize{CsError::ok, 0x448c160000000000},
          &c::decode_res_iterationinitialize, &c::decode_response, 32);
        f("cpg.ResIterationNext", c::ResIterationNext{CsError::ok, "proto-group", 2, 14229},
          &c::decode_res_iterationnext, &c::decode_response, 168);
        f("cpg.ResIterationNext end", c::ResIterationNext{CsError::err_no_sections, "", 0, 0},
          &c::decode_res_iterationnext, &c::decode_response, 168);
        f("cpg.ResDeliverCallback",
          c::ResDeliverCallback{CsError::ok, "proto-group", 1, 14291, bytes_of("hello")},
          &c::decode_res_deliver_callback, &c::decode_event, 0);
        f("cpg.ResPartialDeliverCallback",
          c::ResPartialDeliverCallback{CsError::ok, "proto-group", 1048552, 1, 14291,
                                       c::partial_last, pattern(1000, 5)},
          &c::decode_res_partial_deliver_callback, &c::decode_event, 0);
        f("cpg.ResConfchgCallback",
          c::ResConfchgCallback{CsError::ok,
                                "proto-group",
                                {{1, 10, 0}, {2, 20, 0}},
                                {{3, 30, c::reason_nodedown}},
                                {{2, 20, c::reason_join}}},
          &c::decode_res_confchg_callback, &c::decode_event, 0);
        f("cpg.ResTotemConfchgCallback", c::ResTotemConfchgCallback{CsError::ok, {1, 9}, {1, 2, 3}},
          &c::decode_res_totem_confchg_callback, &c::decode_event, 0);
        f("cpg.ResTotemConfchgCallback empty", c::ResTotemConfchgCallback{CsError::ok, {4, 2}, {}},
          &c::decode_res_totem_confchg_callback, &c::decode_event, 0);
        f("cpg.ExecProcJoin", c::ExecProcJoin{"proto-group", 14229, c::reason_join},
          &c::decode_exec_procjoin, &c::decode_exec, 168);
        f("cpg.ExecProcLeave", c::ExecProcLeave{pacemaker_name, 14291, c::reason_procdown},
          &c::decode_exec_procleave, &c::decode_exec, 168);
        f("cpg.ExecJoinlist", c::ExecJoinlist{{{15987, "proto-sync"}, {16020, "proto-group"}}},
          &c::decode_exec_joinlist, &c::decode_exec, 0);
        f("cpg.ExecJoinlist empty", c::ExecJoinlist{}, &c::decode_exec_joinlist, &c::decode_exec,
          0);
        f("cpg.ExecMcast",
          c::ExecMcast{"proto-group", 14291, {1, 0x5604c0ffee00}, bytes_of("hello from cpg")},
          &c::decode_exec_mcast, &c::decode_exec, 0);
        f("cpg.ExecDownlistOld", c::ExecDownlistOld{{2, 3}}, &c::decode_exec_downlist_old,
          &c::decode_exec, 1560);
        f("cpg.ExecDownlist", c::ExecDownlist{3, {3}}, &c::decode_exec_downlist, &c::decode_exec,
          1568);
        f("cpg.ExecPartialMcast",
          c::ExecPartialMcast{"proto-group",
                              1048552,
                              14291,
                              c::partial_continued,
                              {1, 0x5604c0ffee00},
                              pattern(3000, 7)},
          &c::decode_exec_partial_mcast, &c::decode_exec, 0);
    }
    {  // ---------------------------------------------------------------------------- quorum
        namespace q = p::quorum;
        f("quorum.ReqGetQuorate", q::ReqGetQuorate{}, &q::decode_req_getquorate, &q::decode_request,
          16);
        f("quorum.ReqTrackStart", q::ReqTrackStart{3}, &q::decode_req_trackstart,
          &q::decode_request, 24);
        f("quorum.ReqTrackStop", q::ReqTrackStop{}, &q::decode_req_trackstop, &q::decode_request,
          16);
        f("quorum.ReqGetType", q::ReqGetType{}, &q::decode_req_gettype, &q::decode_request, 16);
        f("quorum.ReqModelGetType", q::ReqModelGetType{q::model_v1}, &q::decode_req_model_gettype,
          &q::decode_request, 24);
        f("quorum.ResGetQuorate", q::ResGetQuorate{CsError::ok, 1}, &q::decode_res_getquorate,
          &q::decode_response, 32);
        f("quorum.ResTrackStart", q::ResTrackStart{CsError::err_exist}, &q::decode_res_trackstart,
          &q::decode_response, 24);
        f("quorum.ResTrackStop", q::ResTrackStop{CsError::ok}, &q::decode_res_trackstop,
          &q::decode_response, 24);
        f("quorum.ResGetType", q::ResGetType{CsError::ok, q::quorum_set}, &q::decode_res_gettype,
          &q::decode_response, 32);
        f("quorum.ResModelGetType", q::ResModelGetType{CsError::ok, q::quorum_set},
          &q::decode_res_model_gettype, &q::decode_response, 32);
        f("quorum.ResModelGetType error", q::ResModelGetType{CsError::err_invalid_param, 0},
          &q::decode_res_model_gettype, &q::decode_response, 32);
        f("quorum.ResNotification", q::ResNotification{CsError::ok, 1, 9, {1, 2, 3}},
          &q::decode_res_notification, &q::decode_event, 0);
        f("quorum.ResV1QuorumNotification",
          q::ResV1QuorumNotification{CsError::ok, 1, {1, 9}, {1, 2}},
          &q::decode_res_v1_quorum_notification, &q::decode_event, 0);
        f("quorum.ResV1NodelistNotification",
          q::ResV1NodelistNotification{CsError::ok, {1, 0x1c}, {1, 2}, {2}, {3}},
          &q::decode_res_v1_nodelist_notification, &q::decode_event, 0);
    }
    {  // ------------------------------------------------------------------------ votequorum
        namespace v = p::votequorum;
        f("votequorum.ReqGetInfo", v::ReqGetInfo{-1}, &v::decode_req_getinfo, &v::decode_request,
          24);
        f("votequorum.ReqSetExpected", v::ReqSetExpected{3}, &v::decode_req_setexpected,
          &v::decode_request, 24);
        f("votequorum.ReqSetVotes", v::ReqSetVotes{2, 3}, &v::decode_req_setvotes,
          &v::decode_request, 24);
        f("votequorum.ReqTrackStart", v::ReqTrackStart{0x1122334455667788, 3},
          &v::decode_req_trackstart, &v::decode_request, 32);
        f("votequorum.ReqTrackStop", v::ReqTrackStop{}, &v::decode_req_trackstop,
          &v::decode_request, 16);
        f("votequorum.ReqQdeviceRegister", v::ReqQdeviceRegister{"Qdevice"},
          &v::decode_req_qdevice_register, &v::decode_request, 272);
        f("votequorum.ReqQdeviceRegister longest", v::ReqQdeviceRegister{std::string(254, 'q')},
          &v::decode_req_qdevice_register, &v::decode_request, 272);
        f("votequorum.ReqQdeviceUnregister", v::ReqQdeviceUnregister{"Qdevice"},
          &v::decode_req_qdevice_unregister, &v::decode_request, 272);
        f("votequorum.ReqQdeviceUpdate", v::ReqQdeviceUpdate{"Qdevice", "Qdevice2"},
          &v::decode_req_qdevice_update, &v::decode_request, 528);
        f("votequorum.ReqQdevicePoll", v::ReqQdevicePoll{"Qdevice", 1, {1, 0x1c}},
          &v::decode_req_qdevice_poll, &v::decode_request, 296);
        f("votequorum.ReqQdeviceMasterWins", v::ReqQdeviceMasterWins{"Qdevice", 1},
          &v::decode_req_qdevice_master_wins, &v::decode_request, 280);
        f("votequorum.ResStatus", v::ResStatus{CsError::err_name_not_found}, &v::decode_res_status,
          &v::decode_response, 24);
        f("votequorum.ResGetInfo",
          v::ResGetInfo{CsError::ok, 2, 1, 1, 3, 3, 3, 2, 2 | 64 | 128, 1, "Qdevice"},
          &v::decode_res_getinfo, &v::decode_response, 320);
        f("votequorum.ResGetInfo error", v::ResGetInfo{CsError::err_not_exist},
          &v::decode_res_getinfo, &v::decode_response, 320);
        f("votequorum.ResQuorumNotification",
          v::ResQuorumNotification{CsError::ok, 1, 0x1122334455667788, {{0, 1}, {1, 1}, {3, 2}}},
          &v::decode_res_quorum_notification, &v::decode_event, 0);
        f("votequorum.ResExpectedVotesNotification",
          v::ResExpectedVotesNotification{CsError::ok, 0x1122334455667788, 3},
          &v::decode_res_expectedvotes_notification, &v::decode_event, 40);
        f("votequorum.ResNodelistNotification",
          v::ResNodelistNotification{CsError::ok, 7, {1, 9}, {1, 2, 3}},
          &v::decode_res_nodelist_notification, &v::decode_event, 0);
        f("votequorum.ExecNodeInfo", v::ExecNodeInfo{1, 1, 3, v::node_flag_quorate},
          &v::decode_exec_nodeinfo, &v::decode_exec, 32);
        f("votequorum.ExecReconfigure", v::ExecReconfigure{2, 1, v::reconfig_param_node_votes},
          &v::decode_exec_reconfigure, &v::decode_exec, 32);
        f("votequorum.ExecQdeviceReg", v::ExecQdeviceReg{1, "Qdevice"}, &v::decode_exec_qdevice_reg,
          &v::decode_exec, 280);
        f("votequorum.ExecQdeviceReconfigure", v::ExecQdeviceReconfigure{"Qdevice", "Qdevice2"},
          &v::decode_exec_qdevice_reconfigure, &v::decode_exec, 528);
    }
    {  // ----------------------------------------------------------------------- pload, sync
        f("pload.ExecStart", p::pload::ExecStart{3, 64}, &p::pload::decode_exec_start,
          &p::pload::decode_exec, 24);
        f("pload.ExecMcast", p::pload::ExecMcast{64, pattern(48)}, &p::pload::decode_exec_mcast,
          &p::pload::decode_exec, 0);
        f("pload.ExecMcast small", p::pload::ExecMcast{10, {}}, &p::pload::decode_exec_mcast,
          &p::pload::decode_exec, 0);
        f("sync.Barrier", p::sync::Barrier{{1, 0x11}}, &p::sync::decode_barrier, &p::sync::decode,
          32);
        f("sync.ServiceBuild", p::sync::ServiceBuild{{1, 0x11}, {0, 2, 3, 5}},
          &p::sync::decode_service_build, &p::sync::decode, 552);
        f("sync.ServiceBuild full",
          p::sync::ServiceBuild{{7, 1}, std::vector<std::int32_t>(128, 9)},
          &p::sync::decode_service_build, &p::sync::decode, 552);
    }
}

}  // namespace totem::test
