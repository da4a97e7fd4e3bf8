// Server against libqb's own client API (qb_ipcc_*), both on the test's one thread: the server on
// the Loop's io_context, the client driven without blocking calls. services-and-ipc.md A1.
#include <malloc.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <string>
#include <vector>

#include "engine/ipc/server.hpp"
#include "ipc_test_util.hpp"

using namespace totem;
using namespace totem::ipc;
using namespace totem::ipc::test;

namespace {

struct Fixture {
    explicit Fixture(Options o = {}) {
        o.log = [this](LogLevel l, std::string_view s) {
            if (l <= LogLevel::info)  // debug lines are not checked (and would pile up)
                logs.emplace_back(l, std::string(s));
        };
        server = std::make_unique<Server>(loop.io, rec, std::move(o));
        rec.server = server.get();
    }
    std::string add(std::uint16_t id, const std::string& tag) {
        std::string name = unique_name(tag);
        auto r = server->add_service(id, name);
        REQUIRE(r.ok());
        return name;
    }
    bool logged(LogLevel level, const std::string& needle) const {
        for (const auto& [l, s] : logs)
            if (l == level && s.find(needle) != std::string::npos)
                return true;
        return false;
    }
    Loop loop;
    Recorder rec;
    std::vector<std::pair<LogLevel, std::string>> logs;
    std::unique_ptr<Server> server;
};

std::string my_comm() {
    std::ifstream f("/proc/self/comm");
    std::string s;
    std::getline(f, s);
    return s;
}

// A request whose payload is a sequence number, as text.
Bytes numbered(std::int32_t id, int n) {
    return request(id, text(std::to_string(n)));
}

}  // namespace

TEST_CASE("procname_from_stat reads the name as corosync's pid_to_name does", "[ipc]") {
    CHECK(procname_from_stat("1234 (pacemakerd) S 1 1234 1234 0 -1").value() == "pacemakerd");
    CHECK(procname_from_stat("7 (a (b) c) R 1").value() == "b) c");  // last '(' to last ')'
    CHECK(procname_from_stat("7 (" + std::string(40, 'x') + ") R").value() == std::string(31, 'x'));
    CHECK_FALSE(procname_from_stat("7 noparen R").has_value());
    CHECK_FALSE(procname_from_stat("7 (name)R").has_value());  // ')' must be followed by ' '
    CHECK_FALSE(procname_from_stat("7 (name)").has_value());
}

TEST_CASE("a request gets its response; the connection carries the client's credentials", "[ipc]") {
    auto type = GENERATE(as<std::string>{}, "native", "shm", "socket", "bogus (native)");
    INFO("qb_ipc_type " << type);
    Options o;
    o.type = type == "bogus (native)" ? "bogus" : type;
    Fixture f(o);
    std::string name = f.add(7, "rr");
    Client c;
    REQUIRE(c.connect(f.loop, name) == 0);
    REQUIRE(f.rec.connected.size() == 1);
    const ConnInfo& info = f.rec.connected[0];
    CHECK(info.id != 0);
    CHECK(info.service == 7);
    CHECK(info.pid == ::getpid());
    CHECK(info.uid == ::geteuid());
    CHECK(info.gid == ::getegid());
    CHECK(info.procname == my_comm());
    CHECK(info.qb_ptr != 0);
    CHECK(f.rec.accepted_services == std::vector<std::uint16_t>{7});
    REQUIRE(f.server->connections().size() == 1);
    CHECK(f.server->connections()[0].id == info.id);
    CHECK(f.server->global_stats().active == 1);

    Bytes req = request(42, text("ping"));
    REQUIRE(c.send(req) == static_cast<ssize_t>(req.size()));
    Bytes resp;
    REQUIRE(c.recv(f.loop, resp) == 28);
    CHECK(header_i32(resp, 0) == 42);
    CHECK(header_i32(resp, 8) == 28);
    CHECK(header_i32(resp, 16) == 1);
    CHECK(std::string(resp.begin() + 24, resp.end()) == "ping");
    REQUIRE(f.rec.requests.size() == 1);
    CHECK(f.rec.requests[0].first == info.id);
    CHECK(f.rec.requests[0].second == req);

    auto st = f.server->stats(info.id);
    REQUIRE(st);
    CHECK(st->client_pid == ::getpid());
    CHECK(st->requests == 1);
    CHECK(st->responses == 1);

    c.disconnect();
    REQUIRE(f.loop.run_until([&] { return f.rec.closed.size() == 1; }));
    CHECK(f.rec.closed[0] == info.id);
    CHECK(f.server->connections().empty());
    CHECK_FALSE(f.server->stats(info.id));
    CHECK(f.server->global_stats().active == 0);
    CHECK(f.server->global_stats().closed == 1);
}

