// KnetTransport: Totem over kronosnet (libknet 1.25), configured exactly as corosync 3.1.7's
// totemknet (totem-wire §7), so totemd and corosync nodes share one ring.
//
//   handle     knet_handle_new(host id = nodeid, log pipe, DEBUG); access lists; PMTUd
//              interval and MTU; the destination filter; host/socket/PMTU notifications;
//              data fd on channel 0; crypto (set_config 1, use_config 1, no clear traffic);
//              compression; setfwd(1).
//   hosts      every nodelist node, with the link policy (passive/active/rr).
//   links      self: one loopback link 0. Others: one link per ringN_addr, udp (or sctp where
//              the kernel has it), src = our ringN address, dst = theirs, port 5405 + N by
//              default, priority, ping timers (token / pong_count, token / (2 pong_count),
//              precision 2048), pong_count 2, enabled.
//   addressing send() writes the destination into the Totem header's target_nodeid
//              (offset 9, LE u32; 0 = broadcast); the filter reads it back on TX and RX, so a
//              unicast reaches only its target and a broadcast every reachable host and self.
//              A target outside the nodelist is refused (tx_errors).
//   reload     add_node / remove_node do what totemknet_member_add / member_remove do, with
//              the start-up code (host, policy, links; links disabled and cleared, host
//              removed). reconfigure_links re-applies what totemknet_refresh_config does after
//              a reload (access lists, PMTUd interval, knet_mtu; priority, ping timers and pong
//              count on every link to another node) and totemknet_reconfigure's compression.
//              Crypto changes (corosync's two-phase crypto reconfiguration) are not done here.
//              What a removed node still sends, libknet drops before the data fd (it no longer
//              knows the host), so no TransportCounters field counts it.
//   status     knet_host_get_status, knet_link_get_status for every configured node;
//              handle_stats: knet_handle_get_stats.
//
// libknet's threads talk to the loop only through the data fd, the log pipe (both read by
// the io_context) and posted notifications. Not thread-safe otherwise: use on the loop thread.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "common/result.hpp"
#include "transport/config.hpp"
#include "transport/transport.hpp"

namespace boost::asio {
class io_context;
}

namespace totem {

// Byte offset and size of target_nodeid in the Totem message header (totem-wire §1).
inline constexpr std::size_t kTargetNodeidOffset = 9;
inline constexpr std::size_t kTotemHeaderSize = 13;

// The configured transport, or one line saying why it cannot start: an address that is not
// local ("Cannot bind ..."), a port in use, a bad key, a missing knet crypto plugin, SCTP
// without kernel support, a nodeid knet cannot carry.
Result<std::unique_ptr<Transport>, std::string> make_knet_transport(boost::asio::io_context& io,
                                                                    const TransportConfig& cfg);

// The knet ping timers corosync derives from the token (calc_knet_ping_timers), in ms.
struct KnetPingTimers {
    std::uint32_t interval_ms;
    std::uint32_t timeout_ms;
    std::uint32_t precision;
    std::uint8_t pong_count;
};
KnetPingTimers knet_ping_timers(const TransportConfig& cfg, std::size_t link);

// What libknet has for one link (knet_link_get_priority / _ping_timers / _pong_count), read
// back for tests and diagnostics; nullopt when `t` is not a knet transport or the link is not
// configured.
struct KnetLinkSettings {
    std::uint8_t priority;
    std::uint32_t ping_interval_ms;
    std::uint32_t ping_timeout_ms;
    std::uint32_t ping_precision;
    std::uint8_t pong_count;
};
std::optional<KnetLinkSettings> knet_link_settings(const Transport& t, NodeId node,
                                                   std::uint8_t link);

}  // namespace totem
