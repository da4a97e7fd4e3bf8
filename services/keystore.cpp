#include "services/keystore.hpp"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstring>

#include "common/assert.hpp"

namespace totem::services {

namespace {

constexpr std::string_view kStatsClearPrefix = "stats.clear.";
constexpr std::string_view kSchedmissPrefix = "stats.schedmiss";

// exec/main.c set_icmap_ro_keys_flag: prefixes, then exact keys.
constexpr std::string_view kMainReadOnlyPrefixes[] = {
    "internal_configuration.", "runtime.services.", "runtime.config.", "runtime.totem.",
    "uidgid.config.",          "system.",           "nodelist.",
};
constexpr std::string_view kMainReadOnlyKeys[] = {
    "totem.crypto_cipher",
    "totem.crypto_hash",
    "totem.crypto_model",
    "totem.keyfile",
    "totem.key",
    "totem.secauth",
    "totem.ip_version",
    "totem.rrp_mode",
    "totem.transport",
    "totem.cluster_name",
    "totem.netmtu",
    "totem.threads",
    "totem.version",
    "totem.nodeid",
    "totem.clear_node_high_bit",
    "config.reload_in_progress",
    "config.totemconfig_reload_in_progress",
};
// exec/votequorum.c votequorum_set_icmap_ro_keys.
constexpr std::string_view kVotequorumReadOnlyKeys[] = {
    "quorum.allow_downscale",         "quorum.wait_for_all",
    "quorum.last_man_standing",       "quorum.last_man_standing_window",
    "quorum.expected_votes_tracking", "quorum.auto_tie_breaker",
    "quorum.auto_tie_breaker_node",
};

bool valid_key_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-' || c == '/' || c == ':';
}

std::uint64_t load_le(const Bytes& raw) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < raw.size() && i < 8; ++i)
        v |= static_cast<std::uint64_t>(raw[i]) << (8 * i);
    return v;
}

// The value bytes without a string's NUL: what icmap's 16 384-byte limit counts.
std::size_t payload_size(const Value& v) {
    return v.type() == ValueType::str ? v.size() - 1 : v.size();
}

std::string printf_f(double d) {
    char small[64];
    int n = std::snprintf(small, sizeof small, "%f", d);
    if (n < 0)
        return {};
    if (static_cast<std::size_t>(n) < sizeof small)
        return std::string(small, static_cast<std::size_t>(n));
    std::string big(static_cast<std::size_t>(n) + 1, '\0');
    std::snprintf(big.data(), big.size(), "%f", d);
    big.resize(static_cast<std::size_t>(n));
    return big;
}

}  // namespace

// ---- types -----------------------------------------------------------------------------------

const char* type_name(ValueType t) {
    switch (t) {
        case ValueType::i8:
            return "i8";
        case ValueType::u8:
            return "u8";
        case ValueType::i16:
            return "i16";
        case ValueType::u16:
            return "u16";
        case ValueType::i32:
            return "i32";
        case ValueType::u32:
            return "u32";
        case ValueType::i64:
            return "i64";
        case ValueType::u64:
            return "u64";
        case ValueType::f32:
            return "flt";
        case ValueType::f64:
            return "dbl";
        case ValueType::str:
            return "str";
        case ValueType::binary:
            return "bin";
    }
    return "?";
}

std::optional<ValueType> type_from_code(std::uint8_t code) {
    if (code < 1 || code > 12)
        return std::nullopt;
    return static_cast<ValueType>(code);
}

std::optional<ValueType> type_from_name(std::string_view name) {
    for (std::uint8_t c = 1; c <= 12; ++c)
        if (name == type_name(static_cast<ValueType>(c)))
            return static_cast<ValueType>(c);
    return std::nullopt;
}

std::size_t type_width(ValueType t) {
    switch (t) {
        case ValueType::i8:
        case ValueType::u8:
            return 1;
        case ValueType::i16:
        case ValueType::u16:
            return 2;
        case ValueType::i32:
        case ValueType::u32:
        case ValueType::f32:
            return 4;
        case ValueType::i64:
        case ValueType::u64:
        case ValueType::f64:
            return 8;
        case ValueType::str:
        case ValueType::binary:
            return 0;
    }
    return 0;
}

