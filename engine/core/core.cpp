#include "engine/core/core.hpp"

#include <algorithm>
#include <cerrno>

#include "common/assert.hpp"
#include "services/registry.hpp"

namespace totem::core {

namespace {

constexpr std::size_t exec_header_size = 16;  // qb_ipc_request_header: id i32 @0, size i32 @8
constexpr std::size_t response_header_size = 24;
constexpr std::int32_t cs_err_try_again = 6;
constexpr std::int32_t cs_err_invalid_param = 7;
constexpr std::uint16_t cpg_service = 2;
constexpr std::int32_t cpg_mcast_request = 2;  // corosync: the one asynchronous request
constexpr std::uint16_t votequorum_service = 5;
// The largest application message totempg takes (its payload limit): as long as the IPC rate
// limit is not OFF_2 the Totem queue has room for one (docs/protocol/deviations.md).
constexpr std::size_t largest_app_message = std::size_t{1} << 20;

std::string node_list(const NodeList& l) {
    std::string s;
    for (NodeId n : l)
        s += (s.empty() ? "" : " ") + std::to_string(n);
    return s;
}

std::uint32_t swap32(std::uint32_t v) {
    return (v >> 24) | ((v >> 8) & 0xff00) | ((v << 8) & 0xff0000) | (v << 24);
}

// The bare response corosync sends when it refuses a request (cs_ipcs_msg_process).
Bytes bare_response(std::int32_t error) {
    Bytes b;
    Writer w(b);
    w.i32(0);
    w.u32(0);
    w.i32(static_cast<std::int32_t>(response_header_size));
    w.u32(0);
    w.i32(error);
    w.u32(0);
    return b;
}

}  // namespace

NodeCore::NodeCore(conf::Config config, CoreOptions options)
    : config_(std::move(config)),
      options_(std::move(options)),
      stack_(options_.srp ? *options_.srp : conf::to_srp_config(config_), config_.local_nodeid,
             options_.stored_ring_seq, options_.seed),
      sync_(*this),
      keys_(services::MapKind::icmap),
      stats_(services::MapKind::stats) {
    for (const auto& [key, why] : keys_.load(config_.keys))
        emit_log(LogLevel::warning, "MAIN",
                 "Cannot store configuration key " + key + ": " + services::error_text(why));
    services::make_services(
        *this, config_, services::ServiceOptions{options_.pload, options_.votequorum},
        [this](std::unique_ptr<services::Service> s) { register_service(std::move(s)); });
    init_keys();
}

NodeCore::~NodeCore() = default;

services::Service& NodeCore::add_service(const ServiceFactory& make) {
    TOTEM_ASSERT(!started_);
    std::unique_ptr<services::Service> s = make(*this);
    services::Service& ref = *s;
    register_service(std::move(s));
    return ref;
}

// corosync_service_link_and_init after the service's init: its keys and "loaded" line.
void NodeCore::register_service(std::unique_ptr<services::Service> s) {
    const services::ServiceInfo info = s->info();
    if (!info.group.empty() && info.group != "a") {
        others_.push_back(s.get());
        extra_.push_back(std::move(s));
        return;
    }
    TOTEM_ASSERT(info.id < services_.size());
    TOTEM_ASSERT(!services_[info.id]);
    if (sync::Participant* p = s->sync())
        sync_.add_service(info.id, std::string(info.engine_name), p);
    services_[info.id] = std::move(s);
    load_order_.push_back(info.id);
    publish_service_keys(info);
}

services::Service* NodeCore::service(std::uint16_t id) const {
    return id < services_.size() ? services_[id].get() : nullptr;
}

// ---- the processing loop ------------------------------------------------------------------

template <typename F>
void NodeCore::input(Instant now, F&& f) {
    TOTEM_ASSERT(!in_input_);       // no handler re-enters the core
    TOTEM_ASSERT(outbox_.empty());  // the driver took every effect of the last call
    in_input_ = true;
    now_ = std::max(now_, now);
    f();
    run();
    in_input_ = false;
}

void NodeCore::run() {
    for (;;) {
        dispatch_notifications();
        std::optional<StackEffect> e;
        if (!reload_pending_ && !held_.empty()) {
            e = std::move(held_.front());
            held_.pop_front();
        } else {
            e = stack_.next_effect();
            if (!e) {
                // The services' last messages are on the wire (or the wait ran out): leave.
                if (draining_ && (stack_.send_idle() || now_ >= drain_deadline_)) {
                    finish_leave();
                    continue;
                }
                break;
            }
        }
        // While the configuration is re-read, deliveries wait (corosync reloads inside the
        // delivery of RELOAD_CONFIG): what comes after it is handled under the new config.
        const bool ordered = std::holds_alternative<AppDeliverEffect>(*e) ||
                             std::holds_alternative<ConfChgEffect>(*e) ||
                             std::holds_alternative<TokenSentEffect>(*e);
        if (reload_pending_ && ordered) {
            held_.push_back(std::move(*e));
            continue;
        }
        handle(*e);
    }
    update_flow_control();
}

void NodeCore::handle(StackEffect& e) {
    std::visit(
        [this](auto& v) {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, SendEffect>) {
                outbox_.push_back(std::move(v));
            } else if constexpr (std::is_same_v<T, PersistRingSeqEffect>) {
                outbox_.push_back(v);
            } else if constexpr (std::is_same_v<T, LogEffect>) {
                emit_log(v.level, "TOTEM", std::move(v.text));
            } else if constexpr (std::is_same_v<T, TokenSentEffect>) {
                sync_.token_sent();
            } else if constexpr (std::is_same_v<T, ConfChgEffect>) {
                on_confchg(v);
            } else if constexpr (std::is_same_v<T, AppDeliverEffect>) {
                on_deliver(v);
            }
        },
        e);
}

