// Fuzz target: the corosync.conf reader and everything after it (cmap keys, derivation,
// validation, writing back as YAML and conf). Any input gets a value or a Diag, never a crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "conf/cmap.hpp"
#include "conf/config.hpp"
#include "conf/tree.hpp"
#include "conf/yaml.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace totem::conf;
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto tree = parse_conf(text, "fuzz.conf");
    if (!tree)
        return 0;
    (void)write_yaml(tree.value(), "fuzz.conf");
    (void)write_conf(tree.value(), "fuzz.conf");
    auto cmap = build_cmap(tree.value(), "fuzz.conf");
    if (!cmap)
        return 0;
    HostEnv host;  // no name, no addresses, no resolver: nothing outside the input
    host.local_addrs.push_back(*IpAddr::parse_numeric("10.0.0.1"));
    DeriveOptions opts;
    opts.default_keyfile = "/nonexistent/authkey";
    auto d = derive_config(std::move(cmap).value(), "fuzz.conf", host, opts);
    if (d)
        (void)to_srp_config(d.value().config);
    return 0;
}
