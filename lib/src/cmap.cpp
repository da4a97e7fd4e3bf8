#include "totem/client/cmap.hpp"

#include <cstring>
#include <map>

#include "ipc.hpp"
#include "proto/cmap.hpp"

namespace totem::client {

namespace pc = proto::cmap;
using detail::ByteView;

// ------------------------------------------------------------------------------------ Value

const char* type_name(ValueType t) noexcept {
    switch (t) {
        case ValueType::int8:
            return "i8";
        case ValueType::uint8:
            return "u8";
        case ValueType::int16:
            return "i16";
        case ValueType::uint16:
            return "u16";
        case ValueType::int32:
            return "i32";
        case ValueType::uint32:
            return "u32";
        case ValueType::int64:
            return "i64";
        case ValueType::uint64:
            return "u64";
        case ValueType::float_:
            return "flt";
        case ValueType::double_:
            return "dbl";
        case ValueType::string:
            return "str";
        case ValueType::binary:
            return "bin";
    }
    return "?";
}

namespace {

template <typename T>
Value scalar(ValueType type, T v) {
    std::vector<std::uint8_t> b(sizeof(T));
    std::memcpy(b.data(), &v, sizeof(T));
    return Value(type, std::move(b));
}

template <typename T>
std::optional<T> read_scalar(std::span<const std::uint8_t> b) {
    if (b.size() != sizeof(T))
        return std::nullopt;
    T v;
    std::memcpy(&v, b.data(), sizeof(T));
    return v;
}

}  // namespace

Value Value::i8(std::int8_t v) {
    return scalar(ValueType::int8, v);
}
Value Value::u8(std::uint8_t v) {
    return scalar(ValueType::uint8, v);
}
Value Value::i16(std::int16_t v) {
    return scalar(ValueType::int16, v);
}
Value Value::u16(std::uint16_t v) {
    return scalar(ValueType::uint16, v);
}
Value Value::i32(std::int32_t v) {
    return scalar(ValueType::int32, v);
}
Value Value::u32(std::uint32_t v) {
    return scalar(ValueType::uint32, v);
}
Value Value::i64(std::int64_t v) {
    return scalar(ValueType::int64, v);
}
Value Value::u64(std::uint64_t v) {
    return scalar(ValueType::uint64, v);
}
Value Value::flt(float v) {
    return scalar(ValueType::float_, v);
}
Value Value::dbl(double v) {
    return scalar(ValueType::double_, v);
}
Value Value::str(std::string_view v) {
    return Value(ValueType::string, std::vector<std::uint8_t>(v.begin(), v.end()));
}
Value Value::bin(std::span<const std::uint8_t> v) {
    return Value(ValueType::binary, std::vector<std::uint8_t>(v.begin(), v.end()));
}

std::optional<std::int64_t> Value::as_int() const {
    switch (type_) {
        case ValueType::int8:
            return read_scalar<std::int8_t>(bytes_);
        case ValueType::uint8:
            return read_scalar<std::uint8_t>(bytes_);
        case ValueType::int16:
            return read_scalar<std::int16_t>(bytes_);
        case ValueType::uint16:
            return read_scalar<std::uint16_t>(bytes_);
        case ValueType::int32:
            return read_scalar<std::int32_t>(bytes_);
        case ValueType::uint32:
            return read_scalar<std::uint32_t>(bytes_);
        case ValueType::int64:
            return read_scalar<std::int64_t>(bytes_);
        case ValueType::uint64: {
            auto v = read_scalar<std::uint64_t>(bytes_);
            if (!v || *v > static_cast<std::uint64_t>(INT64_MAX))
                return std::nullopt;
            return static_cast<std::int64_t>(*v);
        }
        default:
            return std::nullopt;
    }
}

std::optional<std::uint64_t> Value::as_uint() const {
    switch (type_) {
        case ValueType::uint8:
            return read_scalar<std::uint8_t>(bytes_);
        case ValueType::uint16:
            return read_scalar<std::uint16_t>(bytes_);
        case ValueType::uint32:
            return read_scalar<std::uint32_t>(bytes_);
        case ValueType::uint64:
            return read_scalar<std::uint64_t>(bytes_);
        default:
            return std::nullopt;
    }
}

std::optional<double> Value::as_double() const {
    if (type_ == ValueType::float_)
        return read_scalar<float>(bytes_);
    if (type_ == ValueType::double_)
        return read_scalar<double>(bytes_);
    return std::nullopt;
}

std::optional<std::string> Value::as_string() const {
    if (type_ != ValueType::string)
        return std::nullopt;
    // The daemon stores a string with its NUL; the text ends at the first NUL.
    const auto* p = reinterpret_cast<const char*>(bytes_.data());
    return std::string(p, strnlen(p, bytes_.size()));
}

// ------------------------------------------------------------------------------------- Cmap

struct Cmap::Impl {
    std::unique_ptr<detail::Ipc> ipc;
    struct Tracker {
        NotifyFn fn;
        TrackId server = 0;
    };
    // By the client's handle (track_inst_handle), which the daemon echoes in notifications.
    std::map<std::uint64_t, Tracker> trackers;
    std::uint64_t next_inst = 1;