void NodeCore::start(Instant now) {
    input(now, [&] {
        TOTEM_ASSERT(!started_);
        started_ = true;
        stack_.start(now);
    });
}

void NodeCore::on_packet(Instant now, ByteView datagram) {
    input(now, [&] {
        if (!leaving_)
            stack_.on_packet(now, datagram);
    });
}

void NodeCore::on_pause(Instant now, Duration gap, std::uint64_t epoch_ms) {
    input(now, [&] {
        schedmiss_.push_back({epoch_ms, gap});
        if (schedmiss_.size() > 10)
            schedmiss_.erase(schedmiss_.begin());
        if (!leaving_)
            stack_.on_pause(now, gap);
    });
}

void NodeCore::on_timer(Instant now) {
    input(now, [&] {
        if (leaving_)
            return;
        if (auto d = stack_.next_deadline(); d && *d <= now)
            stack_.on_timer(now);
        for (auto& s : services_)
            if (s)
                if (auto d = s->next_deadline(); d && *d <= now)
                    s->on_timer(now);
        for (auto* s : others_)
            if (auto d = s->next_deadline(); d && *d <= now)
                s->on_timer(now);
        if (now >= next_stats_poll_) {
            // exec/main.c's corosync_totem_stats_updater: every 1.5 s the stats map's
            // trackers see what changed.
            next_stats_poll_ = now + Duration::ms(1500);
            refresh_stats_map();
            stats_.stats_poll();
        }
    });
}

std::optional<Instant> NodeCore::next_deadline() const {
    if (leaving_)
        return std::nullopt;
    std::optional<Instant> best = stack_.next_deadline();
    if (draining_ && (!best || drain_deadline_ < *best))
        best = drain_deadline_;
    auto consider = [&best](std::optional<Instant> d) {
        if (d && (!best || *d < *best))
            best = d;
    };
    for (const auto& s : services_)
        if (s)
            consider(s->next_deadline());
    for (const auto* s : others_)
        consider(s->next_deadline());
    if (started_)
        consider(next_stats_poll_);
    return best;
}

void NodeCore::leave(Instant now, std::string reason) {
    input(now, [&] {
        if (!reason.empty() && !leaving_ && !draining_)
            emit_log(LogLevel::notice, "MAIN", reason);
        begin_leave(std::move(reason));
    });
}

