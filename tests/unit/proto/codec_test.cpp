// The proto codecs against themselves and the spec: every message round-trips, comes out at its
// fixed size, ignores its padding, is picked by its service's dispatch, and every refusal
// reason of DecodeError is produced where shared/spec/services-and-ipc.md says the bytes are
// wrong. Field offsets of the alignment traps (A2.2) are checked byte by byte.
#include <catch2/catch.hpp>

#include <cstring>
#include <set>
#include <string>
#include <type_traits>

#include "tests/unit/proto/samples.hpp"

using namespace totem;
using namespace totem::proto;
using totem::test::bytes_of;
using totem::test::for_each_sample;

namespace {

void set_u32(Bytes& b, std::size_t off, std::uint32_t v) {
    for (int i = 0; i < 4; ++i)
        b.at(off + i) = static_cast<std::uint8_t>(v >> (8 * i));
}
void set_u16(Bytes& b, std::size_t off, std::uint16_t v) {
    b.at(off) = static_cast<std::uint8_t>(v);
    b.at(off + 1) = static_cast<std::uint8_t>(v >> 8);
}
std::uint32_t get_u32(const Bytes& b, std::size_t off) {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i)
        v |= std::uint32_t{b.at(off + i)} << (8 * i);
    return v;
}
std::uint64_t get_u64(const Bytes& b, std::size_t off) {
    return get_u32(b, off) | (std::uint64_t{get_u32(b, off + 4)} << 32);
}
std::string get_str(const Bytes& b, std::size_t off, std::size_t n) {
    return std::string(b.begin() + static_cast<std::ptrdiff_t>(off),
                       b.begin() + static_cast<std::ptrdiff_t>(off + n));
}
// The message with its size field made to match its new length.
Bytes resized(Bytes b, std::size_t n) {
    b.resize(n, 0);
    if (n >= 12)
        set_u32(b, 8, static_cast<std::uint32_t>(n));
    return b;
}

template <typename R>
DecodeError refusal(const R& r) {
    REQUIRE_FALSE(r.ok());
    return r.error();
}

}  // namespace

TEST_CASE("every message round-trips, ignores its padding and is picked by its dispatch",
          "[proto]") {
    int samples = 0;
    for_each_sample([&](std::string_view name, const auto& sample, auto decode, auto dispatch,
                        std::size_t fixed) {
        using T = std::decay_t<decltype(sample)>;
        INFO(name);
        const Bytes zero = encode(sample);
        const Bytes ones = encode(sample, PadFill{0xff});
        REQUIRE(zero.size() == ones.size());
        if (fixed != 0)
            CHECK(zero.size() == fixed);
        // Every message has padding (its header's at least), and only padding takes the fill.
        CHECK(zero != ones);
        auto a = decode(zero);
        REQUIRE(a.ok());
        CHECK(*a == sample);
        auto b = decode(ones);
        REQUIRE(b.ok());
        CHECK(*b == sample);
        CHECK(encode(*b, PadFill{0xff}) == ones);
        if constexpr (!std::is_null_pointer_v<decltype(dispatch)>) {
            auto d = dispatch(zero);
            REQUIRE(d.ok());
            REQUIRE(std::holds_alternative<T>(*d));
            CHECK(std::get<T>(*d) == sample);
            CHECK(encode(*d) == zero);
        }
        ++samples;
    });
    CHECK(samples == 146);
}

TEST_CASE("every message decoder has a sample", "[proto]") {
    std::set<std::uintptr_t> sampled;
    for_each_sample([&](std::string_view, const auto&, auto decode, auto, std::size_t) {
        sampled.insert(reinterpret_cast<std::uintptr_t>(decode));
    });
    int decoders = 0;
    auto check = [&](std::string_view name, auto decode) {
        // The per-message decoders; the dispatch ones ("cpg.request", "sync", ...) take any id.
        const bool dispatch = name.find('.') == std::string_view::npos ||
                              name.substr(name.rfind('.') + 1) == "request" ||
                              name.substr(name.rfind('.') + 1) == "response" ||
                              name.substr(name.rfind('.') + 1) == "event" ||
                              name.substr(name.rfind('.') + 1) == "exec";
        if (dispatch && name != "error_response")
            return;
        INFO(name);
        CHECK(sampled.count(reinterpret_cast<std::uintptr_t>(decode)) == 1);
        ++decoders;
    };
    test::for_each_ipc_decoder(check);
    test::for_each_exec_decoder(check);
    CHECK(decoders == 125);
}

