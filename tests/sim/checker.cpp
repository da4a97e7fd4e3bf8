#include "tests/sim/checker.hpp"

#include "tests/sim/checker_services.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

namespace totem::sim {

std::string_view to_string(Violation v) {
    switch (v) {
        case Violation::delivered_unsent:
            return "delivered_unsent";
        case Violation::duplicate:
            return "duplicate";
        case Violation::outside_config:
            return "outside_config";
        case Violation::self_delivery:
            return "self_delivery";
        case Violation::fifo:
            return "fifo";
        case Violation::total_order:
            return "total_order";
        case Violation::config_deliveries:
            return "config_deliveries";
        case Violation::moved_together:
            return "moved_together";
        case Violation::ring_membership:
            return "ring_membership";
        case Violation::confchg_sequence:
            return "confchg_sequence";
        case Violation::trans_subset:
            return "trans_subset";
        case Violation::trans_exact:
            return "trans_exact";
        case Violation::sending_config:
            return "sending_config";
        case Violation::guarantee:
            return "guarantee";
        case Violation::safe_delivery:
            return "safe_delivery";
        case Violation::liveness_ring:
            return "liveness_ring";
        case Violation::liveness_delivery:
            return "liveness_delivery";
        case Violation::partition_progress:
            return "partition_progress";
        case Violation::sync_progress:
            return "sync_progress";
        case Violation::cmap_sync:
            return "cmap_sync";
        case Violation::cpg_delivery:
            return "cpg_delivery";
        case Violation::cpg_safe:
            return "cpg_safe";
        case Violation::cpg_self_delivery:
            return "cpg_self_delivery";
        case Violation::cpg_config:
            return "cpg_config";
        case Violation::cpg_virtual_synchrony:
            return "cpg_virtual_synchrony";
        case Violation::cpg_reasons:
            return "cpg_reasons";
        case Violation::quorum_agreement:
            return "quorum_agreement";
        case Violation::event_budget:
            return "event_budget";
        case Violation::count:
            break;
    }
    return "?";
}

bool CheckResult::ok() const {
    for (auto v : violations) {
        if (v != 0)
            return false;
    }
    return true;
}

std::uint64_t CheckResult::total_checks() const {
    std::uint64_t n = 0;
    for (auto c : checks)
        n += c;
    return n;
}

namespace detail {

bool Findings::expect(Violation v, bool ok, const std::string& detail) {
    auto k = static_cast<std::size_t>(v);
    r_.checks[k]++;
    if (!ok) {
        r_.violations[k]++;
        if (r_.findings.size() < findings_max && r_.violations[k] <= findings_per_kind_max)
            r_.findings.push_back(Finding{v, detail});
    }
    return ok;
}

}  // namespace detail

namespace {

std::string ring_str(const RingId& r) {
    return r.str();
}

std::string time_str(std::int64_t us) {
    return std::to_string(us / 1000) + "." + std::to_string(us % 1000 / 100) + " ms";
}

std::string list_str(const NodeList& l) {
    std::string s = "[";
    for (std::size_t i = 0; i < l.size(); ++i) {
        if (i)
            s += ",";
        s += std::to_string(l[i]);
    }
    return s + "]";
}

NodeList sorted(NodeList l) {
    std::sort(l.begin(), l.end());
    return l;
}

bool subset(const NodeList& a, const NodeList& b) {  // both sorted
    return std::includes(b.begin(), b.end(), a.begin(), a.end());
}

NodeList minus(const NodeList& a, const NodeList& b) {  // both sorted
    NodeList out;
    std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
    return out;
}

bool contains(const NodeList& l, NodeId n) {
    return std::find(l.begin(), l.end(), n) != l.end();
}

using RingKey = std::pair<NodeId, std::uint64_t>;
RingKey key(const RingId& r) {
    return {r.rep, r.seq};
}

// One stretch of an incarnation between two configuration changes.
struct Segment {
    std::size_t inc = 0;  // index into trace.incarnations
    bool regular = true;
    RingId ring;
    RingId prev_ring;       // transitional: the regular ring it comes from ({0,0} at start-up)
    NodeList prev_members;  // transitional: that ring's members
    NodeList members;       // sorted
    std::vector<int> msgs;  // dense message indexes, in delivery order
    std::vector<std::int64_t> times_us;  // when each was delivered
    std::optional<std::size_t> next;     // the segment that ended this one (same incarnation)
    NodeList trans_members;              // regular: the transitional configuration before it
    std::optional<std::size_t> trans;    // regular: the segment of that transitional one
    std::int64_t start_us = 0;           // when its configuration was reported
};

class Checker {
  public:
    explicit Checker(const Trace& t) : t_(t) {
        int i = 0;
        for (const auto& [id, rec] : t_.submitted) {
            index_.emplace(id, i++);
            ids_.push_back(id);
        }
    }

    CheckResult run() {
        build_segments();
        check_ring_membership();
        check_ring_seq_per_node();
        check_config_deliveries();
        check_trans_exact();
        check_safe_delivery();
        check_total_order();
        check_liveness();
        check_partition_progress();
        check_sync_progress();
        check_cmap_sync();
        detail::check_cpg(t_, f_);
        detail::check_quorum(t_, f_);
        expect(Violation::event_budget, !t_.budget_exhausted, "the run exhausted its event budget");
        return std::move(r_);
    }

  private:
    // The detail is only built when the check fails (most checks run once per delivery).
    template <typename Detail>
    bool expect_lazy(Violation v, bool ok, Detail&& detail) {
        return f_.expect_lazy(v, ok, std::forward<Detail>(detail));
    }
    bool expect(Violation v, bool ok, const std::string& detail) {
        return f_.expect(v, ok, detail);
    }
    std::string who(std::size_t inc) const {
        const auto& i = t_.incarnations[inc];
        return "node " + std::to_string(i.node) + "/" + std::to_string(i.incarnation);
    }

