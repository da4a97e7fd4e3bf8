// The libqb IPC framing corosync 3.1.7 uses (shared/spec/services-and-ipc.md A1.6, A1.7, A2.1,
// A2.3): the 16-byte request header, the 24-byte response header, libqb's reserved ids,
// cs_error_t, the size limits, and the bare 24-byte error response of the admission path.
//
// Every proto codec (proto/<service>.hpp) is built the same way: a plain struct per message
// with host values; `Bytes encode(const T&, PadFill = {})` writes every field at its offset
// (x86_64 layout, little-endian) and PadFill into every byte that is padding or unused space;
// `decode_<x>(ByteView)` reads field by field with the bounded Reader and refuses what does not
// fit with a named DecodeError, which the caller counts. Nothing is ever cast over bytes.
// Responses whose error is not CS_OK carry only their header (and their size in padding):
// the libraries do not read the rest, and corosync leaves it stale or uninitialised.
//
// Pure: no I/O, no libqb. The server (engine/ipc + services) decodes requests and encodes
// responses and events; the client library (lib/) does the opposite.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/bytes.hpp"
#include "common/result.hpp"

namespace totem::proto {

// struct qb_ipc_request_header: id i32 @0, size i32 @8 (each aligned 8).
inline constexpr std::size_t request_header_size = 16;
// struct qb_ipc_response_header: id i32 @0, size i32 @8, error i32 @16.
inline constexpr std::size_t response_header_size = 24;

// libqb's reserved message ids (qbipc_common.h); service ids start at 0.
inline constexpr std::int32_t qb_msg_authenticate = -1;
inline constexpr std::int32_t qb_msg_new_event_sock = -2;
inline constexpr std::int32_t qb_msg_disconnect = -3;

// Sizes (A1.7). Debian's corosync is built without --enable-small-memory-footprint.
inline constexpr std::size_t ipc_buffer_size = 1048576;  // IPC_REQUEST/RESPONSE/DISPATCH_SIZE
inline constexpr std::size_t cpg_max_atomic_msgsize = ipc_buffer_size - 1024;  // 1 047 552
inline constexpr std::size_t cmap_value_max = 16384;     // ICMAP_MAX_VALUE_LEN
inline constexpr std::size_t cmap_key_min = 3;           // ICMAP_KEYNAME_MINLEN
inline constexpr std::size_t cmap_key_max = 255;         // ICMAP_KEYNAME_MAXLEN
inline constexpr std::size_t processor_count_max = 384;  // PROCESSOR_COUNT_MAX

// cs_error_t (include/corosync/corotypes.h). 0 is not a valid value; a decoded field may hold
// any i32 (corosync leaves some error fields uninitialised), so this enum is open.
enum class CsError : std::int32_t {
    ok = 1,
    err_library = 2,
    err_version = 3,
    err_init = 4,
    err_timeout = 5,
    err_try_again = 6,
    err_invalid_param = 7,
    err_no_memory = 8,
    err_bad_handle = 9,
    err_busy = 10,
    err_access = 11,
    err_not_exist = 12,
    err_name_too_long = 13,
    err_exist = 14,
    err_no_space = 15,
    err_interrupt = 16,
    err_name_not_found = 17,
    err_no_resources = 18,
    err_not_supported = 19,
    err_bad_operation = 20,
    err_failed_operation = 21,
    err_message_error = 22,
    err_queue_full = 23,
    err_queue_not_available = 24,
    err_bad_flags = 25,
    err_too_big = 26,
    err_no_sections = 27,
    err_context_not_found = 28,
    err_too_many_groups = 30,
    err_security = 100,
};
// "CS_OK", "CS_ERR_TRY_AGAIN", ...; "CS_ERR_UNKNOWN" for a value outside the list.
std::string_view to_string(CsError e);

// Why a message was refused. Each value is a counter at the caller.
enum class DecodeError : std::uint8_t {
    too_short,            // fewer bytes than the header, or than the message's fixed part
    below_header,         // the header's size field is smaller than the header itself
    size_field_mismatch,  // the header's size field differs from the number of bytes given
    wrong_id,             // the header's id is not the id of the message being decoded
    unknown_id,           // no message of this service and direction has this id
    wrong_size,           // longer than the fixed size of a fixed-size message
    bad_length_field,     // a declared length or count runs past the message or disagrees with it
    name_too_long,        // a name's length field exceeds the name's capacity
    bad_name,             // a cmap key: not NUL-terminated at its length, or a NUL inside it
    unterminated_string,  // a char[N] C string without a NUL in its N bytes
    count_too_large,      // a list count above the list's maximum
};
std::string_view to_string(DecodeError e);
inline constexpr std::size_t decode_error_count = 11;

// The byte an encoder writes into padding and unused space (the rest of a name's array,
// unused list entries, alignment holes). 0 in production. Tests encode with 0xFF to show that
// the decoders ignore those bytes, and to learn which bytes of a captured message are padding.
struct PadFill {
    std::uint8_t byte = 0;
};

struct RequestHeader {
    std::int32_t id = 0;
    std::int32_t size = 0;
    bool operator==(const RequestHeader&) const = default;
};

struct ResponseHeader {
    std::int32_t id = 0;
    std::int32_t size = 0;
    CsError error = CsError::ok;
    bool operator==(const ResponseHeader&) const = default;
};

// The header of a request or response: at least the header's bytes, size field ≥ the header
// and equal to the bytes given. The ids are not checked (a service's dispatch does that).
Result<RequestHeader, DecodeError> peek_request(ByteView message);
Result<ResponseHeader, DecodeError> peek_response(ByteView message);

// The reply of the admission path (exec/ipc_glue.c: cs_ipcs_msg_process, A1.8) when a request
// cannot be handed to its handler: {id 0, size 24, error}. CS_ERR_INVALID_PARAM for an unknown
// id or a request too large for totem, CS_ERR_TRY_AGAIN otherwise.
struct ErrorResponse {
    CsError error = CsError::err_try_again;
    bool operator==(const ErrorResponse&) const = default;
};
Bytes encode(const ErrorResponse& m, PadFill fill = {});
Result<ErrorResponse, DecodeError> decode_error_response(ByteView message);

}  // namespace totem::proto
