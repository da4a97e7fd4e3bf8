// Totempg send side: packing and fragmentation as corosync 3.1.7's mcast_msg does them
// (shared/spec/totem-wire.md §6.1–§6.3, §6.6), and the slot accounting of mcast().
#include <catch2/catch.hpp>

#include "tests/unit/totempg/pg_helpers.hpp"

using namespace totem;
using namespace totem::pgtest;

namespace {

const std::string_view group_a[] = {"a"};

// Packets of one sender: `continuation` of each is the `fragmented` of the previous one.
void check_chain(const std::vector<Bytes>& packets, std::size_t max_size) {
    std::uint8_t previous = 0;
    for (const auto& bytes : packets) {
        REQUIRE(bytes.size() <= max_size);
        const Packet p = parse(bytes);
        REQUIRE(!p.lens.empty());
        REQUIRE(p.continuation == previous);
        previous = p.fragmented;
    }
    REQUIRE(previous == 0);
}

}  // namespace

TEST_CASE("§3.8: group \"a\", payload \"xyz\" is one 18-byte packet at the next token",
          "[totempg][pack]") {
    Totempg pg(65536);
    RecordingSink sink;
    REQUIRE(pg.mcast(group_a, bytes_of("xyz"), Guarantee::agreed, sink));
    CHECK(sink.packets.empty());  // waits for the token
    CHECK(pg.pending_msgs() == 1);
    pg.flush(sink);
    REQUIRE(sink.packets.size() == 1);
    CHECK(sink.packets[0] == from_hex("00 00 00 00 00 00 01 00 08 00 01 00 01 00 61 78 79 7a"));
    CHECK(sink.guarantees[0] == Guarantee::agreed);
    CHECK(pg.pending_msgs() == 0);
    pg.flush(sink);  // nothing left
    CHECK(sink.packets.size() == 1);
    pg.check_invariants();
}

TEST_CASE("§6.6: sizes derive from net_mtu - 90", "[totempg][pack]") {
    CHECK(Totempg(65536).max_packet_size() == 65446);
    CHECK(Totempg(1500).max_packet_size() == 1410);
    // byte_count_send_ok: bytes / (net_mtu - 90 - 8 - 16) + 1
    CHECK(Totempg(1500).slots_needed(0) == 1);
    CHECK(Totempg(1500).slots_needed(1385) == 1);
    CHECK(Totempg(1500).slots_needed(1386) == 2);
    CHECK(Totempg(65536).slots_needed(1024 * 1024) == 17);
}

TEST_CASE("§6.3: small messages share one packet", "[totempg][pack]") {
    Totempg pg(65536);
    RecordingSink sink;
    const std::string_view sync[] = {"sync"};
    REQUIRE(pg.mcast(group_a, bytes_of("xyz"), Guarantee::agreed, sink));
    REQUIRE(pg.mcast(sync, {}, Guarantee::agreed, sink));
    CHECK(pg.pending_msgs() == 2);
    pg.flush(sink);
    REQUIRE(sink.packets.size() == 1);
    CHECK(sink.packets[0] == from_hex("00 00 00 00 00 00 02 00  08 00 08 00"
                                      "01 00 01 00 61 78 79 7a  01 00 04 00 73 79 6e 63"));

    // Many: all in one packet, in order.
    for (int i = 0; i < 100; ++i) {
        const Bytes payload(static_cast<std::size_t>(i), static_cast<std::uint8_t>(i));
        REQUIRE(pg.mcast(group_a, payload, Guarantee::agreed, sink));
    }
    CHECK(sink.packets.size() == 1);
    pg.flush(sink);
    REQUIRE(sink.packets.size() == 2);
    const Packet p = parse(sink.packets[1]);
    REQUIRE(p.lens.size() == 100);
    CHECK(p.fragmented == 0);
    CHECK(p.continuation == 0);
    for (std::size_t i = 0; i < 100; ++i)
        CHECK(p.lens[i] == 5 + i);
    CHECK(pg.stats().msgs_packed == 102);
    CHECK(pg.stats().packets_sent == 2);
}

