// The CPG clients' properties and quorum agreement (checker.hpp has the contract).
//
// Placing a client's event. The simulator records, with every event a CPG client's library
// got, `totem_pos`: how many events (Totem configuration changes, deliveries of the workload's
// and of CPG messages, other cpg exec messages) its node's incarnation had recorded when the
// core emitted it. So the event at position p follows record p − 1 (the exec message that
// caused it), and lies in the segment of the node's configuration sequence that contains p.
//
// The agreed part of a segment. Within a regular configuration R every member delivers a
// prefix of one sequence, and the cpg service's sync activation happens at the same point of it
// (the cpg barrier): after it, every member's process_info is the same (the activation makes it
// the union of every member's own processes), and each later exec message changes it alike. So
// from the activation on, an event is named by (R, its offset in R's segment, its group): every
// client that got that name must have got the same event. In the transitional configuration
// after R, members that move together deliver the same messages, from the same state (if they
// activated R): there the name is (transitional configuration, offset, group). Before the
// activation the states are the nodes' own (what each learnt in its previous rings): only the
// activation's result is compared.
#include "tests/sim/checker_services.hpp"

#include <algorithm>
#include <compare>
#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <vector>

namespace totem::sim::detail {

namespace {

constexpr std::size_t npos = static_cast<std::size_t>(-1);

std::string time_str(std::int64_t us) {
    return std::to_string(us / 1000) + "." + std::to_string(us % 1000 / 100) + " ms";
}

std::string list_str(const NodeList& l) {
    std::string s = "[";
    for (std::size_t i = 0; i < l.size(); ++i)
        s += (i ? "," : "") + std::to_string(l[i]);
    return s + "]";
}

std::string procs_str(const std::vector<CpgMember>& l, bool reasons = true) {
    std::string s = "[";
    for (std::size_t i = 0; i < l.size(); ++i) {
        s += (i ? " " : "") + std::to_string(l[i].nodeid) + ":" + std::to_string(l[i].pid);
        if (reasons && l[i].reason)
            s += "/" + std::to_string(l[i].reason);
    }
    return s + "]";
}

NodeList sorted(NodeList l) {
    std::sort(l.begin(), l.end());
    return l;
}

bool contains(const NodeList& l, NodeId n) {
    return std::find(l.begin(), l.end(), n) != l.end();
}

using RingKey = std::pair<NodeId, std::uint64_t>;
RingKey key(const RingId& r) {
    return {r.rep, r.seq};
}

// A process without its reason: what member lists compare by.
using Proc = std::pair<NodeId, std::uint32_t>;
std::vector<Proc> procs(const std::vector<CpgMember>& l) {
    std::vector<Proc> out;
    for (const auto& m : l)
        out.emplace_back(m.nodeid, m.pid);
    return out;
}

// A segment's name: a regular configuration by its ring; a transitional one by (new ring,
// previous ring, members), as the EVS checker keys them.
struct SegKey {
    bool regular = true;
    RingKey ring{};
    RingKey prev{};
    NodeList members;
    auto operator<=>(const SegKey&) const = default;
};

std::string seg_str(const SegKey& k) {
    const RingId r{k.ring.first, k.ring.second};
    if (k.regular)
        return "regular " + r.str();
    return "transitional " + list_str(k.members) + " from " +
           RingId{k.prev.first, k.prev.second}.str() + " to " + r.str();
}

// One stretch of an incarnation between configuration changes.
struct Seg {
    std::size_t begin = 0;  // its records are [begin, end); positions begin..end are in it
    std::size_t end = 0;
    bool regular = true;
    RingId ring;
    NodeList members;                       // sorted
    NodeList trans_before;                  // regular: the transitional configuration before it
    std::size_t prev_regular = npos;        // transitional: the regular segment before it
    std::optional<std::size_t> activation;  // regular: where the cpg sync activated
    std::size_t agreed_from = npos;         // first position of the agreed part (npos: none)
    SegKey key;
};

// One membership: a client's join (with its fresh pid) to its end.
struct Member {
    std::size_t client = 0;  // index into Trace::cpg_clients
    std::size_t inc = 0;
    NodeId node = 0;
    std::uint32_t pid = 0;
    std::string group;
    std::optional<std::size_t> joined;  // event index of its own join's CONFCHG
    std::optional<std::size_t> leave;   // its LEAVE request
    std::optional<std::size_t> left;    // its own leave's CONFCHG
    std::optional<std::size_t> end;     // FINALIZE or close while a member
    std::vector<std::size_t> events;    // its CONFCHG and DELIVER events, from its own join on
    std::vector<MsgId> sent;
};

class CpgCheck {
  public:
    CpgCheck(const Trace& t, Findings& f) : t_(t), f_(f) {}

    void run() {
        if (t_.cpg_clients.empty())
            return;
        build_segments();
        build_members();
        check_deliveries();
        check_self_delivery();
        check_reasons();
        check_names();
        check_activations();
        check_completeness();
    }

