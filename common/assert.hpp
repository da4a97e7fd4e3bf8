// TOTEM_ASSERT: always on. For what can only be our own bug — never for untrusted input, which
// gets a Result or a counter instead. The simulator prints its seed before the abort.
#pragma once

#include <cstdio>
#include <cstdlib>

namespace totem {

[[noreturn]] inline void assert_failed(const char* expr, const char* file, int line) {
    std::fprintf(stderr, "TOTEM_ASSERT failed: %s (%s:%d)\n", expr, file, line);
    std::fflush(stderr);
    std::abort();
}

}  // namespace totem

#define TOTEM_ASSERT(cond)                                     \
    do {                                                       \
        if (!(cond))                                           \
            ::totem::assert_failed(#cond, __FILE__, __LINE__); \
    } while (0)