TEST_CASE("§6.3: fragment boundaries at net_mtu 200, worked by hand from mcast_msg",
          "[totempg][pack]") {
    // net_mtu 200: packets ≤ 110 bytes; TOTEMPG_PACKET_SIZE (after the adjust) P = 102.
    // Iovecs: group lens (4), "a" (1), payload (250). max = P - 2 = 100.
    // hdr and name fit (used 5); the payload does not: 95 bytes go out with fragmented 1;
    // then 100 bytes with fragmented 2; the 55-byte tail goes out at once, fragmented 0.
    Totempg pg(200);
    RecordingSink sink;
    Bytes payload(250);
    for (std::size_t i = 0; i < payload.size(); ++i)
        payload[i] = static_cast<std::uint8_t>(i);
    REQUIRE(pg.mcast(group_a, payload, Guarantee::agreed, sink));
    REQUIRE(sink.packets.size() == 3);
    CHECK(pg.pending_msgs() == 0);
    const Packet p0 = parse(sink.packets[0]), p1 = parse(sink.packets[1]),
                 p2 = parse(sink.packets[2]);
    CHECK(sink.packets[0].size() == 110);
    CHECK(
        (p0.continuation == 0 && p0.fragmented == 1 && p0.lens == std::vector<std::uint16_t>{100}));
    CHECK(
        (p1.continuation == 1 && p1.fragmented == 2 && p1.lens == std::vector<std::uint16_t>{100}));
    CHECK(
        (p2.continuation == 2 && p2.fragmented == 0 && p2.lens == std::vector<std::uint16_t>{55}));
    Bytes joined = p0.data;
    joined.insert(joined.end(), p1.data.begin(), p1.data.end());
    joined.insert(joined.end(), p2.data.begin(), p2.data.end());
    Bytes expected = from_hex("01 00 01 00 61");
    expected.insert(expected.end(), payload.begin(), payload.end());
    CHECK(joined == expected);
    CHECK(pg.stats().fragments_sent == 2);

    // A small message waits; the next large one fills its packet and numbers from 1 again
    // (packing a whole iovec resets next_fragment).
    REQUIRE(pg.mcast(group_a, bytes_of("hi"), Guarantee::agreed, sink));
    CHECK(sink.packets.size() == 3);
    REQUIRE(pg.mcast(group_a, payload, Guarantee::agreed, sink));
    const Packet q0 = parse(sink.packets[3]);
    CHECK((q0.continuation == 0 && q0.fragmented == 1));
    // max = 102 - 2·2 = 98 data bytes: "hi" (7 bytes), then 5 + 86 bytes of the large one.
    CHECK(q0.lens == std::vector<std::uint16_t>{7, 91});
    check_chain(sink.packets, pg.max_packet_size());
}

TEST_CASE("§6.3: payload parts behave as corosync's iovecs (whole-iovec fit test)",
          "[totempg][pack]") {
    // Parts [98][1] at net_mtu 200: 95 bytes of part 1 go out (fragmented 1); its 3-byte tail
    // fails the whole-length test and goes out alone (fragmented 2, it is not the last
    // iovec); part 2 waits in the buffer and the flush carries it with continuation 2.
    Totempg pg(200);
    RecordingSink sink;
    const Bytes part1(98, 0x11), part2(1, 0x22);
    const ByteView parts[] = {part1, part2};
    REQUIRE(pg.mcast_parts(group_a, parts, Guarantee::agreed, sink));
    REQUIRE(sink.packets.size() == 2);
    CHECK(parse(sink.packets[0]).lens == std::vector<std::uint16_t>{100});
    const Packet p1 = parse(sink.packets[1]);
    CHECK((p1.continuation == 1 && p1.fragmented == 2 && p1.lens == std::vector<std::uint16_t>{3}));
    CHECK(pg.pending_msgs() == 1);
    pg.flush(sink);
    const Packet p2 = parse(sink.packets[2]);
    CHECK((p2.continuation == 2 && p2.fragmented == 0 && p2.lens == std::vector<std::uint16_t>{1}));

    Totempg rx(200);
    std::vector<GroupMessage> out;
    for (const auto& p : sink.packets)
        rx.deliver(1, p, false, out);
    REQUIRE(out.size() == 1);
    Bytes expected = part1;
    expected.push_back(0x22);
    CHECK(out[0].payload == expected);
}

