// pload (service 4): corosync's profile loading service (spec B2.5). totemd keeps its exec
// messages (START, MCAST) and adds a built-in generator (TOTEMD_PLOAD) that the demo and the
// tests use: every interval it multicasts a burst of MCASTs, each carrying this sender's
// counter, and every node counts what it delivers and keeps a digest of the delivered order
// (runtime.totemd.pload.*), so a test can compare the order at every node.
#pragma once

#include <cstdint>
#include <map>
#include <optional>

#include "services/service.hpp"

namespace totem::services {

struct PloadOptions {
    std::uint32_t interval_ms = 0;  // 0 = no generator
    std::uint32_t burst = 1;
    std::uint32_t size = 64;  // bytes after the 16-byte header
    std::uint64_t count = 0;  // stop after this many; 0 = no limit
    // Send only while the ring has at least this many members: what a node sends in a ring of
    // its own (formed at start, before its links are up) reaches no node that joins later.
    std::uint32_t min_members = 0;
};

class Pload final : public Service {
  public:
    static constexpr std::uint16_t service_id = 4;
    static constexpr std::uint16_t fn_start = 0;
    static constexpr std::uint16_t fn_mcast = 1;

    Pload(Api& api, PloadOptions options);

    ServiceInfo info() const override;
    void exec(NodeId sender, std::uint16_t fn, ByteView message) override;
    FlowControl flow_control(std::int32_t) const override { return FlowControl::required; }
    std::optional<Instant> next_deadline() const override { return next_send_; }
    void on_timer(Instant now) override;

    std::uint64_t sent() const { return sent_; }
    std::uint64_t received() const { return received_; }

  private:
    void send_burst();
    PloadOptions options_;
    std::optional<Instant> next_send_;
    std::uint64_t sent_ = 0, received_ = 0, starts_ignored_ = 0;
    std::map<NodeId, std::uint64_t> from_;
    std::uint64_t digest_ = 14695981039346656037ull;  // FNV-1a over the delivered order
};

}  // namespace totem::services
