// A CPG client on a CoreRing node, as libcpg drives the service: requests encoded with proto,
// the responses and events of its own connection decoded, and libcpg's reassembly of partial
// deliveries (lib/cpg.c cpg_dispatch: per sender (nodeid, pid), dropped when a CONFCHG lists
// the sender as left).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "proto/cpg.hpp"
#include "services/cpg.hpp"
#include "tests/unit/core/core_ring.hpp"

namespace totem::test {

namespace pc = proto::cpg;

inline services::Cpg& cpg_of(core::NodeCore& n) {
    auto* s = dynamic_cast<services::Cpg*>(n.service(services::Cpg::service_id));
    TOTEM_ASSERT(s != nullptr);
    return *s;
}

inline std::uint64_t next_conn_id() {
    static std::uint64_t id = 1000;
    return ++id;
}

struct Delivered {
    NodeId nodeid = 0;
    std::uint32_t pid = 0;
    std::string group;
    Bytes message;
    bool operator==(const Delivered&) const = default;
};

class CpgClient {
  public:
    CpgClient(CoreRing& r, NodeId node, std::uint32_t pid) : r_(r), node_(node), pid_(pid) {
        conn_ = next_conn_id();
        services::ClientInfo c;
        c.conn = conn_;
        c.service = services::Cpg::service_id;
        c.pid = static_cast<std::int32_t>(pid);
        c.procname = "cpgtest";
        c.pointer = 0x7f0000000000ull + conn_ * 0x100;
        const bool ok =
            r_.input(node_, [&](core::NodeCore& n) { return n.ipc_connected(r_.now(), c); });
        TOTEM_ASSERT(ok);
        resp_pos_ = r_.log(node_).responses.size();
        ev_pos_ = r_.log(node_).events.size();
    }

    NodeId node() const { return node_; }
    services::ConnId conn() const { return conn_; }
    std::uint32_t pid() const { return pid_; }

    // One raw request; returns the core's admission result.
    int send(const Bytes& req) {
        return r_.input(node_,
                        [&](core::NodeCore& n) { return n.ipc_request(r_.now(), conn_, req); });
    }
    // The response to the last request (the next one not read yet), if any.
    std::optional<Bytes> response() {
        const auto& all = r_.log(node_).responses;
        for (; resp_pos_ < all.size(); ++resp_pos_)
            if (all[resp_pos_].conn == conn_)
                return all[resp_pos_++].message;
        return std::nullopt;
    }
    // The error of the next response (its header), or nullopt when there is none.
    std::optional<proto::CsError> error() {
        auto b = response();
        if (!b)
            return std::nullopt;
        auto h = proto::peek_response(*b);
        TOTEM_ASSERT(h.ok());
        return h->error;
    }
    std::optional<proto::ResponseHeader> header() {
        auto b = response();
        if (!b)
            return std::nullopt;
        auto h = proto::peek_response(*b);
        TOTEM_ASSERT(h.ok());
        return *h;
    }

    std::optional<proto::CsError> join(const std::string& group, std::uint32_t flags = 0) {
        send(pc::encode(pc::ReqJoin{group, pid_, flags}));
        return error();
    }
    std::optional<proto::CsError> leave(const std::string& group) {
        send(pc::encode(pc::ReqLeave{group, pid_}));
        return error();
    }
    void mcast(const Bytes& msg, std::uint32_t guarantee = 2) {
        send(pc::encode(pc::ReqMcast{guarantee, msg}));
    }
    void mcast(const std::string& s, std::uint32_t guarantee = 2) {
        mcast(Bytes(s.begin(), s.end()), guarantee);
    }
    std::vector<proto::CpgAddress> membership(const std::string& group) {
        send(pc::encode(pc::ReqMembershipGet{group}));
        auto b = response();
        TOTEM_ASSERT(b.has_value());
        auto m = pc::decode_res_membership(*b);
        TOTEM_ASSERT(m.ok());
        return m->members;
    }
    void close() {
        r_.input(node_, [&](core::NodeCore& n) { n.ipc_closed(r_.now(), conn_); });
    }
    std::optional<services::Cpg::State> state() { return cpg_of(r_.node(node_)).state(conn_); }

    // New events since the last call, decoded (libcpg accepts only these four).
    std::vector<pc::Event> events() {
        std::vector<pc::Event> out;
        const auto& all = r_.log(node_).events;
        for (; ev_pos_ < all.size(); ++ev_pos_) {
            if (all[ev_pos_].conn != conn_)
                continue;
            auto e = pc::decode_event(all[ev_pos_].message);
            TOTEM_ASSERT(e.ok());
            out.push_back(std::move(*e));
        }
        return out;
    }
    // Every event since the last call, fed through libcpg's dispatch: whole messages (partial
    // ones once reassembled), CONFCHGs and TOTEM_CONFCHGs, in order.
    struct Dispatched {
        std::vector<Delivered> delivered;
        std::vector<pc::ResConfchgCallback> confchgs;
        std::vector<pc::ResTotemConfchgCallback> totem;
        std::vector<std::string> order;  // "confchg", "totem", "deliver" as they came
    };
    Dispatched dispatch() {
        Dispatched d;
        for (auto& e : events()) {
            if (auto* m = std::get_if<pc::ResDeliverCallback>(&e)) {
                d.delivered.push_back({m->nodeid, m->pid, m->group_name, m->message});
                d.order.push_back("deliver");
            } else if (auto* p = std::get_if<pc::ResPartialDeliverCallback>(&e)) {
                const auto key = std::make_pair(p->nodeid, p->pid);
                if (p->type == pc::partial_first)
                    assembly_[key] = Bytes{};
                auto it = assembly_.find(key);
                if (it == assembly_.end())
                    continue;  // libcpg: no assembly for this sender, the part is dropped
                it->second.insert(it->second.end(), p->fragment.begin(), p->fragment.end());
                if (p->type == pc::partial_last) {
                    TOTEM_ASSERT(it->second.size() == p->msglen);
                    d.delivered.push_back({p->nodeid, p->pid, p->group_name, it->second});
                    d.order.push_back("deliver");
                    assembly_.erase(it);
                }
            } else if (auto* c = std::get_if<pc::ResConfchgCallback>(&e)) {
                for (const auto& l : c->left)
                    assembly_.erase(std::make_pair(l.nodeid, l.pid));
                d.confchgs.push_back(*c);
                d.order.push_back("confchg");
            } else if (auto* t = std::get_if<pc::ResTotemConfchgCallback>(&e)) {
                d.totem.push_back(*t);
                d.order.push_back("totem");
            }
        }
        return d;
    }

  private:
    CoreRing& r_;
    NodeId node_;
    std::uint32_t pid_;
    services::ConnId conn_ = 0;
    std::size_t resp_pos_ = 0, ev_pos_ = 0;  // how far this client read the node's log
    std::map<std::pair<NodeId, std::uint32_t>, Bytes> assembly_;
};

inline proto::CpgAddress addr(NodeId n, std::uint32_t pid, std::uint32_t reason = 0) {
    return proto::CpgAddress{n, pid, reason};
}

}  // namespace totem::test
