#include "engine/node/node.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "common/assert.hpp"
#include "engine/node/log.hpp"

namespace totem::node {

namespace {

constexpr std::uint16_t cmap_service = 0;
constexpr std::uint16_t cfg_service = 1;
// The transport snapshot is taken for every cmap and cfg request, and at most this often for
// the 1.5 s stats-tracker poll on timers.
constexpr auto snapshot_interval = std::chrono::milliseconds(500);

// sd_notify(0, "READY=1") without libsystemd: one datagram to $NOTIFY_SOCKET ('@' = abstract).
void notify_ready() {
    const char* path = std::getenv("NOTIFY_SOCKET");
    if (!path || !*path)
        return;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const std::size_t len = std::strlen(path);
    if (len >= sizeof addr.sun_path)
        return;
    std::memcpy(addr.sun_path, path, len);
    if (addr.sun_path[0] == '@')
        addr.sun_path[0] = '\0';
    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    static constexpr char msg[] = "READY=1";
    [[maybe_unused]] ssize_t n =
        ::sendto(fd, msg, sizeof msg - 1, MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&addr),
                 static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len));
    ::close(fd);
}

ipc::RateLimit to_ipc(core::RateLimit r) {
    switch (r) {
        case core::RateLimit::fast:
            return ipc::RateLimit::fast;
        case core::RateLimit::normal:
            return ipc::RateLimit::normal;
        case core::RateLimit::slow:
            return ipc::RateLimit::slow;
        case core::RateLimit::off:
            return ipc::RateLimit::off;
        case core::RateLimit::off_2:
            return ipc::RateLimit::off_2;
    }
    return ipc::RateLimit::normal;
}

core::CoreOptions core_options(const NodeOptions& o, NodeId nodeid) {
    core::CoreOptions c;
    c.stored_ring_seq = o.stored_ring_seq;
    c.votequorum.stored_ev_tracking_barrier = o.stored_ev_tracking_barrier;
    c.seed = nodeid;
    c.pload = o.pload;
    return c;
}

}  // namespace

Result<std::uint64_t, std::string> load_ring_seq(const std::string& state_dir, NodeId nodeid) {
    const std::string path = state_dir + "/ringid_" + std::to_string(nodeid);
    int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0 && errno == ENOENT) {
        fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0)
            return Err{"Couldn't create " + path + ": " + std::strerror(errno)};
        std::uint64_t zero = 0;
        const bool ok = ::write(fd, &zero, sizeof zero) == sizeof zero;
        ::close(fd);
        if (!ok)
            return Err{"Couldn't write " + path};
        return std::uint64_t{0};
    }
    if (fd < 0)
        return Err{"Couldn't open " + path + ": " + std::strerror(errno)};
    std::uint64_t seq = 0;
    const ssize_t n = ::read(fd, &seq, sizeof seq);
    ::close(fd);
    if (n != static_cast<ssize_t>(sizeof seq))
        return Err{"Couldn't read " + path + ": short file"};
    return seq;
}

Result<std::uint32_t, std::string> load_ev_tracking(const std::string& state_dir) {
    const std::string path = state_dir + "/ev_tracking";
    int fd = ::open(path.c_str(), O_RDWR);
    if (fd >= 0) {
        std::uint32_t v = 0;
        const ssize_t n = ::read(fd, &v, sizeof v);
        ::close(fd);
        if (n == static_cast<ssize_t>(sizeof v))
            return v;
    }
    fd = ::open(path.c_str(), O_CREAT | O_RDWR, 0700);
    if (fd < 0) {
        Logger::log(LogLevel::warning, "VOTEQ", "Unable to create " + path + " file");
        return Err{std::string("Unable to load ev_tracking file!")};
    }
    const std::uint32_t zero = 0;
    if (::write(fd, &zero, sizeof zero) != static_cast<ssize_t>(sizeof zero))
        Logger::log(LogLevel::warning, "VOTEQ", "Unable to write to " + path);
    ::close(fd);
    return std::uint32_t{0};
}

