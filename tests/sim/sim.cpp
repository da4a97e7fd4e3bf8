#include "tests/sim/sim.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <exception>
#include <map>
#include <set>
#include <stdexcept>
#include <variant>

#include "conf/load.hpp"
#include "engine/core/core.hpp"
#include "proto/cpg.hpp"
#include "proto/ipc.hpp"
#include "services/cpg.hpp"
#include "services/votequorum.hpp"
#include "tests/sim/event_queue.hpp"

namespace totem::sim {

namespace {

constexpr std::size_t pending_events_max = 2'000'000;
constexpr int effects_rounds_max = 64;  // take_effects() after trans_ack() etc.
constexpr std::int64_t liveness_check_interval_us = 5'000;
constexpr std::size_t large_message_max = 1024 * 1024 - 1024;
constexpr std::uint64_t run_stream_salt = 0x5eedf00d5eedf00dULL;
constexpr std::uint64_t deaf_stream_salt = 0xdeaf0fdeaf0fdeafULL;
constexpr std::uint64_t config_stream_salt = 0xc0f1c0f1c0f1c0f1ULL;
constexpr std::uint64_t cpg_stream_salt = 0xc9c9c9c9c9c9c9c9ULL;
constexpr std::uint64_t cpg_run_salt = 0x0c90c90c90c90c90ULL;
constexpr std::uint64_t quorum_stream_salt = 0x9b0e9b0e9b0e9b0eULL;
constexpr std::size_t cpg_large_max = 64 * 1024;

std::int64_t ms_us(std::int64_t ms) {
    return ms * 1000;
}

// corosync's derivations (shared/spec/totem-wire.md §8), in integer arithmetic.
SrpConfig derive_srp(std::int64_t token_ms) {
    SrpConfig c;
    c.token = Duration::ms(token_ms);
    const std::int64_t retransmit_ms = token_ms * 10 / 42;  // token / (4 + 0.2)
    c.token_retransmit = Duration::ms(retransmit_ms);
    c.hold = Duration::ms(std::max<std::int64_t>(14, retransmit_ms * 8 / 10 - 10));
    c.join = Duration::ms(50);
    c.consensus = Duration::ms(token_ms * 12 / 10);
    c.merge = Duration::ms(200);
    return c;
}

}  // namespace

std::string RunConfig::describe() const {
    char buf[640];
    std::snprintf(
        buf, sizeof buf,
        "seed=%" PRIu64 " nodes=%u loss=%u%% dup=%u.%u%% latency=%" PRId64 "..%" PRId64
        "us faults=%s token=%" PRId64 "ms consensus=%" PRId64
        "ms window=%u max_messages=%u netmtu=%u fault_phase=%" PRId64
        "ms msg_gap<=%ums large=%uppm send_join=%" PRId64
        "ms heartbeat_failures=%u cancel_hold_on_rtr=%d deaf=%d fail_recv=%u "
        "stale=%uppm<=%" PRId64 "ms bursts=%u<=%" PRId64 "us fault_phase_x%u",
        seed, nodes, loss_pct, link.dup_ppm / 10000, link.dup_ppm / 1000 % 10, link.latency_min_us,
        link.latency_max_us, faults ? "on" : "off", srp.token.to_ms(), srp.consensus.to_ms(),
        srp.window_size, srp.max_messages, srp.net_mtu, fault_phase_us / 1000, msg_interval_max_ms,
        large_ppm, srp.send_join.to_ms(), srp.heartbeat_failures_allowed,
        srp.cancel_token_hold_on_retransmit ? 1 : 0, deaf ? 1 : 0, srp.fail_recv_const,
        link.stale_ppm, link.stale_max_us / 1000, bursts, burst_latency_max_us, fault_phase_factor);
    std::string s = buf;
    if (!cpg.clients.empty()) {
        s += " cpg_clients=";
        for (std::size_t i = 0; i < cpg.clients.size(); ++i)
            s += (i ? "," : "") + std::to_string(cpg.clients[i]);
        s += " cpg_groups=" + std::to_string(cpg.groups) +
             " cpg_gap<=" + std::to_string(cpg.gap_max_ms) +
             "ms cpg_churn=" + std::to_string(cpg.churn_ppm) +
             "ppm cpg_large=" + std::to_string(cpg.large_ppm) +
             "ppm cpg_safe=" + std::to_string(cpg.safe_pct) + "%";
    }
    if (quorum.votequorum) {
        s += " votequorum";
        if (quorum.expected_votes)
            s += " expected_votes=" + std::to_string(quorum.expected_votes);
        if (quorum.two_node)
            s += " two_node";
        if (quorum.wait_for_all)
            s += " wait_for_all";
        if (quorum.last_man_standing)
            s += " lms=" + std::to_string(quorum.lms_window_ms) + "ms";
        if (quorum.auto_tie_breaker) {
            static constexpr const char* atb[] = {"", "lowest", "highest", "list"};
            s += std::string(" atb=") + atb[quorum.auto_tie_breaker];
            for (auto n : quorum.atb_nodes)
                s += ":" + std::to_string(n);
        }
    }
    return s;
}

std::string QuorumDraw::text() const {
    if (!votequorum)
        return "";
    std::string s = "quorum {\nprovider: corosync_votequorum\n";
    if (expected_votes)
        s += "expected_votes: " + std::to_string(expected_votes) + "\n";
    if (two_node)
        s += "two_node: 1\n";
    if (wait_for_all)
        s += "wait_for_all: 1\n";
    if (last_man_standing)
        s += "last_man_standing: 1\nlast_man_standing_window: " + std::to_string(lms_window_ms) +
             "\n";
    if (auto_tie_breaker) {
        s += "auto_tie_breaker: 1\nauto_tie_breaker_node:";
        if (auto_tie_breaker == 1)
            s += " lowest";
        else if (auto_tie_breaker == 2)
            s += " highest";
        else
            for (auto n : atb_nodes)
                s += " " + std::to_string(n);
        s += "\n";
    }
    return s + "}\n";
}

std::string RunConfig::reproduce() const {
    char buf[160];
    std::snprintf(buf, sizeof buf, "totem-sim --seed %" PRIu64 " --nodes %u --loss %u%s%s", seed,
                  nodes, loss_pct, faults ? " --faults" : "", deaf ? " --deaf" : "");
    return buf;
}

RunConfig draw_config(std::uint64_t seed, const RunOptions& o) {
    // Every draw happens whatever the options fix, so that a run with its drawn node count and
    // loss passed as fixed values (the reproduction line) replays bit-identically.
    Prng p(seed);
    RunConfig c;
    c.seed = seed;
    const std::uint64_t u_nodes = p.next(), u_loss = p.next();
    const std::uint32_t nmin = std::clamp<std::uint32_t>(o.nodes_min, 1, 16);
    const std::uint32_t nmax = std::clamp<std::uint32_t>(o.nodes_max, nmin, 16);
    c.nodes = nmin + static_cast<std::uint32_t>(u_nodes % (nmax - nmin + 1));
    const std::uint32_t lmin = std::min<std::uint32_t>(o.loss_min_pct, 100);
    const std::uint32_t lmax = std::clamp<std::uint32_t>(o.loss_max_pct, lmin, 100);
    c.loss_pct = lmin + static_cast<std::uint32_t>(u_loss % (lmax - lmin + 1));
    c.faults = o.faults;

    // Timers: a small token (virtual time is cheap, events are not), grown with the node
    // count as corosync's token_coefficient does.
    const auto base_ms = static_cast<std::int64_t>(p.range(200, 800));
    const auto coefficient_ms = static_cast<std::int64_t>(p.range(0, 65));
    const std::int64_t token_ms = base_ms + (c.nodes > 2 ? (c.nodes - 2) * coefficient_ms : 0);
    c.srp = derive_srp(token_ms);
    c.srp.max_messages = static_cast<std::uint32_t>(p.range(1, 20));
    c.srp.window_size = static_cast<std::uint32_t>(p.range(std::max(c.srp.max_messages, 10u), 80));
    static constexpr std::uint32_t mtus[] = {1500, 9000, 65536};
    c.srp.net_mtu = mtus[p.below(3)];
    // The optional knobs, each in some seeds: a random JOIN delay, heartbeat failure detection,
    // cancelling the token hold on retransmission.
    const std::uint64_t u_send_join = p.next(), u_heartbeat = p.next(), u_cancel_hold = p.next();
    if (u_send_join % 4 == 0)
        c.srp.send_join = Duration::ms(static_cast<std::int64_t>(1 + (u_send_join >> 8) % 30));
    if (u_heartbeat % 8 == 0)
        c.srp.heartbeat_failures_allowed = static_cast<std::uint32_t>(2 + (u_heartbeat >> 8) % 2);
    c.srp.cancel_token_hold_on_retransmit = u_cancel_hold % 4 == 0;

    c.link.loss_ppm = c.loss_pct * 10000;
    c.link.dup_ppm = p.below(2) ? static_cast<std::uint32_t>(p.range(0, 30000)) : 0;
    c.link.latency_min_us = static_cast<std::int64_t>(p.range(50, 200));
    c.link.latency_max_us = c.link.latency_min_us + static_cast<std::int64_t>(p.range(50, 3000));
    c.fault_phase_us = ms_us(token_ms) * static_cast<std::int64_t>(p.range(2, 6));
    c.msg_interval_max_ms = static_cast<std::uint32_t>(p.range(10, 250));
    c.large_ppm = p.below(4) == 0 ? static_cast<std::uint32_t>(p.range(1000, 20000)) : 0;
    // The widened network: in half the seeds 0.1..1 % of the copies are held back up to
    // 2..4 token timeouts (packets of old rings arrive in later ones); in half the seeds 1..3
    // bursts of reordering with latencies up to 5..30 ms; in a quarter of the seeds a fault
    // phase 3..5 times as long (stable stretches of several rounds: partition_progress).
    const std::uint64_t u_stale = p.next(), u_burst = p.next(), u_long = p.next();
    if (u_stale % 2 == 0) {
        c.link.stale_ppm = static_cast<std::uint32_t>(1000 + (u_stale >> 8) % 9001);
        c.link.stale_max_us = ms_us(token_ms) * static_cast<std::int64_t>(2 + (u_stale >> 40) % 3);
    }
    if (u_burst % 2 == 0) {
        c.bursts = static_cast<std::uint32_t>(1 + (u_burst >> 8) % 3);
        c.burst_latency_max_us = static_cast<std::int64_t>(5000 + (u_burst >> 16) % 25001);
    }
    if (u_long % 4 == 0) {
        c.fault_phase_factor = static_cast<std::uint32_t>(3 + (u_long >> 8) % 3);
        c.fault_phase_us *= c.fault_phase_factor;
    }
    // In half the seeds every node runs with a totem.config_version (cmap's sync carries it).
    // Its own stream: the other draws stay as they were.
    {
        Prng v(seed ^ config_stream_salt);
        if (v.below(2))
            c.config_version = v.range(1, 1000);
    }
    if (o.deaf) {
        c.deaf = true;
        Prng d(seed ^ deaf_stream_salt);
        if (d.below(4) != 0)
            c.srp.fail_recv_const = static_cast<std::uint32_t>(d.range(4, 60));
    }
    // CPG clients in three quarters of the seeds, 0..3 per node; their own stream.
    {
        Prng q(seed ^ cpg_stream_salt);
        if (q.below(4) != 0) {
            c.cpg.clients.resize(c.nodes);
            for (auto& k : c.cpg.clients)
                k = static_cast<std::uint32_t>(q.range(0, 3));
            c.cpg.groups = static_cast<std::uint32_t>(q.range(2, 3));
            c.cpg.gap_max_ms = static_cast<std::uint32_t>(q.range(10, 200));
            c.cpg.churn_ppm = static_cast<std::uint32_t>(q.range(2000, 30000));
            c.cpg.large_ppm =
                q.below(3) == 0 ? static_cast<std::uint32_t>(q.range(5000, 30000)) : 0;
            c.cpg.safe_pct = static_cast<std::uint32_t>(q.range(0, 50));
        }
    }
    // votequorum in three quarters of the seeds, each option in some; its own stream. The
    // combinations votequorum refuses or rewrites are not drawn: auto_tie_breaker with
    // two_node, or with an odd node count without wait_for_all.
    {
        Prng q(seed ^ quorum_stream_salt);
        QuorumDraw& v = c.quorum;
        if (q.below(4) != 0) {
            v.votequorum = true;
            const std::uint64_t u_expected = q.next(), u_two = q.next(), u_wfa = q.next(),
                                u_lms = q.next(), u_atb = q.next();
            if (u_expected % 4 == 0)
                v.expected_votes = static_cast<std::uint32_t>(
                    std::max<std::uint64_t>(1, c.nodes - 1 + (u_expected >> 8) % 4));
            v.two_node = c.nodes == 2 && u_two % 2 == 0;
            v.wait_for_all = u_wfa % 3 == 0;
            if (u_lms % 3 == 0) {
                v.last_man_standing = true;
                v.lms_window_ms = static_cast<std::uint32_t>(
                    token_ms * static_cast<std::int64_t>(2 + (u_lms >> 8) % 7));
            }
            if (!v.two_node && u_atb % 3 == 0) {
                v.auto_tie_breaker = static_cast<std::uint32_t>(1 + (u_atb >> 8) % 3);
                if (v.auto_tie_breaker == 3) {
                    NodeList all;
                    for (std::uint32_t i = 1; i <= c.nodes; ++i)
                        all.push_back(i);
                    const std::size_t k = 1 + (u_atb >> 16) % c.nodes;
                    for (std::size_t i = 0; i < k; ++i) {
                        const std::size_t j = i + q.below(all.size() - i);
                        std::swap(all[i], all[j]);
                        v.atb_nodes.push_back(all[i]);
                    }
                }
                if (c.nodes % 2)
                    v.wait_for_all = true;
            }
        }
    }
    return c;
}

namespace {

// For --trace: the Totem header of a datagram (totem-wire §1), read without the codec.
std::string describe_datagram(ByteView d) {
    static constexpr const char* names[] = {"orf_token", "mcast",        "merge_detect",
                                            "join",      "commit_token", "token_hold_cancel"};
    if (d.size() < 13)
        return std::to_string(d.size()) + " bytes (short)";
    const std::uint8_t type = d[3];
    const std::uint32_t nodeid = static_cast<std::uint32_t>(d[5]) | (std::uint32_t{d[6]} << 8) |
                                 (std::uint32_t{d[7]} << 16) | (std::uint32_t{d[8]} << 24);
    std::string s = type < 6 ? names[type] : "type " + std::to_string(type);
    s += " " + std::to_string(d.size()) + " bytes, nodeid " + std::to_string(nodeid);
    if (type == 1)
        s += d[4] == 1 ? ", encapsulated" : "";
    if (type == 3) {
        if (auto j = wire::decode_join(d)) {
            auto list = [](const NodeList& l) {
                std::string out;
                for (auto x : l)
                    out += (out.empty() ? "" : ",") + std::to_string(x);
                return "[" + out + "]";
            };
            s += ", ring seq " + std::to_string(j->ring_seq) + ", proc " + list(j->proc_list) +
                 ", failed " + list(j->failed_list);
        }
    }
    return s;
}

struct PacketEvent {
    std::size_t to = 0;
    std::uint32_t to_incarnation = 0;
    std::size_t from = 0;
    std::shared_ptr<const Bytes> data;
    // Held back by the network: the receiver's count of configuration changes when it was sent.
    std::optional<std::uint64_t> held_since_confchgs;
};
struct TimerEvent {
    std::size_t node = 0;
    std::uint64_t generation = 0;
};
struct StartEvent {
    std::size_t node = 0;
};
struct WorkloadEvent {
    std::size_t node = 0;
    std::uint32_t incarnation = 0;
};
struct FaultEvent {
    std::size_t index = 0;
};
struct HealEvent {};
struct UnpauseEvent {
    std::size_t node = 0;
    std::uint32_t incarnation = 0;
    std::int64_t gap_us = 0;
};
struct LivenessCheckEvent {};
struct BurstEvent {
    bool begin = true;
};
struct ClientEvent {  // a CPG client acts
    std::size_t node = 0;
    std::uint32_t incarnation = 0;
    std::size_t slot = 0;
};
using Event = std::variant<PacketEvent, TimerEvent, StartEvent, WorkloadEvent, FaultEvent,
                           HealEvent, LivenessCheckEvent, UnpauseEvent, BurstEvent, ClientEvent>;

enum class FaultKind : std::uint8_t { partition, heal, crash, restart, leave, pause, oneway, deaf };

struct Fault {
    FaultKind kind = FaultKind::heal;
    std::int64_t at_us = 0;
    std::uint64_t pick = 0;  // which node (modulo the eligible ones at that time)
    std::vector<std::uint32_t> groups;
    std::int64_t pause_us = 0;
};

// A workload message waiting to be accepted; it gets its id (the node's next counter, shared
// with its CPG clients' messages) when it is.
struct PendingMessage {
    std::uint32_t size = 0;
    std::uint32_t flags = 0;
};

// One simulated libcpg client: a connection to the cpg service and the one membership it has
// at a time (libcpg's handle; a fresh pid per join keeps every membership apart).
struct SimClient {
    enum class State : std::uint8_t { closed, unjoined, joined, leaving };
    State state = State::closed;
    services::ConnId conn = 0;
    std::optional<std::size_t> trace;  // index into Trace::cpg_clients while connected
    std::uint32_t pid = 0;
    std::string group;
    bool model_v1 = false;
    bool initial_conf = false;
    std::optional<Bytes> response;  // the last answer on the connection
    struct Pending {
        std::uint32_t size = 0;
        std::uint32_t guarantee = 0;  // CPG_TYPE_*
    };
    std::optional<Pending> pending;  // a message the core refused (flow control): again later
};

// The workload's service (id 40, outside corosync's ids): its one IPC request (flow
// controlled, as a CPG mcast is) carries a guarantee word and a workload payload and multicasts
// it. The simulated node is a whole NodeCore — Srp, totempg, sync, cmap, cfg, cpg, quorum,
// votequorum, pload, the config check — and this service is its client-facing load beside the
// CPG clients, reached through the core's IPC path. Its deliveries reach the trace through the
// core's observer (NodeObserver), as the cpg service's exec messages do.
class SimLoad final : public services::Service {
  public:
    static constexpr std::uint16_t service_id = 40;
    static constexpr std::size_t request_header_size = 24;  // qb header + guarantee u32 + pad
    explicit SimLoad(services::Api& api) : Service(api) {}
    services::ServiceInfo info() const override {
        return {service_id, "simload", "simulator workload", "totemd_simload", 1, 1};
    }
    services::FlowControl flow_control(std::int32_t) const override {
        return services::FlowControl::required;
    }
    void lib_request(services::ConnId conn, std::int32_t, ByteView request) override {
        Reader r(request.subspan(16));
        const auto g = r.u32() ? Guarantee::safe : Guarantee::agreed;
        const ByteView payload = request.subspan(request_header_size);
        Bytes m;
        Writer w(m);
        w.u32(std::uint32_t{service_id} << 16);
        w.u32(0);
        w.u32(static_cast<std::uint32_t>(16 + payload.size()));
        w.u32(0);
        w.bytes(payload);
        const bool ok = api_.mcast(m, g);
        Bytes res;
        Writer x(res);
        x.i32(0);
        x.u32(0);
        x.i32(24);
        x.u32(0);
        x.i32(static_cast<std::int32_t>(ok ? proto::CsError::ok : proto::CsError::err_try_again));
        x.u32(0);
        api_.respond(conn, res);
    }
    void exec(NodeId, std::uint16_t, ByteView) override {}  // recorded by the observer
};

// What the observer hands the simulation: node `node`'s core saw this.
class Recorder {
  public:
    virtual ~Recorder() = default;
    virtual void observed_confchg(std::size_t node, std::size_t effects,
                                  const services::ConfChg& c) = 0;
    virtual void observed_exec(std::size_t node, std::size_t effects, const services::Delivery& d,
                               std::uint16_t service, ByteView message) = 0;
    virtual void observed_sync(std::size_t node) = 0;
};

class NodeObserver final : public core::CoreObserver {
  public:
    NodeObserver(Recorder& r, std::size_t node) : rec_(r), node_(node) {}
    void confchg(std::size_t effects, const services::ConfChg& c) override {
        rec_.observed_confchg(node_, effects, c);
    }
    void exec(std::size_t effects, const services::Delivery& d, std::uint16_t service,
              std::uint16_t, ByteView message) override {
        if (service == SimLoad::service_id || service == services::Cpg::service_id)
            rec_.observed_exec(node_, effects, d, service, message);
    }
    void sync_completed(std::size_t) override { rec_.observed_sync(node_); }

