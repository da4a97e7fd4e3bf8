// libtotem against a libqb IPC server of the test's own, in a child process: what a real daemon
// does only under load or by accident, on demand — CS_ERR_TRY_AGAIN answers, libqb flow
// control (QB_IPCS_RATE_OFF_2, what corosync sets while its totem queue is full or it syncs),
// PARTIAL_MCAST fragments and partial deliveries (with the broken sequences libcpg drops),
// events the library does not know, and a server that hangs up.
#include <poll.h>
#include <qb/qbipcs.h>
#include <qb/qbloop.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <map>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "proto/cmap.hpp"
#include "proto/cpg.hpp"
#include "totem/client.hpp"

using namespace totem::client;
namespace pc = totem::proto::cpg;
namespace pm = totem::proto::cmap;
using totem::Bytes;
using totem::ByteView;

namespace {

enum class Scenario { retry, flow, partial, bad_events, disconnect };

// ------------------------------------------------------------------ the server (child side)

struct ServerState {
    Scenario scenario = Scenario::retry;
    qb_loop_t* loop = nullptr;
    qb_ipcs_service_t* service = nullptr;
    std::map<std::string, int> gets;  // per key (libqb may call connection_created late)
    // partial
    std::string group;
    Bytes assembled;
    std::vector<std::uint32_t> types;
    std::vector<std::size_t> sizes;
    int bounced = 0;
    int fragment_index = 0;
    std::set<std::string> bounced_groups;  // each is bounced once
};
ServerState g;

void send_response(qb_ipcs_connection_t* c, const Bytes& b) {
    qb_ipcs_response_send(c, b.data(), b.size());
}
void send_event(qb_ipcs_connection_t* c, const Bytes& b) {
    qb_ipcs_event_send(c, b.data(), b.size());
}
void send_try_again(qb_ipcs_connection_t* c) {
    send_response(c, totem::proto::encode(totem::proto::ErrorResponse{}));  // {0, 24, TRY_AGAIN}
}

// A bare 24-byte header with an id no CPG event has (99): ResJoin's bytes with another id.
Bytes unknown_event() {
    Bytes b = pc::encode(pc::ResJoin{});
    b[0] = 99;
    return b;
}

int32_t on_accept(qb_ipcs_connection_t*, uid_t, gid_t) {
    return 0;
}

void release_flow_control(void*) {
    qb_ipcs_request_rate_limit(g.service, QB_IPCS_RATE_NORMAL);
}

void on_created(qb_ipcs_connection_t*) {}

// What corosync does at TOTEM_Q_LEVEL_CRITICAL or during sync: flow control level 2 (it stops
// MCAST, sent under fc_enable_max 2, not the other requests), lifted after 300 ms.
void hold_flow_control() {
    qb_ipcs_request_rate_limit(g.service, QB_IPCS_RATE_OFF_2);
    qb_loop_timer_handle t;
    qb_loop_timer_add(g.loop, QB_LOOP_HIGH, 300ull * 1000 * 1000, nullptr, release_flow_control,
                      &t);
}

void partial_events(qb_ipcs_connection_t* c) {
    auto frag = [&](std::uint32_t nodeid, std::uint32_t pid, std::uint32_t type,
                    std::uint32_t msglen, Bytes bytes) {
        pc::ResPartialDeliverCallback e;
        e.group_name = g.group;
        e.nodeid = nodeid;
        e.pid = pid;
        e.type = type;
        e.msglen = msglen;
        e.fragment = std::move(bytes);
        send_event(c, pc::encode(e));
    };
    // A CONTINUED without its FIRST (we "joined" mid-message): dropped.
    frag(9, 99, pc::partial_continued, 10, Bytes(5, 1));
    // More bytes than announced: dropped, never an overflow.
    frag(8, 88, pc::partial_first, 10, Bytes(6, 2));
    frag(8, 88, pc::partial_last, 10, Bytes(6, 2));
    // The sender leaves while its message is half there: the pieces are dropped.
    frag(7, 77, pc::partial_first, 10, Bytes(5, 3));
    pc::ResConfchgCallback cc;
    cc.group_name = g.group;
    cc.left = {totem::proto::CpgAddress{7, 77, pc::reason_procdown}};
    send_event(c, pc::encode(cc));
    frag(7, 77, pc::partial_last, 10, Bytes(5, 3));
    // The first 300 000 bytes of the message as a message of their own, cut otherwise than
    // they came: delivered once, whole. (A libqb event ring holds 1 MiB: the test's server
    // has no out-queue, so it sends less than that at once.)
    const std::size_t n = std::min<std::size_t>(g.assembled.size(), 300000);
    const std::size_t a = 1, b = (n - 1) / 2;
    frag(42, 1, pc::partial_first, static_cast<std::uint32_t>(n),
         Bytes(g.assembled.begin(), g.assembled.begin() + a));
    frag(42, 1, pc::partial_continued, static_cast<std::uint32_t>(n),
         Bytes(g.assembled.begin() + a, g.assembled.begin() + a + b));
    frag(42, 1, pc::partial_last, static_cast<std::uint32_t>(n),
         Bytes(g.assembled.begin() + a + b, g.assembled.begin() + n));
    // What the server saw, as a plain delivery.
    std::string summary = "types:";
    for (auto t : g.types)
        summary += std::to_string(t) + ",";
    summary += " sizes:";
    for (auto s : g.sizes)
        summary += std::to_string(s) + ",";
    summary += " bounced:" + std::to_string(g.bounced);
    pc::ResDeliverCallback d;
    d.group_name = g.group;
    d.nodeid = 42;
    d.pid = 2;
    d.message.assign(summary.begin(), summary.end());
    send_event(c, pc::encode(d));
}

int32_t on_msg(qb_ipcs_connection_t* c, void* data, size_t size) {
    const ByteView m(static_cast<const std::uint8_t*>(data), size);
    auto h = totem::proto::peek_request(m);
    if (!h)
        return 0;
    switch (g.scenario) {
        case Scenario::retry:
            if (h->id == static_cast<int32_t>(pm::ReqId::set_current_map)) {
                send_response(c, pm::encode(pm::ResSetCurrentMap{}));
            } else if (h->id == static_cast<int32_t>(pm::ReqId::get)) {
                auto req = pm::decode_req_get(m);
                const std::string key = req ? req->key_name : "";
                const int n = ++g.gets[key];
                if (key == "never" || n <= 2) {
                    send_try_again(c);
                    break;
                }
                pm::ResGet r;
                r.value_len = 4;
                r.type = static_cast<std::uint8_t>(pm::ValueType::uint32);
                const std::uint32_t v = static_cast<std::uint32_t>(n);
                r.value.assign(reinterpret_cast<const std::uint8_t*>(&v),
                               reinterpret_cast<const std::uint8_t*>(&v) + 4);
                r.buffer_len = req ? std::max<std::uint64_t>(req->value_len, 4) : 4;
                send_response(c, pm::encode(r));
            }
            break;
        case Scenario::flow:
            if (h->id == static_cast<int32_t>(pc::ReqId::local_get)) {
                // Flow control first, then the answer: once the client has it, fc is on.
                hold_flow_control();
                send_response(c, pc::encode(pc::ResLocalGet{totem::proto::CsError::ok, 42}));
            } else if (h->id == static_cast<int32_t>(pc::ReqId::mcast)) {
                auto req = pc::decode_req_mcast(m);
                pc::ResDeliverCallback d;
                d.group_name = "g";
                d.nodeid = 42;
                d.pid = 7;
                if (req)
                    d.message = req->message;
                send_event(c, pc::encode(d));
            } else if (h->id == static_cast<int32_t>(pc::ReqId::finalize)) {
                send_response(c, pc::encode(pc::ResFinalize{}));
            }
            break;
        case Scenario::partial:
            if (h->id == static_cast<int32_t>(pc::ReqId::join)) {
                auto req = pc::decode_req_join(m);
                g.group = req ? req->group_name : "";
                send_response(c, pc::encode(pc::ResJoin{}));
            } else if (h->id == static_cast<int32_t>(pc::ReqId::partial_mcast)) {
                auto req = pc::decode_req_partial_mcast(m);
                if (!req)
                    break;
                if (req->type == pc::partial_first) {
                    g.assembled.clear();
                    g.types.clear();
                    g.sizes.clear();
                    g.fragment_index = 0;
                }
                // "bounce-first" / "bounce-second": that fragment is answered TRY_AGAIN, once.
                const int bounce_at = g.group == "bounce-first"    ? 0
                                      : g.group == "bounce-second" ? 1
                                                                   : -1;
                if (g.fragment_index == bounce_at && !g.bounced_groups.count(g.group)) {
                    g.bounced_groups.insert(g.group);
                    ++g.bounced;
                    send_try_again(c);
                    break;
                }
                ++g.fragment_index;
                g.types.push_back(req->type);
                g.sizes.push_back(req->fragment.size());
                g.assembled.insert(g.assembled.end(), req->fragment.begin(), req->fragment.end());
                send_response(c, pc::encode(pc::ResPartialSend{}));
                if (req->type == pc::partial_last && g.assembled.size() == req->msglen)
                    partial_events(c);
            } else if (h->id == static_cast<int32_t>(pc::ReqId::finalize)) {
                send_response(c, pc::encode(pc::ResFinalize{}));
            }
            break;
        case Scenario::bad_events:
            if (h->id == static_cast<int32_t>(pc::ReqId::join)) {
                send_response(c, pc::encode(pc::ResJoin{}));
                // An event id cpg_dispatch does not know (a bare 24-byte header, id 99).
                send_event(c, unknown_event());
                // A DELIVER too short for its fixed part.
                Bytes shortd = pc::encode(pc::ResDeliverCallback{});
                shortd.resize(100);
                shortd[8] = 100;
                shortd[9] = 0;
                send_event(c, shortd);
            } else if (h->id == static_cast<int32_t>(pc::ReqId::finalize)) {
                send_response(c, pc::encode(pc::ResFinalize{}));
            }
            break;
        case Scenario::disconnect:
            qb_ipcs_disconnect(c);  // hang up instead of answering
            break;
    }
    return 0;
}

int32_t on_closed(qb_ipcs_connection_t*) {
    return 0;
}
void on_destroyed(qb_ipcs_connection_t*) {}

int32_t job_add(enum qb_loop_priority p, void* data, qb_loop_job_dispatch_fn fn) {
    return qb_loop_job_add(g.loop, p, data, fn);
}
int32_t dispatch_add(enum qb_loop_priority p, int32_t fd, int32_t evts, void* data,
                     qb_ipcs_dispatch_fn_t fn) {
    return qb_loop_poll_add(g.loop, p, fd, evts, data, fn);
}
int32_t dispatch_mod(enum qb_loop_priority p, int32_t fd, int32_t evts, void* data,
                     qb_ipcs_dispatch_fn_t fn) {
    return qb_loop_poll_mod(g.loop, p, fd, evts, data, fn);
}
int32_t dispatch_del(int32_t fd) {
    return qb_loop_poll_del(g.loop, fd);
}

[[noreturn]] void serve(const std::string& name, Scenario s, int ready_fd) {
    // The child is a copy of the Catch2 process: its signal handlers would report a failure.
    for (int sig : {SIGTERM, SIGINT, SIGSEGV, SIGABRT, SIGFPE, SIGILL})
        signal(sig, SIG_DFL);
    g.scenario = s;
    g.loop = qb_loop_create();
    qb_ipcs_service_handlers handlers{};
    handlers.connection_accept = on_accept;
    handlers.connection_created = on_created;
    handlers.msg_process = on_msg;
    handlers.connection_closed = on_closed;
    handlers.connection_destroyed = on_destroyed;
    g.service = qb_ipcs_create(name.c_str(), 0, QB_IPC_SHM, &handlers);
    qb_ipcs_poll_handlers ph{};
    ph.job_add = job_add;
    ph.dispatch_add = dispatch_add;
    ph.dispatch_mod = dispatch_mod;
    ph.dispatch_del = dispatch_del;
    qb_ipcs_poll_handlers_set(g.service, &ph);
    if (qb_ipcs_run(g.service) != 0)
        _exit(3);
    (void)!write(ready_fd, "r", 1);
    close(ready_fd);
    qb_loop_run(g.loop);
    _exit(0);
}

// --------------------------------------------------------------- the server (test side)

class FakeServer {
  public:
    explicit FakeServer(Scenario s)
        : name_("totem-libtest-" + std::to_string(getpid()) + "-" +
                std::to_string(static_cast<int>(s))) {
        int p[2];
        REQUIRE(pipe(p) == 0);
        pid_ = fork();
        REQUIRE(pid_ >= 0);
        if (pid_ == 0) {
            close(p[0]);
            serve(name_, s, p[1]);
        }
        close(p[1]);
        pollfd pf{p[0], POLLIN, 0};
        REQUIRE(poll(&pf, 1, 5000) == 1);  // bounded: the server is up within 5 s
        char c = 0;
        REQUIRE(read(p[0], &c, 1) == 1);
        close(p[0]);
    }
    ~FakeServer() {
        kill(pid_, SIGTERM);
        for (int i = 0; i < 200; ++i) {
            if (waitpid(pid_, nullptr, WNOHANG) == pid_)
                return;
            usleep(10000);
        }
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
    }
    const std::string& name() const { return name_; }