    Status handle_event(ByteView ev);
};

namespace {

// libcmap's checks before anything is sent: strlen(key) < CS_MAX_NAME_LENGTH (256).
Status check_key(std::string_view key) {
    if (key.size() >= proto::mar_name_value_size)
        return Errc::name_too_long;
    if (key.find('\0') != std::string_view::npos)
        return Errc::invalid_param;
    return {};
}

}  // namespace

Cmap::Cmap(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Cmap::Cmap(Cmap&&) noexcept = default;
Cmap& Cmap::operator=(Cmap&&) noexcept = default;
Cmap::~Cmap() = default;

// cmap_initialize() sends nothing after connecting; cmap_initialize_map() always sends
// SET_CURRENT_MAP, the default map included.
Result<Cmap> Cmap::connect() {
    return open(Options{}, false);
}

Result<Cmap> Cmap::connect(Options options) {
    return open(std::move(options), true);
}

Result<Cmap> Cmap::open(Options options, bool select_map) {
    auto ipc = detail::Ipc::connect("cmap", options);
    if (!ipc)
        return ipc.error();
    auto impl = std::make_unique<Impl>();
    impl->ipc = std::move(*ipc);
    if (select_map) {
        const auto req = pc::encode(pc::ReqSetCurrentMap{static_cast<std::int32_t>(options.map)});
        auto r = impl->ipc->request(req);
        if (!r)
            return r.error();
    }
    return Cmap(std::move(impl));
}

Status Cmap::set(std::string_view key, const Value& value) {
    if (Status s = check_key(key); !s)
        return s;
    pc::ReqSet req;
    req.key_name = std::string(key);
    req.type = static_cast<std::uint8_t>(value.type());
    req.value.assign(value.bytes().begin(), value.bytes().end());
    const auto bytes = pc::encode(req);
    auto r = impl_->ipc->request(bytes);
    if (!r)
        return r.error();
    return {};
}

Result<Value> Cmap::get_raw(std::string_view key, std::uint64_t buffer_len,
                            std::uint64_t* value_len) {
    if (Status s = check_key(key); !s)
        return s.error();
    const auto bytes = pc::encode(pc::ReqGet{std::string(key), buffer_len});
    auto r = impl_->ipc->request(bytes);
    if (!r)
        return r.error();
    auto res = detail::decoded(pc::decode_res_get(*r));
    if (!res)
        return res.error();
    if (value_len)
        *value_len = res->value_len;
    return Value(static_cast<ValueType>(res->type), std::move(res->value));
}

Result<Cmap::KeyInfo> Cmap::stat(std::string_view key) {
    std::uint64_t len = 0;
    auto v = get_raw(key, 0, &len);
    if (!v)
        return v.error();
    return KeyInfo{std::string(key), v->type(), len};
}

Result<Value> Cmap::get(std::string_view key) {
    auto info = stat(key);
    if (!info)
        return info.error();
    if (info->value_len == 0)
        return Value(info->type, {});
    return get_raw(key, info->value_len);
}

namespace {

template <typename T>
Result<T> get_scalar(Cmap& cmap, std::string_view key, ValueType type) {
    // cmap_get_int(): a 16-byte buffer, then the type must match.
    auto v = cmap.get_raw(key, 16);
    if (!v)
        return v.error();
    if (v->type() != type)
        return Errc::invalid_param;
    T out{};
    std::memcpy(&out, v->bytes().data(), std::min(sizeof(T), v->bytes().size()));
    return out;
}

}  // namespace

Result<std::int8_t> Cmap::get_i8(std::string_view key) {
    return get_scalar<std::int8_t>(*this, key, ValueType::int8);
}
Result<std::uint8_t> Cmap::get_u8(std::string_view key) {
    return get_scalar<std::uint8_t>(*this, key, ValueType::uint8);
}
Result<std::int16_t> Cmap::get_i16(std::string_view key) {
    return get_scalar<std::int16_t>(*this, key, ValueType::int16);
}
Result<std::uint16_t> Cmap::get_u16(std::string_view key) {
    return get_scalar<std::uint16_t>(*this, key, ValueType::uint16);
}
Result<std::int32_t> Cmap::get_i32(std::string_view key) {
    return get_scalar<std::int32_t>(*this, key, ValueType::int32);
}
Result<std::uint32_t> Cmap::get_u32(std::string_view key) {
    return get_scalar<std::uint32_t>(*this, key, ValueType::uint32);
}
Result<std::int64_t> Cmap::get_i64(std::string_view key) {
    return get_scalar<std::int64_t>(*this, key, ValueType::int64);
}
Result<std::uint64_t> Cmap::get_u64(std::string_view key) {
    return get_scalar<std::uint64_t>(*this, key, ValueType::uint64);
}
Result<float> Cmap::get_float(std::string_view key) {
    return get_scalar<float>(*this, key, ValueType::float_);
}
Result<double> Cmap::get_double(std::string_view key) {
    return get_scalar<double>(*this, key, ValueType::double_);
}

Result<std::string> Cmap::get_string(std::string_view key) {
    // cmap_get_string(): the size and type, then the value.
    auto info = stat(key);
    if (!info)
        return info.error();
    if (info->type != ValueType::string)
        return Errc::invalid_param;
    auto v = get_raw(key, info->value_len);
    if (!v)
        return v.error();
    return v->as_string().value_or(std::string());
}

Status Cmap::erase(std::string_view key) {
    if (Status s = check_key(key); !s)
        return s;
    const auto bytes = pc::encode(pc::ReqDelete{std::string(key)});
    auto r = impl_->ipc->request(bytes);
    if (!r)
        return r.error();
    return {};
}

Status Cmap::adjust(std::string_view key, std::int32_t step) {
    if (Status s = check_key(key); !s)
        return s;
    const auto bytes = pc::encode(pc::ReqAdjustInt{std::string(key), step});
    auto r = impl_->ipc->request(bytes);
    if (!r)
        return r.error();
    return {};
}

Result<Cmap::IterId> Cmap::iter_init(std::string_view prefix) {
    if (Status s = check_key(prefix); !s)
        return s.error();
    const auto bytes = pc::encode(pc::ReqIterInit{std::string(prefix)});
    auto r = impl_->ipc->request(bytes);
    if (!r)
        return r.error();
    auto res = detail::decoded(pc::decode_res_iter_init(*r));
    if (!res)
        return res.error();
    return res->iter_handle;
}

Result<std::optional<Cmap::KeyInfo>> Cmap::iter_next(IterId iter) {
    const auto bytes = pc::encode(pc::ReqIterNext{iter});
    auto r = impl_->ipc->request(bytes);
    if (!r) {
        if (r.error() == Errc::no_sections)
            return std::optional<KeyInfo>();
        return r.error();
    }
    auto res = detail::decoded(pc::decode_res_iter_next(*r));
    if (!res)
        return res.error();
    return std::optional<KeyInfo>(
        KeyInfo{std::move(res->key_name), static_cast<ValueType>(res->type), res->value_len});
}

Status Cmap::iter_finalize(IterId iter) {
    const auto bytes = pc::encode(pc::ReqIterFinalize{iter});
    auto r = impl_->ipc->request(bytes);
    if (!r)
        return r.error();
    return {};
}

Result<std::vector<Cmap::KeyInfo>> Cmap::keys(std::string_view prefix) {
    auto it = iter_init(prefix);
    if (!it)
        return it.error();
    std::vector<KeyInfo> out;
    for (;;) {
        auto next = iter_next(*it);
        if (!next) {
            (void)iter_finalize(*it);
            return next.error();
        }
        if (!next->has_value())
            break;
        out.push_back(std::move(**next));
    }
    if (Status s = iter_finalize(*it); !s)
        return s.error();
    return out;
}

Result<Cmap::TrackId> Cmap::track_add(std::string_view key, std::int32_t flags, NotifyFn fn) {
    if (!fn)
        return Errc::invalid_param;
    if (Status s = check_key(key); !s)
        return s.error();
    const std::uint64_t inst = impl_->next_inst++;
    const auto bytes = pc::encode(pc::ReqTrackAdd{std::string(key), flags, inst});
    auto r = impl_->ipc->request(bytes);
    if (!r)
        return r.error();
    auto res = detail::decoded(pc::decode_res_track_add(*r));
    if (!res)
        return res.error();
    impl_->trackers[inst] = Impl::Tracker{std::move(fn), res->track_handle};
    return res->track_handle;
}

Status Cmap::track_delete(TrackId track) {
    const auto bytes = pc::encode(pc::ReqTrackDelete{track});
    auto r = impl_->ipc->request(bytes);
    if (!r)
        return r.error();
    auto res = detail::decoded(pc::decode_res_track_delete(*r));
    if (!res)
        return res.error();
    impl_->trackers.erase(res->track_inst_handle);
    return {};
}

int Cmap::fd() const {
    return impl_->ipc->fd();
}

Status Cmap::Impl::handle_event(ByteView ev) {
    auto n = pc::decode_res_notify_callback(ev);
    if (!n)
        return Errc::library;  // cmap_dispatch: any other event is CS_ERR_LIBRARY
    auto it = trackers.find(n->track_inst_handle);
    if (it == trackers.end())
        return {};  // a tracker deleted meanwhile (libcmap ignores these too)
    Notification out;
    out.track = it->second.server;
    out.event = n->event;
    out.key = std::move(n->key_name);
    if (n->new_value_type != 0)
        out.new_value = Value(static_cast<ValueType>(n->new_value_type), std::move(n->new_value));
    if (n->old_value_type != 0)
        out.old_value = Value(static_cast<ValueType>(n->old_value_type), std::move(n->old_value));
    NotifyFn fn = it->second.fn;  // the callback may delete its own tracker
    fn(out);
    return {};
}

Result<std::size_t> Cmap::dispatch(Dispatch mode) {
    return impl_->ipc->dispatch(mode, [this](ByteView ev) { return impl_->handle_event(ev); });
}

}  // namespace totem::client
