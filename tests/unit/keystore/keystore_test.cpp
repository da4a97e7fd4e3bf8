// The cmap key store (services/keystore.hpp) against corosync 3.1.7.
//
// Expected values quoted as `observed: <label>` come from Debian's corosync 3.1.7 and its
// corosync-cmapctl, recorded by tests/unit/keystore/observe_corosync.py (run as root; its output
// is observed-corosync-3.1.7.txt beside this file). The rest cites shared/spec/
// services-and-ipc.md (A1.7, A2.3, A3.2, B4) or the corosync source it names.
#include <catch2/catch.hpp>

#include <cstring>
#include <limits>

#include "conf/load.hpp"
#include "services/keystore.hpp"

using namespace totem::services;
using totem::Bytes;
using totem::ByteView;

namespace {

Bytes bytes(std::string_view s) {
    return Bytes(s.begin(), s.end());
}

std::string hex(const Bytes& b) {
    static const char* d = "0123456789abcdef";
    std::string out;
    for (auto c : b) {
        out += d[c >> 4];
        out += d[c & 15];
    }
    return out;
}

Bytes le(std::uint64_t v, std::size_t n) {
    Bytes b(n);
    for (std::size_t i = 0; i < n; ++i)
        b[i] = static_cast<std::uint8_t>(v >> (8 * i));
    return b;
}

std::uint8_t code(ValueType t) {
    return static_cast<std::uint8_t>(t);
}

// A notification in observe_corosync.py's format: "t<user> EVENT key new=<type>/<len>/<hex>
// old=…", "-" for an absent value.
std::string render(const Notification& n) {
    auto val = [](const std::optional<Value>& v) {
        if (!v)
            return std::string("-");
        return std::to_string(static_cast<int>(v->type())) + "/" + std::to_string(v->size()) + "/" +
               hex(v->raw());
    };
    const char* ev = n.event == Event::added     ? "ADD"
                     : n.event == Event::deleted ? "DELETE"
                                                 : "MODIFY";
    return "t" + std::to_string(n.user_token) + " " + ev + " " + n.key +
           " new=" + val(n.new_value) + " old=" + val(n.old_value);
}

std::string drain(KeyStore& ks) {
    std::string out;
    for (const auto& n : ks.take_notifications())
        out += (out.empty() ? "" : " | ") + render(n);
    return out.empty() ? "(none)" : out;
}

TrackId track(KeyStore& ks, std::string_view key, std::int32_t bits, std::uint64_t token) {
    auto r = ks.add_track(key, bits, token);
    REQUIRE(r.ok());
    return *r;
}

constexpr std::int32_t kAll = kTrackAdd | kTrackDelete | kTrackModify;

// The keys the observation script sets with corosync-cmapctl -s (ks.v.*).
KeyStore observed_v_keys() {
    KeyStore ks;
    REQUIRE(ks.set("ks.v.i8", Value::i8(-5)) == KeyError::ok);
    REQUIRE(ks.set("ks.v.u8", Value::u8(250)) == KeyError::ok);
    REQUIRE(ks.set("ks.v.i16", Value::i16(-300)) == KeyError::ok);
    REQUIRE(ks.set("ks.v.u16", Value::u16(65000)) == KeyError::ok);
    REQUIRE(ks.set("ks.v.i32", Value::i32(-70000)) == KeyError::ok);
    REQUIRE(ks.set("ks.v.u32", Value::u32(4000000000u)) == KeyError::ok);
    REQUIRE(ks.set("ks.v.i64", Value::i64(std::numeric_limits<std::int64_t>::min())) ==
            KeyError::ok);
    REQUIRE(ks.set("ks.v.u64", Value::u64(std::numeric_limits<std::uint64_t>::max())) ==
            KeyError::ok);
    REQUIRE(ks.set("ks.v.flt", Value::f32(3.14159f)) == KeyError::ok);
    REQUIRE(ks.set("ks.v.dbl", Value::f64(2.718281828459045)) == KeyError::ok);
    REQUIRE(ks.set("ks.v.str", Value::str("hello world")) == KeyError::ok);
    const Bytes bin = {0x00, 0x41, 0x5C, 0x7F, 0x80, 0xFF, 0x20, 0x7E, 0x0A, 0x22};
    REQUIRE(ks.set("ks.v.bin", Value::binary(bin)) == KeyError::ok);
    return ks;
}

}  // namespace

// ---- types and values ------------------------------------------------------------------------

TEST_CASE("value types: icmap's numbering, cmapctl's names, widths", "[keystore][types]") {
    // spec A3.2: 1 INT8 … 12 BINARY; tools/corosync-cmapctl.c name_to_type.
    const char* names[] = {"i8",  "u8",  "i16", "u16", "i32", "u32",
                           "i64", "u64", "flt", "dbl", "str", "bin"};
    const std::size_t widths[] = {1, 1, 2, 2, 4, 4, 8, 8, 4, 8, 0, 0};
    for (std::uint8_t c = 1; c <= 12; ++c) {
        auto t = type_from_code(c);
        REQUIRE(t);
        CHECK(code(*t) == c);
        CHECK(std::string(type_name(*t)) == names[c - 1]);
        CHECK(type_from_name(names[c - 1]) == t);
        CHECK(type_width(*t) == widths[c - 1]);
        CHECK(is_integer(*t) == (c <= 8));
    }
    CHECK_FALSE(type_from_code(0));
    CHECK_FALSE(type_from_code(13));
    CHECK_FALSE(type_from_name("i9"));
    CHECK_FALSE(type_from_name("float"));
}

TEST_CASE("errors: cs_error_t values and cs_strerror's text", "[keystore][types]") {
    // spec A2.3; common_lib/error_conversion.c cs_strerror.
    CHECK(static_cast<int>(KeyError::ok) == 1);
    CHECK(static_cast<int>(KeyError::invalid_param) == 7);
    CHECK(static_cast<int>(KeyError::no_memory) == 8);
    CHECK(static_cast<int>(KeyError::bad_handle) == 9);
    CHECK(static_cast<int>(KeyError::busy) == 10);
    CHECK(static_cast<int>(KeyError::access) == 11);
    CHECK(static_cast<int>(KeyError::not_exist) == 12);
    CHECK(static_cast<int>(KeyError::name_too_long) == 13);
    CHECK(static_cast<int>(KeyError::exist) == 14);
    CHECK(static_cast<int>(KeyError::not_supported) == 19);
    CHECK(static_cast<int>(KeyError::no_sections) == 27);
    CHECK(std::string(error_text(KeyError::ok)) == "success");
    CHECK(std::string(error_text(KeyError::invalid_param)) == "CS_ERR_INVALID_PARAM");
    CHECK(std::string(error_text(KeyError::no_memory)) == "CS_ERR_NO_MEMORY");
    CHECK(std::string(error_text(KeyError::bad_handle)) == "CS_ERR_BAD_HANDLE");
    CHECK(std::string(error_text(KeyError::busy)) == "CS_ERR_BUSY");
    CHECK(std::string(error_text(KeyError::access)) == "CS_ERR_ACCESS");
    CHECK(std::string(error_text(KeyError::not_exist)) == "CS_ERR_NOT_EXIST");
    CHECK(std::string(error_text(KeyError::name_too_long)) == "CS_ERR_NAME_TOO_LONG");
    CHECK(std::string(error_text(KeyError::exist)) == "CS_ERR_EXIST");
    CHECK(std::string(error_text(KeyError::not_supported)) == "CS_ERR_NOT_SUPPORTED");
    CHECK(std::string(error_text(KeyError::no_sections)) == "CS_ERR_NO_SECTIONS");
    // Track bits and events (spec A3.2).
    CHECK(kTrackDelete == 1);
    CHECK(kTrackModify == 2);
    CHECK(kTrackAdd == 4);
    CHECK(kTrackPrefix == 8);
    CHECK(static_cast<int>(Event::deleted) == 1);
    CHECK(static_cast<int>(Event::modified) == 2);
    CHECK(static_cast<int>(Event::added) == 4);
}

