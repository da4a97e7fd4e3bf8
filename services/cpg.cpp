#include "services/cpg.hpp"

#include <algorithm>
#include <cstdio>

#include "common/assert.hpp"

namespace totem::services {

namespace pc = proto::cpg;
using proto::CpgAddress;
using proto::CsError;

namespace {

constexpr std::uint32_t totem_guarantee_safe = 3;  // CPG_TYPE_SAFE

// corosync's numbering of enum cpd_state, as its log lines print it.
int state_number(Cpg::State s) {
    switch (s) {
        case Cpg::State::unjoined:
            return 0;
        case Cpg::State::leave_started:
            return 1;
        case Cpg::State::join_started:
            return 2;
        case Cpg::State::join_completed:
            return 3;
    }
    return 0;
}

// cpg_print_group_name: printable bytes as they are, '\' doubled, others as \xNN.
std::string print_group(const std::string& g) {
    std::string s;
    for (unsigned char c : g) {
        if (c >= ' ' && c < 0x7f && c != '\\') {
            s += static_cast<char>(c);
        } else if (c == '\\') {
            s += "\\\\";
        } else {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02X", c);
            s += buf;
        }
    }
    return s;
}

std::string pointer_text(std::uintptr_t p) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%p", reinterpret_cast<void*>(p));
    return buf;
}

Guarantee guarantee_of(std::uint32_t cpg_guarantee) {
    return cpg_guarantee == totem_guarantee_safe ? Guarantee::safe : Guarantee::agreed;
}

bool less_by_node_pid(const Cpg::Process& a, const Cpg::Process& b) {
    return a.nodeid != b.nodeid ? a.nodeid < b.nodeid : a.pid < b.pid;
}

}  // namespace

std::string_view to_string(Cpg::State s) {
    switch (s) {
        case Cpg::State::unjoined:
            return "UNJOINED";
        case Cpg::State::leave_started:
            return "LEAVE_STARTED";
        case Cpg::State::join_started:
            return "JOIN_STARTED";
        case Cpg::State::join_completed:
            return "JOIN_COMPLETED";
    }
    return "?";
}

Cpg::Cpg(Api& api) : Service(api) {}

ServiceInfo Cpg::info() const {
    return ServiceInfo{service_id,
                       "cpg",
                       "corosync cluster closed process group service v1.01",
                       "corosync_cpg",
                       static_cast<std::uint16_t>(exec_engine.size()),
                       static_cast<std::uint16_t>(lib_engine.size())};
}

FlowControl Cpg::flow_control(std::int32_t id) const {
    TOTEM_ASSERT(id >= 0 && static_cast<std::size_t>(id) < lib_engine.size());
    return lib_engine[static_cast<std::size_t>(id)].flow_control;
}

Cpg::Cpd* Cpg::find(ConnId conn) {
    for (Cpd& c : cpds_)
        if (c.conn == conn)
            return &c;
    return nullptr;
}

std::optional<Cpg::State> Cpg::state(ConnId conn) const {
    for (const Cpd& c : cpds_)
        if (c.conn == conn)
            return c.state;
    return std::nullopt;
}

std::size_t Cpg::local_processes() const {
    const NodeId me = api_.my_nodeid();
    return static_cast<std::size_t>(
        std::count_if(process_info_.begin(), process_info_.end(),
                      [me](const Process& p) { return p.nodeid == me; }));
}

// totemknet_ifaces_print, for the log lines that name a node.
std::string Cpg::ifaces(NodeId n) const {
    std::string ip;
    for (const auto& node : api_.config().nodes) {
        if (node.nodeid != n)
            continue;
        for (unsigned l = 0; l < conf::kInterfaceMax; ++l)
            if (node.ring_addr[l])
                ip += "r(" + std::to_string(l) + ") ip(" + node.ring_addr[l]->str() + ") ";
    }
    return ip;
}

// ---- connections ------------------------------------------------------------------------

bool Cpg::lib_init(const ClientInfo& client) {
    TOTEM_ASSERT(find(client.conn) == nullptr);
    Cpd c;
    c.conn = client.conn;
    c.pointer = client.pointer;
    cpds_.insert(cpds_.begin(), std::move(c));  // qb_list_add: at the head
    api_.log(LogLevel::debug, "CPG", "lib_init_fn: conn=" + pointer_text(client.pointer));
    return true;
}

