// The typed configuration: corosync 3.1.7's totem_config, logging and quorum settings with its
// defaults and derived values (exec/totemconfig.c totem_config_read, totem_volatile_config_read,
// totem_config_validate, calc_knet_ping_timers; exec/logconfig.c; shared/spec/totem-wire.md §7-8).
//
// derive_config() turns the cmap key set (conf/cmap.hpp) into a Config, adds the keys corosync
// itself publishes at start-up (nodelist.local_node_pos, totem.interface.L.bindnetaddr,
// runtime.config.totem.*, generated nodeids for udp/udpu), and refuses what corosync refuses,
// with corosync's words. Only warnings that corosync also accepts are warnings.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "conf/cmap.hpp"
#include "conf/diag.hpp"
#include "conf/host.hpp"
#include "engine/totem/config.hpp"

namespace totem::conf {

enum class Transport { Knet, Udpu, Udp };
enum class LinkMode { Passive, Active, Rr };
enum class KnetTransport { Udp, Sctp };
enum class DebugLevel { Off, On, Trace };

inline constexpr unsigned kInterfaceMax = 8;            // INTERFACE_MAX
inline constexpr std::uint32_t kKnetMaxHost = 65536;    // KNET_MAX_HOST
inline constexpr std::uint32_t kMinimumTimeoutMs = 30;  // (1000 / HZ) * 3
inline constexpr std::uint32_t kMinimumHoldMs = 14;     // MINIMUM_TIMEOUT_HOLD

// One knet link (or the single udp/udpu interface). Zero means "not set by anything yet", as in
// corosync's zeroed totem_interface: get_interface_params and configure_link_params fill in
// the defaults (port 5405 + link, priority 1, ttl 1, precision 2048, pong count 2) for links
// that have an interface section or a local address; the ping timers come from the token.
struct Link {
    unsigned number = 0;
    bool configured = false;
    std::uint16_t mcastport = 0;
    std::uint8_t ttl = 0;
    std::uint8_t knet_link_priority = 0;
    KnetTransport knet_transport = KnetTransport::Udp;
    std::uint32_t knet_ping_interval_ms = 0;
    std::uint32_t knet_ping_timeout_ms = 0;
    std::uint32_t knet_ping_precision = 0;
    std::uint32_t knet_pong_count = 0;
    std::optional<IpAddr> bindnetaddr;
    std::optional<IpAddr> mcastaddr;
};

struct NodeEntry {
    unsigned pos = 0;  // N of nodelist.node.N
    std::uint32_t nodeid = 0;
    std::string name;  // may be empty
    std::optional<std::uint32_t> quorum_votes;
    std::optional<std::string> ring_addr_text[kInterfaceMax];
    std::optional<IpAddr> ring_addr[kInterfaceMax];
    int line = 0;  // line of the node { section
};

struct Totem {
    Transport transport = Transport::Knet;
    std::uint32_t version = 0;
    std::string cluster_name;
    std::uint64_t config_version = 0;
    IpVersion ip_version = IpVersion::V6_4;
    LinkMode link_mode = LinkMode::Passive;
    std::string crypto_model = "nss";
    std::string crypto_cipher = "none";
    std::string crypto_hash = "none";
    std::string keyfile;  // totem.keyfile, else the default file when crypto is on
    std::string key;      // totem.key (inline), when given
    bool crypto_enabled() const { return crypto_cipher != "none" || crypto_hash != "none"; }

