// How a cluster-wide (exec) message is addressed (shared/spec/services-and-ipc.md A1.1, B1):
// the services and their ids, the function ids of each service's exec messages, and the
// header every exec message starts with: a qb_ipc_request_header whose id is
// `service << 16 | fn` (the CPG JOINLIST message uses the 24-byte response-style header; id and
// size sit at the same offsets).
//
// Exec messages travel in totempg group "a"; the sync protocol's own messages in group "sync"
// (proto/sync.hpp) have plain ids 0 and 1. Corosync senders write their host byte order; we
// write and decode little-endian only. A dispatcher that learns from totem that a sender has
// the other byte order counts and drops its messages; peek_exec_swapped() reads such a header
// (byte-swapped) so that the counter can name the service.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "common/bytes.hpp"
#include "common/result.hpp"
#include "proto/ipc.hpp"

namespace totem::proto {

// enum corosync_service_types (include/corosync/corodefs.h).
enum class ServiceId : std::uint16_t {
    cmap = 0,
    cfg = 1,
    cpg = 2,
    quorum = 3,
    pload = 4,
    votequorum = 5,
    mon = 6,
    wd = 7,
};
inline constexpr std::uint16_t service_count = 8;
inline constexpr std::uint16_t services_count_max = 64;  // SERVICES_COUNT_MAX

// The IPC service name and cmap `runtime.services.<short>` name: "cmap", "cfg", ...
std::string_view short_name(ServiceId s);
// The engine name corosync logs ("corosync configuration map access", ...).
std::string_view engine_name(ServiceId s);
// The service with this id, if it is one of the eight.
std::optional<ServiceId> service_from_id(std::uint16_t id);

// SERVICE_ID_MAKE(service, fn).
constexpr std::int32_t exec_id(ServiceId service, std::uint16_t fn) {
    return static_cast<std::int32_t>((static_cast<std::uint32_t>(service) << 16) | fn);
}

// The exec functions of each service (the exec_engine tables of exec/*.c); `count` is
// exec_engine_count. quorum, mon and wd have none.
namespace cmap {
enum class ExecFn : std::uint16_t { mcast = 0, count };
}
namespace cfg {
enum class ExecFn : std::uint16_t {
    ringreenable = 0,
    killnode = 1,
    shutdown = 2,
    reload_config = 3,
    crypto_reconfig = 4,
    count
};
}
namespace cpg {
enum class ExecFn : std::uint16_t {
    procjoin = 0,
    procleave = 1,
    joinlist = 2,
    mcast = 3,
    downlist_old = 4,
    downlist = 5,
    partial_mcast = 6,
    count
};
}
namespace pload {
enum class ExecFn : std::uint16_t { start = 0, mcast = 1, count };
}
namespace votequorum {
enum class ExecFn : std::uint16_t {
    nodeinfo = 0,
    reconfigure = 1,
    qdevice_reg = 2,
    qdevice_reconfigure = 3,
    count
};
}

// The number of exec functions of a service (0 for quorum, mon, wd).
std::uint16_t exec_fn_count(ServiceId s);
// "procjoin", "nodeinfo", ...: the names used in runtime.services.<svc>.<fn> logs and tests.
std::string_view exec_fn_name(ServiceId s, std::uint16_t fn);

struct ExecHeader {
    std::uint16_t service = 0;  // raw: may be a service we do not have
    std::uint16_t fn = 0;
    std::int32_t size = 0;  // as sent; pload's does not match its length (pload.hpp)
    bool operator==(const ExecHeader&) const = default;
};

// The header of an exec message in little-endian: at least 16 bytes. The size field is
// returned as sent and not compared with the length (each message's decoder does that).
Result<ExecHeader, DecodeError> peek_exec(ByteView message);
// The same header as a sender of the other byte order (big-endian) wrote it.
Result<ExecHeader, DecodeError> peek_exec_swapped(ByteView message);

}  // namespace totem::proto
