// The keys the node core publishes: at start-up (exec/service.c, exec/main.c), on
// configuration changes, the stats map (exec/stats.c) and the keys that trigger actions.
#include <cinttypes>
#include <cstdio>

#include "common/assert.hpp"
#include "engine/core/core.hpp"

namespace totem::core {

using services::Value;

void NodeCore::init_keys() {
    // (each service's keys were published when it was linked: register_service)
    // exec/main.c corosync_fplay_control_init and corosync_force_gather_init.
    constexpr std::int32_t all =
        services::kTrackAdd | services::kTrackDelete | services::kTrackModify;
    for (const char* key : {"runtime.blackbox.dump_flight_data", "runtime.blackbox.dump_state",
                            "runtime.force_gather"}) {
        keys_.set(key, Value::str("no"));
        auto t = keys_.add_track(key, all, 0);
        TOTEM_ASSERT(t.ok());
        core_tracks_.push_back(*t);
    }
    // totemconfig.c totem_config_keys_init: a change of a totem.* key re-reads the volatile
    // totem settings (totem_change_notify).
    auto t = keys_.add_track("totem.", all | services::kTrackPrefix, 0);
    TOTEM_ASSERT(t.ok());
    core_tracks_.push_back(*t);
    keys_.take_notifications();  // nobody tracked anything before
}

namespace {

// The totem_config parameters totem_change_notify reacts to (totem_get_param_by_name), and
// token_coefficient.
bool volatile_totem_key(std::string_view key) {
    static constexpr std::string_view names[] = {"token",
                                                 "token_warning",
                                                 "token_retransmit",
                                                 "hold",
                                                 "token_retransmits_before_loss_const",
                                                 "join",
                                                 "send_join",
                                                 "consensus",
                                                 "merge",
                                                 "downcheck",
                                                 "fail_recv_const",
                                                 "seqno_unchanged_const",
                                                 "heartbeat_failures_allowed",
                                                 "max_network_delay",
                                                 "window_size",
                                                 "max_messages",
                                                 "miss_count_const",
                                                 "knet_pmtud_interval",
                                                 "knet_mtu",
                                                 "knet_compression_threshold",
                                                 "knet_compression_level",
                                                 "knet_compression_model",
                                                 "block_unlisted_ips",
                                                 "cancel_token_hold_on_retransmit",
                                                 "token_coefficient"};
    if (key.substr(0, 6) != "totem.")
        return false;
    key.remove_prefix(6);
    return std::find(std::begin(names), std::end(names), key) != std::end(names);
}

std::optional<conf::CmapValue> to_conf(const Value& v) {
    using conf::CmapValue;
    using VT = services::ValueType;
    switch (v.type()) {
        case VT::u8:
            return CmapValue::uint(conf::ValueType::U8, *v.as_u8());
        case VT::u16:
            return CmapValue::uint(conf::ValueType::U16, *v.as_u16());
        case VT::u32:
            return CmapValue::uint(conf::ValueType::U32, *v.as_u32());
        case VT::u64:
            return CmapValue::uint(conf::ValueType::U64, *v.as_u64());
        case VT::i8:
            return CmapValue::sint(conf::ValueType::I8, *v.as_i8());
        case VT::i16:
            return CmapValue::sint(conf::ValueType::I16, *v.as_i16());
        case VT::i32:
            return CmapValue::sint(conf::ValueType::I32, *v.as_i32());
        case VT::i64:
            return CmapValue::sint(conf::ValueType::I64, *v.as_i64());
        case VT::str:
            return CmapValue::string(*v.as_string());
        default:
            return std::nullopt;  // float, double, binary: no totem setting has such a type
    }
}

}  // namespace

// totem_change_notify: re-read every volatile totem setting from the totem.* keys (a deleted
// key takes its default), publish the runtime.config.totem.* keys and run with them. Skipped
// while a reload applies its file (it reconfigures everything itself at its end).
void NodeCore::totem_key_changed(const services::Notification& n) {
    if (!volatile_totem_key(n.key))
        return;
    if (reload_pending_ || keys_.get_u8("config.reload_in_progress").value_or(0) != 0)
        return;
    conf::Cmap cm;
    auto it = keys_.iter_init("totem.");
    while (auto item = keys_.iter_next(it))
        if (const Value* value = keys_.find(item->key))
            if (auto v = to_conf(*value))
                cm.insert_or_assign(item->key, *v);
    conf::Totem t = config_.totem;
    const auto complaint = conf::reread_volatile(cm, t, config_.nodes.size());
    emit_log(LogLevel::debug, "TOTEM",
             "Totem related config key changed. Dumping actual totem config.");
    if (complaint)
        emit_log(LogLevel::error, "TOTEM", *complaint);
    for (const auto& [k, v] : cm)
        if (k.rfind("runtime.config.totem.", 0) == 0)
            keys_.set(k, Value::from_conf(v));
    config_.totem = t;
    SrpConfig srp = conf::to_srp_config(config_);
    if (options_.srp)
        srp = *options_.srp;  // the simulator's timers
    stack_.reconfigure(srp);
}

// exec/service.c corosync_service_link_and_init: the keys of one loaded service.
void NodeCore::publish_service_keys(const services::ServiceInfo& info) {
    const std::string id = std::to_string(info.id);
    const std::string ic = "internal_configuration.service." + id;
    keys_.set(ic + ".name", Value::str(info.config_name));
    keys_.set(ic + ".ver", Value::u32(0));
    const std::string rs = "runtime.services." + std::string(info.short_name);
    keys_.set(rs + ".service_id", Value::u16(info.id));
    for (std::uint16_t fn = 0; fn < info.exec_count; ++fn) {
        keys_.set(rs + "." + std::to_string(fn) + ".tx", Value::u64(0));
        keys_.set(rs + "." + std::to_string(fn) + ".rx", Value::u64(0));
    }
    emit_log(LogLevel::notice, "SERV",
             "Service engine loaded: " + std::string(info.engine_name) + " [" + id + "]");
}

void NodeCore::core_key_changed(const services::Notification& n) {
    if (std::find(core_tracks_.begin(), core_tracks_.end(), n.track) == core_tracks_.end())
        return;
    if (n.key.rfind("totem.", 0) == 0) {
        totem_key_changed(n);
        return;
    }
    if (n.key == "runtime.blackbox.dump_flight_data") {
        outbox_.push_back(services::DumpBlackboxAction{});
        return;
    }
    if (n.key == "runtime.blackbox.dump_state") {
        emit_log(LogLevel::notice, "MAIN", "State dump requested (no service keeps a dump)");
        return;
    }
    if (n.key == "runtime.force_gather") {
        const auto v = keys_.get_string(n.key);
        if (v && *v == "no")
            return;
        keys_.set(n.key, Value::str("no"));
        emit_log(LogLevel::error, "MAIN", "Forcing into GATHER state");
        stack_.force_gather(now_);
    }
}

// exec/stats.c stats_map_set → totempg_stats_clear, cs_ipcs_clear_stats, the schedmiss list.
// totemsrp_stats_clear zeroes the srp counters whatever the flags, so stats.clear.knet
// (TOTEMPG_STATS_CLEAR_TRANSPORT) clears stats.srp.* as well as the transport's.
void NodeCore::clear_stats(std::uint8_t groups) {
    if (groups & (services::kStatsClearTotem | services::kStatsClearKnet))
        stack_.clear_stats();
    if (groups & services::kStatsClearIpc) {
        for (auto& [id, c] : conns_)
            c.invalid_request = c.overload = 0;
        ipc_closed_ = 0;
    }
    if (groups & services::kStatsClearSchedmiss)
        schedmiss_.clear();
    if (groups & (services::kStatsClearKnet | services::kStatsClearIpc))
        outbox_.push_back(services::ClearStatsAction{groups});
}

namespace {

// Builds the stats map's full key set, then makes the store equal to it.
class StatsWriter {
  public:
    void u8(const std::string& k, std::uint64_t v) {
        add(k, Value::u8(static_cast<std::uint8_t>(v)));
    }
    void u32(const std::string& k, std::uint64_t v) {
        add(k, Value::u32(static_cast<std::uint32_t>(v)));
    }
    void u64(const std::string& k, std::uint64_t v) { add(k, Value::u64(v)); }
    void i32(const std::string& k, std::int64_t v) {
        add(k, Value::i32(static_cast<std::int32_t>(v)));
    }
    void str(const std::string& k, const std::string& v) { add(k, Value::str(v)); }
    void f32(const std::string& k, float v) { add(k, Value::f32(v)); }
    void apply(services::KeyStore& store) {
        std::vector<std::string> gone;
        auto it = store.iter_init("");
        while (auto item = store.iter_next(it))
            if (!keys_.count(item->key))
                gone.push_back(item->key);
        for (const auto& k : gone)
            store.erase(k);
        for (auto& [k, v] : keys_)
            store.set(k, v);
    }

