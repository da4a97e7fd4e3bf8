// Votequorum: the vote-counting quorum provider (service "votequorum"), as libvotequorum:
// per-node votes and expected votes, their changes, and the quorum device calls.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "totem/client/connection.hpp"
#include "totem/client/error.hpp"
#include "totem/client/export.hpp"
#include "totem/client/quorum.hpp"  // track_current / track_changes / track_changes_only

namespace totem::client {

class TOTEM_CLIENT_API Votequorum {
  public:
    using Options = ConnectOptions;
    // VOTEQUORUM_INFO_* flags of Info::flags.
    static constexpr std::uint32_t info_two_node = 1;
    static constexpr std::uint32_t info_quorate = 2;
    static constexpr std::uint32_t info_wait_for_all = 4;
    static constexpr std::uint32_t info_last_man_standing = 8;
    static constexpr std::uint32_t info_auto_tie_breaker = 16;
    static constexpr std::uint32_t info_allow_downscale = 32;
    static constexpr std::uint32_t info_qdevice_registered = 64;
    static constexpr std::uint32_t info_qdevice_alive = 128;
    static constexpr std::uint32_t info_qdevice_cast_vote = 256;
    static constexpr std::uint32_t info_qdevice_master_wins = 512;
    // Node states (VOTEQUORUM_NODESTATE_*).
    static constexpr std::uint32_t node_member = 1;
    static constexpr std::uint32_t node_dead = 2;
    static constexpr std::uint32_t node_leaving = 3;
    static constexpr std::uint32_t qdevice_nodeid = 0;

    struct Info {  // struct votequorum_info
        std::uint32_t node_id = 0;
        std::uint32_t node_state = 0;
        std::uint32_t node_votes = 0;
        std::uint32_t node_expected_votes = 0;
        std::uint32_t highest_expected = 0;
        std::uint32_t total_votes = 0;
        std::uint32_t quorum = 0;
        std::uint32_t flags = 0;
        std::uint32_t qdevice_votes = 0;
        std::string qdevice_name;
    };
    struct Node {
        std::uint32_t nodeid = 0;
        std::uint32_t state = 0;
    };
    struct QuorumNotification {
        std::uint64_t context = 0;
        bool quorate = false;
        std::vector<Node> nodes;
    };
    struct NodelistNotification {
        std::uint64_t context = 0;
        RingId ring_id;
        std::vector<std::uint32_t> nodes;
    };
    struct ExpectedVotesNotification {
        std::uint64_t context = 0;
        std::uint32_t expected_votes = 0;
    };

    static Result<Votequorum> connect(Options options = {});
    Votequorum(Votequorum&&) noexcept;
    Votequorum& operator=(Votequorum&&) noexcept;
    ~Votequorum();

    // nodeid 0: this node.
    Result<Info> info(std::uint32_t nodeid = 0);
    Status set_expected(std::uint32_t expected_votes);
    Status set_votes(std::uint32_t nodeid, std::uint32_t votes);
    // `context` comes back in every notification.
    Status track_start(std::uint64_t context, std::uint32_t flags);
    Status track_stop();
    void on_quorum(std::function<void(const QuorumNotification&)> fn);
    void on_nodelist(std::function<void(const NodelistNotification&)> fn);
    void on_expected_votes(std::function<void(const ExpectedVotesNotification&)> fn);

    // The quorum device calls (names 1..254 bytes).
    Status qdevice_register(std::string_view name);
    Status qdevice_unregister(std::string_view name);
    Status qdevice_update(std::string_view oldname, std::string_view newname);
    Status qdevice_poll(std::string_view name, bool cast_vote, RingId ring_id);
    Status qdevice_master_wins(std::string_view name, bool allow);

    int fd() const;
    Result<std::size_t> dispatch(Dispatch mode = Dispatch::all);

    struct Impl;

  private:
    explicit Votequorum(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace totem::client
