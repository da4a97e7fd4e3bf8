// cpg (service 2): corosync's closed process groups (exec/cpg.c; spec A3.1, B2.1, B3.4) for
// Debian's unmodified libcpg 3.1.7: named groups, membership callbacks (CONFCHG, and for model
// v1 clients with CPG_MODEL_V1_DELIVER_INITIAL_TOTEM_CONF the TOTEM_CONFCHG), and messages
// delivered in one agreed order at every member, through exec messages byte for byte as
// corosync 3.1.7 sends them (PROCJOIN, PROCLEAVE, JOINLIST, MCAST, DOWNLIST, PARTIAL_MCAST).
//
// State (corosync's globals, as one value): `process_info` — every process of every group in
// the cluster as this node knows it, (nodeid, pid) ascending, the order of every member list;
// one `Cpd` per local connection (corosync's struct cpg_pd), listed newest first as corosync's
// cpg_pd_list; the sync state (old and new member lists, the downlist, stored joinlists).
// Every state change happens on delivery; a request only sends (and answers).
//
// A request in a state (cpd_state; corosync's table near the top of exec/cpg.c):
//
//   request          UNJOINED            LEAVE_STARTED     JOIN_STARTED       JOIN_COMPLETED
//   JOIN       0     OK → JOIN_STARTED,  BUSY              EXIST              EXIST
//                    sends PROCJOIN
//   LEAVE      1     NOT_EXIST           NOT_EXIST         BUSY               OK → LEAVE_STARTED,
//                                                                             sends
//                                                                             PROCLEAVE(LEAVE)
//   MCAST      2     no reply; dropped   no reply; dropped sends MCAST        sends MCAST
//                    ("can't mcast")     ("can't mcast")   (no reply)         (no reply)
//   PARTIAL   12     NOT_EXIST           NOT_EXIST         OK, sends PARTIAL_MCAST (INTERRUPT when
//   a
//                                                          CONFCHG reached it since its FIRST part)
//   MEMBERSHIP 3, LOCAL_GET 4, ITERATION* 5–7: the same answer in every state
//   FINALIZE   8     OK in every state: the connection gets no more events
//   ZC_ALLOC 9, ZC_FREE 10, ZC_EXECUTE 11: NOT_SUPPORTED in every state (totemd; see below)
//
// JOIN first checks, in order: a listed local connection with the same pid and group → EXIST;
// (this node, pid, group) still in process_info (a leave not yet delivered) → TRY_AGAIN; a
// name over 128 bytes → NAME_TOO_LONG; and (totemd) this node's processes already fill one
// JOINLIST message → NO_RESOURCES. LEAVE decides on the connection's state and sends the pid
// and group of the request, as corosync. A request the codec refuses gets its reply with
// INVALID_PARAM (an MCAST: dropped and counted). Flow control (the core's admission): JOIN,
// LEAVE, MCAST, FINALIZE, ZC_* and PARTIAL_MCAST are REQUIRED (TRY_AGAIN while sync runs or the
// Totem queue is full; MCAST: the client's libqb sees the flow-control word instead).
//
// Delivery moves the state (exec):
//   own PROCJOIN of a JOIN_STARTED connection → JOIN_COMPLETED, then the CONFCHG (it sees its
//     own join); own PROCLEAVE(LEAVE) of a LEAVE_STARTED one → its CONFCHG, then UNJOINED.
// The last is a choice (spec Appendix A): corosync 3.1.7's reset loop runs over the joined
// list, so a connection stays LEAVE_STARTED for good and a later join on it answers EXIST or
// spins on BUSY in libcpg; totemd resets it as the loop means to, and the handle can join
// again (docs/protocol/deviations.md). Nothing on the wire changes.
//
// Events go to listed connections in JOIN_COMPLETED or LEAVE_STARTED joined to the group:
// CONFCHG on every PROCJOIN/PROCLEAVE delivered; DELIVER / PARTIAL_DELIVER for MCAST / PARTIAL
// only when the sending node has a process in the group here ("Unknown node"); after every
// CONFCHG emission each v1 connection that asked for it and has not had one gets the initial
// TOTEM_CONFCHG; at sync activation one CONFCHG per group for processes of nodes that left
// (NODEDOWN), one per group for processes learnt from joinlists (NODEUP), one per zombie
// (PROCDOWN), then TOTEM_CONFCHG to every listed connection. Partial messages are forwarded
// part by part; the receiving library reassembles them.
//
// CPG_TYPE_SAFE (the request's guarantee 3) is sent Guarantee::safe: a totemd node delivers it
// once every member has it; corosync treats every guarantee as agreed (the wire is the same).
//
// Bounds: iterators_max per connection (NO_MEMORY beyond, corosync's answer when it cannot
// make one); a CONFCHG list and a TOTEM_CONFCHG member list are cut to CPG_MEMBERS_MAX (128)
// entries, a MEMBERSHIP list to 384 (counted, logged once: libcpg's arrays would overflow);
// this node's processes to one JOINLIST message (joinlist_entries_max).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "proto/cpg.hpp"

