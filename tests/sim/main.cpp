// totem-sim: runs seeded simulations of a Totem ring and checks Extended Virtual Synchrony.
//
//   totem-sim --seed S [--runs R] [--nodes N] [--nodes-max M] [--loss PCT] [--loss-max P]
//             [--faults] [--deaf] [--verbose] [--trace] [--each] [--events-max E]
//
// --runs R runs seeds S..S+R-1. Without --nodes-max every run has N nodes (default 3); with it
// each seed draws its node count in [N, M] (N defaults to 1 then); --loss/--loss-max likewise
// (integer percent). A failing run prints its seed, what the checker found and a command line
// that replays it (--each: a line for every run); the exit status is 1 when any run failed, 2 on a
// usage error.
//
// The wall clock is read here only, for seeds per second; it never reaches a run.
#include <unistd.h>
#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "tests/sim/sim.hpp"

namespace {

using totem::sim::RunOptions;
using totem::sim::RunResult;
using totem::sim::Violation;

// Printed if the stack aborts (TOTEM_ASSERT) or crashes in the middle of a run.
char abort_message[512];

extern "C" void on_fatal_signal(int sig) {
    const auto n = std::strlen(abort_message);
    if (n && write(2, abort_message, n) < 0) {
        // nothing left to do
    }
    std::signal(sig, SIG_DFL);
    std::raise(sig);
}

// totem::GatherReason in order, short; a reason added later prints by number.
constexpr const char* gather_reason_names[] = {
    "startup",      "token_lost",      "heartbeat_lost",     "join_received",
    "merge_detect", "foreign_message", "failed_to_receive",  "consensus_timeout",
    "commit_lost",  "recovery_lost",   "commit_interrupted", "leave",
    "pause",        "config_mismatch"};

std::string gather_reason_name(std::size_t g) {
    return g < std::size(gather_reason_names) ? gather_reason_names[g]
                                              : "reason" + std::to_string(g);
}

int usage(const char* why) {
    std::fprintf(
        stderr,
        "totem-sim: %s\n"
        "usage: totem-sim --seed S [--runs R] [--nodes N] [--nodes-max M] [--loss PCT]\n"
        "                 [--loss-max P] [--faults] [--deaf] [--verbose] [--trace] [--each]\n"
        "                 [--events-max E]\n",
        why);
    return 2;
}

bool parse_u64(const char* s, std::uint64_t& out) {
    if (!s || !*s)
        return false;
    char* end = nullptr;
    errno = 0;
    const unsigned long long v = std::strtoull(s, &end, 10);
    if (errno || *end || s[0] == '-')
        return false;
    out = v;
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    std::uint64_t seed = 1, runs = 1, nodes = 3, nodes_max = 0, loss = 0, loss_max = 0;
    bool nodes_given = false, nodes_max_given = false, loss_max_given = false, each = false;
    RunOptions o;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        auto value = [&](std::uint64_t& out) {
            if (i + 1 >= argc || !parse_u64(argv[i + 1], out))
                return false;
            ++i;
            return true;
        };
        bool ok = true;
        if (a == "--seed") {
            ok = value(seed);
        } else if (a == "--runs") {
            ok = value(runs) && runs >= 1;
        } else if (a == "--nodes") {
            ok = value(nodes) && nodes >= 1 && nodes <= 16;
            nodes_given = true;
        } else if (a == "--nodes-max") {
            ok = value(nodes_max) && nodes_max >= 1 && nodes_max <= 16;
            nodes_max_given = true;
        } else if (a == "--loss") {
            ok = value(loss) && loss <= 100;
        } else if (a == "--loss-max") {
            ok = value(loss_max) && loss_max <= 100;
            loss_max_given = true;
        } else if (a == "--events-max") {
            std::uint64_t e = 0;
            ok = value(e) && e >= 1;
            o.events_max = e;
        } else if (a == "--faults") {
            o.faults = true;
        } else if (a == "--deaf") {
            o.deaf = true;
        } else if (a == "--verbose") {
            o.verbose = true;
        } else if (a == "--each") {
            each = true;
        } else if (a == "--trace") {
            o.trace = true;
        } else if (a == "--help" || a == "-h") {
            usage("Totem simulator");
            return 0;
        } else {
            return usage(("unknown argument " + std::string(a)).c_str());
        }
        if (!ok)
            return usage(("bad value for " + std::string(a)).c_str());
    }
    if (nodes_max_given) {
        o.nodes_min = static_cast<std::uint32_t>(nodes_given ? nodes : 1);
        o.nodes_max = static_cast<std::uint32_t>(nodes_max);
        if (o.nodes_max < o.nodes_min)
            return usage("--nodes-max below --nodes");
    } else {
        o.nodes_min = o.nodes_max = static_cast<std::uint32_t>(nodes);
    }
    o.loss_min_pct = static_cast<std::uint32_t>(loss);
    o.loss_max_pct = static_cast<std::uint32_t>(loss_max_given ? loss_max : loss);
    if (o.loss_max_pct < o.loss_min_pct)
        return usage("--loss-max below --loss");