    // Per incarnation: the configuration sequence, deliveries, fifo, duplicates, self-delivery.
    void build_segments() {
        std::map<NodeId, std::set<MsgId>> delivered_by_node;
        for (std::size_t n = 0; n < t_.incarnations.size(); ++n) {
            const auto& inc = t_.incarnations[n];
            std::optional<std::size_t> cur;  // current segment
            std::optional<std::size_t> last_regular;
            std::map<std::pair<NodeId, std::uint32_t>, std::uint32_t> last_counter;
            std::uint32_t own_expected = 1;
            auto& seen = delivered_by_node[inc.node];
            for (const auto& ev : inc.events) {
                if (ev.kind == TraceEvent::Kind::confchg) {
                    on_confchg(n, ev.confchg, ev.time_us, cur, last_regular);
                    continue;
                }
                if (ev.kind != TraceEvent::Kind::deliver)
                    continue;  // a CPG control message (the CPG properties place by them)
                const auto& d = ev.deliver;
                const auto it = index_.find(d.id);
                const bool known = it != index_.end();
                const auto when = [&] { return " at " + time_str(ev.time_us); };
                expect_lazy(Violation::delivered_unsent,
                            d.intact && known && d.sender == d.id.origin, [&] {
                                return who(n) + " delivered " + d.id.str() +
                                       (d.intact ? "" : " with a corrupt payload") +
                                       (known ? "" : " which was never sent") +
                                       (d.sender == d.id.origin
                                            ? ""
                                            : " reported from sender " + std::to_string(d.sender)) +
                                       when();
                            });
                expect_lazy(Violation::duplicate, seen.insert(d.id).second, [&] {
                    return who(n) + " delivered " + d.id.str() + " twice" + when();
                });
                expect_lazy(Violation::outside_config, cur.has_value(), [&] {
                    return who(n) + " delivered " + d.id.str() + " before any configuration" +
                           when();
                });
                auto& last = last_counter[{d.id.origin, d.id.incarnation}];
                expect_lazy(Violation::fifo, d.id.counter > last, [&] {
                    return who(n) + " delivered " + d.id.str() + " after counter " +
                           std::to_string(last) + " of the same origin" + when();
                });
                last = std::max(last, d.id.counter);
                if (d.id.origin == inc.node && d.id.incarnation == inc.incarnation) {
                    expect_lazy(Violation::self_delivery, d.id.counter == own_expected, [&] {
                        return who(n) + " delivered its own " + d.id.str() + ", expected counter " +
                               std::to_string(own_expected) + when();
                    });
                    own_expected = d.id.counter + 1;
                }
                if (known && t_.submitted.at(d.id).safe) {
                    expect_lazy(Violation::guarantee, d.safe, [&] {
                        return who(n) + " delivered " + d.id.str() +
                               ", sent with safe delivery, as agreed" + when();
                    });
                }
                if (known) {
                    const auto [first, fresh] = sent_ring_.emplace(it->second, d.sent_ring);
                    expect_lazy(
                        Violation::sending_config, fresh || first->second == d.sent_ring, [&] {
                            return who(n) + " delivered " + d.id.str() + " as sent in ring " +
                                   ring_str(d.sent_ring) + ", another node as sent in ring " +
                                   ring_str(first->second) + when();
                        });
                }
                if (cur && known) {
                    auto& seg = segs_[*cur];
                    const RingId& sending = seg.regular ? seg.ring : seg.prev_ring;
                    expect_lazy(Violation::sending_config, d.sent_ring == sending, [&] {
                        return who(n) + " delivered " + d.id.str() + ", sent in ring " +
                               ring_str(d.sent_ring) + ", in " +
                               (seg.regular
                                    ? "regular configuration " + ring_str(seg.ring)
                                    : "the transitional configuration from " +
                                          ring_str(seg.prev_ring) + " to " + ring_str(seg.ring)) +
                               when();
                    });
                    if (seg.regular && d.safe)
                        safe_.push_back({*cur, it->second, ev.time_us});
                    seg.msgs.push_back(it->second);
                    seg.times_us.push_back(ev.time_us);
                    // In a transitional configuration also a message of a member that left:
                    // one that waited for safe delivery (EVS: the configuration it was sent
                    // in, or the transitional one after it).
                    const bool origin_ok =
                        contains(seg.members, d.id.origin) ||
                        (!seg.regular && contains(seg.prev_members, d.id.origin));
                    expect_lazy(Violation::config_deliveries, origin_ok, [&] {
                        return who(n) + " delivered " + d.id.str() + " in " +
                               (seg.regular ? "regular" : "transitional") + " configuration " +
                               ring_str(seg.ring) + " " + list_str(seg.members) +
                               " which does not contain its origin" + when();
                    });
                }
            }
            if (cur && !segs_[*cur].regular) {
                expect(Violation::confchg_sequence, false,
                       who(n) + " ended in transitional configuration " +
                           ring_str(segs_[*cur].ring) + " without its regular one");
            }
        }
    }

