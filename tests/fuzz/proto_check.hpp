// Shared by the proto fuzz targets: the properties every proto decoder must have on any input.
//
// A decoder must return without reading past the end (ASan) or undefined behaviour (UBSan),
// and with a named reason when it refuses. When it accepts, the message must re-encode to bytes
// that decode to the same struct, with PadFill 0 and 0xFF alike (padding is ignored), of the
// input's length, and equal to the input at every field byte (the bytes where the two
// encodings agree): the decoder accepts exactly the layout the encoder writes, padding aside.
// A violation aborts with the decoder's name.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "proto/ipc.hpp"

namespace totem::fuzz {

[[noreturn]] inline void fail(std::string_view decoder, const char* what) {
    std::fprintf(stderr, "%.*s: %s\n", static_cast<int>(decoder.size()), decoder.data(), what);
    std::abort();
}

// `unset_size_field`: the decoder does not read the header's size field (pload START).
template <typename Decode>
void check_decoder(std::string_view name, Decode decode, ByteView input,
                   bool unset_size_field = false) {
    auto first = decode(input);
    if (!first.ok()) {
        if (proto::to_string(first.error()) == "unknown")
            fail(name, "unnamed DecodeError");
        return;
    }
    const Bytes zero = encode(*first);
    const Bytes ones = encode(*first, proto::PadFill{0xff});
    if (zero.size() != input.size() || ones.size() != input.size())
        fail(name, "re-encoding changed the length");
    auto second = decode(zero);
    if (!second.ok())
        fail(name, "re-encoded message refused");
    if (!(*second == *first))
        fail(name, "fields differ after re-encoding");
    auto third = decode(ones);
    if (!third.ok() || !(*third == *first))
        fail(name, "padding filled with 0xff changes the decoded fields");
    for (std::size_t i = 0; i < input.size(); ++i) {
        if (unset_size_field && i >= 8 && i < 12)
            continue;
        if (zero[i] == ones[i] && zero[i] != input[i])
            fail(name, "a field byte of the input is not what the encoder writes");
    }
}

}  // namespace totem::fuzz
