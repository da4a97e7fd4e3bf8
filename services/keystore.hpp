// KeyStore: the key/value store behind cmap (corosync's exec/icmap.c over libqb's trie), as a
// pure value.
//
// One KeyStore per map: the default map (icmap: configuration, runtime.*, votequorum's keys)
// and the stats map (exec/stats.c; MapKind::stats). The daemon's own operations (set, erase,
// adjust, fast_inc) apply icmap's value and name checks but no read-only rule; the client_*
// operations are what cmap's IPC handlers do (exec/cmap.c): read-only keys first, then icmap.
// Every mutation appends the notifications corosync would fire, in its order, to an outbox the
// caller drains with take_notifications(); nothing calls out of a mutation. No I/O, clock or
// threads; single-threaded, owned by the node core.
//
// Facts: shared/spec/services-and-ipc.md A3.2, A1.7, B4; what the spec leaves out was read in
// exec/icmap.c, exec/cmap.c, exec/stats.c, libqb lib/trie.c and checked on the real daemon
// (tests/unit/keystore/observe_corosync.py, its output beside it). Where totemd differs from
// corosync: docs/protocol/deviations.md ("cmap key store" rows).
//
// Bounds. Keys ≤ 255 characters and values ≤ 16 384 bytes (corosync's). Client sets that would
// grow the store past KeyStore::Limits (key count, key+value bytes) get CS_ERR_NO_MEMORY, the
// code icmap answers when it cannot allocate; daemon writes are not bounded (their key families
// are bounded by the cluster's size). The number of trackers and iterators a connection holds,
// and the size of the outbox between drains (at most one record per tracker per mutation), are
// the caller's to bound. Costs: a mutation scans every tracker (O(trackers)); lookups and
// iteration steps are O(log keys).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/bytes.hpp"
#include "common/result.hpp"
#include "conf/cmap.hpp"

namespace totem::services {

// icmap_value_types_t / cmap_value_types_t, numbered as on the wire.
enum class ValueType : std::uint8_t {
    i8 = 1,
    u8 = 2,
    i16 = 3,
    u16 = 4,
    i32 = 5,
    u32 = 6,
    i64 = 7,
    u64 = 8,
    f32 = 9,
    f64 = 10,
    str = 11,
    binary = 12
};

// corosync-cmapctl's names: "i8" … "u64", "flt", "dbl", "str", "bin".
const char* type_name(ValueType t);
std::optional<ValueType> type_from_name(std::string_view name);
std::optional<ValueType> type_from_code(std::uint8_t code);  // 1..12
// Bytes of a fixed-width type (icmap_get_valuetype_len); 0 for str and binary.
std::size_t type_width(ValueType t);
bool is_integer(ValueType t);

// cs_error_t values (spec A2.3) that the key store and cmap's handlers answer.
enum class KeyError : std::uint8_t {
    ok = 1,
    invalid_param = 7,
    no_memory = 8,
    bad_handle = 9,
    busy = 10,
    access = 11,
    not_exist = 12,
    name_too_long = 13,
    exist = 14,
    not_supported = 19,
    no_sections = 27,
};
// cs_strerror's text: "success", "CS_ERR_ACCESS", …
const char* error_text(KeyError e);

inline constexpr std::size_t kKeyNameMin = 3;       // ICMAP_KEYNAME_MINLEN
inline constexpr std::size_t kKeyNameMax = 255;     // ICMAP_KEYNAME_MAXLEN
inline constexpr std::size_t kValueLenMax = 16384;  // ICMAP_MAX_VALUE_LEN
// icmap_check_key_name: kKeyNameMin..kKeyNameMax characters of [A-Za-z0-9._/:-].
bool valid_key_name(std::string_view key);

// One stored value: its type and exactly the bytes icmap stores — integers little-endian of
// their width, float/double IEEE-754 little-endian, a string with its terminating NUL (and no
// other NUL), binary as given. Every factory keeps that invariant.
class Value {
  public:
    static Value i8(std::int8_t v);
    static Value u8(std::uint8_t v);
    static Value i16(std::int16_t v);
    static Value u16(std::uint16_t v);
    static Value i32(std::int32_t v);
    static Value u32(std::uint32_t v);
    static Value i64(std::int64_t v);
    static Value u64(std::uint64_t v);
    static Value f32(float v);
    static Value f64(double v);
    // Up to the first NUL of s (icmap_set_string sends strlen(s)), then a NUL.
    static Value str(std::string_view s);
    static Value binary(ByteView b);
    // The runtime value of a parsed configuration key.
    static Value from_conf(const conf::CmapValue& v);
    // What icmap_set stores for a client's (type, bytes), or the refusal: the width of fixed
    // types, a string's value_len ≤ strlen + 1 (stored as min(strlen, len) + NUL), ≤ 16 384
    // bytes. A type code outside 1..12 is refused (see deviations.md).
    static Result<Value, KeyError> from_wire(std::uint8_t type_code, ByteView bytes);