// corosync_service_unlink_all: every service's exec_exit, highest priority first (then by id),
// each followed by its "unloaded" line; what they multicast goes out before the Totem leave
// (bounded by the token timeout).
void NodeCore::begin_leave(std::string reason) {
    if (leaving_ || draining_)
        return;
    exit_reason_ = std::move(reason);
    emit_log(LogLevel::notice, "SERV", "Unloading all Corosync service engines.");
    std::vector<services::Service*> order;
    for (auto& s : services_)
        if (s)
            order.push_back(s.get());
    std::stable_sort(order.begin(), order.end(), [](services::Service* a, services::Service* b) {
        return a->info().priority > b->info().priority;
    });
    for (services::Service* s : order) {
        s->exec_exit();
        emit_log(LogLevel::notice, "SERV",
                 "Service engine unloaded: " + std::string(s->info().engine_name));
    }
    draining_ = true;
    drain_deadline_ = now_ + Duration::ms(config_.totem.effective_token_ms);
}

void NodeCore::finish_leave() {
    TOTEM_ASSERT(draining_);
    draining_ = false;
    leaving_ = true;
    stack_.leave(now_);
    outbox_.push_back(services::ExitAction{0, exit_reason_});
}

// ---- configuration changes (exec/main.c confchg_fn) ---------------------------------------

void NodeCore::on_confchg(const ConfChgEffect& c) {
    const bool abort = sync_in_process_;
    sync_in_process_ = true;
    for (NodeId n : c.left)
        member_left(n);
    for (NodeId n : c.joined)
        member_joined(n);
    const services::ConfChg cc{c.type, c.members, c.left, c.joined, c.ring_id};
    if (options_.observer)
        options_.observer->confchg(outbox_.size(), cc);
    for (auto& s : services_)
        if (s)
            s->confchg(cc);
    for (auto* s : others_)
        s->confchg(cc);
    if (abort)
        sync_.abort();
    if (c.type == ConfChgType::transitional) {
        sync_.save_transitional(c.members);
        return;
    }
    ring_id_ = c.ring_id;
    members_ = c.members;
    std::sort(members_.begin(), members_.end());
    config_changes_++;
    const Srp& srp = stack_.srp();
    std::string cause(to_string(srp.last_gather_reason()));
    if (srp.last_gather_node())
        cause += " (node " + std::to_string(srp.last_gather_node()) + ")";
    keys_.set("runtime.totemd.ring_id", services::Value::str(c.ring_id.str()));
    keys_.set("runtime.totemd.members", services::Value::str(node_list(c.members)));
    keys_.set("runtime.totemd.config_changes", services::Value::u64(config_changes_));
    keys_.set("runtime.totemd.last_change_cause", services::Value::str(cause));
    sync_.start(c.members, c.ring_id);
}

void NodeCore::member_joined(NodeId n) {
    const std::string base = "runtime.members." + std::to_string(n);
    if (keys_.contains(base + ".ip")) {
        keys_.adjust(base + ".join_count", 1);
    } else {
        keys_.set(base + ".ip", services::Value::str(ifaces_print(n)));
        keys_.set(base + ".join_count", services::Value::u32(1));
    }
    keys_.set(base + ".status", services::Value::str("joined"));
    emit_log(LogLevel::debug, "MAIN", "Member joined: " + ifaces_print(n));
}

void NodeCore::member_left(NodeId n) {
    keys_.set("runtime.members." + std::to_string(n) + ".status", services::Value::str("left"));
    emit_log(LogLevel::debug, "MAIN", "Member left: " + ifaces_print(n));
}

// totemknet_ifaces_print: "r(<link>) ip(<address>) " per configured link of the node.
std::string NodeCore::ifaces_print(NodeId n) const {
    std::string ip;
    for (const auto& node : config_.nodes) {
        if (node.nodeid != n)
            continue;
        for (unsigned l = 0; l < conf::kInterfaceMax; ++l)
            if (node.ring_addr[l])
                ip += "r(" + std::to_string(l) + ") ip(" + node.ring_addr[l]->str() + ") ";
    }
    return ip;
}

