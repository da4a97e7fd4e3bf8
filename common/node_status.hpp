// What the driver knows of the links and the nodes behind them, as plain data: the transport
// fills it (libknet's knet_host_get_status / knet_link_get_status / knet_link_get_stats /
// knet_handle_get_stats, or udpu's view), the node core reads a snapshot of it (cfg's node and
// link status, the stats.knet.* keys). No I/O here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace totem {

using NodeId = std::uint32_t;

// The state of one link to one node, as libknet reports it. Field names follow knet_link_status /
// knet_link_stats so that the stats.knet.nodeX.linkY.* cmap keys map one to one.
//
// udpu has one link, 0, per node (this one included): enabled and connected = the socket is
// bound, mtu = netmtu, the data counters are udpu's own; corosync's udpu (totemudpu_nodestatus_get)
// takes "reachable" and link 0's "connected" from the ring membership instead, which only the
// core knows.
struct LinkStatus {
    NodeId nodeid = 0;
    std::uint8_t link = 0;
    bool enabled = false;
    bool connected = false;
    bool dynconnected = false;
    std::string src_addr;  // this node's end, "ip:port" ("[ip]:port" for IPv6)
    std::string dst_addr;  // the node's end
    // What cfg NODESTATUSGET carries in src_ipaddr / dst_ipaddr and corosync-cfgtool prints
    // ("addr = 10.0.0.1", "(10.0.0.1->10.0.0.2)"): knet: libknet's numeric local and remote
    // addresses; udpu: as totemudpu, the node's own address in src_ip and dst_ip empty
    // (cfgtool -n prints "(10.0.0.2)").
    std::string src_ip;
    std::string dst_ip;
    std::uint32_t mtu = 0;
    std::uint64_t latency_us = 0;  // knet's smoothed average
    std::uint64_t tx_data_packets = 0;
    std::uint64_t rx_data_packets = 0;
    std::uint64_t tx_data_bytes = 0;
    std::uint64_t rx_data_bytes = 0;
    std::uint64_t tx_ping_packets = 0;
    std::uint64_t rx_ping_packets = 0;
    std::uint64_t tx_ping_bytes = 0;
    std::uint64_t rx_ping_bytes = 0;
    std::uint64_t tx_pong_packets = 0;
    std::uint64_t rx_pong_packets = 0;
    std::uint64_t tx_pong_bytes = 0;
    std::uint64_t rx_pong_bytes = 0;
    std::uint64_t tx_pmtu_packets = 0;
    std::uint64_t rx_pmtu_packets = 0;
    std::uint64_t tx_pmtu_bytes = 0;
    std::uint64_t rx_pmtu_bytes = 0;
    std::uint64_t tx_total_packets = 0;
    std::uint64_t rx_total_packets = 0;
    std::uint64_t tx_total_bytes = 0;
    std::uint64_t rx_total_bytes = 0;
    std::uint64_t tx_total_errors = 0;
    std::uint64_t tx_total_retries = 0;
    // knet has no rx retries: corosync's stats.c publishes tx_total_retries under the key
    // rx_total_retries, and so does this field.
    std::uint64_t rx_total_retries = 0;
    std::uint32_t tx_data_errors = 0, tx_data_retries = 0;
    std::uint32_t tx_ping_errors = 0, tx_ping_retries = 0;
    std::uint32_t tx_pong_errors = 0, tx_pong_retries = 0;
    std::uint32_t tx_pmtu_errors = 0, tx_pmtu_retries = 0;
    std::uint32_t latency_min_us = 0;
    std::uint32_t latency_max_us = 0;
    std::uint32_t latency_ave_us = 0;
    std::uint32_t latency_samples = 0;
    std::uint32_t down_count = 0;
    std::uint32_t up_count = 0;
};

struct NodeStatus {
    NodeId nodeid = 0;
    bool reachable = false;  // knet_host_status: some link to it is up (this node: its loopback)
    bool remote = false;     // knet_host_status (libknet 1.x: always 0)
    bool external = false;
    // knet_handle_get_onwire_ver exists only on libknet's 2.x branch; corosync 3.1.7 built on
    // libknet 1.x (Debian's) leaves these 0 and corosync-cfgtool -n does not print them.
    std::uint8_t onwire_min = 0, onwire_max = 0, onwire_ver = 0;
    std::vector<LinkStatus> links;
};

// libknet's handle-wide counters (stats.knet.handle.*).
struct KnetHandleStats {
    bool valid = false;  // false on udpu: no stats.knet.handle.* keys
    std::uint64_t tx_uncompressed_packets = 0, tx_compressed_packets = 0,
                  tx_compressed_original_bytes = 0, tx_compressed_size_bytes = 0,
                  tx_compress_time_ave = 0, tx_compress_time_min = 0, tx_compress_time_max = 0;
    std::uint64_t rx_compressed_packets = 0, rx_compressed_original_bytes = 0,
                  rx_compressed_size_bytes = 0, rx_compress_time_ave = 0, rx_compress_time_min = 0,
                  rx_compress_time_max = 0;
    std::uint64_t tx_crypt_packets = 0, tx_crypt_byte_overhead = 0, tx_crypt_time_ave = 0,
                  tx_crypt_time_min = 0, tx_crypt_time_max = 0;
    std::uint64_t rx_crypt_packets = 0, rx_crypt_time_ave = 0, rx_crypt_time_min = 0,
                  rx_crypt_time_max = 0;
};

// Counters of the transport itself (what arrived at or left the node's side of it). Every
// datagram that is not handed to the receiver is counted in exactly one rx_dropped_* field.
struct TransportCounters {
    std::uint64_t tx_datagrams = 0;  // datagrams handed to the network (one per destination)
    std::uint64_t tx_bytes = 0;
    std::uint64_t tx_errors = 0;     // send failed (unreachable, buffer full): dropped
    std::uint64_t rx_datagrams = 0;  // handed to the receiver
    std::uint64_t rx_bytes = 0;
    std::uint64_t rx_dropped_truncated = 0;        // empty or larger than the receive buffer
    std::uint64_t rx_dropped_unknown_sender = 0;   // source not in the nodelist
    std::uint64_t rx_dropped_malformed = 0;        // too short or bad header (crypto layer)
    std::uint64_t rx_dropped_config_mismatch = 0;  // other cluster_name / nodelist (udpu AEAD)
    std::uint64_t rx_dropped_auth = 0;             // failed authentication / decryption
    std::uint64_t rx_dropped_replay = 0;           // replayed or from a superseded sender session
    std::uint64_t rx_dropped_clear = 0;            // cleartext where crypto is required
};

// One snapshot, as the driver hands it to the core.
struct TransportSnapshot {
    std::string transport = "knet";  // "knet" or "udpu" (corosync-cfgtool's "transport")
    std::vector<NodeStatus> nodes;   // every configured node, this one included
    KnetHandleStats knet;
    TransportCounters counters;
};

}  // namespace totem
