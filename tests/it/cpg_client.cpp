// totem-cpg-client: a test client linked to Debian's unmodified libcpg (corosync 3.1.7), driven
// line by line on stdin by tests/it/test_cpg.py, against corosync or totemd alike.
//
//   totem-cpg-client [--v1] [--quiet]
//
// --v1 initializes with cpg_model_initialize(CPG_MODEL_V1, flags
// CPG_MODEL_V1_DELIVER_INITIAL_TOTEM_CONF) and a totem confchg callback; --quiet prints no
// DELIVER line per message (the counters and the hash still run). Commands (one per line):
//
//   join NAME | leave NAME       NAME as text, or hex:<bytes> for any bytes
//   send N MIN MAX SEED [G]      N messages of MIN..MAX bytes (sizes and contents from SEED and
//                                the sequence number), guarantee G (default 2 = AGREED), while
//                                dispatching (after each message, and until idle after every
//                                MiB); TRY_AGAIN is retried after a 1 ms poll
//   sendfor SECONDS SIZE         messages of SIZE bytes for that long, as fast as accepted
//   members NAME | local | max | iter TYPE [NAME] | context | zc SIZE | finalize
//   stop | resume                stop / resume reading events (the connection stays open)
//   wait MS                      dispatch for MS milliseconds
//   report                       REPORT line: counters and the hash of the delivered sequence
//   exit
//
// Output lines: READY nodeid=N pid=P; RESULT <cmd> <cs_error> ...;
// CONFCHG <group> members=<n:p,...> left=<n:p:r,...> joined=<n:p:r,...>;
// TOTEM ring=<nodeid>.<seq> members=<n,...>; DELIVER <nodeid> <pid> <len> <seq>;
// PROGRESS <seconds> sent=<n> delivered=<n>; REPORT delivered=... hash=<hex> ...
//
// Message layout (at least 16 bytes): magic u32 'CPGT', seq u32, payload hash u32, length u32,
// then bytes from a xorshift stream. The receiver checks the length and the payload hash, the
// per-sender sequence (lost: a gap; dup: an old one), and folds (nodeid, pid, seq, length, hash)
// of every delivered message into one FNV-1a hash: equal hashes = the same sequence.
#include <corosync/cpg.h>
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace {

constexpr std::uint32_t kMagic = 0x54475043;  // "CPGT"
constexpr std::size_t kHeader = 16;

struct State {
    cpg_handle_t h = 0;
    int fd = -1;
    bool reading = true;
    bool quiet = false;
    std::uint32_t nodeid = 0;
    std::uint32_t pid = 0;
    std::uint32_t send_seq = 0;
    // receive side
    std::uint64_t delivered = 0, bytes = 0, corrupt = 0, lost = 0, dup = 0, big = 0;
    std::uint64_t seq_hash = 14695981039346656037ull;
    std::map<std::pair<std::uint32_t, std::uint32_t>, std::uint32_t> next_seq;
    std::uint64_t try_again = 0;
};
State st;

std::uint64_t fnv(std::uint64_t h, const void* p, std::size_t n) {
    const auto* b = static_cast<const std::uint8_t*>(p);
    for (std::size_t i = 0; i < n; ++i) {
        h ^= b[i];
        h *= 1099511628211ull;
    }
    return h;
}

// A fast hash of the payload: 8-byte words, multiply-xor.
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

std::uint64_t xorshift(std::uint64_t& s) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
}

void put32(std::uint8_t* p, std::uint32_t v) {
    std::memcpy(p, &v, 4);
}
std::uint32_t get32(const std::uint8_t* p) {
    std::uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}

