// Golden vectors from Debian's corosync 3.1.7 and its unmodified client libraries and tools
// (tests/vectors/capture-services.py): every captured IPC and exec message decodes; encoding
// the result gives the captured bytes at every field byte (padding is what the real libraries
// left in their buffers: the bytes where encoding with PadFill 0 and 0xFF differ are not
// compared); and the fields hold what the capture's scenario put there (names, node ids,
// payloads, error codes), checked exchange by exchange. Pids, handles, connection pointers and
// ring sequence numbers differ between captures and are checked only for consistency.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <type_traits>

#include "tests/unit/proto/catalogue.hpp"
#include "tests/unit/proto/samples.hpp"
#include "tests/unit/proto/vectors.hpp"

using namespace totem;
using namespace totem::proto;
using totem::test::AnyMessage;
using totem::test::bytes_of;
using totem::test::VectorFile;

namespace {

const std::string vectors_dir = TOTEM_VECTORS_DIR;

template <typename T, typename V>
struct in_variant : std::false_type {};
template <typename T, typename... A>
struct in_variant<T, std::variant<A...>> : std::bool_constant<(std::is_same_v<T, A> || ...)> {};

const VectorFile& file(const std::string& rel) {
    static std::map<std::string, VectorFile> cache;
    auto it = cache.find(rel);
    if (it == cache.end())
        it = cache.emplace(rel, test::load_vector_file(vectors_dir + "/" + rel + ".txt")).first;
    return it->second;
}

// Every message of type T in the file, in order, with its line's context.
template <typename T>
std::vector<std::pair<T, const test::VectorMessage*>> with_context(const VectorFile& f) {
    std::vector<std::pair<T, const test::VectorMessage*>> out;
    for (const auto& m : f.messages) {
        auto r = test::decode_any(m.dir, m.service, m.bytes);
        if (!r)
            continue;
        std::visit(
            [&](const auto& inner) {
                using V = std::decay_t<decltype(inner)>;
                if constexpr (in_variant<T, V>::value) {
                    if (const T* p = std::get_if<T>(&inner))
                        out.emplace_back(*p, &m);
                }
            },
            *r);
    }
    return out;
}

template <typename T>
std::vector<T> all_of(const VectorFile& f) {
    std::vector<T> out;
    for (auto& [m, ctx] : with_context<T>(f))
        out.push_back(m);
    return out;
}

template <typename T>
T only(const VectorFile& f) {
    auto v = all_of<T>(f);
    INFO(f.path);
    REQUIRE(v.size() == 1);
    return v[0];
}

std::string str0(std::string s) {
    return s + std::string(1, '\0');
}

MembRingId ring_of(const test::VectorMessage& m) {
    const std::string& r = m.context.at("ring");
    const auto dot = r.find('.');
    return {static_cast<std::uint32_t>(std::stoul(r.substr(0, dot), nullptr, 16)),
            std::stoull(r.substr(dot + 1), nullptr, 16)};
}

std::uint32_t sender_of(const test::VectorMessage& m) {
    return static_cast<std::uint32_t>(std::stoul(m.context.at("sender")));
}

}  // namespace

TEST_CASE("every captured message decodes and re-encodes to its field bytes", "[proto][vectors]") {
    std::map<std::string, int> per_kind;
    int messages = 0;
    int identical = 0;
    for (const char* sub : {"ipc", "exec"}) {
        for (const VectorFile& f : test::load_vector_dir(vectors_dir + "/" + sub)) {
            for (const auto& m : f.messages) {
                INFO(f.path << ":" << m.line << " (" << m.dir << " " << m.service << ", "
                            << m.bytes.size() << " bytes)");
                auto r = test::decode_any(m.dir, m.service, m.bytes);
                if (!r.ok())
                    FAIL("refused: " << to_string(r.error()));
                const Bytes zero = test::encode_any(*r);
                const Bytes ones = test::encode_any(*r, PadFill{0xff});
                REQUIRE(zero.size() == m.bytes.size());
                REQUIRE(ones.size() == m.bytes.size());
                // pload START: corosync never sets its size field (pload.hpp).
                const bool size_unset = m.service == "pload" && peek_exec(m.bytes)->fn == 0;
                std::size_t first_diff = m.bytes.size();
                for (std::size_t i = 0; i < m.bytes.size(); ++i) {
                    const bool field = zero[i] == ones[i];
                    if (size_unset && i >= 8 && i < 12)
                        continue;
                    if (field && zero[i] != m.bytes[i]) {
                        first_diff = i;
                        break;
                    }
                }
                INFO("first differing field byte at " << first_diff);
                CHECK(first_diff == m.bytes.size());
                identical += zero == m.bytes;
                ++messages;
                ++per_kind[m.service + "." + m.dir];
            }
        }
    }
    // The capture covers every service and direction that has messages.
    for (const char* kind :
         {"cmap.req",       "cmap.res",       "cmap.ev",       "cmap.a",       "cfg.req",
          "cfg.res",        "cfg.ev",         "cfg.a",         "cpg.req",      "cpg.res",
          "cpg.ev",         "cpg.a",          "quorum.req",    "quorum.res",   "quorum.ev",
          "votequorum.req", "votequorum.res", "votequorum.ev", "votequorum.a", "pload.a",
          "sync.sync"}) {
        INFO(kind);
        CHECK(per_kind[kind] > 0);
    }
    CHECK(messages > 600);
    // Most messages are byte-identical; the rest differ only in padding the libraries and
    // corosync leave uninitialised.
    CHECK(identical > messages / 2);
}

