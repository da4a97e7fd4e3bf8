#include "totem/client/quorum.hpp"

#include "ipc.hpp"
#include "proto/quorum.hpp"

namespace totem::client {

namespace pq = proto::quorum;
using detail::ByteView;

struct Quorum::Impl {
    std::unique_ptr<detail::Ipc> ipc;
    Model model = Model::v1;
    std::uint32_t quorum_type = 0;
    std::function<void(const Notification&)> on_notify;
    std::function<void(const NodelistNotification&)> on_nodelist;
    Status handle_event(ByteView ev);
};

namespace {}  // namespace

Quorum::Quorum(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Quorum::Quorum(Quorum&&) noexcept = default;
Quorum& Quorum::operator=(Quorum&&) noexcept = default;
Quorum::~Quorum() = default;

Result<Quorum> Quorum::connect() {
    return connect(Options{});
}

Result<Quorum> Quorum::connect(Options options) {
    if (options.model != Model::v0 && options.model != Model::v1)
        return Errc::invalid_param;
    auto ipc = detail::Ipc::connect("quorum", options);
    if (!ipc)
        return ipc.error();
    auto impl = std::make_unique<Impl>();
    impl->ipc = std::move(*ipc);
    impl->model = options.model;
    if (options.model == Model::v0) {
        const auto bytes = pq::encode(pq::ReqGetType{});
        auto r = impl->ipc->request(bytes);
        if (!r)
            return r.error();
        auto res = detail::decoded(pq::decode_res_gettype(*r));
        if (!res)
            return res.error();
        impl->quorum_type = res->quorum_type;
    } else {
        const auto bytes = pq::encode(pq::ReqModelGetType{pq::model_v1});
        auto r = impl->ipc->request(bytes);
        if (!r)
            return r.error();
        auto res = detail::decoded(pq::decode_res_model_gettype(*r));
        if (!res)
            return res.error();
        impl->quorum_type = res->quorum_type;
    }
    return Quorum(std::move(impl));
}

std::uint32_t Quorum::quorum_type() const {
    return impl_->quorum_type;
}

Quorum::Model Quorum::model() const {
    return impl_->model;
}

Result<bool> Quorum::quorate() {
    const auto bytes = pq::encode(pq::ReqGetQuorate{});
    auto r = impl_->ipc->request(bytes);
    if (!r)
        return r.error();
    auto res = detail::decoded(pq::decode_res_getquorate(*r));
    if (!res)
        return res.error();
    return res->quorate != 0;
}

Status Quorum::track_start(std::uint32_t flags) {
    const auto bytes = pq::encode(pq::ReqTrackStart{flags});
    auto r = impl_->ipc->request(bytes);
    if (!r)
        return r.error();
    return {};
}

Status Quorum::track_stop() {
    const auto bytes = pq::encode(pq::ReqTrackStop{});
    auto r = impl_->ipc->request(bytes);
    if (!r)
        return r.error();
    return {};
}

void Quorum::on_notify(std::function<void(const Notification&)> fn) {
    impl_->on_notify = std::move(fn);
}
void Quorum::on_nodelist(std::function<void(const NodelistNotification&)> fn) {
    impl_->on_nodelist = std::move(fn);
}

int Quorum::fd() const {
    return impl_->ipc->fd();
}

Status Quorum::Impl::handle_event(ByteView ev) {
    auto e = pq::decode_event(ev);
    if (!e)
        return Errc::library;
    // quorum_dispatch() accepts only the events of the handle's model.
    if (auto* n = std::get_if<pq::ResNotification>(&*e); n && model == Model::v0) {
        if (on_notify)
            on_notify(Notification{n->quorate != 0, RingId{0, n->ring_seq}, n->view_list});
        return {};
    }
    if (auto* n = std::get_if<pq::ResV1QuorumNotification>(&*e); n && model == Model::v1) {
        if (on_notify)
            on_notify(Notification{n->quorate != 0, RingId{n->ring_id.nodeid, n->ring_id.seq},
                                   n->view_list});
        return {};
    }
    if (auto* n = std::get_if<pq::ResV1NodelistNotification>(&*e); n && model == Model::v1) {
        if (on_nodelist)
            on_nodelist(NodelistNotification{RingId{n->ring_id.nodeid, n->ring_id.seq}, n->members,
                                             n->joined, n->left});
        return {};
    }
    return Errc::library;
}

Result<std::size_t> Quorum::dispatch(Dispatch mode) {
    return impl_->ipc->dispatch(mode, [this](ByteView ev) { return impl_->handle_event(ev); });
}

}  // namespace totem::client