TEST_CASE("every decoder refuses a broken header with its named reason", "[proto]") {
    for_each_sample([&](std::string_view name, const auto& sample, auto decode, auto,
                        std::size_t fixed) {
        INFO(name);
        const Bytes m = encode(sample);
        const bool pload = name.substr(0, 6) == "pload.";

        // Fewer bytes than a header.
        CHECK(refusal(decode(ByteView(m).first(8))) == DecodeError::too_short);
        CHECK(refusal(decode(ByteView())) == DecodeError::too_short);

        if (!pload) {  // pload's size fields do not follow the rule: its own test
            Bytes below = m;
            set_u32(below, 8, 8);
            CHECK(refusal(decode(below)) == DecodeError::below_header);
            Bytes negative = m;
            set_u32(negative, 8, 0x80000000u);
            CHECK(refusal(decode(negative)) == DecodeError::below_header);
            Bytes mismatch = m;
            set_u32(mismatch, 8, get_u32(m, 8) + 1);
            CHECK(refusal(decode(mismatch)) == DecodeError::size_field_mismatch);
            // The bytes end before the size field says (or before a 24-byte header does).
            const DecodeError cut = refusal(decode(ByteView(m).first(m.size() - 1)));
            if (m.size() > response_header_size)
                CHECK(cut == DecodeError::size_field_mismatch);
            else
                CHECK((cut == DecodeError::size_field_mismatch || cut == DecodeError::too_short));
        }

        Bytes other_id = m;
        set_u32(other_id, 0, get_u32(m, 0) ^ 0x00400000u);
        CHECK(refusal(decode(other_id)) == DecodeError::wrong_id);

        if (fixed != 0) {
            // One byte more than the fixed size, with a size field that says so.
            CHECK(refusal(decode(resized(m, m.size() + 1))) == DecodeError::wrong_size);
            CHECK(refusal(decode(resized(m, m.size() + 8))) == DecodeError::wrong_size);
        }
        if (!pload && m.size() > request_header_size) {
            // A consistent header with nothing after it.
            CHECK(refusal(decode(resized(m, request_header_size))) == DecodeError::too_short);
        }
    });
}

TEST_CASE("fixed sizes of the spec's tables", "[proto]") {
    // A1.3/A2.1, A3 and B2 tables (the static_asserts in proto/*.cpp tie them to their fields).
    CHECK(request_header_size == 16);
    CHECK(response_header_size == 24);
    CHECK(mar_name_size == 264);
    CHECK(cs_name_size == 258);
    CHECK(cpg_name_size == 136);
    CHECK(cpg_address_size == 24);
    CHECK(mar_ring_id_size == 16);
    CHECK(message_source_size == 16);
    CHECK(memb_ring_id_size == 12);
    CHECK(cpg::res_membership_size == 9248);
    CHECK(cfg::res_ringstatusget_size == 10272);
    CHECK(cfg::res_nodestatusget_size == 4200);
    CHECK(votequorum::res_getinfo_size == 320);
    CHECK(sync::service_build_size == 552);
    CHECK(cmap::res_iter_next_size == 304);
    CHECK(cpg::joinlist_entry_size == 144);
    CHECK(cpg_max_atomic_msgsize == 1047552);
}

