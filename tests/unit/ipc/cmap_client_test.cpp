// Debian's unmodified libcmap (corosync 3.1.7) against our Server: cmap_initialize_map,
// cmap_get_uint32, cmap_track_add + cmap_dispatch and a refused cmap_initialize, answered by a
// Handler that builds cmap's bytes by hand (services-and-ipc.md A3.2). This proves the SHM
// set-up, the granted sizes and the event path are what the real library expects.
//
// libcmap connects to the fixed name "cmap", so the test runs in a child process in a network
// namespace of its own (abstract sockets are per namespace): a real corosync or totemd on this
// machine is never touched. The library's calls block, so they run on a client thread; the
// server stays on the child's main thread.
#include <corosync/cmap.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdio>
#include <string>
#include <thread>

#include "engine/ipc/server.hpp"
#include "ipc_test_util.hpp"

using namespace totem;
using namespace totem::ipc;
using namespace totem::ipc::test;

namespace {

constexpr std::int32_t kCsOk = 1;
constexpr std::int32_t kCsErrNotExist = 12;
constexpr std::uint8_t kTypeUint32 = 6;  // CMAP_VALUETYPE_UINT32
constexpr std::uint32_t kValue = 0xC0FFEE;
constexpr std::uint32_t kNewValue = 77;
constexpr std::uint64_t kServerTrackHandle = 0x1234;

// The key name of a request: mar_name_t at `off` (u16 length, value at +8, 256 bytes).
std::string key_at(ByteView req, std::size_t off) {
    Reader r(req.subspan(off));
    std::uint16_t len = r.u16();
    ByteView value = req.subspan(off + 8, 256);
    std::size_t n = 0;
    while (n < value.size() && value[n] != 0)
        ++n;
    (void)len;  // corosync uses the value as a C string and ignores the length (A2.2)
    return std::string(value.begin(), value.begin() + static_cast<std::ptrdiff_t>(n));
}

void mar_name(Writer& w, const std::string& s) {
    w.u16(static_cast<std::uint16_t>(s.size()));
    for (int i = 0; i < 6; ++i)
        w.u8(0);
    Bytes v(256, 0);
    std::copy(s.begin(), s.end(), v.begin());
    w.bytes(v);
}

void hdr24(Writer& w, std::int32_t id, std::int32_t size, std::int32_t error) {
    w.i32(id);
    w.u32(0);
    w.i32(size);
    w.u32(0);
    w.i32(error);
    w.u32(0);
}

struct CmapHandler : Handler {
    Server* server = nullptr;
    int accepts = 0;
    std::int32_t map = -1;
    std::string failure;

    int on_accept(std::uint16_t service, uid_t, gid_t) override {
        if (service != 0)
            failure += "accept for service " + std::to_string(service) + "; ";
        return ++accepts == 1 ? 0 : -EACCES;  // the second cmap_initialize is refused
    }
    void on_connected(const ConnInfo&) override {}
    void on_closed(ConnId) override {}

