// MiniRing: a few Srp instances on a scripted network with virtual time, for hand-written
// scenarios of the state machine (the random, fault-injecting simulator is tests/sim).
//
// Every datagram is delivered in FIFO order unless a rule drops it; a broadcast reaches every
// live node including the sender (corosync relies on self-delivery). Time only moves when the
// network is quiet, to the next timer deadline.
#pragma once

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "engine/totem/srp.hpp"

namespace totem::test {

struct Delivered {
    NodeId sender;
    Bytes payload;
    Guarantee guarantee = Guarantee::agreed;
    RingId ring_id;                   // the ring the message was sent in
    std::size_t confchgs_before = 0;  // configuration changes reported before it
};

struct NodeTrace {
    std::vector<Delivered> delivered;
    std::vector<ConfChgEffect> confchgs;
    std::vector<std::string> logs;
    std::optional<std::uint64_t> persisted_seq;
};

class MiniRing {
  public:
    explicit MiniRing(std::vector<NodeId> ids, SrpConfig config = fast_config()) : config_(config) {
        for (NodeId id : ids)
            add(id);
    }

    static SrpConfig fast_config() {
        SrpConfig c;
        c.token = Duration::ms(1000);
        c.token_retransmit = Duration::ms(238);
        c.hold = Duration::ms(180);
        c.consensus = Duration::ms(1200);
        c.join = Duration::ms(50);
        c.merge = Duration::ms(200);
        c.fail_recv_const = 50;
        return c;
    }

    void add(NodeId id, std::uint64_t stored_seq = 0) {
        nodes_[id] = std::make_unique<Srp>(config_, id, stored_seq, id);
        traces_[id];
    }
    Srp& node(NodeId id) { return *nodes_.at(id); }
    bool nodes_has(NodeId id) const { return nodes_.count(id) != 0; }
    NodeTrace& trace(NodeId id) { return traces_.at(id); }
    Instant now() const { return now_; }

    void start_all() {
        for (auto& [id, n] : nodes_) {
            n->start(now_);
            collect(id);
        }
    }
    void start(NodeId id) {
        node(id).start(now_);
        collect(id);
    }
    // An input called on a node from the test: collects its effects after it, as a driver
    // does after every call (Srp asserts an empty outbox on entry).
    template <typename F>
    void input(NodeId id, F&& f) {
        f(node(id));
        collect(id);
    }
    // Crash: the node and everything in flight to it disappear; its persisted seq survives.
    void crash(NodeId id) {
        nodes_.erase(id);
        std::erase_if(net_, [&](const Packet& p) { return p.to == id; });
    }
    void restart(NodeId id) {
        add(id, traces_[id].persisted_seq.value_or(0));
        start(id);
    }

    // Drop rules: a packet is dropped if any rule returns true.
    using Rule = std::function<bool(NodeId from, NodeId to, const Bytes&)>;
    int add_rule(Rule r) {
        rules_[next_rule_] = std::move(r);
        return next_rule_++;
    }
    void remove_rule(int id) { rules_.erase(id); }
    void partition(const std::vector<std::set<NodeId>>& parts) {
        auto part_of = [parts](NodeId n) {
            for (std::size_t i = 0; i < parts.size(); ++i)
                if (parts[i].count(n))
                    return static_cast<int>(i);
            return -1;
        };
        partition_rule_ = add_rule([part_of](NodeId from, NodeId to, const Bytes&) {
            return part_of(from) != part_of(to);
        });
    }
    void heal() {
        if (partition_rule_)
            remove_rule(*partition_rule_);
        partition_rule_.reset();
    }

    void pause(NodeId id, Duration gap) {
        node(id).on_pause(now_, gap);
        collect(id);
    }

    bool submit(NodeId id, std::string text, Guarantee g = Guarantee::agreed) {
        Bytes b(text.begin(), text.end());
        node(id).signal_new_message(now_);
        bool ok = node(id).submit(now_, b, g);
        collect(id);
        return ok;
    }

