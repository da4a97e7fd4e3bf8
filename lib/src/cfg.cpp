#include "totem/client/cfg.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include "ipc.hpp"
#include "proto/cfg.hpp"

namespace totem::client {

namespace pc = proto::cfg;
using detail::ByteView;

struct Cfg::Impl {
    std::unique_ptr<detail::Ipc> ipc;
    std::function<void(Shutdown)> on_shutdown;
};

namespace {

template <typename Req>
Status simple(detail::Ipc& ipc, const Req& req) {
    const auto bytes = pc::encode(req);
    auto r = ipc.request(bytes);
    if (!r)
        return r.error();
    return {};
}

}  // namespace

std::string Cfg::Address::str() const {
    char buf[INET6_ADDRSTRLEN] = {};
    if (family != AF_INET && family != AF_INET6)
        return {};
    if (inet_ntop(family, bytes.data(), buf, sizeof(buf)) == nullptr)
        return {};
    return buf;
}

Cfg::Cfg(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Cfg::Cfg(Cfg&&) noexcept = default;
Cfg& Cfg::operator=(Cfg&&) noexcept = default;
Cfg::~Cfg() = default;

Result<Cfg> Cfg::connect(Options options) {
    auto ipc = detail::Ipc::connect("cfg", options);
    if (!ipc)
        return ipc.error();
    auto impl = std::make_unique<Impl>();
    impl->ipc = std::move(*ipc);
    return Cfg(std::move(impl));
}

Result<std::uint32_t> Cfg::local_nodeid() {
    const auto bytes = pc::encode(pc::ReqLocalGet{});
    auto r = impl_->ipc->request(bytes);
    if (!r)
        return r.error();
    auto res = detail::decoded(pc::decode_res_local_get(*r));
    if (!res)
        return res.error();
    return res->local_nodeid;
}

Result<Cfg::NodeStatus> Cfg::node_status(std::uint32_t nodeid) {
    const auto bytes = pc::encode(pc::ReqNodeStatusGet{nodeid, pc::node_status_v1});
    auto r = impl_->ipc->request(bytes);
    if (!r)
        return r.error();
    auto res = detail::decoded(pc::decode_res_nodestatusget(*r));
    if (!res)
        return res.error();
    if (res->version != pc::node_status_v1)
        return Errc::not_supported;  // libcfg: "something we don't really understand"
    NodeStatus s;
    s.nodeid = res->nodeid;
    s.reachable = res->reachable != 0;
    s.remote = res->remote != 0;
    s.external = res->external != 0;
    s.onwire_min = res->onwire_min;
    s.onwire_max = res->onwire_max;
    s.onwire_ver = res->onwire_ver;
    for (std::size_t i = 0; i < s.links.size(); ++i) {
        const pc::LinkStatus& l = res->links[i];
        s.links[i] = LinkStatus{l.enabled != 0, l.connected != 0, l.dynconnected != 0,
                                l.mtu,          l.src_ipaddr,     l.dst_ipaddr};
    }
    return s;
}

Result<std::vector<Cfg::Address>> Cfg::node_addrs(std::uint32_t nodeid) {
    const auto bytes = pc::encode(pc::ReqGetNodeAddrs{nodeid});
    auto r = impl_->ipc->request(bytes);
    if (!r)
        return r.error();
    auto res = detail::decoded(pc::decode_res_get_node_addrs(*r));
    if (!res)
        return res.error();
    std::vector<Address> out;
    // libcfg: an all-zero address (of the family's length) is an unused slot, family 0.
    const std::size_t len = res->family == AF_INET6 ? 16 : 4;
    for (const auto& a : res->addrs) {
        Address addr;
        const bool zero =
            std::all_of(a.begin(), a.begin() + len, [](std::uint8_t b) { return b == 0; });
        addr.family = zero ? 0 : static_cast<int>(res->family);
        std::copy(a.begin(), a.begin() + len, addr.bytes.begin());
        out.push_back(addr);
    }
    return out;
}

Result<std::vector<Cfg::Interface>> Cfg::ring_status() {
    const auto bytes = pc::encode(pc::ReqRingStatusGet{});
    auto r = impl_->ipc->request(bytes);
    if (!r)
        return r.error();
    auto res = detail::decoded(pc::decode_res_ringstatusget(*r));
    if (!res)
        return res.error();
    std::vector<Interface> out;
    for (auto& i : res->interfaces)
        out.push_back(Interface{std::move(i.name), std::move(i.status)});
    return out;
}

Status Cfg::reload_config() {
    return simple(*impl_->ipc, pc::ReqReloadConfig{});
}

Status Cfg::reopen_log_files() {
    return simple(*impl_->ipc, pc::ReqReopenLogFiles{});
}

Status Cfg::kill_node(std::uint32_t nodeid, std::string_view reason) {
    // libcfg: strlen(reason) < CS_MAX_NAME_LENGTH; the length sent counts the NUL.
    if (reason.size() >= proto::mar_name_value_size)
        return Errc::name_too_long;
    std::string with_nul(reason);
    with_nul.push_back('\0');
    return simple(*impl_->ipc, pc::ReqKillNode{nodeid, with_nul});
}

Status Cfg::try_shutdown(Shutdown flags) {
    return simple(*impl_->ipc, pc::ReqTryShutdown{static_cast<std::uint32_t>(flags)});
}

Status Cfg::reply_to_shutdown(bool allow) {
    return simple(*impl_->ipc, pc::ReqReplyToShutdown{allow ? 1u : 0u});
}

Status Cfg::track_start() {
    return simple(*impl_->ipc, pc::ReqTrackStart{0});
}

Status Cfg::track_stop() {
    return simple(*impl_->ipc, pc::ReqTrackStop{});
}

void Cfg::on_shutdown(std::function<void(Shutdown)> fn) {
    impl_->on_shutdown = std::move(fn);
}

int Cfg::fd() const {
    return impl_->ipc->fd();
}

Result<std::size_t> Cfg::dispatch(Dispatch mode) {
    return impl_->ipc->dispatch(mode, [this](ByteView ev) -> Status {
        auto e = pc::decode_res_testshutdown(ev);
        if (!e)
            return Errc::library;  // corosync_cfg_dispatch: an unknown event
        if (impl_->on_shutdown)
            impl_->on_shutdown(static_cast<Shutdown>(e->flags));
        return {};
    });
}

}  // namespace totem::client