  private:
    Recorder& rec_;
    std::size_t node_;
};

// The configuration every simulated node reads (its Totem timers come from the run's draw).
std::string sim_config_text(std::uint32_t nodes, const SrpConfig& srp, std::uint64_t config_version,
                            const QuorumDraw& quorum) {
    std::string s = "totem {\nversion: 2\ncluster_name: sim\ntransport: knet\ntoken: " +
                    std::to_string(srp.token.to_ms()) + "\nnetmtu: " + std::to_string(srp.net_mtu) +
                    (config_version ? "\nconfig_version: " + std::to_string(config_version) : "") +
                    "\n}\nnodelist {\n";
    for (std::uint32_t i = 1; i <= nodes; ++i)
        s += "node {\nring0_addr: 10.250.0." + std::to_string(i) +
             "\nnodeid: " + std::to_string(i) + "\n}\n";
    return s + "}\n" + quorum.text() + "logging {\nto_stderr: no\nto_syslog: no\n}\n";
}

conf::Config sim_config(std::uint32_t nodes, const SrpConfig& srp, std::uint64_t config_version,
                        const QuorumDraw& quorum, NodeId id) {
    conf::LoadOptions o;
    o.derive.local_nodeid = id;
    conf::HostEnv h;
    h.hostname = "sim" + std::to_string(id);
    o.host = h;
    o.uidgid_dir = "";
    auto r = conf::load_text(sim_config_text(nodes, srp, config_version, quorum), "sim.conf",
                             conf::Format::Conf, o);
    if (!r)
        throw std::runtime_error("the simulator's config: " + r.error().str());
    return std::move(r->config);
}

struct Node {
    NodeId id = 0;
    std::unique_ptr<core::NodeCore> core;
    std::unique_ptr<NodeObserver> observer;     // the core's (outlives every core of the node)
    std::optional<services::ConnId> conn;       // the workload's IPC connection
    std::optional<std::int32_t> last_response;  // its last answer (cs_error_t)
    std::uint64_t syncs_seen = 0;
    bool up = false;
    std::uint32_t incarnation = 0;  // of the current (or last) life
    bool ever_started = false;
    std::size_t trace_index = 0;
    std::uint64_t persisted_seq = 0;  // the ring id file: survives crashes
    std::optional<std::int64_t> timer_at_us;
    std::uint64_t timer_generation = 0;
    std::uint32_t next_counter = 1;
    std::optional<PendingMessage> pending;
    std::uint64_t own_delivered = 0;
    std::uint64_t own_submitted_bytes_undelivered = 0;
    bool last_conf_regular = false;
    RingId last_ring;
    NodeList last_members;
    std::set<MsgId> probes_delivered;
    std::int64_t paused_until_us = 0;
    std::uint64_t fragments_thrown = 0;  // the stack's totempg rx_fragment_lost, last seen
    std::uint64_t confchgs = 0;          // configuration changes of this life
    std::optional<MsgId> probe_id;       // the liveness probe, once accepted
    // CPG clients, and where the core's effects stand in this life's recorded events: the
    // observer notes (effects in the outbox, events recorded) at each record, and drain()
    // gives each client event the position it came at.
    std::vector<SimClient> clients;
    std::map<services::ConnId, std::size_t> client_of;  // connection → slot
    std::vector<std::pair<std::size_t, std::size_t>> marks;
    std::size_t pos = 0;                    // events recorded before the effect drain() is at
    bool in_activation = false;             // drain() is past the cpg service's sync commit line
    std::vector<services::ConnId> closing;  // connections the core dropped: ipc_closed() due
};

class Simulation final : private Recorder {
  public:
    Simulation(const RunConfig& c, const RunOptions& o)
        : c_(c),
          o_(o),
          prng_(c.seed ^ run_stream_salt),
          cprng_(c.seed ^ cpg_run_salt),
          net_(c.nodes),
          queue_(pending_events_max) {
        net_.params = c.link;
        nodes_.resize(c.nodes);
        for (std::size_t i = 0; i < nodes_.size(); ++i) {
            nodes_[i].id = static_cast<NodeId>(i + 1);
            result_.trace.nodes.push_back(nodes_[i].id);
        }
        result_.config = c;
        result_.trace.loss_pct = c.loss_pct;
        result_.trace.token_us = c.srp.token.us;
        result_.trace.consensus_us = c.srp.consensus.us;
        result_.trace.join_us = c.srp.join.us;
        result_.trace.config_version = c.config_version;
        result_.trace.votequorum = c.quorum.votequorum;
        result_.trace.vq_last_man_standing = c.quorum.last_man_standing;
        result_.trace.vq_auto_tie_breaker = c.quorum.auto_tie_breaker != 0;
        result_.trace.vq_expected_votes = c.quorum.expected_votes;
        for (std::size_t i = 0; i < nodes_.size(); ++i)
            configs_.push_back(
                sim_config(c.nodes, c.srp, c.config_version, c.quorum, nodes_[i].id));
    }

