// totem-cpgtool: corosync-cpgtool's flags, output, error lines and exit codes
// (tools/corosync-cpgtool.c of corosync 3.1.7), on libtotem. --json prints the groups and
// their members (schema totem-cpgtool/1, docs/tools-json.md).
#include <libgen.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "tools/common/util.hpp"
#include "totem/client.hpp"

using namespace totem::client;
using totem::tools::Json;

namespace {

std::optional<Cfg> cfg_handle;
std::optional<Cpg> cpg_handle;
bool g_json = false;

int cs(const std::error_code& ec) {
    return ec ? ec.value() : 1;
}

std::vector<std::string> addrs_of(unsigned int nodeid, std::vector<bool>* slot_used = nullptr) {
    std::vector<std::string> out;
    auto addrs = cfg_handle->node_addrs(nodeid);
    if (!addrs)
        return out;
    for (std::size_t i = 0; i < addrs->size() && i < 8; i++) {
        out.push_back((*addrs)[i].family ? (*addrs)[i].str() : std::string());
        if (slot_used)
            slot_used->push_back((*addrs)[i].family != 0);
    }
    return out;
}

void fprint_addrs(FILE* f, unsigned int nodeid) {
    std::vector<bool> used;
    const auto list = addrs_of(nodeid, &used);
    for (std::size_t i = 0; i < list.size(); i++) {
        if (!used[i])
            continue;
        if (i != 0)
            std::fprintf(f, " ");
        std::fprintf(f, "%s", list[i].c_str());
    }
}

void fprint_group(FILE* f, bool escape, const std::string& group) {
    for (const char c : group) {
        if (!escape || (c >= ' ' && c < 0x7f && c != '\\')) {
            std::fputc(c, f);
        } else if (c == '\\') {
            std::fprintf(f, "\\\\");
        } else {
            std::fprintf(f, "\\x%02X", static_cast<unsigned int>(static_cast<int>(c)));
        }
    }
}

Json json_doc() {
    return totem::tools::json_doc("totem-cpgtool");
}

int display_groups(char delimiter, bool escape) {
    auto iter = cpg_handle->iteration_initialize(Cpg::Iteration::name_only);
    if (!iter) {
        std::fprintf(stderr, "Cannot initialize cpg iterator error %d\n", cs(iter.error()));
        if (g_json) {
            Json d = json_doc();
            d["ok"] = false;
            d["error"] = totem::tools::json_error(iter.error());
            totem::tools::print_json(d);
        }
        return 0;
    }
    Json groups = Json::array();
    for (;;) {
        auto e = cpg_handle->iteration_next(*iter);
        if (!e || !e->has_value())
            break;
        if (g_json) {
            Json g = Json::object();
            g["name"] = (*e)->group;
            groups.push_back(g);
            continue;
        }
        fprint_group(stdout, escape, (*e)->group);
        std::fputc(delimiter ? delimiter : '\n', stdout);
    }
    if (delimiter && !g_json)
        std::putc('\n', stdout);
    (void)cpg_handle->iteration_finalize(*iter);
    if (g_json) {
        Json d = json_doc();
        d["ok"] = true;
        d["groups"] = groups;
        totem::tools::print_json(d);
    }
    return 1;
}

int display_groups_with_members(char delimiter, bool escape) {
    auto iter = cpg_handle->iteration_initialize(Cpg::Iteration::all);
    if (!iter) {
        std::fprintf(stderr, "Cannot initialize cpg iterator error %d\n", cs(iter.error()));
        if (g_json) {
            Json d = json_doc();
            d["ok"] = false;
            d["error"] = totem::tools::json_error(iter.error());
            totem::tools::print_json(d);
        }
        return 0;
    }
    if (!g_json) {
        if (delimiter)
            std::fprintf(stdout, "GRP_NAME%cPID%cNODEID\n", delimiter, delimiter);
        else
            std::fprintf(stdout, "Group Name\t%10s\t%10s\n", "PID", "Node ID");
    }
    // The members of a group come one after another in the iteration (the tool relies on it).
    std::optional<std::string> old_group;  // --json
    std::string old_text_group;            // starts empty, as corosync-cpgtool's zeroed name
    Json groups = Json::array();
    Json current;
    std::error_code res;
    for (;;) {
        auto e = cpg_handle->iteration_next(*iter);
        if (!e) {
            res = e.error();
            break;
        }
        if (!e->has_value())
            break;
        const Cpg::GroupMember& m = **e;
        if (g_json) {
            if (!old_group || *old_group != m.group) {
                if (old_group)
                    groups.push_back(current);
                current = Json::object();
                current["name"] = m.group;
                current["members"] = Json::array();
                old_group = m.group;
            }
            Json member = Json::object();
            member["pid"] = m.pid;
            member["nodeid"] = m.nodeid;
            Json addrs = Json::array();
            for (const auto& a : addrs_of(m.nodeid))
                if (!a.empty())
                    addrs.push_back(a);
            member["addresses"] = addrs;
            current["members"].push_back(member);
            continue;
        }
        if (!delimiter && old_text_group != m.group) {
            fprint_group(stdout, escape, m.group);
            std::fprintf(stdout, "\n");
            old_text_group = m.group;
        }
        if (!delimiter) {
            std::fprintf(stdout, "\t\t%10u\t%10u (", m.pid, m.nodeid);
            fprint_addrs(stdout, m.nodeid);
            std::fprintf(stdout, ")\n");
        } else {
            fprint_group(stdout, escape, m.group);
            std::fprintf(stdout, "%c%u%c%u\n", delimiter, m.pid, delimiter, m.nodeid);
        }
    }
    if (res) {
        std::fprintf(stderr, "cpg iteration error %d\n", cs(res));
        if (g_json) {
            Json d = json_doc();
            d["ok"] = false;
            d["error"] = totem::tools::json_error(res);
            totem::tools::print_json(d);
        }
        return 0;
    }
    (void)cpg_handle->iteration_finalize(*iter);
    if (g_json) {
        if (old_group)
            groups.push_back(current);
        Json d = json_doc();
        d["ok"] = true;
        d["groups"] = groups;
        totem::tools::print_json(d);
    }
    return 1;
}

void usage_do(const char* prog_name) {
    std::printf("%s [-d delimiter] [-e] [-n] [-h]\n\n", prog_name);
    std::printf("A tool for displaying cpg groups and members.\n");
    std::printf("options:\n");
    std::printf("\t-d\tDelimiter between fields.\n");
    std::printf("\t-e\tDon't escape unprintable characters in group name.\n");
    std::printf("\t-n\tDisplay only all existing group names.\n");
    std::printf("\t-h\tDisplay this help.\n");
    // totemd's additions, after corosync-cpgtool's text.
    std::printf("\t--json\tPrint the groups as JSON (schema totem-cpgtool/1).\n");
    std::printf("\t--help\tDisplay this help.\n");
}

}  // namespace