// ---- sync::Host ---------------------------------------------------------------------------

bool NodeCore::mcast_sync(ByteView message) {
    return stack_.mcast("sync", message, Guarantee::agreed);
}

void NodeCore::sync_completed() {
    // exec/main.c corosync_sync_completed
    emit_log(LogLevel::notice, "MAIN",
             "Completed service synchronization, ready to provide service.");
    sync_in_process_ = false;
    sync_completions_++;
    if (options_.observer)
        options_.observer->sync_completed(outbox_.size());
    stack_.trans_ack();
    if (!ipc_allowed_) {
        ipc_allowed_ = true;
        outbox_.push_back(ReadyEffect{});
    }
}

void NodeCore::sync_log(LogLevel level, std::string text) {
    emit_log(level, "SYNC", std::move(text));
}

// ---- delivery (exec/main.c deliver_fn) ----------------------------------------------------

void NodeCore::on_deliver(const AppDeliverEffect& d) {
    const GroupMessage& m = d.msg;
    delivery_ = services::Delivery{m.sender, d.guarantee, d.ring_id};
    for (std::string_view g : m.groups) {
        if (g == "a") {
            deliver_exec(m);
            return;
        }
        if (g == "sync") {
            sync_.deliver(m.sender, m.payload, m.swapped);
            return;
        }
        for (auto* s : others_)
            if (s->info().group == g) {
                s->exec(m.sender, 0, m.payload);
                return;
            }
    }
    // A group nobody here joined (corosync drops it unread).
    dropped_unknown_group_++;
}

void NodeCore::deliver_exec(const GroupMessage& m) {
    Reader r(m.payload);
    std::uint32_t id = r.u32();
    if (!r.ok() || m.payload.size() < exec_header_size) {
        dropped_malformed_exec_++;
        keys_.set("stats.totemd.dropped.malformed_exec",
                  services::Value::u64(dropped_malformed_exec_));
        return;
    }
    if (m.swapped)
        id = swap32(id);
    const auto sid = static_cast<std::uint16_t>(id >> 16);
    const auto fn = static_cast<std::uint16_t>(id & 0xffff);
    services::Service* s = service(sid);
    if (m.swapped) {
        // Mixed-endian rings cannot work on knet (spec B1.3): counted, dropped, logged once.
        if (dropped_other_endian_++ == 0)
            emit_log(LogLevel::error, "MAIN",
                     "Dropping exec messages from node " + std::to_string(m.sender) +
                         ": it has the other byte order (service " + std::to_string(sid) + ")");
        keys_.set("stats.totemd.dropped.other_endian", services::Value::u64(dropped_other_endian_));
        return;
    }
    if (!s) {
        const std::uint64_t n = ++unknown_service_msgs_[sid];
        if (n == 1)
            emit_log(LogLevel::notice, "MAIN",
                     "Dropping exec messages of service " + std::to_string(sid) + " from node " +
                         std::to_string(m.sender) + ": the service is not loaded in this totemd");
        keys_.set("stats.totemd.dropped.service" + std::to_string(sid), services::Value::u64(n));
        return;
    }
    const services::ServiceInfo info = s->info();
    if (fn >= info.exec_count) {
        dropped_unknown_fn_++;
        emit_log(LogLevel::warning, "MAIN",
                 "discarded unknown message " + std::to_string(fn) + " for service " +
                     std::to_string(sid) + " (max id " + std::to_string(info.exec_count) + ")");
        return;
    }
    keys_.fast_inc(service_counter_key(sid, fn, true));
    if (options_.observer)
        options_.observer->exec(outbox_.size(), delivery_, sid, fn, m.payload);
    s->exec(m.sender, fn, m.payload);
}