#include "services/service.hpp"

namespace totem::services {

class Cpg final : public Service, private sync::Participant {
  public:
    static constexpr std::uint16_t service_id = 2;
    static constexpr std::size_t iterators_max = 1024;  // per connection
    // A process that could not be told to the others (PROCLEAVE at disconnect with the Totem
    // queue full, or while a sync runs) is sent again this long after.
    static constexpr Duration leave_retry = Duration::ms(10);

    enum class State : std::uint8_t { unjoined, leave_started, join_started, join_completed };

    // The library handler table (corosync's cpg_lib_engine): flow control per request id.
    struct LibHandler {
        proto::cpg::ReqId id;
        FlowControl flow_control;
        const char* name;
    };
    static constexpr std::array<LibHandler, 13> lib_engine = {{
        {proto::cpg::ReqId::join, FlowControl::required, "join"},
        {proto::cpg::ReqId::leave, FlowControl::required, "leave"},
        {proto::cpg::ReqId::mcast, FlowControl::required, "mcast"},
        {proto::cpg::ReqId::membership, FlowControl::not_required, "membership"},
        {proto::cpg::ReqId::local_get, FlowControl::not_required, "local_get"},
        {proto::cpg::ReqId::iterationinitialize, FlowControl::not_required, "iteration_init"},
        {proto::cpg::ReqId::iterationnext, FlowControl::not_required, "iteration_next"},
        {proto::cpg::ReqId::iterationfinalize, FlowControl::not_required, "iteration_final"},
        {proto::cpg::ReqId::finalize, FlowControl::required, "finalize"},
        {proto::cpg::ReqId::zc_alloc, FlowControl::required, "zc_alloc"},
        {proto::cpg::ReqId::zc_free, FlowControl::required, "zc_free"},
        {proto::cpg::ReqId::zc_execute, FlowControl::required, "zc_execute"},
        {proto::cpg::ReqId::partial_mcast, FlowControl::required, "partial_mcast"},
    }};
    // The exec handler table (cpg_exec_engine), by function id.
    static constexpr std::array<const char*, 7> exec_engine = {
        "procjoin",      // 0: a process joined (reason JOIN)
        "procleave",     // 1: a process left (LEAVE) or its connection went (PROCDOWN)
        "joinlist",      // 2: a node's processes, at every sync
        "mcast",         // 3: a message to a group
        "downlist_old",  // 4: never sent by 3.x; logged
        "downlist",      // 5: the nodes a node saw leave, at every sync; logged only
        "partial_mcast"  // 6: one part of a message above the atomic size
    };

    // One process of process_info.
    struct Process {
        NodeId nodeid = 0;
        std::uint32_t pid = 0;
        std::string group;
        bool operator==(const Process&) const = default;
    };
    struct Stats {
        std::uint64_t malformed_requests = 0;  // the codec refused a request
        std::uint64_t malformed_exec = 0;      // the codec refused an exec message
        std::uint64_t mcast_refused = 0;       // MCAST in UNJOINED / LEAVE_STARTED
        std::uint64_t mcast_queue_full = 0;    // an accepted MCAST the Totem queue refused
        std::uint64_t unknown_node = 0;        // a message from a node with no process in it
        std::uint64_t lists_truncated = 0;     // a CONFCHG or MEMBERSHIP list cut to its max
        std::uint64_t leave_retries = 0;       // PROCLEAVE at disconnect sent again later
        std::uint64_t safe_sent = 0;           // MCAST / PARTIAL sent Guarantee::safe
    };

    explicit Cpg(Api& api);

    ServiceInfo info() const override;
    void exec(NodeId sender, std::uint16_t fn, ByteView message) override;
    FlowControl flow_control(std::int32_t id) const override;
    bool lib_init(const ClientInfo& client) override;
    void lib_exit(ConnId conn) override;
    void lib_request(ConnId conn, std::int32_t id, ByteView request) override;
    sync::Participant* sync() override { return this; }
    std::optional<Instant> next_deadline() const override;
    void on_timer(Instant now) override;
    void stats_keys(std::vector<std::pair<std::string, std::uint64_t>>& out) const override;
    void check_invariants() const override;

