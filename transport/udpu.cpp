#include "transport/udpu.hpp"

#include <fmt/format.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <chrono>
#include <map>
#include <optional>

#include "transport/udpu_crypto.hpp"

namespace totem {

namespace {

namespace asio = boost::asio;
using udp = asio::ip::udp;

constexpr std::size_t kRecvBufferSize = 65536 + 512;
constexpr std::size_t kUdpMaxPayload = 65507;
constexpr std::uint32_t kUdpuNetmtu = 1500;  // corosync's UDP_NETMTU, netmtu's udpu default

class UdpuTransport final : public Transport {
  public:
    UdpuTransport(asio::io_context& io, const TransportConfig& cfg)
        : cfg_(cfg), socket_(io), buffer_(kRecvBufferSize) {}
    ~UdpuTransport() override { stop(); }

    std::optional<std::string> start() {
        const TransportNode* me = cfg_.node(cfg_.my_nodeid);
        if (!me)
            return fmt::format("nodeid {} is not in the nodelist", cfg_.my_nodeid);
        boost::system::error_code ec;
        for (const auto& n : cfg_.nodes) {
            if (n.addrs[0].empty()) {
                return fmt::format("node {} has no ring0_addr (udpu uses link 0 only)", n.nodeid);
            }
            auto a = asio::ip::make_address(n.addrs[0], ec);
            if (ec)
                return fmt::format("node {}: bad ring0_addr '{}'", n.nodeid, n.addrs[0]);
            udp::endpoint ep(a, cfg_.port(0));
            peers_[n.nodeid] = ep;
            by_address_[a] = n.nodeid;
        }
        udp::endpoint local = peers_.at(cfg_.my_nodeid);
        socket_.open(local.protocol(), ec);
        if (ec)
            return fmt::format("Cannot open UDP socket: {}", ec.message());
        socket_.set_option(asio::socket_base::receive_buffer_size(4 << 20), ec);
        socket_.set_option(asio::socket_base::send_buffer_size(4 << 20), ec);
        socket_.non_blocking(true, ec);
        socket_.bind(local, ec);
        if (ec) {
            return fmt::format("Cannot bind to {}:{} (udpu, link 0): {}",
                               local.address().to_string(), local.port(), ec.message());
        }
        if (cfg_.crypto_enabled()) {
            if (cfg_.key.empty())
                return std::string("udpu crypto is configured but the authkey is empty");
            auto now = std::chrono::system_clock::now().time_since_epoch();
            auto session = static_cast<std::uint64_t>(
                std::chrono::duration_cast<std::chrono::microseconds>(now).count());
            crypto_ = std::make_unique<UdpuCrypto>(cfg_, session);
        }
        running_ = true;
        receive();
        return std::nullopt;
    }

    void set_receiver(ReceiveFn fn) override { receiver_ = std::move(fn); }

    std::size_t max_datagram() const override {
        std::size_t mtu = kUdpMaxPayload;
        return crypto_ ? mtu - kUdpuCryptoOverhead : mtu;
    }

    bool send(NodeId target, ByteView datagram) override {
        if (!running_ || datagram.size() > max_datagram()) {
            ++counters_.tx_errors;
            return false;
        }
        Bytes sealed;
        ByteView out = datagram;
        if (crypto_) {
            sealed = crypto_->seal(datagram);
            out = sealed;
        }
        if (target != 0) {
            auto it = peers_.find(target);
            if (it == peers_.end()) {
                ++counters_.tx_errors;
                return false;
            }
            return send_one(it->second, out);
        }
        bool all = true;
        for (const auto& [id, ep] : peers_)
            all = send_one(ep, out) && all;
        return all;
    }

    // As corosync's totemudpu_nodestatus_get: link 0 only, enabled while the socket is bound,
    // mtu = netmtu, the node's own address in src_ip and nothing in dst_ip (node_status.hpp).
    std::vector<NodeStatus> status() const override {
        std::vector<NodeStatus> out;
        const udp::endpoint& local = peers_.at(cfg_.my_nodeid);
        for (const auto& [id, ep] : peers_) {
            NodeStatus s;
            s.nodeid = id;
            s.reachable = running_;
            LinkStatus l;
            l.nodeid = id;
            l.link = 0;
            l.enabled = running_;
            l.connected = running_;
            l.mtu = cfg_.netmtu ? cfg_.netmtu : kUdpuNetmtu;
            l.src_addr = endpoint_text(local);
            l.dst_addr = endpoint_text(ep);
            l.src_ip = ep.address().to_string();
            auto it = per_node_.find(id);
            if (it != per_node_.end()) {
                const PerNode& pn = it->second;
                l.tx_data_packets = l.tx_total_packets = pn.tx_packets;
                l.tx_data_bytes = l.tx_total_bytes = pn.tx_bytes;
                l.rx_data_packets = l.rx_total_packets = pn.rx_packets;
                l.rx_data_bytes = l.rx_total_bytes = pn.rx_bytes;
                l.tx_total_errors = pn.tx_errors;
                l.tx_data_errors = static_cast<std::uint32_t>(pn.tx_errors);
            }
            s.links.push_back(l);
            out.push_back(std::move(s));
        }
        return out;
    }