  private:
    // ---- segments ----------------------------------------------------------------------
    void build_segments() {
        segs_.resize(t_.incarnations.size());
        for (std::size_t n = 0; n < t_.incarnations.size(); ++n) {
            const auto& inc = t_.incarnations[n];
            auto& segs = segs_[n];
            std::size_t last_regular = npos;
            for (std::size_t e = 0; e < inc.events.size(); ++e) {
                const auto& ev = inc.events[e];
                if (ev.kind != TraceEvent::Kind::confchg)
                    continue;
                if (!segs.empty())
                    segs.back().end = e;
                Seg s;
                s.begin = e + 1;
                s.regular = ev.confchg.regular;
                s.ring = ev.confchg.ring_id;
                s.members = sorted(ev.confchg.members);
                if (s.regular) {
                    if (!segs.empty() && !segs.back().regular && segs.back().ring == s.ring)
                        s.trans_before = segs.back().members;
                    s.key = SegKey{true, key(s.ring), {}, {}};
                    last_regular = segs.size();
                } else {
                    s.prev_regular = last_regular;
                    const RingKey prev =
                        last_regular == npos ? RingKey{} : key(segs[last_regular].ring);
                    s.key = SegKey{false, key(s.ring), prev, s.members};
                }
                segs.push_back(std::move(s));
            }
            if (!segs.empty())
                segs.back().end = inc.events.size();
            for (const auto& [pos, ring] : inc.cpg_activations) {
                const std::size_t k = seg_at(n, pos);
                const bool in_ring =
                    k != npos && segs[k].regular && segs[k].ring == ring && !segs[k].activation;
                f_.expect_lazy(Violation::cpg_config, in_ring, [&] {
                    return who(n) + " activated the cpg sync of " + ring.str() + " at position " +
                           std::to_string(pos) +
                           (k == npos ? " before any configuration"
                                      : " in " + seg_str(segs[k].key) +
                                            (segs[k].activation ? " a second time" : ""));
                });
                if (in_ring) {
                    segs[k].activation = pos;
                    segs[k].agreed_from = pos + 1;
                }
            }
            for (auto& s : segs)
                if (!s.regular && s.prev_regular != npos && segs[s.prev_regular].activation)
                    s.agreed_from = s.begin;
        }
    }

    // The segment of incarnation n that contains position pos (npos: before its first).
    std::size_t seg_at(std::size_t n, std::size_t pos) const {
        const auto& segs = segs_[n];
        auto it = std::upper_bound(segs.begin(), segs.end(), pos,
                                   [](std::size_t p, const Seg& s) { return p < s.begin; });
        if (it == segs.begin())
            return npos;
        return static_cast<std::size_t>(it - segs.begin()) - 1;
    }

    bool agreed(std::size_t n, std::size_t pos) const {
        const std::size_t k = seg_at(n, pos);
        return k != npos && segs_[n][k].agreed_from != npos && pos >= segs_[n][k].agreed_from;
    }

    // ---- memberships -------------------------------------------------------------------
    void build_members() {
        for (std::size_t c = 0; c < t_.cpg_clients.size(); ++c) {
            const CpgClient& cl = t_.cpg_clients[c];
            std::size_t cur = npos;
            bool closed = false;
            for (std::size_t e = 0; e < cl.events.size(); ++e) {
                const CpgEvent& ev = cl.events[e];
                switch (ev.kind) {
                    case CpgEvent::Kind::join: {
                        Member m;
                        m.client = c;
                        m.inc = cl.inc;
                        m.node = cl.node;
                        m.pid = ev.pid;
                        m.group = ev.group;
                        cur = members_.size();
                        by_proc_[{cl.node, ev.pid}] = cur;
                        members_.push_back(std::move(m));
                        break;
                    }
                    case CpgEvent::Kind::leave:
                        if (cur != npos)
                            members_[cur].leave = e;
                        break;
                    case CpgEvent::Kind::send:
                        if (cur != npos)
                            members_[cur].sent.push_back(ev.id);
                        break;
                    case CpgEvent::Kind::finalize:
                    case CpgEvent::Kind::close:
                        if (cur != npos)
                            members_[cur].end = e;
                        cur = npos;
                        closed = true;
                        break;
                    case CpgEvent::Kind::totem_confchg:
                        f_.expect_lazy(Violation::cpg_config, !closed, [&] {
                            return client_str(c) + " got a TOTEM_CONFCHG after it closed" +
                                   at(cl, ev);
                        });
                        break;
                    case CpgEvent::Kind::confchg:
                    case CpgEvent::Kind::deliver:
                        on_group_event(c, e, cur, closed);
                        break;
                }
            }
        }
    }

