// services/cpg: the state × request matrix of services/cpg.hpp, every cell, on a one-node
// CoreRing (exec/cpg.c's table near the top; spec A3.1 "Server semantics"), the checks JOIN
// makes first, flow control as corosync's flags say, and the answers to malformed requests.
#include <catch2/catch.hpp>

#include "tests/unit/cpg/cpg_client.hpp"

using namespace totem;
using namespace totem::test;
using proto::CsError;
using State = services::Cpg::State;

namespace {

struct One {
    CoreRing r;
    explicit One(const std::string& text = "") : r(1, text) {
        r.start_all();
        REQUIRE(r.run_until_synced({1}));
    }
    services::Cpg& cpg() { return cpg_of(r.node(1)); }
    std::uint64_t tx(int fn) {
        return r.node(1)
            .keys_view()
            .get_u64("runtime.services.cpg." + std::to_string(fn) + ".tx")
            .value_or(0);
    }
    void settle() { r.run_for(Duration::ms(200)); }
};

// A fresh client of pid `pid` brought into `s` with group `g`.
CpgClient in_state(One& o, State s, std::uint32_t pid, const std::string& g) {
    CpgClient c(o.r, 1, pid);
    if (s == State::unjoined)
        return c;
    REQUIRE(c.join(g) == CsError::ok);
    if (s == State::join_started) {
        REQUIRE(c.state() == State::join_started);
        return c;
    }
    o.settle();
    REQUIRE(c.state() == State::join_completed);
    if (s == State::join_completed)
        return c;
    REQUIRE(c.leave(g) == CsError::ok);
    REQUIRE(c.state() == State::leave_started);
    return c;
}

const State all_states[] = {State::unjoined, State::leave_started, State::join_started,
                            State::join_completed};

}  // namespace

TEST_CASE("cpg matrix: JOIN in each state (UNJOINED OK, LEAVE_STARTED BUSY, else EXIST)") {
    One o;
    std::uint32_t pid = 100;
    for (State s : all_states) {
        INFO("state " << to_string(s));
        ++pid;
        CpgClient c = in_state(o, s, pid, "m" + std::to_string(pid));
        const auto before = o.tx(0);
        // another group, so that the check of the same pid and group does not answer first
        const auto e = c.join("other" + std::to_string(pid));
        switch (s) {
            case State::unjoined:
                CHECK(e == CsError::ok);
                CHECK(c.state() == State::join_started);
                CHECK(o.tx(0) == before + 1);  // PROCJOIN
                break;
            case State::leave_started:
                CHECK(e == CsError::err_busy);
                CHECK(c.state() == State::leave_started);
                CHECK(o.tx(0) == before);
                break;
            case State::join_started:
            case State::join_completed:
                CHECK(e == CsError::err_exist);
                CHECK(c.state() == s);
                CHECK(o.tx(0) == before);
                break;
        }
        o.settle();
    }
}

TEST_CASE(
    "cpg matrix: LEAVE in each state (JOIN_COMPLETED OK, JOIN_STARTED BUSY, else NOT_EXIST)") {
    One o;
    std::uint32_t pid = 200;
    for (State s : all_states) {
        INFO("state " << to_string(s));
        const std::string g = "m" + std::to_string(++pid);
        CpgClient c = in_state(o, s, pid, g);
        const auto before = o.tx(1);
        const auto e = c.leave(g);
        switch (s) {
            case State::join_completed:
                CHECK(e == CsError::ok);
                CHECK(c.state() == State::leave_started);
                CHECK(o.tx(1) == before + 1);  // PROCLEAVE(LEAVE)
                break;
            case State::join_started:
                CHECK(e == CsError::err_busy);
                CHECK(c.state() == State::join_started);
                CHECK(o.tx(1) == before);
                break;
            case State::unjoined:
            case State::leave_started:
                CHECK(e == CsError::err_not_exist);
                CHECK(c.state() == s);
                CHECK(o.tx(1) == before);
                break;
        }
        o.settle();
    }
}

