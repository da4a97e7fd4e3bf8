// votequorum's exec messages byte for byte on the wire (spec B2.2: NODEINFO, RECONFIGURE,
// QDEVICE_REG, QDEVICE_RECONFIGURE inside the Totem packets a node sends), the
// expected_votes_tracking barrier across a restart, a configuration reload applied once, and
// the bounded wait for the last messages at shutdown.
#include <catch2/catch.hpp>

#include "proto/cfg.hpp"
#include "tests/unit/quorum/quorum_ring.hpp"

using namespace totem;
using namespace totem::test;

namespace {

Bytes from_hex(const std::string& h) {
    Bytes b;
    for (std::size_t i = 0; i + 1 < h.size();) {
        if (h[i] == ' ') {
            ++i;
            continue;
        }
        b.push_back(static_cast<std::uint8_t>(std::stoi(h.substr(i, 2), nullptr, 16)));
        i += 2;
    }
    return b;
}

bool sent(CoreRing& r, NodeId n, const Bytes& needle) {
    for (const Bytes& d : r.log(n).datagrams)
        if (std::search(d.begin(), d.end(), needle.begin(), needle.end()) != d.end())
            return true;
    return false;
}

Bytes name_field(const std::string& name, std::size_t size = 255) {
    Bytes b(name.begin(), name.end());
    b.resize(size, 0);
    return b;
}

Bytes cat(std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const Bytes& p : parts)
        out.insert(out.end(), p.begin(), p.end());
    return out;
}

bool exited(CoreRing& r, NodeId n) {
    const auto& a = r.log(n).actions;
    return std::any_of(a.begin(), a.end(), [](const services::Action& x) {
        return std::holds_alternative<services::ExitAction>(x);
    });
}

}  // namespace

TEST_CASE("votequorum wire: NODEINFO, RECONFIGURE, QDEVICE_REG, QDEVICE_RECONFIGURE bytes (B2.2)") {
    CoreRing r(2, vq_config(2, "device {\nmodel: net\nvotes: 1\n}\n"));
    r.record_datagrams = true;
    r.start_all();
    REQUIRE(r.run_until_synced({1, 2}));
    // NODEINFO of node 1 at start-up: votes 1, expected 2, flags FIRST (8); 32 bytes,
    // id 0x00050000
    CHECK(sent(r, 1,
               from_hex("00000500 00000000 20000000 00000000 01000000 01000000 02000000 08000000")));
    // the device's record, nodeid 0: its votes, expected 0, flags 0
    CHECK(sent(r, 1,
               from_hex("00000500 00000000 20000000 00000000 00000000 01000000 00000000 00000000")));
    Clients c(r, {1});
    REQUIRE(status_of(c[1].call(pv::encode(pv::ReqSetExpected{3}))) == CsError::ok);
    REQUIRE(status_of(c[1].call(pv::encode(pv::ReqSetVotes{2, 2}))) == CsError::ok);
    Client dev(r, 1, 130, 5);
    CHECK(dev.call(pv::encode(pv::ReqQdeviceRegister{"Qdevice"})).empty());
    r.run_for(Duration::ms(300));
    REQUIRE(status_of(dev.call(pv::encode(pv::ReqQdeviceUpdate{"Qdevice", "Q2"}))) == CsError::ok);
    r.run_for(Duration::ms(300));
    // RECONFIGURE(EXPECTED_VOTES 3) and (NODE_VOTES node 2 → 2): nodeid, value, param, 3 zero
    // pad bytes, 4 bytes of struct tail; 32 bytes, id 0x00050001
    CHECK(sent(r, 1,
               from_hex("01000500 00000000 20000000 00000000 01000000 03000000 01000000 00000000")));
    CHECK(sent(r, 1,
               from_hex("01000500 00000000 20000000 00000000 02000000 02000000 02000000 00000000")));
    // QDEVICE_REG(REGISTER, "Qdevice"): operation @16, name char[255] @20, 5 tail bytes; 280
    CHECK(sent(r, 1, cat({from_hex("02000500 00000000 18010000 00000000 01000000"),
                          name_field("Qdevice"), Bytes(5, 0)})));
    // QDEVICE_RECONFIGURE("Qdevice" → "Q2"): names @16 and @271, 2 tail bytes; 528
    CHECK(sent(r, 1, cat({from_hex("03000500 00000000 10020000 00000000"), name_field("Qdevice"),
                          name_field("Q2"), Bytes(2, 0)})));
}