// ---------------------------------------------------------------------------------- cmap IPC

TEST_CASE("vectors: corosync-cmapctl get", "[proto][vectors]") {
    const auto& s = file("ipc/cmap/cmapctl-get-string");
    // cmap_initialize_map: SET_CURRENT_MAP to the default map first.
    CHECK(all_of<cmap::ReqSetCurrentMap>(s).at(0).map == cmap::map_default);
    for (const auto& g : all_of<cmap::ReqGet>(s))
        CHECK(g.key_name == "totem.cluster_name");
    const auto res = all_of<cmap::ResGet>(s);
    REQUIRE(res.size() >= 2);
    // First the length (a request for 0 bytes), then the value of that length.
    CHECK(res.front().value.empty());
    CHECK(res.front().value_len == 9);
    CHECK(res.back().value == bytes_of(str0("protocap")));
    CHECK(res.back().type == static_cast<std::uint8_t>(cmap::ValueType::string));
    CHECK(res.back().buffer_len == 9);

    const auto u32 = all_of<cmap::ResGet>(file("ipc/cmap/cmapctl-get-u32"));
    CHECK(u32.back().value == Bytes{1, 0, 0, 0});  // runtime.votequorum.this_node_id on node 1
    CHECK(u32.back().buffer_len == 16);            // the typed getters ask with 16 bytes

    CHECK(only<cmap::ResGet>(file("ipc/cmap/cmapctl-get-missing")).error == CsError::err_not_exist);
}

TEST_CASE("vectors: corosync-cmapctl set of every type", "[proto][vectors]") {
    const std::map<std::string, std::pair<cmap::ValueType, Bytes>> want = {
        {"i8", {cmap::ValueType::int8, {0xfb}}},
        {"u8", {cmap::ValueType::uint8, {200}}},
        {"i16", {cmap::ValueType::int16, {0xd0, 0x8a}}},
        {"u16", {cmap::ValueType::uint16, {0x60, 0xea}}},
        {"i32", {cmap::ValueType::int32, {0x00, 0x6c, 0xca, 0x88}}},
        {"u32", {cmap::ValueType::uint32, {0x00, 0x28, 0x6b, 0xee}}},
        {"i64", {cmap::ValueType::int64, {0x00, 0x00, 0x7c, 0x1d, 0xaf, 0x93, 0x19, 0x83}}},
        {"u64", {cmap::ValueType::uint64, {0x00, 0x00, 0x08, 0xc5, 0xa1, 0xd8, 0xcc, 0xf9}}},
        {"flt", {cmap::ValueType::float_, {0x00, 0x00, 0xc0, 0x3f}}},
        {"dbl", {cmap::ValueType::double_, {0, 0, 0, 0, 0, 0, 0x02, 0xc0}}},
        {"str", {cmap::ValueType::string, bytes_of("hello world")}},  // strlen, no NUL
        {"bin", {cmap::ValueType::binary, {0x01, 0x02, 0x00, 0xab, 0xcd, 0xef}}},
    };
    for (const auto& [t, tv] : want) {
        INFO(t);
        const auto& f = file("ipc/cmap/cmapctl-set-" + t);
        const auto set = only<cmap::ReqSet>(f);
        CHECK(set.key_name == "proto.test." + t);
        CHECK(set.type == static_cast<std::uint8_t>(tv.first));
        CHECK(set.value == tv.second);
        CHECK(only<cmap::ResSet>(f).error == CsError::ok);
    }
    CHECK(only<cmap::ResSet>(file("ipc/cmap/cmapctl-set-ro")).error == CsError::err_access);
    const auto cv = only<cmap::ReqSet>(file("ipc/cmap/cmapctl-config-version"));
    CHECK(cv.key_name == "totem.config_version");
    CHECK(cv.value == Bytes{1, 0, 0, 0, 0, 0, 0, 0});
}

TEST_CASE("vectors: corosync-cmapctl delete, dump, stats", "[proto][vectors]") {
    CHECK(only<cmap::ReqDelete>(file("ipc/cmap/cmapctl-delete")).key_name == "proto.test.i8");
    CHECK(only<cmap::ResDelete>(file("ipc/cmap/cmapctl-delete")).error == CsError::ok);
    CHECK(only<cmap::ResDelete>(file("ipc/cmap/cmapctl-delete-missing")).error ==
          CsError::err_not_exist);
    // -D: an iteration over the prefix, then a DELETE of each key it returned.
    const auto& dp = file("ipc/cmap/cmapctl-delete-prefix");
    CHECK(only<cmap::ReqIterInit>(dp).prefix == "proto.test.");
    std::set<std::string> listed, deleted;
    for (const auto& n : all_of<cmap::ResIterNext>(dp))
        if (n.error == CsError::ok)
            listed.insert(n.key_name);
    for (const auto& d : all_of<cmap::ReqDelete>(dp))
        deleted.insert(d.key_name);
    CHECK(listed.size() == 11);  // the 12 set keys less the one deleted before
    CHECK(listed == deleted);

    for (const char* name : {"ipc/cmap/cmapctl-dump", "ipc/cmap/cmapctl-stats"}) {
        INFO(name);
        const auto next = all_of<cmap::ResIterNext>(file(name));
        REQUIRE(next.size() > 10);
        CHECK(next.back().error == CsError::err_no_sections);
        std::vector<std::string> keys;
        for (const auto& n : next)
            if (n.error == CsError::ok)
                keys.push_back(n.key_name);
        // The qb trie iterates in byte order (the file keeps the first and last exchanges).
        CHECK(std::is_sorted(keys.begin(), keys.end()));
        CHECK(std::adjacent_find(keys.begin(), keys.end()) == keys.end());
    }
    const auto& st = file("ipc/cmap/cmapctl-stats");
    CHECK(all_of<cmap::ReqSetCurrentMap>(st).at(0).map == cmap::map_stats);
    for (const auto& n : all_of<cmap::ResIterNext>(st))
        if (n.error == CsError::ok)
            CHECK(n.key_name.rfind("stats.", 0) == 0);
}

