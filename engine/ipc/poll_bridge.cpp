#include "engine/ipc/poll_bridge.hpp"

#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <array>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <deque>
#include <map>
#include <optional>

#include "common/assert.hpp"

namespace totem::ipc {

namespace asio = boost::asio;

namespace {

thread_local PollBridge* g_current = nullptr;

// What poll(2) reports for fd right now (0: nothing; POLLNVAL for a closed fd).
int poll_now(int fd, int events) {
    pollfd p{};
    p.fd = fd;
    p.events = static_cast<short>(events);
    int r = ::poll(&p, 1, 0);
    if (r < 0)
        return 0;  // EINTR and friends: look again on the next wake-up
    return p.revents;
}

// Bytes waiting to be read on a stream socket, if the socket says.
std::optional<int> bytes_readable(int fd) {
    int n = 0;
    if (::ioctl(fd, FIONREAD, &n) != 0)
        return std::nullopt;
    return n;
}

bool is_stream_socket(int fd) {
    int type = 0;
    socklen_t len = sizeof(type);
    return ::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_STREAM;
}

constexpr int kReadEvents = POLLIN | POLLRDNORM;

struct Watch {
    enum class Phase : std::uint8_t {
        armed,      // async_waits outstanding
        idle_wait,  // the last dispatch consumed nothing: the idle timer re-arms
        ready,      // queued for a drain
        running     // its dispatch fn is on the stack
    };

    Watch(asio::io_context& io) : sd(io), idle(io) {}

    int fd = -1;
    int events = 0;
    Priority prio = Priority::med;
    void* data = nullptr;
    DispatchFn fn = nullptr;
    std::uint64_t id = 0;   // this registration; a re-add of the same fd gets a new one
    std::uint64_t gen = 0;  // bumped whenever outstanding waits become stale
    Phase phase = Phase::armed;
    bool stream = false;  // SOCK_STREAM: eligible for the no-progress check
    asio::posix::stream_descriptor sd;
    asio::steady_timer idle;
};

}  // namespace

struct PollBridge::Impl : std::enable_shared_from_this<PollBridge::Impl> {
    struct Item {
        int fd = -1;  // -1: a job
        std::uint64_t id = 0;
        std::function<void()> job;
    };

    Impl(asio::io_context& io_, std::chrono::milliseconds idle_, PollBridge* owner_)
        : io(io_), idle_rearm(idle_), owner(owner_) {}

    asio::io_context& io;
    std::chrono::milliseconds idle_rearm;
    PollBridge* owner;  // nullptr once the PollBridge is gone
    std::map<int, std::unique_ptr<Watch>> watches;
    std::array<std::deque<Item>, 3> queues;  // index = Priority
    bool drain_posted = false;
    bool draining = false;
    std::uint64_t next_id = 1;
    PollBridgeStats st;

    Watch* find(int fd, std::uint64_t id) {
        auto it = watches.find(fd);
        if (it == watches.end() || it->second->id != id)
            return nullptr;
        return it->second.get();
    }

    std::size_t queued() const { return queues[0].size() + queues[1].size() + queues[2].size(); }

    void enqueue(Priority p, Item item) {
        queues[static_cast<std::size_t>(p)].push_back(std::move(item));
        schedule_drain();
    }

    void schedule_drain() {
        if (drain_posted || draining)
            return;
        drain_posted = true;
        asio::post(io, [w = weak_from_this()] {
            if (auto s = w.lock())
                s->drain();
        });
    }