bool is_integer(ValueType t) {
    return t != ValueType::f32 && t != ValueType::f64 && t != ValueType::str &&
           t != ValueType::binary;
}

const char* error_text(KeyError e) {
    switch (e) {
        case KeyError::ok:
            return "success";
        case KeyError::invalid_param:
            return "CS_ERR_INVALID_PARAM";
        case KeyError::no_memory:
            return "CS_ERR_NO_MEMORY";
        case KeyError::bad_handle:
            return "CS_ERR_BAD_HANDLE";
        case KeyError::busy:
            return "CS_ERR_BUSY";
        case KeyError::access:
            return "CS_ERR_ACCESS";
        case KeyError::not_exist:
            return "CS_ERR_NOT_EXIST";
        case KeyError::name_too_long:
            return "CS_ERR_NAME_TOO_LONG";
        case KeyError::exist:
            return "CS_ERR_EXIST";
        case KeyError::not_supported:
            return "CS_ERR_NOT_SUPPORTED";
        case KeyError::no_sections:
            return "CS_ERR_NO_SECTIONS";
    }
    return "unknown error";
}

bool valid_key_name(std::string_view key) {
    if (key.size() < kKeyNameMin || key.size() > kKeyNameMax)
        return false;
    return std::all_of(key.begin(), key.end(), valid_key_char);
}

std::uint8_t stats_clear_groups(std::string_view key) {
    if (!key.starts_with(kStatsClearPrefix))
        return 0;
    std::uint8_t groups = 0;
    if (key.starts_with("stats.clear.knet"))
        groups |= kStatsClearKnet;
    if (key.starts_with("stats.clear.ipc"))
        groups |= kStatsClearIpc;
    if (key.starts_with("stats.clear.totem"))
        groups |= kStatsClearTotem;
    if (key.starts_with("stats.clear.schedmiss"))
        groups |= kStatsClearSchedmiss;
    if (key.starts_with("stats.clear.all"))
        groups |= kStatsClearKnet | kStatsClearIpc | kStatsClearTotem | kStatsClearSchedmiss;
    return groups;
}

// ---- Value -----------------------------------------------------------------------------------

void Value::set_integer_bits(std::uint64_t bits) {
    TOTEM_ASSERT(is_integer(type_));
    TOTEM_ASSERT(raw_.size() == type_width(type_));
    for (std::size_t i = 0; i < raw_.size(); ++i)
        raw_[i] = static_cast<std::uint8_t>(bits >> (8 * i));
}

Value Value::integer(ValueType t, std::uint64_t bits) {
    std::size_t w = type_width(t);
    TOTEM_ASSERT(w > 0);
    Bytes raw(w);
    for (std::size_t i = 0; i < w; ++i)
        raw[i] = static_cast<std::uint8_t>(bits >> (8 * i));
    return Value(t, std::move(raw));
}

Value Value::i8(std::int8_t v) {
    return integer(ValueType::i8, static_cast<std::uint8_t>(v));
}
Value Value::u8(std::uint8_t v) {
    return integer(ValueType::u8, v);
}
Value Value::i16(std::int16_t v) {
    return integer(ValueType::i16, static_cast<std::uint16_t>(v));
}
Value Value::u16(std::uint16_t v) {
    return integer(ValueType::u16, v);
}
Value Value::i32(std::int32_t v) {
    return integer(ValueType::i32, static_cast<std::uint32_t>(v));
}
Value Value::u32(std::uint32_t v) {
    return integer(ValueType::u32, v);
}
Value Value::i64(std::int64_t v) {
    return integer(ValueType::i64, static_cast<std::uint64_t>(v));
}
Value Value::u64(std::uint64_t v) {
    return integer(ValueType::u64, v);
}
Value Value::f32(float v) {
    return integer(ValueType::f32, std::bit_cast<std::uint32_t>(v));
}
Value Value::f64(double v) {
    return integer(ValueType::f64, std::bit_cast<std::uint64_t>(v));
}