    ValueType type() const { return type_; }
    const Bytes& raw() const { return raw_; }
    // An integer value rewritten in place with `bits` (truncated to its width, as integer()
    // does): fast_adjust's counters change on every message and allocate nothing.
    void set_integer_bits(std::uint64_t bits);
    std::size_t size() const { return raw_.size(); }  // value_len as cmap reports it

    // Typed reads: the value when the type is exactly T's (as icmap_get_uint32 & co.).
    std::optional<std::int8_t> as_i8() const;
    std::optional<std::uint8_t> as_u8() const;
    std::optional<std::int16_t> as_i16() const;
    std::optional<std::uint16_t> as_u16() const;
    std::optional<std::int32_t> as_i32() const;
    std::optional<std::uint32_t> as_u32() const;
    std::optional<std::int64_t> as_i64() const;
    std::optional<std::uint64_t> as_u64() const;
    std::optional<float> as_f32() const;
    std::optional<double> as_f64() const;
    std::optional<std::string> as_string() const;  // without the NUL

    // The value as corosync-cmapctl prints it: integers in decimal, flt and dbl with "%f",
    // strings as they are, binary escaped as with -b (print_binary_key, including its
    // sign-extension of bytes ≥ 0x80: "\xFFFFFF80").
    std::string text() const;

    bool operator==(const Value&) const = default;

  private:
    Value(ValueType t, Bytes raw) : type_(t), raw_(std::move(raw)) {}
    static Value integer(ValueType t, std::uint64_t bits);

    ValueType type_;
    Bytes raw_;

    friend class KeyStore;
};

// corosync-cmapctl's print_key: "key (type) = text\n" ("key (bin)\n" without -b); with -q the
// text alone (a binary value still prints "bin)" then, as the tool does).
struct PrintOptions {
    bool show_binary = false;  // -b
    bool quiet = false;        // -q
};
std::string format_key(std::string_view key, const Value& v, PrintOptions opts = {});

// Track bits (CMAP_TRACK_*) and the events a notification carries.
inline constexpr std::int32_t kTrackDelete = 1;
inline constexpr std::int32_t kTrackModify = 2;
inline constexpr std::int32_t kTrackAdd = 4;
inline constexpr std::int32_t kTrackPrefix = 8;
enum class Event : std::int32_t { deleted = 1, modified = 2, added = 4 };

struct TrackId {
    std::uint64_t value = 0;
    bool operator==(const TrackId&) const = default;
    auto operator<=>(const TrackId&) const = default;
};

// One notification for one tracker. For `added` old_value is empty, for `deleted` new_value;
// `modified` has both, except after fast_inc/fast_adjust (no old value). On the stats map, as
// exec/stats.c sends them, both carry the current value.
struct Notification {
    TrackId track;
    std::uint64_t user_token = 0;  // given at add_track (cmap: the client's track_inst_handle)
    std::string key;
    Event event = Event::modified;
    std::optional<Value> new_value;
    std::optional<Value> old_value;
    bool operator==(const Notification&) const = default;
};

// A position in a prefix iteration, kept by the caller (cmap: one per iterator handle). Each
// step returns the next key after the last one returned that starts with the prefix (plain
// string prefix, byte order), so keys added or removed between steps are simply seen or not;
// once the end was reached it stays there (as libqb's iterator).
class KeyIterator {
  public:
    const std::string& prefix() const { return prefix_; }

  private:
    friend class KeyStore;
    explicit KeyIterator(std::string prefix) : prefix_(std::move(prefix)) {}
    std::string prefix_;
    std::string last_;
    bool started_ = false;
    bool done_ = false;
};

struct IterItem {
    std::string key;
    std::size_t value_len = 0;
    ValueType type = ValueType::u8;
    bool operator==(const IterItem&) const = default;
};

// The reply to a client GET: type and length of the value; the bytes unless only the size was
// asked for (capacity 0).
struct GetReply {
    ValueType type = ValueType::u8;
    std::size_t value_len = 0;
    Bytes value;
};

enum class MapKind : std::uint8_t { icmap = 0, stats = 1 };  // CMAP_MAP_DEFAULT / CMAP_MAP_STATS

// Groups a client's SET of a stats.clear.* key asks to clear (exec/stats.c stats_map_set: each
// name matched as a prefix of the key, so "stats.clear.ipcX" clears ipc too).
inline constexpr std::uint8_t kStatsClearKnet = 1;
inline constexpr std::uint8_t kStatsClearIpc = 2;
inline constexpr std::uint8_t kStatsClearTotem = 4;
inline constexpr std::uint8_t kStatsClearSchedmiss = 8;
std::uint8_t stats_clear_groups(std::string_view key);

class KeyStore {
  public:
    struct Limits {
        std::size_t keys_max = 262144;      // keys in the store, for client sets
        std::size_t bytes_max = 64u << 20;  // key + value bytes in the store, for client sets
    };

    // An icmap store starts with main.c's read-only keys (set_icmap_ro_keys_flag); a stats
    // store has the stats rules (everything read-only but stats.clear.*).
    explicit KeyStore(MapKind kind = MapKind::icmap);
    KeyStore(MapKind kind, Limits limits);

    MapKind kind() const { return kind_; }

