#include "transport/udpu_crypto.hpp"

#include <openssl/evp.h>
#include <openssl/kdf.h>

#include <algorithm>
#include <cassert>
#include <cstring>
#include <stdexcept>

namespace totem {

namespace {

constexpr std::uint8_t kMagic0 = 'T';
constexpr std::uint8_t kMagic1 = 'D';
constexpr std::uint8_t kVersion = 1;
constexpr char kSalt[] = "totemd-udpu-v1";
constexpr char kInfo[] = "aes-256-gcm";

void put_le(std::uint8_t* p, std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i)
        p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}

}  // namespace

const char* to_string(UdpuDrop d) {
    switch (d) {
        case UdpuDrop::malformed:
            return "malformed";
        case UdpuDrop::unknown_sender:
            return "unknown sender";
        case UdpuDrop::config_mismatch:
            return "cluster configuration differs";
        case UdpuDrop::auth:
            return "authentication failed";
        case UdpuDrop::replay:
            return "replayed";
    }
    return "?";
}

std::array<std::uint8_t, 32> udpu_config_digest(const TransportConfig& cfg) {
    Bytes in;
    Writer w(in);
    w.bytes(std::string_view(kSalt));
    w.u32(static_cast<std::uint32_t>(cfg.cluster_name.size()));
    w.bytes(std::string_view(cfg.cluster_name));
    std::vector<const TransportNode*> nodes;
    for (const auto& n : cfg.nodes)
        nodes.push_back(&n);
    std::sort(nodes.begin(), nodes.end(),
              [](const TransportNode* a, const TransportNode* b) { return a->nodeid < b->nodeid; });
    w.u16(cfg.port(0));
    for (const auto* n : nodes) {
        w.u32(n->nodeid);
        w.u32(static_cast<std::uint32_t>(n->addrs[0].size()));
        w.bytes(std::string_view(n->addrs[0]));
    }
    std::array<std::uint8_t, 32> out{};
    unsigned int len = 0;
    if (EVP_Digest(in.data(), in.size(), out.data(), &len, EVP_sha256(), nullptr) != 1 ||
        len != out.size()) {
        throw std::runtime_error("EVP_Digest(sha256) failed");
    }
    return out;
}

struct UdpuCrypto::Ctx {
    EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
    ~Ctx() { EVP_CIPHER_CTX_free(c); }
};

UdpuCrypto::UdpuCrypto(const TransportConfig& cfg, std::uint64_t session)
    : my_nodeid_(cfg.my_nodeid),
      master_(cfg.key),
      digest_(udpu_config_digest(cfg)),
      session_(session),
      ctx_(std::make_unique<Ctx>()) {
    if (!ctx_->c)
        throw std::runtime_error("EVP_CIPHER_CTX_new failed");
    if (master_.empty())
        throw std::invalid_argument("udpu crypto needs a key");
    for (const auto& n : cfg.nodes)
        peers_[n.nodeid] = Peer{};
    my_key_ = derive(my_nodeid_, session_);
}

UdpuCrypto::~UdpuCrypto() = default;

void UdpuCrypto::set_nodelist(const TransportConfig& cfg) {
    digest_ = udpu_config_digest(cfg);
    std::map<NodeId, Peer> next;
    for (const auto& n : cfg.nodes) {
        auto it = peers_.find(n.nodeid);
        next[n.nodeid] = it == peers_.end() ? Peer{} : it->second;
    }
    peers_ = std::move(next);
}

std::array<std::uint8_t, 32> UdpuCrypto::derive(NodeId node, std::uint64_t session) const {
    std::array<std::uint8_t, 32> out{};
    std::uint8_t info[sizeof(kInfo) - 1 + 12];
    std::memcpy(info, kInfo, sizeof(kInfo) - 1);
    put_le(info + sizeof(kInfo) - 1, node, 4);
    put_le(info + sizeof(kInfo) - 1 + 4, session, 8);
    EVP_PKEY_CTX* pctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr);
    std::size_t len = out.size();
    bool ok =
        pctx && EVP_PKEY_derive_init(pctx) == 1 &&
        EVP_PKEY_CTX_set_hkdf_md(pctx, EVP_sha256()) == 1 &&
        EVP_PKEY_CTX_set1_hkdf_salt(pctx, reinterpret_cast<const unsigned char*>(kSalt),
                                    sizeof(kSalt) - 1) == 1 &&
        EVP_PKEY_CTX_set1_hkdf_key(pctx, master_.data(), static_cast<int>(master_.size())) == 1 &&
        EVP_PKEY_CTX_add1_hkdf_info(pctx, info, sizeof(info)) == 1 &&
        EVP_PKEY_derive(pctx, out.data(), &len) == 1 && len == out.size();
    EVP_PKEY_CTX_free(pctx);
    if (!ok)
        throw std::runtime_error("HKDF-SHA256 failed");
    return out;
}

