#include "conf/cmap.hpp"

extern "C" {
#include <libknet.h>
}

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <optional>
#include <vector>

namespace totem::conf {

const char* type_name(ValueType t) {
    switch (t) {
        case ValueType::U8:
            return "u8";
        case ValueType::U16:
            return "u16";
        case ValueType::U32:
            return "u32";
        case ValueType::U64:
            return "u64";
        case ValueType::I8:
            return "i8";
        case ValueType::I16:
            return "i16";
        case ValueType::I32:
            return "i32";
        case ValueType::I64:
            return "i64";
        case ValueType::Str:
            return "str";
    }
    return "?";
}

CmapValue CmapValue::string(std::string s, int line) {
    CmapValue v;
    v.type = ValueType::Str;
    v.str = std::move(s);
    v.line = line;
    return v;
}
CmapValue CmapValue::uint(ValueType t, std::uint64_t x, int line) {
    CmapValue v;
    v.type = t;
    v.u = x;
    v.line = line;
    return v;
}
CmapValue CmapValue::sint(ValueType t, std::int64_t x, int line) {
    CmapValue v;
    v.type = t;
    v.i = x;
    v.line = line;
    return v;
}

std::string CmapValue::text() const {
    switch (type) {
        case ValueType::U8:
        case ValueType::U16:
        case ValueType::U32:
        case ValueType::U64:
            return std::to_string(u);
        case ValueType::I8:
        case ValueType::I16:
        case ValueType::I32:
        case ValueType::I64:
            return std::to_string(i);
        case ValueType::Str:
            return str;
    }
    return {};
}

std::string dump_cmap(const Cmap& keys) {
    std::string out;
    for (const auto& [k, v] : keys)
        out += cmapctl_line(k, type_name(v.type), v.text());
    return out;
}

std::string cmapctl_line(std::string_view key, std::string_view type,
                         std::optional<std::string_view> text) {
    std::string out;
    out.reserve(key.size() + type.size() + (text ? text->size() + 3 : 0) + 4);
    out.append(key).append(" (").append(type).append(")");
    if (text)
        out.append(" = ").append(*text);
    out += '\n';
    return out;
}

namespace {

// coroparse.c enum main_cp_cb_data_state
enum class State {
    Normal,
    Totem,
    Interface,
    LoggerSubsys,
    LoggingDaemon,
    Uidgid,
    Member,
    Quorum,
    Qdevice,
    Nodelist,
    NodelistNode,
    Resources,
    ResourcesSystem,
    ResourcesSystemMemused,
    ResourcesProcess,
    ResourcesProcessMemused,
    System
};

bool range_of(ValueType t, long long& lo, long long& hi) {
    switch (t) {
        case ValueType::I8:
            lo = INT8_MIN;
            hi = INT8_MAX;
            return true;
        case ValueType::U8:
            lo = 0;
            hi = UINT8_MAX;
            return true;
        case ValueType::I16:
            lo = INT16_MIN;
            hi = INT16_MAX;
            return true;
        case ValueType::U16:
            lo = 0;
            hi = UINT16_MAX;
            return true;
        case ValueType::I32:
            lo = INT32_MIN;
            hi = INT32_MAX;
            return true;
        case ValueType::U32:
            lo = 0;
            hi = UINT32_MAX;
            return true;
        default:
            return false;
    }
}

// coroparse.c safe_atoq: base-10 strtoll, whole string, within the type's range.
bool safe_atoq(const std::string& s, long long& out, ValueType t) {
    errno = 0;
    char* end = nullptr;
    long long v = std::strtoll(s.c_str(), &end, 10);
    if (errno == ERANGE || end == s.c_str() || *end != '\0')
        return false;
    long long lo = 0, hi = 0;
    if (!range_of(t, lo, hi) || v < lo || v > hi)
        return false;
    out = v;
    return true;
}

// coroparse.c str_to_ull (strtoull accepts a leading '-' and wraps, as corosync does).
bool str_to_ull(const std::string& s, unsigned long long& out) {
    errno = 0;
    char* end = nullptr;
    unsigned long long v = std::strtoull(s.c_str(), &end, 10);
    if (errno == ERANGE || end == s.c_str() || *end != '\0')
        return false;
    out = v;
    return true;
}

bool valid_key_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-' || c == '/' || c == ':';
}

// icmap_check_key_name: 3..255 characters from the allowed set.
bool valid_key_name(const std::string& k) {
    if (k.size() < 3 || k.size() > kKeyNameMax)
        return false;
    for (char c : k)
        if (!valid_key_char(c))
            return false;
    return true;
}

std::string knet_list(bool crypto, const std::string& val, bool& found) {
    found = false;
    std::vector<std::string> names;
    std::size_t n = 0;
    if (crypto) {
        knet_crypto_info list[16];
        if (knet_get_crypto_list(nullptr, &n) == 0 && n <= 16 &&
            knet_get_crypto_list(list, &n) == 0)
            for (std::size_t i = 0; i < n; ++i)
                names.emplace_back(list[i].name);
    } else {
        knet_compress_info list[16];
        if (knet_get_compress_list(nullptr, &n) == 0 && n <= 16 &&
            knet_get_compress_list(list, &n) == 0)
            for (std::size_t i = 0; i < n; ++i)
                names.emplace_back(list[i].name);
    }
    std::string out;
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (i > 0)
            out += (i == names.size() - 1) ? " or " : ", ";
        out += names[i];
        if (names[i] == val)
            found = true;
    }
    return out;
}

