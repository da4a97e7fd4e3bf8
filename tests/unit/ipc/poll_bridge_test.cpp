// PollBridge: libqb's poll handlers on Asio, tested with plain socketpairs and C callbacks the
// way libqb uses them (remove and re-add from inside a callback, negative returns, POLLHUP,
// priority changes, a dispatch that consumes nothing).
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "engine/ipc/poll_bridge.hpp"
#include "ipc_test_util.hpp"

using namespace totem::ipc;
using totem::ipc::test::Loop;

namespace {

struct Pair {
    Pair() { REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fd) == 0); }
    ~Pair() {
        for (int f : fd)
            if (f >= 0)
                ::close(f);
    }
    void write(const std::string& s) {
        REQUIRE(::write(fd[1], s.data(), s.size()) == (ssize_t)s.size());
    }
    int fd[2] = {-1, -1};
};

bool fd_open(int fd) {
    return ::fcntl(fd, F_GETFD) != -1;
}

std::string drain(int fd) {
    char buf[256];
    std::string out;
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0)
            break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
}

// What a dispatch fn saw.
struct Seen {
    int calls = 0;
    int revents = 0;
    std::string data;
    int result = 0;              // what to return
    bool read_it = true;         // consume what is readable
    std::function<void()> also;  // runs inside the callback
};

std::int32_t record(std::int32_t fd, std::int32_t revents, void* p) {
    auto* s = static_cast<Seen*>(p);
    ++s->calls;
    s->revents = revents;
    if (s->read_it && (revents & POLLIN))
        s->data += drain(fd);
    if (s->also)
        s->also();
    return s->result;
}

std::vector<std::string>* g_order = nullptr;
void job_named(void* p) {
    g_order->push_back(*static_cast<std::string*>(p));
}

}  // namespace

TEST_CASE("jobs run highest priority first, in order within a priority", "[ipc][bridge]") {
    Loop loop;
    PollBridge b(loop.io);
    std::vector<std::string> order;
    g_order = &order;
    std::string l1 = "low1", l2 = "low2", m1 = "med1", h1 = "high1", h2 = "high2";
    REQUIRE(b.job_add(Priority::low, &l1, job_named) == 0);
    REQUIRE(b.job_add(Priority::med, &m1, job_named) == 0);
    REQUIRE(b.job_add(Priority::high, &h1, job_named) == 0);
    REQUIRE(b.job_add(Priority::low, &l2, job_named) == 0);
    b.post(Priority::high, [&] { order.push_back("high2"); });
    CHECK(b.stats().queued == 5);
    CHECK(order.empty());  // nothing runs inside job_add
    REQUIRE(loop.run_until([&] { return order.size() == 5; }));
    CHECK(order == std::vector<std::string>{"high1", "high2", "med1", "low1", "low2"});
    CHECK(b.job_add(Priority::high, nullptr, nullptr) == -EINVAL);
    g_order = nullptr;
}

TEST_CASE("a job added by a job runs in a later drain, after the rest of the loop",
          "[ipc][bridge]") {
    Loop loop;
    PollBridge b(loop.io);
    std::vector<std::string> order;
    g_order = &order;
    b.post(Priority::low, [&] {
        order.push_back("first");
        b.post(Priority::high, [&] { order.push_back("high from a job"); });
        boost::asio::post(loop.io, [&] { order.push_back("other asio work"); });
    });
    b.post(Priority::low, [&] { order.push_back("second"); });
    REQUIRE(loop.run_until([&] { return order.size() == 4; }));
    // The high job competes with what was left ("second") and wins; the drain's budget is what
    // was queued on entry (two), so "second" waits for the next drain, behind other Asio work.
    CHECK(order ==
          std::vector<std::string>{"first", "high from a job", "other asio work", "second"});
    g_order = nullptr;
}

TEST_CASE("a readable fd is dispatched with POLLIN, once per readiness", "[ipc][bridge]") {
    Loop loop;
    PollBridge b(loop.io);
    Pair p;
    Seen s;
    REQUIRE(b.dispatch_add(Priority::med, p.fd[0], POLLIN | POLLPRI | POLLNVAL, &s, record) == 0);
    loop.run_for(std::chrono::milliseconds(10));
    CHECK(s.calls == 0);
    p.write("hello");
    REQUIRE(loop.run_until([&] { return s.calls == 1; }));
    CHECK((s.revents & POLLIN) != 0);
    CHECK((s.revents & POLLHUP) == 0);
    CHECK(s.data == "hello");
    loop.run_for(std::chrono::milliseconds(10));
    CHECK(s.calls == 1);
    p.write("again");
    REQUIRE(loop.run_until([&] { return s.calls == 2; }));
    CHECK(s.data == "helloagain");
    CHECK(b.stats().watches == 1);
    CHECK(b.dispatch_add(Priority::med, p.fd[0], POLLIN, &s, record) == -EEXIST);
    CHECK(b.dispatch_add(Priority::med, -1, POLLIN, &s, record) == -EBADF);
    CHECK(b.dispatch_mod(Priority::med, p.fd[1], POLLIN, &s, record) == -EBADF);
    CHECK(b.dispatch_del(p.fd[1]) == -EBADF);
    REQUIRE(b.dispatch_del(p.fd[0]) == 0);
    CHECK(fd_open(p.fd[0]));  // released, not closed
    p.write("unseen");
    loop.run_for(std::chrono::milliseconds(10));
    CHECK(s.calls == 2);
}