  private:
    std::string name_;
    pid_t pid_ = -1;
};

using Clock = std::chrono::steady_clock;

long ms_since(Clock::time_point t) {
    return static_cast<long>(
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count());
}

// Dispatches until `done()` (at most 3 s).
template <typename H, typename F>
void pump(H& h, F done) {
    const auto t0 = Clock::now();
    while (!done() && ms_since(t0) < 3000) {
        pollfd p{h.fd(), POLLIN, 0};
        if (poll(&p, 1, 50) > 0)
            REQUIRE(h.dispatch());
    }
}

}  // namespace

TEST_CASE("CS_ERR_TRY_AGAIN: a blocking handle retries, a non-blocking one returns it") {
    FakeServer server(Scenario::retry);
    Cmap::Options o;
    o.ipc_name = server.name();
    {
        auto cmap = Cmap::connect(o);
        REQUIRE(cmap);
        // Two TRY_AGAIN answers, then the value: the number of GETs the server saw.
        auto v = cmap->get_u32("blocking");
        REQUIRE(v);
        CHECK(*v == 3);
    }
    o.nonblocking = true;
    {
        auto cmap = Cmap::connect(o);
        REQUIRE(cmap);
        auto first = cmap->get_u32("nonblocking");
        REQUIRE_FALSE(first);
        CHECK(first.error() == Errc::try_again);
        CHECK(first.error() == std::errc::operation_would_block);
        CHECK_FALSE(cmap->get_u32("nonblocking"));
        CHECK(cmap->get_u32("nonblocking").value_or(0) == 3);
    }
    o.nonblocking = false;
    o.try_again_timeout = std::chrono::milliseconds(80);
    {
        // A daemon that never stops saying TRY_AGAIN: the wait is bounded.
        auto cmap = Cmap::connect(o);
        REQUIRE(cmap);
        const auto t0 = Clock::now();
        auto v = cmap->get_u32("never");
        const long ms = ms_since(t0);
        REQUIRE_FALSE(v);
        CHECK(v.error() == Errc::try_again);
        CHECK(ms >= 80);
        CHECK(ms < 1000);
    }
}

