// The Totem SRP wire codec (shared/spec/totem-wire.md §1–3).
//
// Every decoder starts with peek() (check_message_header_validity), then checks the datagram
// length against its type's layout before reading a field. The Reader is created in the
// sender's byte order, so every multi-byte field comes out as a host value.
//
// Where we are stricter than corosync 3.1.7 (which only checks "at least this long"):
// - a variable-length message (ORF token, JOIN, COMMIT token) must be exactly as long as its
//   counts say, and a fixed-length one (MERGE_DETECT, TOKEN_HOLD_CANCEL) exactly its size;
//   corosync never sends trailing bytes (token_send, memb_join_message_send,
//   memb_state_commit_token_send compute the exact size);
// - the counts are capped: rtr entries at 30, join and commit lists at 384 (as 3.1.10 does
//   for rtr; spec §10.10).
// - commit-token entries are byte-swapped uniformly. corosync swaps an entry only when its
//   ring_id.rep ≠ 0 (memb_commit_token_endian_convert), but an unfilled entry is all zeros
//   (memb_state_commit_token_create memsets it), and all zeros read the same in either order,
//   so the result is the same for every entry a corosync sender produces; for anything else
//   corosync's output is its stale buffer, which we do not imitate.
#include "engine/totem/wire.hpp"

#include <cassert>
#include <cstddef>

