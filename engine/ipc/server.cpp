#include "engine/ipc/server.hpp"

#include <poll.h>
#include <qb/qbdefs.h>
#include <qb/qbipc_common.h>
#include <qb/qbipcs.h>

#include <fmt/format.h>
#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <set>

#include "common/assert.hpp"

namespace totem::ipc {

namespace asio = boost::asio;

namespace {

// libqb:include/qb/qbipc_common.h, struct qb_ipc_request_header (services-and-ipc.md A2.1).
constexpr std::size_t kRequestHeaderSize = 16;
static_assert(sizeof(qb_ipc_request_header) == kRequestHeaderSize);

// corosync's CS_IPCS_MAPPER_SERV_NAME is 256; libqb also builds ring file names (NAME_MAX) and
// the abstract socket address (107 bytes) from it, so a long name breaks silently there.
constexpr std::size_t kServiceNameMax = 64;

// corosync's cs_ipcs_conn_context.proc_name is char[32].
constexpr std::size_t kProcNameMax = 31;

static_assert(static_cast<int>(Priority::low) == QB_LOOP_LOW);
static_assert(static_cast<int>(Priority::med) == QB_LOOP_MED);
static_assert(static_cast<int>(Priority::high) == QB_LOOP_HIGH);
static_assert(static_cast<int>(RateLimit::fast) == QB_IPCS_RATE_FAST);
static_assert(static_cast<int>(RateLimit::normal) == QB_IPCS_RATE_NORMAL);
static_assert(static_cast<int>(RateLimit::slow) == QB_IPCS_RATE_SLOW);
static_assert(static_cast<int>(RateLimit::off) == QB_IPCS_RATE_OFF);
static_assert(static_cast<int>(RateLimit::off_2) == QB_IPCS_RATE_OFF_2);

// Never reused within the process, whatever Server they belong to.
std::atomic<ConnId> g_next_conn_id{1};

// The qb_ipcs_poll_handlers: libqb calls them with no context, from inside a call we made into
// libqb (or a dispatch fn or job the bridge runs), so the bridge is the current one.
PollBridge& current_bridge() {
    PollBridge* b = PollBridge::current();
    TOTEM_ASSERT(b != nullptr);  // a libqb call outside a PollBridge::Scope: our bug
    return *b;
}

Priority to_priority(enum qb_loop_priority p) {
    switch (p) {
        case QB_LOOP_LOW:
            return Priority::low;
        case QB_LOOP_HIGH:
            return Priority::high;
        default:
            return Priority::med;
    }
}

int32_t poll_job_add(enum qb_loop_priority p, void* data, qb_loop_job_dispatch_fn fn) {
    return current_bridge().job_add(to_priority(p), data, fn);
}
int32_t poll_dispatch_add(enum qb_loop_priority p, int32_t fd, int32_t events, void* data,
                          qb_ipcs_dispatch_fn_t fn) {
    return current_bridge().dispatch_add(to_priority(p), fd, events, data, fn);
}
int32_t poll_dispatch_mod(enum qb_loop_priority p, int32_t fd, int32_t events, void* data,
                          qb_ipcs_dispatch_fn_t fn) {
    return current_bridge().dispatch_mod(to_priority(p), fd, events, data, fn);
}
int32_t poll_dispatch_del(int32_t fd) {
    return current_bridge().dispatch_del(fd);
}

qb_ipcs_poll_handlers g_poll_handlers = {
    poll_job_add,
    poll_dispatch_add,
    poll_dispatch_mod,
    poll_dispatch_del,
};

std::string read_procname(pid_t pid) {
    std::string path = fmt::format("/proc/{}/stat", pid);
    std::FILE* f = std::fopen(path.c_str(), "r");
    if (!f)
        return {};
    char buf[256];
    bool got = std::fgets(buf, sizeof(buf), f) != nullptr;
    std::fclose(f);
    if (!got)
        return {};
    return procname_from_stat(buf).value_or(std::string{});
}

std::string errno_text(int negative_errno) {
    return std::strerror(-negative_errno);
}

}  // namespace

std::optional<std::string> procname_from_stat(std::string_view line) {
    std::size_t open = line.rfind('(');
    std::size_t close = line.rfind(')');
    if (open == std::string_view::npos || close == std::string_view::npos || close < open)
        return std::nullopt;
    if (close + 1 >= line.size() || line[close + 1] != ' ')
        return std::nullopt;
    std::string_view name = line.substr(open + 1, close - open - 1);
    return std::string(name.substr(0, kProcNameMax));
}

std::string_view to_string(RateLimit r) {
    switch (r) {
        case RateLimit::fast:
            return "fast";
        case RateLimit::normal:
            return "normal";
        case RateLimit::slow:
            return "slow";
        case RateLimit::off:
            return "off";
        case RateLimit::off_2:
            return "off_2";
    }
    return "?";
}

std::string_view to_string(EventResult r) {
    switch (r) {
        case EventResult::sent:
            return "sent";
        case EventResult::queued:
            return "queued";
        case EventResult::too_big:
            return "too_big";
        case EventResult::failed:
            return "failed";
        case EventResult::disconnecting:
            return "disconnecting";
        case EventResult::no_connection:
            return "no_connection";
    }
    return "?";
}

struct Server::Impl {
    struct Service;
    // One established connection (connection_created .. connection_closed).
    struct Conn {
        ConnInfo info;
        qb_ipcs_connection_t* qb = nullptr;
        Service* service = nullptr;
        // corosync's out-queue and its counters (cs_ipcs_conn_context).
        // Shared with the other clients the same event went to (one encoding, see core::IpcEvent).
        std::deque<SharedBytes> outq;
        std::size_t outq_bytes = 0;
        bool queueing = false;
        std::uint32_t queued = 0;
        std::uint32_t sent = 0;
        std::uint64_t invalid_request = 0;
        std::uint64_t overload = 0;
        // Ours.
        std::size_t outq_bytes_peak = 0;
        std::uint64_t events_dropped = 0;
        std::uint64_t responses_failed = 0;
        bool overflow = false;
        // Requests handed to the handler, and their count when the queue began: a client that
        // sends while its queue grows is busy in a send of its own, not stuck (see queue_event).
        std::uint64_t requests_seen = 0;
        std::uint64_t requests_at_queueing = 0;
        bool disconnecting = false;
        bool flush_posted = false;
    };