    void on_group_event(std::size_t c, std::size_t e, std::size_t& cur, bool closed) {
        const CpgClient& cl = t_.cpg_clients[c];
        const CpgEvent& ev = cl.events[e];
        const bool confchg = ev.kind == CpgEvent::Kind::confchg;
        const char* what = confchg ? "CONFCHG" : "DELIVER";
        if (!f_.expect_lazy(Violation::cpg_config, !closed && cur != npos, [&] {
                return client_str(c) + " got a " + what + " of group " + ev.group +
                       (closed ? " after it finalized or closed" : " while in no group") +
                       at(cl, ev);
            }))
            return;
        Member& m = members_[cur];
        if (!f_.expect_lazy(Violation::cpg_config, ev.group == m.group, [&] {
                return member_str(cur) + " got a " + what + " of group " + ev.group + at(cl, ev);
            }))
            return;
        const auto own = [&](const std::vector<CpgMember>& l, std::uint32_t reason) {
            return std::any_of(l.begin(), l.end(), [&](const CpgMember& x) {
                return x.nodeid == m.node && x.pid == m.pid && x.reason == reason;
            });
        };
        if (!m.joined) {
            const bool own_join = confchg && own(ev.joined, cpg_reason::join);
            f_.expect_lazy(Violation::cpg_config, own_join, [&] {
                return member_str(cur) + " got a " + what + " before the CONFCHG of its own join" +
                       at(cl, ev);
            });
            if (!own_join)
                return;
            m.joined = e;
        }
        m.events.push_back(e);
        if (confchg && own(ev.left, cpg_reason::leave)) {
            m.left = e;
            cur = npos;
        }
    }

    // ---- cpg_delivery, cpg_safe ----------------------------------------------------------
    // Every DELIVER is an intact message a client of the named (node, pid) sent to the group,
    // right after its node delivered that message (the record before it), at most once per
    // membership; one sent CPG_TYPE_SAFE follows a safe delivery of its node.
    void check_deliveries() {
        for (std::size_t k = 0; k < members_.size(); ++k) {
            const Member& m = members_[k];
            const CpgClient& cl = t_.cpg_clients[m.client];
            const auto& inc = t_.incarnations[m.inc];
            std::set<MsgId> seen;
            for (std::size_t e : m.events) {
                const CpgEvent& ev = cl.events[e];
                if (ev.kind != CpgEvent::Kind::deliver)
                    continue;
                const auto sub = t_.submitted.find(ev.id);
                const bool known =
                    ev.intact && sub != t_.submitted.end() && sub->second.cpg_client.has_value();
                f_.expect_lazy(Violation::cpg_delivery,
                               known && sub->second.cpg_group == ev.group &&
                                   ev.nodeid == ev.id.origin && sub->second.cpg_pid == ev.pid,
                               [&] {
                                   return member_str(k) + " delivered " + ev.id.str() +
                                          " as from " + std::to_string(ev.nodeid) + ":" +
                                          std::to_string(ev.pid) + " to " + ev.group +
                                          (!ev.intact ? ", a corrupt payload"
                                           : !known
                                               ? ", which no CPG client sent"
                                               : ", sent by " + std::to_string(ev.id.origin) + ":" +
                                                     std::to_string(sub->second.cpg_pid) + " to " +
                                                     sub->second.cpg_group) +
                                          at(cl, ev);
                               });
                f_.expect_lazy(Violation::cpg_delivery, seen.insert(ev.id).second, [&] {
                    return member_str(k) + " delivered " + ev.id.str() + " twice" + at(cl, ev);
                });
                const TraceEvent* rec = ev.totem_pos > 0 && ev.totem_pos <= inc.events.size()
                                            ? &inc.events[ev.totem_pos - 1]
                                            : nullptr;
                const bool linked = rec && rec->kind == TraceEvent::Kind::deliver &&
                                    rec->deliver.cpg && rec->deliver.id == ev.id;
                f_.expect_lazy(Violation::cpg_delivery, linked, [&] {
                    return member_str(k) + " delivered " + ev.id.str() +
                           " but its node's delivery before it was not that message" + at(cl, ev);
                });
                if (known && sub->second.safe)
                    f_.expect_lazy(Violation::cpg_safe, linked && rec->deliver.safe, [&] {
                        return member_str(k) + " delivered " + ev.id.str() +
                               ", sent CPG_TYPE_SAFE, when its node delivered it agreed (before "
                               "every member of the configuration had it)" +
                               at(cl, ev);
                    });
            }
        }
    }

