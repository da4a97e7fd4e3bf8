// totem-cpg-bench: the load generator and meter of bench/, linked to Debian's unmodified libcpg
// (corosync 3.1.7), so that corosync and totemd are driven by the same program.
//
//   totem-cpg-bench --group NAME --members N --size BYTES [--send] [--rate MSGS_PER_S]
//                   [--warmup S] [--seconds S] [--linger S] [--verify] [--max-samples N]
//   totem-cpg-bench --group NAME --members N --watch --seconds S
//
// One run: initialize, join NAME, wait until the group has N members, print
//   READY nodeid=<id> pid=<pid>
// then read one line "start <epoch seconds>" on stdin (the harness sends it to every client
// once all are READY, so all begin together). From that moment, with --send, messages of BYTES
// bytes are multicast (CPG_TYPE_AGREED) for warmup + seconds: as fast as cpg_mcast_joined takes
// them (flood; CS_ERR_TRY_AGAIN is retried after dispatching or a 250 µs wait), or paced at
// --rate. Deliveries are read all along (after each send, CS_DISPATCH_ALL). The measurement
// window is [start + warmup, start + warmup + seconds): deliveries that arrive in it are counted
// (throughput); messages sent in it are timed from the moment of their send call to their
// delivery here (latency), at the sender for its own messages and at every other node for
// theirs. After the window the client goes on reading for --linger seconds (late deliveries
// still give latency samples; a message sent in the window and not delivered by then counts as
// "late"), then prints one line
//   RESULT {"json": ...}
// and exits: counters, latency percentiles (ms) and latency histograms (see hist_json).
// Time stamps are CLOCK_MONOTONIC, which every network namespace of one host shares.
//
// --watch sends nothing: after READY it prints "CONFCHG <epoch> members=<ids> left=<id:reason>"
// for every configuration change of the group (failover and leave times), for --seconds or
// until stdin closes.
//
// Message layout (at least 32 bytes): magic u32 'CPGB', nodeid u32, seq u32, length u32,
// send time u64 (ns, CLOCK_MONOTONIC), payload hash u32 (0 without --verify), pad u32; then a
// fixed random payload. Every receiver checks magic and length and the per-sender sequence
// (lost = a gap, dup = an old one); --verify also hashes the payload (corrupt).
#include <corosync/cpg.h>
#include <poll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace {

constexpr std::uint32_t kMagic = 0x42475043;  // "CPGB"
constexpr std::size_t kHeader = 32;

struct Options {
    std::string group = "bench";
    unsigned members = 1;
    std::size_t size = 1024;
    bool send = false;
    double rate = 0;  // messages/s; 0 = flood
    double warmup_s = 1;
    double seconds = 3;
    double linger_s = 0.5;
    bool verify = false;
    std::size_t max_samples = 2'000'000;
    bool watch = false;  // print CONFCHG lines for --seconds (or until stdin closes), send nothing
};

struct Sender {
    std::uint32_t next_seq = 0;
};

struct State {
    Options o;
    cpg_handle_t h = 0;
    int fd = -1;
    bool dead = false;
    std::uint32_t nodeid = 0;
    std::uint32_t pid = 0;
    unsigned group_members = 0;
    // window, CLOCK_MONOTONIC ns
    std::uint64_t t_begin = 0, t_end = 0;
    // send side
    std::uint32_t seq = 0;
    std::uint64_t sent_window = 0, sent_total = 0, try_again = 0, send_errors = 0;
    std::uint64_t late_budget = 0;  // own messages sent in the window
    // receive side
    std::uint64_t delivered_window = 0, bytes_window = 0, delivered_total = 0;
    std::uint64_t own_window_delivered = 0;  // own messages sent in the window, delivered
    std::uint64_t corrupt = 0, lost = 0, dup = 0, foreign = 0;
    std::map<std::pair<std::uint32_t, std::uint32_t>, Sender> senders;
    std::vector<std::uint64_t> lat_self, lat_other;  // ns
    bool watch = false;
    std::vector<std::uint8_t> payload;
};
State st;

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