TEST_CASE("Flow control (QB_IPCS_RATE_OFF_2): MCAST would block, requests go on") {
    FakeServer server(Scenario::flow);
    {
        Cpg::Options o;
        o.ipc_name = server.name();
        o.nonblocking = true;
        auto cpg = Cpg::connect(o);
        REQUIRE(cpg);
        // The server answers LOCAL_GET, having set flow control level 2 for 300 ms.
        CHECK(cpg->local_nodeid().value_or(0) == 42);
        // fc_enable_max 2 for MCAST (as libcpg): refused before anything is sent.
        const auto t0 = Clock::now();
        Status s = cpg->mcast(std::string_view("early"));
        REQUIRE_FALSE(s);
        CHECK(s.error() == std::errc::operation_would_block);
        CHECK(ms_since(t0) < 100);
        usleep(400 * 1000);
        REQUIRE(cpg->mcast(std::string_view("late")));
        std::vector<std::string> got;
        cpg->on_deliver([&](const Cpg::Message& m) {
            got.emplace_back(reinterpret_cast<const char*>(m.data.data()), m.data.size());
        });
        pump(*cpg, [&] { return !got.empty(); });
        CHECK(got == std::vector<std::string>{"late"});  // "early" was never sent
    }
    {
        Cpg::Options o;
        o.ipc_name = server.name();
        auto cpg = Cpg::connect(o);  // blocking
        REQUIRE(cpg);
        CHECK(cpg->local_nodeid().value_or(0) == 42);  // flow control held again
        const auto t0 = Clock::now();
        REQUIRE(cpg->mcast(std::string_view("waited")));
        const long ms = ms_since(t0);
        CHECK(ms >= 200);
        CHECK(ms < 2000);
        std::vector<std::string> got;
        cpg->on_deliver([&](const Cpg::Message& m) {
            got.emplace_back(reinterpret_cast<const char*>(m.data.data()), m.data.size());
        });
        pump(*cpg, [&] { return !got.empty(); });
        CHECK(got == std::vector<std::string>{"waited"});
    }
}

