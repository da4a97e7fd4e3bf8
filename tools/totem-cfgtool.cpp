// totem-cfgtool: corosync-cfgtool's flags, output, error lines and exit codes
// (tools/corosync-cfgtool.c of corosync 3.1.7), on libtotem; --json prints the same facts as
// one JSON document (docs/tools-json.md, schema totem-cfgtool/1).
#include <getopt.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "tools/common/util.hpp"
#include "totem/client.hpp"

using namespace totem::client;
using totem::tools::Json;

namespace {

constexpr int kMaxLinks = 8;      // KNET_MAX_LINK, CFG_MAX_LINKS
constexpr int kMaxHosts = 65536;  // KNET_MAX_HOST
bool g_json = false;

enum class Action {
    noop,
    linkstatus_get,
    nodestatus_get,
    reload_config,
    reopen_log_files,
    shutdown,
    showaddr,
    kill_node
};

int cs(const std::error_code& ec) {
    return ec ? ec.value() : 1;
}

Json error_doc(const char* action, int cs_value) {
    Json d = totem::tools::json_doc("totem-cfgtool");
    d["action"] = action;
    d["ok"] = false;
    d["error"] = totem::tools::json_error(cs_value);
    return d;
}

[[noreturn]] void die_json(const char* action, int cs_value, int code) {
    if (g_json)
        totem::tools::print_json(error_doc(action, cs_value));
    std::exit(code);
}

int nodestatusget_do(Action action, bool brief) {
    const char* jaction = action == Action::nodestatus_get ? "nodes" : "links";
    auto handle = Cfg::connect();
    if (!handle) {
        std::fprintf(stderr, "Could not initialize corosync configuration API error %d\n",
                     cs(handle.error()));
        die_json(jaction, cs(handle.error()), EXIT_FAILURE);
    }
    auto cmap = Cmap::connect();
    if (!cmap) {
        std::fprintf(stderr, "Could not initialize corosync cmap API error %d\n", cs(cmap.error()));
        die_json(jaction, cs(cmap.error()), EXIT_FAILURE);
    }
    std::string transport_str = "knet";  // the default
    bool knet = true;
    if (auto t = cmap->get_string("totem.transport")) {
        transport_str = *t;
        if (*t == "udpu" || *t == "udp")
            knet = false;
    }
    auto local = handle->local_nodeid();
    if (!local) {
        std::fprintf(stderr, "Could not get the local node id, the error is: %d\n",
                     cs(local.error()));
        if (g_json)
            totem::tools::print_json(error_doc(jaction, cs(local.error())));
        return EXIT_FAILURE;
    }
    const std::uint32_t local_nodeid = *local;

    // The node list from cmap: every key exactly "nodelist.node.<N>.nodeid" (u32).
    auto iter = cmap->iter_init("nodelist.node.");
    if (!iter) {
        std::fprintf(stderr, "Could not get nodelist from cmap. error %d\n", cs(iter.error()));
        die_json(jaction, cs(iter.error()), EXIT_FAILURE);
    }
    std::vector<std::uint32_t> nodeid_list;
    for (;;) {
        auto k = cmap->iter_next(*iter);
        if (!k || !k->has_value())
            break;
        const std::string& key = (*k)->name;
        int guard = 0;
        if (std::sscanf(key.c_str(), "nodelist.node.%*u.nodeid%n", &guard) != 0)
            continue;
        if (guard != static_cast<int>(key.size()))
            continue;
        if (auto id = cmap->get_u32(key); id && nodeid_list.size() < kMaxHosts)
            nodeid_list.push_back(*id);
    }
    if (nodeid_list.empty()) {
        std::fprintf(stderr, "No nodes found in nodelist\n");
        die_json(jaction, static_cast<int>(Errc::not_exist), EXIT_FAILURE);
    }
    std::stable_sort(nodeid_list.begin(), nodeid_list.end());
    const int s = static_cast<int>(nodeid_list.size());
    int local_nodeid_index = 0;
    int other_nodeid_index = 0;
    for (int i = 0; i < s; i++) {
        if (nodeid_list[i] == local_nodeid)
            local_nodeid_index = i;
        else
            other_nodeid_index = i;  // the local node has one link, to itself: look elsewhere
    }

    // The transport of each link, with the defaults of corosync-cfgtool.
    std::string link_transport[kMaxLinks];
    for (auto& t : link_transport)
        t = knet ? "udp" : "";
    if (auto it = cmap->iter_init("totem.interface.")) {
        for (;;) {
            auto k = cmap->iter_next(*it);
            if (!k || !k->has_value())
                break;
            unsigned int link_number = 0;
            if (std::sscanf((*k)->name.c_str(), "totem.interface.%u.knet_transport",
                            &link_number) != 1)
                continue;
            char key[256];
            std::snprintf(key, sizeof(key), "totem.interface.%u.knet_transport", link_number);
            if (auto t = cmap->get_string(key); t && link_number < kMaxLinks)
                link_transport[link_number] = *t;
        }
        (void)cmap->iter_finalize(*it);
    }
    cmap = Result<Cmap>(Errc::bad_handle);  // cmap_finalize()

    std::vector<Cfg::NodeStatus> node_info(static_cast<std::size_t>(s));
    std::vector<bool> node_ok(static_cast<std::size_t>(s), false);
    if (!g_json)
        std::printf("Local node ID %" PRIu32 ", transport %s\n", local_nodeid,
                    transport_str.c_str());

    if (g_json) {
        Json d = totem::tools::json_doc("totem-cfgtool");
        d["action"] = jaction;
        d["ok"] = true;
        d["local_nodeid"] = local_nodeid;
        d["transport"] = transport_str;
        Json nodes = Json::array();
        for (int i = 0; i < s; i++) {
            Json n = Json::object();
            n["nodeid"] = nodeid_list[i];
            n["local"] = nodeid_list[i] == local_nodeid;
            auto st = handle->node_status(nodeid_list[i]);
            if (!st) {
                std::fprintf(stderr,
                             "Could not get the node status for nodeid %d, the error is: %d\n",
                             static_cast<int>(nodeid_list[i]), cs(st.error()));
                n["error"] = totem::tools::json_error(st.error());
                nodes.push_back(n);
                continue;
            }
            n["reachable"] = st->reachable;
            n["remote"] = st->remote;
            n["external"] = st->external;
            Json links = Json::array();
            for (int j = 0; j < kMaxLinks; j++) {
                const auto& l = st->links[j];
                if (!l.enabled)
                    continue;
                Json lj = Json::object();
                lj["link"] = j;
                lj["transport"] = link_transport[j];
                lj["src"] = l.src_ipaddr;
                lj["dst"] = l.dst_ipaddr;
                lj["enabled"] = l.enabled;
                lj["connected"] = l.connected;
                lj["dynconnected"] = l.dynconnected;
                lj["mtu"] = l.mtu;
                lj["status"] = nodeid_list[i] == local_nodeid ? "localhost"
                               : l.connected                  ? "connected"
                                                              : "disconnected";
                links.push_back(lj);
            }
            n["links"] = links;
            nodes.push_back(n);
        }
        d["nodes"] = nodes;
        totem::tools::print_json(d);
        return EXIT_SUCCESS;
    }

    if (action == Action::nodestatus_get) {
        for (int i = 0; i < s; i++) {
            auto st = handle->node_status(nodeid_list[i]);
            if (!st)
                continue;
            // Only reachable nodes, and not us.
            if (!st->reachable || st->nodeid == local_nodeid)
                continue;
            std::printf("nodeid: %" PRIu32, st->nodeid);
            std::printf(" reachable");
            if (st->remote)
                std::printf(" remote");
            if (st->external)
                std::printf(" external");
            // Debian's corosync 3.1.7 is built without HAVE_KNET_ONWIRE_VER: no onwire line.
            std::printf("\n");
            for (int j = 0; j < kMaxLinks; j++) {
                const auto& l = st->links[j];
                if (!l.enabled)
                    continue;
                std::printf("   LINK: %d %s", j, link_transport[j].c_str());
                std::printf(" (%s%s%s)", l.src_ipaddr.c_str(), knet ? "->" : "",
                            l.dst_ipaddr.c_str());
                if (l.enabled)
                    std::printf(" enabled");
                if (l.connected)
                    std::printf(" connected");
                if (l.dynconnected)
                    std::printf(" dynconnected");
                std::printf(" mtu: %d\n", static_cast<int>(l.mtu));
            }
            std::printf("\n");
        }
    } else {
        // In link order.
        for (int i = 0; i < s; i++) {
            auto st = handle->node_status(nodeid_list[i]);
            if (!st) {
                std::fprintf(stderr,
                             "Could not get the node status for nodeid %d, the error is: %d\n",
                             static_cast<int>(nodeid_list[i]), cs(st.error()));
                continue;  // stays all zero, as corosync-cfgtool's memset array
            }
            node_info[i] = *st;
        }
        for (int i = 0; i < kMaxLinks; i++) {
            if (!node_info[other_nodeid_index].links[i].enabled)
                continue;
            std::printf("LINK ID %d %s\n", i, link_transport[i].c_str());
            std::printf("\taddr\t= %s\n",
                        node_info[other_nodeid_index].links[i].src_ipaddr.c_str());
            if (brief) {
                std::printf("\tstatus\t= ");
                for (int j = 0; j < s; j++) {
                    char status = static_cast<char>(
                        (static_cast<int>(node_info[j].links[i].enabled) |
                         (static_cast<int>(node_info[j].links[i].connected) << 1)) +
                        '0');
                    if (j == local_nodeid_index)
                        status = 'n';
                    std::printf("%c", status);
                }
                std::printf("\n");
            } else {
                std::printf("\tstatus:\n");
                for (int j = 0; j < s; j++) {
                    std::printf("\t\tnodeid: %10" PRIu32 ":\t", node_info[j].nodeid);
                    if (j == local_nodeid_index)
                        std::printf("localhost");
                    else if (node_info[j].links[i].connected)
                        std::printf("connected");
                    else
                        std::printf("disconnected");
                    std::printf("\n");
                }
            }
        }
    }
    return EXIT_SUCCESS;
}

void simple_json(const char* action, int rc_cs) {
    if (!g_json)
        return;
    if (rc_cs == 1) {
        Json d = totem::tools::json_doc("totem-cfgtool");
        d["action"] = action;
        d["ok"] = true;
        totem::tools::print_json(d);
    } else {
        totem::tools::print_json(error_doc(action, rc_cs));
    }
}

int reload_config_do() {
    int rc = EXIT_SUCCESS;
    if (!g_json)
        std::printf("Reloading corosync.conf...\n");
    auto handle = Cfg::connect();
    if (!handle) {
        std::fprintf(stderr, "Could not initialize corosync configuration API error %s\n",
                     cs_strerror(cs(handle.error())));
        die_json("reload", cs(handle.error()), EXIT_FAILURE);
    }
    Status result = handle->reload_config();
    if (!result) {
        std::fprintf(stderr, "Could not reload configuration. Error %s\n",
                     cs_strerror(cs(result.error())));
        rc = cs(result.error());
    } else if (!g_json) {
        std::printf("Done\n");
    }
    simple_json("reload", result ? 1 : cs(result.error()));
    return rc;
}

int reopen_log_files_do() {
    int rc = EXIT_SUCCESS;
    auto handle = Cfg::connect();
    if (!handle) {
        std::fprintf(stderr, "Could not initialize corosync configuration API error %s\n",
                     cs_strerror(cs(handle.error())));
        die_json("reopen", cs(handle.error()), EXIT_FAILURE);
    }
    Status result = handle->reopen_log_files();
    if (!result) {
        std::fprintf(stderr, "Could not reopen corosync logging files. Error %s\n",
                     cs_strerror(cs(result.error())));
        rc = cs(result.error());
    }
    simple_json("reopen", result ? 1 : cs(result.error()));
    return rc;
}

void shutdown_do(bool force) {
    const Cfg::Shutdown flag = force ? Cfg::Shutdown::regardless : Cfg::Shutdown::request;
    // cs_repeat(30): corosync-cfgtool's own TRY_AGAIN loop, one second apart.
    ConnectOptions options;
    options.nonblocking = true;
    auto handle = Cfg::connect(options);
    if (!handle) {
        std::fprintf(stderr, "Could not initialize corosync configuration API error %d\n",
                     cs(handle.error()));
        die_json("shutdown", cs(handle.error()), EXIT_FAILURE);
    }
    if (!g_json)
        std::printf("Shutting down corosync\n");
    std::fflush(stdout);
    Status result;
    for (int counter = 0; counter < 30; ++counter) {
        result = handle->try_shutdown(flag);
        if (result.error() != Errc::try_again)
            break;
        sleep(1);
    }
    if (!result)
        std::fprintf(stderr, "Could not shutdown (error = %d)\n", cs(result.error()));
    simple_json("shutdown", result ? 1 : cs(result.error()));
}

int showaddrs_do(unsigned int nodeid) {
    int rc = EXIT_SUCCESS;
    auto handle = Cfg::connect();
    if (!handle) {
        std::fprintf(stderr, "Could not initialize corosync configuration API error %d\n",
                     cs(handle.error()));
        die_json("address", cs(handle.error()), EXIT_FAILURE);
    }
    auto addrs = handle->node_addrs(nodeid);
    if (addrs) {
        Json list = Json::array();
        const std::size_t n = std::min<std::size_t>(addrs->size(), 8);  // INTERFACE_MAX
        for (std::size_t i = 0; i < n; i++) {
            const Cfg::Address& a = (*addrs)[i];
            if (a.family == 0)
                continue;
            const std::string text = a.str();
            list.push_back(text);
            if (g_json)
                continue;
            if (i != 0)
                std::printf(" ");
            std::printf("%s", text.c_str());
        }
        if (g_json) {
            Json d = totem::tools::json_doc("totem-cfgtool");
            d["action"] = "address";
            d["ok"] = true;
            d["nodeid"] = nodeid;
            d["addresses"] = list;
            totem::tools::print_json(d);
        } else {
            std::printf("\n");
        }
    } else {
        std::fprintf(stderr, "Could not get node address for nodeid %d\n",
                     static_cast<int>(nodeid));
        if (g_json)
            totem::tools::print_json(error_doc("address", cs(addrs.error())));
        rc = EXIT_FAILURE;
    }
    return rc;
}

void killnode_do(unsigned int nodeid) {
    if (!g_json)
        std::printf("Killing node %u\n", nodeid);
    auto handle = Cfg::connect();
    if (!handle) {
        std::fprintf(stderr, "Could not initialize corosync configuration API error %d\n",
                     cs(handle.error()));
        die_json("kill", cs(handle.error()), EXIT_FAILURE);
    }
    Status result = handle->kill_node(nodeid, "Killed by totem-cfgtool");
    if (!result) {
        std::fprintf(stderr, "Could not kill node (error = %s)\n", cs_strerror(cs(result.error())));
        die_json("kill", cs(result.error()), EXIT_FAILURE);
    }
    simple_json("kill", 1);
}

void usage_do() {
    std::printf(
        "totem-cfgtool [[-i <interface ip>] [-b] -s] [-R] [-L] [-k nodeid] [-a nodeid] [-h] "
        "[-H]\n\n");
    std::printf("A tool for displaying and configuring active parameters within corosync.\n");
    std::printf("options:\n");
    std::printf(
        "\t-i\tFinds only information about the specified interface IP address or link id when "
        "used with -s..\n");
    std::printf("\t-s\tDisplays the status of the current links on this node.\n");
    std::printf("\t-n\tDisplays the status of the connected nodes and their links.\n");
    std::printf(
        "\t-b\tDisplays the brief status of the current links on this node when used with "
        "-s.\n");
    std::printf("\t-R\tTell all instances of corosync in this cluster to reload corosync.conf.\n");
    std::printf("\t-L\tTell corosync to reopen all logging files.\n");
    std::printf("\t-k\tKill a node identified by node id.\n");
    std::printf("\t-a\tDisplay the IP address(es) of a node\n");
    std::printf("\t-h\tPrint basic usage.\n");
    std::printf("\t-H\tShutdown corosync cleanly on this node.\n");
    std::printf("\t\t--force will shut down corosync regardless of daemon vetos\n");
    // totemd's additions, after corosync-cfgtool's text.
    std::printf("\t--json\tPrint the result as one JSON document (schema totem-cfgtool/1).\n");
    std::printf("\t--help\tThis text.\n");
}

}  // namespace

