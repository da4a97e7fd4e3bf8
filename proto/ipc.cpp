#include "proto/ipc.hpp"

#include "proto/codec.hpp"

namespace totem::proto {

static_assert(request_header_size == 4 + 4 + 4 + 4);
static_assert(response_header_size == request_header_size + 4 + 4);
static_assert(cpg_max_atomic_msgsize == 1047552);

std::string_view to_string(CsError e) {
    switch (e) {
        case CsError::ok:
            return "CS_OK";
        case CsError::err_library:
            return "CS_ERR_LIBRARY";
        case CsError::err_version:
            return "CS_ERR_VERSION";
        case CsError::err_init:
            return "CS_ERR_INIT";
        case CsError::err_timeout:
            return "CS_ERR_TIMEOUT";
        case CsError::err_try_again:
            return "CS_ERR_TRY_AGAIN";
        case CsError::err_invalid_param:
            return "CS_ERR_INVALID_PARAM";
        case CsError::err_no_memory:
            return "CS_ERR_NO_MEMORY";
        case CsError::err_bad_handle:
            return "CS_ERR_BAD_HANDLE";
        case CsError::err_busy:
            return "CS_ERR_BUSY";
        case CsError::err_access:
            return "CS_ERR_ACCESS";
        case CsError::err_not_exist:
            return "CS_ERR_NOT_EXIST";
        case CsError::err_name_too_long:
            return "CS_ERR_NAME_TOO_LONG";
        case CsError::err_exist:
            return "CS_ERR_EXIST";
        case CsError::err_no_space:
            return "CS_ERR_NO_SPACE";
        case CsError::err_interrupt:
            return "CS_ERR_INTERRUPT";
        case CsError::err_name_not_found:
            return "CS_ERR_NAME_NOT_FOUND";
        case CsError::err_no_resources:
            return "CS_ERR_NO_RESOURCES";
        case CsError::err_not_supported:
            return "CS_ERR_NOT_SUPPORTED";
        case CsError::err_bad_operation:
            return "CS_ERR_BAD_OPERATION";
        case CsError::err_failed_operation:
            return "CS_ERR_FAILED_OPERATION";
        case CsError::err_message_error:
            return "CS_ERR_MESSAGE_ERROR";
        case CsError::err_queue_full:
            return "CS_ERR_QUEUE_FULL";
        case CsError::err_queue_not_available:
            return "CS_ERR_QUEUE_NOT_AVAILABLE";
        case CsError::err_bad_flags:
            return "CS_ERR_BAD_FLAGS";
        case CsError::err_too_big:
            return "CS_ERR_TOO_BIG";
        case CsError::err_no_sections:
            return "CS_ERR_NO_SECTIONS";
        case CsError::err_context_not_found:
            return "CS_ERR_CONTEXT_NOT_FOUND";
        case CsError::err_too_many_groups:
            return "CS_ERR_TOO_MANY_GROUPS";
        case CsError::err_security:
            return "CS_ERR_SECURITY";
    }
    return "CS_ERR_UNKNOWN";
}

std::string_view to_string(DecodeError e) {
    switch (e) {
        case DecodeError::too_short:
            return "too_short";
        case DecodeError::below_header:
            return "below_header";
        case DecodeError::size_field_mismatch:
            return "size_field_mismatch";
        case DecodeError::wrong_id:
            return "wrong_id";
        case DecodeError::unknown_id:
            return "unknown_id";
        case DecodeError::wrong_size:
            return "wrong_size";
        case DecodeError::bad_length_field:
            return "bad_length_field";
        case DecodeError::name_too_long:
            return "name_too_long";
        case DecodeError::bad_name:
            return "bad_name";
        case DecodeError::unterminated_string:
            return "unterminated_string";
        case DecodeError::count_too_large:
            return "count_too_large";
    }
    return "unknown";
}
static_assert(static_cast<std::size_t>(DecodeError::count_too_large) + 1 == decode_error_count);

namespace {

Result<std::int32_t, DecodeError> checked_size(ByteView m, std::size_t header) {
    if (m.size() < header)
        return Err{DecodeError::too_short};
    Reader r(m.subspan(8, 4));
    const std::int32_t size = r.i32();
    if (size < static_cast<std::int32_t>(header))
        return Err{DecodeError::below_header};
    if (static_cast<std::size_t>(size) != m.size())
        return Err{DecodeError::size_field_mismatch};
    return size;
}

}  // namespace

Result<RequestHeader, DecodeError> peek_request(ByteView message) {
    auto size = checked_size(message, request_header_size);
    if (!size)
        return Err{size.error()};
    Reader r(message);
    RequestHeader h;
    h.id = r.i32();
    h.size = *size;
    return h;
}

Result<ResponseHeader, DecodeError> peek_response(ByteView message) {
    auto size = checked_size(message, response_header_size);
    if (!size)
        return Err{size.error()};
    Reader r(message);
    ResponseHeader h;
    h.id = r.i32();
    (void)r.take(12);
    h.error = static_cast<CsError>(r.i32());
    h.size = *size;
    return h;
}

Bytes encode(const ErrorResponse& m, PadFill fill) {
    detail::Out o(fill);
    o.response_header(0, m.error);
    return o.finish(response_header_size);
}

Result<ErrorResponse, DecodeError> decode_error_response(ByteView message) {
    ErrorResponse m;
    detail::In in =
        detail::open_response(message, 0, response_header_size, detail::Sizing::exact, m.error);
    return in.done(m);
}

}  // namespace totem::proto
