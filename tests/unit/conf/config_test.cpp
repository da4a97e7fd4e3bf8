// Keys, types, defaults and derived values as corosync 3.1.7 makes them
// (exec/coroparse.c, exec/totemconfig.c; shared/spec/totem-wire.md §7-8).
#include <catch2/catch.hpp>

#include "conf/load.hpp"

using namespace totem::conf;

namespace {

// A host that has exactly these addresses and this name, and resolves names from a table.
HostEnv host(std::string name, std::vector<std::string> addrs,
             const std::string& hosts = "10.1.0.1 alpha alpha.example.com\n10.1.0.2 beta\n") {
    HostEnv h;
    h.hostname = std::move(name);
    for (const auto& a : addrs)
        h.local_addrs.push_back(*IpAddr::parse_numeric(a));
    h.resolve = hosts_file_resolver(hosts);
    return h;
}

totem::Result<Loaded, Diag> load(const std::string& text, const HostEnv& h,
                                 std::optional<std::uint32_t> local = std::nullopt) {
    LoadOptions o;
    o.host = h;
    o.derive.local_nodeid = local;
    return load_text(text, "t.conf", Format::Conf, o);
}

std::string nodes(int n, const std::string& extra = "") {
    std::string s = "nodelist {\n";
    for (int i = 1; i <= n; ++i)
        s += "node {\nring0_addr: 10.1.0." + std::to_string(i) + "\nnodeid: " + std::to_string(i) +
             "\n" + extra + "}\n";
    return s + "}\n";
}

const std::string kTotem = "totem {\nversion: 2\ncluster_name: c\n}\n";

std::string key(const Config& c, const std::string& k) {
    auto it = c.keys.find(k);
    if (it == c.keys.end())
        return "<none>";
    return std::string(type_name(it->second.type)) + " " + it->second.text();
}

}  // namespace

TEST_CASE("typed keys as corosync-cmapctl shows them", "[conf][cmap]") {
    auto r = load(
        "totem {\nversion: 2\ntoken: 5000\nconfig_version: 18446744073709551615\n"
        "knet_compression_level: -1\ncluster_name: c\ninterface {\nlinknumber: 0\nmcastport: 6000\n"
        "knet_link_priority: 3\n}\n}\n" +
            nodes(2) +
            "quorum {\nprovider: corosync_votequorum\ntwo_node: 1\nexpected_votes: 2\n}\n",
        host("x", {"10.1.0.1"}));
    REQUIRE(r.ok());
    const Config& c = r->config;
    CHECK(key(c, "totem.version") == "u32 2");
    CHECK(key(c, "totem.token") == "u32 5000");
    CHECK(key(c, "totem.config_version") == "u64 18446744073709551615");
    CHECK(key(c, "totem.knet_compression_level") == "i32 -1");
    CHECK(key(c, "totem.cluster_name") == "str c");
    CHECK(key(c, "totem.interface.0.mcastport") == "u16 6000");
    CHECK(key(c, "totem.interface.0.knet_link_priority") == "u8 3");
    CHECK(key(c, "nodelist.node.1.nodeid") == "u32 2");
    CHECK(key(c, "nodelist.node.1.ring0_addr") == "str 10.1.0.2");
    CHECK(key(c, "quorum.two_node") == "u8 1");
    CHECK(key(c, "quorum.expected_votes") == "u32 2");
    CHECK(key(c, "nodelist.local_node_pos") == "u32 0");
    CHECK(key(c, "totem.interface.0.bindnetaddr") == "str 10.1.0.1");
}

