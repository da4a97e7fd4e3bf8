#include "services/config_check.hpp"

#include <algorithm>

namespace totem::services {

namespace {
constexpr std::uint32_t check_magic = 0x4B434454;  // "TDCK"
constexpr std::uint8_t check_version = 2;
constexpr std::size_t nodes_max = 384;  // PROCESSOR_COUNT_MAX

bool contains(const NodeList& l, NodeId n) {
    return std::find(l.begin(), l.end(), n) != l.end();
}
}  // namespace

Bytes encode(const ConfigCheckMessage& m) {
    Bytes b;
    Writer w(b);
    w.u32(check_magic);
    w.u8(check_version);
    w.u8(0);
    w.u16(static_cast<std::uint16_t>(m.cluster_name.size()));
    w.bytes(m.cluster_name);
    w.u16(static_cast<std::uint16_t>(m.nodes.size()));
    for (const CheckedNode& n : m.nodes) {
        w.u32(n.nodeid);
        w.u8(static_cast<std::uint8_t>(n.addrs.size()));
        for (const std::string& a : n.addrs) {
            w.u8(static_cast<std::uint8_t>(a.size()));
            w.bytes(a);
        }
    }
    return b;
}

std::optional<ConfigCheckMessage> decode_config_check(ByteView b) {
    Reader r(b);
    if (r.u32() != check_magic || r.u8() != check_version)
        return std::nullopt;
    r.u8();
    ConfigCheckMessage m;
    const ByteView name = r.take(r.u16());
    m.cluster_name.assign(name.begin(), name.end());
    const std::uint16_t count = r.u16();
    if (!r.ok() || count > nodes_max)
        return std::nullopt;
    for (std::uint16_t i = 0; i < count && r.ok(); ++i) {
        CheckedNode n;
        n.nodeid = r.u32();
        const std::uint8_t links = r.u8();
        for (std::uint8_t l = 0; l < links && r.ok(); ++l) {
            const ByteView a = r.take(r.u8());
            n.addrs.emplace_back(a.begin(), a.end());
        }
        m.nodes.push_back(std::move(n));
    }
    if (!r.ok() || r.remaining() != 0)
        return std::nullopt;
    return m;
}

ConfigCheckMessage config_check_of(const conf::Config& c) {
    ConfigCheckMessage m;
    m.cluster_name = c.totem.cluster_name;
    for (const auto& node : c.nodes) {
        CheckedNode n;
        n.nodeid = node.nodeid;
        for (unsigned l = 0; l < conf::kInterfaceMax; ++l)
            n.addrs.push_back(node.ring_addr[l] ? node.ring_addr[l]->str() : "");
        while (!n.addrs.empty() && n.addrs.back().empty())
            n.addrs.pop_back();
        m.nodes.push_back(std::move(n));
    }
    std::sort(m.nodes.begin(), m.nodes.end(),
              [](const CheckedNode& a, const CheckedNode& b) { return a.nodeid < b.nodeid; });
    return m;
}

std::optional<std::string> config_conflict(const ConfigCheckMessage& ours,
                                           const ConfigCheckMessage& theirs) {
    if (theirs.cluster_name != ours.cluster_name)
        return "its cluster_name is '" + theirs.cluster_name + "', ours is '" + ours.cluster_name +
               "'";
    for (const CheckedNode& t : theirs.nodes) {
        for (const CheckedNode& o : ours.nodes) {
            if (t.nodeid == o.nodeid && t.addrs != o.addrs)
                return "its nodelist gives node " + std::to_string(t.nodeid) +
                       " other addresses than ours";
            if (t.nodeid == o.nodeid)
                continue;
            for (const std::string& a : t.addrs)
                if (!a.empty() && std::find(o.addrs.begin(), o.addrs.end(), a) != o.addrs.end())
                    return "its nodelist gives address " + a + " to node " +
                           std::to_string(t.nodeid) + ", ours to node " + std::to_string(o.nodeid);
        }
    }
    return std::nullopt;
}

ServiceInfo ConfigCheck::info() const {
    ServiceInfo i;
    i.id = 0;
    i.short_name = "config_check";
    i.engine_name = "totemd configuration check";
    i.group = group_name;
    return i;
}

void ConfigCheck::confchg(const ConfChg& c) {
    if (c.type != ConfChgType::regular || c.joined.empty())
        return;
    const Bytes check = encode(config_check_of(api_.config()));
    // Safe: once it is delivered here, every member of the ring has it.
    if (api_.mcast_group(group_name, check, Guarantee::safe))
        own_check_pending_ = true;
}

void ConfigCheck::apply_refusals() {
    for (NodeId n : refusals_pending_) {
        refused_.push_back(n);
        api_.exclude(n);
    }
    refusals_pending_.clear();
}

void ConfigCheck::exec(NodeId sender, std::uint16_t, ByteView message) {
    if (sender == api_.my_nodeid()) {
        own_check_pending_ = false;
        apply_refusals();
        return;
    }
    const auto theirs = decode_config_check(message);
    if (!theirs) {
        api_.keys().set("stats.totemd.config_check_malformed", Value::u64(++malformed_));
        return;
    }
    const auto why = config_conflict(config_check_of(api_.config()), *theirs);
    if (!why)
        return;
    api_.keys().set("stats.totemd.config_mismatch", Value::u64(++mismatches_));
    if (contains(refused_, sender) || contains(refusals_pending_, sender))
        return;
    api_.log(LogLevel::warning, "MAIN", "Refusing node " + std::to_string(sender) + ": " + *why);
    refusals_pending_.push_back(sender);
    if (!own_check_pending_)
        apply_refusals();
}

}  // namespace totem::services
