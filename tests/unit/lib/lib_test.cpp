// libtotem's pure parts: the cs error category, Result, cmap Values, and the CPG split of a
// large message with its request headers (lib/src/cpg.cpp) against libcpg's rules.
#include <catch2/catch.hpp>

#include <numeric>
#include <system_error>

#include "cpg_wire.hpp"
#include "proto/cpg.hpp"
#include "totem/client.hpp"

using namespace totem::client;
namespace pc = totem::proto::cpg;

TEST_CASE("cs errors: the category carries cs_error_t, TRY_AGAIN is would_block") {
    const std::error_code ec = Errc::try_again;
    CHECK(ec.category() == cs_category());
    CHECK(ec.value() == 6);
    CHECK(ec.message() == "CS_ERR_TRY_AGAIN");
    CHECK(ec == std::errc::operation_would_block);
    CHECK(ec == std::errc::resource_unavailable_try_again);
    CHECK(std::error_code(Errc::library) != std::errc::operation_would_block);
    CHECK(std::error_code(Errc::timeout) == std::errc::timed_out);
    CHECK(std::error_code(Errc::access) == std::errc::permission_denied);
    CHECK(std::error_code(Errc::not_exist) == std::errc::no_such_file_or_directory);
    CHECK(std::string(cs_category().name()) == "cs");
    // CS_OK is no error; any other value is one, known or not.
    CHECK_FALSE(cs_error(1));
    CHECK(cs_error(12) == Errc::not_exist);
    CHECK(cs_error(77).value() == 77);
}

TEST_CASE("cs_strerror: corosync's texts, proto's names") {
    CHECK(std::string(cs_strerror(1)) == "success");
    CHECK(std::string(cs_strerror(0)) == "unknown error");
    CHECK(std::string(cs_strerror(29)) == "unknown error");
    CHECK(std::string(cs_strerror(31)) == "unknown error");
    // Every defined error: the CS_ERR_* name proto uses for it.
    for (int v : {2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
                  17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 30, 100}) {
        INFO(v);
        CHECK(std::string(cs_strerror(v)) ==
              std::string(totem::proto::to_string(static_cast<totem::proto::CsError>(v))));
    }
}

TEST_CASE("Result: a value or an error; or_throw throws only when asked") {
    Result<int> good = 5;
    REQUIRE(good);
    CHECK(*good == 5);
    CHECK(good.or_throw() == 5);
    Result<int> bad = Errc::busy;
    CHECK_FALSE(bad);
    CHECK(bad.error() == Errc::busy);
    CHECK(bad.value_or(7) == 7);
    CHECK_THROWS_AS(bad.or_throw(), std::system_error);
    // An "error" without an error code is still an error.
    Result<int> empty = std::error_code();
    CHECK_FALSE(empty);
    CHECK(empty.error() == Errc::library);
    Status ok;
    CHECK(ok);
    CHECK_NOTHROW(ok.or_throw());
    Status failed = Errc::not_exist;
    CHECK_FALSE(failed);
    CHECK_THROWS_AS(failed.or_throw(), std::system_error);
    CHECK(Status(Errc::ok));
}

TEST_CASE("cmap Value: typed constructors and conversions") {
    CHECK(Value::u32(4000000000u).as_uint() == 4000000000u);
    CHECK(Value::u32(7).as_int() == 7);
    CHECK(Value::i8(-5).as_int() == -5);
    CHECK_FALSE(Value::i8(-5).as_uint());
    CHECK(Value::u64(UINT64_MAX).as_uint() == UINT64_MAX);
    CHECK_FALSE(Value::u64(UINT64_MAX).as_int());  // does not fit
    CHECK(Value::flt(1.5f).as_double() == 1.5);
    CHECK(Value::dbl(-2.25).as_double() == -2.25);
    CHECK(Value::str("abc").bytes().size() == 3);  // sent without its NUL
    // A string as the daemon returns it, with its NUL: the text stops there.
    const std::uint8_t stored[] = {'h', 'i', 0, 'x'};
    CHECK(Value(ValueType::string, {stored, stored + 4}).as_string() == std::string("hi"));
    CHECK_FALSE(Value::bin(stored).as_string());
    CHECK(Value(ValueType::uint32, {1, 2}).as_uint() == std::nullopt);  // wrong length
    CHECK(std::string(type_name(ValueType::double_)) == "dbl");
    CHECK(std::string(type_name(static_cast<ValueType>(0))) == "?");
}