TEST_CASE("a negative return removes the fd without closing it", "[ipc][bridge]") {
    Loop loop;
    PollBridge b(loop.io);
    Pair p;
    Seen s;
    s.result = -ESHUTDOWN;
    REQUIRE(b.dispatch_add(Priority::med, p.fd[0], POLLIN, &s, record) == 0);
    p.write("x");
    REQUIRE(loop.run_until([&] { return s.calls == 1; }));
    CHECK(b.stats().watches == 0);
    CHECK(fd_open(p.fd[0]));
    p.write("y");
    loop.run_for(std::chrono::milliseconds(10));
    CHECK(s.calls == 1);
    // The fd can be registered again.
    s.result = 0;
    REQUIRE(b.dispatch_add(Priority::med, p.fd[0], POLLIN, &s, record) == 0);
    REQUIRE(loop.run_until([&] { return s.calls == 2; }));
    CHECK(s.data == "xy");
}

TEST_CASE("removing and re-adding the fd from inside its callback hands it over", "[ipc][bridge]") {
    // libqb's process_auth: dispatch_del(sock), then the SHM connect dispatch_add(sock) with
    // the connection's fn, then returns 1.
    Loop loop;
    PollBridge b(loop.io);
    Pair p;
    Seen auth, conn;
    auth.result = 1;
    auth.also = [&] {
        REQUIRE(PollBridge::current() == &b);
        REQUIRE(b.dispatch_del(p.fd[0]) == 0);
        REQUIRE(b.dispatch_add(Priority::high, p.fd[0], POLLIN | POLLPRI, &conn, record) == 0);
    };
    REQUIRE(b.dispatch_add(Priority::med, p.fd[0], POLLIN, &auth, record) == 0);
    p.write("auth");
    REQUIRE(loop.run_until([&] { return auth.calls == 1; }));
    CHECK(auth.data == "auth");
    p.write("request");
    REQUIRE(loop.run_until([&] { return conn.calls == 1; }));
    CHECK(conn.data == "request");
    CHECK(auth.calls == 1);
    CHECK(b.stats().watches == 1);

    // Removing itself and returning negative (qb_ipcs_disconnect inside the dispatch) is fine.
    conn.also = [&] { REQUIRE(b.dispatch_del(p.fd[0]) == 0); };
    conn.result = -ESHUTDOWN;
    p.write("bye");
    REQUIRE(loop.run_until([&] { return conn.calls == 2; }));
    CHECK(b.stats().watches == 0);
    CHECK(fd_open(p.fd[0]));
}

TEST_CASE("a ready fd removed before its turn is not dispatched", "[ipc][bridge]") {
    Loop loop;
    PollBridge b(loop.io);
    Pair p1, p2;
    Seen s1, s2;
    // s1 runs first (high) and removes p2's fd, which is ready and queued behind it.
    s1.also = [&] { REQUIRE(b.dispatch_del(p2.fd[0]) == 0); };
    REQUIRE(b.dispatch_add(Priority::high, p1.fd[0], POLLIN, &s1, record) == 0);
    REQUIRE(b.dispatch_add(Priority::low, p2.fd[0], POLLIN, &s2, record) == 0);
    p2.write("b");
    p1.write("a");
    loop.run_for(std::chrono::milliseconds(20));
    CHECK(s1.calls == 1);
    CHECK(s2.calls == 0);
}

TEST_CASE("ready fds are dispatched by priority", "[ipc][bridge]") {
    Loop loop;
    PollBridge b(loop.io);
    Pair lo, hi, me;
    std::vector<std::string> order;
    Seen sl, sh, sm;
    sl.also = [&] { order.push_back("low"); };
    sh.also = [&] { order.push_back("high"); };
    sm.also = [&] { order.push_back("med"); };
    REQUIRE(b.dispatch_add(Priority::low, lo.fd[0], POLLIN, &sl, record) == 0);
    REQUIRE(b.dispatch_add(Priority::med, me.fd[0], POLLIN, &sm, record) == 0);
    REQUIRE(b.dispatch_add(Priority::high, hi.fd[0], POLLIN, &sh, record) == 0);
    lo.write("1");
    me.write("2");
    hi.write("3");
    // Let every wait complete before the drain runs: the readiness handlers are all queued in
    // Asio ahead of the drain they post.
    REQUIRE(loop.run_until([&] { return order.size() == 3; }));
    CHECK(order == std::vector<std::string>{"high", "med", "low"});
}