    // ---- the daemon's operations (icmap_*: value and name checks, no read-only rule) --------
    // icmap_set: a new key needs a valid name (else name_too_long); the same type and value
    // is ok and fires nothing; the type may change.
    KeyError set(std::string_view key, const Value& v);
    KeyError erase(std::string_view key);  // not_exist when missing
    // icmap_adjust_int: integers only (else invalid_param), wraps at the type's width; fires
    // MODIFY with the old value unless the value is unchanged (step 0).
    KeyError adjust(std::string_view key, std::int32_t step);
    // icmap_fast_adjust_int / fast_inc: in place; MODIFY without the old value, even for 0.
    KeyError fast_adjust(std::string_view key, std::int32_t step);
    KeyError fast_inc(std::string_view key) { return fast_adjust(key, 1); }
    // Every key of a parsed configuration, as coroparse stores them; returns those refused.
    std::vector<std::pair<std::string, KeyError>> load(const conf::Cmap& keys);

    const Value* find(std::string_view key) const;
    bool contains(std::string_view key) const { return find(key) != nullptr; }
    std::size_t size() const { return keys_.size(); }
    std::optional<std::uint8_t> get_u8(std::string_view key) const;
    std::optional<std::uint16_t> get_u16(std::string_view key) const;
    std::optional<std::uint32_t> get_u32(std::string_view key) const;
    std::optional<std::uint64_t> get_u64(std::string_view key) const;
    std::optional<std::int32_t> get_i32(std::string_view key) const;
    std::optional<std::string> get_string(std::string_view key) const;

    // ---- read-only keys (icmap_set_ro_access / icmap_is_key_ro) -----------------------------
    // Adds (read_only) or removes an entry: exist when adding one already there, not_exist when
    // removing one that is not.
    KeyError set_read_only(std::string_view key, bool prefix, bool read_only);
    // votequorum_set_icmap_ro_keys (votequorum's init adds these).
    void add_votequorum_read_only_keys();
    bool is_read_only(std::string_view key) const;

    // ---- what cmap's IPC handlers do (exec/cmap.c) -------------------------------------------
    // Key strings are what corosync reads: the C string in the request's mar_name_t.
    KeyError client_set(std::string_view key, std::uint8_t type_code, ByteView value);
    KeyError client_delete(std::string_view key);
    // capacity 0 asks only for type and length; a non-zero capacity below the value's length
    // is invalid_param.
    Result<GetReply, KeyError> client_get(std::string_view key, std::uint64_t capacity) const;
    KeyError client_adjust(std::string_view key, std::int32_t step);

    // ---- iteration -----------------------------------------------------------------------------
    KeyIterator iter_init(std::string_view prefix) const {
        return KeyIterator(std::string(prefix));
    }
    std::optional<IterItem> iter_next(KeyIterator& it) const;

    // ---- tracking ------------------------------------------------------------------------------
    // An empty key_or_prefix is "no key": with kTrackPrefix it tracks every key, without it
    // nothing. icmap: bits outside 1|2|4|8 are invalid_param. stats: a prefix tracker needs
    // both ADD and DELETE (else not_supported).
    Result<TrackId, KeyError> add_track(std::string_view key_or_prefix, std::int32_t track_bits,
                                        std::uint64_t user_token);
    // Removes a tracker; returns its user token (TRACK_DELETE's reply), bad_handle if unknown.
    Result<std::uint64_t, KeyError> remove_track(TrackId id);
    std::size_t tracker_count() const { return trackers_.size(); }
    std::vector<Notification> take_notifications();
    bool has_notifications() const { return !outbox_.empty(); }

    // stats map: exec/main.c's 1.5 s corosync_totem_stats_updater → stats_trigger_trackers.
    // Every tracker with a key and without PREFIX (whatever its bits), newest first, gets
    // MODIFY when its key's value differs from the one it last saw (0 when the key was missing
    // at add_track); both values of the notification are the current one.
    void stats_poll();

    // corosync-cmapctl's listing of a prefix ("" = every key), in iteration order.
    std::string dump(std::string_view prefix = {}, PrintOptions opts = {}) const;

  private:
    struct Tracker {
        std::string key;  // "" = no key (libqb's trie root)
        std::int32_t bits = 0;
        std::uint64_t user_token = 0;
        Bytes stats_seen;  // stats map: the value the last poll saw
    };
    struct ReadOnly {
        std::string key;
        bool prefix = false;
    };

    KeyError store(std::string_view key, const Value& v, bool bounded);
    void notify(Event e, const std::string& key, const Value* new_value, const Value* old_value);
    bool over_limits(std::size_t new_key_bytes, std::size_t old_bytes, std::size_t new_bytes) const;

    MapKind kind_;
    Limits limits_;
    std::map<std::string, Value, std::less<>> keys_;
    std::size_t bytes_ = 0;  // sum of key and value sizes
    std::vector<ReadOnly> read_only_;
    std::map<TrackId, Tracker> trackers_;  // by id: ids grow, so this is age order
    std::uint64_t next_track_ = 1;
    std::vector<Notification> outbox_;
};

}  // namespace totem::services