    struct Service {
        std::uint16_t id = 0;
        std::string name;
        qb_ipcs_service_t* qb = nullptr;  // nullptr once destroyed
        Impl* impl = nullptr;
        std::optional<RateLimit> limit;  // the last rate_limit(), for connections that come later
    };

    Impl(asio::io_context& io_, Handler& h, Options o)
        : handler(h), options(std::move(o)), bridge(io_), retry_timer(io_) {}

    Handler& handler;
    Options options;
    PollBridge bridge;
    asio::steady_timer retry_timer;
    bool retry_armed = false;
    std::set<ConnId> retry_ids;

    // Services live as long as the Server: libqb's connections point at them.
    std::map<std::uint16_t, std::unique_ptr<Service>> services;
    std::map<ConnId, std::unique_ptr<Conn>> conns;
    // uid/gid from connection_accept, until connection_created (libqb has no getter).
    std::map<qb_ipcs_connection_t*, std::pair<uid_t, gid_t>> admitted;
    GlobalStats global;
    // cb_msg's private copy of a request, reused (kept up to kRequestBufKeepBytes of capacity:
    // one 1 MiB request does not pin 1 MiB for good).
    static constexpr std::size_t kRequestBufKeepBytes = 64 * 1024;
    Bytes request_buf;
    int callback_depth = 0;  // inside a libqb service callback
    bool shut = false;

    void log(LogLevel level, const std::string& text) const {
        if (options.log)
            options.log(level, text);
    }

