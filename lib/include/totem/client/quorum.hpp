// Quorum: the quorum service (service "quorum"), as libquorum: whether this partition is
// quorate, and notifications of quorum and membership changes.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "totem/client/connection.hpp"
#include "totem/client/error.hpp"
#include "totem/client/export.hpp"

namespace totem::client {

// CS_TRACK_* flags of quorum_trackstart / votequorum_trackstart.
inline constexpr std::uint32_t track_current = 1;
inline constexpr std::uint32_t track_changes = 2;
inline constexpr std::uint32_t track_changes_only = 4;

class TOTEM_CLIENT_API Quorum {
  public:
    // QUORUM_MODEL_V0 notifies the ring sequence only; V1 the whole ring id and, in a second
    // callback, the node list with who joined and left.
    enum class Model : std::uint32_t { v0 = 0, v1 = 1 };
    struct Options : ConnectOptions {
        Model model = Model::v1;
    };
    struct Notification {
        bool quorate = false;
        RingId ring_id;  // model V0: nodeid is 0 (the V0 event carries the sequence only)
        std::vector<std::uint32_t> members;
    };
    struct NodelistNotification {  // model V1 only
        RingId ring_id;
        std::vector<std::uint32_t> members;
        std::vector<std::uint32_t> joined;
        std::vector<std::uint32_t> left;
    };

    // quorum_model_initialize(): connects and asks the quorum type (GETTYPE for V0,
    // MODEL_GETTYPE for V1).
    static Result<Quorum> connect();
    static Result<Quorum> connect(Options options);
    Quorum(Quorum&&) noexcept;
    Quorum& operator=(Quorum&&) noexcept;
    ~Quorum();

    // 0 (QUORUM_FREE: no provider, always quorate) or 1 (QUORUM_SET).
    std::uint32_t quorum_type() const;
    Model model() const;
    Result<bool> quorate();
    Status track_start(std::uint32_t flags);
    Status track_stop();
    void on_notify(std::function<void(const Notification&)> fn);
    void on_nodelist(std::function<void(const NodelistNotification&)> fn);

    int fd() const;
    Result<std::size_t> dispatch(Dispatch mode = Dispatch::all);

    struct Impl;

  private:
    explicit Quorum(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace totem::client