TEST_CASE("fields sit at the offsets of the spec, alignment traps included", "[proto]") {
    SECTION("cmap SET: value_len @280, type @288, value @296") {
        const Bytes b = encode(cmap::ReqSet{"a.b.c", 6, Bytes{1, 2, 3, 4}});
        CHECK(get_u32(b, 16) == 5);  // key length u16 (+ pad)
        CHECK(get_str(b, 24, 5) == "a.b.c");
        CHECK(b[29] == 0);  // the NUL the server's C string needs
        CHECK(get_u64(b, 280) == 4);
        CHECK(b[288] == 6);
        CHECK(get_u32(b, 296) == 0x04030201);
        CHECK(b.size() == 300);
    }
    SECTION("cmap NOTIFY: event @296, types @304/@312, lengths @320/@328, values @336") {
        const Bytes b = encode(
            cmap::ResNotifyCallback{CsError::ok, 0x99, "k.e.y", 2, 6, 5, {1, 0, 0, 0}, {2, 0}});
        CHECK(get_u64(b, 24) == 0x99);
        CHECK(get_str(b, 40, 5) == "k.e.y");
        CHECK(get_u32(b, 296) == 2);
        CHECK(b[304] == 6);
        CHECK(b[312] == 5);
        CHECK(get_u64(b, 320) == 4);
        CHECK(get_u64(b, 328) == 2);
        CHECK(get_u32(b, 336) == 1);
        CHECK(b[340] == 2);
        CHECK(b.size() == 342);
    }
    SECTION("cmap exec MCAST: header id 0, items at 48 rounded to 8") {
        const Bytes b =
            encode(cmap::ExecMcast{1, {{"x.y.z", 11, bytes_of("abc")}, {"q.q.q", 0, {}}}});
        CHECK(get_u32(b, 0) == 0);
        CHECK(b[16] == 1);
        CHECK(b[24] == 2);
        CHECK(get_str(b, 48 + 8, 5) == "x.y.z");
        CHECK(b[48 + 264] == 11);
        CHECK(get_u64(b, 48 + 272) == 3);
        CHECK(get_str(b, 48 + 280, 3) == "abc");
        const std::size_t second = 48 + 288;  // round_up(280 + 3, 8)
        CHECK(get_str(b, second + 8, 5) == "q.q.q");
        CHECK(b.size() == second + 280);
    }
    SECTION("cfg KILLNODE: the request's cs_name_t value @26, the exec's mar_name_t value @32") {
        const Bytes req = encode(cfg::ReqKillNode{7, "why"});
        CHECK(get_u32(req, 16) == 7);
        CHECK((req[24] | (req[25] << 8)) == 3);
        CHECK(get_str(req, 26, 3) == "why");
        const Bytes ex = encode(cfg::ExecKillNode{7, "why"});
        CHECK((ex[24] | (ex[25] << 8)) == 3);
        CHECK(get_str(ex, 32, 3) == "why");
        CHECK(exec_id(ServiceId::cfg, 1) == static_cast<std::int32_t>(get_u32(ex, 0)));
    }
    SECTION("cfg requests with a plain u32 or u8 @16; GET_NODE_ADDRS reply family @24") {
        CHECK(get_u32(encode(cfg::ReqTryShutdown{2}), 16) == 2);
        CHECK(encode(cfg::ReqTrackStart{0x5a})[16] == 0x5a);
        const Bytes r = encode(cfg::ResGetNodeAddrs{CsError::ok, 10, {{1, 2, 3, 4}}});
        CHECK(get_u32(r, 24) == 10);
        CHECK(get_u32(r, 28) == 1);
        CHECK(get_u32(r, 32) == 0x04030201);
        CHECK(r.size() == 48);
    }
    SECTION("cfg NODESTATUSGET: status from @24, links from @40, 520 bytes each") {
        cfg::ResNodeStatusGet s;
        s.nodeid = 5;
        s.reachable = 1;
        s.onwire_ver = 3;
        s.links[1] = {1, 1, 1, 1397, "src", "dst"};
        const Bytes b = encode(s);
        CHECK(get_u32(b, 24) == 1);
        CHECK(get_u32(b, 28) == 5);
        CHECK(b[32] == 1);
        CHECK(b[37] == 3);
        const std::size_t l1 = 40 + 520;
        CHECK(b[l1] == 1);
        CHECK(b[l1 + 2] == 1);
        CHECK(get_u32(b, l1 + 4) == 1397);
        CHECK(get_str(b, l1 + 8, 4) == std::string("src\0", 4));
        CHECK(get_str(b, l1 + 264, 4) == std::string("dst\0", 4));
    }
    SECTION("cpg MCAST and PARTIAL_MCAST requests have the 24-byte header") {
        const Bytes m = encode(cpg::ReqMcast{2, bytes_of("hi")});
        CHECK(get_u32(m, 24) == 2);
        CHECK(get_u32(m, 32) == 2);
        CHECK(get_str(m, 40, 2) == "hi");
        CHECK(m.size() == 42);
        const Bytes pm = encode(cpg::ReqPartialMcast{1, 10, 3, bytes_of("abc")});
        CHECK(get_u32(pm, 32) == 10);
        CHECK(get_u32(pm, 40) == 3);
        CHECK(get_u32(pm, 48) == 3);
        CHECK(get_str(pm, 56, 3) == "abc");
    }
    SECTION("cpg CONFCHG: counts member, joined, left; arrays member, left, joined") {
        const Bytes b = encode(cpg::ResConfchgCallback{
            CsError::ok, "g", {{1, 11, 0}}, {{2, 22, 3}}, {{3, 33, 1}, {4, 44, 1}}});
        CHECK(get_u32(b, 160) == 1);
        CHECK(get_u32(b, 168) == 2);
        CHECK(get_u32(b, 176) == 1);
        CHECK(get_u32(b, 184) == 1);
        CHECK(get_u32(b, 184 + 24) == 2);  // left first
        CHECK(get_u32(b, 184 + 24 + 16) == 3);
        CHECK(get_u32(b, 184 + 48) == 3);  // then joined
        CHECK(b.size() == 184 + 4 * 24);
    }
    SECTION("cpg TOTEM_CONFCHG: members @44, size 48 + 4n") {
        const Bytes b = encode(cpg::ResTotemConfchgCallback{CsError::ok, {1, 0x1c}, {1, 2, 3}});
        CHECK(get_u32(b, 24) == 1);
        CHECK(get_u64(b, 32) == 0x1c);
        CHECK(get_u32(b, 40) == 3);
        CHECK(get_u32(b, 44) == 1);
        CHECK(get_u32(b, 52) == 3);
        CHECK(b.size() == 60);
    }
    SECTION("cpg exec JOINLIST: 24-byte header, entries pid @+0 name @+8, 144 each") {
        const Bytes b = encode(cpg::ExecJoinlist{{{10, "a"}, {20, "bb"}}});
        CHECK(get_u32(b, 0) == 0x00020002);
        CHECK(get_u32(b, 24) == 10);
        CHECK(get_u32(b, 32) == 1);
        CHECK(get_u32(b, 24 + 144) == 20);
        CHECK(get_str(b, 24 + 144 + 16, 2) == "bb");
        CHECK(b.size() == 24 + 2 * 144);
    }
    SECTION("cpg exec MCAST and PARTIAL_MCAST: source @168 / @184, payload @184 / @200") {
        const Bytes m = encode(cpg::ExecMcast{"g", 77, {3, 0xabcdef}, bytes_of("x")});
        CHECK(get_u32(m, 152) == 1);
        CHECK(get_u32(m, 160) == 77);
        CHECK(get_u32(m, 168) == 3);
        CHECK(get_u64(m, 176) == 0xabcdef);
        CHECK(m[184] == 'x');
        const Bytes p = encode(cpg::ExecPartialMcast{"g", 9, 77, 2, {3, 0xabcdef}, bytes_of("y")});
        CHECK(get_u32(p, 152) == 9);
        CHECK(get_u32(p, 160) == 1);
        CHECK(get_u32(p, 168) == 77);
        CHECK(get_u32(p, 176) == 2);
        CHECK(get_u32(p, 184) == 3);
        CHECK(p[200] == 'y');
    }
    SECTION("quorum notifications: lists right after their counts, 4 bytes of tail") {
        const Bytes v0 = encode(quorum::ResNotification{CsError::ok, 1, 9, {5}});
        CHECK(get_u64(v0, 32) == 9);
        CHECK(get_u32(v0, 44) == 5);
        CHECK(v0.size() == 52);
        const Bytes v1 = encode(quorum::ResV1QuorumNotification{CsError::ok, 1, {2, 9}, {5}});
        CHECK(get_u32(v1, 32) == 2);
        CHECK(get_u64(v1, 40) == 9);
        CHECK(get_u32(v1, 52) == 5);
        CHECK(v1.size() == 60);
        const Bytes nl =
            encode(quorum::ResV1NodelistNotification{CsError::ok, {2, 9}, {5}, {6}, {7}});
        CHECK(get_u32(nl, 40) == 1);
        CHECK(get_u32(nl, 60) == 5);
        CHECK(get_u32(nl, 64) == 6);
        CHECK(get_u32(nl, 68) == 7);
        CHECK(nl.size() == 76);
        CHECK(get_u32(encode(quorum::ReqTrackStart{3}), 16) == 3);
    }
    SECTION("votequorum: natural alignment after the header") {
        const Bytes upd = encode(votequorum::ReqQdeviceUpdate{"old", "new"});
        CHECK(get_str(upd, 16, 4) == std::string("old\0", 4));
        CHECK(get_str(upd, 271, 4) == std::string("new\0", 4));
        const Bytes poll = encode(votequorum::ReqQdevicePoll{"q", -1, {3, 0x1c}});
        CHECK(get_u32(poll, 272) == 0xffffffffu);
        CHECK(get_u32(poll, 280) == 3);
        CHECK(get_u64(poll, 288) == 0x1c);
        CHECK(get_u32(encode(votequorum::ReqQdeviceMasterWins{"q", 1}), 272) == 1);
        const Bytes sv = encode(votequorum::ReqSetVotes{2, 3});
        CHECK(get_u32(sv, 16) == 2);
        CHECK(get_u32(sv, 20) == 3);
        const Bytes ts = encode(votequorum::ReqTrackStart{0x1122334455667788, 3});
        CHECK(get_u64(ts, 16) == 0x1122334455667788);
        CHECK(get_u32(ts, 24) == 3);
        const Bytes gi =
            encode(votequorum::ResGetInfo{CsError::ok, 1, 2, 3, 4, 5, 6, 7, 8, 9, "dev"});
        for (std::uint32_t i = 0; i < 9; ++i)
            CHECK(get_u32(gi, 24 + 4 * i) == i + 1);
        CHECK(get_str(gi, 60, 4) == std::string("dev\0", 4));
        const Bytes qn = encode(votequorum::ResQuorumNotification{CsError::ok, 1, 5, {{3, 1}}});
        CHECK(get_u64(qn, 32) == 5);
        CHECK(get_u32(qn, 48) == 3);
        CHECK(get_u32(qn, 52) == 1);
        const Bytes nn = encode(votequorum::ResNodelistNotification{CsError::ok, 5, {1, 2}, {8}});
        CHECK(get_u64(nn, 24) == 5);
        CHECK(get_u32(nn, 48) == 1);
        CHECK(get_u32(nn, 56) == 8);
        CHECK(nn.size() == 60);
    }
    SECTION("votequorum exec: packed after the header") {
        const Bytes reg = encode(votequorum::ExecQdeviceReg{1, "dev"});
        CHECK(get_u32(reg, 16) == 1);
        CHECK(get_str(reg, 20, 4) == std::string("dev\0", 4));
        const Bytes rc = encode(votequorum::ExecReconfigure{2, 3, 1});
        CHECK(get_u32(rc, 16) == 2);
        CHECK(get_u32(rc, 20) == 3);
        CHECK(rc[24] == 1);
        const Bytes ni = encode(votequorum::ExecNodeInfo{1, 2, 3, 4});
        CHECK(get_u32(ni, 28) == 4);
    }
    SECTION("sync: the packed ring id, seq unaligned @20") {
        const Bytes b = encode(sync::ServiceBuild{{7, 0x1122334455667788}, {0, 2}});
        CHECK(get_u32(b, 16) == 7);
        CHECK(get_u64(b, 20) == 0x1122334455667788);
        CHECK(get_u32(b, 32) == 2);
        CHECK(get_u32(b, 40) == 0);
        CHECK(get_u32(b, 44) == 2);
        const Bytes bar = encode(sync::Barrier{{7, 0x1122334455667788}});
        CHECK(get_u64(bar, 20) == 0x1122334455667788);
    }
    SECTION("pload MCAST: size field 16 more than the bytes") {
        const Bytes b = encode(pload::ExecMcast{64, Bytes(48, 7)});
        CHECK(b.size() == 64);
        CHECK(get_u32(b, 8) == 80);
        const Bytes small = encode(pload::ExecMcast{10, {}});
        CHECK(small.size() == 16);
        CHECK(get_u32(small, 8) == 26);
    }
}