TEST_CASE("derived timers follow the token and the node count", "[conf][timers]") {
    // shared/spec/totem-wire.md §8 worked defaults
    struct Row {
        int nodes;
        std::uint32_t token, retransmit, hold, consensus, ping_timeout, ping_interval;
    };
    for (Row row :
         {Row{2, 3000, 714, 561, 3600, 1500, 750}, Row{3, 3650, 869, 685, 4380, 1825, 912},
          Row{5, 4950, 1178, 932, 5940, 2475, 1237}}) {
        CAPTURE(row.nodes);
        auto r = load(kTotem + nodes(row.nodes), host("x", {"10.1.0.1"}));
        REQUIRE(r.ok());
        const Totem& t = r->config.totem;
        CHECK(t.token_ms == 3000);
        CHECK(t.effective_token_ms == row.token);
        CHECK(t.token_retransmit_ms == row.retransmit);
        CHECK(t.hold_ms == row.hold);
        CHECK(t.consensus_ms == row.consensus);
        CHECK(t.links[0].knet_ping_timeout_ms == row.ping_timeout);
        CHECK(t.links[0].knet_ping_interval_ms == row.ping_interval);
        CHECK(key(r->config, "runtime.config.totem.token") == "u32 " + std::to_string(row.token));
        CHECK(key(r->config, "runtime.config.totem.interface.0.knet_ping_timeout") ==
              "u32 " + std::to_string(row.ping_timeout));
        auto srp = to_srp_config(r->config);
        CHECK(srp.token.to_ms() == row.token);
        CHECK(srp.consensus.to_ms() == row.consensus);
        CHECK(srp.net_mtu == 65536);
    }
}

TEST_CASE("zero takes the default where corosync allows no zero", "[conf][timers]") {
    auto r = load("totem {\nversion: 2\njoin: 0\nsend_join: 0\nwindow_size: 0\n}\n" + nodes(2),
                  host("x", {"10.1.0.1"}));
    REQUIRE(r.ok());
    CHECK(r->config.totem.join_ms == 50);
    CHECK(r->config.totem.window_size == 50);
    CHECK(r->config.totem.send_join_ms == 0);
}

TEST_CASE("token_coefficient 0 keeps the token", "[conf][timers]") {
    auto r =
        load("totem {\nversion: 2\ntoken_coefficient: 0\n}\n" + nodes(5), host("x", {"10.1.0.1"}));
    REQUIRE(r.ok());
    CHECK(r->config.totem.effective_token_ms == 3000);
}

TEST_CASE("udp and udpu defaults", "[conf][transport]") {
    auto r = load("totem {\nversion: 2\ntransport: udpu\n}\n" + nodes(2), host("x", {"10.1.0.2"}));
    REQUIRE(r.ok());
    CHECK(r->config.totem.transport == Transport::Udpu);
    CHECK(r->config.totem.netmtu == 1500);
    CHECK(r->config.local_nodeid == 2);
    CHECK(r->config.totem.links[0].mcastport == 5405);
}

TEST_CASE("crypto: secauth, cipher without hash, udpu extension", "[conf][crypto]") {
    const std::string key_line = "key: " + std::string(200, 'k') + "\n";
    auto r = load("totem {\nversion: 2\nsecauth: on\n" + key_line + "}\n" + nodes(2),
                  host("x", {"10.1.0.1"}));
    REQUIRE(r.ok());
    CHECK(r->config.totem.crypto_cipher == "aes256");
    CHECK(r->config.totem.crypto_hash == "sha256");
    CHECK(r->config.totem.crypto_model == "nss");
    CHECK(r->config.totem.key.size() == 201);  // corosync keeps the inline key's NUL

    auto bad =
        load("totem {\nversion: 2\ncrypto_cipher: aes128\n}\n" + nodes(2), host("x", {"10.1.0.1"}));
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().str() ==
          "t.conf:3: crypto_cipher requires crypto_hash with value other than none");

    auto shortkey =
        load("totem {\nversion: 2\nsecauth: on\nkey: abc\n}\n" + nodes(2), host("x", {"10.1.0.1"}));
    REQUIRE_FALSE(shortkey.ok());
    CHECK(shortkey.error().str() == "t.conf:4: key is too short");

    auto udpu =
        load("totem {\nversion: 2\ntransport: udpu\ncrypto_cipher: aes256\ncrypto_hash: sha256\n" +
                 key_line + "}\n" + nodes(2),
             host("x", {"10.1.0.1"}));
    REQUIRE(udpu.ok());
    REQUIRE(udpu->warnings.size() == 1);
    CHECK(udpu->warnings[0].message.find("totemd extension") != std::string::npos);
}