Value Value::str(std::string_view s) {
    s = s.substr(0, s.find('\0'));
    Bytes raw(s.begin(), s.end());
    raw.push_back(0);
    return Value(ValueType::str, std::move(raw));
}

Value Value::binary(ByteView b) {
    return Value(ValueType::binary, Bytes(b.begin(), b.end()));
}

Value Value::from_conf(const conf::CmapValue& v) {
    switch (v.type) {
        case conf::ValueType::U8:
            return integer(ValueType::u8, v.u);
        case conf::ValueType::U16:
            return integer(ValueType::u16, v.u);
        case conf::ValueType::U32:
            return integer(ValueType::u32, v.u);
        case conf::ValueType::U64:
            return integer(ValueType::u64, v.u);
        case conf::ValueType::I8:
            return integer(ValueType::i8, static_cast<std::uint64_t>(v.i));
        case conf::ValueType::I16:
            return integer(ValueType::i16, static_cast<std::uint64_t>(v.i));
        case conf::ValueType::I32:
            return integer(ValueType::i32, static_cast<std::uint64_t>(v.i));
        case conf::ValueType::I64:
            return integer(ValueType::i64, static_cast<std::uint64_t>(v.i));
        case conf::ValueType::Str:
            return str(v.str);
    }
    TOTEM_ASSERT(false && "conf::ValueType out of range");
    return str({});
}

Result<Value, KeyError> Value::from_wire(std::uint8_t type_code, ByteView bytes) {
    auto t = type_from_code(type_code);
    if (!t)
        return Err{KeyError::invalid_param};
    if (bytes.size() > kValueLenMax)
        return Err{KeyError::invalid_param};
    switch (*t) {
        case ValueType::str: {
            // value_len may be shorter than the string but never longer than strlen + 1.
            // (memchr of an empty view's null data() is undefined: test the size first)
            const void* nul = bytes.empty() ? nullptr : std::memchr(bytes.data(), 0, bytes.size());
            std::size_t len =
                nul ? static_cast<std::size_t>(static_cast<const std::uint8_t*>(nul) - bytes.data())
                    : bytes.size();
            if (bytes.size() > len + 1)
                return Err{KeyError::invalid_param};
            Bytes raw(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(len));
            raw.push_back(0);
            return Value(ValueType::str, std::move(raw));
        }
        case ValueType::binary:
            return binary(bytes);
        default:
            if (bytes.size() != type_width(*t))
                return Err{KeyError::invalid_param};
            return Value(*t, Bytes(bytes.begin(), bytes.end()));
    }
}

std::optional<std::int8_t> Value::as_i8() const {
    if (type_ != ValueType::i8)
        return std::nullopt;
    return static_cast<std::int8_t>(load_le(raw_));
}
std::optional<std::uint8_t> Value::as_u8() const {
    if (type_ != ValueType::u8)
        return std::nullopt;
    return static_cast<std::uint8_t>(load_le(raw_));
}
std::optional<std::int16_t> Value::as_i16() const {
    if (type_ != ValueType::i16)
        return std::nullopt;
    return static_cast<std::int16_t>(load_le(raw_));
}
std::optional<std::uint16_t> Value::as_u16() const {
    if (type_ != ValueType::u16)
        return std::nullopt;
    return static_cast<std::uint16_t>(load_le(raw_));
}
std::optional<std::int32_t> Value::as_i32() const {
    if (type_ != ValueType::i32)
        return std::nullopt;
    return static_cast<std::int32_t>(load_le(raw_));
}
std::optional<std::uint32_t> Value::as_u32() const {
    if (type_ != ValueType::u32)
        return std::nullopt;
    return static_cast<std::uint32_t>(load_le(raw_));
}
std::optional<std::int64_t> Value::as_i64() const {
    if (type_ != ValueType::i64)
        return std::nullopt;
    return static_cast<std::int64_t>(load_le(raw_));
}
std::optional<std::uint64_t> Value::as_u64() const {
    if (type_ != ValueType::u64)
        return std::nullopt;
    return load_le(raw_);
}
std::optional<float> Value::as_f32() const {
    if (type_ != ValueType::f32)
        return std::nullopt;
    return std::bit_cast<float>(static_cast<std::uint32_t>(load_le(raw_)));
}
std::optional<double> Value::as_f64() const {
    if (type_ != ValueType::f64)
        return std::nullopt;
    return std::bit_cast<double>(load_le(raw_));
}
std::optional<std::string> Value::as_string() const {
    if (type_ != ValueType::str)
        return std::nullopt;
    return std::string(raw_.begin(), raw_.end() - 1);
}

