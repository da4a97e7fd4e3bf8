// cmap (service 0): corosync's configuration map over IPC (exec/cmap.c; spec A3.2, B2.3,
// B3.3). Every request of libcmap 3.1.7 on the key store (services/keystore.hpp): get, set,
// delete, adjust, prefix iteration, tracking, and the switch to the stats map; the cluster
// side: the MCAST of totem.config_version at every sync and whenever it changes, and the
// check at the first sync with other nodes that they run the same config_version (a node
// that differs shuts down, as corosync does).
//
// Per connection: the map it uses, its iterators and its trackers (removed on disconnect).
// Handles are opaque to clients; they are never reused within a run. Bounds: at most
// iterators_max iterators and trackers_max trackers per connection (CS_ERR_NO_RESOURCES
// beyond them; corosync has no limit, docs/protocol/deviations.md).
#pragma once

#include <cstdint>
#include <map>
#include <optional>

#include "services/keystore.hpp"
#include "services/service.hpp"

namespace totem::services {

class Cmap final : public Service, private sync::Participant {
  public:
    static constexpr std::uint16_t service_id = 0;
    static constexpr std::size_t iterators_max = 1024;
    static constexpr std::size_t trackers_max = 4096;

    explicit Cmap(Api& api);

    ServiceInfo info() const override;
    void exec(NodeId sender, std::uint16_t fn, ByteView message) override;
    FlowControl flow_control(std::int32_t) const override { return FlowControl::not_required; }
    bool lib_init(const ClientInfo& client) override;
    void lib_exit(ConnId conn) override;
    void lib_request(ConnId conn, std::int32_t id, ByteView request) override;
    sync::Participant* sync() override { return this; }
    void key_changed(const Notification& n) override;
    void check_invariants() const override;

  private:
    struct Tracker {
        TrackId id;
        bool stats = false;  // on the stats map
    };
    struct Conn {
        bool stats_map = false;
        std::map<std::uint64_t, KeyIterator> iterators;  // by handle
        std::map<std::uint64_t, Tracker> trackers;       // by handle
    };

    // sync::Participant (cmap_sync_*)
    void sync_init(const NodeList& trans, const NodeList& members, const RingId& ring) override;
    bool sync_process() override;
    void sync_activate() override;
    void sync_abort() override {}

    bool mcast_config_version(std::uint8_t reason);
    KeyStore& store(const Conn& c) { return c.stats_map ? api_.stats() : api_.keys(); }
    void reply_invalid(ConnId conn, std::int32_t id);

    std::map<ConnId, Conn> conns_;
    std::map<TrackId, std::pair<ConnId, std::uint64_t>> track_owner_;  // → (conn, handle)
    std::uint64_t next_handle_ = 0x1a2b000000000001ull;
    std::optional<TrackId> config_version_track_;
    // sync state (exec/cmap.c)
    std::size_t sync_trans_entries_ = 0;
    std::uint64_t my_config_version_ = 0;
    std::uint64_t highest_config_version_ = 0;
    bool first_sync_ = true;
    std::uint64_t decode_errors_ = 0;
};

}  // namespace totem::services
