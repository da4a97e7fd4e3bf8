#include "ipc.hpp"

#include <qb/qbipcc.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <thread>

#include "proto/ipc.hpp"

namespace totem::client::detail {

Errc qb_to_cs(long result) noexcept {
    // corosync's common_lib/error_conversion.c: qb_to_cs_error().
    if (result >= 0)
        return Errc::ok;
    switch (-result) {
        case EBADF:
            return Errc::bad_handle;
        case ENOMEM:
            return Errc::no_memory;
        case ENOMSG:
        case ENOBUFS:
        case ETIMEDOUT:
        case EAGAIN:
            return Errc::try_again;
        case EBADE:
            return Errc::failed_operation;
        case ETIME:
            return Errc::timeout;
        case EINVAL:
            return Errc::invalid_param;
        case EBUSY:
            return Errc::busy;
        case EACCES:
            return Errc::access;
        case EOVERFLOW:
            return Errc::name_too_long;
        case EEXIST:
            return Errc::exist;
        case ENOSPC:
            return Errc::no_space;
        case EINTR:
            return Errc::interrupt;
        case ENOENT:
        case ENODEV:
            return Errc::not_exist;
        case ENOSYS:
        case ENOTSUP:
            return Errc::not_supported;
        case EBADMSG:
            return Errc::message_error;
        case EMSGSIZE:
        case E2BIG:
            return Errc::too_big;
        default:  // ECONNREFUSED, ENOTCONN, ...
            return Errc::library;
    }
}

// Sleeps 1, 2, 4 ... 50 ms between attempts until the handle's try_again_timeout has passed.
class Ipc::Backoff {
  public:
    Backoff(const ConnectOptions& o, Retry retry)
        : enabled_(retry == Retry::always || (retry == Retry::blocking && !o.nonblocking)),
          deadline_(std::chrono::steady_clock::now() +
                    std::min(o.try_again_timeout, std::chrono::milliseconds(24LL * 3600 * 1000))) {}

    bool wait() {
        if (!enabled_ || std::chrono::steady_clock::now() >= deadline_)
            return false;
        std::this_thread::sleep_for(step_);
        step_ = std::min(step_ * 2, std::chrono::milliseconds(50));
        return true;
    }