    RunResult run() {
        schedule();
        try {
            loop();
        } catch (const std::exception& e) {
            result_.exception = e.what();
        }
        finish();
        return std::move(result_);
    }

  private:
    // ---- set-up -----------------------------------------------------------------------
    void schedule() {
        heal_at_us_ = c_.fault_phase_us;
        for (std::size_t i = 0; i < nodes_.size(); ++i) {
            const auto at = static_cast<std::int64_t>(
                prng_.below(static_cast<std::uint64_t>(c_.srp.token.us / 2 + 1)));
            push(at, StartEvent{i});
        }
        if (c_.faults) {
            const auto count = prng_.range(1, 6);
            for (std::uint64_t k = 0; k < count; ++k) {
                Fault f;
                const auto roll = prng_.below(100);
                f.kind = roll < 26   ? FaultKind::partition
                         : roll < 38 ? FaultKind::heal
                         : roll < 58 ? FaultKind::crash
                         : roll < 76 ? FaultKind::restart
                         : roll < 82 ? FaultKind::leave
                         : roll < 92 ? FaultKind::pause
                                     : FaultKind::oneway;
                f.at_us = static_cast<std::int64_t>(
                    prng_.below(static_cast<std::uint64_t>(c_.fault_phase_us)));
                f.pick = prng_.next();
                if (f.kind == FaultKind::pause) {
                    // A scheduling gap: from a quarter of the token timeout (the node notices,
                    // nobody else does) to twice it (the others re-form without it).
                    f.pause_us = static_cast<std::int64_t>(
                        prng_.range(static_cast<std::uint64_t>(c_.srp.token.us / 4),
                                    static_cast<std::uint64_t>(c_.srp.token.us * 2)));
                }
                if (f.kind == FaultKind::partition) {
                    const auto groups = prng_.range(2, 3);
                    for (std::size_t i = 0; i < nodes_.size(); ++i) {
                        f.groups.push_back(static_cast<std::uint32_t>(prng_.below(groups)));
                    }
                }
                faults_.push_back(std::move(f));
            }
        }
        if (c_.deaf) {
            Prng d(c_.seed ^ deaf_stream_salt ^ 1);
            const auto count = d.range(1, 2);
            for (std::uint64_t k = 0; k < count; ++k) {
                Fault f;
                f.kind = FaultKind::deaf;
                f.at_us = static_cast<std::int64_t>(
                    d.below(static_cast<std::uint64_t>(c_.fault_phase_us)));
                f.pick = d.next();
                faults_.push_back(std::move(f));
            }
        }
        // Reordering bursts (the run's stream, after the faults).
        for (std::uint32_t k = 0; k < c_.bursts; ++k) {
            const auto at = static_cast<std::int64_t>(
                prng_.below(static_cast<std::uint64_t>(c_.fault_phase_us)));
            const auto length = static_cast<std::int64_t>(
                prng_.range(static_cast<std::uint64_t>(c_.srp.token.us / 4),
                            static_cast<std::uint64_t>(c_.srp.token.us * 2)));
            push(at, BurstEvent{true});
            push(std::min(at + length, heal_at_us_), BurstEvent{false});
            result_.trace.bursts.emplace_back(
                at, std::min(at + length, heal_at_us_) + c_.burst_latency_max_us);
        }
        std::stable_sort(faults_.begin(), faults_.end(),
                         [](const Fault& a, const Fault& b) { return a.at_us < b.at_us; });
        for (std::size_t k = 0; k < faults_.size(); ++k) {
            push(faults_[k].at_us, FaultEvent{k});
        }
        push(heal_at_us_, HealEvent{});
    }

    void push(std::int64_t at_us, Event e) {
        if (!queue_.push(at_us, std::move(e)))
            overflow_ = true;
    }

