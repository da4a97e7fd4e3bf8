// What the loader needs to know about the machine it runs on, behind one seam so that tests
// (and `totemd --local-nodeid`) never depend on the addresses of the machine that runs them.
//
// corosync finds "this" node (exec/totemconfig.c find_local_node) from the host name, the
// names and numeric forms of the local interface addresses, and finally by resolving every
// node's name / ring0_addr and comparing with the local addresses. HostEnv supplies each of
// those facts; system_host() reads the real ones (uname, getifaddrs, getaddrinfo, getnameinfo).
#pragma once

#include <netinet/in.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace totem::conf {

// An IPv4 or IPv6 address (no port).
struct IpAddr {
    int family = 0;  // AF_INET or AF_INET6
    std::uint8_t bytes[16] = {};

    bool operator==(const IpAddr& o) const;
    std::string str() const;  // inet_ntop form
    static std::optional<IpAddr> parse_numeric(const std::string& s);
};

// corosync's totem_ip_version: which family a name resolves to first.
enum class IpVersion { V4, V6, V4_6, V6_4 };

struct HostEnv {
    std::string hostname;             // uname().nodename
    std::vector<IpAddr> local_addrs;  // addresses of the local interfaces
    // Every address a name resolves to, in resolver order (empty when it does not resolve).
    std::function<std::vector<IpAddr>(const std::string&)> resolve;
    // The names a local address reverse-resolves to (getnameinfo); may be empty.
    std::function<std::optional<std::string>(const IpAddr&)> reverse;
};

HostEnv system_host();

// A resolver reading an /etc/hosts-style file ("ADDR NAME [ALIAS...]" lines) instead of DNS.
std::function<std::vector<IpAddr>(const std::string&)> hosts_file_resolver(const std::string& text);

// totemip_parse: a numeric address, else the first resolved address of the preferred family
// (for V4_6 / V6_4 the other family if the preferred one is missing).
std::optional<IpAddr> resolve_address(const HostEnv& env, const std::string& s, IpVersion v);

}  // namespace totem::conf
