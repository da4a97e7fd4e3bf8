// votequorum's quorum device API (spec A3.4, B2.2, B3.6) as corosync-qdevice uses it: register
// (answered when its QDEVICE_REG comes back), poll (ring id, name, cast vote, the device
// timeout), the sync's wait for a poll with the new ring id, master_wins, update (rename),
// unregister; every refusal of the state × request matrix in votequorum.hpp.
#include <catch2/catch.hpp>

#include "tests/unit/quorum/quorum_ring.hpp"

using namespace totem;
using namespace totem::test;

namespace {

constexpr std::uint32_t Q = pv::info_quorate;
constexpr std::uint32_t REG = pv::info_qdevice_registered;
constexpr std::uint32_t ALIVE = pv::info_qdevice_alive;
constexpr std::uint32_t VOTE = pv::info_qdevice_cast_vote;
constexpr std::uint32_t MW = pv::info_qdevice_master_wins;

// Two nodes and a net device of 1 vote (what corosync-qdevice reads; votequorum only needs
// the model), device timeouts short for the test.
std::string device_config(int timeout_ms = 2000, int sync_timeout_ms = 4000) {
    return vq_config(2, "device {\nmodel: net\nvotes: 1\ntimeout: " + std::to_string(timeout_ms) +
                            "\nsync_timeout: " + std::to_string(sync_timeout_ms) + "\n}\n");
}

pv::ReqQdevicePoll poll_req(CoreRing& r, NodeId n, const std::string& name, bool vote) {
    pv::ReqQdevicePoll p;
    p.name = name;
    p.cast_vote = vote ? 1 : 0;
    p.ring_id = proto::MarRingId{r.node(n).ring_id().rep, r.node(n).ring_id().seq};
    return p;
}

CsError reg(CoreRing& r, Client& c, const std::string& name) {
    const std::size_t before = c.responses().size();
    const Bytes now = c.call(pv::encode(pv::ReqQdeviceRegister{name}));
    if (!now.empty())
        return status_of(now);  // answered at once (a refusal, or already registered)
    r.run_for(Duration::ms(300));
    const auto rs = c.responses();
    REQUIRE(rs.size() == before + 1);
    return status_of(rs.back());
}

}  // namespace

TEST_CASE("qdevice: register, poll with a vote, the device counts; unregister") {
    CoreRing r(2, device_config());
    r.start_all();
    REQUIRE(r.run_until_synced({1, 2}));
    Clients c(r, {1, 2});
    // the device's votes are in expected votes from the start (2 nodes + 1)
    CHECK(view(c[1]) == VqView{3, 3, 2, 2, Q, true});
    CHECK(getinfo(c[1]).qdevice_votes == 1);
    Client dev1(r, 1, 70, 5), dev2(r, 2, 70, 5);
    // no device yet: poll, update, unregister, master_wins → NOT_EXIST
    CHECK(status_of(dev1.call(pv::encode(poll_req(r, 1, "Qdevice", true)))) ==
          CsError::err_not_exist);
    CHECK(status_of(dev1.call(pv::encode(pv::ReqQdeviceUnregister{"Qdevice"}))) ==
          CsError::err_not_exist);
    CHECK(status_of(dev1.call(pv::encode(pv::ReqQdeviceUpdate{"Qdevice", "Q2"}))) ==
          CsError::err_not_exist);
    CHECK(status_of(dev1.call(pv::encode(pv::ReqQdeviceMasterWins{"Qdevice", 1}))) ==
          CsError::err_not_exist);

    // REGISTER: no answer until the QDEVICE_REG is delivered
    CHECK(dev1.call(pv::encode(pv::ReqQdeviceRegister{"Qdevice"})).empty());
    r.run_for(Duration::ms(300));
    REQUIRE(dev1.responses().size() == 5);
    CHECK(status_of(dev1.responses().back()) == CsError::ok);
    CHECK(reg(r, dev2, "Qdevice") == CsError::ok);
    const auto i1 = getinfo(c[1]);
    CHECK((i1.flags & (REG | ALIVE | VOTE)) == REG);
    CHECK(i1.qdevice_name == "Qdevice");
    CHECK(getinfo(c[2], 1).flags & REG);  // node 2 sees node 1's flags
    // again with the same name: OK at once; another name: EXIST
    CHECK(status_of(dev1.call(pv::encode(pv::ReqQdeviceRegister{"Qdevice"}))) == CsError::ok);
    CHECK(status_of(dev1.call(pv::encode(pv::ReqQdeviceRegister{"Other"}))) == CsError::err_exist);

    // POLL: the last sync's ring id and the name, or refused
    auto stale = poll_req(r, 1, "Qdevice", true);
    stale.ring_id.seq += 1;
    CHECK(status_of(dev1.call(pv::encode(stale))) == CsError::err_message_error);
    CHECK(status_of(dev1.call(pv::encode(poll_req(r, 1, "Other", true)))) ==
          CsError::err_invalid_param);
    CHECK(status_of(dev1.call(pv::encode(poll_req(r, 1, "Qdevice", true)))) == CsError::ok);
    CHECK(status_of(dev2.call(pv::encode(poll_req(r, 2, "Qdevice", true)))) == CsError::ok);
    r.run_for(Duration::ms(300));
    for (NodeId n : {1u, 2u}) {
        INFO("node " << n);
        const auto i = getinfo(c[n]);
        CHECK((i.flags & (REG | ALIVE | VOTE | Q)) == (REG | ALIVE | VOTE | Q));
        CHECK(i.total_votes == 3);
        CHECK(i.quorum == 2);
    }
    // the quorum notification lists the device as node 0 (state 0: corosync never sets it)
    Client t(r, 1, 71, 5);
    t.call(pv::encode(pv::ReqTrackStart{0, 1}));
    auto ev = t.take_events();
    REQUIRE(ev.size() == 2);
    auto qn = pv::decode_res_quorum_notification(ev[1]);
    REQUIRE(qn);
    CHECK(qn->nodes.back() == pv::Node{0, 0});

    // a poll without the vote: the device's votes no longer count here
    CHECK(status_of(dev2.call(pv::encode(poll_req(r, 2, "Qdevice", false)))) == CsError::ok);
    r.run_for(Duration::ms(300));
    CHECK((getinfo(c[2]).flags & (ALIVE | VOTE)) == ALIVE);
    CHECK(getinfo(c[2]).total_votes == 2);
    CHECK(getinfo(c[1], 2).total_votes == 2);  // GETINFO counts the device by that node's flags

    // UNREGISTER: another name → INVALID_PARAM; ours → flags cleared everywhere
    CHECK(status_of(dev2.call(pv::encode(pv::ReqQdeviceUnregister{"Other"}))) ==
          CsError::err_invalid_param);
    CHECK(status_of(dev2.call(pv::encode(pv::ReqQdeviceUnregister{"Qdevice"}))) == CsError::ok);
    r.run_for(Duration::ms(300));
    CHECK((getinfo(c[1], 2).flags & (REG | ALIVE | VOTE)) == 0);
    CHECK(getinfo(c[1]).qdevice_name == "Qdevice");  // node 1 still has it registered
}

