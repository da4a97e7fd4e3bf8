// libFuzzer target for the Totem SRP decoder (engine/totem/wire.hpp).
//
// Any input: decode() must return without reading past the end (ASan) or tripping UB (UBSan).
// A message it accepts must re-encode to bytes that decode to the same fields, and those bytes
// must be the input itself when the input was little-endian (the decoder accepts exactly the
// layout the encoder writes), and its byte swap when it was big-endian. The big-endian form of
// an accepted message must decode to the same fields too. A mismatch aborts.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <variant>

#include "engine/totem/wire.hpp"
#include "tests/unit/wire/wire_test_util.hpp"

namespace {

using namespace totem;
using namespace totem::wire;

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "wire_decode: %s\n", what);
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const ByteView input(data, size);
    auto first = decode(input);
    auto p = peek(input);
    if (!first) {
        // A refused header is refused by peek() with the same reason.
        if (!p && p.error() != first.error())
            fail("peek and decode disagree");
        if (to_string(first.error()).empty())
            fail("unnamed DecodeError");
        return 0;
    }
    if (!p)
        fail("decode accepted what peek refused");
    const Bytes again = test::encode_any(*first);
    auto second = decode(again);
    if (!second)
        fail("re-encoded message refused");
    if (!test::same(*first, *second))
        fail("fields differ after re-encoding");
    if (!p->swapped && (again.size() != size || std::memcmp(again.data(), data, size) != 0))
        fail("re-encoding a little-endian message changed its bytes");
    // The same message from a big-endian sender; for a big-endian input, the input itself.
    const Bytes be = test::to_big_endian(again, *first);
    if (p->swapped && (be.size() != size || std::memcmp(be.data(), data, size) != 0))
        fail("re-encoding a big-endian message changed its bytes");
    auto from_be = decode(be);
    if (!from_be || !test::same(*first, *from_be))
        fail("big-endian form decodes differently");
    if (!peek(be)->swapped)
        fail("big-endian form not detected");
    // An MCAST carrying an old-ring MCAST: the inner one goes through the decoder as well.
    if (auto* m = std::get_if<Mcast>(&*first); m && m->h.header.encapsulated == 1) {
        auto inner = decode(m->payload);
        if (inner) {
            const Bytes inner_again = test::encode_any(*inner);
            auto inner_second = decode(inner_again);
            if (!inner_second || !test::same(*inner, *inner_second))
                fail("inner MCAST round trip");
        }
    }
    return 0;
}
