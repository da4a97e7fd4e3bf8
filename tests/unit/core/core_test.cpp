// engine/core: the node core — sync after every configuration change, IPC admission and
// permissions, exec dispatch and its counters, the runtime keys, actions, the config check.
#include <catch2/catch.hpp>

#include <cerrno>

#include "tests/unit/core/core_ring.hpp"

using namespace totem;
using namespace totem::test;

namespace {

// A service of the test's own (id 20): request 0 needs no flow control, request 1 does; both
// answer with a 24-byte response whose id is the request's. Exec fn 0 records deliveries.
class Echo final : public services::Service {
  public:
    explicit Echo(services::Api& api) : Service(api) {}
    services::ServiceInfo info() const override {
        return {20, "echo", "test echo service", "test_echo", 1, 2};
    }
    void exec(NodeId sender, std::uint16_t, ByteView message) override {
        delivered.emplace_back(sender, Bytes(message.begin(), message.end()));
    }
    services::FlowControl flow_control(std::int32_t id) const override {
        return id == 1 ? services::FlowControl::required : services::FlowControl::not_required;
    }
    bool lib_init(const services::ClientInfo& c) override {
        clients.push_back(c.conn);
        return true;
    }
    void lib_exit(services::ConnId c) override { gone.push_back(c); }
    // Request 0 with a body "key\0value" sets that string key (as a cmap client would); the key
    // "clear_stats" with "u8:<groups>" clears those stats groups (as cmap's stats.clear.* do),
    // "shutdown" shuts the node down with that reason (as cfg does).
    void lib_request(services::ConnId conn, std::int32_t id, ByteView req) override {
        if (id == 0 && req.size() > 16) {
            const std::string body(req.begin() + 16, req.end());
            const auto nul = body.find('\0');
            const std::string key = body.substr(0, nul), value = body.substr(nul + 1);
            if (key == "clear_stats")
                api_.clear_stats(static_cast<std::uint8_t>(std::stoul(value.substr(3))));
            else if (key == "shutdown")
                api_.shutdown(value);
            else if (value.starts_with("u8:"))
                api_.keys().set(key, services::Value::u8(
                                         static_cast<std::uint8_t>(std::stoul(value.substr(3)))));
            else if (value.starts_with("u32:"))
                api_.keys().set(key, services::Value::u32(
                                         static_cast<std::uint32_t>(std::stoul(value.substr(4)))));
            else
                api_.keys().set(key, services::Value::str(value));
        }
        Bytes r;
        Writer w(r);
        w.i32(id);
        w.u32(0);
        w.i32(24);
        w.u32(0);
        w.i32(1);
        w.u32(0);
        api_.respond(conn, r);
        if (id == 1) {
            Bytes m;
            Writer x(m);
            x.u32(20u << 16);
            x.u32(0);
            x.u32(16);
            x.u32(0);
            api_.mcast(m);
        }
    }
    std::vector<std::pair<NodeId, Bytes>> delivered;
    std::vector<services::ConnId> clients, gone;
};

Bytes request(std::int32_t id, std::size_t size = 16, std::int32_t size_field = -1) {
    Bytes b;
    Writer w(b);
    w.i32(id);
    w.u32(0);
    w.i32(size_field >= 0 ? size_field : static_cast<std::int32_t>(size));
    w.u32(0);
    b.resize(size, 0);
    return b;
}

std::int32_t error_of(const Bytes& response) {
    Reader r(response);
    r.take(16);
    return r.i32();
}

services::ClientInfo client(services::ConnId conn, std::uint16_t service = 20) {
    services::ClientInfo c;
    c.conn = conn;
    c.service = service;
    c.pid = 4242;
    c.procname = "tester";
    c.pointer = 0x55aa0000 + conn;
    return c;
}

}  // namespace