Node::Node(boost::asio::io_context& io, const conf::Config& config,
           std::unique_ptr<Transport> transport, NodeOptions options)
    : io_(io),
      transport_(std::move(transport)),
      options_(std::move(options)),
      origin_(std::chrono::steady_clock::now()),
      core_(config, core_options(options_, config.local_nodeid)),
      ipc_(io, *this,
           ipc::Options{
               options_.ipc_type, ipc::kEventQueueMaxBytesDefault,
               [](LogLevel level, std::string_view msg) { Logger::log(level, "MAIN", msg); }}),
      timer_(io),
      pause_timer_(io),
      token_ms_(config.totem.effective_token_ms) {
    transport_->set_receiver([this](ByteView d) {
        if (!stopping_)
            call([&] { core_.on_packet(now(), d); });
    });
    apply();  // the core's start-up log lines
}

Node::~Node() = default;

Instant Node::now() const {
    return Instant{std::chrono::duration_cast<std::chrono::microseconds>(
                       std::chrono::steady_clock::now() - origin_)
                       .count()};
}

std::string Node::listen() {
    for (std::uint16_t id : core_.load_order()) {  // corosync initialises IPC as it links
        const services::Service* s = core_.service(id);
        if (!s || s->info().lib_count == 0)
            continue;
        const std::string name(s->info().short_name);
        auto r = ipc_.add_service(id, name);
        if (!r)
            return "Can't initialize IPC for " + name + ": " + r.error();
    }
    return {};
}

template <typename F>
void Node::call(F&& f) {
    snapshot_if_due();
    f();
    apply();
}

void Node::start() {
    snapshot();
    call([&] { core_.start(now()); });
    last_pause_check_ = std::chrono::steady_clock::now();
    schedule_pause_check();
}

void Node::snapshot() {
    TransportSnapshot s;
    s.transport = core_.config_view().totem.transport == conf::Transport::Knet ? "knet" : "udpu";
    s.nodes = transport_->status();
    s.knet = transport_->handle_stats();
    s.counters = transport_->counters();
    core_.update_transport(s);
    core::IpcSnapshot i;
    for (const ipc::ConnInfo& c : ipc_.connections()) {
        auto st = ipc_.stats(c.id);
        if (!st)
            continue;
        core::IpcConnStats cs;
        cs.conn = c.id;
        cs.requests = st->requests;
        cs.responses = st->responses;
        cs.dispatched = st->events;
        cs.send_retries = st->send_retries;
        cs.recv_retries = st->recv_retries;
        cs.flow_control = st->flow_control_state;
        cs.flow_control_count = st->flow_control_count;
        cs.queueing = st->queueing;
        cs.queued = st->queued;
        cs.sent = st->sent;
        i.conns.push_back(cs);
    }
    const ipc::GlobalStats g = ipc_.global_stats();
    i.closed = g.closed;
    i.overflow_disconnects = g.overflow_disconnects;
    core_.update_ipc(i);
    last_snapshot_ = std::chrono::steady_clock::now();
}

void Node::snapshot_if_due() {
    if (std::chrono::steady_clock::now() - last_snapshot_ >= snapshot_interval)
        snapshot();
}