    // ---- cpg_self_delivery ---------------------------------------------------------------
    // A membership delivers its own messages in the order it sent them, without gaps; all of
    // them by its own leave's CONFCHG, and by the end of a run that reached liveness if it is
    // still a member then (a client that finalizes or closes, or whose node crashes, stops
    // getting events).
    void check_self_delivery() {
        for (std::size_t k = 0; k < members_.size(); ++k) {
            const Member& m = members_[k];
            const CpgClient& cl = t_.cpg_clients[m.client];
            std::vector<MsgId> own;
            for (std::size_t e : m.events) {
                const CpgEvent& ev = cl.events[e];
                if (ev.kind == CpgEvent::Kind::deliver && ev.nodeid == m.node && ev.pid == m.pid)
                    own.push_back(ev.id);
            }
            const bool prefix =
                own.size() <= m.sent.size() && std::equal(own.begin(), own.end(), m.sent.begin());
            f_.expect_lazy(Violation::cpg_self_delivery, prefix, [&] {
                std::size_t i = 0;
                while (i < own.size() && i < m.sent.size() && own[i] == m.sent[i])
                    ++i;
                return member_str(k) + " delivered its own messages out of order or with a gap: " +
                       "its delivery " + std::to_string(i + 1) + " is " +
                       (i < own.size() ? own[i].str() : "missing") + ", its send " +
                       std::to_string(i + 1) + " " + (i < m.sent.size() ? m.sent[i].str() : "none");
            });
            const bool survives =
                !m.end && !m.left && !t_.incarnations[m.inc].crashed && t_.liveness_reached;
            if (m.left || survives)
                f_.expect_lazy(Violation::cpg_self_delivery, own.size() == m.sent.size(), [&] {
                    return member_str(k) + " delivered " + std::to_string(own.size()) + " of its " +
                           std::to_string(m.sent.size()) + " messages " +
                           (m.left ? "before the CONFCHG of its own leave"
                                   : "by the end of the run");
                });
        }
    }

    // ---- cpg_reasons and each CONFCHG's lists --------------------------------------------
    // A CONFCHG outside a sync activation follows the PROCJOIN or PROCLEAVE its node delivered
    // right before it, with that process and reason (LEAVE: that process asked to leave;
    // PROCDOWN: its connection closed). At a sync activation of ring R at node X: a process left
    // with NODEDOWN exactly when its node is in X's downlist — the members of the last ring
    // whose cpg sync X activated that are not in X's transitional configuration before R — and
    // with PROCDOWN (a zombie) otherwise; every process of a downlist node is gone after it; a
    // joined process is NODEUP, of another member of R. Every CONFCHG's member list is the
    // membership's previous one with `joined` added and `left` removed.
    void check_reasons() {
        for (std::size_t k = 0; k < members_.size(); ++k) {
            const Member& m = members_[k];
            const CpgClient& cl = t_.cpg_clients[m.client];
            const auto& inc = t_.incarnations[m.inc];
            std::optional<std::vector<Proc>> view;
            for (std::size_t e : m.events) {
                const CpgEvent& ev = cl.events[e];
                if (ev.kind != CpgEvent::Kind::confchg)
                    continue;
                if (ev.activation)
                    activation_reasons(k, ev);
                else
                    exec_reasons(k, ev, inc);
                if (view) {
                    std::set<Proc> expected(view->begin(), view->end());
                    for (const auto& j : ev.joined)
                        expected.insert({j.nodeid, j.pid});
                    for (const auto& l : ev.left)
                        expected.erase({l.nodeid, l.pid});
                    const auto got = procs(ev.members);
                    f_.expect_lazy(Violation::cpg_config,
                                   std::vector<Proc>(expected.begin(), expected.end()) == got, [&] {
                                       return member_str(k) + " got members " +
                                              procs_str(ev.members, false) + " after " +
                                              procs_str(as_members(*view), false) +
                                              " with joined " + procs_str(ev.joined) + " left " +
                                              procs_str(ev.left) + at(cl, ev);
                                   });
                } else {
                    f_.expect_lazy(Violation::cpg_config, contains_proc(ev.members, m.node, m.pid),
                                   [&] {
                                       return member_str(k) + " is not in the members " +
                                              procs_str(ev.members, false) +
                                              " of its own join's CONFCHG" + at(cl, ev);
                                   });
                }
                view = procs(ev.members);
            }
        }
        // The end of each activation a client saw (its TOTEM_CONFCHG): every process of a
        // downlist node that its group had before the activation left with NODEDOWN (that node
        // may be back in the ring, its processes rejoined with NODEUP).
        for (std::size_t c = 0; c < t_.cpg_clients.size(); ++c) {
            const CpgClient& cl = t_.cpg_clients[c];
            std::optional<std::vector<CpgMember>> view, before;
            std::set<Proc> gone;  // left with NODEDOWN in the activation under way
            std::size_t cur = npos;
            for (std::size_t e = 0; e < cl.events.size(); ++e) {
                const CpgEvent& ev = cl.events[e];
                if (ev.kind == CpgEvent::Kind::join) {
                    cur = by_proc_.at({cl.node, ev.pid});
                    view.reset();
                } else if (ev.kind == CpgEvent::Kind::confchg && cur != npos &&
                           std::find(members_[cur].events.begin(), members_[cur].events.end(), e) !=
                               members_[cur].events.end()) {
                    if (ev.activation && !before)
                        before = view;
                    for (const auto& l : ev.left)
                        if (ev.activation && l.reason == cpg_reason::nodedown)
                            gone.insert({l.nodeid, l.pid});
                    view = ev.members;
                    if (members_[cur].left == e) {
                        cur = npos;
                        view.reset();
                    }
                } else if (ev.kind == CpgEvent::Kind::totem_confchg && ev.activation) {
                    const auto& pre = before ? before : view;
                    const NodeList down = downlist(cl.inc, ev.totem_pos);
                    if (pre && cur != npos)
                        for (const auto& p : *pre)
                            f_.expect_lazy(
                                Violation::cpg_reasons,
                                !contains(down, p.nodeid) || gone.count({p.nodeid, p.pid}) != 0,
                                [&] {
                                    return member_str(cur) + " was not told that " +
                                           std::to_string(p.nodeid) + ":" + std::to_string(p.pid) +
                                           " left with NODEDOWN at the sync "
                                           "activation, whose downlist " +
                                           list_str(down) + " has its node" + at(cl, ev);
                                });
                    before.reset();
                    gone.clear();
                }
            }
        }
    }

