#include "totem/client/votequorum.hpp"

#include "ipc.hpp"
#include "proto/votequorum.hpp"

namespace totem::client {

namespace pv = proto::votequorum;
using detail::ByteView;

struct Votequorum::Impl {
    std::unique_ptr<detail::Ipc> ipc;
    std::function<void(const QuorumNotification&)> on_quorum;
    std::function<void(const NodelistNotification&)> on_nodelist;
    std::function<void(const ExpectedVotesNotification&)> on_expected_votes;
    Status handle_event(ByteView ev);
};

namespace {

template <typename Req>
Status status_request(detail::Ipc& ipc, const Req& req) {
    const auto bytes = pv::encode(req);
    auto r = ipc.request(bytes);
    if (!r)
        return r.error();
    return {};
}

// libvotequorum: a quorum device name is 1..VOTEQUORUM_QDEVICE_MAX_NAME_LEN-1 bytes.
bool good_name(std::string_view n) {
    return !n.empty() && n.size() < pv::qdevice_name_size && n.find('\0') == std::string_view::npos;
}

}  // namespace

Votequorum::Votequorum(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Votequorum::Votequorum(Votequorum&&) noexcept = default;
Votequorum& Votequorum::operator=(Votequorum&&) noexcept = default;
Votequorum::~Votequorum() = default;

Result<Votequorum> Votequorum::connect(Options options) {
    auto ipc = detail::Ipc::connect("votequorum", options);
    if (!ipc)
        return ipc.error();
    auto impl = std::make_unique<Impl>();
    impl->ipc = std::move(*ipc);
    return Votequorum(std::move(impl));
}

Result<Votequorum::Info> Votequorum::info(std::uint32_t nodeid) {
    const auto bytes = pv::encode(pv::ReqGetInfo{static_cast<std::int32_t>(nodeid)});
    auto r = impl_->ipc->request(bytes);
    if (!r)
        return r.error();
    auto res = detail::decoded(pv::decode_res_getinfo(*r));
    if (!res)
        return res.error();
    Info i;
    i.node_id = res->nodeid;
    i.node_state = res->state;
    i.node_votes = res->votes;
    i.node_expected_votes = res->expected_votes;
    i.highest_expected = res->highest_expected;
    i.total_votes = res->total_votes;
    i.quorum = res->quorum;
    i.flags = res->flags;
    i.qdevice_votes = res->qdevice_votes;
    i.qdevice_name = std::move(res->qdevice_name);
    return i;
}

Status Votequorum::set_expected(std::uint32_t expected_votes) {
    return status_request(*impl_->ipc, pv::ReqSetExpected{expected_votes});
}

Status Votequorum::set_votes(std::uint32_t nodeid, std::uint32_t votes) {
    return status_request(*impl_->ipc, pv::ReqSetVotes{votes, static_cast<std::int32_t>(nodeid)});
}

Status Votequorum::track_start(std::uint64_t context, std::uint32_t flags) {
    return status_request(*impl_->ipc, pv::ReqTrackStart{context, flags});
}

Status Votequorum::track_stop() {
    return status_request(*impl_->ipc, pv::ReqTrackStop{});
}

Status Votequorum::qdevice_register(std::string_view name) {
    if (!good_name(name))
        return Errc::invalid_param;
    return status_request(*impl_->ipc, pv::ReqQdeviceRegister{std::string(name)});
}

Status Votequorum::qdevice_unregister(std::string_view name) {
    if (!good_name(name))
        return Errc::invalid_param;
    return status_request(*impl_->ipc, pv::ReqQdeviceUnregister{std::string(name)});
}

Status Votequorum::qdevice_update(std::string_view oldname, std::string_view newname) {
    if (!good_name(oldname) || !good_name(newname))
        return Errc::invalid_param;
    return status_request(*impl_->ipc,
                          pv::ReqQdeviceUpdate{std::string(oldname), std::string(newname)});
}

Status Votequorum::qdevice_poll(std::string_view name, bool cast_vote, RingId ring_id) {
    if (!good_name(name))
        return Errc::invalid_param;
    return status_request(*impl_->ipc,
                          pv::ReqQdevicePoll{std::string(name), cast_vote ? 1 : 0,
                                             proto::MarRingId{ring_id.nodeid, ring_id.seq}});
}

Status Votequorum::qdevice_master_wins(std::string_view name, bool allow) {
    if (!good_name(name))
        return Errc::invalid_param;
    return status_request(*impl_->ipc,
                          pv::ReqQdeviceMasterWins{std::string(name), allow ? 1u : 0u});
}

void Votequorum::on_quorum(std::function<void(const QuorumNotification&)> fn) {
    impl_->on_quorum = std::move(fn);
}
void Votequorum::on_nodelist(std::function<void(const NodelistNotification&)> fn) {
    impl_->on_nodelist = std::move(fn);
}
void Votequorum::on_expected_votes(std::function<void(const ExpectedVotesNotification&)> fn) {
    impl_->on_expected_votes = std::move(fn);
}

int Votequorum::fd() const {
    return impl_->ipc->fd();
}

Status Votequorum::Impl::handle_event(ByteView ev) {
    auto e = pv::decode_event(ev);
    if (!e)
        return Errc::library;
    if (auto* q = std::get_if<pv::ResQuorumNotification>(&*e)) {
        if (on_quorum) {
            QuorumNotification n{q->context, q->quorate != 0, {}};
            for (const auto& node : q->nodes)
                n.nodes.push_back(Node{node.nodeid, node.state});
            on_quorum(n);
        }
        return {};
    }
    if (auto* l = std::get_if<pv::ResNodelistNotification>(&*e)) {
        if (on_nodelist)
            on_nodelist(NodelistNotification{l->context, RingId{l->ring_id.nodeid, l->ring_id.seq},
                                             l->nodes});
        return {};
    }
    if (auto* x = std::get_if<pv::ResExpectedVotesNotification>(&*e)) {
        if (on_expected_votes)
            on_expected_votes(ExpectedVotesNotification{x->context, x->expected_votes});
        return {};
    }
    return Errc::library;
}

Result<std::size_t> Votequorum::dispatch(Dispatch mode) {
    return impl_->ipc->dispatch(mode, [this](ByteView ev) { return impl_->handle_event(ev); });
}

}  // namespace totem::client
