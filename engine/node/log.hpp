// Logging for the daemon: corosync's logging section on libqb's log targets (stderr, file,
// syslog) plus the blackbox flight recorder, which keeps the last debug-level lines in memory
// and is written to a file on request (SIGUSR2, `runtime.blackbox.dump_flight_data`) and after
// a crash. Lines read like corosync's: "[TOTEM ] A new membership (1.c) was formed. ...".
//
// Single-threaded: called from the node's loop (libqb's targets are not threaded here).
#pragma once

#include <string>
#include <string_view>

#include "common/log_level.hpp"
#include "conf/config.hpp"

namespace totem::node {

class Logger {
  public:
    // Opens the targets the logging section asks for. `name` is the %N of every line.
    // Returns an error text (unopenable log file) instead of throwing.
    static std::string init(const conf::Logging& logging, bool foreground,
                            const char* name = "totemd");
    static void log(LogLevel level, std::string_view subsys, std::string_view message);
    // Writes the flight recorder to `path` (readable with qb-blackbox). Async-signal-safe use
    // is limited to the crash handler, which calls libqb directly.
    static bool dump_blackbox(const std::string& path);
    // Reopens the log file (corosync-cfgtool -L, after logrotate); false on failure.
    static bool reopen();
    // A reloaded logging section: the levels and subsystem filters of every target.
    static void reconfigure(const conf::Logging& logging);
    static void close();
};

}  // namespace totem::node