    void on_confchg(std::size_t n, const ConfChgRecord& c, std::int64_t time_us,
                    std::optional<std::size_t>& cur, std::optional<std::size_t>& last_regular) {
        const auto& inc = t_.incarnations[n];
        Segment s;
        s.inc = n;
        s.regular = c.regular;
        s.start_us = time_us;
        s.ring = c.ring_id;
        s.members = sorted(c.members);
        const NodeList left = sorted(c.left), joined = sorted(c.joined);
        const std::string what = who(n) + (c.regular ? " regular " : " transitional ") +
                                 ring_str(c.ring_id) + " " + list_str(s.members);
        if (c.regular) {
            const bool after_trans = cur && !segs_[*cur].regular && segs_[*cur].ring == c.ring_id;
            expect(Violation::confchg_sequence, after_trans,
                   what + " not preceded by its transitional configuration");
            expect(Violation::confchg_sequence, left.empty(), what + " has a left list");
            if (after_trans) {
                const auto& trans = segs_[*cur];
                s.trans_members = trans.members;
                s.trans = *cur;
                expect(Violation::confchg_sequence, joined == minus(s.members, trans.members),
                       what + " joined " + list_str(joined) + " != regular - transitional");
                expect(Violation::trans_subset, subset(trans.members, s.members),
                       what + " does not contain transitional " + list_str(trans.members));
            }
            expect(Violation::ring_membership, contains(s.members, inc.node),
                   what + " does not contain the node");
            auto [it, fresh] = ring_members_.emplace(key(c.ring_id), s.members);
            if (!fresh) {
                expect(Violation::ring_membership, it->second == s.members,
                       what + " but another node reported " + list_str(it->second));
            }
            rings_per_node_[inc.node].push_back({n, c.ring_id});
            ring_segs_[key(c.ring_id)].push_back(segs_.size());
        } else {
            const bool pairing = !cur || segs_[*cur].regular;
            expect(Violation::confchg_sequence, pairing,
                   what + " follows a transitional configuration");
            expect(Violation::confchg_sequence, joined.empty(), what + " has a joined list");
            if (last_regular) {
                const auto& prev = segs_[*last_regular];
                s.prev_ring = prev.ring;
                s.prev_members = prev.members;
                expect(Violation::trans_subset, subset(s.members, prev.members),
                       what + " not within previous regular " + list_str(prev.members));
                expect(Violation::confchg_sequence, left == minus(prev.members, s.members),
                       what + " left " + list_str(left) + " != previous regular - transitional");
                expect(Violation::confchg_sequence, contains(s.members, inc.node),
                       what + " does not contain the node");
            } else {
                expect(Violation::trans_subset, subset(s.members, NodeList{inc.node}),
                       what + " at start-up is not within {self}");
            }
        }
        segs_.push_back(std::move(s));
        const std::size_t idx = segs_.size() - 1;
        if (cur)
            segs_[*cur].next = idx;
        cur = idx;
        if (c.regular)
            last_regular = idx;
    }

    void check_ring_membership() {}  // done while building (needs the per-node order)

    void check_ring_seq_per_node() {
        for (const auto& [node, rings] : rings_per_node_) {
            for (std::size_t i = 1; i < rings.size(); ++i) {
                expect(Violation::confchg_sequence, rings[i - 1].second.seq < rings[i].second.seq,
                       who(rings[i].first) + " installed ring " + ring_str(rings[i].second) +
                           " after ring " + ring_str(rings[i - 1].second));
            }
        }
    }

    static bool is_prefix(const std::vector<int>& a, const std::vector<int>& b) {
        return a.size() <= b.size() && std::equal(a.begin(), a.end(), b.begin());
    }

    std::string first_difference(const Segment& sa, const Segment& sb) const {
        const auto& a = sa.msgs;
        const auto& b = sb.msgs;
        std::size_t i = 0;
        while (i < a.size() && i < b.size() && a[i] == b[i])
            ++i;
        auto at = [&](const Segment& seg) {
            if (i >= seg.msgs.size())
                return std::string("end");
            return ids_[static_cast<std::size_t>(seg.msgs[i])].str() + " at " +
                   time_str(seg.times_us[i]);
        };
        return "at position " + std::to_string(i) + ": " + at(sa) + " vs " + at(sb) + " (lengths " +
               std::to_string(a.size()) + ", " + std::to_string(b.size()) + ")";
    }

    // Diagnosis only (the violation stands, ISSUE-NOTES "Reassembly and delivery"): the message
    // `shorter` lacks is the first of its origin in the ring at `longer`, and that origin was not
    // in `shorter`'s transitional configuration — the shape of a fragmented message begun in the
    // previous ring, which corosync's totempg throws away at nodes that lack its beginning.
    std::string straddle_hint(const Segment& shorter, const Segment& longer) const {
        std::size_t i = 0;
        while (i < shorter.msgs.size() && i < longer.msgs.size() &&
               shorter.msgs[i] == longer.msgs[i])
            ++i;
        if (i >= longer.msgs.size())
            return "";
        const int m = longer.msgs[i];
        if (std::find(shorter.msgs.begin(), shorter.msgs.end(), m) != shorter.msgs.end())
            return "";
        const NodeId origin = ids_[static_cast<std::size_t>(m)].origin;
        for (std::size_t k = 0; k < i; ++k) {
            if (ids_[static_cast<std::size_t>(longer.msgs[k])].origin == origin)
                return "";
        }
        if (contains(shorter.trans_members, origin) || !contains(longer.trans_members, origin))
            return "";
        return "; the missing message is its origin's first in the ring and " + who(shorter.inc) +
               " came from another ring (transitional " + list_str(shorter.trans_members) +
               "): a message fragmented across the configuration change?";
    }

    void check_config_deliveries() {
        using TransKey = std::tuple<RingKey, RingKey, NodeList>;
        std::map<RingKey, std::vector<std::size_t>> regular;
        std::map<TransKey, std::vector<std::size_t>> trans;
        // (regular ring, transitional key) → the regular segments that ended that way
        std::map<std::pair<RingKey, TransKey>, std::vector<std::size_t>> moved;
        for (std::size_t i = 0; i < segs_.size(); ++i) {
            const auto& s = segs_[i];
            if (s.regular) {
                regular[key(s.ring)].push_back(i);
                if (s.next) {
                    const auto& n = segs_[*s.next];
                    moved[{key(s.ring), TransKey{key(n.ring), key(n.prev_ring), n.members}}]
                        .push_back(i);
                }
            } else {
                trans[TransKey{key(s.ring), key(s.prev_ring), s.members}].push_back(i);
            }
        }
        for (const auto& [ring, list] : regular) {
            std::size_t longest = list.front();
            for (auto i : list) {
                if (segs_[i].msgs.size() > segs_[longest].msgs.size())
                    longest = i;
            }
            for (auto i : list) {
                if (i == longest)
                    continue;
                expect(Violation::config_deliveries, is_prefix(segs_[i].msgs, segs_[longest].msgs),
                       "regular configuration " + ring_str(segs_[i].ring) + ": " +
                           who(segs_[i].inc) + " and " + who(segs_[longest].inc) + " diverge " +
                           first_difference(segs_[i], segs_[longest]) +
                           straddle_hint(segs_[i], segs_[longest]));
            }
        }
        for (const auto& [k, list] : trans) {
            for (std::size_t j = 1; j < list.size(); ++j) {
                const auto& a = segs_[list[0]];
                const auto& b = segs_[list[j]];
                expect(Violation::config_deliveries, a.msgs == b.msgs,
                       "transitional configuration " + ring_str(a.ring) + " " +
                           list_str(a.members) + ": " + who(a.inc) + " and " + who(b.inc) +
                           " diverge " + first_difference(a, b));
            }
        }
        for (const auto& [k, list] : moved) {
            for (std::size_t j = 1; j < list.size(); ++j) {
                auto a = segs_[list[0]].msgs;
                auto b = segs_[list[j]].msgs;
                std::sort(a.begin(), a.end());
                std::sort(b.begin(), b.end());
                expect(Violation::moved_together, a == b,
                       who(segs_[list[0]].inc) + " and " + who(segs_[list[j]].inc) +
                           " moved together from ring " + ring_str(segs_[list[0]].ring) +
                           " but delivered " + std::to_string(a.size()) + " and " +
                           std::to_string(b.size()) + " messages in it");
            }
        }
    }