TEST_CASE("name_too_long: a name's length beyond its capacity", "[proto]") {
    Bytes join = encode(cpg::ReqJoin{"g", 1, 0});
    set_u32(join, 16, 129);
    CHECK(refusal(cpg::decode_req_join(join)) == DecodeError::name_too_long);
    set_u32(join, 16, 128);
    CHECK(cpg::decode_req_join(join).ok());

    Bytes get = encode(cmap::ReqGet{"a.b", 0});
    set_u16(get, 16, 256);
    CHECK(refusal(cmap::decode_req_get(get)) == DecodeError::name_too_long);

    Bytes kill = encode(cfg::ReqKillNode{1, "x"});
    set_u16(kill, 24, 257);
    CHECK(refusal(cfg::decode_req_killnode(kill)) == DecodeError::name_too_long);
    set_u16(kill, 24, 256);
    CHECK(cfg::decode_req_killnode(kill).ok());

    Bytes exec_kill = encode(cfg::ExecKillNode{1, "x"});
    set_u16(exec_kill, 24, 257);
    CHECK(refusal(cfg::decode_exec_killnode(exec_kill)) == DecodeError::name_too_long);

    Bytes joinlist = encode(cpg::ExecJoinlist{{{1, "a"}, {2, "b"}}});
    set_u32(joinlist, 24 + 144 + 8, 200);
    CHECK(refusal(cpg::decode_exec_joinlist(joinlist)) == DecodeError::name_too_long);
}

