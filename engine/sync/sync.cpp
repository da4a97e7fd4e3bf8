#include "engine/sync/sync.hpp"

#include <algorithm>

#include "common/assert.hpp"

namespace totem::sync {

namespace {

// The two messages of group "sync" (spec B2.6). Their id is not service-encoded.
// TODO(proto): use proto/sync.hpp once it lands.
constexpr std::int32_t barrier_id = 0;
constexpr std::int32_t service_build_id = 1;
constexpr std::size_t barrier_size = 32;
constexpr std::size_t service_build_size = 552;

void write_header_and_ring(Writer& w, std::int32_t id, std::size_t size, const RingId& r) {
    w.i32(id);
    w.u32(0);
    w.i32(static_cast<std::int32_t>(size));
    w.u32(0);
    w.u32(r.rep);  // memb_ring_id, packed: rep u32 @16, seq u64 @20
    w.u64(r.seq);
    w.u32(0);  // to 32
}

Bytes encode_barrier(const RingId& r) {
    Bytes b;
    b.reserve(barrier_size);
    Writer w(b);
    write_header_and_ring(w, barrier_id, barrier_size, r);
    return b;
}

Bytes encode_service_build(const RingId& r, const std::vector<std::uint16_t>& ids) {
    Bytes b;
    b.reserve(service_build_size);
    Writer w(b);
    write_header_and_ring(w, service_build_id, service_build_size, r);
    w.i32(static_cast<std::int32_t>(ids.size()));
    w.u32(0);
    for (std::size_t i = 0; i < Sync::service_list_max; ++i)
        w.i32(i < ids.size() ? ids[i] : 0);
    TOTEM_ASSERT(b.size() == service_build_size);
    return b;
}

}  // namespace

Sync::Sync(Host& host) : host_(host) {}

void Sync::add_service(std::uint16_t id, std::string name, Participant* participant) {
    TOTEM_ASSERT(participant != nullptr);
    TOTEM_ASSERT(local_.size() < services_max);
    TOTEM_ASSERT(
        std::none_of(local_.begin(), local_.end(), [id](const Entry& e) { return e.id == id; }));
    local_.push_back(Entry{id, std::move(name), participant, false});
    std::sort(local_.begin(), local_.end(),
              [](const Entry& a, const Entry& b) { return a.id < b.id; });
}

std::optional<std::uint16_t> Sync::current_service() const {
    if ((phase_ != Phase::process && phase_ != Phase::barrier) || index_ >= services_.size())
        return std::nullopt;
    return services_[index_].id;
}

std::vector<std::uint16_t> Sync::service_ids() const {
    std::vector<std::uint16_t> ids;
    for (const Entry& e : services_)
        ids.push_back(e.id);
    return ids;
}

void Sync::abort() {
    // 3.1.7 calls the service's abort only in the process phase (not while waiting for
    // barriers), and forgets the ring so that late messages of it are dropped.
    if (phase_ == Phase::process) {
        job_ = false;
        Participant* p = services_[index_].participant;
        if (p)
            p->sync_abort();
    }
    if (phase_ != Phase::idle)
        stats_.syncs_aborted++;
    phase_ = Phase::idle;
    ring_valid_ = false;
    pending_.reset();
}

void Sync::send(Bytes m) {
    if (host_.mcast_sync(m))
        return;
    stats_.mcast_refused++;
    pending_ = std::move(m);
}

void Sync::save_transitional(const NodeList& members) {
    trans_list_ = members;
}

void Sync::start(const NodeList& members, const RingId& ring_id) {
    stats_.syncs_started++;
    ring_id_ = ring_id;
    ring_valid_ = true;
    phase_ = Phase::service_list_build;
    members_.clear();
    for (NodeId n : members)
        members_.push_back(Member{n, false});
    member_list_ = members;
    index_ = 0;
    job_ = false;
    services_ = local_;
    for (Entry& e : services_)
        e.activated = false;
    std::vector<std::uint16_t> ids;
    for (const Entry& e : services_)
        ids.push_back(e.id);
    pending_.reset();  // an unsent message of the previous ring is of no use
    send(encode_service_build(ring_id_, ids));
    host_.sync_log(LogLevel::debug, "call init for locally known services");
    call_init();
}

void Sync::call_init() {
    // The transitional members that are also in the new ring.
    NodeList trans;
    for (NodeId n : trans_list_)
        if (std::find(member_list_.begin(), member_list_.end(), n) != member_list_.end())
            trans.push_back(n);
    trans_list_ = trans;
    for (Entry& e : services_)
        if (e.participant)
            e.participant->sync_init(trans_list_, member_list_, ring_id_);
}

void Sync::mark(NodeId sender) {
    for (Member& m : members_)
        if (m.nodeid == sender)
            m.received = true;
}

bool Sync::all_received() const {
    return std::all_of(members_.begin(), members_.end(),
                       [](const Member& m) { return m.received; });
}

void Sync::deliver(NodeId sender, ByteView message, bool swapped) {
    if (swapped) {
        stats_.other_endian++;
        return;
    }
    Reader r(message);
    const std::int32_t id = r.i32();
    r.u32();
    const std::int32_t size = r.i32();
    if (!r.ok() || size < 0 || static_cast<std::size_t>(size) != message.size()) {
        stats_.malformed++;
        return;
    }
    if (id == barrier_id && message.size() == barrier_size)
        on_barrier(sender, message);
    else if (id == service_build_id && message.size() == service_build_size)
        on_service_build(sender, message);
    else
        stats_.malformed++;
}

namespace {
RingId read_ring(ByteView message) {
    Reader r(message.subspan(16));
    RingId ring;
    ring.rep = r.u32();
    ring.seq = r.u64();
    return ring;
}
}  // namespace

void Sync::on_service_build(NodeId sender, ByteView message) {
    if (!current_ring(read_ring(message))) {
        stats_.old_ring_dropped++;
        host_.sync_log(LogLevel::debug, "service build for old ring - discarding");
        return;
    }
    Reader r(message.subspan(32));
    const std::int32_t entries = r.i32();
    r.u32();
    if (entries < 0 || static_cast<std::size_t>(entries) > service_list_max) {
        stats_.malformed++;
        return;
    }
    bool added = false;
    for (std::int32_t i = 0; i < entries; ++i) {
        const std::int32_t sid = r.i32();
        if (sid < 0 || sid >= static_cast<std::int32_t>(services_max)) {
            stats_.malformed++;
            continue;
        }
        const auto id = static_cast<std::uint16_t>(sid);
        if (std::any_of(services_.begin(), services_.end(),
                        [id](const Entry& e) { return e.id == id; }))
            continue;
        // A service another node knows and we do not: a no-op participant in its place.
        services_.push_back(Entry{id, "Unknown External Service (id = " + std::to_string(id) + ")",
                                  nullptr, false});
        stats_.unknown_services++;
        added = true;
    }
    if (added)
        std::sort(services_.begin(), services_.end(),
                  [](const Entry& a, const Entry& b) { return a.id < b.id; });
    mark(sender);
    if (phase_ == Phase::service_list_build && all_received()) {
        host_.sync_log(LogLevel::debug, "enter sync process");
        process_enter();
    }
}

void Sync::process_enter() {
    phase_ = Phase::process;
    if (services_.empty() || index_ >= services_.size()) {
        phase_ = Phase::idle;
        stats_.syncs_completed++;
        host_.sync_completed();
        return;
    }
    for (Member& m : members_)
        m.received = false;
    job_ = true;
}

void Sync::token_sent() {
    if (pending_) {
        if (!host_.mcast_sync(*pending_)) {
            stats_.mcast_refused++;
            return;
        }
        pending_.reset();
    }
    if (!job_ || phase_ != Phase::process)
        return;
    Entry& e = services_[index_];
    if (e.participant && !e.participant->sync_process())
        return;  // again at the next token
    job_ = false;
    phase_ = Phase::barrier;
    send(encode_barrier(ring_id_));
}

void Sync::on_barrier(NodeId sender, ByteView message) {
    if (!current_ring(read_ring(message))) {
        stats_.old_ring_dropped++;
        host_.sync_log(LogLevel::debug, "barrier for old ring - discarding");
        return;
    }
    mark(sender);
    if (!all_received() || (phase_ != Phase::process && phase_ != Phase::barrier))
        return;
    Entry& e = services_[index_];
    host_.sync_log(LogLevel::debug, "Committing synchronization for " + e.name);
    e.activated = true;
    if (e.participant)
        e.participant->sync_activate();
    index_ += 1;
    process_enter();
}

void Sync::check_invariants() const {
    TOTEM_ASSERT(std::is_sorted(services_.begin(), services_.end(),
                                [](const Entry& a, const Entry& b) { return a.id < b.id; }));
    if (phase_ == Phase::process || phase_ == Phase::barrier)
        TOTEM_ASSERT(index_ < services_.size());
    TOTEM_ASSERT(!job_ || phase_ == Phase::process);
    TOTEM_ASSERT(!pending_ || phase_ != Phase::idle);
    if (phase_ != Phase::idle)
        for (std::size_t i = 0; i < services_.size(); ++i)
            TOTEM_ASSERT(services_[i].activated == (i < index_));
}

}  // namespace totem::sync
