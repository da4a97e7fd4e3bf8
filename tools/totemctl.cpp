// totemctl: the operator's one-screen view of a node (totemd or corosync 3.1.7).
//
//   totemctl status [--watch[=SECONDS]] [--json] [--color=auto|always|never]
//
// status shows this node, the ring id, every configured node with its links (state and knet
// latency), quorum (votes, expected, flags), the CPG groups with their members, and the last
// membership change with its cause (totemd publishes runtime.totemd.last_change_cause and
// runtime.totemd.ring_id in cmap; corosync does not, and the screen says so). What a service
// does not answer is shown as unavailable, never guessed. Bad arguments: the usage on stderr
// and exit 2; no daemon: "cannot connect to totemd (is it running?)" and exit 1.
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tools/common/util.hpp"
#include "totem/client.hpp"

using namespace totem::client;
using totem::tools::Json;

namespace {

constexpr const char* kNoDaemon = "cannot connect to totemd (is it running?)";

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) {
    g_stop = 1;
}

void usage(FILE* f) {
    std::fprintf(f,
                 "usage: totemctl <command> [options]\n"
                 "\n"
                 "commands:\n"
                 "  status              this node, the ring, members and their links, quorum,\n"
                 "                      CPG groups, and the last membership change\n"
                 "  help                this text\n"
                 "\n"
                 "status options:\n"
                 "  --watch[=SECONDS]   refresh every SECONDS (default 2, 0.1..3600) until "
                 "Ctrl-C\n"
                 "  --json              one JSON document (schema totemctl-status/1); with "
                 "--watch\n"
                 "                      one per line\n"
                 "  --color=WHEN        auto (default: only on a terminal), always, never\n"
                 "\n"
                 "  --help              this text\n"
                 "  --version           print the version\n"
                 "\n"
                 "exit status: 0 ok, 1 no daemon or an error, 2 bad arguments\n");
}

struct Link {
    int link = 0;
    std::string address;  // the remote end (dst); for this node its own address
    std::string state;    // localhost / connected / disconnected
    std::optional<std::uint32_t> latency_us;
    std::uint32_t mtu = 0;
};
struct Member {
    std::uint32_t nodeid = 0;
    std::string name;
    bool local = false;
    std::string status;  // local / member / left / down / unknown
    std::optional<std::uint32_t> votes;
    std::vector<Link> links;
};
struct Group {
    std::string name;
    std::vector<Cpg::GroupMember> members;
};
struct Snapshot {
    std::uint32_t nodeid = 0;
    std::string node_name;
    std::string cluster_name;
    std::string transport;
    std::string daemon;  // "totemd" (it publishes runtime.totemd.*) or "corosync"
    std::optional<std::string> ring_id;
    std::vector<Member> members;
    // quorum
    std::optional<bool> quorate;
    std::optional<Votequorum::Info> vq;
    std::string quorum_note;  // why quorum facts are missing
    // cpg
    std::optional<std::vector<Group>> groups;
    std::string cpg_note;
    // last change
    std::optional<std::string> last_change_cause;
    std::optional<std::uint64_t> config_changes;
};

std::string ring_text(RingId r) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%" PRIx32 ".%" PRIx64, r.nodeid, r.seq);
    return buf;
}

std::string why(const std::error_code& ec) {
    return std::string("service not available (") + cs_strerror(ec.value()) + ")";
}

