// totem-knet-bench: the ceiling of bench/ — libknet alone between the namespaces the daemons
// use, set up as corosync and totemd set it up (one UDP link per peer, a loopback link to self,
// the same crypto, TRAFFICHIPRIO, ping timers of token 1000 ms), flooding datagrams of one size
// to every node (knet's broadcast, as a Totem MCAST).
//
//   totem-knet-bench --nodeid I --nodes N --size BYTES [--send] [--crypto MODEL|none]
//                    [--key FILE] [--addr-prefix 10.201.0.] [--port 5405]
//                    [--warmup S] [--seconds S] [--linger S]
//   totem-knet-bench --rss
//
// --rss: the memory floor of any daemon on libknet: the process's resident memory before and
// after knet_handle_new (libknet allocates and touches its packet buffers there, whatever
// the links), one line `RESULT {"rss_before_kB": N, "rss_handle_kB": M, "anon_handle_kB": A}`.
//
// Node j (1..N) is at <addr-prefix>j. The start handshake is totem-cpg-bench's: READY once
// every peer is reachable, then "start <epoch seconds>" on stdin. With --send, datagrams are
// written to knet's data fd as fast as it takes them (EAGAIN: wait for POLLOUT) for warmup +
// seconds; every node reads its data fd all along and counts what arrives in the window
// [start + warmup, start + warmup + seconds) per source. One line at the end:
//   RESULT {"json": ...}
// Datagram layout (at least 24 bytes): magic u32 'KNTB', nodeid u32, seq u32, length u32,
// send time u64 (ns, CLOCK_MONOTONIC).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

extern "C" {
#include <libknet.h>
}

namespace {

constexpr std::uint32_t kMagic = 0x42544e4b;  // "KNTB"
constexpr std::size_t kHeader = 24;

struct Options {
    unsigned nodeid = 0;
    unsigned nodes = 0;
    std::size_t size = 1024;
    bool send = false;
    std::string crypto = "nss";
    std::string key;
    std::string addr_prefix = "10.201.0.";
    std::uint16_t port = 5405;
    double warmup_s = 1;
    double seconds = 3;
    double linger_s = 0.3;
    bool rss = false;
};

struct Source {
    std::uint64_t window = 0, bytes = 0, total = 0, lost = 0;
    std::uint32_t next_seq = 0;
};

std::uint64_t mono_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ull +
           static_cast<std::uint64_t>(ts.tv_nsec);
}

double real_s() {
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

void usage() {
    std::fprintf(stderr,
                 "usage: totem-knet-bench --nodeid I --nodes N --size BYTES [--send] "
                 "[--crypto MODEL|none] [--key FILE] [--addr-prefix P] [--port N] [--warmup S] "
                 "[--seconds S] [--linger S]\n");
    std::exit(2);
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto val = [&]() -> const char* {
            if (i + 1 >= argc)
                usage();
            return argv[++i];
        };
        if (a == "--nodeid")
            o.nodeid = static_cast<unsigned>(std::strtoul(val(), nullptr, 10));
        else if (a == "--nodes")
            o.nodes = static_cast<unsigned>(std::strtoul(val(), nullptr, 10));
        else if (a == "--size")
            o.size = std::strtoull(val(), nullptr, 10);
        else if (a == "--send")
            o.send = true;
        else if (a == "--crypto")
            o.crypto = val();
        else if (a == "--key")
            o.key = val();
        else if (a == "--addr-prefix")
            o.addr_prefix = val();
        else if (a == "--port")
            o.port = static_cast<std::uint16_t>(std::strtoul(val(), nullptr, 10));
        else if (a == "--warmup")
            o.warmup_s = std::strtod(val(), nullptr);
        else if (a == "--seconds")
            o.seconds = std::strtod(val(), nullptr);
        else if (a == "--linger")
            o.linger_s = std::strtod(val(), nullptr);
        else if (a == "--rss")
            o.rss = true;
        else
            usage();
    }
    if (o.rss)
        return o;
    if (o.nodeid < 1 || o.nodes < 2 || o.nodeid > o.nodes || o.nodes > 64 || o.size < kHeader ||
        o.size > KNET_MAX_PACKET_SIZE || o.seconds <= 0 || (o.crypto != "none" && o.key.empty()))
        usage();
    return o;
}