    std::string describe(const Conn& c) const {
        return fmt::format("pid {} ({}) on service {} [{}]", c.info.pid,
                           c.info.procname.empty() ? "?" : c.info.procname, c.service->name,
                           c.service->id);
    }

    Conn* find(ConnId id) const {
        auto it = conns.find(id);
        return it == conns.end() ? nullptr : it->second.get();
    }

    enum qb_ipc_type ipc_type() const {
        const std::string& t = options.type;
        if (t == "native" || t.empty())
            return QB_IPC_NATIVE;
        if (t == "shm")
            return QB_IPC_SHM;
        if (t == "socket")
            return QB_IPC_SOCKET;
        log(LogLevel::debug, fmt::format("Unknown ipc type {}", t));
        return QB_IPC_NATIVE;
    }

    // --- the five service callbacks (exec/ipc_glue.c: corosync_service_funcs) ---

    struct Depth {
        explicit Depth(Impl& i) : impl(i) { ++impl.callback_depth; }
        ~Depth() { --impl.callback_depth; }
        Impl& impl;
    };

    static Service* service_of(qb_ipcs_connection_t* c) {
        return static_cast<Service*>(qb_ipcs_connection_service_context_get(c));
    }

    static int32_t cb_accept(qb_ipcs_connection_t* c, uid_t uid, gid_t gid) {
        Service* s = service_of(c);
        if (s == nullptr || s->impl->shut || s->qb == nullptr)
            return -ENOSYS;  // corosync's answer for a service that is not there
        Impl& impl = *s->impl;
        Depth d(impl);
        int rc = impl.handler.on_accept(s->id, uid, gid);
        if (rc > 0)
            rc = -rc;  // a positive errno by mistake still refuses
        if (rc == 0)
            impl.admitted[c] = {uid, gid};
        return rc;
    }

    static void cb_created(qb_ipcs_connection_t* c) {
        Service* s = service_of(c);
        TOTEM_ASSERT(s != nullptr);
        Impl& impl = *s->impl;
        Depth d(impl);
        auto conn = std::make_unique<Conn>();
        conn->qb = c;
        conn->service = s;
        conn->info.id = g_next_conn_id.fetch_add(1);
        conn->info.service = s->id;
        conn->info.qb_ptr = reinterpret_cast<std::uintptr_t>(c);
        if (auto it = impl.admitted.find(c); it != impl.admitted.end()) {
            conn->info.uid = it->second.first;
            conn->info.gid = it->second.second;
            impl.admitted.erase(it);
        }
        qb_ipcs_connection_stats st{};
        qb_ipcs_connection_stats_get(c, &st, QB_FALSE);
        conn->info.pid = st.client_pid;
        conn->info.procname = read_procname(st.client_pid);
        qb_ipcs_context_set(c, conn.get());
        ConnInfo info = conn->info;
        impl.conns.emplace(info.id, std::move(conn));
        impl.log(LogLevel::debug, fmt::format("connection created: {}", info.id));
        // libqb sets the flow-control word only of the connections present at the
        // qb_ipcs_request_rate_limit call; corosync catches later ones with its 1 ms recheck.
        if (s->limit && (*s->limit == RateLimit::off || *s->limit == RateLimit::off_2)) {
            PollBridge::Scope scope(impl.bridge);
            qb_ipcs_request_rate_limit(s->qb, static_cast<qb_ipcs_rate_limit>(*s->limit));
        }
        impl.handler.on_connected(info);
    }