void Cpg::lib_exit(ConnId conn) {
    auto it =
        std::find_if(cpds_.begin(), cpds_.end(), [&](const Cpd& c) { return c.conn == conn; });
    if (it == cpds_.end())
        return;
    api_.log(LogLevel::debug, "CPG", "exit_fn for conn=" + pointer_text(it->pointer));
    // corosync tests group_name.length > 0, which leaves a process of a group named "" in
    // process_info for good; totemd tells the others for every joined state.
    // While a sync runs the PROCLEAVE waits for its end (corosync sends it at once): sent during
    // the sync it can be delivered after this node's JOINLIST listed the process and before the
    // activation, which then adds the process back at every other node (NODEUP) but not here —
    // the members disagree until a later sync removes it as a zombie (found by the simulator).
    if (it->state != State::unjoined && it->state != State::leave_started) {
        if (api_.sync_in_progress() ||
            !send_proc(pc::ExecFn::procleave, it->group, it->pid, pc::reason_procdown)) {
            // corosync ignores a refusal (the process then stays a member everywhere).
            pending_leaves_.emplace_back(it->group, it->pid);
            if (!retry_at_)
                retry_at_ = api_.now() + leave_retry;
        }
    }
    cpds_.erase(it);
}

std::optional<Instant> Cpg::next_deadline() const {
    return retry_at_;
}

void Cpg::on_timer(Instant now) {
    if (!retry_at_ || now < *retry_at_)
        return;
    retry_at_.reset();
    auto pending = std::move(pending_leaves_);
    pending_leaves_.clear();
    for (auto& [group, pid] : pending) {
        if (api_.sync_in_progress()) {  // after the sync (see lib_exit)
            pending_leaves_.emplace_back(std::move(group), pid);
            continue;
        }
        stats_.leave_retries++;
        if (!send_proc(pc::ExecFn::procleave, group, pid, pc::reason_procdown))
            pending_leaves_.emplace_back(std::move(group), pid);
    }
    if (!pending_leaves_.empty())
        retry_at_ = now + leave_retry;
}

bool Cpg::send_proc(pc::ExecFn fn, const std::string& group, std::uint32_t pid,
                    std::uint32_t reason) {
    if (fn == pc::ExecFn::procjoin)
        return api_.mcast(pc::encode(pc::ExecProcJoin{group, pid, reason}), Guarantee::agreed);
    return api_.mcast(pc::encode(pc::ExecProcLeave{group, pid, reason}), Guarantee::agreed);
}

// ---- requests ---------------------------------------------------------------------------

void Cpg::reply_invalid(ConnId conn, std::int32_t id) {
    stats_.malformed_requests++;
    const CsError e = CsError::err_invalid_param;
    switch (static_cast<pc::ReqId>(id)) {
        case pc::ReqId::join:
            return api_.respond(conn, pc::encode(pc::ResJoin{e}));
        case pc::ReqId::leave:
            return api_.respond(conn, pc::encode(pc::ResLeave{e}));
        case pc::ReqId::mcast:
            return;  // MCAST gets no reply: libcpg would read it as the next call's answer
        case pc::ReqId::membership: {
            pc::ResMembershipGet r;
            r.error = e;
            return api_.respond(conn, pc::encode(r));
        }
        case pc::ReqId::local_get:
            return api_.respond(conn, pc::encode(pc::ResLocalGet{e, 0}));
        case pc::ReqId::iterationinitialize:
            return api_.respond(conn, pc::encode(pc::ResIterationInitialize{e, 0}));
        case pc::ReqId::iterationnext: {
            pc::ResIterationNext r;
            r.error = e;
            return api_.respond(conn, pc::encode(r));
        }
        case pc::ReqId::iterationfinalize:
            return api_.respond(conn, pc::encode(pc::ResIterationFinalize{e}));
        case pc::ReqId::finalize:
            return api_.respond(conn, pc::encode(pc::ResFinalize{e}));
        case pc::ReqId::zc_alloc:
            return api_.respond(conn, pc::encode(pc::ResZcAlloc{e}));
        case pc::ReqId::zc_free:
            return api_.respond(conn, pc::encode(pc::ResZcFree{e}));
        case pc::ReqId::zc_execute:
            return api_.respond(conn, pc::encode(pc::ResMcast{e}));
        case pc::ReqId::partial_mcast:
            return api_.respond(conn, pc::encode(pc::ResPartialSend{e}));
    }
}