TEST_CASE("core: three nodes form a ring and complete sync; IPC opens only then (B3.1)") {
    CoreRing r(3);
    // Before the first sync completes, connections get TRY_AGAIN (-EAGAIN).
    CHECK(r.input(1, [](core::NodeCore& n) { return n.ipc_accept(0, 0, 0); }) == -EAGAIN);
    r.start_all();
    REQUIRE(r.run_until_synced({1, 2, 3}));
    for (NodeId id : {1u, 2u, 3u}) {
        INFO("node " << id);
        auto& n = r.node(id);
        CHECK(n.ipc_allowed());
        CHECK(r.log(id).ready == 1);
        CHECK(r.log(id).count("Completed service synchronization, ready to provide service.") >= 1);
        CHECK_FALSE(n.stack().srp().waiting_trans_ack());
        const auto& k = n.keys_view();
        for (NodeId m : {1u, 2u, 3u}) {
            const std::string base = "runtime.members." + std::to_string(m);
            CHECK(k.get_string(base + ".status") == std::optional<std::string>("joined"));
            CHECK(k.get_string(base + ".ip") ==
                  std::optional<std::string>("r(0) ip(10.9.0." + std::to_string(m) + ") "));
            CHECK(k.get_u32(base + ".join_count").has_value());
        }
        CHECK(k.get_string("internal_configuration.service.4.name") ==
              std::optional<std::string>("corosync_pload"));
        CHECK(k.get_u16("runtime.services.pload.service_id") == std::optional<std::uint16_t>(4));
        CHECK(k.get_u64("runtime.services.pload.1.rx") == std::optional<std::uint64_t>(0));
        CHECK(k.get_string("runtime.blackbox.dump_flight_data") ==
              std::optional<std::string>("no"));
        CHECK(k.get_string("runtime.totemd.members") == std::optional<std::string>("1 2 3"));
    }
}

TEST_CASE("core: a node that leaves and a node that crashes: sync completes again, status left") {
    CoreRing r(3);
    r.start_all();
    REQUIRE(r.run_until_synced({1, 2, 3}));
    r.crash(3);
    REQUIRE(r.run_until_synced({1, 2}));
    CHECK(r.node(1).keys_view().get_string("runtime.members.3.status") ==
          std::optional<std::string>("left"));
    CHECK(r.node(1).sync_completions() >= 2);
    // an orderly leave of node 2: the core leaves the ring and asks to exit 0, after corosync's
    // unload lines (exec/service.c), one per service in id order
    r.input(2, [&](core::NodeCore& n) { n.leave(r.now(), "Node was shut down by a signal"); });
    CHECK(r.log(2).count("Node was shut down by a signal") == 1);
    CHECK(r.log(2).count("Unloading all Corosync service engines.") == 1);
    CHECK(r.log(2).count("Service engine unloaded: corosync configuration map access") == 1);
    CHECK(r.log(2).count("Service engine unloaded: corosync configuration service") == 1);
    CHECK(r.log(2).count("Service engine unloaded: corosync profile loading service") == 1);
    CHECK(r.log(1).count("Service engine unloaded") == 0);
    REQUIRE(std::any_of(r.log(2).actions.begin(), r.log(2).actions.end(), [](const auto& a) {
        return std::holds_alternative<services::ExitAction>(a) &&
               std::get<services::ExitAction>(a).status == 0;
    }));
    r.run_for(Duration::ms(50));
    r.crash(2);
    REQUIRE(r.run_until_synced({1}, Duration::ms(3000)));
}

// Sets a key through the echo service's request 0 on connection `conn` of node `id`.
int set_key(CoreRing& r, NodeId id, services::ConnId conn, const std::string& key,
            const std::string& value) {
    Bytes b = request(0, 16 + key.size() + 1 + value.size());
    std::copy(key.begin(), key.end(), b.begin() + 16);
    std::copy(value.begin(), value.end(), b.begin() + 17 + static_cast<long>(key.size()));
    return r.input(id, [&](core::NodeCore& n) { return n.ipc_request(r.now(), conn, b); });
}

struct EchoRing {
    explicit EchoRing(int n, const std::string& text = "")
        : ring(n, text, [this](NodeId id, core::NodeCore& c) {
              echo[id] = static_cast<Echo*>(
                  &c.add_service([](services::Api& api) { return std::make_unique<Echo>(api); }));
          }) {}
    std::map<NodeId, Echo*> echo;
    CoreRing ring;
};