    KnetHandleStats handle_stats() const override { return KnetHandleStats{}; }
    void clear_stats() override { per_node_.clear(); }

    // As totemudpu_member_add: one more peer on link 0 (ring0_addr; other links are ignored).
    TransportChange add_node(const TransportNode& node) override {
        if (!running_)
            return Err{std::string("the transport is stopped")};
        if (node.nodeid == 0)
            return Err{std::string("nodeid 0 is not a node")};
        if (node.addrs[0].empty()) {
            return Err{
                fmt::format("node {} has no ring0_addr (udpu uses link 0 only)", node.nodeid)};
        }
        boost::system::error_code ec;
        auto a = asio::ip::make_address(node.addrs[0], ec);
        if (ec)
            return Err{fmt::format("node {}: bad ring0_addr '{}'", node.nodeid, node.addrs[0])};
        udp::endpoint ep(a, cfg_.port(0));
        if (auto known = peers_.find(node.nodeid); known != peers_.end()) {
            if (known->second == ep)
                return std::monostate{};
            return Err{fmt::format(
                "node {} link 0: address changed from {} to {}; to reconfigure an interface it "
                "must be deleted and recreated",
                node.nodeid, known->second.address().to_string(), a.to_string())};
        }
        if (auto other = by_address_.find(a); other != by_address_.end()) {
            return Err{fmt::format("node {}: ring0_addr {} is node {}'s", node.nodeid,
                                   a.to_string(), other->second)};
        }
        if (ep.protocol() != peers_.at(cfg_.my_nodeid).protocol()) {
            return Err{fmt::format("node {}: ring0_addr {} is not of this node's address family",
                                   node.nodeid, a.to_string())};
        }
        peers_[node.nodeid] = ep;
        by_address_[a] = node.nodeid;
        cfg_.nodes.push_back(node);
        if (crypto_)
            crypto_->set_nodelist(cfg_);
        log(LogLevel::notice, fmt::format("adding new UDPU member {{{}}}", a.to_string()));
        return std::monostate{};
    }

    // As totemudpu_member_remove: the peer is forgotten; what comes from its address is
    // counted as rx_dropped_unknown_sender (with block_unlisted_ips).
    TransportChange remove_node(NodeId nodeid) override {
        if (!running_)
            return Err{std::string("the transport is stopped")};
        if (nodeid == cfg_.my_nodeid)
            return Err{fmt::format("node {} is this node and cannot be removed", nodeid)};
        auto it = peers_.find(nodeid);
        if (it == peers_.end())
            return Err{fmt::format("node {} is not in the nodelist", nodeid)};
        std::string addr = it->second.address().to_string();
        by_address_.erase(it->second.address());
        peers_.erase(it);
        per_node_.erase(nodeid);
        std::erase_if(cfg_.nodes, [nodeid](const TransportNode& n) { return n.nodeid == nodeid; });
        if (crypto_)
            crypto_->set_nodelist(cfg_);
        log(LogLevel::notice, fmt::format("removing UDPU member {{{}}}", addr));
        return std::monostate{};
    }

    // corosync's totemudpu_reconfigure changes nothing ("Not supported"), and a reload keeps
    // udpu's link 0 settings as they were at start-up (exec/cfg.c).
    TransportChange reconfigure_links(const TransportConfig&) override { return std::monostate{}; }

    TransportCounters counters() const override { return counters_; }

    void stop() override {
        if (!running_)
            return;
        running_ = false;
        boost::system::error_code ec;
        socket_.cancel(ec);
        socket_.close(ec);
    }

  private:
    static std::string endpoint_text(const udp::endpoint& ep) {
        if (ep.address().is_v6())
            return fmt::format("[{}]:{}", ep.address().to_string(), ep.port());
        return fmt::format("{}:{}", ep.address().to_string(), ep.port());
    }

    void log(LogLevel level, std::string_view msg) const {
        if (cfg_.log)
            cfg_.log(level, "TOTEM", msg);
    }

    struct PerNode {
        std::uint64_t tx_packets = 0, tx_bytes = 0, rx_packets = 0, rx_bytes = 0, tx_errors = 0;
    };

