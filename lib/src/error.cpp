#include "totem/client/error.hpp"

#include <cstdio>
#include <cstdlib>

namespace totem::client {

namespace {

class CsCategory final : public std::error_category {
  public:
    const char* name() const noexcept override { return "cs"; }
    std::string message(int ev) const override { return cs_strerror(ev); }
    // So that callers can test portable conditions: CS_ERR_TRY_AGAIN is "would block".
    std::error_condition default_error_condition(int ev) const noexcept override {
        switch (static_cast<Errc>(ev)) {
            case Errc::try_again:
                return std::errc::operation_would_block;
            case Errc::timeout:
                return std::errc::timed_out;
            case Errc::invalid_param:
            case Errc::bad_flags:
                return std::errc::invalid_argument;
            case Errc::no_memory:
                return std::errc::not_enough_memory;
            case Errc::bad_handle:
                return std::errc::bad_file_descriptor;
            case Errc::busy:
                return std::errc::device_or_resource_busy;
            case Errc::access:
            case Errc::security:
                return std::errc::permission_denied;
            case Errc::not_exist:
            case Errc::name_not_found:
                return std::errc::no_such_file_or_directory;
            case Errc::name_too_long:
                return std::errc::filename_too_long;
            case Errc::exist:
                return std::errc::file_exists;
            case Errc::no_space:
                return std::errc::no_space_on_device;
            case Errc::interrupt:
                return std::errc::interrupted;
            case Errc::not_supported:
                return std::errc::not_supported;
            case Errc::too_big:
                return std::errc::message_size;
            default:
                return std::error_condition(ev, *this);
        }
    }
};

}  // namespace

const std::error_category& cs_category() noexcept {
    static const CsCategory category;
    return category;
}

std::error_code make_error_code(Errc e) noexcept {
    return {static_cast<int>(e), cs_category()};
}

std::error_code cs_error(int value) noexcept {
    if (value == static_cast<int>(Errc::ok))
        return {};
    return {value, cs_category()};
}

const char* cs_strerror(int value) noexcept {
    switch (static_cast<Errc>(value)) {
        case Errc::ok:
            return "success";
        case Errc::library:
            return "CS_ERR_LIBRARY";
        case Errc::version:
            return "CS_ERR_VERSION";
        case Errc::init:
            return "CS_ERR_INIT";
        case Errc::no_memory:
            return "CS_ERR_NO_MEMORY";
        case Errc::name_too_long:
            return "CS_ERR_NAME_TOO_LONG";
        case Errc::timeout:
            return "CS_ERR_TIMEOUT";
        case Errc::try_again:
            return "CS_ERR_TRY_AGAIN";
        case Errc::invalid_param:
            return "CS_ERR_INVALID_PARAM";
        case Errc::bad_handle:
            return "CS_ERR_BAD_HANDLE";
        case Errc::busy:
            return "CS_ERR_BUSY";
        case Errc::access:
            return "CS_ERR_ACCESS";
        case Errc::not_exist:
            return "CS_ERR_NOT_EXIST";
        case Errc::exist:
            return "CS_ERR_EXIST";
        case Errc::no_space:
            return "CS_ERR_NO_SPACE";
        case Errc::interrupt:
            return "CS_ERR_INTERRUPT";
        case Errc::name_not_found:
            return "CS_ERR_NAME_NOT_FOUND";
        case Errc::no_resources:
            return "CS_ERR_NO_RESOURCES";
        case Errc::not_supported:
            return "CS_ERR_NOT_SUPPORTED";
        case Errc::bad_operation:
            return "CS_ERR_BAD_OPERATION";
        case Errc::failed_operation:
            return "CS_ERR_FAILED_OPERATION";
        case Errc::message_error:
            return "CS_ERR_MESSAGE_ERROR";
        case Errc::queue_full:
            return "CS_ERR_QUEUE_FULL";
        case Errc::queue_not_available:
            return "CS_ERR_QUEUE_NOT_AVAILABLE";
        case Errc::bad_flags:
            return "CS_ERR_BAD_FLAGS";
        case Errc::too_big:
            return "CS_ERR_TOO_BIG";
        case Errc::no_sections:
            return "CS_ERR_NO_SECTIONS";
        case Errc::context_not_found:
            return "CS_ERR_CONTEXT_NOT_FOUND";
        case Errc::too_many_groups:
            return "CS_ERR_TOO_MANY_GROUPS";
        case Errc::security:
            return "CS_ERR_SECURITY";
    }
    return "unknown error";
}

namespace detail {
void bad_result_access(std::error_code ec) {
    std::fprintf(stderr, "libtotem: value() of a Result holding an error (%s)\n",
                 ec.message().c_str());
    std::abort();
}
}  // namespace detail

}  // namespace totem::client