TEST_CASE("core: IPC permissions — root, then uidgid keys of type u8 and value 1 (A1.5)") {
    EchoRing e(1);
    CoreRing& r = e.ring;
    r.start_all();
    REQUIRE(r.run_until_synced({1}));
    auto accept = [&](std::uint16_t svc, std::uint32_t uid, std::uint32_t gid) {
        return r.input(1, [&](core::NodeCore& n) { return n.ipc_accept(svc, uid, gid); });
    };
    CHECK(accept(4, 0, 0) == -ENOSYS);  // pload has no IPC
    CHECK(accept(9, 0, 0) == -ENOSYS);  // no such service
    CHECK(accept(20, 0, 0) == 0);       // root
    CHECK(accept(20, 1000, 0) == 0);    // gid 0
    CHECK(accept(20, 0, 1000) == 0);    // uid 0
    CHECK(accept(20, 1000, 1000) == -EACCES);
    CHECK(r.log(1).count("Denied connection attempt from 1000:1000") == 1);
    // as pacemakerd does through cmap (here through the echo service)
    REQUIRE(r.input(1, [&](core::NodeCore& n) { return n.ipc_connected(r.now(), client(5)); }));
    auto set = [&](const std::string& k, const std::string& v) { set_key(r, 1, 5, k, v); };
    set("uidgid.gid.1000", "u32:1");  // the wrong type: icmap_get_uint8 fails
    CHECK(accept(20, 1000, 1000) == -EACCES);
    set("uidgid.gid.1000", "u8:2");  // the wrong value
    CHECK(accept(20, 1000, 1000) == -EACCES);
    set("uidgid.gid.1000", "u8:1");
    CHECK(accept(20, 1000, 1000) == 0);
    CHECK(accept(20, 1001, 1000) == 0);  // the group is enough
    CHECK(accept(20, 1001, 1001) == -EACCES);
    set("uidgid.uid.1001", "u8:1");
    CHECK(accept(20, 1001, 1001) == 0);
}

TEST_CASE("core: IPC admission — sizes, ids, flow control during sync (A1.8)") {
    EchoRing e(1);
    CoreRing& r = e.ring;
    r.start_all();
    REQUIRE(r.run_until_synced({1}));
    auto& log = r.log(1);
    REQUIRE(r.input(1, [&](core::NodeCore& n) { return n.ipc_connected(r.now(), client(7)); }));
    CHECK(e.echo[1]->clients == std::vector<services::ConnId>{7});
    auto req = [&](const Bytes& b) {
        return r.input(1, [&](core::NodeCore& n) { return n.ipc_request(r.now(), 7, b); });
    };
    // good requests
    CHECK(req(request(0)) == 0);
    REQUIRE(log.responses.size() == 1);
    CHECK(error_of(log.responses.back().message) == 1);
    // an id past the handlers, a size field that is not the length, shorter than a header
    CHECK(req(request(2)) == -EINVAL);
    CHECK(error_of(log.responses.back().message) == 7);  // CS_ERR_INVALID_PARAM
    CHECK(req(request(0, 16, 40)) == -EINVAL);
    CHECK(req(request(0, 8)) == -EINVAL);
    CHECK(req(request(-1)) == -EINVAL);
    CHECK(log.responses.size() == 5);
    // a flow-controlled request goes out and its exec message is delivered, counted both ways
    CHECK(req(request(1)) == 0);
    r.run_for(Duration::ms(100));
    REQUIRE(e.echo[1]->delivered.size() == 1);
    CHECK(r.node(1).keys_view().get_u64("runtime.services.echo.0.tx") ==
          std::optional<std::uint64_t>(1));
    CHECK(r.node(1).keys_view().get_u64("runtime.services.echo.0.rx") ==
          std::optional<std::uint64_t>(1));
    // the stats map counts the refused requests of the connection
    const auto& st = r.node(1).stats_view();
    CHECK(st.get_string("stats.ipcs.service20.4242.0x55aa0007.procname") ==
          std::optional<std::string>("tester"));
    bool found = false;
    auto it = st.iter_init("stats.ipcs.service20.4242.");
    while (auto item = st.iter_next(it))
        if (item->key.ends_with(".invalid_request")) {
            found = true;
            CHECK(st.get_u64(item->key) == std::optional<std::uint64_t>(4));
        }
    CHECK(found);
    // disconnect: lib_exit, the connection's keys go
    r.input(1, [&](core::NodeCore& n) { n.ipc_closed(r.now(), 7); });
    CHECK(e.echo[1]->gone == std::vector<services::ConnId>{7});
    auto it2 = r.node(1).stats_view().iter_init("stats.ipcs.service20.");
    CHECK_FALSE(r.node(1).stats_view().iter_next(it2).has_value());
}