TEST_CASE("ITERATIONINITIALIZE reads the group only for ONE_GROUP (libcpg sends garbage)",
          "[proto]") {
    Bytes all = encode(cpg::ReqIterationInitialize{"", cpg::iteration_name_only});
    set_u32(all, 16, 0xdeadbeef);  // a length libcpg may leave there
    auto r = cpg::decode_req_iterationinitialize(all);
    REQUIRE(r.ok());
    CHECK(r->group_name.empty());
    CHECK(r->iteration_type == cpg::iteration_name_only);
    set_u32(all, 152, cpg::iteration_one_group);
    CHECK(refusal(cpg::decode_req_iterationinitialize(all)) == DecodeError::name_too_long);
}

TEST_CASE("bad_name: a cmap key that the server's C string would read differently", "[proto]") {
    Bytes del = encode(cmap::ReqDelete{"abc.d"});
    del[24 + 5] = 'x';  // no NUL at value[length]
    CHECK(refusal(cmap::decode_req_delete(del)) == DecodeError::bad_name);
    Bytes inner = encode(cmap::ReqDelete{"abc.d"});
    inner[24 + 1] = 0;  // a NUL inside the name
    CHECK(refusal(cmap::decode_req_delete(inner)) == DecodeError::bad_name);
    Bytes full = encode(cmap::ReqDelete{""});
    set_u16(full, 16, 255);
    std::memset(full.data() + 24, 'k', 255);
    full[24 + 255] = 0;
    auto ok = cmap::decode_req_delete(full);
    REQUIRE(ok.ok());
    CHECK(ok->key_name == std::string(255, 'k'));

    Bytes item = encode(cmap::ExecMcast{0, {{"totem.config_version", 0, {}}}});
    item[48 + 8 + 20] = '!';
    CHECK(refusal(cmap::decode_exec_mcast(item)) == DecodeError::bad_name);
}

TEST_CASE("unterminated_string: a char[N] without its NUL", "[proto]") {
    Bytes reg = encode(votequorum::ReqQdeviceRegister{"q"});
    std::memset(reg.data() + 16, 'q', 255);
    CHECK(refusal(votequorum::decode_req_qdevice_register(reg)) ==
          DecodeError::unterminated_string);

    Bytes ring = encode(cfg::ResRingStatusGet{CsError::ok, {{"0 10.0.0.1", "ok"}}});
    std::memset(ring.data() + 32, 'n', 128);
    CHECK(refusal(cfg::decode_res_ringstatusget(ring)) == DecodeError::unterminated_string);

    cfg::ResNodeStatusGet s;
    Bytes st = encode(s);
    std::memset(st.data() + 40 + 8, 'a', 256);
    CHECK(refusal(cfg::decode_res_nodestatusget(st)) == DecodeError::unterminated_string);

    Bytes zc = encode(cpg::ReqZcAlloc{1, "/p"});
    std::memset(zc.data() + 24, '/', 128);
    CHECK(refusal(cpg::decode_req_zc_alloc(zc)) == DecodeError::unterminated_string);

    Bytes qreg = encode(votequorum::ExecQdeviceReg{1, "q"});
    std::memset(qreg.data() + 20, 'q', 255);
    CHECK(refusal(votequorum::decode_exec_qdevice_reg(qreg)) == DecodeError::unterminated_string);
}