TEST_CASE("values hold exactly icmap's bytes", "[keystore][value]") {
    CHECK(hex(Value::i8(-5).raw()) == "fb");
    CHECK(hex(Value::u8(250).raw()) == "fa");
    CHECK(hex(Value::i16(-300).raw()) == "d4fe");
    CHECK(hex(Value::u16(65000).raw()) == "e8fd");
    CHECK(hex(Value::i32(-70000).raw()) == "90eefeff");
    CHECK(hex(Value::u32(4000000000u).raw()) == "00286bee");
    CHECK(hex(Value::i64(-2).raw()) == "feffffffffffffff");
    CHECK(hex(Value::u64(0x0102030405060708ull).raw()) == "0807060504030201");
    CHECK(hex(Value::f32(1.0f).raw()) == "0000803f");  // IEEE-754, little-endian
    CHECK(hex(Value::f64(-2.0).raw()) == "00000000000000c0");
    CHECK(hex(Value::str("abc").raw()) == "61626300");  // with its NUL
    CHECK(hex(Value::str("").raw()) == "00");
    CHECK(hex(Value::str(std::string_view("ab\0cd", 5)).raw()) == "616200");          // strlen
    CHECK(hex(Value::binary(bytes(std::string_view("a\0b", 3))).raw()) == "610062");  // as given
    CHECK(Value::binary({}).size() == 0);
    CHECK(Value::str("hello").size() == 6);  // cmap_get's length includes the NUL (A3.2)

    SECTION("typed reads need the exact type (icmap_get_int_r)") {
        CHECK(Value::i8(-5).as_i8() == -5);
        CHECK(Value::u8(250).as_u8() == 250);
        CHECK(Value::i16(-300).as_i16() == -300);
        CHECK(Value::u16(65000).as_u16() == 65000);
        CHECK(Value::i32(-70000).as_i32() == -70000);
        CHECK(Value::u32(4000000000u).as_u32() == 4000000000u);
        CHECK(Value::i64(-2).as_i64() == -2);
        CHECK(Value::u64(7).as_u64() == 7u);
        CHECK(Value::f32(0.5f).as_f32() == 0.5f);
        CHECK(Value::f64(-0.25).as_f64() == -0.25);
        CHECK(Value::str("x y").as_string() == "x y");
        CHECK_FALSE(Value::u8(1).as_u32());
        CHECK_FALSE(Value::u32(1).as_u8());
        CHECK_FALSE(Value::u32(1).as_i32());
        CHECK_FALSE(Value::i64(1).as_u64());
        CHECK_FALSE(Value::f32(1).as_f64());
        CHECK_FALSE(Value::str("1").as_u32());
        CHECK_FALSE(Value::binary(bytes("1")).as_string());
    }
}

TEST_CASE("Value::from_conf converts each parsed type", "[keystore][value]") {
    using totem::conf::CmapValue;
    namespace c = totem::conf;
    CHECK(Value::from_conf(CmapValue::uint(c::ValueType::U8, 200)) == Value::u8(200));
    CHECK(Value::from_conf(CmapValue::uint(c::ValueType::U16, 5405)) == Value::u16(5405));
    CHECK(Value::from_conf(CmapValue::uint(c::ValueType::U32, 3000)) == Value::u32(3000));
    CHECK(Value::from_conf(CmapValue::uint(c::ValueType::U64, ~0ull)) == Value::u64(~0ull));
    CHECK(Value::from_conf(CmapValue::sint(c::ValueType::I8, -1)) == Value::i8(-1));
    CHECK(Value::from_conf(CmapValue::sint(c::ValueType::I16, -2)) == Value::i16(-2));
    CHECK(Value::from_conf(CmapValue::sint(c::ValueType::I32, -1)) == Value::i32(-1));
    CHECK(Value::from_conf(CmapValue::sint(c::ValueType::I64, -9)) == Value::i64(-9));
    CHECK(Value::from_conf(CmapValue::string("knet")) == Value::str("knet"));
}

TEST_CASE("a parsed configuration loads as coroparse stores it and dumps the same",
          "[keystore][conf]") {
    totem::conf::HostEnv h;
    h.hostname = "a";
    h.local_addrs.push_back(*totem::conf::IpAddr::parse_numeric("10.1.0.1"));
    totem::conf::LoadOptions o;
    o.host = h;
    o.derive.local_nodeid = 1;
    auto r = totem::conf::load_text(
        "totem {\nversion: 2\ncluster_name: c\ntoken: 3000\nconfig_version: 7\n"
        "knet_compression_level: -1\ninterface {\nlinknumber: 0\nmcastport: 6000\n}\n}\n"
        "nodelist {\nnode {\nring0_addr: 10.1.0.1\nnodeid: 1\n}\n}\n"
        "quorum {\nprovider: corosync_votequorum\ntwo_node: 1\n}\n",
        "t.conf", totem::conf::Format::Conf, o);
    REQUIRE(r.ok());
    KeyStore ks;
    CHECK(ks.load(r->config.keys).empty());
    CHECK(ks.size() == r->config.keys.size());
    // One line format for both the parsed and the runtime map.
    CHECK(ks.dump() == totem::conf::dump_cmap(r->config.keys));
    CHECK(ks.get_u32("totem.token") == 3000u);
    CHECK(ks.get_u64("totem.config_version") == 7u);
    CHECK(ks.get_i32("totem.knet_compression_level") == -1);
    CHECK(ks.get_u16("totem.interface.0.mcastport") == 6000);
    CHECK(ks.get_u8("quorum.two_node") == 1);
    CHECK(ks.get_string("totem.cluster_name") == "c");
    CHECK_FALSE(ks.get_u32("totem.cluster_name"));
    CHECK_FALSE(ks.get_string("no.such.key"));

    SECTION("a key icmap would refuse is reported, not stored") {
        totem::conf::Cmap bad;
        bad["ok.key"] = totem::conf::CmapValue::string("x");
        bad["bad key"] = totem::conf::CmapValue::string("x");
        KeyStore ks2;
        auto refused = ks2.load(bad);
        REQUIRE(refused.size() == 1);
        CHECK(refused[0].first == "bad key");
        CHECK(refused[0].second == KeyError::name_too_long);
        CHECK(ks2.contains("ok.key"));
        CHECK_FALSE(ks2.contains("bad key"));
    }
}

// ---- corosync-cmapctl's output ---------------------------------------------------------------

TEST_CASE("text() and format_key print as corosync-cmapctl", "[keystore][cmapctl]") {
    KeyStore ks = observed_v_keys();
    auto line = [&](std::string_view k, PrintOptions o = {}) {
        return format_key(k, *ks.find(k), o);
    };
    // observed: tool.get.<type> (corosync-cmapctl -g)
    CHECK(line("ks.v.i8") == "ks.v.i8 (i8) = -5\n");
    CHECK(line("ks.v.u8") == "ks.v.u8 (u8) = 250\n");
    CHECK(line("ks.v.i16") == "ks.v.i16 (i16) = -300\n");
    CHECK(line("ks.v.u16") == "ks.v.u16 (u16) = 65000\n");
    CHECK(line("ks.v.i32") == "ks.v.i32 (i32) = -70000\n");
    CHECK(line("ks.v.u32") == "ks.v.u32 (u32) = 4000000000\n");
    CHECK(line("ks.v.i64") == "ks.v.i64 (i64) = -9223372036854775808\n");
    CHECK(line("ks.v.u64") == "ks.v.u64 (u64) = 18446744073709551615\n");
    CHECK(line("ks.v.flt") == "ks.v.flt (flt) = 3.141590\n");
    CHECK(line("ks.v.dbl") == "ks.v.dbl (dbl) = 2.718282\n");
    CHECK(line("ks.v.str") == "ks.v.str (str) = hello world\n");
    CHECK(line("ks.v.bin") == "ks.v.bin (bin)\n");
    // observed: tool.get.q.<type> (-q -g): the value alone; a binary value prints "bin)"
    PrintOptions q{false, true};
    CHECK(line("ks.v.i8", q) == "-5\n");
    CHECK(line("ks.v.u64", q) == "18446744073709551615\n");
    CHECK(line("ks.v.flt", q) == "3.141590\n");
    CHECK(line("ks.v.dbl", q) == "2.718282\n");
    CHECK(line("ks.v.str", q) == "hello world\n");
    CHECK(line("ks.v.bin", q) == "bin)\n");
    // observed: tool.get.b.bin (-b -g) and tool.get.qb.bin (-q -b -g): print_binary_key
    // sign-extends bytes ≥ 0x80 and escapes the backslash.
    const std::string escaped = R"(\x00A\\\x7F\xFFFFFF80\xFFFFFFFF ~\x0A")";
    CHECK(ks.find("ks.v.bin")->text() == escaped);
    CHECK(line("ks.v.bin", {true, false}) == "ks.v.bin (bin) = " + escaped + "\n");
    CHECK(line("ks.v.bin", {true, true}) == "bin) = " + escaped + "\n");
    CHECK(format_key("k.e", Value::binary({}), {true, false}) == "k.e (bin) = \n");
}

