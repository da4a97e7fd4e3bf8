// totem-lib-probe: libtotem against a running daemon (corosync 3.1.7 or totemd), driven by
// tests/it/test_lib.py. Each subcommand checks one service and prints one JSON line per fact
// ({"check": ..., "ok": ...} or an event); the exit status is 0 only if every check held.
//
//   cmap | cfg NODEID... | quorum NODEID... | votequorum NODEID... | errors | cpg-errors
//   cpg-listen GROUP COUNT SECONDS       join, report events until COUNT messages arrived
//   cpg-send GROUP SIZE...               join, wait for the own join, send, stay a while
//   cpg-hold GROUP SECONDS               join and stay (for the tools' listings)
//   quorum-watch SECONDS                 report quorum V1 notifications
//   cpg-blast GROUP COUNT SIZE           send COUNT messages, blocking, as fast as it can
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tools/common/json.hpp"
#include "totem/client.hpp"

using namespace totem::client;
using totem::tools::Json;

namespace {

int g_failures = 0;
int g_checks = 0;

void emit(const Json& j) {
    std::printf("%s\n", j.dump().c_str());
    std::fflush(stdout);
}

void check(bool ok, const std::string& what, const std::string& detail = "") {
    ++g_checks;
    if (!ok)
        ++g_failures;
    Json j = Json::object();
    j["check"] = what;
    j["ok"] = ok;
    if (!detail.empty())
        j["detail"] = detail;
    emit(j);
}

std::string err_text(const std::error_code& ec) {
    return std::to_string(ec.value()) + " " + ec.message();
}

template <typename T>
bool check_ok(const Result<T>& r, const std::string& what) {
    check(r.ok(), what, r.ok() ? "" : err_text(r.error()));
    return r.ok();
}

// The test pattern of a message: byte i of a message of `size` bytes, sequence `seq`.
std::vector<std::uint8_t> pattern(std::size_t size, std::uint32_t seq) {
    std::vector<std::uint8_t> b(size);
    for (std::size_t i = 0; i < size; ++i)
        b[i] = static_cast<std::uint8_t>((i * 31 + size + seq * 7) & 0xff);
    return b;
}

std::uint64_t fnv1a(std::span<const std::uint8_t> d) {
    std::uint64_t h = 1469598103934665603ull;
    for (auto c : d) {
        h ^= c;
        h *= 1099511628211ull;
    }
    return h;
}

// Polls the handle's fd and dispatches until `done()` or the time is up.
template <typename H>
bool pump(H& h, std::chrono::milliseconds limit, const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            return false;
        pollfd p{h.fd(), POLLIN, 0};
        if (poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 200))) > 0) {
            auto r = h.dispatch();
            if (!r) {
                check(false, "dispatch", err_text(r.error()));
                return false;
            }
        }
    }
    return true;
}

// ---------------------------------------------------------------------------------- cmap