void Cpg::lib_request(ConnId conn, std::int32_t id, ByteView request) {
    Cpd* cp = find(conn);
    TOTEM_ASSERT(cp != nullptr);
    Cpd& c = *cp;
    if (static_cast<pc::ReqId>(id) == pc::ReqId::mcast) {
        // The hot path: decoded as a view of `request` (alive for this call), encoded from it.
        // A malformed one takes the general path below, which logs and answers it.
        if (auto v = pc::decode_req_mcast_view(request)) {
            on_mcast(c, *v);
            return;
        }
    }
    auto req = pc::decode_request(request);
    if (!req) {
        // Names over CPG_MAX_NAME_LENGTH: the answers corosync gives for them.
        if (req.error() == proto::DecodeError::name_too_long) {
            switch (static_cast<pc::ReqId>(id)) {
                case pc::ReqId::join:
                    return api_.respond(conn, pc::encode(pc::ResJoin{CsError::err_name_too_long}));
                case pc::ReqId::leave:
                    return api_.respond(conn, pc::encode(pc::ResLeave{CsError::err_name_too_long}));
                case pc::ReqId::membership:  // no process has such a name
                    return api_.respond(conn, pc::encode(pc::ResMembershipGet{}));
                case pc::ReqId::iterationinitialize: {  // ONE_GROUP of a name nobody has
                    if (c.iterators.size() < iterators_max) {
                        const std::uint64_t h = next_iteration_handle_++;
                        c.iterators.emplace(h, Iterator{});
                        return api_.respond(conn,
                                            pc::encode(pc::ResIterationInitialize{CsError::ok, h}));
                    }
                    return api_.respond(
                        conn, pc::encode(pc::ResIterationInitialize{CsError::err_no_memory, 0}));
                }
                default:
                    break;
            }
        }
        if (static_cast<pc::ReqId>(id) == pc::ReqId::mcast)
            api_.log(LogLevel::warning, "CPG",
                     "Dropping a malformed mcast request from conn " + pointer_text(c.pointer) +
                         ": " + std::string(proto::to_string(req.error())));
        reply_invalid(conn, id);
        return;
    }
    std::visit(
        [&](auto& r) {
            using T = std::decay_t<decltype(r)>;
            if constexpr (std::is_same_v<T, pc::ReqJoin>) {
                on_join(c, r);
            } else if constexpr (std::is_same_v<T, pc::ReqLeave>) {
                on_leave(c, r);
            } else if constexpr (std::is_same_v<T, pc::ReqMcast>) {
                on_mcast(c, pc::ReqMcastView{r.guarantee, r.message});
            } else if constexpr (std::is_same_v<T, pc::ReqPartialMcast>) {
                on_partial(c, r);
            } else if constexpr (std::is_same_v<T, pc::ReqMembershipGet>) {
                pc::ResMembershipGet res;
                for (const Process& p : process_info_)
                    if (p.group == r.group_name)
                        res.members.push_back(CpgAddress{p.nodeid, p.pid, 0});
                res.members = truncated(std::move(res.members), pc::membership_max, "MEMBERSHIP");
                api_.respond(conn, pc::encode(res));
            } else if constexpr (std::is_same_v<T, pc::ReqLocalGet>) {
                api_.respond(conn, pc::encode(pc::ResLocalGet{CsError::ok, api_.my_nodeid()}));
            } else if constexpr (std::is_same_v<T, pc::ReqIterationInitialize>) {
                on_iteration_init(c, r);
            } else if constexpr (std::is_same_v<T, pc::ReqIterationNext>) {
                api_.log(LogLevel::debug, "CPG", "cpg iteration next");
                pc::ResIterationNext res;
                auto it = c.iterators.find(r.iteration_handle);
                if (it == c.iterators.end()) {
                    res.error = CsError::err_library;
                } else {
                    Iterator& i = it->second;
                    // corosync's list pointer: past the end it is back at the head, and a further
                    // NEXT starts over.
                    ++i.pos;
                    if (i.pos >= static_cast<std::ptrdiff_t>(i.items.size())) {
                        i.pos = -1;
                        res.error = CsError::err_no_sections;
                    } else {
                        const Process& p = i.items[static_cast<std::size_t>(i.pos)];
                        res.group_name = p.group;
                        res.nodeid = p.nodeid;
                        res.pid = p.pid;
                    }
                }
                api_.respond(conn, pc::encode(res));
            } else if constexpr (std::is_same_v<T, pc::ReqIterationFinalize>) {
                api_.log(LogLevel::debug, "CPG", "cpg iteration finalize");
                const bool found = c.iterators.erase(r.iteration_handle) != 0;
                api_.respond(conn, pc::encode(pc::ResIterationFinalize{
                                       found ? CsError::ok : CsError::err_library}));
            } else if constexpr (std::is_same_v<T, pc::ReqFinalize>) {
                api_.log(LogLevel::debug, "CPG",
                         "cpg finalize for conn=" + pointer_text(c.pointer));
                c.listed = false;  // no more events; lib_exit follows when the library closes
                api_.respond(conn, pc::encode(pc::ResFinalize{CsError::ok}));
            } else if constexpr (std::is_same_v<T, pc::ReqZcAlloc>) {
                // corosync 3.1.7 opens, unlinks and truncates the path the client names, as
                // root; zero-copy is not offered (docs/protocol/deviations.md).
                api_.respond(conn, pc::encode(pc::ResZcAlloc{CsError::err_not_supported}));
            } else if constexpr (std::is_same_v<T, pc::ReqZcFree>) {
                api_.respond(conn, pc::encode(pc::ResZcFree{CsError::err_not_supported}));
            } else if constexpr (std::is_same_v<T, pc::ReqZcExecute>) {
                api_.respond(conn, pc::encode(pc::ResMcast{CsError::err_not_supported}));
            }
        },
        *req);
}