TEST_CASE("SHM is what native means on Linux: three rings of the size the client asked for",
          "[ipc]") {
    Fixture f;
    std::string name = f.add(1, "shm");
    int dirs = count_shm_dirs();
    Client c;
    REQUIRE(c.connect(f.loop, name, 20000) == 0);
    CHECK(qb_ipcc_get_buffer_size(c.raw()) == 20000);  // granted = max(asked, 0)
    // /dev/shm/qb-<server pid>-<client pid>-<fd>-XXXXXX/qb-{request,response,event}-<name>-*
    REQUIRE(count_shm_dirs() == dirs + 1);
    std::string prefix = "qb-" + std::to_string(::getpid()) + "-" + std::to_string(::getpid());
    std::vector<std::string> files;
    DIR* shm = ::opendir("/dev/shm");
    REQUIRE(shm);
    while (dirent* e = ::readdir(shm)) {
        if (std::string(e->d_name).rfind(prefix, 0) != 0)
            continue;
        std::string dir = std::string("/dev/shm/") + e->d_name;
        DIR* d = ::opendir(dir.c_str());
        REQUIRE(d);
        while (dirent* x = ::readdir(d))
            if (x->d_name[0] != '.')
                files.emplace_back(x->d_name);
        ::closedir(d);
    }
    ::closedir(shm);
    std::sort(files.begin(), files.end());
    std::vector<std::string> want;
    for (const char* ring : {"event", "request", "response"})
        for (const char* part : {"data", "header"})
            want.push_back(std::string("qb-") + ring + "-" + name + "-" + part);
    CHECK(files == want);
    c.disconnect();
    REQUIRE(f.loop.run_until([&] { return f.rec.closed.size() == 1; }));
    CHECK(count_shm_dirs() == dirs);
}

TEST_CASE("the handler's refusal is what the client's connect returns", "[ipc]") {
    Fixture f;
    std::string name = f.add(3, "acc");
    int fds = count_open_fds();
    for (int refusal : {-EACCES, -EAGAIN, -ENOSYS}) {
        INFO("refusal " << refusal);
        f.rec.accept_result = refusal;
        Client c;
        CHECK(c.connect(f.loop, name) == refusal);
        CHECK_FALSE(c.connected());
    }
    CHECK(f.rec.accepted_services.size() == 3);
    CHECK(f.rec.connected.empty());
    CHECK(f.rec.closed.empty());
    CHECK(f.server->connections().empty());
    f.loop.run_for(std::chrono::milliseconds(5));
    CHECK(count_open_fds() == fds);

    f.rec.accept_result = 0;
    Client ok;
    CHECK(ok.connect(f.loop, name) == 0);
    CHECK(f.rec.connected.size() == 1);
}

TEST_CASE("add_service refuses duplicates and a name another server listens on", "[ipc]") {
    Fixture f;
    std::string name = f.add(0, "dup");
    auto same_id = f.server->add_service(0, unique_name("dup2"));
    REQUIRE_FALSE(same_id.ok());
    CHECK(same_id.error().find("already registered") != std::string::npos);
    auto same_name = f.server->add_service(1, name);
    REQUIRE_FALSE(same_name.ok());
    CHECK_FALSE(f.server->add_service(2, "").ok());
    CHECK_FALSE(f.server->add_service(2, "a/b").ok());
    CHECK_FALSE(f.server->add_service(2, std::string(65, 'n')).ok());

    Recorder other_rec;
    Server other(f.loop.io, other_rec, Options{});
    auto taken = other.add_service(0, name);
    REQUIRE_FALSE(taken.ok());
    CHECK(taken.error().find("Address already in use") != std::string::npos);
    // Both servers still work.
    REQUIRE(other.add_service(0, unique_name("dup3")).ok());
    Client c;
    REQUIRE(c.connect(f.loop, name) == 0);
}