// Everything on the screen, read afresh. nullopt when the daemon does not answer at all.
std::optional<Snapshot> collect() {
    auto cmap = Cmap::connect();
    if (!cmap)
        return std::nullopt;
    Snapshot s;
    auto cfg = Cfg::connect();
    if (cfg) {
        if (auto id = cfg->local_nodeid())
            s.nodeid = *id;
    }
    s.cluster_name = cmap->get_string("totem.cluster_name").value_or("");
    s.transport = cmap->get_string("totem.transport").value_or("knet");
    s.daemon = cmap->stat("runtime.totemd.ring_id") ? "totemd" : "corosync";
    if (auto r = cmap->get_string("runtime.totemd.ring_id"))
        s.ring_id = *r;
    if (auto c = cmap->get_string("runtime.totemd.last_change_cause"))
        s.last_change_cause = *c;
    if (auto n = cmap->get_u64("runtime.totemd.config_changes"))
        s.config_changes = *n;

    // The configured nodes, in node id order.
    std::map<std::uint32_t, std::string> names;
    if (auto keys = cmap->keys("nodelist.node.")) {
        for (const auto& k : *keys) {
            unsigned pos = 0;
            int end = 0;
            if (std::sscanf(k.name.c_str(), "nodelist.node.%u.nodeid%n", &pos, &end) != 1 ||
                end != static_cast<int>(k.name.size()))
                continue;
            auto id = cmap->get_u32(k.name);
            if (!id)
                continue;
            names[*id] =
                cmap->get_string("nodelist.node." + std::to_string(pos) + ".name").value_or("");
        }
    }
    if (names.count(s.nodeid))
        s.node_name = names[s.nodeid];

    // Per-link latency from the stats map (knet only).
    std::map<std::pair<std::uint32_t, int>, std::uint32_t> latency;
    Cmap::Options so;
    so.map = Cmap::Map::stats;
    if (auto stats = Cmap::connect(so)) {
        if (auto keys = stats->keys("stats.knet.node")) {
            for (const auto& k : *keys) {
                unsigned node = 0;
                int link = 0;
                int end = 0;
                if (std::sscanf(k.name.c_str(), "stats.knet.node%u.link%d.latency_ave%n", &node,
                                &link, &end) != 2 ||
                    end != static_cast<int>(k.name.size()))
                    continue;
                if (auto v = stats->get_u32(k.name))
                    latency[{node, link}] = *v;
            }
        }
    }

    // Votequorum (votes and flags), else the quorum service (quorate only).
    std::optional<Votequorum> vq;
    if (auto v = Votequorum::connect()) {
        if (auto info = v->info(0)) {
            s.vq = *info;
            s.quorate = (info->flags & Votequorum::info_quorate) != 0;
            vq.emplace(std::move(*v));
        } else {
            s.quorum_note = why(info.error());
        }
    } else {
        s.quorum_note = why(v.error());
    }
    Quorum::Options qo;
    qo.model = Quorum::Model::v1;
    if (auto q = Quorum::connect(qo)) {
        if (!s.quorate)
            if (auto qq = q->quorate())
                s.quorate = *qq;
        if (!s.ring_id) {
            // The ring id through a CS_TRACK_CURRENT notification (corosync has no cmap key).
            std::optional<RingId> ring;
            q->on_notify([&](const Quorum::Notification& n) { ring = n.ring_id; });
            if (q->track_start(track_current)) {
                const auto deadline =
                    std::chrono::steady_clock::now() + std::chrono::milliseconds(2000);
                while (!ring && std::chrono::steady_clock::now() < deadline) {
                    pollfd p{q->fd(), POLLIN, 0};
                    if (poll(&p, 1, 100) > 0 && !q->dispatch())
                        break;
                }
                (void)q->track_stop();
            }
            if (ring)
                s.ring_id = ring_text(*ring);
        }
    } else if (s.quorum_note.empty()) {
        s.quorum_note = why(q.error());
    }

    for (const auto& [id, name] : names) {
        Member m;
        m.nodeid = id;
        m.name = name;
        m.local = id == s.nodeid;
        const std::string base = "runtime.members." + std::to_string(id) + ".status";
        if (m.local)
            m.status = "local";
        else if (auto st = cmap->get_string(base))
            m.status = *st == "joined" ? "member" : *st;
        else
            m.status = "down";
        if (vq)
            if (auto info = vq->info(id))
                m.votes = info->node_votes;
        if (cfg) {
            if (auto ns = cfg->node_status(id)) {
                for (int l = 0; l < static_cast<int>(ns->links.size()); ++l) {
                    const auto& ls = ns->links[static_cast<std::size_t>(l)];
                    if (!ls.enabled)
                        continue;
                    Link link;
                    link.link = l;
                    link.address = ls.dst_ipaddr;
                    link.state = m.local        ? "localhost"
                                 : ls.connected ? "connected"
                                                : "disconnected";
                    link.mtu = ls.mtu;
                    if (auto it = latency.find({id, l}); it != latency.end() && !m.local)
                        link.latency_us = it->second;
                    m.links.push_back(link);
                }
            }
        }
        s.members.push_back(std::move(m));
    }

    if (auto cpg = Cpg::connect()) {
        if (auto all = cpg->iterate(Cpg::Iteration::all)) {
            std::vector<Group> groups;
            for (auto& e : *all) {
                if (groups.empty() || groups.back().name != e.group)
                    groups.push_back(Group{e.group, {}});
                groups.back().members.push_back(e);
            }
            s.groups = std::move(groups);
        } else {
            s.cpg_note = why(all.error());
        }
    } else {
        s.cpg_note = why(cpg.error());
    }
    return s;
}