void NodeCore::dispatch_notifications() {
    for (int round = 0; keys_.has_notifications() || stats_.has_notifications(); ++round) {
        TOTEM_ASSERT(round < 64);  // a tracker that keeps changing what it tracks
        std::vector<services::Notification> ns = keys_.take_notifications();
        for (auto& n : stats_.take_notifications())
            ns.push_back(std::move(n));
        for (const auto& n : ns) {
            core_key_changed(n);
            for (auto& s : services_)
                if (s)
                    s->key_changed(n);
            for (auto* s : others_)
                s->key_changed(n);
        }
    }
}

// ---- IPC (exec/ipc_glue.c) ----------------------------------------------------------------

int NodeCore::ipc_accept(std::uint16_t sid, std::uint32_t uid, std::uint32_t gid) {
    TOTEM_ASSERT(!in_input_);
    TOTEM_ASSERT(outbox_.empty());
    if (!ipc_allowed_) {
        emit_log(LogLevel::debug, "MAIN", "Denied connection, corosync is not ready");
        return -EAGAIN;
    }
    services::Service* s = service(sid);
    if (!s || s->info().lib_count == 0)
        return -ENOSYS;
    if (uid == 0 || gid == 0)
        return 0;
    for (const std::string& key :
         {"uidgid.uid." + std::to_string(uid), "uidgid.config.uid." + std::to_string(uid),
          "uidgid.gid." + std::to_string(gid), "uidgid.config.gid." + std::to_string(gid)}) {
        if (keys_.get_u8(key) == std::optional<std::uint8_t>(1))
            return 0;
    }
    emit_log(LogLevel::error, "MAIN",
             "Denied connection attempt from " + std::to_string(uid) + ":" + std::to_string(gid));
    return -EACCES;
}

bool NodeCore::ipc_connected(Instant now, const ClientInfo& client) {
    bool ok = true;
    input(now, [&] {
        services::Service* s = service(client.service);
        TOTEM_ASSERT(s != nullptr);
        TOTEM_ASSERT(!conns_.count(client.conn));
        emit_log(LogLevel::debug, "MAIN", "connection created");
        conns_[client.conn] = Conn{client};
        if (!s->lib_init(client)) {
            emit_log(LogLevel::error, "MAIN", "lib_init_fn failed, disconnecting");
            conns_.erase(client.conn);
            outbox_.push_back(IpcDisconnect{client.conn});
            ok = false;
        }
    });
    return ok;
}

int NodeCore::ipc_request(Instant now, ConnId conn, ByteView request) {
    int result = 0;
    input(now, [&] {
        auto it = conns_.find(conn);
        if (it == conns_.end()) {
            result = -EINVAL;  // a connection we never admitted (the driver's bug): ignore it
            return;
        }
        Conn& c = it->second;
        services::Service* s = service(c.info.service);
        const services::ServiceInfo info = s->info();
        Reader r(request);
        const std::int32_t id = r.i32();
        r.u32();
        const std::int32_t size = r.i32();
        const bool is_async = info.id == cpg_service && id == cpg_mcast_request;
        // corosync_sending_allowed: the message must fit the Totem queue at all, the id must
        // be known, and a flow-controlled request needs room now and no sync running.
        int send_ok = 1;
        if (!r.ok() || request.size() < exec_header_size || size < 0 ||
            static_cast<std::size_t>(size) != request.size() ||
            request.size() + 1 >= stack_.message_size_limit() || id < 0 ||
            id >= static_cast<std::int32_t>(info.lib_count)) {
            send_ok = -EINVAL;
        } else if (!quorate() && !info.allow_inquorate) {
            send_ok = -EHOSTUNREACH;
        } else if (s->flow_control(id) == services::FlowControl::required) {
            if (!stack_.room_for(request.size() + 1))
                send_ok = -ENOBUFS;
            else if (sync_in_process_)
                send_ok = -EINPROGRESS;
        }
        if (send_ok == -EINVAL) {
            c.invalid_request++;
            if (is_async)
                emit_log(LogLevel::info, "MAIN", "*** cs_ipcs_msg_process() invalid message!");
            else
                outbox_.push_back(IpcResponse{conn, bare_response(cs_err_invalid_param)});
            result = -EINVAL;
            return;
        }
        if (send_ok < 0) {
            c.overload++;
            if (is_async)
                emit_log(LogLevel::warning, "MAIN",
                         "*** cs_ipcs_msg_process() (" + std::to_string(info.id) + ":" +
                             std::to_string(id) + " - 1) " +
                             (send_ok == -ENOBUFS        ? "No buffer space available"
                              : send_ok == -EHOSTUNREACH ? "No route to host"
                                                         : "Operation now in progress") +
                             "!");
            else
                outbox_.push_back(IpcResponse{conn, bare_response(cs_err_try_again)});
            result = -ENOBUFS;
            return;
        }
        s->lib_request(conn, id, request);
    });
    return result;
}