    static std::vector<CpgMember> as_members(const std::vector<Proc>& l) {
        std::vector<CpgMember> out;
        for (const auto& [n, p] : l)
            out.push_back(CpgMember{n, p, 0});
        return out;
    }
    static bool contains_proc(const std::vector<CpgMember>& l, NodeId n, std::uint32_t pid) {
        return std::any_of(l.begin(), l.end(),
                           [&](const CpgMember& x) { return x.nodeid == n && x.pid == pid; });
    }

    // The downlist of the activation at position pos of incarnation n (its regular segment).
    NodeList downlist(std::size_t n, std::size_t pos) const {
        const std::size_t k = seg_at(n, pos);
        if (k == npos)
            return {};
        const auto& segs = segs_[n];
        NodeList old;
        for (std::size_t j = k; j-- > 0;)
            if (segs[j].regular && segs[j].activation) {
                old = segs[j].members;
                break;
            }
        NodeList down;
        for (NodeId x : old)
            if (!contains(segs[k].trans_before, x))
                down.push_back(x);
        return down;
    }

    void activation_reasons(std::size_t k, const CpgEvent& ev) {
        const Member& m = members_[k];
        const CpgClient& cl = t_.cpg_clients[m.client];
        const NodeList down = downlist(m.inc, ev.totem_pos);
        const std::size_t s = seg_at(m.inc, ev.totem_pos);
        const NodeList ring = s == npos ? NodeList{} : segs_[m.inc][s].members;
        for (const auto& l : ev.left) {
            const bool in_down = contains(down, l.nodeid);
            const bool ok = l.nodeid != m.node && (in_down ? l.reason == cpg_reason::nodedown
                                                           : l.reason == cpg_reason::procdown);
            f_.expect_lazy(Violation::cpg_reasons, ok, [&] {
                return member_str(k) + " was told at the sync activation that " +
                       std::to_string(l.nodeid) + ":" + std::to_string(l.pid) +
                       " left with reason " + std::to_string(l.reason) + "; the downlist " +
                       list_str(down) + (in_down ? " has" : " has not") + " its node" + at(cl, ev);
            });
        }
        for (const auto& j : ev.joined)
            f_.expect_lazy(
                Violation::cpg_reasons,
                j.reason == cpg_reason::nodeup && j.nodeid != m.node && contains(ring, j.nodeid),
                [&] {
                    return member_str(k) + " was told at the sync activation that " +
                           std::to_string(j.nodeid) + ":" + std::to_string(j.pid) +
                           " joined with reason " + std::to_string(j.reason) + " (ring " +
                           list_str(ring) + ")" + at(cl, ev);
                });
    }

    void exec_reasons(std::size_t k, const CpgEvent& ev, const Incarnation& inc) {
        const Member& m = members_[k];
        const CpgClient& cl = t_.cpg_clients[m.client];
        const TraceEvent* rec = ev.totem_pos > 0 && ev.totem_pos <= inc.events.size()
                                    ? &inc.events[ev.totem_pos - 1]
                                    : nullptr;
        const bool linked = rec && rec->kind == TraceEvent::Kind::cpg_exec &&
                            (rec->cpg.fn == cpg_fn_procjoin || rec->cpg.fn == cpg_fn_procleave) &&
                            rec->cpg.group == ev.group;
        if (!f_.expect_lazy(Violation::cpg_reasons, linked, [&] {
                return member_str(k) + " got a CONFCHG (joined " + procs_str(ev.joined) + " left " +
                       procs_str(ev.left) + ") that follows no PROCJOIN or PROCLEAVE of its group" +
                       at(cl, ev);
            }))
            return;
        const CpgMember p{rec->cpg.sender, rec->cpg.pid, rec->cpg.reason};
        const bool join = rec->cpg.fn == cpg_fn_procjoin;
        const bool lists = join ? ev.joined == std::vector<CpgMember>{p} && ev.left.empty()
                                : ev.left == std::vector<CpgMember>{p} && ev.joined.empty();
        f_.expect_lazy(
            Violation::cpg_reasons, lists && (!join || p.reason == cpg_reason::join), [&] {
                return member_str(k) + " got joined " + procs_str(ev.joined) + " left " +
                       procs_str(ev.left) + " for a " + (join ? "PROCJOIN" : "PROCLEAVE") + " of " +
                       procs_str({p}) + at(cl, ev);
            });
        if (join)
            return;
        const auto who = by_proc_.find({p.nodeid, p.pid});
        const Member* w = who == by_proc_.end() ? nullptr : &members_[who->second];
        const bool cause = w && (p.reason == cpg_reason::leave
                                     ? w->leave.has_value()
                                     : p.reason == cpg_reason::procdown && w->end.has_value());
        f_.expect_lazy(Violation::cpg_reasons, cause, [&] {
            return member_str(k) + " was told " + procs_str({p}) + " left with reason " +
                   std::to_string(p.reason) + ", but that process " +
                   (!w                              ? "never joined"
                    : p.reason == cpg_reason::leave ? "never asked to leave"
                                                    : "did not close its connection") +
                   at(cl, ev);
        });
    }