namespace {
Bytes patterned(std::size_t n) {
    Bytes b(n);
    for (std::size_t i = 0; i < n; ++i)
        b[i] = static_cast<std::uint8_t>((i * 131) >> 3);
    return b;
}
}  // namespace

TEST_CASE("A large message: libcpg's fragments out, partial deliveries reassembled in") {
    FakeServer server(Scenario::partial);
    for (const char* group : {"plain", "bounce-second"}) {
        DYNAMIC_SECTION(group) {
            Cpg::Options o;
            o.ipc_name = server.name();
            o.nonblocking = std::string(group) == "bounce-second";  // the rest is sent anyway
            auto cpg = Cpg::connect(o);
            REQUIRE(cpg);
            std::vector<Bytes> got;
            std::vector<std::pair<std::uint32_t, std::uint32_t>> from;
            std::vector<Cpg::ConfChg> confchgs;
            cpg->on_deliver([&](const Cpg::Message& m) {
                got.emplace_back(m.data.begin(), m.data.end());
                from.emplace_back(m.nodeid, m.pid);
            });
            cpg->on_confchg([&](const Cpg::ConfChg& c) { confchgs.push_back(c); });
            REQUIRE(cpg->join(group));
            const Bytes msg = patterned(3 * Cpg::max_atomic_msgsize() + 5);
            REQUIRE(cpg->mcast(msg));
            pump(*cpg, [&] { return got.size() >= 2; });
            REQUIRE(got.size() == 2);
            // The broken sequences were dropped; the message came back whole, once.
            CHECK(from[0] == std::make_pair(42u, 1u));
            CHECK(got[0] == Bytes(msg.begin(), msg.begin() + 300000));
            REQUIRE(confchgs.size() == 1);
            CHECK(confchgs[0].left.size() == 1);
            // The server saw libcpg's split: three full fragments and the rest.
            const std::string summary(got[1].begin(), got[1].end());
            const std::string max = std::to_string(Cpg::max_atomic_msgsize());
            CHECK(summary.find("types:1,2,2,3, sizes:" + max + "," + max + "," + max + ",5,") == 0);
            if (std::string(group) == "bounce-second")
                CHECK(summary.find("bounced:1") != std::string::npos);
        }
    }
    {
        // Non-blocking: a TRY_AGAIN for the first fragment gives up before anything is out.
        Cpg::Options o;
        o.ipc_name = server.name();
        o.nonblocking = true;
        auto cpg = Cpg::connect(o);
        REQUIRE(cpg);
        REQUIRE(cpg->join("bounce-first"));
        Status s = cpg->mcast(patterned(Cpg::max_atomic_msgsize() + 1));
        INFO(s.error().message());
        REQUIRE_FALSE(s);
        CHECK(s.error() == std::errc::operation_would_block);
        // Sent again, it goes: the server bounces a group's fragment once. (A moment later:
        // libqb frees a request's 1 MiB in the ring only after the server's handler returns, so
        // a non-blocking send right behind it can find the ring full, also CS_ERR_TRY_AGAIN.)
        usleep(50 * 1000);
        std::vector<Bytes> got;
        cpg->on_deliver(
            [&](const Cpg::Message& m) { got.emplace_back(m.data.begin(), m.data.end()); });
        Status again = cpg->mcast(patterned(Cpg::max_atomic_msgsize() + 1));
        INFO(again.error().message());
        REQUIRE(again);
        pump(*cpg, [&] { return got.size() >= 2; });
        REQUIRE(got.size() == 2);
        const Bytes sent = patterned(Cpg::max_atomic_msgsize() + 1);
        CHECK(got[0] == Bytes(sent.begin(), sent.begin() + 300000));
    }
}