TEST_CASE("§6.3: fragment numbers skip 0 and wrap as a u8", "[totempg][pack]") {
    // net_mtu 128: 28 data bytes per fragment, so 20000 bytes take > 700 fragments.
    Totempg pg(Totempg::min_net_mtu);
    RecordingSink sink;
    Msg m{{"a"}, Bytes(20000, 0x5a)};
    REQUIRE(send(pg, m, sink));
    REQUIRE(sink.packets.size() > 600);
    std::uint8_t expected = 1;
    for (std::size_t i = 0; i + 1 < sink.packets.size(); ++i) {
        CHECK(parse(sink.packets[i]).fragmented == expected);
        expected = expected == 255 ? 1 : static_cast<std::uint8_t>(expected + 1);
    }
    CHECK(parse(sink.packets.back()).fragmented == 0);
    check_chain(sink.packets, pg.max_packet_size());

    Totempg rx(Totempg::min_net_mtu);
    CorosyncReceiver corosync;
    std::vector<GroupMessage> out;
    std::vector<Bytes> raw;
    for (const auto& p : sink.packets) {
        rx.deliver(7, p, false, out);
        for (auto& r : corosync.deliver(p))
            raw.push_back(std::move(r));
    }
    REQUIRE(out.size() == 1);
    CHECK(msg_of(out[0]) == m);
    REQUIRE(raw.size() == 1);
    CHECK(split_raw(raw[0]) == m);
    CHECK_FALSE(corosync.threw_away);
}

TEST_CASE("§6.3/§6.4: random messages 0 B .. 1 MiB come back whole and in order",
          "[totempg][pack][roundtrip]") {
    const std::uint32_t mtu = GENERATE(65536u, 1500u, 200u);
    const std::uint64_t seed = GENERATE(range(1, 6));
    CAPTURE(mtu, seed);
    Prng rng(seed * 1000 + mtu);
    Totempg tx(mtu);
    RecordingSink sink;
    std::vector<Msg> sent;
    std::size_t budget = mtu >= 1500 ? 12u << 20 : 3u << 20;  // bytes per run
    // Always the two ends of the range.
    sent.push_back(random_msg(rng, 0));
    sent.push_back(random_msg(rng, Totempg::max_message_size));
    REQUIRE(send(tx, sent[0], sink));
    REQUIRE(send(tx, sent[1], sink));
    while (sent.size() < 400) {
        const std::size_t size = random_size(rng);
        if (size > budget)
            break;
        budget -= size;
        sent.push_back(random_msg(rng, size));
        const Guarantee g = rng.below(4) == 0 ? Guarantee::safe : Guarantee::agreed;
        REQUIRE(send(tx, sent.back(), sink, g));
        if (rng.below(3) == 0)
            tx.flush(sink);  // the token came
        tx.check_invariants();
    }
    tx.flush(sink);
    CHECK(tx.pending_msgs() == 0);
    check_chain(sink.packets, tx.max_packet_size());

    Totempg rx(mtu);
    CorosyncReceiver corosync;
    std::vector<GroupMessage> out;
    std::vector<Bytes> raw;
    for (const auto& p : sink.packets) {
        rx.deliver(3, p, false, out);
        for (auto& r : corosync.deliver(p))
            raw.push_back(std::move(r));
        rx.check_invariants();
    }
    REQUIRE(out.size() == sent.size());
    for (std::size_t i = 0; i < sent.size(); ++i) {
        CAPTURE(i);
        CHECK(out[i].sender == 3);
        CHECK(msg_of(out[i]) == sent[i]);
    }
    // A corosync receiver takes the same stream without entering throw-away mode.
    CHECK_FALSE(corosync.threw_away);
    REQUIRE(raw.size() == sent.size());
    for (std::size_t i = 0; i < sent.size(); ++i)
        CHECK(split_raw(raw[i]) == sent[i]);
    CHECK(rx.stats().rx_malformed == 0);
    CHECK(rx.stats().rx_fragment_lost == 0);
    CHECK(rx.stats().msgs_delivered == sent.size());
    CHECK(rx.partials_held() == 0);
}