    static int32_t cb_msg(qb_ipcs_connection_t* c, void* data, size_t size) {
        Conn* conn = static_cast<Conn*>(qb_ipcs_context_get(c));
        if (conn == nullptr)
            return -EINVAL;  // not established (cannot happen: libqb adds the fd before)
        Impl& impl = *conn->service->impl;
        Depth d(impl);
        if (conn->disconnecting)
            return -ENOTCONN;  // being cut off: its remaining requests are not served
        // libqb hands hdr->size, straight from the client; the bytes behind `data` are the
        // connection's buffer (SHM: its request ring), so only a size within it is readable.
        int32_t buffer = qb_ipcs_connection_get_buffer_size(c);
        if (size < kRequestHeaderSize || buffer < 0 || size > static_cast<std::size_t>(buffer)) {
            ++impl.global.framing_errors;
            impl.log(LogLevel::warning,
                     fmt::format("IPC request of {} bytes (header size) from {} is outside "
                                 "[{}, {}]: disconnecting it",
                                 static_cast<std::int64_t>(static_cast<std::int32_t>(size)),
                                 impl.describe(*conn), kRequestHeaderSize, buffer));
            impl.disconnect(conn->info.id);
            return -EINVAL;
        }
        // A private copy: an SHM request lives in memory the client shares and can rewrite while
        // the handler decodes it (a length checked, then re-read).
        // The copy goes into a buffer reused from request to request: taken out of the Impl for
        // the call (a nested request, if the handler ever caused one, finds it empty and
        // allocates its own) and put back after it, keeping its capacity.
        const auto* p = static_cast<const std::uint8_t*>(data);
        Bytes copy = std::move(impl.request_buf);
        copy.assign(p, p + size);
        ++conn->requests_seen;
        ConnId id = conn->info.id;
        int rc = impl.handler.on_request(id, copy);
        if (copy.capacity() <= Impl::kRequestBufKeepBytes)
            impl.request_buf = std::move(copy);
        if (Conn* still = impl.find(id)) {
            if (rc == -EINVAL)
                ++still->invalid_request;
            else if (rc < 0)
                ++still->overload;
        }
        return rc;
    }

    static int32_t cb_closed(qb_ipcs_connection_t* c) {
        Conn* conn = static_cast<Conn*>(qb_ipcs_context_get(c));
        if (conn != nullptr)
            conn->service->impl->close(c, conn);
        return 0;  // never "call me again"
    }

    static void cb_destroyed(qb_ipcs_connection_t* c) {
        Service* s = service_of(c);
        if (s != nullptr)
            s->impl->admitted.erase(c);
        Conn* conn = static_cast<Conn*>(qb_ipcs_context_get(c));
        if (conn != nullptr)  // closed never ran (disconnected before it was established)
            conn->service->impl->close(c, conn);
    }

    void close(qb_ipcs_connection_t* c, Conn* conn) {
        Depth d(*this);
        qb_ipcs_context_set(c, nullptr);
        auto it = conns.find(conn->info.id);
        TOTEM_ASSERT(it != conns.end() && it->second.get() == conn);
        std::unique_ptr<Conn> owned = std::move(it->second);
        conns.erase(it);
        retry_ids.erase(owned->info.id);
        ++global.closed;
        log(LogLevel::debug, fmt::format("connection closed: {}", owned->info.id));
        handler.on_closed(owned->info.id);
    }

    // --- events: corosync's msg_send_or_queue / outq_flush, plus the cap ---

