#include "services/quorum.hpp"

#include <algorithm>

#include "common/assert.hpp"
#include "proto/quorum.hpp"

namespace totem::services {

namespace pq = proto::quorum;
using proto::CsError;

namespace {

constexpr std::uint32_t track_current = 1;  // CS_TRACK_CURRENT
constexpr std::uint32_t track_changes = 2;  // CS_TRACK_CHANGES
constexpr std::uint32_t track_changes_only = 4;

bool contains(const NodeList& l, NodeId n) {
    return std::find(l.begin(), l.end(), n) != l.end();
}

std::vector<std::uint32_t> bounded(const NodeList& l) {
    // PROCESSOR_COUNT_MAX: Totem never forms a larger ring; the codec refuses more.
    const std::size_t n = std::min(l.size(), pq::view_list_max);
    return std::vector<std::uint32_t>(l.begin(), l.begin() + static_cast<std::ptrdiff_t>(n));
}

proto::MarRingId mar(const RingId& r) {
    return proto::MarRingId{r.rep, r.seq};
}

}  // namespace

Quorum::Quorum(Api& api, std::string provider) : Service(api), provider_(std::move(provider)) {
    // quorum_exec_init_fn: tell the core we are the quorum engine, then the provider switch
    // (the registry made the provider; an unknown name never gets here: conf refuses it).
    api_.quorum_initialize(*this);
    if (!provider_.empty()) {
        api_.log(LogLevel::notice, "QUORUM", "Using quorum provider " + provider_);
        quorum_type_ = pq::quorum_set;
    } else {
        primary_designated_ = true;  // no provider: always quorate
    }
}

ServiceInfo Quorum::info() const {
    return ServiceInfo{service_id,        "quorum", "corosync cluster quorum service v0.1",
                       "corosync_quorum", 0,        5};
}

bool Quorum::lib_init(const ClientInfo& client) {
    api_.log(LogLevel::debug, "QUORUM", "lib_init_fn: conn=" + std::to_string(client.conn));
    conns_[client.conn] = Conn{};
    return true;
}

void Quorum::lib_exit(ConnId conn) {
    api_.log(LogLevel::debug, "QUORUM", "lib_exit_fn: conn=" + std::to_string(conn));
    std::erase(trackers_, conn);
    conns_.erase(conn);
}

// ---- the provider's decisions (quorum_api_set_quorum) -------------------------------------

void Quorum::set_quorum(const NodeList& view, bool quorate, const RingId& ring_id) {
    const bool old = primary_designated_;
    primary_designated_ = quorate;
    if (primary_designated_ && !old)
        api_.log(LogLevel::notice, "QUORUM",
                 "This node is within the primary component and will provide service.");
    else if (!primary_designated_ && old)
        api_.log(LogLevel::notice, "QUORUM",
                 "This node is within the non-primary component and will NOT provide any "
                 "services.");
    view_ = view;
    quorum_ring_id_ = ring_id;
    log_list(view_, "Members");
    // The internal listener (the core's flow control) reads quorate() after this input.
    send_quorum_notification(0);
}

// log_view_list: " <id>" per entry into a 64-byte buffer; a full buffer ends the line with "\".
void Quorum::log_list(const NodeList& l, const char* what) {
    std::size_t i = 0;
    for (;;) {
        std::string buf;
        for (; i < l.size(); ++i) {
            const std::string entry = " " + std::to_string(l[i]);
            if (buf.size() + entry.size() >= 64)
                break;
            buf += entry;
        }
        api_.log(LogLevel::notice, "QUORUM",
                 std::string(what) + "[" + std::to_string(l.size()) + "]:" + buf +
                     (i < l.size() ? "\\" : ""));
        if (i == l.size())
            break;
    }
}

// ---- notifications ------------------------------------------------------------------------

Bytes Quorum::quorum_notification(std::uint32_t model) const {
    if (model == pq::model_v0) {
        pq::ResNotification n;
        n.quorate = primary_designated_ ? 1 : 0;
        n.ring_seq = quorum_ring_id_.seq;
        n.view_list = bounded(view_);
        return pq::encode(n);
    }
    pq::ResV1QuorumNotification n;
    n.quorate = primary_designated_ ? 1 : 0;
    n.ring_id = mar(quorum_ring_id_);
    n.view_list = bounded(view_);
    return pq::encode(n);
}

Bytes Quorum::nodelist_notification(bool joined_left) const {
    pq::ResV1NodelistNotification n;
    n.ring_id = mar(last_sync_ring_id_);
    n.members = bounded(member_list_);
    if (joined_left) {
        n.joined = bounded(joined_list_);
        n.left = bounded(left_list_);
    }
    return pq::encode(n);
}

// send_library_notification: one connection (conn != 0), or every tracker.
void Quorum::send_quorum_notification(ConnId conn) {
    const Bytes v0 = quorum_notification(pq::model_v0);
    const Bytes v1 = quorum_notification(pq::model_v1);
    api_.log(LogLevel::debug, "QUORUM",
             "sending quorum notification to " + (conn ? std::to_string(conn) : "(nil)") +
                 ", length = " + std::to_string(v0.size()) + "/" + std::to_string(v1.size()));
    auto send = [&](ConnId c) {
        auto it = conns_.find(c);
        if (it == conns_.end())
            return;
        api_.send_event(c, it->second.model == pq::model_v0 ? v0 : v1);
    };
    if (conn) {
        send(conn);
        return;
    }
    for (ConnId t : trackers_)
        send(t);
}

// send_nodelist_library_notification: V1 connections only.
void Quorum::send_nodelist_notification(ConnId conn, bool joined_left) {
    const Bytes ev = nodelist_notification(joined_left);
    api_.log(LogLevel::debug, "QUORUM",
             "sending nodelist notification to " + (conn ? std::to_string(conn) : "(nil)") +
                 ", length = " + std::to_string(ev.size()));
    auto send = [&](ConnId c) {
        auto it = conns_.find(c);
        if (it != conns_.end() && it->second.model == pq::model_v1)
            api_.send_event(c, ev);
    };
    if (conn) {
        send(conn);
        return;
    }
    for (ConnId t : trackers_)
        send(t);
}

// ---- sync (quorum_sync_*) -----------------------------------------------------------------

void Quorum::sync_init(const NodeList& trans, const NodeList& members, const RingId& ring) {
    member_list_ = members;
    last_sync_ring_id_ = ring;
    // left: old members not in the transitional list, or in it but not in the new ring
    left_list_.clear();
    for (NodeId n : old_member_list_)
        if (!contains(trans, n) || !contains(member_list_, n))
            left_list_.push_back(n);
    // joined: new members that were not old members, or that also left
    joined_list_.clear();
    for (NodeId n : member_list_)
        if (!contains(old_member_list_, n) || contains(left_list_, n))
            joined_list_.push_back(n);
    log_list(member_list_, "Sync members");
    if (!joined_list_.empty())
        log_list(joined_list_, "Sync joined");
    if (!left_list_.empty())
        log_list(left_list_, "Sync left");
}

void Quorum::sync_activate() {
    old_member_list_ = member_list_;
    send_nodelist_notification(0, true);
}

// ---- requests -------------------------------------------------------------------------------

void Quorum::reply_invalid(ConnId conn, std::int32_t id) {
    // A request the codec refused (wrong size for its id): its reply with INVALID_PARAM.
    decode_errors_++;
    const CsError e = CsError::err_invalid_param;
    switch (static_cast<pq::ReqId>(id)) {
        case pq::ReqId::getquorate:
            return api_.respond(conn, pq::encode(pq::ResGetQuorate{e, 0}));
        case pq::ReqId::trackstart:
            return api_.respond(conn, pq::encode(pq::ResTrackStart{e}));
        case pq::ReqId::trackstop:
            return api_.respond(conn, pq::encode(pq::ResTrackStop{e}));
        case pq::ReqId::gettype:
            return api_.respond(conn, pq::encode(pq::ResGetType{e, quorum_type_}));
        case pq::ReqId::model_gettype:
            return api_.respond(conn, pq::encode(pq::ResModelGetType{e, quorum_type_}));
    }
}

void Quorum::lib_request(ConnId conn, std::int32_t id, ByteView request) {
    auto req = pq::decode_request(request);
    if (!req) {
        reply_invalid(conn, id);
        return;
    }
    Conn& c = conns_[conn];
    const std::string on = " on " + std::to_string(conn);
    std::visit(
        [&](auto& r) {
            using T = std::decay_t<decltype(r)>;
            if constexpr (std::is_same_v<T, pq::ReqGetQuorate>) {
                api_.log(LogLevel::debug, "QUORUM", "got quorate request" + on);
                api_.respond(conn, pq::encode(pq::ResGetQuorate{CsError::ok,
                                                                primary_designated_ ? 1u : 0u}));
            } else if constexpr (std::is_same_v<T, pq::ReqTrackStart>) {
                api_.log(LogLevel::debug, "QUORUM", "got trackstart request" + on);
                CsError e = CsError::ok;
                if (r.track_flags & (track_current | track_changes)) {
                    api_.log(LogLevel::debug, "QUORUM",
                             "sending initial status to " + std::to_string(conn));
                    send_nodelist_notification(conn, false);
                    send_quorum_notification(conn);
                }
                if (c.tracking) {
                    e = CsError::err_exist;
                } else if (r.track_flags & (track_changes | track_changes_only)) {
                    c.track_flags = r.track_flags;
                    c.tracking = true;
                    trackers_.insert(trackers_.begin(), conn);
                }
                api_.respond(conn, pq::encode(pq::ResTrackStart{e}));
            } else if constexpr (std::is_same_v<T, pq::ReqTrackStop>) {
                api_.log(LogLevel::debug, "QUORUM", "got trackstop request" + on);
                if (c.tracking) {
                    c.tracking = false;
                    std::erase(trackers_, conn);
                }
                // corosync overwrites its NOT_EXIST with CS_OK (spec Appendix A)
                api_.respond(conn, pq::encode(pq::ResTrackStop{CsError::ok}));
            } else if constexpr (std::is_same_v<T, pq::ReqGetType>) {
                api_.log(LogLevel::debug, "QUORUM", "got quorum_type request" + on);
                api_.respond(conn, pq::encode(pq::ResGetType{CsError::ok, quorum_type_}));
            } else if constexpr (std::is_same_v<T, pq::ReqModelGetType>) {
                api_.log(LogLevel::debug, "QUORUM", "got quorum_model_type request" + on);
                CsError e = CsError::ok;
                if (r.model != pq::model_v0 && r.model != pq::model_v1) {
                    api_.log(LogLevel::error, "QUORUM",
                             "quorum_model_type request for unsupported model " +
                                 std::to_string(r.model));
                    e = CsError::err_invalid_param;
                } else {
                    c.model = r.model;
                }
                api_.respond(conn, pq::encode(pq::ResModelGetType{e, quorum_type_}));
            }
        },
        *req);
}

void Quorum::check_invariants() const {
    TOTEM_ASSERT(trackers_.size() <= conns_.size());
    for (ConnId t : trackers_) {
        auto it = conns_.find(t);
        TOTEM_ASSERT(it != conns_.end());
        TOTEM_ASSERT(it->second.tracking);
        TOTEM_ASSERT(std::count(trackers_.begin(), trackers_.end(), t) == 1);
    }
    for (const auto& [id, c] : conns_)
        TOTEM_ASSERT(c.model == pq::model_v0 || c.model == pq::model_v1);
    TOTEM_ASSERT(quorum_type_ == pq::quorum_free || !provider_.empty());
    TOTEM_ASSERT(!provider_.empty() || primary_designated_);
}

}  // namespace totem::services