TEST_CASE("Events the library cannot use fail dispatch with a named error") {
    FakeServer server(Scenario::bad_events);
    Cpg::Options o;
    o.ipc_name = server.name();
    auto cpg = Cpg::connect(o);
    REQUIRE(cpg);
    REQUIRE(cpg->join("g"));
    pollfd p{cpg->fd(), POLLIN, 0};
    REQUIRE(poll(&p, 1, 3000) == 1);
    auto unknown = cpg->dispatch(Dispatch::one);
    REQUIRE_FALSE(unknown);
    CHECK(unknown.error() == Errc::library);  // as cpg_dispatch: an id it does not know
    auto truncated = cpg->dispatch(Dispatch::one);
    REQUIRE_FALSE(truncated);
    CHECK(truncated.error() == Errc::message_error);
    auto none = cpg->dispatch(Dispatch::one_nonblocking);
    REQUIRE_FALSE(none);
    CHECK(none.error() == Errc::try_again);
    CHECK(cpg->dispatch(Dispatch::all).value_or(99) == 0);
}

TEST_CASE("A server that hangs up: the call fails, it does not hang") {
    FakeServer server(Scenario::disconnect);
    Cpg::Options o;
    o.ipc_name = server.name();
    auto cpg = Cpg::connect(o);
    REQUIRE(cpg);
    const auto t0 = Clock::now();
    auto id = cpg->local_nodeid();
    REQUIRE_FALSE(id);
    CHECK(id.error() == Errc::library);
    CHECK(ms_since(t0) < 3000);
    auto d = cpg->dispatch(Dispatch::all);
    CHECK_FALSE(d);
}

TEST_CASE("No server: connect fails with CS_ERR_LIBRARY, as corosync's libraries") {
    ConnectOptions o;
    o.ipc_name = "totem-libtest-nobody-" + std::to_string(getpid());
    auto cfg = Cfg::connect(o);
    REQUIRE_FALSE(cfg);
    CHECK(cfg.error() == Errc::library);
    CHECK(cfg.error().value() == 2);
}
