// totem-quorumtool: corosync-quorumtool's flags, output, error lines and exit codes (0
// quorate, 2 not quorate, 1 error; tools/corosync-quorumtool.c of corosync 3.1.7), on
// libtotem. --json prints the same facts (schema totem-quorumtool/1, docs/tools-json.md); with
// -m, one document per line per change.
#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "tools/common/util.hpp"
#include "totem/client.hpp"

using namespace totem::client;
using totem::tools::Json;

namespace {

constexpr int kExitNotQuorate = 2;
enum class NodeidFormat { decimal, hex };
enum class NameFormat { name, ip };
enum class Command { shownodes, showstatus, setvotes, setexpected, monitor, unregister_qdevice };
enum class Sort { addr, nodeid, nodename };

std::optional<Cmap> cmap_handle;
std::optional<Quorum> q_handle;
std::optional<Cfg> c_handle;
std::optional<Votequorum> v_handle;
std::uint32_t q_type = 0;

struct ViewEntry {
    std::string name;
    std::uint32_t node_id = 0;
};
std::vector<ViewEntry> g_view_list;
bool g_quorate = false;
std::uint64_t g_ring_id = 0;
std::uint32_t g_ring_id_rep_node = 0;
bool g_called = false;
bool g_vq_called = false;
bool g_show_all_addrs = false;
std::uint32_t our_nodeid = 0;
bool machine_parsable = false;
bool g_json = false;
Json g_doc;

int cs(const std::error_code& ec) {
    return ec ? ec.value() : 1;
}

void show_usage(const char* name) {
    std::printf("usage: \n");
    std::printf("%s <options>\n", name);
    std::printf("\n");
    std::printf("  options:\n");
    std::printf("\n");
    std::printf("  -s             show quorum status\n");
    std::printf("  -m             constantly monitor quorum status\n");
    std::printf("  -l             list nodes\n");
    std::printf("  -a             show all names or addresses for each node\n");
    std::printf("  -p             when used with -s or -l, generates machine parsable output\n");
    std::printf("  -v <votes>     change the number of votes for a node (*)\n");
    std::printf("  -n <nodeid>    optional nodeid of node for -v\n");
    std::printf("  -e <expected>  change expected votes for the cluster (*)\n");
    std::printf("  -H             show nodeids in hexadecimal rather than decimal\n");
    std::printf("  -i             show node IP addresses instead of the resolved name\n");
    std::printf("  -o <a|n|i>     order by [a] IP address (default), [n] name, [i] nodeid\n");
    std::printf("  -f             forcefully unregister a quorum device *DANGEROUS* (*)\n");
    std::printf("  -h             show this help text\n");
    std::printf("  -V             show version and exit\n");
    std::printf("\n");
    std::printf(
        "  (*) Starred items only work if votequorum is the quorum provider for corosync\n");
    std::printf("\n");
    // totemd's additions, after corosync-quorumtool's text.
    std::printf("  --json         print the result as JSON (schema totem-quorumtool/1)\n");
    std::printf("  --help         show this help text\n");
    std::printf("\n");
}

// get_quorum_type(): 0 and the provider's name, or non-zero.
int get_quorum_type(std::string& quorum_type) {
    if (q_type == 0)  // QUORUM_FREE
        return -1;
    auto str = cmap_handle->get_string("quorum.provider");
    if (!str)
        return cs(str.error());
    quorum_type = str->substr(0, 255);
    return 0;
}

// using_votequorum(): 1 with votequorum, 0 with another provider, -1 without one (which the
// callers take for true in a test of `if (using_votequorum())`, as corosync-quorumtool does).
int using_votequorum() {
    std::string quorumtype;
    if (get_quorum_type(quorumtype))
        return -1;
    return quorumtype == "corosync_votequorum" ? 1 : 0;
}

std::error_code vq_missing() {
    return make_error_code(Errc::bad_handle);  // a call on handle 0
}

int set_votes(std::uint32_t nodeid, int votes) {
    Status err = v_handle ? v_handle->set_votes(nodeid, static_cast<std::uint32_t>(votes))
                          : Status(vq_missing());
    if (!err)
        std::fprintf(stderr, "Unable to set votes %d for nodeid: %" PRIu32 ": %s\n", votes, nodeid,
                     cs_strerror(cs(err.error())));
    return err ? EXIT_SUCCESS : EXIT_FAILURE;
}

int set_expected(int expected_votes) {
    Status err = v_handle ? v_handle->set_expected(static_cast<std::uint32_t>(expected_votes))
                          : Status(vq_missing());
    if (!err)
        std::fprintf(stderr, "Unable to set expected votes: %s\n", cs_strerror(cs(err.error())));
    return err ? EXIT_SUCCESS : EXIT_FAILURE;
}

std::string node_name_by_nodelist(std::uint32_t nodeid) {
    auto iter = cmap_handle->iter_init("nodelist.node.");
    if (!iter)
        return "";
    std::string ret;
    for (;;) {
        auto k = cmap_handle->iter_next(*iter);
        if (!k || !k->has_value())
            break;
        unsigned int node_pos = 0;
        char tmp_key[256 + 1];
        if (std::sscanf((*k)->name.c_str(), "nodelist.node.%u.%256s", &node_pos, tmp_key) != 2)
            continue;
        if (std::strcmp(tmp_key, "nodeid") != 0)
            continue;
        std::snprintf(tmp_key, 255, "nodelist.node.%u.nodeid", node_pos);
        auto cur = cmap_handle->get_u32(tmp_key);
        if (!cur || *cur != nodeid)
            continue;
        std::snprintf(tmp_key, 255, "nodelist.node.%u.name", node_pos);
        auto str = cmap_handle->get_string(tmp_key);
        if (!str)
            continue;
        ret = str->substr(0, 254);  // _POSIX_HOST_NAME_MAX - 1
        break;
    }
    (void)cmap_handle->iter_finalize(*iter);
    return ret;
}

// node_name(): the nodelist name (with -i: none) followed, with -a, by the other addresses.
std::string node_name(std::uint32_t nodeid, NameFormat name_format, Json* addrs_json = nullptr) {
    std::string buf;
    std::string nodelist_name;
    int start_addr = 0;
    if (name_format == NameFormat::name)
        nodelist_name = node_name_by_nodelist(nodeid);
    if (!nodelist_name.empty()) {
        start_addr = 1;
        buf = nodelist_name;
    }
    auto addrs = c_handle->node_addrs(nodeid);
    if (!addrs) {
        std::fprintf(stderr, "Unable to get node address for nodeid %" PRIu32 ": %s\n", nodeid,
                     cs_strerror(cs(addrs.error())));
        return "";
    }
    if (addrs_json) {
        for (const auto& a : *addrs)
            if (a.family != 0)
                addrs_json->push_back(a.str());
    }
    int numaddrs = std::min<int>(static_cast<int>(addrs->size()), 8);
    if (!g_show_all_addrs)
        numaddrs = 1;
    for (int i = start_addr; i < numaddrs && i < static_cast<int>(addrs->size()); i++) {
        const Cfg::Address& a = (*addrs)[i];
        if (a.family == 0)
            continue;
        sockaddr_storage ss{};
        socklen_t addrlen;
        if (a.family == AF_INET6) {
            auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
            sin6->sin6_family = AF_INET6;
            std::memcpy(&sin6->sin6_addr, a.bytes.data(), 16);
            addrlen = sizeof(sockaddr_in6);
        } else {
            auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
            sin->sin_family = AF_INET;
            std::memcpy(&sin->sin_addr, a.bytes.data(), 4);
            addrlen = sizeof(sockaddr_in);
        }
        if (i)
            buf += ", ";
        char host[NI_MAXHOST];
        if (!getnameinfo(reinterpret_cast<sockaddr*>(&ss), addrlen, host, sizeof(host), nullptr, 0,
                         name_format == NameFormat::ip ? NI_NUMERICHOST : 0))
            buf += host;
    }
    return buf;
}

void print_string_padded(const char* buf) {
    int delta = 10 - static_cast<int>(std::strlen(buf));
    while (delta > 0) {
        std::printf(" ");
        delta--;
    }
    std::printf("%s ", buf);
}

void print_uint32_padded(std::uint32_t value) {
    char buf[12];
    std::snprintf(buf, sizeof(buf) - 1, "%u", value);
    print_string_padded(buf);
}

Json flags_json(std::uint32_t flags) {
    Json f = Json::array();
    const std::pair<std::uint32_t, const char*> names[] = {
        {Votequorum::info_two_node, "2Node"},
        {Votequorum::info_quorate, "Quorate"},
        {Votequorum::info_wait_for_all, "WaitForAll"},
        {Votequorum::info_last_man_standing, "LastManStanding"},
        {Votequorum::info_auto_tie_breaker, "AutoTieBreaker"},
        {Votequorum::info_allow_downscale, "AllowDownscale"},
        {Votequorum::info_qdevice_registered, "Qdevice"},
        {Votequorum::info_qdevice_alive, "QdeviceAlive"},
        {Votequorum::info_qdevice_cast_vote, "QdeviceCastVote"},
        {Votequorum::info_qdevice_master_wins, "QdeviceMasterWins"}};
    for (const auto& [bit, name] : names)
        if (flags & bit)
            f.push_back(name);
    return f;
}

void display_nodes_data(NodeidFormat nodeid_format, NameFormat name_format, Sort sort_type) {
    bool display_qdevice = false;
    std::uint32_t our_flags = 0;
    // Node info, cached in the order of the view list as it came (corosync-quorumtool indexes
    // this array by the position in the *sorted* list later: kept).
    std::vector<Votequorum::Info> info(g_view_list.size());
    if (v_handle) {
        for (std::size_t i = 0; i < g_view_list.size(); i++) {
            auto r = v_handle->info(g_view_list[i].node_id);
            if (!r) {
                if (!g_json)
                    std::printf("Unable to get node %" PRIu32 " info\n", g_view_list[i].node_id);
            } else {
                info[i] = *r;
            }
            if (info[i].flags & Votequorum::info_qdevice_registered)
                display_qdevice = true;
        }
    }
    std::vector<Json> addr_lists(g_view_list.size(), Json::array());
    for (std::size_t i = 0; i < g_view_list.size(); i++)
        g_view_list[i].name =
            node_name(g_view_list[i].node_id, name_format, g_json ? &addr_lists[i] : nullptr);

    // corosync sends them sorted by address already.
    std::vector<std::size_t> order(g_view_list.size());
    for (std::size_t i = 0; i < order.size(); ++i)
        order[i] = i;
    if (sort_type == Sort::nodeid)
        std::stable_sort(order.begin(), order.end(), [](std::size_t a, std::size_t b) {
            return g_view_list[a].node_id < g_view_list[b].node_id;
        });
    if (sort_type == Sort::nodename)
        std::stable_sort(order.begin(), order.end(), [](std::size_t a, std::size_t b) {
            return std::strcmp(g_view_list[a].name.c_str(), g_view_list[b].name.c_str()) < 0;
        });

    if (g_json) {
        Json members = Json::array();
        for (std::size_t i = 0; i < order.size(); i++) {
            const ViewEntry& e = g_view_list[order[i]];
            const Votequorum::Info& in = info[order[i]];
            Json m = Json::object();
            m["nodeid"] = e.node_id;
            m["name"] = e.name;
            m["addresses"] = addr_lists[order[i]];
            m["local"] = e.node_id == our_nodeid;
            if (v_handle) {
                m["votes"] = in.node_votes;
                if (in.flags & Votequorum::info_qdevice_registered) {
                    Json q = Json::object();
                    q["alive"] = (in.flags & Votequorum::info_qdevice_alive) != 0;
                    q["cast_vote"] = (in.flags & Votequorum::info_qdevice_cast_vote) != 0;
                    q["master_wins"] = (in.flags & Votequorum::info_qdevice_master_wins) != 0;
                    m["qdevice"] = q;
                }
            }
            if (e.node_id == our_nodeid && v_handle)
                our_flags = in.flags;
            members.push_back(m);
        }
        g_doc["members"] = members;
        if (display_qdevice && !info.empty()) {
            Json q = Json::object();
            q["name"] = info[0].qdevice_name;
            q["votes"] = info[0].qdevice_votes;
            q["casting_vote"] = (our_flags & Votequorum::info_qdevice_cast_vote) != 0;
            g_doc["qdevice"] = q;
        }
        g_view_list.clear();
        return;
    }

    std::printf("\nMembership information\n");
    std::printf("----------------------\n");
    print_string_padded("Nodeid");
    if (v_handle) {
        print_string_padded("Votes");
        if (display_qdevice || machine_parsable)
            print_string_padded("Qdevice");
    }
    std::printf("Name\n");
    for (std::size_t i = 0; i < order.size(); i++) {
        const ViewEntry& e = g_view_list[order[i]];
        if (nodeid_format == NodeidFormat::decimal)
            print_uint32_padded(e.node_id);
        else
            std::printf("0x%08x ", e.node_id);
        if (v_handle) {
            print_uint32_padded(info[i].node_votes);
            if (display_qdevice || machine_parsable) {
                if (info[i].flags & Votequorum::info_qdevice_registered) {
                    char buf[10];
                    std::snprintf(
                        buf, sizeof(buf), "%s,%s,%s",
                        (info[i].flags & Votequorum::info_qdevice_alive) ? "A" : "NA",
                        (info[i].flags & Votequorum::info_qdevice_cast_vote) ? "V" : "NV",
                        (info[i].flags & Votequorum::info_qdevice_master_wins) ? "MW" : "NMW");
                    print_string_padded(buf);
                } else {
                    print_string_padded("NR");
                }
            }
        }
        std::printf("%s", e.name.c_str());
        if (e.node_id == our_nodeid) {
            std::printf(" (local)");
            if (v_handle)
                our_flags = info[i].flags;
        }
        std::printf("\n");
    }
    g_view_list.clear();

    if (display_qdevice) {
        if (nodeid_format == NodeidFormat::decimal)
            print_uint32_padded(Votequorum::qdevice_nodeid);
        else
            std::printf("0x%08x ", Votequorum::qdevice_nodeid);
        // The device's votes show as 0 when it does not vote on this node.
        if (our_flags & Votequorum::info_qdevice_cast_vote)
            print_uint32_padded(info[0].qdevice_votes);
        else
            print_uint32_padded(0);
        std::printf("           %s", info[0].qdevice_name.c_str());
        if (our_flags & Votequorum::info_qdevice_cast_vote)
            std::printf("\n");
        else
            std::printf(" (votes %d)\n", static_cast<int>(info[0].qdevice_votes));
    }
}

int display_quorum_data(bool is_quorate, NodeidFormat nodeid_format, NameFormat name_format,
                        Sort sort_type) {
    std::string quorumtype;
    const std::time_t t = std::time(nullptr);
    if (get_quorum_type(quorumtype))
        quorumtype = "Not configured";
    const std::size_t nodes = g_view_list.size();
    if (g_json) {
        g_doc = totem::tools::json_doc("totem-quorumtool");
        g_doc["date"] = static_cast<long long>(t);
        g_doc["quorum_provider"] = quorumtype;
        g_doc["nodes"] = static_cast<unsigned long>(nodes);
        g_doc["node_id"] = our_nodeid;
        Json ring = Json::object();
        if (v_handle)
            ring["nodeid"] = g_ring_id_rep_node;
        ring["seq"] = static_cast<unsigned long long>(g_ring_id);
        g_doc["ring_id"] = ring;
        g_doc["quorate"] = is_quorate;
    } else {
        std::printf("Quorum information\n");
        std::printf("------------------\n");
        std::printf("Date:             %s", std::ctime(&t));
        std::printf("Quorum provider:  %s\n", quorumtype.c_str());
        std::printf("Nodes:            %d\n", static_cast<int>(nodes));
        if (nodeid_format == NodeidFormat::decimal)
            std::printf("Node ID:          %" PRIu32 "\n", our_nodeid);
        else
            std::printf("Node ID:          0x%08x\n", our_nodeid);
        if (v_handle)
            std::printf("Ring ID:          %" PRIx32 ".%" PRIx64 "\n", g_ring_id_rep_node,
                        g_ring_id);
        else
            std::printf("Ring ID:          %" PRIx64 "\n", g_ring_id);
        std::printf("Quorate:          %s\n", is_quorate ? "Yes" : "No");
    }
    if (!v_handle)
        return 1;

    auto info = v_handle->info(our_nodeid);
    int err = info ? 1 : cs(info.error());
    if (info || info.error() == Errc::not_exist) {
        const Votequorum::Info in = info ? *info : Votequorum::Info{};
        if (g_json) {
            Json vq = Json::object();
            vq["expected_votes"] = in.node_expected_votes;
            vq["highest_expected"] = in.highest_expected;
            vq["total_votes"] = in.total_votes;
            vq["quorum"] = in.quorum;
            vq["activity_blocked"] = (in.flags & Votequorum::info_quorate) == 0;
            vq["flags"] = flags_json(in.flags);
            g_doc["votequorum"] = vq;
        } else {
            std::printf("\nVotequorum information\n");
            std::printf("----------------------\n");
            std::printf("Expected votes:   %d\n", static_cast<int>(in.node_expected_votes));
            std::printf("Highest expected: %d\n", static_cast<int>(in.highest_expected));
            std::printf("Total votes:      %d\n", static_cast<int>(in.total_votes));
            std::printf("Quorum:           %d %s\n", static_cast<int>(in.quorum),
                        (in.flags & Votequorum::info_quorate) ? " " : "Activity blocked");
            std::printf("Flags:            ");
            if (in.flags & Votequorum::info_two_node)
                std::printf("2Node ");
            if (in.flags & Votequorum::info_quorate)
                std::printf("Quorate ");
            if (in.flags & Votequorum::info_wait_for_all)
                std::printf("WaitForAll ");
            if (in.flags & Votequorum::info_last_man_standing)
                std::printf("LastManStanding ");
            if (in.flags & Votequorum::info_auto_tie_breaker)
                std::printf("AutoTieBreaker ");
            if (in.flags & Votequorum::info_allow_downscale)
                std::printf("AllowDownscale ");
            if (in.flags & Votequorum::info_qdevice_registered)
                std::printf("Qdevice ");
            std::printf("\n");
        }
    } else {
        std::fprintf(stderr, "Unable to get node info: %s\n", cs_strerror(err));
    }
    display_nodes_data(nodeid_format, name_format, sort_type);
    return err;
}

void quorum_notification(const Quorum::Notification& n) {
    g_called = true;
    g_quorate = n.quorate;
    g_ring_id = n.ring_id.seq;
    g_view_list.clear();
    for (auto id : n.members)
        g_view_list.push_back(ViewEntry{{}, id});
}

void print_json_doc(bool ok, int code) {
    if (!g_json)
        return;
    if (!g_doc.is_object())
        g_doc = totem::tools::json_doc("totem-quorumtool");
    g_doc["ok"] = ok;
    if (!ok)
        g_doc["error"] = totem::tools::json_error(code);
    totem::tools::print_json(g_doc);
    g_doc = Json();
}

int show_status(NodeidFormat nodeid_format, NameFormat name_format, Sort sort_type) {
    std::error_code err;
    bool is_quorate = false;
    [&] {
        auto q = q_handle->quorate();
        if (!q) {
            err = q.error();
            std::fprintf(stderr, "Unable to get cluster quorate status: %s\n",
                         cs_strerror(cs(err)));
            return;
        }
        is_quorate = *q;
        if (Status s = q_handle->track_start(track_current); !s) {
            err = s.error();
            std::fprintf(stderr, "Unable to start quorum status tracking: %s\n",
                         cs_strerror(cs(err)));
            return;
        }
        g_called = false;
        while (!g_called && !err) {
            auto d = q_handle->dispatch(Dispatch::one);
            if (!d) {
                err = d.error();
                std::fprintf(stderr, "Unable to dispatch quorum status: %s\n",
                             cs_strerror(cs(err)));
            }
        }
        // corosync-quorumtool prints the error of the loop above here ("success" after a
        // good run), and goes on to votequorum whatever it was.
        if (!q_handle->track_stop())
            std::fprintf(stderr, "Unable to stop quorum status tracking: %s\n",
                         cs_strerror(cs(err)));
        if (using_votequorum()) {
            Status s = v_handle ? v_handle->track_start(0, track_current) : Status(vq_missing());
            err = s.error();
            if (!s) {
                std::fprintf(stderr, "Unable to start votequorum status tracking: %s\n",
                             cs_strerror(cs(err)));
                return;
            }
            g_vq_called = false;
            while (!g_vq_called && !err) {
                auto d = v_handle->dispatch(Dispatch::one);
                if (!d) {
                    err = d.error();
                    std::fprintf(stderr, "Unable to dispatch votequorum status: %s\n",
                                 cs_strerror(cs(err)));
                }
            }
        }
    }();
    if (err) {
        print_json_doc(false, cs(err));
        return EXIT_FAILURE;
    }
    const int r = display_quorum_data(is_quorate, nodeid_format, name_format, sort_type);
    if (r != 1) {
        print_json_doc(false, r);
        return EXIT_FAILURE;
    }
    print_json_doc(true, 1);
    return is_quorate ? EXIT_SUCCESS : kExitNotQuorate;
}

int monitor_status(NodeidFormat nodeid_format, NameFormat name_format, Sort sort_type) {
    if (q_type == 0) {
        if (!g_json)
            std::printf("\nQuorum is not configured - cannot monitor\n");
        return show_status(nodeid_format, name_format, sort_type);
    }
    if (Status s = q_handle->track_start(track_changes); !s) {
        std::fprintf(stderr, "Unable to start quorum status tracking: %s\n",
                     cs_strerror(cs(s.error())));
        print_json_doc(false, cs(s.error()));
        return EXIT_FAILURE;
    }
    if (using_votequorum()) {
        Status s = v_handle ? v_handle->track_start(0, track_changes) : Status(vq_missing());
        if (!s) {
            std::fprintf(stderr, "Unable to start votequorum status tracking: %s\n",
                         cs_strerror(cs(s.error())));
            print_json_doc(false, cs(s.error()));
            return EXIT_FAILURE;
        }
    }
    for (;;) {
        auto d = q_handle->dispatch(Dispatch::one);
        if (!d) {
            std::fprintf(stderr, "Unable to dispatch quorum status: %s\n",
                         cs_strerror(cs(d.error())));
            print_json_doc(false, cs(d.error()));
            return EXIT_FAILURE;
        }
        if (using_votequorum()) {
            g_vq_called = false;
            while (!g_vq_called) {
                auto dv = v_handle ? v_handle->dispatch(Dispatch::one)
                                   : Result<std::size_t>(vq_missing());
                if (!dv) {
                    std::fprintf(stderr, "Unable to dispatch votequorum status: %s\n",
                                 cs_strerror(cs(dv.error())));
                    print_json_doc(false, cs(dv.error()));
                    return EXIT_FAILURE;
                }
            }
        }
        const int err = display_quorum_data(g_quorate, nodeid_format, name_format, sort_type);
        if (!g_json)
            std::printf("\n");
        if (err != 1) {
            std::fprintf(stderr, "Unable to display quorum data: %s\n", cs_strerror(err));
            print_json_doc(false, err);
            return EXIT_FAILURE;
        }
        print_json_doc(true, 1);
        std::fflush(stdout);  // (an addition: each update is out before the next wait)
    }
}

int show_nodes(NodeidFormat nodeid_format, NameFormat name_format, Sort sort_type) {
    if (Status s = q_handle->track_start(track_current); !s) {
        std::fprintf(stderr, "Unable to start quorum status tracking: %s\n",
                     cs_strerror(cs(s.error())));
        print_json_doc(false, cs(s.error()));
        return EXIT_FAILURE;
    }
    g_called = false;
    while (!g_called) {
        auto d = q_handle->dispatch(Dispatch::one);
        if (!d) {
            std::fprintf(stderr, "Unable to dispatch quorum status: %s\n",
                         cs_strerror(cs(d.error())));
            print_json_doc(false, cs(d.error()));
            return EXIT_FAILURE;
        }
    }
    if (g_json)
        g_doc = totem::tools::json_doc("totem-quorumtool");
    display_nodes_data(nodeid_format, name_format, sort_type);
    print_json_doc(true, 1);
    return EXIT_SUCCESS;
}

int unregister_qdevice() {
    auto info = v_handle ? v_handle->info(our_nodeid) : Result<Votequorum::Info>(vq_missing());
    if (!info) {
        std::fprintf(stderr, "Unable to get quorum device info: %s\n",
                     cs_strerror(cs(info.error())));
        print_json_doc(false, cs(info.error()));
        return EXIT_FAILURE;
    }
    if (!(info->flags & Votequorum::info_qdevice_registered)) {
        print_json_doc(true, 1);
        return EXIT_SUCCESS;
    }
    if (Status s = v_handle->qdevice_unregister(info->qdevice_name); !s) {
        std::fprintf(stderr, "Unable to unregister quorum device: %s\n",
                     cs_strerror(cs(s.error())));
        print_json_doc(false, cs(s.error()));
        return EXIT_FAILURE;
    }
    print_json_doc(true, 1);
    return EXIT_SUCCESS;
}

// init_all(): cmap, quorum (model V0, as quorum_initialize), cfg, and votequorum when it is the
// provider. -1 on a failure (the message is printed).
int init_all() {
    auto cm = Cmap::connect();
    if (!cm) {
        std::fprintf(stderr, "Cannot initialize CMAP service\n");
        return -1;
    }
    cmap_handle.emplace(std::move(*cm));
    Quorum::Options qo;
    qo.model = Quorum::Model::v0;
    auto q = Quorum::connect(qo);
    if (!q) {
        std::fprintf(stderr, "Cannot initialize QUORUM service\n");
        return -1;
    }
    q_type = q->quorum_type();
    q->on_notify(quorum_notification);
    q_handle.emplace(std::move(*q));
    auto c = Cfg::connect();
    if (!c) {
        std::fprintf(stderr, "Cannot initialise CFG service\n");
        return -1;
    }
    c_handle.emplace(std::move(*c));
    if (using_votequorum() <= 0)
        return 0;
    auto v = Votequorum::connect();
    if (!v) {
        std::fprintf(stderr, "Cannot initialise VOTEQUORUM service\n");
        return -1;
    }
    v->on_nodelist([](const Votequorum::NodelistNotification& n) {
        g_ring_id_rep_node = n.ring_id.nodeid;
        g_vq_called = true;
    });
    v_handle.emplace(std::move(*v));
    auto id = cmap_handle->get_u32("runtime.votequorum.this_node_id");
    if (!id) {
        std::fprintf(stderr, "Unable to retrieve this_node_id\n");
        return -1;
    }
    our_nodeid = *id;
    return 0;
}

}  // namespace