std::string Value::text() const {
    switch (type_) {
        case ValueType::i8:
            return std::to_string(*as_i8());
        case ValueType::u8:
            return std::to_string(*as_u8());
        case ValueType::i16:
            return std::to_string(*as_i16());
        case ValueType::u16:
            return std::to_string(*as_u16());
        case ValueType::i32:
            return std::to_string(*as_i32());
        case ValueType::u32:
            return std::to_string(*as_u32());
        case ValueType::i64:
            return std::to_string(*as_i64());
        case ValueType::u64:
            return std::to_string(*as_u64());
        case ValueType::f32:
            return printf_f(static_cast<double>(*as_f32()));  // printf promotes float
        case ValueType::f64:
            return printf_f(*as_f64());
        case ValueType::str:
            return *as_string();
        case ValueType::binary: {
            // print_binary_key works on a (signed) char: a byte ≥ 0x80 is negative, fails the
            // printable test and prints as "\x%02X" of its sign-extended int.
            std::string out;
            for (std::uint8_t b : raw_) {
                auto c = static_cast<signed char>(b);
                if (c >= ' ' && c < 0x7f && c != '\\') {
                    out += static_cast<char>(c);
                } else if (c == '\\') {
                    out += "\\\\";
                } else {
                    char hex[16];
                    std::snprintf(hex, sizeof hex, "\\x%02X",
                                  static_cast<unsigned>(static_cast<int>(c)));
                    out += hex;
                }
            }
            return out;
        }
    }
    return {};
}

std::string format_key(std::string_view key, const Value& v, PrintOptions opts) {
    bool binary = v.type() == ValueType::binary;
    if (opts.quiet) {
        // print_key prints "bin)" for a binary value even with -q.
        if (binary)
            return std::string("bin)") + (opts.show_binary ? " = " + v.text() : "") + "\n";
        return v.text() + "\n";
    }
    if (binary && !opts.show_binary)
        return conf::cmapctl_line(key, type_name(v.type()), std::nullopt);
    return conf::cmapctl_line(key, type_name(v.type()), v.text());
}

// ---- KeyStore --------------------------------------------------------------------------------

KeyStore::KeyStore(MapKind kind) : KeyStore(kind, Limits{}) {}

KeyStore::KeyStore(MapKind kind, Limits limits) : kind_(kind), limits_(limits) {
    if (kind_ != MapKind::icmap)
        return;
    for (auto p : kMainReadOnlyPrefixes)
        read_only_.push_back({std::string(p), true});
    for (auto k : kMainReadOnlyKeys)
        read_only_.push_back({std::string(k), false});
}

bool KeyStore::over_limits(std::size_t new_key_bytes, std::size_t old_bytes,
                           std::size_t new_bytes) const {
    if (new_key_bytes > 0 && keys_.size() >= limits_.keys_max)
        return true;
    return bytes_ - old_bytes + new_bytes + new_key_bytes > limits_.bytes_max;
}

