// totem-ipc-probe: a client on libqb's client API alone (no libcmap, no libcfg), which sends one
// malformed request to a cmap or cfg server and reports what came back. For the bad-IPC checks
// of tests/it/test_services.py (issue 15, acceptance point 4); it runs against totemd and
// against corosync 3.1.7 alike.
//
//   totem-ipc-probe SERVICE CASE [--seed N] [--hold]
//     SERVICE  cmap | cfg
//     CASE     valid            a well-formed request (cmap GET totem.cluster_name, cfg LOCAL_GET)
//              size_below_header   hdr.size 8 (< the 16-byte request header), 16-byte chunk
//              size_negative    hdr.size -1
//              size_above_max   hdr.size = the granted buffer size + 1, a small chunk
//              beyond_fixed     the valid request with hdr.size and chunk 200 bytes longer
//              unknown_id       a header-only request with id 1000
//              random           16..600 bytes from a PRNG seeded with --seed
//              short_chunk      an 8-byte chunk (shorter than the request header)
//              disconnect_mid   the valid request, then qb_ipcc_disconnect before the reply
//              exit_mid         the valid request, then _exit(0) before the reply (no disconnect)
//
// Output, one line each:
//   pid=<getpid()> buffer=<granted size>
//   sent bytes=<chunk> size_field=<hdr.size> rc=<qb_ipcc_send>
//   reply bytes=<n> id=<i> size=<s> error=<cs_error_t>  |  closed rc=<r>  |  no-reply
//   connected=<0|1>                       (qb_ipcc_is_connected after that)
//   holding                               (--hold: waits until stdin closes, connection open)
// Exit: 0 when the steps ran (whatever the server did), 2 on usage, 3 when connecting failed.
#include <qb/qbipcc.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

constexpr std::size_t request_header_size = 16;   // struct qb_ipc_request_header
constexpr std::size_t response_header_size = 24;  // struct qb_ipc_response_header
constexpr std::size_t cmap_req_get_size = 288;    // struct req_lib_cmap_get
constexpr std::int32_t cmap_req_get = 2;          // MESSAGE_REQ_CMAP_GET
constexpr std::int32_t cfg_req_local_get = 6;     // MESSAGE_REQ_CFG_LOCAL_GET
constexpr std::int32_t unknown_request_id = 1000;
constexpr std::size_t ipc_request_size = 8192 * 128;  // libcmap's and libcfg's IPC_REQUEST_SIZE
constexpr int reply_timeout_ms = 2000;
constexpr int reply_slice_ms = 100;
constexpr unsigned max_lifetime_s = 300;  // bounded even if the test never closes stdin

using Bytes = std::vector<std::uint8_t>;

void put_i32(Bytes& b, std::size_t at, std::int32_t v) {
    std::memcpy(b.data() + at, &v, sizeof v);  // host order, as libqb's clients send
}

void put_u64(Bytes& b, std::size_t at, std::uint64_t v) {
    std::memcpy(b.data() + at, &v, sizeof v);
}

// The service's well-formed request: header id/size, then the body corosync's struct has.
Bytes valid_request(const std::string& service) {
    if (service == "cmap") {
        Bytes b(cmap_req_get_size, 0);
        put_i32(b, 0, cmap_req_get);
        put_i32(b, 8, static_cast<std::int32_t>(b.size()));
        const std::string key = "totem.cluster_name";
        const std::uint16_t len = static_cast<std::uint16_t>(key.size());
        std::memcpy(b.data() + 16, &len, sizeof len);        // mar_name_t.length @16
        std::memcpy(b.data() + 24, key.data(), key.size());  // mar_name_t.value @24
        put_u64(b, 280, 256);                                // value_len: the client's buffer
        return b;
    }
    Bytes b(request_header_size, 0);
    put_i32(b, 0, cfg_req_local_get);
    put_i32(b, 8, static_cast<std::int32_t>(b.size()));
    return b;
}

