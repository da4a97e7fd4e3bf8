// Hex text to bytes for test vectors: anything that is not a hex digit (spaces, '|') is skipped.
#pragma once

#include <string_view>

#include "common/bytes.hpp"

namespace totem::testutil {

inline Bytes from_hex(std::string_view hex) {
    Bytes out;
    int pending = -1;
    for (char c : hex) {
        int v = -1;
        if (c >= '0' && c <= '9')
            v = c - '0';
        if (c >= 'a' && c <= 'f')
            v = c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
            v = c - 'A' + 10;
        if (v < 0)
            continue;
        if (pending < 0) {
            pending = v;
        } else {
            out.push_back(static_cast<std::uint8_t>(pending * 16 + v));
            pending = -1;
        }
    }
    return out;
}

}  // namespace totem::testutil