sockaddr_storage addr_of(const Options& o, unsigned node) {
    sockaddr_storage ss{};
    auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
    v4->sin_family = AF_INET;
    v4->sin_port = htons(o.port);
    const std::string a = o.addr_prefix + std::to_string(node);
    if (inet_pton(AF_INET, a.c_str(), &v4->sin_addr) != 1) {
        std::fprintf(stderr, "bad address %s\n", a.c_str());
        std::exit(2);
    }
    return ss;
}

int fail(const char* what) {
    std::printf("SETUP_ERROR %s: %s\n", what, std::strerror(errno));
    std::fflush(stdout);
    return 1;
}

int broadcast_filter(void*, const unsigned char*, ssize_t, uint8_t, knet_node_id_t, knet_node_id_t,
                     int8_t*, knet_node_id_t*, size_t*) {
    return 1;  // every packet to every host, as a Totem MCAST
}

void sock_notify(void*, int, int8_t, uint8_t, int, int) {}

int logpipe[2] = {-1, -1};

void drain_log() {
    knet_log_msg m;
    while (read(logpipe[0], &m, sizeof m) == static_cast<ssize_t>(sizeof m)) {
        if (m.msglevel <= KNET_LOG_WARN) {
            m.msg[sizeof m.msg - 1] = '\0';
            std::fprintf(stderr, "knet: %s\n", m.msg);
        }
    }
}

}  // namespace

// kB of a /proc/self/status line ("VmRSS", "RssAnon"); -1 if absent.
long status_kB(const char* key) {
    FILE* f = std::fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    long v = -1;
    const std::size_t n = std::strlen(key);
    while (std::fgets(line, sizeof line, f))
        if (std::strncmp(line, key, n) == 0 && line[n] == ':')
            v = std::strtol(line + n + 1, nullptr, 10);
    std::fclose(f);
    return v;
}

