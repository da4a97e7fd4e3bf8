// CoreRing: a few NodeCores (engine/core) on a scripted in-memory network with virtual time,
// for hand-written scenarios of the node core and its services (the random simulator is
// tests/sim). Every datagram is delivered in FIFO order unless a rule drops it; a broadcast
// reaches every live node including the sender. Time moves only when the network is quiet,
// to the next deadline. Every effect is recorded per node.
#pragma once

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "conf/load.hpp"
#include "engine/core/core.hpp"

namespace totem::test {

inline std::string ring_config(int nodes, const std::string& extra_totem = "",
                               const std::string& cluster_name = "ring",
                               const std::string& extra_sections = "") {
    std::string s = "totem {\nversion: 2\ncluster_name: " + cluster_name +
                    "\ntransport: knet\ntoken: 1000\n" + extra_totem + "}\nnodelist {\n";
    for (int i = 1; i <= nodes; ++i)
        s += "node {\nring0_addr: 10.9.0." + std::to_string(i) + "\nnodeid: " + std::to_string(i) +
             "\nname: n" + std::to_string(i) + "\n}\n";
    return s + "}\n" + extra_sections;
}

inline conf::Config parse_config(const std::string& text, std::uint32_t nodeid) {
    conf::LoadOptions o;
    o.derive.local_nodeid = nodeid;
    conf::HostEnv h;
    h.hostname = "n" + std::to_string(nodeid);
    o.host = h;
    o.uidgid_dir = "";
    auto r = conf::load_text(text, "ring.conf", conf::Format::Conf, o);
    if (!r) {
        std::fprintf(stderr, "config: %s\n", r.error().str().c_str());
        std::abort();
    }
    return std::move(r->config);
}

struct NodeLog {
    std::vector<core::LogLine> lines;
    std::vector<core::IpcResponse> responses;
    std::vector<core::IpcEvent> events;
    std::vector<core::IpcDisconnect> disconnects;
    std::vector<core::IpcRateLimit> rate_limits;
    std::vector<services::Action> actions;
    int ready = 0;
    std::optional<std::uint64_t> persisted_seq;
    std::vector<Bytes> datagrams;  // what this node sent, when CoreRing::record_datagrams
    std::size_t count(const std::string& needle) const {
        return static_cast<std::size_t>(std::count_if(
            lines.begin(), lines.end(),
            [&](const core::LogLine& l) { return l.text.find(needle) != std::string::npos; }));
    }
};

class CoreRing {
  public:
    using Setup = std::function<void(NodeId, core::NodeCore&)>;
    explicit CoreRing(int n, const std::string& text = "", const Setup& setup = {}) {
        for (int i = 1; i <= n; ++i)
            add(static_cast<NodeId>(i), text.empty() ? ring_config(n) : text, {}, setup);
    }
    void add(NodeId id, const std::string& text, core::CoreOptions o = {},
             const Setup& setup = {}) {
        if (!o.seed)
            o.seed = id;
        nodes_[id] = std::make_unique<core::NodeCore>(parse_config(text, id), o);
        if (setup)
            setup(id, *nodes_[id]);
        collect(id);
    }
    core::NodeCore& node(NodeId id) { return *nodes_.at(id); }
    NodeLog& log(NodeId id) { return logs_[id]; }
    Instant now() const { return now_; }
    bool alive(NodeId id) const { return nodes_.count(id) != 0; }

    void start_all() {
        for (auto& [id, n] : nodes_) {
            n->start(now_);
            collect(id);
        }
    }
    // An input on one node from the test, then its effects (as a driver does).
    template <typename F>
    auto input(NodeId id, F&& f) {
        if constexpr (std::is_void_v<decltype(f(node(id)))>) {
            f(node(id));
            collect(id);
        } else {
            auto r = f(node(id));
            collect(id);
            return r;
        }
    }
    void crash(NodeId id) {
        nodes_.erase(id);
        std::erase_if(net_, [&](const Packet& p) { return p.to == id; });
    }
    // Drops what `rule(from, to)` says.
    void set_rule(std::function<bool(NodeId, NodeId)> rule) { rule_ = std::move(rule); }
    // Drops what `rule(from, to, datagram)` says (a rule on the packet's bytes: its type).
    void set_packet_rule(std::function<bool(NodeId, NodeId, ByteView)> rule) {
        packet_rule_ = std::move(rule);
    }

    void run_for(Duration d, const std::function<bool()>& done = {}, int max_steps = 400000) {
        const Instant until = now_ + d;
        for (int step = 0; step < max_steps; ++step) {
            if (done && done())
                return;
            if (!net_.empty()) {
                Packet p = std::move(net_.front());
                net_.pop_front();
                if (!alive(p.to))
                    continue;
                node(p.to).on_packet(now_, p.bytes);
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
    // Until every listed node completed a sync of one ring with exactly these members.
    bool run_until_synced(const NodeList& members, Duration limit = Duration::ms(30000)) {
        auto done = [&] {
            std::optional<RingId> ring;
            for (NodeId id : members) {
                if (!alive(id))
                    return false;
                auto& n = node(id);
                if (n.sync_in_progress() || n.members() != members)
                    return false;
                if (ring && !(*ring == n.ring_id()))
                    return false;
                ring = n.ring_id();
            }
            return true;
        };
        run_for(limit, done);
        return done();
    }

  private:
    struct Packet {
        NodeId from, to;
        Bytes bytes;
    };
    void collect(NodeId id) {
        if (!alive(id))
            return;
        for (core::Effect& e : node(id).take_effects()) {
            NodeLog& l = logs_[id];
            std::visit(
                [&](auto& v) {
                    using T = std::decay_t<decltype(v)>;
                    if constexpr (std::is_same_v<T, SendEffect>) {
                        if (record_datagrams)
                            l.datagrams.push_back(v.datagram);
                        if (v.target == 0) {
                            for (auto& [to, n] : nodes_)
                                send(id, to, v.datagram);
                        } else {
                            send(id, v.target, v.datagram);
                        }
                    } else if constexpr (std::is_same_v<T, PersistRingSeqEffect>) {
                        l.persisted_seq = v.seq;
                    } else if constexpr (std::is_same_v<T, core::LogLine>) {
                        l.lines.push_back(v);
                    } else if constexpr (std::is_same_v<T, core::IpcResponse>) {
                        l.responses.push_back(v);
                    } else if constexpr (std::is_same_v<T, core::IpcEvent>) {
                        l.events.push_back(v);
                    } else if constexpr (std::is_same_v<T, core::IpcDisconnect>) {
                        l.disconnects.push_back(v);
                    } else if constexpr (std::is_same_v<T, core::IpcRateLimit>) {
                        l.rate_limits.push_back(v);
                    } else if constexpr (std::is_same_v<T, core::ReadyEffect>) {
                        l.ready++;
                    } else {
                        l.actions.push_back(v);
                    }
                },
                e);
        }
        node(id).check_invariants();
    }
    void send(NodeId from, NodeId to, const Bytes& b) {
        if (rule_ && rule_(from, to))
            return;
        if (packet_rule_ && packet_rule_(from, to, b))
            return;
        net_.push_back(Packet{from, to, b});
    }

  public:
    bool record_datagrams = false;  // keep every datagram in NodeLog::datagrams

  private:
    std::map<NodeId, std::unique_ptr<core::NodeCore>> nodes_;
    std::map<NodeId, NodeLog> logs_;
    std::deque<Packet> net_;
    std::function<bool(NodeId, NodeId)> rule_;
    std::function<bool(NodeId, NodeId, ByteView)> packet_rule_;
    Instant now_{};
};

}  // namespace totem::test