TEST_CASE("vectors: corosync-cmapctl -T tracks a prefix and gets ADD, MODIFY, DELETE",
          "[proto][vectors]") {
    const auto& f = file("ipc/cmap/cmapctl-track");
    const auto add = only<cmap::ReqTrackAdd>(f);
    CHECK(add.key_name == "proto.track.");
    CHECK(add.track_type ==
          (cmap::track_add | cmap::track_delete | cmap::track_modify | cmap::track_prefix));
    const auto ev = all_of<cmap::ResNotifyCallback>(f);
    REQUIRE(ev.size() == 3);
    for (const auto& e : ev) {
        CHECK(e.track_inst_handle == add.track_inst_handle);
        CHECK(e.key_name == "proto.track.a");
    }
    const auto u32 = static_cast<std::uint8_t>(cmap::ValueType::uint32);
    CHECK(ev[0].event == cmap::track_add);
    CHECK(ev[0].new_value == Bytes{1, 0, 0, 0});
    CHECK(ev[0].new_value_type == u32);
    CHECK(ev[0].old_value.empty());
    CHECK(ev[0].old_value_type == 0);
    CHECK(ev[1].event == cmap::track_modify);
    CHECK(ev[1].new_value == Bytes{2, 0, 0, 0});
    CHECK(ev[1].old_value == Bytes{1, 0, 0, 0});
    CHECK(ev[2].event == cmap::track_delete);
    CHECK(ev[2].new_value.empty());
    CHECK(ev[2].old_value == Bytes{2, 0, 0, 0});
    CHECK(ev[2].old_value_type == u32);
}

TEST_CASE("vectors: libcmap inc, dec and an exact-key track", "[proto][vectors]") {
    const auto& f = file("ipc/cmap/cmap-client");
    CHECK(all_of<cmap::ReqSetCurrentMap>(f).empty());  // cmap_initialize only connects
    const auto adjust = all_of<cmap::ReqAdjustInt>(f);
    REQUIRE(adjust.size() == 5);
    CHECK(adjust[0] == cmap::ReqAdjustInt{"proto.counter", 1});
    CHECK(adjust[1] == cmap::ReqAdjustInt{"proto.counter", -1});
    CHECK(adjust[2] == cmap::ReqAdjustInt{"proto.counter", -1});
    CHECK(adjust[3].key_name == "proto.text");
    CHECK(adjust[4].key_name == "proto.missing");
    const auto adjusted = all_of<cmap::ResAdjustInt>(f);
    REQUIRE(adjusted.size() == 5);
    CHECK(adjusted[2].error == CsError::ok);
    CHECK(adjusted[3].error == CsError::err_invalid_param);  // a string
    CHECK(adjusted[4].error == CsError::err_not_exist);
    const auto add = only<cmap::ReqTrackAdd>(f);
    CHECK(add.key_name == "proto.counter");
    CHECK(add.track_type == cmap::track_modify);
    const auto ev = only<cmap::ResNotifyCallback>(f);
    CHECK(ev.event == cmap::track_modify);
    CHECK(ev.track_inst_handle == add.track_inst_handle);
    CHECK(ev.new_value == Bytes{42, 0, 0, 0});
    CHECK((ev.old_value.empty() || ev.old_value == Bytes{41, 0, 0, 0}));
    CHECK(only<cmap::ReqTrackDelete>(f).track_handle == only<cmap::ResTrackAdd>(f).track_handle);
    CHECK(only<cmap::ResTrackDelete>(f).track_inst_handle == add.track_inst_handle);
    CHECK(all_of<cmap::ResGet>(f).back().value == Bytes{40, 0, 0, 0});
}

// ----------------------------------------------------------------------------------- cpg IPC