void put32(std::uint8_t* p, std::uint32_t v) {
    std::memcpy(p, &v, 4);
}
std::uint32_t get32(const std::uint8_t* p) {
    std::uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}

std::uint32_t payload_hash(const std::uint8_t* p, std::size_t n) {
    std::uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        std::uint64_t w;
        std::memcpy(&w, p + i, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 29;
    }
    for (; i < n; ++i)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return static_cast<std::uint32_t>(h ^ (h >> 32));
}

void on_deliver(cpg_handle_t, const struct cpg_name*, uint32_t nodeid, uint32_t pid, void* msg,
                size_t len) {
    const std::uint64_t now = mono_ns();
    const auto* m = static_cast<const std::uint8_t*>(msg);
    st.delivered_total++;
    if (len < kHeader || get32(m) != kMagic || get32(m + 12) != len) {
        st.foreign++;
        return;
    }
    if (now >= st.t_begin && now < st.t_end) {
        st.delivered_window++;
        st.bytes_window += len;
    }
    if (st.o.verify && payload_hash(m + kHeader, len - kHeader) != get32(m + 24))
        st.corrupt++;
    Sender& s = st.senders[{nodeid, pid}];
    const std::uint32_t seq = get32(m + 8);
    if (seq > s.next_seq)
        st.lost += seq - s.next_seq;
    if (seq < s.next_seq)
        st.dup++;
    else
        s.next_seq = seq + 1;
    std::uint64_t sent;
    std::memcpy(&sent, m + 16, 8);
    if (sent >= st.t_begin && sent < st.t_end && now >= sent) {
        const bool self = nodeid == st.nodeid && pid == st.pid;
        auto& v = self ? st.lat_self : st.lat_other;
        if (self)
            st.own_window_delivered++;
        if (v.size() < st.o.max_samples)
            v.push_back(now - sent);
    }
}

void on_confchg(cpg_handle_t, const struct cpg_name*, const struct cpg_address* m, size_t mn,
                const struct cpg_address* l, size_t ln, const struct cpg_address*, size_t) {
    st.group_members = static_cast<unsigned>(mn);
    if (!st.watch)
        return;
    std::string members, left;
    for (size_t i = 0; i < mn; ++i)
        members += (i ? "," : "") + std::to_string(m[i].nodeid);
    for (size_t i = 0; i < ln; ++i)
        left += (i ? "," : "") + std::to_string(l[i].nodeid) + ":" + std::to_string(l[i].reason);
    std::printf("CONFCHG %.6f members=%s left=%s\n", real_s(), members.c_str(), left.c_str());
    std::fflush(stdout);
}

