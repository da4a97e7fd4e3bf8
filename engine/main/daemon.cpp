// run_daemon: from a checked Config to a running node — logging, the one-daemon-per-namespace
// lock, the authkey, the transport, the ring seq file, signals, and the loop.
#include "engine/main/daemon.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "engine/node/log.hpp"
#include "engine/node/node.hpp"
#include "qb/qblog.h"
#include "transport/knet.hpp"
#include "transport/udpu.hpp"

namespace totem {

namespace {

using node::Logger;

constexpr std::size_t kKeyMin = 128;   // KNET_MIN_KEY_LEN
constexpr std::size_t kKeyMax = 4096;  // KNET_MAX_KEY_LEN

std::string g_blackbox_path;

// After a crash, write the flight recorder before dying, as corosync does.
void crash_handler(int sig) {
    if (!g_blackbox_path.empty())
        qb_log_blackbox_write_to_file(g_blackbox_path.c_str());
    ::signal(sig, SIG_DFL);
    ::raise(sig);
}

// Without -f: fork before anything starts a thread (libknet's handles do), as corosync does,
// but keep the terminal until the start-up is decided. The parent waits on a pipe: "ready" from
// the child is exit 0; the pipe closing without it (the child printed why on the inherited
// stderr and exited) is exit 1. Returns the pipe's write end in the child, -1 on error.
int detach(std::string& error) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) {
        error = std::string("pipe(): ") + std::strerror(errno);
        return -1;
    }
    const pid_t pid = ::fork();
    if (pid < 0) {
        error = std::string("fork(): ") + std::strerror(errno);
        return -1;
    }
    if (pid > 0) {
        ::close(p[1]);
        std::string got;
        char buf[64];
        for (;;) {
            ssize_t n = ::read(p[0], buf, sizeof buf);
            if (n > 0)
                got.append(buf, static_cast<std::size_t>(n));
            else if (n == 0 || errno != EINTR)
                break;
        }
        ::_exit(got == "ready" ? 0 : 1);  // no atexit handlers: the child owns the logs now
    }
    ::close(p[0]);
    ::setsid();
    return p[1];
}

// The child has started: release the terminal, then the waiting parent.
void report_ready(int fd) {
    int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull >= 0) {
        for (int std_fd : {0, 1, 2})
            ::dup2(devnull, std_fd);
        ::close(devnull);
    }
    [[maybe_unused]] ssize_t n = ::write(fd, "ready", 5);
    ::close(fd);
}

// One daemon per network namespace: an abstract unix socket is per namespace and vanishes
// with the process, so a stale lock cannot exist.
int take_namespace_lock(std::string& error) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        error = std::string("cannot create the lock socket: ") + std::strerror(errno);
        return -1;
    }
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const char name[] = "totemd-instance-lock";
    std::memcpy(addr.sun_path + 1, name, sizeof name - 1);
    const socklen_t len = offsetof(sockaddr_un, sun_path) + 1 + sizeof name - 1;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
        error = errno == EADDRINUSE
                    ? "another totemd is already running in this network namespace"
                    : std::string("cannot take the instance lock: ") + std::strerror(errno);
        ::close(fd);
        return -1;
    }
    return fd;
}

Result<Bytes, std::string> read_key(const conf::Config& c) {
    const conf::Totem& t = c.totem;
    if (!t.key.empty()) {
        if (t.key.size() > kKeyMax)
            return Err{std::string("totem.key is too long (max 4096 bytes)")};
        if (t.key.size() < kKeyMin)
            return Err{"totem.key is too short: " + std::to_string(t.key.size()) +
                       " bytes, at least 128 are needed"};
        return Bytes(t.key.begin(), t.key.end());
    }
    const std::string path = t.keyfile;
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return Err{"Could not open " + path + ": " + std::strerror(errno)};
    Bytes key(kKeyMax);
    in.read(reinterpret_cast<char*>(key.data()), static_cast<std::streamsize>(key.size()));
    key.resize(static_cast<std::size_t>(in.gcount()));
    if (key.size() < kKeyMin)
        return Err{"Could only read " + std::to_string(key.size() * 8) + " bits of " +
                   std::to_string(kKeyMin * 8) + " expected bits from " + path};
    return key;
}