int main(int argc, char** argv) {
    const Options o = parse(argc, argv);
    if (pipe2(logpipe, O_NONBLOCK | O_CLOEXEC) != 0)
        return fail("pipe2");
    if (o.rss) {
        const long before = status_kB("VmRSS");
        knet_handle_t rh = knet_handle_new_ex(1, logpipe[1], KNET_LOG_WARN, 0);
        if (!rh)
            return fail("knet_handle_new");
        std::printf(
            "RESULT {\"rss_before_kB\": %ld, \"rss_handle_kB\": %ld, "
            "\"anon_handle_kB\": %ld}\n",
            before, status_kB("VmRSS"), status_kB("RssAnon"));
        knet_handle_free(rh);
        return 0;
    }
    knet_handle_t h =
        knet_handle_new(static_cast<knet_node_id_t>(o.nodeid), logpipe[1], KNET_LOG_WARN);
    if (!h)  // socket buffers too small for the privileged set-up: as corosync's fallback
        h = knet_handle_new_ex(static_cast<knet_node_id_t>(o.nodeid), logpipe[1], KNET_LOG_WARN, 0);
    if (!h)
        return fail("knet_handle_new");
    if (knet_handle_enable_filter(h, nullptr, broadcast_filter) != 0)
        return fail("knet_handle_enable_filter");
    if (knet_handle_enable_sock_notify(h, nullptr, sock_notify) != 0)
        return fail("knet_handle_enable_sock_notify");
    int datafd = 0;
    int8_t channel = 0;
    if (knet_handle_add_datafd(h, &datafd, &channel) != 0)
        return fail("knet_handle_add_datafd");
    if (o.crypto != "none") {
        std::vector<unsigned char> key(KNET_MAX_KEY_LEN);
        FILE* f = std::fopen(o.key.c_str(), "rb");
        if (!f)
            return fail("open key");
        const std::size_t n = std::fread(key.data(), 1, key.size(), f);
        std::fclose(f);
        knet_handle_crypto_cfg cc{};
        std::snprintf(cc.crypto_model, sizeof cc.crypto_model, "%s", o.crypto.c_str());
        std::snprintf(cc.crypto_cipher_type, sizeof cc.crypto_cipher_type, "aes256");
        std::snprintf(cc.crypto_hash_type, sizeof cc.crypto_hash_type, "sha256");
        std::memcpy(cc.private_key, key.data(), n);
        cc.private_key_len = static_cast<unsigned>(n);
        if (knet_handle_crypto_set_config(h, &cc, 1) != 0)
            return fail("knet_handle_crypto_set_config");
        if (knet_handle_crypto_use_config(h, 1) != 0)
            return fail("knet_handle_crypto_use_config");
        if (knet_handle_crypto_rx_clear_traffic(h, KNET_CRYPTO_RX_DISALLOW_CLEAR_TRAFFIC) != 0)
            return fail("knet_handle_crypto_rx_clear_traffic");
    } else if (knet_handle_crypto_rx_clear_traffic(h, KNET_CRYPTO_RX_ALLOW_CLEAR_TRAFFIC) != 0) {
        return fail("knet_handle_crypto_rx_clear_traffic");
    }
    knet_handle_setfwd(h, 1);
    const sockaddr_storage self = addr_of(o, o.nodeid);
    for (unsigned j = 1; j <= o.nodes; ++j) {
        const auto host = static_cast<knet_node_id_t>(j);
        if (knet_host_add(h, host) != 0)
            return fail("knet_host_add");
        knet_host_set_policy(h, host, KNET_LINK_POLICY_PASSIVE);
        sockaddr_storage dst = addr_of(o, j);
        const std::uint8_t transport = j == o.nodeid ? KNET_TRANSPORT_LOOPBACK : KNET_TRANSPORT_UDP;
        if (knet_link_set_config(h, host, 0, transport, const_cast<sockaddr_storage*>(&self), &dst,
                                 KNET_LINK_FLAG_TRAFFICHIPRIO) != 0)
            return fail("knet_link_set_config");
        if (j != o.nodeid) {
            knet_link_set_ping_timers(h, host, 0, 250, 500, 2048);
            knet_link_set_pong_count(h, host, 0, 2);
        }
        if (knet_link_set_enable(h, host, 0, 1) != 0)
            return fail("knet_link_set_enable");
    }
    // Until every peer is reachable (bounded: 30 s).
    const std::uint64_t up_deadline = mono_ns() + 30'000'000'000ull;
    for (;;) {
        unsigned up = 0;
        for (unsigned j = 1; j <= o.nodes; ++j) {
            knet_host_status hs{};
            if (j != o.nodeid &&
                knet_host_get_status(h, static_cast<knet_node_id_t>(j), &hs) == 0 && hs.reachable)
                ++up;
        }
        drain_log();
        if (up == o.nodes - 1)
            break;
        if (mono_ns() > up_deadline) {
            std::printf("SETUP_ERROR %u of %u peers reachable\n", up, o.nodes - 1);
            return 1;
        }
        usleep(20'000);
    }
    std::printf("READY nodeid=%u\n", o.nodeid);
    std::fflush(stdout);

    char line[128] = {0};
    if (!std::fgets(line, sizeof line, stdin))
        return fail("no start line");
    double start_real = 0;
    if (std::sscanf(line, "start %lf", &start_real) != 1)
        return fail("bad start line");
    const double offset = real_s() - static_cast<double>(mono_ns()) * 1e-9;
    const auto t_start = static_cast<std::uint64_t>((start_real - offset) * 1e9);
    const std::uint64_t t_begin = t_start + static_cast<std::uint64_t>(o.warmup_s * 1e9);
    const std::uint64_t t_end = t_begin + static_cast<std::uint64_t>(o.seconds * 1e9);
    const std::uint64_t t_stop = t_end + static_cast<std::uint64_t>(o.linger_s * 1e9);

    std::vector<std::uint8_t> out(o.size, 0x5a), in(KNET_MAX_PACKET_SIZE + 512);
    std::uint64_t x = 0x9e3779b97f4a7c15ull ^ o.nodeid;
    for (std::size_t i = kHeader; i < o.size; ++i) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out[i] = static_cast<std::uint8_t>(x);
    }
    auto put32 = [](std::uint8_t* p, std::uint32_t v) { std::memcpy(p, &v, 4); };
    put32(&out[0], kMagic);
    put32(&out[4], o.nodeid);
    put32(&out[12], static_cast<std::uint32_t>(o.size));
    std::vector<Source> src(o.nodes + 1);
    std::uint32_t seq = 0;
    std::uint64_t sent_window = 0, sent_total = 0, eagain = 0, foreign = 0;
    rusage ru0;
    getrusage(RUSAGE_SELF, &ru0);
    while (mono_ns() < t_start)
        usleep(1000);
    for (std::uint64_t now = mono_ns(); now < t_stop; now = mono_ns()) {
        const bool sending = o.send && now < t_end;
        pollfd p = {datafd, static_cast<short>(POLLIN | (sending ? POLLOUT : 0)), 0};
        if (poll(&p, 1, 5) < 0)
            continue;
        if (p.revents & POLLIN) {
            for (int k = 0; k < 256; ++k) {
                const ssize_t n = recv(datafd, in.data(), in.size(), MSG_DONTWAIT);
                if (n <= 0)
                    break;
                std::uint32_t magic, from, s, len;
                if (static_cast<std::size_t>(n) < kHeader) {
                    ++foreign;
                    continue;
                }
                std::memcpy(&magic, &in[0], 4);
                std::memcpy(&from, &in[4], 4);
                std::memcpy(&s, &in[8], 4);
                std::memcpy(&len, &in[12], 4);
                if (magic != kMagic || from < 1 || from > o.nodes ||
                    len != static_cast<std::uint32_t>(n)) {
                    ++foreign;
                    continue;
                }
                const std::uint64_t t = mono_ns();
                Source& so = src[from];
                so.total++;
                if (t >= t_begin && t < t_end) {
                    so.window++;
                    so.bytes += static_cast<std::uint64_t>(n);
                }
                if (s > so.next_seq)
                    so.lost += s - so.next_seq;
                if (s >= so.next_seq)
                    so.next_seq = s + 1;
            }
        }
        if (sending && (p.revents & POLLOUT)) {
            for (int k = 0; k < 64; ++k) {
                const std::uint64_t t = mono_ns();
                if (t >= t_end)
                    break;
                put32(&out[8], seq);
                std::memcpy(&out[16], &t, 8);
                const ssize_t n = send(datafd, out.data(), out.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
                if (n != static_cast<ssize_t>(out.size())) {
                    ++eagain;
                    break;
                }
                ++seq;
                ++sent_total;
                if (t >= t_begin)
                    ++sent_window;
            }
        }
    }
    rusage ru1;
    getrusage(RUSAGE_SELF, &ru1);
    auto secs = [](const timeval& tv) {
        return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) * 1e-6;
    };
    const double cpu =
        secs(ru1.ru_utime) + secs(ru1.ru_stime) - secs(ru0.ru_utime) - secs(ru0.ru_stime);
    drain_log();
    std::string from = "{";
    for (unsigned j = 1; j <= o.nodes; ++j) {
        char buf[160];
        std::snprintf(buf, sizeof buf,
                      "%s\"%u\":{\"window\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"total\":%" PRIu64
                      ",\"lost\":%" PRIu64 "}",
                      j > 1 ? "," : "", j, src[j].window, src[j].bytes, src[j].total, src[j].lost);
        from += buf;
    }
    from += "}";
    std::printf(
        "RESULT {\"nodeid\":%u,\"size\":%zu,\"send\":%s,\"seconds\":%.3f,"
        "\"sent_window\":%" PRIu64 ",\"sent_total\":%" PRIu64 ",\"eagain\":%" PRIu64
        ",\"foreign\":%" PRIu64 ",\"cpu_s\":%.3f,\"from\":%s}\n",
        o.nodeid, o.size, o.send ? "true" : "false", o.seconds, sent_window, sent_total, eagain,
        foreign, cpu, from.c_str());
    std::fflush(stdout);
    knet_handle_setfwd(h, 0);
    for (unsigned j = 1; j <= o.nodes; ++j) {
        knet_link_set_enable(h, static_cast<knet_node_id_t>(j), 0, 0);
        knet_link_clear_config(h, static_cast<knet_node_id_t>(j), 0);
        knet_host_remove(h, static_cast<knet_node_id_t>(j));
    }
    knet_handle_free(h);
    return 0;
}
