// Helpers for the IPC server tests: a loop that runs in bounded slices, libqb's client API
// driven without blocking (connect_async + continue, send, recv/event_recv with timeout 0),
// a recording Handler, and the process's open fd count.
//
// The server side stays on the test's thread; the client calls never block here, so one thread
// runs both sides, step by step.
#pragma once

#include <dirent.h>
#include <poll.h>
#include <qb/qbipcc.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.hpp"
#include "engine/ipc/server.hpp"

namespace totem::ipc::test {

// Abstract socket names are per network namespace: other test processes may run at once.
inline std::string unique_name(const std::string& tag) {
    return "tdt" + std::to_string(::getpid()) + "-" + tag;
}

inline int count_open_fds() {
    int n = 0;
    DIR* d = ::opendir("/proc/self/fd");
    if (!d)
        return -1;
    while (dirent* e = ::readdir(d))
        if (e->d_name[0] != '.')
            ++n;
    ::closedir(d);
    return n - 1;  // the DIR's own fd
}

// /dev/shm directories libqb made for this process's connections (qb-<server pid>-...).
inline int count_shm_dirs() {
    std::string prefix = "qb-" + std::to_string(::getpid()) + "-";
    int n = 0;
    DIR* d = ::opendir("/dev/shm");
    if (!d)
        return -1;
    while (dirent* e = ::readdir(d))
        if (std::strncmp(e->d_name, prefix.c_str(), prefix.size()) == 0)
            ++n;
    ::closedir(d);
    return n;
}

class Loop {
  public:
    Loop() : guard_(io.get_executor()) {}
    // Runs the loop in 1 ms slices until pred() holds or `limit` passes; returns pred().
    bool run_until(const std::function<bool()>& pred,
                   std::chrono::milliseconds limit = std::chrono::seconds(5)) {
        auto end = std::chrono::steady_clock::now() + limit;
        while (!pred()) {
            if (std::chrono::steady_clock::now() >= end)
                return pred();
            io.run_for(std::chrono::milliseconds(1));
        }
        return true;
    }
    void run_for(std::chrono::milliseconds d) {
        auto end = std::chrono::steady_clock::now() + d;
        while (std::chrono::steady_clock::now() < end)
            io.run_for(std::chrono::milliseconds(1));
    }

    boost::asio::io_context io;

  private:
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
};

// A 16-byte qb_ipc_request_header (id, size) followed by `payload`.
inline Bytes request(std::int32_t id, ByteView payload = {},
                     std::optional<std::int32_t> size = {}) {
    Bytes b;
    Writer w(b);
    w.i32(id);
    w.u32(0);
    w.i32(size.value_or(static_cast<std::int32_t>(16 + payload.size())));
    w.u32(0);
    w.bytes(payload);
    return b;
}

// A 24-byte qb_ipc_response_header (id, size, error) followed by `payload`.
inline Bytes response(std::int32_t id, std::int32_t error, ByteView payload = {}) {
    Bytes b;
    Writer w(b);
    w.i32(id);
    w.u32(0);
    w.i32(static_cast<std::int32_t>(24 + payload.size()));
    w.u32(0);
    w.i32(error);
    w.u32(0);
    w.bytes(payload);
    return b;
}

inline Bytes text(const std::string& s) {
    return Bytes(s.begin(), s.end());
}

// libqb's client, one step at a time.
class Client {
  public:
    Client() = default;
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;
    ~Client() { disconnect(); }

    // 0, or the negative errno of the refusal (the server's hdr.error, or the socket's).
    int connect(Loop& loop, const std::string& name, std::size_t max_msg_size = 16384) {
        int fd = -1;
        errno = 0;
        qb_ipcc_connection_t* c = qb_ipcc_connect_async(name.c_str(), max_msg_size, &fd);
        if (c == nullptr)
            return errno ? -errno : -EIO;
        bool ready = loop.run_until([fd] {
            pollfd p{fd, POLLIN, 0};
            return ::poll(&p, 1, 0) > 0;
        });
        if (!ready)
            return -ETIMEDOUT;                 // leaks c: the test fails anyway
        int rc = qb_ipcc_connect_continue(c);  // frees c on failure
        if (rc != 0)
            return rc;
        c_ = c;
        return 0;
    }

    bool connected() const { return c_ != nullptr; }
    qb_ipcc_connection_t* raw() { return c_; }

    ssize_t send(ByteView msg) { return qb_ipcc_send(c_, msg.data(), msg.size()); }

    // One response, if one is there (-EAGAIN / -ETIMEDOUT if not yet).
    ssize_t try_recv(Bytes& out, std::size_t cap = 16384) {
        out.assign(cap, 0);
        ssize_t n = qb_ipcc_recv(c_, out.data(), out.size(), 0);
        out.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
        return n;
    }
    // Runs the loop until a response comes (or an error other than "not yet").
    ssize_t recv(Loop& loop, Bytes& out, std::size_t cap = 16384) {
        ssize_t n = -EAGAIN;
        loop.run_until([&] {
            n = try_recv(out, cap);
            return n != -EAGAIN && n != -ETIMEDOUT;
        });
        return n;
    }

    ssize_t try_event(Bytes& out, std::size_t cap = 16384) {
        out.assign(cap, 0);
        ssize_t n = qb_ipcc_event_recv(c_, out.data(), out.size(), 0);
        out.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
        return n;
    }
    ssize_t event(Loop& loop, Bytes& out, std::size_t cap = 16384) {
        ssize_t n = -EAGAIN;
        loop.run_until([&] {
            n = try_event(out, cap);
            return n != -EAGAIN && n != -ETIMEDOUT;
        });
        return n;
    }

    void disconnect() {
        if (c_)
            qb_ipcc_disconnect(c_);
        c_ = nullptr;
    }

  private:
    qb_ipcc_connection_t* c_ = nullptr;
};

inline std::int32_t header_i32(ByteView b, std::size_t off) {
    Reader r(b.subspan(off));
    return r.i32();
}

// Records every callback; answers each request with response(id, CS_OK, payload) unless
// `on_req` says otherwise.
struct Recorder : Handler {
    Server* server = nullptr;
    int accept_result = 0;
    std::vector<std::uint16_t> accepted_services;
    std::vector<ConnInfo> connected;
    std::vector<std::pair<ConnId, Bytes>> requests;
    std::vector<ConnId> closed;
    std::function<int(ConnId, ByteView)> on_req;
    std::function<void(const ConnInfo&)> on_conn;
    bool record_requests = true;

    int on_accept(std::uint16_t service, uid_t, gid_t) override {
        accepted_services.push_back(service);
        return accept_result;
    }
    void on_connected(const ConnInfo& info) override {
        connected.push_back(info);
        if (on_conn)
            on_conn(info);
    }
    int on_request(ConnId id, ByteView req) override {
        if (record_requests)
            requests.emplace_back(id, Bytes(req.begin(), req.end()));
        if (on_req)
            return on_req(id, req);
        Bytes resp = response(header_i32(req, 0), 1, req.subspan(16));
        server->respond(id, resp);
        return 0;
    }
    void on_closed(ConnId id) override { closed.push_back(id); }

    ConnId last_id() const { return connected.empty() ? 0 : connected.back().id; }
    bool is_closed(ConnId id) const {
        for (ConnId c : closed)
            if (c == id)
                return true;
        return false;
    }
};

}  // namespace totem::ipc::test