    // ---- the loop ---------------------------------------------------------------------
    void loop() {
        while (!queue_.empty() && !done_) {
            if (result_.stats.events >= o_.events_max || overflow_) {
                result_.trace.budget_exhausted = true;
                break;
            }
            auto entry = queue_.pop();
            now_us_ = entry.time_us;
            result_.stats.events++;
            std::visit([&](auto& ev) { handle(ev); }, entry.value);
            if (std::holds_alternative<StartEvent>(entry.value) ||
                std::holds_alternative<FaultEvent>(entry.value) ||
                std::holds_alternative<UnpauseEvent>(entry.value) ||
                std::holds_alternative<HealEvent>(entry.value))
                record_topology();
        }
        result_.stats.virtual_us = now_us_;
    }

    Instant now() const { return Instant{now_us_}; }

    // The topology as it is now, if it changed (fault phase and heal only).
    void record_topology() {
        if (now_us_ > heal_at_us_)
            return;
        TopologyRecord t;
        t.time_us = now_us_;
        for (std::size_t i = 0; i < nodes_.size(); ++i) {
            t.group.push_back(net_.group(i));
            t.up.push_back(nodes_[i].up);
            t.paused.push_back(nodes_[i].up && nodes_[i].paused_until_us > now_us_);
        }
        t.asymmetric = net_.asymmetric();
        auto& log = result_.trace.topology;
        if (!log.empty() && log.back().same_state(t))
            return;
        log.push_back(std::move(t));
    }

    void hash_event(std::uint8_t kind, std::uint64_t a, std::uint64_t b) {
        hash_.u64(static_cast<std::uint64_t>(now_us_));
        hash_.byte(kind);
        hash_.u64(a);
        hash_.u64(b);
    }
    // Whole small datagrams; of a large one its length, head and tail (hashing every byte of
    // every 64 KiB fragment copy would cost more than the run).
    void hash_bytes(ByteView b) {
        hash_.u64(b.size());
        if (b.size() <= 256) {
            hash_.bytes(b);
        } else {
            hash_.bytes(b.first(128));
            hash_.bytes(b.last(64));
        }
    }

    void handle(PacketEvent& ev) {
        Node& n = nodes_[ev.to];
        hash_event(1, ev.to, ev.from);
        if (!n.up || n.incarnation != ev.to_incarnation)
            return;  // lost with the crash
        if (defer(n, ev))
            return;
        result_.stats.packets_received++;
        if (ev.held_since_confchgs && *ev.held_since_confchgs != n.confchgs)
            result_.stats.coverage.stale_arrivals++;
        if (o_.trace)
            trace_line(ev.to, "rx from " + std::to_string(ev.from + 1) + ": " +
                                  describe_datagram(ByteView(*ev.data)));
        n.core->on_packet(now(), ByteView(*ev.data));
        drain(ev.to);
    }

    void handle(TimerEvent& ev) {
        Node& n = nodes_[ev.node];
        if (!n.up || n.timer_generation != ev.generation)
            return;
        if (n.paused_until_us > now_us_) {
            n.timer_at_us = n.paused_until_us;
            push(n.paused_until_us, std::move(ev));
            return;
        }
        n.timer_at_us.reset();
        // The event may be early: a deadline that moved later did not re-arm (see drain()).
        const auto d = n.core->next_deadline();
        if (!d)
            return;
        if (d->us > now_us_) {
            arm_timer(ev.node, d->us);
            return;
        }
        hash_event(2, ev.node, 0);
        if (o_.trace)
            trace_line(ev.node, "timer");
        n.core->on_timer(now());
        drain(ev.node);
    }

    void handle(StartEvent& ev) {
        hash_event(3, ev.node, 0);
        start_node(ev.node);
    }

    void handle(WorkloadEvent& ev) {
        Node& n = nodes_[ev.node];
        if (!n.up || n.incarnation != ev.incarnation || now_us_ >= heal_at_us_)
            return;
        if (defer(n, ev))
            return;
        hash_event(4, ev.node, 0);
        // While a sync runs the core refuses the request (flow control), as it refuses a
        // client's: the message waits and is offered again at the next tick.
        if (!n.pending)
            n.pending = draw_message();
        try_submit(ev.node);
        push(now_us_ + ms_us(static_cast<std::int64_t>(prng_.range(1, c_.msg_interval_max_ms))),
             WorkloadEvent{ev.node, n.incarnation});
    }

    void handle(ClientEvent& ev) {
        Node& n = nodes_[ev.node];
        if (!n.up || n.incarnation != ev.incarnation || now_us_ >= heal_at_us_ ||
            ev.slot >= n.clients.size())
            return;
        if (defer(n, ev))
            return;
        hash_event(17, ev.node, ev.slot);
        client_act(ev.node, ev.slot);
        if (n.up && n.incarnation == ev.incarnation)
            push(now_us_ + ms_us(static_cast<std::int64_t>(cprng_.range(1, c_.cpg.gap_max_ms))),
                 ClientEvent{ev.node, ev.incarnation, ev.slot});
    }

    // ---- CPG clients ------------------------------------------------------------------
    // Each acts by its state: connect (libqb's accept and created; the core refuses before
    // its first sync), join a group with a fresh pid, send, leave, finalize or drop the
    // connection. Requests go through ipc_request as libcpg's do; the answers come back as
    // IpcResponse effects, events as IpcEvent effects (client_event).
    void client_act(std::size_t i, std::size_t k) {
        SimClient& cl = nodes_[i].clients[k];
        const std::uint32_t churn = c_.cpg.churn_ppm;
        switch (cl.state) {
            case SimClient::State::closed:
                if (cprng_.below(2))
                    client_connect(i, k);
                return;
            case SimClient::State::unjoined:
                if (cprng_.chance_ppm(churn))
                    return client_finalize(i, k);
                if (cprng_.chance_ppm(churn))
                    return client_drop(i, k);
                return client_join(i, k);
            case SimClient::State::joined:
                if (cprng_.chance_ppm(churn))
                    return client_leave(i, k);
                if (cprng_.chance_ppm(churn))
                    return client_finalize(i, k);
                if (cprng_.chance_ppm(churn))
                    return client_drop(i, k);
                return client_send(i, k);
            case SimClient::State::leaving:
                if (cprng_.chance_ppm(churn))
                    return client_finalize(i, k);
                if (cprng_.chance_ppm(churn))
                    return client_drop(i, k);
                return;
        }
    }

    CpgClient& client_trace(const SimClient& cl) { return result_.trace.cpg_clients[*cl.trace]; }

    CpgEvent client_record(const Node& n, CpgEvent::Kind kind) const {
        CpgEvent e;
        e.kind = kind;
        e.time_us = now_us_;
        e.totem_pos = result_.trace.incarnations[n.trace_index].events.size();
        return e;
    }

    void client_connect(std::size_t i, std::size_t k) {
        Node& n = nodes_[i];
        const int accepted = n.core->ipc_accept(services::Cpg::service_id, 0, 0);
        drain(i);
        if (accepted != 0 || !n.up)
            return;
        SimClient& cl = n.clients[k];
        services::ClientInfo info;
        info.conn = ++conn_ids_;
        info.service = services::Cpg::service_id;
        info.pid = static_cast<std::int32_t>(++cpg_pids_);
        info.procname = "simcpg";
        info.pointer = info.conn;
        cl = SimClient{};
        cl.conn = info.conn;
        cl.model_v1 = cprng_.below(2) != 0;
        cl.initial_conf = cl.model_v1 && cprng_.below(2) != 0;
        CpgClient t;
        t.id = static_cast<std::uint32_t>(result_.trace.cpg_clients.size());
        t.node = n.id;
        t.inc = n.trace_index;
        t.model_v1 = cl.model_v1;
        t.initial_conf = cl.initial_conf;
        result_.trace.cpg_clients.push_back(std::move(t));
        cl.trace = result_.trace.cpg_clients.size() - 1;
        cl.state = SimClient::State::unjoined;
        n.client_of[cl.conn] = k;
        result_.stats.cpg_clients++;
        hash_event(22, i, cl.conn);
        n.core->ipc_connected(now(), info);  // a refusal comes back as IpcDisconnect
        drain(i);
    }

    // One request on the client's connection; its answer's error (nullopt: no answer, or the
    // node or the connection went meanwhile).
    std::optional<proto::CsError> client_call(std::size_t i, std::size_t k, const Bytes& request) {
        Node& n = nodes_[i];
        const services::ConnId conn = n.clients[k].conn;
        n.clients[k].response.reset();
        n.core->ipc_request(now(), conn, request);
        drain(i);
        if (!n.up || k >= n.clients.size() || n.clients[k].conn != conn ||
            n.clients[k].state == SimClient::State::closed || !n.clients[k].response)
            return std::nullopt;
        Reader r(*n.clients[k].response);
        r.take(16);
        const std::int32_t e = r.i32();
        if (!r.ok())
            throw std::runtime_error("a cpg answer shorter than its header");
        return static_cast<proto::CsError>(e);
    }

    [[noreturn]] void client_unexpected(const Node& n, const char* what, proto::CsError e) {
        throw std::runtime_error("node " + std::to_string(n.id) + ": cpg " + what + " answered " +
                                 std::to_string(static_cast<int>(e)));
    }

    void client_join(std::size_t i, std::size_t k) {
        Node& n = nodes_[i];
        const std::uint32_t pid = ++cpg_pids_;
        const std::string group = "g" + std::to_string(cprng_.below(c_.cpg.groups));
        const std::uint32_t flags =
            n.clients[k].initial_conf ? proto::cpg::flag_deliver_initial_totem_conf : 0;
        const auto e =
            client_call(i, k, proto::cpg::encode(proto::cpg::ReqJoin{group, pid, flags}));
        if (!e || *e == proto::CsError::err_try_again)
            return;
        if (*e != proto::CsError::ok)
            client_unexpected(n, "join", *e);
        SimClient& cl = n.clients[k];
        cl.state = SimClient::State::joined;
        cl.pid = pid;
        cl.group = group;
        CpgEvent ev = client_record(n, CpgEvent::Kind::join);
        ev.group = group;
        ev.pid = pid;
        client_trace(cl).events.push_back(std::move(ev));
        result_.stats.cpg_joins++;
        hash_event(23, i, pid);
    }

