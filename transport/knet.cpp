#include "transport/knet.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <cerrno>
#include <cstring>
#include <map>
#include <optional>

// libknet.h declares no C linkage of its own.
extern "C" {
#include <libknet.h>
}

namespace totem {

namespace {

namespace asio = boost::asio;

constexpr std::size_t kRecvBufferSize = 65536 + 512;  // as totemknet (room for encapsulation)
constexpr int kReadsPerWakeup = 64;                   // bound the work per data-fd wakeup

std::string errno_text(int e) {
    return std::strerror(e);
}

std::optional<sockaddr_storage> to_sockaddr(const std::string& addr, std::uint16_t port) {
    sockaddr_storage ss{};
    auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
    if (inet_pton(AF_INET, addr.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        return ss;
    }
    ss = {};
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
    if (inet_pton(AF_INET6, addr.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        return ss;
    }
    return std::nullopt;
}

LogLevel from_knet_level(std::uint8_t l) {
    switch (l) {
        case KNET_LOG_ERR:
            return LogLevel::error;
        case KNET_LOG_WARN:
            return LogLevel::warning;
        case KNET_LOG_INFO:
            return LogLevel::info;
        default:
            return LogLevel::debug;
    }
}

// corosync's dst_host_filter_callback_fn: target_nodeid ≠ 0 → unicast to it; 0 → broadcast.
// Called by libknet's threads on TX and RX; touches nothing but its arguments.
int dst_host_filter(void* /*private_data*/, const unsigned char* data, ssize_t len,
                    uint8_t /*tx_rx*/, knet_node_id_t /*this_host_id*/,
                    knet_node_id_t /*src_host_id*/, int8_t* /*channel*/,
                    knet_node_id_t* dst_host_ids, size_t* dst_host_ids_entries) {
    if (len < static_cast<ssize_t>(kTotemHeaderSize))
        return -1;  // not a Totem message
    std::uint32_t target = 0;
    for (int i = 0; i < 4; ++i) {
        target |= std::uint32_t{data[kTargetNodeidOffset + i]} << (8 * i);
    }
    if (target == 0) {
        *dst_host_ids_entries = 0;
        return 1;
    }
    dst_host_ids[0] = static_cast<knet_node_id_t>(target);  // knet host ids are u16 (§1.4)
    *dst_host_ids_entries = 1;
    return 0;
}

// libknet binds with IP_FREEBIND, so it accepts an address this host does not have; corosync
// refuses such a config earlier (it looks its own address up among the local interfaces).
// A plain bind to port 0 tells whether the address is local.
std::optional<std::string> check_local(const std::string& addr, std::size_t link) {
    auto ss = to_sockaddr(addr, 0);
    if (!ss)
        return fmt::format("link {}: bad local address '{}'", link, addr);
    int fd = ::socket(ss->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return fmt::format("link {}: cannot open a UDP socket: {}", link, errno_text(errno));
    socklen_t len = ss->ss_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
    int r = ::bind(fd, reinterpret_cast<const sockaddr*>(&*ss), len);
    int e = errno;
    ::close(fd);
    if (r != 0) {
        return fmt::format(
            "Cannot bind to {} (link {}): {}", addr, link,
            e == EADDRNOTAVAIL ? std::string("the address is not local") : errno_text(e));
    }
    return std::nullopt;
}

bool kernel_has_sctp() {
    int fd = ::socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP);
    if (fd < 0)
        return false;
    ::close(fd);
    return true;
}

// What the knet threads post back to the loop: the transport resets `self` in stop(), so a
// notification posted before that finds a null pointer and does nothing.
struct Anchor;

class KnetTransport final : public Transport {
  public:
    KnetTransport(asio::io_context& io, const TransportConfig& cfg)
        : io_(io), cfg_(cfg), data_sd_(io), log_sd_(io), buffer_(kRecvBufferSize) {}
    ~KnetTransport() override { stop(); }

    std::optional<std::string> start();

    void set_receiver(ReceiveFn fn) override { receiver_ = std::move(fn); }
    std::size_t max_datagram() const override {
        return cfg_.netmtu ? std::min<std::size_t>(cfg_.netmtu, KNET_MAX_PACKET_SIZE)
                           : KNET_MAX_PACKET_SIZE;
    }
    bool send(NodeId target, ByteView datagram) override;
    std::vector<NodeStatus> status() const override;
    TransportCounters counters() const override { return counters_; }
    void stop() override;

    void on_host_change(NodeId host, bool reachable) {
        log(LogLevel::debug, "TOTEM",
            fmt::format("Knet host change callback. nodeid: {} reachable: {}", host,
                        reachable ? 1 : 0));
    }
    void on_pmtu_change(unsigned mtu) {
        log(LogLevel::debug, "TOTEM", fmt::format("Knet pMTU change: {}", mtu));
    }
    void on_sock_error(int err, int errnum) {
        log(LogLevel::error, "TOTEM",
            fmt::format("Knet socket ERROR notification: error={} errno={} ({}); data fd removed",
                        err, errnum, errno_text(errnum)));
        running_ = false;
    }

    std::shared_ptr<Anchor> anchor_;

  private:
    void log(LogLevel level, std::string_view subsys, std::string_view msg) const {
        if (cfg_.log)
            cfg_.log(level, subsys, msg);
    }
    std::optional<std::string> setup_crypto();
    std::optional<std::string> add_member(const TransportNode& n);
    void read_data();
    void on_data_readable();
    void read_log();
    void drain_log_pipe();

    asio::io_context& io_;
    TransportConfig cfg_;
    knet_handle_t h_ = nullptr;
    int logpipe_[2] = {-1, -1};
    int datafd_ = -1;
    asio::posix::stream_descriptor data_sd_;
    asio::posix::stream_descriptor log_sd_;
    std::vector<std::uint8_t> buffer_;
    std::array<char, sizeof(knet_log_msg) * 4> logbuf_{};
    ReceiveFn receiver_;
    TransportCounters counters_;
    bool running_ = false;
    bool started_ = false;
};

struct Anchor {
    asio::io_context& io;
    KnetTransport* self;  // reset to null in stop(), read only on the loop thread
};

void post_to(const std::weak_ptr<Anchor>& w, std::function<void(KnetTransport&)> fn) {
    auto a = w.lock();
    if (!a)
        return;
    asio::post(a->io, [w, fn = std::move(fn)] {
        if (auto b = w.lock(); b && b->self)
            fn(*b->self);
    });
}

struct Notify {
    std::weak_ptr<Anchor> anchor;
};

void host_status_cb(void* priv, knet_node_id_t host, uint8_t reachable, uint8_t, uint8_t) {
    auto* n = static_cast<Notify*>(priv);
    post_to(n->anchor, [host, reachable](KnetTransport& t) { t.on_host_change(host, reachable); });
}

void pmtud_cb(void* priv, unsigned int mtu) {
    auto* n = static_cast<Notify*>(priv);
    post_to(n->anchor, [mtu](KnetTransport& t) { t.on_pmtu_change(mtu); });
}

void sock_notify_cb(void* priv, int datafd, int8_t, uint8_t, int error, int errnum);

// The callbacks' private data; freed only after knet_handle_free.
struct HandleCtx {
    Notify notify;
    knet_handle_t h = nullptr;
};

void sock_notify_cb(void* priv, int datafd, int8_t, uint8_t, int error, int errnum) {
    auto* c = static_cast<HandleCtx*>(priv);
    // As corosync: a fatal error on the data fd removes it (libknet requires remove or dup).
    if (c->h)
        knet_handle_remove_datafd(c->h, datafd);
    post_to(c->notify.anchor,
            [error, errnum](KnetTransport& t) { t.on_sock_error(error, errnum); });
}

}  // namespace

KnetPingTimers knet_ping_timers(const TransportConfig& cfg, std::size_t link) {
    const LinkConfig& l = cfg.links[link];
    std::uint8_t pong = l.pong_count ? l.pong_count : 2;
    KnetPingTimers t{};
    t.pong_count = pong;
    t.timeout_ms = l.ping_timeout_ms ? l.ping_timeout_ms : cfg.token_ms / pong;
    t.interval_ms = l.ping_interval_ms ? l.ping_interval_ms : cfg.token_ms / (pong * 2U);
    t.precision = l.ping_precision ? l.ping_precision : 2048;
    return t;
}

// ---------------------------------------------------------------------------------------------

namespace {

// One HandleCtx per transport, so the callbacks' private data outlives the knet handle.
std::map<const void*, std::unique_ptr<HandleCtx>>& contexts() {
    static std::map<const void*, std::unique_ptr<HandleCtx>> m;
    return m;
}

}  // namespace

std::optional<std::string> KnetTransport::start() {
    const TransportNode* me = cfg_.node(cfg_.my_nodeid);
    if (!me)
        return fmt::format("nodeid {} is not in the nodelist", cfg_.my_nodeid);
    for (const auto& n : cfg_.nodes) {
        if (n.nodeid == 0 || n.nodeid > 65535) {
            return fmt::format("nodeid {} cannot be used with knet (1..65535)", n.nodeid);
        }
    }
    for (std::size_t l = 0; l < kLinksMax; ++l) {
        if (me->addrs[l].empty())
            continue;
        if (auto err = check_local(me->addrs[l], l))
            return err;
    }
    for (std::size_t l = 0; l < kLinksMax; ++l) {
        const auto& tr = cfg_.links[l].knet_transport;
        if (tr != "udp" && tr != "sctp") {
            return fmt::format("link {}: unknown knet_transport '{}'", l, tr);
        }
        if (tr == "sctp" && !me->addrs[l].empty() && !kernel_has_sctp()) {
            return fmt::format(
                "link {}: knet_transport sctp is configured but this kernel has no SCTP support "
                "(socket(IPPROTO_SCTP): {}); use knet_transport: udp",
                l, errno_text(errno));
        }
    }
    if (cfg_.crypto_enabled()) {
        if (cfg_.key.size() < KNET_MIN_KEY_LEN) {
            return fmt::format("authkey is {} bytes; knet needs at least {}", cfg_.key.size(),
                               KNET_MIN_KEY_LEN);
        }
        if (cfg_.key.size() > KNET_MAX_KEY_LEN) {
            return fmt::format("authkey is {} bytes; knet takes at most {}", cfg_.key.size(),
                               KNET_MAX_KEY_LEN);
        }
    }

    anchor_ = std::make_shared<Anchor>(Anchor{io_, this});
    auto& ctx = contexts()[this];
    ctx = std::make_unique<HandleCtx>();
    ctx->notify.anchor = anchor_;

    if (::pipe2(logpipe_, O_NONBLOCK | O_CLOEXEC) != 0) {
        return fmt::format("cannot create the knet log pipe: {}", errno_text(errno));
    }
    h_ = knet_handle_new(static_cast<knet_node_id_t>(cfg_.my_nodeid), logpipe_[1], KNET_LOG_DEBUG);
    if (!h_ && cfg_.allow_knet_handle_fallback && errno == ENAMETOOLONG) {
        log(LogLevel::warning, "TOTEM", "knet_handle_new failed, trying unprivileged");
        h_ = knet_handle_new_ex(static_cast<knet_node_id_t>(cfg_.my_nodeid), logpipe_[1],
                                KNET_LOG_DEBUG, 0);
    }
    if (!h_) {
        int e = errno;
        return fmt::format("knet_handle_new failed: {}{}", errno_text(e),
                           e == ENAMETOOLONG ? " (socket buffers too small; set "
                                               "system.allow_knet_handle_fallback: yes)"
                                             : "");
    }
    ctx->h = h_;
    log_sd_.assign(logpipe_[0]);
    read_log();

    if (knet_handle_enable_access_lists(h_, cfg_.block_unlisted_ips ? 1 : 0) != 0) {
        log(LogLevel::warning, "TOTEM", "knet_handle_enable_access_lists failed");
    }
    if (knet_handle_pmtud_setfreq(h_, cfg_.knet_pmtud_interval_s) != 0) {
        log(LogLevel::warning, "TOTEM", "knet_handle_pmtud_setfreq failed");
    }
    if (knet_handle_pmtud_set(h_, cfg_.knet_mtu) != 0) {
        log(LogLevel::warning, "TOTEM", "knet_handle_pmtud_set failed");
    }
    if (knet_handle_enable_filter(h_, nullptr, dst_host_filter) != 0) {
        return fmt::format("knet_handle_enable_filter failed: {}", errno_text(errno));
    }
    knet_handle_enable_sock_notify(h_, ctx.get(), sock_notify_cb);
    knet_host_enable_status_change_notify(h_, &ctx->notify, host_status_cb);
    knet_handle_enable_pmtud_notify(h_, &ctx->notify, pmtud_cb);
    std::uint8_t level = cfg_.knet_debug ? KNET_LOG_DEBUG : KNET_LOG_INFO;
    for (int s = 0; s < KNET_MAX_SUBSYSTEMS; ++s) {
        knet_log_set_loglevel(h_, static_cast<std::uint8_t>(s), level);
    }

    int fd = 0;
    int8_t channel = 0;
    if (knet_handle_add_datafd(h_, &fd, &channel) != 0) {
        return fmt::format("knet_handle_add_datafd failed: {}", errno_text(errno));
    }
    datafd_ = fd;

    if (auto err = setup_crypto())
        return err;

    if (cfg_.compression_model != "none") {
        knet_handle_compress_cfg cc{};
        std::snprintf(cc.compress_model, sizeof(cc.compress_model), "%s",
                      cfg_.compression_model.c_str());
        cc.compress_threshold = cfg_.compression_threshold;
        cc.compress_level = cfg_.compression_level;
        if (knet_handle_compress(h_, &cc) != 0) {  // not fatal in corosync either
            log(LogLevel::error, "TOTEM",
                fmt::format("knet_handle_compress failed ({} level {}): {}", cfg_.compression_model,
                            cfg_.compression_level, errno_text(errno)));
        }
    }

    knet_handle_setfwd(h_, 1);

    // Self first (its loopback link), then the others, as the nodelist lists them.
    if (auto err = add_member(*me))
        return err;
    for (const auto& n : cfg_.nodes) {
        if (n.nodeid == cfg_.my_nodeid)
            continue;
        if (auto err = add_member(n))
            return err;
    }

    data_sd_.assign(datafd_);
    running_ = true;
    started_ = true;
    read_data();
    return std::nullopt;
}

std::optional<std::string> KnetTransport::setup_crypto() {
    if (!cfg_.crypto_enabled()) {
        if (knet_handle_crypto_rx_clear_traffic(h_, KNET_CRYPTO_RX_ALLOW_CLEAR_TRAFFIC) != 0) {
            return fmt::format("knet_handle_crypto_rx_clear_traffic(ALLOW) failed: {}",
                               errno_text(errno));
        }
        return std::nullopt;
    }
    // Is the model's plugin known to this libknet? (libknet1 ships crypto_nss and
    // crypto_openssl; the plugin itself is loaded by set_config below.)
    std::vector<knet_crypto_info> list(256);
    std::size_t entries = 0;
    bool listed = false;
    if (knet_get_crypto_list(list.data(), &entries) == 0) {
        for (std::size_t i = 0; i < entries; ++i) {
            if (list[i].name && cfg_.crypto_model == list[i].name)
                listed = true;
        }
    }
    if (!listed) {
        return fmt::format("knet crypto_model '{}' is not supported by this libknet",
                           cfg_.crypto_model);
    }
    knet_handle_crypto_cfg cc{};
    if (cfg_.crypto_model.size() >= sizeof(cc.crypto_model) ||
        cfg_.crypto_cipher.size() >= sizeof(cc.crypto_cipher_type) ||
        cfg_.crypto_hash.size() >= sizeof(cc.crypto_hash_type)) {
        return std::string("crypto_model, crypto_cipher and crypto_hash are at most 15 characters");
    }
    std::snprintf(cc.crypto_model, sizeof(cc.crypto_model), "%s", cfg_.crypto_model.c_str());
    std::snprintf(cc.crypto_cipher_type, sizeof(cc.crypto_cipher_type), "%s",
                  cfg_.crypto_cipher.c_str());
    std::snprintf(cc.crypto_hash_type, sizeof(cc.crypto_hash_type), "%s", cfg_.crypto_hash.c_str());
    std::memcpy(cc.private_key, cfg_.key.data(), cfg_.key.size());
    cc.private_key_len = static_cast<unsigned>(cfg_.key.size());
    int res = knet_handle_crypto_set_config(h_, &cc, 1);
    std::memset(cc.private_key, 0, sizeof(cc.private_key));
    drain_log_pipe();  // knet's own reason (plugin not found, …) goes to the log first
    if (res == -1) {
        return fmt::format(
            "knet crypto {}/{}/{} cannot be set up: {} (is the knet crypto plugin crypto_{}.so "
            "installed? Debian: libknet1)",
            cfg_.crypto_model, cfg_.crypto_cipher, cfg_.crypto_hash, errno_text(errno),
            cfg_.crypto_model);
    }
    if (res == -2) {
        return fmt::format(
            "knet crypto {}/{}/{} failed to initialise (unsupported cipher or hash?)",
            cfg_.crypto_model, cfg_.crypto_cipher, cfg_.crypto_hash);
    }
    if (knet_handle_crypto_use_config(h_, 1) != 0) {
        return fmt::format("knet_handle_crypto_use_config(1) failed: {}", errno_text(errno));
    }
    if (knet_handle_crypto_rx_clear_traffic(h_, KNET_CRYPTO_RX_DISALLOW_CLEAR_TRAFFIC) != 0) {
        return fmt::format("knet_handle_crypto_rx_clear_traffic(DISALLOW) failed: {}",
                           errno_text(errno));
    }
    return std::nullopt;
}

std::optional<std::string> KnetTransport::add_member(const TransportNode& n) {
    const TransportNode* me = cfg_.node(cfg_.my_nodeid);
    auto host = static_cast<knet_node_id_t>(n.nodeid);
    if (knet_host_add(h_, host) != 0 && errno != EEXIST) {
        return fmt::format("knet_host_add({}) failed: {}", n.nodeid, errno_text(errno));
    }
    if (knet_host_set_policy(h_, host, static_cast<std::uint8_t>(cfg_.link_mode)) != 0) {
        return fmt::format("knet_host_set_policy({}) failed: {}", n.nodeid, errno_text(errno));
    }
    auto configure = [&](std::size_t link, std::uint8_t transport, const std::string& local,
                         const std::string& remote) -> std::optional<std::string> {
        std::uint16_t port = cfg_.port(link);
        auto src = to_sockaddr(local, port);
        auto dst = to_sockaddr(remote, port);
        if (!src)
            return fmt::format("link {}: bad local address '{}'", link, local);
        if (!dst)
            return fmt::format("link {}: bad address '{}' of node {}", link, remote, n.nodeid);
        auto l = static_cast<std::uint8_t>(link);
        if (knet_link_set_config(h_, host, l, transport, &*src, &*dst,
                                 KNET_LINK_FLAG_TRAFFICHIPRIO) != 0) {
            int e = errno;
            drain_log_pipe();
            if (e == EADDRNOTAVAIL) {
                return fmt::format("Cannot bind to {}:{} (link {}): the address is not local",
                                   local, port, link);
            }
            if (e == EADDRINUSE) {
                return fmt::format("Cannot bind to {}:{} (link {}): the port is in use", local,
                                   port, link);
            }
            return fmt::format("Cannot bind to {}:{} (link {}, node {}): {}", local, port, link,
                               n.nodeid, errno_text(e));
        }
        if (knet_link_set_priority(h_, host, l, cfg_.links[link].priority) != 0) {
            log(LogLevel::error, "TOTEM",
                fmt::format("knet_link_set_priority for nodeid {}, link {} failed", n.nodeid,
                            link));
        }
        if (transport != KNET_TRANSPORT_LOOPBACK) {
            KnetPingTimers t = knet_ping_timers(cfg_, link);
            if (knet_link_set_ping_timers(h_, host, l, t.interval_ms, t.timeout_ms, t.precision) !=
                0) {
                log(LogLevel::error, "TOTEM",
                    fmt::format("knet_link_set_ping_timers for nodeid {}, link {} failed: {}",
                                n.nodeid, link, errno_text(errno)));
            }
            if (knet_link_set_pong_count(h_, host, l, t.pong_count) != 0) {
                log(LogLevel::error, "TOTEM",
                    fmt::format("knet_link_set_pong_count for nodeid {}, link {} failed", n.nodeid,
                                link));
            }
        }
        if (knet_link_set_enable(h_, host, l, 1) != 0) {
            return fmt::format("knet_link_set_enable for nodeid {}, link {} failed: {}", n.nodeid,
                               link, errno_text(errno));
        }
        log(LogLevel::info, "TOTEM",
            fmt::format("Configured link number {}: local addr: {}, port={}{}", link, local, port,
                        transport == KNET_TRANSPORT_LOOPBACK ? " (loopback)" : ""));
        return std::nullopt;
    };
    if (n.nodeid == cfg_.my_nodeid) {
        // One loopback link, link 0, even without a ring0 address (totemknet_member_add).
        std::string a = me->addrs[0];
        for (std::size_t l = 0; a.empty() && l < kLinksMax; ++l)
            a = me->addrs[l];
        if (a.empty())
            return std::string("this node has no ringN_addr");
        return configure(0, KNET_TRANSPORT_LOOPBACK, a, a);
    }
    bool any = false;
    for (std::size_t link = 0; link < kLinksMax; ++link) {
        if (me->addrs[link].empty() || n.addrs[link].empty())
            continue;
        std::uint8_t tr =
            cfg_.links[link].knet_transport == "sctp" ? KNET_TRANSPORT_SCTP : KNET_TRANSPORT_UDP;
        if (auto err = configure(link, tr, me->addrs[link], n.addrs[link]))
            return err;
        any = true;
    }
    if (!any) {
        log(LogLevel::warning, "TOTEM",
            fmt::format("node {} shares no link with this node", n.nodeid));
    }
    return std::nullopt;
}

bool KnetTransport::send(NodeId target, ByteView datagram) {
    if (!running_ || datagram.size() < kTotemHeaderSize || datagram.size() > max_datagram() ||
        target > 65535) {
        ++counters_.tx_errors;
        return false;
    }
    // The header with target_nodeid set, then the rest as it is (one sendmsg, no copy).
    std::array<std::uint8_t, kTotemHeaderSize> head{};
    std::memcpy(head.data(), datagram.data(), kTotemHeaderSize);
    for (int i = 0; i < 4; ++i) {
        head[kTargetNodeidOffset + i] = static_cast<std::uint8_t>(target >> (8 * i));
    }
    iovec iov[2];
    iov[0].iov_base = head.data();
    iov[0].iov_len = head.size();
    iov[1].iov_base = const_cast<std::uint8_t*>(datagram.data() + kTotemHeaderSize);
    iov[1].iov_len = datagram.size() - kTotemHeaderSize;
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = iov[1].iov_len ? 2 : 1;
    ssize_t r = ::sendmsg(datafd_, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (r != static_cast<ssize_t>(datagram.size())) {
        ++counters_.tx_errors;
        return false;
    }
    ++counters_.tx_datagrams;
    counters_.tx_bytes += datagram.size();
    return true;
}

void KnetTransport::read_data() {
    data_sd_.async_wait(asio::posix::stream_descriptor::wait_read,
                        [this](const boost::system::error_code& ec) {
                            if (ec || !running_)
                                return;
                            on_data_readable();
                        });
}

void KnetTransport::on_data_readable() {
    for (int i = 0; i < kReadsPerWakeup && running_; ++i) {
        ssize_t n = ::recv(datafd_, buffer_.data(), buffer_.size(), MSG_DONTWAIT | MSG_TRUNC);
        if (n < 0)
            break;  // EAGAIN: drained (other errors come through sock_notify)
        if (n == 0 || static_cast<std::size_t>(n) > buffer_.size()) {
            ++counters_.rx_dropped_truncated;
            continue;
        }
        ++counters_.rx_datagrams;
        counters_.rx_bytes += static_cast<std::size_t>(n);
        if (receiver_)
            receiver_(ByteView(buffer_.data(), static_cast<std::size_t>(n)));
    }
    if (running_)
        read_data();
}

void KnetTransport::read_log() {
    log_sd_.async_wait(asio::posix::stream_descriptor::wait_read,
                       [this](const boost::system::error_code& ec) {
                           if (ec)
                               return;
                           drain_log_pipe();
                           if (h_)
                               read_log();
                       });
}

void KnetTransport::drain_log_pipe() {
    if (logpipe_[0] < 0)
        return;
    for (int rounds = 0; rounds < 64; ++rounds) {
        ssize_t n = ::read(logpipe_[0], logbuf_.data(), logbuf_.size());
        if (n <= 0)
            return;
        for (ssize_t off = 0; off + static_cast<ssize_t>(sizeof(knet_log_msg)) <= n;
             off += sizeof(knet_log_msg)) {
            knet_log_msg m;
            std::memcpy(&m, logbuf_.data() + off, sizeof(m));
            m.msg[sizeof(m.msg) - 1] = '\0';
            log(from_knet_level(m.msglevel), "KNET",
                fmt::format("{}: {}", knet_log_get_subsystem_name(m.subsystem), m.msg));
        }
    }
}

std::vector<NodeStatus> KnetTransport::status() const {
    std::vector<NodeStatus> out;
    if (!h_)
        return out;
    for (const auto& n : cfg_.nodes) {
        NodeStatus s;
        s.nodeid = n.nodeid;
        auto host = static_cast<knet_node_id_t>(n.nodeid);
        knet_host_status hs{};
        if (knet_host_get_status(h_, host, &hs) == 0)
            s.reachable = hs.reachable != 0;
        std::uint8_t links[KNET_MAX_LINK];
        std::size_t nlinks = 0;
        if (knet_link_get_link_list(h_, host, links, &nlinks) == 0) {
            for (std::size_t i = 0; i < nlinks; ++i) {
                knet_link_status ls{};
                ls.size = sizeof(ls);
                if (knet_link_get_status(h_, host, links[i], &ls, sizeof(ls)) != 0)
                    continue;
                LinkStatus l;
                l.nodeid = n.nodeid;
                l.link = links[i];
                l.enabled = ls.enabled != 0;
                l.connected = ls.connected != 0;
                l.src_addr = fmt::format("{}:{}", ls.src_ipaddr, ls.src_port);
                l.dst_addr = fmt::format("{}:{}", ls.dst_ipaddr, ls.dst_port);
                l.mtu = ls.mtu;
                l.latency_us = ls.latency;
                const knet_link_stats& st = ls.stats;
                l.tx_data_packets = st.tx_data_packets;
                l.rx_data_packets = st.rx_data_packets;
                l.tx_data_bytes = st.tx_data_bytes;
                l.rx_data_bytes = st.rx_data_bytes;
                l.tx_ping_packets = st.tx_ping_packets;
                l.rx_ping_packets = st.rx_ping_packets;
                l.tx_pong_packets = st.tx_pong_packets;
                l.rx_pong_packets = st.rx_pong_packets;
                l.tx_pmtu_packets = st.tx_pmtu_packets;
                l.rx_pmtu_packets = st.rx_pmtu_packets;
                l.tx_total_packets = st.tx_total_packets;
                l.rx_total_packets = st.rx_total_packets;
                l.tx_total_bytes = st.tx_total_bytes;
                l.rx_total_bytes = st.rx_total_bytes;
                l.tx_total_errors = st.tx_total_errors;
                l.tx_total_retries = st.tx_total_retries;
                l.latency_min_us = st.latency_min;
                l.latency_max_us = st.latency_max;
                l.latency_ave_us = st.latency_ave;
                l.latency_samples = st.latency_samples;
                l.down_count = st.down_count;
                l.up_count = st.up_count;
                s.links.push_back(std::move(l));
            }
        }
        out.push_back(std::move(s));
    }
    return out;
}

void KnetTransport::stop() {
    running_ = false;
    boost::system::error_code ec;
    if (data_sd_.is_open()) {
        data_sd_.cancel(ec);
        data_sd_.release();  // the data fd is libknet's: it closes it
    }
    if (h_) {
        // As totemknet_finalize: stop forwarding first (flushes what is queued — the LEAVE),
        // then take every link and host down, then free the handle.
        knet_handle_setfwd(h_, 0);
        knet_node_id_t hosts[KNET_MAX_HOST];
        std::size_t nhosts = 0;
        if (knet_host_get_host_list(h_, hosts, &nhosts) == 0) {
            for (std::size_t i = 0; i < nhosts; ++i) {
                std::uint8_t links[KNET_MAX_LINK];
                std::size_t nlinks = 0;
                if (knet_link_get_link_list(h_, hosts[i], links, &nlinks) == 0) {
                    for (std::size_t j = 0; j < nlinks; ++j) {
                        knet_link_set_enable(h_, hosts[i], links[j], 0);
                        knet_link_clear_config(h_, hosts[i], links[j]);
                    }
                }
                knet_host_remove(h_, hosts[i]);
            }
        }
        if (knet_handle_free(h_) != 0) {
            log(LogLevel::error, "TOTEM",
                fmt::format("knet_handle_free failed: {}", errno_text(errno)));
        }
        h_ = nullptr;
        drain_log_pipe();
    }
    if (log_sd_.is_open()) {
        log_sd_.cancel(ec);
        log_sd_.close(ec);  // owns the pipe's read end
        logpipe_[0] = -1;
    }
    if (logpipe_[0] >= 0)
        ::close(logpipe_[0]);
    if (logpipe_[1] >= 0)
        ::close(logpipe_[1]);
    logpipe_[0] = logpipe_[1] = -1;
    if (anchor_) {
        anchor_->self = nullptr;
        anchor_.reset();
    }
    contexts().erase(this);
}

Result<std::unique_ptr<Transport>, std::string> make_knet_transport(boost::asio::io_context& io,
                                                                    const TransportConfig& cfg) {
    auto t = std::make_unique<KnetTransport>(io, cfg);
    if (auto err = t->start()) {
        t->stop();
        return Err{*err};
    }
    return std::unique_ptr<Transport>(std::move(t));
}

}  // namespace totem