void Cpg::on_join(Cpd& c, const pc::ReqJoin& r) {
    CsError error = CsError::ok;
    const NodeId me = api_.my_nodeid();
    const bool same_local = std::any_of(cpds_.begin(), cpds_.end(), [&](const Cpd& o) {
        return o.listed && o.pid == r.pid && o.group == r.group_name;
    });
    const bool leave_pending =
        std::any_of(process_info_.begin(), process_info_.end(), [&](const Process& p) {
            return p.nodeid == me && p.pid == r.pid && p.group == r.group_name;
        });
    if (same_local) {
        error = CsError::err_exist;
    } else if (leave_pending) {
        error = CsError::err_try_again;
    } else {
        switch (c.state) {
            case State::unjoined: {
                const std::size_t joining = static_cast<std::size_t>(
                    std::count_if(cpds_.begin(), cpds_.end(),
                                  [](const Cpd& o) { return o.state == State::join_started; }));
                if (local_processes() + joining >= pc::joinlist_entries_max) {
                    error = CsError::err_no_resources;  // one more would not fit a JOINLIST
                    break;
                }
                if (!send_proc(pc::ExecFn::procjoin, r.group_name, r.pid, pc::reason_join)) {
                    error = CsError::err_try_again;  // corosync asserts here
                    break;
                }
                c.state = State::join_started;
                c.pid = r.pid;
                c.flags = r.flags;
                c.group = r.group_name;
                break;
            }
            case State::leave_started:
                error = CsError::err_busy;
                break;
            case State::join_started:
            case State::join_completed:
                error = CsError::err_exist;
                break;
        }
    }
    api_.respond(c.conn, pc::encode(pc::ResJoin{error}));
}

void Cpg::on_leave(Cpd& c, const pc::ReqLeave& r) {
    api_.log(LogLevel::debug, "CPG", "got leave request on " + pointer_text(c.pointer));
    CsError error = CsError::ok;
    switch (c.state) {
        case State::unjoined:
        case State::leave_started:
            error = CsError::err_not_exist;
            break;
        case State::join_started:
            error = CsError::err_busy;
            break;
        case State::join_completed:
            if (!send_proc(pc::ExecFn::procleave, r.group_name, r.pid, pc::reason_leave)) {
                error = CsError::err_try_again;
                break;
            }
            c.state = State::leave_started;
            break;
    }
    api_.respond(c.conn, pc::encode(pc::ResLeave{error}));
}

void Cpg::on_mcast(Cpd& c, const pc::ReqMcastView& r) {
    if (c.state != State::join_started && c.state != State::join_completed) {
        stats_.mcast_refused++;
        api_.log(LogLevel::error, "CPG",
                 "*** " + pointer_text(c.pointer) + " can't mcast to group " +
                     print_group(c.group) + " state:" + std::to_string(state_number(c.state)) +
                     ", error:" + std::to_string(static_cast<int>(CsError::err_not_exist)));
        return;
    }
    const proto::MessageSource source{api_.my_nodeid(), static_cast<std::uint64_t>(c.pointer)};
    const Guarantee g = guarantee_of(r.guarantee);
    if (!api_.mcast(pc::encode_exec_mcast(c.group, c.pid, source, r.message), g)) {
        // corosync asserts; the admission keeps room for the largest request, so this is a
        // message over totempg's limit (only a client other than libcpg sends one).
        stats_.mcast_queue_full++;
        api_.log(LogLevel::error, "CPG",
                 "*** " + pointer_text(c.pointer) + " mcast of " +
                     std::to_string(r.message.size()) + " bytes to group " + print_group(c.group) +
                     " refused by the Totem queue: dropped");
        return;
    }
    if (g == Guarantee::safe)
        stats_.safe_sent++;
}

void Cpg::on_partial(Cpd& c, const pc::ReqPartialMcast& r) {
    api_.log(LogLevel::debug, "CPG",
             "Sending fragmented message size = " + std::to_string(r.fragment.size()) + " bytes");
    CsError error = CsError::err_not_exist;
    if (c.state == State::join_started || c.state == State::join_completed)
        error = CsError::ok;
    if (r.type == pc::partial_first)
        c.initial_transition_counter = c.transition_counter;
    if (c.transition_counter != c.initial_transition_counter)
        error = CsError::err_interrupt;
    if (error == CsError::ok) {
        pc::ExecPartialMcast m;
        m.group_name = c.group;
        m.msglen = r.msglen;
        m.pid = c.pid;
        m.type = r.type;
        m.source = proto::MessageSource{api_.my_nodeid(), static_cast<std::uint64_t>(c.pointer)};
        m.fragment = r.fragment;
        const Guarantee g = guarantee_of(r.guarantee);
        if (!api_.mcast(pc::encode(m), g))
            error = CsError::err_try_again;  // corosync asserts; libcpg retries this part
        else if (g == Guarantee::safe)
            stats_.safe_sent++;
    } else {
        api_.log(LogLevel::error, "CPG",
                 "*** " + pointer_text(c.pointer) + " can't mcast to group " +
                     print_group(c.group) + " state:" + std::to_string(state_number(c.state)) +
                     ", error:" + std::to_string(static_cast<int>(error)));
    }
    api_.respond(c.conn, pc::encode(pc::ResPartialSend{error}));
}