TEST_CASE("dump lists a prefix as corosync-cmapctl does", "[keystore][cmapctl]") {
    KeyStore ks = observed_v_keys();
    // observed: tool.dump.v (corosync-cmapctl ks.v.)
    CHECK(ks.dump("ks.v.") ==
          "ks.v.bin (bin)\nks.v.dbl (dbl) = 2.718282\nks.v.flt (flt) = 3.141590\n"
          "ks.v.i16 (i16) = -300\nks.v.i32 (i32) = -70000\n"
          "ks.v.i64 (i64) = -9223372036854775808\nks.v.i8 (i8) = -5\n"
          "ks.v.str (str) = hello world\nks.v.u16 (u16) = 65000\nks.v.u32 (u32) = 4000000000\n"
          "ks.v.u64 (u64) = 18446744073709551615\nks.v.u8 (u8) = 250\n");
    // observed: tool.dump.b.v (-b ks.v.): only the binary line changes
    std::string plain = ks.dump("ks.v.");
    CHECK(ks.dump("ks.v.", {true, false}) ==
          "ks.v.bin (bin) = " + std::string(R"(\x00A\\\x7F\xFFFFFF80\xFFFFFFFF ~\x0A")") + "\n" +
              plain.substr(plain.find('\n') + 1));
    // observed: tool.dump.two_prefixes (ks.v.u)
    CHECK(ks.dump("ks.v.u") ==
          "ks.v.u16 (u16) = 65000\nks.v.u32 (u32) = 4000000000\n"
          "ks.v.u64 (u64) = 18446744073709551615\nks.v.u8 (u8) = 250\n");
    // observed: tool.dump.missing — nothing printed
    CHECK(ks.dump("ks.nothing.").empty());
    CHECK(ks.dump() == ks.dump("ks."));

    SECTION("observed: tool.dump.x — float and double edge cases, empty and UTF-8 strings") {
        KeyStore x;
        REQUIRE(x.set("ks.x.dbl.big", Value::f64(1e300)) == KeyError::ok);
        REQUIRE(x.set("ks.x.dbl.neg", Value::f64(-123.4567891)) == KeyError::ok);
        REQUIRE(x.set("ks.x.dbl.tiny", Value::f64(4e-7)) == KeyError::ok);
        REQUIRE(x.set("ks.x.flt.big", Value::f32(1e20f)) == KeyError::ok);
        REQUIRE(x.set("ks.x.flt.neg", Value::f32(-0.5f)) == KeyError::ok);
        REQUIRE(x.set("ks.x.flt.tiny", Value::f32(1e-7f)) == KeyError::ok);
        REQUIRE(x.set("ks.x.i8.min", Value::i8(-128)) == KeyError::ok);
        REQUIRE(x.set("ks.x.str.empty", Value::str("")) == KeyError::ok);
        REQUIRE(x.set("ks.x.str.utf8", Value::str("h\xc3\xa9llo")) == KeyError::ok);
        REQUIRE(x.set("ks.x.u8.zero", Value::u8(0)) == KeyError::ok);
        CHECK(x.dump("ks.x.") ==
              "ks.x.dbl.big (dbl) = "
              "1000000000000000052504760255204420248704468581108159154915854115511802457988"
              "9081957863713750804478640437044438328838781769425232353604305756447921847867"
              "0698284838720092657580373783023379478809005936895323497079994508111903896764"
              "0880074652742780142494579258788820056842838115669472196386865459400540160.00"
              "0000\n"
              "ks.x.dbl.neg (dbl) = -123.456789\nks.x.dbl.tiny (dbl) = 0.000000\n"
              "ks.x.flt.big (flt) = 100000002004087734272.000000\n"
              "ks.x.flt.neg (flt) = -0.500000\nks.x.flt.tiny (flt) = 0.000000\n"
              "ks.x.i8.min (i8) = -128\nks.x.str.empty (str) = \n"
              "ks.x.str.utf8 (str) = h\xc3\xa9llo\nks.x.u8.zero (u8) = 0\n");
    }
}

// ---- SET -------------------------------------------------------------------------------------

TEST_CASE("client SET: integer and float widths are exact", "[keystore][set]") {
    // observed: set.width.<type>.{exact,short,long,get}
    for (std::uint8_t c = 1; c <= 10; ++c) {
        auto t = static_cast<ValueType>(c);
        std::size_t w = type_width(t);
        KeyStore ks;
        std::string key = std::string("pr.w.") + type_name(t);
        CAPTURE(type_name(t));
        CHECK(ks.client_set(key, c, Bytes(w, 1)) == KeyError::ok);
        CHECK(ks.client_set(key, c, Bytes(w - 1, 1)) == KeyError::invalid_param);
        CHECK(ks.client_set(key, c, Bytes(w + 1, 1)) == KeyError::invalid_param);
        auto g = ks.client_get(key, 16);
        REQUIRE(g.ok());
        CHECK(g->value_len == w);
        CHECK(g->type == t);
        CHECK(g->value == Bytes(w, 1));
    }
}

TEST_CASE("client SET: type codes outside 1..12 are refused", "[keystore][set]") {
    KeyStore ks;
    // observed: set.type.0, set.type.13 (a one-byte value)
    CHECK(ks.client_set("pr.t0", 0, bytes("x")) == KeyError::invalid_param);
    CHECK(ks.client_set("pr.t13", 13, bytes("x")) == KeyError::invalid_param);
    // observed: set.type.0.len0, set.type.13.len0 — corosync stores an empty value of an
    // unknown type (its width is 0); totemd refuses it (docs/protocol/deviations.md).
    CHECK(ks.client_set("pr.t0z", 0, {}) == KeyError::invalid_param);
    CHECK(ks.client_set("pr.t13z", 13, {}) == KeyError::invalid_param);
    CHECK(ks.client_set("pr.t255", 255, {}) == KeyError::invalid_param);
    CHECK(ks.size() == 0);
}

TEST_CASE("client SET: the STRING length rule and how a string is stored", "[keystore][set]") {
    // observed: set.str.<label> — "result get <err> <len> <hex>"
    struct Case {
        const char* label;
        std::string raw;
        KeyError set;
        const char* stored_hex;  // nullptr: not stored
    };
    const Case cases[] = {
        {"nonul", std::string("abc", 3), KeyError::ok, "61626300"},
        {"withnul", std::string("abc\0", 4), KeyError::ok, "61626300"},
        {"short", std::string("ab", 2), KeyError::ok, "616200"},  // value_len 2 of "abcdef"
        {"empty", std::string(), KeyError::ok, "00"},
        {"embedded", std::string("ab\0cd", 5), KeyError::invalid_param, nullptr},
        {"embedded_cut", std::string("ab\0", 3), KeyError::ok, "616200"},
        {"nul_only", std::string("\0", 1), KeyError::ok, "00"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.label);
        KeyStore ks;
        std::string key = std::string("pr.s.") + c.label;
        CHECK(ks.client_set(key, code(ValueType::str), bytes(c.raw)) == c.set);
        auto g = ks.client_get(key, 64);
        if (c.stored_hex) {
            REQUIRE(g.ok());
            CHECK(hex(g->value) == c.stored_hex);
            CHECK(g->value_len == std::strlen(c.stored_hex) / 2);
        } else {
            CHECK_FALSE(g.ok());
            CHECK(g.error() == KeyError::not_exist);
        }
    }
}