int main(int argc, char* argv[]) {
    std::vector<char*> args;
    g_json = totem::tools::take_flag(argc, argv, args, "--json");
    std::vector<char*> args2;
    if (totem::tools::take_flag(argc, argv, args2, "--help")) {
        show_usage(argv[0]);
        return EXIT_SUCCESS;
    }
    const char* options = "VHaslpmfe:v:hin:o:";
    int votes = 0;
    int ret = 0;
    std::uint32_t nodeid = 0;
    bool nodeid_set = false;
    NodeidFormat nodeid_format = NodeidFormat::decimal;
    NameFormat address_format = NameFormat::name;
    Command command_opt = Command::showstatus;
    Sort sort_opt = Sort::addr;
    long long l = 0;
    int opt;
    while ((opt = getopt(argc, argv, options)) != -1) {
        switch (opt) {
            case 'f':
                command_opt = Command::unregister_qdevice;
                break;
            case 's':
                command_opt = Command::showstatus;
                break;
            case 'a':
                g_show_all_addrs = true;
                break;
            case 'm':
                command_opt = Command::monitor;
                break;
            case 'i':
                address_format = NameFormat::ip;
                break;
            case 'H':
                nodeid_format = NodeidFormat::hex;
                break;
            case 'l':
                command_opt = Command::shownodes;
                break;
            case 'p':
                machine_parsable = true;
                break;
            case 'e':
                if (totem::tools::util_strtonum(optarg, 1, INT_MAX, &l) == -1) {
                    std::fprintf(stderr,
                                 "New expected votes value was not valid, try a positive number\n");
                    std::exit(EXIT_FAILURE);
                }
                votes = static_cast<int>(l);
                command_opt = Command::setexpected;
                break;
            case 'n':
                if (totem::tools::util_strtonum(optarg, 1, UINT_MAX, &l) == -1) {
                    std::fprintf(stderr, "The nodeid was not valid, try a positive number\n");
                    std::exit(EXIT_FAILURE);
                }
                nodeid = static_cast<std::uint32_t>(l);
                nodeid_set = true;
                break;
            case 'v':
                if (totem::tools::util_strtonum(optarg, 0, INT_MAX, &l) == -1) {
                    std::fprintf(stderr,
                                 "New votes value was not valid, try a positive number or zero\n");
                    std::exit(EXIT_FAILURE);
                }
                votes = static_cast<int>(l);
                command_opt = Command::setvotes;
                break;
            case 'o':
                if (std::strcmp(optarg, "a") == 0) {
                    sort_opt = Sort::addr;
                } else if (std::strcmp(optarg, "i") == 0) {
                    sort_opt = Sort::nodeid;
                } else if (std::strcmp(optarg, "n") == 0) {
                    sort_opt = Sort::nodename;
                } else {
                    std::fprintf(stderr,
                                 "Invalid ordering option. valid orders are a(address), i(node "
                                 "ID) or n(name)\n");
                    std::exit(EXIT_FAILURE);
                }
                break;
            case 'V':
                std::printf("totem-quorumtool version: %s\n", TOTEM_VERSION);
                std::exit(EXIT_SUCCESS);
            case 'h':
                show_usage(argv[0]);
                std::exit(EXIT_SUCCESS);
            default:
                show_usage(argv[0]);
                std::exit(EXIT_FAILURE);
        }
    }

    if (init_all()) {
        if (g_json) {
            Json d = totem::tools::json_doc("totem-quorumtool");
            d["ok"] = false;
            d["error"] = totem::tools::json_error(static_cast<int>(Errc::library));
            totem::tools::print_json(d);
        }
        std::exit(EXIT_FAILURE);
    }
    switch (command_opt) {
        case Command::shownodes:
            ret = show_nodes(nodeid_format, address_format, sort_opt);
            break;
        case Command::showstatus:
            ret = show_status(nodeid_format, address_format, sort_opt);
            break;
        case Command::setvotes:
            if (using_votequorum() > 0) {
                if (!nodeid_set)
                    nodeid = our_nodeid;
                ret = set_votes(nodeid, votes);
            } else {
                std::fprintf(stderr,
                             "You cannot change node votes, corosync is not using votequorum\n");
                ret = EXIT_FAILURE;
            }
            print_json_doc(ret == EXIT_SUCCESS, static_cast<int>(Errc::failed_operation));
            break;
        case Command::setexpected:
            if (using_votequorum() > 0) {
                ret = set_expected(votes);
            } else {
                std::fprintf(
                    stderr, "You cannot change expected votes, corosync is not using votequorum\n");
                ret = EXIT_FAILURE;
            }
            print_json_doc(ret == EXIT_SUCCESS, static_cast<int>(Errc::failed_operation));
            break;
        case Command::monitor:
            ret = monitor_status(nodeid_format, address_format, sort_opt);
            break;
        case Command::unregister_qdevice:
            if (using_votequorum() > 0) {
                ret = unregister_qdevice();
            } else {
                std::fprintf(
                    stderr,
                    "You cannot unregister quorum device, corosync is not using votequorum\n");
                print_json_doc(false, static_cast<int>(Errc::failed_operation));
                ret = EXIT_FAILURE;
            }
            break;
    }
    return ret;
}
