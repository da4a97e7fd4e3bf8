#include "engine/node/log.hpp"

#include <cstdio>

#include <qb/qblog.h>
#include <syslog.h>

#include <array>
#include <map>

namespace totem::node {

namespace {

// Subsystem names, as corosync tags them; the tag is the index. %6g prints the padded name.
// Tag 0 is what libqb's own lines carry ("server name: cmap"): corosync shows them as QB.
constexpr std::array<const char*, 12> kSubsystems = {"QB",     "MAIN",  "TOTEM", "KNET",
                                                     "QUORUM", "CPG",   "CMAP",  "CFG",
                                                     "VOTEQ",  "PLOAD", "SYNC",  "SERV"};
constexpr uint32_t kMainTag = 1;

const char* tag_name(uint32_t tags) {
    return tags < kSubsystems.size() ? kSubsystems[tags] : "MAIN";
}

uint32_t tag_of(std::string_view subsys) {
    for (uint32_t i = 1; i < kSubsystems.size(); ++i)
        if (subsys == kSubsystems[i])
            return i;
    return kMainTag;
}

uint8_t priority_from(const std::string& name, uint8_t fallback) {
    static const std::map<std::string, uint8_t> names = {
        {"alert", LOG_ALERT}, {"crit", LOG_CRIT},       {"err", LOG_ERR},
        {"error", LOG_ERR},   {"warning", LOG_WARNING}, {"notice", LOG_NOTICE},
        {"info", LOG_INFO},   {"debug", LOG_DEBUG},     {"trace", LOG_TRACE}};
    auto it = names.find(name);
    return it == names.end() ? fallback : it->second;
}

int facility_from(const std::string& name) {
    static const std::map<std::string, int> names = {
        {"daemon", LOG_DAEMON}, {"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1},
        {"local2", LOG_LOCAL2}, {"local3", LOG_LOCAL3}, {"local4", LOG_LOCAL4},
        {"local5", LOG_LOCAL5}, {"local6", LOG_LOCAL6}, {"local7", LOG_LOCAL7}};
    auto it = names.find(name);
    return it == names.end() ? LOG_DAEMON : it->second;
}

uint8_t debug_priority(std::optional<conf::DebugLevel> d, uint8_t normal) {
    if (!d)
        return normal;
    switch (*d) {
        case conf::DebugLevel::Off:
            return normal;
        case conf::DebugLevel::On:
            return LOG_DEBUG;
        case conf::DebugLevel::Trace:
            return LOG_TRACE;
    }
    return normal;
}

void add_filters(int target, uint8_t priority, const conf::Logging& logging) {
    qb_log_filter_ctl(target, QB_LOG_FILTER_CLEAR_ALL, QB_LOG_FILTER_FILE, "*", LOG_TRACE);
    qb_log_filter_ctl(target, QB_LOG_FILTER_ADD, QB_LOG_FILTER_FILE, "*", priority);
    for (const auto& [subsys, t] : logging.subsys) {
        uint8_t p = debug_priority(t.debug, priority);
        if (p != priority)
            qb_log_filter_ctl(target, QB_LOG_FILTER_ADD, QB_LOG_FILTER_FILE, subsys.c_str(), p);
    }
}

bool g_open = false;
int g_file_target = -1;

}  // namespace

std::string Logger::init(const conf::Logging& logging, bool foreground, const char* name) {
    qb_log_init(name, facility_from(logging.syslog_facility), LOG_INFO);
    qb_log_tags_stringify_fn_set(tag_name);
    g_open = true;

    std::string ts;
    if (logging.timestamp == "on")
        ts = "%t ";
    if (logging.timestamp == "hires")
        ts = "%T ";
    const std::string line = ts + "[%P] %H %N %7p [%6g] %b";
    const uint8_t base = debug_priority(logging.debug, LOG_INFO);

    qb_log_ctl(QB_LOG_STDERR, QB_LOG_CONF_ENABLED,
               (foreground && logging.to_stderr) ? QB_TRUE : QB_FALSE);
    qb_log_format_set(QB_LOG_STDERR, line.c_str());
    add_filters(QB_LOG_STDERR, base, logging);

    qb_log_ctl(QB_LOG_SYSLOG, QB_LOG_CONF_ENABLED, logging.to_syslog ? QB_TRUE : QB_FALSE);
    qb_log_format_set(QB_LOG_SYSLOG, "[%g] %b");
    add_filters(QB_LOG_SYSLOG, std::max(base, priority_from(logging.syslog_priority, LOG_INFO)),
                logging);

    std::string error;
    if (logging.to_logfile && !logging.logfile.empty()) {
        int t = qb_log_file_open(logging.logfile.c_str());
        if (t < 0) {
            error = "Can't open logfile '" + logging.logfile + "' for logging";
        } else {
            g_file_target = t;
            qb_log_ctl(t, QB_LOG_CONF_ENABLED, QB_TRUE);
            // Each line is flushed (libqb fflush()es every line) but not fsync()ed, as in
            // corosync: an fsync per line blocks the one thread for milliseconds whenever the
            // disk is busy (Pacemaker writes its CIB with fsync), delaying tokens and sync.
            qb_log_format_set(t, line.c_str());
            add_filters(t, std::max(base, priority_from(logging.logfile_priority, LOG_INFO)),
                        logging);
        }
    }

    // The flight recorder keeps everything up to debug, whatever the targets show.
    if (logging.blackbox) {
        qb_log_ctl(QB_LOG_BLACKBOX, QB_LOG_CONF_SIZE, 8 * 1024 * 1024);
        qb_log_filter_ctl(QB_LOG_BLACKBOX, QB_LOG_FILTER_ADD, QB_LOG_FILTER_FILE, "*", LOG_DEBUG);
        qb_log_ctl(QB_LOG_BLACKBOX, QB_LOG_CONF_ENABLED, QB_TRUE);
    }
    return error;
}

bool Logger::reopen() {
    if (!g_open || g_file_target < 0)
        return true;  // corosync: nothing to reopen is a success
    return qb_log_file_reopen(g_file_target, nullptr) == 0;
}

void Logger::reconfigure(const conf::Logging& logging) {
    if (!g_open)
        return;
    const uint8_t base = debug_priority(logging.debug, LOG_INFO);
    add_filters(QB_LOG_STDERR, base, logging);
    add_filters(QB_LOG_SYSLOG, std::max(base, priority_from(logging.syslog_priority, LOG_INFO)),
                logging);
    if (g_file_target >= 0)
        add_filters(g_file_target,
                    std::max(base, priority_from(logging.logfile_priority, LOG_INFO)), logging);
}

void Logger::log(LogLevel level, std::string_view subsys, std::string_view message) {
    const std::string sub(subsys);
    const std::string msg(message);
    if (!g_open) {
        std::fprintf(stderr, "[%-6s] %s\n", sub.c_str(), msg.c_str());
        return;
    }
    // The subsystem name doubles as the "file" so that logger_subsys filters select it.
    qb_log_from_external_source(sub.c_str(), sub.c_str(), "%s", static_cast<uint8_t>(level), 1,
                                tag_of(subsys), msg.c_str());
}

bool Logger::dump_blackbox(const std::string& path) {
    // Written beside the target and renamed over it, so that a reader (qb-blackbox, a test
    // polling for the file) never sees a dump half written.
    const std::string tmp = path + ".tmp";
    if (qb_log_blackbox_write_to_file(tmp.c_str()) <= 0)
        return false;
    return std::rename(tmp.c_str(), path.c_str()) == 0;
}

void Logger::close() {
    if (g_open)
        qb_log_fini();
    g_open = false;
}

}  // namespace totem::node