struct Pending {
    std::string key, value;
    int line;
};

// A uid or gid item of a uidgid section (in corosync.conf or a uidgid.d file):
// uidgid.config.uid.<N> / uidgid.config.gid.<N> = 1 (u8).
std::optional<Diag> uidgid_item(const Section::Item& it, const std::string& file,
                                const IdLookup& ids, Cmap& keys) {
    bool is_uid = it.key == "uid";
    if (!is_uid && it.key != "gid")
        return Diag{file, it.line, "uidgid: Only uid and gid are allowed items"};
    long id = -1;
    auto fn = is_uid ? ids.uid : ids.gid;
    if (fn)
        id = fn(it.value);
    if (id < 0)
        return Diag{file, it.line,
                    "The '" + it.value + "' " + (is_uid ? "user" : "group") +
                        " is not found in /etc/" + (is_uid ? "passwd" : "group") +
                        ", please read the documentation."};
    keys[std::string("uidgid.config.") + (is_uid ? "uid." : "gid.") + std::to_string(id)] =
        CmapValue::uint(ValueType::U8, 1, it.line);
    return std::nullopt;
}

struct Walker {
    Walker(const std::string& f, const IdLookup& i) : file(f), ids(i) {}
    const std::string& file;
    const IdLookup& ids;
    CmapBuild out;
    // coroparse.c struct main_cp_cb_data
    unsigned linknumber = 0;
    int mcastport = -1, ttl = -1, knet_link_priority = -1;
    long long knet_ping_interval = -1, knet_ping_timeout = -1, knet_ping_precision = -1,
              knet_pong_count = -1;
    std::string bindnetaddr, mcastaddr, broadcast, knet_transport;
    bool has_bindnetaddr = false, has_mcastaddr = false, has_broadcast = false,
         has_knet_transport = false;
    std::vector<Pending> members, subsys_items;
    std::string subsys, daemon_name;
    bool has_subsys = false, has_daemon_name = false;
    unsigned node_number = 0;
    int interface_line = 0;
    std::map<std::string, int> iface_lines;  // field → line of its item, for diagnostics

    int field_line(const char* field, int fallback) const {
        auto it = iface_lines.find(field);
        return it == iface_lines.end() ? fallback : it->second;
    }

    Diag err(int line, std::string msg) const { return Diag{file, line, std::move(msg)}; }

    std::optional<Diag> set(const std::string& key, CmapValue v, int line) {
        if (!valid_key_name(key))
            return err(line, "Can't store key \"" + key +
                                 "\" into icmap, returned error is CS_ERR_NAME_TOO_LONG");
        out.keys[key] = std::move(v);
        return std::nullopt;
    }

    std::optional<Diag> atoi_error(const std::string& key, const std::string& value, ValueType t,
                                   int line) const {
        long long lo = 0, hi = 0;
        range_of(t, lo, hi);
        return err(line, "Value of key \"" + key + "\" is expected to be integer in range (" +
                             std::to_string(lo) + ".." + std::to_string(hi) + "), but \"" + value +
                             "\" was given");
    }

