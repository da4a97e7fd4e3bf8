#include "engine/totem/types.hpp"

#include <cstdio>

namespace totem {

std::string RingId::str() const {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%x.%llx", rep, static_cast<unsigned long long>(seq));
    return buf;
}

}  // namespace totem