    // `shared`, when given, holds the bytes of `event`: a queued event shares them instead of
    // taking a copy.
    EventResult send_event(ConnId id, ByteView event, const SharedBytes* shared) {
        Conn* conn = find(id);
        if (conn == nullptr)
            return EventResult::no_connection;
        if (conn->disconnecting) {
            ++conn->events_dropped;
            return EventResult::disconnecting;
        }
        int32_t buffer = qb_ipcs_connection_get_buffer_size(conn->qb);
        if (buffer < 0 || event.size() > static_cast<std::size_t>(buffer)) {
            ++conn->events_dropped;
            log(LogLevel::error,
                fmt::format("event of {} bytes for {} is larger than its buffer ({}): dropped",
                            event.size(), describe(*conn), buffer));
            return EventResult::too_big;
        }
        if (!conn->queueing) {
            TOTEM_ASSERT(conn->outq.empty());
            ssize_t rc;
            {
                PollBridge::Scope scope(bridge);
                rc = qb_ipcs_event_send(conn->qb, event.data(), event.size());
            }
            if (rc == static_cast<ssize_t>(event.size())) {
                ++conn->sent;
                return EventResult::sent;
            }
            if (rc != -EAGAIN) {
                ++conn->events_dropped;
                log(LogLevel::error,
                    fmt::format("event_send returned {}, expected {}!", rc, event.size()));
                return EventResult::failed;
            }
            conn->queued = 0;
            conn->sent = 0;
            conn->queueing = true;
            conn->requests_at_queueing = conn->requests_seen;
            post_flush(*conn);
        }
        // Past the cap a client that has sent requests since its queue began keeps its
        // connection up to kEventQueueSendingFactor times the cap: it is busy in a send of its
        // own (libcpg sends a 1 MiB message as 17 synchronous PARTIAL_MCASTs and reads no event
        // meanwhile, while the other nodes' messages arrive). A client that stopped sends nothing.
        const bool sending = conn->requests_seen > conn->requests_at_queueing;
        const std::size_t limit = sending ? options.event_queue_max_bytes * kEventQueueSendingFactor
                                          : options.event_queue_max_bytes;
        if (conn->outq_bytes + event.size() > limit) {
            overflow(*conn, event.size(), limit);
            return EventResult::disconnecting;
        }
        conn->outq.push_back(shared != nullptr ? *shared
                                               : SharedBytes(Bytes(event.begin(), event.end())));
        conn->outq_bytes += event.size();
        conn->outq_bytes_peak = std::max(conn->outq_bytes_peak, conn->outq_bytes);
        ++conn->queued;
        return EventResult::queued;
    }

    void overflow(Conn& conn, std::size_t size, std::size_t limit) {
        log(LogLevel::error,
            fmt::format("IPC client {} does not read its events: {} events ({} bytes) are "
                        "queued and one of {} bytes would pass the limit of {} bytes; "
                        "disconnecting it",
                        describe(conn), conn.outq.size(), conn.outq_bytes, size, limit));
        conn.overflow = true;
        ++global.overflow_disconnects;
        ++conn.events_dropped;  // the one that did not fit; disconnect() counts the queue
        disconnect(conn.info.id);
    }

    void post_flush(Conn& conn) {
        if (conn.flush_posted)
            return;
        conn.flush_posted = true;
        ConnId id = conn.info.id;
        bridge.post(Priority::high, [this, id] { flush(id); });
    }

    void flush(ConnId id) {
        Conn* conn = find(id);
        if (conn == nullptr)
            return;
        conn->flush_posted = false;
        if (conn->disconnecting || !conn->queueing)
            return;
        PollBridge::Scope scope(bridge);
        while (!conn->outq.empty()) {
            const SharedBytes& m = conn->outq.front();
            ssize_t rc = qb_ipcs_event_send(conn->qb, m.data(), m.size());
            if (rc == -EAGAIN)
                break;
            if (rc != static_cast<ssize_t>(m.size())) {
                // corosync logs and stops here for good (the queue then never drains); the
                // event cannot be sent, so it is dropped and the rest go on.
                ++conn->events_dropped;
                log(LogLevel::error,
                    fmt::format("qb_ipcs_event_send for {}: {}", describe(*conn),
                                rc < 0 ? errno_text(static_cast<int>(rc)) : "short write"));
            } else {
                ++conn->sent;
            }
            --conn->queued;
            conn->outq_bytes -= m.size();
            conn->outq.pop_front();
        }
        if (conn->outq.empty()) {
            conn->queueing = false;
            log(LogLevel::info,
                fmt::format("Q empty, queued:{} sent:{}.", conn->queued, conn->sent));
            conn->queued = 0;
            conn->sent = 0;
            return;
        }
        retry_ids.insert(id);
        arm_retry();
    }