TEST_CASE("cpg matrix: MCAST in each state gets no reply; only the joined states send it") {
    One o;
    std::uint32_t pid = 300;
    for (State s : all_states) {
        INFO("state " << to_string(s));
        ++pid;
        CpgClient c = in_state(o, s, pid, "m" + std::to_string(pid));
        const auto before = o.tx(3);
        const auto refused = o.cpg().stats().mcast_refused;
        const auto lines = o.r.log(1).count("can't mcast to group");
        c.mcast("hello");
        CHECK_FALSE(c.response().has_value());  // never an answer
        const bool joined = s == State::join_started || s == State::join_completed;
        CHECK(o.tx(3) == before + (joined ? 1 : 0));
        CHECK(o.cpg().stats().mcast_refused == refused + (joined ? 0 : 1));
        CHECK(o.r.log(1).count("can't mcast to group") == lines + (joined ? 0 : 1));
        CHECK(c.state() == s);
        o.settle();
        // A JOIN_STARTED sender's message comes after its PROCJOIN: it sees its own message.
        const auto d = c.dispatch();
        const bool sees = joined;
        CHECK((d.delivered.size() == 1) == sees);
    }
}

TEST_CASE("cpg matrix: PARTIAL_MCAST in each state (joined: OK; else NOT_EXIST), reply 18") {
    One o;
    std::uint32_t pid = 400;
    for (State s : all_states) {
        INFO("state " << to_string(s));
        ++pid;
        CpgClient c = in_state(o, s, pid, "m" + std::to_string(pid));
        const auto before = o.tx(6);
        pc::ReqPartialMcast p;
        p.guarantee = 2;
        p.msglen = 10;
        p.type = pc::partial_first;
        p.fragment = Bytes(4, 0x61);
        c.send(pc::encode(p));
        const auto h = c.header();
        REQUIRE(h.has_value());
        CHECK(h->id == static_cast<std::int32_t>(pc::ResId::partial_send));
        CHECK(h->size == 24);
        const bool joined = s == State::join_started || s == State::join_completed;
        CHECK(h->error == (joined ? CsError::ok : CsError::err_not_exist));
        CHECK(o.tx(6) == before + (joined ? 1 : 0));
        CHECK(c.state() == s);
        o.settle();
    }
}

TEST_CASE("cpg matrix: MEMBERSHIP, LOCAL_GET, ITERATION* answer alike in every state") {
    One o;
    std::uint32_t pid = 500;
    for (State s : all_states) {
        INFO("state " << to_string(s));
        const std::string g = "m" + std::to_string(++pid);
        CpgClient c = in_state(o, s, pid, g);
        // MEMBERSHIP of its group: itself once the join was delivered (and until the leave is)
        const auto m = c.membership(g);
        const bool member = s == State::join_completed || s == State::leave_started;
        CHECK(m.size() == (member ? 1u : 0u));
        if (member)
            CHECK(m[0] == addr(1, pid, 0));
        // LOCAL_GET (id 7, 32 bytes)
        c.send(pc::encode(pc::ReqLocalGet{}));
        auto lg = c.response();
        REQUIRE(lg.has_value());
        auto l = pc::decode_res_local_get(*lg);
        REQUIRE(l.ok());
        CHECK(l->error == CsError::ok);
        CHECK(l->local_nodeid == 1u);
        // ITERATIONINITIALIZE / NEXT / FINALIZE
        c.send(pc::encode(pc::ReqIterationInitialize{g, pc::iteration_one_group}));
        auto ii = c.response();
        REQUIRE(ii.has_value());
        auto init = pc::decode_res_iterationinitialize(*ii);
        REQUIRE(init.ok());
        CHECK(init->error == CsError::ok);
        c.send(pc::encode(pc::ReqIterationNext{init->iteration_handle}));
        auto n1 = pc::decode_res_iterationnext(*c.response());
        REQUIRE(n1.ok());
        CHECK(n1->error == (member ? CsError::ok : CsError::err_no_sections));
        c.send(pc::encode(pc::ReqIterationFinalize{init->iteration_handle}));
        CHECK(c.error() == CsError::ok);
        CHECK(c.state() == s);
        o.settle();
    }
}