int cmd_cmap() {
    auto c = Cmap::connect();
    if (!check_ok(c, "cmap connect"))
        return 1;
    Cmap& cmap = *c;
    const std::string p = "libtest.";
    (void)cmap.erase(p + "u8");
    struct Case {
        std::string key;
        Value value;
    };
    const std::uint8_t bin_bytes[] = {0, 1, 0xff, 'a', '\\', 0x80};
    const std::vector<Case> cases = {
        {p + "i8", Value::i8(-5)},
        {p + "u8", Value::u8(200)},
        {p + "i16", Value::i16(-30000)},
        {p + "u16", Value::u16(60000)},
        {p + "i32", Value::i32(-2000000000)},
        {p + "u32", Value::u32(4000000000u)},
        {p + "i64", Value::i64(-9000000000000000000ll)},
        {p + "u64", Value::u64(18000000000000000005ull)},
        {p + "flt", Value::flt(1.5f)},
        {p + "dbl", Value::dbl(2.25)},
        {p + "str", Value::str("hello world")},
        {p + "bin", Value::bin(bin_bytes)},
    };
    // Tracking first, so that the sets below are notified.
    std::vector<Cmap::Notification> seen;
    auto track = cmap.track_add(
        p, Cmap::track_added | Cmap::track_modified | Cmap::track_deleted | Cmap::track_prefix,
        [&](const Cmap::Notification& n) { seen.push_back(n); });
    check_ok(track, "track_add prefix");

    for (const auto& cs : cases) {
        Status s = cmap.set(cs.key, cs.value);
        check(s.ok(), "set " + cs.key, s.ok() ? "" : err_text(s.error()));
        auto g = cmap.get(cs.key);
        if (!check_ok(g, "get " + cs.key))
            continue;
        if (cs.value.type() == ValueType::string) {
            check(g->as_string() == cs.value.as_string(), "string value " + cs.key);
            // The daemon keeps a string with its NUL.
            auto st = cmap.stat(cs.key);
            check(
                st && st->value_len == cs.value.bytes().size() + 1 && st->type == ValueType::string,
                "stat " + cs.key);
        } else {
            check(*g == cs.value, "value " + cs.key);
        }
    }
    check(cmap.get_i8(p + "i8").value_or(0) == -5, "get_i8");
    check(cmap.get_u8(p + "u8").value_or(0) == 200, "get_u8");
    check(cmap.get_i16(p + "i16").value_or(0) == -30000, "get_i16");
    check(cmap.get_u16(p + "u16").value_or(0) == 60000, "get_u16");
    check(cmap.get_i32(p + "i32").value_or(0) == -2000000000, "get_i32");
    check(cmap.get_u32(p + "u32").value_or(0) == 4000000000u, "get_u32");
    check(cmap.get_i64(p + "i64").value_or(0) == -9000000000000000000ll, "get_i64");
    check(cmap.get_u64(p + "u64").value_or(0) == 18000000000000000005ull, "get_u64");
    check(cmap.get_float(p + "flt").value_or(0) == 1.5f, "get_float");
    check(cmap.get_double(p + "dbl").value_or(0) == 2.25, "get_double");
    check(cmap.get_string(p + "str").value_or("") == "hello world", "get_string");
    auto wrong = cmap.get_u32(p + "u8");
    check(!wrong && wrong.error() == Errc::invalid_param, "typed get of another type",
          wrong ? "no error" : err_text(wrong.error()));
    auto missing = cmap.get(p + "missing");
    check(!missing && missing.error() == Errc::not_exist, "get of a missing key",
          missing ? "no error" : err_text(missing.error()));
    auto too_long = cmap.get(std::string(300, 'k'));
    check(!too_long && too_long.error() == Errc::name_too_long, "key longer than 255");

    check(cmap.inc(p + "u32").ok(), "inc");
    check(cmap.get_u32(p + "u32").value_or(0) == 4000000001u, "inc value");
    check(cmap.dec(p + "u32").ok() && cmap.dec(p + "u32").ok(), "dec twice");
    check(cmap.get_u32(p + "u32").value_or(0) == 3999999999u, "dec value");

    auto keys = cmap.keys(p);
    if (check_ok(keys, "keys prefix")) {
        std::set<std::string> want;
        for (const auto& cs : cases)
            want.insert(cs.key);
        std::set<std::string> got;
        std::vector<std::string> order;
        for (const auto& k : *keys) {
            got.insert(k.name);
            order.push_back(k.name);
        }
        check(got == want, "keys prefix = the keys set", std::to_string(got.size()));
        check(std::is_sorted(order.begin(), order.end()), "keys in name order");
    }

    // Notifications: 12 adds, then inc/dec modifications (3), in order.
    const bool all = pump(cmap, std::chrono::milliseconds(5000), [&] { return seen.size() >= 15; });
    check(all, "15 notifications", std::to_string(seen.size()));
    if (seen.size() >= 12) {
        bool adds = true;
        for (std::size_t i = 0; i < 12; ++i)
            adds = adds && seen[i].event == Cmap::track_added && seen[i].key == cases[i].key &&
                   seen[i].new_value.has_value();
        check(adds, "add notifications in order with their values");
        check(seen[1].new_value && *seen[1].new_value == Value::u8(200), "add carries the value");
    }
    if (seen.size() >= 13) {
        const auto& m = seen[12];
        check(m.event == Cmap::track_modified && m.key == p + "u32" && m.old_value &&
                  *m.old_value == Value::u32(4000000000u) && m.new_value &&
                  *m.new_value == Value::u32(4000000001u),
              "modify notification with old and new value");
    }
    seen.clear();
    check(cmap.erase(p + "str").ok(), "erase");
    pump(cmap, std::chrono::milliseconds(3000), [&] { return !seen.empty(); });
    check(seen.size() == 1 && seen[0].event == Cmap::track_deleted && seen[0].old_value &&
              seen[0].old_value->as_string() == std::string("hello world"),
          "delete notification with the old value");
    if (track)
        check(cmap.track_delete(*track).ok(), "track_delete");
    seen.clear();
    (void)cmap.set(p + "after", Value::u8(1));
    pump(cmap, std::chrono::milliseconds(300), [] { return false; });
    check(seen.empty(), "no notification after track_delete");
    auto e = cmap.erase(p + "missing");
    check(!e && e.error() == Errc::not_exist, "erase of a missing key");
    for (const auto& cs : cases)
        (void)cmap.erase(cs.key);
    (void)cmap.erase(p + "after");
    auto rest = cmap.keys(p);
    check(rest && rest->empty(), "all test keys erased");

    Cmap::Options so;
    so.map = Cmap::Map::stats;
    auto stats = Cmap::connect(so);
    if (check_ok(stats, "stats map connect")) {
        auto sk = stats->keys("stats.ipcs.global.");
        check(sk && sk->size() == 2, "stats.ipcs.global.* in the stats map");
        auto active = stats->get_u64("stats.ipcs.global.active");
        check(active && *active >= 1, "stats.ipcs.global.active counts our connections");
    }
    return g_failures ? 1 : 0;
}