KeyError KeyStore::store(std::string_view key, const Value& v, bool bounded) {
    if (payload_size(v) > kValueLenMax)
        return KeyError::invalid_param;
    auto it = keys_.find(key);
    if (it != keys_.end()) {
        if (it->second == v)
            return KeyError::ok;  // icmap_item_eq: unchanged, nothing fires
        if (bounded && over_limits(0, it->second.size(), v.size()))
            return KeyError::no_memory;
        Value old = std::move(it->second);
        it->second = v;
        bytes_ = bytes_ - old.size() + v.size();
        // The stats map's values are read live in corosync: its trie never sees a change.
        if (kind_ == MapKind::icmap)
            notify(Event::modified, it->first, &it->second, &old);
        return KeyError::ok;
    }
    if (!valid_key_name(key))
        return KeyError::name_too_long;
    if (bounded && over_limits(key.size(), 0, v.size()))
        return KeyError::no_memory;
    it = keys_.emplace(std::string(key), v).first;
    bytes_ += key.size() + v.size();
    notify(Event::added, it->first, &it->second, nullptr);
    return KeyError::ok;
}

KeyError KeyStore::set(std::string_view key, const Value& v) {
    return store(key, v, false);
}

KeyError KeyStore::erase(std::string_view key) {
    auto it = keys_.find(key);
    if (it == keys_.end())
        return KeyError::not_exist;
    notify(Event::deleted, it->first, nullptr, &it->second);
    bytes_ -= it->first.size() + it->second.size();
    keys_.erase(it);
    return KeyError::ok;
}

KeyError KeyStore::adjust(std::string_view key, std::int32_t step) {
    auto it = keys_.find(key);
    if (it == keys_.end())
        return KeyError::not_exist;
    ValueType t = it->second.type();
    if (!is_integer(t))
        return KeyError::invalid_param;
    // u8 += step & co.: modular at the type's width for signed types too.
    std::uint64_t bits = load_le(it->second.raw()) + static_cast<std::uint64_t>(std::int64_t{step});
    return store(key, Value::integer(t, bits), false);
}

KeyError KeyStore::fast_adjust(std::string_view key, std::int32_t step) {
    auto it = keys_.find(key);
    if (it == keys_.end())
        return KeyError::not_exist;
    ValueType t = it->second.type();
    if (!is_integer(t))
        return KeyError::invalid_param;
    std::uint64_t bits = load_le(it->second.raw()) + static_cast<std::uint64_t>(std::int64_t{step});
    it->second.set_integer_bits(bits);
    // icmap_fast_adjust_int puts the same item back: REPLACED with old == new, which
    // icmap_notify_fn reports without an old value — also for step 0.
    if (kind_ == MapKind::icmap)
        notify(Event::modified, it->first, &it->second, nullptr);
    return KeyError::ok;
}

std::vector<std::pair<std::string, KeyError>> KeyStore::load(const conf::Cmap& keys) {
    std::vector<std::pair<std::string, KeyError>> refused;
    for (const auto& [k, v] : keys) {
        KeyError e = set(k, Value::from_conf(v));
        if (e != KeyError::ok)
            refused.emplace_back(k, e);
    }
    return refused;
}

const Value* KeyStore::find(std::string_view key) const {
    auto it = keys_.find(key);
    return it == keys_.end() ? nullptr : &it->second;
}

std::optional<std::uint8_t> KeyStore::get_u8(std::string_view key) const {
    const Value* v = find(key);
    return v ? v->as_u8() : std::nullopt;
}
std::optional<std::uint16_t> KeyStore::get_u16(std::string_view key) const {
    const Value* v = find(key);
    return v ? v->as_u16() : std::nullopt;
}
std::optional<std::uint32_t> KeyStore::get_u32(std::string_view key) const {
    const Value* v = find(key);
    return v ? v->as_u32() : std::nullopt;
}
std::optional<std::uint64_t> KeyStore::get_u64(std::string_view key) const {
    const Value* v = find(key);
    return v ? v->as_u64() : std::nullopt;
}
std::optional<std::int32_t> KeyStore::get_i32(std::string_view key) const {
    const Value* v = find(key);
    return v ? v->as_i32() : std::nullopt;
}
std::optional<std::string> KeyStore::get_string(std::string_view key) const {
    const Value* v = find(key);
    return v ? v->as_string() : std::nullopt;
}

// ---- read-only keys --------------------------------------------------------------------------

