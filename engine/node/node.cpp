#include "engine/node/node.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "engine/node/log.hpp"

namespace totem::node {

namespace {

using conf::CmapValue;
using conf::ValueType;

constexpr std::array<const char*, 8> kServiceNames = {"cmap",  "cfg",        "cpg", "quorum",
                                                      "pload", "votequorum", "mon", "wd"};
constexpr std::uint16_t kPloadService = 4;
constexpr std::uint16_t kPloadMcast = 1;
constexpr std::size_t kExecHeaderSize = 16;  // qb_ipc_request_header: id i32 @0, size i32 @8

std::string service_name(std::uint16_t id) {
    return id < kServiceNames.size() ? kServiceNames[id] : "service" + std::to_string(id);
}

std::string node_list(const NodeList& l) {
    std::string s;
    for (NodeId n : l)
        s += (s.empty() ? "" : " ") + std::to_string(n);
    return s;
}

void log_effect(const LogEffect& l) {
    Logger::log(l.level, "TOTEM", l.text);
}

// The configuration check between totemd nodes travels in a totempg group of its own, which
// corosync nodes never join (they drop it unread): cluster_name and a digest of the nodelist.
constexpr std::string_view kConfigCheckGroup = "totemd";
constexpr std::uint32_t kConfigCheckMagic = 0x4B434454;  // "TDCK"

bool contains_node(const NodeList& l, NodeId n) {
    return std::find(l.begin(), l.end(), n) != l.end();
}

// FNV-1a over the nodelist in nodeid order: nodeid and every ringN_addr. Detects a different
// nodelist; it is not a security measure (crypto authenticates the nodes).
std::uint64_t nodelist_digest(const conf::Config& c) {
    std::vector<const conf::NodeEntry*> nodes;
    for (const auto& n : c.nodes)
        nodes.push_back(&n);
    std::sort(nodes.begin(), nodes.end(), [](auto* a, auto* b) { return a->nodeid < b->nodeid; });
    std::uint64_t h = 14695981039346656037ull;
    auto mix = [&h](std::string_view s) {
        for (unsigned char ch : s)
            h = (h ^ ch) * 1099511628211ull;
        h = (h ^ 0xff) * 1099511628211ull;
    };
    for (const auto* n : nodes) {
        mix(std::to_string(n->nodeid));
        for (unsigned l = 0; l < conf::kInterfaceMax; ++l)
            mix(n->ring_addr[l] ? n->ring_addr[l]->str() : "");
    }
    return h;
}

}  // namespace

Result<std::uint64_t, std::string> load_ring_seq(const std::string& state_dir, NodeId nodeid) {
    const std::string path = state_dir + "/ringid_" + std::to_string(nodeid);
    int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0 && errno == ENOENT) {
        fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0)
            return Err{"Couldn't create " + path + ": " + std::strerror(errno)};
        std::uint64_t zero = 0;
        const bool ok = ::write(fd, &zero, sizeof zero) == sizeof zero;
        ::close(fd);
        if (!ok)
            return Err{"Couldn't write " + path};
        return std::uint64_t{0};
    }
    if (fd < 0)
        return Err{"Couldn't open " + path + ": " + std::strerror(errno)};
    std::uint64_t seq = 0;
    const ssize_t n = ::read(fd, &seq, sizeof seq);
    ::close(fd);
    if (n != static_cast<ssize_t>(sizeof seq))
        return Err{"Couldn't read " + path + ": short file"};
    return seq;
}

Node::Node(boost::asio::io_context& io, const conf::Config& config,
           std::unique_ptr<Transport> transport, NodeOptions options)
    : io_(io),
      config_(config),
      transport_(std::move(transport)),
      options_(std::move(options)),
      origin_(std::chrono::steady_clock::now()),
      stack_(conf::to_srp_config(config), config.local_nodeid, options_.stored_ring_seq,
             config.local_nodeid),
      timer_(io),
      pause_timer_(io),
      pload_timer_(io),
      keys_(config.keys) {
    transport_->set_receiver([this](ByteView d) { on_datagram(d); });
}

Node::~Node() = default;

Instant Node::now() const {
    return Instant{std::chrono::duration_cast<std::chrono::microseconds>(
                       std::chrono::steady_clock::now() - origin_)
                       .count()};
}

void Node::start() {
    stack_.start(now());
    apply();
    last_pause_check_ = std::chrono::steady_clock::now();
    schedule_pause_check();
    if (options_.pload_interval_ms)
        schedule_pload();
}

