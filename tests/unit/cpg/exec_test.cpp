// services/cpg: the exec messages it multicasts, byte for byte, against layouts written here
// from the spec (B2.1, x86_64 offsets) rather than with proto's encoders: PROCJOIN, PROCLEAVE,
// MCAST (source = this node and the client's libqb connection), PARTIAL_MCAST, JOINLIST
// (24-byte header), DOWNLIST (what corosync's static buffer keeps past left_nodes), and the
// guarantee each goes with. The service runs on a fake Api that records what it sends.
#include <catch2/catch.hpp>

#include "conf/load.hpp"
#include "services/cpg.hpp"
#include "tests/unit/core/core_ring.hpp"

using namespace totem;
using namespace totem::services;
namespace pc = proto::cpg;
using proto::CsError;

namespace {

class FakeApi final : public Api {
  public:
    FakeApi() : config_(test::parse_config(test::ring_config(3), 1)) {}
    NodeId my_nodeid() const override { return 1; }
    Instant now() const override { return now_; }
    const RingId& ring_id() const override { return ring_; }
    const NodeList& members() const override { return members_; }
    bool sync_in_progress() const override { return syncing; }
    const conf::Config& config() const override { return config_; }
    const TransportSnapshot& transport() const override { return transport_; }
    const Delivery& delivery() const override { return delivery_; }
    bool mcast(ByteView m, Guarantee g) override {
        if (full)
            return false;
        sent.emplace_back(Bytes(m.begin(), m.end()), g);
        return true;
    }
    bool mcast_parts(std::span<const ByteView> parts, Guarantee g) override {
        Bytes b;
        for (auto p : parts)
            b.insert(b.end(), p.begin(), p.end());
        return mcast(b, g);
    }
    bool room_for(std::size_t) const override { return !full; }
    bool mcast_group(std::string_view, ByteView, Guarantee) override { return false; }
    void exclude(NodeId) override {}
    void respond(ConnId c, Bytes r) override { responses.emplace_back(c, std::move(r)); }
    void send_event(ConnId c, Bytes e) override { events.emplace_back(c, std::move(e)); }
    void disconnect(ConnId) override {}
    void invalid_request(ConnId) override {}
    const ClientInfo* client(ConnId) const override { return nullptr; }
    KeyStore& keys() override { return keys_; }
    KeyStore& stats() override { return stats_; }
    void refresh_stats() override {}
    void clear_stats(std::uint8_t) override {}
    std::int32_t reload_status() const override { return 1; }
    void log(LogLevel, std::string_view, std::string text) override { lines.push_back(text); }
    void request(Action) override {}
    void shutdown(std::string) override {}
    void quorum_initialize(const QuorumState&) override {}

    Delivery delivery_;
    std::vector<std::pair<Bytes, Guarantee>> sent;
    std::vector<std::pair<ConnId, Bytes>> responses, events;
    std::vector<std::string> lines;
    bool full = false;
    bool syncing = false;
    Instant now_{};

  private:
    conf::Config config_;
    RingId ring_{1, 8};
    NodeList members_{1, 2, 3};
    TransportSnapshot transport_;
    KeyStore keys_{MapKind::icmap};
    KeyStore stats_{MapKind::stats};
};

// A little-endian buffer with fields put at offsets (the spec's tables).
struct Layout {
    Bytes b;
    explicit Layout(std::size_t size) : b(size, 0) {}
    Layout& u32(std::size_t off, std::uint32_t v) {
        for (int i = 0; i < 4; ++i)
            b[off + i] = static_cast<std::uint8_t>(v >> (8 * i));
        return *this;
    }
    Layout& u64(std::size_t off, std::uint64_t v) {
        for (int i = 0; i < 8; ++i)
            b[off + i] = static_cast<std::uint8_t>(v >> (8 * i));
        return *this;
    }
    Layout& name(std::size_t off, const std::string& n) {
        u32(off, static_cast<std::uint32_t>(n.size()));
        std::copy(n.begin(), n.end(), b.begin() + static_cast<long>(off + 8));
        return *this;
    }
    Layout& bytes(std::size_t off, const Bytes& x) {
        std::copy(x.begin(), x.end(), b.begin() + static_cast<long>(off));
        return *this;
    }
};

ClientInfo client(ConnId conn, std::uintptr_t pointer) {
    ClientInfo c;
    c.conn = conn;
    c.service = 2;
    c.pid = 4321;
    c.pointer = pointer;
    return c;
}

sync::Participant& part(Cpg& c) {
    return *c.sync();
}

}  // namespace

