#include "totem/client/cpg.hpp"

#include <unistd.h>

#include <algorithm>
#include <map>
#include <utility>

#include "cpg_wire.hpp"
#include "ipc.hpp"
#include "proto/cpg.hpp"

namespace totem::client {

namespace pc = proto::cpg;
using detail::ByteView;
using detail::Ipc;

static_assert(Cpg::max_atomic_msgsize() == proto::cpg_max_atomic_msgsize);

namespace detail {

std::vector<Fragment> plan_fragments(std::span<const std::span<const std::uint8_t>> buffers,
                                     std::size_t max_fragment) {
    std::size_t total = 0;
    for (const auto& b : buffers)
        total += b.size();
    std::vector<Fragment> out;
    if (total <= max_fragment)
        return out;
    // lib/cpg.c send_fragments(): a fragment never spans two buffers; the first is FIRST, the
    // one that completes the message LAST, every other CONTINUED (an empty buffer included).
    std::size_t i = 0;
    std::size_t buffer_sent = 0;
    std::size_t sent = 0;
    while (sent < total) {
        const std::size_t len = std::min(buffers[i].size() - buffer_sent, max_fragment);
        std::uint32_t type = pc::partial_continued;
        if (sent == 0)
            type = pc::partial_first;
        else if (sent + len == total)
            type = pc::partial_last;
        out.push_back(Fragment{i, buffer_sent, len, type});
        buffer_sent += len;
        sent += len;
        if (buffer_sent >= buffers[i].size()) {
            ++i;
            buffer_sent = 0;
        }
    }
    return out;
}

// The MCAST and PARTIAL_MCAST request headers for a payload that follows in its own iovec:
// proto encodes the header with an empty payload, then the size (@8) and the payload length
// field (msglen @32 for MCAST, fraglen @40 for PARTIAL_MCAST) are set to what follows. A unit
// test holds these equal to proto's encoding of the whole message.
static void put_u32(std::vector<std::uint8_t>& b, std::size_t offset, std::uint32_t v) {
    for (int k = 0; k < 4; ++k)
        b[offset + k] = static_cast<std::uint8_t>(v >> (8 * k));
}

std::vector<std::uint8_t> mcast_header(std::uint32_t guarantee, std::size_t msglen) {
    auto h = pc::encode(pc::ReqMcast{guarantee, {}});
    put_u32(h, 8, static_cast<std::uint32_t>(pc::req_mcast_fixed_size + msglen));
    put_u32(h, 32, static_cast<std::uint32_t>(msglen));
    return h;
}

std::vector<std::uint8_t> partial_header(std::uint32_t guarantee, std::size_t msglen,
                                         std::size_t fraglen, std::uint32_t type) {
    auto h =
        pc::encode(pc::ReqPartialMcast{guarantee, static_cast<std::uint32_t>(msglen), type, {}});
    put_u32(h, 8, static_cast<std::uint32_t>(pc::req_partial_mcast_fixed_size + fraglen));
    put_u32(h, 40, static_cast<std::uint32_t>(fraglen));
    return h;
}

}  // namespace detail

struct Cpg::Impl {
    std::unique_ptr<Ipc> ipc;
    std::uint32_t flags = 0;
    bool finalized = false;
    std::function<void(const Message&)> on_deliver;
    std::function<void(const ConfChg&)> on_confchg;
    std::function<void(const TotemConfChg&)> on_totem_confchg;
    // Partial messages being reassembled, by sender (libcpg's assembly list).
    struct Assembly {
        std::uint32_t msglen = 0;
        std::vector<std::uint8_t> data;
    };
    std::map<std::pair<std::uint32_t, std::uint32_t>, Assembly> assemblies;

