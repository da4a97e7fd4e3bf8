// totemd: command line, configuration, and the config-only modes.
//
// - `totemd -t [-c FILE]`: check the configuration; print its problems or "Configuration is OK".
// - `totemd --dump-config [-c FILE]`: the cmap keys corosync 3.1.7 would make, one
//   `key (type) = value` per line.
// - `totemd [-f] [-c FILE]`: run the daemon (engine/main/daemon.hpp).
//
// Exit status: 0 fine, 2 configuration refused (each problem as FILE:LINE: message), 1 other.
#include <fmt/core.h>
#include <CLI/CLI.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "conf/load.hpp"
#include "engine/main/daemon.hpp"

namespace {

constexpr int kExitConfig = 2;
constexpr const char* kCorosyncConf = "/etc/corosync/corosync.conf";
constexpr const char* kTotemdYaml = "/etc/totemd/totemd.yaml";

// The config-derived prefixes; runtime.config.* is what corosync derives at start-up.
bool dumped(const std::string& key) {
    for (const char* p : {"totem.", "nodelist.", "quorum.", "logging.", "resources.", "system.",
                          "uidgid.", "runtime.config.", "nozzle.", "qb."})
        if (key.rfind(p, 0) == 0)
            return true;
    return false;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"totemd — a Totem group communication daemon, a drop-in for Corosync 3.1"};
    bool test_only = false, dump = false, version = false, foreground = false, debug = false;
    bool no_realtime = false;
    std::string config_path, hosts_file, default_authkey;
    std::optional<std::string> state_dir;
    std::optional<std::uint32_t> local_nodeid;
    app.add_flag("-t", test_only, "Test the configuration and exit");
    app.add_flag("--dump-config", dump, "Print the configuration's cmap keys and exit");
    app.add_option("-c", config_path, "Configuration file (corosync.conf or .yaml)");
    app.add_flag("-f", foreground, "Stay in the foreground");
    app.add_flag("-v", version, "Print the version and exit");
    app.add_flag("--debug", debug, "Log at debug level");
    app.add_flag("-p", no_realtime, "Do not set the round-robin realtime scheduler (SCHED_RR)");
    app.add_option("--state-dir", state_dir,
                   "Directory for per-node state (default: system.state_dir, else "
                   "/var/lib/corosync)");
    app.add_option("--local-nodeid", local_nodeid,
                   "This node's nodeid (instead of searching the local addresses)");
    app.add_option("--hosts", hosts_file,
                   "Resolve node names from this hosts-format file instead of the system resolver")
        ->group("");
    app.add_option("--default-authkey", default_authkey,
                   "The key file used when crypto is on and the config names none")
        ->group("");
    CLI11_PARSE(app, argc, argv);

    if (version) {
        fmt::print("totemd {} (corosync 3.1.7 compatible)\n", TOTEMD_VERSION);
        return 0;
    }
    if (config_path.empty()) {
        std::error_code ec;
        config_path = std::filesystem::exists(kCorosyncConf, ec) ? kCorosyncConf : kTotemdYaml;
    }

    totem::conf::LoadOptions opts;
    opts.derive.local_nodeid = local_nodeid;
    // As logsys does (fopen "a+"): the file is created if it is missing.
    opts.derive.open_logfile =
        [](const std::string& path) -> std::optional<std::pair<std::string, int>> {
        int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
        if (fd < 0) {
            int err = errno;
            return std::pair{std::string(std::strerror(err)), err};
        }
        ::close(fd);
        return std::nullopt;
    };
    if (!default_authkey.empty())
        opts.derive.default_keyfile = default_authkey;
    if (!hosts_file.empty()) {
        std::ifstream in(hosts_file);
        if (!in) {
            fmt::print(stderr, "totemd: cannot read {}\n", hosts_file);
            return 1;
        }
        std::stringstream ss;
        ss << in.rdbuf();
        totem::conf::HostEnv host = totem::conf::system_host();
        host.resolve = totem::conf::hosts_file_resolver(ss.str());
        host.reverse = nullptr;
        opts.host = host;
    }

    auto loaded = totem::conf::load_file(config_path, opts);
    if (!loaded) {
        fmt::print(stderr, "{}\n", loaded.error().str());
        return kExitConfig;
    }
    for (const auto& w : loaded->warnings)
        fmt::print(stderr, "{}: warning: {}\n", w.file + ":" + std::to_string(w.line), w.message);

    if (test_only) {
        fmt::print("Configuration is OK\n");
        return 0;
    }
    if (dump) {
        std::string out;
        for (const auto& [k, v] : loaded->config.keys)
            if (dumped(k))
                out += fmt::format("{} ({}) = {}\n", k, totem::conf::type_name(v.type), v.text());
        std::fwrite(out.data(), 1, out.size(), stdout);
        return 0;
    }
    totem::DaemonOptions d;
    d.foreground = foreground;
    d.config_path = config_path;
    d.debug = debug;
    d.state_dir = state_dir;
    d.local_nodeid = local_nodeid;
    d.realtime = !no_realtime;
    return totem::run_daemon(loaded->config, d, opts);
}
