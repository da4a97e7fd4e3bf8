#include "services/cfg.hpp"

#include <algorithm>

#include "common/assert.hpp"
#include "proto/cfg.hpp"

namespace totem::services {

namespace pc = proto::cfg;
using proto::CsError;

namespace {

const conf::NodeEntry* find_node(const conf::Config& c, NodeId id) {
    for (const auto& n : c.nodes)
        if (n.nodeid == id)
            return &n;
    return nullptr;
}

}  // namespace

ServiceInfo Cfg::info() const {
    return ServiceInfo{service_id, "cfg", "corosync configuration service", "corosync_cfg", 5, 12};
}

FlowControl Cfg::flow_control(std::int32_t id) const {
    switch (static_cast<pc::ReqId>(id)) {
        case pc::ReqId::get_node_addrs:
        case pc::ReqId::local_get:
        case pc::ReqId::reopen_log_files:
        case pc::ReqId::nodestatusget:
            return FlowControl::not_required;
        default:
            return FlowControl::required;
    }
}

bool Cfg::lib_init(const ClientInfo& client) {
    conns_[client.conn] = Conn{};
    return true;
}

void Cfg::lib_exit(ConnId conn) {
    remove_from_shutdown(conn);
    conns_.erase(conn);
    std::erase(reload_waiting_, conn);
}

// ---- shutdown -----------------------------------------------------------------------------

void Cfg::send_shutdown() {
    api_.mcast(pc::encode(pc::ExecShutdown{}), Guarantee::corosync_safe);
}

void Cfg::send_test_shutdown(std::optional<ConnId> only, std::optional<ConnId> exclude,
                             std::int32_t status) {
    const Bytes ev = pc::encode(pc::ResTestShutdown{static_cast<CsError>(status), shutdown_flags_});
    if (only) {
        api_.send_event(*only, ev);
        return;
    }
    for (ConnId t : trackers_)
        if (!exclude || t != *exclude)
            api_.send_event(t, ev);
}

void Cfg::check_shutdown_status() {
    if (!shutdown_con_)
        return;  // the shutdown client went away
    if (shutdown_yes_ + shutdown_no_ < shutdown_expected_)
        return;
    shutdown_deadline_.reset();
    const ConnId con = *shutdown_con_;
    shutdown_con_.reset();
    if (shutdown_yes_ >= shutdown_expected_ || shutdown_flags_ == pc::shutdown_flag_regardless) {
        api_.respond(con, pc::encode(pc::ResTryShutdown{CsError::ok}));
        send_shutdown();
    } else {
        api_.respond(con, pc::encode(pc::ResTryShutdown{CsError::err_busy}));
    }
    api_.log(LogLevel::debug, "CFG",
             "shutdown decision is: (yes count: " + std::to_string(shutdown_yes_) + ", no count: " +
                 std::to_string(shutdown_no_) + ") flags=" + std::to_string(shutdown_flags_));
}

void Cfg::on_timer(Instant now) {
    if (!shutdown_deadline_ || now < *shutdown_deadline_)
        return;
    shutdown_deadline_.reset();
    // shutdown_timer_fn: the undecided count as no
    shutdown_no_ = shutdown_expected_;
    check_shutdown_status();
    send_test_shutdown(std::nullopt, std::nullopt, static_cast<std::int32_t>(CsError::err_timeout));
}

void Cfg::remove_from_shutdown(ConnId conn) {
    if (shutdown_con_ && *shutdown_con_ == conn) {
        shutdown_con_.reset();
        shutdown_deadline_.reset();
    }
    auto it = std::find(trackers_.begin(), trackers_.end(), conn);
    if (it == trackers_.end())
        return;
    trackers_.erase(it);
    Conn& c = conns_[conn];
    c.tracker = false;
    if (shutdown_con_) {
        if (c.reply == Reply::yes)
            shutdown_yes_--;
        if (c.reply == Reply::no)
            shutdown_no_--;
    }
    // leaving is an implicit yes
    c.reply = Reply::yes;
    shutdown_yes_++;
    check_shutdown_status();
}

// ---- requests -----------------------------------------------------------------------------

void Cfg::respond_error(ConnId conn, std::int32_t id) {
    // A request the codec refused: the reply of its kind with CS_ERR_INVALID_PARAM.
    decode_errors_++;
    api_.invalid_request(conn);
    const CsError e = CsError::err_invalid_param;
    switch (static_cast<pc::ReqId>(id)) {
        case pc::ReqId::ringstatusget: {
            pc::ResRingStatusGet r;
            r.error = e;
            return api_.respond(conn, pc::encode(r));
        }
        case pc::ReqId::ringreenable:
            return api_.respond(conn, pc::encode(pc::ResRingReenable{e}));
        case pc::ReqId::killnode:
            return api_.respond(conn, pc::encode(pc::ResKillNode{e}));
        case pc::ReqId::tryshutdown:
            return api_.respond(conn, pc::encode(pc::ResTryShutdown{e}));
        case pc::ReqId::replytoshutdown:
            return api_.respond(conn, pc::encode(pc::ResReplyToShutdown{e}));
        case pc::ReqId::get_node_addrs: {
            pc::ResGetNodeAddrs r;
            r.error = e;
            return api_.respond(conn, pc::encode(r));
        }
        case pc::ReqId::local_get:
            return api_.respond(conn, pc::encode(pc::ResLocalGet{e, 0}));
        case pc::ReqId::reload_config:
            return api_.respond(conn, pc::encode(pc::ResReloadConfig{e}));
        case pc::ReqId::reopen_log_files:
            return api_.respond(conn, pc::encode(pc::ResReopenLogFiles{e}));
        case pc::ReqId::nodestatusget: {
            pc::ResNodeStatusGet r;
            r.error = e;
            return api_.respond(conn, pc::encode(r));
        }
        case pc::ReqId::trackstart:
            return api_.respond(conn, pc::encode(pc::ResTrackStart{e}));
        case pc::ReqId::trackstop:
            return api_.respond(conn, pc::encode(pc::ResTrackStop{e}));
    }
}

void Cfg::lib_request(ConnId conn, std::int32_t id, ByteView request) {
    auto req = pc::decode_request(request);
    if (!req) {
        respond_error(conn, id);
        return;
    }
    Conn& c = conns_[conn];
    std::visit(
        [&](auto& r) {
            using T = std::decay_t<decltype(r)>;
            if constexpr (std::is_same_v<T, pc::ReqRingStatusGet>) {
                api_.respond(conn, pc::encode(ring_status()));
            } else if constexpr (std::is_same_v<T, pc::ReqRingReenable>) {
                api_.respond(conn, pc::encode(pc::ResRingReenable{CsError::err_not_supported}));
            } else if constexpr (std::is_same_v<T, pc::ReqKillNode>) {
                // The target must be a joined member (runtime.members.<id>.status).
                const auto status = api_.keys().get_string("runtime.members." +
                                                           std::to_string(r.nodeid) + ".status");
                CsError e = CsError::ok;
                if (!status || *status != "joined") {
                    e = CsError::err_not_exist;
                } else {
                    pc::ExecKillNode k;
                    k.nodeid = r.nodeid;
                    k.reason = r.reason;
                    api_.mcast(pc::encode(k), Guarantee::corosync_safe);
                }
                api_.respond(conn, pc::encode(pc::ResKillNode{e}));
            } else if constexpr (std::is_same_v<T, pc::ReqTryShutdown>) {
                if (r.flags == pc::shutdown_flag_immediate) {
                    send_shutdown();
                    api_.respond(conn, pc::encode(pc::ResTryShutdown{CsError::ok}));
                    return;
                }
                if (shutdown_con_) {
                    api_.respond(conn, pc::encode(pc::ResTryShutdown{CsError::err_exist}));
                    return;
                }
                shutdown_con_ = conn;
                shutdown_flags_ = r.flags;
                shutdown_yes_ = shutdown_no_ = shutdown_expected_ = 0;
                for (ConnId t : trackers_) {
                    if (t == conn)
                        continue;
                    conns_[t].reply = Reply::unknown;
                    shutdown_expected_++;
                }
                if (shutdown_expected_ == 0) {
                    shutdown_con_.reset();
                    api_.respond(conn, pc::encode(pc::ResTryShutdown{CsError::ok}));
                    send_shutdown();
                    return;
                }
                const std::uint32_t timeout_ms = api_.keys()
                                                     .get_u32("cfg.shutdown_timeout")
                                                     .value_or(shutdown_timeout_default_ms);
                shutdown_deadline_ = api_.now() + Duration::ms(timeout_ms);
                send_test_shutdown(std::nullopt, conn, static_cast<std::int32_t>(CsError::ok));
                // the caller waits for the decision
            } else if constexpr (std::is_same_v<T, pc::ReqReplyToShutdown>) {
                CsError e = CsError::ok;
                if (!shutdown_con_) {
                    e = CsError::err_access;
                } else if (r.response) {
                    shutdown_yes_++;
                    c.reply = Reply::yes;
                } else {
                    shutdown_no_++;
                    c.reply = Reply::no;
                }
                if (e == CsError::ok)
                    check_shutdown_status();
                api_.respond(conn, pc::encode(pc::ResReplyToShutdown{e}));
            } else if constexpr (std::is_same_v<T, pc::ReqGetNodeAddrs>) {
                api_.respond(conn, pc::encode(node_addrs(r.nodeid)));
            } else if constexpr (std::is_same_v<T, pc::ReqLocalGet>) {
                api_.respond(conn, pc::encode(pc::ResLocalGet{CsError::ok, api_.my_nodeid()}));
            } else if constexpr (std::is_same_v<T, pc::ReqReloadConfig>) {
                pc::ExecReloadConfig m;
                m.source.nodeid = api_.my_nodeid();
                m.source.conn = conn;  // opaque to every other node
                if (!api_.mcast(pc::encode(m), Guarantee::corosync_safe))
                    api_.respond(conn, pc::encode(pc::ResReloadConfig{CsError::err_try_again}));
                // answered when the reload was applied (config_reloaded)
            } else if constexpr (std::is_same_v<T, pc::ReqReopenLogFiles>) {
                api_.log(LogLevel::debug, "CFG", "Reopening logging files");
                api_.request(ReopenLogsAction{conn});
            } else if constexpr (std::is_same_v<T, pc::ReqNodeStatusGet>) {
                api_.respond(conn, pc::encode(node_status(r.nodeid, r.version)));
            } else if constexpr (std::is_same_v<T, pc::ReqTrackStart>) {
                if (!c.tracker) {
                    c.tracker = true;
                    trackers_.push_back(conn);
                    if (shutdown_con_) {
                        // a shutdown is in progress: ask the newcomer too
                        c.reply = Reply::unknown;
                        shutdown_expected_++;
                        send_test_shutdown(conn, std::nullopt,
                                           static_cast<std::int32_t>(CsError::ok));
                    }
                }
                api_.respond(conn, pc::encode(pc::ResTrackStart{CsError::ok}));
            } else if constexpr (std::is_same_v<T, pc::ReqTrackStop>) {
                remove_from_shutdown(conn);
                api_.respond(conn, pc::encode(pc::ResTrackStop{CsError::ok}));
            }
        },
        *req);
}

void Cfg::logs_reopened(ConnId conn, bool ok) {
    if (!conns_.count(conn))
        return;
    api_.respond(conn, pc::encode(pc::ResReopenLogFiles{ok ? CsError::ok : CsError::err_library}));
}

void Cfg::config_reloaded() {
    for (ConnId conn : std::exchange(reload_waiting_, {}))
        if (conns_.count(conn))
            api_.respond(
                conn, pc::encode(pc::ResReloadConfig{static_cast<CsError>(api_.reload_status())}));
}

// ---- status -----------------------------------------------------------------------------

// corosync's totem_ifaces_get for this node: one interface per configured link, its status a
// character per node in id order ('n' this node, else '0' + enabled | connected << 1 |
// dynconnected << 2, 'd' when the link has no status for that node).
pc::ResRingStatusGet Cfg::ring_status() const {
    pc::ResRingStatusGet r;
    const conf::Config& c = api_.config();
    const conf::NodeEntry* me = find_node(c, api_.my_nodeid());
    const auto& nodes = api_.transport().nodes;
    for (unsigned l = 0; me && l < conf::kInterfaceMax && r.interfaces.size() < pc::interfaces_max;
         ++l) {
        if (!me->ring_addr[l])
            continue;
        pc::Interface i;
        i.name = std::to_string(l) + " " + me->ring_addr[l]->str();
        for (const NodeStatus& ns : nodes) {
            if (ns.nodeid == api_.my_nodeid()) {
                i.status += 'n';
                continue;
            }
            char ch = 'd';
            for (const LinkStatus& ls : ns.links)
                if (ls.link == l)
                    ch = static_cast<char>('0' + (ls.enabled ? 1 : 0) + (ls.connected ? 2 : 0) +
                                           (ls.dynconnected ? 4 : 0));
            i.status += ch;
        }
        r.interfaces.push_back(std::move(i));
    }
    return r;
}

pc::ResGetNodeAddrs Cfg::node_addrs(NodeId nodeid) const {
    pc::ResGetNodeAddrs r;
    if (nodeid == 0)
        nodeid = api_.my_nodeid();
    const conf::NodeEntry* n = find_node(api_.config(), nodeid);
    if (n) {
        for (unsigned l = 0; l < conf::kInterfaceMax && r.addrs.size() < pc::node_addrs_max; ++l) {
            if (!n->ring_addr[l])
                continue;
            if (r.addrs.empty())
                r.family = static_cast<std::uint32_t>(n->ring_addr[l]->family);
            std::array<std::uint8_t, pc::addr_len> a{};
            std::copy(std::begin(n->ring_addr[l]->bytes), std::end(n->ring_addr[l]->bytes),
                      a.begin());
            // corosync tests a sockaddr_storage's ss_family laid over the raw address
            if (a[0] == 0 && a[1] == 0)
                continue;
            r.addrs.push_back(a);
        }
    }
    if (r.addrs.empty()) {
        r.error = CsError::err_not_exist;
        r.family = 0;
    }
    return r;
}

pc::ResNodeStatusGet Cfg::node_status(NodeId nodeid, std::uint32_t version) const {
    pc::ResNodeStatusGet r;
    r.nodeid = nodeid;
    if (api_.transport().transport != "knet") {
        // corosync's totemudpu_nodestatus_get: CS_OK for any id; reachable = a member of the
        // ring (totemsrp's proc list), link 0 connected = reachable, enabled = bound, mtu =
        // netmtu, src_ipaddr = the member's address.
        if (version != pc::node_status_v1) {
            r.error = CsError::err_not_supported;
            r.version = version;
            return r;
        }
        const auto& members = api_.members();
        const bool member = std::find(members.begin(), members.end(), nodeid) != members.end();
        r.reachable = member;
        for (const NodeStatus& ns : api_.transport().nodes) {
            if (ns.nodeid != nodeid)
                continue;
            for (const LinkStatus& ls : ns.links) {
                if (ls.link != 0)
                    continue;
                pc::LinkStatus& out = r.links[0];
                out.enabled = ls.enabled;
                out.connected = member;
                out.mtu = ls.mtu;
                out.src_ipaddr = ls.src_ip;
                out.dst_ipaddr = ls.dst_ip;
            }
        }
        return r;
    }
    const NodeStatus* found = nullptr;
    for (const NodeStatus& ns : api_.transport().nodes)
        if (ns.nodeid == nodeid)
            found = &ns;
    if (!found) {
        r.error = CsError::err_failed_operation;
        return r;
    }
    if (version != pc::node_status_v1) {
        r.error = CsError::err_not_supported;
        r.version = version;
        return r;
    }
    r.reachable = found->reachable;
    r.remote = found->remote;
    r.external = found->external;
    r.onwire_min = found->onwire_min;
    r.onwire_max = found->onwire_max;
    r.onwire_ver = found->onwire_ver;
    for (const LinkStatus& ls : found->links) {
        if (ls.link >= pc::links_max)
            continue;
        pc::LinkStatus& out = r.links[ls.link];
        out.enabled = ls.enabled;
        out.connected = ls.connected;
        out.dynconnected = ls.dynconnected;
        out.mtu = ls.mtu;
        out.src_ipaddr = ls.src_ip;
        out.dst_ipaddr = ls.dst_ip;
    }
    return r;
}

// ---- exec ---------------------------------------------------------------------------------

void Cfg::exec(NodeId sender, std::uint16_t fn, ByteView message) {
    auto m = pc::decode_exec(message);
    if (!m) {
        decode_errors_++;
        api_.log(LogLevel::warning, "CFG",
                 "Dropping a malformed cfg message from node " + std::to_string(sender) + ": " +
                     std::string(proto::to_string(m.error())));
        return;
    }
    (void)fn;
    std::visit(
        [&](auto& e) {
            using T = std::decay_t<decltype(e)>;
            if constexpr (std::is_same_v<T, pc::ExecKillNode>) {
                api_.log(LogLevel::debug, "CFG",
                         "request to kill node " + std::to_string(e.nodeid) +
                             " (us=" + std::to_string(api_.my_nodeid()) + ")");
                if (e.nodeid == api_.my_nodeid()) {
                    std::string reason = e.reason;
                    if (auto nul = reason.find('\0'); nul != std::string::npos)
                        reason.resize(nul);
                    api_.log(LogLevel::notice, "CFG",
                             "Killed by node " + std::to_string(sender) + " : " + reason);
                    // corosync_fatal_error(COROSYNC_FATAL_ERROR_EXIT): exit(-1), no LEAVE
                    api_.request(ExitAction{255, "Killed by node " + std::to_string(sender)});
                }
            } else if constexpr (std::is_same_v<T, pc::ExecShutdown>) {
                api_.log(LogLevel::notice, "CFG",
                         "Node " + std::to_string(sender) + " was shut down by sysadmin");
                if (sender == api_.my_nodeid())
                    api_.shutdown("Node was shut down by sysadmin");
            } else if constexpr (std::is_same_v<T, pc::ExecReloadConfig>) {
                api_.log(LogLevel::notice, "CFG",
                         "Config reload requested by node " + std::to_string(sender));
                if (e.source.nodeid == api_.my_nodeid())
                    reload_waiting_.push_back(e.source.conn);
                api_.request(ReloadConfigAction{});
            } else if constexpr (std::is_same_v<T, pc::ExecCryptoReconfig>) {
                // totemd does not change crypto at run time (the crypto keys keep their
                // value on reload), so it never sends this; a corosync node's is only its own.
            }
        },
        *m);
}

void Cfg::check_invariants() const {
    TOTEM_ASSERT(!shutdown_con_ || shutdown_deadline_ || shutdown_expected_ == 0 ||
                 shutdown_yes_ + shutdown_no_ >= shutdown_expected_);
    for (ConnId t : trackers_) {
        auto it = conns_.find(t);
        TOTEM_ASSERT(it != conns_.end() && it->second.tracker);
    }
}

}  // namespace totem::services