TEST_CASE("events arrive in order through the out-queue while the ring is full", "[ipc]") {
    Fixture f;
    std::string name = f.add(2, "ev");
    Client c;
    REQUIRE(c.connect(f.loop, name) == 0);  // a 16 KiB buffer: a dozen 1 KiB events fill it
    ConnId id = f.rec.last_id();
    constexpr int kEvents = 300;
    int sent = 0, queued = 0;
    for (int i = 0; i < kEvents; ++i) {
        Bytes ev = response(9, 1, Bytes(1000, 0));
        std::string n = std::to_string(i);
        std::copy(n.begin(), n.end(), ev.begin() + 24);
        EventResult r = f.server->send_event(id, ev);
        REQUIRE((r == EventResult::sent || r == EventResult::queued));
        (r == EventResult::sent ? sent : queued)++;
        if (r == EventResult::queued)
            CHECK(queued + sent == i + 1);
    }
    // Once one was queued, every later one queued behind it.
    CHECK(sent > 0);
    CHECK(queued > 0);
    CHECK(sent + queued == kEvents);
    auto st = f.server->stats(id);
    REQUIRE(st);
    CHECK(st->queueing == 1);
    CHECK(st->queued == static_cast<std::uint32_t>(queued));
    CHECK(st->queued_bytes == static_cast<std::size_t>(queued) * 1024);
    CHECK(st->event_q_length > 0);

    std::vector<int> got;
    while (static_cast<int>(got.size()) < kEvents) {
        Bytes ev;
        ssize_t n = c.event(f.loop, ev);
        REQUIRE(n == 1024);
        CHECK(header_i32(ev, 0) == 9);
        got.push_back(std::stoi(std::string(ev.begin() + 24, ev.begin() + 28)));
    }
    for (int i = 0; i < kEvents; ++i)
        REQUIRE(got[i] == i);
    REQUIRE(f.loop.run_until([&] { return f.server->stats(id)->queueing == 0; }));
    st = f.server->stats(id);
    CHECK(st->queued == 0);
    CHECK(st->queued_bytes == 0);
    CHECK(st->queued_bytes_peak >= static_cast<std::size_t>(queued) * 1024);
    CHECK(st->events == kEvents);  // libqb's count of events written to the ring
    CHECK(st->send_retries > 0);   // libqb counted the -EAGAINs
    CHECK(st->events_dropped == 0);
    CHECK(f.logged(LogLevel::info, "Q empty"));
    // Nothing more is queued once the queue drained.
    CHECK(f.server->send_event(id, response(9, 1)) == EventResult::sent);
}

TEST_CASE("a client that does not read its events is cut off at the cap; others go on", "[ipc]") {
    Options o;
    o.event_queue_max_bytes = 64 * 1024;
    Fixture f(o);
    std::string name = f.add(2, "cap");
    Client stuck, good;
    REQUIRE(stuck.connect(f.loop, name) == 0);
    ConnId stuck_id = f.rec.last_id();
    REQUIRE(good.connect(f.loop, name) == 0);
    ConnId good_id = f.rec.last_id();

    Bytes ev = response(9, 1, Bytes(1000, 0xab));
    int queued = 0;
    EventResult r = EventResult::sent;
    int i = 0;
    for (; i < 1000 && r != EventResult::disconnecting; ++i) {
        r = f.server->send_event(stuck_id, ev);
        if (r == EventResult::queued)
            ++queued;
        // The other client gets its events and reads them as it goes.
        REQUIRE(f.server->send_event(good_id, ev) == EventResult::sent);
        Bytes got;
        REQUIRE(good.event(f.loop, got) == 1024);
    }
    REQUIRE(r == EventResult::disconnecting);
    CHECK(queued == 64);  // 64 × 1024 bytes fit under the cap, the 65th does not
    auto st = f.server->stats(stuck_id);
    REQUIRE(st);
    CHECK(st->overflow_disconnect);
    CHECK(st->queued_bytes == 0);  // dropped with the decision
    CHECK(st->events_dropped == static_cast<std::uint64_t>(queued) + 1);
    CHECK(f.server->global_stats().overflow_disconnects == 1);
    CHECK(f.logged(LogLevel::error, "pid " + std::to_string(::getpid()) + " (" + my_comm() +
                                        ") on service " + name + " [2]"));
    CHECK(f.server->send_event(stuck_id, ev) == EventResult::disconnecting);
    CHECK_FALSE(f.server->respond(stuck_id, response(1, 1)));

    REQUIRE(f.loop.run_until([&] { return f.rec.is_closed(stuck_id); }));
    CHECK_FALSE(f.rec.is_closed(good_id));
    CHECK(f.server->send_event(stuck_id, ev) == EventResult::no_connection);
    // The stuck client finds itself disconnected.
    REQUIRE(f.loop.run_until([&] { return qb_ipcc_is_connected(stuck.raw()) == 0; }));

    // The other one still works both ways.
    Bytes req = request(5, text("still"));
    REQUIRE(good.send(req) == static_cast<ssize_t>(req.size()));
    Bytes resp;
    REQUIRE(good.recv(f.loop, resp) == 29);
    CHECK(f.server->send_event(good_id, ev) == EventResult::sent);
    CHECK(f.server->global_stats().active == 1);
}

