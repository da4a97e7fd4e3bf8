// Cmap: the configuration and statistics database of the daemon (service "cmap"), as libcmap.
//
//   auto cmap = totem::client::Cmap::connect().or_throw();      // or check the Result
//   auto id = cmap.get_u32("runtime.votequorum.this_node_id");
//   for (const auto& k : cmap.keys("runtime.members.").value()) ...
//   cmap.track_add("totem.", Cmap::track_prefix | Cmap::track_modified,
//                  [](const Cmap::Notification& n) { ... });   // then poll fd(), dispatch()
//
// Key names are 3..255 bytes; values at most 16 KiB (the daemon answers CS_ERR_* otherwise).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "totem/client/connection.hpp"
#include "totem/client/error.hpp"
#include "totem/client/export.hpp"

namespace totem::client {

// cmap_value_types_t.
enum class ValueType : std::uint8_t {
    int8 = 1,
    uint8 = 2,
    int16 = 3,
    uint16 = 4,
    int32 = 5,
    uint32 = 6,
    int64 = 7,
    uint64 = 8,
    float_ = 9,
    double_ = 10,
    string = 11,
    binary = 12,
};
// "i8", "u8", "i16", "u16", "i32", "u32", "i64", "u64", "flt", "dbl", "str", "bin" (the names
// corosync-cmapctl prints); "?" for anything else.
TOTEM_CLIENT_API const char* type_name(ValueType t) noexcept;

// A typed cmap value: its type and its bytes as the daemon stores them (host byte order;
// strings without their NUL).
class TOTEM_CLIENT_API Value {
  public:
    Value() = default;
    Value(ValueType type, std::vector<std::uint8_t> bytes)
        : type_(type), bytes_(std::move(bytes)) {}

    static Value i8(std::int8_t v);
    static Value u8(std::uint8_t v);
    static Value i16(std::int16_t v);
    static Value u16(std::uint16_t v);
    static Value i32(std::int32_t v);
    static Value u32(std::uint32_t v);
    static Value i64(std::int64_t v);
    static Value u64(std::uint64_t v);
    static Value flt(float v);
    static Value dbl(double v);
    static Value str(std::string_view v);
    static Value bin(std::span<const std::uint8_t> v);

    ValueType type() const { return type_; }
    std::span<const std::uint8_t> bytes() const { return bytes_; }
    // The value when it has exactly this type (and the right size); nullopt otherwise.
    std::optional<std::int64_t> as_int() const;    // any of the integer types
    std::optional<std::uint64_t> as_uint() const;  // u8..u64 only
    std::optional<double> as_double() const;       // flt or dbl
    std::optional<std::string> as_string() const;  // str only
    bool operator==(const Value&) const = default;

  private:
    ValueType type_ = ValueType::binary;
    std::vector<std::uint8_t> bytes_;
};

class TOTEM_CLIENT_API Cmap {
  public:
    enum class Map : std::int32_t { icmap = 0, stats = 1 };  // CMAP_MAP_DEFAULT / _STATS
    struct Options : ConnectOptions {
        Map map = Map::icmap;
    };
    // What the daemon tells about a key without its value (cmap_iter_next, cmap_get size).
    struct KeyInfo {
        std::string name;
        ValueType type = ValueType::binary;
        std::uint64_t value_len = 0;
    };
    // Track flags (CMAP_TRACK_*), or-ed; the first three are also the events.
    static constexpr std::int32_t track_deleted = 1;
    static constexpr std::int32_t track_modified = 2;
    static constexpr std::int32_t track_added = 4;
    static constexpr std::int32_t track_prefix = 8;
    using TrackId = std::uint64_t;  // the daemon's handle of one tracker
    struct Notification {
        TrackId track = 0;
        std::int32_t event = 0;  // track_added, track_deleted or track_modified
        std::string key;
        std::optional<Value> new_value;  // absent when the event carries none (a delete)
        std::optional<Value> old_value;  // absent when the event carries none (an add)
    };
    using NotifyFn = std::function<void(const Notification&)>;

    // cmap_initialize(): connects to the default map.
    static Result<Cmap> connect();
    // cmap_initialize_map(): connects and selects options.map (a SET_CURRENT_MAP request,
    // sent for the default map too, as libcmap does).
    static Result<Cmap> connect(Options options);
    Cmap(Cmap&&) noexcept;
    Cmap& operator=(Cmap&&) noexcept;
    ~Cmap();

    Status set(std::string_view key, const Value& value);
    // Two round trips, as cmap_get_string: the size, then the value.
    Result<Value> get(std::string_view key);
    // The type and length only (cmap_get with no buffer).
    Result<KeyInfo> stat(std::string_view key);
    // One round trip with a 16-byte buffer, as cmap_get_<int>(): CS_ERR_INVALID_PARAM when
    // the key has another type.
    Result<std::int8_t> get_i8(std::string_view key);
    Result<std::uint8_t> get_u8(std::string_view key);
    Result<std::int16_t> get_i16(std::string_view key);
    Result<std::uint16_t> get_u16(std::string_view key);
    Result<std::int32_t> get_i32(std::string_view key);
    Result<std::uint32_t> get_u32(std::string_view key);
    Result<std::int64_t> get_i64(std::string_view key);
    Result<std::uint64_t> get_u64(std::string_view key);
    Result<float> get_float(std::string_view key);
    Result<double> get_double(std::string_view key);
    Result<std::string> get_string(std::string_view key);  // CS_ERR_INVALID_PARAM: not a str
    // A raw GET: asks for `buffer_len` bytes of value (0: type and size only).
    Result<Value> get_raw(std::string_view key, std::uint64_t buffer_len,
                          std::uint64_t* value_len = nullptr);

    Status erase(std::string_view key);  // cmap_delete
    Status adjust(std::string_view key, std::int32_t step);
    Status inc(std::string_view key) { return adjust(key, 1); }
    Status dec(std::string_view key) { return adjust(key, -1); }

    // Iteration as cmap_iter_*: the daemon's iterator over keys starting with `prefix`.
    using IterId = std::uint64_t;
    Result<IterId> iter_init(std::string_view prefix);
    // The next key; nullopt at the end (CS_ERR_NO_SECTIONS).
    Result<std::optional<KeyInfo>> iter_next(IterId iter);
    Status iter_finalize(IterId iter);
    // Every key with this prefix ("" = all), in the daemon's order.
    Result<std::vector<KeyInfo>> keys(std::string_view prefix = {});

    // Tracking: `fn` runs from dispatch() for each change of the key (or of every key under
    // the prefix with track_prefix).
    Result<TrackId> track_add(std::string_view key, std::int32_t flags, NotifyFn fn);
    Status track_delete(TrackId track);

    int fd() const;
    Result<std::size_t> dispatch(Dispatch mode = Dispatch::all);

    struct Impl;

  private:
    explicit Cmap(std::unique_ptr<Impl> impl);
    static Result<Cmap> open(Options options, bool select_map);
    std::unique_ptr<Impl> impl_;
};

}  // namespace totem::client