TEST_CASE("vectors: a libcpg client's whole life", "[proto][vectors]") {
    const auto& f = file("ipc/cpg/cpg-exercise");
    const auto join = only<cpg::ReqJoin>(f);
    CHECK(join.group_name == "proto-group");
    CHECK(join.flags == cpg::flag_deliver_initial_totem_conf);
    const std::uint32_t pid = join.pid;
    // JOIN's reply, and the ZC_ALLOC and ZC_FREE replies, which have id 0 too.
    const auto id0 = all_of<cpg::ResJoin>(f);
    REQUIRE(id0.size() == 3);
    CHECK(id0[0].error == CsError::ok);

    const auto confchg = all_of<cpg::ResConfchgCallback>(f);
    REQUIRE(confchg.size() == 2);
    CHECK(confchg[0].group_name == "proto-group");
    CHECK(confchg[0].joined == std::vector<CpgAddress>{{1, pid, cpg::reason_join}});
    CHECK(confchg[0].members.size() == 2);  // the listener on node 2 joined first
    CHECK(std::count(confchg[0].members.begin(), confchg[0].members.end(), CpgAddress{1, pid, 0}) ==
          1);
    CHECK(confchg[1].left == std::vector<CpgAddress>{{1, pid, cpg::reason_leave}});
    CHECK(confchg[1].members.size() == 1);

    // The initial TOTEM_CONFCHG (flag 0x01) right after our own join.
    const auto totem = only<cpg::ResTotemConfchgCallback>(f);
    CHECK(totem.members == std::vector<std::uint32_t>{1, 2, 3});
    CHECK(totem.ring_id.nodeid >= 1);

    const auto members = only<cpg::ResMembershipGet>(f);
    REQUIRE(members.members.size() == 2);
    CHECK(members.members[0] == CpgAddress{1, pid, 0});  // ordered by node id
    CHECK(members.members[1].nodeid == 2);
    CHECK(only<cpg::ResLocalGet>(f).local_nodeid == 1);

    const auto inits = all_of<cpg::ReqIterationInitialize>(f);
    REQUIRE(inits.size() == 3);
    CHECK(inits[0].iteration_type == cpg::iteration_all);
    CHECK(inits[1].iteration_type == cpg::iteration_one_group);
    CHECK(inits[1].group_name == "proto-group");
    CHECK(inits[2].iteration_type == cpg::iteration_name_only);
    const auto next = all_of<cpg::ResIterationNext>(f);
    REQUIRE(next.size() == 8);  // 2 + end, 2 + end, 1 + end
    CHECK(next[2].error == CsError::err_no_sections);
    CHECK(next[6] == cpg::ResIterationNext{CsError::ok, "proto-group", 0, 0});  // NAME_ONLY
    const auto its = all_of<cpg::ResIterationInitialize>(f);
    const auto nexts = all_of<cpg::ReqIterationNext>(f);
    CHECK(nexts.at(0).iteration_handle == its.at(0).iteration_handle);

    CHECK(only<cpg::ReqMcast>(f).message == bytes_of("hello from cpg-client"));
    const auto deliver = all_of<cpg::ResDeliverCallback>(f);
    REQUIRE(deliver.size() == 2);
    CHECK(deliver[0].message == bytes_of("hello from cpg-client"));
    CHECK(deliver[0].nodeid == 1);
    CHECK(deliver[0].pid == pid);
    CHECK(deliver[1].message == bytes_of("zero-copy hello"));

    // Zero copy: the client maps a file, the server maps it too and answers with its address,
    // the MCAST request sits in the mapping (so it is not on the request channel).
    const auto alloc = only<cpg::ReqZcAlloc>(f);
    CHECK(alloc.map_size == 100 + cpg::req_mcast_fixed_size + 16);  // + coroipcs_zc_header
    CHECK(alloc.path_to_file.rfind("/dev/shm/corosync_zerocopy-", 0) == 0);
    const auto exec = only<cpg::ReqZcExecute>(f);
    CHECK(exec.server_address != 0);
    CHECK(only<cpg::ReqZcFree>(f) == cpg::ReqZcFree{alloc.map_size, exec.server_address});
    CHECK(only<cpg::ResMcast>(f).error == CsError::ok);

    // 1 048 552 bytes: two PARTIAL_MCASTs of at most 1 047 552, each answered PARTIAL_SEND.
    const auto parts = all_of<cpg::ReqPartialMcast>(f);
    REQUIRE(parts.size() == 2);
    CHECK(parts[0].type == cpg::partial_first);
    CHECK(parts[0].msglen == 1048552);
    CHECK(parts[0].fragment == test::pattern(1047552));
    CHECK(parts[1].type == cpg::partial_last);
    CHECK(parts[1].fragment == test::pattern(1000, 1047552 % 251));
    CHECK(all_of<cpg::ResPartialSend>(f).size() == 2);
    const auto pdel = all_of<cpg::ResPartialDeliverCallback>(f);
    REQUIRE(pdel.size() == 2);
    CHECK(pdel[0].fragment == parts[0].fragment);
    CHECK(pdel[1].fragment == parts[1].fragment);
    CHECK(pdel[1].msglen == 1048552);
    CHECK(pdel[1].nodeid == 1);
    CHECK(pdel[1].pid == pid);

    CHECK(only<cpg::ReqLeave>(f) == cpg::ReqLeave{"proto-group", pid});
    CHECK(only<cpg::ResLeave>(f).error == CsError::ok);
    CHECK(all_of<cpg::ReqFinalize>(f).size() == 1);
}