std::vector<std::uint8_t> make_message(std::uint32_t seq, std::size_t size, std::uint64_t seed) {
    if (size < kHeader)
        size = kHeader;
    std::vector<std::uint8_t> m(size);
    std::uint64_t s =
        seed ^ (static_cast<std::uint64_t>(st.pid) << 32) ^ seq ^ 0x2545f4914f6cdd1dull;
    if (s == 0)
        s = 1;
    std::size_t i = kHeader;
    for (; i + 8 <= size; i += 8) {
        const std::uint64_t w = xorshift(s);
        std::memcpy(&m[i], &w, 8);
    }
    for (; i < size; ++i)
        m[i] = static_cast<std::uint8_t>(xorshift(s));
    put32(&m[0], kMagic);
    put32(&m[4], seq);
    put32(&m[8], payload_hash(&m[kHeader], size - kHeader));
    put32(&m[12], static_cast<std::uint32_t>(size));
    return m;
}

std::string name_text(const struct cpg_name* g) {
    std::string s;
    for (std::uint32_t i = 0; i < g->length && i < CPG_MAX_NAME_LENGTH; ++i) {
        const unsigned char c = static_cast<unsigned char>(g->value[i]);
        if (c > ' ' && c < 0x7f && c != '\\') {
            s += static_cast<char>(c);
        } else {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            s += buf;
        }
    }
    return s;
}

bool parse_name(const std::string& arg, struct cpg_name* out) {
    std::memset(out, 0, sizeof *out);
    std::string bytes;
    if (arg.rfind("hex:", 0) == 0) {
        const std::string hex = arg.substr(4);
        if (hex.size() % 2)
            return false;
        for (std::size_t i = 0; i < hex.size(); i += 2)
            bytes += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
    } else {
        bytes = arg;
    }
    if (bytes.size() > CPG_MAX_NAME_LENGTH)
        return false;
    out->length = static_cast<std::uint32_t>(bytes.size());
    std::memcpy(out->value, bytes.data(), bytes.size());
    return true;
}

std::string addrs(const struct cpg_address* l, size_t n, bool reason) {
    std::string s;
    for (size_t i = 0; i < n; ++i) {
        if (i)
            s += ",";
        s += std::to_string(l[i].nodeid) + ":" + std::to_string(l[i].pid);
        if (reason)
            s += ":" + std::to_string(l[i].reason);
    }
    return s;
}

