// A small JSON value for the tools' --json output: objects keep their insertion order, numbers
// are integers (signed or unsigned 64-bit) or doubles, strings are escaped to valid UTF-8
// JSON (control characters as \u00XX; bytes that are not UTF-8 are read as Latin-1).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace totem::tools {

class Json {
  public:
    using Object = std::vector<std::pair<std::string, Json>>;
    using Array = std::vector<Json>;

    Json() : v_(nullptr) {}
    Json(std::nullptr_t) : v_(nullptr) {}
    Json(bool b) : v_(b) {}
    Json(int i) : v_(static_cast<std::int64_t>(i)) {}
    Json(long i) : v_(static_cast<std::int64_t>(i)) {}
    Json(long long i) : v_(static_cast<std::int64_t>(i)) {}
    Json(unsigned u) : v_(static_cast<std::uint64_t>(u)) {}
    Json(unsigned long u) : v_(static_cast<std::uint64_t>(u)) {}
    Json(unsigned long long u) : v_(static_cast<std::uint64_t>(u)) {}
    Json(double d) : v_(d) {}
    Json(const char* s) : v_(std::string(s)) {}
    Json(std::string s) : v_(std::move(s)) {}
    Json(std::string_view s) : v_(std::string(s)) {}
    Json(Array a) : v_(std::move(a)) {}
    Json(Object o) : v_(std::move(o)) {}

    static Json object() { return Json(Object{}); }
    static Json array() { return Json(Array{}); }

    // Object member (added when missing); the value must be an object.
    Json& operator[](std::string_view key);
    // Appends to an array.
    void push_back(Json v);
    bool is_object() const { return std::holds_alternative<Object>(v_); }

    // Compact, one line, no trailing newline.
    std::string dump() const;

  private:
    void write(std::string& out) const;
    std::variant<std::nullptr_t, bool, std::int64_t, std::uint64_t, double, std::string, Array,
                 Object>
        v_;
};

// A JSON string literal for `s` (with the quotes).
std::string json_quote(std::string_view s);

}  // namespace totem::tools
