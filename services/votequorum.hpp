// votequorum (service 5): corosync's vote quorum provider (exec/votequorum.c; spec A3.4, B2.2,
// B3.6), loaded when quorum.provider is corosync_votequorum. Each node knows every node's
// votes, expected votes and flags from the NODEINFO messages they multicast; after every sync
// and every change it recomputes quorum (OpenVMS' rule, with two_node, wait_for_all,
// last_man_standing, auto_tie_breaker, allow_downscale, expected_votes_tracking and a quorum
// device) and reports each decision to the quorum service (QuorumListener) and to its own
// tracking clients. corosync-quorumtool and corosync-qdevice are its clients.
//
// Configuration is read from the key store as corosync reads icmap (quorum.*, nodelist.*),
// at start-up and again whenever a key under quorum. or nodelist. changes (a cmapctl set, a
// reload: then once, when config.totemconfig_reload_in_progress returns to 0).
//
// State × request (all NOT_REQUIRED, served during sync too; "no device" = QDEVICE_REGISTERED
// not set on this node; names compared as C strings of at most 255 bytes):
//
//   GETINFO            0 = this node; unknown → NOT_EXIST
//   SETEXPECTED        below total votes, or quorate and the new quorum > total → INVALID_PARAM;
//                      else RECONFIGURE(EXPECTED_VOTES)
//   SETVOTES           unknown node → NAME_NOT_FOUND; new quorum < total/2 or > total →
//                      INVALID_PARAM; else RECONFIGURE(NODE_VOTES)
//   TRACKSTART         CURRENT|CHANGES → nodelist then quorum notification (the request's
//                      context); tracking → EXIST; CHANGES|CHANGES_ONLY → register
//   TRACKSTOP          not tracking → NOT_EXIST
//   QDEVICE_REGISTER   config forbids → ACCESS; registered: same name OK, other EXIST;
//                      a registration pending → TRY_AGAIN; else QDEVICE_REG, answered when
//                      it is delivered back (EXIST if another name won meanwhile)
//   QDEVICE_UNREGISTER no device → NOT_EXIST; other name → INVALID_PARAM
//   QDEVICE_UPDATE     no device → NOT_EXIST; other old name → INVALID_PARAM; else
//                      QDEVICE_RECONFIGURE
//   QDEVICE_POLL       config forbids → ACCESS; no device → NOT_EXIST; ring id ≠ the last
//                      sync's → MESSAGE_ERROR; other name → INVALID_PARAM; else ALIVE and
//                      CAST_VOTE as asked, NODEINFO if they changed, the device timer re-armed
//   QDEVICE_MASTER_WINS config forbids → ACCESS; no device → NOT_EXIST; other name →
//                      INVALID_PARAM; else the MASTER_WINS flag
//
// The node list keeps corosync's order, which is not quite sorted (node_add_ordered inserts a
// new highest id before the last entry): the QUORUM_NOTIFICATION node list shows it.
//
// Timers: the last_man_standing window and the quorum device's poll timeout (in sync: its
// sync_timeout). expected_votes_tracking's barrier is stored by the driver
// (PersistEvTrackingAction → <state_dir>/ev_tracking); the one read at start-up comes in
// VotequorumOptions. Bounds: at most processor_count_max + 1 node records (a dead one is
// reused beyond that, as corosync does); trackers are at most one per connection.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "proto/ipc.hpp"
#include "services/quorum_provider.hpp"
#include "services/service.hpp"

namespace totem::services {

struct VotequorumOptions {
    // <state_dir>/ev_tracking as read at start-up (0 when it did not exist: the driver
    // created it), used when expected_votes_tracking or allow_downscale is on.
    std::uint32_t stored_ev_tracking_barrier = 0;
};

class Votequorum final : public Service, private sync::Participant {
  public:
    static constexpr std::uint16_t service_id = 5;
    static constexpr std::uint32_t qdevice_timeout_default_ms = 10000;       // VOTEQUORUM_QDEVICE_
    static constexpr std::uint32_t qdevice_sync_timeout_default_ms = 30000;  // DEFAULT_*TIMEOUT
    static constexpr std::uint32_t lms_window_default_ms = 10000;            // DEFAULT_LMS_WIN
    static constexpr std::size_t node_records_max = 384 + 1;  // PROCESSOR_COUNT_MAX + 1