TEST_CASE("a client that sends requests while its queue grows is cut off only at 8 times the cap",
          "[ipc]") {
    Options o;
    o.event_queue_max_bytes = 64 * 1024;
    Fixture f(o);
    std::string name = f.add(2, "busy");
    Client busy;
    REQUIRE(busy.connect(f.loop, name) == 0);
    ConnId id = f.rec.last_id();

    Bytes ev = response(9, 1, Bytes(1000, 0xab));
    // Fill its event ring until the server queues.
    EventResult r = EventResult::sent;
    for (int i = 0; i < 100000 && r == EventResult::sent; ++i)
        r = f.server->send_event(id, ev);
    REQUIRE(r == EventResult::queued);
    int queued = 1;
    // It is busy sending (as libcpg in the PARTIAL_MCASTs of a large message), reading no event.
    Bytes req = request(5, text("busy"));
    REQUIRE(busy.send(req) == static_cast<ssize_t>(req.size()));
    Bytes resp;
    REQUIRE(busy.recv(f.loop, resp) == 28);
    for (int i = 0; i < 1000 && r != EventResult::disconnecting; ++i) {
        r = f.server->send_event(id, ev);
        if (r == EventResult::queued)
            ++queued;
    }
    REQUIRE(r == EventResult::disconnecting);
    CHECK(queued == 8 * 64);  // kEventQueueSendingFactor × the cap, in events of 1024 bytes
    auto st = f.server->stats(id);
    REQUIRE(st);
    CHECK(st->overflow_disconnect);
    CHECK(f.logged(LogLevel::error, "would pass the limit of 524288 bytes"));
}

