// Totempg: corosync's totempg layer between the services and Srp (shared/spec/totem-wire.md §6).
//
// Send side: application messages (group header + payload) are packed into totempg packets of
// at most `net_mtu - 90` bytes; a large message is cut into fragments across packets. Full
// packets go to the PacketSink (Srp::submit) at once; a partly filled packet waits for the
// next token (flush()). Receive side: packets from Srp's agreed-order delivery are reassembled
// per originator and complete messages come out with their group list.
//
// The packing and fragment numbering follow corosync 3.1.7's mcast_msg byte for byte, so a
// corosync node reassembles what we send. Reassembly is stricter and less lossy than
// corosync's (docs/protocol/totempg.md, docs/protocol/deviations.md): a broken continuation
// loses only the message it breaks, and every inconsistency is counted, never asserted.
//
// Pure: no I/O, no clock. Single-threaded, owned by the node's loop.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.hpp"
#include "common/shared_bytes.hpp"
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
    // `tag` is the packet's emission index (how many packets Totempg handed out before it): the
    // sink reports, by tag, which packets are not on the wire yet (Srp::unsent_tags).
    virtual bool submit_packet(ByteView packet, Guarantee g, std::uint64_t tag) = 0;
};

// The group names of a delivered message, read in place from its group header (§6.2: a u16
// count, a u16 length each, then the names) — no string or vector per message. It shares the
// header's buffer, so it stays valid however long it is kept. Built by Totempg only, from a
// header it checked (count <= max_groups, every name inside it).
class GroupNames {
  public:
    class iterator {
      public:
        using value_type = std::string_view;
        using difference_type = std::ptrdiff_t;
        iterator() = default;
        std::string_view operator*() const;
        iterator& operator++() {
            name_pos_ += len();
            ++index_;
            return *this;
        }
        iterator operator++(int) {
            iterator old = *this;
            ++*this;
            return old;
        }
        bool operator==(const iterator& o) const { return index_ == o.index_; }

      private:
        friend class GroupNames;
        iterator(const GroupNames* g, std::size_t index, std::size_t name_pos)
            : g_(g), index_(index), name_pos_(name_pos) {}
        std::size_t len() const;
        const GroupNames* g_ = nullptr;
        std::size_t index_ = 0;
        std::size_t name_pos_ = 0;  // offset of name index_ in the header
    };

    GroupNames() = default;
    std::size_t size() const { return count_; }
    bool empty() const { return count_ == 0; }
    iterator begin() const { return iterator(this, 0, 2 + 2 * count_); }
    iterator end() const { return iterator(this, count_, 0); }
    std::vector<std::string> to_vector() const;
    bool operator==(const std::vector<std::string>& v) const;

  private:
    friend class Totempg;
    GroupNames(SharedBytes header, std::size_t count, bool swapped)
        : header_(std::move(header)), count_(count), swapped_(swapped) {}
    SharedBytes header_;  // the whole group header
    std::size_t count_ = 0;
    bool swapped_ = false;
};

// One application message as delivered upward.
struct GroupMessage {
    NodeId sender = 0;
    GroupNames groups;  // the groups it was addressed to
    // The service message, after the group header: a view into the delivered packet (shared
    // with it) or, for a message reassembled from fragments, into its own buffer.
    SharedBytes payload;
    bool swapped = false;  // the sender has the other byte order (spec B1.3)
};

struct TotempgStats {
    std::uint64_t msgs_packed = 0;     // messages accepted by mcast()
    std::uint64_t msgs_refused = 0;    // mcast() returned false
    std::uint64_t packets_sent = 0;    // packets handed to the sink
    std::uint64_t fragments_sent = 0;  // of which with fragmented != 0
    std::uint64_t packets_rx = 0;
    std::uint64_t msgs_delivered = 0;
    std::uint64_t rx_malformed = 0;      // packet or group header inconsistent: dropped
    std::uint64_t rx_fragment_lost = 0;  // continuation mismatches (each loses a message)
    std::uint64_t rx_oversize = 0;       // reassembly beyond max_reassembly_size: discarded
    // rx_malformed by reason
    std::uint64_t rx_too_short = 0;         // < 8 bytes
    std::uint64_t rx_bad_count = 0;         // < 8 + 2·msg_count bytes, or msg_count == 0
    std::uint64_t rx_bad_length = 0;        // != 8 + 2·msg_count + Σ msg_len
    std::uint64_t rx_bad_group_header = 0;  // a complete message whose group header is bad
    std::uint64_t rx_partials_dropped = 0;  // partial messages discarded by confchg()
    std::uint64_t msgs_resent = 0;  // re-sent whole: fragmented across a configuration change
};