    void client_leave(std::size_t i, std::size_t k) {
        Node& n = nodes_[i];
        const SimClient& c = n.clients[k];
        const auto e = client_call(i, k, proto::cpg::encode(proto::cpg::ReqLeave{c.group, c.pid}));
        // BUSY: its join is not delivered yet (JOIN_STARTED); libcpg's caller tries again.
        if (!e || *e == proto::CsError::err_try_again || *e == proto::CsError::err_busy)
            return;
        if (*e != proto::CsError::ok)
            client_unexpected(n, "leave", *e);
        SimClient& cl = n.clients[k];
        cl.state = SimClient::State::leaving;
        cl.pending.reset();
        CpgEvent ev = client_record(n, CpgEvent::Kind::leave);
        ev.group = cl.group;
        ev.pid = cl.pid;
        client_trace(cl).events.push_back(std::move(ev));
        result_.stats.cpg_leaves++;
        hash_event(24, i, cl.pid);
    }

    // cpg_finalize: FINALIZE (flow controlled: TRY_AGAIN during a sync), then the library
    // closes the connection.
    void client_finalize(std::size_t i, std::size_t k) {
        Node& n = nodes_[i];
        const auto e = client_call(i, k, proto::cpg::encode(proto::cpg::ReqFinalize{}));
        if (!e || *e == proto::CsError::err_try_again)
            return;
        if (*e != proto::CsError::ok)
            client_unexpected(n, "finalize", *e);
        const services::ConnId conn = n.clients[k].conn;
        client_closed(i, k, CpgEvent::Kind::finalize);
        n.core->ipc_closed(now(), conn);
        drain(i);
    }

    // The process goes away without cpg_finalize (libqb's connection_closed).
    void client_drop(std::size_t i, std::size_t k) {
        Node& n = nodes_[i];
        const services::ConnId conn = n.clients[k].conn;
        client_closed(i, k, CpgEvent::Kind::close);
        n.core->ipc_closed(now(), conn);
        drain(i);
    }

    void client_closed(std::size_t i, std::size_t k, CpgEvent::Kind how) {
        Node& n = nodes_[i];
        SimClient& cl = n.clients[k];
        if (cl.state == SimClient::State::closed)
            return;
        client_trace(cl).events.push_back(client_record(n, how));
        (how == CpgEvent::Kind::finalize ? result_.stats.cpg_finalizes
                                         : result_.stats.cpg_closes)++;
        hash_event(25, i, cl.conn);
        n.client_of.erase(cl.conn);
        cl = SimClient{};
    }

    void client_send(std::size_t i, std::size_t k) {
        Node& n = nodes_[i];
        SimClient& cl = n.clients[k];
        if (!cl.pending) {
            SimClient::Pending p;
            if (c_.cpg.large_ppm && cprng_.chance_ppm(c_.cpg.large_ppm))
                p.size = static_cast<std::uint32_t>(cprng_.range(1024, cpg_large_max));
            else if (cprng_.below(4) == 0)
                p.size = static_cast<std::uint32_t>(cprng_.range(200, 1024));
            else
                p.size = static_cast<std::uint32_t>(cprng_.range(payload_header_size, 200));
            // CPG_TYPE_SAFE in safe_pct % of the messages; else AGREED, now and then FIFO or
            // UNORDERED (which corosync and totemd deliver agreed).
            if (cprng_.below(100) < c_.cpg.safe_pct)
                p.guarantee = 3;
            else
                p.guarantee =
                    cprng_.below(10) == 0 ? static_cast<std::uint32_t>(cprng_.below(2)) : 2;
            cl.pending = p;
        }
        const SimClient::Pending p = *cl.pending;
        const MsgId id{n.id, n.incarnation, n.next_counter};
        proto::cpg::ReqMcast req;
        req.guarantee = p.guarantee;
        req.message = make_payload(id, 0, p.size);
        const auto* cpg =
            static_cast<const services::Cpg*>(n.core->service(services::Cpg::service_id));
        const auto refused = [cpg] {
            return cpg->stats().mcast_refused + cpg->stats().mcast_queue_full;
        };
        const std::uint64_t before = refused();
        const services::ConnId conn = cl.conn;
        const int r = n.core->ipc_request(now(), conn, proto::cpg::encode(req));
        const bool accepted = r == 0 && refused() == before;
        drain(i);
        hash_event(18, i, accepted ? p.size : 0);
        if (!accepted) {
            result_.stats.backpressure++;
            return;
        }
        SubmitRecord rec;
        rec.time_us = now_us_;
        rec.size = p.size;
        rec.safe = p.guarantee == 3;
        rec.cpg_group = n.clients[k].group;
        rec.cpg_pid = n.clients[k].pid;
        rec.cpg_client = static_cast<std::uint32_t>(*n.clients[k].trace);
        result_.trace.submitted.emplace(id, std::move(rec));
        result_.trace.incarnations[n.trace_index].submitted++;
        result_.stats.submitted++;
        result_.stats.cpg_sent++;
        result_.stats.submitted_bytes += p.size;
        n.own_submitted_bytes_undelivered += p.size;
        n.next_counter++;
        if (!n.up || n.clients[k].conn != conn)
            return;  // the message went out; its sender did not stay (the checker knows)
        SimClient& c = n.clients[k];
        c.pending.reset();
        CpgEvent ev = client_record(n, CpgEvent::Kind::send);
        ev.group = c.group;
        ev.pid = c.pid;
        ev.id = id;
        client_trace(c).events.push_back(std::move(ev));
    }

    // An event for client k of node i, decoded as libcpg's dispatch does.
    void client_event(std::size_t i, std::size_t k, ByteView message) {
        Node& n = nodes_[i];
        SimClient& cl = n.clients[k];
        if (cl.state == SimClient::State::closed)
            return;
        auto decoded = proto::cpg::decode_event(message);
        if (!decoded)
            throw std::runtime_error("node " + std::to_string(n.id) +
                                     ": a cpg event libcpg cannot read: " +
                                     std::string(proto::to_string(decoded.error())));
        CpgEvent ev;
        ev.time_us = now_us_;
        ev.totem_pos = n.pos;
        ev.activation = n.in_activation;
        auto to_members = [](const std::vector<proto::CpgAddress>& l) {
            std::vector<CpgMember> out;
            for (const auto& a : l)
                out.push_back(CpgMember{a.nodeid, a.pid, a.reason});
            return out;
        };
        std::visit(
            [&](auto& x) {
                using T = std::decay_t<decltype(x)>;
                if constexpr (std::is_same_v<T, proto::cpg::ResConfchgCallback>) {
                    ev.kind = CpgEvent::Kind::confchg;
                    ev.group = x.group_name;
                    ev.members = to_members(x.members);
                    ev.left = to_members(x.left);
                    ev.joined = to_members(x.joined);
                    result_.stats.cpg_confchgs++;
                } else if constexpr (std::is_same_v<T, proto::cpg::ResDeliverCallback>) {
                    ev.kind = CpgEvent::Kind::deliver;
                    ev.group = x.group_name;
                    ev.nodeid = x.nodeid;
                    ev.pid = x.pid;
                    const auto p = decode_payload(ByteView(x.message));
                    ev.intact = p.has_value();
                    if (p)
                        ev.id = p->id;
                    result_.stats.cpg_delivered++;
                } else if constexpr (std::is_same_v<T, proto::cpg::ResTotemConfchgCallback>) {
                    ev.kind = CpgEvent::Kind::totem_confchg;
                    ev.ring = RingId{x.ring_id.nodeid, x.ring_id.seq};
                    ev.ring_members.assign(x.members.begin(), x.members.end());
                } else {
                    throw std::runtime_error("node " + std::to_string(n.id) +
                                             ": a PARTIAL_DELIVER no client asked for");
                }
            },
            *decoded);
        hash_event(26, i, (std::uint64_t{static_cast<std::uint8_t>(ev.kind)} << 32) ^ ev.totem_pos);
        if (ev.kind == CpgEvent::Kind::confchg && cl.state == SimClient::State::leaving &&
            std::any_of(ev.left.begin(), ev.left.end(), [&](const CpgMember& m) {
                return m.nodeid == n.id && m.pid == cl.pid && m.reason == proto::cpg::reason_leave;
            }))
            cl.state = SimClient::State::unjoined;  // its own leave: the handle may join again
        client_trace(cl).events.push_back(std::move(ev));
    }

    void handle(FaultEvent& ev) {
        const Fault& f = faults_[ev.index];
        hash_event(5, static_cast<std::uint64_t>(f.kind), f.pick);
        std::vector<std::size_t> up, down;
        for (std::size_t i = 0; i < nodes_.size(); ++i)
            (nodes_[i].up ? up : down).push_back(i);
        switch (f.kind) {
            case FaultKind::partition:
                net_.partition(f.groups);
                result_.stats.partitions++;
                note("partition", f.groups);
                break;
            case FaultKind::heal:
                net_.heal();
                note("heal", {});
                break;
            case FaultKind::crash:
                if (up.empty())
                    return;
                crash(up[f.pick % up.size()]);
                break;
            case FaultKind::restart:
                if (down.empty())
                    return;
                start_node(down[f.pick % down.size()]);
                result_.stats.restarts++;
                break;
            case FaultKind::oneway:
                if (nodes_.size() < 2)
                    return;
                {
                    const std::size_t from = f.pick % nodes_.size();
                    std::size_t to = (f.pick >> 32) % nodes_.size();
                    if (to == from)
                        to = (from + 1) % nodes_.size();
                    net_.block(from, to);
                    note(("one-way failure " + std::to_string(from + 1) + " -> " +
                          std::to_string(to + 1))
                             .c_str(),
                         {});
                    result_.stats.oneway++;
                }
                break;
            case FaultKind::deaf: {
                const std::size_t i = f.pick % nodes_.size();
                net_.deafen(i);
                note(("node " + std::to_string(i + 1) + " stops receiving MCASTs").c_str(), {});
                result_.stats.deaf++;
                break;
            }
            case FaultKind::pause:
                if (up.empty())
                    return;
                {
                    const std::size_t i = up[f.pick % up.size()];
                    Node& n = nodes_[i];
                    if (n.paused_until_us > now_us_)
                        return;
                    trace_line(i, "paused for " + std::to_string(f.pause_us / 1000) + " ms");
                    n.paused_until_us = now_us_ + f.pause_us;
                    push(n.paused_until_us, UnpauseEvent{i, n.incarnation, f.pause_us});
                    result_.stats.pauses++;
                }
                break;
            case FaultKind::leave:
                if (up.empty())
                    return;
                {
                    const std::size_t i = up[f.pick % up.size()];
                    trace_line(i, "leave");
                    nodes_[i].core->leave(now());
                    drain(i);
                    crash(i);
                }
                break;
        }
        result_.stats.faults++;
    }