TEST_CASE("cpg matrix: FINALIZE in every state answers OK and ends the events") {
    One o;
    std::uint32_t pid = 600;
    for (State s : all_states) {
        INFO("state " << to_string(s));
        const std::string g = "m" + std::to_string(++pid);
        CpgClient c = in_state(o, s, pid, g);
        c.dispatch();
        c.send(pc::encode(pc::ReqFinalize{}));
        const auto h = c.header();
        REQUIRE(h.has_value());
        CHECK(h->id == static_cast<std::int32_t>(pc::ResId::finalize));
        CHECK(h->error == CsError::ok);
        // another member joins the group: the finalized connection hears nothing of it
        CpgClient other(o.r, 1, pid + 50);
        REQUIRE(other.join(g) == CsError::ok);
        o.settle();
        CHECK(c.events().empty());
        // the library then closes: a joined process is told gone to the others (PROCDOWN)
        const auto before = o.tx(1);
        c.close();
        const bool told = s == State::join_started || s == State::join_completed;
        CHECK(o.tx(1) == before + (told ? 1 : 0));
        o.settle();
        CHECK(c.state() == std::nullopt);
    }
}

TEST_CASE("cpg matrix: zero-copy requests answer NOT_SUPPORTED in every state (ids 0, 0, 2)") {
    One o;
    std::uint32_t pid = 700;
    for (State s : all_states) {
        INFO("state " << to_string(s));
        ++pid;
        CpgClient c = in_state(o, s, pid, "m" + std::to_string(pid));
        const auto sent = o.tx(3);
        c.send(pc::encode(pc::ReqZcAlloc{4096, "/dev/shm/corosync_zerocopy-abcdef"}));
        auto a = c.header();
        REQUIRE(a.has_value());
        CHECK(a->id == 0);
        CHECK(a->size == 24);
        CHECK(a->error == CsError::err_not_supported);
        c.send(pc::encode(pc::ReqZcFree{4096, 0x7f0012340000ull}));
        auto f = c.header();
        REQUIRE(f.has_value());
        CHECK(f->id == 0);
        CHECK(f->error == CsError::err_not_supported);
        c.send(pc::encode(pc::ReqZcExecute{0x7f0012340000ull}));
        auto x = c.header();
        REQUIRE(x.has_value());
        CHECK(x->id == static_cast<std::int32_t>(pc::ResId::mcast));
        CHECK(x->error == CsError::err_not_supported);
        CHECK(o.tx(3) == sent);  // nothing multicast
        CHECK(c.state() == s);
        o.settle();
    }
}

TEST_CASE("cpg join: same pid and group → EXIST; leave not yet delivered → TRY_AGAIN; name") {
    One o;
    CpgClient a(o.r, 1, 42);
    REQUIRE(a.join("g") == CsError::ok);
    o.settle();
    // (1) another connection of the same process into the same group
    CpgClient b(o.r, 1, 42);
    CHECK(b.join("g") == CsError::err_exist);
    CHECK(b.state() == State::unjoined);
    // (2) the first connection goes; its PROCLEAVE is not delivered yet: TRY_AGAIN
    a.close();
    CHECK(b.join("g") == CsError::err_try_again);
    o.settle();
    CHECK(b.join("g") == CsError::ok);
    o.settle();
    CHECK(b.state() == State::join_completed);
    // (3) a name over 128 bytes (libcpg refuses it itself; a raw client gets NAME_TOO_LONG)
    CpgClient c(o.r, 1, 43);
    Bytes raw = pc::encode(pc::ReqJoin{std::string(128, 'x'), 43, 0});
    Writer(raw).patch_u32(16, 129);
    c.send(raw);
    CHECK(c.error() == CsError::err_name_too_long);
    CHECK(c.state() == State::unjoined);
    // the same pid in another group is fine (Pacemaker's daemons join one group each)
    CpgClient d(o.r, 1, 42);
    CHECK(d.join("h") == CsError::ok);
}