// Dispatches what is there; with wait_ns > 0 first waits up to that long for something.
void pump(std::uint64_t wait_ns) {
    if (st.dead)
        return;
    struct pollfd p = {st.fd, POLLIN, 0};
    timespec ts{static_cast<time_t>(wait_ns / 1'000'000'000ull),
                static_cast<long>(wait_ns % 1'000'000'000ull)};
    if (ppoll(&p, 1, &ts, nullptr) <= 0)
        return;
    const cs_error_t e = cpg_dispatch(st.h, CS_DISPATCH_ALL);
    if (e != CS_OK && e != CS_ERR_TRY_AGAIN) {
        std::fprintf(stderr, "cpg_dispatch: error %d\n", e);
        st.dead = true;
    }
}

// One message; true when it was sent (false: the connection failed).
bool send_one() {
    std::uint8_t* m = st.payload.data();
    put32(m + 8, st.seq);
    // Stamped once: a TRY_AGAIN wait is part of the message's latency.
    const std::uint64_t t = mono_ns();
    std::memcpy(m + 16, &t, 8);
    for (;;) {
        struct iovec iov = {m, st.o.size};
        const cs_error_t e = cpg_mcast_joined(st.h, CPG_TYPE_AGREED, &iov, 1);
        if (e == CS_OK) {
            st.seq++;
            st.sent_total++;
            if (t >= st.t_begin && t < st.t_end) {
                st.sent_window++;
                st.late_budget++;
            }
            return true;
        }
        if (e != CS_ERR_TRY_AGAIN) {
            std::fprintf(stderr, "cpg_mcast_joined: error %d\n", e);
            st.send_errors++;
            st.dead = true;
            return false;
        }
        st.try_again++;
        pump(250'000);
        if (st.dead || mono_ns() >= st.t_end)
            return false;
    }
}

struct Pct {
    double p50 = 0, p99 = 0, p999 = 0, max = 0, mean = 0;
    std::size_t n = 0;
};

Pct percentiles(std::vector<std::uint64_t>& v) {
    Pct p;
    p.n = v.size();
    if (v.empty())
        return p;
    std::sort(v.begin(), v.end());
    auto at = [&](double q) {
        std::size_t i = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
        return static_cast<double>(v[std::min(i, v.size() - 1)]) / 1e6;  // ms
    };
    p.p50 = at(0.50);
    p.p99 = at(0.99);
    p.p999 = at(0.999);
    p.max = static_cast<double>(v.back()) / 1e6;
    double sum = 0;
    for (std::uint64_t x : v)
        sum += static_cast<double>(x);
    p.mean = sum / static_cast<double>(v.size()) / 1e6;
    return p;
}

std::string pct_json(const Pct& p) {
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "{\"n\":%zu,\"p50_ms\":%.4f,\"p99_ms\":%.4f,\"p999_ms\":%.4f,\"max_ms\":%.4f,"
                  "\"mean_ms\":%.4f}",
                  p.n, p.p50, p.p99, p.p999, p.max, p.mean);
    return buf;
}

// Latency histogram, sparse: [[bucket, count], ...]; bucket 0 is < 1 µs, bucket b ≥ 1 covers
// [2^((b-1)/16), 2^(b/16)) µs (16 buckets an octave, 4.4 % wide). bench/benchlib.py merges them.
std::string hist_json(const std::vector<std::uint64_t>& v) {
    std::map<int, std::uint64_t> h;
    for (std::uint64_t ns : v) {
        const double us = static_cast<double>(ns) / 1e3;
        h[us < 1 ? 0 : 1 + static_cast<int>(std::floor(16 * std::log2(us)))]++;
    }
    std::string out = "[";
    for (const auto& [b, n] : h) {
        if (out.size() > 1)
            out += ",";
        out += "[" + std::to_string(b) + "," + std::to_string(n) + "]";
    }
    return out + "]";
}

void usage() {
    std::fprintf(stderr,
                 "usage: totem-cpg-bench --group NAME --members N --size BYTES [--send] "
                 "[--rate MSGS_PER_S] [--warmup S] [--seconds S] [--linger S] [--verify] "
                 "[--max-samples N] [--watch]\n");
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
        if (a == "--group")
            o.group = val();
        else if (a == "--members")
            o.members = static_cast<unsigned>(std::strtoul(val(), nullptr, 10));
        else if (a == "--size")
            o.size = std::strtoull(val(), nullptr, 10);
        else if (a == "--send")
            o.send = true;
        else if (a == "--rate")
            o.rate = std::strtod(val(), nullptr);
        else if (a == "--warmup")
            o.warmup_s = std::strtod(val(), nullptr);
        else if (a == "--seconds")
            o.seconds = std::strtod(val(), nullptr);
        else if (a == "--linger")
            o.linger_s = std::strtod(val(), nullptr);
        else if (a == "--verify")
            o.verify = true;
        else if (a == "--max-samples")
            o.max_samples = std::strtoull(val(), nullptr, 10);
        else if (a == "--watch")
            o.watch = true;
        else
            usage();
    }
    if (o.size < kHeader || o.group.empty() || o.group.size() > CPG_MAX_NAME_LENGTH ||
        o.members < 1 || o.seconds <= 0 || o.warmup_s < 0 || o.linger_s < 0 || o.rate < 0)
        usage();
    return o;
}

// Reads "start <epoch>" from stdin, dispatching meanwhile (bounded: 120 s).
double wait_start() {
    std::string buf;
    const std::uint64_t deadline = mono_ns() + 120'000'000'000ull;
    while (mono_ns() < deadline) {
        struct pollfd p[2] = {{0, POLLIN, 0}, {st.dead ? -1 : st.fd, POLLIN, 0}};
        if (poll(p, 2, 100) <= 0)
            continue;
        if (p[1].revents)
            pump(0);
        if (p[0].revents & (POLLIN | POLLHUP)) {
            char chunk[256];
            const ssize_t n = read(0, chunk, sizeof chunk);
            if (n <= 0)
                return -1;
            buf.append(chunk, static_cast<std::size_t>(n));
            const std::size_t nl = buf.find('\n');
            if (nl != std::string::npos) {
                double t = 0;
                if (std::sscanf(buf.c_str(), "start %lf", &t) == 1)
                    return t;
                return -1;
            }
        }
    }
    return -1;
}

}  // namespace

int main(int argc, char** argv) {
    st.o = parse(argc, argv);
    st.pid = static_cast<std::uint32_t>(getpid());
    cpg_callbacks_t cb = {on_deliver, on_confchg};
    cs_error_t e = CS_OK;
    for (int attempt = 0; attempt < 300; ++attempt) {
        e = cpg_initialize(&st.h, &cb);
        if (e == CS_OK)
            break;
        usleep(100'000);
    }
    if (e != CS_OK) {
        std::printf("INIT_ERROR %d\n", e);
        return 1;
    }
    cpg_fd_get(st.h, &st.fd);
    unsigned int id = 0;
    cpg_local_get(st.h, &id);
    st.nodeid = id;
    struct cpg_name g;
    std::memset(&g, 0, sizeof g);
    g.length = static_cast<std::uint32_t>(st.o.group.size());
    std::memcpy(g.value, st.o.group.data(), st.o.group.size());
    for (int attempt = 0; attempt < 300; ++attempt) {
        e = cpg_join(st.h, &g);
        if (e != CS_ERR_TRY_AGAIN)
            break;
        usleep(100'000);
    }
    if (e != CS_OK) {
        std::printf("JOIN_ERROR %d\n", e);
        return 1;
    }
    // Until the whole group is there (bounded: 60 s).
    const std::uint64_t join_deadline = mono_ns() + 60'000'000'000ull;
    while (st.group_members < st.o.members && !st.dead && mono_ns() < join_deadline)
        pump(10'000'000);
    if (st.group_members < st.o.members) {
        std::printf("JOIN_TIMEOUT members=%u\n", st.group_members);
        return 1;
    }
    st.payload.resize(st.o.size);
    std::uint64_t x = 0x2545f4914f6cdd1dull ^ (static_cast<std::uint64_t>(st.pid) << 16) ^ id;
    for (std::size_t i = kHeader; i < st.o.size; ++i) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        st.payload[i] = static_cast<std::uint8_t>(x);
    }
    put32(&st.payload[0], kMagic);
    put32(&st.payload[4], id);
    put32(&st.payload[12], static_cast<std::uint32_t>(st.o.size));
    put32(&st.payload[24],
          st.o.verify ? payload_hash(&st.payload[kHeader], st.o.size - kHeader) : 0);
    std::printf("READY nodeid=%u pid=%u\n", id, st.pid);
    std::fflush(stdout);
    if (st.o.watch) {
        // Membership watch (failover and leave times): CONFCHG <epoch> members=... left=...
        st.watch = true;
        const std::uint64_t until = mono_ns() + static_cast<std::uint64_t>(st.o.seconds * 1e9);
        while (!st.dead && mono_ns() < until) {
            struct pollfd p[2] = {{0, POLLIN, 0}, {st.fd, POLLIN, 0}};
            if (poll(p, 2, 100) <= 0)
                continue;
            if (p[1].revents)
                pump(0);
            if (p[0].revents & (POLLIN | POLLHUP)) {
                char chunk[64];
                if (read(0, chunk, sizeof chunk) <= 0)
                    break;
            }
        }
        std::printf("RESULT {\"watch\":true,\"dead\":%s}\n", st.dead ? "true" : "false");
        std::fflush(stdout);
        cpg_finalize(st.h);
        return 0;
    }

    const double start_real = wait_start();
    if (start_real < 0) {
        std::printf("NO_START\n");
        return 1;
    }
    // epoch → CLOCK_MONOTONIC
    const double offset = real_s() - static_cast<double>(mono_ns()) * 1e-9;
    const auto t_start = static_cast<std::uint64_t>((start_real - offset) * 1e9);
    st.t_begin = t_start + static_cast<std::uint64_t>(st.o.warmup_s * 1e9);
    st.t_end = st.t_begin + static_cast<std::uint64_t>(st.o.seconds * 1e9);
    const std::uint64_t t_stop = st.t_end + static_cast<std::uint64_t>(st.o.linger_s * 1e9);
    while (mono_ns() < t_start && !st.dead)
        pump(std::min<std::uint64_t>(t_start - std::min(t_start, mono_ns()), 5'000'000));

    const double interval_ns = st.o.rate > 0 ? 1e9 / st.o.rate : 0;
    std::uint64_t i = 0;
    rusage ru0;
    getrusage(RUSAGE_SELF, &ru0);
    for (std::uint64_t now = mono_ns(); now < st.t_end && !st.dead; now = mono_ns()) {
        if (!st.o.send) {
            pump(std::min<std::uint64_t>(st.t_end - now, 50'000'000));
            continue;
        }
        const auto due = t_start + static_cast<std::uint64_t>(static_cast<double>(i) * interval_ns);
        if (now < due) {
            pump(std::min<std::uint64_t>(due - now, st.t_end - now));
            continue;
        }
        if (!send_one())
            continue;
        ++i;
        pump(0);
    }
    for (std::uint64_t now = mono_ns(); now < t_stop && !st.dead; now = mono_ns())
        pump(std::min<std::uint64_t>(t_stop - now, 20'000'000));
    rusage ru1;
    getrusage(RUSAGE_SELF, &ru1);
    auto secs = [](const timeval& tv) {
        return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) * 1e-6;
    };
    const double cpu =
        secs(ru1.ru_utime) + secs(ru1.ru_stime) - secs(ru0.ru_utime) - secs(ru0.ru_stime);

    const std::uint64_t late = st.late_budget - std::min(st.late_budget, st.own_window_delivered);
    const Pct self = percentiles(st.lat_self);
    const Pct other = percentiles(st.lat_other);
    std::printf(
        "RESULT {\"nodeid\":%u,\"pid\":%u,\"size\":%zu,\"send\":%s,\"rate\":%.1f,"
        "\"seconds\":%.3f,\"sent_window\":%" PRIu64 ",\"sent_total\":%" PRIu64
        ",\"try_again\":%" PRIu64 ",\"delivered_window\":%" PRIu64 ",\"bytes_window\":%" PRIu64
        ",\"delivered_total\":%" PRIu64 ",\"lost\":%" PRIu64 ",\"dup\":%" PRIu64
        ",\"corrupt\":%" PRIu64 ",\"foreign\":%" PRIu64 ",\"late\":%" PRIu64
        ",\"senders\":%zu,\"dead\":%s,\"client_cpu_s\":%.3f,\"lat_self\":%s,\"lat_other\":%s,"
        "\"hist_self\":%s,\"hist_other\":%s}\n",
        st.nodeid, st.pid, st.o.size, st.o.send ? "true" : "false", st.o.rate, st.o.seconds,
        st.sent_window, st.sent_total, st.try_again, st.delivered_window, st.bytes_window,
        st.delivered_total, st.lost, st.dup, st.corrupt, st.foreign, late, st.senders.size(),
        st.dead ? "true" : "false", cpu, pct_json(self).c_str(), pct_json(other).c_str(),
        hist_json(st.lat_self).c_str(), hist_json(st.lat_other).c_str());
    std::fflush(stdout);
    cpg_leave(st.h, &g);
    cpg_finalize(st.h);
    return st.dead ? 1 : 0;
}