TEST_CASE(
    "core: while a sync runs, flow-controlled requests get TRY_AGAIN and IPC is rate-limited") {
    EchoRing e(2);
    CoreRing& r = e.ring;
    r.start_all();
    REQUIRE(r.run_until_synced({1, 2}));
    REQUIRE(r.input(1, [&](core::NodeCore& n) { return n.ipc_connected(r.now(), client(9)); }));
    // The echo service's rate limit: fast when idle; off_2 during sync.
    auto last_limit = [&] {
        std::optional<core::RateLimit> l;
        for (const auto& x : r.log(1).rate_limits)
            if (x.service == 20)
                l = x.limit;
        return l;
    };
    CHECK(last_limit() == std::optional<core::RateLimit>(core::RateLimit::fast));
    r.crash(2);
    r.run_for(Duration::ms(10000), [&] { return r.node(1).sync_in_progress(); });
    REQUIRE(r.node(1).sync_in_progress());
    CHECK(last_limit() == std::optional<core::RateLimit>(core::RateLimit::off_2));
    CHECK(r.input(1, [&](core::NodeCore& n) { return n.ipc_request(r.now(), 9, request(1)); }) ==
          -ENOBUFS);
    CHECK(error_of(r.log(1).responses.back().message) == 6);  // CS_ERR_TRY_AGAIN
    CHECK(r.input(1, [&](core::NodeCore& n) { return n.ipc_request(r.now(), 9, request(0)); }) ==
          0);
    REQUIRE(r.run_until_synced({1}));
    CHECK(last_limit() == std::optional<core::RateLimit>(core::RateLimit::fast));
}

TEST_CASE("core: runtime.force_gather and runtime.blackbox.dump_flight_data trigger actions") {
    EchoRing e(1);
    CoreRing& r = e.ring;
    r.start_all();
    REQUIRE(r.run_until_synced({1}));
    REQUIRE(r.input(1, [&](core::NodeCore& n) { return n.ipc_connected(r.now(), client(3)); }));
    auto set = [&](const std::string& key, const std::string& value) {
        return set_key(r, 1, 3, key, value);
    };
    const auto gathers = r.node(1).stack().srp().stats().gather_entered;
    REQUIRE(set("runtime.force_gather", "yes") == 0);
    CHECK(r.node(1).stack().srp().stats().gather_entered == gathers + 1);
    CHECK(r.node(1).keys_view().get_string("runtime.force_gather") ==
          std::optional<std::string>("no"));
    CHECK(r.log(1).count("Forcing into GATHER state") == 1);
    REQUIRE(r.run_until_synced({1}));
    REQUIRE(set("runtime.blackbox.dump_flight_data", "yes") == 0);
    CHECK(std::count_if(r.log(1).actions.begin(), r.log(1).actions.end(), [](const auto& a) {
              return std::holds_alternative<services::DumpBlackboxAction>(a);
          }) == 1);
}

TEST_CASE("core: stats.clear.knet zeroes the srp counters too, as totemsrp_stats_clear does") {
    EchoRing e(1);
    CoreRing& r = e.ring;
    r.start_all();
    REQUIRE(r.run_until_synced({1}));
    REQUIRE(r.input(1, [&](core::NodeCore& n) { return n.ipc_connected(r.now(), client(3)); }));
    auto clear = [&](std::uint8_t groups) {
        return set_key(r, 1, 3, "clear_stats", "u8:" + std::to_string(groups));
    };
    auto gathers = [&] { return r.node(1).stack().srp().stats().gather_entered; };
    auto transport_clears = [&] {
        return std::count_if(r.log(1).actions.begin(), r.log(1).actions.end(), [](const auto& a) {
            return std::holds_alternative<services::ClearStatsAction>(a) &&
                   (std::get<services::ClearStatsAction>(a).groups & services::kStatsClearKnet);
        });
    };
    REQUIRE(gathers() > 0);
    REQUIRE(clear(services::kStatsClearIpc) == 0);
    CHECK(gathers() > 0);  // stats.clear.ipc leaves the srp counters
    CHECK(transport_clears() == 0);
    // stats.clear.knet: totempg_stats_clear(TOTEMPG_STATS_CLEAR_TRANSPORT) → totemsrp_stats_clear,
    // which zeroes the srp stats whatever the flags, then the transport's (the driver's action)
    REQUIRE(clear(services::kStatsClearKnet) == 0);
    CHECK(gathers() == 0);
    CHECK(transport_clears() == 1);
    REQUIRE(set_key(r, 1, 3, "runtime.force_gather", "yes") == 0);
    REQUIRE(gathers() == 1);
    REQUIRE(clear(services::kStatsClearTotem) == 0);  // totem: srp only, no transport action
    CHECK(gathers() == 0);
    CHECK(transport_clears() == 1);
}