Bytes UdpuCrypto::seal(ByteView plaintext) {
    ++counter_;
    Bytes out(kUdpuCryptoHeaderSize + plaintext.size() + kUdpuCryptoTagSize);
    std::uint8_t* h = out.data();
    h[0] = kMagic0;
    h[1] = kMagic1;
    h[2] = kVersion;
    h[3] = 0;
    put_le(h + 4, my_nodeid_, 4);
    std::memcpy(h + 8, digest_.data(), 8);
    put_le(h + 16, session_, 8);
    put_le(h + 24, counter_, 8);
    std::uint8_t nonce[12] = {};
    put_le(nonce, counter_, 8);
    std::uint8_t aad[kUdpuCryptoHeaderSize + 32];
    std::memcpy(aad, h, kUdpuCryptoHeaderSize);
    std::memcpy(aad + kUdpuCryptoHeaderSize, digest_.data(), 32);

    EVP_CIPHER_CTX* c = ctx_->c;
    int n = 0;
    int total = 0;
    bool ok = EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
              EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, sizeof(nonce), nullptr) == 1 &&
              EVP_EncryptInit_ex(c, nullptr, nullptr, my_key_.data(), nonce) == 1 &&
              EVP_EncryptUpdate(c, nullptr, &n, aad, sizeof(aad)) == 1;
    if (ok && !plaintext.empty()) {
        ok = EVP_EncryptUpdate(c, out.data() + kUdpuCryptoHeaderSize, &n, plaintext.data(),
                               static_cast<int>(plaintext.size())) == 1;
        total = n;
    }
    ok = ok && EVP_EncryptFinal_ex(c, out.data() + kUdpuCryptoHeaderSize + total, &n) == 1;
    total += n;
    ok = ok && static_cast<std::size_t>(total) == plaintext.size() &&
         EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, kUdpuCryptoTagSize,
                             out.data() + kUdpuCryptoHeaderSize + total) == 1;
    if (!ok)
        throw std::runtime_error("AES-256-GCM encryption failed");
    return out;
}

bool UdpuCrypto::replay_check_and_set(Peer& p, std::uint64_t counter, bool commit) {
    constexpr std::uint64_t W = kUdpuReplayWindow;
    auto bit = [&](std::uint64_t i) -> bool { return (p.window[i / 64] >> (i % 64)) & 1U; };
    if (counter == 0)
        return false;
    if (counter > p.highest) {
        if (!commit)
            return true;
        std::uint64_t shift = counter - p.highest;
        if (shift >= W) {
            p.window.fill(0);
        } else {
            // Shift the bitmap towards higher ages by `shift` bits.
            std::array<std::uint64_t, W / 64> nw{};
            for (std::uint64_t i = 0; i + shift < W; ++i) {
                if (bit(i))
                    nw[(i + shift) / 64] |= std::uint64_t{1} << ((i + shift) % 64);
            }
            p.window = nw;
        }
        p.window[0] |= 1U;
        p.highest = counter;
        return true;
    }
    std::uint64_t age = p.highest - counter;
    if (age >= W || bit(age))
        return false;
    if (commit)
        p.window[age / 64] |= std::uint64_t{1} << (age % 64);
    return true;
}

Result<UdpuCrypto::Opened, UdpuDrop> UdpuCrypto::open(ByteView packet) {
    if (packet.size() < kUdpuCryptoOverhead)
        return Err{UdpuDrop::malformed};
    const std::uint8_t* h = packet.data();
    if (h[0] != kMagic0 || h[1] != kMagic1 || h[2] != kVersion || h[3] != 0) {
        return Err{UdpuDrop::malformed};
    }
    Reader r(packet.subspan(4, 4 + 8 + 8 + 8));
    NodeId sender = r.u32();
    r.take(8);
    std::uint64_t session = r.u64();
    std::uint64_t counter = r.u64();
    auto it = peers_.find(sender);
    if (it == peers_.end())
        return Err{UdpuDrop::unknown_sender};
    if (std::memcmp(h + 8, digest_.data(), 8) != 0)
        return Err{UdpuDrop::config_mismatch};
    Peer& p = it->second;
    if (counter == 0)
        return Err{UdpuDrop::malformed};
    bool same = p.have_session && session == p.session;
    if (p.have_session && session < p.session)
        return Err{UdpuDrop::replay};
    if (same && !replay_check_and_set(p, counter, false))
        return Err{UdpuDrop::replay};
    std::array<std::uint8_t, 32> key = same ? p.key : derive(sender, session);

    std::uint8_t nonce[12] = {};
    put_le(nonce, counter, 8);
    std::uint8_t aad[kUdpuCryptoHeaderSize + 32];
    std::memcpy(aad, h, kUdpuCryptoHeaderSize);
    std::memcpy(aad + kUdpuCryptoHeaderSize, digest_.data(), 32);
    std::size_t clen = packet.size() - kUdpuCryptoOverhead;
    Opened out;
    out.sender = sender;
    out.plaintext.resize(clen);
    std::uint8_t tag[kUdpuCryptoTagSize];
    std::memcpy(tag, h + kUdpuCryptoHeaderSize + clen, sizeof(tag));

    EVP_CIPHER_CTX* c = ctx_->c;
    int n = 0;
    int total = 0;
    bool ok = EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
              EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, sizeof(nonce), nullptr) == 1 &&
              EVP_DecryptInit_ex(c, nullptr, nullptr, key.data(), nonce) == 1 &&
              EVP_DecryptUpdate(c, nullptr, &n, aad, sizeof(aad)) == 1;
    if (ok && clen) {
        ok = EVP_DecryptUpdate(c, out.plaintext.data(), &n, h + kUdpuCryptoHeaderSize,
                               static_cast<int>(clen)) == 1;
        total = n;
    }
    ok = ok && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, sizeof(tag), tag) == 1 &&
         EVP_DecryptFinal_ex(c, out.plaintext.data() + total, &n) == 1;
    if (!ok)
        return Err{UdpuDrop::auth};

    if (!same) {  // a newer session of this sender authenticated: it supersedes the old one
        p = Peer{};
        p.session = session;
        p.have_session = true;
        p.key = key;
    }
    bool fresh = replay_check_and_set(p, counter, true);
    assert(fresh);
    (void)fresh;
    return out;
}

}  // namespace totem