    enum class NodeState : std::uint32_t { member = 1, dead = 2, leaving = 3 };
    enum class Atb : std::uint32_t { none = 0, lowest = 1, highest = 2, list = 3 };
    struct Node {
        NodeId id = 0;
        NodeState state = NodeState::dead;
        std::uint32_t votes = 0;
        std::uint32_t expected_votes = 0;
        std::uint32_t flags = 0;  // NODE_FLAGS_*
    };

    Votequorum(Api& api, QuorumListener& listener, VotequorumOptions options = {});

    ServiceInfo info() const override;
    void exec(NodeId sender, std::uint16_t fn, ByteView message) override;
    FlowControl flow_control(std::int32_t) const override { return FlowControl::not_required; }
    bool lib_init(const ClientInfo& client) override;
    void lib_exit(ConnId conn) override;
    void lib_request(ConnId conn, std::int32_t id, ByteView request) override;
    sync::Participant* sync() override { return this; }
    void key_changed(const Notification& n) override;
    void exec_exit() override;
    std::optional<Instant> next_deadline() const override;
    void on_timer(Instant now) override;
    void check_invariants() const override;

    // ---- observation (tests, the simulator) ----
    bool quorate() const { return cluster_is_quorate_; }
    std::uint32_t quorum() const { return quorum_; }
    const Node& us() const;
    const Node* node(NodeId id) const;
    const std::vector<Node>& nodes() const { return nodes_; }
    const Node& qdevice() const { return qdevice_; }
    // Σ votes of MEMBER nodes (+ the device's when this node casts its vote), as GETINFO.
    std::uint32_t total_votes() const;
    std::uint32_t highest_expected() const;
    bool wait_for_all_status() const { return wait_for_all_status_; }
    std::uint32_t ev_barrier() const { return ev_barrier_; }
    Atb auto_tie_breaker() const { return atb_; }
    bool last_man_standing() const { return last_man_standing_; }
    const std::string& qdevice_name() const { return qdevice_name_; }
    // The start-up configuration error (votequorum_readconfig), "" when it started.
    const std::string& init_error() const { return init_error_; }

  private:
    struct Tracker {
        ConnId conn = 0;
        std::uint64_t context = 0;
    };
    struct Conn {
        bool tracking = false;
        std::uint32_t track_flags = 0;
        std::uint64_t context = 0;
    };

    // sync::Participant (votequorum_sync_*)
    void sync_init(const NodeList& trans, const NodeList& members, const RingId& ring) override;
    bool sync_process() override;
    void sync_activate() override;
    void sync_abort() override {}

    // ---- configuration (votequorum_readconfig, votequorum_refresh_config) ----
    std::optional<std::string> read_config(bool runtime);
    bool read_nodelist(std::uint32_t& votes, std::uint32_t& nodes, std::uint32_t& expected);
    bool qdevice_configured(std::int64_t& qdevice_votes);
    void parse_atb_string(const std::string& s);
    void refresh_config(const std::string& key);

    // ---- the node list ----
    Node* find(NodeId id);
    Node* allocate(NodeId id);
    Node& us_mut();

    // ---- quorum ----
    std::uint32_t calculate_quorum(bool allow_decrease, std::uint32_t max_expected,
                                   std::uint32_t* ret_total_votes);
    void update_node_expected_votes(std::uint32_t v);
    void are_we_quorate(std::uint32_t total_votes);
    void recalculate_quorum(bool allow_decrease, bool by_current_nodes);
    void get_lowest_node_id();
    void get_highest_node_id();
    bool member_with_id(std::int64_t id) const;
    bool check_auto_tie_breaker();
    bool check_qdevice_master() const;