    // A paused node handles nothing: its packets wait (in the socket buffer), its timers and
    // workload wait; all run, in their order, once the pause ends (UnpauseEvent, pushed when
    // the pause began, comes first).
    template <typename E>
    bool defer(const Node& n, E& ev) {
        if (n.paused_until_us <= now_us_)
            return false;
        push(n.paused_until_us, std::move(ev));
        return true;
    }

    void handle(UnpauseEvent& ev) {
        Node& n = nodes_[ev.node];
        if (!n.up || n.incarnation != ev.incarnation)
            return;
        hash_event(14, ev.node, static_cast<std::uint64_t>(ev.gap_us));
        trace_line(ev.node, "pause over");
        n.core->on_pause(now(), Duration::micros(ev.gap_us));
        drain(ev.node);
    }

    void handle(BurstEvent& ev) {
        if (now_us_ >= heal_at_us_)
            return;
        hash_event(15, ev.begin ? 1 : 0, 0);
        result_.stats.coverage.bursts += ev.begin ? 1 : 0;
        bursts_active_ += ev.begin ? 1 : -1;
        net_.params.latency_max_us = bursts_active_ > 0
                                         ? std::max(c_.link.latency_max_us, c_.burst_latency_max_us)
                                         : c_.link.latency_max_us;
        note(ev.begin ? "reordering burst" : "reordering burst over", {});
    }

    void handle(HealEvent&) {
        hash_event(6, 0, 0);
        bursts_active_ = 0;
        net_.params.latency_max_us = c_.link.latency_max_us;
        result_.trace.liveness_phase = true;
        result_.trace.heal_time_us = now_us_;
        net_.heal();
        net_.params.loss_ppm = 0;
        net_.params.dup_ppm = 0;
        net_.params.stale_ppm = 0;  // copies already held back still come late
        std::uint64_t pending_bytes = 0;
        std::uint64_t pending_max = 0;
        for (std::size_t i = 0; i < nodes_.size(); ++i) {
            if (!nodes_[i].up)
                start_node(i);
            pending_bytes += nodes_[i].own_submitted_bytes_undelivered;
            pending_max = std::max(pending_max, nodes_[i].own_submitted_bytes_undelivered);
        }
        // A few rounds of token loss, gather, consensus and recovery, plus the time to send
        // what is still queued: budgeting 0.5 MB/s for the whole ring, and for the node with
        // the most, its frames at max_messages per rotation with every hop at the largest
        // latency, twice over (seed 2613: 9 nodes, max_messages 1, 600 KB left at one node
        // drain at about 100 KB/s).
        const std::int64_t round_us =
            c_.srp.token.us + c_.srp.consensus.us + c_.srp.join.us + c_.srp.merge.us;
        const std::int64_t frames =
            static_cast<std::int64_t>(pending_max /
                                      std::max<std::uint32_t>(c_.srp.net_mtu / 2, 1)) +
            1;
        const std::int64_t rotation_us =
            static_cast<std::int64_t>(nodes_.size()) * (c_.link.latency_max_us + 100);
        const std::int64_t drain_us = std::max<std::int64_t>(
            2 * static_cast<std::int64_t>(pending_bytes),
            2 * (frames / std::max<std::uint32_t>(c_.srp.max_messages, 1) + 1) * rotation_us);
        bound_us_ = 8 * round_us + drain_us + 1'000'000;
        result_.trace.liveness_bound_us = bound_us_;
        note("liveness phase", {});
        push(now_us_ + liveness_check_interval_us, LivenessCheckEvent{});
    }

    void handle(LivenessCheckEvent&) {
        hash_event(7, 0, 0);
        if (liveness_reached()) {
            result_.trace.liveness_reached = true;
            result_.stats.liveness_us = now_us_ - heal_at_us_;
            done_ = true;
            return;
        }
        if (now_us_ - heal_at_us_ > bound_us_) {
            done_ = true;
            return;
        }
        push(now_us_ + liveness_check_interval_us, LivenessCheckEvent{});
    }

    // One ring of all nodes, all operational and acknowledged; then one probe per node in that
    // ring, and the end when every node delivered its own messages and every probe.
    bool liveness_reached() {
        NodeList all;
        for (const auto& n : nodes_)
            all.push_back(n.id);
        std::optional<RingId> ring;
        for (const auto& n : nodes_) {
            if (!n.up)
                return false;
            const auto& srp = n.core->stack().srp();
            if (srp.state() != MembState::operational || srp.waiting_trans_ack() ||
                n.core->sync_in_progress())
                return false;
            if (!n.last_conf_regular || n.last_members != all)
                return false;
            if (!(n.last_ring == srp.ring_id()))
                return false;
            if (ring && !(*ring == n.last_ring))
                return false;
            ring = n.last_ring;
        }
        if (!ring)
            return false;
        if (!probe_ring_ || !(*probe_ring_ == *ring)) {
            probe_ring_ = ring;
            for (std::size_t i = 0; i < nodes_.size(); ++i) {
                Node& n = nodes_[i];
                n.pending = PendingMessage{64, payload_flag_probe};
                n.probe_id.reset();
            }
        }
        bool all_done = true;
        for (std::size_t i = 0; i < nodes_.size(); ++i) {
            Node& n = nodes_[i];
            if (n.pending) {
                try_submit(i);
                all_done = false;
            }
            if (n.own_delivered != n.next_counter - 1)
                all_done = false;
            for (const auto& m : nodes_) {
                if (!m.probe_id || !n.probes_delivered.count(*m.probe_id))
                    all_done = false;
            }
        }
        return all_done;
    }

    // ---- nodes ------------------------------------------------------------------------
    void start_node(std::size_t i) {
        Node& n = nodes_[i];
        if (n.up)
            return;
        if (n.ever_started)
            n.incarnation++;
        n.ever_started = true;
        n.up = true;
        net_.set_up(i, true);
        n.next_counter = 1;
        n.pending.reset();
        n.own_delivered = 0;
        n.own_submitted_bytes_undelivered = 0;
        n.last_conf_regular = false;
        n.last_members.clear();
        n.probes_delivered.clear();
        n.timer_at_us.reset();
        n.timer_generation++;
        n.paused_until_us = 0;
        n.fragments_thrown = 0;
        n.probe_id.reset();
        n.marks.clear();
        n.pos = 0;
        n.in_activation = false;
        n.closing.clear();
        n.client_of.clear();
        n.clients.assign(c_.cpg.clients.empty() ? 0 : c_.cpg.clients[i], SimClient{});
        if (!n.observer)
            n.observer = std::make_unique<NodeObserver>(static_cast<Recorder&>(*this), i);
        Incarnation inc;
        inc.node = n.id;
        inc.incarnation = n.incarnation;
        inc.start_us = now_us_;
        result_.trace.incarnations.push_back(std::move(inc));
        n.trace_index = result_.trace.incarnations.size() - 1;
        core::CoreOptions co;
        co.stored_ring_seq = n.persisted_seq;
        co.seed = prng_.next();
        co.srp = c_.srp;
        co.observer = n.observer.get();
        n.core = std::make_unique<core::NodeCore>(configs_[i], co);
        n.core->add_service([](services::Api& api) { return std::make_unique<SimLoad>(api); });
        if (cpg_commit_line_.empty())
            cpg_commit_line_ =
                "Committing synchronization for " +
                std::string(n.core->service(services::Cpg::service_id)->info().engine_name);
        for (auto& e : n.core->take_effects())  // the service-loaded log lines
            if (auto* l = std::get_if<core::LogLine>(&e); l && o_.verbose)
                trace_line(i, "[" + l->subsys + "] " + l->text);
        n.conn.reset();
        n.last_response.reset();
        n.syncs_seen = 0;
        trace_line(i, "start, stored ring seq " + std::to_string(n.persisted_seq));
        n.core->start(now());
        drain(i);
        push(now_us_ + ms_us(static_cast<std::int64_t>(prng_.range(1, c_.msg_interval_max_ms))),
             WorkloadEvent{i, n.incarnation});
        for (std::size_t k = 0; k < n.clients.size(); ++k)
            push(now_us_ + ms_us(static_cast<std::int64_t>(cprng_.range(1, c_.cpg.gap_max_ms))),
                 ClientEvent{i, n.incarnation, k});
    }

    void crash(std::size_t i) {
        Node& n = nodes_[i];
        if (!n.up)
            return;
        hash_event(8, i, 0);
        trace_line(i, "crash");
        n.up = false;
        net_.set_up(i, false);
        collect_coverage(n);
        n.core.reset();
        n.clients.clear();  // they die with their node
        n.client_of.clear();
        n.marks.clear();
        n.closing.clear();
        n.timer_generation++;
        n.timer_at_us.reset();
        result_.trace.incarnations[n.trace_index].crashed = true;
        result_.trace.incarnations[n.trace_index].end_us = now_us_;
        result_.stats.crashes++;
    }

