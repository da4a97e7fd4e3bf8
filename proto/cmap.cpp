#include "proto/cmap.hpp"

#include "proto/codec.hpp"

namespace totem::proto::cmap {

using detail::In;
using detail::NameRule;
using detail::Out;
using detail::Sizing;

static_assert(req_set_fixed_size == request_header_size + mar_name_size + 8 + 8);
static_assert(req_delete_size == request_header_size + mar_name_size);
static_assert(req_get_size == request_header_size + mar_name_size + 8);
static_assert(req_adjust_int_size == request_header_size + mar_name_size + 8);
static_assert(req_iter_init_size == request_header_size + mar_name_size);
static_assert(req_iter_next_size == request_header_size + 8);
static_assert(req_track_add_size == request_header_size + mar_name_size + 8 + 8);
static_assert(req_set_current_map_size == request_header_size + 8);
static_assert(res_get_fixed_size == response_header_size + 8 + 8);
static_assert(res_iter_next_size == response_header_size + mar_name_size + 8 + 8);
static_assert(res_notify_callback_fixed_size ==
              response_header_size + 8 + mar_name_size + 8 + 8 + 8 + 8 + 8);
static_assert(exec_mcast_fixed_size == request_header_size + 4 * 8);
static_assert(exec_mcast_item_fixed_size == mar_name_size + 8 + 8);

namespace {

constexpr std::int32_t id(ReqId i) {
    return static_cast<std::int32_t>(i);
}
constexpr std::int32_t id(ResId i) {
    return static_cast<std::int32_t>(i);
}
constexpr std::size_t round_up8(std::size_t n) {
    return (n + 7) & ~std::size_t{7};
}

// A request that is a key name and nothing else (DELETE, ITER_INIT).
Bytes encode_name_only(std::int32_t msg_id, const std::string& name, PadFill fill) {
    Out o(fill);
    o.request_header(msg_id);
    o.mar_name(name, true);
    return o.finish(req_delete_size);
}

// A request that is one u64 handle (ITER_NEXT, ITER_FINALIZE, TRACK_DELETE).
Bytes encode_handle(std::int32_t msg_id, std::uint64_t handle, PadFill fill) {
    Out o(fill);
    o.request_header(msg_id);
    o.u64(handle);
    return o.finish(req_iter_next_size);
}

Result<std::uint64_t, DecodeError> decode_handle(ByteView message, std::int32_t msg_id) {
    In in = detail::open_request(message, msg_id, req_iter_next_size, Sizing::exact);
    const std::uint64_t h = in.u64();
    return in.done(h);
}

// A Hdr24 response with one u64 (ITER_INIT, TRACK_ADD, TRACK_DELETE).
Bytes encode_res_u64(std::int32_t msg_id, CsError error, std::uint64_t v, PadFill fill) {
    if (error != CsError::ok)
        return detail::error_response(msg_id, error, res_iter_init_size, fill);
    Out o(fill);
    o.response_header(msg_id, error);
    o.u64(v);
    return o.finish(res_iter_init_size);
}

template <typename T>
Result<T, DecodeError> decode_res_u64(ByteView message, std::int32_t msg_id,
                                      std::uint64_t T::*field) {
    T m;
    In in = detail::open_response(message, msg_id, res_iter_init_size, Sizing::exact, m.error);
    if (in.ok() && m.error != CsError::ok)
        return in.done_early(std::move(m));
    m.*field = in.u64();
    return in.done(std::move(m));
}

}  // namespace

// ---------------------------------------------------------------------------------- requests

Bytes encode(const ReqSet& m, PadFill fill) {
    Out o(fill);
    o.request_header(id(ReqId::set));
    o.mar_name(m.key_name, true);
    o.u64(m.value.size());
    o.u8(m.type);
    o.pad(7);
    o.bytes(m.value);
    return o.finish();
}

Result<ReqSet, DecodeError> decode_req_set(ByteView message) {
    In in = detail::open_request(message, id(ReqId::set), req_set_fixed_size, Sizing::at_least);
    ReqSet m;
    m.key_name = in.mar_name(NameRule::cmap_key);
    const std::uint64_t value_len = in.u64();
    m.type = in.u8();
    in.skip(7);
    if (in.ok() && value_len != in.remaining())
        in.fail(DecodeError::bad_length_field);
    ByteView v = in.take(in.remaining());
    m.value.assign(v.begin(), v.end());
    return in.done(std::move(m));
}

Bytes encode(const ReqDelete& m, PadFill fill) {
    return encode_name_only(id(ReqId::delete_), m.key_name, fill);
}

Result<ReqDelete, DecodeError> decode_req_delete(ByteView message) {
    In in = detail::open_request(message, id(ReqId::delete_), req_delete_size, Sizing::exact);
    ReqDelete m;
    m.key_name = in.mar_name(NameRule::cmap_key);
    return in.done(std::move(m));
}

Bytes encode(const ReqGet& m, PadFill fill) {
    Out o(fill);
    o.request_header(id(ReqId::get));
    o.mar_name(m.key_name, true);
    o.u64(m.value_len);
    return o.finish(req_get_size);
}

Result<ReqGet, DecodeError> decode_req_get(ByteView message) {
    In in = detail::open_request(message, id(ReqId::get), req_get_size, Sizing::exact);
    ReqGet m;
    m.key_name = in.mar_name(NameRule::cmap_key);
    m.value_len = in.u64();
    return in.done(std::move(m));
}

Bytes encode(const ReqAdjustInt& m, PadFill fill) {
    Out o(fill);
    o.request_header(id(ReqId::adjust_int));
    o.mar_name(m.key_name, true);
    o.i32(m.step);
    o.pad(4);
    return o.finish(req_adjust_int_size);
}

Result<ReqAdjustInt, DecodeError> decode_req_adjust_int(ByteView message) {
    In in =
        detail::open_request(message, id(ReqId::adjust_int), req_adjust_int_size, Sizing::exact);
    ReqAdjustInt m;
    m.key_name = in.mar_name(NameRule::cmap_key);
    m.step = in.i32();
    in.skip(4);
    return in.done(std::move(m));
}

Bytes encode(const ReqIterInit& m, PadFill fill) {
    return encode_name_only(id(ReqId::iter_init), m.prefix, fill);
}

Result<ReqIterInit, DecodeError> decode_req_iter_init(ByteView message) {
    In in = detail::open_request(message, id(ReqId::iter_init), req_iter_init_size, Sizing::exact);
    ReqIterInit m;
    m.prefix = in.mar_name(NameRule::cmap_key);
    return in.done(std::move(m));
}

Bytes encode(const ReqIterNext& m, PadFill fill) {
    return encode_handle(id(ReqId::iter_next), m.iter_handle, fill);
}

Result<ReqIterNext, DecodeError> decode_req_iter_next(ByteView message) {
    auto h = decode_handle(message, id(ReqId::iter_next));
    if (!h)
        return Err{h.error()};
    return ReqIterNext{*h};
}

Bytes encode(const ReqIterFinalize& m, PadFill fill) {
    return encode_handle(id(ReqId::iter_finalize), m.iter_handle, fill);
}

Result<ReqIterFinalize, DecodeError> decode_req_iter_finalize(ByteView message) {
    auto h = decode_handle(message, id(ReqId::iter_finalize));
    if (!h)
        return Err{h.error()};
    return ReqIterFinalize{*h};
}

Bytes encode(const ReqTrackAdd& m, PadFill fill) {
    Out o(fill);
    o.request_header(id(ReqId::track_add));
    o.mar_name(m.key_name, true);
    o.i32(m.track_type);
    o.pad(4);
    o.u64(m.track_inst_handle);
    return o.finish(req_track_add_size);
}

Result<ReqTrackAdd, DecodeError> decode_req_track_add(ByteView message) {
    In in = detail::open_request(message, id(ReqId::track_add), req_track_add_size, Sizing::exact);
    ReqTrackAdd m;
    m.key_name = in.mar_name(NameRule::cmap_key);
    m.track_type = in.i32();
    in.skip(4);
    m.track_inst_handle = in.u64();
    return in.done(std::move(m));
}

Bytes encode(const ReqTrackDelete& m, PadFill fill) {
    return encode_handle(id(ReqId::track_delete), m.track_handle, fill);
}

Result<ReqTrackDelete, DecodeError> decode_req_track_delete(ByteView message) {
    auto h = decode_handle(message, id(ReqId::track_delete));
    if (!h)
        return Err{h.error()};
    return ReqTrackDelete{*h};
}

Bytes encode(const ReqSetCurrentMap& m, PadFill fill) {
    Out o(fill);
    o.request_header(id(ReqId::set_current_map));
    o.i32(m.map);
    o.pad(4);
    return o.finish(req_set_current_map_size);
}

Result<ReqSetCurrentMap, DecodeError> decode_req_set_current_map(ByteView message) {
    In in = detail::open_request(message, id(ReqId::set_current_map), req_set_current_map_size,
                                 Sizing::exact);
    ReqSetCurrentMap m;
    m.map = in.i32();
    in.skip(4);
    return in.done(std::move(m));
}

// --------------------------------------------------------------------------------- responses

Bytes encode(const ResSet& m, PadFill fill) {
    return detail::bare_response(id(ResId::set), m.error, fill);
}
Result<ResSet, DecodeError> decode_res_set(ByteView message) {
    return detail::decode_bare_response<ResSet>(message, id(ResId::set));
}
Bytes encode(const ResDelete& m, PadFill fill) {
    return detail::bare_response(id(ResId::delete_), m.error, fill);
}
Result<ResDelete, DecodeError> decode_res_delete(ByteView message) {
    return detail::decode_bare_response<ResDelete>(message, id(ResId::delete_));
}
Bytes encode(const ResAdjustInt& m, PadFill fill) {
    return detail::bare_response(id(ResId::adjust_int), m.error, fill);
}
Result<ResAdjustInt, DecodeError> decode_res_adjust_int(ByteView message) {
    return detail::decode_bare_response<ResAdjustInt>(message, id(ResId::adjust_int));
}
Bytes encode(const ResIterFinalize& m, PadFill fill) {
    return detail::bare_response(id(ResId::iter_finalize), m.error, fill);
}
Result<ResIterFinalize, DecodeError> decode_res_iter_finalize(ByteView message) {
    return detail::decode_bare_response<ResIterFinalize>(message, id(ResId::iter_finalize));
}
Bytes encode(const ResSetCurrentMap& m, PadFill fill) {
    return detail::bare_response(id(ResId::set_current_map), m.error, fill);
}
Result<ResSetCurrentMap, DecodeError> decode_res_set_current_map(ByteView message) {
    return detail::decode_bare_response<ResSetCurrentMap>(message, id(ResId::set_current_map));
}

Bytes encode(const ResGet& m, PadFill fill) {
    if (m.error != CsError::ok)
        return detail::error_response(id(ResId::get), m.error, res_get_fixed_size, fill);
    Out o(fill);
    o.response_header(id(ResId::get), m.error);
    o.u64(m.value_len);
    o.u8(m.type);
    o.pad(7);
    TOTEM_ASSERT(m.value.empty() || m.value.size() == m.value_len);
    TOTEM_ASSERT(m.buffer_len == 0 || m.buffer_len >= m.value.size());
    TOTEM_ASSERT(m.buffer_len != 0 || m.value.empty());
    o.bytes(m.value);
    o.pad_to(res_get_fixed_size + m.buffer_len);
    return o.finish();
}

Result<ResGet, DecodeError> decode_res_get(ByteView message) {
    ResGet m;
    In in = detail::open_response(message, id(ResId::get), res_get_fixed_size, Sizing::at_least,
                                  m.error);
    if (in.ok() && m.error != CsError::ok) {
        if (message.size() != res_get_fixed_size)
            in.fail(DecodeError::wrong_size);
        return in.done_early(std::move(m));
    }
    m.value_len = in.u64();
    m.type = in.u8();
    in.skip(7);
    m.buffer_len = in.remaining();
    if (m.buffer_len > 0) {
        if (m.value_len > m.buffer_len)
            in.fail(DecodeError::bad_length_field);
        ByteView v = in.take(static_cast<std::size_t>(m.value_len));
        m.value.assign(v.begin(), v.end());
        in.skip(in.remaining());
    }
    return in.done(std::move(m));
}

Bytes encode(const ResIterInit& m, PadFill fill) {
    return encode_res_u64(id(ResId::iter_init), m.error, m.iter_handle, fill);
}
Result<ResIterInit, DecodeError> decode_res_iter_init(ByteView message) {
    return decode_res_u64<ResIterInit>(message, id(ResId::iter_init), &ResIterInit::iter_handle);
}
Bytes encode(const ResTrackAdd& m, PadFill fill) {
    return encode_res_u64(id(ResId::track_add), m.error, m.track_handle, fill);
}
Result<ResTrackAdd, DecodeError> decode_res_track_add(ByteView message) {
    return decode_res_u64<ResTrackAdd>(message, id(ResId::track_add), &ResTrackAdd::track_handle);
}
Bytes encode(const ResTrackDelete& m, PadFill fill) {
    return encode_res_u64(id(ResId::track_delete), m.error, m.track_inst_handle, fill);
}
Result<ResTrackDelete, DecodeError> decode_res_track_delete(ByteView message) {
    return decode_res_u64<ResTrackDelete>(message, id(ResId::track_delete),
                                          &ResTrackDelete::track_inst_handle);
}

Bytes encode(const ResIterNext& m, PadFill fill) {
    if (m.error != CsError::ok)
        return detail::error_response(id(ResId::iter_next), m.error, res_iter_next_size, fill);
    Out o(fill);
    o.response_header(id(ResId::iter_next), m.error);
    o.mar_name(m.key_name, true);
    o.u64(m.value_len);
    o.u8(m.type);
    o.pad(7);
    return o.finish(res_iter_next_size);
}

Result<ResIterNext, DecodeError> decode_res_iter_next(ByteView message) {
    ResIterNext m;
    In in = detail::open_response(message, id(ResId::iter_next), res_iter_next_size, Sizing::exact,
                                  m.error);
    if (in.ok() && m.error != CsError::ok)
        return in.done_early(std::move(m));
    m.key_name = in.mar_name(NameRule::cmap_key);
    m.value_len = in.u64();
    m.type = in.u8();
    in.skip(7);
    return in.done(std::move(m));
}

// ------------------------------------------------------------------------------------ event

Bytes encode(const ResNotifyCallback& m, PadFill fill) {
    Out o(fill);
    o.response_header(id(ResId::notify_callback), m.error);
    o.u64(m.track_inst_handle);
    o.mar_name(m.key_name, true);
    o.i32(m.event);
    o.pad(4);
    o.u8(m.new_value_type);
    o.pad(7);
    o.u8(m.old_value_type);
    o.pad(7);
    o.u64(m.new_value.size());
    o.u64(m.old_value.size());
    o.bytes(m.new_value);
    o.bytes(m.old_value);
    return o.finish();
}

Result<ResNotifyCallback, DecodeError> decode_res_notify_callback(ByteView message) {
    ResNotifyCallback m;
    In in = detail::open_response(message, id(ResId::notify_callback),
                                  res_notify_callback_fixed_size, Sizing::at_least, m.error);
    m.track_inst_handle = in.u64();
    m.key_name = in.mar_name(NameRule::cmap_key);
    m.event = in.i32();
    in.skip(4);
    m.new_value_type = in.u8();
    in.skip(7);
    m.old_value_type = in.u8();
    in.skip(7);
    const std::uint64_t new_len = in.u64();
    const std::uint64_t old_len = in.u64();
    if (in.ok() && (new_len > in.remaining() || old_len != in.remaining() - new_len))
        in.fail(DecodeError::bad_length_field);
    ByteView nv = in.take(static_cast<std::size_t>(new_len));
    m.new_value.assign(nv.begin(), nv.end());
    ByteView ov = in.take(static_cast<std::size_t>(old_len));
    m.old_value.assign(ov.begin(), ov.end());
    return in.done(std::move(m));
}

// ------------------------------------------------------------------------------------- exec

Bytes encode(const ExecMcast& m, PadFill fill) {
    TOTEM_ASSERT(m.items.size() <= exec_mcast_items_max);
    Out o(fill);
    o.request_header(exec_id(ServiceId::cmap, static_cast<std::uint16_t>(ExecFn::mcast)));
    o.u8(m.reason);
    o.pad(7);
    o.u8(static_cast<std::uint8_t>(m.items.size()));
    o.pad(7);
    o.pad(16);  // reserved1 @32, reserved2 @40
    for (const McastItem& item : m.items) {
        const std::size_t start = o.size();
        o.mar_name(item.key_name, true);
        o.u8(item.value_type);
        o.pad(7);
        o.u64(item.value.size());
        o.bytes(item.value);
        o.pad_to(start + round_up8(exec_mcast_item_fixed_size + item.value.size()));
    }
    return o.finish();
}

Result<ExecMcast, DecodeError> decode_exec_mcast(ByteView message) {
    In in = detail::open_request(
        message, exec_id(ServiceId::cmap, static_cast<std::uint16_t>(ExecFn::mcast)),
        exec_mcast_fixed_size, Sizing::at_least);
    ExecMcast m;
    m.reason = in.u8();
    in.skip(7);
    const std::uint8_t count = in.u8();
    in.skip(7);
    in.skip(16);
    if (count > exec_mcast_items_max)
        in.fail(DecodeError::count_too_large);
    for (std::uint8_t i = 0; in.ok() && i < count; ++i) {
        if (in.remaining() < exec_mcast_item_fixed_size) {
            in.fail(DecodeError::bad_length_field);
            break;
        }
        McastItem item;
        item.key_name = in.mar_name(NameRule::cmap_key);
        item.value_type = in.u8();
        in.skip(7);
        const std::uint64_t value_len = in.u64();
        // The item is round_up(280 + value_len, 8) bytes; what is left of it is padding.
        if (in.ok() && (value_len > in.remaining() ||
                        round_up8(static_cast<std::size_t>(value_len)) > in.remaining())) {
            in.fail(DecodeError::bad_length_field);
            break;
        }
        ByteView v = in.take(static_cast<std::size_t>(value_len));
        item.value.assign(v.begin(), v.end());
        in.skip(round_up8(static_cast<std::size_t>(value_len)) -
                static_cast<std::size_t>(value_len));
        m.items.push_back(std::move(item));
    }
    if (in.ok() && in.remaining() != 0)
        in.fail(DecodeError::bad_length_field);
    return in.done(std::move(m));
}

// ---------------------------------------------------------------------------------- dispatch

Result<Request, DecodeError> decode_request(ByteView message) {
    auto h = peek_request(message);
    if (!h)
        return Err{h.error()};
    switch (static_cast<ReqId>(h->id)) {
        case ReqId::set:
            return detail::as<Request>(decode_req_set(message));
        case ReqId::delete_:
            return detail::as<Request>(decode_req_delete(message));
        case ReqId::get:
            return detail::as<Request>(decode_req_get(message));
        case ReqId::adjust_int:
            return detail::as<Request>(decode_req_adjust_int(message));
        case ReqId::iter_init:
            return detail::as<Request>(decode_req_iter_init(message));
        case ReqId::iter_next:
            return detail::as<Request>(decode_req_iter_next(message));
        case ReqId::iter_finalize:
            return detail::as<Request>(decode_req_iter_finalize(message));
        case ReqId::track_add:
            return detail::as<Request>(decode_req_track_add(message));
        case ReqId::track_delete:
            return detail::as<Request>(decode_req_track_delete(message));
        case ReqId::set_current_map:
            return detail::as<Request>(decode_req_set_current_map(message));
    }
    return Err{DecodeError::unknown_id};
}

Result<Response, DecodeError> decode_response(ByteView message) {
    auto h = peek_response(message);
    if (!h)
        return Err{h.error()};
    switch (static_cast<ResId>(h->id)) {
        case ResId::set:
            return detail::as<Response>(decode_res_set(message));
        case ResId::delete_:
            return detail::as<Response>(decode_res_delete(message));
        case ResId::get:
            return detail::as<Response>(decode_res_get(message));
        case ResId::adjust_int:
            return detail::as<Response>(decode_res_adjust_int(message));
        case ResId::iter_init:
            return detail::as<Response>(decode_res_iter_init(message));
        case ResId::iter_next:
            return detail::as<Response>(decode_res_iter_next(message));
        case ResId::iter_finalize:
            return detail::as<Response>(decode_res_iter_finalize(message));
        case ResId::track_add:
            return detail::as<Response>(decode_res_track_add(message));
        case ResId::track_delete:
            return detail::as<Response>(decode_res_track_delete(message));
        case ResId::set_current_map:
            return detail::as<Response>(decode_res_set_current_map(message));
        case ResId::notify_callback:
            break;
    }
    return Err{DecodeError::unknown_id};
}

Result<Event, DecodeError> decode_event(ByteView message) {
    auto h = peek_response(message);
    if (!h)
        return Err{h.error()};
    if (h->id != id(ResId::notify_callback))
        return Err{DecodeError::unknown_id};
    return detail::as<Event>(decode_res_notify_callback(message));
}

Result<Exec, DecodeError> decode_exec(ByteView message) {
    auto h = peek_exec(message);
    if (!h)
        return Err{h.error()};
    if (h->service != static_cast<std::uint16_t>(ServiceId::cmap) ||
        h->fn != static_cast<std::uint16_t>(ExecFn::mcast))
        return Err{DecodeError::unknown_id};
    return detail::as<Exec>(decode_exec_mcast(message));
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

}  // namespace totem::proto::cmap
