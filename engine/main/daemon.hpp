// The daemon proper: what totemd runs once its configuration has been read and checked.
//
// totemd.cpp parses the command line, loads and validates the configuration, handles the
// config-only modes (-t, --dump-config, -v) and otherwise calls run_daemon(), whose return
// value becomes the exit status.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "conf/config.hpp"
#include "conf/load.hpp"

namespace totem {

struct DaemonOptions {
    bool foreground = false;  // -f: stay in the foreground
    std::string config_path;  // -c: the file the Config came from
    bool debug = false;       // --debug: log at debug level whatever the file says
    // --state-dir: ring id file, blackbox, pid file. Unset: $TOTEMD_STATE_DIR, else
    // system.state_dir, else /var/lib/corosync (where corosync's tools look).
    std::optional<std::string> state_dir;
    std::optional<std::uint32_t> local_nodeid;  // --local-nodeid: "this" node given, not searched
    bool realtime = true;  // system.sched_rr applies unless -p (as corosync's -p)
};

// `load`: how the configuration was read, for re-reading it on a reload.
int run_daemon(const conf::Config& config, const DaemonOptions& options,
               const conf::LoadOptions& load);

}  // namespace totem