TEST_CASE("cpg exec: PROCJOIN, PROCLEAVE(LEAVE) and PROCLEAVE(PROCDOWN), 168 bytes, agreed") {
    FakeApi api;
    Cpg cpg(api);
    REQUIRE(cpg.lib_init(client(7, 0x55d0c0de0000)));
    cpg.lib_request(7, 0, pc::encode(pc::ReqJoin{"pacemakerd", 4321, 0}));
    REQUIRE(api.sent.size() == 1);
    const Bytes join = Layout(168)
                           .u32(0, 0x00020000)
                           .u32(8, 168)
                           .name(16, "pacemakerd")
                           .u32(152, 4321)
                           .u32(160, 1)
                           .b;
    CHECK(api.sent[0].first == join);
    CHECK(api.sent[0].second == Guarantee::agreed);
    // deliver it: JOIN_COMPLETED, then LEAVE with the request's pid and name
    cpg.exec(1, 0, api.sent[0].first);
    REQUIRE(cpg.state(7) == Cpg::State::join_completed);
    cpg.lib_request(7, 1, pc::encode(pc::ReqLeave{"pacemakerd", 4321}));
    REQUIRE(api.sent.size() == 2);
    CHECK(api.sent[1].first == Layout(168)
                                   .u32(0, 0x00020001)
                                   .u32(8, 168)
                                   .name(16, "pacemakerd")
                                   .u32(152, 4321)
                                   .u32(160, 2)
                                   .b);
    // a second connection joined, then gone: PROCDOWN
    REQUIRE(cpg.lib_init(client(8, 0x55d0c0de1000)));
    cpg.lib_request(8, 0, pc::encode(pc::ReqJoin{"crmd", 99, 0}));
    cpg.lib_exit(8);
    REQUIRE(api.sent.size() == 4);
    CHECK(api.sent[3].first ==
          Layout(168).u32(0, 0x00020001).u32(8, 168).name(16, "crmd").u32(152, 99).u32(160, 5).b);
}

TEST_CASE("cpg exec: MCAST is 184 + msglen with the source (node, libqb connection); SAFE safe") {
    FakeApi api;
    Cpg cpg(api);
    REQUIRE(cpg.lib_init(client(7, 0x55d0c0de0000)));
    cpg.lib_request(7, 0, pc::encode(pc::ReqJoin{"g", 4321, 0}));
    cpg.exec(1, 0, api.sent[0].first);
    const Bytes msg{'h', 'e', 'l', 'l', 'o'};
    cpg.lib_request(7, 2, pc::encode(pc::ReqMcast{2, msg}));
    REQUIRE(api.sent.size() == 2);
    const Bytes want = Layout(189)
                           .u32(0, 0x00020003)
                           .u32(8, 189)
                           .name(16, "g")
                           .u32(152, 5)
                           .u32(160, 4321)
                           .u32(168, 1)
                           .u64(176, 0x55d0c0de0000)
                           .bytes(184, msg)
                           .b;
    CHECK(api.sent[1].first == want);
    CHECK(api.sent[1].second == Guarantee::agreed);
    // guarantees 0 (UNORDERED), 1 (FIFO), 2 (AGREED) go agreed, 3 (SAFE) goes safe
    for (std::uint32_t g : {0u, 1u, 3u}) {
        cpg.lib_request(7, 2, pc::encode(pc::ReqMcast{g, msg}));
        CHECK(api.sent.back().first == want);  // the same bytes: the wire has no guarantee
        CHECK(api.sent.back().second == (g == 3 ? Guarantee::safe : Guarantee::agreed));
    }
    CHECK(cpg.stats().safe_sent == 1);
    CHECK(api.responses.size() == 1);  // only the JOIN's: MCAST gets none
    // delivered: DELIVER (184 + msglen) to the member, sender = the totem sender
    api.events.clear();
    cpg.exec(1, 3, want);
    REQUIRE(api.events.size() == 1);
    const Bytes ev = Layout(189)
                         .u32(0, 5)
                         .u32(8, 189)
                         .u32(16, 1)
                         .name(24, "g")
                         .u32(160, 5)
                         .u32(168, 1)
                         .u32(176, 4321)
                         .bytes(184, msg)
                         .b;
    CHECK(api.events[0].second == ev);
}

