// Votes, expected votes and flags of this node (or of the node ids given):
//   totem-example-votequorum_info [nodeid...]
#include <totem/client.hpp>

#include <cstdio>
#include <cstdlib>

using totem::client::Votequorum;

static int show(Votequorum& vq, std::uint32_t id) {
    auto i = vq.info(id);
    if (!i) {
        std::printf("node %u: %s\n", id, i.error().message().c_str());
        return 1;
    }
    std::printf("node %u: votes %u expected %u total %u quorum %u%s\n", i->node_id, i->node_votes,
                i->node_expected_votes, i->total_votes, i->quorum,
                (i->flags & Votequorum::info_quorate) ? " quorate" : "");
    return 0;
}

int main(int argc, char** argv) {
    auto vq = Votequorum::connect();
    if (!vq) {
        std::fprintf(stderr, "votequorum: %s\n", vq.error().message().c_str());
        return 1;
    }
    if (argc < 2)
        return show(*vq, 0);
    int rc = 0;
    for (int i = 1; i < argc; ++i)
        rc |= show(*vq, static_cast<std::uint32_t>(std::strtoul(argv[i], nullptr, 10)));
    return rc;
}
