// The quorum service (spec A3.3, B3.5) and its provider switch; the order in which a sync's
// notifications reach clients (B3.6); how the node core loads, uses and unloads the quorum
// services (load order, IPC admission when inquorate, exit).
#include <catch2/catch.hpp>

#include <cerrno>

#include "services/quorum.hpp"
#include "tests/unit/quorum/quorum_ring.hpp"

using namespace totem;
using namespace totem::test;

namespace {

constexpr std::uint16_t quorum_service = 3;

Bytes v1_model(Client& c) {
    return c.call(pq::encode(pq::ReqModelGetType{pq::model_v1}));
}

std::vector<std::string> kinds(const std::vector<Bytes>& events, std::uint16_t service) {
    std::vector<std::string> out;
    for (const Bytes& e : events) {
        const auto id = response_id(e);
        if (service == 3)
            out.push_back(id == 3   ? "q.v0"
                          : id == 6 ? "q.v1"
                          : id == 7 ? "q.nodelist"
                                    : "q.?" + std::to_string(id));
        else
            out.push_back(id == 3   ? "vq.quorum"
                          : id == 4 ? "vq.expected"
                          : id == 5 ? "vq.nodelist"
                                    : "vq.?" + std::to_string(id));
    }
    return out;
}

}  // namespace

TEST_CASE("quorum: without a provider the node is always quorate (quorum_type 0)") {
    CoreRing r(2, vq_config(2, "", {}, ""));
    r.start_all();
    REQUIRE(r.run_until_synced({1, 2}));
    CHECK(r.node(1).quorate());
    Client c(r, 1, 10, quorum_service);
    auto t = pq::decode_res_gettype(c.call(pq::encode(pq::ReqGetType{})));
    REQUIRE(t);
    CHECK(t->quorum_type == pq::quorum_free);
    auto q = pq::decode_res_getquorate(c.call(pq::encode(pq::ReqGetQuorate{})));
    REQUIRE(q);
    CHECK(q->quorate == 1);
    // TRACKSTART CURRENT (V0): the notification of a decision never made: quorate, no view
    auto s = pq::decode_res_trackstart(c.call(pq::encode(pq::ReqTrackStart{1})));
    REQUIRE(s);
    CHECK(s->error == CsError::ok);
    const auto ev = c.take_events();
    REQUIRE(ev.size() == 1);
    auto n = pq::decode_res_notification(ev[0]);
    REQUIRE(n);
    CHECK(n->quorate == 1);
    CHECK(n->ring_seq == 0);
    CHECK(n->view_list.empty());
    // votequorum is not loaded: no IPC server, no keys, no read-only quorum keys
    CHECK(r.input(1, [](core::NodeCore& x) { return x.ipc_accept(5, 0, 0); }) == -ENOSYS);
    CHECK_FALSE(r.node(1).keys_view().contains("runtime.votequorum.this_node_id"));
    CHECK_FALSE(r.node(1).keys_view().is_read_only("quorum.wait_for_all"));
    CHECK(r.log(1).count("Members[") == 0);
    CHECK(r.log(1).count("Using quorum provider") == 0);
}

TEST_CASE(
    "quorum: load order and start-up lines as corosync's (votequorum [5] before quorum [3])") {
    CoreRing r(1, vq_config(1));
    std::vector<std::string> lines;
    for (const auto& l : r.log(1).lines)
        if (l.subsys == "SERV" || l.text.starts_with("Using quorum provider"))
            lines.push_back(l.text);
    const std::vector<std::string> want = {
        "Service engine loaded: corosync configuration map access [0]",
        "Service engine loaded: corosync configuration service [1]",
        "Service engine loaded: corosync cluster closed process group service v1.01 [2]",
        "Service engine loaded: corosync profile loading service [4]",
        "Using quorum provider corosync_votequorum",
        "Service engine loaded: corosync vote quorum service v1.0 [5]",
        "Service engine loaded: corosync cluster quorum service v0.1 [3]"};
    CHECK(lines == want);
    const std::vector<std::uint16_t> order = {0, 1, 2, 4, 5, 3};
    CHECK(r.node(1).load_order() == order);
    CHECK(r.node(1).keys_view().get_string("internal_configuration.service.5.name") ==
          std::optional<std::string>("corosync_votequorum"));
    CHECK(r.node(1).keys_view().get_string("internal_configuration.service.3.name") ==
          std::optional<std::string>("corosync_quorum"));
    CHECK(r.node(1).keys_view().get_u16("runtime.services.votequorum.service_id") ==
          std::optional<std::uint16_t>(5));
    CHECK(r.node(1).keys_view().contains("runtime.services.votequorum.3.tx"));
    // one node, expected 1: quorate as soon as votequorum starts, before any sync ("Members[0]")
    CHECK(r.log(1).count("This node is within the primary component") == 1);
    CHECK(r.log(1).count("Members[0]:") == 1);
}

