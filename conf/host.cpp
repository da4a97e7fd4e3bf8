#include "conf/host.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/utsname.h>

#include <cstring>
#include <sstream>

namespace totem::conf {

bool IpAddr::operator==(const IpAddr& o) const {
    if (family != o.family)
        return false;
    std::size_t n = family == AF_INET ? 4 : 16;
    return std::memcmp(bytes, o.bytes, n) == 0;
}

std::string IpAddr::str() const {
    char buf[INET6_ADDRSTRLEN] = {};
    if (!inet_ntop(family, bytes, buf, sizeof buf))
        return "?";
    return buf;
}

std::optional<IpAddr> IpAddr::parse_numeric(const std::string& s) {
    IpAddr a;
    if (inet_pton(AF_INET, s.c_str(), a.bytes) == 1) {
        a.family = AF_INET;
        return a;
    }
    if (inet_pton(AF_INET6, s.c_str(), a.bytes) == 1) {
        a.family = AF_INET6;
        return a;
    }
    return std::nullopt;
}

namespace {

std::optional<IpAddr> from_sockaddr(const sockaddr* sa) {
    if (!sa)
        return std::nullopt;
    IpAddr a;
    if (sa->sa_family == AF_INET) {
        a.family = AF_INET;
        std::memcpy(a.bytes, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, 4);
        return a;
    }
    if (sa->sa_family == AF_INET6) {
        a.family = AF_INET6;
        std::memcpy(a.bytes, &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, 16);
        return a;
    }
    return std::nullopt;
}

std::vector<IpAddr> system_resolve(const std::string& name) {
    std::vector<IpAddr> out;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_protocol = IPPROTO_UDP;
    addrinfo* res = nullptr;
    if (getaddrinfo(name.c_str(), nullptr, &hints, &res) != 0)
        return out;
    for (addrinfo* p = res; p; p = p->ai_next)
        if (auto a = from_sockaddr(p->ai_addr))
            out.push_back(*a);
    freeaddrinfo(res);
    return out;
}

std::optional<std::string> system_reverse(const IpAddr& a) {
    sockaddr_storage ss{};
    socklen_t len = 0;
    if (a.family == AF_INET) {
        auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
        sin->sin_family = AF_INET;
        std::memcpy(&sin->sin_addr, a.bytes, 4);
        len = sizeof(sockaddr_in);
    } else {
        auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
        sin6->sin6_family = AF_INET6;
        std::memcpy(&sin6->sin6_addr, a.bytes, 16);
        len = sizeof(sockaddr_in6);
    }
    char host[NI_MAXHOST] = {};
    if (getnameinfo(reinterpret_cast<sockaddr*>(&ss), len, host, sizeof host, nullptr, 0,
                    NI_NAMEREQD) != 0)
        return std::nullopt;
    return std::string(host);
}

}  // namespace

HostEnv system_host() {
    HostEnv env;
    utsname u{};
    if (uname(&u) == 0)
        env.hostname = u.nodename;
    ifaddrs* list = nullptr;
    if (getifaddrs(&list) == 0) {
        for (ifaddrs* p = list; p; p = p->ifa_next)
            if (auto a = from_sockaddr(p->ifa_addr))
                env.local_addrs.push_back(*a);
        freeifaddrs(list);
    }
    env.resolve = system_resolve;
    env.reverse = system_reverse;
    return env;
}

std::function<std::vector<IpAddr>(const std::string&)> hosts_file_resolver(
    const std::string& text) {
    std::vector<std::pair<std::string, IpAddr>> table;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (auto h = line.find('#'); h != std::string::npos)
            line.resize(h);
        std::istringstream ls(line);
        std::string addr, name;
        if (!(ls >> addr))
            continue;
        auto a = IpAddr::parse_numeric(addr);
        if (!a)
            continue;
        while (ls >> name)
            table.emplace_back(name, *a);
    }
    return [table](const std::string& name) {
        std::vector<IpAddr> out;
        if (auto a = IpAddr::parse_numeric(name)) {
            out.push_back(*a);
            return out;
        }
        for (const auto& [n, a] : table)
            if (n == name)
                out.push_back(a);
        return out;
    };
}

std::optional<IpAddr> resolve_address(const HostEnv& env, const std::string& s, IpVersion v) {
    if (auto a = IpAddr::parse_numeric(s)) {
        if (v == IpVersion::V4 && a->family != AF_INET)
            return std::nullopt;
        if (v == IpVersion::V6 && a->family != AF_INET6)
            return std::nullopt;
        return a;
    }
    if (!env.resolve)
        return std::nullopt;
    auto all = env.resolve(s);
    int first = (v == IpVersion::V4 || v == IpVersion::V4_6) ? AF_INET : AF_INET6;
    int second = v == IpVersion::V4_6 ? AF_INET6 : v == IpVersion::V6_4 ? AF_INET : 0;
    for (int fam : {first, second}) {
        if (fam == 0)
            continue;
        for (const auto& a : all)
            if (a.family == fam)
                return a;
    }
    return std::nullopt;
}

}  // namespace totem::conf
