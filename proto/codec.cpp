#include "proto/codec.hpp"

namespace totem::proto::detail {

namespace {

constexpr std::size_t size_field_offset = 8;

std::int32_t read_i32_at(ByteView m, std::size_t offset) {
    Reader r(m.subspan(offset, 4));
    return r.i32();
}

// The checks every header shares; `header` is 16 or 24.
std::optional<DecodeError> check_frame(ByteView m, std::size_t header, std::int32_t id,
                                       std::size_t fixed, Sizing sizing) {
    if (m.size() < header)
        return DecodeError::too_short;
    const std::int32_t size_field = read_i32_at(m, size_field_offset);
    if (size_field < static_cast<std::int32_t>(header))
        return DecodeError::below_header;
    if (static_cast<std::size_t>(size_field) != m.size())
        return DecodeError::size_field_mismatch;
    if (read_i32_at(m, 0) != id)
        return DecodeError::wrong_id;
    if (m.size() < fixed)
        return DecodeError::too_short;
    if (sizing == Sizing::exact && m.size() != fixed)
        return DecodeError::wrong_size;
    return std::nullopt;
}

}  // namespace

// ------------------------------------------------------------------------------------- Out

void Out::request_header(std::int32_t id) {
    TOTEM_ASSERT(size() == 0);
    i32(id);
    pad(4);
    i32(0);  // size, patched by finish()
    pad(4);
}

void Out::response_header(std::int32_t id, std::optional<CsError> error) {
    TOTEM_ASSERT(size() == 0);
    i32(id);
    pad(4);
    i32(0);  // size, patched by finish()
    pad(4);
    if (error) {
        i32(static_cast<std::int32_t>(*error));
    } else {
        pad(4);
    }
    pad(4);
}

void Out::mar_name(std::string_view name, bool nul) {
    TOTEM_ASSERT(name.size() <= (nul ? mar_name_value_size - 1 : mar_name_value_size));
    const std::size_t start = size();
    u16(static_cast<std::uint16_t>(name.size()));
    pad(6);
    bytes(name);
    if (nul)
        u8(0);
    pad_to(start + mar_name_size);
}

void Out::cs_name(std::string_view name) {
    TOTEM_ASSERT(name.size() <= mar_name_value_size);
    const std::size_t start = size();
    u16(static_cast<std::uint16_t>(name.size()));
    bytes(name);
    pad_to(start + cs_name_size);
}

void Out::cpg_name(std::string_view name) {
    TOTEM_ASSERT(name.size() <= cpg_name_max);
    const std::size_t start = size();
    u32(static_cast<std::uint32_t>(name.size()));
    pad(4);
    bytes(name);
    pad_to(start + cpg_name_size);
}

void Out::cstring(std::string_view s, std::size_t capacity) {
    TOTEM_ASSERT(s.size() < capacity);
    TOTEM_ASSERT(s.find('\0') == std::string_view::npos);
    const std::size_t start = size();
    bytes(s);
    u8(0);
    pad_to(start + capacity);
}

void Out::cpg_address(const CpgAddress& a) {
    u32(a.nodeid);
    pad(4);
    u32(a.pid);
    pad(4);
    u32(a.reason);
    pad(4);
}

void Out::mar_ring_id(const MarRingId& id) {
    u32(id.nodeid);
    pad(4);
    u64(id.seq);
}

void Out::message_source(const MessageSource& s) {
    u32(s.nodeid);
    pad(4);
    u64(s.conn);
}

void Out::memb_ring_id(const MembRingId& id) {
    u32(id.rep);
    u64(id.seq);
}

Bytes Out::finish() {
    TOTEM_ASSERT(size() >= request_header_size);
    TOTEM_ASSERT(size() <= 0x7fffffff);
    w_.patch_u32(size_field_offset, static_cast<std::uint32_t>(size()));
    return std::move(buf_);
}

Bytes Out::finish(std::size_t fixed) {
    TOTEM_ASSERT(size() == fixed);
    return finish();
}

Bytes Out::finish_with_size_field(std::int32_t size_field) {
    TOTEM_ASSERT(size() >= request_header_size);
    w_.patch_u32(size_field_offset, static_cast<std::uint32_t>(size_field));
    return std::move(buf_);
}

// -------------------------------------------------------------------------------------- In

In::In(ByteView message, std::size_t pos, std::optional<DecodeError> first)
    : r_(message), size_(message.size()), err_(first) {
    if (!err_)
        (void)r_.take(pos);
}

ByteView In::take(std::size_t n) {
    if (!ok())
        return {};
    ByteView v = r_.take(n);
    if (!r_.ok())
        fail(DecodeError::too_short);
    return v;
}

void In::skip_to(std::size_t offset) {
    if (!ok())
        return;
    TOTEM_ASSERT(offset >= r_.position());
    skip(offset - r_.position());
}

std::string In::mar_name(NameRule rule) {
    const std::uint16_t length = u16();
    skip(6);
    ByteView value = take(mar_name_value_size);
    if (!ok())
        return {};
    const std::size_t cap =
        rule == NameRule::cmap_key ? mar_name_value_size - 1 : mar_name_value_size;
    if (length > cap) {
        fail(DecodeError::name_too_long);
        return {};
    }
    if (rule == NameRule::cmap_key) {
        for (std::size_t i = 0; i < length; ++i) {
            if (value[i] == 0) {
                fail(DecodeError::bad_name);
                return {};
            }
        }
        if (value[length] != 0) {
            fail(DecodeError::bad_name);
            return {};
        }
    }
    return std::string(value.begin(), value.begin() + length);
}

std::string In::cs_name() {
    const std::uint16_t length = u16();
    ByteView value = take(mar_name_value_size);
    if (!ok())
        return {};
    if (length > mar_name_value_size) {
        fail(DecodeError::name_too_long);
        return {};
    }
    return std::string(value.begin(), value.begin() + length);
}

std::string In::cpg_name() {
    const std::uint32_t length = u32();
    skip(4);
    ByteView value = take(cpg_name_max);
    if (!ok())
        return {};
    if (length > cpg_name_max) {
        fail(DecodeError::name_too_long);
        return {};
    }
    return std::string(value.begin(), value.begin() + length);
}

std::string In::cstring(std::size_t capacity) {
    ByteView value = take(capacity);
    if (!ok())
        return {};
    for (std::size_t i = 0; i < value.size(); ++i) {
        if (value[i] == 0)
            return std::string(value.begin(), value.begin() + i);
    }
    fail(DecodeError::unterminated_string);
    return {};
}

CpgAddress In::cpg_address() {
    CpgAddress a;
    a.nodeid = u32();
    skip(4);
    a.pid = u32();
    skip(4);
    a.reason = u32();
    skip(4);
    return a;
}

MarRingId In::mar_ring_id() {
    MarRingId id;
    id.nodeid = u32();
    skip(4);
    id.seq = u64();
    return id;
}

MessageSource In::message_source() {
    MessageSource s;
    s.nodeid = u32();
    skip(4);
    s.conn = u64();
    return s;
}

MembRingId In::memb_ring_id() {
    MembRingId id;
    id.rep = u32();
    id.seq = u64();
    return id;
}

// ---------------------------------------------------------------------------------- open_*

In open_request(ByteView m, std::int32_t id, std::size_t fixed, Sizing sizing) {
    return In(m, request_header_size, check_frame(m, request_header_size, id, fixed, sizing));
}

In open_request24(ByteView m, std::int32_t id, std::size_t fixed, Sizing sizing) {
    return In(m, response_header_size, check_frame(m, response_header_size, id, fixed, sizing));
}

In open_response(ByteView m, std::int32_t id, std::size_t fixed, Sizing sizing, CsError& error) {
    auto first = check_frame(m, response_header_size, id, fixed, sizing);
    error = first ? CsError::ok : static_cast<CsError>(read_i32_at(m, 16));
    return In(m, response_header_size, first);
}

Bytes error_response(std::int32_t id, CsError error, std::size_t fixed, PadFill fill) {
    TOTEM_ASSERT(error != CsError::ok);
    Out o(fill);
    o.response_header(id, error);
    o.pad_to(fixed);
    return o.finish(fixed);
}

Bytes bare_request(std::int32_t id, PadFill fill) {
    Out o(fill);
    o.request_header(id);
    return o.finish(request_header_size);
}

Bytes bare_response(std::int32_t id, CsError error, PadFill fill) {
    Out o(fill);
    o.response_header(id, error);
    return o.finish(response_header_size);
}

}  // namespace totem::proto::detail