TEST_CASE("qdevice: a device that stops polling loses its vote after quorum.device.timeout") {
    CoreRing r(2, device_config());
    r.start_all();
    REQUIRE(r.run_until_synced({1, 2}));
    Client c1(r, 1, 80, 5), dev(r, 1, 81, 5);
    REQUIRE(reg(r, dev, "Qdevice") == CsError::ok);
    REQUIRE(status_of(dev.call(pv::encode(poll_req(r, 1, "Qdevice", true)))) == CsError::ok);
    r.run_for(Duration::ms(1000));
    CHECK((getinfo(c1).flags & (ALIVE | VOTE)) == (ALIVE | VOTE));
    r.run_for(Duration::ms(1500));  // 2000 ms after the poll
    CHECK((getinfo(c1).flags & (ALIVE | VOTE)) == 0);
    CHECK(r.log(1).count("lost contact with quorum device Qdevice") == 1);
}

TEST_CASE("qdevice: sync waits for a poll with the new ring id, at most sync_timeout") {
    CoreRing r(2, device_config(10000, 4000));
    r.start_all();
    REQUIRE(r.run_until_synced({1, 2}));
    Client dev(r, 1, 90, 5);
    REQUIRE(reg(r, dev, "Qdevice") == CsError::ok);
    REQUIRE(status_of(dev.call(pv::encode(poll_req(r, 1, "Qdevice", true)))) == CsError::ok);
    // node 2 goes away: node 1's sync waits for the device (it is registered and alive)
    r.crash(2);
    r.run_for(Duration::ms(8000), [&] { return r.node(1).members() == NodeList{1}; });
    REQUIRE(r.node(1).members() == NodeList{1});
    CHECK(r.log(1).count("waiting for quorum device Qdevice poll (but maximum for 4000 ms)") == 1);
    r.run_for(Duration::ms(1000));
    CHECK(r.node(1).sync_in_progress());
    // a poll with the old ring id does not end the wait; one with the new does
    CHECK(status_of(dev.call(pv::encode(poll_req(r, 1, "Qdevice", true)))) == CsError::ok);
    r.run_for(Duration::ms(300));
    CHECK_FALSE(r.node(1).sync_in_progress());

    // without a poll the wait ends at sync_timeout, and the device is declared lost
    CoreRing r2(2, device_config(10000, 4000));
    r2.start_all();
    REQUIRE(r2.run_until_synced({1, 2}));
    Client dev2(r2, 1, 91, 5);
    REQUIRE(reg(r2, dev2, "Qdevice") == CsError::ok);
    REQUIRE(status_of(dev2.call(pv::encode(poll_req(r2, 1, "Qdevice", true)))) == CsError::ok);
    r2.crash(2);
    r2.run_for(Duration::ms(8000), [&] { return r2.node(1).members() == NodeList{1}; });
    const Instant synced_from = r2.now();
    r2.run_for(Duration::ms(6000), [&] { return !r2.node(1).sync_in_progress(); });
    CHECK_FALSE(r2.node(1).sync_in_progress());
    CHECK(r2.now() - synced_from >= Duration::ms(3000));
    CHECK(r2.log(1).count("lost contact with quorum device Qdevice") == 1);
}

