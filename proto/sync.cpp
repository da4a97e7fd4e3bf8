#include "proto/sync.hpp"

#include "proto/codec.hpp"

namespace totem::proto::sync {

using detail::In;
using detail::Out;
using detail::Sizing;

static_assert(barrier_size == request_header_size + memb_ring_id_size + 4);
static_assert(service_build_size ==
              request_header_size + memb_ring_id_size + 4 + 4 + 4 + 4 * service_list_max);

Bytes encode(const Barrier& m, PadFill fill) {
    Out o(fill);
    o.request_header(static_cast<std::int32_t>(MsgId::barrier));
    o.memb_ring_id(m.ring_id);
    o.pad(4);
    return o.finish(barrier_size);
}

Bytes encode(const ServiceBuild& m, PadFill fill) {
    TOTEM_ASSERT(m.service_list.size() <= service_list_max);
    Out o(fill);
    o.request_header(static_cast<std::int32_t>(MsgId::service_build));
    o.memb_ring_id(m.ring_id);
    o.pad(4);
    o.i32(static_cast<std::int32_t>(m.service_list.size()));
    o.pad(4);
    for (std::int32_t id : m.service_list)
        o.i32(id);
    o.pad_to(service_build_size);
    return o.finish(service_build_size);
}

Result<Barrier, DecodeError> decode_barrier(ByteView message) {
    In in = detail::open_request(message, static_cast<std::int32_t>(MsgId::barrier), barrier_size,
                                 Sizing::exact);
    Barrier m;
    m.ring_id = in.memb_ring_id();
    in.skip(4);
    return in.done(std::move(m));
}

Result<ServiceBuild, DecodeError> decode_service_build(ByteView message) {
    In in = detail::open_request(message, static_cast<std::int32_t>(MsgId::service_build),
                                 service_build_size, Sizing::exact);
    ServiceBuild m;
    m.ring_id = in.memb_ring_id();
    in.skip(4);
    const std::int32_t entries = in.i32();
    in.skip(4);
    if (entries < 0 || static_cast<std::size_t>(entries) > service_list_max)
        in.fail(DecodeError::count_too_large);
    if (in.ok()) {
        m.service_list.reserve(static_cast<std::size_t>(entries));
        for (std::int32_t i = 0; i < entries; ++i)
            m.service_list.push_back(in.i32());
    }
    in.skip_to(service_build_size);
    return in.done(std::move(m));
}

Result<Message, DecodeError> decode(ByteView message) {
    auto h = peek_request(message);
    if (!h)
        return Err{h.error()};
    switch (static_cast<MsgId>(h->id)) {
        case MsgId::barrier:
            return detail::as<Message>(decode_barrier(message));
        case MsgId::service_build:
            return detail::as<Message>(decode_service_build(message));
    }
    return Err{DecodeError::unknown_id};
}

Bytes encode(const Message& m, PadFill fill) {
    return std::visit([fill](const auto& x) { return encode(x, fill); }, m);
}

}  // namespace totem::proto::sync