void Cpg::on_iteration_init(Cpd& c, const pc::ReqIterationInitialize& r) {
    api_.log(LogLevel::debug, "CPG", "cpg iteration initialize");
    if (c.iterators.size() >= iterators_max) {
        api_.respond(c.conn, pc::encode(pc::ResIterationInitialize{CsError::err_no_memory, 0}));
        return;
    }
    // A copy of process_info "grouped by" group name: a new group goes to the front, a further
    // member of a group right after that group's first entry (qb_list_add after the match).
    Iterator it;
    for (const Process& p : process_info_) {
        if (r.iteration_type == pc::iteration_name_only) {
            if (std::any_of(it.items.begin(), it.items.end(),
                            [&](const Process& q) { return q.group == p.group; }))
                continue;
        } else if (r.iteration_type == pc::iteration_one_group) {
            if (p.group != r.group_name)
                continue;
        }
        Process copy = p;
        if (r.iteration_type == pc::iteration_name_only)
            copy.pid = copy.nodeid = 0;
        auto at = std::find_if(it.items.begin(), it.items.end(),
                               [&](const Process& q) { return q.group == p.group; });
        it.items.insert(at == it.items.end() ? it.items.begin() : at + 1, std::move(copy));
    }
    const std::uint64_t h = next_iteration_handle_++;
    c.iterators.emplace(h, std::move(it));
    api_.respond(c.conn, pc::encode(pc::ResIterationInitialize{CsError::ok, h}));
}

// ---- exec -------------------------------------------------------------------------------

void Cpg::exec(NodeId sender, std::uint16_t fn, ByteView message) {
    if (fn == static_cast<std::uint16_t>(pc::ExecFn::mcast)) {
        // The hot path: a view of `message` (alive for this call) goes into the one event
        // encoding. A malformed one takes the general path below, which counts and logs it.
        if (auto v = pc::decode_exec_mcast_view(message)) {
            deliver_mcast(sender, *v);
            return;
        }
    }
    auto m = pc::decode_exec(message);
    if (!m) {
        stats_.malformed_exec++;
        api_.log(LogLevel::warning, "CPG",
                 "Dropping a malformed " + std::string(exec_engine[fn]) + " message from node " +
                     std::to_string(sender) + ": " + std::string(proto::to_string(m.error())));
        return;
    }
    std::visit(
        [&](auto& x) {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, pc::ExecProcJoin>) {
                api_.log(LogLevel::debug, "CPG",
                         "got procjoin message from cluster node " + std::to_string(sender) + " (" +
                             ifaces(sender) + ") for pid " + std::to_string(x.pid));
                do_proc_join(x.group_name, x.pid, sender, pc::reason_join, nullptr);
            } else if constexpr (std::is_same_v<T, pc::ExecProcLeave>) {
                api_.log(LogLevel::debug, "CPG",
                         "got procleave message from cluster node " + std::to_string(sender) +
                             " (" + ifaces(sender) + ") for pid " + std::to_string(x.pid));
                do_proc_leave(x.group_name, x.pid, sender, x.reason);
            } else if constexpr (std::is_same_v<T, pc::ExecJoinlist>) {
                on_joinlist(sender, x);
            } else if constexpr (std::is_same_v<T, pc::ExecMcast>) {
                deliver_mcast(sender, pc::ExecMcastView{x.group_name, x.pid, x.source, x.message});
            } else if constexpr (std::is_same_v<T, pc::ExecDownlistOld>) {
                api_.log(LogLevel::debug, "CPG",
                         "downlist OLD from node " + std::to_string(sender));
            } else if constexpr (std::is_same_v<T, pc::ExecDownlist>) {
                api_.log(LogLevel::debug, "CPG",
                         "downlist left_list: " + std::to_string(x.nodeids.size()) + " received");
            } else if constexpr (std::is_same_v<T, pc::ExecPartialMcast>) {
                deliver_partial(sender, std::move(x));
            }
        },
        *m);
}

