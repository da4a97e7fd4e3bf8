// Helpers for the wire codec tests: random messages, a byte-swapper that produces the
// big-endian form of an encoded message, and a renderer to the `field = value` lines of the
// golden vectors (tests/vectors/extract-vectors.py writes the same lines).
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "common/prng.hpp"
#include "engine/totem/wire.hpp"
#include "tests/unit/hex.hpp"

namespace totem::wire::test {

using Lines = std::vector<std::pair<std::string, std::string>>;

// An Mcast owns no bytes: this pairs one with the storage its payload views.
struct OwnedMcast {
    McastHeader h;
    Bytes payload;
};

// Random values biased towards the edges (0, 1, max) so that both byte halves matter.
inline std::uint32_t random_u32(Prng& rng) {
    switch (rng.below(8)) {
        case 0:
            return 0;
        case 1:
            return 0xFFFFFFFFu;
        case 2:
            return static_cast<std::uint32_t>(rng.below(16));
        default:
            return static_cast<std::uint32_t>(rng.next());
    }
}
inline std::uint64_t random_u64(Prng& rng) {
    return rng.below(4) == 0 ? rng.below(100) : rng.next();
}
inline RingId random_ring_id(Prng& rng) {
    return RingId{random_u32(rng), random_u64(rng)};
}
inline Header random_header(Prng& rng, MessageType type) {
    Header h;
    h.type = type;
    h.encapsulated = static_cast<std::uint8_t>(rng.below(3));
    h.nodeid = random_u32(rng);
    h.target_nodeid = random_u32(rng);
    return h;
}
inline NodeList random_nodes(Prng& rng, std::size_t max) {
    NodeList l(rng.below(4) == 0 ? rng.range(0, max) : rng.range(0, 5));
    for (auto& id : l)
        id = random_u32(rng);
    return l;
}

inline OrfToken random_orf_token(Prng& rng) {
    OrfToken m;
    m.header = random_header(rng, MessageType::orf_token);
    m.seq = random_u32(rng);
    m.token_seq = random_u32(rng);
    m.aru = random_u32(rng);
    m.aru_addr = random_u32(rng);
    m.ring_id = random_ring_id(rng);
    m.backlog = random_u32(rng);
    m.fcc = random_u32(rng);
    m.retrans_flg = static_cast<std::int32_t>(random_u32(rng));
    m.rtr_list.resize(rng.range(0, rtr_entries_max));
    for (auto& item : m.rtr_list)
        item = RtrItem{random_ring_id(rng), random_u32(rng)};
    return m;
}
inline OwnedMcast random_mcast(Prng& rng) {
    OwnedMcast m;
    m.h.header = random_header(rng, MessageType::mcast);
    m.h.system_from = random_u32(rng);
    m.h.seq = random_u32(rng);
    m.h.this_seqno = static_cast<std::int32_t>(random_u32(rng));
    m.h.ring_id = random_ring_id(rng);
    m.h.node_id = random_u32(rng);
    m.h.guarantee = static_cast<std::int32_t>(random_u32(rng));
    m.payload.resize(rng.below(4) == 0 ? rng.range(0, 3000) : rng.range(0, 64));
    for (auto& b : m.payload)
        b = static_cast<std::uint8_t>(rng.next());
    return m;
}
inline MergeDetect random_merge_detect(Prng& rng) {
    MergeDetect m;
    m.header = random_header(rng, MessageType::merge_detect);
    m.system_from = random_u32(rng);
    m.ring_id = random_ring_id(rng);
    return m;
}
inline Join random_join(Prng& rng) {
    Join m;
    m.header = random_header(rng, MessageType::join);
    m.system_from = random_u32(rng);
    m.ring_seq = random_u64(rng);
    m.proc_list = random_nodes(rng, processor_count_max);
    m.failed_list = random_nodes(rng, processor_count_max);
    return m;
}
inline CommitToken random_commit_token(Prng& rng) {
    CommitToken m;
    m.header = random_header(rng, MessageType::commit_token);
    m.token_seq = random_u32(rng);
    m.ring_id = random_ring_id(rng);
    m.retrans_flg = random_u32(rng);
    m.memb_index = static_cast<std::int32_t>(random_u32(rng));
    m.addr = random_nodes(rng, processor_count_max);
    m.memb_list.resize(m.addr.size());
    for (auto& e : m.memb_list) {
        // Unfilled entries (all zero) as corosync sends them, and filled ones.
        if (rng.below(3) == 0)
            continue;
        e = CommitEntry{random_ring_id(rng), random_u32(rng), random_u32(rng), random_u32(rng)};
    }
    return m;
}
inline TokenHoldCancel random_token_hold_cancel(Prng& rng) {
    TokenHoldCancel m;
    m.header = random_header(rng, MessageType::token_hold_cancel);
    m.ring_id = random_ring_id(rng);
    return m;
}

// The widths of the multi-byte-or-not fields of an encoded message, in wire order (the
// payload of an MCAST excluded: it is not the codec's and stays as it is).
inline std::vector<int> field_widths(const Message& msg) {
    std::vector<int> w = {2, 1, 1, 1, 4, 4};
    auto ring = [&w] {
        w.push_back(4);
        w.push_back(8);
    };
    if (auto* t = std::get_if<OrfToken>(&msg)) {
        w.insert(w.end(), {4, 4, 4, 4});
        ring();
        w.insert(w.end(), {4, 4, 4, 4});
        for (std::size_t i = 0; i < t->rtr_list.size(); ++i) {
            ring();
            w.push_back(4);
        }
    } else if (std::holds_alternative<Mcast>(msg)) {
        w.insert(w.end(), {4, 4, 4});
        ring();
        w.insert(w.end(), {4, 4});
    } else if (std::holds_alternative<MergeDetect>(msg)) {
        w.push_back(4);
        ring();
    } else if (auto* j = std::get_if<Join>(&msg)) {
        w.insert(w.end(), {4, 4, 4, 8});
        w.insert(w.end(), j->proc_list.size() + j->failed_list.size(), 4);
    } else if (auto* c = std::get_if<CommitToken>(&msg)) {
        w.push_back(4);
        ring();
        w.insert(w.end(), {4, 4, 4});
        w.insert(w.end(), c->addr.size(), 4);
        for (std::size_t i = 0; i < c->memb_list.size(); ++i) {
            ring();
            w.insert(w.end(), {4, 4, 4});
        }
    } else {
        ring();
    }
    return w;
}

// The same message as a big-endian sender would put it on the wire: every field reversed.
inline Bytes to_big_endian(const Bytes& le, const Message& msg) {
    Bytes be = le;
    std::size_t pos = 0;
    for (int width : field_widths(msg)) {
        for (int i = 0; i < width; ++i)
            be[pos + i] = le[pos + width - 1 - i];
        pos += static_cast<std::size_t>(width);
    }
    return be;
}

inline std::string list_str(const NodeList& l) {
    std::string s;
    for (std::size_t i = 0; i < l.size(); ++i)
        s += (i ? " " : "") + std::to_string(l[i]);
    return s;
}

inline void render_header(Lines& out, const std::string& p, const char* type, const Header& h) {
    out.emplace_back(p + "type", type);
    out.emplace_back(p + "header.encapsulated", std::to_string(h.encapsulated));
    out.emplace_back(p + "header.nodeid", std::to_string(h.nodeid));
    out.emplace_back(p + "header.target_nodeid", std::to_string(h.target_nodeid));
}
inline void render_ring(Lines& out, const std::string& name, const RingId& r) {
    out.emplace_back(name + ".rep", std::to_string(r.rep));
    out.emplace_back(name + ".seq", std::to_string(r.seq));
}

// Renders a decoded message as the vector files spell it. An encapsulated MCAST's payload is
// decoded as the old-ring MCAST it carries and rendered with the prefix "inner.".
inline Lines render(const Message& msg, const std::string& p = "") {
    Lines out;
    auto put = [&out, &p](const std::string& k, auto v) {
        if constexpr (std::is_convertible_v<decltype(v), std::string>) {
            out.emplace_back(p + k, v);
        } else {
            out.emplace_back(p + k, std::to_string(v));
        }
    };
    if (auto* t = std::get_if<OrfToken>(&msg)) {
        render_header(out, p, "orf_token", t->header);
        put("seq", t->seq);
        put("token_seq", t->token_seq);
        put("aru", t->aru);
        put("aru_addr", t->aru_addr);
        render_ring(out, p + "ring_id", t->ring_id);
        put("backlog", t->backlog);
        put("fcc", t->fcc);
        put("retrans_flg", t->retrans_flg);
        put("rtr_list.size", t->rtr_list.size());
        for (std::size_t i = 0; i < t->rtr_list.size(); ++i) {
            const std::string n = "rtr_list[" + std::to_string(i) + "]";
            render_ring(out, p + n + ".ring_id", t->rtr_list[i].ring_id);
            put(n + ".seq", t->rtr_list[i].seq);
        }
    } else if (auto* m = std::get_if<Mcast>(&msg)) {
        render_header(out, p, "mcast", m->h.header);
        put("system_from", m->h.system_from);
        put("seq", m->h.seq);
        put("this_seqno", m->h.this_seqno);
        render_ring(out, p + "ring_id", m->h.ring_id);
        put("node_id", m->h.node_id);
        put("guarantee", m->h.guarantee);
        put("payload.size", m->payload.size());
        if (m->h.header.encapsulated == 1) {
            auto inner = decode(m->payload);
            if (inner) {
                Lines in = render(*inner, p + "inner.");
                out.insert(out.end(), in.begin(), in.end());
            } else {
                put("inner", std::string(to_string(inner.error())));
            }
        }
    } else if (auto* d = std::get_if<MergeDetect>(&msg)) {
        render_header(out, p, "merge_detect", d->header);
        put("system_from", d->system_from);
        render_ring(out, p + "ring_id", d->ring_id);
    } else if (auto* j = std::get_if<Join>(&msg)) {
        render_header(out, p, "join", j->header);
        put("system_from", j->system_from);
        put("ring_seq", j->ring_seq);
        put("proc_list", list_str(j->proc_list));
        put("failed_list", list_str(j->failed_list));
    } else if (auto* c = std::get_if<CommitToken>(&msg)) {
        render_header(out, p, "commit_token", c->header);
        put("token_seq", c->token_seq);
        render_ring(out, p + "ring_id", c->ring_id);
        put("retrans_flg", c->retrans_flg);
        put("memb_index", c->memb_index);
        put("addr", list_str(c->addr));
        for (std::size_t i = 0; i < c->memb_list.size(); ++i) {
            const std::string n = "memb_list[" + std::to_string(i) + "]";
            render_ring(out, p + n + ".ring_id", c->memb_list[i].ring_id);
            put(n + ".aru", c->memb_list[i].aru);
            put(n + ".high_delivered", c->memb_list[i].high_delivered);
            put(n + ".received_flg", c->memb_list[i].received_flg);
        }
    } else if (auto* h = std::get_if<TokenHoldCancel>(&msg)) {
        render_header(out, p, "token_hold_cancel", h->header);
        render_ring(out, p + "ring_id", h->ring_id);
    }
    return out;
}

// Field equality of two decoded messages (an Mcast compares its header and payload bytes).
inline bool same(const Message& a, const Message& b) {
    if (a.index() != b.index())
        return false;
    if (auto* m = std::get_if<Mcast>(&a)) {
        const Mcast& n = std::get<Mcast>(b);
        return m->h == n.h &&
               std::equal(m->payload.begin(), m->payload.end(), n.payload.begin(), n.payload.end());
    }
    return std::visit(
        [&b](const auto& x) -> bool {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, Mcast>) {
                return false;  // handled above
            } else {
                return x == std::get<T>(b);
            }
        },
        a);
}

// Encodes any decoded message back to bytes.
inline Bytes encode_any(const Message& msg) {
    Bytes out;
    std::visit([&out](const auto& m) { encode(m, out); }, msg);
    return out;
}

using totem::testutil::from_hex;

}  // namespace totem::wire::test