    // Deliver packets until the network is quiet, then advance to the next deadline; stop at
    // `until` or when `done` holds. Bounded by `max_steps`.
    void run_for(Duration d, std::function<bool()> done = {}, int max_steps = 200000) {
        const Instant until = now_ + d;
        for (int step = 0; step < max_steps; ++step) {
            if (done && done())
                return;
            if (!net_.empty()) {
                Packet p = std::move(net_.front());
                net_.pop_front();
                auto it = nodes_.find(p.to);
                if (it == nodes_.end())
                    continue;
                it->second->on_packet(now_, p.bytes);
                collect(p.to);
                continue;
            }
            std::optional<Instant> next;
            for (auto& [id, n] : nodes_) {
                auto d2 = n->next_deadline();
                if (d2 && (!next || *d2 < *next))
                    next = d2;
            }
            if (!next || *next > until) {
                now_ = until;
                return;
            }
            now_ = std::max(now_, *next);
            for (auto& [id, n] : nodes_) {
                auto d2 = n->next_deadline();
                if (d2 && *d2 <= now_) {
                    n->on_timer(now_);
                    collect(id);
                }
            }
        }
    }

    // Runs until every listed node is OPERATIONAL on the same ring with exactly `members`.
    bool run_until_ring(const std::vector<NodeId>& members, Duration limit = Duration::ms(30000)) {
        auto formed = [&] {
            std::optional<RingId> ring;
            for (NodeId m : members) {
                auto it = nodes_.find(m);
                if (it == nodes_.end())
                    return false;
                const Srp& s = *it->second;
                if (s.state() != MembState::operational || s.members() != members)
                    return false;
                if (ring && !(*ring == s.ring_id()))
                    return false;
                ring = s.ring_id();
            }
            return true;
        };
        run_for(limit, formed);
        return formed();
    }

    std::size_t count_log(NodeId id, const std::string& needle) const {
        const auto& logs = traces_.at(id).logs;
        return static_cast<std::size_t>(std::count_if(
            logs.begin(), logs.end(),
            [&](const std::string& l) { return l.find(needle) != std::string::npos; }));
    }

  private:
    struct Packet {
        NodeId from;
        NodeId to;
        Bytes bytes;
    };

    void collect(NodeId id) {
        auto it = nodes_.find(id);
        if (it == nodes_.end())
            return;
        for (Effect& e : it->second->take_outbox()) {
            if (auto* s = std::get_if<SendEffect>(&e)) {
                if (s->target == 0) {
                    for (auto& [to, n] : nodes_)
                        enqueue(id, to, s->datagram);
                } else {
                    enqueue(id, s->target, s->datagram);
                }
            } else if (auto* d = std::get_if<DeliverEffect>(&e)) {
                traces_[id].delivered.push_back({d->sender, d->payload.to_bytes(), d->guarantee,
                                                 d->ring_id, traces_[id].confchgs.size()});
            } else if (auto* c = std::get_if<ConfChgEffect>(&e)) {
                traces_[id].confchgs.push_back(*c);
                if (c->type == ConfChgType::regular)
                    it->second->trans_ack();
            } else if (auto* p = std::get_if<PersistRingSeqEffect>(&e)) {
                traces_[id].persisted_seq = p->seq;
            } else if (auto* l = std::get_if<LogEffect>(&e)) {
                traces_[id].logs.push_back(l->text);
            }
        }
    }
    void enqueue(NodeId from, NodeId to, const Bytes& b) {
        for (auto& [rid, r] : rules_)
            if (r(from, to, b))
                return;
        net_.push_back(Packet{from, to, b});
    }

    SrpConfig config_;
    Instant now_{};
    std::map<NodeId, std::unique_ptr<Srp>> nodes_;
    std::map<NodeId, NodeTrace> traces_;
    std::deque<Packet> net_;
    std::map<int, Rule> rules_;
    int next_rule_ = 0;
    std::optional<int> partition_rule_;
};

inline std::string text(const Bytes& b) {
    return std::string(b.begin(), b.end());
}

}  // namespace totem::test
