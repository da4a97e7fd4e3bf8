// The tools' shared code: the JSON writer, corosync's util_strtonum, and taking --json out of
// argv before getopt.
#include <catch2/catch.hpp>

#include "tools/common/json.hpp"
#include "tools/common/util.hpp"

using totem::tools::Json;
using totem::tools::json_quote;

TEST_CASE("JSON: objects keep their order; numbers, booleans, null") {
    Json d = Json::object();
    d["b"] = 1;
    d["a"] = true;
    d["n"] = nullptr;
    d["u"] = 18446744073709551615ull;
    d["i"] = -5;
    d["x"] = 1.5;
    d["arr"] = Json::array();
    d["arr"].push_back("s");
    d["arr"].push_back(Json::object());
    d["b"] = 2;  // replaced in place
    CHECK(d.dump() ==
          R"({"b":2,"a":true,"n":null,"u":18446744073709551615,"i":-5,"x":1.5,"arr":["s",{}]})");
    CHECK(Json(1.0 / 0.0).dump() == "null");
}

TEST_CASE("JSON strings: escapes, UTF-8 kept, other bytes as Latin-1") {
    CHECK(json_quote("a\"b\\c") == R"("a\"b\\c")");
    CHECK(json_quote("\n\t\r\x01\x7f") == R"("\n\t\r\u0001\u007f")");
    CHECK(json_quote("caf\xc3\xa9") == "\"caf\xc3\xa9\"");                // é, valid UTF-8
    CHECK(json_quote("\xe2\x82\xac") == "\"\xe2\x82\xac\"");              // €
    CHECK(json_quote("x\xff") == "\"x\xc3\xbf\"");                        // 0xff: ÿ
    CHECK(json_quote("\xc3") == "\"\xc3\x83\"");                          // a cut sequence
    CHECK(json_quote("\xed\xa0\x80") == "\"\xc3\xad\xc2\xa0\xc2\x80\"");  // a surrogate
    CHECK(json_quote(std::string("a\0b", 3)) == R"("a\u0000b")");
}

TEST_CASE("util_strtonum as corosync's tools/util.c") {
    long long v = 0;
    CHECK(totem::tools::util_strtonum("42", 1, 100, &v) == 0);
    CHECK(v == 42);
    CHECK(totem::tools::util_strtonum("0", 1, 100, &v) == -1);
    CHECK(totem::tools::util_strtonum("101", 1, 100, &v) == -1);
    CHECK(totem::tools::util_strtonum("4x", 1, 100, &v) == -1);
    CHECK(totem::tools::util_strtonum("", 1, 100, &v) == -1);
    CHECK(totem::tools::util_strtonum("99999999999999999999", 1, 100, &v) == -1);
    CHECK(totem::tools::util_strtonum(" 7", 1, 100, &v) == 0);  // strtoll skips blanks
}

TEST_CASE("--json is taken out of argv before a --, not after") {
    char a0[] = "tool", a1[] = "-s", a2[] = "--json", a3[] = "x", a4[] = "--", a5[] = "--json";
    char* argv_in[] = {a0, a1, a2, a3, a4, a5, nullptr};
    int argc = 6;
    char** argv = argv_in;
    std::vector<char*> keep;
    CHECK(totem::tools::take_flag(argc, argv, keep, "--json"));
    REQUIRE(argc == 5);
    CHECK(std::string(argv[1]) == "-s");
    CHECK(std::string(argv[2]) == "x");
    CHECK(std::string(argv[3]) == "--");
    CHECK(std::string(argv[4]) == "--json");
    CHECK(argv[5] == nullptr);
    std::vector<char*> keep2;
    CHECK_FALSE(totem::tools::take_flag(argc, argv, keep2, "--help"));
}

TEST_CASE("The JSON envelope names the tool and the schema version") {
    CHECK(totem::tools::json_doc("totem-cfgtool").dump() == R"({"schema":"totem-cfgtool/1"})");
    CHECK(totem::tools::json_error(6).dump() == R"({"code":6,"name":"CS_ERR_TRY_AGAIN"})");
}
