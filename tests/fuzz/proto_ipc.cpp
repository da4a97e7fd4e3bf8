// libFuzzer target for every IPC decoder of proto/ (all services, requests, responses and
// events, each per-message decoder and each service's dispatch by id): one input goes to all of
// them; tests/fuzz/proto_check.hpp states what each must satisfy.
#include <cstdint>

#include "tests/fuzz/proto_check.hpp"
#include "tests/unit/proto/catalogue.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const totem::ByteView input(data, size);
    totem::test::for_each_ipc_decoder([&](std::string_view name, auto decode) {
        totem::fuzz::check_decoder(name, decode, input);
    });
    return 0;
}