TEST_CASE("vectors: a libcpg listener on another node", "[proto][vectors]") {
    const auto& f = file("ipc/cpg/cpg-listen");
    CHECK(only<cpg::ReqJoin>(f).flags == 0);
    const auto deliver = all_of<cpg::ResDeliverCallback>(f);
    REQUIRE(deliver.size() == 2);
    CHECK(deliver[0].nodeid == 1);
    CHECK(deliver[0].message == bytes_of("hello from cpg-client"));
    CHECK(deliver[1].message == bytes_of("zero-copy hello"));
    CHECK(all_of<cpg::ResPartialDeliverCallback>(f).size() == 2);
    // No TOTEM_CONFCHG after its join without the flag, but one at the sync after node 3 left:
    // sync activation sends it to every CPG connection.
    const auto totem = only<cpg::ResTotemConfchgCallback>(f);
    CHECK(totem.members == std::vector<std::uint32_t>{1, 2});
    const auto confchg = all_of<cpg::ResConfchgCallback>(f);
    REQUIRE(confchg.size() >= 3);
    CHECK(confchg[1].joined.at(0).nodeid == 1);
    CHECK(confchg[2].left.at(0).reason == cpg::reason_leave);
}

// ------------------------------------------------------------------------ quorum, votequorum

TEST_CASE("vectors: libquorum models V1 and V0", "[proto][vectors]") {
    const auto& f = file("ipc/quorum/quorum-client");
    CHECK(only<quorum::ReqModelGetType>(f).model == quorum::model_v1);
    CHECK(only<quorum::ResModelGetType>(f).quorum_type == quorum::quorum_set);
    CHECK(only<quorum::ResGetQuorate>(f).quorate == 1);
    CHECK(only<quorum::ResGetType>(f).quorum_type == quorum::quorum_set);
    const auto starts = all_of<quorum::ReqTrackStart>(f);
    REQUIRE(starts.size() == 2);
    CHECK(starts[0].track_flags == 3);
    CHECK(starts[1].track_flags == 1);
    const auto nl = only<quorum::ResV1NodelistNotification>(f);
    CHECK(nl.members == std::vector<std::uint32_t>{1, 2, 3});
    CHECK(nl.joined.empty());  // TRACKSTART sends the lists with 0 joined and 0 left
    CHECK(nl.left.empty());
    const auto v1 = only<quorum::ResV1QuorumNotification>(f);
    CHECK(v1.quorate == 1);
    CHECK(v1.view_list == std::vector<std::uint32_t>{1, 2, 3});
    CHECK(v1.ring_id == nl.ring_id);
    const auto v0 = only<quorum::ResNotification>(f);
    CHECK(v0.quorate == 1);
    CHECK(v0.view_list == std::vector<std::uint32_t>{1, 2, 3});
    CHECK(v0.ring_seq == nl.ring_id.seq);
    for (const auto& r : all_of<quorum::ResTrackStop>(f))
        CHECK(r.error == CsError::ok);
}

TEST_CASE("vectors: libvotequorum, including the qdevice calls", "[proto][vectors]") {
    const auto& f = file("ipc/votequorum/votequorum-client");
    const auto info = all_of<votequorum::ResGetInfo>(f);
    REQUIRE(info.size() == 4);
    CHECK(info[0].nodeid == 2);  // getinfo(0) on node 2
    CHECK(info[0].state == votequorum::nodestate_member);
    CHECK(info[0].votes == 1);
    CHECK(info[0].expected_votes == 3);
    CHECK(info[0].quorum == 2);
    CHECK((info[0].flags & votequorum::info_quorate) != 0);
    CHECK(info[0].qdevice_name.empty());
    CHECK(info[1].nodeid == 2);
    CHECK(info[2].error == CsError::err_not_exist);  // getinfo(99): the rest is stack garbage
    CHECK((info[3].flags & votequorum::info_qdevice_registered) != 0);
    CHECK(info[3].qdevice_name == "TestDev");
    const auto gets = all_of<votequorum::ReqGetInfo>(f);
    CHECK(gets.at(2).nodeid == 99);

    const auto ts = only<votequorum::ReqTrackStart>(f);
    CHECK(ts.context == 0x1122334455667788);
    CHECK(ts.track_flags == 3);
    const auto nl = only<votequorum::ResNodelistNotification>(f);
    CHECK(nl.context == ts.context);
    CHECK(nl.nodes == std::vector<std::uint32_t>{1, 2, 3});
    const auto qn = all_of<votequorum::ResQuorumNotification>(f);
    REQUIRE(!qn.empty());
    CHECK(qn[0].quorate == 1);
    CHECK(qn[0].context == ts.context);
    // Not in node id order: votequorum's node_add_ordered puts a node with the highest id
    // before the last one (on node 2: itself first, then 1 before it, then 3 before 2).
    CHECK(qn[0].nodes == std::vector<votequorum::Node>{{1, 1}, {3, 1}, {2, 1}});
    const auto ev = only<votequorum::ResExpectedVotesNotification>(f);
    CHECK(ev.expected_votes == 3);
    CHECK(ev.context == ts.context);
    CHECK(only<votequorum::ReqSetExpected>(f).expected_votes == 3);

    CHECK(only<votequorum::ReqQdeviceRegister>(f).name == "TestDev");
    const auto poll = only<votequorum::ReqQdevicePoll>(f);
    CHECK(poll.name == "TestDev");
    CHECK(poll.cast_vote == 1);
    CHECK(poll.ring_id == nl.ring_id);
    CHECK(only<votequorum::ReqQdeviceMasterWins>(f) ==
          votequorum::ReqQdeviceMasterWins{"TestDev", 1});
    CHECK(only<votequorum::ReqQdeviceUpdate>(f) ==
          votequorum::ReqQdeviceUpdate{"TestDev", "TestDev2"});
    CHECK(only<votequorum::ReqQdeviceUnregister>(f).name == "TestDev2");
    const auto status = all_of<votequorum::ResStatus>(f);
    REQUIRE(!status.empty());
    CHECK(status.back().error == CsError::err_not_exist);  // the second TRACKSTOP
    CHECK(std::count_if(status.begin(), status.end(),
                        [](const auto& s) { return s.error != CsError::ok; }) == 1);
}