TEST_CASE("quorum: V0 and V1 notifications, track flags, TRACKSTOP and MODEL_GETTYPE") {
    CoreRing r(3, vq_config(3));
    r.start_all();
    REQUIRE(r.run_until_synced({1, 2, 3}));
    Client v0(r, 1, 20, quorum_service);
    Client v1(r, 1, 21, quorum_service);
    auto m = pq::decode_res_model_gettype(v1_model(v1));
    REQUIRE(m);
    CHECK(m->error == CsError::ok);
    CHECK(m->quorum_type == pq::quorum_set);
    // an unknown model: INVALID_PARAM, the type still returned, the model unchanged
    auto bad = pq::decode_response(v0.call(pq::encode(pq::ReqModelGetType{2})));
    REQUIRE(bad);
    CHECK(std::get<pq::ResModelGetType>(*bad).error == CsError::err_invalid_param);

    // TRACKSTART CURRENT: V0 gets its notification; V1 a nodelist (no joined/left) then V1
    CHECK(pq::decode_res_trackstart(v0.call(pq::encode(pq::ReqTrackStart{1})))->error ==
          CsError::ok);
    CHECK(pq::decode_res_trackstart(v1.call(pq::encode(pq::ReqTrackStart{2})))->error ==
          CsError::ok);
    auto e0 = v0.take_events();
    REQUIRE(kinds(e0, 3) == std::vector<std::string>{"q.v0"});
    auto n0 = pq::decode_res_notification(e0[0]);
    CHECK(n0->quorate == 1);
    CHECK(n0->ring_seq == r.node(1).ring_id().seq);
    CHECK(n0->view_list == std::vector<std::uint32_t>{1, 2, 3});
    CHECK(e0[0].size() == 48 + 4 * 3);
    auto e1 = v1.take_events();
    REQUIRE(kinds(e1, 3) == std::vector<std::string>({"q.nodelist", "q.v1"}));
    auto nl = pq::decode_res_v1_nodelist_notification(e1[0]);
    CHECK(nl->members == std::vector<std::uint32_t>{1, 2, 3});
    CHECK(nl->joined.empty());
    CHECK(nl->left.empty());
    CHECK(nl->ring_id.seq == r.node(1).ring_id().seq);
    CHECK(nl->ring_id.nodeid == r.node(1).ring_id().rep);
    CHECK(e1[1].size() == 56 + 4 * 3);
    // already tracking: EXIST (after the notifications); CURRENT alone does not register
    CHECK(pq::decode_res_trackstart(v1.call(pq::encode(pq::ReqTrackStart{2})))->error ==
          CsError::err_exist);
    v1.take_events();

    // a kill: the V1 tracker sees the nodelist with node 3 left, then the quorum notification;
    // the V0 client is not tracking
    r.crash(3);
    REQUIRE(r.run_until_synced({1, 2}));
    CHECK(v0.take_events().empty());
    auto e2 = v1.take_events();
    REQUIRE(kinds(e2, 3) == std::vector<std::string>({"q.nodelist", "q.v1"}));
    auto nl2 = pq::decode_res_v1_nodelist_notification(e2[0]);
    CHECK(nl2->members == std::vector<std::uint32_t>{1, 2});
    CHECK(nl2->joined.empty());
    CHECK(nl2->left == std::vector<std::uint32_t>{3});
    CHECK(e2[0].size() == 64 + 4 * 3);
    auto q2 = pq::decode_res_v1_quorum_notification(e2[1]);
    CHECK(q2->quorate == 1);
    CHECK(q2->view_list == std::vector<std::uint32_t>{1, 2});
    CHECK(r.log(1).count("Sync left[1]: 3") == 1);

    // TRACKSTOP: always CS_OK (also when not tracking)
    CHECK(pq::decode_res_trackstop(v1.call(pq::encode(pq::ReqTrackStop{})))->error == CsError::ok);
    CHECK(pq::decode_res_trackstop(v0.call(pq::encode(pq::ReqTrackStop{})))->error == CsError::ok);
    // a malformed request (TRACKSTART of 20 bytes): its reply with INVALID_PARAM
    Bytes shortreq;
    Writer w(shortreq);
    w.i32(1);
    w.u32(0);
    w.i32(20);
    w.u32(0);
    w.u32(1);
    const Bytes inv = v0.call(shortreq);
    CHECK(response_id(inv) == 1);
    auto h = proto::peek_response(inv);
    REQUIRE(h);
    CHECK(h->error == CsError::err_invalid_param);
}