  private:
    void add(const std::string& k, Value v) { keys_.insert_or_assign(k, std::move(v)); }
    std::map<std::string, Value> keys_;
};

}  // namespace

void NodeCore::refresh_stats_map() {
    StatsWriter w;
    const Srp& srp = stack_.srp();
    const SrpStats& s = srp.stats();
    w.u32("stats.pg.msg_queue_avail", srp.send_queue_avail());
    w.u32("stats.pg.msg_reserved", 0);
    const std::string p = "stats.srp.";
    w.u64(p + "orf_token_tx", s.orf_token_tx);
    w.u64(p + "orf_token_rx", s.orf_token_rx);
    w.u64(p + "memb_merge_detect_tx", s.memb_merge_detect_tx);
    w.u64(p + "memb_merge_detect_rx", s.memb_merge_detect_rx);
    w.u64(p + "memb_join_tx", s.memb_join_tx);
    w.u64(p + "memb_join_rx", s.memb_join_rx);
    w.u64(p + "mcast_tx", s.mcast_tx);
    w.u64(p + "mcast_retx", s.mcast_retx);
    w.u64(p + "mcast_rx", s.mcast_rx);
    w.u64(p + "memb_commit_token_tx", s.memb_commit_token_tx);
    w.u64(p + "memb_commit_token_rx", s.memb_commit_token_rx);
    w.u64(p + "token_hold_cancel_tx", s.token_hold_cancel_tx);
    w.u64(p + "token_hold_cancel_rx", s.token_hold_cancel_rx);
    w.u64(p + "operational_entered", s.operational_entered);
    w.u64(p + "operational_token_lost", s.operational_token_lost);
    w.u64(p + "gather_entered", s.gather_entered);
    w.u64(p + "gather_token_lost", s.gather_token_lost);
    w.u64(p + "commit_entered", s.commit_entered);
    w.u64(p + "commit_token_lost", s.commit_token_lost);
    w.u64(p + "recovery_entered", s.recovery_entered);
    w.u64(p + "recovery_token_lost", s.recovery_token_lost);
    w.u64(p + "consensus_timeouts", s.consensus_timeouts);
    w.u64(p + "rx_msg_dropped", s.rx_msg_dropped);
    const auto last = srp.last_token_rx();
    w.u64(p + "time_since_token_last_received",
          last ? static_cast<std::uint64_t>((now_ - *last).to_ms()) : 0);
    w.u32(p + "continuous_gather", s.continuous_gather);
    w.u32(p + "continuous_sendmsg_failures", s.continuous_sendmsg_failures);
    w.u8(p + "firewall_enabled_or_nic_failure", s.firewall_enabled_or_nic_failure);
    w.u32(p + "mtt_rx_token", s.mtt_rx_token);
    w.u32(p + "avg_token_workload", s.avg_token_workload);
    w.u32(p + "avg_backlog_calc", s.avg_backlog_calc);

    // totemd's own (stats.totemd.*): what corosync has no key for.
    const std::string t = "stats.totemd.";
    w.u64(t + "srp.token_retransmits", s.token_retransmits);
    w.u64(t + "srp.late_token_not_held", s.late_token_not_held);
    w.u64(t + "srp.rtr_requested", s.rtr_requested);
    w.u64(t + "srp.pauses_detected", s.pauses_detected);
    w.u64(t + "srp.send_queue_full", s.send_queue_full);
    for (std::size_t i = 0; i < s.gather_reasons.size(); ++i) {
        std::string name(to_string(static_cast<GatherReason>(i)));
        for (char& ch : name)
            if (ch == ' ')
                ch = '_';
        w.u64(t + "srp.gather_reason." + name, s.gather_reasons[i]);
    }
    const TransportCounters& tc = transport_.counters;
    w.u64(t + "transport.rx_dropped_auth", tc.rx_dropped_auth);
    w.u64(t + "transport.rx_dropped_replay", tc.rx_dropped_replay);
    w.u64(t + "transport.rx_dropped_unknown_sender", tc.rx_dropped_unknown_sender);
    w.u64(t + "transport.rx_dropped_config_mismatch", tc.rx_dropped_config_mismatch);
    w.u64(t + "transport.rx_dropped_malformed", tc.rx_dropped_malformed);
    w.u64(t + "transport.tx_errors", tc.tx_errors);
    const sync::SyncStats& ss = sync_.stats();
    w.u64(t + "sync.started", ss.syncs_started);
    w.u64(t + "sync.completed", ss.syncs_completed);
    w.u64(t + "sync.aborted", ss.syncs_aborted);
    w.u64(t + "sync.dropped_old_ring", ss.old_ring_dropped);
    w.u64(t + "sync.dropped_malformed", ss.malformed);
    w.u64(t + "sync.dropped_other_endian", ss.other_endian);
    w.u64(t + "ipc.overflow_disconnects", ipc_.overflow_disconnects);
    std::vector<std::pair<std::string, std::uint64_t>> own;
    for (const auto& svc : services_) {
        if (!svc)
            continue;
        own.clear();
        svc->stats_keys(own);
        const std::string base = t + std::string(svc->info().short_name) + ".";
        for (const auto& [name, value] : own)
            w.u64(base + name, value);
    }

    // IPC (exec/stats.c: cs_ipcs_conn_stats, ipcs global)
    w.u64("stats.ipcs.global.active", conns_.size());
    w.u64("stats.ipcs.global.closed", ipc_closed_);
    std::map<ConnId, const IpcConnStats*> driver;
    for (const auto& cs : ipc_.conns)
        driver[cs.conn] = &cs;
    for (const auto& [id, c] : conns_) {
        char ptr[32];
        std::snprintf(ptr, sizeof ptr, "%p", reinterpret_cast<void*>(c.info.pointer));
        const std::string k = "stats.ipcs.service" + std::to_string(c.info.service) + "." +
                              std::to_string(c.info.pid) + "." + ptr + ".";
        const IpcConnStats none{};
        const IpcConnStats& d = driver.count(id) ? *driver[id] : none;
        w.i32(k + "queueing", d.queueing);
        w.u32(k + "queued", d.queued);
        w.u64(k + "invalid_request", c.invalid_request);
        w.u64(k + "overload", c.overload);
        w.u32(k + "sent", d.sent);
        w.str(k + "procname", c.info.procname);
        w.u64(k + "requests", d.requests);
        w.u64(k + "responses", d.responses);
        w.u64(k + "dispatched", d.dispatched);
        w.u64(k + "send_retries", d.send_retries);
        w.u64(k + "recv_retries", d.recv_retries);
        w.u32(k + "flow_control", static_cast<std::uint32_t>(d.flow_control));
        w.u64(k + "flow_control_count", d.flow_control_count);
    }

    // knet (exec/stats.c: the handle and every configured link of every node)
    if (transport_.knet.valid) {
        const KnetHandleStats& h = transport_.knet;
        const std::string k = "stats.knet.handle.";
        w.u64(k + "tx_uncompressed_packets", h.tx_uncompressed_packets);
        w.u64(k + "tx_compressed_packets", h.tx_compressed_packets);
        w.u64(k + "tx_compressed_original_bytes", h.tx_compressed_original_bytes);
        w.u64(k + "tx_compressed_size_bytes", h.tx_compressed_size_bytes);
        w.u64(k + "tx_compress_time_min", h.tx_compress_time_min);
        w.u64(k + "tx_compress_time_max", h.tx_compress_time_max);
        w.u64(k + "tx_compress_time_ave", h.tx_compress_time_ave);
        w.u64(k + "rx_compressed_packets", h.rx_compressed_packets);
        w.u64(k + "rx_compressed_original_bytes", h.rx_compressed_original_bytes);
        w.u64(k + "rx_compressed_size_bytes", h.rx_compressed_size_bytes);
        w.u64(k + "rx_compress_time_min", h.rx_compress_time_min);
        w.u64(k + "rx_compress_time_max", h.rx_compress_time_max);
        w.u64(k + "rx_compress_time_ave", h.rx_compress_time_ave);
        w.u64(k + "tx_crypt_time_min", h.tx_crypt_time_min);
        w.u64(k + "tx_crypt_time_max", h.tx_crypt_time_max);
        w.u64(k + "tx_crypt_time_ave", h.tx_crypt_time_ave);
        w.u64(k + "tx_crypt_byte_overhead", h.tx_crypt_byte_overhead);
        w.u64(k + "tx_crypt_packets", h.tx_crypt_packets);
        w.u64(k + "rx_crypt_time_min", h.rx_crypt_time_min);
        w.u64(k + "rx_crypt_time_max", h.rx_crypt_time_max);
        w.u64(k + "rx_crypt_time_ave", h.rx_crypt_time_ave);
        w.u64(k + "rx_crypt_packets", h.rx_crypt_packets);
    }
    if (transport_.transport == "knet") {
        for (const NodeStatus& ns : transport_.nodes) {
            for (const LinkStatus& l : ns.links) {
                const std::string k = "stats.knet.node" + std::to_string(ns.nodeid) + ".link" +
                                      std::to_string(l.link) + ".";
                w.u8(k + "enabled", l.enabled);
                w.u8(k + "connected", l.connected);
                w.u32(k + "mtu", l.mtu);
                w.u64(k + "tx_data_packets", l.tx_data_packets);
                w.u64(k + "rx_data_packets", l.rx_data_packets);
                w.u64(k + "tx_data_bytes", l.tx_data_bytes);
                w.u64(k + "rx_data_bytes", l.rx_data_bytes);
                w.u64(k + "tx_ping_packets", l.tx_ping_packets);
                w.u64(k + "rx_ping_packets", l.rx_ping_packets);
                w.u64(k + "tx_ping_bytes", l.tx_ping_bytes);
                w.u64(k + "rx_ping_bytes", l.rx_ping_bytes);
                w.u64(k + "tx_pong_packets", l.tx_pong_packets);
                w.u64(k + "rx_pong_packets", l.rx_pong_packets);
                w.u64(k + "tx_pong_bytes", l.tx_pong_bytes);
                w.u64(k + "rx_pong_bytes", l.rx_pong_bytes);
                w.u64(k + "tx_pmtu_packets", l.tx_pmtu_packets);
                w.u64(k + "rx_pmtu_packets", l.rx_pmtu_packets);
                w.u64(k + "tx_pmtu_bytes", l.tx_pmtu_bytes);
                w.u64(k + "rx_pmtu_bytes", l.rx_pmtu_bytes);
                w.u64(k + "tx_total_packets", l.tx_total_packets);
                w.u64(k + "rx_total_packets", l.rx_total_packets);
                w.u64(k + "tx_total_bytes", l.tx_total_bytes);
                w.u64(k + "rx_total_bytes", l.rx_total_bytes);
                w.u64(k + "tx_total_errors", l.tx_total_errors);
                w.u64(k + "rx_total_retries", l.rx_total_retries);
                w.u32(k + "tx_pmtu_errors", l.tx_pmtu_errors);
                w.u32(k + "tx_pmtu_retries", l.tx_pmtu_retries);
                w.u32(k + "tx_ping_errors", l.tx_ping_errors);
                w.u32(k + "tx_ping_retries", l.tx_ping_retries);
                w.u32(k + "tx_pong_errors", l.tx_pong_errors);
                w.u32(k + "tx_pong_retries", l.tx_pong_retries);
                w.u32(k + "tx_data_errors", l.tx_data_errors);
                w.u32(k + "tx_data_retries", l.tx_data_retries);
                w.u32(k + "latency_min", l.latency_min_us);
                w.u32(k + "latency_max", l.latency_max_us);
                w.u32(k + "latency_ave", l.latency_ave_us);
                w.u32(k + "latency_samples", l.latency_samples);
                w.u32(k + "down_count", l.down_count);
                w.u32(k + "up_count", l.up_count);
            }
        }
    }
    for (std::size_t i = 0; i < schedmiss_.size(); ++i) {
        const std::string k = "stats.schedmiss." + std::to_string(i) + ".";
        w.u64(k + "timestamp", schedmiss_[i].epoch_ms);
        w.f32(k + "delay", static_cast<float>(schedmiss_[i].gap.us) / 1000.0f);
    }
    w.apply(stats_);
}

}  // namespace totem::core