    std::optional<Diag> set_int(const std::string& key, const std::string& value, ValueType t,
                                int line, const std::string& shown_key) {
        long long v = 0;
        if (!safe_atoq(value, v, t))
            return atoi_error(shown_key, value, t, line);
        if (t == ValueType::I32 || t == ValueType::I8 || t == ValueType::I16)
            return set(key, CmapValue::sint(t, v, line), line);
        return set(key, CmapValue::uint(t, static_cast<std::uint64_t>(v), line), line);
    }

    // corosync 3.1.7 aborts on a u64 key that is not a number (its atoi_error asserts on
    // the type); totemd refuses it in the words of the other integer keys.
    std::optional<Diag> set_u64(const std::string& key, const std::string& value, int line) {
        unsigned long long v = 0;
        if (!str_to_ull(value, v))
            return err(line, "Value of key \"" + key +
                                 "\" is expected to be integer in range (0..18446744073709551615), "
                                 "but \"" +
                                 value + "\" was given");
        return set(key, CmapValue::uint(ValueType::U64, v, line), line);
    }

    std::optional<Diag> item(const std::string& path, const std::string& key,
                             const std::string& value, State state, int line);
    std::optional<Diag> section_end(const std::string& path, State state, int line);
    std::optional<Diag> walk(const Section& s, const std::string& path, State state);
};

bool one_of(const std::string& v, std::initializer_list<const char*> set) {
    for (const char* s : set)
        if (v == s)
            return true;
    return false;
}