int main(int argc, char* argv[]) {
    unsigned int nodeid = 0;
    int rc = EXIT_SUCCESS;
    Action action = Action::noop;
    bool brief = false;
    long long l = 0;
    int option_index = 0;
    bool force_shutdown = false;
    const char* options = "i:snbrRLk:a:hH";
    static struct option long_options[] = {{"if", required_argument, nullptr, 'i'},
                                           {"status", no_argument, nullptr, 's'},
                                           {"nodes", no_argument, nullptr, 'n'},
                                           {"brief", no_argument, nullptr, 'b'},
                                           {"reload", no_argument, nullptr, 'R'},
                                           {"reopen", no_argument, nullptr, 'L'},
                                           {"kill", required_argument, nullptr, 'k'},
                                           {"address", required_argument, nullptr, 'a'},
                                           {"shutdown", no_argument, nullptr, 'H'},
                                           {"force", no_argument, nullptr, 0},
                                           {"json", no_argument, nullptr, 0},
                                           {"help", no_argument, nullptr, 'h'},
                                           {nullptr, 0, nullptr, 0}};

    int opt;
    while ((opt = getopt_long(argc, argv, options, long_options, &option_index)) != -1) {
        switch (opt) {
            case 0:  // options with no short equivalent: --force, --json
                if (std::strcmp(long_options[option_index].name, "force") == 0)
                    force_shutdown = true;
                if (std::strcmp(long_options[option_index].name, "json") == 0)
                    g_json = true;
                break;
            case 'i':
                // Accepted and unused, as by corosync-cfgtool 3.1.7.
                break;
            case 's':
                action = Action::linkstatus_get;
                break;
            case 'n':
                action = Action::nodestatus_get;
                break;
            case 'b':
                brief = true;
                break;
            case 'R':
                action = Action::reload_config;
                break;
            case 'L':
                action = Action::reopen_log_files;
                break;
            case 'k':
                if (totem::tools::util_strtonum(optarg, 1, UINT_MAX, &l) == -1) {
                    std::fprintf(stderr, "The nodeid was not valid, try a positive number\n");
                    std::exit(EXIT_FAILURE);
                }
                nodeid = static_cast<unsigned int>(l);
                action = Action::kill_node;
                break;
            case 'H':
                action = Action::shutdown;
                break;
            case 'a':
                if (totem::tools::util_strtonum(optarg, 1, UINT_MAX, &l) == -1) {
                    std::fprintf(stderr, "The nodeid was not valid, try a positive number\n");
                    std::exit(EXIT_FAILURE);
                }
                nodeid = static_cast<unsigned int>(l);
                action = Action::showaddr;
                break;
            case '?':
                return EXIT_FAILURE;
            case 'h':
            default:
                break;
        }
    }
    switch (action) {
        case Action::linkstatus_get:
        case Action::nodestatus_get:
            rc = nodestatusget_do(action, brief);
            break;
        case Action::reload_config:
            rc = reload_config_do();
            break;
        case Action::reopen_log_files:
            rc = reopen_log_files_do();
            break;
        case Action::kill_node:
            killnode_do(nodeid);
            break;
        case Action::shutdown:
            shutdown_do(force_shutdown);
            break;
        case Action::showaddr:
            rc = showaddrs_do(nodeid);
            break;
        case Action::noop:
            usage_do();
            break;
    }
    return rc;
}
