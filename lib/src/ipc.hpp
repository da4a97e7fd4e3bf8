// Internal: one libqb client connection (qb_ipcc_*) with corosync's conventions — the 1 MiB
// buffers, the flow-control threshold, TRY_AGAIN retries with a bounded back-off, and the
// dispatch loop of cpg_dispatch & co. Every handle of libtotem owns one.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "proto/ipc.hpp"
#include "totem/client/connection.hpp"
#include "totem/client/error.hpp"

struct qb_ipcc_connection;

namespace totem::client::detail {

using ByteView = std::span<const std::uint8_t>;

class Ipc {
  public:
    // qb_ipcc_connect(name, 1 MiB). A refused connection is CS_ERR_LIBRARY (as libcpg's
    // qb_to_cs_error(-ECONNREFUSED)).
    static Result<std::unique_ptr<Ipc>> connect(std::string_view default_name,
                                                const ConnectOptions& options);
    ~Ipc();
    Ipc(const Ipc&) = delete;
    Ipc& operator=(const Ipc&) = delete;

    int fd() const;
    bool connected() const { return connected_; }
    const ConnectOptions& options() const { return options_; }

    // When a CS_ERR_TRY_AGAIN answer is retried: never, when the handle is blocking, or
    // always (the rest of a large CPG message, whatever the handle's mode).
    enum class Retry { no, blocking, always };

    // Sends one request (the buffers in order) and waits for its response. The returned view
    // is the response, valid until the next call. A response whose header carries an error
    // yields that error (its body means nothing). CS_ERR_TRY_AGAIN (libqb flow control, or the
    // daemon's answer) is retried as `retry` says, with the back-off, for at most
    // try_again_timeout. `fc_max` is libqb's fc_enable_max for this call (1 for most requests,
    // 2 for CPG's partial mcast, as libcpg).
    Result<ByteView> request(std::span<const ByteView> parts, Retry retry = Retry::blocking,
                             int fc_max = 1);
    Result<ByteView> request(ByteView message, Retry retry = Retry::blocking) {
        return request(std::span<const ByteView>(&message, 1), retry);
    }
    // A request with no response (CPG MCAST): qb_ipcc_sendv under fc_enable_max `fc_max`;
    // waits for flow control unless non-blocking.
    Status send(std::span<const ByteView> parts, int fc_max);

    // The dispatch loop of corosync's *_dispatch(): reads events and hands each to `handle`;
    // returns how many were handled.
    Result<std::size_t> dispatch(Dispatch mode, const std::function<Status(ByteView)>& handle);

    // Repeats `attempt` while it fails with CS_ERR_TRY_AGAIN or `extra` (CPG join's
    // CS_ERR_BUSY), with request()'s back-off and deadline.
    Status retry_while(const std::function<Status()>& attempt, Retry retry, Errc extra);

  private:
    Ipc(qb_ipcc_connection* c, ConnectOptions options);
    // Sleeps between attempts; wait() is false once the deadline has passed.
    class Backoff;

    qb_ipcc_connection* c_;
    ConnectOptions options_;
    bool connected_ = true;
    std::vector<std::uint8_t> response_;
    std::vector<std::uint8_t> event_;
};

// The cs error a negative libqb result stands for (corosync's qb_to_cs_error()).
Errc qb_to_cs(long result) noexcept;

// A message the daemon sent that proto cannot read: CS_ERR_MESSAGE_ERROR.
template <typename T>
Result<T> decoded(totem::Result<T, proto::DecodeError> r) {
    if (!r)
        return Errc::message_error;
    return std::move(*r);
}

}  // namespace totem::client::detail