    int on_request(ConnId id, ByteView req) override {
        Reader r(req);
        std::int32_t msg = r.i32();
        Bytes out;
        Writer w(out);
        switch (msg) {
            case 9: {  // SET_CURRENT_MAP (24): map i32 @16 → response id 10
                map = Reader(req.subspan(16)).i32();
                hdr24(w, 10, 24, kCsOk);
                break;
            }
            case 2: {  // GET (288): key @16, value_len u64 @280
                std::string key = key_at(req, 16);
                std::uint64_t cap = Reader(req.subspan(280)).u64();
                if (key != "totem.test.value") {
                    hdr24(w, 2, 40, kCsErrNotExist);
                    w.u64(0);
                    w.u64(0);
                    break;
                }
                hdr24(w, 2, static_cast<std::int32_t>(40 + cap), kCsOk);
                w.u64(4);           // value_len
                w.u8(kTypeUint32);  // type, then pad to 40
                for (int i = 0; i < 7; ++i)
                    w.u8(0);
                w.u32(kValue);
                while (w.size() < 40 + cap)
                    w.u8(0);
                break;
            }
            case 7: {  // TRACK_ADD (296): key @16, track_type i32 @280, inst handle u64 @288
                std::string key = key_at(req, 16);
                std::uint64_t inst = Reader(req.subspan(288)).u64();
                hdr24(w, 7, 32, kCsOk);
                w.u64(kServerTrackHandle);
                server->respond(id, out);
                // A MODIFY notification for the tracked key (NOTIFY_CALLBACK, id 9).
                Bytes ev;
                Writer e(ev);
                hdr24(e, 9, 336 + 4 + 4, kCsOk);
                e.u64(inst);
                mar_name(e, key);
                e.i32(2);  // CMAP_TRACK_MODIFY
                e.u32(0);
                e.u8(kTypeUint32);
                for (int i = 0; i < 7; ++i)
                    e.u8(0);
                e.u8(kTypeUint32);
                for (int i = 0; i < 7; ++i)
                    e.u8(0);
                e.u64(4);
                e.u64(4);
                e.u32(kNewValue);
                e.u32(kValue);
                if (ev.size() != 344)
                    failure += "notify layout; ";
                if (server->send_event(id, ev) != EventResult::sent)
                    failure += "notify not sent; ";
                return 0;
            }
            default:
                failure += "unexpected request " + std::to_string(msg) + "; ";
                hdr24(w, 0, 24, 7);
                break;
        }
        server->respond(id, out);
        return 0;
    }
};

struct Notified {
    int calls = 0;
    std::string key;
    std::int32_t event = 0;
    std::uint32_t new_value = 0, old_value = 0;
    std::uint64_t track_handle = 0;
};

void notify_cb(cmap_handle_t, cmap_track_handle_t track, int32_t event, const char* key,
               struct cmap_notify_value new_val, struct cmap_notify_value old_val, void* user) {
    auto* n = static_cast<Notified*>(user);
    ++n->calls;
    n->key = key;
    n->event = event;
    n->track_handle = track;
    if (new_val.len == 4)
        std::memcpy(&n->new_value, new_val.data, 4);
    if (old_val.len == 4)
        std::memcpy(&n->old_value, old_val.data, 4);
}

#define EXPECT(cond)                                            \
    do {                                                        \
        if (!(cond)) {                                          \
            std::fprintf(stderr, "child: failed: %s\n", #cond); \
            ok = false;                                         \
        }                                                       \
    } while (0)

int child_main() {
    if (::unshare(CLONE_NEWNET) != 0)
        return 77;
    Loop loop;
    CmapHandler h;
    Server server(loop.io, h, Options{});
    h.server = &server;
    if (!server.add_service(0, "cmap").ok())
        return 10;

    std::atomic<bool> done{false};
    cs_error_t init = CS_OK, get = CS_OK, missing = CS_OK, track = CS_OK, dispatch = CS_OK,
               refused = CS_OK;
    std::uint32_t value = 0, untouched = 5;
    cmap_track_handle_t track_handle = 0;
    Notified notified;
    std::thread client([&] {
        cmap_handle_t handle = 0;
        init = cmap_initialize_map(&handle, CMAP_MAP_STATS);
        if (init == CS_OK) {
            get = cmap_get_uint32(handle, "totem.test.value", &value);
            missing = cmap_get_uint32(handle, "no.such.key", &untouched);
            track = cmap_track_add(handle, "totem.test.value", CMAP_TRACK_MODIFY, notify_cb,
                                   &notified, &track_handle);
            if (track == CS_OK)
                dispatch = cmap_dispatch(handle, CS_DISPATCH_ONE);
            cmap_finalize(handle);
        }
        cmap_handle_t second = 0;
        refused = cmap_initialize(&second);
        done = true;
    });
    bool finished = loop.run_until([&] { return done.load(); }, std::chrono::seconds(20));
    if (!finished) {
        std::fprintf(stderr, "child: the libcmap client did not finish\n");
        client.detach();
        return 11;
    }
    client.join();

    bool ok = true;
    EXPECT(init == CS_OK);
    EXPECT(h.map == 1);  // CMAP_MAP_STATS
    EXPECT(get == CS_OK);
    EXPECT(value == kValue);
    EXPECT(missing == CS_ERR_NOT_EXIST);
    EXPECT(untouched == 5);
    EXPECT(track == CS_OK);
    EXPECT(track_handle == kServerTrackHandle);
    EXPECT(dispatch == CS_OK);
    EXPECT(notified.calls == 1);
    EXPECT(notified.key == "totem.test.value");
    EXPECT(notified.event == CMAP_TRACK_MODIFY);
    EXPECT(notified.new_value == kNewValue);
    EXPECT(notified.old_value == kValue);
    EXPECT(notified.track_handle == kServerTrackHandle);
    EXPECT(refused == CS_ERR_ACCESS);
    EXPECT(h.accepts == 2);
    EXPECT(h.failure.empty());
    if (!h.failure.empty())
        std::fprintf(stderr, "child: handler: %s\n", h.failure.c_str());
    // cmap_finalize disconnected: the server sees it.
    EXPECT(loop.run_until([&] { return server.connections().empty(); }));
    return ok ? 0 : 1;
}

}  // namespace

TEST_CASE("Debian's libcmap initializes, gets a uint32, tracks and dispatches against us",
          "[ipc][libcmap]") {
    std::fflush(nullptr);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0)
        ::_exit(child_main());
    int status = 0;
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    pid_t r = 0;
    while ((r = ::waitpid(pid, &status, WNOHANG)) == 0 && std::chrono::steady_clock::now() < end)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (r == 0) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
        FAIL("the child did not finish in 30 s");
    }
    REQUIRE(WIFEXITED(status));
    if (WEXITSTATUS(status) == 77) {
        WARN("no network namespace (unshare(CLONE_NEWNET) needs root): skipped");
        return;
    }
    CHECK(WEXITSTATUS(status) == 0);
}
