// The configuration check between totemd nodes (a totemd extension; docs/protocol/
// deviations.md). After every configuration change that joined nodes, each totemd multicasts
// its cluster_name and its nodelist (node ids and ring addresses) to totempg group "totemd",
// which corosync nodes never join (they drop it unread). A node whose cluster_name differs, or
// whose nodelist contradicts ours (a node id at other addresses, an address under another id),
// is refused: Totem ignores it from then on and the ring re-forms without it. A nodelist that
// only has more or fewer nodes is accepted: that is what a nodelist reload (`pcs cluster node
// add`, `corosync-cfgtool -R`) looks like while it rolls through the cluster.
//
// A refusal waits until our own check of this ring has been delivered (it is sent safe): then
// every member, the refused node included, has our check too and refuses us in turn, so the
// exclusion is mutual and the refused node does not keep merging back.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "services/service.hpp"

namespace totem::services {

struct CheckedNode {
    NodeId nodeid = 0;
    std::vector<std::string> addrs;  // per link number, "" where the node has none
    bool operator==(const CheckedNode&) const = default;
};
struct ConfigCheckMessage {
    std::string cluster_name;
    std::vector<CheckedNode> nodes;  // ascending node id
};
Bytes encode(const ConfigCheckMessage& m);
std::optional<ConfigCheckMessage> decode_config_check(ByteView b);
// Why `theirs` contradicts `ours`, or nothing when it does not.
std::optional<std::string> config_conflict(const ConfigCheckMessage& ours,
                                           const ConfigCheckMessage& theirs);
ConfigCheckMessage config_check_of(const conf::Config& c);

class ConfigCheck final : public Service {
  public:
    static constexpr std::string_view group_name = "totemd";
    explicit ConfigCheck(Api& api) : Service(api) {}

    ServiceInfo info() const override;
    void exec(NodeId sender, std::uint16_t fn, ByteView message) override;
    FlowControl flow_control(std::int32_t) const override { return FlowControl::not_required; }
    void confchg(const ConfChg& c) override;

  private:
    void apply_refusals();
    bool own_check_pending_ = false;
    NodeList refused_, refusals_pending_;
    std::uint64_t malformed_ = 0, mismatches_ = 0;
};

}  // namespace totem::services