    bool send_one(const udp::endpoint& ep, ByteView bytes) {
        boost::system::error_code ec;
        socket_.send_to(asio::buffer(bytes.data(), bytes.size()), ep, 0, ec);
        auto& pn = per_node_[by_address_.at(ep.address())];
        if (ec) {
            ++counters_.tx_errors;
            ++pn.tx_errors;
            return false;
        }
        ++counters_.tx_datagrams;
        counters_.tx_bytes += bytes.size();
        ++pn.tx_packets;
        pn.tx_bytes += bytes.size();
        return true;
    }

    void receive() {
        socket_.async_receive_from(
            asio::buffer(buffer_), from_,
            [this](const boost::system::error_code& ec, std::size_t n) { on_receive(ec, n); });
    }

    void on_receive(const boost::system::error_code& ec, std::size_t n) {
        if (!running_ || ec == asio::error::operation_aborted || !socket_.is_open() ||
            ec == asio::error::bad_descriptor)
            return;
        if (!ec)
            deliver(n);
        // Other errors (ICMP port unreachable reported on the socket, …) do not stop us.
        receive();
    }

    void deliver(std::size_t n) {
        if (n == 0 || n >= buffer_.size()) {
            ++counters_.rx_dropped_truncated;
            return;
        }
        // By address only: corosync's udpu sends broadcasts from sockets bound to port 0 (one per
        // member), only the token from mcastport.
        auto from = by_address_.find(from_.address());
        if (from == by_address_.end() && cfg_.block_unlisted_ips) {
            ++counters_.rx_dropped_unknown_sender;
            log_drop(0, fmt::format("from unlisted address {}", from_.address().to_string()));
            return;
        }
        ByteView data(buffer_.data(), n);
        if (crypto_) {
            auto opened = crypto_->open(data);
            if (!opened) {
                count(opened.error());
                log_drop(from == by_address_.end() ? 0 : from->second, to_string(opened.error()));
                return;
            }
            if (from != by_address_.end() && opened->sender != from->second) {
                // Authenticated but sent from another member's address: not what udpu does.
                ++counters_.rx_dropped_unknown_sender;
                return;
            }
            account_rx(opened->sender, n);
            if (receiver_)
                receiver_(opened->plaintext);
            return;
        }
        account_rx(from == by_address_.end() ? 0 : from->second, n);
        if (receiver_)
            receiver_(data);
    }

    void account_rx(NodeId id, std::size_t n) {
        ++counters_.rx_datagrams;
        counters_.rx_bytes += n;
        if (id) {
            auto& pn = per_node_[id];
            ++pn.rx_packets;
            pn.rx_bytes += n;
        }
    }

    void count(UdpuDrop d) {
        switch (d) {
            case UdpuDrop::malformed:
                ++counters_.rx_dropped_malformed;
                break;
            case UdpuDrop::unknown_sender:
                ++counters_.rx_dropped_unknown_sender;
                break;
            case UdpuDrop::config_mismatch:
                ++counters_.rx_dropped_config_mismatch;
                break;
            case UdpuDrop::auth:
                ++counters_.rx_dropped_auth;
                break;
            case UdpuDrop::replay:
                ++counters_.rx_dropped_replay;
                break;
        }
    }

    // One log line per (sender, reason) every 1024 drops, so a flood cannot flood the log.
    void log_drop(NodeId from, std::string_view why) {
        if (!cfg_.log)
            return;
        auto& k = drop_log_[{from, std::string(why)}];
        if (k++ % 1024 != 0)
            return;
        cfg_.log(
            LogLevel::warning, "TOTEM",
            fmt::format("udpu: dropped a packet from {} ({}): {} (seen {} times)",
                        from_.address().to_string(),
                        from ? fmt::format("node {}", from) : std::string("not a member"), why, k));
    }

    TransportConfig cfg_;
    udp::socket socket_;
    std::vector<std::uint8_t> buffer_;
    udp::endpoint from_;
    std::map<NodeId, udp::endpoint> peers_;
    std::map<asio::ip::address, NodeId> by_address_;
    std::map<NodeId, PerNode> per_node_;
    std::map<std::pair<NodeId, std::string>, std::uint64_t> drop_log_;
    std::unique_ptr<UdpuCrypto> crypto_;
    ReceiveFn receiver_;
    TransportCounters counters_;
    bool running_ = false;
};

}  // namespace

Result<std::unique_ptr<Transport>, std::string> make_udpu_transport(boost::asio::io_context& io,
                                                                    const TransportConfig& cfg) {
    auto t = std::make_unique<UdpuTransport>(io, cfg);
    if (auto err = t->start())
        return Err{*err};
    return std::unique_ptr<Transport>(std::move(t));
}

}  // namespace totem