std::optional<Diag> Walker::item(const std::string& path, const std::string& key,
                                 const std::string& value, State state, int line) {
    switch (state) {
        case State::Normal:
        case State::Nodelist:
            break;
        case State::Quorum:
            if (one_of(path, {"quorum.expected_votes", "quorum.votes",
                              "quorum.last_man_standing_window", "quorum.leaving_timeout"}))
                return set_int(path, value, ValueType::U32, line, path);
            if (one_of(path, {"quorum.two_node", "quorum.expected_votes_tracking",
                              "quorum.allow_downscale", "quorum.wait_for_all",
                              "quorum.auto_tie_breaker", "quorum.last_man_standing"}))
                return set_int(path, value, ValueType::U8, line, path);
            break;
        case State::Qdevice:
            if (one_of(path, {"quorum.device.timeout", "quorum.device.sync_timeout",
                              "quorum.device.votes"}))
                return set_int(path, value, ValueType::U32, line, path);
            if (path == "quorum.device.master_wins")
                return set_int(path, value, ValueType::U8, line, path);
            break;
        case State::Totem:
            if (one_of(path, {"totem.version",
                              "totem.nodeid",
                              "totem.threads",
                              "totem.token",
                              "totem.token_coefficient",
                              "totem.token_retransmit",
                              "totem.token_warning",
                              "totem.hold",
                              "totem.token_retransmits_before_loss_const",
                              "totem.join",
                              "totem.send_join",
                              "totem.consensus",
                              "totem.merge",
                              "totem.downcheck",
                              "totem.fail_recv_const",
                              "totem.seqno_unchanged_const",
                              "totem.rrp_token_expired_timeout",
                              "totem.rrp_problem_count_timeout",
                              "totem.rrp_problem_count_threshold",
                              "totem.rrp_problem_count_mcast_threshold",
                              "totem.rrp_autorecovery_check_timeout",
                              "totem.heartbeat_failures_allowed",
                              "totem.max_network_delay",
                              "totem.window_size",
                              "totem.max_messages",
                              "totem.miss_count_const",
                              "totem.knet_pmtud_interval",
                              "totem.knet_mtu",
                              "totem.knet_compression_threshold",
                              "totem.netmtu"}))
                return set_int(path, value, ValueType::U32, line, path);
            if (path == "totem.knet_compression_level")
                return set_int(path, value, ValueType::I32, line, path);
            if (path == "totem.config_version")
                return set_u64(path, value, line);
            if (path == "totem.ip_version" && !one_of(value, {"ipv4", "ipv6", "ipv6-4", "ipv4-6"}))
                return err(line, "Invalid ip_version type");
            if (path == "totem.crypto_model") {
                bool found = false;
                std::string list = knet_list(true, value, found);
                if (!found)
                    return err(line, "Invalid crypto model. Should be " + list);
            }
            if (path == "totem.crypto_cipher" &&
                !one_of(value, {"none", "aes256", "aes192", "aes128"}))
                return err(line, "Invalid cipher type. Should be none, aes256, aes192 or aes128");
            if (path == "totem.crypto_hash" &&
                !one_of(value, {"none", "md5", "sha1", "sha256", "sha384", "sha512"}))
                return err(
                    line, "Invalid hash type. Should be none, md5, sha1, sha256, sha384 or sha512");
            if (path == "totem.knet_compression_model") {
                bool found = false;
                std::string list = knet_list(false, value, found);
                if (!found)
                    return err(line, "Invalid compression model. Should be " + list);
            }
            break;
        case State::System:
            if (path == "system.qb_ipc_type" && !one_of(value, {"native", "shm", "socket"}))
                return err(line, "Invalid system.qb_ipc_type");
            if (path == "system.sched_rr" && !one_of(value, {"yes", "no"}))
                return err(line, "Invalid system.sched_rr value");
            if (path == "system.move_to_root_cgroup" && !one_of(value, {"yes", "no", "auto"}))
                return err(line, "Invalid system.move_to_root_cgroup");
            if (path == "system.allow_knet_handle_fallback" && !one_of(value, {"yes", "no"}))
                return err(line, "Invalid system.allow_knet_handle_fallback");
            break;
        case State::Interface: {
            iface_lines[path.substr(std::string("totem.interface.").size())] = line;
            long long v = 0;
            auto num = [&](ValueType t) -> std::optional<Diag> {
                if (!safe_atoq(value, v, t))
                    return atoi_error(path, value, t, line);
                return std::nullopt;
            };
            if (path == "totem.interface.linknumber") {
                if (auto e = num(ValueType::U8))
                    return e;
                linknumber = static_cast<unsigned>(v);
                return std::nullopt;
            }
            if (path == "totem.interface.bindnetaddr") {
                bindnetaddr = value;
                has_bindnetaddr = true;
                return std::nullopt;
            }
            if (path == "totem.interface.mcastaddr") {
                mcastaddr = value;
                has_mcastaddr = true;
                return std::nullopt;
            }
            if (path == "totem.interface.broadcast") {
                broadcast = value;
                has_broadcast = true;
                return std::nullopt;
            }
            if (path == "totem.interface.mcastport") {
                if (auto e = num(ValueType::U16))
                    return e;
                mcastport = static_cast<int>(v);
                return std::nullopt;
            }
            if (path == "totem.interface.ttl") {
                if (auto e = num(ValueType::U8))
                    return e;
                ttl = static_cast<int>(v);
                return std::nullopt;
            }
            if (path == "totem.interface.knet_link_priority") {
                if (auto e = num(ValueType::U8))
                    return e;
                knet_link_priority = static_cast<int>(v);
                return std::nullopt;
            }
            struct U32Field {
                const char* path;
                long long* slot;
            };
            const U32Field fields[] = {
                {"totem.interface.knet_ping_interval", &knet_ping_interval},
                {"totem.interface.knet_ping_timeout", &knet_ping_timeout},
                {"totem.interface.knet_ping_precision", &knet_ping_precision},
                {"totem.interface.knet_pong_count", &knet_pong_count},
            };
            for (const auto& f : fields) {
                if (path == f.path) {
                    if (auto e = num(ValueType::U32))
                        return e;
                    *f.slot = v;
                    return std::nullopt;
                }
            }
            if (path == "totem.interface.knet_transport") {
                knet_transport = value;
                has_knet_transport = true;
                return std::nullopt;
            }
            break;
        }
        case State::LoggerSubsys:
            if (key == "subsys") {
                subsys = value;
                has_subsys = true;
            } else {
                subsys_items.push_back(Pending{key, value, line});
            }
            return std::nullopt;
        case State::LoggingDaemon:
            if (key == "subsys") {
                subsys = value;
                has_subsys = true;
            } else if (key == "name") {
                daemon_name = value;
                has_daemon_name = true;
            } else {
                subsys_items.push_back(Pending{key, value, line});
            }
            return std::nullopt;
        case State::Uidgid:
            return uidgid_item(Section::Item{key, value, line, -1}, file, ids, out.keys);
        case State::Member:
            if (key != "memberaddr")
                return err(line, "Only memberaddr is allowed in member section");
            members.push_back(Pending{key, value, line});
            return std::nullopt;
        case State::NodelistNode: {
            std::string name = "nodelist.node." + std::to_string(node_number) + "." + key;
            if (key == "nodeid" || key == "quorum_votes")
                return set_int(name, value, ValueType::U32, line, name);
            return set(name, CmapValue::string(value, line), line);
        }
        case State::Resources:
            if (key == "watchdog_timeout")
                return set_int(path, value, ValueType::U32, line, path);
            break;
        case State::ResourcesSystem:
        case State::ResourcesSystemMemused:
        case State::ResourcesProcess:
        case State::ResourcesProcessMemused:
            if (key == "poll_period")
                return set_u64(path, value, line);
            break;
    }
    return set(path, CmapValue::string(value, line), line);
}

