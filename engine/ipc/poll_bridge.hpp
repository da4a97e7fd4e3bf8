// PollBridge: libqb's qb_ipcs_poll_handlers (job_add, dispatch_add/mod/del) on one
// boost::asio::io_context, with no threads.
//
// What qb_loop does for corosync, this does on Asio (docs/protocol/ipc-server.md):
//  * each fd libqb registers gets an Asio posix::stream_descriptor that waits for the poll
//    events asked for; the fd stays libqb's: removal release()s it, nothing here closes it;
//  * a ready fd and a job are queued by priority (high, med, low); a drain, posted on the
//    io_context, runs what is queued highest priority first, at most what was queued when it
//    started, then posts itself again if more is waiting, so the rest of the loop interleaves;
//  * the dispatch fn gets the revents a poll(2) of the fd reports at that moment (POLLHUP,
//    POLLERR, POLLNVAL included), and a negative return removes the fd, as in qb_loop;
//  * removing and re-adding an fd from inside its own dispatch (libqb's auth → connection
//    hand-over does that) is safe: every registration has its own id, and after the callback
//    the bridge looks the fd up again instead of touching the old registration;
//  * a dispatch that left a readable stream socket exactly as full as it found it (libqb under
//    flow control leaves the request notification unread) is retried after `idle_rearm`
//    instead of at once, so a flow-controlled client does not spin the loop.
//
// libqb's poll callbacks carry no context pointer, so the bridge that libqb is talking to is a
// thread-local "current" bridge: Scope sets it around every call into libqb (the bridge sets it
// itself around dispatch fns and jobs).
//
// Single-threaded: every method, and every callback it makes, runs on the io_context's thread.
#pragma once

#include <array>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace totem::ipc {

// qb_loop_priority's order and values (QB_LOOP_LOW 0, MED 1, HIGH 2).
enum class Priority : std::uint8_t { low = 0, med = 1, high = 2 };

// The signatures of qb_ipcs_dispatch_fn_t and qb_loop_job_dispatch_fn.
using DispatchFn = std::int32_t (*)(std::int32_t fd, std::int32_t revents, void* data);
using JobFn = void (*)(void* data);

struct PollBridgeStats {
    std::uint64_t dispatches = 0;   // dispatch fn calls
    std::uint64_t jobs_run = 0;     // job_add jobs and post()ed functions run
    std::uint64_t idle_rearms = 0;  // dispatches that consumed nothing: re-armed after a delay
    std::uint64_t spurious = 0;     // wake-ups where poll(2) then reported nothing
    std::size_t watches = 0;        // fds registered now
    std::array<std::size_t, 3> watches_at{};  // of which at each Priority (index = value)
    std::size_t queued = 0;                   // ready fds + jobs waiting for a drain
};

class PollBridge {
  public:
    static constexpr std::chrono::milliseconds kIdleRearmDefault{1};

    explicit PollBridge(boost::asio::io_context& io,
                        std::chrono::milliseconds idle_rearm = kIdleRearmDefault);
    // Releases every fd still registered (never closes one); queued jobs are dropped.
    ~PollBridge();
    PollBridge(const PollBridge&) = delete;
    PollBridge& operator=(const PollBridge&) = delete;

    // qb_ipcs_job_add_fn: runs fn(data) from a later drain. Returns 0.
    int job_add(Priority p, void* data, JobFn fn);
    // The same queue for our own work (the event out-queue flush, deferred disconnects).
    void post(Priority p, std::function<void()> fn);

    // qb_ipcs_dispatch_add_fn: 0, -EEXIST (fd already registered), -EBADF (fd < 0), or the
    // negative errno of registering it with the io_context's reactor.
    int dispatch_add(Priority p, int fd, int events, void* data, DispatchFn fn);
    // qb_ipcs_dispatch_mod_fn: new priority, events, data and fn; -EBADF if fd is unknown
    // (qb_loop's answer; libqb's socket transport modifies an fd it never added).
    int dispatch_mod(Priority p, int fd, int events, void* data, DispatchFn fn);
    // qb_ipcs_dispatch_del_fn: 0, or -EBADF if unknown. The fd is released, not closed.
    int dispatch_del(int fd);

    // Calls the dispatch fn of every fd still registered once, synchronously, with
    // `revents`, removing those that return negative; then releases whatever is still
    // registered. Returns how many were still registered after their call. For shutdown:
    // after qb_ipcs_destroy, the only fds libqb still has here are half-authenticated
    // connections, which its auth fn closes when it sees POLLHUP.
    std::size_t dispatch_all_and_clear(int revents);

    std::vector<int> fds() const;
    PollBridgeStats stats() const;

    // The bridge libqb's poll handlers reach (nullptr outside any Scope).
    static PollBridge* current();
    class Scope {
      public:
        explicit Scope(PollBridge& b);
        ~Scope();
        Scope(const Scope&) = delete;
        Scope& operator=(const Scope&) = delete;

      private:
        PollBridge* prev_;
    };

  private:
    struct Impl;
    std::shared_ptr<Impl> impl_;  // shared: Asio handlers hold a weak_ptr to it
};

}  // namespace totem::ipc
