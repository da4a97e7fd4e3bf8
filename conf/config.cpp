#include "conf/config.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

namespace totem::conf {

const NodeEntry* Config::local_node() const {
    if (!local_node_pos)
        return nullptr;
    for (const auto& n : nodes)
        if (n.pos == *local_node_pos)
            return &n;
    return nullptr;
}

namespace {

constexpr std::size_t kPrivateKeyMax = 4096;  // TOTEM_PRIVATE_KEY_LEN_MAX (KNET_MAX_KEY_LEN)
constexpr std::size_t kPrivateKeyMin = 128;   // TOTEM_PRIVATE_KEY_LEN_MIN (KNET_MIN_KEY_LEN)
constexpr std::size_t kLinkModeBytes = 64;    // TOTEM_LINK_MODE_BYTES

struct Ctx {
    const std::string& file;
    Cmap& keys;
    const std::map<std::string, int>& section_lines;
    std::vector<Diag>& warnings;
    const DeriveOptions& opts;

    int section_line(const std::string& s) const {
        auto it = section_lines.find(s);
        return it == section_lines.end() ? 0 : it->second;
    }
    // The line of a key, else of its section, else of the top-level section, else 1.
    int line_of(const std::string& key, const std::string& section = {}) const {
        if (auto it = keys.find(key); it != keys.end() && it->second.line > 0)
            return it->second.line;
        if (!section.empty())
            if (int l = section_line(section))
                return l;
        std::string top = key.substr(0, key.find('.'));
        if (int l = section_line(top))
            return l;
        return 1;
    }
    Diag err(int line, std::string msg) const { return Diag{file, line, std::move(msg)}; }
    void warn(int line, std::string msg) { warnings.push_back(Diag{file, line, std::move(msg)}); }