TEST_CASE("§6.4: packets of several senders interleave; each sender's order holds",
          "[totempg][pack][roundtrip]") {
    const std::uint64_t seed = GENERATE(range(1, 5));
    Prng rng(seed);
    constexpr std::uint32_t mtu = 1500;
    constexpr std::size_t senders = 3;
    std::vector<Totempg> tx(senders, Totempg(mtu));
    std::vector<RecordingSink> sinks(senders);
    std::vector<std::vector<Msg>> sent(senders);
    for (int i = 0; i < 150; ++i) {
        const auto s = rng.below(senders);
        const std::size_t size = rng.below(10) == 0 ? rng.below(200000) : rng.below(3000);
        sent[s].push_back(random_msg(rng, size));
        REQUIRE(send(tx[s], sent[s].back(), sinks[s]));
        if (rng.below(4) == 0)
            tx[s].flush(sinks[s]);
    }
    for (std::size_t s = 0; s < senders; ++s)
        tx[s].flush(sinks[s]);

    // Merge the three streams at random, keeping each one's order (Srp's agreed order).
    Totempg rx(mtu);
    std::vector<GroupMessage> out;
    std::vector<std::size_t> next(senders, 0);
    for (;;) {
        std::vector<std::size_t> live;
        for (std::size_t s = 0; s < senders; ++s)
            if (next[s] < sinks[s].packets.size())
                live.push_back(s);
        if (live.empty())
            break;
        const auto s = live[rng.below(live.size())];
        rx.deliver(static_cast<NodeId>(s + 1), sinks[s].packets[next[s]++], false, out);
    }
    std::vector<std::vector<Msg>> got(senders);
    for (const auto& m : out)
        got[m.sender - 1].push_back(msg_of(m));
    for (std::size_t s = 0; s < senders; ++s)
        CHECK(got[s] == sent[s]);
    CHECK(rx.partials_held() == 0);
}