    // One global order must explain every incarnation's sequence of deliveries and regular
    // configurations: a cycle in the graph of consecutive pairs means there is none.
    void check_total_order() {
        const int msg_vertices = static_cast<int>(ids_.size());
        std::map<RingKey, int> ring_vertex;
        for (const auto& s : segs_) {
            if (s.regular)
                ring_vertex.emplace(key(s.ring), 0);
        }
        int v = msg_vertices;
        for (auto& [k, idx] : ring_vertex)
            idx = v++;
        const int vertices = v;
        std::vector<std::vector<int>> out(static_cast<std::size_t>(vertices));
        std::vector<int> indegree(static_cast<std::size_t>(vertices), 0);
        std::vector<bool> used(static_cast<std::size_t>(vertices), false);
        std::size_t s = 0;
        while (s < segs_.size()) {
            // segments of one incarnation are contiguous in segs_
            const std::size_t inc = segs_[s].inc;
            int prev = -1;
            for (; s < segs_.size() && segs_[s].inc == inc; ++s) {
                const auto& seg = segs_[s];
                auto add = [&](int x) {
                    used[static_cast<std::size_t>(x)] = true;
                    if (prev >= 0 && prev != x) {
                        out[static_cast<std::size_t>(prev)].push_back(x);
                        indegree[static_cast<std::size_t>(x)]++;
                    }
                    prev = x;
                };
                if (seg.regular)
                    add(ring_vertex[key(seg.ring)]);
                for (int m : seg.msgs)
                    add(m);
            }
        }
        std::vector<int> ready;
        for (int x = 0; x < vertices; ++x) {
            if (indegree[static_cast<std::size_t>(x)] == 0)
                ready.push_back(x);
        }
        std::size_t done = 0;
        while (!ready.empty()) {
            int x = ready.back();
            ready.pop_back();
            ++done;
            for (int y : out[static_cast<std::size_t>(x)]) {
                if (--indegree[static_cast<std::size_t>(y)] == 0)
                    ready.push_back(y);
            }
        }
        std::string stuck;
        if (done != static_cast<std::size_t>(vertices)) {
            int shown = 0;
            for (int x = 0; x < vertices && shown < 4; ++x) {
                if (indegree[static_cast<std::size_t>(x)] == 0)
                    continue;
                if (!used[static_cast<std::size_t>(x)])
                    continue;
                stuck += " ";
                if (x < msg_vertices) {
                    stuck += ids_[static_cast<std::size_t>(x)].str();
                } else {
                    for (const auto& [k, idx] : ring_vertex) {
                        if (idx == x)
                            stuck += "ring " + RingId{k.first, k.second}.str();
                    }
                }
                ++shown;
            }
        }
        expect(Violation::total_order, done == static_cast<std::size_t>(vertices),
               "no total order explains the nodes' deliveries; in the cycle:" + stuck);
    }

    void check_liveness() {
        if (!t_.liveness_phase)
            return;
        // The survivors: incarnations alive at the end, one per node id.
        std::map<NodeId, std::size_t> alive;
        for (std::size_t n = 0; n < t_.incarnations.size(); ++n) {
            if (!t_.incarnations[n].crashed)
                alive[t_.incarnations[n].node] = n;
        }
        bool ring_ok = expect(Violation::liveness_ring, alive.size() == t_.nodes.size(),
                              std::to_string(alive.size()) + " of " +
                                  std::to_string(t_.nodes.size()) + " nodes up at the end");
        // The last configuration of every survivor: the same regular ring of all nodes.
        std::map<std::size_t, std::size_t> last_seg;  // incarnation → last segment
        for (std::size_t i = 0; i < segs_.size(); ++i)
            last_seg[segs_[i].inc] = i;
        std::optional<RingId> final_ring;
        for (const auto& [node, n] : alive) {
            const auto it = last_seg.find(n);
            if (!expect(Violation::liveness_ring, it != last_seg.end(),
                        who(n) + " never installed a configuration")) {
                ring_ok = false;
                continue;
            }
            const auto& s = segs_[it->second];
            ring_ok &=
                expect(Violation::liveness_ring, s.regular && s.members == t_.nodes,
                       who(n) + " ends in ring " + ring_str(s.ring) + " " + list_str(s.members) +
                           ", not a ring of all nodes " + list_str(t_.nodes));
            if (!final_ring)
                final_ring = s.ring;
            ring_ok &= expect(Violation::liveness_ring, s.ring == *final_ring,
                              who(n) + " ends in ring " + ring_str(s.ring) + ", others in " +
                                  ring_str(*final_ring));
        }
        // Every survivor delivered all its own messages.
        std::map<std::size_t, std::set<MsgId>> delivered;
        for (const auto& [node, n] : alive) {
            auto& d = delivered[n];
            for (const auto& ev : t_.incarnations[n].events) {
                if (ev.kind == TraceEvent::Kind::deliver)
                    d.insert(ev.deliver.id);
            }
        }
        for (const auto& [node, n] : alive) {
            const auto& inc = t_.incarnations[n];
            std::uint32_t missing = 0, first_missing = 0;
            for (std::uint32_t c = 1; c <= inc.submitted; ++c) {
                if (!delivered[n].count(MsgId{inc.node, inc.incarnation, c})) {
                    if (!missing++)
                        first_missing = c;
                }
            }
            expect(Violation::liveness_delivery, missing == 0,
                   who(n) + " never delivered " + std::to_string(missing) + " of its " +
                       std::to_string(inc.submitted) + " messages, the first " +
                       MsgId{inc.node, inc.incarnation, first_missing}.str());
        }
        if (ring_ok && final_ring) {
            // Same sequence in the final ring, and every survivor's last probe delivered by all.
            std::optional<std::size_t> first;
            for (const auto& [node, n] : alive) {
                const auto& s = segs_[last_seg[n]];
                if (!first) {
                    first = last_seg[n];
                    continue;
                }
                expect(Violation::liveness_delivery, s.msgs == segs_[*first].msgs,
                       "final ring " + ring_str(s.ring) + ": " + who(n) + " and " +
                           who(segs_[*first].inc) + " delivered different messages " +
                           first_difference(s, segs_[*first]));
            }
            for (const auto& [node, n] : alive) {
                std::optional<MsgId> probe;
                for (auto it = t_.submitted.begin(); it != t_.submitted.end(); ++it) {
                    if (it->first.origin == node &&
                        it->first.incarnation == t_.incarnations[n].incarnation &&
                        (it->second.flags & payload_flag_probe)) {
                        probe = it->first;
                    }
                }
                if (!expect(Violation::liveness_delivery, probe.has_value(),
                            who(n) + " submitted no probe in the final ring")) {
                    continue;
                }
                for (const auto& [node2, n2] : alive) {
                    expect(Violation::liveness_delivery, delivered[n2].count(*probe) != 0,
                           who(n2) + " did not deliver the probe " + probe->str());
                }
            }
        }
        expect(Violation::liveness_ring, t_.liveness_reached,
               "the simulator did not see the end condition within " +
                   std::to_string(t_.liveness_bound_us / 1000) + " ms of the heal");
    }

