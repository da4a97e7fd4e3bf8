// This node's id, and the reachability and links of the nodes named on the command line:
//   totem-example-cfg_status [nodeid...]
#include <totem/client.hpp>

#include <cstdio>
#include <cstdlib>

using totem::client::Cfg;

int main(int argc, char** argv) {
    auto cfg = Cfg::connect();
    if (!cfg) {
        std::fprintf(stderr, "cfg: %s\n", cfg.error().message().c_str());
        return 1;
    }
    auto me = cfg->local_nodeid();
    if (!me) {
        std::fprintf(stderr, "local_nodeid: %s\n", me.error().message().c_str());
        return 1;
    }
    std::printf("local node %u\n", *me);
    for (int i = 1; i < argc; ++i) {
        const auto id = static_cast<std::uint32_t>(std::strtoul(argv[i], nullptr, 10));
        auto st = cfg->node_status(id);
        if (!st) {
            std::printf("node %u: %s\n", id, st.error().message().c_str());
            continue;
        }
        std::printf("node %u: %s\n", id, st->reachable ? "reachable" : "unreachable");
        for (std::size_t l = 0; l < st->links.size(); ++l) {
            const auto& link = st->links[l];
            if (link.enabled)
                std::printf("  link %zu %s -> %s %s mtu %u\n", l, link.src_ipaddr.c_str(),
                            link.dst_ipaddr.c_str(), link.connected ? "connected" : "down",
                            link.mtu);
        }
        if (auto addrs = cfg->node_addrs(id))
            for (const auto& a : *addrs)
                if (a.family != 0)
                    std::printf("  address %s\n", a.str().c_str());
    }
    return 0;
}