    Status check() const {
        if (finalized || !ipc)
            return Errc::bad_handle;
        return {};
    }
    Status handle_event(ByteView ev);
    Status deliver_partial(pc::ResPartialDeliverCallback& p);
};

namespace {

std::vector<Cpg::Address> addresses(const std::vector<proto::CpgAddress>& in) {
    std::vector<Cpg::Address> out;
    out.reserve(in.size());
    for (const auto& a : in)
        out.push_back(Cpg::Address{a.nodeid, a.pid, static_cast<Cpg::Reason>(a.reason)});
    return out;
}

std::uint32_t own_pid() {
    return static_cast<std::uint32_t>(getpid());
}

}  // namespace

Cpg::Cpg(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Cpg::Cpg(Cpg&&) noexcept = default;
Cpg& Cpg::operator=(Cpg&& other) noexcept {
    if (this != &other) {
        (void)finalize();
        impl_ = std::move(other.impl_);
    }
    return *this;
}
Cpg::~Cpg() {
    (void)finalize();
}

Result<Cpg> Cpg::connect() {
    return connect(Options{});
}

Result<Cpg> Cpg::connect(Options options) {
    auto ipc = Ipc::connect("cpg", options);
    if (!ipc)
        return ipc.error();
    auto impl = std::make_unique<Impl>();
    impl->ipc = std::move(*ipc);
    impl->flags = options.deliver_initial_totem_conf ? pc::flag_deliver_initial_totem_conf : 0;
    return Cpg(std::move(impl));
}

Status Cpg::join(std::string_view group) {
    if (Status s = impl_ ? impl_->check() : Status(Errc::bad_handle); !s)
        return s;
    if (group.size() > proto::cpg_name_max)
        return Errc::name_too_long;
    const auto bytes = pc::encode(pc::ReqJoin{std::string(group), own_pid(), impl_->flags});
    // libcpg repeats JOIN while the daemon answers CS_ERR_BUSY (a leave still in progress).
    return impl_->ipc->retry_while(
        [&]() -> Status {
            auto r = impl_->ipc->request(bytes);
            return r ? Status() : Status(r.error());
        },
        Ipc::Retry::blocking, Errc::busy);
}

Status Cpg::leave(std::string_view group) {
    if (Status s = impl_ ? impl_->check() : Status(Errc::bad_handle); !s)
        return s;
    if (group.size() > proto::cpg_name_max)
        return Errc::name_too_long;
    const auto bytes = pc::encode(pc::ReqLeave{std::string(group), own_pid()});
    return impl_->ipc->retry_while(
        [&]() -> Status {
            auto r = impl_->ipc->request(bytes);
            return r ? Status() : Status(r.error());
        },
        Ipc::Retry::blocking, Errc::busy);
}

Status Cpg::mcast(std::span<const std::uint8_t> data, Guarantee g) {
    return mcastv(std::span<const std::span<const std::uint8_t>>(&data, 1), g);
}

Status Cpg::mcast(std::string_view data, Guarantee g) {
    const std::span<const std::uint8_t> d(reinterpret_cast<const std::uint8_t*>(data.data()),
                                          data.size());
    return mcast(d, g);
}

Status Cpg::mcastv(std::span<const std::span<const std::uint8_t>> buffers, Guarantee g) {
    if (Status s = impl_ ? impl_->check() : Status(Errc::bad_handle); !s)
        return s;
    const auto guarantee = static_cast<std::uint32_t>(g);
    const auto plan = detail::plan_fragments(buffers, max_atomic_msgsize());
    std::size_t total = 0;
    for (const auto& b : buffers)
        total += b.size();
    if (total > UINT32_MAX)
        return Errc::too_big;
    if (plan.empty()) {
        // One MCAST, no response, under fc_enable_max 2 (cpg_mcast_joined).
        const auto header = detail::mcast_header(guarantee, total);
        std::vector<ByteView> parts;
        parts.reserve(buffers.size() + 1);
        parts.emplace_back(header);
        for (const auto& b : buffers)
            parts.push_back(b);
        return impl_->ipc->send(parts, 2);
    }
    // PARTIAL_MCAST fragments, each answered with PARTIAL_SEND (send_fragments()).
    for (std::size_t k = 0; k < plan.size(); ++k) {
        const detail::Fragment& f = plan[k];
        const auto header = detail::partial_header(guarantee, total, f.length, f.type);
        const ByteView parts[2] = {header, buffers[f.buffer].subspan(f.offset, f.length)};
        // A non-blocking handle gives up only before the first fragment is out.
        const Ipc::Retry retry = k == 0 ? Ipc::Retry::blocking : Ipc::Retry::always;
        auto r = impl_->ipc->request(parts, retry, 2);
        if (!r)
            return r.error();
    }
    return {};
}

Result<std::vector<Cpg::Address>> Cpg::membership(std::string_view group) {
    if (Status s = impl_ ? impl_->check() : Status(Errc::bad_handle); !s)
        return s.error();
    if (group.size() > proto::cpg_name_max)
        return Errc::name_too_long;
    const auto bytes = pc::encode(pc::ReqMembershipGet{std::string(group)});
    auto r = impl_->ipc->request(bytes);
    if (!r)
        return r.error();
    auto res = detail::decoded(pc::decode_res_membership(*r));
    if (!res)
        return res.error();
    return addresses(res->members);
}

Result<std::uint32_t> Cpg::local_nodeid() {
    if (Status s = impl_ ? impl_->check() : Status(Errc::bad_handle); !s)
        return s.error();
    const auto bytes = pc::encode(pc::ReqLocalGet{});
    auto r = impl_->ipc->request(bytes);
    if (!r)
        return r.error();
    auto res = detail::decoded(pc::decode_res_local_get(*r));
    if (!res)
        return res.error();
    return res->local_nodeid;
}

Result<Cpg::IterationId> Cpg::iteration_initialize(Iteration type, std::string_view group) {
    if (Status s = impl_ ? impl_->check() : Status(Errc::bad_handle); !s)
        return s.error();
    // cpg_iteration_initialize()'s checks.
    if (group.size() > proto::cpg_name_max)
        return Errc::name_too_long;
    if (type != Iteration::name_only && type != Iteration::one_group && type != Iteration::all)
        return Errc::invalid_param;
    if ((type == Iteration::one_group) != !group.empty())
        return Errc::invalid_param;
    const auto init = pc::encode(pc::ReqIterationInitialize{
        type == Iteration::one_group ? std::string(group) : std::string(),
        static_cast<std::uint32_t>(type)});
    auto r = impl_->ipc->request(init);
    if (!r)
        return r.error();
    auto handle = detail::decoded(pc::decode_res_iterationinitialize(*r));
    if (!handle)
        return handle.error();
    return handle->iteration_handle;
}

Result<std::optional<Cpg::GroupMember>> Cpg::iteration_next(IterationId iteration) {
    if (Status s = impl_ ? impl_->check() : Status(Errc::bad_handle); !s)
        return s.error();
    const auto next = pc::encode(pc::ReqIterationNext{iteration});
    auto n = impl_->ipc->request(next);
    if (!n) {
        if (n.error() == Errc::no_sections)
            return std::optional<GroupMember>();
        return n.error();
    }
    auto e = detail::decoded(pc::decode_res_iterationnext(*n));
    if (!e)
        return e.error();
    return std::optional<GroupMember>(GroupMember{std::move(e->group_name), e->nodeid, e->pid});
}

Status Cpg::iteration_finalize(IterationId iteration) {
    if (Status s = impl_ ? impl_->check() : Status(Errc::bad_handle); !s)
        return s;
    const auto fin = pc::encode(pc::ReqIterationFinalize{iteration});
    auto f = impl_->ipc->request(fin);
    if (!f)
        return f.error();
    return {};
}

Result<std::vector<Cpg::GroupMember>> Cpg::iterate(Iteration type, std::string_view group) {
    auto h = iteration_initialize(type, group);
    if (!h)
        return h.error();
    std::vector<GroupMember> out;
    for (;;) {
        auto e = iteration_next(*h);
        if (!e) {
            (void)iteration_finalize(*h);
            return e.error();
        }
        if (!e->has_value())
            break;
        out.push_back(std::move(**e));
    }
    if (Status s = iteration_finalize(*h); !s)
        return s.error();
    return out;
}

Status Cpg::finalize() {
    if (!impl_ || impl_->finalized)
        return Errc::bad_handle;
    impl_->finalized = true;
    // cpg_finalize(): one FINALIZE, whatever it answers; the connection closes after it.
    const auto bytes = pc::encode(pc::ReqFinalize{});
    auto r = impl_->ipc->request(bytes, Ipc::Retry::no);
    impl_->ipc.reset();
    if (!r)
        return r.error();
    return {};
}

void Cpg::on_deliver(std::function<void(const Message&)> fn) {
    impl_->on_deliver = std::move(fn);
}
void Cpg::on_confchg(std::function<void(const ConfChg&)> fn) {
    impl_->on_confchg = std::move(fn);
}
void Cpg::on_totem_confchg(std::function<void(const TotemConfChg&)> fn) {
    impl_->on_totem_confchg = std::move(fn);
}

int Cpg::fd() const {
    return impl_ && impl_->ipc ? impl_->ipc->fd() : -1;
}

Status Cpg::Impl::deliver_partial(pc::ResPartialDeliverCallback& p) {
    const auto key = std::make_pair(p.nodeid, p.pid);
    auto it = assemblies.find(key);
    if (p.type == pc::partial_first) {
        // A FIRST while an assembly is open: that sender's previous message was cut short;
        // libcpg drops it.
        if (it != assemblies.end())
            assemblies.erase(it);
        Assembly a;
        a.msglen = p.msglen;
        a.data.reserve(std::min<std::size_t>(p.msglen, 16u << 20));
        it = assemblies.emplace(key, std::move(a)).first;
    }
    if (it == assemblies.end())
        return {};  // a fragment without its FIRST (we joined mid-message): libcpg drops it
    Assembly& a = it->second;
    if (a.data.size() + p.fragment.size() > a.msglen) {
        assemblies.erase(it);  // more bytes than announced: never overflow, drop
        return {};
    }
    a.data.insert(a.data.end(), p.fragment.begin(), p.fragment.end());
    if (p.type == pc::partial_last) {
        Assembly done = std::move(it->second);
        assemblies.erase(it);
        if (done.data.size() == done.msglen && on_deliver)
            on_deliver(Message{p.group_name, p.nodeid, p.pid, done.data});
    }
    return {};
}

Status Cpg::Impl::handle_event(ByteView ev) {
    auto e = pc::decode_event(ev);
    if (!e) {
        // An id cpg_dispatch does not know is CS_ERR_LIBRARY there; a known one we cannot
        // read is a message error.
        auto h = proto::peek_response(ev);
        if (h && (h->id == static_cast<int32_t>(pc::ResId::deliver_callback) ||
                  h->id == static_cast<int32_t>(pc::ResId::partial_deliver_callback) ||
                  h->id == static_cast<int32_t>(pc::ResId::confchg_callback) ||
                  h->id == static_cast<int32_t>(pc::ResId::totem_confchg_callback)))
            return Errc::message_error;
        return Errc::library;
    }
    if (auto* d = std::get_if<pc::ResDeliverCallback>(&*e)) {
        if (on_deliver)
            on_deliver(Message{d->group_name, d->nodeid, d->pid, d->message});
        return {};
    }
    if (auto* p = std::get_if<pc::ResPartialDeliverCallback>(&*e))
        return deliver_partial(*p);
    if (auto* c = std::get_if<pc::ResConfchgCallback>(&*e)) {
        ConfChg out{c->group_name, addresses(c->members), addresses(c->left), addresses(c->joined)};
        if (on_confchg)
            on_confchg(out);
        // A member that left while its message was being reassembled: drop the pieces.
        for (const auto& l : c->left)
            assemblies.erase(std::make_pair(l.nodeid, l.pid));
        return {};
    }
    if (auto* t = std::get_if<pc::ResTotemConfchgCallback>(&*e)) {
        if (on_totem_confchg)
            on_totem_confchg(TotemConfChg{RingId{t->ring_id.nodeid, t->ring_id.seq}, t->members});
        return {};
    }
    return Errc::library;
}

Result<std::size_t> Cpg::dispatch(Dispatch mode) {
    if (Status s = impl_ ? impl_->check() : Status(Errc::bad_handle); !s)
        return s.error();
    return impl_->ipc->dispatch(mode, [this](ByteView ev) { return impl_->handle_event(ev); });
}

}  // namespace totem::client