void NodeCore::ipc_closed(Instant now, ConnId conn) {
    input(now, [&] {
        auto it = conns_.find(conn);
        if (it == conns_.end())
            return;
        emit_log(LogLevel::debug, "MAIN", "cs_ipcs_connection_closed() ");
        if (services::Service* s = service(it->second.info.service))
            s->lib_exit(conn);
        conns_.erase(it);
        ipc_closed_++;
    });
}

void NodeCore::update_flow_control() {
    // totempg's check_q_level with its hysteresis, then cs_ipcs_check_for_flow_control.
    // Beyond corosync: also CRITICAL while the queue has no room for the largest message. An
    // admitted CPG MCAST that finds no room is dropped without an answer (libcpg reads none), and
    // at 74 % a 4 MiB queue has less than 1 MiB left; the client sees TRY_AGAIN instead.
    const std::uint32_t used = stack_.queue_percent_used();
    if (used >= 75 || !stack_.room_for(largest_app_message))
        q_level_ = QLevel::critical;
    else if (used < 30)
        q_level_ = QLevel::low;
    else if (used > 40 && used < 50)
        q_level_ = QLevel::good;
    else if (used > 60 && used < 70)
        q_level_ = QLevel::high;
    for (std::size_t id = 0; id < services_.size(); ++id) {
        if (!services_[id] || services_[id]->info().lib_count == 0)
            continue;
        RateLimit limit = RateLimit::normal;
        if (!quorate() && !services_[id]->info().allow_inquorate)
            limit = RateLimit::off;
        else if (q_level_ == QLevel::critical || (sync_in_process_ && id != votequorum_service))
            limit = RateLimit::off_2;
        else if (q_level_ == QLevel::low)
            limit = RateLimit::fast;
        else if (q_level_ == QLevel::good)
            limit = RateLimit::normal;
        else
            limit = RateLimit::slow;
        if (rate_limit_set_[id] && rate_limits_[id] == limit)
            continue;
        rate_limit_set_[id] = true;
        rate_limits_[id] = limit;
        outbox_.push_back(IpcRateLimit{static_cast<std::uint16_t>(id), limit});
    }
}

// ---- outcomes of actions ------------------------------------------------------------------

void NodeCore::reload_done(Instant now, Result<conf::Config, std::string> reloaded) {
    input(now, [&] { apply_reload(std::move(reloaded)); });
}

void NodeCore::logs_reopened(Instant now, ConnId conn, bool ok) {
    input(now, [&] {
        for (auto& s : services_)
            if (s)
                s->logs_reopened(conn, ok);
    });
}

// ---- services::Api --------------------------------------------------------------------------

bool NodeCore::mcast(ByteView message, Guarantee g) {
    const ByteView parts[1] = {message};
    return mcast_parts(parts, g);
}

bool NodeCore::mcast_parts(std::span<const ByteView> parts, Guarantee g) {
    // The parts go to totempg as one message (one iovec: that decides how totempg packs it);
    // a single part is that message already and is not copied.
    Bytes joined;
    ByteView message = parts.size() == 1 ? parts.front() : ByteView{};
    if (parts.size() != 1) {
        for (ByteView p : parts)
            joined.insert(joined.end(), p.begin(), p.end());
        message = joined;
    }
    Reader r(message);
    const std::uint32_t id = r.u32();
    TOTEM_ASSERT(r.ok());  // our own services build their messages
    if (!stack_.mcast("a", message, g))
        return false;
    const auto sid = static_cast<std::uint16_t>(id >> 16);
    if (service(sid) != nullptr)
        keys_.fast_inc(service_counter_key(sid, static_cast<std::uint16_t>(id & 0xffff), false));
    return true;
}

