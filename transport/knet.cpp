#include "transport/knet.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
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
    KnetHandleStats handle_stats() const override;
    void clear_stats() override;
    TransportChange add_node(const TransportNode& node) override;
    TransportChange remove_node(NodeId nodeid) override;
    TransportChange reconfigure_links(const TransportConfig& next) override;
    void stop() override;

    std::optional<KnetLinkSettings> link_settings(NodeId node, std::uint8_t link) const;

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
    void apply_handle_settings();
    void apply_compression();
    std::optional<std::string> check_local_link(std::size_t link) const;
    // The node's host, policy and links, as at start-up; on failure what it did is undone.
    std::optional<std::string> add_member(const TransportNode& n);
    // Link `link` to `id` from cfg_'s addresses (this node: the loopback link 0), enabled.
    std::optional<std::string> configure_link(NodeId id, std::size_t link);
    void set_link_params(NodeId id, std::size_t link);
    void clear_link(NodeId id, std::size_t link);
    void remove_member(NodeId id);  // every link cleared, then the host removed
    TransportChange update_member(TransportNode& known, const TransportNode& next);
    TransportChange update_self(const TransportNode& next);
    TransportNode* find_node(NodeId id);
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
        const auto& tr = cfg_.links[l].knet_transport;
        if (tr != "udp" && tr != "sctp") {
            return fmt::format("link {}: unknown knet_transport '{}'", l, tr);
        }
    }
    for (std::size_t l = 0; l < kLinksMax; ++l) {
        if (auto err = check_local_link(l))
            return err;
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

    apply_handle_settings();
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
    apply_compression();

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
    read_data();
    return std::nullopt;
}

// The handle settings corosync applies at start-up and again after a reload
// (totemknet_refresh_config): access lists, PMTUd interval, forced MTU.
void KnetTransport::apply_handle_settings() {
    if (knet_handle_enable_access_lists(h_, cfg_.block_unlisted_ips ? 1 : 0) != 0) {
        log(LogLevel::warning, "TOTEM", "knet_handle_enable_access_lists failed");
    }
    if (knet_handle_pmtud_setfreq(h_, cfg_.knet_pmtud_interval_s) != 0) {
        log(LogLevel::warning, "TOTEM", "knet_handle_pmtud_setfreq failed");
    }
    if (knet_handle_pmtud_set(h_, cfg_.knet_mtu) != 0) {
        log(LogLevel::warning, "TOTEM", "knet_handle_pmtud_set failed");
    }
}

// Compression, at start-up and on reload, "none" included, as totemknet_configure_compression;
// not fatal in corosync either.
void KnetTransport::apply_compression() {
    knet_handle_compress_cfg cc{};
    std::snprintf(cc.compress_model, sizeof(cc.compress_model), "%s",
                  cfg_.compression_model.c_str());
    cc.compress_threshold = cfg_.compression_threshold;
    cc.compress_level = cfg_.compression_level;
    if (knet_handle_compress(h_, &cc) != 0) {
        log(LogLevel::error, "TOTEM",
            fmt::format("knet_handle_compress failed ({} level {}): {}", cfg_.compression_model,
                        cfg_.compression_level, errno_text(errno)));
    }
}