// ----------------------------------------------------------------------------------- cfg

int cmd_cfg(std::uint32_t me, const std::vector<std::uint32_t>& nodes) {
    auto c = Cfg::connect();
    if (!check_ok(c, "cfg connect"))
        return 1;
    auto id = c->local_nodeid();
    check(id && *id == me, "local_nodeid", id ? std::to_string(*id) : err_text(id.error()));
    for (auto n : nodes) {
        auto st = c->node_status(n);
        if (!check_ok(st, "node_status " + std::to_string(n)))
            continue;
        check(st->nodeid == n && st->reachable, "node " + std::to_string(n) + " reachable");
        check(st->links[0].enabled, "node " + std::to_string(n) + " link 0 enabled");
        check(n == me || st->links[0].connected, "node " + std::to_string(n) + " link 0 connected");
        auto addrs = c->node_addrs(n);
        if (check_ok(addrs, "node_addrs " + std::to_string(n))) {
            const std::string want = "10.201.0." + std::to_string(n);
            check(!addrs->empty() && (*addrs)[0].str() == want, "node_addrs value",
                  addrs->empty() ? "none" : (*addrs)[0].str());
        }
    }
    auto bad = c->node_addrs(999);
    check(!bad, "node_addrs of an unknown node fails");
    auto rs = c->ring_status();
    check(rs.ok(), "ring_status", rs ? std::to_string(rs->size()) : err_text(rs.error()));
    check(c->reopen_log_files().ok(), "reopen_log_files");
    check(c->reload_config().ok(), "reload_config");
    auto k = c->kill_node(me, std::string(300, 'x'));
    check(!k && k.error() == Errc::name_too_long, "kill_node refuses a 300-byte reason");
    return g_failures ? 1 : 0;
}

// ----------------------------------------------------------------------------------- cpg

