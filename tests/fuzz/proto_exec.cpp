// libFuzzer target for every exec (cluster) and sync decoder of proto/: one input goes to all
// of them; tests/fuzz/proto_check.hpp states what each must satisfy. The other-endian header
// reader must accept any 16 bytes.
#include <cstdint>

#include "tests/fuzz/proto_check.hpp"
#include "tests/unit/proto/catalogue.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const totem::ByteView input(data, size);
    totem::test::for_each_exec_decoder([&](std::string_view name, auto decode) {
        // pload START's size field is never set by corosync, and not read (proto/pload.hpp).
        bool unset_size = name == "pload.exec.start";
        if (name == "pload.exec") {
            auto h = totem::proto::peek_exec(input);
            unset_size = h.ok() && h->fn == 0;
        }
        totem::fuzz::check_decoder(name, decode, input, unset_size);
    });
    auto le = totem::proto::peek_exec(input);
    auto be = totem::proto::peek_exec_swapped(input);
    if (le.ok() != (size >= 16) || be.ok() != (size >= 16))
        totem::fuzz::fail("peek_exec", "refused or accepted by length alone");
    return 0;
}