std::optional<Diag> Walker::section_end(const std::string& path, State state, int line) {
    (void)path;
    switch (state) {
        case State::Interface: {
            std::string base = "totem.interface." + std::to_string(linknumber) + ".";
            if (has_bindnetaddr) {
                if (auto e =
                        set(base + "bindnetaddr",
                            CmapValue::string(bindnetaddr, field_line("bindnetaddr", line)), line))
                    return e;
                has_bindnetaddr = false;
            }
            if (has_mcastaddr) {
                if (auto e = set(base + "mcastaddr",
                                 CmapValue::string(mcastaddr, field_line("mcastaddr", line)), line))
                    return e;
                has_mcastaddr = false;
            }
            if (has_broadcast) {
                if (auto e = set(base + "broadcast",
                                 CmapValue::string(broadcast, field_line("broadcast", line)), line))
                    return e;
                has_broadcast = false;
            }
            auto u = [&](const char* k, ValueType t, long long v) -> std::optional<Diag> {
                if (v < 0)
                    return std::nullopt;
                return set(base + k,
                           CmapValue::uint(t, static_cast<std::uint64_t>(v), field_line(k, line)),
                           line);
            };
            if (auto e = u("mcastport", ValueType::U16, mcastport))
                return e;
            if (auto e = u("ttl", ValueType::U8, ttl))
                return e;
            if (auto e = u("knet_link_priority", ValueType::U8, knet_link_priority))
                return e;
            if (auto e = u("knet_ping_interval", ValueType::U32, knet_ping_interval))
                return e;
            if (auto e = u("knet_ping_timeout", ValueType::U32, knet_ping_timeout))
                return e;
            if (auto e = u("knet_ping_precision", ValueType::U32, knet_ping_precision))
                return e;
            if (auto e = u("knet_pong_count", ValueType::U32, knet_pong_count))
                return e;
            if (has_knet_transport) {
                if (auto e =
                        set(base + "knet_transport",
                            CmapValue::string(knet_transport, field_line("knet_transport", line)),
                            line))
                    return e;
            }
            // corosync's list is LIFO: members come out in reverse file order.
            unsigned i = 0;
            for (auto it = members.rbegin(); it != members.rend(); ++it, ++i)
                if (auto e = set(base + "member." + std::to_string(i),
                                 CmapValue::string(it->value, it->line), it->line))
                    return e;
            members.clear();
            out.section_lines["totem.interface." + std::to_string(linknumber)] = interface_line;
            return std::nullopt;
        }
        case State::LoggerSubsys: {
            if (!has_subsys)
                return err(line, "No subsys key in logger_subsys directive");
            // LIFO list: walked from the last item to the first, so the first duplicate wins.
            for (auto it = subsys_items.rbegin(); it != subsys_items.rend(); ++it)
                if (auto e = set("logging.logger_subsys." + subsys + "." + it->key,
                                 CmapValue::string(it->value, it->line), it->line))
                    return e;
            subsys_items.clear();
            out.section_lines["logging.logger_subsys." + subsys] = line;
            auto e = set("logging.logger_subsys." + subsys + ".subsys",
                         CmapValue::string(subsys, line), line);
            has_subsys = false;
            return e;
        }
        case State::LoggingDaemon: {
            if (!has_daemon_name)
                return err(line, "No name key in logging_daemon directive");
            bool main = daemon_name == "corosync";
            for (auto it = subsys_items.rbegin(); it != subsys_items.rend(); ++it) {
                std::string k;
                if (!has_subsys)
                    k = main ? "logging." + it->key
                             : "logging.logging_daemon." + daemon_name + "." + it->key;
                else
                    k = main ? "logging.logger_subsys." + subsys + "." + it->key
                             : "logging.logging_daemon." + daemon_name + "." + subsys + "." +
                                   it->key;
                if (auto e = set(k, CmapValue::string(it->value, it->line), it->line))
                    return e;
            }
            subsys_items.clear();
            std::optional<Diag> e;
            if (!has_subsys) {
                if (!main)
                    e = set("logging.logging_daemon." + daemon_name + ".name",
                            CmapValue::string(daemon_name, line), line);
            } else if (main) {
                e = set("logging.logger_subsys." + subsys + ".subsys",
                        CmapValue::string(subsys, line), line);
            } else {
                e = set("logging.logging_daemon." + daemon_name + "." + subsys + ".subsys",
                        CmapValue::string(subsys, line), line);
                if (!e)
                    e = set("logging.logging_daemon." + daemon_name + "." + subsys + ".name",
                            CmapValue::string(daemon_name, line), line);
            }
            has_subsys = false;
            has_daemon_name = false;
            return e;
        }
        case State::NodelistNode:
            ++node_number;
            return std::nullopt;
        default:
            return std::nullopt;
    }
}