TEST_CASE("count_too_large: a list longer than its maximum", "[proto]") {
    Bytes mem = encode(cpg::ResMembershipGet{CsError::ok, {}});
    set_u32(mem, 24, 385);
    CHECK(refusal(cpg::decode_res_membership(mem)) == DecodeError::count_too_large);
    set_u32(mem, 24, 384);
    CHECK(cpg::decode_res_membership(mem).ok());

    Bytes conf = encode(cpg::ResConfchgCallback{CsError::ok, "g", {}, {}, {}});
    set_u32(conf, 176, 129);  // left_list_entries
    CHECK(refusal(cpg::decode_res_confchg_callback(conf)) == DecodeError::count_too_large);

    Bytes sb = encode(sync::ServiceBuild{{1, 1}, {0}});
    set_u32(sb, 32, 129);
    CHECK(refusal(sync::decode_service_build(sb)) == DecodeError::count_too_large);
    set_u32(sb, 32, 0xffffffffu);  // -1
    CHECK(refusal(sync::decode_service_build(sb)) == DecodeError::count_too_large);

    Bytes mc = encode(cmap::ExecMcast{0, {}});
    mc[24] = 33;
    CHECK(refusal(cmap::decode_exec_mcast(mc)) == DecodeError::count_too_large);

    Bytes ring = encode(cfg::ResRingStatusGet{CsError::ok, {}});
    set_u32(ring, 24, 17);
    CHECK(refusal(cfg::decode_res_ringstatusget(ring)) == DecodeError::count_too_large);

    Bytes addrs = encode(cfg::ResGetNodeAddrs{CsError::ok, 2, {}});
    set_u32(addrs, 28, 9);
    CHECK(refusal(cfg::decode_res_get_node_addrs(addrs)) == DecodeError::count_too_large);

    Bytes down = encode(cpg::ExecDownlist{3, {}});
    set_u32(down, 24, 385);
    CHECK(refusal(cpg::decode_exec_downlist(down)) == DecodeError::count_too_large);
    Bytes down_old = encode(cpg::ExecDownlistOld{{}});
    set_u32(down_old, 16, 385);
    CHECK(refusal(cpg::decode_exec_downlist_old(down_old)) == DecodeError::count_too_large);

    Bytes view = encode(quorum::ResNotification{CsError::ok, 1, 1, {}});
    set_u32(view, 40, 385);
    CHECK(refusal(quorum::decode_res_notification(view)) == DecodeError::count_too_large);

    Bytes nodes = encode(votequorum::ResQuorumNotification{CsError::ok, 1, 1, {}});
    set_u32(nodes, 40, 386);
    CHECK(refusal(votequorum::decode_res_quorum_notification(nodes)) ==
          DecodeError::count_too_large);

    Bytes totem = encode(cpg::ResTotemConfchgCallback{CsError::ok, {1, 1}, {}});
    set_u32(totem, 40, 385);
    CHECK(refusal(cpg::decode_res_totem_confchg_callback(totem)) == DecodeError::count_too_large);
}

TEST_CASE("bad_length_field: a declared length that disagrees with the message", "[proto]") {
    Bytes set = encode(cmap::ReqSet{"a.b.c", 11, bytes_of("abc")});
    set_u32(set, 280, 4);
    CHECK(refusal(cmap::decode_req_set(set)) == DecodeError::bad_length_field);

    Bytes mcast = encode(cpg::ReqMcast{0, bytes_of("abc")});
    set_u32(mcast, 32, 2);
    CHECK(refusal(cpg::decode_req_mcast(mcast)) == DecodeError::bad_length_field);

    Bytes partial = encode(cpg::ReqPartialMcast{0, 3, 1, bytes_of("abc")});
    set_u32(partial, 40, 4);
    CHECK(refusal(cpg::decode_req_partial_mcast(partial)) == DecodeError::bad_length_field);

    Bytes deliver = encode(cpg::ResDeliverCallback{CsError::ok, "g", 1, 2, bytes_of("abc")});
    set_u32(deliver, 160, 0);
    CHECK(refusal(cpg::decode_res_deliver_callback(deliver)) == DecodeError::bad_length_field);

    Bytes conf = encode(cpg::ResConfchgCallback{CsError::ok, "g", {{1, 1, 0}}, {}, {}});
    set_u32(conf, 168, 1);  // one joined entry the message does not hold
    CHECK(refusal(cpg::decode_res_confchg_callback(conf)) == DecodeError::bad_length_field);

    // TOTEM_CONFCHG without the 4 bytes its size counts.
    Bytes totem = encode(cpg::ResTotemConfchgCallback{CsError::ok, {1, 1}, {1, 2}});
    CHECK(refusal(cpg::decode_res_totem_confchg_callback(resized(totem, totem.size() - 4))) ==
          DecodeError::bad_length_field);

    Bytes get = encode(cmap::ResGet{CsError::ok, 4, 6, {1, 0, 0, 0}, 8});
    set_u32(get, 24, 9);
    CHECK(refusal(cmap::decode_res_get(get)) == DecodeError::bad_length_field);

    Bytes notify = encode(cmap::ResNotifyCallback{CsError::ok, 1, "k.k.k", 4, 6, 0, {1}, {}});
    set_u32(notify, 328, 1);
    CHECK(refusal(cmap::decode_res_notify_callback(notify)) == DecodeError::bad_length_field);

    Bytes item = encode(cmap::ExecMcast{0, {{"a.b.c", 12, Bytes(8, 1)}}});
    set_u32(item, 48 + 272, 9);  // value_len past the item
    CHECK(refusal(cmap::decode_exec_mcast(item)) == DecodeError::bad_length_field);
    Bytes trailing =
        resized(encode(cmap::ExecMcast{0, {{"a.b.c", 12, Bytes(8, 1)}}}), 48 + 288 + 8);
    CHECK(refusal(cmap::decode_exec_mcast(trailing)) == DecodeError::bad_length_field);

    Bytes joinlist = encode(cpg::ExecJoinlist{{{1, "a"}}});
    CHECK(refusal(cpg::decode_exec_joinlist(resized(joinlist, joinlist.size() + 8))) ==
          DecodeError::bad_length_field);

    Bytes addrs = encode(cfg::ResGetNodeAddrs{CsError::ok, 2, {{1}}});
    set_u32(addrs, 28, 2);
    CHECK(refusal(cfg::decode_res_get_node_addrs(addrs)) == DecodeError::bad_length_field);

    Bytes exec_mcast = encode(cpg::ExecMcast{"g", 1, {1, 1}, bytes_of("ab")});
    set_u32(exec_mcast, 152, 3);
    CHECK(refusal(cpg::decode_exec_mcast(exec_mcast)) == DecodeError::bad_length_field);

    Bytes view = encode(quorum::ResV1NodelistNotification{CsError::ok, {1, 1}, {1}, {}, {}});
    set_u32(view, 56, 1);
    CHECK(refusal(quorum::decode_res_v1_nodelist_notification(view)) ==
          DecodeError::bad_length_field);

    Bytes vq = encode(votequorum::ResNodelistNotification{CsError::ok, 1, {1, 1}, {1, 2}});
    set_u32(vq, 48, 1);
    CHECK(refusal(votequorum::decode_res_nodelist_notification(vq)) ==
          DecodeError::bad_length_field);
}