TEST_CASE("votequorum: expected_votes_tracking keeps the highest expected votes across restarts") {
    // a barrier of 5 stored by an earlier run: expected votes start there (quorum 3)
    CoreRing r(0);
    core::CoreOptions o;
    o.votequorum.stored_ev_tracking_barrier = 5;
    const std::string text = vq_config(3, "expected_votes_tracking: 1\n");
    for (NodeId n : {1u, 2u, 3u})
        r.add(n, text, o);
    r.start_all();
    REQUIRE(r.run_until_synced({1, 2, 3}));
    Clients c(r, {1, 2, 3});
    for (NodeId n : {1u, 2u, 3u})
        CHECK(view(c[n]) == VqView{5, 5, 3, 3, pv::info_quorate, true});
    CHECK(r.node(1).keys_view().get_u32("runtime.votequorum.ev_tracking_barrier") ==
          std::optional<std::uint32_t>(5));
    // a barrier of 2: the total of 3 raises it, and the driver is asked to store 3
    CoreRing r2(0);
    core::CoreOptions o2;
    o2.votequorum.stored_ev_tracking_barrier = 2;
    for (NodeId n : {1u, 2u, 3u})
        r2.add(n, text, o2);
    r2.start_all();
    REQUIRE(r2.run_until_synced({1, 2, 3}));
    const auto& acts = r2.log(1).actions;
    std::vector<std::uint32_t> stored;
    for (const auto& a : acts)
        if (auto* p = std::get_if<services::PersistEvTrackingAction>(&a))
            stored.push_back(p->barrier);
    CHECK(stored.front() == 2);  // start-up writes what it loaded, as corosync
    CHECK(stored.back() == 3);
}

TEST_CASE("votequorum: a reload re-reads the configuration once, when it ends") {
    CoreRing r(3, vq_config(3));
    r.start_all();
    REQUIRE(r.run_until_synced({1, 2, 3}));
    Clients c(r, {1, 2, 3});
    Client cfg(r, 1, 140, 1);
    cfg.call(proto::cfg::encode(proto::cfg::ReqReloadConfig{}));
    r.run_for(Duration::ms(300));
    const std::string next = vq_config(3, "expected_votes: 4\n");
    for (NodeId n : {1u, 2u, 3u}) {
        REQUIRE(std::any_of(r.log(n).actions.begin(), r.log(n).actions.end(), [](const auto& a) {
            return std::holds_alternative<services::ReloadConfigAction>(a);
        }));
        r.input(n, [&](core::NodeCore& x) {
            x.reload_done(r.now(), Result<conf::Config, std::string>(parse_config(next, n)));
        });
    }
    r.run_for(Duration::ms(300));
    for (NodeId n : {1u, 2u, 3u}) {
        INFO("node " << n);
        CHECK(view(c[n]) == VqView{4, 4, 3, 3, pv::info_quorate, true});
        CHECK(r.log(n).count("Reading configuration (runtime: 1)") == 1);
    }
}