    const CmapValue* get(const std::string& k) const {
        auto it = keys.find(k);
        return it == keys.end() ? nullptr : &it->second;
    }
    std::optional<std::string> str(const std::string& k) const {
        auto v = get(k);
        if (!v || v->type != ValueType::Str)
            return std::nullopt;
        return v->str;
    }
    // icmap_get_uint32 succeeds only when the stored type is u32.
    std::optional<std::uint32_t> u32(const std::string& k) const {
        auto v = get(k);
        if (!v || v->type != ValueType::U32)
            return std::nullopt;
        return static_cast<std::uint32_t>(v->u);
    }
    std::optional<std::uint8_t> u8(const std::string& k) const {
        auto v = get(k);
        if (!v || v->type != ValueType::U8)
            return std::nullopt;
        return static_cast<std::uint8_t>(v->u);
    }
    std::optional<std::uint16_t> u16(const std::string& k) const {
        auto v = get(k);
        if (!v || v->type != ValueType::U16)
            return std::nullopt;
        return static_cast<std::uint16_t>(v->u);
    }
    void set_u32(const std::string& k, std::uint32_t v) {
        keys[k] = CmapValue::uint(ValueType::U32, v);
    }
};

// Splits nodelist.node.<pos>.<rest>; false when the key has another shape.
bool node_key(const std::string& key, unsigned& pos, std::string& rest) {
    static const std::string prefix = "nodelist.node.";
    if (key.compare(0, prefix.size(), prefix) != 0)
        return false;
    std::size_t p = prefix.size(), q = p;
    while (q < key.size() && key[q] >= '0' && key[q] <= '9')
        ++q;
    if (q == p || q >= key.size() || key[q] != '.' || q - p > 9)
        return false;
    pos = static_cast<unsigned>(std::stoul(key.substr(p, q - p)));
    rest = key.substr(q + 1);
    return !rest.empty();
}

// "ring<N>_addr" → N (sscanf "ring%u%s" with the rest equal to "_addr")
std::optional<unsigned> ring_number(const std::string& rest) {
    if (rest.compare(0, 4, "ring") != 0)
        return std::nullopt;
    std::size_t q = 4;
    while (q < rest.size() && rest[q] >= '0' && rest[q] <= '9')
        ++q;
    if (q == 4 || q - 4 > 9 || rest.substr(q) != "_addr")
        return std::nullopt;
    return static_cast<unsigned>(std::stoul(rest.substr(4, q - 4)));
}

// find_local_node's name match (nodelist_byname): name or ring0_addr equal to `find`, in
// icmap key order; with strip_domain the configured names are cut at their first dot.
std::optional<unsigned> node_by_name(const Ctx& c, const std::string& find, bool strip_domain) {
    for (const auto& [k, v] : c.keys) {
        unsigned pos = 0;
        std::string rest;
        if (!node_key(k, pos, rest) || (rest != "name" && rest != "ring0_addr"))
            continue;
        if (v.type != ValueType::Str)
            continue;
        std::string name = v.str;
        if (strip_domain)
            name = name.substr(0, name.find('.'));
        if (name == find)
            return pos;
    }
    return std::nullopt;
}

std::optional<unsigned> find_local_node(const Ctx& c, const HostEnv& host) {
    const std::string& node = host.hostname;
    if (!node.empty()) {
        if (auto p = node_by_name(c, node, false))
            return p;
        std::string n2 = node;
        for (std::size_t dot = n2.rfind('.'); dot != std::string::npos; dot = n2.rfind('.')) {
            n2.resize(dot);
            if (auto p = node_by_name(c, n2, false))
                return p;
        }
        if (auto p = node_by_name(c, n2, true))
            return p;
    }
    for (const auto& a : host.local_addrs) {
        if (host.reverse) {
            if (auto name = host.reverse(a)) {
                if (auto p = node_by_name(c, *name, false))
                    return p;
                if (auto dot = name->find('.'); dot != std::string::npos)
                    if (auto p = node_by_name(c, name->substr(0, dot), false))
                        return p;
            }
        }
        // corosync asks getnameinfo with sizeof(struct sockaddr), which only fits IPv4.
        if (a.family == AF_INET)
            if (auto p = node_by_name(c, a.str(), false))
                return p;
    }
    for (const auto& [k, v] : c.keys) {
        unsigned pos = 0;
        std::string rest;
        if (!node_key(k, pos, rest) || (rest != "name" && rest != "ring0_addr"))
            continue;
        if (v.type != ValueType::Str || !host.resolve)
            continue;
        for (const auto& r : host.resolve(v.str))
            for (const auto& l : host.local_addrs)
                if (r == l)
                    return pos;
    }
    return std::nullopt;
}

// generate_nodeid: the IPv4 ring0 address in host order; nullopt for anything else.
std::optional<std::uint32_t> generate_nodeid(const HostEnv& host, const std::string& addr,
                                             bool clear_high_bit) {
    auto a = resolve_address(host, addr, IpVersion::V4);
    if (!a)
        return std::nullopt;
    std::uint32_t id = (std::uint32_t{a->bytes[0]} << 24) | (std::uint32_t{a->bytes[1]} << 16) |
                       (std::uint32_t{a->bytes[2]} << 8) | std::uint32_t{a->bytes[3]};
    if (clear_high_bit)
        id &= 0x7FFFFFFF;
    return id;
}

std::optional<Diag> read_keyfile(const Ctx& c, int line, const std::string& path,
                                 std::string& key_out) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return c.err(line, "Could not open " + path + ": " + std::strerror(errno));
    std::string buf(kPrivateKeyMax, '\0');
    ssize_t n = ::read(fd, buf.data(), buf.size());
    int saved = errno;
    ::close(fd);
    if (n < 0)
        return c.err(line, "Could not read " + path + ": " + std::strerror(saved));
    if (static_cast<std::size_t>(n) < kPrivateKeyMin)
        return c.err(line, "Could only read " + std::to_string(n * 8) + " bits of minimum " +
                               std::to_string(kPrivateKeyMin * 8) + " bits from " + path + ".");
    buf.resize(static_cast<std::size_t>(n));
    key_out = std::move(buf);
    return std::nullopt;
}

bool parse_bool_onoff(const std::string& v, bool& out) {
    if (v == "yes" || v == "on") {
        out = true;
        return true;
    }
    if (v == "no" || v == "off") {
        out = false;
        return true;
    }
    return false;
}

bool valid_priority(const std::string& v) {
    static const std::set<std::string> names{"alert", "crit", "debug",  "emerg",  "err",
                                             "error", "info", "notice", "warning"};
    return names.count(v) > 0;
}

bool valid_facility(const std::string& v) {
    static const std::set<std::string> names{"auth",   "authpriv", "cron",   "daemon", "ftp",
                                             "kern",   "lpr",      "mail",   "news",   "syslog",
                                             "user",   "uucp",     "local0", "local1", "local2",
                                             "local3", "local4",   "local5", "local6", "local7"};
    return names.count(v) > 0;
}

// exec/logconfig.c corosync_main_config_set for one path ("logging" or a logger_subsys).
std::optional<Diag> read_log_target(Ctx& c, const std::string& path, LogTarget& t) {
    auto key = [&](const char* k) { return path + "." + k; };
    auto dest = [&](const char* k, std::optional<bool>& slot) -> std::optional<Diag> {
        if (auto v = c.str(key(k))) {
            bool b = false;
            if (!parse_bool_onoff(*v, b))
                return c.err(c.line_of(key(k)), std::string("unknown value for ") + k);
            slot = b;
        }
        return std::nullopt;
    };
    if (auto e = dest("to_stderr", t.to_stderr))
        return e;
    if (auto e = dest("to_syslog", t.to_syslog))
        return e;
    if (auto v = c.str(key("syslog_facility"))) {
        if (!valid_facility(*v))
            return c.err(c.line_of(key("syslog_facility")), "unknown syslog facility specified");
        t.syslog_facility = *v;
    }
    if (auto v = c.str(key("syslog_level"))) {
        c.warn(c.line_of(key("syslog_level")),
               "the syslog_level config parameter has been obsoleted; use syslog_priority");
        if (!valid_priority(*v))
            return c.err(c.line_of(key("syslog_level")), "unknown syslog level specified");
        t.syslog_priority = *v;
    }
    if (auto v = c.str(key("syslog_priority"))) {
        if (!valid_priority(*v))
            return c.err(c.line_of(key("syslog_priority")), "unknown syslog priority specified");
        t.syslog_priority = *v;
    }
    if (auto v = c.str(key("logfile"))) {
        t.logfile = *v;
        // logsys opens the file as soon as it reads the key, whatever to_logfile says.
        if (c.opts.open_logfile)
            if (auto why = c.opts.open_logfile(*v))
                return c.err(c.line_of(key("logfile")), "Can't open logfile '" + *v +
                                                            "' for reason: " + why->first + " (" +
                                                            std::to_string(why->second) + ")");
    }
    if (c.str(key("to_file")))
        c.warn(c.line_of(key("to_file")),
               "the to_file config parameter has been obsoleted; use to_logfile");
    if (auto e = dest("to_file", t.to_logfile))
        return e;
    if (auto e = dest("to_logfile", t.to_logfile))
        return e;
    if (auto v = c.str(key("logfile_priority"))) {
        if (!valid_priority(*v))
            return c.err(c.line_of(key("logfile_priority")), "unknown logfile priority specified");
        t.logfile_priority = *v;
    }
    if (auto v = c.str(key("debug"))) {
        if (*v == "trace")
            t.debug = DebugLevel::Trace;
        else if (*v == "on")
            t.debug = DebugLevel::On;
        else if (*v == "off")
            t.debug = DebugLevel::Off;
        else
            return c.err(c.line_of(key("debug")), "unknown value for debug");
    }
    return std::nullopt;
}

std::optional<Diag> read_logging(Ctx& c, Logging& lg) {
    auto onoff = [&](const char* k, bool& slot) -> std::optional<Diag> {
        std::string key = std::string("logging.") + k;
        if (auto v = c.str(key)) {
            if (*v == "on")
                slot = true;
            else if (*v == "off")
                slot = false;
            else
                return c.err(c.line_of(key), std::string("unknown value for ") + k);
        }
        return std::nullopt;
    };
    if (auto e = onoff("fileline", lg.fileline))
        return e;
    if (auto e = onoff("function_name", lg.function_name))
        return e;
    if (auto v = c.str("logging.timestamp")) {
        if (*v != "on" && *v != "hires" && *v != "off")
            return c.err(c.line_of("logging.timestamp"), "unknown value for timestamp");
        lg.timestamp = *v;
    }
    if (auto e = onoff("blackbox", lg.blackbox))
        return e;
    LogTarget top;
    if (auto e = read_log_target(c, "logging", top))
        return e;
    lg.to_stderr = top.to_stderr.value_or(true);
    lg.to_syslog = top.to_syslog.value_or(true);
    lg.to_logfile = top.to_logfile.value_or(false);
    lg.logfile = top.logfile.value_or("");
    lg.syslog_facility = top.syslog_facility.value_or("daemon");
    lg.syslog_priority = top.syslog_priority.value_or("info");
    lg.logfile_priority = top.logfile_priority.value_or("info");
    lg.debug = top.debug.value_or(DebugLevel::Off);
    static const std::string prefix = "logging.logger_subsys.";
    std::vector<std::string> subsystems;
    for (const auto& [k, v] : c.keys) {
        if (k.compare(0, prefix.size(), prefix) != 0)
            continue;
        std::string rest = k.substr(prefix.size());
        auto dot = rest.find('.');
        if (dot == std::string::npos || rest.substr(dot + 1) != "subsys")
            continue;
        subsystems.push_back(rest.substr(0, dot));
    }
    for (const auto& s : subsystems) {
        LogTarget t;
        if (auto e = read_log_target(c, prefix + s, t))
            return e;
        lg.subsys.emplace_back(s, t);
    }
    return std::nullopt;
}

void read_quorum(const Ctx& c, Quorum& q) {
    q.provider = c.str("quorum.provider").value_or("");
    q.expected_votes = c.u32("quorum.expected_votes");
    q.two_node = c.u8("quorum.two_node").value_or(0) != 0;
    q.wait_for_all = c.u8("quorum.wait_for_all").value_or(q.two_node ? 1 : 0) != 0;
    q.last_man_standing = c.u8("quorum.last_man_standing").value_or(0) != 0;
    q.last_man_standing_window_ms = c.u32("quorum.last_man_standing_window").value_or(10000);
    q.auto_tie_breaker = c.u8("quorum.auto_tie_breaker").value_or(0) != 0;
    q.auto_tie_breaker_node = c.str("quorum.auto_tie_breaker_node").value_or("lowest");
    q.allow_downscale = c.u8("quorum.allow_downscale").value_or(0) != 0;
    q.expected_votes_tracking = c.u8("quorum.expected_votes_tracking").value_or(0) != 0;
}

// exec/votequorum.c votequorum_readconfig at start-up: corosync -t does not run these, but a
// started corosync refuses to load votequorum (and exits) on each refusal below (checked).
std::optional<Diag> check_votequorum(Ctx& c, Config& cfg) {
    Quorum& q = cfg.quorum;
    const std::uint32_t expected = q.expected_votes.value_or(0);
    std::uint32_t node_expected_votes = 0;
    for (const auto& n : cfg.nodes)
        node_expected_votes += n.quorum_votes.value_or(1);
    const auto node_count = static_cast<std::uint32_t>(cfg.nodes.size());
    const bool have_qdevice = !c.str("quorum.device.model").value_or("").empty();
    const std::optional<std::uint32_t> qdevice_votes = c.u32("quorum.device.votes");
    const bool wfa_given = c.u8("quorum.wait_for_all").has_value();
    auto line = [&](const char* key) { return c.line_of(key, "quorum"); };
    const std::string pre = "configuration error: ";

    if (q.two_node && have_qdevice)
        return c.err(line("quorum.two_node"),
                     pre + "two_node and quorum device cannot be configured at the same time!");
    if (!wfa_given)
        q.wait_for_all = q.two_node;
    if (q.two_node && q.auto_tie_breaker) {
        c.warn(line("quorum.two_node"),
               "two_node and auto_tie_breaker are both specified but are not compatible; "
               "two_node has been disabled");
        q.two_node = false;
    }
    if (q.auto_tie_breaker && node_expected_votes % 2 && !q.wait_for_all) {
        if (q.last_man_standing)
            return c.err(line("quorum.last_man_standing"),
                         pre +
                             "auto_tie_breaker & last_man_standing not available in odd sized "
                             "cluster");
        c.warn(line("quorum.auto_tie_breaker"),
               "auto_tie_breaker is set and the cluster has an odd number of nodes: wait_for_all "
               "is needed, so auto_tie_breaker has been disabled");
        q.auto_tie_breaker = false;
    }
    if (have_qdevice && q.last_man_standing)
        return c.err(line("quorum.last_man_standing"),
                     pre + "quorum.device is not compatible with last_man_standing");
    if (have_qdevice && q.auto_tie_breaker)
        return c.err(line("quorum.auto_tie_breaker"),
                     pre + "quorum.device is not compatible with auto_tie_breaker");
    if (have_qdevice && q.allow_downscale)
        return c.err(line("quorum.allow_downscale"),
                     pre + "quorum.device is not compatible with allow_downscale");
    const int device_line = c.section_line("quorum.device") ? c.section_line("quorum.device")
                                                            : line("quorum.device.model");
    if (expected && have_qdevice && !qdevice_votes)
        return c.err(device_line, pre +
                                      "quorum.device.votes must be specified when "
                                      "quorum.expected_votes is set");
    if (have_qdevice && !qdevice_votes && node_count != node_expected_votes)
        return c.err(device_line,
                     pre + "quorum.device.votes must be specified when not all nodes votes 1");
    if (qdevice_votes && *qdevice_votes > 0 && expected) {
        const auto delta = static_cast<std::int32_t>(expected - *qdevice_votes);
        if (delta < 2)
            return c.err(line("quorum.device.votes"),
                         pre + "quorum.device.votes is too high or expected_votes is too low");
    }
    return std::nullopt;
}

// totem_volatile_config_read: every value, its default, and its runtime.config.totem key.
void read_volatile(Ctx& c, Totem& t, std::size_t ring0_members) {
    auto u32 = [&](const char* name, std::uint32_t def, bool allow_zero) {
        std::string key = std::string("totem.") + name;
        auto v = c.u32(key);
        std::uint32_t val = (!v || (!allow_zero && *v == 0)) ? def : *v;
        c.set_u32(std::string("runtime.config.totem.") + name, val);
        return val;
    };
    t.token_retransmits_before_loss_const = u32("token_retransmits_before_loss_const", 4, false);
    t.token_ms = u32("token", 3000, false);
    t.effective_token_ms = t.token_ms;
    t.token_warning_pct = u32("token_warning", 75, true);
    t.token_coefficient_ms = c.u32("totem.token_coefficient").value_or(650);
    if (ring0_members > 2) {
        t.effective_token_ms =
            t.token_ms + static_cast<std::uint32_t>(ring0_members - 2) * t.token_coefficient_ms;
        c.set_u32("runtime.config.totem.token", t.effective_token_ms);
    }
    const std::uint32_t token = t.effective_token_ms;
    t.max_network_delay_ms = u32("max_network_delay", 50, false);
    t.window_size = u32("window_size", 50, false);
    t.max_messages = u32("max_messages", 17, false);
    t.miss_count_const = u32("miss_count_const", 5, false);
    t.knet_pmtud_interval_s = u32("knet_pmtud_interval", 30, false);
    t.knet_mtu = u32("knet_mtu", 0, false);
    t.token_retransmit_ms = u32("token_retransmit",
                                static_cast<std::uint32_t>(static_cast<int>(
                                    token / (t.token_retransmits_before_loss_const + 0.2))),
                                false);
    t.hold_ms =
        u32("hold", static_cast<std::uint32_t>(static_cast<int>(t.token_retransmit_ms * 0.8 - 10)),
            false);
    t.join_ms = u32("join", 50, false);
    t.consensus_ms =
        u32("consensus",
            static_cast<std::uint32_t>(static_cast<int>(static_cast<float>(1.2 * token))), false);
    t.merge_ms = u32("merge", 200, false);
    t.downcheck_ms = u32("downcheck", 1000, false);
    t.fail_recv_const = u32("fail_recv_const", 2500, false);
    t.seqno_unchanged_const = u32("seqno_unchanged_const", 30, false);
    t.send_join_ms = u32("send_join", 0, true);
    t.heartbeat_failures_allowed = u32("heartbeat_failures_allowed", 0, true);
    t.knet_compression_threshold = u32("knet_compression_threshold", 0, true);
    {
        auto v = c.get("totem.knet_compression_level");
        t.knet_compression_level =
            (v && v->type == ValueType::I32) ? static_cast<std::int32_t>(v->i) : 0;
        c.keys["runtime.config.totem.knet_compression_level"] =
            CmapValue::sint(ValueType::I32, t.knet_compression_level);
    }
    t.knet_compression_model = c.str("totem.knet_compression_model").value_or("none");
    c.keys["runtime.config.totem.knet_compression_model"] =
        CmapValue::string(t.knet_compression_model);
    auto boolean = [&](const char* name, bool def) {
        bool val = def;
        if (auto v = c.str(std::string("totem.") + name)) {
            if (*v == "yes")
                val = true;
            if (*v == "no")
                val = false;
        }
        c.set_u32(std::string("runtime.config.totem.") + name, val ? 1 : 0);
        return val;
    };
    t.block_unlisted_ips = boolean("block_unlisted_ips", true);
    t.cancel_token_hold_on_retransmit = boolean("cancel_token_hold_on_retransmit", false);
}

// totem_volatile_config_validate: the first complaint, at the key's line.
std::optional<Diag> validate_volatile(const Ctx& c, const Totem& t) {
    auto min = [&](const char* key, std::uint32_t v, const char* what,
                   std::uint32_t minimum) -> std::optional<Diag> {
        if (v >= minimum)
            return std::nullopt;
        return c.err(c.line_of(std::string("totem.") + key, "totem"),
                     std::string("The ") + what + " parameter (" + std::to_string(v) +
                         " ms) may not be less than (" + std::to_string(minimum) + " ms).");
    };
    if (auto e = min("max_network_delay", t.max_network_delay_ms, "max_network_delay",
                     kMinimumTimeoutMs))
        return e;
    if (auto e = min("token", t.effective_token_ms, "token timeout", kMinimumTimeoutMs))
        return e;
    if (t.token_warning_pct > 100)
        return c.err(c.line_of("totem.token_warning", "totem"),
                     "The token warning parameter (" + std::to_string(t.token_warning_pct) +
                         "%) must be between 0 (disabled) and 100.");
    if (t.token_retransmit_ms < kMinimumTimeoutMs) {
        if (c.u32("totem.token_retransmit")) {
            if (auto e = min("token_retransmit", t.token_retransmit_ms, "token retransmit timeout",
                             kMinimumTimeoutMs))
                return e;
        } else {
            return c.err(c.line_of("totem.token", "totem"),
                         "Not appropriate token or token_retransmits_before_loss_const value set");
        }
    }
    if (auto e = min("hold", t.hold_ms, "token hold timeout", kMinimumHoldMs))
        return e;
    if (auto e = min("join", t.join_ms, "join timeout", kMinimumTimeoutMs))
        return e;
    if (auto e = min("consensus", t.consensus_ms, "consensus timeout", kMinimumTimeoutMs))
        return e;
    if (t.consensus_ms < t.join_ms)
        return c.err(c.line_of("totem.consensus", "totem"),
                     "The consensus timeout parameter (" + std::to_string(t.consensus_ms) +
                         " ms) may not be less than join timeout (" + std::to_string(t.join_ms) +
                         " ms).");
    if (auto e = min("merge", t.merge_ms, "merge timeout", kMinimumTimeoutMs))
        return e;
    if (auto e = min("downcheck", t.downcheck_ms, "downcheck timeout", kMinimumTimeoutMs))
        return e;
    return std::nullopt;
}

std::string ip_text(const IpAddr& a) {
    return a.str();
}

}  // namespace

