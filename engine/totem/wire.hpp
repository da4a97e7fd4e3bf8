// The Totem SRP wire format of corosync 3.1.x (shared/spec/totem-wire.md §1–3).
//
// One plain struct per message, encode() field by field in little-endian, decode() from bytes
// of either byte order (the magic is the endian detector) into host values: no endianness flag
// leaves the codec. Decoding never reads past the end of its input; a refused message comes
// back as a DecodeError, which the caller counts and drops.
#pragma once

#include <cstdint>
#include <string_view>
#include <variant>
#include <vector>

#include "common/bytes.hpp"
#include "common/result.hpp"
#include "engine/totem/types.hpp"

namespace totem::wire {

inline constexpr std::uint16_t magic = 0xC070;
inline constexpr std::uint8_t version = 3;

inline constexpr std::size_t header_size = 13;
inline constexpr std::size_t ring_id_size = 12;
inline constexpr std::size_t rtr_item_size = 16;
inline constexpr std::size_t orf_token_fixed_size = 57;
inline constexpr std::size_t mcast_header_size = 45;
inline constexpr std::size_t merge_detect_size = 29;
inline constexpr std::size_t join_fixed_size = 33;
inline constexpr std::size_t commit_token_fixed_size = 41;
inline constexpr std::size_t commit_entry_size = 24;  // plus 4 bytes of addr per member
inline constexpr std::size_t token_hold_cancel_size = 25;

inline constexpr std::size_t rtr_entries_max = 30;       // RETRANSMIT_ENTRIES_MAX
inline constexpr std::size_t processor_count_max = 384;  // PROCESSOR_COUNT_MAX
inline constexpr std::size_t join_size_max = 40000;      // senders refuse larger joins

enum class MessageType : std::uint8_t {
    orf_token = 0,
    mcast = 1,
    merge_detect = 2,
    join = 3,
    commit_token = 4,
    token_hold_cancel = 5,
};

// The `encapsulated` byte of an MCAST (§1.2).
enum class Encapsulation : std::uint8_t {
    none = 0,              // every non-MCAST message
    encapsulated = 1,      // RECOVERY re-send of an old-ring MCAST
    not_encapsulated = 2,  // a normal MCAST carrying a totempg packet
};

struct Header {
    MessageType type = MessageType::orf_token;
    std::uint8_t encapsulated = 0;
    NodeId nodeid = 0;
    NodeId target_nodeid = 0;
    bool operator==(const Header&) const = default;
};

struct RtrItem {
    RingId ring_id;
    std::uint32_t seq = 0;
    bool operator==(const RtrItem&) const = default;
};

struct OrfToken {
    Header header;
    std::uint32_t seq = 0;
    std::uint32_t token_seq = 0;
    std::uint32_t aru = 0;
    NodeId aru_addr = 0;
    RingId ring_id;
    std::uint32_t backlog = 0;
    std::uint32_t fcc = 0;
    std::int32_t retrans_flg = 0;
    std::vector<RtrItem> rtr_list;  // at most rtr_entries_max
    bool operator==(const OrfToken&) const = default;
};

// The 45-byte MCAST header; the payload follows it in the datagram.
struct McastHeader {
    Header header;
    NodeId system_from = 0;
    std::uint32_t seq = 0;
    std::int32_t this_seqno = 0;
    RingId ring_id;
    std::uint32_t node_id = 0;
    std::int32_t guarantee = 0;
    bool operator==(const McastHeader&) const = default;
};

struct Mcast {
    McastHeader h;
    ByteView payload;  // a view into the decoded datagram (totempg packet or an inner MCAST)
};

struct MergeDetect {
    Header header;
    NodeId system_from = 0;
    RingId ring_id;
    bool operator==(const MergeDetect&) const = default;
};

// JOIN, and LEAVE when header.nodeid == 0 (the leaver is the last failed_list entry).
struct Join {
    Header header;
    NodeId system_from = 0;
    std::uint64_t ring_seq = 0;
    NodeList proc_list;
    NodeList failed_list;
    bool operator==(const Join&) const = default;
};

struct CommitEntry {
    RingId ring_id;
    std::uint32_t aru = 0;
    std::uint32_t high_delivered = 0;
    std::uint32_t received_flg = 0;
    bool operator==(const CommitEntry&) const = default;
};

struct CommitToken {
    Header header;
    std::uint32_t token_seq = 0;
    RingId ring_id;
    std::uint32_t retrans_flg = 0;
    std::int32_t memb_index = 0;
    NodeList addr;                       // sorted ascending: the ring order
    std::vector<CommitEntry> memb_list;  // index-aligned with addr
    bool operator==(const CommitToken&) const = default;
};

struct TokenHoldCancel {
    Header header;
    RingId ring_id;
    bool operator==(const TokenHoldCancel&) const = default;
};

// Why a datagram was refused. Each value is a counter (stats.srp.rx_*).
enum class DecodeError : std::uint8_t {
    too_short,         // shorter than the fixed part of its type (or than 13 bytes)
    bad_magic,         // neither 0xC070 nor its byte swap
    bad_version,       // version byte is not 3
    bad_type,          // type byte is not 0..5
    bad_length,        // the counts inside do not match the datagram length
    too_many_entries,  // rtr list > 30, member lists > 384
};
std::string_view to_string(DecodeError e);

// Header of any datagram, validated as corosync's check_message_header_validity does;
// `swapped` tells whether the sender used the other byte order.
struct Peek {
    Header header;
    bool swapped = false;
};
Result<Peek, DecodeError> peek(ByteView datagram);

Result<OrfToken, DecodeError> decode_orf_token(ByteView datagram);
Result<Mcast, DecodeError> decode_mcast(ByteView datagram);
Result<MergeDetect, DecodeError> decode_merge_detect(ByteView datagram);
Result<Join, DecodeError> decode_join(ByteView datagram);
Result<CommitToken, DecodeError> decode_commit_token(ByteView datagram);
Result<TokenHoldCancel, DecodeError> decode_token_hold_cancel(ByteView datagram);

using Message = std::variant<OrfToken, Mcast, MergeDetect, Join, CommitToken, TokenHoldCancel>;
Result<Message, DecodeError> decode(ByteView datagram);

// Encoders append the complete message (header included) in little-endian. The header's type
// is taken from the message kind, not from header.type.
void encode(const OrfToken& m, Bytes& out);
void encode(const McastHeader& h, ByteView payload, Bytes& out);
void encode(const Mcast& m, Bytes& out);  // = encode(m.h, m.payload, out)
void encode(const MergeDetect& m, Bytes& out);
void encode(const Join& m, Bytes& out);
void encode(const CommitToken& m, Bytes& out);
void encode(const TokenHoldCancel& m, Bytes& out);

template <typename T>
Bytes encode(const T& m) {
    Bytes out;
    encode(m, out);
    return out;
}

// Overwrites target_nodeid (offset 9) of an encoded message, as the knet transport does just
// before each send (§7.5). Little-endian.
void set_target_nodeid(Bytes& datagram, NodeId target);

}  // namespace totem::wire