    void arm_retry() {
        if (retry_armed)
            return;
        retry_armed = true;
        retry_timer.expires_after(kEventRetryInterval);
        retry_timer.async_wait([this](const boost::system::error_code& ec) {
            if (ec)
                return;
            retry_armed = false;
            std::set<ConnId> ids;
            ids.swap(retry_ids);
            for (ConnId id : ids)
                if (Conn* c = find(id))
                    post_flush(*c);
        });
    }

    void disconnect(ConnId id) {
        Conn* conn = find(id);
        if (conn == nullptr || conn->disconnecting)
            return;
        conn->disconnecting = true;
        conn->events_dropped += conn->outq.size();
        conn->outq.clear();
        conn->outq_bytes = 0;
        conn->queued = 0;
        conn->queueing = false;
        retry_ids.erase(id);
        bridge.post(Priority::high, [this, id] {
            if (Conn* c = find(id)) {
                PollBridge::Scope scope(bridge);
                qb_ipcs_disconnect(c->qb);
            }
        });
    }

    void shutdown() {
        if (shut)
            return;
        if (callback_depth > 0) {
            // qb_ipcs_destroy inside a libqb callback would free what libqb is working on.
            bridge.post(Priority::high, [this] { shutdown(); });
            return;
        }
        shut = true;
        retry_timer.cancel();
        {
            PollBridge::Scope scope(bridge);
            for (auto& [id, s] : services) {
                if (s->qb != nullptr) {
                    qb_ipcs_destroy(s->qb);
                    s->qb = nullptr;
                }
            }
        }
        std::size_t left = bridge.dispatch_all_and_clear(POLLHUP);
        if (left > 0)
            log(LogLevel::warning,
                fmt::format("IPC shutdown: {} descriptors were still registered by libqb", left));
        TOTEM_ASSERT(conns.empty());
    }
};

Server::Server(asio::io_context& io, Handler& handler, Options options)
    : impl_(std::make_unique<Impl>(io, handler, std::move(options))) {}

Server::~Server() {
    TOTEM_ASSERT(impl_->callback_depth == 0);
    shutdown();
}

Result<std::monostate, std::string> Server::add_service(std::uint16_t id, const std::string& name) {
    Impl& impl = *impl_;
    if (impl.shut)
        return Err{std::string("the IPC server is shut down")};
    if (impl.services.count(id))
        return Err{fmt::format("service id {} is already registered", id)};
    for (const auto& [sid, s] : impl.services)
        if (s->name == name)
            return Err{fmt::format("service name {} is already registered", name)};
    if (name.empty() || name.size() > kServiceNameMax ||
        name.find_first_of(std::string_view("/\0", 2)) != std::string::npos)
        return Err{fmt::format("invalid service name '{}'", name)};

    auto s = std::make_unique<Impl::Service>();
    s->id = id;
    s->name = name;
    s->impl = &impl;
    qb_ipcs_service_handlers handlers{};
    handlers.connection_accept = &Impl::cb_accept;
    handlers.connection_created = &Impl::cb_created;
    handlers.msg_process = &Impl::cb_msg;
    handlers.connection_closed = &Impl::cb_closed;
    handlers.connection_destroyed = &Impl::cb_destroyed;
    impl.log(LogLevel::debug, fmt::format("Initializing IPC on {} [{}]", name, id));
    qb_ipcs_service_t* qb = qb_ipcs_create(name.c_str(), id, impl.ipc_type(), &handlers);
    if (qb == nullptr)
        return Err{fmt::format("qb_ipcs_create({}) failed", name)};
    qb_ipcs_poll_handlers_set(qb, &g_poll_handlers);
    qb_ipcs_service_context_set(qb, s.get());
    int32_t rc;
    {
        PollBridge::Scope scope(impl.bridge);
        rc = qb_ipcs_run(qb);  // on failure it has released the service itself
    }
    if (rc != 0)
        return Err{fmt::format("qb_ipcs_run({}): {}", name, errno_text(rc < 0 ? rc : -rc))};
    s->qb = qb;
    impl.services.emplace(id, std::move(s));
    return std::monostate{};
}

bool Server::respond(ConnId id, ByteView response) {
    Impl::Conn* conn = impl_->find(id);
    if (conn == nullptr || conn->disconnecting)
        return false;
    ssize_t rc;
    {
        PollBridge::Scope scope(impl_->bridge);
        rc = qb_ipcs_response_send(conn->qb, response.data(), response.size());
    }
    if (rc == static_cast<ssize_t>(response.size()))
        return true;
    ++conn->responses_failed;
    impl_->log(LogLevel::debug, fmt::format("response of {} bytes to {}: {}", response.size(),
                                            impl_->describe(*conn),
                                            rc < 0 ? errno_text(static_cast<int>(rc)) : "short"));
    return false;
}

EventResult Server::send_event(ConnId id, ByteView event) {
    return impl_->send_event(id, event, nullptr);
}

EventResult Server::send_event(ConnId id, const SharedBytes& event) {
    return impl_->send_event(id, event.view(), &event);
}

void Server::disconnect(ConnId id) {
    impl_->disconnect(id);
}

void Server::rate_limit(std::uint16_t service, RateLimit limit) {
    auto it = impl_->services.find(service);
    if (it == impl_->services.end() || it->second->qb == nullptr)
        return;
    it->second->limit = limit;
    PollBridge::Scope scope(impl_->bridge);
    qb_ipcs_request_rate_limit(it->second->qb, static_cast<qb_ipcs_rate_limit>(limit));
}

std::optional<ConnStats> Server::stats(ConnId id) const {
    const Impl::Conn* conn = impl_->find(id);
    if (conn == nullptr)
        return std::nullopt;
    ConnStats s;
    if (qb_ipcs_connection_stats_2* q = qb_ipcs_connection_stats_get_2(conn->qb, QB_FALSE)) {
        s.client_pid = q->client_pid;
        s.requests = q->requests;
        s.responses = q->responses;
        s.events = q->events;
        s.send_retries = q->send_retries;
        s.recv_retries = q->recv_retries;
        s.flow_control_state = q->flow_control_state;
        s.flow_control_count = q->flow_control_count;
        s.event_q_length = q->event_q_length;
        std::free(q);
    }
    s.queueing = conn->queueing ? 1 : 0;
    s.queued = conn->queued;
    s.invalid_request = conn->invalid_request;
    s.overload = conn->overload;
    s.sent = conn->sent;
    s.queued_bytes = conn->outq_bytes;
    s.queued_bytes_peak = conn->outq_bytes_peak;
    s.events_dropped = conn->events_dropped;
    s.responses_failed = conn->responses_failed;
    s.overflow_disconnect = conn->overflow;
    return s;
}

std::optional<ConnInfo> Server::info(ConnId id) const {
    const Impl::Conn* conn = impl_->find(id);
    if (conn == nullptr)
        return std::nullopt;
    return conn->info;
}

std::vector<ConnInfo> Server::connections() const {
    std::vector<ConnInfo> out;
    for (const auto& [id, c] : impl_->conns)
        out.push_back(c->info);
    return out;
}

GlobalStats Server::global_stats() const {
    GlobalStats g = impl_->global;
    g.active = impl_->conns.size();
    return g;
}

void Server::clear_stats() {
    for (auto& [id, c] : impl_->conns) {
        qb_ipcs_connection_stats ignored{};
        qb_ipcs_connection_stats_get(c->qb, &ignored, QB_TRUE);
        c->invalid_request = 0;
        c->overload = 0;
        c->sent = 0;
        c->events_dropped = 0;
        c->responses_failed = 0;
        c->outq_bytes_peak = c->outq_bytes;
    }
    impl_->global.closed = 0;
    impl_->global.overflow_disconnects = 0;
    impl_->global.framing_errors = 0;
}

void Server::shutdown() {
    impl_->shutdown();
}

const PollBridge& Server::bridge() const {
    return impl_->bridge;
}

}  // namespace totem::ipc