void Node::apply() {
    TOTEM_ASSERT(!applying_);  // no effect handler calls back into the driver's core path
    applying_ = true;
    // Effects that need the core again (a re-read configuration, reopened logs) run after the
    // batch, so that the core's outbox is empty when it is called.
    std::vector<std::function<void()>> after;
    for (auto& effect : core_.take_effects()) {
        std::visit(
            [&](auto& e) {
                using T = std::decay_t<decltype(e)>;
                if constexpr (std::is_same_v<T, SendEffect>) {
                    transport_->send(e.target, e.datagram);
                } else if constexpr (std::is_same_v<T, PersistRingSeqEffect>) {
                    persist_ring_seq(e.seq);
                } else if constexpr (std::is_same_v<T, core::LogLine>) {
                    Logger::log(e.level, e.subsys, e.text);
                } else if constexpr (std::is_same_v<T, core::IpcResponse>) {
                    ipc_.respond(e.conn, e.message);
                } else if constexpr (std::is_same_v<T, core::IpcEvent>) {
                    ipc_.send_event(e.conn, e.message);
                } else if constexpr (std::is_same_v<T, core::IpcDisconnect>) {
                    ipc_.disconnect(e.conn);
                } else if constexpr (std::is_same_v<T, core::IpcRateLimit>) {
                    ipc_.rate_limit(e.service, to_ipc(e.limit));
                } else if constexpr (std::is_same_v<T, core::ReadyEffect>) {
                    notify_ready();
                } else if constexpr (std::is_same_v<T, services::ExitAction>) {
                    after.push_back([this, status = e.status] { exit_with(status); });
                } else if constexpr (std::is_same_v<T, services::ReloadConfigAction>) {
                    after.push_back([this] { reload_config(); });
                } else if constexpr (std::is_same_v<T, services::ReopenLogsAction>) {
                    after.push_back([this, conn = e.conn] {
                        const bool ok = Logger::reopen();
                        core_.logs_reopened(now(), conn, ok);
                    });
                } else if constexpr (std::is_same_v<T, services::DumpBlackboxAction>) {
                    Logger::dump_blackbox(options_.state_dir + "/fdata");
                } else if constexpr (std::is_same_v<T, services::PersistEvTrackingAction>) {
                    persist_ev_tracking(e.barrier);
                } else if constexpr (std::is_same_v<T, services::ClearStatsAction>) {
                    if (e.groups & services::kStatsClearIpc)
                        ipc_.clear_stats();
                    if (e.groups & services::kStatsClearKnet)
                        transport_->clear_stats();
                }
            },
            effect);
    }
    applying_ = false;
    for (auto& f : after) {
        f();
        apply();
    }
    if (!stopping_)
        arm_timer();
}

void Node::arm_timer() {
    auto deadline = core_.next_deadline();
    if (!deadline) {
        timer_.cancel();
        return;
    }
    timer_.expires_at(origin_ + std::chrono::microseconds(deadline->us));
    timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec || stopping_)
            return;
        call([&] { core_.on_timer(now()); });
    });
}

// corosync's pause timer: runs every token/5; a late run means the process was not scheduled.
void Node::schedule_pause_check() {
    const auto interval = std::chrono::milliseconds(token_ms_ / 5);
    pause_timer_.expires_after(interval);
    pause_timer_.async_wait([this, interval](const boost::system::error_code& ec) {
        if (ec || stopping_)
            return;
        const auto t = std::chrono::steady_clock::now();
        const auto late =
            std::chrono::duration_cast<std::chrono::milliseconds>(t - last_pause_check_ - interval);
        last_pause_check_ = t;
        const auto threshold = std::chrono::milliseconds(token_ms_ / 2);
        if (late > threshold) {
            Logger::log(LogLevel::warning, "MAIN",
                        "Corosync main process was not scheduled for " +
                            std::to_string(late.count()) + " ms (threshold is " +
                            std::to_string(threshold.count()) +
                            " ms). Consider token timeout increase.");
            const auto epoch = std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count();
            call([&] {
                core_.on_pause(now(), Duration::ms(late.count()),
                               static_cast<std::uint64_t>(epoch));
            });
        }
        schedule_pause_check();
    });
}

void Node::persist_ring_seq(std::uint64_t seq) {
    const std::string path =
        options_.state_dir + "/ringid_" + std::to_string(core_.config_view().local_nodeid);
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    bool ok = fd >= 0 && ::write(fd, &seq, sizeof seq) == sizeof seq;
    if (fd >= 0)
        ok = (::fsync(fd) == 0) && ok, ::close(fd);
    if (!ok)
        Logger::log(LogLevel::error, "MAIN",
                    "Couldn't store the ring id in " + path + ": " + std::strerror(errno));
}