TEST_CASE("client SET: values up to 16384 bytes", "[keystore][set]") {
    KeyStore ks;
    // observed: set.bin.16384, set.bin.16385, set.str.16385, set.bin.empty
    CHECK(ks.client_set("pr.b.max", code(ValueType::binary), Bytes(16384, 0xab)) == KeyError::ok);
    CHECK(ks.client_set("pr.b.over", code(ValueType::binary), Bytes(16385, 0xab)) ==
          KeyError::invalid_param);
    CHECK(ks.client_set("pr.s.over", code(ValueType::str), Bytes(16385, 'a')) ==
          KeyError::invalid_param);
    CHECK(ks.client_set("pr.b.empty", code(ValueType::binary), {}) == KeyError::ok);
    CHECK(ks.find("pr.b.empty")->size() == 0);
    // 16 384 characters without a NUL are stored with one: 16 385 bytes (icmap_set_r).
    CHECK(ks.client_set("pr.s.max", code(ValueType::str), Bytes(16384, 'a')) == KeyError::ok);
    CHECK(ks.find("pr.s.max")->size() == 16385);
    // The daemon's sets have the same limit (icmap_check_value_len).
    CHECK(ks.set("pr.d.over", Value::str(std::string(16385, 'a'))) == KeyError::invalid_param);
    CHECK(ks.set("pr.d.over", Value::binary(Bytes(16385, 1))) == KeyError::invalid_param);
    CHECK(ks.set("pr.d.max", Value::str(std::string(16384, 'a'))) == KeyError::ok);
}

TEST_CASE("key names: a new key needs 3..255 characters of [A-Za-z0-9._/:-]", "[keystore][set]") {
    KeyStore ks;
    const std::uint8_t s = code(ValueType::str);
    // observed: set.name.*
    CHECK(ks.client_set("ab", s, bytes("x")) == KeyError::name_too_long);
    CHECK(ks.client_set("abc", s, bytes("x")) == KeyError::ok);
    CHECK(ks.client_set("pr.a b", s, bytes("x")) == KeyError::name_too_long);
    CHECK(ks.client_set("pr." + std::string(252, 'x'), s, bytes("x")) == KeyError::ok);
    CHECK(ks.client_set("pr." + std::string(253, 'x'), s, bytes("x")) == KeyError::name_too_long);
    for (char c : std::string("._/:-"))
        CHECK(ks.client_set(std::string("pr.c") + c + "x", s, bytes("x")) == KeyError::ok);
    for (std::string c : {"+", "@", "#", "*", "!", "\xc3\xa9"})
        CHECK(ks.client_set("pr.c" + c + "x", s, bytes("x")) == KeyError::name_too_long);
    CHECK(valid_key_name("AZaz09._/:-"));
    CHECK_FALSE(valid_key_name(std::string("ab\0c", 4)));
    CHECK_FALSE(valid_key_name(""));

    SECTION("the daemon's sets check names too (icmap_set_r), for new keys only") {
        CHECK(ks.set("a b", Value::u8(1)) == KeyError::name_too_long);
        CHECK(ks.set("xy", Value::u8(1)) == KeyError::name_too_long);
        CHECK(ks.set("runtime.members.1.ip", Value::str("r(0) ip(127.0.0.1) ")) == KeyError::ok);
    }
    SECTION("order of checks (observed: set.order.*): read-only, then value, then name") {
        CHECK(ks.client_set("pr bad", code(ValueType::u8), Bytes(2, 1)) == KeyError::invalid_param);
        CHECK(ks.client_set("totem.cluster_name", code(ValueType::u8), Bytes(2, 1)) ==
              KeyError::access);
        CHECK(ks.client_set("nodelist.a b", s, bytes("x")) == KeyError::access);
    }
}

TEST_CASE("SET of an existing key: same value fires nothing, the type may change",
          "[keystore][set][track]") {
    KeyStore ks;
    track(ks, "", kAll | kTrackPrefix, 1);
    REQUIRE(ks.client_set("pr.k", code(ValueType::u32), le(5, 4)) == KeyError::ok);
    CHECK(drain(ks) == "t1 ADD pr.k new=6/4/05000000 old=-");
    CHECK(ks.client_set("pr.k", code(ValueType::u32), le(5, 4)) == KeyError::ok);
    CHECK(drain(ks) == "(none)");
    CHECK(ks.client_set("pr.k", code(ValueType::str), bytes("six")) == KeyError::ok);
    CHECK(drain(ks) == "t1 MODIFY pr.k new=11/4/73697800 old=6/4/05000000");
    // "six" with its NUL is the same stored string (icmap_item_eq)
    CHECK(ks.client_set("pr.k", code(ValueType::str), bytes(std::string("six\0", 4))) ==
          KeyError::ok);
    CHECK(ks.set("pr.k", Value::str("six")) == KeyError::ok);
    CHECK(drain(ks) == "(none)");
    CHECK(ks.set("pr.k", Value::binary(bytes(std::string("six\0", 4)))) == KeyError::ok);
    CHECK(drain(ks) == "t1 MODIFY pr.k new=12/4/73697800 old=11/4/73697800");
}

// ---- read-only keys --------------------------------------------------------------------------

TEST_CASE("read-only keys are exactly spec A3.2's list", "[keystore][ro]") {
    KeyStore ks;
    const char* prefixes[] = {
        "internal_configuration.", "runtime.services.", "runtime.config.", "runtime.totem.",
        "uidgid.config.",          "system.",           "nodelist."};
    const char* main_keys[] = {"totem.crypto_cipher",
                               "totem.crypto_hash",
                               "totem.crypto_model",
                               "totem.keyfile",
                               "totem.key",
                               "totem.secauth",
                               "totem.ip_version",
                               "totem.rrp_mode",
                               "totem.transport",
                               "totem.cluster_name",
                               "totem.netmtu",
                               "totem.threads",
                               "totem.version",
                               "totem.nodeid",
                               "totem.clear_node_high_bit",
                               "config.reload_in_progress",
                               "config.totemconfig_reload_in_progress"};
    const char* quorum_keys[] = {
        "quorum.allow_downscale",         "quorum.wait_for_all",
        "quorum.last_man_standing",       "quorum.last_man_standing_window",
        "quorum.expected_votes_tracking", "quorum.auto_tie_breaker",
        "quorum.auto_tie_breaker_node"};
    for (std::string p : prefixes) {
        CAPTURE(p);
        CHECK(ks.is_read_only(p));
        CHECK(ks.is_read_only(p + "anything.below"));
        CHECK_FALSE(ks.is_read_only(p.substr(0, p.size() - 1)));  // without the dot: plain
    }
    for (std::string k : main_keys) {
        CAPTURE(k);
        CHECK(ks.is_read_only(k));
        CHECK_FALSE(ks.is_read_only(k + "x"));  // exact keys, not prefixes
    }
    // votequorum adds its own at its init (exec/votequorum.c votequorum_set_icmap_ro_keys).
    for (const char* k : quorum_keys)
        CHECK_FALSE(ks.is_read_only(k));
    ks.add_votequorum_read_only_keys();
    for (const char* k : quorum_keys)
        CHECK(ks.is_read_only(k));
    ks.add_votequorum_read_only_keys();  // twice: no change
    // Not read-only (observed: set.ro.totem.token(not ro), set.ro.nodelistx(not ro)).
    for (const char* k :
         {"totem.token", "nodelistx.a", "runtime.members.1.ip", "runtime.force_gather",
          "runtime.votequorum.two_node", "quorum.provider", "uidgid.gid.65534",
          "totem.interface.0.mcastport", "config.reload_status", "logging.debug", "runtime.totemx"})
        CHECK_FALSE(ks.is_read_only(k));

    SECTION("client SET/DELETE/ADJUST of a read-only key: ACCESS, before anything else") {
        ks.set("runtime.config.totem.token", Value::u32(1000));
        // observed: set.ro.*, delete.ro.missing, adjust.ro, tool.err.ro, tool.err.del.ro
        CHECK(ks.client_set("totem.cluster_name", code(ValueType::str), bytes("x")) ==
              KeyError::access);
        CHECK(ks.client_set("nodelist.new.key", code(ValueType::str), bytes("x")) ==
              KeyError::access);
        CHECK(ks.client_set("runtime.totem.x", code(ValueType::str), bytes("x")) ==
              KeyError::access);
        CHECK(ks.client_set("quorum.wait_for_all", code(ValueType::u8), Bytes{1}) ==
              KeyError::access);
        CHECK(ks.client_delete("nodelist.d.missing") == KeyError::access);
        CHECK(ks.client_adjust("runtime.config.totem.token", 1) == KeyError::access);
        CHECK(ks.client_adjust("runtime.config.missing", 1) == KeyError::access);
        CHECK(ks.get_u32("runtime.config.totem.token") == 1000u);
        // The daemon writes them (icmap has no read-only check of its own).
        CHECK(ks.set("runtime.config.totem.token", Value::u32(2000)) == KeyError::ok);
        CHECK(ks.adjust("runtime.config.totem.token", 1) == KeyError::ok);
        CHECK(ks.get_u32("runtime.config.totem.token") == 2001u);
        CHECK(ks.erase("runtime.config.totem.token") == KeyError::ok);
        // GET is never refused.
        ks.set("totem.cluster_name", Value::str("c"));
        CHECK(ks.client_get("totem.cluster_name", 16).ok());
    }
    SECTION("icmap_set_ro_access: adding twice is EXIST, removing a missing entry NOT_EXIST") {
        CHECK(ks.set_read_only("pr.ro.", true, true) == KeyError::ok);
        CHECK(ks.is_read_only("pr.ro.a"));
        CHECK(ks.set_read_only("pr.ro.", true, true) == KeyError::exist);
        CHECK(ks.set_read_only("pr.ro.", false, false) == KeyError::not_exist);  // other kind
        CHECK(ks.set_read_only("pr.ro.", false, true) == KeyError::ok);          // exact entry
        CHECK(ks.set_read_only("pr.ro.", true, false) == KeyError::ok);
        CHECK_FALSE(ks.is_read_only("pr.ro.a"));
        CHECK(ks.is_read_only("pr.ro."));
        CHECK(ks.set_read_only("pr.ro.", true, false) == KeyError::not_exist);
        CHECK(ks.set_read_only("totem.cluster_name", false, false) == KeyError::ok);
        CHECK(ks.client_set("totem.cluster_name", code(ValueType::str), bytes("x")) ==
              KeyError::ok);
    }
}