Result<Derived, Diag> derive_config(CmapBuild build, const std::string& file, const HostEnv& host,
                                    const DeriveOptions& opts) {
    Derived out;
    Config& cfg = out.config;
    cfg.file = file;
    cfg.keys = std::move(build.keys);
    Ctx c{file, cfg.keys, build.section_lines, out.warnings, opts};
    Totem& t = cfg.totem;

    // ISSUE-NOTES: corosync runs with unknown top-level sections; say so, do not refuse.
    static const std::set<std::string> known{"totem",     "nodelist", "quorum", "logging", "system",
                                             "resources", "uidgid",   "nozzle", "qb",      "pload"};
    for (const auto& [s, line] : build.section_lines)
        if (s.find('.') == std::string::npos && !known.count(s))
            c.warn(line, "unknown section \"" + s + "\" (corosync ignores it; so does totemd)");

    // exec/main.c reads the logging configuration before the totem one.
    if (auto e = read_logging(c, cfg.logging))
        return Err{*e};

    // ---- totem_config_read
    if (auto v = c.str("totem.transport")) {
        if (*v == "udpu")
            t.transport = Transport::Udpu;
        else if (*v == "udp")
            t.transport = Transport::Udp;
        else if (*v == "knet")
            t.transport = Transport::Knet;
        else
            return Err{c.err(c.line_of("totem.transport"),
                             "Invalid transport type. Should be udpu, udp or knet")};
    }
    t.version = c.u32("totem.version").value_or(0);
    t.cluster_name = c.str("totem.cluster_name").value_or("");
    if (auto v = c.get("totem.config_version"); v && v->type == ValueType::U64)
        t.config_version = v->u;

    // totem_get_crypto
    {
        std::string cipher = "none", hash = "none";
        t.crypto_model = c.str("totem.crypto_model").value_or("nss");
        if (c.str("totem.secauth").value_or("") == "on") {
            cipher = "aes256";
            hash = "sha256";
        }
        if (auto v = c.str("totem.crypto_cipher"))
            cipher = *v;
        if (auto v = c.str("totem.crypto_hash"))
            hash = *v;
        if (cipher != "none" && hash == "none") {
            int line = c.get("totem.crypto_cipher") ? c.line_of("totem.crypto_cipher")
                                                    : c.line_of("totem.secauth", "totem");
            return Err{
                c.err(line, "crypto_cipher requires crypto_hash with value other than none")};
        }
        t.crypto_cipher = cipher;
        t.crypto_hash = hash;
    }
    // totem_config_keyread
    if (t.crypto_enabled()) {
        if (auto path = c.str("totem.keyfile")) {
            if (auto e = read_keyfile(c, c.line_of("totem.keyfile"), *path, t.key))
                return Err{*e};
            t.keyfile = *path;
        } else if (auto key = c.get("totem.key")) {
            std::size_t len = key->text().size() + 1;  // icmap stores the string with its NUL
            if (len > kPrivateKeyMax)
                return Err{c.err(c.line_of("totem.key"), "key is too long")};
            if (len < kPrivateKeyMin)
                return Err{c.err(c.line_of("totem.key"), "key is too short")};
            t.key = key->text() + std::string(1, '\0');
        } else {
            if (auto e = read_keyfile(c, c.line_of("totem.crypto_cipher", "totem"),
                                      opts.default_keyfile, t.key))
                return Err{*e};
            t.keyfile = opts.default_keyfile;
        }
    }
    std::string link_mode = "passive";
    if (auto v = c.str("totem.link_mode")) {
        if (v->size() >= kLinkModeBytes)
            return Err{c.err(c.line_of("totem.link_mode"), "totem.link_mode is too long")};
        link_mode = *v;
    }
    if (c.u32("totem.nodeid"))
        c.warn(c.line_of("totem.nodeid"),
               "nodeid in totem section is deprecated and ignored; the nodelist's nodeid is used");
    t.clear_node_high_bit = c.str("totem.clear_node_high_bit").value_or("") == "yes";
    t.ip_version = t.transport == Transport::Udp ? IpVersion::V4 : IpVersion::V6_4;
    if (auto v = c.str("totem.ip_version")) {
        if (*v == "ipv4")
            t.ip_version = IpVersion::V4;
        if (*v == "ipv6")
            t.ip_version = IpVersion::V6;
        if (*v == "ipv6-4")
            t.ip_version = IpVersion::V6_4;
        if (*v == "ipv4-6")
            t.ip_version = IpVersion::V4_6;
    }

    const bool have_nodelist = c.str("nodelist.node.0.name") || c.str("nodelist.node.0.ring0_addr");
    const int nodelist_line = c.section_line("nodelist") ? c.section_line("nodelist") : 1;

    // "this" node: the override, else corosync's search (find_local_node)
    auto locate = [&]() -> Result<std::optional<unsigned>, Diag> {
        if (opts.local_nodeid) {
            for (const auto& [k, v] : c.keys) {
                unsigned pos = 0;
                std::string rest;
                if (!node_key(k, pos, rest))
                    continue;
                if (rest == "nodeid" && v.type == ValueType::U32 && v.u == *opts.local_nodeid)
                    return std::optional<unsigned>(pos);
                // udp/udpu nodes without a nodeid go by the one generated from ring0_addr
                if (rest == "ring0_addr" && t.transport != Transport::Knet &&
                    v.type == ValueType::Str &&
                    !c.get("nodelist.node." + std::to_string(pos) + ".nodeid")) {
                    auto id = generate_nodeid(host, v.str, t.clear_node_high_bit);
                    if (id && *id == *opts.local_nodeid)
                        return std::optional<unsigned>(pos);
                }
            }
            return std::optional<unsigned>();  // refused below, where corosync refuses it
        }
        return find_local_node(c, host);
    };
    bool converted = false;
    auto convert_nodelist_to_interface = [&]() -> std::optional<Diag> {
        auto r = locate();
        if (!r)
            return r.error();
        converted = true;
        if (!r.value())
            return std::nullopt;
        cfg.local_node_pos = *r.value();
        std::string prefix = "nodelist.node." + std::to_string(*cfg.local_node_pos) + ".";
        std::vector<std::pair<std::string, std::string>> adds;
        for (const auto& [k, v] : c.keys) {
            unsigned pos = 0;
            std::string rest;
            if (!node_key(k, pos, rest) || pos != *cfg.local_node_pos)
                continue;
            auto ring = ring_number(rest);
            if (!ring || v.type != ValueType::Str)
                continue;
            adds.emplace_back("totem.interface." + std::to_string(*ring) + ".bindnetaddr", v.str);
        }
        for (auto& [k, v] : adds)
            c.keys[k] = CmapValue::string(v, c.line_of(prefix + "name"));
        return std::nullopt;
    };
    if (!c.str("totem.interface.0.bindnetaddr")) {
        if (auto e = convert_nodelist_to_interface())
            return Err{*e};
    } else if (c.str("nodelist.node.0.ring0_addr")) {
        c.warn(c.line_of("totem.interface.0.bindnetaddr"),
               "interface section bindnetaddr is used together with nodelist; nodelist one is "
               "going to be used");
        if (auto e = convert_nodelist_to_interface())
            return Err{*e};
    }

    // get_interface_params
    bool broadcast_use = false;
    {
        std::set<unsigned> seen;
        static const std::string prefix = "totem.interface.";
        std::vector<std::pair<unsigned, std::string>> iface_keys;
        for (const auto& [k, v] : c.keys) {
            if (k.compare(0, prefix.size(), prefix) != 0)
                continue;
            std::string rest = k.substr(prefix.size());
            auto dot = rest.find('.');
            if (dot == std::string::npos || dot == 0 || dot + 1 >= rest.size())
                continue;
            std::string sub = rest.substr(dot + 1);
            if (t.transport == Transport::Udp && sub != "bindnetaddr")
                continue;
            unsigned n = static_cast<unsigned>(std::atoi(rest.substr(0, dot).c_str()));
            iface_keys.emplace_back(n, k);
        }
        for (const auto& [n, k] : iface_keys) {
            std::string base = prefix + std::to_string(n) + ".";
            int line = c.line_of(k, "totem.interface." + std::to_string(n));
            if (n >= kInterfaceMax)
                return Err{c.err(line, "interface ring number " + std::to_string(n) +
                                           " is bigger than allowed maximum " +
                                           std::to_string(kInterfaceMax - 1))};
            if (seen.count(n))
                continue;  // corosync re-reads the same values; same result
            seen.insert(n);
            Link& l = t.links[n];
            l.number = n;
            if (auto v = c.str(base + "bindnetaddr")) {
                l.bindnetaddr = resolve_address(host, *v, t.ip_version);
                if (!l.bindnetaddr)
                    return Err{c.err(c.line_of(base + "bindnetaddr"),
                                     "failed to parse bindnet address '" + *v + "'")};
            }
            if (auto v = c.str(base + "mcastaddr")) {
                l.mcastaddr = resolve_address(host, *v, t.ip_version);
                if (!l.mcastaddr)
                    return Err{c.err(c.line_of(base + "mcastaddr"),
                                     "failed to parse mcast address '" + *v + "'")};
            } else if (t.transport == Transport::Udp && !t.cluster_name.empty()) {
                // get_cluster_mcast_addr
                int value = 0;
                for (char ch : t.cluster_name)
                    value = (value << 1) + ch;
                std::uint16_t id = static_cast<std::uint16_t>((value & 0xFFFF) + n);
                bool v6 = t.links[0].bindnetaddr && t.links[0].bindnetaddr->family == AF_INET6;
                char buf[64];
                if (v6)
                    std::snprintf(buf, sizeof buf, "ff15::%x", id);
                else
                    std::snprintf(buf, sizeof buf, "239.192.%d.%d", id >> 8, id % 0xFF);
                l.mcastaddr = IpAddr::parse_numeric(buf);
            }
            if (auto v = c.str(base + "broadcast"); v && *v == "yes")
                broadcast_use = true;
            if (auto p = c.u16(base + "mcastport"))
                l.mcastport = *p;
            else
                l.mcastport = static_cast<std::uint16_t>(broadcast_use ? 5405 + 2 * n : 5405 + n);
            l.ttl = c.u8(base + "ttl").value_or(1);
            if (auto v = c.str(base + "knet_transport")) {
                if (*v == "sctp")
                    l.knet_transport = KnetTransport::Sctp;
                else if (*v == "udp")
                    l.knet_transport = KnetTransport::Udp;
                else
                    return Err{c.err(c.line_of(base + "knet_transport"),
                                     "Unrecognised knet_transport. expected 'udp' or 'sctp'")};
            }
            l.configured = true;
            l.knet_link_priority = c.u8(base + "knet_link_priority").value_or(1);
            l.knet_ping_interval_ms = c.u32(base + "knet_ping_interval").value_or(0);
            l.knet_ping_timeout_ms = c.u32(base + "knet_ping_timeout").value_or(0);
            l.knet_ping_precision = c.u32(base + "knet_ping_precision").value_or(2048);
            l.knet_pong_count = c.u32(base + "knet_pong_count").value_or(2);
            if (c.get(base + "member.0")) {
                if (c.str("nodelist.node.0.ring0_addr"))
                    c.warn(c.line_of(base + "member.0"),
                           "member section is used together with nodelist. Members ignored.");
                else
                    c.warn(c.line_of(base + "member.0"), "member section is deprecated.");
            }
        }
    }
    if (broadcast_use)
        t.links[0].mcastaddr = IpAddr::parse_numeric("255.255.255.255");
    if (t.transport == Transport::Udp) {
        for (unsigned i = 0; i < kInterfaceMax; ++i) {
            const Link& l = t.links[i];
            if (!l.configured)
                continue;
            std::string base = "totem.interface." + std::to_string(i) + ".";
            if (!c.get(base + "mcastaddr") && l.mcastaddr)
                c.keys[base + "mcastaddr"] = CmapValue::string(ip_text(*l.mcastaddr));
            if (!c.u16(base + "mcastport"))
                c.keys[base + "mcastport"] = CmapValue::uint(ValueType::U16, l.mcastport);
        }
    }

    // nodelist
    std::vector<IpAddr> members[kInterfaceMax];
    std::size_t counted_twice[kInterfaceMax] = {};
    if (have_nodelist) {
        if (!converted) {
            auto r = locate();
            if (!r)
                return Err{r.error()};
            if (r.value())
                cfg.local_node_pos = *r.value();
        }
        if (cfg.local_node_pos) {
            std::string base = "nodelist.node." + std::to_string(*cfg.local_node_pos) + ".";
            cfg.local_nodeid = c.u32(base + "nodeid").value_or(0);
            int line = c.section_line("nodelist.node." + std::to_string(*cfg.local_node_pos));
            if (t.transport == Transport::Knet && cfg.local_nodeid == 0)
                return Err{c.err(line ? line : nodelist_line,
                                 "Knet requires an explicit nodeid for the local node")};
            if (t.transport != Transport::Knet && cfg.local_nodeid == 0) {
                auto id = generate_nodeid(host, c.str(base + "ring0_addr").value_or(""),
                                          t.clear_node_high_bit);
                if (!id)
                    return Err{c.err(line ? line : nodelist_line,
                                     "An IPV6 network requires that a node ID be specified")};
                cfg.local_nodeid = *id;
            }
            c.keys["nodelist.local_node_pos"] =
                CmapValue::uint(ValueType::U32, *cfg.local_node_pos);
        }
        // put_nodelist_members_to_config: nodes in icmap key order
        std::vector<unsigned> positions;
        for (const auto& [k, v] : c.keys) {
            unsigned pos = 0;
            std::string rest;
            if (node_key(k, pos, rest) && (positions.empty() || positions.back() != pos))
                positions.push_back(pos);
        }
        for (unsigned pos : positions) {
            std::string base = "nodelist.node." + std::to_string(pos) + ".";
            NodeEntry node;
            node.pos = pos;
            node.line = c.section_line("nodelist.node." + std::to_string(pos));
            node.name = c.str(base + "name").value_or("");
            node.quorum_votes = c.u32(base + "quorum_votes");
            std::uint32_t nodeid = c.u32(base + "nodeid").value_or(0);
            std::vector<std::pair<unsigned, std::string>> rings;
            for (auto it = c.keys.lower_bound(base);
                 it != c.keys.end() && it->first.compare(0, base.size(), base) == 0; ++it) {
                auto ring = ring_number(it->first.substr(base.size()));
                if (!ring)
                    continue;
                if (*ring >= kInterfaceMax)
                    return Err{c.err(c.line_of(it->first), "interface ring number " +
                                                               std::to_string(*ring) +
                                                               " is bigger than allowed maximum " +
                                                               std::to_string(kInterfaceMax - 1))};
                if (it->second.type != ValueType::Str)
                    continue;
                rings.emplace_back(*ring, it->first);
            }
            // corosync writes a generated nodeid back while it walks the node's keys, and its
            // iterator then walks the node's addresses a second time: every address of such
            // a node counts twice in the member count (observed: 2 udpu nodes without
            // nodeids run with token 4300 = 3000 + 2 × 650, 3 nodes with 5600).
            bool generated = false;
            for (const auto& [ring, key] : rings) {
                std::string addr = c.keys[key].str;
                int line = c.line_of(key);
                if (nodeid == 0 && t.transport != Transport::Knet) {
                    if (auto r0 = c.str(base + "ring0_addr")) {
                        auto id = generate_nodeid(host, *r0, t.clear_node_high_bit);
                        if (!id)
                            return Err{c.err(line,
                                             "An IPV6 network requires that a node ID be "
                                             "specified for address '" +
                                                 addr + "'.")};
                        nodeid = *id;
                        c.keys[base + "nodeid"] = CmapValue::uint(ValueType::U32, nodeid);
                        generated = true;
                    }
                }
                if (nodeid == 0 && t.transport == Transport::Knet)
                    return Err{c.err(line,
                                     "Knet requires an explicit nodeid to be specified for "
                                     "address '" +
                                         addr + "'.")};
                if (t.transport == Transport::Knet && nodeid >= kKnetMaxHost)
                    return Err{
                        c.err(c.line_of(base + "nodeid", "nodelist.node." + std::to_string(pos)),
                              "Knet requires nodeid to be less than " +
                                  std::to_string(kKnetMaxHost) + " for address '" + addr + "'.")};
                auto ip = resolve_address(host, addr, t.ip_version);
                if (!ip)
                    return Err{c.err(line, "failed to parse node address '" + addr + "'")};
                node.ring_addr_text[ring] = addr;
                node.ring_addr[ring] = ip;
                members[ring].push_back(*ip);
                if (generated)
                    counted_twice[ring] += 1;
                t.links[ring].configured = true;
                t.links[ring].number = ring;
            }
            node.nodeid = nodeid;
            cfg.nodes.push_back(std::move(node));
        }
        // configure_link_params: defaults for links the local node has but no interface{} set
        if (cfg.local_node_pos) {
            for (unsigned i = 0; i < kInterfaceMax; ++i) {
                Link& l = t.links[i];
                std::string key = "nodelist.node." + std::to_string(*cfg.local_node_pos) + ".ring" +
                                  std::to_string(i) + "_addr";
                if (!l.configured || !c.str(key))
                    continue;
                if (!resolve_address(host, *c.str(key), t.ip_version))
                    continue;
                l.number = i;
                if (l.knet_link_priority == 0)
                    l.knet_link_priority = 1;
                if (l.knet_ping_precision == 0)
                    l.knet_ping_precision = 2048;
                if (l.knet_pong_count == 0)
                    l.knet_pong_count = 2;
                if (l.mcastport == 0)
                    l.mcastport = static_cast<std::uint16_t>(5405 + i);
            }
        }
        std::sort(cfg.nodes.begin(), cfg.nodes.end(),
                  [](const NodeEntry& a, const NodeEntry& b) { return a.pos < b.pos; });
    }

    read_volatile(c, t, members[0].size() + counted_twice[0]);

    // calc_knet_ping_timers
    for (unsigned i = 0; i < kInterfaceMax; ++i) {
        Link& l = t.links[i];
        if (!l.configured)
            continue;
        if (l.knet_pong_count == 0)
            l.knet_pong_count = 2;
        if (l.knet_ping_timeout_ms == 0)
            l.knet_ping_timeout_ms = t.effective_token_ms / l.knet_pong_count;
        if (l.knet_ping_interval_ms == 0)
            l.knet_ping_interval_ms = t.effective_token_ms / (l.knet_pong_count * 2);
        std::string base = "runtime.config.totem.interface." + std::to_string(i) + ".";
        c.set_u32(base + "knet_ping_timeout", l.knet_ping_timeout_ms);
        c.set_u32(base + "knet_ping_interval", l.knet_ping_interval_ms);
    }

    // ---- totem_config_validate
    const int totem_line = c.section_line("totem") ? c.section_line("totem") : 1;
    unsigned num_configured = 0;
    for (const auto& l : t.links)
        num_configured += l.configured ? 1 : 0;
    if (num_configured == 0)
        return Err{c.err(have_nodelist ? nodelist_line : totem_line, "No interfaces defined")};
    if (!cfg.local_node_pos && opts.local_nodeid)
        return Err{c.err(nodelist_line, "local node id " + std::to_string(*opts.local_nodeid) +
                                            " is not in the nodelist")};
    if (!cfg.local_node_pos)
        return Err{c.err(nodelist_line,
                         "No valid name found for local host: no node's name or ring0_addr is "
                         "this host (give it with --local-nodeid N)")};
    for (unsigned i = 0; i < kInterfaceMax; ++i) {
        const Link& l = t.links[i];
        if (!l.configured)
            continue;
        std::string sec = "totem.interface." + std::to_string(i);
        int line = c.section_line(sec) ? c.section_line(sec) : totem_line;
        std::string n = std::to_string(i);
        if (t.transport == Transport::Udp && !l.mcastaddr)
            return Err{c.err(line, "No multicast address specified for interface " + n)};
        if (l.mcastport == 0)
            return Err{c.err(line, "No multicast port specified for interface " + n)};
        if (t.transport != Transport::Udp && l.ttl != 1)
            return Err{
                c.err(line, "Can only set ttl on multicast transport types for interface " + n)};
        if (t.transport != Transport::Knet && l.knet_link_priority != 1)
            return Err{c.err(
                line, "Can only set link priority on knet transport type for interface " + n)};
        if (l.mcastaddr && l.mcastaddr->family == AF_INET6 && cfg.local_nodeid == 0)
            return Err{c.err(
                line, "An IPV6 network requires that a node ID be specified for interface " + n)};
        if (!broadcast_use && t.transport == Transport::Udp && l.mcastaddr) {
            if (!l.bindnetaddr || l.mcastaddr->family != l.bindnetaddr->family)
                return Err{c.err(
                    line,
                    "Multicast address family does not match bind address family for interface " +
                        n)};
            bool mcast = l.mcastaddr->family == AF_INET ? (l.mcastaddr->bytes[0] & 0xF0) == 0xE0
                                                        : l.mcastaddr->bytes[0] == 0xFF;
            if (!mcast)
                return Err{
                    c.err(line, "mcastaddr is not a correct multicast address for interface " + n)};
        }
    }
    if (t.version != 2)
        return Err{c.err(c.line_of("totem.version", "totem"),
                         "This totem parser can only parse version 2 configurations.")};

    // totem_volatile_config_validate
    if (auto e = validate_volatile(c, t))
        return Err{*e};
    {
        if (num_configured > 1) {
            std::size_t first_count = 0;
            bool first = true;
            for (unsigned i = 0; i < kInterfaceMax; ++i)
                if (t.links[i].configured && first) {
                    first_count = members[i].size();
                    first = false;
                }
            for (std::size_t i = 0; i < first_count; ++i)
                if (!c.str("nodelist.node." + std::to_string(i) + ".name"))
                    return Err{c.err(
                        nodelist_line,
                        "for a multi-link configuration, all nodes must have a 'name' attribute")};
            for (unsigned i = 0; i < kInterfaceMax; ++i)
                if (t.links[i].configured && members[i].size() != first_count) {
                    // point at the first node that lacks one of the links
                    int line = nodelist_line;
                    for (const auto& nd : cfg.nodes)
                        if (!nd.ring_addr[i]) {
                            line = nd.line;
                            break;
                        }
                    return Err{c.err(line, "Not all nodes have the same number of links")};
                }
        }
        for (unsigned i = 0; i < kInterfaceMax; ++i) {
            if (!t.links[i].configured)
                continue;
            for (std::size_t j = 1; j < members[i].size(); ++j)
                if (members[i][j].family != members[i][0].family) {
                    int line = nodelist_line;
                    for (const auto& nd : cfg.nodes)
                        if (nd.ring_addr[i] && nd.ring_addr[i]->family != members[i][0].family) {
                            line = c.line_of("nodelist.node." + std::to_string(nd.pos) + ".ring" +
                                             std::to_string(i) + "_addr");
                            break;
                        }
                    return Err{c.err(line, "Nodes for link " + std::to_string(i) +
                                               " have different IP families (compared " +
                                               members[i][j].str() + " with " +
                                               members[i][0].str() + ")")};
                }
        }
    }

    // check_for_duplicate_nodeids
    for (std::size_t i = 0; i < cfg.nodes.size(); ++i)
        for (std::size_t j = 0; j < i; ++j)
            if (cfg.nodes[i].nodeid != 0 && cfg.nodes[i].nodeid == cfg.nodes[j].nodeid)
                return Err{
                    c.err(c.line_of("nodelist.node." + std::to_string(cfg.nodes[i].pos) + ".nodeid",
                                    "nodelist.node." + std::to_string(cfg.nodes[i].pos)),
                          "Nodeid " + std::to_string(cfg.nodes[i].nodeid) +
                              " appears twice in corosync.conf")};

    if (link_mode == "passive")
        t.link_mode = LinkMode::Passive;
    else if (link_mode == "active")
        t.link_mode = LinkMode::Active;
    else if (link_mode == "rr")
        t.link_mode = LinkMode::Rr;
    else
        return Err{c.err(c.line_of("totem.link_mode"),
                         "The Knet link mode \"" + link_mode +
                             "\" specified is invalid.  It must be active, passive or rr.")};
    if (t.transport != Transport::Knet && num_configured > 1)
        return Err{
            c.err(totem_line, std::to_string(num_configured) +
                                  " is too many configured interfaces for non-Knet transport.")};
    if (t.transport == Transport::Udp && t.crypto_enabled())
        return Err{c.err(c.line_of("totem.crypto_cipher", "totem"),
                         "crypto_cipher & crypto_hash are only valid for the Knet transport.")};
    // crypto on udpu is a totemd extension (shared/ISSUE-NOTES.md); corosync refuses it.
    if (t.transport == Transport::Udpu && t.crypto_enabled())
        c.warn(c.line_of("totem.crypto_cipher", "totem"),
               "crypto on udpu is a totemd extension; corosync 3.1.7 refuses this config");
    t.netmtu = c.u32("totem.netmtu").value_or(0);
    if (t.netmtu == 0)
        t.netmtu = t.transport == Transport::Knet ? 65536 : 1500;

    // Duplicate addresses on one link: corosync starts anyway (checked), so a warning.
    for (unsigned i = 0; i < kInterfaceMax; ++i)
        for (std::size_t a = 0; a < cfg.nodes.size(); ++a)
            for (std::size_t b = 0; b < a; ++b)
                if (cfg.nodes[a].ring_addr[i] && cfg.nodes[b].ring_addr[i] &&
                    *cfg.nodes[a].ring_addr[i] == *cfg.nodes[b].ring_addr[i])
                    c.warn(c.line_of("nodelist.node." + std::to_string(cfg.nodes[a].pos) + ".ring" +
                                     std::to_string(i) + "_addr"),
                           "address " + cfg.nodes[a].ring_addr[i]->str() + " of link " +
                               std::to_string(i) + " is used by two nodes");

    read_quorum(c, cfg.quorum);
    // vsf_quorum's provider switch: a started corosync exits on any other name ("Invalid quorum
    // provider"); corosync_ykd, the legacy YKD provider, is one totemd does not have.
    if (!cfg.quorum.provider.empty() && cfg.quorum.provider != "corosync_votequorum")
        return Err{
            c.err(c.line_of("quorum.provider", "quorum"),
                  cfg.quorum.provider == "corosync_ykd"
                      ? std::string("quorum provider corosync_ykd is not supported by "
                                    "totemd (use corosync_votequorum)")
                      : "Quorum provider: " + cfg.quorum.provider + " failed to initialize.")};
    if (cfg.quorum.provider == "corosync_votequorum")
        if (auto e = check_votequorum(c, cfg))
            return Err{*e};
    if (cfg.quorum.two_node && cfg.nodes.size() > 2)
        c.warn(c.line_of("quorum.two_node", "quorum"),
               "two_node is set with " + std::to_string(cfg.nodes.size()) +
                   " nodes; votequorum ignores it above two nodes");
    return out;
}