Json to_json(const Snapshot& s) {
    Json d = totem::tools::json_doc("totemctl-status");
    d["daemon"] = s.daemon;
    Json node = Json::object();
    node["nodeid"] = s.nodeid;
    node["name"] = s.node_name;
    node["cluster_name"] = s.cluster_name;
    node["transport"] = s.transport;
    d["node"] = node;
    d["ring_id"] = s.ring_id ? Json(*s.ring_id) : Json();
    Json members = Json::array();
    for (const auto& m : s.members) {
        Json j = Json::object();
        j["nodeid"] = m.nodeid;
        j["name"] = m.name;
        j["local"] = m.local;
        j["status"] = m.status;
        j["votes"] = m.votes ? Json(*m.votes) : Json();
        Json links = Json::array();
        for (const auto& l : m.links) {
            Json lj = Json::object();
            lj["link"] = l.link;
            lj["address"] = l.address;
            lj["state"] = l.state;
            lj["latency_us"] = l.latency_us ? Json(*l.latency_us) : Json();
            lj["mtu"] = l.mtu;
            links.push_back(lj);
        }
        j["links"] = links;
        members.push_back(j);
    }
    d["members"] = members;
    Json q = Json::object();
    q["quorate"] = s.quorate ? Json(*s.quorate) : Json();
    if (s.vq) {
        q["votes"] = s.vq->node_votes;
        q["expected_votes"] = s.vq->node_expected_votes;
        q["highest_expected"] = s.vq->highest_expected;
        q["total_votes"] = s.vq->total_votes;
        q["quorum"] = s.vq->quorum;
        q["flags"] = s.vq->flags;
    } else {
        q["note"] = s.quorum_note;
    }
    d["quorum"] = q;
    if (s.groups) {
        Json groups = Json::array();
        for (const auto& g : *s.groups) {
            Json gj = Json::object();
            gj["name"] = g.name;
            Json ms = Json::array();
            for (const auto& m : g.members) {
                Json mj = Json::object();
                mj["nodeid"] = m.nodeid;
                mj["pid"] = m.pid;
                ms.push_back(mj);
            }
            gj["members"] = ms;
            groups.push_back(gj);
        }
        d["cpg_groups"] = groups;
    } else {
        d["cpg_groups"] = Json();
        d["cpg_note"] = s.cpg_note;
    }
    Json lc = Json::object();
    lc["cause"] = s.last_change_cause ? Json(*s.last_change_cause) : Json();
    lc["config_changes"] =
        s.config_changes ? Json(static_cast<unsigned long long>(*s.config_changes)) : Json();
    d["last_change"] = lc;
    return d;
}

struct Style {
    bool on = false;
    std::string bold(const std::string& t) const { return on ? "\033[1m" + t + "\033[0m" : t; }
    std::string good(const std::string& t) const { return on ? "\033[32m" + t + "\033[0m" : t; }
    std::string bad(const std::string& t) const { return on ? "\033[31m" + t + "\033[0m" : t; }
    std::string dim(const std::string& t) const { return on ? "\033[2m" + t + "\033[0m" : t; }
    std::string state(const std::string& t) const {
        if (t == "connected" || t == "member" || t == "local" || t == "localhost" || t == "quorate")
            return good(t);
        if (t == "disconnected" || t == "down" || t == "left" || t == "not quorate")
            return bad(t);
        return t;
    }
};

std::string pad(const std::string& t, std::size_t w) {
    return t.size() >= w ? t : t + std::string(w - t.size(), ' ');
}