    PendingMessage draw_message() {
        PendingMessage m;
        if (c_.large_ppm && prng_.chance_ppm(c_.large_ppm)) {
            const auto k = prng_.range(11, 20);  // 1 KiB .. 1 MiB, log-uniform
            m.size = static_cast<std::uint32_t>(std::min<std::uint64_t>(
                prng_.range(1ULL << (k - 1), 1ULL << k), large_message_max));
        } else if (prng_.below(4) == 0) {
            m.size = static_cast<std::uint32_t>(prng_.range(200, 1024));
        } else {
            m.size = static_cast<std::uint32_t>(prng_.range(payload_header_size, 200));
        }
        return m;
    }

    void try_submit(std::size_t i) {
        Node& n = nodes_[i];
        if (!n.up || !n.pending)
            return;
        const PendingMessage m = *n.pending;
        const MsgId id{n.id, n.incarnation, n.next_counter};
        const Bytes payload = make_payload(id, m.flags, m.size);
        // Every fifth message asks for safe delivery (the local mode); the rest agreed.
        const Guarantee g = id.counter % 5 == 0 ? Guarantee::safe : Guarantee::agreed;
        const bool accepted = submit(i, payload, g);
        hash_event(9, i, accepted ? m.size : 0);
        if (!accepted) {
            result_.stats.backpressure++;
            drain(i);
            return;
        }
        SubmitRecord rec;
        rec.time_us = now_us_;
        rec.size = m.size;
        rec.flags = m.flags;
        rec.safe = g == Guarantee::safe;
        result_.trace.submitted.emplace(id, std::move(rec));
        if (m.flags & payload_flag_probe)
            n.probe_id = id;
        result_.trace.incarnations[n.trace_index].submitted++;
        result_.stats.submitted++;
        result_.stats.submitted_bytes += m.size;
        n.own_submitted_bytes_undelivered += m.size;
        n.next_counter++;
        n.pending.reset();
        drain(i);
    }

    // The workload's request through the core's IPC path: connect once (the core admits
    // connections after its first sync), then one request; accepted when it answers CS_OK.
    bool submit(std::size_t i, const Bytes& payload, Guarantee g) {
        Node& n = nodes_[i];
        if (!n.conn) {
            if (n.core->ipc_accept(SimLoad::service_id, 0, 0) != 0) {
                drain(i);
                return false;
            }
            drain(i);
            services::ClientInfo c;
            c.conn = ++conn_ids_;
            c.service = SimLoad::service_id;
            c.pid = static_cast<std::int32_t>(n.id);
            c.procname = "simload";
            c.pointer = c.conn;
            if (!n.core->ipc_connected(now(), c)) {
                drain(i);
                return false;
            }
            drain(i);
            if (!n.up)
                return false;
            n.conn = c.conn;
        }
        Bytes request;
        Writer w(request);
        w.i32(0);
        w.u32(0);
        w.u32(static_cast<std::uint32_t>(SimLoad::request_header_size + payload.size()));
        w.u32(0);
        w.u32(g == Guarantee::safe ? 1 : 0);
        w.u32(0);
        w.bytes(payload);
        n.last_response.reset();
        const int r = n.core->ipc_request(now(), *n.conn, request);
        drain(i);
        return r == 0 && n.last_response == static_cast<std::int32_t>(proto::CsError::ok);
    }

    // Executes the core's effects, records what the trace needs of its state, checks its
    // invariants and re-arms its timer.
    void drain(std::size_t i) {
        Node& n = nodes_[i];
        std::optional<int> exit_status;
        for (int round = 0;; ++round) {
            auto effects = n.core->take_effects();
            auto marks = std::exchange(n.marks, {});
            std::size_t m = 0;
            for (std::size_t k = 0; k < effects.size(); ++k) {
                for (; m < marks.size() && marks[m].first <= k; ++m) {
                    n.pos = marks[m].second;
                    n.in_activation = false;
                }
                std::visit([&](auto& x) { execute(i, x, exit_status); }, effects[k]);
            }
            if (m < marks.size())
                n.pos = marks.back().second;
            n.in_activation = false;
            if (n.closing.empty())
                break;
            // Connections the core closed (lib_init refused, or the service dropped them):
            // libqb's connection_closed follows, as a new input.
            if (round >= effects_rounds_max)
                throw std::runtime_error("the simulator's IPC closes do not settle");
            for (const auto conn : std::exchange(n.closing, {}))
                n.core->ipc_closed(now(), conn);
        }
        if (!n.up)
            return;
        if (n.core->sync_completions() != n.syncs_seen) {
            n.syncs_seen = n.core->sync_completions();
            hash_event(16, i, n.syncs_seen);
            if (o_.verbose || o_.trace)
                trace_line(i, "sync completed in " + n.core->ring_id().str());
            result_.trace.incarnations[n.trace_index].syncs.emplace_back(now_us_,
                                                                         n.core->ring_id());
        }
        if (exit_status) {
            // The core asked to exit (cmap's config version check, cfg kill/shutdown): the
            // node is gone, as after a crash (its LEAVE, if any, was sent above).
            trace_line(i, "exit " + std::to_string(*exit_status));
            crash(i);
            return;
        }
        auto& op = result_.trace.incarnations[n.trace_index].operational;
        const bool operational = n.core->stack().srp().state() == MembState::operational;
        if (op.empty() ? operational : op.back().second != operational)
            op.emplace_back(now_us_, operational);
        n.core->check_invariants();
        const auto thrown = n.core->stack().totempg().stats().rx_fragment_lost;
        if (thrown != n.fragments_thrown) {
            result_.stats.fragments_thrown += thrown - n.fragments_thrown;
            trace_line(i, "totempg threw away a partial message (rx_fragment_lost " +
                              std::to_string(thrown) + ")");
            n.fragments_thrown = thrown;
        }
        // One pending timer event per node at most: a deadline that moves later (the token
        // timer is reset by every token) leaves the pending event alone, and that event re-arms
        // for the real deadline when it comes; one that moves earlier replaces it. So stale
        // events do not pile up in the queue.
        const auto d = n.core->next_deadline();
        if (!d)
            return;
        if (n.timer_at_us && *n.timer_at_us <= d->us)
            return;
        arm_timer(i, d->us);
    }

    void arm_timer(std::size_t i, std::int64_t at_us) {
        Node& n = nodes_[i];
        n.timer_generation++;
        n.timer_at_us = std::max(at_us, now_us_);
        push(*n.timer_at_us, TimerEvent{i, n.timer_generation});
    }

    void execute(std::size_t i, SendEffect& e, std::optional<int>&) {
        result_.stats.packets_sent++;
        hash_event(10, i, e.target);
        hash_bytes(ByteView(e.datagram));
        const bool broadcast = e.target == 0;
        std::size_t to = 0;
        if (!broadcast) {
            if (e.target < 1 || e.target > nodes_.size())
                return;  // no such node
            to = e.target - 1;
        }
        copies_.clear();
        net_.route(prng_, i, broadcast, to, copies_);
        if (c_.deaf && e.datagram.size() > 3 && e.datagram[3] == 1) {  // an MCAST (§1)
            std::erase_if(copies_, [&](const NetworkModel::Copy& c) {
                const bool drop = c.to != i && net_.deaf(c.to);
                net_.dropped_deaf += drop ? 1 : 0;
                return drop;
            });
        }
        if (copies_.empty())
            return;
        auto data = std::make_shared<const Bytes>(std::move(e.datagram));
        for (const auto& c : copies_) {
            PacketEvent p{c.to, nodes_[c.to].incarnation, i, data, std::nullopt};
            if (c.held_back) {
                p.held_since_confchgs = nodes_[c.to].confchgs;
                result_.stats.coverage.held_back++;
            }
            push(now_us_ + c.latency_us, std::move(p));
        }
    }

    void execute(std::size_t i, core::IpcResponse& e, std::optional<int>&) {
        Node& n = nodes_[i];
        if (auto c = n.client_of.find(e.conn); c != n.client_of.end()) {
            n.clients[c->second].response = std::move(e.message);
            return;
        }
        if (!n.conn || e.conn != *n.conn)
            return;
        Reader r(e.message);
        r.take(16);
        n.last_response = r.i32();
    }
    void execute(std::size_t i, core::IpcDisconnect& e, std::optional<int>&) {
        Node& n = nodes_[i];
        if (auto c = n.client_of.find(e.conn); c != n.client_of.end()) {
            client_closed(i, c->second, CpgEvent::Kind::close);
            n.closing.push_back(e.conn);
            return;
        }
        if (n.conn && e.conn == *n.conn) {
            n.closing.push_back(e.conn);
            n.conn.reset();
        }
    }
    void execute(std::size_t i, core::IpcEvent& e, std::optional<int>&) {
        Node& n = nodes_[i];
        const auto c = n.client_of.find(e.conn);
        if (c == n.client_of.end())
            return;
        client_event(i, c->second, ByteView(e.message));
    }
    void execute(std::size_t i, core::LogLine& e, std::optional<int>&) {
        if (o_.verbose)
            trace_line(i, "[" + e.subsys + "] " + e.text);
        if (e.subsys == "SYNC" && e.text == cpg_commit_line_) {
            // The cpg service's sync_activate follows: its events are the activation's.
            Node& n = nodes_[i];
            auto& inc = result_.trace.incarnations[n.trace_index];
            RingId ring;
            for (std::size_t k = n.pos; k-- > 0;)
                if (inc.events[k].kind == TraceEvent::Kind::confchg &&
                    inc.events[k].confchg.regular) {
                    ring = inc.events[k].confchg.ring_id;
                    break;
                }
            inc.cpg_activations.emplace_back(n.pos, ring);
            n.in_activation = true;
            hash_event(19, i, n.pos);
        }
    }
    void execute(std::size_t, services::ExitAction& e, std::optional<int>& exit_status) {
        exit_status = e.status;
    }
    template <typename E>
    void execute(std::size_t, E&, std::optional<int>&) {}  // events, rate limits, actions

    // ---- what the observer saw, in the core's order ------------------------------------
    // Every record notes (effects in the outbox, events recorded): drain() places the CPG
    // clients' events by it.
    void mark(Node& n, std::size_t effects) {
        n.marks.emplace_back(effects, result_.trace.incarnations[n.trace_index].events.size());
    }

