// quorum (service 3): corosync's quorum service (exec/vsf_quorum.c; spec A3.3, B3.5) — the
// quorate flag and the quorum view for libquorum clients (Pacemaker, corosync-quorumtool), in
// the library's models V0 (NOTIFICATION) and V1 (V1_QUORUM_NOTIFICATION and
// V1_NODELIST_NOTIFICATION), and the provider switch: with `quorum.provider` unset the node is
// always quorate (quorum_type 0, no decision ever arrives); with corosync_votequorum the
// decisions come from votequorum through QuorumListener (services/quorum_provider.hpp).
//
// State × request (every handler answers; none needs flow control):
//
//   request        | V0 connection                    | V1 connection
//   GETQUORATE     | quorate                          | quorate
//   TRACKSTART     | CURRENT|CHANGES: V0 quorum       | CURRENT|CHANGES: V1 nodelist (joined
//                  | notification; then EXIST if      | and left empty), V1 quorum
//                  | tracking, else CHANGES|          | notification; then as V0
//                  | CHANGES_ONLY register            |
//   TRACKSTOP      | CS_OK always (unregisters)       | CS_OK always
//   GETTYPE        | quorum_type                      | quorum_type
//   MODEL_GETTYPE  | 0/1 set the model, else INVALID_PARAM (model unchanged); quorum_type
//
// Trackers are kept newest first (corosync's qb_list_add), and every broadcast walks them in
// that order. Sync (B3.5): init computes the joined and left lists and logs "Sync members[n]",
// "Sync joined[n]", "Sync left[n]"; activate sends the V1 nodelist notification to V1
// trackers. A decision logs the primary / non-primary component line when the flag changes and
// "Members[n]: …" every time, then notifies every tracker in its model.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "services/quorum_provider.hpp"
#include "services/service.hpp"

namespace totem::services {

class Quorum final : public Service,
                     public QuorumListener,
                     public QuorumState,
                     private sync::Participant {
  public:
    static constexpr std::uint16_t service_id = 3;

    // `provider`: the configured quorum.provider ("" = none: always quorate).
    Quorum(Api& api, std::string provider);

    ServiceInfo info() const override;
    void exec(NodeId, std::uint16_t, ByteView) override {}  // no exec messages
    FlowControl flow_control(std::int32_t) const override { return FlowControl::not_required; }
    bool lib_init(const ClientInfo& client) override;
    void lib_exit(ConnId conn) override;
    void lib_request(ConnId conn, std::int32_t id, ByteView request) override;
    sync::Participant* sync() override { return this; }
    void check_invariants() const override;

    // QuorumListener (quorum_api_set_quorum)
    void set_quorum(const NodeList& view, bool quorate, const RingId& ring_id) override;
    // QuorumState (quorum_quorate)
    bool quorate() const override { return primary_designated_; }

    std::uint32_t quorum_type() const { return quorum_type_; }
    const NodeList& view() const { return view_; }

  private:
    struct Conn {
        std::uint32_t model = 0;  // LIB_QUORUM_MODEL_V0
        bool tracking = false;
        std::uint32_t track_flags = 0;
    };

    // sync::Participant (quorum_sync_*)
    void sync_init(const NodeList& trans, const NodeList& members, const RingId& ring) override;
    bool sync_process() override { return true; }
    void sync_activate() override;
    void sync_abort() override {}

    Bytes quorum_notification(std::uint32_t model) const;
    Bytes nodelist_notification(bool joined_left) const;
    void send_quorum_notification(ConnId conn);
    void send_nodelist_notification(ConnId conn, bool joined_left);
    void log_list(const NodeList& l, const char* what);
    void reply_invalid(ConnId conn, std::int32_t id);

    std::string provider_;
    std::uint32_t quorum_type_ = 0;
    bool primary_designated_ = false;
    // the last decision
    NodeList view_;
    RingId quorum_ring_id_;
    // the last sync
    RingId last_sync_ring_id_;
    NodeList member_list_, old_member_list_, joined_list_, left_list_;
    std::map<ConnId, Conn> conns_;
    std::vector<ConnId> trackers_;  // newest first
    std::uint64_t decode_errors_ = 0;
};

}  // namespace totem::services
