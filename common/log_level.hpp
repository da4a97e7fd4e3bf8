// Severity of a log line, in syslog's (and corosync's) order. Shared by every layer that emits
// log lines as values (the Totem core, the transports); engine/node maps them onto libqb.
#pragma once

#include <cstdint>

namespace totem {

enum class LogLevel : std::uint8_t {
    error = 3,
    warning = 4,
    notice = 5,
    info = 6,
    debug = 7,
    trace = 8
};

}  // namespace totem
