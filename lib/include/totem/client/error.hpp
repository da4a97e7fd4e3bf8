// Errors of libtotem: std::error_code in the "cs" category, whose values are corosync's
// cs_error_t (CS_OK = 1 is never an error), and Result<T>, a value or the error_code that
// explains its absence.
//
// No exceptions are thrown unless asked for: `or_throw()` turns an error into a
// std::system_error. CS_ERR_TRY_AGAIN compares equal to std::errc::operation_would_block, so a
// non-blocking caller writes `if (r.error() == std::errc::operation_would_block)`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>

#include "totem/client/export.hpp"

namespace totem::client {

// cs_error_t (include/corosync/corotypes.h), the same numbers.
enum class Errc : int {
    ok = 1,
    library = 2,
    version = 3,
    init = 4,
    timeout = 5,
    try_again = 6,
    invalid_param = 7,
    no_memory = 8,
    bad_handle = 9,
    busy = 10,
    access = 11,
    not_exist = 12,
    name_too_long = 13,
    exist = 14,
    no_space = 15,
    interrupt = 16,
    name_not_found = 17,
    no_resources = 18,
    not_supported = 19,
    bad_operation = 20,
    failed_operation = 21,
    message_error = 22,
    queue_full = 23,
    queue_not_available = 24,
    bad_flags = 25,
    too_big = 26,
    no_sections = 27,
    context_not_found = 28,
    too_many_groups = 30,
    security = 100,
};

// The category: name "cs", message "CS_ERR_TRY_AGAIN" and friends (corosync's cs_strerror
// names; "success" for CS_OK, "unknown error" for a value outside the list).
TOTEM_CLIENT_API const std::error_category& cs_category() noexcept;
TOTEM_CLIENT_API std::error_code make_error_code(Errc e) noexcept;
// The error_code of a raw cs_error_t as a server sent it (any int; 1 gives an empty code).
TOTEM_CLIENT_API std::error_code cs_error(int cs_error_t_value) noexcept;
// corosync's cs_strerror(): "success", "CS_ERR_LIBRARY", ..., "unknown error".
TOTEM_CLIENT_API const char* cs_strerror(int cs_error_t_value) noexcept;

// A value of T, or the error that kept it from being produced.
template <typename T>
class [[nodiscard]] Result {
  public:
    Result(T value) : value_(std::move(value)) {}
    Result(std::error_code ec) : ec_(ec) {
        if (!ec_)
            ec_ = make_error_code(Errc::library);  // an error must be an error
    }
    Result(Errc e) : Result(make_error_code(e)) {}

    bool ok() const noexcept { return value_.has_value(); }
    explicit operator bool() const noexcept { return ok(); }
    std::error_code error() const noexcept { return ec_; }

    // Precondition: ok(). Checked: a violation terminates with a message.
    T& value() & { return check(), *value_; }
    const T& value() const& { return check(), *value_; }
    T&& value() && { return check(), std::move(*value_); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T&& operator*() && { return std::move(*this).value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T value_or(T fallback) const& { return ok() ? *value_ : std::move(fallback); }

    // The exception path, when asked for: throws std::system_error(error()).
    T& or_throw() & {
        if (!ok())
            throw std::system_error(ec_);
        return *value_;
    }
    T&& or_throw() && {
        if (!ok())
            throw std::system_error(ec_);
        return std::move(*value_);
    }

  private:
    void check() const;
    std::optional<T> value_;
    std::error_code ec_;
};

// Result<void>: success or an error.
template <>
class [[nodiscard]] Result<void> {
  public:
    Result() = default;
    Result(std::error_code ec) : ec_(ec) {}
    Result(Errc e) : ec_(e == Errc::ok ? std::error_code{} : make_error_code(e)) {}

    bool ok() const noexcept { return !ec_; }
    explicit operator bool() const noexcept { return ok(); }
    std::error_code error() const noexcept { return ec_; }
    void or_throw() const {
        if (ec_)
            throw std::system_error(ec_);
    }

  private:
    std::error_code ec_;
};
using Status = Result<void>;

namespace detail {
[[noreturn]] TOTEM_CLIENT_API void bad_result_access(std::error_code ec);
}

template <typename T>
void Result<T>::check() const {
    if (!ok())
        detail::bad_result_access(ec_);
}

}  // namespace totem::client

template <>
struct std::is_error_code_enum<totem::client::Errc> : std::true_type {};