// ---- GET, DELETE ------------------------------------------------------------------------------

TEST_CASE("client GET: size-only, too small, large enough", "[keystore][get]") {
    KeyStore ks;
    REQUIRE(ks.client_set("pr.g", code(ValueType::str), bytes("hello")) == KeyError::ok);
    // observed: get.missing, get.cap0, get.cap5, get.cap6, get.cap100
    auto missing = ks.client_get("pr.g.missing", 16);
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error() == KeyError::not_exist);
    auto size_only = ks.client_get("pr.g", 0);
    REQUIRE(size_only.ok());
    CHECK(size_only->value_len == 6);
    CHECK(size_only->type == ValueType::str);
    CHECK(size_only->value.empty());
    auto small = ks.client_get("pr.g", 5);
    REQUIRE_FALSE(small.ok());
    CHECK(small.error() == KeyError::invalid_param);
    for (std::uint64_t cap : {6ull, 100ull, ~0ull}) {
        auto g = ks.client_get("pr.g", cap);
        REQUIRE(g.ok());
        CHECK(g->value_len == 6);
        CHECK(g->value == bytes(std::string("hello\0", 6)));
    }
}

TEST_CASE("client DELETE", "[keystore][delete][track]") {
    KeyStore ks;
    track(ks, "pr.", kAll | kTrackPrefix, 3);
    // observed: delete.missing, delete.ok
    CHECK(ks.client_delete("pr.d.missing") == KeyError::not_exist);
    ks.set("pr.d", Value::str("x"));
    ks.take_notifications();
    CHECK(ks.client_delete("pr.d") == KeyError::ok);
    CHECK(drain(ks) == "t3 DELETE pr.d new=- old=11/2/7800");
    CHECK(ks.client_delete("pr.d") == KeyError::not_exist);
    CHECK(ks.erase("pr.d") == KeyError::not_exist);
    CHECK(drain(ks) == "(none)");
}

// ---- ADJUST -----------------------------------------------------------------------------------

TEST_CASE("ADJUST wraps at each integer type's width", "[keystore][adjust]") {
    struct Case {
        ValueType t;
        std::uint64_t start;
        std::int32_t step;
        const char* hex_after;
    };
    const Case cases[] = {
        // observed: adjust.<type>.<start>.<step> (raw ADJUST_INT requests)
        {ValueType::u8, 255, 1, "00"},
        {ValueType::u8, 0, -1, "ff"},
        {ValueType::u8, 10, 300, "36"},
        {ValueType::i8, 127, 1, "80"},
        {ValueType::i8, 0x80, -1, "7f"},
        {ValueType::u16, 65535, 1, "0000"},
        {ValueType::i16, 32767, 1, "0080"},
        {ValueType::u32, 0xFFFFFFFF, 1, "00000000"},
        {ValueType::i32, 0x7FFFFFFF, 1, "00000080"},
        {ValueType::u64, ~0ull, 1, "0000000000000000"},
        {ValueType::u64, 0, std::numeric_limits<std::int32_t>::min(), "00000080ffffffff"},
        {ValueType::i64, 0x7FFFFFFFFFFFFFFF, 1, "0000000000000080"},
        {ValueType::u32, 5, std::numeric_limits<std::int32_t>::max(), "04000080"},
        // the other directions (same arithmetic: old + sign-extended step, modulo the width)
        {ValueType::i8, 0xFF, 1, "00"},
        {ValueType::u16, 0, -1, "ffff"},
        {ValueType::i16, 0x8000, -1, "ff7f"},
        {ValueType::u32, 0, -1, "ffffffff"},
        {ValueType::i32, 0x80000000, -1, "ffffff7f"},
        {ValueType::u64, 0, -1, "ffffffffffffffff"},
        {ValueType::i64, 0x8000000000000000, -1, "ffffffffffffff7f"},
        {ValueType::i16, 0, 70000, "7011"},
    };
    for (const auto& c : cases) {
        CAPTURE(type_name(c.t), c.start, c.step);
        KeyStore ks;
        REQUIRE(ks.client_set("pr.adj", code(c.t), le(c.start, type_width(c.t))) == KeyError::ok);
        CHECK(ks.client_adjust("pr.adj", c.step) == KeyError::ok);
        CHECK(hex(ks.find("pr.adj")->raw()) == c.hex_after);
        CHECK(ks.find("pr.adj")->type() == c.t);
        // the daemon's adjust and fast_adjust compute the same
        KeyStore d;
        REQUIRE(d.set("pr.adj", *Value::from_wire(code(c.t), le(c.start, type_width(c.t)))) ==
                KeyError::ok);
        CHECK(d.adjust("pr.adj", c.step) == KeyError::ok);
        CHECK(hex(d.find("pr.adj")->raw()) == c.hex_after);
        REQUIRE(d.set("pr.adj", *Value::from_wire(code(c.t), le(c.start, type_width(c.t)))) ==
                KeyError::ok);
        CHECK(d.fast_adjust("pr.adj", c.step) == KeyError::ok);
        CHECK(hex(d.find("pr.adj")->raw()) == c.hex_after);
    }
}

TEST_CASE("ADJUST: only integers; missing keys", "[keystore][adjust]") {
    KeyStore ks;
    ks.set("pr.adj.flt", Value::f32(1));
    ks.set("pr.adj.dbl", Value::f64(1));
    ks.set("pr.adj.str", Value::str("1"));
    ks.set("pr.adj.bin", Value::binary(Bytes{1}));
    // observed: adjust.{flt,dbl,str,bin}, adjust.missing
    for (const char* k : {"pr.adj.flt", "pr.adj.dbl", "pr.adj.str", "pr.adj.bin"}) {
        CHECK(ks.client_adjust(k, 1) == KeyError::invalid_param);
        CHECK(ks.adjust(k, 1) == KeyError::invalid_param);
        CHECK(ks.fast_adjust(k, 1) == KeyError::invalid_param);
        CHECK(ks.fast_inc(k) == KeyError::invalid_param);
    }
    CHECK(ks.client_adjust("pr.adj.missing", 1) == KeyError::not_exist);
    CHECK(ks.adjust("pr.adj.missing", 1) == KeyError::not_exist);
    CHECK(ks.fast_inc("pr.adj.missing") == KeyError::not_exist);
    CHECK(ks.find("pr.adj.str")->as_string() == "1");
}