    // ---- cpg_config: one name, one event --------------------------------------------------
    // Every event in an agreed part is the same at every membership that got it: the same
    // CONFCHG lists or the same message; the records behind it are the same message.
    void check_names() {
        using Name = std::tuple<SegKey, std::size_t, std::string>;
        std::map<Name, std::pair<std::size_t, std::size_t>> first;  // → (member, event)
        std::map<std::pair<SegKey, std::size_t>, std::pair<std::size_t, std::size_t>> records;
        for (std::size_t k = 0; k < members_.size(); ++k) {
            const Member& m = members_[k];
            const CpgClient& cl = t_.cpg_clients[m.client];
            for (std::size_t e : m.events) {
                const CpgEvent& ev = cl.events[e];
                if (!agreed(m.inc, ev.totem_pos) || ev.activation)
                    continue;
                const Seg& s = segs_[m.inc][seg_at(m.inc, ev.totem_pos)];
                const std::size_t offset = ev.totem_pos - s.begin;
                const auto [it, fresh] =
                    first.emplace(Name{s.key, offset, m.group}, std::pair{k, e});
                if (!fresh) {
                    const CpgEvent& o =
                        t_.cpg_clients[members_[it->second.first].client].events[it->second.second];
                    const bool same =
                        o.kind == ev.kind && (ev.kind == CpgEvent::Kind::deliver
                                                  ? o.id == ev.id
                                                  : o.members == ev.members && o.left == ev.left &&
                                                        o.joined == ev.joined);
                    f_.expect_lazy(Violation::cpg_config, same, [&] {
                        return "in " + seg_str(s.key) + " at offset " + std::to_string(offset) +
                               " group " + m.group + ": " + member_str(k) + " got " + str(ev) +
                               ", " + member_str(it->second.first) + " " + str(o);
                    });
                }
                const auto [r, rfresh] =
                    records.emplace(std::pair{s.key, offset}, std::pair{m.inc, ev.totem_pos});
                if (!rfresh && r->second.first != m.inc) {
                    const TraceEvent& a = t_.incarnations[m.inc].events[ev.totem_pos - 1];
                    const TraceEvent& b =
                        t_.incarnations[r->second.first].events[r->second.second - 1];
                    f_.expect_lazy(Violation::cpg_config, same_record(a, b), [&] {
                        return "in " + seg_str(s.key) + " at offset " + std::to_string(offset) +
                               ": " + who(m.inc) + " and " + who(r->second.first) +
                               " delivered different messages";
                    });
                }
            }
        }
    }

    static bool same_record(const TraceEvent& a, const TraceEvent& b) {
        if (a.kind != b.kind)
            return false;
        if (a.kind == TraceEvent::Kind::deliver)
            return a.deliver.id == b.deliver.id;
        if (a.kind == TraceEvent::Kind::cpg_exec)
            return a.cpg.fn == b.cpg.fn && a.cpg.sender == b.cpg.sender &&
                   a.cpg.group == b.cpg.group && a.cpg.pid == b.cpg.pid &&
                   a.cpg.reason == b.cpg.reason;
        return true;
    }