TEST_CASE("cpg exec: PARTIAL_MCAST is 200 + fraglen, answered with PARTIAL_SEND") {
    FakeApi api;
    Cpg cpg(api);
    REQUIRE(cpg.lib_init(client(7, 0x55d0c0de0000)));
    cpg.lib_request(7, 0, pc::encode(pc::ReqJoin{"g", 4321, 0}));
    cpg.exec(1, 0, api.sent[0].first);
    pc::ReqPartialMcast p;
    p.guarantee = 3;
    p.msglen = 3000000;
    p.type = pc::partial_first;
    p.fragment = Bytes(7, 0x5a);
    cpg.lib_request(7, 12, pc::encode(p));
    REQUIRE(api.sent.size() == 2);
    CHECK(api.sent[1].first == Layout(207)
                                   .u32(0, 0x00020006)
                                   .u32(8, 207)
                                   .name(16, "g")
                                   .u32(152, 3000000)
                                   .u32(160, 7)
                                   .u32(168, 4321)
                                   .u32(176, 1)
                                   .u32(184, 1)
                                   .u64(192, 0x55d0c0de0000)
                                   .bytes(200, p.fragment)
                                   .b);
    CHECK(api.sent[1].second == Guarantee::safe);
    CHECK(api.responses.back().second == Layout(24).u32(0, 18).u32(8, 24).u32(16, 1).b);
    // the Totem queue refuses it: TRY_AGAIN (libcpg sends the part again); corosync asserts
    api.full = true;
    cpg.lib_request(7, 12, pc::encode(p));
    CHECK(api.responses.back().second == Layout(24).u32(0, 18).u32(8, 24).u32(16, 6).b);
    CHECK(api.sent.size() == 2);
}

TEST_CASE("cpg exec: JOINLIST has the 24-byte header and this node's processes in order") {
    FakeApi api;
    Cpg cpg(api);
    REQUIRE(cpg.lib_init(client(7, 0x1000)));
    REQUIRE(cpg.lib_init(client(8, 0x2000)));
    cpg.lib_request(7, 0, pc::encode(pc::ReqJoin{"b", 300, 0}));
    cpg.lib_request(8, 0, pc::encode(pc::ReqJoin{"a", 200, 0}));
    for (std::size_t i = 0; i < 2; ++i)
        cpg.exec(1, 0, api.sent[i].first);
    // a process of node 2: not in our joinlist
    cpg.exec(2, 0, pc::encode(pc::ExecProcJoin{"a", 100, 1}));
    api.sent.clear();
    part(cpg).sync_init({1, 2}, {1, 2}, RingId{1, 12});
    REQUIRE(part(cpg).sync_process());
    REQUIRE(api.sent.size() == 2);  // DOWNLIST, JOINLIST
    const Bytes jl = Layout(24 + 2 * 144)
                         .u32(0, 0x00020002)
                         .u32(8, 24 + 2 * 144)
                         .u32(24, 200)
                         .name(32, "a")
                         .u32(168, 300)
                         .name(176, "b")
                         .b;
    CHECK(api.sent[1].first == jl);
    CHECK(api.sent[1].second == Guarantee::agreed);
}

TEST_CASE("cpg exec: DOWNLIST is 1568 bytes; the buffer past left_nodes keeps older entries") {
    FakeApi api;
    Cpg cpg(api);
    auto& p = part(cpg);
    // first sync: no old members, nothing left
    p.sync_init({1}, {1, 2, 3}, RingId{1, 4});
    REQUIRE(p.sync_process());
    REQUIRE(api.sent.size() == 1);  // no local process: no JOINLIST
    CHECK(api.sent[0].first == Layout(1568).u32(0, 0x00020005).u32(8, 1568).b);
    p.sync_activate();
    // nodes 2 and 3 went
    api.sent.clear();
    p.sync_init({1}, {1}, RingId{1, 8});
    REQUIRE(p.sync_process());
    CHECK(
        api.sent[0].first ==
        Layout(1568).u32(0, 0x00020005).u32(8, 1568).u32(16, 3).u32(24, 2).u32(32, 2).u32(36, 3).b);
    p.sync_activate();
    // node 3 back, then node 2 alone goes: left_nodes 0, then 1; the 3 stays in the buffer
    api.sent.clear();
    p.sync_init({1}, {1, 3}, RingId{1, 12});
    REQUIRE(p.sync_process());
    CHECK(
        api.sent[0].first ==
        Layout(1568).u32(0, 0x00020005).u32(8, 1568).u32(16, 1).u32(24, 0).u32(32, 2).u32(36, 3).b);
    p.sync_activate();
    api.sent.clear();
    p.sync_init({1}, {1}, RingId{1, 16});
    REQUIRE(p.sync_process());
    CHECK(
        api.sent[0].first ==
        Layout(1568).u32(0, 0x00020005).u32(8, 1568).u32(16, 2).u32(24, 1).u32(32, 3).u32(36, 3).b);
}