    void observed_exec(std::size_t i, std::size_t effects, const services::Delivery& del,
                       std::uint16_t service, ByteView message) override {
        Node& n = nodes_[i];
        if (service == SimLoad::service_id) {
            DeliverRecord d;
            record_delivery(i, d, del, message.subspan(16));
            mark(n, effects);
            return;
        }
        auto m = proto::cpg::decode_exec(message);
        if (!m)
            throw std::runtime_error("node " + std::to_string(n.id) +
                                     " delivered a cpg exec message its codec refuses: " +
                                     std::string(proto::to_string(m.error())));
        std::visit(
            [&](auto& x) {
                using T = std::decay_t<decltype(x)>;
                if constexpr (std::is_same_v<T, proto::cpg::ExecMcast>) {
                    DeliverRecord d;
                    d.cpg = true;
                    d.group = x.group_name;
                    d.pid = x.pid;
                    record_delivery(i, d, del, ByteView(x.message));
                } else {
                    TraceEvent ev;
                    ev.kind = TraceEvent::Kind::cpg_exec;
                    ev.time_us = now_us_;
                    ev.cpg.fn = static_cast<std::uint16_t>(Reader(message).u32() & 0xffff);
                    ev.cpg.sender = del.sender;
                    if constexpr (std::is_same_v<T, proto::cpg::ExecProcJoin> ||
                                  std::is_same_v<T, proto::cpg::ExecProcLeave>) {
                        ev.cpg.group = x.group_name;
                        ev.cpg.pid = x.pid;
                        ev.cpg.reason = x.reason;
                    } else if constexpr (std::is_same_v<T, proto::cpg::ExecPartialMcast>) {
                        ev.cpg.group = x.group_name;
                        ev.cpg.pid = x.pid;
                    }
                    hash_event(20, i, (std::uint64_t{ev.cpg.fn} << 32) ^ ev.cpg.pid);
                    result_.trace.incarnations[n.trace_index].events.push_back(std::move(ev));
                }
            },
            *m);
        mark(n, effects);
    }

    // A delivery at node i of the workload service's message or a CPG MCAST's (d: its CPG
    // fields), `payload` the workload payload it carries.
    void record_delivery(std::size_t i, DeliverRecord d, const services::Delivery& del,
                         ByteView payload) {
        Node& n = nodes_[i];
        TraceEvent ev;
        ev.kind = TraceEvent::Kind::deliver;
        ev.time_us = now_us_;
        ev.deliver = std::move(d);
        ev.deliver.sender = del.sender;
        ev.deliver.safe = del.guarantee == Guarantee::safe;
        ev.deliver.sent_ring = del.sent_ring;
        const auto p = decode_payload(payload);
        ev.deliver.intact = p.has_value();
        if (p)
            ev.deliver.id = p->id;
        hash_event(11, i, (std::uint64_t{ev.deliver.id.origin} << 32) ^ ev.deliver.id.counter);
        hash_.u64(ev.deliver.id.incarnation);
        hash_.u64((std::uint64_t{del.sent_ring.rep} << 1) ^ (del.sent_ring.seq << 32) ^
                  (ev.deliver.safe ? 1 : 0) ^ (ev.deliver.cpg ? 2 : 0));
        if (p && p->id.origin == n.id && p->id.incarnation == n.incarnation) {
            n.own_delivered++;
            n.own_submitted_bytes_undelivered -=
                std::min<std::uint64_t>(n.own_submitted_bytes_undelivered, payload.size());
        }
        if (p && (p->flags & payload_flag_probe))
            n.probes_delivered.insert(p->id);
        if (o_.trace)
            trace_line(
                i, std::string(ev.deliver.cpg ? "deliver cpg " : "deliver ") + ev.deliver.id.str());
        result_.trace.incarnations[n.trace_index].events.push_back(std::move(ev));
        result_.stats.delivered++;
    }

    // A Totem configuration change at node i, as every service sees it.
    void observed_confchg(std::size_t i, std::size_t effects, const services::ConfChg& e) override {
        Node& n = nodes_[i];
        TraceEvent ev;
        ev.kind = TraceEvent::Kind::confchg;
        ev.time_us = now_us_;
        ev.confchg.regular = e.type == ConfChgType::regular;
        ev.confchg.members = e.members;
        ev.confchg.left = e.left;
        ev.confchg.joined = e.joined;
        ev.confchg.ring_id = e.ring_id;
        hash_event(12, i, ev.confchg.regular);
        hash_.u64(e.ring_id.rep);
        hash_.u64(e.ring_id.seq);
        for (auto m : e.members)
            hash_.u64(m);
        n.last_conf_regular = ev.confchg.regular;
        n.confchgs++;
        n.last_ring = e.ring_id;
        n.last_members = e.members;
        std::sort(n.last_members.begin(), n.last_members.end());
        if (o_.verbose || o_.trace) {
            std::string s = std::string(ev.confchg.regular ? "regular" : "transitional") +
                            " configuration " + e.ring_id.str() + " members";
            for (auto m : e.members)
                s += " " + std::to_string(m);
            trace_line(i, s);
        }
        result_.trace.incarnations[n.trace_index].events.push_back(std::move(ev));
        result_.stats.confchgs++;
        mark(n, effects);
    }

    // A completed sync at node i: votequorum's view then.
    void observed_sync(std::size_t i) override {
        Node& n = nodes_[i];
        if (!c_.quorum.votequorum)
            return;
        const auto* vq = static_cast<const services::Votequorum*>(
            n.core->service(services::Votequorum::service_id));
        if (!vq)
            throw std::runtime_error("votequorum is configured but not loaded");
        QuorumRecord q;
        q.time_us = now_us_;
        q.ring = n.core->ring_id();
        q.quorate = vq->quorate();
        q.total_votes = vq->total_votes();
        q.expected_votes = vq->us().expected_votes;
        q.quorum = vq->quorum();
        q.wait_for_all_status = vq->wait_for_all_status();
        q.members = static_cast<std::uint32_t>(n.core->members().size());
        hash_event(21, i, (std::uint64_t{q.total_votes} << 32) ^ q.expected_votes);
        hash_.u64(q.quorate);
        result_.trace.incarnations[n.trace_index].quorum.push_back(q);
    }

    void execute(std::size_t i, PersistRingSeqEffect& e, std::optional<int>&) {
        hash_event(13, i, e.seq);
        nodes_[i].persisted_seq = e.seq;
    }

    void trace_line(std::size_t i, const std::string& s) {
        if (!o_.verbose && !o_.trace)
            return;
        std::printf("%10.3f ms  node %zu  %s\n", static_cast<double>(now_us_) / 1000.0, i + 1,
                    s.c_str());
    }
    void note(const char* what, const std::vector<std::uint32_t>& groups) {
        if (!o_.verbose && !o_.trace)
            return;
        std::string s = what;
        for (auto g : groups)
            s += " " + std::to_string(g);
        std::printf("%10.3f ms  --  %s\n", static_cast<double>(now_us_) / 1000.0, s.c_str());
    }

    // Rare paths the run went through, from the stack's own counters (summed over lives).
    void collect_coverage(const Node& n) {
        const auto& st = n.core->stack().srp().stats();
        auto& c = result_.stats.coverage;
        for (std::size_t k = 0; k < c.gather_reasons.size() && k < st.gather_reasons.size(); ++k)
            c.gather_reasons[k] += st.gather_reasons[k];
        c.mcast_retx += st.mcast_retx;
        c.rtr_requested += st.rtr_requested;
        c.token_retransmits += st.token_retransmits;
        c.consensus_timeouts += st.consensus_timeouts;
        c.pauses_detected += st.pauses_detected;
        for (auto e : st.decode_errors)
            c.decode_errors += e;
    }

    void finish() {
        for (const auto& n : nodes_) {
            if (n.up)
                collect_coverage(n);
        }
        for (const auto& inc : result_.trace.incarnations) {
            bool in_trans = false;
            for (const auto& ev : inc.events) {
                if (ev.kind == TraceEvent::Kind::confchg)
                    in_trans = !ev.confchg.regular;
                else if (in_trans && ev.kind == TraceEvent::Kind::deliver)
                    result_.stats.coverage.trans_deliveries++;
            }
        }
        for (const auto& n : nodes_) {
            if (!n.up)
                continue;
            auto& inc = result_.trace.incarnations[n.trace_index];
            for (const auto& m : nodes_)
                if (auto v = n.core->keys_view().get_u64("runtime.members." + std::to_string(m.id) +
                                                         ".config_version"))
                    inc.config_versions[m.id] = *v;
        }
        result_.trace.end_us = now_us_;
        result_.hash = hash_.value();
        result_.trace.liveness_phase = result_.trace.liveness_phase && result_.exception.empty();
        result_.check = check_trace(result_.trace);
    }

    RunConfig c_;
    RunOptions o_;
    Prng prng_;
    Prng cprng_;  // the CPG clients' stream
    NetworkModel net_;
    EventQueue<Event> queue_;
    std::vector<Node> nodes_;
    std::vector<Fault> faults_;
    std::vector<NetworkModel::Copy> copies_;
    std::optional<RingId> probe_ring_;
    std::int64_t now_us_ = 0;
    std::int64_t heal_at_us_ = 0;
    std::int64_t bound_us_ = 0;
    bool done_ = false;
    bool overflow_ = false;
    int bursts_active_ = 0;
    Fnv64 hash_;
    RunResult result_;
    std::vector<conf::Config> configs_;  // per node, read once per run
    services::ConnId conn_ids_ = 0;
    std::uint32_t cpg_pids_ = 1000;  // pids of the CPG clients' joins, run-unique
    std::string cpg_commit_line_;    // sync's log line before cpg's sync_activate
};

}  // namespace

RunResult run_simulation(const RunConfig& config, const RunOptions& options) {
    return Simulation(config, options).run();
}

}  // namespace totem::sim
