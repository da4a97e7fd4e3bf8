#include "proto/pload.hpp"

#include "proto/codec.hpp"

namespace totem::proto::pload {

using detail::In;
using detail::Out;

static_assert(exec_start_size == request_header_size + 4 + 4);

namespace {

constexpr std::int32_t id(ExecFn fn) {
    return exec_id(ServiceId::pload, static_cast<std::uint16_t>(fn));
}

// The bytes corosync sends for a pload.size of `msg_size`.
std::size_t mcast_length(std::uint32_t msg_size) {
    return msg_size > request_header_size ? msg_size : request_header_size;
}

// The header checks of open_request() without the size field: enough bytes and the id.
std::optional<DecodeError> check_id(ByteView m, std::int32_t want) {
    auto h = peek_exec(m);
    if (!h)
        return h.error();
    if (exec_id(static_cast<ServiceId>(h->service), h->fn) != want)
        return DecodeError::wrong_id;
    return std::nullopt;
}

}  // namespace

Bytes encode(const ExecStart& m, PadFill fill) {
    Out o(fill);
    o.request_header(id(ExecFn::start));
    o.u32(m.msg_count);
    o.u32(m.msg_size);
    return o.finish(exec_start_size);
}

Result<ExecStart, DecodeError> decode_exec_start(ByteView message) {
    auto first = check_id(message, id(ExecFn::start));
    if (!first && message.size() != exec_start_size)
        first = message.size() < exec_start_size ? DecodeError::too_short : DecodeError::wrong_size;
    In in(message, request_header_size, first);
    ExecStart m;
    m.msg_count = in.u32();
    m.msg_size = in.u32();
    return in.done(m);
}

Bytes encode(const ExecMcast& m, PadFill fill) {
    TOTEM_ASSERT(m.payload.size() == mcast_length(m.msg_size) - request_header_size);
    TOTEM_ASSERT(m.msg_size <= 0x7fffffff - request_header_size);
    Out o(fill);
    o.request_header(id(ExecFn::mcast));
    o.bytes(m.payload);
    return o.finish_with_size_field(static_cast<std::int32_t>(request_header_size + m.msg_size));
}

Result<ExecMcast, DecodeError> decode_exec_mcast(ByteView message) {
    auto first = check_id(message, id(ExecFn::mcast));
    ExecMcast m;
    if (!first) {
        Reader r(message.subspan(8, 4));
        const std::int32_t size_field = r.i32();
        if (size_field < static_cast<std::int32_t>(request_header_size))
            first = DecodeError::below_header;
        else if (mcast_length(static_cast<std::uint32_t>(size_field) - request_header_size) !=
                 message.size())
            first = DecodeError::size_field_mismatch;
        else
            m.msg_size = static_cast<std::uint32_t>(size_field) - request_header_size;
    }
    In in(message, request_header_size, first);
    ByteView b = in.take(in.remaining());
    m.payload.assign(b.begin(), b.end());
    return in.done(std::move(m));
}

Result<Exec, DecodeError> decode_exec(ByteView message) {
    auto h = peek_exec(message);
    if (!h)
        return Err{h.error()};
    if (h->service != static_cast<std::uint16_t>(ServiceId::pload))
        return Err{DecodeError::unknown_id};
    switch (static_cast<ExecFn>(h->fn)) {
        case ExecFn::start:
            return detail::as<Exec>(decode_exec_start(message));
        case ExecFn::mcast:
            return detail::as<Exec>(decode_exec_mcast(message));
        case ExecFn::count:
            break;
    }
    return Err{DecodeError::unknown_id};
}

Bytes encode(const Exec& m, PadFill fill) {
    return std::visit([fill](const auto& x) { return encode(x, fill); }, m);
}

}  // namespace totem::proto::pload