    std::signal(SIGABRT, on_fatal_signal);
    std::signal(SIGSEGV, on_fatal_signal);
    std::signal(SIGFPE, on_fatal_signal);
    std::signal(SIGBUS, on_fatal_signal);

    const auto wall_start = std::chrono::steady_clock::now();
    std::uint64_t failed = 0, submitted = 0, submitted_bytes = 0, delivered = 0, confchgs = 0,
                  faults = 0, crashes = 0, restarts = 0, partitions = 0, pauses = 0, oneway = 0,
                  deaf = 0, fragments_thrown = 0, events = 0, backpressure = 0, node_sum = 0,
                  reached = 0, cpg_clients = 0, cpg_sent = 0, cpg_delivered = 0, cpg_confchgs = 0,
                  cpg_joins = 0, cpg_leaves = 0, cpg_finalizes = 0, cpg_closes = 0, cpg_runs = 0,
                  vq_runs = 0;
    std::int64_t virtual_us = 0, liveness_max_us = 0, liveness_sum_us = 0;
    std::uint32_t nodes_lo = 16, nodes_hi = 0;
    std::array<std::uint64_t, totem::sim::violation_count> checks{}, violations{};
    totem::sim::Fnv64 all_hashes;
    totem::sim::Coverage coverage;
    // Failing seeds per violation kind (the last slot: the stack threw).
    std::array<std::vector<std::uint64_t>, totem::sim::violation_count + 1> failing_seeds;
    for (std::uint64_t k = 0; k < runs; ++k) {
        const auto config = totem::sim::draw_config(seed + k, o);
        std::snprintf(abort_message, sizeof abort_message,
                      "\n*** totem-sim: seed %llu aborted in the middle of the run\n"
                      "*** %s\n*** reproduce: %s\n",
                      static_cast<unsigned long long>(config.seed), config.describe().c_str(),
                      config.reproduce().c_str());
        if (o.verbose || o.trace)
            std::printf("=== %s\n", config.describe().c_str());
        const RunResult r = totem::sim::run_simulation(config, o);
        all_hashes.u64(r.hash);
        const auto& s = r.stats;
        submitted += s.submitted;
        submitted_bytes += s.submitted_bytes;
        delivered += s.delivered;
        confchgs += s.confchgs;
        faults += s.faults;
        crashes += s.crashes;
        restarts += s.restarts;
        partitions += s.partitions;
        pauses += s.pauses;
        oneway += s.oneway;
        deaf += s.deaf;
        fragments_thrown += s.fragments_thrown;
        cpg_clients += s.cpg_clients;
        cpg_sent += s.cpg_sent;
        cpg_delivered += s.cpg_delivered;
        cpg_confchgs += s.cpg_confchgs;
        cpg_joins += s.cpg_joins;
        cpg_leaves += s.cpg_leaves;
        cpg_finalizes += s.cpg_finalizes;
        cpg_closes += s.cpg_closes;
        cpg_runs += config.cpg.clients.empty() ? 0 : 1;
        vq_runs += config.quorum.votequorum ? 1 : 0;
        for (std::size_t g = 0; g < coverage.gather_reasons.size(); ++g)
            coverage.gather_reasons[g] += s.coverage.gather_reasons[g];
        coverage.mcast_retx += s.coverage.mcast_retx;
        coverage.rtr_requested += s.coverage.rtr_requested;
        coverage.token_retransmits += s.coverage.token_retransmits;
        coverage.consensus_timeouts += s.coverage.consensus_timeouts;
        coverage.pauses_detected += s.coverage.pauses_detected;
        coverage.decode_errors += s.coverage.decode_errors;
        coverage.trans_deliveries += s.coverage.trans_deliveries;
        coverage.held_back += s.coverage.held_back;
        coverage.stale_arrivals += s.coverage.stale_arrivals;
        coverage.bursts += s.coverage.bursts;
        events += s.events;
        backpressure += s.backpressure;
        virtual_us += s.virtual_us;
        node_sum += config.nodes;
        nodes_lo = std::min(nodes_lo, config.nodes);
        nodes_hi = std::max(nodes_hi, config.nodes);
        if (r.trace.liveness_reached) {
            reached++;
            liveness_sum_us += s.liveness_us;
            liveness_max_us = std::max(liveness_max_us, s.liveness_us);
        }
        for (std::size_t v = 0; v < totem::sim::violation_count; ++v) {
            checks[v] += r.check.checks[v];
            violations[v] += r.check.violations[v];
        }
        if (runs == 1 || each || !r.ok()) {
            std::printf(
                "seed %llu: %s, hash %016llx, %llu events, %.3f s virtual, %llu "
                "submitted, %llu delivered, %llu configuration changes, %llu partial messages "
                "thrown away\n",
                static_cast<unsigned long long>(config.seed), r.ok() ? "ok" : "FAILED",
                static_cast<unsigned long long>(r.hash), static_cast<unsigned long long>(s.events),
                static_cast<double>(s.virtual_us) / 1e6,
                static_cast<unsigned long long>(s.submitted),
                static_cast<unsigned long long>(s.delivered),
                static_cast<unsigned long long>(s.confchgs),
                static_cast<unsigned long long>(s.fragments_thrown));
        }
        if (!r.ok()) {
            failed++;
            for (std::size_t v = 0; v < totem::sim::violation_count; ++v) {
                if (r.check.violations[v] != 0)
                    failing_seeds[v].push_back(config.seed);
            }
            if (!r.exception.empty())
                failing_seeds[totem::sim::violation_count].push_back(config.seed);
            std::printf("  %s\n", config.describe().c_str());
            std::printf("  violated:");
            for (std::size_t v = 0; v < totem::sim::violation_count; ++v)
                if (r.check.violations[v] != 0)
                    std::printf(
                        " %s",
                        std::string(totem::sim::to_string(static_cast<Violation>(v))).c_str());
            std::printf("%s\n", r.exception.empty() ? "" : " exception");
            if (!r.exception.empty())
                std::printf("  exception: %s\n", r.exception.c_str());
            for (const auto& f : r.check.findings) {
                std::printf("  %s: %s\n", std::string(totem::sim::to_string(f.kind)).c_str(),
                            f.detail.c_str());
            }
            std::printf("  reproduce: %s\n", config.reproduce().c_str());
        }
        std::fflush(stdout);
    }
    abort_message[0] = 0;
    const double wall_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();