TEST_CASE("wrong_size and the error forms of responses", "[proto]") {
    // NODESTATUSGET: CS_OK comes with 4 200 bytes, an error with 32.
    cfg::ResNodeStatusGet error;
    error.error = CsError::err_not_supported;
    Bytes short_ok = encode(error);
    set_u32(short_ok, 16, 1);  // CS_OK in the 32-byte form
    CHECK(refusal(cfg::decode_res_nodestatusget(short_ok)) == DecodeError::too_short);
    Bytes long_error = encode(cfg::ResNodeStatusGet{});
    set_u32(long_error, 16, static_cast<std::uint32_t>(CsError::err_failed_operation));
    CHECK(refusal(cfg::decode_res_nodestatusget(long_error)) == DecodeError::wrong_size);

    // cmap GET: an error reply is 40 bytes.
    Bytes get = encode(cmap::ResGet{CsError::ok, 1, 2, {7}, 8});
    set_u32(get, 16, static_cast<std::uint32_t>(CsError::err_not_exist));
    CHECK(refusal(cmap::decode_res_get(get)) == DecodeError::wrong_size);

    // An error response's fields are not read: stale values are dropped.
    Bytes addrs = encode(cfg::ResGetNodeAddrs{CsError::err_not_exist, 0, {}});
    set_u32(addrs, 24, 2);
    set_u32(addrs, 28, 1);  // what corosync leaves there (captured)
    auto r = cfg::decode_res_get_node_addrs(addrs);
    REQUIRE(r.ok());
    CHECK(*r == cfg::ResGetNodeAddrs{CsError::err_not_exist, 0, {}});
    // ... and not written.
    const Bytes written = encode(votequorum::ResGetInfo{CsError::err_not_exist, 5, 1});
    CHECK(get_u32(written, 24) == 0);
}

TEST_CASE("unknown_id: a dispatch that knows no message of that id", "[proto]") {
    Bytes req = encode(cmap::ReqSetCurrentMap{0});
    set_u32(req, 0, 10);
    CHECK(refusal(cmap::decode_request(req)) == DecodeError::unknown_id);
    Bytes res = encode(cfg::ResTrackStart{});
    set_u32(res, 0, static_cast<std::uint32_t>(cfg::ResId::administrativestateset));
    CHECK(refusal(cfg::decode_response(res)) == DecodeError::unknown_id);
    // An event id on the response channel and a response id on the event channel.
    CHECK(refusal(cpg::decode_response(encode(cpg::ResTotemConfchgCallback{}))) ==
          DecodeError::unknown_id);
    CHECK(refusal(cpg::decode_event(encode(cpg::ResJoin{}))) == DecodeError::unknown_id);
    Bytes flow = encode(cpg::ResJoin{});
    set_u32(flow, 0, static_cast<std::uint32_t>(cpg::ResId::flowcontrol_callback));
    CHECK(refusal(cpg::decode_event(flow)) == DecodeError::unknown_id);
    CHECK(refusal(quorum::decode_response(encode(quorum::ResNotification{}))) ==
          DecodeError::unknown_id);
    CHECK(refusal(votequorum::decode_event(encode(votequorum::ResStatus{}))) ==
          DecodeError::unknown_id);
    Bytes exec = encode(cpg::ExecProcJoin{});
    set_u32(exec, 0, static_cast<std::uint32_t>(exec_id(ServiceId::cpg, 7)));
    CHECK(refusal(cpg::decode_exec(exec)) == DecodeError::unknown_id);
    CHECK(refusal(cpg::decode_exec(encode(votequorum::ExecNodeInfo{}))) == DecodeError::unknown_id);
    CHECK(refusal(cfg::decode_exec(encode(cmap::ExecMcast{}))) == DecodeError::unknown_id);
    Bytes sync_other = encode(sync::Barrier{});
    set_u32(sync_other, 0, 2);
    CHECK(refusal(sync::decode(sync_other)) == DecodeError::unknown_id);
}

