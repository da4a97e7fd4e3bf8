// Addresses and name resolution behind the HostEnv seam (conf/host.hpp).
#include <catch2/catch.hpp>

#include <arpa/inet.h>

#include "conf/load.hpp"

using namespace totem::conf;

TEST_CASE("numeric addresses", "[conf][host]") {
    auto v4 = IpAddr::parse_numeric("10.1.2.3");
    REQUIRE(v4);
    CHECK(v4->family == AF_INET);
    CHECK(v4->str() == "10.1.2.3");
    auto v6 = IpAddr::parse_numeric("fd00:60::1");
    REQUIRE(v6);
    CHECK(v6->family == AF_INET6);
    CHECK(v6->str() == "fd00:60::1");
    CHECK_FALSE(IpAddr::parse_numeric("10.60.0.300"));
    CHECK_FALSE(IpAddr::parse_numeric("alpha"));
    CHECK(*IpAddr::parse_numeric("fd00:60:0::1") == *v6);
}

TEST_CASE("a hosts file resolver and the family preference", "[conf][host]") {
    HostEnv h;
    h.resolve =
        hosts_file_resolver("# comment\n10.0.0.1 dual\nfd00::1 dual\n10.0.0.2 four # tail\n");
    CHECK(resolve_address(h, "dual", IpVersion::V6_4)->str() == "fd00::1");
    CHECK(resolve_address(h, "dual", IpVersion::V4_6)->str() == "10.0.0.1");
    CHECK(resolve_address(h, "dual", IpVersion::V4)->str() == "10.0.0.1");
    CHECK(resolve_address(h, "four", IpVersion::V6_4)->str() == "10.0.0.2");
    CHECK_FALSE(resolve_address(h, "four", IpVersion::V6));
    CHECK_FALSE(resolve_address(h, "tail", IpVersion::V6_4));
    CHECK_FALSE(resolve_address(h, "fd00::9", IpVersion::V4));
}

TEST_CASE("an IPv6 node is found through its resolved address", "[conf][host][local]") {
    // corosync's numeric match only works for IPv4; IPv6 nodes are found in its last step.
    HostEnv h;
    h.hostname = "elsewhere";
    h.local_addrs.push_back(*IpAddr::parse_numeric("fd00:60::2"));
    h.resolve = hosts_file_resolver("");
    LoadOptions o;
    o.host = h;
    auto r = load_text(
        "totem {\nversion: 2\n}\nnodelist {\nnode {\nring0_addr: fd00:60::1\nnodeid: 1\n}\n"
        "node {\nring0_addr: fd00:60::2\nnodeid: 2\n}\n}\n",
        "v6.conf", Format::Conf, o);
    REQUIRE(r.ok());
    CHECK(r->config.local_nodeid == 2);
    CHECK(r->config.nodes[1].ring_addr[0]->str() == "fd00:60::2");
}
