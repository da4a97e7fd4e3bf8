// Golden vectors captured from a real corosync 3.1.7 ring (tests/vectors/capture-corosync.sh):
// each decodes to the fields written beside it (by extract-vectors.py, an independent decoder),
// re-encodes to the captured bytes, and its big-endian form decodes to the same fields.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>

#include "engine/totem/wire.hpp"
#include "tests/unit/wire/wire_test_util.hpp"

namespace totem::wire {
namespace {

struct Vector {
    std::string name;
    Bytes bytes;
    test::Lines fields;
};

std::vector<Vector> load_vectors() {
    std::vector<Vector> out;
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(TOTEM_VECTORS_DIR))
        if (e.path().extension() == ".txt")
            files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
        Vector v;
        v.name = f.stem().string();
        std::ifstream in(f);
        std::string line;
        while (std::getline(in, line)) {
            if (line.empty() || line[0] == '#')
                continue;
            const auto eq = line.find(" =");
            if (eq == std::string::npos)
                continue;
            std::string key = line.substr(0, eq);
            std::string value = line.size() > eq + 3 ? line.substr(eq + 3) : "";
            if (key == "hex") {
                v.bytes = test::from_hex(value);
            } else {
                v.fields.emplace_back(key, value);
            }
        }
        out.push_back(std::move(v));
    }
    return out;
}

}  // namespace

TEST_CASE("golden vectors from corosync 3.1.7 decode and re-encode byte for byte",
          "[wire][vectors]") {
    const auto vectors = load_vectors();
    REQUIRE(vectors.size() >= 6);
    std::set<MessageType> types;
    bool encapsulated_seen = false;
    for (const auto& v : vectors) {
        INFO("vector " << v.name);
        REQUIRE(!v.bytes.empty());
        auto p = peek(v.bytes);
        REQUIRE(p);
        CHECK_FALSE(p->swapped);  // corosync on x86_64 sends little-endian (§1)
        types.insert(p->header.type);

        auto d = decode(v.bytes);
        REQUIRE(d);
        const test::Lines got = test::render(*d);
        CHECK(got == v.fields);
        CHECK(test::encode_any(*d) == v.bytes);

        const Bytes be = test::to_big_endian(v.bytes, *d);
        auto db = decode(be);
        REQUIRE(db);
        CHECK(test::render(*db) == v.fields);

        if (auto* m = std::get_if<Mcast>(&*d); m && m->h.header.encapsulated == 1) {
            encapsulated_seen = true;
            auto inner = decode_mcast(m->payload);  // the old-ring MCAST, byte for byte
            REQUIRE(inner);
            CHECK(inner->h.header.encapsulated == 2);
            Bytes re;
            encode(inner->h, inner->payload, re);
            CHECK(re == Bytes(m->payload.begin(), m->payload.end()));
        }
    }
    CHECK(types.size() == 6);  // one of each message type
    CHECK(encapsulated_seen);
}

}  // namespace totem::wire