TEST_CASE("this node, as corosync finds it", "[conf][local]") {
    const std::string named =
        kTotem +
        "nodelist {\nnode {\nring0_addr: 10.1.0.1\nname: alpha\nnodeid: 1\n}\n"
        "node {\nring0_addr: 10.1.0.2\nname: beta\nnodeid: 2\n}\n}\n";
    SECTION("by a local address") {
        auto r = load(named, host("unrelated", {"127.0.0.1", "10.1.0.2"}));
        REQUIRE(r.ok());
        CHECK(r->config.local_nodeid == 2);
        CHECK(*r->config.local_node_pos == 1);
    }
    SECTION("by the host name, also with the domain cut off") {
        auto r = load(named, host("beta", {}));
        REQUIRE(r.ok());
        CHECK(r->config.local_nodeid == 2);
        auto r2 = load(named, host("alpha.example.com", {}));
        REQUIRE(r2.ok());
        CHECK(r2->config.local_nodeid == 1);
    }
    SECTION("by resolving a node's name to a local address") {
        std::string by_name = kTotem +
                              "nodelist {\nnode {\nring0_addr: alpha\nnodeid: 1\n}\n"
                              "node {\nring0_addr: beta\nnodeid: 2\n}\n}\n";
        auto r = load(by_name, host("other", {"10.1.0.2"}));
        REQUIRE(r.ok());
        CHECK(r->config.local_nodeid == 2);
        CHECK(key(r->config, "totem.interface.0.bindnetaddr") == "str beta");
    }
    SECTION("by override, never looking at the host") {
        auto r = load(named, host("alpha", {"10.1.0.1"}), 2);
        REQUIRE(r.ok());
        CHECK(r->config.local_nodeid == 2);
    }
    SECTION("not at all: refused") {
        auto r = load(named, host("gamma", {"10.9.9.9"}));
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().str().rfind("t.conf:5: No valid name found for local host", 0) == 0);
        auto r2 = load(named, host("gamma", {}), 7);
        REQUIRE_FALSE(r2.ok());
        CHECK(r2.error().str() == "t.conf:5: local node id 7 is not in the nodelist");
    }
}

TEST_CASE("udpu nodeids generated from the IPv4 address", "[conf][local]") {
    auto r = load(
        "totem {\nversion: 2\ntransport: udpu\n}\n"
        "nodelist {\nnode {\nring0_addr: 10.51.0.1\n}\nnode {\nring0_addr: 10.51.0.2\n}\n}\n",
        host("x", {"10.51.0.2"}));
    REQUIRE(r.ok());
    CHECK(r->config.local_nodeid == 0x0A330002u);
    CHECK(key(r->config, "nodelist.node.0.nodeid") == "u32 171114497");
    // observed on corosync 3.1.7: generated-id nodes count twice in the token formula
    CHECK(r->config.totem.effective_token_ms == 4300);
}

TEST_CASE("quorum and logging options", "[conf][quorum][logging]") {
    auto r = load(kTotem + nodes(2) +
                      "quorum {\nprovider: corosync_votequorum\ntwo_node: 1\n}\n"
                      "logging {\nto_stderr: no\ndebug: trace\nlogger_subsys {\nsubsys: QUORUM\n"
                      "debug: on\n}\n}\n",
                  host("x", {"10.1.0.1"}));
    REQUIRE(r.ok());
    const Config& c = r->config;
    CHECK(c.quorum.provider == "corosync_votequorum");
    CHECK(c.quorum.two_node);
    CHECK(c.quorum.wait_for_all);  // follows two_node
    CHECK(c.quorum.last_man_standing_window_ms == 10000);
    CHECK_FALSE(c.logging.to_stderr);
    CHECK(c.logging.to_syslog);
    CHECK(c.logging.debug == DebugLevel::Trace);
    REQUIRE(c.logging.subsys.size() == 1);
    CHECK(c.logging.subsys[0].first == "QUORUM");
    CHECK(c.logging.subsys[0].second.debug == DebugLevel::On);
    CHECK(key(c, "logging.logger_subsys.QUORUM.debug") == "str on");
    CHECK(key(c, "logging.logger_subsys.QUORUM.subsys") == "str QUORUM");
}