namespace {

using Span = std::span<const std::uint8_t>;
constexpr std::size_t kMax = Cpg::max_atomic_msgsize();

std::vector<std::uint32_t> types(const std::vector<detail::Fragment>& f) {
    std::vector<std::uint32_t> t;
    for (const auto& x : f)
        t.push_back(x.type);
    return t;
}

}  // namespace

TEST_CASE("CPG split (libcpg send_fragments): up to 1 047 552 bytes is one MCAST") {
    CHECK(kMax == 1047552);
    std::vector<std::uint8_t> a(kMax);
    const Span one[] = {a};
    CHECK(detail::plan_fragments(one, kMax).empty());
    std::vector<std::uint8_t> b(10);
    const Span two[] = {Span(a).first(kMax - 10), b};
    CHECK(detail::plan_fragments(two, kMax).empty());
}

TEST_CASE("CPG split: one buffer in max-size pieces, FIRST, CONTINUED..., LAST") {
    std::vector<std::uint8_t> a(3 * kMax + 7);
    const Span one[] = {a};
    const auto f = detail::plan_fragments(one, kMax);
    REQUIRE(f.size() == 4);
    CHECK(types(f) == std::vector<std::uint32_t>{pc::partial_first, pc::partial_continued,
                                                 pc::partial_continued, pc::partial_last});
    CHECK(f[0].offset == 0);
    CHECK(f[1].offset == kMax);
    CHECK(f[3].length == 7);
    std::size_t total = 0;
    for (const auto& x : f)
        total += x.length;
    CHECK(total == a.size());
    // Just over the limit: two pieces, the last of one byte.
    std::vector<std::uint8_t> c(kMax + 1);
    const Span cs[] = {c};
    const auto g = detail::plan_fragments(cs, kMax);
    REQUIRE(g.size() == 2);
    CHECK(g[0].length == kMax);
    CHECK(g[1].length == 1);
    CHECK(types(g) == std::vector<std::uint32_t>{pc::partial_first, pc::partial_last});
}

TEST_CASE("CPG split: a fragment never spans two buffers (libcpg's iovec walk)") {
    std::vector<std::uint8_t> a(600000), b(600000), c(10);
    const Span bufs[] = {a, b, c};
    const auto f = detail::plan_fragments(bufs, kMax);
    REQUIRE(f.size() == 3);
    CHECK(f[0].buffer == 0);
    CHECK(f[0].length == 600000);
    CHECK(f[1].buffer == 1);
    CHECK(f[1].length == 600000);
    CHECK(f[2].buffer == 2);
    CHECK(f[2].length == 10);
    CHECK(types(f) ==
          std::vector<std::uint32_t>{pc::partial_first, pc::partial_continued, pc::partial_last});
    // An empty buffer in the middle is a CONTINUED fragment of 0 bytes, as libcpg sends it.
    std::vector<std::uint8_t> empty;
    const Span with_empty[] = {a, empty, b};
    const auto g = detail::plan_fragments(with_empty, kMax);
    REQUIRE(g.size() == 3);
    CHECK(g[1].length == 0);
    CHECK(g[1].type == pc::partial_continued);
    CHECK(g[2].type == pc::partial_last);
}

TEST_CASE("CPG request headers in front of the caller's bytes equal proto's whole message") {
    std::vector<std::uint8_t> payload(1000);
    std::iota(payload.begin(), payload.end(), 0);
    {
        auto h = detail::mcast_header(2, payload.size());
        CHECK(h.size() == pc::req_mcast_fixed_size);
        h.insert(h.end(), payload.begin(), payload.end());
        CHECK(h == pc::encode(pc::ReqMcast{2, payload}));
        auto back = pc::decode_req_mcast(h);
        REQUIRE(back);
        CHECK(back->message == payload);
    }
    {
        auto h = detail::partial_header(2, 5000000, payload.size(), pc::partial_continued);
        CHECK(h.size() == pc::req_partial_mcast_fixed_size);
        h.insert(h.end(), payload.begin(), payload.end());
        CHECK(h == pc::encode(pc::ReqPartialMcast{2, 5000000, pc::partial_continued, payload}));
        auto back = pc::decode_req_partial_mcast(h);
        REQUIRE(back);
        CHECK(back->msglen == 5000000);
        CHECK(back->fragment == payload);
    }
    {
        auto h = detail::mcast_header(0, 0);  // an empty message
        CHECK(h == pc::encode(pc::ReqMcast{0, {}}));
    }
}
