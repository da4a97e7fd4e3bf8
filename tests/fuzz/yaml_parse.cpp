// Fuzz target: the YAML loader and everything after it, as conf_parse does for corosync.conf.
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
    auto tree = parse_yaml(text, "fuzz.yaml");
    if (!tree)
        return 0;
    (void)write_conf(tree.value(), "fuzz.yaml");
    (void)write_yaml(tree.value(), "fuzz.yaml");
    auto cmap = build_cmap(tree.value(), "fuzz.yaml");
    if (!cmap)
        return 0;
    HostEnv host;
    host.local_addrs.push_back(*IpAddr::parse_numeric("10.0.0.1"));
    DeriveOptions opts;
    opts.default_keyfile = "/nonexistent/authkey";
    auto d = derive_config(std::move(cmap).value(), "fuzz.yaml", host, opts);
    if (d)
        (void)to_srp_config(d.value().config);
    return 0;
}