TEST_CASE("every logfile named is opened while the config is read, as logsys does",
          "[conf][logging]") {
    std::vector<std::string> opened;
    LoadOptions o;
    o.host = host("x", {"10.1.0.1"});
    o.derive.open_logfile =
        [&](const std::string& path) -> std::optional<std::pair<std::string, int>> {
        opened.push_back(path);
        if (path.rfind("/missing/", 0) == 0)
            return std::pair{std::string("No such file or directory"), 2};
        return std::nullopt;
    };
    // to_logfile: no does not spare the check: logsys opens the file when it reads the key.
    auto ok = load_text(kTotem + nodes(2) +
                            "logging {\nto_logfile: no\nlogfile: /var/log/a.log\n"
                            "logger_subsys {\nsubsys: KNET\nlogfile: /var/log/k.log\n}\n}\n",
                        "t.conf", Format::Conf, o);
    REQUIRE(ok.ok());
    CHECK(opened == std::vector<std::string>{"/var/log/a.log", "/var/log/k.log"});
    auto bad = load_text(kTotem + nodes(2) +
                             "logging {\nto_logfile: yes\nlogger_subsys {\nsubsys: KNET\n"
                             "logfile: /missing/k.log\n}\n}\n",
                         "t.conf", Format::Conf, o);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().str() ==
          "t.conf:19: Can't open logfile '/missing/k.log' for reason: No "
          "such file or directory (2)");
    // Without an opener (tools, tests) nothing is opened and nothing is refused.
    REQUIRE(
        load(kTotem + nodes(2) + "logging {\nlogfile: /missing/a.log\n}\n", host("x", {"10.1.0.1"}))
            .ok());
}

TEST_CASE("warnings, not refusals, where corosync runs the file", "[conf][warn]") {
    auto r = load(kTotem + nodes(3) + "quorum {\ntwo_node: 1\n}\nfoo {\nbar: 1\n}\n",
                  host("x", {"10.1.0.1"}));
    REQUIRE(r.ok());
    REQUIRE(r->warnings.size() == 2);
    CHECK(r->warnings[0].str() ==
          "t.conf:22: unknown section \"foo\" (corosync ignores it; so does totemd)");
    CHECK(r->warnings[1].str() ==
          "t.conf:20: two_node is set with 3 nodes; votequorum ignores it above two nodes");
}

TEST_CASE("refusals name the line of the key, or of the section", "[conf][refuse]") {
    auto h = host("x", {"10.1.0.1"});
    auto dup = load(kTotem +
                        "nodelist {\nnode {\nring0_addr: 10.1.0.1\nnodeid: 1\n}\n"
                        "node {\nring0_addr: 10.1.0.2\nnodeid: 1\n}\n}\n",
                    h);
    REQUIRE_FALSE(dup.ok());
    CHECK(dup.error().str() == "t.conf:12: Nodeid 1 appears twice in corosync.conf");
    auto range =
        load("totem {\nversion: 2\ninterface {\nknet_link_priority: 256\n}\n}\n" + nodes(2), h);
    REQUIRE_FALSE(range.ok());
    CHECK(range.error().str() ==
          "t.conf:4: Value of key \"totem.interface.knet_link_priority\" is expected to be integer "
          "in range (0..255), but \"256\" was given");
    auto noversion = load("totem {\ncluster_name: c\n}\n" + nodes(2), h);
    REQUIRE_FALSE(noversion.ok());
    CHECK(noversion.error().str() ==
          "t.conf:1: This totem parser can only parse version 2 configurations.");
    auto badkey = load("totem {\nversion: 2\nbad key: 1\n}\n" + nodes(2), h);
    REQUIRE_FALSE(badkey.ok());
    CHECK(badkey.error().str() ==
          "t.conf:3: Can't store key \"totem.bad key\" into icmap, returned error is "
          "CS_ERR_NAME_TOO_LONG");
}