    std::printf("totem-sim: %llu seeds (%llu..%llu) in %.1f s, %.1f seeds/s; %llu failed\n",
                static_cast<unsigned long long>(runs), static_cast<unsigned long long>(seed),
                static_cast<unsigned long long>(seed + runs - 1), wall_s,
                wall_s > 0 ? static_cast<double>(runs) / wall_s : 0.0,
                static_cast<unsigned long long>(failed));
    std::printf("  nodes %u..%u (mean %.1f), loss %u..%u%%, faults %s\n", nodes_lo, nodes_hi,
                static_cast<double>(node_sum) / static_cast<double>(runs), o.loss_min_pct,
                o.loss_max_pct, o.faults ? "on" : "off");
    std::printf(
        "  messages submitted %llu (%.1f MB, %llu refused by back-pressure), deliveries "
        "%llu, configuration changes %llu\n",
        static_cast<unsigned long long>(submitted), static_cast<double>(submitted_bytes) / 1e6,
        static_cast<unsigned long long>(backpressure), static_cast<unsigned long long>(delivered),
        static_cast<unsigned long long>(confchgs));
    std::printf(
        "  faults %llu (partitions %llu, crashes %llu, restarts %llu, pauses %llu, one-way %llu, "
        "deaf to MCASTs %llu)\n",
        static_cast<unsigned long long>(faults), static_cast<unsigned long long>(partitions),
        static_cast<unsigned long long>(crashes), static_cast<unsigned long long>(restarts),
        static_cast<unsigned long long>(pauses), static_cast<unsigned long long>(oneway),
        static_cast<unsigned long long>(deaf));
    std::printf("  totempg partial messages thrown away (rx_fragment_lost): %llu\n",
                static_cast<unsigned long long>(fragments_thrown));
    std::printf(
        "  CPG clients in %llu runs: %llu connections, %llu joins, %llu leaves, %llu finalizes, "
        "%llu closes; %llu messages sent, %llu DELIVER and %llu CONFCHG callbacks; votequorum in "
        "%llu runs\n",
        static_cast<unsigned long long>(cpg_runs), static_cast<unsigned long long>(cpg_clients),
        static_cast<unsigned long long>(cpg_joins), static_cast<unsigned long long>(cpg_leaves),
        static_cast<unsigned long long>(cpg_finalizes), static_cast<unsigned long long>(cpg_closes),
        static_cast<unsigned long long>(cpg_sent), static_cast<unsigned long long>(cpg_delivered),
        static_cast<unsigned long long>(cpg_confchgs), static_cast<unsigned long long>(vq_runs));
    std::printf("  coverage: GATHER entered by");
    for (std::size_t g = 0; g < coverage.gather_reasons.size(); ++g) {
        std::printf(" %s=%llu", gather_reason_name(g).c_str(),
                    static_cast<unsigned long long>(coverage.gather_reasons[g]));
    }
    std::printf(
        ";\n            mcast retransmits %llu, rtr requests %llu, token retransmits %llu, "
        "consensus timeouts %llu, pauses detected %llu, transitional deliveries %llu, "
        "decode errors %llu\n"
        "            copies held back %llu (arriving after the receiver's ring changed %llu), "
        "reordering bursts %llu\n",
        static_cast<unsigned long long>(coverage.mcast_retx),
        static_cast<unsigned long long>(coverage.rtr_requested),
        static_cast<unsigned long long>(coverage.token_retransmits),
        static_cast<unsigned long long>(coverage.consensus_timeouts),
        static_cast<unsigned long long>(coverage.pauses_detected),
        static_cast<unsigned long long>(coverage.trans_deliveries),
        static_cast<unsigned long long>(coverage.decode_errors),
        static_cast<unsigned long long>(coverage.held_back),
        static_cast<unsigned long long>(coverage.stale_arrivals),
        static_cast<unsigned long long>(coverage.bursts));
    std::printf(
        "  events %llu, virtual time %.1f s; liveness reached in %llu of %llu runs "
        "(mean %.0f ms, max %.0f ms after the heal)\n",
        static_cast<unsigned long long>(events), static_cast<double>(virtual_us) / 1e6,
        static_cast<unsigned long long>(reached), static_cast<unsigned long long>(runs),
        reached ? static_cast<double>(liveness_sum_us) / 1e3 / static_cast<double>(reached) : 0.0,
        static_cast<double>(liveness_max_us) / 1e3);
    std::printf("  checker:");
    for (std::size_t v = 0; v < totem::sim::violation_count; ++v) {
        std::printf(" %s %llu/%llu",
                    std::string(totem::sim::to_string(static_cast<Violation>(v))).c_str(),
                    static_cast<unsigned long long>(violations[v]),
                    static_cast<unsigned long long>(checks[v]));
    }
    std::printf("  (violations/checks)\n");
    for (std::size_t v = 0; v <= totem::sim::violation_count; ++v) {
        const auto& seeds = failing_seeds[v];
        if (seeds.empty())
            continue;
        std::printf("  failing seeds with %s (%zu):",
                    v < totem::sim::violation_count
                        ? std::string(totem::sim::to_string(static_cast<Violation>(v))).c_str()
                        : "an exception",
                    seeds.size());
        for (std::size_t k = 0; k < seeds.size() && k < 20; ++k) {
            std::printf(" %llu", static_cast<unsigned long long>(seeds[k]));
        }
        std::printf("%s\n", seeds.size() > 20 ? " ..." : "");
    }
    std::printf("  hash %016llx\n", static_cast<unsigned long long>(all_hashes.value()));
    return failed ? 1 : 0;
}
