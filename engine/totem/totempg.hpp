// Totempg: corosync's totempg layer between the services and Srp (shared/spec/totem-wire.md §6).
//
// Send side: application messages (group header + payload) are packed into totempg packets of
// at most `net_mtu - 90` bytes; a large message is cut into fragments across packets. Full
// packets go to the PacketSink (Srp::submit) at once; a partly filled packet waits for the
// next token (flush()). Receive side: packets from Srp's agreed-order delivery are reassembled
// per originator and complete messages come out with their group list.
//
// Pure: no I/O, no clock. Single-threaded, owned by the node's loop.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.hpp"
#include "engine/totem/srp.hpp"
#include "engine/totem/types.hpp"

namespace totem {

// Where finished totempg packets go (Srp in the node; a recorder in unit tests).
class PacketSink {
public:
    virtual ~PacketSink() = default;
    // Free slots in the send queue (each packet takes one).
    virtual std::size_t packet_slots_avail() const = 0;
    // Queue one packet; false when full (the caller checked slots first, so this is a bug).
    virtual bool submit_packet(ByteView packet, Guarantee g) = 0;
};

// One application message as delivered upward.
struct GroupMessage {
    NodeId sender = 0;
    std::vector<std::string> groups;  // the groups it was addressed to
    Bytes payload;                    // the service message, after the group header
};

struct TotempgStats {
    std::uint64_t msgs_packed = 0;
    std::uint64_t packets_sent = 0;
    std::uint64_t fragments_sent = 0;
    std::uint64_t packets_rx = 0;
    std::uint64_t msgs_delivered = 0;
    std::uint64_t rx_malformed = 0;       // packet or group header inconsistent: dropped
    std::uint64_t rx_fragment_lost = 0;   // continuation mismatch: partial message discarded
    std::uint64_t rx_oversize = 0;        // reassembly beyond max_message_size: discarded
};

class Totempg {
public:
    static constexpr std::size_t max_message_size = 1024 * 1024;  // MESSAGE_SIZE_MAX
    static constexpr std::size_t max_groups = 32;

    // net_mtu as configured (totem.netmtu); packets are at most net_mtu - 90 bytes.
    explicit Totempg(std::uint32_t net_mtu);

    // Queue one message to `groups` (1..32 names). Returns false, and queues nothing, when the
    // sink lacks the slots the message needs or the message exceeds max_message_size.
    bool mcast(std::span<const std::string_view> groups, ByteView payload, Guarantee g,
               PacketSink& sink);
    // The token arrived: send the partly filled packet, if any.
    void flush(PacketSink& sink);
    // Slots a message of `bytes` bytes needs (corosync's byte_count_send_ok rule).
    std::size_t slots_needed(std::size_t bytes) const;

    // One packet delivered by Srp in agreed order; complete messages are appended to `out`.
    void deliver(NodeId sender, ByteView packet, bool swapped, std::vector<GroupMessage>& out);
    // A configuration change: discard the partial messages of the nodes that left.
    void confchg(const NodeList& left);
    // While Srp waits for the transitional ack, reassembly uses a separate buffer set (§6.5).
    void set_waiting_trans_ack(bool waiting);

    const TotempgStats& stats() const { return stats_; }
    std::size_t max_packet_size() const { return packet_max_; }

private:
    struct Assembly {
        Bytes data;                // partial message bytes
        std::uint8_t last_frag_num = 0;
        bool throw_away = false;
    };
    void send_packet(PacketSink& sink, std::uint8_t fragmented, Guarantee g);
    Assembly& assembly(NodeId sender);
    bool deliver_message(NodeId sender, ByteView msg, bool swapped, std::vector<GroupMessage>& out);

    std::size_t packet_max_;        // net_mtu - 90
    // packing state
    Bytes pack_data_;
    std::vector<std::uint16_t> pack_lens_;
    std::uint8_t fragment_continuation_ = 0;
    std::uint8_t next_fragment_ = 1;
    Guarantee pack_guarantee_ = Guarantee::agreed;
    // reassembly state: normal and trans sets
    std::map<NodeId, Assembly> normal_, trans_;
    bool waiting_trans_ack_ = true;
    TotempgStats stats_;
};

}  // namespace totem