Result<TransportConfig, std::string> transport_config(const conf::Config& c) {
    TransportConfig tc;
    switch (c.totem.transport) {
        case conf::Transport::Knet:
            tc.kind = TransportKind::knet;
            break;
        case conf::Transport::Udpu:
            tc.kind = TransportKind::udpu;
            break;
        case conf::Transport::Udp:
            return Err{std::string(
                "transport udp (multicast) is not supported by totemd: use knet or udpu")};
    }
    tc.my_nodeid = c.local_nodeid;
    for (const auto& n : c.nodes) {
        TransportNode tn;
        tn.nodeid = n.nodeid;
        for (unsigned l = 0; l < conf::kInterfaceMax; ++l)
            if (n.ring_addr[l])
                tn.addrs[l] = n.ring_addr[l]->str();
        tc.nodes.push_back(tn);
    }
    for (unsigned l = 0; l < conf::kInterfaceMax; ++l) {
        const conf::Link& link = c.totem.links[l];
        LinkConfig& lc = tc.links[l];
        lc.port = link.mcastport;
        lc.knet_transport = link.knet_transport == conf::KnetTransport::Sctp ? "sctp" : "udp";
        lc.priority = link.knet_link_priority;
        lc.ping_interval_ms = link.knet_ping_interval_ms;
        lc.ping_timeout_ms = link.knet_ping_timeout_ms;
        lc.ping_precision = link.knet_ping_precision;
        lc.pong_count = static_cast<std::uint8_t>(link.knet_pong_count);
    }
    tc.token_ms = c.totem.effective_token_ms;
    tc.crypto_model = c.totem.crypto_model;
    tc.crypto_cipher = c.totem.crypto_cipher;
    tc.crypto_hash = c.totem.crypto_hash;
    tc.cluster_name = c.totem.cluster_name;
    switch (c.totem.link_mode) {
        case conf::LinkMode::Passive:
            tc.link_mode = LinkMode::passive;
            break;
        case conf::LinkMode::Active:
            tc.link_mode = LinkMode::active;
            break;
        case conf::LinkMode::Rr:
            tc.link_mode = LinkMode::rr;
            break;
    }
    tc.block_unlisted_ips = c.totem.block_unlisted_ips;
    tc.knet_pmtud_interval_s = c.totem.knet_pmtud_interval_s;
    tc.knet_mtu = c.totem.knet_mtu;
    tc.compression_model = c.totem.knet_compression_model;
    tc.compression_threshold = c.totem.knet_compression_threshold;
    tc.compression_level = c.totem.knet_compression_level;
    tc.netmtu = c.totem.netmtu;
    if (tc.crypto_enabled()) {
        auto key = read_key(c);
        if (!key)
            return Err{key.error()};
        tc.key = std::move(*key);
    }
    tc.log = [](LogLevel level, std::string_view subsys, std::string_view msg) {
        Logger::log(level, subsys, msg);
    };
    return tc;
}

// TOTEMD_PLOAD="interval_ms[,burst[,size[,count[,min_members]]]]": the built-in load generator
// (demo, tests); min_members: send only while the ring has at least that many members.
void parse_pload(services::PloadOptions& o) {
    const char* env = std::getenv("TOTEMD_PLOAD");
    if (!env || !*env)
        return;
    unsigned interval = 0, burst = 1, size = 64, min_members = 0;
    unsigned long long count = 0;
    if (std::sscanf(env, "%u,%u,%u,%llu,%u", &interval, &burst, &size, &count, &min_members) >= 1) {
        o.interval_ms = interval;
        o.burst = burst ? burst : 1;
        o.size = size;
        o.count = count;
        o.min_members = min_members;
    }
}

void write_keys(node::Node& n, const std::string& path) {
    std::ofstream out(path + ".tmp");
    out << n.dump_keys();
    out.close();
    std::filesystem::rename(path + ".tmp", path);
}

std::string key_string(const conf::Config& c, const std::string& key, std::string fallback) {
    auto it = c.keys.find(key);
    return it == c.keys.end() ? fallback : it->second.text();
}

// exec/main.c corosync_set_rr_scheduler: SCHED_RR at the highest priority, or a warning.
void set_rr_scheduler() {
    const int prio = ::sched_get_priority_max(SCHED_RR);
    if (prio == -1) {
        Logger::log(LogLevel::warning, "MAIN",
                    std::string("Could not get maximum scheduler priority: ") +
                        std::strerror(errno) + " (" + std::to_string(errno) + ")");
        return;
    }
    sched_param p{};
    p.sched_priority = prio;
    if (::sched_setscheduler(0, SCHED_RR, &p) == -1)
        Logger::log(LogLevel::warning, "MAIN",
                    "Could not set SCHED_RR at priority " + std::to_string(prio) + ": " +
                        std::strerror(errno) + " (" + std::to_string(errno) + ")");
}

// exec/main.c corosync_mlockall.
void lock_memory() {
    rlimit rl{RLIM_INFINITY, RLIM_INFINITY};
    if (::setrlimit(RLIMIT_MEMLOCK, &rl) == -1) {
        Logger::log(LogLevel::warning, "MAIN",
                    std::string("Could not increase RLIMIT_MEMLOCK, not locking memory: ") +
                        std::strerror(errno) + " (" + std::to_string(errno) + ")");
        return;
    }
    if (::mlockall(MCL_CURRENT | MCL_FUTURE) == -1)
        Logger::log(LogLevel::warning, "MAIN",
                    std::string("Could not lock memory of service to avoid page faults: ") +
                        std::strerror(errno) + " (" + std::to_string(errno) + ")");
}

}  // namespace

