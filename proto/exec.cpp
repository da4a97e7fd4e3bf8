#include "proto/exec.hpp"

namespace totem::proto {

static_assert(exec_id(ServiceId::cpg, 2) == 0x00020002);
static_assert(exec_id(ServiceId::votequorum, 1) == 0x00050001);

std::string_view short_name(ServiceId s) {
    switch (s) {
        case ServiceId::cmap:
            return "cmap";
        case ServiceId::cfg:
            return "cfg";
        case ServiceId::cpg:
            return "cpg";
        case ServiceId::quorum:
            return "quorum";
        case ServiceId::pload:
            return "pload";
        case ServiceId::votequorum:
            return "votequorum";
        case ServiceId::mon:
            return "mon";
        case ServiceId::wd:
            return "wd";
    }
    return "unknown";
}

std::string_view engine_name(ServiceId s) {
    switch (s) {
        case ServiceId::cmap:
            return "corosync configuration map access";
        case ServiceId::cfg:
            return "corosync configuration service";
        case ServiceId::cpg:
            return "corosync cluster closed process group service v1.01";
        case ServiceId::quorum:
            return "corosync cluster quorum service v0.1";
        case ServiceId::pload:
            return "corosync profile loading service";
        case ServiceId::votequorum:
            return "corosync vote quorum service v1.0";
        case ServiceId::mon:
            return "corosync resource monitoring service";
        case ServiceId::wd:
            return "corosync watchdog service";
    }
    return "unknown";
}

std::optional<ServiceId> service_from_id(std::uint16_t id) {
    if (id >= service_count)
        return std::nullopt;
    return static_cast<ServiceId>(id);
}

std::uint16_t exec_fn_count(ServiceId s) {
    switch (s) {
        case ServiceId::cmap:
            return static_cast<std::uint16_t>(cmap::ExecFn::count);
        case ServiceId::cfg:
            return static_cast<std::uint16_t>(cfg::ExecFn::count);
        case ServiceId::cpg:
            return static_cast<std::uint16_t>(cpg::ExecFn::count);
        case ServiceId::pload:
            return static_cast<std::uint16_t>(pload::ExecFn::count);
        case ServiceId::votequorum:
            return static_cast<std::uint16_t>(votequorum::ExecFn::count);
        case ServiceId::quorum:
        case ServiceId::mon:
        case ServiceId::wd:
            return 0;
    }
    return 0;
}

std::string_view exec_fn_name(ServiceId s, std::uint16_t fn) {
    static constexpr std::string_view cmap_fns[] = {"mcast"};
    static constexpr std::string_view cfg_fns[] = {"ringreenable", "killnode", "shutdown",
                                                   "reload_config", "crypto_reconfig"};
    static constexpr std::string_view cpg_fns[] = {
        "procjoin", "procleave", "joinlist", "mcast", "downlist_old", "downlist", "partial_mcast"};
    static constexpr std::string_view pload_fns[] = {"start", "mcast"};
    static constexpr std::string_view votequorum_fns[] = {"nodeinfo", "reconfigure", "qdevice_reg",
                                                          "qdevice_reconfigure"};
    if (fn >= exec_fn_count(s))
        return "unknown";
    switch (s) {
        case ServiceId::cmap:
            return cmap_fns[fn];
        case ServiceId::cfg:
            return cfg_fns[fn];
        case ServiceId::cpg:
            return cpg_fns[fn];
        case ServiceId::pload:
            return pload_fns[fn];
        case ServiceId::votequorum:
            return votequorum_fns[fn];
        case ServiceId::quorum:
        case ServiceId::mon:
        case ServiceId::wd:
            break;
    }
    return "unknown";
}

namespace {

Result<ExecHeader, DecodeError> peek(ByteView message, bool swapped) {
    if (message.size() < request_header_size)
        return Err{DecodeError::too_short};
    Reader r(message, swapped);
    const std::uint32_t id = r.u32();
    (void)r.take(4);
    ExecHeader h;
    h.service = static_cast<std::uint16_t>(id >> 16);
    h.fn = static_cast<std::uint16_t>(id & 0xffff);
    h.size = r.i32();
    return h;
}

}  // namespace

Result<ExecHeader, DecodeError> peek_exec(ByteView message) {
    return peek(message, false);
}

Result<ExecHeader, DecodeError> peek_exec_swapped(ByteView message) {
    return peek(message, true);
}

}  // namespace totem::proto