void Node::leave_and_stop(std::function<void()> done) {
    if (stopping_)
        return;
    stopping_ = true;
    stack_.leave(now());
    apply();
    timer_.cancel();
    pause_timer_.cancel();
    pload_timer_.cancel();
    transport_->stop();
    boost::asio::post(io_, std::move(done));
}

bool Node::mcast(std::string_view group, ByteView payload) {
    if (stopping_)
        return false;
    const bool ok = stack_.mcast(group, payload);
    apply();
    return ok;
}

void Node::on_datagram(ByteView datagram) {
    if (stopping_)
        return;
    stack_.on_packet(now(), datagram);
    apply();
}

void Node::apply() {
    // Handling an effect may produce more (a delivery can refuse a node): loop until quiet.
    for (auto effects = stack_.take_effects(); !effects.empty(); effects = stack_.take_effects())
        for (StackEffect& e : effects) {
            if (auto* s = std::get_if<SendEffect>(&e)) {
                transport_->send(s->target, s->datagram);
            } else if (auto* d = std::get_if<AppDeliverEffect>(&e)) {
                deliver(d->msg);
            } else if (auto* c = std::get_if<ConfChgEffect>(&e)) {
                confchg(*c);
            } else if (auto* p = std::get_if<PersistRingSeqEffect>(&e)) {
                persist_ring_seq(p->seq);
            } else if (auto* l = std::get_if<LogEffect>(&e)) {
                log_effect(*l);
            }  // TokenSentEffect: no sync layer here yet
        }
    if (!stopping_)
        arm_timer();
}

void Node::arm_timer() {
    auto deadline = stack_.next_deadline();
    if (!deadline) {
        timer_.cancel();
        return;
    }
    timer_.expires_at(origin_ + std::chrono::microseconds(deadline->us));
    timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec || stopping_)
            return;
        stack_.on_timer(now());
        apply();
    });
}

// corosync's pause timer: runs every token/5; a late run means the process was not scheduled.
void Node::schedule_pause_check() {
    const auto interval = std::chrono::milliseconds(config_.totem.effective_token_ms / 5);
    pause_timer_.expires_after(interval);
    pause_timer_.async_wait([this, interval](const boost::system::error_code& ec) {
        if (ec || stopping_)
            return;
        const auto t = std::chrono::steady_clock::now();
        const auto late =
            std::chrono::duration_cast<std::chrono::milliseconds>(t - last_pause_check_ - interval);
        last_pause_check_ = t;
        const auto threshold = std::chrono::milliseconds(config_.totem.effective_token_ms / 2);
        if (late > threshold) {
            Logger::log(LogLevel::warning, "MAIN",
                        "Corosync main process was not scheduled for " +
                            std::to_string(late.count()) + " ms (threshold is " +
                            std::to_string(threshold.count()) +
                            " ms). Consider token timeout increase.");
            const std::string k = "stats.schedmiss." + std::to_string(schedmiss_count_++ % 10);
            set_key(k + ".delay",
                    CmapValue::uint(ValueType::U64, static_cast<std::uint64_t>(late.count())));
            stack_.on_pause(now(), Duration::ms(late.count()));
            apply();
        }
        schedule_pause_check();
    });
}

void Node::schedule_pload() {
    pload_timer_.expires_after(std::chrono::milliseconds(options_.pload_interval_ms));
    pload_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec || stopping_)
            return;
        if (stack_.srp().state() == MembState::operational &&
            stack_.srp().members().size() >= options_.pload_min_members) {
            for (std::uint32_t i = 0; i < options_.pload_burst; ++i) {
                if (options_.pload_count && pload_sent_ >= options_.pload_count)
                    break;
                Bytes m;
                Writer h(m);
                h.u32((std::uint32_t{kPloadService} << 16) | kPloadMcast);  // id
                h.u32(0);
                h.u32(static_cast<std::uint32_t>(kExecHeaderSize + options_.pload_size));  // size
                h.u32(0);
                h.u64(pload_sent_);  // this sender's counter: every message is distinct
                m.resize(std::max<std::size_t>(m.size(), kExecHeaderSize + options_.pload_size), 0);
                if (!mcast("a", m))
                    break;
                pload_sent_++;
            }
            set_key("runtime.totemd.pload.sent", CmapValue::uint(ValueType::U64, pload_sent_));
        }
        schedule_pload();
    });
}

