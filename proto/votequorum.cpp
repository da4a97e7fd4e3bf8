#include "proto/votequorum.hpp"

#include "proto/codec.hpp"

namespace totem::proto::votequorum {

using detail::In;
using detail::Out;
using detail::Sizing;

// Natural C alignment after the 8-aligned header, each struct padded to a multiple of 8.
static_assert(req_u32_size == request_header_size + 4 + 4);
static_assert(req_trackstart_size == request_header_size + 8 + 4 + 4);
static_assert(req_qdevice_name_size == request_header_size + qdevice_name_size + 1);
static_assert(req_qdevice_update_size == request_header_size + 2 * qdevice_name_size + 2);
static_assert(req_qdevice_poll_size ==
              request_header_size + qdevice_name_size + 1 + 4 + 4 + mar_ring_id_size);
static_assert(req_qdevice_master_wins_size == request_header_size + qdevice_name_size + 1 + 4 + 4);
static_assert(res_getinfo_size == response_header_size + 9 * 4 + qdevice_name_size + 5);
static_assert(res_quorum_notification_fixed_size == response_header_size + 8 + 8 + 8);
static_assert(res_nodelist_notification_fixed_size ==
              response_header_size + 8 + mar_ring_id_size + 8);
static_assert(res_expectedvotes_notification_size == response_header_size + 8 + 8);
static_assert(exec_nodeinfo_size == request_header_size + 4 * 4);
static_assert(exec_reconfigure_size == request_header_size + 4 + 4 + 4 + 4);
static_assert(exec_qdevice_reg_size == request_header_size + 4 + qdevice_name_size + 5);
static_assert(exec_qdevice_reconfigure_size == request_header_size + 2 * qdevice_name_size + 2);

namespace {

constexpr std::int32_t id(ReqId i) {
    return static_cast<std::int32_t>(i);
}
constexpr std::int32_t id(ResId i) {
    return static_cast<std::int32_t>(i);
}
constexpr std::int32_t id(ExecFn fn) {
    return exec_id(ServiceId::votequorum, static_cast<std::uint16_t>(fn));
}

Bytes encode_req_u32(std::int32_t msg_id, std::uint32_t v, PadFill fill) {
    Out o(fill);
    o.request_header(msg_id);
    o.u32(v);
    o.pad(4);
    return o.finish(req_u32_size);
}

Result<std::uint32_t, DecodeError> decode_req_u32(ByteView message, std::int32_t msg_id) {
    In in = detail::open_request(message, msg_id, req_u32_size, Sizing::exact);
    const std::uint32_t v = in.u32();
    in.skip(4);
    return in.done(v);
}

Bytes encode_name_req(std::int32_t msg_id, const std::string& name, PadFill fill) {
    Out o(fill);
    o.request_header(msg_id);
    o.cstring(name, qdevice_name_size);
    o.pad(1);
    return o.finish(req_qdevice_name_size);
}

Result<std::string, DecodeError> decode_name_req(ByteView message, std::int32_t msg_id) {
    In in = detail::open_request(message, msg_id, req_qdevice_name_size, Sizing::exact);
    std::string name = in.cstring(qdevice_name_size);
    in.skip(1);
    return in.done(std::move(name));
}

}  // namespace

// ---------------------------------------------------------------------------------- requests

Bytes encode(const ReqGetInfo& m, PadFill fill) {
    return encode_req_u32(id(ReqId::getinfo), static_cast<std::uint32_t>(m.nodeid), fill);
}
Result<ReqGetInfo, DecodeError> decode_req_getinfo(ByteView message) {
    auto v = decode_req_u32(message, id(ReqId::getinfo));
    if (!v)
        return Err{v.error()};
    return ReqGetInfo{static_cast<std::int32_t>(*v)};
}
Bytes encode(const ReqSetExpected& m, PadFill fill) {
    return encode_req_u32(id(ReqId::setexpected), m.expected_votes, fill);
}
Result<ReqSetExpected, DecodeError> decode_req_setexpected(ByteView message) {
    auto v = decode_req_u32(message, id(ReqId::setexpected));
    if (!v)
        return Err{v.error()};
    return ReqSetExpected{*v};
}

Bytes encode(const ReqSetVotes& m, PadFill fill) {
    Out o(fill);
    o.request_header(id(ReqId::setvotes));
    o.u32(m.votes);
    o.i32(m.nodeid);
    return o.finish(req_u32_size);
}

Result<ReqSetVotes, DecodeError> decode_req_setvotes(ByteView message) {
    In in = detail::open_request(message, id(ReqId::setvotes), req_u32_size, Sizing::exact);
    ReqSetVotes m;
    m.votes = in.u32();
    m.nodeid = in.i32();
    return in.done(m);
}

Bytes encode(const ReqTrackStart& m, PadFill fill) {
    Out o(fill);
    o.request_header(id(ReqId::trackstart));
    o.u64(m.context);
    o.u32(m.track_flags);
    o.pad(4);
    return o.finish(req_trackstart_size);
}

Result<ReqTrackStart, DecodeError> decode_req_trackstart(ByteView message) {
    In in =
        detail::open_request(message, id(ReqId::trackstart), req_trackstart_size, Sizing::exact);
    ReqTrackStart m;
    m.context = in.u64();
    m.track_flags = in.u32();
    in.skip(4);
    return in.done(m);
}

Bytes encode(const ReqTrackStop&, PadFill fill) {
    return detail::bare_request(id(ReqId::trackstop), fill);
}
Result<ReqTrackStop, DecodeError> decode_req_trackstop(ByteView message) {
    return detail::decode_bare_request<ReqTrackStop>(message, id(ReqId::trackstop));
}

Bytes encode(const ReqQdeviceRegister& m, PadFill fill) {
    return encode_name_req(id(ReqId::qdevice_register), m.name, fill);
}
Result<ReqQdeviceRegister, DecodeError> decode_req_qdevice_register(ByteView message) {
    auto n = decode_name_req(message, id(ReqId::qdevice_register));
    if (!n)
        return Err{n.error()};
    return ReqQdeviceRegister{std::move(*n)};
}
Bytes encode(const ReqQdeviceUnregister& m, PadFill fill) {
    return encode_name_req(id(ReqId::qdevice_unregister), m.name, fill);
}
Result<ReqQdeviceUnregister, DecodeError> decode_req_qdevice_unregister(ByteView message) {
    auto n = decode_name_req(message, id(ReqId::qdevice_unregister));
    if (!n)
        return Err{n.error()};
    return ReqQdeviceUnregister{std::move(*n)};
}

Bytes encode(const ReqQdeviceUpdate& m, PadFill fill) {
    Out o(fill);
    o.request_header(id(ReqId::qdevice_update));
    o.cstring(m.oldname, qdevice_name_size);
    o.cstring(m.newname, qdevice_name_size);
    o.pad(2);
    return o.finish(req_qdevice_update_size);
}

Result<ReqQdeviceUpdate, DecodeError> decode_req_qdevice_update(ByteView message) {
    In in = detail::open_request(message, id(ReqId::qdevice_update), req_qdevice_update_size,
                                 Sizing::exact);
    ReqQdeviceUpdate m;
    m.oldname = in.cstring(qdevice_name_size);
    m.newname = in.cstring(qdevice_name_size);
    in.skip(2);
    return in.done(std::move(m));
}

Bytes encode(const ReqQdevicePoll& m, PadFill fill) {
    Out o(fill);
    o.request_header(id(ReqId::qdevice_poll));
    o.cstring(m.name, qdevice_name_size);
    o.pad(1);
    o.i32(m.cast_vote);
    o.pad(4);
    o.mar_ring_id(m.ring_id);
    return o.finish(req_qdevice_poll_size);
}

Result<ReqQdevicePoll, DecodeError> decode_req_qdevice_poll(ByteView message) {
    In in = detail::open_request(message, id(ReqId::qdevice_poll), req_qdevice_poll_size,
                                 Sizing::exact);
    ReqQdevicePoll m;
    m.name = in.cstring(qdevice_name_size);
    in.skip(1);
    m.cast_vote = in.i32();
    in.skip(4);
    m.ring_id = in.mar_ring_id();
    return in.done(std::move(m));
}

Bytes encode(const ReqQdeviceMasterWins& m, PadFill fill) {
    Out o(fill);
    o.request_header(id(ReqId::qdevice_master_wins));
    o.cstring(m.name, qdevice_name_size);
    o.pad(1);
    o.u32(m.allow);
    o.pad(4);
    return o.finish(req_qdevice_master_wins_size);
}

Result<ReqQdeviceMasterWins, DecodeError> decode_req_qdevice_master_wins(ByteView message) {
    In in = detail::open_request(message, id(ReqId::qdevice_master_wins),
                                 req_qdevice_master_wins_size, Sizing::exact);
    ReqQdeviceMasterWins m;
    m.name = in.cstring(qdevice_name_size);
    in.skip(1);
    m.allow = in.u32();
    in.skip(4);
    return in.done(std::move(m));
}

// --------------------------------------------------------------------------------- responses

Bytes encode(const ResStatus& m, PadFill fill) {
    return detail::bare_response(id(ResId::status), m.error, fill);
}
Result<ResStatus, DecodeError> decode_res_status(ByteView message) {
    return detail::decode_bare_response<ResStatus>(message, id(ResId::status));
}

Bytes encode(const ResGetInfo& m, PadFill fill) {
    if (m.error != CsError::ok)
        return detail::error_response(id(ResId::getinfo), m.error, res_getinfo_size, fill);
    Out o(fill);
    o.response_header(id(ResId::getinfo), m.error);
    o.u32(m.nodeid);
    o.u32(m.state);
    o.u32(m.votes);
    o.u32(m.expected_votes);
    o.u32(m.highest_expected);
    o.u32(m.total_votes);
    o.u32(m.quorum);
    o.u32(m.flags);
    o.u32(m.qdevice_votes);
    o.cstring(m.qdevice_name, qdevice_name_size);
    o.pad(5);
    return o.finish(res_getinfo_size);
}

Result<ResGetInfo, DecodeError> decode_res_getinfo(ByteView message) {
    ResGetInfo m;
    In in = detail::open_response(message, id(ResId::getinfo), res_getinfo_size, Sizing::exact,
                                  m.error);
    if (in.ok() && m.error != CsError::ok)
        return in.done_early(std::move(m));
    m.nodeid = in.u32();
    m.state = in.u32();
    m.votes = in.u32();
    m.expected_votes = in.u32();
    m.highest_expected = in.u32();
    m.total_votes = in.u32();
    m.quorum = in.u32();
    m.flags = in.u32();
    m.qdevice_votes = in.u32();
    m.qdevice_name = in.cstring(qdevice_name_size);
    in.skip(5);
    return in.done(std::move(m));
}

// ----------------------------------------------------------------------------------- events

Bytes encode(const ResQuorumNotification& m, PadFill fill) {
    TOTEM_ASSERT(m.nodes.size() <= quorum_node_list_max);
    Out o(fill);
    o.response_header(id(ResId::quorum_notification), m.error);
    o.u32(m.quorate);
    o.pad(4);
    o.u64(m.context);
    o.u32(static_cast<std::uint32_t>(m.nodes.size()));
    o.pad(4);
    for (const Node& n : m.nodes) {
        o.u32(n.nodeid);
        o.u32(n.state);
    }
    return o.finish();
}

Result<ResQuorumNotification, DecodeError> decode_res_quorum_notification(ByteView message) {
    ResQuorumNotification m;
    In in = detail::open_response(message, id(ResId::quorum_notification),
                                  res_quorum_notification_fixed_size, Sizing::at_least, m.error);
    m.quorate = in.u32();
    in.skip(4);
    m.context = in.u64();
    const std::uint32_t n = in.u32();
    in.skip(4);
    if (n > quorum_node_list_max)
        in.fail(DecodeError::count_too_large);
    if (in.ok() && in.remaining() != 8 * std::size_t{n})
        in.fail(DecodeError::bad_length_field);
    for (std::uint32_t i = 0; in.ok() && i < n; ++i) {
        Node node;
        node.nodeid = in.u32();
        node.state = in.u32();
        m.nodes.push_back(node);
    }
    return in.done(std::move(m));
}

Bytes encode(const ResExpectedVotesNotification& m, PadFill fill) {
    Out o(fill);
    o.response_header(id(ResId::expectedvotes_notification), m.error);
    o.u64(m.context);
    o.u32(m.expected_votes);
    o.pad(4);
    return o.finish(res_expectedvotes_notification_size);
}

Result<ResExpectedVotesNotification, DecodeError> decode_res_expectedvotes_notification(
    ByteView message) {
    ResExpectedVotesNotification m;
    In in = detail::open_response(message, id(ResId::expectedvotes_notification),
                                  res_expectedvotes_notification_size, Sizing::exact, m.error);
    m.context = in.u64();
    m.expected_votes = in.u32();
    in.skip(4);
    return in.done(m);
}

Bytes encode(const ResNodelistNotification& m, PadFill fill) {
    TOTEM_ASSERT(m.nodes.size() <= nodelist_max);
    Out o(fill);
    o.response_header(id(ResId::nodelist_notification), m.error);
    o.u64(m.context);
    o.mar_ring_id(m.ring_id);
    o.u32(static_cast<std::uint32_t>(m.nodes.size()));
    o.pad(4);
    for (std::uint32_t n : m.nodes)
        o.u32(n);
    return o.finish();
}

Result<ResNodelistNotification, DecodeError> decode_res_nodelist_notification(ByteView message) {
    ResNodelistNotification m;
    In in = detail::open_response(message, id(ResId::nodelist_notification),
                                  res_nodelist_notification_fixed_size, Sizing::at_least, m.error);
    m.context = in.u64();
    m.ring_id = in.mar_ring_id();
    const std::uint32_t n = in.u32();
    in.skip(4);
    if (n > nodelist_max)
        in.fail(DecodeError::count_too_large);
    if (in.ok() && in.remaining() != 4 * std::size_t{n})
        in.fail(DecodeError::bad_length_field);
    for (std::uint32_t i = 0; in.ok() && i < n; ++i)
        m.nodes.push_back(in.u32());
    return in.done(std::move(m));
}

// ------------------------------------------------------------------------------------- exec

Bytes encode(const ExecNodeInfo& m, PadFill fill) {
    Out o(fill);
    o.request_header(id(ExecFn::nodeinfo));
    o.u32(m.nodeid);
    o.u32(m.votes);
    o.u32(m.expected_votes);
    o.u32(m.flags);
    return o.finish(exec_nodeinfo_size);
}

Result<ExecNodeInfo, DecodeError> decode_exec_nodeinfo(ByteView message) {
    In in = detail::open_request(message, id(ExecFn::nodeinfo), exec_nodeinfo_size, Sizing::exact);
    ExecNodeInfo m;
    m.nodeid = in.u32();
    m.votes = in.u32();
    m.expected_votes = in.u32();
    m.flags = in.u32();
    return in.done(m);
}

Bytes encode(const ExecReconfigure& m, PadFill fill) {
    Out o(fill);
    o.request_header(id(ExecFn::reconfigure));
    o.u32(m.nodeid);
    o.u32(m.value);
    o.u8(m.param);
    o.pad(3 + 4);  // _pad0.._pad2 (corosync zeroes them; nobody reads them) and the tail
    return o.finish(exec_reconfigure_size);
}

Result<ExecReconfigure, DecodeError> decode_exec_reconfigure(ByteView message) {
    In in = detail::open_request(message, id(ExecFn::reconfigure), exec_reconfigure_size,
                                 Sizing::exact);
    ExecReconfigure m;
    m.nodeid = in.u32();
    m.value = in.u32();
    m.param = in.u8();
    in.skip(3 + 4);
    return in.done(m);
}

Bytes encode(const ExecQdeviceReg& m, PadFill fill) {
    Out o(fill);
    o.request_header(id(ExecFn::qdevice_reg));
    o.u32(m.operation);
    o.cstring(m.qdevice_name, qdevice_name_size);
    o.pad(5);
    return o.finish(exec_qdevice_reg_size);
}

Result<ExecQdeviceReg, DecodeError> decode_exec_qdevice_reg(ByteView message) {
    In in = detail::open_request(message, id(ExecFn::qdevice_reg), exec_qdevice_reg_size,
                                 Sizing::exact);
    ExecQdeviceReg m;
    m.operation = in.u32();
    m.qdevice_name = in.cstring(qdevice_name_size);
    in.skip(5);
    return in.done(std::move(m));
}

Bytes encode(const ExecQdeviceReconfigure& m, PadFill fill) {
    Out o(fill);
    o.request_header(id(ExecFn::qdevice_reconfigure));
    o.cstring(m.oldname, qdevice_name_size);
    o.cstring(m.newname, qdevice_name_size);
    o.pad(2);
    return o.finish(exec_qdevice_reconfigure_size);
}

Result<ExecQdeviceReconfigure, DecodeError> decode_exec_qdevice_reconfigure(ByteView message) {
    In in = detail::open_request(message, id(ExecFn::qdevice_reconfigure),
                                 exec_qdevice_reconfigure_size, Sizing::exact);
    ExecQdeviceReconfigure m;
    m.oldname = in.cstring(qdevice_name_size);
    m.newname = in.cstring(qdevice_name_size);
    in.skip(2);
    return in.done(std::move(m));
}

// ---------------------------------------------------------------------------------- dispatch

Result<Request, DecodeError> decode_request(ByteView message) {
    auto h = peek_request(message);
    if (!h)
        return Err{h.error()};
    switch (static_cast<ReqId>(h->id)) {
        case ReqId::getinfo:
            return detail::as<Request>(decode_req_getinfo(message));
        case ReqId::setexpected:
            return detail::as<Request>(decode_req_setexpected(message));
        case ReqId::setvotes:
            return detail::as<Request>(decode_req_setvotes(message));
        case ReqId::trackstart:
            return detail::as<Request>(decode_req_trackstart(message));
        case ReqId::trackstop:
            return detail::as<Request>(decode_req_trackstop(message));
        case ReqId::qdevice_register:
            return detail::as<Request>(decode_req_qdevice_register(message));
        case ReqId::qdevice_unregister:
            return detail::as<Request>(decode_req_qdevice_unregister(message));
        case ReqId::qdevice_update:
            return detail::as<Request>(decode_req_qdevice_update(message));
        case ReqId::qdevice_poll:
            return detail::as<Request>(decode_req_qdevice_poll(message));
        case ReqId::qdevice_master_wins:
            return detail::as<Request>(decode_req_qdevice_master_wins(message));
    }
    return Err{DecodeError::unknown_id};
}

Result<Response, DecodeError> decode_response(ByteView message) {
    auto h = peek_response(message);
    if (!h)
        return Err{h.error()};
    switch (static_cast<ResId>(h->id)) {
        case ResId::status:
            return detail::as<Response>(decode_res_status(message));
        case ResId::getinfo:
            return detail::as<Response>(decode_res_getinfo(message));
        default:
            break;
    }
    return Err{DecodeError::unknown_id};
}

Result<Event, DecodeError> decode_event(ByteView message) {
    auto h = peek_response(message);
    if (!h)
        return Err{h.error()};
    switch (static_cast<ResId>(h->id)) {
        case ResId::quorum_notification:
            return detail::as<Event>(decode_res_quorum_notification(message));
        case ResId::expectedvotes_notification:
            return detail::as<Event>(decode_res_expectedvotes_notification(message));
        case ResId::nodelist_notification:
            return detail::as<Event>(decode_res_nodelist_notification(message));
        default:
            break;
    }
    return Err{DecodeError::unknown_id};
}

Result<Exec, DecodeError> decode_exec(ByteView message) {
    auto h = peek_exec(message);
    if (!h)
        return Err{h.error()};
    if (h->service != static_cast<std::uint16_t>(ServiceId::votequorum))
        return Err{DecodeError::unknown_id};
    switch (static_cast<ExecFn>(h->fn)) {
        case ExecFn::nodeinfo:
            return detail::as<Exec>(decode_exec_nodeinfo(message));
        case ExecFn::reconfigure:
            return detail::as<Exec>(decode_exec_reconfigure(message));
        case ExecFn::qdevice_reg:
            return detail::as<Exec>(decode_exec_qdevice_reg(message));
        case ExecFn::qdevice_reconfigure:
            return detail::as<Exec>(decode_exec_qdevice_reconfigure(message));
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

}  // namespace totem::proto::votequorum
