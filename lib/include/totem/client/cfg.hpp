// Cfg: the daemon's configuration and administration service (service "cfg"), as libcfg:
// this node's id, node and link status, node addresses, reload, reopening logs, killing a
// node and the shutdown protocol.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "totem/client/connection.hpp"
#include "totem/client/error.hpp"
#include "totem/client/export.hpp"

namespace totem::client {

class TOTEM_CLIENT_API Cfg {
  public:
    using Options = ConnectOptions;
    // corosync_cfg_shutdown_flags_t.
    enum class Shutdown : std::uint32_t { request = 0, regardless = 1, immediate = 2 };

    // struct corosync_knet_link_status_v1.
    struct LinkStatus {
        bool enabled = false;
        bool connected = false;
        bool dynconnected = false;
        std::uint32_t mtu = 0;
        std::string src_ipaddr;
        std::string dst_ipaddr;
    };
    // struct corosync_cfg_node_status_v1.
    struct NodeStatus {
        std::uint32_t nodeid = 0;
        bool reachable = false;
        bool remote = false;
        bool external = false;
        std::uint8_t onwire_min = 0;
        std::uint8_t onwire_max = 0;
        std::uint8_t onwire_ver = 0;
        std::array<LinkStatus, 8> links;  // CFG_MAX_LINKS
    };
    // One address of a node: AF_INET (4 bytes) or AF_INET6 (16); family 0 for an unused slot
    // (libcfg marks an all-zero address so).
    struct Address {
        int family = 0;
        std::array<std::uint8_t, 16> bytes{};
        std::string str() const;  // inet_ntop; "" for family 0
    };
    struct Interface {  // corosync_cfg_ring_status_get
        std::string name;
        std::string status;
    };

    static Result<Cfg> connect(Options options = {});
    Cfg(Cfg&&) noexcept;
    Cfg& operator=(Cfg&&) noexcept;
    ~Cfg();

    Result<std::uint32_t> local_nodeid();
    Result<NodeStatus> node_status(std::uint32_t nodeid);
    // Every address of a node (0 = this node), in link order.
    Result<std::vector<Address>> node_addrs(std::uint32_t nodeid);
    Result<std::vector<Interface>> ring_status();
    Status reload_config();
    Status reopen_log_files();
    // `reason` is logged by the killed node (at most 255 bytes).
    Status kill_node(std::uint32_t nodeid, std::string_view reason);
    Status try_shutdown(Shutdown flags);
    Status reply_to_shutdown(bool allow);
    // Shutdown requests of other clients arrive as events once tracking is on.
    Status track_start();
    Status track_stop();
    void on_shutdown(std::function<void(Shutdown)> fn);

    int fd() const;
    Result<std::size_t> dispatch(Dispatch mode = Dispatch::all);

    struct Impl;

  private:
    explicit Cfg(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace totem::client