void Node::persist_ring_seq(std::uint64_t seq) {
    const std::string path = options_.state_dir + "/ringid_" + std::to_string(config_.local_nodeid);
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    bool ok = fd >= 0 && ::write(fd, &seq, sizeof seq) == sizeof seq;
    if (fd >= 0)
        ok = (::fsync(fd) == 0) && ok, ::close(fd);
    if (!ok)
        Logger::log(LogLevel::error, "MAIN",
                    "Couldn't store the ring id in " + path + ": " + std::strerror(errno));
}

Bytes Node::config_check_message() const {
    Bytes b;
    Writer w(b);
    w.u32(kConfigCheckMagic);
    w.u8(1);  // version
    w.u8(0);
    w.u16(static_cast<std::uint16_t>(config_.totem.cluster_name.size()));
    w.bytes(config_.totem.cluster_name);
    w.u64(nodelist_digest(config_));
    return b;
}

void Node::apply_refusals() {
    for (NodeId n : refusals_pending_)
        stack_.exclude(now(), n);
    refusals_pending_.clear();
}

void Node::config_check(const GroupMessage& m) {
    if (m.sender == config_.local_nodeid) {
        own_check_pending_ = false;
        apply_refusals();
        return;
    }
    Reader r(m.payload);
    const std::uint32_t magic = r.u32();
    const std::uint8_t version = r.u8();
    r.u8();
    const std::uint16_t len = r.u16();
    ByteView name = r.take(len);
    const std::uint64_t digest = r.u64();
    if (!r.ok() || magic != kConfigCheckMagic || version != 1) {
        set_key("stats.totemd.config_check_malformed",
                CmapValue::uint(ValueType::U64, ++config_check_malformed_));
        return;
    }
    const std::string theirs(name.begin(), name.end());
    std::string why;
    if (theirs != config_.totem.cluster_name)
        why = "its cluster_name is '" + theirs + "', ours is '" + config_.totem.cluster_name + "'";
    else if (digest != nodelist_digest(config_))
        why = "its nodelist differs from ours";
    if (why.empty())
        return;
    set_key("stats.totemd.config_mismatch", CmapValue::uint(ValueType::U64, ++config_mismatches_));
    if (contains_node(stack_.srp().excluded(), m.sender) ||
        contains_node(refusals_pending_, m.sender))
        return;
    Logger::log(LogLevel::warning, "MAIN",
                "Refusing node " + std::to_string(m.sender) + ": " + why);
    refusals_pending_.push_back(m.sender);
    if (!own_check_pending_)
        apply_refusals();
}

