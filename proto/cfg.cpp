#include "proto/cfg.hpp"

#include "proto/codec.hpp"

namespace totem::proto::cfg {

using detail::In;
using detail::NameRule;
using detail::Out;
using detail::Sizing;

static_assert(req_killnode_size == request_header_size + 8 + 264);  // cs_name_t 258, padded
static_assert(cs_name_size + 6 == 264);
static_assert(req_u32_size == request_header_size + 8);
static_assert(req_nodestatusget_size == request_header_size + 8 + 8);
static_assert(res_ringstatusget_size == response_header_size + 8 +
                                            interfaces_max * interface_name_size +
                                            interfaces_max * interface_status_size);
static_assert(link_status_size == 4 + 4 + 2 * host_len);
static_assert(res_nodestatusget_size == response_header_size + 16 + links_max * link_status_size);
static_assert(res_nodestatusget_error_size == response_header_size + 8);
static_assert(res_get_node_addrs_fixed_size == response_header_size + 4 + 4);
static_assert(exec_source_size == request_header_size + message_source_size);
static_assert(exec_killnode_size == request_header_size + 8 + mar_name_size);

namespace {

constexpr std::int32_t id(ReqId i) {
    return static_cast<std::int32_t>(i);
}
constexpr std::int32_t id(ResId i) {
    return static_cast<std::int32_t>(i);
}
constexpr std::int32_t id(ExecFn fn) {
    return exec_id(ServiceId::cfg, static_cast<std::uint16_t>(fn));
}

// A request with one u32 right after the header, padded to 24.
Bytes encode_u32(std::int32_t msg_id, std::uint32_t v, PadFill fill) {
    Out o(fill);
    o.request_header(msg_id);
    o.u32(v);
    o.pad(4);
    return o.finish(req_u32_size);
}

Result<std::uint32_t, DecodeError> decode_u32(ByteView message, std::int32_t msg_id) {
    In in = detail::open_request(message, msg_id, req_u32_size, Sizing::exact);
    const std::uint32_t v = in.u32();
    in.skip(4);
    return in.done(v);
}

// Exec messages that are a MessageSource after the header.
Bytes encode_source(std::int32_t msg_id, const MessageSource& s, PadFill fill) {
    Out o(fill);
    o.request_header(msg_id);
    o.message_source(s);
    return o.finish(exec_source_size);
}

Result<MessageSource, DecodeError> decode_source(ByteView message, std::int32_t msg_id) {
    In in = detail::open_request(message, msg_id, exec_source_size, Sizing::exact);
    const MessageSource s = in.message_source();
    return in.done(s);
}

}  // namespace

// ---------------------------------------------------------------------------------- requests

Bytes encode(const ReqRingStatusGet&, PadFill fill) {
    return detail::bare_request(id(ReqId::ringstatusget), fill);
}
Result<ReqRingStatusGet, DecodeError> decode_req_ringstatusget(ByteView message) {
    return detail::decode_bare_request<ReqRingStatusGet>(message, id(ReqId::ringstatusget));
}
Bytes encode(const ReqRingReenable&, PadFill fill) {
    return detail::bare_request(id(ReqId::ringreenable), fill);
}
Result<ReqRingReenable, DecodeError> decode_req_ringreenable(ByteView message) {
    return detail::decode_bare_request<ReqRingReenable>(message, id(ReqId::ringreenable));
}
Bytes encode(const ReqLocalGet&, PadFill fill) {
    return detail::bare_request(id(ReqId::local_get), fill);
}
Result<ReqLocalGet, DecodeError> decode_req_local_get(ByteView message) {
    return detail::decode_bare_request<ReqLocalGet>(message, id(ReqId::local_get));
}
Bytes encode(const ReqReloadConfig&, PadFill fill) {
    return detail::bare_request(id(ReqId::reload_config), fill);
}
Result<ReqReloadConfig, DecodeError> decode_req_reload_config(ByteView message) {
    return detail::decode_bare_request<ReqReloadConfig>(message, id(ReqId::reload_config));
}
Bytes encode(const ReqReopenLogFiles&, PadFill fill) {
    return detail::bare_request(id(ReqId::reopen_log_files), fill);
}
Result<ReqReopenLogFiles, DecodeError> decode_req_reopen_log_files(ByteView message) {
    return detail::decode_bare_request<ReqReopenLogFiles>(message, id(ReqId::reopen_log_files));
}
Bytes encode(const ReqTrackStop&, PadFill fill) {
    return detail::bare_request(id(ReqId::trackstop), fill);
}
Result<ReqTrackStop, DecodeError> decode_req_trackstop(ByteView message) {
    return detail::decode_bare_request<ReqTrackStop>(message, id(ReqId::trackstop));
}

Bytes encode(const ReqKillNode& m, PadFill fill) {
    Out o(fill);
    o.request_header(id(ReqId::killnode));
    o.u32(m.nodeid);
    o.pad(4);
    o.cs_name(m.reason);
    o.pad_to(req_killnode_size);
    return o.finish(req_killnode_size);
}

Result<ReqKillNode, DecodeError> decode_req_killnode(ByteView message) {
    In in = detail::open_request(message, id(ReqId::killnode), req_killnode_size, Sizing::exact);
    ReqKillNode m;
    m.nodeid = in.u32();
    in.skip(4);
    m.reason = in.cs_name();
    in.skip_to(req_killnode_size);
    return in.done(std::move(m));
}

Bytes encode(const ReqTryShutdown& m, PadFill fill) {
    return encode_u32(id(ReqId::tryshutdown), m.flags, fill);
}
Result<ReqTryShutdown, DecodeError> decode_req_tryshutdown(ByteView message) {
    auto v = decode_u32(message, id(ReqId::tryshutdown));
    if (!v)
        return Err{v.error()};
    return ReqTryShutdown{*v};
}
Bytes encode(const ReqReplyToShutdown& m, PadFill fill) {
    return encode_u32(id(ReqId::replytoshutdown), m.response, fill);
}
Result<ReqReplyToShutdown, DecodeError> decode_req_replytoshutdown(ByteView message) {
    auto v = decode_u32(message, id(ReqId::replytoshutdown));
    if (!v)
        return Err{v.error()};
    return ReqReplyToShutdown{*v};
}
Bytes encode(const ReqGetNodeAddrs& m, PadFill fill) {
    return encode_u32(id(ReqId::get_node_addrs), m.nodeid, fill);
}
Result<ReqGetNodeAddrs, DecodeError> decode_req_get_node_addrs(ByteView message) {
    auto v = decode_u32(message, id(ReqId::get_node_addrs));
    if (!v)
        return Err{v.error()};
    return ReqGetNodeAddrs{*v};
}

Bytes encode(const ReqNodeStatusGet& m, PadFill fill) {
    Out o(fill);
    o.request_header(id(ReqId::nodestatusget));
    o.u32(m.nodeid);
    o.pad(4);
    o.u32(m.version);
    o.pad(4);
    return o.finish(req_nodestatusget_size);
}

Result<ReqNodeStatusGet, DecodeError> decode_req_nodestatusget(ByteView message) {
    In in = detail::open_request(message, id(ReqId::nodestatusget), req_nodestatusget_size,
                                 Sizing::exact);
    ReqNodeStatusGet m;
    m.nodeid = in.u32();
    in.skip(4);
    m.version = in.u32();
    in.skip(4);
    return in.done(m);
}

Bytes encode(const ReqTrackStart& m, PadFill fill) {
    Out o(fill);
    o.request_header(id(ReqId::trackstart));
    o.u8(m.track_flags);
    o.pad(7);
    return o.finish(req_trackstart_size);
}

Result<ReqTrackStart, DecodeError> decode_req_trackstart(ByteView message) {
    In in =
        detail::open_request(message, id(ReqId::trackstart), req_trackstart_size, Sizing::exact);
    ReqTrackStart m;
    m.track_flags = in.u8();
    in.skip(7);
    return in.done(m);
}

// --------------------------------------------------------------------------------- responses

Bytes encode(const ResRingReenable& m, PadFill fill) {
    return detail::bare_response(id(ResId::ringreenable), m.error, fill);
}
Result<ResRingReenable, DecodeError> decode_res_ringreenable(ByteView message) {
    return detail::decode_bare_response<ResRingReenable>(message, id(ResId::ringreenable));
}
Bytes encode(const ResTrackStart& m, PadFill fill) {
    return detail::bare_response(id(ResId::statetrackstart), m.error, fill);
}
Result<ResTrackStart, DecodeError> decode_res_trackstart(ByteView message) {
    return detail::decode_bare_response<ResTrackStart>(message, id(ResId::statetrackstart));
}
Bytes encode(const ResTrackStop& m, PadFill fill) {
    return detail::bare_response(id(ResId::statetrackstop), m.error, fill);
}
Result<ResTrackStop, DecodeError> decode_res_trackstop(ByteView message) {
    return detail::decode_bare_response<ResTrackStop>(message, id(ResId::statetrackstop));
}
Bytes encode(const ResKillNode& m, PadFill fill) {
    return detail::bare_response(id(ResId::killnode), m.error, fill);
}
Result<ResKillNode, DecodeError> decode_res_killnode(ByteView message) {
    return detail::decode_bare_response<ResKillNode>(message, id(ResId::killnode));
}
Bytes encode(const ResTryShutdown& m, PadFill fill) {
    return detail::bare_response(id(ResId::tryshutdown), m.error, fill);
}
Result<ResTryShutdown, DecodeError> decode_res_tryshutdown(ByteView message) {
    return detail::decode_bare_response<ResTryShutdown>(message, id(ResId::tryshutdown));
}
Bytes encode(const ResReplyToShutdown& m, PadFill fill) {
    return detail::bare_response(id(ResId::replytoshutdown), m.error, fill);
}
Result<ResReplyToShutdown, DecodeError> decode_res_replytoshutdown(ByteView message) {
    return detail::decode_bare_response<ResReplyToShutdown>(message, id(ResId::replytoshutdown));
}
Bytes encode(const ResReloadConfig& m, PadFill fill) {
    return detail::bare_response(id(ResId::reload_config), m.error, fill);
}
Result<ResReloadConfig, DecodeError> decode_res_reload_config(ByteView message) {
    return detail::decode_bare_response<ResReloadConfig>(message, id(ResId::reload_config));
}
Bytes encode(const ResReopenLogFiles& m, PadFill fill) {
    return detail::bare_response(id(ResId::reopen_log_files), m.error, fill);
}
Result<ResReopenLogFiles, DecodeError> decode_res_reopen_log_files(ByteView message) {
    return detail::decode_bare_response<ResReopenLogFiles>(message, id(ResId::reopen_log_files));
}

Bytes encode(const ResRingStatusGet& m, PadFill fill) {
    if (m.error != CsError::ok)
        return detail::error_response(id(ResId::ringstatusget), m.error, res_ringstatusget_size,
                                      fill);
    TOTEM_ASSERT(m.interfaces.size() <= interfaces_max);
    Out o(fill);
    o.response_header(id(ResId::ringstatusget), m.error);
    o.u32(static_cast<std::uint32_t>(m.interfaces.size()));
    o.pad(4);
    constexpr std::size_t names_at = response_header_size + 8;
    constexpr std::size_t status_at = names_at + interfaces_max * interface_name_size;
    for (const Interface& i : m.interfaces)
        o.cstring(i.name, interface_name_size);
    o.pad_to(status_at);
    for (const Interface& i : m.interfaces)
        o.cstring(i.status, interface_status_size);
    o.pad_to(res_ringstatusget_size);
    return o.finish(res_ringstatusget_size);
}

Result<ResRingStatusGet, DecodeError> decode_res_ringstatusget(ByteView message) {
    ResRingStatusGet m;
    In in = detail::open_response(message, id(ResId::ringstatusget), res_ringstatusget_size,
                                  Sizing::exact, m.error);
    if (in.ok() && m.error != CsError::ok)
        return in.done_early(std::move(m));
    const std::uint32_t count = in.u32();
    in.skip(4);
    if (count > interfaces_max)
        in.fail(DecodeError::count_too_large);
    constexpr std::size_t status_at =
        response_header_size + 8 + interfaces_max * interface_name_size;
    if (in.ok())
        m.interfaces.resize(count);
    for (Interface& i : m.interfaces)
        i.name = in.cstring(interface_name_size);
    in.skip_to(status_at);
    for (Interface& i : m.interfaces)
        i.status = in.cstring(interface_status_size);
    in.skip_to(res_ringstatusget_size);
    return in.done(std::move(m));
}

Bytes encode(const ResGetNodeAddrs& m, PadFill fill) {
    if (m.error != CsError::ok)
        return detail::error_response(id(ResId::get_node_addrs), m.error,
                                      res_get_node_addrs_fixed_size, fill);
    TOTEM_ASSERT(m.addrs.size() <= node_addrs_max);
    Out o(fill);
    o.response_header(id(ResId::get_node_addrs), m.error);
    o.u32(m.family);
    o.u32(static_cast<std::uint32_t>(m.addrs.size()));
    for (const auto& a : m.addrs)
        o.bytes(ByteView(a.data(), a.size()));
    return o.finish();
}

Result<ResGetNodeAddrs, DecodeError> decode_res_get_node_addrs(ByteView message) {
    ResGetNodeAddrs m;
    In in = detail::open_response(message, id(ResId::get_node_addrs), res_get_node_addrs_fixed_size,
                                  Sizing::at_least, m.error);
    if (in.ok() && m.error != CsError::ok) {
        // family and num_addrs are left stale by corosync (e.g. 2 and 1 in a 32-byte reply).
        if (message.size() != res_get_node_addrs_fixed_size)
            in.fail(DecodeError::wrong_size);
        return in.done_early(std::move(m));
    }
    m.family = in.u32();
    const std::uint32_t count = in.u32();
    if (count > node_addrs_max)
        in.fail(DecodeError::count_too_large);
    if (in.ok() && in.remaining() != std::size_t{count} * addr_len)
        in.fail(DecodeError::bad_length_field);
    if (in.ok())
        m.addrs.resize(count);
    for (auto& a : m.addrs) {
        ByteView b = in.take(addr_len);
        if (b.size() == addr_len)
            std::copy(b.begin(), b.end(), a.begin());
    }
    return in.done(std::move(m));
}

Bytes encode(const ResLocalGet& m, PadFill fill) {
    if (m.error != CsError::ok)
        return detail::error_response(id(ResId::local_get), m.error, res_local_get_size, fill);
    Out o(fill);
    o.response_header(id(ResId::local_get), m.error);
    o.u32(m.local_nodeid);
    o.pad(4);
    return o.finish(res_local_get_size);
}

Result<ResLocalGet, DecodeError> decode_res_local_get(ByteView message) {
    ResLocalGet m;
    In in = detail::open_response(message, id(ResId::local_get), res_local_get_size, Sizing::exact,
                                  m.error);
    if (in.ok() && m.error != CsError::ok)
        return in.done_early(m);
    m.local_nodeid = in.u32();
    in.skip(4);
    return in.done(m);
}

Bytes encode(const ResNodeStatusGet& m, PadFill fill) {
    Out o(fill);
    o.response_header(id(ResId::nodestatusget), m.error);
    o.u32(m.version);
    if (m.error != CsError::ok) {
        o.pad(4);
        return o.finish(res_nodestatusget_error_size);
    }
    o.u32(m.nodeid);
    o.u8(m.reachable);
    o.u8(m.remote);
    o.u8(m.external);
    o.u8(m.onwire_min);
    o.u8(m.onwire_max);
    o.u8(m.onwire_ver);
    o.pad(2);
    for (const LinkStatus& l : m.links) {
        o.u8(l.enabled);
        o.u8(l.connected);
        o.u8(l.dynconnected);
        o.pad(1);
        o.u32(l.mtu);
        o.cstring(l.src_ipaddr, host_len);
        o.cstring(l.dst_ipaddr, host_len);
    }
    return o.finish(res_nodestatusget_size);
}

Result<ResNodeStatusGet, DecodeError> decode_res_nodestatusget(ByteView message) {
    ResNodeStatusGet m;
    In in = detail::open_response(message, id(ResId::nodestatusget), res_nodestatusget_error_size,
                                  Sizing::at_least, m.error);
    // CS_OK comes with the whole V1 status, an error with the version alone.
    const std::size_t want =
        m.error == CsError::ok ? res_nodestatusget_size : res_nodestatusget_error_size;
    if (in.ok() && message.size() != want)
        in.fail(message.size() < want ? DecodeError::too_short : DecodeError::wrong_size);
    m.version = in.u32();
    if (m.error != CsError::ok) {
        in.skip(4);
        return in.done(m);
    }
    m.nodeid = in.u32();
    m.reachable = in.u8();
    m.remote = in.u8();
    m.external = in.u8();
    m.onwire_min = in.u8();
    m.onwire_max = in.u8();
    m.onwire_ver = in.u8();
    in.skip(2);
    for (LinkStatus& l : m.links) {
        l.enabled = in.u8();
        l.connected = in.u8();
        l.dynconnected = in.u8();
        in.skip(1);
        l.mtu = in.u32();
        l.src_ipaddr = in.cstring(host_len);
        l.dst_ipaddr = in.cstring(host_len);
    }
    return in.done(std::move(m));
}

// ------------------------------------------------------------------------------------ event

Bytes encode(const ResTestShutdown& m, PadFill fill) {
    Out o(fill);
    o.response_header(id(ResId::testshutdown), m.error);
    o.u32(m.flags);
    o.pad(4);
    return o.finish(res_testshutdown_size);
}

Result<ResTestShutdown, DecodeError> decode_res_testshutdown(ByteView message) {
    ResTestShutdown m;
    In in = detail::open_response(message, id(ResId::testshutdown), res_testshutdown_size,
                                  Sizing::exact, m.error);
    m.flags = in.u32();
    in.skip(4);
    return in.done(m);
}

// ------------------------------------------------------------------------------------- exec

Bytes encode(const ExecRingReenable& m, PadFill fill) {
    return encode_source(id(ExecFn::ringreenable), m.source, fill);
}
Result<ExecRingReenable, DecodeError> decode_exec_ringreenable(ByteView message) {
    auto s = decode_source(message, id(ExecFn::ringreenable));
    if (!s)
        return Err{s.error()};
    return ExecRingReenable{*s};
}
Bytes encode(const ExecReloadConfig& m, PadFill fill) {
    return encode_source(id(ExecFn::reload_config), m.source, fill);
}
Result<ExecReloadConfig, DecodeError> decode_exec_reload_config(ByteView message) {
    auto s = decode_source(message, id(ExecFn::reload_config));
    if (!s)
        return Err{s.error()};
    return ExecReloadConfig{*s};
}

Bytes encode(const ExecKillNode& m, PadFill fill) {
    Out o(fill);
    o.request_header(id(ExecFn::killnode));
    o.u32(m.nodeid);
    o.pad(4);
    o.mar_name(m.reason, false);
    return o.finish(exec_killnode_size);
}

Result<ExecKillNode, DecodeError> decode_exec_killnode(ByteView message) {
    In in = detail::open_request(message, id(ExecFn::killnode), exec_killnode_size, Sizing::exact);
    ExecKillNode m;
    m.nodeid = in.u32();
    in.skip(4);
    m.reason = in.mar_name(NameRule::bytes);
    return in.done(std::move(m));
}

Bytes encode(const ExecShutdown&, PadFill fill) {
    return detail::bare_request(id(ExecFn::shutdown), fill);
}
Result<ExecShutdown, DecodeError> decode_exec_shutdown(ByteView message) {
    return detail::decode_bare_request<ExecShutdown>(message, id(ExecFn::shutdown));
}

Bytes encode(const ExecCryptoReconfig& m, PadFill fill) {
    return encode_u32(id(ExecFn::crypto_reconfig), m.phase, fill);
}
Result<ExecCryptoReconfig, DecodeError> decode_exec_crypto_reconfig(ByteView message) {
    auto v = decode_u32(message, id(ExecFn::crypto_reconfig));
    if (!v)
        return Err{v.error()};
    return ExecCryptoReconfig{*v};
}

// ---------------------------------------------------------------------------------- dispatch

Result<Request, DecodeError> decode_request(ByteView message) {
    auto h = peek_request(message);
    if (!h)
        return Err{h.error()};
    switch (static_cast<ReqId>(h->id)) {
        case ReqId::ringstatusget:
            return detail::as<Request>(decode_req_ringstatusget(message));
        case ReqId::ringreenable:
            return detail::as<Request>(decode_req_ringreenable(message));
        case ReqId::killnode:
            return detail::as<Request>(decode_req_killnode(message));
        case ReqId::tryshutdown:
            return detail::as<Request>(decode_req_tryshutdown(message));
        case ReqId::replytoshutdown:
            return detail::as<Request>(decode_req_replytoshutdown(message));
        case ReqId::get_node_addrs:
            return detail::as<Request>(decode_req_get_node_addrs(message));
        case ReqId::local_get:
            return detail::as<Request>(decode_req_local_get(message));
        case ReqId::reload_config:
            return detail::as<Request>(decode_req_reload_config(message));
        case ReqId::reopen_log_files:
            return detail::as<Request>(decode_req_reopen_log_files(message));
        case ReqId::nodestatusget:
            return detail::as<Request>(decode_req_nodestatusget(message));
        case ReqId::trackstart:
            return detail::as<Request>(decode_req_trackstart(message));
        case ReqId::trackstop:
            return detail::as<Request>(decode_req_trackstop(message));
    }
    return Err{DecodeError::unknown_id};
}

Result<Response, DecodeError> decode_response(ByteView message) {
    auto h = peek_response(message);
    if (!h)
        return Err{h.error()};
    switch (static_cast<ResId>(h->id)) {
        case ResId::ringstatusget:
            return detail::as<Response>(decode_res_ringstatusget(message));
        case ResId::ringreenable:
            return detail::as<Response>(decode_res_ringreenable(message));
        case ResId::statetrackstart:
            return detail::as<Response>(decode_res_trackstart(message));
        case ResId::statetrackstop:
            return detail::as<Response>(decode_res_trackstop(message));
        case ResId::killnode:
            return detail::as<Response>(decode_res_killnode(message));
        case ResId::tryshutdown:
            return detail::as<Response>(decode_res_tryshutdown(message));
        case ResId::replytoshutdown:
            return detail::as<Response>(decode_res_replytoshutdown(message));
        case ResId::reload_config:
            return detail::as<Response>(decode_res_reload_config(message));
        case ResId::reopen_log_files:
            return detail::as<Response>(decode_res_reopen_log_files(message));
        case ResId::get_node_addrs:
            return detail::as<Response>(decode_res_get_node_addrs(message));
        case ResId::local_get:
            return detail::as<Response>(decode_res_local_get(message));
        case ResId::nodestatusget:
            return detail::as<Response>(decode_res_nodestatusget(message));
        case ResId::administrativestateset:
        case ResId::administrativestateget:
        case ResId::serviceload:
        case ResId::serviceunload:
        case ResId::testshutdown:
            break;
    }
    return Err{DecodeError::unknown_id};
}

Result<Event, DecodeError> decode_event(ByteView message) {
    auto h = peek_response(message);
    if (!h)
        return Err{h.error()};
    if (h->id != id(ResId::testshutdown))
        return Err{DecodeError::unknown_id};
    return detail::as<Event>(decode_res_testshutdown(message));
}

Result<Exec, DecodeError> decode_exec(ByteView message) {
    auto h = peek_exec(message);
    if (!h)
        return Err{h.error()};
    if (h->service != static_cast<std::uint16_t>(ServiceId::cfg))
        return Err{DecodeError::unknown_id};
    switch (static_cast<ExecFn>(h->fn)) {
        case ExecFn::ringreenable:
            return detail::as<Exec>(decode_exec_ringreenable(message));
        case ExecFn::killnode:
            return detail::as<Exec>(decode_exec_killnode(message));
        case ExecFn::shutdown:
            return detail::as<Exec>(decode_exec_shutdown(message));
        case ExecFn::reload_config:
            return detail::as<Exec>(decode_exec_reload_config(message));
        case ExecFn::crypto_reconfig:
            return detail::as<Exec>(decode_exec_crypto_reconfig(message));
        case ExecFn::count:
            break;
    }
    return Err{DecodeError::unknown_id};
}

Bytes encode(const Request& m, PadFill fill) {
    return std::visit([fill](const auto& x) { return encode(x, fill); }, m);
}
Bytes encode(const Response& m, PadFill fill) {
    return std::visit([fill](const auto& x) { return encode(x, fill); }, m);
}
Bytes encode(const Event& m, PadFill fill) {
    return std::visit([fill](const auto& x) { return encode(x, fill); }, m);
}
Bytes encode(const Exec& m, PadFill fill) {
    return std::visit([fill](const auto& x) { return encode(x, fill); }, m);
}

}  // namespace totem::proto::cfg