    // ---- transitional configurations: exact and agreed ----------------------------------
    // EVS: the transitional configuration that precedes regular configuration C' at p is the
    // set of members of C' that come to C' from the same regular configuration as p. Checked
    // for every member that installed C' itself (one that crashed or whose recovery failed
    // before it did leaves no trace of where it came from); and every node reporting the same
    // pair (previous regular, C') reports the same list.
    using PrevKey = std::pair<RingKey, std::size_t>;  // previous regular ring, or start-up
    PrevKey prev_key(const Segment& regular) const {
        const Segment& trans = segs_[*regular.trans];
        if (trans.prev_ring == RingId{})
            return {RingKey{0, 0}, regular.inc + 1};  // start-up: unique per incarnation
        return {key(trans.prev_ring), 0};
    }
    void check_trans_exact() {
        std::map<std::pair<RingKey, PrevKey>, std::size_t> agreed;  // → first regular segment
        for (std::size_t i = 0; i < segs_.size(); ++i) {
            const Segment& s = segs_[i];
            if (!s.regular || !s.trans)
                continue;
            const PrevKey mine = prev_key(s);
            const auto [first, fresh] = agreed.emplace(std::pair{key(s.ring), mine}, i);
            if (!fresh) {
                const Segment& f = segs_[first->second];
                expect(Violation::trans_exact, f.trans_members == s.trans_members,
                       who(s.inc) + " and " + who(f.inc) + " came from the same configuration " +
                           "to regular " + ring_str(s.ring) + " with transitional " +
                           list_str(s.trans_members) + " and " + list_str(f.trans_members));
            }
            for (NodeId q : s.members) {
                if (mine.second != 0 && q == t_.incarnations[s.inc].node)
                    continue;  // start-up: its transitional configuration is ⊆ {self}
                const auto rs = ring_segs_.find(key(s.ring));
                std::optional<std::size_t> qs;
                for (std::size_t j : rs->second) {
                    if (t_.incarnations[segs_[j].inc].node == q)
                        qs = j;
                }
                if (!qs || !segs_[*qs].trans)
                    continue;
                const bool same_origin = prev_key(segs_[*qs]) == mine;
                expect(Violation::trans_exact, contains(s.trans_members, q) == same_origin,
                       who(s.inc) + " regular " + ring_str(s.ring) + " after transitional " +
                           list_str(s.trans_members) + ": member " + who(segs_[*qs].inc) +
                           (same_origin ? " came from the same configuration but is missing"
                                        : " came from another configuration but is listed"));
            }
        }
    }

    // ---- safe delivery ----------------------------------------------------------------
    // EVS: a message delivered safe in regular configuration C was received by every member
    // of C, and each member delivers it in C or in the transitional configuration that
    // follows C, unless it fails. Failing is crashing: a member cut off by a partition has
    // received the message all the same and must deliver it. Exempt: a member that never
    // installed C (it crashed, or its recovery failed, before), one whose incarnation crashed
    // while still in C, and one still in C when the run ended.
    struct SafeDelivery {
        std::size_t seg = 0;
        int msg = 0;
        std::int64_t time_us = 0;
    };
    void check_safe_delivery() {
        std::map<std::pair<std::size_t, int>, bool> checked;  // (member segment, message)
        for (const auto& sd : safe_) {
            const Segment& p = segs_[sd.seg];
            const auto& rs = ring_segs_.at(key(p.ring));
            for (NodeId q : p.members) {
                std::optional<std::size_t> qs;
                for (std::size_t j : rs) {
                    if (t_.incarnations[segs_[j].inc].node == q)
                        qs = j;
                }
                if (!qs)
                    continue;  // never installed C
                const Segment& c = segs_[*qs];
                if (!c.next)
                    continue;  // crashed in C, or still in C at the end
                if (!checked.emplace(std::pair{*qs, sd.msg}, true).second)
                    continue;
                const Segment& after = segs_[*c.next];
                auto has = [&](const Segment& x) {
                    return std::find(x.msgs.begin(), x.msgs.end(), sd.msg) != x.msgs.end();
                };
                expect_lazy(
                    Violation::safe_delivery, has(c) || (!after.regular && has(after)), [&] {
                        return who(p.inc) + " delivered " +
                               ids_[static_cast<std::size_t>(sd.msg)].str() +
                               " safe in regular configuration " + ring_str(p.ring) + " at " +
                               time_str(sd.time_us) +
                               (p.next && segs_[*p.next].start_us == sd.time_us ? " (as it left it)"
                                                                                : "") +
                               ", but member " + who(c.inc) +
                               " delivered it neither there nor in the transitional "
                               "configuration after it (to " +
                               ring_str(after.ring) + " " + list_str(after.members) + ")";
                    });
            }
        }
    }