// This node's ringN address for link N is local, and the link's transport is available.
std::optional<std::string> KnetTransport::check_local_link(std::size_t link) const {
    const TransportNode* me = cfg_.node(cfg_.my_nodeid);
    if (me->addrs[link].empty())
        return std::nullopt;
    if (auto err = check_local(me->addrs[link], link))
        return err;
    if (cfg_.links[link].knet_transport == "sctp" && !kernel_has_sctp()) {
        return fmt::format(
            "link {}: knet_transport sctp is configured but this kernel has no SCTP support "
            "(socket(IPPROTO_SCTP): {}); use knet_transport: udp",
            link, errno_text(errno));
    }
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

namespace {

// knet has link `link` to `n`: both this node and `n` have a ringN address on it.
bool wants_link(const TransportNode& me, const TransportNode& n, std::size_t link) {
    return !me.addrs[link].empty() && !n.addrs[link].empty();
}

bool same_address(const std::string& a, const std::string& b) {
    auto x = to_sockaddr(a, 0);
    auto y = to_sockaddr(b, 0);
    if (!x || !y)
        return a == b;
    return std::memcmp(&*x, &*y, sizeof(sockaddr_storage)) == 0;
}

// corosync's check_things_have_not_changed: a node keeps its address on a link it keeps.
std::optional<std::string> changed_address(const TransportNode& old, const TransportNode& next) {
    for (std::size_t l = 0; l < kLinksMax; ++l) {
        if (old.addrs[l].empty() || next.addrs[l].empty() ||
            same_address(old.addrs[l], next.addrs[l]))
            continue;
        return fmt::format(
            "node {} link {}: address changed from {} to {}; to reconfigure an interface it "
            "must be deleted and recreated",
            old.nodeid, l, old.addrs[l], next.addrs[l]);
    }
    return std::nullopt;
}

}  // namespace

TransportNode* KnetTransport::find_node(NodeId id) {
    for (auto& n : cfg_.nodes) {
        if (n.nodeid == id)
            return &n;
    }
    return nullptr;
}

std::optional<std::string> KnetTransport::add_member(const TransportNode& n) {
    auto host = static_cast<knet_node_id_t>(n.nodeid);
    if (knet_host_add(h_, host) != 0 && errno != EEXIST) {
        return fmt::format("knet_host_add({}) failed: {}", n.nodeid, errno_text(errno));
    }
    if (knet_host_set_policy(h_, host, static_cast<std::uint8_t>(cfg_.link_mode)) != 0) {
        auto err = fmt::format("knet_host_set_policy({}) failed: {}", n.nodeid, errno_text(errno));
        remove_member(n.nodeid);
        return err;
    }
    if (n.nodeid == cfg_.my_nodeid) {
        if (auto err = configure_link(n.nodeid, 0)) {
            remove_member(n.nodeid);
            return err;
        }
        return std::nullopt;
    }
    const TransportNode& me = *cfg_.node(cfg_.my_nodeid);
    bool any = false;
    for (std::size_t link = 0; link < kLinksMax; ++link) {
        if (!wants_link(me, n, link))
            continue;
        if (auto err = configure_link(n.nodeid, link)) {
            remove_member(n.nodeid);
            return err;
        }
        any = true;
    }
    if (!any) {
        log(LogLevel::warning, "TOTEM",
            fmt::format("node {} shares no link with this node", n.nodeid));
    }
    return std::nullopt;
}

std::optional<std::string> KnetTransport::configure_link(NodeId id, std::size_t link) {
    const TransportNode& me = *cfg_.node(cfg_.my_nodeid);
    std::uint8_t transport = KNET_TRANSPORT_LOOPBACK;
    std::string local;
    std::string remote;
    if (id == cfg_.my_nodeid) {
        // One loopback link, link 0, even without a ring0 address (totemknet_member_add).
        link = 0;
        for (std::size_t l = 0; local.empty() && l < kLinksMax; ++l)
            local = me.addrs[l];
        if (local.empty())
            return std::string("this node has no ringN_addr");
        remote = local;
    } else {
        transport =
            cfg_.links[link].knet_transport == "sctp" ? KNET_TRANSPORT_SCTP : KNET_TRANSPORT_UDP;
        local = me.addrs[link];
        remote = cfg_.node(id)->addrs[link];
    }
    std::uint16_t port = cfg_.port(link);
    auto src = to_sockaddr(local, port);
    auto dst = to_sockaddr(remote, port);
    if (!src)
        return fmt::format("link {}: bad local address '{}'", link, local);
    if (!dst)
        return fmt::format("link {}: bad address '{}' of node {}", link, remote, id);
    auto host = static_cast<knet_node_id_t>(id);
    auto l = static_cast<std::uint8_t>(link);
    if (knet_link_set_config(h_, host, l, transport, &*src, &*dst, KNET_LINK_FLAG_TRAFFICHIPRIO) !=
        0) {
        int e = errno;
        drain_log_pipe();
        if (e == EADDRNOTAVAIL) {
            return fmt::format("Cannot bind to {}:{} (link {}): the address is not local", local,
                               port, link);
        }
        if (e == EADDRINUSE) {
            return fmt::format("Cannot bind to {}:{} (link {}): the port is in use", local, port,
                               link);
        }
        return fmt::format("Cannot bind to {}:{} (link {}, node {}): {}", local, port, link, id,
                           errno_text(e));
    }
    set_link_params(id, link);
    if (knet_link_set_enable(h_, host, l, 1) != 0) {
        auto err = fmt::format("knet_link_set_enable for nodeid {}, link {} failed: {}", id, link,
                               errno_text(errno));
        knet_link_clear_config(h_, host, l);
        return err;
    }
    log(LogLevel::info, "TOTEM",
        fmt::format("Configured link number {}: local addr: {}, port={}{}", link, local, port,
                    transport == KNET_TRANSPORT_LOOPBACK ? " (loopback)" : ""));
    return std::nullopt;
}

// Priority on every link; ping timers and pong count on links to other nodes (as
// totemknet_member_add, and totemknet_refresh_config after a reload).
void KnetTransport::set_link_params(NodeId id, std::size_t link) {
    auto host = static_cast<knet_node_id_t>(id);
    auto l = static_cast<std::uint8_t>(link);
    if (knet_link_set_priority(h_, host, l, cfg_.links[link].priority) != 0) {
        log(LogLevel::error, "TOTEM",
            fmt::format("knet_link_set_priority for nodeid {}, link {} failed", id, link));
    }
    if (id == cfg_.my_nodeid)
        return;
    KnetPingTimers t = knet_ping_timers(cfg_, link);
    if (knet_link_set_ping_timers(h_, host, l, t.interval_ms, t.timeout_ms, t.precision) != 0) {
        log(LogLevel::error, "TOTEM",
            fmt::format("knet_link_set_ping_timers for nodeid {}, link {} failed: {}", id, link,
                        errno_text(errno)));
    }
    if (knet_link_set_pong_count(h_, host, l, t.pong_count) != 0) {
        log(LogLevel::error, "TOTEM",
            fmt::format("knet_link_set_pong_count for nodeid {}, link {} failed", id, link));
    }
}

// As totemknet_member_remove: disable, then clear.
void KnetTransport::clear_link(NodeId id, std::size_t link) {
    auto host = static_cast<knet_node_id_t>(id);
    auto l = static_cast<std::uint8_t>(link);
    if (knet_link_set_enable(h_, host, l, 0) != 0) {
        log(LogLevel::error, "TOTEM",
            fmt::format("knet_link_set_enable(off) for nodeid {}, link {} failed: {}", id, link,
                        errno_text(errno)));
    }
    if (knet_link_clear_config(h_, host, l) != 0) {
        log(LogLevel::error, "TOTEM",
            fmt::format("knet_link_clear_config for nodeid {}, link {} failed: {}", id, link,
                        errno_text(errno)));
    }
}

void KnetTransport::remove_member(NodeId id) {
    auto host = static_cast<knet_node_id_t>(id);
    std::uint8_t links[KNET_MAX_LINK];
    std::size_t nlinks = 0;
    if (knet_link_get_link_list(h_, host, links, &nlinks) == 0) {
        for (std::size_t j = 0; j < nlinks; ++j)
            clear_link(id, links[j]);
    }
    if (knet_host_remove(h_, host) != 0 && errno != EINVAL) {
        log(LogLevel::error, "TOTEM",
            fmt::format("knet_host_remove({}) failed: {}", id, errno_text(errno)));
    }
}

TransportChange KnetTransport::add_node(const TransportNode& next) {
    if (!running_)
        return Err{std::string("the transport is stopped")};
    if (next.nodeid == 0 || next.nodeid > 65535) {
        return Err{fmt::format("nodeid {} cannot be used with knet (1..65535)", next.nodeid)};
    }
    for (std::size_t l = 0; l < kLinksMax; ++l) {
        if (!next.addrs[l].empty() && !to_sockaddr(next.addrs[l], 0)) {
            return Err{
                fmt::format("node {} link {}: bad address '{}'", next.nodeid, l, next.addrs[l])};
        }
    }
    if (next.nodeid == cfg_.my_nodeid)
        return update_self(next);
    if (TransportNode* known = find_node(next.nodeid))
        return update_member(*known, next);
    cfg_.nodes.push_back(next);
    if (auto err = add_member(next)) {
        cfg_.nodes.pop_back();
        return Err{*err};
    }
    log(LogLevel::info, "TOTEM", fmt::format("knet: added node {}", next.nodeid));
    return std::monostate{};
}

TransportChange KnetTransport::update_member(TransportNode& known, const TransportNode& next) {
    if (auto err = changed_address(known, next))
        return Err{*err};
    const TransportNode& me = *cfg_.node(cfg_.my_nodeid);
    const TransportNode old = known;
    known.addrs = next.addrs;
    std::vector<std::size_t> added;
    for (std::size_t l = 0; l < kLinksMax; ++l) {
        if (!wants_link(me, known, l) || wants_link(me, old, l))
            continue;
        if (auto err = configure_link(known.nodeid, l)) {
            for (std::size_t a : added)
                clear_link(known.nodeid, a);
            known = old;
            return Err{*err};
        }
        added.push_back(l);
    }
    for (std::size_t l = 0; l < kLinksMax; ++l) {
        if (wants_link(me, old, l) && !wants_link(me, known, l))
            clear_link(known.nodeid, l);
    }
    return std::monostate{};
}

TransportChange KnetTransport::update_self(const TransportNode& next) {
    TransportNode& me = *find_node(cfg_.my_nodeid);
    if (auto err = changed_address(me, next))
        return Err{*err};
    bool any = false;
    for (const auto& a : next.addrs)
        any = any || !a.empty();
    if (!any)
        return Err{std::string("this node needs a ringN_addr")};
    const TransportNode old = me;
    std::vector<std::pair<NodeId, std::size_t>> added;
    auto undo = [&](std::string why) -> TransportChange {
        for (const auto& [id, l] : added)
            clear_link(id, l);
        me = old;
        return Err{std::move(why)};
    };
    for (std::size_t l = 0; l < kLinksMax; ++l) {
        if (!old.addrs[l].empty() || next.addrs[l].empty())
            continue;
        me.addrs[l] = next.addrs[l];
        if (auto err = check_local_link(l))
            return undo(*err);
        for (const auto& o : cfg_.nodes) {
            if (o.nodeid == cfg_.my_nodeid || !wants_link(me, o, l))
                continue;
            if (auto err = configure_link(o.nodeid, l))
                return undo(*err);
            added.emplace_back(o.nodeid, l);
        }
    }
    for (std::size_t l = 0; l < kLinksMax; ++l) {
        if (old.addrs[l].empty() || !next.addrs[l].empty())
            continue;
        for (const auto& o : cfg_.nodes) {
            if (o.nodeid != cfg_.my_nodeid && wants_link(me, o, l))
                clear_link(o.nodeid, l);
        }
        me.addrs[l].clear();
    }
    return std::monostate{};
}

TransportChange KnetTransport::remove_node(NodeId id) {
    if (!running_)
        return Err{std::string("the transport is stopped")};
    if (id == cfg_.my_nodeid)
        return Err{fmt::format("node {} is this node and cannot be removed", id)};
    auto it = std::find_if(cfg_.nodes.begin(), cfg_.nodes.end(),
                           [id](const TransportNode& n) { return n.nodeid == id; });
    if (it == cfg_.nodes.end())
        return Err{fmt::format("node {} is not in the nodelist", id)};
    remove_member(id);
    cfg_.nodes.erase(it);
    log(LogLevel::info, "TOTEM", fmt::format("knet: removed node {}", id));
    return std::monostate{};
}

TransportChange KnetTransport::reconfigure_links(const TransportConfig& next) {
    if (!running_)
        return Err{std::string("the transport is stopped")};
    const TransportNode& me = *cfg_.node(cfg_.my_nodeid);
    for (std::size_t l = 0; l < kLinksMax; ++l) {
        const auto& tr = next.links[l].knet_transport;
        if (tr != "udp" && tr != "sctp")
            return Err{fmt::format("link {}: unknown knet_transport '{}'", l, tr)};
        if (!me.addrs[l].empty() && tr != cfg_.links[l].knet_transport) {
            return Err{fmt::format(
                "link {}: new config has different knet transport ({} → {}); it is not changed "
                "on a running link",
                l, cfg_.links[l].knet_transport, tr)};
        }
    }
    for (std::size_t l = 0; l < kLinksMax; ++l) {
        LinkConfig& cur = cfg_.links[l];
        const LinkConfig& nl = next.links[l];
        if (next.port(l) != cfg_.port(l) && !me.addrs[l].empty()) {
            log(LogLevel::warning, "TOTEM",
                fmt::format("link {}: mcastport {} is kept; the new port {} needs a restart", l,
                            cfg_.port(l), next.port(l)));
        }
        if (me.addrs[l].empty()) {
            cur.knet_transport = nl.knet_transport;
            cur.port = nl.port;
        }
        cur.priority = nl.priority;
        cur.ping_interval_ms = nl.ping_interval_ms;
        cur.ping_timeout_ms = nl.ping_timeout_ms;
        cur.ping_precision = nl.ping_precision;
        cur.pong_count = nl.pong_count;
    }
    cfg_.token_ms = next.token_ms;
    cfg_.block_unlisted_ips = next.block_unlisted_ips;
    cfg_.knet_pmtud_interval_s = next.knet_pmtud_interval_s;
    cfg_.knet_mtu = next.knet_mtu;
    cfg_.compression_model = next.compression_model;
    cfg_.compression_threshold = next.compression_threshold;
    cfg_.compression_level = next.compression_level;

    apply_compression();      // totemknet_reconfigure
    apply_handle_settings();  // totemknet_refresh_config
    for (const auto& o : cfg_.nodes) {
        if (o.nodeid == cfg_.my_nodeid)
            continue;
        for (std::size_t l = 0; l < kLinksMax; ++l) {
            if (wants_link(me, o, l))
                set_link_params(o.nodeid, l);
        }
    }
    return std::monostate{};
}

bool KnetTransport::send(NodeId target, ByteView datagram) {
    if (!running_ || datagram.size() < kTotemHeaderSize || datagram.size() > max_datagram() ||
        (target != 0 && !cfg_.node(target))) {
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

namespace {

std::string endpoint_text(const char* ip, const char* port) {
    if (std::strchr(ip, ':'))
        return fmt::format("[{}]:{}", ip, port);
    return fmt::format("{}:{}", ip, port);
}

LinkStatus link_status_of(NodeId id, std::uint8_t link, const knet_link_status& ls) {
    LinkStatus l;
    l.nodeid = id;
    l.link = link;
    l.enabled = ls.enabled != 0;
    l.connected = ls.connected != 0;
    l.dynconnected = ls.dynconnected != 0;
    l.src_ip = ls.src_ipaddr;
    l.dst_ip = ls.dst_ipaddr;
    l.src_addr = endpoint_text(ls.src_ipaddr, ls.src_port);
    l.dst_addr = endpoint_text(ls.dst_ipaddr, ls.dst_port);
    l.mtu = ls.mtu;
    l.latency_us = ls.latency;
    const knet_link_stats& st = ls.stats;
    l.tx_data_packets = st.tx_data_packets;
    l.rx_data_packets = st.rx_data_packets;
    l.tx_data_bytes = st.tx_data_bytes;
    l.rx_data_bytes = st.rx_data_bytes;
    l.tx_ping_packets = st.tx_ping_packets;
    l.rx_ping_packets = st.rx_ping_packets;
    l.tx_ping_bytes = st.tx_ping_bytes;
    l.rx_ping_bytes = st.rx_ping_bytes;
    l.tx_pong_packets = st.tx_pong_packets;
    l.rx_pong_packets = st.rx_pong_packets;
    l.tx_pong_bytes = st.tx_pong_bytes;
    l.rx_pong_bytes = st.rx_pong_bytes;
    l.tx_pmtu_packets = st.tx_pmtu_packets;
    l.rx_pmtu_packets = st.rx_pmtu_packets;
    l.tx_pmtu_bytes = st.tx_pmtu_bytes;
    l.rx_pmtu_bytes = st.rx_pmtu_bytes;
    l.tx_total_packets = st.tx_total_packets;
    l.rx_total_packets = st.rx_total_packets;
    l.tx_total_bytes = st.tx_total_bytes;
    l.rx_total_bytes = st.rx_total_bytes;
    l.tx_total_errors = st.tx_total_errors;
    l.tx_total_retries = st.tx_total_retries;
    l.rx_total_retries = st.tx_total_retries;  // as exec/stats.c publishes it
    l.tx_data_errors = st.tx_data_errors;
    l.tx_data_retries = st.tx_data_retries;
    l.tx_ping_errors = st.tx_ping_errors;
    l.tx_ping_retries = st.tx_ping_retries;
    l.tx_pong_errors = st.tx_pong_errors;
    l.tx_pong_retries = st.tx_pong_retries;
    l.tx_pmtu_errors = st.tx_pmtu_errors;
    l.tx_pmtu_retries = st.tx_pmtu_retries;
    l.latency_min_us = st.latency_min;
    l.latency_max_us = st.latency_max;
    l.latency_ave_us = st.latency_ave;
    l.latency_samples = st.latency_samples;
    l.down_count = st.down_count;
    l.up_count = st.up_count;
    return l;
}

}  // namespace

std::vector<NodeStatus> KnetTransport::status() const {
    std::vector<NodeStatus> out;
    if (!h_)
        return out;
    for (const auto& n : cfg_.nodes) {
        NodeStatus s;
        s.nodeid = n.nodeid;
        auto host = static_cast<knet_node_id_t>(n.nodeid);
        knet_host_status hs{};
        if (knet_host_get_status(h_, host, &hs) == 0) {
            s.reachable = hs.reachable != 0;
            s.remote = hs.remote != 0;
            s.external = hs.external != 0;
        }
        // onwire_*: libknet 1.x has no knet_handle_get_onwire_ver (node_status.hpp).
        std::uint8_t links[KNET_MAX_LINK];
        std::size_t nlinks = 0;
        if (knet_link_get_link_list(h_, host, links, &nlinks) == 0) {
            for (std::size_t i = 0; i < nlinks; ++i) {
                knet_link_status ls{};
                ls.size = sizeof(ls);
                if (knet_link_get_status(h_, host, links[i], &ls, sizeof(ls)) == 0)
                    s.links.push_back(link_status_of(n.nodeid, links[i], ls));
            }
        }
        std::sort(s.links.begin(), s.links.end(),
                  [](const LinkStatus& a, const LinkStatus& b) { return a.link < b.link; });
        out.push_back(std::move(s));
    }
    std::sort(out.begin(), out.end(),
              [](const NodeStatus& a, const NodeStatus& b) { return a.nodeid < b.nodeid; });
    return out;
}

KnetHandleStats KnetTransport::handle_stats() const {
    KnetHandleStats k;
    if (!h_)
        return k;
    knet_handle_stats hs{};
    hs.size = sizeof(hs);
    if (knet_handle_get_stats(h_, &hs, sizeof(hs)) != 0)
        return k;
    k.valid = true;
    k.tx_uncompressed_packets = hs.tx_uncompressed_packets;
    k.tx_compressed_packets = hs.tx_compressed_packets;
    k.tx_compressed_original_bytes = hs.tx_compressed_original_bytes;
    k.tx_compressed_size_bytes = hs.tx_compressed_size_bytes;
    k.tx_compress_time_ave = hs.tx_compress_time_ave;
    k.tx_compress_time_min = hs.tx_compress_time_min;
    k.tx_compress_time_max = hs.tx_compress_time_max;
    k.rx_compressed_packets = hs.rx_compressed_packets;
    k.rx_compressed_original_bytes = hs.rx_compressed_original_bytes;
    k.rx_compressed_size_bytes = hs.rx_compressed_size_bytes;
    k.rx_compress_time_ave = hs.rx_compress_time_ave;
    k.rx_compress_time_min = hs.rx_compress_time_min;
    k.rx_compress_time_max = hs.rx_compress_time_max;
    k.tx_crypt_packets = hs.tx_crypt_packets;
    k.tx_crypt_byte_overhead = hs.tx_crypt_byte_overhead;
    k.tx_crypt_time_ave = hs.tx_crypt_time_ave;
    k.tx_crypt_time_min = hs.tx_crypt_time_min;
    k.tx_crypt_time_max = hs.tx_crypt_time_max;
    k.rx_crypt_packets = hs.rx_crypt_packets;
    k.rx_crypt_time_ave = hs.rx_crypt_time_ave;
    k.rx_crypt_time_min = hs.rx_crypt_time_min;
    k.rx_crypt_time_max = hs.rx_crypt_time_max;
    return k;
}

void KnetTransport::clear_stats() {
    if (h_ && knet_handle_clear_stats(h_, KNET_CLEARSTATS_HANDLE_AND_LINK) != 0) {
        log(LogLevel::error, "TOTEM",
            fmt::format("knet_handle_clear_stats failed: {}", errno_text(errno)));
    }
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
            for (std::size_t i = 0; i < nhosts; ++i)
                remove_member(hosts[i]);
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

std::optional<KnetLinkSettings> KnetTransport::link_settings(NodeId node, std::uint8_t link) const {
    if (!h_)
        return std::nullopt;
    auto host = static_cast<knet_node_id_t>(node);
    KnetLinkSettings k{};
    time_t interval = 0;
    time_t timeout = 0;
    unsigned int precision = 0;
    std::uint8_t pong = 0;
    std::uint8_t prio = 0;
    if (knet_link_get_priority(h_, host, link, &prio) != 0 ||
        knet_link_get_ping_timers(h_, host, link, &interval, &timeout, &precision) != 0 ||
        knet_link_get_pong_count(h_, host, link, &pong) != 0)
        return std::nullopt;
    k.priority = prio;
    k.ping_interval_ms = static_cast<std::uint32_t>(interval);
    k.ping_timeout_ms = static_cast<std::uint32_t>(timeout);
    k.ping_precision = precision;
    k.pong_count = pong;
    return k;
}

std::optional<KnetLinkSettings> knet_link_settings(const Transport& t, NodeId node,
                                                   std::uint8_t link) {
    const auto* k = dynamic_cast<const KnetTransport*>(&t);
    if (!k)
        return std::nullopt;
    return k->link_settings(node, link);
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