TEST_CASE("ADJUST notifies as a SET; fast_inc without the old value", "[keystore][adjust][track]") {
    KeyStore ks;
    ks.set("pr.tr.k", Value::u32(6));
    track(ks, "pr.tr.k", kAll, 7);
    // observed: track.events.adjust0, track.events.adjust1
    CHECK(ks.client_adjust("pr.tr.k", 0) == KeyError::ok);
    CHECK(drain(ks) == "(none)");
    CHECK(ks.client_adjust("pr.tr.k", 1) == KeyError::ok);
    CHECK(drain(ks) == "t7 MODIFY pr.tr.k new=6/4/07000000 old=6/4/06000000");
    // observed: track.fast_inc.events — a CPG join bumps runtime.services.cpg.0.tx then .rx in
    // place (exec/main.c main_mcast, deliver_fn: icmap_fast_inc); the event has no old value.
    ks.set("runtime.services.cpg.0.tx", Value::u64(0));
    ks.set("runtime.services.cpg.0.rx", Value::u64(0));
    track(ks, "runtime.services.cpg.", kAll | kTrackPrefix, 20);
    CHECK(ks.fast_inc("runtime.services.cpg.0.tx") == KeyError::ok);
    CHECK(ks.fast_inc("runtime.services.cpg.0.rx") == KeyError::ok);
    CHECK(drain(ks) ==
          "t20 MODIFY runtime.services.cpg.0.tx new=8/8/0100000000000000 old=- | "
          "t20 MODIFY runtime.services.cpg.0.rx new=8/8/0100000000000000 old=-");
    // icmap_fast_adjust_int puts the item back whatever the step: a step of 0 fires too.
    CHECK(ks.fast_adjust("runtime.services.cpg.0.rx", 0) == KeyError::ok);
    CHECK(drain(ks) == "t20 MODIFY runtime.services.cpg.0.rx new=8/8/0100000000000000 old=-");
    CHECK(ks.get_u64("runtime.services.cpg.0.rx") == 1u);
}

// ---- iteration -------------------------------------------------------------------------------

TEST_CASE("iteration: plain string prefix in byte order", "[keystore][iter]") {
    KeyStore ks;
    for (const char* k : {"pr.it.a", "pr.it.B", "pr.it.a.b", "pr.it.a-b", "pr.it.a_b", "pr.it.a/b",
                          "pr.it.a:b", "pr.it.0", "pr.it.ab", "pr.itx", "pr.it.Z", "pr.i", "pt.x"})
        REQUIRE(ks.set(k, Value::str("v")) == KeyError::ok);
    auto it = ks.iter_init("pr.it");
    std::string got;
    while (auto item = ks.iter_next(it))
        got += item->key + "/" + std::to_string(item->value_len) + "/" +
               std::to_string(static_cast<int>(item->type)) + " ";
    // observed: iter.order
    CHECK(got ==
          "pr.it.0/2/11 pr.it.B/2/11 pr.it.Z/2/11 pr.it.a/2/11 pr.it.a-b/2/11 pr.it.a.b/2/11 "
          "pr.it.a/b/2/11 pr.it.a:b/2/11 pr.it.a_b/2/11 pr.it.ab/2/11 pr.itx/2/11 ");
    // observed: iter.next_after_end — the end stays the end, even when a key is added after
    CHECK_FALSE(ks.iter_next(it));
    ks.set("pr.itz", Value::str("v"));
    CHECK_FALSE(ks.iter_next(it));
    CHECK(it.prefix() == "pr.it");

    SECTION("an empty prefix iterates every key") {
        auto all = ks.iter_init("");
        std::size_t n = 0;
        std::string first;
        while (auto item = ks.iter_next(all)) {
            if (n++ == 0)
                first = item->key;
        }
        CHECK(n == ks.size());
        CHECK(first == "pr.i");
    }
    SECTION("observed: iter.empty_prefix_result — a prefix without keys ends at once") {
        auto none = ks.iter_init("pr.nothing.");
        CHECK_FALSE(ks.iter_next(none));
    }
    SECTION("item type and length are the value's") {
        ks.set("pr.len.u64", Value::u64(1));
        auto one = ks.iter_init("pr.len.");
        CHECK(ks.iter_next(one) == IterItem{"pr.len.u64", 8, ValueType::u64});
    }
}

TEST_CASE("iteration: keys added and removed between steps", "[keystore][iter]") {
    KeyStore ks;
    for (const char* k : {"pr.ch.1", "pr.ch.3", "pr.ch.5"})
        ks.set(k, Value::str("v"));
    auto it = ks.iter_init("pr.ch.");
    auto first = ks.iter_next(it);
    REQUIRE(first);
    CHECK(first->key == "pr.ch.1");  // observed: iter.change.first
    // observed: iter.change.delete_current is OK — but corosync keeps the key readable until
    // the iterator moves on (libqb's trie holds a reference); here it is gone at once
    // (docs/protocol/deviations.md).
    CHECK(ks.client_delete("pr.ch.1") == KeyError::ok);
    CHECK_FALSE(ks.contains("pr.ch.1"));
    ks.set("pr.ch.2", Value::str("v"));
    CHECK(ks.client_delete("pr.ch.3") == KeyError::ok);
    ks.set("pr.ch.4", Value::str("v"));
    ks.set("pr.ch.0", Value::str("v"));  // before the position: not seen
    std::string rest;
    while (auto item = ks.iter_next(it))
        rest += item->key + " ";
    CHECK(rest == "pr.ch.2 pr.ch.4 pr.ch.5 ");  // observed: iter.change.rest

    SECTION("deleting every key while iterating (corosync-cmapctl -D)") {
        for (const char* k : {"pr.del.a", "pr.del.b", "pr.del.c", "pr.delx"})
            ks.set(k, Value::u8(1));
        auto d = ks.iter_init("pr.del.");
        std::size_t n = 0;
        while (auto item = ks.iter_next(d)) {
            CHECK(ks.client_delete(item->key) == KeyError::ok);
            ++n;
        }
        CHECK(n == 3);
        CHECK(ks.contains("pr.delx"));
        CHECK(ks.dump("pr.del.").empty());
    }
}

// ---- tracking --------------------------------------------------------------------------------

