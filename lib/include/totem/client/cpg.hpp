// Cpg: closed process groups (service "cpg"), as libcpg's model V1.
//
//   auto cpg = Cpg::connect().or_throw();
//   cpg.on_deliver([](const Cpg::Message& m) { ... m.data ... });
//   cpg.on_confchg([](const Cpg::ConfChg& c) { ... });
//   cpg.join("my-group").or_throw();
//   cpg.mcast(std::span(bytes)).or_throw();    // any size; waits for flow control
//   ... poll(cpg.fd()) → cpg.dispatch();
//
// Messages of any size: up to max_atomic_msgsize() (1 047 552 bytes) a message is one MCAST
// request; a larger one is split into PARTIAL_MCAST fragments exactly as libcpg splits them
// (at most max_atomic_msgsize bytes each, never across the caller's buffers, FIRST /
// CONTINUED / LAST), so corosync and totemd peers and libcpg clients reassemble it; received
// fragments are reassembled per sender (node id, pid) as libcpg does, and the deliver callback
// sees whole messages only.
//
// Flow control: MCAST is sent under libqb's fc_enable_max 2, as libcpg. A blocking handle
// waits while the daemon holds flow control (or answers a fragment with CS_ERR_TRY_AGAIN); a
// non-blocking one returns CS_ERR_TRY_AGAIN (== std::errc::operation_would_block) before
// anything was sent; once the first fragment of a large message is out, the rest is sent
// blocking (a half-sent message would be dropped by every receiver).
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

class TOTEM_CLIENT_API Cpg {
  public:
    struct Options : ConnectOptions {
        // CPG_MODEL_V1_DELIVER_INITIAL_TOTEM_CONF: a totem confchg callback right after join.
        bool deliver_initial_totem_conf = false;
    };
    // cpg_guarantee_t; corosync delivers everything as agreed.
    enum class Guarantee : std::uint32_t { unordered = 0, fifo = 1, agreed = 2, safe = 3 };
    // cpg_reason_t.
    enum class Reason : std::uint32_t {
        join = 1,
        leave = 2,
        nodedown = 3,
        nodeup = 4,
        procdown = 5,
    };
    struct Address {
        std::uint32_t nodeid = 0;
        std::uint32_t pid = 0;
        Reason reason = Reason::join;  // meaningful in a confchg's left/joined lists
        bool operator==(const Address&) const = default;
    };
    // A delivered message; `data` is valid during the callback only.
    struct Message {
        std::string_view group;
        std::uint32_t nodeid = 0;
        std::uint32_t pid = 0;
        std::span<const std::uint8_t> data;
    };
    struct ConfChg {
        std::string group;
        std::vector<Address> members;
        std::vector<Address> left;
        std::vector<Address> joined;
    };
    struct TotemConfChg {
        RingId ring_id;
        std::vector<std::uint32_t> members;
    };
    // One entry of cpg_iteration_next.
    struct GroupMember {
        std::string group;
        std::uint32_t nodeid = 0;
        std::uint32_t pid = 0;
    };
    enum class Iteration : std::uint32_t { name_only = 1, one_group = 2, all = 3 };

    static Result<Cpg> connect();
    static Result<Cpg> connect(Options options);
    Cpg(Cpg&&) noexcept;
    Cpg& operator=(Cpg&&) noexcept;
    // Finalizes (FINALIZE request) and disconnects.
    ~Cpg();

    // Group names are 1..128 bytes, compared byte for byte (no NUL is added).
    Status join(std::string_view group);
    Status leave(std::string_view group);
    Status mcast(std::span<const std::uint8_t> data, Guarantee g = Guarantee::agreed);
    Status mcast(std::string_view data, Guarantee g = Guarantee::agreed);
    // The message is the buffers in order (cpg_mcast_joined's iovec).
    Status mcastv(std::span<const std::span<const std::uint8_t>> buffers,
                  Guarantee g = Guarantee::agreed);
    Result<std::vector<Address>> membership(std::string_view group);
    Result<std::uint32_t> local_nodeid();
    // cpg_iteration_*: name_only and all take no group; one_group needs one.
    using IterationId = std::uint64_t;
    Result<IterationId> iteration_initialize(Iteration type, std::string_view group = {});
    // The next entry; nullopt at the end (CS_ERR_NO_SECTIONS).
    Result<std::optional<GroupMember>> iteration_next(IterationId iteration);
    Status iteration_finalize(IterationId iteration);
    // The three at once: every entry.
    Result<std::vector<GroupMember>> iterate(Iteration type, std::string_view group = {});
    static constexpr std::uint32_t max_atomic_msgsize() { return 1048576 - 1024; }
    // Sends FINALIZE; later calls fail with CS_ERR_BAD_HANDLE.
    Status finalize();

    void on_deliver(std::function<void(const Message&)> fn);
    void on_confchg(std::function<void(const ConfChg&)> fn);
    void on_totem_confchg(std::function<void(const TotemConfChg&)> fn);

    int fd() const;
    Result<std::size_t> dispatch(Dispatch mode = Dispatch::all);

    struct Impl;

  private:
    explicit Cpg(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

namespace detail {
// libcpg's send_fragments(): how a message of these buffers is cut for PARTIAL_MCAST. Each
// fragment is a piece of one buffer; type 1 FIRST, 2 CONTINUED, 3 LAST. Empty when the message
// fits one MCAST (total ≤ max_fragment).
struct Fragment {
    std::size_t buffer = 0;  // index into the buffers
    std::size_t offset = 0;  // within that buffer
    std::size_t length = 0;
    std::uint32_t type = 0;
};
TOTEM_CLIENT_API std::vector<Fragment> plan_fragments(
    std::span<const std::span<const std::uint8_t>> buffers, std::size_t max_fragment);
}  // namespace detail

}  // namespace totem::client