TEST_CASE("cpg exec: a sync whose DOWNLIST or JOINLIST finds the queue full tries again") {
    FakeApi api;
    Cpg cpg(api);
    REQUIRE(cpg.lib_init(client(7, 0x1000)));
    cpg.lib_request(7, 0, pc::encode(pc::ReqJoin{"g", 300, 0}));
    cpg.exec(1, 0, api.sent[0].first);
    api.sent.clear();
    auto& p = part(cpg);
    p.sync_init({1}, {1}, RingId{1, 4});
    api.full = true;
    CHECK_FALSE(p.sync_process());
    api.full = false;
    CHECK(p.sync_process());
    CHECK(api.sent.size() == 2);
    // the stored joinlists of an interrupted sync are dropped by the next sync_init
    cpg.exec(2, 2, pc::encode(pc::ExecJoinlist{{pc::JoinlistEntry{55, "g"}}}));
    p.sync_init({1}, {1}, RingId{1, 8});
    p.sync_activate();
    CHECK(cpg.processes() == std::vector<Cpg::Process>{{1, 300, "g"}});
}

TEST_CASE("cpg exec: PROCLEAVE at disconnect with a full queue is sent again later") {
    FakeApi api;
    Cpg cpg(api);
    REQUIRE(cpg.lib_init(client(7, 0x1000)));
    cpg.lib_request(7, 0, pc::encode(pc::ReqJoin{"g", 300, 0}));
    cpg.exec(1, 0, api.sent[0].first);
    api.sent.clear();
    api.full = true;
    cpg.lib_exit(7);
    CHECK(api.sent.empty());
    REQUIRE(cpg.next_deadline().has_value());
    api.now_ = *cpg.next_deadline();
    cpg.on_timer(api.now_);  // still full
    REQUIRE(cpg.next_deadline().has_value());
    api.full = false;
    api.now_ = *cpg.next_deadline();
    cpg.on_timer(api.now_);
    REQUIRE(api.sent.size() == 1);
    CHECK(api.sent[0].first ==
          Layout(168).u32(0, 0x00020001).u32(8, 168).name(16, "g").u32(152, 300).u32(160, 5).b);
    CHECK_FALSE(cpg.next_deadline().has_value());
    CHECK(cpg.stats().leave_retries == 2);
    cpg.check_invariants();
}

// Sent during a sync, the PROCLEAVE could be delivered between this node's JOINLIST (which
// lists the process) and the activation: every other node would add the process back (found by
// the simulator: seed 1256, cpg_config). It waits for the sync's end instead.
TEST_CASE("cpg exec: PROCLEAVE at disconnect during a sync waits for the sync's end") {
    FakeApi api;
    Cpg cpg(api);
    REQUIRE(cpg.lib_init(client(7, 0x1000)));
    cpg.lib_request(7, 0, pc::encode(pc::ReqJoin{"g", 300, 0}));
    cpg.exec(1, 0, api.sent[0].first);
    api.sent.clear();
    api.syncing = true;
    part(cpg).sync_init({1, 2}, {1, 2, 3}, RingId{1, 12});
    while (!part(cpg).sync_process()) {
    }
    REQUIRE(api.sent.size() == 2);  // DOWNLIST, JOINLIST listing 300
    api.sent.clear();
    cpg.lib_exit(7);
    CHECK(api.sent.empty());
    REQUIRE(cpg.next_deadline().has_value());
    api.now_ = *cpg.next_deadline();
    cpg.on_timer(api.now_);  // still syncing
    CHECK(api.sent.empty());
    part(cpg).sync_activate();
    CHECK(cpg.processes() == std::vector<Cpg::Process>{{1, 300, "g"}});
    api.syncing = false;
    REQUIRE(cpg.next_deadline().has_value());
    api.now_ = *cpg.next_deadline();
    cpg.on_timer(api.now_);
    REQUIRE(api.sent.size() == 1);
    CHECK(api.sent[0].first ==
          Layout(168).u32(0, 0x00020001).u32(8, 168).name(16, "g").u32(152, 300).u32(160, 5).b);
    CHECK_FALSE(cpg.next_deadline().has_value());
    cpg.exec(1, 1, api.sent[0].first);
    CHECK(cpg.processes().empty());
    cpg.check_invariants();
}