    // Runs at most what was queued on entry, highest priority first; what arrives meanwhile
    // competes by priority with what is left, and what is left goes to the next drain.
    void drain() {
        drain_posted = false;
        draining = true;
        auto self = shared_from_this();  // a job may destroy the PollBridge
        std::size_t budget = queued();
        while (budget > 0 && owner) {
            --budget;
            Item item;
            bool found = false;
            for (int p = 2; p >= 0 && !found; --p) {
                auto& q = queues[static_cast<std::size_t>(p)];
                if (!q.empty()) {
                    item = std::move(q.front());
                    q.pop_front();
                    found = true;
                }
            }
            if (!found)
                break;
            if (item.fd < 0) {
                ++st.jobs_run;
                Scope scope(*owner);
                item.job();
            } else {
                run_fd(item.fd, item.id);
            }
        }
        draining = false;
        if (owner && queued() > 0)
            schedule_drain();  // behind whatever else the loop has to do
    }

    void arm(Watch& w) {
        w.phase = Watch::Phase::armed;
        ++w.gen;
        auto handler = [wk = weak_from_this(), fd = w.fd, id = w.id,
                        gen = w.gen](const boost::system::error_code& ec) {
            if (ec == asio::error::operation_aborted)
                return;  // cancelled: a stale wait
            if (auto s = wk.lock())
                s->on_wait(fd, id, gen);
        };
        if (w.events & kReadEvents)
            w.sd.async_wait(asio::posix::stream_descriptor::wait_read, handler);
        if (w.events & POLLPRI)
            w.sd.async_wait(asio::posix::stream_descriptor::wait_error, handler);
        if (w.events & POLLOUT)
            w.sd.async_wait(asio::posix::stream_descriptor::wait_write, handler);
    }

    void on_wait(int fd, std::uint64_t id, std::uint64_t gen) {
        Watch* w = find(fd, id);
        if (!w || w->gen != gen || w->phase != Watch::Phase::armed)
            return;
        ++w->gen;  // the other waits of this arming are now stale
        boost::system::error_code ignored;
        w->sd.cancel(ignored);
        w->phase = Watch::Phase::ready;
        enqueue(w->prio, Item{fd, id, {}});
    }

    void idle_wait(Watch& w) {
        w.phase = Watch::Phase::idle_wait;
        ++w.gen;
        ++st.idle_rearms;
        w.idle.expires_after(idle_rearm);
        w.idle.async_wait(
            [wk = weak_from_this(), fd = w.fd, id = w.id, gen = w.gen](const auto& ec) {
                if (ec)
                    return;
                auto s = wk.lock();
                if (!s)
                    return;
                Watch* x = s->find(fd, id);
                if (x && x->gen == gen && x->phase == Watch::Phase::idle_wait)
                    s->arm(*x);
            });
    }

    void run_fd(int fd, std::uint64_t id) {
        Watch* w = find(fd, id);
        if (!w || w->phase != Watch::Phase::ready)
            return;  // removed (or removed and re-added) while queued
        int revents = poll_now(fd, w->events);
        if (revents == 0) {
            ++st.spurious;
            arm(*w);
            return;
        }
        std::optional<int> before;
        if (w->stream && (revents & ~(kReadEvents | POLLPRI)) == 0)
            before = bytes_readable(fd);
        w->phase = Watch::Phase::running;
        DispatchFn fn = w->fn;
        void* data = w->data;
        ++st.dispatches;
        std::int32_t res;
        {
            Scope scope(*owner);
            res = fn(fd, revents, data);
        }
        if (!owner)
            return;
        w = find(fd, id);  // the callback may have removed it (and re-added the fd)
        if (!w)
            return;
        if (res < 0) {
            remove(fd);
            return;
        }
        if (before && *before > 0) {
            std::optional<int> after = bytes_readable(fd);
            if (after && *after == *before) {
                idle_wait(*w);
                return;
            }
        }
        arm(*w);
    }

    void remove(int fd) {
        auto it = watches.find(fd);
        TOTEM_ASSERT(it != watches.end());
        Watch& w = *it->second;
        w.idle.cancel();
        if (w.sd.is_open())
            w.sd.release();  // libqb's fd: never closed here
        watches.erase(it);
    }