void Node::deliver(const GroupMessage& m) {
    if (on_deliver)
        on_deliver(m);
    if (std::find(m.groups.begin(), m.groups.end(), kConfigCheckGroup) != m.groups.end()) {
        config_check(m);
        return;
    }
    const bool group_a = std::find(m.groups.begin(), m.groups.end(), "a") != m.groups.end();
    if (!group_a) {
        // corosync's synchronisation engine (group "sync"): not implemented yet. Counted and
        // dropped; the first SERVICE_BUILD of each ring is logged with the services it names.
        const std::uint64_t n = ++dropped_sync_;
        set_key("stats.totemd.dropped.sync", CmapValue::uint(ValueType::U64, n));
        Reader r(m.payload);
        const std::uint32_t id = r.u32();
        if (id == 1 && m.payload.size() >= 40 && sync_logged_ring_ != stack_.srp().ring_id()) {
            sync_logged_ring_ = stack_.srp().ring_id();
            Reader entries(ByteView(m.payload).subspan(32));
            const std::uint32_t count = std::min<std::uint32_t>(entries.u32(), 128);
            Reader list(ByteView(m.payload).subspan(40));
            std::string names;
            for (std::uint32_t i = 0; i < count && list.remaining() >= 4; ++i)
                names += (names.empty() ? "" : ", ") +
                         service_name(static_cast<std::uint16_t>(list.u32()));
            Logger::log(LogLevel::notice, "SYNC",
                        "Dropping synchronisation messages from node " + std::to_string(m.sender) +
                            " for services " + names +
                            ": service synchronisation is not implemented in this totemd yet");
        }
        return;
    }
    if (m.payload.size() < kExecHeaderSize) {
        set_key("stats.totemd.dropped.malformed_exec",
                CmapValue::uint(ValueType::U64, ++dropped_malformed_exec_));
        return;
    }
    Reader r(m.payload);
    const std::uint32_t id = r.u32();
    const auto service = static_cast<std::uint16_t>(id >> 16);
    const auto fn = static_cast<std::uint16_t>(id & 0xFFFF);
    const std::string svc = service_name(service);
    const std::string rx_key = "runtime.services." + svc + "." + std::to_string(fn) + ".rx";
    auto it = keys_.find(rx_key);
    set_key(rx_key, CmapValue::uint(ValueType::U64, it == keys_.end() ? 1 : it->second.u + 1));
    if (service == kPloadService && fn == kPloadMcast) {
        pload_received_++;
        pload_from_[m.sender]++;
        auto mix = [this](std::uint8_t b) {
            pload_digest_ = (pload_digest_ ^ b) * 1099511628211ull;
        };
        for (int i = 0; i < 4; ++i)
            mix(static_cast<std::uint8_t>(m.sender >> (8 * i)));
        for (std::uint8_t b : m.payload)
            mix(b);
        set_key("runtime.totemd.pload.received", CmapValue::uint(ValueType::U64, pload_received_));
        char hex[20];
        std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(pload_digest_));
        set_key("runtime.totemd.pload.digest", CmapValue::string(hex));
        if (pload_received_ % 100 == 1) {
            std::string from;
            for (auto [n, c] : pload_from_)
                from += (from.empty() ? "" : ", ") + std::to_string(n) + ": " + std::to_string(c);
            Logger::log(LogLevel::notice, "PLOAD",
                        "delivered " + std::to_string(pload_received_) +
                            " messages in agreed order (from node " + from + "); sent " +
                            std::to_string(pload_sent_));
        }
        return;
    }
    // Service exec messages of services that have not landed yet: counted and dropped.
    if (unknown_service_msgs_[service]++ == 0)
        Logger::log(LogLevel::notice, "MAIN",
                    "Dropping exec messages of service " + svc + " (" + std::to_string(service) +
                        ") from node " + std::to_string(m.sender) +
                        ": the service is not implemented in this totemd yet");
    set_key("stats.totemd.dropped." + svc,
            CmapValue::uint(ValueType::U64, unknown_service_msgs_[service]));
}

void Node::confchg(const ConfChgEffect& c) {
    if (on_confchg)
        on_confchg(c);
    if (c.type == ConfChgType::transitional) {
        for (NodeId n : c.left)
            set_key("runtime.members." + std::to_string(n) + ".status", CmapValue::string("left"));
        return;
    }
    config_changes_++;
    for (NodeId n : c.joined) {
        const std::string base = "runtime.members." + std::to_string(n);
        set_key(base + ".join_count", CmapValue::uint(ValueType::U32, ++join_count_[n]));
        set_key(base + ".status", CmapValue::string("joined"));
        std::string ip;
        for (const auto& node : config_.nodes) {
            if (node.nodeid != n)
                continue;
            for (unsigned l = 0; l < conf::kInterfaceMax; ++l)
                if (node.ring_addr_text[l])
                    ip += "r(" + std::to_string(l) + ") ip(" + *node.ring_addr_text[l] + ") ";
        }
        set_key(base + ".ip", CmapValue::string(ip));
    }
    const Srp& srp = stack_.srp();
    set_key("runtime.totem.ring_id", CmapValue::string(c.ring_id.str()));
    set_key("runtime.totem.members", CmapValue::string(node_list(c.members)));
    set_key("runtime.totem.config_changes", CmapValue::uint(ValueType::U64, config_changes_));
    std::string cause(to_string(srp.last_gather_reason()));
    if (srp.last_gather_node())
        cause += " (node " + std::to_string(srp.last_gather_node()) + ")";
    set_key("runtime.totem.last_change_cause", CmapValue::string(cause));
    Logger::log(LogLevel::notice, "QUORUM",
                "Members[" + std::to_string(c.members.size()) + "]: " + node_list(c.members));
    // No synchronisation layer yet: acknowledge the transitional configuration at once.
    stack_.trans_ack();
    if (!c.joined.empty()) {
        const Bytes check = config_check_message();
        // Safe: once it is delivered here, every member of the ring has it.
        if (stack_.mcast(kConfigCheckGroup, check, Guarantee::safe))
            own_check_pending_ = true;
    }
    Logger::log(LogLevel::notice, "MAIN",
                "Completed service synchronization, ready to provide service.");
}

const conf::Cmap& Node::keys() {
    refresh_stats();
    return keys_;
}