Json address_list(const std::vector<Cpg::Address>& l) {
    Json a = Json::array();
    for (const auto& x : l) {
        Json j = Json::object();
        j["nodeid"] = x.nodeid;
        j["pid"] = x.pid;
        j["reason"] = static_cast<unsigned>(x.reason);
        a.push_back(j);
    }
    return a;
}

void report_cpg_events(Cpg& cpg, long& delivered) {
    cpg.on_deliver([&](const Cpg::Message& m) {
        ++delivered;
        Json j = Json::object();
        j["event"] = "deliver";
        j["group"] = std::string(m.group);
        j["nodeid"] = m.nodeid;
        j["pid"] = m.pid;
        j["size"] = static_cast<unsigned long>(m.data.size());
        j["fnv"] = std::to_string(fnv1a(m.data));
        emit(j);
    });
    cpg.on_confchg([](const Cpg::ConfChg& c) {
        Json j = Json::object();
        j["event"] = "confchg";
        j["group"] = c.group;
        j["members"] = address_list(c.members);
        j["joined"] = address_list(c.joined);
        j["left"] = address_list(c.left);
        emit(j);
    });
    cpg.on_totem_confchg([](const Cpg::TotemConfChg& t) {
        Json j = Json::object();
        j["event"] = "totem_confchg";
        j["ring_nodeid"] = t.ring_id.nodeid;
        j["ring_seq"] = static_cast<unsigned long long>(t.ring_id.seq);
        Json m = Json::array();
        for (auto id : t.members)
            m.push_back(id);
        j["members"] = m;
        emit(j);
    });
}

int cmd_cpg_listen(const std::string& group, long count, long seconds) {
    Cpg::Options o;
    o.deliver_initial_totem_conf = true;
    auto c = Cpg::connect(o);
    if (!check_ok(c, "cpg connect"))
        return 1;
    long delivered = 0;
    report_cpg_events(*c, delivered);
    const Status js = c->join(group);
    check(js.ok(), "join", js ? "" : err_text(js.error()));
    if (!js)
        return 1;
    Json ready = Json::object();
    ready["event"] = "ready";
    ready["pid"] = static_cast<unsigned>(getpid());
    emit(ready);
    const bool got = pump(*c, std::chrono::seconds(seconds), [&] { return delivered >= count; });
    check(got, "received " + std::to_string(count) + " messages", std::to_string(delivered));
    return g_failures ? 1 : 0;
}

int cmd_cpg_send(const std::string& group, const std::vector<std::size_t>& sizes) {
    auto c = Cpg::connect();
    if (!check_ok(c, "cpg connect"))
        return 1;
    bool joined = false;
    long delivered = 0;
    report_cpg_events(*c, delivered);
    c->on_confchg([&](const Cpg::ConfChg& cc) {
        for (const auto& j : cc.joined)
            if (j.pid == static_cast<std::uint32_t>(getpid()))
                joined = true;
    });
    const Status js = c->join(group);
    check(js.ok(), "join", js ? "" : err_text(js.error()));
    check(pump(*c, std::chrono::seconds(10), [&] { return joined; }), "own join seen");
    auto me = c->local_nodeid();
    check_ok(me, "local_nodeid");
    auto members = c->membership(group);
    check(members && !members->empty(), "membership",
          members ? std::to_string(members->size()) : err_text(members.error()));
    std::uint32_t seq = 0;
    for (auto size : sizes) {
        const auto data = pattern(size, seq);
        const auto t0 = std::chrono::steady_clock::now();
        const Status s = c->mcast(data);
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - t0)
                            .count();
        Json j = Json::object();
        j["event"] = "sent";
        j["size"] = static_cast<unsigned long>(size);
        j["fnv"] = std::to_string(fnv1a(data));
        j["ms"] = static_cast<long long>(ms);
        j["ok"] = s.ok();
        if (!s)
            j["error"] = err_text(s.error());
        emit(j);
        if (!s)
            ++g_failures;
        ++seq;
    }
    // Its own messages come back too (agreed order, the sender included).
    check(pump(*c, std::chrono::seconds(20),
               [&] { return delivered >= static_cast<long>(sizes.size()); }),
          "own messages delivered back", std::to_string(delivered));
    return g_failures ? 1 : 0;
}