int main(int argc, char* argv[]) {
    std::vector<char*> args;
    g_json = totem::tools::take_flag(argc, argv, args, "--json");
    const char* prog_name = basename(argv[0]);
    std::vector<char*> args2;
    if (totem::tools::take_flag(argc, argv, args2, "--help")) {
        usage_do(prog_name);
        return EXIT_SUCCESS;
    }
    const char* options = "hd:ne";
    char delimiter = 0;
    bool escape = true;
    bool names_only = false;
    int opt;
    while ((opt = getopt(argc, argv, options)) != -1) {
        switch (opt) {
            case 'd':
                if (std::strlen(optarg) > 0)
                    delimiter = optarg[0];
                break;
            case 'n':
                names_only = true;
                break;
            case 'e':
                escape = false;
                break;
            case 'h':
                usage_do(prog_name);
                return EXIT_SUCCESS;
            case '?':
            case ':':
                return EXIT_FAILURE;
            default:
                break;
        }
    }
    auto cpg = Cpg::connect();
    if (!cpg) {
        std::fprintf(stderr, "Could not initialize corosync cpg API error %d\n", cs(cpg.error()));
        if (g_json) {
            Json d = json_doc();
            d["ok"] = false;
            d["error"] = totem::tools::json_error(cpg.error());
            totem::tools::print_json(d);
        }
        return EXIT_FAILURE;
    }
    cpg_handle.emplace(std::move(*cpg));
    auto cfg = Cfg::connect();
    if (!cfg) {
        std::fprintf(stderr, "Could not initialize corosync configuration API error %d\n",
                     cs(cfg.error()));
        if (g_json) {
            Json d = json_doc();
            d["ok"] = false;
            d["error"] = totem::tools::json_error(cfg.error());
            totem::tools::print_json(d);
        }
        return EXIT_FAILURE;
    }
    cfg_handle.emplace(std::move(*cfg));
    const int result = names_only ? display_groups(delimiter, escape)
                                  : display_groups_with_members(delimiter, escape);
    cpg_handle.reset();  // cpg_finalize
    cfg_handle.reset();
    return result ? EXIT_SUCCESS : EXIT_FAILURE;
}