    // ---- cpg_config: the sync activation ---------------------------------------------------
    // Every member of ring R that activated R's cpg sync did so at the same point of R's
    // agreed order; its TOTEM_CONFCHG names R and R's members; and every membership joined
    // through the activation has the same members of its group after it, at every node.
    void check_activations() {
        std::map<RingKey, std::pair<std::size_t, std::size_t>> offsets;  // → (offset, inc)
        for (std::size_t n = 0; n < segs_.size(); ++n)
            for (const Seg& s : segs_[n]) {
                if (!s.activation)
                    continue;
                const std::size_t offset = *s.activation - s.begin;
                const auto [it, fresh] = offsets.emplace(key(s.ring), std::pair{offset, n});
                f_.expect_lazy(Violation::cpg_config, fresh || it->second.first == offset, [&] {
                    return who(n) + " activated the cpg sync of " + s.ring.str() + " at offset " +
                           std::to_string(offset) + ", " + who(it->second.second) + " at " +
                           std::to_string(it->second.first);
                });
            }
        std::map<std::pair<RingKey, std::string>, std::pair<std::vector<Proc>, std::size_t>> views;
        for (std::size_t c = 0; c < t_.cpg_clients.size(); ++c) {
            const CpgClient& cl = t_.cpg_clients[c];
            std::size_t cur = npos;
            std::optional<std::vector<Proc>> view;
            for (std::size_t e = 0; e < cl.events.size(); ++e) {
                const CpgEvent& ev = cl.events[e];
                if (ev.kind == CpgEvent::Kind::join) {
                    cur = by_proc_.at({cl.node, ev.pid});
                    view.reset();
                    continue;
                }
                if (ev.kind == CpgEvent::Kind::confchg && cur != npos) {
                    const auto& me = members_[cur].events;
                    if (std::find(me.begin(), me.end(), e) == me.end())
                        continue;
                    view = procs(ev.members);
                    if (members_[cur].left == e) {
                        cur = npos;
                        view.reset();
                    }
                    continue;
                }
                if (ev.kind != CpgEvent::Kind::totem_confchg || !ev.activation)
                    continue;
                const std::size_t k = seg_at(cl.inc, ev.totem_pos);
                const bool here = k != npos && segs_[cl.inc][k].activation == ev.totem_pos;
                if (!f_.expect_lazy(Violation::cpg_config, here, [&] {
                        return client_str(c) + " got a TOTEM_CONFCHG of " + ev.ring.str() +
                               " from a sync activation its node did not record" + at(cl, ev);
                    }))
                    continue;
                const Seg& s = segs_[cl.inc][k];
                f_.expect_lazy(Violation::cpg_config,
                               ev.ring == s.ring && sorted(ev.ring_members) == s.members, [&] {
                                   return client_str(c) + " got TOTEM_CONFCHG " + ev.ring.str() +
                                          " " + list_str(ev.ring_members) +
                                          " at the activation of " + s.ring.str() + " " +
                                          list_str(s.members) + at(cl, ev);
                               });
                if (!view)
                    continue;
                const auto [it, fresh] = views.emplace(std::pair{key(s.ring), members_[cur].group},
                                                       std::pair{*view, cur});
                f_.expect_lazy(Violation::cpg_config, fresh || it->second.first == *view, [&] {
                    return "after the cpg sync of " + s.ring.str() + " group " +
                           members_[cur].group + ": " + member_str(cur) + " has members " +
                           procs_str(as_members(*view), false) + ", " +
                           member_str(it->second.second) + " " +
                           procs_str(as_members(it->second.first), false) + at(cl, ev);
                });
            }
        }
    }

    // ---- cpg_virtual_synchrony ---------------------------------------------------------------
    // In an agreed part, a membership gets every event of its group that any membership got
    // there, from its own join's CONFCHG to its end (its own leave's CONFCHG, its close, or the
    // end of the part its node delivered): the messages between two configurations it saw are
    // the same everywhere, and no configuration is skipped.
    void check_completeness() {
        std::map<std::pair<SegKey, std::string>, std::set<std::size_t>> names;  // → offsets
        for (const Member& m : members_) {
            const CpgClient& cl = t_.cpg_clients[m.client];
            for (std::size_t e : m.events) {
                const CpgEvent& ev = cl.events[e];
                if (!agreed(m.inc, ev.totem_pos) || ev.activation)
                    continue;
                const Seg& s = segs_[m.inc][seg_at(m.inc, ev.totem_pos)];
                names[{s.key, m.group}].insert(ev.totem_pos - s.begin);
            }
        }
        for (std::size_t k = 0; k < members_.size(); ++k) {
            const Member& m = members_[k];
            const CpgClient& cl = t_.cpg_clients[m.client];
            if (!m.joined)
                continue;
            const std::size_t from = cl.events[*m.joined].totem_pos;  // exclusive
            std::size_t until = npos;                                 // inclusive
            if (m.left)
                until = cl.events[*m.left].totem_pos;
            else if (m.end)
                until = cl.events[*m.end].totem_pos;
            std::set<std::size_t> got;
            for (std::size_t e : m.events)
                if (!cl.events[e].activation)
                    got.insert(cl.events[e].totem_pos);
            for (const Seg& s : segs_[m.inc]) {
                if (s.agreed_from == npos)
                    continue;
                const std::size_t lo = std::max(s.agreed_from, from + 1);
                const std::size_t hi = std::min(s.end, until);
                if (lo > hi || hi == npos)
                    continue;
                const auto it = names.find({s.key, m.group});
                if (it == names.end())
                    continue;
                for (std::size_t offset : it->second) {
                    const std::size_t pos = s.begin + offset;
                    if (pos < lo || pos > hi)
                        continue;
                    f_.expect_lazy(Violation::cpg_virtual_synchrony, got.count(pos) != 0, [&] {
                        return member_str(k) + " missed the event at offset " +
                               std::to_string(offset) + " of " + seg_str(s.key) + " in group " +
                               m.group + " that other members got (its node delivered that far)";
                    });
                }
            }
        }
    }