namespace totem::wire {

static_assert(header_size == 2 + 1 + 1 + 1 + 4 + 4);
static_assert(ring_id_size == 4 + 8);
static_assert(rtr_item_size == ring_id_size + 4);
static_assert(orf_token_fixed_size == header_size + 4 * 4 + ring_id_size + 4 * 4);
static_assert(mcast_header_size == header_size + 4 * 3 + ring_id_size + 4 * 2);
static_assert(merge_detect_size == header_size + 4 + ring_id_size);
static_assert(join_fixed_size == header_size + 4 * 3 + 8);
static_assert(commit_token_fixed_size == header_size + 4 + ring_id_size + 4 * 3);
static_assert(commit_entry_size == ring_id_size + 4 * 3);
static_assert(token_hold_cancel_size == header_size + ring_id_size);

std::string_view to_string(DecodeError e) {
    switch (e) {
        case DecodeError::too_short:
            return "too_short";
        case DecodeError::bad_magic:
            return "bad_magic";
        case DecodeError::bad_version:
            return "bad_version";
        case DecodeError::bad_type:
            return "bad_type";
        case DecodeError::bad_length:
            return "bad_length";
        case DecodeError::too_many_entries:
            return "too_many_entries";
    }
    return "unknown";
}

namespace {

using Error = Err<DecodeError>;

Header read_header(Reader& r) {
    Header h;
    (void)r.u16();  // magic, already checked by peek()
    (void)r.u8();   // version, already checked by peek()
    h.type = static_cast<MessageType>(r.u8());
    h.encapsulated = r.u8();
    h.nodeid = r.u32();
    h.target_nodeid = r.u32();
    return h;
}

RingId read_ring_id(Reader& r) {
    RingId id;
    id.rep = r.u32();
    id.seq = r.u64();
    return id;
}

void write_header(Writer& w, MessageType type, const Header& h) {
    w.u16(magic);
    w.u8(version);
    w.u8(static_cast<std::uint8_t>(type));
    w.u8(h.encapsulated);
    w.u32(h.nodeid);
    w.u32(h.target_nodeid);
}

void write_ring_id(Writer& w, const RingId& id) {
    w.u32(id.rep);
    w.u64(id.seq);
}

// Peeks at the header, requires `type`, and checks that at least `fixed` bytes are present.
// On success, `r` is positioned just after the header, in the sender's byte order.
struct Start {
    Header header;
    bool swapped = false;
};
Result<Start, DecodeError> start(ByteView datagram, MessageType type, std::size_t fixed) {
    auto p = peek(datagram);
    if (!p)
        return Error{p.error()};
    if (p->header.type != type)
        return Error{DecodeError::bad_type};
    if (datagram.size() < fixed)
        return Error{DecodeError::too_short};
    return Start{p->header, p->swapped};
}

}  // namespace

Result<Peek, DecodeError> peek(ByteView datagram) {
    if (datagram.size() < header_size)
        return Error{DecodeError::too_short};
    const std::uint16_t as_le = static_cast<std::uint16_t>(datagram[0] | (datagram[1] << 8));
    bool swapped = false;
    if (as_le == magic) {
        swapped = false;
    } else if (as_le == static_cast<std::uint16_t>((magic >> 8) | (magic << 8))) {
        swapped = true;
    } else {
        return Error{DecodeError::bad_magic};
    }
    if (datagram[2] != version)
        return Error{DecodeError::bad_version};
    if (datagram[3] > static_cast<std::uint8_t>(MessageType::token_hold_cancel))
        return Error{DecodeError::bad_type};
    Reader r(datagram, swapped);
    Peek p;
    p.header = read_header(r);
    p.swapped = swapped;
    return p;
}

Result<OrfToken, DecodeError> decode_orf_token(ByteView datagram) {
    auto s = start(datagram, MessageType::orf_token, orf_token_fixed_size);
    if (!s)
        return Error{s.error()};
    Reader r(datagram.subspan(header_size), s->swapped);
    OrfToken m;
    m.header = s->header;
    m.seq = r.u32();
    m.token_seq = r.u32();
    m.aru = r.u32();
    m.aru_addr = r.u32();
    m.ring_id = read_ring_id(r);
    m.backlog = r.u32();
    m.fcc = r.u32();
    m.retrans_flg = r.i32();
    // An i32 on the wire; a negative count is as impossible as one above the cap.
    const std::uint32_t entries = r.u32();
    if (entries > rtr_entries_max)
        return Error{DecodeError::too_many_entries};
    if (datagram.size() != orf_token_fixed_size + rtr_item_size * entries)
        return Error{DecodeError::bad_length};
    m.rtr_list.reserve(entries);
    for (std::uint32_t i = 0; i < entries; ++i) {
        RtrItem item;
        item.ring_id = read_ring_id(r);
        item.seq = r.u32();
        m.rtr_list.push_back(item);
    }
    if (!r.ok() || r.remaining() != 0)
        return Error{DecodeError::bad_length};  // unreachable
    return m;
}

Result<Mcast, DecodeError> decode_mcast(ByteView datagram) {
    auto s = start(datagram, MessageType::mcast, mcast_header_size);
    if (!s)
        return Error{s.error()};
    Reader r(datagram.subspan(header_size), s->swapped);
    Mcast m;
    m.h.header = s->header;
    m.h.system_from = r.u32();
    m.h.seq = r.u32();
    m.h.this_seqno = r.i32();
    m.h.ring_id = read_ring_id(r);
    m.h.node_id = r.u32();
    m.h.guarantee = r.i32();
    m.payload = r.rest();
    if (!r.ok())
        return Error{DecodeError::too_short};  // unreachable
    return m;
}

Result<MergeDetect, DecodeError> decode_merge_detect(ByteView datagram) {
    auto s = start(datagram, MessageType::merge_detect, merge_detect_size);
    if (!s)
        return Error{s.error()};
    if (datagram.size() != merge_detect_size)
        return Error{DecodeError::bad_length};
    Reader r(datagram.subspan(header_size), s->swapped);
    MergeDetect m;
    m.header = s->header;
    m.system_from = r.u32();
    m.ring_id = read_ring_id(r);
    if (!r.ok())
        return Error{DecodeError::too_short};  // unreachable
    return m;
}

Result<Join, DecodeError> decode_join(ByteView datagram) {
    auto s = start(datagram, MessageType::join, join_fixed_size);
    if (!s)
        return Error{s.error()};
    Reader r(datagram.subspan(header_size), s->swapped);
    Join m;
    m.header = s->header;
    m.system_from = r.u32();
    const std::uint32_t proc_entries = r.u32();
    const std::uint32_t failed_entries = r.u32();
    m.ring_seq = r.u64();
    if (proc_entries > processor_count_max || failed_entries > processor_count_max)
        return Error{DecodeError::too_many_entries};
    if (datagram.size() != join_fixed_size + 4 * (std::size_t{proc_entries} + failed_entries))
        return Error{DecodeError::bad_length};
    m.proc_list.reserve(proc_entries);
    for (std::uint32_t i = 0; i < proc_entries; ++i)
        m.proc_list.push_back(r.u32());
    m.failed_list.reserve(failed_entries);
    for (std::uint32_t i = 0; i < failed_entries; ++i)
        m.failed_list.push_back(r.u32());
    if (!r.ok() || r.remaining() != 0)
        return Error{DecodeError::bad_length};  // unreachable
    return m;
}

Result<CommitToken, DecodeError> decode_commit_token(ByteView datagram) {
    auto s = start(datagram, MessageType::commit_token, commit_token_fixed_size);
    if (!s)
        return Error{s.error()};
    Reader r(datagram.subspan(header_size), s->swapped);
    CommitToken m;
    m.header = s->header;
    m.token_seq = r.u32();
    m.ring_id = read_ring_id(r);
    m.retrans_flg = r.u32();
    m.memb_index = r.i32();
    // An i32 on the wire; negative counts are refused with the over-cap ones.
    const std::uint32_t entries = r.u32();
    if (entries > processor_count_max)
        return Error{DecodeError::too_many_entries};
    if (datagram.size() != commit_token_fixed_size + (4 + commit_entry_size) * entries)
        return Error{DecodeError::bad_length};
    m.addr.reserve(entries);
    for (std::uint32_t i = 0; i < entries; ++i)
        m.addr.push_back(r.u32());
    m.memb_list.reserve(entries);
    for (std::uint32_t i = 0; i < entries; ++i) {
        CommitEntry e;
        e.ring_id = read_ring_id(r);
        e.aru = r.u32();
        e.high_delivered = r.u32();
        e.received_flg = r.u32();
        m.memb_list.push_back(e);
    }
    if (!r.ok() || r.remaining() != 0)
        return Error{DecodeError::bad_length};  // unreachable
    return m;
}

Result<TokenHoldCancel, DecodeError> decode_token_hold_cancel(ByteView datagram) {
    auto s = start(datagram, MessageType::token_hold_cancel, token_hold_cancel_size);
    if (!s)
        return Error{s.error()};
    if (datagram.size() != token_hold_cancel_size)
        return Error{DecodeError::bad_length};
    Reader r(datagram.subspan(header_size), s->swapped);
    TokenHoldCancel m;
    m.header = s->header;
    m.ring_id = read_ring_id(r);
    if (!r.ok())
        return Error{DecodeError::too_short};  // unreachable
    return m;
}

namespace {
template <typename T>
Result<Message, DecodeError> lift(Result<T, DecodeError> r) {
    if (!r)
        return Error{r.error()};
    return Message{std::move(r).value()};
}
}  // namespace

Result<Message, DecodeError> decode(ByteView datagram) {
    auto p = peek(datagram);
    if (!p)
        return Error{p.error()};
    switch (p->header.type) {
        case MessageType::orf_token:
            return lift(decode_orf_token(datagram));
        case MessageType::mcast:
            return lift(decode_mcast(datagram));
        case MessageType::merge_detect:
            return lift(decode_merge_detect(datagram));
        case MessageType::join:
            return lift(decode_join(datagram));
        case MessageType::commit_token:
            return lift(decode_commit_token(datagram));
        case MessageType::token_hold_cancel:
            return lift(decode_token_hold_cancel(datagram));
    }
    return Error{DecodeError::bad_type};  // unreachable: peek() checked the type
}

void encode(const OrfToken& m, Bytes& out) {
    assert(m.rtr_list.size() <= rtr_entries_max);
    Writer w(out);
    const std::size_t before = w.size();
    write_header(w, MessageType::orf_token, m.header);
    w.u32(m.seq);
    w.u32(m.token_seq);
    w.u32(m.aru);
    w.u32(m.aru_addr);
    write_ring_id(w, m.ring_id);
    w.u32(m.backlog);
    w.u32(m.fcc);
    w.i32(m.retrans_flg);
    w.u32(static_cast<std::uint32_t>(m.rtr_list.size()));
    for (const RtrItem& item : m.rtr_list) {
        write_ring_id(w, item.ring_id);
        w.u32(item.seq);
    }
    assert(w.size() - before == orf_token_fixed_size + rtr_item_size * m.rtr_list.size());
    (void)before;
}

void encode(const McastHeader& h, ByteView payload, Bytes& out) {
    Writer w(out);
    const std::size_t before = w.size();
    write_header(w, MessageType::mcast, h.header);
    w.u32(h.system_from);
    w.u32(h.seq);
    w.i32(h.this_seqno);
    write_ring_id(w, h.ring_id);
    w.u32(h.node_id);
    w.i32(h.guarantee);
    assert(w.size() - before == mcast_header_size);
    (void)before;
    w.bytes(payload);
}

void encode(const Mcast& m, Bytes& out) {
    encode(m.h, m.payload, out);
}

void encode(const MergeDetect& m, Bytes& out) {
    Writer w(out);
    const std::size_t before = w.size();
    write_header(w, MessageType::merge_detect, m.header);
    w.u32(m.system_from);
    write_ring_id(w, m.ring_id);
    assert(w.size() - before == merge_detect_size);
    (void)before;
}

void encode(const Join& m, Bytes& out) {
    assert(m.proc_list.size() <= processor_count_max);
    assert(m.failed_list.size() <= processor_count_max);
    Writer w(out);
    const std::size_t before = w.size();
    write_header(w, MessageType::join, m.header);
    w.u32(m.system_from);
    w.u32(static_cast<std::uint32_t>(m.proc_list.size()));
    w.u32(static_cast<std::uint32_t>(m.failed_list.size()));
    w.u64(m.ring_seq);
    for (NodeId id : m.proc_list)
        w.u32(id);
    for (NodeId id : m.failed_list)
        w.u32(id);
    assert(w.size() - before == join_fixed_size + 4 * (m.proc_list.size() + m.failed_list.size()));
    (void)before;
}

void encode(const CommitToken& m, Bytes& out) {
    assert(m.addr.size() == m.memb_list.size());
    assert(m.addr.size() <= processor_count_max);
    Writer w(out);
    const std::size_t before = w.size();
    write_header(w, MessageType::commit_token, m.header);
    w.u32(m.token_seq);
    write_ring_id(w, m.ring_id);
    w.u32(m.retrans_flg);
    w.i32(m.memb_index);
    w.u32(static_cast<std::uint32_t>(m.addr.size()));
    for (NodeId id : m.addr)
        w.u32(id);
    for (const CommitEntry& e : m.memb_list) {
        write_ring_id(w, e.ring_id);
        w.u32(e.aru);
        w.u32(e.high_delivered);
        w.u32(e.received_flg);
    }
    assert(w.size() - before == commit_token_fixed_size + (4 + commit_entry_size) * m.addr.size());
    (void)before;
}

void encode(const TokenHoldCancel& m, Bytes& out) {
    Writer w(out);
    const std::size_t before = w.size();
    write_header(w, MessageType::token_hold_cancel, m.header);
    write_ring_id(w, m.ring_id);
    assert(w.size() - before == token_hold_cancel_size);
    (void)before;
}

void set_target_nodeid(Bytes& datagram, NodeId target) {
    assert(datagram.size() >= header_size);
    if (datagram.size() < header_size)
        return;
    Writer w(datagram);
    w.patch_u32(9, target);
}

}  // namespace totem::wire
