// UdpuTransport: Totem over plain UDP unicast, as corosync's udpu (totem-wire §7.8).
//
// One UDP socket bound to this node's ring0 address on mcastport (default 5405). A unicast is
// one datagram to the target's ring0 address; a broadcast is one datagram to every configured
// node, this one included. Datagrams from addresses outside the nodelist are counted and
// dropped (with block_unlisted_ips, the default).
//
// With crypto configured (crypto_cipher or crypto_hash not "none") every datagram is sealed
// with totemd's AES-256-GCM layer (transport/udpu_crypto.hpp, docs/protocol/udpu-crypto.md);
// a corosync udpu node cannot be in such a ring (corosync refuses crypto on udpu).
//
// add_node / remove_node add and forget a peer (totemudpu_member_add / member_remove); with
// crypto the config digest follows the nodelist, so nodes talk again once both have reloaded.
//
// Runs on the io_context given to create(); not thread-safe. Sends are synchronous
// non-blocking send_to calls, so stop() has nothing left to flush.
#pragma once

#include <memory>
#include <string>

#include "common/result.hpp"
#include "transport/config.hpp"
#include "transport/transport.hpp"

namespace boost::asio {
class io_context;
}

namespace totem {

// The configured transport, or one line saying why it cannot start ("Cannot bind ...").
Result<std::unique_ptr<Transport>, std::string> make_udpu_transport(boost::asio::io_context& io,
                                                                    const TransportConfig& cfg);

}  // namespace totem