TEST_CASE("core: a service's shutdown logs corosync's unload lines, no MAIN line, and exits 0") {
    EchoRing e(1);
    CoreRing& r = e.ring;
    r.start_all();
    REQUIRE(r.run_until_synced({1}));
    REQUIRE(r.input(1, [&](core::NodeCore& n) { return n.ipc_connected(r.now(), client(3)); }));
    REQUIRE(set_key(r, 1, 3, "shutdown", "Node was shut down by sysadmin") == 0);
    // cfg logs "Node N was shut down by sysadmin" itself; exec/service.c adds the unload lines
    CHECK(r.log(1).count("Node was shut down by sysadmin") == 0);
    CHECK(r.log(1).count("Unloading all Corosync service engines.") == 1);
    std::vector<std::string> unloaded;
    for (const auto& l : r.log(1).lines)
        if (l.subsys == "SERV" && l.text.starts_with("Service engine unloaded: "))
            unloaded.push_back(l.text.substr(25));
    CHECK(unloaded == std::vector<std::string>{
                          "corosync configuration map access", "corosync configuration service",
                          "corosync cluster closed process group service v1.01",
                          "corosync cluster quorum service v0.1",
                          "corosync profile loading service", "test echo service"});
    CHECK(std::any_of(r.log(1).actions.begin(), r.log(1).actions.end(), [](const auto& a) {
        return std::holds_alternative<services::ExitAction>(a) &&
               std::get<services::ExitAction>(a).status == 0;
    }));
}

TEST_CASE("core: a request a service cannot decode counts as the connection's invalid_request") {
    CoreRing r(1);
    r.start_all();
    REQUIRE(r.run_until_synced({1}));
    // a cmap client (service 0) on connection 5; its stats key carries pid 4242, pointer 0x55aa0005
    REQUIRE(r.input(1, [&](core::NodeCore& n) { return n.ipc_connected(r.now(), client(5, 0)); }));
    const std::string key = "stats.ipcs.service0.4242.0x55aa0005.invalid_request";
    auto invalid = [&] { return r.node(1).stats_view().get_u64(key); };
    REQUIRE(invalid() == std::optional<std::uint64_t>(0));
    // a GET (id 2) with 200 bytes more than struct req_lib_cmap_get (288): cmap refuses it
    Bytes get = request(2, 288 + 200);
    REQUIRE(r.input(1, [&](core::NodeCore& n) { return n.ipc_request(r.now(), 5, get); }) == 0);
    REQUIRE_FALSE(r.log(1).responses.empty());
    CHECK(error_of(r.log(1).responses.back().message) == 7);  // CS_ERR_INVALID_PARAM
    CHECK(invalid() == std::optional<std::uint64_t>(1));
    // an unknown id is refused by the core itself (ipc_glue.c), and counted the same
    REQUIRE(r.input(1, [&](core::NodeCore& n) { return n.ipc_request(r.now(), 5, request(99)); }) ==
            -EINVAL);
    CHECK(invalid() == std::optional<std::uint64_t>(2));
}

TEST_CASE("core: the config check refuses a node with another cluster_name, mutually") {
    CoreRing r(0);
    r.add(1, ring_config(3));
    r.add(2, ring_config(3));
    r.add(3, ring_config(3, "", "other"));
    r.start_all();
    r.run_for(Duration::ms(20000));
    CHECK(r.node(1).members() == NodeList{1, 2});
    CHECK(r.node(3).members() == NodeList{3});
    CHECK(r.log(1).count("Refusing node 3: its cluster_name is 'other', ours is 'ring'") == 1);
    CHECK(r.log(3).count("Refusing node 1") + r.log(3).count("Refusing node 2") >= 1);
}

TEST_CASE("core: the config check accepts a nodelist with more nodes (a reload rolling through)") {
    CoreRing r(0);
    r.add(1, ring_config(3));
    r.add(2, ring_config(3));
    r.add(3, ring_config(4));  // node 3 already has node 4 in its nodelist
    r.start_all();
    REQUIRE(r.run_until_synced({1, 2, 3}));
    r.run_for(Duration::ms(3000));
    CHECK(r.node(1).members() == NodeList{1, 2, 3});
    CHECK(r.log(1).count("Refusing") == 0);
    CHECK(r.log(3).count("Refusing") == 0);
}

TEST_CASE("core: the config check refuses a nodelist that gives a node other addresses") {
    std::string conflicting = ring_config(3);
    const auto at = conflicting.find("10.9.0.2");
    conflicting.replace(at, 8, "10.9.0.9");
    CoreRing r(0);
    r.add(1, ring_config(3));
    r.add(2, ring_config(3));
    r.add(3, conflicting);
    r.start_all();
    r.run_for(Duration::ms(20000));
    CHECK(r.node(1).members() == NodeList{1, 2});
    CHECK(r.log(1).count("Refusing node 3: its nodelist gives node 2 other addresses than ours") ==
          1);
}