TEST_CASE("qdevice: master_wins makes the device's partition quorate; its key") {
    // 3 nodes, a device of 2 votes: a node alone with the device has 3 of 5 — quorate anyway;
    // so give the device 1 vote: 2 of 4 is not, unless master_wins and the device votes
    CoreRing r(3, vq_config(3, "device {\nmodel: net\nvotes: 1\n}\n"));
    r.start_all();
    REQUIRE(r.run_until_synced({1, 2, 3}));
    Client c1(r, 1, 100, 5), dev(r, 1, 101, 5);
    CHECK(view(c1).expected == 4);
    REQUIRE(reg(r, dev, "Qdevice") == CsError::ok);
    REQUIRE(status_of(dev.call(pv::encode(poll_req(r, 1, "Qdevice", true)))) == CsError::ok);
    CHECK(status_of(dev.call(pv::encode(pv::ReqQdeviceMasterWins{"Other", 1}))) ==
          CsError::err_invalid_param);
    CHECK(status_of(dev.call(pv::encode(pv::ReqQdeviceMasterWins{"Qdevice", 1}))) == CsError::ok);
    r.run_for(Duration::ms(300));
    CHECK(getinfo(c1).flags & MW);
    CHECK(r.node(1).keys_view().get_u8("runtime.votequorum.qdevice_master_wins") ==
          std::optional<std::uint8_t>(1));
    // node 1 alone: 1 + 1 = 2 of 4 votes is not a majority, but master_wins with the vote is
    r.crash(2);
    r.crash(3);
    r.run_for(Duration::ms(8000), [&] { return r.node(1).members() == NodeList{1}; });
    REQUIRE(status_of(dev.call(pv::encode(poll_req(r, 1, "Qdevice", true)))) == CsError::ok);
    r.run_for(Duration::ms(500));
    CHECK_FALSE(r.node(1).sync_in_progress());
    const auto v = view(c1);
    CHECK(v.total == 2);
    CHECK(v.quorum == 3);
    CHECK(v.quorate);
}

TEST_CASE("qdevice: rename with QDEVICE_UPDATE; a second registration while one is pending") {
    CoreRing r(2, device_config());
    r.start_all();
    REQUIRE(r.run_until_synced({1, 2}));
    Client c2(r, 2, 110, 5), a(r, 1, 111, 5), b(r, 1, 112, 5);
    CHECK(a.call(pv::encode(pv::ReqQdeviceRegister{"Qdevice"})).empty());
    CHECK(status_of(b.call(pv::encode(pv::ReqQdeviceRegister{"Qdevice"}))) ==
          CsError::err_try_again);
    r.run_for(Duration::ms(300));
    CHECK(status_of(a.responses().back()) == CsError::ok);
    CHECK(getinfo(c2).qdevice_name == "Qdevice");  // "Remote qdevice name recorded"
    CHECK(status_of(a.call(pv::encode(pv::ReqQdeviceUpdate{"Nope", "Q2"}))) ==
          CsError::err_invalid_param);
    CHECK(status_of(a.call(pv::encode(pv::ReqQdeviceUpdate{"Qdevice", "Q2"}))) == CsError::ok);
    r.run_for(Duration::ms(300));
    CHECK(getinfo(c2).qdevice_name == "Q2");
    CHECK(status_of(a.call(pv::encode(poll_req(r, 1, "Q2", true)))) == CsError::ok);
}

TEST_CASE("qdevice: two_node set at run time with a device configured disables the device") {
    CoreRing r(2, device_config());
    r.start_all();
    REQUIRE(r.run_until_synced({1, 2}));
    Client dev(r, 1, 120, 5);
    REQUIRE(cmap_set(r, 1, "quorum.two_node", 2, Bytes{1}) == CsError::ok);
    r.run_for(Duration::ms(300));
    CHECK(r.log(1).count("configuration error: two_node and quorum device cannot be configured "
                         "at the same time!") == 1);
    CHECK(r.log(1).count("quorum device is not registered, allowing two_node") == 1);
    CHECK(r.node(1).keys_view().get_u8("runtime.votequorum.qdevice_can_operate") ==
          std::optional<std::uint8_t>(0));
    CHECK(status_of(dev.call(pv::encode(pv::ReqQdeviceRegister{"Qdevice"}))) ==
          CsError::err_access);
    CHECK(status_of(dev.call(pv::encode(poll_req(r, 1, "Qdevice", true)))) == CsError::err_access);
    CHECK(status_of(dev.call(pv::encode(pv::ReqQdeviceMasterWins{"Qdevice", 1}))) ==
          CsError::err_access);
}
