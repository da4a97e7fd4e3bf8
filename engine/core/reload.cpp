// A configuration reload as corosync 3.1.7 applies it when cfg's RELOAD_CONFIG is delivered
// (exec/cfg.c message_handler_req_exec_cfg_reload_config): the file's keys replace the live
// ones under the reloadable prefixes, keys that cannot change at run time keep their value
// with corosync's log line, and the totem timers take their new values.
#include "common/assert.hpp"
#include "engine/core/core.hpp"

namespace totem::core {

using services::Value;

namespace {

// remove_ro_entries: keys a reload never changes (corosync built with knet crypto
// reconfiguration: the crypto keys are not in this list).
constexpr const char* fixed_keys[] = {
    "totem.version",
    "totem.threads",
    "totem.ip_version",
    "totem.rrp_mode",
    "totem.netmtu",
    "totem.interface.ringnumber",
    "totem.interface.bindnetaddr",
    "totem.interface.mcastaddr",
    "totem.interface.broadcast",
    "totem.interface.mcastport",
    "totem.interface.ttl",
    "totem.transport",
    "totem.cluster_name",
    "quorum.provider",
    "system.move_to_root_cgroup",
    "system.allow_knet_handle_fallback",
    "system.sched_rr",
    "system.priority",
    "system.qb_ipc_type",
    "system.state_dir",
};
// totemd does not reconfigure crypto at run time (see docs/protocol/deviations.md): these keep
// their value too, with the same log line.
constexpr const char* crypto_keys[] = {"totem.secauth",       "totem.crypto_hash",
                                       "totem.crypto_cipher", "totem.crypto_model",
                                       "totem.keyfile",       "totem.key"};
// remove_deleted_entries' prefixes.
constexpr const char* reload_prefixes[] = {"logging.", "totem.",         "nodelist.",
                                           "quorum.",  "uidgid.config.", "nozzle."};

bool starts_with(std::string_view s, std::string_view p) {
    return s.substr(0, p.size()) == p;
}

}  // namespace

void NodeCore::apply_reload(Result<conf::Config, std::string> reloaded) {
    TOTEM_ASSERT(reload_pending_);
    reload_pending_ = false;
    std::int32_t status = 1;  // CS_OK
    keys_.set("config.totemconfig_reload_in_progress", Value::u8(1));
    if (!reloaded) {
        // corosync leaves config.totemconfig_reload_in_progress at 1 here (it jumps past the
        // end of the reload), and so does totemd.
        emit_log(LogLevel::error, "CFG", "Unable to reload config file: " + reloaded.error());
        last_reload_status_ = 7;  // CS_ERR_INVALID_PARAM
    } else {
        const conf::Config& next = *reloaded;
        keys_.set("config.reload_in_progress", Value::u8(1));
        // The staging map: what the file says (derived keys have no line), plus the node's
        // position, which corosync's staging map has too.
        std::map<std::string, Value> temp;
        for (const auto& [k, v] : next.keys) {
            if (v.line != 0 || k == "nodelist.local_node_pos")
                temp.insert_or_assign(k, Value::from_conf(v));
        }
        // remove_deleted_entries
        for (const char* prefix : reload_prefixes) {
            std::vector<std::string> gone;
            auto it = keys_.iter_init(prefix);
            while (auto item = keys_.iter_next(it))
                if (!temp.count(item->key))
                    gone.push_back(item->key);
            for (const auto& k : gone)
                keys_.erase(k);
        }
        // remove_ro_entries
        auto keep_fixed = [&](const char* key) {
            const Value* live = keys_.find(key);
            auto it = temp.find(key);
            const bool same = live && it != temp.end() && *live == it->second;
            if (!same && it != temp.end()) {
                temp.erase(it);
                emit_log(LogLevel::notice, "CFG",
                         std::string("Modified entry '") + key +
                             "' in corosync.conf cannot be changed at run-time");
            }
        };
        for (const char* key : fixed_keys)
            keep_fixed(key);
        for (const char* key : crypto_keys)
            keep_fixed(key);
        // icmap_copy_map
        for (const auto& [k, v] : temp)
            keys_.set(k, v);
        // The running values: totem timers (runtime.config.totem.*, except the knet link
        // timers, which corosync sets only when links are configured), the nodelist, quorum
        // and logging settings. Fixed settings keep their running value.
        for (const auto& [k, v] : next.keys)
            if (starts_with(k, "runtime.config.totem.") &&
                !starts_with(k, "runtime.config.totem.interface."))
                keys_.set(k, Value::from_conf(v));
        conf::Config updated = config_;
        conf::Totem& t = updated.totem;  // the running settings; the volatile ones change
        const conf::Totem& n = next.totem;
        t.config_version = n.config_version;
        t.token_ms = n.token_ms;
        t.token_coefficient_ms = n.token_coefficient_ms;
        t.effective_token_ms = n.effective_token_ms;
        t.token_warning_pct = n.token_warning_pct;
        t.token_retransmit_ms = n.token_retransmit_ms;
        t.hold_ms = n.hold_ms;
        t.token_retransmits_before_loss_const = n.token_retransmits_before_loss_const;
        t.join_ms = n.join_ms;
        t.send_join_ms = n.send_join_ms;
        t.consensus_ms = n.consensus_ms;
        t.merge_ms = n.merge_ms;
        t.downcheck_ms = n.downcheck_ms;
        t.fail_recv_const = n.fail_recv_const;
        t.seqno_unchanged_const = n.seqno_unchanged_const;
        t.heartbeat_failures_allowed = n.heartbeat_failures_allowed;
        t.max_network_delay_ms = n.max_network_delay_ms;
        t.window_size = n.window_size;
        t.max_messages = n.max_messages;
        t.miss_count_const = n.miss_count_const;
        t.knet_pmtud_interval_s = n.knet_pmtud_interval_s;
        t.knet_mtu = n.knet_mtu;
        t.knet_compression_threshold = n.knet_compression_threshold;
        t.knet_compression_level = n.knet_compression_level;
        t.knet_compression_model = n.knet_compression_model;
        t.block_unlisted_ips = n.block_unlisted_ips;
        t.cancel_token_hold_on_retransmit = n.cancel_token_hold_on_retransmit;
        updated.nodes = next.nodes;
        updated.local_node_pos = next.local_node_pos;
        const std::string provider = config_.quorum.provider;
        updated.quorum = next.quorum;
        updated.quorum.provider = provider;
        updated.logging = next.logging;
        config_ = std::move(updated);
        SrpConfig srp = conf::to_srp_config(config_);
        if (options_.srp)
            srp = *options_.srp;  // the simulator's timers
        stack_.reconfigure(srp);
        last_reload_status_ = status;
        keys_.set("config.reload_status", Value::i32(status));
        keys_.set("config.totemconfig_reload_in_progress", Value::u8(0));
        keys_.set("config.reload_in_progress", Value::u8(0));
    }
    for (auto& s : services_)
        if (s)
            s->config_reloaded();
    for (auto* s : others_)
        s->config_reloaded();
}

}  // namespace totem::core