KeyError KeyStore::set_read_only(std::string_view key, bool prefix, bool read_only) {
    auto it = std::find_if(read_only_.begin(), read_only_.end(),
                           [&](const ReadOnly& r) { return r.prefix == prefix && r.key == key; });
    if (it != read_only_.end()) {
        if (read_only)
            return KeyError::exist;
        read_only_.erase(it);
        return KeyError::ok;
    }
    if (!read_only)
        return KeyError::not_exist;
    read_only_.push_back({std::string(key), prefix});
    return KeyError::ok;
}

void KeyStore::add_votequorum_read_only_keys() {
    for (auto k : kVotequorumReadOnlyKeys)
        (void)set_read_only(k, false, true);  // exist when already there: nothing to do
}

bool KeyStore::is_read_only(std::string_view key) const {
    if (kind_ == MapKind::stats)
        return !key.starts_with(kStatsClearPrefix);  // stats_map_is_key_ro
    return std::any_of(read_only_.begin(), read_only_.end(), [&](const ReadOnly& r) {
        return r.prefix ? key.starts_with(r.key) : key == r.key;
    });
}

// ---- client operations -----------------------------------------------------------------------

KeyError KeyStore::client_set(std::string_view key, std::uint8_t type_code, ByteView value) {
    if (is_read_only(key))
        return KeyError::access;
    if (kind_ == MapKind::stats)  // stats_map_set: a clear trigger, nothing stored
        return stats_clear_groups(key) ? KeyError::ok : KeyError::not_supported;
    auto v = Value::from_wire(type_code, value);
    if (!v)
        return v.error();
    return store(key, *v, true);
}

KeyError KeyStore::client_delete(std::string_view key) {
    if (is_read_only(key))
        return KeyError::access;
    if (kind_ == MapKind::stats)
        return KeyError::not_supported;
    return erase(key);
}

Result<GetReply, KeyError> KeyStore::client_get(std::string_view key,
                                                std::uint64_t capacity) const {
    const Value* v = find(key);
    if (!v)
        return Err{KeyError::not_exist};
    GetReply r;
    r.type = v->type();
    r.value_len = v->size();
    if (capacity == 0)
        return r;
    if (capacity < v->size())
        return Err{KeyError::invalid_param};
    r.value = v->raw();
    return r;
}

KeyError KeyStore::client_adjust(std::string_view key, std::int32_t step) {
    if (is_read_only(key))
        return KeyError::access;
    if (kind_ == MapKind::stats)
        return KeyError::not_supported;
    return adjust(key, step);
}

// ---- iteration -------------------------------------------------------------------------------

std::optional<IterItem> KeyStore::iter_next(KeyIterator& it) const {
    if (it.done_)
        return std::nullopt;
    auto pos = it.started_ ? keys_.upper_bound(it.last_) : keys_.lower_bound(it.prefix_);
    if (pos == keys_.end() || !std::string_view(pos->first).starts_with(it.prefix_)) {
        it.done_ = true;
        return std::nullopt;
    }
    it.started_ = true;
    it.last_ = pos->first;
    return IterItem{pos->first, pos->second.size(), pos->second.type()};
}

// ---- tracking --------------------------------------------------------------------------------

Result<TrackId, KeyError> KeyStore::add_track(std::string_view key_or_prefix,
                                              std::int32_t track_bits, std::uint64_t user_token) {
    constexpr std::int32_t all = kTrackDelete | kTrackModify | kTrackAdd | kTrackPrefix;
    if (kind_ == MapKind::icmap && (track_bits & ~all) != 0)
        return Err{KeyError::invalid_param};
    if (kind_ == MapKind::stats && (track_bits & kTrackPrefix) &&
        (!(track_bits & kTrackDelete) || !(track_bits & kTrackAdd)))
        return Err{KeyError::not_supported};
    Tracker t;
    t.key = std::string(key_or_prefix);
    t.bits = track_bits;
    t.user_token = user_token;
    if (kind_ == MapKind::stats) {
        // stats_map_track_add keeps the value as a u64 (0 when the key is missing).
        const Value* v = t.key.empty() ? nullptr : find(t.key);
        t.stats_seen = v ? v->raw() : Bytes(8, 0);
    }
    TrackId id{next_track_++};
    trackers_.emplace(id, std::move(t));
    return id;
}

