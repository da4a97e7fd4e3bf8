// Simulation: one seeded run of 1..16 complete Totem nodes (totem::TotemStack) in one process,
// on virtual time, over NetworkModel, with a workload and a fault schedule all drawn from one
// Prng. The run records a Trace for the EVS checker and a hash of everything that happened.
//
// A run has two phases (after TigerBeetle's VOPR): the fault phase — loss, duplication,
// reordering, partitions, heals, crashes, restarts, orderly leaves, pauses, one-way link failures,
// while every node submits messages — and the liveness phase: faults stop, every node is restarted
// and connected, and the run goes on until all nodes form one ring and every message of a surviving
// node has been delivered, or until a bound derived from the timeouts passes (a liveness
// failure).
//
// Everything is bounded: events per run, virtual time, pending events. Deterministic: no clock,
// no global RNG, ties in time broken by scheduling order, no unordered containers.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/totem/config.hpp"
#include "engine/totem/srp.hpp"
#include "tests/sim/checker.hpp"
#include "tests/sim/network.hpp"
#include "tests/sim/trace.hpp"

namespace totem::sim {

// What the command line fixes; the rest of a run is drawn from its seed.
struct RunOptions {
    std::uint32_t nodes_min = 3;  // nodes are drawn in [nodes_min, nodes_max]
    std::uint32_t nodes_max = 3;
    std::uint32_t loss_min_pct = 0;  // loss drawn in [loss_min_pct, loss_max_pct] (integer %)
    std::uint32_t loss_max_pct = 0;
    bool faults = false;  // partitions, crashes, restarts, leaves in the fault phase
    // 1..2 nodes stop receiving MCASTs during the fault phase, and in 3/4 of the seeds a small
    // fail_recv_const (4..60 rotations): FAILED TO RECEIVE. Its own random stream, so that runs
    // without it stay as they were.
    bool deaf = false;
    bool verbose = false;  // print the nodes' log lines
    bool trace = false;    // print every simulator event
    std::uint64_t events_max = 600'000;
};

// The CPG clients of a run (their own random stream): how many per node, the groups, how often
// each acts and how often it leaves, finalizes or drops its connection.
struct CpgDraw {
    std::vector<std::uint32_t> clients;  // per node, 0..3 (empty: no CPG clients in this run)
    std::uint32_t groups = 0;            // 2..3 group names
    std::uint32_t gap_max_ms = 0;        // a client acts every 1..gap_max_ms
    std::uint32_t churn_ppm = 0;         // per act: leave, finalize, drop the connection (each)
    std::uint32_t large_ppm = 0;         // per message: 1 KiB..64 KiB instead of 24..1024 B
    std::uint32_t safe_pct = 0;          // per message: CPG_TYPE_SAFE
};

// votequorum in the run's corosync.conf (its own random stream); provider off: no quorum section.
struct QuorumDraw {
    bool votequorum = false;
    std::uint32_t expected_votes = 0;  // quorum.expected_votes (0: from the nodelist)
    bool two_node = false;             // 2 nodes only
    bool wait_for_all = false;
    bool last_man_standing = false;
    std::uint32_t lms_window_ms = 0;
    std::uint32_t auto_tie_breaker = 0;  // 0 off, 1 lowest, 2 highest, 3 a node list
    std::vector<NodeId> atb_nodes;       // auto_tie_breaker_node: list
    std::string text() const;            // the quorum { } section ("" without votequorum)
};

// The parameters of one run, drawn from the seed (printed with a failure).
struct RunConfig {
    std::uint64_t seed = 0;
    std::uint32_t nodes = 0;
    std::uint32_t loss_pct = 0;
    bool faults = false;
    bool deaf = false;
    SrpConfig srp;
    LinkParams link;
    std::int64_t fault_phase_us = 0;
    std::uint32_t msg_interval_max_ms = 0;  // per-node gap between submissions: 1..max ms
    std::uint32_t large_ppm = 0;            // chance that a message is large (up to 1 MiB)
    std::uint64_t config_version = 0;       // totem.config_version of every node (0: none)
    // Bursts of reordering in the fault phase: for token/4..2 × token each, copies take up to
    // burst_latency_max_us instead of link.latency_max_us.
    std::uint32_t bursts = 0;
    std::int64_t burst_latency_max_us = 0;
    std::uint32_t fault_phase_factor = 1;  // 3..5 in a quarter of the seeds: long stretches
    CpgDraw cpg;
    QuorumDraw quorum;
    std::string describe() const;
    std::string reproduce() const;  // a totem-sim command line that replays this run
};

// Rare protocol paths a run went through (the stack's counters, summed over every node life).
struct Coverage {
    std::array<std::uint64_t, static_cast<std::size_t>(GatherReason::count)> gather_reasons{};
    std::uint64_t mcast_retx = 0, rtr_requested = 0, token_retransmits = 0;
    std::uint64_t consensus_timeouts = 0, pauses_detected = 0;
    std::uint64_t decode_errors = 0;     // our own datagrams refused by our own decoder
    std::uint64_t trans_deliveries = 0;  // messages delivered in a transitional configuration
    std::uint64_t held_back = 0;         // copies the network held back (stale_ppm)
    std::uint64_t stale_arrivals = 0;    // of which arrived after the receiver changed ring
    std::uint64_t bursts = 0;            // reordering bursts
};

struct RunStats {
    std::uint64_t events = 0;
    std::int64_t virtual_us = 0;
    std::uint64_t packets_sent = 0;      // datagrams handed to the network (one per send)
    std::uint64_t packets_received = 0;  // copies handed to a node
    std::uint64_t submitted = 0;         // messages accepted by mcast()
    std::uint64_t submitted_bytes = 0;
    std::uint64_t cpg_sent = 0;       // of them by CPG clients
    std::uint64_t cpg_delivered = 0;  // DELIVER callbacks at CPG clients
    std::uint64_t cpg_confchgs = 0;   // CONFCHG callbacks at CPG clients
    std::uint64_t cpg_clients = 0;    // CPG connections made
    std::uint64_t cpg_joins = 0, cpg_leaves = 0, cpg_finalizes = 0, cpg_closes = 0;
    std::uint64_t backpressure = 0;  // mcast() refusals
    std::uint64_t delivered = 0;     // deliveries, summed over nodes
    std::uint64_t confchgs = 0;      // configuration changes, summed over nodes
    std::uint64_t faults = 0;        // partitions, heals, crashes, restarts, leaves, pauses
    std::uint64_t crashes = 0, restarts = 0, partitions = 0, pauses = 0, oneway = 0, deaf = 0;
    std::uint64_t fragments_thrown = 0;  // totempg partial messages discarded (rx_fragment_lost)
    std::int64_t liveness_us = 0;        // heal → end condition (0 if not reached)
    Coverage coverage;
};

struct RunResult {
    RunConfig config;
    RunStats stats;
    std::uint64_t hash = 0;
    CheckResult check;
    std::string exception;  // the stack threw (a bug); the run stopped there
    bool ok() const { return check.ok() && exception.empty(); }
    Trace trace;
};

RunConfig draw_config(std::uint64_t seed, const RunOptions& options);
RunResult run_simulation(const RunConfig& config, const RunOptions& options);

}  // namespace totem::sim
