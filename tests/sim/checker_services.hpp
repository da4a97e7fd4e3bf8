// Inside the checker (checker.hpp has the contract): the findings recorder both halves share,
// and the properties of the services above Totem — the CPG clients' (check_cpg) and quorum
// agreement (check_quorum). Pure functions of a Trace, like the rest of the checker.
#pragma once

#include <cstddef>
#include <string>
#include <utility>

#include "tests/sim/checker.hpp"
#include "tests/sim/trace.hpp"

namespace totem::sim::detail {

inline constexpr std::size_t findings_max = 24;          // details kept per run
inline constexpr std::size_t findings_per_kind_max = 3;  // so that one kind cannot hide the others

// Counts every check and every violation; keeps the first few findings.
class Findings {
  public:
    explicit Findings(CheckResult& r) : r_(r) {}
    bool expect(Violation v, bool ok, const std::string& detail);
    // The detail is only built when the check fails.
    template <typename Detail>
    bool expect_lazy(Violation v, bool ok, Detail&& detail) {
        if (ok) {
            r_.checks[static_cast<std::size_t>(v)]++;
            return true;
        }
        return expect(v, false, std::forward<Detail>(detail)());
    }

  private:
    CheckResult& r_;
};

void check_cpg(const Trace& t, Findings& f);
void check_quorum(const Trace& t, Findings& f);

}  // namespace totem::sim::detail