TEST_CASE("rate limits: RATE_OFF and RATE_OFF_2 hold requests back, RATE_FAST releases them",
          "[ipc]") {
    Fixture f;
    std::string name = f.add(2, "rl");
    Client c;
    REQUIRE(c.connect(f.loop, name) == 0);
    ConnId id = f.rec.last_id();
    Bytes req = request(1, text("x"));
    Bytes resp;

    SECTION("RATE_OFF: the client's send says EAGAIN") {
        f.server->rate_limit(2, RateLimit::off);
        CHECK(c.send(req) == -EAGAIN);
        CHECK(f.server->stats(id)->flow_control_state == 1);
        f.server->rate_limit(2, RateLimit::fast);
        CHECK(f.server->stats(id)->flow_control_state == 0);
        REQUIRE(c.send(req) == static_cast<ssize_t>(req.size()));
        REQUIRE(c.recv(f.loop, resp) == 25);
    }
    SECTION(
        "RATE_OFF_2: EAGAIN for a client with fc_enable_max 2 (libcpg's mcast), held for the "
        "rest") {
        f.server->rate_limit(2, RateLimit::off_2);
        CHECK(f.server->stats(id)->flow_control_state == 2);
        // fc_enable_max 1 (the default): the request goes, and waits unprocessed.
        REQUIRE(c.send(req) == static_cast<ssize_t>(req.size()));
        auto before = f.server->bridge().stats();
        f.loop.run_for(std::chrono::milliseconds(100));
        CHECK(f.rec.requests.empty());
        CHECK(c.try_recv(resp) < 0);
        auto after = f.server->bridge().stats();
        // The unread notification keeps the socket readable: the bridge backs off instead of
        // spinning (about one look per millisecond).
        CHECK(after.dispatches - before.dispatches < 400);
        CHECK(after.idle_rearms > before.idle_rearms);

        REQUIRE(qb_ipcc_fc_enable_max_set(c.raw(), 2) == 0);
        CHECK(c.send(req) == -EAGAIN);

        f.server->rate_limit(2, RateLimit::fast);
        REQUIRE(c.recv(f.loop, resp) == 25);
        CHECK(f.rec.requests.size() == 1);
        CHECK(f.server->stats(id)->flow_control_count >= 2);
        REQUIRE(c.send(req) == static_cast<ssize_t>(req.size()));
        REQUIRE(c.recv(f.loop, resp) == 25);
    }
    SECTION("a client that connects while RATE_OFF is in force is held too") {
        f.server->rate_limit(2, RateLimit::off);
        Client late;
        REQUIRE(late.connect(f.loop, name) == 0);
        CHECK(late.send(req) == -EAGAIN);
        f.server->rate_limit(2, RateLimit::normal);
        REQUIRE(late.send(req) == static_cast<ssize_t>(req.size()));
        REQUIRE(late.recv(f.loop, resp) == 25);
    }
    SECTION("the rate limit moves the connection's fd between the loop's priorities") {
        // libqb: FAST → HIGH, NORMAL → MED, SLOW/OFF/OFF_2 → LOW, through dispatch_mod; the
        // listening socket keeps the priority it was added with (MED).
        auto at = [&] { return f.server->bridge().stats().watches_at; };
        CHECK(at() == std::array<std::size_t, 3>{0, 2, 0});
        f.server->rate_limit(2, RateLimit::fast);
        CHECK(at() == std::array<std::size_t, 3>{0, 1, 1});
        f.server->rate_limit(2, RateLimit::slow);
        CHECK(at() == std::array<std::size_t, 3>{1, 1, 0});
        f.server->rate_limit(2, RateLimit::normal);
        CHECK(at() == std::array<std::size_t, 3>{0, 2, 0});
        Client late;  // added at the service's current priority
        f.server->rate_limit(2, RateLimit::fast);
        REQUIRE(late.connect(f.loop, name) == 0);
        CHECK(at() == std::array<std::size_t, 3>{0, 1, 2});
    }
    SECTION("RATE_SLOW and RATE_NORMAL still serve") {
        for (RateLimit rl : {RateLimit::slow, RateLimit::normal, RateLimit::fast}) {
            f.server->rate_limit(2, rl);
            REQUIRE(c.send(req) == static_cast<ssize_t>(req.size()));
            REQUIRE(c.recv(f.loop, resp) == 25);
        }
    }
    f.server->rate_limit(99, RateLimit::off);  // unknown service: nothing happens
}

TEST_CASE("a client that disconnects with requests pending is closed once", "[ipc]") {
    Fixture f;
    std::string name = f.add(2, "pend");
    int fds = count_open_fds();
    Client c;
    REQUIRE(c.connect(f.loop, name) == 0);
    ConnId id = f.rec.last_id();
    bool held = GENERATE(true, false);
    INFO("held back by RATE_OFF_2: " << held);
    if (held)
        f.server->rate_limit(2, RateLimit::off_2);
    for (int i = 0; i < 5; ++i) {
        Bytes req = numbered(1, i);
        REQUIRE(c.send(req) == static_cast<ssize_t>(req.size()));
    }
    c.disconnect();  // before the server looked at any of them
    REQUIRE(f.loop.run_until([&] { return f.rec.is_closed(id); }));
    f.loop.run_for(std::chrono::milliseconds(20));
    CHECK(f.rec.closed.size() == 1);
    CHECK(f.rec.requests.size() <= 5);
    if (held)
        CHECK(f.rec.requests.empty());
    CHECK_FALSE(f.server->respond(id, response(1, 1)));
    CHECK(f.server->send_event(id, response(1, 1)) == EventResult::no_connection);
    CHECK(count_open_fds() == fds);
    f.server->rate_limit(2, RateLimit::fast);
    Client next;
    REQUIRE(next.connect(f.loop, name) == 0);
}

TEST_CASE("the handler may respond late, disconnect from inside a request, or ignore one",
          "[ipc]") {
    Fixture f;
    std::string name = f.add(2, "late");
    Client c;
    REQUIRE(c.connect(f.loop, name) == 0);
    ConnId id = f.rec.last_id();
    Bytes resp;

    // No answer inside on_request; one from a later loop turn (CFG TRYSHUTDOWN style).
    f.rec.on_req = [&](ConnId cid, ByteView) {
        boost::asio::post(f.loop.io, [&, cid] { f.server->respond(cid, response(3, 1)); });
        return 0;
    };
    REQUIRE(c.send(request(3)) == 16);
    REQUIRE(c.recv(f.loop, resp) == 24);
    CHECK(header_i32(resp, 0) == 3);

    // Respond, then disconnect, all inside on_request: the close comes after it returns.
    bool closed_inside = false;
    f.rec.on_req = [&](ConnId cid, ByteView) {
        f.server->respond(cid, response(4, 1));
        f.server->send_event(cid, response(8, 1));
        f.server->disconnect(cid);
        f.server->disconnect(cid);  // twice is harmless
        closed_inside = f.rec.is_closed(cid);
        return 0;
    };
    REQUIRE(c.send(request(4)) == 16);
    REQUIRE(f.loop.run_until([&] { return f.rec.is_closed(id); }));
    CHECK_FALSE(closed_inside);
    CHECK(f.rec.closed.size() == 1);
}