    // ---- names for findings --------------------------------------------------------------
    std::string who(std::size_t inc) const {
        const auto& i = t_.incarnations[inc];
        return "node " + std::to_string(i.node) + "/" + std::to_string(i.incarnation);
    }
    std::string client_str(std::size_t c) const {
        return "client " + std::to_string(t_.cpg_clients[c].id) + " of " +
               who(t_.cpg_clients[c].inc);
    }
    std::string member_str(std::size_t k) const {
        const Member& m = members_[k];
        return client_str(m.client) + " (" + std::to_string(m.node) + ":" + std::to_string(m.pid) +
               " in " + m.group + ")";
    }
    static std::string at(const CpgClient&, const CpgEvent& ev) {
        return " at " + time_str(ev.time_us) + " (position " + std::to_string(ev.totem_pos) +
               (ev.activation ? ", sync activation" : "") + ")";
    }
    static std::string str(const CpgEvent& ev) {
        if (ev.kind == CpgEvent::Kind::deliver)
            return "DELIVER " + ev.id.str();
        return "CONFCHG members " + procs_str(ev.members, false) + " left " + procs_str(ev.left) +
               " joined " + procs_str(ev.joined);
    }

    const Trace& t_;
    Findings& f_;
    std::vector<std::vector<Seg>> segs_;  // per incarnation
    std::vector<Member> members_;
    std::map<Proc, std::size_t> by_proc_;  // (node, pid) → membership (pids are run-unique)
};

}  // namespace

void check_cpg(const Trace& t, Findings& f) {
    CpgCheck(t, f).run();
}

// quorum_agreement: after each sync of ring R, every member of R that completed it counts one
// vote per member of R; and computes the same expected votes, unless the run has a per-node
// input corosync's votequorum decides by (Trace::vq_*): last_man_standing, auto_tie_breaker, or
// a quorum.expected_votes below the node count. The quorate flag is what corosync guarantees
// under wait_for_all: a member still waiting for all (a node that started, or restarted, and
// has not yet seen every node at once: votequorum.c are_we_quorate) is inquorate and counts
// fewer votes than it expects; the members not waiting agree on it.
void check_quorum(const Trace& t, Findings& f) {
    if (!t.votequorum)
        return;
    const bool views_may_vary = t.vq_last_man_standing || t.vq_auto_tie_breaker ||
                                (t.vq_expected_votes != 0 && t.vq_expected_votes < t.nodes.size());
    std::map<RingKey, std::pair<QuorumRecord, std::size_t>> first;
    for (std::size_t n = 0; n < t.incarnations.size(); ++n) {
        const auto& inc = t.incarnations[n];
        const std::string who =
            "node " + std::to_string(inc.node) + "/" + std::to_string(inc.incarnation);
        for (const QuorumRecord& q : inc.quorum) {
            f.expect_lazy(Violation::quorum_agreement, q.total_votes == q.members, [&] {
                return who + " counts " + std::to_string(q.total_votes) +
                       " votes after the sync of " + q.ring.str() + ", which has " +
                       std::to_string(q.members) + " members of one vote each, at " +
                       time_str(q.time_us);
            });
            if (q.wait_for_all_status) {
                // Fewer votes than expected only where expected votes are the run's alone:
                // last_man_standing and the tie-breaker move them per node (seed 64793 with
                // last_man_standing on a core that starts the ring on a first-rotation commit
                // token: waiting, inquorate, with 2 of 2 expected votes).
                f.expect_lazy(Violation::quorum_agreement,
                              !q.quorate && (views_may_vary || q.total_votes < q.expected_votes),
                              [&] {
                                  return who + " waits for all after the sync of " + q.ring.str() +
                                         " but is " + (q.quorate ? "quorate" : "inquorate") +
                                         " with " + std::to_string(q.total_votes) + " of " +
                                         std::to_string(q.expected_votes) + " expected votes at " +
                                         time_str(q.time_us);
                              });
            }
            if (views_may_vary)
                continue;
            // Compared with the first record of the ring from a member not waiting for all (the
            // first record until there is one).
            const auto [it, fresh] = first.emplace(key(q.ring), std::pair{q, n});
            if (fresh)
                continue;
            const QuorumRecord& o = it->second.first;
            const auto& other = t.incarnations[it->second.second];
            const bool same_quorate =
                q.quorate == o.quorate || q.wait_for_all_status || o.wait_for_all_status;
            f.expect_lazy(Violation::quorum_agreement,
                          same_quorate && q.expected_votes == o.expected_votes, [&] {
                              auto view = [](const QuorumRecord& r) {
                                  return std::string(r.quorate ? "quorate" : "inquorate") +
                                         ", total votes " + std::to_string(r.total_votes) +
                                         ", expected votes " + std::to_string(r.expected_votes) +
                                         ", quorum " + std::to_string(r.quorum) +
                                         (r.wait_for_all_status ? ", waiting for all" : "") +
                                         " at " + time_str(r.time_us);
                              };
                              return "after the sync of " + q.ring.str() + ": " + who + " " +
                                     view(q) + "; node " + std::to_string(other.node) + "/" +
                                     std::to_string(other.incarnation) + " " + view(o);
                          });
            if (o.wait_for_all_status && !q.wait_for_all_status)
                it->second = std::pair{q, n};
        }
    }
}

}  // namespace totem::sim::detail