const std::string& NodeCore::service_counter_key(std::uint16_t sid, std::uint16_t fn, bool rx) {
    const std::uint32_t k = (std::uint32_t{sid} << 17) | (std::uint32_t{fn} << 1) | (rx ? 1 : 0);
    auto [it, inserted] = service_counter_keys_.try_emplace(k);
    if (inserted) {
        services::Service* s = service(sid);
        TOTEM_ASSERT(s != nullptr);
        it->second = "runtime.services." + std::string(s->info().short_name) + "." +
                     std::to_string(fn) + (rx ? ".rx" : ".tx");
    }
    return it->second;
}

bool NodeCore::mcast_group(std::string_view group, ByteView message, Guarantee g) {
    return stack_.mcast(group, message, g);
}

void NodeCore::exclude(NodeId node) {
    stack_.exclude(now_, node);
}

bool NodeCore::room_for(std::size_t bytes) const {
    return stack_.room_for(bytes + 1);
}

void NodeCore::respond(ConnId conn, Bytes response) {
    // corosync fires key notifications inside the change, before the handler answers: a
    // tracker's event, a blackbox dump, come before the response (corosync-blackbox reads the
    // dump as soon as its set returns).
    dispatch_notifications();
    outbox_.push_back(IpcResponse{conn, std::move(response)});
}

void NodeCore::send_event(ConnId conn, Bytes event) {
    outbox_.push_back(IpcEvent{conn, SharedBytes(std::move(event))});
}

void NodeCore::send_shared_event(ConnId conn, const SharedBytes& event) {
    outbox_.push_back(IpcEvent{conn, event});
}

void NodeCore::disconnect(ConnId conn) {
    outbox_.push_back(IpcDisconnect{conn});
}

const ClientInfo* NodeCore::client(ConnId conn) const {
    auto it = conns_.find(conn);
    return it == conns_.end() ? nullptr : &it->second.info;
}

void NodeCore::invalid_request(ConnId conn) {
    auto it = conns_.find(conn);
    if (it != conns_.end())
        it->second.invalid_request++;
}

void NodeCore::log(LogLevel level, std::string_view subsys, std::string text) {
    emit_log(level, subsys, std::move(text));
}

void NodeCore::emit_log(LogLevel level, std::string_view subsys, std::string text) {
    outbox_.push_back(LogLine{level, std::string(subsys), std::move(text)});
}

void NodeCore::request(services::Action action) {
    if (std::holds_alternative<services::ReloadConfigAction>(action)) {
        if (reload_pending_)
            return;  // one re-read covers both
        reload_pending_ = true;
    }
    std::visit([this](auto& a) { outbox_.push_back(std::move(a)); }, action);
}

// cfg's shutdown (exec/cfg.c → api->shutdown_request): cfg logged its own line ("Node N was
// shut down by sysadmin"); corosync adds none of MAIN's, only the unload lines.
void NodeCore::shutdown(std::string reason) {
    if (leaving_ || draining_)
        return;
    begin_leave(std::move(reason));
}

void NodeCore::quorum_initialize(const services::QuorumState& quorum) {
    TOTEM_ASSERT(quorum_ == nullptr);  // corosync_quorum_initialize: one quorum engine
    quorum_ = &quorum;
}

const services::KeyStore& NodeCore::stats_view() {
    refresh_stats_map();
    return stats_;
}

void NodeCore::check_invariants() const {
    stack_.check_invariants();
    sync_.check_invariants();
    TOTEM_ASSERT(!ipc_allowed_ || sync_completions_ > 0);
    TOTEM_ASSERT(sync_in_process_ || sync_.phase() == sync::Sync::Phase::idle);
    for (const auto& s : services_)
        if (s)
            s->check_invariants();
    for (const auto* s : others_)
        s->check_invariants();
}

}  // namespace totem::core
