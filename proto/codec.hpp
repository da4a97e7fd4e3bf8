// Internal to proto/*.cpp: the writer and reader every proto codec is built from.
//
// Out writes one message from offset 0 with explicit padding (PadFill), and patches the
// header's size field at the end. In reads one message after its header has been checked by
// open_*(); its first refusal sticks (later reads return zeros and never touch the bytes), and
// done() turns it into the Result. Offsets passed to pad_to()/skip_to() are from the start of
// the message, so a codec reads like the layout tables of the spec.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "common/assert.hpp"
#include "common/bytes.hpp"
#include "common/result.hpp"
#include "proto/ipc.hpp"
#include "proto/mar.hpp"

namespace totem::proto::detail {

class Out {
  public:
    // `expected`: the message's size if the encoder knows it (one allocation instead of the
    // vector's doublings); every message has at least its header.
    explicit Out(PadFill fill, std::size_t expected = default_capacity)
        : w_(buf_), fill_(fill.byte) {
        buf_.reserve(expected);
    }
    Out(const Out&) = delete;
    Out& operator=(const Out&) = delete;

    std::size_t size() const { return buf_.size(); }
    void u8(std::uint8_t v) { w_.u8(v); }
    void u16(std::uint16_t v) { w_.u16(v); }
    void u32(std::uint32_t v) { w_.u32(v); }
    void i32(std::int32_t v) { w_.i32(v); }
    void u64(std::uint64_t v) { w_.u64(v); }
    void bytes(ByteView b) { w_.bytes(b); }
    void bytes(std::string_view s) { w_.bytes(s); }
    void pad(std::size_t n) { w_.fill(n, fill_); }
    // Pads up to the absolute offset `offset`, which must not be behind us.
    void pad_to(std::size_t offset) {
        TOTEM_ASSERT(offset >= size());
        pad(offset - size());
    }

    // qb_ipc_request_header; the size is patched by finish().
    void request_header(std::int32_t id);
    // qb_ipc_response_header (also the CPG MCAST/PARTIAL_MCAST requests and the JOINLIST exec
    // message, whose error field is unused: pass nullopt and it is padding).
    void response_header(std::int32_t id, std::optional<CsError> error);

    // mar_name_t (264): `nul` writes a NUL after the name (cmap keys: the server reads a C
    // string); the rest of the 256-byte value is padding.
    void mar_name(std::string_view name, bool nul);
    void cs_name(std::string_view name);   // 258, length u16 then value u8[256]
    void cpg_name(std::string_view name);  // 136
    // char[capacity]: the string, its NUL, then padding.
    void cstring(std::string_view s, std::size_t capacity);
    void cpg_address(const CpgAddress& a);
    void mar_ring_id(const MarRingId& id);
    void message_source(const MessageSource& s);
    void memb_ring_id(const MembRingId& id);

    // Writes the bytes written so far into the header's size field and returns the message.
    Bytes finish();
    // The same for a fixed-size message: asserts the layout came out at `fixed` bytes.
    Bytes finish(std::size_t fixed);
    // Writes `size_field` (not the real length) into the size field: pload, which corosync
    // sends with a size that is not its length (pload.hpp).
    Bytes finish_with_size_field(std::int32_t size_field);

  private:
    // Most fixed-size messages (a CPG name is 136 bytes) fit.
    static constexpr std::size_t default_capacity = 256;
    Bytes buf_{};
    Writer w_;
    std::uint8_t fill_;
};

enum class Sizing : std::uint8_t {
    exact,     // the message is exactly its fixed size
    at_least,  // a fixed part, then a variable part the decoder checks against its fields
};

enum class NameRule : std::uint8_t {
    bytes,     // a length and that many bytes
    cmap_key,  // also NUL at value[length] and no NUL before it (the server reads a C string)
};

class In {
  public:
    // Reads `message` from offset `pos` on; `first` is a refusal found before reading (by
    // open_*()), after which every read returns zeros.
    In(ByteView message, std::size_t pos, std::optional<DecodeError> first);

    bool ok() const { return !err_; }
    void fail(DecodeError e) {
        if (!err_)
            err_ = e;
    }
    std::size_t position() const { return r_.position(); }
    std::size_t size() const { return size_; }
    std::size_t remaining() const { return ok() ? r_.remaining() : 0; }

    std::uint8_t u8() { return ok() ? r_.u8() : 0; }
    std::uint16_t u16() { return ok() ? r_.u16() : 0; }
    std::uint32_t u32() { return ok() ? r_.u32() : 0; }
    std::int32_t i32() { return ok() ? r_.i32() : 0; }
    std::uint64_t u64() { return ok() ? r_.u64() : 0; }
    ByteView take(std::size_t n);
    void skip(std::size_t n) { (void)take(n); }
    void skip_to(std::size_t offset);

    std::string mar_name(NameRule rule);
    std::string cs_name();
    std::string cpg_name();
    std::string cstring(std::size_t capacity);
    CpgAddress cpg_address();
    MarRingId mar_ring_id();
    MessageSource message_source();
    MembRingId memb_ring_id();

    // Requires that every byte was read (a layout bug otherwise: the open_*() checks decide the
    // length), then returns `m` or the first refusal.
    template <typename T>
    Result<T, DecodeError> done(T m) {
        if (err_)
            return Err{*err_};
        if (!r_.ok())
            return Err{DecodeError::too_short};
        TOTEM_ASSERT(r_.remaining() == 0);
        return m;
    }
    // The same without the every-byte check: a response whose fields are not read because
    // its error says they mean nothing.
    template <typename T>
    Result<T, DecodeError> done_early(T m) {
        if (err_)
            return Err{*err_};
        return m;
    }

  private:
    Reader r_;
    std::size_t size_;
    std::optional<DecodeError> err_;
};

// The result of one decoder as the variant of a dispatch function.
template <typename V, typename T>
Result<V, DecodeError> as(Result<T, DecodeError> r) {
    if (!r)
        return Err{r.error()};
    return V{std::move(*r)};
}

// Checks a message's 16-byte request header (id i32 @0, size i32 @8) in this order: enough
// bytes for the header (too_short), size field ≥ 16 (below_header), size field == the bytes
// given (size_field_mismatch), id (wrong_id), then the fixed size (too_short; wrong_size when
// longer than an exact one). Returns an In positioned after the header.
In open_request(ByteView m, std::int32_t id, std::size_t fixed, Sizing sizing);
// The same for a message with the 24-byte response-style header whose error field is unused
// (CPG MCAST and PARTIAL_MCAST requests, the CPG JOINLIST exec message).
In open_request24(ByteView m, std::int32_t id, std::size_t fixed, Sizing sizing);
// The same for a response or event; its error field goes to `error`.
In open_response(ByteView m, std::int32_t id, std::size_t fixed, Sizing sizing, CsError& error);

// An error response of `fixed` bytes: the header, the rest padding (its fields mean nothing
// and are not read).
Bytes error_response(std::int32_t id, CsError error, std::size_t fixed, PadFill fill);

// A request that is its header alone, and a response that is its header alone.
Bytes bare_request(std::int32_t id, PadFill fill);
Bytes bare_response(std::int32_t id, CsError error, PadFill fill);

template <typename T>
Result<T, DecodeError> decode_bare_request(ByteView m, std::int32_t id) {
    In in = open_request(m, id, request_header_size, Sizing::exact);
    return in.done(T{});
}

template <typename T>
Result<T, DecodeError> decode_bare_response(ByteView m, std::int32_t id) {
    T r;
    In in = open_response(m, id, response_header_size, Sizing::exact, r.error);
    return in.done(std::move(r));
}

}  // namespace totem::proto::detail