void Node::refresh_stats() {
    const SrpStats& s = stack_.srp().stats();
    auto u64 = [this](const std::string& k, std::uint64_t v) {
        set_key(k, CmapValue::uint(ValueType::U64, v));
    };
    auto u32 = [this](const std::string& k, std::uint64_t v) {
        set_key(k, CmapValue::uint(ValueType::U32, v));
    };
    u64("stats.srp.orf_token_tx", s.orf_token_tx);
    u64("stats.srp.orf_token_rx", s.orf_token_rx);
    u64("stats.srp.memb_merge_detect_tx", s.memb_merge_detect_tx);
    u64("stats.srp.memb_merge_detect_rx", s.memb_merge_detect_rx);
    u64("stats.srp.memb_join_tx", s.memb_join_tx);
    u64("stats.srp.memb_join_rx", s.memb_join_rx);
    u64("stats.srp.mcast_tx", s.mcast_tx);
    u64("stats.srp.mcast_retx", s.mcast_retx);
    u64("stats.srp.mcast_rx", s.mcast_rx);
    u64("stats.srp.memb_commit_token_tx", s.memb_commit_token_tx);
    u64("stats.srp.memb_commit_token_rx", s.memb_commit_token_rx);
    u64("stats.srp.token_hold_cancel_tx", s.token_hold_cancel_tx);
    u64("stats.srp.token_hold_cancel_rx", s.token_hold_cancel_rx);
    u64("stats.srp.operational_entered", s.operational_entered);
    u64("stats.srp.operational_token_lost", s.operational_token_lost);
    u64("stats.srp.gather_entered", s.gather_entered);
    u64("stats.srp.gather_token_lost", s.gather_token_lost);
    u64("stats.srp.commit_entered", s.commit_entered);
    u64("stats.srp.commit_token_lost", s.commit_token_lost);
    u64("stats.srp.recovery_entered", s.recovery_entered);
    u64("stats.srp.recovery_token_lost", s.recovery_token_lost);
    u64("stats.srp.consensus_timeouts", s.consensus_timeouts);
    u64("stats.srp.rx_msg_dropped", s.rx_msg_dropped);
    u32("stats.srp.continuous_gather", s.continuous_gather);
    u32("stats.srp.continuous_sendmsg_failures", s.continuous_sendmsg_failures);
    u64("stats.srp.token_retransmits", s.token_retransmits);
    u64("stats.srp.late_token_not_held", s.late_token_not_held);
    u64("stats.srp.rtr_requested", s.rtr_requested);
    u64("stats.srp.pauses_detected", s.pauses_detected);
    for (std::size_t i = 0; i < s.gather_reasons.size(); ++i) {
        std::string name(to_string(static_cast<GatherReason>(i)));
        for (char& ch : name)
            if (ch == ' ')
                ch = '_';
        u64("stats.srp.gather_reason." + name, s.gather_reasons[i]);
    }
    u32("stats.pg.msg_queue_avail", stack_.srp().send_queue_avail());
    const TransportCounters tc = transport_->counters();
    u64("stats.transport.rx_dropped_auth", tc.rx_dropped_auth);
    u64("stats.transport.rx_dropped_replay", tc.rx_dropped_replay);
    u64("stats.transport.rx_dropped_unknown_sender", tc.rx_dropped_unknown_sender);
    u64("stats.transport.rx_dropped_config_mismatch", tc.rx_dropped_config_mismatch);
    u64("stats.transport.rx_dropped_malformed", tc.rx_dropped_malformed);
    u64("stats.transport.tx_errors", tc.tx_errors);
    for (const NodeStatus& ns : transport_->status()) {
        for (const LinkStatus& l : ns.links) {
            const std::string k =
                "stats.knet.node" + std::to_string(ns.nodeid) + ".link" + std::to_string(l.link);
            set_key(k + ".enabled", CmapValue::uint(ValueType::U8, l.enabled));
            set_key(k + ".connected", CmapValue::uint(ValueType::U8, l.connected));
            u32(k + ".mtu", l.mtu);
            u64(k + ".tx_data_packets", l.tx_data_packets);
            u64(k + ".rx_data_packets", l.rx_data_packets);
            u64(k + ".tx_data_bytes", l.tx_data_bytes);
            u64(k + ".rx_data_bytes", l.rx_data_bytes);
            u32(k + ".latency_ave", l.latency_ave_us);
            u32(k + ".latency_max", l.latency_max_us);
            u32(k + ".latency_min", l.latency_min_us);
            u32(k + ".down_count", l.down_count);
            u32(k + ".up_count", l.up_count);
        }
    }
}

}  // namespace totem::node