TEST_CASE("cpg exec: malformed exec messages are counted and dropped") {
    FakeApi api;
    Cpg cpg(api);
    Bytes bad = pc::encode(pc::ExecProcJoin{"g", 1, 1});
    bad.resize(100);
    Writer(bad).patch_u32(8, 100);
    cpg.exec(2, 0, bad);
    Bytes jl = pc::encode(pc::ExecJoinlist{{pc::JoinlistEntry{5, "g"}}});
    jl.push_back(0);
    Writer(jl).patch_u32(8, static_cast<std::uint32_t>(jl.size()));
    cpg.exec(2, 2, jl);
    CHECK(cpg.stats().malformed_exec == 2);
    CHECK(cpg.processes().empty());
}

TEST_CASE("cpg: iteration NAME_ONLY, ONE_GROUP and ALL, grouped as corosync's snapshot") {
    FakeApi api;
    Cpg cpg(api);
    REQUIRE(cpg.lib_init(client(7, 0x1000)));
    // process_info: (1,5,b) (2,1,a) (2,3,b) (3,2,a) — sorted by node then pid
    cpg.exec(2, 0, pc::encode(pc::ExecProcJoin{"a", 1, 1}));
    cpg.exec(1, 0, pc::encode(pc::ExecProcJoin{"b", 5, 1}));
    cpg.exec(3, 0, pc::encode(pc::ExecProcJoin{"a", 2, 1}));
    cpg.exec(2, 0, pc::encode(pc::ExecProcJoin{"b", 3, 1}));
    REQUIRE(cpg.processes() ==
            std::vector<Cpg::Process>{{1, 5, "b"}, {2, 1, "a"}, {2, 3, "b"}, {3, 2, "a"}});
    auto iterate = [&](std::uint32_t type, const std::string& group) {
        cpg.lib_request(7, 5, pc::encode(pc::ReqIterationInitialize{group, type}));
        auto init = pc::decode_res_iterationinitialize(api.responses.back().second);
        REQUIRE(init.ok());
        std::vector<std::tuple<std::string, NodeId, std::uint32_t>> out;
        for (int i = 0; i < 10; ++i) {
            cpg.lib_request(7, 6, pc::encode(pc::ReqIterationNext{init->iteration_handle}));
            auto n = pc::decode_res_iterationnext(api.responses.back().second);
            REQUIRE(n.ok());
            if (n->error == CsError::err_no_sections)
                break;
            out.emplace_back(n->group_name, n->nodeid, n->pid);
        }
        // corosync's list pointer is back at the head: a further NEXT starts again
        cpg.lib_request(7, 6, pc::encode(pc::ReqIterationNext{init->iteration_handle}));
        auto again = pc::decode_res_iterationnext(api.responses.back().second);
        CHECK((again->error == CsError::ok) == !out.empty());
        cpg.lib_request(7, 7, pc::encode(pc::ReqIterationFinalize{init->iteration_handle}));
        CHECK(pc::decode_res_iterationfinalize(api.responses.back().second)->error == CsError::ok);
        return out;
    };
    using T = std::vector<std::tuple<std::string, NodeId, std::uint32_t>>;
    // ALL: a new group at the front, later members after their group's first entry
    CHECK(iterate(pc::iteration_all, "") == T{{"a", 2, 1}, {"a", 3, 2}, {"b", 1, 5}, {"b", 2, 3}});
    CHECK(iterate(pc::iteration_name_only, "") == T{{"a", 0, 0}, {"b", 0, 0}});
    CHECK(iterate(pc::iteration_one_group, "b") == T{{"b", 1, 5}, {"b", 2, 3}});
    CHECK(iterate(pc::iteration_one_group, "zz").empty());
}