    // ---- progress inside partitions -----------------------------------------------------
    // A stretch: the topology (partition groups, running and paused nodes) unchanged, without
    // one-way link failures or deaf nodes, in the fault phase. A component: the running,
    // unpaused nodes of one group. With round = token + consensus + 4 × join:
    //  - delivery (loss ≤ 10 %): whenever all members of a component sit in one ring of
    //    exactly the component, all OPERATIONAL, for at least a round and sync_base() outside
    //    reordering bursts, every one of them delivers, in that ring, some message sent in it
    //    (or completes its service synchronisation);
    //  - formation (loss ≤ 5 %): a stretch that lasts formation_rounds rounds sees its
    //    component form such a ring within them.
    // docs/sim.md gives the measurements behind the loss limits and formation_rounds.
    static constexpr std::int64_t formation_rounds = 3;
    static constexpr std::uint32_t delivery_loss_max_pct = 10, formation_loss_max_pct = 5;
    // Issue 15 asks "at up to 20 % loss". Measured (docs/sim.md): at 16..20 % with 8..9 nodes
    // and a short token a sync can take longer than B (2 of 9,000 seeds: 1.14 s against 0.79 s;
    // slow, not stuck), so above sync_tight_loss_max_pct the bound is sync_lossy_factor × B.
    static constexpr std::uint32_t sync_loss_max_pct = 20, sync_tight_loss_max_pct = 15;
    static constexpr std::int64_t sync_lossy_factor = 2;

    void check_partition_progress() {
        if (t_.loss_pct > delivery_loss_max_pct || t_.topology.empty() || !t_.liveness_phase)
            return;
        const std::int64_t round = t_.token_us + t_.consensus_us + 4 * t_.join_us;
        const auto& topo = t_.topology;
        for (std::size_t i = 0; i < topo.size() && topo[i].time_us < t_.heal_time_us; ++i) {
            const std::int64_t t0 = topo[i].time_us;
            const std::int64_t t1 = i + 1 < topo.size()
                                        ? std::min(topo[i + 1].time_us, t_.heal_time_us)
                                        : t_.heal_time_us;
            if (t1 - t0 < round || topo[i].asymmetric)
                continue;
            std::map<std::uint32_t, NodeList> components;
            for (std::size_t k = 0; k < t_.nodes.size() && k < topo[i].up.size(); ++k) {
                if (topo[i].up[k] && !topo[i].paused[k])
                    components[topo[i].group[k]].push_back(t_.nodes[k]);
            }
            for (const auto& [g, members] : components)
                check_component(members, t0, t1, round);
        }
    }

    // sync_progress: a regular configuration R, installed by all its members by T, that no
    // other membership change follows at a node within T + B, B = token + consensus + 4 ×
    // join (one token more with CPG clients or votequorum) plus 2 µs for each byte of the messages
    // submitted before R that the node delivers in R (the barriers queue behind them: 0.5 MB/s, as
    // the liveness phase budgets), the node staying OPERATIONAL over [T, T + B], is synchronised
    // there: the node completes a service synchronisation of R before its next configuration change
    // (or the end of the run) — when over B the topology did not change (no partition, crash,
    // restart, pause, one-way failure), no reordering burst slowed every hop, and R's members were
    // all up, scheduled and connected, at up to 20 % loss (sync_loss_max_pct); above 15 % B is
    // doubled (sync_lossy_factor).
    void check_sync_progress() {
        if (t_.loss_pct > sync_loss_max_pct || t_.topology.empty())
            return;
        const std::int64_t factor =
            t_.loss_pct > sync_tight_loss_max_pct ? sync_lossy_factor : std::int64_t{1};
        const std::int64_t base = sync_base();
        // When the last member installed each regular configuration, and which did: sync
        // starts when all of them are OPERATIONAL in it (seed 2584: recovery under loss spread
        // the installations over 310 ms).
        std::map<std::pair<NodeId, std::uint64_t>, std::pair<std::int64_t, std::set<NodeId>>>
            installed;
        for (const auto& inc : t_.incarnations)
            for (const auto& ev : inc.events)
                if (ev.kind == TraceEvent::Kind::confchg && ev.confchg.regular) {
                    auto& [last, nodes] =
                        installed[{ev.confchg.ring_id.rep, ev.confchg.ring_id.seq}];
                    last = std::max(last, ev.time_us);
                    nodes.insert(inc.node);
                }
        for (std::size_t n = 0; n < t_.incarnations.size(); ++n) {
            const auto& inc = t_.incarnations[n];
            const std::int64_t life_end = inc.crashed ? inc.end_us : t_.end_us;
            for (std::size_t e = 0; e < inc.events.size(); ++e) {
                const TraceEvent& ev = inc.events[e];
                if (ev.kind != TraceEvent::Kind::confchg || !ev.confchg.regular)
                    continue;
                const auto& [last, nodes] =
                    installed[{ev.confchg.ring_id.rep, ev.confchg.ring_id.seq}];
                if (nodes.size() != ev.confchg.members.size())
                    continue;  // a member never installed it: the ring broke before it formed
                const std::int64_t t = last;
                const std::int64_t bound = factor * (base + 2 * backlog_bytes(inc, e));
                std::int64_t next = life_end;
                for (std::size_t f = e + 1; f < inc.events.size(); ++f)
                    if (inc.events[f].kind == TraceEvent::Kind::confchg) {
                        next = inc.events[f].time_us;
                        break;
                    }
                if (next - t < bound || burst_in(t, t + bound) ||
                    !operational_through(inc, t, t + bound) ||
                    !quiet_topology(ev.confchg.members, t, t + bound))
                    continue;
                const bool done = std::any_of(inc.syncs.begin(), inc.syncs.end(), [&](auto& s) {
                    return s.second == ev.confchg.ring_id && s.first >= ev.time_us &&
                           s.first <= next;
                });
                expect(Violation::sync_progress, done,
                       who(n) + " did not complete the sync of " + ring_str(ev.confchg.ring_id) +
                           " " + list_str(ev.confchg.members) + " (installed by all at " +
                           time_str(t) + ", OPERATIONAL over " + time_str(bound) +
                           " of a quiet network) before its next change at " + time_str(next));
            }
        }
    }