TEST_CASE("quorum: a sync's client-visible order (B3.6); trackers newest first") {
    CoreRing r(3, vq_config(3));
    r.start_all();
    REQUIRE(r.run_until_synced({1, 2, 3}));
    // one client of each kind on node 1, all tracking changes; and a second quorum tracker
    Client q(r, 1, 30, quorum_service);
    Client q_old(r, 1, 31, quorum_service);
    Client vq(r, 1, 32, 5);
    v1_model(q);
    v1_model(q_old);
    q_old.call(pq::encode(pq::ReqTrackStart{4}));  // CHANGES_ONLY: no initial notifications
    q.call(pq::encode(pq::ReqTrackStart{4}));
    vq.call(pv::encode(pv::ReqTrackStart{0x1234, 4}));
    r.crash(3);
    REQUIRE(r.run_until_synced({1, 2}));
    // interleaved, as the node core emitted them
    std::vector<std::pair<services::ConnId, std::string>> seq;
    for (const auto& e : r.log(1).events) {
        const Bytes message = e.message.to_bytes();
        const auto id = response_id(message);
        (void)id;
        const std::string k = e.conn == 32 ? kinds({message}, 5)[0] : kinds({message}, 3)[0];
        seq.emplace_back(e.conn, k);
    }
    const std::vector<std::pair<services::ConnId, std::string>> want = {
        {30, "q.nodelist"},  {31, "q.nodelist"},  // quorum's activate, newest tracker first
        {32, "vq.nodelist"},                      // votequorum's process
        {30, "q.v1"},        {31, "q.v1"},        // votequorum's activate: the decision
        {32, "vq.quorum"}};
    CHECK(seq == want);
    auto ql = pv::decode_res_quorum_notification(r.log(1).events.back().message);
    REQUIRE(ql);
    CHECK(ql->context == 0x1234);
    CHECK(ql->quorate == 1);
    // every node votequorum knows, in its list's order (see the next case), with its state
    CHECK(ql->nodes == std::vector<pv::Node>{{2, 1}, {3, 2}, {1, 1}});
}

TEST_CASE("votequorum: the node list keeps corosync's insertion order (quorum notification)") {
    // node_add_ordered puts a new highest id before the last entry, whatever order the
    // NODEINFOs come in: node 1 keeps [2, 3, 1], node 2 [1, 3, 2], node 3 [1, 2, 3] (corosync
    // 3.1.7's debug lines list node 2, node 3, node 1 at node 1)
    CoreRing r(3, vq_config(3));
    r.start_all();
    REQUIRE(r.run_until_synced({1, 2, 3}));
    const std::map<NodeId, std::vector<std::uint32_t>> want = {
        {1, {2, 3, 1}}, {2, {1, 3, 2}}, {3, {1, 2, 3}}};
    for (NodeId n : {1u, 2u, 3u}) {
        Client c(r, n, 40, 5);
        c.call(pv::encode(pv::ReqTrackStart{0, 1}));
        const auto ev = c.take_events();
        REQUIRE(ev.size() == 2);
        auto qn = pv::decode_res_quorum_notification(ev[1]);
        REQUIRE(qn);
        std::vector<std::uint32_t> order;
        for (const auto& x : qn->nodes)
            order.push_back(x.nodeid);
        INFO("node " << n);
        CHECK(order == want.at(n));
    }
}