void Cpg::do_proc_join(const std::string& group, std::uint32_t pid, NodeId nodeid,
                       std::uint32_t reason,
                       std::map<std::string, std::vector<CpgAddress>>* batch) {
    if (std::any_of(process_info_.begin(), process_info_.end(), [&](const Process& p) {
            return p.nodeid == nodeid && p.pid == pid && p.group == group;
        }))
        return;
    Process p{nodeid, pid, group};
    // Sorted by (nodeid, pid), after the entries equal to it (corosync's insertion loop).
    auto at = std::upper_bound(process_info_.begin(), process_info_.end(), p, less_by_node_pid);
    process_info_.insert(at, p);
    const CpgAddress joined{nodeid, pid, reason};
    if (batch)
        (*batch)[group].push_back(joined);
    else
        notify_joinlist(group, {joined}, {});
}

void Cpg::do_proc_leave(const std::string& group, std::uint32_t pid, NodeId nodeid,
                        std::uint32_t reason) {
    notify_joinlist(group, {}, {CpgAddress{nodeid, pid, reason}});
    std::erase_if(process_info_, [&](const Process& p) {
        return p.nodeid == nodeid && p.pid == pid && p.group == group;
    });
}

bool Cpg::known_node(NodeId nodeid, const std::string& group) const {
    return std::any_of(process_info_.begin(), process_info_.end(),
                       [&](const Process& p) { return p.nodeid == nodeid && p.group == group; });
}

// The event goes to every local process of the group that has joined (or is leaving); it is
// encoded once, on the first such process, after corosync's check that the sender's node has a
// process in the group, and every process gets a reference to that one encoding.
template <class Encode>
void Cpg::send_to_group(NodeId sender, const std::string& group, Encode encode) {
    std::optional<SharedBytes> event;
    for (const Cpd& c : cpds_) {
        if (!c.listed || c.group != group ||
            (c.state != State::leave_started && c.state != State::join_completed))
            continue;
        if (!event) {
            if (!known_node(sender, group)) {
                stats_.unknown_node++;
                api_.log(LogLevel::warning, "CPG", "Unknown node -> we will not deliver message");
                return;
            }
            event = SharedBytes(encode());
        }
        api_.send_shared_event(c.conn, *event);
    }
}

void Cpg::deliver_mcast(NodeId sender, const pc::ExecMcastView& m) {
    send_to_group(sender, m.group_name, [&] {
        return pc::encode_deliver_callback(CsError::ok, m.group_name, sender, m.pid, m.message);
    });
}

void Cpg::deliver_partial(NodeId sender, pc::ExecPartialMcast&& m) {
    api_.log(LogLevel::debug, "CPG",
             "Got fragmented message from node " + std::to_string(sender) +
                 ", size = " + std::to_string(m.fragment.size()) + " bytes");
    send_to_group(sender, m.group_name, [&] {
        pc::ResPartialDeliverCallback d;
        d.group_name = m.group_name;
        d.msglen = m.msglen;
        d.nodeid = sender;
        d.pid = m.pid;
        d.type = m.type;
        d.fragment = std::move(m.fragment);
        return pc::encode(d);
    });
}

void Cpg::on_joinlist(NodeId sender, const pc::ExecJoinlist& m) {
    api_.log(LogLevel::debug, "CPG", "got joinlist message from node " + std::to_string(sender));
    // qb_list_add at the head, entry by entry: the newest entry first.
    for (const pc::JoinlistEntry& e : m.entries)
        joinlist_.insert(joinlist_.begin(), JoinlistEntry{sender, e.pid, e.group_name});
}

// ---- events -----------------------------------------------------------------------------

std::vector<CpgAddress> Cpg::truncated(std::vector<CpgAddress> list, std::size_t max,
                                       const char* what) {
    if (list.size() <= max)
        return list;
    stats_.lists_truncated++;
    if (!warned_truncation_) {
        warned_truncation_ = true;
        api_.log(LogLevel::warning, "CPG",
                 std::string("A ") + what + " list of " + std::to_string(list.size()) +
                     " entries is cut to " + std::to_string(max) +
                     " (libcpg's arrays hold no more); further cuts are only counted");
    }
    list.resize(max);
    return list;
}