TEST_CASE("cpg leave: the connection can join again once its leave is delivered (totemd)") {
    // corosync 3.1.7 keeps the connection LEAVE_STARTED for good (spec Appendix A): a second
    // join of the same group answers EXIST, another group BUSY for ever. totemd resets it.
    One o;
    CpgClient c(o.r, 1, 77);
    REQUIRE(c.join("g") == CsError::ok);
    o.settle();
    REQUIRE(c.leave("g") == CsError::ok);
    CHECK(c.join("h") == CsError::err_busy);  // until the leave is delivered: as corosync
    o.settle();
    CHECK(c.state() == State::unjoined);
    const auto d = c.dispatch();
    REQUIRE(d.confchgs.size() == 2);  // its join, then its own leave
    CHECK(d.confchgs[1].left == std::vector<proto::CpgAddress>{addr(1, 77, pc::reason_leave)});
    CHECK(d.confchgs[1].members.empty());
    CHECK(c.join("h") == CsError::ok);
    o.settle();
    CHECK(c.state() == State::join_completed);
    CHECK(c.membership("h") == std::vector<proto::CpgAddress>{addr(1, 77)});
    CHECK(c.membership("g").empty());
}

TEST_CASE("cpg flow control: corosync's REQUIRED set; during sync they get TRY_AGAIN (A1.8)") {
    using services::FlowControl;
    services::Cpg* cpg = nullptr;
    CoreRing r(2);
    cpg = &cpg_of(r.node(1));
    const FlowControl want[13] = {
        FlowControl::required,     FlowControl::required,     FlowControl::required,
        FlowControl::not_required, FlowControl::not_required, FlowControl::not_required,
        FlowControl::not_required, FlowControl::not_required, FlowControl::required,
        FlowControl::required,     FlowControl::required,     FlowControl::required,
        FlowControl::required};
    for (int id = 0; id < 13; ++id) {
        INFO("request " << id);
        CHECK(cpg->flow_control(id) == want[id]);
    }
    r.start_all();
    REQUIRE(r.run_until_synced({1, 2}));
    CpgClient c(r, 1, 9);
    REQUIRE(c.join("g") == CsError::ok);
    r.run_for(Duration::ms(200));
    r.crash(2);
    r.run_for(Duration::ms(10000), [&] { return r.node(1).sync_in_progress(); });
    REQUIRE(r.node(1).sync_in_progress());
    // REQUIRED: the admission's bare TRY_AGAIN {id 0, size 24}; MCAST: dropped, no answer
    CHECK(c.send(pc::encode(pc::ReqLeave{"g", 9})) == -ENOBUFS);
    auto h = c.header();
    REQUIRE(h.has_value());
    CHECK(h->id == 0);
    CHECK(h->error == CsError::err_try_again);
    CHECK(c.send(pc::encode(pc::ReqMcast{2, Bytes(8, 1)})) == -ENOBUFS);
    CHECK_FALSE(c.response().has_value());
    pc::ReqPartialMcast p;
    p.msglen = 8;
    p.type = pc::partial_first;
    p.fragment = Bytes(4, 1);
    CHECK(c.send(pc::encode(p)) == -ENOBUFS);
    CHECK(c.error() == CsError::err_try_again);
    // NOT_REQUIRED: answered at once
    CHECK(c.membership("g").size() == 1);
    REQUIRE(r.run_until_synced({1}));
    CHECK(c.leave("g") == CsError::ok);
}