std::string flag_names(std::uint32_t flags) {
    const std::pair<std::uint32_t, const char*> names[] = {
        {Votequorum::info_two_node, "2Node"},
        {Votequorum::info_quorate, "Quorate"},
        {Votequorum::info_wait_for_all, "WaitForAll"},
        {Votequorum::info_last_man_standing, "LastManStanding"},
        {Votequorum::info_auto_tie_breaker, "AutoTieBreaker"},
        {Votequorum::info_allow_downscale, "AllowDownscale"},
        {Votequorum::info_qdevice_registered, "Qdevice"}};
    std::string out;
    for (const auto& [bit, name] : names)
        if (flags & bit)
            out += (out.empty() ? "" : " ") + std::string(name);
    return out.empty() ? "none" : out;
}

std::string render(const Snapshot& s, const Style& st) {
    std::string o;
    char buf[512];
    std::snprintf(buf, sizeof(buf), "%u%s%s", s.nodeid, s.node_name.empty() ? "" : " (",
                  s.node_name.empty() ? "" : (s.node_name + ")").c_str());
    o += st.bold("Node:        ") + buf + ", cluster \"" + s.cluster_name + "\", transport " +
         s.transport + ", daemon " + s.daemon + "\n";
    o += st.bold("Ring ID:     ") + (s.ring_id ? *s.ring_id : st.dim("unknown")) + "\n";
    std::size_t in_ring = 0;
    for (const auto& m : s.members)
        if (m.status == "member" || m.status == "local")
            ++in_ring;
    o += st.bold("Members:     ") + std::to_string(in_ring) + " of " +
         std::to_string(s.members.size()) + " configured nodes in the ring\n";
    std::size_t name_w = 6;
    std::size_t addr_w = 9;
    for (const auto& m : s.members) {
        name_w = std::max(name_w, m.name.size() + 2);
        for (const auto& l : m.links)
            addr_w = std::max(addr_w, l.address.size() + 2);
    }
    o += "  " + pad("Nodeid", 8) + pad("Name", name_w) + pad("Status", 9) + pad("Votes", 7) +
         pad("Link", 6) + pad("Address", addr_w) + pad("State", 14) + "Latency\n";
    for (const auto& m : s.members) {
        std::snprintf(buf, sizeof(buf), "%6u  ", m.nodeid);
        std::string row = std::string("  ") + buf + pad(m.name, name_w);
        row += st.state(m.status) + std::string(9 - std::min<std::size_t>(9, m.status.size()), ' ');
        row += pad(m.votes ? std::to_string(*m.votes) : "-", 7);
        if (m.links.empty()) {
            o += row + st.dim("no link status") + "\n";
            continue;
        }
        for (std::size_t i = 0; i < m.links.size(); ++i) {
            const Link& l = m.links[i];
            std::string line = i == 0 ? row : std::string(2 + 8 + name_w + 9 + 7, ' ');
            line += pad(std::to_string(l.link), 6) + pad(l.address, addr_w);
            line += st.state(l.state) +
                    std::string(14 - std::min<std::size_t>(14, l.state.size()), ' ');
            if (l.latency_us) {
                std::snprintf(buf, sizeof(buf), "%.3f ms", *l.latency_us / 1000.0);
                line += buf;
            } else {
                line += "-";
            }
            o += line + "\n";
        }
    }
    o += st.bold("Quorum:      ");
    if (s.quorate)
        o += st.state(*s.quorate ? "quorate" : "not quorate");
    else
        o += st.dim("unknown");
    if (s.vq) {
        std::snprintf(buf, sizeof(buf), ", votes %u, expected %u, total %u, quorum %u, flags: %s",
                      s.vq->node_votes, s.vq->node_expected_votes, s.vq->total_votes, s.vq->quorum,
                      flag_names(s.vq->flags).c_str());
        o += buf;
    } else if (!s.quorum_note.empty()) {
        o += st.dim("; votequorum: " + s.quorum_note);
    }
    o += "\n";
    o += st.bold("CPG groups:  ");
    if (!s.groups) {
        o += st.dim(s.cpg_note) + "\n";
    } else {
        o += std::to_string(s.groups->size()) + "\n";
        for (const auto& g : *s.groups) {
            std::string line = "  " + pad(g.name, 24) + std::to_string(g.members.size()) +
                               (g.members.size() == 1 ? " member: " : " members:");
            for (const auto& m : g.members)
                line += " " + std::to_string(m.nodeid) + "/" + std::to_string(m.pid);
            o += line + "\n";
        }
    }
    o += st.bold("Last change: ");
    if (s.last_change_cause) {
        o += *s.last_change_cause;
        if (s.config_changes)
            o += " (" + std::to_string(*s.config_changes) + " membership changes since start)";
    } else {
        o += st.dim("cause not published by this daemon");
    }
    o += "\n";
    return o;
}