    // sync_progress's bound on a service synchronisation before the backlog term and the
    // lossy factor: token + consensus + 4 × join, one token more with CPG clients or
    // votequorum (cpg waits for a downlist and every member's joinlist, votequorum for every
    // member's NODEINFO, each retransmitted under loss: deaf seed 1745, 9 nodes, 15 %, the
    // sync took 1.09..1.29 s against 0.95 s; slow, not stuck).
    std::int64_t sync_base() const {
        const bool services = t_.votequorum || !t_.cpg_clients.empty();
        return (services ? 2 : 1) * t_.token_us + t_.consensus_us + 4 * t_.join_us;
    }

    // Whether a reordering burst overlaps [from, until].
    bool burst_in(std::int64_t from, std::int64_t until) const {
        return std::any_of(t_.bursts.begin(), t_.bursts.end(),
                           [&](const auto& b) { return b.first <= until && b.second >= from; });
    }

    // Bytes of the messages submitted before inc.events[e] that inc delivers after it, up to
    // its next configuration change: what was queued ahead of the sync barriers.
    std::int64_t backlog_bytes(const Incarnation& inc, std::size_t e) const {
        const std::int64_t t = inc.events[e].time_us;
        std::int64_t bytes = 0;
        for (std::size_t f = e + 1; f < inc.events.size(); ++f) {
            const TraceEvent& ev = inc.events[f];
            if (ev.kind == TraceEvent::Kind::confchg)
                break;
            if (ev.kind != TraceEvent::Kind::deliver)
                continue;
            const auto it = t_.submitted.find(ev.deliver.id);
            if (it != t_.submitted.end() && it->second.time_us < t)
                bytes += it->second.size;
        }
        return bytes;
    }

    // The incarnation is OPERATIONAL at t (its last record at or before t says so) and does
    // not leave it in (t, u].
    static bool operational_through(const Incarnation& inc, std::int64_t t, std::int64_t u) {
        bool in = false;
        for (const auto& [when, operational] : inc.operational) {
            if (when <= t)
                in = operational;
            else if (when <= u && !operational)
                return false;
        }
        return in;
    }

    // The topology in force at t (the last record at or before it) and no change in (t, u]:
    // every member up, scheduled, in one group, no asymmetric failure.
    bool quiet_topology(const NodeList& members, std::int64_t t, std::int64_t u) const {
        const TopologyRecord* at = nullptr;
        for (const auto& r : t_.topology) {
            if (r.time_us <= t)
                at = &r;
            else if (r.time_us <= u)
                return false;
        }
        if (!at || at->asymmetric)
            return false;
        std::optional<std::uint32_t> group;
        for (NodeId m : members) {
            const auto k = static_cast<std::size_t>(std::find(t_.nodes.begin(), t_.nodes.end(), m) -
                                                    t_.nodes.begin());
            if (k >= at->up.size() || !at->up[k] || at->paused[k])
                return false;
            if (group && *group != at->group[k])
                return false;
            group = at->group[k];
        }
        return true;
    }

    // cmap_sync: when the run reached its end condition (one ring of all nodes, synchronised),
    // every node has, from cmap's sync messages, runtime.members.<id>.config_version for every
    // node, equal to the run's totem.config_version.
    void check_cmap_sync() {
        if (!t_.liveness_phase || !t_.liveness_reached)
            return;
        for (std::size_t n = 0; n < t_.incarnations.size(); ++n) {
            const auto& inc = t_.incarnations[n];
            if (inc.crashed)
                continue;
            for (NodeId m : t_.nodes) {
                auto it = inc.config_versions.find(m);
                expect(Violation::cmap_sync,
                       it != inc.config_versions.end() && it->second == t_.config_version,
                       who(n) + " has " +
                           (it == inc.config_versions.end()
                                ? std::string("no")
                                : "config_version " + std::to_string(it->second) + " as") +
                           " runtime.members." + std::to_string(m) +
                           ".config_version at the end (the run's is " +
                           std::to_string(t_.config_version) + ")");
            }
        }
    }

