#include "services/cmap.hpp"

#include "common/assert.hpp"
#include "proto/cmap.hpp"

namespace totem::services {

namespace pc = proto::cmap;
using proto::CsError;

namespace {

constexpr const char* config_version_key = "totem.config_version";

CsError cs(KeyError e) {
    return static_cast<CsError>(static_cast<std::int32_t>(e));
}

}  // namespace

Cmap::Cmap(Api& api) : Service(api) {
    // exec/cmap.c cmap_exec_init_fn: a change of totem.config_version is told to the others.
    auto t = api_.keys().add_track(config_version_key, kTrackAdd | kTrackDelete | kTrackModify, 0);
    TOTEM_ASSERT(t.ok());
    config_version_track_ = *t;
}

ServiceInfo Cmap::info() const {
    return ServiceInfo{service_id,      "cmap", "corosync configuration map access",
                       "corosync_cmap", 1,      10};
}

bool Cmap::lib_init(const ClientInfo& client) {
    conns_[client.conn] = Conn{};
    return true;
}

void Cmap::lib_exit(ConnId conn) {
    auto it = conns_.find(conn);
    if (it == conns_.end())
        return;
    for (auto& [handle, t] : it->second.trackers) {
        (void)(t.stats ? api_.stats() : api_.keys()).remove_track(t.id);
        track_owner_.erase(t.id);
    }
    conns_.erase(it);
}

void Cmap::reply_invalid(ConnId conn, std::int32_t id) {
    // A request the codec refused: the reply of that request's kind with INVALID_PARAM
    // (corosync would read garbage instead). GET's error reply is its 40-byte form.
    decode_errors_++;
    api_.invalid_request(conn);
    switch (static_cast<pc::ReqId>(id)) {
        case pc::ReqId::set:
            return api_.respond(conn, pc::encode(pc::ResSet{CsError::err_invalid_param}));
        case pc::ReqId::delete_:
            return api_.respond(conn, pc::encode(pc::ResDelete{CsError::err_invalid_param}));
        case pc::ReqId::get: {
            pc::ResGet r;
            r.error = CsError::err_invalid_param;
            return api_.respond(conn, pc::encode(r));
        }
        case pc::ReqId::adjust_int:
            return api_.respond(conn, pc::encode(pc::ResAdjustInt{CsError::err_invalid_param}));
        case pc::ReqId::iter_init:
            return api_.respond(conn, pc::encode(pc::ResIterInit{CsError::err_invalid_param, 0}));
        case pc::ReqId::iter_next: {
            pc::ResIterNext r;
            r.error = CsError::err_invalid_param;
            return api_.respond(conn, pc::encode(r));
        }
        case pc::ReqId::iter_finalize:
            return api_.respond(conn, pc::encode(pc::ResIterFinalize{CsError::err_invalid_param}));
        case pc::ReqId::track_add:
            return api_.respond(conn, pc::encode(pc::ResTrackAdd{CsError::err_invalid_param, 0}));
        case pc::ReqId::track_delete:
            return api_.respond(conn,
                                pc::encode(pc::ResTrackDelete{CsError::err_invalid_param, 0}));
        case pc::ReqId::set_current_map:
            return api_.respond(conn, pc::encode(pc::ResSetCurrentMap{CsError::err_invalid_param}));
    }
}

void Cmap::lib_request(ConnId conn, std::int32_t id, ByteView request) {
    auto cit = conns_.find(conn);
    TOTEM_ASSERT(cit != conns_.end());
    Conn& c = cit->second;
    auto req = pc::decode_request(request);
    if (!req) {
        reply_invalid(conn, id);
        return;
    }
    std::visit(
        [&](auto& r) {
            using T = std::decay_t<decltype(r)>;
            if constexpr (std::is_same_v<T, pc::ReqSet>) {
                KeyStore& s = store(c);
                const KeyError e = s.client_set(r.key_name, r.type, r.value);
                if (c.stats_map && e == KeyError::ok)
                    api_.clear_stats(stats_clear_groups(r.key_name));
                api_.respond(conn, pc::encode(pc::ResSet{cs(e)}));
            } else if constexpr (std::is_same_v<T, pc::ReqDelete>) {
                api_.respond(conn,
                             pc::encode(pc::ResDelete{cs(store(c).client_delete(r.key_name))}));
            } else if constexpr (std::is_same_v<T, pc::ReqGet>) {
                if (c.stats_map)
                    api_.refresh_stats();
                auto g = store(c).client_get(r.key_name, r.value_len);
                pc::ResGet res;
                if (!g) {
                    res.error = cs(g.error());
                } else {
                    res.value_len = g->value_len;
                    res.type = static_cast<std::uint8_t>(g->type);
                    res.value = g->value;
                    res.buffer_len = r.value_len;
                }
                api_.respond(conn, pc::encode(res));
            } else if constexpr (std::is_same_v<T, pc::ReqAdjustInt>) {
                api_.respond(
                    conn,
                    pc::encode(pc::ResAdjustInt{cs(store(c).client_adjust(r.key_name, r.step))}));
            } else if constexpr (std::is_same_v<T, pc::ReqIterInit>) {
                if (c.iterators.size() >= iterators_max) {
                    api_.respond(conn, pc::encode(pc::ResIterInit{CsError::err_no_resources, 0}));
                    return;
                }
                if (c.stats_map)
                    api_.refresh_stats();
                const std::uint64_t h = next_handle_++;
                c.iterators.emplace(h, store(c).iter_init(r.prefix));
                api_.respond(conn, pc::encode(pc::ResIterInit{CsError::ok, h}));
            } else if constexpr (std::is_same_v<T, pc::ReqIterNext>) {
                pc::ResIterNext res;
                auto it = c.iterators.find(r.iter_handle);
                if (it == c.iterators.end()) {
                    res.error = CsError::err_bad_handle;
                } else if (auto item = store(c).iter_next(it->second)) {
                    res.key_name = item->key;
                    res.value_len = item->value_len;
                    res.type = static_cast<std::uint8_t>(item->type);
                } else {
                    res.error = CsError::err_no_sections;
                }
                api_.respond(conn, pc::encode(res));
            } else if constexpr (std::is_same_v<T, pc::ReqIterFinalize>) {
                const bool found = c.iterators.erase(r.iter_handle) != 0;
                api_.respond(
                    conn,
                    pc::encode(pc::ResIterFinalize{found ? CsError::ok : CsError::err_bad_handle}));
            } else if constexpr (std::is_same_v<T, pc::ReqTrackAdd>) {
                if (c.trackers.size() >= trackers_max) {
                    api_.respond(conn, pc::encode(pc::ResTrackAdd{CsError::err_no_resources, 0}));
                    return;
                }
                if (c.stats_map)
                    api_.refresh_stats();
                auto t = store(c).add_track(r.key_name, r.track_type, r.track_inst_handle);
                if (!t) {
                    api_.respond(conn, pc::encode(pc::ResTrackAdd{cs(t.error()), 0}));
                    return;
                }
                const std::uint64_t h = next_handle_++;
                c.trackers.emplace(h, Tracker{*t, c.stats_map});
                track_owner_[*t] = {conn, h};
                api_.respond(conn, pc::encode(pc::ResTrackAdd{CsError::ok, h}));
            } else if constexpr (std::is_same_v<T, pc::ReqTrackDelete>) {
                auto it = c.trackers.find(r.track_handle);
                if (it == c.trackers.end()) {
                    api_.respond(conn, pc::encode(pc::ResTrackDelete{CsError::err_bad_handle, 0}));
                    return;
                }
                auto token =
                    (it->second.stats ? api_.stats() : api_.keys()).remove_track(it->second.id);
                track_owner_.erase(it->second.id);
                c.trackers.erase(it);
                api_.respond(conn,
                             pc::encode(pc::ResTrackDelete{token ? CsError::ok : cs(token.error()),
                                                           token ? *token : 0}));
            } else if constexpr (std::is_same_v<T, pc::ReqSetCurrentMap>) {
                CsError e = CsError::ok;
                if (!c.iterators.empty() || !c.trackers.empty())
                    e = CsError::err_busy;
                else if (r.map == pc::map_default)
                    c.stats_map = false;
                else if (r.map == pc::map_stats)
                    c.stats_map = true;
                else
                    e = CsError::err_not_exist;
                api_.respond(conn, pc::encode(pc::ResSetCurrentMap{e}));
            }
        },
        *req);
}

void Cmap::key_changed(const Notification& n) {
    if (config_version_track_ && n.track == *config_version_track_) {
        // cmap_config_version_track_cb
        my_config_version_ = api_.keys().get_u64(config_version_key).value_or(0);
        if (!mcast_config_version(static_cast<std::uint8_t>(pc::McastReason::new_config_version)))
            api_.log(LogLevel::error, "CMAP", "Can't inform other nodes about new config version");
        return;
    }
    auto owner = track_owner_.find(n.track);
    if (owner == track_owner_.end())
        return;
    pc::ResNotifyCallback ev;
    ev.track_inst_handle = n.user_token;
    ev.key_name = n.key;
    ev.event = static_cast<std::int32_t>(n.event);
    if (n.new_value) {
        ev.new_value_type = static_cast<std::uint8_t>(n.new_value->type());
        ev.new_value = n.new_value->raw();
    }
    if (n.old_value) {
        ev.old_value_type = static_cast<std::uint8_t>(n.old_value->type());
        ev.old_value = n.old_value->raw();
    }
    api_.send_event(owner->second.first, pc::encode(ev));
}

// cmap_mcast_send(reason, 1, {"totem.config_version"}): header and item as two iovecs.
bool Cmap::mcast_config_version(std::uint8_t reason) {
    pc::ExecMcast m;
    m.reason = reason;
    pc::McastItem item;
    item.key_name = config_version_key;
    if (const Value* v = api_.keys().find(config_version_key)) {
        item.value_type = static_cast<std::uint8_t>(v->type());
        item.value = v->raw();
    }
    m.items.push_back(std::move(item));
    const Bytes whole = pc::encode(m);
    const ByteView parts[2] = {ByteView(whole).first(pc::exec_mcast_fixed_size),
                               ByteView(whole).subspan(pc::exec_mcast_fixed_size)};
    return api_.mcast_parts(parts, Guarantee::agreed);
}

void Cmap::exec(NodeId sender, std::uint16_t, ByteView message) {
    auto m = pc::decode_exec_mcast(message);
    if (!m) {
        decode_errors_++;
        api_.log(LogLevel::warning, "CMAP",
                 "Dropping a malformed cmap message from node " + std::to_string(sender) + ": " +
                     std::string(proto::to_string(m.error())));
        return;
    }
    if (m->reason != static_cast<std::uint8_t>(pc::McastReason::sync) &&
        m->reason != static_cast<std::uint8_t>(pc::McastReason::new_config_version))
        return;  // "Received mcast with unknown reason"
    std::uint64_t config_version = 0;
    for (const pc::McastItem& item : m->items) {
        if (item.key_name != config_version_key)
            continue;
        if (item.value_type == static_cast<std::uint8_t>(ValueType::u64) &&
            item.value.size() == 8) {
            Reader r(item.value);
            config_version = r.u64();
        }
        break;
    }
    if (sender != api_.my_nodeid() && config_version > highest_config_version_)
        highest_config_version_ = config_version;
    api_.keys().set("runtime.members." + std::to_string(sender) + ".config_version",
                    Value::u64(config_version));
}

void Cmap::sync_init(const NodeList& trans, const NodeList&, const RingId&) {
    sync_trans_entries_ = trans.size();
    my_config_version_ = api_.keys().get_u64(config_version_key).value_or(0);
    highest_config_version_ = my_config_version_;
}

bool Cmap::sync_process() {
    return mcast_config_version(static_cast<std::uint8_t>(pc::McastReason::sync));
}

void Cmap::sync_activate() {
    if (sync_trans_entries_ == 0) {
        api_.log(LogLevel::debug, "CMAP", "Single node sync -> no action");
        return;
    }
    if (!first_sync_) {
        api_.log(LogLevel::debug, "CMAP", "Not first sync -> no action");
        return;
    }
    first_sync_ = false;
    if (my_config_version_ == 0) {
        api_.log(LogLevel::debug, "CMAP", "My config version is 0 -> no action");
        return;
    }
    if (highest_config_version_ != my_config_version_) {
        api_.log(LogLevel::error, "CMAP",
                 "Received config version (" + std::to_string(highest_config_version_) +
                     ") is different than my config version (" +
                     std::to_string(my_config_version_) + ")! Exiting");
        api_.shutdown("Shutting down: the config version differs from the cluster's");
    }
}

void Cmap::check_invariants() const {
    std::size_t trackers = 0;
    for (const auto& [conn, c] : conns_) {
        TOTEM_ASSERT(c.iterators.size() <= iterators_max);
        TOTEM_ASSERT(c.trackers.size() <= trackers_max);
        trackers += c.trackers.size();
    }
    TOTEM_ASSERT(trackers == track_owner_.size());
}

}  // namespace totem::services