  private:
    bool enabled_;
    std::chrono::steady_clock::time_point deadline_;
    std::chrono::milliseconds step_{1};
};

namespace {

constexpr int kMaxIov = 64;

// iovecs for libqb (which takes non-const pointers but only reads them). More than kMaxIov
// parts are coalesced into one buffer.
struct IoVecs {
    explicit IoVecs(std::span<const ByteView> parts) {
        if (parts.size() <= kMaxIov) {
            for (const ByteView& p : parts)
                push(p);
            return;
        }
        for (const ByteView& p : parts)
            joined.insert(joined.end(), p.begin(), p.end());
        push(joined);
    }
    void push(ByteView p) {
        iovec v{};
        v.iov_base = const_cast<std::uint8_t*>(p.data());
        v.iov_len = p.size();
        iov.push_back(v);
    }
    std::vector<iovec> iov;
    std::vector<std::uint8_t> joined;
};

}  // namespace

Ipc::Ipc(qb_ipcc_connection* c, ConnectOptions options)
    : c_(c), options_(std::move(options)), response_(proto::ipc_buffer_size) {}

Ipc::~Ipc() {
    if (c_)
        qb_ipcc_disconnect(c_);
}

Result<std::unique_ptr<Ipc>> Ipc::connect(std::string_view default_name,
                                          const ConnectOptions& options) {
    const std::string name =
        options.ipc_name.empty() ? std::string(default_name) : options.ipc_name;
    errno = 0;
    qb_ipcc_connection_t* c = qb_ipcc_connect(name.c_str(), proto::ipc_buffer_size);
    if (c == nullptr) {
        const int e = errno != 0 ? errno : ECONNREFUSED;
        return make_error_code(qb_to_cs(-e));
    }
    return std::unique_ptr<Ipc>(new Ipc(c, options));
}

int Ipc::fd() const {
    int32_t fd = -1;
    if (qb_ipcc_fd_get(c_, &fd) != 0)
        return -1;
    return fd;
}

Result<ByteView> Ipc::request(std::span<const ByteView> parts, Retry retry, int fc_max) {
    IoVecs v(parts);
    Backoff backoff(options_, retry);
    for (;;) {
        if (fc_max != 1)
            qb_ipcc_fc_enable_max_set(c_, static_cast<uint32_t>(fc_max));
        const ssize_t r = qb_ipcc_sendv_recv(c_, v.iov.data(), static_cast<uint32_t>(v.iov.size()),
                                             response_.data(), response_.size(), -1);
        if (fc_max != 1)
            qb_ipcc_fc_enable_max_set(c_, 1);
        if (r < 0) {
            const Errc e = qb_to_cs(r);
            connected_ = qb_ipcc_is_connected(c_) != 0;
            // EAGAIN before anything was sent (flow control, a full request ring): retry.
            if (e == Errc::try_again && backoff.wait())
                continue;
            return e;
        }
        const ByteView response(response_.data(), static_cast<std::size_t>(r));
        auto header = proto::peek_response(response);
        if (!header)
            return Errc::message_error;
        if (header->error == proto::CsError::err_try_again && backoff.wait())
            continue;
        if (header->error != proto::CsError::ok)
            return cs_error(static_cast<int>(header->error));
        return response;
    }
}

Status Ipc::send(std::span<const ByteView> parts, int fc_max) {
    IoVecs v(parts);
    Backoff backoff(options_, Retry::blocking);
    for (;;) {
        qb_ipcc_fc_enable_max_set(c_, static_cast<uint32_t>(fc_max));
        const ssize_t r = qb_ipcc_sendv(c_, v.iov.data(), v.iov.size());
        qb_ipcc_fc_enable_max_set(c_, 1);
        if (r >= 0)
            return {};
        const Errc e = qb_to_cs(r);
        connected_ = qb_ipcc_is_connected(c_) != 0;
        if (e == Errc::try_again && backoff.wait())
            continue;
        return e;
    }
}

Status Ipc::retry_while(const std::function<Status()>& attempt, Retry retry, Errc extra) {
    Backoff backoff(options_, retry);
    for (;;) {
        Status s = attempt();
        if (s || (s.error() != Errc::try_again && s.error() != extra) || !backoff.wait())
            return s;
    }
}

Result<std::size_t> Ipc::dispatch(Dispatch mode, const std::function<Status(ByteView)>& handle) {
    // corosync's cpg_dispatch/cmap_dispatch/...: ALL and ONE_NONBLOCKING never wait.
    const int32_t timeout_ms =
        (mode == Dispatch::all || mode == Dispatch::one_nonblocking) ? 0 : -1;
    if (event_.empty())
        event_.resize(proto::ipc_buffer_size);
    std::size_t handled = 0;
    for (;;) {
        const ssize_t r = qb_ipcc_event_recv(c_, event_.data(), event_.size(), timeout_ms);
        if (r < 0) {
            const Errc e = qb_to_cs(r);
            connected_ = qb_ipcc_is_connected(c_) != 0;
            if (e == Errc::bad_handle)
                return handled;
            if (e == Errc::try_again) {
                if (mode == Dispatch::one_nonblocking)
                    return Errc::try_again;
                if (mode == Dispatch::all)
                    return handled;
                continue;  // ONE and BLOCKING: wait again
            }
            return e;
        }
        Status s = handle(ByteView(event_.data(), static_cast<std::size_t>(r)));
        if (!s)
            return s.error();
        ++handled;
        if (mode == Dispatch::one || mode == Dispatch::one_nonblocking)
            return handled;
    }
}

}  // namespace totem::client::detail