Result<std::uint64_t, KeyError> KeyStore::remove_track(TrackId id) {
    auto it = trackers_.find(id);
    if (it == trackers_.end())
        return Err{KeyError::bad_handle};
    std::uint64_t token = it->second.user_token;
    trackers_.erase(it);
    return token;
}

std::vector<Notification> KeyStore::take_notifications() {
    std::vector<Notification> out;
    out.swap(outbox_);
    return out;
}

// libqb's trie_notify walks from the key's node up to the root, and at each node through its
// notifier list. A tracker sits on the node of its key; a key tracker fires only at its own
// node, a PREFIX tracker for every key below. So: longer tracker keys first; at one node the
// key trackers newest first (added at the list's head), then the prefix trackers oldest first
// (added at its tail); at the root (no key) every tracker is added at the head: newest first.
void KeyStore::notify(Event e, const std::string& key, const Value* new_value,
                      const Value* old_value) {
    if (kind_ == MapKind::stats && std::string_view(key).starts_with(kSchedmissPrefix))
        return;  // stats_map_notify_fn ignores the schedmiss ring
    struct Hit {
        TrackId id;
        const Tracker* t;
    };
    std::vector<Hit> hits;
    for (const auto& [id, t] : trackers_) {
        if ((t.bits & static_cast<std::int32_t>(e)) == 0)
            continue;
        bool prefix = (t.bits & kTrackPrefix) != 0;
        if (prefix ? std::string_view(key).starts_with(t.key) : (!t.key.empty() && key == t.key))
            hits.push_back({id, &t});
    }
    std::sort(hits.begin(), hits.end(), [](const Hit& a, const Hit& b) {
        if (a.t->key.size() != b.t->key.size())
            return a.t->key.size() > b.t->key.size();
        if (a.t->key.empty())
            return a.id > b.id;
        bool ap = (a.t->bits & kTrackPrefix) != 0;
        bool bp = (b.t->bits & kTrackPrefix) != 0;
        if (ap != bp)
            return !ap;
        return ap ? a.id < b.id : a.id > b.id;
    });
    for (const Hit& h : hits) {
        Notification n;
        n.track = h.id;
        n.user_token = h.t->user_token;
        n.key = key;
        n.event = e;
        if (kind_ == MapKind::stats) {
            // stats_map_notify_fn reads the key's current value into both.
            const Value* cur = new_value ? new_value : old_value;
            n.new_value = *cur;
            n.old_value = *cur;
        } else {
            if (new_value)
                n.new_value = *new_value;
            if (old_value)
                n.old_value = *old_value;
        }
        outbox_.push_back(std::move(n));
    }
}

void KeyStore::stats_poll() {
    TOTEM_ASSERT(kind_ == MapKind::stats);
    for (auto it = trackers_.rbegin(); it != trackers_.rend(); ++it) {
        Tracker& t = it->second;
        if ((t.bits & kTrackPrefix) || t.key.empty())
            continue;
        const Value* v = find(t.key);
        if (!v)
            continue;
        const Bytes& raw = v->raw();
        bool changed = false;
        for (std::size_t i = 0; i < raw.size() && !changed; ++i)
            changed = (i < t.stats_seen.size() ? t.stats_seen[i] : 0) != raw[i];
        if (!changed)
            continue;
        if (t.stats_seen.size() < raw.size())
            t.stats_seen.resize(raw.size(), 0);
        std::copy(raw.begin(), raw.end(), t.stats_seen.begin());
        outbox_.push_back(Notification{it->first, t.user_token, t.key, Event::modified, *v, *v});
    }
}

std::string KeyStore::dump(std::string_view prefix, PrintOptions opts) const {
    std::string out;
    for (auto it = keys_.lower_bound(prefix);
         it != keys_.end() && std::string_view(it->first).starts_with(prefix); ++it)
        out += format_key(it->first, it->second, opts);
    return out;
}

}  // namespace totem::services
