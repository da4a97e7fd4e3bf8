// Helpers for the quorum and votequorum scenarios on CoreRing: configs with a quorum section,
// libquorum / libvotequorum clients speaking the IPC layouts (proto/), and the views
// corosync-quorumtool prints, read through the same requests the tool sends.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "proto/cmap.hpp"
#include "proto/quorum.hpp"
#include "proto/votequorum.hpp"
#include "tests/unit/core/core_ring.hpp"

namespace totem::test {

namespace pq = proto::quorum;
namespace pv = proto::votequorum;
using proto::CsError;

// n nodes (ids 1..n, names n<i>), votequorum with the given quorum-section lines, and optional
// per-node votes (quorum_votes).
inline std::string vq_config(int nodes, const std::string& quorum_lines = "",
                             const std::map<int, int>& votes = {},
                             const std::string& provider = "corosync_votequorum") {
    std::string s =
        "totem {\nversion: 2\ncluster_name: ring\ntransport: knet\ntoken: 1000\n}\n"
        "nodelist {\n";
    for (int i = 1; i <= nodes; ++i) {
        s += "node {\nring0_addr: 10.9.0." + std::to_string(i) + "\nnodeid: " + std::to_string(i) +
             "\nname: n" + std::to_string(i) + "\n";
        if (auto it = votes.find(i); it != votes.end())
            s += "quorum_votes: " + std::to_string(it->second) + "\n";
        s += "}\n";
    }
    s += "}\n";
    if (!provider.empty())
        s += "quorum {\nprovider: " + provider + "\n" + quorum_lines + "}\n";
    return s;
}

inline services::ClientInfo vq_client(services::ConnId conn, std::uint16_t service) {
    services::ClientInfo c;
    c.conn = conn;
    c.service = service;
    c.pid = 777;
    c.procname = "corosync-quorumtool";
    return c;
}

// One IPC client of one node: requests and the events it received since the last take.
class Client {
  public:
    Client(CoreRing& r, NodeId node, services::ConnId conn, std::uint16_t service)
        : r_(r), node_(node), conn_(conn) {
        const bool ok = r_.input(node_, [&](core::NodeCore& n) {
            return n.ipc_connected(r_.now(), vq_client(conn_, service));
        });
        if (!ok)
            throw std::runtime_error("client refused");
    }
    ~Client() {
        if (r_.alive(node_))
            r_.input(node_, [&](core::NodeCore& n) { n.ipc_closed(r_.now(), conn_); });
    }
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    // Sends a request; returns the response it got at once (empty when it is deferred).
    Bytes call(const Bytes& request) {
        const std::size_t before = responses().size();
        r_.input(node_, [&](core::NodeCore& n) { return n.ipc_request(r_.now(), conn_, request); });
        const auto rs = responses();
        return rs.size() > before ? rs.back() : Bytes{};
    }
    std::vector<Bytes> responses() const {
        std::vector<Bytes> out;
        for (const auto& x : r_.log(node_).responses)
            if (x.conn == conn_)
                out.push_back(x.message);
        return out;
    }
    // Events since the last take_events(), in order.
    std::vector<Bytes> take_events() {
        std::vector<Bytes> out;
        const auto& ev = r_.log(node_).events;
        for (std::size_t i = seen_; i < ev.size(); ++i)
            if (ev[i].conn == conn_)
                out.push_back(ev[i].message.to_bytes());
        seen_ = ev.size();
        return out;
    }
    NodeId node() const { return node_; }
    services::ConnId conn() const { return conn_; }

  private:
    CoreRing& r_;
    NodeId node_;
    services::ConnId conn_;
    std::size_t seen_ = 0;
};

inline std::int32_t response_id(const Bytes& b) {
    Reader r(b);
    return r.i32();
}

inline CsError status_of(const Bytes& b) {
    auto s = pv::decode_res_status(b);
    return s ? s->error : static_cast<CsError>(-1);
}

// GETINFO for `nodeid` (0 = this node).
inline pv::ResGetInfo getinfo(Client& c, std::int32_t nodeid = 0) {
    auto r = pv::decode_res_getinfo(c.call(pv::encode(pv::ReqGetInfo{nodeid})));
    if (!r)
        throw std::runtime_error("getinfo: bad reply");
    return *r;
}

// corosync-cmapctl -s KEY TYPE VALUE on node `node`, through a cmap connection (conn 900).
inline CsError cmap_set(CoreRing& r, NodeId node, const std::string& key, std::uint8_t type,
                        Bytes value) {
    Client cm(r, node, 900, 0);
    const Bytes res =
        cm.call(proto::cmap::encode(proto::cmap::ReqSet{key, type, std::move(value)}));
    auto h = proto::peek_response(res);
    return h ? h->error : static_cast<CsError>(-1);
}
inline Bytes le32(std::uint32_t v) {
    Bytes b;
    Writer w(b);
    w.u32(v);
    return b;
}

// What "corosync-quorumtool -s" shows in its votequorum part, for comparisons in one line.
struct VqView {
    std::uint32_t expected = 0, highest = 0, total = 0, quorum = 0, flags = 0;
    bool quorate = false;
    bool operator==(const VqView&) const = default;
};
inline std::ostream& operator<<(std::ostream& os, const VqView& v) {
    return os << "{expected " << v.expected << " highest " << v.highest << " total " << v.total
              << " quorum " << v.quorum << " flags " << v.flags << (v.quorate ? " Q" : " -") << "}";
}
inline VqView view(Client& c) {
    const auto i = getinfo(c);
    return VqView{i.expected_votes, i.highest_expected,
                  i.total_votes,    i.quorum,
                  i.flags,          (i.flags & pv::info_quorate) != 0};
}

// A votequorum client on every listed node (conn ids 500 + node).
class Clients {
  public:
    Clients(CoreRing& r, const NodeList& nodes) {
        for (NodeId n : nodes)
            c_[n] = std::make_unique<Client>(r, n, 500 + n, pv_service);
    }
    Client& operator[](NodeId n) { return *c_.at(n); }
    void drop(NodeId n) { c_.erase(n); }
    static constexpr std::uint16_t pv_service = 5;

  private:
    std::map<NodeId, std::unique_ptr<Client>> c_;
};

}  // namespace totem::test