State state_for(const std::string& path, State inherited) {
    static const std::pair<const char*, State> table[] = {
        {"totem.interface", State::Interface},
        {"totem", State::Totem},
        {"system", State::System},
        {"logging.logger_subsys", State::LoggerSubsys},
        {"logging.logging_daemon", State::LoggingDaemon},
        {"uidgid", State::Uidgid},
        {"totem.interface.member", State::Member},
        {"quorum", State::Quorum},
        {"quorum.device", State::Qdevice},
        {"nodelist", State::Nodelist},
        {"nodelist.node", State::NodelistNode},
        {"resources", State::Resources},
        {"resources.system", State::ResourcesSystem},
        {"resources.system.memory_used", State::ResourcesSystemMemused},
        {"resources.process", State::ResourcesProcess},
        {"resources.process.memory_used", State::ResourcesProcessMemused},
    };
    for (const auto& [p, s] : table)
        if (path == p)
            return s;
    return inherited;
}

std::optional<Diag> Walker::walk(const Section& s, const std::string& path, State state) {
    for (const auto& it : s.items) {
        std::string sub = path.empty() ? it.key : path + "." + it.key;
        if (!s.is_section(it)) {
            if (auto e = item(sub, it.key, it.value, state, it.line))
                return e;
            continue;
        }
        State ns = state_for(sub, state);
        // section start side effects (coroparse.c PARSER_CB_SECTION_START)
        if (sub == "totem.interface") {
            linknumber = 0;
            mcastport = ttl = knet_link_priority = -1;
            knet_ping_interval = knet_ping_timeout = knet_ping_precision = knet_pong_count = -1;
            members.clear();
            has_knet_transport = false;
            iface_lines.clear();
            interface_line = it.line;
        } else if (sub == "logging.logger_subsys" || sub == "logging.logging_daemon") {
            subsys_items.clear();
            has_subsys = false;
            has_daemon_name = false;
        } else if (sub == "nodelist") {
            node_number = 0;
        }
        if (sub == "nodelist.node")
            out.section_lines["nodelist.node." + std::to_string(node_number)] = it.line;
        else if (!out.section_lines.count(sub))
            out.section_lines[sub] = it.line;
        if (auto e = walk(s.child(it), sub, ns))
            return e;
        // corosync reports a refusal at section end on the line of the closing brace
        const Section& child = s.child(it);
        if (auto e = section_end(sub, ns, child.end_line ? child.end_line : it.line))
            return e;
    }
    return std::nullopt;
}

}  // namespace

Result<CmapBuild, Diag> build_cmap(const Section& root, const std::string& file,
                                   const IdLookup& ids) {
    Walker w(file, ids);
    if (auto e = w.walk(root, "", State::Normal))
        return Err{*e};
    return std::move(w.out);
}

std::optional<Diag> add_uidgid_file(const Section& root, const std::string& file,
                                    const IdLookup& ids, Cmap& keys) {
    // exec/coroparse.c uidgid_config_parser_cb: only `uidgid { uid: .. gid: .. }` sections.
    for (const auto& it : root.items) {
        if (!root.is_section(it))
            return Diag{file, it.line, "uidgid: Only uid and gid are allowed items"};
        const Section& sec = root.child(it);
        if (it.key != "uidgid")
            return Diag{file, it.line, "uidgid: Can't add subsection different than uidgid"};
        for (const auto& item : sec.items) {
            if (sec.is_section(item))
                return Diag{file, item.line, "uidgid: Can't add subsection different than uidgid"};
            if (auto e = uidgid_item(item, file, ids, keys))
                return e;
        }
    }
    return std::nullopt;
}

}  // namespace totem::conf