class Totempg {
  public:
    static constexpr std::size_t max_message_size = 1024 * 1024;  // MESSAGE_SIZE_MAX
    static constexpr std::size_t max_groups = 32;                 // MAX_GROUPS_PER_MSG
    static constexpr std::size_t max_payload_parts = 32;          // MAX_IOVECS_FROM_APP
    // A reassembled message (group header + payload) may grow to this; corosync's assembly
    // buffer is MESSAGE_SIZE_MAX + KNET_MAX_PACKET_SIZE. Larger ones are discarded, counted.
    static constexpr std::size_t max_reassembly_size = max_message_size + 65536;
    static constexpr std::uint32_t min_net_mtu = 128;
    static constexpr std::size_t header_size = 8;  // struct totempg_mcast

    // net_mtu as configured (totem.netmtu, >= min_net_mtu); packets are at most net_mtu - 90.
    explicit Totempg(std::uint32_t net_mtu);

    // Queue one message to `groups` (1..32 names). Returns false, and queues nothing, when the
    // sink lacks the slots the message needs (corosync's rule, and never fewer than the
    // packets this call emits, the partly filled buffer included) or the payload exceeds
    // max_message_size.
    bool mcast(std::span<const std::string_view> groups, ByteView payload, Guarantee g,
               PacketSink& sink);
    // The same with the payload in up to 32 parts (corosync's application iovecs); the bytes on
    // the wire are those corosync emits for the same iovecs.
    bool mcast_parts(std::span<const std::string_view> groups, std::span<const ByteView> parts,
                     Guarantee g, PacketSink& sink);
    // The token arrived: the partly filled packet, if any and if the send queue has a slot
    // (`slots_avail`); `oldest_unsent` is the lowest tag not on the wire yet (none: all went).
    // Srp pulls this while it holds the token (no call back into Srp).
    struct FlushedPacket {
        Bytes packet;
        Guarantee guarantee = Guarantee::agreed;
        std::uint64_t tag = 0;
    };
    std::optional<FlushedPacket> take_flush(std::size_t slots_avail,
                                            std::optional<std::uint64_t> oldest_unsent);
    // take_flush() into a sink (tests).
    void flush(PacketSink& sink, std::optional<std::uint64_t> oldest_unsent = std::nullopt);
    // Slots a message of `bytes` bytes needs (corosync's byte_count_send_ok rule).
    std::size_t slots_needed(std::size_t bytes) const;

    // One packet delivered by Srp in agreed order; complete messages are appended to `out`.
    // `swapped`: the packet came from a sender of the other byte order. A message complete in
    // the packet shares it (no copy).
    void deliver(NodeId sender, const SharedBytes& packet, bool swapped,
                 std::vector<GroupMessage>& out);
    // The same for a packet the caller keeps (tests): its messages get a copy of it.
    void deliver(NodeId sender, ByteView packet, bool swapped, std::vector<GroupMessage>& out) {
        deliver(sender, SharedBytes(Bytes(packet.begin(), packet.end())), swapped, out);
    }
    // A configuration change: discard the partial messages of the nodes that left.
    void confchg(const NodeList& left);

    // A configuration change was installed (regular configuration): no partial message of any
    // sender survives it, at every member alike, so that joiners and old members agree.
    void discard_partials();

    // A message partly sent before a configuration change (its start went out in the old ring,
    // its rest did not) must go out again, whole: every receiver dropped its start. `unsent`:
    // the tags of the packets not on the wire (ascending; the packing buffer counts as unsent).
    // The plan names the queued packets to drop and the messages to pack again: every message
    // with an unsent packet from the earliest such message on, and those sharing a packet with
    // them. Nothing when no message was partly sent. (The send queue may be two queues —
    // Srp's normal one and the transitional one — so unsent packets need not be the last ones.)
    struct RepackPlan {
        std::vector<std::uint64_t> drop;  // tags, ascending
        std::vector<std::size_t> messages;
    };
    std::optional<RepackPlan> plan_repack(const std::vector<std::uint64_t>& unsent) const;
    struct RepackMessage {
        Bytes msg;  // group header + payload
        Guarantee g = Guarantee::agreed;
        std::uint64_t first_tag = 0, last_tag = 0;  // of its packets before
    };
    // Removes the plan's messages (and the packing buffer) for packing again.
    std::vector<RepackMessage> take_repack(const RepackPlan& plan);
    // Packs them again from a fresh start, whole and in order, into the sink (which must take
    // them without a slot check), the last packet included (so that another batch does not
    // share it).
    void pack_again(std::span<const RepackMessage> msgs, PacketSink& sink);
    // While Srp waits for the transitional ack, reassembly uses a separate buffer set (§6.5).
    void set_waiting_trans_ack(bool waiting);