    // ---- keys ----
    void update_wait_for_all_status(bool status);
    void update_ev_barrier(std::uint32_t v);
    void update_qdevice_can_operate(bool v);
    void update_qdevice_master_wins(bool v);
    void update_ev_tracking_barrier(std::uint32_t v);
    void set_u32(const std::string& key, std::uint32_t v);
    void set_u8(const std::string& key, std::uint8_t v);

    // ---- sending ----
    bool send_nodeinfo(NodeId nodeid);
    bool send_reconfigure(std::uint8_t param, NodeId nodeid, std::uint32_t value);
    bool send_qdevice_reg(std::uint32_t operation, const std::string& name);
    bool send_qdevice_reconfigure(const std::string& oldname, const std::string& newname);
    void send_quorum_notification(std::optional<Tracker> to);
    void send_nodelist_notification(std::optional<Tracker> to);
    void send_expectedvotes_notification();
    void decode_flags(std::uint32_t flags);

    // ---- exec handlers ----
    void on_nodeinfo(NodeId sender, ByteView message);
    void on_reconfigure(NodeId sender, ByteView message);
    void on_qdevice_reg(NodeId sender, ByteView message);
    void on_qdevice_reconfigure(NodeId sender, ByteView message);

    // ---- timers ----
    void lms_timer_fired();
    void qdevice_timer_fired();

    void drop(NodeId sender, const char* what, proto::DecodeError e);
    void status(ConnId conn, proto::CsError e);
    void reply_invalid(ConnId conn, std::int32_t id);

    QuorumListener& listener_;
    VotequorumOptions options_;

    // the node list (cluster_members_list, in its order) and the device's record
    std::vector<Node> nodes_;
    Node qdevice_;
    NodeId us_id_ = 0;

    // configuration
    bool two_node_ = false;
    bool wait_for_all_ = false;
    bool wait_for_all_status_ = false;
    bool wait_for_all_autoset_ = false;
    Atb atb_ = Atb::none, initial_atb_ = Atb::none;
    std::vector<std::uint32_t> atb_nodelist_;
    std::int64_t lowest_node_id_ = -1, highest_node_id_ = -1;
    bool last_man_standing_ = false;
    std::uint32_t lms_window_ms_ = lms_window_default_ms;
    bool allow_downscale_ = false;
    std::uint32_t ev_barrier_ = 0;
    bool ev_tracking_ = false;
    std::uint32_t ev_tracking_barrier_ = 0;
    std::uint32_t qdevice_timeout_ms_ = qdevice_timeout_default_ms;
    std::uint32_t qdevice_sync_timeout_ms_ = qdevice_sync_timeout_default_ms;
    bool qdevice_can_operate_ = true;
    bool qdevice_master_wins_ = false;
    std::string qdevice_name_;
    std::optional<ConnId> qdevice_reg_conn_;

    // quorum (corosync keeps quorum in a uint8_t: values wrap at 256, as there)
    std::uint8_t quorum_ = 0;
    bool cluster_is_quorate_ = false;

    // membership as the last sync saw it
    NodeList quorum_members_, previous_quorum_members_;
    RingId quorum_ringid_;

    // clients
    std::map<ConnId, Conn> conns_;
    std::vector<ConnId> trackers_;  // newest first (qb_list_add)

    // timers and sync
    std::optional<Instant> lms_deadline_;
    std::optional<Instant> qdevice_deadline_;
    bool qdevice_timer_set_ = false;  // corosync's flag: may outlive a timer that found no device
    bool sync_in_progress_ = false;
    bool sync_nodeinfo_sent_ = false;
    bool sync_wait_for_poll_or_timeout_ = false;

    // key tracking
    std::vector<TrackId> tracks_;
    bool reload_in_progress_ = false;  // as the notification stream last said
    bool skip_cancel_wfa_reset_ = false;

    std::string init_error_;
    std::uint64_t decode_errors_ = 0;
    std::uint64_t dropped_exec_ = 0;
};

}  // namespace totem::services