int cmd_cpg_hold(const std::string& group, long seconds) {
    auto c = Cpg::connect();
    if (!check_ok(c, "cpg connect"))
        return 1;
    if (Status s = c->join(group); !s) {
        check(false, "join", err_text(s.error()));
        return 1;
    }
    Json ready = Json::object();
    ready["event"] = "ready";
    ready["pid"] = static_cast<unsigned>(getpid());
    emit(ready);
    pump(*c, std::chrono::seconds(seconds), [] { return false; });
    return 0;
}

int cmd_cpg_blast(const std::string& group, long count, std::size_t size) {
    auto c = Cpg::connect();
    if (!check_ok(c, "cpg connect"))
        return 1;
    long delivered = 0;
    c->on_deliver([&](const Cpg::Message&) { ++delivered; });
    bool joined = false;
    c->on_confchg([&](const Cpg::ConfChg& cc) {
        for (const auto& j : cc.joined)
            if (j.pid == static_cast<std::uint32_t>(getpid()))
                joined = true;
    });
    check(c->join(group).ok(), "join");
    check(pump(*c, std::chrono::seconds(10), [&] { return joined; }), "own join seen");
    const auto data = pattern(size, 0);
    const auto t0 = std::chrono::steady_clock::now();
    long sent = 0;
    for (long i = 0; i < count; ++i) {
        const Status s = c->mcast(data);
        if (!s) {
            check(false, "blocking mcast " + std::to_string(i), err_text(s.error()));
            break;
        }
        ++sent;
        (void)c->dispatch();  // keep our own event queue drained
    }
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    check(pump(*c, std::chrono::seconds(30), [&] { return delivered >= sent; }),
          "every blocking send delivered back",
          std::to_string(delivered) + "/" + std::to_string(sent));
    Json j = Json::object();
    j["event"] = "blast";
    j["sent"] = sent;
    j["delivered"] = delivered;
    j["ms"] = static_cast<long long>(ms);
    emit(j);
    return g_failures ? 1 : 0;
}

// -------------------------------------------------------------------------------- quorum

int cmd_quorum(const std::vector<std::uint32_t>& nodes) {
    for (auto model : {Quorum::Model::v0, Quorum::Model::v1}) {
        const std::string m = model == Quorum::Model::v0 ? "v0 " : "v1 ";
        Quorum::Options o;
        o.model = model;
        auto q = Quorum::connect(o);
        if (!check_ok(q, m + "connect"))
            return 1;
        check(q->quorum_type() == 1, m + "quorum type QUORUM_SET");
        auto qq = q->quorate();
        check(qq && *qq, m + "quorate");
        std::optional<Quorum::Notification> n;
        std::optional<Quorum::NodelistNotification> nl;
        q->on_notify([&](const Quorum::Notification& x) { n = x; });
        q->on_nodelist([&](const Quorum::NodelistNotification& x) { nl = x; });
        check(q->track_start(track_current).ok(), m + "track_start current");
        pump(*q, std::chrono::seconds(5),
             [&] { return n.has_value() && (model == Quorum::Model::v0 || nl.has_value()); });
        check(n.has_value() && n->quorate && n->members == nodes, m + "notification members");
        check(n && n->ring_id.seq > 0, m + "ring seq");
        if (model == Quorum::Model::v1) {
            check(n && n->ring_id.nodeid != 0, m + "ring id representative");
            check(nl.has_value() && nl->members == nodes && nl->ring_id == n->ring_id,
                  m + "nodelist notification");
        } else {
            check(n && n->ring_id.nodeid == 0, m + "V0 carries the sequence only");
        }
        check(q->track_stop().ok(), m + "track_stop");
    }
    return g_failures ? 1 : 0;
}