TEST_CASE("a request header whose size is out of bounds disconnects the client", "[ipc]") {
    Fixture f;
    std::string name = f.add(2, "frame");
    auto bad_size = GENERATE(8, -1, 1 << 30);
    INFO("hdr.size " << bad_size);
    Client c;
    REQUIRE(c.connect(f.loop, name) == 0);
    ConnId id = f.rec.last_id();
    Bytes req = request(1, text("payload"), bad_size);
    REQUIRE(c.send(req) == static_cast<ssize_t>(req.size()));
    REQUIRE(f.loop.run_until([&] { return f.rec.is_closed(id); }));
    CHECK(f.rec.requests.empty());
    CHECK(f.server->global_stats().framing_errors == 1);
    CHECK(f.logged(LogLevel::warning, "outside [16, "));
}

TEST_CASE("ConnStats count what corosync counts; clear_stats resets it", "[ipc]") {
    Fixture f;
    std::string name = f.add(2, "stats");
    Client c;
    REQUIRE(c.connect(f.loop, name) == 0);
    ConnId id = f.rec.last_id();
    f.rec.on_req = [&](ConnId cid, ByteView req) {
        std::int32_t rid = header_i32(req, 0);
        f.server->respond(cid, response(rid, rid == 7 ? 7 : rid == 8 ? 6 : 1));
        return rid == 7 ? -EINVAL : rid == 8 ? -ENOBUFS : 0;
    };
    Bytes resp;
    for (std::int32_t rid : {1, 7, 8, 8, 1}) {
        REQUIRE(c.send(request(rid)) == 16);
        REQUIRE(c.recv(f.loop, resp) == 24);
    }
    for (int i = 0; i < 3; ++i)
        REQUIRE(f.server->send_event(id, response(9, 1)) == EventResult::sent);
    CHECK(f.server->send_event(id, Bytes(20000, 0)) == EventResult::too_big);

    auto st = f.server->stats(id);
    REQUIRE(st);
    CHECK(st->requests == 5);
    CHECK(st->responses == 5);
    CHECK(st->events == 3);
    CHECK(st->invalid_request == 1);
    CHECK(st->overload == 2);
    CHECK(st->sent == 3);
    CHECK(st->queueing == 0);
    CHECK(st->events_dropped == 1);
    CHECK(st->flow_control_state == 0);
    CHECK(st->event_q_length == 3);  // unread
    CHECK(f.server->global_stats().active == 1);

    f.server->clear_stats();
    st = f.server->stats(id);
    CHECK(st->requests == 0);
    CHECK(st->responses == 0);
    CHECK(st->events == 0);
    CHECK(st->invalid_request == 0);
    CHECK(st->overload == 0);
    CHECK(st->sent == 0);
    CHECK(st->events_dropped == 0);
    CHECK(st->client_pid == ::getpid());
    CHECK(f.server->global_stats().active == 1);  // stays true (corosync zeroes it)
    CHECK(f.server->global_stats().closed == 0);
}

