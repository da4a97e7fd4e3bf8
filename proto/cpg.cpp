#include "proto/cpg.hpp"

#include "proto/codec.hpp"

namespace totem::proto::cpg {

using detail::In;
using detail::Out;
using detail::Sizing;

static_assert(req_join_size == request_header_size + cpg_name_size + 8 + 8);
static_assert(req_leave_size == request_header_size + cpg_name_size + 8);
static_assert(req_mcast_fixed_size == response_header_size + 8 + 8);
static_assert(req_membership_size == request_header_size + cpg_name_size);
static_assert(req_iterationinitialize_size == request_header_size + cpg_name_size + 8);
static_assert(req_handle_size == request_header_size + 8);
static_assert(req_zc_alloc_size == request_header_size + 8 + zc_path_size);
static_assert(req_zc_free_size == request_header_size + 8 + 8);
static_assert(req_partial_mcast_fixed_size == response_header_size + 4 * 8);
static_assert(res_membership_size == response_header_size + 8 + membership_max * cpg_address_size);
static_assert(res_iterationnext_size == response_header_size + cpg_name_size + 4 + 4);
static_assert(res_deliver_fixed_size == response_header_size + cpg_name_size + 3 * 8);
static_assert(res_partial_deliver_fixed_size == response_header_size + cpg_name_size + 5 * 8);
static_assert(res_confchg_fixed_size == response_header_size + cpg_name_size + 3 * 8);
static_assert(res_totem_confchg_fixed_size == response_header_size + mar_ring_id_size + 8);
static_assert(exec_procjoin_size == request_header_size + cpg_name_size + 8 + 8);
static_assert(joinlist_entry_size == 8 + cpg_name_size);
static_assert(exec_mcast_fixed_size ==
              request_header_size + cpg_name_size + 8 + 8 + message_source_size);
static_assert(exec_partial_mcast_fixed_size ==
              request_header_size + cpg_name_size + 4 * 8 + message_source_size);
static_assert(exec_downlist_old_size == request_header_size + 8 + 4 * downlist_max);
static_assert(exec_downlist_size == request_header_size + 8 + 8 + 4 * downlist_max);

namespace {

constexpr std::int32_t id(ReqId i) {
    return static_cast<std::int32_t>(i);
}
constexpr std::int32_t id(ResId i) {
    return static_cast<std::int32_t>(i);
}
constexpr std::int32_t id(ExecFn fn) {
    return exec_id(ServiceId::cpg, static_cast<std::uint16_t>(fn));
}

Bytes encode_handle(std::int32_t msg_id, std::uint64_t handle, PadFill fill) {
    Out o(fill);
    o.request_header(msg_id);
    o.u64(handle);
    return o.finish(req_handle_size);
}

Result<std::uint64_t, DecodeError> decode_handle(ByteView message, std::int32_t msg_id) {
    In in = detail::open_request(message, msg_id, req_handle_size, Sizing::exact);
    const std::uint64_t h = in.u64();
    return in.done(h);
}

void put_addresses(Out& o, const std::vector<CpgAddress>& list) {
    for (const CpgAddress& a : list)
        o.cpg_address(a);
}

std::vector<CpgAddress> get_addresses(In& in, std::uint32_t n) {
    std::vector<CpgAddress> list;
    if (!in.ok())
        return list;
    list.reserve(n);
    for (std::uint32_t i = 0; i < n; ++i)
        list.push_back(in.cpg_address());
    return list;
}

// PROCJOIN and PROCLEAVE share their layout.
template <typename T>
Bytes encode_proc(std::int32_t msg_id, const T& m, PadFill fill) {
    Out o(fill);
    o.request_header(msg_id);
    o.cpg_name(m.group_name);
    o.u32(m.pid);
    o.pad(4);
    o.u32(m.reason);
    o.pad(4);
    return o.finish(exec_procjoin_size);
}

template <typename T>
Result<T, DecodeError> decode_proc(ByteView message, std::int32_t msg_id) {
    In in = detail::open_request(message, msg_id, exec_procjoin_size, Sizing::exact);
    T m;
    m.group_name = in.cpg_name();
    m.pid = in.u32();
    in.skip(4);
    m.reason = in.u32();
    in.skip(4);
    return in.done(std::move(m));
}

}  // namespace

// ---------------------------------------------------------------------------------- requests

Bytes encode(const ReqJoin& m, PadFill fill) {
    Out o(fill);
    o.request_header(id(ReqId::join));
    o.cpg_name(m.group_name);
    o.u32(m.pid);
    o.pad(4);
    o.u32(m.flags);
    o.pad(4);
    return o.finish(req_join_size);
}

Result<ReqJoin, DecodeError> decode_req_join(ByteView message) {
    In in = detail::open_request(message, id(ReqId::join), req_join_size, Sizing::exact);
    ReqJoin m;
    m.group_name = in.cpg_name();
    m.pid = in.u32();
    in.skip(4);
    m.flags = in.u32();
    in.skip(4);
    return in.done(std::move(m));
}

Bytes encode(const ReqLeave& m, PadFill fill) {
    Out o(fill);
    o.request_header(id(ReqId::leave));
    o.cpg_name(m.group_name);
    o.u32(m.pid);
    o.pad(4);
    return o.finish(req_leave_size);
}

Result<ReqLeave, DecodeError> decode_req_leave(ByteView message) {
    In in = detail::open_request(message, id(ReqId::leave), req_leave_size, Sizing::exact);
    ReqLeave m;
    m.group_name = in.cpg_name();
    m.pid = in.u32();
    in.skip(4);
    return in.done(std::move(m));
}

Bytes encode(const ReqMcast& m, PadFill fill) {
    Out o(fill, req_mcast_fixed_size + m.message.size());
    o.response_header(id(ReqId::mcast), std::nullopt);
    o.u32(m.guarantee);
    o.pad(4);
    o.u32(static_cast<std::uint32_t>(m.message.size()));
    o.pad(4);
    o.bytes(m.message);
    return o.finish();
}

Result<ReqMcastView, DecodeError> decode_req_mcast_view(ByteView message) {
    In in =
        detail::open_request24(message, id(ReqId::mcast), req_mcast_fixed_size, Sizing::at_least);
    ReqMcastView m;
    m.guarantee = in.u32();
    in.skip(4);
    const std::uint32_t msglen = in.u32();
    in.skip(4);
    if (in.ok() && msglen != in.remaining())
        in.fail(DecodeError::bad_length_field);
    m.message = in.take(in.remaining());
    return in.done(m);
}

Result<ReqMcast, DecodeError> decode_req_mcast(ByteView message) {
    auto v = decode_req_mcast_view(message);
    if (!v)
        return Err{v.error()};
    return ReqMcast{v->guarantee, Bytes(v->message.begin(), v->message.end())};
}

Bytes encode(const ReqMembershipGet& m, PadFill fill) {
    Out o(fill);
    o.request_header(id(ReqId::membership));
    o.cpg_name(m.group_name);
    return o.finish(req_membership_size);
}

Result<ReqMembershipGet, DecodeError> decode_req_membership(ByteView message) {
    In in =
        detail::open_request(message, id(ReqId::membership), req_membership_size, Sizing::exact);
    ReqMembershipGet m;
    m.group_name = in.cpg_name();
    return in.done(std::move(m));
}

Bytes encode(const ReqLocalGet&, PadFill fill) {
    return detail::bare_request(id(ReqId::local_get), fill);
}
Result<ReqLocalGet, DecodeError> decode_req_local_get(ByteView message) {
    return detail::decode_bare_request<ReqLocalGet>(message, id(ReqId::local_get));
}
Bytes encode(const ReqFinalize&, PadFill fill) {
    return detail::bare_request(id(ReqId::finalize), fill);
}
Result<ReqFinalize, DecodeError> decode_req_finalize(ByteView message) {
    return detail::decode_bare_request<ReqFinalize>(message, id(ReqId::finalize));
}

Bytes encode(const ReqIterationInitialize& m, PadFill fill) {
    TOTEM_ASSERT(m.iteration_type == iteration_one_group || m.group_name.empty());
    Out o(fill);
    o.request_header(id(ReqId::iterationinitialize));
    if (m.iteration_type == iteration_one_group)
        o.cpg_name(m.group_name);
    else
        o.pad(cpg_name_size);
    o.u32(m.iteration_type);
    o.pad(4);
    return o.finish(req_iterationinitialize_size);
}

Result<ReqIterationInitialize, DecodeError> decode_req_iterationinitialize(ByteView message) {
    In in = detail::open_request(message, id(ReqId::iterationinitialize),
                                 req_iterationinitialize_size, Sizing::exact);
    ReqIterationInitialize m;
    in.skip(cpg_name_size);
    m.iteration_type = in.u32();
    in.skip(4);
    if (in.ok() && m.iteration_type == iteration_one_group) {
        In name(message, request_header_size, std::nullopt);
        m.group_name = name.cpg_name();
        if (!name.ok())
            return Err{DecodeError::name_too_long};
    }
    return in.done(std::move(m));
}

Bytes encode(const ReqIterationNext& m, PadFill fill) {
    return encode_handle(id(ReqId::iterationnext), m.iteration_handle, fill);
}
Result<ReqIterationNext, DecodeError> decode_req_iterationnext(ByteView message) {
    auto h = decode_handle(message, id(ReqId::iterationnext));
    if (!h)
        return Err{h.error()};
    return ReqIterationNext{*h};
}
Bytes encode(const ReqIterationFinalize& m, PadFill fill) {
    return encode_handle(id(ReqId::iterationfinalize), m.iteration_handle, fill);
}
Result<ReqIterationFinalize, DecodeError> decode_req_iterationfinalize(ByteView message) {
    auto h = decode_handle(message, id(ReqId::iterationfinalize));
    if (!h)
        return Err{h.error()};
    return ReqIterationFinalize{*h};
}
Bytes encode(const ReqZcExecute& m, PadFill fill) {
    return encode_handle(id(ReqId::zc_execute), m.server_address, fill);
}
Result<ReqZcExecute, DecodeError> decode_req_zc_execute(ByteView message) {
    auto h = decode_handle(message, id(ReqId::zc_execute));
    if (!h)
        return Err{h.error()};
    return ReqZcExecute{*h};
}

Bytes encode(const ReqZcAlloc& m, PadFill fill) {
    Out o(fill);
    o.request_header(id(ReqId::zc_alloc));
    o.u64(m.map_size);
    o.cstring(m.path_to_file, zc_path_size);
    return o.finish(req_zc_alloc_size);
}

Result<ReqZcAlloc, DecodeError> decode_req_zc_alloc(ByteView message) {
    In in = detail::open_request(message, id(ReqId::zc_alloc), req_zc_alloc_size, Sizing::exact);
    ReqZcAlloc m;
    m.map_size = in.u64();
    m.path_to_file = in.cstring(zc_path_size);
    return in.done(std::move(m));
}

Bytes encode(const ReqZcFree& m, PadFill fill) {
    Out o(fill);
    o.request_header(id(ReqId::zc_free));
    o.u64(m.map_size);
    o.u64(m.server_address);
    return o.finish(req_zc_free_size);
}

Result<ReqZcFree, DecodeError> decode_req_zc_free(ByteView message) {
    In in = detail::open_request(message, id(ReqId::zc_free), req_zc_free_size, Sizing::exact);
    ReqZcFree m;
    m.map_size = in.u64();
    m.server_address = in.u64();
    return in.done(m);
}

Bytes encode(const ReqPartialMcast& m, PadFill fill) {
    Out o(fill, req_partial_mcast_fixed_size + m.fragment.size());
    o.response_header(id(ReqId::partial_mcast), std::nullopt);
    o.u32(m.guarantee);
    o.pad(4);
    o.u32(m.msglen);
    o.pad(4);
    o.u32(static_cast<std::uint32_t>(m.fragment.size()));
    o.pad(4);
    o.u32(m.type);
    o.pad(4);
    o.bytes(m.fragment);
    return o.finish();
}

Result<ReqPartialMcast, DecodeError> decode_req_partial_mcast(ByteView message) {
    In in = detail::open_request24(message, id(ReqId::partial_mcast), req_partial_mcast_fixed_size,
                                   Sizing::at_least);
    ReqPartialMcast m;
    m.guarantee = in.u32();
    in.skip(4);
    m.msglen = in.u32();
    in.skip(4);
    const std::uint32_t fraglen = in.u32();
    in.skip(4);
    m.type = in.u32();
    in.skip(4);
    if (in.ok() && fraglen != in.remaining())
        in.fail(DecodeError::bad_length_field);
    ByteView b = in.take(in.remaining());
    m.fragment.assign(b.begin(), b.end());
    return in.done(std::move(m));
}

// --------------------------------------------------------------------------------- responses

Bytes encode(const ResJoin& m, PadFill fill) {
    return detail::bare_response(id(ResId::join), m.error, fill);
}
Result<ResJoin, DecodeError> decode_res_join(ByteView message) {
    return detail::decode_bare_response<ResJoin>(message, id(ResId::join));
}
Bytes encode(const ResLeave& m, PadFill fill) {
    return detail::bare_response(id(ResId::leave), m.error, fill);
}
Result<ResLeave, DecodeError> decode_res_leave(ByteView message) {
    return detail::decode_bare_response<ResLeave>(message, id(ResId::leave));
}
Bytes encode(const ResMcast& m, PadFill fill) {
    return detail::bare_response(id(ResId::mcast), m.error, fill);
}
Result<ResMcast, DecodeError> decode_res_mcast(ByteView message) {
    return detail::decode_bare_response<ResMcast>(message, id(ResId::mcast));
}
Bytes encode(const ResIterationFinalize& m, PadFill fill) {
    return detail::bare_response(id(ResId::iterationfinalize), m.error, fill);
}
Result<ResIterationFinalize, DecodeError> decode_res_iterationfinalize(ByteView message) {
    return detail::decode_bare_response<ResIterationFinalize>(message,
                                                              id(ResId::iterationfinalize));
}
Bytes encode(const ResFinalize& m, PadFill fill) {
    return detail::bare_response(id(ResId::finalize), m.error, fill);
}
Result<ResFinalize, DecodeError> decode_res_finalize(ByteView message) {
    return detail::decode_bare_response<ResFinalize>(message, id(ResId::finalize));
}
Bytes encode(const ResPartialSend& m, PadFill fill) {
    return detail::bare_response(id(ResId::partial_send), m.error, fill);
}
Result<ResPartialSend, DecodeError> decode_res_partial_send(ByteView message) {
    return detail::decode_bare_response<ResPartialSend>(message, id(ResId::partial_send));
}
Bytes encode(const ResZcAlloc& m, PadFill fill) {
    return detail::bare_response(0, m.error, fill);
}
Result<ResZcAlloc, DecodeError> decode_res_zc_alloc(ByteView message) {
    return detail::decode_bare_response<ResZcAlloc>(message, 0);
}
Bytes encode(const ResZcFree& m, PadFill fill) {
    return detail::bare_response(0, m.error, fill);
}
Result<ResZcFree, DecodeError> decode_res_zc_free(ByteView message) {
    return detail::decode_bare_response<ResZcFree>(message, 0);
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

Bytes encode(const ResMembershipGet& m, PadFill fill) {
    if (m.error != CsError::ok)
        return detail::error_response(id(ResId::membership), m.error, res_membership_size, fill);
    TOTEM_ASSERT(m.members.size() <= membership_max);
    Out o(fill);
    o.response_header(id(ResId::membership), m.error);
    o.u32(static_cast<std::uint32_t>(m.members.size()));
    o.pad(4);
    put_addresses(o, m.members);
    o.pad_to(res_membership_size);
    return o.finish(res_membership_size);
}

Result<ResMembershipGet, DecodeError> decode_res_membership(ByteView message) {
    ResMembershipGet m;
    In in = detail::open_response(message, id(ResId::membership), res_membership_size,
                                  Sizing::exact, m.error);
    if (in.ok() && m.error != CsError::ok)
        return in.done_early(std::move(m));
    const std::uint32_t count = in.u32();
    in.skip(4);
    if (count > membership_max)
        in.fail(DecodeError::count_too_large);
    m.members = get_addresses(in, count);
    in.skip_to(res_membership_size);
    return in.done(std::move(m));
}

Bytes encode(const ResIterationInitialize& m, PadFill fill) {
    if (m.error != CsError::ok)
        return detail::error_response(id(ResId::iterationinitialize), m.error,
                                      res_iterationinitialize_size, fill);
    Out o(fill);
    o.response_header(id(ResId::iterationinitialize), m.error);
    o.u64(m.iteration_handle);
    return o.finish(res_iterationinitialize_size);
}

Result<ResIterationInitialize, DecodeError> decode_res_iterationinitialize(ByteView message) {
    ResIterationInitialize m;
    In in = detail::open_response(message, id(ResId::iterationinitialize),
                                  res_iterationinitialize_size, Sizing::exact, m.error);
    if (in.ok() && m.error != CsError::ok)
        return in.done_early(m);
    m.iteration_handle = in.u64();
    return in.done(m);
}

Bytes encode(const ResIterationNext& m, PadFill fill) {
    if (m.error != CsError::ok)
        return detail::error_response(id(ResId::iterationnext), m.error, res_iterationnext_size,
                                      fill);
    Out o(fill);
    o.response_header(id(ResId::iterationnext), m.error);
    o.cpg_name(m.group_name);
    o.u32(m.nodeid);
    o.u32(m.pid);
    return o.finish(res_iterationnext_size);
}

Result<ResIterationNext, DecodeError> decode_res_iterationnext(ByteView message) {
    ResIterationNext m;
    In in = detail::open_response(message, id(ResId::iterationnext), res_iterationnext_size,
                                  Sizing::exact, m.error);
    if (in.ok() && m.error != CsError::ok)
        return in.done_early(std::move(m));
    m.group_name = in.cpg_name();
    m.nodeid = in.u32();
    m.pid = in.u32();
    return in.done(std::move(m));
}

// ----------------------------------------------------------------------------------- events

Bytes encode_deliver_callback(CsError error, std::string_view group_name, std::uint32_t nodeid,
                              std::uint32_t pid, ByteView message, PadFill fill) {
    Out o(fill, res_deliver_fixed_size + message.size());
    o.response_header(id(ResId::deliver_callback), error);
    o.cpg_name(group_name);
    o.u32(static_cast<std::uint32_t>(message.size()));
    o.pad(4);
    o.u32(nodeid);
    o.pad(4);
    o.u32(pid);
    o.pad(4);
    o.bytes(message);
    return o.finish();
}

Bytes encode(const ResDeliverCallback& m, PadFill fill) {
    return encode_deliver_callback(m.error, m.group_name, m.nodeid, m.pid, m.message, fill);
}

Result<ResDeliverCallback, DecodeError> decode_res_deliver_callback(ByteView message) {
    ResDeliverCallback m;
    In in = detail::open_response(message, id(ResId::deliver_callback), res_deliver_fixed_size,
                                  Sizing::at_least, m.error);
    m.group_name = in.cpg_name();
    const std::uint32_t msglen = in.u32();
    in.skip(4);
    m.nodeid = in.u32();
    in.skip(4);
    m.pid = in.u32();
    in.skip(4);
    if (in.ok() && msglen != in.remaining())
        in.fail(DecodeError::bad_length_field);
    ByteView b = in.take(in.remaining());
    m.message.assign(b.begin(), b.end());
    return in.done(std::move(m));
}

Bytes encode(const ResPartialDeliverCallback& m, PadFill fill) {
    Out o(fill, res_partial_deliver_fixed_size + m.fragment.size());
    o.response_header(id(ResId::partial_deliver_callback), m.error);
    o.cpg_name(m.group_name);
    o.u32(m.msglen);
    o.pad(4);
    o.u32(static_cast<std::uint32_t>(m.fragment.size()));
    o.pad(4);
    o.u32(m.nodeid);
    o.pad(4);
    o.u32(m.pid);
    o.pad(4);
    o.u32(m.type);
    o.pad(4);
    o.bytes(m.fragment);
    return o.finish();
}

Result<ResPartialDeliverCallback, DecodeError> decode_res_partial_deliver_callback(
    ByteView message) {
    ResPartialDeliverCallback m;
    In in = detail::open_response(message, id(ResId::partial_deliver_callback),
                                  res_partial_deliver_fixed_size, Sizing::at_least, m.error);
    m.group_name = in.cpg_name();
    m.msglen = in.u32();
    in.skip(4);
    const std::uint32_t fraglen = in.u32();
    in.skip(4);
    m.nodeid = in.u32();
    in.skip(4);
    m.pid = in.u32();
    in.skip(4);
    m.type = in.u32();
    in.skip(4);
    if (in.ok() && fraglen != in.remaining())
        in.fail(DecodeError::bad_length_field);
    ByteView b = in.take(in.remaining());
    m.fragment.assign(b.begin(), b.end());
    return in.done(std::move(m));
}

Bytes encode(const ResConfchgCallback& m, PadFill fill) {
    TOTEM_ASSERT(m.members.size() <= confchg_list_max);
    TOTEM_ASSERT(m.left.size() <= confchg_list_max);
    TOTEM_ASSERT(m.joined.size() <= confchg_list_max);
    Out o(fill);
    o.response_header(id(ResId::confchg_callback), m.error);
    o.cpg_name(m.group_name);
    o.u32(static_cast<std::uint32_t>(m.members.size()));
    o.pad(4);
    o.u32(static_cast<std::uint32_t>(m.joined.size()));
    o.pad(4);
    o.u32(static_cast<std::uint32_t>(m.left.size()));
    o.pad(4);
    put_addresses(o, m.members);
    put_addresses(o, m.left);
    put_addresses(o, m.joined);
    return o.finish();
}

Result<ResConfchgCallback, DecodeError> decode_res_confchg_callback(ByteView message) {
    ResConfchgCallback m;
    In in = detail::open_response(message, id(ResId::confchg_callback), res_confchg_fixed_size,
                                  Sizing::at_least, m.error);
    m.group_name = in.cpg_name();
    const std::uint32_t members = in.u32();
    in.skip(4);
    const std::uint32_t joined = in.u32();
    in.skip(4);
    const std::uint32_t left = in.u32();
    in.skip(4);
    if (members > confchg_list_max || joined > confchg_list_max || left > confchg_list_max)
        in.fail(DecodeError::count_too_large);
    if (in.ok() && in.remaining() != (std::size_t{members} + joined + left) * cpg_address_size)
        in.fail(DecodeError::bad_length_field);
    m.members = get_addresses(in, members);
    m.left = get_addresses(in, left);
    m.joined = get_addresses(in, joined);
    return in.done(std::move(m));
}

Bytes encode(const ResTotemConfchgCallback& m, PadFill fill) {
    TOTEM_ASSERT(m.members.size() <= totem_members_max);
    Out o(fill);
    o.response_header(id(ResId::totem_confchg_callback), m.error);
    o.mar_ring_id(m.ring_id);
    o.u32(static_cast<std::uint32_t>(m.members.size()));
    for (std::uint32_t n : m.members)
        o.u32(n);
    o.pad(4);
    return o.finish(res_totem_confchg_fixed_size + 4 * m.members.size());
}

Result<ResTotemConfchgCallback, DecodeError> decode_res_totem_confchg_callback(ByteView message) {
    ResTotemConfchgCallback m;
    In in = detail::open_response(message, id(ResId::totem_confchg_callback),
                                  res_totem_confchg_fixed_size, Sizing::at_least, m.error);
    m.ring_id = in.mar_ring_id();
    const std::uint32_t count = in.u32();
    if (count > totem_members_max)
        in.fail(DecodeError::count_too_large);
    // The list starts at 44, and the size counts sizeof (48) + 4n: 4 trailing bytes.
    if (in.ok() && in.remaining() != 4 * std::size_t{count} + 4)
        in.fail(DecodeError::bad_length_field);
    if (in.ok()) {
        m.members.reserve(count);
        for (std::uint32_t i = 0; i < count; ++i)
            m.members.push_back(in.u32());
    }
    in.skip(4);
    return in.done(std::move(m));
}

// ------------------------------------------------------------------------------------- exec

Bytes encode(const ExecProcJoin& m, PadFill fill) {
    return encode_proc(id(ExecFn::procjoin), m, fill);
}
Result<ExecProcJoin, DecodeError> decode_exec_procjoin(ByteView message) {
    return decode_proc<ExecProcJoin>(message, id(ExecFn::procjoin));
}
Bytes encode(const ExecProcLeave& m, PadFill fill) {
    return encode_proc(id(ExecFn::procleave), m, fill);
}
Result<ExecProcLeave, DecodeError> decode_exec_procleave(ByteView message) {
    return decode_proc<ExecProcLeave>(message, id(ExecFn::procleave));
}

Bytes encode(const ExecJoinlist& m, PadFill fill) {
    TOTEM_ASSERT(m.entries.size() <= joinlist_entries_max);
    Out o(fill);
    o.response_header(id(ExecFn::joinlist), std::nullopt);
    for (const JoinlistEntry& e : m.entries) {
        o.u32(e.pid);
        o.pad(4);
        o.cpg_name(e.group_name);
    }
    return o.finish();
}

Result<ExecJoinlist, DecodeError> decode_exec_joinlist(ByteView message) {
    In in = detail::open_request24(message, id(ExecFn::joinlist), exec_joinlist_fixed_size,
                                   Sizing::at_least);
    ExecJoinlist m;
    // corosync walks entries while below `size`; a partial entry would be read past it.
    if (in.ok() && in.remaining() % joinlist_entry_size != 0)
        in.fail(DecodeError::bad_length_field);
    const std::size_t n = in.remaining() / joinlist_entry_size;
    if (n > joinlist_entries_max)
        in.fail(DecodeError::count_too_large);
    if (in.ok())
        m.entries.reserve(n);
    for (std::size_t i = 0; in.ok() && i < n; ++i) {
        JoinlistEntry e;
        e.pid = in.u32();
        in.skip(4);
        e.group_name = in.cpg_name();
        m.entries.push_back(std::move(e));
    }
    return in.done(std::move(m));
}

Bytes encode_exec_mcast(std::string_view group_name, std::uint32_t pid, const MessageSource& source,
                        ByteView message, PadFill fill) {
    Out o(fill, exec_mcast_fixed_size + message.size());
    o.request_header(id(ExecFn::mcast));
    o.cpg_name(group_name);
    o.u32(static_cast<std::uint32_t>(message.size()));
    o.pad(4);
    o.u32(pid);
    o.pad(4);
    o.message_source(source);
    o.bytes(message);
    return o.finish();
}

Bytes encode(const ExecMcast& m, PadFill fill) {
    return encode_exec_mcast(m.group_name, m.pid, m.source, m.message, fill);
}

Result<ExecMcastView, DecodeError> decode_exec_mcast_view(ByteView message) {
    In in =
        detail::open_request(message, id(ExecFn::mcast), exec_mcast_fixed_size, Sizing::at_least);
    ExecMcastView m;
    m.group_name = in.cpg_name();
    const std::uint32_t msglen = in.u32();
    in.skip(4);
    m.pid = in.u32();
    in.skip(4);
    m.source = in.message_source();
    if (in.ok() && msglen != in.remaining())
        in.fail(DecodeError::bad_length_field);
    m.message = in.take(in.remaining());
    return in.done(std::move(m));
}

Result<ExecMcast, DecodeError> decode_exec_mcast(ByteView message) {
    auto v = decode_exec_mcast_view(message);
    if (!v)
        return Err{v.error()};
    return ExecMcast{std::move(v->group_name), v->pid, v->source,
                     Bytes(v->message.begin(), v->message.end())};
}

Bytes encode(const ExecDownlistOld& m, PadFill fill) {
    TOTEM_ASSERT(m.nodeids.size() <= downlist_max);
    Out o(fill);
    o.request_header(id(ExecFn::downlist_old));
    o.u32(static_cast<std::uint32_t>(m.nodeids.size()));
    o.pad(4);
    for (std::uint32_t n : m.nodeids)
        o.u32(n);
    o.pad_to(exec_downlist_old_size);
    return o.finish(exec_downlist_old_size);
}

Result<ExecDownlistOld, DecodeError> decode_exec_downlist_old(ByteView message) {
    In in = detail::open_request(message, id(ExecFn::downlist_old), exec_downlist_old_size,
                                 Sizing::exact);
    ExecDownlistOld m;
    const std::uint32_t left = in.u32();
    in.skip(4);
    if (left > downlist_max)
        in.fail(DecodeError::count_too_large);
    for (std::uint32_t i = 0; in.ok() && i < left; ++i)
        m.nodeids.push_back(in.u32());
    in.skip_to(exec_downlist_old_size);
    return in.done(std::move(m));
}

Bytes encode(const ExecDownlist& m, PadFill fill) {
    TOTEM_ASSERT(m.nodeids.size() <= downlist_max);
    Out o(fill);
    o.request_header(id(ExecFn::downlist));
    o.u32(m.old_members);
    o.pad(4);
    o.u32(static_cast<std::uint32_t>(m.nodeids.size()));
    o.pad(4);
    for (std::uint32_t n : m.nodeids)
        o.u32(n);
    o.pad_to(exec_downlist_size);
    return o.finish(exec_downlist_size);
}

Result<ExecDownlist, DecodeError> decode_exec_downlist(ByteView message) {
    In in = detail::open_request(message, id(ExecFn::downlist), exec_downlist_size, Sizing::exact);
    ExecDownlist m;
    m.old_members = in.u32();
    in.skip(4);
    const std::uint32_t left = in.u32();
    in.skip(4);
    if (left > downlist_max)
        in.fail(DecodeError::count_too_large);
    for (std::uint32_t i = 0; in.ok() && i < left; ++i)
        m.nodeids.push_back(in.u32());
    in.skip_to(exec_downlist_size);
    return in.done(std::move(m));
}

Bytes encode(const ExecPartialMcast& m, PadFill fill) {
    Out o(fill, exec_partial_mcast_fixed_size + m.fragment.size());
    o.request_header(id(ExecFn::partial_mcast));
    o.cpg_name(m.group_name);
    o.u32(m.msglen);
    o.pad(4);
    o.u32(static_cast<std::uint32_t>(m.fragment.size()));
    o.pad(4);
    o.u32(m.pid);
    o.pad(4);
    o.u32(m.type);
    o.pad(4);
    o.message_source(m.source);
    o.bytes(m.fragment);
    return o.finish();
}

Result<ExecPartialMcast, DecodeError> decode_exec_partial_mcast(ByteView message) {
    In in = detail::open_request(message, id(ExecFn::partial_mcast), exec_partial_mcast_fixed_size,
                                 Sizing::at_least);
    ExecPartialMcast m;
    m.group_name = in.cpg_name();
    m.msglen = in.u32();
    in.skip(4);
    const std::uint32_t fraglen = in.u32();
    in.skip(4);
    m.pid = in.u32();
    in.skip(4);
    m.type = in.u32();
    in.skip(4);
    m.source = in.message_source();
    if (in.ok() && fraglen != in.remaining())
        in.fail(DecodeError::bad_length_field);
    ByteView b = in.take(in.remaining());
    m.fragment.assign(b.begin(), b.end());
    return in.done(std::move(m));
}

// ---------------------------------------------------------------------------------- dispatch

Result<Request, DecodeError> decode_request(ByteView message) {
    auto h = peek_request(message);
    if (!h)
        return Err{h.error()};
    switch (static_cast<ReqId>(h->id)) {
        case ReqId::join:
            return detail::as<Request>(decode_req_join(message));
        case ReqId::leave:
            return detail::as<Request>(decode_req_leave(message));
        case ReqId::mcast:
            return detail::as<Request>(decode_req_mcast(message));
        case ReqId::membership:
            return detail::as<Request>(decode_req_membership(message));
        case ReqId::local_get:
            return detail::as<Request>(decode_req_local_get(message));
        case ReqId::iterationinitialize:
            return detail::as<Request>(decode_req_iterationinitialize(message));
        case ReqId::iterationnext:
            return detail::as<Request>(decode_req_iterationnext(message));
        case ReqId::iterationfinalize:
            return detail::as<Request>(decode_req_iterationfinalize(message));
        case ReqId::finalize:
            return detail::as<Request>(decode_req_finalize(message));
        case ReqId::zc_alloc:
            return detail::as<Request>(decode_req_zc_alloc(message));
        case ReqId::zc_free:
            return detail::as<Request>(decode_req_zc_free(message));
        case ReqId::zc_execute:
            return detail::as<Request>(decode_req_zc_execute(message));
        case ReqId::partial_mcast:
            return detail::as<Request>(decode_req_partial_mcast(message));
    }
    return Err{DecodeError::unknown_id};
}

Result<Response, DecodeError> decode_response(ByteView message) {
    auto h = peek_response(message);
    if (!h)
        return Err{h.error()};
    switch (static_cast<ResId>(h->id)) {
        case ResId::join:
            return detail::as<Response>(decode_res_join(message));
        case ResId::leave:
            return detail::as<Response>(decode_res_leave(message));
        case ResId::mcast:
            return detail::as<Response>(decode_res_mcast(message));
        case ResId::membership:
            return detail::as<Response>(decode_res_membership(message));
        case ResId::local_get:
            return detail::as<Response>(decode_res_local_get(message));
        case ResId::iterationinitialize:
            return detail::as<Response>(decode_res_iterationinitialize(message));
        case ResId::iterationnext:
            return detail::as<Response>(decode_res_iterationnext(message));
        case ResId::iterationfinalize:
            return detail::as<Response>(decode_res_iterationfinalize(message));
        case ResId::finalize:
            return detail::as<Response>(decode_res_finalize(message));
        case ResId::partial_send:
            return detail::as<Response>(decode_res_partial_send(message));
        case ResId::confchg_callback:
        case ResId::deliver_callback:
        case ResId::flow_control_state_set:
        case ResId::flowcontrol_callback:
        case ResId::totem_confchg_callback:
        case ResId::zc_alloc:
        case ResId::zc_free:
        case ResId::zc_execute:
        case ResId::partial_deliver_callback:
            break;
    }
    return Err{DecodeError::unknown_id};
}

Result<Event, DecodeError> decode_event(ByteView message) {
    auto h = peek_response(message);
    if (!h)
        return Err{h.error()};
    switch (static_cast<ResId>(h->id)) {
        case ResId::confchg_callback:
            return detail::as<Event>(decode_res_confchg_callback(message));
        case ResId::deliver_callback:
            return detail::as<Event>(decode_res_deliver_callback(message));
        case ResId::totem_confchg_callback:
            return detail::as<Event>(decode_res_totem_confchg_callback(message));
        case ResId::partial_deliver_callback:
            return detail::as<Event>(decode_res_partial_deliver_callback(message));
        default:
            break;
    }
    return Err{DecodeError::unknown_id};
}

Result<Exec, DecodeError> decode_exec(ByteView message) {
    auto h = peek_exec(message);
    if (!h)
        return Err{h.error()};
    if (h->service != static_cast<std::uint16_t>(ServiceId::cpg))
        return Err{DecodeError::unknown_id};
    switch (static_cast<ExecFn>(h->fn)) {
        case ExecFn::procjoin:
            return detail::as<Exec>(decode_exec_procjoin(message));
        case ExecFn::procleave:
            return detail::as<Exec>(decode_exec_procleave(message));
        case ExecFn::joinlist:
            return detail::as<Exec>(decode_exec_joinlist(message));
        case ExecFn::mcast:
            return detail::as<Exec>(decode_exec_mcast(message));
        case ExecFn::downlist_old:
            return detail::as<Exec>(decode_exec_downlist_old(message));
        case ExecFn::downlist:
            return detail::as<Exec>(decode_exec_downlist(message));
        case ExecFn::partial_mcast:
            return detail::as<Exec>(decode_exec_partial_mcast(message));
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

}  // namespace totem::proto::cpg
