// TransportConfig: everything the knet and udpu transports need, as plain values.
//
// Built from the typed Config (conf/) by the node; the transports never read corosync.conf.
// Defaults are corosync 3.1.7's (totem-wire §7, §8). Addresses are numeric IPv4/IPv6 strings.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.hpp"
#include "transport/transport.hpp"

namespace totem {

inline constexpr std::size_t kLinksMax = 8;          // corosync INTERFACE_MAX
inline constexpr std::uint16_t kDefaultPort = 5405;  // mcastport of link 0; link N: 5405 + N

enum class TransportKind : std::uint8_t { knet, udpu };
enum class LinkMode : std::uint8_t { passive = 0, active = 1, rr = 2 };  // KNET_LINK_POLICY_*

struct TransportNode {
    NodeId nodeid = 0;
    // ringN_addr per link number; empty when the node has no address on that link.
    std::array<std::string, kLinksMax> addrs{};
};

// totem.interface.N.* — one per link number that appears in the nodelist.
struct LinkConfig {
    std::uint16_t port = 0;              // mcastport; 0 → 5405 + link number
    std::string knet_transport = "udp";  // "udp" or "sctp"
    std::uint8_t priority = 1;           // knet_link_priority
    // 0 → derived from the token as corosync does: interval = token / (pong_count * 2),
    // timeout = token / pong_count (calc_knet_ping_timers).
    std::uint32_t ping_interval_ms = 0;
    std::uint32_t ping_timeout_ms = 0;
    std::uint32_t ping_precision = 2048;
    std::uint8_t pong_count = 2;
};

struct TransportConfig {
    TransportKind kind = TransportKind::knet;
    NodeId my_nodeid = 0;
    std::vector<TransportNode> nodes;  // the whole nodelist, this node included
    std::array<LinkConfig, kLinksMax> links{};

    // Effective token timeout (after token_coefficient), for the knet ping timers.
    std::uint32_t token_ms = 3000;

    // Crypto (knet: crypto_model/cipher/hash as corosync passes them to libknet; udpu:
    // cipher != "none" or hash != "none" turns on totemd's AES-256-GCM layer).
    std::string crypto_model = "nss";
    std::string crypto_cipher = "none";
    std::string crypto_hash = "none";
    Bytes key;                 // authkey bytes (128..4096 for knet)
    std::string cluster_name;  // part of the udpu config digest

    // knet handle settings.
    LinkMode link_mode = LinkMode::passive;
    bool block_unlisted_ips = true;
    std::uint32_t knet_pmtud_interval_s = 30;
    std::uint32_t knet_mtu = 0;  // 0: automatic
    std::string compression_model = "none";
    std::uint32_t compression_threshold = 0;
    int compression_level = 0;
    bool allow_knet_handle_fallback = false;  // system.allow_knet_handle_fallback
    bool knet_debug = false;                  // knet subsystems at DEBUG instead of INFO

    std::uint32_t netmtu = 0;  // 0: 65536 (knet) / 1500 (udpu)

    // May be empty. Called on the loop thread, until stop() (or the destructor) returns: what it
    // captures must outlive the transport.
    TransportLogFn log;

    bool crypto_enabled() const { return crypto_cipher != "none" || crypto_hash != "none"; }
    std::uint16_t port(std::size_t link) const {
        return links[link].port ? links[link].port
                                : static_cast<std::uint16_t>(kDefaultPort + link);
    }
    const TransportNode* node(NodeId id) const {
        for (const auto& n : nodes) {
            if (n.nodeid == id)
                return &n;
        }
        return nullptr;
    }
};

}  // namespace totem