int cmd_quorum_watch(long seconds) {
    auto q = Quorum::connect();
    if (!check_ok(q, "quorum connect"))
        return 1;
    q->on_notify([](const Quorum::Notification& n) {
        Json j = Json::object();
        j["event"] = "quorum";
        j["quorate"] = n.quorate;
        j["ring_nodeid"] = n.ring_id.nodeid;
        j["ring_seq"] = static_cast<unsigned long long>(n.ring_id.seq);
        Json m = Json::array();
        for (auto id : n.members)
            m.push_back(id);
        j["members"] = m;
        emit(j);
    });
    check(q->track_start(track_current | track_changes).ok(), "track_start");
    pump(*q, std::chrono::seconds(seconds), [] { return false; });
    return g_failures ? 1 : 0;
}

// ---------------------------------------------------------------------------- votequorum

int cmd_votequorum(const std::vector<std::uint32_t>& nodes) {
    auto v = Votequorum::connect();
    if (!check_ok(v, "votequorum connect"))
        return 1;
    const auto n = static_cast<std::uint32_t>(nodes.size());
    auto me = v->info(0);
    if (check_ok(me, "info(0)")) {
        check(me->node_votes == 1 && me->node_expected_votes == n && me->total_votes == n &&
                  me->quorum == n / 2 + 1 && (me->flags & Votequorum::info_quorate),
              "this node's votes, expected, total, quorum, quorate");
    }
    for (auto id : nodes) {
        auto i = v->info(id);
        check(i && i->node_id == id && i->node_state == Votequorum::node_member,
              "info " + std::to_string(id));
    }
    auto none = v->info(999);
    check(!none && none.error() == Errc::not_exist, "info of an unknown node",
          none ? "ok" : err_text(none.error()));
    std::optional<Votequorum::QuorumNotification> qn;
    std::optional<Votequorum::NodelistNotification> nl;
    std::optional<Votequorum::ExpectedVotesNotification> ev;
    v->on_quorum([&](const Votequorum::QuorumNotification& x) { qn = x; });
    v->on_nodelist([&](const Votequorum::NodelistNotification& x) { nl = x; });
    v->on_expected_votes([&](const Votequorum::ExpectedVotesNotification& x) { ev = x; });
    check(v->track_start(42, track_current | track_changes).ok(), "track_start");
    pump(*v, std::chrono::seconds(5), [&] { return qn && nl; });
    check(qn && qn->context == 42 && qn->quorate && qn->nodes.size() == n, "quorum notification");
    check(nl && nl->context == 42 && nl->nodes == nodes && nl->ring_id.nodeid != 0,
          "nodelist notification");
    // Setting the expected votes to what they are: accepted, and announced.
    check(v->set_expected(n).ok(), "set_expected (same value)");
    pump(*v, std::chrono::seconds(5), [&] { return ev.has_value(); });
    check(ev && ev->expected_votes == n && ev->context == 42, "expected votes notification");
    check(v->set_votes(nodes[0], 1).ok(), "set_votes (same value)");
    auto bad = v->qdevice_register("");
    check(!bad && bad.error() == Errc::invalid_param, "qdevice name must not be empty");
    check(v->track_stop().ok(), "track_stop");
    return g_failures ? 1 : 0;
}

// -------------------------------------------------------------------------------- errors

int cmd_errors() {
    ConnectOptions o;
    o.ipc_name = "totem-no-such-service";
    auto c = Cfg::connect(o);
    check(!c && c.error() == Errc::library, "connect to a missing service: CS_ERR_LIBRARY",
          c ? "ok" : err_text(c.error()));
    check(!c && c.error() != std::errc::operation_would_block, "CS_ERR_LIBRARY is not would_block");
    return g_failures ? 1 : 0;
}