SrpConfig to_srp_config(const Config& c) {
    const Totem& t = c.totem;
    SrpConfig s;
    s.token = Duration::ms(t.effective_token_ms);
    s.token_retransmit = Duration::ms(t.token_retransmit_ms);
    s.hold = Duration::ms(t.hold_ms);
    s.join = Duration::ms(t.join_ms);
    s.send_join = Duration::ms(t.send_join_ms);
    s.consensus = Duration::ms(t.consensus_ms);
    s.merge = Duration::ms(t.merge_ms);
    s.downcheck = Duration::ms(t.downcheck_ms);
    s.max_network_delay = Duration::ms(t.max_network_delay_ms);
    s.token_retransmits_before_loss_const = t.token_retransmits_before_loss_const;
    s.token_warning_pct = t.token_warning_pct;
    s.fail_recv_const = t.fail_recv_const;
    s.seqno_unchanged_const = t.seqno_unchanged_const;
    s.heartbeat_failures_allowed = t.heartbeat_failures_allowed;
    s.window_size = t.window_size;
    s.max_messages = t.max_messages;
    s.miss_count_const = t.miss_count_const;
    s.cancel_token_hold_on_retransmit = t.cancel_token_hold_on_retransmit;
    s.net_mtu = t.netmtu;
    return s;
}

}  // namespace totem::conf

namespace totem::conf {

std::optional<std::string> reread_volatile(Cmap& keys, Totem& t, std::size_t ring0_members) {
    const std::string file = "cmap";
    const std::map<std::string, int> no_lines;
    std::vector<Diag> warnings;
    const DeriveOptions opts;
    Ctx c{file, keys, no_lines, warnings, opts};
    read_volatile(c, t, ring0_members);
    if (auto e = validate_volatile(c, t))
        return e->message;
    return std::nullopt;
}

}  // namespace totem::conf