// Writes the whole text with as few write() calls as it takes (one, normally).
void write_all(const std::string& text) {
    std::fflush(stdout);
    std::size_t done = 0;
    while (done < text.size()) {
        const ssize_t n = write(STDOUT_FILENO, text.data() + done, text.size() - done);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        done += static_cast<std::size_t>(n);
    }
}

int status(bool json, std::optional<double> watch_s, const std::string& colour) {
    const bool tty = isatty(STDOUT_FILENO) != 0;
    const Style st{totem::tools::use_colour(STDOUT_FILENO, colour) && !json};
    if (!watch_s) {
        auto s = collect();
        if (!s) {
            std::fprintf(stderr, "%s\n", kNoDaemon);
            return 1;
        }
        if (json)
            totem::tools::print_json(to_json(*s));
        else
            write_all(render(*s, st));
        return 0;
    }
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    while (!g_stop) {
        auto s = collect();
        if (json) {
            if (s) {
                totem::tools::print_json(to_json(*s));
            } else {
                Json d = totem::tools::json_doc("totemctl-status");
                d["error"] = kNoDaemon;
                totem::tools::print_json(d);
            }
        } else {
            std::string screen;
            if (tty)
                screen += "\033[H\033[2J";
            char head[128];
            const std::time_t t = std::time(nullptr);
            std::strftime(head, sizeof(head), "%Y-%m-%d %H:%M:%S", std::localtime(&t));
            char every[32];
            std::snprintf(every, sizeof(every), "%g", *watch_s);
            screen += st.dim(std::string("totemctl status --watch, every ") + every + "s, " + head +
                             " (Ctrl-C to quit)") +
                      "\n\n";
            screen += s ? render(*s, st) : std::string(kNoDaemon) + "\n";
            if (!tty)
                screen += "\n";
            write_all(screen);  // one write: a terminal never shows half a screen
        }
        const auto until = std::chrono::steady_clock::now() +
                           std::chrono::milliseconds(static_cast<long long>(*watch_s * 1000));
        while (!g_stop && std::chrono::steady_clock::now() < until)
            poll(nullptr, 0, 50);
    }
    return 0;
}

}  // namespace

int main(int argc, char* argv[]) {
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty()) {
        usage(stderr);
        return 2;
    }
    if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
        usage(stdout);
        return 0;
    }
    if (args[0] == "--version") {
        std::printf("totemctl %s (libtotem %s)\n", TOTEM_VERSION, totem::client::version());
        return 0;
    }
    if (args[0] != "status") {
        std::fprintf(stderr, "totemctl: unknown command '%s'\n", args[0].c_str());
        usage(stderr);
        return 2;
    }
    bool json = false;
    std::optional<double> watch;
    std::string colour = "auto";
    for (std::size_t i = 1; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a == "--json") {
            json = true;
        } else if (a == "--watch" || a == "-w") {
            watch = 2.0;
        } else if (a.rfind("--watch=", 0) == 0) {
            char* end = nullptr;
            const double v = std::strtod(a.c_str() + 8, &end);
            if (end == a.c_str() + 8 || *end != '\0' || !(v >= 0.1 && v <= 3600)) {
                std::fprintf(stderr, "totemctl: bad --watch interval '%s'\n", a.c_str() + 8);
                usage(stderr);
                return 2;
            }
            watch = v;
        } else if (a.rfind("--color=", 0) == 0 || a.rfind("--colour=", 0) == 0) {
            colour = a.substr(a.find('=') + 1);
            if (colour != "auto" && colour != "always" && colour != "never") {
                std::fprintf(stderr, "totemctl: bad --color value '%s'\n", colour.c_str());
                usage(stderr);
                return 2;
            }
        } else if (a == "--help" || a == "-h") {
            usage(stdout);
            return 0;
        } else {
            std::fprintf(stderr, "totemctl: unknown option '%s'\n", a.c_str());
            usage(stderr);
            return 2;
        }
    }
    return status(json, watch, colour);
}