TEST_CASE("core: at shutdown the services' last messages wait at most one token timeout") {
    CoreRing r(3, vq_config(3, "allow_downscale: 1\n"));
    r.start_all();
    REQUIRE(r.run_until_synced({1, 2, 3}));
    // node 3 is cut off, and stops before it noticed: its NODEINFO(LEAVING) cannot go out
    r.set_rule([](NodeId from, NodeId to) { return (from == 3) != (to == 3); });
    r.run_for(Duration::ms(50));
    const Instant t0 = r.now();
    r.input(3, [&](core::NodeCore& n) { n.leave(r.now(), "Node was shut down by a signal"); });
    CHECK(r.node(3).draining());
    CHECK_FALSE(exited(r, 3));
    r.run_for(Duration::ms(3000), [&] { return exited(r, 3); });
    REQUIRE(exited(r, 3));
    const Duration waited = r.now() - t0;
    INFO("waited " << waited.to_ms() << " ms");
    CHECK(waited >= Duration::ms(500));  // it did wait for the message
    // the token timeout in effect: 1000 ms + 650 ms for the third node (token_coefficient)
    CHECK(waited <= Duration::ms(1650 + 10));
    CHECK(r.log(3).count("Service engine unloaded: corosync cluster quorum service v0.1") == 1);
}

namespace {

// A test service (id 22) that multicasts whatever follows its request header: raw exec
// messages, as a broken or hostile peer could send them.
class Raw final : public services::Service {
  public:
    explicit Raw(services::Api& api) : Service(api) {}
    services::ServiceInfo info() const override {
        return {22, "raw", "test raw sender", "test_raw", 0, 1};
    }
    void exec(NodeId, std::uint16_t, ByteView) override {}
    services::FlowControl flow_control(std::int32_t) const override {
        return services::FlowControl::not_required;
    }
    void lib_request(services::ConnId conn, std::int32_t, ByteView request) override {
        api_.mcast(request.subspan(16));
        api_.respond(conn, proto::encode(proto::ErrorResponse{CsError::ok}));
    }
};

Bytes raw_request(const Bytes& exec) {
    Bytes b;
    Writer w(b);
    w.i32(0);
    w.u32(0);
    w.i32(static_cast<std::int32_t>(16 + exec.size()));
    w.u32(0);
    b.insert(b.end(), exec.begin(), exec.end());
    return b;
}

}  // namespace

TEST_CASE("votequorum: malformed exec messages are counted and dropped, state unchanged") {
    CoreRing r(3, vq_config(3), [](NodeId, core::NodeCore& n) {
        n.add_service([](services::Api& api) { return std::make_unique<Raw>(api); });
    });
    r.start_all();
    REQUIRE(r.run_until_synced({1, 2, 3}));
    Clients c(r, {1, 2, 3});
    Client raw(r, 1, 150, 22);
    // a NODEINFO 4 bytes short (size field 28), a RECONFIGURE with 8 bytes too many, a
    // QDEVICE_REG whose name has no NUL in its 255 bytes
    Bytes short_nodeinfo = from_hex("00000500 00000000 1c000000 00000000 02000000 09000000 09000000");
    Bytes long_reconf =
        from_hex("01000500 00000000 28000000 00000000 01000000 09000000 01000000 00000000 "
                 "00000000 00000000");
    Bytes bad_reg = cat({from_hex("02000500 00000000 18010000 00000000 01000000"),
                         Bytes(255, 'x'), Bytes(5, 0)});
    for (const Bytes& m : {short_nodeinfo, long_reconf, bad_reg})
        raw.call(raw_request(m));
    r.run_for(Duration::ms(300));
    for (NodeId n : {1u, 2u, 3u}) {
        INFO("node " << n);
        CHECK(view(c[n]) == VqView{3, 3, 3, 2, pv::info_quorate, true});
        CHECK(getinfo(c[n], 2).votes == 1);
        CHECK(getinfo(c[n]).qdevice_name.empty());
        CHECK(r.node(n).keys_view().get_u64("stats.totemd.dropped.votequorum") ==
              std::optional<std::uint64_t>(3));
        CHECK(r.log(n).count("Dropping a malformed NODEINFO from node 1") == 1);
    }
}