    std::uint32_t token_ms = 3000;  // configured
    std::uint32_t token_coefficient_ms = 650;
    std::uint32_t effective_token_ms = 3000;
    std::uint32_t token_warning_pct = 75;
    std::uint32_t token_retransmit_ms = 714;
    std::uint32_t hold_ms = 561;
    std::uint32_t token_retransmits_before_loss_const = 4;
    std::uint32_t join_ms = 50;
    std::uint32_t send_join_ms = 0;
    std::uint32_t consensus_ms = 3600;
    std::uint32_t merge_ms = 200;
    std::uint32_t downcheck_ms = 1000;
    std::uint32_t fail_recv_const = 2500;
    std::uint32_t seqno_unchanged_const = 30;
    std::uint32_t heartbeat_failures_allowed = 0;
    std::uint32_t max_network_delay_ms = 50;
    std::uint32_t window_size = 50;
    std::uint32_t max_messages = 17;
    std::uint32_t miss_count_const = 5;
    std::uint32_t knet_pmtud_interval_s = 30;
    std::uint32_t knet_mtu = 0;
    std::uint32_t knet_compression_threshold = 0;
    std::int32_t knet_compression_level = 0;
    std::string knet_compression_model = "none";
    bool block_unlisted_ips = true;
    bool cancel_token_hold_on_retransmit = false;
    std::uint32_t netmtu = 65536;  // 1500 for udp/udpu
    bool clear_node_high_bit = false;
    Link links[kInterfaceMax];
};

struct Quorum {
    std::string provider;  // "" = no quorum provider
    std::optional<std::uint32_t> expected_votes;
    bool two_node = false;
    bool wait_for_all = false;  // defaults to two_node
    bool last_man_standing = false;
    std::uint32_t last_man_standing_window_ms = 10000;
    bool auto_tie_breaker = false;
    std::string auto_tie_breaker_node = "lowest";
    bool allow_downscale = false;
    bool expected_votes_tracking = false;
};

struct LogTarget {
    std::optional<bool> to_stderr, to_syslog, to_logfile;
    std::optional<std::string> logfile, syslog_facility, syslog_priority, logfile_priority;
    std::optional<DebugLevel> debug;
};

struct Logging {
    bool to_stderr = true;
    bool to_syslog = true;
    bool to_logfile = false;
    std::string logfile;
    std::string syslog_facility = "daemon";
    std::string syslog_priority = "info";
    std::string logfile_priority = "info";
    DebugLevel debug = DebugLevel::Off;
    std::string timestamp = "off";  // on, hires, off
    bool fileline = false;
    bool function_name = false;
    bool blackbox = true;
    std::vector<std::pair<std::string, LogTarget>> subsys;  // logger_subsys overrides
};

struct Config {
    std::string file;
    Totem totem;
    std::vector<NodeEntry> nodes;  // in nodelist order
    std::optional<unsigned> local_node_pos;
    std::uint32_t local_nodeid = 0;
    Quorum quorum;
    Logging logging;
    Cmap keys;  // the full key set, derived keys included

    const NodeEntry* local_node() const;
};

struct DeriveOptions {
    std::optional<std::uint32_t> local_nodeid;  // override: never look at the host
    std::string default_keyfile = "/etc/corosync/authkey";
    // Opens (creating) a logfile as corosync does while reading the logging section; returns
    // why it cannot, as strerror text and errno. Unset: logfiles are not checked (tools, tests).
    std::function<std::optional<std::pair<std::string, int>>(const std::string&)> open_logfile;
};

struct Derived {
    Config config;
    std::vector<Diag> warnings;
};

Result<Derived, Diag> derive_config(CmapBuild build, const std::string& file, const HostEnv& host,
                                    const DeriveOptions& opts = {});

// The values the Totem core runs with.
SrpConfig to_srp_config(const Config& c);

// totemconfig.c totem_change_notify → totem_volatile_config_read + validate: the volatile
// totem settings of `t` re-read from the totem.* keys of `keys` (defaults for missing ones;
// the token grows by token_coefficient per ring0 member past 2), their runtime.config.totem.*
// keys written into `keys`. Returns validation's complaint, if any (corosync logs it and
// keeps running with the values read).
std::optional<std::string> reread_volatile(Cmap& keys, Totem& t, std::size_t ring0_members);

}  // namespace totem::conf