TEST_CASE("tracking: which trackers fire, in corosync's order, with which values",
          "[keystore][track]") {
    KeyStore ks;
    // observed: track.bad_bits, track.zero_bits
    auto bad = ks.add_track("pr.tr.k", 16, 99);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error() == KeyError::invalid_param);
    CHECK_FALSE(ks.add_track("pr.tr.k", -1, 99).ok());
    track(ks, "pr.tr.k", 0, 98);
    // observed: track.add.t1 … t10 (user token = the t<N> of the observation)
    track(ks, "pr.tr.k", kAll, 1);
    TrackId t2 = track(ks, "pr.tr.", kAll | kTrackPrefix, 2);
    track(ks, "pr.", kAll | kTrackPrefix, 3);
    track(ks, "", kAll | kTrackPrefix, 4);  // no key, PREFIX: every key
    track(ks, "", kAll, 5);                 // no key, no PREFIX: nothing ever
    track(ks, "pr.tr.k", kAll | kTrackPrefix, 6);
    track(ks, "pr.tr.k", kAll, 7);
    track(ks, "pr.tr.k", kAll | kTrackPrefix, 8);
    track(ks, "pr.tr.", kAll, 9);
    track(ks, "pr.tr.k", kTrackAdd, 10);
    CHECK(ks.tracker_count() == 11);

    const std::uint8_t u32 = code(ValueType::u32);
    // observed: track.events.add
    ks.client_set("pr.tr.k", u32, le(5, 4));
    CHECK(drain(ks) ==
          "t10 ADD pr.tr.k new=6/4/05000000 old=- | t7 ADD pr.tr.k new=6/4/05000000 old=- | "
          "t1 ADD pr.tr.k new=6/4/05000000 old=- | t6 ADD pr.tr.k new=6/4/05000000 old=- | "
          "t8 ADD pr.tr.k new=6/4/05000000 old=- | t2 ADD pr.tr.k new=6/4/05000000 old=- | "
          "t3 ADD pr.tr.k new=6/4/05000000 old=- | t4 ADD pr.tr.k new=6/4/05000000 old=-");
    // observed: track.events.same_value
    ks.client_set("pr.tr.k", u32, le(5, 4));
    CHECK(drain(ks) == "(none)");
    // observed: track.events.modify
    ks.client_set("pr.tr.k", u32, le(6, 4));
    CHECK(drain(ks) ==
          "t7 MODIFY pr.tr.k new=6/4/06000000 old=6/4/05000000 | "
          "t1 MODIFY pr.tr.k new=6/4/06000000 old=6/4/05000000 | "
          "t6 MODIFY pr.tr.k new=6/4/06000000 old=6/4/05000000 | "
          "t8 MODIFY pr.tr.k new=6/4/06000000 old=6/4/05000000 | "
          "t2 MODIFY pr.tr.k new=6/4/06000000 old=6/4/05000000 | "
          "t3 MODIFY pr.tr.k new=6/4/06000000 old=6/4/05000000 | "
          "t4 MODIFY pr.tr.k new=6/4/06000000 old=6/4/05000000");
    // observed: track.events.type_change
    ks.client_set("pr.tr.k", code(ValueType::str), bytes("six"));
    CHECK(drain(ks) ==
          "t7 MODIFY pr.tr.k new=11/4/73697800 old=6/4/06000000 | "
          "t1 MODIFY pr.tr.k new=11/4/73697800 old=6/4/06000000 | "
          "t6 MODIFY pr.tr.k new=11/4/73697800 old=6/4/06000000 | "
          "t8 MODIFY pr.tr.k new=11/4/73697800 old=6/4/06000000 | "
          "t2 MODIFY pr.tr.k new=11/4/73697800 old=6/4/06000000 | "
          "t3 MODIFY pr.tr.k new=11/4/73697800 old=6/4/06000000 | "
          "t4 MODIFY pr.tr.k new=11/4/73697800 old=6/4/06000000");
    // observed: track.events.same_string_with_nul
    ks.client_set("pr.tr.k", code(ValueType::str), bytes(std::string("six\0", 4)));
    CHECK(drain(ks) == "(none)");
    ks.client_set("pr.tr.k", u32, le(6, 4));
    ks.take_notifications();
    // observed: track.events.delete
    ks.client_adjust("pr.tr.k", 1);
    ks.take_notifications();
    ks.client_delete("pr.tr.k");
    CHECK(drain(ks) ==
          "t7 DELETE pr.tr.k new=- old=6/4/07000000 | t1 DELETE pr.tr.k new=- old=6/4/07000000 | "
          "t6 DELETE pr.tr.k new=- old=6/4/07000000 | t8 DELETE pr.tr.k new=- old=6/4/07000000 | "
          "t2 DELETE pr.tr.k new=- old=6/4/07000000 | t3 DELETE pr.tr.k new=- old=6/4/07000000 | "
          "t4 DELETE pr.tr.k new=- old=6/4/07000000");
    const std::uint8_t s = code(ValueType::str);
    // observed: track.events.longer_key — prefix trackers on "pr.tr.k" see "pr.tr.kk"
    ks.client_set("pr.tr.kk", s, bytes("x"));
    CHECK(drain(ks) ==
          "t6 ADD pr.tr.kk new=11/2/7800 old=- | t8 ADD pr.tr.kk new=11/2/7800 old=- | "
          "t2 ADD pr.tr.kk new=11/2/7800 old=- | t3 ADD pr.tr.kk new=11/2/7800 old=- | "
          "t4 ADD pr.tr.kk new=11/2/7800 old=-");
    // observed: track.events.prefix_key_itself
    ks.client_set("pr.tr.", s, bytes("x"));
    CHECK(drain(ks) ==
          "t9 ADD pr.tr. new=11/2/7800 old=- | t2 ADD pr.tr. new=11/2/7800 old=- | "
          "t3 ADD pr.tr. new=11/2/7800 old=- | t4 ADD pr.tr. new=11/2/7800 old=-");
    // observed: track.events.shorter_key, track.events.other
    ks.client_set("pr.tr", s, bytes("x"));
    CHECK(drain(ks) == "t3 ADD pr.tr new=11/2/7800 old=- | t4 ADD pr.tr new=11/2/7800 old=-");
    ks.client_set("pr.zz", s, bytes("x"));
    CHECK(drain(ks) == "t3 ADD pr.zz new=11/2/7800 old=- | t4 ADD pr.zz new=11/2/7800 old=-");
    // observed: track.delete.t2 — OK, then BAD_HANDLE; the user token comes back
    auto removed = ks.remove_track(t2);
    REQUIRE(removed.ok());
    CHECK(*removed == 2u);
    auto again = ks.remove_track(t2);
    REQUIRE_FALSE(again.ok());
    CHECK(again.error() == KeyError::bad_handle);
    CHECK_FALSE(ks.remove_track(TrackId{12345}).ok());
    // observed: track.events.after_untrack
    ks.client_set("pr.tr.kk", s, bytes("y"));
    CHECK(drain(ks) ==
          "t6 MODIFY pr.tr.kk new=11/2/7900 old=11/2/7800 | "
          "t8 MODIFY pr.tr.kk new=11/2/7900 old=11/2/7800 | "
          "t3 MODIFY pr.tr.kk new=11/2/7900 old=11/2/7800 | "
          "t4 MODIFY pr.tr.kk new=11/2/7900 old=11/2/7800");
    // The daemon's writes notify the same way.
    ks.set("pr.tr.kk", Value::str("z"));
    ks.erase("pr.tr.kk");
    CHECK(drain(ks) ==
          "t6 MODIFY pr.tr.kk new=11/2/7a00 old=11/2/7900 | "
          "t8 MODIFY pr.tr.kk new=11/2/7a00 old=11/2/7900 | "
          "t3 MODIFY pr.tr.kk new=11/2/7a00 old=11/2/7900 | "
          "t4 MODIFY pr.tr.kk new=11/2/7a00 old=11/2/7900 | "
          "t6 DELETE pr.tr.kk new=- old=11/2/7a00 | t8 DELETE pr.tr.kk new=- old=11/2/7a00 | "
          "t3 DELETE pr.tr.kk new=- old=11/2/7a00 | t4 DELETE pr.tr.kk new=- old=11/2/7a00");
}

TEST_CASE("tracking: keyless trackers newest first, prefix trackers on a key oldest first",
          "[keystore][track]") {
    KeyStore ks;
    // observed: track.events.root_and_prefix_order
    track(ks, "", kAll | kTrackPrefix, 40);
    track(ks, "pr.r.", kAll | kTrackPrefix, 41);
    track(ks, "", kAll | kTrackPrefix, 42);
    track(ks, "pr.r.", kAll | kTrackPrefix, 43);
    ks.client_set("pr.r.x", code(ValueType::str), bytes("x"));
    CHECK(drain(ks) ==
          "t41 ADD pr.r.x new=11/2/7800 old=- | t43 ADD pr.r.x new=11/2/7800 old=- | "
          "t42 ADD pr.r.x new=11/2/7800 old=- | t40 ADD pr.r.x new=11/2/7800 old=-");
}

TEST_CASE("tracking: each bit selects its event", "[keystore][track]") {
    KeyStore ks;
    TrackId a = track(ks, "pr.b", kTrackAdd, 1);
    TrackId m = track(ks, "pr.b", kTrackModify, 2);
    TrackId d = track(ks, "pr.b", kTrackDelete, 3);
    ks.set("pr.b", Value::u8(1));
    ks.set("pr.b", Value::u8(2));
    ks.erase("pr.b");
    auto n = ks.take_notifications();
    REQUIRE(n.size() == 3);
    CHECK(n[0].track == a);
    CHECK(n[0].event == Event::added);
    CHECK(n[1].track == m);
    CHECK(n[1].event == Event::modified);
    CHECK(n[2].track == d);
    CHECK(n[2].event == Event::deleted);
    CHECK_FALSE(ks.has_notifications());
    CHECK(ks.take_notifications().empty());
    // A tracker can be added before its key exists and stays after it is deleted.
    ks.set("pr.b", Value::u8(3));
    CHECK(ks.take_notifications().size() == 1);
}

// ---- the stats map ---------------------------------------------------------------------------

