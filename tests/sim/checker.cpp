#include "tests/sim/checker.hpp"

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
        case Violation::liveness_ring:
            return "liveness_ring";
        case Violation::liveness_delivery:
            return "liveness_delivery";
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

namespace {

constexpr std::size_t findings_max = 24;          // details kept per run
constexpr std::size_t findings_per_kind_max = 3;  // so that one kind cannot hide the others

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
    NodeList members;       // sorted
    std::vector<int> msgs;  // dense message indexes, in delivery order
    std::vector<std::int64_t> times_us;  // when each was delivered
    std::optional<std::size_t> next;     // the segment that ended this one (same incarnation)
    NodeList trans_members;              // regular: the transitional configuration before it
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
        check_total_order();
        check_liveness();
        expect(Violation::event_budget, !t_.budget_exhausted, "the run exhausted its event budget");
        return std::move(r_);
    }

  private:
    // The detail is only built when the check fails (most checks run once per delivery).
    template <typename Detail>
    bool expect_lazy(Violation v, bool ok, Detail&& detail) {
        if (ok) {
            r_.checks[static_cast<std::size_t>(v)]++;
            return true;
        }
        return expect(v, false, detail());
    }
    bool expect(Violation v, bool ok, const std::string& detail) {
        auto k = static_cast<std::size_t>(v);
        r_.checks[k]++;
        if (!ok) {
            r_.violations[k]++;
            if (r_.findings.size() < findings_max && r_.violations[k] <= findings_per_kind_max) {
                r_.findings.push_back(Finding{v, detail});
            }
        }
        return ok;
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
                    on_confchg(n, ev.confchg, cur, last_regular);
                    continue;
                }
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
                if (cur && known) {
                    auto& seg = segs_[*cur];
                    seg.msgs.push_back(it->second);
                    seg.times_us.push_back(ev.time_us);
                    expect_lazy(
                        Violation::config_deliveries, contains(seg.members, d.id.origin), [&] {
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

    void on_confchg(std::size_t n, const ConfChgRecord& c, std::optional<std::size_t>& cur,
                    std::optional<std::size_t>& last_regular) {
        const auto& inc = t_.incarnations[n];
        Segment s;
        s.inc = n;
        s.regular = c.regular;
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
        } else {
            const bool pairing = !cur || segs_[*cur].regular;
            expect(Violation::confchg_sequence, pairing,
                   what + " follows a transitional configuration");
            expect(Violation::confchg_sequence, joined.empty(), what + " has a joined list");
            if (last_regular) {
                const auto& prev = segs_[*last_regular];
                s.prev_ring = prev.ring;
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

    const Trace& t_;
    CheckResult r_;
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