TEST_CASE("POLLHUP and POLLOUT reach the dispatch fn", "[ipc][bridge]") {
    Loop loop;
    PollBridge b(loop.io);
    Pair p;
    Seen s;
    s.read_it = false;
    REQUIRE(b.dispatch_add(Priority::med, p.fd[0], POLLIN | POLLPRI | POLLNVAL, &s, record) == 0);

    // dispatch_mod to POLLOUT (libqb: an event notification could not be written).
    REQUIRE(b.dispatch_mod(Priority::med, p.fd[0], POLLOUT | POLLIN | POLLPRI | POLLNVAL, &s,
                           record) == 0);
    REQUIRE(loop.run_until([&] { return s.calls >= 1; }));
    CHECK((s.revents & POLLOUT) != 0);
    // Back to POLLIN only: no more wake-ups while nothing is readable.
    s.also = [&] {
        b.dispatch_mod(Priority::med, p.fd[0], POLLIN | POLLPRI | POLLNVAL, &s, record);
    };
    loop.run_for(std::chrono::milliseconds(5));
    s.also = nullptr;
    int calls = s.calls;
    loop.run_for(std::chrono::milliseconds(20));
    CHECK(s.calls == calls);

    ::close(p.fd[1]);
    p.fd[1] = -1;
    s.result = -ESHUTDOWN;  // what libqb answers to a hang-up
    REQUIRE(loop.run_until([&] { return s.calls == calls + 1; }));
    CHECK((s.revents & POLLHUP) != 0);
    CHECK(b.stats().watches == 0);
}

TEST_CASE("a dispatch that consumes nothing is retried after the idle delay, not at once",
          "[ipc][bridge]") {
    // libqb under flow control returns 0 and leaves the request notification unread.
    Loop loop;
    PollBridge b(loop.io, std::chrono::milliseconds(50));
    Pair p;
    Seen s;
    s.read_it = false;
    REQUIRE(b.dispatch_add(Priority::low, p.fd[0], POLLIN | POLLPRI | POLLNVAL, &s, record) == 0);
    p.write("r");
    loop.run_for(std::chrono::milliseconds(200));
    // About one call per 50 ms (not thousands), each one noticed as an idle re-arm.
    CHECK(s.calls >= 2);
    CHECK(s.calls <= 8);
    CHECK(b.stats().idle_rearms >= static_cast<std::uint64_t>(s.calls - 1));

    // A priority change (qb_ipcs_request_rate_limit → dispatch_mod) looks again at once.
    s.read_it = true;
    int before = s.calls;
    REQUIRE(b.dispatch_mod(Priority::high, p.fd[0], POLLIN | POLLPRI | POLLNVAL, &s, record) == 0);
    REQUIRE(loop.run_until([&] { return s.calls == before + 1; }, std::chrono::milliseconds(25)));
    CHECK(s.data == "r");
}

TEST_CASE("the destructor releases every fd; dispatch_all_and_clear calls each once",
          "[ipc][bridge]") {
    Loop loop;
    Pair p1, p2;
    Seen s1, s2;
    {
        PollBridge b(loop.io);
        REQUIRE(b.dispatch_add(Priority::med, p1.fd[0], POLLIN, &s1, record) == 0);
        REQUIRE(b.dispatch_add(Priority::med, p2.fd[0], POLLIN, &s2, record) == 0);
        b.post(Priority::high, [&] { FAIL("dropped with the bridge"); });
    }
    loop.run_for(std::chrono::milliseconds(5));
    CHECK(fd_open(p1.fd[0]));
    CHECK(fd_open(p2.fd[0]));

    PollBridge b(loop.io);
    REQUIRE(b.dispatch_add(Priority::med, p1.fd[0], POLLIN, &s1, record) == 0);
    REQUIRE(b.dispatch_add(Priority::med, p2.fd[0], POLLIN, &s2, record) == 0);
    s1.result = -ESHUTDOWN;
    s2.result = 0;
    CHECK(b.dispatch_all_and_clear(POLLHUP) == 1);  // s2 stayed registered
    CHECK(s1.calls == 1);
    CHECK(s2.calls == 1);
    CHECK(s1.revents == POLLHUP);
    CHECK(b.stats().watches == 0);
    CHECK(fd_open(p1.fd[0]));
    CHECK(fd_open(p2.fd[0]));
}
