#include "proto/quorum.hpp"

#include "proto/codec.hpp"

namespace totem::proto::quorum {

using detail::In;
using detail::Out;
using detail::Sizing;

static_assert(req_u32_size == request_header_size + 8);
static_assert(res_u32_size == response_header_size + 8);
static_assert(res_notification_fixed_size == response_header_size + 8 + 8 + 8);
static_assert(res_v1_quorum_notification_fixed_size ==
              response_header_size + 8 + mar_ring_id_size + 8);
static_assert(res_v1_nodelist_notification_fixed_size ==
              response_header_size + mar_ring_id_size + 3 * 8);

namespace {

constexpr std::int32_t id(ReqId i) {
    return static_cast<std::int32_t>(i);
}
constexpr std::int32_t id(ResId i) {
    return static_cast<std::int32_t>(i);
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

Bytes encode_res_u32(std::int32_t msg_id, CsError error, std::uint32_t v, PadFill fill) {
    if (error != CsError::ok)
        return detail::error_response(msg_id, error, res_u32_size, fill);
    Out o(fill);
    o.response_header(msg_id, error);
    o.u32(v);
    o.pad(4);
    return o.finish(res_u32_size);
}

template <typename T>
Result<T, DecodeError> decode_res_u32(ByteView message, std::int32_t msg_id,
                                      std::uint32_t T::*field) {
    T m;
    In in = detail::open_response(message, msg_id, res_u32_size, Sizing::exact, m.error);
    if (in.ok() && m.error != CsError::ok)
        return in.done_early(m);
    m.*field = in.u32();
    in.skip(4);
    return in.done(m);
}

void put_list(Out& o, const std::vector<std::uint32_t>& list) {
    for (std::uint32_t v : list)
        o.u32(v);
}

std::vector<std::uint32_t> get_list(In& in, std::uint32_t n) {
    std::vector<std::uint32_t> list;
    if (!in.ok())
        return list;
    list.reserve(n);
    for (std::uint32_t i = 0; i < n; ++i)
        list.push_back(in.u32());
    return list;
}

// The arrays end 4 bytes before the message: the size counts the struct's tail padding.
void check_lists(In& in, std::size_t entries) {
    if (in.ok() && in.remaining() != 4 * entries + 4)
        in.fail(DecodeError::bad_length_field);
}

}  // namespace

Bytes encode(const ReqGetQuorate&, PadFill fill) {
    return detail::bare_request(id(ReqId::getquorate), fill);
}
Result<ReqGetQuorate, DecodeError> decode_req_getquorate(ByteView message) {
    return detail::decode_bare_request<ReqGetQuorate>(message, id(ReqId::getquorate));
}
Bytes encode(const ReqTrackStop&, PadFill fill) {
    return detail::bare_request(id(ReqId::trackstop), fill);
}
Result<ReqTrackStop, DecodeError> decode_req_trackstop(ByteView message) {
    return detail::decode_bare_request<ReqTrackStop>(message, id(ReqId::trackstop));
}
Bytes encode(const ReqGetType&, PadFill fill) {
    return detail::bare_request(id(ReqId::gettype), fill);
}
Result<ReqGetType, DecodeError> decode_req_gettype(ByteView message) {
    return detail::decode_bare_request<ReqGetType>(message, id(ReqId::gettype));
}
Bytes encode(const ReqTrackStart& m, PadFill fill) {
    return encode_req_u32(id(ReqId::trackstart), m.track_flags, fill);
}
Result<ReqTrackStart, DecodeError> decode_req_trackstart(ByteView message) {
    auto v = decode_req_u32(message, id(ReqId::trackstart));
    if (!v)
        return Err{v.error()};
    return ReqTrackStart{*v};
}
Bytes encode(const ReqModelGetType& m, PadFill fill) {
    return encode_req_u32(id(ReqId::model_gettype), m.model, fill);
}
Result<ReqModelGetType, DecodeError> decode_req_model_gettype(ByteView message) {
    auto v = decode_req_u32(message, id(ReqId::model_gettype));
    if (!v)
        return Err{v.error()};
    return ReqModelGetType{*v};
}

Bytes encode(const ResTrackStart& m, PadFill fill) {
    return detail::bare_response(id(ResId::trackstart), m.error, fill);
}
Result<ResTrackStart, DecodeError> decode_res_trackstart(ByteView message) {
    return detail::decode_bare_response<ResTrackStart>(message, id(ResId::trackstart));
}
Bytes encode(const ResTrackStop& m, PadFill fill) {
    return detail::bare_response(id(ResId::trackstop), m.error, fill);
}
Result<ResTrackStop, DecodeError> decode_res_trackstop(ByteView message) {
    return detail::decode_bare_response<ResTrackStop>(message, id(ResId::trackstop));
}
Bytes encode(const ResGetQuorate& m, PadFill fill) {
    return encode_res_u32(id(ResId::getquorate), m.error, m.quorate, fill);
}
Result<ResGetQuorate, DecodeError> decode_res_getquorate(ByteView message) {
    return decode_res_u32<ResGetQuorate>(message, id(ResId::getquorate), &ResGetQuorate::quorate);
}
Bytes encode(const ResGetType& m, PadFill fill) {
    return encode_res_u32(id(ResId::gettype), m.error, m.quorum_type, fill);
}
Result<ResGetType, DecodeError> decode_res_gettype(ByteView message) {
    return decode_res_u32<ResGetType>(message, id(ResId::gettype), &ResGetType::quorum_type);
}
Bytes encode(const ResModelGetType& m, PadFill fill) {
    return encode_res_u32(id(ResId::model_gettype), m.error, m.quorum_type, fill);
}
Result<ResModelGetType, DecodeError> decode_res_model_gettype(ByteView message) {
    return decode_res_u32<ResModelGetType>(message, id(ResId::model_gettype),
                                           &ResModelGetType::quorum_type);
}

Bytes encode(const ResNotification& m, PadFill fill) {
    TOTEM_ASSERT(m.view_list.size() <= view_list_max);
    Out o(fill);
    o.response_header(id(ResId::notification), m.error);
    o.i32(m.quorate);
    o.pad(4);
    o.u64(m.ring_seq);
    o.u32(static_cast<std::uint32_t>(m.view_list.size()));
    put_list(o, m.view_list);
    o.pad(4);
    return o.finish(res_notification_fixed_size + 4 * m.view_list.size());
}

Result<ResNotification, DecodeError> decode_res_notification(ByteView message) {
    ResNotification m;
    In in = detail::open_response(message, id(ResId::notification), res_notification_fixed_size,
                                  Sizing::at_least, m.error);
    m.quorate = in.i32();
    in.skip(4);
    m.ring_seq = in.u64();
    const std::uint32_t n = in.u32();
    if (n > view_list_max)
        in.fail(DecodeError::count_too_large);
    check_lists(in, n);
    m.view_list = get_list(in, n);
    in.skip(4);
    return in.done(std::move(m));
}

Bytes encode(const ResV1QuorumNotification& m, PadFill fill) {
    TOTEM_ASSERT(m.view_list.size() <= view_list_max);
    Out o(fill);
    o.response_header(id(ResId::v1_quorum_notification), m.error);
    o.i32(m.quorate);
    o.pad(4);
    o.mar_ring_id(m.ring_id);
    o.u32(static_cast<std::uint32_t>(m.view_list.size()));
    put_list(o, m.view_list);
    o.pad(4);
    return o.finish(res_v1_quorum_notification_fixed_size + 4 * m.view_list.size());
}

Result<ResV1QuorumNotification, DecodeError> decode_res_v1_quorum_notification(ByteView message) {
    ResV1QuorumNotification m;
    In in = detail::open_response(message, id(ResId::v1_quorum_notification),
                                  res_v1_quorum_notification_fixed_size, Sizing::at_least, m.error);
    m.quorate = in.i32();
    in.skip(4);
    m.ring_id = in.mar_ring_id();
    const std::uint32_t n = in.u32();
    if (n > view_list_max)
        in.fail(DecodeError::count_too_large);
    check_lists(in, n);
    m.view_list = get_list(in, n);
    in.skip(4);
    return in.done(std::move(m));
}

Bytes encode(const ResV1NodelistNotification& m, PadFill fill) {
    TOTEM_ASSERT(m.members.size() <= view_list_max);
    TOTEM_ASSERT(m.joined.size() <= view_list_max);
    TOTEM_ASSERT(m.left.size() <= view_list_max);
    Out o(fill);
    o.response_header(id(ResId::v1_nodelist_notification), m.error);
    o.mar_ring_id(m.ring_id);
    o.u32(static_cast<std::uint32_t>(m.members.size()));
    o.pad(4);
    o.u32(static_cast<std::uint32_t>(m.joined.size()));
    o.pad(4);
    o.u32(static_cast<std::uint32_t>(m.left.size()));
    put_list(o, m.members);
    put_list(o, m.joined);
    put_list(o, m.left);
    o.pad(4);
    return o.finish(res_v1_nodelist_notification_fixed_size +
                    4 * (m.members.size() + m.joined.size() + m.left.size()));
}

Result<ResV1NodelistNotification, DecodeError> decode_res_v1_nodelist_notification(
    ByteView message) {
    ResV1NodelistNotification m;
    In in =
        detail::open_response(message, id(ResId::v1_nodelist_notification),
                              res_v1_nodelist_notification_fixed_size, Sizing::at_least, m.error);
    m.ring_id = in.mar_ring_id();
    const std::uint32_t members = in.u32();
    in.skip(4);
    const std::uint32_t joined = in.u32();
    in.skip(4);
    const std::uint32_t left = in.u32();
    if (members > view_list_max || joined > view_list_max || left > view_list_max)
        in.fail(DecodeError::count_too_large);
    check_lists(in, std::size_t{members} + joined + left);
    m.members = get_list(in, members);
    m.joined = get_list(in, joined);
    m.left = get_list(in, left);
    in.skip(4);
    return in.done(std::move(m));
}

Result<Request, DecodeError> decode_request(ByteView message) {
    auto h = peek_request(message);
    if (!h)
        return Err{h.error()};
    switch (static_cast<ReqId>(h->id)) {
        case ReqId::getquorate:
            return detail::as<Request>(decode_req_getquorate(message));
        case ReqId::trackstart:
            return detail::as<Request>(decode_req_trackstart(message));
        case ReqId::trackstop:
            return detail::as<Request>(decode_req_trackstop(message));
        case ReqId::gettype:
            return detail::as<Request>(decode_req_gettype(message));
        case ReqId::model_gettype:
            return detail::as<Request>(decode_req_model_gettype(message));
    }
    return Err{DecodeError::unknown_id};
}

Result<Response, DecodeError> decode_response(ByteView message) {
    auto h = peek_response(message);
    if (!h)
        return Err{h.error()};
    switch (static_cast<ResId>(h->id)) {
        case ResId::getquorate:
            return detail::as<Response>(decode_res_getquorate(message));
        case ResId::trackstart:
            return detail::as<Response>(decode_res_trackstart(message));
        case ResId::trackstop:
            return detail::as<Response>(decode_res_trackstop(message));
        case ResId::gettype:
            return detail::as<Response>(decode_res_gettype(message));
        case ResId::model_gettype:
            return detail::as<Response>(decode_res_model_gettype(message));
        case ResId::notification:
        case ResId::v1_quorum_notification:
        case ResId::v1_nodelist_notification:
            break;
    }
    return Err{DecodeError::unknown_id};
}

Result<Event, DecodeError> decode_event(ByteView message) {
    auto h = peek_response(message);
    if (!h)
        return Err{h.error()};
    switch (static_cast<ResId>(h->id)) {
        case ResId::notification:
            return detail::as<Event>(decode_res_notification(message));
        case ResId::v1_quorum_notification:
            return detail::as<Event>(decode_res_v1_quorum_notification(message));
        case ResId::v1_nodelist_notification:
            return detail::as<Event>(decode_res_v1_nodelist_notification(message));
        default:
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

}  // namespace totem::proto::quorum