int run_daemon(const conf::Config& config, const DaemonOptions& options,
               const conf::LoadOptions& load) {
    std::string state_dir = key_string(config, "system.state_dir", "/var/lib/corosync");
    if (const char* env = std::getenv("TOTEMD_STATE_DIR"); env && *env)
        state_dir = env;
    if (options.state_dir)
        state_dir = *options.state_dir;
    std::error_code ec;
    std::filesystem::create_directories(state_dir, ec);

    conf::Logging logging = config.logging;
    if (options.debug)
        logging.debug = conf::DebugLevel::On;
    if (auto err = Logger::init(logging, options.foreground); !err.empty()) {
        std::fprintf(stderr, "totemd: %s\n", err.c_str());
        return 1;
    }
    auto fail = [](const std::string& what) {
        Logger::log(LogLevel::error, "MAIN", what);
        std::fprintf(stderr, "totemd: %s\n", what.c_str());
        Logger::close();
        return 1;
    };

    int ready_fd = -1;
    if (!options.foreground) {
        std::string error;
        ready_fd = detach(error);
        if (ready_fd < 0)
            return fail(error);
    }

    std::string lock_error;
    const int lock_fd = take_namespace_lock(lock_error);
    if (lock_fd < 0)
        return fail(lock_error);

    auto stored = node::load_ring_seq(state_dir, config.local_nodeid);
    if (!stored)
        return fail(stored.error());

    // votequorum's expected_votes_tracking barrier (allow_downscale implies it), read before
    // the services start, as corosync's votequorum init reads it.
    std::uint32_t ev_tracking_barrier = 0;
    if (config.quorum.provider == "corosync_votequorum" &&
        (config.quorum.expected_votes_tracking || config.quorum.allow_downscale)) {
        auto ev = node::load_ev_tracking(state_dir);
        if (!ev) {
            Logger::log(
                LogLevel::error, "SERV",
                "Service engine 'corosync_quorum' failed to load for reason '" + ev.error() + "'");
            Logger::close();
            return 20;  // COROSYNC_DONE_SERVICE_ENGINE_INIT
        }
        ev_tracking_barrier = *ev;
    }

    auto tc = transport_config(config);
    if (!tc)
        return fail(tc.error());

    // As corosync: realtime scheduling (system.sched_rr, default yes; -p turns it off) and
    // locked memory, both before libknet starts its threads (they inherit the policy).
    if (options.realtime && key_string(config, "system.sched_rr", "yes") != "no")
        set_rr_scheduler();
    lock_memory();

    boost::asio::io_context io;
    auto transport = tc->kind == TransportKind::knet ? make_knet_transport(io, *tc)
                                                     : make_udpu_transport(io, *tc);
    if (!transport)
        return fail(transport.error());

    const std::string pid_file = state_dir + "/totemd.pid";
    if (std::ofstream pf(pid_file); pf)
        pf << ::getpid() << "\n";

    g_blackbox_path = state_dir + "/fdata";
    for (int sig : {SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL})
        ::signal(sig, crash_handler);
    ::signal(SIGPIPE, SIG_IGN);

    Logger::log(LogLevel::notice, "MAIN",
                "totemd Cluster Engine starting up (corosync 3.1.7 compatible), nodeid " +
                    std::to_string(config.local_nodeid));

    node::NodeOptions no;
    no.state_dir = state_dir;
    no.stored_ring_seq = *stored;
    no.stored_ev_tracking_barrier = ev_tracking_barrier;
    no.config_path = options.config_path;
    no.load = load;
    no.ipc_type = key_string(config, "system.qb_ipc_type", "native");
    no.transport_config = [](const conf::Config& c) { return transport_config(c); };
    parse_pload(no.pload);
    node::Node n(io, config, std::move(*transport), no);
    int exit_status = 0;
    n.on_exit = [&](int status) {
        exit_status = status;
        io.stop();
    };
    if (auto err = n.listen(); !err.empty())
        return fail(err);

    boost::asio::signal_set stop_signals(io, SIGTERM, SIGINT);
    stop_signals.async_wait([&](const boost::system::error_code& e, int sig) {
        if (e)
            return;
        n.leave_and_stop(std::string("Node was shut down by a signal (") + ::strsignal(sig) + ")",
                         [&] { io.stop(); });
    });
    boost::asio::signal_set info_signals(io, SIGUSR1, SIGUSR2);
    std::function<void()> wait_info = [&] {
        info_signals.async_wait([&](const boost::system::error_code& e, int sig) {
            if (e)
                return;
            if (sig == SIGUSR1)
                write_keys(n, state_dir + "/runtime-keys");
            if (sig == SIGUSR2)
                Logger::dump_blackbox(state_dir + "/fdata");
            wait_info();
        });
    };
    wait_info();

    n.start();
    if (ready_fd >= 0)
        report_ready(ready_fd);
    io.run();
    Logger::log(LogLevel::notice, "MAIN",
                exit_status == 0
                    ? std::string("totemd Cluster Engine exiting normally")
                    : "totemd Cluster Engine exiting with status " + std::to_string(exit_status));
    Logger::close();
    std::filesystem::remove(pid_file, ec);
    ::close(lock_fd);
    return exit_status;
}

}  // namespace totem
