// What the five handles of libtotem share: how they connect, wait and dispatch.
//
// Each handle (Cmap, Cfg, Cpg, Quorum, Votequorum) owns one libqb IPC connection to its
// service, as corosync's libraries do (qb_ipcc_connect with a 1 MiB buffer). A handle is
// move-only, closes its connection when destroyed, and is used from one thread at a time.
//
// Events: fd() is a descriptor to poll for reading (epoll, poll, Asio); when it is readable,
// dispatch() reads the pending events and calls the handle's callbacks. Callbacks run inside
// dispatch(), on the caller's thread, and may call the handle's other methods.
//
// Waiting: corosync answers CS_ERR_TRY_AGAIN while it synchronises or its queues are full, and
// libqb refuses to send while the daemon holds the connection's flow control. A blocking
// handle (the default) waits and retries, backing off from 1 ms to 50 ms, for at most
// try_again_timeout; a non-blocking handle returns CS_ERR_TRY_AGAIN at once (it compares equal
// to std::errc::operation_would_block).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace totem::client {

struct ConnectOptions {
    // Return CS_ERR_TRY_AGAIN instead of waiting (sends, and requests the daemon defers).
    bool nonblocking = false;
    // How long a blocking call keeps retrying before it gives up with CS_ERR_TRY_AGAIN.
    std::chrono::milliseconds try_again_timeout{60000};
    // The libqb IPC service to connect to; empty: the service's own name ("cpg", "cmap", ...).
    std::string ipc_name;
};

// cs_dispatch_flags_t.
enum class Dispatch : int {
    one = 1,              // wait for one event, dispatch it
    all = 2,              // dispatch every pending event, never wait
    blocking = 3,         // dispatch events until the connection closes
    one_nonblocking = 4,  // dispatch one pending event; CS_ERR_TRY_AGAIN when there is none
};

// cluster-wide ring id: the representative's node id and the ring sequence number.
struct RingId {
    std::uint32_t nodeid = 0;
    std::uint64_t seq = 0;
    bool operator==(const RingId&) const = default;
};

}  // namespace totem::client
