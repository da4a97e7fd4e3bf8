// UdpuCrypto: totemd's authenticated encryption for the udpu transport (AES-256-GCM).
//
// A totemd extension — corosync refuses crypto on udpu. The packet format, key schedule and
// replay rules are written down in docs/protocol/udpu-crypto.md; in short:
//
//   0  2  magic "TD"           16  8  session (sender's start time, µs; LE)
//   2  1  version 1            24  8  counter (per session, from 1; LE)
//   3  1  flags 0              32  …  ciphertext
//   4  4  sender nodeid (LE)   end 16 GCM tag
//   8  8  config digest (first 8 bytes)
//
// Key per (sender, session) = HKDF-SHA256(authkey, salt "totemd-udpu-v1",
// info "aes-256-gcm" ‖ nodeid ‖ session); nonce = counter (8 bytes LE) ‖ 4 zero bytes, so a
// nonce is never reused under one key. Associated data = the 32-byte header ‖ the full 32-byte
// config digest (SHA-256 over cluster_name and the nodelist), so a packet from another cluster
// configuration never authenticates. A receiver keeps, per sender, the newest session that
// authenticated and a 1024-packet replay window in it; older sessions are replays.
//
// Pure: no sockets, no clock (the session value comes from the caller). Not thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "common/bytes.hpp"
#include "common/result.hpp"
#include "transport/config.hpp"

namespace totem {

inline constexpr std::size_t kUdpuCryptoHeaderSize = 32;
inline constexpr std::size_t kUdpuCryptoTagSize = 16;
inline constexpr std::size_t kUdpuCryptoOverhead = kUdpuCryptoHeaderSize + kUdpuCryptoTagSize;
inline constexpr std::size_t kUdpuReplayWindow = 1024;  // packets

enum class UdpuDrop : std::uint8_t {
    malformed,        // too short, bad magic or version
    unknown_sender,   // sender nodeid not in the nodelist
    config_mismatch,  // config digest differs (other cluster_name or nodelist)
    auth,             // tag does not verify (other key, tampered)
    replay,           // counter already seen, too old, or a superseded session
};
const char* to_string(UdpuDrop d);

// SHA-256 over "totemd-udpu-v1", cluster_name and every node's nodeid and ring0 address and
// port, in nodeid order: equal on every node of one correctly configured cluster.
std::array<std::uint8_t, 32> udpu_config_digest(const TransportConfig& cfg);

class UdpuCrypto {
  public:
    // `session`: a value that grows from one start of this node to the next (the start time in
    // µs since the epoch); `key`: the authkey bytes (any length ≥ 1).
    UdpuCrypto(const TransportConfig& cfg, std::uint64_t session);
    ~UdpuCrypto();
    UdpuCrypto(const UdpuCrypto&) = delete;
    UdpuCrypto& operator=(const UdpuCrypto&) = delete;

    // A reloaded nodelist (udpu add_node / remove_node): the config digest is recomputed from
    // `cfg`; members that stay keep their session and replay window, new ones start with none,
    // removed ones are forgotten. This node's session and counter go on, so no nonce repeats.
    void set_nodelist(const TransportConfig& cfg);

    // Encrypts one datagram for every receiver (the same bytes go to each).
    Bytes seal(ByteView plaintext);

    struct Opened {
        NodeId sender = 0;
        Bytes plaintext;
    };
    // Authenticates, checks replay and decrypts; the replay window advances only for packets
    // that authenticate.
    Result<Opened, UdpuDrop> open(ByteView packet);

  private:
    struct Peer {
        std::uint64_t session = 0;
        bool have_session = false;
        std::array<std::uint8_t, 32> key{};
        std::uint64_t highest = 0;                                   // highest counter accepted
        std::array<std::uint64_t, kUdpuReplayWindow / 64> window{};  // bit i: highest - i seen
    };
    std::array<std::uint8_t, 32> derive(NodeId node, std::uint64_t session) const;
    bool replay_check_and_set(Peer& p, std::uint64_t counter, bool commit);

    NodeId my_nodeid_;
    Bytes master_;
    std::array<std::uint8_t, 32> digest_{};
    std::uint64_t session_;
    std::uint64_t counter_ = 0;
    std::array<std::uint8_t, 32> my_key_{};
    std::map<NodeId, Peer> peers_;  // only configured nodes
    struct Ctx;
    std::unique_ptr<Ctx> ctx_;
};

}  // namespace totem