// A small deterministic PRNG (splitmix64): the same bytes for a seed on every run.
struct SplitMix {
    std::uint64_t s;
    std::uint64_t next() {
        std::uint64_t z = (s += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
};

int usage() {
    std::fprintf(stderr,
                 "usage: totem-ipc-probe cmap|cfg valid|size_below_header|size_negative|"
                 "size_above_max|beyond_fixed|unknown_id|random|short_chunk|disconnect_mid|"
                 "exit_mid [--seed N] [--hold]\n");
    return 2;
}

void print_reply(qb_ipcc_connection_t* c) {
    std::array<std::uint8_t, 64 * 1024> buf{};
    // Short waits: libqb's client notices a server that closed the connection only when a wait
    // ends, so a closed connection shows within one slice instead of the whole timeout.
    ssize_t n = -ETIMEDOUT;
    for (int waited_ms = 0; waited_ms < reply_timeout_ms; waited_ms += reply_slice_ms) {
        n = qb_ipcc_recv(c, buf.data(), buf.size(), reply_slice_ms);
        if ((n != -ETIMEDOUT && n != -EAGAIN) || !qb_ipcc_is_connected(c))
            break;
    }
    if (n >= static_cast<ssize_t>(response_header_size)) {
        std::int32_t id = 0;
        std::int32_t size = 0;
        std::int32_t error = 0;
        std::memcpy(&id, buf.data(), 4);
        std::memcpy(&size, buf.data() + 8, 4);
        std::memcpy(&error, buf.data() + 16, 4);
        std::printf("reply bytes=%zd id=%d size=%d error=%d\n", n, id, size, error);
    } else if (n >= 0) {
        std::printf("reply bytes=%zd (shorter than a response header)\n", n);
    } else if (n == -ETIMEDOUT || n == -EAGAIN) {
        std::printf("no-reply\n");
    } else {
        std::printf("closed rc=%zd\n", n);
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3)
        return usage();
    const std::string service = argv[1];
    const std::string scenario = argv[2];
    std::uint64_t seed = 1;
    bool hold = false;
    for (int i = 3; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--seed" && i + 1 < argc)
            seed = std::strtoull(argv[++i], nullptr, 10);
        else if (a == "--hold")
            hold = true;
        else
            return usage();
    }
    if (service != "cmap" && service != "cfg")
        return usage();
    alarm(max_lifetime_s);

    qb_ipcc_connection_t* c = qb_ipcc_connect(service.c_str(), ipc_request_size);
    if (c == nullptr) {
        std::printf("connect failed errno=%d (%s)\n", errno, std::strerror(errno));
        return 3;
    }
    const std::int32_t buffer = qb_ipcc_get_buffer_size(c);
    std::printf("pid=%d buffer=%d\n", static_cast<int>(getpid()), buffer);

    Bytes msg = valid_request(service);
    if (scenario == "valid" || scenario == "disconnect_mid" || scenario == "exit_mid") {
        // as is
    } else if (scenario == "size_below_header") {
        msg.assign(request_header_size, 0);
        put_i32(msg, 0, service == "cmap" ? cmap_req_get : cfg_req_local_get);
        put_i32(msg, 8, 8);
    } else if (scenario == "size_negative") {
        put_i32(msg, 8, -1);
    } else if (scenario == "size_above_max") {
        msg.assign(request_header_size, 0);
        put_i32(msg, 0, service == "cmap" ? cmap_req_get : cfg_req_local_get);
        put_i32(msg, 8, buffer + 1);
    } else if (scenario == "beyond_fixed") {
        msg.resize(msg.size() + 200, 0);
        put_i32(msg, 8, static_cast<std::int32_t>(msg.size()));
    } else if (scenario == "unknown_id") {
        msg.assign(request_header_size, 0);
        put_i32(msg, 0, unknown_request_id);
        put_i32(msg, 8, static_cast<std::int32_t>(request_header_size));
    } else if (scenario == "random") {
        SplitMix rng{seed};
        msg.resize(request_header_size + rng.next() % 585);
        for (auto& byte : msg)
            byte = static_cast<std::uint8_t>(rng.next());
    } else if (scenario == "short_chunk") {
        msg.assign(8, 0);
        put_i32(msg, 0, service == "cmap" ? cmap_req_get : cfg_req_local_get);
    } else {
        qb_ipcc_disconnect(c);
        return usage();
    }
    std::int32_t size_field = 0;
    if (msg.size() >= 12)
        std::memcpy(&size_field, msg.data() + 8, 4);
    const ssize_t rc = qb_ipcc_send(c, msg.data(), msg.size());
    std::printf("sent bytes=%zu size_field=%d rc=%zd\n", msg.size(), size_field, rc);
    std::fflush(stdout);
    if (scenario == "disconnect_mid") {
        qb_ipcc_disconnect(c);
        std::printf("disconnected\n");
        return 0;
    }
    if (scenario == "exit_mid")
        _exit(0);  // the kernel closes the sockets; libqb's client never says goodbye
    print_reply(c);
    std::printf("connected=%d\n", qb_ipcc_is_connected(c) ? 1 : 0);
    if (hold) {
        std::printf("holding\n");
        std::fflush(stdout);
        char line[64];
        while (std::fgets(line, sizeof line, stdin) != nullptr) {
        }
    }
    qb_ipcc_disconnect(c);
    return 0;
}