TEST_CASE("stats map: client rules of exec/stats.c", "[keystore][stats]") {
    KeyStore st(MapKind::stats);
    st.set("stats.srp.mcast_tx", Value::u64(0));
    const std::uint8_t u32 = code(ValueType::u32);
    // observed: stats.set.*, stats.adjust.*, stats.delete.clear, stats.get.*
    CHECK(st.client_set("stats.srp.mcast_tx", code(ValueType::u64), le(1, 8)) == KeyError::access);
    CHECK(st.client_set("stats.clear.none", u32, le(1, 4)) == KeyError::not_supported);
    CHECK(st.client_set("stats.clear.allx", code(ValueType::binary), {}) == KeyError::ok);
    CHECK(st.client_set("stats.clear.ipc", u32, Bytes(3, 1)) == KeyError::ok);  // no checks
    CHECK(st.client_set("ks.new", code(ValueType::str), bytes("x")) == KeyError::access);
    CHECK(st.client_adjust("stats.clear.all", 1) == KeyError::not_supported);
    CHECK(st.client_adjust("stats.srp.mcast_tx", 1) == KeyError::access);
    CHECK(st.client_delete("stats.clear.all") == KeyError::not_supported);
    CHECK(st.client_delete("stats.srp.mcast_tx") == KeyError::access);
    CHECK(st.client_get("stats.nothing", 16).error() == KeyError::not_exist);
    CHECK(st.client_get("stats.clear.all", 16).error() == KeyError::not_exist);
    auto g = st.client_get("stats.srp.mcast_tx", 16);
    REQUIRE(g.ok());
    CHECK(g->value_len == 8);
    CHECK(g->type == ValueType::u64);
    // below the value's length: refused as on the default map (deviations.md; corosync's
    // stats_map_get overruns the reply)
    CHECK(st.client_get("stats.srp.mcast_tx", 4).error() == KeyError::invalid_param);
    CHECK(st.size() == 1);  // nothing stored by a client
    CHECK(st.get_u64("stats.srp.mcast_tx") == 0u);
    // The read-only rule of the default map does not apply here, nor its list.
    CHECK(st.is_read_only("stats.srp.mcast_tx"));
    CHECK_FALSE(st.is_read_only("stats.clear.anything"));
    CHECK(st.is_read_only("totem.token"));
    // observed: stats.track.*
    CHECK(st.add_track("stats.srp.", kTrackModify | kTrackPrefix, 30).error() ==
          KeyError::not_supported);
    CHECK(st.add_track("stats.srp.", kTrackAdd | kTrackPrefix, 31).error() ==
          KeyError::not_supported);
    CHECK(st.add_track("stats.srp.", kTrackAdd | kTrackDelete | kTrackPrefix, 32).ok());
    CHECK(st.add_track("stats.srp.mcast_tx", kTrackModify, 33).ok());
    CHECK(st.add_track("stats.srp.mcast_tx", 16, 34).ok());  // bits are not checked
}

TEST_CASE("stats map: which groups a stats.clear.* SET clears", "[keystore][stats]") {
    CHECK(stats_clear_groups("stats.clear.knet") == kStatsClearKnet);
    CHECK(stats_clear_groups("stats.clear.ipc") == kStatsClearIpc);
    CHECK(stats_clear_groups("stats.clear.totem") == kStatsClearTotem);
    CHECK(stats_clear_groups("stats.clear.schedmiss") == kStatsClearSchedmiss);
    CHECK(stats_clear_groups("stats.clear.all") ==
          (kStatsClearKnet | kStatsClearIpc | kStatsClearTotem | kStatsClearSchedmiss));
    CHECK(stats_clear_groups("stats.clear.allx") == stats_clear_groups("stats.clear.all"));
    CHECK(stats_clear_groups("stats.clear.ipcfoo") == kStatsClearIpc);
    CHECK(stats_clear_groups("stats.clear.none") == 0);
    CHECK(stats_clear_groups("stats.clear.") == 0);
    CHECK(stats_clear_groups("stats.knet") == 0);
}

TEST_CASE("stats map: ADD/DELETE carry the current value, changes only by polling",
          "[keystore][stats][track]") {
    KeyStore st(MapKind::stats);
    track(st, "stats.knet.", kTrackAdd | kTrackDelete | kTrackPrefix, 1);
    track(st, "", kTrackAdd | kTrackDelete | kTrackPrefix, 2);
    st.set("stats.knet.node2.link0.mtu", Value::u32(1397));
    // stats_map_notify_fn reads the current value into both new and old
    CHECK(drain(st) ==
          "t1 ADD stats.knet.node2.link0.mtu new=6/4/75050000 old=6/4/75050000 | "
          "t2 ADD stats.knet.node2.link0.mtu new=6/4/75050000 old=6/4/75050000");
    st.set("stats.knet.node2.link0.mtu", Value::u32(1400));  // live values: no event
    CHECK(st.adjust("stats.knet.node2.link0.mtu", 1) == KeyError::ok);
    CHECK(st.fast_inc("stats.knet.node2.link0.mtu") == KeyError::ok);
    CHECK(drain(st) == "(none)");
    st.erase("stats.knet.node2.link0.mtu");
    CHECK(drain(st) ==
          "t1 DELETE stats.knet.node2.link0.mtu new=6/4/7a050000 old=6/4/7a050000 | "
          "t2 DELETE stats.knet.node2.link0.mtu new=6/4/7a050000 old=6/4/7a050000");
    // the schedmiss ring is not notified
    st.set("stats.schedmiss.0.timestamp", Value::u64(5));
    st.erase("stats.schedmiss.0.timestamp");
    CHECK(drain(st) == "(none)");
}

TEST_CASE("stats map: the 1.5 s poll fires MODIFY for key trackers whose value changed",
          "[keystore][stats][track]") {
    KeyStore st(MapKind::stats);
    st.set("stats.srp.mcast_tx", Value::u64(5));
    st.set("stats.pg.msg_reserved", Value::u32(0));
    track(st, "stats.srp.mcast_tx", kTrackModify, 1);
    track(st, "stats.srp.mcast_tx", kTrackAdd, 2);  // any bits: polled too
    track(st, "stats.pg.msg_reserved", kTrackModify, 3);
    track(st, "stats.srp.", kTrackAdd | kTrackDelete | kTrackPrefix, 4);  // prefix: never polled
    track(st, "stats.srp.missing", kTrackModify, 5);
    st.stats_poll();
    CHECK(drain(st) == "(none)");
    st.set("stats.srp.mcast_tx", Value::u64(6));
    st.set("stats.pg.msg_reserved", Value::u32(1));
    st.stats_poll();
    // newest first; both values are the current one (stats_trigger_trackers)
    CHECK(drain(st) ==
          "t3 MODIFY stats.pg.msg_reserved new=6/4/01000000 old=6/4/01000000 | "
          "t2 MODIFY stats.srp.mcast_tx new=8/8/0600000000000000 old=8/8/0600000000000000 | "
          "t1 MODIFY stats.srp.mcast_tx new=8/8/0600000000000000 old=8/8/0600000000000000");
    st.stats_poll();
    CHECK(drain(st) == "(none)");
    // A key missing at add_track counts as 0: it fires once it holds something else.
    st.set("stats.srp.missing", Value::u64(0));
    drain(st);
    st.stats_poll();
    CHECK(drain(st) == "(none)");
    st.set("stats.srp.missing", Value::u64(9));
    st.stats_poll();
    CHECK(drain(st) ==
          "t5 MODIFY stats.srp.missing new=8/8/0900000000000000 old=8/8/0900000000000000");
}

// ---- bounds ----------------------------------------------------------------------------------

TEST_CASE("client sets beyond the store's limits get NO_MEMORY", "[keystore][limits]") {
    KeyStore::Limits lim;
    lim.keys_max = 3;
    lim.bytes_max = 100;
    KeyStore ks(MapKind::icmap, lim);
    const std::uint8_t b = code(ValueType::binary);
    CHECK(ks.client_set("k.1", b, Bytes(10, 1)) == KeyError::ok);  // 3 + 10 bytes
    CHECK(ks.client_set("k.2", b, Bytes(10, 1)) == KeyError::ok);
    CHECK(ks.client_set("k.3", b, Bytes(10, 1)) == KeyError::ok);
    CHECK(ks.client_set("k.4", b, Bytes(1, 1)) == KeyError::no_memory);  // fourth key
    CHECK_FALSE(ks.contains("k.4"));
    // replacing a value: bounded by bytes (39 now; 100 at most)
    CHECK(ks.client_set("k.1", b, Bytes(71, 1)) == KeyError::ok);  // 3 + 71 + 26 = 100
    CHECK(ks.client_set("k.1", b, Bytes(72, 1)) == KeyError::no_memory);
    CHECK(ks.find("k.1")->size() == 71);
    // the daemon's writes are not bounded
    CHECK(ks.set("k.5", Value::binary(Bytes(500, 1))) == KeyError::ok);
    CHECK(ks.size() == 4);
    // deleting frees room
    CHECK(ks.erase("k.5") == KeyError::ok);
    CHECK(ks.client_delete("k.1") == KeyError::ok);
    CHECK(ks.client_set("k.4", b, Bytes(1, 1)) == KeyError::ok);
    CHECK(KeyStore::Limits{}.keys_max == 262144);
    CHECK(KeyStore::Limits{}.bytes_max == 64u << 20);
}