TEST_CASE("cpg requests the codec refuses: INVALID_PARAM with that request's reply, MCAST none") {
    One o;
    CpgClient c(o.r, 1, 5);
    // a JOIN one byte short of its fixed size
    Bytes join = pc::encode(pc::ReqJoin{"g", 5, 0});
    join.resize(join.size() - 8);
    Writer(join).patch_u32(8, static_cast<std::uint32_t>(join.size()));
    c.send(join);
    auto h = c.header();
    REQUIRE(h.has_value());
    CHECK(h->id == static_cast<std::int32_t>(pc::ResId::join));
    CHECK(h->error == CsError::err_invalid_param);
    // an MCAST whose msglen disagrees with its size: dropped and counted, no answer
    REQUIRE(c.join("g") == CsError::ok);
    Bytes m = pc::encode(pc::ReqMcast{2, Bytes(16, 7)});
    Writer(m).patch_u32(32, 17);
    const auto malformed = o.cpg().stats().malformed_requests;
    c.send(m);
    CHECK_FALSE(c.response().has_value());
    CHECK(o.cpg().stats().malformed_requests == malformed + 1);
    // ITERATIONNEXT / FINALIZE of an unknown handle: CS_ERR_LIBRARY
    c.send(pc::encode(pc::ReqIterationNext{12345}));
    CHECK(c.error() == CsError::err_library);
    c.send(pc::encode(pc::ReqIterationFinalize{12345}));
    CHECK(c.error() == CsError::err_library);
    // MEMBERSHIP of a name over 128 bytes: nobody (corosync's answer)
    Bytes mg = pc::encode(pc::ReqMembershipGet{std::string(128, 'y')});
    Writer(mg).patch_u32(16, 200);
    c.send(mg);
    auto mr = c.response();
    REQUIRE(mr.has_value());
    auto mm = pc::decode_res_membership(*mr);
    REQUIRE(mm.ok());
    CHECK(mm->error == CsError::ok);
    CHECK(mm->members.empty());
}

TEST_CASE("cpg: at most iterators_max iterators per connection, NO_MEMORY beyond") {
    One o;
    CpgClient c(o.r, 1, 5);
    for (std::size_t i = 0; i < services::Cpg::iterators_max; ++i) {
        c.send(pc::encode(pc::ReqIterationInitialize{"", pc::iteration_all}));
        REQUIRE(c.error() == CsError::ok);
    }
    c.send(pc::encode(pc::ReqIterationInitialize{"", pc::iteration_all}));
    CHECK(c.error() == CsError::err_no_memory);
}

TEST_CASE("cpg flow control: OFF_2 once the Totem queue has no room for a 1 MiB message") {
    // corosync turns IPC off at 75 % of the queue. On udpu (netmtu 1500: 2796 packets of
    // ~1.4 KB) a 1 MiB MCAST admitted at 74 % finds no room and is dropped without an answer.
    // totemd turns it off as soon as the largest message no longer fits, so an admitted MCAST
    // always goes out (docs/protocol/deviations.md). On knet (64 packets of 64 KiB) 75 % is
    // exactly that point already.
    std::string text = ring_config(1);
    text.replace(text.find("transport: knet"), 15, "transport: udpu");
    One o(text);
    CpgClient c(o.r, 1, 5);
    REQUIRE(c.join("g") == CsError::ok);
    o.settle();
    auto last_limit = [&] {
        std::optional<core::RateLimit> l;
        for (const auto& x : o.r.log(1).rate_limits)
            if (x.service == 2)
                l = x.limit;
        return l;
    };
    CHECK(last_limit() == core::RateLimit::fast);
    const TotemStack& stack = o.r.node(1).stack();
    const auto sent_before = o.tx(3);
    int sent = 0;
    while (stack.room_for(std::size_t{1} << 20)) {
        REQUIRE(stack.queue_percent_used() < 75);
        c.mcast(Bytes(4096, 1));
        ++sent;
        REQUIRE(sent < 5000);
    }
    INFO("queue used " << stack.queue_percent_used() << " %, avail "
                       << stack.srp().send_queue_avail() << " of " << stack.srp().send_queue_max()
                       << ", 1 MiB needs " << stack.totempg().slots_needed(std::size_t{1} << 20));
    CHECK(stack.queue_percent_used() < 75);  // the 75 % rule alone would not have stopped it
    CHECK(last_limit() == core::RateLimit::off_2);
    CHECK(o.tx(3) == sent_before + static_cast<std::uint64_t>(sent));  // none was dropped
    CHECK(o.cpg().stats().mcast_queue_full == 0);
    // the ring drains the queue: IPC is on again
    o.r.run_for(Duration::ms(2000));
    CHECK(last_limit() == core::RateLimit::fast);
    const auto d = c.dispatch();
    CHECK(d.delivered.size() == static_cast<std::size_t>(sent));
}