void out(const std::string& line) {
    std::fputs(line.c_str(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
}

void on_deliver(cpg_handle_t, const struct cpg_name*, uint32_t nodeid, uint32_t pid, void* msg,
                size_t len) {
    const auto* m = static_cast<const std::uint8_t*>(msg);
    st.delivered++;
    st.bytes += len;
    if (len > 1047552)
        st.big++;
    std::uint32_t seq = 0, h = 0;
    if (len < kHeader || get32(m) != kMagic || get32(m + 12) != len) {
        st.corrupt++;
    } else {
        seq = get32(m + 4);
        h = get32(m + 8);
        if (payload_hash(m + kHeader, len - kHeader) != h)
            st.corrupt++;
        auto& next = st.next_seq[{nodeid, pid}];
        if (seq > next)
            st.lost += seq - next;
        if (seq < next)
            st.dup++;
        else
            next = seq + 1;
    }
    const std::uint32_t rec[5] = {nodeid, pid, seq, static_cast<std::uint32_t>(len), h};
    st.seq_hash = fnv(st.seq_hash, rec, sizeof rec);
    if (!st.quiet)
        out("DELIVER " + std::to_string(nodeid) + " " + std::to_string(pid) + " " +
            std::to_string(len) + " " + std::to_string(seq));
}

void on_confchg(cpg_handle_t, const struct cpg_name* g, const struct cpg_address* m, size_t mn,
                const struct cpg_address* l, size_t ln, const struct cpg_address* j, size_t jn) {
    out("CONFCHG " + name_text(g) + " members=" + addrs(m, mn, false) +
        " left=" + addrs(l, ln, true) + " joined=" + addrs(j, jn, true));
}

void on_totem(cpg_handle_t, struct cpg_ring_id ring, uint32_t n, const uint32_t* members) {
    std::string s =
        "TOTEM ring=" + std::to_string(ring.nodeid) + "." + std::to_string(ring.seq) + " members=";
    for (uint32_t i = 0; i < n; ++i)
        s += (i ? "," : "") + std::to_string(members[i]);
    out(s);
}

// Reads what is there (CS_DISPATCH_ALL never blocks), after waiting up to `ms` for it.
void pump(int ms) {
    if (!st.reading || st.fd < 0) {
        if (ms > 0)
            usleep(static_cast<useconds_t>(ms) * 1000);
        return;
    }
    struct pollfd p = {st.fd, POLLIN, 0};
    if (poll(&p, 1, ms) > 0) {
        const cs_error_t e = cpg_dispatch(st.h, CS_DISPATCH_ALL);
        if (e != CS_OK && e != CS_ERR_TRY_AGAIN) {
            out("DISPATCH_ERROR " + std::to_string(e));
            st.fd = -1;  // the connection is gone
        }
    }
}

// Reads events until none comes for a few ms: the daemon refills a full event ring from its
// out-queue every 2 ms, so a client that sends a lot must give it that time to keep up (with
// totemd the out-queue is capped: 32 MiB are 32 messages of 1 MiB).
void drain() {
    if (!st.reading || st.fd < 0)
        return;
    for (int i = 0; i < 10000; ++i) {
        struct pollfd p = {st.fd, POLLIN, 0};
        if (poll(&p, 1, 3) <= 0)
            return;
        pump(0);
    }
}

// After each message: what is there; after every MiB sent: drain().
std::size_t sent_since_drain = 0;
void after_send(std::size_t bytes) {
    pump(0);
    sent_since_drain += bytes;
    if (sent_since_drain >= (std::size_t{1} << 20)) {
        sent_since_drain = 0;
        drain();
    }
}

cs_error_t send_one(const std::vector<std::uint8_t>& m, cpg_guarantee_t g) {
    struct iovec iov = {const_cast<std::uint8_t*>(m.data()), m.size()};
    for (;;) {
        const cs_error_t e = cpg_mcast_joined(st.h, g, &iov, 1);
        if (e != CS_ERR_TRY_AGAIN)
            return e;
        st.try_again++;
        pump(1);
    }
}

void report() {
    char hash[32];
    std::snprintf(hash, sizeof hash, "%016" PRIx64, st.seq_hash);
    out("REPORT delivered=" + std::to_string(st.delivered) + " bytes=" + std::to_string(st.bytes) +
        " corrupt=" + std::to_string(st.corrupt) + " lost=" + std::to_string(st.lost) +
        " dup=" + std::to_string(st.dup) + " big=" + std::to_string(st.big) +
        " senders=" + std::to_string(st.next_seq.size()) + " sent=" + std::to_string(st.send_seq) +
        " try_again=" + std::to_string(st.try_again) + " hash=" + hash);
}

double now_s() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

void command(const std::string& line) {
    std::istringstream in(line);
    std::string cmd;
    in >> cmd;
    if (cmd.empty())
        return;
    if (cmd == "join" || cmd == "leave") {
        std::string arg;
        in >> arg;
        struct cpg_name g;
        if (!parse_name(arg, &g)) {
            out("RESULT " + cmd + " bad-name");
            return;
        }
        const cs_error_t e = cmd == "join" ? cpg_join(st.h, &g) : cpg_leave(st.h, &g);
        out("RESULT " + cmd + " " + std::to_string(e));
    } else if (cmd == "send") {
        std::uint64_t n = 0, lo = 16, hi = 16, seed = 1;
        int g = CPG_TYPE_AGREED;
        in >> n >> lo >> hi >> seed;
        if (!(in >> g))
            g = CPG_TYPE_AGREED;
        const double t0 = now_s();
        double last = t0;
        std::uint64_t s = seed * 0x9e3779b97f4a7c15ull + st.pid;
        if (s == 0)
            s = 1;
        cs_error_t e = CS_OK;
        for (std::uint64_t i = 0; i < n; ++i) {
            const std::size_t size = lo + (hi > lo ? xorshift(s) % (hi - lo + 1) : 0);
            e = send_one(make_message(st.send_seq, size, seed), static_cast<cpg_guarantee_t>(g));
            if (e != CS_OK)
                break;
            st.send_seq++;
            after_send(size);
            const double t = now_s();
            if (t - last >= 1.0) {
                last = t;
                char buf[96];
                std::snprintf(buf, sizeof buf, "PROGRESS %.2f sent=%u delivered=%" PRIu64, t - t0,
                              st.send_seq, st.delivered);
                out(buf);
            }
        }
        char buf[128];
        std::snprintf(buf, sizeof buf, "RESULT send %d sent=%u seconds=%.3f", e, st.send_seq,
                      now_s() - t0);
        out(buf);
    } else if (cmd == "sendfor") {
        double seconds = 1;
        std::size_t size = 1024;
        in >> seconds >> size;
        const double t0 = now_s();
        double last = t0;
        cs_error_t e = CS_OK;
        while (now_s() - t0 < seconds) {
            e = send_one(make_message(st.send_seq, size, 7), CPG_TYPE_AGREED);
            if (e != CS_OK)
                break;
            st.send_seq++;
            after_send(size);
            const double t = now_s();
            if (t - last >= 1.0) {
                last = t;
                char buf[96];
                std::snprintf(buf, sizeof buf, "PROGRESS %.2f sent=%u delivered=%" PRIu64, t - t0,
                              st.send_seq, st.delivered);
                out(buf);
            }
        }
        out("RESULT sendfor " + std::to_string(e) + " sent=" + std::to_string(st.send_seq));
    } else if (cmd == "members") {
        std::string arg;
        in >> arg;
        struct cpg_name g;
        parse_name(arg, &g);
        struct cpg_address m[CPG_MEMBERS_MAX];
        int n = CPG_MEMBERS_MAX;
        const cs_error_t e = cpg_membership_get(st.h, &g, m, &n);
        out("RESULT members " + std::to_string(e) + " " +
            addrs(m, static_cast<size_t>(e == CS_OK ? n : 0), false));
    } else if (cmd == "local") {
        unsigned int id = 0;
        const cs_error_t e = cpg_local_get(st.h, &id);
        out("RESULT local " + std::to_string(e) + " " + std::to_string(id));
    } else if (cmd == "max") {
        uint32_t size = 0;
        const cs_error_t e = cpg_max_atomic_msgsize_get(st.h, &size);
        out("RESULT max " + std::to_string(e) + " " + std::to_string(size));
    } else if (cmd == "context") {
        static int marker;
        void* ctx = nullptr;
        cs_error_t e = cpg_context_set(st.h, &marker);
        const cs_error_t e2 = cpg_context_get(st.h, &ctx);
        out("RESULT context " + std::to_string(e) + " " + std::to_string(e2) + " " +
            (ctx == &marker ? "same" : "different"));
    } else if (cmd == "iter") {
        int type = CPG_ITERATION_ALL;
        std::string arg;
        in >> type >> arg;
        struct cpg_name g;
        parse_name(arg, &g);
        cpg_iteration_handle_t it;
        cs_error_t e =
            cpg_iteration_initialize(st.h, static_cast<cpg_iteration_type_t>(type),
                                     type == CPG_ITERATION_ONE_GROUP ? &g : nullptr, &it);
        std::string s = "RESULT iter " + std::to_string(e);
        if (e == CS_OK) {
            struct cpg_iteration_description_t d;
            while ((e = cpg_iteration_next(it, &d)) == CS_OK)
                s += " " + name_text(&d.group) + "/" + std::to_string(d.nodeid) + ":" +
                     std::to_string(d.pid);
            s += " end=" + std::to_string(e);
            s += " final=" + std::to_string(cpg_iteration_finalize(it));
        }
        out(s);
    } else if (cmd == "zc") {
        std::size_t size = 64;
        in >> size;
        void* buf = nullptr;
        cs_error_t a = cpg_zcb_alloc(st.h, size, &buf);
        cs_error_t m = CS_ERR_LIBRARY, f = CS_ERR_LIBRARY;
        if (a == CS_OK) {
            std::memset(buf, 0, size);
            m = cpg_zcb_mcast_joined(st.h, CPG_TYPE_AGREED, buf, size);
            f = cpg_zcb_free(st.h, buf);
        }
        out("RESULT zc " + std::to_string(a) + " " + std::to_string(m) + " " + std::to_string(f));
    } else if (cmd == "finalize") {
        out("RESULT finalize " + std::to_string(cpg_finalize(st.h)));
        st.fd = -1;
    } else if (cmd == "stop") {
        st.reading = false;
        out("RESULT stop 1");
    } else if (cmd == "resume") {
        st.reading = true;
        out("RESULT resume 1");
    } else if (cmd == "wait") {
        int ms = 0;
        in >> ms;
        const double until = now_s() + ms / 1000.0;
        while (now_s() < until)
            pump(std::max(1, static_cast<int>((until - now_s()) * 1000)));
        out("RESULT wait 1");
    } else if (cmd == "report") {
        report();
    } else if (cmd == "exit") {
        std::exit(0);
    } else {
        out("RESULT " + cmd + " unknown-command");
    }
}

}  // namespace

int main(int argc, char** argv) {
    bool v1 = false;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--v1"))
            v1 = true;
        else if (!std::strcmp(argv[i], "--quiet"))
            st.quiet = true;
        else {
            std::fprintf(stderr, "usage: totem-cpg-client [--v1] [--quiet] < commands\n");
            return 2;
        }
    }
    st.pid = static_cast<std::uint32_t>(getpid());
    cs_error_t e;
    for (int attempt = 0;; ++attempt) {
        if (v1) {
            cpg_model_v1_data_t m;
            std::memset(&m, 0, sizeof m);
            m.model = CPG_MODEL_V1;
            m.cpg_deliver_fn = on_deliver;
            m.cpg_confchg_fn = on_confchg;
            m.cpg_totem_confchg_fn = on_totem;
            m.flags = CPG_MODEL_V1_DELIVER_INITIAL_TOTEM_CONF;
            e = cpg_model_initialize(&st.h, CPG_MODEL_V1, reinterpret_cast<cpg_model_data_t*>(&m),
                                     nullptr);
        } else {
            cpg_callbacks_t cb = {on_deliver, on_confchg};
            e = cpg_initialize(&st.h, &cb);
        }
        if (e == CS_OK || attempt >= 100)
            break;
        usleep(100000);  // not ready yet (TRY_AGAIN before the first sync)
    }
    if (e != CS_OK) {
        out("INIT_ERROR " + std::to_string(e));
        return 1;
    }
    cpg_fd_get(st.h, &st.fd);
    unsigned int id = 0;
    cpg_local_get(st.h, &id);
    st.nodeid = id;
    out("READY nodeid=" + std::to_string(id) + " pid=" + std::to_string(st.pid));
    std::string buf;
    for (;;) {
        struct pollfd p[2] = {{0, POLLIN, 0}, {st.reading ? st.fd : -1, POLLIN, 0}};
        if (poll(p, 2, 1000) < 0)
            continue;
        if (p[1].revents & (POLLIN | POLLHUP | POLLERR))
            pump(0);
        if (p[0].revents & (POLLIN | POLLHUP)) {
            char chunk[4096];
            const ssize_t n = read(0, chunk, sizeof chunk);
            if (n <= 0)
                return 0;
            buf.append(chunk, static_cast<std::size_t>(n));
            std::size_t nl;
            while ((nl = buf.find('\n')) != std::string::npos) {
                const std::string line = buf.substr(0, nl);
                buf.erase(0, nl + 1);
                command(line);
            }
        }
    }
}