    // ---- observation (tests) ----
    const std::vector<Process>& processes() const { return process_info_; }
    std::optional<State> state(ConnId conn) const;
    const Stats& stats() const { return stats_; }
    const NodeList& old_members() const { return my_old_member_list_; }

  private:
    struct Iterator {
        std::vector<Process> items;
        std::ptrdiff_t pos = -1;  // -1: before the first (corosync's list head)
    };
    struct Cpd {  // struct cpg_pd
        ConnId conn = 0;
        std::uintptr_t pointer = 0;  // libqb's connection (the exec messages' source.conn)
        std::string group;
        std::uint32_t pid = 0;
        State state = State::unjoined;
        std::uint32_t flags = 0;
        bool initial_totem_conf_sent = false;
        std::uint64_t transition_counter = 0;  // CONFCHGs sent to it
        std::uint64_t initial_transition_counter = 0;
        bool listed = true;  // in corosync's cpg_pd_list (FINALIZE takes it out)
        std::map<std::uint64_t, Iterator> iterators;
    };
    struct JoinlistEntry {  // struct joinlist_msg
        NodeId sender = 0;
        std::uint32_t pid = 0;
        std::string group;
    };
    enum class SyncState : std::uint8_t { downlist, joinlist };

    // sync::Participant (cpg_sync_*)
    void sync_init(const NodeList& trans, const NodeList& members, const RingId& ring) override;
    bool sync_process() override;
    void sync_activate() override;
    void sync_abort() override;

    // requests
    void on_join(Cpd& c, const proto::cpg::ReqJoin& r);
    void on_leave(Cpd& c, const proto::cpg::ReqLeave& r);
    void on_mcast(Cpd& c, const proto::cpg::ReqMcastView& r);
    void on_partial(Cpd& c, const proto::cpg::ReqPartialMcast& r);
    void on_iteration_init(Cpd& c, const proto::cpg::ReqIterationInitialize& r);
    void reply_invalid(ConnId conn, std::int32_t id);

    // exec
    void do_proc_join(const std::string& group, std::uint32_t pid, NodeId nodeid,
                      std::uint32_t reason,
                      std::map<std::string, std::vector<proto::CpgAddress>>* batch);
    void do_proc_leave(const std::string& group, std::uint32_t pid, NodeId nodeid,
                       std::uint32_t reason);
    void deliver_mcast(NodeId sender, const proto::cpg::ExecMcastView& m);
    void deliver_partial(NodeId sender, proto::cpg::ExecPartialMcast&& m);
    bool known_node(NodeId nodeid, const std::string& group) const;
    template <class Encode>
    void send_to_group(NodeId sender, const std::string& group, Encode encode);
    void on_joinlist(NodeId sender, const proto::cpg::ExecJoinlist& m);

    // events
    void notify_joinlist(const std::string& group, std::vector<proto::CpgAddress> joined,
                         std::vector<proto::CpgAddress> left);
    void notify_totem_membership(Cpd* only, const NodeList& members);
    std::vector<proto::CpgAddress> truncated(std::vector<proto::CpgAddress> list, std::size_t max,
                                             const char* what);

    // sync helpers
    bool send_downlist();
    bool send_joinlist();
    void downlist_inform_clients();
    void joinlist_inform_clients();
    void remove_zombies();

    bool send_proc(proto::cpg::ExecFn fn, const std::string& group, std::uint32_t pid,
                   std::uint32_t reason);
    Cpd* find(ConnId conn);
    std::size_t local_processes() const;
    std::string ifaces(NodeId n) const;

    std::vector<Process> process_info_;
    std::vector<Cpd> cpds_;  // newest first, as corosync's cpg_pd_list
    std::uint64_t next_iteration_handle_ = 0x5c9a000000000001ull;

    // sync state (exec/cpg.c globals)
    SyncState sync_state_ = SyncState::downlist;
    NodeList my_member_list_;
    NodeList my_old_member_list_;
    proto::MarRingId last_sync_ring_id_;
    NodeList downlist_;  // the nodes this node saw leave since the last sync
    // corosync's static downlist buffer: entries past left_nodes keep what an earlier downlist
    // put there, and go on the wire as such (byte for byte).
    std::array<std::uint32_t, proto::cpg::downlist_max> downlist_buffer_{};
    std::vector<JoinlistEntry> joinlist_;  // newest first, as corosync prepends them

    // PROCLEAVE(PROCDOWN) of connections that went while the Totem queue was full.
    std::vector<std::pair<std::string, std::uint32_t>> pending_leaves_;
    std::optional<Instant> retry_at_;
    bool warned_truncation_ = false;
    Stats stats_;
};

std::string_view to_string(Cpg::State s);

}  // namespace totem::services