TEST_CASE("vectors: corosync-quorumtool -e and -v", "[proto][vectors]") {
    CHECK(only<votequorum::ReqSetExpected>(file("ipc/quorum/quorumtool-e")).expected_votes == 3);
    CHECK(only<votequorum::ReqSetVotes>(file("ipc/quorum/quorumtool-v")) ==
          votequorum::ReqSetVotes{1, 2});
    for (const char* n : {"ipc/quorum/quorumtool-e", "ipc/quorum/quorumtool-v"})
        for (const auto& s : all_of<votequorum::ResStatus>(file(n)))
            CHECK(s.error == CsError::ok);
    const auto& s = file("ipc/quorum/quorumtool-s");
    CHECK(!all_of<quorum::ResGetQuorate>(s).empty());
    CHECK(!all_of<votequorum::ResGetInfo>(s).empty());
}

// ----------------------------------------------------------------------------------- cfg IPC

TEST_CASE("vectors: libcfg and corosync-cfgtool", "[proto][vectors]") {
    const auto& c = file("ipc/cfg/cfg-client");
    const auto ring = only<cfg::ResRingStatusGet>(c);
    REQUIRE(ring.interfaces.size() == 1);
    CHECK(ring.interfaces[0].name == "0 10.201.0.1");
    CHECK(only<cfg::ResLocalGet>(c).local_nodeid == 1);
    const auto addrs = all_of<cfg::ResGetNodeAddrs>(c);
    REQUIRE(addrs.size() == 2);
    CHECK(addrs[0].family == 2);  // AF_INET
    REQUIRE(addrs[0].addrs.size() == 1);
    CHECK(addrs[0].addrs[0][0] == 10);
    CHECK(addrs[0].addrs[0][1] == 201);
    CHECK(addrs[0].addrs[0][3] == 1);
    CHECK(addrs[1].error == CsError::err_not_exist);  // 32 bytes, stale family/num_addrs
    const auto st = all_of<cfg::ResNodeStatusGet>(c);
    REQUIRE(st.size() == 2);
    CHECK(st[0].nodeid == 2);
    CHECK(st[0].reachable == 1);
    CHECK(st[0].links[0].enabled == 1);
    CHECK(st[0].links[0].connected == 1);
    // With udpu an unknown node is CS_OK with zeros (the spec's 32-byte error is knet's).
    CHECK(st[1].error == CsError::ok);
    CHECK(st[1].nodeid == 99);
    CHECK(st[1].reachable == 0);
    const auto kill = only<cfg::ReqKillNode>(c);
    CHECK(kill.nodeid == 99);
    CHECK(kill.reason == str0("not a member"));  // libcfg counts the NUL
    CHECK(only<cfg::ResKillNode>(c).error == CsError::err_not_exist);
    CHECK(only<cfg::ResTrackStart>(c).error == CsError::ok);
    CHECK(only<cfg::ResTrackStop>(c).error == CsError::ok);
    CHECK(only<cfg::ResReplyToShutdown>(c).error == CsError::err_access);  // none pending

    const auto a = file("ipc/cfg/cfgtool-a");
    CHECK(only<cfg::ReqGetNodeAddrs>(a).nodeid == 2);
    const auto a_res = only<cfg::ResGetNodeAddrs>(a);
    REQUIRE(a_res.addrs.size() == 1);
    CHECK(a_res.addrs[0][3] == 2);

    const auto k = only<cfg::ReqKillNode>(file("ipc/cfg/cfgtool-k"));
    CHECK(k == cfg::ReqKillNode{2, str0("Killed by corosync-cfgtool")});
    CHECK(only<cfg::ResKillNode>(file("ipc/cfg/cfgtool-k")).error == CsError::ok);
    CHECK(only<cfg::ResReloadConfig>(file("ipc/cfg/cfgtool-R")).error == CsError::ok);
    CHECK(only<cfg::ResReopenLogFiles>(file("ipc/cfg/cfgtool-L")).error == CsError::ok);
}

TEST_CASE("vectors: the shutdown protocol, refused and granted", "[proto][vectors]") {
    CHECK(only<cfg::ReqTryShutdown>(file("ipc/cfg/cfgtool-H-refused")).flags ==
          cfg::shutdown_flag_request);
    CHECK(only<cfg::ResTryShutdown>(file("ipc/cfg/cfgtool-H-refused")).error == CsError::err_busy);
    CHECK(only<cfg::ResTryShutdown>(file("ipc/cfg/cfgtool-H")).error == CsError::ok);
    const auto& no = file("ipc/cfg/cfg-tracker-no");
    CHECK(only<cfg::ResTestShutdown>(no) == cfg::ResTestShutdown{CsError::ok, 0});
    CHECK(only<cfg::ReqReplyToShutdown>(no).response == 0);
    CHECK(only<cfg::ReqReplyToShutdown>(file("ipc/cfg/cfg-tracker-yes")).response == 1);
}

// -------------------------------------------------------------------------------------- exec