TEST_CASE("many connect/disconnect cycles leave no fd, shm directory or memory behind", "[ipc]") {
    Fixture f;
    std::string name = f.add(2, "cyc");
    auto cycle = [&](int n) {
        std::size_t closed = f.rec.closed.size();
        for (int i = 0; i < n; ++i) {
            Client c;
            REQUIRE(c.connect(f.loop, name) == 0);
            Bytes req = numbered(1, i);
            REQUIRE(c.send(req) == static_cast<ssize_t>(req.size()));
            Bytes resp;
            REQUIRE(c.recv(f.loop, resp) > 0);
            REQUIRE(f.server->send_event(f.rec.last_id(), response(9, 1)) == EventResult::sent);
            c.disconnect();
        }
        REQUIRE(f.loop.run_until([&] { return f.rec.closed.size() == closed + n; }));
    };
    f.rec.record_requests = false;
    f.rec.connected.reserve(512);
    f.rec.closed.reserve(512);
    cycle(10);  // warm-up: allocator pools, Asio's descriptor state cache
    f.rec.connected.clear();
    int fds = count_open_fds();
    int dirs = count_shm_dirs();
    std::size_t mem = mallinfo2().uordblks;
    cycle(200);
    CHECK(count_open_fds() == fds);
    CHECK(count_shm_dirs() == dirs);
    std::size_t grown = mallinfo2().uordblks - std::min(mem, mallinfo2().uordblks);
    CHECK(grown < 64 * 1024);
    CHECK(f.server->global_stats().active == 0);
    CHECK(f.server->global_stats().closed == 210);
    // Ids are never reused.
    std::vector<ConnId> ids;
    for (const auto& i : f.rec.connected)
        ids.push_back(i.id);
    std::sort(ids.begin(), ids.end());
    CHECK(std::adjacent_find(ids.begin(), ids.end()) == ids.end());
    CHECK(ids.size() == 200);
}

TEST_CASE("shutdown with clients connected closes each once and leaves nothing open", "[ipc]") {
    int dirs = count_shm_dirs();
    Fixture f;
    int fds = count_open_fds();  // with the io_context's own descriptors
    std::string a = f.add(0, "sda");
    std::string b = f.add(1, "sdb");
    Client c1, c2, c3;
    REQUIRE(c1.connect(f.loop, a) == 0);
    REQUIRE(c2.connect(f.loop, a) == 0);
    REQUIRE(c3.connect(f.loop, b) == 0);
    // Events waiting in an out-queue are dropped with the connection.
    for (int i = 0; i < 100; ++i)
        f.server->send_event(f.rec.connected[0].id, response(9, 1, Bytes(1000, 1)));
    REQUIRE(f.server->stats(f.rec.connected[0].id)->queueing == 1);

    // A half-open connection that never authenticates: libqb keeps its fd registered.
    int raw = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path + 1, a.data(), a.size());
    REQUIRE(::connect(raw, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    f.loop.run_for(std::chrono::milliseconds(10));
    std::size_t watches = f.server->bridge().stats().watches;
    CHECK(watches == 2 + 3 + 1);  // two listeners, three connections, one in authentication

    f.server->shutdown();
    CHECK(f.rec.closed.size() == 3);
    CHECK(f.server->connections().empty());
    CHECK(f.server->bridge().stats().watches == 0);
    f.server->shutdown();  // idempotent
    CHECK(f.rec.closed.size() == 3);

    char byte;
    CHECK(::recv(raw, &byte, 1, MSG_DONTWAIT) == 0);  // the server closed its end
    ::close(raw);
    REQUIRE(f.loop.run_until([&] { return qb_ipcc_is_connected(c1.raw()) == 0; }));
    c1.disconnect();
    c2.disconnect();
    c3.disconnect();
    Client late;
    CHECK(late.connect(f.loop, a) == -ECONNREFUSED);
    CHECK_FALSE(f.server->add_service(5, unique_name("sdc")).ok());
    f.server.reset();
    f.loop.run_for(std::chrono::milliseconds(5));
    CHECK(count_open_fds() == fds);
    CHECK(count_shm_dirs() == dirs);
}

TEST_CASE(
    "socket transport: libqb's rate limit misses the request socket (it modifies the "
    "event socket, which it never added)",
    "[ipc]") {
    Options o;
    o.type = "socket";
    Fixture f(o);
    std::string name = f.add(2, "sockrl");
    Client c;
    REQUIRE(c.connect(f.loop, name) == 0);
    auto at = [&] { return f.server->bridge().stats().watches_at; };
    // listener + the connection's request socket + its setup socket (liveness), all MED.
    CHECK(at() == std::array<std::size_t, 3>{0, 3, 0});
    f.server->rate_limit(2, RateLimit::fast);
    CHECK(at() == std::array<std::size_t, 3>{0, 3, 0});
    // The flow-control word works all the same.
    f.server->rate_limit(2, RateLimit::off);
    CHECK(c.send(request(1)) == -EAGAIN);
    f.server->rate_limit(2, RateLimit::normal);
    REQUIRE(c.send(request(1)) == 16);
    Bytes resp;
    REQUIRE(c.recv(f.loop, resp) == 24);
}
