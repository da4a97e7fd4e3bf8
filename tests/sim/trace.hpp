// What the simulator records of a run and hands to the checker: per node incarnation, the
// configuration changes and deliveries in the order the stack produced them, plus every message
// that was accepted for sending. Plain data; the checker (checker.hpp) is a pure function of it,
// so it can be fed hand-made traces in tests.
//
// Also here: the workload payload format (each payload names its origin, so the checker can
// identify and verify it) and the FNV-1a hasher behind the trace hash.
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.hpp"
#include "engine/totem/types.hpp"

namespace totem::sim {

// One workload message: origin node, the origin's incarnation (0 = first start, +1 per
// restart) and a per-incarnation counter starting at 1.
struct MsgId {
    NodeId origin = 0;
    std::uint32_t incarnation = 0;
    std::uint32_t counter = 0;
    constexpr auto operator<=>(const MsgId&) const = default;
    std::string str() const;
};

// ---- payload format --------------------------------------------------------------------
// [magic u32 "SIMM"][origin u32][incarnation u32][counter u32][flags u32][size u32]
// [pattern bytes: byte i = (mix(id) + i * 131) & 0xff]  — little-endian; total = size bytes.
inline constexpr std::size_t payload_header_size = 24;
inline constexpr std::uint32_t payload_flag_probe = 1;  // liveness-phase probe message

Bytes make_payload(const MsgId& id, std::uint32_t flags, std::size_t size);
struct DecodedPayload {
    MsgId id;
    std::uint32_t flags = 0;
};
// Nothing when the bytes are not an intact workload payload (wrong magic, size or pattern).
std::optional<DecodedPayload> decode_payload(ByteView payload);

// ---- the trace -------------------------------------------------------------------------
struct ConfChgRecord {
    bool regular = true;  // false: transitional
    NodeList members;
    NodeList left;
    NodeList joined;
    RingId ring_id;
};

struct DeliverRecord {
    MsgId id;
    NodeId sender = 0;   // GroupMessage::sender as the stack reported it
    bool intact = true;  // payload decoded, pattern intact, group list == {"a"}
    bool safe = false;   // delivered with Guarantee::safe (the guarantee of its packet)
    RingId sent_ring;    // the ring it was sent in: the ring id of the packet that completed it
    // A CPG MCAST (the cpg service's exec message 3) rather than the workload service's: its
    // group and the sending process's pid as the exec message names them.
    bool cpg = false;
    std::string group;
    std::uint32_t pid = 0;
};

// A cpg exec message other than MCAST, as the node delivered it to its cpg service (PROCJOIN,
// PROCLEAVE, JOINLIST, DOWNLIST, ...). The EVS checker skips these; they give the CPG
// properties the position of every CPG event in the node's agreed order.
struct CpgExecRecord {
    std::uint16_t fn = 0;  // proto::cpg::ExecFn
    NodeId sender = 0;
    std::string group;
    std::uint32_t pid = 0;
    std::uint32_t reason = 0;
};

struct TraceEvent {
    enum class Kind : std::uint8_t { confchg, deliver, cpg_exec } kind = Kind::deliver;
    std::int64_t time_us = 0;
    ConfChgRecord confchg;  // kind == confchg
    DeliverRecord deliver;  // kind == deliver
    CpgExecRecord cpg;      // kind == cpg_exec
};

// votequorum's view when a node completed a sync (the quorum_agreement property).
struct QuorumRecord {
    std::int64_t time_us = 0;
    RingId ring;
    bool quorate = false;
    std::uint32_t total_votes = 0;
    std::uint32_t expected_votes = 0;  // this node's (GETINFO's expected_votes)
    std::uint32_t quorum = 0;
    bool wait_for_all_status = false;
    std::uint32_t members = 0;  // of the ring (every node has one vote)
};

// One life of one node: from start() to crash (or the end of the run).
struct Incarnation {
    NodeId node = 0;
    std::uint32_t incarnation = 0;
    bool crashed = false;         // ended by a crash (else alive at the end of the run)
    std::int64_t start_us = 0;    // when it started
    std::int64_t end_us = 0;      // when it crashed (crashed only)
    std::uint64_t submitted = 0;  // messages this incarnation got accepted by mcast()
    std::vector<TraceEvent> events;
    // When the stack entered (true) and left (false) OPERATIONAL, as the simulator saw it
    // after each input: between configuration changes a node may be gathering or recovering.
    std::vector<std::pair<std::int64_t, bool>> operational;
    // When the node core completed a service synchronisation, and the ring it synchronised.
    std::vector<std::pair<std::int64_t, RingId>> syncs;
    // At the end of the run (alive incarnations): runtime.members.<id>.config_version as cmap
    // left them, per node id (cmap's sync MCASTs wrote them).
    std::map<NodeId, std::uint64_t> config_versions;
    // When the cpg service activated its sync: the number of events recorded before it, and the
    // ring it synchronised (the node's regular configuration then).
    std::vector<std::pair<std::size_t, RingId>> cpg_activations;
    // votequorum's view at each completed sync (runs with quorum.provider corosync_votequorum).
    std::vector<QuorumRecord> quorum;
};

// ---- CPG clients ----------------------------------------------------------------------
// libcpg's CPG_REASON_* and the cpg exec functions the checker tells apart.
namespace cpg_reason {
inline constexpr std::uint32_t join = 1, leave = 2, nodedown = 3, nodeup = 4, procdown = 5;
}
inline constexpr std::uint16_t cpg_fn_procjoin = 0, cpg_fn_procleave = 1;

// One process of a group as libcpg's callbacks name it (struct cpg_address).
struct CpgMember {
    NodeId nodeid = 0;
    std::uint32_t pid = 0;
    std::uint32_t reason = 0;  // CPG_REASON_*: 0 in member lists
    constexpr auto operator<=>(const CpgMember&) const = default;
};

// What one simulated libcpg client did and what its library handed it, in order. Every event
// carries `totem_pos`: how many events its node's incarnation had recorded (its Totem-level
// deliveries and configuration changes) when the core emitted it, so the checker can place it
// in the node's agreed order; `activation`: emitted by the cpg service's sync activation.
struct CpgEvent {
    enum class Kind : std::uint8_t {
        join,           // JOIN answered CS_OK: `pid` joins `group` (a fresh pid per join)
        leave,          // LEAVE answered CS_OK
        send,           // MCAST accepted: `id` to `group`, as `pid`
        finalize,       // FINALIZE answered CS_OK (no more events), then the connection closed
        close,          // the connection closed without FINALIZE
        confchg,        // CONFCHG_CALLBACK
        deliver,        // DELIVER_CALLBACK
        totem_confchg,  // TOTEM_CONFCHG_CALLBACK (a model v0 library drops it)
    } kind = Kind::confchg;
    std::int64_t time_us = 0;
    std::size_t totem_pos = 0;
    bool activation = false;
    std::string group;
    std::uint32_t pid = 0;  // join, leave, send: the client's; deliver: the sender's
    NodeId nodeid = 0;      // deliver: the sender's
    std::vector<CpgMember> members, left, joined;  // confchg
    MsgId id;                                      // send, deliver
    bool intact = true;                            // deliver: an intact workload payload
    RingId ring;                                   // totem_confchg
    NodeList ring_members;                         // totem_confchg
};

struct CpgClient {
    std::uint32_t id = 0;  // run-unique
    NodeId node = 0;
    std::size_t inc = 0;        // its node's incarnation (index into Trace::incarnations)
    bool model_v1 = false;      // cpg_model_initialize (TOTEM_CONFCHG recorded)
    bool initial_conf = false;  // CPG_MODEL_V1_DELIVER_INITIAL_TOTEM_CONF
    std::vector<CpgEvent> events;
};

struct SubmitRecord {
    std::int64_t time_us = 0;
    std::uint32_t size = 0;
    std::uint32_t flags = 0;
    bool safe = false;  // mcast() was asked for safe delivery
    // Sent by a CPG client (cpg_mcast_joined): its id, pid and group.
    std::optional<std::uint32_t> cpg_client;
    std::uint32_t cpg_pid = 0;
    std::string cpg_group;
};

// The network and the nodes from one change to the next, as the simulator set them: partition
// groups, which nodes run, which are in a scheduling pause. The checker's partition_progress
// property derives the connected components from it. Indexes follow Trace::nodes.
struct TopologyRecord {
    std::int64_t time_us = 0;
    std::vector<std::uint32_t> group;  // partition group: nodes of one group reach each other
    std::vector<bool> up;              // started and not crashed
    std::vector<bool> paused;          // not scheduled (its packets and timers wait)
    bool asymmetric = false;           // some one-way link failure or deaf node is in force
    bool same_state(const TopologyRecord& o) const {  // everything but the time
        return group == o.group && up == o.up && paused == o.paused && asymmetric == o.asymmetric;
    }
};

struct Trace {
    NodeList nodes;                           // every node id of the run, ascending
    std::vector<Incarnation> incarnations;    // in start order
    std::map<MsgId, SubmitRecord> submitted;  // every message mcast() accepted
    // The liveness phase: set when the run had one (faults stopped at heal_time_us) and whether
    // the simulator saw the end condition before its bound (the checker re-verifies it).
    bool liveness_phase = false;
    bool liveness_reached = false;
    std::int64_t heal_time_us = 0;
    std::int64_t liveness_bound_us = 0;
    bool budget_exhausted = false;  // the run hit its event cap
    // For partition_progress: every change of the topology in the fault phase and at the heal
    // (the first record is the start), the run's loss and the timeouts its bound derives from.
    std::vector<TopologyRecord> topology;
    std::uint32_t loss_pct = 0;
    std::int64_t token_us = 0, consensus_us = 0, join_us = 0;
    std::int64_t end_us = 0;  // virtual time when the run ended
    // Reordering bursts: from their start to their end plus the longest latency they draw.
    std::vector<std::pair<std::int64_t, std::int64_t>> bursts;
    std::uint64_t config_version = 0;  // totem.config_version of every node of the run
    std::vector<CpgClient> cpg_clients;
    bool votequorum = false;  // quorum.provider: corosync_votequorum
    // The votequorum options under which corosync's members of one ring may legitimately
    // disagree on expected votes and quorate (docs/sim.md, quorum_agreement): a
    // last_man_standing window runs per node, auto_tie_breaker reads each node's previous
    // membership and the lowest/highest id it saw while quorate, and expected votes raised above
    // a configured quorum.expected_votes are kept per node.
    bool vq_last_man_standing = false;
    bool vq_auto_tie_breaker = false;
    std::uint32_t vq_expected_votes = 0;  // quorum.expected_votes (0: from the nodelist)
};

// ---- FNV-1a 64 -------------------------------------------------------------------------
class Fnv64 {
  public:
    void byte(std::uint8_t b) {
        h_ ^= b;
        h_ *= 0x100000001b3ULL;
    }
    void u64(std::uint64_t v) {
        for (int i = 0; i < 8; ++i)
            byte(static_cast<std::uint8_t>(v >> (8 * i)));
    }
    void bytes(ByteView b) {
        for (auto c : b)
            byte(c);
    }
    std::uint64_t value() const { return h_; }

  private:
    std::uint64_t h_ = 0xcbf29ce484222325ULL;
};

}  // namespace totem::sim
