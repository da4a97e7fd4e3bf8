// Every proto decoder, for the golden-vector test and the two fuzz targets.
//
// for_each_ipc_decoder(f) / for_each_exec_decoder(f) call f(name, &decode_x) once per
// decoder: the per-message ones and each service's dispatch by id. decode_any() picks the
// dispatch function a captured message goes to by its direction and service.
#pragma once

#include <string_view>
#include <variant>

#include "proto/cfg.hpp"
#include "proto/cmap.hpp"
#include "proto/cpg.hpp"
#include "proto/ipc.hpp"
#include "proto/pload.hpp"
#include "proto/quorum.hpp"
#include "proto/sync.hpp"
#include "proto/votequorum.hpp"

namespace totem::test {

namespace p = totem::proto;

template <typename F>
void for_each_ipc_decoder(F&& f) {
    f("error_response", &p::decode_error_response);
    // cmap
    f("cmap.req.set", &p::cmap::decode_req_set);
    f("cmap.req.delete", &p::cmap::decode_req_delete);
    f("cmap.req.get", &p::cmap::decode_req_get);
    f("cmap.req.adjust_int", &p::cmap::decode_req_adjust_int);
    f("cmap.req.iter_init", &p::cmap::decode_req_iter_init);
    f("cmap.req.iter_next", &p::cmap::decode_req_iter_next);
    f("cmap.req.iter_finalize", &p::cmap::decode_req_iter_finalize);
    f("cmap.req.track_add", &p::cmap::decode_req_track_add);
    f("cmap.req.track_delete", &p::cmap::decode_req_track_delete);
    f("cmap.req.set_current_map", &p::cmap::decode_req_set_current_map);
    f("cmap.res.set", &p::cmap::decode_res_set);
    f("cmap.res.delete", &p::cmap::decode_res_delete);
    f("cmap.res.get", &p::cmap::decode_res_get);
    f("cmap.res.adjust_int", &p::cmap::decode_res_adjust_int);
    f("cmap.res.iter_init", &p::cmap::decode_res_iter_init);
    f("cmap.res.iter_next", &p::cmap::decode_res_iter_next);
    f("cmap.res.iter_finalize", &p::cmap::decode_res_iter_finalize);
    f("cmap.res.track_add", &p::cmap::decode_res_track_add);
    f("cmap.res.track_delete", &p::cmap::decode_res_track_delete);
    f("cmap.res.set_current_map", &p::cmap::decode_res_set_current_map);
    f("cmap.ev.notify_callback", &p::cmap::decode_res_notify_callback);
    f("cmap.request", &p::cmap::decode_request);
    f("cmap.response", &p::cmap::decode_response);
    f("cmap.event", &p::cmap::decode_event);
    // cfg
    f("cfg.req.ringstatusget", &p::cfg::decode_req_ringstatusget);
    f("cfg.req.ringreenable", &p::cfg::decode_req_ringreenable);
    f("cfg.req.killnode", &p::cfg::decode_req_killnode);
    f("cfg.req.tryshutdown", &p::cfg::decode_req_tryshutdown);
    f("cfg.req.replytoshutdown", &p::cfg::decode_req_replytoshutdown);
    f("cfg.req.get_node_addrs", &p::cfg::decode_req_get_node_addrs);
    f("cfg.req.local_get", &p::cfg::decode_req_local_get);
    f("cfg.req.reload_config", &p::cfg::decode_req_reload_config);
    f("cfg.req.reopen_log_files", &p::cfg::decode_req_reopen_log_files);
    f("cfg.req.nodestatusget", &p::cfg::decode_req_nodestatusget);
    f("cfg.req.trackstart", &p::cfg::decode_req_trackstart);
    f("cfg.req.trackstop", &p::cfg::decode_req_trackstop);
    f("cfg.res.ringstatusget", &p::cfg::decode_res_ringstatusget);
    f("cfg.res.ringreenable", &p::cfg::decode_res_ringreenable);
    f("cfg.res.trackstart", &p::cfg::decode_res_trackstart);
    f("cfg.res.trackstop", &p::cfg::decode_res_trackstop);
    f("cfg.res.killnode", &p::cfg::decode_res_killnode);
    f("cfg.res.tryshutdown", &p::cfg::decode_res_tryshutdown);
    f("cfg.res.replytoshutdown", &p::cfg::decode_res_replytoshutdown);
    f("cfg.res.reload_config", &p::cfg::decode_res_reload_config);
    f("cfg.res.reopen_log_files", &p::cfg::decode_res_reopen_log_files);
    f("cfg.res.get_node_addrs", &p::cfg::decode_res_get_node_addrs);
    f("cfg.res.local_get", &p::cfg::decode_res_local_get);
    f("cfg.res.nodestatusget", &p::cfg::decode_res_nodestatusget);
    f("cfg.ev.testshutdown", &p::cfg::decode_res_testshutdown);
    f("cfg.request", &p::cfg::decode_request);
    f("cfg.response", &p::cfg::decode_response);
    f("cfg.event", &p::cfg::decode_event);
    // cpg
    f("cpg.req.join", &p::cpg::decode_req_join);
    f("cpg.req.leave", &p::cpg::decode_req_leave);
    f("cpg.req.mcast", &p::cpg::decode_req_mcast);
    f("cpg.req.membership", &p::cpg::decode_req_membership);
    f("cpg.req.local_get", &p::cpg::decode_req_local_get);
    f("cpg.req.iterationinitialize", &p::cpg::decode_req_iterationinitialize);
    f("cpg.req.iterationnext", &p::cpg::decode_req_iterationnext);
    f("cpg.req.iterationfinalize", &p::cpg::decode_req_iterationfinalize);
    f("cpg.req.finalize", &p::cpg::decode_req_finalize);
    f("cpg.req.zc_alloc", &p::cpg::decode_req_zc_alloc);
    f("cpg.req.zc_free", &p::cpg::decode_req_zc_free);
    f("cpg.req.zc_execute", &p::cpg::decode_req_zc_execute);
    f("cpg.req.partial_mcast", &p::cpg::decode_req_partial_mcast);
    f("cpg.res.join", &p::cpg::decode_res_join);
    f("cpg.res.leave", &p::cpg::decode_res_leave);
    f("cpg.res.mcast", &p::cpg::decode_res_mcast);
    f("cpg.res.iterationfinalize", &p::cpg::decode_res_iterationfinalize);
    f("cpg.res.finalize", &p::cpg::decode_res_finalize);
    f("cpg.res.partial_send", &p::cpg::decode_res_partial_send);
    f("cpg.res.zc_alloc", &p::cpg::decode_res_zc_alloc);
    f("cpg.res.zc_free", &p::cpg::decode_res_zc_free);
    f("cpg.res.local_get", &p::cpg::decode_res_local_get);
    f("cpg.res.membership", &p::cpg::decode_res_membership);
    f("cpg.res.iterationinitialize", &p::cpg::decode_res_iterationinitialize);
    f("cpg.res.iterationnext", &p::cpg::decode_res_iterationnext);
    f("cpg.ev.deliver_callback", &p::cpg::decode_res_deliver_callback);
    f("cpg.ev.partial_deliver_callback", &p::cpg::decode_res_partial_deliver_callback);
    f("cpg.ev.confchg_callback", &p::cpg::decode_res_confchg_callback);
    f("cpg.ev.totem_confchg_callback", &p::cpg::decode_res_totem_confchg_callback);
    f("cpg.request", &p::cpg::decode_request);
    f("cpg.response", &p::cpg::decode_response);
    f("cpg.event", &p::cpg::decode_event);
    // quorum
    f("quorum.req.getquorate", &p::quorum::decode_req_getquorate);
    f("quorum.req.trackstart", &p::quorum::decode_req_trackstart);
    f("quorum.req.trackstop", &p::quorum::decode_req_trackstop);
    f("quorum.req.gettype", &p::quorum::decode_req_gettype);
    f("quorum.req.model_gettype", &p::quorum::decode_req_model_gettype);
    f("quorum.res.getquorate", &p::quorum::decode_res_getquorate);
    f("quorum.res.trackstart", &p::quorum::decode_res_trackstart);
    f("quorum.res.trackstop", &p::quorum::decode_res_trackstop);
    f("quorum.res.gettype", &p::quorum::decode_res_gettype);
    f("quorum.res.model_gettype", &p::quorum::decode_res_model_gettype);
    f("quorum.ev.notification", &p::quorum::decode_res_notification);
    f("quorum.ev.v1_quorum_notification", &p::quorum::decode_res_v1_quorum_notification);
    f("quorum.ev.v1_nodelist_notification", &p::quorum::decode_res_v1_nodelist_notification);
    f("quorum.request", &p::quorum::decode_request);
    f("quorum.response", &p::quorum::decode_response);
    f("quorum.event", &p::quorum::decode_event);
    // votequorum
    f("votequorum.req.getinfo", &p::votequorum::decode_req_getinfo);
    f("votequorum.req.setexpected", &p::votequorum::decode_req_setexpected);
    f("votequorum.req.setvotes", &p::votequorum::decode_req_setvotes);
    f("votequorum.req.trackstart", &p::votequorum::decode_req_trackstart);
    f("votequorum.req.trackstop", &p::votequorum::decode_req_trackstop);
    f("votequorum.req.qdevice_register", &p::votequorum::decode_req_qdevice_register);
    f("votequorum.req.qdevice_unregister", &p::votequorum::decode_req_qdevice_unregister);
    f("votequorum.req.qdevice_update", &p::votequorum::decode_req_qdevice_update);
    f("votequorum.req.qdevice_poll", &p::votequorum::decode_req_qdevice_poll);
    f("votequorum.req.qdevice_master_wins", &p::votequorum::decode_req_qdevice_master_wins);
    f("votequorum.res.status", &p::votequorum::decode_res_status);
    f("votequorum.res.getinfo", &p::votequorum::decode_res_getinfo);
    f("votequorum.ev.quorum_notification", &p::votequorum::decode_res_quorum_notification);
    f("votequorum.ev.expectedvotes_notification",
      &p::votequorum::decode_res_expectedvotes_notification);
    f("votequorum.ev.nodelist_notification", &p::votequorum::decode_res_nodelist_notification);
    f("votequorum.request", &p::votequorum::decode_request);
    f("votequorum.response", &p::votequorum::decode_response);
    f("votequorum.event", &p::votequorum::decode_event);
}

template <typename F>
void for_each_exec_decoder(F&& f) {
    f("sync.barrier", &p::sync::decode_barrier);
    f("sync.service_build", &p::sync::decode_service_build);
    f("sync", &p::sync::decode);
    f("cmap.exec.mcast", &p::cmap::decode_exec_mcast);
    f("cmap.exec", &p::cmap::decode_exec);
    f("cfg.exec.ringreenable", &p::cfg::decode_exec_ringreenable);
    f("cfg.exec.killnode", &p::cfg::decode_exec_killnode);
    f("cfg.exec.shutdown", &p::cfg::decode_exec_shutdown);
    f("cfg.exec.reload_config", &p::cfg::decode_exec_reload_config);
    f("cfg.exec.crypto_reconfig", &p::cfg::decode_exec_crypto_reconfig);
    f("cfg.exec", &p::cfg::decode_exec);
    f("cpg.exec.procjoin", &p::cpg::decode_exec_procjoin);
    f("cpg.exec.procleave", &p::cpg::decode_exec_procleave);
    f("cpg.exec.joinlist", &p::cpg::decode_exec_joinlist);
    f("cpg.exec.mcast", &p::cpg::decode_exec_mcast);
    f("cpg.exec.downlist_old", &p::cpg::decode_exec_downlist_old);
    f("cpg.exec.downlist", &p::cpg::decode_exec_downlist);
    f("cpg.exec.partial_mcast", &p::cpg::decode_exec_partial_mcast);
    f("cpg.exec", &p::cpg::decode_exec);
    f("pload.exec.start", &p::pload::decode_exec_start);
    f("pload.exec.mcast", &p::pload::decode_exec_mcast);
    f("pload.exec", &p::pload::decode_exec);
    f("votequorum.exec.nodeinfo", &p::votequorum::decode_exec_nodeinfo);
    f("votequorum.exec.reconfigure", &p::votequorum::decode_exec_reconfigure);
    f("votequorum.exec.qdevice_reg", &p::votequorum::decode_exec_qdevice_reg);
    f("votequorum.exec.qdevice_reconfigure", &p::votequorum::decode_exec_qdevice_reconfigure);
    f("votequorum.exec", &p::votequorum::decode_exec);
}

// Any message of any service and direction, as the dispatch functions return it.
using AnyMessage =
    std::variant<p::cmap::Request, p::cmap::Response, p::cmap::Event, p::cmap::Exec,
                 p::cfg::Request, p::cfg::Response, p::cfg::Event, p::cfg::Exec, p::cpg::Request,
                 p::cpg::Response, p::cpg::Event, p::cpg::Exec, p::quorum::Request,
                 p::quorum::Response, p::quorum::Event, p::votequorum::Request,
                 p::votequorum::Response, p::votequorum::Event, p::votequorum::Exec, p::pload::Exec,
                 p::sync::Message>;

inline Bytes encode_any(const AnyMessage& m, p::PadFill fill = {}) {
    return std::visit([fill](const auto& x) { return encode(x, fill); }, m);
}

template <typename R>
Result<AnyMessage, p::DecodeError> any(R r) {
    if (!r)
        return Err{r.error()};
    return AnyMessage{std::move(*r)};
}

// dir: req / res / ev (IPC) or a / sync (exec); service: its short name.
inline Result<AnyMessage, p::DecodeError> decode_any(std::string_view dir, std::string_view service,
                                                     ByteView b) {
    if (dir == "sync")
        return any(p::sync::decode(b));
    if (service == "cmap") {
        if (dir == "req")
            return any(p::cmap::decode_request(b));
        if (dir == "res")
            return any(p::cmap::decode_response(b));
        if (dir == "ev")
            return any(p::cmap::decode_event(b));
        return any(p::cmap::decode_exec(b));
    }
    if (service == "cfg") {
        if (dir == "req")
            return any(p::cfg::decode_request(b));
        if (dir == "res")
            return any(p::cfg::decode_response(b));
        if (dir == "ev")
            return any(p::cfg::decode_event(b));
        return any(p::cfg::decode_exec(b));
    }
    if (service == "cpg") {
        if (dir == "req")
            return any(p::cpg::decode_request(b));
        if (dir == "res")
            return any(p::cpg::decode_response(b));
        if (dir == "ev")
            return any(p::cpg::decode_event(b));
        return any(p::cpg::decode_exec(b));
    }
    if (service == "quorum") {
        if (dir == "req")
            return any(p::quorum::decode_request(b));
        if (dir == "res")
            return any(p::quorum::decode_response(b));
        if (dir == "ev")
            return any(p::quorum::decode_event(b));
        return Err{p::DecodeError::unknown_id};
    }
    if (service == "votequorum") {
        if (dir == "req")
            return any(p::votequorum::decode_request(b));
        if (dir == "res")
            return any(p::votequorum::decode_response(b));
        if (dir == "ev")
            return any(p::votequorum::decode_event(b));
        return any(p::votequorum::decode_exec(b));
    }
    if (service == "pload" && dir == "a")
        return any(p::pload::decode_exec(b));
    return Err{p::DecodeError::unknown_id};
}

}  // namespace totem::test