TEST_CASE("vectors: sync SERVICE_BUILD and BARRIER carry the ring they are sent on",
          "[proto][vectors]") {
    // A sync message queued while its ring was replaced goes out on the next ring with the old
    // ring id (captured: node 3's SERVICE_BUILD for its one-node ring 3.5 on ring 1.d), and
    // receivers drop it by that id; all others carry the ring they are sent on.
    int same = 0;
    auto check_ring = [&](const MembRingId& in_message, const test::VectorMessage& ctx) {
        const MembRingId carrying = ring_of(ctx);
        if (in_message == carrying) {
            ++same;
            return;
        }
        CHECK(in_message.seq < carrying.seq);
        CHECK(in_message.rep == sender_of(ctx));
    };
    const auto builds = with_context<sync::ServiceBuild>(file("exec/sync/service_build"));
    REQUIRE(builds.size() >= 3);
    for (const auto& [m, ctx] : builds) {
        CHECK(m.service_list == std::vector<std::int32_t>{0, 2, 3, 5});
        check_ring(m.ring_id, *ctx);
    }
    const auto barriers = with_context<sync::Barrier>(file("exec/sync/barrier"));
    REQUIRE(barriers.size() >= 3);
    for (const auto& [m, ctx] : barriers)
        check_ring(m.ring_id, *ctx);
    CHECK(same >= static_cast<int>(builds.size() + barriers.size()) - 2);
}

TEST_CASE("vectors: cpg exec messages", "[proto][vectors]") {
    const std::set<std::string> groups{"proto-group", "proto-sync"};
    const auto joins = with_context<cpg::ExecProcJoin>(file("exec/cpg/procjoin"));
    REQUIRE(joins.size() == 3);
    for (const auto& [m, ctx] : joins) {
        CHECK(m.reason == cpg::reason_join);
        CHECK(groups.count(m.group_name) == 1);
    }
    const auto leaves = all_of<cpg::ExecProcLeave>(file("exec/cpg/procleave"));
    REQUIRE(leaves.size() == 2);
    CHECK(leaves[0].reason == cpg::reason_leave);     // cpg_leave
    CHECK(leaves[1].reason == cpg::reason_procdown);  // a client that exited without leaving
    for (const auto& [m, ctx] : with_context<cpg::ExecJoinlist>(file("exec/cpg/joinlist"))) {
        REQUIRE(!m.entries.empty());
        for (const auto& e : m.entries)
            CHECK(groups.count(e.group_name) == 1);
    }
    const auto mcast = with_context<cpg::ExecMcast>(file("exec/cpg/mcast"));
    REQUIRE(mcast.size() == 2);
    CHECK(mcast[0].first.message == bytes_of("hello from cpg-client"));
    CHECK(mcast[1].first.message == bytes_of("zero-copy hello"));  // from ZC_EXECUTE
    for (const auto& [m, ctx] : mcast) {
        CHECK(m.source.nodeid == sender_of(*ctx));
        CHECK(m.group_name == "proto-group");
    }
    const auto partial = with_context<cpg::ExecPartialMcast>(file("exec/cpg/partial_mcast"));
    REQUIRE(partial.size() == 2);
    CHECK(partial[0].first.type == cpg::partial_first);
    CHECK(partial[0].first.fragment == test::pattern(1047552));
    CHECK(partial[1].first.type == cpg::partial_last);
    CHECK(partial[1].first.fragment == test::pattern(1000, 1047552 % 251));
    for (const auto& [m, ctx] : partial) {
        CHECK(m.msglen == 1048552);
        CHECK(m.source.nodeid == sender_of(*ctx));
        CHECK(m.pid == mcast[0].first.pid);
    }
    for (const auto& m : all_of<cpg::ExecDownlist>(file("exec/cpg/downlist"))) {
        CHECK(m.old_members <= 3);
        CHECK(m.nodeids.size() <= 2);
        for (std::uint32_t n : m.nodeids)
            CHECK((n >= 1 && n <= 3));
    }
}

TEST_CASE("vectors: votequorum exec messages", "[proto][vectors]") {
    for (const auto& [m, ctx] :
         with_context<votequorum::ExecNodeInfo>(file("exec/votequorum/nodeinfo"))) {
        // Each node describes itself, and the quorum device as nodeid 0.
        CHECK((m.nodeid == sender_of(*ctx) || m.nodeid == votequorum::qdevice_nodeid));
        if (m.nodeid != 0)
            CHECK(m.votes == 1);
    }
    const auto rc = all_of<votequorum::ExecReconfigure>(file("exec/votequorum/reconfigure"));
    REQUIRE(rc.size() == 3);
    CHECK(rc[0] ==
          votequorum::ExecReconfigure{1, 3, votequorum::reconfig_param_expected_votes});  // -e 3
    CHECK(rc[1] == votequorum::ExecReconfigure{2, 1, votequorum::reconfig_param_node_votes});
    CHECK(rc[2].param == votequorum::reconfig_param_expected_votes);  // setexpected(3)
    const auto reg = all_of<votequorum::ExecQdeviceReg>(file("exec/votequorum/qdevice_reg"));
    REQUIRE(reg.size() == 2);
    CHECK(reg[0] == votequorum::ExecQdeviceReg{votequorum::qdevice_operation_register, "TestDev"});
    CHECK(reg[1] ==
          votequorum::ExecQdeviceReg{votequorum::qdevice_operation_unregister, "TestDev2"});
    CHECK(only<votequorum::ExecQdeviceReconfigure>(file("exec/votequorum/qdevice_reconfigure")) ==
          votequorum::ExecQdeviceReconfigure{"TestDev", "TestDev2"});
}