int cmd_cpg_errors() {
    auto cpg = Cpg::connect();
    if (!check_ok(cpg, "cpg connect"))
        return 1;
    auto j = cpg->join(std::string(129, 'g'));
    check(!j && j.error() == Errc::name_too_long, "group name of 129 bytes");
    auto it = cpg->iterate(Cpg::Iteration::one_group);
    check(!it && it.error() == Errc::invalid_param, "one_group without a group");
    auto mine = cpg->iterate(Cpg::Iteration::one_group, "no-such-group");
    check(mine && mine->empty(), "one_group of a group nobody joined: empty");
    auto mc = cpg->mcast(std::string_view("x"));
    // Not joined: the daemon drops an MCAST (it has no reply), so the send itself succeeds.
    check(mc.ok(), "mcast before join is sent (the daemon drops it)");
    auto big = cpg->mcast(std::vector<std::uint8_t>(2000000, 1));
    // A large one goes as PARTIAL_MCAST, which is answered: CS_ERR_NOT_EXIST when not joined.
    check(!big && big.error() == Errc::not_exist, "partial mcast before join: CS_ERR_NOT_EXIST",
          big ? "ok" : err_text(big.error()));
    check(cpg->join("libtest-errors").ok(), "join");
    auto twice = cpg->join("libtest-other");
    check(!twice && twice.error() == Errc::exist, "a second join on one handle: CS_ERR_EXIST",
          twice ? "ok" : err_text(twice.error()));
    check(cpg->finalize().ok(), "finalize");
    auto again = cpg->finalize();
    check(!again && again.error() == Errc::bad_handle, "finalize twice");
    auto after = cpg->join("g");
    check(!after && after.error() == Errc::bad_handle, "join after finalize");
    check(cpg->fd() == -1, "no fd after finalize");
    return g_failures ? 1 : 0;
}

std::vector<std::uint32_t> ids(char** b, char** e) {
    std::vector<std::uint32_t> out;
    for (; b != e; ++b)
        out.push_back(static_cast<std::uint32_t>(std::strtoul(*b, nullptr, 10)));
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: totem-lib-probe COMMAND ... (see the source)\n");
        return 2;
    }
    const std::string cmd = argv[1];
    int rc = 2;
    if (cmd == "cmap")
        rc = cmd_cmap();
    else if (cmd == "cfg" && argc >= 3)
        rc = cmd_cfg(std::strtoul(argv[2], nullptr, 10), ids(argv + 3, argv + argc));
    else if (cmd == "quorum")
        rc = cmd_quorum(ids(argv + 2, argv + argc));
    else if (cmd == "quorum-watch" && argc == 3)
        rc = cmd_quorum_watch(std::strtol(argv[2], nullptr, 10));
    else if (cmd == "votequorum")
        rc = cmd_votequorum(ids(argv + 2, argv + argc));
    else if (cmd == "errors")
        rc = cmd_errors();
    else if (cmd == "cpg-errors")
        rc = cmd_cpg_errors();
    else if (cmd == "cpg-listen" && argc == 5)
        rc = cmd_cpg_listen(argv[2], std::strtol(argv[3], nullptr, 10),
                            std::strtol(argv[4], nullptr, 10));
    else if (cmd == "cpg-send" && argc >= 3) {
        std::vector<std::size_t> sizes;
        for (int i = 3; i < argc; ++i)
            sizes.push_back(std::strtoul(argv[i], nullptr, 10));
        rc = cmd_cpg_send(argv[2], sizes);
    } else if (cmd == "cpg-hold" && argc == 4)
        rc = cmd_cpg_hold(argv[2], std::strtol(argv[3], nullptr, 10));
    else if (cmd == "cpg-blast" && argc == 5)
        rc = cmd_cpg_blast(argv[2], std::strtol(argv[3], nullptr, 10),
                           std::strtoul(argv[4], nullptr, 10));
    if (rc == 2)
        std::fprintf(stderr, "totem-lib-probe: bad arguments\n");
    Json summary = Json::object();
    summary["summary"] = cmd;
    summary["checks"] = g_checks;
    summary["failures"] = g_failures;
    emit(summary);
    return rc;
}