TEST_CASE("mcast refuses without the slots it needs and queues nothing", "[totempg][slots]") {
    SECTION("no slot at all") {
        Totempg pg(1500);
        RecordingSink sink(0);
        CHECK_FALSE(pg.mcast(group_a, bytes_of("xyz"), Guarantee::agreed, sink));
        CHECK(pg.pending_msgs() == 0);
        CHECK(pg.stats().msgs_refused == 1);
        CHECK(pg.stats().msgs_packed == 0);
    }
    SECTION("a large message needs corosync's slot count, and nothing moves when refused") {
        Totempg pg(1500), fresh(1500);
        const Msg m{{"a"}, Bytes(100000, 1)};
        const std::size_t total = 2 * 2 + 1 + m.payload.size();
        const std::size_t needed = pg.slots_needed(total);
        CHECK(needed == 73);
        RecordingSink small(needed - 1);
        CHECK_FALSE(send(pg, m, small));
        CHECK(small.packets.empty());
        CHECK(pg.pending_msgs() == 0);
        RecordingSink a(needed), b(needed);
        REQUIRE(send(pg, m, a));
        REQUIRE(send(fresh, m, b));
        pg.flush(a);
        fresh.flush(b);
        CHECK(a.packets == b.packets);  // the refusal left no trace
    }
    SECTION("the partly filled buffer counts: more packets than corosync's rule says") {
        // net_mtu 200 (P = 102). A 90-byte message leaves 95 bytes in the buffer. A 99-byte
        // message (104 bytes with its header) is 2 slots by byte_count_send_ok, but packing it
        // emits 3 packets: the full buffer (with 3 bytes of its header), 98 bytes of it,
        // and the 1-byte tail. corosync would assert here; we ask for 3.
        Totempg pg(200);
        RecordingSink sink;
        REQUIRE(pg.mcast(group_a, Bytes(90, 1), Guarantee::agreed, sink));
        REQUIRE(sink.packets.empty());
        CHECK(pg.slots_needed(104 + 2) == 2);
        sink.avail = 2;
        CHECK_FALSE(pg.mcast(group_a, Bytes(99, 2), Guarantee::agreed, sink));
        CHECK(sink.packets.empty());
        CHECK(pg.pending_msgs() == 1);
        sink.avail = 3;
        REQUIRE(pg.mcast(group_a, Bytes(99, 2), Guarantee::agreed, sink));
        CHECK(sink.packets.size() == 3);
        CHECK(sink.avail == 0);
        CHECK(pg.pending_msgs() == 0);
        Totempg rx(200);
        std::vector<GroupMessage> out;
        for (const auto& p : sink.packets)
            rx.deliver(1, p, false, out);
        REQUIRE(out.size() == 2);
        CHECK(out[0].payload == Bytes(90, 1));
        CHECK(out[1].payload == Bytes(99, 2));
    }
    SECTION("flush waits when the queue is full") {
        Totempg pg(1500);
        RecordingSink sink;
        REQUIRE(pg.mcast(group_a, bytes_of("xyz"), Guarantee::agreed, sink));
        sink.avail = 0;
        pg.flush(sink);
        CHECK(sink.packets.empty());
        CHECK(pg.pending_msgs() == 1);
        sink.avail = 1;
        pg.flush(sink);
        CHECK(sink.packets.size() == 1);
    }
    SECTION("limits: size, group count") {
        Totempg pg(65536);
        RecordingSink sink;
        CHECK(pg.mcast(group_a, Bytes(Totempg::max_message_size), Guarantee::agreed, sink));
        CHECK_FALSE(
            pg.mcast(group_a, Bytes(Totempg::max_message_size + 1), Guarantee::agreed, sink));
        CHECK_FALSE(pg.mcast({}, bytes_of("x"), Guarantee::agreed, sink));
        const std::vector<std::string_view> many(Totempg::max_groups + 1, "a");
        CHECK_FALSE(pg.mcast(many, bytes_of("x"), Guarantee::agreed, sink));
        const std::vector<std::string_view> most(Totempg::max_groups, "a");
        CHECK(pg.mcast(most, bytes_of("x"), Guarantee::agreed, sink));
        const std::vector<ByteView> parts(Totempg::max_payload_parts + 1);
        CHECK_FALSE(pg.mcast_parts(group_a, parts, Guarantee::agreed, sink));
        CHECK(pg.stats().msgs_refused == 4);
    }
}

TEST_CASE("a packet carries the strongest guarantee of the messages in it", "[totempg][pack]") {
    Totempg pg(200);
    RecordingSink sink;
    REQUIRE(pg.mcast(group_a, bytes_of("s"), Guarantee::safe, sink));
    REQUIRE(pg.mcast(group_a, bytes_of("a"), Guarantee::agreed, sink));
    pg.flush(sink);
    REQUIRE(sink.guarantees.size() == 1);
    CHECK(sink.guarantees[0] == Guarantee::safe);
    // A safe message in the buffer, then an agreed one that fills it.
    REQUIRE(pg.mcast(group_a, bytes_of("s"), Guarantee::safe, sink));
    REQUIRE(pg.mcast(group_a, Bytes(300, 0), Guarantee::agreed, sink));
    REQUIRE(sink.guarantees.size() >= 3);
    CHECK(sink.guarantees[1] == Guarantee::safe);
    CHECK(sink.guarantees[2] == Guarantee::agreed);
    pg.flush(sink);
    for (std::size_t i = 2; i < sink.guarantees.size(); ++i)
        CHECK(sink.guarantees[i] == Guarantee::agreed);
}