    const TotempgStats& stats() const { return stats_; }
    std::size_t max_packet_size() const { return packet_max_; }
    std::size_t slot_bytes() const { return slot_bytes_; }
    // Messages (or message starts) waiting in the packing buffer for flush().
    std::size_t pending_msgs() const { return pack_lens_.size(); }
    // Originators with a partial message held, in both buffer sets.
    std::size_t partials_held() const { return normal_.size() + trans_.size(); }
    // Aborts (TOTEM_ASSERT) when an internal invariant does not hold.
    void check_invariants() const;

  private:
    // Per originator and buffer set; an originator with nothing held has no entry.
    struct Assembly {
        enum class State : std::uint8_t {
            collecting,  // `data` holds the start of a message continued by `last_frag_num`
            discarding,  // the message continued by `last_frag_num` is lost: skip its rest
        };
        State state = State::collecting;
        std::uint8_t last_frag_num = 0;  // `fragmented` of the last packet seen; never 0 here
        Bytes data;                      // the partial message (collecting only)
    };
    // Packing cursor: what corosync keeps in mcast_packed_msg_count, fragment_size, ...
    struct PackCursor {
        std::size_t used = 0;           // data bytes in the buffer (fragment_size)
        std::size_t count = 0;          // finished length entries (mcast_packed_msg_count)
        std::size_t cur_len = 0;        // bytes of the current message in this packet
        std::uint8_t continuation = 0;  // fragment_continuation
        std::uint8_t next_fragment = 1;
    };
    bool mcast_iov(std::span<const std::string_view> groups, std::span<const ByteView> parts,
                   Guarantee g, PacketSink& sink);
    // Runs corosync's packing loop over `iov`. With sink == nullptr it only counts the packets
    // it would emit (on a copy of the cursor); otherwise it copies bytes and emits.
    std::size_t pack(std::span<const ByteView> iov, Guarantee g, PacketSink* sink);
    void emit(PacketSink& sink, std::uint8_t continuation, std::uint8_t fragmented, Guarantee g);
    // Writes the packet into `packet` (cleared first) and empties the packing buffer.
    void build_packet(std::uint8_t continuation, std::uint8_t fragmented, Bytes& packet);
    std::map<NodeId, Assembly>& active_set() { return waiting_trans_ack_ ? trans_ : normal_; }
    void deliver_message(NodeId sender, const SharedBytes& msg, bool swapped,
                         std::vector<GroupMessage>& out);
    // Appends `part` to a collecting partial; false (and discarding) when it grows too big.
    bool append_partial(Assembly& a, ByteView part);

    std::size_t packet_max_;  // net_mtu - 90: the largest packet
    std::size_t data_max_;    // packet_max_ - 8: TOTEMPG_PACKET_SIZE after the MTU adjust
    std::size_t slot_bytes_;  // packet_max_ - 24: byte_count_send_ok's divisor
    // packing state
    Bytes pack_data_;
    std::vector<std::uint16_t> pack_lens_;
    PackCursor cursor_;
    Guarantee pack_guarantee_ = Guarantee::agreed;  // the strongest among buffered messages
    // reassembly state: normal and trans sets
    std::map<NodeId, Assembly> normal_, trans_;
    bool waiting_trans_ack_ = true;
    std::vector<std::uint16_t> rx_lens_;  // scratch
    // Messages not yet known to be completely on the wire, for plan_repack(): each with the
    // index of the packet holding its first and its last byte (emitted_ = packets so far).
    // Their bytes (group header + payload) sit one after another in out_data_, so that keeping
    // a message costs no allocation of its own: `begin` is an offset counted from the first
    // byte ever appended; out_data_[0] is at out_base_. Pruning drops the bytes before the
    // oldest message kept once they are more than half of the buffer (or all of it).
    struct Outgoing {
        std::size_t begin = 0;
        std::size_t size = 0;
        Guarantee g = Guarantee::agreed;
        std::uint64_t first_packet = 0;
        std::uint64_t last_packet = 0;
    };
    std::deque<Outgoing> outgoing_;
    Bytes out_data_;
    std::size_t out_base_ = 0;
    // Appends `pieces` to out_data_ and queues them as one message.
    void keep_outgoing(std::span<const ByteView> pieces, Guarantee g, std::uint64_t first_packet);
    ByteView outgoing_bytes(const Outgoing& o) const {
        return ByteView(out_data_).subspan(o.begin - out_base_, o.size);
    }
    // The packet emit() builds, reused (the sink copies what it keeps).
    Bytes packet_buf_;
    std::uint64_t emitted_ = 0;
    void prune_sent(std::optional<std::uint64_t> oldest_unsent);
    std::size_t unsent_packets(const Outgoing& o, const std::vector<std::uint64_t>& unsent) const;
    TotempgStats stats_;
};

}  // namespace totem