    void clear() {
        while (!watches.empty())
            remove(watches.begin()->first);
        for (auto& q : queues)
            q.clear();
    }
};

PollBridge::PollBridge(asio::io_context& io, std::chrono::milliseconds idle_rearm)
    : impl_(std::make_shared<Impl>(io, idle_rearm, this)) {}

PollBridge::~PollBridge() {
    impl_->owner = nullptr;
    impl_->clear();
    if (g_current == this)
        g_current = nullptr;
}

int PollBridge::job_add(Priority p, void* data, JobFn fn) {
    if (fn == nullptr)
        return -EINVAL;
    post(p, [data, fn] { fn(data); });
    return 0;
}

void PollBridge::post(Priority p, std::function<void()> fn) {
    impl_->enqueue(p, Impl::Item{-1, 0, std::move(fn)});
}

int PollBridge::dispatch_add(Priority p, int fd, int events, void* data, DispatchFn fn) {
    if (fd < 0 || fn == nullptr)
        return -EBADF;
    if (impl_->watches.count(fd))
        return -EEXIST;
    auto w = std::make_unique<Watch>(impl_->io);
    boost::system::error_code ec;
    w->sd.assign(fd, ec);
    if (ec)
        return ec.value() > 0 ? -ec.value() : -EINVAL;
    w->fd = fd;
    w->events = events;
    w->prio = p;
    w->data = data;
    w->fn = fn;
    w->id = impl_->next_id++;
    w->stream = is_stream_socket(fd);
    Watch& ref = *w;
    impl_->watches.emplace(fd, std::move(w));
    impl_->arm(ref);
    return 0;
}

int PollBridge::dispatch_mod(Priority p, int fd, int events, void* data, DispatchFn fn) {
    auto it = impl_->watches.find(fd);
    if (it == impl_->watches.end() || fn == nullptr)
        return -EBADF;
    Watch& w = *it->second;
    bool changed = w.events != events || w.prio != p;
    bool events_changed = w.events != events;
    w.prio = p;
    w.data = data;
    w.fn = fn;
    w.events = events;
    if (w.phase == Watch::Phase::armed && events_changed) {
        boost::system::error_code ignored;
        w.sd.cancel(ignored);
        impl_->arm(w);
    } else if (w.phase == Watch::Phase::idle_wait && changed) {
        w.idle.cancel();
        impl_->arm(w);  // a rate-limit change: look at the fd again now
    }
    return 0;
}

int PollBridge::dispatch_del(int fd) {
    if (!impl_->watches.count(fd))
        return -EBADF;
    impl_->remove(fd);
    return 0;
}

std::size_t PollBridge::dispatch_all_and_clear(int revents) {
    std::vector<std::pair<int, std::uint64_t>> regs;
    for (const auto& [fd, w] : impl_->watches)
        regs.emplace_back(fd, w->id);
    for (const auto& [fd, id] : regs) {
        Watch* w = impl_->find(fd, id);
        if (!w)
            continue;
        DispatchFn fn = w->fn;
        void* data = w->data;
        w->phase = Watch::Phase::running;
        std::int32_t res;
        {
            Scope scope(*this);
            res = fn(fd, revents, data);
        }
        if (impl_->find(fd, id) && res < 0)
            impl_->remove(fd);
    }
    std::size_t left = impl_->watches.size();
    impl_->clear();
    return left;
}

std::vector<int> PollBridge::fds() const {
    std::vector<int> out;
    for (const auto& [fd, w] : impl_->watches)
        out.push_back(fd);
    return out;
}

PollBridgeStats PollBridge::stats() const {
    PollBridgeStats s = impl_->st;
    s.watches = impl_->watches.size();
    for (const auto& [fd, w] : impl_->watches)
        ++s.watches_at[static_cast<std::size_t>(w->prio)];
    s.queued = impl_->queued();
    return s;
}

PollBridge* PollBridge::current() {
    return g_current;
}

PollBridge::Scope::Scope(PollBridge& b) : prev_(g_current) {
    g_current = &b;
}
PollBridge::Scope::~Scope() {
    g_current = prev_;
}

}  // namespace totem::ipc