TEST_CASE("headers: peek_request, peek_response, the bare error response", "[proto]") {
    const Bytes m = encode(cpg::ReqJoin{"g", 1, 0});
    auto h = peek_request(m);
    REQUIRE(h.ok());
    CHECK(*h == RequestHeader{0, 168});
    const Bytes r = encode(ErrorResponse{CsError::err_invalid_param});
    auto rh = peek_response(r);
    REQUIRE(rh.ok());
    CHECK(*rh == ResponseHeader{0, 24, CsError::err_invalid_param});
    CHECK(refusal(peek_response(ByteView(r).first(20))) == DecodeError::too_short);
    CHECK(refusal(decode_error_response(encode(cpg::ResLeave{}))) == DecodeError::wrong_id);
    CHECK(qb_msg_authenticate == -1);
    CHECK(qb_msg_new_event_sock == -2);
    CHECK(qb_msg_disconnect == -3);
}

TEST_CASE("exec headers: service and function, and an other-endian sender's id", "[proto]") {
    const Bytes le = encode(votequorum::ExecNodeInfo{1, 1, 3, 1});
    auto h = peek_exec(le);
    REQUIRE(h.ok());
    CHECK(*h == ExecHeader{5, 0, 32});
    // The same header as a big-endian sender writes it.
    Bytes be(16, 0);
    be[1] = 5;  // id 0x00050001 big-endian
    be[3] = 1;
    be[11] = 32;
    auto s = peek_exec_swapped(be);
    REQUIRE(s.ok());
    CHECK(*s == ExecHeader{5, 1, 32});
    CHECK(short_name(static_cast<ServiceId>(s->service)) == "votequorum");
    CHECK(refusal(peek_exec_swapped(ByteView(be).first(15))) == DecodeError::too_short);
    CHECK(exec_fn_name(ServiceId::votequorum, s->fn) == "reconfigure");
    CHECK(exec_fn_name(ServiceId::cpg, 6) == "partial_mcast");
    CHECK(exec_fn_name(ServiceId::cpg, 7) == "unknown");
    CHECK(exec_fn_name(ServiceId::quorum, 0) == "unknown");
    CHECK(exec_fn_count(ServiceId::cfg) == 5);
    CHECK(exec_fn_count(ServiceId::mon) == 0);
    CHECK(!service_from_id(8).has_value());
    CHECK(service_from_id(4) == ServiceId::pload);
    std::set<std::string_view> names;
    for (std::uint16_t i = 0; i < service_count; ++i) {
        const auto sid = *service_from_id(i);
        names.insert(short_name(sid));
        CHECK(engine_name(sid).substr(0, 9) == "corosync ");
    }
    CHECK(names == std::set<std::string_view>{"cmap", "cfg", "cpg", "quorum", "pload", "votequorum",
                                              "mon", "wd"});
    CHECK(engine_name(ServiceId::cpg) == "corosync cluster closed process group service v1.01");
}

TEST_CASE("every DecodeError and CsError has its name", "[proto]") {
    std::set<std::string_view> reasons;
    for (std::size_t i = 0; i < decode_error_count; ++i) {
        const auto name = to_string(static_cast<DecodeError>(i));
        CHECK(name != "unknown");
        reasons.insert(name);
    }
    CHECK(reasons.size() == decode_error_count);
    CHECK(to_string(static_cast<DecodeError>(decode_error_count)) == "unknown");
    CHECK(to_string(CsError::ok) == "CS_OK");
    CHECK(to_string(CsError::err_security) == "CS_ERR_SECURITY");
    CHECK(to_string(static_cast<CsError>(29)) == "CS_ERR_UNKNOWN");
    CHECK(to_string(static_cast<CsError>(0)) == "CS_ERR_UNKNOWN");
    std::set<std::string_view> names;
    for (int v : {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
                  16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 30, 100}) {
        const auto n = to_string(static_cast<CsError>(v));
        CHECK(n != "CS_ERR_UNKNOWN");
        names.insert(n);
    }
    CHECK(names.size() == 30);
}

TEST_CASE("pload: the size fields corosync really sends", "[proto]") {
    // START: corosync never sets header.size (captured: stack garbage); the length decides.
    Bytes start = encode(pload::ExecStart{3, 64});
    set_u32(start, 8, 0x42b1fbe0);
    auto s = pload::decode_exec_start(start);
    REQUIRE(s.ok());
    CHECK(*s == pload::ExecStart{3, 64});
    CHECK(refusal(pload::decode_exec_start(resized(start, 25))) == DecodeError::wrong_size);
    CHECK(refusal(pload::decode_exec_start(ByteView(start).first(20))) == DecodeError::too_short);
    // MCAST: size = 16 + pload.size, bytes = max(pload.size, 16).
    Bytes mcast = encode(pload::ExecMcast{64, Bytes(48, 1)});
    CHECK(refusal(pload::decode_exec_mcast(ByteView(mcast).first(63))) ==
          DecodeError::size_field_mismatch);
    set_u32(mcast, 8, 64);  // a size equal to the length is what pload never sends
    CHECK(refusal(pload::decode_exec_mcast(mcast)) == DecodeError::size_field_mismatch);
    set_u32(mcast, 8, 8);
    CHECK(refusal(pload::decode_exec_mcast(mcast)) == DecodeError::below_header);
    Bytes small = encode(pload::ExecMcast{0, {}});
    CHECK(small.size() == 16);
    CHECK(get_u32(small, 8) == 16);
    CHECK(refusal(pload::decode_exec_mcast(resized(small, 17))) ==
          DecodeError::size_field_mismatch);
}