// notify_lib_joinlist: one CONFCHG to the group's local members, the state moves it implies,
// then the initial TOTEM_CONFCHG to every v1 connection that asked and has not had it.
void Cpg::notify_joinlist(const std::string& group, std::vector<CpgAddress> joined,
                          std::vector<CpgAddress> left) {
    const NodeId me = api_.my_nodeid();
    pc::ResConfchgCallback ev;
    ev.group_name = group;
    for (const Process& p : process_info_) {
        if (p.group != group)
            continue;
        const bool leaving = std::any_of(left.begin(), left.end(), [&](const CpgAddress& a) {
            return a.nodeid == p.nodeid && a.pid == p.pid;
        });
        if (!leaving)
            ev.members.push_back(CpgAddress{p.nodeid, p.pid, 0});  // CPG_REASON_UNDEFINED
    }
    for (const CpgAddress& j : joined) {
        if (j.nodeid != me)
            continue;
        for (Cpd& c : cpds_)
            if (c.listed && c.pid == j.pid && c.group == group)
                c.state = State::join_completed;
    }
    ev.members = truncated(std::move(ev.members), pc::confchg_list_max, "CONFCHG member");
    ev.left = truncated(left, pc::confchg_list_max, "CONFCHG left");
    ev.joined = truncated(std::move(joined), pc::confchg_list_max, "CONFCHG joined");
    const Bytes bytes = pc::encode(ev);
    for (Cpd& c : cpds_) {
        if (!c.listed || c.group != group)
            continue;
        if (c.state == State::join_completed || c.state == State::leave_started) {
            api_.send_event(c.conn, bytes);
            c.transition_counter++;
        }
    }
    // The reset corosync's loop means to do (it runs over the joined list, which is empty
    // for a leave): a local process whose leave was delivered is UNJOINED again.
    for (const CpgAddress& l : left) {
        if (l.nodeid != me || l.reason != pc::reason_leave)
            continue;
        for (Cpd& c : cpds_)
            if (c.listed && c.pid == l.pid && c.group == group && c.state == State::leave_started) {
                c.pid = 0;
                c.group.clear();
                c.state = State::unjoined;
            }
    }
    for (Cpd& c : cpds_) {
        if (!c.listed || !(c.flags & pc::flag_deliver_initial_totem_conf) ||
            c.initial_totem_conf_sent)
            continue;
        c.initial_totem_conf_sent = true;
        notify_totem_membership(&c, my_old_member_list_);
    }
}

void Cpg::notify_totem_membership(Cpd* only, const NodeList& members) {
    pc::ResTotemConfchgCallback ev;
    ev.ring_id = last_sync_ring_id_;
    ev.members.assign(members.begin(), members.end());
    if (ev.members.size() > pc::confchg_list_max) {  // libcpg's totem_member_list[128]
        stats_.lists_truncated++;
        ev.members.resize(pc::confchg_list_max);
    }
    const Bytes bytes = pc::encode(ev);
    if (only) {
        api_.send_event(only->conn, bytes);
        return;
    }
    for (const Cpd& c : cpds_)
        if (c.listed)
            api_.send_event(c.conn, bytes);
}

// ---- sync (B3.4) --------------------------------------------------------------------------

void Cpg::sync_init(const NodeList& trans, const NodeList& members, const RingId& ring) {
    sync_state_ = SyncState::downlist;
    my_member_list_ = members;
    last_sync_ring_id_ = proto::MarRingId{ring.rep, ring.seq};
    downlist_.clear();
    for (NodeId n : my_old_member_list_)
        if (std::find(trans.begin(), trans.end(), n) == trans.end())
            downlist_.push_back(n);
    if (downlist_.size() > pc::downlist_max)
        downlist_.resize(pc::downlist_max);
    for (std::size_t i = 0; i < downlist_.size(); ++i)
        downlist_buffer_[i] = downlist_[i];
    // Joinlists of an earlier, interrupted sync would be taken for this one's (upstream fixed
    // it after 3.1.7): this sync's joinlists are all delivered after this point at every
    // member, since each goes out only after every member's SERVICE_BUILD.
    joinlist_.clear();
}

bool Cpg::send_downlist() {
    pc::ExecDownlist d;
    d.old_members = static_cast<std::uint32_t>(my_old_member_list_.size());
    d.nodeids = downlist_;
    Bytes b = pc::encode(d);
    // nodeids u32[384] @32: what the buffer kept from earlier downlists past left_nodes.
    Writer w(b);
    for (std::size_t i = downlist_.size(); i < downlist_buffer_.size(); ++i)
        if (downlist_buffer_[i] != 0)
            w.patch_u32(32 + 4 * i, downlist_buffer_[i]);
    return api_.mcast(b, Guarantee::agreed);
}

bool Cpg::send_joinlist() {
    const NodeId me = api_.my_nodeid();
    pc::ExecJoinlist j;
    for (const Process& p : process_info_)
        if (p.nodeid == me)
            j.entries.push_back(pc::JoinlistEntry{p.pid, p.group});
    if (j.entries.empty())
        return true;  // nothing to send
    return api_.mcast(pc::encode(j), Guarantee::agreed);
}

bool Cpg::sync_process() {
    if (sync_state_ == SyncState::downlist) {
        if (!send_downlist())
            return false;
        sync_state_ = SyncState::joinlist;
    }
    return send_joinlist();
}

void Cpg::sync_activate() {
    my_old_member_list_ = my_member_list_;
    downlist_inform_clients();
    joinlist_inform_clients();
    joinlist_.clear();
    notify_totem_membership(nullptr, my_member_list_);
}

void Cpg::sync_abort() {
    joinlist_.clear();
}