TEST_CASE("vectors: cmap, cfg and pload exec messages", "[proto][vectors]") {
    for (const auto& m : all_of<cmap::ExecMcast>(file("exec/cmap/mcast"))) {
        REQUIRE(m.items.size() == 1);
        CHECK(m.items[0].key_name == "totem.config_version");
        if (m.reason == static_cast<std::uint8_t>(cmap::McastReason::new_config_version)) {
            CHECK(m.items[0].value == Bytes{1, 0, 0, 0, 0, 0, 0, 0});
        } else {
            CHECK(m.reason == static_cast<std::uint8_t>(cmap::McastReason::sync));
            CHECK((m.items[0].value_type == 0 || m.items[0].value_type == 8));
        }
    }
    CHECK(only<cfg::ExecKillNode>(file("exec/cfg/killnode")) ==
          cfg::ExecKillNode{2, str0("Killed by corosync-cfgtool")});
    const auto reload = with_context<cfg::ExecReloadConfig>(file("exec/cfg/reload_config"));
    REQUIRE(reload.size() == 1);
    CHECK(reload[0].first.source.nodeid == sender_of(*reload[0].second));
    CHECK(reload[0].first.source.conn != 0);
    const auto shutdown = with_context<cfg::ExecShutdown>(file("exec/cfg/shutdown"));
    REQUIRE(shutdown.size() == 1);
    CHECK(sender_of(*shutdown[0].second) == 3);
    CHECK(only<pload::ExecStart>(file("exec/pload/start")) == pload::ExecStart{3, 64});
    for (const auto& m : all_of<pload::ExecMcast>(file("exec/pload/mcast"))) {
        CHECK(m.msg_size == 64);
        CHECK(m.payload.size() == 48);
    }
}

// Not run by default: `test_proto "[.stats]"` prints what the golden vectors hold.
TEST_CASE("vector statistics", "[.stats]") {
    std::map<std::string, std::pair<int, int>> kinds;  // service.dir -> messages, identical
    for (const char* sub : {"ipc", "exec"}) {
        int files = 0;
        for (const VectorFile& f : test::load_vector_dir(vectors_dir + "/" + sub)) {
            ++files;
            for (const auto& m : f.messages) {
                auto r = test::decode_any(m.dir, m.service, m.bytes);
                REQUIRE(r.ok());
                auto& k = kinds[std::string(sub) + " " + m.service + "." + m.dir];
                ++k.first;
                k.second += test::encode_any(*r) == m.bytes;
            }
        }
        std::printf("%s: %d files\n", sub, files);
    }
    int all = 0, same = 0;
    for (const auto& [k, v] : kinds) {
        std::printf("  %-22s %4d messages, %4d byte-identical\n", k.c_str(), v.first, v.second);
        all += v.first;
        same += v.second;
    }
    std::printf("  total %d messages, %d byte-identical when re-encoded\n", all, same);
}

// Not run by default: `TOTEM_PROTO_CORPUS=DIR test_proto "[.corpus]"` writes the seed corpora
// of the proto_ipc and proto_exec fuzz targets into DIR/proto_ipc and DIR/proto_exec: every
// sample's encoding and one captured message per distinct (service, direction, id, size), at
// most 64 KiB each.
TEST_CASE("write the fuzz seed corpora", "[.corpus]") {
    const char* dir = std::getenv("TOTEM_PROTO_CORPUS");
    REQUIRE(dir != nullptr);
    const std::filesystem::path root(dir);
    std::filesystem::create_directories(root / "proto_ipc");
    std::filesystem::create_directories(root / "proto_exec");
    std::set<Bytes> written;
    int n = 0;
    auto put = [&](const std::string& sub, const std::string& name, const Bytes& b) {
        if (b.size() > 65536 || !written.insert(b).second)
            return;
        std::string safe = name;
        for (char& c : safe)
            if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-')
                c = '_';
        std::ofstream out(root / sub / (safe + ".bin"), std::ios::binary);
        out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
        ++n;
    };
    test::for_each_sample([&](std::string_view name, const auto& sample, auto, auto, std::size_t) {
        const bool exec =
            name.find(".Exec") != std::string_view::npos || name.substr(0, 5) == "sync.";
        put(exec ? "proto_exec" : "proto_ipc", "sample-" + std::string(name), encode(sample));
    });
    std::set<std::tuple<std::string, std::string, std::int32_t, std::size_t>> kinds;
    for (const char* sub : {"ipc", "exec"}) {
        for (const VectorFile& f : test::load_vector_dir(vectors_dir + "/" + sub)) {
            for (const auto& m : f.messages) {
                Reader r(m.bytes);
                const std::int32_t id = r.i32();
                if (!kinds.insert({m.service, m.dir, id, m.bytes.size()}).second)
                    continue;
                put(std::string(sub) == "ipc" ? "proto_ipc" : "proto_exec",
                    "golden-" + m.service + "-" + m.dir + "-" + f.name + "-" +
                        std::to_string(m.line),
                    m.bytes);
            }
        }
    }
    std::printf("wrote %d seeds under %s\n", n, dir);
}