    void check_component(const NodeList& members, std::int64_t t0, std::int64_t t1,
                         std::int64_t round) {
        const std::string what = "component " + list_str(members) + " (stable from " +
                                 time_str(t0) + " to " + time_str(t1) + ")";
        // The incarnation of each member running through the stretch, and its segments.
        std::vector<std::size_t> incs;
        for (NodeId m : members) {
            std::optional<std::size_t> found;
            for (std::size_t n = 0; n < t_.incarnations.size(); ++n) {
                const auto& inc = t_.incarnations[n];
                if (inc.node == m && inc.start_us <= t0 && (!inc.crashed || inc.end_us >= t1))
                    found = n;
            }
            if (!expect(Violation::partition_progress, found.has_value(),
                        what + ": no incarnation of node " + std::to_string(m) + " runs in it"))
                return;
            incs.push_back(*found);
        }
        std::vector<std::vector<std::size_t>> own(incs.size());
        for (std::size_t s = 0; s < segs_.size(); ++s) {
            for (std::size_t k = 0; k < incs.size(); ++k) {
                if (segs_[s].inc == incs[k])
                    own[k].push_back(s);
            }
        }
        // Each member's configuration at time t: the last one reported at or before t.
        auto at = [&](std::size_t k, std::int64_t t) -> std::optional<std::size_t> {
            std::optional<std::size_t> last;
            for (std::size_t s : own[k]) {
                if (segs_[s].start_us > t)
                    break;
                last = s;
            }
            return last;
        };
        // The moments the component's configuration may change: t0 and every report inside.
        std::vector<std::int64_t> times{t0};
        for (const auto& list : own) {
            for (std::size_t s : list) {
                if (segs_[s].start_us > t0 && segs_[s].start_us < t1)
                    times.push_back(segs_[s].start_us);
            }
        }
        std::sort(times.begin(), times.end());
        times.erase(std::unique(times.begin(), times.end()), times.end());
        std::optional<std::int64_t> formed_at;
        for (std::size_t j = 0; j < times.size(); ++j) {
            // All members in one regular ring of exactly the component, from times[j] on?
            std::vector<std::size_t> in;
            for (std::size_t k = 0; k < incs.size(); ++k) {
                const auto s = at(k, times[j]);
                if (!s || !segs_[*s].regular || segs_[*s].members != members ||
                    (!in.empty() && !(segs_[*s].ring == segs_[in.front()].ring)))
                    break;
                in.push_back(*s);
            }
            if (in.size() != incs.size())
                continue;
            if (!formed_at)
                formed_at = times[j];
            // It lasts until a member reports its next configuration (or the stretch ends).
            std::int64_t until = t1;
            for (std::size_t s : in) {
                if (segs_[s].next)
                    until = std::min(until, segs_[*segs_[s].next].start_us);
            }
            // The longest stretch of it in which every member was OPERATIONAL throughout.
            std::vector<std::pair<std::int64_t, std::int64_t>> common{{times[j], until}};
            for (std::size_t k = 0; k < incs.size(); ++k) {
                std::vector<std::pair<std::int64_t, std::int64_t>> next;
                for (const auto& [a, b] : operational_periods(incs[k], times[j], until)) {
                    for (const auto& [c, d] : common) {
                        if (std::max(a, c) < std::min(b, d))
                            next.emplace_back(std::max(a, c), std::min(b, d));
                    }
                }
                common = std::move(next);
            }
            std::optional<std::pair<std::int64_t, std::int64_t>> longest;
            for (const auto& p : common) {
                if (!longest || p.second - p.first > longest->second - longest->first)
                    longest = p;
            }
            // Asked of a ring OPERATIONAL long enough for its service synchronisation
            // (sync_progress's bound: clients send only after it) and not slowed by a reordering
            // burst (seed 12077: 8 nodes at 10 % loss, bursts, token 782 ms; the ring's sync was
            // at votequorum, its last step, when the stretch ended 2.6 s after it formed).
            const std::int64_t need = std::max(round, sync_base());
            if (!longest || longest->second - longest->first < need ||
                burst_in(longest->first, longest->second))
                continue;
            check_ring_delivers(what, in, longest->first, longest->second);
        }
        if (t_.loss_pct <= formation_loss_max_pct && t1 - t0 >= formation_rounds * round) {
            expect(Violation::partition_progress,
                   formed_at && *formed_at <= t0 + formation_rounds * round, [&] {
                       return what + ": no ring of exactly its members within " +
                              time_str(formation_rounds * round) +
                              (formed_at ? " (it formed at " + time_str(*formed_at) + ")"
                                         : " (nor later)");
                   }());
        }
    }

    // The periods within [from, until) in which incarnation n was OPERATIONAL.
    std::vector<std::pair<std::int64_t, std::int64_t>> operational_periods(
        std::size_t n, std::int64_t from, std::int64_t until) const {
        std::vector<std::pair<std::int64_t, std::int64_t>> out;
        std::optional<std::int64_t> since;
        for (const auto& [t, op] : t_.incarnations[n].operational) {
            if (op && !since) {
                since = t;
            } else if (!op && since) {
                if (std::max(*since, from) < std::min(t, until))
                    out.emplace_back(std::max(*since, from), std::min(t, until));
                since.reset();
            }
        }
        if (since && std::max(*since, from) < until)
            out.emplace_back(std::max(*since, from), until);
        return out;
    }

    // Every member of a ring that lasted at least a round delivered some message sent in it.
    void check_ring_delivers(const std::string& what, const std::vector<std::size_t>& in,
                             std::int64_t from, std::int64_t until) {
        const Segment& first = segs_[in.front()];
        std::map<int, std::size_t> count;
        for (std::size_t s : in) {
            std::set<int> mine;
            for (int m : segs_[s].msgs) {
                if (sent_ring_.at(m) == first.ring)
                    mine.insert(m);
            }
            for (int m : mine)
                count[m]++;
        }
        bool delivered = false;
        for (const auto& [m, c] : count)
            delivered |= c == in.size();
        // A service synchronisation of the ring completed at every member delivers too: every
        // member delivered every member's SERVICE_BUILD and BARRIERs sent in it (clients send
        // only after it, as corosync's IPC flow control lets them).
        delivered |= std::all_of(in.begin(), in.end(), [&](std::size_t s) {
            const auto& syncs = t_.incarnations[segs_[s].inc].syncs;
            return std::any_of(syncs.begin(), syncs.end(),
                               [&](const auto& x) { return x.second == first.ring; });
        });
        expect(Violation::partition_progress, delivered, [&] {
            return what + ": all members OPERATIONAL in ring " + ring_str(first.ring) + " from " +
                   time_str(from) + " to " + time_str(until) +
                   " but no message sent in it was delivered by every member";
        }());
    }

    const Trace& t_;
    CheckResult r_;
    detail::Findings f_{r_};
    std::map<int, RingId> sent_ring_;  // message → the ring the first delivery reported
    std::vector<SafeDelivery> safe_;   // safe deliveries in regular configurations
    std::map<RingKey, std::vector<std::size_t>> ring_segs_;  // regular segments per ring
    std::map<MsgId, int> index_;
    std::vector<MsgId> ids_;
    std::vector<Segment> segs_;
    std::map<RingKey, NodeList> ring_members_;
    std::map<NodeId, std::vector<std::pair<std::size_t, RingId>>> rings_per_node_;
};

}  // namespace

CheckResult check_trace(const Trace& trace) {
    return Checker(trace).run();
}

}  // namespace totem::sim