TEST_CASE("votequorum: TRACKSTART/STOP, contexts, EXPECTEDVOTES notification on -e") {
    CoreRing r(2, vq_config(2, "two_node: 1\n"));
    r.start_all();
    REQUIRE(r.run_until_synced({1, 2}));
    Client a(r, 1, 50, 5);
    Client b(r, 1, 51, 5);
    CHECK(status_of(a.call(pv::encode(pv::ReqTrackStop{}))) == CsError::err_not_exist);
    CHECK(status_of(a.call(pv::encode(pv::ReqTrackStart{7, 2}))) == CsError::ok);
    CHECK(status_of(b.call(pv::encode(pv::ReqTrackStart{8, 4}))) == CsError::ok);
    CHECK(status_of(b.call(pv::encode(pv::ReqTrackStart{9, 4}))) == CsError::err_exist);
    auto ea = a.take_events();
    REQUIRE(ea.size() == 2);
    CHECK(pv::decode_res_nodelist_notification(ea[0])->context == 7);
    CHECK(pv::decode_res_nodelist_notification(ea[0])->nodes == std::vector<std::uint32_t>{1, 2});
    CHECK(pv::decode_res_quorum_notification(ea[1])->context == 7);
    CHECK(b.take_events().empty());
    CHECK(status_of(a.call(pv::encode(pv::ReqSetExpected{3}))) == CsError::ok);
    r.run_for(Duration::ms(300));
    auto ea2 = a.take_events();
    auto eb2 = b.take_events();
    REQUIRE(!ea2.empty());
    auto ev = pv::decode_res_expectedvotes_notification(ea2[0]);
    REQUIRE(ev);
    CHECK(ev->context == 7);
    CHECK(ev->expected_votes == 3);
    REQUIRE(!eb2.empty());
    CHECK(pv::decode_res_expectedvotes_notification(eb2[0])->context == 8);
    CHECK(status_of(b.call(pv::encode(pv::ReqTrackStop{}))) == CsError::ok);
    CHECK(status_of(b.call(pv::encode(pv::ReqTrackStop{}))) == CsError::err_not_exist);
}

// A service of the test's (id 21) that refuses inquorate use, to prove the core's check.
class Guarded final : public services::Service {
  public:
    explicit Guarded(services::Api& api) : Service(api) {}
    services::ServiceInfo info() const override {
        services::ServiceInfo i{21, "guarded", "test guarded service", "test_guarded", 0, 1};
        i.allow_inquorate = false;
        return i;
    }
    void exec(NodeId, std::uint16_t, ByteView) override {}
    services::FlowControl flow_control(std::int32_t) const override {
        return services::FlowControl::not_required;
    }
    void lib_request(services::ConnId conn, std::int32_t, ByteView) override {
        api_.respond(conn, proto::encode(proto::ErrorResponse{CsError::ok}));
    }
};

TEST_CASE("core: inquorate, a service without allow_inquorate gets TRY_AGAIN and RATE_OFF") {
    CoreRing r(3, vq_config(3), [](NodeId, core::NodeCore& n) {
        n.add_service([](services::Api& api) { return std::make_unique<Guarded>(api); });
    });
    r.start_all();
    REQUIRE(r.run_until_synced({1, 2, 3}));
    Client g(r, 1, 60, 21);
    Bytes req;  // request 0: a bare header
    Writer w(req);
    w.i32(0);
    w.u32(0);
    w.i32(16);
    w.u32(0);
    CHECK(proto::peek_response(g.call(req))->error == CsError::ok);
    r.crash(2);
    r.crash(3);
    REQUIRE(r.run_until_synced({1}));
    CHECK_FALSE(r.node(1).quorate());
    CHECK(proto::peek_response(g.call(req))->error == CsError::err_try_again);
    const auto& rl = r.log(1).rate_limits;
    auto last_21 =
        std::find_if(rl.rbegin(), rl.rend(), [](const auto& x) { return x.service == 21; });
    REQUIRE(last_21 != rl.rend());
    CHECK(last_21->limit == core::RateLimit::off);
    // quorum and votequorum allow inquorate use: still served
    Client q(r, 1, 61, quorum_service);
    CHECK(pq::decode_res_getquorate(q.call(pq::encode(pq::ReqGetQuorate{})))->quorate == 0);
}

TEST_CASE("votequorum: a start-up configuration error stops the node (exit 20)") {
    // two_node with a quorum device: conf refuses it; a config whose keys say so anyway (as a
    // future conf rule might miss) makes votequorum refuse to start, as corosync does
    conf::Config cfg = parse_config(vq_config(2, "two_node: 1\n"), 1);
    cfg.keys["quorum.device.model"] = conf::CmapValue::string("net");
    core::NodeCore n(cfg, core::CoreOptions{});
    const auto effects = n.take_effects();
    bool exit20 = false, reason = false;
    for (const auto& e : effects) {
        if (auto* x = std::get_if<services::ExitAction>(&e))
            exit20 = x->status == 20;
        if (auto* l = std::get_if<core::LogLine>(&e))
            reason = reason || l->text ==
                                   "Service engine 'corosync_quorum' failed to load for "
                                   "reason 'configuration error: two_node and quorum "
                                   "device cannot be configured at the same time!'";
    }
    CHECK(exit20);
    CHECK(reason);
    CHECK(n.service(5) == nullptr);
}