// update_ev_tracking_barrier's write (corosync 3.1.7 closes the file after loading it, so its
// writes fail with "Unable to update ..."; totemd stores the barrier: docs/protocol/deviations.md).
void Node::persist_ev_tracking(std::uint32_t barrier) {
    const std::string path = options_.state_dir + "/ev_tracking";
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT, 0700);
    bool ok = fd >= 0 && ::pwrite(fd, &barrier, sizeof barrier, 0) == sizeof barrier;
    if (fd >= 0)
        ok = (::fdatasync(fd) == 0) && ok, ::close(fd);
    if (!ok)
        Logger::log(LogLevel::warning, "VOTEQ",
                    "Unable to update ev_tracking_barrier on disk data!!!");
}

void Node::reload_config() {
    const conf::Config before = core_.config_view();
    auto loaded = conf::load_file(options_.config_path, options_.load);
    Result<conf::Config, std::string> r =
        loaded ? Result<conf::Config, std::string>(std::move(loaded->config))
               : Result<conf::Config, std::string>(Err{loaded.error().str()});
    core_.reload_done(now(), std::move(r));
    apply();
    Logger::reconfigure(core_.config_view().logging);
    update_transport_nodes(before);
}

void Node::update_transport_nodes(const conf::Config& before) {
    // corosync's totemconfig_commit_new_params: every node of the new nodelist (its links follow
    // its addresses), every node that left it removed; then the link settings re-applied.
    const conf::Config& after = core_.config_view();
    if (!options_.transport_config)
        return;
    auto next = options_.transport_config(after);
    if (!next) {
        Logger::log(LogLevel::error, "TOTEM", "Cannot apply the new nodelist: " + next.error());
        return;
    }
    for (const auto& n : before.nodes) {
        const bool kept = std::any_of(next->nodes.begin(), next->nodes.end(),
                                      [&](const TransportNode& t) { return t.nodeid == n.nodeid; });
        if (kept || n.nodeid == after.local_nodeid)
            continue;
        if (auto r = transport_->remove_node(n.nodeid); !r)
            Logger::log(LogLevel::error, "TOTEM",
                        "Cannot remove node " + std::to_string(n.nodeid) + ": " + r.error());
    }
    for (const TransportNode& tn : next->nodes)
        if (auto r = transport_->add_node(tn); !r)
            Logger::log(LogLevel::error, "TOTEM",
                        "Cannot configure node " + std::to_string(tn.nodeid) + ": " + r.error());
    if (auto r = transport_->reconfigure_links(*next); !r)
        Logger::log(LogLevel::error, "TOTEM", "Cannot apply the new link settings: " + r.error());
}

void Node::exit_with(int status) {
    if (stopping_)
        return;
    stopping_ = true;
    timer_.cancel();
    pause_timer_.cancel();
    transport_->stop();
    ipc_.shutdown();
    if (on_exit)
        on_exit(status);
    if (done_)
        boost::asio::post(io_, std::move(done_));
}

void Node::leave_and_stop(std::string reason, std::function<void()> done) {
    if (stopping_)
        return;
    done_ = std::move(done);
    call([&] { core_.leave(now(), std::move(reason)); });
}

std::string Node::dump_keys() {
    snapshot();
    std::string out = core_.keys_view().dump();
    out += core_.stats_view().dump();
    return out;
}

// ---- ipc::Handler ---------------------------------------------------------------------------

int Node::on_accept(std::uint16_t service, uid_t uid, gid_t gid) {
    const int r = core_.ipc_accept(service, uid, gid);
    apply();
    return r;
}

void Node::on_connected(const ipc::ConnInfo& info) {
    services::ClientInfo c;
    c.conn = info.id;
    c.service = info.service;
    c.pid = info.pid;
    c.uid = info.uid;
    c.gid = info.gid;
    c.procname = info.procname;
    c.pointer = info.qb_ptr;
    call([&] { core_.ipc_connected(now(), c); });
}

int Node::on_request(ipc::ConnId id, ByteView request) {
    const auto info = ipc_.info(id);
    if (info && (info->service == cmap_service || info->service == cfg_service))
        snapshot();
    int r = 0;
    call([&] { r = core_.ipc_request(now(), id, request); });
    return r;
}

void Node::on_closed(ipc::ConnId id) {
    call([&] { core_.ipc_closed(now(), id); });
}

}  // namespace totem::node
