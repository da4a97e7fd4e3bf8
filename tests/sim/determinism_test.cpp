// Replaying a seed gives a bit-identical run: the same trace hash, twice in one process, and
// again when the run's drawn node count and loss are passed as fixed values (the reproduction
// line a failure prints).
#include <catch2/catch.hpp>

#include "tests/sim/sim.hpp"

using namespace totem::sim;

TEST_CASE("simulator: a seed replays with the same hash") {
    RunOptions o;
    o.nodes_min = 1;
    o.nodes_max = 7;
    o.loss_min_pct = 0;
    o.loss_max_pct = 30;
    o.faults = true;
    for (std::uint64_t seed : {1u, 2u, 3u, 99u, 12345u}) {
        const RunConfig c = draw_config(seed, o);
        const RunResult a = run_simulation(c, o);
        const RunResult b = run_simulation(c, o);
        INFO(c.describe());
        CHECK(a.hash == b.hash);
        CHECK(a.stats.events == b.stats.events);
        CHECK(a.stats.delivered == b.stats.delivered);

        RunOptions fixed = o;
        fixed.nodes_min = fixed.nodes_max = c.nodes;
        fixed.loss_min_pct = fixed.loss_max_pct = c.loss_pct;
        const RunConfig c2 = draw_config(seed, fixed);
        CHECK(c2.describe() == c.describe());
        CHECK(run_simulation(c2, fixed).hash == a.hash);
    }
}

TEST_CASE("simulator: different seeds differ") {
    RunOptions o;
    o.nodes_min = o.nodes_max = 3;
    CHECK(run_simulation(draw_config(5, o), o).hash != run_simulation(draw_config(6, o), o).hash);
}

TEST_CASE("simulator: --deaf draws from its own stream, replays, and reaches FAILED TO RECEIVE") {
    RunOptions o;
    o.nodes_min = 2;
    o.nodes_max = 7;
    o.loss_min_pct = 0;
    o.loss_max_pct = 20;
    o.faults = true;
    RunOptions deaf = o;
    deaf.deaf = true;
    std::uint64_t failed_to_receive = 0;
    for (std::uint64_t seed = 1000; seed < 1060; ++seed) {
        const RunConfig plain = draw_config(seed, o);
        const RunConfig c = draw_config(seed, deaf);
        INFO(c.describe());
        // Everything but the deaf knobs is what the seed draws without --deaf.
        CHECK(c.nodes == plain.nodes);
        CHECK(c.loss_pct == plain.loss_pct);
        CHECK(c.srp.token == plain.srp.token);
        CHECK(c.fault_phase_us == plain.fault_phase_us);
        CHECK(c.msg_interval_max_ms == plain.msg_interval_max_ms);
        CHECK(c.reproduce().find(" --deaf") != std::string::npos);
        CHECK(plain.reproduce().find("--deaf") == std::string::npos);
        const RunResult r = run_simulation(c, deaf);
        CHECK(r.ok());
        CHECK(r.stats.deaf >= 1);
        failed_to_receive +=
            r.stats.coverage
                .gather_reasons[static_cast<std::size_t>(totem::GatherReason::failed_to_receive)];
        if (seed < 1003)
            CHECK(run_simulation(c, deaf).hash == r.hash);
    }
    CHECK(failed_to_receive > 0);
}
