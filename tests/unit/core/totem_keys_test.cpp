// A run-time change of a totem.* key (corosync-cmapctl -s totem.token u32 2000) re-reads the
// volatile totem settings, as corosync's totem_change_notify does.
#include <catch2/catch.hpp>

#include "tests/unit/quorum/quorum_ring.hpp"

using namespace totem;
using namespace totem::test;

namespace {

std::optional<std::uint32_t> runtime_u32(CoreRing& r, NodeId id, const std::string& name) {
    return r.node(id).keys_view().get_u32("runtime.config.totem." + name);
}

CsError cmap_delete(CoreRing& r, NodeId node, const std::string& key) {
    Client cm(r, node, 901, 0);
    const Bytes res = cm.call(proto::cmap::encode(proto::cmap::ReqDelete{key}));
    auto h = proto::peek_response(res);
    return h ? h->error : static_cast<CsError>(-1);
}

}  // namespace

TEST_CASE("core: a run-time change of totem.token re-reads the volatile totem settings") {
    CoreRing r(3, vq_config(3));  // token 1000 on three nodes
    r.start_all();
    REQUIRE(r.run_until_synced({1, 2, 3}));
    CHECK(runtime_u32(r, 1, "token") == 1650u);
    CHECK(runtime_u32(r, 1, "consensus") == 1980u);
    CHECK(r.node(1).stack().srp().config().token.to_ms() == 1650);

    // corosync 3.1.7: token 1650 → 2650, consensus 1980 → 3180 (token_coefficient 650)
    REQUIRE(cmap_set(r, 1, "totem.token", 6 /* u32 */, le32(2000)) == CsError::ok);
    CHECK(runtime_u32(r, 1, "token") == 2650u);
    CHECK(runtime_u32(r, 1, "consensus") == 3180u);
    CHECK(runtime_u32(r, 1, "token_retransmit") == 630u);  // 2650 / 4.2
    CHECK(r.node(1).stack().srp().config().token.to_ms() == 2650);
    CHECK(r.node(1).stack().srp().config().consensus.to_ms() == 3180);
    CHECK(r.log(1).count("Totem related config key changed") == 1);
    // only this node's map changed (cmap keys are local); node 2 still runs with 1650
    CHECK(runtime_u32(r, 2, "token") == 1650u);

    // a key of another type is not read (icmap_get_uint32 fails): the default counts
    REQUIRE(cmap_set(r, 1, "totem.token", 5 /* i32 */, le32(5000)) == CsError::ok);
    CHECK(runtime_u32(r, 1, "token") == 3650u);  // 3000 + 650

    // deleting the key: the default
    REQUIRE(cmap_set(r, 1, "totem.token", 6, le32(2000)) == CsError::ok);
    REQUIRE(cmap_delete(r, 1, "totem.token") == CsError::ok);
    CHECK(runtime_u32(r, 1, "token") == 3650u);

    // an invalid value is logged as corosync does and the values read are kept
    REQUIRE(cmap_set(r, 1, "totem.join", 6, le32(1)) == CsError::ok);
    CHECK(r.log(1).count("The join timeout parameter (1 ms) may not be less than (30 ms).") == 1);
    CHECK(runtime_u32(r, 1, "join") == 1u);

    // a key that is no totem setting changes nothing
    const auto changes = r.log(1).count("Totem related config key changed");
    REQUIRE(cmap_set(r, 1, "totem.cluster_name_x", 6, le32(7)) == CsError::ok);
    CHECK(r.log(1).count("Totem related config key changed") == changes);

    // the ring keeps working with the new timers
    r.run_for(Duration::ms(5000));
    CHECK(r.node(1).stack().srp().state() == MembState::operational);
}