void Cpg::downlist_inform_clients() {
    api_.log(LogLevel::debug, "CPG",
             "my downlist: members(old:" + std::to_string(my_old_member_list_.size()) +
                 " left:" + std::to_string(downlist_.size()) + ")");
    // One CONFCHG per group (in the order of the names), the processes of the nodes that left
    // in process_info order, reason NODEDOWN.
    std::map<std::string, std::vector<CpgAddress>> groups;
    std::erase_if(process_info_, [&](const Process& p) {
        if (std::find(downlist_.begin(), downlist_.end(), p.nodeid) == downlist_.end())
            return false;
        groups[p.group].push_back(CpgAddress{p.nodeid, p.pid, pc::reason_nodedown});
        return true;
    });
    for (auto& [group, left] : groups) {
        api_.log(LogLevel::debug, "CPG", "left_list_entries:" + std::to_string(left.size()));
        for (std::size_t i = 0; i < left.size(); ++i)
            api_.log(LogLevel::debug, "CPG",
                     "left_list[" + std::to_string(i) + "] group:" + print_group(group) +
                         ", ip:" + ifaces(left[i].nodeid) + ", pid:" + std::to_string(left[i].pid));
        notify_joinlist(group, {}, std::move(left));
    }
}

void Cpg::joinlist_inform_clients() {
    const NodeId me = api_.my_nodeid();
    std::map<std::string, std::vector<CpgAddress>> groups;
    for (std::size_t i = 0; i < joinlist_.size(); ++i) {
        const JoinlistEntry& e = joinlist_[i];
        api_.log(LogLevel::debug, "CPG",
                 "joinlist_messages[" + std::to_string(i) + "] group:" + print_group(e.group) +
                     ", ip:" + ifaces(e.sender) + ", pid:" + std::to_string(e.pid));
        if (e.sender == me)
            continue;  // our own
        do_proc_join(e.group, e.pid, e.sender, pc::reason_nodeup, &groups);
    }
    for (auto& [group, joined] : groups)
        notify_joinlist(group, std::move(joined), {});
    remove_zombies();
}

// joinlist_remove_zombie_pi_entries: a process of another node that the node's joinlist does
// not list is gone (it left while we were apart).
void Cpg::remove_zombies() {
    const NodeId me = api_.my_nodeid();
    std::vector<Process> zombies;
    for (const Process& p : process_info_) {
        if (p.nodeid == me)
            continue;
        const bool listed = std::any_of(joinlist_.begin(), joinlist_.end(), [&](const auto& e) {
            return e.sender != me && e.sender == p.nodeid && e.pid == p.pid && e.group == p.group;
        });
        if (!listed)
            zombies.push_back(p);
    }
    for (const Process& z : zombies)
        do_proc_leave(z.group, z.pid, z.nodeid, pc::reason_procdown);
}

// ---- observation --------------------------------------------------------------------------

void Cpg::stats_keys(std::vector<std::pair<std::string, std::uint64_t>>& out) const {
    out.emplace_back("malformed_requests", stats_.malformed_requests);
    out.emplace_back("malformed_exec", stats_.malformed_exec);
    out.emplace_back("mcast_refused", stats_.mcast_refused);
    out.emplace_back("mcast_queue_full", stats_.mcast_queue_full);
    out.emplace_back("unknown_node", stats_.unknown_node);
    out.emplace_back("lists_truncated", stats_.lists_truncated);
    out.emplace_back("leave_retries", stats_.leave_retries);
    out.emplace_back("safe_sent", stats_.safe_sent);
    out.emplace_back("processes", process_info_.size());
}

void Cpg::check_invariants() const {
    // Sorted by (nodeid, pid), and no entry twice (equal ones would sit in one run).
    for (std::size_t i = 1; i < process_info_.size(); ++i) {
        TOTEM_ASSERT(!less_by_node_pid(process_info_[i], process_info_[i - 1]));
        for (std::size_t j = i; j-- > 0 && !less_by_node_pid(process_info_[j], process_info_[i]);)
            TOTEM_ASSERT(process_info_[j].group != process_info_[i].group);
    }
    TOTEM_ASSERT(local_processes() <= pc::joinlist_entries_max);
    for (std::size_t i = 0; i < cpds_.size(); ++i) {
        const Cpd& c = cpds_[i];
        TOTEM_ASSERT(c.iterators.size() <= iterators_max);
        TOTEM_ASSERT(c.state != State::unjoined || (c.group.empty() && c.pid == 0));
        TOTEM_ASSERT(c.group.size() <= proto::cpg_name_max);
        for (std::size_t j = i + 1; j < cpds_.size(); ++j)
            TOTEM_ASSERT(cpds_[j].conn != c.conn);
    }
    TOTEM_ASSERT(pending_leaves_.empty() || retry_at_.has_value());
    TOTEM_ASSERT(downlist_.size() <= pc::downlist_max);
}

}  // namespace totem::services
