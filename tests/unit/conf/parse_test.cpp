// corosync.conf reader: corosync 3.1.7's line rules (exec/coroparse.c parse_section).
#include <catch2/catch.hpp>

#include "conf/tree.hpp"
#include "conf/yaml.hpp"

using namespace totem::conf;

namespace {
Section parse_ok(const std::string& text) {
    auto r = parse_conf(text, "t.conf");
    INFO((r ? std::string("ok") : r.error().str()));
    REQUIRE(r.ok());
    return r.value();
}
std::string parse_err(const std::string& text) {
    auto r = parse_conf(text, "t.conf");
    REQUIRE_FALSE(r.ok());
    return r.error().str();
}
}  // namespace

TEST_CASE("sections, keys, comments and line numbers", "[conf][parse]") {
    Section root = parse_ok(
        "# comment\n"
        "totem {\n"
        "    version: 2\n"
        "\n"
        "    interface {\n"
        "        linknumber: 0\n"
        "    }\n"
        "}\n");
    REQUIRE(root.items.size() == 1);
    const auto& totem = root.child(root.items[0]);
    CHECK(totem.name == "totem");
    CHECK(totem.line == 2);
    CHECK(totem.end_line == 8);
    REQUIRE(totem.items.size() == 2);
    CHECK(totem.items[0].key == "version");
    CHECK(totem.items[0].value == "2");
    CHECK(totem.items[0].line == 3);
    CHECK(totem.is_section(totem.items[1]));
    CHECK(totem.child(totem.items[1]).items[0].line == 6);
}

TEST_CASE("corosync's leniencies", "[conf][parse]") {
    SECTION("values keep inner spaces and later colons; blanks around are dropped") {
        Section root = parse_ok("totem {\n\tcluster_name:   my  cluster  \n  x:a: b\n}\n");
        const auto& t = root.child(root.items[0]);
        CHECK(t.items[0].value == "my  cluster");
        CHECK(t.items[1].key == "x");
        CHECK(t.items[1].value == "a: b");
    }
    SECTION("no space after the colon, CRLF line ends, a colon before the brace") {
        Section root = parse_ok("totem: {\r\nversion:2\r\n}\r\n");
        const auto& t = root.child(root.items[0]);
        CHECK(t.name == "totem");
        CHECK(t.items[0].value == "2");
    }
    SECTION("a key without a value is an empty string") {
        Section root = parse_ok("totem {\n  cluster_name:\n}\n");
        CHECK(root.child(root.items[0]).items[0].value.empty());
    }
    SECTION("a comment only counts at the start of a line") {
        Section root = parse_ok("totem {\n  cluster_name: a # b\n}\n");
        CHECK(root.child(root.items[0]).items[0].value == "a # b");
    }
    SECTION("repeated sections stay separate, in order") {
        Section root = parse_ok("nodelist {\nnode {\nnodeid: 1\n}\nnode {\nnodeid: 2\n}\n}\n");
        const auto& nl = root.child(root.items[0]);
        REQUIRE(nl.children.size() == 2);
        CHECK(nl.children[1].items[0].value == "2");
    }
    SECTION("the last line may lack its newline") {
        Section root = parse_ok("a {\n}");
        CHECK(root.items.size() == 1);
    }
}

TEST_CASE("corosync's refusals, word for word, with the line", "[conf][parse]") {
    CHECK(parse_err("totem {\n version: 2\n") == "t.conf:2: Missing closing brace");
    CHECK(parse_err("}\n") == "t.conf:1: Unexpected closing brace");
    CHECK(parse_err("totem {\n token 3000\n}\n") ==
          "t.conf:2: Line is not opening or closing section or key value");
    CHECK(parse_err("totem { version: 2\n}\n") ==
          "t.conf:1: Extra characters after opening bracket '{'");
    CHECK(parse_err("  {\n}\n") == "t.conf:1: Missing section name before opening bracket '{'");
    CHECK(parse_err("a {\n} }\n") ==
          "t.conf:2: Extra characters before or after closing bracket '}'");
    CHECK(parse_err("a {\n x: " + std::string(600, 'y') + "\n}\n") == "t.conf:2: Line too long");
}

TEST_CASE("line length limit is corosync's 510 characters", "[conf][parse]") {
    std::string ok_line = "k: " + std::string(kConfLineMax - 3, 'v');
    REQUIRE(ok_line.size() == kConfLineMax);
    CHECK(parse_conf("a {\n" + ok_line + "\n}\n", "t").ok());
    CHECK_FALSE(parse_conf("a {\n" + ok_line + "v\n}\n", "t").ok());
}

TEST_CASE("conf and YAML give the same tree and write each other", "[conf][yaml]") {
    const std::string conf =
        "totem {\n    version: 2\n    interface {\n        linknumber: 1\n    }\n}\n\n"
        "nodelist {\n    node {\n        nodeid: 1\n    }\n    node {\n        nodeid: 2\n    "
        "}\n}\n";
    auto a = parse_conf(conf, "a.conf");
    REQUIRE(a.ok());
    auto yaml = write_yaml(a.value(), "a.conf");
    REQUIRE(yaml.ok());
    CHECK(yaml.value().find("- nodeid: 1") != std::string::npos);
    CHECK(yaml.value().find("interface:\n    - linknumber: 1") != std::string::npos);
    auto b = parse_yaml(yaml.value(), "b.yaml");
    REQUIRE(b.ok());
    auto back = write_conf(b.value(), "b.yaml");
    REQUIRE(back.ok());
    CHECK(back.value() == conf);
}

TEST_CASE("YAML scalars are taken as written", "[conf][yaml]") {
    auto r = parse_yaml("logging:\n  to_syslog: yes\n  debug: on\n  x: 007\n  empty:\n", "y.yaml");
    REQUIRE(r.ok());
    const auto& lg = r.value().child(r.value().items[0]);
    CHECK(lg.items[0].value == "yes");
    CHECK(lg.items[1].value == "on");
    CHECK(lg.items[2].value == "007");
    CHECK(lg.items[3].value.empty());
    CHECK(lg.items[2].line == 4);
}

TEST_CASE("YAML refusals carry a line", "[conf][yaml]") {
    auto r = parse_yaml("a:\n  - 1\n", "y.yaml");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().str() == "y.yaml:2: \"a\": a list may only hold sections (maps)");
    auto r2 = parse_yaml("a: [\n", "y.yaml");
    REQUIRE_FALSE(r2.ok());
    CHECK(r2.error().str().rfind("y.yaml:", 0) == 0);
}

TEST_CASE("corosync.conf cannot carry every YAML value", "[conf][yaml]") {
    auto r = parse_yaml("totem:\n  cluster_name: \"a{b\"\n", "y.yaml");
    REQUIRE(r.ok());
    auto c = write_conf(r.value(), "y.yaml");
    REQUIRE_FALSE(c.ok());
    CHECK(c.error().str() ==
          "y.yaml:2: value of \"cluster_name\" cannot be written as corosync.conf");
}
